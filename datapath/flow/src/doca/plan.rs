//! The DOCA Flow plan of one rule: plain Rust, no FFI, always compiled.
//!
//! [`DocaPlan::from_rule`] validates a [`Rule`] and mirrors what DOCA Flow
//! 2.7 needs to install it: the mode and pipe domain, the match (values and
//! mask of `struct doca_flow_match`), the actions (`struct
//! doca_flow_actions`, its mask and the dec-TTL action descriptor), the
//! forward (`struct doca_flow_fwd`), the monitor (`struct
//! doca_flow_monitor`) and the GENEVE option parser the port needs. The
//! `ffi` module (feature `doca`) copies a plan field by field into the
//! bindgen structs; see the module docs of [`super`] for the mapping table.
//!
//! Byte order: every value DOCA declares as `doca_be16_t` / `doca_be32_t`
//! is held as [`Be16`] / [`Be32`], i.e. its bytes in wire order (what the
//! C struct holds in memory). Values DOCA 2.7 declares as plain `uint32_t`
//! (`meta.pkt_meta`, `meta.u32[]`, `meta.mark`, `parser_meta.port_meta`)
//! are host-order `u32`. MAC addresses are wire-order byte arrays.
//!
//! DOCA pipes are templates: a pipe fixes which fields are matched (and
//! under which mask), which fields are rewritten, the forward kind and the
//! monitor; each entry only supplies values. [`DocaPlan::pipe_key`] is that
//! template, so rules with equal keys become entries of one pipe.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use crate::action::{Action, ActionKind, RssAction, RssType};
use crate::field::{MacAddr, Masked};
use crate::item::{
    EthMatch, GeneveMatch, GeneveOptMatch, Ipv4Match, Ipv6Match, Item, ItemKind, TcpMatch,
    UdpMatch, VlanMatch, VxlanMatch,
};
use crate::rule::{Direction, Rule};
use crate::tunnel::{
    EncapTunnel, GeneveOption, OuterIp, TunnelEncap, ETHER_TYPE_IPV4, ETHER_TYPE_IPV6,
    ETHER_TYPE_VLAN, GENEVE_FLAG_CRITICAL, GENEVE_PROTO_ETHERNET,
};
use crate::validate::RuleError;

/// Scratch words of `struct doca_flow_meta` (`u32[DOCA_FLOW_META_SCRATCH_PAD_MAX]`,
/// 7 in DOCA 2.7): tag index `i` of the model is scratch word `i`.
pub const SCRATCH_WORDS: usize = 7;
/// Most option words (headers included) one encap can push
/// (`DOCA_FLOW_ENCAP_GENEVE_OPT_LEN_MAX`).
pub const ENCAP_GENEVE_OPT_WORDS_MAX: usize = 19;
/// Most GENEVE options one port parser knows (`DOCA_FLOW_GENEVE_NUM_OF_OPTIONS_MAX`).
pub const PARSER_GENEVE_OPTIONS_MAX: usize = 8;
/// `fwd.port_id` of a pipe whose entries choose the port (0xffff, as in
/// NVIDIA's `flow_switch` sample).
pub const PORT_ID_CHANGEABLE: u16 = u16::MAX;
/// DOCA field string of the IPv4 TTL (action descriptor of dec TTL).
pub const FIELD_IPV4_TTL: &str = "outer.ipv4.ttl";
/// DOCA field string of the IPv6 hop limit (action descriptor of dec TTL).
pub const FIELD_IPV6_HOP_LIMIT: &str = "outer.ipv6.hop_limit";

// ------------------------------------------------------------ scalars

/// A `doca_be16_t`: the two bytes in network (wire) order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Be16(pub [u8; 2]);

impl Be16 {
    /// All bits set (DOCA's "changeable" placeholder and full mask).
    pub const ALL_ONES: Be16 = Be16([0xff; 2]);

    /// From a host-order value.
    pub const fn new(host: u16) -> Self {
        Be16(host.to_be_bytes())
    }

    /// The host-order value.
    pub const fn get(self) -> u16 {
        u16::from_be_bytes(self.0)
    }
}

impl fmt::Debug for Be16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "be16({:#06x})", self.get())
    }
}

/// A `doca_be32_t`: the four bytes in network (wire) order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Be32(pub [u8; 4]);

impl Be32 {
    /// All bits set.
    pub const ALL_ONES: Be32 = Be32([0xff; 4]);

    /// From a host-order value.
    pub const fn new(host: u32) -> Self {
        Be32(host.to_be_bytes())
    }

    /// The host-order value.
    pub const fn get(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
}

impl fmt::Debug for Be32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "be32({:#010x})", self.get())
    }
}

impl From<Ipv4Addr> for Be32 {
    fn from(a: Ipv4Addr) -> Self {
        Be32(a.octets())
    }
}

/// An IPv6 address as DOCA holds it: `doca_be32_t[4]`.
pub type Ip6Words = [Be32; 4];

fn ip6_words(a: Ipv6Addr) -> Ip6Words {
    let o = a.octets();
    let mut out = [Be32::default(); 4];
    for (w, chunk) in out.iter_mut().zip(o.chunks_exact(4)) {
        let mut b = [0u8; 4];
        b.copy_from_slice(chunk);
        *w = Be32(b);
    }
    out
}

/// Types with an all-ones value (DOCA's "changeable" marker in pipe
/// templates: a field set to all ones at pipe creation is taken from each
/// entry).
pub trait Changeable: Copy {
    /// Every bit set.
    const CHANGEABLE: Self;
}

impl Changeable for u8 {
    const CHANGEABLE: Self = u8::MAX;
}
impl Changeable for u32 {
    const CHANGEABLE: Self = u32::MAX;
}
impl Changeable for Be16 {
    const CHANGEABLE: Self = Be16::ALL_ONES;
}
impl Changeable for Be32 {
    const CHANGEABLE: Self = Be32::ALL_ONES;
}
impl Changeable for [u8; 6] {
    const CHANGEABLE: Self = [0xff; 6];
}
impl Changeable for Ip6Words {
    const CHANGEABLE: Self = [Be32::ALL_ONES; 4];
}

/// A matched (or partially written) field: value and mask, in DOCA's
/// representation. `value & mask == value` holds for fields built from the
/// rule model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field<T> {
    /// Value (entry) or placeholder (pipe template).
    pub value: T,
    /// Mask (`match_mask` / `actions_masks`).
    pub mask: T,
}

impl<T: Changeable> Field<T> {
    /// The pipe-template form: value all ones ("changeable"), same mask.
    pub fn template(self) -> Self {
        Field {
            value: T::CHANGEABLE,
            mask: self.mask,
        }
    }
}

fn tmpl<T: Changeable>(f: Option<Field<T>>) -> Option<Field<T>> {
    f.map(Field::template)
}

fn tmpl_val<T: Changeable>(v: Option<T>) -> Option<T> {
    v.map(|_| T::CHANGEABLE)
}

// ------------------------------------------------------------ plan types

/// DOCA Flow mode (`doca_flow_cfg_set_mode_args`). One process runs one mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocaMode {
    /// `"vnf,hws"`: pipes on each port, NIC Rx (domain DEFAULT) and NIC Tx
    /// (domain EGRESS). Ingress and egress rules need it.
    Vnf,
    /// `"switch,hws"`: the e-switch (FDB); pipes live on the switch manager
    /// port (`doca_flow_port_switch_get`), every representor is a port.
    /// Transfer rules need it.
    Switch,
}

impl DocaMode {
    /// The `mode_args` string.
    pub fn mode_args(self) -> &'static str {
        match self {
            DocaMode::Vnf => "vnf,hws",
            DocaMode::Switch => "switch,hws",
        }
    }
}

/// `enum doca_flow_pipe_domain` values the mapping uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocaDomain {
    /// `DOCA_FLOW_PIPE_DOMAIN_DEFAULT`: NIC Rx in vnf mode, the FDB in
    /// switch mode.
    Default,
    /// `DOCA_FLOW_PIPE_DOMAIN_EGRESS`: NIC Tx.
    Egress,
}

/// `enum doca_flow_pipe_type` values the mapping uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocaPipeType {
    /// `DOCA_FLOW_PIPE_BASIC`: one mask for the whole pipe, entries are
    /// exact values under it.
    Basic,
}

/// `doca_flow_header_format.l3_type` / `parser_meta.*_l3_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L3Type {
    /// `DOCA_FLOW_L3_TYPE_IP4` / `DOCA_FLOW_L3_META_IPV4`.
    Ip4,
    /// `DOCA_FLOW_L3_TYPE_IP6` / `DOCA_FLOW_L3_META_IPV6`.
    Ip6,
}

/// `doca_flow_header_format.l4_type_ext`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L4TypeExt {
    /// `DOCA_FLOW_L4_TYPE_EXT_TCP`.
    Tcp,
    /// `DOCA_FLOW_L4_TYPE_EXT_UDP`.
    Udp,
    /// `DOCA_FLOW_L4_TYPE_EXT_ICMP`.
    Icmp,
    /// `DOCA_FLOW_L4_TYPE_EXT_ICMP6`.
    Icmp6,
}

/// `parser_meta.*_l4_type` (`enum doca_flow_l4_meta`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L4Meta {
    /// `DOCA_FLOW_L4_META_TCP`.
    Tcp,
    /// `DOCA_FLOW_L4_META_UDP`.
    Udp,
    /// `DOCA_FLOW_L4_META_ICMP` (ICMP and ICMPv6).
    Icmp,
}

/// L3 header match (`header_format.ip4` / `.ip6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L3Match {
    /// IPv4.
    Ip4 {
        /// `ip4.src_ip`.
        src: Option<Field<Be32>>,
        /// `ip4.dst_ip`.
        dst: Option<Field<Be32>>,
        /// `ip4.next_proto`.
        next_proto: Option<Field<u8>>,
        /// `ip4.ttl`.
        ttl: Option<Field<u8>>,
        /// `ip4.dscp_ecn` (the TOS byte: DSCP << 2 | ECN).
        dscp_ecn: Option<Field<u8>>,
    },
    /// IPv6.
    Ip6 {
        /// `ip6.src_ip`.
        src: Option<Field<Ip6Words>>,
        /// `ip6.dst_ip`.
        dst: Option<Field<Ip6Words>>,
        /// `ip6.next_proto`.
        next_proto: Option<Field<u8>>,
        /// `ip6.hop_limit`.
        hop_limit: Option<Field<u8>>,
        /// `ip6.traffic_class` (DSCP << 2 | ECN).
        traffic_class: Option<Field<u8>>,
    },
}

impl L3Match {
    /// The L3 type selector.
    pub fn l3_type(&self) -> L3Type {
        match self {
            L3Match::Ip4 { .. } => L3Type::Ip4,
            L3Match::Ip6 { .. } => L3Type::Ip6,
        }
    }

    fn template(self) -> Self {
        match self {
            L3Match::Ip4 {
                src,
                dst,
                next_proto,
                ttl,
                dscp_ecn,
            } => L3Match::Ip4 {
                src: tmpl(src),
                dst: tmpl(dst),
                next_proto: tmpl(next_proto),
                ttl: tmpl(ttl),
                dscp_ecn: tmpl(dscp_ecn),
            },
            L3Match::Ip6 {
                src,
                dst,
                next_proto,
                hop_limit,
                traffic_class,
            } => L3Match::Ip6 {
                src: tmpl(src),
                dst: tmpl(dst),
                next_proto: tmpl(next_proto),
                hop_limit: tmpl(hop_limit),
                traffic_class: tmpl(traffic_class),
            },
        }
    }
}

/// L4 header match (`header_format.tcp` / `.udp` / `.icmp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L4Match {
    /// TCP.
    Tcp {
        /// `tcp.l4_port.src_port`.
        src_port: Option<Field<Be16>>,
        /// `tcp.l4_port.dst_port`.
        dst_port: Option<Field<Be16>>,
        /// `tcp.flags`.
        flags: Option<Field<u8>>,
    },
    /// UDP.
    Udp {
        /// `udp.l4_port.src_port`.
        src_port: Option<Field<Be16>>,
        /// `udp.l4_port.dst_port`.
        dst_port: Option<Field<Be16>>,
    },
    /// ICMP (after IPv4).
    Icmp {
        /// `icmp.type`.
        icmp_type: Option<Field<u8>>,
        /// `icmp.code`.
        code: Option<Field<u8>>,
        /// `icmp.ident` (the echo identifier; `struct
        /// doca_flow_header_icmp` has type, code and ident).
        ident: Option<Field<Be16>>,
    },
    /// ICMPv6 (after IPv6); same `icmp` header struct.
    Icmp6 {
        /// `icmp.type`.
        icmp_type: Option<Field<u8>>,
        /// `icmp.code`.
        code: Option<Field<u8>>,
    },
}

impl L4Match {
    /// The `l4_type_ext` selector.
    pub fn l4_type_ext(&self) -> L4TypeExt {
        match self {
            L4Match::Tcp { .. } => L4TypeExt::Tcp,
            L4Match::Udp { .. } => L4TypeExt::Udp,
            L4Match::Icmp { .. } => L4TypeExt::Icmp,
            L4Match::Icmp6 { .. } => L4TypeExt::Icmp6,
        }
    }

    /// The `parser_meta` L4 type.
    pub fn l4_meta(&self) -> L4Meta {
        match self {
            L4Match::Tcp { .. } => L4Meta::Tcp,
            L4Match::Udp { .. } => L4Meta::Udp,
            L4Match::Icmp { .. } | L4Match::Icmp6 { .. } => L4Meta::Icmp,
        }
    }

    fn template(self) -> Self {
        match self {
            L4Match::Tcp {
                src_port,
                dst_port,
                flags,
            } => L4Match::Tcp {
                src_port: tmpl(src_port),
                dst_port: tmpl(dst_port),
                flags: tmpl(flags),
            },
            L4Match::Udp { src_port, dst_port } => L4Match::Udp {
                src_port: tmpl(src_port),
                dst_port: tmpl(dst_port),
            },
            L4Match::Icmp {
                icmp_type,
                code,
                ident,
            } => L4Match::Icmp {
                icmp_type: tmpl(icmp_type),
                code: tmpl(code),
                ident: tmpl(ident),
            },
            L4Match::Icmp6 { icmp_type, code } => L4Match::Icmp6 {
                icmp_type: tmpl(icmp_type),
                code: tmpl(code),
            },
        }
    }
}

/// One `struct doca_flow_header_format` of a match (outer or inner).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HeaderMatch {
    /// `eth.dst_mac`.
    pub eth_dst: Option<Field<[u8; 6]>>,
    /// `eth.src_mac`.
    pub eth_src: Option<Field<[u8; 6]>>,
    /// `eth.type`: DOCA matches the EtherType that follows the VLAN tags,
    /// so the model's VLAN `inner_type` lands here.
    pub eth_type: Option<Field<Be16>>,
    /// `l2_valid_headers |= DOCA_FLOW_L2_VALID_HEADER_VLAN_0` (a tag is
    /// present).
    pub vlan: bool,
    /// `eth_vlan[0].tci` (PCP << 13 | VID).
    pub vlan_tci: Option<Field<Be16>>,
    /// L3 header (selects `l3_type` and the `parser_meta` L3 type).
    pub l3: Option<L3Match>,
    /// L4 header (selects `l4_type_ext` and the `parser_meta` L4 type).
    pub l4: Option<L4Match>,
}

impl HeaderMatch {
    fn template(self) -> Self {
        HeaderMatch {
            eth_dst: tmpl(self.eth_dst),
            eth_src: tmpl(self.eth_src),
            eth_type: tmpl(self.eth_type),
            vlan: self.vlan,
            vlan_tci: tmpl(self.vlan_tci),
            l3: self.l3.map(L3Match::template),
            l4: self.l4.map(L4Match::template),
        }
    }
}

/// A matched GENEVE option: `tun.geneve_options[0]` is the option header
/// (class and type matched exactly, length given), `[1..=length]` its data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GeneveOptionMatch {
    /// Option class.
    pub class: Be16,
    /// Option type.
    pub option_type: u8,
    /// Data length in 4-byte words.
    pub length: u8,
    /// Data words (`geneve_options[1 + i].data`).
    pub data: Vec<Field<Be32>>,
}

/// `match.tun`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TunnelMatch {
    /// `tun.type = DOCA_FLOW_TUN_GENEVE`.
    Geneve {
        /// `geneve.vni` (VNI << 8).
        vni: Option<Field<Be32>>,
        /// `geneve.next_proto`.
        next_proto: Option<Field<Be16>>,
        /// `geneve_options[..]`.
        option: Option<GeneveOptionMatch>,
    },
    /// `tun.type = DOCA_FLOW_TUN_VXLAN` (standard VXLAN).
    Vxlan {
        /// `vxlan_tun_id` (VNI << 8).
        vni: Option<Field<Be32>>,
    },
}

impl TunnelMatch {
    fn template(&self) -> Self {
        match self {
            TunnelMatch::Geneve {
                vni,
                next_proto,
                option,
            } => TunnelMatch::Geneve {
                vni: tmpl(*vni),
                next_proto: tmpl(*next_proto),
                option: option.as_ref().map(|o| GeneveOptionMatch {
                    data: o.data.iter().map(|w| w.template()).collect(),
                    ..o.clone()
                }),
            },
            TunnelMatch::Vxlan { vni } => TunnelMatch::Vxlan { vni: tmpl(*vni) },
        }
    }
}

/// `struct doca_flow_match` (values) plus its `match_mask`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MatchPlan {
    /// `parser_meta.port_meta` (host order, exact): the DPDK port id of the
    /// representor the packet entered the switch from.
    pub port_meta: Option<u32>,
    /// `meta.pkt_meta` (host order).
    pub pkt_meta: Option<Field<u32>>,
    /// `meta.u32[i]` (host order): tag register `i`.
    pub scratch: [Option<Field<u32>>; SCRATCH_WORDS],
    /// `outer`.
    pub outer: HeaderMatch,
    /// `tun`.
    pub tun: Option<TunnelMatch>,
    /// `inner` (headers after the tunnel item).
    pub inner: HeaderMatch,
}

impl MatchPlan {
    fn template(&self) -> Self {
        MatchPlan {
            port_meta: tmpl_val(self.port_meta),
            pkt_meta: tmpl(self.pkt_meta),
            scratch: self.scratch.map(tmpl),
            outer: self.outer.template(),
            tun: self.tun.as_ref().map(TunnelMatch::template),
            inner: self.inner.template(),
        }
    }
}

/// The option parser a port needs before a pipe may match a GENEVE option
/// (`doca_flow_parser_geneve_opt_create`, one `struct
/// doca_flow_parser_geneve_opt_cfg` with `match_on_class_mode =
/// DOCA_FLOW_PARSER_GENEVE_OPT_MODE_FIXED`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GeneveParserSpec {
    /// `option_class`.
    pub class: Be16,
    /// `option_type`.
    pub option_type: u8,
    /// `option_len`: data length in words (header excluded).
    pub length: u8,
    /// `data_mask[i]`: all ones for each data word some rule matches.
    pub data_mask: Vec<Be32>,
}

impl GeneveParserSpec {
    /// True when a parser configured with `self` extracts everything
    /// `other` needs (same option, superset of data words).
    pub fn covers(&self, other: &GeneveParserSpec) -> bool {
        self.class == other.class
            && self.option_type == other.option_type
            && self.length == other.length
            && self
                .data_mask
                .iter()
                .zip(other.data_mask.iter())
                .all(|(a, b)| a.get() & b.get() == b.get())
    }
}

/// Decapsulation (`decap_type = DOCA_FLOW_RESOURCE_TYPE_NON_SHARED`,
/// `decap_cfg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecapPlan {
    /// `decap_cfg.is_l2`: true for GENEVE (Ethernet payload) and VXLAN.
    pub is_l2: bool,
}

/// L3 rewrite (`actions.outer.ip4` / `.ip6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L3Rewrite {
    /// `outer.l3_type = IP4`.
    Ip4 {
        /// `ip4.src_ip`.
        src: Option<Be32>,
        /// `ip4.dst_ip`.
        dst: Option<Be32>,
    },
    /// `outer.l3_type = IP6`.
    Ip6 {
        /// `ip6.src_ip`.
        src: Option<Ip6Words>,
        /// `ip6.dst_ip`.
        dst: Option<Ip6Words>,
    },
}

/// L4 protocol of a port rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L4Proto {
    /// `outer.l4_type_ext = TCP`, `outer.tcp.l4_port`.
    Tcp,
    /// `outer.l4_type_ext = UDP`, `outer.udp.l4_port`.
    Udp,
}

/// L4 port rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct L4Rewrite {
    /// Which header the ports belong to.
    pub proto: L4Proto,
    /// `l4_port.src_port`.
    pub src_port: Option<Be16>,
    /// `l4_port.dst_port`.
    pub dst_port: Option<Be16>,
}

/// Header rewrites (`actions.outer`: the outermost headers after decap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HeaderRewrite {
    /// `eth.src_mac`.
    pub eth_src: Option<[u8; 6]>,
    /// `eth.dst_mac`.
    pub eth_dst: Option<[u8; 6]>,
    /// `eth_vlan[0].tci` under a mask (VID 0x0fff, PCP 0xe000).
    pub vlan_tci: Option<Field<Be16>>,
    /// IP addresses.
    pub l3: Option<L3Rewrite>,
    /// TCP/UDP ports.
    pub l4: Option<L4Rewrite>,
}

impl HeaderRewrite {
    fn template(self) -> Self {
        HeaderRewrite {
            eth_src: tmpl_val(self.eth_src),
            eth_dst: tmpl_val(self.eth_dst),
            vlan_tci: tmpl(self.vlan_tci),
            l3: self.l3.map(|l3| match l3 {
                L3Rewrite::Ip4 { src, dst } => L3Rewrite::Ip4 {
                    src: tmpl_val(src),
                    dst: tmpl_val(dst),
                },
                L3Rewrite::Ip6 { src, dst } => L3Rewrite::Ip6 {
                    src: tmpl_val(src),
                    dst: tmpl_val(dst),
                },
            }),
            l4: self.l4.map(|l4| L4Rewrite {
                proto: l4.proto,
                src_port: tmpl_val(l4.src_port),
                dst_port: tmpl_val(l4.dst_port),
            }),
        }
    }
}

/// Decrement of the TTL / hop limit: `actions.outer.ip4.ttl = 0xff` (or
/// `ip6.hop_limit`) plus an action descriptor `DOCA_FLOW_ACTION_ADD` on the
/// field, width 8 — adding 255 modulo 256 (NVIDIA's `flow_modify_header`
/// sample). DOCA Flow 2.7 has no dedicated dec-TTL action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecTtl {
    /// IPv4 TTL.
    Ipv4,
    /// IPv6 hop limit.
    Ipv6,
}

impl DecTtl {
    /// The DOCA field string of the descriptor.
    pub fn field_string(self) -> &'static str {
        match self {
            DecTtl::Ipv4 => FIELD_IPV4_TTL,
            DecTtl::Ipv6 => FIELD_IPV6_HOP_LIMIT,
        }
    }
}

/// Outer IP header of an encapsulation (`encap_cfg.encap.outer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncapIp {
    /// `l3_type = IP4`.
    V4 {
        /// `ip4.src_ip`.
        src: Be32,
        /// `ip4.dst_ip`.
        dst: Be32,
        /// `ip4.ttl`.
        ttl: u8,
        /// `ip4.dscp_ecn` (the TOS byte).
        dscp_ecn: u8,
        /// `ip4.flags_fragment_offset` (0x4000 = DF).
        flags_fragment_offset: Be16,
    },
    /// `l3_type = IP6`.
    V6 {
        /// `ip6.src_ip`.
        src: Ip6Words,
        /// `ip6.dst_ip`.
        dst: Ip6Words,
        /// `ip6.hop_limit`.
        hop_limit: u8,
        /// `ip6.traffic_class`.
        traffic_class: u8,
    },
}

/// One 4-byte word of `tun.geneve_options[]` in an encapsulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GeneveOptionWord {
    /// Option header.
    Header {
        /// `class_id`.
        class: Be16,
        /// `type`.
        option_type: u8,
        /// `length`: data words that follow.
        length: u8,
    },
    /// One data word.
    Data(Be32),
}

/// Tunnel header of an encapsulation (`encap_cfg.encap.tun`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EncapTun {
    /// `tun.type = DOCA_FLOW_TUN_GENEVE`.
    Geneve {
        /// `geneve.vni` (VNI << 8).
        vni: Be32,
        /// `geneve.next_proto` (0x6558).
        next_proto: Be16,
        /// `geneve.ver_opt_len` (version 0, option length in words).
        ver_opt_len: u8,
        /// `geneve.o_c`: 0x40 (C, critical options present) when the
        /// option is critical, as OVN sends it; O is never set.
        o_c: u8,
        /// `geneve_options[..]`.
        options: Vec<GeneveOptionWord>,
    },
    /// `tun.type = DOCA_FLOW_TUN_VXLAN`.
    Vxlan {
        /// `vxlan_tun_id` (VNI << 8).
        vni: Be32,
    },
}

/// Encapsulation (`encap_type = DOCA_FLOW_RESOURCE_TYPE_NON_SHARED`,
/// `encap_cfg.is_l2 = true`, `encap_cfg.encap.outer` + `.tun`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EncapPlan {
    /// `outer.eth.src_mac`.
    pub eth_src: [u8; 6],
    /// `outer.eth.dst_mac`.
    pub eth_dst: [u8; 6],
    /// `outer.eth.type`: the first EtherType on the wire (0x8100 when
    /// tagged), as Open vSwitch's DOCA offload fills it.
    pub eth_type: Be16,
    /// `outer.eth_vlan[0].tci` (+ `l2_valid_headers` VLAN_0).
    pub vlan_tci: Option<Be16>,
    /// `outer.ip4` / `.ip6`.
    pub ip: EncapIp,
    /// `outer.udp.l4_port.src_port`.
    pub udp_src: Be16,
    /// `outer.udp.l4_port.dst_port`.
    pub udp_dst: Be16,
    /// `tun`.
    pub tun: EncapTun,
}

impl EncapPlan {
    fn template(&self) -> Self {
        let ip = match self.ip {
            EncapIp::V4 { .. } => EncapIp::V4 {
                src: Be32::ALL_ONES,
                dst: Be32::ALL_ONES,
                ttl: u8::MAX,
                dscp_ecn: u8::MAX,
                flags_fragment_offset: Be16::ALL_ONES,
            },
            EncapIp::V6 { .. } => EncapIp::V6 {
                src: Ip6Words::CHANGEABLE,
                dst: Ip6Words::CHANGEABLE,
                hop_limit: u8::MAX,
                traffic_class: u8::MAX,
            },
        };
        let tun = match &self.tun {
            EncapTun::Geneve {
                next_proto,
                ver_opt_len,
                o_c,
                options,
                ..
            } => EncapTun::Geneve {
                vni: Be32::ALL_ONES,
                next_proto: *next_proto,
                ver_opt_len: *ver_opt_len,
                o_c: *o_c,
                options: options
                    .iter()
                    .map(|w| match w {
                        GeneveOptionWord::Data(_) => GeneveOptionWord::Data(Be32::ALL_ONES),
                        h => *h,
                    })
                    .collect(),
            },
            EncapTun::Vxlan { .. } => EncapTun::Vxlan {
                vni: Be32::ALL_ONES,
            },
        };
        EncapPlan {
            eth_src: [0xff; 6],
            eth_dst: [0xff; 6],
            eth_type: self.eth_type,
            vlan_tci: tmpl_val(self.vlan_tci),
            ip,
            udp_src: Be16::ALL_ONES,
            udp_dst: Be16::ALL_ONES,
            tun,
        }
    }
}

/// `struct doca_flow_actions` (values), its `actions_masks` and the
/// action descriptor. DOCA applies decap first, then the header rewrites
/// (on the headers that are outermost after decap), then encap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ActionsPlan {
    /// Decapsulation.
    pub decap: Option<DecapPlan>,
    /// `pop = true`: remove the outermost VLAN tag.
    pub pop_vlan: bool,
    /// `meta.pkt_meta` under a mask (host order).
    pub pkt_meta: Option<Field<u32>>,
    /// `meta.u32[i]` under a mask (host order): tag register `i`.
    pub scratch: [Option<Field<u32>>; SCRATCH_WORDS],
    /// `meta.mark` (host order): the mark handed to software with the packet.
    pub mark: Option<u32>,
    /// `outer` rewrites.
    pub rewrite: HeaderRewrite,
    /// TTL / hop-limit decrement.
    pub dec_ttl: Option<DecTtl>,
    /// `has_push = true`, `push.type = DOCA_FLOW_PUSH_ACTION_VLAN`,
    /// `push.vlan.tci`.
    pub push_vlan_tci: Option<Be16>,
    /// Encapsulation.
    pub encap: Option<EncapPlan>,
}

impl ActionsPlan {
    fn template(&self) -> Self {
        ActionsPlan {
            decap: self.decap,
            pop_vlan: self.pop_vlan,
            pkt_meta: tmpl(self.pkt_meta),
            scratch: self.scratch.map(tmpl),
            mark: tmpl_val(self.mark),
            rewrite: self.rewrite.template(),
            dec_ttl: self.dec_ttl,
            push_vlan_tci: tmpl_val(self.push_vlan_tci),
            encap: self.encap.as_ref().map(EncapPlan::template),
        }
    }

    /// True when no action is set (the pipe needs no actions array).
    pub fn is_empty(&self) -> bool {
        *self == ActionsPlan::default()
    }
}

/// Bits of `fwd.rss_outer_flags` / `rss_inner_flags` (`enum doca_rss_type`;
/// the values are DOCA 2.7's, the FFI maps them by name).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RssFlags(pub u32);

impl RssFlags {
    /// `DOCA_FLOW_RSS_IPV4`.
    pub const IPV4: RssFlags = RssFlags(1 << 0);
    /// `DOCA_FLOW_RSS_IPV6`.
    pub const IPV6: RssFlags = RssFlags(1 << 1);
    /// `DOCA_FLOW_RSS_UDP`.
    pub const UDP: RssFlags = RssFlags(1 << 2);
    /// `DOCA_FLOW_RSS_TCP`.
    pub const TCP: RssFlags = RssFlags(1 << 3);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: RssFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for RssFlags {
    type Output = RssFlags;
    fn bitor(self, rhs: RssFlags) -> RssFlags {
        RssFlags(self.0 | rhs.0)
    }
}

/// RSS forward (`fwd.rss_queues`, `num_of_queues`, `rss_*_flags`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RssPlan {
    /// Queue indices.
    pub queues: Vec<u16>,
    /// Hash fields on the outer headers (RSS level 0 or 1).
    pub outer_flags: RssFlags,
    /// Hash fields on the inner headers (RSS level 2).
    pub inner_flags: RssFlags,
}

/// `struct doca_flow_fwd`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FwdPlan {
    /// `DOCA_FLOW_FWD_NONE`: the rule has no fate; the packet takes the
    /// port's default path (rte_flow's implicit PASSTHRU).
    None,
    /// `DOCA_FLOW_FWD_DROP`.
    Drop,
    /// `DOCA_FLOW_FWD_PORT` with `port_id` (a DPDK port id; in switch mode
    /// the represented function or wire behind that representor). In a pipe
    /// template the id is [`PORT_ID_CHANGEABLE`].
    Port {
        /// DPDK port id.
        port_id: u16,
    },
    /// `DOCA_FLOW_FWD_PIPE`: continue in the first pipe of `group` (the
    /// caller resolves the group to a pipe). In a pipe template the group
    /// is `u32::MAX` and the pipe forward is `DOCA_FLOW_FWD_CHANGEABLE`.
    Pipe {
        /// Target group.
        group: u32,
    },
    /// `DOCA_FLOW_FWD_RSS` (Queue is RSS over one queue).
    Rss(RssPlan),
}

impl FwdPlan {
    fn template(&self) -> Self {
        match self {
            FwdPlan::Port { .. } => FwdPlan::Port {
                port_id: PORT_ID_CHANGEABLE,
            },
            FwdPlan::Pipe { .. } => FwdPlan::Pipe { group: u32::MAX },
            other => other.clone(),
        }
    }
}

/// `struct doca_flow_monitor`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MonitorPlan {
    /// `counter_type = DOCA_FLOW_RESOURCE_TYPE_NON_SHARED`.
    pub counter: bool,
    /// `aging_sec` (all ones in the pipe template: per entry).
    pub aging_sec: Option<u32>,
    /// `meter_type = DOCA_FLOW_RESOURCE_TYPE_SHARED`,
    /// `shared_meter.shared_meter_id`: the meter must exist as a DOCA
    /// shared meter with this id.
    pub shared_meter_id: Option<u32>,
}

impl MonitorPlan {
    fn template(self) -> Self {
        MonitorPlan {
            counter: self.counter,
            aging_sec: tmpl_val(self.aging_sec),
            shared_meter_id: tmpl_val(self.shared_meter_id),
        }
    }

    /// True when the pipe needs no monitor.
    pub fn is_empty(&self) -> bool {
        *self == MonitorPlan::default()
    }
}

/// Everything DOCA Flow needs to install one rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DocaPlan {
    /// DOCA mode the rule needs.
    pub mode: DocaMode,
    /// Pipe domain.
    pub domain: DocaDomain,
    /// Pipe type.
    pub pipe_type: DocaPipeType,
    /// rte_flow group: the pipe chain the rule belongs to.
    pub group: u32,
    /// rte_flow priority: position of the rule's pipe in its group's chain.
    pub priority: u32,
    /// Group 0: the group's first pipe is a root pipe.
    pub is_root: bool,
    /// Match and mask.
    pub matcher: MatchPlan,
    /// Actions.
    pub actions: ActionsPlan,
    /// Forward.
    pub fwd: FwdPlan,
    /// Monitor.
    pub monitor: MonitorPlan,
    /// GENEVE option parser the port must have.
    pub geneve_parser: Option<GeneveParserSpec>,
}

/// The shape of a pipe: a [`DocaPlan`] whose per-entry values are replaced
/// by DOCA's "changeable" all-ones placeholder (masks, selectors, constant
/// actions, forward kind and monitor kept). Rules with equal keys are
/// entries of one pipe; [`PipeKey::template`] is what the pipe is created
/// from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipeKey(DocaPlan);

impl PipeKey {
    /// The pipe template.
    pub fn template(&self) -> &DocaPlan {
        &self.0
    }
}

// ------------------------------------------------------------ errors

/// What DOCA Flow 2.7 (as declared in ffi-headers/doca/) cannot express.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Error)]
pub enum Unsupported {
    /// `port_representor` item: DOCA's `parser_meta.port_meta` names the
    /// port a packet entered the switch from; there is no match for "sent
    /// by the application through this ethdev".
    #[error("no DOCA match for traffic sent by the application through a representor (parser_meta.port_meta only names the source port)")]
    PortRepresentorMatch,
    /// An Ethernet `type` together with a VLAN item: DOCA's `eth.type` is
    /// the EtherType after the tags.
    #[error(
        "DOCA matches the EtherType after the VLAN tags; the tag's own EtherType cannot be matched"
    )]
    EtherTypeOfTaggedFrame,
    /// Tag register beyond the scratch words of `doca_flow_meta`.
    #[error("tag index 7 has no meta.u32[] scratch word (DOCA 2.7 has 7: indices 0..=6)")]
    TagIndexWithoutScratchWord,
    /// `mark` item: DOCA 2.7 documents `meta.mark` only as a value given to
    /// software with the packet.
    #[error("DOCA 2.7 has no documented match on meta.mark; carry the value in a tag (meta.u32[]) instead")]
    MarkMatch,
    /// `mark` action outside ingress.
    #[error("meta.mark reaches software only on NIC Rx (ingress rules)")]
    MarkOutsideIngress,
    /// `port_representor` fate.
    #[error("no DOCA 2.7 forward delivers to the application through a given representor (FWD_PORT reaches the represented function); use the pipe chain's miss path")]
    ToApplicationPort,
    /// RSS with a key.
    #[error("DOCA 2.7 RSS forwards have no per-rule key (only doca_flow_cfg_set_rss_key)")]
    RssKey,
    /// RSS level above 2.
    #[error("DOCA RSS hashes outer (level 0/1) or inner (level 2) headers only")]
    RssLevel,
    /// RSS over every Rx queue without a list.
    #[error("a DOCA RSS forward lists its queues; the plan does not know the port's Rx queue count (give the RSS action its queues)")]
    RssAllQueues,
    /// An RSS hash field DOCA has no bit for.
    #[error("enum doca_rss_type hashes IPv4/IPv6 addresses and TCP/UDP ports only, not testpmd's {}", .0.testpmd_name())]
    RssType(RssType),
    /// RSS restricted to source-only / destination-only fields.
    #[error("enum doca_rss_type has no l3/l4 src-only or dst-only bits")]
    RssSrcDstOnly,
    /// RSS over TCP and UDP ports at once.
    #[error("one DOCA RSS forward hashes either TCP or UDP ports, not both")]
    RssTcpAndUdp,
    /// `of_push_vlan` with a TPID other than 0x8100.
    #[error("DOCA's push action carries only the TCI (struct doca_flow_header_eth_vlan): the pushed tag is 802.1Q (0x8100)")]
    PushVlanTpid,
    /// VLAN actions in an order DOCA's fixed order (pop, rewrite, push)
    /// cannot reproduce, or a second push.
    #[error("DOCA applies one pop, then rewrites, then one push; this VLAN action order cannot be reproduced")]
    VlanActionOrder,
    /// A header rewrite before the decap (DOCA decaps first).
    #[error("DOCA decapsulates before rewriting headers; a rewrite before raw_decap cannot be reproduced")]
    RewriteBeforeDecap,
    /// GENEVE options longer than one encap can push.
    #[error("GENEVE options longer than DOCA_FLOW_ENCAP_GENEVE_OPT_LEN_MAX (19 words)")]
    EncapGeneveOptionsTooLong,
    /// A rewrite whose header the pattern does not name (unreachable for
    /// validated rules).
    #[error("the rewritten header is not in the pattern")]
    RewriteTargetUnknown,
}

/// Why a rule has no DOCA plan.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DocaMapError {
    /// The rule fails [`Rule::validate`].
    #[error("invalid rule: {0}")]
    Invalid(#[from] RuleError),
    /// A pattern item DOCA cannot express.
    #[error("pattern item {index} ({kind}) has no DOCA Flow 2.7 mapping: {reason}")]
    Item {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
        /// Why.
        reason: Unsupported,
    },
    /// An action DOCA cannot express.
    #[error("action {index} ({kind}) has no DOCA Flow 2.7 mapping: {reason}")]
    Action {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
        /// Why.
        reason: Unsupported,
    },
}

impl DocaMapError {
    /// The DOCA gap, unless the rule is invalid.
    pub fn reason(&self) -> Option<Unsupported> {
        match self {
            DocaMapError::Invalid(_) => None,
            DocaMapError::Item { reason, .. } | DocaMapError::Action { reason, .. } => {
                Some(*reason)
            }
        }
    }
}

fn item_err(index: usize, kind: ItemKind, reason: Unsupported) -> DocaMapError {
    DocaMapError::Item {
        index,
        kind,
        reason,
    }
}

fn action_err(index: usize, kind: ActionKind, reason: Unsupported) -> DocaMapError {
    DocaMapError::Action {
        index,
        kind,
        reason,
    }
}

// ------------------------------------------------------------ field conversion

fn live<T: crate::field::MaskBits>(m: &Option<Masked<T>>) -> Option<Masked<T>> {
    m.filter(|m| !m.is_wildcard())
}

fn f_mac(m: &Option<Masked<MacAddr>>) -> Option<Field<[u8; 6]>> {
    live(m).map(|m| Field {
        value: m.value().0,
        mask: m.mask().0,
    })
}

fn f_be16(m: &Option<Masked<u16>>) -> Option<Field<Be16>> {
    live(m).map(|m| Field {
        value: Be16::new(m.value()),
        mask: Be16::new(m.mask()),
    })
}

fn f_u8(m: &Option<Masked<u8>>) -> Option<Field<u8>> {
    live(m).map(|m| Field {
        value: m.value(),
        mask: m.mask(),
    })
}

fn f_u32(m: Masked<u32>) -> Option<Field<u32>> {
    (!m.is_wildcard()).then(|| Field {
        value: m.value(),
        mask: m.mask(),
    })
}

/// A 24-bit VNI in the upper bits of a big-endian word.
fn f_vni(m: &Option<Masked<u32>>) -> Option<Field<Be32>> {
    live(m).map(|m| Field {
        value: Be32::new(m.value() << 8),
        mask: Be32::new(m.mask() << 8),
    })
}

fn f_ip4(m: &Option<Masked<Ipv4Addr>>) -> Option<Field<Be32>> {
    live(m).map(|m| Field {
        value: m.value().into(),
        mask: m.mask().into(),
    })
}

fn f_ip6(m: &Option<Masked<Ipv6Addr>>) -> Option<Field<Ip6Words>> {
    live(m).map(|m| Field {
        value: ip6_words(m.value()),
        mask: ip6_words(m.mask()),
    })
}

fn vlan_tci(m: &VlanMatch) -> Option<Field<Be16>> {
    let (vid, vid_mask) = live(&m.vid).map_or((0, 0), |f| (f.value(), f.mask()));
    let (pcp, pcp_mask) = live(&m.pcp).map_or((0, 0), |f| (f.value(), f.mask()));
    let mask = (u16::from(pcp_mask & 0x7) << 13) | (vid_mask & 0x0fff);
    if mask == 0 {
        return None;
    }
    let value = (u16::from(pcp & 0x7) << 13) | (vid & 0x0fff);
    Some(Field {
        value: Be16::new(value & mask),
        mask: Be16::new(mask),
    })
}

// ------------------------------------------------------------ pattern

/// Per-stack state of the pattern walk.
#[derive(Default)]
struct StackState {
    header: HeaderMatch,
    /// Index of the Eth item that set `eth_type`.
    eth_type_item: Option<usize>,
}

#[derive(Default)]
struct PatternWalk {
    matcher: MatchPlan,
    inner: bool,
    outer: StackState,
    inner_stack: StackState,
    parser: Option<GeneveParserSpec>,
}

impl PatternWalk {
    fn stack(&mut self) -> &mut StackState {
        if self.inner {
            &mut self.inner_stack
        } else {
            &mut self.outer
        }
    }

    fn item(&mut self, index: usize, item: &Item) -> Result<(), DocaMapError> {
        let kind = item.kind();
        match item {
            Item::RepresentedPort(ethdev_port_id) => {
                self.matcher.port_meta = Some(u32::from(*ethdev_port_id));
            }
            Item::PortRepresentor(_) => {
                return Err(item_err(index, kind, Unsupported::PortRepresentorMatch));
            }
            Item::Eth(m) => self.eth(index, m),
            Item::Vlan(m) => self.vlan(m)?,
            Item::Ipv4(m) => self.ipv4(m),
            Item::Ipv6(m) => self.ipv6(m),
            Item::Tcp(m) => self.tcp(m),
            Item::Udp(m) => self.udp(m),
            Item::Icmp(m) => self.icmp(&m.icmp_type, &m.code, f_be16(&m.ident)),
            Item::Icmp6(m) => self.icmp6(&m.icmp_type, &m.code),
            Item::Geneve(m) => self.geneve(m),
            Item::GeneveOpt(o) => self.geneve_opt(o),
            Item::Vxlan(m) => self.vxlan(m),
            Item::Meta(m) => self.matcher.pkt_meta = f_u32(*m),
            Item::Tag { index: tag, data } => {
                let slot = self
                    .matcher
                    .scratch
                    .get_mut(usize::from(*tag))
                    .ok_or_else(|| {
                        item_err(index, kind, Unsupported::TagIndexWithoutScratchWord)
                    })?;
                *slot = f_u32(*data);
            }
            Item::Mark(_) => return Err(item_err(index, kind, Unsupported::MarkMatch)),
        }
        Ok(())
    }

    fn eth(&mut self, index: usize, m: &EthMatch) {
        let s = self.stack();
        s.header.eth_dst = f_mac(&m.dst);
        s.header.eth_src = f_mac(&m.src);
        s.header.eth_type = f_be16(&m.ether_type);
        s.eth_type_item = s.header.eth_type.map(|_| index);
    }

    fn vlan(&mut self, m: &VlanMatch) -> Result<(), DocaMapError> {
        let s = self.stack();
        if let Some(eth_index) = s.eth_type_item {
            return Err(item_err(
                eth_index,
                ItemKind::Eth,
                Unsupported::EtherTypeOfTaggedFrame,
            ));
        }
        s.header.vlan = true;
        s.header.vlan_tci = vlan_tci(m);
        s.header.eth_type = f_be16(&m.inner_type);
        Ok(())
    }

    fn ipv4(&mut self, m: &Ipv4Match) {
        self.stack().header.l3 = Some(L3Match::Ip4 {
            src: f_ip4(&m.src),
            dst: f_ip4(&m.dst),
            next_proto: f_u8(&m.proto),
            ttl: f_u8(&m.ttl),
            dscp_ecn: f_u8(&m.tos_byte()),
        });
    }

    fn ipv6(&mut self, m: &Ipv6Match) {
        self.stack().header.l3 = Some(L3Match::Ip6 {
            src: f_ip6(&m.src),
            dst: f_ip6(&m.dst),
            next_proto: f_u8(&m.proto),
            hop_limit: f_u8(&m.hop_limit),
            traffic_class: f_u8(&m.traffic_class_byte()),
        });
    }

    fn tcp(&mut self, m: &TcpMatch) {
        self.stack().header.l4 = Some(L4Match::Tcp {
            src_port: f_be16(&m.src_port),
            dst_port: f_be16(&m.dst_port),
            flags: f_u8(&m.flags),
        });
    }

    fn udp(&mut self, m: &UdpMatch) {
        self.stack().header.l4 = Some(L4Match::Udp {
            src_port: f_be16(&m.src_port),
            dst_port: f_be16(&m.dst_port),
        });
    }

    fn icmp(
        &mut self,
        icmp_type: &Option<Masked<u8>>,
        code: &Option<Masked<u8>>,
        ident: Option<Field<Be16>>,
    ) {
        self.stack().header.l4 = Some(L4Match::Icmp {
            icmp_type: f_u8(icmp_type),
            code: f_u8(code),
            ident,
        });
    }

    fn icmp6(&mut self, icmp_type: &Option<Masked<u8>>, code: &Option<Masked<u8>>) {
        self.stack().header.l4 = Some(L4Match::Icmp6 {
            icmp_type: f_u8(icmp_type),
            code: f_u8(code),
        });
    }

    fn geneve(&mut self, m: &GeneveMatch) {
        self.matcher.tun = Some(TunnelMatch::Geneve {
            vni: f_vni(&m.vni),
            next_proto: f_be16(&m.protocol),
            option: None,
        });
        self.inner = true;
    }

    fn geneve_opt(&mut self, o: &GeneveOptMatch) {
        let data: Vec<Field<Be32>> = o
            .data
            .iter()
            .map(|w| Field {
                value: Be32::new(w.value()),
                mask: Be32::new(w.mask()),
            })
            .collect();
        let class = Be16::new(o.class);
        self.parser = Some(GeneveParserSpec {
            class,
            option_type: o.option_type,
            length: o.length,
            data_mask: o
                .data
                .iter()
                .map(|w| {
                    if w.is_wildcard() {
                        Be32::default()
                    } else {
                        Be32::ALL_ONES
                    }
                })
                .collect(),
        });
        if let Some(TunnelMatch::Geneve { option, .. }) = &mut self.matcher.tun {
            *option = Some(GeneveOptionMatch {
                class,
                option_type: o.option_type,
                length: o.length,
                data,
            });
        }
    }

    fn vxlan(&mut self, m: &VxlanMatch) {
        self.matcher.tun = Some(TunnelMatch::Vxlan { vni: f_vni(&m.vni) });
        self.inner = true;
    }

    fn finish(mut self) -> (MatchPlan, Option<GeneveParserSpec>) {
        self.matcher.outer = self.outer.header;
        self.matcher.inner = self.inner_stack.header;
        (self.matcher, self.parser)
    }
}

// ------------------------------------------------------------ actions

struct ActionWalk<'a> {
    rule: &'a Rule,
    matcher: &'a MatchPlan,
    actions: ActionsPlan,
    fwd: FwdPlan,
    monitor: MonitorPlan,
    /// A rewrite (or VLAN action) was seen: a later decap would reorder.
    rewritten: bool,
    /// A push was seen: later VLAN rewrites set the pushed tag's TCI.
    pushed: bool,
}

impl ActionWalk<'_> {
    /// The header stack rewrites act on at this point.
    fn stack(&self) -> &HeaderMatch {
        if self.actions.decap.is_some() {
            &self.matcher.inner
        } else {
            &self.matcher.outer
        }
    }

    fn action(&mut self, index: usize, action: &Action) -> Result<(), DocaMapError> {
        let kind = action.kind();
        let err = |reason| action_err(index, kind, reason);
        match action {
            Action::Drop => self.fwd = FwdPlan::Drop,
            Action::Count => self.monitor.counter = true,
            Action::Queue(q) => {
                self.fwd = FwdPlan::Rss(RssPlan {
                    queues: vec![*q],
                    outer_flags: RssFlags::IPV4 | RssFlags::IPV6,
                    inner_flags: RssFlags::default(),
                });
            }
            Action::Rss(rss) => self.fwd = FwdPlan::Rss(rss_plan(rss).map_err(err)?),
            Action::RepresentedPort(port_id) => self.fwd = FwdPlan::Port { port_id: *port_id },
            Action::PortRepresentor(_) => return Err(err(Unsupported::ToApplicationPort)),
            Action::Jump(group) => self.fwd = FwdPlan::Pipe { group: *group },
            Action::Mark(id) => {
                if self.rule.attr.direction != Direction::Ingress {
                    return Err(err(Unsupported::MarkOutsideIngress));
                }
                self.actions.mark = Some(*id);
            }
            Action::SetTag {
                index: tag,
                data,
                mask,
            } => {
                let slot = self
                    .actions
                    .scratch
                    .get_mut(usize::from(*tag))
                    .ok_or_else(|| err(Unsupported::TagIndexWithoutScratchWord))?;
                *slot = merge_write(*slot, *data, *mask);
            }
            Action::SetMeta { data, mask } => {
                self.actions.pkt_meta = merge_write(self.actions.pkt_meta, *data, *mask);
            }
            Action::RawEncap(e) => self.actions.encap = Some(encap_plan(e).map_err(err)?),
            Action::RawDecap(_) => {
                if self.rewritten {
                    return Err(err(Unsupported::RewriteBeforeDecap));
                }
                self.actions.decap = Some(DecapPlan { is_l2: true });
            }
            Action::PushVlan { ether_type } => {
                if *ether_type != ETHER_TYPE_VLAN {
                    return Err(err(Unsupported::PushVlanTpid));
                }
                if self.pushed {
                    return Err(err(Unsupported::VlanActionOrder));
                }
                self.pushed = true;
                self.rewritten = true;
                self.actions.push_vlan_tci = Some(Be16::new(0));
            }
            Action::SetVlanVid(vid) => self.set_tci(index, kind, *vid & 0x0fff, 0x0fff)?,
            Action::SetVlanPcp(pcp) => {
                self.set_tci(index, kind, u16::from(*pcp & 0x7) << 13, 0xe000)?
            }
            Action::PopVlan => {
                if self.pushed || self.actions.rewrite.vlan_tci.is_some() {
                    return Err(err(Unsupported::VlanActionOrder));
                }
                self.rewritten = true;
                self.actions.pop_vlan = true;
            }
            Action::SetMacSrc(mac) => self.rewrite().eth_src = Some(mac.0),
            Action::SetMacDst(mac) => self.rewrite().eth_dst = Some(mac.0),
            Action::SetIpv4Src(a) => self.set_ip4(Some((*a).into()), None),
            Action::SetIpv4Dst(a) => self.set_ip4(None, Some((*a).into())),
            Action::SetIpv6Src(a) => self.set_ip6(Some(ip6_words(*a)), None),
            Action::SetIpv6Dst(a) => self.set_ip6(None, Some(ip6_words(*a))),
            Action::SetTpSrc(p) => self.set_tp(index, kind, Some(Be16::new(*p)), None)?,
            Action::SetTpDst(p) => self.set_tp(index, kind, None, Some(Be16::new(*p)))?,
            Action::DecTtl => {
                let l3 = self
                    .stack()
                    .l3
                    .ok_or_else(|| err(Unsupported::RewriteTargetUnknown))?;
                self.rewritten = true;
                self.actions.dec_ttl = Some(match l3.l3_type() {
                    L3Type::Ip4 => DecTtl::Ipv4,
                    L3Type::Ip6 => DecTtl::Ipv6,
                });
            }
            Action::Age { timeout } => self.monitor.aging_sec = Some(*timeout),
            Action::Meter(id) => self.monitor.shared_meter_id = Some(*id),
        }
        Ok(())
    }

    fn rewrite(&mut self) -> &mut HeaderRewrite {
        self.rewritten = true;
        &mut self.actions.rewrite
    }

    fn set_tci(
        &mut self,
        index: usize,
        kind: ActionKind,
        bits: u16,
        mask: u16,
    ) -> Result<(), DocaMapError> {
        self.rewritten = true;
        if self.pushed {
            let tci = self.actions.push_vlan_tci.unwrap_or_default().get();
            self.actions.push_vlan_tci = Some(Be16::new((tci & !mask) | bits));
            return Ok(());
        }
        if self.actions.pop_vlan {
            return Err(action_err(index, kind, Unsupported::VlanActionOrder));
        }
        let old = self
            .actions
            .rewrite
            .vlan_tci
            .map_or((0, 0), |f| (f.value.get(), f.mask.get()));
        self.actions.rewrite.vlan_tci = Some(Field {
            value: Be16::new((old.0 & !mask) | bits),
            mask: Be16::new(old.1 | mask),
        });
        Ok(())
    }

    fn set_ip4(&mut self, src: Option<Be32>, dst: Option<Be32>) {
        let r = self.rewrite();
        let (old_src, old_dst) = match r.l3 {
            Some(L3Rewrite::Ip4 { src, dst }) => (src, dst),
            _ => (None, None),
        };
        r.l3 = Some(L3Rewrite::Ip4 {
            src: src.or(old_src),
            dst: dst.or(old_dst),
        });
    }

    fn set_ip6(&mut self, src: Option<Ip6Words>, dst: Option<Ip6Words>) {
        let r = self.rewrite();
        let (old_src, old_dst) = match r.l3 {
            Some(L3Rewrite::Ip6 { src, dst }) => (src, dst),
            _ => (None, None),
        };
        r.l3 = Some(L3Rewrite::Ip6 {
            src: src.or(old_src),
            dst: dst.or(old_dst),
        });
    }

    fn set_tp(
        &mut self,
        index: usize,
        kind: ActionKind,
        src: Option<Be16>,
        dst: Option<Be16>,
    ) -> Result<(), DocaMapError> {
        let proto = match self.stack().l4 {
            Some(L4Match::Tcp { .. }) => L4Proto::Tcp,
            Some(L4Match::Udp { .. }) => L4Proto::Udp,
            _ => return Err(action_err(index, kind, Unsupported::RewriteTargetUnknown)),
        };
        let r = self.rewrite();
        let old = r.l4.filter(|l4| l4.proto == proto);
        r.l4 = Some(L4Rewrite {
            proto,
            src_port: src.or(old.and_then(|o| o.src_port)),
            dst_port: dst.or(old.and_then(|o| o.dst_port)),
        });
        Ok(())
    }
}

/// Writes `data` under `mask` over an earlier write of the same register.
fn merge_write(old: Option<Field<u32>>, data: u32, mask: u32) -> Option<Field<u32>> {
    let (v, m) = old.map_or((0, 0), |f| (f.value, f.mask));
    Some(Field {
        value: (v & !mask) | (data & mask),
        mask: m | mask,
    })
}

fn rss_plan(rss: &RssAction) -> Result<RssPlan, Unsupported> {
    if rss.level > 2 {
        return Err(Unsupported::RssLevel);
    }
    if rss.key.is_some() {
        return Err(Unsupported::RssKey);
    }
    let queues = rss.queues.clone().ok_or(Unsupported::RssAllQueues)?;
    let ip = RssFlags::IPV4 | RssFlags::IPV6;
    let flags = match &rss.types {
        // testpmd's default (`types` omitted) is RTE_ETH_RSS_IP; rte_flow
        // `types 0` is the PMD default, mlx5's is RTE_ETH_RSS_IP too.
        None => ip,
        Some(types) if types.is_empty() => ip,
        Some(types) => {
            let mut flags = RssFlags::default();
            for t in types {
                flags = flags | rss_flags(*t)?;
            }
            flags
        }
    };
    if flags.contains(RssFlags::TCP | RssFlags::UDP) {
        return Err(Unsupported::RssTcpAndUdp);
    }
    let (outer_flags, inner_flags) = if rss.level == 2 {
        (RssFlags::default(), flags)
    } else {
        (flags, RssFlags::default())
    };
    Ok(RssPlan {
        queues,
        outer_flags,
        inner_flags,
    })
}

/// The DOCA RSS bits of one testpmd RSS type (IPv4/IPv6 addresses, TCP or
/// UDP ports; fragments and IPv6 extension headers hash on the same
/// fields).
fn rss_flags(t: RssType) -> Result<RssFlags, Unsupported> {
    let (v4, v6) = (RssFlags::IPV4, RssFlags::IPV6);
    Ok(match t {
        RssType::Ip => v4 | v6,
        RssType::Tcp => v4 | v6 | RssFlags::TCP,
        RssType::Udp => v4 | v6 | RssFlags::UDP,
        RssType::Ipv4 | RssType::Ipv4Frag | RssType::Ipv4Other => v4,
        RssType::Ipv4Tcp => v4 | RssFlags::TCP,
        RssType::Ipv4Udp => v4 | RssFlags::UDP,
        RssType::Ipv6 | RssType::Ipv6Frag | RssType::Ipv6Other | RssType::Ipv6Ex => v6,
        RssType::Ipv6Tcp | RssType::Ipv6TcpEx => v6 | RssFlags::TCP,
        RssType::Ipv6Udp | RssType::Ipv6UdpEx => v6 | RssFlags::UDP,
        RssType::L3SrcOnly | RssType::L3DstOnly | RssType::L4SrcOnly | RssType::L4DstOnly => {
            return Err(Unsupported::RssSrcDstOnly)
        }
        other => return Err(Unsupported::RssType(other)),
    })
}

fn encap_plan(e: &TunnelEncap) -> Result<EncapPlan, Unsupported> {
    let ip_type = match e.ip {
        OuterIp::V4 { .. } => ETHER_TYPE_IPV4,
        OuterIp::V6 { .. } => ETHER_TYPE_IPV6,
    };
    let ip = match e.ip {
        OuterIp::V4 {
            src,
            dst,
            ttl,
            tos,
            dont_fragment,
        } => EncapIp::V4 {
            src: src.into(),
            dst: dst.into(),
            ttl,
            dscp_ecn: tos,
            flags_fragment_offset: Be16::new(if dont_fragment { 0x4000 } else { 0 }),
        },
        OuterIp::V6 {
            src,
            dst,
            hop_limit,
            traffic_class,
        } => EncapIp::V6 {
            src: ip6_words(src),
            dst: ip6_words(dst),
            hop_limit,
            traffic_class,
        },
    };
    let tun = match &e.tunnel {
        EncapTunnel::Geneve { vni, option } => {
            let mut options = Vec::new();
            if let Some(o) = option {
                options.push(GeneveOptionWord::Header {
                    class: Be16::new(o.class),
                    option_type: o.option_type,
                    length: u8::try_from(o.data.len())
                        .map_err(|_| Unsupported::EncapGeneveOptionsTooLong)?,
                });
                options.extend(o.data.iter().map(|w| GeneveOptionWord::Data(Be32::new(*w))));
            }
            if options.len() > ENCAP_GENEVE_OPT_WORDS_MAX {
                return Err(Unsupported::EncapGeneveOptionsTooLong);
            }
            EncapTun::Geneve {
                vni: Be32::new(vni << 8),
                next_proto: Be16::new(GENEVE_PROTO_ETHERNET),
                ver_opt_len: u8::try_from(options.len())
                    .map_err(|_| Unsupported::EncapGeneveOptionsTooLong)?,
                o_c: if option.as_ref().is_some_and(GeneveOption::is_critical) {
                    GENEVE_FLAG_CRITICAL
                } else {
                    0
                },
                options,
            }
        }
        EncapTunnel::Vxlan { vni } => EncapTun::Vxlan {
            vni: Be32::new(vni << 8),
        },
    };
    Ok(EncapPlan {
        eth_src: e.eth_src.0,
        eth_dst: e.eth_dst.0,
        eth_type: Be16::new(if e.vlan.is_some() {
            ETHER_TYPE_VLAN
        } else {
            ip_type
        }),
        vlan_tci: e.vlan.map(|t| Be16::new(t.tci())),
        ip,
        udp_src: Be16::new(e.udp_src),
        udp_dst: Be16::new(e.udp_dst),
        tun,
    })
}

// ------------------------------------------------------------ the plan

impl DocaPlan {
    /// Validates `rule` and maps it; the first item, then action, DOCA
    /// cannot express is reported.
    pub fn from_rule(rule: &Rule) -> Result<DocaPlan, DocaMapError> {
        rule.validate()?;
        let (mode, domain) = match rule.attr.direction {
            Direction::Ingress => (DocaMode::Vnf, DocaDomain::Default),
            Direction::Egress => (DocaMode::Vnf, DocaDomain::Egress),
            Direction::Transfer => (DocaMode::Switch, DocaDomain::Default),
        };
        let mut pattern = PatternWalk::default();
        for (index, item) in rule.pattern.iter().enumerate() {
            pattern.item(index, item)?;
        }
        let (matcher, geneve_parser) = pattern.finish();
        let mut walk = ActionWalk {
            rule,
            matcher: &matcher,
            actions: ActionsPlan::default(),
            fwd: FwdPlan::None,
            monitor: MonitorPlan::default(),
            rewritten: false,
            pushed: false,
        };
        for (index, action) in rule.actions.iter().enumerate() {
            walk.action(index, action)?;
        }
        let ActionWalk {
            actions,
            fwd,
            monitor,
            ..
        } = walk;
        Ok(DocaPlan {
            mode,
            domain,
            pipe_type: DocaPipeType::Basic,
            group: rule.attr.group,
            priority: rule.attr.priority,
            is_root: rule.attr.group == 0,
            matcher,
            actions,
            fwd,
            monitor,
            geneve_parser,
        })
    }

    /// The pipe this rule is an entry of: the plan with every per-entry
    /// value replaced by DOCA's all-ones "changeable" placeholder.
    pub fn pipe_key(&self) -> PipeKey {
        PipeKey(DocaPlan {
            mode: self.mode,
            domain: self.domain,
            pipe_type: self.pipe_type,
            group: self.group,
            priority: self.priority,
            is_root: self.is_root,
            matcher: self.matcher.template(),
            actions: self.actions.template(),
            fwd: self.fwd.template(),
            monitor: self.monitor.template(),
            geneve_parser: self.geneve_parser.clone(),
        })
    }
}
