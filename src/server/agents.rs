//! The agents' handlers: `GET /v1/agents`, `PUT /v1/agents/{id}/status`. What they do is
//! [`crate::service::agents`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

use super::extract::{body, require_json};
use super::{AppError, AppState};
use crate::model::Named;
use crate::routing::AgentStatus;
use crate::service::agents::{self, AgentView};
use crate::service::Code;

/// `GET /v1/agents`.
pub(super) async fn get_agents(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<AgentView>>, AppError> {
    Ok(Json(agents::list(&state.desk).await?))
}

/// The body of `PUT /v1/agents/{id}/status`.
fn parse_status(bytes: &[u8]) -> Result<AgentStatus, AppError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::new(Code::InvalidJson, format!("invalid JSON: {e}")))?;
    let invalid =
        |message: String, field: &str| AppError::new(Code::InvalidStatus, message).field(field);
    let Some(obj) = value.as_object() else {
        return Err(invalid(
            "send an object: {\"status\": \"online\" | \"away\" | \"offline\"}".into(),
            "status",
        ));
    };
    if let Some(k) = obj.keys().find(|k| *k != "status") {
        return Err(invalid(
            format!("unknown field `{k}`; only `status` is accepted"),
            k,
        ));
    }
    let names = AgentStatus::names().join(", ");
    match obj.get("status") {
        None => Err(invalid(
            format!("missing `status` (one of {names})"),
            "status",
        )),
        Some(Value::String(s)) => AgentStatus::parse(s).ok_or_else(|| {
            invalid(
                format!("`{s}` is not a status; use one of {names}"),
                "status",
            )
        }),
        Some(other) => Err(invalid(
            format!("expected text (one of {names}), found {other}"),
            "status",
        )),
    }
}

/// `PUT /v1/agents/{id}/status`.
pub(super) async fn put_status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<AgentView>, AppError> {
    require_json(&headers)?;
    let bytes = body(bytes)?;
    // An unknown agent is a 404 whatever the body says.
    agents::known(&state.desk, &id)?;
    let status = parse_status(&bytes)?;
    Ok(Json(agents::set_status(&state.desk, &id, status).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_are_checked_field_by_field() {
        assert_eq!(
            parse_status(br#"{"status":"online"}"#),
            Ok(AgentStatus::Online)
        );
        let bad = parse_status(br#"{"status":"busy"}"#).unwrap_err();
        assert_eq!(
            (bad.code.status(), bad.field.as_deref()),
            (422, Some("status"))
        );
        assert!(
            bad.message.contains("online, away, offline"),
            "{}",
            bad.message
        );
        let extra = parse_status(br#"{"status":"away","mood":"good"}"#).unwrap_err();
        assert_eq!(extra.field.as_deref(), Some("mood"));
        assert_eq!(
            parse_status(b"{}").unwrap_err().field.as_deref(),
            Some("status")
        );
        assert_eq!(parse_status(b"nope").unwrap_err().code.status(), 400);
    }
}
