//! Scenario `control`: the agent (`dpuflow-control`) against a real
//! kube-apiserver 1.20 + etcd on loopback (scripts/kube-apiserver.sh).
//!
//! * Pods → Ready: pods with `k8s.ovn.org/dpu.connection-details` are
//!   created on the host node (bounded concurrency); the harness's own pod
//!   watch timestamps when each pod's `connection-status` turns Ready.
//! * EndpointSlice change → datapath update, one change at a time: the
//!   harness timestamps the write (replace returned), its own watch seeing
//!   the change (the API server's delivery), and the agent's
//!   `UpsertService` arriving on the update channel.
//! * Where the agent's time goes: its pass's pieces (store copies,
//!   EndpointSlice v1beta1 → v1 conversion, handshake plan, translate,
//!   diff) timed on the same objects, read back from the server.
//! * Full resync: an in-memory snapshot (10k pods / 2k services by
//!   default) through `translate` + `Tables::diff(empty, new)`, with a
//!   counting allocator for the size of the result.
//!
//! The agent runs on its own 2-worker runtime (as `dpuflow agent` does);
//! the harness (writes, watches) on a separate single-threaded runtime, so
//! the agent's CPU work never delays the harness's timestamps inside tokio
//! (both still share the machine's 2 cores with etcd and the API server).
//! The API server is the only peer on this path: `apiserver=` in the
//! RESULT line is its write → watch-delivery p99 in the same run.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use dpuflow_control::agent::metrics::{Health, Metrics};
use dpuflow_control::agent::stores::endpoint_slice_version;
use dpuflow_control::agent::Agent;
use dpuflow_control::config::Config;
use dpuflow_control::protocol::mac::MacAddr;
use dpuflow_control::translate::{
    slice_owner, translate, Changes, GatewaySettings, PodBinding, Snapshot, TranslateContext,
    Translator,
};
use dpuflow_control_testkit::{self as local_apiserver, LocalApiServer};
use dpuflow_tables::{EndpointId, PortRef, ServiceKey, Tables, Update};
use futures::StreamExt;
use hdrhistogram::Histogram;
use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use kube::api::{DynamicObject, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::report::{median, result_line};
use crate::Error;

/// The host node the agent serves.
const HOST: &str = "dpu-host";
/// Where the harness creates its pods, services and slices.
const NS: &str = "default";
/// The host node's pod subnet: 4,092 usable addresses.
const HOST_SUBNET: &str = "10.244.0.0/20";
/// Pods the host subnet has room for (with margin).
const MAX_PODS: u32 = 4000;
/// Services the endpoint address scheme has room for.
const MAX_SERVICES: u32 = 10_000;
const DETAILS_KEY: &str = "k8s.ovn.org/dpu.connection-details";
const STATUS_KEY: &str = "k8s.ovn.org/dpu.connection-status";
/// Endpoints per slice before/after a change.
const ENDPOINTS: [u32; 2] = [3, 4];
/// The agent's p99 target (event seen → datapath update).
const TARGET_MS: f64 = 5.0;

/// Options of the scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pods created on the host node, each with connection-details.
    #[arg(long, default_value_t = 1000)]
    pods: u32,
    /// Services, each with one EndpointSlice of a few endpoints.
    #[arg(long, default_value_t = 500)]
    services: u32,
    /// EndpointSlice changes, made one at a time (add/remove an endpoint).
    #[arg(long, default_value_t = 500)]
    changes: u32,
    /// Creates in flight while making pods and services.
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    /// Full resync (in memory): pods.
    #[arg(long, default_value_t = 10_000)]
    resync_pods: u32,
    /// Full resync: services (one slice each).
    #[arg(long, default_value_t = 2_000)]
    resync_services: u32,
    /// Full resync: nodes (the host node included).
    #[arg(long, default_value_t = 100)]
    resync_nodes: u32,
    /// Full resync: network policies.
    #[arg(long, default_value_t = 300)]
    resync_policies: u32,
}

/// Runs the scenario and prints its report and RESULT line.
pub fn run(args: &Args) -> Result<(), Error> {
    validate(args)?;
    println!(
        "control: dpuflow agent vs the API server it talks to (kube-apiserver 1.20 + etcd on loopback, same run)"
    );
    println!(
        "  pods={} services={} changes={} in-flight={}; resync {} pods / {} services / {} nodes / {} policies",
        args.pods,
        args.services,
        args.changes,
        args.in_flight,
        args.resync_pods,
        args.resync_services,
        args.resync_nodes,
        args.resync_policies
    );
    // In memory and single-threaded, before anything else runs: the
    // counting allocator then sees only the resync.
    resync(args)?;

    let started = Instant::now();
    let server = LocalApiServer::start("perf")?;
    println!(
        "\napi server: {} (started in {:.1} s)",
        server.url,
        started.elapsed().as_secs_f64()
    );
    let agent_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("agent")
        .enable_all()
        .build()?;
    let harness_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = harness_rt.block_on(live(args, &server, &agent_rt));
    drop(harness_rt);
    agent_rt.shutdown_timeout(Duration::from_secs(5));
    drop(server);
    let outcome = outcome?;

    let ours = outcome.agent_p99_ms;
    let theirs = outcome.apiserver_p99_ms;
    println!(
        "\ntarget: agent EndpointSlice seen → datapath update p99 < {TARGET_MS} ms: {} ({ours:.3} ms)",
        if ours < TARGET_MS { "met" } else { "NOT met" }
    );
    println!(
        "peer: the API server is the only other component on this path; apiserver= is its write → watch-delivery p99 in this run"
    );
    println!(
        "{}",
        result_line("control", ours, "apiserver", theirs, "ms")
    );
    Ok(())
}

fn validate(args: &Args) -> Result<(), Error> {
    if args.pods == 0 || args.pods > MAX_PODS {
        return Err(format!("--pods must be 1..={MAX_PODS} (the host's {HOST_SUBNET})").into());
    }
    if args.services == 0 || args.services > MAX_SERVICES {
        return Err(format!("--services must be 1..={MAX_SERVICES}").into());
    }
    if args.changes == 0 || args.in_flight == 0 {
        return Err("--changes and --in-flight must be at least 1".into());
    }
    if args.resync_nodes < 2 || args.resync_nodes > 1000 {
        return Err("--resync-nodes must be 2..=1000".into());
    }
    if args.resync_pods.div_ceil(args.resync_nodes) > 250 {
        return Err("--resync-pods: at most 250 pods per node (a /24 each)".into());
    }
    if args.resync_services == 0 || args.resync_services > 60_000 || args.resync_pods == 0 {
        return Err("--resync-services must be 1..=60000, --resync-pods at least 1".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The API server (scripts/kube-apiserver.sh), stopped on drop.
// ---------------------------------------------------------------------------

/// What a client needs; clients are made inside the runtime that uses them
/// (kube's client spawns its buffer task on the current runtime).
#[derive(Clone)]
struct Access {
    url: String,
    ca_pem: Vec<u8>,
    token: String,
}

impl Access {
    fn of(server: &LocalApiServer) -> Self {
        Access {
            url: server.url.clone(),
            ca_pem: server.ca_pem.clone(),
            token: server.admin_token.clone(),
        }
    }

    fn client(&self) -> Result<Client, Error> {
        Ok(local_apiserver::client(
            &self.url,
            &self.ca_pem,
            &self.token,
        )?)
    }
}

fn agent_config(access: &Access, pods: u32) -> Result<Arc<Config>, Error> {
    let mut env = local_apiserver::agent_env(&access.url, &access.ca_pem, &access.token, HOST);
    env.insert("DPUFLOW_CLUSTER_SUBNETS".into(), "10.244.0.0/16/20".into());
    env.insert(
        "DPUFLOW_VF_REPRESENTORS".into(),
        (1..=pods)
            .map(|v| format!("pf0vf{v}=perf_vf{v}"))
            .collect::<Vec<_>>()
            .join(";"),
    );
    Ok(Arc::new(local_apiserver::agent_config(env)?))
}

// ---------------------------------------------------------------------------
// What the harness saw, with timestamps.
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Log {
    /// Update batches from the agent, and their sizes.
    batch_sizes: Vec<usize>,
    /// First `UpsertPod` per pod name.
    pod_bound: HashMap<String, Instant>,
    /// Every `UpsertService` per service name: when, and its backend IPs.
    services: HashMap<String, Vec<(Instant, Vec<IpAddr>)>>,
    /// The harness's pod watch: first event, first Ready, Error statuses.
    pod_seen: HashMap<String, Instant>,
    pod_ready: HashMap<String, Instant>,
    pod_error: HashMap<String, String>,
    /// The harness's slice watch: (name, resourceVersion) → first seen.
    slice_seen: HashMap<(String, String), Instant>,
    pods_synced: bool,
    slices_synced: bool,
    watch_errors: u64,
}

struct Shared {
    log: Mutex<Log>,
    notify: tokio::sync::Notify,
}

impl Shared {
    fn lock(&self) -> Result<MutexGuard<'_, Log>, Error> {
        self.log
            .lock()
            .map_err(|_| "the harness log's mutex is poisoned".into())
    }

    /// Records from a task or thread that has nowhere to return an error:
    /// a poisoned log is reported by the waiter instead.
    fn record(&self, f: impl FnOnce(&mut Log)) {
        if let Ok(mut log) = self.log.lock() {
            f(&mut log);
        }
        self.notify.notify_waiters();
    }

    /// Waits until `f` finds what it looks for (checked after every
    /// recorded event). Timestamps are taken where events arrive, never
    /// here, so how promptly this wakes does not matter.
    async fn wait<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&mut Log) -> Option<T>,
    ) -> Result<T, Error> {
        let end = Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = f(&mut *self.lock()?) {
                return Ok(v);
            }
            let Some(left) = end.checked_duration_since(Instant::now()) else {
                return Err(format!("timed out after {timeout:?} waiting for {what}").into());
            };
            let _ = tokio::time::timeout(left, notified).await;
        }
    }
}

/// Drains the agent's update channel, timestamping each batch on arrival.
fn spawn_recorder(
    rx: Receiver<Vec<Update>>,
    shared: Arc<Shared>,
) -> Result<std::thread::JoinHandle<()>, Error> {
    Ok(std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || {
            while let Ok(batch) = rx.recv() {
                let at = Instant::now();
                shared.record(|log| {
                    log.batch_sizes.push(batch.len());
                    for u in &batch {
                        match u {
                            Update::UpsertPod(k, _) => {
                                log.pod_bound.entry(k.name.clone()).or_insert(at);
                            }
                            Update::UpsertService(k, s) => {
                                let ips: BTreeSet<IpAddr> = s
                                    .ports
                                    .iter()
                                    .flat_map(|p| p.backends.iter().map(|b| b.ip))
                                    .collect();
                                log.services
                                    .entry(k.name.clone())
                                    .or_default()
                                    .push((at, ips.into_iter().collect()));
                            }
                            _ => {}
                        }
                    }
                });
            }
        })?)
}

fn watch_pods(client: Client, shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let api: Api<Pod> = Api::namespaced(client, NS);
        let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
        while let Some(event) = events.next().await {
            let at = Instant::now();
            match event {
                Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                    let name = pod.name_any();
                    let status: Option<serde_json::Value> = pod
                        .annotations()
                        .get(STATUS_KEY)
                        .and_then(|s| serde_json::from_str(s).ok());
                    let state = status
                        .as_ref()
                        .and_then(|v| v["default"]["Status"].as_str().map(str::to_string));
                    shared.record(|log| {
                        log.pod_seen.entry(name.clone()).or_insert(at);
                        match state.as_deref() {
                            Some("Ready") => {
                                log.pod_ready.entry(name).or_insert(at);
                            }
                            Some(_) => {
                                let text = status.map(|s| s.to_string()).unwrap_or_default();
                                log.pod_error.insert(name, text);
                            }
                            None => {}
                        }
                    });
                }
                Ok(watcher::Event::InitDone) => shared.record(|log| log.pods_synced = true),
                Ok(_) => {}
                Err(_) => shared.record(|log| log.watch_errors += 1),
            }
        }
    })
}

fn watch_slices(api: Api<DynamicObject>, shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
        while let Some(event) = events.next().await {
            let at = Instant::now();
            match event {
                Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => {
                    let key = (s.name_any(), s.resource_version().unwrap_or_default());
                    shared.record(|log| {
                        log.slice_seen.entry(key).or_insert(at);
                    });
                }
                Ok(watcher::Event::InitDone) => shared.record(|log| log.slices_synced = true),
                Ok(_) => {}
                Err(_) => shared.record(|log| log.watch_errors += 1),
            }
        }
    })
}

// ---------------------------------------------------------------------------
// Latency summaries (hdrhistogram, microseconds).
// ---------------------------------------------------------------------------

struct Latency {
    name: &'static str,
    hist: Histogram<u64>,
    /// Intervals whose end came before their start (clock order of two
    /// independent watch connections), recorded as 0.
    negative: u64,
}

impl Latency {
    fn new(name: &'static str) -> Result<Self, Error> {
        Ok(Self {
            name,
            hist: Histogram::new_with_bounds(1, 600_000_000, 3)?,
            negative: 0,
        })
    }

    fn add(&mut self, from: Instant, to: Instant) {
        match to.checked_duration_since(from) {
            Some(d) => self
                .hist
                .saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            None => {
                self.negative += 1;
                self.hist.saturating_record(0);
            }
        }
    }

    fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    fn print(&self) {
        let neg = if self.negative > 0 {
            format!("  ({} negative, counted as 0)", self.negative)
        } else {
            String::new()
        };
        println!(
            "  {:<50} n={:<5} p50={:>9.3} p99={:>9.3} max={:>9.3} ms{neg}",
            self.name,
            self.hist.len(),
            self.ms(0.50),
            self.ms(0.99),
            self.hist.max() as f64 / 1000.0
        );
    }
}

/// Phases of an agent pass, as its `pass_phase_seconds` metric names them.
const PHASES: [&str; 8] = [
    "prepare",
    "node",
    "plan",
    "pod_networks",
    "context",
    "snapshot",
    "translate",
    "statuses",
];

/// A reading of the agent's pass metrics, to take means from.
struct PassClock {
    sum: f64,
    count: u64,
    phases: [f64; PHASES.len()],
}

impl PassClock {
    fn now(m: &Metrics) -> Self {
        let mut phases = [0.0; PHASES.len()];
        for (p, name) in phases.iter_mut().zip(PHASES) {
            *p = m
                .pass_phase_seconds
                .with_label_values(&[name])
                .get_sample_sum();
        }
        Self {
            sum: m.pass_seconds.get_sample_sum(),
            count: m.pass_seconds.get_sample_count(),
            phases,
        }
    }

    /// Passes since, and their mean in ms.
    fn since(&self, m: &Metrics) -> (u64, f64) {
        let now = Self::now(m);
        let n = now.count.saturating_sub(self.count);
        let mean = if n > 0 {
            (now.sum - self.sum) / n as f64 * 1000.0
        } else {
            0.0
        };
        (n, mean)
    }

    fn line(&self, m: &Metrics) -> String {
        let (n, mean) = self.since(m);
        let now = Self::now(m);
        let per_pass = |i: usize| (now.phases[i] - self.phases[i]) / n.max(1) as f64 * 1000.0;
        let phases: Vec<String> = PHASES
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{name} {:.3}", per_pass(i)))
            .collect();
        format!(
            "agent passes: {n}, mean {mean:.3} ms (its pass_seconds metric); per phase, ms: {}",
            phases.join(", ")
        )
    }
}

// ---------------------------------------------------------------------------
// Against the server.
// ---------------------------------------------------------------------------

struct Outcome {
    agent_p99_ms: f64,
    apiserver_p99_ms: f64,
}

async fn live(
    args: &Args,
    server: &LocalApiServer,
    agent_rt: &tokio::runtime::Runtime,
) -> Result<Outcome, Error> {
    let access = Access::of(server);
    let client = access.client()?;
    setup_cluster(&client).await?;

    let shared = Arc::new(Shared {
        log: Mutex::new(Log::default()),
        notify: tokio::sync::Notify::new(),
    });
    let (slices, api_version) = slice_api(&client).await?;
    let watches = [
        watch_pods(client.clone(), shared.clone()),
        watch_slices(slices.clone(), shared.clone()),
    ];
    let result = async {
        shared
            .wait("the harness's watches to sync", Duration::from_secs(30), |l| {
                (l.pods_synced && l.slices_synced).then_some(())
            })
            .await?;
        let cfg = agent_config(&access, args.pods)?;
        let metrics = Arc::new(Metrics::new()?);
        let (tx, rx) = crossbeam_channel::unbounded();
        let recorder = spawn_recorder(rx, shared.clone())?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let agent = {
            let (access, cfg, metrics) = (access.clone(), cfg.clone(), metrics.clone());
            agent_rt.spawn(async move {
                let client = access.client()?;
                Agent::new(client, cfg, tx, metrics, Arc::new(Health::default()))
                    .with_host_pf_mac(MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]))
                    .run(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .map_err(Error::from)
            })
        };
        let started = Instant::now();
        let measured = async {
            shared
                .wait("the agent's first datapath batch", Duration::from_secs(60), |l| {
                    (!l.batch_sizes.is_empty()).then_some(())
                })
                .await?;
            println!(
                "agent: first datapath batch {:.0} ms after start",
                started.elapsed().as_secs_f64() * 1000.0
            );
            pods_phase(args, &client, &shared, &metrics).await?;
            let out = slices_phase(args, &client, &slices, api_version, &shared, &metrics).await?;
            let log = shared.lock()?;
            let sizes = &log.batch_sizes;
            println!(
                "\nupdate channel: {} batches, {} updates (largest batch {}); harness watch errors: {}",
                sizes.len(),
                sizes.iter().sum::<usize>(),
                sizes.iter().max().copied().unwrap_or(0),
                log.watch_errors
            );
            Ok::<_, Error>(out)
        }
        .await;
        let _ = stop.send(());
        let agent_error: Option<Error> =
            match tokio::time::timeout(Duration::from_secs(10), agent).await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(e))) => Some(format!("agent: {e}").into()),
                Ok(Err(e)) => Some(format!("agent task: {e}").into()),
                Err(_) => Some("the agent did not stop within 10 s".into()),
            };
        // The agent's sender is gone with it, so the recorder ends (unless
        // the agent is stuck: then leave the thread be).
        if agent_error.is_none() && recorder.join().is_err() {
            eprintln!("control: the recorder thread panicked");
        }
        match (measured, agent_error) {
            (Ok(out), None) => Ok(out),
            (Ok(_), Some(e)) => Err(e),
            (Err(e), other) => {
                if let Some(a) = other {
                    eprintln!("control: also: {a}");
                }
                Err(e)
            }
        }
    }
    .await;
    for w in watches {
        w.abort();
    }
    result
}

async fn setup_cluster(client: &Client) -> Result<(), Error> {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "ovn-kubernetes"}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    let node: Node = serde_json::from_value(json!({
        "metadata": {
            "name": HOST,
            "labels": {"k8s.ovn.org/dpu-host": ""},
            "annotations": {
                "k8s.ovn.org/node-subnets": format!(r#"{{"default":["{HOST_SUBNET}"]}}"#),
                "k8s.ovn.org/primary-dpu-host-addr": r#"{"ipv4":"203.0.113.10/24"}"#,
            }
        }
    }))?;
    Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await?;
    Ok(())
}

/// The EndpointSlice API the server serves (v1, or v1beta1 on 1.20).
async fn slice_api(client: &Client) -> Result<(Api<DynamicObject>, &'static str), Error> {
    let version = endpoint_slice_version(client).await?;
    let api = Api::namespaced_with(client.clone(), NS, &version.api_resource());
    Ok((api, version.api_version()))
}

fn pod_name(i: u32) -> String {
    format!("perf-{i}")
}

fn svc_name(i: u32) -> String {
    format!("svc-{i}")
}

fn slice_name(i: u32) -> String {
    format!("svc-{i}-abc")
}

/// Pod `i` uses VF `i` (mapped in `DPUFLOW_VF_REPRESENTORS`).
fn pod_object(i: u32) -> Result<Pod, Error> {
    let details = json!({"default": {"pfId": "0", "vfId": i.to_string(), "sandboxId": format!("sb{i}"), "vfNetdevName": format!("ens1f0v{i}")}}).to_string();
    Ok(serde_json::from_value(json!({
        "metadata": {"name": pod_name(i), "labels": {"app": "perf"}, "annotations": {DETAILS_KEY: details}},
        "spec": {"nodeName": HOST, "containers": [{"name": "c", "image": "pause", "ports": [{"name": "http", "containerPort": 8080}]}]}
    }))?)
}

async fn pods_phase(
    args: &Args,
    client: &Client,
    shared: &Shared,
    metrics: &Metrics,
) -> Result<(), Error> {
    let passes = PassClock::now(metrics);
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let begun = Instant::now();
    let created: Vec<Result<(String, Instant, Instant), Error>> =
        futures::stream::iter(1..=args.pods)
            .map(|i| {
                let api = api.clone();
                async move {
                    let pod = pod_object(i)?;
                    let sent = Instant::now();
                    api.create(&PostParams::default(), &pod).await?;
                    Ok((pod_name(i), sent, Instant::now()))
                }
            })
            .buffer_unordered(args.in_flight)
            .collect()
            .await;
    let created: Vec<(String, Instant, Instant)> = created.into_iter().collect::<Result<_, _>>()?;
    let written = Instant::now();
    let n = created.len();
    let timeout = Duration::from_secs(120) + Duration::from_millis(100) * args.pods;
    shared
        .wait("every pod Ready and bound", timeout, |l| {
            if let Some((pod, status)) = l.pod_error.iter().next() {
                return Some(Err(format!("pod {pod} got {status}")));
            }
            (l.pod_ready.len() >= n && l.pod_bound.len() >= n).then_some(Ok(()))
        })
        .await??;
    let log = shared.lock()?;
    let mut create = Latency::new("create call (harness → API server → etcd)")?;
    let mut seen = Latency::new("write → harness watch sees the pod (API server)")?;
    let mut bound = Latency::new("write → UpsertPod on the channel (agent+API)")?;
    let mut ready = Latency::new("write → Ready seen by the harness (end to end)")?;
    let mut tail = Latency::new("UpsertPod → Ready seen (status write + delivery)")?;
    let mut last_ready = written;
    for (name, sent, t_write) in &created {
        let (Some(s), Some(b), Some(r)) = (
            log.pod_seen.get(name),
            log.pod_bound.get(name),
            log.pod_ready.get(name),
        ) else {
            return Err(format!("pod {name}: missing timestamps").into());
        };
        create.add(*sent, *t_write);
        seen.add(*t_write, *s);
        bound.add(*t_write, *b);
        ready.add(*t_write, *r);
        tail.add(*b, *r);
        last_ready = last_ready.max(*r);
    }
    let total = last_ready.duration_since(begun).as_secs_f64();
    println!(
        "\npods → Ready ({n} pods on {HOST}, {} creates in flight): all Ready in {total:.2} s ({:.0} pods/s; creates took {:.2} s)",
        args.in_flight,
        n as f64 / total,
        written.duration_since(begun).as_secs_f64()
    );
    for l in [&create, &seen, &bound, &ready, &tail] {
        l.print();
    }
    println!("  {}", passes.line(metrics));
    Ok(())
}

/// The `n` endpoint addresses of service `i` (remote pods: outside the host
/// node's /20, inside the cluster's /16).
fn endpoint_addrs(i: u32, n: u32) -> Vec<IpAddr> {
    (0..n)
        .map(|j| {
            let x = 16 * 256 + i * 4 + j;
            IpAddr::V4(Ipv4Addr::new(10, 244, (x >> 8) as u8, (x & 0xff) as u8))
        })
        .collect()
}

fn slice_object(api_version: &str, i: u32, endpoints: u32) -> Result<DynamicObject, Error> {
    let eps: Vec<serde_json::Value> = endpoint_addrs(i, endpoints)
        .iter()
        .map(|ip| json!({"addresses": [ip.to_string()], "conditions": {"ready": true}}))
        .collect();
    Ok(serde_json::from_value(json!({
        "apiVersion": api_version, "kind": "EndpointSlice",
        "metadata": {"name": slice_name(i), "namespace": NS, "labels": {"kubernetes.io/service-name": svc_name(i)}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": eps
    }))?)
}

async fn slices_phase(
    args: &Args,
    client: &Client,
    slices: &Api<DynamicObject>,
    api_version: &str,
    shared: &Shared,
    metrics: &Metrics,
) -> Result<Outcome, Error> {
    // Services and their slices, created concurrently, then settled.
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    let begun = Instant::now();
    let made: Vec<Result<(u32, String), Error>> = futures::stream::iter(0..args.services)
        .map(|i| {
            let (services, slices) = (services.clone(), slices.clone());
            async move {
                let svc: Service = serde_json::from_value(json!({
                    "metadata": {"name": svc_name(i), "namespace": NS},
                    "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
                }))?;
                services.create(&PostParams::default(), &svc).await?;
                let slice = slice_object(api_version, i, ENDPOINTS[0])?;
                let out = slices.create(&PostParams::default(), &slice).await?;
                let rv = out.resource_version().ok_or("created slice without resourceVersion")?;
                Ok((i, rv))
            }
        })
        .buffer_unordered(args.in_flight)
        .collect()
        .await;
    let mut versions: HashMap<u32, String> = made.into_iter().collect::<Result<_, _>>()?;
    let want = ENDPOINTS[0] as usize;
    shared
        .wait(
            "every service with its backends",
            Duration::from_secs(180),
            |l| {
                (0..args.services)
                    .all(|i| {
                        l.services
                            .get(&svc_name(i))
                            .is_some_and(|v| v.iter().any(|(_, ips)| ips.len() == want))
                    })
                    .then_some(())
            },
        )
        .await?;
    println!(
        "\nEndpointSlice change → datapath update ({} services with one slice each, {} pods; changes one at a time)",
        args.services, args.pods
    );
    println!(
        "  setup: {} services + slices created and all in the datapath in {:.2} s",
        args.services,
        begun.elapsed().as_secs_f64()
    );
    // Let the agent go idle before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut cursor: HashMap<String, usize> = {
        let log = shared.lock()?;
        log.services
            .iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    };
    let mut endpoints: HashMap<u32, u32> = HashMap::new();
    let mut replace = Latency::new("replace call (harness → API server → etcd)")?;
    let mut api = Latency::new("API server: write → harness watch delivery")?;
    let mut api_sent = Latency::new("API server: write sent → watch delivery (+etcd)")?;
    let mut agent = Latency::new("agent: harness watch seen → UpsertService")?;
    let mut e2e = Latency::new("end to end: write → UpsertService")?;
    let passes = PassClock::now(metrics);
    let pp = PostParams::default();
    for k in 0..args.changes {
        let i = k % args.services;
        let now = endpoints.entry(i).or_insert(ENDPOINTS[0]);
        *now = if *now == ENDPOINTS[0] {
            ENDPOINTS[1]
        } else {
            ENDPOINTS[0]
        };
        let n = *now;
        let mut obj = slice_object(api_version, i, n)?;
        obj.metadata.resource_version = versions.get(&i).cloned();
        let (name, svc) = (slice_name(i), svc_name(i));
        let sent = Instant::now();
        let out = slices.replace(&name, &pp, &obj).await?;
        let t_write = Instant::now();
        let rv = out
            .resource_version()
            .ok_or("replaced slice without resourceVersion")?;
        versions.insert(i, rv.clone());
        let mut expected = endpoint_addrs(i, n);
        expected.sort();
        let from = cursor.get(&svc).copied().unwrap_or(0);
        let key = (name, rv);
        let (t_seen, t_update, next) = shared
            .wait(
                "the change's watch event and UpsertService",
                Duration::from_secs(30),
                |l| {
                    let seen = *l.slice_seen.get(&key)?;
                    let (idx, (at, _)) = l
                        .services
                        .get(&svc)?
                        .iter()
                        .enumerate()
                        .skip(from)
                        .find(|(_, (_, ips))| *ips == expected)?;
                    Some((seen, *at, idx + 1))
                },
            )
            .await?;
        cursor.insert(svc, next);
        replace.add(sent, t_write);
        api.add(t_write, t_seen);
        api_sent.add(sent, t_seen);
        agent.add(t_seen, t_update);
        e2e.add(t_write, t_update);
    }
    for l in [&replace, &api, &api_sent, &agent, &e2e] {
        l.print();
    }
    println!("  {}", passes.line(metrics));
    Ok(Outcome {
        agent_p99_ms: agent.ms(0.99),
        apiserver_p99_ms: api.ms(0.99),
    })
}

// ---------------------------------------------------------------------------
// Where the agent's pass time goes: its pieces on the server's objects.
// ---------------------------------------------------------------------------

fn timed<T>(rounds: usize, mut f: impl FnMut() -> Result<T, Error>) -> Result<(f64, T), Error> {
    let mut times = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        let v = f()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some(v);
    }
    let v = last.ok_or("no rounds")?;
    Ok((median(&times), v))
}

fn mix(x: u32, salt: u32) -> u32 {
    (x ^ salt.wrapping_mul(0x85eb_ca6b))
        .wrapping_mul(0x9e37_79b1)
        .rotate_right(13)
}

const RESYNC_NAMESPACES: u32 = 50;
const TIERS: [&str; 3] = ["frontend", "backend", "db"];

fn node_subnet(n: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 128 + (n / 256) as u8, (n % 256) as u8, 0)
}

/// Pod `p` runs on node `p % nodes` (node 0 is the host) in slot
/// `p / nodes` of its /24.
fn pod_ip(p: u32, nodes: u32) -> Ipv4Addr {
    let base = u32::from(node_subnet(p % nodes));
    Ipv4Addr::from(base + 3 + p / nodes)
}

fn synthetic(args: &Args) -> Result<(Snapshot, TranslateContext), Error> {
    let nodes_n = args.resync_nodes;
    let mut snap = Snapshot::default();
    for n in 0..nodes_n {
        let name = if n == 0 {
            HOST.to_string()
        } else {
            format!("node-{n}")
        };
        let subnet = format!(r#"{{"default":["{}/24"]}}"#, node_subnet(n));
        let encap = format!(r#"["198.18.{}.{}"]"#, n / 256, n % 256);
        snap.nodes.push(Arc::new(serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": {
                "k8s.ovn.org/node-subnets": subnet,
                "k8s.ovn.org/node-encap-ips": encap,
            }}
        }))?));
    }
    for k in 0..RESYNC_NAMESPACES {
        snap.namespaces.push(Arc::new(serde_json::from_value(json!({
            "metadata": {"name": format!("ns-{k}"), "labels": {"team": format!("team-{}", k % 5)}}
        }))?));
    }
    let mut bindings = Vec::new();
    for p in 0..args.resync_pods {
        let ip = pod_ip(p, nodes_n);
        let node = p % nodes_n;
        let uid = format!("uid-{p}");
        snap.pods.push(Arc::new(serde_json::from_value(json!({
            "metadata": {
                "name": format!("pod-{p}"),
                "namespace": format!("ns-{}", mix(p, 1) % RESYNC_NAMESPACES),
                "uid": uid,
                "labels": {"app": format!("app-{}", mix(p, 2) % 200), "tier": TIERS[(mix(p, 3) % 3) as usize]},
            },
            "spec": {
                "nodeName": if node == 0 { HOST.to_string() } else { format!("node-{node}") },
                "containers": [{"name": "c", "image": "app", "ports": [{"name": "http", "containerPort": 8080}]}]
            },
            "status": {"phase": "Running", "podIP": ip.to_string(), "podIPs": [{"ip": ip.to_string()}]}
        }))?));
        if node == 0 {
            let slot = p / nodes_n + 1;
            let o = ip.octets();
            bindings.push(PodBinding {
                pod_uid: uid,
                network: "default".to_string(),
                port: PortRef::new(format!("pf0vf{slot}")),
                ips: vec![IpNet::new(IpAddr::V4(ip), 24)?],
                mac: dpuflow_net::MacAddr([0x0a, 0x58, o[0], o[1], o[2], o[3]]),
                endpoint: EndpointId(slot),
            });
        }
    }
    for s in 0..args.resync_services {
        let ns = format!("ns-{}", s % RESYNC_NAMESPACES);
        let two_ports = s % 4 == 0;
        let mut ports =
            vec![json!({"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"})];
        let mut slice_ports = vec![json!({"name": "http", "port": 8080, "protocol": "TCP"})];
        if two_ports {
            ports.push(json!({"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP", "nodePort": 30000 + s % 2000}));
            slice_ports.push(json!({"name": "https", "port": 8443, "protocol": "TCP"}));
        }
        snap.services.push(Arc::new(serde_json::from_value(json!({
            "metadata": {"name": format!("svc-{s}"), "namespace": ns},
            "spec": {
                "type": if two_ports { "NodePort" } else { "ClusterIP" },
                "clusterIP": format!("10.96.{}.{}", s / 250, s % 250 + 1),
                "ports": ports,
            }
        }))?));
        let endpoints: Vec<serde_json::Value> = (0..5)
            .map(|j| {
                let p = (s * 5 + j) % args.resync_pods;
                let node = p % nodes_n;
                json!({
                    "addresses": [pod_ip(p, nodes_n).to_string()],
                    "conditions": {"ready": true},
                    "nodeName": if node == 0 { HOST.to_string() } else { format!("node-{node}") },
                })
            })
            .collect();
        snap.endpoint_slices.push(Arc::new(serde_json::from_value(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("svc-{s}-abc"), "namespace": ns, "labels": {"kubernetes.io/service-name": format!("svc-{s}")}},
            "addressType": "IPv4",
            "ports": slice_ports,
            "endpoints": endpoints,
        }))?));
    }
    for k in 0..args.resync_policies {
        let mut spec = json!({
            "podSelector": {"matchLabels": {"tier": TIERS[(k % 3) as usize]}},
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"app": format!("app-{}", mix(k, 4) % 200)}}}],
                 "ports": [{"port": 8080, "protocol": "TCP"}, {"port": "http"}]},
                {"from": [{"namespaceSelector": {"matchLabels": {"team": format!("team-{}", k % 5)}},
                           "podSelector": {"matchLabels": {"tier": "frontend"}}}],
                 "ports": [{"port": 8080, "protocol": "TCP"}]}
            ],
            "policyTypes": ["Ingress"],
        });
        if k % 2 == 0 {
            spec["egress"] = json!([
                {"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.128.0.0/24"]}}],
                 "ports": [{"port": 53, "protocol": "UDP"}, {"port": 443, "protocol": "TCP"}]}
            ]);
            spec["policyTypes"] = json!(["Ingress", "Egress"]);
        }
        snap.network_policies.push(Arc::new(serde_json::from_value(json!({
            "metadata": {"name": format!("pol-{k}"), "namespace": format!("ns-{}", k % RESYNC_NAMESPACES)},
            "spec": spec,
        }))?));
    }
    let ctx = TranslateContext {
        node_name: HOST.to_string(),
        cluster_cidrs: vec!["10.128.0.0/14".parse()?],
        service_cidrs: vec!["10.96.0.0/16".parse()?],
        node_ips: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))],
        bindings,
        gateway: GatewaySettings {
            next_hops: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))],
            host_pf_mac: Some(dpuflow_net::MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56])),
            encap_ip: Some(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 0))),
            ..GatewaySettings::default()
        },
    };
    Ok((snap, ctx))
}

fn resync(args: &Args) -> Result<(), Error> {
    let h0 = heap_in_use();
    let (snap, ctx) = synthetic(args)?;
    let snap_bytes = heap_in_use() - h0;

    let h0 = heap_in_use();
    let t = Instant::now();
    let first = translate(&snap, &ctx);
    let t_translate_first = t.elapsed();
    let tables_bytes = heap_in_use() - h0;

    let h0 = heap_in_use();
    let t = Instant::now();
    let updates = Tables::diff(&Tables::default(), &first.tables);
    let t_diff_first = t.elapsed();
    let updates_bytes = heap_in_use() - h0;

    // Steady timings: a few more rounds (the first paid page faults).
    const ROUNDS: usize = 5;
    let (t_translate, again) = timed(ROUNDS, || Ok(translate(&snap, &ctx)))?;
    if again.tables != first.tables {
        return Err("translate is not deterministic".into());
    }
    let empty = Tables::default();
    let (t_diff, _) = timed(ROUNDS, || Ok(Tables::diff(&empty, &first.tables)))?;
    let (t_apply, applied) = timed(ROUNDS, || {
        let mut t = Tables::default();
        t.apply_all(updates.iter().cloned());
        Ok(t)
    })?;
    if applied != first.tables {
        return Err("applying the resync did not give the translated tables".into());
    }

    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for u in &updates {
        let k = match u {
            Update::UpsertPod(..) => "pods",
            Update::UpsertRemoteNode(..) => "remote nodes",
            Update::UpsertService(..) => "services",
            Update::UpsertPolicy(..) => "policies",
            Update::SetGateway(..) => "gateway",
            _ => "removals",
        };
        *kinds.entry(k).or_default() += 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    let kinds = kinds
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    println!(
        "\nfull resync from a snapshot (in memory, no server): {} pods ({} local, bound), {} services + slices, {} nodes, {} policies, {} namespaces",
        snap.pods.len(),
        ctx.bindings.len(),
        snap.services.len(),
        snap.nodes.len(),
        snap.network_policies.len(),
        snap.namespaces.len()
    );
    println!(
        "  translate: {:.2} ms (median of {ROUNDS} more runs; first run {:.2} ms; {} translate errors)",
        t_translate,
        t_translate_first.as_secs_f64() * 1000.0,
        first.errors.len()
    );
    println!(
        "  Tables::diff(empty, new): {:.2} ms (median; first run {:.2} ms) → {} updates: {kinds}",
        t_diff,
        t_diff_first.as_secs_f64() * 1000.0,
        updates.len()
    );
    println!(
        "  datapath side, Tables::apply_all of the resync (clones the updates first): {t_apply:.2} ms"
    );
    println!(
        "  size (heap in use after each step, glibc mallinfo2): the {} updates {:.2} MiB (~{} B/update), the translated tables {:.2} MiB; the k8s snapshot itself {:.2} MiB",
        updates.len(),
        mib(updates_bytes),
        updates_bytes / updates.len().max(1) as i64,
        mib(tables_bytes),
        mib(snap_bytes)
    );
    incremental(&snap, &ctx, &first.tables)
}

/// What the agent does per EndpointSlice event on the same snapshot: the
/// incremental translator recomputes the one service (and diffs it).
fn incremental(snap: &Snapshot, ctx: &TranslateContext, full: &Tables) -> Result<(), Error> {
    const EVENTS: usize = 2000;
    let mut tr = Translator::new(ctx.clone());
    let work = tr.work(&Changes::default());
    let t = Instant::now();
    let sent = tr.update(&work, snap);
    let t_first = t.elapsed().as_secs_f64() * 1000.0;
    if tr.tables() != full || sent.len() != Tables::diff(&Tables::default(), full).len() {
        return Err("the incremental translator's first update differs from translate".into());
    }
    let mut snap = snap.clone();
    let mut times = Latency::new("one EndpointSlice event through the Translator")?;
    let mut updates = 0;
    for k in 0..EVENTS {
        let i = k % snap.endpoint_slices.len().max(1);
        let slice = snap.endpoint_slices.get_mut(i).ok_or("no slices")?;
        let key = slice_owner(slice).map(|(ns, svc)| ServiceKey::new(ns, svc));
        let eps = Arc::make_mut(slice).endpoints.get_or_insert_with(Vec::new);
        // Toggle one endpoint: every event changes its service.
        match eps.pop() {
            Some(e) if k % 2 == 0 => drop(e),
            Some(e) => {
                eps.push(e.clone());
                eps.push(e);
            }
            None => {}
        }
        let changes = Changes {
            services: key.into_iter().collect(),
            ..Changes::default()
        };
        let t = Instant::now();
        let work = tr.work(&changes);
        let sent = tr.update(&work, &snap);
        times.add(t, Instant::now());
        updates += sent.len();
    }
    if tr.tables() != &translate(&snap, ctx).tables {
        return Err("incremental translation drifted from translate".into());
    }
    println!(
        "  incremental (what the agent runs per event): first update {t_first:.2} ms; one EndpointSlice change → its service recomputed + diffed: p50 {:.3} ms, p99 {:.3} ms over {EVENTS} events ({updates} updates; the tables then equal translate's)",
        times.ms(0.5),
        times.ms(0.99)
    );
    Ok(())
}

/// Heap bytes in use, from glibc's own statistics (`mallinfo2`: the main
/// arena plus mmapped chunks). The resync runs on the main thread before
/// any other thread starts, so the main arena is all of its heap; the
/// numbers include malloc's per-chunk overhead (8-16 B per allocation).
fn heap_in_use() -> i64 {
    // SAFETY: mallinfo2 takes no arguments and only reads the allocator's
    // statistics, returned by value (glibc >= 2.33; Debian 12 has 2.36).
    let m = unsafe { libc::mallinfo2() };
    i64::try_from(m.uordblks.saturating_add(m.hblkhd)).unwrap_or(i64::MAX)
}
