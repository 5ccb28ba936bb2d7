//! Bad input gives typed errors carrying DPDK's own words, never a panic.

mod common;

use common::{builder, eal, pool, unique};
use dpuflow_dpdk::{
    EalBuilder, EalError, Mempool, MempoolConfig, MempoolError, Port, PortConfig, PortError,
};

#[test]
fn eal_init_twice_is_an_error() {
    let _eal = eal();
    match builder().init() {
        Err(EalError::AlreadyInitialized) => {}
        other => panic!("expected AlreadyInitialized, got {other:?}"),
    }
    match EalBuilder::default().init() {
        Err(EalError::AlreadyInitialized) => {}
        other => panic!("expected AlreadyInitialized, got {other:?}"),
    }
}

#[test]
fn unknown_vdev_is_an_attach_error_with_dpdk_message() {
    let eal = eal();
    let err = Port::attach(&eal, "net_nosuchdriver0").expect_err("must fail");
    let PortError::Attach { errno, log, .. } = &err else {
        panic!("expected Attach, got {err:?}");
    };
    assert!(errno.0 > 0, "{err}");
    assert!(!log.is_empty(), "DPDK's log should explain: {err}");
    assert!(err.to_string().contains("net_nosuchdriver0"), "{err}");
}

#[test]
fn unknown_port_name_is_not_found() {
    let eal = eal();
    let err = Port::by_name(&eal, "no_such_port").expect_err("must fail");
    assert!(matches!(err, PortError::NotFound(_)), "{err:?}");
}

#[test]
fn a_port_has_one_owner() {
    let eal = eal();
    let (a, _b) = Port::ring_pair(&eal, &unique("own"), 64).expect("ring pair");
    let err = Port::by_id(&eal, a.id()).expect_err("second owner");
    assert!(
        matches!(err, PortError::InUse(id) if id == a.id()),
        "{err:?}"
    );
}

#[test]
fn queue_index_out_of_range_and_double_take() {
    let eal = eal();
    let pool = pool(&eal, 1023);
    let (mut a, _b) = Port::ring_pair(&eal, &unique("q"), 64).expect("ring pair");
    let config = PortConfig {
        rx_desc: 128,
        tx_desc: 128,
        ..PortConfig::default()
    };
    a.configure(&config, &pool).expect("configure");
    a.start().expect("start");
    let err = a.rx_queue(5).expect_err("out of range");
    assert!(
        matches!(
            err,
            PortError::QueueOutOfRange {
                queue: 5,
                configured: 1,
                dir: "rx",
                ..
            }
        ),
        "{err:?}"
    );
    let err = a.tx_queue(1).expect_err("out of range");
    assert!(
        matches!(err, PortError::QueueOutOfRange { dir: "tx", .. }),
        "{err:?}"
    );
    let q = a.rx_queue(0).expect("first take");
    assert!(matches!(a.rx_queue(0), Err(PortError::QueueTaken { .. })));
    assert!(
        matches!(a.stop(), Err(PortError::Busy(_))),
        "cannot stop under a live queue"
    );
    drop(q);
    a.rx_queue(0).expect("free again after drop");
}

#[test]
fn too_many_queues_is_refused_before_dpdk() {
    let eal = eal();
    let pool = pool(&eal, 1023);
    let (mut a, _b) = Port::ring_pair(&eal, &unique("tmq"), 64).expect("ring pair");
    let config = PortConfig {
        rx_queues: 64,
        ..PortConfig::default()
    };
    let err = a.configure(&config, &pool).expect_err("too many");
    assert!(
        matches!(err, PortError::TooManyQueues { wanted: 64, .. }),
        "{err:?}"
    );
}

#[test]
fn mempool_too_small_for_the_rx_ring() {
    let eal = eal();
    let small = pool(&eal, 63);
    let (mut a, _b) = Port::ring_pair(&eal, &unique("small"), 64).expect("ring pair");
    let err = a
        .configure(&PortConfig::default(), &small)
        .expect_err("too small");
    let PortError::MempoolTooSmall { reason, .. } = &err else {
        panic!("expected MempoolTooSmall, got {err:?}");
    };
    assert!(reason.contains("1024"), "{err}");
}

#[test]
fn mbufs_too_small_for_the_mtu() {
    let eal = eal();
    let config = MempoolConfig {
        size: 2047,
        cache: 0,
        data_room: 1024 + 128,
        socket: None,
    };
    let pool = Mempool::new(&eal, &unique("tiny"), &config).expect("pool");
    let (mut a, _b) = Port::ring_pair(&eal, &unique("mtu"), 64).expect("ring pair");
    let cfg = PortConfig {
        mtu: Some(1500),
        rx_desc: 128,
        ..PortConfig::default()
    };
    let err = a.configure(&cfg, &pool).expect_err("frame too big");
    assert!(matches!(err, PortError::MempoolTooSmall { .. }), "{err:?}");
}

#[test]
fn exhausted_pool_is_a_typed_error() {
    let eal = eal();
    let pool = pool(&eal, 31);
    let mut burst = dpuflow_dpdk::Burst::<32>::new();
    let err = pool.alloc_bulk(&mut burst, 32).expect_err("31 < 32");
    assert!(
        matches!(err, MempoolError::Exhausted { wanted: 32, .. }),
        "{err:?}"
    );
    assert!(burst.is_empty(), "all or nothing");
    pool.alloc_bulk(&mut burst, 31).expect("31 fit");
    assert!(pool.alloc().is_err());
    burst.clear();
    assert_eq!(pool.in_use(), 0);
}
