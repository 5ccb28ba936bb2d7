//! NetworkPolicy end to end, over real Linux network stacks: pod b's
//! ingress isolated to allow only pod a on TCP 8080 (pods a and b are
//! network namespaces on `pf0vf1`/`pf0vf2`, opened as `net_af_packet`).
//!
//! - a → b:8080 passes; a → b:9090 is dropped (the connect times out; b
//!   listens there, so without the policy it would connect);
//! - b → a passes (b's egress is not isolated, and a's reply belongs to
//!   b's connection);
//! - a table update removes the policy: the same connect to 9090 succeeds
//!   (the new generation is what the workers run);
//! - an update that puts the policy back ends that open 9090 connection
//!   (the builder kills the connections the change invalidated), while an
//!   open, allowed 8080 connection keeps passing.
//!
//! One `#[test]` in a binary of its own (the EAL starts once per process).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use common::*;
use dpuflow_datapath::{Datapath, DatapathPort};
use dpuflow_dpdk::{Mempool, MempoolConfig, Port};
use dpuflow_engine::lookup::PortRole;
use dpuflow_engine::Reason;
use dpuflow_tables::{
    AllowRule, DirectionPolicy, Peers, PodKey, Policy, PortRange, Ports, Prefix, Protocol,
};

/// How long a connect may take before it counts as blocked: SYNs are
/// retransmitted after 1 s, so two tries.
const BLOCKED_AFTER: Duration = Duration::from_secs(2);

/// b's policy: ingress from pod a on TCP 8080 only; egress open.
fn only_a_on_8080() -> Policy {
    Policy {
        ingress: DirectionPolicy::isolated([AllowRule {
            peers: Peers::Prefixes([Prefix::host(ip(POD_A.0))].into_iter().collect()),
            ports: Ports::ranges([PortRange::single(Protocol::Tcp, 8080)]),
        }]),
        egress: DirectionPolicy::open(),
        allow_arp_nd: true,
        allow_management: true,
    }
}

/// A listener bound inside b, polled without blocking.
fn listen_in_b(b: &dpuflow_netkit::Pod, port: u16) -> TcpListener {
    let l = b
        .run(move || TcpListener::bind(("10.244.2.6", port)))
        .expect("enter b")
        .unwrap_or_else(|e| panic!("bind b:{port}: {e}"));
    l.set_nonblocking(true).expect("nonblocking");
    l
}

/// Writes `msg` on `from` and reads it on `to` within `wait`.
fn passes(from: &mut TcpStream, to: &mut TcpStream, msg: &[u8], wait: Duration) -> bool {
    from.write_all(msg).expect("write");
    to.set_read_timeout(Some(wait)).expect("read timeout");
    let mut got = vec![0u8; msg.len()];
    match to.read_exact(&mut got) {
        Ok(()) => got == msg,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(e) => panic!("reading: {e}"),
    }
}

fn policy_drops(dp: &Datapath) -> u64 {
    dp.stats()
        .iter()
        .map(|s| s.drops_of(Reason::PolicyIngress))
        .sum()
}

#[test]
fn an_ingress_policy_isolates_a_pod_and_table_updates_change_it_live() {
    let a = pod("pod-a", POD_A.0);
    let b = pod("pod-b", POD_B.0);
    let eal = eal("dpuflow-netns-policy", "0-1");
    let pool_config = MempoolConfig {
        size: 4095,
        ..MempoolConfig::default()
    };
    let pool = Mempool::new(&eal, "policy", &pool_config).expect("mempool");
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
            name: "pf0vf1".into(),
            role: PortRole::Pod,
            port: af_packet(&eal, 0, &a, 1),
        },
        DatapathPort {
            name: "pf0vf2".into(),
            role: PortRole::Pod,
            port: af_packet(&eal, 1, &b, 1),
        },
    ];
    let dp = Datapath::start(&eal, &pool, ports, common::shared_cpus()).expect("datapath");

    let open = node_tables(gateway(vec![], None));
    let mut isolated = open.clone();
    isolated
        .policies
        .insert(PodKey::primary("default", "b"), only_a_on_8080());
    apply(&dp, &Default::default(), &isolated);

    // Allowed: a → b:8080.
    let data = payload(256 << 10);
    let t = tcp_transfer(
        &a,
        &b,
        sock("10.244.2.6:8080"),
        sock("10.244.2.6:8080"),
        &data,
    );
    assert_intact("a → b:8080 (allowed)", &t, &data);
    assert_eq!(t.server_saw.ip(), ip(POD_A.0));

    // Not allowed: a → b:9090, though b listens there.
    let on_9090 = listen_in_b(&b, 9090);
    let before = policy_drops(&dp);
    let err = connect(&a, sock("10.244.2.6:9090"), BLOCKED_AFTER)
        .expect_err("b's policy must not let a reach 9090");
    assert_eq!(
        err.kind(),
        ErrorKind::TimedOut,
        "dropped, not refused: {err}"
    );
    assert!(
        policy_drops(&dp) > before,
        "the SYNs were counted as ingress policy drops"
    );
    assert!(
        matches!(on_9090.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock),
        "nothing reached b's 9090 listener"
    );

    // b's egress is not isolated, and a's replies are b's connection's.
    let t = tcp_transfer(
        &b,
        &a,
        sock("10.244.2.5:7070"),
        sock("10.244.2.5:7070"),
        &data,
    );
    assert_intact("b → a:7070", &t, &data);

    // An allowed connection kept open across the policy changes.
    let on_8080 = listen_in_b(&b, 8080);
    let mut kept_a = connect(&a, sock("10.244.2.6:8080"), TIMEOUT).expect("a → b:8080");
    let (mut kept_b, _) = accept_within(&on_8080, TIMEOUT).expect("accept 8080");
    assert!(passes(&mut kept_a, &mut kept_b, b"allowed", TIMEOUT));

    // The policy removed: the same connect to 9090 succeeds.
    apply(&dp, &isolated, &open);
    let mut c_a = connect(&a, sock("10.244.2.6:9090"), BLOCKED_AFTER)
        .expect("without the policy a reaches b:9090");
    let (mut c_b, peer) = accept_within(&on_9090, TIMEOUT).expect("accept 9090");
    assert_eq!(peer, c_a.local_addr().expect("local address"));
    assert!(passes(&mut c_a, &mut c_b, b"ping", TIMEOUT));
    assert!(passes(&mut c_b, &mut c_a, b"pong", TIMEOUT));

    // The policy back: the open 9090 connection ends, 8080 goes on.
    apply(&dp, &open, &isolated);
    let before = policy_drops(&dp);
    assert!(
        !passes(&mut c_a, &mut c_b, b"after", Duration::from_millis(1500)),
        "the 9090 connection still passes after the policy returned"
    );
    assert!(
        policy_drops(&dp) > before,
        "its next packet met the policy again"
    );
    assert!(
        passes(&mut kept_a, &mut kept_b, b"still allowed", TIMEOUT),
        "the allowed 8080 connection was cut by the update"
    );
    let _ = kept_a.shutdown(Shutdown::Both);

    report("policy", &dp.stats());
    dp.stop();
}
