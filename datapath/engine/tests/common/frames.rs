//! Frames the engine's tests send and expect, built with etherparse: pod
//! traffic of either family, OVN interconnect's Geneve between node-id 2
//! (us) and 3, the gateway's outside world.
#![allow(clippy::too_many_arguments)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dpuflow_engine::Verdict;
use dpuflow_net::MacAddr;
use dpuflow_packet::{Frame, VecFrame};
use dpuflow_tables::{Backend, Tables};
use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

use super::*;

pub const POD_A: &str = "10.244.2.5";
pub const POD_B: &str = "10.244.2.6";
/// A pod on node-b.
pub const REMOTE_POD: &str = "10.244.3.7";

pub fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub fn mac(s: &str) -> MacAddr {
    MacAddr::from_ovn_ip(ip(s))
}

pub fn gw_mac() -> MacAddr {
    mac("10.244.2.1")
}

pub fn tcp4(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: &str,
    dst: &str,
    ttl: u8,
    sport: u16,
    dport: u16,
    syn: bool,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac.0, dst_mac.0).ipv4(
        v4(src).octets(),
        v4(dst).octets(),
        ttl,
    );
    let b = b.tcp(sport, dport, 1000, 64240);
    let b = if syn { b.syn() } else { b.ack(1) };
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

pub fn udp4(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: &str,
    dst: &str,
    ttl: u8,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src_mac.0, dst_mac.0)
        .ipv4(v4(src).octets(), v4(dst).octets(), ttl)
        .udp(sport, dport)
        .write(&mut out, payload)
        .unwrap();
    out
}

pub fn run(r: &mut Rig, bytes: &[u8], port: u16) -> (Verdict, Vec<u8>) {
    let mut f = VecFrame::new(bytes);
    let v = r.w.process(&r.t, &mut f, port, 1);
    (v, f.bytes().to_vec())
}

/// The frame OVN interconnect puts on the wire for `inner` (already
/// routed: TTL decremented, transit router port MACs), from node-id 2 to
/// node-id 3, as the capture in ovn-ic-wire.md shows it.
pub fn ovn_ic_frame(inner: &[u8], sport: u16) -> Vec<u8> {
    let mut geneve = vec![0x02, 0x40, 0x65, 0x58, 0xff, 0x00, 0x03, 0x00];
    geneve.extend_from_slice(&[0x01, 0x02, 0x80, 0x01, 0x00, 0x02, 0x00, 0x03]);
    geneve.extend_from_slice(inner);
    let mut out = Vec::new();
    let mut ip = etherparse::Ipv4Header::new(
        0,
        64,
        etherparse::IpNumber::UDP,
        [172, 31, 0, 2],
        [172, 31, 0, 3],
    )
    .unwrap();
    ip.dont_fragment = true;
    PacketBuilder::ethernet2(UPLINK_MAC.0, NODE_B_MAC.0)
        .ip(etherparse::IpHeaders::Ipv4(ip, Default::default()))
        .udp(sport, 6081)
        .write(&mut out, &geneve)
        .unwrap();
    out
}

pub fn udp_sport(frame: &[u8]) -> u16 {
    match SlicedPacket::from_ethernet(frame).unwrap().transport {
        Some(TransportSlice::Udp(u)) => u.source_port(),
        other => panic!("not UDP: {other:?}"),
    }
}

/// `inner` as node-b (node-id 3) sends it to us over the transit switch.
pub fn from_node_b(inner: &[u8], sport: u16) -> Vec<u8> {
    let mut wire = ovn_ic_frame(inner, sport);
    swap_for_receive(&mut wire);
    wire
}

/// Turns a frame node 2 sends to node 3 into one node 3 sends to node 2:
/// outer MACs and IPs swapped, OVN keys swapped (the IPv4 checksum is
/// symmetric in the swap; the UDP checksum is cleared, which OVN accepts).
pub fn swap_for_receive(f: &mut [u8]) {
    let (a, b) = (f[0..6].to_vec(), f[6..12].to_vec());
    f[0..6].copy_from_slice(&b);
    f[6..12].copy_from_slice(&a);
    let (s, d) = (f[26..30].to_vec(), f[30..34].to_vec());
    f[26..30].copy_from_slice(&d);
    f[30..34].copy_from_slice(&s);
    f[55] = 3; // ingress key low byte (bytes 54..56)
    f[57] = 2; // egress key low byte (bytes 56..58)
    fix_udp_checksum_zero(f);
}

pub fn fix_udp_checksum_zero(f: &mut [u8]) {
    f[40] = 0;
    f[41] = 0;
}

/// The `web` service's IPv4 cluster IP.
pub const VIP: &str = "10.96.0.10";

/// A UDP datagram of either family.
pub fn udp_ip(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: &str,
    dst: &str,
    ttl: u8,
    sport: u16,
    dport: u16,
) -> Vec<u8> {
    let mut out = Vec::new();
    let eth = PacketBuilder::ethernet2(src_mac.0, dst_mac.0);
    match (ip(src), ip(dst)) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), ttl),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), ttl),
        _ => panic!("mixed families"),
    }
    .udp(sport, dport)
    .write(&mut out, b"query")
    .unwrap();
    out
}

/// A port unreachable (ICMP or ICMPv6) quoting `quote`.
pub fn port_unreachable(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: &str,
    dst: &str,
    ttl: u8,
    quote: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    let eth = PacketBuilder::ethernet2(src_mac.0, dst_mac.0);
    match (ip(src), ip(dst)) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth
            .ipv4(s.octets(), d.octets(), ttl)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut out, quote),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth
            .ipv6(s.octets(), d.octets(), ttl)
            .icmpv6(etherparse::Icmpv6Type::DestinationUnreachable(
                etherparse::icmpv6::DestUnreachableCode::Port,
            ))
            .write(&mut out, quote),
        _ => panic!("mixed families"),
    }
    .unwrap();
    out
}

/// The gateway's next hop (172.31.0.254), a client outside, our node IP.
pub const NEXT_HOP_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xfe]);
pub const CLIENT: [u8; 4] = [198, 51, 100, 7];
pub const NODE_IP: [u8; 4] = [172, 31, 0, 12];

pub fn tcp(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    vlan: Option<u16>,
    src: [u8; 4],
    dst: [u8; 4],
    ttl: u8,
    sport: u16,
    dport: u16,
) -> Vec<u8> {
    let mut out = Vec::new();
    let eth = PacketBuilder::ethernet2(src_mac.0, dst_mac.0);
    match vlan {
        Some(v) => eth
            .single_vlan(etherparse::VlanId::try_new(v).unwrap())
            .ipv4(src, dst, ttl)
            .tcp(sport, dport, 7, 1024)
            .syn()
            .write(&mut out, b"gw")
            .unwrap(),
        None => eth
            .ipv4(src, dst, ttl)
            .tcp(sport, dport, 7, 1024)
            .syn()
            .write(&mut out, b"gw")
            .unwrap(),
    }
    out
}

pub fn tcp_ports(frame: &[u8]) -> (u16, u16) {
    match SlicedPacket::from_ethernet(frame).unwrap().transport {
        Some(TransportSlice::Tcp(t)) => (t.source_port(), t.destination_port()),
        other => panic!("not TCP: {other:?}"),
    }
}

pub fn gateway_rig(t: Tables) -> Rig {
    let r = rig(t);
    r.n.set(ip("172.31.0.254"), NEXT_HOP_MAC);
    r
}

pub fn local_endpoint_only(external_local: bool) -> Tables {
    let mut t = tables();
    let svc = t.services.values_mut().next().unwrap();
    svc.ports[0].backends = vec![Backend {
        ip: ip("10.244.2.6"),
        port: 8080,
    }];
    svc.ports[0].local_backends = svc.ports[0].backends.clone();
    svc.external_local = external_local;
    t
}
