//! `dpuflow`: the DPU datapath agent for OVN-Kubernetes.
//!
//! Today it runs the forwarding datapath on DPDK ports (`dpuflow run`);
//! the Kubernetes control plane grows around it.

mod run;

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
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
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
