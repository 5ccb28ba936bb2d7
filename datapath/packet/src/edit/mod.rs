//! In-place edits of a parsed frame — the act stage's primitives: MACs,
//! VLAN tags, TTL, NAT (of a packet, and of the packet an ICMP error
//! quotes), Geneve encapsulation. Each takes the [`Frame`] and, where it
//! needs them, the [`Headers`] [`parse`](crate::parse()) returned for it;
//! checksums are updated incrementally (RFC 1624) except where a header is
//! new. Nothing allocates and nothing panics: a frame that cannot be edited
//! is an [`EditError`], and the frame is then unchanged.
//!
//! [`Frame`]: crate::frame::Frame
//! [`Headers`]: crate::Headers

pub mod encap;
pub mod eth;
pub mod nat;
pub mod quoted;
pub mod ttl;

pub use encap::{decap, encap_geneve, Encap};
pub use eth::{pop_vlan, push_vlan, set_macs};
pub use nat::{nat, NatRewrite, Side};
pub use quoted::nat_quoted;
pub use ttl::decrement_ttl;

macro_rules! reasons {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// Why an edit or a reply was refused (the frame is unchanged).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum EditError {
            $(#[doc = $doc] $variant,)*
        }

        impl EditError {
            /// Every reason, for per-reason counters.
            pub const ALL: &'static [EditError] = &[$(EditError::$variant,)*];

            /// A short stable name (metric label).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EditError::$variant => $name,)*
                }
            }
        }
    };
}

reasons! {
    NoHeadroom => "no_headroom": "Too little headroom to prepend the new headers.",
    NoTailroom => "no_tailroom": "Too little tailroom to grow the frame.",
    Truncated => "truncated": "The frame is shorter than its headers (or the edit) need.",
    Inconsistent => "inconsistent": "The frame's bytes disagree with the `Headers` passed: stale offsets, another EtherType, IP version or protocol.",
    NotApplicable => "not_applicable": "The packet is not one this edit applies to (NAT of a port on a packet without ports, an ARP reply to something other than an ARP request, a pop on an untagged frame…).",
    Fragment => "fragment": "An IP fragment: its transport header (and checksum) is not all in this packet.",
    FamilyMismatch => "family_mismatch": "An address of the other IP family than the packet (or than the other address).",
    InvalidArgument => "invalid_argument": "A field out of range: VLAN id above 4095, PCP above 7, VNI above 2^24 - 1, an IPv4 MTU above 65535.",
    TooLong => "too_long": "The result would not fit an IP or UDP length field.",
    TtlExpired => "ttl_expired": "TTL or hop limit of 1 or 0: answer time exceeded, or drop.",
    Forbidden => "forbidden": "The RFCs forbid this answer: an ICMP error about an ICMP error, a non-first fragment or a multicast or broadcast packet; a reset for a reset; an invalid neighbour solicitation.",
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for EditError {}
