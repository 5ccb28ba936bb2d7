//! `rte_flow_error` as a Rust error.

use std::ffi::CStr;

use dpuflow_sys as sys;

use super::compile::{CompileError, RteRule};

/// Which part of a rule DPDK blamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Nothing specific.
    Unspecified,
    /// Pattern item at this index.
    Item(usize),
    /// Action at this index.
    Action(usize),
    /// The attributes.
    Attr,
}

/// Why an rte_flow call failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The rule could not be compiled (before any DPDK call).
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// DPDK refused: the PMD's error type and message.
    #[error("{call} on port {port}: {message} (rte_flow error type {error_type}, cause {cause:?}, errno {errno})")]
    Dpdk {
        /// The rte_flow function.
        call: &'static str,
        /// Port the call went to.
        port: u16,
        /// `rte_flow_error.type`.
        error_type: u32,
        /// `rte_flow_error.message`.
        message: String,
        /// The blamed item/action, when DPDK pointed at one.
        cause: Cause,
        /// `rte_errno`.
        errno: i32,
    },
    /// The handle names no rule of this table.
    #[error("no rule with handle {0}")]
    UnknownHandle(u64),
    /// An async operation was accepted but its result, pulled later, was
    /// `RTE_FLOW_OP_ERROR` (DPDK reports no errno or message for it).
    #[error("{call} of rule {handle} on port {port} completed with RTE_FLOW_OP_ERROR")]
    OpFailed {
        /// The rte_flow function that queued the operation.
        call: &'static str,
        /// Port of the flow queue.
        port: u16,
        /// The rule's handle number.
        handle: u64,
    },
    /// Pushed async operations did not complete within the pull timeout;
    /// they stay in flight (a later commit pulls them).
    #[error("rte_flow_pull on port {port}: {in_flight} operations not completed after {waited:?}")]
    Timeout {
        /// Port of the flow queue.
        port: u16,
        /// Operations still in flight.
        in_flight: usize,
        /// How long the pull waited.
        waited: std::time::Duration,
    },
    /// The rule's async create has not completed yet: commit first.
    #[error("rule {0} is queued, its create has not completed (commit first)")]
    NotCompleted(u64),
}

impl FlowError {
    /// `rte_errno` of a [`FlowError::Dpdk`].
    pub fn errno(&self) -> Option<i32> {
        match self {
            FlowError::Dpdk { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// Whether the port simply has no rte_flow support (ENOSYS/ENOTSUP).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, FlowError::Dpdk { errno, .. } if *errno == libc::ENOSYS || *errno == libc::ENOTSUP)
    }

    /// Builds the error of a failed call from DPDK's `rte_flow_error`.
    pub(crate) fn from_dpdk(
        call: &'static str,
        port: u16,
        err: &sys::rte_flow_error,
        ret: i32,
        rule: Option<&RteRule>,
    ) -> Self {
        let message = if err.message.is_null() {
            String::from("(no message)")
        } else {
            // SAFETY: DPDK sets `message` to a NUL-terminated static string.
            unsafe { CStr::from_ptr(err.message) }
                .to_string_lossy()
                .into_owned()
        };
        let errno = if ret < 0 {
            -ret
        } else {
            dpuflow_dpdk::Errno::last().0
        };
        FlowError::Dpdk {
            call,
            port,
            error_type: err.type_,
            message,
            cause: rule.map_or(Cause::Unspecified, |r| cause_of(err, r)),
            errno,
        }
    }
}

/// Maps `err.cause` back to the item or action it points at.
fn cause_of(err: &sys::rte_flow_error, rule: &RteRule) -> Cause {
    let cause = err.cause as usize;
    if cause == std::ptr::from_ref(rule.attr()) as usize {
        return Cause::Attr;
    }
    let find = |base: usize, size: usize, len: usize| {
        (cause >= base && cause < base + size * len).then(|| (cause - base) / size)
    };
    let items = rule.items();
    if let Some(i) = find(
        items.as_ptr() as usize,
        std::mem::size_of::<sys::rte_flow_item>(),
        items.len(),
    ) {
        return Cause::Item(i);
    }
    let actions = rule.actions();
    if let Some(i) = find(
        actions.as_ptr() as usize,
        std::mem::size_of::<sys::rte_flow_action>(),
        actions.len(),
    ) {
        return Cause::Action(i);
    }
    Cause::Unspecified
}
