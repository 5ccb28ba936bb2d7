//! The OVN-style rule corpus (dpuflow-flow-testkit) against the model: every
//! rule validates, the corpus covers every item, action and direction, and
//! the software classifier takes and evaluates all of it.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use dpuflow_flow::packet::HeaderKey;
use dpuflow_flow::{
    Action, ActionKind, Direction, EthHeader, InPort, Ipv4Header, Item, ItemKind, L3Header,
    L4Header, MacAddr, Outcome, PacketKey, RuleId, SoftwareTable, TunnelKey, TunnelKind,
};
use dpuflow_flow_testkit::corpus::corpus;

fn v4_packet(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> PacketKey {
    PacketKey {
        outer: HeaderKey {
            eth: Some(EthHeader {
                dst: MacAddr::new(2, 0, 0, 0, 0, 1),
                src: MacAddr::new(2, 0, 0, 0, 0, 2),
                ether_type: 0x0800,
            }),
            vlan: None,
            l3: L3Header::V4(Ipv4Header {
                src,
                dst,
                proto: 6,
                ttl: 64,
                dscp: 0,
                ecn: 0,
            }),
            l4: L4Header::Tcp {
                src: sport,
                dst: dport,
                flags: 0x10,
            },
        },
        ..PacketKey::default()
    }
}

#[test]
fn corpus_is_valid_large_and_covers_everything() {
    let rules = corpus();
    assert!(rules.len() >= 60, "{}", rules.len());
    for (i, r) in rules.iter().enumerate() {
        assert_eq!(r.validate(), Ok(()), "corpus rule {i}: {r}");
    }
    let items: BTreeSet<ItemKind> = rules
        .iter()
        .flat_map(|r| r.pattern.iter().map(Item::kind))
        .collect();
    let actions: BTreeSet<ActionKind> = rules
        .iter()
        .flat_map(|r| r.actions.iter().map(Action::kind))
        .collect();
    assert_eq!(items, ItemKind::ALL.into_iter().collect());
    assert_eq!(actions, ActionKind::ALL.into_iter().collect());
    let dirs: BTreeSet<Direction> = rules.iter().map(|r| r.attr.direction).collect();
    assert_eq!(dirs.len(), 3);
}

#[test]
fn corpus_rules_insert_and_classify() {
    let mut tables =
        [Direction::Ingress, Direction::Egress, Direction::Transfer].map(SoftwareTable::new);
    for r in corpus() {
        let t = tables
            .iter_mut()
            .find(|t| t.direction() == r.attr.direction)
            .unwrap();
        t.insert(r).unwrap();
    }
    let transfer = &tables[2];
    // A packet from VF 0 to a remote pod: group 0 -> group 1 Geneve encap.
    let mut p = v4_packet(
        Ipv4Addr::new(10, 244, 1, 10),
        Ipv4Addr::new(10, 244, 2, 7),
        1000,
        5000,
    );
    p.in_port = Some(InPort::RepresentedPort(2));
    p.outer.eth = Some(EthHeader {
        dst: MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01),
        src: MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 10),
        ether_type: 0x0800,
    });
    let c = transfer.classify(&p);
    assert_eq!(c.outcome(), Outcome::Terminal);
    assert_eq!(
        c.final_actions().and_then(|a| a.last()),
        Some(&Action::RepresentedPort(0))
    );
    let tunnel = c.key().tunnel.unwrap();
    assert_eq!((tunnel.kind, tunnel.vni), (TunnelKind::Geneve, 1));
}

/// The transfer rules of the corpus in one table, with each corpus index's
/// rule id.
fn transfer_table() -> (SoftwareTable, Vec<Option<RuleId>>) {
    let mut table = SoftwareTable::new(Direction::Transfer);
    let ids = corpus()
        .into_iter()
        .map(|r| (r.attr.direction == Direction::Transfer).then(|| table.insert(r).unwrap()))
        .collect();
    (table, ids)
}

/// A packet from pod VF 0 (ethdev 2) to `dst`.
fn from_vf0(dst: Ipv4Addr, dscp: u8, ecn: u8) -> PacketKey {
    let mut p = v4_packet(Ipv4Addr::new(10, 244, 1, 10), dst, 1000, 5000);
    p.in_port = Some(InPort::RepresentedPort(2));
    if let L3Header::V4(ip) = &mut p.outer.l3 {
        ip.dscp = dscp;
        ip.ecn = ecn;
        ip.proto = 17;
    }
    p.outer.l4 = L4Header::Udp {
        src: 1000,
        dst: 5000,
    };
    p
}

#[test]
fn corpus_classifies_by_the_whole_tos_byte() {
    let (table, ids) = transfer_table();
    let pod60 = Ipv4Addr::new(10, 244, 1, 60);
    // Group 0 (from VF 0) -> group 1 TOS 0xb9 rule -> group 4 default drop.
    let c = table.classify(&from_vf0(pod60, 46, 1));
    let chain: Vec<RuleId> = c.rule_ids().collect();
    assert_eq!(chain.len(), 3, "{chain:?}");
    assert_eq!(Some(chain[1]), ids[75], "ipv4 tos is 0xb9");
    // ECN 0 is another TOS byte: not that rule; ECN 3 (CE) hits the ECN rule.
    let c = table.classify(&from_vf0(pod60, 46, 0));
    assert!(!c.rule_ids().any(|id| Some(id) == ids[75]));
    let c = table.classify(&from_vf0(pod60, 46, 3));
    assert_eq!(
        c.rule_ids().nth(1),
        ids[76],
        "ipv4 tos spec 0x3 tos mask 0x3"
    );
}

#[test]
fn corpus_decaps_the_matched_geneve_headers() {
    let (table, ids) = transfer_table();
    let node_mac = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0x01);
    let pod14 = MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 14);
    let inner = v4_packet(
        Ipv4Addr::new(10, 244, 2, 5),
        Ipv4Addr::new(10, 244, 1, 14),
        1,
        2,
    )
    .outer;
    let mut p = v4_packet(
        Ipv4Addr::new(192, 168, 100, 11),
        Ipv4Addr::new(192, 168, 100, 10),
        49152,
        6081,
    );
    p.in_port = Some(InPort::RepresentedPort(0));
    if let Some(eth) = &mut p.outer.eth {
        eth.dst = node_mac;
    }
    if let L3Header::V4(ip) = &mut p.outer.l3 {
        ip.proto = 17;
    }
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
    p.inner = HeaderKey {
        eth: Some(EthHeader {
            dst: pod14,
            ..inner.eth.unwrap()
        }),
        ..inner
    };
    let c = table.classify(&p);
    assert_eq!(c.rule_ids().last(), ids[86]);
    assert_eq!(
        c.final_actions().and_then(|a| a.last()),
        Some(&Action::RepresentedPort(6))
    );
    // The outer headers are gone; the pod's frame is what leaves.
    assert_eq!(c.key().tunnel, None);
    assert_eq!(c.key().outer.eth.map(|e| e.dst), Some(pod14));
}

/// The corpus keeps exercising the forms users write in testpmd, so the
/// rte_flow cross-check covers them.
#[test]
fn corpus_covers_tos_rss_forms_and_matched_decap() {
    use dpuflow_flow::{RawDecap, RssType};
    let rules = corpus();
    let items: Vec<&Item> = rules.iter().flat_map(|r| &r.pattern).collect();
    let actions: Vec<&Action> = rules.iter().flat_map(|r| &r.actions).collect();
    let rss: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Rss(r) => Some(r),
            _ => None,
        })
        .collect();
    assert!(items
        .iter()
        .any(|i| matches!(i, Item::Ipv4(m) if m.ecn.is_some() && m.dscp.is_some())));
    assert!(items
        .iter()
        .any(|i| matches!(i, Item::Ipv4(m) if m.ecn.is_some() && m.dscp.is_none())));
    assert!(items
        .iter()
        .any(|i| matches!(i, Item::Ipv6(m) if m.ecn.is_some())));
    assert!(rss.iter().any(|r| r.queues.is_none()), "every Rx queue");
    assert!(
        rss.iter().any(|r| r.types.is_none()),
        "testpmd's default types"
    );
    assert!(
        rss.iter()
            .any(|r| r.types.as_ref().is_some_and(Vec::is_empty)),
        "types end"
    );
    for group in [
        RssType::All,
        RssType::Ip,
        RssType::Tcp,
        RssType::Udp,
        RssType::Sctp,
    ] {
        assert!(
            rss.iter()
                .any(|r| r.types.as_ref().is_some_and(|t| t.contains(&group))),
            "{}",
            group.testpmd_name()
        );
    }
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::RawDecap(RawDecap::Matched))));
}
