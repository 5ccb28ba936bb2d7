//! Actions: what a rule does to the packets it matches.
//!
//! Fate actions (at most one a rule): `Drop`, `Queue`, `Rss`,
//! `RepresentedPort`, `PortRepresentor`, `Jump`. The rest modify or
//! annotate the packet. Header rewrites act on the outermost headers of the
//! packet at that point of the action list (after a `RawDecap` that is the
//! former inner header).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::field::MacAddr;
use super::tunnel::{TunnelDecap, TunnelEncap};

/// Most queues of one RSS action (testpmd's `ACTION_RSS_QUEUE_NUM`).
pub const RSS_MAX_QUEUES: usize = 128;
/// Longest RSS key in bytes (testpmd's `RSS_HASH_KEY_LENGTH`).
pub const RSS_MAX_KEY_LEN: usize = 64;
/// Longest age timeout in seconds (24-bit field).
pub const AGE_TIMEOUT_MAX: u32 = 0x00ff_ffff;

/// One RSS hash field selector, named like testpmd's `rss types` tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum RssType {
    Ipv4,
    Ipv4Tcp,
    Ipv4Udp,
    Ipv4Other,
    Ipv6,
    Ipv6Tcp,
    Ipv6Udp,
    Ipv6Other,
    L3SrcOnly,
    L3DstOnly,
    L4SrcOnly,
    L4DstOnly,
}

impl RssType {
    /// The testpmd token.
    pub fn testpmd_name(self) -> &'static str {
        match self {
            RssType::Ipv4 => "ipv4",
            RssType::Ipv4Tcp => "ipv4-tcp",
            RssType::Ipv4Udp => "ipv4-udp",
            RssType::Ipv4Other => "ipv4-other",
            RssType::Ipv6 => "ipv6",
            RssType::Ipv6Tcp => "ipv6-tcp",
            RssType::Ipv6Udp => "ipv6-udp",
            RssType::Ipv6Other => "ipv6-other",
            RssType::L3SrcOnly => "l3-src-only",
            RssType::L3DstOnly => "l3-dst-only",
            RssType::L4SrcOnly => "l4-src-only",
            RssType::L4DstOnly => "l4-dst-only",
        }
    }

    /// The `RTE_ETH_RSS_*` bit (DPDK 22.11 `rte_ethdev.h`).
    pub fn rte_eth_rss_bit(self) -> u64 {
        let bit = match self {
            RssType::Ipv4 => 2,
            RssType::Ipv4Tcp => 4,
            RssType::Ipv4Udp => 5,
            RssType::Ipv4Other => 7,
            RssType::Ipv6 => 8,
            RssType::Ipv6Tcp => 10,
            RssType::Ipv6Udp => 11,
            RssType::Ipv6Other => 13,
            RssType::L3SrcOnly => 63,
            RssType::L3DstOnly => 62,
            RssType::L4SrcOnly => 61,
            RssType::L4DstOnly => 60,
        };
        1u64 << bit
    }
}

/// Receive-side scaling over a set of queues.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RssAction {
    /// Queue indices (non-empty, at most [`RSS_MAX_QUEUES`]).
    pub queues: Vec<u16>,
    /// Hash key; `None` = PMD default (key NULL, key_len 0).
    pub key: Option<Vec<u8>>,
    /// Hash fields; empty = PMD default (`types` 0).
    pub types: Vec<RssType>,
    /// Encapsulation level (0 = PMD default, 1 = outermost, 2 = inner).
    pub level: u32,
}

impl RssAction {
    /// The `rte_flow_action_rss.types` value.
    pub fn types_bits(&self) -> u64 {
        self.types
            .iter()
            .fold(0, |acc, t| acc | t.rte_eth_rss_bit())
    }
}

/// One action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Drop the packet (fate).
    Drop,
    /// Count matched packets and bytes.
    Count,
    /// Deliver to an Rx queue of the port (fate, ingress only).
    Queue(u16),
    /// Spread over Rx queues (fate, ingress only).
    Rss(RssAction),
    /// Send to the entity represented by ethdev `port` (fate, transfer only).
    RepresentedPort(u16),
    /// Send to ethdev `port` itself (fate, transfer only).
    PortRepresentor(u16),
    /// Continue matching in another group (fate).
    Jump(u32),
    /// Attach a mark to the packet (visible in the mbuf and to later groups).
    Mark(u32),
    /// Write `data` under `mask` into tag register `index`.
    SetTag {
        /// Register index.
        index: u8,
        /// Value.
        data: u32,
        /// Bits written.
        mask: u32,
    },
    /// Write `data` under `mask` into the metadata register.
    SetMeta {
        /// Value.
        data: u32,
        /// Bits written.
        mask: u32,
    },
    /// Push the tunnel headers.
    RawEncap(TunnelEncap),
    /// Remove the tunnel headers.
    RawDecap(TunnelDecap),
    /// Push a VLAN tag with this TPID (must be followed by `SetVlanVid`).
    PushVlan {
        /// TPID, 0x8100 or 0x88a8.
        ether_type: u16,
    },
    /// Set the VLAN id of the outermost tag.
    SetVlanVid(u16),
    /// Set the PCP of the outermost tag.
    SetVlanPcp(u8),
    /// Remove the outermost VLAN tag.
    PopVlan,
    /// Rewrite the source MAC.
    SetMacSrc(MacAddr),
    /// Rewrite the destination MAC.
    SetMacDst(MacAddr),
    /// Rewrite the IPv4 source (SNAT).
    SetIpv4Src(Ipv4Addr),
    /// Rewrite the IPv4 destination (DNAT).
    SetIpv4Dst(Ipv4Addr),
    /// Rewrite the IPv6 source.
    SetIpv6Src(Ipv6Addr),
    /// Rewrite the IPv6 destination.
    SetIpv6Dst(Ipv6Addr),
    /// Rewrite the TCP/UDP source port.
    SetTpSrc(u16),
    /// Rewrite the TCP/UDP destination port.
    SetTpDst(u16),
    /// Decrement the IPv4 TTL / IPv6 hop limit.
    DecTtl,
    /// Age the flow out after `timeout` idle seconds (1..=0xffffff).
    Age {
        /// Seconds.
        timeout: u32,
    },
    /// Police through meter `id`.
    Meter(u32),
}

/// The kind of an [`Action`], named like the testpmd token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum ActionKind {
    Drop,
    Count,
    Queue,
    Rss,
    RepresentedPort,
    PortRepresentor,
    Jump,
    Mark,
    SetTag,
    SetMeta,
    RawEncap,
    RawDecap,
    PushVlan,
    SetVlanVid,
    SetVlanPcp,
    PopVlan,
    SetMacSrc,
    SetMacDst,
    SetIpv4Src,
    SetIpv4Dst,
    SetIpv6Src,
    SetIpv6Dst,
    SetTpSrc,
    SetTpDst,
    DecTtl,
    Age,
    Meter,
}

impl ActionKind {
    /// Every action kind.
    pub const ALL: [ActionKind; 27] = [
        ActionKind::Drop,
        ActionKind::Count,
        ActionKind::Queue,
        ActionKind::Rss,
        ActionKind::RepresentedPort,
        ActionKind::PortRepresentor,
        ActionKind::Jump,
        ActionKind::Mark,
        ActionKind::SetTag,
        ActionKind::SetMeta,
        ActionKind::RawEncap,
        ActionKind::RawDecap,
        ActionKind::PushVlan,
        ActionKind::SetVlanVid,
        ActionKind::SetVlanPcp,
        ActionKind::PopVlan,
        ActionKind::SetMacSrc,
        ActionKind::SetMacDst,
        ActionKind::SetIpv4Src,
        ActionKind::SetIpv4Dst,
        ActionKind::SetIpv6Src,
        ActionKind::SetIpv6Dst,
        ActionKind::SetTpSrc,
        ActionKind::SetTpDst,
        ActionKind::DecTtl,
        ActionKind::Age,
        ActionKind::Meter,
    ];

    /// The testpmd token.
    pub fn testpmd_name(self) -> &'static str {
        match self {
            ActionKind::Drop => "drop",
            ActionKind::Count => "count",
            ActionKind::Queue => "queue",
            ActionKind::Rss => "rss",
            ActionKind::RepresentedPort => "represented_port",
            ActionKind::PortRepresentor => "port_representor",
            ActionKind::Jump => "jump",
            ActionKind::Mark => "mark",
            ActionKind::SetTag => "set_tag",
            ActionKind::SetMeta => "set_meta",
            ActionKind::RawEncap => "raw_encap",
            ActionKind::RawDecap => "raw_decap",
            ActionKind::PushVlan => "of_push_vlan",
            ActionKind::SetVlanVid => "of_set_vlan_vid",
            ActionKind::SetVlanPcp => "of_set_vlan_pcp",
            ActionKind::PopVlan => "of_pop_vlan",
            ActionKind::SetMacSrc => "set_mac_src",
            ActionKind::SetMacDst => "set_mac_dst",
            ActionKind::SetIpv4Src => "set_ipv4_src",
            ActionKind::SetIpv4Dst => "set_ipv4_dst",
            ActionKind::SetIpv6Src => "set_ipv6_src",
            ActionKind::SetIpv6Dst => "set_ipv6_dst",
            ActionKind::SetTpSrc => "set_tp_src",
            ActionKind::SetTpDst => "set_tp_dst",
            ActionKind::DecTtl => "dec_ttl",
            ActionKind::Age => "age",
            ActionKind::Meter => "meter",
        }
    }

    /// True for fate actions (at most one per rule).
    pub fn is_fate(self) -> bool {
        matches!(
            self,
            ActionKind::Drop
                | ActionKind::Queue
                | ActionKind::Rss
                | ActionKind::RepresentedPort
                | ActionKind::PortRepresentor
                | ActionKind::Jump
        )
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.testpmd_name())
    }
}

impl Action {
    /// The action's kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Drop => ActionKind::Drop,
            Action::Count => ActionKind::Count,
            Action::Queue(_) => ActionKind::Queue,
            Action::Rss(_) => ActionKind::Rss,
            Action::RepresentedPort(_) => ActionKind::RepresentedPort,
            Action::PortRepresentor(_) => ActionKind::PortRepresentor,
            Action::Jump(_) => ActionKind::Jump,
            Action::Mark(_) => ActionKind::Mark,
            Action::SetTag { .. } => ActionKind::SetTag,
            Action::SetMeta { .. } => ActionKind::SetMeta,
            Action::RawEncap(_) => ActionKind::RawEncap,
            Action::RawDecap(_) => ActionKind::RawDecap,
            Action::PushVlan { .. } => ActionKind::PushVlan,
            Action::SetVlanVid(_) => ActionKind::SetVlanVid,
            Action::SetVlanPcp(_) => ActionKind::SetVlanPcp,
            Action::PopVlan => ActionKind::PopVlan,
            Action::SetMacSrc(_) => ActionKind::SetMacSrc,
            Action::SetMacDst(_) => ActionKind::SetMacDst,
            Action::SetIpv4Src(_) => ActionKind::SetIpv4Src,
            Action::SetIpv4Dst(_) => ActionKind::SetIpv4Dst,
            Action::SetIpv6Src(_) => ActionKind::SetIpv6Src,
            Action::SetIpv6Dst(_) => ActionKind::SetIpv6Dst,
            Action::SetTpSrc(_) => ActionKind::SetTpSrc,
            Action::SetTpDst(_) => ActionKind::SetTpDst,
            Action::DecTtl => ActionKind::DecTtl,
            Action::Age { .. } => ActionKind::Age,
            Action::Meter(_) => ActionKind::Meter,
        }
    }

    /// The jump target, if this is a `Jump`.
    pub fn jump_target(&self) -> Option<u32> {
        match self {
            Action::Jump(g) => Some(*g),
            _ => None,
        }
    }
}
