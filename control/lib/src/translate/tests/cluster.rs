//! A whole small cluster, as `kubectl get -o json` lists it.

use dpuflow_tables::{Backend, PodKey, PortRange, Ports, Protocol, ServiceKey};
use serde_json::Value;

use super::*;

const CART_UID: &str = "0f5c2a9e-6d0b-4c1f-9a51-3b8e7d2c1a01";

/// The objects of `testdata/cluster.json`.
pub(super) fn cluster() -> Snapshot {
    let list: Value = serde_json::from_str(include_str!("../testdata/cluster.json")).expect("json");
    snap(list["items"].clone())
}

/// The context of the fixture: the cart pod is bound to `pf0vf3`.
pub(super) fn cluster_ctx() -> TranslateContext {
    let mut b = binding(CART_UID, 3, &["10.244.1.5/24"]);
    b.mac = MacAddr([0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x05]);
    ctx(vec![b])
}

#[test]
fn translates_the_whole_fixture() {
    let t = clean(&cluster(), &cluster_ctx());
    let tables = &t.tables;

    let cart = PodKey::primary("shop", "cart-7d9f8b6c5d-x2x7q");
    let pods: Vec<&PodKey> = tables.pods.keys().collect();
    assert_eq!(pods, [&cart]);
    assert_eq!(tables.pods[&cart].mac.to_string(), "0a:58:0a:f4:01:05");
    assert_eq!(tables.pods[&cart].port, PortRef::new("pf0vf3"));

    let remote: Vec<&str> = tables.remote_nodes.keys().map(String::as_str).collect();
    assert_eq!(remote, ["host-b"]);
    assert_eq!(
        tables.remote_nodes["host-b"].tunnel_ip(),
        Some(ip("198.51.100.11"))
    );

    let g = tables.gateway.as_ref().expect("gateway");
    assert_eq!(g.pod_subnets, vec![pfx("10.244.1.0/24")]);
    assert_eq!(g.management_ips, vec![ip("10.244.1.2")]);

    let svc = &tables.services[&ServiceKey::new("shop", "cart")];
    assert_eq!(svc.cluster_ips, vec![ip("10.96.12.34")]);
    assert_eq!(svc.affinity_timeout, Some(10800));
    assert!(svc.external_local && !svc.internal_local);
    let port = &svc.ports[0];
    assert_eq!(port.node_port, Some(31080));
    let local = Backend {
        ip: ip("10.244.1.5"),
        port: 8080,
    };
    let remote = Backend {
        ip: ip("10.244.2.12"),
        port: 8080,
    };
    assert_eq!(port.backends, vec![local, remote]);
    assert_eq!(port.local_backends, vec![local]);

    let policy = &tables.policies[&cart];
    assert!(policy.ingress.isolated && !policy.egress.isolated);
    let [rule] = policy.ingress.rules.as_slice() else {
        panic!("{policy:?}")
    };
    assert_eq!(
        rule.ports,
        Ports::ranges([PortRange::single(Protocol::Tcp, 8080)])
    );
    assert!(policy
        .ingress
        .allows(ip("10.244.2.20"), Protocol::Tcp, 8080));
    assert!(!policy
        .ingress
        .allows(ip("10.244.2.12"), Protocol::Tcp, 8080));
}
