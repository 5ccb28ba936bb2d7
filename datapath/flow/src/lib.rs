//! Steering rules: one rule model, compiled to rte_flow, DOCA Flow and a
//! software classifier.
//!
//! * [`Rule`] = [`Attributes`] (group, priority, [`Direction`]) + pattern
//!   [`Item`]s + [`Action`]s, built with a chaining API
//!   (`Rule::transfer().group(1).item(..).action(..)`).
//! * [`Rule::validate`] rejects rules no backend could install, with a
//!   [`RuleError`] naming the offending item/action index and kind.
//! * [`Rule::to_testpmd`] renders every DPDK 22.11 testpmd command a rule
//!   needs ([`TestpmdCommands`]: `set raw_*` buffers, then `flow create`);
//!   see [`render`] for the mask conventions the rte_flow compiler must
//!   mirror byte for byte.
//! * [`TunnelEncap::encap_bytes`] / [`TunnelDecap::decap_bytes`] build the
//!   raw encap/decap headers (identical to what testpmd's `set raw_encap`
//!   builds).
//! * [`SoftwareTable`] evaluates the same rules over a parsed
//!   [`PacketKey`] with a tuple-space search.
//! * [`OffloadBackend`] is the one interface the datapath programs every
//!   backend through, with errors that say what to do about a refusal
//!   ([`OffloadErrorKind`]); the software table implements it as an
//!   emulated NIC (counters, aging, a table size).
//! * [`doca::DocaPlan`] maps a rule to DOCA Flow pipes and entries (the
//!   FFI backend is the `dpuflow-flow-doca` crate; rte_flow's is
//!   `dpuflow-flow-rte`).
//!
//! Byte order: the model uses host-order integers (`u16` ports, `u32` VNI)
//! and std address types; only the rte_flow compiler, [`tunnel`] and the
//! software key encoder convert to wire order.
#![deny(missing_docs)]

pub mod action;
pub mod doca;
pub mod field;
pub mod item;
pub mod offload;
pub mod packet;
pub mod render;
pub mod rule;
pub mod software;
pub mod tunnel;
pub mod validate;

mod flatkey;

#[cfg(test)]
mod tests;

pub use action::{Action, ActionKind, RssAction, RssType, RTE_ETH_RSS_IP};
pub use field::{MacAddr, MaskBits, Masked};
pub use item::{
    EthMatch, GeneveMatch, GeneveOptMatch, Icmp6Match, IcmpMatch, Ipv4Match, Ipv6Match, Item,
    ItemKind, TcpMatch, UdpMatch, VlanMatch, VxlanMatch,
};
pub use offload::{Capacity, OffloadBackend, OffloadError, OffloadErrorKind, RuleStats};
pub use packet::{
    EthHeader, GeneveOptKey, HeaderKey, InPort, Ipv4Header, Ipv6Header, L3Header, L4Header,
    PacketKey, TunnelKey, TunnelKind, VlanHeader,
};
pub use render::TestpmdCommands;
pub use rule::{Attributes, Direction, Rule};
pub use software::{Classification, Outcome, RuleId, SoftwareTable, TableError};
pub use tunnel::{
    DecapTunnel, EncapTunnel, GeneveOption, IpVersion, OuterIp, RawDecap, TunnelDecap, TunnelEncap,
    VlanTag,
};
pub use validate::RuleError;
