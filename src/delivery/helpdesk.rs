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
        let req = authorize(req, &t.helpdesk, &api.token);
        match super::webhook::send(http, req, &url, now).await {
            Attempt::Delivered => {}
            other => return other,
        }
    }
    Attempt::Delivered
}

/// A request with the helpdesk's own authentication: Chatwoot's `api_access_token` header,
/// Zammad's token, Zendesk's basic authentication.
fn authorize(req: reqwest::RequestBuilder, helpdesk: &str, token: &str) -> reqwest::RequestBuilder {
    match helpdesk {
        "chatwoot" => req.header("api_access_token", token),
        "zammad" => req.header("authorization", format!("Token token={token}")),
        _ => req.header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(token)
            ),
        ),
    }
}

/// The largest answer [`get_json`] reads.
const MAX_ANSWER: usize = 8 << 20;

/// Reads `GET {api.url}{path}` of `helpdesk`'s API as JSON, through the fenced client, within
/// `timeout`. A URL the fence refuses, no answer in time, a status other than 2xx, an answer
/// over 8 MiB and a body that is not JSON are errors that say which.
pub(crate) async fn get_json(
    http: &super::Http,
    api: &HelpdeskApi,
    helpdesk: &str,
    path: &str,
    timeout: std::time::Duration,
) -> Result<Value, String> {
    let url = format!("{}{path}", api.url.trim_end_matches('/'));
    let parsed = reqwest::Url::parse(&url).map_err(|e| format!("{url}: {e}"))?;
    if let Some(why) = http.fence.refuses_url(&parsed) {
        return Err(why);
    }
    let req = http
        .client
        .get(&url)
        .header("accept", "application/json")
        .timeout(timeout);
    let failed = |e: reqwest::Error| match super::fence::fenced(&e) {
        Some(why) => format!("{url}: {why}"),
        None if e.is_timeout() => format!("{url}: no answer within {}s", timeout.as_secs()),
        None => format!("{url}: {e}"),
    };
    let mut resp = authorize(req, helpdesk, &api.token)
        .send()
        .await
        .map_err(failed)?;
    let status = resp.status();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(format!(
                "{url}: the answer is larger than {} MiB",
                MAX_ANSWER >> 20
            ));
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let snippet: String = text.chars().take(200).collect();
        return Err(format!("{url} answered {status}: {snippet}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: the answer is not JSON: {e}"))
}

fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
    }
}
