//! Requests dpuflow originates, built in a frame it reuses (the packet
//! that found its next hop unresolved): an ARP request and an IPv6
//! neighbour solicitation (RFC 4861 §7.2.2: to the solicited-node
//! multicast address, hop limit 255, our link-layer address in the
//! source option). And what answers them teach: the target and
//! link-layer address of a neighbour advertisement.

use std::net::{Ipv4Addr, Ipv6Addr};

use dpuflow_net::MacAddr;

use crate::checksum;
use crate::edit::EditError;
use crate::frame::Frame;
use crate::ip::{put16, write_ipv6, ETH_ARP, ETH_IPV6, PROTO_ICMPV6};
use crate::parse::{Headers, L3, L4};

const ARP_LEN: usize = 14 + 28;
/// Ethernet, IPv6, ICMPv6 header + reserved + target, source option.
const NS_LEN: usize = 14 + 40 + 24 + 8;
const SOLICITATION: u8 = 135;
const ADVERTISEMENT: u8 = 136;
const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;

/// Makes the frame a broadcast ARP request for `target` from `ip` at
/// `mac`.
///
/// # Errors
/// [`EditError::NoTailroom`] when the frame cannot hold 42 bytes.
pub fn arp_request<F: Frame + ?Sized>(
    frame: &mut F,
    mac: MacAddr,
    ip: Ipv4Addr,
    target: Ipv4Addr,
) -> Result<(), EditError> {
    if !frame.set_len(ARP_LEN) {
        return Err(EditError::NoTailroom);
    }
    let out = frame
        .bytes_mut()
        .get_mut(..ARP_LEN)
        .ok_or(EditError::Truncated)?;
    out[..6].copy_from_slice(&MacAddr::BROADCAST.0);
    out[6..12].copy_from_slice(&mac.0);
    put16(out, 12, ETH_ARP);
    out[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    out[22..28].copy_from_slice(&mac.0);
    out[28..32].copy_from_slice(&ip.octets());
    out[32..38].copy_from_slice(&[0; 6]);
    out[38..42].copy_from_slice(&target.octets());
    Ok(())
}

/// Makes the frame a neighbour solicitation for `target` from `ip` at
/// `mac`, to `target`'s solicited-node multicast group.
///
/// # Errors
/// [`EditError::NoTailroom`] when the frame cannot hold 86 bytes.
pub fn neighbor_solicit<F: Frame + ?Sized>(
    frame: &mut F,
    mac: MacAddr,
    ip: Ipv6Addr,
    target: Ipv6Addr,
) -> Result<(), EditError> {
    if !frame.set_len(NS_LEN) {
        return Err(EditError::NoTailroom);
    }
    let t = target.octets();
    let group = Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15],
    ]);
    let g = group.octets();
    let out = frame
        .bytes_mut()
        .get_mut(..NS_LEN)
        .ok_or(EditError::Truncated)?;
    out[..6].copy_from_slice(&[0x33, 0x33, g[12], g[13], g[14], g[15]]);
    out[6..12].copy_from_slice(&mac.0);
    put16(out, 12, ETH_IPV6);
    write_ipv6(&mut out[14..], 32, PROTO_ICMPV6, 255, ip, group);
    let icmp = &mut out[54..];
    icmp[..8].copy_from_slice(&[SOLICITATION, 0, 0, 0, 0, 0, 0, 0]);
    icmp[8..24].copy_from_slice(&t);
    icmp[24] = OPT_SOURCE_LLADDR;
    icmp[25] = 1;
    icmp[26..32].copy_from_slice(&mac.0);
    let pseudo = checksum::pseudo_header_v6(ip, group, PROTO_ICMPV6, 32);
    let sum = checksum::finish(checksum::add(pseudo, checksum::sum(&icmp[..32])));
    put16(icmp, 2, sum);
    Ok(())
}

/// The target and target link-layer address of a neighbour advertisement
/// (`None` for anything else, or an advertisement without the option).
pub fn advertised(frame: &[u8], h: &Headers) -> Option<(Ipv6Addr, MacAddr)> {
    if !matches!(
        (h.l3, h.l4),
        (
            L3::Ipv6 { .. },
            L4::Icmp {
                icmp_type: ADVERTISEMENT,
                ..
            }
        )
    ) {
        return None;
    }
    let msg = frame.get(usize::from(h.l4_offset)..)?;
    let target: [u8; 16] = msg.get(8..24)?.try_into().ok()?;
    let mut opts = msg.get(24..)?;
    while let [kind, len, ..] = *opts {
        let size = usize::from(len) * 8;
        if size == 0 {
            return None;
        }
        if kind == OPT_TARGET_LLADDR && size == 8 {
            let mac: [u8; 6] = opts.get(2..8)?.try_into().ok()?;
            return Some((Ipv6Addr::from(target), MacAddr(mac)));
        }
        opts = opts.get(size..)?;
    }
    None
}
