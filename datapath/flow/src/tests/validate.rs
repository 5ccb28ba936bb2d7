use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{
    Action, ActionKind, DecapTunnel, Direction, EthMatch, GeneveMatch, GeneveOptMatch, Icmp6Match,
    IcmpMatch, IpVersion, Ipv4Match, Ipv6Match, Item, ItemKind, MacAddr, Masked, RawDecap,
    RssAction, RssType, Rule, RuleError, TunnelDecap, TunnelEncap, UdpMatch, VlanMatch,
};

fn err(rule: Rule) -> RuleError {
    rule.validate().expect_err("rule should be invalid")
}

fn l4_udp() -> Rule {
    Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(Item::udp())
}

fn geneve_rule() -> Rule {
    l4_udp().item(GeneveMatch::any().vni(1))
}

fn encap() -> TunnelEncap {
    TunnelEncap::geneve_v4(
        MacAddr::ZERO,
        MacAddr::ZERO,
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::LOCALHOST,
        1,
        1,
    )
}

#[test]
fn item_field_out_of_range() {
    let e = err(Rule::ingress()
        .item(Item::eth())
        .item(VlanMatch::any().vid(4096))
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::ItemFieldOutOfRange {
            index: 1,
            kind: ItemKind::Vlan,
            field: "vid",
            value: 4096,
            max: 4095
        }
    );
    let e = err(Rule::ingress()
        .item(VlanMatch::any().pcp(8))
        .action(Action::Drop));
    assert!(
        matches!(e, RuleError::ItemFieldOutOfRange { field: "pcp", .. }),
        "{e}"
    );
    let e = err(Rule::ingress()
        .item(Ipv4Match::any().dscp(64))
        .action(Action::Drop));
    assert!(
        matches!(e, RuleError::ItemFieldOutOfRange { field: "dscp", .. }),
        "{e}"
    );
    let e = err(Rule::ingress()
        .item(Ipv4Match::any().ecn(4))
        .action(Action::Drop));
    assert!(
        matches!(
            e,
            RuleError::ItemFieldOutOfRange {
                field: "ecn",
                value: 4,
                max: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = err(Rule::ingress()
        .item(Ipv6Match::any().ecn_masked(1, 0x07))
        .action(Action::Drop));
    assert!(
        matches!(e, RuleError::ItemFieldOutOfRange { field: "ecn", .. }),
        "{e}"
    );
    let e = err(Rule::ingress()
        .item(Ipv6Match::any().dscp_masked(1, 0xff))
        .action(Action::Drop));
    assert!(
        matches!(
            e,
            RuleError::ItemFieldOutOfRange {
                field: "dscp",
                value: 0xff,
                ..
            }
        ),
        "{e}"
    );
    let e = err(l4_udp()
        .item(GeneveMatch::any().vni(1 << 24))
        .action(Action::Drop));
    assert!(
        matches!(
            e,
            RuleError::ItemFieldOutOfRange {
                index: 3,
                field: "vni",
                ..
            }
        ),
        "{e}"
    );
    let e = err(Rule::ingress()
        .item(Item::Tag {
            index: 8,
            data: Masked::exact(1),
        })
        .action(Action::Drop));
    assert!(
        matches!(e, RuleError::ItemFieldOutOfRange { field: "index", .. }),
        "{e}"
    );
}

#[test]
fn item_out_of_order() {
    let e = err(Rule::ingress()
        .item(Item::ipv4())
        .item(Item::eth())
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::ItemOutOfOrder {
            index: 1,
            kind: ItemKind::Eth,
            previous: ItemKind::Ipv4
        }
    );
    let e = err(Rule::ingress()
        .item(Item::ipv4())
        .item(Item::udp())
        .item(Item::ipv6())
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::ItemOutOfOrder {
            index: 2,
            kind: ItemKind::Ipv6,
            previous: ItemKind::Udp
        }
    );
    let e = err(geneve_rule()
        .item(Item::eth())
        .item(GeneveOptMatch::exact(1, 1, &[1]))
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::ItemOutOfOrder {
            index: 5,
            kind: ItemKind::GeneveOpt,
            previous: ItemKind::Eth
        }
    );
}

#[test]
fn duplicate_item() {
    let e = err(Rule::ingress()
        .item(Item::Meta(Masked::exact(1)))
        .item(Item::Meta(Masked::exact(2)))
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::DuplicateItem {
            index: 1,
            kind: ItemKind::Meta
        }
    );
    let e = err(Rule::transfer()
        .item(Item::RepresentedPort(1))
        .item(Item::PortRepresentor(1))
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::DuplicateItem {
            index: 1,
            kind: ItemKind::PortRepresentor
        }
    );
    let tag = |i| Item::Tag {
        index: i,
        data: Masked::exact(1),
    };
    assert!(Rule::ingress()
        .item(tag(1))
        .item(tag(2))
        .action(Action::Drop)
        .validate()
        .is_ok());
    assert_eq!(
        err(Rule::ingress()
            .item(tag(1))
            .item(tag(1))
            .action(Action::Drop)),
        RuleError::DuplicateItem {
            index: 1,
            kind: ItemKind::Tag
        }
    );
}

#[test]
fn l4_without_l3() {
    let e = err(Rule::ingress()
        .item(Item::eth())
        .item(UdpMatch::any().dst_port(53))
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::L4WithoutL3 {
            index: 1,
            kind: ItemKind::Udp
        }
    );
}

#[test]
fn ip_version_mismatch() {
    let e = err(Rule::ingress()
        .item(Item::ipv4())
        .item(Icmp6Match::any())
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::IpVersionMismatch {
            index: 1,
            kind: ItemKind::Icmp6,
            l3: IpVersion::V4
        }
    );
    let e = err(Rule::ingress()
        .item(Item::ipv6())
        .item(IcmpMatch::any())
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::IpVersionMismatch {
            index: 1,
            kind: ItemKind::Icmp,
            l3: IpVersion::V6
        }
    );
}

#[test]
fn protocol_conflict() {
    let e = err(Rule::ingress()
        .item(EthMatch::any().ether_type(0x86dd))
        .item(Item::ipv4())
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::ProtocolConflict {
            index: 0,
            kind: ItemKind::Eth,
            field: "type",
            declared: 0x86dd,
            implied: 0x0800
        }
    );
    let e = err(Rule::ingress()
        .item(Ipv4Match::any().proto(6))
        .item(Item::udp())
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::ProtocolConflict {
            index: 0,
            kind: ItemKind::Ipv4,
            field: "proto",
            declared: 6,
            implied: 17
        }
    );
    let e = err(Rule::ingress()
        .item(Item::eth())
        .item(VlanMatch::any().inner_type(0x0800))
        .item(Item::ipv6())
        .action(Action::Drop));
    assert!(
        matches!(
            e,
            RuleError::ProtocolConflict {
                index: 1,
                field: "inner_type",
                ..
            }
        ),
        "{e}"
    );
    let e = err(Rule::ingress()
        .item(EthMatch::any().ether_type(0x0800))
        .item(Item::vlan())
        .action(Action::Drop));
    assert!(
        matches!(
            e,
            RuleError::ProtocolConflict {
                index: 0,
                implied: 0x8100,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn tunnel_without_udp_and_duplicate_tunnel() {
    let e = err(Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(Item::tcp())
        .item(Item::geneve())
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::TunnelWithoutUdp {
            index: 3,
            kind: ItemKind::Geneve
        }
    );
    let e = err(Rule::transfer().item(Item::geneve()).action(Action::Drop));
    assert_eq!(
        e,
        RuleError::TunnelWithoutUdp {
            index: 0,
            kind: ItemKind::Geneve
        }
    );
    let e = err(geneve_rule()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(Item::udp())
        .item(Item::geneve())
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::DuplicateTunnel {
            index: 7,
            kind: ItemKind::Geneve
        }
    );
}

#[test]
fn geneve_opt_checks() {
    let opt = Item::GeneveOpt(GeneveOptMatch::exact(0x0102, 0x80, &[1]));
    let e = err(l4_udp().item(opt.clone()).action(Action::Drop));
    assert_eq!(e, RuleError::GeneveOptWithoutGeneve { index: 3 });
    let bad = GeneveOptMatch {
        class: 0x0102,
        option_type: 0x80,
        length: 2,
        data: vec![Masked::exact(1)],
    };
    let e = err(geneve_rule().item(bad).action(Action::Drop));
    assert_eq!(
        e,
        RuleError::GeneveOptLengthMismatch {
            index: 4,
            length: 2,
            data_words: 1
        }
    );
    let long = GeneveOptMatch::exact(1, 1, &[1, 2, 3, 4, 5]);
    let e = err(geneve_rule().item(long).action(Action::Drop));
    assert!(
        matches!(
            e,
            RuleError::ItemFieldOutOfRange {
                kind: ItemKind::GeneveOpt,
                field: "length",
                ..
            }
        ),
        "{e}"
    );
    let e = err(geneve_rule()
        .item(opt.clone())
        .item(opt)
        .action(Action::Drop));
    assert_eq!(
        e,
        RuleError::DuplicateItem {
            index: 5,
            kind: ItemKind::GeneveOpt
        }
    );
}

#[test]
fn port_item_requires_transfer() {
    let e = err(Rule::ingress()
        .item(Item::RepresentedPort(0))
        .action(Action::Queue(0)));
    assert_eq!(
        e,
        RuleError::PortItemRequiresTransfer {
            index: 0,
            kind: ItemKind::RepresentedPort
        }
    );
}

#[test]
fn fate_rules() {
    assert_eq!(err(Rule::ingress()), RuleError::EmptyActions);
    assert_eq!(
        err(Rule::transfer().action(Action::Count)),
        RuleError::MissingFate {
            direction: Direction::Transfer
        }
    );
    assert!(
        Rule::ingress().action(Action::Count).validate().is_ok(),
        "ingress without fate = passthru"
    );
    assert!(Rule::egress().action(Action::Count).validate().is_ok());
    let e = err(Rule::ingress().actions([Action::Drop, Action::Count, Action::Queue(1)]));
    assert_eq!(
        e,
        RuleError::DuplicateFate {
            index: 2,
            kind: ActionKind::Queue,
            first_index: 0,
            first_kind: ActionKind::Drop
        }
    );
    let e = err(Rule::ingress().action(Action::RepresentedPort(1)));
    assert_eq!(
        e,
        RuleError::FateNotAllowed {
            index: 0,
            kind: ActionKind::RepresentedPort,
            direction: Direction::Ingress
        }
    );
    let e = err(Rule::transfer().action(Action::Queue(1)));
    assert_eq!(
        e,
        RuleError::FateNotAllowed {
            index: 0,
            kind: ActionKind::Queue,
            direction: Direction::Transfer
        }
    );
    let e = err(Rule::transfer().action(Action::Rss(RssAction::queues([0]))));
    assert!(
        matches!(
            e,
            RuleError::FateNotAllowed {
                kind: ActionKind::Rss,
                ..
            }
        ),
        "{e}"
    );
    let e = err(Rule::egress().action(Action::PortRepresentor(0)));
    assert!(
        matches!(
            e,
            RuleError::FateNotAllowed {
                kind: ActionKind::PortRepresentor,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        err(Rule::transfer().group(2).action(Action::Jump(2))),
        RuleError::JumpToSelf { index: 0, group: 2 }
    );
}

#[test]
fn rss_checks() {
    let e = err(Rule::ingress().action(Action::Rss(RssAction::queues([]))));
    assert_eq!(e, RuleError::EmptyRssQueues { index: 0 });
    // Every Rx queue, testpmd's default types, the PMD's default types.
    for ok in [
        RssAction::all_queues(),
        RssAction::default(),
        RssAction::all_queues().types([]),
        RssAction::all_queues().types([RssType::All]).level(2),
    ] {
        assert_eq!(Rule::ingress().action(Action::Rss(ok)).validate(), Ok(()));
    }
    let rss = RssAction::queues([0]).key(vec![]);
    assert_eq!(
        err(Rule::ingress().action(Action::Rss(rss))),
        RuleError::InvalidRssKey { index: 0, len: 0 }
    );
    // The key is checked when the queues are omitted too.
    let rss = RssAction::all_queues().key(vec![0; 65]);
    assert_eq!(
        err(Rule::ingress().action(Action::Rss(rss))),
        RuleError::InvalidRssKey { index: 0, len: 65 }
    );
    let rss = RssAction::queues(0..129);
    assert!(matches!(
        err(Rule::ingress().action(Action::Rss(rss))),
        RuleError::ActionFieldOutOfRange { .. }
    ));
}

#[test]
fn action_field_out_of_range() {
    let vlan = Rule::transfer().item(Item::eth()).item(Item::vlan());
    let e = err(vlan
        .clone()
        .actions([Action::SetVlanVid(4096), Action::Drop]));
    assert_eq!(
        e,
        RuleError::ActionFieldOutOfRange {
            index: 0,
            kind: ActionKind::SetVlanVid,
            field: "vlan_vid",
            value: 4096,
            max: 4095
        }
    );
    let e = err(vlan.actions([Action::SetVlanPcp(8), Action::Drop]));
    assert!(
        matches!(
            e,
            RuleError::ActionFieldOutOfRange {
                kind: ActionKind::SetVlanPcp,
                ..
            }
        ),
        "{e}"
    );
    let e = err(Rule::ingress().action(Action::Age { timeout: 1 << 24 }));
    assert!(
        matches!(
            e,
            RuleError::ActionFieldOutOfRange {
                kind: ActionKind::Age,
                ..
            }
        ),
        "{e}"
    );
    let e = err(Rule::ingress().action(Action::SetTag {
        index: 9,
        data: 0,
        mask: 0,
    }));
    assert!(
        matches!(
            e,
            RuleError::ActionFieldOutOfRange {
                kind: ActionKind::SetTag,
                ..
            }
        ),
        "{e}"
    );
    let mut big = encap();
    big.tunnel = crate::EncapTunnel::Vxlan { vni: 1 << 24 };
    let e = err(Rule::egress().action(Action::RawEncap(big)));
    assert!(
        matches!(
            e,
            RuleError::ActionFieldOutOfRange {
                kind: ActionKind::RawEncap,
                field: "vni",
                ..
            }
        ),
        "{e}"
    );
    let e = err(Rule::egress().action(Action::RawEncap(encap().with_vlan(5000, 0))));
    assert!(
        matches!(
            e,
            RuleError::ActionFieldOutOfRange {
                field: "vlan vid",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        err(Rule::ingress().action(Action::Age { timeout: 0 })),
        RuleError::AgeTimeoutZero { index: 0 }
    );
}

#[test]
fn tunnel_action_checks() {
    let decap = Action::RawDecap(RawDecap::Headers(TunnelDecap::geneve_v4()));
    let e = err(l4_udp().actions([decap.clone(), Action::Drop]));
    assert_eq!(e, RuleError::DecapWithoutTunnelMatch { index: 0 });
    let e = err(geneve_rule().actions([
        Action::RawDecap(RawDecap::Headers(TunnelDecap::vxlan_v4())),
        Action::Drop,
    ]));
    assert_eq!(
        e,
        RuleError::DecapTunnelMismatch {
            index: 0,
            matched: ItemKind::Geneve
        }
    );
    let v6 = TunnelDecap {
        vlan: false,
        ip: IpVersion::V6,
        tunnel: DecapTunnel::Geneve { option_words: 0 },
    };
    let e = err(geneve_rule().actions([Action::RawDecap(RawDecap::Headers(v6)), Action::Drop]));
    assert_eq!(
        e,
        RuleError::DecapTunnelMismatch {
            index: 0,
            matched: ItemKind::Geneve
        }
    );
    let e = err(Rule::ingress().action(Action::RawEncap(encap())));
    assert_eq!(
        e,
        RuleError::EncapNotAllowed {
            index: 0,
            direction: Direction::Ingress
        }
    );
    let e = err(Rule::transfer().actions([
        Action::RawEncap(encap()),
        Action::RawEncap(encap()),
        Action::Drop,
    ]));
    assert_eq!(
        e,
        RuleError::DuplicateAction {
            index: 1,
            kind: ActionKind::RawEncap
        }
    );
    let e = err(geneve_rule().actions([decap.clone(), decap.clone(), Action::Drop]));
    assert_eq!(
        e,
        RuleError::DuplicateAction {
            index: 1,
            kind: ActionKind::RawDecap
        }
    );
    let e = err(geneve_rule().actions([Action::RawEncap(encap()), decap, Action::Drop]));
    assert_eq!(e, RuleError::DecapAfterEncap { index: 1 });
    let e = err(l4_udp().actions([Action::RawEncap(encap()), Action::SetTpSrc(1), Action::Drop]));
    assert_eq!(
        e,
        RuleError::RewriteAfterEncap {
            index: 1,
            kind: ActionKind::SetTpSrc
        }
    );
}

#[test]
fn rewrite_needs_matching_header() {
    let v4 = Rule::transfer().item(Item::eth()).item(Item::ipv4());
    let v6 = Rule::transfer().item(Item::eth()).item(Item::ipv6());
    let e = err(v6
        .clone()
        .actions([Action::SetIpv4Dst(Ipv4Addr::LOCALHOST), Action::Drop]));
    assert_eq!(
        e,
        RuleError::SetIpv4WithoutIpv4Match {
            index: 0,
            kind: ActionKind::SetIpv4Dst
        }
    );
    let e = err(v4
        .clone()
        .actions([Action::SetIpv6Src(Ipv6Addr::LOCALHOST), Action::Drop]));
    assert_eq!(
        e,
        RuleError::SetIpv6WithoutIpv6Match {
            index: 0,
            kind: ActionKind::SetIpv6Src
        }
    );
    let e = err(v4.clone().actions([Action::SetTpDst(80), Action::Drop]));
    assert_eq!(
        e,
        RuleError::SetTpWithoutL4Match {
            index: 0,
            kind: ActionKind::SetTpDst
        }
    );
    let e = err(v4
        .clone()
        .item(IcmpMatch::any())
        .actions([Action::SetTpDst(80), Action::Drop]));
    assert!(matches!(e, RuleError::SetTpWithoutL4Match { .. }));
    let e = err(Rule::transfer()
        .item(Item::eth())
        .actions([Action::DecTtl, Action::Drop]));
    assert_eq!(e, RuleError::DecTtlWithoutL3Match { index: 0 });
    // After decap, rewrites apply to the inner stack.
    let decap = Action::RawDecap(RawDecap::Headers(TunnelDecap::geneve_v4()));
    let e = err(geneve_rule().actions([
        decap.clone(),
        Action::SetIpv4Dst(Ipv4Addr::LOCALHOST),
        Action::Drop,
    ]));
    assert_eq!(
        e,
        RuleError::SetIpv4WithoutIpv4Match {
            index: 1,
            kind: ActionKind::SetIpv4Dst
        }
    );
    let ok = geneve_rule().item(Item::eth()).item(Item::ipv4()).actions([
        decap,
        Action::SetIpv4Dst(Ipv4Addr::LOCALHOST),
        Action::Drop,
    ]);
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn vlan_action_checks() {
    let eth = Rule::transfer().item(Item::eth());
    let e = err(eth
        .clone()
        .actions([Action::PushVlan { ether_type: 0x8100 }, Action::Drop]));
    assert_eq!(e, RuleError::PushVlanWithoutSetVid { index: 0 });
    let e = err(eth.clone().actions([
        Action::PushVlan { ether_type: 0x8100 },
        Action::SetVlanPcp(1),
        Action::Drop,
    ]));
    assert_eq!(e, RuleError::PushVlanWithoutSetVid { index: 0 });
    let e = err(eth.clone().actions([
        Action::PushVlan { ether_type: 0x0800 },
        Action::SetVlanVid(1),
        Action::Drop,
    ]));
    assert_eq!(
        e,
        RuleError::InvalidPushVlanEthertype {
            index: 0,
            ether_type: 0x0800
        }
    );
    let e = err(eth.clone().actions([Action::SetVlanVid(1), Action::Drop]));
    assert_eq!(
        e,
        RuleError::VlanRewriteWithoutVlan {
            index: 0,
            kind: ActionKind::SetVlanVid
        }
    );
    let e = err(eth.clone().actions([Action::PopVlan, Action::Drop]));
    assert_eq!(e, RuleError::PopVlanWithoutVlan { index: 0 });
    let ok = eth.actions([
        Action::PushVlan { ether_type: 0x8100 },
        Action::SetVlanPcp(1),
        Action::SetVlanVid(5),
        Action::Drop,
    ]);
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn error_messages_name_index_and_kind() {
    let e = err(Rule::ingress()
        .item(Item::eth())
        .item(VlanMatch::any().vid(5000))
        .action(Action::Drop));
    assert_eq!(
        e.to_string(),
        "pattern item 1 (vlan): vid 0x1388 exceeds 0xfff"
    );
    let e = err(Rule::ingress().actions([Action::Drop, Action::Queue(1)]));
    assert_eq!(
        e.to_string(),
        "action 1 (queue) is a second fate after action 0 (drop)"
    );
}

#[test]
fn decap_of_the_matched_headers_needs_a_tunnel_item() {
    let matched = Action::RawDecap(RawDecap::Matched);
    let e = err(Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(Item::udp())
        .actions([matched.clone(), Action::Drop]));
    assert_eq!(e, RuleError::DecapWithoutTunnelMatch { index: 0 });
    // Any matched tunnel and IP version: the pattern fixes the headers.
    for (ip, tunnel) in [
        (Item::ipv4(), Item::geneve()),
        (Item::ipv6(), Item::vxlan()),
    ] {
        let rule = Rule::transfer()
            .item(Item::eth())
            .item(ip)
            .item(Item::udp())
            .item(tunnel)
            .actions([matched.clone(), Action::Drop]);
        assert_eq!(rule.validate(), Ok(()));
    }
    let e = err(Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(Item::udp())
        .item(Item::vxlan())
        .actions([matched.clone(), matched, Action::Drop]));
    assert_eq!(
        e,
        RuleError::DuplicateAction {
            index: 1,
            kind: ActionKind::RawDecap
        }
    );
}
