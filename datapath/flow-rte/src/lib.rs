//! The rte_flow backend: [`RteRule`] compiles the rule model into DPDK's
//! arrays; [`FlowTable`] installs rules on a port through the sync or the
//! template/async API and removes them on drop.
//!
//! No virtual device on a machine without a NIC implements rte_flow: there
//! `FlowTable::insert` returns the PMD's "not supported" error. The arrays
//! themselves are proven equal to those of DPDK's reference parser by the
//! recorder cross-check (`datapath/flow-rte/tests/rte_flow_crosscheck.rs`).
#![deny(missing_docs)]

pub mod compile;
pub mod error;
pub mod table;

pub use compile::{CompileError, RteRule};
pub use error::{Cause, FlowError};
pub use table::{FlowApi, FlowCount, FlowHandle, FlowTable, FlowTableConfig};
