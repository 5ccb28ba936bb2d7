//! ICMP answers: errors quoting the packet that caused them (RFC 792 /
//! RFC 4443) and echo replies.

use std::net::{IpAddr, Ipv4Addr};

use crate::checksum;
use crate::edit::EditError;
use crate::frame::Frame;
use crate::ip::{
    be16, ip_at, put16, transport_checksum, v4_at, v6_at, write_ipv4, write_ipv6, Ip, PROTO_ICMP,
    PROTO_ICMPV6,
};
use crate::parse::{Headers, L4};
use crate::reply::Responder;

/// The ICMP error to answer with; each maps to its ICMPv4 or ICMPv6
/// type and code by the packet's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IcmpError {
    /// The packet exceeds the next hop's MTU: IPv4 destination unreachable,
    /// fragmentation needed (3/4) with the next-hop MTU (RFC 1191; at most
    /// 65535); IPv6 packet too big (2/0) with the MTU.
    TooBig {
        /// The MTU the sender must fit.
        mtu: u32,
    },
    /// No listener (OVN's `reject` of UDP): IPv4 3/3, IPv6 1/4.
    PortUnreachable,
    /// Administratively prohibited (a policy's `reject`): IPv4 3/13,
    /// IPv6 1/1.
    AdminProhibited,
    /// TTL or hop limit exceeded in transit: IPv4 11/0, IPv6 3/0.
    TimeExceeded,
}

impl IcmpError {
    /// Type, code and the four bytes after the checksum.
    fn header(self, v6: bool) -> Result<(u8, u8, [u8; 4]), EditError> {
        Ok(match (self, v6) {
            (IcmpError::TooBig { mtu }, false) => {
                let mtu = u16::try_from(mtu).map_err(|_| EditError::InvalidArgument)?;
                let [hi, lo] = mtu.to_be_bytes();
                (3, 4, [0, 0, hi, lo])
            }
            (IcmpError::TooBig { mtu }, true) => (2, 0, mtu.to_be_bytes()),
            (IcmpError::PortUnreachable, false) => (3, 3, [0; 4]),
            (IcmpError::PortUnreachable, true) => (1, 4, [0; 4]),
            (IcmpError::AdminProhibited, false) => (3, 13, [0; 4]),
            (IcmpError::AdminProhibited, true) => (1, 1, [0; 4]),
            (IcmpError::TimeExceeded, false) => (11, 0, [0; 4]),
            (IcmpError::TimeExceeded, true) => (3, 0, [0; 4]),
        })
    }
}

/// The most an IPv6 error quotes: the whole answer fits the minimum MTU
/// (RFC 4443 §2.4(c)).
const IPV6_MIN_MTU: usize = 1280;
/// ICMP header: type, code, checksum, four bytes.
const ICMP_HEADER: usize = 8;

fn is_icmpv4_error(icmp_type: u8) -> bool {
    // Destination unreachable, source quench, redirect, time exceeded,
    // parameter problem (RFC 1122 §3.2.2).
    matches!(icmp_type, 3 | 4 | 5 | 11 | 12)
}

fn unicast_v4(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_broadcast() || a.is_multicast())
}

/// Whether RFC 1122 §3.2.2 / RFC 4443 §2.4(e) allow an error about this
/// packet: not about an ICMP error, a non-first fragment (IPv4), a
/// multicast or broadcast destination (IPv6 packet too big excepted) or a
/// source that is not one host.
fn error_allowed(b: &[u8], ip: &Ip, h: &Headers, kind: IcmpError) -> bool {
    let too_big_v6 = ip.v6 && matches!(kind, IcmpError::TooBig { .. });
    let l2_multicast = b[0] & 1 == 1;
    let about_error = match h.l4 {
        L4::Icmp { icmp_type, .. } if ip.v6 => icmp_type < 128,
        L4::Icmp { icmp_type, .. } => is_icmpv4_error(icmp_type),
        _ => false,
    };
    if about_error || (l2_multicast && !too_big_v6) {
        return false;
    }
    if ip.v6 {
        let (src, dst) = (v6_at(b, ip.l3 + 8), v6_at(b, ip.l3 + 24));
        !(src.is_unspecified() || src.is_multicast() || (dst.is_multicast() && !too_big_v6))
    } else {
        let later_fragment = be16(b, ip.l3 + 6) & 0x1fff != 0;
        let (src, dst) = (v4_at(b, ip.l3 + 12), v4_at(b, ip.l3 + 16));
        !later_fragment && unicast_v4(src) && unicast_v4(dst)
    }
}

/// Turns the packet `h` describes into the ICMP error `kind` about it,
/// from `from` back to its source: Ethernet to its source MAC from
/// `from.mac` (tags kept), a fresh IP header, the ICMP header and the
/// quote — the IPv4 header with options and 8 bytes of payload (RFC 792),
/// or for IPv6 as much of the packet as keeps the answer within 1280
/// bytes (RFC 4443). The headers grow into the headroom; the quote does
/// not move.
///
/// # Errors
/// [`EditError::Forbidden`] where the RFCs forbid the error (see the
/// module), [`EditError::FamilyMismatch`] when `from.ip` is of the other
/// family, [`EditError::InvalidArgument`] for an IPv4 MTU above 65535,
/// [`EditError::NoHeadroom`] without room for the new headers,
/// [`EditError::NotApplicable`] for a frame that is not IP,
/// [`EditError::Inconsistent`] / [`EditError::Truncated`] when the frame
/// does not match `h`.
pub fn icmp_error<F: Frame + ?Sized>(
    frame: &mut F,
    h: &Headers,
    kind: IcmpError,
    from: &Responder,
) -> Result<(), EditError> {
    let b = frame.bytes();
    let ip = ip_at(b, h)?;
    match from.ip {
        IpAddr::V4(_) if ip.v6 => return Err(EditError::FamilyMismatch),
        IpAddr::V6(_) if !ip.v6 => return Err(EditError::FamilyMismatch),
        _ => {}
    }
    let (icmp_type, code, rest) = kind.header(ip.v6)?;
    if !error_allowed(b, &ip, h, kind) {
        return Err(EditError::Forbidden);
    }
    let (ip_len, quote) = if ip.v6 {
        (40, (ip.end - ip.l3).min(IPV6_MIN_MTU - 40 - ICMP_HEADER))
    } else {
        (20, (ip.end - ip.l3).min(ip.l4 - ip.l3 + 8))
    };
    let grow = ip_len + ICMP_HEADER;
    if !frame.push_front(grow) {
        return Err(EditError::NoHeadroom);
    }
    let new_len = ip.l3 + grow + quote;
    // A trim (the quote is at most what followed the link header): only a
    // broken `Frame` refuses it.
    if !frame.set_len(new_len) {
        return Err(EditError::Truncated);
    }

    let b = frame.bytes_mut();
    // The link header moves to the new front; the quote stays where it was.
    b.copy_within(grow..grow + ip.l3, 0);
    let reply = Ip {
        v6: ip.v6,
        l3: ip.l3,
        l4: ip.l3 + ip_len,
        end: new_len,
    };
    let quoted = ip.l3 + grow;
    match from.ip {
        IpAddr::V4(src) => {
            let dst = v4_at(b, quoted + 12);
            write_ipv4(
                &mut b[reply.l3..],
                (new_len - reply.l3) as u16,
                from.ttl,
                PROTO_ICMP,
                src,
                dst,
            );
        }
        IpAddr::V6(src) => {
            let dst = v6_at(b, quoted + 8);
            let payload = (new_len - reply.l4) as u16;
            write_ipv6(
                &mut b[reply.l3..],
                payload,
                PROTO_ICMPV6,
                from.ttl,
                src,
                dst,
            );
        }
    }
    let m = reply.l4;
    b[m] = icmp_type;
    b[m + 1] = code;
    put16(b, m + 2, 0);
    b[m + 4..m + 8].copy_from_slice(&rest);
    let sum = if ip.v6 {
        transport_checksum(b, &reply, PROTO_ICMPV6)
    } else {
        checksum::checksum(&b[m..new_len])
    };
    put16(b, m + 2, sum);
    crate::ip::answer_macs(b, from.mac);
    Ok(())
}

/// Turns an ICMP or ICMPv6 echo request into its reply: MACs and addresses
/// swapped, TTL (hop limit) `ttl`, type echo reply, identifier, sequence
/// and data kept; checksums updated incrementally.
///
/// # Errors
/// [`EditError::NotApplicable`] when `h` is not an echo request,
/// [`EditError::Forbidden`] for a request to a multicast or broadcast
/// address (the reply's source would not be one host),
/// [`EditError::Inconsistent`] / [`EditError::Truncated`] when the frame
/// does not match `h`.
pub fn echo_reply<F: Frame + ?Sized>(frame: &mut F, h: &Headers, ttl: u8) -> Result<(), EditError> {
    let b = frame.bytes_mut();
    let ip = ip_at(b, h)?;
    let (request, reply) = if ip.v6 { (128, 129) } else { (8, 0) };
    if !matches!(h.l4, L4::Icmp { icmp_type, code: 0, .. } if icmp_type == request) {
        return Err(EditError::NotApplicable);
    }
    if ip.l4 + ICMP_HEADER > ip.end {
        return Err(EditError::Truncated);
    }
    if b[ip.l4] != request {
        return Err(EditError::Inconsistent);
    }
    let to_group = if ip.v6 {
        v6_at(b, ip.l3 + 24).is_multicast()
    } else {
        !unicast_v4(v4_at(b, ip.l3 + 16))
    };
    if to_group || b[0] & 1 == 1 {
        return Err(EditError::Forbidden);
    }

    swap(b, 0, 6, 6);
    let (src, len) = (ip.src_range().start, ip.src_range().len());
    // Swapping the addresses leaves every sum over them unchanged.
    swap(b, src, src + len, len);
    if ip.v6 {
        b[ip.l3 + 7] = ttl;
    } else {
        let old = be16(b, ip.l3 + 8);
        b[ip.l3 + 8] = ttl;
        let hc = be16(b, ip.l3 + 10);
        put16(
            b,
            ip.l3 + 10,
            checksum::update16(hc, old, be16(b, ip.l3 + 8)),
        );
    }
    let old = be16(b, ip.l4);
    b[ip.l4] = reply;
    let hc = be16(b, ip.l4 + 2);
    put16(b, ip.l4 + 2, checksum::update16(hc, old, be16(b, ip.l4)));
    Ok(())
}

/// Swaps `b[x..x + n]` and `b[y..y + n]` (disjoint).
fn swap(b: &mut [u8], x: usize, y: usize, n: usize) {
    let (lo, hi) = b.split_at_mut(y);
    lo[x..x + n].swap_with_slice(&mut hi[..n]);
}
