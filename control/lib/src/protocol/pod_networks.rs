//! `k8s.ovn.org/pod-networks`: a pod's addresses, MAC, gateways and routes
//! per network, written by the DPU side and read by the host CNI.
//!
//! Wire shape per network (upstream `podAnnotation`, field order as
//! written): `ip_addresses` (always present; `null` when empty),
//! `mac_address` (always present), `gateway_ips`, `routes`
//! (`[{"dest","nextHop"}]`), then the deprecated `ip_address` /
//! `gateway_ip` (written only when there is exactly one address), then
//! `ipv6_lla_gateway_ip`, `tunnel_id` and `role`, all omitted when empty.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::error::{from_json, to_json};
use super::keys::POD_NETWORKS;
use super::{AnnotationError, MacAddr, DEFAULT_NETWORK};

const KEY: &str = POD_NETWORKS;

/// `role` of the network that carries the pod's default route.
pub const ROLE_PRIMARY: &str = "primary";
/// `role` of an additional network.
pub const ROLE_SECONDARY: &str = "secondary";
/// `role` of the default network when a user-defined network is primary.
pub const ROLE_INFRASTRUCTURE_LOCKED: &str = "infrastructure-locked";

/// Upstream's default IPv4 join subnet (`--gateway-v4-join-subnet`).
pub const DEFAULT_JOIN_SUBNET_V4: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 16);
/// Upstream's default IPv6 join subnet (`--gateway-v6-join-subnet`).
pub const DEFAULT_JOIN_SUBNET_V6: Ipv6Net =
    Ipv6Net::new_assert(Ipv6Addr::new(0xfd98, 0, 0, 0, 0, 0, 0, 0), 64);
/// Upstream's default IPv4 masquerade subnet
/// (`--gateway-v4-masquerade-subnet`); the service hairpin IP is its `.5`.
pub const DEFAULT_MASQUERADE_SUBNET_V4: Ipv4Net =
    Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 169, 0), 29);
/// Upstream's default IPv6 masquerade subnet
/// (`--gateway-v6-masquerade-subnet`); the service hairpin IP is its `::5`.
pub const DEFAULT_MASQUERADE_SUBNET_V6: Ipv6Net =
    Ipv6Net::new_assert(Ipv6Addr::new(0xfd69, 0, 0, 0, 0, 0, 0, 0), 125);

/// One extra route in the pod: traffic to `dest` goes via `next_hop`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRoute {
    /// Destination network (stored with host bits cleared).
    pub dest: IpNet,
    /// Next hop; `None` is written as `""` (on-link).
    pub next_hop: Option<IpAddr>,
}

/// One network's entry of `k8s.ovn.org/pod-networks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodNetwork {
    /// The pod's addresses with the node subnet's prefix length.
    pub ip_addresses: Vec<IpNet>,
    /// The pod interface's MAC.
    pub mac_address: MacAddr,
    /// Default gateways, at most one per family.
    pub gateway_ips: Vec<IpAddr>,
    /// Extra routes.
    pub routes: Vec<PodRoute>,
    /// Link-local IPv6 gateway (layer-2 user-defined networks only).
    pub ipv6_lla_gateway_ip: Option<Ipv6Addr>,
    /// Tunnel key (layer-2 secondary networks only); 0 is not written.
    pub tunnel_id: u32,
    /// [`ROLE_PRIMARY`], [`ROLE_SECONDARY`], [`ROLE_INFRASTRUCTURE_LOCKED`]
    /// or absent (older writers).
    pub role: Option<String>,
}

/// Parsed `k8s.ovn.org/pod-networks`: network key → entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodNetworks(pub BTreeMap<String, PodNetwork>);

/// The JSON object of one network, field order as upstream writes it.
#[derive(Serialize, Deserialize, Default)]
struct Wire {
    #[serde(default)]
    ip_addresses: Option<Vec<String>>,
    #[serde(default)]
    mac_address: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    gateway_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    routes: Vec<WireRoute>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    ip_address: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    gateway_ip: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    ipv6_lla_gateway_ip: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    tunnel_id: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    role: String,
}

#[derive(Serialize, Deserialize)]
struct WireRoute {
    #[serde(default)]
    dest: String,
    #[serde(default, rename = "nextHop")]
    next_hop: String,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl PodNetworks {
    /// Parses the annotation value, applying upstream's checks (legacy
    /// fields agree with the lists, routes are not default routes and their
    /// next hop is of the destination's family, the MAC parses).
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        let raw: BTreeMap<String, Wire> = from_json(KEY, text)?;
        let mut out = BTreeMap::new();
        for (network, wire) in raw {
            let entry = PodNetwork::from_wire(wire)
                .map_err(|p| AnnotationError::invalid(KEY, format!("network {network:?}: {p}")))?;
            out.insert(network, entry);
        }
        Ok(PodNetworks(out))
    }

    /// The annotation value upstream would write.
    pub fn to_json(&self) -> Result<String, AnnotationError> {
        let mut wire = BTreeMap::new();
        for (network, entry) in &self.0 {
            let w = entry
                .to_wire()
                .map_err(|p| AnnotationError::invalid(KEY, format!("network {network:?}: {p}")))?;
            wire.insert(network.as_str(), w);
        }
        to_json(KEY, &wire)
    }

    /// The entry of `network`.
    pub fn network(&self, network: &str) -> Result<&PodNetwork, AnnotationError> {
        self.0
            .get(network)
            .ok_or_else(|| AnnotationError::MissingNetwork {
                key: KEY,
                network: network.to_string(),
            })
    }

    /// The entry of the default network.
    pub fn default_network(&self) -> Result<&PodNetwork, AnnotationError> {
        self.network(DEFAULT_NETWORK)
    }

    /// An annotation holding only the default network's entry.
    pub fn for_default(entry: PodNetwork) -> Self {
        PodNetworks(BTreeMap::from([(DEFAULT_NETWORK.to_string(), entry)]))
    }
}

impl PodNetwork {
    /// The pod's addresses without prefix lengths.
    pub fn ips(&self) -> Vec<IpAddr> {
        self.ip_addresses.iter().map(IpNet::addr).collect()
    }

    fn to_wire(&self) -> Result<Wire, String> {
        let ips: Vec<String> = self.ip_addresses.iter().map(IpNet::to_string).collect();
        let gateways: Vec<String> = self.gateway_ips.iter().map(IpAddr::to_string).collect();
        // Upstream writes the deprecated single-value fields only for
        // single-stack entries.
        let (ip_address, gateway_ip) = match (ips.as_slice(), gateways.as_slice()) {
            ([_], [_, _, ..]) => {
                return Err("a single-stack network can only have one gateway".into())
            }
            ([ip], [gw]) => (ip.clone(), gw.clone()),
            ([ip], []) => (ip.clone(), String::new()),
            _ => (String::new(), String::new()),
        };
        Ok(Wire {
            ip_address,
            gateway_ip,
            ip_addresses: (!ips.is_empty()).then_some(ips),
            mac_address: self.mac_address.to_string(),
            gateway_ips: gateways,
            routes: self.routes.iter().map(WireRoute::from).collect(),
            ipv6_lla_gateway_ip: self
                .ipv6_lla_gateway_ip
                .map(|a| a.to_string())
                .unwrap_or_default(),
            tunnel_id: self.tunnel_id,
            role: self.role.clone().unwrap_or_default(),
        })
    }

    fn from_wire(wire: Wire) -> Result<Self, String> {
        let ips = with_legacy(
            wire.ip_addresses.unwrap_or_default(),
            wire.ip_address,
            "ip_address",
            "ip_addresses",
        )?;
        let gateways = with_legacy(
            wire.gateway_ips,
            wire.gateway_ip,
            "gateway_ip",
            "gateway_ips",
        )?;
        Ok(PodNetwork {
            ip_addresses: ips
                .iter()
                .map(|s| parse_net("pod IP", s))
                .collect::<Result<_, _>>()?,
            mac_address: wire
                .mac_address
                .parse()
                .map_err(|e| format!("mac_address: {e}"))?,
            gateway_ips: gateways
                .iter()
                .map(|s| parse_ip("gateway", s))
                .collect::<Result<_, _>>()?,
            routes: wire
                .routes
                .iter()
                .map(PodRoute::from_wire)
                .collect::<Result<_, _>>()?,
            ipv6_lla_gateway_ip: parse_lla(&wire.ipv6_lla_gateway_ip)?,
            tunnel_id: wire.tunnel_id,
            role: (!wire.role.is_empty()).then_some(wire.role),
        })
    }
}

/// Upstream's rule for the deprecated single-value fields: used when the
/// list is empty, must equal the list's first item otherwise.
fn with_legacy(
    list: Vec<String>,
    single: String,
    single_name: &str,
    list_name: &str,
) -> Result<Vec<String>, String> {
    if list.is_empty() {
        return Ok(if single.is_empty() {
            Vec::new()
        } else {
            vec![single]
        });
    }
    if !single.is_empty() && list.first() != Some(&single) {
        return Err(format!(
            "{single_name} {single:?} conflicts with {list_name} {list:?}"
        ));
    }
    Ok(list)
}

impl From<&PodRoute> for WireRoute {
    fn from(r: &PodRoute) -> Self {
        WireRoute {
            dest: r.dest.to_string(),
            next_hop: r.next_hop.map(|h| h.to_string()).unwrap_or_default(),
        }
    }
}

impl PodRoute {
    fn from_wire(w: &WireRoute) -> Result<Self, String> {
        let dest = parse_net("route dest", &w.dest)?.trunc();
        if dest.addr().is_unspecified() {
            return Err(format!(
                "route to {dest} is a default route; it must be given as a gateway"
            ));
        }
        let next_hop = if w.next_hop.is_empty() {
            None
        } else {
            Some(parse_ip("route next hop", &w.next_hop)?)
        };
        if next_hop.is_some_and(|h| h.is_ipv6() != dest.addr().is_ipv6()) {
            return Err(format!(
                "route {} has next hop {} of another family",
                w.dest, w.next_hop
            ));
        }
        Ok(PodRoute { dest, next_hop })
    }
}

fn parse_net(what: &str, s: &str) -> Result<IpNet, String> {
    s.parse()
        .map_err(|_| format!("{what} {s:?} is not an address/prefix"))
}

fn parse_ip(what: &str, s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| format!("{what} {s:?} is not an IP address"))
}

fn parse_lla(s: &str) -> Result<Option<Ipv6Addr>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<Ipv6Addr>() {
        Ok(a) if a.segments()[0] & 0xffc0 == 0xfe80 => Ok(Some(a)),
        _ => Err(format!(
            "ipv6_lla_gateway_ip {s:?} is not an IPv6 link-local address"
        )),
    }
}

/// What upstream puts into a primary pod's routes besides the cluster
/// subnets: service CIDRs, the service hairpin masquerade IP and the join
/// subnet, per family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRouting {
    /// Cluster CIDRs (the `/16` of `10.244.0.0/16/24`).
    pub cluster_cidrs: Vec<IpNet>,
    /// Service CIDRs.
    pub service_cidrs: Vec<IpNet>,
    /// IPv4 join subnet (default [`DEFAULT_JOIN_SUBNET_V4`]).
    pub join_subnet_v4: Ipv4Net,
    /// IPv6 join subnet (default [`DEFAULT_JOIN_SUBNET_V6`]).
    pub join_subnet_v6: Ipv6Net,
    /// IPv4 masquerade subnet (default [`DEFAULT_MASQUERADE_SUBNET_V4`]).
    pub masquerade_subnet_v4: Ipv4Net,
    /// IPv6 masquerade subnet (default [`DEFAULT_MASQUERADE_SUBNET_V6`]).
    pub masquerade_subnet_v6: Ipv6Net,
}

impl PodRouting {
    /// Routing for these cluster and service CIDRs with upstream's default
    /// join and masquerade subnets.
    pub fn new(cluster_cidrs: Vec<IpNet>, service_cidrs: Vec<IpNet>) -> Self {
        PodRouting {
            cluster_cidrs,
            service_cidrs,
            join_subnet_v4: DEFAULT_JOIN_SUBNET_V4,
            join_subnet_v6: DEFAULT_JOIN_SUBNET_V6,
            masquerade_subnet_v4: DEFAULT_MASQUERADE_SUBNET_V4,
            masquerade_subnet_v6: DEFAULT_MASQUERADE_SUBNET_V6,
        }
    }

    /// The service hairpin masquerade IP of a family: the masquerade
    /// subnet's fifth address (upstream `AllocateV4MasqueradeIPs`).
    pub fn hairpin_masquerade_ip(&self, ipv6: bool) -> Option<IpAddr> {
        if ipv6 {
            nth_address(self.masquerade_subnet_v6.trunc().into(), 5)
        } else {
            nth_address(self.masquerade_subnet_v4.trunc().into(), 5)
        }
    }

    /// Routes of a primary pod interface of one family, in upstream's order:
    /// cluster CIDRs, service CIDRs, hairpin masquerade IP, join subnet.
    fn routes(&self, ipv6: bool, gateway: IpAddr) -> Vec<PodRoute> {
        let same_family = |n: &&IpNet| n.addr().is_ipv6() == ipv6;
        let mut dests: Vec<IpNet> = self
            .cluster_cidrs
            .iter()
            .filter(same_family)
            .copied()
            .collect();
        dests.extend(self.service_cidrs.iter().filter(same_family).copied());
        if let Some(ip) = self.hairpin_masquerade_ip(ipv6) {
            dests.push(IpNet::from(ip));
        }
        dests.push(if ipv6 {
            self.join_subnet_v6.into()
        } else {
            self.join_subnet_v4.into()
        });
        dests
            .into_iter()
            .map(|dest| PodRoute {
                dest: dest.trunc(),
                next_hop: Some(gateway),
            })
            .collect()
    }
}

/// Why a pod's network entry could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PodNetworkError {
    /// No address was given.
    #[error("the pod has no IP address")]
    NoAddresses,
    /// An address is in none of the node's subnets.
    #[error("pod IP {ip} is in none of the node subnets {subnets:?}")]
    NotInNodeSubnet {
        /// The address.
        ip: IpAddr,
        /// The node subnets, as text.
        subnets: Vec<String>,
    },
    /// Two addresses of one family.
    #[error("pod IPs {first} and {second} are of the same family")]
    SameFamilyTwice {
        /// The first address.
        first: IpAddr,
        /// The second address.
        second: IpAddr,
    },
    /// The subnet has no gateway address (a /32 or /128).
    #[error("node subnet {0} has no room for a gateway address")]
    NoGateway(IpNet),
}

impl PodNetwork {
    /// The default-network entry upstream writes for a pod with addresses
    /// `ips` (one per family, in the node subnets' order): each address
    /// with its node subnet's prefix, gateway = the subnet's first address,
    /// MAC derived from the first address ([`mac::from_ip`](super::mac::from_ip)), routes
    /// per [`PodRouting`], role [`ROLE_PRIMARY`].
    pub fn primary(
        ips: &[IpAddr],
        node_subnets: &[IpNet],
        routing: &PodRouting,
    ) -> Result<Self, PodNetworkError> {
        let first = *ips.first().ok_or(PodNetworkError::NoAddresses)?;
        check_one_per_family(ips)?;
        let mut entry = PodNetwork {
            ip_addresses: Vec::new(),
            mac_address: crate::protocol::mac::from_ip(first),
            gateway_ips: Vec::new(),
            routes: Vec::new(),
            ipv6_lla_gateway_ip: None,
            tunnel_id: 0,
            role: Some(ROLE_PRIMARY.to_string()),
        };
        for &ip in ips {
            let subnet = containing_subnet(ip, node_subnets)?;
            let gateway = nth_address(subnet, 1).ok_or(PodNetworkError::NoGateway(subnet))?;
            entry.ip_addresses.push(
                IpNet::new(ip, subnet.prefix_len())
                    .map_err(|_| PodNetworkError::NoGateway(subnet))?,
            );
            entry.gateway_ips.push(gateway);
            entry.routes.extend(routing.routes(ip.is_ipv6(), gateway));
        }
        Ok(entry)
    }
}

fn check_one_per_family(ips: &[IpAddr]) -> Result<(), PodNetworkError> {
    for (i, a) in ips.iter().enumerate() {
        if let Some(b) = ips[i + 1..].iter().find(|b| b.is_ipv6() == a.is_ipv6()) {
            return Err(PodNetworkError::SameFamilyTwice {
                first: *a,
                second: *b,
            });
        }
    }
    Ok(())
}

fn containing_subnet(ip: IpAddr, subnets: &[IpNet]) -> Result<IpNet, PodNetworkError> {
    subnets
        .iter()
        .map(IpNet::trunc)
        .find(|s| s.contains(&ip))
        .ok_or_else(|| PodNetworkError::NotInNodeSubnet {
            ip,
            subnets: subnets.iter().map(IpNet::to_string).collect(),
        })
}

/// The `n`-th address of `net` (0 = the network address), if inside it.
pub fn nth_address(net: IpNet, n: u128) -> Option<IpAddr> {
    let net = net.trunc();
    let addr = match net.network() {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(
            u32::try_from(u128::from(u32::from(a)).checked_add(n)?).ok()?,
        )),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).checked_add(n)?)),
    };
    net.contains(&addr).then_some(addr)
}

#[cfg(test)]
mod tests;
