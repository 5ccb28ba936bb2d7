//! DPDK 22.11 testpmd rendering of rules (`flow create` syntax).
//!
//! # Mask convention (the FFI compiler must produce the same bytes)
//!
//! testpmd zero-fills an item's spec/last/mask buffers, then each field
//! token writes only that field's bits:
//! * `F is V` writes V into spec and all-ones into the mask bits of F
//!   (for bit-field arguments such as `vid`, `pcp`, `tc`, `optlen` only the
//!   bits of that sub-field).
//! * `F spec V F mask M` writes V into spec and M into the mask bits of F.
//! * Either form points `item.mask` at the mask buffer, so every *other*
//!   field of that item keeps a zero mask (it is NOT the default
//!   `rte_flow_item_*_mask`).
//!
//! This renderer emits `F is V` when the model's mask is all-ones over the
//! field's width and `F spec V F mask M` otherwise; fields that are `None`
//! or have an all-zero mask are omitted. An item with no rendered field
//! (`eth`, `ipv4`, ...) gets spec = last = mask = NULL. `last` is never
//! used. Spec values are already masked (`value & mask`), so spec bytes
//! outside the mask are zero.
//!
//! Field encodings worth noting:
//! * IPv4 DSCP and ECN render as one TOS byte (`DSCP << 2 | ECN`): `tos is
//!   T` when both are matched exactly, else `tos spec T tos mask M` (DSCP
//!   alone has mask `0xfc`, ECN alone `0x03`). IPv6 likewise as `tc` (the
//!   8-bit traffic class inside `vtc_flow`, mask `0x0ff00000`).
//! * VLAN `vid`/`pcp` are sub-fields of `tci` (masks `0x0fff` / `0xe000`).
//! * `geneve-opt` always renders `class is`, `type is`, `length is` (full
//!   masks 0xffff/0xff/0xff) and, when `length > 0`, `data is 0x<words>`
//!   (or `data spec .. data mask ..`), data words big-endian; `spec.data`
//!   and `mask.data` point at `length * 4` bytes.
//! * `tag` data is host order; its `index` is always `index is N`
//!   (mask 0xff). `meta data` and `mark id` are host order.
//!
//! Actions spell out their configuration: `rss` renders `level L [types ..
//! end] [queues .. end] [key 0x..]` (func DEFAULT; `types end` = 0). A
//! field the model leaves `None` is omitted and testpmd fills in its
//! default: types `RTE_ETH_RSS_IP`, queues `0..nb_rxq` (every Rx queue),
//! no key. `count` has a zeroed `rte_flow_action_count` conf, `drop` /
//! `of_pop_vlan` / `dec_ttl` have a NULL conf.
//!
//! Raw encap/decap data live in testpmd's global buffers, filled by `set
//! raw_encap 0 ... / end_set` and `set raw_decap 0 ... / end_set`;
//! [`Rule::to_testpmd`] emits those before the `flow create` line,
//! which references them as `raw_decap index 0` / `raw_encap index 0`.
//! Every header field is spelled out so testpmd's defaults (a NULL spec is
//! replaced by the default mask!) never kick in; the bytes testpmd builds
//! equal [`TunnelEncap::encap_bytes`](super::TunnelEncap::encap_bytes) /
//! [`TunnelDecap::decap_bytes`](super::TunnelDecap::decap_bytes), but for
//! one bit: testpmd 22.11 cannot set the Geneve C flag (its `geneve` item
//! has no token for it), which an encapsulation carrying a critical option
//! (OVN's) sets, as OVN does on the wire.

use std::fmt::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::action::{Action, RssAction};
use super::field::{MacAddr, MaskBits, Masked};
use super::item::{GeneveOptMatch, Item, VLAN_PCP_MAX, VLAN_VID_MAX, VNI_MAX};
use super::rule::Rule;
use super::tunnel::HeaderLayer;

/// Index of testpmd's raw encap/decap buffers used by the rendering.
pub const RAW_BUFFER_INDEX: u16 = 0;

/// Every testpmd command one rule needs, in the order to run them: the
/// `set raw_decap 0 ...` / `set raw_encap 0 ...` buffers its `raw_decap` /
/// `raw_encap` actions reference, then its `flow create` line. `Display`
/// prints them one per line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TestpmdCommands {
    lines: Vec<String>,
}

impl TestpmdCommands {
    /// The commands, one per entry, `flow create` last.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The commands as string slices.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.lines.iter().map(String::as_str)
    }

    /// The `flow create <port> ...` line (the last command).
    pub fn flow_create(&self) -> &str {
        self.lines.last().map_or("", String::as_str)
    }
}

impl fmt::Display for TestpmdCommands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(line)?;
        }
        Ok(())
    }
}

impl IntoIterator for TestpmdCommands {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;
    fn into_iter(self) -> Self::IntoIter {
        self.lines.into_iter()
    }
}

impl<'a> IntoIterator for &'a TestpmdCommands {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.lines.iter()
    }
}

impl Rule {
    /// Every testpmd command that creates this rule on `port_id`: the
    /// `set raw_decap` / `set raw_encap` buffers (index 0) its raw
    /// decap/encap actions reference, then `flow create <port_id> ...`.
    pub fn to_testpmd(&self, port_id: u16) -> TestpmdCommands {
        let mut lines = Vec::with_capacity(3);
        for action in &self.actions {
            if let Action::RawDecap(d) = action {
                // `set raw_decap 0 end_set` for an empty buffer.
                lines.push(set_raw("raw_decap", &d.layers()));
            }
        }
        for action in &self.actions {
            if let Action::RawEncap(e) = action {
                lines.push(set_raw("raw_encap", &e.layers()));
            }
        }
        lines.push(format!("flow create {port_id} {self}"));
        TestpmdCommands { lines }
    }
}

/// `group G priority P <direction> pattern ... / end actions ... / end`:
/// the rule in testpmd's syntax for messages and logs. It is not a command
/// (no `flow create <port>`, and raw encap/decap actions name buffers it
/// does not fill): [`Rule::to_testpmd`] gives the commands.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.attr;
        write!(
            f,
            "group {} priority {} {} pattern ",
            a.group, a.priority, a.direction
        )?;
        for item in &self.pattern {
            write!(f, "{} / ", item_text(item))?;
        }
        f.write_str("end actions ")?;
        for action in &self.actions {
            write!(f, "{} / ", action_text(action))?;
        }
        f.write_str("end")
    }
}

fn set_raw(what: &str, layers: &[HeaderLayer]) -> String {
    let mut s = format!("set {what} {RAW_BUFFER_INDEX} ");
    for layer in layers {
        s.push_str(&layer_text(layer));
        s.push_str(" / ");
    }
    s.push_str("end_set");
    s
}

/// Appends one field in `is` or `spec`/`mask` form.
fn field<T: MaskBits>(
    s: &mut String,
    name: &str,
    f: &Option<Masked<T>>,
    full: T,
    show: impl Fn(T) -> String,
) {
    let Some(m) = f else { return };
    if m.is_wildcard() {
        return;
    }
    if m.mask() == full {
        let _ = write!(s, " {name} is {}", show(m.value()));
    } else {
        let _ = write!(
            s,
            " {name} spec {} {name} mask {}",
            show(m.value()),
            show(m.mask())
        );
    }
}

fn dec<T: fmt::Display>(v: T) -> String {
    v.to_string()
}

fn hex<T: fmt::LowerHex>(v: T) -> String {
    format!("{v:#x}")
}

fn hex4(v: u16) -> String {
    format!("{v:#06x}")
}

fn mac(v: MacAddr) -> String {
    v.to_string()
}

fn ip4(v: Ipv4Addr) -> String {
    v.to_string()
}

fn ip6(v: Ipv6Addr) -> String {
    v.to_string()
}

fn item_text(item: &Item) -> String {
    let mut s = String::from(item.kind().testpmd_name());
    match item {
        Item::RepresentedPort(ethdev_port_id) => {
            let _ = write!(s, " ethdev_port_id is {ethdev_port_id}");
        }
        Item::PortRepresentor(port_id) => {
            let _ = write!(s, " port_id is {port_id}");
        }
        Item::Eth(m) => {
            field(&mut s, "dst", &m.dst, MacAddr::FULL, mac);
            field(&mut s, "src", &m.src, MacAddr::FULL, mac);
            field(&mut s, "type", &m.ether_type, u16::MAX, hex4);
        }
        Item::Vlan(m) => {
            field(&mut s, "vid", &m.vid, VLAN_VID_MAX, dec);
            field(&mut s, "pcp", &m.pcp, VLAN_PCP_MAX, dec);
            field(&mut s, "inner_type", &m.inner_type, u16::MAX, hex4);
        }
        Item::Ipv4(m) => {
            field(&mut s, "tos", &m.tos_byte(), u8::MAX, hex);
            field(&mut s, "ttl", &m.ttl, u8::MAX, dec);
            field(&mut s, "proto", &m.proto, u8::MAX, dec);
            field(&mut s, "src", &m.src, Ipv4Addr::FULL, ip4);
            field(&mut s, "dst", &m.dst, Ipv4Addr::FULL, ip4);
        }
        Item::Ipv6(m) => {
            field(&mut s, "tc", &m.traffic_class_byte(), u8::MAX, hex);
            field(&mut s, "proto", &m.proto, u8::MAX, dec);
            field(&mut s, "hop", &m.hop_limit, u8::MAX, dec);
            field(&mut s, "src", &m.src, Ipv6Addr::FULL, ip6);
            field(&mut s, "dst", &m.dst, Ipv6Addr::FULL, ip6);
        }
        Item::Tcp(m) => {
            field(&mut s, "src", &m.src_port, u16::MAX, dec);
            field(&mut s, "dst", &m.dst_port, u16::MAX, dec);
            field(&mut s, "flags", &m.flags, u8::MAX, hex);
        }
        Item::Udp(m) => {
            field(&mut s, "src", &m.src_port, u16::MAX, dec);
            field(&mut s, "dst", &m.dst_port, u16::MAX, dec);
        }
        Item::Icmp(m) => {
            field(&mut s, "type", &m.icmp_type, u8::MAX, dec);
            field(&mut s, "code", &m.code, u8::MAX, dec);
            field(&mut s, "ident", &m.ident, u16::MAX, dec);
        }
        Item::Icmp6(m) => {
            field(&mut s, "type", &m.icmp_type, u8::MAX, dec);
            field(&mut s, "code", &m.code, u8::MAX, dec);
        }
        Item::Geneve(m) => {
            field(&mut s, "vni", &m.vni, VNI_MAX, dec);
            field(&mut s, "protocol", &m.protocol, u16::MAX, hex4);
        }
        Item::GeneveOpt(o) => geneve_opt_text(&mut s, o),
        Item::Vxlan(m) => field(&mut s, "vni", &m.vni, VNI_MAX, dec),
        Item::Meta(m) => field(&mut s, "data", &Some(*m), u32::MAX, hex),
        Item::Tag { index, data } => {
            field(&mut s, "data", &Some(*data), u32::MAX, hex);
            let _ = write!(s, " index is {index}");
        }
        Item::Mark(id) => {
            let _ = write!(s, " id is {id}");
        }
    }
    s
}

fn words_hex(words: impl Iterator<Item = u32>) -> String {
    let mut s = String::from("0x");
    for w in words {
        let _ = write!(s, "{w:08x}");
    }
    s
}

fn geneve_opt_text(s: &mut String, o: &GeneveOptMatch) {
    let _ = write!(
        s,
        " class is {} type is {:#04x} length is {}",
        hex4(o.class),
        o.option_type,
        o.length
    );
    if o.data.is_empty() {
        return;
    }
    let spec = words_hex(o.data.iter().map(|m| m.value()));
    if o.data.iter().all(|m| m.mask() == u32::MAX) {
        let _ = write!(s, " data is {spec}");
    } else {
        let mask = words_hex(o.data.iter().map(|m| m.mask()));
        let _ = write!(s, " data spec {spec} data mask {mask}");
    }
}

fn rss_text(r: &RssAction) -> String {
    let mut s = format!("rss level {}", r.level);
    if let Some(types) = &r.types {
        s.push_str(" types");
        for t in types {
            let _ = write!(s, " {}", t.testpmd_name());
        }
        s.push_str(" end");
    }
    if let Some(queues) = &r.queues {
        s.push_str(" queues");
        for q in queues {
            let _ = write!(s, " {q}");
        }
        s.push_str(" end");
    }
    if let Some(key) = &r.key {
        s.push_str(" key 0x");
        for b in key {
            let _ = write!(s, "{b:02x}");
        }
    }
    s
}

fn action_text(action: &Action) -> String {
    let name = action.kind().testpmd_name();
    match action {
        Action::Drop | Action::Count | Action::PopVlan | Action::DecTtl => name.to_string(),
        Action::Queue(q) => format!("{name} index {q}"),
        Action::Rss(r) => rss_text(r),
        Action::RepresentedPort(p) => format!("{name} ethdev_port_id {p}"),
        Action::PortRepresentor(p) => format!("{name} port_id {p}"),
        Action::Jump(g) => format!("{name} group {g}"),
        Action::Mark(id) => format!("{name} id {id}"),
        Action::SetTag { index, data, mask } => {
            format!("{name} data {data:#x} mask {mask:#x} index {index}")
        }
        Action::SetMeta { data, mask } => format!("{name} data {data:#x} mask {mask:#x}"),
        Action::RawEncap(_) | Action::RawDecap(_) => format!("{name} index {RAW_BUFFER_INDEX}"),
        Action::PushVlan { ether_type } => format!("{name} ethertype {}", hex4(*ether_type)),
        Action::SetVlanVid(v) => format!("{name} vlan_vid {v}"),
        Action::SetVlanPcp(p) => format!("{name} vlan_pcp {p}"),
        Action::SetMacSrc(m) | Action::SetMacDst(m) => format!("{name} mac_addr {m}"),
        Action::SetIpv4Src(a) | Action::SetIpv4Dst(a) => format!("{name} ipv4_addr {a}"),
        Action::SetIpv6Src(a) | Action::SetIpv6Dst(a) => format!("{name} ipv6_addr {a}"),
        Action::SetTpSrc(p) | Action::SetTpDst(p) => format!("{name} port {p}"),
        Action::Age { timeout } => format!("{name} timeout {timeout}"),
        Action::Meter(id) => format!("{name} mtr_id {id}"),
    }
}

/// A `set raw_*` item for one header layer; every byte of the header is
/// either spelled out or fixed by testpmd's `update_fields` (IPv4 IHL,
/// IPv6 version, VXLAN flags).
fn layer_text(layer: &HeaderLayer) -> String {
    match layer {
        HeaderLayer::Eth { dst, src, ether_type } => {
            format!("eth dst is {dst} src is {src} type is {}", hex4(*ether_type))
        }
        HeaderLayer::Vlan { tci, inner_type } => {
            format!("vlan tci is {tci} inner_type is {}", hex4(*inner_type))
        }
        HeaderLayer::Ipv4 { src, dst, ttl, tos, fragment_offset } => format!(
            "ipv4 version_ihl is 0x45 tos is {tos} fragment_offset is {} ttl is {ttl} proto is 17 src is {src} dst is {dst}",
            hex4(*fragment_offset)
        ),
        HeaderLayer::Ipv6 { src, dst, hop_limit, traffic_class } => format!(
            "ipv6 tc is {traffic_class} proto is 17 hop is {hop_limit} src is {src} dst is {dst}"
        ),
        HeaderLayer::Udp { src, dst } => format!("udp src is {src} dst is {dst}"),
        // testpmd 22.11's geneve item has no token for the O/C flags
        // (only vni, protocol, optlen): a critical header renders without
        // its C flag, the one bit of an encapsulation testpmd cannot build.
        HeaderLayer::Geneve { vni, protocol, opt_len_words, .. } => format!(
            "geneve vni is {vni} protocol is {} optlen is {opt_len_words}",
            hex4(*protocol)
        ),
        HeaderLayer::GeneveOpt { class, option_type, data } => {
            let mut s = format!(
                "geneve-opt class is {} type is {option_type:#04x} length is {}",
                hex4(*class),
                data.len()
            );
            if !data.is_empty() {
                let _ = write!(s, " data is {}", words_hex(data.iter().copied()));
            }
            s
        }
        HeaderLayer::Vxlan { vni } => format!("vxlan vni is {vni}"),
    }
}
