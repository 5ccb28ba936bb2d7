//! Packet parsing for dpuflow's datapath: [`parse`] takes an Ethernet frame
//! and returns what the pipeline keys, classifies and rewrites by — MACs,
//! VLAN tags, ARP, IPv4/IPv6 addresses and protocol, TCP/UDP ports and
//! flags, ICMP type and echo id, and for Geneve (UDP 6081) the VNI, OVN's
//! logical port keys and the encapsulated frame's headers — with the offset
//! of every header. Nothing is copied and nothing allocated; malformed
//! input is a [`DropReason`], never a panic.
//!
//! Ethernet to transport is sliced by `etherparse`; Geneve, which it does
//! not know, by the zero-copy [`geneve::GenevePacket`] view. Pure Rust: no
//! DPDK, so the parser is tested and fuzzed on any machine.
#![deny(missing_docs)]

pub mod drop;
pub mod geneve;
pub mod parse;

pub use drop::DropReason;
pub use geneve::{GenevePacket, GeneveRepr, OvnKeys};
pub use parse::{parse, Arp, Headers, Parsed, Tunnel, Vlan, L3, L4};
