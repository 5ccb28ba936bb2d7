//! Tests of the rule model, validation, rendering, tunnels and the
//! software classifier.

mod offload;
mod render;
mod software;
mod tunnel;
mod validate;
