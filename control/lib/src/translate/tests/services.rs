//! Services: every type, traffic policies, affinity, ports, readiness.

use dpuflow_tables::{Backend, Protocol, Service, ServiceKey};
use serde_json::{json, Value};

use super::super::error::ObjectKind;
use super::*;

fn service(ns: &str, name: &str, spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-svc-{name}")},
        "spec": spec,
        "status": status
    })
}

fn slice(ns: &str, name: &str, svc: &str, family: &str, ports: Value, endpoints: Value) -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {
                "kubernetes.io/service-name": svc,
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
            }
        },
        "addressType": family,
        "ports": ports,
        "endpoints": endpoints
    })
}

/// An endpoint on `node` with `conditions`.
fn ep(addr: &str, node: &str, conditions: Value) -> Value {
    json!({
        "addresses": [addr],
        "conditions": conditions,
        "nodeName": node,
        "targetRef": {"kind": "Pod", "namespace": "web", "name": format!("pod-{addr}")}
    })
}

fn ready() -> Value {
    json!({"ready": true, "serving": true, "terminating": false})
}

fn be(addr: &str, port: u16) -> Backend {
    Backend { ip: ip(addr), port }
}

fn one(t: &Translation, ns: &str, name: &str) -> Service {
    t.tables
        .services
        .get(&ServiceKey::new(ns, name))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "service {ns}/{name} missing: {:?}",
                t.tables.services.keys()
            )
        })
}

fn http_slice(name: &str, svc: &str, port: i32, endpoints: Value) -> Value {
    slice(
        "web",
        name,
        svc,
        "IPv4",
        json!([{"name": "http", "port": port, "protocol": "TCP"}]),
        endpoints,
    )
}

#[test]
fn cluster_ip_service() {
    let s = snap(json!([
        service(
            "web",
            "frontend",
            json!({
                "type": "ClusterIP",
                "clusterIP": "10.96.0.10",
                "clusterIPs": ["10.96.0.10"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                "selector": {"app": "frontend"},
                "sessionAffinity": "None",
                "internalTrafficPolicy": "Cluster"
            }),
            json!({"loadBalancer": {}})
        ),
        http_slice(
            "frontend-abcde",
            "frontend",
            8080,
            json!([
                ep("10.244.2.7", "host-b", ready()),
                ep("10.244.1.5", HOST, ready()),
            ])
        ),
    ]));
    let svc = one(&clean(&s, &ctx(vec![])), "web", "frontend");
    assert_eq!(svc.cluster_ips, vec![ip("10.96.0.10")]);
    assert!(svc.external_ips.is_empty());
    assert_eq!(svc.affinity_timeout, None);
    assert!(!svc.external_local && !svc.internal_local);
    let [p] = svc.ports.as_slice() else {
        panic!("one port: {svc:?}")
    };
    assert_eq!((p.protocol, p.port, p.node_port), (Protocol::Tcp, 80, None));
    assert_eq!(
        p.backends,
        vec![be("10.244.1.5", 8080), be("10.244.2.7", 8080)]
    );
    assert!(
        p.local_backends.is_empty(),
        "only filled for Local policies"
    );
}

#[test]
fn dual_stack_service_has_both_families() {
    let s = snap(json!([
        service(
            "web",
            "ds",
            json!({
                "type": "ClusterIP",
                "clusterIP": "10.96.0.11",
                "clusterIPs": ["10.96.0.11", "fd00:10:96::11"],
                "ipFamilies": ["IPv4", "IPv6"],
                "ipFamilyPolicy": "RequireDualStack",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
            }),
            json!({})
        ),
        slice(
            "web",
            "ds-v4",
            "ds",
            "IPv4",
            json!([{"name": "http", "port": 8080, "protocol": "TCP"}]),
            json!([ep("10.244.1.5", HOST, ready())])
        ),
        slice(
            "web",
            "ds-v6",
            "ds",
            "IPv6",
            json!([{"name": "http", "port": 8080, "protocol": "TCP"}]),
            json!([ep("fd00:10:244:1::5", HOST, ready())])
        ),
    ]));
    let svc = one(&clean(&s, &ctx(vec![])), "web", "ds");
    assert_eq!(
        svc.cluster_ips,
        vec![ip("10.96.0.11"), ip("fd00:10:96::11")]
    );
    assert_eq!(
        svc.ports[0].backends,
        vec![be("10.244.1.5", 8080), be("fd00:10:244:1::5", 8080)]
    );
}

#[test]
fn named_target_port_is_resolved_per_slice() {
    // Pods disagree on the number behind targetPort "web": the slice
    // controller puts each mapping in its own slice.
    let s = snap(json!([
        service(
            "web",
            "named",
            json!({
                "clusterIP": "10.96.0.12",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"}]
            }),
            json!({})
        ),
        http_slice(
            "named-1",
            "named",
            8080,
            json!([ep("10.244.1.5", HOST, ready())])
        ),
        http_slice(
            "named-2",
            "named",
            9090,
            json!([ep("10.244.2.7", "host-b", ready())])
        ),
        http_slice(
            "other-svc",
            "unrelated",
            7070,
            json!([ep("10.244.2.8", "host-b", ready())])
        ),
    ]));
    let svc = one(&clean(&s, &ctx(vec![])), "web", "named");
    assert_eq!(
        svc.ports[0].backends,
        vec![be("10.244.1.5", 8080), be("10.244.2.7", 9090)]
    );
}

#[test]
fn multi_port_service_with_every_protocol() {
    let s = snap(json!([
        service(
            "kube-system",
            "dns",
            json!({
                "clusterIP": "10.96.0.10",
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 5353},
                    {"name": "sig", "port": 9999, "protocol": "SCTP", "targetPort": 9999}
                ]
            }),
            json!({})
        ),
        slice(
            "kube-system",
            "dns-x",
            "dns",
            "IPv4",
            json!([
                {"name": "dns", "port": 5353, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 5353, "protocol": "TCP"},
                {"name": "sig", "port": 9999, "protocol": "SCTP"}
            ]),
            json!([
                ep("10.244.1.20", HOST, ready()),
                ep("10.244.2.20", "host-b", ready())
            ])
        ),
    ]));
    let svc = one(&clean(&s, &ctx(vec![])), "kube-system", "dns");
    let got: Vec<(Protocol, u16, usize)> = svc
        .ports
        .iter()
        .map(|p| (p.protocol, p.port, p.backends.len()))
        .collect();
    assert_eq!(
        got,
        [
            (Protocol::Udp, 53, 2),
            (Protocol::Tcp, 53, 2),
            (Protocol::Sctp, 9999, 2)
        ]
    );
    assert_eq!(svc.ports[0].backends[0], be("10.244.1.20", 5353));
}

#[test]
fn unnamed_single_port_matches_unnamed_slice_port() {
    let s = snap(json!([
        service(
            "web",
            "plain",
            json!({
                "clusterIP": "10.96.0.13",
                "ports": [{"port": 443, "protocol": "TCP", "targetPort": 8443}]
            }),
            json!({})
        ),
        slice(
            "web",
            "plain-1",
            "plain",
            "IPv4",
            json!([{"name": "", "port": 8443, "protocol": "TCP"}]),
            json!([ep("10.244.2.7", "host-b", ready())])
        ),
    ]));
    let svc = one(&clean(&s, &ctx(vec![])), "web", "plain");
    assert_eq!(svc.ports[0].backends, vec![be("10.244.2.7", 8443)]);
}

#[test]
fn node_port_with_external_traffic_policy_local() {
    let s = snap(json!([
        service(
            "web",
            "np",
            json!({
                "type": "NodePort",
                "clusterIP": "10.96.0.14",
                "externalTrafficPolicy": "Local",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080}]
            }),
            json!({})
        ),
        http_slice(
            "np-1",
            "np",
            8080,
            json!([
                ep("10.244.1.5", HOST, ready()),
                ep("10.244.2.7", "host-b", ready()),
            ])
        ),
    ]));
    let svc = one(&clean(&s, &ctx(vec![])), "web", "np");
    assert!(svc.external_local && !svc.internal_local);
    let p = &svc.ports[0];
    assert_eq!(p.node_port, Some(30080));
    assert_eq!(p.local_backends, vec![be("10.244.1.5", 8080)]);
    assert_eq!(p.external_backends(&svc), &[be("10.244.1.5", 8080)]);
    assert_eq!(
        p.cluster_ip_backends(&svc).len(),
        2,
        "cluster traffic still uses all"
    );
}

#[test]
fn internal_traffic_policy_local_without_local_endpoint() {
    let s = snap(json!([
        service(
            "web",
            "itp",
            json!({
                "clusterIP": "10.96.0.15",
                "internalTrafficPolicy": "Local",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
            }),
            json!({})
        ),
        http_slice(
            "itp-1",
            "itp",
            8080,
            json!([ep("10.244.2.7", "host-b", ready())])
        ),
    ]));
    let svc = one(&clean(&s, &ctx(vec![])), "web", "itp");
    assert!(svc.internal_local);
    let p = &svc.ports[0];
    assert!(
        p.cluster_ip_backends(&svc).is_empty(),
        "no local endpoint: dropped"
    );
    assert_eq!(p.backends, vec![be("10.244.2.7", 8080)]);
}

#[test]
fn load_balancer_ingress_and_external_ips() {
    let s = snap(json!([
        service(
            "web",
            "lb",
            json!({
                "type": "LoadBalancer",
                "clusterIP": "10.96.0.16",
                "externalIPs": ["192.0.2.60"],
                "externalTrafficPolicy": "Cluster",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443, "nodePort": 30443}]
            }),
            json!({"loadBalancer": {"ingress": [
                {"ip": "192.0.2.52", "ipMode": "VIP"},
                {"hostname": "lb.example.com"},
                {"ip": "192.0.2.51", "ipMode": "Proxy"},
                {"ip": "192.0.2.50"},
                {"ip": "192.0.2.60"}
            ]}})
        ),
        service(
            "web",
            "lb-no-np",
            json!({
                "type": "LoadBalancer",
                "clusterIP": "10.96.0.17",
                "allocateLoadBalancerNodePorts": false,
                "ports": [{"port": 443, "protocol": "TCP", "targetPort": 8443}]
            }),
            json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.70"}]}})
        ),
    ]));
    let t = clean(&s, &ctx(vec![]));
    let lb = one(&t, "web", "lb");
    assert_eq!(
        lb.external_ips,
        vec![ip("192.0.2.50"), ip("192.0.2.52"), ip("192.0.2.60")]
    );
    assert_eq!(lb.ports[0].node_port, Some(30443));
    assert!(lb.ports[0].backends.is_empty(), "no slice yet");
    let plain = one(&t, "web", "lb-no-np");
    assert_eq!(plain.external_ips, vec![ip("192.0.2.70")]);
    assert_eq!(plain.ports[0].node_port, None);
}

#[test]
fn external_name_and_headless_services_are_skipped() {
    let s = snap(json!([
        service(
            "web",
            "ext",
            json!({"type": "ExternalName", "externalName": "db.example.com"}),
            json!({})
        ),
        service(
            "db",
            "pg-headless",
            json!({
                "clusterIP": "None",
                "clusterIPs": ["None"],
                "ports": [{"name": "pg", "port": 5432, "protocol": "TCP", "targetPort": 5432}]
            }),
            json!({})
        ),
        slice(
            "db",
            "pg-headless-1",
            "pg-headless",
            "IPv4",
            json!([{"name": "pg", "port": 5432, "protocol": "TCP"}]),
            json!([ep("10.244.1.6", HOST, ready())])
        ),
    ]));
    assert!(clean(&s, &ctx(vec![])).tables.services.is_empty());
}

#[test]
fn only_ready_endpoints_are_used() {
    let s = snap(json!([
        service(
            "web",
            "rd",
            json!({
                "clusterIP": "10.96.0.18",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
            }),
            json!({})
        ),
        http_slice(
            "rd-1",
            "rd",
            8080,
            json!([
                ep("10.244.2.1", "host-b", ready()),
                ep("10.244.2.2", "host-b", json!({})),
                {"addresses": ["10.244.2.3"]},
                ep("10.244.2.4", "host-b", json!({"ready": false, "serving": false, "terminating": false})),
                ep("10.244.2.5", "host-b", json!({"ready": false, "serving": true, "terminating": true})),
                ep("10.244.2.6", "host-b", json!({"ready": true, "terminating": true})),
            ])
        ),
    ]));
    let svc = one(&clean(&s, &ctx(vec![])), "web", "rd");
    assert_eq!(
        svc.ports[0].backends,
        vec![
            be("10.244.2.1", 8080),
            be("10.244.2.2", 8080),
            be("10.244.2.3", 8080)
        ]
    );
}

#[test]
fn serving_terminating_fallback_per_scope() {
    let s = snap(json!([
        service(
            "web",
            "drain",
            json!({
                "clusterIP": "10.96.0.19",
                "internalTrafficPolicy": "Local",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
            }),
            json!({})
        ),
        http_slice(
            "drain-1",
            "drain",
            8080,
            json!([
                ep(
                    "10.244.1.5",
                    HOST,
                    json!({"ready": false, "serving": true, "terminating": true})
                ),
                ep(
                    "10.244.1.6",
                    HOST,
                    json!({"ready": false, "serving": false, "terminating": true})
                ),
                ep("10.244.2.7", "host-b", ready()),
            ])
        ),
        service(
            "web",
            "all-terminating",
            json!({
                "clusterIP": "10.96.0.20",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
            }),
            json!({})
        ),
        http_slice(
            "all-terminating-1",
            "all-terminating",
            8080,
            json!([
                ep(
                    "10.244.2.8",
                    "host-b",
                    json!({"ready": false, "serving": true, "terminating": true})
                ),
                ep(
                    "10.244.2.9",
                    "host-b",
                    json!({"ready": false, "serving": false, "terminating": true})
                ),
            ])
        ),
    ]));
    let t = clean(&s, &ctx(vec![]));
    let drain = one(&t, "web", "drain");
    let p = &drain.ports[0];
    assert_eq!(
        p.backends,
        vec![be("10.244.2.7", 8080)],
        "cluster scope has a ready one"
    );
    assert_eq!(
        p.local_backends,
        vec![be("10.244.1.5", 8080)],
        "local scope falls back"
    );
    let all = one(&t, "web", "all-terminating");
    assert_eq!(all.ports[0].backends, vec![be("10.244.2.8", 8080)]);
}

#[test]
fn client_ip_affinity_timeouts() {
    let spec = |affinity: Value| {
        let mut spec = json!({
            "clusterIP": "10.96.0.21",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
        });
        if let Value::Object(extra) = affinity {
            for (k, v) in extra {
                spec[k] = v;
            }
        }
        spec
    };
    let s = snap(json!([
        service(
            "web",
            "default-timeout",
            spec(json!({"sessionAffinity": "ClientIP"})),
            json!({})
        ),
        service(
            "web",
            "short",
            spec(json!({
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}
            })),
            json!({})
        ),
        service(
            "web",
            "none",
            spec(json!({"sessionAffinity": "None"})),
            json!({})
        ),
    ]));
    let t = clean(&s, &ctx(vec![]));
    assert_eq!(
        one(&t, "web", "default-timeout").affinity_timeout,
        Some(10800)
    );
    assert_eq!(one(&t, "web", "short").affinity_timeout, Some(600));
    assert_eq!(one(&t, "web", "none").affinity_timeout, None);
}

#[test]
fn slices_dedupe_skip_fqdn_and_report_bad_addresses() {
    let s = snap(json!([
        service(
            "web",
            "messy",
            json!({
                "clusterIP": "10.96.0.22",
                "ports": [
                    {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                    {"name": "quic", "port": 443, "protocol": "QUIC", "targetPort": 8443}
                ]
            }),
            json!({})
        ),
        http_slice(
            "messy-1",
            "messy",
            8080,
            json!([
                ep("10.244.2.7", "host-b", ready()),
                {"addresses": ["10.244.2.8", "10.244.2.88"], "conditions": {"ready": true}},
                ep("bogus", "host-b", ready()),
            ])
        ),
        http_slice(
            "messy-2",
            "messy",
            8080,
            json!([ep("10.244.2.7", "host-b", ready())])
        ),
        slice(
            "web",
            "messy-fqdn",
            "messy",
            "FQDN",
            json!([{"name": "http", "port": 8080, "protocol": "TCP"}]),
            json!([{"addresses": ["backend.example.com"]}])
        ),
    ]));
    let t = translate(&s, &ctx(vec![]));
    let svc = one(&t, "web", "messy");
    assert_eq!(
        svc.ports.len(),
        1,
        "the QUIC port is dropped, the rest kept"
    );
    assert_eq!(
        svc.ports[0].backends,
        vec![be("10.244.2.7", 8080), be("10.244.2.8", 8080)]
    );
    let errs: Vec<(ObjectKind, &str)> = t
        .errors
        .iter()
        .filter(|e| e.kind != ObjectKind::Node)
        .map(|e| (e.kind, e.object.as_str()))
        .collect();
    assert_eq!(
        errs,
        [
            (ObjectKind::EndpointSlice, "web/messy-1"),
            (ObjectKind::Service, "web/messy")
        ]
    );
}
