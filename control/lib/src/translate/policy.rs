//! NetworkPolicy → per-pod [`Policy`].
//!
//! Each policy is compiled once: its peers resolved to address sets (pod
//! IPs of matching pods on every node, and `ipBlock`s with `except`
//! subtracted), its ports to ranges. It is then applied to each local pod
//! its `podSelector` matches; a pod's direction is isolated once any
//! policy of that type selects it, and its allows are the union over all
//! such policies.
//!
//! Named ports: in ingress rules they name the *selected* pod's container
//! ports, so they are resolved per local pod; in egress rules they name the
//! *peer's* ports, so each peer pod gets its own number (an egress rule
//! without `to` considers every pod). Named ports never match `ipBlock`
//! peers.
//!
//! Errors fail closed: a malformed peer or port is dropped from its rule
//! (reported), which only ever narrows what the rule allows; a malformed
//! `podSelector` drops the policy (reported).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::rc::Rc;

use dpuflow_tables::{
    AllowRule, DirectionBuilder, DirectionPolicy, Peers, PodKey, Policy, PortRange, Ports, Prefix,
    PrefixSet, Protocol,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::convert::{self, object_name};
use super::error::{ObjectKind, Problem, Reporter, TranslateError};
use super::pods::{PodIndex, PodInfo};
use super::selector::Selector;
use super::Snapshot;

/// The policy of every local pod that at least one NetworkPolicy selects.
pub(super) fn policies(
    snapshot: &Snapshot,
    index: &PodIndex<'_>,
    errors: &mut Vec<TranslateError>,
) -> BTreeMap<PodKey, Policy> {
    let mut acc: BTreeMap<PodKey, Accumulated> = BTreeMap::new();
    let mut cache = Cache::default();
    for np in &snapshot.network_policies {
        let mut rep = Reporter::new(errors, ObjectKind::NetworkPolicy, object_name(&np.metadata));
        let Some(compiled) = Compiled::compile(np, index, &mut cache, &mut rep) else {
            continue;
        };
        for (key, i) in index.local_targets(compiled.namespace) {
            let Some(pod) = index
                .pod(*i)
                .filter(|p| compiled.selector.matches(p.labels))
            else {
                continue;
            };
            compiled.apply(acc.entry(key.clone()).or_default(), pod);
        }
    }
    // Pods selected by the same policies (a Deployment's replicas) have
    // identical inputs: merge those once. `acc` outlives `memo`, so the
    // addresses in signatures stay unique.
    let mut memo: BTreeMap<Signature, Policy> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (key, a) in &mut acc {
        let policy = memo.entry(a.signature()).or_insert_with(|| a.finish());
        out.insert(key.clone(), policy.clone());
    }
    out
}

/// What an accumulated policy is made of: shared resolutions (by address)
/// with their ports, per direction; `None` when not isolated.
type Signature = (
    Option<Vec<(*const Resolved, Ports)>>,
    Option<Vec<*const Vec<AllowRule>>>,
);

/// Resolutions shared between policies with identical peers or egress
/// rules (common: "allow from the monitoring namespace"). Keyed by the
/// rule's text (and the policy namespace when a peer depends on it); only
/// error-free resolutions are cached, so every policy reports its own
/// problems.
#[derive(Default)]
struct Cache {
    peers: HashMap<String, Rc<Resolved>>,
    egress: HashMap<String, Rc<Vec<AllowRule>>>,
}

/// A rule's peers: the address set and, for named ports, the pods.
struct Resolved {
    peers: Peers,
    pods: PeerPods,
}

/// Allows gathered for one pod; `Some` once a policy isolates a direction.
/// Shared resolutions are deduplicated by pointer before merging.
#[derive(Default)]
struct Accumulated {
    ingress: Option<Vec<(Rc<Resolved>, Ports)>>,
    egress: Option<Vec<Rc<Vec<AllowRule>>>>,
}

impl Accumulated {
    /// Deduplicates the shared resolutions and returns what they are.
    fn signature(&mut self) -> Signature {
        let ingress = self.ingress.as_mut().map(|allows| {
            allows.sort_by(|a, b| (Rc::as_ptr(&a.0), &a.1).cmp(&(Rc::as_ptr(&b.0), &b.1)));
            allows.dedup_by(|a, b| Rc::ptr_eq(&a.0, &b.0) && a.1 == b.1);
            allows
                .iter()
                .map(|(r, p)| (Rc::as_ptr(r), p.clone()))
                .collect()
        });
        let egress = self.egress.as_mut().map(|rules| {
            rules.sort_by_key(Rc::as_ptr);
            rules.dedup_by(|a, b| Rc::ptr_eq(a, b));
            rules.iter().map(Rc::as_ptr).collect()
        });
        (ingress, egress)
    }

    /// The pod's policy (after [`Accumulated::signature`] deduplicated).
    fn finish(&self) -> Policy {
        let ingress = match &self.ingress {
            None => DirectionPolicy::open(),
            Some(allows) => {
                let mut builder = DirectionBuilder::new();
                for (resolved, ports) in allows {
                    builder.allow(&resolved.peers, ports);
                }
                builder.build()
            }
        };
        let egress = match &self.egress {
            None => DirectionPolicy::open(),
            Some(rules) => DirectionPolicy::isolated(rules.iter().flat_map(|r| r.iter())),
        };
        Policy {
            ingress,
            egress,
            allow_arp_nd: true,
            allow_management: true,
        }
    }
}

/// The ports of a rule before named ports are resolved.
enum PortSpec<'p> {
    /// No `ports`: everything.
    Any,
    /// Listed ports: numeric ranges and names.
    Listed {
        ranges: Vec<PortRange>,
        named: Vec<(Protocol, &'p str)>,
    },
}

/// An ingress rule: peers resolved, named ports pending (per target).
struct IngressRule<'p> {
    peers: Rc<Resolved>,
    ports: PortSpec<'p>,
}

/// Which pods a rule's peers are (for per-peer named ports).
enum PeerPods {
    All,
    Listed(Vec<usize>),
}

/// One NetworkPolicy, resolved as far as it can be without a target.
struct Compiled<'p> {
    namespace: &'p str,
    selector: Selector<'p>,
    /// `None`: the policy does not cover ingress.
    ingress: Option<Vec<IngressRule<'p>>>,
    /// `None`: the policy does not cover egress. Egress needs no target.
    egress: Option<Vec<Rc<Vec<AllowRule>>>>,
}

impl<'p> Compiled<'p> {
    fn compile(
        np: &'p NetworkPolicy,
        index: &PodIndex<'_>,
        cache: &mut Cache,
        rep: &mut Reporter<'_>,
    ) -> Option<Self> {
        let namespace = np.metadata.namespace.as_deref()?;
        let spec = np.spec.as_ref()?;
        let selector = match &spec.pod_selector {
            Some(sel) => rep.ok(Selector::parse(sel))?,
            None => Selector::everything(),
        };
        let (covers_ingress, covers_egress) = policy_types(spec);
        let mut cx = Cx {
            namespace,
            index,
            cache,
            rep,
        };
        let ingress = covers_ingress.then(|| {
            let rules = spec.ingress.iter().flatten();
            rules
                .map(|r| IngressRule {
                    peers: cx.resolved(r.from.as_deref()),
                    ports: port_spec(r.ports.as_deref(), cx.rep),
                })
                .collect()
        });
        let egress = covers_egress.then(|| {
            let rules = spec.egress.iter().flatten();
            rules.map(|r| cx.egress_rule(r)).collect()
        });
        Some(Self {
            namespace,
            selector,
            ingress,
            egress,
        })
    }

    /// Adds this policy's isolation and allows to a selected pod's.
    fn apply(&self, acc: &mut Accumulated, target: &PodInfo<'_>) {
        if let Some(rules) = &self.ingress {
            let allows = rules
                .iter()
                .map(|r| (Rc::clone(&r.peers), ingress_ports(&r.ports, target)));
            acc.ingress.get_or_insert_with(Vec::new).extend(allows);
        }
        if let Some(rules) = &self.egress {
            acc.egress
                .get_or_insert_with(Vec::new)
                .extend(rules.iter().cloned());
        }
    }
}

/// Which directions a policy covers: `policyTypes`, or when absent, Ingress
/// always and Egress when there are egress rules (the API's defaulting).
fn policy_types(spec: &NetworkPolicySpec) -> (bool, bool) {
    match &spec.policy_types {
        Some(types) if !types.is_empty() => (
            types.iter().any(|t| t == "Ingress"),
            types.iter().any(|t| t == "Egress"),
        ),
        _ => (true, spec.egress.as_ref().is_some_and(|e| !e.is_empty())),
    }
}

/// Ingress ports for one target: its own container ports name the numbers.
fn ingress_ports(spec: &PortSpec<'_>, target: &PodInfo<'_>) -> Ports {
    match spec {
        PortSpec::Any => Ports::Any,
        PortSpec::Listed { ranges, named } => {
            let resolved = named.iter().filter_map(|&(proto, name)| {
                target
                    .named_port(name, proto)
                    .map(|n| PortRange::single(proto, n))
            });
            Ports::ranges(ranges.iter().copied().chain(resolved))
        }
    }
}

/// A rule's `ports`. Absent or empty means every port; malformed entries
/// are reported and dropped (so a list of only bad entries allows nothing).
fn port_spec<'p>(ports: Option<&'p [NetworkPolicyPort]>, rep: &mut Reporter<'_>) -> PortSpec<'p> {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return PortSpec::Any;
    };
    let mut ranges = Vec::new();
    let mut named = Vec::new();
    for p in ports {
        let Some(proto) = rep.ok(convert::protocol(p.protocol.as_deref())) else {
            continue;
        };
        match &p.port {
            None => ranges.push(PortRange::all(proto)),
            Some(IntOrString::String(name)) => named.push((proto, name.as_str())),
            Some(IntOrString::Int(first)) => {
                if let Some(r) = rep.ok(numeric_range(proto, *first, p.end_port)) {
                    ranges.push(r);
                }
            }
        }
    }
    PortSpec::Listed { ranges, named }
}

/// `port`, or `port..=endPort`.
fn numeric_range(protocol: Protocol, first: i32, end: Option<i32>) -> Result<PortRange, Problem> {
    let first_port = convert::port(first)?;
    let last = match end {
        None => first_port,
        Some(e) if e >= first => convert::port(e)?,
        Some(e) => return Err(Problem::Port(e)),
    };
    Ok(PortRange {
        protocol,
        first: first_port,
        last,
    })
}

/// What rule resolution needs: the policy's namespace, the pod index, the
/// shared cache and the policy's reporter.
struct Cx<'c, 'a, 'r> {
    namespace: &'c str,
    index: &'c PodIndex<'a>,
    cache: &'c mut Cache,
    rep: &'c mut Reporter<'r>,
}

impl Cx<'_, '_, '_> {
    /// A rule's resolved `from`/`to`, from the cache when possible.
    fn resolved(&mut self, list: Option<&[NetworkPolicyPeer]>) -> Rc<Resolved> {
        let list = list.unwrap_or_default();
        let key = rule_key(self.namespace, list, &"");
        if let Some(hit) = self.cache.peers.get(&key) {
            return Rc::clone(hit);
        }
        let mut problems = Vec::new();
        let resolved = Rc::new(self.peers(list, &mut problems));
        if problems.is_empty() {
            self.cache.peers.insert(key, Rc::clone(&resolved));
        }
        for p in problems {
            self.rep.report(p);
        }
        resolved
    }

    /// An egress rule's allows, from the cache when possible.
    fn egress_rule(&mut self, rule: &NetworkPolicyEgressRule) -> Rc<Vec<AllowRule>> {
        let peers = rule.to.as_deref().unwrap_or_default();
        let key = rule_key(self.namespace, peers, &rule.ports);
        if let Some(hit) = self.cache.egress.get(&key) {
            return Rc::clone(hit);
        }
        let before = self.rep.count();
        let resolved = self.resolved(Some(peers));
        let ports = port_spec(rule.ports.as_deref(), self.rep);
        let allows = Rc::new(self.egress_allows(&resolved, ports));
        if self.rep.count() == before {
            self.cache.egress.insert(key, Rc::clone(&allows));
        }
        allows
    }

    /// Resolves a peer list: empty means every address.
    fn peers(&self, list: &[NetworkPolicyPeer], problems: &mut Vec<Problem>) -> Resolved {
        if list.is_empty() {
            return Resolved {
                peers: Peers::Any,
                pods: PeerPods::All,
            };
        }
        let mut prefixes: Vec<Prefix> = Vec::new();
        let mut pods = Vec::new();
        for peer in list {
            let found = match &peer.ip_block {
                Some(block) => {
                    ip_block(block).map(|set| prefixes.extend_from_slice(set.prefixes()))
                }
                None => self.peer_pods(peer).map(|found| pods.extend(found)),
            };
            if let Err(p) = found {
                problems.push(p);
            }
        }
        pods.sort_unstable();
        pods.dedup();
        let pod_addrs = pods
            .iter()
            .filter_map(|&i| self.index.pod(i))
            .flat_map(|p| p.addrs.iter().copied().map(Prefix::host));
        prefixes.extend(pod_addrs);
        Resolved {
            peers: Peers::Prefixes(prefixes.into_iter().collect()),
            pods: PeerPods::Listed(pods),
        }
    }

    /// The pods a selector peer names: `podSelector` alone is the policy's
    /// namespace; with `namespaceSelector`, the matching namespaces (an
    /// absent `podSelector` then means all their pods).
    fn peer_pods(&self, peer: &NetworkPolicyPeer) -> Result<Vec<usize>, Problem> {
        let pod_sel = peer
            .pod_selector
            .as_ref()
            .map(Selector::parse)
            .transpose()?;
        let Some(ns_sel) = &peer.namespace_selector else {
            return Ok(match &pod_sel {
                Some(sel) => self.index.select(self.namespace, sel).collect(),
                None => Vec::new(), // An empty peer: the API rejects these.
            });
        };
        let ns_sel = Selector::parse(ns_sel)?;
        let pod_sel = pod_sel.unwrap_or_else(Selector::everything);
        Ok(self
            .index
            .namespaces(&ns_sel)
            .flat_map(|ns| self.index.select(ns, &pod_sel))
            .collect())
    }

    /// An egress rule's allows: numeric ports for all peers; each named port
    /// resolved per peer pod, one allow per distinct number.
    fn egress_allows(&self, resolved: &Resolved, ports: PortSpec<'_>) -> Vec<AllowRule> {
        let (ranges, named) = match ports {
            PortSpec::Any => {
                return vec![AllowRule {
                    peers: resolved.peers.clone(),
                    ports: Ports::Any,
                }]
            }
            PortSpec::Listed { ranges, named } => (ranges, named),
        };
        let pods = &resolved.pods;
        let mut out = vec![AllowRule {
            peers: resolved.peers.clone(),
            ports: Ports::ranges(ranges),
        }];
        for (proto, name) in named {
            let mut by_number: BTreeMap<u16, Vec<Prefix>> = BTreeMap::new();
            for pod in self.peer_infos(pods) {
                if let Some(n) = pod.named_port(name, proto) {
                    by_number
                        .entry(n)
                        .or_default()
                        .extend(pod.addrs.iter().copied().map(Prefix::host));
                }
            }
            out.extend(by_number.into_iter().map(|(n, hosts)| AllowRule {
                peers: Peers::Prefixes(hosts.into_iter().collect()),
                ports: Ports::ranges([PortRange::single(proto, n)]),
            }));
        }
        out
    }

    fn peer_infos<'s>(
        &'s self,
        pods: &'s PeerPods,
    ) -> Box<dyn Iterator<Item = &'s PodInfo<'s>> + 's> {
        match pods {
            PeerPods::All => Box::new(self.index.all().filter_map(|i| self.index.pod(i))),
            PeerPods::Listed(set) => Box::new(set.iter().filter_map(|&i| self.index.pod(i))),
        }
    }
}

/// The cache key of a rule: its peers and `extra` (ports) as text, plus
/// the policy namespace when a peer's meaning depends on it (a
/// `podSelector` without `namespaceSelector`).
fn rule_key(namespace: &str, peers: &[NetworkPolicyPeer], extra: &dyn fmt::Debug) -> String {
    let scoped = peers
        .iter()
        .any(|p| p.ip_block.is_none() && p.namespace_selector.is_none());
    let ns = if scoped { namespace } else { "" };
    format!("{ns}|{peers:?}|{extra:?}")
}

/// `cidr` minus every `except`.
fn ip_block(block: &IPBlock) -> Result<PrefixSet, Problem> {
    let base = convert::cidr(&block.cidr)?;
    let holes = block
        .except
        .iter()
        .flatten()
        .map(|s| convert::cidr(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PrefixSet::difference(base, &holes))
}
