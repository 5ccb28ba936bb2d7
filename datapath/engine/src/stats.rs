//! A worker's counters: plain integers it alone writes; the pipeline
//! publishes copies for the control thread once per burst.

use dpuflow_packet::DropReason;

use crate::reason::Reason;

/// Counters of one worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Frames processed.
    pub packets: u64,
    /// Frames sent on towards a pod, a node or the host.
    pub forwarded: u64,
    /// Frames turned into an answer to their sender (ARP, ND, ICMP, RST).
    pub answered: u64,
    /// Frames turned into an ARP request or neighbour solicitation for an
    /// unresolved next hop (the packets they were count as
    /// `neighbour_unresolved` drops).
    pub requests: u64,
    /// Frames dropped (or answered instead of forwarded), by reason.
    pub drops: [u64; Reason::COUNT],
    /// Malformed frames, by parser reason.
    pub malformed: [u64; DropReason::ALL.len()],
    /// Packets that found their connection.
    pub conn_hits: u64,
    /// Of `conn_hits`, packets whose connection another worker created (a
    /// NAT reply, or a flow whose packets the NIC spread over queues):
    /// proof that the shared table, not the queue, keeps a flow together.
    pub conn_hits_other_worker: u64,
    /// Connections created.
    pub conns_created: u64,
    /// This worker's connections ended (idle past their timeout, or
    /// killed by a table change) and their records reused.
    pub conns_ended: u64,
    /// Connection directions handed to the offload manager (each with the
    /// treatment its packet got).
    pub offload_requests: u64,
    /// Offload requests the manager's full channel refused (the direction
    /// is asked for again by a later packet).
    pub offload_dropped: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            packets: 0,
            forwarded: 0,
            answered: 0,
            requests: 0,
            drops: [0; Reason::COUNT],
            malformed: [0; DropReason::ALL.len()],
            conn_hits: 0,
            conn_hits_other_worker: 0,
            conns_created: 0,
            conns_ended: 0,
            offload_requests: 0,
            offload_dropped: 0,
        }
    }
}

impl Stats {
    /// The count of one drop reason.
    pub fn drops_of(&self, reason: Reason) -> u64 {
        self.drops.get(reason as usize).copied().unwrap_or(0)
    }

    /// The count of one parser reason.
    pub fn malformed_of(&self, reason: DropReason) -> u64 {
        DropReason::ALL
            .iter()
            .position(|r| *r == reason)
            .and_then(|i| self.malformed.get(i))
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn drop(&mut self, reason: Reason) {
        if let Some(c) = self.drops.get_mut(reason as usize) {
            *c += 1;
        }
    }

    pub(crate) fn malformed(&mut self, reason: DropReason) {
        self.drop(Reason::Malformed);
        if let Some(c) = DropReason::ALL
            .iter()
            .position(|r| *r == reason)
            .and_then(|i| self.malformed.get_mut(i))
        {
            *c += 1;
        }
    }
}
