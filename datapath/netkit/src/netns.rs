//! [`Netns`]: a named network namespace this process created, deleted on
//! drop, and code run inside it.

use std::any::Any;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::thread::JoinHandle;

use crate::cmd::{self, Tool};
use crate::Error;

/// Where `ip netns add` mounts the namespace files (iproute2's
/// `NETNS_RUN_DIR`).
pub const NETNS_RUN_DIR: &str = "/var/run/netns";

/// Prefix of every namespace the kit creates:
/// `dpuflow-<pid>-<counter>-<label>`.
const PREFIX: &str = "dpuflow-";

/// Process-wide counter behind unique namespace and interface names.
pub(crate) fn next_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A network namespace created with `ip netns add` under a name unique to
/// this process (`dpuflow-<pid>-<n>-<label>`), so tests running in parallel,
/// in this or another process, never share one. Dropping it runs `ip netns
/// del`.
///
/// Code runs inside it on a thread that entered it with `setns(2)`
/// ([`Netns::run`], [`Netns::spawn`]); tools run inside it with `ip netns
/// exec` ([`Netns::exec`]).
#[derive(Debug)]
pub struct Netns {
    name: String,
    path: PathBuf,
}

impl Netns {
    /// Creates a namespace whose name ends in `label` (letters, digits, `-`
    /// and `_` are kept, anything else becomes `_`), with its loopback up.
    ///
    /// The first call in a process also deletes the kit's namespaces left
    /// behind by processes that no longer run (a test killed before its
    /// drops ran); namespaces of live processes are left alone.
    ///
    /// # Errors
    /// [`Error::NotRoot`], [`Error::ToolMissing`] without iproute2, or the
    /// failing `ip` command.
    pub fn new(label: &str) -> Result<Self, Error> {
        cmd::require_root()?;
        Tool::Ip.require()?;
        static SWEEP: Once = Once::new();
        SWEEP.call_once(sweep_stale);
        let label: String = label
            .chars()
            .take(32)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("{PREFIX}{}-{}-{label}", std::process::id(), next_id());
        cmd::run(Tool::Ip, ["netns", "add", &name])?;
        let ns = Netns {
            path: Path::new(NETNS_RUN_DIR).join(&name),
            name,
        };
        ns.ip(["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace file (`/var/run/netns/<name>`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `ip -n <name> args…` (iproute2 inside the namespace).
    ///
    /// # Errors
    /// [`Error::Command`] with `ip`'s stderr when it fails.
    pub fn ip<I, S>(&self, args: I) -> Result<Output, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(Tool::Ip.program());
        cmd.arg("-n").arg(&self.name).args(args);
        let output = cmd::output(Tool::Ip, &mut cmd)?;
        cmd::check(&cmd, output)
    }

    /// Runs `program args…` inside the namespace (`ip netns exec`), which
    /// also mounts a `/sys` of the namespace for the program; returns its
    /// output.
    ///
    /// # Errors
    /// [`Error::Command`] with the program's stderr when it exits with a
    /// failure (also when `program` does not exist: `ip` then says so).
    pub fn exec<I, S>(&self, program: &str, args: I) -> Result<Output, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.exec_command(program);
        cmd.args(args);
        let output = cmd::output(Tool::Ip, &mut cmd)?;
        cmd::check(&cmd, output)
    }

    /// `ip netns exec <name> program`, to add arguments to and run.
    pub(crate) fn exec_command(&self, program: &str) -> Command {
        let mut cmd = Command::new(Tool::Ip.program());
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Runs `f` on a new thread that entered this namespace, and returns
    /// what it returned. Sockets `f` creates belong to the namespace for
    /// their whole life, whichever thread uses them afterwards: bind a
    /// listener here, return it, and accept on any thread.
    ///
    /// Only the network namespace changes: the thread still sees the root
    /// namespace's `/sys` (mount namespace); use [`Netns::exec`] for tools
    /// that read it.
    ///
    /// # Errors
    /// [`Error::Io`]/[`Error::Setns`] when the namespace cannot be entered,
    /// [`Error::Panicked`] with the panic's message when `f` panics.
    pub fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let file = self.open()?;
        let name = self.name.as_str();
        std::thread::scope(|s| {
            let thread = s.spawn(move || {
                enter(&file, name)?;
                Ok(f())
            });
            thread.join().unwrap_or_else(|p| Err(panicked(name, p)))
        })
    }

    /// Like [`Netns::run`], but returns at once: `f` runs on its own thread
    /// inside the namespace (a server, say) until [`NsThread::join`].
    /// Dropping the handle detaches the thread.
    ///
    /// # Errors
    /// [`Error::Io`] when the namespace file cannot be opened or the thread
    /// not started; entering and panics are reported by [`NsThread::join`].
    pub fn spawn<T, F>(&self, f: F) -> Result<NsThread<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let file = self.open()?;
        let name = self.name.clone();
        let thread_name = name.clone();
        let handle = std::thread::Builder::new()
            .name(format!("netns {name}"))
            .spawn(move || {
                enter(&file, &thread_name)?;
                Ok(f())
            })
            .map_err(|e| Error::Io {
                what: format!("starting a thread for namespace {name}"),
                source: e,
            })?;
        Ok(NsThread { name, handle })
    }

    fn open(&self) -> Result<File, Error> {
        File::open(&self.path).map_err(|e| Error::Io {
            what: format!("opening {}", self.path.display()),
            source: e,
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = cmd::run(Tool::Ip, ["netns", "del", &self.name]) {
            eprintln!("dpuflow-netkit: cannot delete namespace {}: {e}", self.name);
        }
    }
}

/// Code running on its own thread inside a namespace ([`Netns::spawn`]).
#[derive(Debug)]
pub struct NsThread<T> {
    name: String,
    handle: JoinHandle<Result<T, Error>>,
}

impl<T> NsThread<T> {
    /// Waits for the code to finish and returns its result.
    ///
    /// # Errors
    /// [`Error::Setns`] when the thread could not enter the namespace,
    /// [`Error::Panicked`] when the code panicked.
    pub fn join(self) -> Result<T, Error> {
        self.handle
            .join()
            .unwrap_or_else(|p| Err(panicked(&self.name, p)))
    }

    /// Whether the code has finished (joining will not block).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// Moves the calling thread into the namespace of `file`.
fn enter(file: &File, name: &str) -> Result<(), Error> {
    // SAFETY: `file` is an open namespace file for the whole call; setns
    // changes only the calling thread's network namespace, and the callers
    // call it first thing on a thread of their own that ends after running
    // the user's code, so no other code finds itself in another namespace.
    let ret = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if ret == 0 {
        Ok(())
    } else {
        Err(Error::Setns {
            ns: name.to_string(),
            source: io::Error::last_os_error(),
        })
    }
}

fn panicked(ns: &str, payload: Box<dyn Any + Send>) -> Error {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(not a string)".to_string());
    Error::Panicked {
        ns: ns.to_string(),
        message,
    }
}

/// Deletes the kit's namespaces whose creating process is gone. Their
/// veths go with them (a veth dies with either end).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(NETNS_RUN_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            if let Err(e) = cmd::run(Tool::Ip, ["netns", "del", &name]) {
                eprintln!("dpuflow-netkit: cannot delete stale namespace {name}: {e}");
            }
        }
    }
}
