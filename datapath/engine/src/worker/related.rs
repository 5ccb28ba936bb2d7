//! ICMP errors about a connection (a path MTU, an unreachable port): they
//! pass where the connection's packets would, whatever the policies say,
//! translated as Linux's `nf_nat_icmp_reply_translation` translates them
//! when the connection is NATed.

use std::net::IpAddr;

use dpuflow_conntrack::FlowKey;
use dpuflow_packet::edit;
use dpuflow_packet::{quote, Frame, Headers};

use super::tracked::rewrite;
use super::{Ctx, Origin, Verdict, Worker};
use crate::decide::{self, Next};
use crate::flow::{self, POD_ZONE};
use crate::reason::Reason;

impl Worker {
    /// An ICMP error about a connection (a path MTU, an unreachable port)
    /// passes where the connection's packets would, whatever the policies
    /// say (it is part of an allowed connection); about no connection, it
    /// is dropped. About a NATed connection it is translated as Linux's
    /// `nf_nat_icmp_reply_translation` does (see [`Related`]) and routed
    /// by its new destination.
    pub(super) fn related<F: Frame + ?Sized>(
        &mut self,
        cx: Ctx<'_>,
        frame: &mut F,
        h: &Headers,
        origin: Origin,
    ) -> Verdict {
        let Some(rel) = self.related_conn(frame.bytes(), h) else {
            return Verdict::Drop(Reason::IcmpUntracked);
        };
        let Some((src, dst, _)) = flow::ip_of(h) else {
            return Verdict::Drop(Reason::NotIp);
        };
        let (new_src, new_dst) = rel.outer(src, dst);
        let next = decide::next_hop(cx.t, cx.local, new_dst);
        // As the connection's own packets: within the subnet, addressed to
        // the pod's MAC, switched rather than routed.
        let switched =
            matches!(origin, Origin::Pod(_)) && h.dst != cx.local.gateway_mac && new_dst == dst;
        match (next, origin) {
            (Some(Next::Remote(_)), Origin::Remote) => {
                return Verdict::Drop(Reason::TunnelNotLocal)
            }
            (Some(Next::Outside), Origin::Outside) | (None, _) => {
                return Verdict::Drop(Reason::NoRoute)
            }
            (Some(Next::Pod(_)), _) if switched => {}
            (Some(next), _) => {
                if let Err(v) = self.hop(cx, frame, h, matches!(next, Next::Remote(_))) {
                    return v;
                }
            }
        }
        if let Err(v) = translate_error(frame, h, &rel, (src, dst), (new_src, new_dst)) {
            return v;
        }
        match next {
            Some(Next::Pod(j)) => self.deliver(cx, frame, j, !switched),
            Some(Next::Remote(r)) => self.tunnel(cx, frame, r, &rel.out),
            Some(Next::Outside) => self.outside(cx, frame, &rel.out),
            None => Verdict::Drop(Reason::NoRoute),
        }
    }

    /// The connection the ICMP error `h` is about, found through the
    /// packet it quotes.
    pub(super) fn related_conn(&self, frame: &[u8], h: &Headers) -> Option<Related> {
        let q = quote::quoted(frame, h)?;
        let quoted = FlowKey {
            zone: POD_ZONE,
            proto: q.proto,
            src: q.src,
            dst: q.dst,
            sport: q.sport,
            dport: q.dst_port,
        };
        let conn = self.owner.lookup(&quoted.reversed())?;
        let (dir, forward, reply) = (conn.dir(), conn.forward(), conn.reply());
        Some(Related {
            key: quoted.reversed(),
            out: flow::target(dir, &forward, &reply),
        })
    }
}

/// The connection an ICMP error is about. The error travels opposite to
/// the packet it quotes, in the direction whose key its quote reversed
/// matched (`key`); the connection's packets of that direction leave as
/// `out`. So the quote, `key` reversed as it arrived, becomes `out`
/// reversed: the tuple its sender saw (for a ClusterIP, the VIP again).
/// The error's outer source and destination become `out`'s where they are
/// `key`'s (the endpoint answering becomes the VIP; the node IP of an
/// egress SNAT becomes the pod): unlike Linux, which rewrites the outer
/// address whatever it is, a router's own address on the path is kept.
#[derive(Clone, Copy, Debug)]
pub(super) struct Related {
    key: FlowKey,
    out: FlowKey,
}

impl Related {
    /// The error's outer source and destination after translation.
    fn outer(&self, src: IpAddr, dst: IpAddr) -> (IpAddr, IpAddr) {
        let pick = |addr: IpAddr, was: IpAddr, new: IpAddr| if addr == was { new } else { addr };
        (
            pick(src, self.key.src, self.out.src),
            pick(dst, self.key.dst, self.out.dst),
        )
    }
}

/// Translates an ICMP error about `rel`'s connection: its quote, then its
/// outer addresses `(src, dst)` into `new`. A quote that cannot be
/// rewritten is [`Reason::IcmpRelatedNat`].
fn translate_error<F: Frame + ?Sized>(
    frame: &mut F,
    h: &Headers,
    rel: &Related,
    (src, dst): (IpAddr, IpAddr),
    new: (IpAddr, IpAddr),
) -> Result<(), Verdict> {
    rewrite(
        frame,
        h,
        &rel.key.reversed(),
        &rel.out.reversed(),
        edit::nat_quoted,
    )
    .map_err(|_| Verdict::Drop(Reason::IcmpRelatedNat))?;
    // Addresses only: the outer ICMP has no ports.
    let was = FlowKey {
        src,
        dst,
        ..rel.key
    };
    let now = FlowKey {
        src: new.0,
        dst: new.1,
        ..rel.key
    };
    rewrite(frame, h, &was, &now, edit::nat).map_err(|_| Verdict::Drop(Reason::EditFailed))
}
