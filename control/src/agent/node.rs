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
    let bridge = config
        .gateway
        .interface
        .clone()
        .unwrap_or_else(|| "brp0".to_string());
    let gw = L3GatewayConfig {
        mode: GatewayMode::Shared,
        interface_id: format!("{bridge}_{name}"),
        bridge_id: bridge,
        mac_address: host_pf_mac,
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
    };
    out.insert(
        keys::L3_GATEWAY_CONFIG.to_string(),
        L3GatewayConfigs::for_default(gw).to_json()?,
    );
    Ok(out)
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
