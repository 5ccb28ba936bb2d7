//! The OVN-style rule corpus (dpuflow-flow-testkit) against the model: every
//! rule validates, the corpus covers every item, action and direction, and
//! the software classifier takes and evaluates all of it.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use dpuflow_flow::packet::HeaderKey;
use dpuflow_flow::{
    Action, ActionKind, Direction, EthHeader, InPort, Ipv4Header, Item, ItemKind, L3Header,
    L4Header, MacAddr, Outcome, PacketKey, SoftwareTable, TunnelKind,
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
