//! One worker's pipeline: a frame in on a port, a [`Verdict`] out.
//!
//! parse → by the port's role: from a pod (port security, ARP/ND for the
//! gateway, then tracked), from the uplink (Geneve from another zone,
//! checked as strictly as OVN checks it, then tracked; ARP for our encap
//! IP; anything else is the host's), from the host PF (to the uplink).
//! Tracked traffic: connection lookup → hit: the NAT the connection
//! recorded; miss: service load balancing, routing, policy, then the
//! connection is created → deliver to a local pod, or encapsulate towards
//! another node exactly as OVN interconnect does.

use std::net::IpAddr;
use std::sync::Arc;

use dpuflow_conntrack::{Conntrack, CreateError, Dir, FlowKey, Owner};
use dpuflow_net::MacAddr;
use dpuflow_packet::edit::{self, EditError, Encap, NatRewrite, Side};
use dpuflow_packet::reply::{self, IcmpError, Responder};
use dpuflow_packet::{parse, Frame, Headers, OvnKeys, Parsed, L3, L4};

use crate::decide::{self, ingress_allows, next_hop, Next};
use crate::flow::{self, Track, POD_ZONE};
use crate::lookup::{Compiled, LocalNode, PortRole, RemoteEntry};
use crate::neighbour::NeighbourView;
use crate::reason::Reason;
use crate::stats::Stats;

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it on this port (forwarded, or an answer back out the port it
    /// came in on).
    Tx(u16),
    /// Free it; the reason is counted.
    Drop(Reason),
}

/// ICMPv6 types of neighbour discovery and the rest of IPv6 control.
mod icmp6 {
    pub const ROUTER_SOLICIT: u8 = 133;
    pub const ROUTER_ADVERT: u8 = 134;
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    pub const NEIGHBOR_ADVERT: u8 = 136;
    pub const MLD: [u8; 4] = [130, 131, 132, 143];
}

/// Lowest and span of the Geneve UDP source ports (as OVS userspace uses).
const SPORT_BASE: u16 = 32768;
const SPORT_SPAN: u32 = 61000 - 32768;

/// Who a tracked packet came from.
#[derive(Clone, Copy, Debug)]
enum Origin {
    /// A local pod (or the management port), by index.
    Pod(u32),
    /// Another node, over the transit switch.
    Remote,
}

/// One worker's state: its share of the connection table, its view of the
/// neighbours, its counters.
pub struct Worker {
    owner: Owner,
    neighbours: NeighbourView,
    uplink_mac: MacAddr,
    /// This worker's counters.
    pub stats: Stats,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("stats", &self.stats)
            .finish()
    }
}

impl Worker {
    /// A worker over the shared connection table, owning `owner`'s share.
    pub fn new(owner: Owner, neighbours: NeighbourView, uplink_mac: MacAddr) -> Self {
        Self {
            owner,
            neighbours,
            uplink_mac,
            stats: Stats::default(),
        }
    }

    /// The connection table.
    pub fn conntrack(&self) -> &Arc<Conntrack> {
        self.owner.table()
    }

    /// Ages up to `budget` of this worker's connections (call when idle).
    pub fn sweep(&mut self, now_ms: u64, budget: usize) -> usize {
        self.owner.sweep(now_ms, budget).freed
    }

    /// Tells the connection table this worker holds no connection handle
    /// (call between bursts), so records others removed can be reused.
    pub fn quiesce(&mut self) {
        self.owner.quiesce();
    }

    /// Takes one frame that arrived on `in_port` through the pipeline of
    /// generation `t`; `now_ms` is a monotonic clock in milliseconds.
    pub fn process<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        frame: &mut F,
        in_port: u16,
        now_ms: u64,
    ) -> Verdict {
        self.stats.packets += 1;
        let parsed = match parse(frame.bytes()) {
            Ok(p) => p,
            Err(reason) => {
                self.stats.malformed(reason);
                return Verdict::Drop(Reason::Malformed);
            }
        };
        let verdict = match t.ports.role(in_port) {
            Some(PortRole::Pod) => self.pod_ingress(t, frame, &parsed.outer, in_port, now_ms),
            Some(PortRole::Uplink) => self.uplink_ingress(t, frame, &parsed, now_ms),
            Some(PortRole::HostPf) => t
                .ports
                .with_role(PortRole::Uplink)
                .map_or(Verdict::Drop(Reason::UnknownPort), Verdict::Tx),
            None => Verdict::Drop(Reason::UnknownPort),
        };
        match verdict {
            Verdict::Tx(port) if port == in_port => self.stats.answered += 1,
            Verdict::Tx(_) => self.stats.forwarded += 1,
            Verdict::Drop(reason) => self.stats.drop(reason),
        }
        verdict
    }

    fn pod_ingress<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        frame: &mut F,
        h: &Headers,
        in_port: u16,
        now: u64,
    ) -> Verdict {
        let Some(local) = &t.local else {
            return Verdict::Drop(Reason::NodeNotReady);
        };
        let Some((idx, pod)) = t.ports.pod_on(in_port).and_then(|i| Some((i, t.pod(i)?))) else {
            return Verdict::Drop(Reason::NoPodOnPort);
        };
        // The management port's VF MAC is the host's to choose.
        if h.src != pod.mac && !pod.management {
            return Verdict::Drop(Reason::PortSecurity);
        }
        if let L3::Arp(arp) = h.l3 {
            let sender_ok =
                arp.sender_ip.is_unspecified() || pod.ips.contains(&arp.sender_ip.into());
            if !sender_ok {
                return Verdict::Drop(Reason::PortSecurity);
            }
            if arp.operation != 1 || arp.target_ip == arp.sender_ip {
                return Verdict::Drop(Reason::ArpNotForUs);
            }
            return match answer_mac(t, local, arp.target_ip.into()) {
                Some((mac, _)) => self.answer(reply::arp_reply(frame, h, mac), in_port),
                None => Verdict::Drop(Reason::ArpNotForUs),
            };
        }
        if let L4::Icmp { icmp_type, .. } = h.l4 {
            if matches!(h.l3, L3::Ipv6 { .. }) {
                if let Some(v) = self.icmpv6_control(t, local, frame, h, icmp_type, in_port) {
                    return v;
                }
            }
        }
        let Some((src, dst, _)) = flow::ip_of(h) else {
            return Verdict::Drop(Reason::NotIp);
        };
        if !pod.ips.contains(&src) {
            return Verdict::Drop(Reason::PortSecurity);
        }
        if local.is_gateway_ip(dst) {
            return self.gateway_service(frame, h, in_port);
        }
        self.tracked(t, local, frame, h, Origin::Pod(idx), in_port, now)
    }

    /// Neighbour discovery from a pod: answered for the gateway and local
    /// pods; other IPv6 control is not served. `None`: not ND, go on.
    fn icmpv6_control<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        local: &LocalNode,
        frame: &mut F,
        h: &Headers,
        icmp_type: u8,
        in_port: u16,
    ) -> Option<Verdict> {
        match icmp_type {
            icmp6::NEIGHBOR_SOLICIT => {
                let target = ns_target(frame.bytes(), h)?;
                Some(match answer_mac(t, local, target) {
                    Some((mac, router)) => {
                        self.answer(reply::neighbor_advert(frame, h, mac, router), in_port)
                    }
                    None => Verdict::Drop(Reason::NdNotForUs),
                })
            }
            icmp6::ROUTER_SOLICIT | icmp6::ROUTER_ADVERT | icmp6::NEIGHBOR_ADVERT => {
                Some(Verdict::Drop(Reason::Ipv6Control))
            }
            ty if icmp6::MLD.contains(&ty) => Some(Verdict::Drop(Reason::Ipv6Control)),
            _ => None,
        }
    }

    /// Traffic to the gateway's own addresses: pings are answered, as the
    /// OVN router port answers them; nothing else is served there.
    fn gateway_service<F: Frame + ?Sized>(
        &mut self,
        frame: &mut F,
        h: &Headers,
        in_port: u16,
    ) -> Verdict {
        match h.l4 {
            L4::Icmp {
                icmp_type: 8 | 128, ..
            } => self.answer(reply::echo_reply(frame, h, 255), in_port),
            _ => Verdict::Drop(Reason::NoRoute),
        }
    }

    fn uplink_ingress<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        frame: &mut F,
        p: &Parsed,
        now: u64,
    ) -> Verdict {
        let h = &p.outer;
        let to_host = t
            .ports
            .with_role(PortRole::HostPf)
            .map_or(Verdict::Drop(Reason::UnknownPort), Verdict::Tx);
        let Some(local) = &t.local else {
            return to_host;
        };
        let Some(uplink) = t.ports.with_role(PortRole::Uplink) else {
            return Verdict::Drop(Reason::UnknownPort);
        };
        if let L3::Arp(arp) = h.l3 {
            if t.remote_by_encap(arp.sender_ip.into()).is_some() {
                self.neighbours
                    .observe(arp.sender_ip.into(), arp.sender_mac);
            }
            if arp.operation == 1 && local.encap_ip == Some(arp.target_ip.into()) {
                let mac = self.uplink_mac;
                return self.answer(reply::arp_reply(frame, h, mac), uplink);
            }
            return to_host;
        }
        match (p.tunnel, flow::ip_of(h)) {
            (Some(tun), Some((_, dst, _))) if local.encap_ip == Some(dst) => {
                self.tunnel_ingress(t, local, frame, p, &tun, now)
            }
            _ => to_host,
        }
    }

    fn tunnel_ingress<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        local: &LocalNode,
        frame: &mut F,
        p: &Parsed,
        tun: &dpuflow_packet::Tunnel,
        now: u64,
    ) -> Verdict {
        let Some((src, _, _)) = flow::ip_of(&p.outer) else {
            return Verdict::Drop(Reason::NotIp);
        };
        let Some(remote) = t.remote_by_encap(src) else {
            return Verdict::Drop(Reason::TunnelUnknownSource);
        };
        self.neighbours.observe(remote.encap_ip, p.outer.src);
        if tun.vni != local.settings.vni {
            return Verdict::Drop(Reason::TunnelWrongVni);
        }
        let Some(keys) = tun.ovn else {
            return Verdict::Drop(Reason::TunnelNoOvnOption);
        };
        if keys.egress >= dpuflow_packet::geneve::OVN_MULTICAST_MIN {
            return Verdict::Drop(Reason::TunnelFlood);
        }
        if Some(keys.egress) != local.node_id {
            return Verdict::Drop(Reason::TunnelWrongEgress);
        }
        if Some(tun.inner.dst) != local.rtots_mac {
            return Verdict::Drop(Reason::TunnelWrongInnerMac);
        }
        let inner_offset = usize::from(tun.inner_offset);
        if edit::decap(frame, inner_offset).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        let inner = rebase(&tun.inner, tun.inner_offset);
        if flow::ip_of(&inner).is_none() {
            return Verdict::Drop(Reason::ArpNotForUs);
        }
        // Nothing goes back out the uplink from here: `in_port` only
        // matters for answers, which tunnelled traffic does not get.
        self.tracked(t, local, frame, &inner, Origin::Remote, u16::MAX, now)
    }

    /// Connection lookup, or classification and creation; then NAT and
    /// delivery.
    #[allow(clippy::too_many_arguments)]
    fn tracked<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        local: &LocalNode,
        frame: &mut F,
        h: &Headers,
        origin: Origin,
        in_port: u16,
        now: u64,
    ) -> Verdict {
        let key = match flow::track(h, POD_ZONE) {
            Some(Track::Key(key)) => key,
            Some(Track::Fragment) => return Verdict::Drop(Reason::Fragment),
            Some(Track::IcmpOther) => return Verdict::Drop(Reason::IcmpUntracked),
            None => return Verdict::Drop(Reason::NotIp),
        };
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let flags = flow::tcp_flags(h);
        let hit = self.owner.lookup(&key).map(|conn| {
            conn.update(len, flags, now);
            (conn.dir(), conn.forward(), conn.reply())
        });
        let (dir, forward, reply_key) = match hit {
            Some(found) => {
                self.stats.conn_hits += 1;
                found
            }
            None => match self.classify(t, local, frame, h, &key, origin, in_port, now) {
                Ok((fwd, rep)) => (Dir::Forward, fwd, rep),
                Err(v) => return v,
            },
        };
        let out = flow::target(dir, &forward, &reply_key);
        let packet = match dir {
            Dir::Forward => forward,
            Dir::Reply => reply_key,
        };
        if apply_nat(frame, h, &packet, &out).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        let routed = match origin {
            Origin::Pod(_) => h.dst == local.gateway_mac || out.dst != packet.dst,
            Origin::Remote => true,
        };
        match next_hop(t, out.dst) {
            Some(Next::Pod(j)) => self.deliver(t, local, frame, h, j, routed, in_port),
            Some(Next::Remote(r)) if matches!(origin, Origin::Pod(_)) => {
                self.tunnel(t, local, frame, h, r, &out, in_port)
            }
            Some(Next::Remote(_)) => Verdict::Drop(Reason::TunnelNotLocal),
            None => Verdict::Drop(Reason::NoRoute),
        }
    }

    /// A first packet: load balancing, routing and policy decide; the
    /// connection is created with its forward key and the reply key its
    /// NAT implies.
    #[allow(clippy::too_many_arguments)]
    fn classify<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        local: &LocalNode,
        frame: &mut F,
        h: &Headers,
        key: &FlowKey,
        origin: Origin,
        in_port: u16,
        now: u64,
    ) -> Result<(FlowKey, FlowKey), Verdict> {
        let mut out = *key;
        if let Origin::Pod(_) = origin {
            if let Some(fe) = t.frontend(key.dst, key.proto, key.dport) {
                let n = fe.backends.len() as u32;
                if n == 0 {
                    return Err(self.reject(local, frame, h, in_port));
                }
                let hash = match fe.affinity_timeout {
                    Some(_) => flow::stable_hash(&FlowKey { sport: 0, ..*key }),
                    None => flow::stable_hash(key),
                };
                let Some(b) = fe.backends.get((hash % n) as usize) else {
                    return Err(Verdict::Drop(Reason::NoEndpoints));
                };
                out.dst = b.ip;
                out.dport = b.port;
                if b.ip == key.src {
                    if let Some(hairpin) = local.hairpin_for(key.src) {
                        out.src = hairpin;
                    }
                }
            }
        }
        let next = next_hop(t, out.dst).ok_or(Verdict::Drop(Reason::NoRoute))?;
        if let Origin::Pod(i) = origin {
            if !decide::egress_allows(t, i, out.dst, key.proto, out.dport) {
                return Err(Verdict::Drop(Reason::PolicyEgress));
            }
        }
        if let Next::Pod(j) = next {
            if !ingress_allows(t, local, j, key.src, key.proto, out.dport) {
                return Err(Verdict::Drop(Reason::PolicyIngress));
            }
        }
        let reply_key = out.reversed();
        let flags = flow::tcp_flags(h);
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        match self.owner.create(*key, reply_key, [0; 4], flags, now) {
            Ok(conn) => {
                conn.update(len, flags, now);
                self.stats.conns_created += 1;
                Ok((*key, reply_key))
            }
            Err(CreateError::Full | CreateError::BucketFull { .. }) => {
                Err(Verdict::Drop(Reason::ConntrackFull))
            }
            Err(CreateError::Exists { .. } | CreateError::Contended) => {
                Err(Verdict::Drop(Reason::ConntrackClash))
            }
        }
    }

    /// Delivers to a local pod: routed traffic gets the gateway's MAC as
    /// source and its TTL decremented once; switched traffic (same subnet,
    /// addressed to the pod's MAC) goes as it is.
    #[allow(clippy::too_many_arguments)]
    fn deliver<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        local: &LocalNode,
        frame: &mut F,
        h: &Headers,
        j: u32,
        routed: bool,
        in_port: u16,
    ) -> Verdict {
        let Some(pod) = t.pod(j) else {
            return Verdict::Drop(Reason::NoRoute);
        };
        if routed {
            match edit::decrement_ttl(frame, h) {
                Ok(()) => {}
                Err(EditError::TtlExpired) => return self.time_exceeded(local, frame, h, in_port),
                Err(_) => return Verdict::Drop(Reason::EditFailed),
            }
            if edit::set_macs(frame, local.gateway_mac, pod.mac).is_err() {
                return Verdict::Drop(Reason::EditFailed);
            }
        }
        Verdict::Tx(pod.port)
    }

    /// Encapsulates towards another node exactly as OVN interconnect does.
    #[allow(clippy::too_many_arguments)]
    fn tunnel<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        local: &LocalNode,
        frame: &mut F,
        h: &Headers,
        remote: &RemoteEntry,
        out: &FlowKey,
        in_port: u16,
    ) -> Verdict {
        let (Some(src_ip), Some(node_id), Some(rtots)) =
            (local.encap_ip, local.node_id, local.rtots_mac)
        else {
            return Verdict::Drop(Reason::NodeNotReady);
        };
        let Some(uplink) = t.ports.with_role(PortRole::Uplink) else {
            return Verdict::Drop(Reason::UnknownPort);
        };
        let ip_len = frame.len().saturating_sub(usize::from(h.l3_offset));
        let mtu = local.settings.mtu;
        if ip_len > usize::from(mtu) {
            self.stats.drop(Reason::TooBig);
            let kind = IcmpError::TooBig {
                mtu: u32::from(mtu),
            };
            return self.icmp_answer(local, frame, h, kind, in_port);
        }
        match edit::decrement_ttl(frame, h) {
            Ok(()) => {}
            Err(EditError::TtlExpired) => return self.time_exceeded(local, frame, h, in_port),
            Err(_) => return Verdict::Drop(Reason::EditFailed),
        }
        if edit::set_macs(frame, rtots, remote.rtots_mac).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        let Some(next_mac) = self.neighbours.get(remote.encap_ip) else {
            // The frame becomes the ARP request that resolves the peer.
            self.stats.drop(Reason::NeighbourUnresolved);
            return match arp_request(frame, self.uplink_mac, src_ip, remote.encap_ip) {
                Ok(()) => Verdict::Tx(uplink),
                Err(_) => Verdict::Drop(Reason::EditFailed),
            };
        };
        let sport = SPORT_BASE + (flow::stable_hash(out) % SPORT_SPAN) as u16;
        let encap = Encap {
            src_mac: self.uplink_mac,
            dst_mac: next_mac,
            vlan: None,
            src_ip,
            dst_ip: remote.encap_ip,
            udp_src_port: sport,
            vni: local.settings.vni,
            ovn: Some(OvnKeys {
                ingress: node_id,
                egress: remote.node_id,
            }),
        };
        match edit::encap_geneve(frame, &encap) {
            Ok(_) => Verdict::Tx(uplink),
            Err(_) => Verdict::Drop(Reason::EditFailed),
        }
    }

    /// A service without endpoints: TCP gets a reset, the rest ICMP port
    /// unreachable, from the VIP (as OVN's `reject`).
    fn reject<F: Frame + ?Sized>(
        &mut self,
        local: &LocalNode,
        frame: &mut F,
        h: &Headers,
        in_port: u16,
    ) -> Verdict {
        self.stats.drop(Reason::NoEndpoints);
        match h.l4 {
            L4::Tcp { .. } => self.answer(reply::tcp_reset(frame, h, 255), in_port),
            _ => self.icmp_answer(local, frame, h, IcmpError::PortUnreachable, in_port),
        }
    }

    fn time_exceeded<F: Frame + ?Sized>(
        &mut self,
        local: &LocalNode,
        frame: &mut F,
        h: &Headers,
        in_port: u16,
    ) -> Verdict {
        self.stats.drop(Reason::TtlExpired);
        if in_port == u16::MAX {
            return Verdict::Drop(Reason::TtlExpired);
        }
        self.icmp_answer(local, frame, h, IcmpError::TimeExceeded, in_port)
    }

    /// An ICMP error from the pods' gateway back to the sender.
    fn icmp_answer<F: Frame + ?Sized>(
        &mut self,
        local: &LocalNode,
        frame: &mut F,
        h: &Headers,
        kind: IcmpError,
        in_port: u16,
    ) -> Verdict {
        let v6 = matches!(h.l3, L3::Ipv6 { .. });
        let Some(ip) = local
            .gateway_ips
            .iter()
            .copied()
            .find(|ip| ip.is_ipv6() == v6)
        else {
            return Verdict::Drop(Reason::NodeNotReady);
        };
        let from = Responder {
            mac: local.gateway_mac,
            ip,
            ttl: 255,
        };
        self.answer(reply::icmp_error(frame, h, kind, &from), in_port)
    }

    fn answer(&mut self, built: Result<(), EditError>, port: u16) -> Verdict {
        match built {
            Ok(()) => Verdict::Tx(port),
            Err(_) => Verdict::Drop(Reason::EditFailed),
        }
    }
}

/// Who answers ARP/ND for `ip` on the node switch: the gateway (a router
/// port) or a local pod, with the MAC to answer with.
fn answer_mac(t: &Compiled, local: &LocalNode, ip: IpAddr) -> Option<(MacAddr, bool)> {
    if local.is_gateway_ip(ip) {
        return Some((local.gateway_mac, true));
    }
    t.pod_by_ip(ip).map(|(_, p)| (p.mac, false))
}

/// Rewrites the packet's tuple `packet` into `out`.
fn apply_nat<F: Frame + ?Sized>(
    frame: &mut F,
    h: &Headers,
    packet: &FlowKey,
    out: &FlowKey,
) -> Result<(), EditError> {
    let sides = [
        (Side::Source, packet.src, out.src, packet.sport, out.sport),
        (
            Side::Destination,
            packet.dst,
            out.dst,
            packet.dport,
            out.dport,
        ),
    ];
    for (side, ip, new_ip, port, new_port) in sides {
        if ip == new_ip && port == new_port {
            continue;
        }
        let rw = NatRewrite {
            side,
            addr: (ip != new_ip).then_some(new_ip),
            port: (port != new_port).then_some(new_port),
        };
        edit::nat(frame, h, &rw)?;
    }
    Ok(())
}

/// The target address of a neighbour solicitation (bytes 8..24 of the
/// ICMPv6 message).
fn ns_target(b: &[u8], h: &Headers) -> Option<IpAddr> {
    let at = usize::from(h.l4_offset) + 8;
    let bytes: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(IpAddr::from(bytes))
}

/// Headers of an inner frame, re-based after the outer headers are gone.
fn rebase(h: &Headers, by: u16) -> Headers {
    Headers {
        l3_offset: h.l3_offset.saturating_sub(by),
        l4_offset: h.l4_offset.saturating_sub(by),
        ..*h
    }
}

/// Turns the frame into an ARP request for `target` from `our_ip` at
/// `our_mac`, broadcast.
fn arp_request<F: Frame + ?Sized>(
    frame: &mut F,
    our_mac: MacAddr,
    our_ip: IpAddr,
    target: IpAddr,
) -> Result<(), EditError> {
    let (IpAddr::V4(ours), IpAddr::V4(target)) = (our_ip, target) else {
        return Err(EditError::FamilyMismatch);
    };
    if !frame.set_len(42) {
        return Err(EditError::NoTailroom);
    }
    let b = frame.bytes_mut();
    let Some(out) = b.get_mut(..42) else {
        return Err(EditError::Truncated);
    };
    out[..6].copy_from_slice(&MacAddr::BROADCAST.octets());
    out[6..12].copy_from_slice(&our_mac.octets());
    out[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    out[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    out[22..28].copy_from_slice(&our_mac.octets());
    out[28..32].copy_from_slice(&ours.octets());
    out[32..38].copy_from_slice(&[0; 6]);
    out[38..42].copy_from_slice(&target.octets());
    Ok(())
}
