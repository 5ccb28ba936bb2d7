//! The cluster the `pipeline` scenario runs, seen from one DPU (node-id 2):
//! the tables its control plane would send (local pods on VF
//! representors, remote nodes over OVN interconnect, ClusterIP services
//! with their endpoints, policies on some pods) and the traffic of one
//! local pod into it.
//!
//! Addresses: cluster network `10.128.0.0/14` with a `/24` per node (node
//! `n` has `10.(128 + n/256).(n%256).0/24`), services `10.96.0.0/16`,
//! encap IPs `172.20.0.0/16`, transit switch `100.88.0.0/16`, join
//! `100.64.0.0/16`. Everything is derived from the node and pod numbers, so
//! the parent (which writes the pcap) and the measured child (which sends
//! the tables) build the same cluster from the same options.

use std::net::{IpAddr, Ipv4Addr};

use dpuflow_engine::lookup::PortRole;
use dpuflow_net::MacAddr;
use dpuflow_tables::{
    AllowRule, Backend, DirectionPolicy, EndpointId, Gateway, LocalPod, Peers, PodKey, Policy,
    PortRange, PortRef, Ports, Prefix, Protocol, RemoteNode, Service, ServiceKey, ServicePort,
    Tables,
};
use etherparse::PacketBuilder;

use crate::Error;

/// Our node-id.
pub const NODE_ID: u16 = 2;
/// The port every pod listens on (service backends included).
pub const POD_PORT: u16 = 8080;
/// The ClusterIP services' port.
pub const SERVICE_PORT: u16 = 80;
/// The MAC every tunnel peer's encap IP resolves to (the underlay).
pub const UNDERLAY_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0xee, 0x01]);
/// Node-ids fit a `/14` of `/24`s; 0 and 1 are left out as OVN-K does.
const MAX_NODE_ID: u32 = 1023;
/// Pod addresses start at `.10` of a node's subnet.
const FIRST_HOST: u32 = 10;
/// Remote pods per node that flows are spread over.
const REMOTE_HOSTS: u32 = 200;
/// First source port of the flows (one flow per source port).
const FIRST_SPORT: u32 = 1024;

/// How big the cluster is and how the traffic is spread.
#[derive(clap::Args, Clone, Debug)]
pub struct Cluster {
    /// Local pods (pod 0 sends the traffic, alone on its representor).
    #[arg(long, default_value_t = 100)]
    pub local_pods: u32,
    /// VF representor ports the other local pods are spread over. Debian's
    /// DPDK has at most 32 ports (`RTE_MAX_ETHPORTS`): with the uplink, the
    /// host PF and pod 0's, 29 is the most; beyond that pods share one
    /// (only traffic *to* them runs, so their port security is not used).
    #[arg(long, default_value_t = 29)]
    pub representors: u32,
    /// Remote nodes reached over OVN interconnect (Geneve).
    #[arg(long, default_value_t = 1000)]
    pub remote_nodes: u32,
    /// ClusterIP services (UDP).
    #[arg(long, default_value_t = 2000)]
    pub services: u32,
    /// Endpoints per service (every fifth a local pod, the rest remote).
    #[arg(long, default_value_t = 5)]
    pub endpoints: u32,
    /// Every n-th local pod has an ingress policy (and pod 0 an egress
    /// one); 0: no policies.
    #[arg(long, default_value_t = 10)]
    pub policy_every: u32,
    /// Distinct flows (UDP source ports of pod 0), a third each to another
    /// local pod, to a remote pod and to a ClusterIP.
    #[arg(long, default_value_t = 10_000)]
    pub flows: u32,
    /// Frame size in bytes, without FCS.
    #[arg(long, default_value_t = 64)]
    pub frame: usize,
}

/// Where a flow is addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Another local pod (routed: TTL, MACs).
    LocalPod(u32),
    /// A pod on remote node `node` (Geneve encap).
    RemotePod {
        /// The node's id.
        node: u16,
    },
    /// A ClusterIP (DNAT, then local or remote).
    Service(u32),
}

impl Cluster {
    /// Refuses sizes the address plan cannot hold.
    pub fn check(&self) -> Result<(), Error> {
        let max_remote = MAX_NODE_ID - u32::from(NODE_ID);
        if self.local_pods < 2 || self.local_pods > 240 {
            return Err("--local-pods must be 2..=240 (one /24, from .10)".into());
        }
        if self.remote_nodes == 0 || self.remote_nodes > max_remote {
            return Err(format!("--remote-nodes must be 1..={max_remote}").into());
        }
        if self.services == 0 || self.services > 60_000 || self.endpoints == 0 {
            return Err("--services must be 1..=60000 and --endpoints at least 1".into());
        }
        if self.flows < 3 || self.flows > u32::from(u16::MAX) - FIRST_SPORT {
            return Err("--flows must be 3..=64511 (one UDP source port each)".into());
        }
        Ok(())
    }

    /// Representor ports of the pods other than pod 0.
    fn shared_representors(&self) -> u32 {
        self.representors.clamp(1, self.local_pods - 1)
    }

    /// The pod interface that carries pod `k`'s address: the first pod on
    /// `k`'s representor (pods 1..=n are the first on the n shared ones).
    pub fn port_owner(&self, k: u32) -> u32 {
        match k {
            0 => 0,
            _ => 1 + (k - 1) % self.shared_representors(),
        }
    }

    /// Representor name of local pod `k` (`pf0vf0` is left to the
    /// management port): pod 0 alone on `pf0vf1`, the others spread
    /// round-robin over the rest.
    pub fn pod_port_name(&self, k: u32) -> String {
        format!("pf0vf{}", self.port_owner(k) + 1)
    }

    /// The datapath's ports by netdev name and role: the uplink, the host
    /// PF, then the pods' representors, pod 0's first.
    pub fn ports(&self) -> Vec<(String, PortRole)> {
        let mut out = vec![
            ("p0".to_owned(), PortRole::Uplink),
            ("pf0hpf".to_owned(), PortRole::HostPf),
        ];
        let reps = 1 + self.shared_representors();
        out.extend((0..reps).map(|r| (format!("pf0vf{}", r + 1), PortRole::Pod)));
        out
    }

    /// The pod subnet of node `id`.
    fn subnet(id: u32) -> Prefix {
        let net = Ipv4Addr::new(10, (128 + id / 256) as u8, (id % 256) as u8, 0);
        prefix(IpAddr::V4(net), 24)
    }

    /// Host `host` (from 0) of node `id`'s subnet, from `.10`.
    fn host(id: u32, host: u32) -> IpAddr {
        let b = (128 + id / 256) as u8;
        IpAddr::V4(Ipv4Addr::new(
            10,
            b,
            (id % 256) as u8,
            (FIRST_HOST + host) as u8,
        ))
    }

    /// Local pod `k`'s address.
    pub fn local_pod_ip(k: u32) -> IpAddr {
        Self::host(u32::from(NODE_ID), k)
    }

    /// Local pod `k`'s MAC (OVN-K derives it from the address).
    pub fn local_pod_mac(k: u32) -> MacAddr {
        MacAddr::from_ovn_ip(Self::local_pod_ip(k))
    }

    /// The gateway (router port) MAC pods send routed traffic to.
    pub fn gateway_mac() -> MacAddr {
        MacAddr::from_ovn_ip(IpAddr::V4(Ipv4Addr::new(10, 128, NODE_ID as u8, 1)))
    }

    /// The encap IP of node `id` (ours included).
    pub fn encap_ip(id: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(172, 20, (id / 256) as u8, (id % 256) as u8))
    }

    fn transit_ip(id: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(100, 88, (id / 256) as u8, (id % 256) as u8))
    }

    /// The ids of the remote nodes.
    pub fn remote_ids(&self) -> impl Iterator<Item = u32> {
        let first = u32::from(NODE_ID) + 1;
        first..first + self.remote_nodes
    }

    /// Service `i`'s cluster IP.
    pub fn cluster_ip(i: u32) -> IpAddr {
        let n = i + 10;
        IpAddr::V4(Ipv4Addr::new(10, 96, (n / 256) as u8, (n % 256) as u8))
    }

    /// Endpoint `e` of service `i`: every fifth (by `i + e`) a local pod
    /// other than pod 0 (no hairpin), the others pods on remote nodes.
    fn backend(&self, i: u32, e: u32) -> Backend {
        let ip = if (i + e).is_multiple_of(5) {
            Self::local_pod_ip(1 + (i + e) % (self.local_pods - 1))
        } else {
            let node = u32::from(NODE_ID) + 1 + (i * self.endpoints + e) % self.remote_nodes;
            Self::host(node, (i + e) % REMOTE_HOSTS)
        };
        Backend { ip, port: POD_PORT }
    }

    /// The tables the control plane sends for this cluster.
    pub fn tables(&self) -> Tables {
        let mut t = Tables::default();
        // More pods than ports: the pods sharing a representor are one pod
        // interface with all their addresses (a representor carries one
        // pod; the datapath refuses a second).
        for k in 0..self.local_pods {
            let ip = Self::local_pod_ip(k);
            let owner = self.port_owner(k);
            let pod = t.pods.entry(pod_key(owner)).or_insert_with(|| LocalPod {
                endpoint: EndpointId(owner + 1),
                port: PortRef::new(self.pod_port_name(owner)),
                mac: Self::local_pod_mac(owner),
                ips: Vec::new(),
            });
            pod.ips.push(ip);
            pod.ips.sort();
        }
        if self.policy_every > 0 {
            // Pod 0 may reach pods anywhere in the cluster on the pods'
            // port; every n-th pod admits the cluster on that port only.
            // Everything the scenario sends passes (the mix implies no drop).
            let cluster_udp = || {
                DirectionPolicy::isolated([AllowRule {
                    peers: Peers::Prefixes([cluster_cidr()].into_iter().collect()),
                    ports: Ports::ranges([PortRange::single(Protocol::Udp, POD_PORT)]),
                }])
            };
            t.policies.insert(
                pod_key(0),
                Policy {
                    ingress: DirectionPolicy::open(),
                    egress: cluster_udp(),
                    allow_arp_nd: true,
                    allow_management: true,
                },
            );
            for k in (self.policy_every..self.local_pods).step_by(self.policy_every as usize) {
                t.policies.insert(
                    pod_key(self.port_owner(k)),
                    Policy {
                        ingress: cluster_udp(),
                        egress: DirectionPolicy::open(),
                        allow_arp_nd: true,
                        allow_management: true,
                    },
                );
            }
        }
        for id in self.remote_ids() {
            t.remote_nodes.insert(
                format!("node-{id}"),
                RemoteNode {
                    pod_subnets: vec![Self::subnet(id)],
                    encap_ips: vec![Self::encap_ip(id)],
                    node_id: Some(id as u16),
                    transit_ips: vec![Self::transit_ip(id)],
                },
            );
        }
        for i in 0..self.services {
            let mut backends: Vec<Backend> =
                (0..self.endpoints).map(|e| self.backend(i, e)).collect();
            backends.sort();
            backends.dedup();
            t.services.insert(
                ServiceKey::new("default", format!("svc-{i}")),
                Service {
                    cluster_ips: vec![Self::cluster_ip(i)],
                    external_ips: vec![],
                    ports: vec![ServicePort {
                        protocol: Protocol::Udp,
                        port: SERVICE_PORT,
                        node_port: None,
                        backends,
                        local_backends: vec![],
                    }],
                    affinity_timeout: None,
                    external_local: false,
                    internal_local: false,
                },
            );
        }
        let ip = |s: [u8; 4]| IpAddr::V4(Ipv4Addr::from(s));
        t.gateway = Some(Gateway {
            node_ips: vec![ip([172, 21, 0, 2])],
            next_hops: vec![ip([172, 21, 0, 254])],
            vlan: None,
            router_subnet: None,
            host_pf_mac: None,
            encap_ip: Some(Self::encap_ip(u32::from(NODE_ID))),
            node_id: Some(NODE_ID),
            transit_ips: vec![Self::transit_ip(u32::from(NODE_ID))],
            pod_subnets: vec![Self::subnet(u32::from(NODE_ID))],
            management_ips: vec![],
            management_port: None,
            cluster_cidrs: vec![cluster_cidr()],
            service_cidrs: vec![prefix(ip([10, 96, 0, 0]), 16)],
            masquerade_subnets: vec![prefix(ip([169, 254, 0, 0]), 17)],
            join_subnets: vec![prefix(ip([100, 64, 0, 0]), 16)],
            hairpin_snat: vec![ip([169, 254, 0, 5])],
        });
        t
    }

    /// Where flow `f` goes: a third each to a local pod, a remote pod and a
    /// ClusterIP, interleaved so every burst holds all three.
    pub fn kind(&self, f: u32) -> Kind {
        let n = f / 3;
        match f % 3 {
            0 => Kind::LocalPod(1 + n % (self.local_pods - 1)),
            1 => Kind::RemotePod {
                node: (u32::from(NODE_ID) + 1 + n % self.remote_nodes) as u16,
            },
            _ => Kind::Service(n % self.services),
        }
    }

    /// Flow `f`'s destination address and port.
    pub fn destination(&self, f: u32) -> (IpAddr, u16) {
        match self.kind(f) {
            Kind::LocalPod(k) => (Self::local_pod_ip(k), POD_PORT),
            Kind::RemotePod { node } => {
                let host = (f / 3 / self.remote_nodes) % REMOTE_HOSTS;
                (Self::host(u32::from(node), host), POD_PORT)
            }
            Kind::Service(i) => (Self::cluster_ip(i), SERVICE_PORT),
        }
    }

    /// Flow `f`'s UDP source port.
    pub fn source_port(f: u32) -> u16 {
        (FIRST_SPORT + f) as u16
    }

    /// Flow `f`'s frame as pod 0 sends it: from its MAC and address to the
    /// gateway's MAC, UDP, checksums filled in, padded to the frame size.
    pub fn frame(&self, f: u32) -> Result<Vec<u8>, Error> {
        const HEADERS: usize = 14 + 20 + 8;
        let (IpAddr::V4(dst), dport) = self.destination(f) else {
            return Err("IPv4 only".into());
        };
        let IpAddr::V4(src) = Self::local_pod_ip(0) else {
            return Err("IPv4 only".into());
        };
        let len = self.frame.clamp(60, 1500);
        let builder = PacketBuilder::ethernet2(Self::local_pod_mac(0).0, Self::gateway_mac().0)
            .ipv4(src.octets(), dst.octets(), 64)
            .udp(Self::source_port(f), dport);
        let mut out = Vec::with_capacity(len);
        builder.write(&mut out, &vec![0u8; len - HEADERS])?;
        Ok(out)
    }
}

fn pod_key(k: u32) -> PodKey {
    PodKey::primary("default", format!("pod-{k}"))
}

fn cluster_cidr() -> Prefix {
    prefix(IpAddr::V4(Ipv4Addr::new(10, 128, 0, 0)), 14)
}

fn prefix(addr: IpAddr, len: u8) -> Prefix {
    // Every prefix here is built with its host bits clear.
    Prefix::new(addr, len).unwrap_or_else(|_| Prefix::host(addr))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use dpuflow_conntrack::{Config, Conntrack};
    use dpuflow_engine::lookup::{Compiled, NodeSettings, Ports};
    use dpuflow_engine::{Neighbours, Reason, Verdict, Worker};
    use dpuflow_packet::{parse, Frame, VecFrame, L3};

    use super::*;

    fn small() -> Cluster {
        Cluster {
            local_pods: 20,
            representors: 7,
            remote_nodes: 50,
            services: 40,
            endpoints: 5,
            policy_every: 4,
            flows: 3000,
            frame: 64,
        }
    }

    /// Every flow of the scenario through the engine itself (no DPDK):
    /// nothing is dropped, every connection is created once, local flows
    /// reach their pod's port, remote ones leave Geneve-encapsulated
    /// through the uplink to the right node, services are DNATed to one of
    /// their endpoints — the work the benchmark claims to measure.
    #[test]
    fn every_flow_is_forwarded_as_its_kind_says() {
        let c = small();
        c.check().expect("sizes fit");
        let mut ports = Ports::new();
        let ids: Vec<(String, PortRole, u16)> = c
            .ports()
            .into_iter()
            .enumerate()
            .map(|(i, (name, role))| (name, role, i as u16))
            .collect();
        for (name, role, id) in &ids {
            ports.add(name.clone(), *id, *role);
        }
        let port_of = |name: &str| ids.iter().find(|(n, ..)| n == name).unwrap().2;
        let (uplink, pod0) = (port_of("p0"), port_of(&c.pod_port_name(0)));
        let t = Compiled::new(&c.tables(), &ports, &NodeSettings::default());
        assert!(t.problems.is_empty(), "{:?}", t.problems);
        assert_eq!(
            ids.len(),
            2 + 1 + 7,
            "uplink, host PF, pod 0's and 7 shared"
        );
        assert!(
            (1..c.local_pods).all(|k| c.pod_port_name(k) != c.pod_port_name(0)),
            "pod 0 is alone on its representor (port security binds one pod)"
        );
        let (_ct, mut owners) = Conntrack::new(Config::default(), 1).unwrap();
        let neighbours = Neighbours::new(16);
        for id in c.remote_ids() {
            neighbours.set(Cluster::encap_ip(id), UNDERLAY_MAC);
        }
        let (_affinity, mut sticky) =
            Conntrack::new(dpuflow_engine::affinity::table_config(16), 1).unwrap();
        let mut w = Worker::new(
            owners.remove(0),
            sticky.remove(0),
            neighbours.view(),
            MacAddr([2, 0, 0, 0, 0, 9]),
        );
        let mut service_local = 0;
        for round in 0..2 {
            for f in 0..c.flows {
                let bytes = c.frame(f).unwrap();
                assert_eq!(bytes.len(), 64);
                let mut frame = VecFrame::new(&bytes);
                let v = w.process(&t, &mut frame, pod0, round);
                let Verdict::Tx(out) = v else {
                    panic!("flow {f} ({:?}): {v:?}", c.kind(f));
                };
                let p = parse(frame.bytes()).expect("output parses");
                let inner = p.innermost();
                let L3::Ipv4 { dst, ttl, .. } = inner.l3 else {
                    panic!("not IPv4");
                };
                assert_eq!(ttl, 63, "routed once");
                match c.kind(f) {
                    Kind::LocalPod(k) => {
                        assert_eq!(out, port_of(&c.pod_port_name(k)));
                        assert!(p.tunnel.is_none());
                        assert_eq!(inner.dst, Cluster::local_pod_mac(c.port_owner(k)));
                        assert_eq!(inner.src, Cluster::gateway_mac());
                    }
                    Kind::RemotePod { node } => {
                        assert_eq!(out, uplink);
                        let tun = p.tunnel.expect("Geneve");
                        assert_eq!(tun.ovn.map(|k| k.egress), Some(node));
                        assert_eq!(p.outer.dst, UNDERLAY_MAC);
                        assert_eq!(IpAddr::V4(dst), c.destination(f).0);
                    }
                    Kind::Service(i) => {
                        let backends: HashSet<IpAddr> =
                            (0..c.endpoints).map(|e| c.backend(i, e).ip).collect();
                        assert!(backends.contains(&IpAddr::V4(dst)), "DNAT to {dst}");
                        assert_eq!(out == uplink, p.tunnel.is_some());
                        service_local += u32::from(out != uplink && round == 0);
                    }
                }
            }
        }
        assert_eq!(w.stats.conns_created, u64::from(c.flows));
        assert_eq!(w.stats.conn_hits, u64::from(c.flows));
        assert_eq!(w.stats.forwarded, 2 * u64::from(c.flows));
        assert!(Reason::ALL.iter().all(|r| w.stats.drops_of(*r) == 0));
        // Some service flows land on a local endpoint, most on remote ones.
        let services = c.flows / 3;
        assert!(
            service_local > 0 && service_local < services / 2,
            "{service_local}"
        );
    }

    #[test]
    fn flows_are_distinct_and_mixed() {
        let c = small();
        let keys: HashSet<(u16, IpAddr)> = (0..c.flows)
            .map(|f| (Cluster::source_port(f), c.destination(f).0))
            .collect();
        assert_eq!(keys.len(), c.flows as usize);
        let kinds = |want: fn(&Kind) -> bool| (0..c.flows).filter(|f| want(&c.kind(*f))).count();
        assert_eq!(kinds(|k| matches!(k, Kind::LocalPod(_))), 1000);
        assert_eq!(kinds(|k| matches!(k, Kind::RemotePod { .. })), 1000);
        assert_eq!(kinds(|k| matches!(k, Kind::Service(_))), 1000);
        let big = Cluster {
            remote_nodes: 2000,
            ..small()
        };
        assert!(big.check().is_err(), "node-ids beyond the address plan");
    }
}
