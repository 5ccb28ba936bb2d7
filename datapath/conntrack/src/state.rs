//! Per-connection protocol state: the TCP state machine, the
//! unreplied/replied state of every other protocol, and their timeouts.
//!
//! The machine is deliberately lenient, like Linux with
//! `nf_conntrack_tcp_loose=1` and without window tracking: it follows the
//! handshake and teardown to pick a timeout, and never declares a packet
//! invalid. Dropping out-of-state packets is the caller's policy, not this
//! table's. In particular:
//!
//! - data (or a bare ACK) before the handshake completes is allowed and
//!   changes nothing;
//! - a connection first seen mid-stream (a first packet without SYN, after
//!   a restart or a missed SYN) starts ESTABLISHED — or FIN_WAIT/CLOSED
//!   when that packet carries FIN/RST — instead of being refused;
//! - a SYN without ACK on a TIME_WAIT or CLOSED connection reopens it
//!   (SYN_SENT), as a client reusing its port does;
//! - RST from either side closes, whatever the state.

use std::time::Duration;

/// TCP flag bits, as in the TCP header's flags byte (and as
/// `dpuflow-packet` reports them).
pub mod tcp_flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Acknowledgment field significant.
    pub const ACK: u8 = 0x10;
}

/// IP protocol numbers the state machine distinguishes.
pub(crate) mod proto {
    pub(crate) const ICMP: u8 = 1;
    pub(crate) const TCP: u8 = 6;
    pub(crate) const UDP: u8 = 17;
    pub(crate) const ICMPV6: u8 = 58;
}

/// State of a connection after its latest packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// TCP: SYN seen from the forward side.
    SynSent,
    /// TCP: SYN+ACK seen from the reply side.
    SynRecv,
    /// TCP: handshake completed (or picked up mid-stream).
    Established,
    /// TCP: FIN seen from one side.
    FinWait,
    /// TCP: FIN seen from both sides (CLOSING / TIME_WAIT).
    TimeWait,
    /// TCP: reset.
    Closed,
    /// Not TCP: packets seen in the forward direction only.
    Unreplied,
    /// Not TCP: packets seen in both directions.
    Replied,
}

impl ConnState {
    const ALL: [ConnState; 8] = [
        ConnState::SynSent,
        ConnState::SynRecv,
        ConnState::Established,
        ConnState::FinWait,
        ConnState::TimeWait,
        ConnState::Closed,
        ConnState::Unreplied,
        ConnState::Replied,
    ];

    pub(crate) fn code(self) -> u64 {
        match self {
            ConnState::SynSent => 0,
            ConnState::SynRecv => 1,
            ConnState::Established => 2,
            ConnState::FinWait => 3,
            ConnState::TimeWait => 4,
            ConnState::Closed => 5,
            ConnState::Unreplied => 6,
            ConnState::Replied => 7,
        }
    }

    pub(crate) fn from_code(code: u64) -> ConnState {
        // Codes come only from `code()`; masking keeps the lookup total.
        #[allow(clippy::cast_possible_truncation)]
        let i = (code & 7) as usize;
        ConnState::ALL[i]
    }

    /// The name conntrack tools print (`SYN_SENT`, `UNREPLIED`, …).
    pub fn name(self) -> &'static str {
        match self {
            ConnState::SynSent => "SYN_SENT",
            ConnState::SynRecv => "SYN_RECV",
            ConnState::Established => "ESTABLISHED",
            ConnState::FinWait => "FIN_WAIT",
            ConnState::TimeWait => "TIME_WAIT",
            ConnState::Closed => "CLOSE",
            ConnState::Unreplied => "UNREPLIED",
            ConnState::Replied => "REPLIED",
        }
    }
}

impl std::fmt::Display for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which FINs a TCP connection has seen: bit 0 forward, bit 1 reply.
pub(crate) type Fins = u8;

/// The state a connection starts in, from its first (forward) packet.
pub(crate) fn initial(proto: u8, flags: u8) -> (ConnState, Fins) {
    if proto != proto::TCP {
        return (ConnState::Unreplied, 0);
    }
    if flags & tcp_flags::RST != 0 {
        (ConnState::Closed, 0)
    } else if flags & tcp_flags::FIN != 0 {
        (ConnState::FinWait, 1)
    } else if flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN {
        (ConnState::SynSent, 0)
    } else {
        // Mid-stream pickup (loose): an ACK, or a SYN+ACK whose SYN we missed.
        (ConnState::Established, 0)
    }
}

/// The state after a packet in direction `reply` (false: forward) with TCP
/// `flags` (ignored for other protocols).
pub(crate) fn next(
    proto: u8,
    state: ConnState,
    fins: Fins,
    reply: bool,
    flags: u8,
) -> (ConnState, Fins) {
    if proto != proto::TCP {
        return match (state, reply) {
            (ConnState::Unreplied, true) => (ConnState::Replied, fins),
            _ => (state, fins),
        };
    }
    let syn = flags & tcp_flags::SYN != 0;
    let ack = flags & tcp_flags::ACK != 0;
    if flags & tcp_flags::RST != 0 {
        return (ConnState::Closed, fins);
    }
    if syn && !ack {
        // A fresh SYN from the forward side reopens a finished connection;
        // any other SYN (retransmit, simultaneous open) changes nothing.
        return match state {
            ConnState::TimeWait | ConnState::Closed if !reply => (ConnState::SynSent, 0),
            _ => (state, fins),
        };
    }
    if syn {
        return match state {
            ConnState::SynSent if reply => (ConnState::SynRecv, fins),
            _ => (state, fins),
        };
    }
    if flags & tcp_flags::FIN != 0 && state != ConnState::Closed {
        let fins = fins | if reply { 2 } else { 1 };
        let state = if fins == 3 {
            ConnState::TimeWait
        } else {
            ConnState::FinWait
        };
        return (state, fins);
    }
    match state {
        ConnState::SynRecv if !reply && ack => (ConnState::Established, fins),
        _ => (state, fins),
    }
}

/// How long a connection may stay idle in each state before the sweep
/// removes it.
///
/// Defaults follow Open vSwitch's userspace conntrack where OVN users would
/// compare (30 s for an unanswered handshake, 24 h established — Linux
/// keeps 5 days), and Linux's `nf_conntrack` elsewhere (FIN_WAIT and
/// TIME_WAIT 120 s, CLOSE 10 s, UDP 30 s unreplied / 180 s replied, ICMP
/// 30 s, other protocols 600 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP SYN_SENT.
    pub tcp_syn_sent: Duration,
    /// TCP SYN_RECV.
    pub tcp_syn_recv: Duration,
    /// TCP ESTABLISHED.
    pub tcp_established: Duration,
    /// TCP with one FIN seen.
    pub tcp_fin_wait: Duration,
    /// TCP with both FINs seen.
    pub tcp_time_wait: Duration,
    /// TCP after RST.
    pub tcp_closed: Duration,
    /// UDP seen in one direction.
    pub udp_unreplied: Duration,
    /// UDP seen in both directions.
    pub udp_replied: Duration,
    /// ICMP and ICMPv6, either state.
    pub icmp: Duration,
    /// Every other protocol, either state.
    pub other: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp_syn_sent: Duration::from_secs(30),
            tcp_syn_recv: Duration::from_secs(30),
            tcp_established: Duration::from_secs(24 * 3600),
            tcp_fin_wait: Duration::from_secs(120),
            tcp_time_wait: Duration::from_secs(120),
            tcp_closed: Duration::from_secs(10),
            udp_unreplied: Duration::from_secs(30),
            udp_replied: Duration::from_secs(180),
            icmp: Duration::from_secs(30),
            other: Duration::from_secs(600),
        }
    }
}

impl Timeouts {
    /// How long a connection of IP protocol `proto` in `state` may idle:
    /// what the sweep applies, for whoever mirrors it elsewhere (the
    /// offload manager ages hardware rules by it).
    pub fn idle(&self, proto: u8, state: ConnState) -> Duration {
        match proto {
            proto::TCP => match state {
                ConnState::SynSent => self.tcp_syn_sent,
                ConnState::SynRecv => self.tcp_syn_recv,
                ConnState::Established => self.tcp_established,
                ConnState::FinWait => self.tcp_fin_wait,
                ConnState::TimeWait => self.tcp_time_wait,
                ConnState::Closed | ConnState::Unreplied | ConnState::Replied => self.tcp_closed,
            },
            proto::UDP => match state {
                ConnState::Replied => self.udp_replied,
                _ => self.udp_unreplied,
            },
            proto::ICMP | proto::ICMPV6 => self.icmp,
            _ => self.other,
        }
    }
}

/// [`Timeouts`] in milliseconds, indexed for the sweep.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimeoutsMs {
    tcp: [u64; 6],
    udp: [u64; 2],
    icmp: u64,
    other: u64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&Timeouts> for TimeoutsMs {
    fn from(t: &Timeouts) -> Self {
        TimeoutsMs {
            tcp: [
                ms(t.tcp_syn_sent),
                ms(t.tcp_syn_recv),
                ms(t.tcp_established),
                ms(t.tcp_fin_wait),
                ms(t.tcp_time_wait),
                ms(t.tcp_closed),
            ],
            udp: [ms(t.udp_unreplied), ms(t.udp_replied)],
            icmp: ms(t.icmp),
            other: ms(t.other),
        }
    }
}

impl TimeoutsMs {
    pub(crate) fn get(&self, proto: u8, state: ConnState) -> u64 {
        match proto {
            proto::TCP => match state {
                ConnState::SynSent => self.tcp[0],
                ConnState::SynRecv => self.tcp[1],
                ConnState::Established => self.tcp[2],
                ConnState::FinWait => self.tcp[3],
                ConnState::TimeWait => self.tcp[4],
                // A TCP record is never UNREPLIED/REPLIED; CLOSE covers it.
                ConnState::Closed | ConnState::Unreplied | ConnState::Replied => self.tcp[5],
            },
            proto::UDP => match state {
                ConnState::Replied => self.udp[1],
                _ => self.udp[0],
            },
            proto::ICMP | proto::ICMPV6 => self.icmp,
            _ => self.other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tcp_flags::{ACK, FIN, RST, SYN};
    use super::*;
    use ConnState::*;

    const TCP: u8 = proto::TCP;

    /// Runs a packet sequence (`true` = reply side) through the machine.
    fn run(first: u8, packets: &[(bool, u8)]) -> Vec<ConnState> {
        let (mut s, mut f) = initial(TCP, first);
        let mut seen = vec![s];
        for &(reply, flags) in packets {
            (s, f) = next(TCP, s, f, reply, flags);
            seen.push(s);
        }
        seen
    }

    #[test]
    fn three_way_handshake_then_orderly_close() {
        assert_eq!(
            run(
                SYN,
                &[
                    (true, SYN | ACK),
                    (false, ACK),
                    (false, ACK),       // data
                    (true, FIN | ACK),  // server closes first
                    (false, ACK),       // ack of the FIN changes nothing
                    (false, FIN | ACK), // client's FIN
                    (true, ACK),        // last ACK
                ]
            ),
            [
                SynSent,
                SynRecv,
                Established,
                Established,
                FinWait,
                FinWait,
                TimeWait,
                TimeWait
            ]
        );
    }

    #[test]
    fn rst_closes_from_every_state_and_either_side() {
        for state in [SynSent, SynRecv, Established, FinWait, TimeWait, Closed] {
            for reply in [false, true] {
                assert_eq!(next(TCP, state, 0, reply, RST).0, Closed, "{state:?}");
                assert_eq!(next(TCP, state, 0, reply, RST | ACK).0, Closed);
            }
        }
        assert_eq!(initial(TCP, RST).0, Closed);
    }

    #[test]
    fn handshake_steps_only_from_the_right_side() {
        // SYN+ACK from the forward side, or the final ACK from the reply side,
        // do not advance the handshake.
        assert_eq!(next(TCP, SynSent, 0, false, SYN | ACK).0, SynSent);
        assert_eq!(next(TCP, SynRecv, 0, true, ACK).0, SynRecv);
        // Retransmitted SYN and SYN+ACK stay put.
        assert_eq!(next(TCP, SynSent, 0, false, SYN).0, SynSent);
        assert_eq!(next(TCP, SynRecv, 0, true, SYN | ACK).0, SynRecv);
        // A SYN+ACK on an established connection changes nothing.
        assert_eq!(next(TCP, Established, 0, true, SYN | ACK).0, Established);
    }

    #[test]
    fn data_before_the_handshake_completes_is_allowed_and_changes_nothing() {
        assert_eq!(next(TCP, SynSent, 0, false, ACK).0, SynSent);
        assert_eq!(next(TCP, SynSent, 0, true, ACK).0, SynSent);
        assert_eq!(next(TCP, SynSent, 0, false, 0).0, SynSent);
    }

    #[test]
    fn first_packet_chooses_the_start_state_loosely() {
        assert_eq!(initial(TCP, SYN), (SynSent, 0));
        assert_eq!(initial(TCP, ACK), (Established, 0));
        assert_eq!(initial(TCP, SYN | ACK), (Established, 0));
        assert_eq!(initial(TCP, FIN | ACK), (FinWait, 1));
        assert_eq!(initial(TCP, RST | ACK), (Closed, 0));
        assert_eq!(initial(proto::UDP, SYN), (Unreplied, 0));
    }

    #[test]
    fn the_first_packet_applied_again_is_a_no_op() {
        // create() sets the start state, then the caller updates with the
        // same packet: that second application must not move the state.
        for flags in [SYN, ACK, SYN | ACK, FIN | ACK, RST, 0] {
            let (s, f) = initial(TCP, flags);
            assert_eq!(next(TCP, s, f, false, flags), (s, f), "flags {flags:#x}");
        }
    }

    #[test]
    fn both_fins_in_either_order_reach_time_wait_and_one_fin_twice_does_not() {
        assert_eq!(
            run(ACK, &[(false, FIN), (true, FIN)]),
            [Established, FinWait, TimeWait]
        );
        assert_eq!(
            run(ACK, &[(true, FIN), (false, FIN | ACK)]),
            [Established, FinWait, TimeWait]
        );
        assert_eq!(
            run(ACK, &[(false, FIN), (false, FIN)]),
            [Established, FinWait, FinWait]
        );
    }

    #[test]
    fn syn_reopens_finished_connections_from_the_forward_side_only() {
        assert_eq!(next(TCP, TimeWait, 3, false, SYN), (SynSent, 0));
        assert_eq!(next(TCP, Closed, 0, false, SYN), (SynSent, 0));
        assert_eq!(next(TCP, TimeWait, 3, true, SYN), (TimeWait, 3));
        // A FIN after RST keeps the connection closed.
        assert_eq!(next(TCP, Closed, 0, false, FIN).0, Closed);
    }

    #[test]
    fn other_protocols_become_replied_on_the_first_reply() {
        for p in [proto::UDP, proto::ICMP, proto::ICMPV6, 132] {
            let (s, f) = initial(p, 0);
            assert_eq!(s, Unreplied);
            assert_eq!(next(p, s, f, false, 0).0, Unreplied);
            assert_eq!(next(p, s, f, true, 0).0, Replied);
            assert_eq!(next(p, Replied, f, false, 0).0, Replied);
        }
    }

    #[test]
    fn timeouts_follow_protocol_and_state() {
        let t = Timeouts {
            tcp_syn_sent: Duration::from_millis(1),
            tcp_syn_recv: Duration::from_millis(2),
            tcp_established: Duration::from_millis(3),
            tcp_fin_wait: Duration::from_millis(4),
            tcp_time_wait: Duration::from_millis(5),
            tcp_closed: Duration::from_millis(6),
            udp_unreplied: Duration::from_millis(7),
            udp_replied: Duration::from_millis(8),
            icmp: Duration::from_millis(9),
            other: Duration::from_millis(10),
        };
        let ms = TimeoutsMs::from(&t);
        let tcp: Vec<u64> = [SynSent, SynRecv, Established, FinWait, TimeWait, Closed]
            .iter()
            .map(|&s| ms.get(TCP, s))
            .collect();
        assert_eq!(tcp, [1, 2, 3, 4, 5, 6]);
        assert_eq!(ms.get(proto::UDP, Unreplied), 7);
        assert_eq!(ms.get(proto::UDP, Replied), 8);
        assert_eq!(ms.get(proto::ICMP, Replied), 9);
        assert_eq!(ms.get(proto::ICMPV6, Unreplied), 9);
        assert_eq!(ms.get(47, Replied), 10);
        // The public accessor agrees with the sweep's table everywhere.
        for p in [TCP, proto::UDP, proto::ICMP, proto::ICMPV6, 47] {
            for s in ConnState::ALL {
                assert_eq!(
                    t.idle(p, s).as_millis(),
                    u128::from(ms.get(p, s)),
                    "{p} {s}"
                );
            }
        }
    }

    #[test]
    fn state_codes_round_trip() {
        for s in ConnState::ALL {
            assert_eq!(ConnState::from_code(s.code()), s);
        }
    }
}
