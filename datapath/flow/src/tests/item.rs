use crate::{
    Action, EthMatch, GeneveMatch, Icmp6Match, IcmpMatch, Ipv4Match, Ipv6Match, Item, ItemKind,
    Rule, TcpMatch, UdpMatch, VlanMatch, VxlanMatch,
};

/// Every header item has its own `*Match` struct that converts into the
/// right item, and an `Item::<kind>()` that matches any such header.
#[test]
fn every_header_match_converts_into_its_own_item() {
    let cases: [(Item, Item, ItemKind); 10] = [
        (EthMatch::any().into(), Item::eth(), ItemKind::Eth),
        (VlanMatch::any().into(), Item::vlan(), ItemKind::Vlan),
        (Ipv4Match::any().into(), Item::ipv4(), ItemKind::Ipv4),
        (Ipv6Match::any().into(), Item::ipv6(), ItemKind::Ipv6),
        (TcpMatch::any().into(), Item::tcp(), ItemKind::Tcp),
        (UdpMatch::any().into(), Item::udp(), ItemKind::Udp),
        (IcmpMatch::any().into(), Item::icmp(), ItemKind::Icmp),
        (Icmp6Match::any().into(), Item::icmp6(), ItemKind::Icmp6),
        (GeneveMatch::any().into(), Item::geneve(), ItemKind::Geneve),
        (VxlanMatch::any().into(), Item::vxlan(), ItemKind::Vxlan),
    ];
    for (converted, any, kind) in cases {
        assert_eq!(converted, any);
        assert_eq!(converted.kind(), kind);
        assert!(!any.has_fields(), "{kind} any() matches any header");
    }
}

/// Port and mark items have the same shape as the actions of the same name,
/// and render to the same port / id.
#[test]
fn port_and_mark_items_mirror_their_actions() {
    let rule = Rule::transfer()
        .item(Item::RepresentedPort(3))
        .actions([Action::Mark(7), Action::RepresentedPort(3)]);
    assert_eq!(
        rule.to_testpmd(0).to_string(),
        "flow create 0 group 0 priority 0 transfer pattern represented_port ethdev_port_id is 3 / end actions mark id 7 / represented_port ethdev_port_id 3 / end"
    );
    let rule = Rule::ingress()
        .item(Item::Mark(7))
        .item(Item::eth())
        .action(Action::Queue(0));
    assert!(rule
        .to_testpmd(0)
        .to_string()
        .contains("mark id is 7 / eth /"));
    let rule = Rule::transfer()
        .item(Item::PortRepresentor(2))
        .action(Action::PortRepresentor(2));
    assert!(rule
        .to_testpmd(0)
        .to_string()
        .contains("port_representor port_id is 2 / end actions port_representor port_id 2 /"));
}

/// `tos` / `traffic_class` set DSCP and ECN together; the byte reads back.
#[test]
fn tos_byte_is_dscp_and_ecn() {
    let m = Ipv4Match::any().tos(0xb9);
    assert_eq!(m, Ipv4Match::any().dscp(46).ecn(1));
    assert_eq!(m.tos_byte(), Some(crate::Masked::exact(0xb9)));
    let m = Ipv4Match::any().tos_masked(0xb9, 0xfc);
    assert_eq!(m, Ipv4Match::any().dscp(46));
    assert_eq!(m.ecn, None);
    let m = Ipv6Match::any().traffic_class_masked(0x03, 0x03);
    assert_eq!(m, Ipv6Match::any().ecn(3));
    assert_eq!(m.dscp, None);
    assert_eq!(m.traffic_class_byte(), Some(crate::Masked::new(3, 3)));
    assert_eq!(Ipv6Match::any().traffic_class_byte(), None);
}
