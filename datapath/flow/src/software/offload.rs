//! The software table as an emulated NIC behind [`OffloadBackend`]: it
//! counts the packets of every matched rule and ages rules the way a NIC
//! with counter-based aging does (mlx5 among them) — a rule is idle while
//! its hit counter stands still, so nothing on the packet path reads a
//! clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Classification, RuleId, SoftwareTable, TableError};
use crate::offload::{Capacity, OffloadBackend, OffloadError, OffloadErrorKind, RuleStats};
use crate::{Action, Rule};

/// Per-rule NIC state: hit counters (written through `&self`, relaxed) and
/// the AGE bookkeeping (written only by [`SoftwareTable::aged_at`]).
#[derive(Debug)]
pub(super) struct NicState {
    hits: AtomicU64,
    bytes: AtomicU64,
    counted: bool,
    age: Option<Age>,
}

#[derive(Debug)]
struct Age {
    timeout: Duration,
    /// The hit count when `idle_since` was last reset.
    seen: u64,
    idle_since: Instant,
    reported: bool,
}

impl NicState {
    pub(super) fn new(rule: &Rule) -> Self {
        let timeout = rule.actions.iter().find_map(|a| match a {
            Action::Age { timeout, .. } => Some(Duration::from_secs(u64::from(*timeout))),
            _ => None,
        });
        NicState {
            hits: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            counted: rule.actions.iter().any(|a| matches!(a, Action::Count)),
            age: timeout.map(|timeout| Age {
                timeout,
                seen: 0,
                idle_since: Instant::now(),
                reported: false,
            }),
        }
    }
}

impl Classification<'_> {
    /// Counts one packet of `bytes` on every rule this classification
    /// matched, as the NIC would when it executes them.
    pub fn count(&self, bytes: u64) {
        for slot in self.chain.iter().take(self.len) {
            if let Some(e) = self.table.entry(*slot) {
                e.nic.hits.fetch_add(1, Ordering::Relaxed);
                e.nic.bytes.fetch_add(bytes, Ordering::Relaxed);
            }
        }
    }
}

impl SoftwareTable {
    /// Appends the rules with an AGE action that have had no hit for their
    /// timeout as of `now` (each reported once until it is hit again).
    pub fn aged_at(&mut self, now: Instant, out: &mut Vec<RuleId>) {
        for entry in self.slots.iter_mut().flatten() {
            let Some(age) = entry.nic.age.as_mut() else {
                continue;
            };
            let hits = entry.nic.hits.load(Ordering::Relaxed);
            if hits != age.seen {
                age.seen = hits;
                age.idle_since = now;
                age.reported = false;
            } else if !age.reported && now.saturating_duration_since(age.idle_since) >= age.timeout
            {
                age.reported = true;
                out.push(entry.id);
            }
        }
    }

    /// A rule's counters as of `now` (see [`OffloadBackend::query`]).
    ///
    /// # Errors
    /// `Invalid` for an unknown id or a rule without COUNT or AGE.
    pub fn stats_at(&self, id: RuleId, now: Instant) -> Result<RuleStats, OffloadError> {
        let entry = self
            .entry(id.slot)
            .filter(|e| e.id == id)
            .ok_or_else(|| unknown(id))?;
        let nic = &entry.nic;
        if !nic.counted && nic.age.is_none() {
            return Err(OffloadError::new(
                OffloadErrorKind::Invalid,
                format!("software rule {id:?} has neither COUNT nor AGE"),
            ));
        }
        let idle_secs = nic.age.as_ref().map(|a| {
            let idle = now.saturating_duration_since(a.idle_since).as_secs();
            u32::try_from(idle).unwrap_or(u32::MAX)
        });
        Ok(RuleStats {
            hits: nic.hits.load(Ordering::Relaxed),
            bytes: nic.bytes.load(Ordering::Relaxed),
            idle_secs,
        })
    }
}

fn unknown(id: RuleId) -> OffloadError {
    OffloadError::new(
        OffloadErrorKind::Invalid,
        format!("no software rule {id:?}"),
    )
}

impl From<TableError> for OffloadError {
    fn from(e: TableError) -> Self {
        let kind = match e {
            TableError::Full => OffloadErrorKind::TableFull,
            TableError::Invalid(_) | TableError::WrongDirection { .. } => OffloadErrorKind::Invalid,
        };
        OffloadError::new(kind, format!("software table: {e}"))
    }
}

impl OffloadBackend for SoftwareTable {
    type Handle = RuleId;

    fn name(&self) -> &'static str {
        "software"
    }

    fn insert(&mut self, rule: &Rule) -> Result<RuleId, OffloadError> {
        Ok(SoftwareTable::insert(self, rule.clone())?)
    }

    fn remove(&mut self, handle: RuleId) -> Result<(), OffloadError> {
        SoftwareTable::remove(self, handle)
            .map(drop)
            .ok_or_else(|| unknown(handle))
    }

    fn commit(&mut self) -> Result<(), OffloadError> {
        Ok(())
    }

    fn query(&self, handle: RuleId) -> Result<RuleStats, OffloadError> {
        self.stats_at(handle, Instant::now())
    }

    fn aged(&mut self, out: &mut Vec<RuleId>) -> Result<(), OffloadError> {
        self.aged_at(Instant::now(), out);
        Ok(())
    }

    fn capacity(&self) -> Capacity {
        Capacity {
            installed: self.len(),
            limit: Some(self.limit.unwrap_or(u32::MAX as usize)),
        }
    }
}
