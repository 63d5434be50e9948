//! Routes, middleware and handlers.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;

use super::{chat, metrics, openapi, reload, AppError, AppState, Options};
use crate::adapters::{self, AdapterError, AdapterKind, Inbound, Translated};
use crate::engine::{Decision, Trace};
use crate::model::{Action, Event, Ticket, TimerSpec};
use crate::rules::RuleError;
use crate::store::{AuditQuery, AuditRow, OutboxRow, TicketRecord};
use serde_json::Value;

/// Every route, for the router and the OpenAPI document alike.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/events"),
    ("post", "/v1/inbound/{adapter}"),
    ("get", "/v1/tickets/{id}"),
    ("get", "/v1/decisions"),
    ("get", "/v1/outbox"),
    ("post", "/v1/outbox/{id}/redeliver"),
    ("get", "/v1/agents"),
    ("put", "/v1/agents/{id}/status"),
    ("post", "/v1/chat/sessions"),
    ("get", "/v1/chat/sessions/{id}"),
    ("post", "/v1/chat/sessions/{id}/messages"),
    ("post", "/v1/chat/sessions/{id}/close"),
    ("get", "/v1/bots/{bot}/stats"),
    ("post", "/v1/admin/reload"),
    ("get", "/v1/admin/config"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/chat"),
];

/// Builds the router with its middleware.
pub fn router(state: Arc<AppState>, opts: &Options) -> Router {
    metrics::handle();
    let v1 = Router::new()
        .route("/v1/events", post(post_event))
        .route("/v1/tickets/{id}", get(get_ticket))
        .route("/v1/decisions", get(get_decisions))
        .route("/v1/outbox", get(get_outbox))
        .route("/v1/outbox/{id}/redeliver", post(post_redeliver))
        .route("/v1/agents", get(super::agents::get_agents))
        .route("/v1/agents/{id}/status", put(super::agents::put_status))
        .route("/v1/chat/sessions", post(chat::post_session))
        .route("/v1/chat/sessions/{id}", get(chat::get_session))
        .route("/v1/chat/sessions/{id}/messages", post(chat::post_message))
        .route("/v1/chat/sessions/{id}/close", post(chat::post_close))
        .route("/v1/bots/{bot}/stats", get(chat::get_stats))
        .route("/v1/admin/reload", post(post_reload))
        .route("/v1/admin/config", get(get_config))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .merge(v1)
        // Inbound webhooks authenticate by signature when the adapter has a secret, else by token.
        .route("/v1/inbound/{adapter}", post(post_inbound))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { metrics::handle().render() }))
        .route("/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/chat", get(chat::widget))
        .fallback(|| async { AppError::not_found("no such route; see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            AppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(opts.body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|e: tower::BoxError| async move {
                    if e.is::<tower::timeout::error::Elapsed>() {
                        AppError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "timeout",
                            "the request took too long",
                        )
                    } else {
                        AppError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "overloaded",
                            format!("the server is overloaded: {e}"),
                        )
                    }
                }))
                .load_shed()
                .concurrency_limit(1024)
                .timeout(opts.request_timeout),
        )
        .layer(middleware::from_fn(record_http))
        .with_state(state)
}

async fn record_http(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    metrics::http(&route, &method, resp.status().as_u16(), started.elapsed());
    resp
}

async fn require_token(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if state.tokens.enabled() {
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Err(why) = state.tokens.check(header) {
            return AppError::unauthorized(why).into_response();
        }
    }
    next.run(req).await
}

/// The body, or the right error when it is too big or unreadable.
pub(super) fn body(
    body: Result<Bytes, BytesRejection>,
    limit_hint: &str,
) -> Result<Bytes, AppError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {limit_hint}"),
            )
        } else {
            AppError::new(StatusCode::BAD_REQUEST, "unreadable_body", e.body_text())
        }
    })
}

pub(super) fn require_json(headers: &HeaderMap) -> Result<(), AppError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        let shown = if ct.is_empty() {
            "none".to_string()
        } else {
            format!("`{ct}`")
        };
        Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send `Content-Type: application/json` (got {shown})"),
        ))
    }
}

/// Parses JSON text into a value, with line and column on error.
pub(super) fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, AppError> {
    serde_json::from_slice(bytes).map_err(|e| AppError::invalid_json(format!("invalid JSON: {e}")))
}

/// Query of `POST /v1/events`.
#[derive(Debug, Default, Deserialize)]
pub struct EventQuery {
    /// Include the full trace.
    #[serde(default)]
    pub explain: bool,
}

/// The answer to an event.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventResponse {
    /// The event decided.
    pub event_id: String,
    /// The event had been decided before; this is the stored decision and nothing was applied again.
    pub replayed: bool,
    /// The ticket after the actions.
    pub ticket: Ticket,
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// Timers started.
    pub timers: Vec<TimerSpec>,
    /// Pending timers cancelled by name (SLA clocks met, paused or stopped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled_timers: Vec<String>,
    /// Rules that fired.
    pub rules: Vec<String>,
    /// Problems met while deciding (a failing script or template).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RuleError>,
    /// Every rule's outcome (with `?explain=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
}

impl EventResponse {
    fn from(d: Decision, replayed: bool, explain: bool) -> EventResponse {
        EventResponse {
            event_id: d.event_id,
            replayed,
            ticket: d.ticket,
            actions: d.actions,
            timers: d.timers,
            cancelled_timers: d.cancelled_timers,
            rules: d.trace.fired.clone(),
            errors: d.trace.errors.clone(),
            trace: explain.then_some(d.trace),
        }
    }
}

async fn post_event(
    State(state): State<Arc<AppState>>,
    Query(q): Query<EventQuery>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<EventResponse>, AppError> {
    require_json(&headers)?;
    let bytes = body(bytes, "the body limit")?;
    let value = parse_json(&bytes)?;
    let patch = value.get("ticket").cloned();
    let event = Event::from_value(value).map_err(|e| AppError::invalid_event(&e))?;
    if event.id.trim().is_empty() {
        return Err(AppError::invalid_event("id: must not be empty"));
    }
    if event.ticket.id.trim().is_empty() {
        return Err(AppError::invalid_event("ticket.id: must not be empty"));
    }
    let applied = state.process(event, patch, q.explain).await?;
    Ok(Json(EventResponse::from(
        applied.decision,
        applied.replayed,
        q.explain,
    )))
}

/// Records which helpdesk the ticket lives in (and its account), and whether its actions go
/// through that helpdesk's API: the stored ticket keeps it, so timers' actions go there too.
fn mark_source(state: &AppState, kind: AdapterKind, event: &mut crate::model::Event) {
    let helpdesk = kind.to_string();
    if !crate::delivery::helpdesk::HELPDESKS.contains(&helpdesk.as_str()) {
        return;
    }
    let account = event
        .data
        .get(&helpdesk)
        .and_then(|d| d.get("account_id"))
        .and_then(|a| match a {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    event.ticket.source = Some(crate::model::Source {
        api: state.connectors.calls_back(&helpdesk),
        helpdesk,
        account,
    });
}

/// Query of `POST /v1/inbound/{adapter}`.
#[derive(Debug, Default, Deserialize)]
pub struct InboundQuery {
    /// Include the full trace.
    #[serde(default)]
    pub explain: bool,
    /// API token, for helpdesks that cannot send an `Authorization` header.
    pub token: Option<String>,
}

async fn post_inbound(
    State(state): State<Arc<AppState>>,
    Path(adapter): Path<String>,
    Query(q): Query<InboundQuery>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let kind: AdapterKind = adapter
        .parse()
        .map_err(|e: AdapterError| AppError::not_found(e.message).field("adapter"))?;
    require_json(&headers)?;
    let bytes = body(bytes, "the body limit")?;
    let now = state.clock.now();
    match state.verifiers.get(&kind) {
        Some(verifier) => verifier.verify(&headers, &bytes, now).map_err(|e| {
            ::metrics::counter!("frontdesk_signature_failures_total", "adapter" => kind.to_string()).increment(1);
            AppError::new(StatusCode::UNAUTHORIZED, "invalid_signature", e.to_string())
        })?,
        None if state.tokens.enabled() => {
            let from_query = q.token.as_ref().map(|t| format!("Bearer {t}"));
            let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string).or(from_query);
            state.tokens.check(header.as_deref()).map_err(AppError::unauthorized)?;
        }
        None => {}
    }
    let inbound = Inbound {
        body: &bytes,
        headers: &headers,
        received_at: now,
    };
    let event = match adapters::translate(kind, &inbound) {
        Ok(Translated::Event(mut e)) => {
            mark_source(&state, kind, &mut e);
            e
        }
        Ok(Translated::Ignored { reason }) => {
            tracing::debug!(adapter = %kind, %reason, "delivery ignored");
            return Ok(
                Json(serde_json::json!({ "ignored": true, "reason": reason })).into_response(),
            );
        }
        Err(e) => {
            let status = if e.code == AdapterError::INVALID_JSON {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut err = AppError::new(status, e.code, e.message);
            err.field = e.field;
            return Err(err);
        }
    };
    let applied = state.process(event, None, q.explain).await?;
    Ok(Json(EventResponse::from(
        applied.decision,
        applied.replayed,
        q.explain,
    ))
    .into_response())
}

async fn get_ticket(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<TicketRecord>, AppError> {
    match state.store.ticket(&id).await? {
        Some(t) => Ok(Json(t)),
        None => Err(AppError::not_found(format!("no ticket `{id}` has been seen")).field("id")),
    }
}

async fn get_decisions(
    State(state): State<Arc<AppState>>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditRow>>, AppError> {
    Ok(Json(state.store.audit(&q).await?))
}

/// Query of `GET /v1/outbox`.
#[derive(Debug, Default, Deserialize)]
pub struct OutboxQuery {
    /// `pending`, `delivered` or `dead`.
    pub state: Option<String>,
    /// At most this many rows (default 100).
    pub limit: Option<u32>,
}

async fn get_outbox(
    State(state): State<Arc<AppState>>,
    Query(q): Query<OutboxQuery>,
) -> Result<Json<Vec<OutboxRow>>, AppError> {
    if let Some(s) = &q.state {
        if !["pending", "delivered", "dead"].contains(&s.as_str()) {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("state `{s}` is not one of pending, delivered, dead"),
            )
            .field("state"));
        }
    }
    Ok(Json(
        state
            .store
            .outbox(q.state.as_deref(), q.limit.unwrap_or(100))
            .await?,
    ))
}

async fn post_redeliver(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    if state.store.redeliver(&id, state.clock.now()).await? {
        Ok(Json(serde_json::json!({ "id": id, "state": "pending" })))
    } else {
        Err(AppError::not_found(format!("no outbox row `{id}`")).field("id"))
    }
}

/// Facts about the active rule pack.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConfigInfo {
    /// SHA-256 over every file of the pack directory (relative paths and contents, scripts
    /// included): equal on replicas running the same rules, wherever the pack is installed.
    pub hash: String,
    /// When it was loaded.
    pub loaded_at: chrono::DateTime<chrono::Utc>,
    /// Rules, in evaluation order.
    pub rules: Vec<String>,
    /// Files.
    pub files: Vec<String>,
    /// FAQ bots loaded with the rules (their hash is part of `hash`).
    #[serde(default)]
    pub bots: Vec<String>,
}

fn config_info(state: &AppState) -> ConfigInfo {
    let loaded = state.config.load();
    ConfigInfo {
        hash: loaded.hash.clone(),
        loaded_at: loaded.loaded_at,
        rules: loaded.config.rule_names().map(str::to_string).collect(),
        files: loaded
            .config
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        bots: loaded
            .config
            .bots()
            .iter()
            .map(|b| b.name().to_string())
            .collect(),
    }
}

async fn get_config(State(state): State<Arc<AppState>>) -> Json<ConfigInfo> {
    Json(config_info(&state))
}

async fn post_reload(State(state): State<Arc<AppState>>) -> Response {
    match reload::reload(&state).await {
        Ok(_) => Json(config_info(&state)).into_response(),
        Err(diags) => {
            let errors: Vec<String> = diags.items().iter().map(|d| d.to_string()).collect();
            let body = serde_json::json!({
                "error": {
                    "code": "invalid_rules",
                    "message": format!("the new rules have {} errors; the previous rules stay active", diags.error_count()),
                    "details": errors,
                }
            });
            (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
        }
    }
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(e) => AppError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string())
            .into_response(),
    }
}
