//! TCP reset answering a segment (RFC 9293 §3.10.7.1, reset generation).

use crate::edit::EditError;
use crate::frame::Frame;
use crate::ip::{
    ip_at, put16, transport_checksum, v4_at, v6_at, write_ipv4, write_ipv6, Ip, PROTO_TCP,
};
use crate::parse::{tcp_flags, Headers, L4};

const TCP_HEADER: usize = 20;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Turns a TCP segment into the reset answering it, from its destination
/// back to its source (MACs, addresses and ports swapped; TTL or hop limit
/// `ttl`): if the segment has ACK, `<SEQ=SEG.ACK><CTL=RST>`; else
/// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`, SEG.LEN counting SYN and
/// FIN. A fresh IP header (no options or extension headers) and a
/// 20-byte TCP header with window 0; the frame shrinks to them.
///
/// # Errors
/// [`EditError::NotApplicable`] when `h` is not TCP,
/// [`EditError::Forbidden`] for a reset (never answered) or a segment to a
/// multicast or broadcast address,
/// [`EditError::Inconsistent`] / [`EditError::Truncated`] when the frame
/// does not match `h`.
pub fn tcp_reset<F: Frame + ?Sized>(frame: &mut F, h: &Headers, ttl: u8) -> Result<(), EditError> {
    if !matches!(h.l4, L4::Tcp { .. }) {
        return Err(EditError::NotApplicable);
    }
    let b = frame.bytes();
    let ip = ip_at(b, h)?;
    let t = ip.l4;
    if t + TCP_HEADER > ip.end {
        return Err(EditError::Truncated);
    }
    let data_offset = usize::from(b[t + 12] >> 4) * 4;
    if data_offset < TCP_HEADER || t + data_offset > ip.end {
        return Err(EditError::Inconsistent);
    }
    let flags = b[t + 13];
    let to_group = if ip.v6 {
        v6_at(b, ip.l3 + 24).is_multicast()
    } else {
        let dst = v4_at(b, ip.l3 + 16);
        dst.is_multicast() || dst.is_broadcast()
    };
    if flags & tcp_flags::RST != 0 || to_group || b[0] & 1 == 1 {
        return Err(EditError::Forbidden);
    }
    let (seq, ack) = (be32(b, t + 4), be32(b, t + 8));
    let (src_port, dst_port) = (&b[t..t + 2], &b[t + 2..t + 4]);
    let ports = [dst_port[0], dst_port[1], src_port[0], src_port[1]];
    let (rst_seq, rst_ack, rst_flags) = if flags & tcp_flags::ACK != 0 {
        (ack, 0, tcp_flags::RST)
    } else {
        let syn_fin =
            u32::from(flags & tcp_flags::SYN != 0) + u32::from(flags & tcp_flags::FIN != 0);
        let seg_len = (ip.end - t - data_offset) as u32 + syn_fin;
        (
            0,
            seq.wrapping_add(seg_len),
            tcp_flags::RST | tcp_flags::ACK,
        )
    };
    let ip_len = if ip.v6 { 40 } else { 20 };
    let rst = Ip {
        v6: ip.v6,
        l3: ip.l3,
        l4: ip.l3 + ip_len,
        end: ip.l3 + ip_len + TCP_HEADER,
    };
    let (src, dst) = (ip.src_range(), ip.dst_range());
    // The answer's source and destination: the segment's, swapped.
    let mut addrs = [0u8; 32];
    let n = src.len();
    addrs[..n].copy_from_slice(&b[dst]);
    addrs[n..2 * n].copy_from_slice(&b[src]);
    // A segment is at least as long as its reset: a trim, which only a
    // broken `Frame` refuses.
    if !frame.set_len(rst.end) {
        return Err(EditError::Truncated);
    }

    let b = frame.bytes_mut();
    let mut macs = [0u8; 12];
    macs[..6].copy_from_slice(&b[6..12]);
    macs[6..].copy_from_slice(&b[..6]);
    b[..12].copy_from_slice(&macs);
    if ip.v6 {
        let (src, dst) = (v6_at(&addrs, 0), v6_at(&addrs, 16));
        write_ipv6(
            &mut b[rst.l3..],
            TCP_HEADER as u16,
            PROTO_TCP,
            ttl,
            src,
            dst,
        );
    } else {
        let total = (ip_len + TCP_HEADER) as u16;
        let (src, dst) = (v4_at(&addrs, 0), v4_at(&addrs, 4));
        write_ipv4(&mut b[rst.l3..], total, ttl, PROTO_TCP, src, dst);
    }
    let s = rst.l4;
    b[s..s + 4].copy_from_slice(&ports);
    b[s + 4..s + 8].copy_from_slice(&rst_seq.to_be_bytes());
    b[s + 8..s + 12].copy_from_slice(&rst_ack.to_be_bytes());
    b[s + 12] = (TCP_HEADER as u8 / 4) << 4;
    b[s + 13] = rst_flags;
    put16(b, s + 14, 0); // window
    put16(b, s + 16, 0); // checksum, computed below
    put16(b, s + 18, 0); // urgent pointer
    let sum = transport_checksum(b, &rst, PROTO_TCP);
    put16(b, s + 16, sum);
    Ok(())
}
