//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a committed
//! decision survives a power cut. Writes go through one connection, which also serialises the
//! events of a ticket; reads use a small pool of their own.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

mod writer;
use writer::{writer_loop, Job};

use super::sql::{sqlx_conn, sqlx_row, Arg, Dialect};
use super::{
    AnswerOf, Applied, AuditQuery, AuditRow, ChatStats, DeliveryOutcome, DueTimer, FeedbackCounts,
    OutboxRow, QueuedTicket, RoutedDecideFn, RoutingNeed, Store, StoreError, TicketRecord,
    TimerRow, UnansweredQuestion,
};
use crate::bot::{Feedback, Message as ChatMessage, Session, Speaker, Turn};
use crate::model::{Channel, Event, Named, Ticket};
use crate::routing::{AgentStatus, RoutingState};

/// Sortable text form of a time (microseconds, UTC, `Z`).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time `{s}`: {e}")))
}

/// Page cache of the writer connection, as SQLite's `cache_size` (negative: KiB).
const WRITER_CACHE_KIB: &str = "-65536";

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    jobs: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    writer_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs the migrations.
    pub async fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| StoreError::Config(format!("sqlite path `{path}`: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // The writer touches the indexes of every table a decision writes; SQLite's default
        // page cache (2 MiB) holds little of them once there are a million rows, and every miss
        // is a read from the OS. The cache grows only as pages are used.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone().pragma("cache_size", WRITER_CACHE_KIB))
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {path}: {e}")))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating {path}: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        // One daemon owns a SQLite file, so claims left by a previous run of it (killed while
        // firing a timer or delivering) are stale now: release them instead of waiting out
        // their leases. (Firing stays idempotent by the timer's event id.)
        sqlx::query("UPDATE timers SET lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL")
            .execute(&writer)
            .await?;
        sqlx::query("UPDATE outbox SET lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL")
            .execute(&writer)
            .await?;
        sqlx::query("UPDATE schedule_runs SET lease_until = NULL WHERE state = 'running'")
            .execute(&writer)
            .await?;
        let (tx, rx) = mpsc::channel(4096);
        let task = tokio::spawn(writer_loop(writer.clone(), rx));
        Ok(SqliteStore {
            writer,
            reader,
            jobs: std::sync::Mutex::new(Some(tx)),
            writer_task: std::sync::Mutex::new(Some(task)),
        })
    }
}

fn ticket_from(state: &str) -> Result<Ticket, StoreError> {
    Ok(serde_json::from_str(state)?)
}

fn timer_row(r: &sqlx::sqlite::SqliteRow) -> Result<TimerRow, StoreError> {
    Ok(TimerRow {
        id: r.try_get("id")?,
        ticket_id: r.try_get("ticket_id")?,
        name: r.try_get("name")?,
        rule: r.try_get("rule")?,
        due_at: parse_ts(r.try_get::<&str, _>("due_at")?)?,
        state: r.try_get("state")?,
    })
}

fn audit_row(r: &sqlx::sqlite::SqliteRow) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        event_id: r.try_get("event_id")?,
        ticket_id: r.try_get("ticket_id")?,
        rule: r.try_get("rule")?,
        at: parse_ts(r.try_get::<&str, _>("at")?)?,
        actions: serde_json::from_str(r.try_get::<&str, _>("actions")?)?,
    })
}

fn outbox_row(r: &sqlx::sqlite::SqliteRow) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: r.try_get("id")?,
        event_id: r.try_get("event_id")?,
        ticket_id: r.try_get("ticket_id")?,
        action: serde_json::from_str(r.try_get::<&str, _>("action")?)?,
        target: r
            .try_get::<Option<&str>, _>("target")?
            .map(serde_json::from_str)
            .transpose()?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_at: parse_ts(r.try_get::<&str, _>("next_at")?)?,
        last_error: r.try_get("last_error")?,
    })
}

fn chat_message_row(r: &sqlx::sqlite::SqliteRow) -> Result<ChatMessage, StoreError> {
    let author = match r.try_get::<&str, _>("author")? {
        "bot" => Speaker::Bot,
        _ => Speaker::Customer,
    };
    let feedback = r
        .try_get::<Option<String>, _>("feedback")?
        .map(|f| serde_json::from_value::<Feedback>(serde_json::Value::String(f)))
        .transpose()?;
    Ok(ChatMessage {
        seq: r.try_get::<i64, _>("seq")? as u32,
        author,
        text: r.try_get("text")?,
        at: parse_ts(r.try_get::<&str, _>("at")?)?,
        answer_id: r.try_get("answer_id")?,
        score: r.try_get("score")?,
        feedback,
        handoff: r.try_get::<i64, _>("handoff")? != 0,
    })
}

async fn insert_chat_messages(
    tx: &mut SqliteConnection,
    session: &str,
    messages: &[ChatMessage],
) -> Result<(), StoreError> {
    for m in messages {
        sqlx::query("INSERT INTO chat_messages (session_id, seq, author, text, at, answer_id, score, feedback, handoff) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(session)
            .bind(i64::from(m.seq))
            .bind(m.author.as_str())
            .bind(&m.text)
            .bind(ts(m.at))
            .bind(&m.answer_id)
            .bind(m.score)
            .bind(m.feedback.map(Feedback::as_str))
            .bind(i64::from(m.handoff))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn apply_routed(
        &self,
        event: Event,
        fingerprint: String,
        received_at: DateTime<Utc>,
        need: RoutingNeed,
        decide: RoutedDecideFn,
    ) -> Result<Applied, StoreError> {
        let (reply, answer) = oneshot::channel();
        let sender = self.jobs.lock().expect("jobs lock").clone();
        let Some(sender) = sender else {
            return Err(StoreError::Unavailable("the store is closed".into()));
        };
        sender
            .send(Job {
                event,
                fingerprint,
                received_at,
                // One writer decides every event in turn: no lock is needed, only the state.
                routed: (!need.is_empty()).then_some(need.agents),
                decide,
                reply,
            })
            .await
            .map_err(|_| StoreError::Unavailable("the store writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the store writer stopped".into()))?
    }

    async fn ticket(&self, id: &str) -> Result<Option<TicketRecord>, StoreError> {
        let Some(row) = sqlx::query("SELECT state, version FROM tickets WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let ticket = ticket_from(row.try_get::<&str, _>("state")?)?;
        let version: i64 = row.try_get("version")?;
        let timers = sqlx::query("SELECT id, ticket_id, name, rule, due_at, state FROM timers WHERE ticket_id = ? ORDER BY due_at DESC LIMIT 100")
            .bind(id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(timer_row)
            .collect::<Result<_, _>>()?;
        let history = sqlx::query("SELECT event_id, ticket_id, rule, at, actions FROM decisions WHERE ticket_id = ? ORDER BY seq LIMIT 1000")
            .bind(id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(audit_row)
            .collect::<Result<_, _>>()?;
        Ok(Some(TicketRecord {
            ticket,
            version,
            timers,
            history,
        }))
    }

    async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let rows = sqlx::query(
            "SELECT event_id, ticket_id, rule, at, actions FROM decisions
             WHERE (?1 IS NULL OR ticket_id = ?1) AND (?2 IS NULL OR rule = ?2)
             ORDER BY seq DESC LIMIT ?3",
        )
        .bind(&q.ticket)
        .bind(&q.rule)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    async fn response_samples(
        &self,
        since: DateTime<Utc>,
        per_key: u32,
    ) -> Result<Vec<(String, crate::model::Priority, i64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT queue, priority, secs FROM (
                 SELECT queue, priority, secs,
                        ROW_NUMBER() OVER (PARTITION BY queue, priority ORDER BY achieved_at DESC, seq DESC) AS n
                 FROM response_samples WHERE achieved_at >= ?1
             ) WHERE n <= ?2",
        )
        .bind(ts(since))
        .bind(per_key)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(q, p, s)| super::sample_row(q, &p, s))
            .collect())
    }

    async fn claim_due_timers(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let now_s = ts(now);
        let rows = sqlx::query(
            "UPDATE timers SET claimed_by = ?1, lease_until = ?2, attempt = attempt + 1
             WHERE id IN (SELECT id FROM timers WHERE state = 'pending' AND due_at <= ?3
                          AND (lease_until IS NULL OR lease_until < ?3) ORDER BY due_at LIMIT ?4)
             RETURNING id, ticket_id, name, rule, due_at, state",
        )
        .bind(owner)
        .bind(ts(lease_until))
        .bind(&now_s)
        .bind(limit)
        .fetch_all(&self.writer)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| timer_row(r).map(|row| DueTimer { row }))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|t| t.row.due_at);
        Ok(out)
    }

    async fn last_schedule_run(
        &self,
        schedule: &str,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT fire_at, state FROM schedule_runs WHERE schedule = ? ORDER BY fire_at DESC LIMIT 1",
        )
        .bind(schedule)
        .fetch_optional(&self.writer)
        .await?;
        match row {
            Some(r) => Ok(Some((
                parse_ts(r.try_get::<&str, _>("fire_at")?)?,
                r.try_get("state")?,
            ))),
            None => Ok(None),
        }
    }

    async fn record_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schedule_runs (schedule, fire_at, state, recorded_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (schedule, fire_at) DO NOTHING",
        )
        .bind(schedule)
        .bind(ts(fire_at))
        .bind(state)
        .bind(ts(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn claim_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO schedule_runs (schedule, fire_at, state, claimed_by, lease_until, recorded_at)
             VALUES (?1, ?2, 'running', ?3, ?4, ?5)
             ON CONFLICT (schedule, fire_at) DO UPDATE SET claimed_by = excluded.claimed_by, lease_until = excluded.lease_until
             WHERE schedule_runs.state = 'running' AND (schedule_runs.lease_until IS NULL OR schedule_runs.lease_until < ?5)",
        )
        .bind(schedule)
        .bind(ts(fire_at))
        .bind(owner)
        .bind(ts(lease_until))
        .bind(ts(now))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE schedule_runs SET state = 'done', lease_until = NULL, finished_at = ? WHERE schedule = ? AND fire_at = ?",
        )
        .bind(ts(now))
        .bind(schedule)
        .bind(ts(fire_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn schedule_tickets(
        &self,
        statuses: &[String],
        idle_before: Option<DateTime<Utc>>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let statuses = serde_json::to_string(statuses)?;
        let rows = sqlx::query_scalar(
            "SELECT id FROM tickets
             WHERE id > ?1 AND id NOT LIKE 'schedule:%'
               AND (json_array_length(?2) = 0 OR json_extract(state, '$.status') IN (SELECT value FROM json_each(?2)))
               AND (?3 IS NULL OR updated_at <= ?3)
             ORDER BY id LIMIT ?4",
        )
        .bind(after)
        .bind(statuses)
        .bind(idle_before.map(ts))
        .bind(limit)
        .fetch_all(&self.writer)
        .await?;
        Ok(rows)
    }

    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<String> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE state = 'pending'")
                .fetch_one(&self.reader)
                .await?;
        due.map(|s| parse_ts(&s)).transpose()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "UPDATE outbox SET claimed_by = ?1, lease_until = ?2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_at <= ?3
                          AND (lease_until IS NULL OR lease_until < ?3) ORDER BY next_at LIMIT ?4)
             RETURNING id, event_id, ticket_id, action, target, state, attempts, next_at, last_error",
        )
        .bind(owner)
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(limit)
        .fetch_all(&self.writer)
        .await?;
        let mut out: Vec<OutboxRow> = rows.iter().map(outbox_row).collect::<Result<_, _>>()?;
        out.sort_by_key(|r| r.next_at);
        Ok(out)
    }

    async fn finish_delivery(
        &self,
        id: &str,
        attempt: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (state, next_at, error) = match outcome {
            DeliveryOutcome::Delivered => ("delivered", now, None),
            DeliveryOutcome::Retry { at, error } => ("pending", *at, Some(error.as_str())),
            DeliveryOutcome::Dead { error } => ("dead", now, Some(error.as_str())),
        };
        let done = sqlx::query(
            "UPDATE outbox SET state = ?1, next_at = ?2, last_error = COALESCE(?3, last_error), lease_until = NULL
             WHERE id = ?4 AND attempts = ?5 AND state = 'pending'",
        )
        .bind(state)
        .bind(ts(next_at))
        .bind(error)
        .bind(id)
        .bind(attempt)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn outbox(&self, state: Option<&str>, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event_id, ticket_id, action, target, state, attempts, next_at, last_error FROM outbox
             WHERE (?1 IS NULL OR state = ?1) ORDER BY rowid DESC LIMIT ?2",
        )
        .bind(state)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    async fn redeliver(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE outbox SET state = 'pending', next_at = ?1, lease_until = NULL WHERE id = ?2 AND state != 'pending'")
            .bind(ts(now))
            .bind(id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM outbox WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(exists.is_some())
    }

    async fn set_agent_status(
        &self,
        agent: &str,
        status: AgentStatus,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agent_status (agent_id, status, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(agent)
        .bind(status.name())
        .bind(ts(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn routing_state(&self) -> Result<RoutingState, StoreError> {
        let mut conn = self.reader.acquire().await?;
        super::shared::read_routing(&mut *conn, None).await
    }

    async fn queued(
        &self,
        team: Option<&str>,
        limit: u32,
    ) -> Result<Vec<QueuedTicket>, StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, team, channel, rule, action, queued_at FROM queue
             WHERE (?1 IS NULL OR team = ?1) ORDER BY queued_at, seq LIMIT ?2",
        )
        .bind(team)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QueuedTicket {
                    ticket_id: r.try_get("ticket_id")?,
                    team: r.try_get("team")?,
                    channel: Channel::parse(r.try_get("channel")?).unwrap_or_default(),
                    rule: r.try_get("rule")?,
                    action: r.try_get("action")?,
                    queued_at: parse_ts(r.try_get::<&str, _>("queued_at")?)?,
                })
            })
            .collect()
    }

    async fn close(&self) {
        // Stop taking events, let the writer commit what it has, then close.
        drop(self.jobs.lock().expect("jobs lock").take());
        let task = self.writer_task.lock().expect("writer lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.writer.close().await;
        self.reader.close().await;
    }

    async fn create_chat_session(
        &self,
        session: &Session,
        messages: &[ChatMessage],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO chat_sessions (id, bot, state, questions, answered, version, session, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&session.id)
        .bind(&session.bot)
        .bind(session.state.as_str())
        .bind(i64::from(session.questions))
        .bind(i64::from(session.answered))
        .bind(session.version)
        .bind(serde_json::to_string(session)?)
        .bind(ts(session.created_at))
        .bind(ts(session.updated_at))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Stale(format!(
                "chat session `{}` exists already",
                session.id
            )));
        }
        insert_chat_messages(&mut tx, &session.id, messages).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn chat_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query("SELECT session, version FROM chat_sessions WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| {
            let mut s: Session = serde_json::from_str(r.try_get::<&str, _>("session")?)?;
            s.version = r.try_get("version")?;
            Ok(s)
        })
        .transpose()
    }

    async fn chat_messages(&self, id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        sqlx::query("SELECT seq, author, text, at, answer_id, score, feedback, handoff FROM chat_messages WHERE session_id = ? ORDER BY seq")
            .bind(id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(chat_message_row)
            .collect()
    }

    async fn save_chat_turn(&self, turn: &Turn) -> Result<i64, StoreError> {
        let s = &turn.session;
        let mut tx = self.writer.begin().await?;
        let mut stored = s.clone();
        stored.version = s.version + 1;
        let updated = sqlx::query(
            "UPDATE chat_sessions SET state = ?, questions = ?, answered = ?, version = ?, session = ?, updated_at = ?
             WHERE id = ? AND version = ?",
        )
        .bind(s.state.as_str())
        .bind(i64::from(s.questions))
        .bind(i64::from(s.answered))
        .bind(stored.version)
        .bind(serde_json::to_string(&stored)?)
        .bind(ts(s.updated_at))
        .bind(&s.id)
        .bind(s.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale(format!(
                "chat session `{}` changed while this message was answered; send it again",
                s.id
            )));
        }
        insert_chat_messages(&mut tx, &s.id, &turn.messages).await?;
        let first = turn.messages.first();
        if let Some(first) = first.filter(|_| turn.message_id.is_some() || turn.answer.is_some()) {
            sqlx::query("UPDATE chat_messages SET client_id = ?, answer = ? WHERE session_id = ? AND seq = ?")
                .bind(&turn.message_id)
                .bind(&turn.answer)
                .bind(&s.id)
                .bind(i64::from(first.seq))
                .execute(&mut *tx)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Stale(format!(
                        "chat message `{}` of session `{}` was answered meanwhile",
                        turn.message_id.as_deref().unwrap_or_default(),
                        s.id
                    )),
                    e => e.into(),
                })?;
        }
        if let Some((answer_id, value)) = &turn.feedback {
            let first = turn.messages.first();
            sqlx::query("INSERT INTO chat_feedback (session_id, seq, bot, answer_id, value, at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(&s.id)
                .bind(first.map_or(0, |m| i64::from(m.seq)))
                .bind(&s.bot)
                .bind(answer_id)
                .bind(value.as_str())
                .bind(ts(s.updated_at))
                .execute(&mut *tx)
                .await?;
        }
        if let Some(q) = &turn.unanswered {
            sqlx::query(
                "INSERT INTO chat_unanswered (bot, question, count, last_at) VALUES (?, ?, 1, ?)
                 ON CONFLICT (bot, question) DO UPDATE SET count = count + 1, last_at = MAX(last_at, excluded.last_at)",
            )
            .bind(&s.bot)
            .bind(q)
            .bind(ts(s.updated_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(stored.version)
    }

    async fn chat_answer(
        &self,
        session: &str,
        message: AnswerOf<'_>,
    ) -> Result<Option<String>, StoreError> {
        let row = match message {
            AnswerOf::Id(id) => {
                sqlx::query(
                    "SELECT answer FROM chat_messages WHERE session_id = ? AND client_id = ?",
                )
                .bind(session)
                .bind(id)
                .fetch_optional(&self.reader)
                .await?
            }
            AnswerOf::Seq(seq) => {
                sqlx::query("SELECT answer FROM chat_messages WHERE session_id = ? AND seq = ?")
                    .bind(session)
                    .bind(i64::from(seq))
                    .fetch_optional(&self.reader)
                    .await?
            }
        };
        Ok(row.and_then(|r| r.try_get::<Option<String>, _>("answer").ok().flatten()))
    }

    async fn chat_stats(&self, bot: &str, top: u32) -> Result<ChatStats, StoreError> {
        let counts = sqlx::query(
            "SELECT COUNT(*) AS sessions,
                    COALESCE(SUM(questions > 0 OR state = 'handed_off'), 0) AS engaged,
                    COALESCE(SUM(state = 'handed_off'), 0) AS handed_off,
                    COALESCE(SUM(state != 'handed_off' AND answered > 0), 0) AS deflected,
                    COALESCE(SUM(questions), 0) AS questions,
                    COALESCE(SUM(answered), 0) AS answered,
                    COALESCE(SUM(state != 'handed_off' AND EXISTS (SELECT 1 FROM chat_feedback f
                        WHERE f.session_id = chat_sessions.id AND f.value = 'yes')), 0) AS confirmed
             FROM chat_sessions WHERE bot = ?",
        )
        .bind(bot)
        .fetch_one(&self.reader)
        .await?;
        let mut feedback = FeedbackCounts::default();
        for r in sqlx::query(
            "SELECT value, COUNT(*) AS n FROM chat_feedback WHERE bot = ? GROUP BY value",
        )
        .bind(bot)
        .fetch_all(&self.reader)
        .await?
        {
            let n: i64 = r.try_get("n")?;
            match r.try_get::<&str, _>("value")? {
                "yes" => feedback.yes = n,
                "no" => feedback.no = n,
                _ => feedback.person += n,
            }
        }
        let top_unanswered = sqlx::query(
            "SELECT question, count, last_at FROM chat_unanswered WHERE bot = ?
             ORDER BY count DESC, last_at DESC, question LIMIT ?",
        )
        .bind(bot)
        .bind(i64::from(top.clamp(1, 1000)))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|r| {
            Ok(UnansweredQuestion {
                question: r.try_get("question")?,
                count: r.try_get("count")?,
                last_at: parse_ts(r.try_get::<&str, _>("last_at")?)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
        let n = |c: &str| counts.try_get::<i64, _>(c);
        Ok(ChatStats {
            bot: bot.to_string(),
            sessions: n("sessions")?,
            engaged: n("engaged")?,
            handed_off: n("handed_off")?,
            deflected: n("deflected")?,
            confirmed: n("confirmed")?,
            deflection_rate: None,
            questions: n("questions")?,
            answered: n("answered")?,
            answer_rate: None,
            feedback,
            top_unanswered,
        }
        .with_rates())
    }
}

/// Binds an [`Arg`] the SQLite way: times as [`ts`] text, lists as JSON arrays.
fn bind<'q>(
    q: Query<'q, sqlx::Sqlite, SqliteArguments<'q>>,
    arg: Arg<'q>,
) -> Query<'q, sqlx::Sqlite, SqliteArguments<'q>> {
    match arg {
        Arg::Text(s) => q.bind(s),
        Arg::OptText(s) => q.bind(s),
        Arg::Int(n) => q.bind(n),
        Arg::Bool(b) => q.bind(b),
        Arg::Time(t) => q.bind(ts(t)),
        Arg::Texts(list) => q.bind(list.json()),
    }
}

sqlx_conn!(SqliteConnection, Dialect::Sqlite, bind);

sqlx_row!(SqliteRow);
