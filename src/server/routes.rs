//! Routes, middleware and handlers.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceBuilder;

use super::auth::Role;
use super::extract::{body, parse_json, require_json, Limit, Query};
use super::{agents, chat, csat, openapi, AppError, AppState, Options};
use crate::adapters::{self, AdapterError, Inbound, Translated};
use crate::service::explain::{Explained, TryOut};
use crate::service::{self, metrics, reload, reports, Code, ConfigInfo, EventResponse};
use crate::store::{AuditQuery, AuditRow, OutboxRow, TicketRecord};

/// Builds the router with its middleware.
pub fn router(state: Arc<AppState>, opts: &Options) -> Router {
    metrics::handle();
    let v1 = Router::new()
        .route("/v1/events", post(post_event))
        .route("/v1/tickets/{id}", get(get_ticket))
        .route("/v1/decisions", get(get_decisions))
        .route("/v1/decisions/{event_id}/explain", get(get_explain))
        .route("/v1/playground", post(post_playground))
        .route("/v1/outbox", get(get_outbox))
        .route("/v1/outbox/{id}/redeliver", post(post_redeliver))
        .route("/v1/agents", get(agents::get_agents))
        .route("/v1/agents/{id}/status", put(agents::put_status))
        .route("/v1/chat/sessions", post(chat::post_session))
        .route("/v1/chat/sessions/{id}", get(chat::get_session))
        .route("/v1/chat/sessions/{id}/messages", post(chat::post_message))
        .route("/v1/chat/sessions/{id}/close", post(chat::post_close))
        .route(
            "/v1/chat/sessions/{id}/agent-messages",
            post(chat::post_agent_message),
        )
        .route("/v1/chat/sessions/{id}/contact", post(chat::post_contact))
        .route("/v1/chat/sessions/{id}/events", get(chat::get_events))
        .route("/v1/bots/{bot}/stats", get(chat::get_stats))
        .route("/v1/reports/kpis", get(get_kpis))
        .route("/v1/admin/reload", post(post_reload))
        .route("/v1/admin/config", get(get_config))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .merge(v1)
        // Inbound webhooks authenticate by signature when the adapter has a secret, else by token.
        .route("/v1/inbound/{adapter}", post(post_inbound))
        // Survey links carry their own signature: customers follow them without a login.
        .route("/v1/csat/{token}", get(csat::get_rating))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { metrics::handle().render() }))
        .route("/openapi.json", get(get_openapi))
        .route("/chat", get(chat::widget))
        .merge(super::console::router(state.clone()))
        .fallback(|| async { AppError::not_found("no such route; see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            AppError::new(
                Code::MethodNotAllowed,
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(opts.body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|e: tower::BoxError| async move {
                    if e.is::<tower::timeout::error::Elapsed>() {
                        AppError::new(Code::Timeout, "the request took too long")
                    } else {
                        AppError::new(Code::Overloaded, format!("the server is overloaded: {e}"))
                    }
                }))
                .load_shed()
                .concurrency_limit(1024)
                .timeout(opts.request_timeout),
        )
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn(record_http))
        .with_state(state)
}

/// Holds callers to their limits: every `/v1/*` request to the API limit of its token (or of
/// its address, without one), chat requests also to the limit of their address, and chat
/// messages to the limit of their session. Over a limit: 429 with `Retry-After`.
async fn rate_limit(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/v1/") {
        return next.run(req).await;
    }
    let limits = &state.limits;
    let now = state.desk.clock.now();
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let address = limits.settings.caller(peer, forwarded);
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = state.tokens.caller(auth);
    // A caller the token check will refuse is held to the API limit of its address only: it
    // gets its 401 and does not spend the chat budget of an address (a NAT's customers).
    let refused = token.is_none() && state.tokens.enabled();
    let caller = match token {
        Some(token) => format!("token {token}"),
        None => format!("address {address}"),
    };
    let mut checks = vec![("api", &limits.api, caller)];
    if let Some(chat) = path.strip_prefix("/v1/chat/").filter(|_| !refused) {
        checks.push(("chat address", &limits.chat_address, address.to_string()));
        if let Some(session) = chat
            .strip_prefix("sessions/")
            .and_then(|rest| rest.strip_suffix("/messages"))
        {
            checks.push((
                "chat session",
                &limits.chat_session,
                format!("session {session}"),
            ));
        }
    }
    for (limit, limiter, key) in checks {
        if let Err(wait) = limiter.take(&key, now) {
            ::metrics::counter!("frontdesk_rate_limited_total", "limit" => limit).increment(1);
            let secs = (wait.num_milliseconds() + 999) / 1000;
            tracing::debug!(limit, %key, secs, "rate limited");
            let mut answer = AppError::new(
                Code::RateLimited,
                format!(
                    "too many requests for the {limit} limit of this {}; send again in {secs} s",
                    key.split(' ').next().unwrap_or("caller")
                ),
            )
            .into_response();
            if let Ok(value) = header::HeaderValue::from_str(&secs.max(1).to_string()) {
                answer.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return answer;
        }
    }
    next.run(req).await
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
        match state.tokens.check(header) {
            Err(why) => return AppError::new(Code::Unauthorized, why).into_response(),
            Ok(role) if !role.allows(req.method(), req.uri().path()) => {
                let why = match role {
                    Role::Viewer => "this is a viewer token: it may read, not change anything",
                    _ => "this is a chat token: it may only open and carry on chats as a customer",
                };
                return AppError::new(Code::Forbidden, why).into_response();
            }
            Ok(_) => {}
        }
    }
    next.run(req).await
}

/// Query of `POST /v1/events`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Include every rule's outcome (the full trace).
    #[serde(default)]
    pub explain: bool,
}

async fn post_event(
    State(state): State<Arc<AppState>>,
    Query(q): Query<EventQuery>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<EventResponse>, AppError> {
    require_json(&headers)?;
    let (event, patch) = service::read_event(parse_json(&body(bytes)?)?)?;
    let applied = state.desk.process(event, patch, q.explain).await?;
    Ok(Json(EventResponse::new(applied, q.explain)))
}

/// Query of `POST /v1/inbound/{adapter}`.
/// Other parameters are ignored: a helpdesk may add its own to the URL it calls.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct InboundQuery {
    /// Include every rule's outcome (the full trace).
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
    let kind = adapters::kind(&adapter)
        .map_err(|e: AdapterError| AppError::not_found(e.message).field("adapter"))?;
    require_json(&headers)?;
    let bytes = body(bytes)?;
    let now = state.desk.clock.now();
    match state.verifiers.get(&kind) {
        Some(verifier) => verifier.verify(&headers, &bytes, now).map_err(|e| {
            ::metrics::counter!("frontdesk_signature_failures_total", "adapter" => kind.to_string()).increment(1);
            AppError::new(Code::InvalidSignature, e.to_string())
        })?,
        None if state.tokens.enabled() => {
            let from_query = q.token.as_ref().map(|t| format!("Bearer {t}"));
            let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string).or(from_query);
            let role = state.tokens.check(header.as_deref()).map_err(|why| AppError::new(Code::Unauthorized, why))?;
            if role != Role::Admin {
                return Err(AppError::new(Code::Forbidden, "only an API token may send events"));
            }
        }
        None => {}
    }
    let inbound = Inbound {
        body: &bytes,
        headers: &headers,
        received_at: now,
    };
    let event = match adapters::translate(kind, &inbound) {
        Ok(Translated::Event(e)) => e,
        Ok(Translated::Ignored { reason }) => {
            tracing::debug!(adapter = %kind, %reason, "delivery ignored");
            return Ok(
                Json(serde_json::json!({ "ignored": true, "reason": reason })).into_response(),
            );
        }
        Err(e) => {
            let code = if e.code == AdapterError::INVALID_JSON {
                Code::InvalidJson
            } else {
                Code::InvalidPayload
            };
            return Err(AppError {
                field: e.field,
                ..AppError::new(code, e.message)
            });
        }
    };
    match state.desk.process_inbound(kind, event, q.explain).await? {
        Ok(applied) => Ok(Json(EventResponse::new(applied, q.explain)).into_response()),
        Err(reason) => {
            tracing::debug!(adapter = %kind, %reason, "delivery ignored");
            Ok(Json(serde_json::json!({ "ignored": true, "reason": reason })).into_response())
        }
    }
}

async fn get_ticket(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<TicketRecord>, AppError> {
    Ok(Json(state.desk.ticket(&id).await?))
}

/// Query of `GET /v1/decisions`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionsQuery {
    /// Only this ticket.
    pub ticket: Option<String>,
    /// Only decisions in which this rule fired.
    pub rule: Option<String>,
    /// At most this many rows (default 100).
    pub limit: Option<Limit>,
}

async fn get_decisions(
    State(state): State<Arc<AppState>>,
    Query(q): Query<DecisionsQuery>,
) -> Result<Json<Vec<AuditRow>>, AppError> {
    let q = AuditQuery {
        ticket: q.ticket,
        rule: q.rule,
        limit: q.limit.map(|l| l.0),
    };
    Ok(Json(state.desk.audit(&q).await?))
}

async fn get_explain(
    State(state): State<Arc<AppState>>,
    Path(event_id): Path<String>,
) -> Result<Json<Explained>, AppError> {
    Ok(Json(state.desk.explain_event(&event_id).await?))
}

async fn post_playground(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<TryOut>, AppError> {
    require_json(&headers)?;
    let value = parse_json(&body(bytes)?)?;
    Ok(Json(state.desk.try_event(value).await?))
}

/// The states of outbox rows.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its (next) attempt.
    Pending,
    /// Delivered.
    Delivered,
    /// Failed for good: a dead letter.
    Dead,
}

/// Query of `GET /v1/outbox`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// Only rows in this state.
    pub state: Option<OutboxState>,
    /// At most this many rows (default 100).
    pub limit: Option<Limit>,
}

async fn get_outbox(
    State(state): State<Arc<AppState>>,
    Query(q): Query<OutboxQuery>,
) -> Result<Json<Vec<OutboxRow>>, AppError> {
    let wanted = q.state.map(|s| match s {
        OutboxState::Pending => "pending",
        OutboxState::Delivered => "delivered",
        OutboxState::Dead => "dead",
    });
    let rows = state
        .desk
        .outbox(wanted, q.limit.map_or(100, |l| l.0))
        .await?;
    Ok(Json(rows))
}

async fn post_redeliver(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    state.desk.redeliver(&id).await?;
    Ok(Json(serde_json::json!({ "id": id, "state": "pending" })))
}

async fn get_kpis(
    State(state): State<Arc<AppState>>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<axum::response::Response, AppError> {
    let (q, format) = reports::parse_query(raw.as_deref(), state.desk.clock.now())?;
    let report = state.desk.kpi_report(&q).await?;
    Ok(match format {
        reports::Format::Json => Json(report).into_response(),
        reports::Format::Csv => (
            [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::kpi::csv(&report),
        )
            .into_response(),
    })
}

/// The document of this daemon: its security as configured.
async fn get_openapi(State(state): State<Arc<AppState>>) -> Json<Value> {
    let limits = &state.limits.settings;
    let security = openapi::Security {
        rate_limited: limits.api.on() || limits.chat_session.on() || limits.chat_address.on(),
        tokens: state.tokens.enabled(),
        signed: state
            .verifiers
            .keys()
            .map(|k| crate::model::Named::name(*k))
            .collect(),
    };
    Json(openapi::document_for(&security))
}

async fn get_config(State(state): State<Arc<AppState>>) -> Json<ConfigInfo> {
    Json(state.desk.config_info())
}

async fn post_reload(State(state): State<Arc<AppState>>) -> Result<Json<ConfigInfo>, AppError> {
    match reload::reload(&state.desk).await {
        Ok(_) => Ok(Json(state.desk.config_info())),
        Err(diags) => Err(AppError {
            details: diags.items().iter().map(|d| d.to_string()).collect(),
            ..AppError::new(
                Code::InvalidRules,
                format!(
                    "the new rules have {} errors; the previous rules stay active",
                    diags.error_count()
                ),
            )
        }),
    }
}

async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Value>, AppError> {
    state.desk.ready().await?;
    Ok(Json(serde_json::json!({"status": "ready"})))
}
