//! Packet parsing and editing for dpuflow's datapath.
//!
//! [`parse`](parse()) takes an Ethernet frame and returns what the pipeline keys,
//! classifies and rewrites by — MACs, VLAN tags, ARP, IPv4/IPv6 addresses
//! and protocol, TCP/UDP ports and flags, ICMP type and echo id, and for
//! Geneve (UDP 6081) the VNI, OVN's logical port keys and the encapsulated
//! frame's headers — with the offset of every header. Nothing is copied and
//! nothing allocated; malformed input is a [`DropReason`], never a panic.
//! Ethernet to transport is sliced by `etherparse`; Geneve, which it does
//! not know, by the zero-copy [`geneve::GenevePacket`] view.
//!
//! The act stage then edits the frame in place through the [`Frame`] trait
//! (an mbuf in the datapath, [`VecFrame`] in tests): [`edit`] holds MAC,
//! VLAN, TTL and NAT rewrites (of the packet an ICMP error quotes too) and
//! Geneve encapsulation, [`reply`] turns a
//! frame into the answer to it (ARP reply, neighbour advertisement, ICMP
//! errors and echo replies, TCP reset), [`checksum`] the RFC 1071/1624
//! arithmetic they use. Edits allocate nothing either; one that cannot be
//! made is an [`EditError`] and leaves the frame unchanged.
//!
//! Pure Rust: no DPDK, so parser and edits are tested and fuzzed on any
//! machine.
#![deny(missing_docs)]

pub mod checksum;
pub mod drop;
pub mod edit;
pub mod frame;
pub mod geneve;
mod ip;
pub mod parse;
pub mod quote;
pub mod reply;
pub mod request;

pub use drop::DropReason;
pub use edit::EditError;
pub use frame::{Frame, VecFrame};
pub use geneve::{GenevePacket, GeneveRepr, OvnKeys};
pub use parse::{parse, Arp, Headers, Parsed, Tunnel, Vlan, L3, L4};
