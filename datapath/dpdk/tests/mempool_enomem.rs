//! A pool larger than the EAL's memory is ENOMEM with DPDK's words. In its
//! own test process: with hugepages the failing request may briefly hold
//! every free page, which would starve tests running beside it.

mod common;

use common::{eal, unique};
use dpuflow_dpdk::{Mempool, MempoolConfig, MempoolError};

#[test]
fn mempool_bigger_than_memory_is_enomem_with_dpdk_message() {
    let eal = eal();
    let config = MempoolConfig {
        size: 4_000_000,
        ..MempoolConfig::default()
    };
    let err = Mempool::new(&eal, &unique("huge"), &config).expect_err("no memory");
    let MempoolError::Create { errno, .. } = &err else {
        panic!("expected Create, got {err:?}");
    };
    assert_eq!(errno.0, libc::ENOMEM, "{err}");
    assert!(err.to_string().contains("memory"), "{err}");
}
