//! Traffic for the benchmarks: pcaps of UDP/IPv4 frames spread over flows.

use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapPacket, PcapWriter};

use crate::Error;

/// An Ethernet/IPv4/UDP frame of `len` bytes (>= 60, no FCS) for flow `flow`:
/// source IP and UDP ports vary with the flow.
pub fn udp_frame(flow: u32, len: usize) -> Vec<u8> {
    let len = len.max(60);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x05]);
    f[6..12].copy_from_slice(&[0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x06]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = u16::try_from(len - 14).unwrap_or(u16::MAX);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    let src = 0x0a00_0000 | (flow & 0x00ff_ffff);
    f[26..30].copy_from_slice(&src.to_be_bytes());
    f[30..34].copy_from_slice(&[10, 244, 1, 5]);
    let csum = ipv4_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f[34..36].copy_from_slice(&(1024 + (flow % 50_000) as u16).to_be_bytes());
    f[36..38].copy_from_slice(&8080u16.to_be_bytes());
    f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    f
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Writes `flows` frames of `len` bytes, one per flow, to `path`.
pub fn write_flows(path: &Path, flows: u32, len: usize) -> Result<(), Error> {
    let file = std::fs::File::create(path)?;
    let mut w = PcapWriter::new(file)?;
    for flow in 0..flows {
        let frame = udp_frame(flow, len);
        let ts = Duration::from_nanos(u64::from(flow) * 100);
        w.write_packet(&PcapPacket::new(ts, frame.len() as u32, &frame))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_valid_ipv4_udp() {
        let f = udp_frame(7, 64);
        assert_eq!(f.len(), 64);
        assert_eq!(ipv4_checksum(&f[14..34]), 0, "header checksum verifies");
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), 50);
        assert_ne!(udp_frame(1, 64)[26..30], udp_frame(2, 64)[26..30]);
    }
}
