//! End to end through the gateway, over real Linux network stacks: pods a
//! and b of this node (network namespaces on `pf0vf1`/`pf0vf2`) and a host
//! *outside* the cluster, the node network's next hop, on the uplink `p0`
//! (its veth opened as `net_af_packet`). The host PF `pf0hpf` is a ring
//! end nobody reads.
//!
//! - Egress: a's TCP and UDP to the outside host leave SNATed to the node
//!   IP (a source port below Linux's ephemeral range), through the next
//!   hop whose MAC the gateway learns by ARP; the data arrives intact and
//!   the replies find their way back to a.
//! - Node port: the outside host connects to node-ip:30080 and reaches b's
//!   server on 8080; with `externalTrafficPolicy: Cluster` b sees our join
//!   address `100.64.0.<node-id>`, after a table update to `Local` it sees
//!   the client's own address and port.
//! - The host's own traffic: a connection to a node-IP port no service
//!   owns goes to the host PF, unanswered by dpuflow.
//!
//! The outside host does not have the node IP (dpuflow answers nothing for
//! it, as the host does on a real node): it has a permanent neighbour
//! entry for the node IP at the host PF's MAC, which the gateway sends
//! from.
//!
//! One `#[test]` in a binary of its own (the EAL starts once per process).

mod common;

use std::time::{Duration, Instant};

use common::*;
use dpuflow_datapath::{Datapath, DatapathPort};
use dpuflow_dpdk::{Burst, Mempool, MempoolConfig, Port, PortConfig};
use dpuflow_engine::lookup::PortRole;
use dpuflow_engine::Reason;
use dpuflow_net::MacAddr;
use dpuflow_netkit::Pod;
use dpuflow_packet::{parse, L3, L4};
use dpuflow_tables::ServiceKey;

const OUTSIDE: &str = "172.31.0.254";
/// The host PF's MAC: the gateway's source MAC towards the outside.
const HOST_PF_MAC: MacAddr = MacAddr::new(0x02, 0x00, 0x00, 0x00, 0x00, 0x12);
/// Node-IP ports below Linux's ephemeral range: what egress SNAT picks.
const SNAT_PORTS: std::ops::Range<u16> = 1024..32768;

/// Frames the host PF received: TCP to the node IP on `port`.
fn host_got_tcp_to(host: &mut dpuflow_dpdk::RxQueue, port: u16) -> usize {
    let mut burst = Burst::<32>::new();
    let mut seen = 0;
    loop {
        if host.rx_burst(&mut burst) == 0 {
            return seen;
        }
        while let Some(m) = burst.pop() {
            let Ok(p) = parse(m.data()) else { continue };
            if let (L3::Ipv4 { dst, .. }, L4::Tcp { dst: dport, .. }) = (p.outer.l3, p.outer.l4) {
                if std::net::IpAddr::V4(dst) == ip(NODE_IP) && dport == port {
                    seen += 1;
                }
            }
        }
    }
}

#[test]
fn pods_reach_the_outside_through_the_gateway_and_the_outside_reaches_node_ports() {
    let a = pod("pod-a", POD_A.0);
    let b = pod("pod-b", POD_B.0);
    let outside = Pod::builder("outside")
        .ipv4(&format!("{OUTSIDE}/24"))
        .neighbour(NODE_IP, HOST_PF_MAC)
        .create()
        .unwrap_or_else(|e| panic!("outside host: {e:?}"));

    let eal = eal("dpuflow-netns-gateway", "0-1");
    let pool_config = MempoolConfig {
        size: 4095,
        ..MempoolConfig::default()
    };
    let pool = Mempool::new(&eal, "gateway", &pool_config).expect("mempool");
    let (host, mut host_peer) = Port::ring_pair(&eal, "host", 1024).expect("host ring");
    host_peer
        .configure(&PortConfig::default(), &pool)
        .expect("host peer");
    host_peer.start().expect("host peer start");
    let mut host_rx = host_peer.rx_queue(0).expect("host peer rx");
    let ports = vec![
        DatapathPort {
            name: "p0".into(),
            role: PortRole::Uplink,
            port: af_packet(&eal, 0, &outside, 1),
        },
        DatapathPort {
            name: "pf0hpf".into(),
            role: PortRole::HostPf,
            port: host,
        },
        DatapathPort {
            name: "pf0vf1".into(),
            role: PortRole::Pod,
            port: af_packet(&eal, 1, &a, 1),
        },
        DatapathPort {
            name: "pf0vf2".into(),
            role: PortRole::Pod,
            port: af_packet(&eal, 2, &b, 1),
        },
    ];
    let dp = Datapath::start(&eal, &pool, ports, common::shared_cpus()).expect("datapath");

    let web = ServiceKey::new("default", "web");
    let mut tables = node_tables(gateway(vec![ip(OUTSIDE)], Some(HOST_PF_MAC)));
    tables.services.insert(
        web.clone(),
        service_to_b("10.96.0.20", 80, Some(30080), 8080, false),
    );
    apply(&dp, &Default::default(), &tables);

    // Egress TCP: the outside server sees the node IP; the first SYN
    // became the ARP request for the next hop, the retransmission passed.
    let data = payload(1 << 20);
    let t = tcp_transfer(
        &a,
        &outside,
        sock("172.31.0.254:5000"),
        sock("172.31.0.254:5000"),
        &data,
    );
    assert_intact("pod a → outside TCP", &t, &data);
    assert_eq!(t.client_local.ip(), ip(POD_A.0));
    assert_eq!(
        t.server_saw.ip(),
        ip(NODE_IP),
        "egress is SNATed to the node IP"
    );
    assert!(
        SNAT_PORTS.contains(&t.server_saw.port()),
        "SNAT source port {} outside {SNAT_PORTS:?}",
        t.server_saw.port()
    );
    assert!(
        dp.stats()[0].drops_of(Reason::NeighbourUnresolved) >= 1,
        "the next hop was resolved by ARP: {:?}",
        dp.stats()[0]
    );

    // Egress UDP: three round trips at the pods' largest unfragmented size.
    let echo = udp_echo(&outside, sock("172.31.0.254:5001"), 3);
    let datagram = payload(1400 - 28);
    for i in 0..3 {
        let back = udp_round_trip(&a, sock("172.31.0.254:5001"), &datagram)
            .unwrap_or_else(|e| panic!("UDP round trip {i}: {e}"));
        assert!(back == datagram, "UDP round trip {i}: echo differs");
    }
    let peers = echo.join().expect("udp thread").expect("udp echo");
    assert!(
        peers.iter().all(|p| p.ip() == ip(NODE_IP)),
        "UDP egress SNAT: the outside saw {peers:?}"
    );

    // Node port, externalTrafficPolicy Cluster: b sees our join address.
    let data = payload(256 << 10);
    let t = tcp_transfer(
        &outside,
        &b,
        sock("10.244.2.6:8080"),
        sock("172.31.0.12:30080"),
        &data,
    );
    assert_intact("outside → node port (Cluster)", &t, &data);
    assert_eq!(t.server_saw.ip(), ip(JOIN_IP), "SNAT to the join address");
    assert_eq!(t.client_local.ip(), ip(OUTSIDE));

    // externalTrafficPolicy Local: the client's own address and port.
    let mut local = tables.clone();
    local
        .services
        .insert(web, service_to_b("10.96.0.20", 80, Some(30080), 8080, true));
    apply(&dp, &tables, &local);
    let t = tcp_transfer(
        &outside,
        &b,
        sock("10.244.2.6:8080"),
        sock("172.31.0.12:30080"),
        &data,
    );
    assert_intact("outside → node port (Local)", &t, &data);
    assert_eq!(
        t.server_saw, t.client_local,
        "Local keeps the client's address and port"
    );

    // A node-IP port no service owns is the host's: dpuflow passes it to
    // the host PF (which answers nothing here) and answers nothing itself.
    let before = Instant::now();
    let err = connect(&outside, sock("172.31.0.12:22"), Duration::from_secs(2))
        .expect_err("nobody should answer node-ip:22 but the host");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(before.elapsed() >= Duration::from_secs(2));
    let to_host = host_got_tcp_to(&mut host_rx, 22);
    assert!(to_host >= 1, "the SYNs to node-ip:22 reached the host PF");

    let stats = dp.stats();
    report("gateway", &stats);
    let s = &stats[0];
    assert_eq!(s.drops_of(Reason::PortSecurity), 0, "{s:?}");
    assert!(s.conns_created >= 6, "{s:?}");
    drop(host_rx);
    dp.stop();
}
