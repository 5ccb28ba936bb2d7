//! The safe layer over DPDK: EAL, mempools, mbufs, ports, queues, rings,
//! lcores.
//!
//! Ownership follows DPDK's object tree: [`Eal`] → [`Mempool`] / [`Port`] →
//! [`RxQueue`] / [`TxQueue`]; children keep their parents alive, and each
//! type's `Drop` releases its DPDK object. There is no packet processing
//! and no Kubernetes here.
#![deny(missing_docs)]

mod dpdk_log;
pub mod eal;
pub mod errno;
pub mod lcore;
pub mod mbuf;
pub mod mempool;
pub mod port;
pub mod queue;
pub mod ring;

pub use dpuflow_net::MacAddr;
pub use eal::{rdtsc, Eal, EalBuilder, EalError};
pub use errno::Errno;
pub use lcore::{LcoreError, LcoreJoin, StopFlag};
pub use mbuf::{prefetch0, Burst, Drain, Mbuf, MbufError};
pub use mempool::{Mempool, MempoolConfig, MempoolError};
pub use port::{Link, Port, PortConfig, PortError, PortHold, PortInfo, PortStats};
pub use queue::{RxQueue, TxQueue};
