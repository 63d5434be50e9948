//! Outbound delivery: the outbox worker and its connectors. Actions that need a call outside
//! (a webhook, a Slack message, an e-mail) are written to the outbox with their decision; the
//! worker claims due rows under a lease, delivers them, and records the outcome with the claim's
//! attempt number, so a stale claim cannot overwrite a newer one. Failures are retried with
//! exponential backoff and jitter (honouring `Retry-After`); a 4xx other than 408/429 is not
//! retried; after `max_attempts` a row is dead and waits for `POST /v1/outbox/{id}/redeliver`.

mod email;
pub mod fence;
pub mod helpdesk;
mod webhook;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::adapters::signature::{Scheme, Verifier};
use crate::model::{Action, NotifyChannel};
use crate::store::{DeliveryOutcome, OutboxRow};
pub use email::{SmtpConfig, SmtpTls};
pub use helpdesk::{ChatBridge, HelpdeskApi};

/// What one attempt came to, before backoff is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Delivered.
    Delivered,
    /// Failed in a way that may pass (timeouts, 5xx, 408, 429); `after` is the peer's `Retry-After`.
    Retry {
        /// Why.
        error: String,
        /// The peer asked to wait this long.
        after: Option<Duration>,
    },
    /// Failed for good (4xx, nowhere to deliver).
    Fail {
        /// Why.
        error: String,
    },
    /// A chat was opened in a helpdesk, which gave it this id; delivered once the ticket is
    /// linked to it.
    Opened {
        /// The conversation's or ticket's id in the helpdesk.
        id: String,
    },
}

/// The outbound HTTP client and the fence it keeps to.
pub(crate) struct Http {
    pub client: reqwest::Client,
    pub fence: std::sync::Arc<fence::Fence>,
}

/// Where deliveries go and how.
pub struct Connectors {
    http: Http,
    webhook_signer: Option<Verifier>,
    slack: HashMap<String, String>,
    smtp: Option<email::Smtp>,
    helpdesks: HashMap<String, HelpdeskApi>,
    outbound_secrets: HashMap<String, String>,
    chat_bridge: Option<ChatBridge>,
    /// Attempts before a row is dead.
    pub max_attempts: i64,
    /// First retry delay; doubles per attempt.
    pub base_delay: Duration,
    /// Longest retry delay.
    pub max_delay: Duration,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connectors")
            .field("signed_webhooks", &self.webhook_signer.is_some())
            .field("slack_channels", &self.slack.keys().collect::<Vec<_>>())
            .field("smtp", &self.smtp.is_some())
            .field("helpdesk_apis", &self.helpdesks.keys().collect::<Vec<_>>())
            .field(
                "outbound_secrets",
                &self.outbound_secrets.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Settings for [`Connectors::new`].
#[derive(Debug, Clone, Default)]
pub struct ConnectorConfig {
    /// Standard Webhooks secret (`whsec_…`) to sign outgoing webhooks with.
    pub webhook_secret: Option<String>,
    /// Slack incoming-webhook URL per channel name (`#support`); `*` for every other channel.
    pub slack: HashMap<String, String>,
    /// SMTP relay for `notify: {channel: email}`.
    pub smtp: Option<SmtpConfig>,
    /// Timeout of one attempt.
    pub timeout: Option<Duration>,
    /// Helpdesk APIs (`chatwoot`, `zammad`, `zendesk`) that tickets of that helpdesk get their
    /// actions through.
    pub helpdesks: HashMap<String, HelpdeskApi>,
    /// Internal networks outbound HTTP may reach (CIDR: `10.20.0.0/16`); see [`fence`].
    pub outbound_allow: Vec<String>,
    /// Secrets webhook headers name (`{ secret: CRM_TOKEN }`), by name in capitals.
    pub outbound_secrets: HashMap<String, String>,
    /// The helpdesk chats handed to a person are opened in (`--chat-helpdesk`).
    pub chat_bridge: Option<ChatBridge>,
}

/// The environment variables secrets of webhook headers are read from:
/// `FRONTDESK_OUTBOUND_SECRET_CRM_TOKEN` for `{ secret: CRM_TOKEN }`.
pub const OUTBOUND_SECRET_PREFIX: &str = "FRONTDESK_OUTBOUND_SECRET_";

/// The secrets of webhook headers in `vars` (the process environment).
pub fn outbound_secrets(
    vars: impl IntoIterator<Item = (String, String)>,
) -> HashMap<String, String> {
    vars.into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(OUTBOUND_SECRET_PREFIX)?;
            Some((name.to_ascii_uppercase(), v))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

impl Connectors {
    /// Whether tickets of `helpdesk` get their actions through its API.
    pub fn calls_back(&self, helpdesk: &str) -> bool {
        self.helpdesks.contains_key(helpdesk)
    }

    /// The helpdesk chats handed to a person are opened in, if any.
    pub fn chat_bridge(&self) -> Option<&ChatBridge> {
        self.chat_bridge.as_ref()
    }

    /// The API of `helpdesk` (`chatwoot`), when one is configured.
    pub fn helpdesk_api(&self, helpdesk: &str) -> Option<&HelpdeskApi> {
        self.helpdesks.get(helpdesk)
    }

    /// Chatwoot's agent list of `account` (`GET /api/v1/accounts/{account}/agents`) as JSON,
    /// through the same client and fence as the deliveries; the error says what failed.
    pub async fn chatwoot_agents(
        &self,
        account: &str,
        timeout: Duration,
    ) -> Result<serde_json::Value, String> {
        let Some(api) = self.helpdesks.get("chatwoot") else {
            return Err(
                "no Chatwoot API configured (FRONTDESK_CHATWOOT_API_URL, FRONTDESK_CHATWOOT_API_TOKEN)"
                    .into(),
            );
        };
        let path = format!("/api/v1/accounts/{account}/agents");
        helpdesk::get_json(&self.http, api, "chatwoot", &path, timeout).await
    }

    /// Builds the connectors; errors name the bad setting.
    pub fn new(cfg: ConnectorConfig) -> Result<Connectors, String> {
        let fence = std::sync::Arc::new(fence::Fence::new(&cfg.outbound_allow)?);
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout.unwrap_or(Duration::from_secs(10)))
            .user_agent(concat!("frontdesk/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(std::sync::Arc::new(fence::FencedResolver(fence.clone())))
            .redirect(fence::redirects(fence.clone()))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let http = Http { client, fence };
        let webhook_signer = match cfg.webhook_secret.filter(|s| !s.trim().is_empty()) {
            Some(secret) => Some(
                Verifier::new(Scheme::StandardWebhooks, &[secret])
                    .map_err(|e| format!("webhook signing secret: {e}"))?,
            ),
            None => None,
        };
        let smtp = cfg.smtp.map(email::Smtp::new).transpose()?;
        if let Some(b) = &cfg.chat_bridge {
            let upper = b.helpdesk.to_uppercase();
            if !cfg.helpdesks.contains_key(&b.helpdesk) {
                return Err(format!(
                    "--chat-helpdesk {}: its API is not configured (FRONTDESK_{upper}_API_URL, FRONTDESK_{upper}_API_TOKEN)",
                    b.helpdesk
                ));
            }
            let number =
                |v: &Option<String>| v.as_deref().is_some_and(|n| n.parse::<u64>().is_ok());
            if b.helpdesk == "chatwoot" && !(number(&b.account) && number(&b.inbox)) {
                return Err("--chat-helpdesk chatwoot needs the account and the inbox chats go in, as numbers (--chatwoot-account, --chatwoot-inbox)".into());
            }
        }
        Ok(Connectors {
            http,
            webhook_signer,
            slack: cfg.slack,
            smtp,
            helpdesks: cfg.helpdesks,
            outbound_secrets: cfg.outbound_secrets,
            chat_bridge: cfg.chat_bridge,
            max_attempts: 10,
            base_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
        })
    }

    /// A webhook's headers with their secrets filled in from the environment; the error names
    /// the variable of a secret that is not set.
    fn headers(
        &self,
        headers: &std::collections::BTreeMap<String, crate::model::HeaderValue>,
    ) -> Result<Vec<(String, String)>, String> {
        headers
            .iter()
            .map(|(name, value)| match value {
                crate::model::HeaderValue::Text(t) => Ok((name.clone(), t.clone())),
                crate::model::HeaderValue::Secret { secret } => self
                    .outbound_secrets
                    .get(secret)
                    .map(|v| (name.clone(), v.clone()))
                    .ok_or_else(|| {
                        format!(
                            "header `{name}` needs the secret {secret}: set \
                             {OUTBOUND_SECRET_PREFIX}{secret} where the daemon runs"
                        )
                    }),
            })
            .collect()
    }

    /// Delivers one outbox row once.
    pub async fn attempt(&self, row: &OutboxRow, now: DateTime<Utc>) -> Attempt {
        if let Some(target) = &row.target {
            return helpdesk::deliver(
                &self.http,
                &self.helpdesks,
                &row.id,
                &row.ticket_id,
                target,
                &row.action,
                now,
            )
            .await;
        }
        match &row.action {
            Action::Webhook {
                url,
                method,
                body,
                headers,
            } => {
                let headers = match self.headers(headers) {
                    Ok(h) => h,
                    Err(error) => return Attempt::Fail { error },
                };
                let out = webhook::Outgoing {
                    id: &row.id,
                    url,
                    method: *method,
                    body,
                    headers: &headers,
                };
                webhook::post(&self.http, self.webhook_signer.as_ref(), out, now).await
            }
            Action::Notify {
                channel: NotifyChannel::Slack,
                to,
                text,
                ..
            } => {
                let Some(url) = self.slack.get(to).or_else(|| self.slack.get("*")) else {
                    return Attempt::Fail {
                        error: format!(
                            "no Slack webhook configured for `{to}` (FRONTDESK_SLACK_WEBHOOKS)"
                        ),
                    };
                };
                let body = serde_json::json!({ "text": text });
                let out = webhook::Outgoing {
                    id: &row.id,
                    url,
                    method: crate::model::HttpMethod::Post,
                    body: &body,
                    headers: &[],
                };
                webhook::post(&self.http, None, out, now).await
            }
            Action::Notify {
                channel: NotifyChannel::Email,
                to,
                text,
                subject,
            } => match &self.smtp {
                Some(smtp) => {
                    let subject = subject
                        .clone()
                        .unwrap_or_else(|| format!("[frontdesk] ticket {}", row.ticket_id));
                    smtp.send(&row.id, &subject, to, text).await
                }
                None => Attempt::Fail {
                    error: "no SMTP relay configured (FRONTDESK_SMTP_URL)".into(),
                },
            },
            Action::Notify { channel, .. } => Attempt::Fail {
                error: format!("no connector for `{channel}` notifications"),
            },
            other => Attempt::Fail {
                error: format!("`{}` actions are not delivered by frontdesk", other.kind()),
            },
        }
    }

    /// The outcome to record for an attempt: retries back off exponentially with jitter.
    pub fn outcome(
        &self,
        row: &OutboxRow,
        attempt: Attempt,
        now: DateTime<Utc>,
    ) -> DeliveryOutcome {
        match attempt {
            Attempt::Delivered | Attempt::Opened { .. } => DeliveryOutcome::Delivered,
            Attempt::Fail { error } => DeliveryOutcome::Dead { error },
            Attempt::Retry { error, .. } if row.attempts >= self.max_attempts => {
                DeliveryOutcome::Dead {
                    error: format!("{error} (gave up after {} attempts)", row.attempts),
                }
            }
            Attempt::Retry { error, after } => {
                let delay = backoff(self.base_delay, self.max_delay, &row.id, row.attempts)
                    .max(after.unwrap_or_default());
                DeliveryOutcome::Retry {
                    at: now + TimeDelta::from_std(delay).unwrap_or(TimeDelta::hours(1)),
                    error,
                }
            }
        }
    }
}

/// `base · 2^(attempt-1)`, capped, with ±20 % jitter that is a pure function of the row and the
/// attempt (so replicas and tests agree, and retries of many rows still spread out).
pub fn backoff(base: Duration, max: Duration, id: &str, attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 30) as u32 - 1;
    let raw = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.bytes().chain(attempt.to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    let jitter = (h % 401) as f64 / 1000.0 - 0.2; // -0.2 ..= +0.2
    raw.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_a_fifth() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(3600);
        for attempt in 1..=12 {
            let d = backoff(base, max, "row", attempt).as_secs_f64();
            let raw = (5.0 * 2f64.powi(attempt as i32 - 1)).min(3600.0);
            assert!(
                d >= raw * 0.8 - 1e-9 && d <= raw * 1.2 + 1e-9,
                "attempt {attempt}: {d} vs {raw}"
            );
        }
        assert_eq!(
            backoff(base, max, "a", 3),
            backoff(base, max, "a", 3),
            "deterministic"
        );
        assert_ne!(
            backoff(base, max, "a", 3),
            backoff(base, max, "b", 3),
            "spread over rows"
        );
    }
}
