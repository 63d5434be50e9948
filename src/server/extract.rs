//! Reading requests: query strings, and bodies (the size limit, the content type, JSON with
//! positions, typed bodies whose errors name the failing field).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use crate::service::{Code, Error};

/// A query string read into `T`. One that does not fit (`?explain=maybe`, `?limit=1e30`) is
/// answered like every other rejection: the JSON error `invalid_query`, naming the parameter,
/// where axum's own extractor answers in plain text.
pub(super) struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let field = e.path().to_string();
                let error = Error::new(
                    Code::InvalidQuery,
                    format!("query string: {}", e.into_inner()),
                );
                if field == "." {
                    error
                } else {
                    error.field(field)
                }
            })
    }
}

/// A page size read from a query string: 1 to [`Limit::MAX`]. The OpenAPI document takes its
/// bounds from here, so what is documented is what is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub u32);

impl Limit {
    /// The largest page.
    pub const MAX: u32 = 1000;
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Limit, D::Error> {
        let n = u32::deserialize(d)?;
        if (1..=Limit::MAX).contains(&n) {
            Ok(Limit(n))
        } else {
            Err(D::Error::custom(format!(
                "{n} is outside 1 to {}",
                Limit::MAX
            )))
        }
    }
}

impl schemars::JsonSchema for Limit {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Limit".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": Limit::MAX })
    }
}

/// The body, or the right error when it is too big or unreadable.
pub(super) fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Error> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(Code::BodyTooLarge, "the body is larger than the body limit")
        } else {
            Error::new(Code::UnreadableBody, e.body_text())
        }
    })
}

/// Refuses a body not sent as JSON (`application/json` or `application/*+json`).
pub(super) fn require_json(headers: &HeaderMap) -> Result<(), Error> {
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
        Err(Error::new(
            Code::UnsupportedMediaType,
            format!("send `Content-Type: application/json` (got {shown})"),
        ))
    }
}

/// Parses JSON text into a value, with line and column on error.
pub(super) fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::new(Code::InvalidJson, format!("invalid JSON: {e}")))
}

/// A JSON body: content type, size, syntax, then `T`, naming the failing field.
pub(super) fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<T, Error> {
    require_json(headers)?;
    let value = parse_json(&body(bytes)?)?;
    crate::model::strict::from_value(&value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // "missing field `bot`" names the field itself; the path is its parent.
        let missing = inner
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(m)) => m.to_string(),
            (p, Some(m)) => format!("{p}.{m}"),
            (".", None) => String::new(),
            (p, None) => p.to_string(),
        };
        if field.is_empty() {
            Error::new(Code::InvalidRequest, inner)
        } else {
            Error::invalid_request(format!("{field}: {inner}"), &field)
        }
    })
}
