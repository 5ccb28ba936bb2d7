//! DPDK rings (`rte_ring`), owned: the backing of ring-pair ports.

use std::ffi::CString;
use std::ptr::NonNull;

use dpuflow_sys as sys;

use crate::errno::Errno;
use crate::Eal;

/// Why a ring could not be made.
#[derive(Debug, thiserror::Error)]
#[error("rte_ring_create({name}, {depth}) failed: {errno}")]
pub struct RingError {
    /// Ring name.
    pub name: String,
    /// Requested depth.
    pub depth: u32,
    /// DPDK's errno.
    pub errno: Errno,
}

/// An owned multi-producer/multi-consumer ring, freed on drop.
#[derive(Debug)]
pub struct Ring {
    ptr: NonNull<sys::rte_ring>,
    _eal: Eal,
}

// SAFETY: an MP/MC rte_ring is safe to use from several threads at once.
unsafe impl Send for Ring {}
// SAFETY: as above.
unsafe impl Sync for Ring {}

impl Ring {
    /// A ring of `depth` slots (a power of two) named `name`.
    ///
    /// # Errors
    /// [`RingError`] with DPDK's errno (EINVAL for a bad size, EEXIST ...).
    pub fn new(eal: &Eal, name: &str, depth: u32) -> Result<Self, RingError> {
        let err = |errno| RingError {
            name: name.to_string(),
            depth,
            errno,
        };
        let c = CString::new(name).map_err(|_| err(Errno(libc::EINVAL)))?;
        // SAFETY: EAL is up; valid C string; flags 0 = MP/MC.
        let raw = unsafe { sys::rte_ring_create(c.as_ptr(), depth, sys::SOCKET_ID_ANY, 0) };
        let ptr = NonNull::new(raw).ok_or_else(|| err(Errno::last()))?;
        Ok(Self {
            ptr,
            _eal: eal.clone(),
        })
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::rte_ring {
        self.ptr.as_ptr()
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: we own the ring; ports using it are closed (they hold us).
        unsafe { sys::rte_ring_free(self.ptr.as_ptr()) }
    }
}
