//! Reading merged raw settings into typed values while collecting every
//! error instead of stopping at the first.

use super::error::ConfigError;
use super::layers::{Layer, Origin, RawValue};

/// The merged settings plus the errors found so far.
pub(crate) struct Fields<'a> {
    layer: &'a Layer,
    pub errors: Vec<ConfigError>,
}

/// One list item or map entry and where it came from.
pub(crate) type Item<'a> = (&'a str, &'a Origin);

impl<'a> Fields<'a> {
    pub fn new(layer: &'a Layer) -> Self {
        Fields {
            layer,
            errors: Vec::new(),
        }
    }

    /// Where `key`'s value came from, if set.
    pub fn origin(&self, key: &str) -> Option<&'a Origin> {
        self.layer.get(key).map(|s| &s.origin)
    }

    /// Whether `key` is set.
    pub fn is_set(&self, key: &str) -> bool {
        self.layer.get(key).is_some()
    }

    /// Records a problem with `value` of `key`.
    pub fn bad(
        &mut self,
        key: &'static str,
        origin: &Origin,
        value: &str,
        problem: impl Into<String>,
    ) {
        self.errors
            .push(ConfigError::bad(key, origin, value, problem));
    }

    /// Records a problem with `key` as a whole.
    pub fn problem(&mut self, key: &'static str, problem: impl Into<String>) {
        let origin = self.origin(key);
        self.errors.push(ConfigError::setting(key, origin, problem));
    }

    /// The single text value of `key` (trimmed), if set.
    pub fn text(&mut self, key: &'static str) -> Option<Item<'a>> {
        let sourced = self.layer.get(key)?;
        match &sourced.value {
            RawValue::Text(t) => Some((t.trim(), &sourced.origin)),
            _ => {
                self.problem(key, "expected a single value, not a list or table");
                None
            }
        }
    }

    /// `key` parsed by `parse`, or `None` when unset or invalid (recorded).
    pub fn parse<T>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let (text, origin) = self.text(key)?;
        parse(text).map_err(|p| self.bad(key, origin, text, p)).ok()
    }

    /// Like [`Fields::parse`], but an unset `key` is an error too.
    pub fn required<T>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        if !self.is_set(key) {
            self.errors
                .push(ConfigError::setting(key, None, "is required"));
            return None;
        }
        self.parse(key, parse)
    }

    /// The items of list setting `key`: comma-separated text or a list.
    pub fn items(&self, key: &str) -> Vec<Item<'a>> {
        let Some(sourced) = self.layer.get(key) else {
            return Vec::new();
        };
        let origin = &sourced.origin;
        match &sourced.value {
            RawValue::Text(t) => t.split(',').map(|i| (i.trim(), origin)).collect(),
            RawValue::List(l) => l.iter().map(|i| (i.trim(), origin)).collect(),
            RawValue::Map(m) => m.iter().map(|(k, _)| (k.as_str(), origin)).collect(),
        }
    }

    /// Every item of `key` parsed by `parse`; `None` if unset or any item
    /// is invalid (each recorded).
    pub fn list<T>(
        &mut self,
        key: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Vec<(T, Item<'a>)>> {
        let items = self.items(key);
        if items.is_empty() {
            return None;
        }
        let before = self.errors.len();
        let mut out = Vec::new();
        for (text, origin) in items {
            match parse(text) {
                Ok(v) => out.push((v, (text, origin))),
                Err(_) if text.is_empty() => self.bad(key, origin, text, "empty entry in the list"),
                Err(p) => self.bad(key, origin, text, p),
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    /// The `NAME=VALUE` entries of map setting `key`: `;`-separated text,
    /// a list of `NAME=VALUE` (repeated flags) or a table.
    pub fn entries(&mut self, key: &'static str) -> Vec<(String, String, &'a Origin)> {
        let Some(sourced) = self.layer.get(key) else {
            return Vec::new();
        };
        let origin = &sourced.origin;
        let pairs: Vec<&str> = match &sourced.value {
            RawValue::Map(m) => {
                return m
                    .iter()
                    .map(|(k, v)| (k.trim().into(), v.trim().into(), origin))
                    .collect()
            }
            RawValue::Text(t) => t.split(';').filter(|p| !p.trim().is_empty()).collect(),
            RawValue::List(l) => l.iter().map(String::as_str).collect(),
        };
        let mut out = Vec::new();
        for pair in pairs {
            match pair.split_once('=') {
                Some((k, v)) => out.push((k.trim().to_string(), v.trim().to_string(), origin)),
                None => self.bad(key, origin, pair, "expected NAME=VALUE"),
            }
        }
        out
    }
}
