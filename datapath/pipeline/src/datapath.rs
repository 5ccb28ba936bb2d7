//! The datapath assembled: ports by role, the shared connection and
//! neighbour tables, the builder thread, and one poll loop per worker
//! lcore (each with its own rx queue on every port, RSS spreading flows,
//! and its own tx queue on every port).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dpuflow_conntrack::{Config as ConntrackConfig, ConfigError, Conntrack};
use dpuflow_dpdk::{Eal, LcoreError, LcoreJoin, Mempool, Port, PortConfig, PortError, StopFlag};
use dpuflow_engine::lookup::{Compiled, NodeSettings, PortRole, Ports};
use dpuflow_engine::{affinity, Neighbours, Stats, Worker};
use dpuflow_flow::OffloadBackend;
use dpuflow_tables::Tables;

use crate::builder::{Builder, TablesHandle};
use crate::counters::WorkerCounters;
use crate::generation::Publisher;
use crate::offload::{OffloadSetup, OffloadThread};
use crate::poll::{PollLoop, PortQueues};

/// Neighbour reports the builder may have pending.
const NEIGHBOUR_BACKLOG: usize = 1024;

/// One port of the datapath: the name tables use for it and its role.
#[derive(Debug)]
pub struct DatapathPort {
    /// Netdev name the tables refer to (`p0`, `pf0hpf`, `pf0vf3`).
    pub name: String,
    /// What it is for.
    pub role: PortRole,
    /// The DPDK port (attached, not yet configured).
    pub port: Port,
}

/// Configuration.
#[derive(Clone, Debug)]
pub struct DatapathConfig {
    /// What the tables do not carry (VNI, MTU).
    pub settings: NodeSettings,
    /// The connection table.
    pub conntrack: ConntrackConfig,
    /// Clients × frontends the `ClientIP` affinity table remembers.
    pub affinity_capacity: u32,
    /// Worker lcores (one poll loop each); empty: every EAL worker lcore.
    pub lcores: Vec<u32>,
    /// A worker that found nothing in [`crate::poll::IDLE_POLLS`] polls in a
    /// row sleeps this long before polling again; `None` spins (a DPU
    /// gives its workers cores of their own). For machines where workers
    /// share CPUs with the rest (tests, a laptop).
    pub idle_sleep: Option<Duration>,
}

impl Default for DatapathConfig {
    fn default() -> Self {
        Self {
            settings: NodeSettings::default(),
            conntrack: ConntrackConfig::default(),
            affinity_capacity: 65_536,
            lcores: Vec::new(),
            idle_sleep: None,
        }
    }
}

/// Why the datapath did not start.
#[derive(Debug, thiserror::Error)]
pub enum DatapathError {
    /// A port refused its configuration.
    #[error("port {name}: {source}")]
    Port {
        /// The port.
        name: String,
        /// Why.
        source: PortError,
    },
    /// The connection table configuration.
    #[error("connection table: {0}")]
    Conntrack(#[from] ConfigError),
    /// No worker lcore.
    #[error("no worker lcore: start the EAL with at least two lcores")]
    NoWorker,
    /// A poll loop did not launch.
    #[error("launching a worker: {0}")]
    Launch(#[from] LcoreError),
    /// The builder thread did not start.
    #[error("starting the builder thread: {0}")]
    Builder(#[from] std::io::Error),
    /// The offload thread did not start.
    #[error("starting the offload thread: {0}")]
    Offload(std::io::Error),
}

/// Starts the offload thread once the connection table and the clock exist.
type OffloadSpawn<'a> = Box<
    dyn FnOnce(&[DatapathPort], Arc<Conntrack>, Instant) -> std::io::Result<OffloadThread> + 'a,
>;

/// A running datapath.
pub struct Datapath {
    tables: TablesHandle,
    builder: Option<JoinHandle<()>>,
    workers: Vec<LcoreJoin<PollLoop>>,
    counters: Vec<Arc<WorkerCounters>>,
    conntrack: Arc<Conntrack>,
    neighbours: Arc<Neighbours>,
    stop: StopFlag,
    ports: Vec<DatapathPort>,
    offload: Option<OffloadThread>,
}

impl std::fmt::Debug for Datapath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Datapath")
            .field("workers", &self.workers.len())
            .field("ports", &self.ports)
            .finish()
    }
}

impl Datapath {
    /// Configures and starts the ports, then the builder and the workers.
    /// The first table generation is empty: pods are live once the
    /// control plane's batches are ([`TablesHandle::wait_live`]).
    ///
    /// # Errors
    /// [`DatapathError`] naming what did not start.
    pub fn start(
        eal: &Eal,
        pool: &Mempool,
        ports: Vec<DatapathPort>,
        config: DatapathConfig,
    ) -> Result<Self, DatapathError> {
        Self::start_inner(eal, pool, ports, config, None)
    }

    /// [`Datapath::start`] with connections offloaded through `setup`'s
    /// backend: the workers offer each connection direction once it meets
    /// the trigger, the offload thread installs the rules, table changes
    /// remove the rules of the connections they invalidate before killing
    /// them, and stopping removes every rule the thread created.
    ///
    /// # Errors
    /// [`DatapathError`] naming what did not start.
    pub fn start_offloaded<B, F>(
        eal: &Eal,
        pool: &Mempool,
        ports: Vec<DatapathPort>,
        config: DatapathConfig,
        mut setup: OffloadSetup<F>,
    ) -> Result<Self, DatapathError>
    where
        B: OffloadBackend + Send + 'static,
        F: FnMut(&[DatapathPort]) -> B,
    {
        let spawn: OffloadSpawn = Box::new(move |ports, conntrack, epoch| {
            let backend = (setup.backend)(ports);
            OffloadThread::spawn(setup, backend, conntrack, epoch)
        });
        Self::start_inner(eal, pool, ports, config, Some(spawn))
    }

    fn start_inner(
        eal: &Eal,
        pool: &Mempool,
        mut ports: Vec<DatapathPort>,
        config: DatapathConfig,
        offload: Option<OffloadSpawn<'_>>,
    ) -> Result<Self, DatapathError> {
        let lcores = if config.lcores.is_empty() {
            eal.worker_lcores()
        } else {
            config.lcores.clone()
        };
        if lcores.is_empty() {
            return Err(DatapathError::NoWorker);
        }
        let queues = lcores.len() as u16;
        let mut roles = Ports::new();
        for p in &mut ports {
            let port_config = PortConfig {
                rx_queues: queues,
                tx_queues: queues,
                rss: queues > 1,
                ..PortConfig::default()
            };
            let err = |source| DatapathError::Port {
                name: p.name.clone(),
                source,
            };
            p.port.configure(&port_config, pool).map_err(err)?;
            p.port.start().map_err(err)?;
            roles.add(p.name.clone(), p.port.id(), p.role);
        }
        let uplink_mac = ports
            .iter()
            .find(|p| p.role == PortRole::Uplink)
            .and_then(|p| p.port.mac().ok())
            .unwrap_or_default();
        let (conntrack, owners) = Conntrack::new(config.conntrack.clone(), lcores.len())?;
        let (_affinity, sticky) = Conntrack::new(
            affinity::table_config(config.affinity_capacity),
            lcores.len(),
        )?;
        let neighbours = Arc::new(Neighbours::new(NEIGHBOUR_BACKLOG));
        let offload = match offload {
            Some(spawn) => Some(
                spawn(&ports, Arc::clone(&conntrack), neighbours.epoch())
                    .map_err(DatapathError::Offload)?,
            ),
            None => None,
        };
        let initial = Compiled::new(&Tables::default(), &roles, &config.settings);
        let (publisher, readers) = Publisher::new(initial, lcores.len());
        let (tables, builder) = Builder {
            ports: roles,
            settings: config.settings,
            publisher,
            conntrack: Arc::clone(&conntrack),
            neighbours: Arc::clone(&neighbours),
            offload: offload.as_ref().map(OffloadThread::commands),
        }
        .spawn()?;
        let stop = StopFlag::new();
        let mut workers = Vec::new();
        let mut counters = Vec::new();
        let shares = owners.into_iter().zip(sticky).zip(readers);
        for (w, (lcore, ((owner, sticky), reader))) in lcores.iter().zip(shares).enumerate() {
            let queue = w as u16;
            let mut port_queues = Vec::new();
            for p in &ports {
                let err = |source| DatapathError::Port {
                    name: p.name.clone(),
                    source,
                };
                port_queues.push(PortQueues {
                    port: p.port.id(),
                    rx: Some(p.port.rx_queue(queue).map_err(err)?),
                    tx: p.port.tx_queue(queue).map_err(err)?,
                });
            }
            let c = Arc::new(WorkerCounters::default());
            let mut engine = Worker::new(owner, sticky, neighbours.view(), uplink_mac);
            engine.set_offload(offload.as_ref().map(|o| o.sink().clone()));
            let poll = PollLoop {
                engine,
                reader,
                ports: port_queues,
                counters: Arc::clone(&c),
                pool: pool.clone(),
                epoch: neighbours.epoch(),
                idle_sleep: config.idle_sleep,
            };
            let flag = stop.clone();
            workers.push(eal.launch(*lcore, move || poll.run(&flag))?);
            counters.push(c);
        }
        Ok(Self {
            tables,
            builder: Some(builder),
            workers,
            counters,
            conntrack,
            neighbours,
            stop,
            ports,
            offload,
        })
    }

    /// The offload thread (its status and counters), when offload is on.
    pub fn offload(&self) -> Option<&OffloadThread> {
        self.offload.as_ref()
    }

    /// Where the control plane sends table batches.
    pub fn tables(&self) -> &TablesHandle {
        &self.tables
    }

    /// Every worker's counters, as last published.
    pub fn stats(&self) -> Vec<Stats> {
        self.counters.iter().map(|c| c.stats()).collect()
    }

    /// Every worker's raw counters (tx drops, busy cycles, generation).
    pub fn counters(&self) -> &[Arc<WorkerCounters>] {
        &self.counters
    }

    /// The ports, as given to [`Datapath::start`] (for their counters).
    pub fn ports(&self) -> &[DatapathPort] {
        &self.ports
    }

    /// The connection table.
    pub fn conntrack(&self) -> &Arc<Conntrack> {
        &self.conntrack
    }

    /// The neighbour table.
    pub fn neighbours(&self) -> &Arc<Neighbours> {
        &self.neighbours
    }

    /// Stops the workers, then the builder, then the offload thread
    /// (which removes every rule it created); the ports stop when dropped.
    /// Returns how many rules were removed.
    pub fn stop(mut self) -> usize {
        self.stop.stop();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.shutdown_builder();
        self.offload.take().map_or(0, |mut o| o.stop())
    }

    fn shutdown_builder(&mut self) {
        // The builder ends when every handle to its channel is gone.
        let (tx, _) = crossbeam_channel::bounded(0);
        let _ = std::mem::replace(&mut self.tables, TablesHandle::detached(tx));
        if let Some(b) = self.builder.take() {
            let _ = b.join();
        }
    }
}

impl Drop for Datapath {
    fn drop(&mut self) {
        self.stop.stop();
        self.workers.clear();
        self.shutdown_builder();
        if let Some(mut o) = self.offload.take() {
            o.stop();
        }
    }
}
