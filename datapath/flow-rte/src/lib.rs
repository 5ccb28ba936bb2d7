//! The rte_flow backend: [`RteRule`] compiles the rule model into DPDK's
//! arrays; [`FlowTable`] installs rules on a port through the sync or the
//! template/async API and removes them on drop.
//!
//! No virtual device on a machine without a NIC implements rte_flow: there
//! `FlowTable::insert` returns the PMD's "not supported" error. The arrays
//! themselves are proven equal to those of DPDK's reference parser by the
//! recorder cross-check (`datapath/flow-rte/tests/rte_flow_crosscheck.rs`).
//!
//! `FlowTable` is the datapath's rte_flow [`OffloadBackend`]
//! (`dpuflow_flow::offload`); its bookkeeping under failing, late and
//! missing async completions is tested against the recorder's fault
//! injection (`datapath/flow-rte/tests/flow_table.rs`).
//!
//! [`OffloadBackend`]: dpuflow_flow::offload::OffloadBackend
#![deny(missing_docs)]

pub mod compile;
pub mod error;
pub mod table;

pub use compile::{CompileError, PortContext, RteRule};
pub use error::{Cause, FlowError};
pub use table::{FlowApi, FlowCount, FlowHandle, FlowTable, FlowTableConfig};
