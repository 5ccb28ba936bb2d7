//! Offload refused by the PMD, end to end: the datapath started offloaded
//! through the real rte_flow backend (`FlowTable`, transfer rules on the
//! proxy DPDK picks) over ports whose PMDs implement no rte_flow (a
//! `net_ring` uplink, `net_af_packet` pods), as on any machine without an
//! e-switch. Every connection is refused with the PMD's reason, keeps
//! working in software, is asked for once per direction (a refusal for
//! good is not retried), and the counters say why.
//!
//! One `#[test]` in a binary of its own (the EAL starts once per process).
//! Needs root, iproute2, ethtool and iputils-ping (./scripts/setup.sh).

mod common;

use std::time::{Duration, Instant};

use common::{
    af_packet, apply, assert_intact, eal, gateway, ip, node_tables, payload, pod, report,
    service_to_b, shared_cpus, sock, tcp_transfer, POD_A, POD_B,
};
use dpuflow_conntrack::{Dir, FlowKey};
use dpuflow_datapath::offload::{switch_ports, OffloadSetup};
use dpuflow_datapath::{Datapath, DatapathPort};
use dpuflow_dpdk::{Mempool, MempoolConfig, Port};
use dpuflow_engine::lookup::PortRole;
use dpuflow_engine::offload::Trigger;
use dpuflow_flow::OffloadErrorKind;
use dpuflow_flow_rte::{FlowTable, FlowTableConfig};
use dpuflow_offload::{DirOffload, ManagerConfig, RuleSettings};
use dpuflow_tables::{ServiceKey, Tables};

#[test]
fn connections_a_pmd_refuses_stay_in_software_with_the_reason() {
    let a = pod("pod-a", POD_A.0);
    let b = pod("pod-b", POD_B.0);
    let eal = eal("dpuflow-netns-offload-refused", "0-1");
    let pool_config = MempoolConfig {
        size: 4095,
        ..MempoolConfig::default()
    };
    let pool = Mempool::new(&eal, "refused", &pool_config).expect("mempool");
    let (uplink, _uplink_peer) = Port::ring_pair(&eal, "uplink", 1024).expect("uplink ring");
    let (host, _host_peer) = Port::ring_pair(&eal, "host", 1024).expect("host ring");
    let ports = vec![
        DatapathPort {
            name: "p0".into(),
            role: PortRole::Uplink,
            port: uplink,
        },
        DatapathPort {
            name: "pf0hpf".into(),
            role: PortRole::HostPf,
            port: host,
        },
        DatapathPort {
            name: POD_A.1.into(),
            role: PortRole::Pod,
            port: af_packet(&eal, 0, &a, 1),
        },
        DatapathPort {
            name: POD_B.1.into(),
            role: PortRole::Pod,
            port: af_packet(&eal, 1, &b, 1),
        },
    ];
    // Virtual devices are in no e-switch: by their own account no
    // connection is eligible. Every port is handed to the backend anyway,
    // as a BlueField's would be, to see the PMD's own refusal.
    assert!(switch_ports(&ports).is_empty(), "vdevs are in no switch");
    let transfer_ports = ports.iter().map(|p| p.port.id()).collect();
    let setup = OffloadSetup {
        backend: |ports: &[DatapathPort]| {
            FlowTable::new(&ports[0].port, FlowTableConfig::default())
        },
        trigger: Trigger::Established,
        queue: 1024,
        manager: ManagerConfig {
            rules: RuleSettings { transfer_ports },
            fold_interval: Duration::from_millis(100),
            ..ManagerConfig::default()
        },
    };
    let dp = Datapath::start_offloaded(&eal, &pool, ports, shared_cpus(), setup).expect("datapath");
    let mut tables = node_tables(gateway(vec![], None));
    tables.services.insert(
        ServiceKey::new("default", "web"),
        service_to_b("10.96.0.10", 80, None, 8080, false),
    );
    apply(&dp, &Tables::default(), &tables);

    let p = a.ping(ip(POD_B.0), 3).expect("ping");
    assert_eq!(p.received, 3, "{}", p.output);
    let data = payload(1 << 20);
    let t = tcp_transfer(
        &a,
        &b,
        sock("10.244.2.6:8080"),
        sock("10.96.0.10:80"),
        &data,
    );
    assert_intact("ClusterIP TCP", &t, &data);

    let offload = dp.offload().expect("offload on");
    let tcp = FlowKey {
        zone: 0,
        proto: 6,
        src: t.server_saw.ip(),
        dst: ip("10.96.0.10"),
        sport: t.server_saw.port(),
        dport: 80,
    };
    let view = dp
        .conntrack()
        .get(&tcp)
        .expect("the TCP connection is tracked");
    let status = wait_settled(offload.status(), view.id);
    for dir in [Dir::Forward, Dir::Reply] {
        match status.dir(dir) {
            DirOffload::Refused { kind, message } => {
                assert_eq!(*kind, OffloadErrorKind::Unsupported, "{dir:?}: {message}");
                // The base rules (group 0's jump on each port) go in first
                // and were refused: the PMD's words say why.
                assert!(message.starts_with("base rules: "), "{dir:?}: {message}");
                assert!(
                    message.contains("port"),
                    "{dir:?}: the PMD's words: {message}"
                );
            }
            other => panic!("{dir:?}: expected a refusal, got {other:?}"),
        }
    }
    // A second transfer on a new connection works as well, in software.
    let again = tcp_transfer(
        &a,
        &b,
        sock("10.244.2.6:8080"),
        sock("10.96.0.10:80"),
        &data,
    );
    assert_intact("ClusterIP TCP after the refusal", &again, &data);

    let stats = dp.stats();
    report("refused", &stats);
    let requests: u64 = stats.iter().map(|s| s.offload_requests).sum();
    let deadline = Instant::now() + Duration::from_secs(5);
    while offload.counters().refused(OffloadErrorKind::Unsupported) < requests {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            offload.counters().snapshot()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let c = offload.counters().snapshot();
    println!("offload counters: {c:?}");
    assert_eq!(
        requests, 6,
        "ping, two TCP connections: each direction asked once"
    );
    assert_eq!(c.installed, 0, "{c:?}");
    assert_eq!(c.retries, 0, "unsupported is not retried: {c:?}");
    assert_eq!(dp.stop(), 0, "no rule to remove");
}

/// Waits until neither direction of `id` is pending (or fails, showing
/// the status).
fn wait_settled(
    status: &dpuflow_offload::Status,
    id: dpuflow_conntrack::ConnId,
) -> dpuflow_offload::ConnOffload {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = status.get(id);
        if let Some(s) = &s {
            if s.dirs
                .iter()
                .all(|d| !matches!(d, DirOffload::Pending | DirOffload::Retrying { .. }))
            {
                return s.clone();
            }
        }
        assert!(Instant::now() < deadline, "still pending: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
