//! DPDK's log, routed through Rust: every line still goes to stderr, and the
//! lines a thread logs while it runs a setup call can be attached to that
//! call's error, so a failure carries DPDK's own explanation.
//!
//! Only control paths (init, probe, configure) capture; the packet path never
//! logs.

use std::cell::RefCell;
use std::io::Write;
use std::os::raw::c_char;

use dpuflow_sys as sys;

thread_local! {
    static CAPTURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Most text kept from one captured call.
const CAPTURE_LIMIT: usize = 4096;

extern "C" fn on_log(buf: *const c_char, len: usize) {
    if buf.is_null() {
        return;
    }
    // SAFETY: the stdio cookie writer passes a buffer of `len` readable bytes
    // that lives for the duration of this call.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    let _ = std::io::stderr().write_all(bytes);
    CAPTURE.with(|c| {
        if let Ok(mut slot) = c.try_borrow_mut() {
            if let Some(text) = slot.as_mut() {
                if text.len() < CAPTURE_LIMIT {
                    text.push_str(&String::from_utf8_lossy(bytes));
                }
            }
        }
    });
}

/// Points DPDK's log stream at [`on_log`]. Called once, before EAL init.
pub(crate) fn install() {
    // SAFETY: `on_log` is a plain `extern "C"` fn valid for the process'
    // lifetime; the FILE it is wrapped in is never closed, so DPDK's stored
    // stream pointer stays valid.
    unsafe {
        let stream = sys::dpuflow_log_stream_open(Some(on_log));
        if !stream.is_null() {
            sys::rte_openlog_stream(stream.cast());
        }
    }
}

/// Runs `f` and returns what DPDK logged on this thread meanwhile, trimmed.
pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    CAPTURE.with(|c| *c.borrow_mut() = Some(String::new()));
    let out = f();
    let text = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (out, text.trim().to_string())
}
