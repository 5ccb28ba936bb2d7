//! The C recorder of ffi-headers/testing/recorder.h:
//! canonical text dumps of rte_flow rules, to compare rules built in Rust
//! with rules built by testpmd's parser (see [`crate::testpmd`]).
//!
//! Hand-written on purpose: bindgen does not see recorder.h, so that the
//! symbols are only declared when the library defining them is linked.

use dpuflow_sys::{
    rte_flow_action, rte_flow_actions_template_attr, rte_flow_attr, rte_flow_item,
    rte_flow_pattern_template_attr,
};
use std::ffi::{c_char, c_int};

extern "C" {
    /// `attr` / `item` / `action` lines; NULL arguments are skipped.
    /// snprintf-like: returns the length the whole dump needs.
    pub fn dpuflow_recorder_dump(
        attr: *const rte_flow_attr,
        pattern: *const rte_flow_item,
        actions: *const rte_flow_action,
        buf: *mut c_char,
        len: usize,
    ) -> c_int;
    /// `pattern_template` line, then `item` lines.
    pub fn dpuflow_recorder_dump_pattern_template(
        attr: *const rte_flow_pattern_template_attr,
        pattern: *const rte_flow_item,
        buf: *mut c_char,
        len: usize,
    ) -> c_int;
    /// `actions_template` line, `action` lines, then `mask` lines.
    pub fn dpuflow_recorder_dump_actions_template(
        attr: *const rte_flow_actions_template_attr,
        actions: *const rte_flow_action,
        masks: *const rte_flow_action,
        buf: *mut c_char,
        len: usize,
    ) -> c_int;
}

/// Runs an snprintf-like dump function (`dump(buf, len)`) twice, to
/// measure and then to fill, and returns its text.
pub fn collect(mut dump: impl FnMut(*mut c_char, usize) -> c_int) -> String {
    let needed = usize::try_from(dump(std::ptr::null_mut(), 0)).unwrap_or(0);
    let mut buf = vec![0u8; needed + 1];
    let written = usize::try_from(dump(buf.as_mut_ptr().cast(), buf.len())).unwrap_or(0);
    buf.truncate(written.min(needed));
    String::from_utf8_lossy(&buf).into_owned()
}
