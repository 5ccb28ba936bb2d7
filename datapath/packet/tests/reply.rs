//! Replies built in place, against the answer `etherparse` builds from the
//! same fields: ARP replies, neighbour advertisements, ICMP errors quoting
//! the packet, echo replies, TCP resets; and the answers the RFCs forbid.

mod common;

use std::net::{IpAddr, Ipv6Addr};

use common::*;
use dpuflow_net::MacAddr;
use dpuflow_packet::reply::{
    arp_reply, echo_reply, icmp_error, neighbor_advert, tcp_reset, IcmpError, Responder,
};
use dpuflow_packet::{parse, EditError, Frame, Headers, VecFrame};
use etherparse::icmpv4::DestUnreachableHeader;
use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType, Icmpv4Type, Icmpv6Type, IpHeaders, IpNumber,
    Ipv4Header, PacketBuilder, VlanId,
};

const V6_POD: &str = "fd00:10:244:1::5";
const V6_PEER: &str = "fd00:10:244:2::7";
const V6_GW: &str = "fd00:10:244:1::1";
const GW: [u8; 4] = [10, 244, 1, 1];

fn v6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().unwrap().octets()
}

fn reply(
    f: &[u8],
    build: impl FnOnce(&mut VecFrame, &Headers) -> Result<(), EditError>,
) -> Vec<u8> {
    let h = *parse(f).expect("the test frame parses").innermost();
    let mut frame = VecFrame::new(f);
    build(&mut frame, &h).expect("the reply is built");
    frame.bytes().to_vec()
}

fn refused(
    f: &[u8],
    err: EditError,
    build: impl FnOnce(&mut VecFrame, &Headers) -> Result<(), EditError>,
) {
    let h = *parse(f).expect("the test frame parses").innermost();
    let mut frame = VecFrame::new(f);
    assert_eq!(build(&mut frame, &h), Err(err));
    assert_eq!(frame.bytes(), f, "a refused reply changes nothing");
}

// ---- ARP ----

fn arp(op: ArpOperation, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> ArpPacket {
    ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        op,
        &sha,
        &spa,
        &tha,
        &tpa,
    )
    .unwrap()
}

#[test]
fn arp_reply_for_the_gateway_address() {
    let mut req = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, [0xff; 6])
        .single_vlan(VlanId::try_new(10).unwrap())
        .arp(arp(ArpOperation::REQUEST, POD_MAC, POD, [0; 6], GW))
        .write(&mut req)
        .unwrap();
    let mut want = Vec::new();
    PacketBuilder::ethernet2(GW_MAC, POD_MAC)
        .single_vlan(VlanId::try_new(10).unwrap())
        .arp(arp(ArpOperation::REPLY, GW_MAC, GW, POD_MAC, POD))
        .write(&mut want)
        .unwrap();
    assert_eq!(reply(&req, |f, h| arp_reply(f, h, MacAddr(GW_MAC))), want);

    // Padded to 60 bytes on the wire: the padding stays.
    let mut padded = req.clone();
    padded.resize(64, 0);
    let got = reply(&padded, |f, h| arp_reply(f, h, MacAddr(GW_MAC)));
    assert_eq!(&got[..want.len()], &want[..]);
    assert_eq!(got.len(), 64);

    // A reply is not answered.
    refused(&want, EditError::NotApplicable, |f, h| {
        arp_reply(f, h, MacAddr(GW_MAC))
    });
}

// ---- Neighbour discovery ----

/// A neighbour solicitation for `target` from `src`, with a source
/// link-layer address option when `slla`.
fn solicitation(src: [u8; 16], dst: [u8; 16], target: &str, slla: bool, hop: u8) -> Vec<u8> {
    let mut body = v6(target).to_vec();
    if slla {
        body.extend_from_slice(&[1, 1]);
        body.extend_from_slice(&POD_MAC);
    }
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, [0x33, 0x33, 0xff, 0, 0, 1])
        .ipv6(src, dst, hop)
        .icmpv6_raw(135, 0, [0; 4])
        .write(&mut f, &body)
        .unwrap();
    f
}

fn advertisement(dst_mac: [u8; 6], dst: [u8; 16], flags: u8, target: &str) -> Vec<u8> {
    let mut body = v6(target).to_vec();
    body.extend_from_slice(&[2, 1]);
    body.extend_from_slice(&GW_MAC);
    let mut f = Vec::new();
    PacketBuilder::ethernet2(GW_MAC, dst_mac)
        .ipv6(v6(target), dst, 255)
        .icmpv6_raw(136, 0, [flags, 0, 0, 0])
        .write(&mut f, &body)
        .unwrap();
    f
}

#[test]
fn neighbour_advertisement_answers_a_solicitation() {
    let sn = v6("ff02::1:ff00:1");
    // Router port: router + solicited + override.
    for slla in [true, false] {
        let ns = solicitation(v6(V6_POD), sn, V6_GW, slla, 255);
        let got = reply(&ns, |f, h| neighbor_advert(f, h, MacAddr(GW_MAC), true));
        assert_eq!(
            got,
            advertisement(POD_MAC, v6(V6_POD), 0xe0, V6_GW),
            "slla {slla}"
        );
        assert_eq!(verify_checksums(&got), 1);
    }
    // A switch port's address: solicited + override.
    let ns = solicitation(v6(V6_POD), sn, V6_PEER, true, 255);
    let got = reply(&ns, |f, h| neighbor_advert(f, h, MacAddr(GW_MAC), false));
    assert_eq!(got, advertisement(POD_MAC, v6(V6_POD), 0x60, V6_PEER));
    // Duplicate address detection: to all nodes, not solicited.
    let ns = solicitation([0; 16], sn, V6_GW, false, 255);
    let got = reply(&ns, |f, h| neighbor_advert(f, h, MacAddr(GW_MAC), true));
    let all_nodes = v6("ff02::1");
    assert_eq!(
        got,
        advertisement([0x33, 0x33, 0, 0, 0, 1], all_nodes, 0xa0, V6_GW)
    );
}

#[test]
fn invalid_solicitations_are_not_answered() {
    let sn = v6("ff02::1:ff00:1");
    let ns = solicitation(v6(V6_POD), sn, V6_GW, true, 254);
    refused(&ns, EditError::Forbidden, |f, h| {
        neighbor_advert(f, h, MacAddr(GW_MAC), true)
    });
    let ns = solicitation(v6(V6_POD), sn, "ff02::2", true, 255);
    refused(&ns, EditError::Forbidden, |f, h| {
        neighbor_advert(f, h, MacAddr(GW_MAC), true)
    });
    // No tailroom to grow a solicitation without option into the answer.
    let ns = solicitation(v6(V6_POD), sn, V6_GW, false, 255);
    let h = parse(&ns).unwrap().outer;
    let mut f = VecFrame::with_room(&ns, 128, 7);
    assert_eq!(
        neighbor_advert(&mut f, &h, MacAddr(GW_MAC), true),
        Err(EditError::NoTailroom)
    );
    assert_eq!(f.bytes(), &ns[..]);
    // Not a solicitation.
    let na = advertisement(POD_MAC, v6(V6_POD), 0x60, V6_GW);
    refused(&na, EditError::NotApplicable, |f, h| {
        neighbor_advert(f, h, MacAddr(GW_MAC), true)
    });
}

// ---- ICMP errors ----

fn responder(ip: IpAddr, ttl: u8) -> Responder {
    Responder {
        mac: MacAddr(GW_MAC),
        ip,
        ttl,
    }
}

fn udp_v4(options: &[u8], payload: &[u8], vlan: Option<u16>) -> Vec<u8> {
    let mut ip = Ipv4Header::new(0, 64, IpNumber::UDP, POD, PEER).unwrap();
    ip.options = options.try_into().unwrap();
    let mut f = Vec::new();
    let e = PacketBuilder::ethernet2(POD_MAC, GW_MAC);
    match vlan {
        Some(v) => e
            .single_vlan(VlanId::try_new(v).unwrap())
            .ip(IpHeaders::Ipv4(ip, Default::default()))
            .udp(40000, 53)
            .write(&mut f, payload),
        None => e
            .ip(IpHeaders::Ipv4(ip, Default::default()))
            .udp(40000, 53)
            .write(&mut f, payload),
    }
    .unwrap();
    f
}

/// The ICMPv4 error etherparse builds, quoting `quote`.
fn icmp4_answer(icmp: Icmpv4Type, quote: &[u8], vlan: Option<u16>, ttl: u8) -> Vec<u8> {
    let mut f = Vec::new();
    let e = PacketBuilder::ethernet2(GW_MAC, POD_MAC);
    match vlan {
        Some(v) => e
            .single_vlan(VlanId::try_new(v).unwrap())
            .ipv4(GW, POD, ttl)
            .icmpv4(icmp)
            .write(&mut f, quote),
        None => e.ipv4(GW, POD, ttl).icmpv4(icmp).write(&mut f, quote),
    }
    .unwrap();
    f
}

#[test]
fn fragmentation_needed_quotes_header_and_eight_bytes() {
    let big = udp_v4(&[], &[0x5a; 1473], None);
    let from = responder(IpAddr::from(GW), 255);
    let got = reply(&big, |f, h| {
        icmp_error(f, h, IcmpError::TooBig { mtu: 1400 }, &from)
    });
    let frag_needed =
        Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
            next_hop_mtu: 1400,
        });
    assert_eq!(got, icmp4_answer(frag_needed, &big[14..14 + 28], None, 255));
    assert_eq!(verify_checksums(&got), 2);
    // IPv4 has 16 bits of MTU.
    refused(&big, EditError::InvalidArgument, |f, h| {
        icmp_error(f, h, IcmpError::TooBig { mtu: 70000 }, &from)
    });
}

#[test]
fn ipv4_errors_with_options_tags_and_odd_lengths() {
    let from = responder(IpAddr::from(GW), 254);
    // IPv4 options: the quote is the 24-byte header and 8 bytes.
    let f = udp_v4(&[1, 1, 1, 0], b"abcdefghijk", Some(30));
    let got = reply(&f, |fr, h| {
        icmp_error(fr, h, IcmpError::TimeExceeded, &from)
    });
    let te = Icmpv4Type::TimeExceeded(etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit);
    assert_eq!(got, icmp4_answer(te, &f[18..18 + 32], Some(30), 254));
    // Port unreachable for a short UDP datagram (odd length, padded on the
    // wire): the quote stops at the IP packet's end, not the padding.
    let short = udp_v4(&[], b"x", None);
    let mut padded = short.clone();
    padded.resize(60, 0);
    let got = reply(&padded, |fr, h| {
        icmp_error(fr, h, IcmpError::PortUnreachable, &from)
    });
    let pu = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port);
    assert_eq!(got, icmp4_answer(pu, &short[14..14 + 28], None, 254));
    // Admin prohibited for TCP.
    let mut tcp = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv4(POD, PEER, 64)
        .tcp(40000, 22, 1, 100)
        .syn()
        .write(&mut tcp, &[])
        .unwrap();
    let got = reply(&tcp, |fr, h| {
        icmp_error(fr, h, IcmpError::AdminProhibited, &from)
    });
    let ap = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FilterProhibited);
    assert_eq!(got, icmp4_answer(ap, &tcp[14..14 + 28], None, 254));
    assert_eq!(verify_checksums(&got), 2);
}

fn udp_v6(payload: &[u8], dst: [u8; 16]) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv6(v6(V6_POD), dst, 64)
        .udp(40000, 53)
        .write(&mut f, payload)
        .unwrap();
    f
}

fn icmp6_answer(icmp: Icmpv6Type, quote: &[u8], ttl: u8) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(GW_MAC, POD_MAC)
        .ipv6(v6(V6_GW), v6(V6_POD), ttl)
        .icmpv6(icmp)
        .write(&mut f, quote)
        .unwrap();
    f
}

#[test]
fn ipv6_errors_quote_as_much_as_fits_in_1280_bytes() {
    let from = responder(IpAddr::from(v6(V6_GW)), 255);
    let big = udp_v6(&[0x33; 1451], v6(V6_PEER));
    let got = reply(&big, |f, h| {
        icmp_error(f, h, IcmpError::TooBig { mtu: 1400 }, &from)
    });
    assert_eq!(got.len() - 14, 1280);
    let want = icmp6_answer(
        Icmpv6Type::PacketTooBig { mtu: 1400 },
        &big[14..14 + 1232],
        255,
    );
    assert_eq!(got, want);
    assert_eq!(verify_checksums(&got), 1);
    // A small packet is quoted whole.
    let small = udp_v6(b"odd", v6(V6_PEER));
    for (kind, code) in [
        (
            IcmpError::PortUnreachable,
            Icmpv6Type::DestinationUnreachable(etherparse::icmpv6::DestUnreachableCode::Port),
        ),
        (
            IcmpError::AdminProhibited,
            Icmpv6Type::DestinationUnreachable(etherparse::icmpv6::DestUnreachableCode::Prohibited),
        ),
        (
            IcmpError::TimeExceeded,
            Icmpv6Type::TimeExceeded(etherparse::icmpv6::TimeExceededCode::HopLimitExceeded),
        ),
    ] {
        let got = reply(&small, |f, h| icmp_error(f, h, kind, &from));
        assert_eq!(got, icmp6_answer(code, &small[14..], 255), "{kind:?}");
    }
    // Packet too big is the one error sent about a multicast packet.
    let to_group = udp_v6(&[0; 1400], v6("ff0e::1"));
    let got = reply(&to_group, |f, h| {
        icmp_error(f, h, IcmpError::TooBig { mtu: 1280 }, &from)
    });
    assert_eq!(verify_checksums(&got), 1);
    refused(&to_group, EditError::Forbidden, |f, h| {
        icmp_error(f, h, IcmpError::PortUnreachable, &from)
    });
}

#[test]
fn icmp_errors_the_rfcs_forbid_and_other_refusals() {
    let from4 = responder(IpAddr::from(GW), 255);
    let from6 = responder(IpAddr::from(v6(V6_GW)), 255);
    // About an ICMP error.
    let pu = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port);
    let err = icmp4_answer(pu, &udp_v4(&[], b"x", None)[14..42], None, 64);
    refused(&err, EditError::Forbidden, |f, h| {
        icmp_error(f, h, IcmpError::TimeExceeded, &from4)
    });
    let err6 = icmp6_answer(Icmpv6Type::PacketTooBig { mtu: 1280 }, &[0; 48], 64);
    refused(&err6, EditError::Forbidden, |f, h| {
        icmp_error(f, h, IcmpError::TimeExceeded, &from6)
    });
    // To a broadcast address.
    let mut bcast = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, [0xff; 6])
        .ipv4(POD, [255; 4], 64)
        .udp(68, 67)
        .write(&mut bcast, b"dhcp")
        .unwrap();
    refused(&bcast, EditError::Forbidden, |f, h| {
        icmp_error(f, h, IcmpError::PortUnreachable, &from4)
    });
    // A non-first fragment.
    let mut frag = Vec::new();
    let mut ip = Ipv4Header::new(8, 64, IpNumber::UDP, POD, PEER).unwrap();
    ip.fragment_offset = etherparse::IpFragOffset::try_new(100).unwrap();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ip(IpHeaders::Ipv4(ip, Default::default()))
        .write(&mut frag, IpNumber::UDP, &[0; 8])
        .unwrap();
    refused(&frag, EditError::Forbidden, |f, h| {
        icmp_error(f, h, IcmpError::TimeExceeded, &from4)
    });
    // The answer's family must be the packet's.
    let f = udp_v4(&[], b"x", None);
    refused(&f, EditError::FamilyMismatch, |fr, h| {
        icmp_error(fr, h, IcmpError::TimeExceeded, &from6)
    });
    // No headroom for the new headers (20 + 8).
    let h = parse(&f).unwrap().outer;
    let mut tight = VecFrame::with_room(&f, 27, 0);
    assert_eq!(
        icmp_error(&mut tight, &h, IcmpError::TimeExceeded, &from4),
        Err(EditError::NoHeadroom)
    );
    assert_eq!(tight.bytes(), &f[..]);
    let mut enough = VecFrame::with_room(&f, 28, 0);
    assert_eq!(
        icmp_error(&mut enough, &h, IcmpError::TimeExceeded, &from4),
        Ok(())
    );
}

// ---- Echo ----

#[test]
fn echo_replies_for_both_families() {
    let data = b"odd-length ping payload";
    let mut req = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .ipv4(POD, GW, 64)
        .icmpv4_echo_request(0x1234, 7)
        .write(&mut req, data)
        .unwrap();
    let got = reply(&req, |f, h| echo_reply(f, h, 255));
    let mut want = Vec::new();
    PacketBuilder::ethernet2(GW_MAC, POD_MAC)
        .ipv4(GW, POD, 255)
        .icmpv4_echo_reply(0x1234, 7)
        .write(&mut want, data)
        .unwrap();
    assert_eq!(got, want);
    assert_eq!(verify_checksums(&got), 2);

    let mut req = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
        .single_vlan(VlanId::try_new(5).unwrap())
        .ipv6(v6(V6_POD), v6(V6_GW), 64)
        .icmpv6_echo_request(0x4321, 8)
        .write(&mut req, data)
        .unwrap();
    let got = reply(&req, |f, h| echo_reply(f, h, 255));
    let mut want = Vec::new();
    PacketBuilder::ethernet2(GW_MAC, POD_MAC)
        .single_vlan(VlanId::try_new(5).unwrap())
        .ipv6(v6(V6_GW), v6(V6_POD), 255)
        .icmpv6_echo_reply(0x4321, 8)
        .write(&mut want, data)
        .unwrap();
    assert_eq!(got, want);
    assert_eq!(verify_checksums(&got), 1);
    // A reply is not answered; a request to all nodes is not either.
    refused(&want, EditError::NotApplicable, |f, h| {
        echo_reply(f, h, 255)
    });
    let mut to_all = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, [0x33, 0x33, 0, 0, 0, 1])
        .ipv6(v6(V6_POD), v6("ff02::1"), 64)
        .icmpv6_echo_request(1, 1)
        .write(&mut to_all, &[])
        .unwrap();
    refused(&to_all, EditError::Forbidden, |f, h| echo_reply(f, h, 255));
}

// ---- TCP reset ----

/// A segment from the pod with `flags` (SYN 2, FIN 1, ACK 16) as built by
/// etherparse, over IPv4 (with `options`) or IPv6.
fn segment(v6_: bool, options: &[u8], flags: u8, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    let e = PacketBuilder::ethernet2(POD_MAC, GW_MAC);
    let step = if v6_ {
        e.ipv6(v6(V6_POD), v6(V6_PEER), 64)
    } else {
        let mut ip = Ipv4Header::new(0, 64, IpNumber::TCP, POD, PEER).unwrap();
        ip.options = options.try_into().unwrap();
        e.ip(IpHeaders::Ipv4(ip, Default::default()))
    };
    let mut t = step.tcp(40000, 80, seq, 512);
    if flags & 2 != 0 {
        t = t.syn();
    }
    if flags & 1 != 0 {
        t = t.fin();
    }
    if flags & 16 != 0 {
        t = t.ack(ack);
    }
    t.write(&mut f, payload).unwrap();
    f
}

/// The reset etherparse builds: from the peer back to the pod.
fn reset(v6_: bool, seq: u32, ack: Option<u32>, ttl: u8) -> Vec<u8> {
    let mut f = Vec::new();
    let e = PacketBuilder::ethernet2(GW_MAC, POD_MAC);
    let step = if v6_ {
        e.ipv6(v6(V6_PEER), v6(V6_POD), ttl)
    } else {
        e.ipv4(PEER, POD, ttl)
    };
    let t = step.tcp(80, 40000, seq, 0).rst();
    match ack {
        Some(a) => t.ack(a).write(&mut f, &[]),
        None => t.write(&mut f, &[]),
    }
    .unwrap();
    f
}

#[test]
fn tcp_reset_follows_rfc_9293() {
    for v6_ in [false, true] {
        // A SYN (no ACK): seq 0, ack = SEG.SEQ + 1.
        let syn = segment(v6_, &[], 2, 1000, 0, &[]);
        let got = reply(&syn, |f, h| tcp_reset(f, h, 64));
        assert_eq!(got, reset(v6_, 0, Some(1001), 64), "v6 {v6_}");
        assert_eq!(verify_checksums(&got), if v6_ { 1 } else { 2 });
        // Data with ACK: seq = SEG.ACK, no ACK.
        let data = segment(v6_, &[], 16, 5000, 777, b"hello");
        let got = reply(&data, |f, h| tcp_reset(f, h, 64));
        assert_eq!(got, reset(v6_, 777, None, 64));
        // FIN with data, no ACK: ack = SEG.SEQ + data + FIN, wrapping.
        let fin = segment(v6_, &[], 1, u32::MAX - 1, 0, b"abc");
        let got = reply(&fin, |f, h| tcp_reset(f, h, 63));
        assert_eq!(got, reset(v6_, 0, Some(2), 63));
    }
    // IPv4 options are not carried into the reset.
    let opt = segment(false, &[1, 1, 1, 0], 2, 9, 0, &[]);
    assert_eq!(
        reply(&opt, |f, h| tcp_reset(f, h, 64)),
        reset(false, 0, Some(10), 64)
    );
}

#[test]
fn a_reset_is_never_answered() {
    let rst = reset(false, 5, None, 64);
    refused(&rst, EditError::Forbidden, |f, h| tcp_reset(f, h, 64));
    let udp = udp_v4(&[], b"x", None);
    refused(&udp, EditError::NotApplicable, |f, h| tcp_reset(f, h, 64));
}
