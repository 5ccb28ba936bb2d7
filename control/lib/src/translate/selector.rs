//! Kubernetes label selectors (`matchLabels` + `matchExpressions`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::error::Problem;

/// A parsed label selector. The empty selector matches everything.
#[derive(Debug)]
pub(super) struct Selector<'a> {
    labels: Vec<(&'a str, &'a str)>,
    exprs: Vec<Expr<'a>>,
}

#[derive(Debug)]
enum Expr<'a> {
    In(&'a str, Vec<&'a str>),
    NotIn(&'a str, Vec<&'a str>),
    Exists(&'a str),
    DoesNotExist(&'a str),
}

impl<'a> Selector<'a> {
    /// The empty selector: matches everything.
    pub(super) fn everything() -> Self {
        Self {
            labels: Vec::new(),
            exprs: Vec::new(),
        }
    }

    /// Parses `sel`.
    ///
    /// # Errors
    /// [`Problem::Selector`] for an unknown operator, `In`/`NotIn` without
    /// values, or `Exists`/`DoesNotExist` with values (the API server's own
    /// rules).
    pub(super) fn parse(sel: &'a LabelSelector) -> Result<Self, Problem> {
        let labels = sel
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let exprs = sel
            .match_expressions
            .iter()
            .flatten()
            .map(|req| {
                let values: Vec<&str> = req.values.iter().flatten().map(String::as_str).collect();
                let key = req.key.as_str();
                match (req.operator.as_str(), values.is_empty()) {
                    ("In", false) => Ok(Expr::In(key, values)),
                    ("NotIn", false) => Ok(Expr::NotIn(key, values)),
                    ("Exists", true) => Ok(Expr::Exists(key)),
                    ("DoesNotExist", true) => Ok(Expr::DoesNotExist(key)),
                    (op, _) => Err(Problem::Selector(format!(
                        "operator {op:?} on key {key:?} with {} value(s)",
                        values.len()
                    ))),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { labels, exprs })
    }

    /// Whether an object with `labels` matches.
    pub(super) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let get = |k: &str| labels.get(k).map(String::as_str);
        self.labels.iter().all(|&(k, v)| get(k) == Some(v))
            && self.exprs.iter().all(|e| match e {
                Expr::In(k, vs) => get(k).is_some_and(|v| vs.contains(&v)),
                Expr::NotIn(k, vs) => !get(k).is_some_and(|v| vs.contains(&v)),
                Expr::Exists(k) => get(k).is_some(),
                Expr::DoesNotExist(k) => get(k).is_none(),
            })
    }

    /// A `key=value` every match must carry, for index look-ups.
    pub(super) fn required_label(&self) -> Option<(&'a str, &'a str)> {
        self.labels.first().copied().or_else(|| {
            self.exprs.iter().find_map(|e| match e {
                Expr::In(k, vs) if vs.len() == 1 => vs.first().map(|v| (*k, *v)),
                _ => None,
            })
        })
    }
}
