//! Running work on worker lcores, joining it, and stopping poll loops.

use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dpuflow_sys as sys;

use crate::errno::Errno;
use crate::Eal;

/// Why a launch or join failed.
#[derive(Debug, thiserror::Error)]
pub enum LcoreError {
    /// `rte_eal_remote_launch` refused (lcore busy, not a worker...).
    #[error("cannot launch on lcore {lcore}: {errno}")]
    Launch {
        /// The lcore.
        lcore: u32,
        /// DPDK's errno.
        errno: Errno,
    },
    /// The closure panicked on the lcore.
    #[error("the work on lcore {0} panicked")]
    Panicked(u32),
}

/// A flag that asks poll loops to finish. Cheap to clone; checking it is one
/// relaxed load.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag that is not yet raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the flag.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the flag was raised.
    #[inline]
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

type Slot<T> = Arc<Mutex<Option<std::thread::Result<T>>>>;
type Job = Box<dyn FnOnce() + Send>;

/// Work running on a worker lcore. [`LcoreJoin::join`] waits for its result;
/// dropping the handle waits too, so an lcore never outlives its handle.
pub struct LcoreJoin<T> {
    lcore: u32,
    slot: Slot<T>,
    joined: bool,
    _eal: Eal,
}

impl Eal {
    /// Runs `work` on worker lcore `lcore` (see [`Eal::worker_lcores`]).
    ///
    /// # Errors
    /// [`LcoreError::Launch`] when the lcore is not a free worker.
    pub fn launch<T, F>(&self, lcore: u32, work: F) -> Result<LcoreJoin<T>, LcoreError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot: Slot<T> = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(work));
            if let Ok(mut s) = out.lock() {
                *s = Some(result);
            }
        });
        let arg = Box::into_raw(Box::new(job));
        // SAFETY: `trampoline` takes back ownership of `arg` exactly once
        // when it runs; if the launch fails it never runs and we reclaim it.
        let ret = unsafe { sys::rte_eal_remote_launch(Some(trampoline), arg.cast(), lcore) };
        if ret != 0 {
            // SAFETY: not launched, so `arg` is still ours.
            drop(unsafe { Box::from_raw(arg) });
            return Err(LcoreError::Launch {
                lcore,
                errno: Errno::from_ret(ret),
            });
        }
        Ok(LcoreJoin {
            lcore,
            slot,
            joined: false,
            _eal: self.clone(),
        })
    }
}

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job> leaked by `launch`, passed exactly once.
    let job = unsafe { Box::from_raw(arg.cast::<Job>()) };
    job();
    0
}

impl<T> std::fmt::Debug for LcoreJoin<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LcoreJoin(lcore {})", self.lcore)
    }
}

impl<T> LcoreJoin<T> {
    /// The lcore the work runs on.
    pub fn lcore(&self) -> u32 {
        self.lcore
    }

    fn wait(&mut self) {
        if !self.joined {
            // SAFETY: waits for the lcore we launched on; the EAL is alive.
            unsafe { sys::rte_eal_wait_lcore(self.lcore) };
            self.joined = true;
        }
    }

    /// Waits for the work to finish and returns its result.
    ///
    /// # Errors
    /// [`LcoreError::Panicked`] when the work panicked.
    pub fn join(mut self) -> Result<T, LcoreError> {
        self.wait();
        let result = self.slot.lock().ok().and_then(|mut s| s.take());
        match result {
            Some(Ok(value)) => Ok(value),
            _ => Err(LcoreError::Panicked(self.lcore)),
        }
    }
}

impl<T> Drop for LcoreJoin<T> {
    fn drop(&mut self) {
        self.wait();
    }
}
