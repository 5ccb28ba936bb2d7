//! A minimal, private parser for the node annotations translation needs.
//!
//! SWAP-ME: the protocol module (control/lib/src/protocol/) will own the full
//! OVN-Kubernetes annotation types; once it lands, replace these functions
//! with calls to it. Keep this file small and self-contained until then.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

/// `k8s.ovn.org/node-subnets`: `{"default":"10.244.1.0/24"}` or, dual
/// stack, `{"default":["10.244.1.0/24","fd00:10:244:1::/64"]}`.
pub const NODE_SUBNETS: &str = "k8s.ovn.org/node-subnets";
/// `k8s.ovn.org/node-encap-ips`: `["198.51.100.10"]`.
pub const NODE_ENCAP_IPS: &str = "k8s.ovn.org/node-encap-ips";
/// `k8s.ovn.org/node-primary-ifaddr`: `{"ipv4":"203.0.113.10/24"}`; the
/// tunnel endpoint of nodes that predate `node-encap-ips`.
pub const NODE_PRIMARY_IFADDR: &str = "k8s.ovn.org/node-primary-ifaddr";

/// `k8s.ovn.org/node-id`: the node's id, a decimal string (`"3"`), written
/// by cluster-manager.
pub const NODE_ID: &str = "k8s.ovn.org/node-id";
/// `k8s.ovn.org/node-transit-switch-port-ifaddr`:
/// `{"ipv4":"100.88.0.3/16"}`, written by cluster-manager (interconnect).
pub const NODE_TRANSIT_SWITCH_PORT_IFADDR: &str = "k8s.ovn.org/node-transit-switch-port-ifaddr";

/// The highest node-id OVN-Kubernetes allocates.
const NODE_ID_MAX: u16 = 5000;

/// The network key of the primary network.
const DEFAULT_NETWORK: &str = "default";

/// A malformed annotation value.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// Not the expected JSON shape.
    #[error("bad JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A CIDR that does not parse.
    #[error("invalid CIDR {0:?}")]
    Cidr(String),
    /// An IP address that does not parse.
    #[error("invalid IP address {0:?}")]
    Ip(String),
    /// A node-id that is not a number in 0..=5000.
    #[error("invalid node-id {0:?} (a number up to 5000)")]
    NodeId(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct PrimaryIfAddr {
    ipv4: Option<String>,
    ipv6: Option<String>,
}

/// The primary network's subnets from a `node-subnets` value (empty when
/// the value has no `default` entry).
pub fn node_subnets(value: &str) -> Result<Vec<IpNet>, AnnotationError> {
    let mut map: BTreeMap<String, OneOrMany> = serde_json::from_str(value)?;
    let cidrs = match map.remove(DEFAULT_NETWORK) {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    };
    cidrs
        .into_iter()
        .map(|s| s.parse().map_err(|_| AnnotationError::Cidr(s)))
        .collect()
}

/// The addresses of a `node-encap-ips` value.
pub fn node_encap_ips(value: &str) -> Result<Vec<IpAddr>, AnnotationError> {
    let ips: Vec<String> = serde_json::from_str(value)?;
    ips.into_iter()
        .map(|s| s.parse().map_err(|_| AnnotationError::Ip(s)))
        .collect()
}

/// A `node-id` value.
pub fn node_id(value: &str) -> Result<u16, AnnotationError> {
    value
        .parse::<u16>()
        .ok()
        .filter(|id| *id <= NODE_ID_MAX)
        .ok_or_else(|| AnnotationError::NodeId(value.to_owned()))
}

/// The addresses (without prefix length) of a `node-primary-ifaddr` or
/// `node-transit-switch-port-ifaddr` value, IPv4 first.
pub fn node_primary_ifaddr(value: &str) -> Result<Vec<IpAddr>, AnnotationError> {
    let addr: PrimaryIfAddr = serde_json::from_str(value)?;
    [addr.ipv4, addr.ipv6]
        .into_iter()
        .flatten()
        .map(|s| {
            s.parse::<IpNet>()
                .map(|n| n.addr())
                .map_err(|_| AnnotationError::Cidr(s))
        })
        .collect()
}
