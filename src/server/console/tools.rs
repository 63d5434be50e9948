//! The console's tools: the playground (an event decided against the active pack, nothing
//! stored) and the what-if replay of stored events against a candidate directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Form};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::{action_kind, action_summary, layout};
use super::session::Session;
use super::{render, Fail, Page};
use crate::replay::{diff, summary, Line};
use crate::server::AppState;
use crate::service::replay::ReplayOutcome;

/// The largest event the playground takes, as text.
const MAX_EVENT_BYTES: usize = 256 * 1024;

#[derive(Deserialize)]
pub(super) struct PlaygroundForm {
    event: String,
}

/// `POST /console/playground`: the decision and full trace of an event from the active pack,
/// against the ticket as stored; nothing is stored or sent.
pub(super) async fn playground(
    State(state): State<Arc<AppState>>,
    Form(form): Form<PlaygroundForm>,
) -> Result<Page, Fail> {
    if form.event.len() > MAX_EVENT_BYTES {
        return Err(Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The event is {} bytes; the playground takes at most {MAX_EVENT_BYTES}.",
                form.event.len()
            ),
        ));
    }
    let body: Value = match serde_json::from_str(&form.event) {
        Ok(v) => v,
        Err(e) => {
            return render(
                "playground_result.html",
                json!({"error": format!("The event is not JSON: {e} (line {}, column {})", e.line(), e.column())}),
            )
        }
    };
    match state.desk.try_event(body).await {
        Ok(out) => {
            let actions: Vec<Value> = out
                .actions
                .iter()
                .map(|a| json!({"kind": action_kind(a), "summary": action_summary(a)}))
                .collect();
            render(
                "playground_result.html",
                json!({
                    "out": out,
                    "actions": actions,
                    "x": {
                        "recomputed": false,
                        "playground": true,
                        "active_pack": out.pack,
                        "trace": out.trace,
                        "routing_text": super::pages::routing_text(&out.trace),
                    },
                }),
            )
        }
        // An event that does not fit is the playground's answer, not a failed page.
        Err(e) if e.code.status() < 500 => render(
            "playground_result.html",
            json!({"error": e.message, "field": e.field}),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ReplayForm {
    rules: String,
    #[serde(default)]
    bots: String,
    #[serde(default)]
    since: String,
}

/// Where candidate packs may be: inside the directory that holds the active rules directory
/// (a checkout with `rules/`, `bots/` and the candidates beside them), so the console cannot
/// be made to read any directory of the server.
fn candidates_root(state: &AppState) -> PathBuf {
    let rules =
        std::fs::canonicalize(&state.desk.rules).unwrap_or_else(|_| state.desk.rules.clone());
    rules.parent().map_or(rules.clone(), Path::to_path_buf)
}

/// A candidate directory named in the form: relative paths are read from the candidates'
/// root; it must exist, be a directory, and lie inside the root.
fn candidate(root: &Path, named: &str, field: &str) -> Result<PathBuf, String> {
    let named = named.trim();
    if named.is_empty() {
        return Err(format!("Name the candidate {field} directory."));
    }
    let path = if Path::new(named).is_absolute() {
        PathBuf::from(named)
    } else {
        root.join(named)
    };
    let real = std::fs::canonicalize(&path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    if !real.is_dir() {
        return Err(format!("`{}` is not a directory.", path.display()));
    }
    if !real.starts_with(root) {
        return Err(format!(
            "`{}` is outside `{}`, where candidate packs are read from.",
            real.display(),
            root.display()
        ));
    }
    Ok(real)
}

pub(super) async fn replay_form(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
) -> Result<Page, Fail> {
    let root = candidates_root(&state);
    render(
        "replay.html",
        json!({
            "layout": layout(&s, "replay", "Replay"),
            "root": root.display().to_string(),
            "form": {"rules": "", "bots": "", "since": "7d"},
        }),
    )
}

/// `POST /console/replay`: the stored events decided again against the candidate.
pub(super) async fn replay(
    State(state): State<Arc<AppState>>,
    Form(form): Form<ReplayForm>,
) -> Result<Page, Fail> {
    let root = candidates_root(&state);
    let now = state.desk.clock.now();
    let answer = |error: String| render("replay_result.html", json!({"error": error}));
    let rules = match candidate(&root, &form.rules, "rules") {
        Ok(p) => p,
        Err(e) => return answer(e),
    };
    let bots = match form.bots.trim() {
        "" => None,
        b => match candidate(&root, b, "bots") {
            Ok(p) => Some(p),
            Err(e) => return answer(e),
        },
    };
    let since_text = if form.since.trim().is_empty() {
        "7d"
    } else {
        form.since.trim()
    };
    let since: DateTime<Utc> = match crate::service::reports::parse_time("since", since_text, now) {
        Ok(t) => t,
        Err(e) => return answer(e.message),
    };
    tracing::info!(candidate = %rules.display(), %since, "replay asked for in the console");
    match state
        .desk
        .replay(&rules, bots.as_deref(), since, 50)
        .await?
    {
        ReplayOutcome::Invalid(bad) => render(
            "replay_result.html",
            json!({"invalid": bad, "candidate_dir": rules.display().to_string()}),
        ),
        ReplayOutcome::Replayed(done) => {
            let changed: Vec<Value> = done
                .report
                .changed
                .iter()
                .map(|t| {
                    let lines: Vec<Value> = diff(&t.before, &t.after)
                        .into_iter()
                        .map(|l| match l {
                            Line::Same(a) => json!({"sign": " ", "text": summary(a)}),
                            Line::Removed(a) => json!({"sign": "-", "text": summary(a)}),
                            Line::Added(a) => json!({"sign": "+", "text": summary(a)}),
                        })
                        .collect();
                    json!({"ticket_id": t.ticket, "lines": lines})
                })
                .collect();
            render(
                "replay_result.html",
                json!({
                    "done": done,
                    "changed": changed,
                    "text": crate::replay::text(&done.report),
                    "candidate_dir": rules.display().to_string(),
                }),
            )
        }
    }
}
