//! Requests that confirm (or resolve) a neighbour on the uplink: an ARP
//! request or IPv6 neighbour solicitation, tagged with the node network's
//! VLAN. A frame that cannot go on becomes one; a stale neighbour gets one
//! beside the traffic, queued here for the poll loop to send in a fresh
//! buffer (the engine allocates none).

use std::net::IpAddr;

use dpuflow_net::MacAddr;
use dpuflow_packet::{edit, request, EditError, Frame, Vlan};

/// One request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refresh {
    /// Whose MAC is asked for.
    pub target: IpAddr,
    /// The asker's address (same family).
    pub from_ip: IpAddr,
    /// The asker's MAC.
    pub from_mac: MacAddr,
    /// The node network's VLAN.
    pub vlan: Option<u16>,
}

impl Refresh {
    /// Writes the request into `frame` (replacing what it held).
    ///
    /// # Errors
    /// When the addresses are of two families or the frame has no room.
    pub fn build<F: Frame + ?Sized>(&self, frame: &mut F) -> Result<(), EditError> {
        match (self.from_ip, self.target) {
            (IpAddr::V4(ours), IpAddr::V4(target)) => {
                request::arp_request(frame, self.from_mac, ours, target)?
            }
            (IpAddr::V6(ours), IpAddr::V6(target)) => {
                request::neighbor_solicit(frame, self.from_mac, ours, target)?
            }
            _ => return Err(EditError::FamilyMismatch),
        }
        match self.vlan {
            Some(vid) => edit::push_vlan(frame, Vlan { vid, pcp: 0 }),
            None => Ok(()),
        }
    }
}

/// Requests a worker queued, and when it last asked for each neighbour
/// (fixed size: nothing allocates; a full queue waits for the next ask).
#[derive(Debug, Default)]
pub(super) struct Refreshes {
    pending: [Option<Refresh>; 4],
    asked: [Option<(IpAddr, u64)>; 8],
    next_slot: usize,
}

/// A neighbour is asked at most this often by one worker.
const ASK_EVERY_MS: u64 = 1_000;

impl Refreshes {
    /// Queues `r` unless its target was asked within the last second.
    pub(super) fn ask(&mut self, r: Refresh, now: u64) {
        let recent = self
            .asked
            .iter()
            .flatten()
            .any(|&(ip, at)| ip == r.target && now.saturating_sub(at) < ASK_EVERY_MS);
        if recent {
            return;
        }
        let Some(free) = self.pending.iter_mut().find(|p| p.is_none()) else {
            return;
        };
        *free = Some(r);
        if let Some(slot) = self.asked.get_mut(self.next_slot) {
            *slot = Some((r.target, now));
        }
        self.next_slot = (self.next_slot + 1) % self.asked.len();
    }

    /// Takes the queued requests.
    pub(super) fn take(&mut self) -> impl Iterator<Item = Refresh> + '_ {
        self.pending.iter_mut().filter_map(Option::take)
    }
}
