//! A frame as the emulated NIC sees it.
//!
//! [`packet_key`] turns a frame into the [`PacketKey`] the software table
//! ([`dpuflow_flow::SoftwareTable`]) classifies: the port it entered the
//! switch on, the outer Ethernet header with its first VLAN tag, IP and
//! transport headers, a Geneve tunnel (VNI, protocol, first option) and
//! the headers it carries. Tests run the same frame through the software
//! path and through the rule `rule_for` made for it.

use dpuflow_flow::packet::GeneveOptKey;
use dpuflow_flow::{
    EthHeader, HeaderKey, InPort, Ipv4Header, Ipv6Header, L3Header, L4Header, PacketKey, TunnelKey,
    TunnelKind, VlanHeader,
};
use dpuflow_packet::geneve::{GenevePacket, PROTO_ETHERNET};
use dpuflow_packet::{Headers, L3, L4};

/// The key of `bytes` entering the switch from the entity `in_port`
/// represents; `None` for a frame the software path drops as malformed
/// (the NIC's parser would stop earlier and no exact rule matches it).
pub fn packet_key(bytes: &[u8], in_port: u16) -> Option<PacketKey> {
    let parsed = dpuflow_packet::parse(bytes).ok()?;
    let outer = header_key(bytes, 0, &parsed.outer)?;
    let (tunnel, inner) = match &parsed.tunnel {
        Some(t) => {
            let udp_payload = usize::from(parsed.outer.l4_offset) + 8;
            let geneve = GenevePacket::new_checked(bytes.get(udp_payload..)?).ok()?;
            let option = geneve.options().next().map(|o| {
                let mut data = [0u32; 4];
                for (word, chunk) in data.iter_mut().zip(o.data.chunks_exact(4)) {
                    *word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
                GeneveOptKey {
                    class: o.class,
                    option_type: o.option_type,
                    length: u8::try_from(o.data.len() / 4).unwrap_or(u8::MAX),
                    data,
                }
            });
            let key = TunnelKey {
                kind: TunnelKind::Geneve,
                vni: t.vni,
                // The parser refuses any other payload protocol.
                protocol: PROTO_ETHERNET,
                option,
            };
            (
                Some(key),
                header_key(bytes, usize::from(t.inner_offset), &t.inner)?,
            )
        }
        None => (None, HeaderKey::default()),
    };
    Some(PacketKey {
        in_port: Some(InPort::RepresentedPort(in_port)),
        outer,
        tunnel,
        inner,
        ..PacketKey::default()
    })
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// One header stack whose Ethernet header starts at `eth` in `bytes`.
fn header_key(bytes: &[u8], eth: usize, h: &Headers) -> Option<HeaderKey> {
    let vlan = match h.vlans[0] {
        Some(tag) => Some(VlanHeader {
            vid: tag.vid,
            pcp: tag.pcp,
            inner_type: be16(bytes, eth + 16)?,
        }),
        None => None,
    };
    let l3 = match h.l3 {
        L3::Ipv4 {
            src,
            dst,
            proto,
            ttl,
            tos,
        } => L3Header::V4(Ipv4Header {
            src,
            dst,
            proto,
            ttl,
            dscp: tos >> 2,
            ecn: tos & 3,
        }),
        L3::Ipv6 {
            src,
            dst,
            proto,
            hop_limit,
            traffic_class,
        } => L3Header::V6(Ipv6Header {
            src,
            dst,
            proto,
            hop_limit,
            dscp: traffic_class >> 2,
            ecn: traffic_class & 3,
        }),
        L3::Arp(_) | L3::Other(_) => L3Header::None,
    };
    let l4 = match (h.l4, &l3) {
        (L4::Tcp { src, dst, flags }, _) => L4Header::Tcp { src, dst, flags },
        (L4::Udp { src, dst }, _) => L4Header::Udp { src, dst },
        (
            L4::Icmp {
                icmp_type, code, ..
            },
            L3Header::V6(_),
        ) => L4Header::Icmp6 { icmp_type, code },
        (
            L4::Icmp {
                icmp_type, code, ..
            },
            _,
        ) => L4Header::Icmp {
            icmp_type,
            code,
            // A NIC reads bytes 4..6 whatever the message; the parser's
            // `id` is 0 for messages other than echo.
            ident: be16(bytes, usize::from(h.l4_offset) + 4)?,
        },
        _ => L4Header::None,
    };
    Some(HeaderKey {
        eth: Some(EthHeader {
            dst: h.dst,
            src: h.src,
            ether_type: be16(bytes, eth + 12)?,
        }),
        vlan,
        l3,
        l4,
    })
}

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
