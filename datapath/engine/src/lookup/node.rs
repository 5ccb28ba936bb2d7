//! This node, as the packet path needs it: the pods' gateway (address and
//! MAC of the node switch's router port), the interconnect identity (encap
//! IP, node-id, transit router port MAC) and the addresses services and
//! policies refer to.

use std::net::{IpAddr, Ipv6Addr};

use dpuflow_net::MacAddr;
use dpuflow_tables::{Gateway, Prefix};

/// Settings that come from configuration rather than the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSettings {
    /// The Geneve VNI between zones: the transit switch's tunnel key.
    pub vni: u32,
    /// The pods' MTU: the largest IP packet a pod may send to another node
    /// (larger ones are answered with "fragmentation needed" / "packet too
    /// big").
    pub mtu: u16,
}

impl NodeSettings {
    /// OVN-Kubernetes' transit switch key for the default network
    /// (`BaseTransitSwitchTunnelKey`, 16711683, plus network id 0).
    pub const DEFAULT_VNI: u32 = 16_711_683;
}

impl Default for NodeSettings {
    fn default() -> Self {
        Self {
            vni: Self::DEFAULT_VNI,
            mtu: 1400,
        }
    }
}

/// This node, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalNode {
    /// The pods' gateway addresses (the first host of each pod subnet).
    pub gateway_ips: Vec<IpAddr>,
    /// The gateway's IPv6 link-local address (EUI-64 of its MAC), which
    /// pods also resolve.
    pub gateway_link_local: Ipv6Addr,
    /// The gateway's MAC (OVN-K's `rtos-<node>` port MAC: derived from the
    /// first gateway address).
    pub gateway_mac: MacAddr,
    /// This node's pod subnets.
    pub pod_subnets: Vec<Prefix>,
    /// The host's node IPs.
    pub node_ips: Vec<IpAddr>,
    /// The Geneve source address we publish.
    pub encap_ip: Option<IpAddr>,
    /// Our node-id: the ingress key we send, the egress key we accept.
    pub node_id: Option<u16>,
    /// Our transit router port MAC: inner source MAC we send, inner
    /// destination MAC we accept.
    pub rtots_mac: Option<MacAddr>,
    /// Our transit router port addresses (ARP over the transit switch is
    /// answered for them).
    pub transit_ips: Vec<IpAddr>,
    /// Management port addresses.
    pub management_ips: Vec<IpAddr>,
    /// Hairpin SNAT sources, one per family.
    pub hairpin_snat: Vec<IpAddr>,
    /// Join subnets (the `100.64.0.<id>` routes).
    pub join_subnets: Vec<Prefix>,
    /// Our join addresses (`100.64.0.<our id>`, one per family): the
    /// source node ports SNAT to, so that the endpoint's reply comes back
    /// to the node that did the DNAT.
    pub join_ips: Vec<IpAddr>,
    /// The source MAC of what the gateway sends to the outside (the host
    /// PF's MAC: the gateway shares the node's IP and MAC, as OVN-K's
    /// shared gateway does); `None`: the uplink's own.
    pub gateway_outer_mac: Option<MacAddr>,
    /// VLAN tag of the node's network on the uplink.
    pub vlan: Option<u16>,
    /// Default next hops towards the outside, one per family.
    pub next_hops: Vec<IpAddr>,
    /// Cluster, service, join and masquerade ranges: never routed to the
    /// outside (no route inside the cluster is a drop, not an egress).
    pub internal: Vec<Prefix>,
    /// Configuration.
    pub settings: NodeSettings,
}

impl LocalNode {
    /// Compiles the gateway entry; what is missing is reported.
    pub fn new(g: &Gateway, settings: &NodeSettings, problems: &mut Vec<String>) -> Self {
        let gateway_ips: Vec<IpAddr> = g.pod_subnets.iter().filter_map(first_host).collect();
        let gateway_mac = gateway_ips
            .first()
            .map_or(MacAddr::ZERO, |ip| MacAddr::from_ovn_ip(*ip));
        if gateway_ips.is_empty() {
            problems.push("this node has no pod subnet yet".to_owned());
        }
        if g.node_id.is_none() || g.transit_ips.is_empty() || g.encap_ip.is_none() {
            problems.push(
                "this node has no node-id, transit switch address or encap IP yet: no traffic to or from other nodes"
                    .to_owned(),
            );
        }
        LocalNode {
            gateway_link_local: link_local(gateway_mac),
            gateway_ips,
            gateway_mac,
            pod_subnets: g.pod_subnets.clone(),
            node_ips: g.node_ips.clone(),
            encap_ip: g.encap_ip,
            node_id: g.node_id,
            rtots_mac: g.transit_ips.first().map(|ip| MacAddr::from_ovn_ip(*ip)),
            transit_ips: g.transit_ips.clone(),
            management_ips: g.management_ips.clone(),
            hairpin_snat: g.hairpin_snat.clone(),
            join_subnets: g.join_subnets.clone(),
            join_ips: match g.node_id {
                Some(id) => g
                    .join_subnets
                    .iter()
                    .filter_map(|j| join_address(j, id))
                    .collect(),
                None => Vec::new(),
            },
            gateway_outer_mac: g.host_pf_mac,
            vlan: g.vlan,
            next_hops: g.next_hops.clone(),
            internal: [
                &g.cluster_cidrs,
                &g.service_cidrs,
                &g.join_subnets,
                &g.masquerade_subnets,
            ]
            .into_iter()
            .flatten()
            .copied()
            .collect(),
            settings: *settings,
        }
    }

    /// Whether `ip` is one of the pods' gateway addresses.
    #[inline]
    pub fn is_gateway_ip(&self, ip: IpAddr) -> bool {
        self.gateway_ips.contains(&ip) || ip == IpAddr::V6(self.gateway_link_local)
    }

    /// The hairpin SNAT source of `ip`'s family.
    pub fn hairpin_for(&self, ip: IpAddr) -> Option<IpAddr> {
        same_family(&self.hairpin_snat, ip)
    }

    /// Our join address of `ip`'s family.
    pub fn join_ip_for(&self, ip: IpAddr) -> Option<IpAddr> {
        same_family(&self.join_ips, ip)
    }

    /// The node IP of `ip`'s family (egress SNAT source).
    pub fn node_ip_for(&self, ip: IpAddr) -> Option<IpAddr> {
        same_family(&self.node_ips, ip)
    }

    /// The next hop of `ip`'s family.
    pub fn next_hop_for(&self, ip: IpAddr) -> Option<IpAddr> {
        same_family(&self.next_hops, ip)
    }

    /// Whether `ip` lies outside the cluster (pods, services, join and
    /// masquerade ranges).
    pub fn is_outside(&self, ip: IpAddr) -> bool {
        !self.internal.iter().any(|p| p.contains(ip))
    }
}

fn same_family(ips: &[IpAddr], like: IpAddr) -> Option<IpAddr> {
    ips.iter().copied().find(|i| i.is_ipv4() == like.is_ipv4())
}

/// The first host address of a subnet (`10.244.1.0/24` → `10.244.1.1`).
pub fn first_host(p: &Prefix) -> Option<IpAddr> {
    offset(p, 1)
}

/// A node's join address: `join` + node-id (`100.64.0.0/16`, 3 →
/// `100.64.0.3`).
pub fn join_address(join: &Prefix, node_id: u16) -> Option<IpAddr> {
    offset(join, u128::from(node_id))
}

fn offset(p: &Prefix, n: u128) -> Option<IpAddr> {
    match p.addr() {
        IpAddr::V4(a) => {
            let v = u32::from(a).checked_add(u32::try_from(n).ok()?)?;
            Some(IpAddr::V4(v.into()))
        }
        IpAddr::V6(a) => Some(IpAddr::V6(u128::from(a).checked_add(n)?.into())),
    }
}

/// The EUI-64 link-local address of `mac` (as OVN gives router ports).
pub fn link_local(mac: MacAddr) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac.octets();
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        a ^ 2,
        b,
        c,
        0xff,
        0xfe,
        d,
        e,
        f,
    ])
}
