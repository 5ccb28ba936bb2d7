//! What the edits share about IP: checking that a frame still matches the
//! `Headers` parsed from it, reading fields at checked offsets, and writing
//! fresh IPv4/IPv6 headers.

use std::net::{Ipv4Addr, Ipv6Addr};

use dpuflow_net::MacAddr;

use crate::checksum;
use crate::edit::EditError;
use crate::parse::{Headers, L3};

/// EtherType of IPv4.
pub(crate) const ETH_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub(crate) const ETH_IPV6: u16 = 0x86dd;
/// EtherType of ARP.
pub(crate) const ETH_ARP: u16 = 0x0806;
/// IP protocol numbers.
pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_ICMPV6: u8 = 58;

/// TTL / hop limit of headers dpuflow originates (tunnels), as OVN's.
pub(crate) const DEFAULT_TTL: u8 = 64;

/// Where the IP packet of a checked frame lies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ip {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// Offset of the IP header.
    pub l3: usize,
    /// Offset of the transport header (after options / extension headers).
    pub l4: usize,
    /// End of the IP packet (Ethernet padding after it excluded).
    pub end: usize,
}

impl Ip {
    /// The source address (IPv4 or IPv6 by `v6`) as 4 or 16 bytes.
    pub fn src_range(&self) -> std::ops::Range<usize> {
        if self.v6 {
            self.l3 + 8..self.l3 + 24
        } else {
            self.l3 + 12..self.l3 + 16
        }
    }

    /// The destination address's bytes.
    pub fn dst_range(&self) -> std::ops::Range<usize> {
        if self.v6 {
            self.l3 + 24..self.l3 + 40
        } else {
            self.l3 + 16..self.l3 + 20
        }
    }
}

pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

pub(crate) fn v4_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

pub(crate) fn v6_at(b: &[u8], at: usize) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(o)
}

/// The EtherType in front of the network header at `l3`, if the frame
/// holds one there.
pub(crate) fn ether_type_before(b: &[u8], l3: usize) -> Option<u16> {
    (l3 >= 14 && l3 <= b.len()).then(|| be16(b, l3 - 2))
}

/// Checks that `b` still holds the IP packet `h` describes — the EtherType,
/// version, protocol and header lengths at `h`'s offsets — and returns its
/// bounds; every byte up to `end` may then be indexed.
pub(crate) fn ip_at(b: &[u8], h: &Headers) -> Result<Ip, EditError> {
    let (l3, l4) = (usize::from(h.l3_offset), usize::from(h.l4_offset));
    let v6 = match h.l3 {
        L3::Ipv4 { .. } => false,
        L3::Ipv6 { .. } => true,
        L3::Arp(_) | L3::Other(_) => return Err(EditError::NotApplicable),
    };
    let want = if v6 { ETH_IPV6 } else { ETH_IPV4 };
    if ether_type_before(b, l3) != Some(want) {
        return Err(EditError::Inconsistent);
    }
    let fixed = if v6 { 40 } else { 20 };
    if b.len() < l3 + fixed {
        return Err(EditError::Truncated);
    }
    let end = if v6 {
        if b[l3] >> 4 != 6 || l4 < l3 + fixed {
            return Err(EditError::Inconsistent);
        }
        l3 + fixed + usize::from(be16(b, l3 + 4))
    } else {
        let ihl = usize::from(b[l3] & 0x0f) * 4;
        let L3::Ipv4 { proto, .. } = h.l3 else {
            return Err(EditError::Inconsistent);
        };
        if b[l3] >> 4 != 4 || ihl < fixed || l3 + ihl != l4 || b[l3 + 9] != proto {
            return Err(EditError::Inconsistent);
        }
        let total = usize::from(be16(b, l3 + 2));
        if total < ihl {
            return Err(EditError::Inconsistent);
        }
        l3 + total
    };
    if end > b.len() {
        return Err(EditError::Truncated);
    }
    if l4 > end {
        return Err(EditError::Inconsistent);
    }
    Ok(Ip { v6, l3, l4, end })
}

/// Writes a 20-byte IPv4 header (no options, identification 0, DF set —
/// an atomic datagram, RFC 6864) with its checksum at the start of `b`.
pub(crate) fn write_ipv4(
    b: &mut [u8],
    total_len: u16,
    ttl: u8,
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
) {
    let h = &mut b[..20];
    h[0] = 0x45;
    h[1] = 0;
    put16(h, 2, total_len);
    put16(h, 4, 0);
    put16(h, 6, 0x4000);
    h[8] = ttl;
    h[9] = proto;
    put16(h, 10, 0);
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let sum = checksum::checksum(h);
    put16(h, 10, sum);
}

/// Writes a 40-byte IPv6 header (traffic class and flow label 0) at the
/// start of `b`.
pub(crate) fn write_ipv6(
    b: &mut [u8],
    payload_len: u16,
    next_header: u8,
    hop_limit: u8,
    src: Ipv6Addr,
    dst: Ipv6Addr,
) {
    let h = &mut b[..40];
    h[..4].copy_from_slice(&[0x60, 0, 0, 0]);
    put16(h, 4, payload_len);
    h[6] = next_header;
    h[7] = hop_limit;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
}

/// Addresses a reply to the frame's sender: destination MAC = its source,
/// source MAC = `src`.
pub(crate) fn answer_macs(b: &mut [u8], src: MacAddr) {
    b.copy_within(6..12, 0);
    b[6..12].copy_from_slice(&src.0);
}

/// The transport checksum (TCP, UDP, ICMPv6) of the upper-layer packet
/// `b[l4..end]` whose checksum field is zero.
pub(crate) fn transport_checksum(b: &[u8], ip: &Ip, proto: u8) -> u16 {
    let seg = &b[ip.l4..ip.end];
    let pseudo = if ip.v6 {
        checksum::pseudo_header_v6(
            v6_at(b, ip.l3 + 8),
            v6_at(b, ip.l3 + 24),
            proto,
            seg.len() as u32,
        )
    } else {
        checksum::pseudo_header_v4(
            v4_at(b, ip.l3 + 12),
            v4_at(b, ip.l3 + 16),
            proto,
            seg.len() as u16,
        )
    };
    checksum::finish(checksum::add(pseudo, checksum::sum(seg)))
}
