//! The agent's Prometheus metrics and its health endpoints
//! (`/metrics`, `/healthz`, `/readyz`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Every metric the agent exports, registered in one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Pods wired to the datapath.
    pub pods_wired: IntGauge,
    /// Pods answered with an Error connection-status.
    pub pod_errors: IntCounter,
    /// Annotation writes by kind (pod-networks, connection-status, node) and result.
    pub annotation_writes: IntCounterVec,
    /// Update messages sent to the datapath.
    pub datapath_updates: IntCounter,
    /// Objects the translation skipped as malformed (last pass).
    pub translate_errors: IntGauge,
    /// Table entries a periodic full resync corrected (incremental
    /// translation drifted: a bug, logged).
    pub resync_corrections: IntCounter,
    /// Seconds per agent pass (handshake + translate + diff).
    pub pass_seconds: Histogram,
    /// Seconds per phase of a pass (prepare, node, plan, pod_networks,
    /// context, snapshot, translate, statuses).
    pub pass_phase_seconds: HistogramVec,
    /// Lease renewals by result.
    pub lease_renewals: IntCounterVec,
    /// Watch errors (each retried with backoff).
    pub watch_errors: IntGauge,
    /// 1 once every store has its initial list.
    pub stores_synced: IntGauge,
}

impl Metrics {
    /// Creates and registers the metrics.
    ///
    /// # Errors
    /// A metric definition prometheus rejects (a bug, caught by tests).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("dpuflow".to_string()), None)?;
        let writes = Opts::new(
            "annotation_writes_total",
            "Annotation writes by kind and result",
        );
        let lease = Opts::new("lease_renewals_total", "Lease renewals by result");
        let buckets = prometheus::exponential_buckets(0.0001, 2.0, 16)?;
        let m = Self {
            pods_wired: IntGauge::new("pods_wired", "Pods wired to the datapath")?,
            pod_errors: IntCounter::new(
                "pod_errors_total",
                "Pods answered with an Error connection-status",
            )?,
            annotation_writes: IntCounterVec::new(writes, &["kind", "result"])?,
            datapath_updates: IntCounter::new(
                "datapath_updates_total",
                "Update messages sent to the datapath",
            )?,
            translate_errors: IntGauge::new(
                "translate_errors",
                "Objects skipped as malformed in the last pass",
            )?,
            resync_corrections: IntCounter::new(
                "resync_corrections_total",
                "Table entries a periodic full resync corrected",
            )?,
            pass_seconds: Histogram::with_opts(
                HistogramOpts::new("pass_seconds", "Seconds per agent pass").buckets(buckets),
            )?,
            pass_phase_seconds: HistogramVec::new(
                HistogramOpts::new("pass_phase_seconds", "Seconds per phase of an agent pass")
                    .buckets(prometheus::exponential_buckets(0.00001, 2.0, 18)?),
                &["phase"],
            )?,
            lease_renewals: IntCounterVec::new(lease, &["result"])?,
            watch_errors: IntGauge::new(
                "watch_errors",
                "Watch errors seen (retried with backoff)",
            )?,
            stores_synced: IntGauge::new(
                "stores_synced",
                "1 once every store has its initial list",
            )?,
            registry,
        };
        m.register()?;
        Ok(m)
    }

    fn register(&self) -> Result<(), prometheus::Error> {
        let all: [Box<dyn prometheus::core::Collector>; 11] = [
            Box::new(self.resync_corrections.clone()),
            Box::new(self.pass_phase_seconds.clone()),
            Box::new(self.pods_wired.clone()),
            Box::new(self.pod_errors.clone()),
            Box::new(self.annotation_writes.clone()),
            Box::new(self.datapath_updates.clone()),
            Box::new(self.translate_errors.clone()),
            Box::new(self.pass_seconds.clone()),
            Box::new(self.lease_renewals.clone()),
            Box::new(self.watch_errors.clone()),
            Box::new(self.stores_synced.clone()),
        ];
        for c in all {
            self.registry.register(c)?;
        }
        Ok(())
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            return format!("# encoding failed: {e}\n");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Liveness and readiness, shared by the agent and the HTTP server.
#[derive(Debug, Default)]
pub struct Health {
    /// Stores synced.
    pub synced: AtomicBool,
    /// Unix seconds of the last agent pass.
    pub last_pass: AtomicU64,
    /// Unix seconds of the last successful lease renewal.
    pub last_lease: AtomicU64,
}

/// Now, in Unix seconds.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Health {
    /// Alive: the agent loop ran in the last 30 s.
    pub fn live(&self) -> bool {
        now_secs().saturating_sub(self.last_pass.load(Ordering::Relaxed)) < 30
    }

    /// Ready: stores synced and the lease renewed within its 40 s duration.
    pub fn ready(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
            && now_secs().saturating_sub(self.last_lease.load(Ordering::Relaxed))
                < crate::protocol::lease::LEASE_DURATION.as_secs()
    }
}

type Shared = (Arc<Metrics>, Arc<Health>);

/// Serves `/metrics`, `/healthz` and `/readyz` on `addr` until the task is
/// dropped.
///
/// # Errors
/// Binding `addr` failed.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
) -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/metrics",
            get(|State((m, _)): State<Shared>| async move { m.render() }),
        )
        .route(
            "/healthz",
            get(|State((_, h)): State<Shared>| async move { status(h.live()) }),
        )
        .route(
            "/readyz",
            get(|State((_, h)): State<Shared>| async move { status(h.ready()) }),
        )
        .with_state((metrics, health));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}

fn status(ok: bool) -> (StatusCode, &'static str) {
    if ok {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
