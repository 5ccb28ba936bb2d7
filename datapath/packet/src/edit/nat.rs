//! NAT: rewriting the source or destination address and/or port of an IP
//! packet, with every checksum that covers them updated incrementally —
//! the IPv4 header checksum, TCP, UDP (an IPv4 UDP checksum of 0, "none",
//! stays 0), ICMPv6 (its pseudo-header holds the addresses); the ICMP echo
//! identifier stands in for the port (ICMPv4's checksum covers no
//! addresses). IPv4 to IPv4 and IPv6 to IPv6 only.
//!
//! The edit applies to the packet `h` describes; a tunnel around it keeps
//! its own UDP checksum, so the pipeline NATs after decapsulating and
//! before encapsulating.

use std::net::IpAddr;

use crate::checksum;
use crate::edit::EditError;
use crate::frame::Frame;
use crate::ip::{be16, ip_at, put16, v4_at, v6_at, Ip};
use crate::parse::{Headers, L4};

/// Which end of the packet a rewrite changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Source address and port (SNAT).
    Source,
    /// Destination address and port (DNAT).
    Destination,
}

/// A NAT rewrite: the new address and/or port of one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NatRewrite {
    /// The side rewritten.
    pub side: Side,
    /// The new address (same family as the packet), or keep it.
    pub addr: Option<IpAddr>,
    /// The new TCP/UDP port or ICMP echo identifier, or keep it.
    pub port: Option<u16>,
}

/// Where the port and the transport checksum lie, and which changes the
/// checksum must follow.
#[derive(Clone, Copy, Debug)]
struct Transport {
    /// Offset of the rewritten port / echo id, when there is one.
    port: Option<usize>,
    /// Offset of the transport checksum, when it must be updated.
    csum: Option<usize>,
    /// The checksum covers the addresses (a pseudo-header).
    pseudo: bool,
    /// UDP: a result of 0 is sent as 0xffff (0 means "no checksum").
    udp: bool,
}

fn transport(b: &[u8], ip: &Ip, h: &Headers, side: Side) -> Result<Transport, EditError> {
    let (l4, end) = (ip.l4, ip.end);
    let port_at = |need: usize| -> Result<usize, EditError> {
        if l4 + need > end {
            return Err(EditError::Truncated);
        }
        Ok(match side {
            Side::Source => l4,
            Side::Destination => l4 + 2,
        })
    };
    Ok(match h.l4 {
        L4::Tcp { .. } => Transport {
            port: Some(port_at(20)?),
            csum: Some(l4 + 16),
            pseudo: true,
            udp: false,
        },
        L4::Udp { .. } => {
            let port = Some(port_at(8)?);
            // IPv4 UDP without a checksum stays without one; IPv6 UDP
            // always has one.
            let none = !ip.v6 && be16(b, l4 + 6) == 0;
            Transport {
                port,
                csum: (!none).then_some(l4 + 6),
                pseudo: true,
                udp: true,
            }
        }
        L4::Icmp { icmp_type, .. } => {
            if l4 + 8 > end {
                return Err(EditError::Truncated);
            }
            let echo = if ip.v6 {
                matches!(icmp_type, 128 | 129)
            } else {
                matches!(icmp_type, 0 | 8)
            };
            if b[l4] != icmp_type {
                return Err(EditError::Inconsistent);
            }
            Transport {
                port: echo.then_some(l4 + 4),
                csum: Some(l4 + 2),
                pseudo: ip.v6,
                udp: false,
            }
        }
        L4::Fragment => return Err(EditError::Fragment),
        L4::None => Transport {
            port: None,
            csum: None,
            pseudo: false,
            udp: false,
        },
    })
}

/// Applies `rw` to the IP packet `h` describes (for a tunnelled frame,
/// `parsed.innermost()`'s headers, whose offsets are the whole frame's).
///
/// # Errors
/// Checked before any byte changes: [`EditError::FamilyMismatch`] for an
/// address of the other family; [`EditError::NotApplicable`] for a port
/// on a packet without one (not TCP, UDP or an ICMP echo) or a frame that
/// is not IP; [`EditError::Fragment`] for a fragment (its transport
/// checksum is not all here); [`EditError::Inconsistent`] /
/// [`EditError::Truncated`] when the frame does not match `h`.
pub fn nat<F: Frame + ?Sized>(
    frame: &mut F,
    h: &Headers,
    rw: &NatRewrite,
) -> Result<(), EditError> {
    let b = frame.bytes_mut();
    let ip = ip_at(b, h)?;
    let t = transport(b, &ip, h, rw.side)?;
    match rw.addr {
        Some(IpAddr::V4(_)) if ip.v6 => return Err(EditError::FamilyMismatch),
        Some(IpAddr::V6(_)) if !ip.v6 => return Err(EditError::FamilyMismatch),
        _ => {}
    }
    if rw.port.is_some() && t.port.is_none() {
        return Err(EditError::NotApplicable);
    }

    let mut l4_csum = t.csum.map(|at| be16(b, at));
    if let Some(addr) = rw.addr {
        let at = match rw.side {
            Side::Source => ip.src_range(),
            Side::Destination => ip.dst_range(),
        };
        match addr {
            IpAddr::V4(new) => {
                let old = v4_at(b, at.start);
                let hc = be16(b, ip.l3 + 10);
                put16(b, ip.l3 + 10, checksum::update_ipv4_addr(hc, old, new));
                if t.pseudo {
                    l4_csum = l4_csum.map(|c| checksum::update_ipv4_addr(c, old, new));
                }
                b[at].copy_from_slice(&new.octets());
            }
            IpAddr::V6(new) => {
                let old = v6_at(b, at.start);
                if t.pseudo {
                    l4_csum = l4_csum.map(|c| checksum::update_ipv6_addr(c, old, new));
                }
                b[at].copy_from_slice(&new.octets());
            }
        }
    }
    if let (Some(new), Some(at)) = (rw.port, t.port) {
        let old = be16(b, at);
        l4_csum = l4_csum.map(|c| checksum::update_port(c, old, new));
        put16(b, at, new);
    }
    if let (Some(at), Some(c)) = (t.csum, l4_csum) {
        put16(b, at, if t.udp && c == 0 { 0xffff } else { c });
    }
    Ok(())
}
