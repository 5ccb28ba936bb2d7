//! The edits against frames built by `etherparse`: each edited frame must
//! equal, byte for byte and checksums included, the frame etherparse builds
//! for the expected result, and etherparse must find its checksums valid.
//! Geneve encapsulation reproduces the frame captured from a real OVN zone.

mod common;

use std::net::{IpAddr, Ipv6Addr};

use common::*;
use dpuflow_net::MacAddr;
use dpuflow_packet::edit::{
    decap, decrement_ttl, encap_geneve, nat, nat_quoted, pop_vlan, push_vlan, set_macs, Encap,
    NatRewrite, Side,
};
use dpuflow_packet::geneve::GENEVE_PORT;
use dpuflow_packet::reply::{
    arp_reply, echo_reply, icmp_error, neighbor_advert, tcp_reset, IcmpError, Responder,
};
use dpuflow_packet::{parse, EditError, Frame, OvnKeys, VecFrame, Vlan};
use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, PacketBuilder, PacketBuilderStep, SingleVlanHeader,
    VlanHeader, VlanId, VlanPcp,
};
use proptest::prelude::*;

const V6_POD: &str = "fd00:10:244:1::5";
const V6_PEER: &str = "fd00:10:244:2::7";

fn v6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().unwrap().octets()
}

fn eth() -> PacketBuilderStep<etherparse::Ethernet2Header> {
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
}

/// Applies `edit` to `f` (parsed first) and returns the edited bytes.
fn edited(
    f: &[u8],
    edit: impl FnOnce(&mut VecFrame, &dpuflow_packet::Headers) -> Result<(), EditError>,
) -> Vec<u8> {
    let h = *parse(f).expect("the test frame parses").innermost();
    let mut frame = VecFrame::new(f);
    edit(&mut frame, &h).expect("the edit applies");
    frame.bytes().to_vec()
}

/// Asserts that `edit` is refused with `err` and leaves the frame as it was.
fn refused(
    mut frame: VecFrame,
    h: &dpuflow_packet::Headers,
    err: EditError,
    edit: impl FnOnce(&mut VecFrame, &dpuflow_packet::Headers) -> Result<(), EditError>,
) {
    let before = frame.clone();
    assert_eq!(edit(&mut frame, h), Err(err));
    assert_eq!(frame, before, "a refused edit changes nothing");
}

// ---- MACs and VLAN tags ----

#[test]
fn set_macs_rewrites_both_addresses() {
    let mut f = Vec::new();
    eth()
        .ipv4(POD, PEER, 64)
        .udp(1, 2)
        .write(&mut f, b"x")
        .unwrap();
    let (src, dst) = (MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 9]));
    let got = edited(&f, |fr, _| set_macs(fr, src, dst));
    let mut want = Vec::new();
    PacketBuilder::ethernet2(src.0, dst.0)
        .ipv4(POD, PEER, 64)
        .udp(1, 2)
        .write(&mut want, b"x")
        .unwrap();
    assert_eq!(got, want);
    let mut short = VecFrame::new(&[0; 13]);
    assert_eq!(set_macs(&mut short, src, dst), Err(EditError::Truncated));
}

fn tagged(vid: u16, pcp: u8) -> Vec<u8> {
    let mut f = Vec::new();
    eth()
        .vlan(VlanHeader::Single(SingleVlanHeader {
            pcp: VlanPcp::try_new(pcp).unwrap(),
            drop_eligible_indicator: false,
            vlan_id: VlanId::try_new(vid).unwrap(),
            ether_type: etherparse::EtherType::IPV4,
        }))
        .ipv4(POD, PEER, 64)
        .udp(1, 2)
        .write(&mut f, b"tagged")
        .unwrap();
    f
}

#[test]
fn vlan_push_and_pop_are_inverse_and_match_etherparse() {
    let mut untagged = Vec::new();
    eth()
        .ipv4(POD, PEER, 64)
        .udp(1, 2)
        .write(&mut untagged, b"tagged")
        .unwrap();
    let want = tagged(100, 5);
    let vlan = Vlan { vid: 100, pcp: 5 };
    assert_eq!(edited(&untagged, |f, _| push_vlan(f, vlan)), want);

    let mut f = VecFrame::new(&want);
    assert_eq!(pop_vlan(&mut f), Ok(vlan));
    assert_eq!(f.bytes(), &untagged[..]);
    assert_eq!(pop_vlan(&mut f), Err(EditError::NotApplicable));

    // A push onto a tagged frame goes outside the existing tag.
    let mut f = VecFrame::new(&want);
    push_vlan(&mut f, Vlan { vid: 7, pcp: 0 }).unwrap();
    let h = parse(f.bytes()).unwrap().outer;
    assert_eq!(h.vlans, [Some(Vlan { vid: 7, pcp: 0 }), Some(vlan)]);
    assert_eq!(&f.bytes()[18..], &want[14..]);
}

#[test]
fn vlan_push_refusals() {
    let mut untagged = Vec::new();
    eth()
        .ipv4(POD, PEER, 64)
        .udp(1, 2)
        .write(&mut untagged, b"")
        .unwrap();
    let h = parse(&untagged).unwrap().outer;
    let tight = VecFrame::with_room(&untagged, 3, 0);
    refused(tight, &h, EditError::NoHeadroom, |f, _| {
        push_vlan(f, Vlan { vid: 1, pcp: 0 })
    });
    for bad in [Vlan { vid: 4096, pcp: 0 }, Vlan { vid: 1, pcp: 8 }] {
        refused(
            VecFrame::new(&untagged),
            &h,
            EditError::InvalidArgument,
            |f, _| push_vlan(f, bad),
        );
    }
}

// ---- TTL ----

fn udp_v4_with_ttl(ttl: u8, options: &[u8]) -> Vec<u8> {
    let mut ip = Ipv4Header::new(0, ttl, IpNumber::UDP, POD, PEER).unwrap();
    ip.options = options.try_into().unwrap();
    let mut f = Vec::new();
    eth()
        .ip(IpHeaders::Ipv4(ip, Default::default()))
        .udp(5000, 53)
        .write(&mut f, b"query")
        .unwrap();
    f
}

#[test]
fn ttl_decrements_with_the_header_checksum() {
    for options in [&[][..], &[1, 1, 1, 0][..]] {
        let got = edited(&udp_v4_with_ttl(64, options), decrement_ttl);
        assert_eq!(got, udp_v4_with_ttl(63, options), "options {options:?}");
        assert_eq!(verify_checksums(&got), 2);
    }
    let mut f = Vec::new();
    eth()
        .ipv6(v6(V6_POD), v6(V6_PEER), 2)
        .udp(1, 2)
        .write(&mut f, b"odd")
        .unwrap();
    let got = edited(&f, decrement_ttl);
    let mut want = Vec::new();
    eth()
        .ipv6(v6(V6_POD), v6(V6_PEER), 1)
        .udp(1, 2)
        .write(&mut want, b"odd")
        .unwrap();
    assert_eq!(got, want);
}

#[test]
fn ttl_of_one_or_zero_is_expired_and_untouched() {
    for ttl in [0, 1] {
        let f = udp_v4_with_ttl(ttl, &[]);
        let h = parse(&f).unwrap().outer;
        refused(VecFrame::new(&f), &h, EditError::TtlExpired, |f, h| {
            decrement_ttl(f, h)
        });
        let mut f6 = Vec::new();
        eth()
            .ipv6(v6(V6_POD), v6(V6_PEER), ttl)
            .udp(1, 2)
            .write(&mut f6, b"")
            .unwrap();
        let h = parse(&f6).unwrap().outer;
        refused(VecFrame::new(&f6), &h, EditError::TtlExpired, |f, h| {
            decrement_ttl(f, h)
        });
    }
}

// ---- NAT ----

#[derive(Clone, Copy, Debug)]
enum Proto {
    Tcp,
    Udp,
    Echo,
}

/// One packet as etherparse builds it: the same shape before and after NAT.
#[derive(Clone, Debug)]
struct Pkt {
    vlan: Option<u16>,
    src: IpAddr,
    dst: IpAddr,
    proto: Proto,
    sport: u16,
    dport: u16,
    payload: Vec<u8>,
}

impl Pkt {
    fn build(&self) -> Vec<u8> {
        let mut f = Vec::new();
        let e = eth();
        macro_rules! finish {
            ($ip:expr, $v6:expr) => {
                match self.proto {
                    Proto::Tcp => $ip
                        .tcp(self.sport, self.dport, 0x0102_0304, 1024)
                        .ack(7)
                        .write(&mut f, &self.payload),
                    Proto::Udp => $ip.udp(self.sport, self.dport).write(&mut f, &self.payload),
                    // The echo id is both "ports"; sequence 9.
                    Proto::Echo if $v6 => $ip
                        .icmpv6_echo_request(self.sport, 9)
                        .write(&mut f, &self.payload),
                    Proto::Echo => $ip
                        .icmpv4_echo_request(self.sport, 9)
                        .write(&mut f, &self.payload),
                }
            };
        }
        let r = match (self.src, self.dst, self.vlan) {
            (IpAddr::V4(s), IpAddr::V4(d), None) => {
                finish!(e.ipv4(s.octets(), d.octets(), 64), false)
            }
            (IpAddr::V4(s), IpAddr::V4(d), Some(vid)) => finish!(
                e.single_vlan(VlanId::try_new(vid).unwrap())
                    .ipv4(s.octets(), d.octets(), 64),
                false
            ),
            (IpAddr::V6(s), IpAddr::V6(d), None) => {
                finish!(e.ipv6(s.octets(), d.octets(), 64), true)
            }
            (IpAddr::V6(s), IpAddr::V6(d), Some(vid)) => finish!(
                e.single_vlan(VlanId::try_new(vid).unwrap())
                    .ipv6(s.octets(), d.octets(), 64),
                true
            ),
            _ => panic!("mixed families"),
        };
        r.unwrap();
        f
    }

    /// The packet after `rw`, as the test expects it.
    fn after(&self, rw: &NatRewrite) -> Pkt {
        let mut p = self.clone();
        match rw.side {
            Side::Source => {
                p.src = rw.addr.unwrap_or(p.src);
                p.sport = rw.port.unwrap_or(p.sport);
            }
            Side::Destination => {
                p.dst = rw.addr.unwrap_or(p.dst);
                match p.proto {
                    // The echo id stands for both ports.
                    Proto::Echo => p.sport = rw.port.unwrap_or(p.sport),
                    _ => p.dport = rw.port.unwrap_or(p.dport),
                }
            }
        }
        p
    }
}

/// NATs `p` by `rw` and checks the result against etherparse's build of
/// the expected packet, and its checksums.
fn check_nat(p: &Pkt, rw: &NatRewrite) {
    let got = edited(&p.build(), |f, h| nat(f, h, rw));
    assert_eq!(got, p.after(rw).build(), "{p:?} {rw:?}");
    assert!(verify_checksums(&got) >= 1);
}

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::from(a)
}

fn v6a(s: &str) -> IpAddr {
    IpAddr::from(v6(s))
}

#[test]
fn nat_rewrites_every_protocol_and_family() {
    let snat = |addr, port| NatRewrite {
        side: Side::Source,
        addr: Some(addr),
        port,
    };
    let dnat = |addr, port| NatRewrite {
        side: Side::Destination,
        addr: Some(addr),
        port,
    };
    let cases: [(IpAddr, IpAddr, IpAddr); 2] = [
        (v4(POD), v4(PEER), v4([100, 64, 0, 3])),
        (v6a(V6_POD), v6a(V6_PEER), v6a("fd69::3")),
    ];
    for (src, dst, new) in cases {
        for proto in [Proto::Tcp, Proto::Udp, Proto::Echo] {
            // Odd and even payload lengths.
            for payload in [b"odd".to_vec(), b"even".to_vec()] {
                for vlan in [None, Some(42)] {
                    let p = Pkt {
                        vlan,
                        src,
                        dst,
                        proto,
                        sport: 40000,
                        dport: 8080,
                        payload: payload.clone(),
                    };
                    check_nat(&p, &snat(new, Some(32768)));
                    check_nat(&p, &dnat(new, Some(80)));
                    check_nat(&p, &snat(new, None));
                    check_nat(
                        &p,
                        &NatRewrite {
                            side: Side::Destination,
                            addr: None,
                            port: Some(443),
                        },
                    );
                }
            }
        }
    }
}

#[test]
fn ipv4_udp_without_checksum_stays_without() {
    let p = Pkt {
        vlan: None,
        src: v4(POD),
        dst: v4(PEER),
        proto: Proto::Udp,
        sport: 1000,
        dport: 53,
        payload: b"abc".to_vec(),
    };
    let rw = NatRewrite {
        side: Side::Destination,
        addr: Some(v4([10, 96, 0, 10])),
        port: Some(5353),
    };
    let zero = |mut f: Vec<u8>| {
        f[40..42].copy_from_slice(&[0, 0]);
        f
    };
    let got = edited(&zero(p.build()), |f, h| nat(f, h, &rw));
    assert_eq!(got, zero(p.after(&rw).build()));
    assert_eq!(&got[40..42], &[0, 0]);
    assert_eq!(verify_checksums(&got), 1, "the IPv4 header; UDP has none");
}

#[test]
fn a_udp_checksum_that_comes_out_zero_is_sent_as_all_ones() {
    // Find the new port whose UDP checksum computes to 0, which etherparse
    // (as RFC 768 says) sends as 0xffff: 0 would mean "no checksum".
    for family in [(v4(POD), v4(PEER)), (v6a(V6_POD), v6a(V6_PEER))] {
        let p = Pkt {
            vlan: None,
            src: family.0,
            dst: family.1,
            proto: Proto::Udp,
            sport: 1000,
            dport: 53,
            payload: b"abc".to_vec(),
        };
        let csum_at = parse(&p.build()).unwrap().outer.l4_offset as usize + 6;
        let port = (0..=u16::MAX)
            .find(|&port| {
                let after = p.after(&NatRewrite {
                    side: Side::Source,
                    addr: None,
                    port: Some(port),
                });
                after.build()[csum_at..csum_at + 2] == [0xff, 0xff]
            })
            .expect("one port sums to zero");
        check_nat(
            &p,
            &NatRewrite {
                side: Side::Source,
                addr: None,
                port: Some(port),
            },
        );
    }
}

#[test]
fn nat_behind_ipv4_options() {
    let f = udp_v4_with_ttl(64, &[1, 1, 1, 0]);
    let rw = NatRewrite {
        side: Side::Source,
        addr: Some(v4([100, 64, 0, 2])),
        port: Some(7),
    };
    let got = edited(&f, |fr, h| nat(fr, h, &rw));
    let mut ip = Ipv4Header::new(0, 64, IpNumber::UDP, [100, 64, 0, 2], PEER).unwrap();
    ip.options = [1, 1, 1, 0].into();
    let mut want = Vec::new();
    eth()
        .ip(IpHeaders::Ipv4(ip, Default::default()))
        .udp(7, 53)
        .write(&mut want, b"query")
        .unwrap();
    assert_eq!(got, want);
    assert_eq!(verify_checksums(&got), 2);
}

#[test]
fn nat_refusals() {
    let p = Pkt {
        vlan: None,
        src: v4(POD),
        dst: v4(PEER),
        proto: Proto::Tcp,
        sport: 1,
        dport: 2,
        payload: vec![],
    };
    let f = p.build();
    let h = parse(&f).unwrap().outer;
    let rw = |addr: Option<IpAddr>, port| NatRewrite {
        side: Side::Source,
        addr,
        port,
    };
    refused(VecFrame::new(&f), &h, EditError::FamilyMismatch, |fr, h| {
        nat(fr, h, &rw(Some(v6a(V6_POD)), None))
    });
    // Headers of another frame (here: parsed before a VLAN tag was pushed).
    let mut pushed = VecFrame::new(&f);
    push_vlan(&mut pushed, Vlan { vid: 3, pcp: 0 }).unwrap();
    refused(pushed, &h, EditError::Inconsistent, |fr, h| {
        nat(fr, h, &rw(Some(v4(PEER)), None))
    });
    // Cut short after parsing.
    let mut cut = VecFrame::new(&f);
    cut.trim_back(10);
    refused(cut, &h, EditError::Truncated, |fr, h| {
        nat(fr, h, &rw(None, Some(9)))
    });
    // A port on a packet without ports.
    let mut raw = Vec::new();
    eth()
        .ipv4(POD, PEER, 64)
        .write(&mut raw, IpNumber(132), b"sctp")
        .unwrap();
    let hr = parse(&raw).unwrap().outer;
    refused(
        VecFrame::new(&raw),
        &hr,
        EditError::NotApplicable,
        |fr, h| nat(fr, h, &rw(None, Some(9))),
    );
    // Its address is fine.
    let got = edited(&raw, |fr, h| nat(fr, h, &rw(Some(v4([1, 2, 3, 4])), None)));
    let mut want = Vec::new();
    eth()
        .ipv4([1, 2, 3, 4], PEER, 64)
        .write(&mut want, IpNumber(132), b"sctp")
        .unwrap();
    assert_eq!(got, want);
    // A fragment.
    let mut frag = udp_v4_with_ttl(64, &[]);
    frag[20] = 0x20; // more fragments
    let mut ip = etherparse::Ipv4HeaderSlice::from_slice(&frag[14..34])
        .unwrap()
        .to_header();
    ip.header_checksum = ip.calc_header_checksum();
    frag[14..34].copy_from_slice(&ip.to_bytes());
    let hf = parse(&frag).unwrap().outer;
    refused(VecFrame::new(&frag), &hf, EditError::Fragment, |fr, h| {
        nat(fr, h, &rw(Some(v4(PEER)), None))
    });
    // ARP is not IP.
    let arp = arp_request();
    let ha = parse(&arp).unwrap().outer;
    refused(
        VecFrame::new(&arp),
        &ha,
        EditError::NotApplicable,
        |fr, h| nat(fr, h, &rw(Some(v4(PEER)), None)),
    );
}

fn arp_request() -> Vec<u8> {
    let arp = etherparse::ArpPacket::new(
        etherparse::ArpHardwareId::ETHERNET,
        etherparse::EtherType::IPV4,
        etherparse::ArpOperation::REQUEST,
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
    f
}

/// One edit or reply, applied to a frame.
type Op<'a> = dyn Fn(&mut VecFrame) -> Result<(), EditError> + 'a;

fn arb_pkt() -> impl Strategy<Value = (Pkt, NatRewrite)> {
    let family = any::<bool>();
    (
        family,
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        0..3u8,
        any::<(u16, u16, u16)>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<(bool, bool, bool)>(),
        proptest::option::of(1..4095u16),
    )
        .prop_map(
            |(
                is_v6,
                a,
                b,
                c,
                proto,
                (sport, dport, port),
                payload,
                (dst, with_addr, with_port),
                vlan,
            )| {
                let addr = |o: [u8; 16]| -> IpAddr {
                    if is_v6 {
                        IpAddr::from(o)
                    } else {
                        IpAddr::from([o[0], o[1], o[2], o[3]])
                    }
                };
                let p = Pkt {
                    vlan,
                    src: addr(a),
                    dst: addr(b),
                    proto: [Proto::Tcp, Proto::Udp, Proto::Echo][usize::from(proto)],
                    sport,
                    dport,
                    payload,
                };
                let rw = NatRewrite {
                    side: if dst { Side::Destination } else { Side::Source },
                    addr: with_addr.then(|| addr(c)),
                    port: with_port.then_some(port),
                };
                (p, rw)
            },
        )
}

proptest! {
    #[test]
    fn random_nat_keeps_checksums_valid((p, rw) in arb_pkt()) {
        let got = edited(&p.build(), |f, h| nat(f, h, &rw));
        prop_assert!(verify_checksums(&got) >= 1);
        prop_assert_eq!(got, p.after(&rw).build());
    }

    #[test]
    fn every_edit_on_damaged_input_is_done_or_refused_without_change(
        edits in proptest::collection::vec((0usize..120, any::<u8>()), 0..6),
        shift in (-6i32..6, -6i32..6),
        room in (0usize..80, 0usize..16),
        (p, rw) in arb_pkt(),
    ) {
        // Parse the clean frame, then damage it and/or its headers' offsets.
        let f = p.build();
        let mut h = parse(&f).unwrap().outer;
        h.l3_offset = (i32::from(h.l3_offset) + shift.0).max(0) as u16;
        h.l4_offset = (i32::from(h.l4_offset) + shift.1).max(0) as u16;
        let mut bad = f.clone();
        for (at, byte) in edits {
            let at = at % bad.len();
            bad[at] = byte;
        }
        let from = Responder { mac: MacAddr(GW_MAC), ip: p.dst, ttl: 255 };
        let ops: [&Op; 12] = [
            &|fr| nat(fr, &h, &rw),
            &|fr| decrement_ttl(fr, &h),
            &|fr| icmp_error(fr, &h, IcmpError::TimeExceeded, &from),
            &|fr| icmp_error(fr, &h, IcmpError::TooBig { mtu: 1280 }, &from),
            &|fr| tcp_reset(fr, &h, 64),
            &|fr| echo_reply(fr, &h, 64),
            &|fr| arp_reply(fr, &h, MacAddr(GW_MAC)),
            &|fr| neighbor_advert(fr, &h, MacAddr(GW_MAC), true),
            &|fr| pop_vlan(fr).map(drop),
            &|fr| push_vlan(fr, Vlan { vid: 1, pcp: 1 }),
            &|fr| encap_geneve(fr, &captured_encap()).map(drop),
            &|fr| decap(fr, usize::from(h.l4_offset)),
        ];
        for (i, op) in ops.iter().enumerate() {
            let mut frame = VecFrame::with_room(&bad, room.0, room.1);
            let before = frame.clone();
            if op(&mut frame).is_err() {
                prop_assert_eq!(&frame, &before, "op {} changed a refused frame", i);
            }
        }
    }
}

// ---- Geneve ----

fn captured_encap() -> Encap {
    Encap {
        src_mac: MacAddr(CAPTURED_OUTER_SRC_MAC),
        dst_mac: MacAddr(CAPTURED_OUTER_DST_MAC),
        vlan: None,
        src_ip: v4(CAPTURED_OUTER_SRC),
        dst_ip: v4(CAPTURED_OUTER_DST),
        udp_src_port: CAPTURED_UDP_SRC,
        vni: 0xff0003,
        ovn: Some(OvnKeys {
            ingress: 3,
            egress: 2,
        }),
    }
}

#[test]
fn encap_reproduces_the_frame_ovn_sent() {
    let inner = captured_inner();
    let mut f = VecFrame::new(&inner);
    let inner_at = encap_geneve(&mut f, &captured_encap()).unwrap();
    let (want, want_inner_at) = geneve_frame();
    assert_eq!(inner_at, want_inner_at);
    // etherparse computed the full UDP checksum: ours equals it.
    assert_eq!(f.bytes(), &want[..]);
    assert_eq!(verify_checksums(f.bytes()), 2);
    // And OVN's own bytes, but for the UDP checksum (40-41: it covers the
    // inner payload, which the capture does not show) and the inner IPv4
    // identification (76-77).
    let captured = captured();
    for (i, (ours, theirs)) in f.bytes().iter().zip(&captured).enumerate() {
        if ![40, 41, 76, 77].contains(&i) {
            assert_eq!(ours, theirs, "byte {i}");
        }
    }
    let t = parse(f.bytes()).unwrap().tunnel.unwrap();
    assert_eq!(usize::from(t.inner_offset), inner_at);
    assert_eq!((t.vni, t.ovn), (0xff0003, captured_encap().ovn));
    // Decap gives back the inner frame.
    decap(&mut f, inner_at).unwrap();
    assert_eq!(f.bytes(), &inner[..]);
}

#[test]
fn encap_over_ipv6_with_a_vlan_tag_and_an_odd_inner_frame() {
    let mut inner = Vec::new();
    eth()
        .ipv4(POD, PEER, 63)
        .udp(1, 2)
        .write(&mut inner, b"odd")
        .unwrap();
    assert_eq!(inner.len() % 2, 1);
    let (src, dst) = (v6("fd00::1"), v6("fd00::2"));
    let e = Encap {
        vlan: Some(Vlan { vid: 20, pcp: 0 }),
        src_ip: IpAddr::from(src),
        dst_ip: IpAddr::from(dst),
        udp_src_port: 50123,
        ovn: None,
        vni: 7,
        ..captured_encap()
    };
    let mut f = VecFrame::new(&inner);
    let at = encap_geneve(&mut f, &e).unwrap();
    let mut payload = vec![0, 0, 0x65, 0x58, 0, 0, 7, 0];
    payload.extend_from_slice(&inner);
    let mut want = Vec::new();
    PacketBuilder::ethernet2(CAPTURED_OUTER_SRC_MAC, CAPTURED_OUTER_DST_MAC)
        .single_vlan(VlanId::try_new(20).unwrap())
        .ipv6(src, dst, 64)
        .udp(50123, GENEVE_PORT)
        .write(&mut want, &payload)
        .unwrap();
    assert_eq!(f.bytes(), &want[..]);
    assert_eq!(at, want.len() - inner.len());
    assert_eq!(verify_checksums(f.bytes()), 1);
}

#[test]
fn encap_refusals() {
    let inner = captured_inner();
    let h = parse(&inner).unwrap().outer;
    let e = captured_encap();
    // 14 + 20 + 8 + 16 = 58 bytes of headers.
    refused(
        VecFrame::with_room(&inner, 57, 0),
        &h,
        EditError::NoHeadroom,
        |f, _| encap_geneve(f, &e).map(drop),
    );
    let mut ok = VecFrame::with_room(&inner, 58, 0);
    assert_eq!(encap_geneve(&mut ok, &e), Ok(58));
    let mixed = Encap {
        dst_ip: v6a(V6_PEER),
        ..e
    };
    refused(
        VecFrame::new(&inner),
        &h,
        EditError::FamilyMismatch,
        |f, _| encap_geneve(f, &mixed).map(drop),
    );
    let big_vni = Encap { vni: 1 << 24, ..e };
    refused(
        VecFrame::new(&inner),
        &h,
        EditError::InvalidArgument,
        |f, _| encap_geneve(f, &big_vni).map(drop),
    );
    let too_long = vec![0u8; 65535 - 20 - 8 - 16 + 1];
    let mut f = VecFrame::with_room(&too_long, 128, 0);
    assert_eq!(encap_geneve(&mut f, &e), Err(EditError::TooLong));
    let mut f = VecFrame::new(&inner);
    assert_eq!(decap(&mut f, inner.len() - 13), Err(EditError::Truncated));
    assert_eq!(f.bytes(), &inner[..]);
}

#[test]
fn edit_errors_have_distinct_names() {
    let mut names: Vec<_> = EditError::ALL.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), EditError::ALL.len());
}

#[test]
fn inner_nat_uses_the_tunnels_offsets() {
    // NAT by the inner headers, then decap: the inner packet is rewritten.
    let (f, inner_at) = geneve_frame();
    let rw = NatRewrite {
        side: Side::Destination,
        addr: Some(v4([10, 244, 9, 9])),
        port: None,
    };
    let got = edited(&f, |fr, h| nat(fr, h, &rw));
    let mut want = Vec::new();
    PacketBuilder::ethernet2(
        [0x0a, 0x58, 0x64, 0x58, 0, 3],
        [0x0a, 0x58, 0x64, 0x58, 0, 2],
    )
    .ipv4(PEER, [10, 244, 9, 9], 63)
    .icmpv4_echo_request(0x1234, 1)
    .write(&mut want, &[0u8; 56])
    .unwrap();
    assert_eq!(&got[inner_at..], &want[..]);
}

// ---- NAT of the packet an ICMP error quotes ----

/// What kind of error quotes the packet.
#[derive(Clone, Copy, Debug)]
enum ErrKind {
    PortUnreachable,
    TooBig,
    TimeExceeded,
}

/// An ICMP(v6) error from `from` to `to` quoting the first `cut` bytes of
/// `quoted`'s IP packet (all of it when shorter), as etherparse builds it.
#[derive(Clone, Debug)]
struct ErrorFrame {
    vlan: Option<u16>,
    from: IpAddr,
    to: IpAddr,
    kind: ErrKind,
    quoted: Pkt,
    cut: usize,
}

impl ErrorFrame {
    fn quote(&self) -> Vec<u8> {
        let p = Pkt {
            vlan: None,
            ..self.quoted.clone()
        }
        .build();
        let ip = &p[14..];
        ip[..self.cut.min(ip.len())].to_vec()
    }

    fn build(&self) -> Vec<u8> {
        let quote = self.quote();
        let mut f = Vec::new();
        macro_rules! finish {
            ($e:expr) => {
                match (self.from, self.to) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => $e
                        .ipv4(s.octets(), d.octets(), 64)
                        .icmpv4(self.v4_type())
                        .write(&mut f, &quote),
                    (IpAddr::V6(s), IpAddr::V6(d)) => $e
                        .ipv6(s.octets(), d.octets(), 64)
                        .icmpv6(self.v6_type())
                        .write(&mut f, &quote),
                    _ => panic!("mixed families"),
                }
            };
        }
        match self.vlan {
            None => finish!(eth()),
            Some(vid) => finish!(eth().single_vlan(VlanId::try_new(vid).unwrap())),
        }
        .unwrap();
        f
    }

    fn v4_type(&self) -> etherparse::Icmpv4Type {
        use etherparse::icmpv4::{DestUnreachableHeader, TimeExceededCode};
        use etherparse::Icmpv4Type::*;
        match self.kind {
            ErrKind::PortUnreachable => DestinationUnreachable(DestUnreachableHeader::Port),
            ErrKind::TooBig => DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                next_hop_mtu: 1400,
            }),
            ErrKind::TimeExceeded => TimeExceeded(TimeExceededCode::TtlExceededInTransit),
        }
    }

    fn v6_type(&self) -> etherparse::Icmpv6Type {
        use etherparse::icmpv6::{DestUnreachableCode, TimeExceededCode};
        use etherparse::Icmpv6Type::*;
        match self.kind {
            ErrKind::PortUnreachable => DestinationUnreachable(DestUnreachableCode::Port),
            ErrKind::TooBig => PacketTooBig { mtu: 1280 },
            ErrKind::TimeExceeded => TimeExceeded(TimeExceededCode::HopLimitExceeded),
        }
    }

    /// The error after `rw` of its quote, as the test expects it.
    fn after(&self, rw: &NatRewrite) -> ErrorFrame {
        ErrorFrame {
            quoted: self.quoted.after(rw),
            ..self.clone()
        }
    }
}

/// Rewrites `e`'s quote by `rw`; the result must equal etherparse's build
/// of the expected error (so the quote's own checksums are right too), and
/// etherparse must find the error's checksums valid.
fn check_quoted_nat(e: &ErrorFrame, rw: &NatRewrite) {
    let got = edited(&e.build(), |f, h| nat_quoted(f, h, rw));
    assert_eq!(got, e.after(rw).build(), "{e:?} {rw:?}");
    let outer = if e.from.is_ipv6() { 1 } else { 2 };
    assert_eq!(verify_checksums(&got), outer, "{e:?} {rw:?}");
}

fn ip_header_len(addr: IpAddr) -> usize {
    if addr.is_ipv6() {
        40
    } else {
        20
    }
}

#[test]
fn quoted_nat_rewrites_every_protocol_family_and_quote_length() {
    let rws = |new| {
        [
            NatRewrite {
                side: Side::Source,
                addr: Some(new),
                port: Some(32768),
            },
            NatRewrite {
                side: Side::Destination,
                addr: Some(new),
                port: Some(80),
            },
            NatRewrite {
                side: Side::Source,
                addr: Some(new),
                port: None,
            },
            NatRewrite {
                side: Side::Destination,
                addr: None,
                port: Some(443),
            },
        ]
    };
    let cases: [(IpAddr, IpAddr, IpAddr, IpAddr); 2] = [
        (v4(POD), v4(PEER), v4([100, 64, 0, 3]), v4([192, 0, 2, 1])),
        (
            v6a(V6_POD),
            v6a(V6_PEER),
            v6a("fd69::3"),
            v6a("2001:db8::1"),
        ),
    ];
    let kinds = [
        ErrKind::PortUnreachable,
        ErrKind::TooBig,
        ErrKind::TimeExceeded,
    ];
    for (src, dst, new, router) in cases {
        let ip = ip_header_len(src);
        // RFC 792's minimum (a TCP checksum is not in it), a quote that
        // ends right after the TCP checksum, and the whole packet.
        for cut in [ip + 8, ip + 18, usize::MAX] {
            for proto in [Proto::Tcp, Proto::Udp, Proto::Echo] {
                for (kind, vlan) in kinds.into_iter().zip([None, Some(42), None]) {
                    let quoted = Pkt {
                        vlan: None,
                        src,
                        dst,
                        proto,
                        sport: 40000,
                        dport: 8080,
                        payload: b"odd".to_vec(),
                    };
                    // The error goes back to the quoted packet's source.
                    let e = ErrorFrame {
                        vlan,
                        from: router,
                        to: src,
                        kind,
                        quoted,
                        cut,
                    };
                    for rw in rws(new) {
                        check_quoted_nat(&e, &rw);
                    }
                }
            }
        }
    }
}

#[test]
fn a_minimal_tcp_quote_keeps_the_bytes_past_its_end_untouched() {
    // IP header + 8 bytes: the TCP checksum is not quoted, so nothing
    // after the ports and sequence number may be written.
    let e = ErrorFrame {
        vlan: None,
        from: v4([192, 0, 2, 1]),
        to: v4(POD),
        kind: ErrKind::TooBig,
        quoted: Pkt {
            vlan: None,
            src: v4(POD),
            dst: v4(PEER),
            proto: Proto::Tcp,
            sport: 40000,
            dport: 443,
            payload: vec![],
        },
        cut: 28,
    };
    let f = e.build();
    assert_eq!(f.len(), 14 + 20 + 8 + 28, "the frame ends with the quote");
    let rw = NatRewrite {
        side: Side::Source,
        addr: Some(v4([172, 31, 0, 12])),
        port: Some(2000),
    };
    let got = edited(&f, |fr, h| nat_quoted(fr, h, &rw));
    assert_eq!(got, e.after(&rw).build());
    let quote = &got[14 + 20 + 8..];
    assert_eq!(&quote[12..16], &[172, 31, 0, 12]);
    assert_eq!(&quote[20..22], &2000u16.to_be_bytes());
}

#[test]
fn a_checksum_cut_in_half_is_left_alone() {
    // The quote ends after the first byte of the TCP checksum: as Linux,
    // which updates a quoted checksum only when it is whole, that byte
    // stays as it was; the ports and addresses before it change.
    let e = ErrorFrame {
        vlan: None,
        from: v4([192, 0, 2, 1]),
        to: v4(POD),
        kind: ErrKind::TimeExceeded,
        quoted: Pkt {
            vlan: None,
            src: v4(POD),
            dst: v4(PEER),
            proto: Proto::Tcp,
            sport: 40000,
            dport: 443,
            payload: b"data".to_vec(),
        },
        cut: 20 + 17,
    };
    let rw = NatRewrite {
        side: Side::Destination,
        addr: Some(v4([10, 96, 0, 10])),
        port: Some(80),
    };
    let f = e.build();
    let got = edited(&f, |fr, h| nat_quoted(fr, h, &rw));
    let want = e.after(&rw).build();
    let last = f.len() - 1;
    assert_eq!(got[last], f[last], "the half checksum is untouched");
    assert_eq!(got[..34], want[..34], "outer headers");
    assert_eq!(got[38..last], want[38..last], "the quote up to the half");
    assert_eq!(verify_checksums(&got), 2);
}

#[test]
fn a_quoted_ipv4_udp_datagram_without_checksum_stays_without() {
    let e = ErrorFrame {
        vlan: None,
        from: v4(PEER),
        to: v4(POD),
        kind: ErrKind::PortUnreachable,
        quoted: Pkt {
            vlan: None,
            src: v4(POD),
            dst: v4(PEER),
            proto: Proto::Udp,
            sport: 5000,
            dport: 53,
            payload: b"query".to_vec(),
        },
        cut: usize::MAX,
    };
    // The UDP checksum lies at 14 + 20 + 8 + 20 + 6 (the ICMP checksum at
    // 14 + 20 + 2 follows the change).
    let zero = |mut f: Vec<u8>| {
        f[68..70].copy_from_slice(&[0, 0]);
        let sum = dpuflow_packet::checksum::checksum(&{
            let mut m = f[34..].to_vec();
            m[2..4].copy_from_slice(&[0, 0]);
            m
        });
        f[36..38].copy_from_slice(&sum.to_be_bytes());
        f
    };
    let rw = NatRewrite {
        side: Side::Destination,
        addr: Some(v4([10, 96, 0, 10])),
        port: Some(80),
    };
    let got = edited(&zero(e.build()), |f, h| nat_quoted(f, h, &rw));
    assert_eq!(got, zero(e.after(&rw).build()));
    assert_eq!(&got[68..70], &[0, 0]);
    assert_eq!(verify_checksums(&got), 2);
}

#[test]
fn a_quote_behind_ipv4_options_is_found() {
    let quoted = |src: [u8; 4], sport: u16| {
        let mut ip = Ipv4Header::new(0, 63, IpNumber::UDP, src, PEER).unwrap();
        ip.options = [1, 1, 1, 0].into();
        let mut f = Vec::new();
        eth()
            .ip(IpHeaders::Ipv4(ip, Default::default()))
            .udp(sport, 53)
            .write(&mut f, b"query")
            .unwrap();
        f[14..].to_vec()
    };
    let error = |quote: &[u8]| {
        let mut f = Vec::new();
        eth()
            .ipv4(PEER, POD, 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut f, quote)
            .unwrap();
        f
    };
    let rw = NatRewrite {
        side: Side::Source,
        addr: Some(v4([100, 64, 0, 2])),
        port: Some(7),
    };
    let got = edited(&error(&quoted(POD, 5000)), |f, h| nat_quoted(f, h, &rw));
    assert_eq!(got, error(&quoted([100, 64, 0, 2], 7)));
    assert_eq!(verify_checksums(&got), 2);
}

#[test]
fn quoted_nat_refusals() {
    let quoted = Pkt {
        vlan: None,
        src: v4(POD),
        dst: v4(PEER),
        proto: Proto::Udp,
        sport: 5000,
        dport: 53,
        payload: b"query".to_vec(),
    };
    let e = ErrorFrame {
        vlan: None,
        from: v4(PEER),
        to: v4(POD),
        kind: ErrKind::PortUnreachable,
        quoted: quoted.clone(),
        cut: usize::MAX,
    };
    let rw = |side, addr: Option<IpAddr>, port| NatRewrite { side, addr, port };
    let f = e.build();
    let h = parse(&f).unwrap().outer;
    // An address of the other family.
    refused(VecFrame::new(&f), &h, EditError::FamilyMismatch, |fr, h| {
        nat_quoted(fr, h, &rw(Side::Source, Some(v6a(V6_POD)), None))
    });
    // Not an ICMP error: the packet itself, and an echo request.
    let plain = quoted.build();
    let hp = parse(&plain).unwrap().outer;
    refused(
        VecFrame::new(&plain),
        &hp,
        EditError::NotApplicable,
        |fr, h| nat_quoted(fr, h, &rw(Side::Source, Some(v4(PEER)), None)),
    );
    let echo = Pkt {
        proto: Proto::Echo,
        ..quoted.clone()
    }
    .build();
    let he = parse(&echo).unwrap().outer;
    refused(
        VecFrame::new(&echo),
        &he,
        EditError::NotApplicable,
        |fr, h| nat_quoted(fr, h, &rw(Side::Source, Some(v4(PEER)), None)),
    );
    // Headers of another frame (parsed before a VLAN tag was pushed).
    let mut pushed = VecFrame::new(&f);
    push_vlan(&mut pushed, Vlan { vid: 3, pcp: 0 }).unwrap();
    refused(pushed, &h, EditError::Inconsistent, |fr, h| {
        nat_quoted(fr, h, &rw(Side::Source, Some(v4(PEER)), None))
    });
    // A quote cut inside the quoted IP header.
    let short = ErrorFrame {
        cut: 19,
        ..e.clone()
    }
    .build();
    let hs = parse(&short).unwrap().outer;
    refused(VecFrame::new(&short), &hs, EditError::Truncated, |fr, h| {
        nat_quoted(fr, h, &rw(Side::Source, Some(v4(PEER)), None))
    });
    // A quote cut before the destination port: that port is refused, the
    // source port (inside) and the addresses are not.
    let cut = ErrorFrame {
        cut: 23,
        ..e.clone()
    };
    let f23 = cut.build();
    let h23 = parse(&f23).unwrap().outer;
    refused(VecFrame::new(&f23), &h23, EditError::Truncated, |fr, h| {
        nat_quoted(fr, h, &rw(Side::Destination, None, Some(80)))
    });
    let snat = rw(Side::Source, Some(v4([1, 2, 3, 4])), Some(9));
    assert_eq!(
        edited(&f23, |fr, h| nat_quoted(fr, h, &snat)),
        cut.after(&snat).build()
    );
    // A port of a protocol without ports (SCTP); its address is fine.
    let mut sctp = Vec::new();
    eth()
        .ipv4(POD, PEER, 64)
        .write(&mut sctp, IpNumber(132), b"sctp-chunk")
        .unwrap();
    let error_v4 = |quote: &[u8]| {
        let mut f = Vec::new();
        eth()
            .ipv4(PEER, POD, 64)
            .icmpv4(e.v4_type())
            .write(&mut f, quote)
            .unwrap();
        f
    };
    let fs = error_v4(&sctp[14..]);
    let hs = parse(&fs).unwrap().outer;
    refused(
        VecFrame::new(&fs),
        &hs,
        EditError::NotApplicable,
        |fr, h| nat_quoted(fr, h, &rw(Side::Source, None, Some(9))),
    );
    let mut sctp_after = Vec::new();
    eth()
        .ipv4([1, 2, 3, 4], PEER, 64)
        .write(&mut sctp_after, IpNumber(132), b"sctp-chunk")
        .unwrap();
    assert_eq!(
        edited(&fs, |fr, h| nat_quoted(
            fr,
            h,
            &rw(Side::Source, Some(v4([1, 2, 3, 4])), None)
        )),
        error_v4(&sctp_after[14..])
    );
    // A quoted non-first fragment has no ports to rewrite.
    let mut frag = quoted.build()[14..].to_vec();
    let mut ip = etherparse::Ipv4HeaderSlice::from_slice(&frag[..20])
        .unwrap()
        .to_header();
    ip.fragment_offset = etherparse::IpFragOffset::try_new(2).unwrap();
    ip.header_checksum = ip.calc_header_checksum();
    frag[..20].copy_from_slice(&ip.to_bytes());
    let ff = error_v4(&frag);
    let hf = parse(&ff).unwrap().outer;
    refused(VecFrame::new(&ff), &hf, EditError::Fragment, |fr, h| {
        nat_quoted(fr, h, &rw(Side::Source, None, Some(9)))
    });
    // An ICMPv4 error quoting IPv6.
    let v6_quote = Pkt {
        src: v6a(V6_POD),
        dst: v6a(V6_PEER),
        ..quoted.clone()
    }
    .build();
    let fm = error_v4(&v6_quote[14..]);
    let hm = parse(&fm).unwrap().outer;
    refused(
        VecFrame::new(&fm),
        &hm,
        EditError::NotApplicable,
        |fr, h| nat_quoted(fr, h, &rw(Side::Source, None, Some(9))),
    );
}

fn arb_error() -> impl Strategy<Value = (ErrorFrame, NatRewrite)> {
    (
        arb_pkt(),
        any::<[u8; 16]>(),
        0..3u8,
        0usize..50,
        proptest::option::of(1..4095u16),
    )
        .prop_map(|((p, rw), from, kind, extra, vlan)| {
            let from = match p.src {
                IpAddr::V4(_) => IpAddr::from([from[0], from[1], from[2], from[3]]),
                IpAddr::V6(_) => IpAddr::from(from),
            };
            let e = ErrorFrame {
                vlan,
                from,
                to: p.src,
                kind: [
                    ErrKind::PortUnreachable,
                    ErrKind::TooBig,
                    ErrKind::TimeExceeded,
                ][usize::from(kind)],
                // At least the IP header and 8 bytes, as RFC 792 asks; an
                // even length (a field cut in half is left as it was, which
                // etherparse's build of the expected packet cannot show:
                // see `a_checksum_cut_in_half_is_left_alone`).
                cut: ip_header_len(p.src) + 8 + 2 * extra,
                quoted: Pkt { vlan: None, ..p },
            };
            (e, rw)
        })
}

proptest! {
    #[test]
    fn random_quoted_nat_matches_etherparse((e, rw) in arb_error()) {
        let got = edited(&e.build(), |f, h| nat_quoted(f, h, &rw));
        prop_assert!(verify_checksums(&got) >= 1);
        prop_assert_eq!(got, e.after(&rw).build());
    }

    #[test]
    fn quoted_nat_on_damaged_input_is_done_or_refused_without_change(
        edits in proptest::collection::vec((0usize..160, any::<u8>()), 0..6),
        trim in 0usize..80,
        shift in (-6i32..6, -6i32..6),
        (e, rw) in arb_error(),
    ) {
        let f = e.build();
        let mut h = parse(&f).unwrap().outer;
        h.l3_offset = (i32::from(h.l3_offset) + shift.0).max(0) as u16;
        h.l4_offset = (i32::from(h.l4_offset) + shift.1).max(0) as u16;
        let mut bad = f[..f.len() - trim.min(f.len())].to_vec();
        for (at, byte) in edits {
            if !bad.is_empty() {
                let at = at % bad.len();
                bad[at] = byte;
            }
        }
        let mut frame = VecFrame::new(&bad);
        let before = frame.clone();
        if nat_quoted(&mut frame, &h, &rw).is_err() {
            prop_assert_eq!(&frame, &before);
        }
    }
}
