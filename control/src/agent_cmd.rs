//! `dpuflow agent`: the control plane on its own — watches the host cluster,
//! answers the DPU handshake, serves metrics/health, and hands table updates
//! to the datapath (until the datapath consumes them in-process, they are
//! applied to a local copy and summarised in the log).

use std::sync::Arc;

use dpuflow_control::agent::metrics::{self, Health, Metrics};
use dpuflow_control::agent::Agent;
use dpuflow_control::config::{self, LoadContext};
use dpuflow_datapath::tables::Tables;

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

async fn run(cfg: Arc<config::Config>) -> Result<(), Error> {
    let client = kube::Client::try_from(config::kube_config(&cfg.host_k8s).await?)?;
    let metrics = Arc::new(Metrics::new()?);
    let health = Arc::new(Health::default());
    let server = tokio::spawn(metrics::serve(
        cfg.metrics_listen,
        metrics.clone(),
        health.clone(),
    ));
    let (tx, rx) = crossbeam_channel::unbounded::<Vec<dpuflow_datapath::tables::Update>>();
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
    let agent = Agent::new(client, cfg, tx, metrics, health);
    let result = agent
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    server.abort();
    Ok(result?)
}
