//! DPDK error numbers and their text.

use std::ffi::CStr;
use std::fmt;

use dpuflow_sys as sys;

/// A DPDK errno (positive) with the text `rte_strerror` gives for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The errno from a DPDK return value that is `-errno` on failure.
    pub fn from_ret(ret: i32) -> Self {
        Errno(ret.saturating_abs())
    }

    /// The calling thread's `rte_errno`.
    pub fn last() -> Self {
        // SAFETY: reads the per-lcore/thread rte_errno; no preconditions.
        Errno(unsafe { sys::dpuflow_rte_errno() })
    }

    /// DPDK's message for this errno (covers DPDK's own codes past `E_RTE_*`).
    pub fn message(&self) -> String {
        // SAFETY: rte_strerror returns a pointer to a static or thread-local
        // NUL-terminated string that stays valid until the next call on this
        // thread; it is copied out at once.
        let text = unsafe { CStr::from_ptr(sys::rte_strerror(self.0)) };
        text.to_string_lossy().into_owned()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (errno {})", self.message(), self.0)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({}: {})", self.0, self.message())
    }
}

/// Turns a `0 / -errno` DPDK return into a `Result`.
pub(crate) fn check(ret: i32) -> Result<i32, Errno> {
    if ret < 0 {
        Err(Errno::from_ret(ret))
    } else {
        Ok(ret)
    }
}
