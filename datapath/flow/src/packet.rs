//! The parsed-header summary the software classifier matches against.
//!
//! The datapath fills a [`PacketKey`] from a packet: `outer` holds the
//! outermost headers; when the packet is Geneve/VXLAN-encapsulated,
//! `tunnel` describes the tunnel header and `inner` the encapsulated
//! headers. Absent headers are `None`. [`PacketKey::apply`] replays an
//! action on the key, which the classifier uses across jumps.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::action::Action;
use super::field::MacAddr;
use super::item::GENEVE_OPT_MATCH_MAX_WORDS;
use super::tunnel::{
    EncapTunnel, GeneveOption, OuterIp, TunnelEncap, ETHER_TYPE_IPV4, ETHER_TYPE_IPV6,
    ETHER_TYPE_VLAN, GENEVE_PROTO_ETHERNET, IPPROTO_UDP,
};

/// Number of tag registers.
pub const TAG_COUNT: usize = 8;

/// Where the packet entered the embedded switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InPort {
    /// From the entity represented by this ethdev (VF, wire).
    RepresentedPort(u16),
    /// From this ethdev itself (sent by the application).
    PortRepresentor(u16),
}

/// Ethernet header fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EthHeader {
    /// Destination.
    pub dst: MacAddr,
    /// Source.
    pub src: MacAddr,
    /// EtherType after the addresses (0x8100 when tagged).
    pub ether_type: u16,
}

/// VLAN tag fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VlanHeader {
    /// VLAN id.
    pub vid: u16,
    /// Priority code point.
    pub pcp: u8,
    /// EtherType after the tag.
    pub inner_type: u16,
}

/// IPv4 header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Header {
    /// Source.
    pub src: Ipv4Addr,
    /// Destination.
    pub dst: Ipv4Addr,
    /// Protocol.
    pub proto: u8,
    /// TTL.
    pub ttl: u8,
    /// DSCP (0..=63).
    pub dscp: u8,
    /// ECN (0..=3).
    pub ecn: u8,
}

/// IPv6 header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Header {
    /// Source.
    pub src: Ipv6Addr,
    /// Destination.
    pub dst: Ipv6Addr,
    /// Next header.
    pub proto: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// DSCP (0..=63).
    pub dscp: u8,
    /// ECN (0..=3).
    pub ecn: u8,
}

/// The network header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum L3Header {
    /// None or not IP.
    #[default]
    None,
    /// IPv4.
    V4(Ipv4Header),
    /// IPv6.
    V6(Ipv6Header),
}

/// The transport header (ports in host order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum L4Header {
    /// None or another protocol.
    #[default]
    None,
    /// TCP.
    Tcp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// Flags byte.
        flags: u8,
    },
    /// UDP.
    Udp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
    },
    /// ICMP.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
        /// Bytes 4..6 of the header (the echo identifier of echo request
        /// and reply; 0 for a message without one).
        ident: u16,
    },
    /// ICMPv6.
    Icmp6 {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
}

/// One header stack (outer, or inner of a tunnel).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HeaderKey {
    /// Ethernet header.
    pub eth: Option<EthHeader>,
    /// First VLAN tag.
    pub vlan: Option<VlanHeader>,
    /// Network header.
    pub l3: L3Header,
    /// Transport header.
    pub l4: L4Header,
}

/// Tunnel protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// Geneve.
    Geneve,
    /// VXLAN.
    Vxlan,
}

/// The first Geneve option of a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GeneveOptKey {
    /// Class.
    pub class: u16,
    /// Type.
    pub option_type: u8,
    /// Data length in words.
    pub length: u8,
    /// The first data words (unused words are zero).
    pub data: [u32; GENEVE_OPT_MATCH_MAX_WORDS as usize],
}

/// The tunnel header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TunnelKey {
    /// Tunnel protocol.
    pub kind: TunnelKind,
    /// VNI.
    pub vni: u32,
    /// Geneve protocol type (0 for VXLAN).
    pub protocol: u16,
    /// First Geneve option.
    pub option: Option<GeneveOptKey>,
}

/// Everything a rule can match in a packet. Plain `Copy` data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PacketKey {
    /// Switch ingress port (transfer domain).
    pub in_port: Option<InPort>,
    /// Outermost headers.
    pub outer: HeaderKey,
    /// Tunnel header, when encapsulated.
    pub tunnel: Option<TunnelKey>,
    /// Encapsulated headers (meaningful only with `tunnel`).
    pub inner: HeaderKey,
    /// Metadata register.
    pub meta: u32,
    /// Tag registers.
    pub tags: [u32; TAG_COUNT],
    /// Mark set by an earlier rule.
    pub mark: Option<u32>,
}

impl PacketKey {
    /// Applies one action to the key, as the NIC would to the packet:
    /// metadata writes (mark, tag, meta), header rewrites on the outermost
    /// headers, VLAN push/pop, encap (the current headers become `inner`)
    /// and decap (`inner` becomes `outer`). Fates, count, age and meter do
    /// not change the key.
    pub fn apply(&mut self, action: &Action) {
        match action {
            Action::Mark(id) => self.mark = Some(*id),
            Action::SetTag { index, data, mask } => {
                if let Some(t) = self.tags.get_mut(usize::from(*index)) {
                    *t = (*t & !mask) | (data & mask);
                }
            }
            Action::SetMeta { data, mask } => self.meta = (self.meta & !mask) | (data & mask),
            Action::RawDecap(_) => {
                if self.tunnel.take().is_some() {
                    self.outer = std::mem::take(&mut self.inner);
                }
            }
            Action::RawEncap(e) => self.encapsulate(e),
            _ => self.outer.apply(action),
        }
    }

    fn encapsulate(&mut self, e: &TunnelEncap) {
        self.inner = self.outer;
        self.outer = HeaderKey::from_encap(e);
        self.tunnel = Some(match &e.tunnel {
            EncapTunnel::Geneve { vni, option } => TunnelKey {
                kind: TunnelKind::Geneve,
                vni: *vni,
                protocol: GENEVE_PROTO_ETHERNET,
                option: option.as_ref().map(GeneveOptKey::from_option),
            },
            EncapTunnel::Vxlan { vni } => TunnelKey {
                kind: TunnelKind::Vxlan,
                vni: *vni,
                protocol: 0,
                option: None,
            },
        });
    }
}

impl GeneveOptKey {
    /// The key of an encapsulation option (data beyond the first
    /// [`GENEVE_OPT_MATCH_MAX_WORDS`] words is not represented).
    pub fn from_option(o: &GeneveOption) -> Self {
        let mut data = [0u32; GENEVE_OPT_MATCH_MAX_WORDS as usize];
        for (d, s) in data.iter_mut().zip(&o.data) {
            *d = *s;
        }
        GeneveOptKey {
            class: o.class,
            option_type: o.option_type,
            length: u8::try_from(o.data.len()).unwrap_or(u8::MAX),
            data,
        }
    }
}

impl HeaderKey {
    /// The outer headers pushed by `e`.
    pub fn from_encap(e: &TunnelEncap) -> Self {
        let (ether_type, l3) = match e.ip {
            OuterIp::V4 {
                src, dst, ttl, tos, ..
            } => (
                ETHER_TYPE_IPV4,
                L3Header::V4(Ipv4Header {
                    src,
                    dst,
                    proto: IPPROTO_UDP,
                    ttl,
                    dscp: tos >> 2,
                    ecn: tos & 3,
                }),
            ),
            OuterIp::V6 {
                src,
                dst,
                hop_limit,
                traffic_class,
            } => (
                ETHER_TYPE_IPV6,
                L3Header::V6(Ipv6Header {
                    src,
                    dst,
                    proto: IPPROTO_UDP,
                    hop_limit,
                    dscp: traffic_class >> 2,
                    ecn: traffic_class & 3,
                }),
            ),
        };
        let vlan = e.vlan.map(|t| VlanHeader {
            vid: t.vid,
            pcp: t.pcp,
            inner_type: ether_type,
        });
        HeaderKey {
            eth: Some(EthHeader {
                dst: e.eth_dst,
                src: e.eth_src,
                ether_type: if vlan.is_some() {
                    ETHER_TYPE_VLAN
                } else {
                    ether_type
                },
            }),
            vlan,
            l3,
            l4: L4Header::Udp {
                src: e.udp_src,
                dst: e.udp_dst,
            },
        }
    }

    /// Applies a header rewrite or VLAN action to these headers.
    pub fn apply(&mut self, action: &Action) {
        match action {
            Action::SetMacSrc(m) => self.eth.iter_mut().for_each(|e| e.src = *m),
            Action::SetMacDst(m) => self.eth.iter_mut().for_each(|e| e.dst = *m),
            Action::PushVlan { ether_type } => self.push_vlan(*ether_type),
            Action::PopVlan => self.pop_vlan(),
            Action::SetVlanVid(v) => self.vlan.iter_mut().for_each(|t| t.vid = *v),
            Action::SetVlanPcp(p) => self.vlan.iter_mut().for_each(|t| t.pcp = *p),
            _ => self.apply_l3_l4(action),
        }
    }

    fn push_vlan(&mut self, tpid: u16) {
        let inner_type = self.eth.map_or(0, |e| e.ether_type);
        self.vlan = Some(VlanHeader {
            vid: 0,
            pcp: 0,
            inner_type,
        });
        if let Some(e) = &mut self.eth {
            e.ether_type = tpid;
        }
    }

    fn pop_vlan(&mut self) {
        if let Some(tag) = self.vlan.take() {
            if let Some(e) = &mut self.eth {
                e.ether_type = tag.inner_type;
            }
        }
    }

    fn apply_l3_l4(&mut self, action: &Action) {
        match (action, &mut self.l3, &mut self.l4) {
            (Action::SetIpv4Src(a), L3Header::V4(ip), _) => ip.src = *a,
            (Action::SetIpv4Dst(a), L3Header::V4(ip), _) => ip.dst = *a,
            (Action::SetIpv6Src(a), L3Header::V6(ip), _) => ip.src = *a,
            (Action::SetIpv6Dst(a), L3Header::V6(ip), _) => ip.dst = *a,
            (Action::DecTtl, L3Header::V4(ip), _) => ip.ttl = ip.ttl.saturating_sub(1),
            (Action::DecTtl, L3Header::V6(ip), _) => ip.hop_limit = ip.hop_limit.saturating_sub(1),
            (Action::SetTpSrc(p), _, L4Header::Tcp { src, .. } | L4Header::Udp { src, .. }) => {
                *src = *p
            }
            (Action::SetTpDst(p), _, L4Header::Tcp { dst, .. } | L4Header::Udp { dst, .. }) => {
                *dst = *p
            }
            _ => {}
        }
    }
}
