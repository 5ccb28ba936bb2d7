//! dpuflow's configuration: the settings a user of upstream OVN-Kubernetes
//! DPU mode gives today (host-cluster credentials, network CIDRs, MTU, the
//! OVS `external_ids` of the DPU) plus dpuflow's own (DPDK port bindings,
//! EAL, metrics).
//!
//! # Sources and precedence
//!
//! Each setting can come from four places; a later one overrides an earlier
//! one, setting by setting:
//!
//! 1. built-in defaults (the hostname defaults to the kernel's);
//! 2. the TOML config file (`--config FILE` or `DPUFLOW_CONFIG`);
//! 3. environment variables `DPUFLOW_<NAME>`;
//! 4. command-line flags `--<name>`.
//!
//! So: **defaults < config file < environment < flags**. An empty value
//! (`""`) counts as not given, in every source, so a templated manifest
//! that renders unset values as empty strings does not override anything.
//!
//! # Names
//!
//! The canonical name of a setting is its flag name without `--`, e.g.
//! `host-k8s-apiserver`. The config file is a flat TOML table whose keys
//! are these kebab-case names (snake_case is refused with a hint). The file
//! also accepts the OVS `external_ids` names of the upstream deployment
//! guide (`ovn-encap-ip`, `ovn-encap-type`, `ovn-gw-interface`,
//! `ovn-gw-nexthop`, `ovn-gw-router-subnet`, `ovn-gw-vlanid`) and
//! `network-cidr`, `service-cidr`, `k8s-service-cidrs`,
//! `metrics-bind-address`. Environment names are `DPUFLOW_` + the
//! canonical name upper-cased with `-` → `_` (`DPUFLOW_HOST_K8S_APISERVER`).
//!
//! Lists (`cluster-subnets`, `service-cluster-ip-range`) are
//! comma-separated text or TOML arrays. `vf-representors` is a TOML table
//! `pf0vf3 = "DEVARGS"`, repeated `--vf-representor pf0vf3=DEVARGS` flags,
//! or `DPUFLOW_VF_REPRESENTORS="pf0vf3=DEVARGS;pf0vf4=DEVARGS"` (`;`,
//! since devargs contain commas).
//!
//! # Validation
//!
//! [`load`] checks everything and returns every problem at once
//! ([`ConfigErrors`]); each names the setting, where its value came from
//! and the value, e.g. `cluster-subnets (flag --cluster-subnets):
//! "10.244.0.0/16/33": host prefix 33 is longer than 32`. The token is
//! never printed ([`Token`]); [`Config::redacted_summary`] shows the
//! effective configuration safely.

mod build;
mod check;
mod cidr;
mod cli;
mod credentials;
mod env;
mod error;
mod fields;
mod file;
mod host_cluster;
mod keys;
mod layers;
mod secret;
mod summary;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

// Re-exported API, partly for the controller still being written.
#[allow(unused_imports)]
pub use self::{
    check::{check_config, CheckConfigArgs},
    cidr::ClusterSubnet,
    cli::ConfigArgs,
    env::Environment,
    error::{ConfigError, ConfigErrors},
    host_cluster::{
        direct_kube_config, kube_config, CaBundle, CaCert, Credential, HostK8sAccess,
        KubeConfigError,
    },
    keys::{DEFAULT_METRICS_LISTEN, DEFAULT_MTU},
    layers::Origin,
    secret::Token,
};

use crate::protocol::{PodRouting, VfRepresentor};
use layers::{Layer, RawValue};

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// How to reach the host cluster.
    pub host_k8s: HostK8sAccess,
    /// Which host node this DPU serves, and the chassis name.
    pub node: NodeConfig,
    /// Cluster networking (must match the host cluster's OVN-Kubernetes).
    pub network: NetworkConfig,
    /// Overlay tunnel endpoint.
    pub encap: EncapConfig,
    /// Shared gateway settings.
    pub gateway: GatewayConfig,
    /// DPDK datapath settings.
    pub datapath: DatapathConfig,
    /// Metrics and health listen address.
    pub metrics_listen: SocketAddr,
    /// The config file read, if any.
    pub config_file: Option<PathBuf>,
    /// Where each set value came from, by setting name.
    pub origins: BTreeMap<&'static str, Origin>,
}

/// Node identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// The host node's name in the host cluster (`host-k8s-nodename`).
    pub host_k8s_nodename: String,
    /// The DPU's OVN chassis hostname (`hostname`).
    pub hostname: String,
}

/// Cluster networking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Cluster CIDRs with per-node host prefix (`cluster-subnets`).
    pub cluster_subnets: Vec<ClusterSubnet>,
    /// Service CIDRs: one, or an IPv4/IPv6 pair.
    pub service_cidrs: Vec<IpNet>,
    /// Pod MTU.
    pub mtu: u16,
    /// IPv4 join subnet.
    pub join_subnet_v4: Ipv4Net,
    /// IPv6 join subnet.
    pub join_subnet_v6: Ipv6Net,
    /// IPv4 masquerade subnet.
    pub masquerade_subnet_v4: Ipv4Net,
    /// IPv6 masquerade subnet.
    pub masquerade_subnet_v6: Ipv6Net,
}

impl NetworkConfig {
    /// Whether any cluster or service CIDR is IPv6.
    pub fn has_ipv6(&self) -> bool {
        self.cluster_subnets.iter().any(|c| c.cidr.addr().is_ipv6())
            || self.service_cidrs.iter().any(|s| s.addr().is_ipv6())
    }

    /// The routing inputs for building pods' `pod-networks` entries.
    pub fn pod_routing(&self) -> PodRouting {
        PodRouting {
            join_subnet_v4: self.join_subnet_v4,
            join_subnet_v6: self.join_subnet_v6,
            masquerade_subnet_v4: self.masquerade_subnet_v4,
            masquerade_subnet_v6: self.masquerade_subnet_v6,
            ..PodRouting::new(
                self.cluster_subnets.iter().map(|c| c.cidr).collect(),
                self.service_cidrs.clone(),
            )
        }
    }
}

/// Overlay encapsulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncapConfig {
    /// This DPU's tunnel endpoint address (`encap-ip`).
    pub ip: IpAddr,
    /// Encapsulation (`encap-type`).
    pub kind: EncapType,
}

/// Supported encapsulations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncapType {
    /// Geneve over UDP port 6081.
    Geneve,
}

impl fmt::Display for EncapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("geneve")
    }
}

/// Shared-gateway settings (the DPU's OVS `external_ids:ovn-gw-*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Gateway interface name (`brp0`); becomes `bridge-id` in
    /// `l3-gateway-config`.
    pub interface: Option<String>,
    /// Next hop of the host network.
    pub nexthop: Option<IpAddr>,
    /// Gateway router subnet when the DPU and host subnets differ.
    pub router_subnet: Option<IpNet>,
    /// VLAN of the gateway network (1..=4094).
    pub vlan_id: Option<u16>,
}

/// Hugepage use by the EAL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hugepages {
    /// Use hugepages when some are free.
    Auto,
    /// Require hugepages.
    Yes,
    /// Never (plain memory of `eal_memory_mb`).
    No,
}

impl fmt::Display for Hugepages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hugepages::Auto => "auto",
            Hugepages::Yes => "yes",
            Hugepages::No => "no",
        })
    }
}

/// DPDK datapath settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatapathConfig {
    /// Offload flows to the NIC (`hw-offload`).
    pub hw_offload: bool,
    /// DPDK port name/devargs of the uplink `p0`; `None`: found by netdev.
    pub uplink_port: Option<String>,
    /// DPDK port name/devargs of the host PF representor `pf0hpf`.
    pub host_pf_port: Option<String>,
    /// Explicit VF representor → DPDK port name/devargs bindings.
    pub vf_representors: BTreeMap<VfRepresentor, String>,
    /// EAL lcore list.
    pub eal_lcores: String,
    /// Hugepage use.
    pub hugepages: Hugepages,
    /// EAL memory without hugepages, MB.
    pub eal_memory_mb: u32,
}

/// What loading reads besides the flags: the environment and the kernel
/// hostname (injectable for tests).
#[derive(Clone, Default)]
pub struct LoadContext {
    /// `DPUFLOW_*` variables.
    pub env: Environment,
    /// Default for `hostname`.
    pub system_hostname: Option<String>,
}

impl LoadContext {
    /// This process's environment and the kernel hostname.
    pub fn from_process() -> Self {
        LoadContext {
            env: Environment::from_process(),
            system_hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string()),
        }
    }
}

/// Loads and validates the configuration from defaults, the config file,
/// the environment and the flags (in rising precedence); returns every
/// problem found.
pub fn load(args: &ConfigArgs, ctx: &LoadContext) -> Result<Config, ConfigErrors> {
    let config_file = args.config.clone().or_else(|| {
        ctx.env
            .get(&keys::env_var(keys::CONFIG_FILE))
            .filter(|p| !p.trim().is_empty())
            .map(PathBuf::from)
    });
    let mut errors = Vec::new();
    let file_layer = match &config_file {
        Some(path) => file::load(path).unwrap_or_else(|e| {
            errors.extend(e);
            Layer::default()
        }),
        None => Layer::default(),
    };
    let merged = layers::merge([defaults(ctx), file_layer, ctx.env.layer(), args.layer()]);
    match build::build(&merged, config_file) {
        Ok(config) if errors.is_empty() => Ok(config),
        Ok(_) => Err(ConfigErrors(errors)),
        Err(e) => {
            errors.extend(e);
            Err(ConfigErrors(errors))
        }
    }
}

fn defaults(ctx: &LoadContext) -> Layer {
    let mut layer = Layer::default();
    for setting in keys::SETTINGS {
        if let Some(value) = setting.default {
            layer.put(
                setting.name,
                RawValue::Text(value.to_string()),
                Origin::Default,
            );
        }
    }
    if let Some(hostname) = &ctx.system_hostname {
        layer.put(
            keys::HOSTNAME,
            RawValue::Text(hostname.clone()),
            Origin::System,
        );
    }
    layer
}

#[cfg(test)]
mod tests;
