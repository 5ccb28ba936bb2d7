//! Tracked traffic: the connection a packet belongs to, or — for a first
//! packet — the decisions that create it: service load balancing (with
//! hairpin SNAT, or SNAT to our join address for node ports), egress SNAT
//! to the node IP, routing, and both pods' policies.
use dpuflow_conntrack::{CreateError, FlowKey};
use dpuflow_packet::edit::{self, EditError, NatRewrite, Side};
use dpuflow_packet::{Frame, Headers};

use super::offload::{self, Claim};
use super::{Ctx, Origin, Verdict, Worker};
use crate::affinity::Sticky;
use crate::decide::{self, Next};
use crate::flow::{self, Track, POD_ZONE};
use crate::lookup::FrontendEntry;
use crate::reason::Reason;

/// Source ports SNAT may choose: below Linux's ephemeral range, so that a
/// connection of the host (which shares the node IP) cannot own the same
/// tuple.
const SNAT_PORTS: std::ops::Range<u16> = 1024..32768;
/// Payload word 0 bit: the connection is NATed (its keys are not each
/// other's reverse).
const PAYLOAD_NAT: u64 = 1;
/// Ports tried before a SNAT gives up.
const SNAT_TRIES: u16 = 8;
/// IP protocols whose "ports" are ICMP echo ids (never rewritten: the id
/// is both ports of the key).
const ICMP: [u8; 2] = [1, 58];

impl Worker {
    /// Connection lookup, or classification and creation; then NAT and
    /// the way out.
    pub(super) fn tracked<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
        origin: Origin,
    ) -> Verdict {
        let key = match flow::track(h, POD_ZONE) {
            Some(Track::Key(key)) => key,
            Some(Track::Fragment) => return Verdict::Drop(Reason::Fragment),
            Some(Track::IcmpOther) => return self.related(cx, frame, h, origin),
            None => return Verdict::Drop(Reason::NotIp),
        };
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let flags = flow::tcp_flags(h);
        // The packet's own tuple is `key` in either direction; only a NATed
        // connection (flagged in its payload at creation) reads its keys
        // back to learn the tuple the packet leaves with.
        let recorder = self.offload.as_ref();
        let hit = self.owner.lookup(&key).map(|conn| {
            let state = conn.update(len, flags, cx.now);
            let out = if conn.payload()[0] & PAYLOAD_NAT != 0 {
                flow::target(conn.dir(), &conn.forward(), &conn.reply())
            } else {
                key
            };
            (
                out,
                self.owner.owns(&conn),
                offload::claim(recorder, &conn, state),
            )
        });
        let (out, claim) = match hit {
            Some((out, own, claim)) => {
                self.stats.conn_hits += 1;
                if !own {
                    self.stats.conn_hits_other_worker += 1;
                }
                (out, claim)
            }
            None => match self.classify(cx, frame, h, &key, origin) {
                Ok((reply, claim)) => (reply.reversed(), claim),
                Err(v) => return v,
            },
        };
        let v = self.send_on(cx, frame, h, &key, &out, origin);
        if let Some(claim) = claim {
            self.hand_over(cx, claim, h, &key, &out, v);
        }
        match v {
            Ok(v) | Err(v) => v,
        }
    }

    /// The packet of a connection on its way: routed (the hop) or
    /// switched, NATed from `packet` to `out`, out its exit. `Err`: it did
    /// not leave as itself (dropped, or answered).
    fn send_on<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
        packet: &FlowKey,
        out: &FlowKey,
        origin: Origin,
    ) -> Result<Verdict, Verdict> {
        let next = decide::next_hop(cx.t, cx.local, out.dst);
        let switched = matches!(origin, Origin::Pod(_))
            && h.dst != cx.local.gateway_mac
            && out.dst == packet.dst;
        match (next, origin) {
            (Some(Next::Remote(_)), Origin::Remote) => {
                return Err(Verdict::Drop(Reason::TunnelNotLocal))
            }
            (Some(Next::Outside), Origin::Outside) | (None, _) => {
                return Err(Verdict::Drop(Reason::NoRoute))
            }
            (Some(Next::Pod(_)), _) if switched => {}
            (Some(next), _) => {
                self.hop(cx, frame, h, matches!(next, Next::Remote(_)))?;
                self.note(|t| t.hop = true);
            }
        }
        if rewrite(frame, h, packet, out, edit::nat).is_err() {
            return Err(Verdict::Drop(Reason::EditFailed));
        }
        Ok(match next {
            Some(Next::Pod(j)) => self.deliver(cx, frame, j, !switched),
            Some(Next::Remote(r)) => self.tunnel(cx, frame, r, out),
            Some(Next::Outside) => self.outside(cx, frame, out),
            None => Verdict::Drop(Reason::NoRoute),
        })
    }

    /// A first packet: load balancing, SNAT, routing and policy decide;
    /// the connection is created with its forward key and the reply key
    /// its NAT implies (returned, with the direction claimed for offload
    /// when the connection is ripe at once).
    fn classify<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
        key: &FlowKey,
        origin: Origin,
    ) -> Result<(FlowKey, Option<Claim>), Verdict> {
        let (t, local) = (cx.t, cx.local);
        let mut out = *key;
        let frontend = match origin {
            Origin::Pod(_) | Origin::Outside => t.frontend(key.dst, key.proto, key.dport),
            Origin::Remote => None,
        };
        if let Some(fe) = frontend {
            self.load_balance(cx, frame, h, key, fe, origin, &mut out)?;
        }
        let next = decide::next_hop(t, local, out.dst).ok_or(Verdict::Drop(Reason::NoRoute))?;
        match (origin, next) {
            (Origin::Remote, Next::Remote(_) | Next::Outside) => {
                return Err(Verdict::Drop(Reason::TunnelNotLocal))
            }
            (Origin::Outside, Next::Outside) => return Err(Verdict::Drop(Reason::NoRoute)),
            (Origin::Pod(_), Next::Outside) => {
                out.src = local
                    .node_ip_for(out.src)
                    .ok_or(Verdict::Drop(Reason::NoRoute))?;
            }
            _ => {}
        }
        if let Origin::Pod(i) = origin {
            if !decide::egress_allows(t, i, out.dst, key.proto, out.dport) {
                return Err(Verdict::Drop(Reason::PolicyEgress));
            }
        }
        if let Next::Pod(j) = next {
            // The pod's policy sees the source it receives.
            let peer = if origin == Origin::Outside {
                out.src
            } else {
                key.src
            };
            if !decide::ingress_allows(t, local, j, peer, key.proto, out.dport) {
                return Err(Verdict::Drop(Reason::PolicyIngress));
            }
        }
        let shares_host_ip = cx.local.node_ips.contains(&out.src);
        self.create(h, frame.len(), key, out, shares_host_ip, cx.now)
    }

    /// DNAT to one of the frontend's backends (a hash of the connection, or
    /// of the client alone with `ClientIP` affinity); hairpin and node-port
    /// SNAT; no backend: rejected.
    #[allow(clippy::too_many_arguments)]
    fn load_balance<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
        key: &FlowKey,
        fe: &FrontendEntry,
        origin: Origin,
        out: &mut FlowKey,
    ) -> Result<(), Verdict> {
        let n = fe.backends.len() as u32;
        if n == 0 {
            return Err(self.reject(cx, frame, h));
        }
        let pick = |hash: u32| fe.backends.get((hash % n) as usize).copied();
        let b = match fe.affinity_timeout {
            Some(timeout) => {
                let sticky = Sticky {
                    client: key.src,
                    vip: key.dst,
                    proto: key.proto,
                    port: key.dport,
                };
                match self.affinity.recall(&sticky, &fe.backends, timeout, cx.now) {
                    Some(b) => Some(b),
                    None => {
                        let b = pick(flow::stable_hash(&FlowKey { sport: 0, ..*key }));
                        if let Some(b) = b {
                            self.affinity.remember(&sticky, b, cx.now);
                        }
                        b
                    }
                }
            }
            None => pick(flow::stable_hash(key)),
        };
        let b = b.ok_or(Verdict::Drop(Reason::NoEndpoints))?;
        out.dst = b.ip;
        out.dport = b.port;
        let snat = match origin {
            Origin::Pod(_) if b.ip == key.src => cx.local.hairpin_for(key.src),
            Origin::Outside if fe.snat_to_join => cx.local.join_ip_for(key.src),
            _ => None,
        };
        if let Some(src) = snat {
            out.src = src;
        }
        Ok(())
    }

    /// Creates the connection; a SNAT whose tuple is taken tries other
    /// source ports. A SNAT to the node IP, which the host shares, keeps
    /// its source port only below the host's ephemeral range.
    fn create(
        &mut self,
        h: &Headers,
        len: usize,
        key: &FlowKey,
        mut out: FlowKey,
        shares_host_ip: bool,
        now: u64,
    ) -> Result<(FlowKey, Option<Claim>), Verdict> {
        let flags = flow::tcp_flags(h);
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        let snat = out.src != key.src && !ICMP.contains(&key.proto);
        if snat && shares_host_ip && !SNAT_PORTS.contains(&out.sport) {
            out.sport = snat_port(key, 0);
        }
        let mut attempt = 0;
        loop {
            let reply = out.reversed();
            let payload = [
                if reply == key.reversed() {
                    0
                } else {
                    PAYLOAD_NAT
                },
                0,
                0,
                0,
            ];
            match self.owner.create(*key, reply, payload, flags, now) {
                Ok(conn) => {
                    let state = conn.update(len, flags, now);
                    self.stats.conns_created += 1;
                    return Ok((reply, offload::claim(self.offload.as_ref(), &conn, state)));
                }
                Err(CreateError::Full | CreateError::BucketFull { .. }) => {
                    return Err(Verdict::Drop(Reason::ConntrackFull))
                }
                Err(CreateError::Exists { .. } | CreateError::Contended) => {
                    attempt += 1;
                    if !snat || attempt >= SNAT_TRIES {
                        return Err(Verdict::Drop(Reason::ConntrackClash));
                    }
                    out.sport = snat_port(key, attempt);
                }
            }
        }
    }
}

/// The `attempt`-th SNAT source port for `key`.
fn snat_port(key: &FlowKey, attempt: u16) -> u16 {
    let span = u32::from(SNAT_PORTS.end - SNAT_PORTS.start);
    let h = flow::stable_hash(key).wrapping_add(u32::from(attempt) * 7919);
    SNAT_PORTS.start + (h % span) as u16
}

/// Rewrites the tuple `from` into `to` with `edit` (of the packet, or of
/// the packet an ICMP error quotes): one rewrite per side that changes.
pub(super) fn rewrite<F: Frame + ?Sized>(
    frame: &mut F,
    h: &Headers,
    from: &FlowKey,
    to: &FlowKey,
    edit: impl Fn(&mut F, &Headers, &NatRewrite) -> Result<(), EditError>,
) -> Result<(), EditError> {
    let sides = [
        (Side::Source, from.src, to.src, from.sport, to.sport),
        (Side::Destination, from.dst, to.dst, from.dport, to.dport),
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
        edit(frame, h, &rw)?;
    }
    Ok(())
}
