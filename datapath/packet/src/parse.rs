//! One pass over a frame: the fields the pipeline keys and classifies on,
//! and where each header starts, for the outer frame and — for Geneve on
//! UDP 6081 — the encapsulated one. Headers are sliced by `etherparse`
//! (lengths checked once, no copy, no allocation); Geneve by
//! [`GenevePacket`].

use std::net::{Ipv4Addr, Ipv6Addr};

use dpuflow_net::MacAddr;
use etherparse::{
    ArpHardwareId, EtherType, Icmpv4Type, Icmpv6Type, LinkExtSlice, LinkSlice, NetSlice,
    SlicedPacket, TransportSlice,
};

use crate::drop::DropReason;
use crate::geneve::{GenevePacket, OvnKeys, GENEVE_PORT, PROTO_ETHERNET};

/// One 802.1Q/802.1ad tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vlan {
    /// VLAN id (12 bits).
    pub vid: u16,
    /// Priority code point (3 bits).
    pub pcp: u8,
}

/// An ARP packet for IPv4 over Ethernet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// 1 = request, 2 = reply.
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

/// The network layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L3 {
    /// Neither IP nor ARP: the EtherType after the tags.
    Other(u16),
    /// ARP.
    Arp(Arp),
    /// IPv4 (options allowed).
    Ipv4 {
        /// Source.
        src: Ipv4Addr,
        /// Destination.
        dst: Ipv4Addr,
        /// Protocol of the payload.
        proto: u8,
        /// Time to live.
        ttl: u8,
        /// The whole TOS byte (DSCP << 2 | ECN).
        tos: u8,
    },
    /// IPv6 (after any extension headers).
    Ipv6 {
        /// Source.
        src: Ipv6Addr,
        /// Destination.
        dst: Ipv6Addr,
        /// Protocol of the payload after the extension headers.
        proto: u8,
        /// Hop limit.
        hop_limit: u8,
        /// Traffic class.
        traffic_class: u8,
    },
}

/// The transport layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    /// No transport header: not IP, a protocol not parsed here, or a
    /// fragment other than the first.
    None,
    /// A non-first fragment (no transport header in it).
    Fragment,
    /// TCP.
    Tcp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// Flags byte (CWR..FIN).
        flags: u8,
    },
    /// UDP.
    Udp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
    },
    /// ICMP (v4 or v6, by [`L3`]); `id` is the echo identifier of echo
    /// requests and replies (0 otherwise).
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
        /// Echo identifier.
        id: u16,
    },
}

/// TCP flag bits of [`L4::Tcp`]'s `flags`.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// The headers of one Ethernet frame (outer or encapsulated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers {
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
    /// Up to two VLAN tags, outer first.
    pub vlans: [Option<Vlan>; 2],
    /// Network layer.
    pub l3: L3,
    /// Transport layer.
    pub l4: L4,
    /// Offset of the network header in the frame.
    pub l3_offset: u16,
    /// Offset of the transport header (the payload, without one).
    pub l4_offset: u16,
}

/// A Geneve tunnel and the frame it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tunnel {
    /// The virtual network identifier.
    pub vni: u32,
    /// OVN's logical port keys, when the option is there.
    pub ovn: Option<OvnKeys>,
    /// Offset of the inner Ethernet header in the frame.
    pub inner_offset: u16,
    /// The inner frame's headers (offsets relative to the whole frame).
    pub inner: Headers,
}

/// A parsed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The outer headers.
    pub outer: Headers,
    /// Geneve on UDP port 6081, with the frame inside.
    pub tunnel: Option<Tunnel>,
}

impl Parsed {
    /// The headers the pipeline forwards by: the inner frame of a tunnel,
    /// else the frame itself.
    pub fn innermost(&self) -> &Headers {
        self.tunnel.as_ref().map_or(&self.outer, |t| &t.inner)
    }
}

/// Parses an Ethernet frame (no FCS).
///
/// # Errors
/// The [`DropReason`] of the first malformed header.
pub fn parse(frame: &[u8]) -> Result<Parsed, DropReason> {
    let outer = headers(frame, frame)?;
    let tunnel = match outer.l4 {
        L4::Udp {
            dst: GENEVE_PORT, ..
        } => Some(tunnel(frame, &outer)?),
        _ => None,
    };
    Ok(Parsed { outer, tunnel })
}

fn tunnel(frame: &[u8], outer: &Headers) -> Result<Tunnel, DropReason> {
    // UDP header: 8 bytes, already length-checked by the outer parse.
    let udp_payload = usize::from(outer.l4_offset) + 8;
    let geneve = GenevePacket::new_checked(frame.get(udp_payload..).unwrap_or_default())?;
    if geneve.protocol() != PROTO_ETHERNET {
        return Err(DropReason::GeneveNotEthernet);
    }
    let payload = geneve.payload();
    let inner = headers(frame, payload)?;
    if let L4::Udp {
        dst: GENEVE_PORT, ..
    } = inner.l4
    {
        return Err(DropReason::NestedTunnel);
    }
    Ok(Tunnel {
        vni: geneve.vni(),
        ovn: geneve.ovn_keys(),
        inner_offset: offset(frame, payload),
        inner,
    })
}

/// The headers of the Ethernet frame `eth`, which lies inside `frame`.
fn headers(frame: &[u8], eth: &[u8]) -> Result<Headers, DropReason> {
    let sliced = SlicedPacket::from_ethernet(eth).map_err(|e| DropReason::from(&e))?;
    let Some(LinkSlice::Ethernet2(link)) = &sliced.link else {
        return Err(DropReason::TruncatedEthernet);
    };
    let mut vlans = [None; 2];
    for (i, ext) in sliced.link_exts.iter().enumerate() {
        let LinkExtSlice::Vlan(tag) = ext else {
            return Err(DropReason::Macsec);
        };
        let slot = vlans.get_mut(i).ok_or(DropReason::TooManyVlans)?;
        *slot = Some(Vlan {
            vid: tag.vlan_identifier().value(),
            pcp: tag.priority_code_point().value(),
        });
    }
    let after_link = usize::from(offset(frame, eth)) + 14 + 4 * sliced.link_exts.len();
    let (l3, l3_offset, payload) = match &sliced.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            let l3 = L3::Ipv4 {
                src: h.source_addr(),
                dst: h.destination_addr(),
                proto: h.protocol().0,
                ttl: h.ttl(),
                tos: h.dcp().value() << 2 | h.ecn().value(),
            };
            (l3, offset(frame, h.slice()), Some(ip.payload()))
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            let l3 = L3::Ipv6 {
                src: h.source_addr(),
                dst: h.destination_addr(),
                proto: ip.payload().ip_number.0,
                hop_limit: h.hop_limit(),
                traffic_class: h.traffic_class(),
            };
            (l3, offset(frame, h.slice()), Some(ip.payload()))
        }
        Some(NetSlice::Arp(arp)) => (arp_of(arp)?, offset(frame, arp.slice()), None),
        None => (
            L3::Other(ether_type(&sliced, link.ether_type()).0),
            after_link as u16,
            None,
        ),
    };
    let (l4, l4_offset) = match (&sliced.transport, payload) {
        (Some(t), _) => (l4_of(t, &l3), offset(frame, transport_slice(t))),
        (None, Some(p)) => {
            let l4 = if p.fragmented { L4::Fragment } else { L4::None };
            (l4, offset(frame, p.payload))
        }
        (None, None) => (L4::None, l3_offset),
    };
    Ok(Headers {
        dst: MacAddr(link.destination()),
        src: MacAddr(link.source()),
        vlans,
        l3,
        l4,
        l3_offset,
        l4_offset,
    })
}

/// The EtherType after the VLAN tags.
fn ether_type(sliced: &SlicedPacket<'_>, link: EtherType) -> EtherType {
    match sliced.link_exts.last() {
        Some(LinkExtSlice::Vlan(tag)) => tag.ether_type(),
        _ => link,
    }
}

fn arp_of(arp: &etherparse::ArpPacketSlice<'_>) -> Result<L3, DropReason> {
    if arp.hw_addr_type() != ArpHardwareId::ETHERNET
        || arp.proto_addr_type() != EtherType::IPV4
        || arp.hw_addr_size() != 6
        || arp.proto_addr_size() != 4
    {
        return Err(DropReason::BadArp);
    }
    let mac = |b: &[u8]| {
        <[u8; 6]>::try_from(b)
            .map(MacAddr)
            .map_err(|_| DropReason::BadArp)
    };
    let ip = |b: &[u8]| {
        <[u8; 4]>::try_from(b)
            .map(Ipv4Addr::from)
            .map_err(|_| DropReason::BadArp)
    };
    Ok(L3::Arp(Arp {
        operation: arp.operation().0,
        sender_mac: mac(arp.sender_hw_addr())?,
        sender_ip: ip(arp.sender_protocol_addr())?,
        target_mac: mac(arp.target_hw_addr())?,
        target_ip: ip(arp.target_protocol_addr())?,
    }))
}

/// The transport of `t` under `l3`. etherparse slices by protocol number
/// alone, so ICMPv4 (1) can come over IPv6 and ICMPv6 (58) over IPv4;
/// [`L4::Icmp`] is read by its [`L3`], so those are no transport here.
fn l4_of(t: &TransportSlice<'_>, l3: &L3) -> L4 {
    match t {
        TransportSlice::Tcp(tcp) => L4::Tcp {
            src: tcp.source_port(),
            dst: tcp.destination_port(),
            // Byte 13 of the header: CWR ECE URG ACK PSH RST SYN FIN.
            flags: tcp.header_slice().get(13).copied().unwrap_or(0),
        },
        TransportSlice::Udp(udp) => L4::Udp {
            src: udp.source_port(),
            dst: udp.destination_port(),
        },
        TransportSlice::Icmpv4(icmp) if matches!(l3, L3::Ipv4 { .. }) => L4::Icmp {
            icmp_type: icmp.type_u8(),
            code: icmp.code_u8(),
            id: match icmp.icmp_type() {
                Icmpv4Type::EchoRequest(e) | Icmpv4Type::EchoReply(e) => e.id,
                _ => 0,
            },
        },
        TransportSlice::Icmpv6(icmp) if matches!(l3, L3::Ipv6 { .. }) => L4::Icmp {
            icmp_type: icmp.type_u8(),
            code: icmp.code_u8(),
            id: match icmp.icmp_type() {
                Icmpv6Type::EchoRequest(e) | Icmpv6Type::EchoReply(e) => e.id,
                _ => 0,
            },
        },
        TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_) | TransportSlice::Igmp(_) => L4::None,
    }
}

fn transport_slice<'a>(t: &TransportSlice<'a>) -> &'a [u8] {
    match t {
        TransportSlice::Tcp(s) => s.slice(),
        TransportSlice::Udp(s) => s.slice(),
        TransportSlice::Icmpv4(s) => s.slice(),
        TransportSlice::Icmpv6(s) => s.slice(),
        TransportSlice::Igmp(s) => s.slice(),
    }
}

/// Where `part` (a subslice of `frame`) starts in `frame`. Frames are at
/// most 64 KiB (an mbuf segment's `data_len` is 16 bits).
fn offset(frame: &[u8], part: &[u8]) -> u16 {
    let at = (part.as_ptr() as usize).saturating_sub(frame.as_ptr() as usize);
    u16::try_from(at).unwrap_or(u16::MAX)
}
