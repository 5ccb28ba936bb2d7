//! Recording what the pipeline does to a tracked packet, and handing its
//! connection's direction to the offload manager once it is ripe.
//!
//! Only a worker with a sink records: without one, every recording point
//! is one predictable branch on `Worker::offload`. The stages note what
//! only they know (the tunnel or VLAN taken off on ingress, the hop, the
//! MACs, encapsulation and tag the exits write); `hand_over` adds what
//! `tracked` knows (the connection, the tuple and TTL as the packet
//! arrived, its NAT, the ports) once the packet has left.
//!
//! The direction is claimed when the packet finds (or creates) its
//! connection ripe, since only then is the connection handle at hand; a
//! packet that then does not leave as itself gives it back.

use std::net::{IpAddr, Ipv4Addr};

use dpuflow_conntrack::{Conn, ConnId, ConnState, Dir, FlowKey};
use dpuflow_net::MacAddr;
use dpuflow_packet::{Headers, L3};

use super::{Ctx, Verdict, Worker};
use crate::offload::{OffloadSink, Request, Treatment};

/// A direction claimed for the offload manager by the current packet; it
/// is offered once the packet has left, or released.
pub(super) type Claim = (ConnId, Dir);

/// A worker's sink and the treatment of its current packet.
pub(super) struct Recorder {
    sink: OffloadSink,
    t: Treatment,
}

impl Recorder {
    pub(super) fn new(sink: OffloadSink) -> Self {
        let none = FlowKey {
            zone: 0,
            proto: 0,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            sport: 0,
            dport: 0,
        };
        Self {
            sink,
            t: Treatment {
                conn: ConnId { index: 0, gen: 0 },
                dir: Dir::Forward,
                in_port: 0,
                vlan_in: None,
                tunnel_in: None,
                eth_in: (MacAddr([0; 6]), MacAddr([0; 6])),
                key: none,
                ttl_in: 0,
                hop: false,
                nat: None,
                macs: None,
                encap: None,
                vlan_out: None,
                out_port: 0,
            },
        }
    }

    /// Forgets the previous packet: what a stage may note is cleared; the
    /// rest `hand_over` always writes.
    #[inline]
    pub(super) fn reset(&mut self) {
        let t = &mut self.t;
        t.vlan_in = None;
        t.tunnel_in = None;
        t.hop = false;
        t.nat = None;
        t.macs = None;
        t.encap = None;
        t.vlan_out = None;
    }
}

impl Worker {
    /// Lets `note` record into the current packet's treatment, when this
    /// worker has a sink.
    #[inline(always)]
    pub(super) fn note(&mut self, note: impl FnOnce(&mut Treatment)) {
        if let Some(r) = &mut self.offload {
            note(&mut r.t);
        }
    }

    /// After `tracked` has sent the packet of a claimed direction on (as
    /// `out`, its verdict `v`): offers the treatment; a packet that did not
    /// leave as itself (dropped, answered, turned into a neighbour request)
    /// or an offer the channel refused gives the direction back, for a
    /// later packet to ask again.
    pub(super) fn hand_over(
        &mut self,
        cx: Ctx<'_>,
        (conn, dir): Claim,
        h: &Headers,
        key: &FlowKey,
        out: &FlowKey,
        v: Result<Verdict, Verdict>,
    ) {
        let (Some(r), Ok(Verdict::Tx(port)), false) = (&mut self.offload, v, self.became_request)
        else {
            self.owner.table().release_offload(conn, dir);
            return;
        };
        let t = &mut r.t;
        t.conn = conn;
        t.dir = dir;
        t.in_port = cx.in_port;
        t.eth_in = (h.src, h.dst);
        t.key = *key;
        t.ttl_in = ttl_of(h);
        t.nat = (out != key).then_some(*out);
        t.out_port = port;
        if r.sink.offer(Request::Offload(*t)) {
            self.stats.offload_requests += 1;
        } else {
            self.stats.offload_dropped += 1;
            self.owner.table().release_offload(conn, dir);
        }
    }
}

/// Claims `conn`'s direction when this worker has a sink and the
/// connection, `state` after the current packet, meets its trigger.
#[inline]
pub(super) fn claim(r: Option<&Recorder>, conn: &Conn<'_>, state: ConnState) -> Option<Claim> {
    let r = r?;
    (r.sink.trigger().ready(state) && conn.claim_offload()).then(|| (conn.id(), conn.dir()))
}

/// The TTL / hop limit of an IP packet.
fn ttl_of(h: &Headers) -> u8 {
    match h.l3 {
        L3::Ipv4 { ttl, .. } => ttl,
        L3::Ipv6 { hop_limit, .. } => hop_limit,
        _ => 0,
    }
}
