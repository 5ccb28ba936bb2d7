//! The incremental translator agrees with a full translation after every
//! change, reads only what its work says, and sends only what changed.

use std::sync::Arc;

use dpuflow_tables::{ServiceKey, Tables, Update};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::cluster::{cluster, cluster_ctx};
use super::*;
use crate::translate::{Changes, Reads, Translator};

/// The snapshot with every kind `reads` does not name emptied: a
/// translator that reads more than it declares gets a wrong answer.
fn only(s: &Snapshot, reads: Reads) -> Snapshot {
    fn keep<T: Clone>(on: bool, v: &[T]) -> Vec<T> {
        if on {
            v.to_vec()
        } else {
            Vec::new()
        }
    }
    Snapshot {
        nodes: keep(reads.nodes, &s.nodes),
        pods: keep(reads.pods, &s.pods),
        namespaces: keep(reads.namespaces, &s.namespaces),
        services: keep(reads.services, &s.services),
        endpoint_slices: keep(reads.services, &s.endpoint_slices),
        network_policies: keep(reads.policies, &s.network_policies),
    }
}

/// A translator driven change by change, and the datapath's copy of the
/// tables built only from the updates it sent.
struct Driven {
    tr: Translator,
    datapath: Tables,
}

impl Driven {
    fn start(snapshot: &Snapshot, ctx: TranslateContext) -> Self {
        let mut d = Self {
            tr: Translator::new(ctx),
            datapath: Tables::default(),
        };
        d.step(snapshot, &Changes::default());
        d
    }

    /// Applies `changes`; checks against a full translation; returns the
    /// updates sent.
    fn step(&mut self, snapshot: &Snapshot, changes: &Changes) -> Vec<Update> {
        let work = self.tr.work(changes);
        let updates = self.tr.update(&work, &only(snapshot, work.reads()));
        self.datapath.apply_all(updates.clone());
        let full = translate(snapshot, self.tr.context());
        // On failure, show only what differs.
        let off = Tables::diff(&full.tables, self.tr.tables());
        assert!(off.is_empty(), "translator vs translate: {off:#?}");
        let off = Tables::diff(&full.tables, &self.datapath);
        assert!(off.is_empty(), "datapath copy vs translate: {off:#?}");
        assert_eq!(
            self.tr.error_count(),
            full.errors.len(),
            "{:#?}",
            full.errors
        );
        updates
    }
}

fn services(keys: &[(&str, &str)]) -> Changes {
    Changes {
        services: keys
            .iter()
            .map(|(ns, n)| ServiceKey::new(*ns, *n))
            .collect(),
        ..Changes::default()
    }
}

fn slice_mut(s: &mut Snapshot) -> &mut EndpointSlice {
    Arc::make_mut(&mut s.endpoint_slices[0])
}

fn service_mut(s: &mut Snapshot) -> &mut Service {
    Arc::make_mut(&mut s.services[0])
}

#[test]
fn an_endpoint_slice_change_recomputes_one_service_and_sends_one_upsert() {
    let mut s = cluster();
    let mut d = Driven::start(&s, cluster_ctx());
    if let Some(eps) = slice_mut(&mut s).endpoints.as_mut() {
        eps.truncate(1);
    }
    let changes = services(&[("shop", "cart")]);
    let work = d.tr.work(&changes);
    let r = work.reads();
    assert!(r.services && !r.pods && !r.nodes && !r.namespaces && !r.policies);
    let updates = d.tr.update(&work, &only(&s, r));
    let [Update::UpsertService(key, svc)] = updates.as_slice() else {
        panic!("expected one UpsertService, got {updates:#?}");
    };
    assert_eq!(key, &ServiceKey::new("shop", "cart"));
    assert_eq!(svc.ports[0].backends.len(), 1);
    d.datapath.apply_all(updates);
    assert_eq!(d.datapath, translate(&s, &cluster_ctx()).tables);
}

#[test]
fn services_appear_change_and_disappear() {
    let mut s = cluster();
    let mut d = Driven::start(&s, cluster_ctx());
    // A second service with a slice, in another namespace.
    let mut web = (*s.services[0]).clone();
    web.metadata.namespace = Some("ingress".into());
    web.metadata.name = Some("web".into());
    if let Some(spec) = web.spec.as_mut() {
        spec.cluster_ip = Some("10.96.0.80".into());
        spec.cluster_ips = Some(vec!["10.96.0.80".into()]);
    }
    let mut web_slice = (*s.endpoint_slices[0]).clone();
    web_slice.metadata.namespace = Some("ingress".into());
    web_slice.metadata.name = Some("web-1".into());
    web_slice
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("kubernetes.io/service-name".into(), "web".into());
    s.services.push(Arc::new(web));
    s.endpoint_slices.push(Arc::new(web_slice));
    let up = d.step(&s, &services(&[("ingress", "web")]));
    assert!(matches!(up.as_slice(), [Update::UpsertService(k, _)] if k.name == "web"));
    // The slice moves to the other service: both are named.
    Arc::make_mut(&mut s.endpoint_slices[1])
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("kubernetes.io/service-name".into(), "gone".into());
    d.step(&s, &services(&[("ingress", "web"), ("ingress", "gone")]));
    // A service turned headless without node ports loses its frontend.
    if let Some(spec) = service_mut(&mut s).spec.as_mut() {
        spec.cluster_ip = Some("None".into());
        spec.cluster_ips = Some(vec!["None".into()]);
        spec.type_ = Some("ClusterIP".into());
    }
    let up = d.step(&s, &services(&[("shop", "cart")]));
    assert!(matches!(up.as_slice(), [Update::RemoveService(k)] if k.name == "cart"));
    // Deleted outright, with its slice.
    s.services.remove(0);
    s.endpoint_slices.remove(0);
    d.step(&s, &services(&[("shop", "cart")]));
    // A malformed service is reported against itself, and forgotten with it.
    let mut bad = (*s.services[0]).clone();
    bad.metadata.name = Some("bad".into());
    if let Some(spec) = bad.spec.as_mut() {
        spec.cluster_ips = Some(vec!["10.96.0.999".into()]);
    }
    s.services.push(Arc::new(bad));
    d.step(&s, &services(&[("ingress", "bad")]));
    assert_eq!(d.tr.error_count(), 1);
    s.services.pop();
    d.step(&s, &services(&[("ingress", "bad")]));
    assert_eq!(d.tr.error_count(), 0);
    // A relist of services recomputes them all, including removals.
    s.services.clear();
    let relist = Changes {
        all_services: true,
        ..Changes::default()
    };
    d.step(&s, &relist);
    assert!(d.datapath.services.is_empty());
}

#[test]
fn pods_namespaces_policies_and_nodes_recompute_their_tables() {
    let mut s = cluster();
    let mut d = Driven::start(&s, cluster_ctx());
    // The peer namespace's labels change, and change back.
    let ns = s
        .namespaces
        .iter()
        .position(|n| n.metadata.name.as_deref() == Some("ingress"))
        .expect("ingress namespace");
    let namespaces = Changes {
        namespaces: true,
        ..Changes::default()
    };
    for name in ["renamed", "ingress"] {
        Arc::make_mut(&mut s.namespaces[ns])
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("kubernetes.io/metadata.name".into(), name.into());
        let up = d.step(&s, &namespaces);
        assert!(
            matches!(up.as_slice(), [Update::UpsertPolicy(..)]),
            "{up:#?}"
        );
    }
    // The peer pod's labels change.
    let ingress = s
        .pods
        .iter()
        .position(|p| p.metadata.namespace.as_deref() == Some("ingress"))
        .expect("ingress pod");
    Arc::make_mut(&mut s.pods[ingress])
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("app.kubernetes.io/name".into(), "other".into());
    let pods = Changes {
        pods: true,
        pod_views: true,
        ..Changes::default()
    };
    let up = d.step(&s, &pods);
    assert!(
        matches!(up.as_slice(), [Update::UpsertPolicy(..)]),
        "{up:#?}"
    );
    // The policy goes away: the pod is no longer isolated.
    s.network_policies.clear();
    let policies = Changes {
        policies: true,
        ..Changes::default()
    };
    let up = d.step(&s, &policies);
    assert!(
        matches!(up.as_slice(), [Update::RemovePolicy(_)]),
        "{up:#?}"
    );
    // A remote node's tunnel endpoint moves.
    let b = s
        .nodes
        .iter()
        .position(|n| n.metadata.name.as_deref() == Some("host-b"))
        .expect("host-b");
    Arc::make_mut(&mut s.nodes[b])
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            "k8s.ovn.org/node-encap-ips".into(),
            "[\"198.51.100.99\"]".into(),
        );
    let nodes = Changes {
        nodes: true,
        ..Changes::default()
    };
    let up = d.step(&s, &nodes);
    assert!(matches!(up.as_slice(), [Update::UpsertRemoteNode(n, _)] if n == "host-b"));
    // The pod goes away.
    s.pods
        .retain(|p| p.metadata.namespace.as_deref() != Some("shop"));
    d.step(&s, &pods);
    assert!(d.datapath.pods.is_empty());
}

#[test]
fn context_changes_owe_what_they_touch() {
    let s = cluster();
    let mut d = Driven::start(&s, cluster_ctx());
    // Same context: nothing owed.
    d.tr.set_context(cluster_ctx());
    assert!(d.tr.work(&Changes::default()).is_empty());
    // Bindings: pods and policies, not services.
    let mut ctx = cluster_ctx();
    ctx.bindings.clear();
    d.tr.set_context(ctx.clone());
    let work = d.tr.work(&Changes::default());
    let r = work.reads();
    assert!(r.pods && r.policies && !r.services && !r.nodes);
    let updates = d.tr.update(&work, &only(&s, r));
    d.datapath.apply_all(updates);
    assert_eq!(d.datapath, translate(&s, &ctx).tables);
    // Node IPs: everything (node ports, gateway).
    ctx.node_ips = vec![ip("203.0.113.77")];
    d.tr.set_context(ctx.clone());
    let r = d.tr.work(&Changes::default()).reads();
    assert!(r.pods && r.policies && r.services && r.nodes);
}

#[test]
fn changes_merge_and_report_emptiness() {
    let mut a = Changes::default();
    assert!(a.is_empty());
    a.merge(services(&[("shop", "cart")]));
    a.merge(Changes {
        pods: true,
        ..Changes::default()
    });
    assert!(a.pods && a.services.len() == 1 && !a.is_empty());
    assert!(!Changes::everything().is_empty());
}

#[test]
fn many_services_at_once_take_the_hashed_path_and_agree() {
    let mut s = cluster();
    let mut d = Driven::start(&s, cluster_ctx());
    let (svc, slice) = ((*s.services[0]).clone(), (*s.endpoint_slices[0]).clone());
    let mut names = Vec::new();
    for i in 0..40 {
        let name = format!("cart-{i}");
        let mut v = svc.clone();
        v.metadata.name = Some(name.clone());
        if let Some(spec) = v.spec.as_mut() {
            spec.cluster_ip = Some(format!("10.96.1.{i}"));
            spec.cluster_ips = Some(vec![format!("10.96.1.{i}")]);
        }
        let mut l = slice.clone();
        l.metadata.name = Some(format!("{name}-x"));
        l.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("kubernetes.io/service-name".into(), name.clone());
        s.services.push(Arc::new(v));
        s.endpoint_slices.push(Arc::new(l));
        names.push(name);
    }
    let keys: Vec<(&str, &str)> = names.iter().map(|n| ("shop", n.as_str())).collect();
    let up = d.step(&s, &services(&keys));
    assert_eq!(up.len(), 40);
    // Half of them lose their slice: named, hashed, recomputed.
    s.endpoint_slices.retain(|l| {
        let n = l.metadata.name.as_deref().unwrap_or("");
        !(n.ends_with("-x") && n.len() % 2 == 0)
    });
    let up = d.step(&s, &services(&keys));
    // cart-0-x .. cart-9-x (even length) went: ten services lost backends.
    assert_eq!(up.len(), 10, "{up:#?}");
}

#[test]
fn pod_events_outside_the_view_cost_nothing() {
    use crate::translate::pod_fingerprint;
    use k8s_openapi::api::core::v1::PodCondition;
    let mut s = cluster();
    let mut d = Driven::start(&s, cluster_ctx());
    let before = pod_fingerprint(&s.pods[0]);
    // A condition flips: not something translation reads.
    Arc::make_mut(&mut s.pods[0])
        .status
        .get_or_insert_with(Default::default)
        .conditions
        .get_or_insert_with(Vec::new)
        .push(PodCondition {
            type_: "Ready".into(),
            status: "False".into(),
            ..Default::default()
        });
    assert_eq!(pod_fingerprint(&s.pods[0]), before);
    let handshake_only = Changes {
        pods: true,
        ..Changes::default()
    };
    assert!(d.tr.work(&handshake_only).is_empty());
    d.step(&s, &handshake_only);
    // Labels, addresses, named ports and phase are in the view.
    let mut labelled = (*s.pods[0]).clone();
    labelled
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("tier".into(), "gold".into());
    assert_ne!(pod_fingerprint(&labelled), before);
    let mut moved = (*s.pods[0]).clone();
    if let Some(st) = moved.status.as_mut() {
        st.pod_ips = Some(vec![k8s_openapi::api::core::v1::PodIP {
            ip: "10.244.1.99".into(),
        }]);
    }
    assert_ne!(pod_fingerprint(&moved), before);
    let mut finished = (*s.pods[0]).clone();
    if let Some(st) = finished.status.as_mut() {
        st.phase = Some("Succeeded".into());
    }
    assert_ne!(pod_fingerprint(&finished), before);
    let mut renamed_port = (*s.pods[0]).clone();
    if let Some(p) = renamed_port
        .spec
        .as_mut()
        .and_then(|sp| sp.containers.first_mut())
        .and_then(|c| c.ports.as_mut())
        .and_then(|ps| ps.first_mut())
    {
        p.name = Some("other".into());
    }
    assert_ne!(pod_fingerprint(&renamed_port), before);
}
