//! Per-pod network policy, already resolved to addresses and port ranges.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{Prefix, PrefixSet, Protocol};

/// The policy of one local pod interface ([`super::PodKey`]).
///
/// Only pods selected by at least one NetworkPolicy have an entry; a pod
/// without one is isolated in neither direction (everything allowed).
/// Policies are stateful: replies of allowed connections always pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Traffic to the pod; peers are sources.
    pub ingress: DirectionPolicy,
    /// Traffic from the pod; peers are destinations.
    pub egress: DirectionPolicy,
    /// ARP and IPv6 neighbour discovery pass whatever the rules say.
    pub allow_arp_nd: bool,
    /// Traffic from the node's management IPs
    /// ([`super::Gateway::management_ips`]) passes (kubelet probes).
    pub allow_management: bool,
}

/// One direction of a pod's policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectionPolicy {
    /// Whether any policy isolates the pod in this direction; when false,
    /// everything passes and `rules` is empty.
    pub isolated: bool,
    /// Allowed traffic: the union of the rules. Canonical: one rule per
    /// distinct [`Ports`], sorted, rules allowing nothing dropped.
    pub rules: Vec<AllowRule>,
}

impl DirectionPolicy {
    /// The not-isolated direction (allow all).
    pub fn open() -> Self {
        Self::default()
    }

    /// An isolated direction allowing the union of `rules`, canonicalised.
    pub fn isolated<R: Borrow<AllowRule>>(rules: impl IntoIterator<Item = R>) -> Self {
        let mut builder = DirectionBuilder::new();
        for rule in rules {
            let rule = rule.borrow();
            builder.allow(&rule.peers, &rule.ports);
        }
        builder.build()
    }

    /// Whether a packet to/from `peer` with `protocol`/`port` passes (the
    /// reference semantics the datapath implements; `port` is the
    /// destination port).
    pub fn allows(&self, peer: IpAddr, protocol: Protocol, port: u16) -> bool {
        !self.isolated
            || self
                .rules
                .iter()
                .any(|r| r.peers.contains(peer) && r.ports.contains(protocol, port))
    }
}

/// Builds an isolated [`DirectionPolicy`] from allows, merging peers of
/// equal ports with a single canonicalisation per port set (cheap even
/// when many large peer sets are unioned).
#[derive(Debug, Default)]
pub struct DirectionBuilder {
    /// Peers by ports; `None` stands for [`Peers::Any`].
    by_ports: BTreeMap<Ports, Option<Vec<Prefix>>>,
}

impl DirectionBuilder {
    /// An isolated direction allowing nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also allows `peers` on `ports`.
    pub fn allow(&mut self, peers: &Peers, ports: &Ports) {
        let rule_is_empty = matches!(peers, Peers::Prefixes(set) if set.is_empty())
            || matches!(ports, Ports::Ranges(r) if r.is_empty());
        if rule_is_empty {
            return;
        }
        if !self.by_ports.contains_key(ports) {
            self.by_ports.insert(ports.clone(), Some(Vec::new()));
        }
        let Some(slot) = self.by_ports.get_mut(ports) else {
            return;
        };
        match (slot.as_mut(), peers) {
            (None, _) => {}
            (Some(_), Peers::Any) => *slot = None,
            (Some(all), Peers::Prefixes(set)) => all.extend_from_slice(set.prefixes()),
        }
    }

    /// The isolated direction.
    pub fn build(self) -> DirectionPolicy {
        let rules = self.by_ports.into_iter().map(|(ports, peers)| AllowRule {
            peers: match peers {
                None => Peers::Any,
                Some(all) => Peers::Prefixes(all.into_iter().collect()),
            },
            ports,
        });
        DirectionPolicy {
            isolated: true,
            rules: rules.collect(),
        }
    }
}

/// Traffic one rule allows: any of `peers` on any of `ports`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AllowRule {
    /// Allowed remote addresses.
    pub peers: Peers,
    /// Allowed destination ports.
    pub ports: Ports,
}

impl AllowRule {
    /// Whether the rule cannot match any packet.
    pub fn allows_nothing(&self) -> bool {
        matches!(&self.peers, Peers::Prefixes(set) if set.is_empty())
            || matches!(&self.ports, Ports::Ranges(r) if r.is_empty())
    }
}

/// The remote side of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peers {
    /// Every address (a rule without `from`/`to`).
    Any,
    /// These addresses: selected pods' IPs as host prefixes, and `ipBlock`s
    /// with their `except` ranges already subtracted.
    Prefixes(PrefixSet),
}

impl Peers {
    /// Whether `addr` is a peer.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match self {
            Peers::Any => true,
            Peers::Prefixes(set) => set.contains(addr),
        }
    }
}

/// The destination ports of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ports {
    /// Every protocol and port, ICMP included (a rule without `ports`).
    Any,
    /// These ranges only (canonical: sorted, overlapping or adjacent ranges
    /// of one protocol merged).
    Ranges(Vec<PortRange>),
}

impl Ports {
    /// The canonical port list holding `ranges`.
    pub fn ranges(ranges: impl IntoIterator<Item = PortRange>) -> Self {
        let mut all: Vec<PortRange> = ranges.into_iter().collect();
        all.sort_unstable();
        let mut out: Vec<PortRange> = Vec::with_capacity(all.len());
        for r in all {
            match out.last_mut() {
                Some(last)
                    if last.protocol == r.protocol
                        && u32::from(r.first) <= u32::from(last.last) + 1 =>
                {
                    last.last = last.last.max(r.last);
                }
                _ => out.push(r),
            }
        }
        Ports::Ranges(out)
    }

    /// Whether `protocol`/`port` is allowed.
    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        match self {
            Ports::Any => true,
            Ports::Ranges(ranges) => ranges
                .iter()
                .any(|r| r.protocol == protocol && (r.first..=r.last).contains(&port)),
        }
    }
}

/// An inclusive destination port range of one protocol; `0..=65535` is the
/// whole protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    /// The protocol.
    pub protocol: Protocol,
    /// First port.
    pub first: u16,
    /// Last port (≥ `first`).
    pub last: u16,
}

impl PortRange {
    /// A single port.
    pub fn single(protocol: Protocol, port: u16) -> Self {
        Self {
            protocol,
            first: port,
            last: port,
        }
    }

    /// Every port of `protocol`.
    pub fn all(protocol: Protocol) -> Self {
        Self {
            protocol,
            first: 0,
            last: u16::MAX,
        }
    }
}
