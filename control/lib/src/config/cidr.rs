//! Network CIDR settings in OVN-Kubernetes' forms: cluster subnets as
//! `CIDR[/HOST-PREFIX]` (`10.244.0.0/16/24`, `fd00:10:244::/48/64`) and
//! plain CIDRs for services.

use std::fmt;
use std::str::FromStr;

use ipnet::IpNet;

/// Upstream's default IPv4 host prefix when none is given.
pub const DEFAULT_HOST_PREFIX_V4: u8 = 24;
/// Upstream's IPv6 host prefix (the only one it supports).
pub const HOST_PREFIX_V6: u8 = 64;

/// One cluster network: the cluster-wide CIDR and the prefix length of
/// each node's slice of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClusterSubnet {
    /// The cluster-wide network (`10.244.0.0/16`).
    pub cidr: IpNet,
    /// Prefix length of each node's subnet (`24`).
    pub host_prefix: u8,
}

impl fmt::Display for ClusterSubnet {
    /// The `10.244.0.0/16/24` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.cidr, self.host_prefix)
    }
}

impl FromStr for ClusterSubnet {
    type Err = String;

    /// Parses one entry with upstream's rules (`ParseClusterSubnetEntries`):
    /// host prefix defaults to 24 (IPv4) / 64 (IPv6), must be longer than
    /// the cluster prefix, at most 32 for IPv4 and exactly 64 for IPv6.
    /// Unlike upstream, a CIDR with host bits set is refused rather than
    /// silently masked.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let (addr, len, host) = match parts.as_slice() {
            [addr, len] => (addr, len, None),
            [addr, len, host] => (addr, len, Some(host)),
            _ => return Err("expected CIDR[/HOST-PREFIX], e.g. 10.244.0.0/16/24".into()),
        };
        let cidr = parse_network(&format!("{addr}/{len}"))?;
        let v6 = cidr.addr().is_ipv6();
        let host_prefix = match host {
            Some(p) => p
                .parse::<u8>()
                .map_err(|_| format!("host prefix {p:?} is not a number"))?,
            None if v6 => HOST_PREFIX_V6,
            None => DEFAULT_HOST_PREFIX_V4,
        };
        check_host_prefix(cidr, host_prefix)?;
        Ok(ClusterSubnet { cidr, host_prefix })
    }
}

fn check_host_prefix(cidr: IpNet, host_prefix: u8) -> Result<(), String> {
    let v6 = cidr.addr().is_ipv6();
    let max = cidr.max_prefix_len();
    if host_prefix > max {
        return Err(format!("host prefix {host_prefix} is longer than {max}"));
    }
    if host_prefix <= cidr.prefix_len() {
        return Err(format!(
            "host prefix {host_prefix} must be longer than the cluster prefix {}",
            cidr.prefix_len()
        ));
    }
    if v6 && host_prefix != HOST_PREFIX_V6 {
        return Err(format!(
            "IPv6 host prefix must be {HOST_PREFIX_V6} (OVN-Kubernetes supports only /64 node subnets), not {host_prefix}"
        ));
    }
    Ok(())
}

/// Parses `a.b.c.d/n` or `x::/n` and refuses host bits, naming the
/// network the user probably meant.
pub(crate) fn parse_network(s: &str) -> Result<IpNet, String> {
    let net: IpNet = s
        .trim()
        .parse()
        .map_err(|_| "not a CIDR (address/prefix-length)".to_string())?;
    if net.trunc() != net {
        return Err(format!("has host bits set; the network is {}", net.trunc()));
    }
    Ok(net)
}

/// Parses an address with prefix length where host bits are allowed
/// (`203.0.113.10/24` is fine for a router subnet).
pub(crate) fn parse_prefix(s: &str) -> Result<IpNet, String> {
    s.trim()
        .parse()
        .map_err(|_| "not a CIDR (address/prefix-length)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        s.parse::<ClusterSubnet>().unwrap().to_string()
    }

    fn err(s: &str) -> String {
        s.parse::<ClusterSubnet>().unwrap_err()
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(ok("10.244.0.0/16/24"), "10.244.0.0/16/24");
        assert_eq!(ok("10.244.0.0/16"), "10.244.0.0/16/24");
        assert_eq!(ok("10.128.0.0/14/23"), "10.128.0.0/14/23");
        assert_eq!(ok("fd00:10:244::/48/64"), "fd00:10:244::/48/64");
        assert_eq!(ok("fd00:10:244::/48"), "fd00:10:244::/48/64");
    }

    #[test]
    fn refused_forms() {
        assert_eq!(err("10.244.0.0/16/33"), "host prefix 33 is longer than 32");
        assert_eq!(
            err("10.244.0.0/16/16"),
            "host prefix 16 must be longer than the cluster prefix 16"
        );
        assert_eq!(
            err("10.244.0.0/25"),
            "host prefix 24 must be longer than the cluster prefix 25"
        );
        assert!(err("fd00:10:244::/48/96").contains("must be 64"));
        assert!(err("10.244.0.0").contains("expected CIDR"));
        assert!(err("10.244.0.0/16/24/1").contains("expected CIDR"));
        assert!(err("10.244.0.0/16/x").contains("not a number"));
        assert!(err("10.244.0.300/16").contains("not a CIDR"));
        assert_eq!(
            err("10.244.1.0/16/24"),
            "has host bits set; the network is 10.244.0.0/16"
        );
    }
}
