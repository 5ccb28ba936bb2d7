//! What the software path did to one packet of a connection, recorded as
//! it did it, so that the offload manager (`dpuflow-offload`) can ask the
//! NIC to do exactly the same to the connection's next packets.
//!
//! The worker fills a [`Treatment`] stage by stage (the match as the packet
//! arrived; decap, hop, NAT, MACs, encap, VLAN, output as each stage
//! applied them) and, once the connection meets the [`Trigger`], hands it
//! as a [`Request`] to an [`OffloadSink`]: a bounded channel that never
//! blocks (a full channel is a counted drop, and the direction is asked
//! again by a later packet). Nothing here allocates.

use dpuflow_conntrack::{ConnId, ConnState, Dir, FlowKey};
use dpuflow_net::MacAddr;
use dpuflow_packet::edit::Encap;
use dpuflow_packet::{OvnKeys, Vlan};

/// When a connection's direction is worth a hardware rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trigger {
    /// At its first packet (short connections offloaded too; more rules).
    FirstPacket,
    /// Once both directions have been seen (TCP: SYN+ACK; others: a reply).
    Replied,
    /// TCP once the handshake completed; other protocols once replied.
    #[default]
    Established,
}

impl Trigger {
    /// Whether a connection in `state` (after the current packet) is ripe.
    pub fn ready(self, state: ConnState) -> bool {
        use ConnState as S;
        match self {
            Trigger::FirstPacket => !matches!(state, S::Closed | S::TimeWait | S::FinWait),
            Trigger::Replied => matches!(state, S::SynRecv | S::Established | S::Replied),
            Trigger::Established => matches!(state, S::Established | S::Replied),
        }
    }
}

/// The Geneve tunnel a packet arrived in (on the uplink, from another
/// zone), as matched by the decapsulating rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelIn {
    /// Outer source MAC (the fabric's next hop).
    pub outer_src_mac: MacAddr,
    /// Outer destination MAC (our uplink).
    pub outer_dst_mac: MacAddr,
    /// Outer source IP (the remote node's encap IP).
    pub src_ip: std::net::IpAddr,
    /// Outer destination IP (our encap IP).
    pub dst_ip: std::net::IpAddr,
    /// VNI.
    pub vni: u32,
    /// OVN's option keys (ingress = the sender's node id, egress = ours).
    pub keys: OvnKeys,
}

/// Everything the software path did to one packet, in the order it did it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Treatment {
    /// The connection.
    pub conn: ConnId,
    /// Which of its keys the packet matched.
    pub dir: Dir,
    /// The port it came in on.
    pub in_port: u16,
    /// The VLAN tag it arrived with (the node network's; popped): on a
    /// packet to the node IP, or the outer tag of a tunnelled packet,
    /// which decapsulation removes with the rest of the outer frame.
    pub vlan_in: Option<Vlan>,
    /// The tunnel it arrived in (decapsulated).
    pub tunnel_in: Option<TunnelIn>,
    /// Its (inner) Ethernet source and destination as it arrived.
    pub eth_in: (MacAddr, MacAddr),
    /// Its tuple as it arrived (ICMP echo: the id in both ports).
    pub key: FlowKey,
    /// Its (inner) TTL / hop limit as it arrived: a rule that decrements
    /// matches it exactly, so a packet about to expire stays in software,
    /// which answers it.
    pub ttl_in: u8,
    /// TTL / hop limit decremented (a routing hop).
    pub hop: bool,
    /// The tuple it left with, when NAT changed it.
    pub nat: Option<FlowKey>,
    /// The (inner) Ethernet source and destination written.
    pub macs: Option<(MacAddr, MacAddr)>,
    /// The Geneve encapsulation pushed (towards another zone).
    pub encap: Option<Encap>,
    /// The VLAN tag pushed (leaving through the gateway).
    pub vlan_out: Option<Vlan>,
    /// The port it left on.
    pub out_port: u16,
}

/// One request to the offload manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Install the equivalent of this treatment for its connection's
    /// direction.
    Offload(Treatment),
}

/// The workers' end of the channel to the offload manager.
#[derive(Clone, Debug)]
pub struct OffloadSink {
    tx: crossbeam_channel::Sender<Request>,
    trigger: Trigger,
}

impl OffloadSink {
    /// A sink over a bounded channel (`crossbeam_channel::bounded`), asking
    /// once connections meet `trigger`.
    pub fn new(tx: crossbeam_channel::Sender<Request>, trigger: Trigger) -> Self {
        Self { tx, trigger }
    }

    /// The trigger.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// Hands a request over without waiting; `false` when the channel is
    /// full (or the manager gone).
    #[inline]
    pub fn offer(&self, request: Request) -> bool {
        self.tx.try_send(request).is_ok()
    }
}
