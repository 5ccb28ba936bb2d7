//! Frames built with etherparse, seen as the emulated NIC sees them; the
//! rule `rule_for` makes for a treatment takes that treatment's packet and
//! leaves the ones software must see.

use std::net::{IpAddr, Ipv4Addr};

use dpuflow_engine::offload::Treatment;
use dpuflow_flow::packet::GeneveOptKey;
use dpuflow_flow::{
    Action, EthHeader, InPort, Ipv4Header, L3Header, L4Header, PacketKey, Rule, SoftwareTable,
    TunnelKind, VlanHeader,
};
use dpuflow_net::MacAddr;
use dpuflow_packet::Vlan;
use etherparse::{PacketBuilder, VlanId};

use super::packet_key;
use crate::rules::tests::{
    key, routed_tcp, settings, tunnel_in, v4, FABRIC_MAC, POD_A, POD_A_MAC, POD_B, RTR_MAC, UPLINK,
    UPLINK_MAC,
};
use crate::rules::{rule_for, CONNECTION_GROUP, MISS_PRIORITY};

fn octets(ip: IpAddr) -> [u8; 4] {
    match ip {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => panic!("v4 only"),
    }
}

/// The TCP segment of a treatment as it arrived (no tunnel), with `syn`.
fn tcp_frame(t: &Treatment, ttl: u8, syn: bool) -> Vec<u8> {
    let (src, dst) = t.eth_in;
    let eth = PacketBuilder::ethernet2(src.0, dst.0);
    let k = &t.key;
    let mut out = Vec::new();
    let write = |b: etherparse::PacketBuilderStep<etherparse::IpHeaders>, out: &mut Vec<u8>| {
        let tcp = b.tcp(k.sport, k.dport, 1000, 512).ack(1);
        let tcp = if syn { tcp.syn() } else { tcp };
        tcp.write(out, b"payload").expect("frame");
    };
    match t.vlan_in {
        Some(v) => write(
            eth.single_vlan(VlanId::try_new(v.vid).expect("vid")).ipv4(
                octets(k.src),
                octets(k.dst),
                ttl,
            ),
            &mut out,
        ),
        None => write(eth.ipv4(octets(k.src), octets(k.dst), ttl), &mut out),
    }
    out
}

/// Outer eth / IPv4 / UDP 6081 / Geneve with OVN's option / `inner`.
fn geneve_frame(t: &Treatment, inner: &[u8]) -> Vec<u8> {
    let tun = t.tunnel_in.expect("tunnel");
    let word = (u32::from(tun.keys.ingress) << 16) | u32::from(tun.keys.egress);
    let mut payload = vec![0x02, 0x40, 0x65, 0x58];
    payload.extend_from_slice(&(tun.vni << 8).to_be_bytes());
    payload.extend_from_slice(&[0x01, 0x02, 0x80, 0x01]);
    payload.extend_from_slice(&word.to_be_bytes());
    payload.extend_from_slice(inner);
    let mut out = Vec::new();
    PacketBuilder::ethernet2(tun.outer_src_mac.0, tun.outer_dst_mac.0)
        .ipv4(octets(tun.src_ip), octets(tun.dst_ip), 64)
        .udp(51000, 6081)
        .write(&mut out, &payload)
        .expect("frame");
    out
}

#[test]
fn fields_of_a_tagged_tcp_segment() {
    let t = Treatment {
        vlan_in: Some(Vlan { vid: 42, pcp: 0 }),
        ..routed_tcp()
    };
    let frame = tcp_frame(&t, 61, true);
    let k = packet_key(&frame, 5).expect("parses");
    assert_eq!(k.in_port, Some(InPort::RepresentedPort(5)));
    assert_eq!(
        k.outer.eth,
        Some(EthHeader {
            dst: RTR_MAC,
            src: POD_A_MAC,
            ether_type: 0x8100
        })
    );
    assert_eq!(
        k.outer.vlan,
        Some(VlanHeader {
            vid: 42,
            pcp: 0,
            inner_type: 0x0800
        })
    );
    assert_eq!(
        k.outer.l3,
        L3Header::V4(Ipv4Header {
            src: Ipv4Addr::new(10, 244, 1, 5),
            dst: Ipv4Addr::new(10, 244, 2, 6),
            proto: 6,
            ttl: 61,
            dscp: 0,
            ecn: 0,
        })
    );
    assert_eq!(
        k.outer.l4,
        L4Header::Tcp {
            src: 40000,
            dst: 80,
            flags: 0x12
        }
    );
    assert!(k.tunnel.is_none());
}

#[test]
fn fields_of_an_icmp_echo_request() {
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(POD_A_MAC.0, RTR_MAC.0)
        .ipv4([10, 244, 1, 5], [10, 244, 2, 6], 64)
        .icmpv4_echo_request(0x1234, 9)
        .write(&mut frame, b"ping")
        .expect("frame");
    let k = packet_key(&frame, POD_A).expect("parses");
    assert_eq!(
        k.outer.l4,
        L4Header::Icmp {
            icmp_type: 8,
            code: 0,
            ident: 0x1234
        }
    );
}

#[test]
fn fields_of_a_geneve_packet_and_its_inner_frame() {
    let t = remote_to_pod();
    let inner = tcp_frame(&t, 63, false);
    let frame = geneve_frame(&t, &inner);
    let k = packet_key(&frame, UPLINK).expect("parses");
    assert_eq!(
        k.outer.eth.map(|e| (e.src, e.dst)),
        Some((FABRIC_MAC, UPLINK_MAC))
    );
    assert_eq!(
        k.outer.l4,
        L4Header::Udp {
            src: 51000,
            dst: 6081
        }
    );
    let tunnel = k.tunnel.expect("tunnel");
    assert_eq!(tunnel.kind, TunnelKind::Geneve);
    assert_eq!(tunnel.vni, 0x00ff_0003);
    assert_eq!(tunnel.protocol, 0x6558);
    assert_eq!(
        tunnel.option,
        Some(GeneveOptKey {
            class: 0x0102,
            option_type: 0x80,
            length: 1,
            data: [2 << 16 | 3, 0, 0, 0],
        })
    );
    assert_eq!(k.inner.eth.map(|e| (e.src, e.dst)), Some(t.eth_in));
    let L3Header::V4(ip) = k.inner.l3 else {
        panic!("{k:?}")
    };
    assert_eq!((ip.src, ip.ttl), (Ipv4Addr::new(10, 244, 2, 6), 63));
}

#[test]
fn malformed_frames_have_no_key() {
    assert_eq!(packet_key(&[0u8; 10], 0), None);
}

fn remote_to_pod() -> Treatment {
    Treatment {
        in_port: UPLINK,
        tunnel_in: Some(tunnel_in()),
        eth_in: (
            MacAddr::new(0x0a, 0x58, 0x64, 0x58, 0, 2),
            MacAddr::new(0x0a, 0x58, 0x64, 0x58, 0, 3),
        ),
        key: key(6, v4(10, 244, 2, 6), 80, v4(10, 244, 1, 5), 40000),
        ttl_in: 63,
        macs: Some((RTR_MAC, POD_A_MAC)),
        out_port: POD_A,
        ..routed_tcp()
    }
}

/// An emulated NIC: group 0 jumps every packet to the connection group,
/// whose catch-all sends what no connection rule took to software; plus
/// the connection rule for `t`. Whether `key` ends on the connection rule.
fn hits(t: &Treatment, key: &PacketKey) -> bool {
    let mut table = SoftwareTable::new(dpuflow_flow::Direction::Transfer);
    table
        .insert(Rule::transfer().action(Action::Jump(CONNECTION_GROUP)))
        .expect("root");
    table
        .insert(
            Rule::transfer()
                .group(CONNECTION_GROUP)
                .priority(MISS_PRIORITY)
                .action(Action::PortRepresentor(UPLINK)),
        )
        .expect("miss");
    let conn = table
        .insert(rule_for(t, &settings(), Some(30)).expect("eligible"))
        .expect("connection rule");
    table.classify(key).rule_ids().last() == Some(conn)
}

#[test]
fn the_rule_takes_its_packet_and_leaves_the_rest_to_software() {
    let t = routed_tcp();
    let key = |ttl, syn, port| packet_key(&tcp_frame(&t, ttl, syn), port).expect("parses");
    assert!(hits(&t, &key(64, false, POD_A)));
    assert!(!hits(&t, &key(64, false, POD_B)), "another port");
    assert!(!hits(&t, &key(2, false, POD_A)), "another TTL");
    assert!(!hits(&t, &key(64, true, POD_A)), "a SYN");

    let tagged = Treatment {
        in_port: UPLINK,
        vlan_in: Some(Vlan { vid: 42, pcp: 0 }),
        nat: Some(crate::rules::tests::key(
            6,
            v4(10, 244, 9, 9),
            40000,
            v4(10, 244, 2, 6),
            80,
        )),
        ..routed_tcp()
    };
    let frame = tcp_frame(&tagged, 64, false);
    assert!(hits(&tagged, &packet_key(&frame, UPLINK).expect("parses")));
    let untagged = tcp_frame(&routed_tcp(), 64, false);
    assert!(!hits(
        &tagged,
        &packet_key(&untagged, UPLINK).expect("parses")
    ));

    let remote = remote_to_pod();
    let frame = geneve_frame(&remote, &tcp_frame(&remote, 63, false));
    assert!(hits(&remote, &packet_key(&frame, UPLINK).expect("parses")));
    let other_keys = Treatment {
        tunnel_in: remote.tunnel_in.map(|mut tun| {
            tun.keys.egress = 4;
            tun
        }),
        ..remote
    };
    let frame = geneve_frame(&other_keys, &tcp_frame(&remote, 63, false));
    assert!(
        !hits(&remote, &packet_key(&frame, UPLINK).expect("parses")),
        "another OVN egress key"
    );
}
