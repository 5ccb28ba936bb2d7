//! Offload state per connection, counters per reason.
//!
//! The manager thread writes a [`Status`]; any thread (`dpuflow flows`, the
//! metrics endpoint) reads it through a clone. It answers "why is this
//! connection not offloaded" for every direction the manager has seen;
//! [`Status::explain`] completes the answer for directions it has not (not
//! yet requested, or offload disabled).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use dpuflow_conntrack::{ConnId, ConnView, Dir};
use dpuflow_flow::OffloadErrorKind;

use crate::rules::NotEligible;

/// The offload state of one direction of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirOffload {
    /// Not asked for: the direction has not met the offload trigger yet.
    Waiting,
    /// Offload is off (`hw-offload=false`): the manager does not run.
    Disabled,
    /// Asked for; the rule is being built or inserted.
    Pending,
    /// A rule carries the direction's packets.
    Offloaded {
        /// The backend's handle of the rule, as its `Debug` prints it.
        rule: String,
        /// Packets the rule counted, as of the latest fold.
        hits: u64,
        /// Bytes the rule counted, as of the latest fold.
        bytes: u64,
    },
    /// The backend refused for a passing reason; the insert is retried
    /// with backoff.
    Retrying {
        /// The latest refusal's kind.
        kind: OffloadErrorKind,
        /// Failed attempts so far.
        attempts: u32,
    },
    /// The backend refused: the direction stays in software.
    Refused {
        /// The refusal's kind.
        kind: OffloadErrorKind,
        /// What the backend said.
        message: String,
    },
    /// The treatment cannot be a rule: the direction stays in software.
    NotEligible(NotEligible),
}

impl DirOffload {
    /// A short stable name of the state (`dpuflow flows`, metric labels).
    pub fn as_str(&self) -> &'static str {
        match self {
            DirOffload::Waiting => "waiting",
            DirOffload::Disabled => "disabled",
            DirOffload::Pending => "pending",
            DirOffload::Offloaded { .. } => "offloaded",
            DirOffload::Retrying { .. } => "retrying",
            DirOffload::Refused { .. } => "refused",
            DirOffload::NotEligible(_) => "not_eligible",
        }
    }
}

/// The offload state of both directions of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnOffload {
    /// Indexed forward then reply ([`Dir::index`]).
    pub dirs: [DirOffload; 2],
}

impl ConnOffload {
    /// Both directions waiting.
    pub fn waiting() -> Self {
        ConnOffload {
            dirs: [DirOffload::Waiting, DirOffload::Waiting],
        }
    }

    /// Direction `dir`'s state.
    pub fn dir(&self, dir: Dir) -> &DirOffload {
        &self.dirs[dir.index()]
    }
}

/// What the manager knows of each connection it has seen, shared with the
/// threads that ask. Cheap to clone (one `Arc`).
#[derive(Clone, Debug, Default)]
pub struct Status {
    conns: Arc<Mutex<HashMap<ConnId, ConnOffload>>>,
}

impl Status {
    /// An empty status.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConnId, ConnOffload>> {
        // A writer that panicked left whole entries (every write is one
        // assignment): the map is still consistent, so poisoning is ignored.
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connection `id`'s state, if the manager has seen it (and it lives).
    pub fn get(&self, id: ConnId) -> Option<ConnOffload> {
        self.lock().get(&id).cloned()
    }

    /// Every connection the manager knows, with its state.
    pub fn snapshot(&self) -> HashMap<ConnId, ConnOffload> {
        self.lock().clone()
    }

    /// Connections the manager knows.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when the manager knows no connection.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The whole answer for a live connection: the manager's state where it
    /// has one; otherwise [`DirOffload::Disabled`] when offload is off,
    /// [`DirOffload::Pending`] when a worker handed the direction over
    /// (its request is still queued), else [`DirOffload::Waiting`].
    pub fn explain(&self, view: &ConnView, enabled: bool) -> ConnOffload {
        let known = self.get(view.id);
        let dirs = [Dir::Forward, Dir::Reply].map(|d| {
            match known.as_ref().map(|k| k.dir(d)) {
                Some(DirOffload::Waiting) | None => {}
                Some(s) => return s.clone(),
            }
            if !enabled {
                DirOffload::Disabled
            } else if view.offload_claimed[d.index()] {
                DirOffload::Pending
            } else {
                DirOffload::Waiting
            }
        });
        ConnOffload { dirs }
    }

    /// Sets direction `dir` of `id` (the other one `Waiting` if new).
    pub(crate) fn set(&self, id: ConnId, dir: Dir, state: DirOffload) {
        self.lock()
            .entry(id)
            .or_insert_with(ConnOffload::waiting)
            .dirs[dir.index()] = state;
    }

    /// Updates the counters of an offloaded direction.
    pub(crate) fn set_hits(&self, id: ConnId, dir: Dir, new_hits: u64, new_bytes: u64) {
        if let Some(DirOffload::Offloaded { hits, bytes, .. }) =
            self.lock().get_mut(&id).map(|c| &mut c.dirs[dir.index()])
        {
            *hits = new_hits;
            *bytes = new_bytes;
        }
    }

    /// Forgets a connection (gone, or its rules removed at shutdown).
    pub(crate) fn forget(&self, id: ConnId) {
        self.lock().remove(&id);
    }
}

const KINDS: [OffloadErrorKind; 4] = [
    OffloadErrorKind::Unsupported,
    OffloadErrorKind::TableFull,
    OffloadErrorKind::Invalid,
    OffloadErrorKind::Transient,
];

fn kind_index(kind: OffloadErrorKind) -> usize {
    match kind {
        OffloadErrorKind::Unsupported => 0,
        OffloadErrorKind::TableFull => 1,
        OffloadErrorKind::Invalid => 2,
        OffloadErrorKind::Transient => 3,
    }
}

/// The manager's counters: relaxed atomics, written by the manager thread,
/// read by anyone (metrics). Every request ends in exactly one of
/// `installed`, `refused`, `not_eligible`, `stale` or `duplicate`, except
/// those still retrying.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests taken from the workers' channel.
    pub requests: AtomicU64,
    /// Requests for a direction already pending, retrying or offloaded
    /// (skipped).
    pub duplicate: AtomicU64,
    /// Rules installed.
    pub installed: AtomicU64,
    /// Rules removed (connection gone, aged, invalidated, shutdown).
    pub removed: AtomicU64,
    /// Directions refused, per [`OffloadErrorKind`] (see [`Counters::refused`]).
    refused: [AtomicU64; 4],
    /// Directions not eligible, per [`NotEligible::as_str`] (see
    /// [`Counters::not_eligible`]); reasons are few and fixed, so the map
    /// only grows to their number.
    not_eligible: Mutex<HashMap<&'static str, u64>>,
    /// Insert attempts retried after a retryable refusal.
    pub retries: AtomicU64,
    /// Connections ended because their rules aged out in the backend.
    pub aged: AtomicU64,
    /// Connections invalidated by a table change (rules removed, killed).
    pub invalidated: AtomicU64,
    /// Requests whose connection was gone before its rule was installed
    /// (including a rule removed at once because the connection died while
    /// its insert was in flight).
    pub stale: AtomicU64,
    /// Packets counted by rules and credited to their connections.
    pub folded_packets: AtomicU64,
    /// Bytes counted by rules and credited to their connections.
    pub folded_bytes: AtomicU64,
    /// Removes the backend refused (retried unless the handle was unknown).
    pub remove_errors: AtomicU64,
    /// Counter or aging queries the backend refused.
    pub query_errors: AtomicU64,
}

/// A plain copy of [`Counters`], for tests and exporters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// See [`Counters::requests`].
    pub requests: u64,
    /// See [`Counters::duplicate`].
    pub duplicate: u64,
    /// See [`Counters::installed`].
    pub installed: u64,
    /// See [`Counters::removed`].
    pub removed: u64,
    /// Refusals per kind, only kinds with a count.
    pub refused: Vec<(OffloadErrorKind, u64)>,
    /// Not-eligible directions per reason name, only reasons with a count,
    /// sorted by name.
    pub not_eligible: Vec<(&'static str, u64)>,
    /// See [`Counters::retries`].
    pub retries: u64,
    /// See [`Counters::aged`].
    pub aged: u64,
    /// See [`Counters::invalidated`].
    pub invalidated: u64,
    /// See [`Counters::stale`].
    pub stale: u64,
    /// See [`Counters::folded_packets`].
    pub folded_packets: u64,
    /// See [`Counters::folded_bytes`].
    pub folded_bytes: u64,
    /// See [`Counters::remove_errors`].
    pub remove_errors: u64,
    /// See [`Counters::query_errors`].
    pub query_errors: u64,
}

pub(crate) fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    /// Directions refused for `kind`.
    pub fn refused(&self, kind: OffloadErrorKind) -> u64 {
        self.refused[kind_index(kind)].load(Ordering::Relaxed)
    }

    /// Directions not eligible for reason `name` ([`NotEligible::as_str`]).
    pub fn not_eligible(&self, name: &str) -> u64 {
        self.not_eligible_map().get(name).copied().unwrap_or(0)
    }

    fn not_eligible_map(&self) -> MutexGuard<'_, HashMap<&'static str, u64>> {
        self.not_eligible.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn count_refused(&self, kind: OffloadErrorKind) {
        bump(&self.refused[kind_index(kind)], 1);
    }

    pub(crate) fn count_not_eligible(&self, why: NotEligible) {
        *self.not_eligible_map().entry(why.as_str()).or_insert(0) += 1;
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> CountersSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut not_eligible: Vec<_> = self
            .not_eligible_map()
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        not_eligible.sort_unstable();
        CountersSnapshot {
            requests: get(&self.requests),
            duplicate: get(&self.duplicate),
            installed: get(&self.installed),
            removed: get(&self.removed),
            refused: KINDS
                .iter()
                .map(|k| (*k, self.refused(*k)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            not_eligible,
            retries: get(&self.retries),
            aged: get(&self.aged),
            invalidated: get(&self.invalidated),
            stale: get(&self.stale),
            folded_packets: get(&self.folded_packets),
            folded_bytes: get(&self.folded_bytes),
            remove_errors: get(&self.remove_errors),
            query_errors: get(&self.query_errors),
        }
    }
}
