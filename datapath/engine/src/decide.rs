//! The decisions a first packet takes — where its destination lives, and
//! whether the pods' policies let it through — shared with revalidation:
//! after a table change, a connection lives on only if its first packet
//! would still be classified the same way.

use std::net::IpAddr;

use dpuflow_conntrack::FlowKey;

use crate::lookup::{Compiled, LocalNode, RemoteEntry};

/// Where a packet goes after NAT.
#[derive(Clone, Copy, Debug)]
pub enum Next<'t> {
    /// A local pod, by index.
    Pod(u32),
    /// Another node.
    Remote(&'t RemoteEntry),
    /// Outside the cluster, through the gateway.
    Outside,
}

/// The owner of `dst`: a local pod, else the node whose route holds it,
/// else the outside when `dst` is no cluster address (a cluster address
/// nobody owns has no route).
#[inline]
pub fn next_hop<'t>(t: &'t Compiled, local: &LocalNode, dst: IpAddr) -> Option<Next<'t>> {
    if let Some((j, _)) = t.pod_by_ip(dst) {
        return Some(Next::Pod(j));
    }
    if let Some(r) = t.route(dst) {
        return Some(Next::Remote(r));
    }
    local.is_outside(dst).then_some(Next::Outside)
}

/// Whether pod `i`'s egress policy lets it reach `dst` on `proto`/`port`.
#[inline]
pub fn egress_allows(t: &Compiled, i: u32, dst: IpAddr, proto: u8, port: u16) -> bool {
    let egress = t
        .pod(i)
        .and_then(|p| p.policy.as_ref())
        .and_then(|p| p.egress.as_ref());
    egress.is_none_or(|e| e.allows(dst, proto, port))
}

/// Whether pod `j`'s ingress policy admits `src` on `proto`/`port` (the
/// management port's addresses pass when the policy says so).
#[inline]
pub fn ingress_allows(
    t: &Compiled,
    local: &LocalNode,
    j: u32,
    src: IpAddr,
    proto: u8,
    port: u16,
) -> bool {
    let Some(policy) = t.pod(j).and_then(|p| p.policy.as_ref()) else {
        return true;
    };
    let Some(ingress) = &policy.ingress else {
        return true;
    };
    (policy.allow_management && local.management_ips.contains(&src))
        || ingress.allows(src, proto, port)
}

/// Whether a connection with these keys would still be created the same
/// way by generation `t`: its service backend is still one of the
/// frontend's, its destination still routed, its source pod still here,
/// and both pods' policies still allow it.
pub fn still_valid(t: &Compiled, forward: &FlowKey, reply: &FlowKey) -> bool {
    let Some(local) = &t.local else { return false };
    let out = reply.reversed();
    let dnat = out.dst != forward.dst || out.dport != forward.dport;
    if dnat {
        let Some(fe) = t.frontend(forward.dst, forward.proto, forward.dport) else {
            return false;
        };
        if !fe
            .backends
            .iter()
            .any(|b| b.ip == out.dst && b.port == out.dport)
        {
            return false;
        }
    }
    let Some(next) = next_hop(t, local, out.dst) else {
        return false;
    };
    let source = t.pod_by_ip(forward.src);
    let outside = source.is_none() && t.route(forward.src).is_none();
    match source {
        Some((i, _)) if !egress_allows(t, i, out.dst, forward.proto, out.dport) => return false,
        // From elsewhere: another node still routed, or the outside.
        None if !outside && t.route(forward.src).is_none() => return false,
        _ => {}
    }
    match next {
        Next::Pod(j) => {
            let peer = if outside { out.src } else { forward.src };
            ingress_allows(t, local, j, peer, forward.proto, out.dport)
        }
        Next::Remote(_) => source.is_some() || outside,
        Next::Outside => source.is_some(),
    }
}
