//! The YAML every pack file, bot file and script result is read from, and the diagnostics its
//! readers report: the layer below every compiler.
//!
//! - [`yaml`]: YAML → a [`yaml::Node`] tree with a 1-based line and column for every value;
//! - [`decode`]: `Cx`, typed reads from nodes that report what is wrong (with position and
//!   field path) instead of stopping;
//! - [`diag`]: [`diag::Diagnostic`], [`diag::Diagnostics`] and "did you mean" suggestions;
//! - [`read_source`]: a source file read whole, up to a size its kind allows.

pub(crate) mod decode;
pub mod diag;
pub mod yaml;

/// The largest rule file or script a pack may hold: packs are kilobytes; a file of many
/// megabytes is a mistake or an attack, and would cost seconds and gigabytes to compile.
pub const MAX_RULE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The largest FAQ bot file (thousands of questions fit in a few megabytes).
pub const MAX_BOT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a source file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// The system's error opening or reading it.
    Unreadable(String),
    /// Larger than its kind allows: what it is, and the limit.
    TooLarge(String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Unreadable(e) => write!(f, "cannot read: {e}"),
            SourceError::TooLarge(why) => f.write_str(why),
        }
    }
}

/// Reads a source file whole as UTF-8 text, refusing one larger than `limit` bytes before
/// reading it (and one that grows past it while read); `what` names the kind of file in the
/// error (`a rule file`).
pub fn read_source(path: &std::path::Path, what: &str, limit: u64) -> Result<String, SourceError> {
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| SourceError::Unreadable(e.to_string());
    let too_large = |size: u64| {
        SourceError::TooLarge(format!(
            "the file is {:.1} MB; {what} may be at most {} MB (split it)",
            size as f64 / 1_048_576.0,
            limit / 1_048_576
        ))
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    if size > limit {
        return Err(too_large(size));
    }
    let mut text = String::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1)
        .read_to_string(&mut text)
        .map_err(unreadable)?;
    if text.len() as u64 > limit {
        return Err(too_large(text.len() as u64));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_its_limit_is_refused_unread() {
        let dir = std::env::temp_dir().join(format!("frontdesk-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.yaml");
        std::fs::write(&path, "x".repeat(3 * 1024 * 1024)).unwrap();
        let err = read_source(&path, "a rule file", 2 * 1024 * 1024).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is 3.0 MB; a rule file may be at most 2 MB (split it)"
        );
        let text = read_source(&path, "a rule file", 4 * 1024 * 1024).unwrap();
        assert_eq!(text.len(), 3 * 1024 * 1024);
        let missing = read_source(&dir.join("missing.yaml"), "a rule file", 10).unwrap_err();
        assert!(matches!(missing, SourceError::Unreadable(_)), "{missing}");
        assert!(
            missing.to_string().starts_with("cannot read: "),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
