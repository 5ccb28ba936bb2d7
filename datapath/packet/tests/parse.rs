//! The parser against frames built by `etherparse`: every field the
//! pipeline reads, OVN interconnect's Geneve exactly as captured from a real
//! OVN zone, and malformed input (truncated at every byte, lying lengths) as
//! a drop reason, never a panic.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use common::*;

use dpuflow_net::MacAddr;
use dpuflow_packet::geneve::GeneveError;
use dpuflow_packet::parse::tcp_flags;
use dpuflow_packet::{parse, DropReason, GenevePacket, GeneveRepr, OvnKeys, Vlan, L3, L4};
use etherparse::{ArpHardwareId, ArpOperation, ArpPacket, EtherType, PacketBuilder, VlanId};
use proptest::prelude::*;

fn udp4(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv4(POD, PEER, 64)
        .udp(40000, 53)
        .write(&mut f, payload)
        .unwrap();
    f
}

#[test]
fn pod_udp_over_ipv4() {
    let f = udp4(b"hello");
    let p = parse(&f).unwrap();
    let h = p.outer;
    // etherparse takes (source, destination): the pod sends to its gateway.
    assert_eq!((h.dst, h.src), (MacAddr(GW_MAC), MacAddr(POD_MAC)));
    assert_eq!(h.vlans, [None, None]);
    assert_eq!(
        h.l3,
        L3::Ipv4 {
            src: Ipv4Addr::from(POD),
            dst: Ipv4Addr::from(PEER),
            proto: 17,
            ttl: 64,
            tos: 0
        }
    );
    assert_eq!(
        h.l4,
        L4::Udp {
            src: 40000,
            dst: 53
        }
    );
    assert_eq!((h.l3_offset, h.l4_offset), (14, 34));
    assert!(p.tunnel.is_none());
    assert_eq!(p.innermost(), &h);
}

#[test]
fn tcp_syn_over_ipv6_behind_two_vlan_tags() {
    let (src, dst): (Ipv6Addr, Ipv6Addr) = (
        "fd00:10:244:1::5".parse().unwrap(),
        "fd00:10:96::a".parse().unwrap(),
    );
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .double_vlan(VlanId::try_new(100).unwrap(), VlanId::try_new(200).unwrap())
        .ipv6(src.octets(), dst.octets(), 63)
        .tcp(50000, 443, 7, 1024)
        .syn()
        .write(&mut f, &[])
        .unwrap();
    let h = parse(&f).unwrap().outer;
    assert_eq!(
        h.vlans,
        [
            Some(Vlan { vid: 100, pcp: 0 }),
            Some(Vlan { vid: 200, pcp: 0 })
        ]
    );
    assert_eq!(
        h.l3,
        L3::Ipv6 {
            src,
            dst,
            proto: 6,
            hop_limit: 63,
            traffic_class: 0
        }
    );
    assert_eq!(
        h.l4,
        L4::Tcp {
            src: 50000,
            dst: 443,
            flags: tcp_flags::SYN
        }
    );
    assert_eq!((h.l3_offset, h.l4_offset), (22, 62));
}

#[test]
fn icmp_echo_ids_for_both_families() {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv4(POD, PEER, 64)
        .icmpv4_echo_request(77, 1)
        .write(&mut f, &[0; 8])
        .unwrap();
    assert_eq!(
        parse(&f).unwrap().outer.l4,
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 77
        }
    );
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv6([0xfd; 16], [0xfe; 16], 64)
        .icmpv6_echo_request(78, 1)
        .write(&mut f, &[0; 8])
        .unwrap();
    assert_eq!(
        parse(&f).unwrap().outer.l4,
        L4::Icmp {
            icmp_type: 128,
            code: 0,
            id: 78
        }
    );
}

/// Found by the fuzzer: etherparse slices ICMP by protocol number alone, so
/// ICMPv4 over IPv6 came out as an `L4::Icmp` a reader takes for ICMPv6 (and
/// the reverse). Neither is ICMP of its IP version: no transport.
#[test]
fn icmp_of_the_other_ip_version_is_no_transport() {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv6([0xfd; 16], [0xfe; 16], 64)
        .icmpv6_echo_request(78, 1)
        .write(&mut f, &[0; 8])
        .unwrap();
    f[14 + 6] = 1; // next header: ICMP (v4)
    let h = parse(&f).unwrap().outer;
    assert!(matches!(h.l3, L3::Ipv6 { proto: 1, .. }), "{:?}", h.l3);
    assert_eq!((h.l4, usize::from(h.l4_offset)), (L4::None, 14 + 40));

    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv4(POD, PEER, 64)
        .icmpv4_echo_request(77, 1)
        .write(&mut f, &[0; 8])
        .unwrap();
    f[14 + 9] = 58; // protocol: ICMPv6
    f[14 + 20] = 128; // an ICMPv6 echo request's type
    let h = parse(&f).unwrap().outer;
    assert!(matches!(h.l3, L3::Ipv4 { proto: 58, .. }), "{:?}", h.l3);
    assert_eq!((h.l4, usize::from(h.l4_offset)), (L4::None, 14 + 20));
}

#[test]
fn arp_request_for_the_gateway() {
    let arp = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        ArpOperation::REQUEST,
        &POD_MAC,
        &POD,
        &[0; 6],
        &[10, 244, 1, 1],
    )
    .unwrap();
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, [0xff; 6])
        .arp(arp)
        .write(&mut f)
        .unwrap();
    let h = parse(&f).unwrap().outer;
    let L3::Arp(a) = h.l3 else {
        panic!("{:?}", h.l3)
    };
    assert_eq!(a.operation, 1);
    assert_eq!(
        (a.sender_mac, a.sender_ip),
        (MacAddr(POD_MAC), Ipv4Addr::from(POD))
    );
    assert_eq!(a.target_ip, Ipv4Addr::new(10, 244, 1, 1));
    assert_eq!(h.l4, L4::None);
}

#[test]
fn ipv4_options_move_the_transport_header() {
    let mut f = udp4(b"x");
    // Insert 4 bytes of options (NOP NOP NOP EOL): IHL 6, total length +4.
    f.splice(34..34, [1, 1, 1, 0]);
    f[14] = 0x46;
    let total = u16::from_be_bytes([f[16], f[17]]) + 4;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    let h = parse(&f).unwrap().outer;
    assert_eq!(
        h.l4,
        L4::Udp {
            src: 40000,
            dst: 53
        }
    );
    assert_eq!(h.l4_offset, 38);
}

#[test]
fn ovn_interconnect_geneve_as_captured() {
    let g = GenevePacket::new_checked(&CAPTURED_GENEVE[..]).unwrap();
    assert_eq!(g.vni(), 0xff0003, "transit switch key 16711683");
    assert!(g.critical());
    assert_eq!(
        g.ovn_keys(),
        Some(OvnKeys {
            ingress: 3,
            egress: 2
        })
    );
    assert_eq!(g.header_len(), 16);
    let repr = GeneveRepr {
        vni: 0xff0003,
        ovn: Some(OvnKeys {
            ingress: 3,
            egress: 2,
        }),
    };
    let mut out = [0u8; 16];
    assert_eq!(repr.emit(&mut out), Some(16));
    assert_eq!(out, CAPTURED_GENEVE, "we emit OVN's bytes");
    assert_eq!(repr.emit(&mut [0u8; 15]), None);

    let (f, inner_at) = geneve_frame();
    let p = parse(&f).unwrap();
    let t = p.tunnel.unwrap();
    assert_eq!(
        (t.vni, t.ovn),
        (
            0xff0003,
            Some(OvnKeys {
                ingress: 3,
                egress: 2
            })
        )
    );
    assert_eq!(usize::from(t.inner_offset), inner_at);
    // Router port to router port: node 3's rtots MAC to node 2's.
    assert_eq!(t.inner.src, MacAddr([0x0a, 0x58, 0x64, 0x58, 0, 3]));
    assert_eq!(t.inner.dst, MacAddr([0x0a, 0x58, 0x64, 0x58, 0, 2]));
    assert_eq!(
        t.inner.l3,
        L3::Ipv4 {
            src: Ipv4Addr::from(PEER),
            dst: Ipv4Addr::from(POD),
            proto: 1,
            ttl: 63,
            tos: 0
        }
    );
    assert_eq!(
        t.inner.l4,
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 0x1234
        }
    );
    assert_eq!(usize::from(t.inner.l3_offset), inner_at + 14);
    assert_eq!(p.innermost(), &t.inner);
}

#[test]
fn every_truncation_is_a_drop_never_a_panic() {
    let (f, inner_at) = geneve_frame();
    for len in 0..f.len() {
        let reason = parse(&f[..len]).expect_err(&format!("cut at {len} parsed"));
        // The outer IPv4 total length covers everything: a cut anywhere is
        // the outer IPv4 packet being short, or a header cut before it.
        let expected = match len {
            0..14 => DropReason::TruncatedEthernet,
            _ => DropReason::TruncatedIpv4,
        };
        assert_eq!(reason, expected, "cut at {len} (inner frame at {inner_at})");
    }
}

/// The Geneve frame with its outer IPv4 and UDP lengths made to cover
/// `cut` bytes of the original, so the cut lands inside the tunnel.
fn consistent_cut(f: &[u8], cut: usize) -> Vec<u8> {
    let mut g = f[..cut].to_vec();
    let ip_len = (cut - 14) as u16;
    g[16..18].copy_from_slice(&ip_len.to_be_bytes());
    g[24..26].copy_from_slice(&[0, 0]);
    let sum = ipv4_checksum(&g[14..34]);
    g[24..26].copy_from_slice(&sum.to_be_bytes());
    g[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    g[40..42].copy_from_slice(&[0, 0]); // UDP checksum 0: not computed
    g
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    etherparse::Ipv4HeaderSlice::from_slice(h)
        .map(|s| s.to_header().calc_header_checksum())
        .unwrap_or(0)
}

#[test]
fn cuts_inside_the_tunnel_name_the_inner_header() {
    let (f, inner_at) = geneve_frame();
    let geneve_at = inner_at - 16;
    for cut in 42..f.len() {
        let g = consistent_cut(&f, cut);
        let got = parse(&g);
        let expected = if cut < geneve_at + 8 {
            Err(DropReason::TruncatedGeneve)
        } else if cut < inner_at {
            Err(DropReason::GeneveOptionsTooLong)
        } else if cut < inner_at + 14 {
            Err(DropReason::TruncatedEthernet)
        } else {
            Err(DropReason::TruncatedIpv4)
        };
        assert_eq!(got.map(|_| ()), expected, "cut at {cut}");
    }
}

#[test]
fn lying_lengths_are_drops() {
    // IHL below 5.
    let mut f = udp4(b"abc");
    f[14] = 0x44;
    assert_eq!(parse(&f), Err(DropReason::BadIpv4Header));
    // IPv4 total length beyond the frame.
    let mut f = udp4(b"abc");
    f[17] += 10;
    assert_eq!(parse(&f), Err(DropReason::TruncatedIpv4));
    // UDP length beyond the IP payload.
    let mut f = udp4(b"abc");
    f[39] += 10;
    assert_eq!(parse(&f), Err(DropReason::TruncatedUdp));
    // TCP data offset below 5.
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv4(POD, PEER, 64)
        .tcp(1, 2, 3, 4)
        .write(&mut f, &[])
        .unwrap();
    f[46] = 0x40;
    assert_eq!(parse(&f), Err(DropReason::BadTcpHeader));
}

#[test]
fn geneve_option_lengths_that_lie_are_drops() {
    let (f, inner_at) = geneve_frame();
    let g = inner_at - 16;
    // The header announces more option words than the packet holds.
    let mut bad = f.clone();
    bad[g] = 0x3f;
    assert_eq!(parse(&bad), Err(DropReason::GeneveOptionsTooLong));
    // The option claims 2 data words in a 2-word option area.
    let mut bad = f.clone();
    bad[g + 11] = 2;
    assert_eq!(parse(&bad), Err(DropReason::BadGeneveOption));
    // Version 1.
    let mut bad = f.clone();
    bad[g] |= 0x40;
    assert_eq!(parse(&bad), Err(DropReason::BadGeneveVersion));
    // A payload that is not Ethernet.
    let mut bad = f.clone();
    bad[g + 2..g + 4].copy_from_slice(&0x0800u16.to_be_bytes());
    assert_eq!(parse(&bad), Err(DropReason::GeneveNotEthernet));
    // Unit level: each error of the view.
    assert_eq!(
        GenevePacket::new_checked(&[0u8; 7][..]).err(),
        Some(GeneveError::Truncated)
    );
}

#[test]
fn drop_reasons_have_distinct_names() {
    let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), DropReason::ALL.len());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn corrupted_tunnels_never_panic(edits in proptest::collection::vec((0usize..200, any::<u8>()), 1..8)) {
        let (mut f, _) = geneve_frame();
        for (at, byte) in edits {
            let at = at % f.len();
            f[at] = byte;
        }
        if let Ok(p) = parse(&f) {
            // Whatever parsed, its offsets lie inside the frame.
            let h = p.innermost();
            prop_assert!(usize::from(h.l4_offset) <= f.len());
            prop_assert!(h.l3_offset <= h.l4_offset);
        }
    }
}

#[test]
fn the_test_tunnel_is_byte_for_byte_what_ovn_sent() {
    let captured = captured();
    let (f, _) = geneve_frame();
    // Where the frames may differ: the UDP checksum (bytes 40-41: it covers
    // the inner payload, which differs) and the inner IPv4 identification
    // (76-77: inner Ethernet at 14 + 20 + 8 + 16 = 58, its IPv4 at 72).
    let differ = [40, 41, 76, 77];
    for (i, (ours, theirs)) in f.iter().zip(&captured).enumerate() {
        if !differ.contains(&i) {
            assert_eq!(ours, theirs, "byte {i}");
        }
    }
    assert!(f.len() >= captured.len());
}
