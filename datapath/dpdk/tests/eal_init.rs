//! A failed EAL init is a typed error with DPDK's log, and DPDK cannot be
//! initialised again afterwards (its own rule) — also a typed error.

use dpuflow_dpdk::{EalBuilder, EalError};

#[test]
fn bad_vdev_at_init_fails_with_dpdk_log_then_no_second_init() {
    let err = EalBuilder::new("dpuflow-test")
        .lcores("0")
        .no_pci()
        .no_huge()
        .no_shconf()
        .memory_mb(64)
        .vdev("net_nosuchdriver7")
        .init()
        .expect_err("unknown vdev");
    let EalError::Init { log, .. } = &err else {
        panic!("expected Init, got {err:?}");
    };
    assert!(
        log.contains("net_nosuchdriver7"),
        "DPDK's log names the device: {err}"
    );
    let again = EalBuilder::default()
        .no_huge()
        .init()
        .expect_err("no second init");
    assert!(matches!(again, EalError::AlreadyInitialized), "{again:?}");
}

#[test]
fn nul_in_argument_is_refused_before_dpdk() {
    let err = EalBuilder::default()
        .arg("bad\0arg")
        .init()
        .expect_err("NUL");
    assert!(matches!(err, EalError::BadArgument(_)), "{err:?}");
}
