//! The offload manager: once a connection is established, the NIC does to
//! its packets what the software path did, and every connection's offload
//! state is explicit.
//!
//! * [`rules`]: a [`Treatment`](dpuflow_engine::offload::Treatment) (what
//!   the software path did to one packet of a connection direction) becomes
//!   one exact-match steering rule, or the reason it cannot
//!   ([`NotEligible`]).
//! * [`key`]: a frame as the emulated NIC sees it ([`dpuflow_flow::PacketKey`]),
//!   for tests that run the same packet through both paths.
//! * [`manager`]: requests from the workers in, rules into an
//!   [`OffloadBackend`](dpuflow_flow::OffloadBackend) out; counters folded
//!   back into the connection, aged rules ending connections, invalidated
//!   connections losing their rules first, refusals kept with their
//!   reason, transient ones retried with backoff, every rule removed on
//!   shutdown.
//! * [`status`]: what is known of each connection's offload (pending,
//!   offloaded with handles and hits, refused and why, not eligible and
//!   why), and counters per reason.
#![deny(missing_docs)]

pub mod key;
pub mod manager;
pub mod rules;
pub mod status;

pub use manager::{Manager, ManagerConfig, PollStats};
pub use rules::{rule_for, NotEligible, RuleSettings};
pub use status::{ConnOffload, Counters, CountersSnapshot, DirOffload, Status};
