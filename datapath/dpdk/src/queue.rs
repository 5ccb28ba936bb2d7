//! Rx and tx queue handles: the packet path's only way into a port.
//!
//! Each queue is handed out once, is `Send` (it moves to the lcore that polls
//! it) and not `Sync`: DPDK queues are not thread-safe. Bursts go into and
//! out of caller-owned [`Burst`]s, so nothing is allocated per burst.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use dpuflow_sys as sys;

use crate::mbuf::Burst;
use crate::port::{port_stats, PortInner, PortStats};

/// One rx queue of a started port.
pub struct RxQueue {
    port: Arc<PortInner>,
    id: u16,
    queue: u16,
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

/// One tx queue of a started port.
pub struct TxQueue {
    port: Arc<PortInner>,
    id: u16,
    queue: u16,
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

impl RxQueue {
    pub(crate) fn new(port: Arc<PortInner>, queue: u16) -> Self {
        let id = port.id;
        Self {
            port,
            id,
            queue,
            _not_sync: std::marker::PhantomData,
        }
    }

    /// Port id.
    pub fn port_id(&self) -> u16 {
        self.id
    }

    /// Queue index.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Receives into the free slots of `burst`; returns how many arrived.
    #[inline]
    pub fn rx_burst<const N: usize>(&mut self, burst: &mut Burst<N>) -> usize {
        let slots = burst.spare_slots();
        let room = u16::try_from(slots.len()).unwrap_or(u16::MAX);
        if room == 0 {
            return 0;
        }
        // SAFETY: this handle is the only user of (port, queue) and the port
        // outlives it (Arc); `slots` has `room` writable pointer slots, and
        // DPDK hands us ownership of the `n` mbufs it stores there.
        let n =
            unsafe { sys::dpuflow_rte_eth_rx_burst(self.id, self.queue, slots.as_mut_ptr(), room) };
        let n = usize::from(n);
        // SAFETY: DPDK filled `n` slots with owned mbufs.
        unsafe { burst.commit(n) };
        n
    }

    /// The port's counters (from any queue handle, for the poll loop).
    pub fn port_stats(&self) -> Option<PortStats> {
        port_stats(self.id).ok()
    }
}

impl TxQueue {
    pub(crate) fn new(port: Arc<PortInner>, queue: u16) -> Self {
        let id = port.id;
        Self {
            port,
            id,
            queue,
            _not_sync: std::marker::PhantomData,
        }
    }

    /// Port id.
    pub fn port_id(&self) -> u16 {
        self.id
    }

    /// Queue index.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Sends from the front of `burst` without retrying; returns how many
    /// went out. What could not be sent stays in `burst`, in order, for the
    /// caller to retry later or drop (and count).
    #[inline]
    pub fn tx_burst<const N: usize>(&mut self, burst: &mut Burst<N>) -> usize {
        let pkts = burst.raw_mut();
        let len = u16::try_from(pkts.len()).unwrap_or(u16::MAX);
        if len == 0 {
            return 0;
        }
        // SAFETY: this handle is the only user of (port, queue); `pkts` holds
        // `len` owned mbufs, of which DPDK takes the first `sent`.
        let sent =
            unsafe { sys::dpuflow_rte_eth_tx_burst(self.id, self.queue, pkts.as_mut_ptr(), len) };
        let sent = usize::from(sent);
        // SAFETY: DPDK owns the first `sent` mbufs now.
        unsafe { burst.forget_front(sent) };
        sent
    }
}

impl Drop for RxQueue {
    fn drop(&mut self) {
        if let Some(flag) = self.port.rx_taken.get(usize::from(self.queue)) {
            flag.store(false, Ordering::Release);
        }
    }
}

impl Drop for TxQueue {
    fn drop(&mut self) {
        if let Some(flag) = self.port.tx_taken.get(usize::from(self.queue)) {
            flag.store(false, Ordering::Release);
        }
    }
}

impl std::fmt::Debug for RxQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RxQueue(port {}, queue {})", self.id, self.queue)
    }
}

impl std::fmt::Debug for TxQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TxQueue(port {}, queue {})", self.id, self.queue)
    }
}
