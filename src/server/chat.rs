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
use crate::service::chat::{self, ChatAnswer, ChatClosed, Transcript};
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
