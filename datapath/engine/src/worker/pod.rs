//! Frames from a pod's (or the management port's) representor.

use std::net::IpAddr;

use dpuflow_net::MacAddr;
use dpuflow_packet::reply;
use dpuflow_packet::{Frame, Headers, L3, L4};

use super::{Ctx, Origin, Verdict, Worker};
use crate::flow;
use crate::lookup::Compiled;
use crate::reason::Reason;

/// ICMPv6 types of neighbour discovery and the rest of IPv6 control.
mod icmp6 {
    pub const ROUTER_SOLICIT: u8 = 133;
    pub const ROUTER_ADVERT: u8 = 134;
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    pub const NEIGHBOR_ADVERT: u8 = 136;
    pub const MLD: [u8; 4] = [130, 131, 132, 143];
}

impl Worker {
    pub(super) fn pod_ingress<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
    ) -> Verdict {
        let t = cx.t;
        let Some((idx, pod)) = t
            .ports
            .pod_on(cx.in_port)
            .and_then(|i| Some((i, t.pod(i)?)))
        else {
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
            return match answer_mac(t, cx, arp.target_ip.into()) {
                Some((mac, _)) => self.answer(reply::arp_reply(frame, h, mac), cx.in_port),
                None => Verdict::Drop(Reason::ArpNotForUs),
            };
        }
        if let (L4::Icmp { icmp_type, .. }, L3::Ipv6 { .. }) = (h.l4, h.l3) {
            if let Some(v) = self.icmpv6_control(cx, frame, h, icmp_type) {
                return v;
            }
        }
        let Some((src, dst, _)) = flow::ip_of(h) else {
            return Verdict::Drop(Reason::NotIp);
        };
        if !pod.ips.contains(&src) {
            return Verdict::Drop(Reason::PortSecurity);
        }
        if cx.local.is_gateway_ip(dst) {
            return self.gateway_service(cx, frame, h);
        }
        self.tracked(cx, frame, h, Origin::Pod(idx))
    }

    /// Neighbour discovery from a pod: answered for the gateway and local
    /// pods; other IPv6 control is not served. `None`: not ND, go on.
    fn icmpv6_control<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
        icmp_type: u8,
    ) -> Option<Verdict> {
        match icmp_type {
            icmp6::NEIGHBOR_SOLICIT => {
                let target = ns_target(frame.bytes(), h)?;
                Some(match answer_mac(cx.t, cx, target) {
                    Some((mac, router)) => {
                        self.answer(reply::neighbor_advert(frame, h, mac, router), cx.in_port)
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
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
    ) -> Verdict {
        match h.l4 {
            L4::Icmp {
                icmp_type: 8 | 128, ..
            } => self.answer(reply::echo_reply(frame, h, 255), cx.in_port),
            _ => Verdict::Drop(Reason::NoRoute),
        }
    }
}

/// Who answers ARP/ND for `ip` on the node switch: the gateway (a router
/// port) or a local pod, with the MAC to answer with.
fn answer_mac(t: &Compiled, cx: Ctx<'_>, ip: IpAddr) -> Option<(MacAddr, bool)> {
    if cx.local.is_gateway_ip(ip) {
        return Some((cx.local.gateway_mac, true));
    }
    t.pod_by_ip(ip).map(|(_, p)| (p.mac, false))
}

/// The target address of a neighbour solicitation (bytes 8..24 of the
/// ICMPv6 message).
fn ns_target(b: &[u8], h: &Headers) -> Option<IpAddr> {
    let at = usize::from(h.l4_offset) + 8;
    let bytes: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(IpAddr::from(bytes))
}
