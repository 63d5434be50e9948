//! Inbound adapters: a helpdesk's webhook body in, one normalised [`Event`] out.
//!
//! Each helpdesk speaks its own JSON. An adapter reads it and builds the crate's [`Event`]; it
//! never decides anything (that is [`crate::engine::decide`]'s job). A delivery that carries
//! nothing for the rules (an agent's own reply, an internal note, an event kind frontdesk does not
//! use) becomes [`Translated::Ignored`] with the reason, so the caller can answer `200` and the
//! helpdesk does not retry it.
//!
//! | adapter | reads |
//! |---|---|
//! | [`AdapterKind::Generic`] | the normalised event itself (`POST /v1/events` format) |
//! | [`AdapterKind::Chatwoot`] | account webhooks and agent bots: `message_created`, `conversation_*` |
//! | [`AdapterKind::Zammad`] | the trigger webhook's default payload, `{ticket, article}` |
//! | [`AdapterKind::Zendesk`] | the recommended trigger body (see `docs/adapters.md`) and event subscriptions (`zen:event-type:ticket.*`) |
//!
//! Signatures are checked separately, on the raw body, by [`signature::Verifier`]; call it before
//! [`translate`].
//!
//! ```
//! use frontdesk::adapters::{translate, Inbound, Translated};
//!
//! let kind = frontdesk::adapters::kind("chatwoot").unwrap();
//! let body = br#"{"event": "message_created", "id": 7, "message_type": "incoming",
//!     "content": "Hello?", "private": false,
//!     "conversation": {"id": 12, "channel": "Channel::WebWidget", "status": "open"},
//!     "sender": {"id": 3, "name": "Ada Lovelace"}}"#;
//! let headers = http::HeaderMap::new();
//! let inbound = Inbound { body, headers: &headers, received_at: "2026-11-23T10:00:00Z".parse().unwrap() };
//! let Translated::Event(event) = translate(kind, &inbound).unwrap() else { panic!() };
//! assert_eq!(event.kind.to_string(), "message.created");
//! assert_eq!(event.ticket.id, "12");
//! assert_eq!(event.ticket.customer.first_name(), Some("Ada"));
//! ```

mod chatwoot;
mod generic;
mod read;
pub mod signature;
mod text;
mod zammad;
mod zendesk;

/// The event types a Zendesk trigger body may name in `type`.
pub(crate) use zendesk::TRIGGER_TYPES as ZENDESK_TRIGGER_TYPES;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::diag::did_you_mean;
use crate::model::{Event, Named};

/// Which adapter reads a delivery: the helpdesk it comes from, named by the inbound URL's last
/// segment.
pub use crate::model::Helpdesk as AdapterKind;

/// The adapter named `s` (case-insensitive); an unknown name gets the nearest known one as a
/// suggestion.
pub fn kind(s: &str) -> Result<AdapterKind, AdapterError> {
    AdapterKind::parse(s).ok_or_else(|| {
        let names = AdapterKind::names();
        let hint = did_you_mean(s, names.iter().copied());
        let hint = if hint.is_empty() {
            format!(" (expected one of: {})", names.join(", "))
        } else {
            hint
        };
        AdapterError {
            code: AdapterError::UNKNOWN_ADAPTER,
            message: format!("unknown adapter `{s}`{hint}"),
            field: None,
        }
    })
}

/// One delivery as it arrived: the raw body (also what signatures are computed over), the
/// request headers and the time it was received.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    /// The request body, byte for byte.
    pub body: &'a [u8],
    /// The request headers (names are case-insensitive).
    pub headers: &'a http::HeaderMap,
    /// When frontdesk received it; the event's `occurred_at` when the payload has no time.
    pub received_at: DateTime<Utc>,
}

impl Inbound<'_> {
    /// A header's value as text, trimmed; `None` when absent, empty or not visible ASCII.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// What an adapter made of a delivery.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // built once per request and moved straight to the engine
pub enum Translated {
    /// A normalised event for the engine.
    Event(Event),
    /// Nothing for the rules; answer success so the helpdesk does not retry.
    Ignored {
        /// Why, for logs and the HTTP response.
        reason: String,
    },
}

/// Why a delivery could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterError {
    /// Stable machine-readable code: one of the `AdapterError::*` constants.
    pub code: &'static str,
    /// What was wrong, for a person.
    pub message: String,
    /// JSON path of the offending value (`conversation.meta.sender.email`, `messages[0].id`),
    /// when one value is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl AdapterError {
    /// The URL named no known adapter.
    pub const UNKNOWN_ADAPTER: &'static str = "unknown_adapter";
    /// The body is not JSON (or not UTF-8).
    pub const INVALID_JSON: &'static str = "invalid_json";
    /// The body is JSON but not the shape the adapter reads: a field is missing, has the wrong
    /// type or an unknown value.
    pub const INVALID_PAYLOAD: &'static str = "invalid_payload";

    /// An `invalid_payload` error about the value at `field`.
    pub(crate) fn payload(field: impl Into<String>, message: impl Into<String>) -> AdapterError {
        let field = field.into();
        AdapterError {
            code: AdapterError::INVALID_PAYLOAD,
            message: message.into(),
            field: (!field.is_empty()).then_some(field),
        }
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AdapterError {}

/// Translates one delivery with the adapter `kind`.
///
/// Pure: no I/O and no clock (the receive time comes in `inbound`). Never panics, whatever the
/// bytes; every rejection names the field that was wrong.
pub fn translate(kind: AdapterKind, inbound: &Inbound<'_>) -> Result<Translated, AdapterError> {
    let mut translated = match kind {
        AdapterKind::Generic => generic::translate(inbound)?,
        _ => {
            let value = parse_body(inbound.body)?;
            let root = read::At::root(&value);
            if !value.is_object() {
                return Err(AdapterError::payload(
                    "",
                    format!(
                        "the body must be a JSON object, found {}",
                        read::kind(&value)
                    ),
                ));
            }
            match kind {
                AdapterKind::Chatwoot => chatwoot::translate(inbound, &root)?,
                AdapterKind::Zammad => zammad::translate(inbound, &root)?,
                _ => zendesk::translate(inbound, &root)?,
            }
        }
    };
    if let Translated::Event(event) = &mut translated {
        event.occurred_at.get_or_insert(inbound.received_at);
    }
    Ok(translated)
}

/// The body as JSON, or an `invalid_json` error with the line and column.
fn parse_body(body: &[u8]) -> Result<serde_json::Value, AdapterError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AdapterError {
            code: AdapterError::INVALID_JSON,
            message: "the body is empty".into(),
            field: None,
        });
    }
    serde_json::from_slice(body).map_err(|e| AdapterError {
        code: AdapterError::INVALID_JSON,
        message: format!("the body is not valid JSON: {e}"),
        field: None,
    })
}

/// An event id for a delivery that carries none of its own: a digest of the body, so a retry
/// with the same body gets the same id.
fn body_digest_id(adapter: &str, body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("{adapter}:body:{}", text::hex(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_names_parse_with_suggestions() {
        assert_eq!(kind("Zammad").unwrap(), AdapterKind::Zammad);
        let e = kind("chatwot").unwrap_err();
        assert_eq!(e.code, "unknown_adapter");
        assert_eq!(
            e.message,
            "unknown adapter `chatwot`; did you mean `chatwoot`?"
        );
        let e = kind("freshdesk").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown adapter `freshdesk` (expected one of: generic, chatwoot, zammad, zendesk)"
        );
    }

    #[test]
    fn errors_render_with_their_field() {
        let e = AdapterError::payload("ticket.id", "required field is missing");
        assert_eq!(e.to_string(), "ticket.id: required field is missing");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"invalid_payload","message":"required field is missing","field":"ticket.id"}"#
        );
    }

    #[test]
    fn digest_ids_are_stable() {
        assert_eq!(body_digest_id("x", b"{}"), body_digest_id("x", b"{}"));
        assert_ne!(body_digest_id("x", b"{}"), body_digest_id("x", b"[]"));
    }
}
