//! Translations feed `Tables::diff`: a change yields only its own update.

use dpuflow_tables::{PodKey, ServiceKey, Tables, Update};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};

use super::cluster::{cluster, cluster_ctx};
use super::*;

fn new_endpoint(addr: &str, node: &str) -> Endpoint {
    Endpoint {
        addresses: vec![addr.into()],
        conditions: Some(EndpointConditions {
            ready: Some(true),
            serving: Some(true),
            terminating: Some(false),
        }),
        node_name: Some(node.into()),
        ..Default::default()
    }
}

#[test]
fn changed_endpoint_slice_yields_one_service_upsert() {
    let before = cluster();
    let mut after = before.clone();
    std::sync::Arc::make_mut(&mut after.endpoint_slices[0])
        .endpoints
        .get_or_insert_with(Vec::new)
        .push(new_endpoint("10.244.2.13", "host-b"));
    let ctx = cluster_ctx();
    let old = clean(&before, &ctx).tables;
    let new = clean(&after, &ctx).tables;
    let updates = Tables::diff(&old, &new);
    let [Update::UpsertService(key, svc)] = updates.as_slice() else {
        panic!("expected exactly one UpsertService, got {updates:#?}");
    };
    assert_eq!(key, &ServiceKey::new("shop", "cart"));
    assert_eq!(svc.ports[0].backends.len(), 3);
    let mut applied = old.clone();
    applied.apply_all(updates);
    assert_eq!(applied, new);
}

#[test]
fn reordered_objects_and_endpoints_change_nothing() {
    let before = cluster();
    let mut after = before.clone();
    after.nodes.reverse();
    after.pods.reverse();
    after.namespaces.reverse();
    if let Some(eps) = std::sync::Arc::make_mut(&mut after.endpoint_slices[0])
        .endpoints
        .as_mut()
    {
        eps.reverse();
    }
    let ctx = cluster_ctx();
    let updates = Tables::diff(&clean(&before, &ctx).tables, &clean(&after, &ctx).tables);
    assert!(updates.is_empty(), "{updates:#?}");
}

#[test]
fn unbinding_a_pod_removes_it_and_its_policy() {
    let s = cluster();
    let old = clean(&s, &cluster_ctx()).tables;
    let new = clean(&s, &ctx(vec![])).tables;
    let cart = PodKey::primary("shop", "cart-7d9f8b6c5d-x2x7q");
    assert_eq!(
        Tables::diff(&old, &new),
        vec![Update::RemovePolicy(cart.clone()), Update::RemovePod(cart)]
    );
}

#[test]
fn a_peer_pod_ip_change_updates_only_the_policy() {
    let before = cluster();
    let mut after = before.clone();
    let nginx = after
        .pods
        .iter_mut()
        .find(|p| p.metadata.name.as_deref() == Some("nginx-ingress-6f7c9d-abcde"))
        .expect("nginx pod");
    let status = std::sync::Arc::make_mut(nginx)
        .status
        .as_mut()
        .expect("status");
    status.pod_ip = Some("10.244.2.21".into());
    status.pod_ips = Some(vec![k8s_openapi::api::core::v1::PodIP {
        ip: "10.244.2.21".into(),
    }]);
    let ctx = cluster_ctx();
    let updates = Tables::diff(&clean(&before, &ctx).tables, &clean(&after, &ctx).tables);
    let [Update::UpsertPolicy(key, policy)] = updates.as_slice() else {
        panic!("{updates:#?}");
    };
    assert_eq!(key.name, "cart-7d9f8b6c5d-x2x7q");
    assert!(policy
        .ingress
        .allows(ip("10.244.2.21"), dpuflow_tables::Protocol::Tcp, 8080));
}
