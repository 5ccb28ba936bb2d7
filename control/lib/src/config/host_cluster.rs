//! How dpuflow reaches the host cluster's API server, and the
//! [`kube::Config`] built from it.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::secret::Token;

/// Credentials and trust for the host cluster.
#[derive(Clone, Debug)]
pub enum HostK8sAccess {
    /// API server URL, a bearer token and the cluster CA: the settings of
    /// the upstream DPU chart (`dpuHostClusterK8sAPIServer`, `...Token`,
    /// `...CACertData`).
    Direct {
        /// `https://` URL of the API server.
        apiserver: http::Uri,
        /// The token or the file it is (re)read from.
        credential: Credential,
        /// The CA that signed the API server's certificate.
        ca: CaCert,
    },
    /// A kubeconfig file (its current context).
    Kubeconfig(PathBuf),
}

/// The bearer token.
#[derive(Clone, Debug)]
pub enum Credential {
    /// Given directly (already base64-decoded, as the upstream guide says).
    Token(Token),
    /// Read from this file; kube re-reads it periodically (rotation).
    TokenFile(PathBuf),
}

/// The API server's CA.
#[derive(Clone, Debug)]
pub enum CaCert {
    /// Decoded from `host-k8s-cacert-data` (base64 of the PEM `ca.crt`).
    Data(CaBundle),
    /// A PEM file; kube re-reads it periodically (rotation).
    File(PathBuf),
}

/// DER certificates of a CA bundle.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    /// Each certificate, DER-encoded.
    pub der: Vec<Vec<u8>>,
}

impl CaBundle {
    /// Decodes the Secret's `ca.crt` value as given (base64 of PEM).
    /// Whitespace (line breaks from copy-paste) is ignored.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let compact: String = text.split_ascii_whitespace().collect();
        if compact.starts_with("-----BEGIN") {
            return Err(
                "this is PEM text; give the base64-encoded ca.crt as found in the Secret, \
                        or point host-k8s-cacert at the PEM file"
                    .into(),
            );
        }
        let pem = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| format!("not valid base64: {e}"))?;
        Self::from_pem(&pem)
    }

    /// Parses PEM text holding one or more `CERTIFICATE` blocks.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let blocks = pem::parse_many(pem).map_err(|e| format!("not PEM: {e}"))?;
        let der: Vec<Vec<u8>> = blocks
            .iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| b.contents().to_vec())
            .collect();
        if der.is_empty() {
            return Err("holds no PEM CERTIFICATE block".into());
        }
        Ok(CaBundle { der })
    }

    /// Reads and parses a PEM file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        Self::from_pem(&bytes)
    }

    /// SHA-256 fingerprint of the first certificate, `AB:CD:...`.
    pub fn fingerprint(&self) -> String {
        let first = self.der.first().map(Vec::as_slice).unwrap_or_default();
        Sha256::digest(first)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CaBundle({} certificate(s), sha256 {})",
            self.der.len(),
            self.fingerprint()
        )
    }
}

/// Why a client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KubeConfigError {
    /// The CA file could not be read or parsed.
    #[error("host-k8s-cacert {path}: {problem}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A path is not UTF-8 (kube keeps token file paths as strings).
    #[error("{what} path {path:?} is not UTF-8")]
    NonUtf8Path {
        /// Which setting.
        what: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// The kubeconfig could not be read or used.
    #[error("host-k8s-kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// kube's error.
        #[source]
        source: kube::config::KubeconfigError,
    },
}

/// The client configuration for the host cluster.
///
/// For [`HostK8sAccess::Direct`]: the URL, `root_cert` = the CA's DER
/// certificates (plus `root_cert_file` for a CA file, so kube follows
/// rotation), and `auth_info.token` / `auth_info.token_file`. For a
/// kubeconfig: its current context, via kube's own loader.
pub async fn kube_config(access: &HostK8sAccess) -> Result<kube::Config, KubeConfigError> {
    match access {
        HostK8sAccess::Direct {
            apiserver,
            credential,
            ca,
        } => direct_kube_config(apiserver, credential, ca),
        HostK8sAccess::Kubeconfig(path) => {
            let err = |source| KubeConfigError::Kubeconfig {
                path: path.clone(),
                source,
            };
            let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(err)?;
            kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .map_err(err)
        }
    }
}

/// The client configuration for URL + token + CA (no I/O except reading a
/// CA file).
pub fn direct_kube_config(
    apiserver: &http::Uri,
    credential: &Credential,
    ca: &CaCert,
) -> Result<kube::Config, KubeConfigError> {
    let mut cfg = kube::Config::new(apiserver.clone());
    match ca {
        CaCert::Data(bundle) => cfg.root_cert = Some(bundle.der.clone()),
        CaCert::File(path) => {
            let bundle = CaBundle::from_file(path).map_err(|problem| KubeConfigError::CaFile {
                path: path.clone(),
                problem,
            })?;
            cfg.root_cert = Some(bundle.der);
            cfg.root_cert_file = Some(path.clone());
        }
    }
    match credential {
        Credential::Token(token) => cfg.auth_info.token = Some(token.to_secret_string()),
        Credential::TokenFile(path) => {
            let text = path.to_str().ok_or_else(|| KubeConfigError::NonUtf8Path {
                what: "host-k8s-token-file",
                path: path.clone(),
            })?;
            cfg.auth_info.token_file = Some(text.to_string());
        }
    }
    Ok(cfg)
}

#[cfg(test)]
pub(crate) mod tests;
