//! The DPU liveness Lease: the host side creates it, the DPU side renews it;
//! when it lapses the host CNI refuses new pods ("DPU Not Ready").

use std::time::Duration;

/// Namespace (in the host cluster) holding the Lease.
pub const LEASE_NAMESPACE: &str = "ovn-kubernetes";
/// `spec.holderIdentity` upstream puts on the Lease.
pub const LEASE_HOLDER: &str = "ovnkube-dpu-node";
/// How long a renewal keeps the DPU counted as alive (upstream
/// `dpu-node-lease-duration`, 40 s).
pub const LEASE_DURATION: Duration = Duration::from_secs(40);
/// How often the DPU side renews (upstream
/// `dpu-node-lease-renew-interval`, 10 s).
pub const LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(10);

/// Name of the Lease for host node `node`: `ovn-dpu-<node>`.
pub fn lease_name(node: &str) -> String {
    format!("ovn-dpu-{node}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_name_and_timings() {
        assert_eq!(lease_name("dpu-host"), "ovn-dpu-dpu-host");
        assert!(LEASE_RENEW_INTERVAL * 4 <= LEASE_DURATION);
    }
}
