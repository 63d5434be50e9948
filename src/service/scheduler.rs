//! Fires due timers as `timer.fired` events through the same path as every other event. A
//! timer is claimed under a lease; its event id is `timer:<timer id>`, so firing twice (after a
//! crash between claim and commit) decides once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use tokio::sync::watch;

use super::{Desk, Error};
use crate::model::{Event, EventType, Ticket, TimerRef};
use crate::schedule::{status_names, CronSchedule, Missed, LATE};
use crate::store::{DeliveryOutcome, DueTimer, OutboxRow};

/// Timers claimed per round.
const BATCH: u32 = 512;
/// Longest sleep between rounds (new timers may arrive meanwhile).
const IDLE: Duration = Duration::from_secs(1);

/// Fires every timer due now; returns how many fired.
pub async fn fire_due(state: &Desk) -> usize {
    let mut fired = 0;
    let lease = TimeDelta::from_std(state.timer_lease).unwrap_or(TimeDelta::seconds(60));
    loop {
        let now = state.clock.now();
        let due = match state
            .store
            .claim_due_timers(now, &state.instance, now + lease, BATCH)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim due timers");
                return fired;
            }
        };
        if due.is_empty() {
            return fired;
        }
        // Tickets fire side by side (so the store can commit them together); the timers of
        // one ticket fire one after another, in the order they were due.
        let mut by_ticket: Vec<Vec<DueTimer>> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        for t in due {
            let i = *index.entry(t.row.ticket_id.clone()).or_insert_with(|| {
                by_ticket.push(Vec::new());
                by_ticket.len() - 1
            });
            by_ticket[i].push(t);
        }
        let until = now + lease;
        let each = by_ticket
            .iter()
            .map(|timers| fire_in_order(state, timers, until));
        fired += futures_util::future::join_all(each)
            .await
            .into_iter()
            .sum::<usize>();
    }
}

/// Fires one ticket's due timers in order; returns how many fired. A claim whose lease ran
/// out before its turn (the process was paused) is left alone: another replica may have it,
/// and firing it would only be answered from the store.
async fn fire_in_order(state: &Desk, timers: &[DueTimer], lease_until: DateTime<Utc>) -> usize {
    let mut fired = 0;
    for t in timers {
        if state.clock.now() >= lease_until {
            ::metrics::counter!("frontdesk_timer_claims_expired_total").increment(1);
            tracing::warn!(timer = %t.row.id, "claim expired before the timer fired; left to whoever holds it now");
            continue;
        }
        let (event, patch) = timer_event(t);
        match state.process(event, Some(patch), false).await {
            Ok(_) => fired += 1,
            Err(e) => {
                tracing::warn!(timer = %t.row.id, error = %e, "timer not fired; it will be retried after its lease")
            }
        }
    }
    fired
}

/// Delivers every outbox row due now (a few at a time); returns how many were attempted.
///
/// Each row's outcome is recorded as soon as its own attempt ends, not after the whole batch,
/// so a replica that dies leaves as few sent-but-unrecorded rows (which another replica sends
/// again, with the same `webhook-id`) as it can. A row whose lease ran out before its turn (the
/// process was paused) is not sent: another replica may have it by now.
pub async fn deliver_due(state: &Desk) -> usize {
    let mut attempted = 0;
    let lease = TimeDelta::from_std(state.timer_lease).unwrap_or(TimeDelta::seconds(60));
    loop {
        let now = state.clock.now();
        let until = now + lease;
        let rows = match state
            .store
            .claim_deliveries(now, &state.instance, until, 32)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim deliveries");
                return attempted;
            }
        };
        if rows.is_empty() {
            return attempted;
        }
        let each = rows.iter().map(|row| deliver_one(state, row, until));
        attempted += futures_util::future::join_all(each)
            .await
            .into_iter()
            .filter(|sent| *sent)
            .count();
    }
}

/// Attempts one claimed row and records the outcome under the claim's fencing token (its
/// attempt number); false when the lease had run out and nothing was sent.
async fn deliver_one(state: &Desk, row: &OutboxRow, lease_until: DateTime<Utc>) -> bool {
    if state.clock.now() >= lease_until {
        tracing::warn!(delivery = %row.id, "claim expired before delivery; left to whoever holds it now");
        return false;
    }
    let mut attempt = state.connectors.attempt(row, state.clock.now()).await;
    // A chat opened in a helpdesk: its ticket learns the id there before the row is done.
    if let crate::delivery::Attempt::Opened { id } = &attempt {
        attempt = match super::chat::opened(state, row, id).await {
            Ok(()) => crate::delivery::Attempt::Delivered,
            Err(e) => crate::delivery::Attempt::Retry {
                error: format!("opened as {id}, but the ticket could not be linked to it: {e}"),
                after: None,
            },
        };
    }
    let outcome = state.connectors.outcome(row, attempt, state.clock.now());
    let label = match &outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::Retry { .. } => "retry",
        DeliveryOutcome::Dead { .. } => "dead",
    };
    ::metrics::counter!("frontdesk_deliveries_total", "kind" => row.action.kind(), "outcome" => label).increment(1);
    match &outcome {
        DeliveryOutcome::Delivered => {
            tracing::info!(delivery = %row.id, kind = row.action.kind(), "delivered")
        }
        DeliveryOutcome::Retry { at, error } => {
            tracing::warn!(delivery = %row.id, attempt = row.attempts, next = %at, "{error}")
        }
        DeliveryOutcome::Dead { error } => {
            tracing::error!(delivery = %row.id, attempt = row.attempts, "dead letter: {error}")
        }
    }
    match state
        .store
        .finish_delivery(&row.id, row.attempts, &outcome, state.clock.now())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(delivery = %row.id, "outcome not recorded: the row was claimed again meanwhile")
        }
        Err(e) => {
            tracing::warn!(delivery = %row.id, error = %e, "outcome not recorded; the row will be retried after its lease")
        }
    }
    true
}

/// The `timer.fired` event of a claimed timer, and the ticket patch to decide it with
/// ([`crate::plan::timer_fired`]).
fn timer_event(t: &DueTimer) -> (Event, serde_json::Value) {
    let timer = TimerRef {
        id: t.row.id.clone(),
        name: t.row.name.clone(),
        due_at: t.row.due_at,
    };
    crate::plan::timer_fired(&t.row.ticket_id, timer)
}

/// Occurrences of one cron schedule walked at most in one round.
const WALK: usize = 100_000;
/// Tickets fetched per page of a `for_each`.
const PAGE: u32 = 500;
/// Tickets of an occurrence decided at the same time.
const SIDE_BY_SIDE: usize = 64;

/// Runs every cron schedule occurrence due now; returns how many occurrences ran.
pub async fn run_schedules(state: &Desk) -> usize {
    let loaded = state.config.load_full();
    let lease = TimeDelta::from_std(state.timer_lease).unwrap_or(TimeDelta::seconds(60));
    let mut ran = 0;
    for s in loaded.config.schedules().iter().filter(|s| s.enabled) {
        match run_schedule(state, s, lease).await {
            Ok(n) => ran += n,
            Err(e) => {
                tracing::warn!(schedule = %s.name, error = %e, "schedule not run; it is tried again")
            }
        }
    }
    ran
}

async fn run_schedule(state: &Desk, s: &CronSchedule, lease: TimeDelta) -> Result<usize, Error> {
    let store = &state.store;
    let now = state.clock.now();
    let from = match store.last_schedule_run(&s.name).await? {
        None => {
            // A new schedule counts from now: occurrences before it was loaded do not run.
            store
                .record_schedule_run(&s.name, now, "baseline", now)
                .await?;
            return Ok(0);
        }
        Some((at, st)) if st == "running" => {
            // Unfinished (its runner died, or this process restarted): finish it, once.
            if store
                .claim_schedule_run(&s.name, at, &state.instance, now + lease, now)
                .await?
            {
                tracing::info!(schedule = %s.name, fire_at = %at, "finishing an interrupted run");
                run_occurrence(state, s, at).await?;
                return Ok(1);
            }
            return Ok(0);
        }
        Some((at, _)) => at,
    };
    let Some((latest, count)) = s.latest(from, now, WALK) else {
        return Ok(0);
    };
    if now - latest > LATE && s.missed == Missed::Skip {
        tracing::info!(schedule = %s.name, missed = count, "missed occurrences skipped (`missed: skip`)");
        store
            .record_schedule_run(&s.name, latest, "skipped", now)
            .await?;
        return Ok(0);
    }
    if count > 1 {
        tracing::info!(schedule = %s.name, missed = count - 1, fire_at = %latest, "occurrences were missed; running the latest once");
    }
    if !store
        .claim_schedule_run(&s.name, latest, &state.instance, now + lease, now)
        .await?
    {
        return Ok(0);
    }
    run_occurrence(state, s, latest).await?;
    Ok(1)
}

/// Decides the occurrence for each ticket it selects (or once), then marks it done. Each
/// event id is derived from the schedule, the occurrence and the ticket, so running an
/// interrupted occurrence again decides nothing twice.
async fn run_occurrence(
    state: &Desk,
    s: &CronSchedule,
    fire_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let decide = |ticket: String| async move {
        let (event, patch) = schedule_event(&s.name, fire_at, &ticket);
        state.process(event, Some(patch), false).await.map(|_| ())
    };
    match &s.for_each {
        None => decide(format!("{}{}", crate::schedule::TICKET_PREFIX, s.name)).await?,
        Some(f) => {
            let statuses = status_names(&f.statuses);
            let idle_before = f.idle_for.map(|d| fire_at - d);
            let mut after = String::new();
            loop {
                let ids = state
                    .store
                    .schedule_tickets(&statuses, idle_before, &after, PAGE)
                    .await?;
                let Some(last) = ids.last().cloned() else {
                    break;
                };
                // Tickets are decided side by side (the store commits them together), a
                // slice at a time.
                for slice in ids.chunks(SIDE_BY_SIDE) {
                    let each = slice.iter().cloned().map(decide);
                    for r in futures_util::future::join_all(each).await {
                        r?;
                    }
                }
                after = last;
            }
        }
    }
    Ok(state
        .store
        .finish_schedule_run(&s.name, fire_at, state.clock.now())
        .await?)
}

/// The `schedule.tick` event of one occurrence for one ticket, named by id only (like a timer's).
fn schedule_event(
    name: &str,
    fire_at: chrono::DateTime<chrono::Utc>,
    ticket: &str,
) -> (Event, serde_json::Value) {
    let at = fire_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut data = serde_json::Map::new();
    data.insert("schedule".into(), json!(name));
    data.insert("fire_at".into(), json!(at));
    let event = Event {
        id: format!("schedule:{name}@{at}/{ticket}"),
        kind: EventType::ScheduleTick,
        occurred_at: Some(fire_at),
        ticket: Ticket {
            id: ticket.to_string(),
            ..Ticket::default()
        },
        message: None,
        changes: Default::default(),
        timer: None,
        data,
    };
    (event, json!({ "id": ticket }))
}

/// The scheduler loop: timers, cron schedules, deliveries, queued tickets and agents' presence.
pub async fn run(state: Arc<Desk>, mut stop: watch::Receiver<bool>) {
    loop {
        fire_due(&state).await;
        run_schedules(&state).await;
        deliver_due(&state).await;
        super::agents::sweep_queues_if_due(&state).await;
        super::presence::start_if_due(&state);
        state.refresh_measured_if_due().await;
        let wait = match state.store.next_timer_due().await {
            Ok(Some(due)) => (due - state.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(IDLE),
            _ => IDLE,
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(wait.max(Duration::from_millis(20))) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TimerRow;

    #[test]
    fn a_timer_event_names_its_ticket_by_id_only() {
        let due: chrono::DateTime<chrono::Utc> = "2026-11-25T09:00:00Z".parse().unwrap();
        let claimed = DueTimer {
            row: TimerRow {
                id: "e1/nudge".into(),
                ticket_id: "T".into(),
                name: "nudge".into(),
                rule: "r".into(),
                due_at: due,
                state: "pending".into(),
            },
        };
        let (event, patch) = timer_event(&claimed);
        assert_eq!(event.id, "timer:e1/nudge");
        assert_eq!(
            event.ticket,
            Ticket {
                id: "T".into(),
                ..Ticket::default()
            }
        );
        assert_eq!(event.occurred_at, Some(due));
        assert_eq!(patch, json!({"id": "T"}));
        // Whichever replica fires it, and whenever, the event is the same.
        assert_eq!(
            crate::store::fingerprint(&event),
            crate::store::fingerprint(&timer_event(&claimed.clone()).0)
        );
    }
}
