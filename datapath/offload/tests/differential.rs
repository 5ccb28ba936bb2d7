//! The differential proof that hardware and software agree: for generated
//! connections of every shape the datapath offloads — pod to pod (routed
//! and switched), to and from another zone over Geneve, through a
//! ClusterIP (DNAT, and the reply's SNAT back), out of the gateway (SNAT
//! to the node IP) and into a node port, with and without the node
//! network's VLAN, IPv4 and IPv6, TCP, UDP and ICMP echo — a packet of
//! each direction goes through the software pipeline (`Worker::process`)
//! and, as its key, through the emulated NIC (`SoftwareTable`) holding the
//! rule `rule_for` made from the treatment the worker recorded. The
//! headers that come out, and the port, must be equal.
//!
//! The fixtures are the engine's own (one small cluster seen from node-id
//! 2; `datapath/engine/tests/common`).

#[path = "../../engine/tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::net::IpAddr;

use common::{compiled, ip, mac, tables, NEXT_HOP_MAC, NODE_B_MAC, UPLINK, UPLINK_MAC};
use dpuflow_conntrack::{Config, Conntrack};
use dpuflow_engine::lookup::Compiled;
use dpuflow_engine::offload::{OffloadSink, Request, Treatment, Trigger};
use dpuflow_engine::{Neighbours, Verdict, Worker};
use dpuflow_flow::{Action, Direction, Outcome, PacketKey, SoftwareTable};
use dpuflow_net::MacAddr;
use dpuflow_offload::key::packet_key;
use dpuflow_offload::rules::{base_rules, rule_for, NotEligible, RuleSettings};
use dpuflow_packet::{parse, Frame, VecFrame, L3, L4};
use dpuflow_tables::Tables;
use etherparse::PacketBuilder;
use proptest::prelude::*;

/// Every port of the engine's fixture, all representors of one switch.
const PORTS: [u16; 5] = [
    common::UPLINK,
    common::POD_A_PORT,
    common::POD_B_PORT,
    common::HOST_PF,
    common::MGMT_PORT,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
    Echo,
}

/// Where a connection starts and where it is going.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Pod a to pod b through the gateway.
    Routed,
    /// Pod a to pod b addressed to b's MAC (same subnet).
    Switched,
    /// Pod a to a pod on node-b (Geneve out).
    ToRemote,
    /// A pod on node-b to pod a (Geneve in).
    FromRemote,
    /// Pod a to the `web` ClusterIP (TCP 80; endpoints local and remote).
    ClusterIp,
    /// Pod a to a host outside (SNAT to the node IP).
    Egress,
    /// A client outside to the node port of `web`.
    NodePort,
}

#[derive(Clone, Debug)]
struct Case {
    shape: Shape,
    v6: bool,
    proto: Proto,
    vlan: Option<u16>,
    sport: u16,
    dport: u16,
    ttl: u8,
    payload: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    let shape = prop_oneof![
        Just(Shape::Routed),
        Just(Shape::Switched),
        Just(Shape::ToRemote),
        Just(Shape::FromRemote),
        Just(Shape::ClusterIp),
        Just(Shape::Egress),
        Just(Shape::NodePort),
    ];
    let proto = prop_oneof![Just(Proto::Tcp), Just(Proto::Udp), Just(Proto::Echo)];
    (
        shape,
        any::<bool>(),
        proto,
        prop::option::of(1u16..4095),
        1024u16..65535,
        1u16..65535,
        2u8..=255,
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(shape, v6, proto, vlan, sport, dport, ttl, payload)| {
            constrain(Case {
                shape,
                v6,
                proto,
                vlan,
                sport,
                dport,
                ttl,
                payload,
            })
        })
}

/// The two ends of a case's first packet: port, MACs, addresses.
struct Ends {
    port: u16,
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: IpAddr,
    dst: IpAddr,
}

fn pick(v6: bool, v4: &str, v6addr: &str) -> IpAddr {
    ip(if v6 { v6addr } else { v4 })
}

fn ends(c: &Case) -> Ends {
    let a = pick(c.v6, "10.244.2.5", "fd00:10:244:2::5");
    let b = pick(c.v6, "10.244.2.6", "fd00:10:244:2::6");
    let remote = pick(c.v6, "10.244.3.7", "fd00:10:244:3::7");
    let from_a = |dst_mac, dst| Ends {
        port: common::POD_A_PORT,
        src_mac: mac("10.244.2.5"),
        dst_mac,
        src: a,
        dst,
    };
    let gw = common::gw_mac();
    match c.shape {
        Shape::Routed => from_a(gw, b),
        Shape::Switched => from_a(mac("10.244.2.6"), b),
        Shape::ToRemote => from_a(gw, remote),
        Shape::ClusterIp => from_a(gw, pick(c.v6, "10.96.0.10", "fd00:10:96::10")),
        Shape::Egress => from_a(gw, ip("198.51.100.7")),
        // Inner MACs between the zones' transit router ports.
        Shape::FromRemote => Ends {
            port: UPLINK,
            src_mac: mac("100.88.0.3"),
            dst_mac: mac("100.88.0.2"),
            src: remote,
            dst: a,
        },
        Shape::NodePort => Ends {
            port: UPLINK,
            src_mac: NEXT_HOP_MAC,
            dst_mac: UPLINK_MAC,
            src: ip("198.51.100.7"),
            dst: ip("172.31.0.12"),
        },
    }
}

/// A frame of the case's protocol; TCP as a SYN or an ACK.
fn frame(c: &Case, e: &Ends, syn: bool) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(e.src_mac.0, e.dst_mac.0);
    let ip = match (e.src, e.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), c.ttl),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), c.ttl),
        _ => unreachable!("one family per case"),
    };
    let mut out = Vec::new();
    match c.proto {
        Proto::Tcp => {
            let t = ip.tcp(c.sport, c.dport, 1000, 64240);
            let t = if syn { t.syn() } else { t.ack(1) };
            t.write(&mut out, &c.payload)
        }
        Proto::Udp => ip.udp(c.sport, c.dport).write(&mut out, &c.payload),
        Proto::Echo if e.src.is_ipv6() => ip
            .icmpv6_echo_request(c.sport, 1)
            .write(&mut out, &c.payload),
        Proto::Echo => ip
            .icmpv4_echo_request(c.sport, 1)
            .write(&mut out, &c.payload),
    }
    .expect("frame");
    out
}

/// Inserts an 802.1Q tag after the MACs.
fn tagged(mut f: Vec<u8>, vid: u16) -> Vec<u8> {
    let tag = [0x81, 0x00, (vid >> 8) as u8 & 0x0f, vid as u8];
    f.splice(12..12, tag);
    f
}

/// The first packet as it reaches the datapath: from node-b inside OVN
/// interconnect's Geneve; from the uplink tagged with the node VLAN.
fn on_the_wire(c: &Case, e: &Ends, inner: Vec<u8>) -> Vec<u8> {
    let wire = match c.shape {
        Shape::FromRemote => common::from_node_b(&inner, 49152 + c.sport % 1000),
        _ => inner,
    };
    match (e.port, c.vlan) {
        (UPLINK, Some(vid)) => tagged(wire, vid),
        _ => wire,
    }
}

/// The answer the receiving end sends back to what it received: MACs,
/// addresses and ports swapped (inner and outer, OVN's keys too), an echo
/// request become a reply, TCP a SYN+ACK or an ACK.
fn turn_around(received: &[u8], syn: bool, ttl: u8) -> Vec<u8> {
    let mut f = received.to_vec();
    let p = parse(&f).expect("parse what was sent");
    if let Some(t) = &p.tunnel {
        swap_headers(&mut f, &p.outer, 0, true);
        // OVN's option: ingress and egress keys swap.
        let opt = usize::from(p.outer.l4_offset) + 8 + 8 + 4;
        let (i, e) = (f[opt..opt + 2].to_vec(), f[opt + 2..opt + 4].to_vec());
        f[opt..opt + 2].copy_from_slice(&e);
        f[opt + 2..opt + 4].copy_from_slice(&i);
        swap_headers(&mut f, &t.inner, usize::from(t.inner_offset), false);
        flags(&mut f, &t.inner, syn);
        set_ttl(&mut f, &t.inner, ttl);
    } else {
        swap_headers(&mut f, &p.outer, 0, false);
        flags(&mut f, &p.outer, syn);
        set_ttl(&mut f, &p.outer, ttl);
    }
    f
}

/// Swaps MACs (of the Ethernet header at `eth`), addresses and (unless
/// `keep_ports`) transport ports of `h` (offsets from the frame's start);
/// checksums stay right (every sum is symmetric in the swap), but for the
/// ICMP type change in `flags`.
fn swap_headers(f: &mut [u8], h: &dpuflow_packet::Headers, eth: usize, keep_ports: bool) {
    let swap = |f: &mut [u8], a: usize, b: usize, n: usize| {
        let x = f[a..a + n].to_vec();
        f.copy_within(b..b + n, a);
        f[b..b + n].copy_from_slice(&x);
    };
    swap(f, eth, eth + 6, 6);
    let l3 = usize::from(h.l3_offset);
    match h.l3 {
        L3::Ipv4 { .. } => swap(f, l3 + 12, l3 + 16, 4),
        L3::Ipv6 { .. } => swap(f, l3 + 8, l3 + 24, 16),
        _ => {}
    }
    let l4 = usize::from(h.l4_offset);
    if !keep_ports && matches!(h.l4, L4::Tcp { .. } | L4::Udp { .. }) {
        swap(f, l4, l4 + 2, 2);
    }
}

/// The answer leaves its sender with a TTL of its own (IPv4 header
/// checksum updated as RFC 1624 says).
fn set_ttl(f: &mut [u8], h: &dpuflow_packet::Headers, ttl: u8) {
    let l3 = usize::from(h.l3_offset);
    match h.l3 {
        L3::Ipv4 { .. } => {
            let old = u16::from_be_bytes([f[l3 + 8], f[l3 + 9]]);
            f[l3 + 8] = ttl;
            let new = u16::from_be_bytes([f[l3 + 8], f[l3 + 9]]);
            let sum = u16::from_be_bytes([f[l3 + 10], f[l3 + 11]]);
            let s = u32::from(!sum) + u32::from(!old) + u32::from(new);
            let s = (s & 0xffff) + (s >> 16);
            let s = (s & 0xffff) + (s >> 16);
            f[l3 + 10..l3 + 12].copy_from_slice(&(!(s as u16)).to_be_bytes());
        }
        L3::Ipv6 { .. } => f[l3 + 7] = ttl,
        _ => {}
    }
}

/// TCP: SYN+ACK or ACK; ICMP echo request → reply (checksum adjusted).
fn flags(f: &mut [u8], h: &dpuflow_packet::Headers, syn: bool) {
    let l4 = usize::from(h.l4_offset);
    match h.l4 {
        L4::Tcp { .. } => {
            // The checksum is not checked on the way; keep it simple.
            f[l4 + 13] = if syn { 0x12 } else { 0x10 };
        }
        L4::Icmp { icmp_type, .. } => {
            let reply = if icmp_type == 8 { 0 } else { 129 };
            let sum = u16::from_be_bytes([f[l4 + 2], f[l4 + 3]]);
            let delta = u16::from(icmp_type - reply) << 8;
            // RFC 1624: the type byte went down by `delta`.
            let s = u32::from(sum) + u32::from(delta);
            let s = (s & 0xffff) + (s >> 16);
            f[l4] = reply;
            f[l4 + 2..l4 + 4].copy_from_slice(&(s as u16).to_be_bytes());
        }
        _ => {}
    }
}

/// The datapath of the engine's fixture with an offload sink, and the
/// emulated NIC holding the base rules.
struct Rig {
    t: Compiled,
    w: Worker,
    _n: Neighbours,
    requests: crossbeam_channel::Receiver<Request>,
    nic: SoftwareTable,
    settings: RuleSettings,
}

fn rig(vlan: Option<u16>) -> Rig {
    let mut t: Tables = tables();
    if let Some(g) = t.gateway.as_mut() {
        g.vlan = vlan;
    }
    let (_ct, mut owners) = Conntrack::new(
        Config {
            capacity: 256,
            ..Config::default()
        },
        1,
    )
    .expect("conntrack");
    let (_aff, mut sticky) =
        Conntrack::new(dpuflow_engine::affinity::table_config(64), 1).expect("affinity");
    let n = Neighbours::new(64);
    n.set(ip("172.31.0.3"), NODE_B_MAC);
    n.set(ip("172.31.0.254"), NEXT_HOP_MAC);
    let mut w = Worker::new(
        owners.pop().expect("owner"),
        sticky.pop().expect("owner"),
        n.view(),
        UPLINK_MAC,
    );
    let (tx, requests) = crossbeam_channel::bounded(16);
    w.set_offload(Some(OffloadSink::new(tx, Trigger::FirstPacket)));
    let settings = RuleSettings {
        transfer_ports: PORTS.to_vec(),
    };
    let mut nic = SoftwareTable::new(Direction::Transfer);
    for r in base_rules(&settings) {
        nic.insert(r).expect("base rule");
    }
    Rig {
        t: compiled(&t),
        w,
        _n: n,
        requests,
        nic,
        settings,
    }
}

/// What became of one packet.
struct Leg {
    out: Vec<u8>,
    port: u16,
    treatment: Option<Treatment>,
}

fn send(r: &mut Rig, bytes: &[u8], port: u16) -> Result<Leg, TestCaseError> {
    let mut f = VecFrame::new(bytes);
    let v = r.w.process(&r.t, &mut f, port, 1);
    let Verdict::Tx(out) = v else {
        return Err(TestCaseError::fail(format!("dropped: {v:?}")));
    };
    let treatment = r.requests.try_iter().last().map(|Request::Offload(t)| t);
    Ok(Leg {
        out: f.bytes().to_vec(),
        port: out,
        treatment,
    })
}

/// One direction: the first packet's treatment becomes a rule on the
/// emulated NIC; the next packet goes through both, which must agree.
fn direction(
    r: &mut Rig,
    first: &[u8],
    next: &[u8],
    port: u16,
    what: &str,
) -> Result<Option<Leg>, TestCaseError> {
    let leg = send(r, first, port)?;
    let t = leg
        .treatment
        .ok_or_else(|| TestCaseError::fail(format!("{what}: no offload request")))?;
    prop_assert_eq!(t.in_port, port, "{}", what);
    prop_assert_eq!(t.out_port, leg.port, "{}", what);
    let rule = match rule_for(&t, &r.settings, Some(60)) {
        Ok(rule) => rule,
        Err(NotEligible::Icmp6Echo) => return Ok(None),
        Err(e) => return Err(TestCaseError::fail(format!("{what}: {e:?} for {t:?}"))),
    };
    prop_assert!(rule.validate().is_ok(), "{}: {:?}", what, rule.validate());
    r.nic
        .insert(rule.clone())
        .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;

    let key = packet_key(next, port).ok_or_else(|| TestCaseError::fail("next: no key"))?;
    let hw = r.nic.classify(&key);
    prop_assert_eq!(hw.outcome(), Outcome::Terminal, "{}: {:?}", what, rule);
    let fate = hw.final_actions().and_then(|a| a.last()).cloned();
    let emulated = *hw.key();
    let sw = send(r, next, port)?;
    prop_assert_eq!(
        fate,
        Some(Action::RepresentedPort(sw.port)),
        "{}: the rule sends it where software does",
        what
    );
    let software = packet_key(&sw.out, port).ok_or_else(|| TestCaseError::fail("no key"))?;
    prop_assert_eq!(
        headers(&emulated),
        headers(&software),
        "{}: rule {:?}\n{}",
        what,
        rule,
        rule.to_testpmd(0)
    );
    Ok(Some(sw))
}

/// The fields the NIC and the software path write (the in-port is where
/// the packet came from, not what it became).
fn headers(k: &PacketKey) -> PacketKey {
    PacketKey {
        in_port: None,
        ..*k
    }
}

fn check(c: &Case) -> Result<(), TestCaseError> {
    let mut r = rig(c.vlan);
    let e = ends(c);
    let first = on_the_wire(c, &e, frame(c, &e, true));
    let next = on_the_wire(c, &e, frame(c, &e, false));
    let Some(there) = direction(&mut r, &first, &next, e.port, "forward")? else {
        prop_assert!(
            c.v6 && c.proto == Proto::Echo,
            "only ICMPv6 echo is refused"
        );
        return Ok(());
    };
    // The other end answers what it received.
    let back_first = turn_around(&there.out, true, c.ttl);
    let back_next = turn_around(&there.out, false, c.ttl);
    direction(&mut r, &back_first, &back_next, there.port, "reply")?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn offloaded_rules_do_what_the_software_path_does(c in case()) {
        check(&c)?;
    }
}

/// Every shape, both families and protocols, is among what the property
/// above can draw (a generator change that loses one fails here).
#[test]
fn every_shape_is_exercised() {
    for shape in [
        Shape::Routed,
        Shape::Switched,
        Shape::ToRemote,
        Shape::FromRemote,
        Shape::ClusterIp,
        Shape::Egress,
        Shape::NodePort,
    ] {
        for (v6, proto, vlan) in [
            (false, Proto::Tcp, None),
            (false, Proto::Udp, Some(100)),
            (false, Proto::Echo, None),
            (true, Proto::Tcp, Some(7)),
            (true, Proto::Udp, None),
        ] {
            let c = case_of(shape, v6, proto, vlan);
            check(&c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
    }
}

/// A fixed case of these choices, constrained as the generator's are.
fn case_of(shape: Shape, v6: bool, proto: Proto, vlan: Option<u16>) -> Case {
    constrain(Case {
        shape,
        v6,
        proto,
        vlan,
        sport: 40000,
        dport: 8080,
        ttl: 64,
        payload: b"differential".to_vec(),
    })
}

/// What the fixture's cluster serves: `web` is TCP 80 (node port 30080)
/// on both families; the gateway is IPv4 only; the node network's VLAN
/// touches only the uplink's traffic.
fn constrain(c: Case) -> Case {
    let (v6, proto, dport) = match c.shape {
        Shape::ClusterIp => (c.v6, Proto::Tcp, 80),
        Shape::NodePort => (false, Proto::Tcp, 30080),
        Shape::Egress => (false, c.proto, c.dport),
        _ => (c.v6, c.proto, c.dport),
    };
    let vlan = match c.shape {
        Shape::Routed | Shape::Switched | Shape::ClusterIp => None,
        _ => c.vlan,
    };
    Case {
        v6,
        proto,
        dport,
        vlan,
        ..c
    }
}
