//! A poll loop on a worker lcore, stopped cleanly by a flag.

mod common;

use std::time::Duration;

use common::{eal, pool, unique};
use dpuflow_dpdk::{Burst, LcoreError, Port, PortConfig, StopFlag};

#[test]
fn poll_loop_on_worker_lcore_stops_and_joins() {
    let eal = eal();
    let workers = eal.worker_lcores();
    assert!(!workers.is_empty(), "tests run with -l 0-1");
    let pool = pool(&eal, 2047);
    let mut port = Port::attach(&eal, &unique("net_null_lc")).expect("null port");
    let cfg = PortConfig {
        rx_desc: 256,
        tx_desc: 256,
        ..PortConfig::default()
    };
    port.configure(&cfg, &pool).expect("configure");
    port.start().expect("start");
    let mut rx = port.rx_queue(0).expect("rx");
    let mut tx = port.tx_queue(0).expect("tx");
    let stop = StopFlag::new();
    let flag = stop.clone();
    let job = eal
        .launch(workers[0], move || {
            let mut burst = Burst::<32>::new();
            let mut forwarded = 0u64;
            while !flag.is_stopped() {
                rx.rx_burst(&mut burst);
                forwarded += tx.tx_burst(&mut burst) as u64;
                burst.clear();
            }
            forwarded
        })
        .expect("launch");
    std::thread::sleep(Duration::from_millis(200));
    stop.stop();
    let forwarded = job.join().expect("join");
    assert!(forwarded > 0);
    assert_eq!(port.stats().expect("stats").tx_packets, forwarded);
    port.stop().expect("queues were dropped with the closure");

    let busy = eal
        .launch(eal.main_lcore(), || ())
        .expect_err("main lcore is not a worker");
    assert!(matches!(busy, LcoreError::Launch { .. }), "{busy:?}");
    // The panic is expected: keep its message out of the test log.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let panicked = eal
        .launch(workers[0], || panic!("boom"))
        .expect("launch")
        .join();
    std::panic::set_hook(quiet);
    assert!(matches!(panicked, Err(LcoreError::Panicked(_))));
}
