//! The table of settings: canonical names (= TOML keys = flag names without
//! `--`), their shape, defaults and accepted file aliases. Environment
//! variable names are derived: `DPUFLOW_` + the name upper-cased with `-`
//! turned into `_`.

/// What kind of value a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One value.
    Scalar,
    /// Several values: comma-separated text or a TOML array.
    List,
    /// `NAME=VALUE` pairs: `;`-separated text, repeated flags or a TOML table.
    Map,
}

/// One setting.
#[derive(Debug)]
pub(crate) struct Setting {
    /// Canonical (kebab-case) name.
    pub name: &'static str,
    /// Value shape.
    pub shape: Shape,
    /// Default as text, parsed like any other source.
    pub default: Option<&'static str>,
    /// Other names accepted in the config file (OVS `external_ids` names
    /// from the upstream deployment guide, upstream flag names).
    pub aliases: &'static [&'static str],
    /// Never echoed in errors or summaries.
    pub secret: bool,
}

pub(crate) const APISERVER: &str = "host-k8s-apiserver";
pub(crate) const TOKEN: &str = "host-k8s-token";
pub(crate) const TOKEN_FILE: &str = "host-k8s-token-file";
pub(crate) const CACERT_DATA: &str = "host-k8s-cacert-data";
pub(crate) const CACERT: &str = "host-k8s-cacert";
pub(crate) const KUBECONFIG: &str = "host-k8s-kubeconfig";
pub(crate) const CLUSTER_SUBNETS: &str = "cluster-subnets";
pub(crate) const SERVICE_CIDRS: &str = "service-cluster-ip-range";
pub(crate) const MTU: &str = "mtu";
pub(crate) const JOIN_V4: &str = "gateway-v4-join-subnet";
pub(crate) const JOIN_V6: &str = "gateway-v6-join-subnet";
pub(crate) const MASQ_V4: &str = "gateway-v4-masquerade-subnet";
pub(crate) const MASQ_V6: &str = "gateway-v6-masquerade-subnet";
pub(crate) const NODENAME: &str = "host-k8s-nodename";
pub(crate) const HOSTNAME: &str = "hostname";
pub(crate) const ENCAP_IP: &str = "encap-ip";
pub(crate) const ENCAP_TYPE: &str = "encap-type";
pub(crate) const GW_INTERFACE: &str = "gateway-interface";
pub(crate) const GW_NEXTHOP: &str = "gateway-nexthop";
pub(crate) const GW_ROUTER_SUBNET: &str = "gateway-router-subnet";
pub(crate) const GW_VLANID: &str = "gateway-vlanid";
pub(crate) const HW_OFFLOAD: &str = "hw-offload";
pub(crate) const UPLINK_PORT: &str = "uplink-port";
pub(crate) const HOST_PF_PORT: &str = "host-pf-port";
pub(crate) const VF_REPRESENTORS: &str = "vf-representors";
pub(crate) const EAL_LCORES: &str = "eal-lcores";
pub(crate) const EAL_HUGEPAGES: &str = "eal-hugepages";
pub(crate) const EAL_MEMORY_MB: &str = "eal-memory-mb";
pub(crate) const METRICS_LISTEN: &str = "metrics-listen";
/// The config file itself (flag and environment only).
pub(crate) const CONFIG_FILE: &str = "config";

/// Default pod MTU (upstream's default and the helm chart's).
pub const DEFAULT_MTU: u16 = 1400;
/// Default metrics/health listen address: port 9476, the metrics port of
/// upstream's DPU chart (`ovnkube-single-node-zone-dpu` `metricsPort`).
pub const DEFAULT_METRICS_LISTEN: &str = "0.0.0.0:9476";

const fn setting(name: &'static str) -> Setting {
    Setting {
        name,
        shape: Shape::Scalar,
        default: None,
        aliases: &[],
        secret: false,
    }
}

const fn with_default(name: &'static str, default: &'static str) -> Setting {
    Setting {
        default: Some(default),
        ..setting(name)
    }
}

const fn with_aliases(name: &'static str, aliases: &'static [&'static str]) -> Setting {
    Setting {
        aliases,
        ..setting(name)
    }
}

/// Every setting, in summary order.
pub(crate) const SETTINGS: &[Setting] = &[
    setting(APISERVER),
    Setting {
        secret: true,
        ..setting(TOKEN)
    },
    setting(TOKEN_FILE),
    setting(CACERT_DATA),
    setting(CACERT),
    setting(KUBECONFIG),
    setting(NODENAME),
    setting(HOSTNAME),
    Setting {
        shape: Shape::List,
        aliases: &["network-cidr"],
        ..setting(CLUSTER_SUBNETS)
    },
    Setting {
        shape: Shape::List,
        aliases: &["service-cidr", "k8s-service-cidrs"],
        ..setting(SERVICE_CIDRS)
    },
    with_default(MTU, "1400"),
    with_default(JOIN_V4, "100.64.0.0/16"),
    with_default(JOIN_V6, "fd98::/64"),
    with_default(MASQ_V4, "169.254.169.0/29"),
    with_default(MASQ_V6, "fd69::/125"),
    with_aliases(ENCAP_IP, &["ovn-encap-ip"]),
    Setting {
        default: Some("geneve"),
        aliases: &["ovn-encap-type"],
        ..setting(ENCAP_TYPE)
    },
    with_aliases(GW_INTERFACE, &["ovn-gw-interface"]),
    with_aliases(GW_NEXTHOP, &["ovn-gw-nexthop"]),
    with_aliases(GW_ROUTER_SUBNET, &["ovn-gw-router-subnet"]),
    with_aliases(GW_VLANID, &["ovn-gw-vlanid"]),
    with_default(HW_OFFLOAD, "false"),
    setting(UPLINK_PORT),
    setting(HOST_PF_PORT),
    Setting {
        shape: Shape::Map,
        ..setting(VF_REPRESENTORS)
    },
    with_default(EAL_LCORES, "0-1"),
    with_default(EAL_HUGEPAGES, "auto"),
    with_default(EAL_MEMORY_MB, "512"),
    Setting {
        default: Some(DEFAULT_METRICS_LISTEN),
        aliases: &["metrics-bind-address"],
        ..setting(METRICS_LISTEN)
    },
];

/// The setting named `name` (canonical name only).
pub(crate) fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// The setting a config-file key means: its canonical name or an alias.
pub(crate) fn find_file_key(key: &str) -> Option<&'static Setting> {
    SETTINGS
        .iter()
        .find(|s| s.name == key || s.aliases.contains(&key))
}

/// Whether setting `name` is secret.
pub(crate) fn is_secret(name: &str) -> bool {
    find(name).is_some_and(|s| s.secret)
}

/// The environment variable for setting `name`.
pub(crate) fn env_var(name: &str) -> String {
    format!("DPUFLOW_{}", name.to_ascii_uppercase().replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for s in SETTINGS {
            for n in std::iter::once(&s.name).chain(s.aliases) {
                assert!(seen.insert(*n), "{n} twice");
                assert!(
                    n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "{n}"
                );
            }
        }
    }

    #[test]
    fn env_names() {
        assert_eq!(env_var(APISERVER), "DPUFLOW_HOST_K8S_APISERVER");
        assert_eq!(env_var(GW_VLANID), "DPUFLOW_GATEWAY_VLANID");
        assert_eq!(
            find_file_key("ovn-encap-ip").map(|s| s.name),
            Some(ENCAP_IP)
        );
        assert!(is_secret(TOKEN) && !is_secret(CACERT_DATA));
    }
}
