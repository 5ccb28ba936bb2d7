//! End to end over real Linux network stacks: two pods (network namespaces,
//! dpuflow-netkit) whose root-side veth ends DPDK opens as
//! `net_af_packet0,iface=<a>` and `net_af_packet1,iface=<b>`, with dpuflow's
//! raw forwarding loop between them as a plain L2 wire (a→b and b→a).
//! Whatever the pods' kernels send reaches the other pod only through the
//! loop: ping (IPv4 and IPv6), a 1 MiB TCP transfer, UDP round trips.
//!
//! One `#[test]`, in a test binary of its own: the EAL starts once per
//! process. Needs root, iproute2, ethtool and iputils-ping
//! (./scripts/setup.sh); fails saying which is missing.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dpuflow_datapath::fwd::{forward, FwdCounters, FwdPair};
use dpuflow_dpdk::{Eal, EalBuilder, Mempool, MempoolConfig, Port, PortConfig, StopFlag};
use dpuflow_netkit::{MacAddr, Pod};

const MIB: usize = 1 << 20;
/// How long any one socket operation may wait before the test fails.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Raises the loop's stop flag when dropped, so that a failing assertion
/// does not leave the test waiting forever for the forwarding lcore.
struct StopOnDrop(StopFlag);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The EAL on two lcores (main + the loop's worker), without hugepages
/// unless scripts/test.sh reserved some (`DPUFLOW_TEST_HUGEPAGES=1`).
fn eal() -> Eal {
    let b = EalBuilder::new("dpuflow-netns-wire")
        .lcores("0-1")
        .no_pci()
        .log_level("notice");
    let b = if std::env::var("DPUFLOW_TEST_HUGEPAGES").is_ok_and(|v| v == "1") {
        b.in_memory().memory_mb(256)
    } else {
        b.no_huge().no_shconf().memory_mb(256)
    };
    b.init().expect("EAL init")
}

/// `net_af_packet<index>` on the pod's root-side veth end, started.
fn af_packet(eal: &Eal, pool: &Mempool, index: u32, pod: &Pod) -> Port {
    let devargs = format!("net_af_packet{index},iface={}", pod.port_name());
    let mut port = Port::attach(eal, &devargs).unwrap_or_else(|e| panic!("{devargs}: {e}"));
    let config = PortConfig {
        rss: false,
        ..PortConfig::default()
    };
    port.configure(&config, pool).expect("configure");
    port.start().expect("start");
    port
}

/// `len` bytes that differ at every offset a reordering or a lost segment
/// would shift (xorshift64).
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Sends `data` from pod `a` to a listener of pod `b` on `to`; returns what
/// `b` read until the connection closed.
fn tcp_transfer(a: &Pod, b: &Pod, to: IpAddr, data: Arc<Vec<u8>>) -> Vec<u8> {
    let listener = b
        .run(|| TcpListener::bind((to, 0)))
        .expect("enter b")
        .expect("bind in b");
    let addr = listener.local_addr().expect("listener address");
    let server = b
        .spawn(move || -> io::Result<Vec<u8>> {
            let (mut conn, _) = accept_within(&listener, TIMEOUT)?;
            conn.set_read_timeout(Some(TIMEOUT))?;
            let mut got = Vec::with_capacity(MIB);
            conn.read_to_end(&mut got)?;
            Ok(got)
        })
        .expect("server in b");
    a.run(move || -> io::Result<()> {
        let mut conn = TcpStream::connect_timeout(&addr, TIMEOUT)?;
        conn.set_write_timeout(Some(TIMEOUT))?;
        conn.write_all(&data)?;
        conn.shutdown(Shutdown::Write)
    })
    .expect("enter a")
    .unwrap_or_else(|e| panic!("sending to {addr} from pod a: {e}"));
    server
        .join()
        .expect("server thread")
        .unwrap_or_else(|e| panic!("receiving on {addr} in pod b: {e}"))
}

/// `accept` that gives up after `limit` (a client that never comes must
/// fail the test, not hang it).
fn accept_within(listener: &TcpListener, limit: Duration) -> io::Result<(TcpStream, SocketAddr)> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + limit;
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
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no connection came",
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

/// One datagram of `size` bytes from `a` (bound to `from`) to an echo in
/// `b` (on `to`) that answers with the bytes reversed; checks both ends.
fn udp_round_trip(a: &Pod, b: &Pod, from: IpAddr, to: IpAddr, size: usize) {
    let server = b
        .run(|| UdpSocket::bind((to, 0)))
        .expect("enter b")
        .expect("bind in b");
    server.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let server_addr = server.local_addr().expect("server address");
    let echo = b
        .spawn(move || -> io::Result<(Vec<u8>, SocketAddr)> {
            let mut buf = vec![0u8; 65536];
            let (n, peer) = server.recv_from(&mut buf)?;
            let got = buf[..n].to_vec();
            let reply: Vec<u8> = got.iter().rev().copied().collect();
            server.send_to(&reply, peer)?;
            Ok((got, peer))
        })
        .expect("echo in b");

    let sent = payload(size, size as u64);
    let (reply, replier, client_addr) = a
        .run(|| -> io::Result<(Vec<u8>, SocketAddr, SocketAddr)> {
            let client = UdpSocket::bind((from, 0))?;
            client.set_read_timeout(Some(TIMEOUT))?;
            client.send_to(&sent, server_addr)?;
            let mut buf = vec![0u8; 65536];
            let (n, replier) = client.recv_from(&mut buf)?;
            Ok((buf[..n].to_vec(), replier, client.local_addr()?))
        })
        .expect("enter a")
        .unwrap_or_else(|e| panic!("UDP {from} -> {server_addr}: {e}"));
    let (got, peer) = echo
        .join()
        .expect("echo thread")
        .unwrap_or_else(|e| panic!("UDP echo on {server_addr}: {e}"));

    assert!(
        got == sent,
        "b received {} of {size} bytes, or others",
        got.len()
    );
    assert_eq!(peer, client_addr, "b saw the datagram come from a's socket");
    assert_eq!(replier, server_addr, "the reply came from b's socket");
    let reversed: Vec<u8> = sent.iter().rev().copied().collect();
    assert!(
        reply == reversed,
        "a got {} bytes back, not b's reply",
        reply.len()
    );
}

#[test]
fn pods_talk_over_af_packet_through_the_raw_forwarding_loop() {
    let a = Pod::builder("pod-a")
        .mac(MacAddr::new(0x02, 0, 0, 0, 0, 0x0a))
        .ipv4("10.0.0.1/24")
        .ipv6("fd00::1/64")
        .create()
        .expect("pod a");
    let b = Pod::builder("pod-b")
        .mac(MacAddr::new(0x02, 0, 0, 0, 0, 0x0b))
        .ipv4("10.0.0.2/24")
        .ipv6("fd00::2/64")
        .create()
        .expect("pod b");
    let (a4, b4) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
    let a6: IpAddr = "fd00::1".parse().expect("v6");
    let b6: IpAddr = "fd00::2".parse().expect("v6");

    // The ports exist only after the pods (af_packet binds at probe) and
    // are dropped before them (declared later).
    let eal = eal();
    let pool_config = MempoolConfig {
        size: 4095,
        ..MempoolConfig::default()
    };
    let pool = Mempool::new(&eal, "wire", &pool_config).expect("mempool");
    let port_a = af_packet(&eal, &pool, 0, &a);
    let port_b = af_packet(&eal, &pool, 1, &b);

    // Nothing but the loop joins the pods: before it runs, no reply.
    let before = a.ping(b4, 1).expect("ping before the loop");
    assert_eq!(
        before.received, 0,
        "a reply without the loop:\n{}",
        before.output
    );

    let stop = StopFlag::new();
    let counters = Arc::new(FwdCounters::default());
    let pairs = vec![
        FwdPair {
            rx: port_a.rx_queue(0).expect("rx a"),
            tx: port_b.tx_queue(0).expect("tx b"),
        },
        FwdPair {
            rx: port_b.rx_queue(0).expect("rx b"),
            tx: port_a.tx_queue(0).expect("tx a"),
        },
    ];
    let lcore = *eal
        .worker_lcores()
        .first()
        .expect("a worker lcore (EAL lcores 0-1)");
    let job = {
        let (flag, counters) = (stop.clone(), counters.clone());
        eal.launch(lcore, move || drop(forward(pairs, &flag, &counters)))
            .expect("launch the loop")
    };
    let _stop_on_exit = StopOnDrop(stop.clone());

    for (from, to) in [(&a, b4), (&b, a4), (&a, b6), (&b, a6)] {
        let stats = from.ping(to, 3).expect("ping");
        assert_eq!(
            (stats.transmitted, stats.received),
            (3, 3),
            "{} -> {to}:\n{}",
            from.name(),
            stats.output
        );
    }

    let data = Arc::new(payload(MIB, 0x5eed));
    for to in [b4, b6] {
        let got = tcp_transfer(&a, &b, to, data.clone());
        assert!(
            got == *data,
            "TCP a -> {to}: {} of {} bytes arrived, first difference at {:?}",
            got.len(),
            data.len(),
            first_difference(&got, &data)
        );
    }

    // Largest datagrams that fit the 1500-byte MTU unfragmented.
    udp_round_trip(&a, &b, a4, b4, 1500 - 20 - 8);
    udp_round_trip(&a, &b, a6, b6, 1500 - 40 - 8);

    stop.stop();
    job.join().expect("the loop ended cleanly");
    let fwd = counters.snapshot();
    let to_b = port_b.stats().expect("stats b");
    // Both MiB went out of b's port: through DPDK, not around it.
    assert!(
        to_b.tx_bytes >= 2 * MIB as u64,
        "port b sent {} bytes, less than the 2 MiB of TCP payload",
        to_b.tx_bytes
    );
    assert!(fwd.tx > 0 && fwd.tx <= fwd.rx, "{fwd:?}");
    eprintln!(
        "netns wire: loop rx {} tx {} dropped {}; port b tx {} packets {} bytes",
        fwd.rx, fwd.tx, fwd.tx_dropped, to_b.tx_packets, to_b.tx_bytes
    );
}
