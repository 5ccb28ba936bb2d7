use super::host_cluster::tests::{temp_file, test_ca_data, TEST_CA_PEM};
use super::*;

fn ctx(vars: &[(&str, &str)]) -> LoadContext {
    LoadContext {
        env: Environment::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))),
        system_hostname: Some("dpu".into()),
    }
}

/// The settings of the upstream deployment guide's example, as flags.
fn seed_args() -> ConfigArgs {
    ConfigArgs {
        host_k8s_apiserver: Some("https://172.25.0.2:6443".into()),
        host_k8s_token: Some(Token::new("abc.def.ghi")),
        host_k8s_cacert_data: Some(test_ca_data()),
        host_k8s_nodename: Some("dpu-host".into()),
        cluster_subnets: Some("10.244.0.0/16/24".into()),
        service_cluster_ip_range: Some("10.96.0.0/16".into()),
        mtu: Some("1400".into()),
        encap_ip: Some("198.51.100.10".into()),
        encap_type: Some("geneve".into()),
        gateway_interface: Some("brp0".into()),
        gateway_nexthop: Some("203.0.113.1".into()),
        gateway_router_subnet: Some("203.0.113.0/24".into()),
        gateway_vlanid: Some("3".into()),
        hw_offload: Some("true".into()),
        ..ConfigArgs::default()
    }
}

fn errors(args: &ConfigArgs, vars: &[(&str, &str)]) -> Vec<String> {
    match load(args, &ctx(vars)) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn has(errors: &[String], needle: &str) -> bool {
    errors.iter().any(|e| e.contains(needle))
}

#[test]
fn seed_settings_load() {
    let cfg = load(&seed_args(), &ctx(&[])).unwrap();
    assert!(matches!(
        &cfg.host_k8s,
        HostK8sAccess::Direct { credential: Credential::Token(t), ca: CaCert::Data(b), .. }
            if t.expose() == "abc.def.ghi" && b.der.len() == 1
    ));
    assert_eq!(cfg.node.host_k8s_nodename, "dpu-host");
    assert_eq!(cfg.node.hostname, "dpu");
    assert_eq!(
        cfg.network.cluster_subnets[0].to_string(),
        "10.244.0.0/16/24"
    );
    assert_eq!(cfg.network.mtu, 1400);
    assert_eq!(cfg.encap.kind, EncapType::Geneve);
    assert_eq!(cfg.gateway.vlan_id, Some(3));
    assert!(cfg.datapath.hw_offload);
    assert_eq!(cfg.datapath.hugepages, Hugepages::Auto);
    assert_eq!(cfg.metrics_listen.to_string(), DEFAULT_METRICS_LISTEN);
    assert_eq!(cfg.origins[keys::MTU], Origin::Flag("--mtu".into()));
    assert_eq!(cfg.origins[keys::HOSTNAME], Origin::System);
    assert_eq!(cfg.origins[keys::EAL_LCORES], Origin::Default);
    let routing = cfg.network.pod_routing();
    assert_eq!(
        routing.hairpin_masquerade_ip(false),
        Some("169.254.169.5".parse().unwrap())
    );
}

#[test]
fn summary_redacts_the_token() {
    let cfg = load(&seed_args(), &ctx(&[])).unwrap();
    let summary = cfg.redacted_summary();
    assert!(!summary.contains("abc.def.ghi"), "{summary}");
    assert!(!format!("{cfg:?}").contains("abc.def.ghi"));
    assert!(
        summary.contains("host-k8s-token               = <redacted>  (flag --host-k8s-token)"),
        "{summary}"
    );
    assert!(
        summary.contains("<1 certificate(s), sha256 95:03:52:F6"),
        "{summary}"
    );
    assert!(summary
        .contains("cluster-subnets              = 10.244.0.0/16/24  (flag --cluster-subnets)"));
    assert!(summary.contains("gateway-v4-masquerade-subnet = 169.254.169.0/29  (default)"));
}

#[test]
fn precedence_is_defaults_file_env_flags() {
    let file = temp_file("precedence.toml", "mtu = 1500\neal-lcores = \"0-3\"\n");
    let mut args = seed_args();
    args.mtu = None;
    args.config = Some(file.clone());
    let cfg = load(&args, &ctx(&[("DPUFLOW_MTU", "1450")])).unwrap();
    assert_eq!(cfg.network.mtu, 1450);
    assert_eq!(cfg.origins[keys::MTU], Origin::Env("DPUFLOW_MTU".into()));
    assert_eq!(cfg.datapath.eal_lcores, "0-3");
    assert_eq!(cfg.origins[keys::EAL_LCORES], Origin::File(file.clone()));
    args.mtu = Some("1300".into());
    let cfg = load(&args, &ctx(&[("DPUFLOW_MTU", "1450")])).unwrap();
    assert_eq!(cfg.network.mtu, 1300);
    assert_eq!(cfg.config_file, Some(file));
}

#[test]
fn empty_values_do_not_override() {
    let mut args = seed_args();
    args.mtu = None;
    let cfg = load(
        &args,
        &ctx(&[("DPUFLOW_MTU", ""), ("DPUFLOW_HOST_K8S_TOKEN_FILE", "")]),
    )
    .unwrap();
    assert_eq!(cfg.network.mtu, DEFAULT_MTU);
    assert_eq!(cfg.origins[keys::MTU], Origin::Default);
}

#[test]
fn config_file_with_upstream_ovs_names_and_env_path() {
    let ca = temp_file("ca.crt", TEST_CA_PEM);
    let token = temp_file("token", "abc.def.ghi\n");
    let toml = format!(
        "host-k8s-apiserver = \"https://172.25.0.2:6443\"\nhost-k8s-token-file = {token:?}\nhost-k8s-cacert = {ca:?}\n\
         host-k8s-nodename = \"dpu-host\"\nhostname = \"dpu\"\n\
         network-cidr = [\"10.244.0.0/16/24\", \"fd00:10:244::/48/64\"]\nservice-cidr = \"10.96.0.0/16,fd00:10:96::/112\"\n\
         ovn-encap-ip = \"198.51.100.10\"\novn-encap-type = \"geneve\"\novn-gw-interface = \"brp0\"\n\
         ovn-gw-nexthop = \"203.0.113.1\"\novn-gw-router-subnet = \"203.0.113.0/24\"\novn-gw-vlanid = 3\n\
         hw-offload = true\nuplink-port = \"0000:03:00.0\"\n\
         [vf-representors]\npf0vf3 = \"0000:03:00.0,representor=vf3\"\n"
    );
    let file = temp_file("dpuflow.toml", &toml);
    let path = file.to_string_lossy().to_string();
    let cfg = load(
        &ConfigArgs::default(),
        &ctx(&[("DPUFLOW_CONFIG", path.as_str())]),
    )
    .unwrap();
    assert!(matches!(
        &cfg.host_k8s,
        HostK8sAccess::Direct {
            credential: Credential::TokenFile(_),
            ca: CaCert::File(_),
            ..
        }
    ));
    assert_eq!(cfg.network.cluster_subnets.len(), 2);
    assert!(cfg.network.has_ipv6());
    assert_eq!(cfg.gateway.interface.as_deref(), Some("brp0"));
    assert_eq!(cfg.datapath.uplink_port.as_deref(), Some("0000:03:00.0"));
    assert_eq!(
        cfg.datapath
            .vf_representors
            .get(&"pf0vf3".parse().unwrap())
            .map(String::as_str),
        Some("0000:03:00.0,representor=vf3")
    );
    assert_eq!(cfg.origins[keys::ENCAP_IP], Origin::File(file));
}

#[test]
fn vf_representors_from_env_and_flags() {
    let mut args = seed_args();
    let env = [("DPUFLOW_VF_REPRESENTORS", "pf0vf3=net_a,x=1;pf0vf4=net_b")];
    let cfg = load(&args, &ctx(&env)).unwrap();
    assert_eq!(cfg.datapath.vf_representors.len(), 2);
    args.vf_representors = vec!["c1pf1vf0=net_c".into()];
    let cfg = load(&args, &ctx(&env)).unwrap();
    assert_eq!(
        cfg.datapath.vf_representors.len(),
        1,
        "flags replace the env list"
    );
    args.vf_representors = vec![
        "pf0vf3".into(),
        "pfXvf1=a".into(),
        "pf0vf2=".into(),
        "pf0vf5=a".into(),
        "pf0vf5=b".into(),
    ];
    let errs = errors(&args, &[]);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(has(&errs, "expected NAME=VALUE"));
    assert!(has(&errs, "is not a VF representor name"));
    assert!(has(&errs, "non-empty devargs"));
    assert!(has(&errs, "pf0vf5 is bound twice"));
}

#[test]
fn every_error_at_once() {
    let args = ConfigArgs {
        host_k8s_apiserver: Some("http://172.25.0.2:6443".into()),
        host_k8s_cacert_data: Some(TEST_CA_PEM.into()),
        cluster_subnets: Some("10.244.0.0/16/33,fd00::/48/96".into()),
        service_cluster_ip_range: Some("10.96.0.1/16".into()),
        mtu: Some("100000".into()),
        host_k8s_nodename: Some("DPU_Host".into()),
        encap_type: Some("vxlan".into()),
        gateway_vlanid: Some("4095".into()),
        metrics_listen: Some("9476".into()),
        eal_hugepages: Some("maybe".into()),
        ..ConfigArgs::default()
    };
    let errs = errors(&args, &[("DPUFLOW_HW_OFFLOAD", "sometimes")]);
    let expect = [
        r#"cluster-subnets (flag --cluster-subnets): "10.244.0.0/16/33": host prefix 33 is longer than 32"#,
        r#"cluster-subnets (flag --cluster-subnets): "fd00::/48/96": IPv6 host prefix must be 64"#,
        r#"service-cluster-ip-range (flag --service-cluster-ip-range): "10.96.0.1/16": has host bits set; the network is 10.96.0.0/16"#,
        r#"host-k8s-apiserver (flag --host-k8s-apiserver): "http://172.25.0.2:6443": must be https://"#,
        "host-k8s-token: a credential is required",
        "host-k8s-cacert-data (flag --host-k8s-cacert-data): \"-----BEGIN CERTIFICATE",
        r#"mtu (flag --mtu): "100000": must be a number from 576 to 9000"#,
        r#"host-k8s-nodename (flag --host-k8s-nodename): "DPU_Host": not a valid node name"#,
        "encap-ip: is required",
        r#"encap-type (flag --encap-type): "vxlan": unsupported encapsulation; only geneve is supported"#,
        r#"gateway-vlanid (flag --gateway-vlanid): "4095": must be a VLAN id from 1 to 4094"#,
        r#"hw-offload (env DPUFLOW_HW_OFFLOAD): "sometimes": must be true or false"#,
        r#"eal-hugepages (flag --eal-hugepages): "maybe": must be auto, yes or no"#,
        r#"metrics-listen (flag --metrics-listen): "9476": expected ADDRESS:PORT"#,
    ];
    for e in expect {
        assert!(has(&errs, e), "missing {e:?} in {errs:#?}");
    }
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");
}

#[test]
fn credential_rules() {
    let kubeconfig = temp_file(
        "creds-kubeconfig",
        "apiVersion: v1\nkind: Config\nclusters: []\n",
    );
    let mut args = seed_args();
    args.host_k8s_kubeconfig = Some(kubeconfig.to_string_lossy().into());
    let errs = errors(&args, &[]);
    assert!(
        has(
            &errs,
            "host-k8s-token (flag --host-k8s-token): conflicts with host-k8s-kubeconfig"
        ),
        "{errs:#?}"
    );
    assert_eq!(errs.len(), 3, "apiserver, token, cacert-data: {errs:#?}");
    let only_kubeconfig = ConfigArgs {
        host_k8s_apiserver: None,
        host_k8s_token: None,
        host_k8s_cacert_data: None,
        ..args.clone()
    };
    let cfg = load(&only_kubeconfig, &ctx(&[])).unwrap();
    assert!(matches!(cfg.host_k8s, HostK8sAccess::Kubeconfig(_)));
    args.host_k8s_kubeconfig = Some("/nonexistent/kubeconfig".into());
    args.host_k8s_token = None;
    args.host_k8s_apiserver = None;
    args.host_k8s_cacert_data = None;
    assert!(has(&errors(&args, &[]), "unusable kubeconfig"));

    let mut args = seed_args();
    args.host_k8s_token_file = Some("/nonexistent/token".into());
    args.host_k8s_cacert = Some("/nonexistent/ca.crt".into());
    let errs = errors(&args, &[]);
    assert!(has(
        &errs,
        "host-k8s-token-file (flag --host-k8s-token-file): conflicts with host-k8s-token"
    ));
    assert!(has(
        &errs,
        "host-k8s-cacert (flag --host-k8s-cacert): conflicts with host-k8s-cacert-data"
    ));

    let mut args = seed_args();
    args.host_k8s_token = None;
    args.host_k8s_token_file = Some(temp_file("empty-token", "\n").to_string_lossy().into());
    args.host_k8s_cacert_data = None;
    args.host_k8s_cacert = Some("/nonexistent/ca.crt".into());
    let errs = errors(&args, &[]);
    assert!(has(&errs, "is empty"), "{errs:#?}");
    assert!(has(&errs, "cannot read"), "{errs:#?}");

    let mut args = seed_args();
    args.host_k8s_token = Some(Token::new("ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklpSjku"));
    let errs = errors(&args, &[]);
    assert!(
        has(
            &errs,
            "host-k8s-token (flag --host-k8s-token): looks base64-encoded"
        ),
        "{errs:#?}"
    );
    assert!(!has(&errs, "ZXlK"), "the token is never echoed");
}

#[test]
fn network_rules() {
    let with = |f: fn(&mut ConfigArgs)| {
        let mut args = seed_args();
        f(&mut args);
        errors(&args, &[])
    };
    let errs = with(|a| a.cluster_subnets = Some("fd00:10:244::/48".into()));
    assert!(
        has(
            &errs,
            "covers IPv4 only but cluster-subnets cover IPv6 only"
        ),
        "{errs:#?}"
    );
    let errs = with(|a| {
        a.cluster_subnets = Some("fd00:10:244::/48".into());
        a.service_cluster_ip_range = Some("fd00:10:96::/112".into());
        a.encap_ip = Some("fd00::10".into());
        a.mtu = Some("1200".into());
    });
    assert!(
        has(
            &errs,
            r#"mtu (flag --mtu): "1200": must be at least 1280 when IPv6 is in use"#
        ),
        "{errs:#?}"
    );
    let errs = with(|a| a.service_cluster_ip_range = Some("10.96.0.0/16,10.97.0.0/16".into()));
    assert!(has(&errs, "must be a single CIDR or an IPv4/IPv6 pair"));
    let errs = with(|a| a.cluster_subnets = Some("10.244.0.0/16/24,10.245.0.0/16/23".into()));
    assert!(has(
        &errs,
        "all IPv4 cluster subnets must have the same host prefix"
    ));
    let errs = with(|a| a.cluster_subnets = Some("10.244.0.0/16,10.244.128.0/17".into()));
    assert!(has(&errs, "overlaps 10.244.0.0/16/24"), "{errs:#?}");
    let errs = with(|a| a.service_cluster_ip_range = Some("10.244.0.0/20".into()));
    assert!(
        has(
            &errs,
            r#""10.244.0.0/20": overlaps cluster-subnets 10.244.0.0/16"#
        ),
        "{errs:#?}"
    );
    let errs = with(|a| a.gateway_v4_masquerade_subnet = Some("169.254.169.0/30".into()));
    assert!(has(&errs, "too small: needs at least a /29"));
    let errs = with(|a| a.gateway_v6_join_subnet = Some("100.64.0.0/16".into()));
    assert!(has(&errs, "must be an IPv6 CIDR"));
    let errs = with(|a| a.cluster_subnets = Some("10.244.0.0/16/24,".into()));
    assert!(
        has(
            &errs,
            r#"cluster-subnets (flag --cluster-subnets): "": empty entry in the list"#
        ),
        "{errs:#?}"
    );
}

#[test]
fn gateway_and_node_rules() {
    let mut args = seed_args();
    args.gateway_nexthop = Some("192.0.2.1".into());
    args.encap_ip = Some("0.0.0.0".into());
    args.hostname = Some("has space".into());
    let errs = errors(&args, &[]);
    assert!(has(
        &errs,
        r#"gateway-nexthop (flag --gateway-nexthop): "192.0.2.1": is outside gateway-router-subnet 203.0.113.0/24"#
    ));
    assert!(has(&errs, "must be a unicast address"));
    assert!(has(&errs, "must not contain whitespace"));
    assert_eq!(errs.len(), 3, "{errs:#?}");

    let mut args = seed_args();
    args.gateway_router_subnet = Some("203.0.113.10/24".into());
    let cfg = load(&args, &ctx(&[])).unwrap();
    assert_eq!(
        cfg.gateway.router_subnet.map(|s| s.to_string()).as_deref(),
        Some("203.0.113.10/24")
    );

    let no_hostname = LoadContext {
        system_hostname: None,
        ..ctx(&[])
    };
    let err = load(&seed_args(), &no_hostname).unwrap_err();
    assert_eq!(
        err.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["hostname: is required"]
    );
}

#[test]
fn missing_everything() {
    let errs = errors(&ConfigArgs::default(), &[]);
    for key in [
        "host-k8s-apiserver",
        "host-k8s-nodename",
        "cluster-subnets",
        "service-cluster-ip-range",
        "encap-ip",
    ] {
        assert!(
            has(&errs, &format!("{key}: is required")),
            "{key}: {errs:#?}"
        );
    }
    assert!(has(&errs, "host-k8s-token: a credential is required"));
    assert!(has(
        &errs,
        "host-k8s-cacert-data: the host cluster's CA is required"
    ));
}

#[test]
fn bad_config_file_is_reported_with_other_errors() {
    let file = temp_file("bad.toml", "cluster_subnets = \"10.244.0.0/16\"\n");
    let mut args = seed_args();
    args.config = Some(file);
    args.mtu = Some("10".into());
    let errs = errors(&args, &[]);
    assert!(
        has(&errs, "keys are kebab-case: cluster-subnets"),
        "{errs:#?}"
    );
    assert!(has(&errs, "mtu (flag --mtu)"), "{errs:#?}");
}
