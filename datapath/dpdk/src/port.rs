//! Ethernet ports (`rte_ethdev`): find, configure, start, stop, close, and
//! read their MAC, link and statistics.
//!
//! A [`Port`] is the one owner of a DPDK port id in this process. Its queues
//! ([`RxQueue`], [`TxQueue`]) are handed out once each and may move to worker
//! lcores; the port is closed when the `Port` and all its queues are gone.

use std::ffi::{CStr, CString};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dpuflow_sys as sys;

use crate::dpdk_log;
use crate::errno::{check, Errno};
use crate::queue::{RxQueue, TxQueue};
use crate::ring::Ring;
use crate::{Eal, Mempool};
use dpuflow_net::MacAddr;

const MAX_PORTS: usize = sys::RTE_MAX_ETHPORTS as usize;
/// Which port ids have a live [`Port`] in this process.
static CLAIMED: [AtomicBool; MAX_PORTS] = [const { AtomicBool::new(false) }; MAX_PORTS];

/// Why a port operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// No ethdev has this name.
    #[error("no DPDK port named {0:?}")]
    NotFound(String),
    /// Hot-plugging a device failed (bad devargs, unknown driver...).
    #[error("cannot attach device {devargs:?}: {errno}; DPDK said: {log}")]
    Attach {
        /// The devargs given.
        devargs: String,
        /// DPDK's errno.
        errno: Errno,
        /// What DPDK logged.
        log: String,
    },
    /// Another [`Port`] already owns this port id.
    #[error("port {0} is already owned by another Port handle")]
    InUse(u16),
    /// A queue index past what the port was configured with.
    #[error("port {port}: {dir} queue {queue} out of range (configured: {configured})")]
    QueueOutOfRange {
        /// Port id.
        port: u16,
        /// "rx" or "tx".
        dir: &'static str,
        /// Queue asked for.
        queue: u16,
        /// Queues configured.
        configured: u16,
    },
    /// The queue handle was already handed out.
    #[error("port {port}: {dir} queue {queue} is already taken")]
    QueueTaken {
        /// Port id.
        port: u16,
        /// "rx" or "tx".
        dir: &'static str,
        /// Queue.
        queue: u16,
    },
    /// More queues than the device supports.
    #[error("port {port} supports at most {max} {dir} queues, {wanted} asked")]
    TooManyQueues {
        /// Port id.
        port: u16,
        /// "rx" or "tx".
        dir: &'static str,
        /// Queues asked.
        wanted: u16,
        /// Device limit.
        max: u16,
    },
    /// The mempool cannot feed the rx rings (or its mbufs are too small).
    #[error("port {port}: mempool {pool} too small: {reason}")]
    MempoolTooSmall {
        /// Port id.
        port: u16,
        /// Pool name.
        pool: String,
        /// What does not fit.
        reason: String,
    },
    /// Reconfiguring while queue handles are out.
    #[error("port {0} has queue handles in use; drop them before reconfiguring or stopping")]
    Busy(u16),
    /// A DPDK call failed.
    #[error("port {port}: {call} failed: {errno}{}", fmt_log(.log))]
    Dpdk {
        /// Port id.
        port: u16,
        /// The DPDK function.
        call: &'static str,
        /// DPDK's errno.
        errno: Errno,
        /// What DPDK logged, if anything.
        log: String,
    },
}

fn fmt_log(log: &str) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!("; DPDK said: {log}")
    }
}

/// How to set a port up.
#[derive(Debug, Clone)]
pub struct PortConfig {
    /// Rx queues.
    pub rx_queues: u16,
    /// Tx queues.
    pub tx_queues: u16,
    /// Rx descriptors per queue (adjusted to the device's limits).
    pub rx_desc: u16,
    /// Tx descriptors per queue (adjusted to the device's limits).
    pub tx_desc: u16,
    /// MTU to set, if any.
    pub mtu: Option<u16>,
    /// Spread rx over queues by RSS on IP/TCP/UDP (when > 1 rx queue and the
    /// device can).
    pub rss: bool,
    /// Rx offloads wanted (`RTE_ETH_RX_OFFLOAD_*`); only those the device
    /// supports are enabled, see [`Port::rx_offloads`].
    pub rx_offloads: u64,
    /// Tx offloads wanted (`RTE_ETH_TX_OFFLOAD_*`), likewise.
    pub tx_offloads: u64,
}

impl Default for PortConfig {
    fn default() -> Self {
        Self {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mtu: None,
            rss: true,
            rx_offloads: 0,
            tx_offloads: 0,
        }
    }
}

/// What the device reports about itself.
#[derive(Debug, Clone)]
pub struct PortInfo {
    /// Driver name, e.g. `net_ring`.
    pub driver: String,
    /// Most rx queues.
    pub max_rx_queues: u16,
    /// Most tx queues.
    pub max_tx_queues: u16,
    /// Rx offload capabilities.
    pub rx_offload_capa: u64,
    /// Tx offload capabilities.
    pub tx_offload_capa: u64,
    /// RSS hash types the device can use.
    pub rss_offloads: u64,
    /// Smallest MTU.
    pub min_mtu: u16,
    /// Largest MTU.
    pub max_mtu: u16,
    /// The embedded switch the port is a representor in (its domain id),
    /// `None` when it is in none: transfer rules can move traffic between
    /// ports of one domain only.
    pub switch_domain: Option<u16>,
}

/// Link state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Up or down.
    pub up: bool,
    /// Speed in Mbps (0 when unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// Basic port counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Rx drops by the hardware (no descriptor free).
    pub rx_missed: u64,
    /// Erroneous rx packets.
    pub rx_errors: u64,
    /// Failed tx packets.
    pub tx_errors: u64,
    /// Rx mbuf allocation failures.
    pub rx_nombuf: u64,
}

/// Shared state of one port id, kept alive by the [`Port`] and its queues.
pub(crate) struct PortInner {
    pub(crate) id: u16,
    name: String,
    /// Pools feeding the rx queues: must outlive the port's rx rings.
    pools: Mutex<Vec<Mempool>>,
    pub(crate) rx_taken: Vec<AtomicBool>,
    pub(crate) tx_taken: Vec<AtomicBool>,
    /// Rings behind a ring-backed port: freed only after the port closes.
    _rings: Vec<Arc<Ring>>,
    _eal: Eal,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: no queue handle is left (they hold this Arc), so no lcore
        // polls the port; stop then close release its rings and mbufs.
        unsafe {
            sys::rte_eth_dev_stop(self.id);
            sys::rte_eth_dev_close(self.id);
        }
        CLAIMED[usize::from(self.id)].store(false, Ordering::Release);
    }
}

/// Keeps one port open; made by [`Port::hold`].
#[derive(Clone)]
pub struct PortHold(Arc<PortInner>);

impl PortHold {
    /// The port id it keeps open.
    pub fn id(&self) -> u16 {
        self.0.id
    }
}

impl fmt::Debug for PortHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PortHold").field(&self.0.id).finish()
    }
}

/// The owner of one DPDK port.
pub struct Port {
    inner: Arc<PortInner>,
    started: bool,
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("id", &self.inner.id)
            .field("name", &self.inner.name)
            .field("started", &self.started)
            .finish()
    }
}

impl Port {
    /// Hot-plugs a device from `devargs` (e.g. `net_ring1` or
    /// `net_null3,no-rx=1`) and takes its port.
    ///
    /// # Errors
    /// [`PortError::Attach`] with DPDK's errno and log for an unknown driver
    /// or bad arguments; [`PortError::NotFound`] if no ethdev appeared.
    pub fn attach(eal: &Eal, devargs: &str) -> Result<Self, PortError> {
        let attach_err = |errno: Errno, log: String| PortError::Attach {
            devargs: devargs.to_string(),
            errno,
            log,
        };
        let c =
            CString::new(devargs).map_err(|_| attach_err(Errno(libc::EINVAL), String::new()))?;
        // SAFETY: the EAL is up; `c` is a valid C string for the call.
        let (ret, log) = dpdk_log::capture(|| unsafe { sys::rte_dev_probe(c.as_ptr()) });
        if ret < 0 {
            return Err(attach_err(Errno::from_ret(ret), log));
        }
        let name = devargs.split(',').next().unwrap_or(devargs);
        Self::by_name(eal, name)
    }

    /// Takes the port named `name` (a `--vdev` or probed device).
    ///
    /// # Errors
    /// [`PortError::NotFound`], or [`PortError::InUse`] when already owned.
    pub fn by_name(eal: &Eal, name: &str) -> Result<Self, PortError> {
        let c = CString::new(name).map_err(|_| PortError::NotFound(name.to_string()))?;
        let mut id = 0u16;
        // SAFETY: valid C string and out-pointer for the call.
        let ret = unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
        if ret != 0 {
            return Err(PortError::NotFound(name.to_string()));
        }
        Self::by_id(eal, id)
    }

    /// Takes port `id`.
    ///
    /// # Errors
    /// [`PortError::NotFound`] for an invalid id, [`PortError::InUse`] when
    /// another `Port` owns it.
    pub fn by_id(eal: &Eal, id: u16) -> Result<Self, PortError> {
        // SAFETY: read-only validity check.
        if usize::from(id) >= MAX_PORTS || unsafe { sys::rte_eth_dev_is_valid_port(id) } == 0 {
            return Err(PortError::NotFound(format!("port id {id}")));
        }
        if CLAIMED[usize::from(id)].swap(true, Ordering::AcqRel) {
            return Err(PortError::InUse(id));
        }
        let name = port_name(id).unwrap_or_else(|| format!("port{id}"));
        Ok(Self {
            inner: Arc::new(PortInner {
                id,
                name,
                pools: Mutex::new(Vec::new()),
                rx_taken: Vec::new(),
                tx_taken: Vec::new(),
                _rings: Vec::new(),
                _eal: eal.clone(),
            }),
            started: false,
        })
    }

    /// Two ports joined back to back by a pair of rings: what one sends the
    /// other receives (`rte_eth_from_rings`). For tests and local wiring.
    ///
    /// # Errors
    /// [`PortError::Attach`] when a ring or a port cannot be made.
    pub fn ring_pair(eal: &Eal, name: &str, depth: u32) -> Result<(Self, Self), PortError> {
        let ab =
            Arc::new(Ring::new(eal, &format!("{name}_ab"), depth).map_err(|e| ring_err(name, e))?);
        let ba =
            Arc::new(Ring::new(eal, &format!("{name}_ba"), depth).map_err(|e| ring_err(name, e))?);
        let a = Self::from_rings(eal, &format!("{name}_a"), &ba, &ab)?;
        let b = Self::from_rings(eal, &format!("{name}_b"), &ab, &ba)?;
        Ok((a, b))
    }

    fn from_rings(
        eal: &Eal,
        name: &str,
        rx: &Arc<Ring>,
        tx: &Arc<Ring>,
    ) -> Result<Self, PortError> {
        let c = CString::new(name).map_err(|_| PortError::NotFound(name.to_string()))?;
        let rxs = [rx.as_ptr()];
        let txs = [tx.as_ptr()];
        // SAFETY: valid name and one live ring each way; the rings are kept
        // alive by the port (freed after it closes).
        let (ret, log) = dpdk_log::capture(|| unsafe {
            sys::rte_eth_from_rings(c.as_ptr(), rxs.as_ptr(), 1, txs.as_ptr(), 1, 0)
        });
        let id = u16::try_from(ret).map_err(|_| PortError::Attach {
            devargs: name.to_string(),
            errno: Errno::last(),
            log,
        })?;
        let mut port = Self::by_id(eal, id)?;
        if let Some(inner) = Arc::get_mut(&mut port.inner) {
            inner._rings = vec![rx.clone(), tx.clone()];
        }
        Ok(port)
    }

    /// The DPDK port id.
    pub fn id(&self) -> u16 {
        self.inner.id
    }

    /// The device name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn dpdk_err(&self, call: &'static str, ret: i32, log: String) -> PortError {
        PortError::Dpdk {
            port: self.inner.id,
            call,
            errno: Errno::from_ret(ret),
            log,
        }
    }

    /// What the device supports.
    ///
    /// # Errors
    /// [`PortError::Dpdk`] if `rte_eth_dev_info_get` fails.
    pub fn info(&self) -> Result<PortInfo, PortError> {
        let raw = self.raw_info()?;
        let driver = if raw.driver_name.is_null() {
            String::new()
        } else {
            // SAFETY: driver_name points at the driver's static name string.
            unsafe { CStr::from_ptr(raw.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(PortInfo {
            driver,
            max_rx_queues: raw.max_rx_queues,
            max_tx_queues: raw.max_tx_queues,
            rx_offload_capa: raw.rx_offload_capa,
            tx_offload_capa: raw.tx_offload_capa,
            rss_offloads: raw.flow_type_rss_offloads,
            min_mtu: raw.min_mtu,
            max_mtu: raw.max_mtu,
            // The ethdev layer presets the invalid id; only a switch port's
            // driver overwrites it.
            switch_domain: Some(raw.switch_info.domain_id)
                .filter(|&d| u32::from(d) != sys::RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID),
        })
    }

    fn raw_info(&self) -> Result<sys::rte_eth_dev_info, PortError> {
        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: valid port id and out-pointer.
        let ret = unsafe { sys::rte_eth_dev_info_get(self.inner.id, &mut info) };
        check(ret).map_err(|_| self.dpdk_err("rte_eth_dev_info_get", ret, String::new()))?;
        Ok(info)
    }

    /// Configures queues, descriptors, MTU, RSS and offloads, with `pool`
    /// feeding every rx queue. The port must be stopped and have no queue
    /// handles out.
    ///
    /// # Errors
    /// [`PortError::TooManyQueues`], [`PortError::MempoolTooSmall`],
    /// [`PortError::Busy`], or [`PortError::Dpdk`] naming the failed call.
    pub fn configure(&mut self, config: &PortConfig, pool: &Mempool) -> Result<(), PortError> {
        let id = self.inner.id;
        if Arc::strong_count(&self.inner) > 1 {
            return Err(PortError::Busy(id));
        }
        if self.started {
            self.stop()?;
        }
        let info = self.raw_info()?;
        check_queues(id, "rx", config.rx_queues, info.max_rx_queues)?;
        check_queues(id, "tx", config.tx_queues, info.max_tx_queues)?;
        let (mut rx_desc, mut tx_desc) = (config.rx_desc, config.tx_desc);
        let conf = eth_conf(config, &info);
        // SAFETY: valid port id; `conf` is read during the call only.
        let ret =
            unsafe { sys::rte_eth_dev_configure(id, config.rx_queues, config.tx_queues, &conf) };
        check(ret).map_err(|_| self.dpdk_err("rte_eth_dev_configure", ret, String::new()))?;
        // SAFETY: valid port; in/out pointers to our locals.
        let ret = unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rx_desc, &mut tx_desc) };
        check(ret)
            .map_err(|_| self.dpdk_err("rte_eth_dev_adjust_nb_rx_tx_desc", ret, String::new()))?;
        self.check_pool(config, rx_desc, pool)?;
        self.setup_queues(config, rx_desc, tx_desc, pool, &info)?;
        if let Some(mtu) = config.mtu {
            // SAFETY: valid, configured port.
            let ret = unsafe { sys::rte_eth_dev_set_mtu(id, mtu) };
            check(ret).map_err(|_| self.dpdk_err("rte_eth_dev_set_mtu", ret, String::new()))?;
        }
        let inner = Arc::get_mut(&mut self.inner).ok_or(PortError::Busy(id))?;
        inner.rx_taken = (0..config.rx_queues)
            .map(|_| AtomicBool::new(false))
            .collect();
        inner.tx_taken = (0..config.tx_queues)
            .map(|_| AtomicBool::new(false))
            .collect();
        if let Ok(mut pools) = inner.pools.lock() {
            *pools = vec![pool.clone()];
        }
        Ok(())
    }

    fn check_pool(
        &self,
        config: &PortConfig,
        rx_desc: u16,
        pool: &Mempool,
    ) -> Result<(), PortError> {
        let too_small = |reason: String| PortError::MempoolTooSmall {
            port: self.inner.id,
            pool: pool.name().to_string(),
            reason,
        };
        let ring_need = u32::from(rx_desc) * u32::from(config.rx_queues);
        if pool.size() < ring_need {
            return Err(too_small(format!(
                "{} mbufs cannot fill {} rx queues of {} descriptors ({ring_need} needed)",
                pool.size(),
                config.rx_queues,
                rx_desc
            )));
        }
        if let Some(mtu) = config.mtu {
            // Ethernet header + VLAN + CRC around the MTU, after the headroom.
            let frame = u32::from(mtu) + 14 + 4 + 4;
            let room =
                u32::from(pool.data_room()).saturating_sub(u32::from(crate::mempool::HEADROOM));
            if room < frame {
                return Err(too_small(format!(
                    "{room}-byte mbufs cannot hold a {frame}-byte frame (MTU {mtu}) and scatter is not used"
                )));
            }
        }
        Ok(())
    }

    fn setup_queues(
        &self,
        config: &PortConfig,
        rx_desc: u16,
        tx_desc: u16,
        pool: &Mempool,
        info: &sys::rte_eth_dev_info,
    ) -> Result<(), PortError> {
        let id = self.inner.id;
        // SAFETY: valid port id.
        let socket = u32::try_from(unsafe { sys::rte_eth_dev_socket_id(id) }).unwrap_or(0);
        for q in 0..config.rx_queues {
            let mut rxconf = info.default_rxconf;
            rxconf.offloads = config.rx_offloads & info.rx_offload_capa;
            // SAFETY: configured port; `pool` outlives the port's rings because
            // the port keeps a clone of it; rxconf is read during the call.
            let (ret, log) = dpdk_log::capture(|| unsafe {
                sys::rte_eth_rx_queue_setup(id, q, rx_desc, socket, &rxconf, pool.as_ptr())
            });
            check(ret).map_err(|_| self.dpdk_err("rte_eth_rx_queue_setup", ret, log))?;
        }
        for q in 0..config.tx_queues {
            let mut txconf = info.default_txconf;
            txconf.offloads = config.tx_offloads & info.tx_offload_capa;
            // SAFETY: configured port; txconf read during the call.
            let (ret, log) = dpdk_log::capture(|| unsafe {
                sys::rte_eth_tx_queue_setup(id, q, tx_desc, socket, &txconf)
            });
            check(ret).map_err(|_| self.dpdk_err("rte_eth_tx_queue_setup", ret, log))?;
        }
        Ok(())
    }

    /// Starts the port.
    ///
    /// # Errors
    /// [`PortError::Dpdk`] from `rte_eth_dev_start`.
    pub fn start(&mut self) -> Result<(), PortError> {
        // SAFETY: valid, configured port.
        let (ret, log) = dpdk_log::capture(|| unsafe { sys::rte_eth_dev_start(self.inner.id) });
        check(ret).map_err(|_| self.dpdk_err("rte_eth_dev_start", ret, log))?;
        self.started = true;
        Ok(())
    }

    /// Stops the port. No queue handle may be out (an lcore could be
    /// polling it).
    ///
    /// # Errors
    /// [`PortError::Busy`] while queues are out, or [`PortError::Dpdk`].
    pub fn stop(&mut self) -> Result<(), PortError> {
        if self.queues_out() {
            return Err(PortError::Busy(self.inner.id));
        }
        // SAFETY: valid port; no queue handle exists, so nobody polls it.
        let ret = unsafe { sys::rte_eth_dev_stop(self.inner.id) };
        check(ret).map_err(|_| self.dpdk_err("rte_eth_dev_stop", ret, String::new()))?;
        self.started = false;
        Ok(())
    }

    fn queues_out(&self) -> bool {
        let taken = |flags: &[AtomicBool]| flags.iter().any(|f| f.load(Ordering::Acquire));
        taken(&self.inner.rx_taken) || taken(&self.inner.tx_taken)
    }

    /// Keeps the port open (not closed) for as long as the returned value
    /// lives: for objects, such as flow tables, that use the port id after
    /// the `Port` itself may be gone.
    pub fn hold(&self) -> PortHold {
        PortHold(self.inner.clone())
    }

    /// Whether [`Port::start`] succeeded and no stop followed.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Hands out rx queue `queue` (once).
    ///
    /// # Errors
    /// [`PortError::QueueOutOfRange`] or [`PortError::QueueTaken`].
    pub fn rx_queue(&self, queue: u16) -> Result<RxQueue, PortError> {
        take(&self.inner, &self.inner.rx_taken, "rx", queue)?;
        Ok(RxQueue::new(self.inner.clone(), queue))
    }

    /// Hands out tx queue `queue` (once).
    ///
    /// # Errors
    /// [`PortError::QueueOutOfRange`] or [`PortError::QueueTaken`].
    pub fn tx_queue(&self, queue: u16) -> Result<TxQueue, PortError> {
        take(&self.inner, &self.inner.tx_taken, "tx", queue)?;
        Ok(TxQueue::new(self.inner.clone(), queue))
    }

    /// The port's MAC address.
    ///
    /// # Errors
    /// [`PortError::Dpdk`] from `rte_eth_macaddr_get`.
    pub fn mac(&self) -> Result<MacAddr, PortError> {
        let mut addr = sys::rte_ether_addr::default();
        // SAFETY: valid port id and out-pointer.
        let ret = unsafe { sys::rte_eth_macaddr_get(self.inner.id, &mut addr) };
        check(ret).map_err(|_| self.dpdk_err("rte_eth_macaddr_get", ret, String::new()))?;
        Ok(MacAddr(addr.addr_bytes))
    }

    /// Link state, without waiting.
    ///
    /// # Errors
    /// [`PortError::Dpdk`] from `rte_eth_link_get_nowait`.
    pub fn link(&self) -> Result<Link, PortError> {
        let mut link = sys::rte_eth_link::default();
        // SAFETY: valid port id and out-pointer.
        let ret = unsafe { sys::rte_eth_link_get_nowait(self.inner.id, &mut link) };
        check(ret).map_err(|_| self.dpdk_err("rte_eth_link_get_nowait", ret, String::new()))?;
        Ok(Link {
            up: u32::from(link.link_status()) == sys::RTE_ETH_LINK_UP,
            speed_mbps: link.link_speed,
            full_duplex: link.link_duplex() != 0,
        })
    }

    /// Promiscuous mode on or off.
    ///
    /// # Errors
    /// [`PortError::Dpdk`] when the device refuses (e.g. ENOTSUP).
    pub fn set_promiscuous(&self, on: bool) -> Result<(), PortError> {
        // SAFETY: valid port id.
        let ret = unsafe {
            if on {
                sys::rte_eth_promiscuous_enable(self.inner.id)
            } else {
                sys::rte_eth_promiscuous_disable(self.inner.id)
            }
        };
        check(ret)
            .map_err(|_| self.dpdk_err("rte_eth_promiscuous_enable/disable", ret, String::new()))?;
        Ok(())
    }

    /// Basic counters.
    ///
    /// # Errors
    /// [`PortError::Dpdk`] from `rte_eth_stats_get`.
    pub fn stats(&self) -> Result<PortStats, PortError> {
        port_stats(self.inner.id)
            .map_err(|ret| self.dpdk_err("rte_eth_stats_get", ret, String::new()))
    }

    /// Zeroes the basic counters.
    ///
    /// # Errors
    /// [`PortError::Dpdk`] from `rte_eth_stats_reset`.
    pub fn reset_stats(&self) -> Result<(), PortError> {
        // SAFETY: valid port id.
        let ret = unsafe { sys::rte_eth_stats_reset(self.inner.id) };
        check(ret).map_err(|_| self.dpdk_err("rte_eth_stats_reset", ret, String::new()))?;
        Ok(())
    }

    /// Extended counters by name (driver specific).
    ///
    /// # Errors
    /// [`PortError::Dpdk`] from `rte_eth_xstats_get(_names)`.
    pub fn xstats(&self) -> Result<Vec<(String, u64)>, PortError> {
        let id = self.inner.id;
        // SAFETY: NULL/0 asks for the count only.
        let n = unsafe { sys::rte_eth_xstats_get_names(id, std::ptr::null_mut(), 0) };
        let len = usize::try_from(n)
            .map_err(|_| self.dpdk_err("rte_eth_xstats_get_names", n, String::new()))?;
        let mut names = vec![sys::rte_eth_xstat_name::default(); len];
        let mut values = vec![sys::rte_eth_xstat::default(); len];
        let cap = u32::try_from(len).unwrap_or(u32::MAX);
        // SAFETY: `names` has `cap` writable entries.
        let got = unsafe { sys::rte_eth_xstats_get_names(id, names.as_mut_ptr(), cap) };
        check(got).map_err(|_| self.dpdk_err("rte_eth_xstats_get_names", got, String::new()))?;
        // SAFETY: `values` has `cap` writable entries.
        let got = unsafe { sys::rte_eth_xstats_get(id, values.as_mut_ptr(), cap) };
        check(got).map_err(|_| self.dpdk_err("rte_eth_xstats_get", got, String::new()))?;
        let got = usize::try_from(got).unwrap_or(0).min(len);
        Ok(values[..got]
            .iter()
            .filter_map(|v| {
                let name = names.get(usize::try_from(v.id).ok()?)?;
                // SAFETY: DPDK NUL-terminates names within RTE_ETH_XSTATS_NAME_SIZE.
                let name = unsafe { CStr::from_ptr(name.name.as_ptr()) };
                Some((name.to_string_lossy().into_owned(), v.value))
            })
            .collect())
    }
}

/// Reads `rte_eth_stats` of `id`; the error is DPDK's negative return.
pub(crate) fn port_stats(id: u16) -> Result<PortStats, i32> {
    let mut s = sys::rte_eth_stats::default();
    // SAFETY: the caller holds the port (valid id); out-pointer is ours.
    let ret = unsafe { sys::rte_eth_stats_get(id, &mut s) };
    if ret != 0 {
        return Err(ret);
    }
    Ok(PortStats {
        rx_packets: s.ipackets,
        tx_packets: s.opackets,
        rx_bytes: s.ibytes,
        tx_bytes: s.obytes,
        rx_missed: s.imissed,
        rx_errors: s.ierrors,
        tx_errors: s.oerrors,
        rx_nombuf: s.rx_nombuf,
    })
}

fn ring_err(name: &str, e: crate::ring::RingError) -> PortError {
    let log = e.to_string();
    PortError::Attach {
        devargs: name.to_string(),
        errno: e.errno,
        log,
    }
}

fn port_name(id: u16) -> Option<String> {
    let mut buf = [0 as std::ffi::c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: `buf` has RTE_ETH_NAME_MAX_LEN bytes, as DPDK requires.
    let ret = unsafe { sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
    if ret != 0 {
        return None;
    }
    // SAFETY: DPDK wrote a NUL-terminated name into `buf`.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

fn check_queues(port: u16, dir: &'static str, wanted: u16, max: u16) -> Result<(), PortError> {
    if wanted == 0 || wanted > max {
        return Err(PortError::TooManyQueues {
            port,
            dir,
            wanted,
            max,
        });
    }
    Ok(())
}

fn eth_conf(config: &PortConfig, info: &sys::rte_eth_dev_info) -> sys::rte_eth_conf {
    let mut conf = sys::rte_eth_conf::default();
    conf.rxmode.offloads = config.rx_offloads & info.rx_offload_capa;
    conf.txmode.offloads = config.tx_offloads & info.tx_offload_capa;
    if let Some(mtu) = config.mtu {
        conf.rxmode.mtu = u32::from(mtu);
    }
    // SAFETY: plain reads of constants exported by the C shims.
    let wanted = unsafe {
        sys::dpuflow_rte_eth_rss_ip | sys::dpuflow_rte_eth_rss_tcp | sys::dpuflow_rte_eth_rss_udp
    };
    let hf = wanted & info.flow_type_rss_offloads;
    if config.rss && config.rx_queues > 1 && hf != 0 {
        conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = hf;
    }
    conf
}

fn take(
    inner: &PortInner,
    flags: &[AtomicBool],
    dir: &'static str,
    queue: u16,
) -> Result<(), PortError> {
    let flag = flags
        .get(usize::from(queue))
        .ok_or(PortError::QueueOutOfRange {
            port: inner.id,
            dir,
            queue,
            configured: u16::try_from(flags.len()).unwrap_or(u16::MAX),
        })?;
    if flag.swap(true, Ordering::AcqRel) {
        return Err(PortError::QueueTaken {
            port: inner.id,
            dir,
            queue,
        });
    }
    Ok(())
}
