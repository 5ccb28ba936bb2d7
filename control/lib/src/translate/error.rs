//! Per-object translation errors: reported, never fatal to the snapshot.

use std::fmt;

use super::annotations::AnnotationError;

/// The kind of object an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// A `Node`.
    Node,
    /// A `Service`.
    Service,
    /// An `EndpointSlice`.
    EndpointSlice,
    /// A `NetworkPolicy`.
    NetworkPolicy,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Node => "node",
            ObjectKind::Service => "service",
            ObjectKind::EndpointSlice => "endpointslice",
            ObjectKind::NetworkPolicy => "networkpolicy",
        })
    }
}

/// Something in one object that could not be translated. The object (or
/// the offending part of it) is left out; the rest of the snapshot is not.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {object}: {problem}")]
pub struct TranslateError {
    /// Kind of the object.
    pub kind: ObjectKind,
    /// `namespace/name`, or the name of a cluster-scoped object.
    pub object: String,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong in an object.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// A malformed OVN-Kubernetes annotation.
    #[error("annotation {key}: {source}")]
    Annotation {
        /// Annotation key.
        key: &'static str,
        /// Why it does not parse.
        #[source]
        source: AnnotationError,
    },
    /// A malformed IP address.
    #[error("invalid IP address {0:?}")]
    Ip(String),
    /// A malformed CIDR.
    #[error("invalid CIDR {0:?}")]
    Cidr(String),
    /// A port outside 1..=65535, or an end port below its port.
    #[error("invalid port {0}")]
    Port(i32),
    /// A protocol other than TCP, UDP and SCTP.
    #[error("unsupported protocol {0:?}")]
    Protocol(String),
    /// A label selector with an unknown operator or missing values.
    #[error("invalid label selector: {0}")]
    Selector(String),
    /// This node's own `Node` object is not in the snapshot.
    #[error("not in the snapshot; no gateway")]
    Missing,
}

/// Collects errors while translating one object.
pub(super) struct Reporter<'e> {
    errors: &'e mut Vec<TranslateError>,
    kind: ObjectKind,
    object: String,
}

impl<'e> Reporter<'e> {
    /// A reporter for object `object` of `kind`.
    pub(super) fn new(
        errors: &'e mut Vec<TranslateError>,
        kind: ObjectKind,
        object: String,
    ) -> Self {
        Self {
            errors,
            kind,
            object,
        }
    }

    /// Records `problem` against the object.
    pub(super) fn report(&mut self, problem: Problem) {
        self.errors.push(TranslateError {
            kind: self.kind,
            object: self.object.clone(),
            problem,
        });
    }

    /// How many problems have been reported so far (all objects).
    pub(super) fn count(&self) -> usize {
        self.errors.len()
    }

    /// The value of `result`, or `None` after reporting its error.
    pub(super) fn ok<T>(&mut self, result: Result<T, Problem>) -> Option<T> {
        result.map_err(|p| self.report(p)).ok()
    }
}
