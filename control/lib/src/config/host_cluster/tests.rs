use super::*;
use secrecy::ExposeSecret;

/// A self-signed P-256 test CA (CN=dpuflow-test-ca), valid until 2126.
pub(crate) const TEST_CA_PEM: &str = "\
-----BEGIN CERTIFICATE-----
MIIBjDCCATGgAwIBAgIUDaRkO55PZUoxvhZSc1U9jgVVVOMwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPZHB1Zmxvdy10ZXN0LWNhMCAXDTI2MTEyNjA2MTIwMVoYDzIx
MjYxMTAyMDYxMjAxWjAaMRgwFgYDVQQDDA9kcHVmbG93LXRlc3QtY2EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATm1o7d+b6MWiGZuAxM9lfibRa1xI+jJYeZnuv4
ASEz6ddF2kwgTCMGl8W915VBUavDrtAUiCCzLNj/in6Vnhd/o1MwUTAdBgNVHQ4E
FgQUBKtxCpSL+Cgd/sMvivD0DjXu+9cwHwYDVR0jBBgwFoAUBKtxCpSL+Cgd/sMv
ivD0DjXu+9cwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAwuiF
pcBcyaxDezvYcI8RS5UKP8fqr23TcdEpL3do5B4CIQDdEMxQ3ip+9nos7fONXwKx
3unEDmQa2VitNgzUlVNwbw==
-----END CERTIFICATE-----
";

/// Its SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it.
const TEST_CA_FINGERPRINT: &str =
    "95:03:52:F6:08:2C:B6:F6:B4:46:4F:9F:C7:2F:B3:34:BB:BB:31:3D:31:00:29:72:81:A5:88:C8:EE:E7:8C:D1";

/// The test CA as `host-k8s-cacert-data` takes it (base64 of the PEM).
pub(crate) fn test_ca_data() -> String {
    base64::engine::general_purpose::STANDARD.encode(TEST_CA_PEM)
}

/// A file with `contents` under the system temp dir, unique per test.
pub(crate) fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dpuflow-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn ca_data_decodes_to_der() {
    let bundle = CaBundle::from_base64(&test_ca_data()).unwrap();
    assert_eq!(bundle.der.len(), 1);
    assert_eq!(bundle.fingerprint(), TEST_CA_FINGERPRINT);
    // Line-wrapped base64 (as `base64` prints it) is fine too.
    let wrapped: String = test_ca_data()
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(CaBundle::from_base64(&wrapped).unwrap(), bundle);
}

#[test]
fn ca_data_mistakes_are_explained() {
    assert!(CaBundle::from_base64(TEST_CA_PEM)
        .unwrap_err()
        .contains("this is PEM text"));
    assert!(CaBundle::from_base64("not*base64")
        .unwrap_err()
        .contains("not valid base64"));
    let not_pem = base64::engine::general_purpose::STANDARD.encode("hello");
    assert!(CaBundle::from_base64(&not_pem)
        .unwrap_err()
        .contains("no PEM CERTIFICATE"));
}

#[test]
fn direct_config_with_token_and_ca_data() {
    let url: http::Uri = "https://172.25.0.2:6443".parse().unwrap();
    let ca = CaCert::Data(CaBundle::from_base64(&test_ca_data()).unwrap());
    let cfg = direct_kube_config(&url, &Credential::Token(Token::new("abc.def")), &ca).unwrap();
    assert_eq!(cfg.cluster_url.to_string(), "https://172.25.0.2:6443/");
    assert_eq!(cfg.root_cert.as_ref().map(Vec::len), Some(1));
    assert_eq!(cfg.root_cert_file, None);
    assert_eq!(
        cfg.auth_info
            .token
            .as_ref()
            .map(|t| t.expose_secret().to_string()),
        Some("abc.def".into())
    );
    assert_eq!(cfg.auth_info.token_file, None);
    assert!(!cfg.accept_invalid_certs);
}

#[test]
fn direct_config_with_files() {
    let url: http::Uri = "https://api.example:6443".parse().unwrap();
    let ca_path = temp_file("kube-ca.crt", TEST_CA_PEM);
    let token_path = temp_file("kube-token", "abc.def\n");
    let cfg = direct_kube_config(
        &url,
        &Credential::TokenFile(token_path.clone()),
        &CaCert::File(ca_path.clone()),
    )
    .unwrap();
    assert_eq!(cfg.root_cert.as_ref().map(Vec::len), Some(1));
    assert_eq!(cfg.root_cert_file, Some(ca_path));
    assert_eq!(cfg.auth_info.token_file.as_deref(), token_path.to_str());
    assert!(cfg.auth_info.token.is_none());
    let missing = CaCert::File("/nonexistent/ca.crt".into());
    assert!(matches!(
        direct_kube_config(&url, &Credential::Token(Token::new("t")), &missing),
        Err(KubeConfigError::CaFile { .. })
    ));
}

#[tokio::test]
async fn kubeconfig_file() {
    let yaml = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: host\n\
         clusters:\n- name: host\n  cluster:\n    server: https://172.25.0.2:6443\n    certificate-authority-data: {}\n\
         users:\n- name: dpu\n  user:\n    token: abc.def\n\
         contexts:\n- name: host\n  context:\n    cluster: host\n    user: dpu\n    namespace: ovn-kubernetes\n",
        test_ca_data()
    );
    let path = temp_file("kubeconfig.yaml", &yaml);
    let cfg = kube_config(&HostK8sAccess::Kubeconfig(path)).await.unwrap();
    assert_eq!(cfg.cluster_url.to_string(), "https://172.25.0.2:6443/");
    assert_eq!(cfg.default_namespace, "ovn-kubernetes");
    assert_eq!(cfg.root_cert.as_ref().map(Vec::len), Some(1));
    let missing = kube_config(&HostK8sAccess::Kubeconfig("/nonexistent/kubeconfig".into())).await;
    assert!(matches!(missing, Err(KubeConfigError::Kubeconfig { .. })));
}
