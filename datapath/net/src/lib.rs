//! Network value types that every dpuflow crate shares: the rule model, the
//! desired-state tables, the DPDK layer and the control plane's annotations
//! all speak the same [`MacAddr`].
#![deny(missing_docs)]

use std::fmt;
use std::str::FromStr;

/// An Ethernet MAC address in network (wire) byte order; text form
/// `0a:58:0a:f4:01:05` (lower case, colons), as OVN-Kubernetes, Go's
/// `net.HardwareAddr` and testpmd print it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The all-zero address.
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// Builds an address from its six octets.
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) -> Self {
        MacAddr([a, b, c, d, e, f])
    }

    /// The octets in wire order.
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    /// Whether the group bit (multicast or broadcast) is set.
    pub const fn is_multicast(self) -> bool {
        self.0[0] & 1 == 1
    }

    /// OVN-Kubernetes' MAC for an interface with address `ip`
    /// (`util.IPAddrToHWAddr`): `0a:58:` then the four IPv4 octets; for
    /// IPv6, `0a:58:` then the first four bytes of the SHA-256 of the
    /// address's canonical text form (RFC 5952, as Go prints it). Pods,
    /// router ports and the management port all get theirs this way.
    pub fn from_ovn_ip(ip: std::net::IpAddr) -> MacAddr {
        use sha2::{Digest, Sha256};
        let tail = match ip {
            std::net::IpAddr::V4(v4) => v4.octets(),
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets(),
                None => {
                    let digest = Sha256::digest(v6.to_string().as_bytes());
                    [digest[0], digest[1], digest[2], digest[3]]
                }
            },
        };
        MacAddr([0x0a, 0x58, tail[0], tail[1], tail[2], tail[3]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> Self {
        MacAddr(octets)
    }
}

/// Why a MAC address did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a MAC address (six hex byte pairs separated by ':' or '-')")]
pub struct MacParseError(pub String);

impl FromStr for MacAddr {
    type Err = MacParseError;

    /// Parses `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`, any case (the
    /// `macaddr` crate's parser; its dotted Cisco form is accepted too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match macaddr::MacAddr::from_str(s) {
            Ok(macaddr::MacAddr::V6(mac)) => Ok(MacAddr(mac.into_array())),
            _ => Err(MacParseError(s.to_string())),
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let mac: MacAddr = "0A-58-0a-F4-01-05".parse().unwrap();
        assert_eq!(mac, MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x05));
        assert_eq!(mac.to_string(), "0a:58:0a:f4:01:05");
        assert_eq!("ff:ff:ff:ff:ff:ff".parse(), Ok(MacAddr::BROADCAST));
        for bad in [
            "0a:58:0a:f4:01",
            "0a:58:0a:f4:01:05:07",
            "0a:58:0a:f4:01:5",
            "zz:58:0a:f4:01:05",
            "",
            "0a:58:0a:f4:01:05 ",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn multicast_bit() {
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr::new(0x01, 0, 0x5e, 0, 0, 1).is_multicast());
        assert!(!MacAddr::new(0x0a, 0x58, 0, 0, 0, 1).is_multicast());
    }
}
