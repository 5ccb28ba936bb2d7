//! Small node annotations: `node-chassis-id`, `node-encap-ips`,
//! `node-primary-ifaddr`, `primary-dpu-host-addr`, `host-cidrs` and
//! `node-mgmt-port`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::error::{from_json, to_json};
use super::keys::{
    HOST_CIDRS, NODE_CHASSIS_ID, NODE_ENCAP_IPS, NODE_MGMT_PORT, NODE_PRIMARY_IFADDR,
    PRIMARY_DPU_HOST_ADDR,
};
use super::{AnnotationError, DEFAULT_NETWORK};

/// `k8s.ovn.org/node-chassis-id`: the OVN chassis (system) id, a UUID in
/// lower-case `8-4-4-4-12` hex form. The value is the bare string, not JSON.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChassisId(String);

impl ChassisId {
    /// Checks the UUID form; upper case is folded to lower case.
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        let lower = text.trim().to_ascii_lowercase();
        if is_uuid(&lower) {
            Ok(ChassisId(lower))
        } else {
            Err(AnnotationError::invalid(
                NODE_CHASSIS_ID,
                format!("{text:?} is not a UUID"),
            ))
        }
    }

    /// The annotation value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChassisId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == lens.len()
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `k8s.ovn.org/node-encap-ips`: the tunnel endpoint addresses, a JSON list
/// of strings. Written sorted as text, as upstream's `sets.List` does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncapIps(pub Vec<IpAddr>);

impl EncapIps {
    /// Parses the JSON list.
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        let raw: Vec<String> = from_json(NODE_ENCAP_IPS, text)?;
        raw.iter()
            .map(|s| {
                s.parse().map_err(|_| {
                    AnnotationError::invalid(NODE_ENCAP_IPS, format!("{s:?} is not an IP address"))
                })
            })
            .collect::<Result<_, _>>()
            .map(EncapIps)
    }

    /// The annotation value (sorted, duplicates dropped).
    pub fn to_json(&self) -> Result<String, AnnotationError> {
        to_json(NODE_ENCAP_IPS, &sorted_text(self.0.iter()))
    }
}

/// `k8s.ovn.org/host-cidrs`: every address/prefix on the host, a JSON list
/// of strings such as `"203.0.113.10/24"`; written sorted as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostCidrs(pub Vec<IpNet>);

impl HostCidrs {
    /// Parses the JSON list.
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        let raw: Vec<String> = from_json(HOST_CIDRS, text)?;
        raw.iter()
            .map(|s| {
                s.parse().map_err(|_| {
                    AnnotationError::invalid(HOST_CIDRS, format!("{s:?} is not an address/prefix"))
                })
            })
            .collect::<Result<_, _>>()
            .map(HostCidrs)
    }

    /// The annotation value (sorted, duplicates dropped).
    pub fn to_json(&self) -> Result<String, AnnotationError> {
        to_json(HOST_CIDRS, &sorted_text(self.0.iter()))
    }
}

fn sorted_text<T: ToString>(items: impl Iterator<Item = T>) -> Vec<String> {
    let mut v: Vec<String> = items.map(|i| i.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

/// One address/prefix per family: the shape of
/// `k8s.ovn.org/node-primary-ifaddr` and `k8s.ovn.org/primary-dpu-host-addr`
/// (`{"ipv4":"203.0.113.10/24"}`, each key omitted when empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfAddrs {
    /// The IPv4 address with its prefix length.
    pub ipv4: Option<IpNet>,
    /// The IPv6 address with its prefix length.
    pub ipv6: Option<IpNet>,
}

#[derive(Serialize, Deserialize, Default)]
struct IfAddrsWire {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    ipv4: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    ipv6: String,
}

impl IfAddrs {
    /// Parses `k8s.ovn.org/node-primary-ifaddr`.
    pub fn parse_node_primary_ifaddr(text: &str) -> Result<Self, AnnotationError> {
        Self::parse(NODE_PRIMARY_IFADDR, text)
    }

    /// Parses `k8s.ovn.org/primary-dpu-host-addr`, which must hold at least
    /// one address (as upstream requires).
    pub fn parse_primary_dpu_host_addr(text: &str) -> Result<Self, AnnotationError> {
        let addrs = Self::parse(PRIMARY_DPU_HOST_ADDR, text)?;
        if addrs.ipv4.is_none() && addrs.ipv6.is_none() {
            return Err(AnnotationError::invalid(
                PRIMARY_DPU_HOST_ADDR,
                "no address of either family",
            ));
        }
        Ok(addrs)
    }

    /// Parses the shape for annotation `key`; each value must be of its
    /// key's family.
    pub fn parse(key: &'static str, text: &str) -> Result<Self, AnnotationError> {
        let wire: IfAddrsWire = from_json(key, text)?;
        Ok(IfAddrs {
            ipv4: parse_family(key, "ipv4", &wire.ipv4, false)?,
            ipv6: parse_family(key, "ipv6", &wire.ipv6, true)?,
        })
    }

    /// The annotation value for annotation `key`.
    pub fn to_json(&self, key: &'static str) -> Result<String, AnnotationError> {
        let text = |n: Option<IpNet>| n.map(|n| n.to_string()).unwrap_or_default();
        to_json(
            key,
            &IfAddrsWire {
                ipv4: text(self.ipv4),
                ipv6: text(self.ipv6),
            },
        )
    }

    /// The first address of each family among `addrs` (upstream's
    /// `MatchFirstIPNetFamily`).
    pub fn first_of_each_family(addrs: &[IpNet]) -> Self {
        IfAddrs {
            ipv4: addrs.iter().find(|a| a.addr().is_ipv4()).copied(),
            ipv6: addrs.iter().find(|a| a.addr().is_ipv6()).copied(),
        }
    }
}

fn parse_family(
    key: &'static str,
    field: &str,
    s: &str,
    ipv6: bool,
) -> Result<Option<IpNet>, AnnotationError> {
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<IpNet>() {
        Ok(n) if n.addr().is_ipv6() == ipv6 => Ok(Some(n)),
        Ok(_) => Err(AnnotationError::invalid(
            key,
            format!("{field} {s:?} is of the other family"),
        )),
        Err(_) => Err(AnnotationError::invalid(
            key,
            format!("{field} {s:?} is not an address/prefix"),
        )),
    }
}

/// One management port VF (`k8s.ovn.org/node-mgmt-port` entry).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgmtPortDetails {
    /// PCI address of the VF on the host (empty in the legacy form).
    #[serde(rename = "DeviceId", default)]
    pub device_id: String,
    /// Physical function.
    #[serde(rename = "PfId", default)]
    pub pf_id: u16,
    /// VF index (function id).
    #[serde(rename = "FuncId", default)]
    pub func_id: u16,
}

/// Parsed `k8s.ovn.org/node-mgmt-port`: network key → management VF
/// (`{"default":{"DeviceId":"0000:03:00.2","PfId":0,"FuncId":0}}`; the
/// legacy un-keyed `{"PfId":0,"FuncId":0}` is the default network's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MgmtPorts(pub BTreeMap<String, MgmtPortDetails>);

impl MgmtPorts {
    /// Parses either form; `null` entries are dropped.
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        match from_json::<BTreeMap<String, Option<MgmtPortDetails>>>(NODE_MGMT_PORT, text) {
            Ok(map) => Ok(MgmtPorts(
                map.into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect(),
            )),
            Err(keyed_err) => match serde_json::from_str::<MgmtPortDetails>(text) {
                Ok(legacy) => Ok(MgmtPorts(BTreeMap::from([(
                    DEFAULT_NETWORK.to_string(),
                    legacy,
                )]))),
                Err(_) => Err(keyed_err),
            },
        }
    }

    /// The annotation value (keyed form).
    pub fn to_json(&self) -> Result<String, AnnotationError> {
        to_json(NODE_MGMT_PORT, &self.0)
    }

    /// The default network's management VF.
    pub fn default_network(&self) -> Result<&MgmtPortDetails, AnnotationError> {
        self.0
            .get(DEFAULT_NETWORK)
            .ok_or_else(|| AnnotationError::MissingNetwork {
                key: NODE_MGMT_PORT,
                network: DEFAULT_NETWORK.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chassis_id() {
        let id = ChassisId::parse("B1F96182-2bdd-42b6-88f9-9a1fc1c85ece").unwrap();
        assert_eq!(id.as_str(), "b1f96182-2bdd-42b6-88f9-9a1fc1c85ece");
        for bad in [
            "",
            "dpu",
            "b1f96182-2bdd-42b6-88f9-9a1fc1c85ec",
            "g1f96182-2bdd-42b6-88f9-9a1fc1c85ece",
        ] {
            assert!(ChassisId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn encap_ips_sorted_like_upstream() {
        let ips = EncapIps::parse(r#"["198.51.100.10"]"#).unwrap();
        assert_eq!(ips.0, vec!["198.51.100.10".parse::<IpAddr>().unwrap()]);
        let two = EncapIps(vec![
            "198.51.100.9".parse().unwrap(),
            "198.51.100.10".parse().unwrap(),
        ]);
        assert_eq!(
            two.to_json().unwrap(),
            r#"["198.51.100.10","198.51.100.9"]"#
        );
        assert!(EncapIps::parse(r#"["x"]"#)
            .unwrap_err()
            .to_string()
            .contains(NODE_ENCAP_IPS));
        assert!(EncapIps::parse(r#""198.51.100.10""#).is_err());
    }

    #[test]
    fn host_cidrs() {
        let c = HostCidrs::parse(r#"["203.0.113.10/24","fd00::10/64"]"#).unwrap();
        assert_eq!(c.0.len(), 2);
        assert_eq!(c.to_json().unwrap(), r#"["203.0.113.10/24","fd00::10/64"]"#);
        assert!(HostCidrs::parse(r#"["203.0.113.10"]"#).is_err());
    }

    #[test]
    fn if_addrs() {
        let a = IfAddrs::parse_primary_dpu_host_addr(r#"{"ipv4":"203.0.113.10/24"}"#).unwrap();
        assert_eq!(a.ipv4.unwrap().to_string(), "203.0.113.10/24");
        assert_eq!(
            a.to_json(PRIMARY_DPU_HOST_ADDR).unwrap(),
            r#"{"ipv4":"203.0.113.10/24"}"#
        );
        assert!(IfAddrs::parse_primary_dpu_host_addr("{}").is_err());
        assert!(IfAddrs::parse_node_primary_ifaddr("{}").is_ok());
        assert!(IfAddrs::parse_node_primary_ifaddr(r#"{"ipv4":"fd00::1/64"}"#).is_err());
        let both = IfAddrs::first_of_each_family(&[
            "fd00::1/64".parse().unwrap(),
            "10.0.0.1/24".parse().unwrap(),
        ]);
        assert_eq!(
            both.to_json(NODE_PRIMARY_IFADDR).unwrap(),
            r#"{"ipv4":"10.0.0.1/24","ipv6":"fd00::1/64"}"#
        );
    }

    #[test]
    fn mgmt_port_forms() {
        let text = r#"{"default":{"DeviceId":"0000:03:00.2","PfId":0,"FuncId":0}}"#;
        let m = MgmtPorts::parse(text).unwrap();
        assert_eq!(m.default_network().unwrap().device_id, "0000:03:00.2");
        assert_eq!(m.to_json().unwrap(), text);
        let legacy = MgmtPorts::parse(r#"{"PfId":1,"FuncId":4}"#).unwrap();
        assert_eq!(legacy.default_network().unwrap().func_id, 4);
        assert!(MgmtPorts::parse(r#"{"default":null}"#)
            .unwrap()
            .default_network()
            .is_err());
        assert!(MgmtPorts::parse("3")
            .unwrap_err()
            .to_string()
            .contains(NODE_MGMT_PORT));
    }
}
