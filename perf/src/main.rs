//! `dpuflow-perf <scenario>`: benchmarks that measure dpuflow and a peer in
//! the same run, interleaved, and end with one `RESULT` line.

mod child;
mod cluster;
mod control;
mod pcapgen;
mod pipeline;
mod raw_loop;
mod report;
mod rules;
mod testpmd;

use clap::{Parser, Subcommand};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Debug)]
#[command(
    name = "dpuflow-perf",
    about = "dpuflow benchmarks against their peers"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Raw rx→tx poll loop vs `dpdk-testpmd --forward-mode=io`, one core each.
    RawLoop(raw_loop::Args),
    /// (internal) One measured run of dpuflow's raw loop in this process.
    #[command(hide = true)]
    RawLoopWorker(raw_loop::WorkerArgs),
    /// The whole datapath (pods, remote nodes over Geneve, ClusterIPs,
    /// policies) on one core vs `dpdk-testpmd` (io, csum) on the same ports.
    Pipeline(pipeline::Args),
    /// (internal) One measured window of dpuflow's datapath in this process.
    #[command(hide = true)]
    PipelineWorker(pipeline::WorkerArgs),
    /// Rules/s into rte_flow arrays (vs rte_flow_conv), through the rte_flow
    /// recorder (sync vs async) and into the software table; bytes per rule.
    Rules(rules::Args),
    /// (internal) Create+destroy through the preloaded rte_flow recorder.
    #[command(hide = true)]
    RulesWorker(rules::WorkerArgs),
    /// The control agent against a real kube-apiserver: pod connection-details
    /// → Ready and EndpointSlice change → datapath update (p50/p99), plus the
    /// size and time of a full resync from an in-memory snapshot.
    Control(control::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.scenario {
        Scenario::RawLoop(args) => raw_loop::run(&args),
        Scenario::RawLoopWorker(args) => raw_loop::worker(&args),
        Scenario::Pipeline(args) => pipeline::run(&args),
        Scenario::PipelineWorker(args) => pipeline::worker(&args),
        Scenario::Rules(args) => rules::run(&args),
        Scenario::RulesWorker(args) => rules::worker(&args),
        Scenario::Control(args) => control::run(&args),
    };
    if let Err(err) = result {
        eprintln!("dpuflow-perf: error: {err}");
        std::process::exit(1);
    }
}
