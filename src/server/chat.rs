//! The chat API's handlers (`/v1/chat/sessions...`, `/v1/bots/{bot}/stats`) and the
//! embeddable widget at `GET /chat`. What a chat does is [`crate::service::chat`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::extract::{json_body, Limit, Query};
use super::{AppError, AppState};
use crate::service::chat::{
    self, AgentPosted, ChatAnswer, ChatClosed, ContactLeft, News, Transcript,
};
use crate::store::ChatStats;

/// The widget page.
const WIDGET: &str = include_str!("chat.html");

/// Query of `GET /v1/bots/{bot}/stats`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// How many unanswered questions to list (default 10).
    pub top: Option<Limit>,
}

pub(super) async fn post_session(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let opened = chat::open(&state.desk, json_body(&headers, bytes)?).await?;
    Ok((StatusCode::CREATED, Json(opened)).into_response())
}

pub(super) async fn get_session(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Transcript>, AppError> {
    Ok(Json(chat::transcript(&state.desk, &id).await?))
}

pub(super) async fn post_message(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<ChatAnswer>, AppError> {
    let body = json_body(&headers, bytes)?;
    Ok(Json(chat::message(&state.desk, &id, body).await?))
}

pub(super) async fn post_close(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<ChatClosed>, AppError> {
    Ok(Json(chat::close(&state.desk, &id).await?))
}

pub(super) async fn post_agent_message(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = json_body(&headers, bytes)?;
    let posted: AgentPosted = chat::agent_message(&state.desk, &id, body).await?;
    Ok((StatusCode::CREATED, Json(posted)).into_response())
}

pub(super) async fn post_contact(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<ContactLeft>, AppError> {
    let body = json_body(&headers, bytes)?;
    Ok(Json(chat::leave_contact(&state.desk, &id, body).await?))
}

/// Query of `GET /v1/chat/sessions/{id}/events`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Send the lines after this one (default: the `Last-Event-ID` header, else 0: every line).
    pub after: Option<u32>,
}

/// A session's live stream as server-sent events: `message` (a transcript line, its `id` the
/// line's number, so a reconnecting client's `Last-Event-ID` carries on after it) and `state`
/// (`{"state": ...}`); it ends when the session is closed.
pub(super) async fn get_events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures_util::StreamExt;
    let after = match q.after {
        Some(n) => n,
        None => match headers.get("last-event-id").map(|v| v.to_str()) {
            None => 0,
            Some(Ok(v)) => v.trim().parse().map_err(|_| {
                AppError::new(
                    crate::service::Code::InvalidQuery,
                    format!("Last-Event-ID: `{v}` is not a line number"),
                )
                .field("Last-Event-ID")
            })?,
            Some(Err(_)) => 0,
        },
    };
    let news = chat::follow(state.desk.clone(), &id, after, state.stop.clone()).await?;
    let events = news.map(|item| {
        let event = match item {
            Ok(News::Line(line)) => Event::default()
                .event("message")
                .id(line.seq.to_string())
                .json_data(&line),
            Ok(News::State(s)) => Event::default()
                .event("state")
                .json_data(serde_json::json!({ "state": s })),
            Err(e) => Event::default().event("error").json_data(
                serde_json::json!({ "error": { "code": e.code.name(), "message": e.message } }),
            ),
        };
        event.map_err(axum::Error::new)
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response();
    // Proxies must not hold the stream back.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(response)
}

pub(super) async fn get_stats(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<StatsQuery>,
) -> Result<Json<ChatStats>, AppError> {
    Ok(Json(
        chat::stats(&state.desk, &name, q.top.map(|t| t.0)).await?,
    ))
}

pub(super) async fn widget() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
            ),
        ],
        Html(WIDGET),
    )
        .into_response()
}
