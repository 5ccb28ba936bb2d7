use super::*;
use proptest::prelude::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pod(n: usize) -> PodRef {
    PodRef::new(format!("uid-{n}"), "ns", format!("pod-{n}"))
}

impl PodIpAllocator {
    /// Every internal invariant; `Err` names the broken one.
    fn check_invariants(&self) -> Result<(), String> {
        let mut seen = HashMap::new();
        for (uid, a) in &self.owners {
            if *uid != a.pod.uid {
                return Err(format!("owner key {uid} != {}", a.pod.uid));
            }
            for &addr in &a.ips {
                if let Some(other) = seen.insert(addr, uid.clone()) {
                    return Err(format!("{addr} held by {uid} and {other}"));
                }
                if self.is_reserved(addr) {
                    return Err(format!("{addr} of {uid} is reserved"));
                }
                let (pool, off) = self.slot(addr).ok_or(format!("{addr} outside subnets"))?;
                if !self.pools[pool].is_set(off) {
                    return Err(format!("{addr} allocated but free in bitmap"));
                }
                if self.by_ip.get(&addr) != Some(uid) {
                    return Err(format!("{addr} missing from by_ip"));
                }
            }
        }
        if seen.len() != self.by_ip.len() {
            return Err("by_ip has stale entries".into());
        }
        let reserved: u64 = self
            .pools
            .iter()
            .map(|p| {
                (0..p.size)
                    .filter(|&o| p.reserved_role(o).is_some())
                    .count() as u64
            })
            .sum();
        let capacity: u64 = self.pools.iter().map(|p| p.size).sum();
        let expected_free = capacity - reserved - seen.len() as u64;
        if self.free_count() != expected_free {
            return Err(format!(
                "free_count {} != {expected_free}",
                self.free_count()
            ));
        }
        Ok(())
    }
}

#[test]
fn dual_stack_allocation_skips_reserved() {
    let mut a = PodIpAllocator::new(&[net("10.244.1.0/24"), net("fd00:10:244:1::/64")]).unwrap();
    let ips = a.allocate(&pod(1)).unwrap();
    assert_eq!(ips, vec![ip("10.244.1.3"), ip("fd00:10:244:1::3")]);
    assert_eq!(a.allocate(&pod(1)).unwrap(), ips, "idempotent");
    assert_eq!(
        a.allocate(&pod(2)).unwrap(),
        vec![ip("10.244.1.4"), ip("fd00:10:244:1::4")]
    );
    assert!(
        a.is_reserved(ip("10.244.1.1"))
            && a.is_reserved(ip("10.244.1.2"))
            && a.is_reserved(ip("10.244.1.255"))
    );
    assert!(!a.is_reserved(ip("fd00:10:244:1::ffff")));
    assert_eq!(a.owner_of(ip("10.244.1.4")), Some(&pod(2)));
    a.check_invariants().unwrap();
}

#[test]
fn round_robin_does_not_reuse_at_once() {
    let mut a = PodIpAllocator::new(&[net("10.0.0.0/29")]).unwrap();
    // Usable: .3 .4 .5 .6 (.7 is broadcast).
    assert_eq!(a.allocate(&pod(1)).unwrap(), vec![ip("10.0.0.3")]);
    assert_eq!(a.allocate(&pod(2)).unwrap(), vec![ip("10.0.0.4")]);
    a.release("uid-1").unwrap();
    assert_eq!(a.allocate(&pod(3)).unwrap(), vec![ip("10.0.0.5")]);
    assert_eq!(a.allocate(&pod(4)).unwrap(), vec![ip("10.0.0.6")]);
    assert_eq!(
        a.allocate(&pod(5)).unwrap(),
        vec![ip("10.0.0.3")],
        "wraps to the freed address"
    );
    let err = a.allocate(&pod(6)).unwrap_err();
    assert!(
        matches!(err, IpamError::Exhausted { family: "IPv4", .. }),
        "{err}"
    );
    a.check_invariants().unwrap();
}

#[test]
fn exhausting_one_family_takes_nothing() {
    let mut a = PodIpAllocator::new(&[net("10.0.0.0/30"), net("fd00::/120")]).unwrap();
    // A /30 has no pod address (.0 net, .1 gw, .2 mgmt, .3 broadcast).
    assert!(a.allocate(&pod(1)).is_err());
    assert!(a.allocation("uid-1").is_none());
    a.check_invariants().unwrap();
}

#[test]
fn restore_conflicts_are_reported_and_never_double_allocated() {
    let mut a = PodIpAllocator::new(&[net("10.244.1.0/24")]).unwrap();
    a.restore(&pod(1), &[ip("10.244.1.3")]).unwrap();
    a.restore(&pod(1), &[ip("10.244.1.3")]).unwrap();
    let err = a.restore(&pod(2), &[ip("10.244.1.3")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "10.244.1.3 claimed by ns/pod-2 (uid uid-2) is already held by ns/pod-1 (uid uid-1)"
    );
    assert!(matches!(
        a.restore(&pod(3), &[ip("10.244.1.1")]),
        Err(IpamError::Reserved {
            role: "gateway",
            ..
        })
    ));
    assert!(matches!(
        a.restore(&pod(3), &[ip("10.244.2.9")]),
        Err(IpamError::OutsideSubnets { .. })
    ));
    assert!(matches!(
        a.restore(&pod(3), &[ip("10.244.1.9"), ip("10.244.1.10")]),
        Err(IpamError::SameFamilyTwice { .. })
    ));
    assert!(matches!(
        a.restore(&pod(1), &[ip("10.244.1.9")]),
        Err(IpamError::AlreadyAllocated { .. })
    ));
    // The next allocation skips the restored address.
    assert_eq!(a.allocate(&pod(4)).unwrap(), vec![ip("10.244.1.4")]);
    a.check_invariants().unwrap();
}

#[test]
fn slash_16_is_a_small_bitmap_and_fills_up() {
    let mut a = PodIpAllocator::new(&[net("10.244.0.0/16")]).unwrap();
    assert_eq!(a.pools[0].used.len(), 1024);
    assert_eq!(a.free_count(), 65536 - 4);
    a.restore(&pod(0), &[ip("10.244.200.7")]).unwrap();
    let mut last = ip("0.0.0.0");
    for n in 1..65532 {
        last = a.allocate(&pod(n)).unwrap()[0];
    }
    assert_eq!(last, ip("10.244.255.254"));
    assert_eq!(a.free_count(), 0);
    assert!(a.allocate(&pod(70000)).is_err());
    a.check_invariants().unwrap();
}

#[test]
fn ipv6_64_tracks_the_first_65536() {
    let mut a = PodIpAllocator::new(&[net("fd00:10:244:1::/64")]).unwrap();
    assert_eq!(a.free_count(), 65536 - 3);
    assert!(a.restore(&pod(1), &[ip("fd00:10:244:1::ffff")]).is_ok());
    assert!(matches!(
        a.restore(&pod(2), &[ip("fd00:10:244:1::1:0")]),
        Err(IpamError::OutsideSubnets { .. })
    ));
}

#[test]
fn construction_errors() {
    assert_eq!(PodIpAllocator::new(&[]).unwrap_err(), IpamError::NoSubnets);
    assert!(matches!(
        PodIpAllocator::new(&[net("10.0.0.0/16"), net("10.0.1.0/24")]),
        Err(IpamError::OverlappingSubnets(..))
    ));
}

#[test]
fn subnet_change_keeps_what_fits_and_reports_the_rest() {
    let mut a = PodIpAllocator::new(&[net("10.244.1.0/24"), net("fd00:10:244:1::/64")]).unwrap();
    a.restore(&pod(1), &[ip("10.244.1.3"), ip("fd00:10:244:1::3")])
        .unwrap();
    a.restore(&pod(2), &[ip("10.244.1.200")]).unwrap();
    let rebuilt = a
        .with_subnets(&[net("10.244.1.0/25"), net("fd00:10:244:1::/64")])
        .unwrap();
    assert_eq!(rebuilt.allocator.allocation("uid-1").unwrap().ips.len(), 2);
    assert!(rebuilt.allocator.allocation("uid-2").is_none());
    assert_eq!(rebuilt.stranded.len(), 1);
    assert_eq!(rebuilt.stranded[0].0.pod, pod(2));
    assert!(matches!(
        rebuilt.stranded[0].1,
        IpamError::OutsideSubnets { .. }
    ));
    rebuilt.allocator.check_invariants().unwrap();
}

/// Reserved in the property test's subnets, worked out independently of
/// the allocator: network, gateway, management port and (IPv4) broadcast.
fn reserved_in_test_subnets(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => matches!(a.octets()[3], 0 | 1 | 2 | 15),
        IpAddr::V6(a) => matches!(a.segments()[7], 0..=2),
    }
}

/// One step of the property test.
#[derive(Clone, Debug)]
enum Op {
    Allocate(usize),
    Release(usize),
    Restore(usize, Option<u8>, Option<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..24usize).prop_map(Op::Allocate),
        2 => (0..24usize).prop_map(Op::Release),
        2 => (0..24usize, proptest::option::of(0..20u8), proptest::option::of(0..20u8))
            .prop_map(|(p, a, b)| Op::Restore(p, a, b)),
    ]
}

proptest! {
    #[test]
    fn never_hands_out_reserved_or_taken_addresses(ops in proptest::collection::vec(op(), 1..200)) {
        // 10.0.0.0/28: 16 addresses, 4 reserved; fd00::/124: 16, 3 reserved.
        // Offsets up to 19 also reach outside the subnets.
        let mut a = PodIpAllocator::new(&[net("10.0.0.0/28"), net("fd00::/124")]).unwrap();
        let mut model: HashMap<IpAddr, usize> = HashMap::new();
        for op in ops {
            match op {
                Op::Allocate(p) => {
                    let before = a.allocation(&pod(p).uid).map(|x| x.ips.clone());
                    if let Ok(ips) = a.allocate(&pod(p)) {
                        for ip in &ips {
                            prop_assert!(!reserved_in_test_subnets(ip), "reserved {ip} handed out");
                            let holder = model.insert(*ip, p);
                            prop_assert!(holder.is_none() || holder == Some(p), "{ip} handed out twice");
                            prop_assert!(before.is_some() || holder.is_none(), "{ip} was taken");
                        }
                    }
                }
                Op::Release(p) => {
                    a.release(&pod(p).uid);
                    model.retain(|_, holder| *holder != p);
                }
                Op::Restore(p, v4, v6) => {
                    let ips: Vec<IpAddr> = v4
                        .map(|o| IpAddr::V4(Ipv4Addr::new(10, 0, 0, o)))
                        .into_iter()
                        .chain(v6.map(|o| IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(o)))))
                        .collect();
                    let conflict = ips.iter().any(|ip| model.get(ip).is_some_and(|h| *h != p));
                    let result = a.restore(&pod(p), &ips);
                    if conflict {
                        prop_assert!(result.is_err(), "conflicting restore of {ips:?} accepted");
                    }
                    if result.is_ok() {
                        prop_assert!(!ips.iter().any(reserved_in_test_subnets), "reserved {ips:?} restored");
                        for ip in ips {
                            model.insert(ip, p);
                        }
                    }
                }
            }
            if let Err(e) = a.check_invariants() {
                return Err(TestCaseError::fail(e));
            }
            prop_assert_eq!(a.by_ip.len(), model.len());
        }
    }
}
