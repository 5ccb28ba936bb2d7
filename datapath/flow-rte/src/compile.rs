//! Compiles a [`Rule`] into the `rte_flow_attr` + item + action arrays that
//! rte_flow reads, exactly as testpmd's flow parser would build them from
//! [`Rule::to_testpmd`] (proven by the recorder cross-check).
//!
//! Every spec, mask and conf lives in one bump arena owned by the
//! [`RteRule`]; DPDK may read them for as long as the `RteRule` lives. The
//! conventions mirrored from testpmd (see `flow::render`): a field that is
//! not matched leaves spec and mask zero; an item without matched fields has
//! NULL spec/mask; `last` is always NULL; count has a zeroed conf; drop,
//! of_pop_vlan and dec_ttl have none.

use std::ffi::c_void;
use std::ptr;

use bumpalo::Bump;
use dpuflow_sys as sys;

use dpuflow_flow::field::{MaskBits, Masked};
use dpuflow_flow::item::{GeneveOptMatch, Item};
use dpuflow_flow::{Action, Direction, Rule, RuleError};

/// Arena bytes reserved per rule: a typical OVN rule needs ~360 B of
/// specs, masks and confs (what `rte_flow_conv` reports); bumpalo rounds the
/// chunk up, and a larger rule simply gets a second chunk.
const ARENA_BYTES: usize = 384;

/// A rule no rte_flow array can express.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The rule failed [`Rule::validate`].
    #[error("invalid rule: {0}")]
    Invalid(#[from] RuleError),
    /// An RSS action over every Rx queue compiled without knowing the
    /// port's queue count (use [`RteRule::compile_for`]).
    #[error("action {index} (rss) spreads over every Rx queue: compile it for a port (RteRule::compile_for)")]
    RxQueuesUnknown {
        /// Action index.
        index: usize,
    },
}

/// What compiling needs to know of the port a rule is created on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortContext {
    /// Rx queues configured on the port: an RSS action without a queue
    /// list spreads over `0..rx_queues`, as testpmd builds it.
    pub rx_queues: u16,
}

/// A compiled rule: arrays ready for `rte_flow_validate`/`create`, with the
/// storage they point into.
pub struct RteRule {
    attr: sys::rte_flow_attr,
    items: Vec<sys::rte_flow_item>,
    actions: Vec<sys::rte_flow_action>,
    /// Action masks for an actions template: same types, zeroed confs (every
    /// value supplied per rule).
    action_masks: Vec<sys::rte_flow_action>,
    /// Item types + mask bytes: what a pattern template is keyed by.
    shape: Vec<u8>,
    _arena: Bump,
}

// SAFETY: the raw pointers in the arrays point only into `_arena`, which the
// RteRule owns and never shares; moving the whole value to another thread
// moves that ownership with it (bump chunks are heap blocks that do not move).
unsafe impl Send for RteRule {}

impl std::fmt::Debug for RteRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RteRule")
            .field("items", &self.items.len())
            .field("actions", &self.actions.len())
            .finish()
    }
}

impl RteRule {
    /// Validates `rule` and builds its rte_flow arrays, for any port.
    ///
    /// # Errors
    /// [`CompileError::Invalid`] naming the offending item or action;
    /// [`CompileError::RxQueuesUnknown`] for RSS over every Rx queue (that
    /// needs [`RteRule::compile_for`]).
    pub fn compile(rule: &Rule) -> Result<Self, CompileError> {
        Self::build(rule, None)
    }

    /// Validates `rule` and builds its rte_flow arrays for a port described
    /// by `port`.
    ///
    /// # Errors
    /// [`CompileError::Invalid`] naming the offending item or action.
    pub fn compile_for(rule: &Rule, port: PortContext) -> Result<Self, CompileError> {
        Self::build(rule, Some(port))
    }

    fn build(rule: &Rule, port: Option<PortContext>) -> Result<Self, CompileError> {
        rule.validate()?;
        if port.is_none() {
            if let Some(index) = all_queues_rss(rule) {
                return Err(CompileError::RxQueuesUnknown { index });
            }
        }
        let rx_queues = port.map_or(0, |p| p.rx_queues);
        let arena = Bump::with_capacity(ARENA_BYTES);
        let mut shape = Vec::with_capacity(64);
        let mut items = Vec::with_capacity(rule.pattern.len() + 1);
        for item in &rule.pattern {
            items.push(compile_item(&arena, item, &mut shape));
        }
        items.push(raw_item(
            sys::RTE_FLOW_ITEM_TYPE_END,
            ptr::null(),
            ptr::null(),
        ));
        let mut actions = Vec::with_capacity(rule.actions.len() + 1);
        let mut action_masks = Vec::with_capacity(rule.actions.len() + 1);
        for action in &rule.actions {
            let (a, m) = compile_action(&arena, action, rx_queues);
            actions.push(a);
            action_masks.push(m);
        }
        let end = sys::rte_flow_action {
            type_: sys::RTE_FLOW_ACTION_TYPE_END,
            conf: ptr::null(),
        };
        actions.push(end);
        action_masks.push(end);
        Ok(Self {
            attr: attr_of(rule),
            items,
            actions,
            action_masks,
            shape,
            _arena: arena,
        })
    }

    /// The attributes.
    pub fn attr(&self) -> &sys::rte_flow_attr {
        &self.attr
    }

    /// The END-terminated pattern.
    pub fn items(&self) -> &[sys::rte_flow_item] {
        &self.items
    }

    /// The END-terminated actions.
    pub fn actions(&self) -> &[sys::rte_flow_action] {
        &self.actions
    }

    /// The END-terminated action masks for an actions template.
    pub fn action_masks(&self) -> &[sys::rte_flow_action] {
        &self.action_masks
    }

    /// Sets the context every AGE action reports when the rule ages out.
    pub fn set_age_context(&mut self, context: usize) {
        for a in &self.actions {
            if a.type_ == sys::RTE_FLOW_ACTION_TYPE_AGE && !a.conf.is_null() {
                let age = a.conf.cast::<sys::rte_flow_action_age>().cast_mut();
                // SAFETY: AGE confs are rte_flow_action_age values in our
                // arena, exclusively owned through `&mut self`.
                unsafe { (*age).context = context as *mut c_void };
            }
        }
    }

    /// Bytes identifying the pattern's item types and masks (rules with equal
    /// shapes share a pattern template).
    pub fn pattern_shape(&self) -> &[u8] {
        &self.shape
    }

    /// The action types in order (rules with equal lists share an actions
    /// template).
    pub fn action_types(&self) -> impl Iterator<Item = u32> + '_ {
        self.actions.iter().map(|a| a.type_)
    }
}

/// The index of an RSS action over every Rx queue, if the rule has one.
pub(crate) fn all_queues_rss(rule: &Rule) -> Option<usize> {
    rule.actions
        .iter()
        .position(|a| matches!(a, Action::Rss(r) if r.queues.is_none()))
}

fn attr_of(rule: &Rule) -> sys::rte_flow_attr {
    let mut attr = sys::rte_flow_attr {
        group: rule.attr.group,
        priority: rule.attr.priority,
        ..Default::default()
    };
    match rule.attr.direction {
        Direction::Ingress => attr.set_ingress(1),
        Direction::Egress => attr.set_egress(1),
        Direction::Transfer => attr.set_transfer(1),
    }
    attr
}

fn raw_item(type_: u32, spec: *const c_void, mask: *const c_void) -> sys::rte_flow_item {
    sys::rte_flow_item {
        type_,
        spec,
        last: ptr::null(),
        mask,
    }
}

/// Places `value` in the arena and returns a C pointer to it.
fn put<T>(arena: &Bump, value: T) -> *const c_void {
    ptr::from_mut(arena.alloc(value)).cast_const().cast()
}

/// Spec and mask of a matched field, converted to its wire form.
fn pick<T: MaskBits, U>(f: &Option<Masked<T>>, conv: impl Fn(T) -> U) -> Option<(U, U)> {
    f.filter(|m| !m.is_wildcard())
        .map(|m| (conv(m.value()), conv(m.mask())))
}

/// Sets a spec and a mask field (places, possibly in packed structs) from an
/// optional model field; both stay zero when it is not matched.
macro_rules! set {
    ($f:expr, $spec:expr, $mask:expr, $conv:expr) => {
        if let Some((s, k)) = pick($f, $conv) {
            $spec = s;
            $mask = k;
        }
    };
}

fn be16(v: u16) -> u16 {
    v.to_be()
}

fn be32(v: std::net::Ipv4Addr) -> u32 {
    u32::from(v).to_be()
}

fn vni_bytes(v: u32) -> [u8; 3] {
    let b = v.to_be_bytes();
    [b[1], b[2], b[3]]
}

fn ether(mac: dpuflow_flow::MacAddr) -> sys::rte_ether_addr {
    sys::rte_ether_addr { addr_bytes: mac.0 }
}

/// Builds one item, appending its type and mask bytes to `shape`.
fn compile_item(arena: &Bump, item: &Item, shape: &mut Vec<u8>) -> sys::rte_flow_item {
    let type_ = item_type(item);
    shape.extend_from_slice(&type_.to_le_bytes());
    if !item.has_fields() {
        return raw_item(type_, ptr::null(), ptr::null());
    }
    let (spec, mask) = match item {
        Item::RepresentedPort(id) | Item::PortRepresentor(id) => {
            let spec = sys::rte_flow_item_ethdev { port_id: *id };
            let mask = sys::rte_flow_item_ethdev { port_id: u16::MAX };
            pair(arena, shape, spec, mask)
        }
        Item::Eth(m) => {
            let (mut s, mut k) = (sys::rte_ether_hdr::default(), sys::rte_ether_hdr::default());
            set!(&m.dst, s.dst_addr, k.dst_addr, ether);
            set!(&m.src, s.src_addr, k.src_addr, ether);
            set!(&m.ether_type, s.ether_type, k.ether_type, be16);
            let (mut spec, mut mask) = (
                sys::rte_flow_item_eth::default(),
                sys::rte_flow_item_eth::default(),
            );
            spec.__bindgen_anon_1.hdr = s;
            mask.__bindgen_anon_1.hdr = k;
            pair(arena, shape, spec, mask)
        }
        Item::Vlan(m) => {
            let (mut s, mut k) = (sys::rte_vlan_hdr::default(), sys::rte_vlan_hdr::default());
            let (mut tci_s, mut tci_k) = (0u16, 0u16);
            set!(&m.vid, tci_s, tci_k, |v| v);
            let (mut pcp_s, mut pcp_k) = (0u16, 0u16);
            set!(&m.pcp, pcp_s, pcp_k, |v| u16::from(v) << 13);
            s.vlan_tci = (tci_s | pcp_s).to_be();
            k.vlan_tci = (tci_k | pcp_k).to_be();
            set!(&m.inner_type, s.eth_proto, k.eth_proto, be16);
            let (mut spec, mut mask) = (
                sys::rte_flow_item_vlan::default(),
                sys::rte_flow_item_vlan::default(),
            );
            spec.__bindgen_anon_1.hdr = s;
            mask.__bindgen_anon_1.hdr = k;
            pair(arena, shape, spec, mask)
        }
        Item::Ipv4(m) => {
            let (mut s, mut k) = (sys::rte_ipv4_hdr::default(), sys::rte_ipv4_hdr::default());
            set!(&m.tos_byte(), s.type_of_service, k.type_of_service, |t| t);
            set!(&m.ttl, s.time_to_live, k.time_to_live, |v| v);
            set!(&m.proto, s.next_proto_id, k.next_proto_id, |v| v);
            set!(&m.src, s.src_addr, k.src_addr, be32);
            set!(&m.dst, s.dst_addr, k.dst_addr, be32);
            let spec = sys::rte_flow_item_ipv4 { hdr: s };
            let mask = sys::rte_flow_item_ipv4 { hdr: k };
            pair(arena, shape, spec, mask)
        }
        Item::Ipv6(m) => {
            let (mut s, mut k) = (sys::rte_ipv6_hdr::default(), sys::rte_ipv6_hdr::default());
            set!(&m.traffic_class_byte(), s.vtc_flow, k.vtc_flow, |tc| {
                (u32::from(tc) << 20).to_be()
            });
            set!(&m.proto, s.proto, k.proto, |v| v);
            set!(&m.hop_limit, s.hop_limits, k.hop_limits, |v| v);
            set!(&m.src, s.src_addr, k.src_addr, |a| a.octets());
            set!(&m.dst, s.dst_addr, k.dst_addr, |a| a.octets());
            let spec = sys::rte_flow_item_ipv6 {
                hdr: s,
                ..Default::default()
            };
            let mask = sys::rte_flow_item_ipv6 {
                hdr: k,
                ..Default::default()
            };
            pair(arena, shape, spec, mask)
        }
        Item::Tcp(m) => {
            let (mut s, mut k) = (sys::rte_tcp_hdr::default(), sys::rte_tcp_hdr::default());
            set!(&m.src_port, s.src_port, k.src_port, be16);
            set!(&m.dst_port, s.dst_port, k.dst_port, be16);
            set!(&m.flags, s.tcp_flags, k.tcp_flags, |v| v);
            pair(
                arena,
                shape,
                sys::rte_flow_item_tcp { hdr: s },
                sys::rte_flow_item_tcp { hdr: k },
            )
        }
        Item::Udp(m) => {
            let (mut s, mut k) = (sys::rte_udp_hdr::default(), sys::rte_udp_hdr::default());
            set!(&m.src_port, s.src_port, k.src_port, be16);
            set!(&m.dst_port, s.dst_port, k.dst_port, be16);
            pair(
                arena,
                shape,
                sys::rte_flow_item_udp { hdr: s },
                sys::rte_flow_item_udp { hdr: k },
            )
        }
        Item::Icmp(m) => {
            let (mut s, mut k) = (sys::rte_icmp_hdr::default(), sys::rte_icmp_hdr::default());
            set!(&m.icmp_type, s.icmp_type, k.icmp_type, |v| v);
            set!(&m.code, s.icmp_code, k.icmp_code, |v| v);
            // `hdr.icmp_ident`, big-endian on the wire (testpmd `ident`).
            set!(&m.ident, s.icmp_ident, k.icmp_ident, be16);
            pair(
                arena,
                shape,
                sys::rte_flow_item_icmp { hdr: s },
                sys::rte_flow_item_icmp { hdr: k },
            )
        }
        Item::Icmp6(m) => {
            let (mut s, mut k) = (
                sys::rte_flow_item_icmp6::default(),
                sys::rte_flow_item_icmp6::default(),
            );
            set!(&m.icmp_type, s.type_, k.type_, |v| v);
            set!(&m.code, s.code, k.code, |v| v);
            pair(arena, shape, s, k)
        }
        Item::Geneve(m) => {
            let (mut s, mut k) = (
                sys::rte_flow_item_geneve::default(),
                sys::rte_flow_item_geneve::default(),
            );
            set!(&m.vni, s.vni, k.vni, vni_bytes);
            set!(&m.protocol, s.protocol, k.protocol, be16);
            pair(arena, shape, s, k)
        }
        Item::GeneveOpt(o) => geneve_opt(arena, o, shape),
        Item::Vxlan(m) => {
            let (mut s, mut k) = (
                sys::rte_flow_item_vxlan::default(),
                sys::rte_flow_item_vxlan::default(),
            );
            let (mut vs, mut vk) = ([0u8; 3], [0u8; 3]);
            set!(&m.vni, vs, vk, vni_bytes);
            s.__bindgen_anon_1.__bindgen_anon_1 =
                sys::rte_flow_item_vxlan__bindgen_ty_1__bindgen_ty_1 {
                    vni: vs,
                    ..Default::default()
                };
            k.__bindgen_anon_1.__bindgen_anon_1 =
                sys::rte_flow_item_vxlan__bindgen_ty_1__bindgen_ty_1 {
                    vni: vk,
                    ..Default::default()
                };
            pair(arena, shape, s, k)
        }
        Item::Meta(m) => {
            let spec = sys::rte_flow_item_meta { data: m.value() };
            let mask = sys::rte_flow_item_meta { data: m.mask() };
            pair(arena, shape, spec, mask)
        }
        Item::Tag { index, data } => {
            let spec = sys::rte_flow_item_tag {
                data: data.value(),
                index: *index,
            };
            let mask = sys::rte_flow_item_tag {
                data: data.mask(),
                index: u8::MAX,
            };
            pair(arena, shape, spec, mask)
        }
        Item::Mark(id) => {
            let spec = sys::rte_flow_item_mark { id: *id };
            let mask = sys::rte_flow_item_mark { id: u32::MAX };
            pair(arena, shape, spec, mask)
        }
    };
    raw_item(type_, spec, mask)
}

/// Places spec and mask in the arena and records the mask bytes in `shape`.
fn pair<T: Copy>(
    arena: &Bump,
    shape: &mut Vec<u8>,
    spec: T,
    mask: T,
) -> (*const c_void, *const c_void) {
    let mask_ptr = put(arena, mask);
    // SAFETY: `mask_ptr` points at a live, initialised `T` in the arena; its
    // bytes (padding included, zeroed by Default) are only read here.
    let bytes =
        unsafe { std::slice::from_raw_parts(mask_ptr.cast::<u8>(), std::mem::size_of::<T>()) };
    shape.extend_from_slice(bytes);
    (put(arena, spec), mask_ptr)
}

fn geneve_opt(
    arena: &Bump,
    o: &GeneveOptMatch,
    shape: &mut Vec<u8>,
) -> (*const c_void, *const c_void) {
    let words = |f: fn(&Masked<u32>) -> u32| -> *mut u32 {
        if o.data.is_empty() {
            return ptr::null_mut();
        }
        arena
            .alloc_slice_fill_iter(o.data.iter().map(|w| f(w).to_be()))
            .as_mut_ptr()
    };
    let spec = sys::rte_flow_item_geneve_opt {
        option_class: o.class.to_be(),
        option_type: o.option_type,
        option_len: o.length,
        data: words(Masked::value),
    };
    let mask = sys::rte_flow_item_geneve_opt {
        option_class: u16::MAX,
        option_type: u8::MAX,
        option_len: u8::MAX,
        data: words(Masked::mask),
    };
    shape.extend_from_slice(&o.class.to_be_bytes());
    shape.push(o.option_type);
    shape.push(o.length);
    for w in &o.data {
        shape.extend_from_slice(&w.mask().to_be_bytes());
    }
    (put(arena, spec), put(arena, mask))
}

fn item_type(item: &Item) -> u32 {
    match item {
        Item::RepresentedPort(_) => sys::RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT,
        Item::PortRepresentor(_) => sys::RTE_FLOW_ITEM_TYPE_PORT_REPRESENTOR,
        Item::Eth(_) => sys::RTE_FLOW_ITEM_TYPE_ETH,
        Item::Vlan(_) => sys::RTE_FLOW_ITEM_TYPE_VLAN,
        Item::Ipv4(_) => sys::RTE_FLOW_ITEM_TYPE_IPV4,
        Item::Ipv6(_) => sys::RTE_FLOW_ITEM_TYPE_IPV6,
        Item::Tcp(_) => sys::RTE_FLOW_ITEM_TYPE_TCP,
        Item::Udp(_) => sys::RTE_FLOW_ITEM_TYPE_UDP,
        Item::Icmp(_) => sys::RTE_FLOW_ITEM_TYPE_ICMP,
        Item::Icmp6(_) => sys::RTE_FLOW_ITEM_TYPE_ICMP6,
        Item::Geneve(_) => sys::RTE_FLOW_ITEM_TYPE_GENEVE,
        Item::GeneveOpt(_) => sys::RTE_FLOW_ITEM_TYPE_GENEVE_OPT,
        Item::Vxlan(_) => sys::RTE_FLOW_ITEM_TYPE_VXLAN,
        Item::Meta(_) => sys::RTE_FLOW_ITEM_TYPE_META,
        Item::Tag { .. } => sys::RTE_FLOW_ITEM_TYPE_TAG,
        Item::Mark(_) => sys::RTE_FLOW_ITEM_TYPE_MARK,
    }
}

/// Builds one action and its template mask (same type, zeroed conf).
fn compile_action(
    arena: &Bump,
    action: &Action,
    rx_queues: u16,
) -> (sys::rte_flow_action, sys::rte_flow_action) {
    let (type_, conf, mask): (u32, *const c_void, *const c_void) = match action {
        Action::Drop => (sys::RTE_FLOW_ACTION_TYPE_DROP, ptr::null(), ptr::null()),
        Action::PopVlan => (
            sys::RTE_FLOW_ACTION_TYPE_OF_POP_VLAN,
            ptr::null(),
            ptr::null(),
        ),
        Action::DecTtl => (sys::RTE_FLOW_ACTION_TYPE_DEC_TTL, ptr::null(), ptr::null()),
        Action::Count => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_COUNT,
            sys::rte_flow_action_count::default(),
        ),
        Action::Queue(index) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_QUEUE,
            sys::rte_flow_action_queue { index: *index },
        ),
        Action::Rss(r) => {
            let key = r
                .key
                .as_deref()
                .map_or(ptr::null(), |k| arena.alloc_slice_copy(k).as_ptr());
            // testpmd always points `queue` at its array, even when empty.
            let queues = r.queue_list(rx_queues);
            let rss = sys::rte_flow_action_rss {
                func: sys::RTE_ETH_HASH_FUNCTION_DEFAULT,
                level: r.level,
                types: r.types_bits(),
                key_len: r
                    .key
                    .as_ref()
                    .map_or(0, |k| u32::try_from(k.len()).unwrap_or(u32::MAX)),
                queue_num: u32::try_from(queues.len()).unwrap_or(u32::MAX),
                key,
                queue: arena.alloc_slice_copy(&queues).as_ptr(),
            };
            conf(arena, sys::RTE_FLOW_ACTION_TYPE_RSS, rss)
        }
        Action::RepresentedPort(p) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT,
            sys::rte_flow_action_ethdev { port_id: *p },
        ),
        Action::PortRepresentor(p) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR,
            sys::rte_flow_action_ethdev { port_id: *p },
        ),
        Action::Jump(group) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_JUMP,
            sys::rte_flow_action_jump { group: *group },
        ),
        Action::Mark(id) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_MARK,
            sys::rte_flow_action_mark { id: *id },
        ),
        Action::SetTag { index, data, mask } => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_TAG,
            sys::rte_flow_action_set_tag {
                data: *data,
                mask: *mask,
                index: *index,
            },
        ),
        Action::SetMeta { data, mask } => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_META,
            sys::rte_flow_action_set_meta {
                data: *data,
                mask: *mask,
            },
        ),
        Action::RawEncap(e) => {
            let bytes = arena.alloc_slice_copy(&e.encap_bytes());
            let raw = sys::rte_flow_action_raw_encap {
                size: bytes.len(),
                data: bytes.as_mut_ptr(),
                preserve: ptr::null_mut(),
            };
            conf(arena, sys::RTE_FLOW_ACTION_TYPE_RAW_ENCAP, raw)
        }
        Action::RawDecap(d) => {
            let bytes = arena.alloc_slice_copy(&d.decap_bytes());
            let raw = sys::rte_flow_action_raw_decap {
                size: bytes.len(),
                data: bytes.as_mut_ptr(),
            };
            conf(arena, sys::RTE_FLOW_ACTION_TYPE_RAW_DECAP, raw)
        }
        Action::PushVlan { ether_type } => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN,
            sys::rte_flow_action_of_push_vlan {
                ethertype: ether_type.to_be(),
            },
        ),
        Action::SetVlanVid(v) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID,
            sys::rte_flow_action_of_set_vlan_vid {
                vlan_vid: v.to_be(),
            },
        ),
        Action::SetVlanPcp(p) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP,
            sys::rte_flow_action_of_set_vlan_pcp { vlan_pcp: *p },
        ),
        Action::SetMacSrc(m) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_MAC_SRC,
            sys::rte_flow_action_set_mac { mac_addr: m.0 },
        ),
        Action::SetMacDst(m) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_MAC_DST,
            sys::rte_flow_action_set_mac { mac_addr: m.0 },
        ),
        Action::SetIpv4Src(a) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC,
            sys::rte_flow_action_set_ipv4 {
                ipv4_addr: be32(*a),
            },
        ),
        Action::SetIpv4Dst(a) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_IPV4_DST,
            sys::rte_flow_action_set_ipv4 {
                ipv4_addr: be32(*a),
            },
        ),
        Action::SetIpv6Src(a) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC,
            sys::rte_flow_action_set_ipv6 {
                ipv6_addr: a.octets(),
            },
        ),
        Action::SetIpv6Dst(a) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_IPV6_DST,
            sys::rte_flow_action_set_ipv6 {
                ipv6_addr: a.octets(),
            },
        ),
        Action::SetTpSrc(p) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_TP_SRC,
            sys::rte_flow_action_set_tp { port: p.to_be() },
        ),
        Action::SetTpDst(p) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_SET_TP_DST,
            sys::rte_flow_action_set_tp { port: p.to_be() },
        ),
        Action::Age { timeout } => {
            let mut age = sys::rte_flow_action_age::default();
            age.set_timeout(*timeout);
            let slot = arena.alloc(age);
            // A non-NULL context identifies the rule in aged-flow reports
            // (as testpmd does); FlowTable replaces it with the handle.
            slot.context = ptr::from_mut(slot).cast();
            let conf = ptr::from_mut(slot).cast_const().cast();
            (
                sys::RTE_FLOW_ACTION_TYPE_AGE,
                conf,
                put(arena, sys::rte_flow_action_age::default()),
            )
        }
        Action::Meter(id) => conf(
            arena,
            sys::RTE_FLOW_ACTION_TYPE_METER,
            sys::rte_flow_action_meter { mtr_id: *id },
        ),
    };
    (
        sys::rte_flow_action { type_, conf },
        sys::rte_flow_action { type_, conf: mask },
    )
}

/// An action with `value` as conf and a zeroed `T` as template mask.
fn conf<T: Default>(arena: &Bump, type_: u32, value: T) -> (u32, *const c_void, *const c_void) {
    (type_, put(arena, value), put(arena, T::default()))
}
