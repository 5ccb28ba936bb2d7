//! Two worker lcores end to end, over real Linux network stacks: pods a
//! and b (network namespaces on `pf0vf1`/`pf0vf2`) behind `net_af_packet`
//! ports with two queue pairs each, one rx/tx queue per worker; TCP a → b
//! directly and through a ClusterIP, many connections each.
//!
//! How `net_af_packet` spreads rx (DPDK 22.11,
//! `drivers/net/af_packet/rte_eth_af_packet.c`): `qpairs=N` opens N packet
//! sockets on the interface, one per queue, all joined to one
//! `PACKET_FANOUT` group per port (id `(pid ^ ifindex) & 0xffff`, mode
//! `PACKET_FANOUT_HASH | FLAG_DEFRAG | FLAG_ROLLOVER`): the kernel picks
//! the socket by the packet's flow hash modulo N, and rolls over to
//! another socket only when the chosen one's ring is full. The ethdev
//! reports no RSS capability, so the datapath configures no RSS and the
//! spreading is the kernel's alone. Linux computes that hash symmetrically
//! (`__skb_get_hash_symmetric`: both directions of a 5-tuple hash alike,
//! with one boot-wide seed for every interface), so what was seen here:
//! a direct connection's packets in both directions, on both ports, land
//! on one worker; a ClusterIP connection's reply (b's 8080 back to a, a
//! tuple unlike the VIP's) lands on either worker, so about half the
//! connections are served by both workers, the reply worker finding the
//! connection the other one created in the shared table
//! (`conn_hits_other_worker`). The test prints both.
//!
//! On a 2-CPU machine the three lcores float over both CPUs
//! (`--lcores=(0-2)@(0-1)`). One `#[test]` in a binary of its own (the EAL
//! starts once per process).

mod common;

use common::*;
use dpuflow_datapath::{Datapath, DatapathPort};
use dpuflow_dpdk::{Mempool, MempoolConfig};
use dpuflow_engine::lookup::PortRole;
use dpuflow_engine::{Reason, Stats};
use dpuflow_tables::ServiceKey;

/// Connections per case: with the reply on the other worker half the time,
/// all of them staying on one worker has odds of 2^-16.
const CONNECTIONS: usize = 16;

/// Sums over workers of `f`.
fn total(stats: &[Stats], f: impl Fn(&Stats) -> u64) -> u64 {
    stats.iter().map(f).sum()
}

#[test]
fn two_workers_serve_the_same_connections_through_the_shared_table() {
    let a = pod("pod-a", POD_A.0);
    let b = pod("pod-b", POD_B.0);
    let eal = eal("dpuflow-netns-two-workers", "(0-2)@(0-1)");
    assert_eq!(eal.worker_lcores().len(), 2, "main + 2 worker lcores");
    let pool_config = MempoolConfig {
        size: 8191,
        ..MempoolConfig::default()
    };
    let pool = Mempool::new(&eal, "two-workers", &pool_config).expect("mempool");
    let ports = vec![
        DatapathPort {
            name: "pf0vf1".into(),
            role: PortRole::Pod,
            port: af_packet(&eal, 0, &a, 2),
        },
        DatapathPort {
            name: "pf0vf2".into(),
            role: PortRole::Pod,
            port: af_packet(&eal, 1, &b, 2),
        },
    ];
    let dp = Datapath::start(&eal, &pool, ports, common::shared_cpus()).expect("datapath");
    assert_eq!(dp.stats().len(), 2, "one poll loop per worker lcore");

    let mut tables = node_tables(gateway(vec![], None));
    tables.services.insert(
        ServiceKey::new("default", "web"),
        service_to_b("10.96.0.10", 80, None, 8080, false),
    );
    apply(&dp, &Default::default(), &tables);

    let data = payload(64 << 10);
    let mut phases = Vec::new();
    for (what, dial) in [
        ("direct", "10.244.2.6:8080"),
        ("ClusterIP", "10.96.0.10:80"),
    ] {
        let before = dp.stats();
        for i in 0..CONNECTIONS {
            let t = tcp_transfer(&a, &b, sock("10.244.2.6:8080"), sock(dial), &data);
            assert_intact(&format!("{what} connection {i}"), &t, &data);
            assert_eq!(t.server_saw, t.client_local, "no SNAT on {what}");
        }
        let after = dp.stats();
        let delta = |f: fn(&Stats) -> u64| total(&after, f) - total(&before, f);
        let other = delta(|s| s.conn_hits_other_worker);
        let created = delta(|s| s.conns_created);
        let per_worker: Vec<u64> = after
            .iter()
            .zip(&before)
            .map(|(x, y)| x.packets - y.packets)
            .collect();
        println!(
            "{what}: {created} connections created, packets per worker {per_worker:?}, \
             hits on the other worker's connections {other} of {}",
            delta(|s| s.conn_hits)
        );
        assert_eq!(created, CONNECTIONS as u64, "{what}: one connection each");
        phases.push((what, other));
    }

    let stats = dp.stats();
    report("two workers", &stats);
    for (w, s) in stats.iter().enumerate() {
        assert!(s.packets > 0, "worker {w} received nothing: {s:?}");
        assert!(s.conns_created > 0, "worker {w} created nothing: {s:?}");
    }
    let (_, cluster_ip_other) = phases[1];
    assert!(
        cluster_ip_other > 0,
        "no ClusterIP reply landed on the worker that did not create its connection \
         (odds 2^-{CONNECTIONS} if the spreading is as documented)"
    );
    assert_eq!(total(&stats, |s| s.drops_of(Reason::ConntrackClash)), 0);
    dp.stop();
}
