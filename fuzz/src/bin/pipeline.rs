//! Fuzz target: the whole pipeline (parse, conntrack, classification,
//! actions) on sequences of frames never panics, and only sends frames its
//! own parser accepts on ports it has (see `dpuflow_fuzz::pipeline`).
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    if let Err(violation) = dpuflow_fuzz::pipeline::check_pipeline(input) {
        panic!("pipeline invariant broken: {violation}");
    }
});
