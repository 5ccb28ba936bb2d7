//! The datapath's desired state, and the updates that carry it.
//!
//! The control plane translates the cluster into a [`Tables`] value, diffs
//! it against the previous one with [`Tables::diff`], and sends the
//! resulting [`Update`]s over a channel. Every update is a self-contained,
//! owned value: the datapath thread keeps its own `Tables` copy and, between
//! two bursts, drains the channel and [`Tables::apply`]s each batch in full
//! before it rebuilds its lookup structures. Nothing is shared between the
//! threads (no `Arc<Mutex<_>>`), so the poll loop never takes a lock.
//!
//! `old.apply_all(Tables::diff(&old, &new))` yields exactly `new`.
//!
//! There is no Kubernetes here: keys are opaque strings, pods are
//! addresses on representor ports, policies are address and port sets.

mod gateway;
mod node;
mod pod;
mod policy;
mod prefix;
mod service;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use gateway::Gateway;
pub use node::RemoteNode;
pub use pod::{EndpointId, LocalPod, PodKey, PortRef};
pub use policy::{AllowRule, DirectionBuilder, DirectionPolicy, Peers, Policy, PortRange, Ports};
pub use prefix::{Prefix, PrefixError, PrefixSet};
pub use service::{Backend, Protocol, Service, ServiceKey, ServicePort};

/// The whole desired state of the datapath.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tables {
    /// Pod interfaces wired on this DPU.
    pub pods: BTreeMap<PodKey, LocalPod>,
    /// Other nodes, by node name.
    pub remote_nodes: BTreeMap<String, RemoteNode>,
    /// Services with at least one frontend.
    pub services: BTreeMap<ServiceKey, Service>,
    /// Policies of isolated local pods.
    pub policies: BTreeMap<PodKey, Policy>,
    /// This node's gateway, once the node is known.
    pub gateway: Option<Gateway>,
}

/// One change to [`Tables`]. Upserts carry the complete new entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// Add or replace a local pod interface.
    UpsertPod(PodKey, LocalPod),
    /// Remove a local pod interface.
    RemovePod(PodKey),
    /// Add or replace a remote node.
    UpsertRemoteNode(String, RemoteNode),
    /// Remove a remote node.
    RemoveRemoteNode(String),
    /// Add or replace a service.
    UpsertService(ServiceKey, Service),
    /// Remove a service.
    RemoveService(ServiceKey),
    /// Add or replace a pod's policy.
    UpsertPolicy(PodKey, Policy),
    /// Remove a pod's policy (the pod is no longer isolated).
    RemovePolicy(PodKey),
    /// Set or clear the gateway.
    SetGateway(Option<Box<Gateway>>),
}

impl Tables {
    /// The updates that turn `old` into `new`: only changed entries.
    ///
    /// Order: gateway, then removals (policies before pods), then upserts
    /// (pods before their policies). The datapath applies a batch in full,
    /// so the order only matters to readers of logs.
    pub fn diff(old: &Tables, new: &Tables) -> Vec<Update> {
        let mut out = Vec::new();
        if old.gateway != new.gateway {
            out.push(Update::SetGateway(new.gateway.clone().map(Box::new)));
        }
        removed(&old.policies, &new.policies, &mut out, Update::RemovePolicy);
        removed(
            &old.services,
            &new.services,
            &mut out,
            Update::RemoveService,
        );
        removed(&old.pods, &new.pods, &mut out, Update::RemovePod);
        removed(
            &old.remote_nodes,
            &new.remote_nodes,
            &mut out,
            Update::RemoveRemoteNode,
        );
        changed(
            &old.remote_nodes,
            &new.remote_nodes,
            &mut out,
            Update::UpsertRemoteNode,
        );
        changed(&old.pods, &new.pods, &mut out, Update::UpsertPod);
        changed(
            &old.services,
            &new.services,
            &mut out,
            Update::UpsertService,
        );
        changed(&old.policies, &new.policies, &mut out, Update::UpsertPolicy);
        out
    }

    /// Applies one update.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::UpsertPod(k, v) => {
                self.pods.insert(k, v);
            }
            Update::RemovePod(k) => {
                self.pods.remove(&k);
            }
            Update::UpsertRemoteNode(k, v) => {
                self.remote_nodes.insert(k, v);
            }
            Update::RemoveRemoteNode(k) => {
                self.remote_nodes.remove(&k);
            }
            Update::UpsertService(k, v) => {
                self.services.insert(k, v);
            }
            Update::RemoveService(k) => {
                self.services.remove(&k);
            }
            Update::UpsertPolicy(k, v) => {
                self.policies.insert(k, v);
            }
            Update::RemovePolicy(k) => {
                self.policies.remove(&k);
            }
            Update::SetGateway(g) => self.gateway = g.map(|g| *g),
        }
    }

    /// Applies a batch of updates in order.
    pub fn apply_all(&mut self, updates: impl IntoIterator<Item = Update>) {
        for update in updates {
            self.apply(update);
        }
    }
}

/// Pushes a removal for every key of `old` missing from `new`.
fn removed<K: Ord + Clone, V>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
    out: &mut Vec<Update>,
    make: impl Fn(K) -> Update,
) {
    out.extend(
        old.keys()
            .filter(|k| !new.contains_key(k))
            .map(|k| make(k.clone())),
    );
}

/// Pushes an upsert for every entry of `new` that is new or differs.
fn changed<K: Ord + Clone, V: PartialEq + Clone>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
    out: &mut Vec<Update>,
    make: impl Fn(K, V) -> Update,
) {
    out.extend(
        new.iter()
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, v)| make(k.clone(), v.clone())),
    );
}
