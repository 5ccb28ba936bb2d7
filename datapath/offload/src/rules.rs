//! One connection direction's treatment as one exact-match rule.
//!
//! [`rule_for`] turns a [`Treatment`] (what the software path did to one
//! packet) into one transfer rule that does the same to the direction's
//! next packets: the pattern is the packet exactly as it arrived (port,
//! tunnel, VLAN, MACs, addresses, ports), the actions are the software
//! path's edits in the order it applied them.
//!
//! What stays in software on purpose:
//! * TCP segments with SYN, FIN or RST (the pattern masks those flags to
//!   0): the software path tracks the connection's state from them.
//! * A packet whose TTL / hop limit differs from the one recorded when the
//!   rule decrements it (the pattern matches it exactly): one about to
//!   expire reaches software, which answers it with an ICMP error (OVS
//!   unwildcards `nw_ttl` for `dec_ttl` the same way).

use std::net::IpAddr;

use dpuflow_conntrack::{Dir, FlowKey};
use dpuflow_engine::offload::{Treatment, TunnelIn};
use dpuflow_flow::action::AGE_TIMEOUT_MAX;
use dpuflow_flow::tunnel::{
    DecapTunnel, EncapTunnel, GeneveOption, IpVersion, OuterIp, RawDecap, TunnelDecap, TunnelEncap,
    VlanTag, ETHER_TYPE_VLAN, GENEVE_PROTO_ETHERNET, GENEVE_UDP_PORT, IPPROTO_ICMP, IPPROTO_ICMPV6,
    IPPROTO_TCP, IPPROTO_UDP, OVN_GENEVE_CLASS, OVN_GENEVE_TYPE,
};
use dpuflow_flow::{
    Action, EthMatch, GeneveMatch, GeneveOptMatch, IcmpMatch, Ipv4Match, Ipv6Match, Item, Rule,
    TcpMatch, UdpMatch, VlanMatch,
};
use dpuflow_packet::edit::Encap;
use dpuflow_packet::{OvnKeys, Vlan};

/// The transfer group connection rules live in.
///
/// Not group 0: on mlx5 group 0 of the e-switch is the root table, whose
/// rules are inserted through the kernel (slow, and without `dec_ttl`,
/// `age` or header rewrites on older firmware). The datapath's group 0
/// jumps every packet here; group 1 holds these exact-match rules above a
/// catch-all that sends the rest to software.
pub const CONNECTION_GROUP: u32 = 1;

/// The priority of connection rules within [`CONNECTION_GROUP`]: the
/// highest (lower wins). Two connection rules never overlap (each matches
/// one 5-tuple on one port exactly), so they need no order among
/// themselves; the catch-all miss to software sits below them at
/// [`MISS_PRIORITY`].
pub const CONNECTION_PRIORITY: u32 = 0;

/// The priority of the catch-all rule of [`CONNECTION_GROUP`] that sends
/// every packet no connection rule took to software.
pub const MISS_PRIORITY: u32 = 15;

/// TCP flags whose segments stay in software (FIN | SYN | RST).
pub const TCP_CONTROL_FLAGS: u8 = 0x01 | 0x02 | 0x04;

/// ICMP echo request type (IPv4).
const ICMP_ECHO_REQUEST: u8 = 8;
/// ICMP echo reply type (IPv4).
const ICMP_ECHO_REPLY: u8 = 0;

/// The outer IPv4 TTL / IPv6 hop limit `encap_geneve` writes.
const ENCAP_TTL: u8 = 64;

/// What the rules depend on beyond the treatment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSettings {
    /// Ports that are representors of one switch domain (the uplink, the
    /// host PF and the pods' VFs on a BlueField): a transfer rule can match
    /// traffic from one and send it to another.
    pub transfer_ports: Vec<u16>,
}

/// Why a connection direction gets no rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotEligible {
    /// A port of the treatment is not a representor in the switch domain.
    OutsideSwitchDomain {
        /// The port.
        port: u16,
    },
    /// ICMPv6 echo: DPDK 22.11's rte_flow has no item that matches the
    /// ICMPv6 echo identifier (`RTE_FLOW_ITEM_TYPE_ICMP6` has type, code
    /// and checksum only; the echo items came in 23.03), so a rule could
    /// not tell one ping session from another.
    Icmp6Echo,
    /// A protocol without ports or an echo id (neither TCP, UDP nor ICMP):
    /// an exact match would take every flow between the two addresses.
    NoPorts {
        /// The IP protocol number.
        proto: u8,
    },
    /// NAT changed the ICMP echo identifier: rte_flow's `set_tp_*`
    /// rewrites TCP/UDP ports only.
    IcmpIdRewrite,
    /// The addresses are of two families (before, after NAT, or outer
    /// against outer): no NAT64 and no mixed-family tunnel here.
    FamilyMismatch,
    /// The TTL was decremented from 1 or 0: the software path answers such
    /// a packet and never forwards it, so no rule can repeat it.
    TtlExpired,
    /// A VLAN pushed on a tunnel frame that already carries an outer tag:
    /// no raw encapsulation here has two tags.
    DoubleVlan,
}

impl NotEligible {
    /// A short stable name (metric labels, `dpuflow flows`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotEligible::OutsideSwitchDomain { .. } => "outside_switch_domain",
            NotEligible::Icmp6Echo => "icmp6_echo",
            NotEligible::NoPorts { .. } => "no_ports",
            NotEligible::IcmpIdRewrite => "icmp_id_rewrite",
            NotEligible::FamilyMismatch => "family_mismatch",
            NotEligible::TtlExpired => "ttl_expired",
            NotEligible::DoubleVlan => "double_vlan",
        }
    }
}

impl std::fmt::Display for NotEligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotEligible::OutsideSwitchDomain { port } => {
                write!(f, "port {port} is not in the switch domain")
            }
            NotEligible::NoPorts { proto } => write!(f, "IP protocol {proto} has no ports"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The rules every connection rule stands on, per port of the switch:
/// group 0 (the root table) sends every packet entering from the port on
/// to [`CONNECTION_GROUP`], where a catch-all below the connection rules
/// hands what they did not take to software (the datapath's poll loop on
/// the port's representor). Installed once, before any connection rule,
/// and removed last.
pub fn base_rules(s: &RuleSettings) -> Vec<Rule> {
    s.transfer_ports
        .iter()
        .flat_map(|&port| {
            [
                Rule::transfer()
                    .group(0)
                    .item(Item::RepresentedPort(port))
                    .action(Action::Jump(CONNECTION_GROUP)),
                Rule::transfer()
                    .group(CONNECTION_GROUP)
                    .priority(MISS_PRIORITY)
                    .item(Item::RepresentedPort(port))
                    .action(Action::PortRepresentor(port)),
            ]
        })
        .collect()
}

/// The rule that does to the connection direction's next packets what
/// `t` did to this one, aged out after `age_secs` idle seconds (clamped to
/// rte_flow's 1..=2^24-1).
///
/// # Errors
/// Why the treatment cannot be a rule.
pub fn rule_for(
    t: &Treatment,
    s: &RuleSettings,
    age_secs: Option<u32>,
) -> Result<Rule, NotEligible> {
    for port in [t.in_port, t.out_port] {
        if !s.transfer_ports.contains(&port) {
            return Err(NotEligible::OutsideSwitchDomain { port });
        }
    }
    if t.hop && t.ttl_in <= 1 {
        return Err(NotEligible::TtlExpired);
    }
    let l4 = l4_item(t)?;
    // The (inner) Ethernet header exactly as it arrived.
    let (src_mac, dst_mac) = t.eth_in;
    let eth = EthMatch::any().src(src_mac).dst(dst_mac);
    let mut pattern = vec![Item::RepresentedPort(t.in_port)];
    if let Some(tun) = &t.tunnel_in {
        tunnel_items(tun, t.vlan_in, &mut pattern)?;
        pattern.push(eth.into());
    } else {
        pattern.push(eth.into());
        if let Some(vlan) = t.vlan_in {
            pattern.push(VlanMatch::any().vid(vlan.vid).into());
        }
    }
    pattern.push(l3_item(&t.key, t.hop.then_some(t.ttl_in))?);
    pattern.push(l4);

    let mut actions = Vec::with_capacity(16);
    if let Some(tun) = &t.tunnel_in {
        actions.push(Action::RawDecap(RawDecap::Headers(TunnelDecap {
            // A tagged underlay: the tag is part of the outer headers the
            // decap removes (the inner frame between zones is untagged).
            vlan: t.vlan_in.is_some(),
            ip: ip_version(tun.src_ip),
            tunnel: DecapTunnel::Geneve {
                // The option header and its one data word.
                option_words: 2,
            },
        })));
    } else if t.vlan_in.is_some() {
        actions.push(Action::PopVlan);
    }
    if t.hop {
        actions.push(Action::DecTtl);
    }
    if let Some(nat) = &t.nat {
        nat_actions(&t.key, nat, &mut actions)?;
    }
    if let Some((src, dst)) = t.macs {
        if src != src_mac {
            actions.push(Action::SetMacSrc(src));
        }
        if dst != dst_mac {
            actions.push(Action::SetMacDst(dst));
        }
    }
    let mut vlan_out = t.vlan_out;
    if let Some(encap) = &t.encap {
        let mut encap = *encap;
        // A tag pushed after the encapsulation is the outer frame's tag:
        // the same bytes as an encapsulation that carries it.
        if let Some(tag) = vlan_out.take() {
            if encap.vlan.is_some() {
                return Err(NotEligible::DoubleVlan);
            }
            encap.vlan = Some(tag);
        }
        actions.push(Action::RawEncap(tunnel_encap(&encap)?));
    }
    if let Some(tag) = vlan_out {
        actions.push(Action::PushVlan {
            ether_type: ETHER_TYPE_VLAN,
        });
        actions.push(Action::SetVlanVid(tag.vid));
        if tag.pcp != 0 {
            actions.push(Action::SetVlanPcp(tag.pcp));
        }
    }
    actions.push(Action::Count);
    if let Some(secs) = age_secs {
        actions.push(Action::Age {
            timeout: secs.clamp(1, AGE_TIMEOUT_MAX),
        });
    }
    actions.push(Action::RepresentedPort(t.out_port));

    Ok(Rule::transfer()
        .group(CONNECTION_GROUP)
        .priority(CONNECTION_PRIORITY)
        .pattern(pattern)
        .actions(actions))
}

fn ip_version(ip: IpAddr) -> IpVersion {
    match ip {
        IpAddr::V4(_) => IpVersion::V4,
        IpAddr::V6(_) => IpVersion::V6,
    }
}

/// OVN's option word: ingress key << 16 | egress key.
fn ovn_word(keys: OvnKeys) -> u32 {
    (u32::from(keys.ingress & 0x7fff) << 16) | u32::from(keys.egress)
}

/// Outer eth / [vlan] / ipv4|ipv6 / udp / geneve / geneve-opt of an
/// arriving tunnel packet, every field as it arrived.
fn tunnel_items(
    tun: &TunnelIn,
    vlan: Option<Vlan>,
    out: &mut Vec<Item>,
) -> Result<(), NotEligible> {
    out.push(
        EthMatch::any()
            .src(tun.outer_src_mac)
            .dst(tun.outer_dst_mac)
            .into(),
    );
    if let Some(vlan) = vlan {
        out.push(VlanMatch::any().vid(vlan.vid).into());
    }
    out.push(match (tun.src_ip, tun.dst_ip) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            Ipv4Match::any().src(src).dst(dst).proto(IPPROTO_UDP).into()
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            Ipv6Match::any().src(src).dst(dst).proto(IPPROTO_UDP).into()
        }
        _ => return Err(NotEligible::FamilyMismatch),
    });
    out.push(UdpMatch::any().dst_port(GENEVE_UDP_PORT).into());
    out.push(
        GeneveMatch::any()
            .vni(tun.vni)
            .protocol(GENEVE_PROTO_ETHERNET)
            .into(),
    );
    out.push(
        GeneveOptMatch::exact(OVN_GENEVE_CLASS, OVN_GENEVE_TYPE, &[ovn_word(tun.keys)]).into(),
    );
    Ok(())
}

/// The (inner) IP item: addresses and protocol, the TTL when the rule
/// decrements it.
fn l3_item(key: &FlowKey, ttl: Option<u8>) -> Result<Item, NotEligible> {
    Ok(match (key.src, key.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let mut m = Ipv4Match::any().src(src).dst(dst).proto(key.proto);
            if let Some(ttl) = ttl {
                m = m.ttl(ttl);
            }
            m.into()
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let mut m = Ipv6Match::any().src(src).dst(dst).proto(key.proto);
            if let Some(ttl) = ttl {
                m = m.hop_limit(ttl);
            }
            m.into()
        }
        _ => return Err(NotEligible::FamilyMismatch),
    })
}

/// The L4 item of the connection's tuple.
fn l4_item(t: &Treatment) -> Result<Item, NotEligible> {
    let key = &t.key;
    Ok(match key.proto {
        IPPROTO_TCP => TcpMatch::any()
            .src_port(key.sport)
            .dst_port(key.dport)
            .flags_masked(0, TCP_CONTROL_FLAGS)
            .into(),
        IPPROTO_UDP => UdpMatch::any()
            .src_port(key.sport)
            .dst_port(key.dport)
            .into(),
        IPPROTO_ICMP => {
            // Conntrack opens ICMP connections on echo requests only: the
            // forward direction carries requests, the reply direction
            // replies; the echo id is in both ports of the key.
            let icmp_type = match t.dir {
                Dir::Forward => ICMP_ECHO_REQUEST,
                Dir::Reply => ICMP_ECHO_REPLY,
            };
            IcmpMatch::any()
                .icmp_type(icmp_type)
                .ident(key.sport)
                .into()
        }
        IPPROTO_ICMPV6 => return Err(NotEligible::Icmp6Echo),
        proto => return Err(NotEligible::NoPorts { proto }),
    })
}

/// set_ipv4/ipv6_src/dst and set_tp_src/dst for the fields NAT changed.
fn nat_actions(key: &FlowKey, nat: &FlowKey, out: &mut Vec<Action>) -> Result<(), NotEligible> {
    let addr = |before: IpAddr, after: IpAddr, src: bool| -> Result<Option<Action>, NotEligible> {
        if before == after {
            return Ok(None);
        }
        Ok(Some(match (before, after, src) {
            (IpAddr::V4(_), IpAddr::V4(a), true) => Action::SetIpv4Src(a),
            (IpAddr::V4(_), IpAddr::V4(a), false) => Action::SetIpv4Dst(a),
            (IpAddr::V6(_), IpAddr::V6(a), true) => Action::SetIpv6Src(a),
            (IpAddr::V6(_), IpAddr::V6(a), false) => Action::SetIpv6Dst(a),
            _ => return Err(NotEligible::FamilyMismatch),
        }))
    };
    out.extend(addr(key.src, nat.src, true)?);
    out.extend(addr(key.dst, nat.dst, false)?);
    let ports_changed = key.sport != nat.sport || key.dport != nat.dport;
    if ports_changed && !matches!(key.proto, IPPROTO_TCP | IPPROTO_UDP) {
        return Err(NotEligible::IcmpIdRewrite);
    }
    if key.sport != nat.sport {
        out.push(Action::SetTpSrc(nat.sport));
    }
    if key.dport != nat.dport {
        out.push(Action::SetTpDst(nat.dport));
    }
    Ok(())
}

/// The raw encapsulation that writes the headers `encap_geneve` writes
/// (outer TTL / hop limit 64, IPv4 DF set, TOS / traffic class 0, UDP
/// destination 6081, OVN's option when present); the NIC fills the lengths
/// and checksums.
pub fn tunnel_encap(e: &Encap) -> Result<TunnelEncap, NotEligible> {
    let ip = match (e.src_ip, e.dst_ip) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => OuterIp::V4 {
            src,
            dst,
            ttl: ENCAP_TTL,
            tos: 0,
            dont_fragment: true,
        },
        (IpAddr::V6(src), IpAddr::V6(dst)) => OuterIp::V6 {
            src,
            dst,
            hop_limit: ENCAP_TTL,
            traffic_class: 0,
        },
        _ => return Err(NotEligible::FamilyMismatch),
    };
    Ok(TunnelEncap {
        eth_dst: e.dst_mac,
        eth_src: e.src_mac,
        vlan: e.vlan.map(|v| VlanTag {
            vid: v.vid,
            pcp: v.pcp,
        }),
        ip,
        udp_src: e.udp_src_port,
        udp_dst: GENEVE_UDP_PORT,
        tunnel: EncapTunnel::Geneve {
            vni: e.vni,
            option: e.ovn.map(|k| GeneveOption::ovn(ovn_word(k))),
        },
    })
}

#[cfg(test)]
#[path = "rules_tests.rs"]
pub(crate) mod tests;
