//! Turning merged raw settings into a [`Config`], checking every value and
//! the rules between values, and collecting all problems.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::cidr::{parse_network, parse_prefix, ClusterSubnet};
use super::credentials::host_access;
use super::error::ConfigError;
use super::fields::{Fields, Item};
use super::keys::*;
use super::layers::Layer;
use super::{
    Config, DatapathConfig, EncapConfig, EncapType, GatewayConfig, Hugepages, NetworkConfig,
    NodeConfig,
};
use crate::protocol::VfRepresentor;

/// Builds the configuration from merged settings, or every problem found.
pub(crate) fn build(
    layer: &Layer,
    config_file: Option<PathBuf>,
) -> Result<Config, Vec<ConfigError>> {
    let mut f = Fields::new(layer);
    let host_k8s = host_access(&mut f);
    let node = node(&mut f);
    let network = network(&mut f);
    let encap = encap(&mut f);
    let gateway = gateway(&mut f);
    let datapath = datapath(&mut f);
    let metrics_listen = f.parse(METRICS_LISTEN, |s| {
        s.parse::<SocketAddr>()
            .map_err(|_| "expected ADDRESS:PORT, e.g. 0.0.0.0:9476 or [::]:9476".to_string())
    });
    if let (Some(network), Some(encap)) = (&network, &encap) {
        check_mtu_family(&mut f, network, encap);
    }
    let origins = layer
        .0
        .iter()
        .map(|(k, s)| (*k, s.origin.clone()))
        .collect();
    let errors = std::mem::take(&mut f.errors);
    match (
        host_k8s,
        node,
        network,
        encap,
        gateway,
        datapath,
        metrics_listen,
    ) {
        (
            Some(host_k8s),
            Some(node),
            Some(network),
            Some(encap),
            Some(gateway),
            Some(datapath),
            Some(metrics_listen),
        ) if errors.is_empty() => Ok(Config {
            host_k8s,
            node,
            network,
            encap,
            gateway,
            datapath,
            metrics_listen,
            config_file,
            origins,
        }),
        _ if errors.is_empty() => Err(vec![ConfigError::setting(
            CONFIG_FILE,
            None,
            "incomplete configuration",
        )]),
        _ => Err(errors),
    }
}

fn node(f: &mut Fields<'_>) -> Option<NodeConfig> {
    let host_k8s_nodename = f.required(NODENAME, check_dns1123_subdomain);
    let hostname = f.required(HOSTNAME, |s| {
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err("must not contain whitespace".into())
        } else {
            Ok(s.to_string())
        }
    });
    Some(NodeConfig {
        host_k8s_nodename: host_k8s_nodename?,
        hostname: hostname?,
    })
}

/// Kubernetes node names are DNS-1123 subdomains.
fn check_dns1123_subdomain(s: &str) -> Result<String, String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if s.len() <= 253 && s.split('.').all(label_ok) {
        Ok(s.to_string())
    } else {
        Err(
            "not a valid node name (DNS-1123 subdomain: lower-case letters, digits, '-' and '.', \
             at most 253 characters)"
                .into(),
        )
    }
}

fn required_list<'a, T>(
    f: &mut Fields<'a>,
    key: &'static str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<Vec<(T, Item<'a>)>> {
    if !f.is_set(key) {
        f.errors
            .push(ConfigError::setting(key, None, "is required"));
        return None;
    }
    f.list(key, parse)
}

fn network(f: &mut Fields<'_>) -> Option<NetworkConfig> {
    let cluster = required_list(f, CLUSTER_SUBNETS, |s| s.parse::<ClusterSubnet>());
    let services = required_list(f, SERVICE_CIDRS, parse_network);
    let mtu = f.parse(MTU, |s| match s.parse::<u16>() {
        Ok(m) if (576..=9000).contains(&m) => Ok(m),
        _ => Err("must be a number from 576 to 9000".into()),
    });
    let join_v4 = f.parse(JOIN_V4, parse_v4);
    let join_v6 = f.parse(JOIN_V6, parse_v6);
    let masq_v4 = f.parse(MASQ_V4, |s| {
        parse_v4(s).and_then(|n| room_for_five(n.into()).map(|_| n))
    });
    let masq_v6 = f.parse(MASQ_V6, |s| {
        parse_v6(s).and_then(|n| room_for_five(n.into()).map(|_| n))
    });
    if let Some(cluster) = &cluster {
        check_cluster_subnets(f, cluster);
        if let Some(services) = &services {
            check_services(f, cluster, services);
        }
    }
    check_overlaps(f);
    Some(NetworkConfig {
        cluster_subnets: cluster?.into_iter().map(|(c, _)| c).collect(),
        service_cidrs: services?.into_iter().map(|(s, _)| s).collect(),
        mtu: mtu?,
        join_subnet_v4: join_v4?,
        join_subnet_v6: join_v6?,
        masquerade_subnet_v4: masq_v4?,
        masquerade_subnet_v6: masq_v6?,
    })
}

fn parse_v4(s: &str) -> Result<Ipv4Net, String> {
    match parse_network(s)? {
        IpNet::V4(n) => Ok(n),
        IpNet::V6(_) => Err("must be an IPv4 CIDR".into()),
    }
}

fn parse_v6(s: &str) -> Result<Ipv6Net, String> {
    match parse_network(s)? {
        IpNet::V6(n) => Ok(n),
        IpNet::V4(_) => Err("must be an IPv6 CIDR".into()),
    }
}

/// The masquerade subnet must hold offsets 0..=5 (upstream allocates .1-.5).
fn room_for_five(n: IpNet) -> Result<(), String> {
    if n.max_prefix_len() - n.prefix_len() >= 3 {
        Ok(())
    } else {
        Err(format!(
            "too small: needs at least a /{}",
            n.max_prefix_len() - 3
        ))
    }
}

/// Upstream: all IPv4 entries share one host prefix; we also refuse
/// overlapping entries.
fn check_cluster_subnets(f: &mut Fields<'_>, cluster: &[(ClusterSubnet, Item<'_>)]) {
    let first_v4 = cluster.iter().find(|(c, _)| c.cidr.addr().is_ipv4());
    for (i, (c, (text, origin))) in cluster.iter().enumerate() {
        if let Some((first, _)) =
            first_v4.filter(|(f4, _)| c.cidr.addr().is_ipv4() && f4.host_prefix != c.host_prefix)
        {
            let problem = format!(
                "all IPv4 cluster subnets must have the same host prefix; {} has /{}",
                first.cidr, first.host_prefix
            );
            f.bad(CLUSTER_SUBNETS, origin, text, problem);
        }
        if let Some((other, _)) = cluster[..i]
            .iter()
            .find(|(o, _)| overlaps(&o.cidr, &c.cidr))
        {
            f.bad(CLUSTER_SUBNETS, origin, text, format!("overlaps {other}"));
        }
    }
}

/// Upstream: one service CIDR or an IPv4/IPv6 pair, of the same families
/// as the cluster subnets.
fn check_services(
    f: &mut Fields<'_>,
    cluster: &[(ClusterSubnet, Item<'_>)],
    services: &[(IpNet, Item<'_>)],
) {
    let pair_ok = match services {
        [_] => true,
        [(a, _), (b, _)] => a.addr().is_ipv4() != b.addr().is_ipv4(),
        _ => false,
    };
    if !pair_ok {
        f.problem(SERVICE_CIDRS, "must be a single CIDR or an IPv4/IPv6 pair");
        return;
    }
    let families = |v4: bool, v6: bool| match (v4, v6) {
        (true, true) => "IPv4 and IPv6",
        (true, false) => "IPv4 only",
        _ => "IPv6 only",
    };
    let c4 = cluster.iter().any(|(c, _)| c.cidr.addr().is_ipv4());
    let c6 = cluster.iter().any(|(c, _)| c.cidr.addr().is_ipv6());
    let s4 = services.iter().any(|(s, _)| s.addr().is_ipv4());
    let s6 = services.iter().any(|(s, _)| s.addr().is_ipv6());
    if (c4, c6) != (s4, s6) {
        f.problem(
            SERVICE_CIDRS,
            format!(
                "covers {} but cluster-subnets cover {}; the families must match",
                families(s4, s6),
                families(c4, c6)
            ),
        );
    }
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    let (a, b) = (a.trunc(), b.trunc());
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Cluster, service, join and masquerade subnets must not overlap each
/// other (upstream `CheckForOverlaps`).
fn check_overlaps(f: &mut Fields<'_>) {
    let mut seen: Vec<(&'static str, IpNet)> = Vec::new();
    for key in [
        CLUSTER_SUBNETS,
        SERVICE_CIDRS,
        JOIN_V4,
        JOIN_V6,
        MASQ_V4,
        MASQ_V6,
    ] {
        for (text, origin) in f.items(key) {
            let net = if key == CLUSTER_SUBNETS {
                text.parse::<ClusterSubnet>().map(|c| c.cidr).ok()
            } else {
                parse_network(text).ok()
            };
            let Some(net) = net else { continue };
            if let Some((other_key, other)) =
                seen.iter().find(|(k, n)| *k != key && overlaps(n, &net))
            {
                let problem = format!("overlaps {other_key} {other}");
                f.bad(key, origin, text, problem);
            }
            seen.push((key, net));
        }
    }
}

fn encap(f: &mut Fields<'_>) -> Option<EncapConfig> {
    let ip = f.required(ENCAP_IP, |s| match s.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() => {
            Err("must be a unicast address of this DPU".into())
        }
        Ok(ip) => Ok(ip),
        Err(_) => Err("not an IP address".into()),
    });
    let kind = f.parse(ENCAP_TYPE, |s| {
        if s.eq_ignore_ascii_case("geneve") {
            Ok(EncapType::Geneve)
        } else {
            Err("unsupported encapsulation; only geneve is supported".into())
        }
    });
    Some(EncapConfig {
        ip: ip?,
        kind: kind?,
    })
}

/// Pods with IPv6 need an MTU of at least 1280.
fn check_mtu_family(f: &mut Fields<'_>, network: &NetworkConfig, encap: &EncapConfig) {
    if (network.has_ipv6() || encap.ip.is_ipv6()) && network.mtu < 1280 {
        let problem = "must be at least 1280 when IPv6 is in use";
        let origin = f.origin(MTU).cloned();
        match origin {
            Some(origin) => f.bad(MTU, &origin, &network.mtu.to_string(), problem),
            None => f.problem(MTU, problem),
        }
    }
}

fn gateway(f: &mut Fields<'_>) -> Option<GatewayConfig> {
    let before = f.errors.len();
    let interface = f.parse(GW_INTERFACE, |s| {
        if s.chars().any(char::is_whitespace) || s.len() > 15 {
            Err("not an interface name (at most 15 characters, no spaces)".into())
        } else {
            Ok(s.to_string())
        }
    });
    let nexthop = f.parse(GW_NEXTHOP, |s| {
        s.parse::<IpAddr>()
            .map_err(|_| "not an IP address".to_string())
    });
    let router_subnet = f.parse(GW_ROUTER_SUBNET, parse_prefix);
    let vlan_id = f.parse(GW_VLANID, |s| match s.parse::<u16>() {
        Ok(v) if (1..=4094).contains(&v) => Ok(v),
        _ => Err("must be a VLAN id from 1 to 4094".into()),
    });
    if let (Some(hop), Some(subnet), Some((text, origin))) =
        (nexthop, router_subnet, f.text(GW_NEXTHOP))
    {
        if !subnet.trunc().contains(&hop) {
            f.bad(
                GW_NEXTHOP,
                origin,
                text,
                format!("is outside gateway-router-subnet {subnet}"),
            );
        }
    }
    (f.errors.len() == before).then_some(GatewayConfig {
        interface,
        nexthop,
        router_subnet,
        vlan_id,
    })
}

fn datapath(f: &mut Fields<'_>) -> Option<DatapathConfig> {
    let hw_offload = f.parse(HW_OFFLOAD, parse_bool);
    let uplink_port = port_name(f, UPLINK_PORT);
    let host_pf_port = port_name(f, HOST_PF_PORT);
    let vf_representors = vf_representors(f);
    let eal_lcores = f.parse(EAL_LCORES, |s| {
        if s.bytes()
            .all(|b| b.is_ascii_digit() || b"-,@()".contains(&b))
        {
            Ok(s.to_string())
        } else {
            Err("not an EAL lcore list (digits, ',', '-', '@', parentheses), e.g. 0-1".into())
        }
    });
    let hugepages = f.parse(EAL_HUGEPAGES, |s| match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(Hugepages::Auto),
        "yes" | "true" => Ok(Hugepages::Yes),
        "no" | "false" => Ok(Hugepages::No),
        _ => Err("must be auto, yes or no".into()),
    });
    let eal_memory_mb = f.parse(EAL_MEMORY_MB, |s| match s.parse::<u32>() {
        Ok(m) if m >= 64 => Ok(m),
        _ => Err("must be a number of MB, at least 64".into()),
    });
    Some(DatapathConfig {
        hw_offload: hw_offload?,
        uplink_port: uplink_port?,
        host_pf_port: host_pf_port?,
        vf_representors: vf_representors?,
        eal_lcores: eal_lcores?,
        hugepages: hugepages?,
        eal_memory_mb: eal_memory_mb?,
    })
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

/// An optional DPDK port name/devargs: `Some(None)` when unset, `None` when
/// invalid.
fn port_name(f: &mut Fields<'_>, key: &'static str) -> Option<Option<String>> {
    if !f.is_set(key) {
        return Some(None);
    }
    f.parse(key, |s| {
        if s.chars().any(char::is_whitespace) {
            Err("DPDK port names and devargs contain no spaces".into())
        } else {
            Ok(s.to_string())
        }
    })
    .map(Some)
}

fn vf_representors(f: &mut Fields<'_>) -> Option<BTreeMap<VfRepresentor, String>> {
    let before = f.errors.len();
    let mut map = BTreeMap::new();
    for (name, devargs, origin) in f.entries(VF_REPRESENTORS) {
        let entry = format!("{name}={devargs}");
        match name.parse::<VfRepresentor>() {
            Err(e) => f.bad(VF_REPRESENTORS, origin, &entry, e.to_string()),
            Ok(_) if devargs.is_empty() || devargs.chars().any(char::is_whitespace) => f.bad(
                VF_REPRESENTORS,
                origin,
                &entry,
                "expected pf<N>vf<M>=DEVARGS with non-empty devargs",
            ),
            Ok(rep) => {
                if map.insert(rep, devargs).is_some() {
                    f.bad(
                        VF_REPRESENTORS,
                        origin,
                        &entry,
                        format!("{rep} is bound twice"),
                    );
                }
            }
        }
    }
    (f.errors.len() == before).then_some(map)
}
