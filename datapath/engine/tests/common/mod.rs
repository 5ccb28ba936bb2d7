//! A small cluster seen from node `dpu-a` (node-id 2): two local pods, the
//! management port, one remote node (`node-b`, node-id 3) and a service
//! with one local and one remote endpoint. Shared by the engine's tests.
#![allow(dead_code)]

mod frames;

use std::net::IpAddr;

use dpuflow_engine::lookup::{Compiled, NodeSettings, PortRole, Ports};
use dpuflow_net::MacAddr;
use dpuflow_tables::{
    Backend, EndpointId, Gateway, LocalPod, PodKey, PortRef, Prefix, Protocol, RemoteNode, Service,
    ServiceKey, ServicePort, Tables,
};

pub const UPLINK: u16 = 0;
pub const POD_A_PORT: u16 = 1;
pub const POD_B_PORT: u16 = 2;
pub const HOST_PF: u16 = 3;
pub const MGMT_PORT: u16 = 4;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn prefix(s: &str) -> Prefix {
    let net: ipnet::IpNet = s.parse().unwrap();
    Prefix::new(net.addr(), net.prefix_len()).unwrap()
}

pub fn ports() -> Ports {
    let mut p = Ports::new();
    p.add("p0", UPLINK, PortRole::Uplink);
    p.add("pf0vf1", POD_A_PORT, PortRole::Pod);
    p.add("pf0vf2", POD_B_PORT, PortRole::Pod);
    p.add("pf0hpf", HOST_PF, PortRole::HostPf);
    p.add("pf0vf0", MGMT_PORT, PortRole::Pod);
    p
}

pub fn pod(port: &str, v4: &str, v6: &str, id: u32) -> LocalPod {
    LocalPod {
        endpoint: EndpointId(id),
        port: PortRef::new(port),
        mac: MacAddr::from_ovn_ip(ip(v4)),
        ips: vec![ip(v4), ip(v6)],
    }
}

pub fn gateway() -> Gateway {
    Gateway {
        node_ips: vec![ip("172.31.0.12")],
        next_hops: vec![ip("172.31.0.254")],
        vlan: None,
        router_subnet: None,
        host_pf_mac: None,
        encap_ip: Some(ip("172.31.0.2")),
        node_id: Some(2),
        transit_ips: vec![ip("100.88.0.2")],
        pod_subnets: vec![prefix("10.244.2.0/24"), prefix("fd00:10:244:2::/64")],
        management_ips: vec![ip("10.244.2.2"), ip("fd00:10:244:2::2")],
        management_port: Some(PortRef::new("pf0vf0")),
        cluster_cidrs: vec![prefix("10.244.0.0/16"), prefix("fd00:10:244::/48")],
        service_cidrs: vec![prefix("10.96.0.0/16"), prefix("fd00:10:96::/112")],
        masquerade_subnets: vec![prefix("169.254.0.0/17"), prefix("fd69::/112")],
        join_subnets: vec![prefix("100.64.0.0/16"), prefix("fd98::/64")],
        hairpin_snat: vec![ip("169.254.0.5"), ip("fd69::5")],
    }
}

pub fn node_b() -> RemoteNode {
    RemoteNode {
        pod_subnets: vec![prefix("10.244.3.0/24"), prefix("fd00:10:244:3::/64")],
        encap_ips: vec![ip("172.31.0.3")],
        node_id: Some(3),
        transit_ips: vec![ip("100.88.0.3")],
    }
}

pub fn web() -> Service {
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
    Service {
        cluster_ips: vec![ip("10.96.0.10"), ip("fd00:10:96::10")],
        external_ips: vec![],
        ports: vec![ServicePort {
            protocol: Protocol::Tcp,
            port: 80,
            node_port: Some(30080),
            backends,
            local_backends: vec![],
        }],
        affinity_timeout: None,
        external_local: false,
        internal_local: false,
    }
}

pub fn tables() -> Tables {
    let mut t = Tables::default();
    t.pods.insert(
        PodKey::primary("default", "a"),
        pod("pf0vf1", "10.244.2.5", "fd00:10:244:2::5", 1),
    );
    t.pods.insert(
        PodKey::primary("default", "b"),
        pod("pf0vf2", "10.244.2.6", "fd00:10:244:2::6", 2),
    );
    t.remote_nodes.insert("node-b".into(), node_b());
    t.services.insert(ServiceKey::new("default", "web"), web());
    t.gateway = Some(gateway());
    t
}

pub fn compiled(t: &Tables) -> Compiled {
    Compiled::new(t, &ports(), &NodeSettings::default())
}

use dpuflow_conntrack::{Config, Conntrack};
use dpuflow_engine::{Neighbours, Worker};
#[allow(unused_imports)] // lookup.rs sends no frames
pub use frames::*;

/// The uplink's MAC, and the MAC node-b's encap IP resolves to.
pub const UPLINK_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x02]);
pub const NODE_B_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x03]);

/// One worker over the small cluster, node-b's MAC already resolved.
pub struct Rig {
    pub t: Compiled,
    pub w: Worker,
    pub n: Neighbours,
}

/// `workers` workers over `t`; node-b's MAC resolved when `resolved`.
pub fn rig_with(t: Tables, workers: usize, resolved: bool) -> (Compiled, Vec<Worker>, Neighbours) {
    rig_full(t, workers, resolved, 1024)
}

/// One worker over a connection table of `capacity`.
pub fn rig_with_capacity(t: Tables, capacity: u32) -> (Compiled, Vec<Worker>, Neighbours) {
    rig_full(t, 1, true, capacity)
}

fn rig_full(
    t: Tables,
    workers: usize,
    resolved: bool,
    capacity: u32,
) -> (Compiled, Vec<Worker>, Neighbours) {
    let c = compiled(&t);
    let config = Config {
        capacity,
        ..Config::default()
    };
    let (_ct, owners) = Conntrack::new(config, workers).unwrap();
    let (_affinity, sticky) =
        Conntrack::new(dpuflow_engine::affinity::table_config(256), workers).unwrap();
    let n = Neighbours::new(64);
    if resolved {
        n.set(ip("172.31.0.3"), NODE_B_MAC);
    }
    let ws = owners
        .into_iter()
        .zip(sticky)
        .map(|(o, a)| Worker::new(o, a, n.view(), UPLINK_MAC))
        .collect();
    (c, ws, n)
}

pub fn rig(t: Tables) -> Rig {
    let (t, mut ws, n) = rig_with(t, 1, true);
    Rig {
        t,
        w: ws.pop().unwrap(),
        n,
    }
}
