//! Remote nodes: where to tunnel traffic for other nodes' pods.

use std::net::IpAddr;

use super::Prefix;

/// Another node of the cluster, reached over Geneve (UDP 6081).
///
/// Keyed by node name in [`super::Tables::remote_nodes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteNode {
    /// The node's pod subnets on the primary network (one per family).
    pub pod_subnets: Vec<Prefix>,
    /// The node's tunnel endpoints, in annotation order; the first one is
    /// the tunnel destination, further ones are for multi-VTEP setups.
    pub encap_ips: Vec<IpAddr>,
    /// OVN-Kubernetes' node-id (`k8s.ovn.org/node-id`): in interconnect
    /// mode the egress key of the Geneve option towards the node, and the
    /// last octet of its join (`100.64.0.<id>`) route. `None` until
    /// cluster-manager assigns it.
    pub node_id: Option<u16>,
    /// The node's transit-switch port addresses
    /// (`k8s.ovn.org/node-transit-switch-port-ifaddr`, IPv4 first): the
    /// next hop of its routes, and (`0a:58` + the IPv4 octets) its transit
    /// router port MAC.
    pub transit_ips: Vec<IpAddr>,
}

impl RemoteNode {
    /// The Geneve tunnel destination, when the node has one.
    pub fn tunnel_ip(&self) -> Option<IpAddr> {
        self.encap_ips.first().copied()
    }
}
