//! What the end-to-end tests over real Linux network stacks share: the
//! EAL, pods and their ports, the node's tables, TCP and UDP exchanges
//! between namespaces, and the drop report every test ends with.
//!
//! Needs root, iproute2, ethtool and iputils-ping (./scripts/setup.sh);
//! the kit fails naming what is missing.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use dpuflow_datapath::Datapath;
use dpuflow_dpdk::{Eal, EalBuilder, Port};
use dpuflow_engine::{Reason, Stats};
use dpuflow_net::MacAddr;
use dpuflow_netkit::Pod;
use dpuflow_tables::{
    Backend, EndpointId, Gateway, LocalPod, PodKey, PortRef, Prefix, Protocol, Service,
    ServicePort, Tables,
};

/// How long one socket operation may wait before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Pod a: address, VF representor name, endpoint id.
pub const POD_A: (&str, &str, u32) = ("10.244.2.5", "pf0vf1", 1);
/// Pod b.
pub const POD_B: (&str, &str, u32) = ("10.244.2.6", "pf0vf2", 2);
/// The pods' gateway (the node subnet's `.1`).
pub const POD_GATEWAY: &str = "10.244.2.1";
/// The node IP, on the uplink's link.
pub const NODE_IP: &str = "172.31.0.12";
/// This node's OVN-K node-id: its join address is `100.64.0.<id>`.
pub const NODE_ID: u16 = 2;
/// `100.64.0.<NODE_ID>`.
pub const JOIN_IP: &str = "100.64.0.2";

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

pub fn sock(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

pub fn prefix(s: &str) -> Prefix {
    let net: ipnet::IpNet = s.parse().expect("prefix");
    Prefix::new(net.addr(), net.prefix_len()).expect("prefix")
}

/// The EAL with `lcores` as `--lcores` (main first), without hugepages
/// unless scripts/test.sh reserved some (`DPUFLOW_TEST_HUGEPAGES=1`).
pub fn eal(program: &str, lcores: &str) -> Eal {
    let b = EalBuilder::new(program)
        .arg(&format!("--lcores={lcores}"))
        .no_pci()
        .log_level("notice");
    let b = if std::env::var("DPUFLOW_TEST_HUGEPAGES").is_ok_and(|v| v == "1") {
        b.in_memory().memory_mb(256)
    } else {
        b.no_huge().no_shconf().memory_mb(256)
    };
    b.init().expect("EAL init")
}

/// A pod of this node's subnet (IPv4 only, MTU 1400 as OVN-K's overlay),
/// routed through the pods' gateway.
pub fn pod(name: &str, v4: &str) -> Pod {
    Pod::builder(name)
        .mac(MacAddr::from_ovn_ip(ip(v4)))
        .mtu(1400)
        .ipv4(&format!("{v4}/24"))
        .gateway(POD_GATEWAY)
        .create()
        .unwrap_or_else(|e| panic!("pod {name}: {e:?}"))
}

/// `net_af_packet<index>` on the pod's root-side veth end, with `qpairs`
/// queue pairs (not configured: the datapath does that).
pub fn af_packet(eal: &Eal, index: u32, pod: &Pod, qpairs: u16) -> Port {
    let devargs = format!(
        "net_af_packet{index},iface={},qpairs={qpairs}",
        pod.port_name()
    );
    Port::attach(eal, &devargs).unwrap_or_else(|e| panic!("{devargs}: {e}"))
}

/// A pod entry as the control plane sends it.
pub fn local_pod((v4, port, id): (&str, &str, u32)) -> LocalPod {
    LocalPod {
        endpoint: EndpointId(id),
        port: PortRef::new(port),
        mac: MacAddr::from_ovn_ip(ip(v4)),
        ips: vec![ip(v4)],
    }
}

/// This node's gateway: node IP on the uplink, `next_hops` towards the
/// outside, the host PF's MAC as the gateway's source MAC when given.
pub fn gateway(next_hops: Vec<IpAddr>, host_pf_mac: Option<MacAddr>) -> Gateway {
    Gateway {
        node_ips: vec![ip(NODE_IP)],
        next_hops,
        vlan: None,
        router_subnet: None,
        host_pf_mac,
        encap_ip: Some(ip("172.31.0.2")),
        node_id: Some(NODE_ID),
        transit_ips: vec![ip("100.88.0.2")],
        pod_subnets: vec![prefix("10.244.2.0/24")],
        management_ips: vec![],
        management_port: None,
        cluster_cidrs: vec![prefix("10.244.0.0/16")],
        service_cidrs: vec![prefix("10.96.0.0/16")],
        masquerade_subnets: vec![prefix("169.254.0.0/17")],
        join_subnets: vec![prefix("100.64.0.0/16")],
        hairpin_snat: vec![ip("169.254.0.5")],
    }
}

/// Pods a and b on their representors, and `gateway`.
pub fn node_tables(gateway: Gateway) -> Tables {
    let mut t = Tables::default();
    for (name, p) in [("a", POD_A), ("b", POD_B)] {
        t.pods
            .insert(PodKey::primary("default", name), local_pod(p));
    }
    t.gateway = Some(gateway);
    t
}

/// A TCP service on `cluster_ip:port` (and `node_port` on the node IPs)
/// with pod b's `target` as its one endpoint; `external_local` is
/// `externalTrafficPolicy: Local` (b is local, so it is a local backend).
pub fn service_to_b(
    cluster_ip: &str,
    port: u16,
    node_port: Option<u16>,
    target: u16,
    external_local: bool,
) -> Service {
    let b = Backend {
        ip: ip(POD_B.0),
        port: target,
    };
    Service {
        cluster_ips: vec![ip(cluster_ip)],
        external_ips: vec![],
        ports: vec![ServicePort {
            protocol: Protocol::Tcp,
            port,
            node_port,
            backends: vec![b],
            // Filled only with a Local policy, as the control plane does.
            local_backends: if external_local { vec![b] } else { vec![] },
        }],
        affinity_timeout: None,
        external_local,
        internal_local: false,
    }
}

/// Sends `tables` as the difference from `old` and waits until every
/// worker runs it.
pub fn apply(dp: &Datapath, old: &Tables, new: &Tables) {
    let n = dp
        .tables()
        .send(Tables::diff(old, new))
        .expect("builder running");
    assert!(
        dp.tables().wait_live(n, TIMEOUT),
        "batch {n} never went live"
    );
}

/// `len` bytes that differ at every offset (xorshift64).
pub fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// What one TCP transfer showed.
#[derive(Debug)]
pub struct Transfer {
    /// What the server read until the client's FIN.
    pub got: Vec<u8>,
    /// The peer address the server's `accept` returned.
    pub server_saw: SocketAddr,
    /// The client socket's own address.
    pub client_local: SocketAddr,
}

/// A listener bound inside `server` on `listen`, accepting one connection
/// on a thread and reading it to the end.
pub fn serve_once(
    server: &Pod,
    listen: SocketAddr,
) -> dpuflow_netkit::NsThread<io::Result<(Vec<u8>, SocketAddr)>> {
    let listener = server
        .run(move || TcpListener::bind(listen))
        .expect("enter server")
        .unwrap_or_else(|e| panic!("bind {listen}: {e}"));
    listener.set_nonblocking(true).expect("nonblocking");
    server
        .spawn(move || -> io::Result<(Vec<u8>, SocketAddr)> {
            let (mut conn, peer) = accept_within(&listener, TIMEOUT)?;
            conn.set_read_timeout(Some(TIMEOUT))?;
            let mut got = Vec::new();
            conn.read_to_end(&mut got)?;
            Ok((got, peer))
        })
        .expect("server thread")
}

/// One connection from a non-blocking `listener`, or `TimedOut`.
pub fn accept_within(
    listener: &TcpListener,
    timeout: Duration,
) -> io::Result<(TcpStream, SocketAddr)> {
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((conn, peer)) => {
                conn.set_nonblocking(false)?;
                return Ok((conn, peer));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "nobody connected"))
            }
            Err(e) => return Err(e),
        }
    }
}

/// `data` from `client` to `dial`, served by `server` listening on
/// `listen`.
pub fn tcp_transfer(
    client: &Pod,
    server: &Pod,
    listen: SocketAddr,
    dial: SocketAddr,
    data: &[u8],
) -> Transfer {
    let serving = serve_once(server, listen);
    let sent = data.to_vec();
    let client_local = client
        .run(move || -> io::Result<SocketAddr> {
            let mut conn = TcpStream::connect_timeout(&dial, TIMEOUT)?;
            conn.set_write_timeout(Some(TIMEOUT))?;
            conn.write_all(&sent)?;
            conn.shutdown(Shutdown::Write)?;
            conn.local_addr()
        })
        .expect("enter client")
        .unwrap_or_else(|e| panic!("sending to {dial}: {e}"));
    let (got, server_saw) = serving
        .join()
        .expect("server thread")
        .unwrap_or_else(|e| panic!("serving {listen}: {e}"));
    Transfer {
        got,
        server_saw,
        client_local,
    }
}

/// Asserts that `t` carried `data` intact.
pub fn assert_intact(what: &str, t: &Transfer, data: &[u8]) {
    assert!(
        t.got == data,
        "{what}: {} of {} bytes arrived, or other bytes",
        t.got.len(),
        data.len()
    );
}

/// A TCP connect from inside `client` with its own timeout.
pub fn connect(client: &Pod, dial: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    client
        .run(move || TcpStream::connect_timeout(&dial, timeout))
        .expect("enter client")
}

/// A UDP echo server inside `server` on `listen`: echoes `count`
/// datagrams, returns the peers it saw.
pub fn udp_echo(
    server: &Pod,
    listen: SocketAddr,
    count: usize,
) -> dpuflow_netkit::NsThread<io::Result<Vec<SocketAddr>>> {
    let socket = server
        .run(move || UdpSocket::bind(listen))
        .expect("enter server")
        .unwrap_or_else(|e| panic!("bind {listen}: {e}"));
    socket.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    server
        .spawn(move || -> io::Result<Vec<SocketAddr>> {
            let mut buf = [0u8; 2048];
            let mut peers = Vec::new();
            for _ in 0..count {
                let (n, peer) = socket.recv_from(&mut buf)?;
                socket.send_to(&buf[..n], peer)?;
                peers.push(peer);
            }
            Ok(peers)
        })
        .expect("udp server thread")
}

/// One UDP round trip from inside `client`: `data` to `to`, the echo back
/// (from `to`, equal to `data`) within a second.
pub fn udp_round_trip(client: &Pod, to: SocketAddr, data: &[u8]) -> io::Result<Vec<u8>> {
    let sent = data.to_vec();
    client
        .run(move || -> io::Result<Vec<u8>> {
            let s = UdpSocket::bind("0.0.0.0:0")?;
            s.set_read_timeout(Some(Duration::from_secs(1)))?;
            s.send_to(&sent, to)?;
            let mut buf = [0u8; 2048];
            let (n, from) = s.recv_from(&mut buf)?;
            if from != to {
                return Err(io::Error::other(format!("echo came from {from}")));
            }
            Ok(buf[..n].to_vec())
        })
        .expect("enter client")
}

/// Prints every worker's counters and non-zero drops by reason, and
/// asserts that no frame was malformed or failed an edit.
pub fn report(label: &str, stats: &[Stats]) {
    for (w, s) in stats.iter().enumerate() {
        let drops: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| s.drops_of(**r) > 0)
            .map(|r| format!("{r}={}", s.drops_of(*r)))
            .collect();
        println!(
            "{label}: worker {w}: packets={} forwarded={} answered={} conns_created={} conn_hits={} conn_hits_other_worker={} offload_requests={} offload_dropped={} drops: {}",
            s.packets,
            s.forwarded,
            s.answered,
            s.conns_created,
            s.conn_hits,
            s.conn_hits_other_worker,
            s.offload_requests,
            s.offload_dropped,
            if drops.is_empty() { "none".to_string() } else { drops.join(" ") }
        );
    }
    for (w, s) in stats.iter().enumerate() {
        assert_eq!(s.drops_of(Reason::Malformed), 0, "worker {w}: {s:?}");
        assert_eq!(s.drops_of(Reason::EditFailed), 0, "worker {w}: {s:?}");
    }
}

/// The datapath's configuration for these tests: workers share the two
/// CPUs with the pods' kernel stacks, so an idle worker sleeps instead of
/// spinning them out.
pub fn shared_cpus() -> dpuflow_datapath::DatapathConfig {
    dpuflow_datapath::DatapathConfig {
        idle_sleep: Some(std::time::Duration::from_micros(50)),
        ..dpuflow_datapath::DatapathConfig::default()
    }
}
