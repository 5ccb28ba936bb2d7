//! Why a frame was dropped before the pipeline could look at it: one
//! counter per reason, never a panic.

use etherparse::err::{packet::SliceError, Layer};

use crate::geneve::GeneveError;

macro_rules! reasons {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// Why the parser refused a frame.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum DropReason {
            $(#[doc = $doc] $variant,)*
        }

        impl DropReason {
            /// Every reason, for per-reason counters.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];

            /// A short stable name (metric label).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $name,)*
                }
            }
        }
    };
}

reasons! {
    TruncatedEthernet => "truncated_ethernet": "Shorter than an Ethernet header.",
    TruncatedVlan => "truncated_vlan": "Cut inside a VLAN tag.",
    TooManyVlans => "too_many_vlans": "More than two VLAN tags.",
    Macsec => "macsec": "A MACsec frame (not handled here).",
    TruncatedArp => "truncated_arp": "Cut inside an ARP packet.",
    BadArp => "bad_arp": "ARP for something other than IPv4 over Ethernet.",
    BadIpVersion => "bad_ip_version": "An IP header whose version field disagrees with its EtherType.",
    TruncatedIpv4 => "truncated_ipv4": "Cut inside the IPv4 header, or shorter than its total length.",
    BadIpv4Header => "bad_ipv4_header": "IHL below 5 or a total length below the header length.",
    TruncatedIpv6 => "truncated_ipv6": "Cut inside the IPv6 header or its extension headers, or shorter than its payload length.",
    BadIpExtension => "bad_ip_extension": "A malformed IPv6 extension or IP authentication header.",
    TruncatedTcp => "truncated_tcp": "Cut inside the TCP header.",
    BadTcpHeader => "bad_tcp_header": "A TCP data offset below 5.",
    TruncatedUdp => "truncated_udp": "Cut inside the UDP header, or a UDP length that disagrees with the IP payload.",
    TruncatedIcmp => "truncated_icmp": "Cut inside an ICMP or ICMPv6 header.",
    TruncatedGeneve => "truncated_geneve": "Cut inside the Geneve header.",
    BadGeneveVersion => "bad_geneve_version": "A Geneve version other than 0.",
    GeneveOptionsTooLong => "geneve_options_too_long": "A Geneve option area longer than the packet.",
    BadGeneveOption => "bad_geneve_option": "A Geneve option longer than the option area.",
    GeneveNotEthernet => "geneve_not_ethernet": "A Geneve payload that is not an Ethernet frame.",
    NestedTunnel => "nested_tunnel": "Geneve inside Geneve.",
    Truncated => "truncated": "Cut inside another header.",
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&SliceError> for DropReason {
    fn from(e: &SliceError) -> Self {
        match e {
            SliceError::Len(len) => truncated(len.layer),
            SliceError::Ip(_) => DropReason::BadIpVersion,
            SliceError::Ipv4(_) => DropReason::BadIpv4Header,
            SliceError::Ipv6(_) => DropReason::BadIpVersion,
            SliceError::Ipv4Exts(_) | SliceError::Ipv6Exts(_) => DropReason::BadIpExtension,
            SliceError::Tcp(_) => DropReason::BadTcpHeader,
            SliceError::Macsec(_) => DropReason::Macsec,
            SliceError::LinuxSll(_) => DropReason::Truncated,
        }
    }
}

fn truncated(layer: Layer) -> DropReason {
    use Layer as L;
    match layer {
        L::Ethernet2Header | L::EtherPayload => DropReason::TruncatedEthernet,
        L::VlanHeader => DropReason::TruncatedVlan,
        L::MacsecHeader | L::MacsecPacket => DropReason::Macsec,
        L::Arp => DropReason::TruncatedArp,
        L::IpHeader | L::Ipv4Header | L::Ipv4Packet | L::IpAuthHeader => DropReason::TruncatedIpv4,
        L::Ipv6Header
        | L::Ipv6Packet
        | L::Ipv6ExtHeader
        | L::Ipv6HopByHopHeader
        | L::Ipv6DestOptionsHeader
        | L::Ipv6RouteHeader
        | L::Ipv6FragHeader => DropReason::TruncatedIpv6,
        L::UdpHeader | L::UdpPayload => DropReason::TruncatedUdp,
        L::TcpHeader => DropReason::TruncatedTcp,
        L::Icmpv4 | L::Icmpv4Timestamp | L::Icmpv4TimestampReply | L::Icmpv6 => {
            DropReason::TruncatedIcmp
        }
        L::LinuxSllHeader | L::Igmp => DropReason::Truncated,
    }
}

impl From<GeneveError> for DropReason {
    fn from(e: GeneveError) -> Self {
        match e {
            GeneveError::Truncated => DropReason::TruncatedGeneve,
            GeneveError::Version => DropReason::BadGeneveVersion,
            GeneveError::OptionsTooLong => DropReason::GeneveOptionsTooLong,
            GeneveError::OptionLength => DropReason::BadGeneveOption,
        }
    }
}
