//! The single writer of the SQLite store: it takes every event waiting, decides and writes them
//! one after another in one transaction, and commits once (one fsync for the batch). Events of
//! a ticket are decided in arrival order, each against the state the previous one left.
//!
//! The batch runs as plain synchronous SQLite calls on the writer connection's handle, locked
//! out of sqlx's worker thread for the batch (`SqliteConnection::lock_handle`, the driver's own
//! way to call SQLite directly). Through the worker every statement costs two thread hand-offs
//! (tens of microseconds on a busy machine, most of a decision's write); here it costs the
//! statement, and the prepared statements are reused across the batch.

use std::ptr::NonNull;

use chrono::{DateTime, Utc};
use rusqlite::ffi::sqlite3;
use rusqlite::{params, Connection, OptionalExtension};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{ticket_from, ts};
use crate::engine::Decision;
use crate::model::{Action, Event, EventType, Named};
use crate::routing::RoutingState;
use crate::store::{
    is_open, load_slot, routing_state, stale_timer_decision, without_slot, Applied, RoutedDecideFn,
    StoreError,
};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// One event waiting for the writer.
pub(super) struct Job {
    pub event: Event,
    pub fingerprint: String,
    pub received_at: DateTime<Utc>,
    /// The agents to read the routing state of, when the decision may assign.
    pub routed: Option<Vec<String>>,
    pub decide: RoutedDecideFn,
    pub reply: oneshot::Sender<Result<Applied, StoreError>>,
}

/// Most events committed in one transaction.
const MAX_BATCH: usize = 256;

/// Runs until every sender of `jobs` is gone.
pub(super) async fn writer_loop(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                fail_all(batch, &e.to_string());
                continue;
            }
        };
        let mut handle = match conn.lock_handle().await {
            Ok(h) => h,
            Err(e) => {
                fail_all(batch, &e.to_string());
                continue;
            }
        };
        let db = handle.as_raw_handle();
        let size = blocking(|| write_batch(db, batch));
        drop(handle);
        ::metrics::histogram!("frontdesk_store_batch_size").record(size as f64);
    }
}

fn fail_all(batch: Vec<Job>, why: &str) {
    for job in batch {
        let _ = job
            .reply
            .send(Err(StoreError::Unavailable(why.to_string())));
    }
}

/// Runs `f`, which blocks for the length of a batch, without holding up the runtime's other
/// tasks where the runtime can move them (on a current-thread runtime it just runs).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Decides and writes `batch` in one transaction on the locked handle `db`, then answers each
/// job; returns how many were written.
fn write_batch(db: NonNull<sqlite3>, batch: Vec<Job>) -> usize {
    // SAFETY: the caller holds the connection's lock for as long as this runs, so no other
    // thread uses the handle; `from_handle` does not close it, and dropping `conn` at the end
    // finalizes the statements prepared here before the lock is given back.
    let conn = match unsafe { Connection::from_handle(db.as_ptr()) } {
        Ok(c) => c,
        Err(e) => {
            fail_all(batch, &e.to_string());
            return 0;
        }
    };
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        fail_all(batch, &e.to_string());
        return 0;
    }
    let mut done = Vec::with_capacity(batch.len());
    let mut failed: Option<String> = None;
    for job in batch {
        if let Some(why) = &failed {
            let _ = job.reply.send(Err(StoreError::Unavailable(why.clone())));
            continue;
        }
        match apply_one(
            &conn,
            &job.event,
            &job.fingerprint,
            job.received_at,
            job.routed.as_deref(),
            job.decide,
        ) {
            Ok(applied) => done.push((job.reply, Ok(applied))),
            // Both fail before this event wrote anything: the rest of the batch goes on.
            Err(e @ (StoreError::Conflict(_) | StoreError::Decide(_))) => {
                done.push((job.reply, Err(e)))
            }
            Err(e) => {
                failed = Some(e.to_string());
                let _ = job.reply.send(Err(e));
            }
        }
    }
    let outcome = match failed {
        Some(why) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(why)
        }
        None => conn.execute_batch("COMMIT").map_err(|e| {
            // A failed COMMIT may leave the transaction open; end it so the next batch can begin.
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        }),
    };
    drop(conn);
    let size = done.len();
    for (reply, result) in done {
        let _ = reply.send(match &outcome {
            Ok(()) => result,
            Err(why) => Err(StoreError::Unavailable(why.clone())),
        });
    }
    size
}

/// Decides and writes one event inside the batch's transaction.
fn apply_one(
    tx: &Connection,
    event: &Event,
    fingerprint: &str,
    received_at: DateTime<Utc>,
    routed: Option<&[String]>,
    decide: RoutedDecideFn,
) -> Result<Applied, StoreError> {
    let seen: Option<(String, String)> = tx
        .prepare_cached("SELECT fingerprint, decision FROM events WHERE id = ?")?
        .query_row([&event.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((stored, decision)) = seen {
        if stored != fingerprint {
            return Err(StoreError::Conflict(event.id.clone()));
        }
        return Ok(Applied {
            decision: serde_json::from_str(&decision)?,
            replayed: true,
        });
    }
    let ticket_id = &event.ticket.id;
    let prior = tx
        .prepare_cached("SELECT state FROM tickets WHERE id = ?")?
        .query_row([ticket_id], |r| r.get::<_, String>(0))
        .optional()?
        .map(|s| ticket_from(&s))
        .transpose()?;

    // The load slot the ticket holds now, to leave out of the state the engine sees and to
    // move if the decision moves it.
    let slot_before = prior.as_ref().and_then(load_slot);
    let met_before = crate::measured::first_response_met(prior.as_ref());
    // A timer fires only while it is pending.
    let firing = match (&event.kind, &event.timer) {
        (EventType::TimerFired, Some(t)) => {
            let state: Option<String> = tx
                .prepare_cached("SELECT state FROM timers WHERE id = ?")?
                .query_row([&t.id], |r| r.get(0))
                .optional()?;
            Some((t.id.clone(), state))
        }
        _ => None,
    };
    let decision: Decision = match &firing {
        Some((_, Some(state))) if state != "pending" => stale_timer_decision(
            event,
            prior.clone().unwrap_or_else(|| event.ticket.clone()),
            state,
        ),
        _ => {
            let state = if let Some(agents) = routed {
                without_slot(read_routing(tx, agents)?, slot_before.as_ref())
            } else {
                RoutingState::default()
            };
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide(prior, state)))
                .map_err(|_| {
                    StoreError::Decide(format!("deciding event `{}` panicked", event.id))
                })?
        }
    };
    let now = ts(received_at);

    let t = &decision.ticket;
    tx.prepare_cached(
        "INSERT INTO tickets (id, state, version, updated_at, assignee, channel, is_open) VALUES (?, ?, 1, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, version = tickets.version + 1, updated_at = excluded.updated_at,
             assignee = excluded.assignee, channel = excluded.channel, is_open = excluded.is_open",
    )?
    .execute(params![
        ticket_id,
        serde_json::to_string(t)?,
        now,
        t.assignee,
        t.channel.name(),
        is_open(t)
    ])?;
    if let Some(m) = crate::measured::sample(met_before, t) {
        tx.prepare_cached(
            "INSERT INTO response_samples (event_id, ticket_id, queue, priority, achieved_at, secs)
             VALUES (?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![
            event.id,
            ticket_id,
            m.queue,
            m.priority.name(),
            ts(m.at),
            m.secs
        ])?;
    }
    for (team, agent) in &decision.routing.cursors {
        tx.prepare_cached(
            "INSERT INTO routing_cursors (team, last_agent, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (team) DO UPDATE SET last_agent = excluded.last_agent, updated_at = excluded.updated_at",
        )?
        .execute(params![team, agent, now])?;
    }
    let slot_after = load_slot(t);
    if slot_after != slot_before {
        // Two rows at most, in key order (the same order as the PostgreSQL store).
        let mut moves: Vec<(&(String, &str), i64)> = Vec::with_capacity(2);
        moves.extend(slot_before.as_ref().map(|s| (s, -1)));
        moves.extend(slot_after.as_ref().map(|s| (s, 1)));
        moves.sort_by(|a, b| a.0.cmp(b.0));
        for ((agent, channel), delta) in moves {
            tx.prepare_cached(
                "INSERT INTO agent_load (agent_id, channel, open) VALUES (?, ?, ?)
                 ON CONFLICT (agent_id, channel) DO UPDATE SET open = agent_load.open + excluded.open",
            )?
            .execute(params![agent, channel, delta])?;
        }
    }
    let waiting = is_open(t) && t.assignee.is_none();
    if let Some(q) = decision
        .routing
        .queued
        .as_ref()
        .filter(|q| waiting && t.group.as_deref() == Some(&q.team))
    {
        tx.prepare_cached(
            "INSERT INTO queue (ticket_id, team, rule, action, queued_at, channel, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT COALESCE(MAX(seq), 0) + 1 FROM queue))
             ON CONFLICT (ticket_id) DO UPDATE SET rule = excluded.rule, action = excluded.action,
                 channel = excluded.channel,
                 queued_at = CASE WHEN queue.team = excluded.team THEN queue.queued_at ELSE excluded.queued_at END,
                 seq = CASE WHEN queue.team = excluded.team THEN queue.seq ELSE excluded.seq END,
                 team = excluded.team",
        )?
        .execute(params![ticket_id, q.team, q.rule, q.action, now, t.channel.name()])?;
    }
    // A ticket stays queued only while it is open, unassigned and in that team's group.
    tx.prepare_cached("DELETE FROM queue WHERE ticket_id = ?1 AND NOT (?2 AND team = ?3)")?
        .execute(params![
            ticket_id,
            waiting,
            t.group.as_deref().unwrap_or("")
        ])?;

    tx.prepare_cached(
        "INSERT INTO events (id, ticket_id, type, fingerprint, received_at, event, decision) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        event.id,
        ticket_id,
        event.kind.to_string(),
        fingerprint,
        now,
        serde_json::to_string(event)?,
        serde_json::to_string(&decision)?
    ])?;

    if !decision.trace.fired.is_empty() {
        let actions_json = serde_json::to_string(&decision.actions)?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO decisions (event_id, ticket_id, rule, at, actions) VALUES (?, ?, ?, ?, ?)",
        )?;
        for rule in &decision.trace.fired {
            insert.execute(params![event.id, ticket_id, rule, now, actions_json])?;
        }
    }

    // Timers: the firing one is done; events cancel the pending timers that listen for them;
    // cancel_timers actions cancel by name; new timers replace pending ones of the same name.
    if let Some((id, _)) = &firing {
        tx.prepare_cached(
            "UPDATE timers SET state = 'fired', finished_at = ? WHERE id = ? AND state = 'pending'",
        )?
        .execute(params![now, id])?;
    }
    let kind = serde_json::to_value(event.kind)?;
    let listening: Vec<String> = {
        let mut pending = tx.prepare_cached(
            "SELECT id, cancel_on FROM timers WHERE ticket_id = ? AND state = 'pending'",
        )?;
        let rows = pending.query_map([ticket_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut ids = Vec::new();
        for row in rows {
            let (id, cancel_on) = row?;
            let cancel_on: serde_json::Value = serde_json::from_str(&cancel_on)?;
            if cancel_on.as_array().is_some_and(|a| a.contains(&kind)) {
                ids.push(id);
            }
        }
        ids
    };
    for id in listening {
        tx.prepare_cached("UPDATE timers SET state = 'cancelled', finished_at = ? WHERE id = ?")?
            .execute(params![now, id])?;
    }
    const CANCEL_BY_NAME: &str = "UPDATE timers SET state = 'cancelled', finished_at = ? WHERE ticket_id = ? AND name = ? AND state = 'pending'";
    for action in &decision.actions {
        if let Action::CancelTimers { names } = action {
            match names {
                // `all` is the rules' timers; SLA clocks keep theirs.
                None => {
                    tx.prepare_cached("UPDATE timers SET state = 'cancelled', finished_at = ? WHERE ticket_id = ? AND state = 'pending' AND name NOT LIKE 'sla:%'")?
                        .execute(params![now, ticket_id])?;
                }
                Some(names) => {
                    for name in names {
                        tx.prepare_cached(CANCEL_BY_NAME)?
                            .execute(params![now, ticket_id, name])?;
                    }
                }
            }
        }
    }
    for name in &decision.cancelled_timers {
        tx.prepare_cached(CANCEL_BY_NAME)?
            .execute(params![now, ticket_id, name])?;
    }
    for timer in &decision.timers {
        tx.prepare_cached(CANCEL_BY_NAME)?
            .execute(params![now, ticket_id, timer.name])?;
        tx.prepare_cached(
            "INSERT INTO timers (id, ticket_id, name, rule, due_at, cancel_on, state, created_by) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
        )?
        .execute(params![
            format!("{}/{}", event.id, timer.name),
            ticket_id,
            timer.name,
            timer.rule,
            ts(timer.due_at),
            serde_json::to_string(&timer.cancel_on)?,
            event.id
        ])?;
    }
    for (i, target) in crate::outbound::outbound(&decision) {
        tx.prepare_cached(
            "INSERT INTO outbox (id, event_id, ticket_id, action, target, state, next_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
        )?
        .execute(params![
            format!("{}/{i}", event.id),
            event.id,
            ticket_id,
            serde_json::to_string(&decision.actions[i])?,
            target.map(|t| t.to_string()),
            now
        ])?;
    }
    Ok(Applied {
        decision,
        replayed: false,
    })
}

/// Statuses, loads and cursors of `agents`, read inside the batch's transaction.
fn read_routing(tx: &Connection, agents: &[String]) -> Result<RoutingState, StoreError> {
    let agents = serde_json::to_string(agents)?;
    let loads = tx
        .prepare_cached(
            "SELECT agent_id, channel, open FROM agent_load WHERE open > 0
             AND agent_id IN (SELECT value FROM json_each(?1))",
        )?
        .query_map([&agents], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<(String, String, i64)>, _>>()?;
    let statuses = tx
        .prepare_cached(
            "SELECT agent_id, status FROM agent_status WHERE agent_id IN (SELECT value FROM json_each(?1))",
        )?
        .query_map([&agents], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    let cursors = tx
        .prepare_cached("SELECT team, last_agent FROM routing_cursors")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    Ok(routing_state(loads, statuses, cursors))
}
