//! The environment layer: `DPUFLOW_<NAME>` for every setting.

use std::collections::BTreeMap;

use super::keys::{self, SETTINGS};
use super::layers::{Layer, Origin, RawValue};

/// The environment variables that matter (`DPUFLOW_*`), captured once.
#[derive(Clone, Default)]
pub struct Environment(BTreeMap<String, String>);

impl Environment {
    /// The `DPUFLOW_*` variables of this process (others are ignored;
    /// non-UTF-8 values are skipped).
    pub fn from_process() -> Self {
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// An environment with exactly these variables (for tests and tools).
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Environment(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .filter(|(k, _)| k.starts_with("DPUFLOW_"))
                .collect(),
        )
    }

    /// The value of variable `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every setting found in the environment, as a layer.
    pub(crate) fn layer(&self) -> Layer {
        let mut layer = Layer::default();
        for setting in SETTINGS {
            let var = keys::env_var(setting.name);
            if let Some(value) = self.get(&var) {
                layer.put(
                    setting.name,
                    RawValue::Text(value.to_string()),
                    Origin::Env(var),
                );
            }
        }
        layer
    }
}
