use super::*;

/// The example from the protocol reference, byte for byte.
const DOC_EXAMPLE: &str = r#"{"default":{"ip_addresses":["10.244.1.5/24"],"mac_address":"0a:58:0a:f4:01:05","gateway_ips":["10.244.1.1"],"routes":[{"dest":"10.244.0.0/16","nextHop":"10.244.1.1"},{"dest":"10.96.0.0/16","nextHop":"10.244.1.1"},{"dest":"169.254.0.5/32","nextHop":"10.244.1.1"},{"dest":"100.64.0.0/16","nextHop":"10.244.1.1"}],"ip_address":"10.244.1.5/24","gateway_ip":"10.244.1.1","role":"primary"}}"#;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The reference's example was made with masquerade subnet 169.254.0.0/17
/// (hairpin IP 169.254.0.5); upstream's default is 169.254.169.0/29.
fn doc_routing() -> PodRouting {
    PodRouting {
        masquerade_subnet_v4: "169.254.0.0/17".parse().unwrap(),
        ..PodRouting::new(vec![net("10.244.0.0/16")], vec![net("10.96.0.0/16")])
    }
}

#[test]
fn builder_reproduces_the_reference_example() {
    let entry =
        PodNetwork::primary(&[ip("10.244.1.5")], &[net("10.244.1.0/24")], &doc_routing()).unwrap();
    assert_eq!(
        PodNetworks::for_default(entry).to_json().unwrap(),
        DOC_EXAMPLE
    );
}

#[test]
fn reference_example_round_trips() {
    let parsed = PodNetworks::parse(DOC_EXAMPLE).unwrap();
    assert_eq!(parsed.to_json().unwrap(), DOC_EXAMPLE);
    let entry = parsed.default_network().unwrap();
    assert_eq!(entry.ips(), vec![ip("10.244.1.5")]);
    assert_eq!(entry.role.as_deref(), Some(ROLE_PRIMARY));
}

#[test]
fn upstream_defaults_use_hairpin_169_254_169_5() {
    let routing = PodRouting::new(vec![net("10.244.0.0/16")], vec![net("10.96.0.0/16")]);
    assert_eq!(
        routing.hairpin_masquerade_ip(false),
        Some(ip("169.254.169.5"))
    );
    assert_eq!(routing.hairpin_masquerade_ip(true), Some(ip("fd69::5")));
    let entry =
        PodNetwork::primary(&[ip("10.244.1.5")], &[net("10.244.1.0/24")], &routing).unwrap();
    let dests: Vec<String> = entry.routes.iter().map(|r| r.dest.to_string()).collect();
    assert_eq!(
        dests,
        [
            "10.244.0.0/16",
            "10.96.0.0/16",
            "169.254.169.5/32",
            "100.64.0.0/16"
        ]
    );
}

#[test]
fn dual_stack_entry() {
    let routing = PodRouting::new(
        vec![net("10.244.0.0/16"), net("fd00:10:244::/48")],
        vec![net("10.96.0.0/16"), net("fd00:10:96::/112")],
    );
    let subnets = [net("10.244.1.0/24"), net("fd00:10:244:1::/64")];
    let entry = PodNetwork::primary(
        &[ip("10.244.1.5"), ip("fd00:10:244:1::5")],
        &subnets,
        &routing,
    )
    .unwrap();
    let json = PodNetworks::for_default(entry).to_json().unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"default":{"ip_addresses":["10.244.1.5/24","fd00:10:244:1::5/64"],"mac_address":"0a:58:0a:f4:01:05","#,
            r#""gateway_ips":["10.244.1.1","fd00:10:244:1::1"],"routes":["#,
            r#"{"dest":"10.244.0.0/16","nextHop":"10.244.1.1"},{"dest":"10.96.0.0/16","nextHop":"10.244.1.1"},"#,
            r#"{"dest":"169.254.169.5/32","nextHop":"10.244.1.1"},{"dest":"100.64.0.0/16","nextHop":"10.244.1.1"},"#,
            r#"{"dest":"fd00:10:244::/48","nextHop":"fd00:10:244:1::1"},{"dest":"fd00:10:96::/112","nextHop":"fd00:10:244:1::1"},"#,
            r#"{"dest":"fd69::5/128","nextHop":"fd00:10:244:1::1"},{"dest":"fd98::/64","nextHop":"fd00:10:244:1::1"}],"#,
            r#""role":"primary"}}"#
        )
    );
    assert_eq!(PodNetworks::parse(&json).unwrap().to_json().unwrap(), json);
}

#[test]
fn ipv6_only_entry_uses_hashed_mac() {
    let routing = PodRouting::new(vec![net("fd00:10:244::/48")], vec![net("fd00:10:96::/112")]);
    let entry = PodNetwork::primary(
        &[ip("fd00:10:244:1::5")],
        &[net("fd00:10:244:1::/64")],
        &routing,
    )
    .unwrap();
    assert_eq!(entry.mac_address.to_string(), "0a:58:fc:09:1d:4e");
    let json = PodNetworks::for_default(entry).to_json().unwrap();
    assert!(
        json.contains(r#""ip_address":"fd00:10:244:1::5/64","gateway_ip":"fd00:10:244:1::1""#),
        "{json}"
    );
}

#[test]
fn builder_errors() {
    let routing = doc_routing();
    let subnets = [net("10.244.1.0/24")];
    assert_eq!(
        PodNetwork::primary(&[], &subnets, &routing),
        Err(PodNetworkError::NoAddresses)
    );
    assert!(matches!(
        PodNetwork::primary(&[ip("10.244.2.5")], &subnets, &routing),
        Err(PodNetworkError::NotInNodeSubnet { .. })
    ));
    assert!(matches!(
        PodNetwork::primary(&[ip("10.244.1.5"), ip("10.244.1.6")], &subnets, &routing),
        Err(PodNetworkError::SameFamilyTwice { .. })
    ));
}

#[test]
fn upstream_doc_comment_example_with_legacy_fields_only() {
    // Older writers: only the deprecated single-value fields, no role.
    let old = r#"{"default":{"ip_address":"192.168.0.5/24","mac_address":"0a:58:fd:98:00:01","gateway_ip":"192.168.0.1"}}"#;
    let parsed = PodNetworks::parse(old).unwrap();
    let entry = parsed.default_network().unwrap();
    assert_eq!(entry.ips(), vec![ip("192.168.0.5")]);
    assert_eq!(entry.gateway_ips, vec![ip("192.168.0.1")]);
    assert_eq!(entry.role, None);
    assert_eq!(
        parsed.to_json().unwrap(),
        r#"{"default":{"ip_addresses":["192.168.0.5/24"],"mac_address":"0a:58:fd:98:00:01","gateway_ips":["192.168.0.1"],"ip_address":"192.168.0.5/24","gateway_ip":"192.168.0.1"}}"#
    );
}

#[test]
fn optional_fields_round_trip() {
    let text = r#"{"ns/l2":{"ip_addresses":null,"mac_address":"0a:58:00:00:00:01","ipv6_lla_gateway_ip":"fe80::858:64ff:fe40:4","tunnel_id":7,"role":"secondary"}}"#;
    let parsed = PodNetworks::parse(text).unwrap();
    assert_eq!(parsed.network("ns/l2").unwrap().tunnel_id, 7);
    assert_eq!(parsed.to_json().unwrap(), text);
    assert!(parsed.default_network().is_err());
}

#[test]
fn bad_annotations_are_errors_naming_the_key() {
    let cases = [
        "not json",
        r#"{"default":{"ip_addresses":["10.244.1.5/24"],"mac_address":"bad"}}"#,
        r#"{"default":{"ip_addresses":["10.244.1.5"],"mac_address":"0a:58:0a:f4:01:05"}}"#,
        r#"{"default":{"ip_addresses":["10.244.1.5/24"],"ip_address":"10.244.1.6/24","mac_address":"0a:58:0a:f4:01:05"}}"#,
        r#"{"default":{"ip_addresses":["10.244.1.5/24"],"gateway_ips":["10.244.1.1"],"gateway_ip":"10.244.1.2","mac_address":"0a:58:0a:f4:01:05"}}"#,
        r#"{"default":{"ip_addresses":["10.244.1.5/24"],"mac_address":"0a:58:0a:f4:01:05","routes":[{"dest":"0.0.0.0/0","nextHop":"10.244.1.1"}]}}"#,
        r#"{"default":{"ip_addresses":["10.244.1.5/24"],"mac_address":"0a:58:0a:f4:01:05","routes":[{"dest":"10.0.0.0/8","nextHop":"fd00::1"}]}}"#,
        r#"{"default":{"ip_addresses":["10.244.1.5/24"],"mac_address":"0a:58:0a:f4:01:05","ipv6_lla_gateway_ip":"fd00::1"}}"#,
        r#"{"default":{"ip_addresses":["10.244.1.5/24"],"mac_address":"0a:58:0a:f4:01:05","tunnel_id":-1}}"#,
    ];
    for case in cases {
        let err = PodNetworks::parse(case).unwrap_err().to_string();
        assert!(err.contains("k8s.ovn.org/pod-networks"), "{case}: {err}");
    }
}

#[test]
fn single_stack_with_two_gateways_is_refused_on_write() {
    let mut entry =
        PodNetwork::primary(&[ip("10.244.1.5")], &[net("10.244.1.0/24")], &doc_routing()).unwrap();
    entry.gateway_ips.push(ip("10.244.1.2"));
    assert!(PodNetworks::for_default(entry).to_json().is_err());
}

#[test]
fn nth_address_stays_inside() {
    assert_eq!(nth_address(net("10.0.0.0/30"), 3), Some(ip("10.0.0.3")));
    assert_eq!(nth_address(net("10.0.0.0/30"), 4), None);
    assert_eq!(nth_address(net("255.255.255.255/32"), 1), None);
    assert_eq!(nth_address(net("fd00::/127"), 1), Some(ip("fd00::1")));
}
