//! Loading and hot-reloading the rule pack. A new pack is compiled completely first; only a
//! pack without errors replaces the active one, atomically. Requests in flight finish on the
//! snapshot they started with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::models::ModelDir;
use super::{Desk, Loaded};
use crate::config::{Config, Diagnostics};

/// SHA-256 over every file in the pack directory (its path relative to the directory, then its
/// content, in path order; hidden files skipped): the rule files and the scripts they name
/// alike, and the same for the same pack wherever it is installed, so replicas can be compared.
fn hash_pack(dir: &Path) -> String {
    fn collect(dir: &Path, rel: &str, depth: usize, out: &mut Vec<(String, PathBuf)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if path.is_dir() {
                if depth < 16 {
                    collect(&path, &rel, depth + 1, out);
                }
            } else if path.is_file() {
                out.push((rel, path));
            }
        }
    }
    let mut files = Vec::new();
    collect(dir, "", 0, &mut files);
    files.sort();
    let mut h = Sha256::new();
    for (rel, path) in files {
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(std::fs::read(&path).unwrap_or_default());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The pack's hash: its rules directory and, when it has one, its bots directory.
pub(crate) fn hash_dirs(rules: &Path, bots: Option<&Path>) -> String {
    match bots {
        None => hash_pack(rules),
        Some(bots) => {
            let mut h = Sha256::new();
            h.update(hash_pack(rules).as_bytes());
            h.update(b"\0bots\0");
            h.update(hash_pack(bots).as_bytes());
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        }
    }
}

/// Compiles the pack in `dir` (and the bots in `bots`) off the async threads.
pub async fn load(
    dir: &Path,
    bots: Option<&Path>,
    now: DateTime<Utc>,
    models: Option<Arc<ModelDir>>,
) -> Result<Loaded, Diagnostics> {
    let dir = dir.to_path_buf();
    let bots = bots.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || {
        let models = models.as_deref().map(|m| m as &dyn crate::faq::Models);
        let config = Config::load_kept(&dir, bots.as_deref(), models)?;
        let hash = hash_dirs(&dir, bots.as_deref());
        // Every decision of the pack names it.
        let config = config.with_pack(hash.clone());
        Ok(Loaded {
            config,
            hash,
            loaded_at: now,
        })
    })
    .await
    .unwrap_or_else(|e| panic!("config loader panicked: {e}"))
}

/// What a reload attempt came to, for the console.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attempt {
    /// When it was tried.
    pub at: DateTime<Utc>,
    /// Whether the new pack is active.
    pub ok: bool,
    /// The hash of the pack it loaded (when it did).
    pub hash: Option<String>,
    /// Errors found (the pack that was active stays when there are any).
    pub errors: usize,
    /// Every diagnostic, as `check` prints them (file:line:col, field path, message).
    pub diagnostics: String,
}

impl Desk {
    /// What the last reload attempt came to; `None` before any since the start.
    pub fn last_reload(&self) -> Option<Attempt> {
        self.last_reload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record_reload(&self, attempt: Attempt) {
        *self.last_reload.lock().unwrap_or_else(|e| e.into_inner()) = Some(attempt);
    }
}

/// Reloads the pack; on any error the active pack stays and the errors are returned.
pub async fn reload(state: &Desk) -> Result<Arc<Loaded>, Diagnostics> {
    let _guard = state.reload_lock.lock().await;
    let at = state.clock.now();
    match load(
        &state.rules,
        state.bots.as_deref(),
        at,
        state.models.clone(),
    )
    .await
    {
        Ok(loaded) => {
            state.record_reload(Attempt {
                at,
                ok: true,
                hash: Some(loaded.hash.clone()),
                errors: 0,
                diagnostics: loaded
                    .config
                    .warnings
                    .iter()
                    .map(|w| format!("{w}\n"))
                    .collect(),
            });
            let loaded = Arc::new(loaded);
            let old = state.config.swap(loaded.clone());
            ::metrics::counter!("frontdesk_config_reloads_total", "outcome" => "ok").increment(1);
            if old.hash != loaded.hash {
                tracing::info!(hash = %loaded.hash, rules = loaded.config.rule_count(), "rules reloaded");
            }
            Ok(loaded)
        }
        Err(diags) => {
            state.record_reload(Attempt {
                at,
                ok: false,
                hash: None,
                errors: diags.error_count(),
                diagnostics: diags.to_string(),
            });
            ::metrics::counter!("frontdesk_config_reloads_total", "outcome" => "error")
                .increment(1);
            tracing::error!(
                errors = diags.error_count(),
                "reload refused; the previous rules stay active:\n{diags}"
            );
            Err(diags)
        }
    }
}

/// Watches the rules directory and reloads after changes settle.
pub fn watch(state: Arc<Desk>, mut stop: watch::Receiver<bool>) {
    use notify::{RecursiveMode, Watcher};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if !ev.kind.is_access() {
                let _ = tx.send(());
            }
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the rules directory; reload with SIGHUP or POST /v1/admin/reload");
            return;
        }
    };
    if let Err(e) = watcher.watch(&state.rules, RecursiveMode::Recursive) {
        tracing::warn!(error = %e, dir = %state.rules.display(), "cannot watch the rules directory");
        return;
    }
    if let Some(bots) = &state.bots {
        if let Err(e) = watcher.watch(bots, RecursiveMode::NonRecursive) {
            tracing::warn!(error = %e, dir = %bots.display(), "cannot watch the bots directory");
        }
    }
    tokio::spawn(async move {
        let _watcher = watcher;
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                got = rx.recv() => if got.is_none() { return },
            }
            // Let an editor finish writing (several events for one save) before compiling.
            tokio::time::sleep(Duration::from_millis(300)).await;
            while rx.try_recv().is_ok() {}
            let _ = reload(&state).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(dir: &Path, script: &str) {
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        std::fs::write(
            dir.join("r.yaml"),
            "rules:\n  - { name: a, on: ticket.created, then: [ { script: scripts/s.rhai } ] }\n",
        )
        .unwrap();
        std::fs::write(dir.join("scripts/s.rhai"), script).unwrap();
    }

    #[test]
    fn the_pack_hash_compares_replicas() {
        let tmp = tempfile::tempdir().unwrap();
        let (one, two) = (tmp.path().join("one"), tmp.path().join("elsewhere/two"));
        pack(&one, "[#{ add_tags: [\"x\"] }]");
        pack(&two, "[#{ add_tags: [\"x\"] }]");
        std::fs::write(two.join(".r.yaml.swp"), "editor noise").unwrap();
        assert_eq!(
            hash_pack(&one),
            hash_pack(&two),
            "the same pack in another directory"
        );
        std::fs::write(two.join("scripts/s.rhai"), "[#{ add_tags: [\"y\"] }]").unwrap();
        assert_ne!(hash_pack(&one), hash_pack(&two), "a script differs");
        Config::load(&two).expect("the test pack compiles");
    }
}
