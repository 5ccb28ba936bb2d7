//! This node's gateway: how pod traffic leaves and enters the node.

use std::net::IpAddr;

use super::{PortRef, Prefix};
use dpuflow_net::MacAddr;

/// The local node's addressing and shared-gateway settings.
///
/// Traffic leaving the cluster is SNATed to a [`Gateway::node_ips`] address
/// and sent to a next hop through the uplink (tagged with `vlan` if set);
/// node ports listen on the node IPs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gateway {
    /// The host's node IPs (NodePort frontends, egress SNAT source).
    pub node_ips: Vec<IpAddr>,
    /// Default next hops, one per family.
    pub next_hops: Vec<IpAddr>,
    /// VLAN tag on the uplink, if any.
    pub vlan: Option<u16>,
    /// The gateway router subnet, when DPU and host sit on different subnets.
    pub router_subnet: Option<Prefix>,
    /// The host PF's MAC: the source MAC of the gateway.
    pub host_pf_mac: Option<MacAddr>,
    /// This DPU's tunnel source address.
    pub encap_ip: Option<IpAddr>,
    /// This node's OVN-Kubernetes node-id (the ingress key of the Geneve
    /// option we send, the egress key we accept), once assigned.
    pub node_id: Option<u16>,
    /// This node's transit-switch port addresses (IPv4 first).
    pub transit_ips: Vec<IpAddr>,
    /// This node's pod subnets (the `.1` is the pods' gateway).
    pub pod_subnets: Vec<Prefix>,
    /// The management port addresses (the subnets' `.2`).
    pub management_ips: Vec<IpAddr>,
    /// The management port representor, once known.
    pub management_port: Option<PortRef>,
    /// Cluster pod CIDRs (other nodes' pods are tunnelled).
    pub cluster_cidrs: Vec<Prefix>,
    /// Service CIDRs.
    pub service_cidrs: Vec<Prefix>,
    /// Masquerade subnets (`169.254.0.0/17`, `fd69::/112` upstream).
    pub masquerade_subnets: Vec<Prefix>,
    /// Join subnets (`100.64.0.0/16`, `fd98::/64` upstream).
    pub join_subnets: Vec<Prefix>,
    /// Hairpin SNAT sources, one per family (`169.254.0.5`, `fd69::5`).
    pub hairpin_snat: Vec<IpAddr>,
}
