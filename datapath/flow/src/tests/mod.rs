//! Tests of the rule model, validation, rendering, tunnels and the
//! software classifier.

mod item;
mod offload;
mod render;
mod software;
mod tunnel;
mod validate;
