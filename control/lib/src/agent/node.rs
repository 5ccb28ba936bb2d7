//! This node's annotations written by the DPU side: chassis id, encap IPs,
//! primary interface address and the L3 gateway config, in OVN-K's shapes.
//! Only keys whose value changes are patched.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};

use crate::config::Config;
use crate::protocol::keys;
use crate::protocol::l3_gateway::{GatewayMode, L3GatewayConfig, L3GatewayConfigs};
use crate::protocol::mac::MacAddr;
use crate::protocol::node::{ChassisId, EncapIps, IfAddrs};
use crate::protocol::AnnotationError;

/// Why the node's annotations could not be computed or written.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// An annotation the host side writes is malformed.
    #[error(transparent)]
    Annotation(#[from] AnnotationError),
    /// The host side has not written `primary-dpu-host-addr` yet.
    #[error("node {0} has no k8s.ovn.org/primary-dpu-host-addr yet (written by ovnkube-node in dpu-host mode)")]
    NoHostAddr(String),
    /// The API server refused.
    #[error("patching node {node}: {source}")]
    Api {
        /// Node name.
        node: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
}

/// The annotations this DPU owns on `node`.
///
/// # Errors
/// [`NodeError`] when the host's own annotations are missing or broken.
pub fn desired(
    node: &Node,
    config: &Config,
    host_pf_mac: Option<MacAddr>,
) -> Result<BTreeMap<String, String>, NodeError> {
    let ann = node.annotations();
    let name = node.name_any();
    let chassis = match ann.get(keys::NODE_CHASSIS_ID) {
        Some(existing) => ChassisId::parse(existing)?.as_str().to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let host_addr = ann
        .get(keys::PRIMARY_DPU_HOST_ADDR)
        .map(|t| IfAddrs::parse_primary_dpu_host_addr(t))
        .transpose()?
        .ok_or_else(|| NodeError::NoHostAddr(name.clone()))?;
    let mut out = BTreeMap::new();
    out.insert(keys::NODE_CHASSIS_ID.to_string(), chassis);
    out.insert(
        keys::NODE_ENCAP_IPS.to_string(),
        EncapIps(vec![config.encap.ip]).to_json()?,
    );
    out.insert(
        keys::NODE_PRIMARY_IFADDR.to_string(),
        host_addr.to_json(keys::NODE_PRIMARY_IFADDR)?,
    );
    // OVN-K's parser requires the gateway MAC: without it, write no
    // l3-gateway-config rather than an invalid one.
    if let Some(mac) = host_pf_mac {
        let gw = gateway_config(config, &name, mac, &host_addr);
        out.insert(
            keys::L3_GATEWAY_CONFIG.to_string(),
            L3GatewayConfigs::for_default(gw).to_json()?,
        );
    }
    Ok(out)
}

fn gateway_config(
    config: &Config,
    node: &str,
    mac: MacAddr,
    host_addr: &IfAddrs,
) -> L3GatewayConfig {
    let bridge = config
        .gateway
        .interface
        .clone()
        .unwrap_or_else(|| "brp0".to_string());
    L3GatewayConfig {
        mode: GatewayMode::Shared,
        interface_id: format!("{bridge}_{node}"),
        bridge_id: bridge,
        mac_address: Some(mac),
        ip_addresses: host_addr
            .ipv4
            .iter()
            .chain(host_addr.ipv6.iter())
            .copied()
            .collect(),
        next_hops: config.gateway.nexthop.into_iter().collect(),
        node_port_enable: true,
        vlan_id: config.gateway.vlan_id,
        ..L3GatewayConfig::disabled()
    }
}

/// Writes the annotations of [`desired`] that differ from `node`'s.
/// Returns how many keys were patched.
///
/// # Errors
/// [`NodeError`] from computing or patching.
pub async fn publish(
    client: &Client,
    node: &Node,
    config: &Config,
    host_pf_mac: Option<MacAddr>,
) -> Result<usize, NodeError> {
    let want = desired(node, config, host_pf_mac)?;
    let have = node.annotations();
    let changed: BTreeMap<&String, &String> = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .collect();
    if changed.is_empty() {
        return Ok(0);
    }
    let name = node.name_any();
    let patch = serde_json::json!({ "metadata": { "annotations": changed } });
    let api: Api<Node> = Api::all(client.clone());
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| NodeError::Api { node: name, source })?;
    Ok(changed.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, ConfigArgs, Environment, LoadContext};

    const CA: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lVSTAwPQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";

    fn config() -> Config {
        let vars = [
            ("DPUFLOW_HOST_K8S_APISERVER", "https://127.0.0.1:6443"),
            ("DPUFLOW_HOST_K8S_TOKEN", "abc.def"),
            ("DPUFLOW_CLUSTER_SUBNETS", "10.244.0.0/16/24"),
            ("DPUFLOW_SERVICE_CLUSTER_IP_RANGE", "10.96.0.0/16"),
            ("DPUFLOW_HOST_K8S_NODENAME", "dpu-host"),
            ("DPUFLOW_ENCAP_IP", "198.51.100.10"),
            ("DPUFLOW_GATEWAY_NEXTHOP", "203.0.113.1"),
        ];
        let ctx = LoadContext {
            env: Environment::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))),
            system_hostname: Some("dpu".into()),
        };
        let args = ConfigArgs {
            host_k8s_cacert_data: Some(CA.to_string()),
            ..ConfigArgs::default()
        };
        load(&args, &ctx).unwrap_or_else(|e| panic!("{e}"))
    }

    fn node(annotations: serde_json::Value) -> Node {
        serde_json::from_value(
            serde_json::json!({"metadata": {"name": "dpu-host", "annotations": annotations}}),
        )
        .expect("node")
    }

    #[test]
    fn chassis_id_is_kept_and_gateway_needs_the_mac() {
        let n = node(serde_json::json!({
            "k8s.ovn.org/primary-dpu-host-addr": r#"{"ipv4":"203.0.113.10/24"}"#,
            "k8s.ovn.org/node-chassis-id": "6a5b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b",
        }));
        let cfg = config();
        let without = desired(&n, &cfg, None).expect("desired");
        assert_eq!(
            without.get(keys::NODE_CHASSIS_ID).map(String::as_str),
            Some("6a5b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b")
        );
        assert!(
            !without.contains_key(keys::L3_GATEWAY_CONFIG),
            "no MAC, no gateway config"
        );
        let with = desired(&n, &cfg, Some(MacAddr([2, 0, 0, 0, 0, 1]))).expect("desired");
        let gw = with.get(keys::L3_GATEWAY_CONFIG).expect("gateway config");
        assert!(gw.contains("\"mac-address\":\"02:00:00:00:00:01\""), "{gw}");
        assert!(gw.contains("\"interface-id\":\"brp0_dpu-host\""), "{gw}");
    }

    #[test]
    fn missing_host_address_is_a_clear_error() {
        let err = desired(&node(serde_json::json!({})), &config(), None).expect_err("no host addr");
        assert!(
            matches!(err, NodeError::NoHostAddr(ref n) if n == "dpu-host"),
            "{err}"
        );
    }
}
