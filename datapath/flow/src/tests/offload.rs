//! The software table behind [`OffloadBackend`], as the emulated NIC the
//! offload tests run against: the same rules, counters, aging, a size.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::{
    Action, Direction, Ipv4Header, Ipv4Match, L3Header, OffloadBackend, OffloadErrorKind,
    PacketKey, Rule, SoftwareTable,
};

fn to(dst: Ipv4Addr) -> Rule {
    Rule::ingress()
        .item(Ipv4Match::any().dst_prefix(dst, 32))
        .actions([Action::Count, Action::Age { timeout: 10 }, Action::Queue(1)])
}

fn packet(dst: Ipv4Addr) -> PacketKey {
    let mut key = PacketKey::default();
    key.outer.l3 = L3Header::V4(Ipv4Header {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst,
        proto: 17,
        ttl: 64,
        dscp: 0,
        ecn: 0,
    });
    key
}

const A: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 5);
const B: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 6);

#[test]
fn counts_what_it_executes_and_ages_idle_rules() {
    let mut nic = SoftwareTable::new(Direction::Ingress);
    let backend: &mut dyn OffloadBackend<Handle = crate::RuleId> = &mut nic;
    let a = backend.insert(&to(A)).unwrap();
    let b = backend.insert(&to(B)).unwrap();
    assert_eq!(backend.name(), "software");
    assert_eq!(backend.capacity().installed, 2);

    for _ in 0..3 {
        nic.classify(&packet(A)).count(100);
    }
    let stats = nic.query(a).unwrap();
    assert_eq!((stats.hits, stats.bytes), (3, 300));
    assert_eq!(nic.query(b).unwrap().hits, 0);

    // Counter-based aging: a rule is idle while its counter stands still.
    let start = Instant::now();
    let mut aged = Vec::new();
    nic.aged_at(start, &mut aged); // a's counter moved: its idle time restarts
    assert!(aged.is_empty());
    nic.classify(&packet(A)).count(100);
    nic.aged_at(start + Duration::from_secs(5), &mut aged);
    assert!(aged.is_empty());
    nic.aged_at(start + Duration::from_secs(11), &mut aged);
    assert_eq!(aged, [b], "b was never hit: aged after its 10 s");
    aged.clear();
    nic.classify(&packet(A)).count(100);
    nic.aged_at(start + Duration::from_secs(12), &mut aged);
    assert!(aged.is_empty(), "a was hit again; b is reported once");
    nic.aged_at(start + Duration::from_secs(30), &mut aged);
    assert_eq!(aged, [a]);
    let stats = nic.stats_at(a, start + Duration::from_secs(30)).unwrap();
    assert_eq!((stats.hits, stats.idle_secs), (5, Some(18)));
}

#[test]
fn refusals_say_what_to_do() {
    let mut nic = SoftwareTable::with_limit(Direction::Ingress, 1);
    let a = OffloadBackend::insert(&mut nic, &to(A)).unwrap();
    let full = OffloadBackend::insert(&mut nic, &to(B)).unwrap_err();
    assert_eq!(full.kind, OffloadErrorKind::TableFull);
    assert_eq!(nic.capacity().limit, Some(1));

    let egress = Rule::egress().item(Ipv4Match::any()).action(Action::Drop);
    OffloadBackend::remove(&mut nic, a).unwrap();
    let wrong = OffloadBackend::insert(&mut nic, &egress).unwrap_err();
    assert_eq!(wrong.kind, OffloadErrorKind::Invalid);
    let gone = OffloadBackend::remove(&mut nic, a).unwrap_err();
    assert_eq!(gone.kind, OffloadErrorKind::Invalid);
    let no_count = OffloadBackend::insert(
        &mut nic,
        &Rule::ingress().item(Ipv4Match::any()).action(Action::Drop),
    )
    .unwrap();
    assert_eq!(
        nic.query(no_count).unwrap_err().kind,
        OffloadErrorKind::Invalid
    );
}

#[test]
fn batch_results_in_order() {
    let mut nic = SoftwareTable::with_limit(Direction::Ingress, 2);
    let bad = Rule::ingress().item(Ipv4Match::any()); // no fate: invalid
    let mut out = Vec::new();
    nic.insert_batch(&[to(A), bad, to(B), to(A)], &mut out);
    let kinds: Vec<_> = out
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            None,
            Some(OffloadErrorKind::Invalid),
            None,
            Some(OffloadErrorKind::TableFull)
        ]
    );
    assert_eq!(nic.len(), 2);
}

/// A backend whose commit fails once, wrapping the software table; one
/// chosen handle cannot be removed.
struct FailingCommit {
    nic: SoftwareTable,
    fail_commit: bool,
    stuck: Option<crate::RuleId>,
}

impl OffloadBackend for FailingCommit {
    type Handle = crate::RuleId;
    fn name(&self) -> &'static str {
        "failing-commit"
    }
    fn insert(&mut self, rule: &Rule) -> Result<Self::Handle, crate::OffloadError> {
        let h = self.nic.insert(rule.clone())?;
        if self.stuck.is_none() {
            self.stuck = Some(h);
        }
        Ok(h)
    }
    fn remove(&mut self, h: Self::Handle) -> Result<(), crate::OffloadError> {
        if Some(h) == self.stuck {
            return Err(crate::OffloadError::new(
                OffloadErrorKind::Transient,
                "busy",
            ));
        }
        OffloadBackend::remove(&mut self.nic, h)
    }
    fn commit(&mut self) -> Result<(), crate::OffloadError> {
        if std::mem::take(&mut self.fail_commit) {
            return Err(crate::OffloadError::new(
                OffloadErrorKind::Transient,
                "timeout",
            ));
        }
        Ok(())
    }
    fn query(&self, h: Self::Handle) -> Result<crate::RuleStats, crate::OffloadError> {
        self.nic.query(h)
    }
    fn aged(&mut self, out: &mut Vec<Self::Handle>) -> Result<(), crate::OffloadError> {
        self.nic.aged(out)
    }
    fn capacity(&self) -> crate::Capacity {
        OffloadBackend::capacity(&self.nic)
    }
}

#[test]
fn a_failed_batch_commit_leaves_no_rule_without_a_handle() {
    let mut b = FailingCommit {
        nic: SoftwareTable::new(Direction::Ingress),
        fail_commit: true,
        stuck: None,
    };
    let mut out = Vec::new();
    b.insert_batch(&[to(A), to(B)], &mut out);
    // The first rule could not be taken back: its handle is still ours;
    // the second was removed and reported with the commit's error.
    assert!(out[0].is_ok(), "{out:?}");
    assert_eq!(
        out[1].as_ref().unwrap_err().kind,
        OffloadErrorKind::Transient
    );
    let held = out.iter().filter(|r| r.is_ok()).count();
    assert_eq!(b.nic.len(), held, "every installed rule has a handle");
}
