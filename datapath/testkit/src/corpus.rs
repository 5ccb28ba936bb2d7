//! A corpus of valid rules shaped like OVN-Kubernetes DPU offloads, covering
//! every pattern item and action of the model, for backend cross-checks
//! (testpmd parser vs rte_flow compiler, DOCA Flow, software classifier).
//!
//! Port layout assumed by the corpus (transfer rules are created on the
//! switch proxy port): ethdev 0 = uplink (physical port representor),
//! ethdev 1 = host PF representor, ethdev 2.. = pod VF representors.
//!
//! The last rules are the shapes of connection rules the offload manager
//! installs ([`offload_shapes`]: `rule_for` of hand-made treatments, group
//! 1 priority 0).
//!
//! Groups: transfer group 0 classifies by source port and jumps; group 1
//! handles pod egress (policy, DNAT/SNAT, Geneve encap); group 2 handles
//! Geneve ingress from the fabric (decap to the pod); group 3 VXLAN;
//! group 4 post-DNAT forwarding. Ingress/egress rules model the NIC
//! domain of the proxy port (slow path to the OVS/OVN agent).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dpuflow_conntrack::{ConnId, Dir, FlowKey};
use dpuflow_engine::offload::{Treatment, TunnelIn};
use dpuflow_offload::rules::{base_rules, rule_for, RuleSettings};
use dpuflow_packet::edit::Encap;
use dpuflow_packet::{OvnKeys, Vlan};

use dpuflow_flow::action::{Action, RssAction, RssType};
use dpuflow_flow::field::{MacAddr, Masked};
use dpuflow_flow::item::{
    EthMatch, GeneveMatch, GeneveOptMatch, Icmp6Match, IcmpMatch, Ipv4Match, Ipv6Match, Item,
    TcpMatch, UdpMatch, VlanMatch, VxlanMatch,
};
use dpuflow_flow::rule::Rule;
use dpuflow_flow::tunnel::{
    DecapTunnel, GeneveOption, IpVersion, RawDecap, TunnelDecap, TunnelEncap,
    GENEVE_PROTO_ETHERNET, GENEVE_UDP_PORT, OVN_GENEVE_CLASS, OVN_GENEVE_TYPE, VXLAN_UDP_PORT,
};

/// Ethdev port id of the uplink representor.
pub const UPLINK: u16 = 0;
/// Ethdev port id of the host PF representor.
pub const HOST_PF: u16 = 1;

/// Ethdev port id of pod VF representor `n`.
pub const fn vf_rep(n: u16) -> u16 {
    n.saturating_add(2)
}

const NODE_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0x01);
const GW_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0xfe);
const ROUTER_MAC: MacAddr = MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01);

fn pod_mac(n: u8) -> MacAddr {
    MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, n)
}

fn pod_ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 244, 1, n)
}

fn pod_ip6(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0x10, 0x244, 1, 0, 0, 0, n)
}

const LOCAL_TEP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 10);
const REMOTE_TEP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 11);
const LOCAL_TEP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0, 10);
const REMOTE_TEP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0, 11);
const NODE_IP: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 2);
const DNS_VIP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
const WEB_VIP: Ipv4Addr = Ipv4Addr::new(10, 96, 12, 34);
const WEB_VIP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x10, 0x96, 0, 0, 0, 0x12, 0x34);

/// OVN's Geneve option word: ingress logical port key << 16 | egress key.
fn ovn_opt_word(ingress: u16, egress: u16) -> u32 {
    (u32::from(ingress & 0x7fff) << 16) | u32::from(egress)
}

fn geneve_encap(vni: u32, remote: Ipv4Addr, opt: u32) -> TunnelEncap {
    TunnelEncap::geneve_v4(NODE_MAC, GW_MAC, LOCAL_TEP, remote, 49152, vni)
        .with_option(GeneveOption::ovn(opt))
}

fn geneve_decap_opt() -> TunnelDecap {
    TunnelDecap {
        vlan: false,
        ip: IpVersion::V4,
        tunnel: DecapTunnel::Geneve { option_words: 2 },
    }
}

fn geneve_outer_v4() -> Vec<Item> {
    vec![
        EthMatch::any().dst(NODE_MAC).into(),
        Ipv4Match::any().dst(LOCAL_TEP).proto(17).into(),
        UdpMatch::any().dst_port(GENEVE_UDP_PORT).into(),
    ]
}

fn ovn_opt_match(egress: u16) -> Item {
    Item::GeneveOpt(GeneveOptMatch {
        class: OVN_GENEVE_CLASS,
        option_type: OVN_GENEVE_TYPE,
        length: 1,
        data: vec![Masked::new(u32::from(egress), 0x0000_ffff)],
    })
}

/// At least 60 valid rules covering every item and action.
pub fn corpus() -> Vec<Rule> {
    let mut out = Vec::with_capacity(96);
    out.extend(root_classifiers());
    out.extend(pod_egress());
    out.extend(policy_drops());
    out.extend(service_nat());
    out.extend(geneve_ingress());
    out.extend(vxlan_and_vlan());
    out.extend(slow_path());
    out.extend(nic_domain());
    out.extend(tos_and_traffic_class());
    out.extend(rss_forms());
    out.extend(decap_what_was_matched());
    out.extend(icmp_echo_sessions());
    out.extend(offload_shapes().into_iter().map(|(_, rule)| rule));
    out
}

/// Transfer group 0: classify by source port.
fn root_classifiers() -> Vec<Rule> {
    let mut out: Vec<Rule> = (0..4)
        .map(|n| {
            Rule::transfer()
                .priority(1)
                .item(Item::RepresentedPort(vf_rep(n)))
                .item(Item::eth())
                .actions([Action::Count, Action::Jump(1)])
        })
        .collect();
    out.push(
        Rule::transfer()
            .priority(1)
            .item(Item::RepresentedPort(UPLINK))
            .pattern(geneve_outer_v4())
            .item(GeneveMatch::any().protocol(GENEVE_PROTO_ETHERNET))
            .action(Action::Jump(2)),
    );
    out.push(
        Rule::transfer()
            .priority(1)
            .item(Item::RepresentedPort(UPLINK))
            .item(Item::eth())
            .item(Ipv6Match::any().dst(LOCAL_TEP6))
            .item(UdpMatch::any().dst_port(GENEVE_UDP_PORT))
            .item(Item::geneve())
            .action(Action::Jump(2)),
    );
    out.push(
        Rule::transfer()
            .priority(1)
            .item(Item::RepresentedPort(UPLINK))
            .item(Item::eth())
            .item(Item::ipv4())
            .item(UdpMatch::any().dst_port(VXLAN_UDP_PORT))
            .item(Item::vxlan())
            .action(Action::Jump(3)),
    );
    out.push(
        Rule::transfer()
            .priority(1)
            .item(Item::RepresentedPort(UPLINK))
            .item(Item::eth())
            .item(VlanMatch::any().vid(200))
            .action(Action::Jump(3)),
    );
    out.push(
        Rule::transfer()
            .priority(1)
            .item(Item::RepresentedPort(HOST_PF))
            .actions([Action::Count, Action::Jump(1)]),
    );
    out.push(
        Rule::transfer()
            .priority(15)
            .item(Item::RepresentedPort(UPLINK))
            .actions([Action::Count, Action::PortRepresentor(UPLINK)]),
    );
    out
}

/// Transfer group 1: pod egress forwarding and encapsulation.
fn pod_egress() -> Vec<Rule> {
    let mut out = Vec::new();
    for n in 0..4u8 {
        let remote = Ipv4Addr::new(10, 244, 2 + n, 0);
        out.push(
            Rule::transfer()
                .group(1)
                .priority(4)
                .item(EthMatch::any().src(pod_mac(10 + n)).dst(ROUTER_MAC))
                .item(Ipv4Match::any().src(pod_ip(10 + n)).dst_prefix(remote, 24))
                .actions([
                    Action::Count,
                    Action::DecTtl,
                    Action::RawEncap(geneve_encap(
                        1 + u32::from(n),
                        REMOTE_TEP,
                        ovn_opt_word(u16::from(n) + 3, 1),
                    )),
                    Action::Age { timeout: 300 },
                    Action::RepresentedPort(UPLINK),
                ]),
        );
    }
    out.push(
        Rule::transfer()
            .group(1)
            .priority(3)
            .item(EthMatch::any().src(pod_mac(10)))
            .item(Ipv4Match::any().src(pod_ip(10)).dst(pod_ip(11)))
            .actions([
                Action::SetMacSrc(ROUTER_MAC),
                Action::SetMacDst(pod_mac(11)),
                Action::DecTtl,
                Action::Count,
                Action::RepresentedPort(vf_rep(1)),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(3)
            .item(EthMatch::any().dst(pod_mac(12)))
            .actions([Action::Count, Action::RepresentedPort(vf_rep(2))]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(4)
            .item(Item::eth())
            .item(
                Ipv6Match::any()
                    .src_prefix(pod_ip6(0), 64)
                    .dst(pod_ip6(0x22)),
            )
            .actions([
                Action::Count,
                Action::RawEncap(
                    TunnelEncap::geneve_v6(NODE_MAC, GW_MAC, LOCAL_TEP6, REMOTE_TEP6, 50000, 7)
                        .with_option(GeneveOption::ovn(ovn_opt_word(3, 2))),
                ),
                Action::RepresentedPort(UPLINK),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(4)
            .item(Item::eth())
            .item(Ipv4Match::any().dst_prefix(Ipv4Addr::new(10, 250, 0, 0), 16))
            .actions([
                Action::RawEncap(TunnelEncap::vxlan_v4(
                    NODE_MAC, GW_MAC, LOCAL_TEP, REMOTE_TEP, 50001, 4096,
                )),
                Action::RepresentedPort(UPLINK),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(4)
            .item(Item::eth())
            .item(Ipv4Match::any().dst_prefix(Ipv4Addr::new(10, 251, 0, 0), 16))
            .actions([
                Action::RawEncap(geneve_encap(9, REMOTE_TEP, ovn_opt_word(5, 6)).with_vlan(300, 5)),
                Action::Count,
                Action::RepresentedPort(UPLINK),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(5)
            .item(EthMatch::any().src(pod_mac(20)))
            .item(Item::ipv4())
            .actions([
                Action::PushVlan { ether_type: 0x8100 },
                Action::SetVlanVid(100),
                Action::SetVlanPcp(3),
                Action::RepresentedPort(UPLINK),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(5)
            .item(EthMatch::any().src(pod_mac(21)))
            .actions([
                Action::PushVlan { ether_type: 0x88a8 },
                Action::SetVlanVid(4000),
                Action::Meter(1),
                Action::RepresentedPort(UPLINK),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(6)
            .item(Item::eth())
            .item(Ipv4Match::any().src_prefix(Ipv4Addr::new(10, 244, 1, 0), 24))
            .item(TcpMatch::any())
            .actions([
                Action::SetIpv4Src(NODE_IP),
                Action::SetTpSrc(32768),
                Action::SetMacDst(GW_MAC),
                Action::Count,
                Action::RepresentedPort(UPLINK),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(6)
            .item(Item::eth())
            .item(Ipv6Match::any().src_prefix(pod_ip6(0), 64))
            .item(UdpMatch::any())
            .actions([
                Action::SetIpv6Src(LOCAL_TEP6),
                Action::SetTpSrc(40000),
                Action::DecTtl,
                Action::RepresentedPort(UPLINK),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(7)
            .item(Item::Meta(Masked::new(0x0000_0001, 0x0000_00ff)))
            .actions([
                Action::SetTag {
                    index: 0,
                    data: 0x1234,
                    mask: 0xffff,
                },
                Action::Jump(4),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(20)
            .actions([Action::Count, Action::PortRepresentor(UPLINK)]),
    );
    out
}

/// Transfer group 1: network policy drops.
fn policy_drops() -> Vec<Rule> {
    vec![
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Item::ipv4())
            .item(TcpMatch::any().dst_port(22))
            .actions([Action::Count, Action::Drop]),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv4Match::any().dst(pod_ip(30)))
            .item(TcpMatch::any().dst_port_masked(0x1f00, 0xff00))
            .action(Action::Drop),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(
                Ipv4Match::any()
                    .src_masked(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(255, 0, 255, 255)),
            )
            .item(IcmpMatch::any().icmp_type(8).code(0))
            .actions([Action::Count, Action::Drop]),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv6Match::any().dst_prefix(pod_ip6(0x40), 120))
            .item(Icmp6Match::any().icmp_type(128))
            .action(Action::Drop),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv4Match::any().dst(pod_ip(31)))
            .item(TcpMatch::any().flags_masked(0x02, 0x12))
            .actions([Action::Count, Action::Drop]),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv4Match::any().dscp(46).ttl(1))
            .action(Action::Drop),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(
                Ipv6Match::any()
                    .dscp_masked(0x20, 0x38)
                    .hop_limit(1)
                    .proto(17),
            )
            .item(UdpMatch::any().src_port(1900))
            .action(Action::Drop),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(EthMatch::any().dst_masked(
                MacAddr::new(1, 0, 0, 0, 0, 0),
                MacAddr::new(1, 0, 0, 0, 0, 0),
            ))
            .item(Item::ipv4())
            .item(UdpMatch::any().dst_port_masked(5353, 0xffff))
            .actions([Action::Count, Action::Drop]),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(EthMatch::any().ether_type(0x86dd))
            .item(
                Ipv6Match::any()
                    .src(pod_ip6(0x66))
                    .dst(pod_ip6(0x67))
                    .proto(6),
            )
            .item(TcpMatch::any().src_port(1234).dst_port(80))
            .action(Action::Drop),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(EthMatch::any().ether_type(0x0800))
            .item(Ipv4Match::any().proto(6).src(pod_ip(40)).dst(pod_ip(41)))
            .item(TcpMatch::any().src_port(40000).dst_port(443))
            .actions([Action::Count, Action::Drop]),
    ]
}

/// Service load balancing (DNAT) and reply un-DNAT.
fn service_nat() -> Vec<Rule> {
    let mut out = Vec::new();
    for (i, backend) in [pod_ip(50), pod_ip(51), pod_ip(52)].into_iter().enumerate() {
        let sport_lo = u16::try_from(i).unwrap_or(0) << 14;
        out.push(
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
                    Action::SetMacDst(pod_mac(50 + u8::try_from(i).unwrap_or(0))),
                    Action::Jump(4),
                ]),
        );
    }
    out.push(
        Rule::transfer()
            .group(1)
            .priority(2)
            .item(Item::eth())
            .item(Ipv4Match::any().dst(DNS_VIP))
            .item(UdpMatch::any().dst_port(53))
            .actions([
                Action::SetIpv4Dst(pod_ip(53)),
                Action::SetTpDst(5353),
                Action::Count,
                Action::Jump(4),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(2)
            .item(Item::eth())
            .item(Ipv6Match::any().dst(WEB_VIP6))
            .item(TcpMatch::any().dst_port(443))
            .actions([
                Action::SetIpv6Dst(pod_ip6(0x50)),
                Action::SetTpDst(8443),
                Action::Jump(4),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(1)
            .priority(2)
            .item(Item::eth())
            .item(Ipv4Match::any().src(pod_ip(50)))
            .item(TcpMatch::any().src_port(8080))
            .actions([
                Action::SetIpv4Src(WEB_VIP),
                Action::SetTpSrc(80),
                Action::Jump(4),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(4)
            .priority(0)
            .item(Item::Tag {
                index: 0,
                data: Masked::exact(0x1234),
            })
            .actions([Action::Count, Action::RepresentedPort(vf_rep(3))]),
    );
    out.push(
        Rule::transfer()
            .group(4)
            .priority(1)
            .item(EthMatch::any().dst(pod_mac(50)))
            .actions([Action::Count, Action::RepresentedPort(vf_rep(0))]),
    );
    out.push(
        Rule::transfer()
            .group(4)
            .priority(2)
            .item(Item::eth())
            .item(Ipv4Match::any().dst_prefix(Ipv4Addr::new(10, 244, 2, 0), 23))
            .actions([
                Action::RawEncap(geneve_encap(1, REMOTE_TEP, ovn_opt_word(9, 1))),
                Action::RepresentedPort(UPLINK),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(4)
            .priority(9)
            .actions([Action::Count, Action::Drop]),
    );
    out
}

/// Transfer group 2: Geneve from the fabric to local pods.
fn geneve_ingress() -> Vec<Rule> {
    let mut out = Vec::new();
    for n in 0..4u16 {
        out.push(
            Rule::transfer()
                .group(2)
                .priority(1)
                .pattern(geneve_outer_v4())
                .item(GeneveMatch::any().vni(1))
                .item(ovn_opt_match(3 + n))
                .item(EthMatch::any().dst(pod_mac(10 + u8::try_from(n).unwrap_or(0))))
                .actions([
                    Action::Count,
                    Action::RawDecap(RawDecap::Headers(geneve_decap_opt())),
                    Action::RepresentedPort(vf_rep(n)),
                ]),
        );
    }
    out.push(
        Rule::transfer()
            .group(2)
            .priority(1)
            .pattern(geneve_outer_v4())
            .item(GeneveMatch::any().vni(1))
            .item(ovn_opt_match(8))
            .item(Item::eth())
            .item(Ipv4Match::any().src(pod_ip(50)))
            .item(TcpMatch::any().src_port(8080))
            .actions([
                Action::RawDecap(RawDecap::Headers(geneve_decap_opt())),
                Action::SetIpv4Src(WEB_VIP),
                Action::SetTpSrc(80),
                Action::DecTtl,
                Action::RepresentedPort(vf_rep(2)),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(2)
            .priority(2)
            .pattern(geneve_outer_v4())
            .item(GeneveMatch::any().vni_masked(0x10, 0xf0))
            .actions([
                Action::RawDecap(RawDecap::Headers(TunnelDecap::geneve_v4())),
                Action::SetMeta {
                    data: 0x10,
                    mask: 0xf0,
                },
                Action::Jump(4),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(2)
            .priority(2)
            .item(Item::eth())
            .item(Ipv6Match::any().dst(LOCAL_TEP6).src(REMOTE_TEP6))
            .item(Item::udp())
            .item(GeneveMatch::any().vni(7))
            .item(ovn_opt_match(2))
            .item(Item::eth())
            .item(Ipv6Match::any().dst(pod_ip6(0x22)))
            .actions([
                Action::RawDecap(RawDecap::Headers(TunnelDecap {
                    vlan: false,
                    ip: IpVersion::V6,
                    tunnel: DecapTunnel::Geneve { option_words: 2 },
                })),
                Action::SetIpv6Dst(pod_ip6(0x23)),
                Action::RepresentedPort(vf_rep(1)),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(2)
            .priority(3)
            .item(Item::eth())
            .item(VlanMatch::any().vid(300).pcp(5).inner_type(0x0800))
            .item(Ipv4Match::any().dst(LOCAL_TEP))
            .item(UdpMatch::any().dst_port(GENEVE_UDP_PORT))
            .item(GeneveMatch::any().vni(9))
            .actions([
                Action::RawDecap(RawDecap::Headers(TunnelDecap {
                    vlan: true,
                    ip: IpVersion::V4,
                    tunnel: DecapTunnel::Geneve { option_words: 0 },
                })),
                Action::RepresentedPort(vf_rep(3)),
            ]),
    );
    out.push(
        Rule::transfer()
            .group(2)
            .priority(10)
            .actions([Action::Count, Action::PortRepresentor(UPLINK)]),
    );
    out
}

/// Transfer group 3: VXLAN and VLAN ingress from the uplink.
fn vxlan_and_vlan() -> Vec<Rule> {
    vec![
        Rule::transfer()
            .group(3)
            .priority(1)
            .item(Item::eth())
            .item(Ipv4Match::any().dst(LOCAL_TEP))
            .item(UdpMatch::any().dst_port(VXLAN_UDP_PORT))
            .item(VxlanMatch::any().vni(4096))
            .item(EthMatch::any().dst(pod_mac(13)))
            .item(Item::ipv4())
            .item(Item::udp())
            .actions([
                Action::RawDecap(RawDecap::Headers(TunnelDecap::vxlan_v4())),
                Action::Count,
                Action::RepresentedPort(vf_rep(3)),
            ]),
        Rule::transfer()
            .group(3)
            .priority(1)
            .item(Item::eth())
            .item(VlanMatch::any().vid(200))
            .item(Ipv4Match::any().dst(pod_ip(20)))
            .actions([
                Action::PopVlan,
                Action::Count,
                Action::RepresentedPort(vf_rep(0)),
            ]),
        Rule::transfer()
            .group(3)
            .priority(1)
            .item(Item::eth())
            .item(VlanMatch::any().vid(200).pcp_masked(4, 4))
            .actions([
                Action::SetVlanVid(201),
                Action::SetVlanPcp(0),
                Action::RepresentedPort(vf_rep(1)),
            ]),
        Rule::transfer()
            .group(3)
            .priority(2)
            .item(Item::eth())
            .item(VlanMatch::any().vid_masked(0x100, 0xf00))
            .actions([
                Action::PopVlan,
                Action::PushVlan { ether_type: 0x8100 },
                Action::SetVlanVid(5),
                Action::RepresentedPort(vf_rep(2)),
            ]),
        Rule::transfer().group(3).priority(9).action(Action::Drop),
    ]
}

/// Exception path: packets to and from the application (OVS slow path).
fn slow_path() -> Vec<Rule> {
    vec![
        Rule::transfer()
            .priority(0)
            .item(Item::PortRepresentor(vf_rep(0)))
            .action(Action::RepresentedPort(vf_rep(0))),
        Rule::transfer()
            .priority(0)
            .item(Item::PortRepresentor(UPLINK))
            .item(Item::eth())
            .action(Action::RepresentedPort(UPLINK)),
        Rule::transfer()
            .group(1)
            .priority(1)
            .item(EthMatch::any().ether_type(0x0806))
            .actions([Action::Count, Action::PortRepresentor(UPLINK)]),
        Rule::transfer()
            .group(1)
            .priority(1)
            .item(EthMatch::any().dst(MacAddr::BROADCAST))
            .actions([Action::Mark(0xdead), Action::PortRepresentor(UPLINK)]),
    ]
}

/// NIC-domain rules on the proxy port (ingress to the app, egress from it).
fn nic_domain() -> Vec<Rule> {
    let rss =
        RssAction::queues([0, 1, 2, 3]).types([RssType::Ipv4, RssType::Ipv4Tcp, RssType::Ipv4Udp]);
    let rss6 = RssAction::queues([4, 5])
        .types([
            RssType::Ipv6,
            RssType::Ipv6Tcp,
            RssType::Ipv6Udp,
            RssType::L3SrcOnly,
            RssType::L4SrcOnly,
        ])
        .key(
            (0u8..40)
                .map(|b| b.wrapping_mul(37) ^ 0x6d)
                .collect::<Vec<u8>>(),
        )
        .level(1);
    let rss_inner = RssAction::queues([6, 7])
        .types([
            RssType::Ipv4Other,
            RssType::Ipv6Other,
            RssType::L3DstOnly,
            RssType::L4DstOnly,
        ])
        .level(2);
    vec![
        Rule::ingress()
            .item(Item::eth())
            .item(Ipv4Match::any().src_prefix(Ipv4Addr::new(10, 0, 0, 0), 24))
            .item(UdpMatch::any().dst_port(4789))
            .actions([Action::Count, Action::Queue(3)]),
        Rule::ingress()
            .priority(1)
            .item(Item::eth())
            .item(Item::ipv4())
            .actions([Action::Mark(7), Action::Rss(rss)]),
        Rule::ingress()
            .priority(1)
            .item(Item::eth())
            .item(Ipv6Match::any().dst_prefix(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0), 16))
            .item(Item::tcp())
            .action(Action::Rss(rss6)),
        Rule::ingress()
            .priority(2)
            .item(Item::eth())
            .item(Item::ipv4())
            .item(UdpMatch::any().dst_port(GENEVE_UDP_PORT))
            .item(Item::geneve())
            .action(Action::Rss(rss_inner)),
        Rule::ingress()
            .priority(3)
            .item(Item::Meta(Masked::exact(0xcafe)))
            .actions([Action::Count, Action::Queue(0)]),
        Rule::ingress()
            .priority(3)
            .item(EthMatch::any().src(pod_mac(99)))
            .actions([
                Action::Mark(42),
                Action::SetMeta {
                    data: 0xcafe,
                    mask: 0xffff_ffff,
                },
                Action::Jump(1),
            ]),
        Rule::ingress()
            .group(1)
            .item(Item::Mark(42))
            .item(Item::Tag {
                index: 3,
                data: Masked::new(0x0001_0000, 0xffff_0000),
            })
            .actions([Action::Count, Action::Queue(1)]),
        Rule::ingress().group(1).priority(1).actions([
            Action::SetTag {
                index: 3,
                data: 0x0001_0000,
                mask: 0xffff_0000,
            },
            Action::Count,
        ]),
        Rule::ingress()
            .priority(4)
            .item(Item::eth())
            .item(Item::ipv6())
            .item(Icmp6Match::any().icmp_type(135))
            .actions([Action::Count, Action::Queue(0), Action::Age { timeout: 60 }]),
        Rule::egress()
            .item(Item::eth())
            .item(Ipv4Match::any().dst(REMOTE_TEP))
            .actions([Action::SetMeta { data: 1, mask: 1 }, Action::Count]),
        Rule::egress()
            .priority(1)
            .item(EthMatch::any().src(NODE_MAC))
            .item(Item::ipv4())
            .actions([
                Action::RawEncap(TunnelEncap::vxlan_v4(
                    NODE_MAC, GW_MAC, LOCAL_TEP, REMOTE_TEP, 1234, 77,
                )),
                Action::Count,
            ]),
        Rule::egress()
            .priority(2)
            .item(Item::eth())
            .item(Item::ipv4())
            .item(TcpMatch::any().dst_port(25))
            .action(Action::Drop),
    ]
}

/// Full TOS / traffic-class matching: DSCP and ECN together, ECN alone.
fn tos_and_traffic_class() -> Vec<Rule> {
    vec![
        // DSCP EF (46) with ECT(1): the whole TOS byte 0xb9.
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv4Match::any().tos(0xb9).dst(pod_ip(60)))
            .item(Item::udp())
            .actions([Action::Count, Action::Jump(4)]),
        // Congestion experienced (ECN 3), any DSCP.
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv4Match::any().ecn(3))
            .actions([Action::Count, Action::Jump(4)]),
        // DSCP AF41 (34) with ECT(0) on IPv6.
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv6Match::any().traffic_class(0x8a).proto(6))
            .item(TcpMatch::any().dst_port(443))
            .actions([Action::Count, Action::Jump(4)]),
        // ECN-capable (either ECT bit) IPv6, under a partial mask.
        Rule::ingress()
            .priority(5)
            .item(Item::eth())
            .item(Ipv6Match::any().ecn_masked(1, 1).dscp(0))
            .actions([Action::Count, Action::Queue(2)]),
    ]
}

/// RSS as users write it in testpmd: type groups, every Rx queue (no
/// `queues` list), testpmd's default types (no `types`), the PMD's default
/// (`types end`).
fn rss_forms() -> Vec<Rule> {
    vec![
        // `rss / end`: every queue, types RTE_ETH_RSS_IP.
        Rule::ingress()
            .priority(6)
            .item(Item::eth())
            .item(Item::ipv4())
            .action(Action::Rss(RssAction::all_queues())),
        // Groups over every queue: TCP and UDP ports of IPv4 and IPv6.
        Rule::ingress()
            .priority(6)
            .item(Item::eth())
            .item(Item::ipv6())
            .actions([
                Action::Count,
                Action::Rss(RssAction::all_queues().types([
                    RssType::Ip,
                    RssType::Tcp,
                    RssType::Udp,
                ])),
            ]),
        // Groups over listed queues, inner headers.
        Rule::ingress()
            .priority(6)
            .item(Item::eth())
            .item(Item::ipv4())
            .item(UdpMatch::any().dst_port(VXLAN_UDP_PORT))
            .item(Item::vxlan())
            .action(Action::Rss(
                RssAction::queues([1, 3])
                    .types([RssType::Ip, RssType::Sctp, RssType::Tunnel])
                    .level(2),
            )),
        // `all`, with its own key, over listed queues.
        Rule::ingress()
            .priority(7)
            .item(Item::eth())
            .action(Action::Rss(
                RssAction::queues([0, 1])
                    .types([RssType::All])
                    .key(vec![0x5a; 40]),
            )),
        // Listed queues, testpmd's default types (`types` omitted).
        Rule::ingress()
            .priority(7)
            .item(Item::eth())
            .item(Item::ipv6())
            .item(Item::udp())
            .action(Action::Rss(RssAction::queues([2, 3]))),
        // `types end`: the PMD's default hash, every queue.
        Rule::ingress()
            .priority(7)
            .item(Item::eth())
            .item(Item::ipv4())
            .item(Item::tcp())
            .actions([
                Action::Mark(3),
                Action::Rss(RssAction::all_queues().types([])),
            ]),
        // Single fields testpmd names only individually.
        Rule::ingress()
            .priority(8)
            .item(Item::eth())
            .item(Item::ipv6())
            .action(Action::Rss(RssAction::queues([0, 1, 2, 3]).types([
                RssType::Ipv6Ex,
                RssType::Ipv6TcpEx,
                RssType::Ipv6UdpEx,
                RssType::Ipv4Frag,
                RssType::Ipv6Frag,
                RssType::Port,
                RssType::Eth,
                RssType::L2SrcOnly,
                RssType::L3Pre64,
            ]))),
    ]
}

/// Raw decap with an empty buffer: the pattern fixes the removed headers.
fn decap_what_was_matched() -> Vec<Rule> {
    vec![
        Rule::transfer()
            .group(2)
            .priority(1)
            .pattern(geneve_outer_v4())
            .item(GeneveMatch::any().vni(11))
            .item(EthMatch::any().dst(pod_mac(14)))
            .actions([
                Action::Count,
                Action::RawDecap(RawDecap::Matched),
                Action::RepresentedPort(vf_rep(4)),
            ]),
        Rule::transfer()
            .group(3)
            .priority(1)
            .item(Item::eth())
            .item(Ipv6Match::any().dst(LOCAL_TEP6))
            .item(UdpMatch::any().dst_port(VXLAN_UDP_PORT))
            .item(VxlanMatch::any().vni(4097))
            .actions([
                Action::RawDecap(RawDecap::Matched),
                Action::SetMacDst(pod_mac(15)),
                Action::RepresentedPort(vf_rep(5)),
            ]),
    ]
}

/// One ping session: the echo identifier, exact and under a mask.
fn icmp_echo_sessions() -> Vec<Rule> {
    vec![
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::RepresentedPort(vf_rep(6)))
            .item(Item::eth())
            .item(Ipv4Match::any().src(pod_ip(16)).proto(1))
            .item(IcmpMatch::any().icmp_type(8).code(0).ident(4660))
            .actions([Action::Count, Action::RepresentedPort(UPLINK)]),
        Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv4Match::any().dst(pod_ip(16)))
            .item(IcmpMatch::any().icmp_type(0).ident_masked(0x1234, 0xff00))
            .actions([Action::Count, Action::Drop]),
    ]
}

// ------------------------------------------------------------ offload shapes

/// The representors a connection rule may join: uplink, host PF and the
/// first eight pods' VFs.
pub fn offload_settings() -> RuleSettings {
    RuleSettings {
        transfer_ports: (0..10).collect(),
    }
}

/// Seconds a connection rule lives idle in the corpus.
pub const OFFLOAD_AGE_SECS: u32 = 300;

fn ip4(a: Ipv4Addr) -> IpAddr {
    IpAddr::V4(a)
}

fn tuple(proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> FlowKey {
    FlowKey {
        zone: 0,
        proto,
        src,
        dst,
        sport,
        dport,
    }
}

/// A remote pod, behind node-id 3 (we are node-id 2).
fn remote_pod() -> Ipv4Addr {
    Ipv4Addr::new(10, 244, 3, 7)
}

const OUTSIDE: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 100);
const NEXT_HOP_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0x99);
/// The transit-switch router-port MACs of node-ids 2 (us) and 3.
const RTOTS_US: MacAddr = MacAddr::new(0x0a, 0x58, 0x64, 0x58, 0x00, 0x02);
const RTOTS_REMOTE: MacAddr = MacAddr::new(0x0a, 0x58, 0x64, 0x58, 0x00, 0x03);
/// OVN's interconnect VNI (the transit switch's tunnel key).
const IC_VNI: u32 = 0x00ff_0003;
const NODE_VLAN: Vlan = Vlan { vid: 42, pcp: 0 };

/// Pod 5 on VF 0 to pod 6 on VF 1 over the cluster router: TCP, TTL
/// decremented, MACs rewritten.
fn routed() -> Treatment {
    Treatment {
        conn: ConnId { index: 1, gen: 1 },
        dir: Dir::Forward,
        in_port: vf_rep(0),
        vlan_in: None,
        tunnel_in: None,
        eth_in: (pod_mac(5), ROUTER_MAC),
        key: tuple(6, ip4(pod_ip(5)), 40000, ip4(pod_ip(6)), 8080),
        ttl_in: 64,
        hop: true,
        nat: None,
        macs: Some((ROUTER_MAC, pod_mac(6))),
        encap: None,
        vlan_out: None,
        out_port: vf_rep(1),
    }
}

fn encap_to_remote(src: IpAddr, dst: IpAddr) -> Encap {
    Encap {
        src_mac: NODE_MAC,
        dst_mac: GW_MAC,
        vlan: None,
        src_ip: src,
        dst_ip: dst,
        udp_src_port: 52011,
        vni: IC_VNI,
        ovn: Some(OvnKeys {
            ingress: 2,
            egress: 3,
        }),
    }
}

/// Hand-made treatments, one per shape of connection the software path
/// offloads, named for the issue note.
pub fn offload_treatments() -> Vec<(&'static str, Treatment)> {
    let vip = ip4(DNS_VIP);
    let web = ip4(WEB_VIP);
    let node = ip4(NODE_IP);
    let outside = ip4(OUTSIDE);
    let remote = ip4(remote_pod());
    vec![
        ("pod to pod, routed, IPv4 TCP", routed()),
        (
            "pod to pod, same switch",
            Treatment {
                hop: false,
                macs: None,
                eth_in: (pod_mac(5), pod_mac(6)),
                ..routed()
            },
        ),
        (
            "pod to pod, routed, IPv6 UDP",
            Treatment {
                key: tuple(
                    17,
                    IpAddr::V6(pod_ip6(5)),
                    5353,
                    IpAddr::V6(pod_ip6(6)),
                    9000,
                ),
                ttl_in: 255,
                ..routed()
            },
        ),
        (
            "pod to pod, ICMP echo request",
            Treatment {
                key: tuple(1, ip4(pod_ip(5)), 0x2a2a, ip4(pod_ip(6)), 0x2a2a),
                ..routed()
            },
        ),
        (
            "pod to remote pod, Geneve over IPv4",
            Treatment {
                key: tuple(6, ip4(pod_ip(5)), 40001, remote, 8080),
                macs: Some((RTOTS_US, RTOTS_REMOTE)),
                encap: Some(encap_to_remote(ip4(LOCAL_TEP), ip4(REMOTE_TEP))),
                out_port: UPLINK,
                ..routed()
            },
        ),
        (
            "pod to remote pod, Geneve over IPv6",
            Treatment {
                key: tuple(6, ip4(pod_ip(5)), 40002, remote, 8080),
                macs: Some((RTOTS_US, RTOTS_REMOTE)),
                encap: Some(encap_to_remote(
                    IpAddr::V6(LOCAL_TEP6),
                    IpAddr::V6(REMOTE_TEP6),
                )),
                out_port: UPLINK,
                ..routed()
            },
        ),
        (
            "remote pod to pod, Geneve decapsulated",
            Treatment {
                dir: Dir::Reply,
                in_port: UPLINK,
                tunnel_in: Some(TunnelIn {
                    outer_src_mac: GW_MAC,
                    outer_dst_mac: NODE_MAC,
                    src_ip: ip4(REMOTE_TEP),
                    dst_ip: ip4(LOCAL_TEP),
                    vni: IC_VNI,
                    keys: OvnKeys {
                        ingress: 3,
                        egress: 2,
                    },
                }),
                eth_in: (RTOTS_REMOTE, RTOTS_US),
                key: tuple(6, remote, 8080, ip4(pod_ip(5)), 40001),
                ttl_in: 63,
                macs: Some((ROUTER_MAC, pod_mac(5))),
                out_port: vf_rep(0),
                ..routed()
            },
        ),
        (
            "ClusterIP, DNAT to the endpoint",
            Treatment {
                key: tuple(17, ip4(pod_ip(5)), 33000, vip, 53),
                nat: Some(tuple(17, ip4(pod_ip(5)), 33000, ip4(pod_ip(6)), 5353)),
                ..routed()
            },
        ),
        (
            "ClusterIP reply, SNAT back to the service",
            Treatment {
                dir: Dir::Reply,
                in_port: vf_rep(1),
                eth_in: (pod_mac(6), ROUTER_MAC),
                key: tuple(17, ip4(pod_ip(6)), 5353, ip4(pod_ip(5)), 33000),
                nat: Some(tuple(17, vip, 53, ip4(pod_ip(5)), 33000)),
                macs: Some((ROUTER_MAC, pod_mac(5))),
                out_port: vf_rep(0),
                ..routed()
            },
        ),
        (
            "hairpin: a pod reaching itself through its service",
            Treatment {
                key: tuple(6, ip4(pod_ip(5)), 40003, web, 80),
                nat: Some(tuple(6, web, 40003, ip4(pod_ip(5)), 8080)),
                macs: Some((ROUTER_MAC, pod_mac(5))),
                out_port: vf_rep(0),
                ..routed()
            },
        ),
        (
            "egress SNAT to the node IP, node VLAN pushed",
            Treatment {
                key: tuple(6, ip4(pod_ip(5)), 40004, outside, 443),
                nat: Some(tuple(6, node, 61004, outside, 443)),
                macs: Some((NODE_MAC, NEXT_HOP_MAC)),
                vlan_out: Some(NODE_VLAN),
                out_port: UPLINK,
                ..routed()
            },
        ),
        (
            "node port from outside, VLAN popped, DNAT to the pod",
            Treatment {
                in_port: UPLINK,
                vlan_in: Some(NODE_VLAN),
                eth_in: (NEXT_HOP_MAC, NODE_MAC),
                key: tuple(6, outside, 50000, node, 30080),
                nat: Some(tuple(6, outside, 50000, ip4(pod_ip(5)), 8080)),
                macs: Some((ROUTER_MAC, pod_mac(5))),
                out_port: vf_rep(0),
                ..routed()
            },
        ),
    ]
}

/// Every shape [`rule_for`] emits: the rule of each of
/// [`offload_treatments`] (with [`offload_settings`] and an age of
/// [`OFFLOAD_AGE_SECS`]). A treatment `rule_for` refused would be missing:
/// the corpus tests check none is.
pub fn offload_shapes() -> Vec<(&'static str, Rule)> {
    let settings = offload_settings();
    let mut shapes: Vec<_> = offload_treatments()
        .into_iter()
        .filter_map(|(name, t)| {
            rule_for(&t, &settings, Some(OFFLOAD_AGE_SECS))
                .ok()
                .map(|r| (name, r))
        })
        .collect();
    // The base rules, as the manager installs them for each port (here a
    // pod representor no other corpus rule matches, so that the corpus'
    // own jumps and misses keep working in one software table).
    let uplink = RuleSettings {
        transfer_ports: vec![vf_rep(7)],
    };
    let names = [
        "base: group 0 jumps to the connection rules",
        "base: miss to software",
    ];
    shapes.extend(names.into_iter().zip(base_rules(&uplink)));
    shapes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offload_treatment_is_a_valid_rule() {
        let settings = offload_settings();
        for (name, t) in offload_treatments() {
            let rule = rule_for(&t, &settings, Some(OFFLOAD_AGE_SECS))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Err(e) = rule.validate() {
                panic!("{name}: {rule}: {e}");
            }
        }
        // Every treatment's rule, and the two base rules.
        assert_eq!(offload_shapes().len(), offload_treatments().len() + 2);
        let names: std::collections::BTreeSet<_> =
            offload_shapes().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), offload_treatments().len() + 2, "unique names");
    }
}
