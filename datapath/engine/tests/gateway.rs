//! The gateway: pods reaching the outside (SNAT to the node IP, next hop,
//! VLAN), node ports from the uplink (DNAT, SNAT to the join address or
//! not with `externalTrafficPolicy: Local`), and the host's own traffic
//! passing by — byte for byte against frames `etherparse` builds.
#![allow(clippy::too_many_arguments)]

mod common;

use common::*;
use dpuflow_engine::{Reason, Verdict};
use dpuflow_net::MacAddr;
use dpuflow_packet::{Frame, VecFrame};
use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

fn pod_a() -> MacAddr {
    MacAddr::from_ovn_ip(ip("10.244.2.5"))
}

fn pod_b() -> MacAddr {
    MacAddr::from_ovn_ip(ip("10.244.2.6"))
}

fn gw() -> MacAddr {
    MacAddr::from_ovn_ip(ip("10.244.2.1"))
}

#[test]
fn pods_reach_the_outside_snatted_to_the_node_ip_and_replies_come_back() {
    let mut r = gateway_rig(tables());
    let sent = tcp(pod_a(), gw(), None, [10, 244, 2, 5], CLIENT, 64, 40000, 443);
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    let (sport, _) = tcp_ports(&out);
    assert!(
        (1024..32768).contains(&sport),
        "SNAT source port {sport} outside the range the host does not use"
    );
    assert_eq!(
        out,
        tcp(
            UPLINK_MAC,
            NEXT_HOP_MAC,
            None,
            NODE_IP,
            CLIENT,
            63,
            sport,
            443
        )
    );

    let reply = tcp(
        NEXT_HOP_MAC,
        UPLINK_MAC,
        None,
        CLIENT,
        NODE_IP,
        50,
        443,
        sport,
    );
    let (v, out) = run(&mut r, &reply, UPLINK);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    assert_eq!(
        out,
        tcp(gw(), pod_a(), None, CLIENT, [10, 244, 2, 5], 49, 443, 40000)
    );
}

#[test]
fn egress_is_tagged_with_the_node_network_vlan_and_tagged_replies_untagged() {
    let mut t = tables();
    t.gateway.as_mut().unwrap().vlan = Some(100);
    let mut r = gateway_rig(t);
    let sent = tcp(pod_a(), gw(), None, [10, 244, 2, 5], CLIENT, 64, 2000, 443);
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    assert_eq!(
        out,
        tcp(
            UPLINK_MAC,
            NEXT_HOP_MAC,
            Some(100),
            NODE_IP,
            CLIENT,
            63,
            2000,
            443
        )
    );
    let reply = tcp(
        NEXT_HOP_MAC,
        UPLINK_MAC,
        Some(100),
        CLIENT,
        NODE_IP,
        50,
        443,
        2000,
    );
    let (v, out) = run(&mut r, &reply, UPLINK);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    assert_eq!(
        out,
        tcp(gw(), pod_a(), None, CLIENT, [10, 244, 2, 5], 49, 443, 2000)
    );
    // Untagged traffic to the node IP is not the node network's: the host's.
    let untagged = tcp(
        NEXT_HOP_MAC,
        UPLINK_MAC,
        None,
        CLIENT,
        NODE_IP,
        50,
        443,
        2000,
    );
    assert_eq!(run(&mut r, &untagged, UPLINK).0, Verdict::Tx(HOST_PF));
}

#[test]
fn an_unresolved_next_hop_is_asked_for_from_the_node_ip() {
    let mut r = rig(tables());
    let sent = tcp(pod_a(), gw(), None, [10, 244, 2, 5], CLIENT, 64, 2001, 443);
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    assert_eq!(&out[12..14], &[0x08, 0x06]);
    assert_eq!(&out[28..32], &NODE_IP, "sender IP");
    assert_eq!(&out[38..42], &[172, 31, 0, 254], "target IP");
    assert_eq!(r.w.stats.drops_of(Reason::NeighbourUnresolved), 1);
}

#[test]
fn a_node_port_is_dnatted_and_snatted_to_the_join_address() {
    let mut r = gateway_rig(local_endpoint_only(false));
    let sent = tcp(
        NEXT_HOP_MAC,
        UPLINK_MAC,
        None,
        CLIENT,
        NODE_IP,
        60,
        5555,
        30080,
    );
    let (v, out) = run(&mut r, &sent, UPLINK);
    assert_eq!(v, Verdict::Tx(POD_B_PORT));
    assert_eq!(
        out,
        tcp(
            gw(),
            pod_b(),
            None,
            [100, 64, 0, 2],
            [10, 244, 2, 6],
            59,
            5555,
            8080
        )
    );
    // B answers its peer, the join address; the client gets the node port's.
    let reply = tcp(
        pod_b(),
        gw(),
        None,
        [10, 244, 2, 6],
        [100, 64, 0, 2],
        64,
        8080,
        5555,
    );
    let (v, out) = run(&mut r, &reply, POD_B_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    assert_eq!(
        out,
        tcp(
            UPLINK_MAC,
            NEXT_HOP_MAC,
            None,
            NODE_IP,
            CLIENT,
            63,
            30080,
            5555
        )
    );
}

#[test]
fn a_node_port_with_local_traffic_policy_keeps_the_client_address() {
    let mut r = gateway_rig(local_endpoint_only(true));
    let sent = tcp(
        NEXT_HOP_MAC,
        UPLINK_MAC,
        None,
        CLIENT,
        NODE_IP,
        60,
        5556,
        30080,
    );
    let (v, out) = run(&mut r, &sent, UPLINK);
    assert_eq!(v, Verdict::Tx(POD_B_PORT));
    assert_eq!(
        out,
        tcp(gw(), pod_b(), None, CLIENT, [10, 244, 2, 6], 59, 5556, 8080)
    );
    // Local policy without a local endpoint: rejected, never sent elsewhere.
    let mut t = local_endpoint_only(true);
    t.services.values_mut().next().unwrap().ports[0]
        .local_backends
        .clear();
    let mut r = gateway_rig(t);
    let (v, out) = run(&mut r, &sent, UPLINK);
    assert_eq!(v, Verdict::Tx(UPLINK), "answered with a reset");
    assert_eq!(tcp_ports(&out), (30080, 5556));
}

#[test]
fn the_hosts_own_traffic_passes_by() {
    let mut r = gateway_rig(tables());
    // To the node IP, no connection, no node port: the host's.
    let ssh = tcp(
        NEXT_HOP_MAC,
        UPLINK_MAC,
        None,
        CLIENT,
        NODE_IP,
        60,
        5557,
        22,
    );
    assert_eq!(
        run(&mut r, &ssh, UPLINK),
        (Verdict::Tx(HOST_PF), ssh.clone())
    );
    // From the host: out the uplink untouched.
    let out = tcp(
        UPLINK_MAC,
        NEXT_HOP_MAC,
        None,
        NODE_IP,
        CLIENT,
        64,
        40000,
        22,
    );
    assert_eq!(
        run(&mut r, &out, HOST_PF),
        (Verdict::Tx(UPLINK), out.clone())
    );
}

#[test]
fn ipv6_egress_solicits_its_next_hop_learns_the_advert_and_snats_to_the_node_ipv6() {
    let mut t = tables();
    let g = t.gateway.as_mut().unwrap();
    g.node_ips.push(ip("fd00:31::12"));
    g.next_hops.push(ip("fd00:31::fe"));
    let mut r = rig(t);
    let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
    let mut sent = Vec::new();
    PacketBuilder::ethernet2(pod_a().0, gw().0)
        .ipv6(v6("fd00:10:244:2::5"), v6("2001:db8::7"), 64)
        .udp(2002, 53)
        .write(&mut sent, b"aaaa")
        .unwrap();
    let (v, ns) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    // A valid solicitation: etherparse checks the ICMPv6 checksum.
    let sliced = SlicedPacket::from_ethernet(&ns).unwrap();
    let Some(TransportSlice::Icmpv6(icmp)) = sliced.transport else {
        panic!("no ICMPv6")
    };
    assert_eq!(icmp.type_u8(), 135);
    assert_eq!(
        icmp.header()
            .icmp_type
            .calc_checksum(v6("fd00:31::12"), v6("ff02::1:ff00:fe"), icmp.payload())
            .unwrap(),
        icmp.checksum()
    );
    assert_eq!(&ns[0..6], &[0x33, 0x33, 0xff, 0, 0, 0xfe]);
    assert_eq!(&icmp.payload()[0..16], &v6("fd00:31::fe"));

    // The next hop's advertisement (it goes on to the host too) is learned.
    let mut na_body = v6("fd00:31::fe").to_vec();
    na_body.extend_from_slice(&[2, 1]);
    na_body.extend_from_slice(&NEXT_HOP_MAC.0);
    let mut na = Vec::new();
    PacketBuilder::ethernet2(NEXT_HOP_MAC.0, UPLINK_MAC.0)
        .ipv6(v6("fd00:31::fe"), v6("fd00:31::12"), 255)
        .icmpv6(etherparse::Icmpv6Type::Unknown {
            type_u8: 136,
            code_u8: 0,
            bytes5to8: [0x60, 0, 0, 0],
        })
        .write(&mut na, &na_body)
        .unwrap();
    assert_eq!(run(&mut r, &na, UPLINK).0, Verdict::Tx(HOST_PF));
    assert_eq!(r.n.apply_reports(), 1);

    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    let mut want = Vec::new();
    let sport = match SlicedPacket::from_ethernet(&out).unwrap().transport {
        Some(TransportSlice::Udp(u)) => u.source_port(),
        other => panic!("{other:?}"),
    };
    PacketBuilder::ethernet2(UPLINK_MAC.0, NEXT_HOP_MAC.0)
        .ipv6(v6("fd00:31::12"), v6("2001:db8::7"), 63)
        .udp(sport, 53)
        .write(&mut want, b"aaaa")
        .unwrap();
    assert_eq!(out, want);
}

#[test]
fn a_frame_turned_into_a_request_is_counted_as_one_not_as_forwarded() {
    let mut r = rig(tables());
    let sent = tcp(pod_a(), gw(), None, [10, 244, 2, 5], CLIENT, 64, 2003, 443);
    assert_eq!(run(&mut r, &sent, POD_A_PORT).0, Verdict::Tx(UPLINK));
    assert_eq!((r.w.stats.requests, r.w.stats.forwarded), (1, 0));
    assert_eq!(r.w.stats.drops_of(Reason::NeighbourUnresolved), 1);
}

// ---- ICMP errors about NATed connections, translated ----

const ROUTER: [u8; 4] = [203, 0, 113, 1];

/// An ICMP error from `src` to `dst` quoting `quote`.
fn icmp_error(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    vlan: Option<u16>,
    src: [u8; 4],
    dst: [u8; 4],
    ttl: u8,
    kind: &etherparse::icmpv4::DestUnreachableHeader,
    quote: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    let eth = PacketBuilder::ethernet2(src_mac.0, dst_mac.0);
    let kind = etherparse::Icmpv4Type::DestinationUnreachable(kind.clone());
    match vlan {
        Some(v) => eth
            .single_vlan(etherparse::VlanId::try_new(v).unwrap())
            .ipv4(src, dst, ttl)
            .icmpv4(kind)
            .write(&mut out, quote),
        None => eth.ipv4(src, dst, ttl).icmpv4(kind).write(&mut out, quote),
    }
    .unwrap();
    out
}

/// The IP header and 8 bytes of `frame`'s packet (RFC 792's minimum quote).
fn minimal_quote(frame: &[u8]) -> &[u8] {
    let l3 = if frame[12..14] == [0x81, 0x00] {
        18
    } else {
        14
    };
    &frame[l3..l3 + 28]
}

#[test]
fn fragmentation_needed_for_an_egress_snat_reaches_the_pod_about_its_own_packet() {
    use etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded;
    let too_big = FragmentationNeeded { next_hop_mtu: 1400 };
    for vlan in [None, Some(100)] {
        let mut t = tables();
        t.gateway.as_mut().unwrap().vlan = vlan;
        let mut r = gateway_rig(t);
        let sent = tcp(pod_a(), gw(), None, [10, 244, 2, 5], CLIENT, 64, 40000, 443);
        let (v, out) = run(&mut r, &sent, POD_A_PORT);
        assert_eq!(v, Verdict::Tx(UPLINK));
        let (sport, _) = tcp_ports(&out);
        assert_ne!(sport, 40000, "SNAT chose another port");
        // A router on the way quotes what it got: node-ip:sport → server.
        let error = icmp_error(
            NEXT_HOP_MAC,
            UPLINK_MAC,
            vlan,
            ROUTER,
            NODE_IP,
            60,
            &too_big,
            minimal_quote(&out),
        );
        let (v, got) = run(&mut r, &error, UPLINK);
        assert_eq!(v, Verdict::Tx(POD_A_PORT), "vlan {vlan:?}");
        // A gets it addressed to A, about A:40000 → server as A sent it
        // (TTL as the router saw it); the router's address is kept.
        let as_sent = tcp(pod_a(), gw(), None, [10, 244, 2, 5], CLIENT, 63, 40000, 443);
        let want = icmp_error(
            gw(),
            pod_a(),
            None,
            ROUTER,
            [10, 244, 2, 5],
            59,
            &too_big,
            minimal_quote(&as_sent),
        );
        assert_eq!(got, want, "vlan {vlan:?}");
        let sliced = SlicedPacket::from_ethernet(&got).unwrap();
        let Some(TransportSlice::Icmpv4(icmp)) = sliced.transport else {
            panic!("not ICMP")
        };
        assert_eq!(
            icmp.checksum(),
            icmp.icmp_type().calc_checksum(icmp.payload())
        );
        let quoted = etherparse::Ipv4HeaderSlice::from_slice(icmp.payload()).unwrap();
        let quoted = quoted.to_header();
        assert_eq!(quoted.header_checksum, quoted.calc_header_checksum());

        // An error about no connection of ours (the host's own, which
        // shares the node IP) is the host's.
        let other = tcp(
            UPLINK_MAC,
            NEXT_HOP_MAC,
            vlan,
            NODE_IP,
            CLIENT,
            63,
            45000,
            443,
        );
        let error = icmp_error(
            NEXT_HOP_MAC,
            UPLINK_MAC,
            vlan,
            ROUTER,
            NODE_IP,
            60,
            &too_big,
            minimal_quote(&other),
        );
        assert_eq!(run(&mut r, &error, UPLINK).0, Verdict::Tx(HOST_PF));
    }
}

#[test]
fn port_unreachable_from_a_node_ports_endpoint_reaches_the_client_from_the_node_ip() {
    use etherparse::icmpv4::DestUnreachableHeader::Port;
    let mut t = local_endpoint_only(false);
    let svc = t.services.values_mut().next().unwrap();
    svc.ports[0].protocol = dpuflow_tables::Protocol::Udp;
    let mut r = gateway_rig(t);
    let udp = |src_mac: MacAddr, dst_mac: MacAddr, src, dst, ttl, sport, dport| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(src_mac.0, dst_mac.0)
            .ipv4(src, dst, ttl)
            .udp(sport, dport)
            .write(&mut out, b"query")
            .unwrap();
        out
    };
    let sent = udp(NEXT_HOP_MAC, UPLINK_MAC, CLIENT, NODE_IP, 60, 5555, 30080);
    let (v, out) = run(&mut r, &sent, UPLINK);
    assert_eq!(v, Verdict::Tx(POD_B_PORT));
    // B got join:5555 → B:8080; its kernel has no socket there.
    let join = [100, 64, 0, 2];
    assert_eq!(
        out,
        udp(gw(), pod_b(), join, [10, 244, 2, 6], 59, 5555, 8080)
    );
    let error = icmp_error(
        pod_b(),
        gw(),
        None,
        [10, 244, 2, 6],
        join,
        64,
        &Port,
        &out[14..],
    );
    let (v, got) = run(&mut r, &error, POD_B_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    // The client hears it from the node IP, about its datagram to the
    // node port.
    let as_sent = udp(gw(), pod_b(), CLIENT, NODE_IP, 59, 5555, 30080);
    let want = icmp_error(
        UPLINK_MAC,
        NEXT_HOP_MAC,
        None,
        NODE_IP,
        CLIENT,
        63,
        &Port,
        &as_sent[14..],
    );
    assert_eq!(got, want);
}

#[test]
fn a_stale_next_hop_is_used_and_confirmed_beside_the_traffic_then_expires() {
    let mut r = rig(tables());
    r.n.set_at(ip("172.31.0.254"), NEXT_HOP_MAC, 0);
    let sent = tcp(pod_a(), gw(), None, [10, 244, 2, 5], CLIENT, 64, 2004, 443);
    let at = |r: &mut Rig, now: u64| {
        let mut f = VecFrame::new(&sent);
        let v = r.w.process(&r.t, &mut f, POD_A_PORT, now);
        (v, f.bytes().to_vec())
    };
    // Fresh: used, nothing asked.
    let (v, out) = at(&mut r, 10_000);
    assert_eq!((v, &out[0..6]), (Verdict::Tx(UPLINK), &NEXT_HOP_MAC.0[..]));
    assert_eq!(r.w.take_refreshes().count(), 0);
    // Stale: still used, and one confirmation is queued (once a second).
    let (v, out) = at(&mut r, 31_000);
    assert_eq!((v, &out[0..6]), (Verdict::Tx(UPLINK), &NEXT_HOP_MAC.0[..]));
    let asked: Vec<_> = r.w.take_refreshes().collect();
    assert_eq!(asked.len(), 1);
    at(&mut r, 31_500);
    assert_eq!(r.w.take_refreshes().count(), 0, "asked within the second");
    let mut request = VecFrame::new(&[]);
    asked[0].build(&mut request).unwrap();
    let arp = request.bytes();
    assert_eq!(
        (&arp[12..14], &arp[20..22]),
        (&[0x08, 0x06][..], &[0, 1][..])
    );
    assert_eq!(
        (&arp[28..32], &arp[38..42]),
        (&NODE_IP[..], &[172, 31, 0, 254][..])
    );
    // Unconfirmed for two minutes: no longer used; the packet becomes the
    // request, as for an unknown neighbour.
    let (v, out) = at(&mut r, 121_000);
    assert_eq!(
        (v, out.len(), &out[12..14]),
        (Verdict::Tx(UPLINK), 42, &[0x08, 0x06][..])
    );
    // The answer confirms it again.
    r.n.set_at(ip("172.31.0.254"), NEXT_HOP_MAC, 121_100);
    let (_, out) = at(&mut r, 121_200);
    assert_eq!(&out[0..6], &NEXT_HOP_MAC.0);
}
