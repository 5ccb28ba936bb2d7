//! Reflector stores of the host cluster: watch → store, with backoff.
//!
//! Each watch runs as its own task, relists after `410 Gone` and survives
//! API server restarts (kube-runtime's default backoff). Every event is
//! recorded in the [`ChangeLog`] (what kind, which service) and rings one
//! [`Notify`], so the agent recomputes once per burst of events, and only
//! what the burst touched.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use dpuflow_tables::ServiceKey;

use crate::translate::{pod_fingerprint, Changes, Reads, Snapshot};

/// Which EndpointSlice API the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointSliceVersion {
    /// `discovery.k8s.io/v1` (Kubernetes >= 1.21).
    V1,
    /// `discovery.k8s.io/v1beta1` (older servers), converted to v1.
    V1Beta1,
}

/// The stores the agent reads.
#[derive(Clone)]
pub struct Stores {
    /// All nodes.
    pub nodes: Store<Node>,
    /// All pods (policy peers live on every node).
    pub pods: Store<Pod>,
    /// Namespaces (policy namespace selectors).
    pub namespaces: Store<Namespace>,
    /// Services.
    pub services: Store<Service>,
    /// EndpointSlices as v1 objects (v1beta1 ones are converted once, as
    /// they arrive).
    pub slices: Store<EndpointSlice>,
    /// NetworkPolicies.
    pub policies: Store<NetworkPolicy>,
    /// NetworkAttachmentDefinitions, when the CRD is installed.
    pub nads: Option<Store<DynamicObject>>,
    /// Rung on every watch event.
    pub changed: Arc<Notify>,
    /// What the events changed since [`Stores::take_changes`].
    pub log: Arc<Mutex<ChangeLog>>,
    /// Watch errors seen (each retried with backoff).
    pub watch_errors: Arc<AtomicU64>,
}

impl EndpointSliceVersion {
    /// The `apiVersion` of its objects.
    pub fn api_version(self) -> &'static str {
        match self {
            EndpointSliceVersion::V1 => "discovery.k8s.io/v1",
            EndpointSliceVersion::V1Beta1 => "discovery.k8s.io/v1beta1",
        }
    }

    /// The resource, for dynamic clients.
    pub fn api_resource(self) -> ApiResource {
        let version = match self {
            EndpointSliceVersion::V1 => "v1",
            EndpointSliceVersion::V1Beta1 => "v1beta1",
        };
        ApiResource::from_gvk(&GroupVersionKind::gvk(
            "discovery.k8s.io",
            version,
            "EndpointSlice",
        ))
    }
}

fn beta_to_v1(obj: &DynamicObject) -> Option<EndpointSlice> {
    let converted = beta_value_to_v1(obj);
    if converted.is_none() {
        tracing::warn!(slice = ?obj.metadata.name, "v1beta1 EndpointSlice not convertible; skipped");
    }
    converted
}

fn beta_value_to_v1(obj: &DynamicObject) -> Option<EndpointSlice> {
    let mut value = serde_json::to_value(obj).ok()?;
    // k8s-openapi checks apiVersion; the v1 shape is a superset here.
    value["apiVersion"] = serde_json::Value::String("discovery.k8s.io/v1".to_string());
    if let Some(eps) = value.get_mut("endpoints").and_then(|e| e.as_array_mut()) {
        for ep in eps {
            let host = ep
                .pointer("/topology/kubernetes.io~1hostname")
                .and_then(|h| h.as_str())
                .map(str::to_string);
            if let (Some(host), Some(map)) = (host, ep.as_object_mut()) {
                map.entry("nodeName")
                    .or_insert(serde_json::Value::String(host));
            }
        }
    }
    serde_json::from_value(value).ok()
}

/// Asks the server which EndpointSlice version it serves.
///
/// # Errors
/// The API server's error when neither can be discovered.
pub async fn endpoint_slice_version(client: &Client) -> Result<EndpointSliceVersion, kube::Error> {
    match client.list_api_group_resources("discovery.k8s.io/v1").await {
        Ok(list) if list.resources.iter().any(|r| r.name == "endpointslices") => {
            Ok(EndpointSliceVersion::V1)
        }
        _ => {
            client
                .list_api_group_resources("discovery.k8s.io/v1beta1")
                .await?;
            Ok(EndpointSliceVersion::V1Beta1)
        }
    }
}

async fn nads_served(client: &Client) -> bool {
    client
        .list_api_group_resources("k8s.cni.cncf.io/v1")
        .await
        .is_ok_and(|l| {
            l.resources
                .iter()
                .any(|r| r.name == "network-attachment-definitions")
        })
}

/// Starts every watch; returns the stores and the tasks driving them.
///
/// # Errors
/// Discovery errors (the server is unreachable or refuses).
pub async fn start(client: &Client) -> Result<(Stores, Vec<JoinHandle<()>>), kube::Error> {
    let changed = Arc::new(Notify::new());
    let errors = Arc::new(AtomicU64::new(0));
    let log = Arc::new(Mutex::new(ChangeLog::default()));
    let mut tasks = Vec::new();
    let events = Events {
        changed: changed.clone(),
        errors: errors.clone(),
        log: log.clone(),
    };
    macro_rules! spawn {
        () => {{
            let (store, task) = watch(Api::all(client.clone()), events.clone());
            tasks.push(task);
            store
        }};
    }
    let nodes = spawn!();
    let pods = spawn!();
    let namespaces = spawn!();
    let services = spawn!();
    let policies = spawn!();
    let slices = match endpoint_slice_version(client).await? {
        EndpointSliceVersion::V1 => spawn!(),
        EndpointSliceVersion::V1Beta1 => {
            let (store, task) = watch_beta_slices(client, events.clone());
            tasks.push(task);
            store
        }
    };
    let nads = if nads_served(client).await {
        let gvk = GroupVersionKind::gvk("k8s.cni.cncf.io", "v1", "NetworkAttachmentDefinition");
        let mut ar = ApiResource::from_gvk(&gvk);
        ar.plural = "network-attachment-definitions".to_string();
        let (store, task) = watch_dynamic(client, ar, events.clone());
        tasks.push(task);
        Some(store)
    } else {
        None
    };
    let stores = Stores {
        nodes,
        pods,
        namespaces,
        services,
        slices,
        policies,
        nads,
        changed,
        log,
        watch_errors: errors,
    };
    Ok((stores, tasks))
}

impl Stores {
    /// Waits until every store has its initial list.
    pub async fn wait_until_ready(&self) {
        let _ = self.nodes.wait_until_ready().await;
        let _ = self.pods.wait_until_ready().await;
        let _ = self.namespaces.wait_until_ready().await;
        let _ = self.services.wait_until_ready().await;
        let _ = self.policies.wait_until_ready().await;
        let _ = self.slices.wait_until_ready().await;
        if let Some(n) = &self.nads {
            let _ = n.wait_until_ready().await;
        }
    }
}

fn watch<K>(api: Api<K>, events: Events) -> (Store<K>, JoinHandle<()>)
where
    K: Track
        + Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    let task = tokio::spawn(drive(stream, events, std::any::type_name::<K>()));
    (reader, task)
}

/// Watches `discovery.k8s.io/v1beta1` EndpointSlices and keeps them as v1
/// objects: converted once per event, not on every read.
fn watch_beta_slices(client: &Client, events: Events) -> (Store<EndpointSlice>, JoinHandle<()>) {
    let ar = EndpointSliceVersion::V1Beta1.api_resource();
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .filter_map(|event| futures::future::ready(convert_event(event)))
        .reflect(writer);
    let task = tokio::spawn(drive(stream, events, "EndpointSlice/v1beta1"));
    (reader, task)
}

/// Converts one v1beta1 event; an object that does not convert is dropped
/// (and logged) rather than poisoning the store.
fn convert_event(
    event: Result<watcher::Event<DynamicObject>, watcher::Error>,
) -> Option<Result<watcher::Event<EndpointSlice>, watcher::Error>> {
    use watcher::Event;
    Some(match event {
        Err(e) => Err(e),
        Ok(Event::Apply(o)) => Ok(Event::Apply(beta_to_v1(&o)?)),
        Ok(Event::Delete(o)) => Ok(Event::Delete(beta_to_v1(&o)?)),
        Ok(Event::InitApply(o)) => Ok(Event::InitApply(beta_to_v1(&o)?)),
        Ok(Event::Init) => Ok(Event::Init),
        Ok(Event::InitDone) => Ok(Event::InitDone),
    })
}

fn watch_dynamic(
    client: &Client,
    ar: ApiResource,
    events: Events,
) -> (Store<DynamicObject>, JoinHandle<()>) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let writer = reflector::store::Writer::new(ar);
    let reader = writer.as_reader();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    let task = tokio::spawn(drive(stream, events, "DynamicObject"));
    (reader, task)
}

/// Where a watch reports: the change log, the agent's wake-up, errors.
#[derive(Clone)]
struct Events {
    changed: Arc<Notify>,
    errors: Arc<AtomicU64>,
    log: Arc<Mutex<ChangeLog>>,
}

async fn drive<S, K>(stream: S, events: Events, what: &'static str)
where
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    K: Track,
{
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => {
                // The reflector has already applied the event to the store,
                // so a pass that takes this mark reads the new state.
                events
                    .log
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .record(&event);
                events.changed.notify_one();
            }
            Err(e) => {
                events.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(resource = what, error = %e, "watch error; retrying with backoff");
            }
        }
    }
}

/// What the watches changed since the agent last looked.
#[derive(Debug, Default)]
pub struct ChangeLog {
    changes: Changes,
    /// EndpointSlice `(namespace, name)` → its service, so a slice that
    /// moves to another service (or is deleted) dirties the old one too.
    slice_owner: HashMap<(String, String), ServiceKey>,
    /// Pod `(namespace, name)` → the fingerprint of its translated view.
    pod_view: HashMap<(String, String), u64>,
}

impl ChangeLog {
    fn record<K: Track>(&mut self, event: &watcher::Event<K>) {
        use watcher::Event;
        match event {
            Event::Apply(o) | Event::InitApply(o) => o.mark(self, false),
            Event::Delete(o) => o.mark(self, true),
            // A relist replaces the whole store at InitDone.
            Event::Init => K::relist(self, true),
            Event::InitDone => K::relist(self, false),
        }
    }

    /// Takes the changes recorded so far.
    pub fn take(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }
}

/// How a watched kind's events mark the change log.
pub trait Track {
    /// Marks one object applied or deleted.
    fn mark(&self, log: &mut ChangeLog, deleted: bool);
    /// A relist starts (`starting`) or has replaced the store: every object
    /// of the kind is marked.
    fn relist(log: &mut ChangeLog, starting: bool);
}

macro_rules! track_kind {
    ($kind:ty, $field:ident) => {
        impl Track for $kind {
            fn mark(&self, log: &mut ChangeLog, _deleted: bool) {
                log.changes.$field = true;
            }
            fn relist(log: &mut ChangeLog, _starting: bool) {
                log.changes.$field = true;
            }
        }
    };
}

track_kind!(Node, nodes);
track_kind!(Namespace, namespaces);
track_kind!(NetworkPolicy, policies);

impl Track for Pod {
    /// Every pod event concerns the handshake; only a changed view (see
    /// [`pod_fingerprint`]) concerns the pod and policy tables.
    fn mark(&self, log: &mut ChangeLog, deleted: bool) {
        log.changes.pods = true;
        let at = (
            self.metadata.namespace.clone().unwrap_or_default(),
            self.metadata.name.clone().unwrap_or_default(),
        );
        let changed = if deleted {
            log.pod_view.remove(&at).is_some()
        } else {
            let view = pod_fingerprint(self);
            log.pod_view.insert(at, view) != Some(view)
        };
        log.changes.pod_views |= changed;
    }
    fn relist(log: &mut ChangeLog, starting: bool) {
        if starting {
            // Rebuilt by the relist's InitApply events.
            log.pod_view.clear();
        }
        log.changes.pods = true;
        log.changes.pod_views = true;
    }
}

impl Track for Service {
    fn mark(&self, log: &mut ChangeLog, _deleted: bool) {
        if let (Some(ns), Some(name)) = (&self.metadata.namespace, &self.metadata.name) {
            log.changes
                .services
                .insert(ServiceKey::new(ns.clone(), name.clone()));
        }
    }
    fn relist(log: &mut ChangeLog, _starting: bool) {
        log.changes.all_services = true;
    }
}

impl Track for EndpointSlice {
    fn mark(&self, log: &mut ChangeLog, deleted: bool) {
        let (Some(ns), Some(name)) = (&self.metadata.namespace, &self.metadata.name) else {
            return;
        };
        let at = (ns.clone(), name.clone());
        let owner = crate::translate::slice_owner(self)
            .map(|(ns, svc)| ServiceKey::new(ns.to_owned(), svc.to_owned()));
        let before = match (&owner, deleted) {
            (Some(o), false) => log.slice_owner.insert(at, o.clone()),
            _ => log.slice_owner.remove(&at),
        };
        log.changes.services.extend(before.into_iter().chain(owner));
    }
    fn relist(log: &mut ChangeLog, starting: bool) {
        if starting {
            // Rebuilt by the relist's InitApply events.
            log.slice_owner.clear();
        }
        log.changes.all_services = true;
    }
}

/// NetworkAttachmentDefinitions are watched (readiness, future secondary
/// networks) but translate to nothing yet.
impl Track for DynamicObject {
    fn mark(&self, _log: &mut ChangeLog, _deleted: bool) {}
    fn relist(_log: &mut ChangeLog, _starting: bool) {}
}

impl Stores {
    /// Takes what the watches changed since the last call.
    pub fn take_changes(&self) -> Changes {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The objects of the kinds `reads` names; the other kinds stay empty.
    pub fn snapshot(&self, reads: Reads) -> Snapshot {
        fn all<K: Resource + Clone>(on: bool, store: &Store<K>) -> Vec<Arc<K>>
        where
            K::DynamicType: Eq + std::hash::Hash + Clone,
        {
            if on {
                store.state()
            } else {
                Vec::new()
            }
        }
        Snapshot {
            nodes: all(reads.nodes, &self.nodes),
            pods: all(reads.pods, &self.pods),
            namespaces: all(reads.namespaces, &self.namespaces),
            services: all(reads.services, &self.services),
            endpoint_slices: all(reads.services, &self.slices),
            network_policies: all(reads.policies, &self.policies),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(labels: serde_json::Value, ready: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.244.1.3"}],
                       "conditions": [{"type": "Ready", "status": ready}]}
        }))
        .expect("pod")
    }

    fn slice(name: &str, service: &str) -> EndpointSlice {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "ns",
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "endpoints": []
        }))
        .expect("slice")
    }

    #[test]
    fn pod_events_mark_views_only_when_translation_would_see_them() {
        use watcher::Event;
        let mut log = ChangeLog::default();
        log.record(&Event::Apply(pod(serde_json::json!({"app": "a"}), "False")));
        let c = log.take();
        assert!(c.pods && c.pod_views, "a new pod: {c:?}");
        log.record(&Event::Apply(pod(serde_json::json!({"app": "a"}), "True")));
        let c = log.take();
        assert!(c.pods && !c.pod_views, "only a condition changed: {c:?}");
        log.record(&Event::Apply(pod(serde_json::json!({"app": "b"}), "True")));
        assert!(log.take().pod_views, "a label changed");
        log.record(&Event::Delete(pod(serde_json::json!({"app": "b"}), "True")));
        assert!(log.take().pod_views, "deleted");
        log.record(&Event::<Pod>::Init);
        assert!(log.take().pod_views, "relist");
    }

    #[test]
    fn a_slice_moving_between_services_marks_both() {
        use watcher::Event;
        let mut log = ChangeLog::default();
        log.record(&Event::Apply(slice("s1", "web")));
        assert_eq!(
            log.take().services,
            [ServiceKey::new("ns", "web")].into_iter().collect()
        );
        log.record(&Event::Apply(slice("s1", "api")));
        assert_eq!(
            log.take().services,
            [ServiceKey::new("ns", "web"), ServiceKey::new("ns", "api")]
                .into_iter()
                .collect()
        );
        log.record(&Event::Delete(slice("s1", "api")));
        assert_eq!(
            log.take().services,
            [ServiceKey::new("ns", "api")].into_iter().collect()
        );
        log.record(&Event::<EndpointSlice>::InitDone);
        assert!(log.take().all_services);
    }

    #[test]
    fn v1beta1_slices_convert_to_v1_with_node_name_from_topology() {
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "discovery.k8s.io/v1beta1", "kind": "EndpointSlice",
            "metadata": {"name": "web-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.244.1.3"], "conditions": {"ready": true},
                           "topology": {"kubernetes.io/hostname": "dpu-host"}}]
        }))
        .expect("dynamic");
        let v1 = beta_to_v1(&obj).expect("converts");
        let eps = v1.endpoints.expect("endpoints");
        assert_eq!(eps[0].node_name.as_deref(), Some("dpu-host"));
        assert_eq!(eps[0].addresses, vec!["10.244.1.3".to_string()]);
        assert_eq!(v1.ports.as_ref().and_then(|p| p[0].port), Some(8080));
    }
}
