//! `dpuflow-perf <scenario>`: benchmarks that measure dpuflow and a peer in
//! the same run, interleaved, and end with one `RESULT` line.

mod child;
mod pcapgen;
mod raw_loop;
mod report;
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
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.scenario {
        Scenario::RawLoop(args) => raw_loop::run(&args),
        Scenario::RawLoopWorker(args) => raw_loop::worker(&args),
    };
    if let Err(err) = result {
        eprintln!("dpuflow-perf: error: {err}");
        std::process::exit(1);
    }
}
