//! Configuration errors: every problem found, each naming the setting, the
//! source of its value and the offending value.

use std::fmt;

use super::layers::Origin;

/// Longest value echoed in full; longer ones are cut (CA data can be kB).
const MAX_SHOWN: usize = 80;

/// One problem with one setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Canonical setting name (`cluster-subnets`), or `config` for the file.
    pub key: &'static str,
    /// Where the value came from; `None` when the setting is missing.
    pub origin: Option<Origin>,
    /// The offending value (or list item) as given; `None` for secrets and
    /// missing settings.
    pub value: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl ConfigError {
    /// A problem with a value given by `origin`.
    pub(crate) fn bad(
        key: &'static str,
        origin: &Origin,
        value: &str,
        problem: impl Into<String>,
    ) -> Self {
        ConfigError {
            key,
            origin: Some(origin.clone()),
            value: (!super::keys::is_secret(key)).then(|| shorten(value)),
            problem: problem.into(),
        }
    }

    /// A problem with a setting as a whole (no single value to show).
    pub(crate) fn setting(
        key: &'static str,
        origin: Option<&Origin>,
        problem: impl Into<String>,
    ) -> Self {
        ConfigError {
            key,
            origin: origin.cloned(),
            value: None,
            problem: problem.into(),
        }
    }
}

fn shorten(value: &str) -> String {
    if value.chars().count() <= MAX_SHOWN {
        return value.to_string();
    }
    let head: String = value.chars().take(MAX_SHOWN - 20).collect();
    format!("{head}…({} bytes)", value.len())
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key)?;
        if let Some(origin) = &self.origin {
            write!(f, " ({origin})")?;
        }
        f.write_str(": ")?;
        if let Some(value) = &self.value {
            write!(f, "{value:?}: ")?;
        }
        f.write_str(&self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// All problems found while loading; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never true for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} configuration error(s)", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        let e = ConfigError::bad(
            "cluster-subnets",
            &Origin::Flag("--cluster-subnets".into()),
            "10.244.0.0/16/33",
            "host prefix 33 is longer than 32",
        );
        assert_eq!(
            e.to_string(),
            r#"cluster-subnets (flag --cluster-subnets): "10.244.0.0/16/33": host prefix 33 is longer than 32"#
        );
        let missing = ConfigError::setting("encap-ip", None, "is required");
        assert_eq!(missing.to_string(), "encap-ip: is required");
        let secret = ConfigError::bad("host-k8s-token", &Origin::Env("X".into()), "s3cret", "bad");
        assert!(!secret.to_string().contains("s3cret"));
        let long = ConfigError::bad(
            "host-k8s-cacert-data",
            &Origin::Default,
            &"A".repeat(500),
            "bad",
        );
        assert!(long.to_string().contains("…(500 bytes)"));
    }
}
