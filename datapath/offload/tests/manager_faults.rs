//! The offload manager under backend faults, and its lifecycle on a
//! healthy emulated NIC.
//!
//! The backend is the software table (the emulated NIC) behind a wrapper
//! that injects faults: the Nth insert refused (each kind), a table that
//! fills up, completions that arrive late and fail, removes that fail. For
//! each fault the books are checked: every handle the backend issued is
//! either held by the manager with its rule installed, or was removed
//! exactly once; after `shutdown` no rule of ours is left; the connection
//! is live and unchanged in conntrack; the status says why; the counters
//! per reason equal the faults injected. Time is a controlled clock handed
//! to `poll` (and to the emulated NIC's aging), never a sleep.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use dpuflow_conntrack::{Config, ConnId, ConnState, Conntrack, Dir, FlowKey, Owner, Timeouts};
use dpuflow_engine::offload::{Request, Treatment};
use dpuflow_flow::{
    Action, Capacity, Direction, EthHeader, HeaderKey, InPort, Ipv4Header, L3Header, L4Header,
    MacAddr, OffloadBackend, OffloadError, OffloadErrorKind, PacketKey, Rule, RuleId, RuleStats,
    SoftwareTable,
};
use dpuflow_offload::manager::{Manager, ManagerConfig};
use dpuflow_offload::rules::CONNECTION_GROUP;
use dpuflow_offload::status::DirOffload;
use dpuflow_offload::{NotEligible, RuleSettings};

use OffloadErrorKind as K;

const UDP: u8 = 17;
const POD_A: u16 = 1;
const POD_B: u16 = 2;
/// A port outside the switch domain (a treatment through it is not
/// eligible).
const SOFTWARE_PORT: u16 = 9;
const RETRY_INITIAL: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_millis(400);
const MAX_ATTEMPTS: u32 = 4;
const FOLD: Duration = Duration::from_secs(1);
const FRAME: u64 = 100;

// ---------------------------------------------------------------------------
// The faulty backend.

/// Completion faults of an asynchronous backend.
#[derive(Clone, Copy, Debug, Default)]
struct Late {
    /// The first this many commits time out: every queued op fails
    /// `Transient` (and, as on a real queue that was flushed, installs
    /// nothing).
    timeouts: u32,
    /// Every this-many-th completed op fails `Unsupported` (0: none).
    fail_every: u64,
}

/// The software table behind fault injection, keeping its own books of
/// every handle it issued and every successful remove.
struct Faulty {
    table: SoftwareTable,
    clock: Rc<Cell<Instant>>,
    /// Insert calls (per rule) so far.
    inserts: u64,
    /// Nth insert (1-based) → refused with this kind.
    refuse_nth: HashMap<u64, OffloadErrorKind>,
    /// Every insert refused with this kind while set.
    refuse_all: Option<OffloadErrorKind>,
    /// Remove calls so far.
    removes: u64,
    /// Nth remove (1-based) → fails with this kind.
    fail_remove_nth: HashMap<u64, OffloadErrorKind>,
    /// Every remove fails `Transient` while set.
    fail_all_removes: bool,
    /// Asynchronous completion (inserts queue until the batch's commit).
    late: Option<Late>,
    commits: u32,
    completed: u64,
    /// Run at the start of each insert batch (a connection dying while
    /// its insert is in flight).
    in_flight: Option<Box<dyn FnMut()>>,
    /// Handles issued, in order.
    issued: Vec<RuleId>,
    /// Successful removes per handle.
    removed: HashMap<RuleId, u32>,
    /// Rules that vanished behind the manager's back (a port reset).
    vanished: HashSet<RuleId>,
    /// For each remove: whether the watched connection was still live.
    watch: Option<(Arc<Conntrack>, ConnId)>,
    live_at_remove: Vec<bool>,
}

impl Faulty {
    fn new(table: SoftwareTable, clock: Rc<Cell<Instant>>) -> Self {
        Faulty {
            table,
            clock,
            inserts: 0,
            refuse_nth: HashMap::new(),
            refuse_all: None,
            removes: 0,
            fail_remove_nth: HashMap::new(),
            fail_all_removes: false,
            late: None,
            commits: 0,
            completed: 0,
            in_flight: None,
            issued: Vec::new(),
            removed: HashMap::new(),
            vanished: HashSet::new(),
            watch: None,
            live_at_remove: Vec::new(),
        }
    }

    fn install(&mut self, rule: &Rule) -> Result<RuleId, OffloadError> {
        let id = self.table.insert(rule.clone())?;
        self.issued.push(id);
        Ok(id)
    }

    /// Rules of ours (issued, not vanished) installed now.
    fn ours_installed(&self) -> usize {
        self.issued
            .iter()
            .filter(|h| self.table.get(**h).is_some())
            .count()
    }
}

impl OffloadBackend for Faulty {
    type Handle = RuleId;

    fn name(&self) -> &'static str {
        "faulty"
    }

    fn insert(&mut self, rule: &Rule) -> Result<RuleId, OffloadError> {
        self.inserts += 1;
        let n = self.inserts;
        if let Some(kind) = self.refuse_nth.get(&n).copied().or(self.refuse_all) {
            return Err(OffloadError::new(
                kind,
                format!("injected {kind} on insert {n}"),
            ));
        }
        self.install(rule)
    }

    fn insert_batch(&mut self, rules: &[Rule], out: &mut Vec<Result<RuleId, OffloadError>>) {
        out.clear();
        if let Some(f) = self.in_flight.as_mut() {
            f();
        }
        let Some(late) = self.late else {
            out.extend(rules.iter().map(|r| self.insert(r)));
            return;
        };
        // Asynchronous: everything is queued, and completes (or not) at
        // the batch's commit.
        self.commits += 1;
        let commit = self.commits;
        for rule in rules {
            self.inserts += 1;
            if commit <= late.timeouts {
                out.push(Err(OffloadError::new(
                    K::Transient,
                    format!("injected: commit {commit} timed out before completion"),
                )));
                continue;
            }
            self.completed += 1;
            let op = self.completed;
            if late.fail_every > 0 && op.is_multiple_of(late.fail_every) {
                out.push(Err(OffloadError::new(
                    K::Unsupported,
                    format!("injected: op {op} completed with an unsupported action"),
                )));
                continue;
            }
            out.push(self.install(rule));
        }
    }

    fn remove(&mut self, handle: RuleId) -> Result<(), OffloadError> {
        self.removes += 1;
        let n = self.removes;
        if let Some((ct, id)) = &self.watch {
            self.live_at_remove.push(ct.view(*id).is_some());
        }
        let fault = if self.fail_all_removes {
            Some(K::Transient)
        } else {
            self.fail_remove_nth.get(&n).copied()
        };
        if let Some(kind) = fault {
            return Err(OffloadError::new(
                kind,
                format!("injected {kind} on remove {n}"),
            ));
        }
        OffloadBackend::remove(&mut self.table, handle)?;
        *self.removed.entry(handle).or_insert(0) += 1;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), OffloadError> {
        Ok(())
    }

    fn query(&self, handle: RuleId) -> Result<RuleStats, OffloadError> {
        self.table.stats_at(handle, self.clock.get())
    }

    fn aged(&mut self, out: &mut Vec<RuleId>) -> Result<(), OffloadError> {
        self.table.aged_at(self.clock.get(), out);
        Ok(())
    }

    fn capacity(&self) -> Capacity {
        OffloadBackend::capacity(&self.table)
    }
}

// ---------------------------------------------------------------------------
// Connections, treatments, the manager.

fn mac(last: u8) -> MacAddr {
    MacAddr::new(0x02, 0, 0, 0, 0, last)
}

fn ip(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, net, host))
}

/// A UDP connection between pod A (port 1) and pod B (port 2), both
/// directions as the software path treated them: a routed hop (TTL
/// decremented, MACs rewritten).
struct TestConn {
    id: ConnId,
    t: [Treatment; 2],
}

impl TestConn {
    fn fwd(&self) -> Treatment {
        self.t[0]
    }

    fn rep(&self) -> Treatment {
        self.t[1]
    }
}

fn treatment(id: ConnId, dir: Dir, key: FlowKey, ports: (u16, u16)) -> Treatment {
    let (a, b) = (mac(0xa0 | ports.0 as u8), mac(0xb0 | ports.1 as u8));
    Treatment {
        conn: id,
        dir,
        in_port: ports.0,
        vlan_in: None,
        tunnel_in: None,
        eth_in: (a, mac(0xff)),
        key,
        ttl_in: 64,
        hop: true,
        nat: None,
        macs: Some((mac(0xff), b)),
        encap: None,
        vlan_out: None,
        out_port: ports.1,
    }
}

/// The frame the emulated NIC sees for treatment `t`'s packets.
fn packet(t: &Treatment) -> PacketKey {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (t.key.src, t.key.dst) else {
        panic!("IPv4 only here");
    };
    PacketKey {
        in_port: Some(InPort::RepresentedPort(t.in_port)),
        outer: HeaderKey {
            eth: Some(EthHeader {
                src: t.eth_in.0,
                dst: t.eth_in.1,
                ether_type: 0x0800,
            }),
            vlan: None,
            l3: L3Header::V4(Ipv4Header {
                src,
                dst,
                proto: UDP,
                ttl: t.ttl_in,
                dscp: 0,
                ecn: 0,
            }),
            l4: L4Header::Udp {
                src: t.key.sport,
                dst: t.key.dport,
            },
        },
        ..PacketKey::default()
    }
}

fn timeouts() -> Timeouts {
    Timeouts {
        udp_unreplied: Duration::from_secs(2),
        udp_replied: Duration::from_secs(2),
        ..Timeouts::default()
    }
}

fn config() -> ManagerConfig {
    ManagerConfig {
        rules: RuleSettings {
            transfer_ports: vec![POD_A, POD_B],
        },
        batch: 64,
        retry_initial: RETRY_INITIAL,
        retry_max: RETRY_MAX,
        max_attempts: MAX_ATTEMPTS,
        fold_interval: FOLD,
        timeouts: timeouts(),
        // The rig plays the datapath's root rule itself; the base rules'
        // own tests turn them on.
        base_rules: false,
    }
}

/// Conntrack, a worker's owner, the channel, the controlled clock and the
/// manager over the faulty backend.
struct Rig {
    ct: Arc<Conntrack>,
    owner: Owner,
    tx: Sender<Request>,
    t0: Instant,
    clock: Rc<Cell<Instant>>,
    m: Manager<Faulty>,
    /// The datapath's own root rule (group 0 → connection group), not the
    /// manager's.
    root: RuleId,
}

impl Rig {
    fn new() -> Self {
        Self::with_table(SoftwareTable::new)
    }

    /// With the emulated NIC's table made by `table` (for a size limit;
    /// the datapath's root rule takes one entry).
    fn with_table(table: impl FnOnce(Direction) -> SoftwareTable) -> Self {
        Self::build(table, config())
    }

    fn build(table: impl FnOnce(Direction) -> SoftwareTable, config: ManagerConfig) -> Self {
        let (ct, mut owners) = Conntrack::new(
            Config {
                capacity: 256,
                timeouts: timeouts(),
                hash_seed: Some(7),
            },
            1,
        )
        .expect("conntrack");
        let owner = owners.pop().expect("one owner");
        let (tx, rx): (Sender<Request>, Receiver<Request>) = crossbeam_channel::bounded(256);
        let t0 = Instant::now();
        let clock = Rc::new(Cell::new(t0));
        let mut table = table(Direction::Transfer);
        // As the datapath does: group 0 sends every packet on to the
        // connection rules.
        let root = table
            .insert(
                Rule::transfer()
                    .group(0)
                    .priority(0)
                    .action(Action::Jump(CONNECTION_GROUP)),
            )
            .expect("root rule");
        let backend = Faulty::new(table, Rc::clone(&clock));
        let m = Manager::new(backend, Arc::clone(&ct), rx, config);
        Rig {
            ct,
            owner,
            tx,
            t0,
            clock,
            m,
            root,
        }
    }

    /// A replied UDP connection `i` (created at time 0), both directions
    /// claimed for offload as a worker does before asking.
    fn conn(&mut self, i: u8) -> TestConn {
        let fwd = FlowKey {
            zone: 0,
            proto: UDP,
            src: ip(0, i),
            dst: ip(1, i),
            sport: 10_000 + u16::from(i),
            dport: 53,
        };
        let rep = fwd.reversed();
        let c = self
            .owner
            .create(fwd, rep, [0; 4], 0, 0)
            .expect("create connection");
        let id = c.id();
        c.update(FRAME as u32, 0, 0);
        assert!(c.claim_offload());
        let r = self.owner.lookup(&rep).expect("reply key");
        assert_eq!(r.update(FRAME as u32, 0, 0), ConnState::Replied);
        assert!(r.claim_offload());
        TestConn {
            id,
            t: [
                treatment(id, Dir::Forward, fwd, (POD_A, POD_B)),
                treatment(id, Dir::Reply, rep, (POD_B, POD_A)),
            ],
        }
    }

    fn ask(&self, t: Treatment) {
        self.tx.try_send(Request::Offload(t)).expect("channel room");
    }

    fn ask_both(&self, c: &TestConn) {
        self.ask(c.fwd());
        self.ask(c.rep());
    }

    /// Polls at `ms` milliseconds after the start.
    fn poll_at(&mut self, ms: u64) -> dpuflow_offload::manager::PollStats {
        let now = self.t0 + Duration::from_millis(ms);
        self.clock.set(now);
        self.m.poll(now, ms)
    }

    fn dir(&self, id: ConnId, dir: Dir) -> DirOffload {
        self.m
            .status()
            .get(id)
            .map_or(DirOffload::Waiting, |c| c.dir(dir).clone())
    }

    /// `n` packets of treatment `t` through the emulated NIC (counted on
    /// the rules that match them); asserts a connection rule matched.
    fn hits(&self, t: &Treatment, n: u64) {
        let c = self.m.backend().table.classify(&packet(t));
        let matched: Vec<RuleId> = c.rule_ids().collect();
        assert_eq!(matched.len(), 2, "root rule and a connection rule match");
        assert_eq!(Some(matched[1]), self.m.handle_of(t.conn, t.dir));
        for _ in 0..n {
            c.count(FRAME);
        }
    }

    /// The books: every handle the backend issued is held by the manager
    /// exactly while its rule is installed, and was removed at most once.
    fn check_books(&self) {
        let held: HashSet<RuleId> = self.m.handles().into_iter().collect();
        let f = self.m.backend();
        assert!(!held.contains(&self.root));
        for h in &f.issued {
            let removed = f.removed.get(h).copied().unwrap_or(0);
            assert!(removed <= 1, "{h:?} removed {removed} times");
            let installed = f.table.get(*h).is_some();
            if f.vanished.contains(h) {
                assert!(!installed && removed == 0);
                continue;
            }
            assert_eq!(
                held.contains(h),
                installed,
                "{h:?}: held by the manager iff installed"
            );
            assert_eq!(
                installed,
                removed == 0,
                "{h:?}: installed iff never removed"
            );
        }
        for h in &held {
            assert!(f.issued.contains(h), "{h:?} held but never issued");
        }
    }

    /// Shuts the manager down; checks every rule of ours went, and the
    /// datapath's root rule stayed.
    fn shutdown_clean(&mut self) -> usize {
        let held = self.m.handles().len();
        let removed = self.m.shutdown();
        assert_eq!(removed, held, "every held rule removed");
        assert!(self.m.handles().is_empty());
        assert_eq!(self.m.backend().ours_installed(), 0, "no leaked rule");
        assert_eq!(self.m.backend().table.len(), 1, "only the root rule left");
        assert!(self.m.backend().table.get(self.root).is_some());
        self.check_books();
        removed
    }

    /// The connection is live and as the worker left it: replied, counters
    /// of its two packets (`extra` folded packets forward).
    fn assert_untouched(&self, c: &TestConn) {
        let v = self.ct.view(c.id).expect("connection still live");
        assert_eq!(v.state, ConnState::Replied);
        assert_eq!(v.packets, [1, 1]);
        assert_eq!(v.bytes, [FRAME, FRAME]);
    }
}

fn refused(kind: OffloadErrorKind) -> Vec<(OffloadErrorKind, u64)> {
    vec![(kind, 1)]
}

// ---------------------------------------------------------------------------
// Faults.

#[test]
fn nth_insert_refused_for_good_leaves_that_direction_in_software_with_the_reason() {
    for kind in [K::Unsupported, K::Invalid] {
        let mut rig = Rig::new();
        let conns: Vec<TestConn> = (1..=3).map(|i| rig.conn(i)).collect();
        // Insert 4 is connection 2's reply.
        rig.m.backend_mut().refuse_nth.insert(4, kind);
        conns.iter().for_each(|c| rig.ask_both(c));
        let s = rig.poll_at(0);
        assert_eq!(
            (s.requests, s.installed, s.refused, s.retried),
            (6, 5, 1, 0)
        );

        let hit = &conns[1];
        assert_eq!(
            rig.dir(hit.id, Dir::Reply),
            DirOffload::Refused {
                kind,
                message: format!("injected {kind} on insert 4"),
            }
        );
        assert!(matches!(
            rig.dir(hit.id, Dir::Forward),
            DirOffload::Offloaded { .. }
        ));
        let c = rig.m.counters().snapshot();
        assert_eq!(c.refused, refused(kind));
        assert_eq!((c.installed, c.retries), (5, 0));
        // Not retried, later either: nothing more is inserted.
        rig.poll_at(1_900);
        assert_eq!(rig.m.backend().inserts, 6);
        // A refusal for good keeps the claim: the worker does not ask again
        // for a rule that cannot be.
        assert_eq!(
            rig.ct.view(hit.id).map(|v| v.offload_claimed),
            Some([true, true])
        );
        conns.iter().for_each(|c| rig.assert_untouched(c));
        rig.check_books();
        assert_eq!(rig.shutdown_clean(), 5);
        conns.iter().for_each(|c| rig.assert_untouched(c));
    }
}

#[test]
fn nth_insert_refused_for_a_passing_reason_is_retried_after_backoff_and_installed() {
    for kind in [K::TableFull, K::Transient] {
        let mut rig = Rig::new();
        let conns: Vec<TestConn> = (1..=3).map(|i| rig.conn(i)).collect();
        rig.m.backend_mut().refuse_nth.insert(3, kind);
        conns.iter().for_each(|c| rig.ask_both(c));
        let s = rig.poll_at(0);
        assert_eq!((s.installed, s.retried, s.refused), (5, 1, 0));
        let hit = &conns[1];
        assert_eq!(
            rig.dir(hit.id, Dir::Forward),
            DirOffload::Retrying { kind, attempts: 1 }
        );
        // Not before its backoff...
        let early = RETRY_INITIAL.as_millis() as u64 - 1;
        assert_eq!(rig.poll_at(early).installed, 0);
        assert_eq!(rig.m.backend().inserts, 6);
        // ...then with the same rule, no new request from the worker.
        let s = rig.poll_at(early + 1);
        assert_eq!((s.requests, s.installed), (0, 1));
        assert!(matches!(
            rig.dir(hit.id, Dir::Forward),
            DirOffload::Offloaded { .. }
        ));
        let c = rig.m.counters().snapshot();
        assert_eq!((c.installed, c.retries, c.refused.len()), (6, 1, 0));
        conns.iter().for_each(|c| rig.assert_untouched(c));
        rig.check_books();
        assert_eq!(rig.shutdown_clean(), 6);
    }
}

#[test]
fn a_persisting_transient_refusal_backs_off_exponentially_then_gives_up_and_hands_back_the_claim() {
    let mut rig = Rig::new();
    let c = rig.conn(1);
    rig.m.backend_mut().refuse_all = Some(K::Transient);
    rig.ask(c.fwd());
    rig.poll_at(0);
    let attempts = |rig: &Rig| rig.m.backend().inserts;
    assert_eq!(attempts(&rig), 1);
    // Backoff 100, 200, 400 (the cap) ms: attempts at 100, 300 and 700.
    let mut at = 0;
    for (wait, n) in [(100, 2), (200, 3), (400, 4)] {
        rig.poll_at(at + wait - 1);
        assert_eq!(attempts(&rig), n - 1, "not before {wait} ms");
        at += wait;
        rig.poll_at(at);
        assert_eq!(attempts(&rig), n, "attempt {n} at {at} ms");
    }
    // The fourth attempt was the last.
    assert_eq!(
        rig.dir(c.id, Dir::Forward),
        DirOffload::Refused {
            kind: K::Transient,
            message: "injected transient on insert 4".into(),
        }
    );
    let s = rig.m.counters().snapshot();
    assert_eq!((s.retries, s.installed), (3, 0));
    assert_eq!(s.refused, refused(K::Transient));
    rig.poll_at(at + 10_000);
    assert_eq!(attempts(&rig), 4, "no attempt after giving up");
    // The claim is handed back so that a later packet asks again; once the
    // fault has cleared, that request installs.
    let v = rig.ct.view(c.id).expect("live");
    assert_eq!(v.offload_claimed, [false, true]);
    assert_eq!(v.state, ConnState::Replied);
    rig.m.backend_mut().refuse_all = None;
    rig.ask(c.fwd());
    assert_eq!(rig.poll_at(at + 10_001).installed, 1);
    assert!(matches!(
        rig.dir(c.id, Dir::Forward),
        DirOffload::Offloaded { .. }
    ));
    rig.assert_untouched(&c);
    assert_eq!(rig.shutdown_clean(), 1);
}

#[test]
fn a_full_table_retries_until_a_gone_connection_makes_room() {
    // Room for the root rule and three connection rules.
    let mut rig = Rig::with_table(|d| SoftwareTable::with_limit(d, 4));
    let a = rig.conn(1);
    let b = rig.conn(2);
    rig.ask_both(&a);
    rig.ask_both(&b);
    let s = rig.poll_at(0);
    assert_eq!((s.installed, s.retried), (3, 1));
    assert_eq!(
        rig.dir(b.id, Dir::Reply),
        DirOffload::Retrying {
            kind: K::TableFull,
            attempts: 1
        }
    );
    // Connection a ends in software (killed, as an expiry would): the next
    // fold removes its rules, and the retry then finds room.
    assert!(rig.ct.kill(a.id));
    let s = rig.poll_at(1_000);
    assert_eq!(s.removed, 2);
    assert!(rig.m.status().get(a.id).is_none());
    // The retry (due since 100 ms) runs after the fold, and finds room.
    assert_eq!(s.installed, 1);
    assert!(matches!(
        rig.dir(b.id, Dir::Reply),
        DirOffload::Offloaded { .. }
    ));
    let c = rig.m.counters().snapshot();
    assert_eq!((c.installed, c.removed, c.retries), (4, 2, 1));
    assert!(c.refused.is_empty());
    rig.assert_untouched(&b);
    rig.check_books();
    assert_eq!(rig.shutdown_clean(), 2);
}

#[test]
fn a_table_that_stays_full_refuses_with_the_backends_reason() {
    let mut rig = Rig::with_table(|d| SoftwareTable::with_limit(d, 2));
    let a = rig.conn(1);
    rig.ask_both(&a);
    rig.poll_at(0);
    for ms in [100, 300, 700] {
        rig.poll_at(ms);
    }
    assert_eq!(
        rig.dir(a.id, Dir::Reply),
        DirOffload::Refused {
            kind: K::TableFull,
            message: "software table: the table is full".into(),
        }
    );
    let c = rig.m.counters().snapshot();
    assert_eq!((c.installed, c.retries), (1, MAX_ATTEMPTS as u64 - 1));
    assert_eq!(c.refused, refused(K::TableFull));
    rig.assert_untouched(&a);
    assert_eq!(rig.shutdown_clean(), 1);
}

#[test]
fn late_completions_time_out_then_some_fail_and_the_rest_install() {
    let mut rig = Rig::new();
    rig.m.backend_mut().late = Some(Late {
        timeouts: 2,
        fail_every: 4,
    });
    let conns: Vec<TestConn> = (1..=4).map(|i| rig.conn(i)).collect();
    conns.iter().for_each(|c| rig.ask_both(c));
    // Commits 1 and 2 time out: every op is retried.
    let s = rig.poll_at(0);
    assert_eq!((s.installed, s.retried), (0, 8));
    for c in &conns {
        assert_eq!(
            rig.dir(c.id, Dir::Forward),
            DirOffload::Retrying {
                kind: K::Transient,
                attempts: 1
            }
        );
    }
    assert_eq!(rig.poll_at(100).retried, 8);
    // Commit 3 completes: ops 4 and 8 fail for good, six install.
    let s = rig.poll_at(300);
    assert_eq!((s.installed, s.refused), (6, 2));
    let refusals: Vec<_> = rig
        .m
        .status()
        .snapshot()
        .values()
        .flat_map(|c| c.dirs.clone())
        .filter_map(|d| match d {
            DirOffload::Refused { kind, message } => Some((kind, message)),
            _ => None,
        })
        .collect();
    assert_eq!(refusals.len(), 2);
    for (kind, message) in &refusals {
        assert_eq!(*kind, K::Unsupported);
        assert!(
            message.ends_with("completed with an unsupported action"),
            "{message}"
        );
    }
    let c = rig.m.counters().snapshot();
    assert_eq!((c.installed, c.retries), (6, 16));
    assert_eq!(c.refused, vec![(K::Unsupported, 2)]);
    conns.iter().for_each(|c| rig.assert_untouched(c));
    rig.check_books();
    assert_eq!(rig.shutdown_clean(), 6);
}

#[test]
fn a_connection_that_dies_while_its_insert_is_in_flight_loses_its_new_rules_at_once() {
    let mut rig = Rig::new();
    let doomed = rig.conn(1);
    let other = rig.conn(2);
    let ct = Arc::clone(&rig.ct);
    let id = doomed.id;
    rig.m.backend_mut().in_flight = Some(Box::new(move || {
        ct.kill(id);
    }));
    rig.ask_both(&doomed);
    rig.ask_both(&other);
    let s = rig.poll_at(0);
    // Four rules were installed; the two of the dead connection removed.
    assert_eq!(rig.m.backend().issued.len(), 4);
    assert_eq!((s.installed, s.stale, s.removed), (2, 2, 2));
    assert!(rig.m.status().get(doomed.id).is_none());
    assert_eq!(rig.m.backend().ours_installed(), 2);
    let c = rig.m.counters().snapshot();
    assert_eq!((c.installed, c.stale, c.removed), (2, 2, 2));
    rig.check_books();
    rig.assert_untouched(&other);
    assert_eq!(rig.shutdown_clean(), 2);
}

#[test]
fn a_request_for_a_gone_connection_is_stale_and_a_repeated_one_a_duplicate() {
    let mut rig = Rig::new();
    let gone = rig.conn(1);
    let live = rig.conn(2);
    rig.ct.kill(gone.id);
    rig.ask_both(&gone);
    rig.ask(live.fwd());
    rig.ask(live.fwd());
    let s = rig.poll_at(0);
    assert_eq!((s.requests, s.stale, s.installed), (4, 2, 1));
    let c = rig.m.counters().snapshot();
    assert_eq!((c.stale, c.duplicate, c.installed), (2, 1, 1));
    assert!(rig.m.backend().issued.len() == 1);
    assert_eq!(rig.dir(live.id, Dir::Reply), DirOffload::Waiting);
    rig.check_books();
    assert_eq!(rig.shutdown_clean(), 1);
}

#[test]
fn a_poll_takes_one_batch_of_requests_and_leaves_the_rest_queued() {
    let mut rig = Rig::build(
        SoftwareTable::new,
        ManagerConfig {
            batch: 4,
            ..config()
        },
    );
    let conns: Vec<TestConn> = (1..=3).map(|i| rig.conn(i)).collect();
    conns.iter().for_each(|c| rig.ask_both(c));
    let s = rig.poll_at(0);
    assert_eq!((s.requests, s.installed), (4, 4));
    let s = rig.poll_at(1);
    assert_eq!((s.requests, s.installed), (2, 2));
    assert!(rig.poll_at(2).is_idle());
    assert_eq!(rig.shutdown_clean(), 6);
}

#[test]
fn a_treatment_outside_the_switch_domain_is_not_eligible_and_counted_by_reason() {
    let mut rig = Rig::new();
    let c = rig.conn(1);
    let mut t = c.fwd();
    t.out_port = SOFTWARE_PORT;
    rig.ask(t);
    rig.ask(c.rep());
    let s = rig.poll_at(0);
    assert_eq!((s.not_eligible, s.installed), (1, 1));
    let why = NotEligible::OutsideSwitchDomain {
        port: SOFTWARE_PORT,
    };
    assert_eq!(rig.dir(c.id, Dir::Forward), DirOffload::NotEligible(why));
    let counters = rig.m.counters();
    assert_eq!(counters.snapshot().not_eligible, vec![(why.as_str(), 1)]);
    assert_eq!(counters.not_eligible(why.as_str()), 1);
    rig.assert_untouched(&c);
    assert_eq!(rig.shutdown_clean(), 1);
}

#[test]
fn failed_removes_are_kept_and_retried_and_each_rule_is_removed_once() {
    let mut rig = Rig::new();
    let a = rig.conn(1);
    let b = rig.conn(2);
    rig.ask_both(&a);
    rig.ask_both(&b);
    assert_eq!(rig.poll_at(0).installed, 4);
    // Connection a expires in software; its two removes fail once each.
    rig.m.backend_mut().fail_remove_nth = HashMap::from([(1, K::Transient), (2, K::TableFull)]);
    rig.ct.kill(a.id);
    let s = rig.poll_at(1_000);
    assert_eq!(s.removed, 0);
    assert_eq!(rig.m.handles().len(), 4, "both kept to retry");
    assert_eq!(rig.m.counters().snapshot().remove_errors, 2);
    rig.check_books();
    let s = rig.poll_at(2_000);
    assert_eq!(s.removed, 2);
    rig.check_books();
    // A rule that vanished behind our back (a port reset): the backend
    // says it does not know the handle, which leaves the books.
    let h = rig.m.handle_of(b.id, Dir::Reply).expect("installed");
    rig.m.backend_mut().table.remove(h);
    rig.m.backend_mut().vanished.insert(h);
    rig.ct.kill(b.id);
    let s = rig.poll_at(3_000);
    assert_eq!(s.removed, 1);
    assert!(rig.m.handles().is_empty());
    let c = rig.m.counters().snapshot();
    assert_eq!((c.removed, c.remove_errors), (3, 3));
    rig.check_books();
    assert_eq!(rig.shutdown_clean(), 0);
}

#[test]
fn shutdown_keeps_what_the_backend_would_not_remove_and_removes_it_on_the_next_call() {
    let mut rig = Rig::new();
    let a = rig.conn(1);
    rig.ask_both(&a);
    rig.poll_at(0);
    rig.m.backend_mut().fail_all_removes = true;
    assert_eq!(rig.m.shutdown(), 0);
    assert_eq!(rig.m.handles().len(), 2, "no handle lost");
    assert_eq!(
        rig.m.counters().snapshot().remove_errors,
        2 * u64::from(MAX_ATTEMPTS)
    );
    rig.check_books();
    rig.m.backend_mut().fail_all_removes = false;
    assert_eq!(rig.shutdown_clean(), 2);
    // The connection lives on in software, its claims handed back.
    let v = rig.ct.view(a.id).expect("live");
    assert_eq!(v.offload_claimed, [false, false]);
    rig.assert_untouched(&a);
}

// ---------------------------------------------------------------------------
// Lifecycle on a healthy emulated NIC.

#[test]
fn hardware_hits_fold_into_the_connection_once_per_fold() {
    let mut rig = Rig::new();
    let c = rig.conn(1);
    rig.ask_both(&c);
    assert!(rig.poll_at(0).folded);
    rig.hits(&c.fwd(), 3);
    rig.hits(&c.rep(), 1);
    // Not folded before the interval.
    assert!(!rig.poll_at(999).folded);
    assert_eq!(rig.ct.view(c.id).map(|v| v.packets), Some([1, 1]));
    assert!(rig.poll_at(1_500).folded);
    let v = rig.ct.view(c.id).expect("live");
    assert_eq!(v.packets, [4, 2]);
    assert_eq!(v.bytes, [4 * FRAME, 2 * FRAME]);
    assert_eq!(v.last_seen, 1_500);
    assert_eq!(
        rig.dir(c.id, Dir::Forward),
        DirOffload::Offloaded {
            rule: format!("{:?}", rig.m.handle_of(c.id, Dir::Forward).expect("rule")),
            hits: 3,
            bytes: 3 * FRAME,
        }
    );
    // The next fold credits only what is new.
    rig.hits(&c.fwd(), 2);
    rig.poll_at(2_500);
    let v = rig.ct.view(c.id).expect("live");
    assert_eq!(v.packets, [6, 2]);
    assert_eq!(v.last_seen, 2_500);
    let s = rig.m.counters().snapshot();
    assert_eq!((s.folded_packets, s.folded_bytes), (6, 6 * FRAME));
    assert_eq!(rig.shutdown_clean(), 2);
}

#[test]
fn an_aged_rule_ends_its_connection_once_the_whole_connection_is_idle() {
    let mut rig = Rig::new();
    let c = rig.conn(1);
    rig.ask_both(&c);
    rig.poll_at(0);
    // The forward direction keeps flowing in hardware; the reply is idle.
    rig.hits(&c.fwd(), 1);
    rig.poll_at(1_000);
    // At 2.5 s the reply's rule has aged (2 s), but the connection saw
    // traffic 1.5 s ago: it lives on, both rules with it.
    let s = rig.poll_at(2_500);
    assert_eq!((s.aged, s.removed), (0, 0));
    assert!(rig.ct.view(c.id).is_some());
    assert_eq!(rig.m.backend().ours_installed(), 2);
    // At 3.5 s the forward rule ages too: the connection is idle for its
    // timeout, so it ends and both rules go.
    let s = rig.poll_at(3_500);
    assert_eq!((s.aged, s.removed), (1, 2));
    assert!(rig.ct.view(c.id).is_none(), "killed");
    assert!(rig.m.status().get(c.id).is_none());
    assert_eq!(rig.m.counters().snapshot().aged, 1);
    rig.check_books();
    assert_eq!(rig.shutdown_clean(), 0);
}

#[test]
fn invalidation_removes_the_rules_first_then_kills() {
    let mut rig = Rig::new();
    let a = rig.conn(1);
    let b = rig.conn(2);
    rig.ask_both(&a);
    rig.ask_both(&b);
    rig.poll_at(0);
    rig.hits(&a.fwd(), 2);
    rig.m.backend_mut().watch = Some((Arc::clone(&rig.ct), a.id));
    assert_eq!(rig.m.invalidate(&[a.id], 500), 1);
    // Both removes saw the connection still live: rules first.
    assert_eq!(rig.m.backend().live_at_remove, [true, true]);
    assert!(rig.ct.view(a.id).is_none(), "killed after");
    assert!(rig.m.status().get(a.id).is_none());
    let c = rig.m.counters().snapshot();
    assert_eq!((c.invalidated, c.removed, c.folded_packets), (1, 2, 2));
    rig.check_books();
    rig.assert_untouched(&b);
    assert_eq!(rig.shutdown_clean(), 2);
}

#[test]
fn shutdown_empties_the_table_and_the_status() {
    let mut rig = Rig::new();
    let conns: Vec<TestConn> = (1..=5).map(|i| rig.conn(i)).collect();
    conns.iter().for_each(|c| rig.ask_both(c));
    assert_eq!(rig.poll_at(0).installed, 10);
    assert_eq!(rig.m.status().len(), 5);
    assert_eq!(rig.shutdown_clean(), 10);
    assert!(rig.m.status().is_empty());
    for c in &conns {
        rig.assert_untouched(c);
        let v = rig.ct.view(c.id).expect("live");
        // What a `dpuflow flows` would say now: not offloaded, not asked.
        assert_eq!(
            rig.m.status().explain(&v, true).dirs,
            [DirOffload::Waiting, DirOffload::Waiting]
        );
        assert_eq!(
            rig.m.status().explain(&v, false).dirs,
            [DirOffload::Disabled, DirOffload::Disabled]
        );
    }
    assert_eq!(rig.m.counters().snapshot().removed, 10);
}

// ---------------------------------------------------------------------------
// Base rules.

/// The manager's base rules on, beside the rig's root rule.
fn with_base() -> Rig {
    Rig::build(
        SoftwareTable::new,
        ManagerConfig {
            base_rules: true,
            ..config()
        },
    )
}

#[test]
fn base_rules_go_in_before_the_first_connection_rule_and_out_with_the_rest() {
    let mut rig = with_base();
    let c = rig.conn(1);
    assert_eq!(
        rig.m.backend().inserts,
        0,
        "nothing installed before a request"
    );
    rig.ask_both(&c);
    let s = rig.poll_at(0);
    assert_eq!(s.installed, 2);
    let f = rig.m.backend();
    let groups: Vec<(u32, u32)> = f
        .issued
        .iter()
        .map(|h| {
            let r = f.table.get(*h).expect("installed");
            (r.attr.group, r.attr.priority)
        })
        .collect();
    // Per port: group 0's jump, then the connection group's miss; then
    // the two connection rules.
    assert_eq!(
        groups,
        [
            (0, 0),
            (CONNECTION_GROUP, 15),
            (0, 0),
            (CONNECTION_GROUP, 15),
            (1, 0),
            (1, 0)
        ]
    );
    rig.check_books();
    assert_eq!(rig.shutdown_clean(), 6, "base and connection rules");
}

#[test]
fn refused_base_rules_refuse_every_connection_rule_with_their_reason() {
    let mut rig = with_base();
    let c = rig.conn(1);
    rig.m.backend_mut().refuse_nth.insert(3, K::Unsupported);
    rig.ask_both(&c);
    let s = rig.poll_at(0);
    assert_eq!((s.installed, s.refused), (0, 2));
    for dir in [Dir::Forward, Dir::Reply] {
        assert_eq!(
            rig.dir(c.id, dir),
            DirOffload::Refused {
                kind: K::Unsupported,
                message: "base rules: injected unsupported on insert 3".into(),
            }
        );
    }
    // All or nothing: the base rules that went in came out again.
    assert_eq!(rig.m.backend().ours_installed(), 0);
    assert_eq!(
        rig.m.counters().snapshot().refused,
        vec![(K::Unsupported, 2)]
    );
    rig.check_books();
    rig.assert_untouched(&c);
    assert_eq!(rig.shutdown_clean(), 0);
}
