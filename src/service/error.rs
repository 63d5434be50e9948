//! The one error type of the service layer, and the closed list of API error codes.
//!
//! Every failure a caller of frontdesk can see carries a [`Code`]: a stable, machine-readable
//! name, the HTTP status the API answers it with, and an anchor in `docs/errors.md` that says
//! what it means and what to do. The HTTP layer renders an [`Error`] as
//! `{"error": {"code", "message", "field"}}` and does nothing else with it; the scheduler and
//! the chat read `code` to decide, never the message.

use std::fmt;

use crate::store::StoreError;

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = ($name:literal, $status:literal),)*) => {
        /// An API error code. Adding one: a variant here, its section in `docs/errors.md`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as the API writes it (`invalid_json`).
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The HTTP status the API answers it with.
            pub fn status(self) -> u16 {
                match self { $(Code::$variant => $status,)* }
            }
        }
    };
}

codes! {
    /// The body is not JSON.
    InvalidJson = ("invalid_json", 400),
    /// The body could not be read.
    UnreadableBody = ("unreadable_body", 400),
    /// A query parameter is not one the route takes.
    InvalidQuery = ("invalid_query", 400),
    /// Neither a valid API token nor a signature.
    Unauthorized = ("unauthorized", 401),
    /// A webhook's signature does not verify.
    InvalidSignature = ("invalid_signature", 401),
    /// A survey link's token is not one frontdesk signed (cut short, changed, made up).
    SurveyLinkInvalid = ("survey_link_invalid", 403),
    /// A viewer token asked to change something: it may only read.
    Forbidden = ("forbidden", 403),
    /// No such route, ticket, session, bot, agent, outbox row or adapter.
    NotFound = ("not_found", 404),
    /// Survey links are off: the daemon has no link secret.
    SurveyLinksOff = ("survey_links_off", 404),
    /// The route does not take that method.
    MethodNotAllowed = ("method_not_allowed", 405),
    /// The event id was used before for a different event.
    EventIdReused = ("event_id_reused", 409),
    /// The chat message id was used before for another message of the session.
    MessageIdReused = ("message_id_reused", 409),
    /// The chat session changed while the request was answered; send it again.
    Stale = ("stale", 409),
    /// The chat session is closed.
    SessionClosed = ("session_closed", 409),
    /// A person's message, or a customer's address for the answer, in a chat the bot still
    /// answers: the chat has not been handed to a person.
    NotHandedOff = ("not_handed_off", 409),
    /// Feedback (`yes` / `no`) sent before the bot answered anything in the session.
    NothingToRate = ("nothing_to_rate", 409),
    /// The survey was rated before with another score; the first rating stands.
    SurveyAlreadyRated = ("survey_already_rated", 409),
    /// A survey link whose time ran out.
    SurveyLinkExpired = ("survey_link_expired", 410),
    /// The survey is no longer the ticket's: a newer one replaced it.
    SurveyClosed = ("survey_closed", 410),
    /// The body is larger than the server takes.
    BodyTooLarge = ("body_too_large", 413),
    /// The body is not sent as JSON.
    UnsupportedMediaType = ("unsupported_media_type", 415),
    /// The event is JSON but not a valid event.
    InvalidEvent = ("invalid_event", 422),
    /// A helpdesk's webhook body is JSON but not the shape its adapter reads.
    InvalidPayload = ("invalid_payload", 422),
    /// A request body (chat, agents) is JSON but a field is missing or wrong.
    InvalidRequest = ("invalid_request", 422),
    /// An agent status body is wrong.
    InvalidStatus = ("invalid_status", 422),
    /// A report's parameters are wrong: an unknown `group_by` or `interval`, a malformed
    /// time, `from` not before `to`, a range over 400 days.
    InvalidReport = ("invalid_report", 422),
    /// The new rules have errors; the previous rules stay active.
    InvalidRules = ("invalid_rules", 422),
    /// The caller sent more requests than its limit lets through; `Retry-After` says when
    /// the next one will be taken.
    RateLimited = ("rate_limited", 429),
    /// Something failed that should not have; the log says more.
    Internal = ("internal", 500),
    /// Deciding the event failed; nothing of it was written.
    DecideFailed = ("decide_failed", 500),
    /// A helpdesk API frontdesk reads from (Chatwoot's agent list, for agents' presence) is
    /// not configured, not reachable, or answered with an error or not in its documented shape.
    HelpdeskUnavailable = ("helpdesk_unavailable", 502),
    /// The store is not reachable or failed; nothing was acknowledged.
    StoreUnavailable = ("store_unavailable", 503),
    /// The store does not answer (`/readyz`).
    NotReady = ("not_ready", 503),
    /// The request took longer than the server allows.
    Timeout = ("timeout", 503),
    /// The server is shedding load.
    Overloaded = ("overloaded", 503),
}

impl Code {
    /// Where the code is explained: its section of `docs/errors.md`.
    pub fn doc_anchor(self) -> String {
        format!("docs/errors.md#{}", self.name())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failure of a service call: what went wrong ([`Code`]), for a person (`message`), and the
/// field of the request to blame, when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// Machine-readable code.
    pub code: Code,
    /// What was wrong, for a person.
    pub message: String,
    /// The offending field's path, when there is one.
    pub field: Option<String>,
    /// Further lines (the diagnostics of rules that did not load).
    pub details: Vec<String>,
}

impl Error {
    /// A new error.
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            field: None,
            details: Vec::new(),
        }
    }

    /// The same error naming a field.
    pub fn field(mut self, field: impl Into<String>) -> Error {
        self.field = Some(field.into());
        self
    }

    /// `not_found`.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(Code::NotFound, message)
    }

    /// `invalid_request` about `field`.
    pub fn invalid_request(message: impl Into<String>, field: &str) -> Error {
        Error::new(Code::InvalidRequest, message).field(field)
    }

    /// `invalid_event`, naming the field from a `path: message` text.
    pub fn invalid_event(message: &str) -> Error {
        let field = message
            .split_once(": ")
            .map(|(p, _)| p.to_string())
            .filter(|p| !p.contains(' '));
        Error {
            field,
            ..Error::new(Code::InvalidEvent, message)
        }
    }

    /// `internal`.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Code::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => Error::new(Code::EventIdReused, e.to_string()).field("id"),
            StoreError::Stale(_) => Error::new(Code::Stale, e.to_string()),
            StoreError::Decide(_) => {
                tracing::error!(error = %e, "decide failed");
                Error::new(Code::DecideFailed, e.to_string())
            }
            StoreError::Unavailable(_) | StoreError::Corrupt(_) | StoreError::Config(_) => {
                tracing::error!(error = %e, "store failed");
                Error::new(Code::StoreUnavailable, e.to_string())
            }
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let docs = include_str!("../../docs/errors.md");
        let mut names = std::collections::BTreeSet::new();
        for code in Code::ALL {
            assert!(names.insert(code.name()), "{code} twice");
            assert!((400..600).contains(&code.status()), "{code}");
            let heading = format!("### `{}`", code.name());
            assert!(docs.contains(&heading), "docs/errors.md has no `{heading}`");
        }
    }

    #[test]
    fn store_errors_keep_their_codes() {
        let cases = [
            (
                StoreError::Conflict("e".into()),
                Code::EventIdReused,
                Some("id"),
            ),
            (StoreError::Stale("s".into()), Code::Stale, None),
            (StoreError::Decide("d".into()), Code::DecideFailed, None),
            (
                StoreError::Unavailable("u".into()),
                Code::StoreUnavailable,
                None,
            ),
        ];
        for (e, code, field) in cases {
            let e = Error::from(e);
            assert_eq!((e.code, e.field.as_deref()), (code, field));
        }
    }
}
