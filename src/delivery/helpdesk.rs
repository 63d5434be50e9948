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
use crate::outbound::helpdesk::{self as planned, plan, Call, Method, Target};

/// Where a helpdesk's API is and how to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpdeskApi {
    /// Base URL (`https://chatwoot.example.com`, `https://example.zammad.com`,
    /// `https://example.zendesk.com`).
    pub url: String,
    /// Chatwoot: an access token; Zammad: an API token; Zendesk: `EMAIL/token:API_TOKEN`.
    pub token: String,
}

/// A stored target and the API it names, or the attempt a row without them comes to.
fn resolve<'a>(
    apis: &'a HashMap<String, HelpdeskApi>,
    target: &Value,
) -> Result<(Target, &'a HelpdeskApi), Attempt> {
    let Some(t) = Target::from_json(target) else {
        return Err(Attempt::Fail {
            error: format!("unreadable helpdesk target {target}"),
        });
    };
    let Some(api) = apis.get(&t.helpdesk) else {
        let upper = t.helpdesk.to_uppercase();
        return Err(Attempt::Fail {
            error: format!(
                "no {} API configured (FRONTDESK_{upper}_API_URL, FRONTDESK_{upper}_API_TOKEN)",
                t.helpdesk
            ),
        });
    };
    Ok((t, api))
}

/// Sends the requests of one outbox row, in order; the first that fails decides the attempt
/// (the ones before it are harmless to repeat on the retry). A chat to open there is [`open`].
pub(crate) async fn deliver(
    http: &super::Http,
    apis: &HashMap<String, HelpdeskApi>,
    row_id: &str,
    ticket: &str,
    target: &Value,
    action: &Action,
    now: DateTime<Utc>,
) -> Attempt {
    if let Action::OpenConversation { .. } = action {
        return open(http, apis, row_id, ticket, target, action).await;
    }
    let (t, api) = match resolve(apis, target) {
        Ok(found) => found,
        Err(attempt) => return attempt,
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

/// Where chats handed to a person are opened (`--chat-helpdesk`): the helpdesk, and Chatwoot's
/// account and inbox or Zammad's group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatBridge {
    /// `chatwoot`, `zammad` or `zendesk`.
    pub helpdesk: String,
    /// Chatwoot: the account.
    pub account: Option<String>,
    /// Chatwoot: the inbox the conversations go in (an API inbox whose webhook is frontdesk's).
    pub inbox: Option<String>,
    /// Zammad: the group (default `Users`).
    pub group: Option<String>,
}

/// One request of `call` and the helpdesk's answer (status and JSON body; a body that is not
/// JSON as null); a request that got no answer is the attempt it comes to.
async fn exchange(
    http: &super::Http,
    api: &HelpdeskApi,
    helpdesk: &str,
    c: &Call,
    row_id: &str,
) -> Result<(reqwest::StatusCode, Value, String), Attempt> {
    let url = format!("{}{}", api.url.trim_end_matches('/'), c.path);
    if let Some(why) = reqwest::Url::parse(&url)
        .ok()
        .and_then(|u| http.fence.refuses_url(&u))
    {
        return Err(Attempt::Fail { error: why });
    }
    let mut req = http
        .client
        .request(method(c.method), &url)
        .header("accept", "application/json")
        .header("webhook-id", row_id);
    if !c.body.is_null() {
        req = req
            .header("content-type", "application/json")
            .body(c.body.to_string());
    }
    let resp = authorize(req, helpdesk, &api.token)
        .send()
        .await
        .map_err(|e| match super::fence::fenced(&e) {
            Some(why) => Attempt::Fail {
                error: format!("{url}: {why}"),
            },
            None => Attempt::Retry {
                error: format!("{url}: {e}"),
                after: None,
            },
        })?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| Attempt::Retry {
        error: format!("{url}: {e}"),
        after: None,
    })?;
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, json, url))
}

/// The attempt a helpdesk's refusal comes to: 5xx, 408 and 429 may pass, other answers will not.
fn refused(status: reqwest::StatusCode, body: &Value, url: &str) -> Attempt {
    let snippet: String = body.to_string().chars().take(200).collect();
    let error = format!("{url} answered {status}: {snippet}");
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Attempt::Retry { error, after: None }
    } else {
        Attempt::Fail { error }
    }
}

/// Opens a chat handed to a person (ticket `chat-<session>`) in the target's helpdesk: Chatwoot
/// a contact (found again by its identifier when opening is tried again), a conversation open
/// for people, the transcript as a private note; Zammad a ticket with the transcript as the
/// customer's article; Zendesk a ticket with the transcript as a note. The helpdesk's id of
/// what it opened is [`Attempt::Opened`].
pub(crate) async fn open(
    http: &super::Http,
    apis: &HashMap<String, HelpdeskApi>,
    row_id: &str,
    ticket: &str,
    target: &Value,
    action: &Action,
) -> Attempt {
    let (t, api) = match resolve(apis, target) {
        Ok(found) => found,
        Err(attempt) => return attempt,
    };
    let Action::OpenConversation { transcript, .. } = action else {
        return Attempt::Fail {
            error: format!("`{}` opens nothing", action.kind()),
        };
    };
    let h = t.helpdesk.as_str();
    let ask = |c: Call| async move { exchange(http, api, h, &c, row_id).await };
    let unreadable = |what: &str, body: &Value| Attempt::Fail {
        error: format!("{h} answered the {what} with {body}, which names no id"),
    };
    let opened = if h == "chatwoot" {
        let session = ticket.strip_prefix("chat-").unwrap_or(ticket);
        let (Some(contact), Some(search)) = (
            planned::chatwoot_contact(&t, session),
            planned::chatwoot_contact_search(&t, session),
        ) else {
            return Attempt::Fail {
                error: "opening a chat in Chatwoot needs its account and inbox (--chatwoot-account, --chatwoot-inbox)".into(),
            };
        };
        let (status, mut answer, url) = match ask(contact).await {
            Ok(a) => a,
            Err(attempt) => return attempt,
        };
        // Made by an earlier try whose conversation was not made: find it again.
        if status.as_u16() == 422 {
            (answer, _) = match ask(search).await {
                Ok((s, body, url)) if s.is_success() => (body, url),
                Ok((s, body, url)) => return refused(s, &body, &url),
                Err(attempt) => return attempt,
            };
        } else if !status.is_success() {
            return refused(status, &answer, &url);
        }
        let Some((contact, source)) = planned::chatwoot_contact_of(&t, &answer) else {
            return unreadable("contact", &answer);
        };
        let Some(conversation) =
            planned::chatwoot_conversation(&t, ticket, contact, source.as_deref())
        else {
            return unreadable("contact", &answer);
        };
        let id = match ask(conversation).await {
            Ok((s, body, _)) if s.is_success() => match planned::opened_id(h, &body) {
                Some(id) => id,
                None => return unreadable("conversation", &body),
            },
            Ok((s, body, url)) => return refused(s, &body, &url),
            Err(attempt) => return attempt,
        };
        // The conversation is there: a note that fails now is logged, not tried again (that
        // would open a second conversation).
        if let Some(note) = planned::chatwoot_note(&t, &id, transcript, row_id) {
            match ask(note).await {
                Ok((s, _, _)) if s.is_success() => {}
                Ok((s, body, url)) => {
                    tracing::warn!(delivery = %row_id, conversation = %id, "the transcript note was refused: {url} answered {s}: {body}")
                }
                Err(a) => {
                    tracing::warn!(delivery = %row_id, conversation = %id, "the transcript note was not sent: {a:?}")
                }
            }
        }
        id
    } else {
        let Some(c) = plan(&t, ticket, action, row_id).into_iter().next() else {
            return Attempt::Fail {
                error: format!("chats cannot be opened in {h}"),
            };
        };
        match ask(c).await {
            Ok((s, body, _)) if s.is_success() => match planned::opened_id(h, &body) {
                Some(id) => id,
                None => return unreadable("new ticket", &body),
            },
            Ok((s, body, url)) => return refused(s, &body, &url),
            Err(attempt) => return attempt,
        }
    };
    Attempt::Opened { id: opened }
}

fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
    }
}
