//! dpuflow's poll-mode datapath on DPU cores: [`Datapath`] runs the
//! engine's pipeline (`dpuflow-engine`) in one run-to-completion poll loop
//! per worker lcore ([`poll`]) over DPDK ports, with a builder thread
//! ([`builder`]) that compiles the control plane's table batches and
//! publishes them RCU-style ([`generation`]). [`fwd`] is the raw
//! forwarding loop the benchmarks compare against.
#![deny(missing_docs)]

pub mod builder;
pub mod counters;
pub mod datapath;
pub mod frame;
pub mod fwd;
pub mod generation;
pub mod offload;
pub mod poll;

pub use builder::TablesHandle;
pub use datapath::{Datapath, DatapathConfig, DatapathError, DatapathPort};
pub use offload::{OffloadSetup, OffloadThread};
