//! Every shape `rule_for` emits validates; every refusal names its reason.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dpuflow_conntrack::{ConnId, Dir, FlowKey};
use dpuflow_engine::offload::{Treatment, TunnelIn};
use dpuflow_flow::{Action, ActionKind, Item, ItemKind, Masked, Rule};
use dpuflow_net::MacAddr;
use dpuflow_packet::edit::Encap;
use dpuflow_packet::{OvnKeys, Vlan};

use super::*;

pub(crate) const UPLINK: u16 = 0;
pub(crate) const POD_A: u16 = 2;
pub(crate) const POD_B: u16 = 3;

pub(crate) const POD_A_MAC: MacAddr = MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x05);
pub(crate) const POD_B_MAC: MacAddr = MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x06);
pub(crate) const RTR_MAC: MacAddr = MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01);
pub(crate) const UPLINK_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0x01);
pub(crate) const FABRIC_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0xfe);

pub(crate) fn settings() -> RuleSettings {
    RuleSettings {
        transfer_ports: vec![UPLINK, 1, POD_A, POD_B],
    }
}

pub(crate) fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

pub(crate) fn key(proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> FlowKey {
    FlowKey {
        zone: 0,
        proto,
        src,
        dst,
        sport,
        dport,
    }
}

/// Pod A (10.244.1.5:40000) to pod B (10.244.2.6:80), routed.
pub(crate) fn routed_tcp() -> Treatment {
    Treatment {
        conn: ConnId { index: 7, gen: 1 },
        dir: Dir::Forward,
        in_port: POD_A,
        vlan_in: None,
        tunnel_in: None,
        eth_in: (POD_A_MAC, RTR_MAC),
        key: key(6, v4(10, 244, 1, 5), 40000, v4(10, 244, 2, 6), 80),
        ttl_in: 64,
        hop: true,
        nat: None,
        macs: Some((RTR_MAC, POD_B_MAC)),
        encap: None,
        vlan_out: None,
        out_port: POD_B,
    }
}

pub(crate) fn encap_v4() -> Encap {
    Encap {
        src_mac: UPLINK_MAC,
        dst_mac: FABRIC_MAC,
        vlan: None,
        src_ip: v4(192, 168, 100, 10),
        dst_ip: v4(192, 168, 100, 11),
        udp_src_port: 51234,
        vni: 0x00ff_0003,
        ovn: Some(OvnKeys {
            ingress: 3,
            egress: 2,
        }),
    }
}

pub(crate) fn tunnel_in() -> TunnelIn {
    TunnelIn {
        outer_src_mac: FABRIC_MAC,
        outer_dst_mac: UPLINK_MAC,
        src_ip: v4(192, 168, 100, 11),
        dst_ip: v4(192, 168, 100, 10),
        vni: 0x00ff_0003,
        keys: OvnKeys {
            ingress: 2,
            egress: 3,
        },
    }
}

fn valid(t: &Treatment) -> Rule {
    let rule = rule_for(t, &settings(), Some(30)).expect("eligible");
    if let Err(e) = rule.validate() {
        panic!("{rule}: {e}");
    }
    rule
}

fn kinds(rule: &Rule) -> (Vec<ItemKind>, Vec<ActionKind>) {
    (
        rule.pattern.iter().map(Item::kind).collect(),
        rule.actions.iter().map(Action::kind).collect(),
    )
}

#[test]
fn routed_tcp_matches_the_tuple_ttl_and_non_control_segments() {
    let rule = valid(&routed_tcp());
    assert_eq!(rule.attr.group, CONNECTION_GROUP);
    assert_eq!(rule.attr.priority, CONNECTION_PRIORITY);
    use ActionKind as A;
    use ItemKind as I;
    assert_eq!(
        kinds(&rule),
        (
            vec![I::RepresentedPort, I::Eth, I::Ipv4, I::Tcp],
            vec![
                A::DecTtl,
                A::SetMacSrc,
                A::SetMacDst,
                A::Count,
                A::Age,
                A::RepresentedPort
            ]
        )
    );
    let Item::Ipv4(ip) = &rule.pattern[2] else {
        panic!("{rule}")
    };
    assert_eq!(ip.ttl, Some(Masked::exact(64)));
    assert_eq!(ip.src, Some(Masked::exact(Ipv4Addr::new(10, 244, 1, 5))));
    let Item::Tcp(tcp) = &rule.pattern[3] else {
        panic!("{rule}")
    };
    assert_eq!(tcp.flags, Some(Masked::new(0, 0x07)));
    assert_eq!(tcp.src_port, Some(Masked::exact(40000)));
    assert_eq!(rule.actions.last(), Some(&Action::RepresentedPort(POD_B)));
    assert!(rule.actions.contains(&Action::Age { timeout: 30 }));
}

#[test]
fn switched_traffic_neither_decrements_nor_matches_the_ttl() {
    let t = Treatment {
        hop: false,
        macs: None,
        ..routed_tcp()
    };
    let rule = valid(&t);
    let Item::Ipv4(ip) = &rule.pattern[2] else {
        panic!("{rule}")
    };
    assert_eq!(ip.ttl, None);
    assert_eq!(
        kinds(&rule).1,
        vec![
            ActionKind::Count,
            ActionKind::Age,
            ActionKind::RepresentedPort
        ]
    );
}

#[test]
fn no_age_action_without_an_age() {
    let rule = rule_for(&routed_tcp(), &settings(), None).expect("eligible");
    assert!(!kinds(&rule).1.contains(&ActionKind::Age));
    let clamped = rule_for(&routed_tcp(), &settings(), Some(0)).expect("eligible");
    assert!(clamped.actions.contains(&Action::Age { timeout: 1 }));
    assert!(clamped.validate().is_ok());
}

#[test]
fn v6_udp_matches_hop_limit() {
    let a = IpAddr::V6(Ipv6Addr::new(0xfd00, 0x10, 0x244, 1, 0, 0, 0, 5));
    let b = IpAddr::V6(Ipv6Addr::new(0xfd00, 0x10, 0x244, 2, 0, 0, 0, 6));
    let t = Treatment {
        key: key(17, a, 5353, b, 53),
        ttl_in: 255,
        ..routed_tcp()
    };
    let rule = valid(&t);
    let Item::Ipv6(ip) = &rule.pattern[2] else {
        panic!("{rule}")
    };
    assert_eq!(ip.hop_limit, Some(Masked::exact(255)));
    assert_eq!(rule.pattern[3].kind(), ItemKind::Udp);
}

#[test]
fn icmp_echo_matches_type_and_identifier_per_direction() {
    let t = Treatment {
        key: key(1, v4(10, 244, 1, 5), 0x1234, v4(10, 244, 2, 6), 0x1234),
        ..routed_tcp()
    };
    let Item::Icmp(req) = valid(&t).pattern[3].clone() else {
        panic!("icmp")
    };
    assert_eq!(req.icmp_type, Some(Masked::exact(8)));
    assert_eq!(req.ident, Some(Masked::exact(0x1234)));
    let reply = Treatment {
        dir: Dir::Reply,
        ..t
    };
    let Item::Icmp(rep) = valid(&reply).pattern[3].clone() else {
        panic!("icmp")
    };
    assert_eq!(rep.icmp_type, Some(Masked::exact(0)));
}

#[test]
fn pod_to_remote_encapsulates_after_the_inner_rewrites() {
    for ip6 in [false, true] {
        let mut encap = encap_v4();
        if ip6 {
            encap.src_ip = IpAddr::V6(Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0, 10));
            encap.dst_ip = IpAddr::V6(Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0, 11));
        }
        let t = Treatment {
            encap: Some(encap),
            out_port: UPLINK,
            ..routed_tcp()
        };
        let rule = valid(&t);
        use ActionKind as A;
        assert_eq!(
            kinds(&rule).1,
            vec![
                A::DecTtl,
                A::SetMacSrc,
                A::SetMacDst,
                A::RawEncap,
                A::Count,
                A::Age,
                A::RepresentedPort
            ],
            "{rule}"
        );
    }
}

#[test]
fn remote_to_pod_matches_the_tunnel_and_decapsulates_first() {
    let t = Treatment {
        in_port: UPLINK,
        tunnel_in: Some(tunnel_in()),
        eth_in: (
            MacAddr::new(0x0a, 0x58, 0x64, 0x58, 0, 2),
            MacAddr::new(0x0a, 0x58, 0x64, 0x58, 0, 3),
        ),
        key: key(6, v4(10, 244, 2, 6), 80, v4(10, 244, 1, 5), 40000),
        ttl_in: 63,
        macs: Some((RTR_MAC, POD_A_MAC)),
        out_port: POD_A,
        ..routed_tcp()
    };
    let rule = valid(&t);
    use ActionKind as A;
    use ItemKind as I;
    assert_eq!(
        kinds(&rule),
        (
            vec![
                I::RepresentedPort,
                I::Eth,
                I::Ipv4,
                I::Udp,
                I::Geneve,
                I::GeneveOpt,
                I::Eth,
                I::Ipv4,
                I::Tcp
            ],
            vec![
                A::RawDecap,
                A::DecTtl,
                A::SetMacSrc,
                A::SetMacDst,
                A::Count,
                A::Age,
                A::RepresentedPort
            ]
        )
    );
    let Item::GeneveOpt(opt) = &rule.pattern[5] else {
        panic!("{rule}")
    };
    assert_eq!(opt.data, vec![Masked::exact(2 << 16 | 3)]);
    let Item::Geneve(g) = &rule.pattern[4] else {
        panic!("{rule}")
    };
    assert_eq!(g.vni, Some(Masked::new(0x00ff_0003, 0x00ff_ffff)));
    // A tagged underlay: the tag is matched outside and decapsulated with
    // the rest of the outer headers.
    let tagged = Treatment {
        vlan_in: Some(Vlan { vid: 100, pcp: 0 }),
        ..t
    };
    let rule = valid(&tagged);
    assert_eq!(rule.pattern[2].kind(), ItemKind::Vlan);
    assert!(!kinds(&rule).1.contains(&ActionKind::PopVlan));
}

#[test]
fn cluster_ip_dnat_and_its_reply_rewrite_only_what_changed() {
    let vip = v4(10, 96, 0, 10);
    let client = v4(10, 244, 1, 5);
    let backend = v4(10, 244, 2, 6);
    let dnat = Treatment {
        key: key(17, client, 33000, vip, 53),
        nat: Some(key(17, client, 33000, backend, 5353)),
        ..routed_tcp()
    };
    let rule = valid(&dnat);
    assert_eq!(
        rule.actions[1..3],
        [
            Action::SetIpv4Dst(Ipv4Addr::new(10, 244, 2, 6)),
            Action::SetTpDst(5353)
        ]
    );
    let reply = Treatment {
        dir: Dir::Reply,
        key: key(17, backend, 5353, client, 33000),
        nat: Some(key(17, vip, 53, client, 33000)),
        ..routed_tcp()
    };
    let rule = valid(&reply);
    assert_eq!(
        rule.actions[1..3],
        [
            Action::SetIpv4Src(Ipv4Addr::new(10, 96, 0, 10)),
            Action::SetTpSrc(53)
        ]
    );
}

#[test]
fn gateway_vlans_are_popped_and_pushed() {
    let node = v4(172, 18, 0, 2);
    let outside = v4(172, 18, 0, 100);
    let pod = v4(10, 244, 1, 5);
    let egress = Treatment {
        key: key(6, pod, 40000, outside, 443),
        nat: Some(key(6, node, 61000, outside, 443)),
        vlan_out: Some(Vlan { vid: 42, pcp: 3 }),
        out_port: UPLINK,
        ..routed_tcp()
    };
    let rule = valid(&egress);
    let acts = kinds(&rule).1;
    let push = acts.iter().position(|k| *k == ActionKind::PushVlan);
    assert!(push.is_some(), "{rule}");
    assert!(rule.actions.contains(&Action::SetVlanVid(42)));
    assert!(rule.actions.contains(&Action::SetVlanPcp(3)));
    let ingress = Treatment {
        in_port: UPLINK,
        vlan_in: Some(Vlan { vid: 42, pcp: 0 }),
        key: key(6, outside, 50000, node, 30080),
        nat: Some(key(6, outside, 50000, pod, 8080)),
        out_port: POD_A,
        ..routed_tcp()
    };
    let rule = valid(&ingress);
    assert_eq!(rule.pattern[2].kind(), ItemKind::Vlan);
    assert_eq!(rule.actions[0], Action::PopVlan);
}

#[test]
fn a_tag_pushed_on_a_tunnel_frame_goes_into_the_encapsulation() {
    let t = Treatment {
        encap: Some(encap_v4()),
        vlan_out: Some(Vlan { vid: 7, pcp: 0 }),
        out_port: UPLINK,
        ..routed_tcp()
    };
    let rule = valid(&t);
    let Some(Action::RawEncap(e)) = rule
        .actions
        .iter()
        .find(|a| a.kind() == ActionKind::RawEncap)
    else {
        panic!("{rule}")
    };
    assert_eq!(e.vlan.map(|v| v.vid), Some(7));
    assert!(!kinds(&rule).1.contains(&ActionKind::PushVlan));
    let mut tagged = encap_v4();
    tagged.vlan = Some(Vlan { vid: 8, pcp: 0 });
    let twice = Treatment {
        encap: Some(tagged),
        ..t
    };
    assert_eq!(
        rule_for(&twice, &settings(), None),
        Err(NotEligible::DoubleVlan)
    );
}

#[test]
fn refusals_name_their_reason() {
    let s = settings();
    let outside = Treatment {
        out_port: 9,
        ..routed_tcp()
    };
    assert_eq!(
        rule_for(&outside, &s, None),
        Err(NotEligible::OutsideSwitchDomain { port: 9 })
    );
    let a = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let icmp6 = Treatment {
        key: key(58, a, 1, a, 1),
        ..routed_tcp()
    };
    assert_eq!(rule_for(&icmp6, &s, None), Err(NotEligible::Icmp6Echo));
    let gre = Treatment {
        key: key(47, v4(1, 1, 1, 1), 0, v4(2, 2, 2, 2), 0),
        ..routed_tcp()
    };
    assert_eq!(
        rule_for(&gre, &s, None),
        Err(NotEligible::NoPorts { proto: 47 })
    );
    let icmp = key(1, v4(10, 244, 1, 5), 7, v4(172, 18, 0, 100), 7);
    let icmp_nat = Treatment {
        key: icmp,
        nat: Some(FlowKey {
            src: v4(172, 18, 0, 2),
            sport: 9,
            dport: 9,
            ..icmp
        }),
        ..routed_tcp()
    };
    assert_eq!(
        rule_for(&icmp_nat, &s, None),
        Err(NotEligible::IcmpIdRewrite)
    );
    let expiring = Treatment {
        ttl_in: 1,
        ..routed_tcp()
    };
    assert_eq!(rule_for(&expiring, &s, None), Err(NotEligible::TtlExpired));
    let mixed = Treatment {
        key: key(6, v4(1, 1, 1, 1), 1, a, 2),
        ..routed_tcp()
    };
    assert_eq!(rule_for(&mixed, &s, None), Err(NotEligible::FamilyMismatch));
}

/// The header bytes `encap_geneve` writes in front of `inner`, with the
/// fields the NIC fills on encapsulation zeroed (IPv4 total length,
/// identification, checksum; UDP length and checksum; IPv6 payload length).
fn software_encap_header(e: &Encap, inner: &[u8]) -> Vec<u8> {
    let mut frame = dpuflow_packet::VecFrame::with_room(inner, 128, 0);
    let outer = dpuflow_packet::edit::encap::encap_geneve(&mut frame, e).expect("encap");
    let mut h = dpuflow_packet::Frame::bytes(&frame)[..outer].to_vec();
    let l3 = if e.vlan.is_some() { 18 } else { 14 };
    let udp = match e.src_ip {
        IpAddr::V4(_) => {
            for i in [2, 3, 4, 5, 10, 11] {
                h[l3 + i] = 0;
            }
            l3 + 20
        }
        IpAddr::V6(_) => {
            h[l3 + 4] = 0;
            h[l3 + 5] = 0;
            l3 + 40
        }
    };
    for b in &mut h[udp + 4..udp + 8] {
        *b = 0;
    }
    h
}

#[test]
fn raw_encap_writes_the_software_paths_geneve_header() {
    let inner: Vec<u8> = (0..98u8).collect();
    let mut tagged = encap_v4();
    tagged.vlan = Some(Vlan { vid: 100, pcp: 5 });
    let mut v6 = encap_v4();
    v6.src_ip = IpAddr::V6(Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0, 10));
    v6.dst_ip = IpAddr::V6(Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0, 11));
    let no_option = Encap {
        ovn: None,
        ..encap_v4()
    };
    for e in [encap_v4(), tagged, v6, no_option] {
        let ours = tunnel_encap(&e).expect("one family").encap_bytes();
        assert_eq!(ours, software_encap_header(&e, &inner), "{e:?}");
    }
    // The OVN header as captured between two real OVN zones: C flag set.
    let ours = tunnel_encap(&encap_v4()).expect("v4").encap_bytes();
    assert_eq!(
        ours[42..50],
        [0x02, 0x40, 0x65, 0x58, 0xff, 0x00, 0x03, 0x00]
    );
}
