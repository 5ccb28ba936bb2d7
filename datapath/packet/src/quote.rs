//! The packet an ICMP error quotes (RFC 792: the IP header and at least
//! 8 bytes; RFC 4443: as much as fits), as a tuple: what conntrack needs
//! to find the connection the error is about. Sliced by `etherparse`'s
//! lax parser, which takes the cut-off packets errors carry.

use std::net::IpAddr;

use etherparse::LaxIpSlice;

use crate::parse::{Headers, L3, L4};

/// ICMPv4 error types (destination unreachable, time exceeded, parameter
/// problem) and ICMPv6 ones (unreachable, packet too big, time exceeded,
/// parameter problem).
const ERRORS_V4: [u8; 3] = [3, 11, 12];
const ERRORS_V6: [u8; 4] = [1, 2, 3, 4];
/// Echo request/reply types, whose identifier conntrack keys on.
pub(crate) const ECHO: [u8; 4] = [8, 0, 128, 129];

/// The quoted packet's addresses, protocol and ports (for quoted ICMP
/// echo, the identifier in both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    /// Source of the quoted packet.
    pub src: IpAddr,
    /// Destination of the quoted packet.
    pub dst: IpAddr,
    /// Its IP protocol.
    pub proto: u8,
    /// Its source port (echo id).
    pub sport: u16,
    /// Its destination port (echo id).
    pub dst_port: u16,
}

/// Whether `h` is an ICMP error (of its IP version).
pub fn is_icmp_error(h: &Headers) -> bool {
    match (h.l3, h.l4) {
        (L3::Ipv4 { .. }, L4::Icmp { icmp_type, .. }) => ERRORS_V4.contains(&icmp_type),
        (L3::Ipv6 { .. }, L4::Icmp { icmp_type, .. }) => ERRORS_V6.contains(&icmp_type),
        _ => false,
    }
}

/// The packet the ICMP error `h` in `frame` quotes; `None` when `h` is no
/// ICMP error, or the quote is too short to name ports, or of the other
/// IP version than the error.
pub fn quoted(frame: &[u8], h: &Headers) -> Option<Quoted> {
    if !is_icmp_error(h) {
        return None;
    }
    let body = frame.get(usize::from(h.l4_offset) + 8..)?;
    let (ip, _) = LaxIpSlice::from_slice(body).ok()?;
    let v6 = matches!(h.l3, L3::Ipv6 { .. });
    if matches!(ip, LaxIpSlice::Ipv6(_)) != v6 {
        return None;
    }
    // Fragments are not tracked (their transport header may be elsewhere).
    if ip.is_fragmenting_payload() {
        return None;
    }
    let payload = ip.payload();
    let proto = payload.ip_number.0;
    let p = payload.payload;
    let word = |at: usize| Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]));
    let (sport, dst_port) = match proto {
        // As the pipeline keys them: TCP and UDP by ports, the rest not.
        6 | 17 => (word(0)?, word(2)?),
        1 | 58 if p.first().is_some_and(|t| ECHO.contains(t)) => (word(4)?, word(4)?),
        _ => (0, 0),
    };
    Some(Quoted {
        src: ip.source_addr(),
        dst: ip.destination_addr(),
        proto,
        sport,
        dst_port,
    })
}
