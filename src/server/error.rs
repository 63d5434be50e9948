//! How a failure is answered over HTTP: the service's [`Error`] rendered as one stable JSON
//! body `{"error": {"code", "message", "field"}}`, with the status its [`Code`] carries. This
//! is the one place a code becomes a status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::service::{Code, Error};

/// An error answered over HTTP: the service's error type, whatever produced it (a handler's
/// parsing, the middleware, or the service).
pub type AppError = Error;

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
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    details: &'a [String],
}

/// The HTTP status of a code.
pub(crate) fn status(code: Code) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code.name(),
                message: &self.message,
                field: self.field.as_deref(),
                details: &self.details,
            },
        };
        (status(self.code), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_valid_status() {
        for code in Code::ALL {
            assert_eq!(status(*code).as_u16(), code.status(), "{code}");
        }
    }
}
