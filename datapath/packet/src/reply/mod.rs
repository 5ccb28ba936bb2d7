//! Replies built in place: the frame becomes the answer to itself, to go
//! back out of the port it came in on (VLAN tags kept). The checks the
//! RFCs ask of a responder — no ICMP error about an ICMP error, a
//! fragment other than the first or a multicast packet; no reset for a
//! reset — are made here and refused as [`EditError::Forbidden`], so a
//! caller cannot start a storm; whether the address asked for is ours is
//! the caller's decision.
//!
//! Replies are not padded to Ethernet's 60-byte minimum: the NIC pads on
//! transmit.
//!
//! [`EditError::Forbidden`]: crate::EditError::Forbidden

use std::net::IpAddr;

use dpuflow_net::MacAddr;

pub mod arp;
pub mod icmp;
pub mod nd;
pub mod tcp;

pub use arp::arp_reply;
pub use icmp::{echo_reply, icmp_error, IcmpError};
pub use nd::neighbor_advert;
pub use tcp::tcp_reset;

/// Who answers with an ICMP error: the router port's MAC and address, and
/// the TTL (hop limit) the answer starts with (OVN's router flows set 254
/// on time exceeded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Responder {
    /// Source MAC of the answer.
    pub mac: MacAddr,
    /// Source address of the answer (the packet's family).
    pub ip: IpAddr,
    /// TTL or hop limit of the answer.
    pub ttl: u8,
}
