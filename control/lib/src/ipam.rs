//! Pod IP allocation from this node's subnet(s).
//!
//! One address per IP family for each pod, taken from the node subnets of
//! `k8s.ovn.org/node-subnets`. In each subnet the network address (offset
//! 0), the gateway (`.1`), the management port (`.2`) and, for IPv4, the
//! broadcast address are never handed out.
//!
//! Policy: **round-robin**, like upstream's pod IPAM
//! (`NewRoundRobinAllocationMap`): the search for a free address starts
//! after the last one handed out, so a released address is not reused at
//! once (a new pod does not inherit traffic or conntrack state meant for
//! the old one).
//!
//! Restart safety: every pod's existing `pod-networks` addresses are given
//! back with [`PodIpAllocator::restore`] before any [`PodIpAllocator::allocate`];
//! an address claimed by two pods is an error naming both, and is never
//! handed out twice. Pods are keyed by UID; namespace/name are for
//! messages.
//!
//! Each subnet is a bitmap (one bit per address): a /16 costs 8 KiB. Only
//! the first 65,536 addresses of a larger subnet (an IPv6 /64) are used —
//! far more than a node runs pods.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Addresses tracked per subnet (the first ones of a larger subnet).
pub const MAX_TRACKED_ADDRESSES: u64 = 1 << 16;

/// The pod an allocation belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodRef {
    /// The pod's UID: the allocation key.
    pub uid: String,
    /// Namespace, for messages.
    pub namespace: String,
    /// Name, for messages.
    pub name: String,
}

impl PodRef {
    /// A pod reference.
    pub fn new(
        uid: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        PodRef {
            uid: uid.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for PodRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} (uid {})", self.namespace, self.name, self.uid)
    }
}

/// A pod's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The pod.
    pub pod: PodRef,
    /// Its addresses, one per family, in node-subnet order.
    pub ips: Vec<IpAddr>,
}

/// Why an allocation, restore or rebuild failed. Nothing is changed when
/// an operation fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// The allocator was given no subnet.
    #[error("no node subnet to allocate from")]
    NoSubnets,
    /// Two node subnets overlap.
    #[error("node subnets {0} and {1} overlap")]
    OverlappingSubnets(IpNet, IpNet),
    /// Every address of a family is taken.
    #[error("no free {family} address left in node subnet(s) {subnets:?} for {pod}")]
    Exhausted {
        /// `IPv4` or `IPv6`.
        family: &'static str,
        /// The subnets of that family, as text.
        subnets: Vec<String>,
        /// The pod that asked.
        pod: Box<PodRef>,
    },
    /// The address is already held by another pod.
    #[error("{ip} claimed by {claimant} is already held by {holder}")]
    Conflict {
        /// The address.
        ip: IpAddr,
        /// The pod holding it.
        holder: Box<PodRef>,
        /// The pod claiming it too.
        claimant: Box<PodRef>,
    },
    /// The address is in none of the node subnets (or beyond the tracked part).
    #[error("{ip} of {pod} is outside the node subnet(s) {subnets:?}")]
    OutsideSubnets {
        /// The address.
        ip: IpAddr,
        /// The pod.
        pod: Box<PodRef>,
        /// The node subnets, as text.
        subnets: Vec<String>,
    },
    /// The address is one that is never given to pods.
    #[error("{ip} of {pod} is the subnet's {role}, never a pod address")]
    Reserved {
        /// The address.
        ip: IpAddr,
        /// The pod.
        pod: Box<PodRef>,
        /// `network address`, `gateway`, `management port` or `broadcast address`.
        role: &'static str,
    },
    /// Two addresses of one family for one pod.
    #[error("{pod} has more than one address of a family: {ips:?}")]
    SameFamilyTwice {
        /// The pod.
        pod: Box<PodRef>,
        /// Its addresses.
        ips: Vec<IpAddr>,
    },
    /// The pod already holds other addresses.
    #[error("{pod} already holds {held:?}, not {claimed:?}; release it first")]
    AlreadyAllocated {
        /// The pod.
        pod: Box<PodRef>,
        /// What it holds.
        held: Vec<IpAddr>,
        /// What was claimed.
        claimed: Vec<IpAddr>,
    },
}

/// One subnet's bitmap. A set bit is an address that is taken (reserved
/// or allocated); bits past `size` are set so they are never free.
#[derive(Clone, Debug)]
struct SubnetPool {
    subnet: IpNet,
    size: u64,
    used: Vec<u64>,
    cursor: u64,
}

impl SubnetPool {
    fn new(subnet: IpNet) -> Self {
        let subnet = subnet.trunc();
        let host_bits = u32::from(subnet.max_prefix_len() - subnet.prefix_len());
        let size = if host_bits >= 16 {
            MAX_TRACKED_ADDRESSES
        } else {
            1u64 << host_bits
        };
        let words = size.div_ceil(64) as usize;
        let mut pool = SubnetPool {
            subnet,
            size,
            used: vec![0; words],
            cursor: 0,
        };
        for off in size..(words as u64 * 64) {
            pool.set(off, true);
        }
        let reserved: Vec<u64> = (0..size)
            .filter(|&o| pool.reserved_role(o).is_some())
            .collect();
        for off in reserved {
            pool.set(off, true);
        }
        pool
    }

    fn is_ipv6(&self) -> bool {
        self.subnet.addr().is_ipv6()
    }

    /// What a reserved offset is for, or `None` for a pod address.
    fn reserved_role(&self, off: u64) -> Option<&'static str> {
        let broadcast = !self.is_ipv6()
            && self.subnet.prefix_len() < 31
            && self.address(off) == self.subnet.broadcast();
        match off {
            0 => Some("network address"),
            1 => Some("gateway"),
            2 => Some("management port"),
            _ if broadcast => Some("broadcast address"),
            _ => None,
        }
    }

    fn offset_of(&self, ip: IpAddr) -> Option<u64> {
        if !self.subnet.contains(&ip) {
            return None;
        }
        let off = to_bits(ip).checked_sub(to_bits(self.subnet.network()))?;
        u64::try_from(off).ok().filter(|&o| o < self.size)
    }

    fn address(&self, off: u64) -> IpAddr {
        from_bits(
            to_bits(self.subnet.network()) + u128::from(off),
            self.is_ipv6(),
        )
    }

    #[cfg(test)]
    fn is_set(&self, off: u64) -> bool {
        self.used
            .get((off / 64) as usize)
            .is_none_or(|w| w & (1 << (off % 64)) != 0)
    }

    fn set(&mut self, off: u64, taken: bool) {
        if let Some(w) = self.used.get_mut((off / 64) as usize) {
            if taken {
                *w |= 1 << (off % 64);
            } else {
                *w &= !(1 << (off % 64));
            }
        }
    }

    /// Takes the first free address at or after the cursor, wrapping.
    fn take_next(&mut self) -> Option<IpAddr> {
        let off = self
            .find_free(self.cursor, self.size)
            .or_else(|| self.find_free(0, self.cursor))?;
        self.set(off, true);
        self.cursor = (off + 1) % self.size;
        Some(self.address(off))
    }

    /// The first clear bit in `from..to`, skipping full words.
    fn find_free(&self, from: u64, to: u64) -> Option<u64> {
        let mut off = from;
        while off < to {
            let word = self
                .used
                .get((off / 64) as usize)
                .copied()
                .unwrap_or(u64::MAX);
            let free = !word >> (off % 64);
            if free != 0 {
                let candidate = off + u64::from(free.trailing_zeros());
                return (candidate < to).then_some(candidate);
            }
            off = (off / 64 + 1) * 64;
        }
        None
    }

    /// Addresses still free.
    fn free_count(&self) -> u64 {
        let taken: u64 = self.used.iter().map(|w| u64::from(w.count_ones())).sum();
        self.used.len() as u64 * 64 - taken
    }
}

fn to_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_bits(bits: u128, ipv6: bool) -> IpAddr {
    if ipv6 {
        IpAddr::V6(Ipv6Addr::from(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    }
}

fn family(ipv6: bool) -> &'static str {
    if ipv6 {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// The pod address allocator of one node.
#[derive(Clone, Debug)]
pub struct PodIpAllocator {
    pools: Vec<SubnetPool>,
    owners: BTreeMap<String, Allocation>,
    by_ip: HashMap<IpAddr, String>,
}

/// The result of [`PodIpAllocator::with_subnets`].
#[derive(Debug)]
pub struct Rebuilt {
    /// An allocator over the new subnets holding every allocation that
    /// still fits.
    pub allocator: PodIpAllocator,
    /// Pods whose addresses no longer fit, with the reason; they hold
    /// nothing in the new allocator.
    pub stranded: Vec<(Allocation, IpamError)>,
}

impl PodIpAllocator {
    /// An allocator over `subnets` (the node's subnets, in annotation
    /// order; normally one per family).
    pub fn new(subnets: &[IpNet]) -> Result<Self, IpamError> {
        if subnets.is_empty() {
            return Err(IpamError::NoSubnets);
        }
        for (i, a) in subnets.iter().enumerate() {
            if let Some(b) = subnets[i + 1..]
                .iter()
                .find(|b| a.contains(&b.network()) || b.contains(&a.network()))
            {
                return Err(IpamError::OverlappingSubnets(*a, *b));
            }
        }
        Ok(PodIpAllocator {
            pools: subnets.iter().copied().map(SubnetPool::new).collect(),
            owners: BTreeMap::new(),
            by_ip: HashMap::new(),
        })
    }

    /// The node subnets.
    pub fn subnets(&self) -> Vec<IpNet> {
        self.pools.iter().map(|p| p.subnet).collect()
    }

    /// The addresses of pod `uid`.
    pub fn allocation(&self, uid: &str) -> Option<&Allocation> {
        self.owners.get(uid)
    }

    /// The pod holding `ip`.
    pub fn owner_of(&self, ip: IpAddr) -> Option<&PodRef> {
        self.by_ip
            .get(&ip)
            .and_then(|uid| self.owners.get(uid))
            .map(|a| &a.pod)
    }

    /// Every allocation, by pod UID.
    pub fn allocations(&self) -> impl Iterator<Item = &Allocation> {
        self.owners.values()
    }

    /// Addresses still free, over all subnets.
    pub fn free_count(&self) -> u64 {
        self.pools.iter().map(SubnetPool::free_count).sum()
    }

    /// Whether `ip` is a reserved (never allocated) address of a subnet.
    pub fn is_reserved(&self, ip: IpAddr) -> bool {
        self.pools.iter().any(|p| {
            p.offset_of(ip)
                .is_some_and(|o| p.reserved_role(o).is_some())
        })
    }

    /// Gives `pod` one free address per family of the node subnets; if it
    /// already has addresses, returns those. Fails, taking nothing, when a
    /// family has no free address.
    pub fn allocate(&mut self, pod: &PodRef) -> Result<Vec<IpAddr>, IpamError> {
        if let Some(existing) = self.owners.get(&pod.uid) {
            return Ok(existing.ips.clone());
        }
        let mut ips = Vec::new();
        for ipv6 in self.families() {
            match self.take_in_family(ipv6) {
                Some(ip) => ips.push(ip),
                None => {
                    self.untake(&ips);
                    return Err(self.exhausted(ipv6, pod));
                }
            }
        }
        self.record(pod, ips.clone());
        Ok(ips)
    }

    /// Records that `pod` already holds `ips` (read back from its
    /// `pod-networks` annotation). Idempotent for the same addresses; fails,
    /// changing nothing, on an address held by another pod, outside the
    /// subnets, reserved, or two of a family.
    pub fn restore(&mut self, pod: &PodRef, ips: &[IpAddr]) -> Result<(), IpamError> {
        if let Some(existing) = self.owners.get(&pod.uid) {
            let same =
                existing.ips.len() == ips.len() && ips.iter().all(|ip| existing.ips.contains(ip));
            return if same {
                Ok(())
            } else {
                Err(IpamError::AlreadyAllocated {
                    pod: Box::new(pod.clone()),
                    held: existing.ips.clone(),
                    claimed: ips.to_vec(),
                })
            };
        }
        let slots = self.check_claim(pod, ips)?;
        for (pool, off) in slots {
            if let Some(p) = self.pools.get_mut(pool) {
                p.set(off, true);
            }
        }
        if !ips.is_empty() {
            self.record(pod, ips.to_vec());
        }
        Ok(())
    }

    /// Frees pod `uid`'s addresses; returns what it held.
    pub fn release(&mut self, uid: &str) -> Option<Allocation> {
        let allocation = self.owners.remove(uid)?;
        self.untake(&allocation.ips);
        for ip in &allocation.ips {
            self.by_ip.remove(ip);
        }
        Some(allocation)
    }

    /// An allocator over new node subnets (the `node-subnets` annotation
    /// changed) with every allocation that still fits restored; the others
    /// are reported, not kept.
    pub fn with_subnets(&self, subnets: &[IpNet]) -> Result<Rebuilt, IpamError> {
        let mut allocator = PodIpAllocator::new(subnets)?;
        let mut stranded = Vec::new();
        for allocation in self.owners.values() {
            if let Err(e) = allocator.restore(&allocation.pod, &allocation.ips) {
                stranded.push((allocation.clone(), e));
            }
        }
        Ok(Rebuilt {
            allocator,
            stranded,
        })
    }

    /// The families of the subnets, in order of first appearance.
    fn families(&self) -> Vec<bool> {
        let mut out = Vec::new();
        for p in &self.pools {
            if !out.contains(&p.is_ipv6()) {
                out.push(p.is_ipv6());
            }
        }
        out
    }

    fn take_in_family(&mut self, ipv6: bool) -> Option<IpAddr> {
        self.pools
            .iter_mut()
            .filter(|p| p.is_ipv6() == ipv6)
            .find_map(SubnetPool::take_next)
    }

    fn untake(&mut self, ips: &[IpAddr]) {
        for &ip in ips {
            if let Some((pool, off)) = self.slot(ip) {
                if let Some(p) = self.pools.get_mut(pool) {
                    p.set(off, false);
                }
            }
        }
    }

    fn record(&mut self, pod: &PodRef, ips: Vec<IpAddr>) {
        for ip in &ips {
            self.by_ip.insert(*ip, pod.uid.clone());
        }
        self.owners.insert(
            pod.uid.clone(),
            Allocation {
                pod: pod.clone(),
                ips,
            },
        );
    }

    /// The pool index and offset of `ip`.
    fn slot(&self, ip: IpAddr) -> Option<(usize, u64)> {
        self.pools
            .iter()
            .enumerate()
            .find_map(|(i, p)| p.offset_of(ip).map(|o| (i, o)))
    }

    /// Checks a restore claim; returns the slots to mark.
    fn check_claim(&self, pod: &PodRef, ips: &[IpAddr]) -> Result<Vec<(usize, u64)>, IpamError> {
        let families: Vec<bool> = ips.iter().map(IpAddr::is_ipv6).collect();
        if families
            .iter()
            .enumerate()
            .any(|(i, f)| families[..i].contains(f))
        {
            return Err(IpamError::SameFamilyTwice {
                pod: Box::new(pod.clone()),
                ips: ips.to_vec(),
            });
        }
        ips.iter().map(|&ip| self.check_one(pod, ip)).collect()
    }

    fn check_one(&self, pod: &PodRef, ip: IpAddr) -> Result<(usize, u64), IpamError> {
        let (pool, off) = self.slot(ip).ok_or_else(|| IpamError::OutsideSubnets {
            ip,
            pod: Box::new(pod.clone()),
            subnets: self.subnets().iter().map(IpNet::to_string).collect(),
        })?;
        if let Some(role) = self.pools.get(pool).and_then(|p| p.reserved_role(off)) {
            return Err(IpamError::Reserved {
                ip,
                pod: Box::new(pod.clone()),
                role,
            });
        }
        if let Some(holder) = self.owner_of(ip) {
            return Err(IpamError::Conflict {
                ip,
                holder: Box::new(holder.clone()),
                claimant: Box::new(pod.clone()),
            });
        }
        Ok((pool, off))
    }

    fn exhausted(&self, ipv6: bool, pod: &PodRef) -> IpamError {
        IpamError::Exhausted {
            family: family(ipv6),
            subnets: self
                .pools
                .iter()
                .filter(|p| p.is_ipv6() == ipv6)
                .map(|p| p.subnet.to_string())
                .collect(),
            pod: Box::new(pod.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
