//! The ways out: delivery to a local pod, a Geneve tunnel to another node
//! exactly as OVN interconnect builds it, the gateway to the outside
//! (next hop, node network VLAN), and answers to the sender (resets, ICMP
//! errors) for what cannot go on.

use std::net::IpAddr;

use dpuflow_conntrack::FlowKey;
use dpuflow_net::MacAddr;
use dpuflow_packet::edit::{self, EditError, Encap};
use dpuflow_packet::reply::{self, IcmpError, Responder};
use dpuflow_packet::{Frame, Headers, OvnKeys, Vlan, L3, L4};

use super::refresh::Refresh;
use super::{Ctx, Verdict, Worker};
use crate::flow;
use crate::lookup::{PortRole, RemoteEntry};
use crate::neighbour::Freshness;
use crate::reason::Reason;

/// Lowest and span of the Geneve UDP source ports (as OVS userspace uses).
const SPORT_BASE: u16 = 32768;
const SPORT_SPAN: u32 = 61000 - 32768;

impl Worker {
    /// Delivers to a local pod: routed traffic (its hop already taken) gets
    /// the gateway's MAC as source; switched traffic (same subnet,
    /// addressed to the pod's MAC) goes as it is.
    pub(super) fn deliver<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        j: u32,
        routed: bool,
    ) -> Verdict {
        let Some(pod) = cx.t.pod(j) else {
            return Verdict::Drop(Reason::NoRoute);
        };
        if routed {
            let macs = (cx.local.gateway_mac, pod.mac);
            if edit::set_macs(frame, macs.0, macs.1).is_err() {
                return Verdict::Drop(Reason::EditFailed);
            }
            self.note(|t| t.macs = Some(macs));
        }
        Verdict::Tx(pod.port)
    }

    /// Encapsulates towards another node exactly as OVN interconnect does
    /// (the hop and the MTU check already done).
    pub(super) fn tunnel<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        remote: &RemoteEntry,
        out: &FlowKey,
    ) -> Verdict {
        let local = cx.local;
        let (Some(src_ip), Some(node_id), Some(rtots), Some(uplink)) =
            (local.encap_ip, local.node_id, local.rtots_mac, cx.uplink)
        else {
            return Verdict::Drop(Reason::NodeNotReady);
        };
        if edit::set_macs(frame, rtots, remote.rtots_mac).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        let next_mac = match self.neighbour(cx, remote.encap_ip, src_ip, self.uplink_mac) {
            Some(mac) => mac,
            None => {
                return self.resolve(cx, frame, uplink, self.uplink_mac, src_ip, remote.encap_ip)
            }
        };
        let sport = SPORT_BASE + (flow::stable_hash(out) % SPORT_SPAN) as u16;
        let encap = Encap {
            src_mac: self.uplink_mac,
            dst_mac: next_mac,
            vlan: local.vlan.map(|vid| Vlan { vid, pcp: 0 }),
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
            Ok(_) => {
                self.note(|t| {
                    t.macs = Some((rtots, remote.rtots_mac));
                    t.encap = Some(encap);
                });
                Verdict::Tx(uplink)
            }
            Err(_) => Verdict::Drop(Reason::EditFailed),
        }
    }

    /// Leaves the cluster through the gateway (the hop already taken): to
    /// the next hop of the destination's family, from the node's MAC,
    /// tagged with the node network's VLAN.
    pub(super) fn outside<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        out: &FlowKey,
    ) -> Verdict {
        let local = cx.local;
        let (Some(uplink), Some(next_hop), Some(node_ip)) = (
            cx.uplink,
            local.next_hop_for(out.dst),
            local.node_ip_for(out.dst),
        ) else {
            return Verdict::Drop(Reason::NoRoute);
        };
        let src_mac = local.gateway_outer_mac.unwrap_or(self.uplink_mac);
        let Some(next_mac) = self.neighbour(cx, next_hop, node_ip, src_mac) else {
            return self.resolve(cx, frame, uplink, src_mac, node_ip, next_hop);
        };
        if edit::set_macs(frame, src_mac, next_mac).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        let vlan = local.vlan.map(|vid| Vlan { vid, pcp: 0 });
        if let Some(tag) = vlan {
            if edit::push_vlan(frame, tag).is_err() {
                return Verdict::Drop(Reason::EditFailed);
            }
        }
        self.note(|t| {
            t.macs = Some((src_mac, next_mac));
            t.vlan_out = vlan;
        });
        Verdict::Tx(uplink)
    }

    /// One routing hop, taken before any NAT so that an answer quotes the
    /// packet as its sender sent it: too big for the tunnel is answered
    /// with "fragmentation needed" / "packet too big"; TTL or hop limit
    /// decremented, expired traffic from a pod answered with time
    /// exceeded.
    pub(super) fn hop<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
        tunnelled: bool,
    ) -> Result<(), Verdict> {
        let mtu = cx.local.settings.mtu;
        let ip_len = frame.len().saturating_sub(usize::from(h.l3_offset));
        if tunnelled && ip_len > usize::from(mtu) {
            self.stats.drop(Reason::TooBig);
            let kind = IcmpError::TooBig {
                mtu: u32::from(mtu),
            };
            return Err(self.icmp_answer(cx, frame, h, kind));
        }
        self.ttl(cx, frame, h)
    }

    fn ttl<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
    ) -> Result<(), Verdict> {
        match edit::decrement_ttl(frame, h) {
            Ok(()) => Ok(()),
            Err(EditError::TtlExpired) => {
                self.stats.drop(Reason::TtlExpired);
                Err(self.icmp_answer(cx, frame, h, IcmpError::TimeExceeded))
            }
            Err(_) => Err(Verdict::Drop(Reason::EditFailed)),
        }
    }

    /// The MAC of neighbour `ip` on the uplink; a stale one is used and a
    /// confirmation (from `our_ip` at `our_mac`) queued for the poll loop,
    /// at most one per neighbour per second.
    fn neighbour(
        &mut self,
        cx: Ctx<'_>,
        ip: IpAddr,
        our_ip: IpAddr,
        our_mac: MacAddr,
    ) -> Option<MacAddr> {
        match self.neighbours.lookup(ip, cx.now) {
            Freshness::Fresh(mac) => Some(mac),
            Freshness::Stale(mac) => {
                self.refreshes.ask(
                    Refresh {
                        target: ip,
                        from_ip: our_ip,
                        from_mac: our_mac,
                        vlan: cx.local.vlan,
                    },
                    cx.now,
                );
                Some(mac)
            }
            Freshness::Unknown => None,
        }
    }

    /// The next hop's MAC is unknown: the frame becomes the ARP request
    /// (or IPv6 neighbour solicitation) that resolves it, and the original
    /// packet is counted as dropped.
    fn resolve<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        uplink: u16,
        our_mac: MacAddr,
        our_ip: IpAddr,
        target: IpAddr,
    ) -> Verdict {
        self.stats.drop(Reason::NeighbourUnresolved);
        self.became_request = true;
        let vlan = cx.local.vlan;
        let request = Refresh {
            target,
            from_ip: our_ip,
            from_mac: our_mac,
            vlan,
        };
        match request.build(frame) {
            Ok(()) => Verdict::Tx(uplink),
            Err(_) => Verdict::Drop(Reason::NeighbourUnresolved),
        }
    }

    /// A service without endpoints: TCP gets a reset, the rest ICMP port
    /// unreachable, from the VIP (as OVN's `reject`).
    pub(super) fn reject<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
    ) -> Verdict {
        self.stats.drop(Reason::NoEndpoints);
        match h.l4 {
            L4::Tcp { .. } => self.answer(reply::tcp_reset(frame, h, 255), cx.in_port),
            _ => self.icmp_answer(cx, frame, h, IcmpError::PortUnreachable),
        }
    }

    /// An ICMP error from the pods' gateway back to a pod that sent what
    /// cannot go on; traffic from elsewhere is dropped (its answer would
    /// need a tunnel or the gateway, not the port it came in on).
    fn icmp_answer<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
        kind: IcmpError,
    ) -> Verdict {
        if cx.t.ports.role(cx.in_port) != Some(PortRole::Pod) {
            return Verdict::Drop(Reason::NoRoute);
        }
        let v6 = matches!(h.l3, L3::Ipv6 { .. });
        let local = cx.local;
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
        self.answer(reply::icmp_error(frame, h, kind, &from), cx.in_port)
    }
}
