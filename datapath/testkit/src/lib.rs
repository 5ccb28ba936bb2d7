//! Test kit for dpuflow's steering rules; a dev-dependency only, never
//! linked into the `dpuflow` binary.
//!
//! * [`corpus`]: valid, OVN-Kubernetes-style rules covering every item and
//!   action of the model (pure Rust, no DPDK).
//! * `recorder` and `testpmd` (feature `recorder`): the C rte_flow
//!   recorder of `ffi-headers/testing/` and a runner for Debian's
//!   `dpdk-testpmd` with it preloaded, to compare dpuflow's rte_flow arrays
//!   with those of DPDK's reference parser; `null_port`, the started
//!   `net_null` port the recorder's rte_flow calls are made on.

pub mod corpus;

#[cfg(feature = "recorder")]
pub mod null_port;
#[cfg(feature = "recorder")]
pub mod recorder;
#[cfg(feature = "recorder")]
pub mod testpmd;

/// Path of the preloadable rte_flow recorder (feature `recorder`).
#[cfg(feature = "recorder")]
pub const RECORDER_PRELOAD_SO: &str = env!("DPUFLOW_RECORDER_SO");
