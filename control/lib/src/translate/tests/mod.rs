//! Translation tests on Kubernetes object JSON as the API server returns it.
//!
//! Each test writes its objects as a JSON list (`apiVersion`/`kind` set),
//! [`snap`] deserialises them into k8s-openapi types, and the translation
//! is checked against hand-derived tables.

mod cluster;
mod diff;
mod incremental;
mod nodes;
mod policy;
mod services;

use std::net::IpAddr;
use std::sync::Arc;

use dpuflow_net::MacAddr;
use dpuflow_tables::{EndpointId, PortRef, Prefix};
use serde_json::{json, Value};

use super::{translate, PodBinding, Snapshot, TranslateContext, Translation};

/// This DPU's host node in every test.
pub(super) const HOST: &str = "host-a";

/// Deserialises a list of objects (by `kind`) into a snapshot.
pub(super) fn snap(items: Value) -> Snapshot {
    let mut s = Snapshot::default();
    let Value::Array(items) = items else {
        panic!("snap() wants a JSON array");
    };
    for item in items {
        let kind = item["kind"].as_str().expect("kind").to_owned();
        let msg = format!("{kind} {}", item["metadata"]["name"]);
        match kind.as_str() {
            "Node" => s
                .nodes
                .push(Arc::new(serde_json::from_value(item).expect(&msg))),
            "Pod" => s
                .pods
                .push(Arc::new(serde_json::from_value(item).expect(&msg))),
            "Namespace" => s
                .namespaces
                .push(Arc::new(serde_json::from_value(item).expect(&msg))),
            "Service" => s
                .services
                .push(Arc::new(serde_json::from_value(item).expect(&msg))),
            "EndpointSlice" => s
                .endpoint_slices
                .push(Arc::new(serde_json::from_value(item).expect(&msg))),
            "NetworkPolicy" => s
                .network_policies
                .push(Arc::new(serde_json::from_value(item).expect(&msg))),
            other => panic!("unexpected kind {other}"),
        }
    }
    s
}

/// A context for [`HOST`] with `bindings`.
pub(super) fn ctx(bindings: Vec<PodBinding>) -> TranslateContext {
    TranslateContext {
        node_name: HOST.into(),
        cluster_cidrs: vec!["10.244.0.0/16".parse().expect("cidr")],
        service_cidrs: vec!["10.96.0.0/16".parse().expect("cidr")],
        node_ips: vec![ip("203.0.113.10")],
        bindings,
        gateway: super::GatewaySettings {
            next_hops: vec![ip("203.0.113.1")],
            vlan: Some(3),
            host_pf_mac: Some(MacAddr([0x0c, 0x42, 0xa1, 0, 0, 1])),
            encap_ip: Some(ip("198.51.100.10")),
            management_port: Some(PortRef::new("pf0vf0")),
            ..Default::default()
        },
    }
}

/// A primary-network binding for pod `uid` on VF `vf` with `ips`.
pub(super) fn binding(uid: &str, vf: u32, ips: &[&str]) -> PodBinding {
    PodBinding {
        pod_uid: uid.into(),
        network: "default".into(),
        port: PortRef::new(format!("pf0vf{vf}")),
        ips: ips.iter().map(|s| s.parse().expect("cidr")).collect(),
        mac: MacAddr([0x0a, 0x58, 10, 244, 1, u8::try_from(vf).expect("vf")]),
        endpoint: EndpointId(vf),
    }
}

/// Translates and asserts that nothing was reported, except the missing
/// own Node in tests whose snapshot has no nodes at all.
pub(super) fn clean(snapshot: &Snapshot, ctx: &TranslateContext) -> Translation {
    let t = translate(snapshot, ctx);
    let nodeless = snapshot.nodes.is_empty();
    let unexpected: Vec<_> = t
        .errors
        .iter()
        .filter(|e| !(nodeless && matches!(e.problem, super::error::Problem::Missing)))
        .collect();
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:#?}");
    t
}

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

pub(super) fn pfx(s: &str) -> Prefix {
    let (a, l) = s.split_once('/').expect("cidr");
    Prefix::new(ip(a), l.parse().expect("len")).expect("prefix")
}

/// A pod as the API returns it: `ips` become `status.podIPs`, `ports` are
/// `(name, number, protocol)` container ports.
pub(super) fn pod(
    ns: &str,
    name: &str,
    node: &str,
    labels: Value,
    ips: &[&str],
    ports: &[(&str, i32, &str)],
) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(n, p, proto)| json!({"name": n, "containerPort": p, "protocol": proto}))
        .collect();
    let pod_ips: Vec<Value> = ips.iter().map(|i| json!({"ip": i})).collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": format!("uid-{ns}-{name}"),
            "labels": labels,
            "annotations": {
                "k8s.ovn.org/dpu.connection-details":
                    "{\"default\":{\"pfId\":\"0\",\"vfId\":\"3\",\"sandboxId\":\"abc\",\"vfNetdevName\":\"ens1f0v3\"}}"
            }
        },
        "spec": {
            "nodeName": node,
            "containers": [{"name": "main", "image": "registry.example/app:1", "ports": ports}]
        },
        "status": {
            "phase": "Running",
            "podIP": ips.first(),
            "podIPs": pod_ips
        }
    })
}

/// A namespace with `labels` (plus the automatic name label).
pub(super) fn namespace(name: &str, labels: Value) -> Value {
    let mut labels = labels;
    labels["kubernetes.io/metadata.name"] = json!(name);
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "uid": format!("uid-ns-{name}"), "labels": labels},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    })
}
