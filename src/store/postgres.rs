//! The PostgreSQL store, for several replicas in front of one database.
//!
//! Each event is one transaction on a pooled connection. Replicas coordinate through the
//! database alone:
//!
//! - an event id is a primary key, so the same event posted to two replicas is decided once
//!   and both answer with the stored decision;
//! - the events of one ticket are serialised by a transaction-scoped advisory lock on the
//!   ticket id, taken before the stored ticket is read, so every decision sees the state the
//!   previous one left, whichever replica made it;
//! - due timers and outbox rows are claimed with `FOR UPDATE SKIP LOCKED` under a lease; a
//!   replica that dies loses its lease and another takes the rows over; an outbox attempt
//!   counter fences stale completions.
//!
//! Connections get `idle_in_transaction_session_timeout` and `lock_timeout` (5 s unless the
//! URL sets them), so a replica frozen inside a transaction cannot hold a ticket's lock for
//! ever: PostgreSQL ends its session, the transaction rolls back and nothing half-done is seen.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Connection, PgConnection, Postgres, Row};

use super::shared::{apply_one, read_routing};
use super::sql::{self, sqlx_conn, sqlx_row, Arg, Conn as _, Dialect};
use super::{
    AnswerOf, Applied, AuditQuery, AuditRow, ChatStats, DeliveryOutcome, DueTimer, FeedbackCounts,
    OutboxRow, QueuedTicket, RoutedDecideFn, RoutingNeed, Store, StoreError, TicketRecord,
    TimerRow, UnansweredQuestion,
};
use crate::bot::{Feedback, Message as ChatMessage, Session, Speaker, Turn};
use crate::model::{Channel, Event, Named, Ticket};
use crate::routing::{AgentStatus, RoutingState};

/// Connections per replica unless the URL says `max_connections=N`.
const DEFAULT_MAX_CONNECTIONS: u32 = 16;
/// Longest wait for a pooled connection before the event is refused (HTTP 503).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// `ping` gives up after this, so `/readyz` answers quickly when the database is away.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Session settings every connection gets unless the URL sets them itself.
const SESSION_DEFAULTS: &[(&str, &str)] = &[
    ("idle_in_transaction_session_timeout", "5s"),
    ("lock_timeout", "5s"),
];

/// PostgreSQL-backed [`Store`].
pub struct PgStore {
    pool: PgPool,
}

/// Splits frontdesk's own `max_connections=N` parameter off a PostgreSQL URL.
fn take_max_connections(url: &str) -> Result<(String, u32), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), DEFAULT_MAX_CONNECTIONS));
    };
    let mut max = DEFAULT_MAX_CONNECTIONS;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("max_connections", n)) => {
                max = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    StoreError::Config(format!(
                        "max_connections=`{n}` in the store URL: expected a positive number"
                    ))
                })?;
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, max))
}

/// Where the URL points, without the password, for messages.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

/// The advisory lock key of a ticket: 64 bits of SHA-256 over the id. Two tickets sharing a
/// key would only be decided one after the other, never wrongly.
fn ticket_lock_key(ticket_id: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("frontdesk ticket {ticket_id}").as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(key)
}

impl PgStore {
    /// Connects, and brings the schema up to date. Several replicas may start at once: the
    /// migrator holds an advisory lock while it works.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let (url, max_connections) = take_max_connections(url)?;
        let mut options = PgConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("PostgreSQL URL: {e}")))?;
        if options.get_application_name().is_none() {
            options = options.application_name("frontdesk");
        }
        let target = describe(&options);

        // The schema first, on a connection of its own: another replica may be migrating, and
        // the migrator waits for its advisory lock as long as that takes.
        let migrate = async {
            let mut conn =
                tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&options))
                    .await
                    .map_err(|_| {
                        sqlx::Error::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no answer within {}s", ACQUIRE_TIMEOUT.as_secs()),
                        ))
                    })??;
            sqlx::migrate!("./migrations/postgres")
                .run(&mut conn)
                .await
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            conn.close().await
        };
        migrate
            .await
            .map_err(|e| StoreError::Unavailable(format!("{target}: {e}")))?;

        // Session settings by SET rather than startup options, which poolers such as
        // PgBouncer refuse; a setting the URL already gives is left alone.
        let given = options.get_options().unwrap_or("").to_string();
        let sets: String = SESSION_DEFAULTS
            .iter()
            .filter(|(name, _)| !given.contains(name))
            .map(|(name, value)| format!("SET {name} = '{value}'; "))
            .collect();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                let sets = sets.clone();
                Box::pin(async move {
                    if !sets.is_empty() {
                        sqlx::Executor::execute(&mut *conn, sets.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(format!("{target}: {e}")))?;
        Ok(PgStore { pool })
    }
}

fn ticket_from(state: &str) -> Result<Ticket, StoreError> {
    Ok(serde_json::from_str(state)?)
}

fn timer_row(r: &PgRow) -> Result<TimerRow, StoreError> {
    Ok(TimerRow {
        id: r.try_get("id")?,
        ticket_id: r.try_get("ticket_id")?,
        name: r.try_get("name")?,
        rule: r.try_get("rule")?,
        due_at: r.try_get("due_at")?,
        state: r.try_get("state")?,
    })
}

fn audit_row(r: &PgRow) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        event_id: r.try_get("event_id")?,
        ticket_id: r.try_get("ticket_id")?,
        rule: r.try_get("rule")?,
        at: r.try_get("at")?,
        actions: serde_json::from_str(r.try_get::<&str, _>("actions")?)?,
    })
}

fn outbox_row(r: &PgRow) -> Result<OutboxRow, StoreError> {
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
        next_at: r.try_get("next_at")?,
        last_error: r.try_get("last_error")?,
    })
}

fn chat_message_row(r: &PgRow) -> Result<ChatMessage, StoreError> {
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
        at: r.try_get("at")?,
        answer_id: r.try_get("answer_id")?,
        score: r.try_get("score")?,
        feedback,
        handoff: r.try_get("handoff")?,
    })
}

async fn insert_chat_messages(
    tx: &mut PgConnection,
    session: &str,
    messages: &[ChatMessage],
) -> Result<(), StoreError> {
    for m in messages {
        sqlx::query("INSERT INTO chat_messages (session_id, seq, author, text, at, answer_id, score, feedback, handoff) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(session)
            .bind(i64::from(m.seq))
            .bind(m.author.as_str())
            .bind(&m.text)
            .bind(m.at)
            .bind(&m.answer_id)
            .bind(m.score)
            .bind(m.feedback.map(Feedback::as_str))
            .bind(m.handoff)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The advisory lock key of a routing lock (a group of teams that share agents).
fn routing_lock_key(name: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("frontdesk routing {name}").as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(key)
}

#[async_trait]
impl Store for PgStore {
    async fn apply_routed(
        &self,
        event: Event,
        fingerprint: String,
        received_at: DateTime<Utc>,
        need: RoutingNeed,
        decide: RoutedDecideFn,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ticket_lock_key(&event.ticket.id))
            .execute(&mut *tx)
            .await?;
        // Then the routing locks, in name order (every replica takes them in the same order):
        // two decisions that could take the last slot of one agent queue here, and the
        // second reads the loads after the first committed. Nobody holding a routing lock
        // waits for a ticket's, so the two kinds cannot deadlock.
        for name in &need.locks {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(routing_lock_key(name))
                .execute(&mut *tx)
                .await?;
        }
        let routed = (!need.is_empty()).then_some(need.agents.as_slice());
        match apply_one(&mut *tx, &event, &fingerprint, received_at, routed, decide).await? {
            Some(applied) if applied.replayed => {
                tx.rollback().await?;
                Ok(applied)
            }
            Some(applied) => {
                tx.commit().await?;
                Ok(applied)
            }
            // Another transaction committed the same event id meanwhile (it was for another
            // ticket, so it held another lock): answer with what it stored.
            None => {
                tx.rollback().await?;
                let mut c = self.pool.acquire().await?;
                let (stored, decision) = c
                    .first(&sql::SEEN, &[Arg::Text(&event.id)], |r| {
                        Ok((r.string(0)?, r.string(1)?))
                    })
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                Ok(Applied {
                    decision: crate::plan::replay(&event.id, &fingerprint, &stored, &decision)?,
                    replayed: true,
                })
            }
        }
    }

    async fn ticket(&self, id: &str) -> Result<Option<TicketRecord>, StoreError> {
        let Some(row) = sqlx::query("SELECT state, version FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let ticket = ticket_from(row.try_get::<&str, _>("state")?)?;
        let version: i64 = row.try_get("version")?;
        let timers = sqlx::query(
            "SELECT id, ticket_id, name, rule, due_at, state FROM timers
             WHERE ticket_id = $1 ORDER BY due_at DESC LIMIT 100",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(timer_row)
        .collect::<Result<_, _>>()?;
        let history = sqlx::query(
            "SELECT event_id, ticket_id, rule, at, actions FROM decisions
             WHERE ticket_id = $1 ORDER BY seq LIMIT 1000",
        )
        .bind(id)
        .fetch_all(&self.pool)
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
        let limit = i64::from(q.limit.unwrap_or(100).clamp(1, 1000));
        let rows = sqlx::query(
            "SELECT event_id, ticket_id, rule, at, actions FROM decisions
             WHERE ($1::text IS NULL OR ticket_id = $1) AND ($2::text IS NULL OR rule = $2)
             ORDER BY seq DESC LIMIT $3",
        )
        .bind(&q.ticket)
        .bind(&q.rule)
        .bind(limit)
        .fetch_all(&self.pool)
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
                 FROM response_samples WHERE achieved_at >= $1
             ) recent WHERE n <= $2",
        )
        .bind(since)
        .bind(i64::from(per_key))
        .fetch_all(&self.pool)
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
        let rows = sqlx::query(
            "WITH due AS (
                 SELECT id FROM timers
                 WHERE state = 'pending' AND due_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                 ORDER BY due_at LIMIT $4
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE timers t SET claimed_by = $1, lease_until = $2, attempt = t.attempt + 1
             FROM due WHERE t.id = due.id
             RETURNING t.id, t.ticket_id, t.name, t.rule, t.due_at, t.state",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<DueTimer> = rows
            .iter()
            .map(|r| timer_row(r).map(|row| DueTimer { row }))
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|t| t.row.due_at);
        Ok(out)
    }

    async fn last_schedule_run(
        &self,
        schedule: &str,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        let row: Option<(DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT fire_at, state FROM schedule_runs WHERE schedule = $1 ORDER BY fire_at DESC LIMIT 1",
        )
        .bind(schedule)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    async fn record_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schedule_runs (schedule, fire_at, state, recorded_at, finished_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (schedule, fire_at) DO NOTHING",
        )
        .bind(schedule)
        .bind(fire_at)
        .bind(state)
        .bind(now)
        .execute(&self.pool)
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
             VALUES ($1, $2, 'running', $3, $4, $5)
             ON CONFLICT (schedule, fire_at) DO UPDATE SET claimed_by = excluded.claimed_by, lease_until = excluded.lease_until
             WHERE schedule_runs.state = 'running' AND (schedule_runs.lease_until IS NULL OR schedule_runs.lease_until < $5)",
        )
        .bind(schedule)
        .bind(fire_at)
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .execute(&self.pool)
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
            "UPDATE schedule_runs SET state = 'done', lease_until = NULL, finished_at = $1 WHERE schedule = $2 AND fire_at = $3",
        )
        .bind(now)
        .bind(schedule)
        .bind(fire_at)
        .execute(&self.pool)
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
        let rows = sqlx::query_scalar(
            "SELECT id FROM tickets
             WHERE id > $1 AND id NOT LIKE 'schedule:%'
               AND (cardinality($2::text[]) = 0 OR (state::jsonb ->> 'status') = ANY($2))
               AND ($3::timestamptz IS NULL OR updated_at <= $3)
             ORDER BY id LIMIT $4",
        )
        .bind(after)
        .bind(statuses)
        .bind(idle_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&self.pool)).await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(StoreError::Unavailable(format!(
                "PostgreSQL did not answer within {}s",
                PING_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "WITH due AS (
                 SELECT id FROM outbox
                 WHERE state = 'pending' AND next_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                 ORDER BY next_at LIMIT $4
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE outbox o SET claimed_by = $1, lease_until = $2, attempts = o.attempts + 1
             FROM due WHERE o.id = due.id
             RETURNING o.id, o.event_id, o.ticket_id, o.action, o.target, o.state, o.attempts, o.next_at, o.last_error",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
            "UPDATE outbox SET state = $1, next_at = $2, last_error = COALESCE($3, last_error),
                               lease_until = NULL
             WHERE id = $4 AND attempts = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(next_at)
        .bind(error)
        .bind(id)
        .bind(attempt)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn outbox(&self, state: Option<&str>, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event_id, ticket_id, action, target, state, attempts, next_at, last_error FROM outbox
             WHERE ($1::text IS NULL OR state = $1) ORDER BY seq DESC LIMIT $2",
        )
        .bind(state)
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    async fn redeliver(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let found: Option<bool> = sqlx::query_scalar(
            "WITH found AS (SELECT id, state FROM outbox WHERE id = $2 FOR UPDATE),
                  put AS (UPDATE outbox o SET state = 'pending', next_at = $1, lease_until = NULL
                          FROM found WHERE o.id = found.id AND found.state <> 'pending'
                          RETURNING o.id)
             SELECT true FROM found",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn set_agent_status(
        &self,
        agent: &str,
        status: AgentStatus,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agent_status (agent_id, status, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (agent_id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at",
        )
        .bind(agent)
        .bind(status.name())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn routing_state(&self) -> Result<RoutingState, StoreError> {
        let mut conn = self.pool.acquire().await?;
        read_routing(&mut *conn, None).await
    }

    async fn queued(
        &self,
        team: Option<&str>,
        limit: u32,
    ) -> Result<Vec<QueuedTicket>, StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, team, channel, rule, action, queued_at FROM queue
             WHERE ($1::text IS NULL OR team = $1) ORDER BY queued_at, seq LIMIT $2",
        )
        .bind(team)
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QueuedTicket {
                    ticket_id: r.try_get("ticket_id")?,
                    team: r.try_get("team")?,
                    channel: Channel::parse(r.try_get("channel")?).unwrap_or_default(),
                    rule: r.try_get("rule")?,
                    action: r.try_get("action")?,
                    queued_at: r.try_get("queued_at")?,
                })
            })
            .collect()
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn create_chat_session(
        &self,
        session: &Session,
        messages: &[ChatMessage],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO chat_sessions (id, bot, state, questions, answered, version, session, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&session.id)
        .bind(&session.bot)
        .bind(session.state.as_str())
        .bind(i64::from(session.questions))
        .bind(i64::from(session.answered))
        .bind(session.version)
        .bind(serde_json::to_string(session)?)
        .bind(session.created_at)
        .bind(session.updated_at)
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
        let row = sqlx::query("SELECT session, version FROM chat_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let mut s: Session = serde_json::from_str(r.try_get::<&str, _>("session")?)?;
            s.version = r.try_get("version")?;
            Ok(s)
        })
        .transpose()
    }

    async fn chat_messages(&self, id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        sqlx::query("SELECT seq, author, text, at, answer_id, score, feedback, handoff FROM chat_messages WHERE session_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(chat_message_row)
            .collect()
    }

    async fn save_chat_turn(&self, turn: &Turn) -> Result<i64, StoreError> {
        let s = &turn.session;
        let mut tx = self.pool.begin().await?;
        let mut stored = s.clone();
        stored.version = s.version + 1;
        let updated = sqlx::query(
            "UPDATE chat_sessions SET state = $1, questions = $2, answered = $3, version = $4, session = $5, updated_at = $6
             WHERE id = $7 AND version = $8",
        )
        .bind(s.state.as_str())
        .bind(i64::from(s.questions))
        .bind(i64::from(s.answered))
        .bind(stored.version)
        .bind(serde_json::to_string(&stored)?)
        .bind(s.updated_at)
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
            sqlx::query("UPDATE chat_messages SET client_id = $1, answer = $2 WHERE session_id = $3 AND seq = $4")
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
            sqlx::query("INSERT INTO chat_feedback (session_id, seq, bot, answer_id, value, at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&s.id)
                .bind(first.map_or(0, |m| i64::from(m.seq)))
                .bind(&s.bot)
                .bind(answer_id)
                .bind(value.as_str())
                .bind(s.updated_at)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(q) = &turn.unanswered {
            sqlx::query(
                "INSERT INTO chat_unanswered (bot, question, count, last_at) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (bot, question) DO UPDATE SET count = chat_unanswered.count + 1,
                     last_at = GREATEST(chat_unanswered.last_at, excluded.last_at)",
            )
            .bind(&s.bot)
            .bind(q)
            .bind(s.updated_at)
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
                    "SELECT answer FROM chat_messages WHERE session_id = $1 AND client_id = $2",
                )
                .bind(session)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            }
            AnswerOf::Seq(seq) => {
                sqlx::query("SELECT answer FROM chat_messages WHERE session_id = $1 AND seq = $2")
                    .bind(session)
                    .bind(i64::from(seq))
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        Ok(row.and_then(|r| r.try_get::<Option<String>, _>("answer").ok().flatten()))
    }

    async fn chat_stats(&self, bot: &str, top: u32) -> Result<ChatStats, StoreError> {
        let counts = sqlx::query(
            "SELECT COUNT(*) AS sessions,
                    COUNT(*) FILTER (WHERE questions > 0 OR state = 'handed_off') AS engaged,
                    COUNT(*) FILTER (WHERE state = 'handed_off') AS handed_off,
                    COUNT(*) FILTER (WHERE state <> 'handed_off' AND answered > 0) AS deflected,
                    COALESCE(SUM(questions), 0)::BIGINT AS questions,
                    COALESCE(SUM(answered), 0)::BIGINT AS answered,
                    COUNT(*) FILTER (WHERE state <> 'handed_off' AND EXISTS (SELECT 1 FROM chat_feedback f
                        WHERE f.session_id = chat_sessions.id AND f.value = 'yes')) AS confirmed
             FROM chat_sessions WHERE bot = $1",
        )
        .bind(bot)
        .fetch_one(&self.pool)
        .await?;
        let mut feedback = FeedbackCounts::default();
        for r in sqlx::query(
            "SELECT value, COUNT(*) AS n FROM chat_feedback WHERE bot = $1 GROUP BY value",
        )
        .bind(bot)
        .fetch_all(&self.pool)
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
            "SELECT question, count, last_at FROM chat_unanswered WHERE bot = $1
             ORDER BY count DESC, last_at DESC, question LIMIT $2",
        )
        .bind(bot)
        .bind(i64::from(top.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(UnansweredQuestion {
                question: r.try_get("question")?,
                count: r.try_get("count")?,
                last_at: r.try_get("last_at")?,
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

/// Binds an [`Arg`] the PostgreSQL way: times as `timestamptz`, lists as `text[]`.
fn bind<'q>(q: Query<'q, Postgres, PgArguments>, arg: Arg<'q>) -> Query<'q, Postgres, PgArguments> {
    match arg {
        Arg::Text(s) => q.bind(s),
        Arg::OptText(s) => q.bind(s),
        Arg::Int(n) => q.bind(n),
        Arg::Bool(b) => q.bind(b),
        Arg::Time(t) => q.bind(t),
        Arg::Texts(list) => q.bind(list.items()),
    }
}

sqlx_conn!(PgConnection, Dialect::Postgres, bind);

sqlx_row!(PgRow);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontdesk_takes_its_pool_size_off_the_url() {
        let cases = [
            (
                "postgres://h/db",
                "postgres://h/db",
                DEFAULT_MAX_CONNECTIONS,
            ),
            ("postgres://h/db?max_connections=4", "postgres://h/db", 4),
            (
                "postgres://h/db?sslmode=disable&max_connections=8&options[search_path]=x",
                "postgres://h/db?sslmode=disable&options[search_path]=x",
                8,
            ),
        ];
        for (url, want, max) in cases {
            assert_eq!(
                take_max_connections(url).unwrap(),
                (want.to_string(), max),
                "{url}"
            );
        }
        assert!(take_max_connections("postgres://h/db?max_connections=0").is_err());
        assert!(take_max_connections("postgres://h/db?max_connections=x").is_err());
    }

    /// Every pooled session carries the timeouts that keep a frozen replica from holding a
    /// ticket's lock; a value in the URL wins. (Skipped without a PostgreSQL server.)
    #[tokio::test]
    async fn sessions_get_the_timeouts() {
        let base = std::env::var("FRONTDESK_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let Ok(Ok(admin)) =
            tokio::time::timeout(Duration::from_secs(5), PgPool::connect(&base)).await
        else {
            eprintln!("skipping: no PostgreSQL at {base}");
            return;
        };
        let schema = format!("fd_unit_{}", std::process::id());
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&admin)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options[search_path]={schema}&max_connections=2");
        let store = PgStore::open(&url).await.unwrap();
        let show = |name: &'static str| {
            let pool = store.pool.clone();
            async move {
                sqlx::query_scalar::<_, String>(&format!("SHOW {name}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(show("lock_timeout").await, "5s");
        assert_eq!(show("idle_in_transaction_session_timeout").await, "5s");
        assert_eq!(show("application_name").await, "frontdesk");
        store.close().await;
        let own = PgStore::open(&format!("{url}&options[lock_timeout]=7s"))
            .await
            .unwrap();
        assert_eq!(
            sqlx::query_scalar::<_, String>("SHOW lock_timeout")
                .fetch_one(&own.pool)
                .await
                .unwrap(),
            "7s"
        );
        own.close().await;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await
            .unwrap();
    }

    #[test]
    fn lock_keys_are_stable_and_spread() {
        assert_eq!(ticket_lock_key("T1"), ticket_lock_key("T1"));
        assert_ne!(ticket_lock_key("T1"), ticket_lock_key("T2"));
    }
}
