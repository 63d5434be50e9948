//! Helpers for the compile step: read typed values out of [`Node`]s and report every problem
//! with its position and field path instead of stopping at the first.

use std::path::Path;

use super::diag::{did_you_mean, Diagnostic, Diagnostics, Severity};
use super::yaml::{Kind, Node, Pos};
use crate::model::Named;

/// The compile context of one file: where diagnostics go.
pub(crate) struct Cx<'d> {
    pub file: &'d Path,
    pub diags: &'d mut Diagnostics,
}

/// `path.key`
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `path[i]`
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The keys of a mapping, checked against the allowed ones.
pub(crate) struct Fields<'n> {
    pub pos: Pos,
    pairs: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// The value of `key`, if written.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.pairs.iter().find(|(k, _, _)| *k == key).map(|p| p.2)
    }

    /// Keys in the order written.
    pub fn keys(&self) -> impl Iterator<Item = &'n str> + '_ {
        self.pairs.iter().map(|p| p.0)
    }

    /// (key, key node, value) in the order written.
    pub fn iter(&self) -> impl Iterator<Item = (&'n str, &'n Node, &'n Node)> + '_ {
        self.pairs.iter().copied()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }
}

impl Cx<'_> {
    fn report(&mut self, severity: Severity, pos: Pos, path: &str, message: String) {
        self.diags.push(Diagnostic {
            severity,
            file: self.file.to_path_buf(),
            pos,
            path: path.to_string(),
            message,
        });
    }

    /// Records an error.
    pub fn error(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.report(Severity::Error, pos, path, message.into());
    }

    /// Records a warning.
    pub fn warn(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.report(Severity::Warning, pos, path, message.into());
    }

    /// Records "expected X, found Y".
    pub fn expected(&mut self, node: &Node, path: &str, what: &str) {
        self.error(
            node.pos,
            path,
            format!("expected {what}, found {}", node.type_name()),
        );
    }

    /// Reads a mapping whose keys must be among `allowed`; unknown keys are reported with a
    /// suggestion, and the known ones are returned.
    pub fn map<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        self.map_with(node, path, allowed, "field")
    }

    /// Like [`Cx::map`], naming the keys `noun` in messages ("field", "action", "operator").
    pub fn map_with<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
        noun: &str,
    ) -> Option<Fields<'n>> {
        let Kind::Map(pairs) = &node.kind else {
            self.expected(node, path, "a mapping");
            return None;
        };
        let mut fields = Fields {
            pos: node.pos,
            pairs: Vec::with_capacity(pairs.len()),
        };
        for (k, v) in pairs {
            let Kind::Str(key) = &k.kind else {
                self.error(
                    k.pos,
                    path,
                    format!("{noun} names must be text, found {}", k.type_name()),
                );
                continue;
            };
            if allowed.contains(&key.as_str()) {
                fields.pairs.push((key.as_str(), k, v));
            } else {
                let hint = did_you_mean(key, allowed.iter().copied());
                let hint = if hint.is_empty() {
                    format!(" (expected one of: {})", allowed.join(", "))
                } else {
                    hint
                };
                self.error(
                    k.pos,
                    &join(path, key),
                    format!("unknown {noun} `{key}`{hint}"),
                );
            }
        }
        Some(fields)
    }

    /// Reports a missing required key.
    pub fn missing(&mut self, fields: &Fields<'_>, path: &str, key: &str) {
        self.error(fields.pos, path, format!("missing required field `{key}`"));
    }

    /// Reads text; numbers and booleans are accepted as written.
    pub fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => node.scalar_text(),
            _ => {
                self.expected(node, path, "text");
                None
            }
        }
    }

    /// Reads non-empty text.
    pub fn nonempty_text(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.text(node, path)?;
        if s.trim().is_empty() {
            self.error(node.pos, path, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// Reads a boolean.
    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.expected(node, path, "`true` or `false`");
                None
            }
        }
    }

    /// Reads an integer.
    pub fn int(&mut self, node: &Node, path: &str) -> Option<i64> {
        match node.kind {
            Kind::Int(i) => Some(i),
            _ => {
                self.expected(node, path, "an integer");
                None
            }
        }
    }

    /// Reads a number between 0 and 1 (a score or a share).
    pub fn fraction(&mut self, node: &Node, path: &str) -> Option<f64> {
        let value = match node.kind {
            Kind::Float(f) => f,
            Kind::Int(i) => i as f64,
            _ => {
                self.expected(node, path, "a number between 0 and 1");
                return None;
            }
        };
        if !(0.0..=1.0).contains(&value) {
            self.error(
                node.pos,
                path,
                format!("must be between 0 and 1, not {value}"),
            );
            return None;
        }
        Some(value)
    }

    /// Reads a list; a single value counts as a list of one.
    pub fn list<'n>(&mut self, node: &'n Node) -> Vec<&'n Node> {
        match &node.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![node],
        }
    }

    /// Reads a strict list (a sequence).
    pub fn seq<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ => {
                self.expected(node, path, "a list");
                None
            }
        }
    }

    /// Reads a list of non-empty texts (one text counts as a list of one).
    pub fn text_list(&mut self, node: &Node, path: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut ok = true;
        let single = !matches!(node.kind, Kind::Seq(_));
        for (i, item) in self.list(node).into_iter().enumerate() {
            let p = if single {
                path.to_string()
            } else {
                index(path, i)
            };
            match self.nonempty_text(item, &p) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Reads one of a closed set of names, suggesting the nearest on a typo.
    pub fn named<T: Named>(&mut self, node: &Node, path: &str, what: &str) -> Option<T> {
        let s = self.text(node, path)?;
        match T::parse(&s) {
            Some(v) => Some(v),
            None => {
                let names = T::names();
                let hint = did_you_mean(&s, names.iter().copied());
                let hint = if hint.is_empty() {
                    format!(" (expected one of: {})", names.join(", "))
                } else {
                    hint
                };
                self.error(node.pos, path, format!("unknown {what} `{s}`{hint}"));
                None
            }
        }
    }
}

/// Where each name of one kind (SLA policies, schedules) was first defined in a pack, to report
/// a name used twice.
#[derive(Debug, Default)]
pub(crate) struct Sites(std::collections::HashMap<String, (std::path::PathBuf, Pos)>);

impl Sites {
    /// Records `name` defined at `pos`; a name seen before gets a diagnostic that points at
    /// the first definition, and `false`.
    pub fn claim(&mut self, cx: &mut Cx<'_>, what: &str, name: &str, pos: Pos, path: &str) -> bool {
        if let Some((file, first)) = self.0.get(name) {
            let msg = format!(
                "duplicate {what} name `{name}` (first at {}:{}:{})",
                file.display(),
                first.line,
                first.col
            );
            cx.error(pos, path, msg);
            return false;
        }
        self.0
            .insert(name.to_string(), (cx.file.to_path_buf(), pos));
        true
    }
}
