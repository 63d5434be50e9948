//! HTTP deliveries: generic webhooks (signed the Standard Webhooks way when a secret is set)
//! and Slack incoming webhooks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::Attempt;
use crate::adapters::signature::Verifier;
use crate::model::HttpMethod;

/// Reads `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok()
}

/// One webhook request.
pub(crate) struct Outgoing<'a> {
    /// The stable delivery id: the same on every retry.
    pub id: &'a str,
    pub url: &'a str,
    pub method: HttpMethod,
    pub body: &'a Value,
    /// Extra headers, secrets filled in.
    pub headers: &'a [(String, String)],
}

/// Sends one request.
pub(crate) async fn post(
    http: &super::Http,
    signer: Option<&Verifier>,
    out: Outgoing<'_>,
    now: DateTime<Utc>,
) -> Attempt {
    let Outgoing {
        id,
        url,
        method,
        body,
        headers,
    } = out;
    let bytes = match serde_json::to_vec(body) {
        Ok(b) => b,
        Err(e) => {
            return Attempt::Fail {
                error: format!("body: {e}"),
            }
        }
    };
    let method = match method {
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
    };
    let mut req = http
        .client
        .request(method, url)
        .header("content-type", "application/json")
        .header("webhook-id", id);
    for (name, value) in headers {
        req = req.header(name.as_str(), value.as_str());
    }
    if let Some(signer) = signer {
        let ts = now.timestamp();
        if let Some(sig) = signer.sign(id, ts, &bytes) {
            req = req
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig);
        }
    }
    send(http, req.body(bytes), url, now).await
}

/// Sends a prepared request and reads the answer as an attempt: 2xx delivered; 5xx, 408, 429
/// and network errors retried (with `Retry-After`); a call the fence refuses and any other
/// status failed for good.
pub(crate) async fn send(
    http: &super::Http,
    req: reqwest::RequestBuilder,
    url: &str,
    now: DateTime<Utc>,
) -> Attempt {
    if let Some(why) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| http.fence.refuses_url(&u))
    {
        return Attempt::Fail { error: why };
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            if status.is_success() {
                return Attempt::Delivered;
            }
            let after = retry_after(resp.headers(), now);
            let text = resp.text().await.unwrap_or_default();
            let snippet: String = text.chars().take(200).collect();
            let error = format!("{url} answered {status}: {snippet}");
            if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
                Attempt::Retry { error, after }
            } else {
                Attempt::Fail { error }
            }
        }
        Err(e) => match super::fence::fenced(&e) {
            Some(why) => Attempt::Fail {
                error: format!("{url}: {why}"),
            },
            // A request that cannot be made (a header value no HTTP allows) fails the same way
            // every time.
            None if e.is_builder() => Attempt::Fail {
                error: format!("{url}: {e}"),
            },
            None => Attempt::Retry {
                error: format!("{url}: {e}"),
                after: None,
            },
        },
    }
}
