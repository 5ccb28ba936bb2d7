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
use super::tunnel::{RawDecap, TunnelEncap};

/// Most queues of one RSS action (testpmd's `ACTION_RSS_QUEUE_NUM`).
pub const RSS_MAX_QUEUES: usize = 128;
/// Longest RSS key in bytes (testpmd's `RSS_HASH_KEY_LENGTH`).
pub const RSS_MAX_KEY_LEN: usize = 64;
/// Longest age timeout in seconds (24-bit field).
pub const AGE_TIMEOUT_MAX: u32 = 0x00ff_ffff;

/// One entry of testpmd's `rss types` list (DPDK 22.11 `rss_type_table`):
/// a group token (`all`, `ip`, `udp`, `tcp`, `sctp`, `tunnel`, `vlan`) or
/// one hash field. testpmd's `none` (0) is `types: Some(vec![])`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RssType {
    /// Every hash field testpmd's `all` group names.
    All,
    /// `RTE_ETH_RSS_IP`: IPv4/IPv6 addresses (also testpmd's default when `types` is omitted).
    Ip,
    /// `RTE_ETH_RSS_UDP`: UDP over IPv4, IPv6 and IPv6 with extensions.
    Udp,
    /// `RTE_ETH_RSS_TCP`: TCP over IPv4, IPv6 and IPv6 with extensions.
    Tcp,
    /// `RTE_ETH_RSS_SCTP`: SCTP over IPv4 and IPv6.
    Sctp,
    /// `RTE_ETH_RSS_TUNNEL`: VXLAN, Geneve and NVGRE.
    Tunnel,
    /// `RTE_ETH_RSS_VLAN`: S-VLAN and C-VLAN.
    Vlan,
    /// testpmd `ipv4`.
    Ipv4,
    /// testpmd `ipv4-frag`.
    Ipv4Frag,
    /// testpmd `ipv4-tcp`.
    Ipv4Tcp,
    /// testpmd `ipv4-udp`.
    Ipv4Udp,
    /// testpmd `ipv4-sctp`.
    Ipv4Sctp,
    /// testpmd `ipv4-other`.
    Ipv4Other,
    /// testpmd `ipv6`.
    Ipv6,
    /// testpmd `ipv6-frag`.
    Ipv6Frag,
    /// testpmd `ipv6-tcp`.
    Ipv6Tcp,
    /// testpmd `ipv6-udp`.
    Ipv6Udp,
    /// testpmd `ipv6-sctp`.
    Ipv6Sctp,
    /// testpmd `ipv6-other`.
    Ipv6Other,
    /// testpmd `l2-payload`.
    L2Payload,
    /// testpmd `ipv6-ex`.
    Ipv6Ex,
    /// testpmd `ipv6-tcp-ex`.
    Ipv6TcpEx,
    /// testpmd `ipv6-udp-ex`.
    Ipv6UdpEx,
    /// testpmd `port`.
    Port,
    /// testpmd `vxlan`.
    Vxlan,
    /// testpmd `geneve`.
    Geneve,
    /// testpmd `nvgre`.
    Nvgre,
    /// testpmd `gtpu`.
    Gtpu,
    /// testpmd `eth`.
    Eth,
    /// testpmd `s-vlan`.
    SVlan,
    /// testpmd `c-vlan`.
    CVlan,
    /// testpmd `esp`.
    Esp,
    /// testpmd `ah`.
    Ah,
    /// testpmd `l2tpv3`.
    L2tpv3,
    /// testpmd `pfcp`.
    Pfcp,
    /// testpmd `pppoe`.
    Pppoe,
    /// testpmd `ecpri`.
    Ecpri,
    /// testpmd `mpls`.
    Mpls,
    /// testpmd `ipv4-chksum`.
    Ipv4Chksum,
    /// testpmd `l4-chksum`.
    L4Chksum,
    /// testpmd `l2tpv2`.
    L2tpv2,
    /// testpmd `l3-pre96`.
    L3Pre96,
    /// testpmd `l3-pre64`.
    L3Pre64,
    /// testpmd `l3-pre56`.
    L3Pre56,
    /// testpmd `l3-pre48`.
    L3Pre48,
    /// testpmd `l3-pre40`.
    L3Pre40,
    /// testpmd `l3-pre32`.
    L3Pre32,
    /// testpmd `l2-dst-only`.
    L2DstOnly,
    /// testpmd `l2-src-only`.
    L2SrcOnly,
    /// testpmd `l4-dst-only`.
    L4DstOnly,
    /// testpmd `l4-src-only`.
    L4SrcOnly,
    /// testpmd `l3-dst-only`.
    L3DstOnly,
    /// testpmd `l3-src-only`.
    L3SrcOnly,
}

const fn bit(n: u32) -> u64 {
    1u64 << n
}

/// `RTE_ETH_RSS_IP` (DPDK 22.11 `rte_ethdev.h`): what testpmd hashes on
/// when an `rss` action omits `types`.
pub const RTE_ETH_RSS_IP: u64 = bit(2) | bit(3) | bit(7) | bit(8) | bit(9) | bit(13) | bit(15);
const IP_BITS: u64 = RTE_ETH_RSS_IP;
/// testpmd's `all`: ETH, VLAN, IP, TCP, UDP, SCTP, L2_PAYLOAD, L2TPV3, ESP,
/// AH, PFCP, GTPU, ECPRI, MPLS, L2TPV2.
const ALL_BITS: u64 = bit(24)
    | bit(25)
    | bit(26)
    | IP_BITS
    | bit(4)
    | bit(10)
    | bit(16)
    | bit(5)
    | bit(11)
    | bit(17)
    | bit(6)
    | bit(12)
    | bit(14)
    | bit(29)
    | bit(27)
    | bit(28)
    | bit(30)
    | bit(23)
    | bit(32)
    | bit(33)
    | bit(36);

impl RssType {
    /// Every token testpmd's `rss types` accepts (but `none`), in
    /// `rss_type_table` order.
    pub const ALL: [RssType; 53] = [
        RssType::All,
        RssType::Ip,
        RssType::Udp,
        RssType::Tcp,
        RssType::Sctp,
        RssType::Tunnel,
        RssType::Vlan,
        RssType::Ipv4,
        RssType::Ipv4Frag,
        RssType::Ipv4Tcp,
        RssType::Ipv4Udp,
        RssType::Ipv4Sctp,
        RssType::Ipv4Other,
        RssType::Ipv6,
        RssType::Ipv6Frag,
        RssType::Ipv6Tcp,
        RssType::Ipv6Udp,
        RssType::Ipv6Sctp,
        RssType::Ipv6Other,
        RssType::L2Payload,
        RssType::Ipv6Ex,
        RssType::Ipv6TcpEx,
        RssType::Ipv6UdpEx,
        RssType::Port,
        RssType::Vxlan,
        RssType::Geneve,
        RssType::Nvgre,
        RssType::Gtpu,
        RssType::Eth,
        RssType::SVlan,
        RssType::CVlan,
        RssType::Esp,
        RssType::Ah,
        RssType::L2tpv3,
        RssType::Pfcp,
        RssType::Pppoe,
        RssType::Ecpri,
        RssType::Mpls,
        RssType::Ipv4Chksum,
        RssType::L4Chksum,
        RssType::L2tpv2,
        RssType::L3Pre96,
        RssType::L3Pre64,
        RssType::L3Pre56,
        RssType::L3Pre48,
        RssType::L3Pre40,
        RssType::L3Pre32,
        RssType::L2DstOnly,
        RssType::L2SrcOnly,
        RssType::L4DstOnly,
        RssType::L4SrcOnly,
        RssType::L3DstOnly,
        RssType::L3SrcOnly,
    ];

    /// The testpmd token.
    pub fn testpmd_name(self) -> &'static str {
        match self {
            RssType::All => "all",
            RssType::Ip => "ip",
            RssType::Udp => "udp",
            RssType::Tcp => "tcp",
            RssType::Sctp => "sctp",
            RssType::Tunnel => "tunnel",
            RssType::Vlan => "vlan",
            RssType::Ipv4 => "ipv4",
            RssType::Ipv4Frag => "ipv4-frag",
            RssType::Ipv4Tcp => "ipv4-tcp",
            RssType::Ipv4Udp => "ipv4-udp",
            RssType::Ipv4Sctp => "ipv4-sctp",
            RssType::Ipv4Other => "ipv4-other",
            RssType::Ipv6 => "ipv6",
            RssType::Ipv6Frag => "ipv6-frag",
            RssType::Ipv6Tcp => "ipv6-tcp",
            RssType::Ipv6Udp => "ipv6-udp",
            RssType::Ipv6Sctp => "ipv6-sctp",
            RssType::Ipv6Other => "ipv6-other",
            RssType::L2Payload => "l2-payload",
            RssType::Ipv6Ex => "ipv6-ex",
            RssType::Ipv6TcpEx => "ipv6-tcp-ex",
            RssType::Ipv6UdpEx => "ipv6-udp-ex",
            RssType::Port => "port",
            RssType::Vxlan => "vxlan",
            RssType::Geneve => "geneve",
            RssType::Nvgre => "nvgre",
            RssType::Gtpu => "gtpu",
            RssType::Eth => "eth",
            RssType::SVlan => "s-vlan",
            RssType::CVlan => "c-vlan",
            RssType::Esp => "esp",
            RssType::Ah => "ah",
            RssType::L2tpv3 => "l2tpv3",
            RssType::Pfcp => "pfcp",
            RssType::Pppoe => "pppoe",
            RssType::Ecpri => "ecpri",
            RssType::Mpls => "mpls",
            RssType::Ipv4Chksum => "ipv4-chksum",
            RssType::L4Chksum => "l4-chksum",
            RssType::L2tpv2 => "l2tpv2",
            RssType::L3Pre96 => "l3-pre96",
            RssType::L3Pre64 => "l3-pre64",
            RssType::L3Pre56 => "l3-pre56",
            RssType::L3Pre48 => "l3-pre48",
            RssType::L3Pre40 => "l3-pre40",
            RssType::L3Pre32 => "l3-pre32",
            RssType::L2DstOnly => "l2-dst-only",
            RssType::L2SrcOnly => "l2-src-only",
            RssType::L4DstOnly => "l4-dst-only",
            RssType::L4SrcOnly => "l4-src-only",
            RssType::L3DstOnly => "l3-dst-only",
            RssType::L3SrcOnly => "l3-src-only",
        }
    }

    /// The `RTE_ETH_RSS_*` bits (DPDK 22.11 `rte_ethdev.h`): one bit, or
    /// the union a group token stands for.
    pub fn rte_eth_rss_bits(self) -> u64 {
        match self {
            RssType::All => ALL_BITS,
            RssType::Ip => IP_BITS,
            RssType::Udp => bit(5) | bit(11) | bit(17),
            RssType::Tcp => bit(4) | bit(10) | bit(16),
            RssType::Sctp => bit(6) | bit(12),
            RssType::Tunnel => bit(19) | bit(20) | bit(21),
            RssType::Vlan => bit(25) | bit(26),
            RssType::Ipv4 => bit(2),
            RssType::Ipv4Frag => bit(3),
            RssType::Ipv4Tcp => bit(4),
            RssType::Ipv4Udp => bit(5),
            RssType::Ipv4Sctp => bit(6),
            RssType::Ipv4Other => bit(7),
            RssType::Ipv6 => bit(8),
            RssType::Ipv6Frag => bit(9),
            RssType::Ipv6Tcp => bit(10),
            RssType::Ipv6Udp => bit(11),
            RssType::Ipv6Sctp => bit(12),
            RssType::Ipv6Other => bit(13),
            RssType::L2Payload => bit(14),
            RssType::Ipv6Ex => bit(15),
            RssType::Ipv6TcpEx => bit(16),
            RssType::Ipv6UdpEx => bit(17),
            RssType::Port => bit(18),
            RssType::Vxlan => bit(19),
            RssType::Geneve => bit(20),
            RssType::Nvgre => bit(21),
            RssType::Gtpu => bit(23),
            RssType::Eth => bit(24),
            RssType::SVlan => bit(25),
            RssType::CVlan => bit(26),
            RssType::Esp => bit(27),
            RssType::Ah => bit(28),
            RssType::L2tpv3 => bit(29),
            RssType::Pfcp => bit(30),
            RssType::Pppoe => bit(31),
            RssType::Ecpri => bit(32),
            RssType::Mpls => bit(33),
            RssType::Ipv4Chksum => bit(34),
            RssType::L4Chksum => bit(35),
            RssType::L2tpv2 => bit(36),
            RssType::L3Pre96 => bit(52),
            RssType::L3Pre64 => bit(53),
            RssType::L3Pre56 => bit(54),
            RssType::L3Pre48 => bit(55),
            RssType::L3Pre40 => bit(56),
            RssType::L3Pre32 => bit(57),
            RssType::L2DstOnly => bit(58),
            RssType::L2SrcOnly => bit(59),
            RssType::L4DstOnly => bit(60),
            RssType::L4SrcOnly => bit(61),
            RssType::L3DstOnly => bit(62),
            RssType::L3SrcOnly => bit(63),
        }
    }
}

/// Receive-side scaling over a set of queues, field by field as testpmd's
/// `rss` action takes it: a `None` field is omitted from the testpmd command
/// and gets testpmd's default.
///
/// ```
/// use dpuflow_flow::{RssAction, RssType};
///
/// // `rss / end`: every Rx queue of the port, testpmd's default types (`ip`).
/// let all = RssAction::all_queues();
/// // `rss types ip tcp end queues 0 1 2 3 end`.
/// let four = RssAction::queues([0, 1, 2, 3]).types([RssType::Ip, RssType::Tcp]);
/// assert_eq!(all.types_bits(), RssAction::queues([0]).types([RssType::Ip]).types_bits());
/// assert_eq!(four.queues.as_deref(), Some(&[0, 1, 2, 3][..]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RssAction {
    /// Queue indices (non-empty, at most [`RSS_MAX_QUEUES`]); `None` = every
    /// Rx queue of the port, `0..n` in order (testpmd omits `queues`; the
    /// rte_flow compiler needs the port's Rx queue count).
    pub queues: Option<Vec<u16>>,
    /// Hash key; `None` = PMD default (key NULL, key_len 0).
    pub key: Option<Vec<u8>>,
    /// Hash fields; `None` = testpmd's default when `types` is omitted,
    /// [`RTE_ETH_RSS_IP`]; `Some(vec![])` = `types end` = 0, the PMD's own
    /// default.
    pub types: Option<Vec<RssType>>,
    /// Encapsulation level (0 = PMD default, 1 = outermost, 2 = inner).
    pub level: u32,
}

impl RssAction {
    /// RSS over every Rx queue of the port with testpmd's default types
    /// (testpmd `rss / end`).
    pub fn all_queues() -> Self {
        Self::default()
    }

    /// RSS over these queues with testpmd's default types.
    pub fn queues(queues: impl IntoIterator<Item = u16>) -> Self {
        RssAction {
            queues: Some(queues.into_iter().collect()),
            ..Self::default()
        }
    }

    /// Sets the hash fields (an empty list = the PMD's default).
    pub fn types(mut self, types: impl IntoIterator<Item = RssType>) -> Self {
        self.types = Some(types.into_iter().collect());
        self
    }

    /// Sets the hash key.
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the encapsulation level.
    pub fn level(mut self, level: u32) -> Self {
        self.level = level;
        self
    }

    /// The `rte_flow_action_rss.types` value testpmd builds.
    pub fn types_bits(&self) -> u64 {
        self.types.as_ref().map_or(RTE_ETH_RSS_IP, |types| {
            types.iter().fold(0, |acc, t| acc | t.rte_eth_rss_bits())
        })
    }

    /// The queue list for a port with `rx_queues` Rx queues (the list
    /// itself, or `0..rx_queues` for all queues, capped at
    /// [`RSS_MAX_QUEUES`] as testpmd does).
    pub fn queue_list(&self, rx_queues: u16) -> Vec<u16> {
        match &self.queues {
            Some(q) => q.clone(),
            None => (0..rx_queues).take(RSS_MAX_QUEUES).collect(),
        }
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
    RawDecap(RawDecap),
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
