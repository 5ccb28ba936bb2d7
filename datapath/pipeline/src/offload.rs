//! The offload thread: the offload manager (`dpuflow-offload`) off the
//! packet path. Workers offer it connections through a bounded channel
//! and never wait; the builder hands it the connections a table change
//! invalidated (their rules go before they are killed); stopping removes
//! every rule it created.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use dpuflow_conntrack::{ConnId, Conntrack};
use dpuflow_engine::lookup::PortRole;
use dpuflow_engine::offload::{OffloadSink, Trigger};
use dpuflow_flow::OffloadBackend;
use dpuflow_offload::manager::{Manager, ManagerConfig};
use dpuflow_offload::status::{Counters, Status};

use crate::DatapathPort;

/// How long the thread waits for work before a round of upkeep (counter
/// folding and aging run on their own interval inside the manager).
const IDLE_WAIT: Duration = Duration::from_millis(2);

/// What turns offload on: the backend that installs the rules and when a
/// connection is worth them.
pub struct OffloadSetup<F> {
    /// Makes the backend (rte_flow on the e-switch proxy port, DOCA, or the
    /// software table as an emulated NIC) once the ports are configured
    /// and started: a backend may hold a port, which then cannot be
    /// configured.
    pub backend: F,
    /// When a connection direction is offered.
    pub trigger: Trigger,
    /// Requests the workers may have in flight before offers are dropped
    /// (counted; the direction is offered again by a later packet).
    pub queue: usize,
    /// The manager's settings.
    pub manager: ManagerConfig,
}

/// What the builder tells the offload thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Connections a table change made invalid: their rules first, then
    /// the connections.
    Invalidate(Vec<ConnId>),
}

/// The running offload thread.
#[derive(Debug)]
pub struct OffloadThread {
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<usize>>,
    status: Status,
    counters: Arc<Counters>,
    sink: OffloadSink,
}

impl OffloadThread {
    /// Starts the manager over `conntrack` on its own thread; `epoch` is
    /// the workers' clock (connection times are milliseconds since it).
    pub(crate) fn spawn<B, F>(
        setup: OffloadSetup<F>,
        backend: B,
        conntrack: Arc<Conntrack>,
        epoch: Instant,
    ) -> std::io::Result<Self>
    where
        B: OffloadBackend + Send + 'static,
    {
        let (tx, rx) = crossbeam_channel::bounded(setup.queue.max(1));
        let (commands, command_rx) = crossbeam_channel::unbounded();
        let manager = Manager::new(backend, conntrack, rx, setup.manager);
        let status = manager.status();
        let counters = manager.counters();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let join = std::thread::Builder::new()
            .name("dpuflow-offload".into())
            .spawn(move || run(manager, &command_rx, &flag, epoch))?;
        Ok(Self {
            commands,
            stop,
            join: Some(join),
            status,
            counters,
            sink: OffloadSink::new(tx, setup.trigger),
        })
    }

    /// The workers' end of the request channel.
    pub fn sink(&self) -> &OffloadSink {
        &self.sink
    }

    /// Each connection's offload state.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The manager's counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Where the builder sends invalidations.
    pub(crate) fn commands(&self) -> Sender<Command> {
        self.commands.clone()
    }

    /// Stops the thread after it removed every rule it created; returns
    /// how many it removed.
    pub fn stop(&mut self) -> usize {
        self.stop.store(true, Ordering::Release);
        self.join.take().and_then(|j| j.join().ok()).unwrap_or(0)
    }
}

impl Drop for OffloadThread {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run<B: OffloadBackend>(
    mut manager: Manager<B>,
    commands: &Receiver<Command>,
    stop: &AtomicBool,
    epoch: Instant,
) -> usize {
    let now_ms = || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    while !stop.load(Ordering::Acquire) {
        for Command::Invalidate(ids) in commands.try_iter() {
            manager.invalidate(&ids, now_ms());
        }
        let round = manager.poll(Instant::now(), now_ms());
        if round.is_idle() {
            // Wake early for an invalidation; requests wait at most this.
            if let Ok(Command::Invalidate(ids)) = commands.recv_timeout(IDLE_WAIT) {
                manager.invalidate(&ids, now_ms());
            }
        }
    }
    manager.shutdown()
}

/// The ports transfer rules may join: those in the uplink's embedded
/// switch (on a BlueField: the uplink, the host PF and the VF
/// representors). None without an uplink in a switch — virtual devices
/// here — so that every connection is told "not eligible: outside the
/// switch domain" instead of handed to a backend that cannot take it.
pub fn switch_ports(ports: &[DatapathPort]) -> Vec<u16> {
    let domain = |p: &DatapathPort| p.port.info().ok().and_then(|i| i.switch_domain);
    let Some(uplink) = ports
        .iter()
        .find(|p| p.role == PortRole::Uplink)
        .and_then(domain)
    else {
        return Vec::new();
    };
    ports
        .iter()
        .filter(|p| domain(p) == Some(uplink))
        .map(|p| p.port.id())
        .collect()
}
