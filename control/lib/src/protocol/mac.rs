//! Ethernet MAC addresses as OVN-Kubernetes writes them (the project's one
//! [`MacAddr`]), and its rule for deriving a pod's MAC from the pod's IP.

use std::net::IpAddr;

pub use dpuflow_net::{MacAddr, MacParseError};

/// OVN-Kubernetes' MAC for an interface with address `ip`
/// (`util.IPAddrToHWAddr`); see [`MacAddr::from_ovn_ip`].
pub fn from_ip(ip: IpAddr) -> MacAddr {
    MacAddr::from_ovn_ip(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_mac_is_0a58_and_octets() {
        let mac = from_ip("10.244.1.5".parse().unwrap());
        assert_eq!(mac.to_string(), "0a:58:0a:f4:01:05");
    }

    #[test]
    fn ipv6_mac_is_0a58_and_sha256_prefix() {
        // `printf %s fd00:10:244:1::5 | sha256sum` starts fc091d4e.
        let mac = from_ip("fd00:10:244:1::5".parse().unwrap());
        assert_eq!(mac.to_string(), "0a:58:fc:09:1d:4e");
    }

    #[test]
    fn serde_as_ovn_k_writes_it() {
        let mac: MacAddr = serde_json::from_str("\"0A:58:0a:f4:01:05\"").unwrap();
        assert_eq!(
            serde_json::to_string(&mac).unwrap(),
            "\"0a:58:0a:f4:01:05\""
        );
        assert!(serde_json::from_str::<MacAddr>("\"0a:58\"").is_err());
    }
}
