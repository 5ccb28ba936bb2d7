//! What a worker hands the offload manager: for each path a tracked packet
//! takes, the [`Treatment`] must say exactly what the frame was when it
//! came in and what the pipeline made of it (checked against the frames
//! themselves, parsed), and the request must come when the trigger says,
//! once per direction, never for answers, ICMP errors or neighbour
//! requests.
#![allow(clippy::too_many_arguments)]

mod common;

use common::*;
use crossbeam_channel::{bounded, Receiver};
use dpuflow_conntrack::{ConnState, ConnView, Dir, FlowKey};
use dpuflow_engine::flow::POD_ZONE;
use dpuflow_engine::offload::{OffloadSink, Request, Treatment, Trigger, TunnelIn};
use dpuflow_engine::Verdict;
use dpuflow_net::MacAddr;
use dpuflow_packet::{parse, Headers, OvnKeys, Vlan, L3, L4};
use dpuflow_tables::{Backend, Tables};
use etherparse::PacketBuilder;

/// A worker over `t` with a sink of `capacity` requests asking at `trigger`.
fn offloading(t: Tables, trigger: Trigger, capacity: usize) -> (Rig, Receiver<Request>) {
    let r = gateway_rig(t);
    with_sink(r, trigger, capacity)
}

fn with_sink(mut r: Rig, trigger: Trigger, capacity: usize) -> (Rig, Receiver<Request>) {
    let (tx, rx) = bounded(capacity);
    r.w.set_offload(Some(OffloadSink::new(tx, trigger)));
    (r, rx)
}

fn requests(rx: &Receiver<Request>) -> Vec<Treatment> {
    rx.try_iter()
        .map(|req| {
            let Request::Offload(t) = req;
            t
        })
        .collect()
}

/// A frame as the hardware sees it: the outer tag and tunnel, then the
/// (inner) Ethernet addresses, tuple and TTL.
#[derive(Debug)]
struct Seen {
    vlan: Option<Vlan>,
    tunnel: Option<Outer>,
    /// Source, destination.
    eth: (MacAddr, MacAddr),
    key: FlowKey,
    ttl: u8,
}

#[derive(Debug)]
struct Outer {
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src_ip: std::net::IpAddr,
    dst_ip: std::net::IpAddr,
    udp_src_port: u16,
    vni: u32,
    ovn: Option<OvnKeys>,
}

fn seen(frame: &[u8]) -> Seen {
    let p = parse(frame).unwrap();
    let (tunnel, h) = match p.tunnel {
        Some(tun) => {
            let (src_ip, dst_ip, _) = addresses(&p.outer);
            let L4::Udp { src, .. } = p.outer.l4 else {
                panic!("Geneve not on UDP: {:?}", p.outer.l4)
            };
            assert_eq!(tun.inner.vlans, [None, None], "a tag inside the tunnel");
            let outer = Outer {
                src_mac: p.outer.src,
                dst_mac: p.outer.dst,
                src_ip,
                dst_ip,
                udp_src_port: src,
                vni: tun.vni,
                ovn: tun.ovn,
            };
            (Some(outer), tun.inner)
        }
        None => (None, p.outer),
    };
    assert_eq!(h.vlans[1], None, "a second tag");
    let (src, dst, ttl) = addresses(&h);
    let proto = match h.l3 {
        L3::Ipv4 { proto, .. } | L3::Ipv6 { proto, .. } => proto,
        other => panic!("not IP: {other:?}"),
    };
    let (sport, dport) = match h.l4 {
        L4::Tcp { src, dst, .. } | L4::Udp { src, dst } => (src, dst),
        L4::Icmp { id, .. } => (id, id),
        other => panic!("no transport: {other:?}"),
    };
    Seen {
        vlan: p.outer.vlans[0],
        tunnel,
        eth: (h.src, h.dst),
        key: FlowKey {
            zone: POD_ZONE,
            proto,
            src,
            dst,
            sport,
            dport,
        },
        ttl,
    }
}

/// Source, destination, TTL (hop limit) of an IP header.
fn addresses(h: &Headers) -> (std::net::IpAddr, std::net::IpAddr, u8) {
    match h.l3 {
        L3::Ipv4 { src, dst, ttl, .. } => (src.into(), dst.into(), ttl),
        L3::Ipv6 {
            src,
            dst,
            hop_limit,
            ..
        } => (src.into(), dst.into(), hop_limit),
        other => panic!("not IP: {other:?}"),
    }
}

/// `t` is what happened between `sent` and `out`: the match is the frame
/// as sent, and applying the actions to it gives the frame that left.
fn assert_describes(t: &Treatment, sent: &[u8], out: &[u8]) {
    let (i, o) = (seen(sent), seen(out));
    // As it came in.
    assert_eq!(t.vlan_in, i.vlan, "vlan_in");
    let tunnel_in = i.tunnel.map(|o| TunnelIn {
        outer_src_mac: o.src_mac,
        outer_dst_mac: o.dst_mac,
        src_ip: o.src_ip,
        dst_ip: o.dst_ip,
        vni: o.vni,
        keys: o.ovn.unwrap(),
    });
    assert_eq!(t.tunnel_in, tunnel_in, "tunnel_in");
    assert_eq!(t.eth_in, i.eth, "eth_in");
    assert_eq!(t.key, i.key, "key");
    assert_eq!(t.ttl_in, i.ttl, "ttl_in");
    // As it left.
    assert_eq!(t.nat.unwrap_or(t.key), o.key, "nat");
    assert_ne!(t.nat, Some(t.key), "a NAT that changes nothing");
    assert_eq!(o.ttl, t.ttl_in - u8::from(t.hop), "hop");
    assert_eq!(t.macs.unwrap_or(t.eth_in), o.eth, "macs");
    match (t.encap, o.tunnel) {
        (Some(e), Some(tun)) => {
            assert_eq!((e.src_mac, e.dst_mac), (tun.src_mac, tun.dst_mac));
            assert_eq!((e.src_ip, e.dst_ip), (tun.src_ip, tun.dst_ip));
            assert_eq!(e.vlan, o.vlan, "the outer tag");
            assert_eq!(e.udp_src_port, tun.udp_src_port);
            assert_eq!((e.vni, e.ovn), (tun.vni, tun.ovn));
            assert_eq!(t.vlan_out, None, "a tag pushed inside the tunnel");
        }
        (None, None) => assert_eq!(t.vlan_out, o.vlan, "vlan_out"),
        (e, tun) => panic!("encap {e:?}, frame's tunnel {tun:?}"),
    }
}

/// Sends `sent` in on `port`, expects it out and exactly one request,
/// which describes the frames and names the connection's direction the
/// frame matched, now claimed.
fn offered(r: &mut Rig, rx: &Receiver<Request>, sent: &[u8], port: u16) -> Treatment {
    let (v, out) = run(r, sent, port);
    let mut got = requests(rx);
    assert_eq!(got.len(), 1, "{v:?}: {got:?}");
    let t = got.pop().unwrap();
    assert_eq!((t.in_port, v), (port, Verdict::Tx(t.out_port)));
    assert_describes(&t, sent, &out);
    let view = conn_of(r, &t.key);
    assert_eq!(view.id, t.conn);
    let matched = match t.dir {
        Dir::Forward => view.forward,
        Dir::Reply => view.reply,
    };
    assert_eq!(matched, t.key, "dir");
    assert!(view.offload_claimed[t.dir.index()], "{view:?}");
    t
}

/// Sends `sent` and expects it to go out on `to` with no request.
fn not_offered(r: &mut Rig, rx: &Receiver<Request>, sent: &[u8], port: u16, to: u16) {
    let (v, _) = run(r, sent, port);
    assert_eq!(v, Verdict::Tx(to));
    assert_eq!(requests(rx), vec![], "{v:?}");
}

fn conn_of(r: &Rig, key: &FlowKey) -> ConnView {
    r.w.conntrack().get(key).unwrap()
}

fn key(src: &str, dst: &str, proto: u8, sport: u16, dport: u16) -> FlowKey {
    FlowKey {
        zone: POD_ZONE,
        proto,
        src: ip(src),
        dst: ip(dst),
        sport,
        dport,
    }
}

/// `frame` with an 802.1Q tag `vid` after its addresses.
fn tagged(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    out.extend_from_slice(&[0x81, 0x00, (vid >> 8) as u8, vid as u8]);
    out.extend_from_slice(&frame[12..]);
    out
}

const TCP: u8 = 6;
const UDP: u8 = 17;

/// The `web` service (TCP 80 → 8080) with `backend` its only endpoint.
fn web_to(backend: &str) -> Tables {
    let mut t = tables();
    t.services.values_mut().next().unwrap().ports[0].backends = vec![Backend {
        ip: ip(backend),
        port: 8080,
    }];
    t
}

#[test]
fn routed_pod_to_pod_offers_both_directions_as_routed() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 8);
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
    let f = offered(&mut r, &rx, &sent, POD_A_PORT);
    assert_eq!((f.dir, f.out_port, f.hop), (Dir::Forward, POD_B_PORT, true));
    assert_eq!(f.macs, Some((gw_mac(), mac(POD_B))));
    assert_eq!((f.nat, f.encap, f.tunnel_in), (None, None, None));
    let reply = tcp4(
        mac(POD_B),
        gw_mac(),
        POD_B,
        POD_A,
        64,
        8080,
        40000,
        false,
        b"ok",
    );
    let b = offered(&mut r, &rx, &reply, POD_B_PORT);
    assert_eq!(
        (b.conn, b.dir, b.out_port),
        (f.conn, Dir::Reply, POD_A_PORT)
    );
    assert_eq!(b.macs, Some((gw_mac(), mac(POD_A))));
    assert_eq!(r.w.stats.offload_requests, 2);
}

#[test]
fn switched_pod_to_pod_is_offered_untouched() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 8);
    let sent = udp4(mac(POD_A), mac(POD_B), POD_A, POD_B, 64, 5000, 53, b"q");
    let f = offered(&mut r, &rx, &sent, POD_A_PORT);
    assert_eq!(
        (f.hop, f.macs, f.nat, f.out_port),
        (false, None, None, POD_B_PORT)
    );
    let reply = udp4(mac(POD_B), mac(POD_A), POD_B, POD_A, 64, 53, 5000, b"a");
    let b = offered(&mut r, &rx, &reply, POD_B_PORT);
    assert_eq!((b.dir, b.hop, b.macs), (Dir::Reply, false, None));
}

#[test]
fn pod_to_remote_pod_offers_the_encap_and_the_reply_the_decap() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 8);
    let sent = tcp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        REMOTE_POD,
        64,
        40000,
        8080,
        true,
        b"x",
    );
    let f = offered(&mut r, &rx, &sent, POD_A_PORT);
    assert_eq!((f.out_port, f.hop), (UPLINK, true));
    assert_eq!(f.macs, Some((mac("100.88.0.2"), mac("100.88.0.3"))));
    let e = f.encap.unwrap();
    assert_eq!((e.src_mac, e.dst_mac), (UPLINK_MAC, NODE_B_MAC));
    assert_eq!((e.src_ip, e.dst_ip), (ip("172.31.0.2"), ip("172.31.0.3")));
    assert_eq!(
        e.ovn,
        Some(OvnKeys {
            ingress: 2,
            egress: 3
        })
    );

    let inner = tcp4(
        mac("100.88.0.3"),
        mac("100.88.0.2"),
        REMOTE_POD,
        POD_A,
        63,
        8080,
        40000,
        false,
        b"y",
    );
    let wire = from_node_b(&inner, 50000);
    let b = offered(&mut r, &rx, &wire, UPLINK);
    assert_eq!(
        (b.conn, b.dir, b.out_port),
        (f.conn, Dir::Reply, POD_A_PORT)
    );
    let tun = b.tunnel_in.unwrap();
    assert_eq!(
        (tun.outer_src_mac, tun.outer_dst_mac),
        (NODE_B_MAC, UPLINK_MAC)
    );
    assert_eq!(
        (tun.src_ip, tun.dst_ip),
        (ip("172.31.0.3"), ip("172.31.0.2"))
    );
    assert_eq!(
        tun.keys,
        OvnKeys {
            ingress: 3,
            egress: 2
        }
    );
    assert_eq!((b.encap, b.macs), (None, Some((gw_mac(), mac(POD_A)))));
}

#[test]
fn a_connection_opened_from_a_remote_pod_is_offered_decapsulated() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 8);
    let inner = udp4(
        mac("100.88.0.3"),
        mac("100.88.0.2"),
        REMOTE_POD,
        POD_B,
        63,
        6000,
        53,
        b"q",
    );
    let f = offered(&mut r, &rx, &from_node_b(&inner, 50001), UPLINK);
    assert_eq!((f.dir, f.out_port, f.hop), (Dir::Forward, POD_B_PORT, true));
    assert_eq!(f.tunnel_in.unwrap().vni, 16_711_683);
    assert_eq!(f.vlan_in, None);
}

#[test]
fn a_cluster_ip_is_offered_with_its_dnat_and_the_reply_with_its_undoing() {
    let (mut r, rx) = offloading(web_to(POD_B), Trigger::FirstPacket, 8);
    let sent = tcp4(mac(POD_A), gw_mac(), POD_A, VIP, 64, 40001, 80, true, b"");
    let f = offered(&mut r, &rx, &sent, POD_A_PORT);
    assert_eq!(f.key, key(POD_A, VIP, TCP, 40001, 80));
    assert_eq!(f.nat, Some(key(POD_A, POD_B, TCP, 40001, 8080)));
    let reply = tcp4(
        mac(POD_B),
        gw_mac(),
        POD_B,
        POD_A,
        64,
        8080,
        40001,
        false,
        b"ok",
    );
    let b = offered(&mut r, &rx, &reply, POD_B_PORT);
    assert_eq!(b.nat, Some(key(VIP, POD_A, TCP, 80, 40001)));
    assert_eq!(b.conn, f.conn);
}

#[test]
fn a_hairpin_goes_back_out_its_own_port_and_is_offered() {
    let (mut r, rx) = offloading(web_to(POD_B), Trigger::FirstPacket, 8);
    let sent = tcp4(mac(POD_B), gw_mac(), POD_B, VIP, 64, 40030, 80, true, b"me");
    let f = offered(&mut r, &rx, &sent, POD_B_PORT);
    assert_eq!((f.in_port, f.out_port), (POD_B_PORT, POD_B_PORT));
    assert_eq!(f.nat, Some(key("169.254.0.5", POD_B, TCP, 40030, 8080)));
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
    let b = offered(&mut r, &rx, &reply, POD_B_PORT);
    assert_eq!(b.nat, Some(key(VIP, POD_B, TCP, 80, 40030)));
}

#[test]
fn egress_snat_to_the_outside_and_its_reply_are_offered() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 8);
    let client = "198.51.100.7";
    let sent = tcp(
        mac(POD_A),
        gw_mac(),
        None,
        [10, 244, 2, 5],
        CLIENT,
        64,
        40000,
        443,
    );
    let f = offered(&mut r, &rx, &sent, POD_A_PORT);
    assert_eq!(f.out_port, UPLINK);
    assert_eq!(f.macs, Some((UPLINK_MAC, NEXT_HOP_MAC)));
    let snat = f.nat.unwrap();
    assert_eq!(
        (snat.src, snat.dst, snat.dport),
        (ip("172.31.0.12"), ip(client), 443)
    );
    let reply = tcp(
        NEXT_HOP_MAC,
        UPLINK_MAC,
        None,
        CLIENT,
        NODE_IP,
        50,
        443,
        snat.sport,
    );
    let b = offered(&mut r, &rx, &reply, UPLINK);
    assert_eq!(b.nat, Some(key(client, POD_A, TCP, 443, 40000)));
    assert_eq!((b.vlan_in, b.out_port), (None, POD_A_PORT));
}

#[test]
fn node_ports_are_offered_with_the_join_snat_or_the_client_kept() {
    for (external_local, peer, sport) in [(false, "100.64.0.2", 5555), (true, "198.51.100.7", 5556)]
    {
        let (mut r, rx) = offloading(local_endpoint_only(external_local), Trigger::FirstPacket, 8);
        let sent = tcp(
            NEXT_HOP_MAC,
            UPLINK_MAC,
            None,
            CLIENT,
            NODE_IP,
            60,
            sport,
            30080,
        );
        let f = offered(&mut r, &rx, &sent, UPLINK);
        assert_eq!(f.out_port, POD_B_PORT);
        assert_eq!(f.nat, Some(key(peer, POD_B, TCP, sport, 8080)), "{peer}");
        let reply = tcp(
            mac(POD_B),
            gw_mac(),
            None,
            [10, 244, 2, 6],
            v4(peer).octets(),
            64,
            8080,
            sport,
        );
        let b = offered(&mut r, &rx, &reply, POD_B_PORT);
        assert_eq!(b.out_port, UPLINK);
        assert_eq!(
            b.nat,
            Some(key("172.31.0.12", "198.51.100.7", TCP, 30080, sport)),
            "{peer}"
        );
    }
}

#[test]
fn the_node_network_vlan_is_offered_popped_and_pushed() {
    let mut t = tables();
    t.gateway.as_mut().unwrap().vlan = Some(100);
    let tag = Some(Vlan { vid: 100, pcp: 0 });
    let (mut r, rx) = offloading(t, Trigger::FirstPacket, 8);
    // To the outside: tagged on the way out, untagged on the way back in.
    let sent = tcp(
        mac(POD_A),
        gw_mac(),
        None,
        [10, 244, 2, 5],
        CLIENT,
        64,
        2000,
        443,
    );
    let f = offered(&mut r, &rx, &sent, POD_A_PORT);
    assert_eq!((f.vlan_in, f.vlan_out), (None, tag));
    let sport = f.nat.unwrap().sport;
    let reply = tcp(
        NEXT_HOP_MAC,
        UPLINK_MAC,
        Some(100),
        CLIENT,
        NODE_IP,
        50,
        443,
        sport,
    );
    let b = offered(&mut r, &rx, &reply, UPLINK);
    assert_eq!((b.vlan_in, b.vlan_out), (tag, None));
    // Over the tunnel: the tag is the outer frame's.
    let sent = udp4(
        mac(POD_A),
        gw_mac(),
        POD_A,
        REMOTE_POD,
        64,
        7000,
        7001,
        b"t",
    );
    let f = offered(&mut r, &rx, &sent, POD_A_PORT);
    assert_eq!((f.encap.unwrap().vlan, f.vlan_out), (tag, None));
    let inner = udp4(
        mac("100.88.0.3"),
        mac("100.88.0.2"),
        REMOTE_POD,
        POD_A,
        63,
        7001,
        7000,
        b"u",
    );
    let wire = tagged(&from_node_b(&inner, 50003), 100);
    let b = offered(&mut r, &rx, &wire, UPLINK);
    assert_eq!(b.vlan_in, tag);
    assert!(b.tunnel_in.is_some());
}

#[test]
fn ipv6_is_offered_with_its_hop_limit_nat_and_encap() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 8);
    let six =
        |smac: MacAddr, dmac: MacAddr, src: &str, dst: &str, hops: u8, sport: u16, dport: u16| {
            let mut out = Vec::new();
            PacketBuilder::ethernet2(smac.0, dmac.0)
                .ipv6(v6(src).octets(), v6(dst).octets(), hops)
                .udp(sport, dport)
                .write(&mut out, b"six")
                .unwrap();
            out
        };
    let (a6, b6, vip6, remote6) = (
        "fd00:10:244:2::5",
        "fd00:10:244:2::6",
        "fd00:10:96::10",
        "fd00:10:244:3::7",
    );
    let f = offered(
        &mut r,
        &rx,
        &six(mac(POD_A), gw_mac(), a6, remote6, 64, 7000, 7001),
        POD_A_PORT,
    );
    assert_eq!((f.ttl_in, f.hop, f.out_port), (64, true, UPLINK));
    assert!(f.encap.is_some());
    // A UDP service over IPv6, its endpoint local.
    let mut t = web_to(b6);
    t.services.values_mut().next().unwrap().ports[0].protocol = dpuflow_tables::Protocol::Udp;
    let (mut r, rx) = offloading(t, Trigger::FirstPacket, 8);
    let f = offered(
        &mut r,
        &rx,
        &six(mac(POD_A), gw_mac(), a6, vip6, 64, 7100, 80),
        POD_A_PORT,
    );
    assert_eq!(f.nat, Some(key(a6, b6, UDP, 7100, 8080)));
    let b = offered(
        &mut r,
        &rx,
        &six(mac(POD_B), gw_mac(), b6, a6, 64, 8080, 7100),
        POD_B_PORT,
    );
    assert_eq!(b.nat, Some(key(vip6, a6, UDP, 80, 7100)));
}

/// A TCP segment A → B (or back) through the gateway with `flags` set by
/// etherparse's builder.
fn segment(from_a: bool, syn: bool, ack: bool) -> Vec<u8> {
    let (smac, src, dst, sport, dport) = if from_a {
        (mac(POD_A), POD_A, POD_B, 41000, 8080)
    } else {
        (mac(POD_B), POD_B, POD_A, 8080, 41000)
    };
    let b = PacketBuilder::ethernet2(smac.0, gw_mac().0)
        .ipv4(v4(src).octets(), v4(dst).octets(), 64)
        .tcp(sport, dport, 1, 1024);
    let b = if syn { b.syn() } else { b };
    let b = if ack { b.ack(1) } else { b };
    let mut out = Vec::new();
    b.write(&mut out, b"").unwrap();
    out
}

#[test]
fn the_established_trigger_waits_for_the_handshakes_ack() {
    let (mut r, rx) = offloading(tables(), Trigger::Established, 8);
    let fwd = key(POD_A, POD_B, TCP, 41000, 8080);
    not_offered(
        &mut r,
        &rx,
        &segment(true, true, false),
        POD_A_PORT,
        POD_B_PORT,
    );
    not_offered(
        &mut r,
        &rx,
        &segment(false, true, true),
        POD_B_PORT,
        POD_A_PORT,
    );
    assert_eq!(conn_of(&r, &fwd).state, ConnState::SynRecv);
    let f = offered(&mut r, &rx, &segment(true, false, true), POD_A_PORT);
    assert_eq!((f.key, f.dir), (fwd, Dir::Forward));
    assert_eq!(conn_of(&r, &fwd).state, ConnState::Established);
    let b = offered(&mut r, &rx, &segment(false, false, true), POD_B_PORT);
    assert_eq!(b.dir, Dir::Reply);
    // Once per direction, however many packets.
    for _ in 0..5 {
        not_offered(
            &mut r,
            &rx,
            &segment(true, false, true),
            POD_A_PORT,
            POD_B_PORT,
        );
        not_offered(
            &mut r,
            &rx,
            &segment(false, false, true),
            POD_B_PORT,
            POD_A_PORT,
        );
    }
    assert_eq!(
        (r.w.stats.offload_requests, r.w.stats.offload_dropped),
        (2, 0)
    );
}

#[test]
fn the_established_trigger_offers_udp_and_pings_once_replied() {
    let (mut r, rx) = offloading(tables(), Trigger::Established, 8);
    let query = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5300, 53, b"q");
    let answer = udp4(mac(POD_B), gw_mac(), POD_B, POD_A, 64, 53, 5300, b"a");
    not_offered(&mut r, &rx, &query, POD_A_PORT, POD_B_PORT);
    assert_eq!(offered(&mut r, &rx, &answer, POD_B_PORT).dir, Dir::Reply);
    assert_eq!(offered(&mut r, &rx, &query, POD_A_PORT).dir, Dir::Forward);
    not_offered(&mut r, &rx, &query, POD_A_PORT, POD_B_PORT);

    let ping = |from_a: bool| {
        let (smac, src, dst) = if from_a {
            (mac(POD_A), POD_A, POD_B)
        } else {
            (mac(POD_B), POD_B, POD_A)
        };
        let b = PacketBuilder::ethernet2(smac.0, gw_mac().0).ipv4(
            v4(src).octets(),
            v4(dst).octets(),
            64,
        );
        let b = if from_a {
            b.icmpv4_echo_request(77, 1)
        } else {
            b.icmpv4_echo_reply(77, 1)
        };
        let mut out = Vec::new();
        b.write(&mut out, b"ping").unwrap();
        out
    };
    not_offered(&mut r, &rx, &ping(true), POD_A_PORT, POD_B_PORT);
    let b = offered(&mut r, &rx, &ping(false), POD_B_PORT);
    assert_eq!((b.key.proto, b.key.sport, b.key.dport), (1, 77, 77));
    assert_eq!(
        offered(&mut r, &rx, &ping(true), POD_A_PORT).dir,
        Dir::Forward
    );
}

#[test]
fn a_full_channel_counts_the_drop_and_a_later_packet_asks_again() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 1);
    let first = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5400, 53, b"1");
    let second = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5401, 53, b"2");
    assert_eq!(run(&mut r, &first, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
    // The channel holds the first connection's request: the second's is
    // refused, counted, and its direction given back.
    assert_eq!(run(&mut r, &second, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
    assert_eq!(
        (r.w.stats.offload_requests, r.w.stats.offload_dropped),
        (1, 1)
    );
    let second_key = key(POD_A, POD_B, UDP, 5401, 53);
    assert_eq!(conn_of(&r, &second_key).offload_claimed, [false, false]);
    let got = requests(&rx);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].key, key(POD_A, POD_B, UDP, 5400, 53));
    // Room again: the second connection's next packet asks.
    let t = offered(&mut r, &rx, &second, POD_A_PORT);
    assert_eq!(t.key, second_key);
    assert_eq!(
        (r.w.stats.offload_requests, r.w.stats.offload_dropped),
        (2, 1)
    );
}

#[test]
fn an_expired_packet_answered_with_time_exceeded_is_not_offered() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 8);
    let dying = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 1, 5500, 53, b"q");
    // Its connection is created (and ripe) but the packet is answered.
    not_offered(&mut r, &rx, &dying, POD_A_PORT, POD_A_PORT);
    let k = key(POD_A, POD_B, UDP, 5500, 53);
    assert_eq!(conn_of(&r, &k).offload_claimed, [false, false]);
    assert_eq!(r.w.stats.answered, 1);
    let alive = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5500, 53, b"q");
    assert_eq!(offered(&mut r, &rx, &alive, POD_A_PORT).key, k);
}

#[test]
fn an_icmp_error_relayed_about_a_connection_is_not_offered() {
    let (mut r, rx) = offloading(tables(), Trigger::FirstPacket, 8);
    let datagram = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5600, 53, b"query");
    let f = offered(&mut r, &rx, &datagram, POD_A_PORT);
    let received = udp4(gw_mac(), mac(POD_B), POD_A, POD_B, 63, 5600, 53, b"query");
    let error = port_unreachable(mac(POD_B), gw_mac(), POD_B, POD_A, 64, &received[14..]);
    // Travelling the reply direction, which it must not claim.
    not_offered(&mut r, &rx, &error, POD_B_PORT, POD_A_PORT);
    assert_eq!(conn_of(&r, &f.key).offload_claimed, [true, false]);
}

#[test]
fn a_packet_turned_into_a_neighbour_request_is_not_offered() {
    // The next hop unresolved: the frame becomes its ARP request.
    let (mut r, rx) = with_sink(rig(tables()), Trigger::FirstPacket, 8);
    let sent = tcp(
        mac(POD_A),
        gw_mac(),
        None,
        [10, 244, 2, 5],
        CLIENT,
        64,
        2001,
        443,
    );
    not_offered(&mut r, &rx, &sent, POD_A_PORT, UPLINK);
    assert_eq!(r.w.stats.requests, 1);
    let k = key(POD_A, "198.51.100.7", TCP, 2001, 443);
    assert_eq!(conn_of(&r, &k).offload_claimed, [false, false]);
    r.n.set(ip("172.31.0.254"), NEXT_HOP_MAC);
    assert_eq!(offered(&mut r, &rx, &sent, POD_A_PORT).key, k);
}

#[test]
fn answers_are_not_offered() {
    let mut t = tables();
    t.services.values_mut().next().unwrap().ports[0]
        .backends
        .clear();
    let (mut r, rx) = offloading(t, Trigger::FirstPacket, 8);
    // A ping to the gateway, a connection to a service without endpoints.
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(mac(POD_A).0, gw_mac().0)
        .ipv4(v4(POD_A).octets(), v4("10.244.2.1").octets(), 64)
        .icmpv4_echo_request(9, 1)
        .write(&mut ping, b"gw")
        .unwrap();
    not_offered(&mut r, &rx, &ping, POD_A_PORT, POD_A_PORT);
    let rejected = tcp4(mac(POD_A), gw_mac(), POD_A, VIP, 64, 40002, 80, true, b"");
    not_offered(&mut r, &rx, &rejected, POD_A_PORT, POD_A_PORT);
    assert_eq!(r.w.stats.answered, 2);
    assert_eq!(r.w.stats.offload_requests, 0);
}

#[test]
fn without_a_sink_nothing_is_claimed_and_a_sink_set_later_asks() {
    let mut r = gateway_rig(tables());
    let sent = udp4(mac(POD_A), gw_mac(), POD_A, POD_B, 64, 5700, 53, b"q");
    assert_eq!(run(&mut r, &sent, POD_A_PORT).0, Verdict::Tx(POD_B_PORT));
    let k = key(POD_A, POD_B, UDP, 5700, 53);
    assert_eq!(conn_of(&r, &k).offload_claimed, [false, false]);
    let (mut r, rx) = with_sink(r, Trigger::FirstPacket, 8);
    assert_eq!(offered(&mut r, &rx, &sent, POD_A_PORT).key, k);
    // Taken away again: the reply direction is left alone.
    r.w.set_offload(None);
    let reply = udp4(mac(POD_B), gw_mac(), POD_B, POD_A, 64, 53, 5700, b"a");
    assert_eq!(run(&mut r, &reply, POD_B_PORT).0, Verdict::Tx(POD_A_PORT));
    assert_eq!(conn_of(&r, &k).offload_claimed, [true, false]);
    assert_eq!(r.w.stats.offload_requests, 1);
}
