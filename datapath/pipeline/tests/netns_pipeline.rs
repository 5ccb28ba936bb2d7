//! End to end through dpuflow's pipeline over real Linux network stacks:
//! two pods of this node (network namespaces, dpuflow-netkit) on the VF
//! representors `pf0vf1`/`pf0vf2` (their veths opened as `net_af_packet`),
//! the tables a control plane would send (node subnet, gateway, a
//! ClusterIP service with pod b as its endpoint), one worker lcore. The
//! pods' kernels resolve the gateway by ARP/ND, ping each other and the
//! gateway, move 1 MiB over TCP directly and through the ClusterIP.
//!
//! One `#[test]` in a binary of its own (the EAL starts once per process).
//! Needs root, iproute2, ethtool and iputils-ping (./scripts/setup.sh).

mod common;

use std::time::Duration;

use common::{assert_intact, eal, ip, payload, prefix, shared_cpus, sock, tcp_transfer};
use dpuflow_datapath::{Datapath, DatapathPort};
use dpuflow_dpdk::{Mempool, MempoolConfig, Port};
use dpuflow_engine::lookup::PortRole;
use dpuflow_engine::Reason;
use dpuflow_net::MacAddr;
use dpuflow_netkit::Pod;
use dpuflow_tables::{
    Backend, EndpointId, Gateway, LocalPod, PodKey, PortRef, Protocol, Service, ServiceKey,
    ServicePort, Tables,
};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A pod of this node with both address families.
fn dual_stack_pod(name: &str, v4: &str, v6: &str) -> Pod {
    Pod::builder(name)
        .mac(MacAddr::from_ovn_ip(ip(v4)))
        .mtu(1400)
        .ipv4(&format!("{v4}/24"))
        .ipv6(&format!("{v6}/64"))
        .gateway("10.244.2.1")
        .gateway("fd00:10:244:2::1")
        .create()
        .unwrap_or_else(|e| panic!("pod {name}: {e:?}"))
}

fn tables() -> Tables {
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
    t.services.insert(
        ServiceKey::new("default", "web"),
        Service {
            cluster_ips: vec![ip("10.96.0.10")],
            external_ips: vec![],
            ports: vec![ServicePort {
                protocol: Protocol::Tcp,
                port: 80,
                node_port: None,
                backends: vec![Backend {
                    ip: ip("10.244.2.6"),
                    port: 8080,
                }],
                local_backends: vec![],
            }],
            affinity_timeout: None,
            external_local: false,
            internal_local: false,
        },
    );
    t.gateway = Some(Gateway {
        node_ips: vec![ip("172.31.0.12")],
        next_hops: vec![],
        vlan: None,
        router_subnet: None,
        host_pf_mac: None,
        encap_ip: Some(ip("172.31.0.2")),
        node_id: Some(2),
        transit_ips: vec![ip("100.88.0.2")],
        pod_subnets: vec![prefix("10.244.2.0/24"), prefix("fd00:10:244:2::/64")],
        management_ips: vec![],
        management_port: None,
        cluster_cidrs: vec![prefix("10.244.0.0/16")],
        service_cidrs: vec![prefix("10.96.0.0/16")],
        masquerade_subnets: vec![],
        join_subnets: vec![prefix("100.64.0.0/16")],
        hairpin_snat: vec![ip("169.254.0.5")],
    });
    t
}

#[test]
fn pods_talk_through_the_pipeline_directly_and_through_a_cluster_ip() {
    let a = dual_stack_pod("pod-a", "10.244.2.5", "fd00:10:244:2::5");
    let b = dual_stack_pod("pod-b", "10.244.2.6", "fd00:10:244:2::6");
    let eal = eal("dpuflow-netns-pipeline", "0-1");
    let pool_config = MempoolConfig {
        size: 4095,
        ..MempoolConfig::default()
    };
    let pool = Mempool::new(&eal, "pipeline", &pool_config).expect("mempool");
    let attach =
        |devargs: String| Port::attach(&eal, &devargs).unwrap_or_else(|e| panic!("{devargs}: {e}"));
    let (uplink, _uplink_peer) = Port::ring_pair(&eal, "uplink", 1024).expect("uplink ring");
    let (host, _host_peer) = Port::ring_pair(&eal, "host", 1024).expect("host ring");
    let ports = vec![
        DatapathPort {
            name: "p0".into(),
            role: PortRole::Uplink,
            port: uplink,
        },
        DatapathPort {
            name: "pf0hpf".into(),
            role: PortRole::HostPf,
            port: host,
        },
        DatapathPort {
            name: "pf0vf1".into(),
            role: PortRole::Pod,
            port: attach(format!("net_af_packet0,iface={}", a.port_name())),
        },
        DatapathPort {
            name: "pf0vf2".into(),
            role: PortRole::Pod,
            port: attach(format!("net_af_packet1,iface={}", b.port_name())),
        },
    ];
    let dp = Datapath::start(&eal, &pool, ports, shared_cpus()).expect("datapath");

    // No tables yet: nothing passes.
    assert_eq!(a.ping(ip("10.244.2.6"), 1).expect("ping").received, 0);

    let batch = Tables::diff(&Tables::default(), &tables());
    let n = dp.tables().send(batch).expect("builder running");
    assert!(dp.tables().wait_live(n, TIMEOUT), "tables never went live");

    for (from, to) in [
        (&a, "10.244.2.6"),
        (&b, "10.244.2.5"),
        (&a, "fd00:10:244:2::6"),
        (&a, "10.244.2.1"),
    ] {
        let p = from.ping(ip(to), 3).expect("ping");
        assert_eq!(p.received, 3, "ping {to}:\n{}", p.output);
    }

    let data = payload(1 << 20);
    let direct = tcp_transfer(
        &a,
        &b,
        sock("10.244.2.6:8080"),
        sock("10.244.2.6:8080"),
        &data,
    );
    assert_intact("direct TCP", &direct, &data);
    assert_eq!(direct.server_saw.ip(), ip("10.244.2.5"));

    let via_vip = tcp_transfer(
        &a,
        &b,
        sock("10.244.2.6:8080"),
        sock("10.96.0.10:80"),
        &data,
    );
    assert_intact("ClusterIP TCP", &via_vip, &data);
    assert_eq!(
        via_vip.server_saw.ip(),
        ip("10.244.2.5"),
        "the endpoint sees the client's own address"
    );

    let stats = dp.stats();
    let s = &stats[0];
    assert!(s.conns_created >= 4, "{s:?}");
    assert!(s.forwarded > 1000, "{s:?}");
    assert_eq!(s.drops_of(Reason::Malformed), 0, "{s:?}");
    assert_eq!(s.drops_of(Reason::EditFailed), 0, "{s:?}");
    dp.stop();
}
