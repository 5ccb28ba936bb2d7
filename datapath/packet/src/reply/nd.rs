//! IPv6 neighbour advertisement answering a neighbour solicitation
//! (RFC 4861 §7.2.4).

use std::net::Ipv6Addr;

use dpuflow_net::MacAddr;

use crate::edit::EditError;
use crate::frame::Frame;
use crate::ip::{ip_at, put16, transport_checksum, v6_at, write_ipv6, Ip, PROTO_ICMPV6};
use crate::parse::{Headers, L4};

const SOLICITATION: u8 = 135;
const ADVERTISEMENT: u8 = 136;
/// Hop limit of every ND message (RFC 4861: a receiver drops any other).
const ND_HOP_LIMIT: u8 = 255;
const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;
/// Option type of the target link-layer address.
const OPT_TARGET_LLADDR: u8 = 2;
/// ICMPv6 header, reserved word and target, then the 8-byte option.
const NA_LEN: usize = 24 + 8;

/// Turns a neighbour solicitation into the advertisement of its target
/// address at `our_mac`: override flag set, solicited flag set unless the
/// solicitation came from the unspecified address (duplicate address
/// detection: then the answer goes to all nodes, `ff02::1`), router flag
/// as `router` (set for a router port's address); the target link-layer
/// address option carries `our_mac`; source address = the target, hop
/// limit 255. The frame is resized to the advertisement (any extension
/// headers and options of the solicitation dropped).
///
/// # Errors
/// [`EditError::NotApplicable`] when `h` is not a neighbour solicitation,
/// [`EditError::Forbidden`] for one RFC 4861 §7.1.1 says to drop (hop
/// limit not 255, code not 0, a multicast target),
/// [`EditError::NoTailroom`] when the frame cannot grow to the answer,
/// [`EditError::Inconsistent`] / [`EditError::Truncated`] when the frame
/// does not match `h`.
pub fn neighbor_advert<F: Frame + ?Sized>(
    frame: &mut F,
    h: &Headers,
    our_mac: MacAddr,
    router: bool,
) -> Result<(), EditError> {
    let L4::Icmp {
        icmp_type: SOLICITATION,
        ..
    } = h.l4
    else {
        return Err(EditError::NotApplicable);
    };
    let b = frame.bytes();
    let ip = ip_at(b, h)?;
    if !ip.v6 {
        return Err(EditError::NotApplicable);
    }
    if ip.l4 + 24 > ip.end {
        return Err(EditError::Truncated);
    }
    if b[ip.l4] != SOLICITATION {
        return Err(EditError::Inconsistent);
    }
    let target = v6_at(b, ip.l4 + 8);
    if b[ip.l3 + 7] != ND_HOP_LIMIT || b[ip.l4 + 1] != 0 || target.is_multicast() {
        return Err(EditError::Forbidden);
    }
    let asker = v6_at(b, ip.l3 + 8);
    let dad = asker.is_unspecified();
    let (dst_ip, dst_mac) = if dad {
        (
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
            MacAddr([0x33, 0x33, 0, 0, 0, 1]),
        )
    } else {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&b[6..12]);
        (asker, MacAddr(mac))
    };

    let na = Ip {
        v6: true,
        l3: ip.l3,
        l4: ip.l3 + 40,
        end: ip.l3 + 40 + NA_LEN,
    };
    if !frame.set_len(na.end) {
        return Err(EditError::NoTailroom);
    }
    let b = frame.bytes_mut();
    b[..6].copy_from_slice(&dst_mac.0);
    b[6..12].copy_from_slice(&our_mac.0);
    write_ipv6(
        &mut b[na.l3..],
        NA_LEN as u16,
        PROTO_ICMPV6,
        ND_HOP_LIMIT,
        target,
        dst_ip,
    );
    let m = &mut b[na.l4..na.end];
    m[0] = ADVERTISEMENT;
    m[1] = 0;
    put16(m, 2, 0);
    m[4] =
        FLAG_OVERRIDE | if dad { 0 } else { FLAG_SOLICITED } | if router { FLAG_ROUTER } else { 0 };
    m[5..8].fill(0);
    m[8..24].copy_from_slice(&target.octets());
    m[24] = OPT_TARGET_LLADDR;
    m[25] = 1; // in units of 8 bytes
    m[26..32].copy_from_slice(&our_mac.0);
    let sum = transport_checksum(b, &na, PROTO_ICMPV6);
    put16(b, na.l4 + 2, sum);
    Ok(())
}
