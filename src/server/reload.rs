//! Loading and hot-reloading the rule pack. A new pack is compiled completely first; only a
//! pack without errors replaces the active one, atomically. Requests in flight finish on the
//! snapshot they started with.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::{AppState, Loaded};
use crate::config::{Config, Diagnostics};

fn hash_files(config: &Config) -> String {
    let mut h = Sha256::new();
    for f in &config.files {
        h.update(f.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(f).unwrap_or_default());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Compiles the pack in `dir` off the async threads.
pub async fn load(dir: &Path, now: DateTime<Utc>) -> Result<Loaded, Diagnostics> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let config = Config::load(&dir)?;
        let hash = hash_files(&config);
        Ok(Loaded {
            config,
            hash,
            loaded_at: now,
        })
    })
    .await
    .unwrap_or_else(|e| panic!("config loader panicked: {e}"))
}

/// Reloads the pack; on any error the active pack stays and the errors are returned.
pub async fn reload(state: &AppState) -> Result<Arc<Loaded>, Diagnostics> {
    let _guard = state.reload_lock.lock().await;
    match load(&state.rules, state.clock.now()).await {
        Ok(loaded) => {
            let loaded = Arc::new(loaded);
            let old = state.config.swap(loaded.clone());
            ::metrics::counter!("frontdesk_config_reloads_total", "outcome" => "ok").increment(1);
            if old.hash != loaded.hash {
                tracing::info!(hash = %loaded.hash, rules = loaded.config.rule_count(), "rules reloaded");
            }
            Ok(loaded)
        }
        Err(diags) => {
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
pub fn watch(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
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
