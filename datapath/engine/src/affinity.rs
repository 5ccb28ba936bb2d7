//! `ClientIP` session affinity: which backend a client was sent to, per
//! frontend, remembered for the service's timeout since the client's last
//! new connection (as kube-proxy does), and dropped when that backend
//! leaves the frontend.
//!
//! Kept in a second connection table of its own (shared and lock-free,
//! like the first): an entry is a pseudo-connection of protocol 0 in zone
//! [`AFFINITY_ZONE`] from the client to the frontend, whose payload holds
//! the backend. The table ages entries after the longest timeout
//! Kubernetes allows; each service's own timeout is checked on use.

use std::net::IpAddr;
use std::time::Duration;

use dpuflow_conntrack::{Config, FlowKey, Owner, Payload, Timeouts};
use dpuflow_tables::Backend;

/// Zone of affinity entries (their reverse keys use the next one).
pub const AFFINITY_ZONE: u16 = 0xaf00;
/// The longest `ClientIP` timeout Kubernetes accepts (one day).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

/// The affinity table's configuration for `capacity` clients×frontends.
pub fn table_config(capacity: u32) -> Config {
    Config {
        capacity,
        timeouts: Timeouts {
            other: MAX_TIMEOUT,
            ..Timeouts::default()
        },
        hash_seed: None,
    }
}

/// A frontend as affinity sees it.
#[derive(Clone, Copy, Debug)]
pub struct Sticky {
    /// Client address.
    pub client: IpAddr,
    /// Frontend address, protocol and port.
    pub vip: IpAddr,
    /// IP protocol.
    pub proto: u8,
    /// Frontend port.
    pub port: u16,
}

impl Sticky {
    fn key(&self) -> FlowKey {
        FlowKey {
            zone: AFFINITY_ZONE,
            proto: 0,
            src: self.client,
            dst: self.vip,
            sport: u16::from(self.proto),
            dport: self.port,
        }
    }

    fn reverse_key(&self) -> FlowKey {
        FlowKey {
            zone: AFFINITY_ZONE + 1,
            ..self.key().reversed()
        }
    }
}

/// One worker's share of the affinity table.
#[derive(Debug)]
pub struct Affinity {
    owner: Owner,
}

impl Affinity {
    /// Over `owner`'s share of the affinity table.
    pub fn new(owner: Owner) -> Self {
        Self { owner }
    }

    /// The backend `s.client` was last sent to, if that was at most
    /// `timeout_s` ago and it is still one of `backends`; refreshes it.
    pub fn recall(
        &mut self,
        s: &Sticky,
        backends: &[Backend],
        timeout_s: u32,
        now: u64,
    ) -> Option<Backend> {
        let view = self.owner.table().get(&s.key())?;
        let fresh = now.saturating_sub(view.last_seen) <= u64::from(timeout_s) * 1000;
        let backend = decode(&view.payload).filter(|b| fresh && backends.contains(b));
        match backend {
            Some(b) => {
                if let Some(conn) = self.owner.lookup(&s.key()) {
                    conn.update(0, 0, now);
                }
                Some(b)
            }
            None => {
                self.owner.table().kill(view.id);
                None
            }
        }
    }

    /// Remembers that `s.client` goes to `backend` (a concurrent entry of
    /// another worker wins; a full table remembers nothing).
    pub fn remember(&mut self, s: &Sticky, backend: Backend, now: u64) {
        if let Ok(conn) = self
            .owner
            .create(s.key(), s.reverse_key(), encode(backend), 0, now)
        {
            conn.update(0, 0, now);
        }
    }

    /// Ages this worker's share (see [`Owner::sweep`]).
    pub fn sweep(&mut self, now: u64, budget: usize) {
        self.owner.sweep(now, budget);
    }

    /// See [`Owner::quiesce`].
    pub fn quiesce(&mut self) {
        self.owner.quiesce();
    }
}

fn encode(b: Backend) -> Payload {
    let (addr, v4) = match b.ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 1),
        IpAddr::V6(a) => (u128::from(a), 0),
    };
    [
        (addr >> 64) as u64,
        addr as u64,
        u64::from(b.port) | v4 << 32 | 1 << 33,
        0,
    ]
}

fn decode(p: &Payload) -> Option<Backend> {
    if p[2] & 1 << 33 == 0 {
        return None;
    }
    let addr = u128::from(p[0]) << 64 | u128::from(p[1]);
    let ip = if p[2] & 1 << 32 != 0 {
        IpAddr::V4(std::net::Ipv4Addr::from(addr as u32))
    } else {
        IpAddr::V6(addr.into())
    };
    Some(Backend {
        ip,
        port: p[2] as u16,
    })
}
