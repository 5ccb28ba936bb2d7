//! Seeds of the `pipeline` corpus: short sequences of frames that the
//! fixture's cluster (`crate::pipeline::tables`) accepts — a pod's ARP for
//! its gateway, connections pod→pod, pod→service, pod→remote pod,
//! pod→outside and their replies, Geneve from the remote node, a node
//! port from the uplink on the node network's VLAN — so the fuzzer starts
//! deep in every path rather than at port security.

use etherparse::{PacketBuilder, VlanId};

const A_MAC: [u8; 6] = [0x0a, 0x58, 10, 244, 2, 5];
const B_MAC: [u8; 6] = [0x0a, 0x58, 10, 244, 2, 6];
const GW_MAC: [u8; 6] = [0x0a, 0x58, 10, 244, 2, 1];
const UPLINK_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const NODE_B_MAC: [u8; 6] = [2, 0, 0, 0, 0, 3];
const NEXT_HOP_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xfe];
const A: [u8; 4] = [10, 244, 2, 5];
const B: [u8; 4] = [10, 244, 2, 6];

/// Port selectors (see `crate::pipeline::PORTS`).
const UPLINK: u8 = 0;
const POD_A: u8 = 1;
const POD_B: u8 = 2;

fn tcp(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    syn: bool,
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src, dst, 64)
        .tcp(sport, dport, 1, 1024);
    let b = if syn { b.syn() } else { b.ack(2) };
    let mut out = Vec::new();
    let _ = b.write(&mut out, b"seed");
    out
}

fn record(port: u8, frame: &[u8]) -> Vec<u8> {
    let mut out = vec![port];
    out.extend_from_slice(&(frame.len() as u16).to_be_bytes());
    out.extend_from_slice(frame);
    out
}

fn geneve_from_node_b(inner: &[u8]) -> Vec<u8> {
    let mut payload = vec![
        0x02, 0x40, 0x65, 0x58, 0xff, 0x00, 0x03, 0x00, 0x01, 0x02, 0x80, 0x01, 0x00, 0x03, 0x00,
        0x02,
    ];
    payload.extend_from_slice(inner);
    let mut out = Vec::new();
    let _ = PacketBuilder::ethernet2(NODE_B_MAC, UPLINK_MAC)
        .ipv4([172, 31, 0, 3], [172, 31, 0, 2], 64)
        .udp(50000, 6081)
        .write(&mut out, &payload);
    out
}

/// Every seed: a name and the input bytes.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let rtots3 = [0x0a, 0x58, 100, 88, 0, 3];
    let rtots2 = [0x0a, 0x58, 100, 88, 0, 2];
    let mut arp = Vec::new();
    let _ = PacketBuilder::ethernet2(A_MAC, [0xff; 6])
        .arp(
            etherparse::ArpPacket::new(
                etherparse::ArpHardwareId::ETHERNET,
                etherparse::EtherType::IPV4,
                etherparse::ArpOperation::REQUEST,
                &A_MAC,
                &A,
                &[0; 6],
                &[10, 244, 2, 1],
            )
            .unwrap_or_else(|_| unreachable!("valid ARP")),
        )
        .write(&mut arp);
    let mut node_port = Vec::new();
    let _ = PacketBuilder::ethernet2(NEXT_HOP_MAC, UPLINK_MAC)
        .single_vlan(VlanId::try_new(100).unwrap_or_else(|_| unreachable!("valid VLAN")))
        .ipv4([198, 51, 100, 7], [172, 31, 0, 12], 60)
        .tcp(5555, 30080, 1, 1024)
        .syn()
        .write(&mut node_port, b"np");
    let concat = |parts: &[Vec<u8>]| parts.concat();
    vec![
        ("arp-for-gateway", record(POD_A, &arp)),
        (
            "pod-to-pod-and-reply",
            concat(&[
                record(POD_A, &tcp(A_MAC, GW_MAC, A, B, 40000, 8080, true)),
                record(POD_B, &tcp(B_MAC, GW_MAC, B, A, 8080, 40000, false)),
            ]),
        ),
        (
            "pod-to-service",
            record(
                POD_A,
                &tcp(A_MAC, GW_MAC, A, [10, 96, 0, 10], 40001, 80, true),
            ),
        ),
        (
            "pod-to-remote-pod",
            record(
                POD_A,
                &tcp(A_MAC, GW_MAC, A, [10, 244, 3, 7], 40002, 8080, true),
            ),
        ),
        (
            "pod-to-outside-and-reply",
            concat(&[
                record(
                    POD_A,
                    &tcp(A_MAC, GW_MAC, A, [198, 51, 100, 7], 2000, 443, true),
                ),
                record(
                    UPLINK,
                    &tcp(
                        NEXT_HOP_MAC,
                        UPLINK_MAC,
                        [198, 51, 100, 7],
                        [172, 31, 0, 12],
                        443,
                        2000,
                        false,
                    ),
                ),
            ]),
        ),
        (
            "geneve-to-pod",
            record(
                UPLINK,
                &geneve_from_node_b(&tcp(rtots3, rtots2, [10, 244, 3, 7], A, 8080, 40003, true)),
            ),
        ),
        ("node-port-on-vlan", record(UPLINK, &node_port)),
    ]
}
