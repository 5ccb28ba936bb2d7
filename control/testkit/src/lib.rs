//! A real kube-apiserver + etcd on loopback, for integration tests and
//! benchmarks: started through `scripts/kube-apiserver.sh` (built from
//! Debian's source package, cached in `~/.cache/dpuflow`), stopped on drop.
//! Not used by the agent itself.

use std::path::PathBuf;
use std::process::Command;

/// Why the server could not be started or reached.
#[derive(Debug, thiserror::Error)]
pub enum LocalApiServerError {
    /// The script failed; its output says why.
    #[error("kube-apiserver.sh {args}: {output}")]
    Script {
        /// The arguments given.
        args: String,
        /// Exit status and output.
        output: String,
    },
    /// A file the script writes is missing.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A client could not be built.
    #[error("kube client: {0}")]
    Client(String),
}

/// One running server and its credentials.
#[derive(Debug)]
pub struct LocalApiServer {
    dir: PathBuf,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The serving certificate chain (PEM), to trust.
    pub ca_pem: Vec<u8>,
    /// A `system:masters` token.
    pub admin_token: String,
    /// A token of a user with no rights (RBAC tests).
    pub limited_token: String,
}

/// The script: `DPUFLOW_KUBE_APISERVER_SCRIPT`, else the repository's.
fn script() -> PathBuf {
    std::env::var_os("DPUFLOW_KUBE_APISERVER_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../scripts/kube-apiserver.sh"
            ))
        })
}

fn run(args: &[&str]) -> Result<(), LocalApiServerError> {
    let failed = |output: String| LocalApiServerError::Script {
        args: args.join(" "),
        output,
    };
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(failed(format!(
        "{}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )))
}

impl LocalApiServer {
    /// Starts a fresh server in a state directory named after `name`.
    ///
    /// # Errors
    /// [`LocalApiServerError`] when the script fails (the server is then
    /// stopped again).
    pub fn start(name: &str) -> Result<Self, LocalApiServerError> {
        let dir = std::env::temp_dir().join(format!("dpuflow-kas-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| LocalApiServerError::File {
            path: dir.display().to_string(),
            source,
        })?;
        // The guard exists before the start: a half-started server is
        // stopped by its drop.
        let mut server = LocalApiServer {
            dir,
            url: String::new(),
            ca_pem: Vec::new(),
            admin_token: String::new(),
            limited_token: String::new(),
        };
        run(&["start", &server.dir.to_string_lossy()])?;
        server.url = server.read("server.url")?.trim().to_string();
        server.ca_pem = server.read("ca.crt")?.into_bytes();
        server.admin_token = server.read("admin.token")?.trim().to_string();
        server.limited_token = server.read("limited.token")?.trim().to_string();
        Ok(server)
    }

    fn read(&self, file: &str) -> Result<String, LocalApiServerError> {
        let path = self.dir.join(file);
        std::fs::read_to_string(&path).map_err(|source| LocalApiServerError::File {
            path: path.display().to_string(),
            source,
        })
    }

    /// Starts the API server again at the same URL with the same certificate
    /// (after [`LocalApiServer::kill_apiserver`] or on its own).
    ///
    /// # Errors
    /// [`LocalApiServerError::Script`].
    pub fn restart(&self) -> Result<(), LocalApiServerError> {
        run(&["restart-apiserver", &self.dir.to_string_lossy()])
    }

    /// Kills only the API server process (etcd stays), to test reconnects.
    pub fn kill_apiserver(&self) {
        if let Ok(pid) = self.read("apiserver.pid") {
            let _ = Command::new("kill").arg("-9").arg(pid.trim()).status();
        }
    }

    /// A client of this server with `token`. Build it inside the tokio
    /// runtime that will use it.
    ///
    /// # Errors
    /// [`LocalApiServerError::Client`] for a bad URL or certificate.
    pub fn client_with(&self, token: &str) -> Result<kube::Client, LocalApiServerError> {
        client(&self.url, &self.ca_pem, token)
    }
}

/// A client of `url` trusting `ca_pem`, authenticating with `token`.
///
/// # Errors
/// [`LocalApiServerError::Client`] for a bad URL or certificate.
pub fn client(url: &str, ca_pem: &[u8], token: &str) -> Result<kube::Client, LocalApiServerError> {
    let bad = |e: String| LocalApiServerError::Client(e);
    let mut config = kube::Config::new(
        url.parse()
            .map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?,
    );
    let certs = pem::parse_many(ca_pem).map_err(|e| bad(e.to_string()))?;
    config.root_cert = Some(certs.into_iter().map(pem::Pem::into_contents).collect());
    config.auth_info.token = Some(token.to_string().into());
    kube::Client::try_from(config).map_err(|e| bad(e.to_string()))
}

impl Drop for LocalApiServer {
    fn drop(&mut self) {
        if let Err(e) = run(&["stop", &self.dir.to_string_lossy()]) {
            eprintln!("stopping the local API server: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `DPUFLOW_*` environment of an agent serving host node `node` against
/// the server at `url`: the settings an OVN-Kubernetes DPU deployment gives
/// (seed), with documentation addresses. Callers add or replace entries
/// before [`agent_config`].
pub fn agent_env(
    url: &str,
    ca_pem: &[u8],
    token: &str,
    node: &str,
) -> std::collections::BTreeMap<String, String> {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    [
        ("DPUFLOW_HOST_K8S_APISERVER", url.to_string()),
        ("DPUFLOW_HOST_K8S_TOKEN", token.to_string()),
        ("DPUFLOW_HOST_K8S_CACERT_DATA", ca),
        ("DPUFLOW_CLUSTER_SUBNETS", "10.244.0.0/16/24".to_string()),
        (
            "DPUFLOW_SERVICE_CLUSTER_IP_RANGE",
            "10.96.0.0/16".to_string(),
        ),
        ("DPUFLOW_HOST_K8S_NODENAME", node.to_string()),
        ("DPUFLOW_ENCAP_IP", "198.51.100.10".to_string()),
        ("DPUFLOW_GATEWAY_INTERFACE", "brp0".to_string()),
        ("DPUFLOW_GATEWAY_NEXTHOP", "203.0.113.1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Loads an agent configuration from `env` alone (no file, no flags), on a
/// DPU whose hostname is `dpu`.
///
/// # Errors
/// Every setting that does not validate.
pub fn agent_config(
    env: std::collections::BTreeMap<String, String>,
) -> Result<dpuflow_control::config::Config, dpuflow_control::config::ConfigErrors> {
    use dpuflow_control::config::{load, ConfigArgs, Environment, LoadContext};
    let ctx = LoadContext {
        env: Environment::from_vars(env),
        system_hostname: Some("dpu".to_string()),
    };
    load(&ConfigArgs::default(), &ctx)
}
