//! Ethernet MAC addresses as OVN-Kubernetes writes them (the project's one
//! [`MacAddr`]), and its rule for deriving a pod's MAC from the pod's IP.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

pub use dpuflow_net::{MacAddr, MacParseError};

/// OVN-Kubernetes' MAC for an interface with address `ip`
/// (`util.IPAddrToHWAddr`): `0a:58:` then the four IPv4 octets; for IPv6,
/// `0a:58:` then the first four bytes of the SHA-256 of the address's
/// canonical text form (RFC 5952, as Go prints it).
pub fn from_ip(ip: IpAddr) -> MacAddr {
    let tail = match ip {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets(),
            None => first_four(&Sha256::digest(v6.to_string().as_bytes())),
        },
    };
    MacAddr([0x0a, 0x58, tail[0], tail[1], tail[2], tail[3]])
}

fn first_four(bytes: &[u8]) -> [u8; 4] {
    let mut out = [0u8; 4];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
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
