//! Translation of the host cluster's state into the datapath's tables.
//!
//! [`translate`] is a pure function: a [`Snapshot`] of Kubernetes objects
//! plus the [`TranslateContext`] this DPU knows (its host node, the pod
//! bindings made by the DPU handshake, gateway settings) give a
//! [`Tables`] value. The agent keeps the tables with a [`Translator`], which
//! recomputes only what each batch of watch events can touch and returns
//! the updates for the datapath; it always agrees with [`translate`].
//!
//! Malformed objects never abort a translation: each problem becomes a
//! [`TranslateError`] in [`Translation::errors`], the offending object (or
//! part of it) is left out, and everything else is translated. Where
//! leaving something out could widen access (a bad NetworkPolicy peer or
//! port), the rule is narrowed instead: policy errors fail closed.

mod annotations;
mod convert;
mod error;
mod incremental;
mod nodes;
mod pods;
mod policy;
mod selector;
mod services;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;

use dpuflow_net::MacAddr;
use dpuflow_tables::{EndpointId, PortRef, Tables};
use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;

pub use error::TranslateError;
pub use incremental::{Changes, Reads, Translator, Work};
pub use pods::view_fingerprint as pod_fingerprint;
pub use services::owner as slice_owner;

/// The host cluster objects translation reads. Order does not matter. The
/// objects are shared with the reflector stores (`Arc`), never copied.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// All nodes (this host node and the remote ones).
    pub nodes: Vec<Arc<Node>>,
    /// All pods of all nodes (policy peers are resolved cluster-wide).
    pub pods: Vec<Arc<Pod>>,
    /// All namespaces (for namespace selectors).
    pub namespaces: Vec<Arc<Namespace>>,
    /// All services.
    pub services: Vec<Arc<Service>>,
    /// All endpoint slices (`discovery.k8s.io/v1`; the watcher converts
    /// older versions).
    pub endpoint_slices: Vec<Arc<EndpointSlice>>,
    /// All network policies.
    pub network_policies: Vec<Arc<NetworkPolicy>>,
}

/// What this DPU knows beyond the cluster objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TranslateContext {
    /// The host node this DPU serves (`host-k8s-nodename`).
    pub node_name: String,
    /// Cluster pod CIDRs.
    pub cluster_cidrs: Vec<IpNet>,
    /// Service CIDRs.
    pub service_cidrs: Vec<IpNet>,
    /// The host's node IPs (node ports, egress SNAT).
    pub node_ips: Vec<IpAddr>,
    /// Pod interfaces wired by the DPU handshake. Pods without a binding are
    /// not datapath pods of this node.
    pub bindings: Vec<PodBinding>,
    /// Gateway settings.
    pub gateway: GatewaySettings,
}

/// One pod interface wired by the DPU handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodBinding {
    /// The pod's `metadata.uid`.
    pub pod_uid: String,
    /// Network name: `default` or `<namespace>/<nad>`.
    pub network: String,
    /// The VF representor.
    pub port: PortRef,
    /// Allocated addresses (as written to `k8s.ovn.org/pod-networks`).
    pub ips: Vec<IpNet>,
    /// Allocated MAC.
    pub mac: MacAddr,
    /// Datapath id, stable for the binding's life.
    pub endpoint: EndpointId,
}

/// Shared-gateway settings of this DPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySettings {
    /// `ovn-gw-nexthop`: default next hops.
    pub next_hops: Vec<IpAddr>,
    /// `ovn-gw-vlanid`.
    pub vlan: Option<u16>,
    /// `ovn-gw-router-subnet`.
    pub router_subnet: Option<IpNet>,
    /// The host PF's MAC.
    pub host_pf_mac: Option<MacAddr>,
    /// `ovn-encap-ip`: this DPU's tunnel source.
    pub encap_ip: Option<IpAddr>,
    /// The management port representor.
    pub management_port: Option<PortRef>,
    /// Masquerade subnets.
    pub masquerade_subnets: Vec<IpNet>,
    /// Join subnets.
    pub join_subnets: Vec<IpNet>,
    /// Hairpin SNAT addresses, one per family.
    pub hairpin_snat: Vec<IpAddr>,
}

impl Default for GatewaySettings {
    /// Upstream OVN-Kubernetes defaults for the fixed subnets; no next hop,
    /// VLAN, MAC or encap IP.
    fn default() -> Self {
        let net = |s: &str| s.parse::<IpNet>().ok();
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        Self {
            next_hops: Vec::new(),
            vlan: None,
            router_subnet: None,
            host_pf_mac: None,
            encap_ip: None,
            management_port: None,
            masquerade_subnets: ["169.254.0.0/17", "fd69::/112"]
                .into_iter()
                .filter_map(net)
                .collect(),
            join_subnets: ["100.64.0.0/16", "fd98::/64"]
                .into_iter()
                .filter_map(net)
                .collect(),
            hairpin_snat: ["169.254.0.5", "fd69::5"]
                .into_iter()
                .filter_map(ip)
                .collect(),
        }
    }
}

/// The result of a translation.
#[derive(Debug, Default)]
pub struct Translation {
    /// The desired datapath state.
    pub tables: Tables,
    /// Per-object problems (their objects, or parts, are left out).
    pub errors: Vec<TranslateError>,
}

/// Translates `snapshot` for the node described by `ctx`.
pub fn translate(snapshot: &Snapshot, ctx: &TranslateContext) -> Translation {
    let mut errors = Vec::new();
    let index = pods::PodIndex::build(snapshot, ctx);
    let tables = Tables {
        pods: pods::local_pods(snapshot, ctx),
        remote_nodes: nodes::remote_nodes(snapshot, ctx, &mut errors),
        gateway: nodes::gateway(snapshot, ctx, &mut errors),
        services: services::services(snapshot, ctx, &mut errors),
        policies: policy::policies(snapshot, &index, &mut errors),
    };
    Translation { tables, errors }
}
