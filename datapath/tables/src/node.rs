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
}

impl RemoteNode {
    /// The Geneve tunnel destination, when the node has one.
    pub fn tunnel_ip(&self) -> Option<IpAddr> {
        self.encap_ips.first().copied()
    }
}
