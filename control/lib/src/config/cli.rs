//! Command-line flags for every setting (`dpuflow check-config`, and any
//! subcommand that flattens [`ConfigArgs`]).

use std::path::PathBuf;

use super::keys;
use super::layers::{Layer, Origin, RawValue};
use super::secret::Token;

/// Configuration flags. Each also reads `DPUFLOW_<NAME>` from the
/// environment and `<name>` from the config file; flags win over the
/// environment, which wins over the file, which wins over the defaults.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ConfigArgs {
    /// TOML config file (env DPUFLOW_CONFIG).
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Host cluster API server, `https://HOST:PORT` (upstream chart:
    /// dpuHostClusterK8sAPIServer).
    #[arg(long = "host-k8s-apiserver", value_name = "URL")]
    pub host_k8s_apiserver: Option<String>,
    /// Host cluster service-account token, base64-DECODED (dpuHostClusterK8sToken).
    #[arg(long = "host-k8s-token", value_name = "TOKEN")]
    pub host_k8s_token: Option<Token>,
    /// File holding the token; re-read periodically (dpuHostClusterK8sTokenFile).
    #[arg(long = "host-k8s-token-file", value_name = "FILE")]
    pub host_k8s_token_file: Option<String>,
    /// Host cluster CA, the base64-ENCODED ca.crt as found in the Secret
    /// (dpuHostClusterK8sCACertData).
    #[arg(long = "host-k8s-cacert-data", value_name = "BASE64")]
    pub host_k8s_cacert_data: Option<String>,
    /// Host cluster CA as a PEM file (dpuHostClusterK8sCACert).
    #[arg(long = "host-k8s-cacert", value_name = "FILE")]
    pub host_k8s_cacert: Option<String>,
    /// Kubeconfig for the host cluster, instead of URL + token + CA.
    #[arg(long = "host-k8s-kubeconfig", value_name = "FILE")]
    pub host_k8s_kubeconfig: Option<String>,
    /// Name of the host node this DPU serves (external_ids:host-k8s-nodename).
    #[arg(long = "host-k8s-nodename", value_name = "NODE")]
    pub host_k8s_nodename: Option<String>,
    /// OVN chassis hostname of the DPU (external_ids:hostname); default: the
    /// kernel hostname.
    #[arg(long = "hostname", value_name = "NAME")]
    pub hostname: Option<String>,

    /// Cluster network CIDR(s) `CIDR[/HOST-PREFIX]`, comma-separated, e.g.
    /// 10.244.0.0/16/24,fd00:10:244::/48/64 (dpuHostClusterNetworkCIDR).
    #[arg(
        long = "cluster-subnets",
        visible_alias = "network-cidr",
        value_name = "CIDRS"
    )]
    pub cluster_subnets: Option<String>,
    /// Service CIDR(s), comma-separated: one, or an IPv4/IPv6 pair
    /// (dpuHostClusterServiceCIDR).
    #[arg(
        long = "service-cluster-ip-range",
        visible_alias = "service-cidr",
        value_name = "CIDRS"
    )]
    pub service_cluster_ip_range: Option<String>,
    /// Pod MTU [default: 1400].
    #[arg(long = "mtu", value_name = "BYTES")]
    pub mtu: Option<String>,
    /// IPv4 join subnet [default: 100.64.0.0/16].
    #[arg(long = "gateway-v4-join-subnet", value_name = "CIDR")]
    pub gateway_v4_join_subnet: Option<String>,
    /// IPv6 join subnet [default: fd98::/64].
    #[arg(long = "gateway-v6-join-subnet", value_name = "CIDR")]
    pub gateway_v6_join_subnet: Option<String>,
    /// IPv4 masquerade subnet; the pod hairpin route is its .5
    /// [default: 169.254.169.0/29].
    #[arg(long = "gateway-v4-masquerade-subnet", value_name = "CIDR")]
    pub gateway_v4_masquerade_subnet: Option<String>,
    /// IPv6 masquerade subnet [default: fd69::/125].
    #[arg(long = "gateway-v6-masquerade-subnet", value_name = "CIDR")]
    pub gateway_v6_masquerade_subnet: Option<String>,

    /// Tunnel endpoint IP of this DPU (external_ids:ovn-encap-ip).
    #[arg(long = "encap-ip", value_name = "IP")]
    pub encap_ip: Option<String>,
    /// Encapsulation; only `geneve` [default: geneve].
    #[arg(long = "encap-type", value_name = "TYPE")]
    pub encap_type: Option<String>,
    /// Gateway interface (external_ids:ovn-gw-interface), e.g. brp0.
    #[arg(long = "gateway-interface", value_name = "IFACE")]
    pub gateway_interface: Option<String>,
    /// Default gateway of the host network (external_ids:ovn-gw-nexthop).
    #[arg(long = "gateway-nexthop", value_name = "IP")]
    pub gateway_nexthop: Option<String>,
    /// Gateway router subnet when the DPU and the host are on different
    /// subnets (external_ids:ovn-gw-router-subnet).
    #[arg(long = "gateway-router-subnet", value_name = "CIDR")]
    pub gateway_router_subnet: Option<String>,
    /// VLAN of the gateway network, 1-4094 (external_ids:ovn-gw-vlanid).
    #[arg(long = "gateway-vlanid", value_name = "VLAN")]
    pub gateway_vlanid: Option<String>,
    /// Hardware offload: true/false (other_config:hw-offload) [default: false].
    #[arg(long = "hw-offload", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub hw_offload: Option<String>,

    /// DPDK port (name or devargs) of the uplink `p0`; default: found by
    /// its kernel netdev name.
    #[arg(long = "uplink-port", value_name = "DEVARGS")]
    pub uplink_port: Option<String>,
    /// DPDK port (name or devargs) of the host PF representor `pf0hpf`.
    #[arg(long = "host-pf-port", value_name = "DEVARGS")]
    pub host_pf_port: Option<String>,
    /// VF representor binding `pf<N>vf<M>=DEVARGS`, repeatable (env:
    /// `;`-separated), for machines without representor netdevs.
    #[arg(long = "vf-representor", value_name = "NAME=DEVARGS")]
    pub vf_representors: Vec<String>,
    /// EAL lcore list [default: 0-1].
    #[arg(long = "eal-lcores", value_name = "LIST")]
    pub eal_lcores: Option<String>,
    /// Hugepages: auto, yes or no [default: auto].
    #[arg(long = "eal-hugepages", value_name = "MODE")]
    pub eal_hugepages: Option<String>,
    /// EAL memory without hugepages, MB [default: 512].
    #[arg(long = "eal-memory-mb", value_name = "MB")]
    pub eal_memory_mb: Option<String>,
    /// Metrics and health listen address [default: 0.0.0.0:9476].
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,
}

impl ConfigArgs {
    /// The flags that were given, as a layer.
    pub(crate) fn layer(&self) -> Layer {
        let mut layer = Layer::default();
        let mut text = |name: &'static str, value: Option<&str>| {
            if let Some(v) = value {
                layer.put(
                    name,
                    RawValue::Text(v.to_string()),
                    Origin::Flag(format!("--{name}")),
                );
            }
        };
        text(keys::APISERVER, self.host_k8s_apiserver.as_deref());
        text(keys::TOKEN, self.host_k8s_token.as_ref().map(Token::expose));
        text(keys::TOKEN_FILE, self.host_k8s_token_file.as_deref());
        text(keys::CACERT_DATA, self.host_k8s_cacert_data.as_deref());
        text(keys::CACERT, self.host_k8s_cacert.as_deref());
        text(keys::KUBECONFIG, self.host_k8s_kubeconfig.as_deref());
        text(keys::NODENAME, self.host_k8s_nodename.as_deref());
        text(keys::HOSTNAME, self.hostname.as_deref());
        text(keys::CLUSTER_SUBNETS, self.cluster_subnets.as_deref());
        text(
            keys::SERVICE_CIDRS,
            self.service_cluster_ip_range.as_deref(),
        );
        text(keys::MTU, self.mtu.as_deref());
        text(keys::JOIN_V4, self.gateway_v4_join_subnet.as_deref());
        text(keys::JOIN_V6, self.gateway_v6_join_subnet.as_deref());
        text(keys::MASQ_V4, self.gateway_v4_masquerade_subnet.as_deref());
        text(keys::MASQ_V6, self.gateway_v6_masquerade_subnet.as_deref());
        text(keys::ENCAP_IP, self.encap_ip.as_deref());
        text(keys::ENCAP_TYPE, self.encap_type.as_deref());
        text(keys::GW_INTERFACE, self.gateway_interface.as_deref());
        text(keys::GW_NEXTHOP, self.gateway_nexthop.as_deref());
        text(
            keys::GW_ROUTER_SUBNET,
            self.gateway_router_subnet.as_deref(),
        );
        text(keys::GW_VLANID, self.gateway_vlanid.as_deref());
        text(keys::HW_OFFLOAD, self.hw_offload.as_deref());
        text(keys::UPLINK_PORT, self.uplink_port.as_deref());
        text(keys::HOST_PF_PORT, self.host_pf_port.as_deref());
        text(keys::EAL_LCORES, self.eal_lcores.as_deref());
        text(keys::EAL_HUGEPAGES, self.eal_hugepages.as_deref());
        text(keys::EAL_MEMORY_MB, self.eal_memory_mb.as_deref());
        text(keys::METRICS_LISTEN, self.metrics_listen.as_deref());
        if !self.vf_representors.is_empty() {
            layer.put(
                keys::VF_REPRESENTORS,
                RawValue::List(self.vf_representors.clone()),
                Origin::Flag("--vf-representor".into()),
            );
        }
        layer
    }
}
