use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{
    Action, EthMatch, GeneveMatch, GeneveOptMatch, GeneveOption, Icmp6Match, IcmpMatch, Ipv4Match,
    Ipv6Match, Item, MacAddr, Masked, RawDecap, RssAction, RssType, Rule, TcpMatch, TunnelDecap,
    TunnelEncap, UdpMatch, VlanMatch, VxlanMatch,
};

#[test]
fn brief_example() {
    let rule = Rule::ingress()
        .item(Item::eth())
        .item(Ipv4Match::any().src_prefix(Ipv4Addr::new(10, 0, 0, 0), 24))
        .item(UdpMatch::any().dst_port(4789))
        .actions([Action::Count, Action::Queue(3)]);
    let cmds = rule.to_testpmd(0);
    let create = "flow create 0 group 0 priority 0 ingress pattern eth / ipv4 src spec 10.0.0.0 src mask 255.255.255.0 / udp dst is 4789 / end actions count / queue index 3 / end";
    // No raw buffer: the flow create line is the only command.
    assert_eq!(cmds.lines(), [create]);
    assert_eq!(cmds.flow_create(), create);
    assert_eq!(cmds.to_string(), create);
}

#[test]
fn display_is_flow_create_without_port() {
    let rule = Rule::egress().group(3).priority(7).action(Action::Drop);
    assert_eq!(
        rule.to_string(),
        "group 3 priority 7 egress pattern end actions drop / end"
    );
    assert_eq!(
        rule.to_testpmd(5).to_string(),
        format!("flow create 5 {rule}")
    );
}

#[test]
fn masked_fields_use_spec_and_mask_full_fields_use_is() {
    let rule = Rule::transfer()
        .group(1)
        .priority(2)
        .item(Item::RepresentedPort(3))
        .item(
            EthMatch::any()
                .dst_masked(
                    MacAddr::new(1, 0, 0, 0, 0, 0),
                    MacAddr::new(1, 0, 0, 0, 0, 0),
                )
                .ether_type(0x8100),
        )
        .item(
            VlanMatch::any()
                .vid(100)
                .pcp_masked(4, 4)
                .inner_type(0x86dd),
        )
        .item(
            Ipv6Match::any()
                .dscp(46)
                .hop_limit(64)
                .dst_prefix(Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 0), 32),
        )
        .item(TcpMatch::any().dst_port(443).flags_masked(0x12, 0x12))
        .actions([Action::Count, Action::RepresentedPort(0)]);
    assert_eq!(
        rule.to_testpmd(0).to_string(),
        "flow create 0 group 1 priority 2 transfer pattern represented_port ethdev_port_id is 3 / \
         eth dst spec 01:00:00:00:00:00 dst mask 01:00:00:00:00:00 type is 0x8100 / \
         vlan vid is 100 pcp spec 4 pcp mask 4 inner_type is 0x86dd / \
         ipv6 tc spec 0xb8 tc mask 0xfc hop is 64 dst spec fd00:1:: dst mask ffff:ffff:: / \
         tcp dst is 443 flags spec 0x12 flags mask 0x12 / end \
         actions count / represented_port ethdev_port_id 0 / end"
    );
}

#[test]
fn ipv4_dscp_icmp_meta_tag_mark() {
    let rule = Rule::ingress()
        .group(2)
        .item(Item::PortRepresentor(1))
        .item(Item::Meta(Masked::new(0x10, 0xf0)))
        .item(Item::Tag {
            index: 2,
            data: Masked::exact(7),
        })
        .item(Item::Mark(9))
        .item(Item::eth())
        .item(
            Ipv4Match::any()
                .dscp_masked(0x20, 0x38)
                .ttl(1)
                .proto(1)
                .src(Ipv4Addr::new(1, 2, 3, 4)),
        )
        .item(IcmpMatch::any().icmp_type(8).code(0))
        .action(Action::Mark(1));
    // Port items are only valid in transfer rules, but rendering does not validate.
    assert_eq!(
        rule.to_string(),
        "group 2 priority 0 ingress pattern port_representor port_id is 1 / meta data spec 0x10 data mask 0xf0 / \
         tag data is 0x7 index is 2 / mark id is 9 / eth / \
         ipv4 tos spec 0x80 tos mask 0xe0 ttl is 1 proto is 1 src is 1.2.3.4 / \
         icmp type is 8 code is 0 / end actions mark id 1 / end"
    );
}

#[test]
fn tunnel_items_and_icmp6() {
    let rule = Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv6())
        .item(Item::udp())
        .item(GeneveMatch::any().vni(5).protocol(0x6558))
        .item(GeneveOptMatch {
            class: 0x0102,
            option_type: 0x80,
            length: 2,
            data: vec![Masked::exact(0xdeadbeef), Masked::new(0x1234, 0xffff)],
        })
        .item(Item::eth())
        .item(Item::ipv6())
        .item(Icmp6Match::any().icmp_type(135))
        .action(Action::Drop);
    assert_eq!(
        rule.to_string(),
        "group 0 priority 0 transfer pattern eth / ipv6 / udp / geneve vni is 5 protocol is 0x6558 / \
         geneve-opt class is 0x0102 type is 0x80 length is 2 data spec 0xdeadbeef00001234 data mask 0xffffffff0000ffff / \
         eth / ipv6 / icmp6 type is 135 / end actions drop / end"
    );
    let vx = Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(Item::udp())
        .item(VxlanMatch::any().vni_masked(0x100, 0xf00))
        .item(GeneveOptMatch::exact(1, 2, &[3]))
        .action(Action::Drop);
    assert!(vx.to_string().contains("vxlan vni spec 256 vni mask 3840 / geneve-opt class is 0x0001 type is 0x02 length is 1 data is 0x00000003 /"));
}

#[test]
fn every_action_spelling() {
    let rss = RssAction::queues([0, 1])
        .types([RssType::Ipv4Tcp, RssType::L4DstOnly])
        .key(vec![0xab, 0xcd])
        .level(1);
    let actions = vec![
        Action::Count,
        Action::Rss(rss),
        Action::Jump(3),
        Action::Mark(5),
        Action::SetTag {
            index: 1,
            data: 0x12,
            mask: 0xff,
        },
        Action::SetMeta { data: 1, mask: 3 },
        Action::PushVlan { ether_type: 0x8100 },
        Action::SetVlanVid(10),
        Action::SetVlanPcp(2),
        Action::PopVlan,
        Action::SetMacSrc(MacAddr::new(0, 1, 2, 3, 4, 5)),
        Action::SetMacDst(MacAddr::BROADCAST),
        Action::SetIpv4Src(Ipv4Addr::new(1, 1, 1, 1)),
        Action::SetIpv4Dst(Ipv4Addr::new(2, 2, 2, 2)),
        Action::SetIpv6Src(Ipv6Addr::LOCALHOST),
        Action::SetIpv6Dst(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        Action::SetTpSrc(1000),
        Action::SetTpDst(2000),
        Action::DecTtl,
        Action::Age { timeout: 10 },
        Action::Meter(4),
        Action::Drop,
        Action::Queue(1),
        Action::RepresentedPort(2),
        Action::PortRepresentor(3),
    ];
    let rule = Rule::ingress().actions(actions);
    assert_eq!(
        rule.to_string(),
        "group 0 priority 0 ingress pattern end actions count / \
         rss level 1 types ipv4-tcp l4-dst-only end queues 0 1 end key 0xabcd / jump group 3 / mark id 5 / \
         set_tag data 0x12 mask 0xff index 1 / set_meta data 0x1 mask 0x3 / of_push_vlan ethertype 0x8100 / \
         of_set_vlan_vid vlan_vid 10 / of_set_vlan_pcp vlan_pcp 2 / of_pop_vlan / \
         set_mac_src mac_addr 00:01:02:03:04:05 / set_mac_dst mac_addr ff:ff:ff:ff:ff:ff / \
         set_ipv4_src ipv4_addr 1.1.1.1 / set_ipv4_dst ipv4_addr 2.2.2.2 / set_ipv6_src ipv6_addr ::1 / \
         set_ipv6_dst ipv6_addr fe80::1 / set_tp_src port 1000 / set_tp_dst port 2000 / dec_ttl / \
         age timeout 10 / meter mtr_id 4 / drop / queue index 1 / represented_port ethdev_port_id 2 / \
         port_representor port_id 3 / end"
    );
}

#[test]
fn encap_and_decap_commands_precede_flow_create() {
    let encap = TunnelEncap::geneve_v4(
        MacAddr::new(2, 0, 0, 0, 0, 1),
        MacAddr::new(2, 0, 0, 0, 0, 2),
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        4000,
        42,
    )
    .with_option(GeneveOption::ovn(0x0003_0004));
    let rule = Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(UdpMatch::any().dst_port(6081))
        .item(GeneveMatch::any().vni(7))
        .actions([
            Action::RawDecap(RawDecap::Headers(TunnelDecap::geneve_v4())),
            Action::RawEncap(encap),
            Action::RepresentedPort(0),
        ]);
    let cmds = rule.to_testpmd(0);
    let expected = [
            "set raw_decap 0 eth dst is 00:00:00:00:00:00 src is 00:00:00:00:00:00 type is 0x0800 / \
             ipv4 version_ihl is 0x45 tos is 0 fragment_offset is 0x0000 ttl is 0 proto is 17 src is 0.0.0.0 dst is 0.0.0.0 / \
             udp src is 0 dst is 6081 / geneve vni is 0 protocol is 0x6558 optlen is 0 / end_set"
                .to_string(),
            "set raw_encap 0 eth dst is 02:00:00:00:00:02 src is 02:00:00:00:00:01 type is 0x0800 / \
             ipv4 version_ihl is 0x45 tos is 0 fragment_offset is 0x0000 ttl is 64 proto is 17 src is 10.0.0.1 dst is 10.0.0.2 / \
             udp src is 4000 dst is 6081 / geneve vni is 42 protocol is 0x6558 optlen is 2 / \
             geneve-opt class is 0x0102 type is 0x80 length is 1 data is 0x00030004 / end_set"
                .to_string(),
            "flow create 0 group 0 priority 0 transfer pattern eth / ipv4 / udp dst is 6081 / geneve vni is 7 / end \
             actions raw_decap index 0 / raw_encap index 0 / represented_port ethdev_port_id 0 / end"
                .to_string(),
    ];
    assert_eq!(cmds.lines(), expected);
    // Display prints every command, one per line: nothing to forget.
    assert_eq!(cmds.to_string(), expected.join("\n"));
    assert_eq!(cmds.flow_create(), expected[2]);
    assert_eq!(cmds.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn wildcard_masks_are_omitted() {
    let rule = Rule::ingress()
        .item(EthMatch::any().src_masked(MacAddr::new(1, 2, 3, 4, 5, 6), MacAddr::ZERO))
        .item(Ipv4Match::any().dst_masked(Ipv4Addr::new(1, 2, 3, 4), Ipv4Addr::UNSPECIFIED))
        .action(Action::Drop);
    assert_eq!(
        rule.to_string(),
        "group 0 priority 0 ingress pattern eth / ipv4 / end actions drop / end"
    );
    assert!(!rule.pattern[0].has_fields());
}

#[test]
fn tos_and_traffic_class_render_as_one_byte() {
    let text = |m: Item| Rule::ingress().item(m).action(Action::Drop).to_string();
    // DSCP and ECN exact: the whole byte with `is`.
    assert!(text(Ipv4Match::any().dscp(46).ecn(1).into()).contains("ipv4 tos is 0xb9 /"));
    assert!(text(Ipv4Match::any().tos(0xb9).into()).contains("ipv4 tos is 0xb9 /"));
    // ECN alone, DSCP alone, a partial mask: spec/mask over the byte.
    assert!(text(Ipv4Match::any().ecn(3).into()).contains("ipv4 tos spec 0x3 tos mask 0x3 /"));
    assert!(text(Ipv4Match::any().dscp(10).into()).contains("ipv4 tos spec 0x28 tos mask 0xfc /"));
    assert!(text(Ipv4Match::any().tos_masked(0xb9, 0xf0).into())
        .contains("ipv4 tos spec 0xb0 tos mask 0xf0 /"));
    assert!(text(Ipv6Match::any().traffic_class(0x8a).into()).contains("ipv6 tc is 0x8a /"));
    assert!(text(Ipv6Match::any().ecn_masked(1, 1).dscp(0).into())
        .contains("ipv6 tc spec 0x1 tc mask 0xfd /"));
    // A zero mask matches nothing: the item has no field.
    assert!(text(Ipv4Match::any().tos_masked(0xff, 0).into()).contains("pattern ipv4 / end"));
}

#[test]
fn rss_omits_what_testpmd_defaults() {
    let text = |a: RssAction| Rule::ingress().action(Action::Rss(a)).to_string();
    assert_eq!(
        text(RssAction::all_queues()),
        "group 0 priority 0 ingress pattern end actions rss level 0 / end"
    );
    assert!(
        text(RssAction::all_queues().types([RssType::Ip, RssType::Tcp, RssType::Udp]))
            .contains("actions rss level 0 types ip tcp udp end / end")
    );
    assert!(text(RssAction::queues([2, 3]).level(2))
        .contains("actions rss level 2 queues 2 3 end / end"));
    assert!(text(RssAction::all_queues().types([])).contains("actions rss level 0 types end / end"));
    assert!(
        text(RssAction::queues([0]).types([RssType::All, RssType::Sctp]))
            .contains("rss level 0 types all sctp end queues 0 end /")
    );
}

#[test]
fn rss_type_bits_follow_dpdk_22_11() {
    use crate::RTE_ETH_RSS_IP;
    let bits = |t: &[RssType]| {
        RssAction::all_queues()
            .types(t.iter().copied())
            .types_bits()
    };
    // Omitted types: testpmd's rss_hf default.
    assert_eq!(RssAction::all_queues().types_bits(), RTE_ETH_RSS_IP);
    assert_eq!(RTE_ETH_RSS_IP, 0xa38c);
    assert_eq!(bits(&[]), 0);
    assert_eq!(bits(&[RssType::Ip]), RTE_ETH_RSS_IP);
    // Groups are the union of their members.
    assert_eq!(
        bits(&[RssType::Tcp]),
        bits(&[RssType::Ipv4Tcp, RssType::Ipv6Tcp, RssType::Ipv6TcpEx])
    );
    assert_eq!(
        bits(&[RssType::Udp]),
        bits(&[RssType::Ipv4Udp, RssType::Ipv6Udp, RssType::Ipv6UdpEx])
    );
    assert_eq!(
        bits(&[RssType::Sctp]),
        bits(&[RssType::Ipv4Sctp, RssType::Ipv6Sctp])
    );
    assert_eq!(
        bits(&[RssType::Tunnel]),
        bits(&[RssType::Vxlan, RssType::Geneve, RssType::Nvgre])
    );
    assert_eq!(
        bits(&[RssType::Vlan]),
        bits(&[RssType::SVlan, RssType::CVlan])
    );
    let all = bits(&[RssType::All]);
    for t in [
        RssType::Ip,
        RssType::Tcp,
        RssType::Udp,
        RssType::Sctp,
        RssType::Vlan,
    ] {
        assert_eq!(
            all & bits(&[t]),
            bits(&[t]),
            "all includes {}",
            t.testpmd_name()
        );
    }
    assert_eq!(
        all & bits(&[RssType::Tunnel]),
        0,
        "testpmd's all has no tunnel bits"
    );
    // Every token is distinct.
    let names: std::collections::BTreeSet<_> =
        RssType::ALL.iter().map(|t| t.testpmd_name()).collect();
    assert_eq!(names.len(), RssType::ALL.len());
}

#[test]
fn decap_of_the_matched_headers_sets_an_empty_buffer() {
    let rule = Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(Item::udp())
        .item(Item::vxlan())
        .actions([
            Action::RawDecap(RawDecap::Matched),
            Action::RepresentedPort(2),
        ]);
    assert_eq!(
        rule.to_testpmd(0).to_string(),
        "set raw_decap 0 end_set\n\
         flow create 0 group 0 priority 0 transfer pattern eth / ipv4 / udp / vxlan / end \
         actions raw_decap index 0 / represented_port ethdev_port_id 2 / end"
    );
    assert!(RawDecap::Matched.decap_bytes().is_empty());
    assert_eq!(
        RawDecap::from(TunnelDecap::vxlan_v4()).decap_bytes(),
        TunnelDecap::vxlan_v4().decap_bytes()
    );
}

#[test]
fn icmp_echo_identifier_renders_as_testpmd_ident() {
    let exact = Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(IcmpMatch::any().icmp_type(0).ident(4660))
        .action(Action::Drop);
    assert_eq!(
        exact.to_string(),
        "group 0 priority 0 transfer pattern eth / ipv4 / icmp type is 0 ident is 4660 / end \
         actions drop / end"
    );
    let masked = Rule::transfer()
        .item(Item::eth())
        .item(Item::ipv4())
        .item(IcmpMatch::any().ident_masked(0x1234, 0xff00))
        .action(Action::Drop);
    assert!(
        masked
            .to_string()
            .contains("icmp ident spec 4608 ident mask 65280 /"),
        "{masked}"
    );
}
