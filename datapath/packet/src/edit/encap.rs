//! Geneve encapsulation as OVN interconnect sends it, and decapsulation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dpuflow_net::MacAddr;

use crate::checksum;
use crate::edit::eth::{tci, TPID_8021Q};
use crate::edit::EditError;
use crate::frame::Frame;
use crate::geneve::{GeneveRepr, OvnKeys, GENEVE_PORT};
use crate::ip::{put16, write_ipv4, write_ipv6, DEFAULT_TTL, ETH_IPV4, ETH_IPV6, PROTO_UDP};
use crate::parse::Vlan;

/// The outer headers of a Geneve tunnel packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encap {
    /// Outer source MAC (our uplink).
    pub src_mac: MacAddr,
    /// Outer destination MAC (the next hop towards `dst_ip`).
    pub dst_mac: MacAddr,
    /// An 802.1Q tag on the outer frame.
    pub vlan: Option<Vlan>,
    /// Our encap IP (the one published in `k8s.ovn.org/node-encap-ips`).
    pub src_ip: IpAddr,
    /// The peer's encap IP; same family as `src_ip`.
    pub dst_ip: IpAddr,
    /// UDP source port: a hash of the inner flow, for the fabric's ECMP.
    pub udp_src_port: u16,
    /// Virtual network identifier (24 bits).
    pub vni: u32,
    /// OVN's logical port keys (always present between zones).
    pub ovn: Option<OvnKeys>,
}

/// The outer addresses, of one family.
enum Outer {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

/// Wraps the whole frame in Ethernet (+ 802.1Q), IPv4 (TTL 64, DF,
/// identification 0) or IPv6 (hop limit 64), UDP to port 6081 with a full
/// checksum (over the pseudo-header, Geneve and the inner frame, as OVN
/// sends it) and the Geneve header [`GeneveRepr::emit`] writes. Returns the
/// offset of the inner frame.
///
/// # Errors
/// [`EditError::FamilyMismatch`] when the addresses are of two families,
/// [`EditError::InvalidArgument`] for a VNI above 2^24 - 1 or a bad tag,
/// [`EditError::Truncated`] for a frame shorter than an Ethernet header,
/// [`EditError::TooLong`] when the result exceeds a length field,
/// [`EditError::NoHeadroom`] when the headers do not fit in front.
pub fn encap_geneve<F: Frame + ?Sized>(frame: &mut F, encap: &Encap) -> Result<usize, EditError> {
    let addrs = match (encap.src_ip, encap.dst_ip) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => Outer::V4(src, dst),
        (IpAddr::V6(src), IpAddr::V6(dst)) => Outer::V6(src, dst),
        _ => return Err(EditError::FamilyMismatch),
    };
    let v6 = matches!(addrs, Outer::V6(..));
    if encap.vni > 0x00ff_ffff {
        return Err(EditError::InvalidArgument);
    }
    let tag = encap.vlan.map(tci).transpose()?;
    let inner_len = frame.len();
    if inner_len < 14 {
        return Err(EditError::Truncated);
    }
    let geneve = GeneveRepr {
        vni: encap.vni,
        ovn: encap.ovn,
    };
    let eth_len = 14 + if tag.is_some() { 4 } else { 0 };
    let ip_len = if v6 { 40 } else { 20 };
    let udp_len = 8 + geneve.header_len() + inner_len;
    let ip_total = if v6 { udp_len } else { ip_len + udp_len };
    let (Ok(udp_len16), Ok(ip_total16)) = (u16::try_from(udp_len), u16::try_from(ip_total)) else {
        return Err(EditError::TooLong);
    };
    let outer = eth_len + ip_len + 8 + geneve.header_len();
    if !frame.push_front(outer) {
        return Err(EditError::NoHeadroom);
    }
    let b = frame.bytes_mut();

    b[..6].copy_from_slice(&encap.dst_mac.0);
    b[6..12].copy_from_slice(&encap.src_mac.0);
    if let Some(tci) = tag {
        put16(b, 12, TPID_8021Q);
        put16(b, 14, tci);
    }
    put16(b, eth_len - 2, if v6 { ETH_IPV6 } else { ETH_IPV4 });

    let l3 = eth_len;
    let udp = l3 + ip_len;
    let pseudo = match addrs {
        Outer::V4(src, dst) => {
            write_ipv4(&mut b[l3..], ip_total16, DEFAULT_TTL, PROTO_UDP, src, dst);
            checksum::pseudo_header_v4(src, dst, PROTO_UDP, udp_len16)
        }
        Outer::V6(src, dst) => {
            write_ipv6(&mut b[l3..], ip_total16, PROTO_UDP, DEFAULT_TTL, src, dst);
            checksum::pseudo_header_v6(src, dst, PROTO_UDP, u32::from(udp_len16))
        }
    };

    put16(b, udp, encap.udp_src_port);
    put16(b, udp + 2, GENEVE_PORT);
    put16(b, udp + 4, udp_len16);
    put16(b, udp + 6, 0);
    // The option area was sized from this same repr: emit cannot fall short.
    geneve.emit(&mut b[udp + 8..]);
    let sum = checksum::finish(checksum::add(pseudo, checksum::sum(&b[udp..])));
    put16(b, udp + 6, if sum == 0 { 0xffff } else { sum });
    Ok(outer)
}

/// Strips the outer headers of a tunnel packet: the frame becomes the
/// encapsulated one at `inner_offset` ([`crate::Tunnel::inner_offset`]).
///
/// # Errors
/// [`EditError::Truncated`] when less than an Ethernet header follows
/// `inner_offset`.
pub fn decap<F: Frame + ?Sized>(frame: &mut F, inner_offset: usize) -> Result<(), EditError> {
    if inner_offset.saturating_add(14) > frame.len() || !frame.pull_front(inner_offset) {
        return Err(EditError::Truncated);
    }
    Ok(())
}
