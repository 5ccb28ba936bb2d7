//! The running control plane: watch the host cluster, speak the DPU
//! protocol for this DPU's host node, and send the datapath only what
//! changed.
//!
//! One pass, run after every burst of watch events (and at least every
//! second), does only what the burst touched: node subnets → IPAM and this
//! node's annotations (node events, and every second for retries); the pod
//! handshake (pod events, and every second while a pod is unsettled):
//! pod-networks first, then the bindings to the datapath, then Ready;
//! incremental translation of the changed objects into updates against the
//! tables the datapath already has (a full resync every few minutes checks
//! it). The datapath receives `Vec<Update>` batches over a crossbeam
//! channel and applies each between bursts.

pub mod lease;
pub mod metrics;
pub mod node;
pub mod pods;
pub mod representor;
pub mod stores;

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use dpuflow_tables::{PortRef, Update};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client, ResourceExt};

use crate::config::Config;
use crate::protocol::mac::MacAddr;
use crate::protocol::node::MgmtPorts;
use crate::protocol::node_subnets::NodeSubnets;
use crate::protocol::representor::VfRepresentor;
use crate::protocol::{keys, DEFAULT_NETWORK};
use crate::translate::{Changes, GatewaySettings, TranslateContext, Translator};

use self::metrics::{now_secs, Health, Metrics};
use self::pods::{Handshake, PodWrite};
use self::representor::Representors;
use self::stores::Stores;

/// Pod annotation writes in flight at once (a burst of new pods must not
/// wait for one round trip per pod).
const WRITES_IN_FLIGHT: usize = 16;

/// How often an idle agent recomputes every table from scratch, to catch
/// (and count) any drift of the incremental translation.
const RESYNC_EVERY: Duration = Duration::from_secs(300);

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Discovery against the host cluster failed.
    #[error("host cluster API: {0}")]
    Api(#[from] kube::Error),
    /// The credentials lack a right the agent needs.
    #[error("the host cluster token may not {verb} {resource}: {message} (the ovnkube-node service account's rights are needed)")]
    Forbidden {
        /// The verb refused.
        verb: &'static str,
        /// The resource.
        resource: &'static str,
        /// The API server's message.
        message: String,
    },
    /// The datapath side of the update channel is gone.
    #[error("the datapath stopped receiving updates")]
    DatapathGone,
}

/// Everything the agent needs besides the cluster.
pub struct Agent {
    client: Client,
    config: Arc<Config>,
    updates: Sender<Vec<Update>>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    host_pf_mac: Option<MacAddr>,
    sysfs: std::path::PathBuf,
}

impl Agent {
    /// An agent acting for `config.node.host_k8s_nodename`, sending table
    /// updates on `updates`.
    pub fn new(
        client: Client,
        config: Arc<Config>,
        updates: Sender<Vec<Update>>,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
    ) -> Self {
        Self {
            client,
            config,
            updates,
            metrics,
            health,
            host_pf_mac: None,
            sysfs: "/sys/class/net".into(),
        }
    }

    /// The host PF representor's MAC (the gateway MAC in l3-gateway-config).
    pub fn with_host_pf_mac(mut self, mac: MacAddr) -> Self {
        self.host_pf_mac = Some(mac);
        self
    }

    /// Where representor netdevs are looked up (default `/sys/class/net`).
    pub fn with_sysfs(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.sysfs = dir.into();
        self
    }

    /// Runs until `shutdown` resolves.
    ///
    /// # Errors
    /// [`AgentError`] when discovery fails or the datapath goes away.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), AgentError> {
        self.preflight().await?;
        let (stores, tasks) = stores::start(&self.client).await?;
        let result = self.run_with(&stores, shutdown).await;
        for t in tasks {
            t.abort();
        }
        result
    }

    async fn run_with(
        &self,
        stores: &Stores,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), AgentError> {
        stores.wait_until_ready().await;
        self.health.synced.store(true, Ordering::Relaxed);
        self.metrics.stores_synced.set(1);
        let lease = tokio::spawn(lease_loop(
            self.client.clone(),
            self.node_name().to_string(),
            self.metrics.clone(),
            self.health.clone(),
        ));
        let mut state = PassState {
            handshake: Handshake::new(
                Representors::new(self.config.datapath.vf_representors.clone(), &self.sysfs),
                self.config.network.pod_routing(),
            ),
            translator: Translator::default(),
            bindings_seen: None,
            carried: Changes::everything(),
            last_resync: Instant::now(),
            restored: false,
            node_missing: false,
            node_version: None,
        };
        let mut shutdown = std::pin::pin!(shutdown);
        let mut tick = true;
        let result = loop {
            if let Err(e) = self.pass(stores, &mut state, tick).await {
                break Err(e);
            }
            tick = tokio::select! {
                _ = stores.changed.notified() => false,
                _ = tokio::time::sleep(Duration::from_secs(1)) => true,
                _ = &mut shutdown => break Ok(()),
            };
        };
        lease.abort();
        result
    }

    /// Lists each watched resource once, so missing rights are one clear
    /// error instead of watches retrying forever.
    async fn preflight(&self) -> Result<(), AgentError> {
        use k8s_openapi::api::core::v1::{Namespace, Service};
        use k8s_openapi::api::networking::v1::NetworkPolicy;
        let c = &self.client;
        check(
            "list",
            "nodes",
            Api::<Node>::all(c.clone()).list_metadata(&lp()).await,
        )?;
        check(
            "list",
            "pods",
            Api::<Pod>::all(c.clone()).list_metadata(&lp()).await,
        )?;
        check(
            "list",
            "namespaces",
            Api::<Namespace>::all(c.clone()).list_metadata(&lp()).await,
        )?;
        check(
            "list",
            "services",
            Api::<Service>::all(c.clone()).list_metadata(&lp()).await,
        )?;
        check(
            "list",
            "networkpolicies",
            Api::<NetworkPolicy>::all(c.clone())
                .list_metadata(&lp())
                .await,
        )?;
        Ok(())
    }

    fn node_name(&self) -> &str {
        &self.config.node.host_k8s_nodename
    }

    /// One reconcile pass: what the watch events since the last pass
    /// touched, plus the retries a `tick` (the 1 s timer) is due.
    async fn pass(
        &self,
        stores: &Stores,
        state: &mut PassState,
        tick: bool,
    ) -> Result<(), AgentError> {
        let started = Instant::now();
        self.health.last_pass.store(now_secs(), Ordering::Relaxed);
        self.metrics
            .watch_errors
            .set(stores.watch_errors.load(Ordering::Relaxed) as i64);
        let mut changes = std::mem::take(&mut state.carried);
        changes.merge(stores.take_changes());
        let Some(node) = stores.nodes.get(&ObjectRef::new(self.node_name())) else {
            if !state.node_missing {
                tracing::warn!(
                    node = self.node_name(),
                    "host node not in the host cluster; waiting"
                );
                state.node_missing = true;
            }
            // Kept for the pass that finds the node.
            state.carried = changes;
            return Ok(());
        };
        state.node_missing = false;
        // Only the host node's own changes concern IPAM, the handshake and
        // the context; other nodes' go to the translator alone.
        let host_changed = state.node_version.as_ref() != node.metadata.resource_version.as_ref()
            || state.node_version.is_none();
        state.node_version = node.metadata.resource_version.clone();
        let mut laps = Laps::new(&self.metrics);
        let due = Due {
            node: host_changed || tick,
            pods: changes.pods || host_changed || (tick && state.handshake.unsettled() > 0),
            tick,
        };
        let local = if due.pods || (due.node && !state.restored) {
            self.local_pods(stores)
        } else {
            Vec::new()
        };
        if due.node {
            self.node_subnets(&node, &local, state);
        }
        laps.lap("prepare");
        if due.node {
            self.publish_node(&node).await;
            laps.lap("node");
        }
        let plan = if due.pods {
            let plan = state.handshake.plan(&local);
            laps.lap("plan");
            self.write_all(&plan.networks, "pod-networks").await;
            laps.lap("pod_networks");
            plan
        } else {
            pods::Plan::default()
        };
        drop(local);
        self.send_tables(stores, &node, state, &changes, due, &mut laps)?;
        if !plan.statuses.is_empty() {
            self.write_all(&plan.statuses, "connection-status").await;
            laps.lap("statuses");
        }
        self.metrics
            .pods_wired
            .set(state.handshake.wired().count() as i64);
        self.metrics
            .pass_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Every pod whose `spec.nodeName` is the host node.
    fn local_pods(&self, stores: &Stores) -> Vec<Arc<Pod>> {
        stores
            .pods
            .state()
            .into_iter()
            .filter(|p| {
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(self.node_name())
            })
            .collect()
    }

    /// Feeds the node's subnets to IPAM; on the first pass restores every
    /// existing allocation before anything new is allocated.
    fn node_subnets(&self, node: &Node, local: &[Arc<Pod>], state: &mut PassState) {
        let subnets = node.annotations().get(keys::NODE_SUBNETS).map(|t| {
            NodeSubnets::parse(t).and_then(|s| s.network(DEFAULT_NETWORK).map(<[_]>::to_vec))
        });
        match subnets {
            None => tracing::info!(
                node = self.node_name(),
                "waiting for k8s.ovn.org/node-subnets"
            ),
            Some(Err(e)) => tracing::warn!(error = %e, "unusable node-subnets"),
            Some(Ok(subnets)) => match state.handshake.set_subnets(&subnets) {
                Ok(stranded) => {
                    for p in stranded {
                        tracing::warn!(pod = %p, "pod IPs are outside the new node subnets");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "node subnets rejected by IPAM"),
            },
        }
        if !state.restored && state.handshake.free_ips() > 0 {
            for (pod, reason) in state.handshake.restore(local) {
                tracing::warn!(%pod, %reason, "existing pod-networks not restored");
            }
            state.restored = true;
        }
    }

    async fn publish_node(&self, node: &Node) {
        match node::publish(&self.client, node, &self.config, self.host_pf_mac).await {
            Ok(0) => {}
            Ok(n) => self.count_write("node", "ok", n as u64),
            Err(e) => {
                self.count_write("node", "error", 1);
                tracing::warn!(error = %e, "node annotations not written");
            }
        }
    }

    fn count_write(&self, kind: &str, result: &str, n: u64) {
        self.metrics
            .annotation_writes
            .with_label_values(&[kind, result])
            .inc_by(n);
    }

    /// Merge-patches pod annotations through the `status` subresource (the
    /// rights OVN-K's node service account has).
    async fn write_all(&self, writes: &[PodWrite], kind: &str) {
        use futures::StreamExt;
        futures::stream::iter(writes)
            .for_each_concurrent(WRITES_IN_FLIGHT, |w| self.write_one(w, kind))
            .await;
    }

    async fn write_one(&self, w: &PodWrite, kind: &str) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &w.namespace);
        let patch = serde_json::json!({ "metadata": { "annotations": { w.key: w.value } } });
        match api
            .patch_status(&w.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => self.count_write(kind, "ok", 1),
            Err(e) => {
                self.count_write(kind, "error", 1);
                tracing::warn!(pod = %format!("{}/{}", w.namespace, w.name), key = w.key, error = %e, "pod annotation not written");
            }
        }
        if w.key == keys::DPU_CONNECTION_STATUS && w.value.contains("\"Error\"") {
            self.metrics.pod_errors.inc();
        }
    }

    /// Translates what `changes` touched and sends the updates. On an idle
    /// tick every few minutes, recomputes everything instead: anything that
    /// sends is drift, counted and logged.
    fn send_tables(
        &self,
        stores: &Stores,
        node: &Node,
        state: &mut PassState,
        changes: &Changes,
        due: Due,
        laps: &mut Laps<'_>,
    ) -> Result<(), AgentError> {
        let version = state.handshake.version();
        // The context comes from the host node (and the management port's
        // representor, which may appear later: retried every tick).
        if due.node || state.bindings_seen != Some(version) {
            let ctx = self.context(node, state);
            state.translator.set_context(ctx);
            state.bindings_seen = Some(version);
            laps.lap("context");
        }
        let mut work = state.translator.work(changes);
        let resync = work.is_empty() && due.tick && state.last_resync.elapsed() >= RESYNC_EVERY;
        if resync {
            work = state.translator.resync_work();
            state.last_resync = Instant::now();
        }
        if work.is_empty() {
            return Ok(());
        }
        let snapshot = stores.snapshot(work.reads());
        laps.lap("snapshot");
        let updates = state.translator.update(&work, &snapshot);
        laps.lap("translate");
        self.metrics
            .translate_errors
            .set(state.translator.error_count() as i64);
        if updates.is_empty() {
            return Ok(());
        }
        let n = updates.len() as u64;
        if resync {
            self.metrics.resync_corrections.inc_by(n);
            tracing::error!(
                entries = n,
                "full resync corrected the incremental translation (a bug: please report)"
            );
        }
        self.updates
            .send(updates)
            .map_err(|_| AgentError::DatapathGone)?;
        self.metrics.datapath_updates.inc_by(n);
        Ok(())
    }

    /// The management port: the representor of the VF that ovnkube-node
    /// (dpu-host) names in this node's `k8s.ovn.org/node-mgmt-port`, wired
    /// like a pod port (the host side holds the subnet's `.2`).
    fn management_port(&self, node: &Node, state: &PassState) -> Option<PortRef> {
        let text = node.annotations().get(keys::NODE_MGMT_PORT)?;
        let port = MgmtPorts::parse(text)
            .and_then(|m| m.default_network().cloned())
            .map_err(|e| e.to_string())
            .and_then(|d| {
                let rep = VfRepresentor {
                    pf: d.pf_id,
                    vf: d.func_id,
                };
                state.handshake.representor(rep).map_err(|e| e.to_string())
            });
        match port {
            Ok(name) => Some(PortRef { name }),
            Err(e) => {
                tracing::warn!(error = %e, "management port not wired");
                None
            }
        }
    }

    fn context(&self, node: &Node, state: &PassState) -> TranslateContext {
        let c = &self.config;
        let node_ips: Vec<IpAddr> = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .map(|a| {
                a.iter()
                    .filter(|a| a.type_ == "InternalIP")
                    .filter_map(|a| a.address.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        TranslateContext {
            node_name: self.node_name().to_string(),
            cluster_cidrs: c.network.cluster_subnets.iter().map(|s| s.cidr).collect(),
            service_cidrs: c.network.service_cidrs.clone(),
            node_ips,
            bindings: state.handshake.bindings(),
            gateway: GatewaySettings {
                next_hops: c.gateway.nexthop.into_iter().collect(),
                vlan: c.gateway.vlan_id,
                router_subnet: c.gateway.router_subnet,
                host_pf_mac: self.host_pf_mac,
                encap_ip: Some(c.encap.ip),
                management_port: self.management_port(node, state),
                ..GatewaySettings::default()
            },
        }
    }
}

/// Times the phases of one pass into `pass_phase_seconds{phase}`.
struct Laps<'m> {
    metrics: &'m Metrics,
    last: Instant,
}

impl<'m> Laps<'m> {
    fn new(metrics: &'m Metrics) -> Self {
        Self {
            metrics,
            last: Instant::now(),
        }
    }

    fn lap(&mut self, phase: &str) {
        let now = Instant::now();
        self.metrics
            .pass_phase_seconds
            .with_label_values(&[phase])
            .observe(now.duration_since(self.last).as_secs_f64());
        self.last = now;
    }
}

fn lp() -> kube::api::ListParams {
    kube::api::ListParams::default().limit(1)
}

fn check<T>(
    verb: &'static str,
    resource: &'static str,
    r: Result<T, kube::Error>,
) -> Result<(), AgentError> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 403 || e.code == 401 => Err(AgentError::Forbidden {
            verb,
            resource,
            message: e.message,
        }),
        Err(e) => Err(AgentError::Api(e)),
    }
}

/// What a pass owes besides the translation of its changes.
#[derive(Clone, Copy, Debug)]
struct Due {
    /// Node subnets, node annotations, the translation context.
    node: bool,
    /// The pod handshake.
    pods: bool,
    /// The 1 s timer woke the pass (retries, periodic resync).
    tick: bool,
}

struct PassState {
    handshake: Handshake,
    translator: Translator,
    /// The handshake version the translator's bindings are from.
    bindings_seen: Option<u64>,
    /// Changes taken but not acted on yet (the host node was missing).
    carried: Changes,
    last_resync: Instant,
    restored: bool,
    /// The host node was missing at the last pass (logged once).
    node_missing: bool,
    /// The host node's resourceVersion at the last pass.
    node_version: Option<String>,
}

async fn lease_loop(client: Client, node: String, metrics: Arc<Metrics>, health: Arc<Health>) {
    let mut tick = tokio::time::interval(crate::protocol::lease::LEASE_RENEW_INTERVAL);
    loop {
        tick.tick().await;
        match lease::renew(&client, &node).await {
            Ok(()) => {
                health.last_lease.store(now_secs(), Ordering::Relaxed);
                metrics.lease_renewals.with_label_values(&["ok"]).inc();
            }
            Err(e) => {
                metrics.lease_renewals.with_label_values(&["error"]).inc();
                tracing::warn!(error = %e, "lease renewal failed");
            }
        }
    }
}
