//! The per-packet pipeline of dpuflow's datapath, as pure Rust.
//!
//! [`lookup::Compiled`] is one table generation compiled for the packet
//! path; [`Worker::process`] takes one frame through parse → connection
//! lookup → (on a miss) classification through the tables and policy →
//! action, and says where the frame goes. The poll-mode workers of
//! `dpuflow-datapath` run it over DPDK mbufs; tests and fuzzers over plain
//! buffers. Nothing here allocates or locks per packet.
#![deny(missing_docs)]

pub mod flow;
pub mod lookup;
pub mod neighbour;
pub mod offload;
pub mod reason;
pub mod stats;
pub mod worker;

pub use neighbour::{NeighbourView, Neighbours};
pub use reason::Reason;
pub use stats::Stats;
pub use worker::{Refresh, Verdict, Worker};
pub mod affinity;
pub mod decide;
