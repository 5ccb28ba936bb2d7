//! A worker's poll loop, run to completion on one lcore: rx bursts from
//! this worker's queues → parse the burst, prefetching its data and each
//! packet's connection buckets → the engine, frame by frame in arrival
//! order → per-port tx bursts.
//! Between iterations it picks up the newest table generation (one pointer
//! comparison), publishes its counters and, when idle, ages connections.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dpuflow_dpdk::{prefetch0, rdtsc, Burst, Mempool, RxQueue, StopFlag, TxQueue};
use dpuflow_engine::lookup::Compiled;
use dpuflow_engine::{Verdict, Worker};
use dpuflow_packet::{parse, DropReason};

use crate::counters::WorkerCounters;
use crate::frame::MbufFrame;
use crate::generation::Reader;

/// Frames per burst.
pub const BURST: usize = 32;
/// Empty polls in a row after which a worker may sleep
/// ([`PollLoop::idle_sleep`]).
pub const IDLE_POLLS: u32 = 64;
/// Connections aged per idle iteration.
const SWEEP_BUDGET: usize = 256;

/// One port as a worker sees it: its rx queue on the port (if it polls
/// one) and its own tx queue.
#[derive(Debug)]
pub struct PortQueues {
    /// DPDK port id.
    pub port: u16,
    /// The rx queue this worker polls, if any.
    pub rx: Option<RxQueue>,
    /// This worker's tx queue.
    pub tx: TxQueue,
}

/// Everything one worker owns.
#[derive(Debug)]
pub struct PollLoop {
    /// The pipeline.
    pub engine: Worker,
    /// Table generations.
    pub reader: Reader<Compiled>,
    /// Every port of the datapath.
    pub ports: Vec<PortQueues>,
    /// Where counters are published.
    pub counters: Arc<WorkerCounters>,
    /// Buffers for what the worker sends of its own (neighbour
    /// confirmations).
    pub pool: Mempool,
    /// The datapath's clock (shared by every worker and the neighbour
    /// table, so that times compare).
    pub epoch: Instant,
    /// Sleep after [`IDLE_POLLS`] empty polls; `None` spins.
    pub idle_sleep: Option<Duration>,
}

impl PollLoop {
    /// Runs until `stop` is raised; returns the loop (queues included).
    pub fn run(mut self, stop: &StopFlag) -> Self {
        let mut rx = Burst::<BURST>::new();
        let mut parsed = [Err(DropReason::Truncated); BURST];
        let mut tx: Vec<Burst<BURST>> = self.ports.iter().map(|_| Burst::new()).collect();
        let slot_of = slots(&self.ports);
        let epoch = self.epoch;
        let mut busy = 0u64;
        let mut idle = 0u32;
        while !stop.is_stopped() {
            let now = epoch.elapsed().as_millis() as u64;
            let gen = self.reader.refresh();
            self.counters
                .generation
                .store(gen.number, Ordering::Relaxed);
            let mut received = 0;
            let t0 = rdtsc();
            for i in 0..self.ports.len() {
                let (port, n) = match self.ports.get_mut(i) {
                    Some(PortQueues {
                        port, rx: Some(q), ..
                    }) => (*port, q.rx_burst(&mut rx)),
                    _ => continue,
                };
                received += n;
                // Stage 1: parse the burst and prefetch each packet's
                // connection buckets, so the lookups of stage 2 overlap
                // their cache misses instead of taking them one by one.
                rx.prefetch_data();
                for (slot, m) in parsed.iter_mut().zip(rx.as_slice()) {
                    let p = parse(m.data());
                    if let Ok(p) = &p {
                        self.engine.prefetch(p, prefetch0);
                    }
                    *slot = p;
                }
                // Stage 2: the pipeline, frame by frame in arrival order.
                for (mut m, p) in rx.drain().zip(parsed.iter()) {
                    if !m.is_contiguous() {
                        self.counters.multi_segment.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let verdict = self.engine.process_parsed(
                        &gen.tables,
                        &mut MbufFrame(&mut m),
                        *p,
                        port,
                        now,
                    );
                    let Verdict::Tx(out) = verdict else { continue };
                    let Some(&Some(slot)) = slot_of.get(usize::from(out)) else {
                        continue;
                    };
                    if let Some(b) = tx.get_mut(slot) {
                        if b.is_full() {
                            flush(&mut self.ports, slot, b, &self.counters);
                        }
                        let _ = b.push(m);
                    }
                }
            }
            let uplink = gen.tables.ports.uplink();
            if let Some(&Some(slot)) = uplink.and_then(|u| slot_of.get(usize::from(u))) {
                send_refreshes(
                    &mut self.engine,
                    &self.pool,
                    slot,
                    &mut tx,
                    &mut self.ports,
                    &self.counters,
                );
            }
            for (slot, b) in tx.iter_mut().enumerate() {
                if !b.is_empty() {
                    flush(&mut self.ports, slot, b, &self.counters);
                }
            }
            if received == 0 {
                self.engine.sweep(now, SWEEP_BUDGET);
                idle = idle.saturating_add(1);
                if let Some(pause) = self.idle_sleep.filter(|_| idle >= IDLE_POLLS) {
                    std::thread::sleep(pause);
                }
            } else {
                idle = 0;
                self.engine.quiesce();
                busy += rdtsc().wrapping_sub(t0);
                self.counters.busy_cycles.store(busy, Ordering::Relaxed);
            }
            self.counters.publish(&self.engine.stats);
        }
        self
    }
}

/// Builds the worker's neighbour confirmations in fresh buffers and
/// queues them on the uplink's tx burst `slot` (none when the pool is
/// empty: the next stale use asks again).
fn send_refreshes(
    engine: &mut Worker,
    pool: &Mempool,
    slot: usize,
    tx: &mut [Burst<BURST>],
    ports: &mut [PortQueues],
    counters: &WorkerCounters,
) {
    for r in engine.take_refreshes() {
        let Ok(mut m) = pool.alloc() else { continue };
        if r.build(&mut MbufFrame(&mut m)).is_err() {
            continue;
        }
        if let Some(b) = tx.get_mut(slot) {
            if b.is_full() {
                flush(ports, slot, b, counters);
            }
            let _ = b.push(m);
        }
    }
}

/// Port id → position in `ports`.
fn slots(ports: &[PortQueues]) -> Vec<Option<usize>> {
    let max = ports.iter().map(|p| usize::from(p.port)).max().unwrap_or(0);
    let mut out = vec![None; max + 1];
    for (i, p) in ports.iter().enumerate() {
        if let Some(s) = out.get_mut(usize::from(p.port)) {
            *s = Some(i);
        }
    }
    out
}

fn flush(ports: &mut [PortQueues], slot: usize, b: &mut Burst<BURST>, c: &WorkerCounters) {
    if let Some(p) = ports.get_mut(slot) {
        p.tx.tx_burst(b);
    }
    if !b.is_empty() {
        c.tx_dropped.fetch_add(b.len() as u64, Ordering::Relaxed);
        b.clear();
    }
}
