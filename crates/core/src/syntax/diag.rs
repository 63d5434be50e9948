//! Diagnostics: every problem found in a rule pack, with its place and a suggestion.

use std::fmt;
use std::path::{Path, PathBuf};

use super::yaml::Pos;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The pack works, but something looks wrong.
    Warning,
    /// The pack cannot be used.
    Error,
}

/// One problem, at `file:line:col`, about the value at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file, as given to the loader.
    pub file: PathBuf,
    /// Where in the file.
    pub pos: Pos,
    /// The field path (`rules[2].when.field`); empty for the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pos.line == 0 {
            write!(f, "{}: ", self.file.display())?;
        } else {
            write!(
                f,
                "{}:{}:{}: ",
                self.file.display(),
                self.pos.line,
                self.pos.col
            )?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// All problems found while loading and compiling a pack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records a problem.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Records every problem of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Every diagnostic, sorted by file and position.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    /// Sorts by file, then position.
    pub(crate) fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            (&a.file, a.pos, &a.path, &a.message).cmp(&(&b.file, b.pos, &b.path, &b.message))
        });
        self.items.dedup();
    }

    /// How many errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Only the warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
pub fn suggest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_l = word.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let c_l = c.to_lowercase();
        let distance = strsim::damerau_levenshtein(&word_l, &c_l);
        let similarity = strsim::jaro_winkler(&word_l, &c_l);
        let close = distance <= 2.max(word_l.chars().count() / 4)
            || similarity >= 0.88
            || (word_l.len() >= 3 && c_l.starts_with(&word_l));
        if close && best.is_none_or(|(s, _)| similarity > s) {
            best = Some((similarity, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean "x"?` text for a message, or nothing.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    match suggest(word, candidates) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

/// A path shown relative to the current directory when it is inside it.
pub fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let fields = ["ticket.priority", "ticket.status", "message.text"];
        assert_eq!(suggest("ticket.prio", fields), Some("ticket.priority"));
        assert_eq!(suggest("ticket.priorty", fields), Some("ticket.priority"));
        assert_eq!(suggest("mesage.text", fields), Some("message.text"));
        assert_eq!(suggest("banana", fields), None);
        assert_eq!(
            suggest("contians_any", ["contains_any", "contains"]),
            Some("contains_any")
        );
    }
}
