//! IP prefixes (CIDRs) and canonical prefix sets, with `except` subtraction,
//! over [`ipnet`].
//!
//! A [`Prefix`] is always normalised (host bits cleared), so two prefixes
//! covering the same addresses compare equal. A [`PrefixSet`] is kept in a
//! canonical form ([`IpNet::aggregate`]: sorted, IPv4 before IPv6, the fewest
//! prefixes covering the same addresses), so two sets holding the same
//! addresses compare equal: that keeps table diffs free of spurious updates.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

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
///
/// Ordered by address, then length (IPv4 before IPv6), as [`IpNet`] is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix(IpNet);

impl Prefix {
    /// The prefix `addr/len`, with host bits cleared.
    ///
    /// # Errors
    /// [`PrefixError`] when `len` exceeds 32 (IPv4) or 128 (IPv6).
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        IpNet::new(addr, len)
            .map(Self::from)
            .map_err(|_| PrefixError { addr, len })
    }

    /// The single-address prefix (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Self {
        Self(IpNet::from(addr))
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.0.addr()
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        matches!(self.0, IpNet::V4(_))
    }

    /// The prefix as an [`IpNet`].
    pub fn net(&self) -> IpNet {
        self.0
    }

    /// Whether `addr` lies inside this prefix (never across families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.0.contains(&addr)
    }

    /// Whether every address of `other` lies inside this prefix.
    pub fn covers(&self, other: &Prefix) -> bool {
        self.0.contains(&other.0)
    }

    /// The addresses of `self` that are not in `hole`, as disjoint prefixes.
    pub fn subtract(&self, hole: &Prefix) -> Vec<Prefix> {
        if hole.covers(self) {
            return Vec::new();
        }
        if !self.covers(hole) {
            return vec![*self];
        }
        // Walk from `self` down to `hole`, splitting in halves; at each level
        // keep the half that does not lead to `hole`.
        let mut out = Vec::with_capacity(usize::from(hole.prefix_len() - self.prefix_len()));
        let mut cur = self.0;
        while cur != hole.0 {
            let Ok(halves) = cur.subnets(cur.prefix_len() + 1) else {
                break; // unreachable: `cur` is shorter than `hole`
            };
            for half in halves {
                if half.contains(&hole.0) {
                    cur = half;
                } else {
                    out.push(Prefix(half));
                }
            }
        }
        out
    }
}

impl From<IpNet> for Prefix {
    /// The network of `net` (host bits cleared).
    fn from(net: IpNet) -> Self {
        Self(net.trunc())
    }
}

impl From<Prefix> for IpNet {
    fn from(p: Prefix) -> Self {
        p.0
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
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
        let all = self.0.iter().chain(&other.0).copied();
        *self = all.collect();
    }
}

impl FromIterator<Prefix> for PrefixSet {
    fn from_iter<I: IntoIterator<Item = Prefix>>(iter: I) -> Self {
        let nets: Vec<IpNet> = iter.into_iter().map(IpNet::from).collect();
        Self(IpNet::aggregate(&nets).into_iter().map(Prefix).collect())
    }
}

impl fmt::Debug for PrefixSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(&self.0).finish()
    }
}
