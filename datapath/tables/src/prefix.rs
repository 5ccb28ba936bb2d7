//! IP prefixes (CIDRs) and canonical prefix sets, with `except` subtraction.
//!
//! A [`Prefix`] is always normalised (host bits cleared), so two prefixes
//! covering the same addresses compare equal. A [`PrefixSet`] is kept in a
//! canonical form (sorted, no prefix inside another, sibling halves merged),
//! so two sets holding the same addresses compare equal: that keeps table
//! diffs free of spurious updates.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An invalid prefix length for the address family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("prefix length {len} is too long for {addr}")]
pub struct PrefixError {
    /// The address given.
    pub addr: IpAddr,
    /// The length given.
    pub len: u8,
}

/// An IPv4 or IPv6 prefix (`10.244.0.0/16`), host bits cleared.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// The prefix `addr/len`, with host bits cleared.
    ///
    /// # Errors
    /// [`PrefixError`] when `len` exceeds 32 (IPv4) or 128 (IPv6).
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        if len > max_len(addr) {
            return Err(PrefixError { addr, len });
        }
        let bits = to_bits(addr) & mask(max_len(addr), len);
        Ok(Self {
            addr: from_bits(addr, bits),
            len,
        })
    }

    /// The single-address prefix (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Self {
        Self {
            addr,
            len: max_len(addr),
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Whether `addr` lies inside this prefix (never across families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.is_ipv4()
            && to_bits(addr) & mask(max_len(addr), self.len) == to_bits(self.addr)
    }

    /// Whether every address of `other` lies inside this prefix.
    pub fn covers(&self, other: &Prefix) -> bool {
        other.len >= self.len && self.contains(other.addr)
    }

    /// The addresses of `self` that are not in `hole`, as disjoint prefixes.
    pub fn subtract(&self, hole: &Prefix) -> Vec<Prefix> {
        if hole.covers(self) {
            return Vec::new();
        }
        if !self.covers(hole) {
            return vec![*self];
        }
        // Walk from `self` down to `hole`; at each level keep the half that
        // does not lead to `hole`.
        let max = max_len(self.addr);
        let hole_bits = to_bits(hole.addr);
        (self.len + 1..=hole.len)
            .map(|len| {
                let flip = 1u128 << (max - len);
                let bits = (hole_bits & mask(max, len)) ^ flip;
                Prefix {
                    addr: from_bits(self.addr, bits),
                    len,
                }
            })
            .collect()
    }

    /// The enclosing prefix one bit shorter, `None` for `/0`.
    fn parent(&self) -> Option<Prefix> {
        let len = self.len.checked_sub(1)?;
        Prefix::new(self.addr, len).ok()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A canonical set of prefixes: sorted (IPv4 before IPv6), disjoint, and
/// with sibling halves merged into their parent.
///
/// Equal address sets give equal values, whatever order or shape they were
/// built from.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrefixSet(Vec<Prefix>);

impl PrefixSet {
    /// The empty set.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// `base` minus every prefix in `holes` (NetworkPolicy `ipBlock` with
    /// `except`).
    pub fn difference(base: Prefix, holes: &[Prefix]) -> Self {
        let mut parts = vec![base];
        for hole in holes {
            parts = parts.iter().flat_map(|p| p.subtract(hole)).collect();
        }
        parts.into_iter().collect()
    }

    /// The prefixes, in canonical order.
    pub fn prefixes(&self) -> &[Prefix] {
        &self.0
    }

    /// Whether the set holds no address.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of prefixes (not addresses).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `addr` is in the set.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|p| p.contains(addr))
    }

    /// Adds every address of `other`.
    pub fn extend_from(&mut self, other: &PrefixSet) {
        let mut all = std::mem::take(&mut self.0);
        all.extend_from_slice(&other.0);
        *self = all.into_iter().collect();
    }

    /// Sorted input → disjoint (drop covered) → siblings merged.
    fn canonical(mut prefixes: Vec<Prefix>) -> Vec<Prefix> {
        // Stable sort: inputs are often concatenated sorted runs.
        prefixes.sort();
        let mut out: Vec<Prefix> = Vec::with_capacity(prefixes.len());
        for p in prefixes {
            if out.last().is_some_and(|last| last.covers(&p)) {
                continue;
            }
            out.push(p);
            merge_tail(&mut out);
        }
        out
    }
}

/// While the last two prefixes are the two halves of one parent, replace
/// them by it.
fn merge_tail(out: &mut Vec<Prefix>) {
    while let [.., a, b] = out.as_slice() {
        let (Some(pa), Some(pb)) = (a.parent(), b.parent()) else {
            return;
        };
        if a.len != b.len || pa != pb {
            return;
        }
        out.truncate(out.len() - 2);
        out.push(pa);
    }
}

impl FromIterator<Prefix> for PrefixSet {
    fn from_iter<I: IntoIterator<Item = Prefix>>(iter: I) -> Self {
        Self(Self::canonical(iter.into_iter().collect()))
    }
}

impl fmt::Debug for PrefixSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(&self.0).finish()
    }
}

fn max_len(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn to_bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// An address of `family`'s family from its low bits.
fn from_bits(family: IpAddr, bits: u128) -> IpAddr {
    match family {
        // Truncation is intended: IPv4 bits live in the low 32.
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(bits as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(bits)),
    }
}

/// The network mask of a `len`-bit prefix in a `max`-bit family.
fn mask(max: u8, len: u8) -> u128 {
    if len == 0 {
        return 0;
    }
    let all = if max == 128 {
        u128::MAX
    } else {
        (1u128 << max) - 1
    };
    // `max - len` is at most 127 here, so the shift cannot overflow.
    all & !((1u128 << (max - len)) - 1)
}
