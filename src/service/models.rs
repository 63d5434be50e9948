//! Trained FAQ bots kept as files between starts and reloads (`frontdesk serve --model-cache`),
//! so that a bot whose file has not changed is read back in milliseconds instead of trained.
//!
//! One file per bot, `<name>-<name hash>-<fingerprint>.model`, written to a temporary name and
//! renamed into place, so a reader sees a whole file or none; keeping a bot's new model removes
//! its earlier ones. What a file holds and when it is refused is the core's business
//! ([`crate::faq::Models`]): a file of another build, of an earlier version of the bot file,
//! cut short or damaged is trained again and replaced. Nothing here is needed for correctness: a
//! directory that cannot be read or written only means training, with a warning in the log.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::faq::{Models, Refused};

/// A directory of kept models.
#[derive(Debug)]
pub struct ModelDir {
    dir: PathBuf,
    build: String,
}

/// The default directory: `$XDG_CACHE_HOME/frontdesk/models`, else
/// `$HOME/.cache/frontdesk/models`; none when neither is set.
pub fn default_dir() -> Option<PathBuf> {
    let set = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    set("XDG_CACHE_HOME")
        .or_else(|| set("HOME").map(|home| home.join(".cache")))
        .map(|cache| cache.join("frontdesk").join("models"))
}

/// This build's identity: the version, and the size and modification time of the running
/// program, which change with every build (a model is a build's own layout).
fn build_identity() -> String {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .ok()
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}-{modified}", m.len())
        })
        .unwrap_or_default();
    format!("{}+{exe}", env!("CARGO_PKG_VERSION"))
}

/// The part of a file name that names a bot: its name with anything but letters, digits, `-`
/// and `_` as `_`, and a hash of the name as written, so that two names alike once cleaned do
/// not share files.
fn bot_prefix(bot: &str) -> String {
    let clean: String = bot
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut h: u32 = 0x811c_9dc5;
    for b in bot.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{clean}-{h:08x}-")
}

impl ModelDir {
    /// Models kept in `dir` (created when the first is kept).
    pub fn new(dir: PathBuf) -> ModelDir {
        ModelDir {
            dir,
            build: build_identity(),
        }
    }

    /// Where the models are kept.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, bot: &str, fingerprint: &str) -> PathBuf {
        let fingerprint: String = fingerprint
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(64)
            .collect();
        self.dir
            .join(format!("{}{fingerprint}.model", bot_prefix(bot)))
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(
            ".{}.{}.{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Removes the bot's files other than `keep`.
    fn remove_others(&self, bot: &str, keep: &Path) {
        let prefix = bot_prefix(bot);
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".model") && entry.path() != keep {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl Models for ModelDir {
    fn build(&self) -> &str {
        &self.build
    }

    fn get(&self, bot: &str, fingerprint: &str) -> Option<Vec<u8>> {
        let path = self.path(bot, fingerprint);
        match std::fs::read(&path) {
            Ok(bytes) => {
                tracing::debug!(bot, file = %path.display(), bytes = bytes.len(), "read a kept model");
                Some(bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(bot, file = %path.display(), error = %e, "cannot read the kept model; training the bot");
                None
            }
        }
    }

    fn put(&self, bot: &str, fingerprint: &str, bytes: Vec<u8>) {
        let path = self.path(bot, fingerprint);
        match self.write(&path, &bytes) {
            Ok(()) => {
                tracing::info!(bot, file = %path.display(), bytes = bytes.len(), "kept the trained model");
                self.remove_others(bot, &path);
            }
            Err(e) => tracing::warn!(
                bot,
                dir = %self.dir.display(),
                error = %e,
                "cannot keep the trained model: the bot is trained at every start \
                 (--model-cache names another directory, or `off`)"
            ),
        }
    }

    fn refused(&self, bot: &str, fingerprint: &str, reason: &Refused) {
        tracing::info!(
            bot,
            file = %self.path(bot, fingerprint).display(),
            reason = %reason,
            "the kept model is not used; training the bot"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = "bot: shop\nlanguages: [en]\nfaq:\n  - id: refund\n    questions: [\"Where is my refund?\", \"I want my money back\"]\n    answer: \"Within 5 days.\"\n  - id: hours\n    questions: [\"When are you open?\", \"Opening hours\"]\n    answer: \"9 to 5.\"\n";

    fn models(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn a_bot_is_kept_once_read_back_and_replaced_when_its_file_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache").join("models");
        let bot_file = tmp.path().join("shop.yaml");
        std::fs::write(&bot_file, BOT).unwrap();
        let kept = ModelDir::new(cache.clone());
        let first = crate::faq::Bot::load_kept(&bot_file, &kept).unwrap();
        let files = models(&cache);
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].starts_with("shop-") && files[0].ends_with(".model"));
        assert!(files[0].contains(first.fingerprint()));
        let written = std::fs::metadata(cache.join(&files[0]))
            .unwrap()
            .modified()
            .unwrap();
        // Read back: the same file, not written again.
        let again = crate::faq::Bot::load_kept(&bot_file, &kept).unwrap();
        assert_eq!(models(&cache), files);
        let modified = std::fs::metadata(cache.join(&files[0]))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(modified, written);
        assert_eq!(
            again.ask("where is my refund", None),
            first.ask("where is my refund", None)
        );
        // Edited: the new model replaces the old one.
        std::fs::write(&bot_file, BOT.replace("5 days", "6 days")).unwrap();
        let edited = crate::faq::Bot::load_kept(&bot_file, &kept).unwrap();
        let now = models(&cache);
        assert_eq!(now.len(), 1, "{now:?}");
        assert!(now[0].contains(edited.fingerprint()) && now != files);
    }

    #[test]
    fn a_directory_that_cannot_be_written_only_means_training() {
        let tmp = tempfile::tempdir().unwrap();
        let blocked = tmp.path().join("a-file");
        std::fs::write(&blocked, "not a directory").unwrap();
        let bot_file = tmp.path().join("shop.yaml");
        std::fs::write(&bot_file, BOT).unwrap();
        let kept = ModelDir::new(blocked.join("models"));
        let bot = crate::faq::Bot::load_kept(&bot_file, &kept).unwrap();
        let plain = crate::faq::Bot::load(&bot_file).unwrap();
        assert_eq!(
            bot.ask("opening hours", None),
            plain.ask("opening hours", None)
        );
        assert!(kept.get("shop", bot.fingerprint()).is_none());
    }

    #[test]
    fn names_alike_once_cleaned_get_files_of_their_own() {
        assert_ne!(bot_prefix("a.b"), bot_prefix("a_b"));
        assert!(bot_prefix("../../etc/passwd").starts_with("______etc_passwd-"));
        let kept = ModelDir::new(PathBuf::from("/cache"));
        let path = kept.path("../x", "../../ff");
        assert_eq!(path.parent(), Some(Path::new("/cache")));
        assert!(path.to_string_lossy().ends_with("ff.model"));
    }
}
