//! NAT of the packet an ICMP error quotes, as Linux's
//! `nf_nat_icmp_reply_translation` does it: the quote is made to show the
//! packet as its sender sent it, so that the sender's stack finds the
//! socket (path MTU discovery, "port unreachable").
//!
//! The quoted source or destination address and/or port (the echo id of a
//! quoted echo) change, with every checksum that covers them: the quoted
//! IPv4 header checksum, the quoted transport checksum when the quote holds
//! it (TCP at +16, UDP at +6 unless 0, ICMP/ICMPv6 at +2), and the error's
//! own ICMP checksum, which covers the whole quote. The error's outer
//! addresses are [`nat`](super::nat)'s to change.
//!
//! Quotes are cut short (RFC 792 asks for the IP header and 8 bytes): a
//! field outside the quote is left alone, never read.

use std::net::IpAddr;

use etherparse::err::ip::LaxHeaderSliceError;
use etherparse::{Ipv6ExtensionSlice, LaxIpSlice};

use crate::checksum;
use crate::edit::{EditError, NatRewrite, Side};
use crate::frame::Frame;
use crate::ip::{be16, ip_at, put16, Ip, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use crate::parse::{Headers, L4};
use crate::quote::{is_icmp_error, ECHO};

/// Where the quoted packet lies in the frame.
#[derive(Clone, Copy, Debug)]
struct Quote {
    /// Its IP header, transport header and end (the quote's end, or the
    /// quoted packet's own length when shorter, as with RFC 4884 padding).
    ip: Ip,
    /// Its IP protocol (after extension headers).
    proto: u8,
    /// A fragment other than the first: no transport header in it.
    later_fragment: bool,
}

/// Where, inside the quote, the rewritten port and the transport checksum
/// lie (`None`: not in this quote, or none).
#[derive(Clone, Copy, Debug)]
struct Transport {
    port: Option<usize>,
    csum: Option<usize>,
    /// The protocol has ports (or an echo id), in the quote or not.
    has_ports: bool,
    /// The checksum covers the addresses (a pseudo-header).
    pseudo: bool,
    /// UDP: a result of 0 is sent as 0xffff.
    udp: bool,
}

/// Applies `rw` to the packet quoted by the ICMP or ICMPv6 error `h`
/// describes (for a tunnelled frame, `parsed.innermost()`'s headers).
///
/// # Errors
/// Checked before any byte changes: [`EditError::NotApplicable`] when `h`
/// is no ICMP error, its quote is no IP packet of the error's family, or
/// a port is asked of a protocol without ports;
/// [`EditError::FamilyMismatch`] for an address of the other family;
/// [`EditError::Truncated`] when the quote is cut before its IP header
/// ends or before the port asked for; [`EditError::Fragment`] for a port of
/// a quoted non-first fragment; [`EditError::Inconsistent`] /
/// [`EditError::Truncated`] when the frame does not match `h`.
pub fn nat_quoted<F: Frame + ?Sized>(
    frame: &mut F,
    h: &Headers,
    rw: &NatRewrite,
) -> Result<(), EditError> {
    let b = frame.bytes_mut();
    let outer = ip_at(b, h)?;
    let q = quote_at(b, h, &outer)?;
    match rw.addr {
        Some(IpAddr::V4(_)) if q.ip.v6 => return Err(EditError::FamilyMismatch),
        Some(IpAddr::V6(_)) if !q.ip.v6 => return Err(EditError::FamilyMismatch),
        _ => {}
    }
    let t = transport(b, &q, rw.side);
    if rw.port.is_some() && t.port.is_none() {
        return Err(match (q.later_fragment, t.has_ports) {
            (true, _) => EditError::Fragment,
            (false, true) => EditError::Truncated,
            (false, false) => EditError::NotApplicable,
        });
    }

    // Every word changed in the quote is a word the error's checksum covers.
    let icmp_at = outer.l4 + 2;
    let mut icmp = be16(b, icmp_at);
    let mut l4_csum = t.csum.map(|at| be16(b, at));
    if let Some(addr) = rw.addr {
        let at = match rw.side {
            Side::Source => q.ip.src_range(),
            Side::Destination => q.ip.dst_range(),
        };
        let mut buf = [0u8; 16];
        let new = octets(addr, &mut buf);
        let old = &b[at.clone()];
        icmp = checksum::update(icmp, old, new);
        if t.pseudo {
            l4_csum = l4_csum.map(|c| checksum::update(c, old, new));
        }
        if !q.ip.v6 {
            let hc_at = q.ip.l3 + 10;
            let hc = be16(b, hc_at);
            let new_hc = checksum::update(hc, old, new);
            icmp = checksum::update16(icmp, hc, new_hc);
            put16(b, hc_at, new_hc);
        }
        b[at].copy_from_slice(new);
    }
    if let (Some(new), Some(at)) = (rw.port, t.port) {
        let old = be16(b, at);
        l4_csum = l4_csum.map(|c| checksum::update_port(c, old, new));
        icmp = checksum::update16(icmp, old, new);
        put16(b, at, new);
    }
    if let (Some(at), Some(c)) = (t.csum, l4_csum) {
        let c = if t.udp && c == 0 { 0xffff } else { c };
        icmp = checksum::update16(icmp, be16(b, at), c);
        put16(b, at, c);
    }
    put16(b, icmp_at, icmp);
    Ok(())
}

/// The quoted packet of the ICMP error `h` whose IP packet is `outer`,
/// sliced by `etherparse`'s lax parser (as [`crate::quote::quoted`] reads
/// it, so the lookup and the edit agree on where its fields are).
fn quote_at(b: &[u8], h: &Headers, outer: &Ip) -> Result<Quote, EditError> {
    let L4::Icmp { icmp_type, .. } = h.l4 else {
        return Err(EditError::NotApplicable);
    };
    if !is_icmp_error(h) {
        return Err(EditError::NotApplicable);
    }
    let start = outer.l4 + 8;
    if start > outer.end {
        return Err(EditError::Truncated);
    }
    if b[outer.l4] != icmp_type {
        return Err(EditError::Inconsistent);
    }
    let body = &b[start..outer.end];
    let (ip, _) = LaxIpSlice::from_slice(body).map_err(|e| match e {
        LaxHeaderSliceError::Len(_) => EditError::Truncated,
        LaxHeaderSliceError::Content(_) => EditError::NotApplicable,
    })?;
    let later_fragment = match &ip {
        LaxIpSlice::Ipv4(_) if outer.v6 => return Err(EditError::NotApplicable),
        LaxIpSlice::Ipv6(_) if !outer.v6 => return Err(EditError::NotApplicable),
        LaxIpSlice::Ipv4(s) => s.header().fragments_offset().value() != 0,
        LaxIpSlice::Ipv6(s) => s.extensions().clone().into_iter().any(
            |e| matches!(e, Ipv6ExtensionSlice::Fragment(f) if f.fragment_offset().value() != 0),
        ),
    };
    let payload = ip.payload();
    // The payload is a subslice of `body`: its offset is a pointer difference.
    let l4 = start + (payload.payload.as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
    Ok(Quote {
        ip: Ip {
            v6: outer.v6,
            l3: start,
            l4,
            end: l4 + payload.payload.len(),
        },
        proto: payload.ip_number.0,
        later_fragment,
    })
}

/// The port and checksum fields of the quote's transport header that lie
/// inside the quote.
fn transport(b: &[u8], q: &Quote, side: Side) -> Transport {
    let (l4, end) = (q.ip.l4, q.ip.end);
    // A 16-bit field at `at`, if the quote holds it.
    let field = |at: usize| (!q.later_fragment && at + 2 <= end).then_some(at);
    let port_at = match side {
        Side::Source => l4,
        Side::Destination => l4 + 2,
    };
    let none = Transport {
        port: None,
        csum: None,
        has_ports: false,
        pseudo: false,
        udp: false,
    };
    match (q.proto, q.ip.v6) {
        (PROTO_TCP, _) => Transport {
            port: field(port_at),
            csum: field(l4 + 16),
            has_ports: true,
            pseudo: true,
            udp: false,
        },
        (PROTO_UDP, _) => Transport {
            port: field(port_at),
            // 0 is "no checksum" (IPv4); leave it so.
            csum: field(l4 + 6).filter(|&at| be16(b, at) != 0),
            has_ports: true,
            pseudo: true,
            udp: true,
        },
        (PROTO_ICMP, false) | (PROTO_ICMPV6, true) => {
            let echo = field(l4).is_some_and(|at| ECHO.contains(&b[at]));
            Transport {
                // The echo id stands for both ports.
                port: field(l4 + 4).filter(|_| echo),
                csum: field(l4 + 2),
                has_ports: echo,
                pseudo: q.ip.v6,
                udp: false,
            }
        }
        _ => none,
    }
}

/// `addr`'s 4 or 16 bytes, in `buf`.
fn octets(addr: IpAddr, buf: &mut [u8; 16]) -> &[u8] {
    match addr {
        IpAddr::V4(a) => {
            buf[..4].copy_from_slice(&a.octets());
            &buf[..4]
        }
        IpAddr::V6(a) => {
            *buf = a.octets();
            &buf[..]
        }
    }
}
