//! Scenario `raw-loop`: dpuflow's raw rx→tx poll loop against
//! `dpdk-testpmd --forward-mode=io`, both self-fed on one core: rx from
//! `net_pcap` replaying an in-memory pcap (64 B frames, 10k flows), tx into
//! `net_null`. Runs alternate (ours, testpmd, ours, ...) in one invocation.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use dpuflow_datapath::fwd::{forward, FwdCounters, FwdPair};
use dpuflow_dpdk::{EalBuilder, Mempool, MempoolConfig, Port, PortConfig, StopFlag};

use crate::report::{median, result_line, spread};
use crate::{child, pcapgen, testpmd, Error};

/// Options of the scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds per measured run.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Runs of each side (alternating).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Distinct flows in the replayed pcap.
    #[arg(long, default_value_t = 10_000)]
    flows: u32,
    /// Frame size in bytes (without FCS).
    #[arg(long, default_value_t = 64)]
    frame: usize,
}

/// Options of one measured dpuflow run (a child process: one EAL each).
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// The pcap to replay.
    #[arg(long)]
    pcap: PathBuf,
    /// Seconds to measure.
    #[arg(long)]
    seconds: f64,
}

/// The EAL arguments both sides use: same cores, memory, ports.
fn eal_args(pcap: &std::path::Path) -> Vec<String> {
    [
        "-l",
        "0-1",
        "--no-pci",
        "--no-huge",
        "--no-shconf",
        "-m",
        "512",
        "--log-level",
        "notice",
        "--vdev",
        &format!("net_pcap0,rx_pcap={},infinite_rx=1", pcap.display()),
        "--vdev",
        "net_null0,no-rx=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

const TESTPMD_ARGS: [&str; 9] = [
    "--forward-mode=io",
    "--nb-cores=1",
    "--rxq=1",
    "--txq=1",
    "--burst=32",
    "--total-num-mbufs=16384",
    "--disable-link-check",
    "--record-core-cycles",
    "--no-flush-rx",
];

/// One side's measurement.
struct Sample {
    mpps: f64,
    cycles_per_packet: Option<f64>,
}

pub fn run(args: &Args) -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("dpuflow-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let pcap = dir.join("flows.pcap");
    pcapgen::write_flows(&pcap, args.flows, args.frame)?;
    println!(
        "raw-loop: {} flows of {} B frames, {} s per run, {} rounds; net_pcap (infinite_rx) -> net_null, 1 forwarding core",
        args.flows, args.frame, args.seconds, args.rounds
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let o = run_ours(&pcap, args.seconds)?;
        println!(
            "round {round} dpuflow : {:7.2} Mpps  {}",
            o.mpps,
            cycles(o.cycles_per_packet)
        );
        let t = testpmd::measure(&eal_args(&pcap), &TESTPMD_ARGS, args.seconds)?;
        println!(
            "round {round} testpmd : {:7.2} Mpps  {}",
            t.mpps(),
            cycles(t.cycles_per_packet)
        );
        ours.push(o);
        theirs.push(Sample {
            mpps: t.mpps(),
            cycles_per_packet: t.cycles_per_packet,
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    summarize(&ours, &theirs);
    Ok(())
}

fn cycles(c: Option<f64>) -> String {
    c.map_or("busy cycles/pkt n/a".to_string(), |c| {
        format!("{c:6.1} busy cycles/pkt")
    })
}

fn summarize(ours: &[Sample], theirs: &[Sample]) {
    let o: Vec<f64> = ours.iter().map(|s| s.mpps).collect();
    let t: Vec<f64> = theirs.iter().map(|s| s.mpps).collect();
    let oc: Vec<f64> = ours.iter().filter_map(|s| s.cycles_per_packet).collect();
    let tc: Vec<f64> = theirs.iter().filter_map(|s| s.cycles_per_packet).collect();
    println!(
        "median dpuflow {:.2} Mpps (spread {:.1}%, {:.1} cyc/pkt), testpmd {:.2} Mpps (spread {:.1}%, {:.1} cyc/pkt)",
        median(&o),
        100.0 * spread(&o),
        median(&oc),
        median(&t),
        100.0 * spread(&t),
        median(&tc)
    );
    println!(
        "{}",
        result_line("raw-loop", median(&o), "testpmd", median(&t), "Mpps")
    );
}

fn run_ours(pcap: &std::path::Path, seconds: f64) -> Result<Sample, Error> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("raw-loop-worker")
        .arg("--pcap")
        .arg(pcap)
        .arg("--seconds")
        .arg(seconds.to_string());
    let line = child::worker_result(cmd)?;
    let field = |name: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    Ok(Sample {
        mpps: field("mpps").ok_or("worker line lacks mpps")?,
        cycles_per_packet: field("cycles_per_packet"),
    })
}

/// The measured dpuflow run, in this (child) process.
pub fn worker(args: &WorkerArgs) -> Result<(), Error> {
    let mut b = EalBuilder::new("dpuflow-perf");
    for a in eal_args(&args.pcap) {
        b = b.arg(&a);
    }
    let eal = b.init()?;
    let pool = Mempool::new(
        &eal,
        "perf_rx",
        &MempoolConfig {
            size: 16383,
            ..MempoolConfig::default()
        },
    )?;
    let mut ports = Vec::new();
    for name in ["net_pcap0", "net_null0"] {
        let mut p = Port::by_name(&eal, name)?;
        p.configure(&PortConfig::default(), &pool)?;
        p.start()?;
        ports.push(p);
    }
    // Like testpmd io-fwd with two ports: both directions are polled.
    let pairs = vec![
        FwdPair {
            rx: ports[0].rx_queue(0)?,
            tx: ports[1].tx_queue(0)?,
        },
        FwdPair {
            rx: ports[1].rx_queue(0)?,
            tx: ports[0].tx_queue(0)?,
        },
    ];
    let lcore = *eal.worker_lcores().first().ok_or("need a worker lcore")?;
    let stop = StopFlag::new();
    let counters = Arc::new(FwdCounters::default());
    let (flag, c) = (stop.clone(), counters.clone());
    let job = eal.launch(lcore, move || drop(forward(pairs, &flag, &c)))?;
    let t0 = Instant::now();
    std::thread::sleep(std::time::Duration::from_secs_f64(args.seconds));
    let snap = counters.snapshot();
    let secs = t0.elapsed().as_secs_f64();
    stop.stop();
    job.join()?;
    println!(
        "WORKER mpps={:.4} forwarded={} seconds={:.3} cycles_per_packet={:.2} dropped={}",
        snap.tx as f64 / secs / 1e6,
        snap.tx,
        secs,
        snap.cycles_per_packet(),
        snap.tx_dropped
    );
    Ok(())
}
