//! A worker's counters as the control thread reads them: the worker keeps
//! plain integers and stores copies here once per poll iteration (relaxed,
//! one writer), so reading never stops a worker and counting costs the
//! packet path nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use dpuflow_engine::{Reason, Stats};
use dpuflow_packet::DropReason;

/// Counters of one worker.
#[derive(Debug)]
pub struct WorkerCounters {
    packets: AtomicU64,
    forwarded: AtomicU64,
    answered: AtomicU64,
    requests: AtomicU64,
    conn_hits: AtomicU64,
    conn_hits_other_worker: AtomicU64,
    conns_created: AtomicU64,
    conns_ended: AtomicU64,
    offload_requests: AtomicU64,
    offload_dropped: AtomicU64,
    drops: [AtomicU64; Reason::COUNT],
    malformed: [AtomicU64; DropReason::ALL.len()],
    /// Frames the tx queue did not take (dropped).
    pub tx_dropped: AtomicU64,
    /// Multi-segment frames (dropped: the engine edits one segment).
    pub multi_segment: AtomicU64,
    /// TSC cycles of iterations that received packets.
    pub busy_cycles: AtomicU64,
    /// The table generation this worker runs.
    pub generation: AtomicU64,
}

impl Default for WorkerCounters {
    fn default() -> Self {
        Self {
            packets: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            conn_hits: AtomicU64::new(0),
            conn_hits_other_worker: AtomicU64::new(0),
            conns_created: AtomicU64::new(0),
            conns_ended: AtomicU64::new(0),
            offload_requests: AtomicU64::new(0),
            offload_dropped: AtomicU64::new(0),
            drops: std::array::from_fn(|_| AtomicU64::new(0)),
            malformed: std::array::from_fn(|_| AtomicU64::new(0)),
            tx_dropped: AtomicU64::new(0),
            multi_segment: AtomicU64::new(0),
            busy_cycles: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }
}

impl WorkerCounters {
    /// Stores the worker's engine counters.
    pub fn publish(&self, s: &Stats) {
        let set = |a: &AtomicU64, v: u64| a.store(v, Ordering::Relaxed);
        set(&self.packets, s.packets);
        set(&self.forwarded, s.forwarded);
        set(&self.answered, s.answered);
        set(&self.requests, s.requests);
        set(&self.conn_hits, s.conn_hits);
        set(&self.conn_hits_other_worker, s.conn_hits_other_worker);
        set(&self.conns_created, s.conns_created);
        set(&self.conns_ended, s.conns_ended);
        set(&self.offload_requests, s.offload_requests);
        set(&self.offload_dropped, s.offload_dropped);
        for (a, v) in self.drops.iter().zip(s.drops) {
            set(a, v);
        }
        for (a, v) in self.malformed.iter().zip(s.malformed) {
            set(a, v);
        }
    }

    /// The engine counters last published.
    pub fn stats(&self) -> Stats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = Stats {
            packets: get(&self.packets),
            forwarded: get(&self.forwarded),
            answered: get(&self.answered),
            requests: get(&self.requests),
            conn_hits: get(&self.conn_hits),
            conn_hits_other_worker: get(&self.conn_hits_other_worker),
            conns_created: get(&self.conns_created),
            conns_ended: get(&self.conns_ended),
            offload_requests: get(&self.offload_requests),
            offload_dropped: get(&self.offload_dropped),
            ..Stats::default()
        };
        for (v, a) in s.drops.iter_mut().zip(&self.drops) {
            *v = get(a);
        }
        for (v, a) in s.malformed.iter_mut().zip(&self.malformed) {
            *v = get(a);
        }
        s
    }
}
