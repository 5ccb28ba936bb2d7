//! Ethernet MAC addresses as OVN-Kubernetes writes them, and its rule for
//! deriving a pod's MAC from the pod's IP.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A 48-bit MAC address; text form `0a:58:0a:f4:01:05` (lower case, colons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// OVN-Kubernetes' MAC for an interface with address `ip`
    /// (`util.IPAddrToHWAddr`): `0a:58:` then the four IPv4 octets; for
    /// IPv6, `0a:58:` then the first four bytes of the SHA-256 of the
    /// address's canonical text form (RFC 5952, as Go prints it).
    pub fn from_ip(ip: IpAddr) -> Self {
        let tail = match ip {
            IpAddr::V4(v4) => v4.octets(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets(),
                None => first_four(&Sha256::digest(v6.to_string().as_bytes())),
            },
        };
        MacAddr([0x0a, 0x58, tail[0], tail[1], tail[2], tail[3]])
    }

    /// The six bytes.
    pub fn octets(self) -> [u8; 6] {
        self.0
    }
}

fn first_four(bytes: &[u8]) -> [u8; 4] {
    let mut out = [0u8; 4];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// Why a MAC address did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a MAC address (six hex byte pairs separated by ':' or '-')")]
pub struct MacParseError(pub String);

impl FromStr for MacAddr {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for byte in out.iter_mut() {
            let part = parts.next().ok_or_else(err)?;
            if part.len() != 2 {
                return Err(err());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(MacAddr(out))
    }
}

impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_mac_is_0a58_and_octets() {
        let mac = MacAddr::from_ip("10.244.1.5".parse().unwrap());
        assert_eq!(mac.to_string(), "0a:58:0a:f4:01:05");
    }

    #[test]
    fn ipv6_mac_is_0a58_and_sha256_prefix() {
        // `printf %s fd00:10:244:1::5 | sha256sum` starts fc091d4e.
        let mac = MacAddr::from_ip("fd00:10:244:1::5".parse().unwrap());
        assert_eq!(mac.to_string(), "0a:58:fc:09:1d:4e");
    }

    #[test]
    fn parse_and_print() {
        let mac: MacAddr = "0A-58-0a-F4-01-05".parse().unwrap();
        assert_eq!(mac.to_string(), "0a:58:0a:f4:01:05");
        assert!("0a:58:0a:f4:01".parse::<MacAddr>().is_err());
        assert!("0a:58:0a:f4:01:05:07".parse::<MacAddr>().is_err());
        assert!("0a:58:0a:f4:01:5".parse::<MacAddr>().is_err());
        assert!("zz:58:0a:f4:01:05".parse::<MacAddr>().is_err());
    }
}
