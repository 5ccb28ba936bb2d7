//! The whole pipeline on any input: a sequence of frames, each arriving on
//! a port the input chooses, through one worker over a small cluster (two
//! local pods, the management port, a remote node, a service, a policy,
//! the gateway). Never a panic; and everything it transmits is a frame
//! dpuflow's own parser accepts, on a port it has.
//!
//! Input: records of `port selector (1 byte) | length (2 bytes, big
//! endian) | frame`; a record cut short ends the sequence. State (the
//! connection table) lives for one input, so a crash replays exactly.

use std::net::IpAddr;

use dpuflow_conntrack::{Config, Conntrack};
use dpuflow_engine::lookup::{Compiled, NodeSettings, PortRole, Ports};
use dpuflow_engine::{affinity, Neighbours, Verdict, Worker};
use dpuflow_net::MacAddr;
use dpuflow_packet::{parse, Frame, VecFrame};
use dpuflow_tables::{
    AllowRule, Backend, DirectionPolicy, EndpointId, Gateway, LocalPod, Peers, PodKey, Policy,
    PortRange, PortRef, Ports as PolicyPorts, Prefix, Protocol, RemoteNode, Service, ServiceKey,
    ServicePort, Tables,
};

use crate::{ensure, Violation};

/// Ports of the fixture, by selector (`selector % len`); the last is no
/// port of the datapath.
pub const PORTS: [u16; 6] = [0, 1, 2, 3, 4, 9];
/// At most this many frames per input.
const MAX_FRAMES: usize = 16;

/// Runs the input's frames through a fresh worker.
pub fn check_pipeline(input: &[u8]) -> Result<(), Violation> {
    run_pipeline(input).map(|_| ())
}

/// Runs the input's frames through a fresh worker; their verdicts.
pub fn run_pipeline(input: &[u8]) -> Result<Vec<Verdict>, Violation> {
    let (t, mut w) = fixture()?;
    let mut verdicts = Vec::new();
    let mut rest = input;
    for _ in 0..MAX_FRAMES {
        let [sel, hi, lo, tail @ ..] = rest else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some(bytes) = tail.get(..len) else { break };
        rest = &tail[len..];
        let port = PORTS[usize::from(*sel) % PORTS.len()];
        let mut frame = VecFrame::new(bytes);
        let verdict = w.process(&t, &mut frame, port, 1_000);
        check_verdict(&t, verdict, frame.bytes())?;
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

fn check_verdict(t: &Compiled, verdict: Verdict, out: &[u8]) -> Result<(), Violation> {
    let Verdict::Tx(port) = verdict else {
        return Ok(());
    };
    ensure!(
        t.ports.role(port).is_some(),
        "sent on port {port}, which the datapath does not have"
    );
    if let Err(reason) = parse(out) {
        return Err(Violation(format!(
            "sent a frame its own parser refuses ({reason}) on port {port}: {out:02x?}"
        )));
    }
    Ok(())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn prefix(s: &str) -> Prefix {
    let (addr, len) = s.split_once('/').unwrap_or((s, "32"));
    Prefix::new(ip(addr), len.parse().unwrap_or(32)).unwrap_or_else(|_| Prefix::host(ip(addr)))
}

/// The small cluster, seen from node-id 2.
pub fn tables() -> Tables {
    let mut t = Tables::default();
    for (name, port, v4, v6, id) in [
        ("a", "pf0vf1", "10.244.2.5", "fd00:10:244:2::5", 1),
        ("b", "pf0vf2", "10.244.2.6", "fd00:10:244:2::6", 2),
    ] {
        t.pods.insert(
            PodKey::primary("default", name),
            LocalPod {
                endpoint: EndpointId(id),
                port: PortRef::new(port),
                mac: MacAddr::from_ovn_ip(ip(v4)),
                ips: vec![ip(v4), ip(v6)],
            },
        );
    }
    let peers = [
        prefix("10.244.2.5/32"),
        prefix("10.244.3.0/24"),
        prefix("100.64.0.0/16"),
    ]
    .into_iter()
    .collect();
    t.policies.insert(
        PodKey::primary("default", "b"),
        Policy {
            ingress: DirectionPolicy::isolated([AllowRule {
                peers: Peers::Prefixes(peers),
                ports: PolicyPorts::ranges([PortRange::single(Protocol::Tcp, 8080)]),
            }]),
            egress: DirectionPolicy::open(),
            allow_arp_nd: true,
            allow_management: true,
        },
    );
    t.remote_nodes.insert(
        "node-b".into(),
        RemoteNode {
            pod_subnets: vec![prefix("10.244.3.0/24"), prefix("fd00:10:244:3::/64")],
            encap_ips: vec![ip("172.31.0.3")],
            node_id: Some(3),
            transit_ips: vec![ip("100.88.0.3")],
        },
    );
    let backends = vec![
        Backend {
            ip: ip("10.244.2.6"),
            port: 8080,
        },
        Backend {
            ip: ip("10.244.3.7"),
            port: 8080,
        },
        Backend {
            ip: ip("fd00:10:244:2::6"),
            port: 8080,
        },
    ];
    t.services.insert(
        ServiceKey::new("default", "web"),
        Service {
            cluster_ips: vec![ip("10.96.0.10"), ip("fd00:10:96::10")],
            external_ips: vec![],
            ports: vec![ServicePort {
                protocol: Protocol::Tcp,
                port: 80,
                node_port: Some(30080),
                local_backends: vec![backends[0]],
                backends,
            }],
            affinity_timeout: Some(60),
            external_local: false,
            internal_local: false,
        },
    );
    t.gateway = Some(Gateway {
        node_ips: vec![ip("172.31.0.12"), ip("fd00:31::12")],
        next_hops: vec![ip("172.31.0.254"), ip("fd00:31::fe")],
        vlan: Some(100),
        router_subnet: None,
        host_pf_mac: None,
        encap_ip: Some(ip("172.31.0.2")),
        node_id: Some(2),
        transit_ips: vec![ip("100.88.0.2")],
        pod_subnets: vec![prefix("10.244.2.0/24"), prefix("fd00:10:244:2::/64")],
        management_ips: vec![ip("10.244.2.2")],
        management_port: Some(PortRef::new("pf0vf0")),
        cluster_cidrs: vec![prefix("10.244.0.0/16"), prefix("fd00:10:244::/48")],
        service_cidrs: vec![prefix("10.96.0.0/16"), prefix("fd00:10:96::/112")],
        masquerade_subnets: vec![prefix("169.254.0.0/17")],
        join_subnets: vec![prefix("100.64.0.0/16")],
        hairpin_snat: vec![ip("169.254.0.5"), ip("fd69::5")],
    });
    t
}

fn fixture() -> Result<(Compiled, Worker), Violation> {
    let mut ports = Ports::new();
    ports.add("p0", 0, PortRole::Uplink);
    ports.add("pf0vf1", 1, PortRole::Pod);
    ports.add("pf0vf2", 2, PortRole::Pod);
    ports.add("pf0hpf", 3, PortRole::HostPf);
    ports.add("pf0vf0", 4, PortRole::Pod);
    let t = Compiled::new(&tables(), &ports, &NodeSettings::default());
    let config = Config {
        capacity: 64,
        hash_seed: Some(1),
        ..Config::default()
    };
    let bad = |e| Violation(format!("fixture: {e}"));
    let (_ct, mut owners) = Conntrack::new(config, 1).map_err(bad)?;
    let (_aff, mut sticky) = Conntrack::new(affinity::table_config(16), 1).map_err(bad)?;
    let (Some(owner), Some(sticky)) = (owners.pop(), sticky.pop()) else {
        return Err(Violation("fixture: no owner".into()));
    };
    let n = Neighbours::new(16);
    n.set(ip("172.31.0.3"), MacAddr([2, 0, 0, 0, 0, 3]));
    n.set(ip("172.31.0.254"), MacAddr([2, 0, 0, 0, 0, 0xfe]));
    let w = Worker::new(owner, sticky, n.view(), MacAddr([2, 0, 0, 0, 0, 2]));
    Ok((t, w))
}
