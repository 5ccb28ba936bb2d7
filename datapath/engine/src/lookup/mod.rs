//! One table generation compiled for the packet path: what the builder
//! thread makes of [`Tables`] and publishes, and what workers read without
//! a lock. Every lookup a packet needs is one hash probe (pods by address,
//! service frontends, tunnel sources) or one longest-prefix match (routes
//! to other nodes).
//!
//! Compiling never fails: an entry the datapath cannot use (a pod whose
//! representor is not among the ports, a node without a node-id) is left
//! out and reported in [`Compiled::problems`], so that one broken object
//! never takes the others down.

pub mod node;
pub mod policy;
pub mod ports;

use std::collections::HashMap;
use std::net::IpAddr;

use dpuflow_net::MacAddr;
use dpuflow_tables::{Backend, Service, ServicePort, Tables};
use foldhash::fast::RandomState;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;

pub use node::{LocalNode, NodeSettings};
pub use policy::{AddrRanges, CompiledDirection, CompiledPolicy};
pub use ports::{PortRole, Ports};

/// A seeded hasher: keys come from packets, so collisions must not be
/// aimable at one bucket.
type Map<K, V> = HashMap<K, V, RandomState>;

/// A local pod interface (or the management port) as the packet path sees
/// it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodEntry {
    /// Human-readable key (`namespace/name@network`), for counters and logs.
    pub name: String,
    /// The DPDK port of its representor.
    pub port: u16,
    /// Its MAC: the only source MAC accepted from it, the destination MAC
    /// of what is delivered to it.
    pub mac: MacAddr,
    /// Its addresses: the only source addresses accepted from it.
    pub ips: Vec<IpAddr>,
    /// Its policy; `None` when no policy selects it.
    pub policy: Option<CompiledPolicy>,
    /// Whether this is the management port (host ↔ pods).
    pub management: bool,
}

/// Another node, reached over the transit switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteEntry {
    /// Node name.
    pub name: String,
    /// The Geneve destination.
    pub encap_ip: IpAddr,
    /// Its node-id: the egress key of the OVN option we send it.
    pub node_id: u16,
    /// Its transit router port MAC: the inner destination MAC.
    pub rtots_mac: MacAddr,
}

/// A service frontend: one VIP (cluster IP, external IP or node IP) with
/// one protocol and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Frontend {
    /// The virtual address.
    pub ip: IpAddr,
    /// IP protocol number.
    pub proto: u8,
    /// Port.
    pub port: u16,
}

/// What a frontend load-balances to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontendEntry {
    /// Service `namespace/name`, for counters and logs.
    pub service: String,
    /// Backends of the frontend's address family, sorted; empty means
    /// "reject" (TCP RST, ICMP unreachable), as OVN's load balancers do.
    pub backends: Vec<Backend>,
    /// `ClientIP` affinity timeout in seconds.
    pub affinity_timeout: Option<u32>,
    /// Traffic from outside the cluster to this frontend (a node port or an
    /// external IP with `externalTrafficPolicy: Cluster`) is SNATed to our
    /// join address, as OVN's gateway router does, so that a remote
    /// endpoint's reply returns here.
    pub snat_to_join: bool,
}

/// One compiled generation.
#[derive(Debug)]
pub struct Compiled {
    /// Port roles by DPDK port id.
    pub ports: Ports,
    /// This node's addresses and interconnect identity; `None` until the
    /// node's annotations are known (pod traffic is dropped until then).
    pub local: Option<LocalNode>,
    /// Local pods and the management port.
    pub pods: Vec<PodEntry>,
    pod_by_ip: Map<IpAddr, u32>,
    /// Remote nodes.
    pub remotes: Vec<RemoteEntry>,
    remote_by_encap: Map<IpAddr, u32>,
    routes4: PrefixMap<Ipv4Net, u32>,
    routes6: PrefixMap<Ipv6Net, u32>,
    frontends: Map<Frontend, u32>,
    /// Frontend entries, indexed by what [`Compiled::frontend`] returns.
    pub frontend_entries: Vec<FrontendEntry>,
    /// Why entries were left out.
    pub problems: Vec<String>,
}

impl Compiled {
    /// Compiles `tables` for the ports the datapath has.
    pub fn new(tables: &Tables, ports: &Ports, settings: &NodeSettings) -> Self {
        let mut c = Compiled {
            ports: ports.clone(),
            local: None,
            pods: Vec::new(),
            pod_by_ip: Map::default(),
            remotes: Vec::new(),
            remote_by_encap: Map::default(),
            routes4: PrefixMap::new(),
            routes6: PrefixMap::new(),
            frontends: Map::default(),
            frontend_entries: Vec::new(),
            problems: Vec::new(),
        };
        c.local = tables
            .gateway
            .as_ref()
            .map(|g| LocalNode::new(g, settings, &mut c.problems));
        c.add_pods(tables);
        c.add_management(tables);
        c.add_remotes(tables);
        c.add_services(tables);
        c
    }

    /// The pod (or management port) owning `ip` on this node.
    #[inline]
    pub fn pod_by_ip(&self, ip: IpAddr) -> Option<(u32, &PodEntry)> {
        let idx = *self.pod_by_ip.get(&ip)?;
        Some((idx, self.pods.get(idx as usize)?))
    }

    /// The pod at index `idx`.
    #[inline]
    pub fn pod(&self, idx: u32) -> Option<&PodEntry> {
        self.pods.get(idx as usize)
    }

    /// The remote node whose subnet (or join address) holds `ip`.
    #[inline]
    pub fn route(&self, ip: IpAddr) -> Option<&RemoteEntry> {
        let idx = match ip {
            IpAddr::V4(v4) => *self.routes4.get_lpm(&Ipv4Net::from(v4))?.1,
            IpAddr::V6(v6) => *self.routes6.get_lpm(&Ipv6Net::from(v6))?.1,
        };
        self.remotes.get(idx as usize)
    }

    /// The remote node whose tunnel endpoint is `ip`.
    #[inline]
    pub fn remote_by_encap(&self, ip: IpAddr) -> Option<&RemoteEntry> {
        self.remotes.get(*self.remote_by_encap.get(&ip)? as usize)
    }

    /// The service frontend at `ip`/`proto`/`port`.
    #[inline]
    pub fn frontend(&self, ip: IpAddr, proto: u8, port: u16) -> Option<&FrontendEntry> {
        let idx = *self.frontends.get(&Frontend { ip, proto, port })?;
        self.frontend_entries.get(idx as usize)
    }

    fn add_pods(&mut self, tables: &Tables) {
        for (key, pod) in &tables.pods {
            let Some(port) = self.ports.id_of(&pod.port.name) else {
                self.problems.push(format!(
                    "pod {key}: representor {} is not a datapath port",
                    pod.port.name
                ));
                continue;
            };
            let entry = PodEntry {
                name: key.to_string(),
                port,
                mac: pod.mac,
                ips: pod.ips.clone(),
                policy: tables.policies.get(key).map(CompiledPolicy::compile),
                management: false,
            };
            self.insert_pod(entry);
        }
    }

    /// The management port is a port of the node switch like a pod's, with
    /// the management IPs and OVN-K's MAC for them.
    fn add_management(&mut self, tables: &Tables) {
        let Some(g) = &tables.gateway else { return };
        let (Some(port_ref), Some(first)) = (&g.management_port, g.management_ips.first()) else {
            return;
        };
        let Some(port) = self.ports.id_of(&port_ref.name) else {
            self.problems.push(format!(
                "management port: representor {} is not a datapath port",
                port_ref.name
            ));
            return;
        };
        self.insert_pod(PodEntry {
            name: "management-port".to_owned(),
            port,
            mac: MacAddr::from_ovn_ip(*first),
            ips: g.management_ips.clone(),
            policy: None,
            management: true,
        });
    }

    fn insert_pod(&mut self, entry: PodEntry) {
        let idx = self.pods.len() as u32;
        if self.ports.role(entry.port) != Some(PortRole::Pod) {
            self.problems.push(format!(
                "{}: port {} is not a pod representor",
                entry.name, entry.port
            ));
            return;
        }
        if let Some(other) = self
            .ports
            .pod_on(entry.port)
            .and_then(|i| self.pods.get(i as usize))
        {
            self.problems.push(format!(
                "{}: port {} already carries {}",
                entry.name, entry.port, other.name
            ));
            return;
        }
        for ip in &entry.ips {
            if self.pod_by_ip.insert(*ip, idx).is_some() {
                self.problems
                    .push(format!("{}: address {ip} is used twice", entry.name));
            }
        }
        self.ports.bind_pod(entry.port, idx);
        self.pods.push(entry);
    }

    fn add_remotes(&mut self, tables: &Tables) {
        let join = self
            .local
            .as_ref()
            .map(|l| l.join_subnets.clone())
            .unwrap_or_default();
        for (name, node) in &tables.remote_nodes {
            let (Some(encap_ip), Some(node_id)) = (node.tunnel_ip(), node.node_id) else {
                self.problems.push(format!(
                    "node {name}: no encap IP or node-id yet, unreachable"
                ));
                continue;
            };
            let Some(transit) = node.transit_ips.first() else {
                self.problems.push(format!(
                    "node {name}: no transit switch address yet, unreachable"
                ));
                continue;
            };
            let idx = self.remotes.len() as u32;
            self.remotes.push(RemoteEntry {
                name: name.clone(),
                encap_ip,
                node_id,
                rtots_mac: MacAddr::from_ovn_ip(*transit),
            });
            self.remote_by_encap.insert(encap_ip, idx);
            let join_hosts = join.iter().filter_map(|j| node::join_address(j, node_id));
            let subnets = node.pod_subnets.iter().map(|p| p.net());
            for net in subnets.chain(join_hosts.map(IpNet::from)) {
                match net {
                    IpNet::V4(n) => self.routes4.insert(n, idx),
                    IpNet::V6(n) => self.routes6.insert(n, idx),
                };
            }
        }
    }

    fn add_services(&mut self, tables: &Tables) {
        let node_ips = self
            .local
            .as_ref()
            .map(|l| l.node_ips.clone())
            .unwrap_or_default();
        for (key, svc) in &tables.services {
            for port in &svc.ports {
                let proto = port.protocol.ip_proto();
                for &ip in &svc.cluster_ips {
                    let backends = port.cluster_ip_backends(svc);
                    let fe = Frontend {
                        ip,
                        proto,
                        port: port.port,
                    };
                    self.add_frontend(key.to_string(), svc, fe, backends, false);
                }
                for &ip in &svc.external_ips {
                    let backends = port.external_backends(svc);
                    let fe = Frontend {
                        ip,
                        proto,
                        port: port.port,
                    };
                    self.add_frontend(key.to_string(), svc, fe, backends, !svc.external_local);
                }
                self.add_node_ports(key.to_string(), svc, port, &node_ips);
            }
        }
    }

    fn add_node_ports(
        &mut self,
        name: String,
        svc: &Service,
        port: &ServicePort,
        node_ips: &[IpAddr],
    ) {
        let Some(node_port) = port.node_port else {
            return;
        };
        let proto = port.protocol.ip_proto();
        for &ip in node_ips {
            let backends = port.external_backends(svc);
            let fe = Frontend {
                ip,
                proto,
                port: node_port,
            };
            self.add_frontend(name.clone(), svc, fe, backends, !svc.external_local);
        }
    }

    fn add_frontend(
        &mut self,
        service: String,
        svc: &Service,
        frontend: Frontend,
        backends: &[Backend],
        snat_to_join: bool,
    ) {
        let idx = self.frontend_entries.len() as u32;
        let Frontend { ip, proto, port } = frontend;
        if self.frontends.insert(frontend, idx).is_some() {
            self.problems.push(format!(
                "service {service}: frontend {ip} {proto}/{port} is used twice"
            ));
        }
        let same_family = backends.iter().filter(|b| b.ip.is_ipv4() == ip.is_ipv4());
        self.frontend_entries.push(FrontendEntry {
            service,
            backends: same_family.copied().collect(),
            affinity_timeout: svc.affinity_timeout,
            snat_to_join,
        });
    }
}
