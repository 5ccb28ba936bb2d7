//! Small conversions from Kubernetes strings and numbers to table types.

use std::net::IpAddr;

use dpuflow_tables::{Prefix, Protocol};
use ipnet::IpNet;

use super::error::Problem;

/// An `ipnet` network as a datapath prefix (host bits cleared).
pub(super) fn prefix(net: &IpNet) -> Prefix {
    Prefix::from(*net)
}

/// Parses an IP address.
pub(super) fn ip(s: &str) -> Result<IpAddr, Problem> {
    s.parse().map_err(|_| Problem::Ip(s.to_owned()))
}

/// Parses a CIDR into a prefix.
pub(super) fn cidr(s: &str) -> Result<Prefix, Problem> {
    s.parse::<IpNet>()
        .map(Prefix::from)
        .map_err(|_| Problem::Cidr(s.to_owned()))
}

/// A Kubernetes protocol name (`None` means TCP, as the API defaults).
pub(super) fn protocol(p: Option<&str>) -> Result<Protocol, Problem> {
    match p.unwrap_or("TCP") {
        "TCP" => Ok(Protocol::Tcp),
        "UDP" => Ok(Protocol::Udp),
        "SCTP" => Ok(Protocol::Sctp),
        other => Err(Problem::Protocol(other.to_owned())),
    }
}

/// A port number in 1..=65535.
pub(super) fn port(p: i32) -> Result<u16, Problem> {
    u16::try_from(p)
        .ok()
        .filter(|&p| p != 0)
        .ok_or(Problem::Port(p))
}

/// `namespace/name` of an object's metadata.
pub(super) fn object_name(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}
