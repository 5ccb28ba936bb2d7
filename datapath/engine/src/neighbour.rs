//! MAC addresses of tunnel peers on the uplink, learned from what arrives
//! (the outer source MAC of Geneve from a known node, ARP) and shared by
//! every worker: workers read the published map without a lock and report
//! what they learn through a bounded channel (a full channel loses the
//! report, never blocks); the builder thread folds reports into a new map
//! and publishes it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::{ArcSwap, Cache};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use dpuflow_net::MacAddr;

type Map = HashMap<IpAddr, MacAddr>;

/// The shared table (builder side).
#[derive(Debug)]
pub struct Neighbours {
    current: Arc<ArcSwap<Map>>,
    tx: Sender<(IpAddr, MacAddr)>,
    rx: Receiver<(IpAddr, MacAddr)>,
}

/// A worker's view: lock-free reads, non-blocking reports.
pub struct NeighbourView {
    cache: Cache<Arc<ArcSwap<Map>>, Arc<Map>>,
    tx: Sender<(IpAddr, MacAddr)>,
    /// The last report sent, so that a burst from a peer not yet published
    /// sends one report, not one per packet.
    last: Option<(IpAddr, MacAddr)>,
    /// Reports lost to a full channel.
    pub lost_reports: u64,
}

impl std::fmt::Debug for NeighbourView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeighbourView")
            .field("lost_reports", &self.lost_reports)
            .finish()
    }
}

impl Neighbours {
    /// An empty table taking up to `backlog` unprocessed reports.
    pub fn new(backlog: usize) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(backlog);
        Self {
            current: Arc::new(ArcSwap::from_pointee(Map::new())),
            tx,
            rx,
        }
    }

    /// A view for one worker.
    pub fn view(&self) -> NeighbourView {
        NeighbourView {
            cache: Cache::new(Arc::clone(&self.current)),
            tx: self.tx.clone(),
            last: None,
            lost_reports: 0,
        }
    }

    /// Sets an entry at once (static configuration, tests).
    pub fn set(&self, ip: IpAddr, mac: MacAddr) {
        let mut next = Map::clone(&self.current.load());
        next.insert(ip, mac);
        self.current.store(Arc::new(next));
    }

    /// Folds pending reports into a new published map; returns how many
    /// entries changed.
    pub fn apply_reports(&self) -> usize {
        let reports: Vec<_> = self.rx.try_iter().collect();
        let current = self.current.load();
        let changed: Vec<_> = reports
            .into_iter()
            .filter(|(ip, mac)| current.get(ip) != Some(mac))
            .collect();
        if changed.is_empty() {
            return 0;
        }
        let mut next = Map::clone(&current);
        let mut n = 0;
        for (ip, mac) in changed {
            if next.insert(ip, mac) != Some(mac) {
                n += 1;
            }
        }
        self.current.store(Arc::new(next));
        n
    }

    /// A copy of the table (for status and tests).
    pub fn snapshot(&self) -> Map {
        Map::clone(&self.current.load())
    }

    /// The receiver of reports, for a builder that selects over several
    /// channels.
    pub fn reports(&self) -> &Receiver<(IpAddr, MacAddr)> {
        &self.rx
    }
}

impl NeighbourView {
    /// The MAC of `ip`, if known.
    #[inline]
    pub fn get(&mut self, ip: IpAddr) -> Option<MacAddr> {
        self.cache.load().get(&ip).copied()
    }

    /// Reports `ip` at `mac` when it differs from what is published.
    #[inline]
    pub fn observe(&mut self, ip: IpAddr, mac: MacAddr) {
        if self.last == Some((ip, mac)) || self.get(ip) == Some(mac) {
            return;
        }
        self.last = Some((ip, mac));
        if let Err(TrySendError::Full(_)) = self.tx.try_send((ip, mac)) {
            self.lost_reports += 1;
        }
    }
}
