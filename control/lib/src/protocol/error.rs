//! The error every annotation parser returns.

/// An annotation value that could not be parsed or written.
///
/// Each variant names the annotation key, so a log line or a
/// `connection-status` reason built from it says where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// The value is not JSON of any shape the annotation takes.
    #[error("annotation {key}: not valid JSON of the expected shape: {source}")]
    Json {
        /// The annotation key.
        key: &'static str,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON has the right shape but a value in it is wrong.
    #[error("annotation {key}: {problem}")]
    Invalid {
        /// The annotation key.
        key: &'static str,
        /// What is wrong, naming the network and field where there is one.
        problem: String,
    },
    /// The annotation parsed but has no entry for the network asked for.
    #[error("annotation {key}: no entry for network {network:?}")]
    MissingNetwork {
        /// The annotation key.
        key: &'static str,
        /// The network key that was looked up.
        network: String,
    },
    /// Serializing the value failed (cannot happen for the types here, but
    /// serde's API allows it, so it is reported rather than unwrapped).
    #[error("annotation {key}: cannot serialize: {source}")]
    Serialize {
        /// The annotation key.
        key: &'static str,
        /// What the serializer said.
        #[source]
        source: serde_json::Error,
    },
}

impl AnnotationError {
    /// An [`AnnotationError::Invalid`] for `key`.
    pub(crate) fn invalid(key: &'static str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            problem: problem.into(),
        }
    }
}

/// Serializes `value` as the compact JSON upstream writes.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(
    key: &'static str,
    value: &T,
) -> Result<String, AnnotationError> {
    serde_json::to_string(value).map_err(|source| AnnotationError::Serialize { key, source })
}

/// Parses `text` as JSON of type `T`.
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(
    key: &'static str,
    text: &'a str,
) -> Result<T, AnnotationError> {
    serde_json::from_str(text).map_err(|source| AnnotationError::Json { key, source })
}
