//! `k8s.ovn.org/l3-gateway-config`: the node's gateway (shared mode on a
//! DPU), written by the DPU side, keyed by network (only `default`).
//!
//! Wire shape (upstream `l3GatewayConfigJSON`, in its field order):
//! `mode`, `bridge-id`, `interface-id`, `mac-address`, `ip-addresses`,
//! `ip-address`, `exgw-interface-id`, `exgw-mac-address`,
//! `exgw-ip-addresses`, `exgw-ip-address`, `next-hops`, `next-hop`,
//! `node-port-enable` (`"true"`/`"false"`), `vlan-id` (decimal string),
//! each omitted when empty. The singular `ip-address` / `next-hop` /
//! `exgw-ip-address` are deprecated copies written only when the list has
//! exactly one item. A disabled gateway is `{"mode":""}`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::error::{from_json, to_json};
use super::keys::L3_GATEWAY_CONFIG;
use super::{AnnotationError, MacAddr, DEFAULT_NETWORK};

const KEY: &str = L3_GATEWAY_CONFIG;

/// Gateway mode; DPU mode uses [`GatewayMode::Shared`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayMode {
    /// `"shared"`: the gateway shares the node's uplink.
    Shared,
    /// `"local"`: traffic leaves through the host's stack.
    Local,
    /// `""`: no gateway.
    Disabled,
}

impl GatewayMode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayMode::Shared => "shared",
            GatewayMode::Local => "local",
            GatewayMode::Disabled => "",
        }
    }

    fn parse(s: &str) -> Result<Self, AnnotationError> {
        match s {
            "shared" => Ok(GatewayMode::Shared),
            "local" => Ok(GatewayMode::Local),
            "" => Ok(GatewayMode::Disabled),
            other => Err(AnnotationError::invalid(KEY, format!("bad mode {other:?}"))),
        }
    }
}

/// One network's gateway configuration. For [`GatewayMode::Disabled`] only
/// the mode is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L3GatewayConfig {
    /// Gateway mode.
    pub mode: GatewayMode,
    /// The external bridge (`brp0`).
    pub bridge_id: String,
    /// The gateway port's id (`brp0_<node>`).
    pub interface_id: String,
    /// The gateway MAC (the host PF's MAC in DPU mode). Required unless
    /// disabled.
    pub mac_address: Option<MacAddr>,
    /// Gateway addresses with prefix (from `primary-dpu-host-addr`). At
    /// least one unless disabled.
    pub ip_addresses: Vec<IpNet>,
    /// Next hops (the physical network's default gateway).
    pub next_hops: Vec<IpAddr>,
    /// Whether NodePort services are served on this gateway.
    pub node_port_enable: bool,
    /// VLAN of the gateway network, when tagged (0..=4095).
    pub vlan_id: Option<u16>,
    /// Separate interface for external-gateway traffic, if any.
    pub exgw_interface_id: String,
    /// Its MAC (required when `exgw_interface_id` is set).
    pub exgw_mac_address: Option<MacAddr>,
    /// Its addresses.
    pub exgw_ip_addresses: Vec<IpNet>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Wire {
    #[serde(default)]
    mode: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    bridge_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    interface_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    mac_address: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ip_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    ip_address: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    exgw_interface_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    exgw_mac_address: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    exgw_ip_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    exgw_ip_address: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    next_hops: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    next_hop: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    node_port_enable: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    vlan_id: String,
}

/// Parsed `k8s.ovn.org/l3-gateway-config`: network key → configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L3GatewayConfigs(pub BTreeMap<String, L3GatewayConfig>);

impl L3GatewayConfigs {
    /// An annotation holding only the default network's configuration.
    pub fn for_default(cfg: L3GatewayConfig) -> Self {
        L3GatewayConfigs(BTreeMap::from([(DEFAULT_NETWORK.to_string(), cfg)]))
    }

    /// Parses the annotation value with upstream's checks.
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        let raw: BTreeMap<String, Wire> = from_json(KEY, text)?;
        raw.into_iter()
            .map(|(k, w)| L3GatewayConfig::from_wire(w).map(|c| (k, c)))
            .collect::<Result<_, _>>()
            .map(L3GatewayConfigs)
    }

    /// The annotation value upstream would write.
    pub fn to_json(&self) -> Result<String, AnnotationError> {
        let wire: BTreeMap<&str, Wire> = self
            .0
            .iter()
            .map(|(k, c)| (k.as_str(), c.to_wire()))
            .collect();
        to_json(KEY, &wire)
    }

    /// The default network's configuration.
    pub fn default_network(&self) -> Result<&L3GatewayConfig, AnnotationError> {
        self.0
            .get(DEFAULT_NETWORK)
            .ok_or_else(|| AnnotationError::MissingNetwork {
                key: KEY,
                network: DEFAULT_NETWORK.to_string(),
            })
    }
}

impl L3GatewayConfig {
    fn to_wire(&self) -> Wire {
        if self.mode == GatewayMode::Disabled {
            return Wire::default();
        }
        let ips: Vec<String> = self.ip_addresses.iter().map(IpNet::to_string).collect();
        let exgw_ips: Vec<String> = self
            .exgw_ip_addresses
            .iter()
            .map(IpNet::to_string)
            .collect();
        let hops: Vec<String> = self.next_hops.iter().map(IpAddr::to_string).collect();
        Wire {
            mode: self.mode.as_str().to_string(),
            bridge_id: self.bridge_id.clone(),
            interface_id: self.interface_id.clone(),
            mac_address: mac_text(self.mac_address),
            ip_address: only(&ips),
            ip_addresses: ips,
            exgw_interface_id: self.exgw_interface_id.clone(),
            exgw_mac_address: mac_text(self.exgw_mac_address),
            exgw_ip_address: only(&exgw_ips),
            exgw_ip_addresses: exgw_ips,
            next_hop: only(&hops),
            next_hops: hops,
            node_port_enable: self.node_port_enable.to_string(),
            vlan_id: self.vlan_id.map(|v| v.to_string()).unwrap_or_default(),
        }
    }

    fn from_wire(w: Wire) -> Result<Self, AnnotationError> {
        let mode = GatewayMode::parse(&w.mode)?;
        let mut cfg = L3GatewayConfig::disabled();
        if mode == GatewayMode::Disabled {
            return Ok(cfg);
        }
        cfg.mode = mode;
        cfg.mac_address = Some(parse_mac("mac-address", &w.mac_address)?);
        cfg.ip_addresses =
            parse_nets("ip-addresses", list_or_single(w.ip_addresses, w.ip_address))?;
        if cfg.ip_addresses.is_empty() {
            return Err(AnnotationError::invalid(KEY, "no ip-addresses"));
        }
        cfg.next_hops = parse_ips(list_or_single(w.next_hops, w.next_hop))?;
        cfg.node_port_enable = w.node_port_enable == "true";
        cfg.vlan_id = parse_vlan(&w.vlan_id)?;
        if !w.exgw_interface_id.is_empty() {
            cfg.exgw_mac_address = Some(parse_mac("exgw-mac-address", &w.exgw_mac_address)?);
            cfg.exgw_ip_addresses = parse_nets(
                "exgw-ip-addresses",
                list_or_single(w.exgw_ip_addresses, w.exgw_ip_address),
            )?;
        }
        cfg.bridge_id = w.bridge_id;
        cfg.interface_id = w.interface_id;
        cfg.exgw_interface_id = w.exgw_interface_id;
        Ok(cfg)
    }

    /// A disabled gateway (`{"mode":""}`).
    pub fn disabled() -> Self {
        L3GatewayConfig {
            mode: GatewayMode::Disabled,
            bridge_id: String::new(),
            interface_id: String::new(),
            mac_address: None,
            ip_addresses: Vec::new(),
            next_hops: Vec::new(),
            node_port_enable: false,
            vlan_id: None,
            exgw_interface_id: String::new(),
            exgw_mac_address: None,
            exgw_ip_addresses: Vec::new(),
        }
    }
}

fn mac_text(mac: Option<MacAddr>) -> String {
    mac.map(|m| m.to_string()).unwrap_or_default()
}

fn only(list: &[String]) -> String {
    match list {
        [one] => one.clone(),
        _ => String::new(),
    }
}

fn list_or_single(list: Vec<String>, single: String) -> Vec<String> {
    if list.is_empty() && !single.is_empty() {
        vec![single]
    } else {
        list
    }
}

fn parse_mac(field: &str, s: &str) -> Result<MacAddr, AnnotationError> {
    s.parse()
        .map_err(|_| AnnotationError::invalid(KEY, format!("bad {field} value {s:?}")))
}

fn parse_nets(field: &str, list: Vec<String>) -> Result<Vec<IpNet>, AnnotationError> {
    list.iter()
        .map(|s| {
            s.parse()
                .map_err(|_| AnnotationError::invalid(KEY, format!("bad {field} value {s:?}")))
        })
        .collect()
}

fn parse_ips(list: Vec<String>) -> Result<Vec<IpAddr>, AnnotationError> {
    list.iter()
        .map(|s| {
            s.parse()
                .map_err(|_| AnnotationError::invalid(KEY, format!("bad next-hops value {s:?}")))
        })
        .collect()
}

fn parse_vlan(s: &str) -> Result<Option<u16>, AnnotationError> {
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u16>() {
        Ok(v) if v <= 4095 => Ok(Some(v)),
        _ => Err(AnnotationError::invalid(
            KEY,
            format!("bad vlan-id value {s:?} (0..=4095)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> L3GatewayConfig {
        L3GatewayConfig {
            mode: GatewayMode::Shared,
            bridge_id: "brp0".into(),
            interface_id: "brp0_dpu-host".into(),
            mac_address: Some("52:54:00:12:34:56".parse().unwrap()),
            ip_addresses: vec!["203.0.113.10/24".parse().unwrap()],
            next_hops: vec!["203.0.113.1".parse().unwrap()],
            node_port_enable: true,
            vlan_id: Some(3),
            ..L3GatewayConfig::disabled()
        }
    }

    const SHARED: &str = concat!(
        r#"{"default":{"mode":"shared","bridge-id":"brp0","interface-id":"brp0_dpu-host","#,
        r#""mac-address":"52:54:00:12:34:56","ip-addresses":["203.0.113.10/24"],"ip-address":"203.0.113.10/24","#,
        r#""next-hops":["203.0.113.1"],"next-hop":"203.0.113.1","node-port-enable":"true","vlan-id":"3"}}"#
    );

    #[test]
    fn writes_upstream_shape_with_legacy_singulars() {
        assert_eq!(
            L3GatewayConfigs::for_default(shared()).to_json().unwrap(),
            SHARED
        );
        assert_eq!(
            L3GatewayConfigs::parse(SHARED)
                .unwrap()
                .default_network()
                .unwrap(),
            &shared()
        );
    }

    #[test]
    fn reads_the_reference_example_without_singulars() {
        let text = r#"{"default":{"mode":"shared","bridge-id":"brp0","interface-id":"brp0_dpu-host","mac-address":"52:54:00:12:34:56","ip-addresses":["203.0.113.10/24"],"next-hops":["203.0.113.1"],"node-port-enable":"true","vlan-id":"3"}}"#;
        assert_eq!(
            L3GatewayConfigs::parse(text)
                .unwrap()
                .default_network()
                .unwrap(),
            &shared()
        );
    }

    #[test]
    fn legacy_only_and_dual_stack() {
        let old = r#"{"default":{"mode":"local","mac-address":"52:54:00:12:34:56","ip-address":"10.0.0.2/24","next-hop":"10.0.0.1","node-port-enable":"false"}}"#;
        let cfg = L3GatewayConfigs::parse(old).unwrap();
        let d = cfg.default_network().unwrap();
        assert_eq!(d.mode, GatewayMode::Local);
        assert_eq!(d.next_hops.len(), 1);
        assert_eq!(d.vlan_id, None);
        let mut dual = shared();
        dual.ip_addresses.push("fd00::10/64".parse().unwrap());
        dual.vlan_id = None;
        let json = L3GatewayConfigs::for_default(dual).to_json().unwrap();
        assert!(
            json.contains(r#""ip-addresses":["203.0.113.10/24","fd00::10/64"],"next-hops""#),
            "{json}"
        );
    }

    #[test]
    fn disabled() {
        let cfg = L3GatewayConfigs::for_default(L3GatewayConfig::disabled());
        assert_eq!(cfg.to_json().unwrap(), r#"{"default":{"mode":""}}"#);
        assert_eq!(
            L3GatewayConfigs::parse(r#"{"default":{"mode":""}}"#).unwrap(),
            cfg
        );
    }

    #[test]
    fn errors() {
        for bad in [
            r#"{"default":{"mode":"bogus"}}"#,
            r#"{"default":{"mode":"shared","ip-addresses":["10.0.0.2/24"]}}"#,
            r#"{"default":{"mode":"shared","mac-address":"52:54:00:12:34:56"}}"#,
            r#"{"default":{"mode":"shared","mac-address":"52:54:00:12:34:56","ip-address":"10.0.0.2/24","vlan-id":"4096"}}"#,
            r#"{"default":{"mode":"shared","mac-address":"52:54:00:12:34:56","ip-address":"10.0.0.2/24","next-hops":["x"]}}"#,
            r#"{"default":{"mode":"shared","mac-address":"52:54:00:12:34:56","ip-address":"10.0.0.2/24","exgw-interface-id":"e"}}"#,
            "[]",
        ] {
            let err = L3GatewayConfigs::parse(bad).unwrap_err().to_string();
            assert!(err.contains(KEY), "{bad}: {err}");
        }
    }
}
