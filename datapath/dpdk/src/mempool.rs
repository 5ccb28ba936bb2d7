//! Packet-buffer pools (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

use dpuflow_sys as sys;

use crate::dpdk_log;
use crate::errno::Errno;
use crate::mbuf::{Burst, Mbuf};
use crate::Eal;

/// DPDK's default headroom in front of packet data (`RTE_PKTMBUF_HEADROOM`).
pub const HEADROOM: u16 = sys::RTE_PKTMBUF_HEADROOM as u16;
/// A data room that holds a 2048-byte frame after the headroom.
pub const DEFAULT_DATA_ROOM: u16 = 2048 + HEADROOM;

/// Why a mempool operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MempoolError {
    /// The name held a NUL byte or was longer than DPDK allows.
    #[error("invalid mempool name {0:?}")]
    BadName(String),
    /// `rte_pktmbuf_pool_create` failed (e.g. ENOMEM: not enough EAL memory).
    #[error("rte_pktmbuf_pool_create({name}, n={size}) failed: {errno}; DPDK said: {log}")]
    Create {
        /// Pool name.
        name: String,
        /// Requested number of mbufs.
        size: u32,
        /// `rte_errno`.
        errno: Errno,
        /// What DPDK logged.
        log: String,
    },
    /// The pool has fewer free mbufs than asked for.
    #[error("mempool {name} exhausted: asked for {wanted} mbufs, {available} free")]
    Exhausted {
        /// Pool name.
        name: String,
        /// Mbufs asked for.
        wanted: usize,
        /// Mbufs free at the time.
        available: u32,
    },
}

/// Parameters of a packet mbuf pool.
#[derive(Debug, Clone)]
pub struct MempoolConfig {
    /// Number of mbufs (best a power of two minus one).
    pub size: u32,
    /// Per-lcore cache size (0 = none; at most 512).
    pub cache: u32,
    /// Bytes of data room per mbuf, headroom included.
    pub data_room: u16,
    /// NUMA socket, or `None` for any.
    pub socket: Option<i32>,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            size: 8191,
            cache: 256,
            data_room: DEFAULT_DATA_ROOM,
            socket: None,
        }
    }
}

/// A pool of packet mbufs. Clones share one pool.
///
/// The pool is freed when the last handle goes and every mbuf is back in it;
/// if mbufs are still out (held by the application), the pool and the EAL are
/// deliberately left alive, since freeing would leave those mbufs dangling.
#[derive(Clone, Debug)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    ptr: NonNull<sys::rte_mempool>,
    name: String,
    size: u32,
    eal: Option<Eal>,
}

// SAFETY: an rte_mempool is designed for concurrent use from many threads
// (multi-producer/multi-consumer ring plus per-lcore caches).
unsafe impl Send for PoolInner {}
// SAFETY: as above; every method takes the pool's own locks (lock-free ring).
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // SAFETY: the pointer is a live pool (we own it); count reads only.
        let all_back = unsafe { sys::rte_mempool_avail_count(self.ptr.as_ptr()) } >= self.size;
        if all_back {
            // SAFETY: no handle and no mbuf refer to the pool any more.
            unsafe { sys::rte_mempool_free(self.ptr.as_ptr()) };
        } else {
            // Mbufs still point into the pool: keep it and the EAL alive.
            std::mem::forget(self.eal.take());
        }
    }
}

impl Mempool {
    /// Creates a packet mbuf pool named `name` (names are process-unique).
    ///
    /// # Errors
    /// [`MempoolError::Create`] with DPDK's errno (ENOMEM when the EAL has
    /// too little memory, EEXIST for a taken name, EINVAL for a bad cache).
    pub fn new(eal: &Eal, name: &str, config: &MempoolConfig) -> Result<Self, MempoolError> {
        let cname = CString::new(name).map_err(|_| MempoolError::BadName(name.to_string()))?;
        let socket = config.socket.unwrap_or(sys::SOCKET_ID_ANY);
        // SAFETY: the EAL is initialised (we hold `eal`); `cname` is a valid
        // C string for the call, which copies it.
        let (ptr, log) = dpdk_log::capture(|| unsafe {
            sys::rte_pktmbuf_pool_create(
                cname.as_ptr(),
                config.size,
                config.cache,
                0,
                config.data_room,
                socket,
            )
        });
        let ptr = NonNull::new(ptr).ok_or_else(|| MempoolError::Create {
            name: name.to_string(),
            size: config.size,
            errno: Errno::last(),
            log,
        })?;
        Ok(Self {
            inner: Arc::new(PoolInner {
                ptr,
                name: name.to_string(),
                size: config.size,
                eal: Some(eal.clone()),
            }),
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Total mbufs in the pool.
    pub fn size(&self) -> u32 {
        self.inner.size
    }

    /// Bytes of data room per mbuf, headroom included.
    pub fn data_room(&self) -> u16 {
        // SAFETY: live pool created by rte_pktmbuf_pool_create.
        unsafe { sys::dpuflow_rte_pktmbuf_data_room_size(self.as_ptr()) }
    }

    /// Mbufs free right now (ring plus per-lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: live pool; read only.
        unsafe { sys::rte_mempool_avail_count(self.as_ptr()) }
    }

    /// Mbufs handed out right now.
    pub fn in_use(&self) -> u32 {
        // SAFETY: live pool; read only.
        unsafe { sys::rte_mempool_in_use_count(self.as_ptr()) }
    }

    /// One mbuf, reset, with an empty data area.
    ///
    /// # Errors
    /// [`MempoolError::Exhausted`] when the pool is empty.
    pub fn alloc(&self) -> Result<Mbuf, MempoolError> {
        // SAFETY: live pool; the returned mbuf is owned by the Mbuf.
        let raw = unsafe { sys::dpuflow_rte_pktmbuf_alloc(self.as_ptr()) };
        NonNull::new(raw)
            .map(|p| {
                // SAFETY: freshly allocated, exclusively ours.
                unsafe { Mbuf::from_raw(p) }
            })
            .ok_or_else(|| self.exhausted(1))
    }

    /// Fills `n` free slots of `burst` with fresh mbufs, all or nothing.
    ///
    /// # Errors
    /// [`MempoolError::Exhausted`] when the pool has fewer than `n` free, or
    /// the burst has fewer than `n` free slots (nothing allocated then).
    pub fn alloc_bulk<const N: usize>(
        &self,
        burst: &mut Burst<N>,
        n: usize,
    ) -> Result<(), MempoolError> {
        let slots = burst.spare_slots();
        if n > slots.len() {
            return Err(self.exhausted(n));
        }
        let count = u32::try_from(n).map_err(|_| self.exhausted(n))?;
        // SAFETY: `slots` has at least `n` writable pointer slots; on success
        // DPDK stores `n` owned mbufs there, which `commit` hands to `burst`.
        let ret = unsafe {
            sys::dpuflow_rte_pktmbuf_alloc_bulk(self.as_ptr(), slots.as_mut_ptr(), count)
        };
        if ret != 0 {
            return Err(self.exhausted(n));
        }
        // SAFETY: DPDK filled `n` slots with owned mbufs (all-or-nothing).
        unsafe { burst.commit(n) };
        Ok(())
    }

    fn exhausted(&self, wanted: usize) -> MempoolError {
        MempoolError::Exhausted {
            name: self.inner.name.clone(),
            wanted,
            available: self.available(),
        }
    }

    /// The raw pool, for port setup.
    pub(crate) fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.inner.ptr.as_ptr()
    }
}
