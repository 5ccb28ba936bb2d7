//! The DOCA Flow backend: the rule model mapped to DOCA Flow 2.7 pipes and
//! entries.
//!
//! * [`plan`] (always compiled, plain Rust): [`DocaPlan::from_rule`] turns a
//!   [`Rule`](crate::Rule) into what DOCA needs — mode, pipe domain,
//!   match + mask, actions, forward, monitor, GENEVE option parser — or a
//!   typed [`DocaMapError`] naming the item/action DOCA cannot express.
//!   [`DocaPlan::pipe_key`] is the pipe template: rules with equal keys are
//!   entries of one pipe (DOCA pipes fix the masks, entries give values).
//! * the `dpuflow-flow-doca` crate: `DocaBackend` owns the DOCA objects
//!   (global init, ports, GENEVE parsers, pipes, entries) and copies plans
//!   into the bindgen structs of `dpuflow_sys::doca`. It type-checks against
//!   ffi-headers/doca/ (DOCA 2.7 declarations) and links only against a
//!   real SDK; it has never been run.
//!
//! # Modes and domains
//!
//! | rule | DOCA mode (`mode_args`) | pipes live on | domain |
//! | --- | --- | --- | --- |
//! | ingress | `vnf,hws` | the rule's port | `DOCA_FLOW_PIPE_DOMAIN_DEFAULT` |
//! | egress | `vnf,hws` | the rule's port | `DOCA_FLOW_PIPE_DOMAIN_EGRESS` |
//! | transfer | `switch,hws` | the switch manager (`doca_flow_port_switch_get`) | `DOCA_FLOW_PIPE_DOMAIN_DEFAULT` (the FDB) |
//!
//! DOCA 2.x has no per-rule "transfer" attribute: the e-switch is DOCA's
//! switch mode, where every representor is a started DOCA port and all
//! pipes are created on the switch manager port. A process runs one mode,
//! so a backend takes either transfer rules or ingress/egress rules.
//!
//! Groups become pipe chains: each (port, domain, group) has an empty
//! anchor pipe (`is_root` for group 0) whose miss path leads to the rule
//! pipes of the group sorted by priority, each missing into the next
//! (`fwd_miss`, `doca_flow_pipe_update_miss`); `Jump(g)` forwards to the
//! anchor of group `g`. A pipe is keyed by group, priority and shape, so
//! the chain order is the rte_flow priority order.
//!
//! # Mapping
//!
//! Byte order: `doca_be16_t`/`doca_be32_t` fields hold wire-order bytes
//! ([`Be16`], [`Be32`]); the `uint32_t` metadata of DOCA 2.7
//! (`meta.pkt_meta`, `meta.u32[]`, `meta.mark`, `parser_meta.port_meta`)
//! is host order, as ffi-headers/doca/README.md records (later DOCA
//! releases declare the meta words `doca_be32_t`).
//!
//! | model | DOCA 2.7 |
//! | --- | --- |
//! | `represented_port` item | `parser_meta.port_meta = ethdev port id` (mask all ones) |
//! | `port_representor` item | — [`Unsupported::PortRepresentorMatch`] |
//! | `eth` dst / src / type | `outer.eth.dst_mac` / `src_mac` / `type` (`inner.*` after a tunnel item); a `type` next to a `vlan` item → [`Unsupported::EtherTypeOfTaggedFrame`] (DOCA's `eth.type` is the EtherType after the tags) |
//! | `vlan` vid / pcp / inner_type | `l2_valid_headers` VLAN_0, `eth_vlan[0].tci` (PCP<<13 \| VID, masked), `eth.type` |
//! | `ipv4` | `l3_type = IP4`, `parser_meta.outer_l3_type = IPV4`; `ip4.src_ip`, `dst_ip`, `next_proto`, `ttl`, `dscp_ecn` (the TOS byte, DSCP<<2 \| ECN) |
//! | `ipv6` | `l3_type = IP6`, `parser_meta.*_l3_type = IPV6`; `ip6.src_ip[4]`, `dst_ip[4]`, `next_proto`, `hop_limit`, `traffic_class` (DSCP<<2 \| ECN) |
//! | `tcp` / `udp` | `l4_type_ext = TCP/UDP`, `parser_meta.*_l4_type`; `tcp.l4_port.*`, `tcp.flags` / `udp.l4_port.*` |
//! | `icmp` / `icmp6` | `l4_type_ext = ICMP/ICMP6`, `parser_meta.*_l4_type = ICMP`; `icmp.type`, `icmp.code` |
//! | `geneve` vni / protocol | `tun.type = GENEVE`, `tun.geneve.vni` (VNI<<8), `geneve.next_proto`; later items go to `inner` |
//! | `geneve-opt` | `tun.geneve_options[0]` = class/type (masked) + length, `[1..]` = data words; needs a port parser (`doca_flow_parser_geneve_opt_create`, mode FIXED) recorded as [`GeneveParserSpec`] |
//! | `vxlan` vni | `tun.type = VXLAN`, `tun.vxlan_tun_id` (VNI<<8) |
//! | `meta` | `meta.pkt_meta` (masked) |
//! | `tag` index i | `meta.u32[i]` (masked), i in 0..=6; index 7 → [`Unsupported::TagIndexWithoutScratchWord`] |
//! | `mark` item | — [`Unsupported::MarkMatch`] |
//! | `drop` | `fwd.type = DROP` |
//! | `count` | `monitor.counter_type = NON_SHARED` |
//! | `queue` q | `fwd.type = RSS`, one queue, `rss_outer_flags = IPV4\|IPV6` |
//! | `rss` | `fwd.type = RSS`, `rss_queues`, `rss_outer_flags` (level 0/1) or `rss_inner_flags` (level 2); types → `IPV4/IPV6/TCP/UDP`; key, src/dst-only, TCP+UDP, level > 2 → [`Unsupported`] |
//! | `represented_port` p | `fwd.type = PORT`, `port_id = p` (pipe template: 0xffff, per entry) |
//! | `port_representor` | — [`Unsupported::ToApplicationPort`] |
//! | `jump` g | `fwd.type = PIPE`, `next_pipe` = anchor of group g (pipe template: `FWD_CHANGEABLE`) |
//! | `mark` id | `actions.meta.mark` (ingress only, else [`Unsupported::MarkOutsideIngress`]) |
//! | `set_tag` i | `actions.meta.u32[i]` + `actions_masks` |
//! | `set_meta` | `actions.meta.pkt_meta` + `actions_masks` |
//! | `raw_encap` | `encap_type = NON_SHARED`, `encap_cfg.is_l2 = true`, `encap_cfg.encap.outer` (eth, VLAN, ip4/ip6, udp ports) + `.tun` (GENEVE vni, next_proto 0x6558, `ver_opt_len`, options; or VXLAN) |
//! | `raw_decap` | `decap_type = NON_SHARED`, `decap_cfg.is_l2 = true` |
//! | `of_push_vlan` 0x8100 + `of_set_vlan_vid/pcp` | `has_push`, `push.type = VLAN`, `push.vlan.tci`; TPID 0x88a8 → [`Unsupported::PushVlanTpid`] |
//! | `of_set_vlan_vid/pcp` (no push) | `actions.outer.eth_vlan[0].tci` masked 0x0fff / 0xe000 |
//! | `of_pop_vlan` | `actions.pop = true` |
//! | `set_mac_*` | `actions.outer.eth.src_mac/dst_mac` |
//! | `set_ipv4_*` / `set_ipv6_*` | `actions.outer.ip4.*` / `ip6.*` (`l3_type` set) |
//! | `set_tp_*` | `actions.outer.tcp/udp.l4_port.*` (`l4_type_ext` from the pattern) |
//! | `dec_ttl` | `actions.outer.ip4.ttl = 0xff` (or `ip6.hop_limit`) + descriptor `DOCA_FLOW_ACTION_ADD` on `"outer.ipv4.ttl"` / `"outer.ipv6.hop_limit"`, width 8 |
//! | `age` t | `monitor.aging_sec = t` (pipe: all ones, per entry); aged entries come back through `doca_flow_aging_handle` |
//! | `meter` id | `monitor.meter_type = SHARED`, `shared_meter.shared_meter_id = id` (the shared meter must be configured and bound beforehand) |
//! | no fate | `fwd.type = NONE` |
//!
//! DOCA applies decap, then rewrites, then encap, with one pop and one push;
//! action orders it cannot reproduce are rejected
//! ([`Unsupported::RewriteBeforeDecap`], [`Unsupported::VlanActionOrder`]).

pub mod plan;

pub use plan::{
    ActionsPlan, Be16, Be32, DecTtl, DocaDomain, DocaMapError, DocaMode, DocaPipeType, DocaPlan,
    EncapIp, EncapPlan, EncapTun, Field, FwdPlan, GeneveOptionMatch, GeneveOptionWord,
    GeneveParserSpec, HeaderMatch, HeaderRewrite, L3Match, L3Rewrite, L4Match, L4Proto, L4Rewrite,
    MatchPlan, MonitorPlan, PipeKey, RssFlags, RssPlan, TunnelMatch, Unsupported,
};
