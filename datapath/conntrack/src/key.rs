//! The exact-match key of one direction of a connection, and its packed
//! form: five `u64` words, the unit the table stores, hashes and compares.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One direction of a connection as the packet carries it.
///
/// For ICMP echo the caller puts the echo id in both ports (so the reply,
/// which carries the same id, is the reversed key); for protocols without
/// ports both are 0. `zone` separates address spaces that may overlap (for
/// example one zone per logical router), as conntrack zones do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Conntrack zone.
    pub zone: u16,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, …).
    pub proto: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (echo id for ICMP echo).
    pub sport: u16,
    /// Destination port (echo id for ICMP echo).
    pub dport: u16,
}

impl FlowKey {
    /// The key of the opposite direction without NAT: addresses and ports
    /// swapped, zone and protocol kept.
    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            zone: self.zone,
            proto: self.proto,
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
        }
    }

    pub(crate) fn pack(&self) -> Packed {
        let (s_hi, s_lo, s_v4) = addr_words(self.src);
        let (d_hi, d_lo, d_v4) = addr_words(self.dst);
        // The family bits keep V4(a) and V6(::ffff:a) apart: an IPv6 packet
        // with a mapped address is not the IPv4 flow.
        let meta = (u64::from(s_v4) << SRC_V4_BIT)
            | (u64::from(d_v4) << DST_V4_BIT)
            | (u64::from(self.zone) << 40)
            | (u64::from(self.proto) << 32)
            | (u64::from(self.sport) << 16)
            | u64::from(self.dport);
        Packed([s_hi, s_lo, d_hi, d_lo, meta])
    }
}

const SRC_V4_BIT: u32 = 63;
const DST_V4_BIT: u32 = 62;

/// An IPv4 address as its IPv4-mapped IPv6 words, plus whether it was v4.
fn addr_words(addr: IpAddr) -> (u64, u64, bool) {
    let (v6, v4) = match addr {
        IpAddr::V4(a) => (a.to_ipv6_mapped(), true),
        IpAddr::V6(a) => (a, false),
    };
    let bits = u128::from(v6);
    // Truncation intended: the two halves of the 128-bit address.
    #[allow(clippy::cast_possible_truncation)]
    let words = ((bits >> 64) as u64, bits as u64);
    (words.0, words.1, v4)
}

fn words_addr(hi: u64, lo: u64, v4: bool) -> IpAddr {
    let v6 = Ipv6Addr::from((u128::from(hi) << 64) | u128::from(lo));
    match (v4, v6.to_ipv4_mapped()) {
        (true, Some(a)) => IpAddr::V4(a),
        // A packed key only says v4 for a mapped address; anything else is
        // the v6 address itself.
        (true, None) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (false, _) => IpAddr::V6(v6),
    }
}

/// A [`FlowKey`] packed into the words the table stores: source address,
/// destination address (each IPv4-mapped when v4), then one word of family
/// bits, zone, protocol and ports. Unambiguous: two keys are equal exactly
/// when their packed forms are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Packed(pub(crate) [u64; KEY_WORDS]);

/// Words of a packed key.
pub(crate) const KEY_WORDS: usize = 5;

impl Packed {
    pub(crate) fn unpack(&self) -> FlowKey {
        let [s_hi, s_lo, d_hi, d_lo, meta] = self.0;
        // Each field is extracted by shift and mask; truncation intended.
        #[allow(clippy::cast_possible_truncation)]
        FlowKey {
            zone: (meta >> 40) as u16,
            proto: (meta >> 32) as u8,
            src: words_addr(s_hi, s_lo, meta >> SRC_V4_BIT & 1 == 1),
            dst: words_addr(d_hi, d_lo, meta >> DST_V4_BIT & 1 == 1),
            sport: (meta >> 16) as u16,
            dport: meta as u16,
        }
    }

    pub(crate) fn proto(&self) -> u8 {
        // Truncation intended: the protocol byte.
        #[allow(clippy::cast_possible_truncation)]
        let proto = (self.0[4] >> 32) as u8;
        proto
    }
}

/// Direction of a packet relative to its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// The packet matched the forward key: the direction of the first
    /// packet, as it was seen (before any NAT).
    Forward,
    /// The packet matched the reply key (the reply as it arrives, after the
    /// NAT of the forward direction).
    Reply,
}

impl Dir {
    /// The other direction.
    pub fn opposite(self) -> Dir {
        match self {
            Dir::Forward => Dir::Reply,
            Dir::Reply => Dir::Forward,
        }
    }

    /// 0 for forward, 1 for reply: the index of this direction in
    /// per-direction arrays such as [`ConnView::packets`](crate::ConnView::packets).
    pub fn index(self) -> usize {
        match self {
            Dir::Forward => 0,
            Dir::Reply => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    #[test]
    fn pack_round_trips_v4_and_v6() {
        let keys = [
            FlowKey {
                zone: 7,
                proto: 6,
                src: v4([10, 244, 1, 5]),
                dst: v4([10, 96, 0, 10]),
                sport: 40000,
                dport: 443,
            },
            FlowKey {
                zone: u16::MAX,
                proto: 17,
                src: "fd00::1".parse().unwrap(),
                dst: "2001:db8::ffff:1".parse().unwrap(),
                sport: u16::MAX,
                dport: 0,
            },
        ];
        for key in keys {
            assert_eq!(key.pack().unpack(), key);
            assert_eq!(key.reversed().pack().unpack(), key.reversed());
        }
    }

    #[test]
    fn v4_and_its_mapped_v6_are_different_keys() {
        let a = FlowKey {
            zone: 0,
            proto: 17,
            src: v4([192, 0, 2, 1]),
            dst: v4([192, 0, 2, 2]),
            sport: 1,
            dport: 2,
        };
        let mapped = FlowKey {
            src: "::ffff:192.0.2.1".parse().unwrap(),
            dst: "::ffff:192.0.2.2".parse().unwrap(),
            ..a
        };
        assert_ne!(a.pack(), mapped.pack());
        assert_eq!(mapped.pack().unpack(), mapped);
    }

    #[test]
    fn every_field_changes_the_packed_key() {
        let base = FlowKey {
            zone: 1,
            proto: 6,
            src: v4([10, 0, 0, 1]),
            dst: v4([10, 0, 0, 2]),
            sport: 1000,
            dport: 80,
        };
        let variants = [
            FlowKey { zone: 2, ..base },
            FlowKey { proto: 17, ..base },
            FlowKey {
                src: v4([10, 0, 0, 3]),
                ..base
            },
            FlowKey {
                dst: v4([10, 0, 0, 3]),
                ..base
            },
            FlowKey {
                sport: 1001,
                ..base
            },
            FlowKey { dport: 81, ..base },
            base.reversed(),
        ];
        for v in variants {
            assert_ne!(v.pack(), base.pack(), "{v:?}");
        }
        assert_eq!(base.reversed().reversed(), base);
    }
}
