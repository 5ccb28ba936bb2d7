//! Scenario `pipeline`: dpuflow's whole datapath (`Datapath`: the engine's
//! parse → connection lookup → classification → NAT/routing/Geneve, in
//! the poll loop, over every port of a DPU) against `dpdk-testpmd` on the
//! same ports and the same core, self-fed: the pcap of one local pod's
//! flows (to other local pods, to pods on remote nodes, to ClusterIPs) is
//! replayed by `net_pcap` (`infinite_rx=1`) on that pod's representor;
//! every other port (uplink, host PF, the other pods' representors) is a
//! tx-only `net_null`. Windows alternate dpuflow and each testpmd mode,
//! the starting side swapping every round.
//!
//! Work compared: testpmd `io` moves the same frames between the same
//! ports and touches no byte (the floor); `csum` parses each frame,
//! rewrites both MACs and recomputes the IPv4 and UDP checksums in
//! software (the nearest testpmd mode to a routed hop). dpuflow also
//! checks port security, looks the connection up (and creates it on a
//! flow's first packet), DNATs service traffic, decrements the TTL,
//! rewrites MACs, Geneve-encapsulates about 60 % of the frames with a
//! full UDP checksum, and splits each burst by output port.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dpuflow_datapath::{Datapath, DatapathConfig, DatapathPort};
use dpuflow_dpdk::{EalBuilder, Mempool, MempoolConfig, Port};
use dpuflow_engine::lookup::PortRole;
use dpuflow_engine::{Reason, Stats};
use dpuflow_packet::DropReason;
use dpuflow_tables::Tables;

use crate::cluster::{Cluster, UNDERLAY_MAC};
use crate::report::{med_min_max, median, result_line};
use crate::{child, pcapgen, testpmd, Error};

/// How long the tables may take to go live in a measured child.
const LIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of the scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds per measured window.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Windows of each side (dpuflow and every testpmd mode), alternating.
    #[arg(long, default_value_t = 5)]
    windows: u32,
    /// testpmd forwarding modes run as peers; `io` is required (the RESULT
    /// lines compare against it).
    #[arg(long, value_delimiter = ',', default_value = "io,csum")]
    peers: Vec<String>,
    #[command(flatten)]
    cluster: Cluster,
}

/// Options of one measured dpuflow window (a child process: one EAL each).
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// The pcap to replay.
    #[arg(long)]
    pcap: PathBuf,
    /// Seconds to measure.
    #[arg(long)]
    seconds: f64,
    #[command(flatten)]
    cluster: Cluster,
}

/// The DPDK device behind port `i` of [`Cluster::ports`]: the uplink and
/// the host PF are `net_null0`/`net_null1`, pod 0 (the sender) is the pcap,
/// pod `k` is `net_null{k+1}`.
fn device(i: usize) -> String {
    match i {
        0 | 1 => format!("net_null{i}"),
        2 => "net_pcap0".to_owned(),
        _ => format!("net_null{}", i - 1),
    }
}

/// Mbufs for both sides: the pcap PMD keeps the whole file in mbufs.
fn mbufs(c: &Cluster) -> u32 {
    (c.flows + 8192).next_power_of_two() - 1
}

/// The EAL arguments both sides use: same cores, memory and ports, in the
/// same order (the pcap is port 0).
fn eal_args(pcap: &Path, c: &Cluster) -> Vec<String> {
    let mut args: Vec<String> = [
        "-l",
        "0-1",
        "--no-pci",
        "--no-huge",
        "--no-shconf",
        "-m",
        "512",
        "--log-level",
        "notice",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push("--vdev".into());
    args.push(format!(
        "net_pcap0,rx_pcap={},infinite_rx=1",
        pcap.display()
    ));
    for i in (0..c.ports().len()).filter(|&i| i != 2) {
        args.push("--vdev".into());
        args.push(format!("{},no-rx=1", device(i)));
    }
    args
}

fn testpmd_args(mode: &str, c: &Cluster) -> Vec<String> {
    vec![
        format!("--forward-mode={mode}"),
        "--nb-cores=1".into(),
        "--rxq=1".into(),
        "--txq=1".into(),
        "--burst=32".into(),
        format!("--total-num-mbufs={}", mbufs(c) + 1),
        "--disable-link-check".into(),
        "--record-core-cycles".into(),
        "--no-flush-rx".into(),
    ]
}

/// One measured window of one side.
#[derive(Clone, Debug)]
struct Sample {
    /// Frames received and handled per second (millions).
    mpps: f64,
    /// The side's own busy-cycle counter per packet.
    busy_cycles: Option<f64>,
    /// TSC cycles of the window per packet (same definition both sides).
    wall_cycles: Option<f64>,
}

/// What dpuflow's child reported for its window.
#[derive(Debug, Default)]
struct OursRun {
    packets: u64,
    forwarded: u64,
    answered: u64,
    seconds: f64,
    busy_cycles: u64,
    tsc_hz: u64,
    conns_total: u64,
    conn_hits: u64,
    tx_dropped: u64,
    multi_segment: u64,
    tx_uplink: u64,
    tx_pods: u64,
    tx_host: u64,
    drops: BTreeMap<String, u64>,
    malformed: BTreeMap<String, u64>,
}

impl OursRun {
    fn sample(&self) -> Sample {
        let per = |v: f64| (self.packets > 0).then(|| v / self.packets as f64);
        Sample {
            mpps: self.packets as f64 / self.seconds / 1e6,
            busy_cycles: per(self.busy_cycles as f64),
            wall_cycles: per(self.tsc_hz as f64 * self.seconds),
        }
    }

    fn parse(line: &str) -> Result<Self, Error> {
        let fields: BTreeMap<&str, &str> = line
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let num = |k: &str| -> Result<u64, Error> {
            fields
                .get(k)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("worker line lacks {k}: {line}").into())
        };
        let map = |k: &str| -> BTreeMap<String, u64> {
            fields
                .get(k)
                .into_iter()
                .flat_map(|v| v.split(','))
                .filter_map(|kv| kv.split_once(':'))
                .filter_map(|(r, n)| Some((r.to_owned(), n.parse().ok()?)))
                .collect()
        };
        Ok(Self {
            packets: num("packets")?,
            forwarded: num("forwarded")?,
            answered: num("answered")?,
            seconds: fields
                .get("seconds")
                .and_then(|v| v.parse().ok())
                .ok_or("worker line lacks seconds")?,
            busy_cycles: num("busy_cycles")?,
            tsc_hz: num("tsc_hz")?,
            conns_total: num("conns_total")?,
            conn_hits: num("conn_hits")?,
            tx_dropped: num("tx_dropped")?,
            multi_segment: num("multi_segment")?,
            tx_uplink: num("tx_uplink")?,
            tx_pods: num("tx_pods")?,
            tx_host: num("tx_host")?,
            drops: map("drops"),
            malformed: map("malformed"),
        })
    }
}

/// Sides of a round.
#[derive(Clone, Debug)]
enum Side {
    Ours,
    Testpmd(String),
}

impl Side {
    fn name(&self) -> String {
        match self {
            Side::Ours => "dpuflow".to_owned(),
            Side::Testpmd(mode) => format!("testpmd-{mode}"),
        }
    }
}

pub fn run(args: &Args) -> Result<(), Error> {
    let c = &args.cluster;
    c.check()?;
    fits_dpdk(c)?;
    if !args.peers.iter().any(|p| p == "io") {
        return Err("--peers must include io (the RESULT lines compare against it)".into());
    }
    if args.windows == 0 || args.seconds <= 0.0 {
        return Err("--windows and --seconds must be positive".into());
    }
    testpmd_present()?;
    let dir = std::env::temp_dir().join(format!("dpuflow-perf-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let pcap = dir.join("flows.pcap");
    pcapgen::write_frames(&pcap, (0..c.flows).map(|f| c.frame(f)))?;
    let result = measure(args, &pcap);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Debian's DPDK is built for at most `RTE_MAX_ETHPORTS` (32) ports.
fn fits_dpdk(c: &Cluster) -> Result<(), Error> {
    let max = dpuflow_sys::RTE_MAX_ETHPORTS as usize;
    if c.ports().len() > max {
        return Err(format!(
            "{} ports (uplink, host PF, {} representors) but this DPDK has at most {max}: \
             lower --representors",
            c.ports().len(),
            c.ports().len() - 2
        )
        .into());
    }
    Ok(())
}

fn testpmd_present() -> Result<(), Error> {
    match Command::new("dpdk-testpmd").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "dpdk-testpmd cannot run ({e}): install Debian's dpdk package (./scripts/setup.sh)"
        )
        .into()),
    }
}

fn measure(args: &Args, pcap: &Path) -> Result<(), Error> {
    let c = &args.cluster;
    // Pod 0's egress policy and every n-th other pod's ingress one.
    let policies = (c.local_pods - 1)
        .checked_div(c.policy_every)
        .map_or(0, |n| n + 1);
    println!(
        "pipeline: {} flows of {} B UDP frames from local pod 0, a third each to another local pod \
         (routed), a pod on a remote node (Geneve) and a ClusterIP (DNAT); tables: {} local pods \
         on {} representors (pod 0 alone on its own), {} remote nodes, {} services x {} \
         endpoints, policies on {} pods; {} ports (pod 0's representor is net_pcap with \
         infinite_rx, the rest tx-only net_null), 1 forwarding core; {} windows of {} s per \
         side, alternating order",
        c.flows,
        c.frame,
        c.local_pods,
        c.ports().len() - 2,
        c.remote_nodes,
        c.services,
        c.endpoints,
        policies,
        c.ports().len(),
        args.windows,
        args.seconds
    );
    let mut sides = vec![Side::Ours];
    sides.extend(args.peers.iter().map(|m| Side::Testpmd(m.clone())));
    let mut samples: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    let mut ours_runs = Vec::new();
    let mut last_tsc_hz = None;
    for window in 1..=args.windows {
        let mut order = sides.clone();
        if window % 2 == 0 {
            order.reverse();
        }
        for side in order {
            let sample = match &side {
                Side::Ours => {
                    let r = run_ours(pcap, args.seconds, c)?;
                    last_tsc_hz = Some(r.tsc_hz);
                    let s = r.sample();
                    println!(
                        "window {window} {:<13}: {:7.3} Mpps  busy {} cyc/pkt  wall {} cyc/pkt  \
                         forwarded {:.1}%  connections {}  drops {}",
                        side.name(),
                        s.mpps,
                        opt(s.busy_cycles),
                        opt(s.wall_cycles),
                        100.0 * r.forwarded as f64 / r.packets.max(1) as f64,
                        r.conns_total,
                        r.drops.values().sum::<u64>() + r.tx_dropped + r.multi_segment
                    );
                    ours_runs.push(r);
                    s
                }
                Side::Testpmd(mode) => {
                    let app = testpmd_args(mode, c);
                    let app: Vec<&str> = app.iter().map(String::as_str).collect();
                    let t = testpmd::measure(&eal_args(pcap, c), &app, args.seconds)?;
                    let hz = t.tsc_mhz.map(|m| m * 1e6).or(last_tsc_hz.map(|h| h as f64));
                    let s = Sample {
                        mpps: t.mpps(),
                        busy_cycles: t.cycles_per_packet,
                        wall_cycles: hz
                            .filter(|_| t.forwarded > 0)
                            .map(|hz| hz * t.seconds / t.forwarded as f64),
                    };
                    println!(
                        "window {window} {:<13}: {:7.3} Mpps  busy {} cyc/pkt  wall {} cyc/pkt",
                        side.name(),
                        s.mpps,
                        opt(s.busy_cycles),
                        opt(s.wall_cycles)
                    );
                    s
                }
            };
            samples.entry(side.name()).or_default().push(sample);
        }
    }
    summarize(args, &sides, &samples, &ours_runs)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"))
}

fn column(samples: &[Sample], f: impl Fn(&Sample) -> Option<f64>) -> Vec<f64> {
    samples.iter().filter_map(f).collect()
}

fn summarize(
    args: &Args,
    sides: &[Side],
    samples: &BTreeMap<String, Vec<Sample>>,
    ours: &[OursRun],
) -> Result<(), Error> {
    let c = &args.cluster;
    println!(
        "summary over {} windows, median (min .. max):",
        args.windows
    );
    for side in sides {
        let s = samples.get(&side.name()).map(Vec::as_slice).unwrap_or(&[]);
        println!(
            "  {:<13} {} Mpps   busy {} cyc/pkt   wall {} cyc/pkt",
            side.name(),
            med_min_max(&column(s, |x| Some(x.mpps)), 3),
            med_min_max(&column(s, |x| x.busy_cycles), 1),
            med_min_max(&column(s, |x| x.wall_cycles), 1)
        );
    }
    println!(
        "  (busy: each side's own counter — dpuflow's covers whole poll iterations, every port \
         polled; testpmd's covers only streams that received, so its empty polls of the other \
         {} ports are not in it. wall: TSC cycles of the window per packet, the same definition \
         for both; the cores were never idle, so it is the comparable one)",
        c.ports().len() - 1
    );
    let sum = |f: fn(&OursRun) -> u64| ours.iter().map(f).sum::<u64>();
    let (packets, forwarded) = (sum(|r| r.packets), sum(|r| r.forwarded));
    let tx_total = (sum(|r| r.tx_uplink) + sum(|r| r.tx_pods) + sum(|r| r.tx_host)).max(1) as f64;
    println!(
        "dpuflow: {packets} frames handled, {forwarded} forwarded, {} answered; connections \
         created per run {:?} ({} flows), hits {:.2}% of frames; tx: uplink {:.1}% (Geneve), pod \
         representors {:.1}%, host PF {:.1}%",
        sum(|r| r.answered),
        ours.iter().map(|r| r.conns_total).collect::<Vec<_>>(),
        c.flows,
        100.0 * sum(|r| r.conn_hits) as f64 / packets.max(1) as f64,
        100.0 * sum(|r| r.tx_uplink) as f64 / tx_total,
        100.0 * sum(|r| r.tx_pods) as f64 / tx_total,
        100.0 * sum(|r| r.tx_host) as f64 / tx_total,
    );
    let mut drops: BTreeMap<String, u64> = BTreeMap::new();
    for r in ours {
        for (k, v) in r.drops.iter().chain(&r.malformed) {
            *drops.entry(k.clone()).or_default() += v;
        }
    }
    drops.insert("tx_refused".into(), sum(|r| r.tx_dropped));
    drops.insert("multi_segment".into(), sum(|r| r.multi_segment));
    drops.retain(|_, v| *v > 0);
    println!(
        "dpuflow drops by reason: {} (the mix implies none)",
        if drops.is_empty() {
            "none".to_owned()
        } else {
            format!("{drops:?}")
        }
    );
    let by = |name: &str, f: fn(&Sample) -> Option<f64>| {
        median(&column(
            samples.get(name).map(Vec::as_slice).unwrap_or(&[]),
            f,
        ))
    };
    let malformed = drops.get(Reason::Malformed.as_str()).copied().unwrap_or(0);
    let port_security = drops
        .get(Reason::PortSecurity.as_str())
        .copied()
        .unwrap_or(0);
    println!(
        "checks: forwarded={forwarded} malformed={malformed} port_security={port_security} \
         drops={} tx_uplink={} tx_pods={}",
        drops.values().sum::<u64>(),
        sum(|r| r.tx_uplink),
        sum(|r| r.tx_pods)
    );
    for side in sides.iter().filter(|s| !matches!(s, Side::Ours)) {
        let name = side.name();
        if name == "testpmd-io" {
            continue;
        }
        println!(
            "vs {name}: ratio {:.3} in Mpps, {:.3} in wall cycles/packet",
            by("dpuflow", |s| Some(s.mpps)) / by(&name, |s| Some(s.mpps)),
            by("dpuflow", |s| s.wall_cycles) / by(&name, |s| s.wall_cycles)
        );
    }
    println!(
        "{}",
        result_line(
            "pipeline",
            by("dpuflow", |s| Some(s.mpps)),
            "testpmd-io",
            by("testpmd-io", |s| Some(s.mpps)),
            "Mpps"
        )
    );
    println!(
        "{}",
        result_line(
            "pipeline",
            by("dpuflow", |s| s.wall_cycles),
            "testpmd-io",
            by("testpmd-io", |s| s.wall_cycles),
            "cycles/packet"
        )
    );
    let mut failed = Vec::new();
    if ours.iter().any(|r| r.forwarded == 0) {
        failed.push("a dpuflow window forwarded nothing".to_owned());
    }
    if !drops.is_empty() {
        failed.push(format!("dpuflow dropped frames: {drops:?}"));
    }
    if let Some(r) = ours.iter().find(|r| r.conns_total != u64::from(c.flows)) {
        failed.push(format!(
            "a run created {} connections for {} flows",
            r.conns_total, c.flows
        ));
    }
    if sum(|r| r.tx_uplink) == 0 || sum(|r| r.tx_pods) == 0 {
        failed.push("the mix should reach both the uplink and pod representors".to_owned());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; ").into())
    }
}

fn run_ours(pcap: &Path, seconds: f64, c: &Cluster) -> Result<OursRun, Error> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("pipeline-worker")
        .arg("--pcap")
        .arg(pcap)
        .arg("--seconds")
        .arg(seconds.to_string());
    for (flag, v) in [
        ("--local-pods", c.local_pods),
        ("--representors", c.representors),
        ("--remote-nodes", c.remote_nodes),
        ("--services", c.services),
        ("--endpoints", c.endpoints),
        ("--policy-every", c.policy_every),
        ("--flows", c.flows),
    ] {
        cmd.arg(flag).arg(v.to_string());
    }
    cmd.arg("--frame").arg(c.frame.to_string());
    let line = child::worker_result(cmd)?;
    OursRun::parse(&line)
}

/// Counters at one instant.
struct Snapshot {
    at: Instant,
    stats: Stats,
    busy_cycles: u64,
    tx_dropped: u64,
    multi_segment: u64,
    tx_by_role: [u64; 3],
}

impl Snapshot {
    fn take(dp: &Datapath) -> Result<Self, Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut stats = Stats::default();
        let (mut busy_cycles, mut tx_dropped, mut multi_segment) = (0, 0, 0);
        for (s, w) in dp.stats().iter().zip(dp.counters()) {
            add_stats(&mut stats, s);
            busy_cycles += w.busy_cycles.load(Relaxed);
            tx_dropped += w.tx_dropped.load(Relaxed);
            multi_segment += w.multi_segment.load(Relaxed);
        }
        let mut tx_by_role = [0; 3];
        for p in dp.ports() {
            let slot = match p.role {
                PortRole::Uplink => 0,
                PortRole::Pod => 1,
                PortRole::HostPf => 2,
            };
            tx_by_role[slot] += p.port.stats()?.tx_packets;
        }
        Ok(Self {
            at: Instant::now(),
            stats,
            busy_cycles,
            tx_dropped,
            multi_segment,
            tx_by_role,
        })
    }
}

fn add_stats(into: &mut Stats, s: &Stats) {
    into.packets += s.packets;
    into.forwarded += s.forwarded;
    into.answered += s.answered;
    into.conn_hits += s.conn_hits;
    into.conns_created += s.conns_created;
    into.offload_requests += s.offload_requests;
    into.offload_dropped += s.offload_dropped;
    for (a, b) in into.drops.iter_mut().zip(s.drops) {
        *a += b;
    }
    for (a, b) in into.malformed.iter_mut().zip(s.malformed) {
        *a += b;
    }
}

/// `reason:count,...` of the non-zero counts in `after - before`.
fn nonzero<T: std::fmt::Display>(names: &[T], after: &[u64], before: &[u64]) -> String {
    let parts: Vec<String> = names
        .iter()
        .zip(after.iter().zip(before))
        .filter(|(_, (a, b))| a > b)
        .map(|(n, (a, b))| format!("{n}:{}", a - b))
        .collect();
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(",")
    }
}

/// The measured dpuflow window, in this (child) process.
pub fn worker(args: &WorkerArgs) -> Result<(), Error> {
    let c = &args.cluster;
    c.check()?;
    fits_dpdk(c)?;
    let mut b = EalBuilder::new("dpuflow-perf");
    for a in eal_args(&args.pcap, c) {
        b = b.arg(&a);
    }
    let eal = b.init()?;
    let pool = Mempool::new(
        &eal,
        "perf_pipeline",
        &MempoolConfig {
            size: mbufs(c),
            ..MempoolConfig::default()
        },
    )?;
    let mut ports = Vec::new();
    for (i, (name, role)) in c.ports().into_iter().enumerate() {
        let port = Port::by_name(&eal, &device(i))?;
        ports.push(DatapathPort { name, role, port });
    }
    let dp = Datapath::start(&eal, &pool, ports, DatapathConfig::default())?;
    // The underlay resolves every tunnel peer (net_null answers no ARP).
    for id in c.remote_ids() {
        dp.neighbours().set(Cluster::encap_ip(id), UNDERLAY_MAC);
    }
    let batch = Tables::diff(&Tables::default(), &c.tables());
    let n = dp.tables().send(batch).ok_or("the builder stopped")?;
    if !dp.tables().wait_live(n, LIVE_TIMEOUT) {
        return Err("the tables did not go live".into());
    }
    // Frames handled before the tables were live (dropped: node not
    // ready) stay out of the window.
    let before = Snapshot::take(&dp)?;
    std::thread::sleep(Duration::from_secs_f64(args.seconds));
    let after = Snapshot::take(&dp)?;
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    let (a, b) = (&after.stats, &before.stats);
    let drop_names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    let parser_names: Vec<&str> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
    println!(
        "WORKER packets={} forwarded={} answered={} seconds={seconds:.6} busy_cycles={} \
         tsc_hz={} conns_total={} conn_hits={} tx_dropped={} multi_segment={} tx_uplink={} \
         tx_pods={} tx_host={} drops={} malformed={}",
        a.packets - b.packets,
        a.forwarded - b.forwarded,
        a.answered - b.answered,
        after.busy_cycles - before.busy_cycles,
        eal.tsc_hz(),
        a.conns_created,
        a.conn_hits - b.conn_hits,
        after.tx_dropped - before.tx_dropped,
        after.multi_segment - before.multi_segment,
        after.tx_by_role[0] - before.tx_by_role[0],
        after.tx_by_role[1] - before.tx_by_role[1],
        after.tx_by_role[2] - before.tx_by_role[2],
        nonzero(&drop_names, &a.drops, &b.drops),
        nonzero(&parser_names, &a.malformed, &b.malformed),
    );
    dp.stop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_line_round_trips() {
        let line = "WORKER packets=300 forwarded=290 answered=0 seconds=2.000000 \
                    busy_cycles=30000 tsc_hz=2000000000 conns_total=12 conn_hits=288 \
                    tx_dropped=0 multi_segment=0 tx_uplink=160 tx_pods=130 tx_host=0 \
                    drops=no_route:4,port_security:6 malformed=-";
        let r = OursRun::parse(line).expect("parses");
        assert_eq!((r.packets, r.forwarded, r.tx_uplink), (300, 290, 160));
        assert_eq!(r.drops.get("port_security"), Some(&6));
        assert!(r.malformed.is_empty());
        let s = r.sample();
        assert!((s.mpps - 150e-6).abs() < 1e-12);
        assert_eq!(s.busy_cycles, Some(100.0));
        assert_eq!(s.wall_cycles, Some(2e9 * 2.0 / 300.0));
    }

    #[test]
    fn ports_map_to_devices_once_each() {
        let c = Cluster {
            local_pods: 6,
            representors: 3,
            remote_nodes: 1,
            services: 1,
            endpoints: 1,
            policy_every: 0,
            flows: 3,
            frame: 64,
        };
        let devices: Vec<String> = (0..c.ports().len()).map(device).collect();
        assert_eq!(
            devices,
            [
                "net_null0",
                "net_null1",
                "net_pcap0",
                "net_null2",
                "net_null3",
                "net_null4"
            ]
        );
        // Pod 0 (the pcap) is port 2 of the list: the sender's representor.
        assert_eq!(c.ports()[2].0, c.pod_port_name(0));
        let args = eal_args(Path::new("/x.pcap"), &c);
        let vdevs: Vec<&String> = args
            .iter()
            .zip(args.iter().skip(1))
            .filter(|(k, _)| *k == "--vdev")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(vdevs.len(), devices.len());
        assert!(vdevs[0].starts_with("net_pcap0,rx_pcap=/x.pcap,infinite_rx=1"));
    }
}
