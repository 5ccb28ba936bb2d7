//! Rule validation: catches rules no backend can install, before any FFI.
//!
//! Pattern checks: field ranges, header order (`eth < vlan < l3 < l4 <
//! tunnel < geneve-opt`, then the inner stack after the tunnel), L4 items
//! need an L3 item, ICMP/ICMPv6 need the matching IP version, tunnel items
//! need a UDP item, at most one tunnel, geneve-opt needs geneve and a data
//! length equal to its `length`, declared EtherType / IP protocol fields
//! agree with the next item, port items only in transfer rules.
//!
//! Action checks: at most one fate; no fate is allowed for ingress and
//! egress rules (rte_flow then behaves as PASSTHRU: the packet gets the
//! port's default treatment after the non-fate actions) but a transfer rule
//! must have one (mlx5 rejects fate-less FDB rules); queue/RSS only on
//! ingress; port actions only on transfer; header rewrites need a matching
//! header in the (current outermost) stack; decap needs a tunnel match;
//! push_vlan must be followed by set_vlan_vid; ranges of VLAN/PCP/age/VNI.

use thiserror::Error;

use super::action::{
    Action, ActionKind, RssAction, AGE_TIMEOUT_MAX, RSS_MAX_KEY_LEN, RSS_MAX_QUEUES,
};
use super::field::{MaskBits, Masked};
use super::item::{
    GeneveOptMatch, Item, ItemKind, DSCP_MAX, ECN_MAX, GENEVE_OPT_MATCH_MAX_WORDS, TAG_INDEX_MAX,
    VLAN_PCP_MAX, VLAN_VID_MAX, VNI_MAX,
};
use super::rule::{Direction, Rule};
use super::tunnel::{
    DecapTunnel, EncapTunnel, IpVersion, RawDecap, TunnelDecap, TunnelEncap, ETHER_TYPE_IPV4,
    ETHER_TYPE_IPV6, ETHER_TYPE_QINQ, ETHER_TYPE_VLAN, GENEVE_OPT_MAX_WORDS, IPPROTO_ICMP,
    IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP,
};

/// Why a rule is invalid. Item variants carry the pattern index, action
/// variants the action index.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RuleError {
    /// A pattern field exceeds its width.
    #[error("pattern item {index} ({kind}): {field} {value:#x} exceeds {max:#x}")]
    ItemFieldOutOfRange {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
        /// Field name.
        field: &'static str,
        /// Offending value or mask.
        value: u64,
        /// Largest allowed.
        max: u64,
    },
    /// A protocol item appears below a layer already matched.
    #[error("pattern item {index} ({kind}) cannot follow {previous}")]
    ItemOutOfOrder {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
        /// The protocol item before it.
        previous: ItemKind,
    },
    /// The same non-protocol item (port, meta, mark, tag index, geneve-opt)
    /// appears twice.
    #[error("pattern item {index} ({kind}) is duplicated")]
    DuplicateItem {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
    },
    /// An L4 item without an L3 item in the same header stack.
    #[error("pattern item {index} ({kind}) needs an ipv4/ipv6 item before it")]
    L4WithoutL3 {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
    },
    /// ICMP after IPv6 or ICMPv6 after IPv4.
    #[error("pattern item {index} ({kind}) does not fit an {l3:?} header")]
    IpVersionMismatch {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
        /// The IP version matched before it.
        l3: IpVersion,
    },
    /// An exact EtherType / IP protocol field contradicts the next item.
    #[error("pattern item {index} ({kind}): {field} is {declared:#x} but the next item needs {implied:#x}")]
    ProtocolConflict {
        /// Index of the item declaring the field.
        index: usize,
        /// Its kind.
        kind: ItemKind,
        /// The field.
        field: &'static str,
        /// The declared value.
        declared: u16,
        /// The value the next item implies.
        implied: u16,
    },
    /// A geneve/vxlan item without a UDP item before it.
    #[error("pattern item {index} ({kind}) needs a udp item before it")]
    TunnelWithoutUdp {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
    },
    /// A second tunnel item.
    #[error("pattern item {index} ({kind}): only one tunnel header can be matched")]
    DuplicateTunnel {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
    },
    /// geneve-opt without a geneve item right before it.
    #[error("pattern item {index} (geneve-opt) needs a geneve item right before it")]
    GeneveOptWithoutGeneve {
        /// Item index.
        index: usize,
    },
    /// geneve-opt `length` differs from its number of data words.
    #[error("pattern item {index} (geneve-opt): length {length} but {data_words} data words")]
    GeneveOptLengthMismatch {
        /// Item index.
        index: usize,
        /// Declared length in words.
        length: u8,
        /// Data words given.
        data_words: usize,
    },
    /// A port item in a non-transfer rule.
    #[error("pattern item {index} ({kind}) is only valid in transfer rules")]
    PortItemRequiresTransfer {
        /// Item index.
        index: usize,
        /// Item kind.
        kind: ItemKind,
    },
    /// The action list is empty.
    #[error("the rule has no action")]
    EmptyActions,
    /// A transfer rule without a fate action.
    #[error("a {direction} rule needs a fate action (drop, jump, port)")]
    MissingFate {
        /// Rule direction.
        direction: Direction,
    },
    /// A second fate action.
    #[error("action {index} ({kind}) is a second fate after action {first_index} ({first_kind})")]
    DuplicateFate {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
        /// Index of the first fate.
        first_index: usize,
        /// Kind of the first fate.
        first_kind: ActionKind,
    },
    /// A fate that the rule's direction does not support (queue/RSS outside
    /// ingress, port actions outside transfer).
    #[error("action {index} ({kind}) is not allowed in a {direction} rule")]
    FateNotAllowed {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
        /// Rule direction.
        direction: Direction,
    },
    /// An action field exceeds its range.
    #[error("action {index} ({kind}): {field} {value:#x} is out of range (max {max:#x})")]
    ActionFieldOutOfRange {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
        /// Field name.
        field: &'static str,
        /// Offending value.
        value: u64,
        /// Largest allowed.
        max: u64,
    },
    /// RSS with no queue.
    #[error("action {index} (rss) has an empty queue list")]
    EmptyRssQueues {
        /// Action index.
        index: usize,
    },
    /// RSS key of length 0 or more than 64 bytes.
    #[error("action {index} (rss): key length {len} is not in 1..=64")]
    InvalidRssKey {
        /// Action index.
        index: usize,
        /// Key length.
        len: usize,
    },
    /// Jump to the rule's own group.
    #[error("action {index} (jump) targets the rule's own group {group}")]
    JumpToSelf {
        /// Action index.
        index: usize,
        /// The group.
        group: u32,
    },
    /// raw_decap without a geneve/vxlan item.
    #[error("action {index} (raw_decap) needs a geneve or vxlan item in the pattern")]
    DecapWithoutTunnelMatch {
        /// Action index.
        index: usize,
    },
    /// raw_decap of another tunnel type than the one matched.
    #[error("action {index} (raw_decap) removes a different tunnel than the matched {matched}")]
    DecapTunnelMismatch {
        /// Action index.
        index: usize,
        /// The matched tunnel item kind.
        matched: ItemKind,
    },
    /// raw_encap in an ingress rule.
    #[error("action {index} (raw_encap) is not allowed in a {direction} rule")]
    EncapNotAllowed {
        /// Action index.
        index: usize,
        /// Rule direction.
        direction: Direction,
    },
    /// An action that may appear only once appears twice.
    #[error("action {index} ({kind}) appears twice")]
    DuplicateAction {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
    },
    /// raw_decap after raw_encap.
    #[error("action {index} (raw_decap) comes after raw_encap")]
    DecapAfterEncap {
        /// Action index.
        index: usize,
    },
    /// A header rewrite after raw_encap (would modify the new outer header).
    #[error("action {index} ({kind}) comes after raw_encap")]
    RewriteAfterEncap {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
    },
    /// set_ipv4_* without an IPv4 item in the rewritten stack.
    #[error("action {index} ({kind}) needs an ipv4 item in the pattern")]
    SetIpv4WithoutIpv4Match {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
    },
    /// set_ipv6_* without an IPv6 item in the rewritten stack.
    #[error("action {index} ({kind}) needs an ipv6 item in the pattern")]
    SetIpv6WithoutIpv6Match {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
    },
    /// set_tp_* without a TCP/UDP item in the rewritten stack.
    #[error("action {index} ({kind}) needs a tcp or udp item in the pattern")]
    SetTpWithoutL4Match {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
    },
    /// dec_ttl without an IP item in the rewritten stack.
    #[error("action {index} (dec_ttl) needs an ipv4 or ipv6 item in the pattern")]
    DecTtlWithoutL3Match {
        /// Action index.
        index: usize,
    },
    /// of_push_vlan not followed by of_set_vlan_vid.
    #[error("action {index} (of_push_vlan) is not followed by of_set_vlan_vid")]
    PushVlanWithoutSetVid {
        /// Action index.
        index: usize,
    },
    /// of_push_vlan with a TPID other than 0x8100 / 0x88a8.
    #[error("action {index} (of_push_vlan): ethertype {ether_type:#06x} is not 0x8100 or 0x88a8")]
    InvalidPushVlanEthertype {
        /// Action index.
        index: usize,
        /// The TPID.
        ether_type: u16,
    },
    /// of_set_vlan_* with neither a matched nor a pushed VLAN tag.
    #[error("action {index} ({kind}) needs a vlan item or a preceding of_push_vlan")]
    VlanRewriteWithoutVlan {
        /// Action index.
        index: usize,
        /// Action kind.
        kind: ActionKind,
    },
    /// of_pop_vlan without a VLAN tag to pop.
    #[error("action {index} (of_pop_vlan) needs a vlan item in the pattern")]
    PopVlanWithoutVlan {
        /// Action index.
        index: usize,
    },
    /// age with a zero timeout.
    #[error("action {index} (age) has a zero timeout")]
    AgeTimeoutZero {
        /// Action index.
        index: usize,
    },
}

impl Rule {
    /// Checks the rule; see the module docs for the rules enforced.
    pub fn validate(&self) -> Result<(), RuleError> {
        let shape = check_pattern(self)?;
        check_actions(self, &shape)
    }
}

/// What the pattern matches in one header stack.
#[derive(Clone, Copy, Debug, Default)]
struct Stack {
    rank: u8,
    previous: Option<ItemKind>,
    vlan: bool,
    l3: Option<IpVersion>,
    l4: Option<ItemKind>,
    /// Index and exact EtherType declared by the last L2 item.
    l2_type: Option<(usize, ItemKind, u16)>,
    /// Index and exact protocol declared by the L3 item.
    l3_proto: Option<(usize, ItemKind, u8)>,
}

/// The header stacks a pattern matches.
#[derive(Clone, Copy, Debug, Default)]
struct PatternShape {
    outer: Stack,
    tunnel: Option<ItemKind>,
    inner: Stack,
}

#[derive(Default)]
struct Seen {
    port: bool,
    meta: bool,
    mark: bool,
    geneve_opt: bool,
    tags: [bool; 8],
}

fn check_pattern(rule: &Rule) -> Result<PatternShape, RuleError> {
    let mut shape = PatternShape::default();
    let mut seen = Seen::default();
    for (index, item) in rule.pattern.iter().enumerate() {
        check_item_ranges(index, item)?;
        check_singletons(rule, index, item, &mut seen)?;
        check_stacking(index, item, &mut shape)?;
    }
    Ok(shape)
}

fn range_err(index: usize, kind: ItemKind, field: &'static str, value: u64, max: u64) -> RuleError {
    RuleError::ItemFieldOutOfRange {
        index,
        kind,
        field,
        value,
        max,
    }
}

fn check_width<T>(
    index: usize,
    kind: ItemKind,
    field: &'static str,
    f: &Option<Masked<T>>,
    max: u64,
) -> Result<(), RuleError>
where
    T: MaskBits + Into<u64>,
{
    if let Some(m) = f {
        for v in [m.value().into(), m.mask().into()] {
            if v > max {
                return Err(range_err(index, kind, field, v, max));
            }
        }
    }
    Ok(())
}

fn check_item_ranges(index: usize, item: &Item) -> Result<(), RuleError> {
    let kind = item.kind();
    match item {
        Item::Vlan(m) => {
            check_width(index, kind, "vid", &m.vid, VLAN_VID_MAX.into())?;
            check_width(index, kind, "pcp", &m.pcp, VLAN_PCP_MAX.into())
        }
        Item::Ipv4(m) => {
            check_width(index, kind, "dscp", &m.dscp, DSCP_MAX.into())?;
            check_width(index, kind, "ecn", &m.ecn, ECN_MAX.into())
        }
        Item::Ipv6(m) => {
            check_width(index, kind, "dscp", &m.dscp, DSCP_MAX.into())?;
            check_width(index, kind, "ecn", &m.ecn, ECN_MAX.into())
        }
        Item::Geneve(m) => check_width(index, kind, "vni", &m.vni, VNI_MAX.into()),
        Item::Vxlan(m) => check_width(index, kind, "vni", &m.vni, VNI_MAX.into()),
        Item::Tag { index: tag, .. } if *tag > TAG_INDEX_MAX => Err(range_err(
            index,
            kind,
            "index",
            (*tag).into(),
            TAG_INDEX_MAX.into(),
        )),
        Item::GeneveOpt(o) => check_geneve_opt(index, o),
        _ => Ok(()),
    }
}

fn check_geneve_opt(index: usize, o: &GeneveOptMatch) -> Result<(), RuleError> {
    if o.length > GENEVE_OPT_MATCH_MAX_WORDS {
        return Err(range_err(
            index,
            ItemKind::GeneveOpt,
            "length",
            o.length.into(),
            GENEVE_OPT_MATCH_MAX_WORDS.into(),
        ));
    }
    if usize::from(o.length) != o.data.len() {
        return Err(RuleError::GeneveOptLengthMismatch {
            index,
            length: o.length,
            data_words: o.data.len(),
        });
    }
    Ok(())
}

fn check_singletons(
    rule: &Rule,
    index: usize,
    item: &Item,
    seen: &mut Seen,
) -> Result<(), RuleError> {
    let kind = item.kind();
    let flag = match item {
        Item::RepresentedPort(_) | Item::PortRepresentor(_) => {
            if rule.attr.direction != Direction::Transfer {
                return Err(RuleError::PortItemRequiresTransfer { index, kind });
            }
            &mut seen.port
        }
        Item::Meta(_) => &mut seen.meta,
        Item::Mark(_) => &mut seen.mark,
        Item::GeneveOpt(_) => &mut seen.geneve_opt,
        Item::Tag { index: tag, .. } => match seen.tags.get_mut(usize::from(*tag)) {
            Some(flag) => flag,
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    if *flag {
        return Err(RuleError::DuplicateItem { index, kind });
    }
    *flag = true;
    Ok(())
}

/// Rank of a protocol item in its header stack (0 = not a protocol item).
fn rank(kind: ItemKind) -> u8 {
    match kind {
        ItemKind::Eth => 1,
        ItemKind::Vlan => 2,
        ItemKind::Ipv4 | ItemKind::Ipv6 => 3,
        ItemKind::Tcp | ItemKind::Udp | ItemKind::Icmp | ItemKind::Icmp6 => 4,
        ItemKind::Geneve | ItemKind::Vxlan => 5,
        ItemKind::GeneveOpt => 6,
        _ => 0,
    }
}

fn check_stacking(index: usize, item: &Item, shape: &mut PatternShape) -> Result<(), RuleError> {
    let kind = item.kind();
    let r = rank(kind);
    if r == 0 {
        return Ok(());
    }
    if kind == ItemKind::GeneveOpt {
        return check_geneve_opt_position(index, shape);
    }
    if matches!(kind, ItemKind::Geneve | ItemKind::Vxlan) && shape.tunnel.is_some() {
        return Err(RuleError::DuplicateTunnel { index, kind });
    }
    let stack = if shape.tunnel.is_some() {
        &mut shape.inner
    } else {
        &mut shape.outer
    };
    if r <= stack.rank {
        let previous = stack.previous.unwrap_or(kind);
        return Err(RuleError::ItemOutOfOrder {
            index,
            kind,
            previous,
        });
    }
    stack_item(index, item, stack)?;
    stack.rank = r;
    stack.previous = Some(kind);
    if matches!(kind, ItemKind::Geneve | ItemKind::Vxlan) {
        shape.tunnel = Some(kind);
    }
    Ok(())
}

fn check_geneve_opt_position(index: usize, shape: &PatternShape) -> Result<(), RuleError> {
    if shape.tunnel != Some(ItemKind::Geneve) {
        return Err(RuleError::GeneveOptWithoutGeneve { index });
    }
    if shape.inner.rank > 0 {
        let previous = shape.inner.previous.unwrap_or(ItemKind::Geneve);
        return Err(RuleError::ItemOutOfOrder {
            index,
            kind: ItemKind::GeneveOpt,
            previous,
        });
    }
    Ok(())
}

fn exact_u16(f: &Option<Masked<u16>>) -> Option<u16> {
    f.filter(|m| m.mask() == u16::MAX).map(|m| m.value())
}

fn exact_u8(f: &Option<Masked<u8>>) -> Option<u8> {
    f.filter(|m| m.mask() == u8::MAX).map(|m| m.value())
}

fn conflict(
    decl: (usize, ItemKind, u16),
    field: &'static str,
    implied: u16,
) -> Result<(), RuleError> {
    let (index, kind, declared) = decl;
    if declared == implied {
        return Ok(());
    }
    Err(RuleError::ProtocolConflict {
        index,
        kind,
        field,
        declared,
        implied,
    })
}

fn check_l2_type(stack: &Stack, implied: u16) -> Result<(), RuleError> {
    match stack.l2_type {
        Some(decl) if decl.1 == ItemKind::Vlan => conflict(decl, "inner_type", implied),
        Some(decl) => conflict(decl, "type", implied),
        None => Ok(()),
    }
}

fn stack_item(index: usize, item: &Item, stack: &mut Stack) -> Result<(), RuleError> {
    let kind = item.kind();
    match item {
        Item::Eth(m) => stack.l2_type = exact_u16(&m.ether_type).map(|t| (index, kind, t)),
        Item::Vlan(m) => {
            if let Some(decl) = stack.l2_type {
                if decl.2 != ETHER_TYPE_QINQ {
                    conflict(decl, "type", ETHER_TYPE_VLAN)?;
                }
            }
            stack.vlan = true;
            stack.l2_type = exact_u16(&m.inner_type).map(|t| (index, kind, t));
        }
        Item::Ipv4(m) => {
            check_l2_type(stack, ETHER_TYPE_IPV4)?;
            stack.l3 = Some(IpVersion::V4);
            stack.l3_proto = exact_u8(&m.proto).map(|p| (index, kind, p));
        }
        Item::Ipv6(m) => {
            check_l2_type(stack, ETHER_TYPE_IPV6)?;
            stack.l3 = Some(IpVersion::V6);
            stack.l3_proto = exact_u8(&m.proto).map(|p| (index, kind, p));
        }
        Item::Tcp(_) | Item::Udp(_) | Item::Icmp(_) | Item::Icmp6(_) => {
            stack_l4(index, kind, stack)?
        }
        Item::Geneve(_) | Item::Vxlan(_) if stack.l4 != Some(ItemKind::Udp) => {
            return Err(RuleError::TunnelWithoutUdp { index, kind });
        }
        _ => {}
    }
    Ok(())
}

fn stack_l4(index: usize, kind: ItemKind, stack: &mut Stack) -> Result<(), RuleError> {
    let Some(l3) = stack.l3 else {
        return Err(RuleError::L4WithoutL3 { index, kind });
    };
    let proto = match (kind, l3) {
        (ItemKind::Icmp, IpVersion::V6) | (ItemKind::Icmp6, IpVersion::V4) => {
            return Err(RuleError::IpVersionMismatch { index, kind, l3 });
        }
        (ItemKind::Icmp, _) => IPPROTO_ICMP,
        (ItemKind::Icmp6, _) => IPPROTO_ICMPV6,
        (ItemKind::Tcp, _) => IPPROTO_TCP,
        _ => IPPROTO_UDP,
    };
    if let Some((i, k, p)) = stack.l3_proto {
        conflict((i, k, p.into()), "proto", proto.into())?;
    }
    stack.l4 = Some(kind);
    Ok(())
}

/// State of the action walk.
struct ActionWalk<'a> {
    rule: &'a Rule,
    shape: &'a PatternShape,
    fate: Option<(usize, ActionKind)>,
    encap: Option<usize>,
    decap: Option<usize>,
    vlan_present: bool,
    pending_push: Option<usize>,
}

impl ActionWalk<'_> {
    /// The header stack that rewrites act on at this point.
    fn stack(&self) -> &Stack {
        if self.decap.is_some() {
            &self.shape.inner
        } else {
            &self.shape.outer
        }
    }
}

fn check_actions(rule: &Rule, shape: &PatternShape) -> Result<(), RuleError> {
    if rule.actions.is_empty() {
        return Err(RuleError::EmptyActions);
    }
    let mut walk = ActionWalk {
        rule,
        shape,
        fate: None,
        encap: None,
        decap: None,
        vlan_present: shape.outer.vlan,
        pending_push: None,
    };
    for (index, action) in rule.actions.iter().enumerate() {
        check_action_ranges(index, action)?;
        check_fate(&mut walk, index, action)?;
        check_tunnel_action(&mut walk, index, action)?;
        check_rewrite(&walk, index, action)?;
        check_vlan_action(&mut walk, index, action)?;
    }
    if let Some(index) = walk.pending_push {
        return Err(RuleError::PushVlanWithoutSetVid { index });
    }
    if walk.fate.is_none() && rule.attr.direction == Direction::Transfer {
        return Err(RuleError::MissingFate {
            direction: rule.attr.direction,
        });
    }
    Ok(())
}

fn action_range(
    index: usize,
    kind: ActionKind,
    field: &'static str,
    value: u64,
    max: u64,
) -> Result<(), RuleError> {
    if value > max {
        return Err(RuleError::ActionFieldOutOfRange {
            index,
            kind,
            field,
            value,
            max,
        });
    }
    Ok(())
}

fn check_action_ranges(index: usize, action: &Action) -> Result<(), RuleError> {
    let kind = action.kind();
    match action {
        Action::SetVlanVid(v) => {
            action_range(index, kind, "vlan_vid", (*v).into(), VLAN_VID_MAX.into())
        }
        Action::SetVlanPcp(p) => {
            action_range(index, kind, "vlan_pcp", (*p).into(), VLAN_PCP_MAX.into())
        }
        Action::SetTag { index: tag, .. } => {
            action_range(index, kind, "index", (*tag).into(), TAG_INDEX_MAX.into())
        }
        Action::Age { timeout: 0 } => Err(RuleError::AgeTimeoutZero { index }),
        Action::Age { timeout } => action_range(
            index,
            kind,
            "timeout",
            (*timeout).into(),
            AGE_TIMEOUT_MAX.into(),
        ),
        Action::Rss(rss) => check_rss(index, rss),
        Action::RawEncap(e) => check_encap(index, e),
        Action::RawDecap(RawDecap::Headers(d)) => check_decap(index, d),
        _ => Ok(()),
    }
}

fn check_rss(index: usize, rss: &RssAction) -> Result<(), RuleError> {
    // `None` = every Rx queue of the port.
    let Some(queues) = &rss.queues else {
        return check_rss_key(index, rss);
    };
    if queues.is_empty() {
        return Err(RuleError::EmptyRssQueues { index });
    }
    let n = u64::try_from(queues.len()).unwrap_or(u64::MAX);
    action_range(
        index,
        ActionKind::Rss,
        "queue count",
        n,
        RSS_MAX_QUEUES as u64,
    )?;
    check_rss_key(index, rss)
}

fn check_rss_key(index: usize, rss: &RssAction) -> Result<(), RuleError> {
    match &rss.key {
        Some(k) if k.is_empty() || k.len() > RSS_MAX_KEY_LEN => Err(RuleError::InvalidRssKey {
            index,
            len: k.len(),
        }),
        _ => Ok(()),
    }
}

fn check_encap(index: usize, e: &TunnelEncap) -> Result<(), RuleError> {
    let kind = ActionKind::RawEncap;
    if let Some(tag) = e.vlan {
        action_range(index, kind, "vlan vid", tag.vid.into(), VLAN_VID_MAX.into())?;
        action_range(index, kind, "vlan pcp", tag.pcp.into(), VLAN_PCP_MAX.into())?;
    }
    match &e.tunnel {
        EncapTunnel::Geneve { vni, option } => {
            action_range(index, kind, "vni", (*vni).into(), VNI_MAX.into())?;
            let words = option.as_ref().map_or(0, |o| o.data.len());
            let words = u64::try_from(words).unwrap_or(u64::MAX);
            action_range(
                index,
                kind,
                "geneve option words",
                words,
                GENEVE_OPT_MAX_WORDS as u64,
            )
        }
        EncapTunnel::Vxlan { vni } => {
            action_range(index, kind, "vni", (*vni).into(), VNI_MAX.into())
        }
    }
}

fn check_decap(index: usize, d: &TunnelDecap) -> Result<(), RuleError> {
    match d.tunnel {
        DecapTunnel::Geneve { option_words } => action_range(
            index,
            ActionKind::RawDecap,
            "option_words",
            option_words.into(),
            63,
        ),
        DecapTunnel::Vxlan => Ok(()),
    }
}

fn check_fate(walk: &mut ActionWalk<'_>, index: usize, action: &Action) -> Result<(), RuleError> {
    let kind = action.kind();
    if !kind.is_fate() {
        return Ok(());
    }
    if let Some((first_index, first_kind)) = walk.fate {
        return Err(RuleError::DuplicateFate {
            index,
            kind,
            first_index,
            first_kind,
        });
    }
    walk.fate = Some((index, kind));
    let direction = walk.rule.attr.direction;
    let allowed = match kind {
        ActionKind::Queue | ActionKind::Rss => direction == Direction::Ingress,
        ActionKind::RepresentedPort | ActionKind::PortRepresentor => {
            direction == Direction::Transfer
        }
        _ => true,
    };
    if !allowed {
        return Err(RuleError::FateNotAllowed {
            index,
            kind,
            direction,
        });
    }
    match action {
        Action::Jump(group) if *group == walk.rule.attr.group => Err(RuleError::JumpToSelf {
            index,
            group: *group,
        }),
        _ => Ok(()),
    }
}

fn check_tunnel_action(
    walk: &mut ActionWalk<'_>,
    index: usize,
    action: &Action,
) -> Result<(), RuleError> {
    match action {
        Action::RawDecap(d) => {
            if walk.decap.is_some() {
                return Err(RuleError::DuplicateAction {
                    index,
                    kind: ActionKind::RawDecap,
                });
            }
            if walk.encap.is_some() {
                return Err(RuleError::DecapAfterEncap { index });
            }
            let matched = walk
                .shape
                .tunnel
                .ok_or(RuleError::DecapWithoutTunnelMatch { index })?;
            // An empty buffer (`RawDecap::Matched`) removes what the
            // pattern matched; a header template must describe it.
            if let RawDecap::Headers(d) = d {
                let same = matches!(
                    (matched, d.tunnel),
                    (ItemKind::Geneve, DecapTunnel::Geneve { .. })
                        | (ItemKind::Vxlan, DecapTunnel::Vxlan)
                );
                if !same || walk.shape.outer.l3.is_some_and(|v| v != d.ip) {
                    return Err(RuleError::DecapTunnelMismatch { index, matched });
                }
            }
            walk.decap = Some(index);
            walk.vlan_present = walk.shape.inner.vlan;
            Ok(())
        }
        Action::RawEncap(_) => {
            if walk.encap.is_some() {
                return Err(RuleError::DuplicateAction {
                    index,
                    kind: ActionKind::RawEncap,
                });
            }
            let direction = walk.rule.attr.direction;
            if direction == Direction::Ingress {
                return Err(RuleError::EncapNotAllowed { index, direction });
            }
            walk.encap = Some(index);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn is_rewrite(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::SetMacSrc
            | ActionKind::SetMacDst
            | ActionKind::SetIpv4Src
            | ActionKind::SetIpv4Dst
            | ActionKind::SetIpv6Src
            | ActionKind::SetIpv6Dst
            | ActionKind::SetTpSrc
            | ActionKind::SetTpDst
            | ActionKind::DecTtl
            | ActionKind::PushVlan
            | ActionKind::PopVlan
            | ActionKind::SetVlanVid
            | ActionKind::SetVlanPcp
    )
}

fn check_rewrite(walk: &ActionWalk<'_>, index: usize, action: &Action) -> Result<(), RuleError> {
    let kind = action.kind();
    if !is_rewrite(kind) {
        return Ok(());
    }
    if walk.encap.is_some() {
        return Err(RuleError::RewriteAfterEncap { index, kind });
    }
    let stack = walk.stack();
    match kind {
        ActionKind::SetIpv4Src | ActionKind::SetIpv4Dst if stack.l3 != Some(IpVersion::V4) => {
            Err(RuleError::SetIpv4WithoutIpv4Match { index, kind })
        }
        ActionKind::SetIpv6Src | ActionKind::SetIpv6Dst if stack.l3 != Some(IpVersion::V6) => {
            Err(RuleError::SetIpv6WithoutIpv6Match { index, kind })
        }
        ActionKind::SetTpSrc | ActionKind::SetTpDst
            if !matches!(stack.l4, Some(ItemKind::Tcp | ItemKind::Udp)) =>
        {
            Err(RuleError::SetTpWithoutL4Match { index, kind })
        }
        ActionKind::DecTtl if stack.l3.is_none() => Err(RuleError::DecTtlWithoutL3Match { index }),
        _ => Ok(()),
    }
}

fn check_vlan_action(
    walk: &mut ActionWalk<'_>,
    index: usize,
    action: &Action,
) -> Result<(), RuleError> {
    match action {
        Action::PushVlan { ether_type } => {
            if let Some(pending) = walk.pending_push {
                return Err(RuleError::PushVlanWithoutSetVid { index: pending });
            }
            if *ether_type != ETHER_TYPE_VLAN && *ether_type != ETHER_TYPE_QINQ {
                return Err(RuleError::InvalidPushVlanEthertype {
                    index,
                    ether_type: *ether_type,
                });
            }
            walk.pending_push = Some(index);
            walk.vlan_present = true;
        }
        Action::SetVlanVid(_) | Action::SetVlanPcp(_) => {
            if !walk.vlan_present {
                return Err(RuleError::VlanRewriteWithoutVlan {
                    index,
                    kind: action.kind(),
                });
            }
            if matches!(action, Action::SetVlanVid(_)) {
                walk.pending_push = None;
            }
        }
        Action::PopVlan => {
            if let Some(pending) = walk.pending_push {
                return Err(RuleError::PushVlanWithoutSetVid { index: pending });
            }
            if !walk.vlan_present {
                return Err(RuleError::PopVlanWithoutVlan { index });
            }
            walk.vlan_present = false;
        }
        _ => {}
    }
    Ok(())
}
