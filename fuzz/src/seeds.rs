//! The seed frames of the `parse` corpus (`fuzz/corpus/parse/`), built with
//! `etherparse` so each is what its name says: the traffic a DPU of an
//! OVN-Kubernetes interconnect cluster sees (ARP, IPv4/IPv6 with TCP, UDP
//! and ICMP, VLAN and QinQ tags, IPv4 options, IPv6 extension headers,
//! fragments, Geneve with OVN's option — the frame captured between two real
//! OVN zones among them) and a few malformed ones, so the fuzzer starts with
//! every drop path covered too. The committed files are checked against
//! this list by the crate's tests, which write them when
//! `DPUFLOW_FUZZ_BLESS=1` is set.

use dpuflow_packet::geneve::{GENEVE_PORT, OVN_MULTICAST_MIN};
use dpuflow_packet::{DropReason, GeneveRepr, OvnKeys};
use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType, IpFragOffset, IpHeaders, IpNumber,
    Ipv4Extensions, Ipv4Header, PacketBuilder, VlanId,
};

/// One seed frame.
#[derive(Clone, Debug)]
pub struct Seed {
    /// File name in the corpus directory.
    pub name: &'static str,
    /// The frame.
    pub frame: Vec<u8>,
    /// What `parse` makes of it: accepted, or the reason it is dropped.
    pub expect: Result<(), DropReason>,
}

/// The transit-switch VNI of OVN interconnect's default network.
pub const TRANSIT_VNI: u32 = 0x00ff_0003;

const POD_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x05];
const GW_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01];
/// The pod subnet's gateway (source of ICMP errors).
const GW_IP: [u8; 4] = [10, 244, 1, 1];
const BROADCAST: [u8; 6] = [0xff; 6];
const POD: [u8; 4] = [10, 244, 1, 5];
const PEER: [u8; 4] = [10, 244, 2, 7];
/// fd00:10:244:1::5 and fd00:10:244:2::7.
const POD6: [u8; 16] = [0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5];
const PEER6: [u8; 16] = [0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7];
/// `rtots` MACs of node-id 3 and 2 (`0a:58` + 100.88.0.<id>).
const RTOTS3: [u8; 6] = [0x0a, 0x58, 0x64, 0x58, 0, 3];
const RTOTS2: [u8; 6] = [0x0a, 0x58, 0x64, 0x58, 0, 2];
const ENCAP3: [u8; 4] = [172, 31, 0, 1];
const ENCAP2: [u8; 4] = [172, 31, 0, 2];

/// The frame captured between two real OVN 23.03 zones, node-id 3 → node-id
/// 2, as far as `../shared/reference/ovn-ic-wire.md` quotes it (through the
/// inner IPv4 header's TTL and protocol); [`ovn_ic_capture`] completes it.
pub const OVN_IC_CAPTURE_PREFIX: [u8; 82] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0x18, 0xad, 0xb4, 0xcd, 0x46, 0x08, 0x00, // eth
    0x45, 0x00, 0x00, 0x8e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xe2, 0x1d, // outer IPv4
    0xac, 0x1f, 0x00, 0x01, 0xac, 0x1f, 0x00, 0x02, //
    0xa0, 0x2a, 0x17, 0xc1, 0x00, 0x7a, 0x1e, 0xc5, // UDP → 6081
    0x02, 0x40, 0x65, 0x58, 0xff, 0x00, 0x03, 0x00, // Geneve, VNI 0xff0003
    0x01, 0x02, 0x80, 0x01, 0x00, 0x03, 0x00, 0x02, // OVN option: 3 → 2
    0x0a, 0x58, 0x64, 0x58, 0x00, 0x02, 0x0a, 0x58, 0x64, 0x58, 0x00, 0x03, 0x08,
    0x00, // inner
    0x45, 0x00, 0x00, 0x54, 0x59, 0x4b, 0x40, 0x00, 0x3f, 0x01, // inner IPv4 (start)
];

/// The OVN interconnect capture, completed past the quoted bytes with the
/// rest of a pod's ping (the pods' addresses, checksums and echo payload
/// are ours; the lengths are the capture's).
pub fn ovn_ic_capture() -> Vec<u8> {
    let mut inner_ip = ipv4_header(PEER, POD, 63, IpNumber::ICMP);
    inner_ip.identification = 0x594b;
    // Outer Ethernet, IPv4, UDP, Geneve with its option, inner Ethernet.
    let mut frame = OVN_IC_CAPTURE_PREFIX[..72].to_vec();
    PacketBuilder::ip(IpHeaders::Ipv4(inner_ip, Ipv4Extensions::default()))
        .icmpv4_echo_request(0x0007, 1)
        .write(&mut frame, &[0x5a; 56])
        .unwrap();
    frame
}

fn ipv4_header(src: [u8; 4], dst: [u8; 4], ttl: u8, proto: IpNumber) -> Ipv4Header {
    let mut h = Ipv4Header::new(0, ttl, proto, src, dst).unwrap();
    h.dont_fragment = true;
    h
}

fn eth() -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
    // etherparse takes (source, destination): the pod sends to its gateway.
    PacketBuilder::ethernet2(POD_MAC, GW_MAC)
}

fn vid(id: u16) -> VlanId {
    VlanId::try_new(id).unwrap()
}

/// Ethernet + an IPv4 header as given (lengths and checksum filled in) +
/// `payload`: for what `PacketBuilder` has no step for (a later fragment,
/// IGMP).
fn raw_ipv4(mut h: Ipv4Header, payload: &[u8]) -> Vec<u8> {
    h.set_payload_len(payload.len()).unwrap();
    h.header_checksum = h.calc_header_checksum();
    [&GW_MAC[..], &POD_MAC, &[0x08, 0x00], &h.to_bytes(), payload].concat()
}

fn arp(op: ArpOperation, target_mac: [u8; 6]) -> ArpPacket {
    ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        op,
        &POD_MAC,
        &POD,
        &target_mac,
        &GW_IP,
    )
    .unwrap()
}

/// Writes a `PacketBuilder` chain (and its payload, if it takes one).
macro_rules! frame {
    ($builder:expr, $($payload:expr)?) => {{
        let mut f = Vec::new();
        $builder.write(&mut f, $($payload)?).unwrap();
        f
    }};
}

/// A Geneve frame from node-id 3's encap IP to node-id 2's, `geneve` being
/// the Geneve header and `inner` the encapsulated frame.
fn geneve_over_ipv4(geneve: &[u8], inner: &[u8]) -> Vec<u8> {
    let payload = [geneve, inner].concat();
    frame!(
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 3], [2, 0, 0, 0, 0, 2])
            .ipv4(ENCAP3, ENCAP2, 64)
            .udp(41002, GENEVE_PORT),
        &payload
    )
}

fn repr(ovn: Option<OvnKeys>) -> Vec<u8> {
    let r = GeneveRepr {
        vni: TRANSIT_VNI,
        ovn,
    };
    let mut b = vec![0; r.header_len()];
    assert_eq!(r.emit(&mut b), Some(b.len()));
    b
}

const KEYS_3_TO_2: Option<OvnKeys> = Some(OvnKeys {
    ingress: 3,
    egress: 2,
});

/// The inner frame of interconnect traffic: router port to router port.
fn inner_tcp() -> Vec<u8> {
    frame!(
        PacketBuilder::ethernet2(RTOTS3, RTOTS2)
            .ipv4(PEER, POD, 63)
            .tcp(43512, 8080, 1, 64240)
            .syn(),
        &[]
    )
}

/// IPv6 UDP with an extension header of `ext` (next header first) inserted
/// before UDP; `ext_proto` is its protocol number.
fn ipv6_udp_with_ext(ext_proto: u8, ext: &[u8]) -> Vec<u8> {
    let mut f = frame!(eth().ipv6(POD6, PEER6, 64).udp(40000, 5201), &[1, 2, 3, 4]);
    let udp_proto = f[20];
    let mut ext = ext.to_vec();
    ext[0] = udp_proto;
    f[20] = ext_proto;
    let payload_len = u16::from_be_bytes([f[18], f[19]]) + ext.len() as u16;
    f[18..20].copy_from_slice(&payload_len.to_be_bytes());
    f.splice(54..54, ext);
    f
}

/// Every seed, in a stable order.
pub fn parse_seeds() -> Vec<Seed> {
    let ok = |name, frame| Seed {
        name,
        frame,
        expect: Ok(()),
    };
    let drop = |name, frame, reason| Seed {
        name,
        frame,
        expect: Err(reason),
    };

    let mut ipv4_opts = ipv4_header(POD, PEER, 64, IpNumber::UDP);
    // Router alert (RFC 2113): IHL 6.
    ipv4_opts.options = [0x94, 0x04, 0x00, 0x00].into();
    let mut first_frag = ipv4_header(POD, PEER, 64, IpNumber::UDP);
    first_frag.dont_fragment = false;
    first_frag.more_fragments = true;
    let mut later_frag = first_frag.clone();
    later_frag.more_fragments = false;
    later_frag.fragment_offset = IpFragOffset::try_new(185).unwrap();
    let ip4 = |h: Ipv4Header| IpHeaders::Ipv4(h, Ipv4Extensions::default());

    let arp_broadcast = frame!(
        PacketBuilder::ethernet2(RTOTS3, BROADCAST).arp(arp(ArpOperation::REQUEST, [0; 6])),
    );
    let inner_v6 = frame!(
        PacketBuilder::ethernet2(RTOTS3, RTOTS2)
            .ipv6(PEER6, POD6, 63)
            .udp(40000, 5201),
        b"iperf"
    );
    // Two options: a foreign one (class 0xffff, 8 data bytes) before OVN's.
    let two_options = [
        &[0x05, 0x40, 0x65, 0x58, 0xff, 0x00, 0x03, 0x00][..],
        &[0xff, 0xff, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8],
        &[0x01, 0x02, 0x80, 0x01, 0x00, 0x03, 0x00, 0x02],
    ]
    .concat();
    // The option says 2 words of data, the area has room for 1.
    let option_overrun = [
        0x02, 0x40, 0x65, 0x58, 0xff, 0x00, 0x03, 0x00, 0x01, 0x02, 0x80, 0x02, 0, 3, 0, 2,
    ];
    let mut not_ethernet = repr(KEYS_3_TO_2);
    not_ethernet[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
    let mut bad_version = repr(KEYS_3_TO_2);
    bad_version[0] |= 0x40;
    let nested = frame!(
        PacketBuilder::ethernet2(RTOTS3, RTOTS2)
            .ipv4(PEER, POD, 63)
            .udp(1234, GENEVE_PORT),
        &[repr(None), inner_tcp()].concat()
    );
    let three_tags = {
        let mut f = frame!(
            eth()
                .double_vlan(vid(100), vid(200))
                .ipv4(POD, PEER, 64)
                .udp(1, 2),
            &[]
        );
        f.splice(12..12, [0x81, 0x00, 0x00, 0x2a]);
        f
    };
    let mut bad_arp = frame!(eth().arp(arp(ArpOperation::REQUEST, [0; 6])),);
    bad_arp[14..16].copy_from_slice(&[0x00, 0x06]); // IEEE 802, not Ethernet
    let mut tcp_offset = frame!(eth().ipv4(POD, PEER, 64).tcp(1, 2, 3, 4), &[]);
    tcp_offset[46] = 0x40; // data offset 4
    let mut truncated_ipv4 = frame!(eth().ipv4(POD, PEER, 64).udp(1, 2), &[]);
    truncated_ipv4.truncate(30);

    vec![
        ok(
            "arp-request",
            frame!(PacketBuilder::ethernet2(POD_MAC, BROADCAST)
                .arp(arp(ArpOperation::REQUEST, [0; 6])),),
        ),
        ok(
            "arp-reply",
            frame!(eth().arp(arp(ArpOperation::REPLY, GW_MAC)),),
        ),
        ok(
            "arp-vlan",
            frame!(eth()
                .single_vlan(vid(42))
                .arp(arp(ArpOperation::REQUEST, [0; 6])),),
        ),
        ok(
            "arp-qinq",
            frame!(eth()
                .double_vlan(vid(100), vid(42))
                .arp(arp(ArpOperation::REQUEST, [0; 6])),),
        ),
        ok(
            "ipv4-tcp-syn",
            frame!(
                eth().ipv4(POD, PEER, 64).tcp(43512, 80, 1, 64240).syn(),
                &[]
            ),
        ),
        ok(
            "ipv4-tcp-ack-data",
            frame!(
                eth()
                    .ipv4(POD, PEER, 64)
                    .tcp(43512, 80, 2, 502)
                    .ack(99)
                    .psh(),
                b"GET / HTTP/1.1\r\n\r\n"
            ),
        ),
        ok(
            "ipv4-tcp-fin",
            frame!(
                eth()
                    .ipv4(POD, PEER, 64)
                    .tcp(43512, 80, 3, 502)
                    .ack(120)
                    .fin(),
                &[]
            ),
        ),
        ok(
            "ipv4-tcp-rst",
            frame!(eth().ipv4(PEER, POD, 64).tcp(80, 43512, 9, 0).rst(), &[]),
        ),
        ok(
            "ipv4-udp-dns",
            frame!(
                eth().ipv4(POD, [10, 96, 0, 10], 64).udp(40000, 53),
                &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, b's', b'v', b'c', 0, 0, 1, 0, 1]
            ),
        ),
        ok(
            "ipv4-udp-empty",
            frame!(eth().ipv4(POD, PEER, 64).udp(40000, 9), &[]),
        ),
        ok(
            "ipv4-icmp-echo-request",
            frame!(
                eth().ipv4(POD, PEER, 64).icmpv4_echo_request(0x1234, 1),
                &[0x5a; 56]
            ),
        ),
        ok(
            "ipv4-icmp-echo-reply",
            frame!(
                eth().ipv4(PEER, POD, 64).icmpv4_echo_reply(0x1234, 1),
                &[0x5a; 56]
            ),
        ),
        ok(
            "ipv4-icmp-unreachable",
            frame!(
                eth().ipv4(GW_IP, POD, 64).icmpv4_raw(3, 3, [0; 4]),
                &[
                    0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 244, 1, 5, 10, 244, 2, 7,
                    0x9c, 0x40, 0, 53, 0, 8, 0, 0
                ]
            ),
        ),
        ok(
            "ipv4-options-udp",
            frame!(eth().ip(ip4(ipv4_opts)).udp(40000, 5201), b"opts"),
        ),
        ok(
            "ipv4-fragment-first",
            frame!(eth().ip(ip4(first_frag)).udp(40000, 5201), &[7; 24]),
        ),
        ok("ipv4-fragment-later", raw_ipv4(later_frag, &[7; 24])),
        ok(
            "ipv4-igmp-query",
            raw_ipv4(
                ipv4_header([10, 244, 1, 1], [224, 0, 0, 1], 1, IpNumber::IGMP),
                &[0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0],
            ),
        ),
        ok(
            "ipv6-tcp-syn",
            frame!(
                eth().ipv6(POD6, PEER6, 64).tcp(43512, 443, 1, 64800).syn(),
                &[]
            ),
        ),
        ok(
            "ipv6-udp",
            frame!(eth().ipv6(POD6, PEER6, 64).udp(40000, 5201), &[1, 2, 3, 4]),
        ),
        ok(
            "ipv6-icmpv6-echo-request",
            frame!(
                eth().ipv6(POD6, PEER6, 64).icmpv6_echo_request(78, 1),
                &[0x5a; 16]
            ),
        ),
        ok(
            "ipv6-icmpv6-neighbor-solicit",
            frame!(
                eth()
                    .ipv6(
                        POD6,
                        [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 7],
                        255
                    )
                    .icmpv6_raw(135, 0, [0; 4]),
                &PEER6
            ),
        ),
        ok(
            "ipv6-hop-by-hop-udp",
            ipv6_udp_with_ext(0, &[0, 0, 0x01, 0x04, 0, 0, 0, 0]),
        ),
        ok(
            "ipv6-fragment-first-udp",
            ipv6_udp_with_ext(44, &[0, 0, 0x00, 0x01, 0, 0, 0x12, 0x34]),
        ),
        ok(
            "vlan-ipv4-tcp",
            frame!(
                eth()
                    .single_vlan(vid(42))
                    .ipv4(POD, PEER, 64)
                    .tcp(43512, 80, 1, 64240)
                    .syn(),
                &[]
            ),
        ),
        ok(
            "vlan-ipv6-udp",
            frame!(
                eth()
                    .single_vlan(vid(4094))
                    .ipv6(POD6, PEER6, 64)
                    .udp(40000, 5201),
                b"v6"
            ),
        ),
        ok(
            "qinq-ipv4-udp",
            frame!(
                eth()
                    .double_vlan(vid(100), vid(200))
                    .ipv4(POD, PEER, 64)
                    .udp(40000, 5201),
                b"qinq"
            ),
        ),
        ok(
            "qinq-ipv6-icmpv6",
            frame!(
                eth()
                    .double_vlan(vid(1), vid(2))
                    .ipv6(POD6, PEER6, 64)
                    .icmpv6_echo_reply(78, 1),
                &[]
            ),
        ),
        ok(
            "other-lldp",
            [
                &BROADCAST[..],
                &POD_MAC,
                &[0x88, 0xcc],
                &[0x02, 0x07, 0x04, 0, 0, 0, 0, 0, 1, 0, 0],
            ]
            .concat(),
        ),
        ok("geneve-ovn-ic-capture", ovn_ic_capture()),
        ok(
            "geneve-ovn-tcp",
            geneve_over_ipv4(&repr(KEYS_3_TO_2), &inner_tcp()),
        ),
        ok(
            "geneve-ovn-arp-multicast",
            geneve_over_ipv4(
                &repr(Some(OvnKeys {
                    ingress: 3,
                    egress: OVN_MULTICAST_MIN,
                })),
                &arp_broadcast,
            ),
        ),
        ok(
            "geneve-ovn-inner-ipv6",
            geneve_over_ipv4(&repr(KEYS_3_TO_2), &inner_v6),
        ),
        ok(
            "geneve-no-option",
            geneve_over_ipv4(&repr(None), &inner_tcp()),
        ),
        ok(
            "geneve-two-options",
            geneve_over_ipv4(&two_options, &inner_tcp()),
        ),
        ok(
            "geneve-over-ipv6",
            frame!(
                PacketBuilder::ethernet2([2, 0, 0, 0, 0, 3], [2, 0, 0, 0, 0, 2])
                    .ipv6(POD6, PEER6, 64)
                    .udp(41002, GENEVE_PORT),
                &[repr(KEYS_3_TO_2), inner_tcp()].concat()
            ),
        ),
        ok(
            "geneve-over-vlan",
            frame!(
                PacketBuilder::ethernet2([2, 0, 0, 0, 0, 3], [2, 0, 0, 0, 0, 2])
                    .single_vlan(vid(10))
                    .ipv4(ENCAP3, ENCAP2, 64)
                    .udp(41002, GENEVE_PORT),
                &[repr(KEYS_3_TO_2), inner_tcp()].concat()
            ),
        ),
        drop(
            "err-truncated-ipv4",
            truncated_ipv4,
            DropReason::TruncatedIpv4,
        ),
        drop("err-three-vlans", three_tags, DropReason::TooManyVlans),
        drop("err-bad-arp", bad_arp, DropReason::BadArp),
        drop("err-tcp-data-offset", tcp_offset, DropReason::BadTcpHeader),
        drop(
            "err-geneve-option-overrun",
            geneve_over_ipv4(&option_overrun, &inner_tcp()),
            DropReason::BadGeneveOption,
        ),
        drop(
            "err-geneve-not-ethernet",
            geneve_over_ipv4(&not_ethernet, &inner_tcp()),
            DropReason::GeneveNotEthernet,
        ),
        drop(
            "err-geneve-version",
            geneve_over_ipv4(&bad_version, &inner_tcp()),
            DropReason::BadGeneveVersion,
        ),
        drop(
            "err-geneve-nested",
            geneve_over_ipv4(&repr(KEYS_3_TO_2), &nested),
            DropReason::NestedTunnel,
        ),
    ]
}
