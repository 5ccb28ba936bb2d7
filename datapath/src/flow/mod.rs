//! Steering rules: one rule model, compiled to rte_flow, DOCA Flow and a
//! software classifier.
