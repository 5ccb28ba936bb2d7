//! The liveness Lease `ovn-dpu-<node>` (namespace `ovn-kubernetes`): the
//! host's CNI refuses new pods once it lapses ("DPU Not Ready"), so it is
//! renewed every 10 s. The host normally creates it; if it is missing we
//! create it, so a DPU that starts first is not reported dead.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};

use crate::protocol::lease::{lease_name, LEASE_DURATION, LEASE_HOLDER, LEASE_NAMESPACE};

/// Renews (or creates) this node's lease once.
///
/// # Errors
/// The API server's error (e.g. 403 when the token lacks lease rights).
pub async fn renew(client: &Client, node: &str) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let name = lease_name(node);
    let now = MicroTime(jiff_now());
    let spec = LeaseSpec {
        holder_identity: Some(LEASE_HOLDER.to_string()),
        lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
        renew_time: Some(now.clone()),
        ..LeaseSpec::default()
    };
    let patch = serde_json::json!({ "spec": {
        "holderIdentity": spec.holder_identity,
        "leaseDurationSeconds": spec.lease_duration_seconds,
        "renewTime": now,
    }});
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some(LEASE_NAMESPACE.to_string()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    acquire_time: Some(now),
                    ..spec
                }),
            };
            api.create(&PostParams::default(), &lease).await.map(|_| ())
        }
        Err(e) => Err(e),
    }
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}
