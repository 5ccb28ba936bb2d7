//! Local pods, and the pod index policy resolution works from.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use dpuflow_tables::{LocalPod, PodKey, Protocol};
use k8s_openapi::api::core::v1::Pod;

use super::convert;
use super::selector::Selector;
use super::{PodBinding, Snapshot, TranslateContext};

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// Bindings by pod UID.
fn bindings_by_uid(ctx: &TranslateContext) -> HashMap<&str, Vec<&PodBinding>> {
    let mut map: HashMap<&str, Vec<&PodBinding>> = HashMap::new();
    for b in &ctx.bindings {
        map.entry(b.pod_uid.as_str()).or_default().push(b);
    }
    map
}

/// Every bound interface of a pod present in the snapshot. Bindings whose
/// pod is gone are left out (the handshake tears them down).
pub(super) fn local_pods(
    snapshot: &Snapshot,
    ctx: &TranslateContext,
) -> BTreeMap<PodKey, LocalPod> {
    let bindings = bindings_by_uid(ctx);
    let mut out = BTreeMap::new();
    for pod in &snapshot.pods {
        let meta = &pod.metadata;
        let (Some(ns), Some(name), Some(uid)) = (&meta.namespace, &meta.name, &meta.uid) else {
            continue;
        };
        for b in bindings.get(uid.as_str()).into_iter().flatten() {
            let key = PodKey {
                namespace: ns.clone(),
                name: name.clone(),
                network: b.network.clone(),
            };
            out.insert(key, local_pod(b));
        }
    }
    out
}

fn local_pod(b: &PodBinding) -> LocalPod {
    let mut ips: Vec<IpAddr> = b.ips.iter().map(|n| n.addr()).collect();
    ips.sort_unstable();
    ips.dedup();
    LocalPod {
        endpoint: b.endpoint,
        port: b.port.clone(),
        mac: b.mac,
        ips,
    }
}

/// A container port with a name.
#[derive(Debug)]
pub(super) struct NamedPort<'a> {
    name: &'a str,
    protocol: Protocol,
    port: u16,
}

/// What policy resolution needs of one pod.
#[derive(Debug)]
pub(super) struct PodInfo<'a> {
    /// Labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Addresses as a policy peer: empty for host-network and finished pods.
    pub addrs: Vec<IpAddr>,
    named_ports: Vec<NamedPort<'a>>,
}

impl PodInfo<'_> {
    /// The number of the container port `name` with `protocol`.
    pub(super) fn named_port(&self, name: &str, protocol: Protocol) -> Option<u16> {
        self.named_ports
            .iter()
            .find(|p| p.name == name && p.protocol == protocol)
            .map(|p| p.port)
    }
}

/// label key → label value → pods.
type LabelIndex<'a> = HashMap<&'a str, HashMap<&'a str, Vec<usize>>>;

/// Pods indexed by namespace and label, namespaces with their labels, and
/// this node's policy targets.
pub(super) struct PodIndex<'a> {
    pods: Vec<PodInfo<'a>>,
    by_namespace: HashMap<&'a str, Vec<usize>>,
    /// namespace → label key → label value → pods.
    by_label: HashMap<&'a str, LabelIndex<'a>>,
    namespace_labels: BTreeMap<&'a str, &'a BTreeMap<String, String>>,
    local: HashMap<&'a str, Vec<(PodKey, usize)>>,
}

impl<'a> PodIndex<'a> {
    /// Indexes the snapshot's pods and namespaces.
    pub(super) fn build(snapshot: &'a Snapshot, ctx: &'a TranslateContext) -> Self {
        let bindings = bindings_by_uid(ctx);
        let mut index = PodIndex {
            pods: Vec::with_capacity(snapshot.pods.len()),
            by_namespace: HashMap::new(),
            by_label: HashMap::new(),
            namespace_labels: BTreeMap::new(),
            local: HashMap::new(),
        };
        for ns in &snapshot.namespaces {
            if let Some(name) = ns.metadata.name.as_deref() {
                let labels = ns.metadata.labels.as_ref().unwrap_or(&NO_LABELS);
                index.namespace_labels.insert(name, labels);
            }
        }
        for pod in &snapshot.pods {
            index.add(pod, &bindings);
        }
        index
    }

    fn add(&mut self, pod: &'a Pod, bindings: &HashMap<&str, Vec<&'a PodBinding>>) {
        let meta = &pod.metadata;
        let (Some(ns), Some(name)) = (meta.namespace.as_deref(), meta.name.as_deref()) else {
            return;
        };
        let primary = meta
            .uid
            .as_deref()
            .and_then(|uid| bindings.get(uid))
            .and_then(|bs| bs.iter().find(|b| b.network == PodKey::DEFAULT_NETWORK));
        let labels = meta.labels.as_ref().unwrap_or(&NO_LABELS);
        let i = self.pods.len();
        self.pods.push(PodInfo {
            labels,
            addrs: peer_addrs(pod, primary.copied()),
            named_ports: named_ports(pod),
        });
        self.by_namespace.entry(ns).or_default().push(i);
        self.namespace_labels.entry(ns).or_insert(&NO_LABELS);
        let by_label = self.by_label.entry(ns).or_default();
        for (k, v) in labels {
            let values = by_label.entry(k.as_str()).or_default();
            values.entry(v.as_str()).or_default().push(i);
        }
        if primary.is_some() {
            let key = PodKey::primary(ns, name);
            self.local.entry(ns).or_default().push((key, i));
        }
    }

    /// The pod at `i` (an index this index handed out).
    pub(super) fn pod(&self, i: usize) -> Option<&PodInfo<'a>> {
        self.pods.get(i)
    }

    /// Every pod.
    pub(super) fn all(&self) -> std::ops::Range<usize> {
        0..self.pods.len()
    }

    /// Pods of `namespace` that `sel` matches.
    pub(super) fn select<'s>(
        &'s self,
        namespace: &str,
        sel: &'s Selector<'_>,
    ) -> impl Iterator<Item = usize> + 's {
        let candidates = match sel.required_label() {
            Some((k, v)) => self
                .by_label
                .get(namespace)
                .and_then(|keys| keys.get(k))
                .and_then(|values| values.get(v)),
            None => self.by_namespace.get(namespace),
        };
        candidates
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&i| self.pods.get(i).is_some_and(|p| sel.matches(p.labels)))
    }

    /// Namespaces (with a Namespace object or a pod) that `sel` matches.
    pub(super) fn namespaces<'s>(
        &'s self,
        sel: &'s Selector<'_>,
    ) -> impl Iterator<Item = &'a str> + 's {
        self.namespace_labels
            .iter()
            .filter(move |(_, labels)| sel.matches(labels))
            .map(|(ns, _)| *ns)
    }

    /// This node's pods on the primary network in `namespace`: the pods
    /// policies can isolate here.
    pub(super) fn local_targets(&self, namespace: &str) -> &[(PodKey, usize)] {
        self.local.get(namespace).map_or(&[], Vec::as_slice)
    }
}

/// A fingerprint of everything translation reads of a pod (identity,
/// labels, addresses, named ports, host network, phase): a pod event whose
/// fingerprint is unchanged (a condition, a container restart count) cannot
/// change the pod or policy tables, so the watch side skips them.
pub fn view_fingerprint(pod: &Pod) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let meta = &pod.metadata;
    (&meta.namespace, &meta.name, &meta.uid, &meta.labels).hash(&mut h);
    let spec = pod.spec.as_ref();
    spec.and_then(|s| s.host_network).hash(&mut h);
    for c in spec.iter().flat_map(|s| &s.containers) {
        for p in c.ports.iter().flatten() {
            (&p.name, &p.protocol, p.container_port).hash(&mut h);
        }
    }
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()).hash(&mut h);
    status.and_then(|s| s.pod_ip.as_deref()).hash(&mut h);
    for ip in status.iter().flat_map(|s| s.pod_ips.iter().flatten()) {
        ip.ip.hash(&mut h);
    }
    h.finish()
}

/// A pod's addresses as a policy peer: the handshake's allocation for this
/// node's pods (ahead of `status.podIPs`), else `status.podIPs`; none for
/// host-network pods (their addresses are node addresses) and pods that
/// have finished (their addresses may be reused).
fn peer_addrs(pod: &Pod, primary: Option<&PodBinding>) -> Vec<IpAddr> {
    if let Some(b) = primary {
        return b.ips.iter().map(|n| n.addr()).collect();
    }
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
    let status = pod.status.as_ref();
    let finished = matches!(
        status.and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    if host_network || finished {
        return Vec::new();
    }
    let Some(status) = status else {
        return Vec::new();
    };
    let listed = status.pod_ips.iter().flatten().map(|p| p.ip.as_str());
    let single = status.pod_ip.as_deref();
    let raw: Vec<&str> = if status.pod_ips.as_ref().is_some_and(|v| !v.is_empty()) {
        listed.collect()
    } else {
        single.into_iter().collect()
    };
    // A malformed status address is simply no peer address (never widens
    // access); the API server validates these anyway.
    raw.into_iter()
        .filter_map(|s| convert::ip(s).ok())
        .collect()
}

/// The named ports of the pod's containers.
fn named_ports(pod: &Pod) -> Vec<NamedPort<'_>> {
    let containers = pod.spec.iter().flat_map(|s| &s.containers);
    containers
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            Some(NamedPort {
                name: p.name.as_deref()?,
                protocol: convert::protocol(p.protocol.as_deref()).ok()?,
                port: convert::port(p.container_port).ok()?,
            })
        })
        .collect()
}
