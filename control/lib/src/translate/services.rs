//! Services and their endpoints.
//!
//! Endpoint choice follows kube-proxy: an endpoint is *ready* when
//! `conditions.ready` is true or unset and it is not terminating. Each scope
//! (cluster-wide, and this node for `Local` traffic policies) uses its ready
//! endpoints; a scope with none falls back to its endpoints that are
//! serving and terminating (`serving` unset counts as `ready`), so
//! connections drain during rolling updates instead of failing. Only the
//! first address of an endpoint is used (the API calls them fungible).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use dpuflow_tables::{Backend, Protocol, Service, ServiceKey, ServicePort};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};

use super::convert::{self, object_name};
use super::error::{ObjectKind, Reporter, TranslateError};
use super::{Snapshot, TranslateContext};

/// The label tying an EndpointSlice to its service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Session affinity timeout when `ClientIP` has none (3 hours).
const DEFAULT_AFFINITY_TIMEOUT: u32 = 10800;

/// Every service with at least one frontend: ExternalName services and
/// headless services without external IPs or node ports are left out.
pub(super) fn services(
    snapshot: &Snapshot,
    ctx: &TranslateContext,
    errors: &mut Vec<TranslateError>,
) -> BTreeMap<ServiceKey, Service> {
    let mut out = BTreeMap::new();
    for (key, svc, errs) in select(snapshot, ctx, |_, _| true) {
        errors.extend(errs);
        if let Some(s) = svc {
            out.insert(key, s);
        }
    }
    out
}

/// The services named in `keys` only, each with its own errors: what
/// incremental translation recomputes after those services or their slices
/// changed. `None`: the service is gone or has no frontend. One pass over
/// the services and slices, however many keys.
pub(super) fn some_services(
    snapshot: &Snapshot,
    keys: &BTreeSet<ServiceKey>,
    ctx: &TranslateContext,
) -> Vec<(ServiceKey, Option<Service>, Vec<TranslateError>)> {
    // An event names one service or a few: comparing strings (length
    // first) beats hashing every object's name; a relist names them all.
    const FEW: usize = 16;
    let keyset: HashSet<(&str, &str)> = if keys.len() > FEW {
        keys.iter()
            .map(|k| (k.namespace.as_str(), k.name.as_str()))
            .collect()
    } else {
        HashSet::new()
    };
    let wanted = |ns: &str, name: &str| {
        if keys.len() > FEW {
            keyset.contains(&(ns, name))
        } else {
            keys.iter().any(|k| k.name == name && k.namespace == ns)
        }
    };
    let mut found: BTreeMap<ServiceKey, (Option<Service>, Vec<TranslateError>)> =
        select(snapshot, ctx, wanted)
            .into_iter()
            .map(|(k, s, e)| (k, (s, e)))
            .collect();
    keys.iter()
        .map(|k| {
            let (s, e) = found.remove(k).unwrap_or_default();
            (k.clone(), s, e)
        })
        .collect()
}

/// The services `wanted` selects by namespace and name, translated from
/// their own slices, each with its own errors (`None`: no frontend).
fn select(
    snapshot: &Snapshot,
    ctx: &TranslateContext,
    wanted: impl Fn(&str, &str) -> bool,
) -> Vec<(ServiceKey, Option<Service>, Vec<TranslateError>)> {
    let mut slices: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
    for slice in &snapshot.endpoint_slices {
        if let Some(at) = owner(slice).filter(|(ns, svc)| wanted(ns, svc)) {
            slices.entry(at).or_default().push(slice);
        }
    }
    snapshot
        .services
        .iter()
        .filter_map(|svc| {
            let ns = svc.metadata.namespace.as_deref()?;
            let name = svc.metadata.name.as_deref()?;
            if !wanted(ns, name) {
                return None;
            }
            let own = slices.get(&(ns, name)).map_or(&[][..], Vec::as_slice);
            let mut errors = Vec::new();
            let s = service(svc, own, ctx, &mut errors);
            Some((ServiceKey::new(ns, name), s, errors))
        })
        .collect()
}

/// The service an EndpointSlice belongs to: `(namespace, service name)`.
pub fn owner(slice: &EndpointSlice) -> Option<(&str, &str)> {
    let meta = &slice.metadata;
    let svc = meta.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    Some((meta.namespace.as_deref()?, svc.as_str()))
}

fn service(
    svc: &core::Service,
    slices: &[&EndpointSlice],
    ctx: &TranslateContext,
    errors: &mut Vec<TranslateError>,
) -> Option<Service> {
    let spec = svc.spec.as_ref()?;
    let kind = spec.type_.as_deref().unwrap_or("ClusterIP");
    if kind == "ExternalName" {
        return None;
    }
    let mut rep = Reporter::new(errors, ObjectKind::Service, object_name(&svc.metadata));
    let cluster_ips = cluster_ips(spec, &mut rep);
    let external_ips = external_ips(svc, &mut rep);
    let external_local = spec.external_traffic_policy.as_deref() == Some("Local");
    let internal_local = spec.internal_traffic_policy.as_deref() == Some("Local");
    let with_node_ports = matches!(kind, "NodePort" | "LoadBalancer");
    let endpoints = Endpoints::collect(slices, ctx, errors);
    let mut rep = Reporter::new(errors, ObjectKind::Service, object_name(&svc.metadata));
    let ports: Vec<ServicePort> = spec
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            let mut port = service_port(p, with_node_ports, &mut rep)?;
            endpoints.fill(
                &mut port,
                p.name.as_deref(),
                external_local || internal_local,
            );
            Some(port)
        })
        .collect();
    let has_frontend = !cluster_ips.is_empty()
        || !external_ips.is_empty()
        || ports.iter().any(|p| p.node_port.is_some());
    has_frontend.then(|| Service {
        cluster_ips,
        external_ips,
        ports,
        affinity_timeout: affinity_timeout(spec),
        external_local,
        internal_local,
    })
}

/// `clusterIPs` (dual stack), else `clusterIP`; `None` (headless) gives
/// none.
fn cluster_ips(spec: &core::ServiceSpec, rep: &mut Reporter<'_>) -> Vec<IpAddr> {
    let raw: Vec<&str> = match &spec.cluster_ips {
        Some(ips) if !ips.is_empty() => ips.iter().map(String::as_str).collect(),
        _ => spec.cluster_ip.as_deref().into_iter().collect(),
    };
    raw.into_iter()
        .filter(|s| !s.is_empty() && *s != "None")
        .filter_map(|s| rep.ok(convert::ip(s)))
        .collect()
}

/// `externalIPs` plus load-balancer ingress IPs, sorted. Ingress entries
/// with only a hostname, or with `ipMode: Proxy` (the load balancer
/// proxies, so the IP never reaches the node as destination), are skipped.
fn external_ips(svc: &core::Service, rep: &mut Reporter<'_>) -> Vec<IpAddr> {
    let spec_ips = svc
        .spec
        .iter()
        .flat_map(|s| s.external_ips.iter().flatten())
        .map(String::as_str);
    let lb_ips = svc
        .status
        .iter()
        .flat_map(|s| s.load_balancer.iter())
        .flat_map(|lb| lb.ingress.iter().flatten())
        .filter(|i| i.ip_mode.as_deref() != Some("Proxy"))
        .filter_map(|i| i.ip.as_deref());
    let set: BTreeSet<IpAddr> = spec_ips
        .chain(lb_ips)
        .filter_map(|s| rep.ok(convert::ip(s)))
        .collect();
    set.into_iter().collect()
}

/// A spec port without backends; `None` (reported) when malformed.
fn service_port(
    p: &core::ServicePort,
    with_node_ports: bool,
    rep: &mut Reporter<'_>,
) -> Option<ServicePort> {
    let protocol = rep.ok(convert::protocol(p.protocol.as_deref()))?;
    let port = rep.ok(convert::port(p.port))?;
    let node_port = match p.node_port {
        Some(n) if with_node_ports => Some(rep.ok(convert::port(n))?),
        _ => None,
    };
    Some(ServicePort {
        protocol,
        port,
        node_port,
        backends: Vec::new(),
        local_backends: Vec::new(),
    })
}

fn affinity_timeout(spec: &core::ServiceSpec) -> Option<u32> {
    if spec.session_affinity.as_deref() != Some("ClientIP") {
        return None;
    }
    let configured = spec
        .session_affinity_config
        .as_ref()
        .and_then(|c| c.client_ip.as_ref())
        .and_then(|c| c.timeout_seconds)
        .and_then(|t| u32::try_from(t).ok())
        .filter(|&t| t > 0);
    Some(configured.unwrap_or(DEFAULT_AFFINITY_TIMEOUT))
}

/// Readiness class of an endpoint.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Readiness {
    Ready,
    ServingTerminating,
    Unusable,
}

fn readiness(c: Option<&EndpointConditions>) -> Readiness {
    let ready = c.and_then(|c| c.ready).unwrap_or(true);
    let serving = c.and_then(|c| c.serving).unwrap_or(ready);
    let terminating = c.and_then(|c| c.terminating).unwrap_or(false);
    match (ready && !terminating, serving && terminating) {
        (true, _) => Readiness::Ready,
        (false, true) => Readiness::ServingTerminating,
        (false, false) => Readiness::Unusable,
    }
}

/// One endpoint address for one named service port.
struct Candidate {
    port_name: String,
    protocol: Protocol,
    backend: Backend,
    readiness: Readiness,
    local: bool,
}

/// All usable endpoint addresses of one service, by slice port name.
struct Endpoints {
    candidates: Vec<Candidate>,
}

impl Endpoints {
    fn collect(
        slices: &[&EndpointSlice],
        ctx: &TranslateContext,
        errors: &mut Vec<TranslateError>,
    ) -> Self {
        let mut candidates = Vec::new();
        for slice in slices {
            if !matches!(slice.address_type.as_str(), "IPv4" | "IPv6") {
                continue; // FQDN slices have no address to balance to.
            }
            let name = object_name(&slice.metadata);
            let mut rep = Reporter::new(errors, ObjectKind::EndpointSlice, name);
            for sp in slice.ports.iter().flatten() {
                let Some(port) = sp.port.and_then(|p| rep.ok(convert::port(p))) else {
                    continue;
                };
                let Some(protocol) = rep.ok(convert::protocol(sp.protocol.as_deref())) else {
                    continue;
                };
                let port_name = sp.name.clone().unwrap_or_default();
                for ep in slice.endpoints.iter().flatten() {
                    let Some(ip) = first_address(ep, &mut rep) else {
                        continue;
                    };
                    candidates.push(Candidate {
                        port_name: port_name.clone(),
                        protocol,
                        backend: Backend { ip, port },
                        readiness: readiness(ep.conditions.as_ref()),
                        local: ep.node_name.as_deref() == Some(ctx.node_name.as_str()),
                    });
                }
            }
        }
        Self { candidates }
    }

    /// Sets the backends of `port` (spec port named `name`).
    fn fill(&self, port: &mut ServicePort, name: Option<&str>, want_local: bool) {
        let name = name.unwrap_or("");
        let mine: Vec<&Candidate> = self
            .candidates
            .iter()
            .filter(|c| c.port_name == name && c.protocol == port.protocol)
            .collect();
        port.backends = choose(mine.iter().copied());
        if want_local {
            port.local_backends = choose(mine.iter().copied().filter(|c| c.local));
        }
    }
}

fn first_address(ep: &Endpoint, rep: &mut Reporter<'_>) -> Option<IpAddr> {
    rep.ok(convert::ip(ep.addresses.first()?))
}

/// Ready backends, else serving-and-terminating ones; sorted, unique.
fn choose<'c>(candidates: impl Iterator<Item = &'c Candidate> + Clone) -> Vec<Backend> {
    let pick = |r: Readiness| -> BTreeSet<Backend> {
        candidates
            .clone()
            .filter(|c| c.readiness == r)
            .map(|c| c.backend)
            .collect()
    };
    let ready = pick(Readiness::Ready);
    let chosen = if ready.is_empty() {
        pick(Readiness::ServingTerminating)
    } else {
        ready
    };
    chosen.into_iter().collect()
}
