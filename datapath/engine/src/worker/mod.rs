//! One worker's pipeline: a frame in on a port, a [`Verdict`] out.
//!
//! parse → by the port's role:
//! - from a pod ([`pod`]): port security, ARP/ND and pings for the
//!   gateway, then tracked;
//! - from the uplink ([`uplink`]): Geneve from another zone, checked as
//!   strictly as OVN checks it, and traffic to the node IP that belongs to
//!   a connection or a node port, tracked; ARP for our encap IP answered;
//!   everything else is the host's;
//! - from the host PF: to the uplink (the host's own traffic).
//!
//! Tracked traffic ([`tracked`]): connection lookup → hit: the NAT the
//! connection recorded; miss: load balancing, egress SNAT, routing,
//! policy, then the connection → [`egress`]: deliver to a local pod,
//! encapsulate towards another node exactly as OVN interconnect does, or
//! leave through the gateway.
//!
//! A worker given an [`OffloadSink`] records, stage by stage, what it did
//! to each tracked packet, and hands a connection's direction to the
//! offload manager once (see [`crate::offload`]).

mod egress;
mod offload;
mod pod;
mod refresh;
mod related;
mod tracked;
mod uplink;

use std::sync::Arc;

use dpuflow_conntrack::{Conntrack, Owner};
use dpuflow_net::MacAddr;
use dpuflow_packet::{parse, DropReason, EditError, Frame, Parsed};

pub use refresh::Refresh;

use crate::affinity::Affinity;
use crate::flow::{self, Track, POD_ZONE};
use crate::lookup::{Compiled, LocalNode, PortRole};
use crate::neighbour::NeighbourView;
use crate::offload::OffloadSink;
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

/// What every stage of one packet's trip needs to know.
#[derive(Clone, Copy)]
struct Ctx<'t> {
    t: &'t Compiled,
    local: &'t LocalNode,
    /// The port the frame came in on (answers go back there).
    in_port: u16,
    /// The uplink port, when there is one.
    uplink: Option<u16>,
    now: u64,
}

/// Who a tracked packet came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// A local pod (or the management port), by index.
    Pod(u32),
    /// Another node, over the transit switch.
    Remote,
    /// Outside the cluster, through the uplink to the node IP.
    Outside,
}

/// One worker's state: its share of the connection table, its view of the
/// neighbours, its counters.
pub struct Worker {
    owner: Owner,
    affinity: Affinity,
    neighbours: NeighbourView,
    uplink_mac: MacAddr,
    /// Neighbour confirmations queued for the poll loop.
    refreshes: refresh::Refreshes,
    /// The current frame became an ARP/ND request (counted as such, not
    /// as forwarded: the packet it was is counted as dropped).
    became_request: bool,
    /// The offload manager's sink and the current packet's treatment;
    /// `None`: nothing is recorded.
    offload: Option<offload::Recorder>,
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
    /// A worker over the shared connection and affinity tables, owning
    /// `conns`' and `affinity`'s shares; `uplink_mac` is the uplink port's
    /// MAC (source of tunnel packets).
    pub fn new(
        conns: Owner,
        affinity: Owner,
        neighbours: NeighbourView,
        uplink_mac: MacAddr,
    ) -> Self {
        Self {
            owner: conns,
            affinity: Affinity::new(affinity),
            neighbours,
            uplink_mac,
            refreshes: refresh::Refreshes::default(),
            became_request: false,
            offload: None,
            stats: Stats::default(),
        }
    }

    /// Hands each connection direction, once the sink's trigger finds it
    /// ripe, to the offload manager through `sink`, with the treatment
    /// the packet that found it so got; once per direction (a refused
    /// offer is asked again by a later packet). `None` stops recording.
    pub fn set_offload(&mut self, sink: Option<OffloadSink>) {
        self.offload = sink.map(offload::Recorder::new);
    }

    /// The connection table.
    pub fn conntrack(&self) -> &Arc<Conntrack> {
        self.owner.table()
    }

    /// Ages up to `budget` of this worker's connections (call when idle).
    pub fn sweep(&mut self, now_ms: u64, budget: usize) -> usize {
        self.affinity.sweep(now_ms, budget);
        let freed = self.owner.sweep(now_ms, budget).freed;
        self.stats.conns_ended += freed as u64;
        freed
    }

    /// Neighbour confirmations to send on the uplink beside the traffic
    /// (build each into a fresh buffer with [`Refresh::build`]).
    pub fn take_refreshes(&mut self) -> impl Iterator<Item = Refresh> + '_ {
        self.refreshes.take()
    }

    /// Tells the connection table this worker holds no connection handle
    /// (call between bursts), so records others removed can be reused.
    pub fn quiesce(&mut self) {
        self.owner.quiesce();
        self.affinity.quiesce();
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
        let parsed = parse(frame.bytes());
        self.process_parsed(t, frame, parsed, in_port, now_ms)
    }

    /// Hands `hint` the addresses a first look at this parsed frame's
    /// connection will read, so that the poll loop can prefetch a whole
    /// burst's before processing it.
    #[inline]
    pub fn prefetch(&self, parsed: &Parsed, hint: impl FnMut(*const u8)) {
        if let Some(Track::Key(key)) = flow::track(parsed.innermost(), POD_ZONE) {
            self.owner.table().prefetch(&key, hint);
        }
    }

    /// [`Worker::process`] of a frame already parsed (`parsed` is
    /// `parse(frame.bytes())`, taken for a whole burst first).
    pub fn process_parsed<F: Frame + ?Sized>(
        &mut self,
        t: &Compiled,
        frame: &mut F,
        parsed: Result<Parsed, DropReason>,
        in_port: u16,
        now_ms: u64,
    ) -> Verdict {
        self.stats.packets += 1;
        self.became_request = false;
        if let Some(r) = &mut self.offload {
            r.reset();
        }
        let parsed = match parsed {
            Ok(p) => p,
            Err(reason) => {
                self.stats.malformed(reason);
                return Verdict::Drop(Reason::Malformed);
            }
        };
        let uplink = t.ports.uplink();
        let role = t.ports.role(in_port);
        let verdict = match (role, &t.local) {
            (Some(PortRole::HostPf), _) => {
                uplink.map_or(Verdict::Drop(Reason::UnknownPort), Verdict::Tx)
            }
            (Some(PortRole::Uplink), None) => self.to_host(t),
            (Some(PortRole::Pod), None) => Verdict::Drop(Reason::NodeNotReady),
            (Some(role), Some(local)) => {
                let cx = Ctx {
                    t,
                    local,
                    in_port,
                    uplink,
                    now: now_ms,
                };
                match role {
                    PortRole::Pod => self.pod_ingress(cx, frame, &parsed.outer),
                    _ => self.uplink_ingress(cx, frame, &parsed),
                }
            }
            (None, _) => Verdict::Drop(Reason::UnknownPort),
        };
        match verdict {
            Verdict::Tx(_) if std::mem::take(&mut self.became_request) => self.stats.requests += 1,
            Verdict::Tx(port) if port == in_port => self.stats.answered += 1,
            Verdict::Tx(_) => self.stats.forwarded += 1,
            Verdict::Drop(reason) => self.stats.drop(reason),
        }
        verdict
    }

    /// The host PF: where the uplink's traffic that is not ours goes.
    fn to_host(&self, t: &Compiled) -> Verdict {
        t.ports
            .host_pf()
            .map_or(Verdict::Drop(Reason::UnknownPort), Verdict::Tx)
    }

    /// An answer built in place goes back out `port`.
    fn answer(&mut self, built: Result<(), EditError>, port: u16) -> Verdict {
        match built {
            Ok(()) => Verdict::Tx(port),
            Err(_) => Verdict::Drop(Reason::EditFailed),
        }
    }
}
