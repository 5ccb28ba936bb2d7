//! Incremental translation: recompute only the tables a change can touch,
//! and diff only their entries.
//!
//! What each table reads:
//!
//! | table        | snapshot kinds                         | context          |
//! |--------------|----------------------------------------|------------------|
//! | pods         | pods (their views)                     | bindings         |
//! | remote nodes | nodes                                  | node name        |
//! | gateway      | nodes (this node)                      | all but bindings |
//! | services     | each service and its own slices        | node name, IPs   |
//! | policies     | pods (views), namespaces, policies     | bindings         |
//!
//! An EndpointSlice change therefore costs one service's translation, not
//! the cluster's. After any sequence of changes, [`Translator::tables`]
//! equals what [`translate`](super::translate) gives for the final snapshot
//! (the tests check exactly that).

use std::collections::{BTreeMap, BTreeSet};

use dpuflow_tables::{ServiceKey, Tables, Update};

use super::{nodes, pods, policy, services, Snapshot, TranslateContext, TranslateError};

/// What changed in the cluster since the last update; the watches fill it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Any Node.
    pub nodes: bool,
    /// Any Pod (the handshake looks at every pod event).
    pub pods: bool,
    /// A pod whose translated view ([`pod_fingerprint`](super::pod_fingerprint))
    /// changed, or a pod added or deleted: the pod and policy tables.
    pub pod_views: bool,
    /// Any Namespace.
    pub namespaces: bool,
    /// Any NetworkPolicy.
    pub policies: bool,
    /// Every service (a relist of Services or EndpointSlices).
    pub all_services: bool,
    /// Services whose object or EndpointSlices changed.
    pub services: BTreeSet<ServiceKey>,
}

impl Changes {
    /// Everything changed (first pass, periodic resync).
    pub fn everything() -> Self {
        Self {
            nodes: true,
            pods: true,
            pod_views: true,
            namespaces: true,
            policies: true,
            all_services: true,
            services: BTreeSet::new(),
        }
    }

    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Adds `other`'s changes to these.
    pub fn merge(&mut self, other: Changes) {
        self.nodes |= other.nodes;
        self.pods |= other.pods;
        self.pod_views |= other.pod_views;
        self.namespaces |= other.namespaces;
        self.policies |= other.policies;
        self.all_services |= other.all_services;
        self.services.extend(other.services);
    }
}

/// The tables one update recomputes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Work {
    pods: bool,
    nodes: bool,
    policies: bool,
    all_services: bool,
    services: BTreeSet<ServiceKey>,
}

impl Work {
    /// Nothing to recompute.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The snapshot kinds this work reads; the others may be left empty.
    pub fn reads(&self) -> Reads {
        let services = self.all_services || !self.services.is_empty();
        Reads {
            nodes: self.nodes,
            pods: self.pods || self.policies,
            namespaces: self.policies,
            services,
            policies: self.policies,
        }
    }

    fn everything() -> Self {
        Self {
            pods: true,
            nodes: true,
            policies: true,
            all_services: true,
            services: BTreeSet::new(),
        }
    }

    fn add(&mut self, c: &Changes) {
        self.nodes |= c.nodes;
        self.pods |= c.pod_views;
        self.policies |= c.pod_views || c.namespaces || c.policies;
        self.all_services |= c.all_services;
        if !self.all_services {
            self.services.extend(c.services.iter().cloned());
        }
    }
}

/// The snapshot kinds an update reads ([`Work::reads`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reads {
    /// Nodes.
    pub nodes: bool,
    /// Pods.
    pub pods: bool,
    /// Namespaces.
    pub namespaces: bool,
    /// Services and EndpointSlices.
    pub services: bool,
    /// NetworkPolicies.
    pub policies: bool,
}

/// Translation errors by the table that produced them, so a recomputed
/// table replaces only its own.
#[derive(Debug, Default)]
struct Errors {
    nodes: Vec<TranslateError>,
    policies: Vec<TranslateError>,
    services: BTreeMap<ServiceKey, Vec<TranslateError>>,
}

/// The desired tables, kept up to date change by change.
#[derive(Debug)]
pub struct Translator {
    ctx: TranslateContext,
    tables: Tables,
    /// Work owed from context changes, done at the next update.
    owed: Work,
    errors: Errors,
}

impl Default for Translator {
    /// A translator for the default context (set the real one before the
    /// first update).
    fn default() -> Self {
        Self::new(TranslateContext::default())
    }
}

impl Translator {
    /// A translator for `ctx`; its first update computes every table.
    pub fn new(ctx: TranslateContext) -> Self {
        Self {
            ctx,
            tables: Tables::default(),
            owed: Work::everything(),
            errors: Errors::default(),
        }
    }

    /// The tables as of the last update (what the datapath has).
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The context in use.
    pub fn context(&self) -> &TranslateContext {
        &self.ctx
    }

    /// Replaces the context. New bindings owe the pod and policy tables;
    /// any other difference owes everything.
    pub fn set_context(&mut self, ctx: TranslateContext) {
        if ctx == self.ctx {
            return;
        }
        if same_but_bindings(&ctx, &self.ctx) {
            self.owed.pods = true;
            self.owed.policies = true;
        } else {
            self.owed = Work::everything();
        }
        self.ctx = ctx;
    }

    /// The work `changes` (plus what context changes owe) call for.
    pub fn work(&mut self, changes: &Changes) -> Work {
        let mut work = std::mem::take(&mut self.owed);
        work.add(changes);
        work
    }

    /// Every table recomputed (a periodic check against drift).
    pub fn resync_work(&mut self) -> Work {
        self.owed = Work::default();
        Work::everything()
    }

    /// Recomputes what `work` names from `snapshot` (which must hold at
    /// least `work.reads()`) and returns the updates that bring the previous
    /// tables to the new ones, in [`Tables::diff`]'s order.
    pub fn update(&mut self, work: &Work, snapshot: &Snapshot) -> Vec<Update> {
        let mut out = Updates::default();
        let ctx = &self.ctx;
        if work.nodes {
            let mut errors = Vec::new();
            let gateway = nodes::gateway(snapshot, ctx, &mut errors);
            let remote = nodes::remote_nodes(snapshot, ctx, &mut errors);
            self.errors.nodes = errors;
            if self.tables.gateway != gateway {
                out.gateway = Some(Update::SetGateway(gateway.clone().map(Box::new)));
                self.tables.gateway = gateway;
            }
            replace(
                &mut self.tables.remote_nodes,
                remote,
                (&mut out.removals.nodes, &mut out.upserts.nodes),
                Update::RemoveRemoteNode,
                Update::UpsertRemoteNode,
            );
        }
        if work.pods {
            let pods = pods::local_pods(snapshot, ctx);
            replace(
                &mut self.tables.pods,
                pods,
                (&mut out.removals.pods, &mut out.upserts.pods),
                Update::RemovePod,
                Update::UpsertPod,
            );
        }
        self.update_services(work, snapshot, &mut out);
        if work.policies {
            let mut errors = Vec::new();
            let index = pods::PodIndex::build(snapshot, &self.ctx);
            let policies = policy::policies(snapshot, &index, &mut errors);
            self.errors.policies = errors;
            replace(
                &mut self.tables.policies,
                policies,
                (&mut out.removals.policies, &mut out.upserts.policies),
                Update::RemovePolicy,
                Update::UpsertPolicy,
            );
        }
        out.into_vec()
    }

    fn update_services(&mut self, work: &Work, snapshot: &Snapshot, out: &mut Updates) {
        let keys = if work.all_services {
            // Every current service, and every one the datapath still has.
            let mut keys: BTreeSet<ServiceKey> = self.tables.services.keys().cloned().collect();
            keys.extend(snapshot.services.iter().filter_map(|s| {
                let m = &s.metadata;
                Some(ServiceKey::new(m.namespace.clone()?, m.name.clone()?))
            }));
            self.errors.services.clear();
            keys
        } else {
            work.services.clone()
        };
        if keys.is_empty() {
            return;
        }
        for (key, new, errors) in services::some_services(snapshot, &keys, &self.ctx) {
            if errors.is_empty() {
                self.errors.services.remove(&key);
            } else {
                self.errors.services.insert(key.clone(), errors);
            }
            match new {
                Some(s) if self.tables.services.get(&key) != Some(&s) => {
                    out.upserts
                        .services
                        .push(Update::UpsertService(key.clone(), s.clone()));
                    self.tables.services.insert(key, s);
                }
                Some(_) => {}
                None => {
                    if self.tables.services.remove(&key).is_some() {
                        out.removals.services.push(Update::RemoveService(key));
                    }
                }
            }
        }
    }

    /// Every translation problem of the current tables.
    pub fn errors(&self) -> impl Iterator<Item = &TranslateError> {
        let e = &self.errors;
        e.nodes
            .iter()
            .chain(e.policies.iter())
            .chain(e.services.values().flatten())
    }

    /// How many problems [`Translator::errors`] holds.
    pub fn error_count(&self) -> usize {
        let e = &self.errors;
        e.nodes.len() + e.policies.len() + e.services.values().map(Vec::len).sum::<usize>()
    }
}

/// Whether two contexts differ at most in their bindings (destructured so
/// that a new field cannot be forgotten here).
fn same_but_bindings(a: &TranslateContext, b: &TranslateContext) -> bool {
    let TranslateContext {
        node_name,
        cluster_cidrs,
        service_cidrs,
        node_ips,
        bindings: _,
        gateway,
    } = a;
    *node_name == b.node_name
        && *cluster_cidrs == b.cluster_cidrs
        && *service_cidrs == b.service_cidrs
        && *node_ips == b.node_ips
        && *gateway == b.gateway
}

/// Updates of one pass, per table, put in [`Tables::diff`]'s order at the
/// end: gateway, removals (policies, services, pods, nodes), upserts
/// (nodes, pods, services, policies).
#[derive(Default)]
struct Updates {
    gateway: Option<Update>,
    removals: PerTable,
    upserts: PerTable,
}

#[derive(Default)]
struct PerTable {
    policies: Vec<Update>,
    services: Vec<Update>,
    pods: Vec<Update>,
    nodes: Vec<Update>,
}

impl Updates {
    fn into_vec(self) -> Vec<Update> {
        let (r, u) = (self.removals, self.upserts);
        self.gateway
            .into_iter()
            .chain(r.policies)
            .chain(r.services)
            .chain(r.pods)
            .chain(r.nodes)
            .chain(u.nodes)
            .chain(u.pods)
            .chain(u.services)
            .chain(u.policies)
            .collect()
    }
}

/// Replaces `old` by `new`, pushing the removals and upserts in between.
fn replace<K: Ord + Clone, V: PartialEq + Clone>(
    old: &mut BTreeMap<K, V>,
    new: BTreeMap<K, V>,
    (removals, upserts): (&mut Vec<Update>, &mut Vec<Update>),
    remove: impl Fn(K) -> Update,
    upsert: impl Fn(K, V) -> Update,
) {
    removals.extend(
        old.keys()
            .filter(|k| !new.contains_key(k))
            .map(|k| remove(k.clone())),
    );
    upserts.extend(
        new.iter()
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, v)| upsert(k.clone(), v.clone())),
    );
    *old = new;
}
