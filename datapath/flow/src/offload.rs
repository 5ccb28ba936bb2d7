//! The one interface through which the datapath programs a steering-rule
//! backend: rte_flow (`dpuflow-flow-rte`), DOCA Flow (`dpuflow-flow-doca`)
//! and the [`SoftwareTable`](crate::SoftwareTable), which also serves tests
//! as an emulated NIC executing the same rules.
//!
//! The offload manager is the only caller: it runs off the packet path, so
//! the interface favours clear errors over speed, but it never allocates per
//! rule beyond what the backend itself needs (batch results go into a
//! caller-owned `Vec`).

use std::fmt;
use std::hash::Hash;

use crate::Rule;

/// Why a backend refused an operation, as the offload manager acts on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OffloadErrorKind {
    /// The backend cannot express this rule (an item, action or attribute it
    /// lacks): the connection stays in software; retrying is pointless.
    Unsupported,
    /// The backend is out of room (rules, counters, memory): retry once
    /// rules have been removed.
    TableFull,
    /// The rule or the handle is wrong for this backend (a bug on our side
    /// or a port in the wrong state); retrying the same call fails again.
    Invalid,
    /// A passing condition (busy queue, timeout, interrupted call): retry
    /// with backoff.
    Transient,
}

impl OffloadErrorKind {
    /// The kind of a PMD's refusal, from its errno and, where the errno is
    /// ambiguous (`EINVAL`, `EPERM`, unknown), its message: PMDs such as
    /// mlx5 report "not supported" or a full table under `EINVAL` too.
    pub fn from_errno(errno: i32, message: &str) -> Self {
        match errno {
            libc::ENOTSUP | libc::ENOSYS => Self::Unsupported,
            libc::ENOMEM | libc::ENOSPC | libc::ENOBUFS | libc::E2BIG => Self::TableFull,
            libc::EAGAIN | libc::EBUSY | libc::ETIMEDOUT | libc::EINTR | libc::EINPROGRESS => {
                Self::Transient
            }
            _ => Self::from_message(message).unwrap_or(Self::Invalid),
        }
    }

    fn from_message(message: &str) -> Option<Self> {
        let m = message.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
        if has(&["not supported", "unsupported", "not support"]) {
            Some(Self::Unsupported)
        } else if has(&[
            "is full",
            "table full",
            "no space",
            "exceed",
            "too many",
            "out of",
        ]) {
            Some(Self::TableFull)
        } else {
            None
        }
    }

    /// Whether retrying the same operation later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::TableFull | Self::Transient)
    }

    /// A short stable name (metric labels, `dpuflow flows`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsupported => "unsupported",
            Self::TableFull => "table_full",
            Self::Invalid => "invalid",
            Self::Transient => "transient",
        }
    }
}

impl fmt::Display for OffloadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A backend's refusal: what the manager does about it ([`kind`]) and what
/// the backend said ([`message`], with the PMD's own text and errno).
///
/// [`kind`]: OffloadError::kind
/// [`message`]: OffloadError::message
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct OffloadError {
    /// How to react.
    pub kind: OffloadErrorKind,
    /// The backend's description (call, port, PMD message, errno).
    pub message: String,
}

impl OffloadError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: OffloadErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Hit counters (and idle time, where the backend tracks it) of one rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleStats {
    /// Packets that hit the rule.
    pub hits: u64,
    /// Bytes of those packets.
    pub bytes: u64,
    /// Seconds since the last hit, for rules with an AGE action on backends
    /// that report it.
    pub idle_secs: Option<u32>,
}

/// How full a backend is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capacity {
    /// Rules installed (including queued ones).
    pub installed: usize,
    /// The most rules it takes, when known.
    pub limit: Option<usize>,
}

/// A steering-rule backend the datapath's offload manager programs.
///
/// Asynchronous backends may queue an insert or remove until
/// [`commit`](OffloadBackend::commit) (or until their batch fills);
/// synchronous ones complete each call at once and commit does nothing.
pub trait OffloadBackend {
    /// Names one installed rule.
    type Handle: Copy + Eq + Hash + fmt::Debug + Send;

    /// A short name for logs and metrics (`rte_flow`, `doca`, `software`).
    fn name(&self) -> &'static str;

    /// Installs one rule.
    ///
    /// # Errors
    /// The backend's refusal; an asynchronous backend may report a queued
    /// rule's failure only at [`commit`](OffloadBackend::commit).
    fn insert(&mut self, rule: &Rule) -> Result<Self::Handle, OffloadError>;

    /// Installs `rules` and commits them; `out` gets one result per rule,
    /// in order (it is cleared first). A rule that failed on completion gets
    /// its own error and no handle; every other rule stays installed.
    fn insert_batch(&mut self, rules: &[Rule], out: &mut Vec<Result<Self::Handle, OffloadError>>) {
        out.clear();
        out.extend(rules.iter().map(|r| self.insert(r)));
        if let Err(e) = self.commit() {
            // Which queued rule failed is unknown here (a backend that can
            // tell overrides this method): each rule that got a handle is
            // taken back and reported failed; one that cannot be taken back
            // keeps its handle, so the caller still owns it — never a rule
            // installed without a handle anyone holds.
            for r in out.iter_mut() {
                if let Ok(h) = r {
                    if self.remove(*h).is_ok() {
                        *r = Err(e.clone());
                    }
                }
            }
            let _ = self.commit();
        }
    }

    /// Removes one rule.
    ///
    /// # Errors
    /// `Invalid` for an unknown handle, or the backend's refusal.
    fn remove(&mut self, handle: Self::Handle) -> Result<(), OffloadError>;

    /// Pushes queued operations and waits (bounded) for their results.
    ///
    /// # Errors
    /// The first failed operation, or `Transient` when completions did not
    /// arrive in time.
    fn commit(&mut self) -> Result<(), OffloadError>;

    /// A rule's counters (its COUNT action) and idle time (its AGE action).
    ///
    /// # Errors
    /// `Invalid` for an unknown handle or a rule without COUNT.
    fn query(&self, handle: Self::Handle) -> Result<RuleStats, OffloadError>;

    /// Appends the rules whose AGE timeout expired since the last call; each
    /// aged rule is reported once and stays installed until removed.
    ///
    /// # Errors
    /// The backend's refusal (e.g. no aging support).
    fn aged(&mut self, out: &mut Vec<Self::Handle>) -> Result<(), OffloadError>;

    /// How many rules are installed, and how many fit.
    fn capacity(&self) -> Capacity;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_and_message_give_the_kind() {
        use OffloadErrorKind as K;
        assert_eq!(K::from_errno(libc::ENOTSUP, ""), K::Unsupported);
        assert_eq!(
            K::from_errno(libc::ENOSYS, "function not implemented"),
            K::Unsupported
        );
        assert_eq!(K::from_errno(libc::ENOMEM, ""), K::TableFull);
        assert_eq!(K::from_errno(libc::ENOSPC, ""), K::TableFull);
        assert_eq!(K::from_errno(libc::EAGAIN, ""), K::Transient);
        assert_eq!(K::from_errno(libc::EBUSY, ""), K::Transient);
        assert_eq!(K::from_errno(libc::ETIMEDOUT, ""), K::Transient);
        assert_eq!(K::from_errno(libc::EINVAL, "bad item"), K::Invalid);
        assert_eq!(K::from_errno(libc::EEXIST, ""), K::Invalid);
        // mlx5 reports some refusals under EINVAL with a telling message.
        assert_eq!(
            K::from_errno(libc::EINVAL, "VLAN push is Not Supported on this port"),
            K::Unsupported
        );
        assert_eq!(
            K::from_errno(libc::EINVAL, "flow table is full"),
            K::TableFull
        );
        // A clear errno wins over the message.
        assert_eq!(K::from_errno(libc::EAGAIN, "not supported"), K::Transient);
    }

    #[test]
    fn only_full_and_transient_are_retried() {
        use OffloadErrorKind as K;
        let retry: Vec<_> = [K::Unsupported, K::TableFull, K::Invalid, K::Transient]
            .into_iter()
            .filter(|k| k.is_retryable())
            .collect();
        assert_eq!(retry, [K::TableFull, K::Transient]);
        assert_eq!(
            OffloadError::new(K::TableFull, "rte_flow_create on port 0: no room").to_string(),
            "table_full: rte_flow_create on port 0: no room"
        );
    }
}
