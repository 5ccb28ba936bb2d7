//! A started `net_null` port on an EAL without hugepages: what rte_flow
//! tests and benchmarks install rules on while the recorder stands in for
//! the PMD (one per process, as the EAL is).

use dpuflow_dpdk::{Eal, EalBuilder, Mempool, MempoolConfig, Port, PortConfig};

/// Why the port could not be set up.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Port `net_null0`, configured and started; dropped port first, then its
/// pool, then the EAL.
pub struct NullPort {
    /// The started port.
    pub port: Port,
    _pool: Mempool,
    _eal: Eal,
}

/// How to set the port up.
#[derive(Debug, Clone)]
pub struct NullPortConfig<'a> {
    /// EAL name (file prefix).
    pub name: &'a str,
    /// `net_null` devices to create (`net_null0` is the port; more ports
    /// give transfer rules somewhere to point).
    pub vdevs: usize,
    /// Rx queues of the port (RSS over all queues spreads over them).
    pub rx_queues: u16,
    /// DPDK's log level, when not the default.
    pub log_level: Option<&'a str>,
}

impl Default for NullPortConfig<'_> {
    fn default() -> Self {
        Self {
            name: "nullport",
            vdevs: 1,
            rx_queues: 1,
            log_level: None,
        }
    }
}

impl NullPort {
    /// Initialises the EAL and starts `net_null0`.
    ///
    /// # Errors
    /// The failing EAL, mempool or port step.
    pub fn start(config: &NullPortConfig<'_>) -> Result<Self, Error> {
        let mut eal = EalBuilder::new(config.name)
            .lcores("0")
            .no_pci()
            .no_huge()
            .no_shconf()
            .memory_mb(128);
        if let Some(level) = config.log_level {
            eal = eal.log_level(level);
        }
        for i in 0..config.vdevs.max(1) {
            eal = eal.vdev(&format!("net_null{i}"));
        }
        let eal = eal.init()?;
        let pool_config = MempoolConfig {
            size: 1023,
            cache: 0,
            ..MempoolConfig::default()
        };
        let pool = Mempool::new(&eal, &format!("{}_pool", config.name), &pool_config)?;
        let mut port = Port::by_name(&eal, "net_null0")?;
        let port_config = PortConfig {
            rx_queues: config.rx_queues,
            rx_desc: 128,
            tx_desc: 128,
            ..PortConfig::default()
        };
        port.configure(&port_config, &pool)?;
        port.start()?;
        Ok(NullPort {
            port,
            _pool: pool,
            _eal: eal,
        })
    }
}
