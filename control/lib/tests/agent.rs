//! The agent against a real kube-apiserver + etcd (scripts/kube-apiserver.sh):
//! the DPU handshake, IPAM, lease, node annotations, services, endpoints
//! and policies arriving as datapath updates, an API server restart, an
//! agent restart, and a token without rights.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use dpuflow_control::agent::metrics::{Health, Metrics};
use dpuflow_control::agent::stores::endpoint_slice_version;
use dpuflow_control::agent::{Agent, AgentError};
use dpuflow_control::config;
use dpuflow_control::protocol::mac::MacAddr;
use dpuflow_control_testkit::{self as local_apiserver, LocalApiServer as ApiServer};
use dpuflow_tables::{Tables, Update};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio::sync::oneshot;

const HOST: &str = "dpu-host";

fn config(server: &ApiServer, token: &str) -> Arc<config::Config> {
    let mut env = local_apiserver::agent_env(&server.url, &server.ca_pem, token, HOST);
    env.insert("DPUFLOW_GATEWAY_VLANID".into(), "3".into());
    env.insert(
        "DPUFLOW_VF_REPRESENTORS".into(),
        (1..=8)
            .map(|v| format!("pf0vf{v}=net_ring_vf{v}"))
            .collect::<Vec<_>>()
            .join(";"),
    );
    Arc::new(local_apiserver::agent_config(env).unwrap_or_else(|e| panic!("{e}")))
}

struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), AgentError>>,
    updates: Receiver<Vec<Update>>,
    tables: Tables,
    metrics: Arc<Metrics>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
    }

    /// Applies updates until `done(tables)` holds, or panics after 30 s.
    async fn until(&mut self, what: &str, done: impl Fn(&Tables) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&self.tables) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for the datapath to get {what}; services: {:?}\nmetrics:\n{}",
                self.tables.services,
                self.metrics.render()
            );
            while let Ok(batch) = self.updates.try_recv() {
                self.tables.apply_all(batch);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn start_agent(client: Client, config: Arc<config::Config>) -> Running {
    let (tx, rx) = crossbeam_channel::unbounded();
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let health = Arc::new(Health::default());
    let agent = Agent::new(client, config, tx, metrics.clone(), health)
        .with_host_pf_mac(MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(agent.run(async move {
        let _ = stopped.await;
    }));
    Running {
        stop: Some(stop),
        task,
        updates: rx,
        tables: Tables::default(),
        metrics,
    }
}

async fn create_node(client: &Client, name: &str, annotations: serde_json::Value) {
    let api: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"k8s.ovn.org/dpu-host": ""}, "annotations": annotations}
    }))
    .expect("node json");
    api.create(&PostParams::default(), &node)
        .await
        .expect("create node");
}

fn details(vf: u32, sandbox: &str) -> String {
    json!({"default": {"pfId": "0", "vfId": vf.to_string(), "sandboxId": sandbox, "vfNetdevName": format!("ens1f0v{vf}")}}).to_string()
}

async fn create_pod(client: &Client, name: &str, labels: serde_json::Value, conn: Option<String>) {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut ann = serde_json::Map::new();
    if let Some(c) = conn {
        ann.insert("k8s.ovn.org/dpu.connection-details".into(), json!(c));
    }
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels, "annotations": ann},
        "spec": {"nodeName": HOST, "containers": [{"name": "c", "image": "pause", "ports": [{"name": "http", "containerPort": 8080}]}]}
    }))
    .expect("pod json");
    api.create(&PostParams::default(), &pod)
        .await
        .expect("create pod");
}

/// Waits until the pod's connection-status is set; returns (status, pod).
async fn status_of(client: &Client, name: &str) -> (serde_json::Value, Pod) {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pod = api.get(name).await.expect("get pod");
        if let Some(s) = pod.annotations().get("k8s.ovn.org/dpu.connection-status") {
            let v: serde_json::Value = serde_json::from_str(s).expect("status json");
            return (v["default"].clone(), pod);
        }
        assert!(
            Instant::now() < deadline,
            "pod {name} never got a connection-status"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ready_ip(client: &Client, name: &str) -> String {
    let (status, pod) = status_of(client, name).await;
    assert_eq!(status, json!({"Status": "Ready"}), "pod {name}");
    let nets: serde_json::Value = serde_json::from_str(
        pod.annotations()
            .get("k8s.ovn.org/pod-networks")
            .expect("pod-networks written before Ready"),
    )
    .expect("json");
    let d = &nets["default"];
    let ip = d["ip_addresses"][0].as_str().expect("ip").to_string();
    let v4: std::net::Ipv4Addr = ip
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .expect("ipv4");
    let o = v4.octets();
    assert_eq!(
        d["mac_address"],
        json!(format!(
            "0a:58:{:02x}:{:02x}:{:02x}:{:02x}",
            o[0], o[1], o[2], o[3]
        ))
    );
    assert_eq!(d["gateway_ips"], json!(["10.244.1.1"]));
    let routes: Vec<&str> = d["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .filter_map(|r| r["dest"].as_str())
        .collect();
    assert!(
        routes.contains(&"10.244.0.0/16")
            && routes.contains(&"10.96.0.0/16")
            && routes.contains(&"100.64.0.0/16"),
        "{routes:?}"
    );
    ip
}

fn pod_with_ip<'a>(t: &'a Tables, ip: &str) -> Option<&'a dpuflow_tables::LocalPod> {
    let addr = ip.split('/').next().unwrap_or(ip);
    t.pods
        .values()
        .find(|p| p.ips.iter().any(|i| i.to_string() == addr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_speaks_the_dpu_protocol_against_a_real_api_server() {
    // CI builds the server (scripts/test.sh); on a machine that cannot, say
    // so loudly instead of failing on something else.
    if std::env::var("DPUFLOW_SKIP_APISERVER").is_ok_and(|v| v == "1") {
        eprintln!("!!! SKIPPED: DPUFLOW_SKIP_APISERVER=1, no real kube-apiserver on this machine");
        return;
    }
    let server = ApiServer::start("agent").unwrap_or_else(|e| panic!("{e}"));
    let admin = server.client_with(&server.admin_token).expect("client");
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "ovn-kubernetes"}})).expect("ns");
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("ns");
    // A /29: .1 gateway, .2 management, .7 broadcast: four pod IPs (.3-.6).
    create_node(
        &admin,
        HOST,
        json!({
            "k8s.ovn.org/node-subnets": r#"{"default":["10.244.1.0/29"]}"#,
            "k8s.ovn.org/primary-dpu-host-addr": r#"{"ipv4":"203.0.113.10/24"}"#,
            "k8s.ovn.org/node-mgmt-port": r#"{"default":{"DeviceId":"0000:03:00.2","PfId":0,"FuncId":8}}"#,
        }),
    )
    .await;
    create_node(
        &admin,
        "node2",
        json!({
            "k8s.ovn.org/node-subnets": r#"{"default":"10.244.2.0/24"}"#,
            "k8s.ovn.org/node-encap-ips": r#"["198.51.100.20"]"#,
        }),
    )
    .await;

    // A token without rights: one clear error, no hang.
    let denied = start_agent(
        server.client_with(&server.limited_token).expect("client"),
        config(&server, &server.limited_token),
    );
    let err = tokio::time::timeout(Duration::from_secs(20), denied.task)
        .await
        .expect("fails fast")
        .expect("join");
    match err {
        Err(AgentError::Forbidden { resource, .. }) => assert_eq!(resource, "nodes"),
        other => panic!("expected Forbidden, got {other:?}"),
    }

    let cfg = config(&server, &server.admin_token);
    let mut agent = start_agent(admin.clone(), cfg.clone());

    // Handshake: pod-networks, binding to the datapath, then Ready.
    create_pod(
        &admin,
        "web-1",
        json!({"app": "web"}),
        Some(details(1, "sb1")),
    )
    .await;
    let ip1 = ready_ip(&admin, "web-1").await;
    agent
        .until("web-1's binding", |t| {
            pod_with_ip(t, &ip1).is_some_and(|p| p.port.name == "net_ring_vf1")
        })
        .await;

    // Broken details: Error with a reason; others unaffected.
    create_pod(
        &admin,
        "broken",
        json!({}),
        Some(r#"{"default":{"pfId":"zero"}}"#.to_string()),
    )
    .await;
    let (status, _) = status_of(&admin, "broken").await;
    assert_eq!(status["Status"], "Error");
    assert!(
        !status["Reason"].as_str().unwrap_or("").is_empty(),
        "{status}"
    );
    create_pod(
        &admin,
        "web-2",
        json!({"app": "web"}),
        Some(details(2, "sb2")),
    )
    .await;
    let ip2 = ready_ip(&admin, "web-2").await;
    assert_ne!(ip1, ip2);
    assert_eq!(ready_ip(&admin, "web-1").await, ip1, "web-1 untouched");

    // Unknown representor: Error naming it.
    create_pod(&admin, "novf", json!({}), Some(details(42, "sb42"))).await;
    let (status, _) = status_of(&admin, "novf").await;
    assert!(
        status["Reason"].as_str().unwrap_or("").contains("pf0vf42"),
        "{status}"
    );

    // Lease and node annotations.
    let lease = Api::<Lease>::namespaced(admin.clone(), "ovn-kubernetes")
        .get("ovn-dpu-dpu-host")
        .await
        .expect("lease");
    assert_eq!(
        lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref()),
        Some("ovnkube-dpu-node")
    );
    let node = Api::<Node>::all(admin.clone())
        .get(HOST)
        .await
        .expect("node");
    let ann = node.annotations();
    assert_eq!(
        ann.get("k8s.ovn.org/node-encap-ips").map(String::as_str),
        Some(r#"["198.51.100.10"]"#)
    );
    let chassis = ann
        .get("k8s.ovn.org/node-chassis-id")
        .expect("chassis id")
        .clone();
    let gw: serde_json::Value =
        serde_json::from_str(ann.get("k8s.ovn.org/l3-gateway-config").expect("gw")).expect("json");
    assert_eq!(gw["default"]["mode"], "shared");
    assert_eq!(gw["default"]["mac-address"], "52:54:00:12:34:56");
    assert_eq!(gw["default"]["next-hops"], json!(["203.0.113.1"]));
    assert_eq!(gw["default"]["vlan-id"], "3");
    assert_eq!(
        ann.get("k8s.ovn.org/node-primary-ifaddr")
            .map(String::as_str),
        Some(r#"{"ipv4":"203.0.113.10/24"}"#)
    );

    // The remote node becomes a tunnel endpoint.
    agent
        .until("node2", |t| {
            t.remote_nodes
                .values()
                .any(|n| n.encap_ips.iter().any(|i| i.to_string() == "198.51.100.20"))
        })
        .await;
    // The management port VF that dpu-host named is wired with the .2.
    agent
        .until("gateway with the management port", |t| {
            t.gateway.as_ref().is_some_and(|g| {
                g.management_port.as_ref().map(|p| p.name.as_str()) == Some("net_ring_vf8")
                    && g.management_ips
                        .iter()
                        .any(|i| i.to_string() == "10.244.1.2")
            })
        })
        .await;

    // A service with endpoints (EndpointSlice as the server serves it).
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}
    }))
    .expect("svc");
    Api::<Service>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &svc)
        .await
        .expect("svc");
    let slices = slice_api(&admin).await;
    let slice = |ips: &[&str]| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": slices.1, "kind": "EndpointSlice",
            "metadata": {"name": "web-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": ips.iter().map(|ip| json!({"addresses": [ip], "conditions": {"ready": true}})).collect::<Vec<_>>()
        }))
        .expect("slice")
    };
    let ip1a = ip1.split('/').next().unwrap_or_default().to_string();
    let ip2a = ip2.split('/').next().unwrap_or_default().to_string();
    slices
        .0
        .create(&PostParams::default(), &slice(&[&ip1a]))
        .await
        .expect("slice");
    let backends = |t: &Tables| -> Vec<String> {
        t.services
            .values()
            .flat_map(|s| {
                s.ports
                    .iter()
                    .flat_map(|p| p.backends.iter().map(|b| format!("{}:{}", b.ip, b.port)))
            })
            .collect()
    };
    agent
        .until("service web with one backend", |t| {
            backends(t) == vec![format!("{ip1a}:8080")]
        })
        .await;
    replace_slice(&slices.0, slice(&[&ip1a, &ip2a])).await;
    agent
        .until("two backends", |t| backends(t).len() == 2)
        .await;

    // A policy isolating web pods, allowing only app=web peers on 8080.
    let pol: NetworkPolicy = serde_json::from_value(json!({
        "metadata": {"name": "web-only", "namespace": "default"},
        "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "http"}]}]}
    }))
    .expect("policy");
    Api::<NetworkPolicy>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &pol)
        .await
        .expect("policy");
    agent
        .until("policies for both web pods", |t| {
            t.policies.values().filter(|p| p.ingress.isolated).count() == 2
        })
        .await;

    // Fill the /29, see the next pod refused, delete one, see its IP reused.
    create_pod(&admin, "web-3", json!({}), Some(details(3, "sb3"))).await;
    create_pod(&admin, "web-4", json!({}), Some(details(4, "sb4"))).await;
    let ip3 = ready_ip(&admin, "web-3").await;
    ready_ip(&admin, "web-4").await;

    // A new VF for web-3 (pod sandbox recreated): rewired, same IP.
    let patch = json!({"metadata": {"annotations": {"k8s.ovn.org/dpu.connection-details": details(7, "sb7")}}});
    Api::<Pod>::namespaced(admin.clone(), "default")
        .patch("web-3", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch details");
    agent
        .until("web-3 on its new VF", |t| {
            pod_with_ip(t, &ip3).is_some_and(|p| p.port.name == "net_ring_vf7")
        })
        .await;
    create_pod(&admin, "web-5", json!({}), Some(details(5, "sb5"))).await;
    let (status, _) = status_of(&admin, "web-5").await;
    assert_eq!(status["Status"], "Error", "subnet is full: {status}");
    Api::<Pod>::namespaced(admin.clone(), "default")
        .delete("web-1", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete");
    agent
        .until("web-1 unwired", |t| pod_with_ip(t, &ip1).is_none())
        .await;
    let ip5 = wait_ready_ip(&admin, "web-5").await;
    assert_eq!(ip5, ip1, "the freed IP is the only free one");

    // The API server dies and comes back: watches resume.
    server.kill_apiserver();
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.restart().expect("restart");
    // Changes made while the agent's watches are still reconnecting reach
    // the datapath (by resumed watch or by relist, whichever the server
    // allows), through the incremental translation.
    replace_slice(&slices.0, slice(&[&ip1a])).await;
    Api::<NetworkPolicy>::namespaced(admin.clone(), "default")
        .delete("web-only", &DeleteParams::default())
        .await
        .expect("delete policy");
    agent
        .until("one backend and no policy after the restart", |t| {
            backends(t).len() == 1 && t.policies.is_empty()
        })
        .await;
    let watch_errors = agent
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("dpuflow_watch_errors "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        watch_errors.is_some_and(|n| n > 0),
        "the restart broke the watches: {watch_errors:?}"
    );
    create_pod(&admin, "after-restart", json!({}), Some(details(6, "sb6"))).await;
    let (status, _) = status_of(&admin, "after-restart").await;
    assert_eq!(
        status["Status"], "Error",
        "no IP left, but the agent answered after the restart"
    );

    // Agent restart: allocations come back from the annotations, none reused.
    agent.stop().await;
    Api::<Pod>::namespaced(admin.clone(), "default")
        .delete("web-2", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete");
    let mut agent = start_agent(admin.clone(), cfg);
    let ipr = wait_ready_ip(&admin, "after-restart").await;
    assert_eq!(ipr, ip2, "only web-2's IP was free after the restart");
    let node = Api::<Node>::all(admin.clone())
        .get(HOST)
        .await
        .expect("node");
    assert_eq!(
        node.annotations().get("k8s.ovn.org/node-chassis-id"),
        Some(&chassis),
        "chassis id is stable"
    );
    agent
        .until("pods after restart", |t| t.pods.len() == 4)
        .await;
    assert!(agent.metrics.render().contains("dpuflow_pods_wired 4"));
    agent.stop().await;
}

/// Waits for Ready (the pod may first have been answered with Error).
async fn wait_ready_ip(client: &Client, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = status_of(client, name).await;
        if status["Status"] == "Ready" {
            return ready_ip(client, name).await;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never became Ready: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replaces a slice with `obj`, at the server's current resourceVersion.
async fn replace_slice(api: &Api<DynamicObject>, mut obj: DynamicObject) {
    let name = obj.name_any();
    let current = api.get(&name).await.expect("get slice");
    obj.metadata.resource_version = current.metadata.resource_version;
    api.replace(&name, &PostParams::default(), &obj)
        .await
        .expect("replace slice");
}

/// The EndpointSlice API the server serves (v1, or v1beta1 on 1.20).
async fn slice_api(client: &Client) -> (Api<DynamicObject>, &'static str) {
    let version = endpoint_slice_version(client).await.expect("discovery");
    let api = Api::namespaced_with(client.clone(), "default", &version.api_resource());
    (api, version.api_version())
}
