//! What the test files share: addresses, the frame captured between two
//! real OVN zones, and an independent checksum check by etherparse.
#![allow(dead_code)] // each test file uses its own part

use dpuflow_packet::geneve::GENEVE_PORT;
use etherparse::{NetHeaders, PacketBuilder, PacketHeaders, TransportHeader};

pub const POD_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x05];
pub const GW_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01];
pub const POD: [u8; 4] = [10, 244, 1, 5];
pub const PEER: [u8; 4] = [10, 244, 2, 7];

/// The Geneve header of the frame captured between two real OVN zones
/// (node-id 3 → node-id 2; ../shared/reference/ovn-ic-wire.md).
pub const CAPTURED_GENEVE: [u8; 16] = [
    0x02, 0x40, 0x65, 0x58, 0xff, 0x00, 0x03, 0x00, 0x01, 0x02, 0x80, 0x01, 0x00, 0x03, 0x00, 0x02,
];

/// The captured OVN frame (node-id 3 → node-id 2) up to the inner IPv4 TTL
/// and protocol; see ../shared/reference/ovn-ic-wire.md.
pub const CAPTURED: &str =
    "0200 0000 0002 8618 adb4 cd46 0800 4500 008e 0000 4000 4011 e21d ac1f 0001 \
    ac1f 0002 a02a 17c1 007a 1ec5 0240 6558 ff00 0300 0102 8001 0003 0002 0a58 6458 0002 \
    0a58 6458 0003 0800 4500 0054 594b 4000 3f01";

/// The captured prefix as bytes.
pub fn captured() -> Vec<u8> {
    CAPTURED
        .split_whitespace()
        .flat_map(|w| u16::from_str_radix(w, 16).unwrap().to_be_bytes())
        .collect()
}

/// Outer MACs, addresses and UDP source port of the captured frame.
pub const CAPTURED_OUTER_SRC_MAC: [u8; 6] = [0x86, 0x18, 0xad, 0xb4, 0xcd, 0x46];
pub const CAPTURED_OUTER_DST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
pub const CAPTURED_OUTER_SRC: [u8; 4] = [172, 31, 0, 1];
pub const CAPTURED_OUTER_DST: [u8; 4] = [172, 31, 0, 2];
pub const CAPTURED_UDP_SRC: u16 = 41002;

/// The inner frame of the captured tunnel: node 3's rtots MAC to node 2's,
/// a pod's ping with TTL 63.
pub fn captured_inner() -> Vec<u8> {
    let mut inner = Vec::new();
    PacketBuilder::ethernet2(
        [0x0a, 0x58, 0x64, 0x58, 0, 3],
        [0x0a, 0x58, 0x64, 0x58, 0, 2],
    )
    .ipv4(PEER, POD, 63)
    .icmpv4_echo_request(0x1234, 1)
    .write(&mut inner, &[0u8; 56])
    .unwrap();
    inner
}

/// A pod's ping wrapped as OVN interconnect wraps it: outer IPv4/UDP 6081,
/// Geneve with OVN's option, inner Ethernet between transit router ports;
/// and where the inner frame starts.
pub fn geneve_frame() -> (Vec<u8>, usize) {
    let inner = captured_inner();
    let mut payload = CAPTURED_GENEVE.to_vec();
    payload.extend_from_slice(&inner);
    let mut f = Vec::new();
    PacketBuilder::ethernet2(CAPTURED_OUTER_SRC_MAC, CAPTURED_OUTER_DST_MAC)
        .ipv4(CAPTURED_OUTER_SRC, CAPTURED_OUTER_DST, 64)
        .udp(CAPTURED_UDP_SRC, GENEVE_PORT)
        .write(&mut f, &payload)
        .unwrap();
    let inner_at = f.len() - inner.len();
    (f, inner_at)
}

/// Checks every checksum of the frame with etherparse's own arithmetic —
/// the IPv4 header, and TCP, UDP (unless 0 over IPv4), ICMPv4 or ICMPv6 —
/// and returns how many it checked.
pub fn verify_checksums(frame: &[u8]) -> usize {
    let p = PacketHeaders::from_ethernet_slice(frame).expect("etherparse reads the frame");
    let payload = p.payload.slice();
    let mut checked = 0;
    match (&p.net, &p.transport) {
        (Some(NetHeaders::Ipv4(ip, _)), t) => {
            assert_eq!(
                ip.header_checksum,
                ip.calc_header_checksum(),
                "IPv4 header checksum"
            );
            checked += 1;
            match t {
                Some(TransportHeader::Tcp(tcp)) => {
                    assert_eq!(
                        tcp.checksum,
                        tcp.calc_checksum_ipv4(ip, payload).unwrap(),
                        "TCP"
                    );
                    checked += 1;
                }
                Some(TransportHeader::Udp(udp)) if udp.checksum != 0 => {
                    assert_eq!(
                        udp.checksum,
                        udp.calc_checksum_ipv4(ip, payload).unwrap(),
                        "UDP"
                    );
                    checked += 1;
                }
                Some(TransportHeader::Icmpv4(icmp)) => {
                    assert_eq!(
                        icmp.checksum,
                        icmp.icmp_type.calc_checksum(payload),
                        "ICMPv4"
                    );
                    checked += 1;
                }
                _ => {}
            }
        }
        (Some(NetHeaders::Ipv6(ip, _)), t) => match t {
            Some(TransportHeader::Tcp(tcp)) => {
                assert_eq!(
                    tcp.checksum,
                    tcp.calc_checksum_ipv6(ip, payload).unwrap(),
                    "TCP"
                );
                checked += 1;
            }
            Some(TransportHeader::Udp(udp)) => {
                assert_eq!(
                    udp.checksum,
                    udp.calc_checksum_ipv6(ip, payload).unwrap(),
                    "UDP"
                );
                checked += 1;
            }
            Some(TransportHeader::Icmpv6(icmp)) => {
                let sum = icmp
                    .icmp_type
                    .calc_checksum(ip.source, ip.destination, payload);
                assert_eq!(icmp.checksum, sum.unwrap(), "ICMPv6");
                checked += 1;
            }
            _ => {}
        },
        _ => {}
    }
    checked
}
