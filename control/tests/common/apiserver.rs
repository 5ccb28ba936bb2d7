//! A real kube-apiserver + etcd on loopback for integration tests, started
//! through scripts/kube-apiserver.sh (built from Debian's source package and
//! cached in ~/.cache/dpuflow). Stopped on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One running API server and its credentials.
pub struct ApiServer {
    pub dir: PathBuf,
    pub url: String,
    pub ca_pem: Vec<u8>,
    pub admin_token: String,
    pub limited_token: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kube-apiserver.sh")
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .map_err(|e| format!("cannot run kube-apiserver.sh: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "kube-apiserver.sh {args:?} failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl ApiServer {
    /// Starts a fresh server. Panics when it cannot: the project's scripts
    /// build it, so a failure here is a real failure, not a skip — unless
    /// `DPUFLOW_SKIP_APISERVER=1` says this machine cannot build it, in
    /// which case `None` is returned and the caller skips loudly.
    pub fn start(name: &str) -> Option<Self> {
        if std::env::var("DPUFLOW_SKIP_APISERVER").is_ok_and(|v| v == "1") {
            eprintln!(
                "!!! SKIPPED: DPUFLOW_SKIP_APISERVER=1, no real kube-apiserver on this machine"
            );
            return None;
        }
        let dir = std::env::temp_dir().join(format!("dpuflow-kas-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("state dir");
        let d = dir.to_string_lossy().into_owned();
        run(&["start", &d]).unwrap_or_else(|e| panic!("{e}"));
        let read =
            |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        Some(Self {
            url: read("server.url").trim().to_string(),
            ca_pem: read("ca.crt").into_bytes(),
            admin_token: read("admin.token").trim().to_string(),
            limited_token: read("limited.token").trim().to_string(),
            dir,
        })
    }

    /// Kills the API server (etcd stays) and starts it again at the same URL
    /// with the same certificate.
    pub fn restart(&self) {
        run(&["restart-apiserver", &self.dir.to_string_lossy()]).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Kills only the API server process (to test reconnects).
    pub fn kill_apiserver(&self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("apiserver.pid")) {
            let _ = Command::new("kill").arg("-9").arg(pid.trim()).status();
        }
    }

    /// A kube client with `token`.
    pub fn client_with(&self, token: &str) -> kube::Client {
        let url = self.url.parse().expect("server url");
        let mut config = kube::Config::new(url);
        let certs = pem::parse_many(&self.ca_pem).expect("ca pem");
        config.root_cert = Some(certs.into_iter().map(|p| p.into_contents()).collect());
        config.auth_info.token = Some(token.to_string().into());
        kube::Client::try_from(config).expect("client")
    }

    /// An admin (system:masters) client.
    pub fn admin(&self) -> kube::Client {
        self.client_with(&self.admin_token)
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = run(&["stop", &self.dir.to_string_lossy()]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
