//! The per-pod handshake annotations: `k8s.ovn.org/dpu.connection-details`
//! (host → DPU: which VF) and `k8s.ovn.org/dpu.connection-status`
//! (DPU → host: wired or not).
//!
//! Both are maps keyed by network (`default`, `<namespace>/<nad>`); both
//! also exist in an older un-keyed form meaning the default network, which
//! is read (never written). Upstream decodes them with Go's
//! case-insensitive field matching; we accept the exact names and their
//! capitalised/lower-case variants.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{from_json, to_json};
use super::keys::{DPU_CONNECTION_DETAILS, DPU_CONNECTION_STATUS};
use super::{AnnotationError, VfRepresentor, DEFAULT_NETWORK};

/// `Status` value once the pod's representor is wired.
pub const STATUS_READY: &str = "Ready";
/// `Status` value when wiring failed (`Reason` says why).
pub const STATUS_ERROR: &str = "Error";

/// One network's connection details. The ids are strings on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpuConnectionDetails {
    /// Physical function of the VF (`"0"` or `"1"`).
    #[serde(rename = "pfId", alias = "PfId", alias = "pfid", default)]
    pub pf_id: String,
    /// VF index (`"3"`).
    #[serde(rename = "vfId", alias = "VfId", alias = "vfid", default)]
    pub vf_id: String,
    /// The pod sandbox (container) id.
    #[serde(
        rename = "sandboxId",
        alias = "SandboxId",
        alias = "sandboxid",
        default
    )]
    pub sandbox_id: String,
    /// The VF's netdev name on the host (newer hosts only).
    #[serde(
        rename = "vfNetdevName",
        alias = "VfNetdevName",
        alias = "vfnetdevname",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub vf_netdev_name: String,
}

impl DpuConnectionDetails {
    /// The VF representor named by `pfId`/`vfId`; an error naming the
    /// annotation when either is not a small non-negative integer.
    pub fn representor(&self) -> Result<VfRepresentor, AnnotationError> {
        Ok(VfRepresentor {
            pf: parse_id("pfId", &self.pf_id)?,
            vf: parse_id("vfId", &self.vf_id)?,
        })
    }
}

fn parse_id(field: &str, value: &str) -> Result<u16, AnnotationError> {
    value.trim().parse().map_err(|_| {
        AnnotationError::invalid(
            DPU_CONNECTION_DETAILS,
            format!("{field} {value:?} is not a non-negative integer"),
        )
    })
}

/// Parsed `k8s.ovn.org/dpu.connection-details`: network key → details.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpuConnectionDetailsMap(pub BTreeMap<String, DpuConnectionDetails>);

impl DpuConnectionDetailsMap {
    /// Parses the keyed form, or the older un-keyed object (taken as the
    /// default network's).
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        parse_keyed_or_legacy(DPU_CONNECTION_DETAILS, text).map(DpuConnectionDetailsMap)
    }

    /// The annotation value upstream would write (keyed form).
    pub fn to_json(&self) -> Result<String, AnnotationError> {
        to_json(DPU_CONNECTION_DETAILS, &self.0)
    }

    /// The details for `network`.
    pub fn network(&self, network: &str) -> Result<&DpuConnectionDetails, AnnotationError> {
        self.0
            .get(network)
            .ok_or_else(|| AnnotationError::MissingNetwork {
                key: DPU_CONNECTION_DETAILS,
                network: network.to_string(),
            })
    }

    /// The details for the default network.
    pub fn default_network(&self) -> Result<&DpuConnectionDetails, AnnotationError> {
        self.network(DEFAULT_NETWORK)
    }
}

/// One network's connection status. Keys are capitalised on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpuConnectionStatus {
    /// [`STATUS_READY`] or [`STATUS_ERROR`].
    #[serde(rename = "Status", alias = "status", default)]
    pub status: String,
    /// Why, when not ready.
    #[serde(
        rename = "Reason",
        alias = "reason",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub reason: String,
}

impl DpuConnectionStatus {
    /// `{"Status":"Ready"}`.
    pub fn ready() -> Self {
        DpuConnectionStatus {
            status: STATUS_READY.to_string(),
            reason: String::new(),
        }
    }

    /// `{"Status":"Error","Reason":reason}`.
    pub fn error(reason: impl Into<String>) -> Self {
        DpuConnectionStatus {
            status: STATUS_ERROR.to_string(),
            reason: reason.into(),
        }
    }

    /// Whether the host may go ahead (anything but `Ready` fails its CNI call).
    pub fn is_ready(&self) -> bool {
        self.status == STATUS_READY
    }
}

/// Parsed `k8s.ovn.org/dpu.connection-status`: network key → status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpuConnectionStatusMap(pub BTreeMap<String, DpuConnectionStatus>);

impl DpuConnectionStatusMap {
    /// Parses the keyed form, or the older un-keyed object.
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        parse_keyed_or_legacy(DPU_CONNECTION_STATUS, text).map(DpuConnectionStatusMap)
    }

    /// The annotation value upstream would write (keyed form).
    pub fn to_json(&self) -> Result<String, AnnotationError> {
        to_json(DPU_CONNECTION_STATUS, &self.0)
    }

    /// A status annotation for the default network only.
    pub fn for_default(status: DpuConnectionStatus) -> Self {
        DpuConnectionStatusMap(BTreeMap::from([(DEFAULT_NETWORK.to_string(), status)]))
    }

    /// The status for `network`.
    pub fn network(&self, network: &str) -> Result<&DpuConnectionStatus, AnnotationError> {
        self.0
            .get(network)
            .ok_or_else(|| AnnotationError::MissingNetwork {
                key: DPU_CONNECTION_STATUS,
                network: network.to_string(),
            })
    }
}

/// Upstream's reading rule: the keyed map first; if that fails, one
/// un-keyed object for the default network; if both fail, the keyed
/// form's error.
fn parse_keyed_or_legacy<T>(
    key: &'static str,
    text: &str,
) -> Result<BTreeMap<String, T>, AnnotationError>
where
    T: for<'de> Deserialize<'de>,
{
    match from_json::<BTreeMap<String, T>>(key, text) {
        Ok(map) => Ok(map),
        Err(keyed_err) => match serde_json::from_str::<T>(text) {
            Ok(single) => Ok(BTreeMap::from([(DEFAULT_NETWORK.to_string(), single)])),
            Err(_) => Err(keyed_err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAILS: &str = r#"{"default":{"pfId":"0","vfId":"3","sandboxId":"35b82dbe2c39","vfNetdevName":"ens1f0v3"}}"#;

    #[test]
    fn details_keyed_round_trip() {
        let map = DpuConnectionDetailsMap::parse(DETAILS).unwrap();
        let d = map.default_network().unwrap();
        assert_eq!(d.representor().unwrap(), VfRepresentor { pf: 0, vf: 3 });
        assert_eq!(d.vf_netdev_name, "ens1f0v3");
        assert_eq!(map.to_json().unwrap(), DETAILS);
    }

    #[test]
    fn details_legacy_unkeyed_form() {
        let map =
            DpuConnectionDetailsMap::parse(r#"{"pfId":"1","vfId":"7","sandboxId":"abc"}"#).unwrap();
        let d = map.default_network().unwrap();
        assert_eq!(d.representor().unwrap(), VfRepresentor { pf: 1, vf: 7 });
        assert_eq!(
            map.to_json().unwrap(),
            r#"{"default":{"pfId":"1","vfId":"7","sandboxId":"abc"}}"#
        );
    }

    #[test]
    fn details_secondary_network_and_bad_ids() {
        let map =
            DpuConnectionDetailsMap::parse(r#"{"ns/nad":{"pfId":"0","vfId":"x","sandboxId":"s"}}"#)
                .unwrap();
        assert!(map.default_network().is_err());
        let err = map
            .network("ns/nad")
            .unwrap()
            .representor()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("dpu.connection-details") && err.contains("vfId"),
            "{err}"
        );
        let err = DpuConnectionDetailsMap::parse("[1,2]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("k8s.ovn.org/dpu.connection-details"), "{err}");
    }

    #[test]
    fn status_shapes() {
        let ready = DpuConnectionStatusMap::for_default(DpuConnectionStatus::ready());
        assert_eq!(
            ready.to_json().unwrap(),
            r#"{"default":{"Status":"Ready"}}"#
        );
        let err = DpuConnectionStatusMap::for_default(DpuConnectionStatus::error(
            "no representor pf0vf3",
        ));
        assert_eq!(
            err.to_json().unwrap(),
            r#"{"default":{"Status":"Error","Reason":"no representor pf0vf3"}}"#
        );
        let parsed = DpuConnectionStatusMap::parse(r#"{"Status":"Ready"}"#).unwrap();
        assert!(parsed.network(DEFAULT_NETWORK).unwrap().is_ready());
        let lower = DpuConnectionStatusMap::parse(r#"{"default":{"status":"Error","reason":"x"}}"#)
            .unwrap();
        assert_eq!(
            lower.network(DEFAULT_NETWORK).unwrap(),
            &DpuConnectionStatus::error("x")
        );
    }
}
