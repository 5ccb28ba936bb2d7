//! Remote nodes and the gateway from Node objects.

use serde_json::{json, Value};

use super::super::error::{ObjectKind, Problem};
use super::*;

fn node(name: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": format!("uid-{name}"),
            "labels": {"kubernetes.io/hostname": name, "k8s.ovn.org/dpu-host": ""},
            "annotations": annotations
        },
        "spec": {"podCIDR": "10.244.9.0/24"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "203.0.113.99"}],
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    })
}

fn own_node() -> Value {
    node(
        HOST,
        json!({
            "k8s.ovn.org/node-subnets": "{\"default\":[\"10.244.1.0/24\",\"fd00:10:244:1::/64\"]}",
            "k8s.ovn.org/node-encap-ips": "[\"198.51.100.10\"]"
        }),
    )
}

#[test]
fn remote_nodes_from_object_and_list_subnets() {
    let s = snap(json!([
        own_node(),
        node(
            "host-b",
            json!({
                "k8s.ovn.org/node-subnets": "{\"default\":\"10.244.2.0/24\"}",
                "k8s.ovn.org/node-encap-ips": "[\"198.51.100.11\"]",
                "k8s.ovn.org/node-chassis-id": "0b8ff5e4-4a0f-4c49-93e6-7c0a4b5e1d2a"
            })
        ),
        node(
            "host-c",
            json!({
                "k8s.ovn.org/node-subnets": "{\"default\":[\"10.244.3.0/24\",\"fd00:10:244:3::/64\"]}",
                "k8s.ovn.org/node-encap-ips": "[\"198.51.100.12\",\"198.51.100.13\"]"
            })
        ),
    ]));
    let t = clean(&s, &ctx(vec![]));
    let nodes = &t.tables.remote_nodes;
    assert_eq!(nodes.len(), 2, "the own node is not remote: {nodes:?}");
    let b = &nodes["host-b"];
    assert_eq!(b.pod_subnets, vec![pfx("10.244.2.0/24")]);
    assert_eq!(b.tunnel_ip(), Some(ip("198.51.100.11")));
    let c = &nodes["host-c"];
    assert_eq!(
        c.pod_subnets,
        vec![pfx("10.244.3.0/24"), pfx("fd00:10:244:3::/64")]
    );
    assert_eq!(c.encap_ips, vec![ip("198.51.100.12"), ip("198.51.100.13")]);
}

#[test]
fn encap_falls_back_to_primary_ifaddr_and_unready_nodes_are_skipped() {
    let s = snap(json!([
        own_node(),
        node(
            "old",
            json!({
                "k8s.ovn.org/node-subnets": "{\"default\":\"10.244.4.0/24\"}",
                "k8s.ovn.org/node-primary-ifaddr": "{\"ipv4\":\"203.0.113.14/24\"}"
            })
        ),
        node(
            "no-subnet-yet",
            json!({"k8s.ovn.org/node-encap-ips": "[\"198.51.100.15\"]"})
        ),
        node(
            "no-encap-yet",
            json!({"k8s.ovn.org/node-subnets": "{\"default\":\"10.244.5.0/24\"}"})
        ),
        node(
            "other-network-only",
            json!({
                "k8s.ovn.org/node-subnets": "{\"tenant/blue\":\"10.10.0.0/24\"}",
                "k8s.ovn.org/node-encap-ips": "[\"198.51.100.16\"]"
            })
        ),
    ]));
    let t = clean(&s, &ctx(vec![]));
    let names: Vec<&str> = t.tables.remote_nodes.keys().map(String::as_str).collect();
    assert_eq!(names, ["old"]);
    assert_eq!(
        t.tables.remote_nodes["old"].encap_ips,
        vec![ip("203.0.113.14")]
    );
}

#[test]
fn malformed_annotations_are_reported_per_node() {
    let s = snap(json!([
        own_node(),
        node(
            "bad-json",
            json!({
                "k8s.ovn.org/node-subnets": "{\"default\":",
                "k8s.ovn.org/node-encap-ips": "[\"198.51.100.11\"]"
            })
        ),
        node(
            "bad-cidr",
            json!({
                "k8s.ovn.org/node-subnets": "{\"default\":\"10.244.300.0/24\"}",
                "k8s.ovn.org/node-encap-ips": "[\"198.51.100.12\"]"
            })
        ),
        node(
            "bad-ip",
            json!({
                "k8s.ovn.org/node-subnets": "{\"default\":\"10.244.6.0/24\"}",
                "k8s.ovn.org/node-encap-ips": "[\"not-an-ip\"]"
            })
        ),
        node(
            "good",
            json!({
                "k8s.ovn.org/node-subnets": "{\"default\":\"10.244.7.0/24\"}",
                "k8s.ovn.org/node-encap-ips": "[\"198.51.100.17\"]"
            })
        ),
    ]));
    let t = translate(&s, &ctx(vec![]));
    let names: Vec<&str> = t.tables.remote_nodes.keys().map(String::as_str).collect();
    assert_eq!(names, ["good"], "bad nodes never drop the rest");
    let bad: Vec<&str> = t.errors.iter().map(|e| e.object.as_str()).collect();
    assert_eq!(bad, ["bad-json", "bad-cidr", "bad-ip"]);
    assert!(t
        .errors
        .iter()
        .all(|e| e.kind == ObjectKind::Node && matches!(e.problem, Problem::Annotation { .. })));
    let msg = t.errors[1].to_string();
    assert!(
        msg.contains("k8s.ovn.org/node-subnets") && msg.contains("10.244.300.0/24"),
        "{msg}"
    );
}

#[test]
fn gateway_from_own_node_and_settings() {
    let t = clean(&snap(json!([own_node()])), &ctx(vec![]));
    let g = t.tables.gateway.expect("gateway");
    assert_eq!(
        g.pod_subnets,
        vec![pfx("10.244.1.0/24"), pfx("fd00:10:244:1::/64")]
    );
    assert_eq!(
        g.management_ips,
        vec![ip("10.244.1.2"), ip("fd00:10:244:1::2")]
    );
    assert_eq!(g.node_ips, vec![ip("203.0.113.10")]);
    assert_eq!(g.next_hops, vec![ip("203.0.113.1")]);
    assert_eq!(g.vlan, Some(3));
    assert_eq!(g.encap_ip, Some(ip("198.51.100.10")));
    assert_eq!(g.management_port, Some(PortRef::new("pf0vf0")));
    assert_eq!(g.cluster_cidrs, vec![pfx("10.244.0.0/16")]);
    assert_eq!(g.service_cidrs, vec![pfx("10.96.0.0/16")]);
    assert_eq!(
        g.masquerade_subnets,
        vec![pfx("169.254.0.0/17"), pfx("fd69::/112")]
    );
    assert_eq!(g.join_subnets, vec![pfx("100.64.0.0/16"), pfx("fd98::/64")]);
    assert_eq!(g.hairpin_snat, vec![ip("169.254.0.5"), ip("fd69::5")]);
}

#[test]
fn missing_own_node_is_reported_and_leaves_no_gateway() {
    let t = translate(&snap(json!([])), &ctx(vec![]));
    assert!(t.tables.gateway.is_none());
    assert_eq!(t.errors.len(), 1);
    assert!(matches!(t.errors[0].problem, Problem::Missing));
    assert_eq!(t.errors[0].object, HOST);
}

#[test]
fn interconnect_identity_from_cluster_manager_annotations() {
    let ic = |id: &str, transit: &str| {
        json!({
            "k8s.ovn.org/node-subnets": "{\"default\":\"10.244.2.0/24\"}",
            "k8s.ovn.org/node-encap-ips": "[\"198.51.100.11\"]",
            "k8s.ovn.org/node-id": id,
            "k8s.ovn.org/node-transit-switch-port-ifaddr": transit
        })
    };
    let mut own = own_node();
    own["metadata"]["annotations"]["k8s.ovn.org/node-id"] = json!("2");
    own["metadata"]["annotations"]["k8s.ovn.org/node-transit-switch-port-ifaddr"] =
        json!("{\"ipv4\":\"100.88.0.2/16\",\"ipv6\":\"fd97::2/64\"}");
    let s = snap(json!([
        own,
        node("host-b", ic("3", "{\"ipv4\":\"100.88.0.3/16\"}")),
        node("id-too-big", ic("5001", "{\"ipv4\":\"100.88.0.4/16\"}")),
        node(
            "id-not-a-number",
            ic("three", "{\"ipv4\":\"100.88.0.5/16\"}")
        ),
        node("bad-transit", ic("6", "{\"ipv4\":\"100.88.0/16\"}")),
        node(
            "not-interconnect",
            json!({
                "k8s.ovn.org/node-subnets": "{\"default\":\"10.244.8.0/24\"}",
                "k8s.ovn.org/node-encap-ips": "[\"198.51.100.18\"]"
            })
        ),
    ]));
    let t = translate(&s, &ctx(vec![]));
    let b = &t.tables.remote_nodes["host-b"];
    assert_eq!(
        (b.node_id, b.transit_ips.clone()),
        (Some(3), vec![ip("100.88.0.3")])
    );
    let plain = &t.tables.remote_nodes["not-interconnect"];
    assert_eq!((plain.node_id, plain.transit_ips.is_empty()), (None, true));
    let bad: Vec<&str> = t.errors.iter().map(|e| e.object.as_str()).collect();
    assert_eq!(bad, ["id-too-big", "id-not-a-number", "bad-transit"]);
    assert!(
        t.errors[0].to_string().contains("k8s.ovn.org/node-id"),
        "{}",
        t.errors[0]
    );
    let names: Vec<&str> = t.tables.remote_nodes.keys().map(String::as_str).collect();
    assert_eq!(names, ["host-b", "not-interconnect"]);
    let g = t.tables.gateway.expect("gateway");
    assert_eq!(g.node_id, Some(2));
    assert_eq!(g.transit_ips, vec![ip("100.88.0.2"), ip("fd97::2")]);
}
