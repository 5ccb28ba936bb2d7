//! dpuflow's datapath: a safe layer over DPDK and the poll-mode datapath.
//!
//! Ownership follows DPDK's object tree: [`Eal`] → [`Mempool`] / [`Port`] →
//! [`RxQueue`] / [`TxQueue`]; children keep their parents alive, and each
//! type's `Drop` releases its DPDK object. There is no Kubernetes here.
#![deny(missing_docs)]

mod dpdk_log;
pub mod eal;
pub mod errno;
pub mod flow;
pub mod fwd;
pub mod lcore;
pub mod mbuf;
pub mod mempool;
pub mod port;
pub mod queue;
pub mod ring;
pub mod tables;

pub use eal::{rdtsc, Eal, EalBuilder, EalError};
pub use errno::Errno;
pub use lcore::{LcoreError, LcoreJoin, StopFlag};
pub use mbuf::{Burst, Mbuf, MbufError};
pub use mempool::{Mempool, MempoolConfig, MempoolError};
pub use port::{Link, MacAddr, Port, PortConfig, PortError, PortInfo, PortStats};
pub use queue::{RxQueue, TxQueue};
