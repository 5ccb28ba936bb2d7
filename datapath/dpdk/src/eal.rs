//! The DPDK Environment Abstraction Layer: built once per process.
//!
//! [`EalBuilder`] assembles the EAL command line; [`EalBuilder::init`] runs
//! `rte_eal_init` on the calling thread, which becomes the main lcore. Every
//! DPDK object made later ([`crate::Mempool`], [`crate::Port`]) holds a clone
//! of the returned [`Eal`], so `rte_eal_cleanup` runs only after the last of
//! them is gone.

use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use dpuflow_sys as sys;

use crate::dpdk_log;
use crate::errno::Errno;

/// Why the EAL could not start.
#[derive(Debug, thiserror::Error)]
pub enum EalError {
    /// `rte_eal_init` already ran in this process (DPDK allows one init).
    #[error("the DPDK EAL is already initialised in this process (one EAL per process)")]
    AlreadyInitialized,
    /// An argument held a NUL byte.
    #[error("EAL argument {0:?} contains a NUL byte")]
    BadArgument(String),
    /// `rte_eal_init` failed.
    #[error("rte_eal_init failed: {errno}; DPDK said: {log}")]
    Init {
        /// `rte_errno` after the call.
        errno: Errno,
        /// What DPDK logged during the call.
        log: String,
    },
}

/// Process-wide EAL state: DPDK supports one init per process.
static STATE: AtomicU8 = AtomicU8::new(UNINIT);
const UNINIT: u8 = 0;
const STARTING: u8 = 1;
const RUNNING: u8 = 2;
const DONE: u8 = 3;

/// Builder for the EAL command line.
#[derive(Debug, Clone)]
pub struct EalBuilder {
    args: Vec<String>,
}

impl Default for EalBuilder {
    fn default() -> Self {
        Self::new("dpuflow")
    }
}

impl EalBuilder {
    /// A command line whose `argv[0]` is `program`.
    pub fn new(program: &str) -> Self {
        Self {
            args: vec![program.to_string()],
        }
    }

    fn push(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// `-l <list>`: the lcores to run on (e.g. `"0-1"`); the first is main.
    pub fn lcores(self, list: &str) -> Self {
        self.push(&["-l", list])
    }

    /// `--main-lcore <id>`.
    pub fn main_lcore(self, id: u32) -> Self {
        self.push(&["--main-lcore", &id.to_string()])
    }

    /// `-m <MB>`: memory to reserve.
    pub fn memory_mb(self, mb: u32) -> Self {
        self.push(&["-m", &mb.to_string()])
    }

    /// `--no-huge`: anonymous memory instead of hugepages (implies legacy
    /// memory; DPDK 22.11 then refuses `--in-memory`).
    pub fn no_huge(self) -> Self {
        self.push(&["--no-huge"])
    }

    /// `--huge-dir <dir>`: a mounted hugetlbfs.
    pub fn huge_dir(self, dir: &str) -> Self {
        self.push(&["--huge-dir", dir])
    }

    /// `--in-memory`: no shared files at all (needs hugepages in 22.11).
    pub fn in_memory(self) -> Self {
        self.push(&["--in-memory"])
    }

    /// `--no-shconf`: no shared config file (no secondary processes).
    pub fn no_shconf(self) -> Self {
        self.push(&["--no-shconf"])
    }

    /// `--file-prefix <prefix>`: keeps several DPDK processes apart.
    pub fn file_prefix(self, prefix: &str) -> Self {
        self.push(&["--file-prefix", prefix])
    }

    /// `--no-pci`: do not scan the PCI bus.
    pub fn no_pci(self) -> Self {
        self.push(&["--no-pci"])
    }

    /// `--vdev <devargs>`: a virtual device, e.g. `net_ring0` or
    /// `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`.
    pub fn vdev(self, devargs: &str) -> Self {
        self.push(&["--vdev", devargs])
    }

    /// `-a <pci[,args]>`: allow a PCI device (a representor with its
    /// `representor=` devargs on a DPU).
    pub fn allow(self, devargs: &str) -> Self {
        self.push(&["-a", devargs])
    }

    /// `-d <path>`: load a driver or a directory of drivers.
    pub fn driver_path(self, path: &str) -> Self {
        self.push(&["-d", path])
    }

    /// `--log-level <level>`, e.g. `"notice"` or `"pmd.net.*:debug"`.
    pub fn log_level(self, level: &str) -> Self {
        self.push(&["--log-level", level])
    }

    /// Any other EAL argument, verbatim.
    pub fn arg(self, arg: &str) -> Self {
        self.push(&[arg])
    }

    /// The arguments as they will be passed (for logs and `check-config`).
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Runs `rte_eal_init`. The calling thread becomes the main lcore.
    ///
    /// # Errors
    /// [`EalError::AlreadyInitialized`] on a second call in this process
    /// (even after the first `Eal` was dropped: DPDK cannot re-init), and
    /// [`EalError::Init`] with DPDK's errno and log when init fails.
    pub fn init(self) -> Result<Eal, EalError> {
        let argv = self
            .args
            .iter()
            .map(|a| CString::new(a.as_str()).map_err(|_| EalError::BadArgument(a.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        if STATE
            .compare_exchange(UNINIT, STARTING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(EalError::AlreadyInitialized);
        }
        dpdk_log::install();
        let mut ptrs: Vec<*mut c_char> = argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
        let argc = i32::try_from(ptrs.len()).unwrap_or(i32::MAX);
        // SAFETY: `ptrs` holds `argc` pointers to NUL-terminated strings owned
        // by `argv`, which EalInner keeps alive until cleanup (DPDK may keep
        // pointers into argv). rte_eal_init may permute `ptrs`, never the
        // strings. STATE guarantees a single call per process.
        let (ret, log) =
            dpdk_log::capture(|| unsafe { sys::rte_eal_init(argc, ptrs.as_mut_ptr()) });
        if ret < 0 {
            let errno = Errno::last();
            // DPDK cannot be initialised again after a failed init either.
            STATE.store(DONE, Ordering::Release);
            return Err(EalError::Init { errno, log });
        }
        STATE.store(RUNNING, Ordering::Release);
        Ok(Eal {
            _inner: Arc::new(EalInner { _argv: argv }),
        })
    }
}

/// A running EAL. Cheap to clone; cleanup runs when the last clone (including
/// those held by mempools and ports) is dropped.
#[derive(Clone, Debug)]
pub struct Eal {
    _inner: Arc<EalInner>,
}

#[derive(Debug)]
struct EalInner {
    _argv: Vec<CString>,
}

impl Drop for EalInner {
    fn drop(&mut self) {
        // SAFETY: the last handle to DPDK objects is gone (every Mempool and
        // Port holds an Eal clone), so nothing uses EAL memory any more.
        unsafe {
            sys::rte_eal_cleanup();
        }
        STATE.store(DONE, Ordering::Release);
    }
}

impl Eal {
    /// Whether an EAL is running in this process.
    pub fn is_running() -> bool {
        STATE.load(Ordering::Acquire) == RUNNING
    }

    /// The main lcore's id.
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: the EAL is initialised (we hold an Eal).
        unsafe { sys::rte_get_main_lcore() }
    }

    /// Ids of the worker lcores (every enabled lcore but main).
    pub fn worker_lcores(&self) -> Vec<u32> {
        let mut out = Vec::new();
        // SAFETY: the EAL is initialised; rte_get_next_lcore only reads the
        // lcore config. `i = -1` starts the iteration, skip_main = 1, wrap = 0.
        let mut id = unsafe { sys::rte_get_next_lcore(u32::MAX, 1, 0) };
        while id < sys::RTE_MAX_LCORE {
            out.push(id);
            // SAFETY: as above.
            id = unsafe { sys::rte_get_next_lcore(id, 1, 0) };
        }
        out
    }

    /// TSC ticks per second (for cycle accounting).
    pub fn tsc_hz(&self) -> u64 {
        // SAFETY: the EAL is initialised, which calibrated the TSC.
        unsafe { sys::dpuflow_rte_get_tsc_hz() }
    }
}

/// The TSC, for cycle accounting on the packet path: the same counter as
/// DPDK's `rte_rdtsc()` (x86 `rdtsc`; arm64 `cntvct_el0`, as Debian's DPDK
/// reads it without the PMU option), inlined instead of a call per read.
#[inline]
pub fn rdtsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` is available on every x86_64 CPU and only reads
        // the time stamp counter.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(target_arch = "aarch64")]
    {
        let ticks: u64;
        // SAFETY: reading the generic timer's virtual count register is
        // allowed at EL0 on Linux and has no side effects.
        unsafe {
            core::arch::asm!("mrs {}, cntvct_el0", out(reg) ticks, options(nomem, nostack));
        }
        ticks
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        // SAFETY: reads the time stamp counter; no preconditions.
        unsafe { sys::dpuflow_rte_rdtsc() }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rdtsc_reads_dpdks_counter() {
        // SAFETY: reads the time stamp counter; no preconditions.
        let before = unsafe { super::sys::dpuflow_rte_rdtsc() };
        let ours = super::rdtsc();
        // SAFETY: as above.
        let after = unsafe { super::sys::dpuflow_rte_rdtsc() };
        assert!(before <= ours && ours <= after, "{before} {ours} {after}");
    }
}
