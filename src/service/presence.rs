//! Agents' presence read from Chatwoot: the scheduler polls the account's agent list and feeds
//! the statuses into routing.
//!
//! Which statuses a poll applies is decided purely ([`crate::routing::presence::decide`]): a
//! helpdesk status is applied when it differs from the one read last time for that agent (or
//! none was read), and remembered; one that is the same as last time leaves the agent's status
//! alone, so a status set through `PUT /v1/agents/{id}/status` after the helpdesk's last change
//! stays until the helpdesk changes again. An applied status goes the way of a status set
//! through the API ([`super::agents`]): an agent coming online is offered the queues of their
//! teams.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{agents, metrics, Code, Desk, Error};
use crate::model::Helpdesk;
use crate::routing::presence::{self as reading, Change, Ignored, StatusSource};
use crate::routing::AgentStatus;

/// How long one poll may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait after failures (unless the interval is longer).
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Where agents' presence is read and how often (`--chatwoot-account`,
/// `--presence-interval`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceSettings {
    /// The Chatwoot account whose agents are read (its number).
    pub account: String,
    /// Time between polls; after a failure twice as long each time, at most 5 minutes.
    pub interval: Duration,
}

/// Presence polling of a desk: its settings and when it last ran.
#[derive(Debug)]
pub(crate) struct Polling {
    pub settings: PresenceSettings,
    /// The URL polled (for the log).
    pub url: String,
    due: Mutex<Due>,
    /// A poll started by the scheduler is running.
    running: AtomicBool,
}

/// When the last poll ran and how many failed in a row since the last that did not.
#[derive(Debug, Default)]
struct Due {
    last: Option<DateTime<Utc>>,
    failures: u32,
}

impl Polling {
    /// Polling of `settings`, given the Chatwoot API's base URL.
    pub fn new(settings: PresenceSettings, api_url: &str) -> Polling {
        let url = format!(
            "{}/api/v1/accounts/{}/agents",
            api_url.trim_end_matches('/'),
            settings.account
        );
        Polling {
            settings,
            url,
            due: Mutex::new(Due::default()),
            running: AtomicBool::new(false),
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollReport {
    /// Agents the helpdesk listed.
    pub listed: usize,
    /// Statuses applied: changed in the helpdesk since the last poll (and not applied
    /// meanwhile by another replica).
    pub applied: Vec<Change>,
    /// Agents whose helpdesk status is the one read last time: their status stays as it is.
    pub unchanged: Vec<String>,
    /// Listed agents (or entries of the list) passed over.
    pub ignored: Vec<Ignored>,
    /// Queued tickets assigned to agents who came online.
    pub assigned: usize,
}

/// How long to wait before the next poll after `failures` failures in a row: the interval
/// after a success, then the interval doubled for each failure after the first, at most
/// 5 minutes (or the interval, if that is longer).
pub fn wait_after(interval: Duration, failures: u32) -> Duration {
    let cap = MAX_BACKOFF.max(interval);
    let doublings = failures.saturating_sub(1).min(31);
    interval.saturating_mul(1 << doublings).min(cap)
}

/// Reads the Chatwoot account's agent list once and applies the statuses that changed there
/// since the last poll; agents who came online are offered their teams' queues.
///
/// `helpdesk_unavailable` when presence is not configured, or Chatwoot is not reachable or
/// answers other than 2xx or not with an agent list: then no status changed.
/// `store_unavailable` when the store fails; statuses applied before stay, and the queue sweep
/// offers their tickets. The scheduler calls this through [`poll_if_due`]; tests call it
/// directly.
pub async fn poll(state: &Desk) -> Result<PollReport, Error> {
    let result = poll_once(state).await;
    metrics::presence_poll(result.is_ok());
    result
}

async fn poll_once(state: &Desk) -> Result<PollReport, Error> {
    let Some(polling) = &state.presence else {
        return Err(Error::new(
            Code::HelpdeskUnavailable,
            "agents' presence is not polled: it needs a Chatwoot account (--chatwoot-account) \
             and API (FRONTDESK_CHATWOOT_API_URL, FRONTDESK_CHATWOOT_API_TOKEN)",
        ));
    };
    let body = state
        .connectors
        .chatwoot_agents(&polling.settings.account, TIMEOUT)
        .await
        .map_err(|e| Error::new(Code::HelpdeskUnavailable, e))?;
    let (listed, mut ignored) = reading::read_chatwoot(&body)
        .map_err(|e| Error::new(Code::HelpdeskUnavailable, format!("{}: {e}", polling.url)))?;
    let polled: HashMap<String, AgentStatus> = state
        .store
        .agent_presence()
        .await?
        .into_iter()
        .filter_map(|r| Some((r.agent, r.polled?)))
        .collect();
    let presence = {
        let loaded = state.config.load();
        reading::decide(loaded.config.roster(), Helpdesk::Chatwoot, &polled, &listed)
    };
    ignored.extend(presence.ignored);
    for i in &ignored {
        match i {
            Ignored::Unreadable { index, why } => {
                tracing::warn!(index, "Chatwoot agent list entry passed over: {why}")
            }
            Ignored::Unmatched { id, email } => {
                tracing::debug!(chatwoot_id = %id, email = email.as_deref().unwrap_or(""), "Chatwoot agent matches no agent of the rules (helpdesk_ids.chatwoot or email)")
            }
            Ignored::Duplicate { id, agent } => {
                tracing::warn!(chatwoot_id = %id, %agent, "another Chatwoot agent already stands for this agent; passed over")
            }
            Ignored::UnknownStatus { id, agent, said } => {
                tracing::warn!(chatwoot_id = %id, %agent, "Chatwoot availability_status `{said}` is none of online, busy, offline; ignored")
            }
        }
    }
    let now = state.clock.now();
    let mut applied = Vec::new();
    for change in presence.apply {
        if state
            .store
            .apply_polled_status(&change.agent, change.status, now)
            .await?
        {
            applied.push(change);
        }
    }
    let changed: Vec<(String, AgentStatus)> = applied
        .iter()
        .map(|c| (c.agent.clone(), c.status))
        .collect();
    let assigned = agents::statuses_changed(state, &changed, StatusSource::Helpdesk).await;
    Ok(PollReport {
        listed: listed.len(),
        applied,
        unchanged: presence.unchanged,
        ignored,
        assigned,
    })
}

impl Polling {
    /// Whether the wait since the last poll ([`wait_after`]) is over at `now`.
    fn is_due(&self, now: DateTime<Utc>) -> bool {
        let due = self.due.lock().expect("presence lock");
        let wait = wait_after(self.settings.interval, due.failures);
        let wait = TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
        !due.last.is_some_and(|t| now >= t && now - t < wait)
    }
}

/// Starts [`poll_if_due`] beside the scheduler's other work when a poll is due and none is
/// running, so a Chatwoot that is slow to answer holds up no timer or delivery.
pub(crate) fn start_if_due(state: &Arc<Desk>) {
    let Some(polling) = &state.presence else {
        return;
    };
    if !polling.is_due(state.clock.now()) || polling.running.swap(true, Ordering::AcqRel) {
        return;
    }
    /// Clears the running flag however the poll ends.
    struct Done<'a>(&'a AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let state = state.clone();
    tokio::spawn(async move {
        let Some(polling) = &state.presence else {
            return;
        };
        let _done = Done(&polling.running);
        poll_if_due(&state).await;
    });
}

/// [`poll`] when presence is polled and the wait since the last poll ([`wait_after`], by the
/// desk's clock) is over; `None` when not due. A failure is logged with the wait before the
/// next try.
pub async fn poll_if_due(state: &Desk) -> Option<Result<PollReport, Error>> {
    let polling = state.presence.as_ref()?;
    let now = state.clock.now();
    if !polling.is_due(now) {
        return None;
    }
    let result = poll(state).await;
    let mut due = polling.due.lock().expect("presence lock");
    due.last = Some(now);
    due.failures = match &result {
        Ok(_) => 0,
        Err(_) => due.failures.saturating_add(1),
    };
    if let Err(e) = &result {
        let next = wait_after(polling.settings.interval, due.failures);
        tracing::warn!(error = %e, failures = due.failures, next_in_secs = next.as_secs(), "agents' presence not read from Chatwoot");
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_double_the_wait_up_to_five_minutes() {
        let s = Duration::from_secs;
        let cases = [
            (30, 0, 30),
            (30, 1, 30),
            (30, 2, 60),
            (30, 3, 120),
            (30, 4, 240),
            (30, 5, 300),
            (30, 60, 300),
            (600, 3, 600),
            (1, u32::MAX, 300),
        ];
        for (interval, failures, want) in cases {
            assert_eq!(
                wait_after(s(interval), failures),
                s(want),
                "{interval}s after {failures} failures"
            );
        }
    }
}
