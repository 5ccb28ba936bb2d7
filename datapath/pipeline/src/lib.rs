//! dpuflow's poll-mode datapath on DPU cores. Today: the raw forwarding
//! loop ([`fwd`]) and the RCU-style publication of table generations that
//! workers acknowledge ([`generation`]); the pipeline (parse, track connections, classify, act,
//! offload) grows here over the safe DPDK layer (`dpuflow-dpdk`), the rule
//! model and its backends (`dpuflow-flow`, `dpuflow-flow-rte`,
//! `dpuflow-flow-doca`) and the desired-state tables (`dpuflow-tables`).
#![deny(missing_docs)]

pub mod fwd;
pub mod generation;
