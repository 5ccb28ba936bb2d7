//! Per-stage cost of the engine on this machine, in TSC cycles per packet
//! (each row includes copying the frame into a reused buffer, measured
//! alone in the first row)
//! (not a benchmark against a peer — `dpuflow-perf` does those): parse
//! alone; a connection's later packets (parse + lookup + NAT + rewrite),
//! pod→pod and pod→remote (Geneve encap with a full UDP checksum); and
//! first packets (classification + connection creation).
//!
//! `cargo run --release -p dpuflow-engine --example stage_cycles`

use std::net::IpAddr;
use std::time::Instant;

use dpuflow_conntrack::{Config, Conntrack};
use dpuflow_engine::lookup::{Compiled, NodeSettings, PortRole, Ports};
use dpuflow_engine::{Neighbours, Verdict, Worker};
use dpuflow_net::MacAddr;
use dpuflow_packet::{parse, Frame, VecFrame};
use dpuflow_tables::{EndpointId, Gateway, LocalPod, PodKey, PortRef, Prefix, RemoteNode, Tables};
use etherparse::PacketBuilder;

const FLOWS: u16 = 10_000;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn prefix(s: &str) -> Prefix {
    let n: ipnet::IpNet = s.parse().expect("prefix");
    Prefix::new(n.addr(), n.prefix_len()).expect("prefix")
}

fn tables() -> Tables {
    let mut t = Tables::default();
    for (name, port, addr) in [("a", "vf1", "10.244.2.5"), ("b", "vf2", "10.244.2.6")] {
        t.pods.insert(
            PodKey::primary("default", name),
            LocalPod {
                endpoint: EndpointId(1),
                port: PortRef::new(port),
                mac: MacAddr::from_ovn_ip(ip(addr)),
                ips: vec![ip(addr)],
            },
        );
    }
    for n in 3..1003u16 {
        t.remote_nodes.insert(
            format!("node-{n}"),
            RemoteNode {
                pod_subnets: vec![prefix(&format!("10.{}.{}.0/24", 100 + n / 256, n % 256))],
                encap_ips: vec![IpAddr::from([172, 31, (n / 256) as u8, (n % 256) as u8])],
                node_id: Some(n),
                transit_ips: vec![IpAddr::from([100, 88, (n / 256) as u8, (n % 256) as u8])],
            },
        );
    }
    t.gateway = Some(Gateway {
        node_ips: vec![],
        next_hops: vec![],
        vlan: None,
        router_subnet: None,
        host_pf_mac: None,
        encap_ip: Some(ip("172.31.0.2")),
        node_id: Some(2),
        transit_ips: vec![ip("100.88.0.2")],
        pod_subnets: vec![prefix("10.244.2.0/24")],
        management_ips: vec![],
        management_port: None,
        cluster_cidrs: vec![],
        service_cidrs: vec![],
        masquerade_subnets: vec![],
        join_subnets: vec![prefix("100.64.0.0/16")],
        hairpin_snat: vec![],
    });
    t
}

fn frames(dst: impl Fn(u16) -> [u8; 4]) -> Vec<Vec<u8>> {
    let src = MacAddr::from_ovn_ip(ip("10.244.2.5")).0;
    let gw = MacAddr::from_ovn_ip(ip("10.244.2.1")).0;
    (0..FLOWS)
        .map(|i| {
            let mut out = Vec::new();
            PacketBuilder::ethernet2(src, gw)
                .ipv4([10, 244, 2, 5], dst(i), 64)
                .udp(10_000 + i, 80)
                .write(&mut out, &[0u8; 18])
                .expect("frame");
            out
        })
        .collect()
}

fn cycles() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions on x86-64.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Instant::now().elapsed().as_nanos() as u64
    }
}

fn measure(name: &str, frames: &[Vec<u8>], rounds: usize, mut f: impl FnMut(&mut VecFrame)) {
    let mut best = u64::MAX;
    // One reused buffer, as a driver reuses mbufs: no allocation timed.
    let mut frame = VecFrame::new(&[]);
    for _ in 0..rounds {
        let t0 = cycles();
        for bytes in frames {
            frame.refill(bytes);
            f(&mut frame);
        }
        best = best.min((cycles() - t0) / frames.len() as u64);
    }
    println!(
        "{name:<44} {best:>6} cycles/packet (best of {rounds} rounds of {})",
        frames.len()
    );
}

fn main() {
    let mut ports = Ports::new();
    ports.add("p0", 0, PortRole::Uplink);
    ports.add("vf1", 1, PortRole::Pod);
    ports.add("vf2", 2, PortRole::Pod);
    let t = Compiled::new(&tables(), &ports, &NodeSettings::default());
    let (_ct, mut owners) = Conntrack::new(Config::default(), 1).expect("conntrack");
    let neighbours = Neighbours::new(16);
    for n in 3..1003u16 {
        neighbours.set(
            IpAddr::from([172, 31, (n / 256) as u8, (n % 256) as u8]),
            MacAddr([2, 0, 0, 0, 0, 3]),
        );
    }
    let (_affinity, mut sticky) =
        Conntrack::new(dpuflow_engine::affinity::table_config(16), 1).expect("affinity");
    let mut w = Worker::new(
        owners.remove(0),
        sticky.remove(0),
        neighbours.view(),
        MacAddr([2, 0, 0, 0, 0, 2]),
    );
    let local = frames(|_| [10, 244, 2, 6]);
    let remote = frames(|i| {
        let n = 3 + i % 1000;
        [10, 100 + (n / 256) as u8, (n % 256) as u8, 7]
    });
    let started = Instant::now();
    measure(
        "frame copy into the buffer (in every row below)",
        &local,
        20,
        |f| {
            std::hint::black_box(f.bytes().as_ptr());
        },
    );
    measure("parse only", &local, 20, |f| {
        std::hint::black_box(parse(f.bytes()).is_ok());
    });
    measure(
        "first packet, pod->pod (classify + create)",
        &local,
        1,
        |f| {
            assert!(matches!(w.process(&t, f, 1, 1), Verdict::Tx(2)));
        },
    );
    measure(
        "established, pod->pod (lookup + rewrite)",
        &local,
        20,
        |f| {
            assert!(matches!(w.process(&t, f, 1, 2), Verdict::Tx(2)));
        },
    );
    measure(
        "first packet, pod->remote (classify + create)",
        &remote,
        1,
        |f| {
            assert!(matches!(w.process(&t, f, 1, 3), Verdict::Tx(0)));
        },
    );
    measure(
        "established, pod->remote (lookup + encap)",
        &remote,
        20,
        |f| {
            assert!(matches!(w.process(&t, f, 1, 4), Verdict::Tx(0)));
        },
    );
    println!(
        "({:.1} s; frames built outside the timing, copied into one reused buffer inside it)",
        started.elapsed().as_secs_f64()
    );
}
