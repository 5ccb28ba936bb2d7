//! `ping` (iputils) run inside a namespace, its summary parsed.

use std::net::IpAddr;
use std::time::Duration;

use crate::cmd::{self, Tool};
use crate::{Error, Netns};

/// What `ping` reported.
#[derive(Debug, Clone, PartialEq)]
pub struct PingStats {
    /// Echo requests sent.
    pub transmitted: u32,
    /// Echo replies received.
    pub received: u32,
    /// Round-trip times, when at least one reply came.
    pub rtt: Option<Rtt>,
    /// Everything ping printed (for failure messages).
    pub output: String,
}

/// Round-trip times of the replies (`rtt min/avg/max/mdev`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rtt {
    /// Fastest reply.
    pub min: Duration,
    /// Mean.
    pub avg: Duration,
    /// Slowest reply.
    pub max: Duration,
}

impl PingStats {
    /// Whether every request got its reply.
    pub fn all_replied(&self) -> bool {
        self.transmitted > 0 && self.received == self.transmitted
    }
}

/// Seconds between requests: fast, and allowed for root (iputils refuses
/// intervals under 0.2 s for other users, and the kit runs as root).
const INTERVAL: &str = "0.1";
/// Seconds to wait for each reply.
const WAIT: &str = "1";

/// `ip netns exec <ns> ping -n -c <count> -i 0.1 -W 1 -4|-6 <addr>`.
pub(crate) fn ping(ns: &Netns, addr: IpAddr, count: u32) -> Result<PingStats, Error> {
    Tool::Ping.require()?;
    let family = if addr.is_ipv4() { "-4" } else { "-6" };
    let mut cmd = ns.exec_command(Tool::Ping.program());
    cmd.args(["-n", family, "-i", INTERVAL, "-W", WAIT, "-c"])
        .arg(count.to_string())
        .arg(addr.to_string());
    let output = cmd::output(Tool::Ip, &mut cmd)?;
    // Exit 1 is "not every reply came" and still prints the summary; a
    // missing summary (exit 2: no route, bad address…) is an error.
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    parse(&text).ok_or_else(|| cmd::failed(&cmd, &output))
}

/// Parses iputils' summary:
/// `3 packets transmitted, 3 received, 0% packet loss, time 203ms` and
/// `rtt min/avg/max/mdev = 0.041/0.052/0.064/0.009 ms`.
pub(crate) fn parse(output: &str) -> Option<PingStats> {
    let summary = output.lines().find(|l| l.contains("packets transmitted"))?;
    let mut fields = summary.split(", ");
    let transmitted = leading_number(fields.next()?)?;
    let received = fields
        .find(|f| f.ends_with(" received"))
        .and_then(leading_number)?;
    let rtt = output
        .lines()
        .find_map(|l| l.strip_prefix("rtt min/avg/max/mdev = "))
        .and_then(parse_rtt);
    Some(PingStats {
        transmitted,
        received,
        rtt,
        output: output.to_string(),
    })
}

fn leading_number(field: &str) -> Option<u32> {
    field.split_whitespace().next()?.parse().ok()
}

fn parse_rtt(text: &str) -> Option<Rtt> {
    let millis = text.strip_suffix(" ms")?;
    let mut values = millis.split('/').map(|v| {
        v.parse::<f64>()
            .ok()
            .map(|ms| Duration::from_nanos((ms * 1e6).round() as u64))
    });
    Some(Rtt {
        min: values.next()??,
        avg: values.next()??,
        max: values.next()??,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Printed by iputils-ping 20221126 (Debian bookworm) on this machine.
    const ALL: &str = "PING 10.9.0.1 (10.9.0.1) 56(84) bytes of data.
64 bytes from 10.9.0.1: icmp_seq=1 ttl=64 time=0.392 ms
64 bytes from 10.9.0.1: icmp_seq=2 ttl=64 time=0.048 ms

--- 10.9.0.1 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 201ms
rtt min/avg/max/mdev = 0.048/0.220/0.392/0.172 ms
";
    const NONE: &str = "PING 10.9.0.7 (10.9.0.7) 56(84) bytes of data.

--- 10.9.0.7 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 202ms

";
    // Hand-written in the layout of iputils' summary (ping_common.c,
    // `finish`) when ICMP errors came back: `+N errors` sits between the
    // received count and the loss.
    const ERRORS: &str = "PING 10.0.0.9 (10.0.0.9) 56(84) bytes of data.
From 10.0.0.1 icmp_seq=1 Destination Host Unreachable
64 bytes from 10.0.0.9: icmp_seq=3 ttl=64 time=1.50 ms

--- 10.0.0.9 ping statistics ---
3 packets transmitted, 1 received, +1 errors, 66.6667% packet loss, time 2030ms
rtt min/avg/max/mdev = 1.500/1.500/1.500/0.000 ms
";

    #[test]
    fn every_reply() {
        let stats = parse(ALL).expect("summary");
        assert_eq!((stats.transmitted, stats.received), (2, 2));
        assert!(stats.all_replied());
        let rtt = stats.rtt.expect("rtt line");
        assert_eq!(rtt.min, Duration::from_micros(48));
        assert_eq!(rtt.avg, Duration::from_micros(220));
        assert_eq!(rtt.max, Duration::from_micros(392));
    }

    #[test]
    fn no_reply_has_no_rtt() {
        let stats = parse(NONE).expect("summary");
        assert_eq!((stats.transmitted, stats.received), (2, 0));
        assert!(!stats.all_replied());
        assert_eq!(stats.rtt, None);
    }

    #[test]
    fn errors_field_between_received_and_loss() {
        let stats = parse(ERRORS).expect("summary");
        assert_eq!((stats.transmitted, stats.received), (3, 1));
        assert_eq!(stats.rtt.map(|r| r.max), Some(Duration::from_micros(1500)));
    }

    #[test]
    fn no_summary_is_none() {
        assert_eq!(parse("ping: connect: Network is unreachable\n"), None);
        assert_eq!(parse(""), None);
    }
}
