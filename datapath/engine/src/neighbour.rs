//! MAC addresses of next hops and tunnel peers on the uplink, learned from
//! what arrives (the outer source MAC of Geneve from a known node, ARP,
//! neighbour advertisements) and shared by every worker: workers read the
//! published map without a lock and report what they learn through a
//! bounded channel (a full channel loses the report, never blocks); the
//! builder thread folds reports into a new map and publishes it.
//!
//! Entries age on the datapath's clock (milliseconds since
//! [`Neighbours::epoch`], the `now` workers pass in): after
//! [`REFRESH_AFTER_MS`] a worker still uses an entry but asks for it to be
//! confirmed (an ARP request or neighbour solicitation sent beside the
//! traffic); after [`EXPIRE_AFTER_MS`] unconfirmed it is no longer used —
//! the next packet becomes the request, as for an unknown neighbour.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::{ArcSwap, Cache};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use dpuflow_net::MacAddr;

/// Age after which an entry is confirmed again.
pub const REFRESH_AFTER_MS: u64 = 30_000;
/// Age after which an unconfirmed entry is not used.
pub const EXPIRE_AFTER_MS: u64 = 120_000;
/// A worker reports the same observation at most this often.
const REPORT_EVERY_MS: u64 = 1_000;

/// A MAC and when it was last confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The neighbour's MAC.
    pub mac: MacAddr,
    /// When it was learned or last confirmed (datapath milliseconds).
    pub confirmed_ms: u64,
}

type Map = HashMap<IpAddr, Entry>;
type Report = (IpAddr, MacAddr, u64);

/// How usable an entry is at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Use it.
    Fresh(MacAddr),
    /// Use it, and ask for it to be confirmed.
    Stale(MacAddr),
    /// Unknown, or unconfirmed for too long.
    Unknown,
}

/// The shared table (builder side).
#[derive(Debug)]
pub struct Neighbours {
    current: Arc<ArcSwap<Map>>,
    tx: Sender<Report>,
    rx: Receiver<Report>,
    epoch: Instant,
}

/// A worker's view: lock-free reads, non-blocking reports.
pub struct NeighbourView {
    cache: Cache<Arc<ArcSwap<Map>>, Arc<Map>>,
    tx: Sender<Report>,
    /// The last report sent and when, so that a burst from a peer not yet
    /// published sends one report, not one per packet.
    last: Option<(IpAddr, MacAddr, u64)>,
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
    /// An empty table taking up to `backlog` unprocessed reports; its clock
    /// starts now.
    pub fn new(backlog: usize) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(backlog);
        Self {
            current: Arc::new(ArcSwap::from_pointee(Map::new())),
            tx,
            rx,
            epoch: Instant::now(),
        }
    }

    /// The start of the datapath's millisecond clock.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Milliseconds since [`Neighbours::epoch`].
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
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

    /// Sets an entry, confirmed now (static configuration, tests).
    pub fn set(&self, ip: IpAddr, mac: MacAddr) {
        self.set_at(ip, mac, self.now_ms());
    }

    /// Sets an entry confirmed at `confirmed_ms`.
    pub fn set_at(&self, ip: IpAddr, mac: MacAddr, confirmed_ms: u64) {
        let mut next = Map::clone(&self.current.load());
        next.insert(ip, Entry { mac, confirmed_ms });
        self.current.store(Arc::new(next));
    }

    /// Folds pending reports into a new published map; returns how many
    /// entries were learned, changed or confirmed.
    pub fn apply_reports(&self) -> usize {
        let reports: Vec<Report> = self.rx.try_iter().collect();
        if reports.is_empty() {
            return 0;
        }
        let mut next = Map::clone(&self.current.load());
        let mut n = 0;
        for (ip, mac, at) in reports {
            let newer = next
                .get(&ip)
                .is_none_or(|e| e.mac != mac || e.confirmed_ms < at);
            if newer {
                next.insert(
                    ip,
                    Entry {
                        mac,
                        confirmed_ms: at,
                    },
                );
                n += 1;
            }
        }
        if n > 0 {
            self.current.store(Arc::new(next));
        }
        n
    }

    /// A copy of the table (for status and tests).
    pub fn snapshot(&self) -> HashMap<IpAddr, MacAddr> {
        self.current
            .load()
            .iter()
            .map(|(ip, e)| (*ip, e.mac))
            .collect()
    }

    /// The receiver of reports, for a builder that selects over several
    /// channels (it then calls [`Neighbours::apply_reports`]).
    pub fn reports(&self) -> &Receiver<Report> {
        &self.rx
    }
}

impl NeighbourView {
    /// The MAC of `ip` at `now`, and whether it needs confirming.
    #[inline]
    pub fn lookup(&mut self, ip: IpAddr, now: u64) -> Freshness {
        match self.cache.load().get(&ip) {
            Some(e) if now.saturating_sub(e.confirmed_ms) < REFRESH_AFTER_MS => {
                Freshness::Fresh(e.mac)
            }
            Some(e) if now.saturating_sub(e.confirmed_ms) < EXPIRE_AFTER_MS => {
                Freshness::Stale(e.mac)
            }
            _ => Freshness::Unknown,
        }
    }

    /// Reports `ip` at `mac` seen at `now`, unless the published entry
    /// already says so and is fresh, or this worker just reported it.
    #[inline]
    pub fn observe(&mut self, ip: IpAddr, mac: MacAddr, now: u64) {
        if self.lookup(ip, now) == Freshness::Fresh(mac) {
            return;
        }
        if let Some((lip, lmac, at)) = self.last {
            if lip == ip && lmac == mac && now.saturating_sub(at) < REPORT_EVERY_MS {
                return;
            }
        }
        self.last = Some((ip, mac, now));
        if let Err(TrySendError::Full(_)) = self.tx.try_send((ip, mac, now)) {
            self.lost_reports += 1;
        }
    }
}
