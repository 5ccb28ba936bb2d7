//! `dpuflow run`: EAL + ports + the forwarding loop on a worker lcore, with
//! counters printed by the main thread.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dpuflow_datapath::fwd::{forward, FwdCounters, FwdPair, FwdSnapshot};
use dpuflow_dpdk::{Eal, EalBuilder, Mempool, MempoolConfig, Port, PortConfig, StopFlag};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Options of `dpuflow run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// DPDK virtual devices to create (`--vdev` devargs). Default: a
    /// generating `net_null` port forwarding into a sink `net_null` port.
    #[arg(long = "vdev", value_name = "DEVARGS")]
    vdevs: Vec<String>,
    /// Forwarding directions `RX_PORT:TX_PORT` by device name. Default:
    /// first vdev into the second, and back when both receive.
    #[arg(long = "forward", value_name = "RX:TX")]
    forwards: Vec<String>,
    /// EAL lcore list; the first is main, the forwarding loop runs on the
    /// next one (or on main when alone).
    #[arg(long, default_value = "0-1")]
    lcores: String,
    /// Stop after this many seconds (default: run until Ctrl-C / SIGTERM).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Seconds between counter lines.
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    stats_interval: f64,
    /// Memory for the EAL without hugepages, in MB.
    #[arg(long, default_value_t = 512)]
    memory_mb: u32,
    /// Use hugepages: `auto` (when some are free), `yes`, `no`.
    #[arg(long, default_value = "auto")]
    hugepages: String,
}

const DEFAULT_VDEVS: [&str; 2] = ["net_null0,size=64", "net_null1,no-rx=1"];

pub fn run(args: &RunArgs) -> Result<(), Error> {
    let vdevs: Vec<String> = if args.vdevs.is_empty() {
        DEFAULT_VDEVS.iter().map(|s| s.to_string()).collect()
    } else {
        args.vdevs.clone()
    };
    let eal = eal_builder(args, &vdevs)?.init()?;
    let pool = Mempool::new(&eal, "dpuflow_rx", &MempoolConfig::default())?;
    let names: Vec<&str> = vdevs
        .iter()
        .map(|v| v.split(',').next().unwrap_or(v))
        .collect();
    let mut ports = Vec::new();
    for name in &names {
        let mut port = Port::by_name(&eal, name)?;
        let cfg = PortConfig {
            rx_desc: 1024,
            tx_desc: 1024,
            ..PortConfig::default()
        };
        port.configure(&cfg, &pool)?;
        port.start()?;
        println!(
            "port {} {} mac {} link {:?}",
            port.id(),
            port.name(),
            port.mac()?,
            port.link()?
        );
        ports.push(port);
    }
    let pairs = pairs(&ports, &forward_specs(args, &names)?)?;
    forward_until_stopped(&eal, args, pairs, &ports)
}

fn eal_builder(args: &RunArgs, vdevs: &[String]) -> Result<EalBuilder, Error> {
    let mut b = EalBuilder::new("dpuflow").lcores(&args.lcores).no_pci();
    b = match args.hugepages.as_str() {
        "yes" => b.in_memory(),
        "no" => b.no_huge().no_shconf().memory_mb(args.memory_mb),
        "auto" if hugepages_free() => b.in_memory(),
        "auto" => b.no_huge().no_shconf().memory_mb(args.memory_mb),
        other => return Err(format!("--hugepages must be auto, yes or no, not {other:?}").into()),
    };
    for v in vdevs {
        b = b.vdev(v);
    }
    Ok(b)
}

/// Whether hugetlbfs is mounted and has free pages.
fn hugepages_free() -> bool {
    use procfs::Current;
    let mounted = procfs::mounts().is_ok_and(|m| m.iter().any(|e| e.fs_vfstype == "hugetlbfs"));
    let free = procfs::Meminfo::current()
        .ok()
        .and_then(|m| m.hugepages_free)
        .unwrap_or(0);
    mounted && free >= 64 && Path::new("/dev/hugepages").exists()
}

fn forward_specs(args: &RunArgs, names: &[&str]) -> Result<Vec<(String, String)>, Error> {
    if !args.forwards.is_empty() {
        return args
            .forwards
            .iter()
            .map(|f| {
                f.split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| format!("--forward wants RX:TX, got {f:?}").into())
            })
            .collect();
    }
    match names {
        [a, b, ..] => Ok(vec![(a.to_string(), b.to_string())]),
        [a] => Ok(vec![(a.to_string(), a.to_string())]),
        [] => Err("no ports to forward between".into()),
    }
}

fn pairs(ports: &[Port], specs: &[(String, String)]) -> Result<Vec<FwdPair>, Error> {
    let find = |name: &str| {
        ports
            .iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| format!("--forward names unknown port {name:?}"))
    };
    specs
        .iter()
        .map(|(rx, tx)| {
            Ok(FwdPair {
                rx: find(rx)?.rx_queue(0)?,
                tx: find(tx)?.tx_queue(0)?,
            })
        })
        .collect()
}

fn forward_until_stopped(
    eal: &Eal,
    args: &RunArgs,
    pairs: Vec<FwdPair>,
    ports: &[Port],
) -> Result<(), Error> {
    let stop = StopFlag::new();
    let on_signal = stop.clone();
    ctrlc::set_handler(move || on_signal.stop())?;
    let counters = Arc::new(FwdCounters::default());
    let lcore = eal.worker_lcores().first().copied();
    let (flag, c) = (stop.clone(), counters.clone());
    let worker = match lcore {
        Some(l) => Some(eal.launch(l, move || drop(forward(pairs, &flag, &c)))?),
        None => {
            return Err("need a worker lcore for the forwarding loop (e.g. --lcores 0-1)".into());
        }
    };
    println!("forwarding on lcore {}", lcore.unwrap_or(0));
    report_until(&stop, args, &counters, ports, eal.tsc_hz());
    stop.stop();
    if let Some(w) = worker {
        w.join()?;
    }
    let last = counters.snapshot();
    println!(
        "done: rx {} tx {} dropped {} ({:.1} cycles/pkt)",
        last.rx,
        last.tx,
        last.tx_dropped,
        last.cycles_per_packet()
    );
    Ok(())
}

fn report_until(stop: &StopFlag, args: &RunArgs, counters: &FwdCounters, ports: &[Port], hz: u64) {
    let start = Instant::now();
    let interval = Duration::from_secs_f64(args.stats_interval.max(0.05));
    let mut prev = (Instant::now(), FwdSnapshot::default());
    while !stop.is_stopped() {
        std::thread::sleep(interval.min(Duration::from_millis(100)));
        if prev.0.elapsed() < interval {
            if args
                .duration
                .is_some_and(|d| start.elapsed().as_secs_f64() >= d)
            {
                break;
            }
            continue;
        }
        let now = counters.snapshot();
        let secs = prev.0.elapsed().as_secs_f64();
        let mpps = (now.tx - prev.1.tx) as f64 / secs / 1e6;
        let busy = if now.total_cycles > prev.1.total_cycles {
            100.0 * (now.busy_cycles - prev.1.busy_cycles) as f64
                / (now.total_cycles - prev.1.total_cycles) as f64
        } else {
            0.0
        };
        let mut line = format!(
            "[{:6.1}s] fwd {:8.3} Mpps  rx {} tx {} drop {}  busy {:4.1}%  {:.1} cyc/pkt @ {} MHz |",
            start.elapsed().as_secs_f64(),
            mpps,
            now.rx,
            now.tx,
            now.tx_dropped,
            busy,
            now.cycles_per_packet(),
            hz / 1_000_000
        );
        for p in ports {
            if let Ok(s) = p.stats() {
                line.push_str(&format!(
                    " {}: rx {} tx {}",
                    p.name(),
                    s.rx_packets,
                    s.tx_packets
                ));
            }
        }
        println!("{line}");
        prev = (Instant::now(), now);
        if args
            .duration
            .is_some_and(|d| start.elapsed().as_secs_f64() >= d)
        {
            break;
        }
    }
}
