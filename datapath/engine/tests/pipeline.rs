//! Frames through the whole pipeline (parse, connection tracking,
//! classification, action), checked byte for byte against frames
//! `etherparse` builds, checksums included.
#![allow(clippy::too_many_arguments)]

mod common;

use std::net::IpAddr;

use common::*;
use dpuflow_engine::{Reason, Verdict};
use dpuflow_net::MacAddr;
use dpuflow_packet::{Frame, VecFrame};
use dpuflow_tables::{
    AllowRule, DirectionPolicy, Peers, PodKey, Policy, PortRange, Ports, Protocol,
};
use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

#[test]
fn pod_to_pod_on_this_node_is_routed_by_the_gateway() {
    let mut r = rig(tables());
    let sent = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        POD_B,
        64,
        40000,
        8080,
        true,
        b"hi",
    );
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(POD_B_PORT));
    let want = tcp4(
        gw_mac(),
        mac(POD_B),
        POD_A,
        POD_B,
        63,
        40000,
        8080,
        true,
        b"hi",
    );
    assert_eq!(out, want);
    // Switched within the subnet (addressed to B's MAC): untouched.
    let sent = udp4(mac(POD_A), mac(POD_B), POD_A, POD_B, 64, 5000, 53, b"q");
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!((v, out), (Verdict::Tx(POD_B_PORT), sent));
    assert_eq!(r.w.stats.conns_created, 2);
}

#[test]
fn pod_to_remote_pod_leaves_exactly_as_ovn_interconnect_sends_it() {
    let mut r = rig(tables());
    let sent = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        REMOTE_POD,
        64,
        40000,
        8080,
        true,
        b"hello",
    );
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    let inner = tcp4(
        mac("100.88.0.2"),
        mac("100.88.0.3"),
        POD_A,
        REMOTE_POD,
        63,
        40000,
        8080,
        true,
        b"hello",
    );
    let sport = udp_sport(&out);
    assert!((32768..61000).contains(&sport), "{sport}");
    assert_eq!(out, ovn_ic_frame(&inner, sport));
    // The same flow keeps its source port (ECMP must not reorder it).
    let (_, again) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(udp_sport(&again), sport);
}

#[test]
fn remote_pod_to_local_pod_is_accepted_only_as_ovn_sends_it() {
    let mut r = rig(tables());
    let inner = tcp4(
        mac("100.88.0.3"),
        mac("100.88.0.2"),
        REMOTE_POD,
        POD_A,
        63,
        8080,
        40000,
        true,
        b"x",
    );
    // Built as node-b would send it (ingress 3, egress 2).
    let wire = from_node_b(&inner, 50000);
    let (v, out) = run(&mut r, &wire, UPLINK);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    assert_eq!(
        out,
        tcp4(
            gw_mac(),
            mac(POD_A),
            REMOTE_POD,
            POD_A,
            62,
            8080,
            40000,
            true,
            b"x"
        )
    );

    // Everything OVN drops, we drop, each for its reason.
    type Spoil = fn(&mut [u8]);
    let cases: [(&str, Spoil, Reason); 4] = [
        ("vni", |f| f[46] = 0xfe, Reason::TunnelWrongVni),
        ("egress", |f| f[57] = 9, Reason::TunnelWrongEgress),
        ("inner mac", |f| f[63] = 0x99, Reason::TunnelWrongInnerMac),
        ("source", |f| f[29] = 0x63, Reason::TunnelUnknownSource),
    ];
    for (what, spoil, reason) in cases {
        let mut bad = from_node_b(&inner, 50000);
        spoil(&mut bad);
        fix_udp_checksum_zero(&mut bad);
        let (v, _) = run(&mut r, &bad, UPLINK);
        assert_eq!(v, Verdict::Drop(reason), "{what}");
    }
}

#[test]
fn cluster_ip_is_dnatted_to_an_endpoint_and_the_reply_undone() {
    let mut t = tables();
    // One endpoint, on node-b, so the reply comes back through the tunnel.
    t.services.values_mut().next().unwrap().ports[0].backends = vec![dpuflow_tables::Backend {
        ip: ip(REMOTE_POD),
        port: 8080,
    }];
    let mut r = rig(t);
    let sent = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        "10.96.0.10",
        64,
        40001,
        80,
        true,
        b"",
    );
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    let inner = tcp4(
        mac("100.88.0.2"),
        mac("100.88.0.3"),
        POD_A,
        REMOTE_POD,
        63,
        40001,
        8080,
        true,
        b"",
    );
    assert_eq!(out, ovn_ic_frame(&inner, udp_sport(&out)));

    let reply = tcp4(
        mac("100.88.0.3"),
        mac("100.88.0.2"),
        REMOTE_POD,
        POD_A,
        63,
        8080,
        40001,
        false,
        b"ok",
    );
    let wire = from_node_b(&reply, 50001);
    let (v, out) = run(&mut r, &wire, UPLINK);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    assert_eq!(
        out,
        tcp4(
            gw_mac(),
            mac(POD_A),
            "10.96.0.10",
            POD_A,
            62,
            80,
            40001,
            false,
            b"ok"
        )
    );
    assert_eq!(r.w.stats.conn_hits, 1);
}

#[test]
fn a_service_without_endpoints_is_rejected_with_a_reset() {
    let mut t = tables();
    t.services.values_mut().next().unwrap().ports[0]
        .backends
        .clear();
    let mut r = rig(t);
    let sent = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        "10.96.0.10",
        64,
        40002,
        80,
        true,
        b"",
    );
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    let sliced = SlicedPacket::from_ethernet(&out).unwrap();
    let Some(TransportSlice::Tcp(tcp)) = sliced.transport else {
        panic!("no TCP")
    };
    assert!(tcp.rst() && tcp.ack());
    assert_eq!((tcp.source_port(), tcp.destination_port()), (80, 40002));
    assert_eq!(r.w.stats.drops_of(Reason::NoEndpoints), 1);
}

fn isolate_b_ingress(allow_from: &str, port: u16) -> dpuflow_tables::Tables {
    let mut t = tables();
    let peers: dpuflow_tables::PrefixSet = [prefix(allow_from)].into_iter().collect();
    t.policies.insert(
        PodKey::primary("default", "b"),
        Policy {
            ingress: DirectionPolicy::isolated([AllowRule {
                peers: Peers::Prefixes(peers),
                ports: Ports::ranges([PortRange::single(Protocol::Tcp, port)]),
            }]),
            egress: DirectionPolicy::open(),
            allow_arp_nd: true,
            allow_management: true,
        },
    );
    t
}

#[test]
fn ingress_policy_allows_what_it_lists_and_the_replies_of_it() {
    let mut r = rig(isolate_b_ingress("10.244.2.5/32", 8080));
    let allowed = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        POD_B,
        64,
        40003,
        8080,
        true,
        b"",
    );
    assert_eq!(run(&mut r, &allowed, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
    // B's reply passes although B's policy says nothing about A's port.
    let reply = tcp4(
        mac(POD_B),
        gw_mac(),
        POD_B,
        POD_A,
        64,
        8080,
        40003,
        false,
        b"",
    );
    assert_eq!(run(&mut r, &reply, POD_B_PORT).0, Verdict::Tx(POD_A_PORT));
    let other_port = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        POD_B,
        64,
        40004,
        9090,
        true,
        b"",
    );
    assert_eq!(
        run(&mut r, &other_port, POD_A_PORT).0,
        Verdict::Drop(Reason::PolicyIngress)
    );
    // The management port (kubelet probes) passes.
    let probe = tcp4(
        mac("10.244.2.2"),
        gw_mac(),
        "10.244.2.2",
        POD_B,
        64,
        40005,
        9090,
        true,
        b"",
    );
    assert_eq!(run(&mut r, &probe, MGMT_PORT).0, Verdict::Tx(POD_B_PORT));
    // B may still open connections of its own (egress is not isolated),
    // and A's unsolicited packets to B stay denied.
    let unsolicited = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5000, 8080, b"");
    assert_eq!(
        run(&mut r, &unsolicited, POD_A_PORT).0,
        Verdict::Drop(Reason::PolicyIngress)
    );
    assert_eq!(r.w.stats.drops_of(Reason::PolicyIngress), 2);
}

#[test]
fn spoofed_sources_are_dropped_by_port_security() {
    let mut r = rig(tables());
    let wrong_ip = tcp4(mac(POD_A), gw_mac(), POD_B, REMOTE_POD, 64, 1, 2, true, b"");
    assert_eq!(
        run(&mut r, &wrong_ip, POD_A_PORT).0,
        Verdict::Drop(Reason::PortSecurity)
    );
    let wrong_mac = tcp4(mac(POD_B), gw_mac(), POD_A, REMOTE_POD, 64, 1, 2, true, b"");
    assert_eq!(
        run(&mut r, &wrong_mac, POD_A_PORT).0,
        Verdict::Drop(Reason::PortSecurity)
    );
}

#[test]
fn arp_is_answered_for_the_gateway_and_local_pods_only() {
    let mut r = rig(tables());
    let arp = |target: &str| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(mac(POD_A).0, [0xff; 6])
            .arp(
                etherparse::ArpPacket::new(
                    etherparse::ArpHardwareId::ETHERNET,
                    etherparse::EtherType::IPV4,
                    etherparse::ArpOperation::REQUEST,
                    &mac(POD_A).0,
                    &v4(POD_A).octets(),
                    &[0; 6],
                    &v4(target).octets(),
                )
                .unwrap(),
            )
            .write(&mut out)
            .unwrap();
        out
    };
    let (v, out) = run(&mut r, &arp("10.244.2.1"), POD_A_PORT);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    assert_eq!(&out[0..6], &mac(POD_A).0);
    assert_eq!(&out[6..12], &gw_mac().0);
    assert_eq!(&out[20..22], &[0, 2]);
    assert_eq!(&out[22..28], &gw_mac().0);
    let (v, out) = run(&mut r, &arp(POD_B), POD_A_PORT);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    assert_eq!(&out[22..28], &mac(POD_B).0);
    assert_eq!(
        run(&mut r, &arp("10.244.2.77"), POD_A_PORT).0,
        Verdict::Drop(Reason::ArpNotForUs)
    );
}

#[test]
fn ipv6_neighbour_solicitation_for_the_gateway_is_answered() {
    let mut r = rig(tables());
    let gw6 = v6("fd00:10:244:2::1");
    let mut body = vec![0u8; 4];
    body.extend_from_slice(&gw6.octets());
    body.extend_from_slice(&[1, 1]);
    body.extend_from_slice(&mac(POD_A).0);
    let solicited = v6("ff02::1:ff00:1");
    let mut out = Vec::new();
    PacketBuilder::ethernet2(mac(POD_A).0, [0x33, 0x33, 0xff, 0, 0, 1])
        .ipv6(v6("fd00:10:244:2::5").octets(), solicited.octets(), 255)
        .icmpv6(etherparse::Icmpv6Type::Unknown {
            type_u8: 135,
            code_u8: 0,
            bytes5to8: [0; 4],
        })
        .write(&mut out, &body[4..])
        .unwrap();
    let (v, reply) = run(&mut r, &out, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    let sliced = SlicedPacket::from_ethernet(&reply).unwrap();
    let Some(TransportSlice::Icmpv6(icmp)) = sliced.transport else {
        panic!("no ICMPv6")
    };
    assert_eq!(icmp.type_u8(), 136);
    assert_eq!(&reply[6..12], &gw_mac().0);
}

#[test]
fn ipv6_pod_to_remote_pod_and_back() {
    let mut r = rig(tables());
    let mut sent = Vec::new();
    PacketBuilder::ethernet2(mac(POD_A).0, gw_mac().0)
        .ipv6(
            v6("fd00:10:244:2::5").octets(),
            v6("fd00:10:244:3::7").octets(),
            64,
        )
        .udp(7000, 7001)
        .write(&mut sent, b"six")
        .unwrap();
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    let parsed = dpuflow_packet::parse(&out).unwrap();
    let tun = parsed.tunnel.unwrap();
    assert_eq!(tun.vni, 16_711_683);
    assert_eq!((tun.ovn.unwrap().ingress, tun.ovn.unwrap().egress), (2, 3));
    match tun.inner.l3 {
        dpuflow_packet::L3::Ipv6 { hop_limit, dst, .. } => {
            assert_eq!(hop_limit, 63);
            assert_eq!(dst, v6("fd00:10:244:3::7"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_big_for_the_overlay_is_answered_with_fragmentation_needed() {
    let mut r = rig(tables());
    let sent = udp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        REMOTE_POD,
        64,
        1,
        2,
        &[0u8; 1472],
    );
    let mut sent_df = sent.clone();
    sent_df[20] |= 0x40; // DF (etherparse sets it already; keep it explicit)
    let (v, out) = run(&mut r, &sent_df, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    let sliced = SlicedPacket::from_ethernet(&out).unwrap();
    let Some(TransportSlice::Icmpv4(icmp)) = sliced.transport else {
        panic!("no ICMP")
    };
    assert_eq!((icmp.type_u8(), icmp.code_u8()), (3, 4));
    assert_eq!(u16::from_be_bytes([out[40], out[41]]), 1400, "next-hop MTU");
    assert_eq!(r.w.stats.drops_of(Reason::TooBig), 1);
}

#[test]
fn malformed_frames_are_counted_drops() {
    let mut r = rig(tables());
    let good = tcp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 1, 2, true, b"abc");
    for len in 0..good.len() - 3 {
        let v = run(&mut r, &good[..len], POD_A_PORT).0;
        assert!(matches!(v, Verdict::Drop(_)), "cut at {len}: {v:?}");
    }
    assert!(r.w.stats.drops_of(Reason::Malformed) > 0);
}

#[test]
fn an_unresolved_tunnel_peer_is_asked_for_by_arp() {
    let (t, mut ws, n) = rig_with(tables(), 1, false);
    let mut r = Rig {
        t,
        w: ws.pop().unwrap(),
        n,
    };
    let sent = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        REMOTE_POD,
        64,
        40000,
        8080,
        true,
        b"",
    );
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    assert_eq!(out.len(), 42);
    assert_eq!(&out[12..14], &[0x08, 0x06]);
    assert_eq!(&out[38..42], &[172, 31, 0, 3]);
    assert_eq!(r.w.stats.drops_of(Reason::NeighbourUnresolved), 1);
    // node-b's reply is learned and published by the builder side.
    let mut arp_reply = Vec::new();
    PacketBuilder::ethernet2(NODE_B_MAC.0, UPLINK_MAC.0)
        .arp(
            etherparse::ArpPacket::new(
                etherparse::ArpHardwareId::ETHERNET,
                etherparse::EtherType::IPV4,
                etherparse::ArpOperation::REPLY,
                &NODE_B_MAC.0,
                &[172, 31, 0, 3],
                &UPLINK_MAC.0,
                &[172, 31, 0, 2],
            )
            .unwrap(),
        )
        .write(&mut arp_reply)
        .unwrap();
    assert_eq!(run(&mut r, &arp_reply, UPLINK).0, Verdict::Tx(HOST_PF));
    assert_eq!(r.n.apply_reports(), 1);
    assert_eq!(
        r.n.snapshot().get(&IpAddr::from([172, 31, 0, 3])),
        Some(&NODE_B_MAC)
    );
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(UPLINK));
    assert_eq!(&out[0..6], &NODE_B_MAC.0);
}

#[test]
fn two_workers_share_connections_when_the_nat_reply_lands_on_the_other() {
    let mut t = tables();
    t.services.values_mut().next().unwrap().ports[0].backends = vec![dpuflow_tables::Backend {
        ip: ip(REMOTE_POD),
        port: 8080,
    }];
    let (c, mut ws, _n) = rig_with(t, 2, true);
    let (mut w1, mut w0) = (ws.pop().unwrap(), ws.pop().unwrap());
    let syn = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        "10.96.0.10",
        64,
        40010,
        80,
        true,
        b"",
    );
    let mut f = VecFrame::new(&syn);
    assert_eq!(w0.process(&c, &mut f, POD_A_PORT, 1), Verdict::Tx(UPLINK));
    let reply = tcp4(
        mac("100.88.0.3"),
        mac("100.88.0.2"),
        REMOTE_POD,
        POD_A,
        63,
        8080,
        40010,
        false,
        b"",
    );
    let wire = from_node_b(&reply, 50002);
    let mut f = VecFrame::new(&wire);
    assert_eq!(w1.process(&c, &mut f, UPLINK, 2), Verdict::Tx(POD_A_PORT));
    assert_eq!(
        f.bytes(),
        tcp4(
            gw_mac(),
            mac(POD_A),
            "10.96.0.10",
            POD_A,
            62,
            80,
            40010,
            false,
            b""
        )
        .as_slice()
    );
    assert_eq!(
        (
            w0.stats.conns_created,
            w1.stats.conns_created,
            w1.stats.conn_hits,
            w1.stats.conn_hits_other_worker
        ),
        (1, 0, 1, 1)
    );
    // The creator's own next packet is a hit on its own connection.
    let ack = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        "10.96.0.10",
        64,
        40010,
        80,
        false,
        b"",
    );
    let mut f = VecFrame::new(&ack);
    assert_eq!(w0.process(&c, &mut f, POD_A_PORT, 3), Verdict::Tx(UPLINK));
    assert_eq!(
        (w0.stats.conn_hits, w0.stats.conn_hits_other_worker),
        (1, 0)
    );
}

#[test]
fn a_table_change_ends_exactly_the_connections_it_invalidates() {
    use dpuflow_engine::decide::still_valid;
    let mut t = tables();
    let svc = t.services.values_mut().next().unwrap();
    svc.ports[0].backends = vec![dpuflow_tables::Backend {
        ip: ip(POD_B),
        port: 8080,
    }];
    let mut r = rig(t.clone());
    let to_vip = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        "10.96.0.10",
        64,
        40020,
        80,
        true,
        b"",
    );
    let direct = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        POD_B,
        64,
        40021,
        9000,
        true,
        b"",
    );
    assert_eq!(run(&mut r, &to_vip, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
    assert_eq!(run(&mut r, &direct, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
    let ct = r.w.conntrack().clone();
    assert_eq!(ct.len(), 2);

    // The endpoint leaves the service (B itself stays): only the service
    // connection ends, as the builder does after a generation is live.
    let mut next = t.clone();
    next.services.values_mut().next().unwrap().ports[0]
        .backends
        .clear();
    let c = compiled(&next);
    assert_eq!(ct.kill_where(|v| !still_valid(&c, &v.forward, &v.reply)), 1);
    r.t = c;
    assert_eq!(
        run(&mut r, &direct, POD_A_PORT).0,
        Verdict::Tx(POD_B_PORT),
        "untouched"
    );
    let (v, _) = run(&mut r, &to_vip, POD_A_PORT);
    assert_eq!(
        v,
        Verdict::Tx(POD_A_PORT),
        "re-classified: rejected, no endpoint"
    );

    // A policy that now denies the direct connection ends it too.
    let denied = dpuflow_engine::lookup::Compiled::new(
        &{
            let mut d = next.clone();
            d.policies.insert(
                PodKey::primary("default", "b"),
                Policy {
                    ingress: DirectionPolicy::isolated(Vec::<AllowRule>::new()),
                    egress: DirectionPolicy::open(),
                    allow_arp_nd: true,
                    allow_management: true,
                },
            );
            d
        },
        &ports(),
        &Default::default(),
    );
    assert_eq!(
        ct.kill_where(|v| !still_valid(&denied, &v.forward, &v.reply)),
        1
    );
    r.t = denied;
    assert_eq!(
        run(&mut r, &direct, POD_A_PORT).0,
        Verdict::Drop(Reason::PolicyIngress)
    );
}

#[test]
fn an_icmp_error_about_a_connection_passes_where_its_packets_would() {
    // A accepts nothing unsolicited; B's "port unreachable" about A's own
    // datagram still reaches A, an error about nothing does not.
    let mut t = tables();
    t.policies.insert(
        PodKey::primary("default", "a"),
        Policy {
            ingress: DirectionPolicy::isolated(Vec::<AllowRule>::new()),
            egress: DirectionPolicy::open(),
            allow_arp_nd: true,
            allow_management: false,
        },
    );
    let mut r = rig(t);
    let datagram = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5000, 53, b"query");
    assert_eq!(
        run(&mut r, &datagram, POD_A_PORT).0,
        Verdict::Tx(POD_B_PORT)
    );
    let unreachable = |quoted_sport: u16| {
        let quote = &udp4(
            mac(POD_A),
            gw_mac(),
            POD_A,
            POD_B,
            63,
            quoted_sport,
            53,
            b"query",
        )[14..14 + 28];
        let mut out = Vec::new();
        PacketBuilder::ethernet2(mac(POD_B).0, gw_mac().0)
            .ipv4(v4(POD_B).octets(), v4(POD_A).octets(), 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut out, quote)
            .unwrap();
        out
    };
    let (v, out) = run(&mut r, &unreachable(5000), POD_B_PORT);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    assert_eq!(&out[0..12], [mac(POD_A).0, gw_mac().0].concat().as_slice());
    assert_eq!(out[22], 63, "routed: TTL decremented");
    assert_eq!(
        run(&mut r, &unreachable(5001), POD_B_PORT).0,
        Verdict::Drop(Reason::IcmpUntracked)
    );
}

#[test]
fn client_ip_affinity_keeps_a_client_on_its_backend_until_the_timeout() {
    let backends = |n: u8| -> Vec<dpuflow_tables::Backend> {
        (10..10 + n)
            .map(|i| dpuflow_tables::Backend {
                ip: ip(&format!("10.244.3.{i}")),
                port: 8080,
            })
            .collect()
    };
    let with = |affinity: Option<u32>, n: u8| {
        let mut t = tables();
        let svc = t.services.values_mut().next().unwrap();
        svc.affinity_timeout = affinity;
        svc.ports[0].backends = backends(n);
        t
    };
    let backend_of = |r: &mut Rig, sport: u16, now: u64| -> [u8; 4] {
        let syn = tcp4(
            mac(POD_A),
            gw_mac(),
            POD_A,
            "10.96.0.10",
            64,
            sport,
            80,
            true,
            b"",
        );
        let mut f = VecFrame::new(&syn);
        assert_eq!(
            r.w.process(&r.t, &mut f, POD_A_PORT, now),
            Verdict::Tx(UPLINK)
        );
        let inner = dpuflow_packet::parse(f.bytes())
            .unwrap()
            .tunnel
            .unwrap()
            .inner;
        match inner.l3 {
            dpuflow_packet::L3::Ipv4 { dst, .. } => dst.octets(),
            other => panic!("{other:?}"),
        }
    };
    // Without affinity, a client's connections spread over the backends.
    let mut r = rig(with(None, 8));
    let spread: std::collections::BTreeSet<_> =
        (0..32).map(|i| backend_of(&mut r, 41000 + i, 1)).collect();
    assert!(spread.len() > 1);

    // With it, they all go where the first went — also after a backend is
    // added (a hash alone would move some clients).
    let mut r = rig(with(Some(60), 8));
    let first = backend_of(&mut r, 42000, 1_000);
    for i in 1..32 {
        assert_eq!(backend_of(&mut r, 42000 + i, 1_000 + u64::from(i)), first);
    }
    r.t = compiled(&with(Some(60), 9));
    assert_eq!(
        backend_of(&mut r, 42100, 30_000),
        first,
        "remembered, not rehashed"
    );
    // A backend that left is never recalled.
    let mut gone = with(Some(60), 8);
    gone.services.values_mut().next().unwrap().ports[0]
        .backends
        .retain(|b| b.ip != IpAddr::from(first));
    r.t = compiled(&gone);
    assert_ne!(backend_of(&mut r, 42200, 31_000), first);
}

#[test]
fn a_pod_reaching_itself_through_its_service_is_hairpin_snatted() {
    let mut t = tables();
    t.services.values_mut().next().unwrap().ports[0].backends = vec![dpuflow_tables::Backend {
        ip: ip(POD_B),
        port: 8080,
    }];
    let mut r = rig(t);
    let sent = tcp4(
        mac(POD_B),
        gw_mac(),
        POD_B,
        "10.96.0.10",
        64,
        40030,
        80,
        true,
        b"me",
    );
    let (v, out) = run(&mut r, &sent, POD_B_PORT);
    assert_eq!(v, Verdict::Tx(POD_B_PORT));
    assert_eq!(
        out,
        tcp4(
            gw_mac(),
            mac(POD_B),
            "169.254.0.5",
            POD_B,
            63,
            40030,
            8080,
            true,
            b"me"
        )
    );
    let reply = tcp4(
        mac(POD_B),
        gw_mac(),
        POD_B,
        "169.254.0.5",
        64,
        8080,
        40030,
        false,
        b"ok",
    );
    let (v, out) = run(&mut r, &reply, POD_B_PORT);
    assert_eq!(v, Verdict::Tx(POD_B_PORT));
    assert_eq!(
        out,
        tcp4(
            gw_mac(),
            mac(POD_B),
            "10.96.0.10",
            POD_B,
            63,
            80,
            40030,
            false,
            b"ok"
        )
    );
}

#[test]
fn internal_traffic_policy_local_uses_only_this_nodes_endpoints() {
    let mut t = tables();
    let svc = t.services.values_mut().next().unwrap();
    svc.internal_local = true;
    svc.ports[0].local_backends = vec![dpuflow_tables::Backend {
        ip: ip(POD_B),
        port: 8080,
    }];
    let mut r = rig(t.clone());
    for sport in 40040..40060 {
        let sent = tcp4(
            mac(POD_A),
            gw_mac(),
            POD_A,
            "10.96.0.10",
            64,
            sport,
            80,
            true,
            b"",
        );
        assert_eq!(
            run(&mut r, &sent, POD_A_PORT).0,
            Verdict::Tx(POD_B_PORT),
            "never the remote endpoint"
        );
    }
    t.services.values_mut().next().unwrap().ports[0]
        .local_backends
        .clear();
    let mut r = rig(t);
    let sent = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        "10.96.0.10",
        64,
        40061,
        80,
        true,
        b"",
    );
    assert_eq!(
        run(&mut r, &sent, POD_A_PORT).0,
        Verdict::Tx(POD_A_PORT),
        "no local endpoint: reset"
    );
}

#[test]
fn a_full_connection_table_refuses_new_connections_and_counts_them() {
    let (t, mut ws, n) = rig_with_capacity(tables(), 4);
    let mut r = Rig {
        t,
        w: ws.pop().unwrap(),
        n,
    };
    let mut verdicts = Vec::new();
    for sport in 0..6 {
        let sent = udp4(
            mac(POD_A),
            gw_mac(),
            POD_A,
            POD_B,
            64,
            7000 + sport,
            53,
            b"q",
        );
        verdicts.push(run(&mut r, &sent, POD_A_PORT).0);
    }
    assert_eq!(&verdicts[..4], &[Verdict::Tx(POD_B_PORT); 4]);
    assert_eq!(&verdicts[4..], &[Verdict::Drop(Reason::ConntrackFull); 2]);
    assert_eq!(r.w.stats.drops_of(Reason::ConntrackFull), 2);
    // Known connections go on.
    let again = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 7000, 53, b"q");
    assert_eq!(run(&mut r, &again, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
}

#[test]
fn ipv6_too_big_for_the_overlay_is_answered_with_packet_too_big() {
    let mut r = rig(tables());
    let mut sent = Vec::new();
    PacketBuilder::ethernet2(mac(POD_A).0, gw_mac().0)
        .ipv6(
            v6("fd00:10:244:2::5").octets(),
            v6("fd00:10:244:3::7").octets(),
            64,
        )
        .udp(7000, 7001)
        .write(&mut sent, &[0u8; 1400])
        .unwrap();
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    let sliced = SlicedPacket::from_ethernet(&out).unwrap();
    let Some(TransportSlice::Icmpv6(icmp)) = sliced.transport else {
        panic!("no ICMPv6")
    };
    assert_eq!(icmp.type_u8(), 2);
    assert_eq!(u32::from_be_bytes(icmp.bytes5to8()), 1400);
}

#[test]
fn too_big_through_a_cluster_ip_quotes_the_packet_the_pod_sent() {
    let mut t = tables();
    t.services.values_mut().next().unwrap().ports[0].backends = vec![dpuflow_tables::Backend {
        ip: ip(REMOTE_POD),
        port: 8080,
    }];
    let mut r = rig(t);
    let sent = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        "10.96.0.10",
        64,
        40070,
        80,
        false,
        &[7u8; 1400],
    );
    let (v, out) = run(&mut r, &sent, POD_A_PORT);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    // The quote (after the 8-byte ICMP header) is A's own packet to the
    // VIP, so A's kernel finds the socket and lowers its path MTU.
    let quote = &out[14 + 20 + 8..];
    assert_eq!(&quote[12..16], &[10, 244, 2, 5]);
    assert_eq!(
        &quote[16..20],
        &[10, 96, 0, 10],
        "quoted destination is the VIP"
    );
    assert_eq!(&quote[20..24], &[0x9c, 0x86, 0, 80], "ports as sent");
}

// ---- ICMP errors about NATed connections, translated ----

/// The `web` service as a UDP service on port 80 whose endpoints are
/// `backends` (port 8080).
fn udp_web_to(backends: &[&str]) -> dpuflow_tables::Tables {
    let mut t = tables();
    let port = &mut t.services.values_mut().next().unwrap().ports[0];
    port.protocol = Protocol::Udp;
    port.backends = backends
        .iter()
        .map(|b| dpuflow_tables::Backend {
            ip: ip(b),
            port: 8080,
        })
        .collect();
    t
}

/// Checks with etherparse's arithmetic every checksum of an ICMP(v6)
/// error quoting a whole UDP datagram: the outer IPv4 header, the ICMP
/// message (over the quote), the quoted IPv4 header and the quoted UDP.
fn assert_error_checksums(frame: &[u8]) {
    use etherparse::{NetHeaders, PacketHeaders, TransportHeader};
    let p = PacketHeaders::from_ethernet_slice(frame).unwrap();
    let quote = p.payload.slice();
    match (&p.net, &p.transport) {
        (Some(NetHeaders::Ipv4(ip, _)), Some(TransportHeader::Icmpv4(icmp))) => {
            assert_eq!(ip.header_checksum, ip.calc_header_checksum(), "IPv4");
            assert_eq!(icmp.checksum, icmp.icmp_type.calc_checksum(quote), "ICMP");
        }
        (Some(NetHeaders::Ipv6(ip, _)), Some(TransportHeader::Icmpv6(icmp))) => {
            let sum = icmp
                .icmp_type
                .calc_checksum(ip.source, ip.destination, quote);
            assert_eq!(icmp.checksum, sum.unwrap(), "ICMPv6");
        }
        other => panic!("not an ICMP error: {other:?}"),
    }
    let q = PacketHeaders::from_ip_slice(quote).unwrap();
    let data = q.payload.slice();
    match (&q.net, &q.transport) {
        (Some(NetHeaders::Ipv4(ip, _)), Some(TransportHeader::Udp(udp))) => {
            assert_eq!(ip.header_checksum, ip.calc_header_checksum(), "quoted IPv4");
            let sum = udp.calc_checksum_ipv4(ip, data).unwrap();
            assert_eq!(udp.checksum, sum, "quoted UDP");
        }
        (Some(NetHeaders::Ipv6(ip, _)), Some(TransportHeader::Udp(udp))) => {
            let sum = udp.calc_checksum_ipv6(ip, data).unwrap();
            assert_eq!(udp.checksum, sum, "quoted UDP");
        }
        other => panic!("the quote is not a UDP datagram: {other:?}"),
    }
}

#[test]
fn port_unreachable_from_a_remote_endpoint_reaches_the_client_from_the_vip() {
    let mut r = rig(udp_web_to(&[REMOTE_POD]));
    let sent = udp_ip(mac(POD_A), gw_mac(), POD_A, VIP, 64, 5000, 80);
    assert_eq!(run(&mut r, &sent, POD_A_PORT).0, Verdict::Tx(UPLINK));
    // The endpoint got A:5000 → E:8080 (routed twice) and its kernel
    // quotes all of it; node-b's router sends the error through the tunnel.
    let (b_rtr, our_rtr) = (mac("100.88.0.3"), mac("100.88.0.2"));
    let received = udp_ip(b_rtr, our_rtr, POD_A, REMOTE_POD, 62, 5000, 8080);
    let error = port_unreachable(b_rtr, our_rtr, REMOTE_POD, POD_A, 63, &received[14..]);
    let wire = from_node_b(&error, 50002);
    let (v, out) = run(&mut r, &wire, UPLINK);
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    // A gets it from the VIP, about its own datagram to the VIP.
    let as_sent = udp_ip(b_rtr, our_rtr, POD_A, VIP, 62, 5000, 80);
    assert_eq!(
        out,
        port_unreachable(gw_mac(), mac(POD_A), VIP, POD_A, 62, &as_sent[14..])
    );
    assert_error_checksums(&out);
    assert_eq!(r.w.stats.drops_of(Reason::IcmpRelatedNat), 0);
}

#[test]
fn port_unreachable_from_a_local_endpoint_reaches_the_client_from_the_vip() {
    let cases = [
        // B's kernel sends to A's MAC (same subnet): switched, TTL kept.
        (POD_A, POD_B, VIP, mac(POD_A), 64),
        // Through the gateway: routed.
        (
            "fd00:10:244:2::5",
            "fd00:10:244:2::6",
            "fd00:10:96::10",
            gw_mac(),
            63,
        ),
    ];
    for (a, b, vip, to_mac, ttl) in cases {
        let mut r = rig(udp_web_to(&[b]));
        let sent = udp_ip(mac(POD_A), gw_mac(), a, vip, 64, 5000, 80);
        assert_eq!(run(&mut r, &sent, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
        let received = udp_ip(gw_mac(), mac(POD_B), a, b, 63, 5000, 8080);
        let error = port_unreachable(mac(POD_B), to_mac, b, a, 64, &received[14..]);
        let (v, out) = run(&mut r, &error, POD_B_PORT);
        assert_eq!(v, Verdict::Tx(POD_A_PORT), "{vip}");
        let as_sent = udp_ip(gw_mac(), mac(POD_B), a, vip, 63, 5000, 80);
        let from_mac = if ttl == 64 { mac(POD_B) } else { gw_mac() };
        assert_eq!(
            out,
            port_unreachable(from_mac, mac(POD_A), vip, a, ttl, &as_sent[14..]),
            "{vip}"
        );
        assert_error_checksums(&out);
    }
}

#[test]
fn idle_connections_end_at_their_timeout_and_are_counted() {
    let mut r = rig(tables());
    let sent = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 7100, 53, b"q");
    let mut f = VecFrame::new(&sent);
    assert_eq!(
        r.w.process(&r.t, &mut f, POD_A_PORT, 1_000),
        Verdict::Tx(POD_B_PORT)
    );
    assert_eq!(r.w.conntrack().len(), 1);
    // UDP seen one way lives 30 s; a sweep before that keeps it.
    r.w.sweep(20_000, 1024);
    assert_eq!((r.w.conntrack().len(), r.w.stats.conns_ended), (1, 0));
    // Past it, the sweep unlinks it; its record is reused once every worker
    // has passed a quiescent point (this one's next sweeps).
    for now in 32_000..32_004 {
        r.w.sweep(now, 1024);
    }
    assert_eq!((r.w.conntrack().len(), r.w.stats.conns_ended), (0, 1));
    assert_eq!(
        run(&mut r, &sent, POD_A_PORT).0,
        Verdict::Tx(POD_B_PORT),
        "a new connection"
    );
}

#[test]
fn egress_policy_denies_what_it_does_not_list_and_lets_replies_in() {
    let mut t = tables();
    let peers: dpuflow_tables::PrefixSet = [prefix("10.244.2.6/32")].into_iter().collect();
    t.policies.insert(
        PodKey::primary("default", "a"),
        Policy {
            ingress: DirectionPolicy::open(),
            egress: DirectionPolicy::isolated([AllowRule {
                peers: Peers::Prefixes(peers),
                ports: Ports::ranges([PortRange::single(Protocol::Udp, 53)]),
            }]),
            allow_arp_nd: true,
            allow_management: true,
        },
    );
    let mut r = rig(t);
    let dns = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5300, 53, b"q");
    assert_eq!(run(&mut r, &dns, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
    let answer = udp4(mac(POD_B), gw_mac(), POD_B, POD_A, 64, 53, 5300, b"a");
    assert_eq!(
        run(&mut r, &answer, POD_B_PORT).0,
        Verdict::Tx(POD_A_PORT),
        "the reply is allowed"
    );
    let remote = udp4(mac(POD_A), gw_mac(), POD_A, REMOTE_POD, 64, 5301, 53, b"q");
    assert_eq!(
        run(&mut r, &remote, POD_A_PORT).0,
        Verdict::Drop(Reason::PolicyEgress)
    );
    let other_port = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        POD_B,
        64,
        5302,
        8080,
        true,
        b"",
    );
    assert_eq!(
        run(&mut r, &other_port, POD_A_PORT).0,
        Verdict::Drop(Reason::PolicyEgress)
    );
    // B may open connections to A (A's ingress is not isolated), and A's
    // replies to them pass A's egress policy.
    let from_b = tcp4(
        mac(POD_B),
        gw_mac(),
        POD_B,
        POD_A,
        64,
        5303,
        9000,
        true,
        b"",
    );
    assert_eq!(run(&mut r, &from_b, POD_B_PORT).0, Verdict::Tx(POD_A_PORT));
    let reply = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        POD_B,
        64,
        9000,
        5303,
        false,
        b"",
    );
    assert_eq!(run(&mut r, &reply, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
}

#[test]
fn ipv6_cluster_ip_is_dnatted_and_the_reply_undone() {
    let mut r = rig(tables());
    let six =
        |src: &str, dst: &str, hops: u8, sport: u16, dport: u16, smac: MacAddr, dmac: MacAddr| {
            let mut out = Vec::new();
            PacketBuilder::ethernet2(smac.0, dmac.0)
                .ipv6(v6(src).octets(), v6(dst).octets(), hops)
                .tcp(sport, dport, 5, 512)
                .syn()
                .write(&mut out, b"v6")
                .unwrap();
            out
        };
    let a6 = "fd00:10:244:2::5";
    let b6 = "fd00:10:244:2::6";
    let vip6 = "fd00:10:96::10";
    let gw6 = MacAddr::from_ovn_ip(ip("10.244.2.1"));
    let (v, out) = run(
        &mut r,
        &six(a6, vip6, 64, 40100, 80, mac(POD_A), gw6),
        POD_A_PORT,
    );
    assert_eq!(v, Verdict::Tx(POD_B_PORT));
    assert_eq!(out, six(a6, b6, 63, 40100, 8080, gw6, mac(POD_B)));
    let (v, out) = run(
        &mut r,
        &six(b6, a6, 64, 8080, 40100, mac(POD_B), gw6),
        POD_B_PORT,
    );
    assert_eq!(v, Verdict::Tx(POD_A_PORT));
    assert_eq!(out, six(vip6, a6, 63, 80, 40100, gw6, mac(POD_A)));
}

#[test]
fn arp_for_our_transit_router_port_is_answered_back_through_the_tunnel() {
    let mut r = rig(tables());
    let rtots_b = mac("100.88.0.3");
    let mut arp = Vec::new();
    PacketBuilder::ethernet2(rtots_b.0, [0xff; 6])
        .arp(
            etherparse::ArpPacket::new(
                etherparse::ArpHardwareId::ETHERNET,
                etherparse::EtherType::IPV4,
                etherparse::ArpOperation::REQUEST,
                &rtots_b.0,
                &[100, 88, 0, 3],
                &[0; 6],
                &[100, 88, 0, 2],
            )
            .unwrap(),
        )
        .write(&mut arp)
        .unwrap();
    // Flooded by OVN to the multicast key 32768.
    let mut wire = from_node_b(&arp, 50003);
    wire[56..58].copy_from_slice(&0x8000u16.to_be_bytes());
    let (v, out) = run(&mut r, &wire, UPLINK);
    assert_eq!(v, Verdict::Tx(UPLINK));
    let p = dpuflow_packet::parse(&out).unwrap();
    let tun = p.tunnel.unwrap();
    let keys = tun.ovn.unwrap();
    assert_eq!((keys.ingress, keys.egress), (2, 3), "back to node-b");
    assert_eq!(&out[0..6], &NODE_B_MAC.0);
    match tun.inner.l3 {
        dpuflow_packet::L3::Arp(a) => {
            assert_eq!(a.operation, 2);
            assert_eq!(a.sender_mac, mac("100.88.0.2"));
            assert_eq!(a.sender_ip, v4("100.88.0.2"));
            assert_eq!((a.target_mac, a.target_ip), (rtots_b, v4("100.88.0.3")));
        }
        other => panic!("{other:?}"),
    }
    // For another address, or flooded IP: not for us.
    let mut other = arp.clone();
    other[41] = 9;
    let mut wire = from_node_b(&other, 50003);
    wire[56..58].copy_from_slice(&0x8000u16.to_be_bytes());
    assert_eq!(
        run(&mut r, &wire, UPLINK).0,
        Verdict::Drop(Reason::ArpNotForUs)
    );
}
