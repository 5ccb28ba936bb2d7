//! NetworkPolicies: selectors, ipBlocks, ports, policy types, unions.

use dpuflow_tables::{DirectionPolicy, Peers, PodKey, Policy, PortRange, Ports, Protocol};
use serde_json::{json, Value};

use super::super::error::{ObjectKind, Problem};
use super::*;

const TCP: Protocol = Protocol::Tcp;

/// Namespaces and pods every policy test starts from. Local pods (bound):
/// web/frontend-1 (10.244.1.5, fd00:10:244:1::5) and db/postgres-0
/// (10.244.1.6).
fn world() -> Vec<Value> {
    vec![
        namespace("web", json!({"team": "web", "env": "prod"})),
        namespace("db", json!({"team": "db", "env": "prod"})),
        namespace("dev", json!({"env": "dev"})),
        namespace("monitoring", json!({"purpose": "monitoring"})),
        pod(
            "web",
            "frontend-1",
            HOST,
            json!({"app": "frontend", "tier": "web"}),
            &["10.244.1.5", "fd00:10:244:1::5"],
            &[("http", 8080, "TCP")],
        ),
        pod(
            "web",
            "frontend-2",
            "host-b",
            json!({"app": "frontend", "tier": "web"}),
            &["10.244.2.7"],
            &[("http", 8081, "TCP")],
        ),
        pod(
            "web",
            "admin",
            "host-b",
            json!({"app": "admin"}),
            &["10.244.2.10"],
            &[],
        ),
        pod(
            "db",
            "postgres-0",
            HOST,
            json!({"app": "postgres", "role": "primary"}),
            &["10.244.1.6"],
            &[("pg", 5432, "TCP")],
        ),
        pod(
            "db",
            "postgres-1",
            "host-b",
            json!({"app": "postgres", "role": "replica"}),
            &["10.244.2.8"],
            &[("pg", 5433, "TCP")],
        ),
        pod(
            "dev",
            "tool",
            "host-b",
            json!({"app": "tool"}),
            &["10.244.2.9"],
            &[],
        ),
        pod(
            "monitoring",
            "prom",
            "host-c",
            json!({"app": "prometheus"}),
            &["10.244.3.4"],
            &[("metrics", 9090, "TCP")],
        ),
        host_network_pod(),
        finished_pod(),
    ]
}

fn host_network_pod() -> Value {
    let mut p = pod(
        "web",
        "hostnet",
        HOST,
        json!({"app": "frontend"}),
        &["203.0.113.10"],
        &[],
    );
    p["spec"]["hostNetwork"] = json!(true);
    p
}

fn finished_pod() -> Value {
    let mut p = pod(
        "web",
        "done",
        "host-b",
        json!({"app": "frontend"}),
        &["10.244.2.99"],
        &[],
    );
    p["status"]["phase"] = json!("Succeeded");
    p
}

fn local_ctx() -> TranslateContext {
    ctx(vec![
        binding(
            "uid-web-frontend-1",
            1,
            &["10.244.1.5/24", "fd00:10:244:1::5/64"],
        ),
        binding("uid-db-postgres-0", 2, &["10.244.1.6/24"]),
    ])
}

fn netpol(ns: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-np-{name}"), "generation": 1},
        "spec": spec
    })
}

/// Translates the world plus `policies`, expecting no errors.
fn run(policies: Vec<Value>) -> Translation {
    let mut items = world();
    items.extend(policies);
    clean(&snap(Value::Array(items)), &local_ctx())
}

fn frontend() -> PodKey {
    PodKey::primary("web", "frontend-1")
}

fn postgres() -> PodKey {
    PodKey::primary("db", "postgres-0")
}

fn policy_of(t: &Translation, key: &PodKey) -> Policy {
    t.tables
        .policies
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no policy for {key}: {:?}", t.tables.policies.keys()))
}

/// The addresses (of the world's pods and a few outsiders) `dir` allows on
/// `port`.
fn allowed(dir: &DirectionPolicy, port: u16) -> Vec<&'static str> {
    [
        "10.244.1.5",
        "fd00:10:244:1::5",
        "10.244.1.6",
        "10.244.2.7",
        "10.244.2.8",
        "10.244.2.9",
        "10.244.2.10",
        "10.244.2.99",
        "10.244.3.4",
        "203.0.113.10",
        "192.0.2.1",
    ]
    .into_iter()
    .filter(|a| dir.allows(ip(a), TCP, port))
    .collect()
}

/// All pod addresses except host-network and finished pods.
const ALL_PODS: [&str; 8] = [
    "10.244.1.5",
    "fd00:10:244:1::5",
    "10.244.1.6",
    "10.244.2.7",
    "10.244.2.8",
    "10.244.2.9",
    "10.244.2.10",
    "10.244.3.4",
];

#[test]
fn pods_without_policy_are_not_isolated() {
    let t = run(vec![]);
    assert!(t.tables.policies.is_empty());
    let pods: Vec<String> = t.tables.pods.keys().map(ToString::to_string).collect();
    assert_eq!(pods, ["db/postgres-0@default", "web/frontend-1@default"]);
    let fe = &t.tables.pods[&frontend()];
    assert_eq!(fe.ips, vec![ip("10.244.1.5"), ip("fd00:10:244:1::5")]);
    assert_eq!(fe.port, PortRef::new("pf0vf1"));
    assert_eq!(fe.endpoint, EndpointId(1));
}

#[test]
fn default_deny_ingress_isolates_only_its_namespace() {
    let t = run(vec![netpol(
        "web",
        "deny",
        json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
    )]);
    assert_eq!(t.tables.policies.len(), 1, "db/postgres-0 is not selected");
    let p = policy_of(&t, &frontend());
    assert!(p.ingress.isolated && p.ingress.rules.is_empty());
    assert!(!p.egress.isolated);
    assert!(p.allow_arp_nd && p.allow_management);
    assert!(allowed(&p.ingress, 80).is_empty());
}

#[test]
fn pod_selector_match_labels_in_policy_namespace() {
    let t = run(vec![netpol(
        "web",
        "from-admin",
        json!({
            "podSelector": {"matchLabels": {"app": "frontend"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "admin"}}}]}]
        }),
    )]);
    let p = policy_of(&t, &frontend());
    assert_eq!(allowed(&p.ingress, 80), ["10.244.2.10"]);
    let [rule] = p.ingress.rules.as_slice() else {
        panic!("{p:?}")
    };
    assert_eq!(rule.ports, Ports::Any);
}

#[test]
fn match_expressions_operators() {
    let rule = |port: u16, expr: Value| json!({"from": [{"podSelector": {"matchExpressions": [expr]}}], "ports": [{"port": port}]});
    let t = run(vec![netpol(
        "db",
        "exprs",
        json!({
            "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["postgres", "mysql"]}]},
            "ingress": [
                rule(1001, json!({"key": "role", "operator": "In", "values": ["replica"]})),
                rule(1002, json!({"key": "role", "operator": "NotIn", "values": ["replica"]})),
                rule(1003, json!({"key": "role", "operator": "Exists"})),
                rule(1004, json!({"key": "role", "operator": "DoesNotExist"})),
            ]
        }),
    )]);
    let p = policy_of(&t, &postgres());
    assert_eq!(allowed(&p.ingress, 1001), ["10.244.2.8"]);
    assert_eq!(allowed(&p.ingress, 1002), ["10.244.1.6"]);
    assert_eq!(allowed(&p.ingress, 1003), ["10.244.1.6", "10.244.2.8"]);
    assert!(
        allowed(&p.ingress, 1004).is_empty(),
        "every db pod has a role"
    );
    assert!(
        p.ingress.rules.len() == 3,
        "the empty rule is dropped: {p:?}"
    );
}

#[test]
fn namespace_selector_alone_selects_all_their_pods() {
    let t = run(vec![netpol(
        "db",
        "from-prod",
        json!({
            "podSelector": {},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}}]}]
        }),
    )]);
    let p = policy_of(&t, &postgres());
    assert_eq!(
        allowed(&p.ingress, 5432),
        [
            "10.244.1.5",
            "fd00:10:244:1::5",
            "10.244.1.6",
            "10.244.2.7",
            "10.244.2.8",
            "10.244.2.10"
        ],
        "host-network and finished pods are never peers"
    );
}

#[test]
fn namespace_and_pod_selector_combined_and_ored() {
    let t = run(vec![netpol(
        "web",
        "combined",
        json!({
            "podSelector": {"matchLabels": {"tier": "web"}},
            "ingress": [
                {"from": [{
                    "namespaceSelector": {"matchLabels": {"purpose": "monitoring"}},
                    "podSelector": {"matchLabels": {"app": "prometheus"}}
                }], "ports": [{"port": 9090}]},
                {"from": [{
                    "namespaceSelector": {"matchLabels": {"purpose": "monitoring"}},
                    "podSelector": {"matchLabels": {"app": "frontend"}}
                }], "ports": [{"port": 9091}]},
                {"from": [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dev"}}},
                    {"podSelector": {"matchLabels": {"app": "admin"}}}
                ], "ports": [{"port": 9092}]}
            ]
        }),
    )]);
    let p = policy_of(&t, &frontend());
    assert_eq!(allowed(&p.ingress, 9090), ["10.244.3.4"]);
    assert!(allowed(&p.ingress, 9091).is_empty());
    assert_eq!(allowed(&p.ingress, 9092), ["10.244.2.9", "10.244.2.10"]);
}

#[test]
fn empty_selectors_and_absent_peers() {
    let t = run(vec![
        netpol(
            "web",
            "all-namespaces",
            json!({
                "podSelector": {},
                "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 1}]}]
            }),
        ),
        netpol(
            "web",
            "same-namespace",
            json!({
                "podSelector": {},
                "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 2}]}]
            }),
        ),
        netpol(
            "web",
            "anyone",
            json!({
                "podSelector": {},
                "ingress": [{"ports": [{"port": 3}]}]
            }),
        ),
    ]);
    let p = policy_of(&t, &frontend());
    assert_eq!(allowed(&p.ingress, 1), ALL_PODS);
    assert_eq!(
        allowed(&p.ingress, 2),
        [
            "10.244.1.5",
            "fd00:10:244:1::5",
            "10.244.2.7",
            "10.244.2.10"
        ]
    );
    assert_eq!(allowed(&p.ingress, 3).len(), 11, "no from: every address");
    assert!(matches!(p.ingress.rules.last(), Some(r) if r.peers == Peers::Any));
}

#[test]
fn allow_all_rule() {
    let t = run(vec![netpol(
        "web",
        "allow-all",
        json!({"podSelector": {}, "ingress": [{}]}),
    )]);
    let p = policy_of(&t, &frontend());
    assert!(p.ingress.isolated);
    assert!(p.ingress.allows(ip("198.51.100.1"), Protocol::Udp, 53));
}

#[test]
fn ip_block_with_except_dual_stack() {
    let t = run(vec![netpol(
        "web",
        "egress-blocks",
        json!({
            "podSelector": {"matchLabels": {"app": "frontend"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [
                {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.244.0.0/16", "10.96.0.0/12"]}},
                {"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:bad::/48"]}}
            ]}]
        }),
    )]);
    let p = policy_of(&t, &frontend());
    assert!(!p.ingress.isolated && p.egress.isolated);
    let e = &p.egress;
    for (addr, want) in [
        ("10.1.2.3", true),
        ("10.244.1.6", false),
        ("10.100.0.1", false),
        ("10.95.255.255", true),
        ("10.112.0.0", true),
        ("11.0.0.1", false),
        ("2001:db8:1::1", true),
        ("2001:db8:bad::1", false),
        ("2001:db9::1", false),
    ] {
        assert_eq!(e.allows(ip(addr), TCP, 443), want, "{addr}");
    }
}

#[test]
fn named_ports_in_ingress_use_the_selected_pod() {
    let t = run(vec![netpol(
        "web",
        "named-in",
        json!({
            "podSelector": {},
            "ingress": [{"ports": [
                {"port": "http"},
                {"port": "http", "protocol": "UDP"},
                {"port": "pg"}
            ]}]
        }),
    )]);
    let p = policy_of(&t, &frontend());
    let [rule] = p.ingress.rules.as_slice() else {
        panic!("{p:?}")
    };
    assert_eq!(rule.ports, Ports::ranges([PortRange::single(TCP, 8080)]));
    assert!(p.ingress.allows(ip("192.0.2.1"), TCP, 8080));
    assert!(!p.ingress.allows(ip("192.0.2.1"), Protocol::Udp, 8080));
}

#[test]
fn named_ports_in_egress_are_resolved_per_peer() {
    let t = run(vec![netpol(
        "web",
        "named-out",
        json!({
            "podSelector": {"matchLabels": {"app": "frontend"}},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"podSelector": {"matchLabels": {"tier": "web"}}}], "ports": [{"port": "http"}]},
                {"to": [{"namespaceSelector": {}}], "ports": [{"port": "pg", "protocol": "TCP"}]},
                {"ports": [{"port": "metrics"}]},
                {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"port": "http"}]}
            ]
        }),
    )]);
    let e = policy_of(&t, &frontend()).egress;
    assert_eq!(allowed(&e, 8080), ["10.244.1.5", "fd00:10:244:1::5"]);
    assert_eq!(allowed(&e, 8081), ["10.244.2.7"]);
    assert_eq!(allowed(&e, 5432), ["10.244.1.6"]);
    assert_eq!(allowed(&e, 5433), ["10.244.2.8"]);
    assert_eq!(
        allowed(&e, 9090),
        ["10.244.3.4"],
        "no `to`: every pod with the name"
    );
    assert!(
        !e.allows(ip("192.0.2.1"), TCP, 8080),
        "named ports never match ipBlocks"
    );
}

#[test]
fn port_ranges_and_protocols() {
    let t = run(vec![netpol(
        "db",
        "ports",
        json!({
            "podSelector": {},
            "ingress": [{"ports": [
                {"protocol": "UDP", "port": 5000, "endPort": 5100},
                {"protocol": "SCTP"},
                {"port": 443}
            ]}]
        }),
    )]);
    let i = policy_of(&t, &postgres()).ingress;
    let any = ip("192.0.2.1");
    assert!(i.allows(any, Protocol::Udp, 5000) && i.allows(any, Protocol::Udp, 5100));
    assert!(!i.allows(any, Protocol::Udp, 5101) && !i.allows(any, TCP, 5050));
    assert!(i.allows(any, Protocol::Sctp, 1) && i.allows(any, Protocol::Sctp, 65535));
    assert!(i.allows(any, TCP, 443) && !i.allows(any, Protocol::Udp, 443));
}

#[test]
fn policy_types_are_inferred_when_absent() {
    let t = run(vec![
        netpol(
            "web",
            "egress-rules",
            json!({
                "podSelector": {},
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "admin"}}}]}]
            }),
        ),
        netpol(
            "db",
            "egress-only",
            json!({
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": []
            }),
        ),
    ]);
    let fe = policy_of(&t, &frontend());
    assert!(fe.ingress.isolated, "Ingress is always implied");
    assert!(fe.ingress.rules.is_empty());
    assert!(fe.egress.isolated, "egress rules imply Egress");
    assert_eq!(allowed(&fe.egress, 80), ["10.244.2.10"]);
    let pg = policy_of(&t, &postgres());
    assert!(!pg.ingress.isolated && pg.egress.isolated && pg.egress.rules.is_empty());

    let ingress_only = run(vec![netpol("web", "no-types", json!({"podSelector": {}}))]);
    assert!(!policy_of(&ingress_only, &frontend()).egress.isolated);
}

#[test]
fn several_policies_union_their_allows() {
    let t = run(vec![
        netpol(
            "web",
            "admin",
            json!({
                "podSelector": {"matchLabels": {"app": "frontend"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "admin"}}}], "ports": [{"port": 80}]}]
            }),
        ),
        netpol(
            "web",
            "monitoring",
            json!({
                "podSelector": {"matchLabels": {"tier": "web"}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"purpose": "monitoring"}}}],
                             "ports": [{"port": 9090}]}]
            }),
        ),
        netpol(
            "web",
            "admin-metrics",
            json!({
                "podSelector": {},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "admin"}}}], "ports": [{"port": 9090}]}]
            }),
        ),
    ]);
    let i = policy_of(&t, &frontend()).ingress;
    assert_eq!(allowed(&i, 80), ["10.244.2.10"]);
    assert_eq!(allowed(&i, 9090), ["10.244.2.10", "10.244.3.4"]);
    assert!(allowed(&i, 443).is_empty());
    assert_eq!(i.rules.len(), 2, "rules with equal ports are merged: {i:?}");
}

#[test]
fn remote_pods_are_not_targets() {
    let t = run(vec![netpol("dev", "deny", json!({"podSelector": {}}))]);
    assert!(t.tables.policies.is_empty(), "dev has no pod on this node");
}

#[test]
fn malformed_policies_fail_closed() {
    let mut items = world();
    items.extend([
        netpol("web", "bad-target", json!({
            "podSelector": {"matchExpressions": [{"key": "app", "operator": "Bogus", "values": ["x"]}]},
            "ingress": [{}]
        })),
        netpol("db", "bad-peers", json!({
            "podSelector": {},
            "ingress": [{"from": [
                {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/33"]}},
                {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
                {"podSelector": {"matchLabels": {"role": "replica"}}}
            ], "ports": [{"port": 0}, {"port": 5432, "protocol": "ICMP"}, {"port": 6000, "endPort": 5999}]},
            {"from": [{"podSelector": {"matchLabels": {"role": "replica"}}}], "ports": [{"port": 5432}]}]
        })),
    ]);
    let t = translate(&snap(Value::Array(items)), &local_ctx());
    assert!(
        !t.tables.policies.contains_key(&frontend()),
        "unparsable target selector"
    );
    let pg = policy_of(&t, &postgres());
    assert!(pg.ingress.isolated);
    assert!(
        !pg.ingress.allows(ip("10.1.0.1"), TCP, 5432),
        "bad ipBlock dropped, not widened"
    );
    assert_eq!(allowed(&pg.ingress, 5432), ["10.244.2.8"]);
    assert_eq!(
        pg.ingress.rules.len(),
        1,
        "the first rule's ports are all bad: {pg:?}"
    );
    let errors = t
        .errors
        .iter()
        .filter(|e| e.kind == ObjectKind::NetworkPolicy);
    let problems: Vec<&Problem> = errors.map(|e| &e.problem).collect();
    assert!(
        matches!(
            problems.as_slice(),
            [
                Problem::Selector(_),
                Problem::Cidr(_),
                Problem::Selector(_),
                Problem::Port(0),
                Problem::Protocol(_),
                Problem::Port(5999),
            ]
        ),
        "{problems:?}"
    );
}

#[test]
fn replicas_share_results_but_named_ports_stay_per_pod() {
    let mut items = world();
    items.push(pod(
        "web",
        "frontend-3",
        HOST,
        json!({"app": "frontend", "tier": "web"}),
        &["10.244.1.7"],
        &[("http", 9000, "TCP")],
    ));
    items.push(pod(
        "web",
        "frontend-4",
        HOST,
        json!({"app": "frontend", "tier": "web"}),
        &["10.244.1.8"],
        &[("http", 8080, "TCP")],
    ));
    items.push(netpol("web", "named-in", json!({
        "podSelector": {"matchLabels": {"app": "frontend"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "admin"}}}], "ports": [{"port": "http"}]}]
    })));
    let mut c = local_ctx();
    c.bindings
        .push(binding("uid-web-frontend-3", 4, &["10.244.1.7/24"]));
    c.bindings
        .push(binding("uid-web-frontend-4", 5, &["10.244.1.8/24"]));
    let t = clean(&snap(Value::Array(items)), &c);
    let p1 = policy_of(&t, &frontend());
    let p3 = policy_of(&t, &PodKey::primary("web", "frontend-3"));
    let p4 = policy_of(&t, &PodKey::primary("web", "frontend-4"));
    assert_eq!(p1, p4, "same inputs, same policy");
    assert_eq!(allowed(&p1.ingress, 8080), ["10.244.2.10"]);
    assert_eq!(allowed(&p3.ingress, 9000), ["10.244.2.10"]);
    assert!(allowed(&p3.ingress, 8080).is_empty());
}
