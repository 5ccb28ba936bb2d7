//! Network policy compiled for the packet path: each direction of a pod's
//! policy becomes rules whose peer sets are sorted address ranges (binary
//! search instead of a scan over prefixes) and whose ports are sorted
//! ranges per protocol.

use std::net::IpAddr;

use dpuflow_tables::{DirectionPolicy, Peers, Policy, PortRange, Ports, PrefixSet};

/// A set of addresses as sorted, disjoint, inclusive ranges, one list per
/// family (so `::/0` never covers IPv4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrRanges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl AddrRanges {
    /// The ranges of a canonical prefix set (disjoint and sorted).
    pub fn from_set(set: &PrefixSet) -> Self {
        let mut out = Self::default();
        for p in set.prefixes() {
            let host_bits = u32::from(if p.is_ipv4() { 32 } else { 128 } - p.prefix_len());
            match p.addr() {
                IpAddr::V4(a) => {
                    let start = u32::from(a);
                    out.v4.push((
                        start,
                        start | u32::MAX.checked_shr(32 - host_bits).unwrap_or(0),
                    ));
                }
                IpAddr::V6(a) => {
                    let start = u128::from(a);
                    out.v6.push((
                        start,
                        start | u128::MAX.checked_shr(128 - host_bits).unwrap_or(0),
                    ));
                }
            }
        }
        out
    }

    /// Whether `ip` is in the set.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => in_ranges(&self.v4, u32::from(a)),
            IpAddr::V6(a) => in_ranges(&self.v6, u128::from(a)),
        }
    }
}

fn in_ranges<T: Ord + Copy>(ranges: &[(T, T)], key: T) -> bool {
    let after = ranges.partition_point(|&(start, _)| start <= key);
    after > 0 && ranges.get(after - 1).is_some_and(|&(_, end)| key <= end)
}

/// One allowed traffic class: `None` stands for "any".
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    peers: Option<AddrRanges>,
    ports: Option<Vec<PortRange>>,
}

/// One direction of a pod's policy, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledDirection {
    rules: Vec<Rule>,
}

impl CompiledDirection {
    /// `None` for a direction that is not isolated (everything passes).
    pub fn compile(policy: &DirectionPolicy) -> Option<Self> {
        if !policy.isolated {
            return None;
        }
        let rules = policy.rules.iter().map(|r| Rule {
            peers: match &r.peers {
                Peers::Any => None,
                Peers::Prefixes(set) => Some(AddrRanges::from_set(set)),
            },
            ports: match &r.ports {
                Ports::Any => None,
                Ports::Ranges(ranges) => Some(ranges.clone()),
            },
        });
        Some(Self {
            rules: rules.collect(),
        })
    }

    /// Whether traffic with `peer` to destination port `port` of IP protocol
    /// `proto` passes (`port` is ignored for protocols without ports; such
    /// traffic passes only rules without ports, as Kubernetes says).
    pub fn allows(&self, peer: IpAddr, proto: u8, port: u16) -> bool {
        self.rules.iter().any(|r| {
            r.peers.as_ref().is_none_or(|p| p.contains(peer))
                && r.ports.as_ref().is_none_or(|ranges| {
                    ranges.iter().any(|range| {
                        range.protocol.ip_proto() == proto
                            && (range.first..=range.last).contains(&port)
                    })
                })
        })
    }
}

/// Both directions of a pod's policy, compiled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledPolicy {
    /// Traffic to the pod; `None` when not isolated.
    pub ingress: Option<CompiledDirection>,
    /// Traffic from the pod; `None` when not isolated.
    pub egress: Option<CompiledDirection>,
    /// Traffic from the management IPs passes (kubelet probes).
    pub allow_management: bool,
}

impl CompiledPolicy {
    /// Compiles a pod's policy.
    pub fn compile(policy: &Policy) -> Self {
        Self {
            ingress: CompiledDirection::compile(&policy.ingress),
            egress: CompiledDirection::compile(&policy.egress),
            allow_management: policy.allow_management,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dpuflow_tables::{AllowRule, Prefix, Protocol};

    fn set(prefixes: &[&str]) -> PrefixSet {
        prefixes
            .iter()
            .map(|p| {
                let net: ipnet::IpNet = p.parse().unwrap();
                Prefix::new(net.addr(), net.prefix_len()).unwrap()
            })
            .collect()
    }

    #[test]
    fn ranges_agree_with_the_prefix_set_at_every_boundary() {
        let s = set(&[
            "10.0.0.0/24",
            "10.0.2.0/23",
            "192.168.1.7/32",
            "fd00::/120",
            "::/0",
        ]);
        let r = AddrRanges::from_set(&s);
        for ip in [
            "9.255.255.255",
            "10.0.0.0",
            "10.0.0.255",
            "10.0.1.0",
            "10.0.2.0",
            "10.0.3.255",
            "10.0.4.0",
            "192.168.1.6",
            "192.168.1.7",
            "192.168.1.8",
            "0.0.0.0",
            "255.255.255.255",
            "fd00::",
            "fd00::ff",
            "fd00::100",
            "::",
            "ffff::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(r.contains(ip), s.contains(ip), "{ip}");
        }
    }

    #[test]
    fn compiled_direction_agrees_with_the_reference_semantics() {
        let rules = [
            AllowRule {
                peers: Peers::Prefixes(set(&["10.1.0.0/16"])),
                ports: Ports::ranges([PortRange::single(Protocol::Tcp, 80)]),
            },
            AllowRule {
                peers: Peers::Any,
                ports: Ports::ranges([PortRange {
                    protocol: Protocol::Udp,
                    first: 5000,
                    last: 5010,
                }]),
            },
            AllowRule {
                peers: Peers::Prefixes(set(&["fd00::/64"])),
                ports: Ports::Any,
            },
        ];
        let dir = DirectionPolicy::isolated(&rules);
        let compiled = CompiledDirection::compile(&dir).unwrap();
        let protos = [
            (Protocol::Tcp, 6u8),
            (Protocol::Udp, 17),
            (Protocol::Sctp, 132),
        ];
        for peer in ["10.1.2.3", "10.2.0.1", "fd00::5", "fd01::5"] {
            let peer: IpAddr = peer.parse().unwrap();
            for (protocol, proto) in protos {
                for port in [79, 80, 81, 4999, 5000, 5010, 5011] {
                    assert_eq!(
                        compiled.allows(peer, proto, port),
                        dir.allows(peer, protocol, port),
                        "{peer} {protocol:?} {port}"
                    );
                }
            }
        }
        // ICMP (no ports) passes only the rule without ports.
        assert!(compiled.allows("fd00::5".parse().unwrap(), 58, 0));
        assert!(!compiled.allows("10.1.2.3".parse().unwrap(), 1, 0));
        assert!(CompiledDirection::compile(&DirectionPolicy::open()).is_none());
    }
}
