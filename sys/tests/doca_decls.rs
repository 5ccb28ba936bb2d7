//! Compile-level checks of the DOCA Flow declarations (feature `doca`):
//! ABI constants, sizes of the fixed-layout header structs, and the field
//! paths that dpuflow's mapping code relies on. Nothing here calls (or takes
//! the address of) a DOCA function: without a DOCA SDK nothing links.
//!
//! Everything asserted holds for ffi-headers/doca/ and for a real DOCA 2.7
//! SDK alike; only the version test is specific to our stand-ins.
//!
//! Run with `cargo test -p dpuflow-sys --features doca --test doca_decls`.
#![cfg(feature = "doca")]

use std::mem::size_of;

use dpuflow_sys::doca::*;

#[test]
fn error_codes_have_their_abi_values() {
    assert_eq!(DOCA_SUCCESS, 0);
    assert_eq!(DOCA_ERROR_UNKNOWN, 1);
    assert_eq!(DOCA_ERROR_NOT_SUPPORTED, 4);
    assert_eq!(DOCA_ERROR_AGAIN, 5);
    assert_eq!(DOCA_ERROR_INVALID_VALUE, 6);
    assert_eq!(DOCA_ERROR_NO_MEMORY, 7);
    assert_eq!(DOCA_ERROR_NOT_FOUND, 16);
    assert_eq!(DOCA_ERROR_DRIVER, 21);
    assert_eq!(DOCA_ERROR_FULL, 24);
    assert_eq!(DOCA_ERROR_TOO_BIG, 27);
    assert_eq!(size_of::<doca_error_t>(), 4);
}

#[test]
fn enum_values() {
    assert_eq!(DOCA_FLOW_NO_WAIT, 0);
    assert_eq!(DOCA_FLOW_WAIT_FOR_BATCH, 1);

    assert_eq!(DOCA_FLOW_FWD_NONE, 0);
    assert_eq!(DOCA_FLOW_FWD_RSS, 1);
    assert_eq!(DOCA_FLOW_FWD_PORT, 2);
    assert_eq!(DOCA_FLOW_FWD_PIPE, 3);
    assert_eq!(DOCA_FLOW_FWD_DROP, 4);
    assert_eq!(DOCA_FLOW_FWD_TARGET, 5);

    assert_eq!(DOCA_FLOW_L3_TYPE_NONE, 0);
    assert_eq!(DOCA_FLOW_L3_TYPE_IP4, 1);
    assert_eq!(DOCA_FLOW_L3_TYPE_IP6, 2);
    assert_eq!(DOCA_FLOW_L4_TYPE_EXT_TCP, 1);
    assert_eq!(DOCA_FLOW_L4_TYPE_EXT_UDP, 2);
    assert_eq!(DOCA_FLOW_L4_TYPE_EXT_ICMP, 3);
    assert_eq!(DOCA_FLOW_L4_TYPE_EXT_ICMP6, 4);
    assert_eq!(DOCA_FLOW_L4_TYPE_EXT_TRANSPORT, 5);

    assert_eq!(DOCA_FLOW_TUN_NONE, 0);
    assert_eq!(DOCA_FLOW_TUN_VXLAN, 1);
    assert_eq!(DOCA_FLOW_TUN_GRE, 3);
    assert_eq!(DOCA_FLOW_TUN_GENEVE, 6);

    assert_eq!(DOCA_FLOW_PIPE_BASIC, 0);
    assert_eq!(DOCA_FLOW_PIPE_CONTROL, 1);
    assert_eq!(DOCA_FLOW_PIPE_DOMAIN_DEFAULT, 0);
    assert_eq!(DOCA_FLOW_PIPE_DOMAIN_EGRESS, 2);

    assert_eq!(DOCA_FLOW_RESOURCE_TYPE_NONE, 0);
    assert_eq!(DOCA_FLOW_RESOURCE_TYPE_SHARED, 1);
    assert_eq!(DOCA_FLOW_RESOURCE_TYPE_NON_SHARED, 2);

    assert_eq!(DOCA_FLOW_ENTRY_STATUS_IN_PROCESS, 0);
    assert_eq!(DOCA_FLOW_ENTRY_STATUS_SUCCESS, 1);
    assert_eq!(DOCA_FLOW_ENTRY_STATUS_ERROR, 2);
    assert_eq!(DOCA_FLOW_ENTRY_OP_AGED, 3);
}

#[test]
fn constants() {
    assert_eq!(DOCA_FLOW_ETHER_ADDR_LEN, 6);
    assert_eq!(DOCA_FLOW_VLAN_MAX, 2);
    assert_eq!(DOCA_FLOW_PROTO_UDP, 17);
    assert_eq!(DOCA_FLOW_VXLAN_DEFAULT_PORT, 4789);
    assert_eq!(DOCA_FLOW_GENEVE_DEFAULT_PORT, 6081);
    assert_eq!(DOCA_FLOW_ETHER_TYPE_IPV4, 0x0800);
    assert_eq!(DOCA_FLOW_ETHER_TYPE_IPV6, 0x86dd);
}

#[test]
fn header_struct_sizes() {
    assert_eq!(size_of::<doca_be16_t>(), 2);
    assert_eq!(size_of::<doca_be32_t>(), 4);
    assert_eq!(size_of::<doca_be64_t>(), 8);
    assert_eq!(size_of::<doca_flow_header_eth>(), 14);
    assert_eq!(size_of::<doca_flow_header_eth_vlan>(), 2);
    assert_eq!(size_of::<doca_flow_header_l4_port>(), 4);
    assert_eq!(size_of::<doca_flow_header_udp>(), 4);
    assert_eq!(size_of::<doca_flow_header_ip4>(), 20);
    assert_eq!(size_of::<doca_flow_header_geneve>(), 8);
    assert_eq!(size_of::<doca_flow_geneve_option>(), 4);
    assert_eq!(size_of::<doca_flow_ip_addr>(), 20);
    assert_eq!(size_of::<doca_flow_query>(), 16);
    // Handles are opaque: only ever used behind pointers.
    assert_eq!(size_of::<*mut doca_flow_pipe_entry>(), size_of::<usize>());
}

/// A 5-tuple + VXLAN match, the way the mapping code fills it: zeroed
/// (`Default`), then fields set through bindgen's anonymous-union paths.
#[test]
fn match_field_paths() {
    let mut m = doca_flow_match::default();
    m.outer.eth.type_ = 0x0800u16.to_be();
    m.outer.l2_valid_headers = DOCA_FLOW_L2_VALID_HEADER_VLAN_0 as u16;
    m.outer.eth_vlan[0].tci = 100u16.to_be();
    m.outer.l3_type = DOCA_FLOW_L3_TYPE_IP4;
    m.outer.__bindgen_anon_1.ip4 = doca_flow_header_ip4 {
        src_ip: u32::from_be_bytes([10, 0, 0, 1]).to_be(),
        dst_ip: u32::from_be_bytes([10, 0, 0, 2]).to_be(),
        next_proto: DOCA_FLOW_PROTO_UDP as u8,
        ..Default::default()
    };
    m.outer.l4_type_ext = DOCA_FLOW_L4_TYPE_EXT_UDP;
    m.outer.__bindgen_anon_2.udp = doca_flow_header_udp {
        l4_port: doca_flow_header_l4_port {
            src_port: 0,
            dst_port: (DOCA_FLOW_VXLAN_DEFAULT_PORT as u16).to_be(),
        },
    };
    m.tun.type_ = DOCA_FLOW_TUN_VXLAN;
    m.tun.__bindgen_anon_1.__bindgen_anon_1 = doca_flow_tun__bindgen_ty_1__bindgen_ty_1 {
        vxlan_tun_id: (42u32 << 8).to_be(),
        ..Default::default()
    };
    m.meta.pkt_meta = 7;
    m.parser_meta.outer_l3_type = DOCA_FLOW_L3_META_IPV4;

    // SAFETY: reading back the union members written above.
    let (src, dport, vni) = unsafe {
        (
            m.outer.__bindgen_anon_1.ip4.src_ip,
            m.outer.__bindgen_anon_2.udp.l4_port.dst_port,
            m.tun.__bindgen_anon_1.__bindgen_anon_1.vxlan_tun_id,
        )
    };
    assert_eq!(u32::from_be(src), 0x0a00_0001);
    assert_eq!(u16::from_be(dport), 4789);
    assert_eq!(u32::from_be(vni) >> 8, 42);
}

#[test]
fn geneve_tun_field_paths() {
    let mut t = doca_flow_tun {
        type_: DOCA_FLOW_TUN_GENEVE,
        ..Default::default()
    };
    let mut geneve = doca_flow_tun__bindgen_ty_1__bindgen_ty_6::default();
    geneve.geneve.vni = (100u32 << 8).to_be();
    geneve.geneve_options[0].__bindgen_anon_1.class_id = 0x0102u16.to_be();
    geneve.geneve_options[0].__bindgen_anon_1.type_ = 3;
    geneve.geneve_options[0].__bindgen_anon_1.length = 1;
    geneve.geneve_options[1].data = 0xdead_beefu32.to_be();
    assert_eq!(
        geneve.geneve_options.len(),
        DOCA_FLOW_GENEVE_OPT_LEN_MAX as usize
    );
    t.__bindgen_anon_1.__bindgen_anon_6 = geneve;

    // SAFETY: reading back the union members written above.
    let (vni, class) = unsafe {
        (
            t.__bindgen_anon_1.__bindgen_anon_6.geneve.vni,
            t.__bindgen_anon_1.__bindgen_anon_6.geneve_options[0]
                .__bindgen_anon_1
                .class_id,
        )
    };
    assert_eq!(u32::from_be(vni) >> 8, 100);
    assert_eq!(u16::from_be(class), 0x0102);

    let opt = doca_flow_parser_geneve_opt_cfg {
        match_on_class_mode: DOCA_FLOW_PARSER_GENEVE_OPT_MODE_FIXED,
        option_class: 0x0102u16.to_be(),
        option_type: 3,
        option_len: 1,
        ..Default::default()
    };
    assert_eq!(
        opt.data_mask.len(),
        DOCA_FLOW_GENEVE_DATA_OPTION_LEN_MAX as usize
    );
}

#[test]
fn actions_fwd_monitor_field_paths() {
    let mut a = doca_flow_actions {
        action_idx: 0,
        ..Default::default()
    };
    a.outer.l3_type = DOCA_FLOW_L3_TYPE_IP4;
    a.outer.__bindgen_anon_1.ip4.dst_ip = u32::MAX;
    a.decap_type = DOCA_FLOW_RESOURCE_TYPE_NON_SHARED;
    a.__bindgen_anon_1.decap_cfg.is_l2 = true;
    a.encap_type = DOCA_FLOW_RESOURCE_TYPE_NON_SHARED;
    a.__bindgen_anon_2.encap_cfg.is_l2 = true;
    a.__bindgen_anon_2.encap_cfg.encap.tun.type_ = DOCA_FLOW_TUN_GENEVE;
    a.meta.u32_[0] = 1;

    let mut queues = [0u16, 1, 2, 3];
    let mut rss = doca_flow_fwd {
        type_: DOCA_FLOW_FWD_RSS,
        ..Default::default()
    };
    rss.__bindgen_anon_1.__bindgen_anon_1.rss_outer_flags = DOCA_FLOW_RSS_IPV4 | DOCA_FLOW_RSS_UDP;
    rss.__bindgen_anon_1.__bindgen_anon_1.rss_queues = queues.as_mut_ptr();
    rss.__bindgen_anon_1.__bindgen_anon_1.num_of_queues = 4;

    let mut port = doca_flow_fwd {
        type_: DOCA_FLOW_FWD_PORT,
        ..Default::default()
    };
    port.__bindgen_anon_1.__bindgen_anon_2.port_id = 1;

    let mut pipe = doca_flow_fwd {
        type_: DOCA_FLOW_FWD_PIPE,
        ..Default::default()
    };
    pipe.__bindgen_anon_1.__bindgen_anon_3.next_pipe = std::ptr::null_mut();

    let drop = doca_flow_fwd {
        type_: DOCA_FLOW_FWD_DROP,
        ..Default::default()
    };
    assert_eq!(drop.type_, 4);

    let mut mon = doca_flow_monitor {
        counter_type: DOCA_FLOW_RESOURCE_TYPE_NON_SHARED,
        aging_sec: 30,
        meter_type: DOCA_FLOW_RESOURCE_TYPE_NON_SHARED,
        ..Default::default()
    };
    mon.__bindgen_anon_1.non_shared_meter.limit_type = DOCA_FLOW_METER_LIMIT_TYPE_BYTES;
    mon.__bindgen_anon_1.non_shared_meter.cir = 1_000_000;
    mon.__bindgen_anon_1.non_shared_meter.cbs = 64 * 1024;

    let q = doca_flow_query::default();
    assert_eq!((q.total_pkts, q.total_bytes), (0, 0));

    // SAFETY: reading back the union members written above.
    unsafe {
        assert_eq!(port.__bindgen_anon_1.__bindgen_anon_2.port_id, 1);
        assert!(pipe.__bindgen_anon_1.__bindgen_anon_3.next_pipe.is_null());
        assert_eq!(rss.__bindgen_anon_1.__bindgen_anon_1.num_of_queues, 4);
        assert!(a.__bindgen_anon_2.encap_cfg.is_l2);
        assert_eq!(mon.__bindgen_anon_1.non_shared_meter.cir, 1_000_000);
    }
}

/// The entry-process callback type takes a plain `extern "C" fn`.
#[test]
fn entry_callback_type() {
    unsafe extern "C" fn on_entry(
        _entry: *mut doca_flow_pipe_entry,
        _pipe_queue: u16,
        _status: doca_flow_entry_status,
        _op: doca_flow_entry_op,
        _user_ctx: *mut std::ffi::c_void,
    ) {
    }
    let cb: doca_flow_entry_process_cb = Some(on_entry);
    assert!(cb.is_some());
}

#[cfg(not(doca_sdk))]
#[test]
fn stand_ins_follow_doca_2_7() {
    assert_eq!((DOCA_VER_MAJOR, DOCA_VER_MINOR), (2, 7));
    assert_eq!(DOCA_VER_STRING, b"2.7.0\0");
}
