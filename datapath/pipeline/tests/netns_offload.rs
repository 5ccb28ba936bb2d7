//! Offload end to end, over real Linux network stacks: the same two pods
//! and ClusterIP as the pipeline test, with the datapath started
//! offloaded onto the software table as an emulated NIC (the e-switch a
//! BlueField would give us). Pods ping and move TCP through a ClusterIP;
//! every connection that completed its handshake (or was replied) gets one
//! transfer rule per direction, and the status says so; the service's
//! removal takes its connection's rules before the connection; stopping
//! the datapath removes every rule left.
//!
//! What this does not show: the emulated NIC takes the rules but does not
//! carry the packets here — the software path still does. That the rules
//! do to a packet what the software path does is the differential test's
//! proof (`datapath/offload/tests/differential.rs`).
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
use dpuflow_datapath::offload::OffloadSetup;
use dpuflow_datapath::{Datapath, DatapathPort};
use dpuflow_dpdk::{Mempool, MempoolConfig, Port};
use dpuflow_engine::lookup::PortRole;
use dpuflow_engine::offload::Trigger;
use dpuflow_flow::{Direction, OffloadErrorKind, SoftwareTable};
use dpuflow_offload::{DirOffload, ManagerConfig, RuleSettings};
use dpuflow_tables::{ServiceKey, Tables};

#[test]
fn established_connections_get_one_rule_per_direction_and_lose_them_at_stop() {
    let a = pod("pod-a", POD_A.0);
    let b = pod("pod-b", POD_B.0);
    let eal = eal("dpuflow-netns-offload", "0-1");
    let pool_config = MempoolConfig {
        size: 4095,
        ..MempoolConfig::default()
    };
    let pool = Mempool::new(&eal, "offload", &pool_config).expect("mempool");
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
    // On a BlueField the uplink, host PF and VF representors are one
    // e-switch; here the emulated NIC stands for it.
    let transfer_ports = ports.iter().map(|p| p.port.id()).collect();
    let setup = OffloadSetup {
        backend: |_: &[DatapathPort]| SoftwareTable::new(Direction::Transfer),
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
    let status = wait_offloaded(offload.status(), view.id);
    for dir in [Dir::Forward, Dir::Reply] {
        assert!(
            matches!(status.dir(dir), DirOffload::Offloaded { .. }),
            "{dir:?}: {status:?}"
        );
    }
    // The ping: an ICMP echo connection, offloaded once replied.
    let mut pings = Vec::new();
    dp.conntrack().iter_live(|c| {
        if c.forward.proto == 1 {
            pings.push(c.id);
        }
    });
    assert_eq!(pings.len(), 1, "one ping connection");
    wait_offloaded(offload.status(), pings[0]);

    let c = offload.counters().snapshot();
    println!("offload counters: {c:?}");
    for kind in [
        OffloadErrorKind::Unsupported,
        OffloadErrorKind::TableFull,
        OffloadErrorKind::Invalid,
        OffloadErrorKind::Transient,
    ] {
        assert_eq!(offload.counters().refused(kind), 0, "{kind}: {c:?}");
    }
    let installed: usize = offload
        .status()
        .snapshot()
        .values()
        .flat_map(|s| s.dirs.iter())
        .filter(|d| matches!(d, DirOffload::Offloaded { .. }))
        .count();
    assert!(installed >= 4, "TCP and ping, both ways: {installed}");
    let stats = dp.stats();
    report("offload", &stats);
    let requests: u64 = stats.iter().map(|s| s.offload_requests).sum();
    assert_eq!(
        requests as usize, installed,
        "one request per offloaded direction"
    );

    // The service goes: its connection loses its rules, then its life.
    let mut without = tables.clone();
    without.services.clear();
    apply(&dp, &tables, &without);
    let deadline = Instant::now() + Duration::from_secs(5);
    while dp.conntrack().view(view.id).is_some() || offload.status().get(view.id).is_some() {
        assert!(
            Instant::now() < deadline,
            "the invalidated connection lives on: {:?}",
            offload.status().get(view.id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let c = offload.counters().snapshot();
    assert_eq!((c.invalidated, c.removed), (1, 2), "{c:?}");
    // Per port, group 0's jump and the miss to software stood under them.
    let base = 2 * 4;
    assert_eq!(
        dp.stop(),
        installed - 2 + base,
        "stopping removes every rule left, the base rules last"
    );
}

/// Waits until both directions of `id` are offloaded (or fails, showing
/// the status).
fn wait_offloaded(
    status: &dpuflow_offload::Status,
    id: dpuflow_conntrack::ConnId,
) -> dpuflow_offload::ConnOffload {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = status.get(id);
        if let Some(s) = &s {
            if s.dirs
                .iter()
                .all(|d| matches!(d, DirOffload::Offloaded { .. }))
            {
                return s.clone();
            }
        }
        assert!(Instant::now() < deadline, "not offloaded: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
