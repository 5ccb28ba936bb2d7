//! Services: virtual IPs and node ports load-balanced to backends.

use std::fmt;
use std::net::IpAddr;

/// A layer-4 protocol that services and policies can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
    /// SCTP (IP protocol 132).
    Sctp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn ip_proto(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
}

/// Which service an entry is for: namespace and name, opaque to the
/// datapath.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
}

impl ServiceKey {
    /// A service key.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One load-balancing destination: a pod address and its target port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Backend {
    /// Endpoint address (the datapath only uses backends of the VIP's family).
    pub ip: IpAddr,
    /// Target port on the endpoint.
    pub port: u16,
}

/// One service port: its frontends share the service's VIPs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// Protocol of the port.
    pub protocol: Protocol,
    /// Port on the cluster, external and load-balancer VIPs.
    pub port: u16,
    /// Port on every node IP ([`super::Gateway::node_ips`]), if any.
    pub node_port: Option<u16>,
    /// Cluster-wide backends, sorted, both families.
    pub backends: Vec<Backend>,
    /// Backends on this node only, sorted; filled only when the service has
    /// a `Local` traffic policy, empty otherwise.
    pub local_backends: Vec<Backend>,
}

impl ServicePort {
    /// Backends for traffic to the cluster IPs (internal traffic policy).
    pub fn cluster_ip_backends(&self, svc: &Service) -> &[Backend] {
        if svc.internal_local {
            &self.local_backends
        } else {
            &self.backends
        }
    }

    /// Backends for traffic to node ports, external IPs and load-balancer
    /// IPs (external traffic policy).
    pub fn external_backends(&self, svc: &Service) -> &[Backend] {
        if svc.external_local {
            &self.local_backends
        } else {
            &self.backends
        }
    }
}

/// A service's frontends and backends.
///
/// Backend lists are already chosen: ready endpoints, or, when a scope has
/// none, its serving-but-terminating ones. With a `Local` policy and no
/// local backend, traffic on those frontends is dropped (as kube-proxy does).
/// Traffic from a backend to a VIP that lands on itself (hairpin) is SNATed
/// to [`super::Gateway::hairpin_snat`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Cluster IPs (one per family; empty for headless services).
    pub cluster_ips: Vec<IpAddr>,
    /// External IPs and load-balancer ingress IPs, sorted, deduplicated.
    pub external_ips: Vec<IpAddr>,
    /// The ports, in spec order.
    pub ports: Vec<ServicePort>,
    /// `ClientIP` session affinity timeout in seconds; `None` without
    /// affinity.
    pub affinity_timeout: Option<u32>,
    /// `externalTrafficPolicy: Local`: external frontends use
    /// [`ServicePort::local_backends`].
    pub external_local: bool,
    /// `internalTrafficPolicy: Local`: cluster IPs use
    /// [`ServicePort::local_backends`].
    pub internal_local: bool,
}
