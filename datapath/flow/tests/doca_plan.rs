//! Tests of the DOCA plan (no SDK needed): every corpus rule, golden OVN
//! flows, pipe keys and the documented gaps.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use dpuflow_flow::action::{Action, ActionKind, RssAction, RssType};
use dpuflow_flow::doca::plan::{
    Be16, Be32, DecTtl, DocaDomain, DocaMapError, DocaMode, DocaPipeType, DocaPlan, EncapIp,
    EncapTun, Field, FwdPlan, GeneveOptionMatch, GeneveOptionWord, GeneveParserSpec, L3Match,
    L3Rewrite, L4Match, L4Proto, L4Rewrite, RssFlags, RssPlan, TunnelMatch, Unsupported,
    PORT_ID_CHANGEABLE,
};
use dpuflow_flow::field::{MacAddr, Masked};
use dpuflow_flow::item::{
    EthMatch, GeneveMatch, GeneveOptMatch, Ipv4Match, Item, ItemKind, TcpMatch, UdpMatch, VlanMatch,
};
use dpuflow_flow::rule::Rule;
use dpuflow_flow::tunnel::{
    DecapTunnel, GeneveOption, IpVersion, RawDecap, TunnelDecap, TunnelEncap, OVN_GENEVE_CLASS,
    OVN_GENEVE_TYPE,
};
use dpuflow_flow_testkit::corpus::{corpus, vf_rep, UPLINK};

const NODE_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0x01);
const GW_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0xfe);
const ROUTER_MAC: MacAddr = MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01);
const POD_MAC: MacAddr = MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x0a);
const POD_IP: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 10);
const LOCAL_TEP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 10);
const REMOTE_TEP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 11);
const WEB_VIP: Ipv4Addr = Ipv4Addr::new(10, 96, 12, 34);
const BACKEND: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 50);

fn exact<T: Copy>(value: T, mask: T) -> Option<Field<T>> {
    Some(Field { value, mask })
}

fn plan(rule: &Rule) -> DocaPlan {
    match DocaPlan::from_rule(rule) {
        Ok(p) => p,
        Err(e) => panic!("{rule:?} does not map: {e}"),
    }
}

fn corpus_plan(index: usize) -> DocaPlan {
    plan(&corpus()[index])
}

fn corpus_key(index: usize) -> dpuflow_flow::doca::plan::PipeKey {
    corpus_plan(index).pipe_key()
}

fn item_gap(index: usize, kind: ItemKind, reason: Unsupported) -> DocaMapError {
    DocaMapError::Item {
        index,
        kind,
        reason,
    }
}

fn action_gap(index: usize, kind: ActionKind, reason: Unsupported) -> DocaMapError {
    DocaMapError::Action {
        index,
        kind,
        reason,
    }
}

// ------------------------------------------------------------ corpus

/// The exact corpus rules DOCA Flow 2.7 cannot take, and why.
fn expected_gaps() -> Vec<(usize, DocaMapError)> {
    use ActionKind as A;
    use ItemKind as I;
    use Unsupported as U;
    vec![
        // Root: uplink default "count / port_representor 0" (slow path).
        (9, action_gap(1, A::PortRepresentor, U::ToApplicationPort)),
        // Pod egress: QinQ push (TPID 0x88a8) + meter.
        (20, action_gap(0, A::PushVlan, U::PushVlanTpid)),
        // Pod egress default to the application.
        (24, action_gap(1, A::PortRepresentor, U::ToApplicationPort)),
        // Geneve ingress default to the application.
        (53, action_gap(1, A::PortRepresentor, U::ToApplicationPort)),
        // Slow path: traffic sent by the application through a representor.
        (59, item_gap(0, I::PortRepresentor, U::PortRepresentorMatch)),
        (60, item_gap(0, I::PortRepresentor, U::PortRepresentorMatch)),
        // Slow path: ARP to the application.
        (61, action_gap(1, A::PortRepresentor, U::ToApplicationPort)),
        // Slow path: broadcast marked in the FDB.
        (62, action_gap(0, A::Mark, U::MarkOutsideIngress)),
        // NIC Rx: RSS over ipv4-tcp and ipv4-udp at once.
        (64, action_gap(1, A::Rss, U::RssTcpAndUdp)),
        // NIC Rx: RSS with its own key.
        (65, action_gap(0, A::Rss, U::RssKey)),
        // NIC Rx: inner RSS on l3-dst-only / l4-dst-only.
        (66, action_gap(0, A::Rss, U::RssSrcDstOnly)),
        // NIC Rx: match on a mark set by an earlier group.
        (69, item_gap(0, I::Mark, U::MarkMatch)),
        // RSS over every Rx queue: DOCA lists the queues.
        (79, action_gap(0, A::Rss, U::RssAllQueues)),
        (80, action_gap(1, A::Rss, U::RssAllQueues)),
        // RSS on SCTP (DOCA hashes IP addresses and TCP/UDP ports only).
        (81, action_gap(0, A::Rss, U::RssType(RssType::Sctp))),
        // RSS `all` with its own key.
        (82, action_gap(0, A::Rss, U::RssKey)),
        // (83: listed queues, testpmd's default types: maps.)
        (84, action_gap(1, A::Rss, U::RssAllQueues)),
        // RSS on L4 ports without a protocol (`port`).
        (85, action_gap(0, A::Rss, U::RssType(RssType::Port))),
        // The offload manager's base miss to software: a DOCA pipe's miss
        // path does this instead (the DOCA backend's connection pipe is
        // created with its miss to the application).
        (103, action_gap(0, A::PortRepresentor, U::ToApplicationPort)),
    ]
}

#[test]
fn corpus_maps_except_the_documented_gaps() {
    let rules = corpus();
    assert_eq!(rules.len(), 104);
    let mut failures = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        match DocaPlan::from_rule(rule) {
            Ok(p) => {
                // Mode/domain follow the direction; templates are stable.
                assert_eq!(p.pipe_type, DocaPipeType::Basic);
                assert_eq!(p.is_root, rule.attr.group == 0, "rule {i}");
                assert_eq!(p.group, rule.attr.group);
                assert_eq!(p.priority, rule.attr.priority);
                let key = p.pipe_key();
                assert_eq!(key.template().pipe_key(), key, "rule {i}");
            }
            Err(e) => failures.push((i, e)),
        }
    }
    assert_eq!(failures, expected_gaps());
    assert_eq!(rules.len() - failures.len(), 85);
}

#[test]
fn mapped_corpus_rules_cover_every_kind_but_the_gaps() {
    let mut items = BTreeSet::new();
    let mut actions = BTreeSet::new();
    for rule in corpus() {
        if DocaPlan::from_rule(&rule).is_ok() {
            items.extend(rule.pattern.iter().map(Item::kind));
            actions.extend(rule.actions.iter().map(Action::kind));
        }
    }
    let missing_items: Vec<ItemKind> = ItemKind::ALL
        .into_iter()
        .filter(|k| !items.contains(k))
        .collect();
    let missing_actions: Vec<ActionKind> = ActionKind::ALL
        .into_iter()
        .filter(|k| !actions.contains(k))
        .collect();
    assert_eq!(missing_items, [ItemKind::PortRepresentor, ItemKind::Mark]);
    // The only meter rule fails on its QinQ push;
    // `meter_maps_to_a_shared_meter` covers meters.
    assert_eq!(
        missing_actions,
        [ActionKind::PortRepresentor, ActionKind::Meter]
    );
}

#[test]
fn modes_and_domains_follow_the_direction() {
    let rules = corpus();
    for (i, expected) in [
        (0, (DocaMode::Switch, DocaDomain::Default)),
        (63, (DocaMode::Vnf, DocaDomain::Default)),
        (72, (DocaMode::Vnf, DocaDomain::Egress)),
    ] {
        let p = plan(&rules[i]);
        assert_eq!((p.mode, p.domain), expected, "rule {i}");
    }
    assert_eq!(DocaMode::Switch.mode_args(), "switch,hws");
    assert_eq!(DocaMode::Vnf.mode_args(), "vnf,hws");
}

// ------------------------------------------------------------ golden OVN flows

fn vf_to_uplink_encap() -> Rule {
    Rule::transfer()
        .group(1)
        .priority(4)
        .item(Item::RepresentedPort(vf_rep(0)))
        .item(EthMatch::any().src(POD_MAC).dst(ROUTER_MAC))
        .item(
            Ipv4Match::any()
                .src(POD_IP)
                .dst_prefix(Ipv4Addr::new(10, 244, 2, 0), 24),
        )
        .actions([
            Action::Count,
            Action::DecTtl,
            Action::RawEncap(
                TunnelEncap::geneve_v4(NODE_MAC, GW_MAC, LOCAL_TEP, REMOTE_TEP, 49152, 5)
                    .with_option(GeneveOption::ovn(0x0003_0001)),
            ),
            Action::Age { timeout: 300 },
            Action::RepresentedPort(UPLINK),
        ])
}

#[test]
fn golden_vf_to_uplink_with_geneve_encap() {
    let p = plan(&vf_to_uplink_encap());
    assert_eq!(p.mode, DocaMode::Switch);
    assert_eq!(p.domain, DocaDomain::Default);
    assert_eq!((p.group, p.priority, p.is_root), (1, 4, false));

    let m = &p.matcher;
    assert_eq!(m.port_meta, Some(2));
    assert_eq!(m.outer.eth_src, exact(POD_MAC.0, [0xff; 6]));
    assert_eq!(m.outer.eth_dst, exact(ROUTER_MAC.0, [0xff; 6]));
    assert_eq!(m.outer.eth_type, None);
    assert_eq!(
        m.outer.l3,
        Some(L3Match::Ip4 {
            src: exact(Be32([10, 244, 1, 10]), Be32([0xff; 4])),
            dst: exact(Be32([10, 244, 2, 0]), Be32([0xff, 0xff, 0xff, 0])),
            next_proto: None,
            ttl: None,
            dscp_ecn: None,
        })
    );
    assert_eq!(m.outer.l4, None);
    assert_eq!(m.tun, None);
    assert_eq!(m.inner, Default::default());

    let a = &p.actions;
    assert_eq!(a.dec_ttl, Some(DecTtl::Ipv4));
    assert_eq!(DecTtl::Ipv4.field_string(), "outer.ipv4.ttl");
    assert_eq!(a.decap, None);
    let Some(e) = &a.encap else {
        panic!("no encap in {a:?}")
    };
    assert_eq!(e.eth_src, NODE_MAC.0);
    assert_eq!(e.eth_dst, GW_MAC.0);
    assert_eq!(e.eth_type, Be16([0x08, 0x00]));
    assert_eq!(e.vlan_tci, None);
    assert_eq!(
        e.ip,
        EncapIp::V4 {
            src: Be32([192, 168, 100, 10]),
            dst: Be32([192, 168, 100, 11]),
            ttl: 64,
            dscp_ecn: 0,
            flags_fragment_offset: Be16([0, 0]),
        }
    );
    assert_eq!(e.udp_src, Be16([0xc0, 0x00]));
    assert_eq!(e.udp_dst, Be16([0x17, 0xc1]));
    assert_eq!(
        e.tun,
        EncapTun::Geneve {
            vni: Be32([0, 0, 5, 0]),
            next_proto: Be16([0x65, 0x58]),
            ver_opt_len: 2,
            // OVN's option is critical: C set, as OVN sends it.
            o_c: 0x40,
            options: vec![
                GeneveOptionWord::Header {
                    class: Be16([0x01, 0x02]),
                    option_type: 0x80,
                    length: 1,
                },
                GeneveOptionWord::Data(Be32([0x00, 0x03, 0x00, 0x01])),
            ],
        }
    );
    assert_eq!(p.fwd, FwdPlan::Port { port_id: UPLINK });
    assert!(p.monitor.counter);
    assert_eq!(p.monitor.aging_sec, Some(300));
    assert_eq!(p.monitor.shared_meter_id, None);
    assert_eq!(p.geneve_parser, None);

    // The pipe template: per-entry values become all-ones placeholders,
    // masks and the encap layout stay.
    let key = p.pipe_key();
    let t = key.template();
    assert_eq!(t.matcher.port_meta, Some(u32::MAX));
    assert_eq!(
        t.matcher.outer.eth_src,
        exact([0xff; 6], [0xff; 6]),
        "changeable MAC"
    );
    assert_eq!(
        t.fwd,
        FwdPlan::Port {
            port_id: PORT_ID_CHANGEABLE
        }
    );
    assert_eq!(t.monitor.aging_sec, Some(u32::MAX));
    assert!(t.monitor.counter);
    assert_eq!(t.actions.dec_ttl, Some(DecTtl::Ipv4));
    let Some(te) = &t.actions.encap else {
        panic!("no encap in the template")
    };
    assert_eq!(te.udp_dst, Be16::ALL_ONES);
    assert_eq!(te.eth_type, Be16([0x08, 0x00]));
    match &te.tun {
        EncapTun::Geneve {
            vni,
            ver_opt_len,
            options,
            ..
        } => {
            assert_eq!(*vni, Be32::ALL_ONES);
            assert_eq!(*ver_opt_len, 2);
            assert_eq!(options[1], GeneveOptionWord::Data(Be32::ALL_ONES));
            assert!(matches!(
                options[0],
                GeneveOptionWord::Header { length: 1, .. }
            ));
        }
        other => panic!("{other:?}"),
    }
}

fn uplink_decap_to_vf() -> Rule {
    Rule::transfer()
        .group(2)
        .priority(1)
        .item(Item::RepresentedPort(UPLINK))
        .item(EthMatch::any().dst(NODE_MAC))
        .item(Ipv4Match::any().dst(LOCAL_TEP).proto(17))
        .item(UdpMatch::any().dst_port(6081))
        .item(GeneveMatch::any().vni(1))
        .item(GeneveOptMatch {
            class: OVN_GENEVE_CLASS,
            option_type: OVN_GENEVE_TYPE,
            length: 1,
            data: vec![Masked::new(4, 0x0000_ffff)],
        })
        .item(EthMatch::any().dst(POD_MAC))
        .actions([
            Action::Count,
            Action::RawDecap(RawDecap::Headers(TunnelDecap {
                vlan: false,
                ip: IpVersion::V4,
                tunnel: DecapTunnel::Geneve { option_words: 2 },
            })),
            Action::RepresentedPort(vf_rep(1)),
        ])
}

#[test]
fn golden_uplink_geneve_decap_to_vf() {
    let p = plan(&uplink_decap_to_vf());
    assert_eq!((p.mode, p.group, p.is_root), (DocaMode::Switch, 2, false));
    let m = &p.matcher;
    assert_eq!(m.port_meta, Some(u32::from(UPLINK)));
    assert_eq!(m.outer.eth_dst, exact(NODE_MAC.0, [0xff; 6]));
    assert_eq!(
        m.outer.l3,
        Some(L3Match::Ip4 {
            src: None,
            dst: exact(Be32([192, 168, 100, 10]), Be32::ALL_ONES),
            next_proto: exact(17, 0xff),
            ttl: None,
            dscp_ecn: None,
        })
    );
    assert_eq!(
        m.outer.l4,
        Some(L4Match::Udp {
            src_port: None,
            dst_port: exact(Be16([0x17, 0xc1]), Be16::ALL_ONES),
        })
    );
    assert_eq!(
        m.tun,
        Some(TunnelMatch::Geneve {
            vni: exact(Be32([0, 0, 1, 0]), Be32([0xff, 0xff, 0xff, 0])),
            next_proto: None,
            option: Some(GeneveOptionMatch {
                class: Be16([0x01, 0x02]),
                option_type: 0x80,
                length: 1,
                data: vec![Field {
                    value: Be32([0, 0, 0, 4]),
                    mask: Be32([0, 0, 0xff, 0xff]),
                }],
            }),
        })
    );
    // Headers after the tunnel item are the inner ones.
    assert_eq!(m.inner.eth_dst, exact(POD_MAC.0, [0xff; 6]));
    assert_eq!(m.outer.eth_src, None);
    assert_eq!(
        p.geneve_parser,
        Some(GeneveParserSpec {
            class: Be16([0x01, 0x02]),
            option_type: 0x80,
            length: 1,
            data_mask: vec![Be32::ALL_ONES],
        })
    );
    assert_eq!(p.actions.decap.map(|d| d.is_l2), Some(true));
    assert_eq!(p.actions.encap, None);
    assert_eq!(p.fwd, FwdPlan::Port { port_id: vf_rep(1) });
    assert!(p.monitor.counter);

    // Template: option header kept, data changeable, masks kept.
    let key = p.pipe_key();
    match &key.template().matcher.tun {
        Some(TunnelMatch::Geneve {
            vni: Some(vni),
            option: Some(o),
            ..
        }) => {
            assert_eq!(vni.value, Be32::ALL_ONES);
            assert_eq!(vni.mask, Be32([0xff, 0xff, 0xff, 0]));
            assert_eq!((o.class, o.option_type, o.length), (Be16([1, 2]), 0x80, 1));
            assert_eq!(o.data[0].value, Be32::ALL_ONES);
            assert_eq!(o.data[0].mask, Be32([0, 0, 0xff, 0xff]));
        }
        other => panic!("{other:?}"),
    }
}

fn service_dnat(backend: Ipv4Addr, sport_lo: u16) -> Rule {
    Rule::transfer()
        .group(1)
        .priority(2)
        .item(Item::eth())
        .item(Ipv4Match::any().dst(WEB_VIP))
        .item(
            TcpMatch::any()
                .dst_port(80)
                .src_port_masked(sport_lo, 0xc000),
        )
        .actions([
            Action::Count,
            Action::SetIpv4Dst(backend),
            Action::SetTpDst(8080),
            Action::SetMacDst(POD_MAC),
            Action::Jump(4),
        ])
}

#[test]
fn golden_service_dnat() {
    let p = plan(&service_dnat(BACKEND, 0x4000));
    let m = &p.matcher;
    assert_eq!(m.port_meta, None);
    assert_eq!(
        m.outer.l3,
        Some(L3Match::Ip4 {
            src: None,
            dst: exact(Be32([10, 96, 12, 34]), Be32::ALL_ONES),
            next_proto: None,
            ttl: None,
            dscp_ecn: None,
        })
    );
    assert_eq!(
        m.outer.l4,
        Some(L4Match::Tcp {
            src_port: exact(Be16([0x40, 0x00]), Be16([0xc0, 0x00])),
            dst_port: exact(Be16([0, 80]), Be16::ALL_ONES),
            flags: None,
        })
    );
    let r = &p.actions.rewrite;
    assert_eq!(r.eth_dst, Some(POD_MAC.0));
    assert_eq!(r.eth_src, None);
    assert_eq!(
        r.l3,
        Some(L3Rewrite::Ip4 {
            src: None,
            dst: Some(Be32([10, 244, 1, 50])),
        })
    );
    assert_eq!(
        r.l4,
        Some(L4Rewrite {
            proto: L4Proto::Tcp,
            src_port: None,
            dst_port: Some(Be16([0x1f, 0x90])),
        })
    );
    assert_eq!(p.actions.dec_ttl, None);
    assert_eq!(p.fwd, FwdPlan::Pipe { group: 4 });
    assert!(p.monitor.counter);
    let key = p.pipe_key();
    assert_eq!(key.template().fwd, FwdPlan::Pipe { group: u32::MAX });
    assert_eq!(
        key.template().actions.rewrite.l4.and_then(|l4| l4.dst_port),
        Some(Be16::ALL_ONES)
    );
}

#[test]
fn golden_policy_drop() {
    let rule = Rule::transfer()
        .group(1)
        .priority(0)
        .item(Item::eth())
        .item(Item::ipv4())
        .item(TcpMatch::any().dst_port(22))
        .actions([Action::Count, Action::Drop]);
    assert_eq!(rule, corpus()[25]);
    let p = plan(&rule);
    let m = &p.matcher;
    // `ipv4` without fields: only the L3 type (parser_meta) is matched.
    assert_eq!(
        m.outer.l3,
        Some(L3Match::Ip4 {
            src: None,
            dst: None,
            next_proto: None,
            ttl: None,
            dscp_ecn: None,
        })
    );
    assert_eq!(
        m.outer.l4,
        Some(L4Match::Tcp {
            src_port: None,
            dst_port: exact(Be16([0, 22]), Be16::ALL_ONES),
            flags: None,
        })
    );
    assert_eq!(m.outer.eth_dst, None);
    assert!(p.actions.is_empty());
    assert_eq!(p.fwd, FwdPlan::Drop);
    assert!(p.monitor.counter);
    assert_eq!(p.monitor.aging_sec, None);
    let key = p.pipe_key();
    assert_eq!(key.template().fwd, FwdPlan::Drop);
}

// ------------------------------------------------------------ pipe keys

#[test]
fn rules_of_one_shape_share_a_pipe() {
    // Pod egress with Geneve encap, four pods.
    let encap: Vec<_> = (10..=13).map(corpus_key).collect();
    assert!(encap.windows(2).all(|w| w[0] == w[1]));
    // Root classifiers: four VF representors and the host PF.
    let root: Vec<_> = [0, 1, 2, 3, 8].into_iter().map(corpus_key).collect();
    assert!(root.windows(2).all(|w| w[0] == w[1]));
    // Service DNAT to three backends.
    let dnat: Vec<_> = (35..=37).map(corpus_key).collect();
    assert!(dnat.windows(2).all(|w| w[0] == w[1]));
    // Geneve decap to four pods.
    let decap: Vec<_> = (45..=48).map(corpus_key).collect();
    assert!(decap.windows(2).all(|w| w[0] == w[1]));
    // Golden rules with other values keep their shape.
    assert_eq!(
        plan(&service_dnat(BACKEND, 0x4000)).pipe_key(),
        plan(&service_dnat(Ipv4Addr::new(10, 244, 7, 7), 0x8000)).pipe_key()
    );
    assert_eq!(dnat[0], plan(&service_dnat(BACKEND, 0)).pipe_key());
}

#[test]
fn different_shapes_get_different_pipes() {
    let keys = [
        corpus_key(10), // geneve encap, IPv4
        corpus_key(16), // geneve encap, IPv6 inner match
        corpus_key(17), // vxlan encap
        corpus_key(18), // geneve encap with outer VLAN
        corpus_key(38), // UDP DNAT
        corpus_key(35), // TCP DNAT
        corpus_key(25), // tcp dport exact
        corpus_key(26), // ipv4 dst + tcp dport masked
    ];
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b);
        }
    }
    // Same shape at another priority: another pipe in the chain.
    let r = service_dnat(BACKEND, 0);
    let mut other = r.clone();
    other.attr.priority = 3;
    assert_ne!(plan(&r).pipe_key(), plan(&other).pipe_key());
    // Same shape in another group: another chain.
    other.attr.priority = 2;
    other.attr.group = 5;
    assert_ne!(plan(&r).pipe_key(), plan(&other).pipe_key());
    // Another mask: another pipe.
    let narrower = Rule::transfer()
        .group(1)
        .priority(2)
        .item(Item::eth())
        .item(Ipv4Match::any().dst_prefix(WEB_VIP, 24))
        .item(TcpMatch::any().dst_port(80).src_port_masked(0, 0xc000))
        .actions(r.actions.clone());
    assert_ne!(plan(&r).pipe_key(), plan(&narrower).pipe_key());
}

// ------------------------------------------------------------ details

#[test]
fn byte_order_helpers() {
    assert_eq!(Be16::new(6081).0, [0x17, 0xc1]);
    assert_eq!(Be16::new(6081).get(), 6081);
    assert_eq!(Be32::new(0x0102_0304).0, [1, 2, 3, 4]);
    assert_eq!(Be32::from(Ipv4Addr::new(10, 0, 0, 1)).get(), 0x0a00_0001);
    assert_eq!(format!("{:?}", Be16::new(0x6558)), "be16(0x6558)");
}

#[test]
fn vlan_push_pop_and_rewrite() {
    // push 0x8100 + vid 100 + pcp 3: one pushed TCI.
    let push = corpus_plan(19);
    assert_eq!(push.actions.push_vlan_tci, Some(Be16::new((3 << 13) | 100)));
    assert_eq!(push.actions.rewrite.vlan_tci, None);
    // vid/pcp rewrite of the matched tag: TCI under a mask.
    let rewrite = corpus_plan(56);
    assert_eq!(
        rewrite.actions.rewrite.vlan_tci,
        exact(Be16::new(201), Be16::new(0xefff)),
        "VID and PCP written, DEI kept"
    );
    assert_eq!(
        rewrite.matcher.outer.vlan_tci,
        exact(Be16::new((4 << 13) | 200), Be16::new(0x8fff))
    );
    assert!(rewrite.matcher.outer.vlan);
    // pop, then push a new tag.
    let swap = corpus_plan(57);
    assert!(swap.actions.pop_vlan);
    assert_eq!(swap.actions.push_vlan_tci, Some(Be16::new(5)));
    // VLAN inner_type becomes eth.type (the EtherType after the tag).
    let tagged = corpus_plan(52);
    assert_eq!(
        tagged.matcher.outer.eth_type,
        exact(Be16([0x08, 0x00]), Be16::ALL_ONES)
    );
}

/// The whole TOS / traffic-class byte (DSCP and ECN) reaches DOCA's
/// `ip4.dscp_ecn` / `ip6.traffic_class`.
#[test]
fn tos_and_traffic_class_bytes() {
    let l3 = |index: usize| corpus_plan(index).matcher.outer.l3;
    match l3(75) {
        // ipv4 tos 0xb9 (DSCP 46, ECN 1)
        Some(L3Match::Ip4 { dscp_ecn, .. }) => assert_eq!(dscp_ecn, exact(0xb9, 0xff)),
        other => panic!("{other:?}"),
    }
    match l3(76) {
        // ipv4 ECN 3 alone
        Some(L3Match::Ip4 { dscp_ecn, .. }) => assert_eq!(dscp_ecn, exact(0x03, 0x03)),
        other => panic!("{other:?}"),
    }
    match l3(77) {
        // ipv6 traffic class 0x8a
        Some(L3Match::Ip6 { traffic_class, .. }) => {
            assert_eq!(traffic_class, exact(0x8a, 0xff));
        }
        other => panic!("{other:?}"),
    }
    match l3(78) {
        // ipv6 DSCP 0 and ECN bit 0 set
        Some(L3Match::Ip6 { traffic_class, .. }) => {
            assert_eq!(traffic_class, exact(0x01, 0xfd));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dscp_and_ipv6_fields() {
    let v4 = corpus_plan(30); // ipv4 dscp 46, ttl 1
    assert_eq!(
        v4.matcher.outer.l3,
        Some(L3Match::Ip4 {
            src: None,
            dst: None,
            next_proto: None,
            ttl: exact(1, 0xff),
            dscp_ecn: exact(46 << 2, 0xfc),
        })
    );
    let v6 = corpus_plan(31); // ipv6 dscp 0x20/0x38, hop limit 1, proto 17
    match v6.matcher.outer.l3 {
        Some(L3Match::Ip6 {
            traffic_class,
            hop_limit,
            next_proto,
            ..
        }) => {
            assert_eq!(traffic_class, exact(0x80, 0xe0));
            assert_eq!(hop_limit, exact(1, 0xff));
            assert_eq!(next_proto, exact(17, 0xff));
        }
        other => panic!("{other:?}"),
    }
    let snat6 = corpus_plan(22); // set_ipv6_src + set_tp_src (udp) + dec_ttl
    assert_eq!(snat6.actions.dec_ttl, Some(DecTtl::Ipv6));
    assert_eq!(DecTtl::Ipv6.field_string(), "outer.ipv6.hop_limit");
    assert_eq!(
        snat6.actions.rewrite.l3,
        Some(L3Rewrite::Ip6 {
            src: Some([
                Be32([0xfd, 0x00, 0x01, 0x00]),
                Be32([0; 4]),
                Be32([0; 4]),
                Be32([0, 0, 0, 10]),
            ]),
            dst: None,
        })
    );
    assert_eq!(
        snat6.actions.rewrite.l4.map(|l4| l4.proto),
        Some(L4Proto::Udp)
    );
}

#[test]
fn decap_then_rewrite_acts_on_the_inner_headers() {
    let p = corpus_plan(49); // decap + SNAT of the inner TCP + dec_ttl
    assert!(p.actions.decap.is_some());
    assert_eq!(p.actions.dec_ttl, Some(DecTtl::Ipv4));
    assert_eq!(
        p.actions.rewrite.l4,
        Some(L4Rewrite {
            proto: L4Proto::Tcp,
            src_port: Some(Be16::new(80)),
            dst_port: None,
        })
    );
    assert!(matches!(p.matcher.inner.l4, Some(L4Match::Tcp { .. })));
}

#[test]
fn metadata_tags_and_marks() {
    // Transfer: meta match + set_tag 0 + jump.
    let tag = corpus_plan(23);
    assert_eq!(tag.matcher.pkt_meta, exact(1, 0xff));
    assert_eq!(tag.actions.scratch[0], exact(0x1234, 0xffff));
    assert_eq!(tag.fwd, FwdPlan::Pipe { group: 4 });
    // Tag 0 match in group 4.
    assert_eq!(corpus_plan(41).matcher.scratch[0], exact(0x1234, u32::MAX));
    // Ingress: mark + set_meta + jump.
    let mark = corpus_plan(68);
    assert_eq!(mark.actions.mark, Some(42));
    assert_eq!(mark.actions.pkt_meta, exact(0xcafe, u32::MAX));
    assert!(mark.is_root);
    // Ingress set_tag 3 with no fate.
    let set_tag = corpus_plan(70);
    assert_eq!(set_tag.actions.scratch[3], exact(0x0001_0000, 0xffff_0000));
    assert_eq!(set_tag.fwd, FwdPlan::None);
    // Egress set_meta under a one-bit mask.
    let egress = corpus_plan(72);
    assert_eq!(egress.actions.pkt_meta, exact(1, 1));
    assert_eq!(egress.fwd, FwdPlan::None);
}

#[test]
fn queue_rss_and_age() {
    let q = corpus_plan(63);
    assert_eq!(
        q.fwd,
        FwdPlan::Rss(RssPlan {
            queues: vec![3],
            outer_flags: RssFlags::IPV4 | RssFlags::IPV6,
            inner_flags: RssFlags::default(),
        })
    );
    let icmp6 = corpus_plan(71);
    assert_eq!(icmp6.monitor.aging_sec, Some(60));
    assert!(matches!(
        icmp6.matcher.outer.l4,
        Some(L4Match::Icmp6 { .. })
    ));
    let rss = Rule::ingress()
        .item(Item::eth())
        .item(Item::ipv4())
        .action(Action::Rss(
            RssAction::queues([0, 1])
                .types([RssType::Ipv4, RssType::Ipv4Udp])
                .level(2),
        ));
    assert_eq!(
        plan(&rss).fwd,
        FwdPlan::Rss(RssPlan {
            queues: vec![0, 1],
            outer_flags: RssFlags::default(),
            inner_flags: RssFlags::IPV4 | RssFlags::UDP,
        })
    );
}

/// A raw decap with an empty buffer (the pattern fixes the headers) is
/// DOCA's plain L2 decap, like one with a header template.
#[test]
fn decap_of_the_matched_headers() {
    for (index, vf) in [(86, 4), (87, 5)] {
        let p = corpus_plan(index);
        assert_eq!(
            p.actions.decap,
            corpus_plan(49).actions.decap,
            "rule {index}"
        );
        assert!(p.actions.decap.is_some(), "rule {index}");
        assert_eq!(
            p.fwd,
            FwdPlan::Port {
                port_id: vf_rep(vf)
            }
        );
    }
}

/// testpmd's default RSS types (`types` omitted, RTE_ETH_RSS_IP) and the
/// type groups map to DOCA's IPv4/IPv6 (+ TCP or UDP) bits.
#[test]
fn rss_default_types_and_groups() {
    assert_eq!(
        corpus_plan(83).fwd,
        FwdPlan::Rss(RssPlan {
            queues: vec![2, 3],
            outer_flags: RssFlags::IPV4 | RssFlags::IPV6,
            inner_flags: RssFlags::default(),
        })
    );
    let rss = |a: RssAction| {
        DocaPlan::from_rule(&Rule::ingress().item(Item::eth()).action(Action::Rss(a)))
            .map(|p| p.fwd)
    };
    assert_eq!(
        rss(RssAction::queues([0]).types([RssType::Tcp])),
        Ok(FwdPlan::Rss(RssPlan {
            queues: vec![0],
            outer_flags: RssFlags::IPV4 | RssFlags::IPV6 | RssFlags::TCP,
            inner_flags: RssFlags::default(),
        }))
    );
    assert_eq!(
        rss(RssAction::queues([0]).types([RssType::Ipv6UdpEx]).level(2)),
        Ok(FwdPlan::Rss(RssPlan {
            queues: vec![0],
            outer_flags: RssFlags::default(),
            inner_flags: RssFlags::IPV6 | RssFlags::UDP,
        }))
    );
    assert_eq!(
        rss(RssAction::queues([0]).types([RssType::Tcp, RssType::Udp])),
        Err(action_gap(0, ActionKind::Rss, Unsupported::RssTcpAndUdp))
    );
    assert_eq!(
        rss(RssAction::queues([0]).types([RssType::All])),
        Err(action_gap(
            0,
            ActionKind::Rss,
            Unsupported::RssType(RssType::All)
        ))
    );
}

#[test]
fn meter_maps_to_a_shared_meter() {
    let rule = Rule::transfer()
        .group(1)
        .item(EthMatch::any().src(POD_MAC))
        .actions([Action::Meter(7), Action::RepresentedPort(UPLINK)]);
    let p = plan(&rule);
    assert_eq!(p.monitor.shared_meter_id, Some(7));
    assert_eq!(
        p.pipe_key().template().monitor.shared_meter_id,
        Some(u32::MAX)
    );
}

#[test]
fn encap_vlan_and_vxlan() {
    let vlan = corpus_plan(18);
    let Some(e) = &vlan.actions.encap else {
        panic!("no encap")
    };
    assert_eq!(e.eth_type, Be16([0x81, 0x00]));
    assert_eq!(e.vlan_tci, Some(Be16::new((5 << 13) | 300)));
    let vxlan = corpus_plan(17);
    let Some(e) = &vxlan.actions.encap else {
        panic!("no encap")
    };
    assert_eq!(
        e.tun,
        EncapTun::Vxlan {
            vni: Be32::new(4096 << 8)
        }
    );
    assert_eq!(e.udp_dst, Be16::new(4789));
    let v6 = corpus_plan(16);
    assert!(matches!(
        v6.actions.encap.as_ref().map(|e| e.ip),
        Some(EncapIp::V6 { hop_limit: 64, .. })
    ));
}

// ------------------------------------------------------------ gaps

#[test]
fn documented_gaps_outside_the_corpus() {
    let gap = |r: Rule| DocaPlan::from_rule(&r).err();
    // Tag register 7 has no scratch word.
    assert_eq!(
        gap(Rule::ingress()
            .item(Item::Tag {
                index: 7,
                data: Masked::exact(1),
            })
            .action(Action::Drop)),
        Some(item_gap(
            0,
            ItemKind::Tag,
            Unsupported::TagIndexWithoutScratchWord
        ))
    );
    assert_eq!(
        gap(Rule::ingress().item(Item::eth()).actions([
            Action::SetTag {
                index: 7,
                data: 1,
                mask: 1
            },
            Action::Drop
        ])),
        Some(action_gap(
            0,
            ActionKind::SetTag,
            Unsupported::TagIndexWithoutScratchWord
        ))
    );
    // EtherType of a tagged frame.
    assert_eq!(
        gap(Rule::transfer()
            .item(EthMatch::any().ether_type(0x8100))
            .item(VlanMatch::any().vid(5))
            .action(Action::Drop)),
        Some(item_gap(
            0,
            ItemKind::Eth,
            Unsupported::EtherTypeOfTaggedFrame
        ))
    );
    // A rewrite before the decap.
    let mut before = uplink_decap_to_vf();
    before.actions.insert(0, Action::SetMacDst(GW_MAC));
    assert_eq!(
        gap(before),
        Some(action_gap(
            2,
            ActionKind::RawDecap,
            Unsupported::RewriteBeforeDecap
        ))
    );
    // Push then pop.
    assert_eq!(
        gap(Rule::transfer()
            .item(Item::eth())
            .item(Item::vlan())
            .actions([
                Action::PushVlan { ether_type: 0x8100 },
                Action::SetVlanVid(3),
                Action::PopVlan,
                Action::Drop,
            ])),
        Some(action_gap(
            2,
            ActionKind::PopVlan,
            Unsupported::VlanActionOrder
        ))
    );
    // GENEVE options: 19 words fit one encap, 20 do not.
    let encap = |words: usize| {
        Rule::transfer().item(Item::eth()).actions([
            Action::RawEncap(
                TunnelEncap::geneve_v4(NODE_MAC, GW_MAC, LOCAL_TEP, REMOTE_TEP, 1, 1).with_option(
                    GeneveOption {
                        class: 1,
                        option_type: 1,
                        data: vec![0; words],
                    },
                ),
            ),
            Action::RepresentedPort(UPLINK),
        ])
    };
    assert_eq!(gap(encap(18)), None);
    assert_eq!(
        gap(encap(19)),
        Some(action_gap(
            0,
            ActionKind::RawEncap,
            Unsupported::EncapGeneveOptionsTooLong
        ))
    );
    // An invalid rule is reported as such.
    assert!(matches!(
        gap(Rule::transfer().item(Item::eth()).action(Action::Count)),
        Some(DocaMapError::Invalid(_))
    ));
}

#[test]
fn errors_name_the_item_or_action() {
    let rules = corpus();
    let text = |i: usize| match DocaPlan::from_rule(&rules[i]) {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    };
    assert!(text(9).starts_with("action 1 (port_representor) has no DOCA Flow 2.7 mapping"));
    assert!(text(59).starts_with("pattern item 0 (port_representor)"));
    assert!(text(20).contains("0x8100"));
    assert_eq!(
        DocaPlan::from_rule(&rules[65])
            .err()
            .and_then(|e| e.reason()),
        Some(Unsupported::RssKey)
    );
}

/// DOCA Flow's `doca_flow_header_icmp` has `ident`: a ping session's rule
/// maps with its identifier, value and mask in wire order.
#[test]
fn icmp_echo_identifier_maps_to_icmp_ident() {
    let rules = corpus();
    // The masked ping-session rule.
    let last = 89;
    let plan = corpus_plan(last);
    assert_eq!(
        plan.matcher.outer.l4,
        Some(L4Match::Icmp {
            icmp_type: exact(0, 0xff),
            code: None,
            ident: exact(Be16::new(0x1200), Be16::new(0xff00)),
        }),
        "{}",
        rules[last]
    );
}

/// Every rule shape the offload manager installs maps to DOCA Flow 2.7
/// (one pipe entry each) — the twelve connection shapes and the base
/// group-0 jump; the base miss to software is a pipe's miss path in DOCA
/// (a gap listed above).
#[test]
fn every_offload_shape_maps() {
    let shapes = dpuflow_flow_testkit::corpus::offload_shapes();
    assert_eq!(shapes.len(), 14);
    for (name, rule) in shapes
        .iter()
        .filter(|(n, _)| *n != "base: miss to software")
    {
        if let Err(e) = DocaPlan::from_rule(rule) {
            panic!("{name}: {rule}: {e}");
        }
    }
    // The corpus ends with them: the gaps above are all earlier rules.
    let rules = corpus();
    assert_eq!(&rules[rules.len() - shapes.len()..][0], &shapes[0].1);
}
