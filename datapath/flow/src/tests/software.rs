use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use crate::packet::TAG_COUNT;
use crate::software::MAX_JUMP_DEPTH;
use crate::{
    Action, Direction, EthHeader, EthMatch, GeneveMatch, GeneveOptKey, GeneveOptMatch, HeaderKey,
    Icmp6Match, IcmpMatch, InPort, Ipv4Header, Ipv4Match, Ipv6Header, Ipv6Match, Item, L3Header,
    L4Header, MacAddr, MaskBits, Masked, Outcome, OuterIp, PacketKey, RawDecap, Rule, RuleId,
    SoftwareTable, TableError, TcpMatch, TunnelDecap, TunnelEncap, TunnelKey, TunnelKind, UdpMatch,
    VlanHeader, VlanMatch, VxlanMatch,
};

// ---------------------------------------------------------------------------
// Reference evaluator: linear scan, per-item matching written directly
// against `PacketKey` (independent of the flat-key encoding).
// ---------------------------------------------------------------------------

fn m<T: MaskBits>(f: &Option<Masked<T>>, v: T) -> bool {
    match f {
        Some(f) => f.matches(v),
        None => true,
    }
}

fn ref_item(item: &Item, h: &HeaderKey, k: &PacketKey) -> bool {
    match item {
        Item::RepresentedPort(ethdev_port_id) => {
            k.in_port == Some(InPort::RepresentedPort(*ethdev_port_id))
        }
        Item::PortRepresentor(port_id) => k.in_port == Some(InPort::PortRepresentor(*port_id)),
        Item::Eth(e) => h.eth.is_some_and(|p| {
            m(&e.dst, p.dst) && m(&e.src, p.src) && m(&e.ether_type, p.ether_type)
        }),
        Item::Vlan(v) => h.vlan.is_some_and(|p| {
            m(&v.vid, p.vid) && m(&v.pcp, p.pcp) && m(&v.inner_type, p.inner_type)
        }),
        Item::Ipv4(i) => match h.l3 {
            L3Header::V4(p) => {
                m(&i.src, p.src)
                    && m(&i.dst, p.dst)
                    && m(&i.proto, p.proto)
                    && m(&i.ttl, p.ttl)
                    && m(&i.dscp, p.dscp)
                    && m(&i.ecn, p.ecn)
            }
            _ => false,
        },
        Item::Ipv6(i) => match h.l3 {
            L3Header::V6(p) => {
                m(&i.src, p.src)
                    && m(&i.dst, p.dst)
                    && m(&i.proto, p.proto)
                    && m(&i.hop_limit, p.hop_limit)
                    && m(&i.dscp, p.dscp)
                    && m(&i.ecn, p.ecn)
            }
            _ => false,
        },
        Item::Tcp(t) => match h.l4 {
            L4Header::Tcp { src, dst, flags } => {
                m(&t.src_port, src) && m(&t.dst_port, dst) && m(&t.flags, flags)
            }
            _ => false,
        },
        Item::Udp(u) => match h.l4 {
            L4Header::Udp { src, dst } => m(&u.src_port, src) && m(&u.dst_port, dst),
            _ => false,
        },
        Item::Icmp(i) => match h.l4 {
            L4Header::Icmp {
                icmp_type,
                code,
                ident,
            } => m(&i.icmp_type, icmp_type) && m(&i.code, code) && m(&i.ident, ident),
            _ => false,
        },
        Item::Icmp6(i) => match h.l4 {
            L4Header::Icmp6 { icmp_type, code } => m(&i.icmp_type, icmp_type) && m(&i.code, code),
            _ => false,
        },
        Item::Geneve(g) => k.tunnel.is_some_and(|t| {
            t.kind == TunnelKind::Geneve && m(&g.vni, t.vni) && m(&g.protocol, t.protocol)
        }),
        Item::Vxlan(v) => k
            .tunnel
            .is_some_and(|t| t.kind == TunnelKind::Vxlan && m(&v.vni, t.vni)),
        Item::GeneveOpt(o) => k.tunnel.and_then(|t| t.option).is_some_and(|p| {
            p.class == o.class
                && p.option_type == o.option_type
                && p.length == o.length
                && o.data.iter().zip(p.data.iter()).all(|(w, d)| w.matches(*d))
        }),
        Item::Meta(d) => d.matches(k.meta),
        Item::Tag { index, data } => data.matches(k.tags[usize::from(*index)]),
        Item::Mark(id) => k.mark == Some(*id),
    }
}

fn ref_matches(rule: &Rule, k: &PacketKey) -> bool {
    let mut inner = false;
    rule.pattern.iter().all(|item| {
        let h = if inner { &k.inner } else { &k.outer };
        let ok = ref_item(item, h, k);
        if matches!(item, Item::Geneve(_) | Item::Vxlan(_)) {
            inner = true;
        }
        ok
    })
}

/// Linear classification: returns the matched ids and the outcome.
fn ref_classify(rules: &[(RuleId, Rule)], key: &PacketKey) -> (Vec<RuleId>, Outcome, PacketKey) {
    let mut key = *key;
    let mut group = 0;
    let mut chain = Vec::new();
    for _ in 0..MAX_JUMP_DEPTH {
        let best = rules
            .iter()
            .filter(|(_, r)| r.attr.group == group && ref_matches(r, &key))
            .min_by_key(|(_, r)| r.attr.priority); // first of equal priorities = inserted first
        let Some((id, rule)) = best else {
            return (chain, Outcome::Miss { group }, key);
        };
        chain.push(*id);
        for a in &rule.actions {
            key.apply(a);
        }
        match rule.jump_target() {
            Some(g) => group = g,
            None => return (chain, Outcome::Terminal, key),
        }
    }
    (chain, Outcome::JumpLimit, key)
}

// ---------------------------------------------------------------------------
// Generators over small value pools, so that rules and packets collide often.
// ---------------------------------------------------------------------------

fn mac_pool() -> impl Strategy<Value = MacAddr> {
    prop::sample::select(vec![
        MacAddr::new(2, 0, 0, 0, 0, 1),
        MacAddr::new(2, 0, 0, 0, 0, 2),
        MacAddr::new(3, 0, 0, 0, 0, 1),
    ])
}

fn ip4_pool() -> impl Strategy<Value = Ipv4Addr> {
    prop::sample::select(vec![
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(10, 0, 1, 1),
        Ipv4Addr::new(10, 1, 0, 1),
    ])
}

fn ip6_pool() -> impl Strategy<Value = Ipv6Addr> {
    prop::sample::select(vec![
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1),
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
        Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 1),
    ])
}

fn port_pool() -> impl Strategy<Value = u16> {
    prop::sample::select(vec![53u16, 80, 443, 8080])
}

fn small() -> impl Strategy<Value = u8> {
    0u8..4
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.4, s)
}

fn masked_u16(s: impl Strategy<Value = u16>) -> impl Strategy<Value = Option<Masked<u16>>> {
    opt((s, prop::sample::select(vec![0xffffu16, 0xff00, 0x00ff]))
        .prop_map(|(v, k)| Masked::new(v, k)))
}

fn masked_u8(s: impl Strategy<Value = u8>, full: u8) -> impl Strategy<Value = Option<Masked<u8>>> {
    opt((s, prop::sample::select(vec![full, 1u8])).prop_map(|(v, k)| Masked::new(v, k)))
}

fn masked_ip4() -> impl Strategy<Value = Option<Masked<Ipv4Addr>>> {
    opt((ip4_pool(), prop::sample::select(vec![32u8, 24, 16, 8]))
        .prop_map(|(a, l)| Masked::<Ipv4Addr>::prefix(a, l)))
}

fn masked_ip6() -> impl Strategy<Value = Option<Masked<Ipv6Addr>>> {
    opt((ip6_pool(), prop::sample::select(vec![128u8, 64, 48]))
        .prop_map(|(a, l)| Masked::<Ipv6Addr>::prefix(a, l)))
}

fn eth_item() -> BoxedStrategy<Item> {
    (opt(mac_pool()), opt(mac_pool()))
        .prop_map(|(d, s)| {
            Item::Eth(EthMatch {
                dst: d.map(Masked::exact),
                src: s.map(Masked::exact),
                ether_type: None,
            })
        })
        .boxed()
}

fn vlan_item() -> BoxedStrategy<Item> {
    (
        masked_u16(prop::sample::select(vec![10u16, 20, 0x110])),
        masked_u8(small(), 7),
    )
        .prop_map(|(vid, pcp)| {
            Item::Vlan(VlanMatch {
                vid: vid.map(|v| Masked::new(v.value(), v.mask() & 0xfff)),
                pcp,
                inner_type: None,
            })
        })
        .boxed()
}

fn l3_item() -> BoxedStrategy<Item> {
    prop_oneof![
        (
            masked_ip4(),
            masked_ip4(),
            masked_u8(small(), 0xff),
            masked_u8(small(), 63),
            masked_u8(small(), 3)
        )
            .prop_map(|(s, d, ttl, dscp, ecn)| {
                Item::Ipv4(Ipv4Match {
                    src: s,
                    dst: d,
                    proto: None,
                    ttl,
                    dscp,
                    ecn,
                })
            }),
        (
            masked_ip6(),
            masked_ip6(),
            masked_u8(small(), 0xff),
            masked_u8(small(), 63),
            masked_u8(small(), 3)
        )
            .prop_map(|(s, d, hop, dscp, ecn)| {
                Item::Ipv6(Ipv6Match {
                    src: s,
                    dst: d,
                    proto: None,
                    hop_limit: hop,
                    dscp,
                    ecn,
                })
            }),
    ]
    .boxed()
}

fn l4_item(v6: bool) -> impl Strategy<Value = Item> {
    let icmp = (
        masked_u8(small(), 0xff),
        masked_u8(small(), 0xff),
        masked_u16(port_pool()),
    )
        .prop_map(move |(t, c, ident)| {
            if v6 {
                Item::Icmp6(Icmp6Match {
                    icmp_type: t,
                    code: c,
                })
            } else {
                Item::Icmp(IcmpMatch {
                    icmp_type: t,
                    code: c,
                    ident,
                })
            }
        });
    prop_oneof![
        (
            masked_u16(port_pool()),
            masked_u16(port_pool()),
            masked_u8(small(), 0xff)
        )
            .prop_map(|(s, d, f)| Item::Tcp(TcpMatch {
                src_port: s,
                dst_port: d,
                flags: f
            })),
        (masked_u16(port_pool()), masked_u16(port_pool())).prop_map(|(s, d)| Item::Udp(UdpMatch {
            src_port: s,
            dst_port: d
        })),
        icmp,
    ]
}

/// One header stack: [eth] [vlan] [l3 [l4]].
fn stack_items() -> BoxedStrategy<Vec<Item>> {
    (opt(eth_item()), opt(vlan_item()), opt(l3_item()))
        .prop_flat_map(|(eth, vlan, l3)| {
            let v6 = matches!(l3, Some(Item::Ipv6(_)));
            let has_l3 = l3.is_some();
            opt(l4_item(v6)).prop_map(move |l4| {
                let l4 = if has_l3 { l4 } else { None };
                [eth.clone(), vlan.clone(), l3.clone(), l4]
                    .into_iter()
                    .flatten()
                    .collect()
            })
        })
        .boxed()
}

fn tunnel_items() -> BoxedStrategy<Vec<Item>> {
    let geneve = (
        opt(prop::sample::select(vec![1u32, 2, 0x100])),
        opt(prop::sample::select(vec![1u32, 2])),
    )
        .prop_map(|(vni, data)| {
            let mut v = vec![Item::Geneve(GeneveMatch {
                vni: vni.map(Masked::exact),
                protocol: None,
            })];
            if let Some(d) = data {
                v.push(Item::GeneveOpt(GeneveOptMatch::exact(0x0102, 0x80, &[d])));
            }
            v
        });
    let vxlan = opt(prop::sample::select(vec![1u32, 2])).prop_map(|vni| {
        vec![Item::Vxlan(VxlanMatch {
            vni: vni.map(Masked::exact),
        })]
    });
    prop_oneof![geneve, vxlan].boxed()
}

fn meta_items() -> BoxedStrategy<Vec<Item>> {
    (
        opt(prop::sample::select(vec![0u32, 1, 2]).prop_map(|v| Item::Meta(Masked::new(v, 3)))),
        opt((0u8..3, 0u32..3).prop_map(|(i, d)| Item::Tag {
            index: i,
            data: Masked::exact(d),
        })),
        opt((0u32..3).prop_map(Item::Mark)),
    )
        .prop_map(|(a, b, c)| [a, b, c].into_iter().flatten().collect())
        .boxed()
}

/// An outer stack that can carry a tunnel: [eth] l3 udp.
fn udp_stack() -> BoxedStrategy<Vec<Item>> {
    (
        opt(eth_item()),
        l3_item(),
        (masked_u16(port_pool()), opt(Just(6081u16))),
    )
        .prop_map(|(eth, l3, (src, dst))| {
            let udp = Item::Udp(UdpMatch {
                src_port: src,
                dst_port: dst.map(Masked::exact),
            });
            [eth, Some(l3), Some(udp)].into_iter().flatten().collect()
        })
        .boxed()
}

fn pattern() -> BoxedStrategy<Vec<Item>> {
    let plain = (meta_items(), stack_items()).prop_map(|(mut p, s)| {
        p.extend(s);
        p
    });
    let tunneled =
        (meta_items(), udp_stack(), tunnel_items(), stack_items()).prop_map(|(mut p, o, t, i)| {
            p.extend(o);
            p.extend(t);
            p.extend(i);
            p
        });
    prop_oneof![plain, tunneled].boxed()
}

/// Candidate actions; the rule keeps those that still validate.
fn candidate_actions() -> BoxedStrategy<Vec<Action>> {
    let one = prop_oneof![
        Just(Action::Count),
        (0u32..3).prop_map(Action::Mark),
        (0u8..3, 0u32..3).prop_map(|(index, data)| Action::SetTag {
            index,
            data,
            mask: u32::MAX
        }),
        (0u32..3).prop_map(|data| Action::SetMeta { data, mask: 3 }),
        ip4_pool().prop_map(Action::SetIpv4Dst),
        port_pool().prop_map(Action::SetTpDst),
        mac_pool().prop_map(Action::SetMacDst),
        Just(Action::DecTtl),
        Just(Action::PopVlan),
        Just(Action::RawDecap(
            RawDecap::Headers(TunnelDecap::geneve_v4())
        )),
        Just(Action::RawDecap(RawDecap::Headers(TunnelDecap::vxlan_v4()))),
    ];
    prop::collection::vec(one, 0..4).boxed()
}

fn fate() -> impl Strategy<Value = Action> {
    prop_oneof![1 => Just(Action::Drop), 1 => (0u16..4).prop_map(Action::Queue), 3 => (0u32..4).prop_map(Action::Jump)]
}

fn rule() -> BoxedStrategy<Option<Rule>> {
    (
        0u32..4,
        0u32..4,
        pattern(),
        candidate_actions(),
        opt(fate()),
    )
        .prop_map(|(group, prio, pattern, cands, fate)| {
            let base = Rule::ingress().group(group).priority(prio).pattern(pattern);
            let mut actions = Vec::new();
            for c in cands {
                let mut trial = actions.clone();
                trial.push(c);
                let mut with_fate = trial.clone();
                with_fate.extend(fate.clone());
                if base.clone().actions(with_fate).validate().is_ok() {
                    actions = trial;
                }
            }
            actions.extend(fate);
            let r = base.actions(actions);
            r.validate().is_ok().then_some(r)
        })
        .boxed()
}

fn header(
    eth: Option<(MacAddr, MacAddr)>,
    vlan: Option<(u16, u8)>,
    l3: L3Header,
    l4: L4Header,
) -> HeaderKey {
    HeaderKey {
        eth: eth.map(|(dst, src)| EthHeader {
            dst,
            src,
            ether_type: if vlan.is_some() { 0x8100 } else { 0x0800 },
        }),
        vlan: vlan.map(|(vid, pcp)| VlanHeader {
            vid,
            pcp,
            inner_type: 0x0800,
        }),
        l3,
        l4,
    }
}

fn l3_key() -> BoxedStrategy<L3Header> {
    prop_oneof![
        Just(L3Header::None),
        (ip4_pool(), ip4_pool(), small(), small(), small()).prop_map(
            |(src, dst, ttl, dscp, ecn)| L3Header::V4(Ipv4Header {
                src,
                dst,
                proto: 0,
                ttl,
                dscp,
                ecn,
            })
        ),
        (ip6_pool(), ip6_pool(), small(), small(), small()).prop_map(
            |(src, dst, hop, dscp, ecn)| L3Header::V6(Ipv6Header {
                src,
                dst,
                proto: 0,
                hop_limit: hop,
                dscp,
                ecn,
            })
        ),
    ]
    .boxed()
}

fn l4_key() -> BoxedStrategy<L4Header> {
    prop_oneof![
        Just(L4Header::None),
        (port_pool(), port_pool(), small()).prop_map(|(src, dst, flags)| L4Header::Tcp {
            src,
            dst,
            flags
        }),
        (port_pool(), port_pool()).prop_map(|(src, dst)| L4Header::Udp { src, dst }),
        (small(), small(), port_pool()).prop_map(|(t, c, ident)| L4Header::Icmp {
            icmp_type: t,
            code: c,
            ident
        }),
        (small(), small()).prop_map(|(t, c)| L4Header::Icmp6 {
            icmp_type: t,
            code: c
        }),
    ]
    .boxed()
}

fn header_key() -> BoxedStrategy<HeaderKey> {
    (
        opt((mac_pool(), mac_pool())),
        opt((prop::sample::select(vec![10u16, 20, 0x110]), small())),
        l3_key(),
        l4_key(),
    )
        .prop_map(|(e, v, l3, l4)| header(e, v, l3, l4))
        .boxed()
}

fn tunnel_key() -> BoxedStrategy<TunnelKey> {
    (
        any::<bool>(),
        prop::sample::select(vec![1u32, 2, 0x100]),
        opt(prop::sample::select(vec![1u32, 2])),
    )
        .prop_map(|(g, vni, d)| TunnelKey {
            kind: if g {
                TunnelKind::Geneve
            } else {
                TunnelKind::Vxlan
            },
            vni,
            protocol: 0,
            option: d.filter(|_| g).map(|d| GeneveOptKey {
                class: 0x0102,
                option_type: 0x80,
                length: 1,
                data: [d, 0, 0, 0],
            }),
        })
        .boxed()
}

fn packet() -> BoxedStrategy<PacketKey> {
    (
        header_key(),
        prop::option::weighted(0.6, tunnel_key()),
        header_key(),
        0u32..3,
        prop::array::uniform3(0u32..3),
        opt(0u32..3),
    )
        .prop_map(|(outer, tunnel, inner, meta, tags3, mark)| {
            let mut tags = [0u32; TAG_COUNT];
            tags[..3].copy_from_slice(&tags3);
            let mut outer = outer;
            if tunnel.is_some() && outer.l3 != L3Header::None {
                let src = match outer.l4 {
                    L4Header::Tcp { src, .. } | L4Header::Udp { src, .. } => src,
                    _ => 53,
                };
                outer.l4 = L4Header::Udp { src, dst: 6081 };
            }
            PacketKey {
                in_port: None,
                outer,
                tunnel,
                inner,
                meta,
                tags,
                mark,
            }
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn software_table_equals_linear_reference(
        rules in prop::collection::vec(rule(), 1..60),
        packets in prop::collection::vec(packet(), 1..40),
        removals in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let mut table = SoftwareTable::new(Direction::Ingress);
        let mut reference: Vec<(RuleId, Rule)> = Vec::new();
        for r in rules.into_iter().flatten() {
            let id = table.insert(r.clone()).expect("generated rules validate");
            reference.push((id, r));
        }
        for idx in removals {
            if reference.is_empty() {
                break;
            }
            let (id, r) = reference.remove(idx.index(reference.len()));
            prop_assert_eq!(table.remove(id), Some(r));
            prop_assert_eq!(table.remove(id), None);
        }
        prop_assert_eq!(table.len(), reference.len());
        for p in &packets {
            let got = table.classify(p);
            let (want, outcome, key) = ref_classify(&reference, p);
            prop_assert_eq!(got.rule_ids().collect::<Vec<_>>(), want, "packet {:?}", p);
            prop_assert_eq!(got.outcome(), outcome);
            prop_assert_eq!(got.key(), &key);
            for g in 0..4 {
                let single = reference
                    .iter()
                    .filter(|(_, r)| r.attr.group == g && ref_matches(r, p))
                    .min_by_key(|(_, r)| r.attr.priority)
                    .map(|(id, _)| *id);
                prop_assert_eq!(table.lookup(g, p), single);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Unit tests.
// ---------------------------------------------------------------------------

fn v4_packet(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> PacketKey {
    PacketKey {
        outer: header(
            Some((
                MacAddr::new(2, 0, 0, 0, 0, 1),
                MacAddr::new(2, 0, 0, 0, 0, 2),
            )),
            None,
            L3Header::V4(Ipv4Header {
                src,
                dst,
                proto: 6,
                ttl: 64,
                dscp: 0,
                ecn: 0,
            }),
            L4Header::Tcp {
                src: sport,
                dst: dport,
                flags: 0x10,
            },
        ),
        ..PacketKey::default()
    }
}

#[test]
fn lower_priority_value_wins_and_ties_go_to_first_inserted() {
    let mut t = SoftwareTable::new(Direction::Ingress);
    let broad = t
        .insert(
            Rule::ingress()
                .priority(5)
                .item(Item::ipv4())
                .action(Action::Queue(1)),
        )
        .unwrap();
    let narrow = t
        .insert(
            Rule::ingress()
                .priority(1)
                .item(Ipv4Match::any().dst(Ipv4Addr::new(10, 0, 0, 2)))
                .action(Action::Queue(2)),
        )
        .unwrap();
    let tie = t
        .insert(
            Rule::ingress()
                .priority(1)
                .item(Ipv4Match::any().dst_prefix(Ipv4Addr::new(10, 0, 0, 0), 8))
                .action(Action::Queue(3)),
        )
        .unwrap();
    let p = v4_packet(
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        1,
        80,
    );
    assert_eq!(t.lookup(0, &p), Some(narrow));
    assert_eq!(
        t.classify(&p).final_actions(),
        Some(&[Action::Queue(2)][..])
    );
    assert_eq!(t.remove(narrow).map(|r| r.attr.priority), Some(1));
    assert_eq!(t.lookup(0, &p), Some(tie));
    t.remove(tie);
    assert_eq!(t.lookup(0, &p), Some(broad));
    let v6 = PacketKey {
        outer: header(
            None,
            None,
            L3Header::V6(Ipv6Header {
                src: Ipv6Addr::LOCALHOST,
                dst: Ipv6Addr::LOCALHOST,
                proto: 0,
                hop_limit: 1,
                dscp: 0,
                ecn: 0,
            }),
            L4Header::None,
        ),
        ..PacketKey::default()
    };
    assert_eq!(t.lookup(0, &v6), None);
    assert_eq!(t.classify(&v6).outcome(), Outcome::Miss { group: 0 });
}

#[test]
fn jumps_chain_rules_and_replay_actions() {
    let mut t = SoftwareTable::new(Direction::Transfer);
    let vip = Ipv4Addr::new(10, 96, 0, 1);
    let backend = Ipv4Addr::new(10, 244, 1, 5);
    let dnat = t
        .insert(
            Rule::transfer()
                .item(Item::eth())
                .item(Ipv4Match::any().dst(vip))
                .item(TcpMatch::any().dst_port(80))
                .actions([
                    Action::Count,
                    Action::SetIpv4Dst(backend),
                    Action::SetTpDst(8080),
                    Action::SetTag {
                        index: 1,
                        data: 7,
                        mask: 0xff,
                    },
                    Action::Jump(4),
                ]),
        )
        .unwrap();
    let fwd = t
        .insert(
            Rule::transfer()
                .group(4)
                .item(Item::Tag {
                    index: 1,
                    data: Masked::exact(7),
                })
                .item(Item::eth())
                .item(Ipv4Match::any().dst(backend))
                .item(TcpMatch::any().dst_port(8080))
                .actions([Action::DecTtl, Action::RepresentedPort(3)]),
        )
        .unwrap();
    let p = v4_packet(Ipv4Addr::new(10, 244, 1, 9), vip, 1000, 80);
    let c = t.classify(&p);
    assert_eq!(c.outcome(), Outcome::Terminal);
    assert_eq!(c.rule_ids().collect::<Vec<_>>(), vec![dnat, fwd]);
    assert_eq!(
        c.final_actions(),
        Some(&[Action::DecTtl, Action::RepresentedPort(3)][..])
    );
    assert_eq!(c.actions().count(), 7);
    let L3Header::V4(ip) = c.key().outer.l3 else {
        panic!("ipv4")
    };
    assert_eq!((ip.dst, ip.ttl), (backend, 63));
    assert_eq!(c.key().tags[1], 7);
    // Without the jump target rule the packet misses in group 4.
    t.remove(fwd);
    assert_eq!(t.classify(&p).outcome(), Outcome::Miss { group: 4 });
}

#[test]
fn jump_loops_stop_at_the_depth_limit() {
    let mut t = SoftwareTable::new(Direction::Ingress);
    t.insert(Rule::ingress().group(0).action(Action::Jump(1)))
        .unwrap();
    t.insert(Rule::ingress().group(1).action(Action::Jump(2)))
        .unwrap();
    t.insert(Rule::ingress().group(2).action(Action::Jump(1)))
        .unwrap();
    let c = t.classify(&PacketKey::default());
    assert_eq!(c.outcome(), Outcome::JumpLimit);
    assert_eq!(c.rule_ids().count(), MAX_JUMP_DEPTH);
}

#[test]
fn tunnel_items_match_outer_tunnel_and_inner() {
    let mut t = SoftwareTable::new(Direction::Transfer);
    let id = t
        .insert(
            Rule::transfer()
                .item(Item::RepresentedPort(0))
                .item(Item::eth())
                .item(Ipv4Match::any().dst(Ipv4Addr::new(192, 168, 0, 1)))
                .item(UdpMatch::any().dst_port(6081))
                .item(GeneveMatch::any().vni(5))
                .item(GeneveOptMatch {
                    class: 0x0102,
                    option_type: 0x80,
                    length: 1,
                    data: vec![Masked::new(3, 0xffff)],
                })
                .item(EthMatch::any().dst(MacAddr::new(2, 0, 0, 0, 0, 9)))
                .actions([
                    Action::RawDecap(RawDecap::Headers(TunnelDecap::geneve_v4())),
                    Action::RepresentedPort(4),
                ]),
        )
        .unwrap();
    let inner = header(
        Some((MacAddr::new(2, 0, 0, 0, 0, 9), MacAddr::ZERO)),
        None,
        L3Header::None,
        L4Header::None,
    );
    let mut p = PacketKey {
        in_port: Some(InPort::RepresentedPort(0)),
        outer: header(
            Some((MacAddr::ZERO, MacAddr::ZERO)),
            None,
            L3Header::V4(Ipv4Header {
                src: Ipv4Addr::LOCALHOST,
                dst: Ipv4Addr::new(192, 168, 0, 1),
                proto: 17,
                ttl: 1,
                dscp: 0,
                ecn: 0,
            }),
            L4Header::Udp { src: 5, dst: 6081 },
        ),
        tunnel: Some(TunnelKey {
            kind: TunnelKind::Geneve,
            vni: 5,
            protocol: 0x6558,
            option: Some(GeneveOptKey {
                class: 0x0102,
                option_type: 0x80,
                length: 1,
                data: [0x7777_0003, 0, 0, 0],
            }),
        }),
        inner,
        ..PacketKey::default()
    };
    let c = t.classify(&p);
    assert_eq!(c.rule_ids().collect::<Vec<_>>(), vec![id]);
    assert_eq!(c.key().tunnel, None);
    assert_eq!(c.key().outer, inner);
    p.in_port = Some(InPort::PortRepresentor(0));
    assert_eq!(t.lookup(0, &p), None);
    p.in_port = Some(InPort::RepresentedPort(0));
    p.tunnel = p.tunnel.map(|mut tk| {
        tk.kind = TunnelKind::Vxlan;
        tk
    });
    assert_eq!(t.lookup(0, &p), None);
}

#[test]
fn vlan_item_requires_a_tag_and_absent_item_accepts_both() {
    let mut t = SoftwareTable::new(Direction::Ingress);
    let tagged = t
        .insert(
            Rule::ingress()
                .priority(0)
                .item(Item::eth())
                .item(VlanMatch::any().vid(10))
                .action(Action::Queue(1)),
        )
        .unwrap();
    let any = t
        .insert(
            Rule::ingress()
                .priority(1)
                .item(Item::eth())
                .item(Item::ipv4())
                .action(Action::Queue(2)),
        )
        .unwrap();
    let mut p = v4_packet(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 1, 2);
    assert_eq!(t.lookup(0, &p), Some(any));
    p.outer.vlan = Some(VlanHeader {
        vid: 10,
        pcp: 0,
        inner_type: 0x0800,
    });
    assert_eq!(t.lookup(0, &p), Some(tagged));
    let c = t.classify(&p);
    assert_eq!(c.final_actions(), Some(&[Action::Queue(1)][..]));
}

#[test]
fn insert_rejects_invalid_and_foreign_rules_and_ids_are_not_reused() {
    let mut t = SoftwareTable::new(Direction::Ingress);
    assert!(matches!(
        t.insert(Rule::transfer().action(Action::Drop)),
        Err(TableError::WrongDirection { .. })
    ));
    assert!(matches!(
        t.insert(Rule::ingress()),
        Err(TableError::Invalid(_))
    ));
    let a = t.insert(Rule::ingress().action(Action::Drop)).unwrap();
    assert!(t.remove(a).is_some());
    let b = t.insert(Rule::ingress().action(Action::Queue(1))).unwrap();
    assert_ne!(a, b);
    assert_eq!(t.get(a), None);
    assert_eq!(t.remove(a), None);
    assert!(t.get(b).is_some());
    assert_eq!(t.len(), 1);
    assert!(!t.is_empty());
    assert_eq!(t.shape_count(0), 1);
}

#[test]
fn ecn_and_dscp_are_matched_as_the_tos_byte() {
    let mut t = SoftwareTable::new(Direction::Ingress);
    let ce = t
        .insert(
            Rule::ingress()
                .priority(1)
                .item(Ipv4Match::any().ecn(3))
                .action(Action::Queue(1)),
        )
        .unwrap();
    let ef_ect1 = t
        .insert(
            Rule::ingress()
                .priority(0)
                .item(Ipv4Match::any().tos(0xb9))
                .action(Action::Queue(2)),
        )
        .unwrap();
    let v6_ect = t
        .insert(
            Rule::ingress()
                .item(Ipv6Match::any().ecn_masked(1, 1))
                .action(Action::Queue(3)),
        )
        .unwrap();
    let with_tos = |dscp: u8, ecn: u8| {
        let mut p = v4_packet(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 1, 2);
        if let L3Header::V4(ip) = &mut p.outer.l3 {
            ip.dscp = dscp;
            ip.ecn = ecn;
        }
        p
    };
    assert_eq!(t.lookup(0, &with_tos(0, 3)), Some(ce));
    assert_eq!(t.lookup(0, &with_tos(63, 3)), Some(ce));
    assert_eq!(t.lookup(0, &with_tos(0, 2)), None);
    assert_eq!(t.lookup(0, &with_tos(46, 1)), Some(ef_ect1));
    assert_eq!(
        t.lookup(0, &with_tos(46, 0)),
        None,
        "ECN is part of the byte"
    );
    assert_eq!(t.lookup(0, &with_tos(47, 1)), None);
    let v6 = |ecn: u8| PacketKey {
        outer: header(
            None,
            None,
            L3Header::V6(Ipv6Header {
                src: Ipv6Addr::LOCALHOST,
                dst: Ipv6Addr::LOCALHOST,
                proto: 0,
                hop_limit: 1,
                dscp: 10,
                ecn,
            }),
            L4Header::None,
        ),
        ..PacketKey::default()
    };
    assert_eq!(t.lookup(0, &v6(1)), Some(v6_ect));
    assert_eq!(t.lookup(0, &v6(3)), Some(v6_ect));
    assert_eq!(t.lookup(0, &v6(2)), None);
}

#[test]
fn encap_sets_the_outer_dscp_and_ecn_from_the_tos_byte() {
    let mut key = PacketKey::default();
    let mut encap = TunnelEncap::geneve_v4(
        MacAddr::ZERO,
        MacAddr::ZERO,
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::LOCALHOST,
        1,
        1,
    );
    if let OuterIp::V4 { tos, .. } = &mut encap.ip {
        *tos = 0xb9;
    }
    key.apply(&Action::RawEncap(encap));
    match key.outer.l3 {
        L3Header::V4(ip) => assert_eq!((ip.dscp, ip.ecn), (46, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn decap_of_the_matched_headers_exposes_the_inner_packet() {
    let mut t = SoftwareTable::new(Direction::Transfer);
    t.insert(
        Rule::transfer()
            .item(Item::eth())
            .item(Item::ipv4())
            .item(Item::udp())
            .item(GeneveMatch::any().vni(11))
            .actions([Action::RawDecap(RawDecap::Matched), Action::Jump(1)]),
    )
    .unwrap();
    let to_pod = t
        .insert(
            Rule::transfer()
                .group(1)
                .item(Ipv4Match::any().dst(Ipv4Addr::new(10, 244, 1, 14)))
                .action(Action::RepresentedPort(4)),
        )
        .unwrap();
    let inner = v4_packet(
        Ipv4Addr::new(10, 244, 2, 5),
        Ipv4Addr::new(10, 244, 1, 14),
        1,
        2,
    );
    let mut p = v4_packet(
        Ipv4Addr::new(192, 168, 100, 11),
        Ipv4Addr::new(192, 168, 100, 10),
        49152,
        6081,
    );
    p.outer.l4 = L4Header::Udp {
        src: 49152,
        dst: 6081,
    };
    p.tunnel = Some(TunnelKey {
        kind: TunnelKind::Geneve,
        vni: 11,
        protocol: 0x6558,
        option: None,
    });
    p.inner = inner.outer;
    let c = t.classify(&p);
    assert_eq!(c.outcome(), Outcome::Terminal);
    assert_eq!(c.rule_ids().last(), Some(to_pod));
    assert_eq!(c.key().tunnel, None);
    assert_eq!(c.key().outer, inner.outer);
}
