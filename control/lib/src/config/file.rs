//! The config-file layer: a flat TOML table with kebab-case keys.

use std::path::Path;

use super::error::ConfigError;
use super::keys::{self, Shape};
use super::layers::{Layer, Origin, RawValue};

/// Reads and parses the config file at `path` into a layer; every problem
/// (unreadable file, TOML syntax, unknown key, wrong value type) becomes an
/// error.
pub(crate) fn load(path: &Path) -> Result<Layer, Vec<ConfigError>> {
    let origin = Origin::File(path.to_path_buf());
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError::setting(
            keys::CONFIG_FILE,
            Some(&origin),
            format!("cannot read: {e}"),
        )]
    })?;
    parse(&text, &origin)
}

/// Parses config-file text.
pub(crate) fn parse(text: &str, origin: &Origin) -> Result<Layer, Vec<ConfigError>> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        vec![ConfigError::setting(
            keys::CONFIG_FILE,
            Some(origin),
            format!("not valid TOML: {}", e.message()),
        )]
    })?;
    let mut layer = Layer::default();
    let mut errors = Vec::new();
    for (key, value) in &table {
        match entry(key, value, origin) {
            Ok((name, _)) if layer.get(name).is_some() => errors.push(ConfigError::setting(
                name,
                Some(origin),
                format!("given twice (as {key:?} and under another name)"),
            )),
            Ok((name, raw)) => layer.put(name, raw, origin.clone()),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(layer)
    } else {
        Err(errors)
    }
}

fn entry(
    key: &str,
    value: &toml::Value,
    origin: &Origin,
) -> Result<(&'static str, RawValue), ConfigError> {
    let setting = keys::find_file_key(key).ok_or_else(|| unknown_key(key, origin))?;
    let wrong = |what: &str| {
        ConfigError::setting(setting.name, Some(origin), format!("key {key:?}: {what}"))
    };
    let raw = match (value, setting.shape) {
        (toml::Value::Array(items), Shape::List | Shape::Map) => RawValue::List(
            items
                .iter()
                .map(|i| scalar(i).ok_or_else(|| wrong("array items must be strings")))
                .collect::<Result<_, _>>()?,
        ),
        (toml::Value::Table(t), Shape::Map) => RawValue::Map(
            t.iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        scalar(v).ok_or_else(|| wrong("table values must be strings"))?,
                    ))
                })
                .collect::<Result<_, _>>()?,
        ),
        (v, _) => RawValue::Text(
            scalar(v).ok_or_else(|| wrong("expected a single string, number or boolean"))?,
        ),
    };
    Ok((setting.name, raw))
}

/// A string, integer or boolean as text.
fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn unknown_key(key: &str, origin: &Origin) -> ConfigError {
    let kebab = key.replace('_', "-");
    let hint = match keys::find_file_key(&kebab) {
        _ if key == keys::CONFIG_FILE => "the config file cannot name another config file".into(),
        Some(s) => format!("unknown key {key:?}; keys are kebab-case: {}", s.name),
        None => format!("unknown key {key:?}"),
    };
    ConfigError::setting(keys::CONFIG_FILE, Some(origin), hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::File("/etc/dpuflow.toml".into())
    }

    #[test]
    fn values_of_each_shape() {
        let layer = parse(
            "mtu = 1500\nhw-offload = true\ncluster-subnets = [\"10.244.0.0/16/24\", \"fd00:10:244::/48\"]\n\
             ovn-encap-ip = \"198.51.100.10\"\n[vf-representors]\npf0vf3 = \"0000:03:00.0,representor=vf3\"\n",
            &origin(),
        )
        .unwrap();
        assert!(layer.get("mtu").unwrap().value == RawValue::Text("1500".into()));
        assert!(layer.get("hw-offload").unwrap().value == RawValue::Text("true".into()));
        assert!(
            matches!(&layer.get("cluster-subnets").unwrap().value, RawValue::List(l) if l.len() == 2)
        );
        assert!(layer.get("encap-ip").is_some());
        assert!(
            matches!(&layer.get("vf-representors").unwrap().value, RawValue::Map(m) if m[0].0 == "pf0vf3")
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let errs = parse(
            "host_k8s_apiserver = \"x\"\nbogus = 1\nmtu = 1.5\nencap-ip = \"a\"\novn-encap-ip = \"b\"\nconfig = \"x\"\n",
            &origin(),
        )
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 5, "{text:#?}");
        assert!(text
            .iter()
            .any(|t| t.contains("keys are kebab-case: host-k8s-apiserver")));
        assert!(text.iter().any(|t| t.contains("unknown key \"bogus\"")));
        assert!(text
            .iter()
            .any(|t| t.starts_with("mtu (file /etc/dpuflow.toml)")));
        assert!(text.iter().any(|t| t.contains("given twice")));
        assert!(text
            .iter()
            .any(|t| t.contains("cannot name another config file")));
    }

    #[test]
    fn syntax_errors() {
        let errs = parse("mtu = ", &origin()).unwrap_err();
        assert!(errs[0]
            .to_string()
            .starts_with("config (file /etc/dpuflow.toml): not valid TOML"));
        let errs = load(Path::new("/nonexistent/dpuflow.toml")).unwrap_err();
        assert!(errs[0].to_string().contains("cannot read"));
    }
}
