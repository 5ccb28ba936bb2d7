//! dpuflow's control plane: it watches the DPU-host cluster, speaks
//! OVN-Kubernetes' DPU annotation protocol for this DPU's host node, and
//! turns the cluster's state into the datapath's desired tables.
//!
//! * [`config`]: settings (file < environment < flags), `check-config`.
//! * [`protocol`]: OVN-K's annotation, lease and representor shapes.
//! * [`ipam`]: pod IPs from this node's subnets, restart-safe.
//! * [`translate`]: a pure function from a cluster snapshot to tables.
//! * [`agent`]: the running controller — watches, pod handshake, lease,
//!   node annotations, and the update channel to the datapath.

pub mod agent;
pub mod config;
pub mod ipam;
pub mod protocol;
pub mod translate;
