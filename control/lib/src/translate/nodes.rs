//! Remote nodes (tunnel destinations) and this node's gateway.

use std::collections::BTreeMap;
use std::net::IpAddr;

use dpuflow_tables::{Gateway, Prefix, RemoteNode};
use k8s_openapi::api::core::v1::Node;

use super::annotations::{self, AnnotationError};
use super::convert::prefix;
use super::error::{ObjectKind, Problem, Reporter, TranslateError};
use super::{Snapshot, TranslateContext};

/// Every other node that has a pod subnet and a tunnel endpoint.
///
/// Nodes still waiting for either annotation are left out silently (not
/// ready yet); malformed annotations are reported and the node left out.
pub(super) fn remote_nodes(
    snapshot: &Snapshot,
    ctx: &TranslateContext,
    errors: &mut Vec<TranslateError>,
) -> BTreeMap<String, RemoteNode> {
    snapshot
        .nodes
        .iter()
        .filter_map(|node| {
            let name = node.metadata.name.as_deref()?;
            if name == ctx.node_name {
                return None;
            }
            let mut rep = Reporter::new(errors, ObjectKind::Node, name.to_owned());
            let remote = remote_node(node, &mut rep)?;
            Some((name.to_owned(), remote))
        })
        .collect()
}

fn remote_node(node: &Node, rep: &mut Reporter<'_>) -> Option<RemoteNode> {
    let subnets = annotation(node, annotations::NODE_SUBNETS, annotations::node_subnets);
    let pod_subnets: Vec<Prefix> = rep.ok(subnets?)?.iter().map(prefix).collect();
    let encap = annotation(
        node,
        annotations::NODE_ENCAP_IPS,
        annotations::node_encap_ips,
    )
    .or_else(|| {
        annotation(
            node,
            annotations::NODE_PRIMARY_IFADDR,
            annotations::node_primary_ifaddr,
        )
    });
    let encap_ips = rep.ok(encap?)?;
    if pod_subnets.is_empty() || encap_ips.is_empty() {
        return None;
    }
    let (node_id, transit_ips) = interconnect(node, rep)?;
    Some(RemoteNode {
        pod_subnets,
        encap_ips,
        node_id,
        transit_ips,
    })
}

/// A node's interconnect identity: node-id and transit-switch addresses,
/// absent (`None`, empty) until cluster-manager writes them; `None` (after
/// reporting) when either is malformed.
fn interconnect(node: &Node, rep: &mut Reporter<'_>) -> Option<(Option<u16>, Vec<IpAddr>)> {
    let node_id = match annotation(node, annotations::NODE_ID, annotations::node_id) {
        Some(r) => Some(rep.ok(r)?),
        None => None,
    };
    let transit = annotation(
        node,
        annotations::NODE_TRANSIT_SWITCH_PORT_IFADDR,
        annotations::node_primary_ifaddr,
    );
    let transit_ips = match transit {
        Some(r) => rep.ok(r)?,
        None => Vec::new(),
    };
    Some((node_id, transit_ips))
}

/// Parses annotation `key` of `node` with `parse`: `None` when absent.
fn annotation<T>(
    node: &Node,
    key: &'static str,
    parse: fn(&str) -> Result<T, AnnotationError>,
) -> Option<Result<T, Problem>> {
    let value = node.metadata.annotations.as_ref()?.get(key)?;
    Some(parse(value).map_err(|source| Problem::Annotation { key, source }))
}

/// This node's gateway, or `None` (reported) when its Node object is
/// missing. A missing or malformed subnet annotation leaves the pod subnets
/// empty.
pub(super) fn gateway(
    snapshot: &Snapshot,
    ctx: &TranslateContext,
    errors: &mut Vec<TranslateError>,
) -> Option<Gateway> {
    let mut rep = Reporter::new(errors, ObjectKind::Node, ctx.node_name.clone());
    let Some(node) = snapshot
        .nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(ctx.node_name.as_str()))
    else {
        rep.report(Problem::Missing);
        return None;
    };
    let subnets = annotation(node, annotations::NODE_SUBNETS, annotations::node_subnets)
        .and_then(|r| rep.ok(r))
        .unwrap_or_default();
    let pod_subnets: Vec<Prefix> = subnets.iter().map(prefix).collect();
    let (node_id, transit_ips) = interconnect(node, &mut rep).unwrap_or_default();
    let g = &ctx.gateway;
    Some(Gateway {
        node_ips: ctx.node_ips.clone(),
        next_hops: g.next_hops.clone(),
        vlan: g.vlan,
        router_subnet: g.router_subnet.as_ref().map(prefix),
        host_pf_mac: g.host_pf_mac,
        encap_ip: g.encap_ip,
        node_id,
        transit_ips,
        management_ips: pod_subnets.iter().map(|p| nth_address(p, 2)).collect(),
        pod_subnets,
        management_port: g.management_port.clone(),
        cluster_cidrs: ctx.cluster_cidrs.iter().map(prefix).collect(),
        service_cidrs: ctx.service_cidrs.iter().map(prefix).collect(),
        masquerade_subnets: g.masquerade_subnets.iter().map(prefix).collect(),
        join_subnets: g.join_subnets.iter().map(prefix).collect(),
        hairpin_snat: g.hairpin_snat.clone(),
    })
}

/// The `n`th address of a subnet (`.2` is the management port).
fn nth_address(p: &Prefix, n: u8) -> IpAddr {
    match p.addr() {
        IpAddr::V4(a) => IpAddr::V4(u32::from(a).wrapping_add(u32::from(n)).into()),
        IpAddr::V6(a) => IpAddr::V6(u128::from(a).wrapping_add(u128::from(n)).into()),
    }
}
