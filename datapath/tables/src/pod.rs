//! Local pods: pod interfaces wired to a VF representor on this DPU.

use std::fmt;
use std::net::IpAddr;

use dpuflow_net::MacAddr;

/// Which pod interface an entry is for: the pod's namespace and name plus
/// the network (`default` for the primary network, `<ns>/<nad>` for a
/// secondary one). Opaque strings to the datapath, used only as keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodKey {
    /// Pod namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Network name: `default` or `<namespace>/<nad-name>`.
    pub network: String,
}

impl PodKey {
    /// Name of the primary (cluster default) network.
    pub const DEFAULT_NETWORK: &'static str = "default";

    /// The key of a pod's interface on the primary network.
    pub fn primary(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            network: Self::DEFAULT_NETWORK.to_owned(),
        }
    }
}

impl fmt::Display for PodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.namespace, self.name, self.network)
    }
}

/// A datapath port, named by its netdev (a VF representor such as `pf0vf3`,
/// the host PF representor `pf0hpf`, or the uplink `p0`). The datapath maps
/// the name to its DPDK port id when it applies the entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRef {
    /// Netdev name of the port.
    pub name: String,
}

impl PortRef {
    /// A port reference by netdev name.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

/// A small number naming a local pod interface inside the datapath (flow
/// metadata, policy tables). Allocated by the pod handshake and stable for
/// the life of the pod's binding, so re-translations never renumber pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointId(pub u32);

/// A pod interface on this DPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPod {
    /// Datapath-wide id of this interface.
    pub endpoint: EndpointId,
    /// The VF representor carrying the pod's traffic.
    pub port: PortRef,
    /// The pod interface's MAC (`0a:58:` + IPv4 octets by convention).
    pub mac: MacAddr,
    /// The pod's addresses, IPv4 first then IPv6, sorted.
    pub ips: Vec<IpAddr>,
}
