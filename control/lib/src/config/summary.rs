//! The effective configuration as text, with the token redacted.

use std::fmt::Write as _;

use super::host_cluster::{CaCert, Credential, HostK8sAccess};
use super::keys::{self, SETTINGS};
use super::Config;

impl Config {
    /// One line per setting: name, effective value and where it came from.
    /// The token shows as `<redacted>`; CA data as its certificate count
    /// and SHA-256 fingerprint.
    pub fn redacted_summary(&self) -> String {
        let mut out = String::new();
        if let Some(path) = &self.config_file {
            let _ = writeln!(out, "# config file: {}", path.display());
        }
        let width = SETTINGS.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for setting in SETTINGS {
            let origin = match self.origins.get(setting.name) {
                Some(o) => format!("  ({o})"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "{:width$} = {}{origin}",
                setting.name,
                self.shown(setting.name)
            );
        }
        out
    }

    /// The effective value of setting `name` as shown in the summary.
    fn shown(&self, name: &str) -> String {
        let n = &self.network;
        let g = &self.gateway;
        let d = &self.datapath;
        let opt = |v: Option<String>| v.unwrap_or_else(|| "(unset)".into());
        match name {
            keys::NODENAME => self.node.host_k8s_nodename.clone(),
            keys::HOSTNAME => self.node.hostname.clone(),
            keys::CLUSTER_SUBNETS => join(n.cluster_subnets.iter()),
            keys::SERVICE_CIDRS => join(n.service_cidrs.iter()),
            keys::MTU => n.mtu.to_string(),
            keys::JOIN_V4 => n.join_subnet_v4.to_string(),
            keys::JOIN_V6 => n.join_subnet_v6.to_string(),
            keys::MASQ_V4 => n.masquerade_subnet_v4.to_string(),
            keys::MASQ_V6 => n.masquerade_subnet_v6.to_string(),
            keys::ENCAP_IP => self.encap.ip.to_string(),
            keys::ENCAP_TYPE => self.encap.kind.to_string(),
            keys::GW_INTERFACE => opt(g.interface.clone()),
            keys::GW_NEXTHOP => opt(g.nexthop.map(|h| h.to_string())),
            keys::GW_ROUTER_SUBNET => opt(g.router_subnet.map(|s| s.to_string())),
            keys::GW_VLANID => opt(g.vlan_id.map(|v| v.to_string())),
            keys::HW_OFFLOAD => d.hw_offload.to_string(),
            keys::UPLINK_PORT => d
                .uplink_port
                .clone()
                .unwrap_or_else(|| "(unset: netdev p0)".into()),
            keys::HOST_PF_PORT => d
                .host_pf_port
                .clone()
                .unwrap_or_else(|| "(unset: netdev pf0hpf)".into()),
            keys::VF_REPRESENTORS if d.vf_representors.is_empty() => {
                "(none: found by netdev)".into()
            }
            keys::VF_REPRESENTORS => d
                .vf_representors
                .iter()
                .map(|(r, dev)| format!("{r}={dev}"))
                .collect::<Vec<_>>()
                .join("; "),
            keys::EAL_LCORES => d.eal_lcores.clone(),
            keys::EAL_HUGEPAGES => d.hugepages.to_string(),
            keys::EAL_MEMORY_MB => d.eal_memory_mb.to_string(),
            keys::METRICS_LISTEN => self.metrics_listen.to_string(),
            other => self.shown_access(other),
        }
    }

    fn shown_access(&self, name: &str) -> String {
        let unset = || "(unset)".to_string();
        match (&self.host_k8s, name) {
            (HostK8sAccess::Kubeconfig(p), keys::KUBECONFIG) => p.display().to_string(),
            (HostK8sAccess::Direct { apiserver, .. }, keys::APISERVER) => apiserver.to_string(),
            (
                HostK8sAccess::Direct {
                    credential: Credential::Token(t),
                    ..
                },
                keys::TOKEN,
            ) => t.to_string(),
            (
                HostK8sAccess::Direct {
                    credential: Credential::TokenFile(p),
                    ..
                },
                keys::TOKEN_FILE,
            ) => p.display().to_string(),
            (
                HostK8sAccess::Direct {
                    ca: CaCert::Data(b),
                    ..
                },
                keys::CACERT_DATA,
            ) => {
                format!(
                    "<{} certificate(s), sha256 {}>",
                    b.der.len(),
                    b.fingerprint()
                )
            }
            (
                HostK8sAccess::Direct {
                    ca: CaCert::File(p),
                    ..
                },
                keys::CACERT,
            ) => p.display().to_string(),
            _ => unset(),
        }
    }
}

fn join<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}
