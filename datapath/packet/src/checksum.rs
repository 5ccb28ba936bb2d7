//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624),
//! as IPv4, ICMP, TCP and UDP use them.
//!
//! A *sum* here is an unfolded one's-complement sum in a `u64`: [`sum`]
//! adds big-endian 32-bit words (the same value modulo 0xffff as 16-bit
//! words, half the additions, no carry handling until [`fold`]), so sums of
//! pieces add with [`add`] and fold once at the end. A piece after the
//! first must start at an even offset of the checksummed data.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The unfolded one's-complement sum of `data` as 16-bit big-endian words,
/// an odd last byte padded with zero (RFC 1071).
pub fn sum(data: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        // A frame has fewer than 2^32 words: the u64 cannot overflow.
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    match *words.remainder() {
        [a, b, c] => acc + u64::from(u16::from_be_bytes([a, b])) + (u64::from(c) << 8),
        [a, b] => acc + u64::from(u16::from_be_bytes([a, b])),
        [a] => acc + (u64::from(a) << 8),
        _ => acc,
    }
}

/// One's-complement addition of two sums.
pub fn add(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    s + u64::from(carry)
}

/// Folds a sum to 16 bits (end-around carry), not complemented.
pub fn fold(sum: u64) -> u16 {
    let s = (sum & 0xffff_ffff) + (sum >> 32);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The checksum a header carries for a sum: its folded complement.
pub fn finish(sum: u64) -> u16 {
    !fold(sum)
}

/// The checksum of `data` (an IPv4 header, an ICMPv4 message).
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(data))
}

/// The sum of the IPv4 pseudo-header of a TCP/UDP segment of `len` bytes.
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u16) -> u64 {
    sum(&src.octets()) + sum(&dst.octets()) + u64::from(proto) + u64::from(len)
}

/// The sum of the IPv6 pseudo-header (RFC 8200 §8.1) of an upper-layer
/// packet of `len` bytes.
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, len: u32) -> u64 {
    sum(&src.octets()) + sum(&dst.octets()) + u64::from(len) + u64::from(proto)
}

/// RFC 1624 eqn. 3: the checksum `hc` after a 16-bit word it covers changed
/// from `old` to `new`: `HC' = ~(~HC + ~m + m')`.
pub fn update16(hc: u16, old: u16, new: u16) -> u16 {
    finish(u64::from(!hc) + u64::from(!old) + u64::from(new))
}

/// RFC 1624 for a field of whole 16-bit words at an even offset: the
/// checksum `hc` after `old` became `new` (same length).
pub fn update(hc: u16, old: &[u8], new: &[u8]) -> u16 {
    // The sum of the complemented words is the complement of their sum.
    finish(u64::from(!hc) + u64::from(!fold(sum(old))) + sum(new))
}

/// `hc` after an IPv4 address it covers changed: the IPv4 header checksum,
/// or a TCP/UDP checksum through its pseudo-header.
pub fn update_ipv4_addr(hc: u16, old: Ipv4Addr, new: Ipv4Addr) -> u16 {
    update(hc, &old.octets(), &new.octets())
}

/// `hc` after an IPv6 address its pseudo-header covers changed (TCP, UDP,
/// ICMPv6).
pub fn update_ipv6_addr(hc: u16, old: Ipv6Addr, new: Ipv6Addr) -> u16 {
    update(hc, &old.octets(), &new.octets())
}

/// `hc` after a port (or ICMP echo identifier) changed.
pub fn update_port(hc: u16, old: u16, new: u16) -> u16 {
    update16(hc, old, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 1071 as written: 16-bit words, carries folded as they come.
    fn naive(data: &[u8]) -> u16 {
        let mut s = 0u32;
        for w in data.chunks(2) {
            let word = u32::from(w[0]) << 8 | u32::from(w.get(1).copied().unwrap_or(0));
            s += word;
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    proptest! {
        #[test]
        fn sum_matches_rfc1071_as_written(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(checksum(&data), naive(&data));
        }

        #[test]
        fn an_updated_checksum_verifies(
            mut data in proptest::collection::vec(any::<u8>(), 4..64),
            at in any::<prop::sample::Index>(),
            new in any::<u16>(),
        ) {
            // Word 0 holds the checksum; change another word.
            data[0] = 0;
            data[1] = 0;
            let hc = checksum(&data);
            data[..2].copy_from_slice(&hc.to_be_bytes());
            let word = 1 + at.index(data.len() / 2 - 1);
            let old = u16::from_be_bytes([data[2 * word], data[2 * word + 1]]);
            data[2 * word..2 * word + 2].copy_from_slice(&new.to_be_bytes());
            let hc = update16(hc, old, new);
            data[..2].copy_from_slice(&hc.to_be_bytes());
            // A valid checksum makes the whole sum fold to all ones.
            prop_assert_eq!(fold(sum(&data)), 0xffff);
        }
    }
}
