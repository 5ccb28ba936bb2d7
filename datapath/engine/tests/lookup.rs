//! Tables compiled for the packet path find what the tables say.

mod common;

use common::*;
use dpuflow_engine::lookup::{Compiled, NodeSettings, PortRole};
use dpuflow_net::MacAddr;
use dpuflow_tables::PortRef;

#[test]
fn pods_are_found_by_address_and_by_port() {
    let c = compiled(&tables());
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let (idx, a) = c.pod_by_ip(ip("10.244.2.5")).unwrap();
    assert_eq!(a.port, POD_A_PORT);
    assert_eq!(c.pod_by_ip(ip("fd00:10:244:2::5")).unwrap().0, idx);
    assert_eq!(c.ports.pod_on(POD_A_PORT), Some(idx));
    assert_eq!(a.mac, MacAddr::from_ovn_ip(ip("10.244.2.5")));
    let (_, mgmt) = c.pod_by_ip(ip("10.244.2.2")).unwrap();
    assert!(mgmt.management);
    assert_eq!(mgmt.port, MGMT_PORT);
    assert_eq!(mgmt.mac.to_string(), "0a:58:0a:f4:02:02");
    assert!(c.pod_by_ip(ip("10.244.2.7")).is_none());
    assert_eq!(c.ports.pod_on(HOST_PF), None);
}

#[test]
fn remote_subnets_and_join_addresses_route_to_the_node() {
    let c = compiled(&tables());
    for dst in [
        "10.244.3.1",
        "10.244.3.255",
        "fd00:10:244:3::7",
        "100.64.0.3",
        "fd98::3",
    ] {
        let r = c
            .route(ip(dst))
            .unwrap_or_else(|| panic!("{dst} has no route"));
        assert_eq!(r.name, "node-b");
        assert_eq!(r.node_id, 3);
        assert_eq!(r.encap_ip, ip("172.31.0.3"));
        assert_eq!(r.rtots_mac.to_string(), "0a:58:64:58:00:03");
    }
    for dst in ["10.244.4.1", "100.64.0.4", "10.244.2.5", "8.8.8.8"] {
        assert!(c.route(ip(dst)).is_none(), "{dst}");
    }
    assert_eq!(c.remote_by_encap(ip("172.31.0.3")).unwrap().name, "node-b");
    assert!(c.remote_by_encap(ip("172.31.0.4")).is_none());
}

#[test]
fn the_local_node_has_ovn_ks_gateway_and_interconnect_identity() {
    let c = compiled(&tables());
    let l = c.local.as_ref().unwrap();
    assert_eq!(
        l.gateway_ips,
        vec![ip("10.244.2.1"), ip("fd00:10:244:2::1")]
    );
    assert_eq!(l.gateway_mac.to_string(), "0a:58:0a:f4:02:01");
    assert_eq!(l.gateway_link_local.to_string(), "fe80::858:aff:fef4:201");
    assert_eq!(l.rtots_mac.unwrap().to_string(), "0a:58:64:58:00:02");
    assert_eq!(l.node_id, Some(2));
    assert_eq!(l.settings.vni, 16_711_683);
}

#[test]
fn service_frontends_hold_backends_of_their_family() {
    let c = compiled(&tables());
    let v4 = c.frontend(ip("10.96.0.10"), 6, 80).unwrap();
    assert_eq!(v4.backends.len(), 2);
    assert!(v4.backends.iter().all(|b| b.ip.is_ipv4()));
    let v6 = c.frontend(ip("fd00:10:96::10"), 6, 80).unwrap();
    assert_eq!(v6.backends.len(), 1);
    let node_port = c.frontend(ip("172.31.0.12"), 6, 30080).unwrap();
    assert_eq!(node_port.backends, v4.backends);
    assert!(c.frontend(ip("10.96.0.10"), 17, 80).is_none());
    assert!(c.frontend(ip("10.96.0.10"), 6, 81).is_none());
}

#[test]
fn unusable_entries_are_left_out_and_reported() {
    let mut t = tables();
    t.pods
        .get_mut(&dpuflow_tables::PodKey::primary("default", "b"))
        .unwrap()
        .port = PortRef::new("pf0vf9");
    let mut b = node_b();
    b.node_id = None;
    t.remote_nodes.insert("node-c".into(), b);
    let c = Compiled::new(&t, &ports(), &NodeSettings::default());
    assert!(c.pod_by_ip(ip("10.244.2.6")).is_none());
    assert!(c.pod_by_ip(ip("10.244.2.5")).is_some());
    assert_eq!(c.remotes.len(), 1);
    assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
    assert!(c.problems[0].contains("pf0vf9"));
    assert!(c.problems[1].contains("node-c"));
    assert_eq!(c.ports.role(UPLINK), Some(PortRole::Uplink));
}

#[test]
fn a_second_pod_on_a_representor_is_refused_and_reported() {
    let mut t = tables();
    t.pods.insert(
        dpuflow_tables::PodKey::primary("default", "c"),
        pod("pf0vf1", "10.244.2.9", "fd00:10:244:2::9", 3),
    );
    let c = compiled(&t);
    assert!(c.pod_by_ip(ip("10.244.2.9")).is_none());
    assert_eq!(
        c.pod(c.ports.pod_on(POD_A_PORT).unwrap()).unwrap().name,
        "default/a@default"
    );
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert!(c.problems[0].contains("already carries default/a@default"));
}
