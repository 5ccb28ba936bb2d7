//! `dpuflow agent`: the control plane on its own — watches the host cluster,
//! answers the DPU handshake, serves metrics/health, and hands table updates
//! to the datapath (until the datapath consumes them in-process, they are
//! applied to a local copy and summarised in the log).

use std::sync::Arc;

use dpuflow_control::agent::metrics::{self, Health, Metrics};
use dpuflow_control::agent::Agent;
use dpuflow_control::config::{self, LoadContext};
use dpuflow_control::protocol::mac::MacAddr;
use dpuflow_tables::Tables;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Options of `dpuflow agent`.
#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    /// The configuration (see `dpuflow check-config --help`).
    #[command(flatten)]
    config: config::ConfigArgs,
}

pub fn agent(args: &AgentArgs) -> Result<(), Error> {
    let cfg = match config::load(&args.config, &LoadContext::from_process()) {
        Ok(c) => Arc::new(c),
        Err(errors) => return Err(format!("invalid configuration:\n{errors}").into()),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(cfg))
}

/// The host PF representor's MAC from sysfs (`host-pf-port`, default
/// `pf0hpf`): the gateway MAC OVN-K expects in l3-gateway-config.
fn host_pf_mac(cfg: &config::Config) -> Option<MacAddr> {
    let port = cfg.datapath.host_pf_port.as_deref().unwrap_or("pf0hpf");
    let text = std::fs::read_to_string(format!("/sys/class/net/{port}/address")).ok()?;
    text.trim().parse().ok()
}

async fn run(cfg: Arc<config::Config>) -> Result<(), Error> {
    let client = kube::Client::try_from(config::kube_config(&cfg.host_k8s).await?)?;
    let metrics = Arc::new(Metrics::new()?);
    let health = Arc::new(Health::default());
    let server = tokio::spawn(metrics::serve(
        cfg.metrics_listen,
        metrics.clone(),
        health.clone(),
    ));
    let (tx, rx) = crossbeam_channel::unbounded::<Vec<dpuflow_tables::Update>>();
    std::thread::spawn(move || {
        let mut tables = Tables::default();
        for batch in rx {
            let n = batch.len();
            tables.apply_all(batch);
            tracing::info!(
                updates = n,
                pods = tables.pods.len(),
                services = tables.services.len(),
                policies = tables.policies.len(),
                remote_nodes = tables.remote_nodes.len(),
                "datapath tables updated"
            );
        }
    });
    tracing::info!(node = %cfg.node.host_k8s_nodename, metrics = %cfg.metrics_listen, "agent starting");
    let mut agent = Agent::new(client, cfg.clone(), tx, metrics, health);
    match host_pf_mac(&cfg) {
        Some(mac) => agent = agent.with_host_pf_mac(mac),
        None => tracing::warn!(
            port = ?cfg.datapath.host_pf_port,
            "host PF representor MAC unknown: k8s.ovn.org/l3-gateway-config is not written"
        ),
    }
    let result = agent
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    server.abort();
    Ok(result?)
}
