//! Fuzz target: `dpuflow_packet::parse` on any bytes never panics, and what
//! it returns describes the frame (see `dpuflow_fuzz::packet`).
#![no_main]

libfuzzer_sys::fuzz_target!(|frame: &[u8]| {
    if let Err(violation) = dpuflow_fuzz::packet::check_parse(frame) {
        panic!("parse invariant broken: {violation}");
    }
});
