//! The offload manager: requests from the workers in, rules into an
//! [`OffloadBackend`] out, and every rule's lifecycle after that.
//!
//! One thread owns a [`Manager`] and calls [`Manager::poll`] in a loop (it
//! never blocks). A poll
//! 1. every [`ManagerConfig::fold_interval`]: credits each rule's new hits
//!    to its connection (so idle timers see offloaded traffic), removes the
//!    rules of connections that are gone, ends connections whose rules aged
//!    out, and retries removes the backend refused;
//! 2. takes up to [`ManagerConfig::batch`] requests from the channel and
//!    turns each into a rule ([`rule_for`]), or records why not;
//! 3. inserts those rules, and the retries now due, with one
//!    [`OffloadBackend::insert_batch`]: installed, retried with exponential
//!    backoff (retryable refusals, up to [`ManagerConfig::max_attempts`]),
//!    or refused with the backend's reason.
//!
//! The manager's books hold every handle the backend gave it until the
//! backend confirms the rule is gone, so no rule is leaked: a rule whose
//! connection died while its insert was in flight is removed at once, and
//! [`Manager::shutdown`] removes them all.
//!
//! The connection table is only read, credited and (for aged or
//! invalidated connections) killed: a refusal leaves the connection as it
//! was, in software.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use dpuflow_conntrack::{ConnId, ConnView, Conntrack, Dir, Timeouts};
use dpuflow_engine::offload::{Request, Treatment};
use dpuflow_flow::{OffloadBackend, OffloadError, OffloadErrorKind, Rule};

use crate::rules::{base_rules, rule_for, RuleSettings};
use crate::status::{bump, Counters, DirOffload, Status};

/// The largest AGE timeout rte_flow takes (24 bits of seconds).
const MAX_AGE_SECS: u64 = 0xff_ffff;

/// How the manager works.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// What rules depend on beyond the treatment.
    pub rules: RuleSettings,
    /// Most requests taken, and most rules inserted, per poll (at least 1).
    pub batch: usize,
    /// Delay before the first retry of a retryable refusal; each further
    /// retry waits twice as long as the one before.
    pub retry_initial: Duration,
    /// The longest delay between retries.
    pub retry_max: Duration,
    /// Insert attempts per direction (the first one included) before a
    /// retryable refusal becomes a refusal.
    pub max_attempts: u32,
    /// How often counters are folded, connections checked and aged rules
    /// collected.
    pub fold_interval: Duration,
    /// The connection table's timeouts: a rule's AGE timeout is its
    /// connection's idle timeout.
    pub timeouts: Timeouts,
    /// Installs the base rules ([`base_rules`]: group 0's jump and the
    /// miss to software, per port) before the first connection rule and
    /// removes them last — what an e-switch needs. Off where something
    /// else owns the root table.
    pub base_rules: bool,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            rules: RuleSettings::default(),
            batch: 64,
            retry_initial: Duration::from_millis(50),
            retry_max: Duration::from_secs(5),
            max_attempts: 6,
            fold_interval: Duration::from_secs(1),
            timeouts: Timeouts::default(),
            base_rules: true,
        }
    }
}

impl ManagerConfig {
    /// The wait after `failed` failed attempts (1 or more).
    pub fn backoff(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1));
        self.retry_initial
            .saturating_mul(factor)
            .min(self.retry_max)
    }
}

/// What one [`Manager::poll`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Requests taken from the channel.
    pub requests: usize,
    /// Rules installed.
    pub installed: usize,
    /// Insert attempts refused for a passing reason, to be retried.
    pub retried: usize,
    /// Directions refused for good.
    pub refused: usize,
    /// Directions whose treatment cannot be a rule.
    pub not_eligible: usize,
    /// Requests or retries whose connection was gone.
    pub stale: usize,
    /// Rules removed.
    pub removed: usize,
    /// Connections ended by aged rules.
    pub aged: usize,
    /// Whether this poll folded counters.
    pub folded: bool,
}

impl PollStats {
    /// Nothing came in and nothing changed: the caller may sleep a little.
    pub fn is_idle(&self) -> bool {
        *self
            == PollStats {
                folded: self.folded,
                ..PollStats::default()
            }
    }
}

/// What the manager holds for one connection direction.
#[derive(Debug)]
enum Slot<H> {
    /// In this poll's insert batch.
    Pending,
    /// Waiting in the retry queue.
    Retrying,
    /// A rule is installed; `hits` and `bytes` were credited already.
    Installed { handle: H, hits: u64, bytes: u64 },
    /// Refused or not eligible: nothing held (the status says why). A new
    /// request for the direction is taken.
    Final,
}

/// A connection direction whose rule is on its way into the backend.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    id: ConnId,
    dir: Dir,
    /// Attempts that failed before this one.
    failed: u32,
}

/// The base rules' state: connection rules are inserted only on top of
/// them; while they are refused, every connection rule is refused with
/// their reason (and retried with it when it is retryable).
enum Base<H> {
    NotYet,
    Installed(Vec<H>),
    Refused(OffloadError),
}

/// The offload manager over backend `B`. See the [module](self) docs.
pub struct Manager<B: OffloadBackend> {
    backend: B,
    ct: Arc<Conntrack>,
    rx: Receiver<Request>,
    config: ManagerConfig,
    /// Every connection direction the manager holds something for.
    conns: HashMap<ConnId, [Option<Slot<B::Handle>>; 2]>,
    /// Installed rules' connection directions (for aged rules).
    owners: HashMap<B::Handle, (ConnId, Dir)>,
    /// Rules of gone connections whose remove the backend refused: retried
    /// every fold and at shutdown.
    orphans: Vec<B::Handle>,
    /// Retryable refusals, each with the time it is due again.
    retry: Vec<(Instant, Attempt, Rule)>,
    /// The base rules every connection rule stands on (`base_rules`).
    base: Base<B::Handle>,
    next_fold: Option<Instant>,
    status: Status,
    counters: Arc<Counters>,
    /// This poll's inserts: `batch[i]` is for `rules[i]`.
    batch: Vec<Attempt>,
    rules: Vec<Rule>,
    // Scratch, kept to avoid allocating per poll.
    results: Vec<Result<B::Handle, OffloadError>>,
    aged: Vec<B::Handle>,
    ids: Vec<ConnId>,
}

impl<B: OffloadBackend> std::fmt::Debug for Manager<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("backend", &self.backend.name())
            .field("conns", &self.conns.len())
            .field("rules", &self.owners.len())
            .field("orphans", &self.orphans.len())
            .field("retrying", &self.retry.len())
            .finish_non_exhaustive()
    }
}

impl<B: OffloadBackend> Manager<B> {
    /// A manager installing into `backend` the requests arriving on `rx`
    /// for connections of `ct`.
    pub fn new(
        backend: B,
        ct: Arc<Conntrack>,
        rx: Receiver<Request>,
        config: ManagerConfig,
    ) -> Self {
        Manager {
            backend,
            ct,
            rx,
            config,
            conns: HashMap::new(),
            owners: HashMap::new(),
            orphans: Vec::new(),
            retry: Vec::new(),
            base: Base::NotYet,
            next_fold: None,
            status: Status::new(),
            counters: Arc::new(Counters::default()),
            batch: Vec::new(),
            rules: Vec::new(),
            results: Vec::new(),
            aged: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// The per-connection state, for other threads.
    pub fn status(&self) -> Status {
        self.status.clone()
    }

    /// The counters, for other threads.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// The configuration.
    pub fn config(&self) -> &ManagerConfig {
        &self.config
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, mutably (tests drive an emulated NIC through it).
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// Every rule handle the manager holds: installed rules and rules of
    /// gone connections whose removal the backend has not confirmed.
    pub fn handles(&self) -> Vec<B::Handle> {
        let base = match &self.base {
            Base::Installed(h) => h.as_slice(),
            _ => &[],
        };
        self.owners
            .keys()
            .chain(self.orphans.iter())
            .chain(base)
            .copied()
            .collect()
    }

    /// Direction `dir` of `id`'s installed rule, if any.
    pub fn handle_of(&self, id: ConnId, dir: Dir) -> Option<B::Handle> {
        match self.conns.get(&id)?.get(dir.index())? {
            Some(Slot::Installed { handle, .. }) => Some(*handle),
            _ => None,
        }
    }

    /// Takes requests, inserts rules and retries, and every
    /// [`fold_interval`](ManagerConfig::fold_interval) folds counters and
    /// collects aged rules. `now` drives backoff and folding, `now_ms` is
    /// the connection table's clock (credited traffic is seen then).
    pub fn poll(&mut self, now: Instant, now_ms: u64) -> PollStats {
        let mut stats = PollStats::default();
        // Folding first: rules of gone connections make room for this
        // poll's inserts.
        if self.next_fold.is_none_or(|at| now >= at) {
            self.fold(now_ms, &mut stats);
            self.next_fold = Some(now + self.config.fold_interval);
        }
        self.take_requests(&mut stats);
        self.take_due_retries(now, &mut stats);
        self.insert_batch(now, &mut stats);
        stats
    }

    fn take_requests(&mut self, stats: &mut PollStats) {
        while self.batch.len() < self.config.batch.max(1) {
            let Ok(Request::Offload(t)) = self.rx.try_recv() else {
                break;
            };
            stats.requests += 1;
            bump(&self.counters.requests, 1);
            self.take(&t, stats);
        }
    }

    fn take(&mut self, t: &Treatment, stats: &mut PollStats) {
        let Some(view) = self.ct.view(t.conn) else {
            stats.stale += 1;
            bump(&self.counters.stale, 1);
            return;
        };
        let busy = matches!(
            self.conns
                .get(&t.conn)
                .and_then(|s| s[t.dir.index()].as_ref()),
            Some(Slot::Pending | Slot::Retrying | Slot::Installed { .. })
        );
        if busy {
            bump(&self.counters.duplicate, 1);
            return;
        }
        match rule_for(t, &self.config.rules, Some(self.age_secs(&view))) {
            Ok(rule) => {
                self.set_slot(t.conn, t.dir, Slot::Pending);
                self.status.set(t.conn, t.dir, DirOffload::Pending);
                self.batch.push(Attempt {
                    id: t.conn,
                    dir: t.dir,
                    failed: 0,
                });
                self.rules.push(rule);
            }
            Err(why) => {
                self.set_slot(t.conn, t.dir, Slot::Final);
                stats.not_eligible += 1;
                self.counters.count_not_eligible(why);
                self.status.set(t.conn, t.dir, DirOffload::NotEligible(why));
            }
        }
    }

    /// The connection's idle timeout in its current state, as an AGE
    /// timeout: the rule ages when software would have expired it.
    fn age_secs(&self, view: &ConnView) -> u32 {
        let secs = self
            .config
            .timeouts
            .idle(view.forward.proto, view.state)
            .as_secs();
        // In range by the clamp.
        u32::try_from(secs.clamp(1, MAX_AGE_SECS)).unwrap_or(u32::MAX)
    }

    fn take_due_retries(&mut self, now: Instant, stats: &mut PollStats) {
        let mut i = 0;
        while i < self.retry.len() && self.batch.len() < self.config.batch.max(1) {
            if self.retry[i].0 > now {
                i += 1;
                continue;
            }
            let (_, attempt, rule) = self.retry.swap_remove(i);
            let still_ours = matches!(
                self.conns
                    .get(&attempt.id)
                    .and_then(|s| s[attempt.dir.index()].as_ref()),
                Some(Slot::Retrying)
            );
            if !still_ours {
                // The connection was dropped from the books meanwhile
                // (gone, or invalidated).
                stats.stale += 1;
                bump(&self.counters.stale, 1);
                continue;
            }
            if self.ct.view(attempt.id).is_none() {
                stats.stale += 1;
                bump(&self.counters.stale, 1);
                self.drop_conn(attempt.id, stats);
                continue;
            }
            self.set_slot(attempt.id, attempt.dir, Slot::Pending);
            self.batch.push(attempt);
            self.rules.push(rule);
        }
    }

    fn set_slot(&mut self, id: ConnId, dir: Dir, slot: Slot<B::Handle>) {
        self.conns.entry(id).or_default()[dir.index()] = Some(slot);
    }

    fn insert_batch(&mut self, now: Instant, stats: &mut PollStats) {
        if self.batch.is_empty() {
            return;
        }
        match self.install_base() {
            Ok(()) => self.backend.insert_batch(&self.rules, &mut self.results),
            Err(e) => {
                let e = OffloadError::new(e.kind, format!("base rules: {}", e.message));
                self.results.clear();
                self.results
                    .extend(self.rules.iter().map(|_| Err(e.clone())));
            }
        }
        let mut results = std::mem::take(&mut self.results);
        let mut rules = std::mem::take(&mut self.rules);
        let mut batch = std::mem::take(&mut self.batch);
        let mut outcomes = results.drain(..);
        for (attempt, rule) in batch.drain(..).zip(rules.drain(..)) {
            let result = outcomes.next().unwrap_or_else(|| {
                Err(OffloadError::new(
                    OffloadErrorKind::Transient,
                    format!("{}: no result for this rule", self.backend.name()),
                ))
            });
            self.settle(attempt, rule, result, now, stats);
        }
        // A backend that answered more results than rules: never lose a
        // handle, even one nobody asked for.
        let extra: Vec<_> = outcomes.filter_map(Result::ok).collect();
        for handle in extra {
            if !self.remove_rule(handle, stats) {
                self.orphans.push(handle);
            }
        }
        self.results = results;
        self.rules = rules;
        self.batch = batch;
    }

    /// Installs the base rules before the first connection rule; a refusal
    /// is kept (and tried again with the next batch when retryable).
    fn install_base(&mut self) -> Result<(), OffloadError> {
        match &self.base {
            Base::Installed(_) => return Ok(()),
            Base::Refused(e) if !e.kind.is_retryable() => return Err(e.clone()),
            _ => {}
        }
        let rules = base_rules(&self.config.rules);
        if !self.config.base_rules || rules.is_empty() {
            self.base = Base::Installed(Vec::new());
            return Ok(());
        }
        let mut results = Vec::with_capacity(rules.len());
        self.backend.insert_batch(&rules, &mut results);
        let mut handles = Vec::with_capacity(rules.len());
        let mut refused = None;
        for r in results {
            match r {
                Ok(h) => handles.push(h),
                Err(e) => refused = refused.or(Some(e)),
            }
        }
        match refused {
            None => {
                self.base = Base::Installed(handles);
                Ok(())
            }
            Some(e) => {
                // All or nothing: a half-installed base would send some
                // ports' traffic to a group without its miss rule.
                let mut stats = PollStats::default();
                for h in handles {
                    if !self.remove_rule(h, &mut stats) {
                        self.orphans.push(h);
                    }
                }
                self.base = Base::Refused(e.clone());
                Err(e)
            }
        }
    }

    fn settle(
        &mut self,
        attempt: Attempt,
        rule: Rule,
        result: Result<B::Handle, OffloadError>,
        now: Instant,
        stats: &mut PollStats,
    ) {
        let Attempt { id, dir, .. } = attempt;
        match result {
            Ok(handle) => {
                let ours = matches!(
                    self.conns.get(&id).and_then(|s| s[dir.index()].as_ref()),
                    Some(Slot::Pending)
                );
                if !ours || self.ct.view(id).is_none() {
                    // Died while its insert was in flight: the rule goes at
                    // once.
                    stats.stale += 1;
                    bump(&self.counters.stale, 1);
                    if !self.remove_rule(handle, stats) {
                        self.orphans.push(handle);
                    }
                    self.drop_conn(id, stats);
                    return;
                }
                stats.installed += 1;
                bump(&self.counters.installed, 1);
                self.owners.insert(handle, (id, dir));
                self.set_slot(
                    id,
                    dir,
                    Slot::Installed {
                        handle,
                        hits: 0,
                        bytes: 0,
                    },
                );
                self.status.set(
                    id,
                    dir,
                    DirOffload::Offloaded {
                        rule: format!("{handle:?}"),
                        hits: 0,
                        bytes: 0,
                    },
                );
            }
            Err(e) => {
                let failed = attempt.failed + 1;
                if e.kind.is_retryable() && failed < self.config.max_attempts {
                    stats.retried += 1;
                    bump(&self.counters.retries, 1);
                    self.set_slot(id, dir, Slot::Retrying);
                    self.status.set(
                        id,
                        dir,
                        DirOffload::Retrying {
                            kind: e.kind,
                            attempts: failed,
                        },
                    );
                    let due = now + self.config.backoff(failed);
                    self.retry.push((due, Attempt { failed, ..attempt }, rule));
                    return;
                }
                stats.refused += 1;
                self.counters.count_refused(e.kind);
                self.set_slot(id, dir, Slot::Final);
                if e.kind.is_retryable() {
                    // Out of attempts for a passing reason: a later packet
                    // may ask again (room may have been made by then).
                    self.ct.release_offload(id, dir);
                }
                self.status.set(
                    id,
                    dir,
                    DirOffload::Refused {
                        kind: e.kind,
                        message: e.message,
                    },
                );
            }
        }
    }

    /// Removes one rule. True when the backend no longer has it (removed
    /// now, or unknown to it); false when it should be tried again.
    fn remove_rule(&mut self, handle: B::Handle, stats: &mut PollStats) -> bool {
        match self.backend.remove(handle) {
            Ok(()) => {
                stats.removed += 1;
                bump(&self.counters.removed, 1);
                self.owners.remove(&handle);
                true
            }
            Err(e) => {
                bump(&self.counters.remove_errors, 1);
                let gone = e.kind == OffloadErrorKind::Invalid;
                if gone {
                    self.owners.remove(&handle);
                }
                gone
            }
        }
    }

    /// Drops connection `id` from the books: its rules removed (those the
    /// backend keeps refusing to remove become orphans), its status
    /// forgotten. Its queued retries lapse when they fall due.
    fn drop_conn(&mut self, id: ConnId, stats: &mut PollStats) {
        let Some(slots) = self.conns.remove(&id) else {
            return;
        };
        for slot in slots.into_iter().flatten() {
            if let Slot::Installed { handle, .. } = slot {
                if !self.remove_rule(handle, stats) {
                    self.owners.remove(&handle);
                    self.orphans.push(handle);
                }
            }
        }
        self.status.forget(id);
    }

    /// Credits `id`'s rules' new hits to it; false when it is gone.
    fn fold_conn(&mut self, id: ConnId, now_ms: u64) -> bool {
        let Some(slots) = self.conns.get_mut(&id) else {
            return true;
        };
        for (dir, slot) in [Dir::Forward, Dir::Reply].into_iter().zip(slots.iter_mut()) {
            let Some(Slot::Installed {
                handle,
                hits,
                bytes,
            }) = slot
            else {
                continue;
            };
            let now = match self.backend.query(*handle) {
                Ok(s) => s,
                Err(_) => {
                    bump(&self.counters.query_errors, 1);
                    continue;
                }
            };
            // Counters only grow; a backend that reset one is not credited
            // twice, nor negatively.
            let packets = now.hits.saturating_sub(*hits);
            let octets = now.bytes.saturating_sub(*bytes);
            if packets == 0 && octets == 0 {
                continue;
            }
            if !self.ct.credit(id, dir, packets, octets, now_ms) {
                return false;
            }
            (*hits, *bytes) = (now.hits, now.bytes);
            bump(&self.counters.folded_packets, packets);
            bump(&self.counters.folded_bytes, octets);
            self.status.set_hits(id, dir, now.hits, now.bytes);
        }
        true
    }

    fn fold(&mut self, now_ms: u64, stats: &mut PollStats) {
        stats.folded = true;
        let orphans = std::mem::take(&mut self.orphans);
        for handle in orphans {
            if !self.remove_rule(handle, stats) {
                self.orphans.push(handle);
            }
        }

        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        ids.extend(self.conns.keys().copied());
        for &id in &ids {
            // Gone (expired in software, killed elsewhere): its rules go.
            if self.ct.view(id).is_none() || !self.fold_conn(id, now_ms) {
                self.drop_conn(id, stats);
            }
        }
        self.ids = ids;

        let mut aged = std::mem::take(&mut self.aged);
        aged.clear();
        // Nothing installed, nothing to age (and a PMD without aging is
        // not asked every round).
        if !self.owners.is_empty() && self.backend.aged(&mut aged).is_err() {
            bump(&self.counters.query_errors, 1);
        }
        for handle in aged.drain(..) {
            let Some(&(id, _)) = self.owners.get(&handle) else {
                continue;
            };
            let Some(view) = self.ct.view(id) else {
                self.drop_conn(id, stats);
                continue;
            };
            // A rule ages per direction; the connection ends only once it
            // is idle as a whole (the other direction's traffic, software
            // or folded just above, keeps it alive).
            let timeout = self
                .config
                .timeouts
                .idle(view.forward.proto, view.state)
                .as_millis();
            if u128::from(view.idle(now_ms)) < timeout {
                continue;
            }
            self.drop_conn(id, stats);
            if self.ct.kill(id) {
                stats.aged += 1;
                bump(&self.counters.aged, 1);
            }
        }
        self.aged = aged;
        self.commit();
    }

    /// Pushes queued removes of an asynchronous backend.
    fn commit(&mut self) {
        if self.backend.commit().is_err() {
            bump(&self.counters.remove_errors, 1);
        }
    }

    /// Ends connections a table change made invalid (endpoint gone, policy
    /// changed): their rules' last counters are credited and the rules
    /// removed first — so no packet takes the old path in hardware once
    /// software has forgotten it — then they are killed. Returns how many
    /// were invalidated (live, or holding rules).
    pub fn invalidate(&mut self, ids: &[ConnId], now_ms: u64) -> usize {
        let mut stats = PollStats::default();
        let mut n = 0;
        for &id in ids {
            let held = self.conns.contains_key(&id);
            if held {
                self.fold_conn(id, now_ms);
                self.drop_conn(id, &mut stats);
            }
            if self.ct.kill(id) || held {
                n += 1;
            }
        }
        self.commit();
        bump(&self.counters.invalidated, n as u64);
        n
    }

    /// Removes every rule the manager created (the SIGTERM path), trying
    /// each refused remove again up to
    /// [`max_attempts`](ManagerConfig::max_attempts) times; returns how
    /// many were removed. Connections live on in software: their offload
    /// claims are released and their status forgotten. Rules the backend
    /// kept refusing stay in [`handles`](Self::handles).
    pub fn shutdown(&mut self) -> usize {
        let mut stats = PollStats::default();
        self.retry.clear();
        for (id, slots) in std::mem::take(&mut self.conns) {
            for (dir, slot) in [Dir::Forward, Dir::Reply].into_iter().zip(slots) {
                if let Some(Slot::Installed { handle, .. }) = slot {
                    self.owners.remove(&handle);
                    self.orphans.push(handle);
                    self.ct.release_offload(id, dir);
                }
            }
            self.status.forget(id);
        }
        // Rules in the books of nobody (cannot happen, but never leak one).
        self.orphans.extend(self.owners.drain().map(|(h, _)| h));
        // The base rules go last (removed in order): connection rules never
        // stand on nothing.
        if let Base::Installed(h) = std::mem::replace(&mut self.base, Base::NotYet) {
            self.orphans.extend(h);
        }
        for _ in 0..self.config.max_attempts.max(1) {
            let orphans = std::mem::take(&mut self.orphans);
            for handle in orphans {
                if !self.remove_rule(handle, &mut stats) {
                    self.orphans.push(handle);
                }
            }
            self.commit();
            if self.orphans.is_empty() {
                break;
            }
        }
        stats.removed
    }
}
