//! The console's pages: each handler reads through the service (the same calls the JSON API
//! makes), builds a context and renders its template.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::{DateTime, Duration, Utc};
use minijinja::value::Value as JValue;
use minijinja::Environment;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::session::{self, Session, Via};
use super::{render, Fail, Page};
use crate::kpi::{Dim, Interval, Query as KpiQuery, Report};
use crate::routing::AgentStatus;
use crate::server::AppState;
use crate::service::agents;

/// Every template, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("counters.html", include_str!("templates/counters.html")),
    ("outbox.html", include_str!("templates/outbox.html")),
    ("agents.html", include_str!("templates/agents.html")),
    ("agent_row.html", include_str!("templates/agent_row.html")),
    ("bots.html", include_str!("templates/bots.html")),
    ("rules.html", include_str!("templates/rules.html")),
    ("trace.html", include_str!("templates/trace.html")),
    ("explain.html", include_str!("templates/explain.html")),
    (
        "playground_result.html",
        include_str!("templates/playground_result.html"),
    ),
    ("replay.html", include_str!("templates/replay.html")),
    (
        "replay_result.html",
        include_str!("templates/replay_result.html"),
    ),
    ("tickets.html", include_str!("templates/tickets.html")),
    ("ticket.html", include_str!("templates/ticket.html")),
    ("sla.html", include_str!("templates/sla.html")),
    ("sla_board.html", include_str!("templates/sla_board.html")),
];

/// The filters templates use: `duration` (seconds as "1 h 5 min"), `pct` (a share as
/// "93.4 %"), `when` (an RFC 3339 time as "2026-03-02 09:00 UTC"), `asset` (an asset's URL
/// with the version that keeps caches right).
pub fn filters(env: &mut Environment<'static>) {
    env.add_filter("duration", |v: JValue| -> String {
        match v
            .as_i64()
            .or_else(|| f64::try_from(v.clone()).ok().map(|f| f as i64))
        {
            Some(s) => human_duration(s),
            None => "–".into(),
        }
    });
    env.add_filter("pct", |v: JValue| -> String {
        match f64::try_from(v).ok() {
            Some(f) => format!("{:.1} %", f * 100.0),
            None => "–".into(),
        }
    });
    env.add_filter("when", |v: String| -> String {
        match DateTime::parse_from_rfc3339(&v) {
            Ok(t) => t
                .with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
            Err(_) => v,
        }
    });
    env.add_filter("num", |v: JValue| -> String {
        match v.as_i64() {
            Some(n) if n < 0 => format!("-{}", frontdesk_core::table::thousands(n.unsigned_abs())),
            Some(n) => frontdesk_core::table::thousands(n as u64),
            None => v.to_string(),
        }
    });
    // A value as JSON (what a condition saw: `null`, not `none`).
    env.add_filter("json", |v: JValue| -> String {
        serde_json::to_string(&v).unwrap_or_default()
    });
    // A path segment and a query value, percent-encoded.
    env.add_filter("pathseg", |v: String| -> String {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    });
    env.add_filter("query", |v: String| -> String {
        form_urlencoded::byte_serialize(v.as_bytes()).collect()
    });
    // The console's own URL, safe as it is.
    env.add_function("asset", |name: String| -> JValue {
        JValue::from_safe_string(format!(
            "/console/assets/{name}?v={}",
            env!("CARGO_PKG_VERSION")
        ))
    });
}

/// Seconds as a short human duration.
pub fn human_duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let sign = if secs < 0 { "-" } else { "" };
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sign}{s} s"),
        (0, 0, m) => format!("{sign}{m} min"),
        (0, h, 0) => format!("{sign}{h} h"),
        (0, h, m) => format!("{sign}{h} h {m} min"),
        (d, 0, _) => format!("{sign}{d} d"),
        (d, h, _) => format!("{sign}{d} d {h} h"),
    }
}

/// What every page's layout needs.
#[derive(Serialize)]
pub(super) struct Layout {
    /// The page's name in the navigation.
    nav: &'static str,
    /// The window title.
    title: String,
    role: &'static str,
    may_act: bool,
    csrf: String,
    signed_in: bool,
    version: &'static str,
}

pub(super) fn layout(s: &Session, nav: &'static str, title: impl Into<String>) -> Layout {
    Layout {
        nav,
        title: title.into(),
        role: s.role_name(),
        may_act: s.may_act(),
        csrf: s.csrf.clone(),
        signed_in: s.via == Via::Cookie,
        version: env!("CARGO_PKG_VERSION"),
    }
}

// ---------------------------------------------------------------------------------------------
// Signing in and out.

#[derive(Deserialize, Default)]
pub(super) struct LoginQuery {
    next: Option<String>,
    why: Option<String>,
}

/// Only a console path may be gone back to after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/console".into(),
    }
}

pub(super) async fn login_form(
    State(state): State<Arc<AppState>>,
    Query(q): Query<LoginQuery>,
) -> Response {
    if !state.tokens.enabled() {
        return Redirect::to("/console").into_response();
    }
    let why = match q.why.as_deref() {
        Some("expired") => Some(session::Refused::Expired.message()),
        Some("forged") => Some(session::Refused::Forged.message()),
        Some("gone") => Some(session::Refused::TokenGone.message()),
        _ => None,
    };
    login_page(StatusCode::OK, &safe_next(q.next.as_deref()), why)
}

fn login_page(status: StatusCode, next: &str, message: Option<&str>) -> Response {
    let page = render(
        "login.html",
        json!({"next": next, "message": message, "version": env!("CARGO_PKG_VERSION")}),
    );
    let mut res = match page {
        Ok(p) => (status, p).into_response(),
        Err(f) => f.into_response(),
    };
    super::secure_headers(res.headers_mut());
    res
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    token: String,
    next: Option<String>,
}

pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let Some((role, hash)) = state.tokens.identify(&form.token) else {
        tracing::info!("console sign-in refused: unknown token");
        return login_page(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That token is not accepted here."),
        );
    };
    if role == crate::server::auth::Role::Chat {
        return login_page(
            StatusCode::FORBIDDEN,
            &next,
            Some("A chat token opens chats; sign in with an API or viewer token."),
        );
    }
    let now = state.desk.clock.now();
    let value = state.console.sessions.open(&hash, now);
    // Secure when the browser came over TLS (the daemon itself speaks plain HTTP, so TLS is
    // a proxy's, which says so).
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        session::COOKIE,
        session::LIFETIME_HOURS * 3600,
        if tls { "; Secure" } else { "" }
    );
    tracing::info!(role = ?role, "console sign-in");
    let mut res = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

pub(super) async fn logout() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "frontdesk_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    res.headers_mut()
        .insert("hx-redirect", HeaderValue::from_static("/console/login"));
    res
}

// ---------------------------------------------------------------------------------------------
// Overview.

#[derive(Deserialize, Default)]
pub(super) struct OverviewQuery {
    /// `1d`, `7d` (default), `30d`, `90d`.
    range: Option<String>,
    /// A dimension to filter by: `team`, `channel`, `priority`, `language`.
    dim: Option<String>,
    /// Its value.
    value: Option<String>,
}

const RANGES: &[(&str, i64)] = &[("1d", 1), ("7d", 7), ("30d", 30), ("90d", 90)];

pub(super) async fn overview(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(q): Query<OverviewQuery>,
) -> Result<Page, Fail> {
    let now = state.desk.clock.now();
    let range = q.range.as_deref().unwrap_or("7d");
    let Some(&(_, days)) = RANGES.iter().find(|(r, _)| *r == range) else {
        return Err(Fail::new(
            StatusCode::BAD_REQUEST,
            format!("`{range}` is not a range here (1d, 7d, 30d, 90d)"),
        ));
    };
    let dim = match q.dim.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(
            crate::kpi::parse_dim(d)
                .ok()
                .filter(|d| *d != Dim::Agent)
                .ok_or_else(|| {
                    Fail::new(
                        StatusCode::BAD_REQUEST,
                        format!("`{d}` is not a filter here (team, channel, priority, language)"),
                    )
                })?,
        ),
    };
    let value = q.value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    // Whole UTC days, so each bar of the chart is a day.
    let to = (now + Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let from = to - Duration::days(days);
    let query = KpiQuery::new(from, to, dim, Some(Interval::Day))
        .map_err(|e| Fail::new(StatusCode::BAD_REQUEST, e.message))?;
    let report = state.desk.kpi_report(&query).await?;
    let (figures, series, values) = pick(&report, dim, value);
    let chart = chart_data(&series);
    render(
        "overview.html",
        json!({
            "layout": layout(&s, "overview", "Overview"),
            "range": range,
            "ranges": RANGES.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
            "dim": dim.map(Dim::name),
            "value": value,
            "values": values,
            "from": report.from,
            "to": report.to,
            "figures": figures,
            "chart": chart.to_string(),
            "kpi_link": format!("/v1/reports/kpis?from={}&to={}&interval=day{}",
                report.from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                report.to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                dim.map(|d| format!("&group_by={}", d.name())).unwrap_or_default()),
        }),
    )
}

/// The figures and day series of the whole report, or of the group a filter names (a group
/// missing from the report has no facts: zeros). Also the values the filter could take.
fn pick(
    report: &Report,
    dim: Option<Dim>,
    value: Option<&str>,
) -> (Value, Vec<Value>, Vec<String>) {
    let values: Vec<String> = report.groups.iter().filter_map(|g| g.key.clone()).collect();
    let whole = || {
        (
            serde_json::to_value(&report.figures).unwrap_or_default(),
            report
                .series
                .iter()
                .map(|b| json!({"start": b.start, "figures": b.figures}))
                .collect(),
        )
    };
    let (figures, series) = match (dim, value) {
        (Some(_), Some(v)) => match report.groups.iter().find(|g| g.key.as_deref() == Some(v)) {
            Some(g) => (
                serde_json::to_value(&g.figures).unwrap_or_default(),
                g.series
                    .iter()
                    .map(|b| json!({"start": b.start, "figures": b.figures}))
                    .collect(),
            ),
            None => (
                serde_json::to_value(crate::kpi::Figures::default()).unwrap_or_default(),
                Vec::new(),
            ),
        },
        _ => whole(),
    };
    (figures, series, values)
}

/// The day series as uPlot reads it: x in Unix seconds, then one array per line.
fn chart_data(series: &[Value]) -> Value {
    let at = |b: &Value| {
        b["start"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map_or(0, |t| t.timestamp())
    };
    let get = |b: &Value, path: &[&str]| {
        let mut v = &b["figures"];
        for p in path {
            v = &v[*p];
        }
        v.clone()
    };
    json!({
        "x": series.iter().map(at).collect::<Vec<_>>(),
        "created": series.iter().map(|b| get(b, &["tickets", "created"])).collect::<Vec<_>>(),
        "solved": series.iter().map(|b| get(b, &["tickets", "solved"])).collect::<Vec<_>>(),
        "backlog": series.iter().map(|b| get(b, &["tickets", "backlog"])).collect::<Vec<_>>(),
        "first_response_p50": series.iter().map(|b| get(b, &["first_response", "p50_seconds"])).collect::<Vec<_>>(),
        "first_response_p90": series.iter().map(|b| get(b, &["first_response", "p90_seconds"])).collect::<Vec<_>>(),
        "sla": series.iter().map(|b| get(b, &["sla", "attainment"])).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------------------------
// Live counters.

/// `GET /console/live`: the counters every few seconds as server-sent events (`counters`,
/// an HTML fragment), and `tick` for boards that refresh themselves. Ends when the daemon
/// stops.
pub(super) async fn live(State(state): State<Arc<AppState>>) -> Response {
    let mut stop = state.stop.clone();
    let stream = async_stream(move |tx| async move {
        let mut every = tokio::time::interval(StdDuration::from_secs(3));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stop.changed() => break,
            }
            let html = match state.desk.live_counters(state.desk.clock.now()).await {
                Ok(c) => {
                    render("counters.html", json!({"c": c})).map_or_else(|_| String::new(), |p| p.0)
                }
                Err(_) => "<span class=\"stale\">figures unavailable</span>".into(),
            };
            if tx
                .send(
                    SseEvent::default()
                        .event("counters")
                        .data(html.replace('\n', " ")),
                )
                .await
                .is_err()
                || tx
                    .send(SseEvent::default().event("tick").data(""))
                    .await
                    .is_err()
            {
                break;
            }
        }
    });
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(StdDuration::from_secs(15)))
        .into_response();
    res.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// A stream fed by a task through a small channel (ends when the task returns or the client
/// goes away).
fn async_stream<F, Fut>(
    f: F,
) -> impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<SseEvent>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(f(tx));
    futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
    )
}

// ---------------------------------------------------------------------------------------------
// Outbox.

#[derive(Deserialize, Default)]
pub(super) struct OutboxQuery {
    state: Option<String>,
}

pub(super) async fn outbox(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(q): Query<OutboxQuery>,
) -> Result<Page, Fail> {
    let which = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("dead");
    let which = (which != "all").then_some(which);
    let rows = state.desk.outbox(which, 200).await?;
    let counts = state.desk.outbox_counts().await?;
    render(
        "outbox.html",
        json!({
            "layout": layout(&s, "outbox", "Outbox"),
            "state": which.unwrap_or("all"),
            "counts": counts,
            "rows": rows.iter().map(|r| json!({
                "id": r.id,
                "ticket_id": r.ticket_id,
                "kind": action_kind(&r.action),
                "summary": action_summary(&r.action),
                "state": r.state,
                "attempts": r.attempts,
                "next_at": r.next_at,
                "last_error": r.last_error,
            })).collect::<Vec<_>>(),
        }),
    )
}

/// The routing part of a trace, for reading: the candidates each assignment considered.
pub(super) fn routing_text(trace: &crate::engine::Trace) -> String {
    serde_json::to_string_pretty(&trace.routing).unwrap_or_default()
}

/// An action's name (`reply`, `webhook`, ...).
pub(super) fn action_kind(a: &crate::model::Action) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "action".into())
}

/// An action in one line.
pub(super) fn action_summary(a: &crate::model::Action) -> String {
    let mut v = serde_json::to_value(a).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("type");
    }
    let s = v.to_string();
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

pub(super) async fn redeliver(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Page, Fail> {
    state.desk.redeliver(&id).await?;
    tracing::info!(%id, "redelivery asked for in the console");
    Ok(Page(
        "<span class=\"ok\" role=\"status\">Queued for delivery now</span>".into(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Agents and queues.

pub(super) async fn agents(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
) -> Result<Page, Fail> {
    let list = agents::list(&state.desk).await?;
    let queued = state.desk.queued(None, 500).await?;
    let mut per_team: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for q in &queued {
        per_team.entry(q.team.clone()).or_default().push(json!({
            "ticket_id": q.ticket_id, "channel": q.channel, "rule": q.rule, "queued_at": q.queued_at,
        }));
    }
    let teams: Vec<Value> = state
        .desk
        .config
        .load()
        .config
        .roster()
        .teams
        .iter()
        .map(|t| {
            let waiting = per_team.remove(&t.id).unwrap_or_default();
            json!({"id": t.id, "name": t.name.as_deref().unwrap_or(&t.id), "waiting": waiting})
        })
        .collect();
    render(
        "agents.html",
        json!({
            "layout": layout(&s, "agents", "Agents and queues"),
            "agents": list,
            "teams": teams,
            "statuses": ["online", "away", "offline"],
        }),
    )
}

#[derive(Deserialize)]
pub(super) struct StatusForm {
    status: String,
}

pub(super) async fn agent_status(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Page, Fail> {
    let status = <AgentStatus as crate::model::Named>::parse(&form.status).ok_or_else(|| {
        Fail::new(
            StatusCode::BAD_REQUEST,
            format!("`{}` is not a status (online, away, offline)", form.status),
        )
    })?;
    let view = agents::set_status(&state.desk, &id, status).await?;
    tracing::info!(agent = %id, status = %form.status, "status set in the console");
    render(
        "agent_row.html",
        json!({"layout": layout(&s, "agents", ""), "a": view, "statuses": ["online", "away", "offline"]}),
    )
}

// ---------------------------------------------------------------------------------------------
// Bots.

pub(super) async fn bots(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
) -> Result<Page, Fail> {
    let set = state.desk.bots();
    let mut bots = Vec::new();
    for bot in set.iter() {
        let stats = crate::service::chat::stats(&state.desk, bot.name(), Some(20)).await?;
        let unanswered: Vec<Value> = stats
            .top_unanswered
            .iter()
            .map(|q| {
                let asked = bot.ask(&q.question, None);
                json!({
                    "question": q.question,
                    "count": q.count,
                    "last_at": q.last_at,
                    "closest": asked.candidates.first().map(|(id, p)| json!({"id": id, "share": p})),
                })
            })
            .collect();
        let lang = bot.default_language();
        let answers: BTreeMap<&str, &str> = stats
            .top_disliked
            .iter()
            .filter_map(|n| {
                let e = bot.entry(&n.answer_id)?;
                Some((n.answer_id.as_str(), e.answer(lang, lang)?))
            })
            .collect();
        bots.push(json!({
            "answers": answers,
            "name": bot.name(),
            "file": bot.file().display().to_string(),
            "entries": bot.entries().len(),
            "stats": stats,
            "unanswered": unanswered,
        }));
    }
    render(
        "bots.html",
        json!({"layout": layout(&s, "bots", "Bots"), "bots": bots}),
    )
}

#[derive(Deserialize)]
pub(super) struct SuggestionQuery {
    question: String,
    entry: Option<String>,
}

/// `GET /console/bots/{bot}/suggestion?question=..&entry=..`: the YAML lines that teach the
/// bot a question, as a download. The console never edits the live pack: the admin adds the
/// lines to the bot file in git and the daemon reloads it.
pub(super) async fn suggestion(
    State(state): State<Arc<AppState>>,
    Path(bot): Path<String>,
    Query(q): Query<SuggestionQuery>,
) -> Result<Response, Fail> {
    let set = state.desk.bots();
    let Some(b) = set.get(&bot) else {
        return Err(Fail::not_found(format!("There is no bot `{bot}`.")));
    };
    let question = q.question.trim();
    if question.is_empty() || question.chars().count() > 500 {
        return Err(Fail::new(
            StatusCode::BAD_REQUEST,
            "The question must be 1 to 500 characters.",
        ));
    }
    let entry = q
        .entry
        .as_deref()
        .filter(|e| !e.is_empty())
        .map(|e| {
            b.entries()
                .iter()
                .any(|x| x.id == e)
                .then_some(e)
                .ok_or_else(|| Fail::not_found(format!("Bot `{bot}` has no entry `{e}`.")))
        })
        .transpose()?;
    let text = suggestion_yaml(b.file(), question, entry);
    let name = format!("{bot}-suggestion.yaml");
    Ok((
        [
            (header::CONTENT_TYPE, "text/yaml; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// The lines to add: the question under the closest entry's `questions:`, or a new entry.
pub fn suggestion_yaml(file: &std::path::Path, question: &str, entry: Option<&str>) -> String {
    let quoted = serde_json::to_string(question).unwrap_or_default();
    match entry {
        Some(id) => format!(
            "# Add to {file}, under the entry `{id}`'s questions:\n#   - id: {id}\n#     questions:\n      - {quoted}\n",
            file = file.display()
        ),
        None => format!(
            "# Add to {file}, under entries:, and write the answer:\n  - id: new-entry\n    questions:\n      - {quoted}\n    answer: \"...\"\n",
            file = file.display()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Rules.

pub(super) async fn rules(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
) -> Result<Page, Fail> {
    let info = state.desk.config_info();
    let last = state.desk.last_reload();
    render(
        "rules.html",
        json!({
            "layout": layout(&s, "rules", "Rules"),
            "info": info,
            "last": last,
            "examples": examples(),
        }),
    )
}

pub(super) async fn reload(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
) -> Result<Page, Fail> {
    let _ = crate::service::reload::reload(&state.desk).await;
    tracing::info!("reload asked for in the console");
    rules(State(state), Extension(s)).await
}

/// Example events for the playground: the ones shipped in `examples/events/`.
fn examples() -> Vec<Value> {
    const EXAMPLES: &[(&str, &str)] = &[
        (
            "outage, Norwegian e-mail",
            include_str!("../../../examples/events/outage-nb.json"),
        ),
        (
            "refund, Danish",
            include_str!("../../../examples/events/refund-da.json"),
        ),
        (
            "VIP invoice, Arabic",
            include_str!("../../../examples/events/vip-invoice-ar.json"),
        ),
        (
            "chat asking for a person, Chinese",
            include_str!("../../../examples/events/chat-human-zh.json"),
        ),
        (
            "pending ticket, English",
            include_str!("../../../examples/events/pending-en.json"),
        ),
        ("spam", include_str!("../../../examples/events/spam.json")),
    ];
    EXAMPLES
        .iter()
        .map(|(name, body)| json!({"name": name, "body": body.trim()}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_registered_and_compiles() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server/console/templates");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut names: Vec<String> = TEMPLATES.iter().map(|(n, _)| n.to_string()).collect();
        names.sort();
        assert_eq!(files, names);
        // Compiling them all happens once, here, rather than at a first visit.
        let _ = super::super::templates();
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(42), "42 s");
        assert_eq!(human_duration(300), "5 min");
        assert_eq!(human_duration(3600), "1 h");
        assert_eq!(human_duration(5400), "1 h 30 min");
        assert_eq!(human_duration(90_000), "1 d 1 h");
        assert_eq!(human_duration(-120), "-2 min");
    }

    #[test]
    fn only_console_paths_are_gone_back_to() {
        assert_eq!(
            safe_next(Some("/console/tickets?x=1")),
            "/console/tickets?x=1"
        );
        for bad in [
            "//evil.example",
            "https://evil.example/console",
            "/v1/events",
            "/console\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(safe_next(None), "/console");
    }
}
