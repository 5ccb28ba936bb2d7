//! Driving `dpdk-testpmd` interactively: wait for its prompt, `start`,
//! measure, `stop`, and read its own forward statistics.

use std::io::{Read, Write};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::child;
use crate::Error;

/// What testpmd reported for one measured run.
#[derive(Debug, Clone, Copy)]
pub struct TestpmdRun {
    /// Packets forwarded (accumulated TX-packets).
    pub forwarded: u64,
    /// Seconds between `start` and `stop`.
    pub seconds: f64,
    /// testpmd's busy cycles per packet (`--record-core-cycles`), if shown.
    pub cycles_per_packet: Option<f64>,
    /// The TSC clock testpmd printed with its cycles (MHz), if shown.
    pub tsc_mhz: Option<f64>,
}

impl TestpmdRun {
    /// Million packets per second.
    pub fn mpps(&self) -> f64 {
        self.forwarded as f64 / self.seconds / 1e6
    }
}

/// An interactive testpmd whose stdout is collected by a reader thread.
struct Session {
    child: Child,
    output: mpsc::Receiver<String>,
    seen: String,
}

impl Session {
    fn spawn(eal_args: &[String], app_args: &[&str]) -> Result<Self, Error> {
        let mut cmd = Command::new("dpdk-testpmd");
        cmd.args(eal_args).arg("--").arg("-i").args(app_args);
        let mut child = child::spawn(cmd)?;
        let mut stdout = child.stdout.take().ok_or("testpmd has no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0
                    || tx
                        .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                        .is_err()
                {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            output: rx,
            seen: String::new(),
        })
    }

    /// Reads output until `needle` appears after byte `from`, or times out.
    fn wait_for(&mut self, needle: &str, from: usize, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        while !self.seen[from.min(self.seen.len())..].contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.seen.push_str(&chunk),
                Err(_) => {
                    return Err(format!(
                        "testpmd did not print {needle:?}; output so far:\n{}",
                        self.seen
                    )
                    .into())
                }
            }
        }
        Ok(())
    }

    fn send(&mut self, line: &str) -> Result<(), Error> {
        let stdin = self.child.stdin.as_mut().ok_or("testpmd has no stdin")?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        Ok(())
    }

    fn finish(mut self) -> Result<String, Error> {
        let _ = self.send("quit");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                break;
            }
            if let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(100)) {
                self.seen.push_str(&chunk);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(chunk) = self.output.try_recv() {
            self.seen.push_str(&chunk);
        }
        Ok(self.seen)
    }
}

/// Runs testpmd (its forwarding mode is in `app_args`) for `seconds` and
/// parses its statistics.
pub fn measure(eal_args: &[String], app_args: &[&str], seconds: f64) -> Result<TestpmdRun, Error> {
    let mut s = Session::spawn(eal_args, app_args)?;
    s.wait_for("testpmd> ", 0, Duration::from_secs(90))?;
    let mark = s.seen.len();
    s.send("start")?;
    s.wait_for("testpmd> ", mark, Duration::from_secs(10))?;
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    s.send("stop")?;
    let elapsed = t0.elapsed().as_secs_f64();
    // testpmd's statistics go through stdio, fully buffered on a pipe: they
    // arrive when it exits, so quit first and parse everything.
    let text = s.finish()?;
    parse_stop(&text, elapsed)
}

/// Parses the statistics testpmd prints on `stop`.
fn parse_stop(text: &str, seconds: f64) -> Result<TestpmdRun, Error> {
    let acc = text
        .split("Accumulated forward statistics for all ports")
        .nth(1)
        .ok_or_else(|| format!("no accumulated statistics in testpmd output:\n{text}"))?;
    let forwarded =
        number_after(acc, "TX-packets:").ok_or("no TX-packets in testpmd statistics")?;
    let cycles_per_packet = text
        .split("CPU cycles/packet=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    let tsc_mhz = text
        .split("CPU cycles/packet=")
        .nth(1)
        .and_then(|t| t.split(" MHz Clock").next())
        .and_then(|t| t.rsplit(' ').next())
        .and_then(|v| v.parse().ok());
    Ok(TestpmdRun {
        forwarded: forwarded as u64,
        seconds,
        cycles_per_packet,
        tsc_mhz,
    })
}

fn number_after(text: &str, label: &str) -> Option<f64> {
    text.split(label)
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_testpmd_22_11_stop_output() {
        let out = "\nTelling cores to stop...\nWaiting for lcores to finish...\n\n  \
            ---------------------- Forward statistics for port 0  ----------------------\n  \
            RX-packets: 300            RX-dropped: 0             RX-total: 300\n  \
            TX-packets: 0              TX-dropped: 0             TX-total: 0\n\n  \
            +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++\n  \
            RX-packets: 300            RX-dropped: 0             RX-total: 300\n  \
            TX-packets: 298            TX-dropped: 2             TX-total: 300\n  \
            ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++\n\n  \
            CPU cycles/packet=41.25 (busy cycles=12375 / total io packets=300) at 2600 MHz Clock\n\nDone.\n";
        let run = parse_stop(out, 2.0).expect("parse");
        assert_eq!(run.forwarded, 298);
        assert_eq!(run.cycles_per_packet, Some(41.25));
        assert_eq!(run.tsc_mhz, Some(2600.0));
        assert!((run.mpps() - 298.0 / 2.0 / 1e6).abs() < 1e-12);
    }
}
