//! Pattern items: what a rule matches.
//!
//! Each protocol item carries optional masked fields; a field left `None`
//! (or with an all-zero mask) is not matched. An item with no constrained
//! field still requires the protocol header to be present (`ipv4` alone
//! matches any IPv4 packet).
//!
//! Conventions: every header item is a tuple variant holding its own
//! `*Match` struct (`Item::Vlan(VlanMatch)`, `Item::Icmp6(Icmp6Match)`), built
//! with `*Match::any()` and chained field setters (`VlanMatch::any().vid(10)`)
//! and converted with `Into<Item>` (so `rule.item(VlanMatch::any().vid(10))`
//! works for every header); `Item::eth()`, `Item::vlan()`, ... match any
//! header of that kind. Items with a single value are tuple variants of the
//! same shape as the corresponding action (`Item::RepresentedPort(3)` /
//! `Action::RepresentedPort(3)`, `Item::Mark(7)` / `Action::Mark(7)`).
//!
//! Items are stacked like an rte_flow pattern: `eth / vlan / ipv4|ipv6 /
//! tcp|udp|icmp|icmp6 / geneve|vxlan [/ geneve-opt] / <inner headers>`.
//! Items before the tunnel item describe the outer headers, items after it
//! the inner (encapsulated) headers. Port, meta, tag and mark items are not
//! part of the header stack and may appear anywhere.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::field::{MacAddr, Masked};

/// Widest VLAN id value (12 bits).
pub const VLAN_VID_MAX: u16 = 0x0fff;
/// Widest VLAN priority code point (3 bits).
pub const VLAN_PCP_MAX: u8 = 7;
/// Widest DSCP value (6 bits).
pub const DSCP_MAX: u8 = 63;
/// Widest ECN value (2 bits).
pub const ECN_MAX: u8 = 3;

/// The TOS / traffic-class byte (`DSCP << 2 | ECN`) matched by a DSCP and
/// an ECN field, or `None` when neither constrains a bit.
fn tos_byte(dscp: &Option<Masked<u8>>, ecn: &Option<Masked<u8>>) -> Option<Masked<u8>> {
    let part = |f: &Option<Masked<u8>>, width: u8, shift: u32| {
        f.map_or((0, 0), |m| {
            ((m.value() & width) << shift, (m.mask() & width) << shift)
        })
    };
    let (dv, dm) = part(dscp, DSCP_MAX, 2);
    let (ev, em) = part(ecn, ECN_MAX, 0);
    let byte = Masked::new(dv | ev, dm | em);
    (!byte.is_wildcard()).then_some(byte)
}

/// Splits a TOS / traffic-class byte under `mask` into (DSCP, ECN) fields;
/// a part whose mask bits are all zero is `None`.
fn split_tos(value: u8, mask: u8) -> (Option<Masked<u8>>, Option<Masked<u8>>) {
    let part = |v: u8, m: u8| (m != 0).then(|| Masked::new(v, m));
    (
        part(value >> 2, mask >> 2),
        part(value & ECN_MAX, mask & ECN_MAX),
    )
}
/// Widest Geneve/VXLAN network identifier (24 bits).
pub const VNI_MAX: u32 = 0x00ff_ffff;
/// Highest tag index of [`Item::Tag`] / `SetTag` (the model, like mlx5,
/// offers eight 32-bit tag registers).
pub const TAG_INDEX_MAX: u8 = 7;
/// Most data words a matched Geneve option may carry in this model.
pub const GENEVE_OPT_MATCH_MAX_WORDS: u8 = 4;

macro_rules! setters {
    ($( $(#[$doc:meta])* $field:ident, $masked:ident : $t:ty ;)*) => {$(
        $(#[$doc])*
        #[doc = "Exact match."]
        pub fn $field(mut self, value: $t) -> Self {
            self.$field = Some(Masked::exact(value));
            self
        }
        $(#[$doc])*
        #[doc = "Match under an explicit mask."]
        pub fn $masked(mut self, value: $t, mask: $t) -> Self {
            self.$field = Some(Masked::new(value, mask));
            self
        }
    )*};
}

macro_rules! narrow_setters {
    ($( $(#[$doc:meta])* $field:ident, $masked:ident : $t:ty = $full:expr ;)*) => {$(
        $(#[$doc])*
        #[doc = "Exact match on the field's full width (values are not truncated; validation rejects out-of-range values)."]
        pub fn $field(mut self, value: $t) -> Self {
            self.$field = Some(Masked::new(value, $full | value));
            self
        }
        $(#[$doc])*
        #[doc = "Match under an explicit mask."]
        pub fn $masked(mut self, value: $t, mask: $t) -> Self {
            self.$field = Some(Masked::new(value, mask));
            self
        }
    )*};
}

/// Ethernet header match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EthMatch {
    /// Destination MAC.
    pub dst: Option<Masked<MacAddr>>,
    /// Source MAC.
    pub src: Option<Masked<MacAddr>>,
    /// EtherType following the Ethernet addresses (0x8100 when tagged).
    pub ether_type: Option<Masked<u16>>,
}

impl EthMatch {
    /// Matches any Ethernet frame.
    pub fn any() -> Self {
        Self::default()
    }
    setters! {
        /// Destination MAC.
        dst, dst_masked: MacAddr;
        /// Source MAC.
        src, src_masked: MacAddr;
        /// EtherType.
        ether_type, ether_type_masked: u16;
    }
}

/// 802.1Q VLAN tag match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VlanMatch {
    /// VLAN id (12 bits).
    pub vid: Option<Masked<u16>>,
    /// Priority code point (3 bits).
    pub pcp: Option<Masked<u8>>,
    /// EtherType of the payload after the tag.
    pub inner_type: Option<Masked<u16>>,
}

impl VlanMatch {
    /// Matches any VLAN-tagged frame.
    pub fn any() -> Self {
        Self::default()
    }
    narrow_setters! {
        /// VLAN id.
        vid, vid_masked: u16 = VLAN_VID_MAX;
        /// Priority code point.
        pcp, pcp_masked: u8 = VLAN_PCP_MAX;
    }
    setters! {
        /// Inner EtherType.
        inner_type, inner_type_masked: u16;
    }
}

/// IPv4 header match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipv4Match {
    /// Source address.
    pub src: Option<Masked<Ipv4Addr>>,
    /// Destination address.
    pub dst: Option<Masked<Ipv4Addr>>,
    /// Next protocol.
    pub proto: Option<Masked<u8>>,
    /// Time to live.
    pub ttl: Option<Masked<u8>>,
    /// DSCP (upper six bits of the TOS byte), as a 0..=63 value.
    pub dscp: Option<Masked<u8>>,
    /// ECN (lower two bits of the TOS byte), as a 0..=3 value.
    pub ecn: Option<Masked<u8>>,
}

impl Ipv4Match {
    /// Matches any IPv4 packet.
    pub fn any() -> Self {
        Self::default()
    }
    setters! {
        /// Source address.
        src, src_masked: Ipv4Addr;
        /// Destination address.
        dst, dst_masked: Ipv4Addr;
        /// Next protocol.
        proto, proto_masked: u8;
        /// TTL.
        ttl, ttl_masked: u8;
    }
    narrow_setters! {
        /// DSCP.
        dscp, dscp_masked: u8 = DSCP_MAX;
        /// ECN.
        ecn, ecn_masked: u8 = ECN_MAX;
    }
    /// Exact match on the whole TOS byte (DSCP and ECN).
    pub fn tos(self, tos: u8) -> Self {
        self.tos_masked(tos, u8::MAX)
    }
    /// Match on the TOS byte under `mask` (sets the DSCP and ECN fields).
    pub fn tos_masked(mut self, tos: u8, mask: u8) -> Self {
        (self.dscp, self.ecn) = split_tos(tos, mask);
        self
    }
    /// The matched TOS byte (`DSCP << 2 | ECN`), `None` when neither field
    /// constrains a bit.
    pub fn tos_byte(&self) -> Option<Masked<u8>> {
        tos_byte(&self.dscp, &self.ecn)
    }
    /// Source prefix `addr/len`.
    pub fn src_prefix(mut self, addr: Ipv4Addr, len: u8) -> Self {
        self.src = Some(Masked::<Ipv4Addr>::prefix(addr, len));
        self
    }
    /// Destination prefix `addr/len`.
    pub fn dst_prefix(mut self, addr: Ipv4Addr, len: u8) -> Self {
        self.dst = Some(Masked::<Ipv4Addr>::prefix(addr, len));
        self
    }
}

/// IPv6 header match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipv6Match {
    /// Source address.
    pub src: Option<Masked<Ipv6Addr>>,
    /// Destination address.
    pub dst: Option<Masked<Ipv6Addr>>,
    /// Next header.
    pub proto: Option<Masked<u8>>,
    /// Hop limit.
    pub hop_limit: Option<Masked<u8>>,
    /// DSCP (upper six bits of the traffic class), as a 0..=63 value.
    pub dscp: Option<Masked<u8>>,
    /// ECN (lower two bits of the traffic class), as a 0..=3 value.
    pub ecn: Option<Masked<u8>>,
}

impl Ipv6Match {
    /// Matches any IPv6 packet.
    pub fn any() -> Self {
        Self::default()
    }
    setters! {
        /// Source address.
        src, src_masked: Ipv6Addr;
        /// Destination address.
        dst, dst_masked: Ipv6Addr;
        /// Next header.
        proto, proto_masked: u8;
        /// Hop limit.
        hop_limit, hop_limit_masked: u8;
    }
    narrow_setters! {
        /// DSCP.
        dscp, dscp_masked: u8 = DSCP_MAX;
        /// ECN.
        ecn, ecn_masked: u8 = ECN_MAX;
    }
    /// Exact match on the whole traffic-class byte (DSCP and ECN).
    pub fn traffic_class(self, tc: u8) -> Self {
        self.traffic_class_masked(tc, u8::MAX)
    }
    /// Match on the traffic-class byte under `mask` (sets the DSCP and ECN
    /// fields).
    pub fn traffic_class_masked(mut self, tc: u8, mask: u8) -> Self {
        (self.dscp, self.ecn) = split_tos(tc, mask);
        self
    }
    /// The matched traffic-class byte (`DSCP << 2 | ECN`), `None` when
    /// neither field constrains a bit.
    pub fn traffic_class_byte(&self) -> Option<Masked<u8>> {
        tos_byte(&self.dscp, &self.ecn)
    }
    /// Source prefix `addr/len`.
    pub fn src_prefix(mut self, addr: Ipv6Addr, len: u8) -> Self {
        self.src = Some(Masked::<Ipv6Addr>::prefix(addr, len));
        self
    }
    /// Destination prefix `addr/len`.
    pub fn dst_prefix(mut self, addr: Ipv6Addr, len: u8) -> Self {
        self.dst = Some(Masked::<Ipv6Addr>::prefix(addr, len));
        self
    }
}

/// TCP header match (ports in host order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpMatch {
    /// Source port.
    pub src_port: Option<Masked<u16>>,
    /// Destination port.
    pub dst_port: Option<Masked<u16>>,
    /// TCP flags byte (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20).
    pub flags: Option<Masked<u8>>,
}

impl TcpMatch {
    /// Matches any TCP segment.
    pub fn any() -> Self {
        Self::default()
    }
    setters! {
        /// Source port.
        src_port, src_port_masked: u16;
        /// Destination port.
        dst_port, dst_port_masked: u16;
        /// Flags.
        flags, flags_masked: u8;
    }
}

/// UDP header match (ports in host order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UdpMatch {
    /// Source port.
    pub src_port: Option<Masked<u16>>,
    /// Destination port.
    pub dst_port: Option<Masked<u16>>,
}

impl UdpMatch {
    /// Matches any UDP datagram.
    pub fn any() -> Self {
        Self::default()
    }
    setters! {
        /// Source port.
        src_port, src_port_masked: u16;
        /// Destination port.
        dst_port, dst_port_masked: u16;
    }
}

/// ICMP (IPv4) header match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IcmpMatch {
    /// Message type.
    pub icmp_type: Option<Masked<u8>>,
    /// Message code.
    pub code: Option<Masked<u8>>,
    /// Echo identifier (bytes 4..6 of the ICMP header, host order; only
    /// meaningful for echo request/reply, which conntrack keys on it).
    pub ident: Option<Masked<u16>>,
}

impl IcmpMatch {
    /// Matches any ICMP message.
    pub fn any() -> Self {
        Self::default()
    }
    setters! {
        /// Message type.
        icmp_type, icmp_type_masked: u8;
        /// Code.
        code, code_masked: u8;
        /// Echo identifier.
        ident, ident_masked: u16;
    }
}

/// ICMPv6 header match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Icmp6Match {
    /// Message type.
    pub icmp_type: Option<Masked<u8>>,
    /// Message code.
    pub code: Option<Masked<u8>>,
}

impl Icmp6Match {
    /// Matches any ICMPv6 message.
    pub fn any() -> Self {
        Self::default()
    }
    setters! {
        /// Message type.
        icmp_type, icmp_type_masked: u8;
        /// Code.
        code, code_masked: u8;
    }
}

/// Geneve header match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GeneveMatch {
    /// Virtual network identifier (24 bits).
    pub vni: Option<Masked<u32>>,
    /// Protocol type of the payload (0x6558 = Ethernet).
    pub protocol: Option<Masked<u16>>,
}

impl GeneveMatch {
    /// Matches any Geneve packet.
    pub fn any() -> Self {
        Self::default()
    }
    narrow_setters! {
        /// VNI.
        vni, vni_masked: u32 = VNI_MAX;
    }
    setters! {
        /// Protocol type.
        protocol, protocol_masked: u16;
    }
}

/// VXLAN header match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VxlanMatch {
    /// Virtual network identifier (24 bits).
    pub vni: Option<Masked<u32>>,
}

impl VxlanMatch {
    /// Matches any VXLAN packet.
    pub fn any() -> Self {
        Self::default()
    }
    narrow_setters! {
        /// VNI.
        vni, vni_masked: u32 = VNI_MAX;
    }
}

/// One Geneve TLV option (class, type and length are matched exactly).
///
/// `length` is the option data length in 4-byte words, as on the wire;
/// `data` must hold exactly `length` words (validated). A data word with an
/// all-zero mask is not matched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GeneveOptMatch {
    /// Option class (OVN: 0x0102).
    pub class: u16,
    /// Option type (OVN: 0x80).
    pub option_type: u8,
    /// Data length in 4-byte words.
    pub length: u8,
    /// Data words (host order values of the big-endian wire words).
    pub data: Vec<Masked<u32>>,
}

impl GeneveOptMatch {
    /// An option with exactly matched data words; `length` is set from `data`.
    pub fn exact(class: u16, option_type: u8, data: &[u32]) -> Self {
        let data: Vec<Masked<u32>> = data.iter().map(|w| Masked::exact(*w)).collect();
        GeneveOptMatch {
            class,
            option_type,
            length: u8::try_from(data.len()).unwrap_or(u8::MAX),
            data,
        }
    }
}

/// One pattern item.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// Traffic entering the switch from the entity (VF, wire) represented
    /// by this ethdev port id (rte_flow `REPRESENTED_PORT`, testpmd
    /// `ethdev_port_id`); the same shape as [`Action::RepresentedPort`].
    ///
    /// [`Action::RepresentedPort`]: crate::Action::RepresentedPort
    RepresentedPort(u16),
    /// Traffic entering the switch from this ethdev port id itself, i.e.
    /// sent by the application (rte_flow `PORT_REPRESENTOR`, testpmd
    /// `port_id`); the same shape as [`Action::PortRepresentor`].
    ///
    /// [`Action::PortRepresentor`]: crate::Action::PortRepresentor
    PortRepresentor(u16),
    /// Ethernet header.
    Eth(EthMatch),
    /// VLAN tag.
    Vlan(VlanMatch),
    /// IPv4 header.
    Ipv4(Ipv4Match),
    /// IPv6 header.
    Ipv6(Ipv6Match),
    /// TCP header.
    Tcp(TcpMatch),
    /// UDP header.
    Udp(UdpMatch),
    /// ICMP header (after IPv4).
    Icmp(IcmpMatch),
    /// ICMPv6 header (after IPv6).
    Icmp6(Icmp6Match),
    /// Geneve header (after UDP).
    Geneve(GeneveMatch),
    /// One Geneve option (right after the Geneve item).
    GeneveOpt(GeneveOptMatch),
    /// VXLAN header (after UDP).
    Vxlan(VxlanMatch),
    /// Metadata register (32 bits, masked).
    Meta(Masked<u32>),
    /// Tag register `index` (masked).
    Tag {
        /// Register index (0..=[`TAG_INDEX_MAX`]).
        index: u8,
        /// Value under mask.
        data: Masked<u32>,
    },
    /// Mark id set by an earlier rule (exact); the same shape as
    /// [`Action::Mark`](crate::Action::Mark).
    Mark(u32),
}

/// The kind of an [`Item`], named like the testpmd token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum ItemKind {
    RepresentedPort,
    PortRepresentor,
    Eth,
    Vlan,
    Ipv4,
    Ipv6,
    Tcp,
    Udp,
    Icmp,
    Icmp6,
    Geneve,
    GeneveOpt,
    Vxlan,
    Meta,
    Tag,
    Mark,
}

impl ItemKind {
    /// Every item kind.
    pub const ALL: [ItemKind; 16] = [
        ItemKind::RepresentedPort,
        ItemKind::PortRepresentor,
        ItemKind::Eth,
        ItemKind::Vlan,
        ItemKind::Ipv4,
        ItemKind::Ipv6,
        ItemKind::Tcp,
        ItemKind::Udp,
        ItemKind::Icmp,
        ItemKind::Icmp6,
        ItemKind::Geneve,
        ItemKind::GeneveOpt,
        ItemKind::Vxlan,
        ItemKind::Meta,
        ItemKind::Tag,
        ItemKind::Mark,
    ];

    /// The testpmd token of this item.
    pub fn testpmd_name(self) -> &'static str {
        match self {
            ItemKind::RepresentedPort => "represented_port",
            ItemKind::PortRepresentor => "port_representor",
            ItemKind::Eth => "eth",
            ItemKind::Vlan => "vlan",
            ItemKind::Ipv4 => "ipv4",
            ItemKind::Ipv6 => "ipv6",
            ItemKind::Tcp => "tcp",
            ItemKind::Udp => "udp",
            ItemKind::Icmp => "icmp",
            ItemKind::Icmp6 => "icmp6",
            ItemKind::Geneve => "geneve",
            ItemKind::GeneveOpt => "geneve-opt",
            ItemKind::Vxlan => "vxlan",
            ItemKind::Meta => "meta",
            ItemKind::Tag => "tag",
            ItemKind::Mark => "mark",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.testpmd_name())
    }
}

impl Item {
    /// The item's kind.
    pub fn kind(&self) -> ItemKind {
        match self {
            Item::RepresentedPort(_) => ItemKind::RepresentedPort,
            Item::PortRepresentor(_) => ItemKind::PortRepresentor,
            Item::Eth(_) => ItemKind::Eth,
            Item::Vlan(_) => ItemKind::Vlan,
            Item::Ipv4(_) => ItemKind::Ipv4,
            Item::Ipv6(_) => ItemKind::Ipv6,
            Item::Tcp(_) => ItemKind::Tcp,
            Item::Udp(_) => ItemKind::Udp,
            Item::Icmp(_) => ItemKind::Icmp,
            Item::Icmp6(_) => ItemKind::Icmp6,
            Item::Geneve(_) => ItemKind::Geneve,
            Item::GeneveOpt(_) => ItemKind::GeneveOpt,
            Item::Vxlan(_) => ItemKind::Vxlan,
            Item::Meta(_) => ItemKind::Meta,
            Item::Tag { .. } => ItemKind::Tag,
            Item::Mark(_) => ItemKind::Mark,
        }
    }

    /// An Ethernet item matching any frame.
    pub fn eth() -> Self {
        Item::Eth(EthMatch::any())
    }

    /// A VLAN item matching any tagged frame.
    pub fn vlan() -> Self {
        Item::Vlan(VlanMatch::any())
    }

    /// An IPv4 item matching any IPv4 packet.
    pub fn ipv4() -> Self {
        Item::Ipv4(Ipv4Match::any())
    }

    /// An IPv6 item matching any IPv6 packet.
    pub fn ipv6() -> Self {
        Item::Ipv6(Ipv6Match::any())
    }

    /// A TCP item matching any segment.
    pub fn tcp() -> Self {
        Item::Tcp(TcpMatch::any())
    }

    /// A UDP item matching any datagram.
    pub fn udp() -> Self {
        Item::Udp(UdpMatch::any())
    }

    /// An ICMP item matching any message.
    pub fn icmp() -> Self {
        Item::Icmp(IcmpMatch::any())
    }

    /// An ICMPv6 item matching any message.
    pub fn icmp6() -> Self {
        Item::Icmp6(Icmp6Match::any())
    }

    /// A Geneve item matching any Geneve header.
    pub fn geneve() -> Self {
        Item::Geneve(GeneveMatch::any())
    }

    /// A VXLAN item matching any VXLAN header.
    pub fn vxlan() -> Self {
        Item::Vxlan(VxlanMatch::any())
    }

    /// True when the item constrains at least one field (rte_flow: the item
    /// carries `spec` and `mask`; otherwise both are NULL).
    pub fn has_fields(&self) -> bool {
        fn some<T: super::field::MaskBits>(f: &Option<Masked<T>>) -> bool {
            f.is_some_and(|m| !m.is_wildcard())
        }
        match self {
            Item::RepresentedPort(_)
            | Item::PortRepresentor(_)
            | Item::GeneveOpt(_)
            | Item::Mark(_)
            | Item::Tag { .. } => true,
            Item::Eth(m) => some(&m.dst) || some(&m.src) || some(&m.ether_type),
            Item::Vlan(m) => some(&m.vid) || some(&m.pcp) || some(&m.inner_type),
            Item::Ipv4(m) => {
                some(&m.src)
                    || some(&m.dst)
                    || some(&m.proto)
                    || some(&m.ttl)
                    || m.tos_byte().is_some()
            }
            Item::Ipv6(m) => {
                some(&m.src)
                    || some(&m.dst)
                    || some(&m.proto)
                    || some(&m.hop_limit)
                    || m.traffic_class_byte().is_some()
            }
            Item::Tcp(m) => some(&m.src_port) || some(&m.dst_port) || some(&m.flags),
            Item::Udp(m) => some(&m.src_port) || some(&m.dst_port),
            Item::Icmp(m) => some(&m.icmp_type) || some(&m.code) || some(&m.ident),
            Item::Icmp6(m) => some(&m.icmp_type) || some(&m.code),
            Item::Geneve(m) => some(&m.vni) || some(&m.protocol),
            Item::Vxlan(m) => some(&m.vni),
            Item::Meta(m) => !m.is_wildcard(),
        }
    }
}

macro_rules! item_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Item {
            fn from(m: $t) -> Self {
                Item::$v(m)
            }
        }
    )*};
}
item_from!(
    EthMatch => Eth,
    VlanMatch => Vlan,
    Ipv4Match => Ipv4,
    Ipv6Match => Ipv6,
    TcpMatch => Tcp,
    UdpMatch => Udp,
    IcmpMatch => Icmp,
    Icmp6Match => Icmp6,
    GeneveMatch => Geneve,
    GeneveOptMatch => GeneveOpt,
    VxlanMatch => Vxlan
);
