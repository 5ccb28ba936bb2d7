//! Traffic for the benchmarks: pcaps of UDP/IPv4 frames spread over flows.

use std::path::Path;
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapPacket, PcapWriter};

use crate::Error;

/// Destination MAC of every frame.
const DST_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x05];
/// Source MAC of every frame.
const SRC_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x06];
/// Ethernet + IPv4 + UDP headers.
const HEADERS: usize = 14 + 20 + 8;
/// The longest frame whose IPv4 total length still fits 16 bits.
const MAX_FRAME: usize = 14 + u16::MAX as usize;

/// An Ethernet/IPv4/UDP frame of `len` bytes (60 to 65549, no FCS) for flow
/// `flow`: source IP (`10.x.y.z`) and UDP source port vary with the flow;
/// the payload is zeros. Both checksums are filled in.
pub fn udp_frame(flow: u32, len: usize) -> Result<Vec<u8>, Error> {
    let len = len.clamp(60, MAX_FRAME);
    let src = (0x0a00_0000 | (flow & 0x00ff_ffff)).to_be_bytes();
    let src_port = 1024 + (flow % 50_000) as u16;
    let builder = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv4(src, [10, 244, 1, 5], 64)
        .udp(src_port, 8080);
    let mut f = Vec::with_capacity(len);
    builder.write(&mut f, &vec![0u8; len - HEADERS])?;
    Ok(f)
}

/// Writes `flows` frames of `len` bytes, one per flow, to `path`.
pub fn write_flows(path: &Path, flows: u32, len: usize) -> Result<(), Error> {
    write_frames(path, (0..flows).map(|flow| udp_frame(flow, len)))
}

/// Writes `frames` to `path`, 100 ns apart.
pub fn write_frames(
    path: &Path,
    frames: impl IntoIterator<Item = Result<Vec<u8>, Error>>,
) -> Result<(), Error> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = PcapWriter::new(file)?;
    for (i, frame) in frames.into_iter().enumerate() {
        let frame = frame?;
        let ts = Duration::from_nanos(i as u64 * 100);
        w.write_packet(&PcapPacket::new(ts, frame.len() as u32, &frame))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use etherparse::{LinkHeader, NetHeaders, PacketHeaders, TransportHeader};

    use super::*;

    #[test]
    fn frames_are_valid_ipv4_udp() {
        let f = udp_frame(7, 64).unwrap();
        assert_eq!(f.len(), 64);
        let h = PacketHeaders::from_ethernet_slice(&f).expect("parses back");
        let Some(LinkHeader::Ethernet2(eth)) = &h.link else {
            panic!("not Ethernet II: {h:?}");
        };
        assert_eq!((eth.source, eth.destination), (SRC_MAC, DST_MAC));
        let Some(NetHeaders::Ipv4(ip, _)) = &h.net else {
            panic!("not IPv4: {h:?}");
        };
        assert_eq!(
            ip.header_checksum,
            ip.calc_header_checksum(),
            "IPv4 checksum"
        );
        assert_eq!(ip.total_len, 50);
        assert_eq!(ip.time_to_live, 64);
        assert_eq!(
            (ip.source, ip.destination),
            ([10, 0, 0, 7], [10, 244, 1, 5])
        );
        let Some(TransportHeader::Udp(udp)) = &h.transport else {
            panic!("not UDP: {h:?}");
        };
        assert_eq!((udp.source_port, udp.destination_port), (1031, 8080));
        assert_eq!(udp.length, 30);
        let payload = h.payload.slice();
        assert_eq!(payload, &[0u8; 22][..]);
        assert_eq!(
            udp.checksum,
            udp.calc_checksum_ipv4(ip, payload).expect("fits"),
            "UDP checksum"
        );
        // Flows differ in source address and port; short lengths pad to 60.
        let frame = |flow| udp_frame(flow, 64).unwrap();
        assert_ne!(frame(1)[26..30], frame(2)[26..30]);
        assert_ne!(frame(1)[34..36], frame(2)[34..36]);
        assert_eq!(udp_frame(1, 10).unwrap().len(), 60);
    }
}
