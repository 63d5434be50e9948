//! One error type for every HTTP answer that is not a success: a stable JSON body
//! `{"error": {"code", "message", "field"}}` with a machine-readable code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::store::StoreError;

/// An HTTP error with a stable code.
#[derive(Debug, Clone, PartialEq)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code (`invalid_json`, `unauthorized`, ...).
    pub code: &'static str,
    /// What was wrong, for a person.
    pub message: String,
    /// The offending field's path, when there is one.
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl AppError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same error naming a field.
    pub fn field(mut self, field: impl Into<String>) -> AppError {
        self.field = Some(field.into());
        self
    }

    /// 400 `invalid_json`.
    pub fn invalid_json(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    /// 422 `invalid_event`, naming the field from a `path: message` text.
    pub fn invalid_event(message: &str) -> AppError {
        let field = message
            .split_once(": ")
            .map(|(p, _)| p.to_string())
            .filter(|p| !p.contains(' '));
        AppError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_event",
            message: message.to_string(),
            field,
        }
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => {
                AppError::new(StatusCode::CONFLICT, "event_id_reused", e.to_string()).field("id")
            }
            StoreError::Stale(_) => AppError::new(StatusCode::CONFLICT, "stale", e.to_string()),
            StoreError::Decide(_) => {
                tracing::error!(error = %e, "decide failed");
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "decide_failed",
                    e.to_string(),
                )
            }
            _ => {
                tracing::error!(error = %e, "store failed");
                AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    e.to_string(),
                )
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        };
        (self.status, Json(body)).into_response()
    }
}
