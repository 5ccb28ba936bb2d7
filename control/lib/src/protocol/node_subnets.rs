//! `k8s.ovn.org/node-subnets`: the pod subnet(s) the cluster manager gave a
//! node, per network.
//!
//! Upstream reads `{"default":"10.244.1.0/24"}` (single-stack, older
//! writers) and `{"default":["10.244.1.0/24","fd00:10:244:1::/64"]}`, and
//! writes the list form even for one subnet; so do we.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::error::{from_json, to_json};
use super::keys::NODE_SUBNETS;
use super::{AnnotationError, DEFAULT_NETWORK};

const KEY: &str = NODE_SUBNETS;

/// Parsed `k8s.ovn.org/node-subnets`: network key → subnets, in the order
/// written. Subnets are stored as networks (host bits cleared), as upstream's
/// `net.ParseCIDR` does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSubnets(pub BTreeMap<String, Vec<IpNet>>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl NodeSubnets {
    /// Subnets for the default network only.
    pub fn for_default(subnets: Vec<IpNet>) -> Self {
        NodeSubnets(BTreeMap::from([(DEFAULT_NETWORK.to_string(), subnets)]))
    }

    /// Parses the annotation value; rejects an empty map, an empty list and
    /// anything that is not a CIDR.
    pub fn parse(text: &str) -> Result<Self, AnnotationError> {
        let raw: BTreeMap<String, OneOrMany> = from_json(KEY, text)?;
        if raw.is_empty() {
            return Err(AnnotationError::invalid(KEY, "no network in the map"));
        }
        let mut out = BTreeMap::new();
        for (network, value) in raw {
            let texts = match value {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            out.insert(network.clone(), parse_subnets(&network, &texts)?);
        }
        Ok(NodeSubnets(out))
    }

    /// The annotation value upstream would write (lists for every network).
    pub fn to_json(&self) -> Result<String, AnnotationError> {
        #[derive(Serialize)]
        struct Wire<'a>(BTreeMap<&'a str, Vec<String>>);
        let wire = self
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.iter().map(IpNet::to_string).collect()))
            .collect();
        to_json(KEY, &Wire(wire))
    }

    /// The subnets of `network`.
    pub fn network(&self, network: &str) -> Result<&[IpNet], AnnotationError> {
        self.0
            .get(network)
            .map(Vec::as_slice)
            .ok_or_else(|| AnnotationError::MissingNetwork {
                key: KEY,
                network: network.to_string(),
            })
    }

    /// The subnets of the default network.
    pub fn default_network(&self) -> Result<&[IpNet], AnnotationError> {
        self.network(DEFAULT_NETWORK)
    }
}

fn parse_subnets(network: &str, texts: &[String]) -> Result<Vec<IpNet>, AnnotationError> {
    if texts.is_empty() {
        return Err(AnnotationError::invalid(
            KEY,
            format!("network {network:?}: empty subnet list"),
        ));
    }
    texts
        .iter()
        .map(|t| {
            t.parse::<IpNet>().map(|n| n.trunc()).map_err(|_| {
                AnnotationError::invalid(KEY, format!("network {network:?}: {t:?} is not a CIDR"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_stack_string_form() {
        let s = NodeSubnets::parse(r#"{"default":"10.244.1.0/24"}"#).unwrap();
        assert_eq!(
            s.default_network().unwrap(),
            &["10.244.1.0/24".parse::<IpNet>().unwrap()]
        );
        assert_eq!(s.to_json().unwrap(), r#"{"default":["10.244.1.0/24"]}"#);
    }

    #[test]
    fn dual_stack_list_form_round_trips() {
        let text = r#"{"default":["10.244.1.0/24","fd00:10:244:1::/64"]}"#;
        let s = NodeSubnets::parse(text).unwrap();
        assert_eq!(s.default_network().unwrap().len(), 2);
        assert_eq!(s.to_json().unwrap(), text);
    }

    #[test]
    fn host_bits_are_cleared_like_go() {
        let s = NodeSubnets::parse(r#"{"default":"10.244.1.7/24"}"#).unwrap();
        assert_eq!(s.default_network().unwrap()[0].to_string(), "10.244.1.0/24");
    }

    #[test]
    fn bad_values_name_the_annotation() {
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"default":[]}"#,
            r#"{"default":"10.244.1.0"}"#,
            r#"{"default":["x/24"]}"#,
            r#"{"default":5}"#,
        ] {
            let err = NodeSubnets::parse(bad).unwrap_err().to_string();
            assert!(err.contains("k8s.ovn.org/node-subnets"), "{bad}: {err}");
        }
        let s = NodeSubnets::parse(r#"{"ns/nad":"10.1.0.0/24"}"#).unwrap();
        assert!(matches!(
            s.default_network(),
            Err(AnnotationError::MissingNetwork { .. })
        ));
    }
}
