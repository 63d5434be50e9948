//! Helpdesk call-backs: actions applied through the helpdesk's own API instead of by the
//! helpdesk reading the answer. Which requests an action becomes is planned in the core
//! ([`crate::outbound::helpdesk::plan`], pure); [`deliver`] sends them one after another,
//! carrying the delivery id (`webhook-id`) so a repeat can be recognised.

use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Attempt;
use crate::model::Action;
use crate::outbound::helpdesk::{plan, Method, Target};

/// Where a helpdesk's API is and how to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpdeskApi {
    /// Base URL (`https://chatwoot.example.com`, `https://example.zammad.com`,
    /// `https://example.zendesk.com`).
    pub url: String,
    /// Chatwoot: an access token; Zammad: an API token; Zendesk: `EMAIL/token:API_TOKEN`.
    pub token: String,
}

/// Sends the requests of one outbox row, in order; the first that fails decides the attempt
/// (the ones before it are harmless to repeat on the retry).
pub(crate) async fn deliver(
    http: &super::Http,
    apis: &HashMap<String, HelpdeskApi>,
    row_id: &str,
    ticket: &str,
    target: &Value,
    action: &Action,
    now: DateTime<Utc>,
) -> Attempt {
    let Some(t) = Target::from_json(target) else {
        return Attempt::Fail {
            error: format!("unreadable helpdesk target {target}"),
        };
    };
    let Some(api) = apis.get(&t.helpdesk) else {
        let upper = t.helpdesk.to_uppercase();
        return Attempt::Fail {
            error: format!(
                "no {} API configured (FRONTDESK_{upper}_API_URL, FRONTDESK_{upper}_API_TOKEN)",
                t.helpdesk
            ),
        };
    };
    let calls = plan(&t, ticket, action, row_id);
    if calls.is_empty() {
        return Attempt::Fail {
            error: format!("`{}` has no meaning in {}", action.kind(), t.helpdesk),
        };
    }
    for c in calls {
        let url = format!("{}{}", api.url.trim_end_matches('/'), c.path);
        let req = http
            .client
            .request(method(c.method), &url)
            .header("content-type", "application/json")
            .header("webhook-id", row_id)
            .body(c.body.to_string());
        let req = match t.helpdesk.as_str() {
            "chatwoot" => req.header("api_access_token", &api.token),
            "zammad" => req.header("authorization", format!("Token token={}", api.token)),
            _ => req.header(
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(&api.token)
                ),
            ),
        };
        match super::webhook::send(http, req, &url, now).await {
            Attempt::Delivered => {}
            other => return other,
        }
    }
    Attempt::Delivered
}

fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
    }
}
