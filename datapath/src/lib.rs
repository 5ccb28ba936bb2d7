//! dpuflow datapath
pub mod flow;
