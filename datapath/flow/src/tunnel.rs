//! Tunnel headers for `RawEncap` / `RawDecap`: the outer
//! `eth / [vlan] / ipv4|ipv6 / udp / geneve [+ option] | vxlan` stack,
//! described field by field and serialized with [`TunnelEncap::encap_bytes`]
//! / [`TunnelDecap::decap_bytes`].
//!
//! The byte layout is exactly what DPDK 22.11 testpmd builds from the
//! matching `set raw_encap` / `set raw_decap` command (`cmd_set_raw_parsed`),
//! but for the Geneve C flag, set when the option is critical (testpmd has
//! no token for it):
//! IPv4 total length, identification and checksum are 0, UDP length and
//! checksum are 0 (the NIC fills them on encapsulation), IPv6 payload length
//! is 0. Both the bytes and the testpmd text come from one list of
//! [`HeaderLayer`]s, so they cannot drift apart.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::field::MacAddr;

/// IANA UDP port of Geneve.
pub const GENEVE_UDP_PORT: u16 = 6081;
/// IANA UDP port of VXLAN.
pub const VXLAN_UDP_PORT: u16 = 4789;
/// Geneve protocol type for an Ethernet payload (Transparent Ethernet Bridging).
pub const GENEVE_PROTO_ETHERNET: u16 = 0x6558;
/// OVN's Geneve option class.
pub const OVN_GENEVE_CLASS: u16 = 0x0102;
/// OVN's Geneve option type (logical ingress/egress port metadata).
pub const OVN_GENEVE_TYPE: u8 = 0x80;
/// The critical bit of a Geneve option type.
pub const GENEVE_OPT_TYPE_CRITICAL: u8 = 0x80;
/// The C (critical options present) flag in byte 1 of the Geneve header.
pub const GENEVE_FLAG_CRITICAL: u8 = 0x40;
/// Most data words of a Geneve option in an encapsulation header (5-bit length).
pub const GENEVE_OPT_MAX_WORDS: usize = 31;
/// EtherType of IPv4.
pub const ETHER_TYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHER_TYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q tag.
pub const ETHER_TYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad (QinQ) service tag.
pub const ETHER_TYPE_QINQ: u16 = 0x88a8;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IP protocol number of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;

/// IP version of an outer header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// An 802.1Q tag of an encapsulation header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// VLAN id (0..=4095).
    pub vid: u16,
    /// Priority code point (0..=7).
    pub pcp: u8,
}

impl VlanTag {
    /// The tag control information (PCP, DEI=0, VID).
    pub fn tci(&self) -> u16 {
        (u16::from(self.pcp & 0x7) << 13) | (self.vid & 0x0fff)
    }
}

/// The outer IP header of an encapsulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OuterIp {
    /// IPv4 outer header.
    V4 {
        /// Source (local tunnel endpoint).
        src: Ipv4Addr,
        /// Destination (remote tunnel endpoint).
        dst: Ipv4Addr,
        /// Time to live.
        ttl: u8,
        /// Full TOS byte (DSCP << 2 | ECN).
        tos: u8,
        /// Set the DF bit (fragment_offset = 0x4000).
        dont_fragment: bool,
    },
    /// IPv6 outer header.
    V6 {
        /// Source.
        src: Ipv6Addr,
        /// Destination.
        dst: Ipv6Addr,
        /// Hop limit.
        hop_limit: u8,
        /// Traffic class byte.
        traffic_class: u8,
    },
}

impl OuterIp {
    /// The IP version.
    pub fn version(&self) -> IpVersion {
        match self {
            OuterIp::V4 { .. } => IpVersion::V4,
            OuterIp::V6 { .. } => IpVersion::V6,
        }
    }
}

/// A Geneve TLV option carried by an encapsulation header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GeneveOption {
    /// Option class.
    pub class: u16,
    /// Option type.
    pub option_type: u8,
    /// Data words (written big-endian); at most [`GENEVE_OPT_MAX_WORDS`].
    pub data: Vec<u32>,
}

impl GeneveOption {
    /// True when the option's type has its critical bit (0x80) set: a
    /// receiver that does not know it must drop the packet, and the
    /// header's C flag says so up front (RFC 8926 §3.4-3.5). OVN's option
    /// is critical, and OVN sets C.
    pub fn is_critical(&self) -> bool {
        self.option_type & GENEVE_OPT_TYPE_CRITICAL != 0
    }

    /// OVN's option (class 0x0102, type 0x80) with one data word.
    pub fn ovn(data: u32) -> Self {
        GeneveOption {
            class: OVN_GENEVE_CLASS,
            option_type: OVN_GENEVE_TYPE,
            data: vec![data],
        }
    }
}

/// The tunnel header of an encapsulation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EncapTunnel {
    /// Geneve with an optional TLV option; protocol type is 0x6558.
    Geneve {
        /// VNI (24 bits).
        vni: u32,
        /// At most one option.
        option: Option<GeneveOption>,
    },
    /// VXLAN (flags 0x08).
    Vxlan {
        /// VNI (24 bits).
        vni: u32,
    },
}

/// Outer headers pushed by a `RawEncap` action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TunnelEncap {
    /// Outer destination MAC (next hop).
    pub eth_dst: MacAddr,
    /// Outer source MAC.
    pub eth_src: MacAddr,
    /// Optional outer 802.1Q tag.
    pub vlan: Option<VlanTag>,
    /// Outer IP header.
    pub ip: OuterIp,
    /// UDP source port (entropy).
    pub udp_src: u16,
    /// UDP destination port (6081 Geneve, 4789 VXLAN by default).
    pub udp_dst: u16,
    /// Tunnel header.
    pub tunnel: EncapTunnel,
}

impl TunnelEncap {
    /// Geneve over IPv4 with TTL 64, no TOS, DF clear, destination port 6081.
    pub fn geneve_v4(
        eth_src: MacAddr,
        eth_dst: MacAddr,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        udp_src: u16,
        vni: u32,
    ) -> Self {
        TunnelEncap {
            eth_dst,
            eth_src,
            vlan: None,
            ip: OuterIp::V4 {
                src,
                dst,
                ttl: 64,
                tos: 0,
                dont_fragment: false,
            },
            udp_src,
            udp_dst: GENEVE_UDP_PORT,
            tunnel: EncapTunnel::Geneve { vni, option: None },
        }
    }

    /// Geneve over IPv6 with hop limit 64, destination port 6081.
    pub fn geneve_v6(
        eth_src: MacAddr,
        eth_dst: MacAddr,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        udp_src: u16,
        vni: u32,
    ) -> Self {
        TunnelEncap {
            ip: OuterIp::V6 {
                src,
                dst,
                hop_limit: 64,
                traffic_class: 0,
            },
            ..Self::geneve_v4(
                eth_src,
                eth_dst,
                Ipv4Addr::UNSPECIFIED,
                Ipv4Addr::UNSPECIFIED,
                udp_src,
                vni,
            )
        }
    }

    /// VXLAN over IPv4 with TTL 64, destination port 4789.
    pub fn vxlan_v4(
        eth_src: MacAddr,
        eth_dst: MacAddr,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        udp_src: u16,
        vni: u32,
    ) -> Self {
        TunnelEncap {
            udp_dst: VXLAN_UDP_PORT,
            tunnel: EncapTunnel::Vxlan { vni },
            ..Self::geneve_v4(eth_src, eth_dst, src, dst, udp_src, vni)
        }
    }

    /// Adds (or replaces) the Geneve option; no effect on VXLAN.
    pub fn with_option(mut self, opt: GeneveOption) -> Self {
        if let EncapTunnel::Geneve { option, .. } = &mut self.tunnel {
            *option = Some(opt);
        }
        self
    }

    /// Adds an outer VLAN tag.
    pub fn with_vlan(mut self, vid: u16, pcp: u8) -> Self {
        self.vlan = Some(VlanTag { vid, pcp });
        self
    }

    /// The header layers, outermost first.
    pub fn layers(&self) -> Vec<HeaderLayer> {
        let next = match self.ip {
            OuterIp::V4 { .. } => ETHER_TYPE_IPV4,
            OuterIp::V6 { .. } => ETHER_TYPE_IPV6,
        };
        let mut out = l2_layers(self.eth_dst, self.eth_src, self.vlan.map(|t| t.tci()), next);
        out.push(match self.ip {
            OuterIp::V4 {
                src,
                dst,
                ttl,
                tos,
                dont_fragment,
            } => HeaderLayer::Ipv4 {
                src,
                dst,
                ttl,
                tos,
                fragment_offset: if dont_fragment { 0x4000 } else { 0 },
            },
            OuterIp::V6 {
                src,
                dst,
                hop_limit,
                traffic_class,
            } => HeaderLayer::Ipv6 {
                src,
                dst,
                hop_limit,
                traffic_class,
            },
        });
        out.push(HeaderLayer::Udp {
            src: self.udp_src,
            dst: self.udp_dst,
        });
        push_tunnel_layers(&mut out, &self.tunnel);
        out
    }

    /// The encapsulation header bytes (what `rte_flow_action_raw_encap.data`
    /// points to).
    pub fn encap_bytes(&self) -> Vec<u8> {
        layers_bytes(&self.layers())
    }
}

fn l2_layers(dst: MacAddr, src: MacAddr, tci: Option<u16>, next: u16) -> Vec<HeaderLayer> {
    let mut out = Vec::with_capacity(6);
    match tci {
        Some(tci) => {
            out.push(HeaderLayer::Eth {
                dst,
                src,
                ether_type: ETHER_TYPE_VLAN,
            });
            out.push(HeaderLayer::Vlan {
                tci,
                inner_type: next,
            });
        }
        None => out.push(HeaderLayer::Eth {
            dst,
            src,
            ether_type: next,
        }),
    }
    out
}

fn push_tunnel_layers(out: &mut Vec<HeaderLayer>, tunnel: &EncapTunnel) {
    match tunnel {
        EncapTunnel::Geneve { vni, option } => {
            let opt_words = option.as_ref().map_or(0, |o| 1 + o.data.len());
            out.push(HeaderLayer::Geneve {
                vni: *vni,
                protocol: GENEVE_PROTO_ETHERNET,
                opt_len_words: u8::try_from(opt_words).unwrap_or(u8::MAX),
                critical: option.as_ref().is_some_and(GeneveOption::is_critical),
            });
            if let Some(o) = option {
                out.push(HeaderLayer::GeneveOpt {
                    class: o.class,
                    option_type: o.option_type,
                    data: o.data.clone(),
                });
            }
        }
        EncapTunnel::Vxlan { vni } => out.push(HeaderLayer::Vxlan { vni: *vni }),
    }
}

/// The tunnel of a `RawDecap` action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecapTunnel {
    /// Geneve with `option_words` words of options (option headers
    /// included; the Geneve `opt_len` field).
    Geneve {
        /// Total option length in 4-byte words (0..=63).
        option_words: u8,
    },
    /// VXLAN.
    Vxlan,
}

/// The outer headers removed by a `RawDecap` action.
///
/// Only the shape matters to a NIC (which headers, hence how many bytes);
/// [`TunnelDecap::decap_bytes`] is a template with zero addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TunnelDecap {
    /// An outer VLAN tag is present.
    pub vlan: bool,
    /// Outer IP version.
    pub ip: IpVersion,
    /// Tunnel header.
    pub tunnel: DecapTunnel,
}

impl TunnelDecap {
    /// Geneve over IPv4 without options or VLAN.
    pub fn geneve_v4() -> Self {
        TunnelDecap {
            vlan: false,
            ip: IpVersion::V4,
            tunnel: DecapTunnel::Geneve { option_words: 0 },
        }
    }

    /// VXLAN over IPv4 without VLAN.
    pub fn vxlan_v4() -> Self {
        TunnelDecap {
            vlan: false,
            ip: IpVersion::V4,
            tunnel: DecapTunnel::Vxlan,
        }
    }

    /// The decapsulation matching the headers that `encap` pushes.
    pub fn for_encap(encap: &TunnelEncap) -> Self {
        let tunnel = match &encap.tunnel {
            EncapTunnel::Geneve { option, .. } => DecapTunnel::Geneve {
                option_words: option
                    .as_ref()
                    .map_or(0, |o| u8::try_from(1 + o.data.len()).unwrap_or(u8::MAX)),
            },
            EncapTunnel::Vxlan { .. } => DecapTunnel::Vxlan,
        };
        TunnelDecap {
            vlan: encap.vlan.is_some(),
            ip: encap.ip.version(),
            tunnel,
        }
    }

    /// The header layers, outermost first (zero addresses and ports, except
    /// the UDP destination port of the tunnel).
    pub fn layers(&self) -> Vec<HeaderLayer> {
        let next = match self.ip {
            IpVersion::V4 => ETHER_TYPE_IPV4,
            IpVersion::V6 => ETHER_TYPE_IPV6,
        };
        let mut out = l2_layers(MacAddr::ZERO, MacAddr::ZERO, self.vlan.then_some(0), next);
        out.push(match self.ip {
            IpVersion::V4 => HeaderLayer::Ipv4 {
                src: Ipv4Addr::UNSPECIFIED,
                dst: Ipv4Addr::UNSPECIFIED,
                ttl: 0,
                tos: 0,
                fragment_offset: 0,
            },
            IpVersion::V6 => HeaderLayer::Ipv6 {
                src: Ipv6Addr::UNSPECIFIED,
                dst: Ipv6Addr::UNSPECIFIED,
                hop_limit: 0,
                traffic_class: 0,
            },
        });
        let dst = match self.tunnel {
            DecapTunnel::Geneve { .. } => GENEVE_UDP_PORT,
            DecapTunnel::Vxlan => VXLAN_UDP_PORT,
        };
        out.push(HeaderLayer::Udp { src: 0, dst });
        match self.tunnel {
            DecapTunnel::Geneve { option_words } => {
                out.push(HeaderLayer::Geneve {
                    vni: 0,
                    protocol: GENEVE_PROTO_ETHERNET,
                    opt_len_words: option_words,
                    critical: false,
                });
                if option_words > 0 {
                    out.push(HeaderLayer::GeneveOpt {
                        class: 0,
                        option_type: 0,
                        data: vec![0; usize::from(option_words - 1)],
                    });
                }
            }
            DecapTunnel::Vxlan => out.push(HeaderLayer::Vxlan { vni: 0 }),
        }
        out
    }

    /// The bytes given as `rte_flow_action_raw_decap.data` (its length is
    /// the number of bytes removed).
    pub fn decap_bytes(&self) -> Vec<u8> {
        layers_bytes(&self.layers())
    }
}

/// What a `RawDecap` action removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RawDecap {
    /// These outer headers: the action's data is their template
    /// ([`TunnelDecap::decap_bytes`]), its size the number of bytes removed.
    Headers(TunnelDecap),
    /// The outer headers the rule's pattern already fixes, up to and
    /// including its geneve/vxlan item: an empty buffer (testpmd `set
    /// raw_decap 0 end_set`, `rte_flow_action_raw_decap.size` 0), so the
    /// PMD takes the headers from the pattern.
    Matched,
}

impl RawDecap {
    /// The header layers of the buffer, outermost first (none for
    /// [`RawDecap::Matched`]).
    pub fn layers(&self) -> Vec<HeaderLayer> {
        match self {
            RawDecap::Headers(d) => d.layers(),
            RawDecap::Matched => Vec::new(),
        }
    }

    /// The bytes given as `rte_flow_action_raw_decap.data` (empty for
    /// [`RawDecap::Matched`]).
    pub fn decap_bytes(&self) -> Vec<u8> {
        layers_bytes(&self.layers())
    }
}

impl From<TunnelDecap> for RawDecap {
    fn from(d: TunnelDecap) -> Self {
        RawDecap::Headers(d)
    }
}

/// One header of an encapsulation, with every byte it serializes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderLayer {
    /// Ethernet: 14 bytes.
    Eth {
        /// Destination.
        dst: MacAddr,
        /// Source.
        src: MacAddr,
        /// EtherType of the next header.
        ether_type: u16,
    },
    /// 802.1Q tag: 4 bytes (TCI, inner EtherType).
    Vlan {
        /// Tag control information.
        tci: u16,
        /// EtherType of the next header.
        inner_type: u16,
    },
    /// IPv4: 20 bytes, IHL 5, protocol UDP, length/id/checksum 0.
    Ipv4 {
        /// Source.
        src: Ipv4Addr,
        /// Destination.
        dst: Ipv4Addr,
        /// TTL.
        ttl: u8,
        /// TOS byte.
        tos: u8,
        /// Flags and fragment offset (0x4000 = DF).
        fragment_offset: u16,
    },
    /// IPv6: 40 bytes, next header UDP, flow label and payload length 0.
    Ipv6 {
        /// Source.
        src: Ipv6Addr,
        /// Destination.
        dst: Ipv6Addr,
        /// Hop limit.
        hop_limit: u8,
        /// Traffic class.
        traffic_class: u8,
    },
    /// UDP: 8 bytes, length and checksum 0.
    Udp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
    },
    /// Geneve base header: 8 bytes (version 0, O=0).
    Geneve {
        /// VNI.
        vni: u32,
        /// Protocol type.
        protocol: u16,
        /// Total option length in words.
        opt_len_words: u8,
        /// The C flag (critical options present; 0x40 of byte 1).
        critical: bool,
    },
    /// Geneve option: 4 bytes of header then the data words.
    GeneveOpt {
        /// Class.
        class: u16,
        /// Type.
        option_type: u8,
        /// Data words.
        data: Vec<u32>,
    },
    /// VXLAN: 8 bytes, flags 0x08.
    Vxlan {
        /// VNI.
        vni: u32,
    },
}

fn vni_bytes(vni: u32) -> [u8; 3] {
    let [_, a, b, c] = vni.to_be_bytes();
    [a, b, c]
}

impl HeaderLayer {
    /// Appends the layer's wire bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            HeaderLayer::Eth {
                dst,
                src,
                ether_type,
            } => {
                out.extend_from_slice(&dst.0);
                out.extend_from_slice(&src.0);
                out.extend_from_slice(&ether_type.to_be_bytes());
            }
            HeaderLayer::Vlan { tci, inner_type } => {
                out.extend_from_slice(&tci.to_be_bytes());
                out.extend_from_slice(&inner_type.to_be_bytes());
            }
            HeaderLayer::Ipv4 {
                src,
                dst,
                ttl,
                tos,
                fragment_offset,
            } => {
                out.extend_from_slice(&[0x45, *tos, 0, 0, 0, 0]);
                out.extend_from_slice(&fragment_offset.to_be_bytes());
                out.extend_from_slice(&[*ttl, IPPROTO_UDP, 0, 0]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
            }
            HeaderLayer::Ipv6 {
                src,
                dst,
                hop_limit,
                traffic_class,
            } => {
                let vtc_flow = (6u32 << 28) | (u32::from(*traffic_class) << 20);
                out.extend_from_slice(&vtc_flow.to_be_bytes());
                out.extend_from_slice(&[0, 0, IPPROTO_UDP, *hop_limit]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
            }
            HeaderLayer::Udp { src, dst } => {
                out.extend_from_slice(&src.to_be_bytes());
                out.extend_from_slice(&dst.to_be_bytes());
                out.extend_from_slice(&[0, 0, 0, 0]);
            }
            HeaderLayer::Geneve {
                vni,
                protocol,
                opt_len_words,
                critical,
            } => {
                let flags = if *critical { GENEVE_FLAG_CRITICAL } else { 0 };
                out.extend_from_slice(&[opt_len_words & 0x3f, flags]);
                out.extend_from_slice(&protocol.to_be_bytes());
                out.extend_from_slice(&vni_bytes(*vni));
                out.push(0);
            }
            HeaderLayer::GeneveOpt {
                class,
                option_type,
                data,
            } => {
                out.extend_from_slice(&class.to_be_bytes());
                let len = u8::try_from(data.len()).unwrap_or(u8::MAX) & 0x1f;
                out.extend_from_slice(&[*option_type, len]);
                for w in data {
                    out.extend_from_slice(&w.to_be_bytes());
                }
            }
            HeaderLayer::Vxlan { vni } => {
                out.extend_from_slice(&[0x08, 0, 0, 0]);
                out.extend_from_slice(&vni_bytes(*vni));
                out.push(0);
            }
        }
    }
}

fn layers_bytes(layers: &[HeaderLayer]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    for l in layers {
        l.write(&mut out);
    }
    out
}
