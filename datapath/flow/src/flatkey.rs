//! Flat fixed-layout encoding of packets and rule patterns for the
//! tuple-space classifier.
//!
//! A packet encodes to `KEY_WORDS` words holding every field plus presence
//! bits; a rule pattern encodes to a (value, mask) pair over the same
//! layout, so "rule matches packet" is `packet & mask == value` word by
//! word. Presence bits make an item without fields still require its
//! header (e.g. `ipv4` sets the "L3 is IPv4" bits).

use super::field::{MaskBits, Masked};
use super::item::{GeneveOptMatch, Item};
use super::packet::{HeaderKey, InPort, L3Header, L4Header, PacketKey, TunnelKind};

/// Bytes of the flat key.
const KEY_BYTES: usize = 200;
/// 64-bit words of the flat key.
pub(crate) const KEY_WORDS: usize = KEY_BYTES / 8;

/// A flat key (packet fields, rule values or rule masks).
pub(crate) type Words = [u64; KEY_WORDS];

// Global section.
const G_FLAGS: usize = 0;
const G_PORT: usize = 2;
const G_META: usize = 4;
const G_MARK: usize = 8;
const G_VNI: usize = 12;
const G_PROTO: usize = 16;
const G_OPT_CLASS: usize = 18;
const G_OPT_TYPE: usize = 20;
const G_OPT_LEN: usize = 21;
const G_OPT_DATA: usize = 24;
const G_TAGS: usize = 40;
// Header stacks.
const OUTER: usize = 72;
const INNER: usize = 136;
// Offsets inside a stack.
const S_FLAGS: usize = 0;
const S_ETH_DST: usize = 1;
const S_ETH_SRC: usize = 7;
const S_ETH_TYPE: usize = 13;
const S_VLAN_TCI: usize = 16;
const S_VLAN_INNER: usize = 18;
const S_PROTO: usize = 20;
const S_TTL: usize = 21;
const S_TOS: usize = 22;
const S_SRC: usize = 24;
const S_DST: usize = 40;
const S_L4_SRC: usize = 56;
const S_L4_DST: usize = 58;
const S_TCP_FLAGS: usize = 60;
const S_ICMP_TYPE: usize = 61;
const S_ICMP_CODE: usize = 62;
/// The ICMP echo identifier shares the port slot: a stack's L4 flags tell
/// TCP/UDP from ICMP, so the two never meet in one key.
const S_ICMP_IDENT: usize = S_L4_SRC;

// Global flag bits.
const F_PORT_MASK: u8 = 0b11;
const F_PORT_REPRESENTED: u8 = 0b01;
const F_PORT_REPRESENTOR: u8 = 0b10;
const F_MARK: u8 = 1 << 2;
const F_TUNNEL_MASK: u8 = 0b11 << 3;
const F_TUNNEL_GENEVE: u8 = 1 << 3;
const F_TUNNEL_VXLAN: u8 = 2 << 3;
const F_OPT: u8 = 1 << 5;
// Stack flag bits.
const SF_ETH: u8 = 1;
const SF_VLAN: u8 = 1 << 1;
const SF_L3_MASK: u8 = 0b11 << 2;
const SF_L3_V4: u8 = 1 << 2;
const SF_L3_V6: u8 = 2 << 2;
const SF_L4_MASK: u8 = 0b111 << 4;
const SF_TCP: u8 = 1 << 4;
const SF_UDP: u8 = 2 << 4;
const SF_ICMP: u8 = 3 << 4;
const SF_ICMP6: u8 = 4 << 4;

/// A byte buffer being filled, converted to words at the end.
struct Buf([u8; KEY_BYTES]);

impl Buf {
    fn new() -> Self {
        Buf([0; KEY_BYTES])
    }

    /// ORs `bytes` in at `off` (out-of-range writes are dropped; offsets are
    /// constants of this module).
    fn or(&mut self, off: usize, bytes: &[u8]) {
        if let Some(dst) = self.0.get_mut(off..off + bytes.len()) {
            for (d, s) in dst.iter_mut().zip(bytes) {
                *d |= s;
            }
        }
    }

    fn words(&self) -> Words {
        let mut w = [0u64; KEY_WORDS];
        for (word, chunk) in w.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_ne_bytes(b);
        }
        w
    }
}

/// Encodes every field of a packet.
pub(crate) fn packet_words(k: &PacketKey) -> Words {
    let mut b = Buf::new();
    match k.in_port {
        Some(InPort::RepresentedPort(p)) => {
            b.or(G_FLAGS, &[F_PORT_REPRESENTED]);
            b.or(G_PORT, &p.to_be_bytes());
        }
        Some(InPort::PortRepresentor(p)) => {
            b.or(G_FLAGS, &[F_PORT_REPRESENTOR]);
            b.or(G_PORT, &p.to_be_bytes());
        }
        None => {}
    }
    if let Some(mark) = k.mark {
        b.or(G_FLAGS, &[F_MARK]);
        b.or(G_MARK, &mark.to_be_bytes());
    }
    b.or(G_META, &k.meta.to_be_bytes());
    for (i, tag) in k.tags.iter().enumerate() {
        b.or(G_TAGS + 4 * i, &tag.to_be_bytes());
    }
    if let Some(t) = &k.tunnel {
        let kind = match t.kind {
            TunnelKind::Geneve => F_TUNNEL_GENEVE,
            TunnelKind::Vxlan => F_TUNNEL_VXLAN,
        };
        b.or(G_FLAGS, &[kind]);
        b.or(G_VNI, &vni3(t.vni));
        b.or(G_PROTO, &t.protocol.to_be_bytes());
        if let Some(o) = &t.option {
            b.or(G_FLAGS, &[F_OPT]);
            b.or(G_OPT_CLASS, &o.class.to_be_bytes());
            b.or(G_OPT_TYPE, &[o.option_type]);
            b.or(G_OPT_LEN, &[o.length]);
            for (i, w) in o.data.iter().enumerate() {
                b.or(G_OPT_DATA + 4 * i, &w.to_be_bytes());
            }
        }
    }
    stack_words(&mut b, OUTER, &k.outer);
    stack_words(&mut b, INNER, &k.inner);
    b.words()
}

fn vni3(vni: u32) -> [u8; 3] {
    let [_, a, c, d] = vni.to_be_bytes();
    [a, c, d]
}

fn stack_words(b: &mut Buf, base: usize, h: &HeaderKey) {
    let mut flags = 0u8;
    if let Some(e) = &h.eth {
        flags |= SF_ETH;
        b.or(base + S_ETH_DST, &e.dst.0);
        b.or(base + S_ETH_SRC, &e.src.0);
        b.or(base + S_ETH_TYPE, &e.ether_type.to_be_bytes());
    }
    if let Some(v) = &h.vlan {
        flags |= SF_VLAN;
        b.or(base + S_VLAN_TCI, &tci(v.vid, v.pcp).to_be_bytes());
        b.or(base + S_VLAN_INNER, &v.inner_type.to_be_bytes());
    }
    match &h.l3 {
        L3Header::V4(ip) => {
            flags |= SF_L3_V4;
            b.or(base + S_SRC, &ip.src.octets());
            b.or(base + S_DST, &ip.dst.octets());
            b.or(base + S_PROTO, &[ip.proto, ip.ttl, tos(ip.dscp, ip.ecn)]);
        }
        L3Header::V6(ip) => {
            flags |= SF_L3_V6;
            b.or(base + S_SRC, &ip.src.octets());
            b.or(base + S_DST, &ip.dst.octets());
            b.or(
                base + S_PROTO,
                &[ip.proto, ip.hop_limit, tos(ip.dscp, ip.ecn)],
            );
        }
        L3Header::None => {}
    }
    flags |= l4_words(b, base, &h.l4);
    b.or(base + S_FLAGS, &[flags]);
}

fn l4_words(b: &mut Buf, base: usize, l4: &L4Header) -> u8 {
    match *l4 {
        L4Header::Tcp { src, dst, flags } => {
            b.or(base + S_L4_SRC, &src.to_be_bytes());
            b.or(base + S_L4_DST, &dst.to_be_bytes());
            b.or(base + S_TCP_FLAGS, &[flags]);
            SF_TCP
        }
        L4Header::Udp { src, dst } => {
            b.or(base + S_L4_SRC, &src.to_be_bytes());
            b.or(base + S_L4_DST, &dst.to_be_bytes());
            SF_UDP
        }
        L4Header::Icmp {
            icmp_type,
            code,
            ident,
        } => {
            b.or(base + S_ICMP_TYPE, &[icmp_type, code]);
            b.or(base + S_ICMP_IDENT, &ident.to_be_bytes());
            SF_ICMP
        }
        L4Header::Icmp6 { icmp_type, code } => {
            b.or(base + S_ICMP_TYPE, &[icmp_type, code]);
            SF_ICMP6
        }
        L4Header::None => 0,
    }
}

fn tci(vid: u16, pcp: u8) -> u16 {
    (u16::from(pcp & 0x7) << 13) | (vid & 0x0fff)
}

/// A rule pattern being encoded: value and mask buffers.
struct RuleBuf {
    value: Buf,
    mask: Buf,
}

impl RuleBuf {
    fn bits(&mut self, off: usize, value: u8, mask: u8) {
        self.value.or(off, &[value & mask]);
        self.mask.or(off, &[mask]);
    }

    fn bytes(&mut self, off: usize, value: &[u8], mask: &[u8]) {
        let mut v = [0u8; 16];
        for ((o, a), m) in v.iter_mut().zip(value).zip(mask) {
            *o = a & m;
        }
        self.value.or(off, v.get(..value.len()).unwrap_or(&[]));
        self.mask.or(off, mask);
    }

    fn exact(&mut self, off: usize, value: &[u8]) {
        self.value.or(off, value);
        self.mask
            .or(off, [0xff; 16].get(..value.len()).unwrap_or(&[]));
    }

    fn field<T: MaskBits, const N: usize>(
        &mut self,
        off: usize,
        f: &Option<Masked<T>>,
        enc: impl Fn(T) -> [u8; N],
    ) {
        if let Some(m) = f {
            self.bytes(off, &enc(m.value()), &enc(m.mask()));
        }
    }
}

/// Encodes a (validated) pattern as `(value, mask)`.
pub(crate) fn rule_words(pattern: &[Item]) -> (Words, Words) {
    let mut rb = RuleBuf {
        value: Buf::new(),
        mask: Buf::new(),
    };
    let mut base = OUTER;
    for item in pattern {
        encode_item(&mut rb, base, item);
        if matches!(item, Item::Geneve(_) | Item::Vxlan(_)) {
            base = INNER;
        }
    }
    (rb.value.words(), rb.mask.words())
}

fn be16(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

/// The TOS / traffic-class byte of a header key.
fn tos(dscp: u8, ecn: u8) -> u8 {
    (dscp << 2) | (ecn & 3)
}

fn u8b(v: u8) -> [u8; 1] {
    [v]
}

fn encode_item(rb: &mut RuleBuf, base: usize, item: &Item) {
    match item {
        Item::RepresentedPort(ethdev_port_id) => {
            rb.bits(G_FLAGS, F_PORT_REPRESENTED, F_PORT_MASK);
            rb.exact(G_PORT, &ethdev_port_id.to_be_bytes());
        }
        Item::PortRepresentor(port_id) => {
            rb.bits(G_FLAGS, F_PORT_REPRESENTOR, F_PORT_MASK);
            rb.exact(G_PORT, &port_id.to_be_bytes());
        }
        Item::Eth(m) => {
            rb.bits(base + S_FLAGS, SF_ETH, SF_ETH);
            rb.field(base + S_ETH_DST, &m.dst, |v| v.0);
            rb.field(base + S_ETH_SRC, &m.src, |v| v.0);
            rb.field(base + S_ETH_TYPE, &m.ether_type, be16);
        }
        Item::Vlan(m) => {
            rb.bits(base + S_FLAGS, SF_VLAN, SF_VLAN);
            rb.field(base + S_VLAN_TCI, &m.vid, |v| be16(v & 0x0fff));
            rb.field(base + S_VLAN_TCI, &m.pcp, |v| be16(u16::from(v & 7) << 13));
            rb.field(base + S_VLAN_INNER, &m.inner_type, be16);
        }
        Item::Ipv4(m) => {
            rb.bits(base + S_FLAGS, SF_L3_V4, SF_L3_MASK);
            rb.field(base + S_SRC, &m.src, |v| v.octets());
            rb.field(base + S_DST, &m.dst, |v| v.octets());
            rb.field(base + S_PROTO, &m.proto, u8b);
            rb.field(base + S_TTL, &m.ttl, u8b);
            rb.field(base + S_TOS, &m.tos_byte(), u8b);
        }
        Item::Ipv6(m) => {
            rb.bits(base + S_FLAGS, SF_L3_V6, SF_L3_MASK);
            rb.field(base + S_SRC, &m.src, |v| v.octets());
            rb.field(base + S_DST, &m.dst, |v| v.octets());
            rb.field(base + S_PROTO, &m.proto, u8b);
            rb.field(base + S_TTL, &m.hop_limit, u8b);
            rb.field(base + S_TOS, &m.traffic_class_byte(), u8b);
        }
        _ => encode_upper_item(rb, base, item),
    }
}

fn encode_upper_item(rb: &mut RuleBuf, base: usize, item: &Item) {
    match item {
        Item::Tcp(m) => {
            rb.bits(base + S_FLAGS, SF_TCP, SF_L4_MASK);
            rb.field(base + S_L4_SRC, &m.src_port, be16);
            rb.field(base + S_L4_DST, &m.dst_port, be16);
            rb.field(base + S_TCP_FLAGS, &m.flags, u8b);
        }
        Item::Udp(m) => {
            rb.bits(base + S_FLAGS, SF_UDP, SF_L4_MASK);
            rb.field(base + S_L4_SRC, &m.src_port, be16);
            rb.field(base + S_L4_DST, &m.dst_port, be16);
        }
        Item::Icmp(m) => {
            rb.bits(base + S_FLAGS, SF_ICMP, SF_L4_MASK);
            rb.field(base + S_ICMP_TYPE, &m.icmp_type, u8b);
            rb.field(base + S_ICMP_CODE, &m.code, u8b);
            rb.field(base + S_ICMP_IDENT, &m.ident, be16);
        }
        Item::Icmp6(m) => {
            rb.bits(base + S_FLAGS, SF_ICMP6, SF_L4_MASK);
            rb.field(base + S_ICMP_TYPE, &m.icmp_type, u8b);
            rb.field(base + S_ICMP_CODE, &m.code, u8b);
        }
        Item::Geneve(m) => {
            rb.bits(G_FLAGS, F_TUNNEL_GENEVE, F_TUNNEL_MASK);
            rb.field(G_VNI, &m.vni, vni3);
            rb.field(G_PROTO, &m.protocol, be16);
        }
        Item::Vxlan(m) => {
            rb.bits(G_FLAGS, F_TUNNEL_VXLAN, F_TUNNEL_MASK);
            rb.field(G_VNI, &m.vni, vni3);
        }
        Item::GeneveOpt(o) => encode_geneve_opt(rb, o),
        Item::Meta(m) => rb.field(G_META, &Some(*m), be32),
        Item::Tag { index, data } => {
            rb.field(G_TAGS + 4 * usize::from(*index), &Some(*data), be32);
        }
        Item::Mark(id) => {
            rb.bits(G_FLAGS, F_MARK, F_MARK);
            rb.exact(G_MARK, &id.to_be_bytes());
        }
        _ => {}
    }
}

fn encode_geneve_opt(rb: &mut RuleBuf, o: &GeneveOptMatch) {
    rb.bits(G_FLAGS, F_OPT, F_OPT);
    rb.exact(G_OPT_CLASS, &o.class.to_be_bytes());
    rb.exact(G_OPT_TYPE, &[o.option_type]);
    rb.exact(G_OPT_LEN, &[o.length]);
    for (i, w) in o.data.iter().enumerate() {
        rb.field(G_OPT_DATA + 4 * i, &Some(*w), be32);
    }
}
