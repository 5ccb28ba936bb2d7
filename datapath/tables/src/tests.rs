//! Unit and property tests of the tables: prefix arithmetic, canonical
//! forms, and `apply(old, diff(old, new)) == new`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::*;
use dpuflow_net::MacAddr;

fn pfx(s: &str) -> Prefix {
    let (addr, len) = s.split_once('/').expect("addr/len");
    Prefix::new(addr.parse().expect("addr"), len.parse().expect("len")).expect("prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

// ---------------------------------------------------------------- prefixes

#[test]
fn prefix_clears_host_bits_and_rejects_long_lengths() {
    assert_eq!(pfx("10.244.1.7/24"), pfx("10.244.1.0/24"));
    assert_eq!(pfx("fd00::1:2/64").to_string(), "fd00::/64");
    assert_eq!(pfx("1.2.3.4/0").to_string(), "0.0.0.0/0");
    assert!(Prefix::new(ip("10.0.0.0"), 33).is_err());
    assert!(Prefix::new(ip("::"), 129).is_err());
    assert!(Prefix::new(ip("::"), 128).is_ok());
}

#[test]
fn prefix_contains_never_crosses_families() {
    assert!(pfx("0.0.0.0/0").contains(ip("192.0.2.1")));
    assert!(!pfx("0.0.0.0/0").contains(ip("::1")));
    assert!(pfx("::/0").contains(ip("::ffff:10.0.0.1")));
    assert!(!pfx("::/0").contains(ip("10.0.0.1")));
}

#[test]
fn except_is_subtracted() {
    let set = PrefixSet::difference(pfx("10.0.0.0/8"), &[pfx("10.1.0.0/16")]);
    assert!(set.contains(ip("10.0.255.255")));
    assert!(!set.contains(ip("10.1.2.3")));
    assert!(set.contains(ip("10.2.0.0")));
    assert_eq!(set.len(), 8, "{set:?}");
    // A hole outside the block changes nothing; a covering hole empties it.
    let same = PrefixSet::difference(pfx("10.0.0.0/8"), &[pfx("192.168.0.0/16")]);
    assert_eq!(same.prefixes(), &[pfx("10.0.0.0/8")]);
    assert!(PrefixSet::difference(pfx("10.1.0.0/16"), &[pfx("10.0.0.0/8")]).is_empty());
}

#[test]
fn except_ipv6() {
    let set = PrefixSet::difference(pfx("fd00::/64"), &[pfx("fd00::/65")]);
    assert_eq!(set.prefixes(), &[pfx("fd00::8000:0:0:0/65")]);
    let all = PrefixSet::difference(pfx("::/0"), &[pfx("::1/128")]);
    assert_eq!(all.len(), 128);
    assert!(!all.contains(ip("::1")));
    assert!(all.contains(ip("::2")));
}

#[test]
fn prefix_set_merges_siblings_and_drops_covered() {
    let set: PrefixSet = ["10.0.0.0/25", "10.0.0.128/25", "10.0.0.7/32", "::1/128"]
        .into_iter()
        .map(pfx)
        .collect();
    assert_eq!(set.prefixes(), &[pfx("10.0.0.0/24"), pfx("::1/128")]);
    let hosts: PrefixSet = (0..=255u8)
        .map(|i| Prefix::host(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))))
        .collect();
    assert_eq!(hosts.prefixes(), &[pfx("10.0.0.0/24")]);
}

/// Addresses of the small test universe `10.0.0.0/24` (plus neighbours).
fn universe() -> impl Iterator<Item = IpAddr> {
    (0..=255u8)
        .map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)))
        .chain([ip("10.0.1.0"), ip("9.255.255.255"), ip("::a00:1")])
}

fn small_prefix() -> impl Strategy<Value = Prefix> {
    prefix_in_universe(22)
}

/// Prefixes of `10.0.0.0/24` neighbourhood at least `min_len` long.
fn prefix_in_universe(min_len: u8) -> impl Strategy<Value = Prefix> {
    (any::<u8>(), min_len..=32).prop_map(|(host, len)| {
        Prefix::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)), len).expect("valid")
    })
}

proptest! {
    #[test]
    fn difference_matches_membership(base in small_prefix(), holes in vec(small_prefix(), 0..5)) {
        let set = PrefixSet::difference(base, &holes);
        for a in universe() {
            let want = base.contains(a) && !holes.iter().any(|h| h.contains(a));
            prop_assert_eq!(set.contains(a), want, "{} in {:?}", a, set);
        }
        // Disjoint pieces.
        for (i, p) in set.prefixes().iter().enumerate() {
            for q in &set.prefixes()[i + 1..] {
                prop_assert!(!p.covers(q) && !q.covers(p));
            }
        }
    }

    #[test]
    fn prefix_sets_are_canonical(parts in vec(prefix_in_universe(24), 0..8)) {
        let set: PrefixSet = parts.iter().copied().collect();
        let hosts: PrefixSet = universe()
            .filter(|a| parts.iter().any(|p| p.contains(*a)))
            .map(Prefix::host)
            .collect();
        prop_assert_eq!(set, hosts);
    }

    #[test]
    fn port_ranges_are_canonical(raw in vec((0u16..40, 0u16..8, any::<bool>()), 0..6)) {
        let ranges: Vec<PortRange> = raw
            .iter()
            .map(|&(first, width, udp)| PortRange {
                protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
                first,
                last: first + width,
            })
            .collect();
        let ports = Ports::ranges(ranges.iter().copied());
        let hits = |proto, port| ranges.iter().any(|r| r.protocol == proto && (r.first..=r.last).contains(&port));
        for port in 0..50 {
            for proto in [Protocol::Tcp, Protocol::Udp] {
                prop_assert_eq!(ports.contains(proto, port), hits(proto, port));
            }
        }
        // Re-canonicalising is a no-op.
        if let Ports::Ranges(r) = &ports {
            prop_assert_eq!(Ports::ranges(r.iter().copied()), ports.clone());
        }
    }

    #[test]
    fn isolated_direction_is_the_union_of_its_rules(rules in vec(allow_rule(), 0..5)) {
        let dir = DirectionPolicy::isolated(rules.clone());
        for a in universe() {
            for port in [0u16, 80, 443, 8080] {
                let want = rules.iter().any(|r| r.peers.contains(a) && r.ports.contains(Protocol::Tcp, port));
                prop_assert_eq!(dir.allows(a, Protocol::Tcp, port), want);
            }
        }
        prop_assert!(dir.rules.iter().all(|r| !r.allows_nothing()));
        prop_assert!(DirectionPolicy::open().allows(ip("10.0.0.1"), Protocol::Udp, 53));
    }
}

// ---------------------------------------------------------------- diff

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u8..4).prop_map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))),
        (0u16..4).prop_map(|i| IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i))),
    ]
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::Tcp),
        Just(Protocol::Udp),
        Just(Protocol::Sctp)
    ]
}

fn pod_key() -> impl Strategy<Value = PodKey> {
    (0u8..2, 0u8..3, any::<bool>()).prop_map(|(ns, name, secondary)| PodKey {
        namespace: format!("ns{ns}"),
        name: format!("pod{name}"),
        network: if secondary {
            "ns0/nad".into()
        } else {
            "default".into()
        },
    })
}

fn local_pod() -> impl Strategy<Value = LocalPod> {
    (0u32..3, 0u8..3, any::<[u8; 6]>(), vec(any_ip(), 0..3)).prop_map(|(id, vf, mac, ips)| {
        LocalPod {
            endpoint: EndpointId(id),
            port: PortRef::new(format!("pf0vf{vf}")),
            mac: MacAddr(mac),
            ips,
        }
    })
}

fn remote_node() -> impl Strategy<Value = RemoteNode> {
    (
        vec(small_prefix(), 0..2),
        vec(any_ip(), 0..2),
        proptest::option::of(2u16..5),
    )
        .prop_map(|(pod_subnets, encap_ips, node_id)| RemoteNode {
            pod_subnets,
            encap_ips,
            node_id,
            transit_ips: node_id
                .map(|id| ip(&format!("100.88.0.{id}")))
                .into_iter()
                .collect(),
        })
}

fn backend() -> impl Strategy<Value = Backend> {
    (any_ip(), 80u16..82).prop_map(|(ip, port)| Backend { ip, port })
}

fn service_port() -> impl Strategy<Value = ServicePort> {
    (
        protocol(),
        80u16..82,
        proptest::option::of(30000u16..30002),
        vec(backend(), 0..3),
        vec(backend(), 0..2),
    )
        .prop_map(
            |(protocol, port, node_port, backends, local_backends)| ServicePort {
                protocol,
                port,
                node_port,
                backends,
                local_backends,
            },
        )
}

fn service() -> impl Strategy<Value = Service> {
    (
        vec(any_ip(), 0..2),
        vec(any_ip(), 0..2),
        vec(service_port(), 0..3),
        proptest::option::of(prop_oneof![Just(10800u32), Just(60)]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(cluster_ips, external_ips, ports, affinity_timeout, el, il)| Service {
                cluster_ips,
                external_ips,
                ports,
                affinity_timeout,
                external_local: el,
                internal_local: il,
            },
        )
}

fn allow_rule() -> impl Strategy<Value = AllowRule> {
    let peers = prop_oneof![
        Just(Peers::Any),
        vec(small_prefix(), 0..3).prop_map(|p| Peers::Prefixes(p.into_iter().collect())),
    ];
    let ports = prop_oneof![
        Just(Ports::Any),
        vec(
            (protocol(), prop_oneof![Just(80u16), Just(443), Just(8080)]),
            0..3
        )
        .prop_map(|v| Ports::ranges(v.into_iter().map(|(p, n)| PortRange::single(p, n)))),
    ];
    (peers, ports).prop_map(|(peers, ports)| AllowRule { peers, ports })
}

fn direction() -> impl Strategy<Value = DirectionPolicy> {
    prop_oneof![
        Just(DirectionPolicy::open()),
        vec(allow_rule(), 0..3).prop_map(DirectionPolicy::isolated),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (direction(), direction(), any::<bool>()).prop_map(|(ingress, egress, mgmt)| Policy {
        ingress,
        egress,
        allow_arp_nd: true,
        allow_management: mgmt,
    })
}

fn gateway() -> impl Strategy<Value = Gateway> {
    (
        vec(any_ip(), 0..2),
        proptest::option::of(0u16..3),
        vec(small_prefix(), 0..2),
    )
        .prop_map(|(node_ips, vlan, pod_subnets)| Gateway {
            node_ips,
            next_hops: vec![ip("203.0.113.1")],
            vlan,
            router_subnet: None,
            host_pf_mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            encap_ip: Some(ip("198.51.100.10")),
            node_id: Some(2),
            transit_ips: vec![ip("100.88.0.2")],
            pod_subnets,
            management_ips: vec![ip("10.0.0.2")],
            management_port: Some(PortRef::new("pf0vf0")),
            cluster_cidrs: vec![pfx("10.244.0.0/16")],
            service_cidrs: vec![pfx("10.96.0.0/16")],
            masquerade_subnets: vec![pfx("169.254.0.0/17")],
            join_subnets: vec![pfx("100.64.0.0/16")],
            hairpin_snat: vec![ip("169.254.0.5")],
        })
}

fn tables() -> impl Strategy<Value = Tables> {
    (
        btree_map(pod_key(), local_pod(), 0..5),
        btree_map(
            (0u8..4).prop_map(|i| format!("node{i}")),
            remote_node(),
            0..4,
        ),
        btree_map(
            (0u8..2, 0u8..3)
                .prop_map(|(n, s)| ServiceKey::new(format!("ns{n}"), format!("svc{s}"))),
            service(),
            0..5,
        ),
        btree_map(pod_key(), policy(), 0..4),
        proptest::option::of(gateway()),
    )
        .prop_map(|(pods, remote_nodes, services, policies, gateway)| Tables {
            pods,
            remote_nodes,
            services,
            policies,
            gateway,
        })
}

/// Entries of `a` and `b` that differ (added, removed or changed).
fn changed_keys<K: Ord, V: PartialEq>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>) -> usize {
    let gone = a.keys().filter(|k| !b.contains_key(k)).count();
    let new_or_changed = b.iter().filter(|(k, v)| a.get(*k) != Some(*v)).count();
    gone + new_or_changed
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn apply_of_diff_reaches_new(old in tables(), new in tables()) {
        let updates = Tables::diff(&old, &new);
        let mut t = old.clone();
        t.apply_all(updates.clone());
        prop_assert_eq!(&t, &new);
        // Minimal: one update per differing entry, nothing for equal ones.
        let expected = changed_keys(&old.pods, &new.pods)
            + changed_keys(&old.remote_nodes, &new.remote_nodes)
            + changed_keys(&old.services, &new.services)
            + changed_keys(&old.policies, &new.policies)
            + usize::from(old.gateway != new.gateway);
        prop_assert_eq!(updates.len(), expected);
    }

    #[test]
    fn diff_of_equal_tables_is_empty(t in tables()) {
        prop_assert!(Tables::diff(&t, &t).is_empty());
        let mut empty = Tables::default();
        empty.apply_all(Tables::diff(&Tables::default(), &t));
        prop_assert_eq!(empty, t);
    }
}

#[test]
fn service_port_picks_backends_by_traffic_policy() {
    let local = Backend {
        ip: ip("10.0.0.3"),
        port: 8080,
    };
    let remote = Backend {
        ip: ip("10.0.1.3"),
        port: 8080,
    };
    let port = ServicePort {
        protocol: Protocol::Tcp,
        port: 80,
        node_port: Some(30080),
        backends: vec![local, remote],
        local_backends: vec![local],
    };
    let mut svc = Service {
        cluster_ips: vec![ip("10.96.0.10")],
        external_ips: vec![],
        ports: vec![port.clone()],
        affinity_timeout: None,
        external_local: true,
        internal_local: false,
    };
    assert_eq!(port.cluster_ip_backends(&svc), &[local, remote]);
    assert_eq!(port.external_backends(&svc), &[local]);
    svc.internal_local = true;
    svc.external_local = false;
    assert_eq!(port.cluster_ip_backends(&svc), &[local]);
    assert_eq!(port.external_backends(&svc), &[local, remote]);
    assert_eq!(Protocol::Sctp.ip_proto(), 132);
}

#[test]
fn update_messages_are_send_and_owned() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Update>();
    assert_send::<Vec<Update>>();
}
