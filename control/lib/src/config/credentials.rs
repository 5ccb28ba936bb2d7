//! Checking the host-cluster credential settings: exactly one way in
//! (kubeconfig, or URL + one token source + one CA source), each usable.

use std::path::PathBuf;

use base64::Engine;

use super::fields::Fields;
use super::host_cluster::{CaBundle, CaCert, Credential, HostK8sAccess};
use super::keys::{APISERVER, CACERT, CACERT_DATA, KUBECONFIG, TOKEN, TOKEN_FILE};
use super::secret::Token;

/// The host-cluster access settings, checked.
pub(crate) fn host_access(f: &mut Fields<'_>) -> Option<HostK8sAccess> {
    if f.is_set(KUBECONFIG) {
        return kubeconfig(f);
    }
    let apiserver = f.required(APISERVER, parse_apiserver);
    let credential = credential(f);
    let ca = ca(f);
    Some(HostK8sAccess::Direct {
        apiserver: apiserver?,
        credential: credential?,
        ca: ca?,
    })
}

fn kubeconfig(f: &mut Fields<'_>) -> Option<HostK8sAccess> {
    let conflicts: Vec<&'static str> = [APISERVER, TOKEN, TOKEN_FILE, CACERT_DATA, CACERT]
        .into_iter()
        .filter(|k| f.is_set(k))
        .collect();
    for key in &conflicts {
        f.problem(
            key,
            format!("conflicts with {KUBECONFIG}; give a kubeconfig or URL + token + CA, not both"),
        );
    }
    let path = f.parse(KUBECONFIG, |s| {
        kube::config::Kubeconfig::read_from(s)
            .map(|_| PathBuf::from(s))
            .map_err(|e| format!("unusable kubeconfig: {e}"))
    })?;
    conflicts
        .is_empty()
        .then_some(HostK8sAccess::Kubeconfig(path))
}

fn parse_apiserver(s: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = s.parse().map_err(|e| format!("not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("https") if uri.host().is_some_and(|h| !h.is_empty()) => Ok(uri),
        Some("https") => Err("has no host".into()),
        Some("http") => {
            Err("must be https:// (plain http would send the token in clear text)".into())
        }
        _ => Err("must be an https:// URL, e.g. https://172.25.0.2:6443".into()),
    }
}

/// Exactly one of token and token file.
fn credential(f: &mut Fields<'_>) -> Option<Credential> {
    match (f.is_set(TOKEN), f.is_set(TOKEN_FILE)) {
        (false, false) => {
            f.problem(
                TOKEN,
                format!("a credential is required: {TOKEN}, {TOKEN_FILE} or {KUBECONFIG}"),
            );
            None
        }
        (true, true) => {
            f.problem(
                TOKEN_FILE,
                format!("conflicts with {TOKEN}; give one of them"),
            );
            None
        }
        (true, false) => f.parse(TOKEN, parse_token).map(Credential::Token),
        (false, true) => f.parse(TOKEN_FILE, |s| {
            let text = std::fs::read_to_string(s).map_err(|e| format!("cannot read: {e}"))?;
            parse_token(&text).map(|_| Credential::TokenFile(PathBuf::from(s)))
        }),
    }
}

/// A token is one word; a still-encoded service-account token (the Secret's
/// `data.token` as is) is caught, since the upstream guide asks for it
/// decoded.
fn parse_token(s: &str) -> Result<Token, String> {
    let token = Token::new(s);
    let text = token.expose();
    if text.is_empty() {
        return Err("is empty".into());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be a single word (no spaces or line breaks inside)".into());
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(text.as_bytes());
    if text.starts_with("ZXlK") && decoded.is_ok_and(|d| d.starts_with(b"eyJ")) {
        return Err("looks base64-encoded (it decodes to a JWT); give the decoded token".into());
    }
    Ok(token)
}

/// Exactly one of CA data and CA file.
fn ca(f: &mut Fields<'_>) -> Option<CaCert> {
    match (f.is_set(CACERT_DATA), f.is_set(CACERT)) {
        (false, false) => {
            f.problem(
                CACERT_DATA,
                format!("the host cluster's CA is required: {CACERT_DATA} or {CACERT}"),
            );
            None
        }
        (true, true) => {
            f.problem(
                CACERT,
                format!("conflicts with {CACERT_DATA}; give one of them"),
            );
            None
        }
        (true, false) => f
            .parse(CACERT_DATA, CaBundle::from_base64)
            .map(CaCert::Data),
        (false, true) => f.parse(CACERT, |s| {
            CaBundle::from_file(s.as_ref()).map(|_| CaCert::File(PathBuf::from(s)))
        }),
    }
}
