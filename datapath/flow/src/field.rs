//! Field value types of the rule model: masked values (and the shared
//! [`MacAddr`]).
//!
//! Every matchable field of a pattern item is an `Option<Masked<T>>`:
//! `None` means "don't care". A [`Masked`] value keeps the invariant
//! `value & mask == value` (bits outside the mask are cleared on
//! construction), so two masked values that match the same packets compare
//! equal and render to the same testpmd text and rte_flow bytes.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

pub use dpuflow_net::MacAddr;

/// A type whose values can be combined bitwise with a mask.
pub trait MaskBits: Copy + Eq + fmt::Debug {
    /// The value with no bit set.
    const ZERO: Self;
    /// The value with every bit set.
    const FULL: Self;
    /// Bitwise AND.
    fn and(self, other: Self) -> Self;
}

macro_rules! int_mask_bits {
    ($($t:ty),*) => {$(
        impl MaskBits for $t {
            const ZERO: Self = 0;
            const FULL: Self = <$t>::MAX;
            fn and(self, other: Self) -> Self {
                self & other
            }
        }
    )*};
}
int_mask_bits!(u8, u16, u32);

impl MaskBits for MacAddr {
    const ZERO: Self = MacAddr::ZERO;
    const FULL: Self = MacAddr::BROADCAST;
    fn and(self, other: Self) -> Self {
        let mut out = [0u8; 6];
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(other.0.iter())) {
            *o = a & b;
        }
        MacAddr(out)
    }
}

impl MaskBits for Ipv4Addr {
    const ZERO: Self = Ipv4Addr::UNSPECIFIED;
    const FULL: Self = Ipv4Addr::BROADCAST;
    fn and(self, other: Self) -> Self {
        Ipv4Addr::from(u32::from(self) & u32::from(other))
    }
}

impl MaskBits for Ipv6Addr {
    const ZERO: Self = Ipv6Addr::UNSPECIFIED;
    const FULL: Self = Ipv6Addr::new(
        0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
    );
    fn and(self, other: Self) -> Self {
        Ipv6Addr::from(u128::from(self) & u128::from(other))
    }
}

/// A field value together with the bit-mask of the bits that must match.
///
/// Invariant: `value & mask == value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Masked<T> {
    value: T,
    mask: T,
}

impl<T: MaskBits> Masked<T> {
    /// `value` under `mask`; bits of `value` outside `mask` are cleared.
    pub fn new(value: T, mask: T) -> Self {
        Masked {
            value: value.and(mask),
            mask,
        }
    }

    /// An exact match on every bit of the field's type.
    ///
    /// For fields narrower than their Rust type (VLAN id, PCP, DSCP, VNI)
    /// use the item's setter, which applies the field's own width.
    pub fn exact(value: T) -> Self {
        Masked {
            value,
            mask: T::FULL,
        }
    }

    /// The (already masked) value.
    pub fn value(&self) -> T {
        self.value
    }

    /// The mask.
    pub fn mask(&self) -> T {
        self.mask
    }

    /// True when no bit is constrained (the field matches anything).
    pub fn is_wildcard(&self) -> bool {
        self.mask == T::ZERO
    }

    /// True when `candidate` matches: `candidate & mask == value`.
    pub fn matches(&self, candidate: T) -> bool {
        candidate.and(self.mask) == self.value
    }
}

/// The IPv4 mask with the `len` leading bits set (`len` is clamped to 32).
pub fn ipv4_prefix_mask(len: u8) -> Ipv4Addr {
    let len = u32::from(len.min(32));
    let bits = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    Ipv4Addr::from(bits)
}

/// The IPv6 mask with the `len` leading bits set (`len` is clamped to 128).
pub fn ipv6_prefix_mask(len: u8) -> Ipv6Addr {
    let len = u32::from(len.min(128));
    let bits = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    Ipv6Addr::from(bits)
}

impl Masked<Ipv4Addr> {
    /// `addr/len` (CIDR prefix); `len` is clamped to 32.
    pub fn prefix(addr: Ipv4Addr, len: u8) -> Self {
        Masked::new(addr, ipv4_prefix_mask(len))
    }

    /// The prefix length when the mask is contiguous leading ones.
    pub fn prefix_len(&self) -> Option<u8> {
        contiguous_prefix(u128::from(u32::from(self.mask)) << 96)
    }
}

impl Masked<Ipv6Addr> {
    /// `addr/len` (CIDR prefix); `len` is clamped to 128.
    pub fn prefix(addr: Ipv6Addr, len: u8) -> Self {
        Masked::new(addr, ipv6_prefix_mask(len))
    }

    /// The prefix length when the mask is contiguous leading ones.
    pub fn prefix_len(&self) -> Option<u8> {
        contiguous_prefix(u128::from(self.mask))
    }
}

fn contiguous_prefix(bits: u128) -> Option<u8> {
    let ones = bits.leading_ones();
    let rest = bits.checked_shl(ones).unwrap_or(0);
    if rest == 0 {
        u8::try_from(ones).ok()
    } else {
        None
    }
}
