//! Frames from the uplink: Geneve from other zones (ARP over the transit
//! switch for our router port answered), connections and node ports on
//! the node IP, ARP for our encap IP; the rest is the host's
//! (the DPU is a bump in the wire for the host's own traffic).

use std::net::IpAddr;

use dpuflow_conntrack::FlowKey;
use dpuflow_packet::{edit, reply, request};
use dpuflow_packet::{Arp, Frame, Headers, Parsed, Tunnel, L3};

use super::{Ctx, Origin, Verdict, Worker};
use crate::flow::{self, Track, POD_ZONE};
use crate::lookup::RemoteEntry;
use crate::offload::TunnelIn;
use crate::reason::Reason;

impl Worker {
    pub(super) fn uplink_ingress<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        p: &Parsed,
    ) -> Verdict {
        let (t, local) = (cx.t, cx.local);
        let h = &p.outer;
        if let L3::Arp(arp) = h.l3 {
            let sender = arp.sender_ip.into();
            if t.remote_by_encap(sender).is_some() || local.next_hops.contains(&sender) {
                self.neighbours.observe(sender, arp.sender_mac, cx.now);
            }
            if arp.operation == 1 && local.encap_ip == Some(arp.target_ip.into()) {
                let mac = self.uplink_mac;
                return self.answer(reply::arp_reply(frame, h, mac), cx.in_port);
            }
            return self.to_host(t);
        }
        if let Some((target, mac)) = request::advertised(frame.bytes(), h) {
            let target = target.into();
            if t.remote_by_encap(target).is_some() || local.next_hops.contains(&target) {
                self.neighbours.observe(target, mac, cx.now);
            }
        }
        let Some((_, dst, _)) = flow::ip_of(h) else {
            return self.to_host(t);
        };
        match p.tunnel {
            Some(tun) if local.encap_ip == Some(dst) => self.tunnel_ingress(cx, frame, p, &tun),
            _ if local.node_ips.contains(&dst) => self.node_ingress(cx, frame, h),
            _ => self.to_host(t),
        }
    }

    fn tunnel_ingress<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        p: &Parsed,
        tun: &Tunnel,
    ) -> Verdict {
        let local = cx.local;
        let Some((src, dst, _)) = flow::ip_of(&p.outer) else {
            return Verdict::Drop(Reason::NotIp);
        };
        let Some(remote) = cx.t.remote_by_encap(src) else {
            return Verdict::Drop(Reason::TunnelUnknownSource);
        };
        self.neighbours
            .observe(remote.encap_ip, p.outer.src, cx.now);
        if tun.vni != local.settings.vni {
            return Verdict::Drop(Reason::TunnelWrongVni);
        }
        let Some(keys) = tun.ovn else {
            return Verdict::Drop(Reason::TunnelNoOvnOption);
        };
        let flood = keys.egress >= dpuflow_packet::geneve::OVN_MULTICAST_MIN;
        if let L3::Arp(arp) = tun.inner.l3 {
            if flood || Some(keys.egress) == local.node_id {
                return self.transit_arp(cx, frame, tun, remote, &arp);
            }
        }
        if flood {
            return Verdict::Drop(Reason::TunnelFlood);
        }
        if Some(keys.egress) != local.node_id {
            return Verdict::Drop(Reason::TunnelWrongEgress);
        }
        if Some(tun.inner.dst) != local.rtots_mac {
            return Verdict::Drop(Reason::TunnelWrongInnerMac);
        }
        if edit::decap(frame, usize::from(tun.inner_offset)).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        // The outer frame as the decapsulating rule must match it; its
        // (node network) tag, if any, went with it.
        self.note(|t| {
            t.vlan_in = p.outer.vlans[0];
            t.tunnel_in = Some(TunnelIn {
                outer_src_mac: p.outer.src,
                outer_dst_mac: p.outer.dst,
                src_ip: src,
                dst_ip: dst,
                vni: tun.vni,
                keys,
            });
        });
        let inner = rebase(&tun.inner, tun.inner_offset);
        if flow::ip_of(&inner).is_none() {
            return Verdict::Drop(Reason::ArpNotForUs);
        }
        self.tracked(cx, frame, &inner, Origin::Remote)
    }

    /// ARP over the transit switch (flooded or to us): a request for our
    /// transit router port's address is answered, back through the tunnel,
    /// as OVN's router port answers it; anything else is not for us.
    fn transit_arp<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        tun: &Tunnel,
        remote: &RemoteEntry,
        arp: &Arp,
    ) -> Verdict {
        let local = cx.local;
        let ours = local.transit_ips.contains(&IpAddr::V4(arp.target_ip));
        let Some(rtots) = local.rtots_mac.filter(|_| ours && arp.operation == 1) else {
            return Verdict::Drop(Reason::ArpNotForUs);
        };
        if edit::decap(frame, usize::from(tun.inner_offset)).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        let inner = rebase(&tun.inner, tun.inner_offset);
        if reply::arp_reply(frame, &inner, rtots).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        let key = FlowKey {
            zone: POD_ZONE,
            proto: 0,
            src: IpAddr::V4(arp.target_ip),
            dst: IpAddr::V4(arp.sender_ip),
            sport: 0,
            dport: 0,
        };
        self.tunnel(cx, frame, remote, &key)
    }

    /// IP to the node IP: ours when it belongs to a connection (an egress
    /// SNAT's reply, a node port's next packet, an ICMP error about one of
    /// them) or opens a node port; the host's otherwise. Our frames lose
    /// the node network's VLAN tag here.
    fn node_ingress<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
    ) -> Verdict {
        if h.vlans[0].map(|v| v.vid) != cx.local.vlan || h.vlans[1].is_some() {
            return self.to_host(cx.t);
        }
        let ours = match flow::track(h, POD_ZONE) {
            Some(Track::Key(key)) => {
                self.owner.lookup(&key).is_some()
                    || cx.t.frontend(key.dst, key.proto, key.dport).is_some()
            }
            // An error about one of our connections (SNATed to the node IP).
            Some(Track::IcmpOther) => self.related_conn(frame.bytes(), h).is_some(),
            _ => false,
        };
        if !ours {
            return self.to_host(cx.t);
        }
        if cx.local.vlan.is_none() {
            return self.tracked(cx, frame, h, Origin::Outside);
        }
        if edit::pop_vlan(frame).is_err() {
            return Verdict::Drop(Reason::EditFailed);
        }
        self.note(|t| t.vlan_in = h.vlans[0]);
        let untagged = Headers {
            vlans: [None, None],
            ..rebase(h, 4)
        };
        self.tracked(cx, frame, &untagged, Origin::Outside)
    }
}

/// Headers of a frame whose first `by` bytes are gone.
fn rebase(h: &Headers, by: u16) -> Headers {
    Headers {
        l3_offset: h.l3_offset.saturating_sub(by),
        l4_offset: h.l4_offset.saturating_sub(by),
        ..*h
    }
}
