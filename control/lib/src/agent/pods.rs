//! The per-pod DPU handshake (OVN-K's DPU protocol, DPU side).
//!
//! For every pod of the host node carrying `k8s.ovn.org/dpu.connection-details`:
//! resolve its VF representor, allocate its IPs (restoring any earlier
//! allocation first), write `k8s.ovn.org/pod-networks`, hand the binding to
//! the datapath, then write `k8s.ovn.org/dpu.connection-status` Ready — or
//! Error with a reason the host's CNI shows. A changed pfId/vfId/sandboxId
//! rewires; a pod that is gone or finished is unwired and its IPs freed.
//!
//! [`Handshake::plan`] is pure (it decides the annotation writes); the agent
//! performs them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use dpuflow_net::MacAddr;
use dpuflow_tables::{EndpointId, PortRef};
use ipnet::IpNet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::agent::representor::Representors;
use crate::ipam::{PodIpAllocator, PodRef};
use crate::protocol::dpu::{DpuConnectionDetailsMap, DpuConnectionStatus, DpuConnectionStatusMap};
use crate::protocol::keys;
use crate::protocol::pod_networks::{PodNetwork, PodNetworks, PodRouting};
use crate::protocol::DEFAULT_NETWORK;
use crate::translate::PodBinding;

/// A wired pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wiring {
    /// The pod.
    pub pod: PodRef,
    /// The datapath port of its representor.
    pub port: String,
    /// Addresses with the node subnet's prefix.
    pub ips: Vec<IpNet>,
    /// The pod interface's MAC.
    pub mac: MacAddr,
    /// Stable id for the datapath's tables.
    pub endpoint: EndpointId,
}

/// One annotation write the agent must make on a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodWrite {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Annotation key.
    pub key: &'static str,
    /// New value.
    pub value: String,
}

/// What one pass decided.
#[derive(Debug, Default)]
pub struct Plan {
    /// `pod-networks` writes: before the datapath gets the bindings.
    pub networks: Vec<PodWrite>,
    /// `connection-status` writes: after the datapath has the bindings.
    pub statuses: Vec<PodWrite>,
    /// Pods unwired in this pass (gone or finished).
    pub unwired: Vec<PodRef>,
}

/// The DPU side of the per-pod protocol for one host node.
#[derive(Debug)]
pub struct Handshake {
    ipam: Option<PodIpAllocator>,
    subnets: Vec<IpNet>,
    routing: PodRouting,
    reps: Representors,
    wired: BTreeMap<String, Wiring>,
    /// Wired pods whose last plan needed no write, by resourceVersion: they
    /// are skipped until the pod object changes (a pass stays O(changes)).
    settled: HashMap<String, String>,
    /// Pods the last plan left unsettled (an Error to retry, a write).
    unsettled: usize,
    /// Bumped whenever `wired` changes (the bindings must be re-read).
    version: u64,
    next_endpoint: u32,
}

fn pod_ref(pod: &Pod) -> PodRef {
    PodRef::new(
        pod.uid().unwrap_or_default(),
        pod.namespace().unwrap_or_default(),
        pod.name_any(),
    )
}

fn write(pod: &Pod, key: &'static str, value: String) -> PodWrite {
    PodWrite {
        namespace: pod.namespace().unwrap_or_default(),
        name: pod.name_any(),
        key,
        value,
    }
}

fn finished(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded") | Some("Failed"))
}

impl Handshake {
    /// A handshake resolving representors with `reps` and writing routes
    /// per `routing`. IPs are allocated once [`Handshake::set_subnets`] ran.
    pub fn new(reps: Representors, routing: PodRouting) -> Self {
        Self {
            ipam: None,
            subnets: Vec::new(),
            routing,
            reps,
            wired: BTreeMap::new(),
            settled: HashMap::new(),
            unsettled: 0,
            version: 0,
            next_endpoint: 1,
        }
    }

    /// Uses the node's subnets (`k8s.ovn.org/node-subnets`). On a change the
    /// allocator is rebuilt; pods whose IPs fall outside are returned (they
    /// keep running but get no new wiring until recreated).
    ///
    /// # Errors
    /// The allocator's error for unusable subnets.
    pub fn set_subnets(
        &mut self,
        subnets: &[IpNet],
    ) -> Result<Vec<PodRef>, crate::ipam::IpamError> {
        if subnets == self.subnets.as_slice() {
            return Ok(Vec::new());
        }
        let (ipam, stranded) = match &self.ipam {
            None => (PodIpAllocator::new(subnets)?, Vec::new()),
            Some(old) => {
                let r = old.with_subnets(subnets)?;
                (
                    r.allocator,
                    r.stranded.into_iter().map(|(a, _)| a.pod).collect(),
                )
            }
        };
        self.ipam = Some(ipam);
        self.subnets = subnets.to_vec();
        self.settled.clear();
        Ok(stranded)
    }

    /// Restart safety: takes every IP already written in local pods'
    /// `pod-networks` before anything is allocated. Returns the pods whose
    /// annotation could not be restored (conflicts), with the reason.
    pub fn restore(&mut self, pods: &[Arc<Pod>]) -> Vec<(PodRef, String)> {
        let mut failed = Vec::new();
        for pod in pods {
            if let Some(Err(e)) = self.restore_one(pod) {
                failed.push((pod_ref(pod), e));
            }
        }
        failed
    }

    fn restore_one(&mut self, pod: &Pod) -> Option<Result<Vec<IpAddr>, String>> {
        let text = pod.annotations().get(keys::POD_NETWORKS)?;
        let ipam = self.ipam.as_mut()?;
        let r = pod_ref(pod);
        if let Some(a) = ipam.allocation(&r.uid) {
            return Some(Ok(a.ips.clone()));
        }
        let nets = match PodNetworks::parse(text) {
            Ok(n) => n,
            Err(e) => return Some(Err(e.to_string())),
        };
        let ips: Vec<IpAddr> = match nets.default_network() {
            Ok(n) => n.ip_addresses.iter().map(IpNet::addr).collect(),
            Err(e) => return Some(Err(e.to_string())),
        };
        Some(
            ipam.restore(&r, &ips)
                .map(|()| ips)
                .map_err(|e| e.to_string()),
        )
    }

    /// Decides the writes for the host node's pods (`local`: every pod whose
    /// `spec.nodeName` is the host node).
    pub fn plan(&mut self, local: &[Arc<Pod>]) -> Plan {
        let mut plan = Plan::default();
        let mut seen = BTreeSet::new();
        self.unsettled = 0;
        for pod in local {
            if !pod.annotations().contains_key(keys::DPU_CONNECTION_DETAILS) || finished(pod) {
                continue;
            }
            let uid = pod.metadata.uid.as_deref().unwrap_or_default();
            seen.insert(uid.to_string());
            // Settled pods cost a lookup, not a PodRef and its strings.
            let rv = pod.metadata.resource_version.as_ref();
            if rv.is_some() && self.settled.get(uid) == rv {
                continue;
            }
            let r = pod_ref(pod);
            let rv = rv.cloned();
            let uid = r.uid.clone();
            let writes = plan.networks.len() + plan.statuses.len();
            self.plan_pod(pod, r, &mut plan);
            let quiet = plan.networks.len() + plan.statuses.len() == writes;
            // Only Ready pods settle: a pod answered with Error is retried
            // every pass (an IP or a representor may have become free).
            match rv {
                Some(rv) if quiet && self.wired.contains_key(&uid) => {
                    self.settled.insert(uid, rv);
                }
                _ => {
                    self.settled.remove(&uid);
                    self.unsettled += 1;
                }
            }
        }
        let gone: Vec<String> = self
            .wired
            .keys()
            .filter(|u| !seen.contains(*u))
            .cloned()
            .collect();
        self.settled.retain(|uid, _| seen.contains(uid));
        for uid in gone {
            if let Some(w) = self.unwire(&uid) {
                plan.unwired.push(w.pod);
            }
            if let Some(ipam) = self.ipam.as_mut() {
                ipam.release(&uid);
            }
        }
        plan
    }

    fn plan_pod(&mut self, pod: &Pod, r: PodRef, plan: &mut Plan) {
        match self.wire(pod, &r) {
            Ok((wiring, networks)) => {
                if pod.annotations().get(keys::POD_NETWORKS) != Some(&networks) {
                    plan.networks.push(write(pod, keys::POD_NETWORKS, networks));
                }
                if self.wired.get(&r.uid) != Some(&wiring) {
                    self.wired.insert(r.uid.clone(), wiring);
                    self.version += 1;
                }
                self.set_status(pod, DpuConnectionStatus::ready(), plan);
            }
            Err(reason) => {
                if let Some(w) = self.unwire(&r.uid) {
                    plan.unwired.push(w.pod);
                }
                self.set_status(pod, DpuConnectionStatus::error(reason), plan);
            }
        }
    }

    fn set_status(&self, pod: &Pod, status: DpuConnectionStatus, plan: &mut Plan) {
        let current = pod
            .annotations()
            .get(keys::DPU_CONNECTION_STATUS)
            .and_then(|t| DpuConnectionStatusMap::parse(t).ok())
            .and_then(|m| m.network(DEFAULT_NETWORK).ok().cloned());
        if current.as_ref() == Some(&status) {
            return;
        }
        if let Ok(json) = DpuConnectionStatusMap::for_default(status).to_json() {
            plan.statuses
                .push(write(pod, keys::DPU_CONNECTION_STATUS, json));
        }
    }

    /// Wires one pod: the reason is what the host's CNI will report.
    fn wire(&mut self, pod: &Pod, r: &PodRef) -> Result<(Wiring, String), String> {
        let text = pod
            .annotations()
            .get(keys::DPU_CONNECTION_DETAILS)
            .map(String::as_str)
            .unwrap_or("");
        let details = DpuConnectionDetailsMap::parse(text).map_err(|e| e.to_string())?;
        let d = details.default_network().map_err(|e| e.to_string())?;
        let rep = d.representor().map_err(|e| e.to_string())?;
        let port = self.reps.resolve(rep).map_err(|e| e.to_string())?;
        let ips = self.ips_for(pod, r)?;
        let entry =
            PodNetwork::primary(&ips, &self.subnets, &self.routing).map_err(|e| e.to_string())?;
        let networks = PodNetworks::for_default(entry.clone())
            .to_json()
            .map_err(|e| e.to_string())?;
        let endpoint = match self.wired.get(&r.uid) {
            Some(w) => w.endpoint,
            None => {
                self.next_endpoint += 1;
                EndpointId(self.next_endpoint - 1)
            }
        };
        let wiring = Wiring {
            pod: r.clone(),
            port,
            ips: entry.ip_addresses.clone(),
            mac: entry.mac_address,
            endpoint,
        };
        Ok((wiring, networks))
    }

    fn ips_for(&mut self, pod: &Pod, r: &PodRef) -> Result<Vec<IpAddr>, String> {
        if self.ipam.is_none() {
            return Err("this node has no k8s.ovn.org/node-subnets yet".to_string());
        }
        if let Some(restored) = self.restore_one(pod) {
            return restored.map_err(|e| format!("cannot reuse the pod's pod-networks: {e}"));
        }
        let ipam = self.ipam.as_mut().ok_or("no allocator")?;
        if let Some(a) = ipam.allocation(&r.uid) {
            return Ok(a.ips.clone());
        }
        ipam.allocate(r).map_err(|e| e.to_string())
    }

    /// The bindings the translator turns into datapath pods.
    pub fn bindings(&self) -> Vec<PodBinding> {
        self.wired
            .values()
            .map(|w| PodBinding {
                pod_uid: w.pod.uid.clone(),
                network: DEFAULT_NETWORK.to_string(),
                port: PortRef {
                    name: w.port.clone(),
                },
                ips: w.ips.clone(),
                mac: w.mac,
                endpoint: w.endpoint,
            })
            .collect()
    }

    fn unwire(&mut self, uid: &str) -> Option<Wiring> {
        let w = self.wired.remove(uid)?;
        self.version += 1;
        Some(w)
    }

    /// Changes whenever the wired pods (and so [`Handshake::bindings`]) do.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Pods the last [`Handshake::plan`] could not settle: they are planned
    /// again on the next pass even if no pod changed (an Error is retried,
    /// a failed write made again).
    pub fn unsettled(&self) -> usize {
        self.unsettled
    }

    /// The datapath port of a representor (the management port's too).
    ///
    /// # Errors
    /// The representor is neither configured nor found in sysfs.
    pub fn representor(
        &self,
        rep: crate::protocol::representor::VfRepresentor,
    ) -> Result<String, super::representor::RepresentorError> {
        self.reps.resolve(rep)
    }

    /// Pods wired now.
    pub fn wired(&self) -> impl Iterator<Item = &Wiring> {
        self.wired.values()
    }

    /// IPs still free.
    pub fn free_ips(&self) -> u64 {
        self.ipam.as_ref().map_or(0, PodIpAllocator::free_count)
    }
}
