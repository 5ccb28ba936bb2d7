//! Running the system tools the kit drives (`ip`, `ethtool`, `ping`):
//! exit status checked, stderr surfaced, a missing tool named with the
//! Debian package that provides it.

use std::ffi::OsStr;
use std::io;
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::Error;

/// A tool the kit runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    /// `ip` (iproute2): namespaces, links, addresses, routes, neighbours.
    Ip,
    /// `ethtool`: checksum offload off on every veth end.
    Ethtool,
    /// `ping` (iputils-ping), run inside a namespace by `ip netns exec`.
    Ping,
}

impl Tool {
    pub(crate) fn program(self) -> &'static str {
        match self {
            Tool::Ip => "ip",
            Tool::Ethtool => "ethtool",
            Tool::Ping => "ping",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Tool::Ip => "iproute2",
            Tool::Ethtool => "ethtool",
            Tool::Ping => "iputils-ping",
        }
    }

    fn version_arg(self) -> &'static str {
        match self {
            Tool::Ip | Tool::Ping => "-V",
            Tool::Ethtool => "--version",
        }
    }

    pub(crate) fn missing(self) -> Error {
        Error::ToolMissing {
            tool: self.program(),
            package: self.package(),
        }
    }

    /// Fails with [`Error::ToolMissing`] unless the tool can be started.
    /// Checked once per process and tool: a tool run through `ip netns
    /// exec` would otherwise fail with `ip`'s exit status, not a name.
    pub(crate) fn require(self) -> Result<(), Error> {
        static FOUND: [OnceLock<bool>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let slot = match self {
            Tool::Ip => &FOUND[0],
            Tool::Ethtool => &FOUND[1],
            Tool::Ping => &FOUND[2],
        };
        let found = *slot.get_or_init(|| {
            // Only "cannot be started" counts: an old tool that refuses the
            // version flag is still there.
            !matches!(
                Command::new(self.program()).arg(self.version_arg()).output(),
                Err(e) if e.kind() == io::ErrorKind::NotFound
            )
        });
        if found {
            Ok(())
        } else {
            Err(self.missing())
        }
    }
}

/// Network namespaces need root (CAP_SYS_ADMIN to mount the namespace file,
/// CAP_NET_ADMIN for links).
pub(crate) fn require_root() -> Result<(), Error> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 {
        Ok(())
    } else {
        Err(Error::NotRoot(euid))
    }
}

/// Runs `tool args…`; a non-zero exit is [`Error::Command`] with stderr.
pub(crate) fn run<I, S>(tool: Tool, args: I) -> Result<Output, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(tool.program());
    cmd.args(args);
    let output = output(tool, &mut cmd)?;
    check(&cmd, output)
}

/// Starts `cmd` (whose program is `tool`) and collects its output, whatever
/// its exit status.
pub(crate) fn output(tool: Tool, cmd: &mut Command) -> Result<Output, Error> {
    cmd.output().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            tool.missing()
        } else {
            Error::Io {
                what: format!("starting `{}`", describe(cmd)),
                source: e,
            }
        }
    })
}

/// `output` unless its status says failure.
pub(crate) fn check(cmd: &Command, output: Output) -> Result<Output, Error> {
    if output.status.success() {
        Ok(output)
    } else {
        Err(failed(cmd, &output))
    }
}

/// [`Error::Command`] for a finished command.
pub(crate) fn failed(cmd: &Command, output: &Output) -> Error {
    let mut stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if stderr.is_empty() {
        // Some tools (ping) report on stdout.
        stderr = String::from_utf8_lossy(&output.stdout).trim().to_string();
    }
    Error::Command {
        command: describe(cmd),
        status: output.status,
        stderr,
    }
}

/// The command line as a user would type it.
pub(crate) fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}
