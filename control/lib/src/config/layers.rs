//! Raw settings as each source gives them, tagged with where they came
//! from, and the merge that applies the precedence rule.
//!
//! Why not `figment`: its `extract()` is serde deserialisation, which stops
//! at the first bad field (figment chains errors only when several
//! *providers* fail), so every-error-at-once would still need `fields.rs`;
//! its errors echo the offending value (no per-key redaction of the token);
//! it has no clap provider and no "blank means unset" rule. It would replace
//! only this ~100-line merge, at the cost of a dependency, not save code.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// The running system (the kernel's hostname).
    System,
    /// The config file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(String),
    /// This command-line flag (with its `--`).
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::System => f.write_str("system hostname"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::Flag(n) => write!(f, "flag {n}"),
        }
    }
}

/// A value before it is parsed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum RawValue {
    /// One piece of text (lists and maps are split later).
    Text(String),
    /// A TOML array or repeated flags.
    List(Vec<String>),
    /// A TOML table.
    Map(Vec<(String, String)>),
}

/// A value and where it came from.
#[derive(Clone)]
pub(crate) struct Sourced {
    pub value: RawValue,
    pub origin: Origin,
}

/// One source's settings by canonical name.
#[derive(Clone, Default)]
pub(crate) struct Layer(pub BTreeMap<&'static str, Sourced>);

impl Layer {
    /// Sets `name` unless the value is empty or blank: an empty value means
    /// "not set" in every source (templated manifests render unset values
    /// as `""`).
    pub fn put(&mut self, name: &'static str, value: RawValue, origin: Origin) {
        let blank = match &value {
            RawValue::Text(t) => t.trim().is_empty(),
            RawValue::List(l) => l.iter().all(|t| t.trim().is_empty()),
            RawValue::Map(m) => m.is_empty(),
        };
        if !blank {
            self.0.insert(name, Sourced { value, origin });
        }
    }

    /// `self` with every setting of `over` replacing its own.
    pub fn overlaid(mut self, over: Layer) -> Layer {
        self.0.extend(over.0);
        self
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&Sourced> {
        self.0.get(name)
    }
}

impl fmt::Debug for Layer {
    /// Names, values and origins; secret values print as `<redacted>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, s) in &self.0 {
            let value = match &s.value {
                _ if super::keys::is_secret(name) => "<redacted>".to_string(),
                RawValue::Text(t) => format!("{t:?}"),
                RawValue::List(l) => format!("{l:?}"),
                RawValue::Map(m) => format!("{m:?}"),
            };
            map.entry(name, &format_args!("{value} ({})", s.origin));
        }
        map.finish()
    }
}

/// Merges layers given lowest precedence first.
pub(crate) fn merge(layers: impl IntoIterator<Item = Layer>) -> Layer {
    layers.into_iter().fold(Layer::default(), Layer::overlaid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &'static str, text: &str, origin: Origin) -> Layer {
        let mut l = Layer::default();
        l.put(name, RawValue::Text(text.into()), origin);
        l
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut l = layer(
            "host-k8s-token",
            "s3cret",
            Origin::Flag("--host-k8s-token".into()),
        );
        l.put("mtu", RawValue::Text("1400".into()), Origin::Default);
        let text = format!("{l:?}");
        assert!(
            !text.contains("s3cret")
                && text.contains("<redacted>")
                && text.contains("\"1400\" (default)"),
            "{text}"
        );
    }

    #[test]
    fn later_layers_win_and_blank_is_unset() {
        let merged = merge([
            layer("mtu", "1400", Origin::Default),
            layer("mtu", "1500", Origin::File("/f".into())),
            layer("mtu", "  ", Origin::Env("DPUFLOW_MTU".into())),
        ]);
        let got = merged.get("mtu").unwrap();
        assert!(got.value == RawValue::Text("1500".into()));
        assert_eq!(got.origin.to_string(), "file /f");
    }
}
