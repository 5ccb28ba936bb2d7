//! Benchmark children: each measured program runs in its own session and
//! autogroup at raised priority, so the host scheduler gives every poller the
//! same fair share of its core (see dpdk-facts: perf topology).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use crate::Error;

/// Spawns `cmd` in a new session with piped stdio and boosts its autogroup.
pub fn spawn(mut cmd: Command) -> Result<Child, Error> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe and touches no Rust state; it
    // runs in the forked child before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    // Best effort: without the autogroup boost numbers are noisier, not wrong.
    let _ = std::fs::write(format!("/proc/{}/autogroup", child.id()), "-10");
    Ok(child)
}
