//! The builder thread: the only writer of the datapath's tables. It takes
//! the control plane's update batches from a channel, applies them to its
//! own [`Tables`], compiles a generation and publishes it; once every
//! worker runs it, it ends exactly the connections the change affected
//! (an endpoint gone, a policy that now denies) and marks the batches
//! live — what the control plane waits for before it calls a pod Ready.
//! It also folds the workers' neighbour reports into the shared table.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};
use dpuflow_conntrack::{ConnView, Conntrack};
use dpuflow_engine::lookup::{Compiled, NodeSettings, Ports};
use dpuflow_engine::{decide, Neighbours};
use dpuflow_tables::{Tables, Update};

use crate::generation::Publisher;
use crate::offload::Command;

/// How long the builder waits for workers to pick up a generation before
/// it looks at its channels again.
const ACK_WAIT: Duration = Duration::from_secs(1);

/// The control plane's handle: send batches, wait until they are live.
#[derive(Clone, Debug)]
pub struct TablesHandle {
    tx: Sender<Vec<Update>>,
    sent: Arc<AtomicU64>,
    live: Arc<AtomicU64>,
}

impl TablesHandle {
    /// A handle to a channel nobody reads (sending fails): what a stopped
    /// datapath leaves behind.
    pub(crate) fn detached(tx: Sender<Vec<Update>>) -> Self {
        Self {
            tx,
            sent: Arc::new(AtomicU64::new(0)),
            live: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends one batch; returns its number (1, 2, …), or `None` when the
    /// builder has stopped.
    pub fn send(&self, batch: Vec<Update>) -> Option<u64> {
        let n = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
        self.tx.send(batch).ok().map(|()| n)
    }

    /// The newest batch every worker runs (0 before the first).
    pub fn live(&self) -> u64 {
        self.live.load(Ordering::Acquire)
    }

    /// Waits until batch `n` is live; `false` after `timeout`.
    pub fn wait_live(&self, n: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.live() < n {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        true
    }
}

/// What the builder thread needs.
#[derive(Debug)]
pub struct Builder {
    /// The datapath's ports and their roles.
    pub ports: Ports,
    /// Configuration the tables do not carry.
    pub settings: NodeSettings,
    /// Publishes generations to the workers.
    pub publisher: Publisher<Compiled>,
    /// The connection table (for invalidation).
    pub conntrack: Arc<Conntrack>,
    /// The neighbour table (for reports).
    pub neighbours: Arc<Neighbours>,
    /// The offload thread, when offload is on: invalidated connections go
    /// there, to lose their rules before they are killed.
    pub(crate) offload: Option<Sender<Command>>,
}

impl Builder {
    /// Starts the thread; it ends when every [`TablesHandle`] is dropped.
    ///
    /// # Errors
    /// When the thread cannot be spawned.
    pub fn spawn(self) -> std::io::Result<(TablesHandle, JoinHandle<()>)> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let live = Arc::new(AtomicU64::new(0));
        let handle = TablesHandle {
            tx,
            sent: Arc::new(AtomicU64::new(0)),
            live: Arc::clone(&live),
        };
        let join = std::thread::Builder::new()
            .name("dpuflow-builder".into())
            .spawn(move || self.run(&rx, &live))?;
        Ok((handle, join))
    }

    fn run(mut self, rx: &Receiver<Vec<Update>>, live: &AtomicU64) {
        let mut tables = Tables::default();
        let mut applied = 0u64;
        let reports = self.neighbours.reports().clone();
        loop {
            select! {
                recv(rx) -> batch => {
                    let Ok(batch) = batch else { return };
                    tables.apply_all(batch);
                    applied += 1;
                    // Coalesce what is already queued into one generation.
                    for more in rx.try_iter() {
                        tables.apply_all(more);
                        applied += 1;
                    }
                    self.publish(&tables);
                    live.store(applied, Ordering::Release);
                }
                recv(reports) -> report => {
                    if let Ok((ip, mac, at)) = report {
                        self.neighbours.set_at(ip, mac, at);
                    }
                    self.neighbours.apply_reports();
                }
            }
        }
    }

    fn publish(&mut self, tables: &Tables) {
        let compiled = Compiled::new(tables, &self.ports, &self.settings);
        let number = self.publisher.publish(compiled);
        while !self.publisher.wait_acknowledged(number, ACK_WAIT) {
            // A worker that is slow to pick up must not be skipped: the
            // control plane's "live" means every worker runs it.
            self.neighbours.apply_reports();
        }
        let current = self.publisher.current();
        let invalid = |c: &ConnView| !decide::still_valid(&current.tables, &c.forward, &c.reply);
        match &self.offload {
            None => {
                self.conntrack.kill_where(invalid);
            }
            Some(offload) => {
                let mut ids = Vec::new();
                self.conntrack.iter_live(|c| {
                    if invalid(c) {
                        ids.push(c.id);
                    }
                });
                // A gone offload thread means the datapath is stopping.
                if !ids.is_empty() && offload.send(Command::Invalidate(ids)).is_err() {
                    self.conntrack.kill_where(invalid);
                }
            }
        }
    }
}
