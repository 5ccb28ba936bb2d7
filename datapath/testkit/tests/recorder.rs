//! The rte_flow recorder against DPDK's reference parser: rules typed as
//! testpmd `flow` commands are recorded through the LD_PRELOAD recorder,
//! the same rules are built here from the bindgen types, and both dumps must
//! be identical. Needs `dpdk-testpmd` (skipped loudly without it).
//!
//! Run with `cargo test -p dpuflow-flow-testkit --features recorder --test recorder`.
#![cfg(feature = "recorder")]

use std::ffi::c_void;
use std::ptr;
use std::sync::OnceLock;

use dpuflow_flow_testkit::recorder::{
    collect, dpuflow_recorder_dump, dpuflow_recorder_dump_actions_template,
    dpuflow_recorder_dump_pattern_template,
};
use dpuflow_flow_testkit::testpmd::{Record, Run, Testpmd};
use dpuflow_sys::*;

// ------------------------------------------------------------ testpmd side

const SIMPLE: &str = "flow create 0 ingress pattern eth / ipv4 src is 10.0.0.1 / udp dst is 4789 / end actions count / queue index 0 / end";
const DEFAULT_MASK: &str = "flow create 0 ingress pattern eth / ipv4 src spec 10.0.0.1 src mask 255.255.255.255 dst spec 0.0.0.0 dst mask 255.255.255.255 / end actions drop / end";
const TRANSFER_GENEVE: &str = "flow create 0 group 2 priority 1 transfer pattern represented_port ethdev_port_id is 1 / eth dst is 00:11:22:33:44:55 type is 0x0800 / ipv4 dst is 192.168.0.1 / udp dst is 6081 / geneve vni is 100 / geneve-opt class is 0x0102 type is 0x03 length is 1 data is 0xdeadbeef / end actions count / set_tag data 0x1234 mask 0xffff index 2 / set_meta data 0xabcd mask 0xffffffff / age timeout 30 / of_push_vlan ethertype 0x8100 / of_set_vlan_vid vlan_vid 100 / represented_port ethdev_port_id 0 / end";
const IPV6_RSS: &str = "flow create 0 ingress pattern eth / ipv6 src is 2001:db8::1 / icmp6 type is 128 / end actions mark id 7 / rss types ipv4 udp end queues 0 1 2 3 end key 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728 / jump group 3 / end";
const SET_DECAP: &str = "set raw_decap 0 eth / ipv4 / udp / geneve / end_set";
const SET_ENCAP: &str = "set raw_encap 0 eth src is 00:11:22:33:44:55 dst is 66:77:88:99:aa:bb / ipv4 src is 1.1.1.1 dst is 2.2.2.2 / udp dst is 6081 / geneve vni is 100 / end_set";
const RAW: &str = "flow create 0 transfer pattern represented_port ethdev_port_id is 0 / end actions raw_decap index 0 / raw_encap index 0 / set_ipv4_dst ipv4_addr 192.168.1.1 / set_tp_dst port 8080 / dec_ttl / represented_port ethdev_port_id 1 / end";
const VALIDATE: &str = "flow validate 1 egress pattern eth / end actions drop / end";
const CONFIGURE: &str = "flow configure 0 queues_number 2 queues_size 64 counters_number 128";
const PATTERN_TEMPLATE: &str = "flow pattern_template 0 create pattern_template_id 10 ingress template eth / ipv4 src is 255.255.255.255 / udp dst mask 0xffff / end";
// 22.11 quirk: the direction must come before actions_template_id.
const ACTIONS_TEMPLATE: &str = "flow actions_template 0 create ingress actions_template_id 20 template mark id 0 / queue index 0 / end mask mark id 0 / queue index 65535 / end";
const TABLE: &str = "flow template_table 0 create table_id 30 group 1 ingress rules_number 64 pattern_template 10 actions_template 20";
const ASYNC_CREATE: &str = "flow queue 0 create 0 template_table 30 pattern_template 0 actions_template 0 postpone no pattern eth / ipv4 src is 10.0.0.2 / udp dst spec 4789 / end actions mark id 5 / queue index 1 / end";
const PULL: &str = "flow pull 0 queue 0";

const COMMANDS: &[&str] = &[
    SIMPLE,
    DEFAULT_MASK,
    TRANSFER_GENEVE,
    IPV6_RSS,
    SET_DECAP,
    SET_ENCAP,
    RAW,
    VALIDATE,
    CONFIGURE,
    PATTERN_TEMPLATE,
    ACTIONS_TEMPLATE,
    TABLE,
    ASYNC_CREATE,
    PULL,
];

/// One testpmd run for all tests (startup dominates); `None` without testpmd.
fn testpmd_run() -> Option<&'static Run> {
    static RUN: OnceLock<Option<Run>> = OnceLock::new();
    RUN.get_or_init(|| {
        let Some(testpmd) = Testpmd::find() else {
            eprintln!(
                "\n!!! SKIPPED: dpdk-testpmd not found (set DPUFLOW_TESTPMD or \
                 apt-get install dpdk); recorder not checked against testpmd !!!\n"
            );
            return None;
        };
        Some(testpmd.run(COMMANDS).unwrap_or_else(|e| panic!("{e}")))
    })
    .as_ref()
}

/// The `n`-th record of the given kind.
fn record(run: &Run, kind: &str, n: usize) -> Record {
    run.records
        .iter()
        .filter(|r| r.kind() == kind)
        .nth(n)
        .unwrap_or_else(|| panic!("no {kind} record #{n} in {:#?}", run.records))
        .clone()
}

// --------------------------------------------------------------- Rust side

fn item<T>(type_: rte_flow_item_type, spec: Option<&T>, mask: Option<&T>) -> rte_flow_item {
    let ptr_of = |o: Option<&T>| o.map_or(ptr::null(), |v| ptr::from_ref(v).cast::<c_void>());
    rte_flow_item {
        type_,
        spec: ptr_of(spec),
        last: ptr::null(),
        mask: ptr_of(mask),
    }
}

fn bare(type_: rte_flow_item_type) -> rte_flow_item {
    item::<u8>(type_, None, None)
}

fn action<T>(type_: rte_flow_action_type, conf: Option<&T>) -> rte_flow_action {
    rte_flow_action {
        type_,
        conf: conf.map_or(ptr::null(), |v| ptr::from_ref(v).cast::<c_void>()),
    }
}

fn no_conf(type_: rte_flow_action_type) -> rte_flow_action {
    action::<u8>(type_, None)
}

fn assert_items_end(items: &[rte_flow_item]) {
    assert_eq!(items.last().map(|i| i.type_), Some(RTE_FLOW_ITEM_TYPE_END));
}

fn assert_actions_end(actions: &[rte_flow_action]) {
    assert_eq!(
        actions.last().map(|a| a.type_),
        Some(RTE_FLOW_ACTION_TYPE_END)
    );
}

fn dump(
    attr: Option<&rte_flow_attr>,
    items: &[rte_flow_item],
    actions: &[rte_flow_action],
) -> String {
    assert_items_end(items);
    assert_actions_end(actions);
    let attr = attr.map_or(ptr::null(), ptr::from_ref);
    collect(|buf, len| {
        // SAFETY: attr is NULL or a live rte_flow_attr; both arrays are live
        // and END-terminated (checked above), and every spec/mask/conf they
        // point to lives in the caller's frame; buf/len come from collect.
        unsafe { dpuflow_recorder_dump(attr, items.as_ptr(), actions.as_ptr(), buf, len) }
    })
}

fn be16(v: u16) -> u16 {
    v.to_be()
}

fn ipv4(a: [u8; 4]) -> u32 {
    u32::from_ne_bytes(a)
}

fn attr(group: u32, priority: u32, ingress: u32, egress: u32, transfer: u32) -> rte_flow_attr {
    let mut a = rte_flow_attr {
        group,
        priority,
        ..Default::default()
    };
    a.set_ingress(ingress);
    a.set_egress(egress);
    a.set_transfer(transfer);
    a
}

fn ipv4_item(src: [u8; 4], dst: [u8; 4]) -> rte_flow_item_ipv4 {
    rte_flow_item_ipv4 {
        hdr: rte_ipv4_hdr {
            src_addr: ipv4(src),
            dst_addr: ipv4(dst),
            ..Default::default()
        },
    }
}

fn udp_item(src: u16, dst: u16) -> rte_flow_item_udp {
    rte_flow_item_udp {
        hdr: rte_udp_hdr {
            src_port: be16(src),
            dst_port: be16(dst),
            ..Default::default()
        },
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

// ------------------------------------------------------------------ tests

#[test]
fn simple_rule_dump_is_exact() {
    let Some(run) = testpmd_run() else { return };
    let rec = record(run, "create", 0);
    assert_eq!(rec.op_field("port"), Some("0"));
    // 10.0.0.1 = 0a000001 at offset 12 of the IPv4 header; "is" masks only
    // the field it sets, and an item without spec stays all NULL.
    assert_eq!(
        rec.dump,
        "attr group=0 priority=0 ingress=1 egress=0 transfer=0 reserved=0\n\
         item eth spec=- last=- mask=-\n\
         item ipv4 spec=0000000000000000000000000a00000100000000 last=- mask=000000000000000000000000ffffffff00000000\n\
         item udp spec=000012b500000000 last=- mask=0000ffff00000000\n\
         item end\n\
         action count conf=00000000\n\
         action queue conf=0000\n\
         action end\n"
    );
}

#[test]
fn rust_built_simple_rule_matches_testpmd() {
    let attr = attr(0, 0, 1, 0, 0);
    let ip_spec = ipv4_item([10, 0, 0, 1], [0; 4]);
    let ip_mask = ipv4_item([0xff; 4], [0; 4]);
    let udp_spec = udp_item(0, 4789);
    let udp_mask = udp_item(0, 0xffff);
    let items = [
        bare(RTE_FLOW_ITEM_TYPE_ETH),
        item(RTE_FLOW_ITEM_TYPE_IPV4, Some(&ip_spec), Some(&ip_mask)),
        item(RTE_FLOW_ITEM_TYPE_UDP, Some(&udp_spec), Some(&udp_mask)),
        bare(RTE_FLOW_ITEM_TYPE_END),
    ];
    let count = rte_flow_action_count::default();
    let queue = rte_flow_action_queue { index: 0 };
    let actions = [
        action(RTE_FLOW_ACTION_TYPE_COUNT, Some(&count)),
        action(RTE_FLOW_ACTION_TYPE_QUEUE, Some(&queue)),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    let ours = dump(Some(&attr), &items, &actions);

    let Some(run) = testpmd_run() else { return };
    assert_eq!(ours, record(run, "create", 0).dump);
}

#[test]
fn rust_built_default_mask_matches_testpmd() {
    // rte_flow_item_ipv4_mask (a static in rte_flow.h, so not in bindings):
    // src and dst all ones.
    let attr = attr(0, 0, 1, 0, 0);
    let spec = ipv4_item([10, 0, 0, 1], [0; 4]);
    let mask = ipv4_item([0xff; 4], [0xff; 4]);
    let items = [
        bare(RTE_FLOW_ITEM_TYPE_ETH),
        item(RTE_FLOW_ITEM_TYPE_IPV4, Some(&spec), Some(&mask)),
        bare(RTE_FLOW_ITEM_TYPE_END),
    ];
    let actions = [
        no_conf(RTE_FLOW_ACTION_TYPE_DROP),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    let ours = dump(Some(&attr), &items, &actions);

    let Some(run) = testpmd_run() else { return };
    assert_eq!(ours, record(run, "create", 1).dump);
}

#[test]
fn rust_built_transfer_geneve_rule_matches_testpmd() {
    let attr = attr(2, 1, 0, 0, 1);
    let port_spec = rte_flow_item_ethdev { port_id: 1 };
    let port_mask = rte_flow_item_ethdev { port_id: 0xffff };
    let mut eth_spec = rte_flow_item_eth::default();
    let mut eth_mask = rte_flow_item_eth::default();
    eth_spec.__bindgen_anon_1.hdr = rte_ether_hdr {
        dst_addr: rte_ether_addr {
            addr_bytes: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
        },
        src_addr: rte_ether_addr::default(),
        ether_type: be16(0x0800),
    };
    eth_mask.__bindgen_anon_1.hdr = rte_ether_hdr {
        dst_addr: rte_ether_addr {
            addr_bytes: [0xff; 6],
        },
        src_addr: rte_ether_addr::default(),
        ether_type: 0xffff,
    };
    let ip_spec = ipv4_item([0; 4], [192, 168, 0, 1]);
    let ip_mask = ipv4_item([0; 4], [0xff; 4]);
    let udp_spec = udp_item(0, 6081);
    let udp_mask = udp_item(0, 0xffff);
    let geneve_spec = rte_flow_item_geneve {
        vni: [0, 0, 100],
        ..Default::default()
    };
    let geneve_mask = rte_flow_item_geneve {
        vni: [0xff; 3],
        ..Default::default()
    };
    let mut opt_data = [u32::from_ne_bytes([0xde, 0xad, 0xbe, 0xef])];
    let mut opt_data_mask = [u32::MAX];
    let opt_spec = rte_flow_item_geneve_opt {
        option_class: be16(0x0102),
        option_type: 3,
        option_len: 1,
        data: opt_data.as_mut_ptr(),
    };
    // testpmd's "is" sets every bit of each field it parsed.
    let opt_mask = rte_flow_item_geneve_opt {
        option_class: 0xffff,
        option_type: 0xff,
        option_len: 0xff,
        data: opt_data_mask.as_mut_ptr(),
    };
    let items = [
        item(
            RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT,
            Some(&port_spec),
            Some(&port_mask),
        ),
        item(RTE_FLOW_ITEM_TYPE_ETH, Some(&eth_spec), Some(&eth_mask)),
        item(RTE_FLOW_ITEM_TYPE_IPV4, Some(&ip_spec), Some(&ip_mask)),
        item(RTE_FLOW_ITEM_TYPE_UDP, Some(&udp_spec), Some(&udp_mask)),
        item(
            RTE_FLOW_ITEM_TYPE_GENEVE,
            Some(&geneve_spec),
            Some(&geneve_mask),
        ),
        item(
            RTE_FLOW_ITEM_TYPE_GENEVE_OPT,
            Some(&opt_spec),
            Some(&opt_mask),
        ),
        bare(RTE_FLOW_ITEM_TYPE_END),
    ];
    let count = rte_flow_action_count::default();
    let tag = rte_flow_action_set_tag {
        data: 0x1234,
        mask: 0xffff,
        index: 2,
    };
    let meta = rte_flow_action_set_meta {
        data: 0xabcd,
        mask: 0xffff_ffff,
    };
    // testpmd points the context at its own bookkeeping: only "set" shows.
    let mut age_context = 0u32;
    let mut age = rte_flow_action_age {
        context: ptr::from_mut(&mut age_context).cast(),
        ..Default::default()
    };
    age.set_timeout(30);
    let push = rte_flow_action_of_push_vlan {
        ethertype: be16(0x8100),
    };
    let vid = rte_flow_action_of_set_vlan_vid {
        vlan_vid: be16(100),
    };
    let out = rte_flow_action_ethdev { port_id: 0 };
    let actions = [
        action(RTE_FLOW_ACTION_TYPE_COUNT, Some(&count)),
        action(RTE_FLOW_ACTION_TYPE_SET_TAG, Some(&tag)),
        action(RTE_FLOW_ACTION_TYPE_SET_META, Some(&meta)),
        action(RTE_FLOW_ACTION_TYPE_AGE, Some(&age)),
        action(RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN, Some(&push)),
        action(RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID, Some(&vid)),
        action(RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, Some(&out)),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    let ours = dump(Some(&attr), &items, &actions);
    assert!(ours.contains("item geneve_opt spec=class=0102,type=0x03,len=1,data=deadbeef "));
    assert!(ours.contains("action age timeout=30 reserved=0 context=set\n"));

    let Some(run) = testpmd_run() else { return };
    assert_eq!(ours, record(run, "create", 2).dump);
}

#[test]
fn rust_built_ipv6_rss_rule_matches_testpmd() {
    let attr = attr(0, 0, 1, 0, 0);
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    src[15] = 1;
    let ip6_spec = rte_flow_item_ipv6 {
        hdr: rte_ipv6_hdr {
            src_addr: src,
            ..Default::default()
        },
        ..Default::default()
    };
    let ip6_mask = rte_flow_item_ipv6 {
        hdr: rte_ipv6_hdr {
            src_addr: [0xff; 16],
            ..Default::default()
        },
        ..Default::default()
    };
    let icmp6_spec = rte_flow_item_icmp6 {
        type_: 128,
        ..Default::default()
    };
    let icmp6_mask = rte_flow_item_icmp6 {
        type_: 0xff,
        ..Default::default()
    };
    let items = [
        bare(RTE_FLOW_ITEM_TYPE_ETH),
        item(RTE_FLOW_ITEM_TYPE_IPV6, Some(&ip6_spec), Some(&ip6_mask)),
        item(
            RTE_FLOW_ITEM_TYPE_ICMP6,
            Some(&icmp6_spec),
            Some(&icmp6_mask),
        ),
        bare(RTE_FLOW_ITEM_TYPE_END),
    ];
    let mark = rte_flow_action_mark { id: 7 };
    let key: Vec<u8> = (1..=40).collect();
    let queues: [u16; 4] = [0, 1, 2, 3];
    let rss = rte_flow_action_rss {
        func: RTE_ETH_HASH_FUNCTION_DEFAULT,
        level: 0,
        // RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_UDP (macros bindgen cannot see).
        types: (1 << 2) | (1 << 5) | (1 << 11) | (1 << 17),
        key_len: 40,
        queue_num: 4,
        key: key.as_ptr(),
        queue: queues.as_ptr(),
    };
    let jump = rte_flow_action_jump { group: 3 };
    let actions = [
        action(RTE_FLOW_ACTION_TYPE_MARK, Some(&mark)),
        action(RTE_FLOW_ACTION_TYPE_RSS, Some(&rss)),
        action(RTE_FLOW_ACTION_TYPE_JUMP, Some(&jump)),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    let ours = dump(Some(&attr), &items, &actions);

    let Some(run) = testpmd_run() else { return };
    assert_eq!(ours, record(run, "create", 3).dump);
}

#[test]
fn rust_built_raw_encap_decap_rule_matches_testpmd() {
    let attr = attr(0, 0, 0, 0, 1);
    let port_spec = rte_flow_item_ethdev { port_id: 0 };
    let port_mask = rte_flow_item_ethdev { port_id: 0xffff };
    let items = [
        item(
            RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT,
            Some(&port_spec),
            Some(&port_mask),
        ),
        bare(RTE_FLOW_ITEM_TYPE_END),
    ];
    // testpmd's `set raw_decap`: items without spec contribute their
    // default mask; next-protocol fields and IPv4 version/IHL are filled.
    let mut decap_bytes = hex(&[
        "ffffffffffff",
        "ffffffffffff",
        "0800", // eth
        "4500000000000000",
        "00110000",
        "ffffffff",
        "ffffffff",         // ipv4
        "ffffffff00000000", // udp (mask ports)
        "00000000ffffff00", // geneve (mask vni)
    ]
    .concat());
    let mut encap_bytes = hex(&[
        "66778899aabb",
        "001122334455",
        "0800", // eth dst, src
        "4500000000000000",
        "00110000",
        "01010101",
        "02020202",         // ipv4
        "000017c100000000", // udp dst 6081
        "0000000000006400", // geneve vni 100
    ]
    .concat());
    let raw_decap = rte_flow_action_raw_decap {
        data: decap_bytes.as_mut_ptr(),
        size: decap_bytes.len(),
    };
    let raw_encap = rte_flow_action_raw_encap {
        data: encap_bytes.as_mut_ptr(),
        preserve: ptr::null_mut(),
        size: encap_bytes.len(),
    };
    let dst = rte_flow_action_set_ipv4 {
        ipv4_addr: ipv4([192, 168, 1, 1]),
    };
    let tp = rte_flow_action_set_tp { port: be16(8080) };
    let out = rte_flow_action_ethdev { port_id: 1 };
    let actions = [
        action(RTE_FLOW_ACTION_TYPE_RAW_DECAP, Some(&raw_decap)),
        action(RTE_FLOW_ACTION_TYPE_RAW_ENCAP, Some(&raw_encap)),
        action(RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, Some(&dst)),
        action(RTE_FLOW_ACTION_TYPE_SET_TP_DST, Some(&tp)),
        no_conf(RTE_FLOW_ACTION_TYPE_DEC_TTL),
        action(RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, Some(&out)),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    let ours = dump(Some(&attr), &items, &actions);

    let Some(run) = testpmd_run() else { return };
    assert_eq!(ours, record(run, "create", 4).dump);
}

#[test]
fn validate_configure_and_table_are_recorded() {
    let Some(run) = testpmd_run() else { return };
    let v = record(run, "validate", 0);
    assert_eq!(v.op, "validate port=1");
    assert_eq!(
        v.dump,
        "attr group=0 priority=0 ingress=0 egress=1 transfer=0 reserved=0\n\
         item eth spec=- last=- mask=-\nitem end\naction drop\naction end\n"
    );
    assert_eq!(
        record(run, "configure", 0).dump,
        "configure nb_counters=128 nb_aging_objects=0 nb_meters=0 nb_conn_tracks=0 \
         flags=0x0 nb_queue=2 queue_sizes=64,64\n"
    );
    // Handles are the recorder's own numbers, not testpmd's ids.
    assert_eq!(
        record(run, "template_table_create", 0).dump,
        "template_table group=1 priority=0 ingress=1 egress=0 transfer=0 reserved=0 \
         nb_flows=64 pattern_templates=1 actions_templates=1\n"
    );
}

#[test]
fn rust_built_templates_and_async_rule_match_testpmd() {
    let mut pt_attr = rte_flow_pattern_template_attr::default();
    pt_attr.set_ingress(1);
    let ip_all = ipv4_item([0xff; 4], [0; 4]);
    let udp_mask = udp_item(0, 0xffff);
    let pattern = [
        bare(RTE_FLOW_ITEM_TYPE_ETH),
        item(RTE_FLOW_ITEM_TYPE_IPV4, Some(&ip_all), Some(&ip_all)),
        item(RTE_FLOW_ITEM_TYPE_UDP, None, Some(&udp_mask)),
        bare(RTE_FLOW_ITEM_TYPE_END),
    ];
    assert_items_end(&pattern);
    let ours_pt = collect(|buf, len| {
        // SAFETY: live attr and END-terminated pattern whose specs/masks
        // live in this frame; buf/len come from collect.
        unsafe { dpuflow_recorder_dump_pattern_template(&pt_attr, pattern.as_ptr(), buf, len) }
    });

    let mut at_attr = rte_flow_actions_template_attr::default();
    at_attr.set_ingress(1);
    let mark = rte_flow_action_mark { id: 0 };
    let queue = rte_flow_action_queue { index: 0 };
    let queue_mask = rte_flow_action_queue { index: 0xffff };
    let acts = [
        action(RTE_FLOW_ACTION_TYPE_MARK, Some(&mark)),
        action(RTE_FLOW_ACTION_TYPE_QUEUE, Some(&queue)),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    let masks = [
        action(RTE_FLOW_ACTION_TYPE_MARK, Some(&mark)),
        action(RTE_FLOW_ACTION_TYPE_QUEUE, Some(&queue_mask)),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    assert_actions_end(&acts);
    assert_actions_end(&masks);
    let ours_at = collect(|buf, len| {
        // SAFETY: live attr and two END-terminated action arrays whose confs
        // live in this frame; buf/len come from collect.
        unsafe {
            dpuflow_recorder_dump_actions_template(
                &at_attr,
                acts.as_ptr(),
                masks.as_ptr(),
                buf,
                len,
            )
        }
    });

    // The async rule: no attr (the table carries it).
    let ip_spec = ipv4_item([10, 0, 0, 2], [0; 4]);
    let ip_mask = ipv4_item([0xff; 4], [0; 4]);
    let udp_spec = udp_item(0, 4789);
    let items = [
        bare(RTE_FLOW_ITEM_TYPE_ETH),
        item(RTE_FLOW_ITEM_TYPE_IPV4, Some(&ip_spec), Some(&ip_mask)),
        item(RTE_FLOW_ITEM_TYPE_UDP, Some(&udp_spec), None),
        bare(RTE_FLOW_ITEM_TYPE_END),
    ];
    let mark5 = rte_flow_action_mark { id: 5 };
    let queue1 = rte_flow_action_queue { index: 1 };
    let actions = [
        action(RTE_FLOW_ACTION_TYPE_MARK, Some(&mark5)),
        action(RTE_FLOW_ACTION_TYPE_QUEUE, Some(&queue1)),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    let ours_rule = dump(None, &items, &actions);

    let Some(run) = testpmd_run() else { return };
    assert_eq!(ours_pt, record(run, "pattern_template_create", 0).dump);
    assert_eq!(ours_at, record(run, "actions_template_create", 0).dump);
    let rec = record(run, "async_create", 0);
    assert_eq!(
        rec.op,
        "async_create port=0 queue=0 postpone=0 table=1 pattern_template_index=0 \
         actions_template_index=0 handle=6"
    );
    assert_eq!(ours_rule, rec.dump);
    assert!(run
        .stdout
        .contains("pulled 1 operations (0 failed, 1 succeeded)"));
}

#[test]
fn dump_truncates_like_snprintf() {
    let items = [bare(RTE_FLOW_ITEM_TYPE_END)];
    let actions = [no_conf(RTE_FLOW_ACTION_TYPE_END)];
    let full = dump(None, &items, &actions);
    assert_eq!(full, "item end\naction end\n");
    let mut buf = [0x55u8; 6];
    // SAFETY: END-terminated arrays; buf is 6 writable bytes.
    let n = unsafe {
        dpuflow_recorder_dump(
            ptr::null(),
            items.as_ptr(),
            actions.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert_eq!(usize::try_from(n).ok(), Some(full.len()));
    assert_eq!(&buf, b"item \0");
}

#[test]
fn unknown_and_missing_objects_are_printed_without_pointers() {
    let gre_key = 0u32;
    let items = [
        // Supported by DPDK, not by the recorder.
        item(RTE_FLOW_ITEM_TYPE_ECPRI, Some(&gre_key), None),
        bare(RTE_FLOW_ITEM_TYPE_VOID),
        bare(RTE_FLOW_ITEM_TYPE_END),
    ];
    let actions = [
        no_conf(RTE_FLOW_ACTION_TYPE_RSS),
        no_conf(RTE_FLOW_ACTION_TYPE_SAMPLE),
        no_conf(RTE_FLOW_ACTION_TYPE_END),
    ];
    assert_eq!(
        dump(None, &items, &actions),
        "item ecpri unsupported\nitem void\nitem end\n\
         action rss conf=-\naction sample unsupported\naction end\n"
    );
}
