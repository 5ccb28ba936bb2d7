//! `dpuflow`: the DPU datapath agent for OVN-Kubernetes.
//!
//! `dpuflow run` runs the forwarding datapath on DPDK ports; `dpuflow
//! agent` runs the control plane against the host cluster;
//! `dpuflow check-config` validates the settings.

mod agent_cmd;
mod run;

use dpuflow_control::config;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "dpuflow", version, about = "DPU datapath for OVN-Kubernetes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the datapath: forward between DPDK ports and print counters.
    Run(run::RunArgs),
    /// Run the control plane: watch the host cluster, answer the DPU
    /// handshake for this DPU's host node, serve metrics and health.
    Agent(Box<agent_cmd::AgentArgs>),
    /// Check the configuration: print the effective settings (secrets
    /// redacted) and exit 0, or print every error and exit 2.
    CheckConfig(Box<config::CheckConfigArgs>),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Agent(args) => agent_cmd::agent(&args),
        Command::CheckConfig(args) => std::process::exit(config::check_config(&args)),
    };
    if let Err(err) = result {
        eprintln!("dpuflow: error: {err}");
        let mut source = std::error::Error::source(err.as_ref());
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        std::process::exit(1);
    }
}
