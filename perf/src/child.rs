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

/// Runs a dpuflow measuring child to its end and returns the line it
/// reports its result on (`WORKER …`); a failed child or a missing line is
/// an error carrying what the child printed.
pub fn worker_result(cmd: Command) -> Result<String, Error> {
    let out = spawn(cmd)?.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "dpuflow worker failed: {}\n{}{}",
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    text.lines()
        .find(|l| l.starts_with("WORKER "))
        .map(str::to_owned)
        .ok_or_else(|| format!("worker printed no result:\n{text}").into())
}
