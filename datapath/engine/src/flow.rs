//! From headers to a connection key, and from a connection's two keys to
//! the NAT a packet needs: the rewrite of one direction makes the packet's
//! tuple equal the other direction's key reversed.

use std::net::IpAddr;

use dpuflow_conntrack::{Dir, FlowKey};
use dpuflow_packet::{Headers, L3, L4};

/// Conntrack zone of pod traffic (pod addresses are unique cluster-wide).
pub const POD_ZONE: u16 = 0;

/// ICMP echo request / reply types, IPv4 and IPv6.
const ECHO: [u8; 4] = [8, 0, 128, 129];

/// Addresses and protocol of an IP packet.
#[inline]
pub fn ip_of(h: &Headers) -> Option<(IpAddr, IpAddr, u8)> {
    match h.l3 {
        L3::Ipv4 {
            src, dst, proto, ..
        } => Some((src.into(), dst.into(), proto)),
        L3::Ipv6 {
            src, dst, proto, ..
        } => Some((src.into(), dst.into(), proto)),
        _ => None,
    }
}

/// What kind of transport a packet carries, for tracking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// Tracked by this key.
    Key(FlowKey),
    /// A non-first fragment.
    Fragment,
    /// ICMP other than echo (errors, ND…).
    IcmpOther,
}

/// The key of a packet in `zone`; `None` when it is not IP.
#[inline]
pub fn track(h: &Headers, zone: u16) -> Option<Track> {
    let (src, dst, proto) = ip_of(h)?;
    let (sport, dport) = match h.l4 {
        L4::Tcp { src, dst, .. } | L4::Udp { src, dst } => (src, dst),
        L4::Icmp { icmp_type, id, .. } if ECHO.contains(&icmp_type) => (id, id),
        L4::Icmp { .. } => return Some(Track::IcmpOther),
        L4::Fragment => return Some(Track::Fragment),
        L4::None => (0, 0),
    };
    Some(Track::Key(FlowKey {
        zone,
        proto,
        src,
        dst,
        sport,
        dport,
    }))
}

/// TCP flags of a packet (0 for other protocols).
#[inline]
pub fn tcp_flags(h: &Headers) -> u8 {
    match h.l4 {
        L4::Tcp { flags, .. } => flags,
        _ => 0,
    }
}

/// The tuple a packet of direction `dir` must leave with.
#[inline]
pub fn target(dir: Dir, forward: &FlowKey, reply: &FlowKey) -> FlowKey {
    match dir {
        Dir::Forward => reply.reversed(),
        Dir::Reply => forward.reversed(),
    }
}

/// A flow hash that is the same on every worker and every run (Geneve's
/// UDP source port must not change within a flow).
#[inline]
pub fn stable_hash(key: &FlowKey) -> u32 {
    let words = [
        addr_bits(key.src),
        addr_bits(key.dst),
        u64::from(key.sport) << 16 | u64::from(key.dport) | u64::from(key.proto) << 32,
    ];
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for w in words {
        h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 32;
    }
    h as u32
}

fn addr_bits(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            (v as u64) ^ ((v >> 64) as u64)
        }
    }
}
