//! The raw forwarding poll loop: rx burst → tx burst, no classification.
//!
//! It is the skeleton the full datapath grows from and the baseline the
//! `raw-loop` benchmark measures against `dpdk-testpmd --forward-mode=io`.
//! Counters are per loop, single-writer relaxed atomics: the control thread
//! reads them without a lock and the loop never waits for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dpuflow_dpdk::{rdtsc, Burst, RxQueue, StopFlag, TxQueue};

/// Packets per burst.
pub const BURST: usize = 32;

/// Counters of one forwarding loop (one writer: the loop's lcore).
#[derive(Debug, Default)]
pub struct FwdCounters {
    /// Packets received.
    pub rx: AtomicU64,
    /// Packets sent.
    pub tx: AtomicU64,
    /// Packets dropped because tx had no room.
    pub tx_dropped: AtomicU64,
    /// TSC cycles spent in iterations that received packets.
    pub busy_cycles: AtomicU64,
    /// TSC at the loop's start (0 before); the TSC is synchronised across
    /// cores, so readers derive the loop's total cycles from it.
    pub started_tsc: AtomicU64,
}

/// A plain copy of [`FwdCounters`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FwdSnapshot {
    /// Packets received.
    pub rx: u64,
    /// Packets sent.
    pub tx: u64,
    /// Packets dropped because tx had no room.
    pub tx_dropped: u64,
    /// Busy TSC cycles.
    pub busy_cycles: u64,
    /// All TSC cycles.
    pub total_cycles: u64,
}

impl FwdCounters {
    /// Reads all counters.
    pub fn snapshot(&self) -> FwdSnapshot {
        FwdSnapshot {
            rx: self.rx.load(Ordering::Relaxed),
            tx: self.tx.load(Ordering::Relaxed),
            tx_dropped: self.tx_dropped.load(Ordering::Relaxed),
            busy_cycles: self.busy_cycles.load(Ordering::Relaxed),
            total_cycles: match self.started_tsc.load(Ordering::Relaxed) {
                0 => 0,
                start => rdtsc().wrapping_sub(start),
            },
        }
    }
}

impl FwdSnapshot {
    /// Busy cycles per forwarded packet (0 when nothing was forwarded).
    pub fn cycles_per_packet(&self) -> f64 {
        if self.tx == 0 {
            0.0
        } else {
            self.busy_cycles as f64 / self.tx as f64
        }
    }
}

/// One direction: what arrives on `rx` leaves on `tx`.
#[derive(Debug)]
pub struct FwdPair {
    /// Where packets come from.
    pub rx: RxQueue,
    /// Where they go.
    pub tx: TxQueue,
}

/// Forwards every pair in turn until `stop` is raised; returns the pairs.
///
/// A packet that tx cannot take is dropped and counted, never retried in a
/// spin: a stalled port must not stall the others.
pub fn forward(
    mut pairs: Vec<FwdPair>,
    stop: &StopFlag,
    counters: &Arc<FwdCounters>,
) -> Vec<FwdPair> {
    let mut burst = Burst::<BURST>::new();
    let mut local = FwdSnapshot::default();
    counters.started_tsc.store(rdtsc(), Ordering::Relaxed);
    while !stop.is_stopped() {
        for pair in pairs.iter_mut() {
            let t0 = rdtsc();
            let n = pair.rx.rx_burst(&mut burst);
            if n == 0 {
                continue;
            }
            let sent = pair.tx.tx_burst(&mut burst);
            let dropped = burst.len();
            burst.clear();
            local.rx += n as u64;
            local.tx += sent as u64;
            local.tx_dropped += dropped as u64;
            local.busy_cycles += rdtsc().wrapping_sub(t0);
        }
        publish(counters, &local);
    }
    pairs
}

#[inline]
fn publish(counters: &FwdCounters, local: &FwdSnapshot) {
    counters.rx.store(local.rx, Ordering::Relaxed);
    counters.tx.store(local.tx, Ordering::Relaxed);
    counters
        .tx_dropped
        .store(local.tx_dropped, Ordering::Relaxed);
    counters
        .busy_cycles
        .store(local.busy_cycles, Ordering::Relaxed);
}
