//! Invariants of [`dpuflow_packet::parse`] on any input.
//!
//! The parser must not panic (the fuzzer sees that on its own), and what it
//! returns must describe the frame it was given: every offset lies inside
//! the frame, in header order, and the fields it reports are the bytes found
//! at those offsets — so an offset that is off by a tag or an option shows
//! up as a mismatch, not only when it runs past the end. For Geneve, the
//! option area is re-walked from the bytes: every option lies inside the
//! announced area, and the inner frame starts right after it.

use std::net::{Ipv4Addr, Ipv6Addr};

use dpuflow_packet::geneve::{GENEVE_PORT, OVN_CLASS, OVN_TYPE, PROTO_ETHERNET};
use dpuflow_packet::{parse, DropReason, GenevePacket, Headers, Parsed, Tunnel, L3, L4};

use crate::{ensure, Violation};

const ETH_LEN: usize = 14;
const VLAN_LEN: usize = 4;
const UDP_LEN: usize = 8;
const GENEVE_FIXED_LEN: usize = 8;
/// 6 bits of option-area length, in 4-byte words.
const GENEVE_MAX_OPTIONS_LEN: usize = 63 * 4;
/// 5 bits of option-data length, in 4-byte words.
const GENEVE_MAX_OPTION_DATA: usize = 31 * 4;

/// Frames the parser is specified for: an mbuf segment's `data_len` is 16
/// bits, so longer inputs are outside its contract (its offsets are `u16`).
pub const MAX_FRAME: usize = u16::MAX as usize;

/// Parses `frame` and checks the result against the frame's bytes.
///
/// # Errors
/// The first invariant the parser's answer breaks.
pub fn check_parse(frame: &[u8]) -> Result<(), Violation> {
    if frame.len() > MAX_FRAME {
        return Ok(());
    }
    check_parsed(frame, &parse(frame))
}

/// Checks a parser's answer for `frame` (the result of `parse(frame)`, or a
/// doctored one in tests).
///
/// # Errors
/// The first invariant `result` breaks.
pub fn check_parsed(frame: &[u8], result: &Result<Parsed, DropReason>) -> Result<(), Violation> {
    let parsed = match result {
        Ok(p) => p,
        Err(reason) => {
            // A reason feeds a counter: it must be one of the counted ones.
            ensure!(
                DropReason::ALL.contains(reason),
                "drop reason {reason:?} missing from DropReason::ALL"
            );
            return Ok(());
        }
    };
    check_headers(frame, 0, &parsed.outer).map_err(|v| Violation(format!("outer: {v}")))?;

    let geneve = matches!(
        parsed.outer.l4,
        L4::Udp {
            dst: GENEVE_PORT,
            ..
        }
    );
    ensure!(
        geneve == parsed.tunnel.is_some(),
        "tunnel is {:?} but the outer transport is {:?}",
        parsed.tunnel.map(|t| t.inner_offset),
        parsed.outer.l4
    );
    if let Some(tunnel) = &parsed.tunnel {
        check_tunnel(frame, &parsed.outer, tunnel)?;
    }

    let inner = parsed.innermost();
    ensure!(
        usize::from(inner.l3_offset) <= frame.len() && usize::from(inner.l4_offset) <= frame.len(),
        "innermost offsets l3 {} l4 {} past the frame ({} bytes)",
        inner.l3_offset,
        inner.l4_offset,
        frame.len()
    );
    Ok(())
}

fn check_tunnel(frame: &[u8], outer: &Headers, tunnel: &Tunnel) -> Result<(), Violation> {
    let udp_payload = usize::from(outer.l4_offset) + UDP_LEN;
    let Some(bytes) = frame.get(udp_payload..) else {
        return Err(Violation(format!(
            "UDP payload at {udp_payload} past the frame ({} bytes)",
            frame.len()
        )));
    };
    let geneve = GenevePacket::new_checked(bytes)
        .map_err(|e| Violation(format!("tunnel accepted, but its Geneve header is {e:?}")))?;
    ensure!(
        geneve.protocol() == PROTO_ETHERNET,
        "tunnel accepted with Geneve protocol {:#06x}",
        geneve.protocol()
    );
    ensure!(
        tunnel.vni == geneve.vni() && tunnel.vni <= 0x00ff_ffff,
        "VNI {:#x}, the header says {:#x}",
        tunnel.vni,
        geneve.vni()
    );

    // The option area, re-walked: options tile it exactly, each one bounded.
    let header_len = geneve.header_len();
    ensure!(
        (GENEVE_FIXED_LEN..=GENEVE_FIXED_LEN + GENEVE_MAX_OPTIONS_LEN).contains(&header_len)
            && header_len <= bytes.len(),
        "Geneve header length {header_len} (UDP payload {} bytes)",
        bytes.len()
    );
    let mut walked = GENEVE_FIXED_LEN;
    let mut ovn = None;
    for opt in geneve.options() {
        ensure!(
            opt.data.len() % 4 == 0 && opt.data.len() <= GENEVE_MAX_OPTION_DATA,
            "Geneve option of {} data bytes",
            opt.data.len()
        );
        let at = walked;
        walked += 4 + opt.data.len();
        ensure!(
            walked <= header_len,
            "Geneve option at {at} ends at {walked}, past the option area ({header_len})"
        );
        let raw = bytes.get(at..walked).unwrap_or_default();
        ensure!(
            raw.get(4..) == Some(opt.data)
                && raw.get(..2) == Some(&opt.class.to_be_bytes()[..])
                && raw.get(2) == Some(&opt.option_type),
            "Geneve option at {at} is not the bytes there"
        );
        if ovn.is_none() && opt.class == OVN_CLASS && opt.option_type == OVN_TYPE {
            if let Ok(word) = <[u8; 4]>::try_from(opt.data) {
                ovn = Some(u32::from_be_bytes(word));
            }
        }
    }
    ensure!(
        walked == header_len,
        "Geneve options cover {walked} of {header_len} header bytes"
    );
    let expected = ovn.map(|w| (((w >> 16) & 0x7fff) as u16, w as u16));
    ensure!(
        tunnel.ovn.map(|k| (k.ingress, k.egress)) == expected,
        "OVN keys {:?}, the option says (ingress, egress) {expected:?}",
        tunnel.ovn
    );

    let inner_offset = usize::from(tunnel.inner_offset);
    ensure!(
        inner_offset == udp_payload + header_len,
        "inner frame at {inner_offset}, Geneve header ends at {}",
        udp_payload + header_len
    );
    ensure!(
        inner_offset < frame.len(),
        "inner frame at {inner_offset}, past the frame ({} bytes)",
        frame.len()
    );
    check_headers(frame, inner_offset, &tunnel.inner)
        .map_err(|v| Violation(format!("inner: {v}")))?;
    ensure!(
        !matches!(
            tunnel.inner.l4,
            L4::Udp {
                dst: GENEVE_PORT,
                ..
            }
        ),
        "Geneve inside Geneve accepted"
    );
    Ok(())
}

/// `h` describes the Ethernet frame starting at `start` in `frame`.
fn check_headers(frame: &[u8], start: usize, h: &Headers) -> Result<(), Violation> {
    let len = frame.len();
    let (l3, l4) = (usize::from(h.l3_offset), usize::from(h.l4_offset));
    ensure!(
        l3 <= l4 && l4 <= len,
        "offsets l3 {l3} l4 {l4} out of order or past the frame ({len} bytes)"
    );

    ensure!(
        at::<6>(frame, start)? == h.dst.0 && at::<6>(frame, start + 6)? == h.src.0,
        "MACs {:?} {:?} are not the bytes at {start}",
        h.dst,
        h.src
    );

    let tags = h.vlans.iter().take_while(|v| v.is_some()).count();
    ensure!(
        h.vlans.iter().skip(tags).all(Option::is_none),
        "VLAN tags with a gap: {:?}",
        h.vlans
    );
    for (i, tag) in h.vlans.iter().flatten().enumerate() {
        let tci = u16::from_be_bytes(at(frame, start + ETH_LEN + VLAN_LEN * i)?);
        ensure!(
            tag.vid == tci & 0x0fff && u16::from(tag.pcp) == tci >> 13,
            "VLAN tag {i} {tag:?}, the TCI is {tci:#06x}"
        );
    }
    let after_tags = start + ETH_LEN + VLAN_LEN * tags;
    ensure!(
        l3 == after_tags,
        "network header at {l3}, Ethernet and {tags} tag(s) end at {after_tags}"
    );
    let ether_type = u16::from_be_bytes(at(frame, l3 - 2)?);

    match h.l3 {
        L3::Other(et) => {
            ensure!(
                et == ether_type,
                "EtherType {et:#06x}, the frame says {ether_type:#06x}"
            );
            ensure!(
                ![0x0800, 0x86dd, 0x0806].contains(&et),
                "IPv4/IPv6/ARP EtherType {et:#06x} reported as Other"
            );
        }
        L3::Arp(arp) => {
            ensure!(
                ether_type == 0x0806,
                "ARP under EtherType {ether_type:#06x}"
            );
            ensure!(
                u16::from_be_bytes(at(frame, l3 + 6)?) == arp.operation
                    && at::<6>(frame, l3 + 8)? == arp.sender_mac.0
                    && Ipv4Addr::from(at::<4>(frame, l3 + 14)?) == arp.sender_ip
                    && at::<6>(frame, l3 + 18)? == arp.target_mac.0
                    && Ipv4Addr::from(at::<4>(frame, l3 + 24)?) == arp.target_ip,
                "ARP {arp:?} is not the bytes at {l3}"
            );
        }
        L3::Ipv4 {
            src,
            dst,
            proto,
            ttl,
            tos,
        } => {
            ensure!(
                ether_type == 0x0800,
                "IPv4 under EtherType {ether_type:#06x}"
            );
            let [vihl, tos_b] = at(frame, l3)?;
            let ihl = usize::from(vihl & 0x0f) * 4;
            ensure!(
                vihl >> 4 == 4 && ihl >= 20 && l4 >= l3 + ihl,
                "IPv4 version/IHL {vihl:#04x} with payload at {l4}"
            );
            let [ttl_b, proto_b] = at(frame, l3 + 8)?;
            ensure!(
                (tos, ttl, proto) == (tos_b, ttl_b, proto_b)
                    && Ipv4Addr::from(at::<4>(frame, l3 + 12)?) == src
                    && Ipv4Addr::from(at::<4>(frame, l3 + 16)?) == dst,
                "IPv4 fields {:?} are not the bytes at {l3}",
                h.l3
            );
        }
        L3::Ipv6 {
            src,
            dst,
            hop_limit,
            traffic_class,
            ..
        } => {
            ensure!(
                ether_type == 0x86dd,
                "IPv6 under EtherType {ether_type:#06x}"
            );
            let [b0, b1] = at(frame, l3)?;
            ensure!(
                b0 >> 4 == 6
                    && l4 >= l3 + 40
                    && traffic_class == (b0 << 4 | b1 >> 4)
                    && at::<1>(frame, l3 + 7)? == [hop_limit]
                    && Ipv6Addr::from(at::<16>(frame, l3 + 8)?) == src
                    && Ipv6Addr::from(at::<16>(frame, l3 + 24)?) == dst,
                "IPv6 fields {:?} are not the bytes at {l3} (payload at {l4})",
                h.l3
            );
        }
    }

    let ip = matches!(h.l3, L3::Ipv4 { .. } | L3::Ipv6 { .. });
    match h.l4 {
        L4::None => ensure!(ip || l4 == l3, "no transport, but payload at {l4} ≠ {l3}"),
        L4::Fragment => ensure!(ip, "a fragment of {:?}", h.l3),
        L4::Tcp { src, dst, flags } => {
            ensure!(ip, "TCP over {:?}", h.l3);
            let data_offset = at::<1>(frame, l4 + 12)?[0] >> 4;
            ensure!(
                data_offset >= 5
                    && l4 + usize::from(data_offset) * 4 <= len
                    && u16::from_be_bytes(at(frame, l4)?) == src
                    && u16::from_be_bytes(at(frame, l4 + 2)?) == dst
                    && at::<1>(frame, l4 + 13)? == [flags],
                "TCP {:?} is not the header at {l4}",
                h.l4
            );
        }
        L4::Udp { src, dst } => {
            ensure!(ip, "UDP over {:?}", h.l3);
            ensure!(
                l4 + UDP_LEN <= len
                    && u16::from_be_bytes(at(frame, l4)?) == src
                    && u16::from_be_bytes(at(frame, l4 + 2)?) == dst,
                "UDP {:?} is not the header at {l4}",
                h.l4
            );
        }
        L4::Icmp {
            icmp_type,
            code,
            id,
        } => {
            ensure!(ip, "ICMP over {:?}", h.l3);
            let echo: &[u8] = if matches!(h.l3, L3::Ipv4 { .. }) {
                &[0, 8]
            } else {
                &[128, 129]
            };
            let header_id = u16::from_be_bytes(at(frame, l4 + 4)?);
            let expected_id = if echo.contains(&icmp_type) && code == 0 {
                header_id
            } else {
                0
            };
            ensure!(
                at::<2>(frame, l4)? == [icmp_type, code] && id == expected_id,
                "ICMP {:?} is not the header at {l4} (id field {header_id})",
                h.l4
            );
        }
    }
    Ok(())
}

/// `N` bytes of `frame` at `offset`, or the violation of reporting a header
/// there.
fn at<const N: usize>(frame: &[u8], offset: usize) -> Result<[u8; N], Violation> {
    offset
        .checked_add(N)
        .and_then(|end| frame.get(offset..end))
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or_else(|| {
            Violation(format!(
                "reads {N} bytes at {offset}, past the frame ({} bytes)",
                frame.len()
            ))
        })
}
