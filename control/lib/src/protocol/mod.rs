//! The OVN-Kubernetes DPU protocol: annotation keys, their JSON shapes and
//! the naming conventions both sides rely on.
//!
//! Every annotation type here parses what upstream OVN-Kubernetes writes
//! (including its legacy forms) and serializes exactly the bytes upstream
//! would write: field names, field order, `omitempty` behaviour and the
//! deprecated single-value fields. Parsing never panics; bad input gives an
//! [`AnnotationError`] naming the annotation and what is wrong with it.
//!
//! Upstream sources the shapes were checked against (ovn-kubernetes,
//! `go-controller/pkg/util/`): `pod_annotation.go`, `dpu_annotations.go`,
//! `node_annotations.go`, `subnet_annotations.go`, and
//! `pkg/allocator/pod/pod_annotation.go` for the pod routes.

pub mod dpu;
mod error;
pub mod keys;
pub mod l3_gateway;
pub mod lease;
pub mod mac;
pub mod node;
pub mod node_subnets;
pub mod pod_networks;
pub mod representor;

// Re-exported API, partly for the controller still being written.
#[allow(unused_imports)]
pub use self::{
    dpu::{
        DpuConnectionDetails, DpuConnectionDetailsMap, DpuConnectionStatus, DpuConnectionStatusMap,
    },
    error::AnnotationError,
    l3_gateway::{GatewayMode, L3GatewayConfig, L3GatewayConfigs},
    mac::MacAddr,
    node::{ChassisId, EncapIps, HostCidrs, IfAddrs, MgmtPortDetails, MgmtPorts},
    node_subnets::NodeSubnets,
    pod_networks::{PodNetwork, PodNetworkError, PodNetworks, PodRoute, PodRouting},
    representor::{HostPfRepresentor, VfRepresentor},
};

/// Network key of the cluster default network in every per-network map.
/// Secondary networks are keyed `<namespace>/<nad-name>`.
pub const DEFAULT_NETWORK: &str = "default";
