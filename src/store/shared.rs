//! What both SQL stores do, written once. [`apply_one`] commits an event on any [`Conn`] (the
//! SQLite writer's handle, a PostgreSQL transaction): it reads what the store holds for the
//! event (on PostgreSQL in one round trip), lets [`crate::plan`] answer a repeat or decide, and
//! executes the plan's writes. [`SqlStore`] is the rest of [`Store`] over a [`Backend`], which lends pooled
//! connections and keeps what really differs: how an event's transaction is opened, held and
//! committed, how the database is reached, and how the store closes.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::sql::{self, Arg, Conn, Decode, Dialect, Row, Sql, Texts};
use super::{
    AnswerOf, Applied, AuditQuery, AuditRow, ChatStats, Count, DeliveryOutcome, DislikedAnswer,
    DueTimer, FeedbackCounts, OutboxRow, PresenceRow, QueuedTicket, RecordedEvent, RoutedDecideFn,
    RoutingNeed, SlaTimerRow, Store, StoreError, TicketQuery, TicketRecord, TicketRow, TimerRow,
    UnansweredQuestion,
};
use crate::bot::{Feedback, Message as ChatMessage, Session, Speaker, Turn};
use crate::kpi;
use crate::model::{Channel, Event, Named, Priority, Ticket};
use crate::plan::{self, Start, Stored};
use crate::routing::presence::StatusSource;
use crate::routing::{AgentStatus, RoutingState};

/// Which of a backend's pools a statement runs on. SQLite reads through a pool of read-only
/// connections and writes through its one writer connection; PostgreSQL has one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    Read,
    Write,
}

/// What a database adds to the shared store.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The sqlx database; its connections run [`Conn`]'s statements.
    type Db: sqlx::Database<Connection: Conn>;

    /// The pool for reads or for writes.
    fn pool(&self, on: On) -> &sqlx::Pool<Self::Db>;

    /// [`Store::apply_routed`]: opens the event's transaction, serialises it with the events
    /// it must follow, runs [`apply_one`], and commits.
    fn apply_routed(
        &self,
        event: Event,
        sent: Option<serde_json::Value>,
        fingerprint: String,
        received_at: DateTime<Utc>,
        need: RoutingNeed,
        decide: RoutedDecideFn,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// [`Store::save_chat_turn`]: [`save_turn`] in a transaction of its own (SQLite's writer
    /// commits turns with the events waiting beside them instead).
    fn save_turn(&self, turn: &Turn) -> impl Future<Output = Result<i64, StoreError>> + Send {
        async move {
            let mut tx = self.pool(On::Write).begin().await?;
            let version = save_turn(&mut *tx, turn).await?;
            tx.commit().await?;
            Ok(version)
        }
    }

    /// [`Store::ping`].
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`Store::close`].
    fn close(&self) -> impl Future<Output = ()> + Send;

    /// Runs a statement on a connection of the pool; how many rows it changed.
    fn execute(
        &self,
        on: On,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        async move {
            let mut c = self.pool(on).acquire().await?;
            Conn::execute(&mut *c, sql, args).await
        }
    }

    /// Every row of a query, on a connection of the pool.
    fn fetch<T: Send>(
        &self,
        on: On,
        sql: &Sql,
        args: &[Arg<'_>],
        row: Decode<T>,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send {
        async move {
            let mut c = self.pool(on).acquire().await?;
            Conn::fetch(&mut *c, sql, args, row).await
        }
    }

    /// The first row of a query, on a connection of the pool.
    fn first<T: Send>(
        &self,
        on: On,
        sql: &Sql,
        args: &[Arg<'_>],
        row: Decode<T>,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send {
        async move {
            let mut c = self.pool(on).acquire().await?;
            Conn::first(&mut *c, sql, args, row).await
        }
    }
}

/// A [`Store`] over a SQL database: SQLite ([`super::sqlite::SqliteStore`]) or PostgreSQL
/// ([`super::postgres::PgStore`]).
pub struct SqlStore<B>(pub(crate) B);

/// Decides `event` inside the transaction open on `c` and writes what it produced. `None` when
/// the event's id turned out to be taken meanwhile (another replica committed it): nothing was
/// written, and the caller rolls back and answers from the store.
pub(crate) async fn apply_one<C: Conn>(
    c: &mut C,
    event: &Event,
    sent: Option<&serde_json::Value>,
    fingerprint: &str,
    received_at: DateTime<Utc>,
    routed: Option<&[String]>,
    decide: RoutedDecideFn,
) -> Result<Option<Applied>, StoreError> {
    let stored = read_stored(c, event).await?;
    let before = match plan::start(event, fingerprint, &stored)? {
        Start::Replay(decision) => {
            return Ok(Some(Applied {
                decision: *decision,
                replayed: true,
            }))
        }
        Start::Decide(before) => before,
    };
    let routing = match routed {
        Some(agents) if before.reads_routing() => read_routing(c, Some(agents)).await?,
        _ => RoutingState::default(),
    };
    let decision = before.decide(event, stored.ticket, routing, decide)?;
    let plan = before.plan(event, sent, fingerprint, &decision, received_at)?;
    if !sql::write(c, &plan).await? {
        return Ok(None);
    }
    drop(plan);
    Ok(Some(Applied {
        decision,
        replayed: false,
    }))
}

/// Everything the decision depends on, read after the locks: whether the id was used (perhaps
/// by another replica while this one waited), the ticket, the timer the event fires.
async fn read_stored<C: Conn>(c: &mut C, event: &Event) -> Result<Stored, StoreError> {
    let firing = plan::firing(event);
    if C::DIALECT == Dialect::Postgres {
        let args = [
            Arg::Text(&event.id),
            Arg::Text(&event.ticket.id),
            Arg::OptText(firing),
        ];
        let stored = c.first(&sql::READ_EVENT, &args, stored).await?;
        return Ok(stored.unwrap_or_default());
    }
    let seen = c
        .first(&sql::SEEN, &[Arg::Text(&event.id)], |r| {
            Ok((r.string(0)?, r.string(1)?))
        })
        .await?;
    if seen.is_some() {
        return Ok(Stored {
            seen,
            ..Stored::default()
        });
    }
    let ticket = c
        .first(&sql::TICKET_STATE, &[Arg::Text(&event.ticket.id)], |r| {
            Ok(serde_json::from_str(r.text(0)?)?)
        })
        .await?;
    let timer = match firing {
        Some(id) => {
            c.first(&sql::TIMER_STATE, &[Arg::Text(id)], |r| r.string(0))
                .await?
        }
        None => None,
    };
    Ok(Stored {
        seen: None,
        ticket,
        timer,
    })
}

/// `fingerprint, decision, ticket, timer` ([`sql::READ_EVENT`]).
fn stored(r: &dyn Row) -> Result<Stored, StoreError> {
    if let Some(fingerprint) = r.opt_text(0)? {
        return Ok(Stored {
            seen: Some((fingerprint.to_string(), r.string(1)?)),
            ..Stored::default()
        });
    }
    Ok(Stored {
        seen: None,
        ticket: r.opt_text(2)?.map(serde_json::from_str).transpose()?,
        timer: r.opt_string(3)?,
    })
}

/// Statuses, loads (of `agents`, or everyone's) and cursors, read on `c`.
pub(crate) async fn read_routing<C: Conn>(
    c: &mut C,
    agents: Option<&[String]>,
) -> Result<RoutingState, StoreError> {
    let load: Decode<(String, String, i64)> = |r| Ok((r.string(0)?, r.string(1)?, r.int(2)?));
    let status: Decode<(String, String)> = |r| Ok((r.string(0)?, r.string(1)?));
    let (loads, statuses) = match agents {
        Some(agents) => {
            let agents = Texts::new(agents);
            let of = [Arg::Texts(&agents)];
            let loads = c.fetch(&sql::LOADS_OF, &of, load).await?;
            (loads, c.fetch(&sql::STATUSES_OF, &of, status).await?)
        }
        None => {
            let loads = c.fetch(&sql::LOADS, &[], load).await?;
            (loads, c.fetch(&sql::STATUSES, &[], status).await?)
        }
    };
    let cursors = c
        .fetch(&sql::CURSORS, &[], |r| Ok((r.string(0)?, r.string(1)?)))
        .await?;
    Ok(routing_state(loads, statuses, cursors))
}

/// A state from rows of (assignee, channel, count), (agent, status) and (team, agent).
fn routing_state(
    loads: Vec<(String, String, i64)>,
    statuses: Vec<(String, String)>,
    cursors: Vec<(String, String)>,
) -> RoutingState {
    let mut state = RoutingState::default();
    for (agent, status) in statuses {
        state.agents.entry(agent).or_default().status =
            AgentStatus::parse(&status).unwrap_or_default();
    }
    for (agent, channel, n) in loads.into_iter().filter(|l| l.2 > 0) {
        let channel = Channel::parse(&channel).unwrap_or_default();
        state
            .agents
            .entry(agent)
            .or_default()
            .open
            .add(channel, u32::try_from(n).unwrap_or(u32::MAX));
    }
    state.last_assigned = cursors.into_iter().collect();
    state
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

/// `agent_id, status, source, polled` ([`sql::AGENT_PRESENCE`]).
fn presence_row(r: &dyn Row) -> Result<PresenceRow, StoreError> {
    let status = |column: &str, text: &str| {
        AgentStatus::parse(text).ok_or_else(|| {
            StoreError::Corrupt(format!("agent_status.{column}: `{text}` is not a status"))
        })
    };
    let source = r.text(2)?;
    Ok(PresenceRow {
        agent: r.string(0)?,
        status: status("status", r.text(1)?)?,
        source: StatusSource::parse(source).ok_or_else(|| {
            StoreError::Corrupt(format!("agent_status.source: `{source}` is not a source"))
        })?,
        polled: r.opt_text(3)?.map(|p| status("polled", p)).transpose()?,
    })
}

/// `id, ticket_id, name, rule, due_at, state`
fn timer_row(r: &dyn Row) -> Result<TimerRow, StoreError> {
    Ok(TimerRow {
        id: r.string(0)?,
        ticket_id: r.string(1)?,
        name: r.string(2)?,
        rule: r.string(3)?,
        due_at: r.time(4)?,
        state: r.string(5)?,
    })
}

/// `event_id, ticket_id, rule, at, actions`
fn audit_row(r: &dyn Row) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        event_id: r.string(0)?,
        ticket_id: r.string(1)?,
        rule: r.string(2)?,
        at: r.time(3)?,
        actions: serde_json::from_str(r.text(4)?)?,
    })
}

/// `seq, received_at, event, decision`: a row of [`sql::EVENTS_PAGE`], [`sql::EVENT`] or
/// [`sql::TICKET_EVENTS`].
fn recorded_row(r: &dyn Row) -> Result<RecordedEvent, StoreError> {
    let (event, sent) = plan::read_recorded_event(serde_json::from_str(r.text(2)?)?)
        .map_err(StoreError::Corrupt)?;
    Ok(RecordedEvent {
        seq: r.int(0)?,
        received_at: r.time(1)?,
        event,
        sent,
        decision: serde_json::from_str(r.text(3)?)?,
    })
}

/// `id, event_id, ticket_id, action, target, state, attempts, next_at, last_error`
fn outbox_row(r: &dyn Row) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: r.string(0)?,
        event_id: r.string(1)?,
        ticket_id: r.string(2)?,
        action: serde_json::from_str(r.text(3)?)?,
        target: r.opt_text(4)?.map(serde_json::from_str).transpose()?,
        state: r.string(5)?,
        attempts: r.int(6)?,
        next_at: r.time(7)?,
        last_error: r.opt_string(8)?,
    })
}

/// An FTS5 query for the rows of a trigram index (`tokenize='trigram'`) whose text may hold
/// `text`: every three letters of it, each quoted, all required. It finds more rows than hold
/// `text` (the three letters apart) and never fewer, so the search checks the text itself
/// after. `None` for text of fewer than three letters, which such an index cannot look up.
fn trigram_query(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    grams.sort_unstable();
    grams.dedup();
    // Any of them finds every row that holds the text; a few dozen find about as few rows as
    // all of them would, and a long text pasted into the search box stays one quick lookup.
    grams.truncate(32);
    (!grams.is_empty()).then(|| {
        let quoted: Vec<String> = grams
            .iter()
            .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
            .collect();
        quoted.join(" AND ")
    })
}

/// A `LIKE` pattern for the values that contain `text` (its `%`, `_` and `\` escaped, the
/// escape character both databases use by default).
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A time after any a store holds: where a search without a cursor starts. (Year 9999 sorts
/// after every stored time in SQLite's text form too, which a later year would not.)
fn far_future() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `seq, author, text, at, answer_id, score, feedback, handoff, name`
fn chat_message_row(r: &dyn Row) -> Result<ChatMessage, StoreError> {
    let author = match r.text(1)? {
        "bot" => Speaker::Bot,
        "agent" => Speaker::Agent,
        _ => Speaker::Customer,
    };
    let feedback = r
        .opt_text(6)?
        .map(|f| serde_json::from_value::<Feedback>(serde_json::Value::String(f.to_string())))
        .transpose()?;
    Ok(ChatMessage {
        seq: r.int(0)? as u32,
        author,
        text: r.string(2)?,
        at: r.time(3)?,
        answer_id: r.opt_string(4)?,
        score: r.real(5)?,
        feedback,
        handoff: r.flag(7)?,
        name: r.opt_string(8)?,
    })
}

/// `ticket_id, team, channel, rule, action, queued_at`
fn queued_row(r: &dyn Row) -> Result<QueuedTicket, StoreError> {
    Ok(QueuedTicket {
        ticket_id: r.string(0)?,
        team: r.string(1)?,
        channel: Channel::parse(r.text(2)?).unwrap_or_default(),
        rule: r.string(3)?,
        action: r.string(4)?,
        queued_at: r.time(5)?,
    })
}

/// `queue, priority, secs`; a priority no longer known is left out.
fn sample_row(r: &dyn Row) -> Result<Option<(String, Priority, i64)>, StoreError> {
    let Some(priority) = Priority::parse(r.text(1)?) else {
        return Ok(None);
    };
    Ok(Some((r.string(0)?, priority, r.int(2)?)))
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

/// Adds a chat session's transcript lines on `c`; `event` is the event that brought them (a
/// person's line), which adds its lines once: `false` when they were added before.
async fn insert_chat_messages<C: Conn>(
    c: &mut C,
    session: &str,
    messages: &[ChatMessage],
    event: Option<&str>,
) -> Result<bool, StoreError> {
    for m in messages {
        let args = [
            Arg::Text(session),
            Arg::Int(i64::from(m.seq)),
            Arg::Text(m.author.as_str()),
            Arg::Text(&m.text),
            Arg::Time(m.at),
            Arg::OptText(m.answer_id.as_deref()),
            Arg::Real(m.score),
            Arg::OptText(m.feedback.map(Feedback::as_str)),
            Arg::Bool(m.handoff),
            Arg::OptText(m.name.as_deref()),
            Arg::OptText(event),
        ];
        if event.is_some() {
            if c.execute_unique(&sql::INSERT_CHAT_MESSAGE, &args)
                .await?
                .is_none()
            {
                return Ok(false);
            }
        } else {
            c.execute(&sql::INSERT_CHAT_MESSAGE, &args).await?;
        }
    }
    Ok(true)
}

/// Writes one chat turn on `c`, inside the caller's transaction; the session's new version.
pub(crate) async fn save_turn<C: Conn>(c: &mut C, turn: &Turn) -> Result<i64, StoreError> {
    let s = &turn.session;
    let mut stored = s.clone();
    stored.version = s.version + 1;
    let session = serde_json::to_string(&stored)?;
    let args = [
        Arg::Text(s.state.as_str()),
        Arg::Int(i64::from(s.questions)),
        Arg::Int(i64::from(s.answered)),
        Arg::Int(stored.version),
        Arg::Text(&session),
        Arg::Time(s.updated_at),
        Arg::Text(&s.id),
        Arg::Int(s.version),
    ];
    if c.execute(&sql::UPDATE_CHAT_SESSION, &args).await? == 0 {
        return Err(StoreError::Stale(format!(
            "chat session `{}` changed while this message was answered; send it again",
            s.id
        )));
    }
    if !insert_chat_messages(c, &s.id, &turn.messages, turn.event_id.as_deref()).await? {
        return Err(StoreError::Stale(format!(
            "the line of event `{}` is in chat session `{}` already",
            turn.event_id.as_deref().unwrap_or_default(),
            s.id
        )));
    }
    let first = turn.messages.first();
    if let Some(first) = first.filter(|_| turn.message_id.is_some() || turn.answer.is_some()) {
        let args = [
            Arg::OptText(turn.message_id.as_deref()),
            Arg::OptText(turn.answer.as_deref()),
            Arg::Text(&s.id),
            Arg::Int(i64::from(first.seq)),
        ];
        if c.execute_unique(&sql::SET_CHAT_ANSWER, &args)
            .await?
            .is_none()
        {
            return Err(StoreError::Stale(format!(
                "chat message `{}` of session `{}` was answered meanwhile",
                turn.message_id.as_deref().unwrap_or_default(),
                s.id
            )));
        }
    }
    if let Some((answer_id, value)) = &turn.feedback {
        let args = [
            Arg::Text(&s.id),
            Arg::Int(first.map_or(0, |m| i64::from(m.seq))),
            Arg::Text(&s.bot),
            Arg::OptText(answer_id.as_deref()),
            Arg::Text(value.as_str()),
            Arg::Time(s.updated_at),
        ];
        c.execute(&sql::INSERT_CHAT_FEEDBACK, &args).await?;
    }
    if let Some(q) = &turn.unanswered {
        let args = [Arg::Text(&s.bot), Arg::Text(q), Arg::Time(s.updated_at)];
        c.execute(&sql::COUNT_UNANSWERED, &args).await?;
    }
    Ok(stored.version)
}

/// The tallies of whole days for grouping `dim` (see [`kpi::Rollup`]): each day's from its
/// rollup while that still matches the day's facts, the other days counted again and their
/// rollups stored for the next report.
async fn day_tallies<B: Backend>(
    db: &B,
    dim: &str,
    days: std::ops::Range<i64>,
) -> Result<Vec<kpi::Tally>, StoreError> {
    let range = [Arg::Int(days.start), Arg::Int(days.end)];
    let prints = db
        .fetch(On::Read, &sql::KPI_DAY_PRINTS, &range, |r| {
            Ok(kpi::DayPrint {
                day: r.int(0)?,
                facts: r.int(1)?,
                seq_sum: r.int(2)?,
            })
        })
        .await?;
    let args = [Arg::Text(dim), Arg::Int(days.start), Arg::Int(days.end)];
    let stored = db
        .fetch(On::Read, &sql::KPI_ROLLUPS, &args, rollup_row)
        .await?;
    let (mut tallies, stale) = kpi::fresh(&prints, stored);
    for run in stale {
        let args = [
            Arg::Time(kpi::day_start(run.start)),
            Arg::Time(kpi::day_start(run.end)),
            Arg::Text(dim),
            Arg::Bool(true),
        ];
        let counted = db
            .fetch(On::Read, &sql::KPI_TALLIES, &args, tally_row)
            .await?;
        for rollup in kpi::rollups(counted) {
            // A report does not fail for want of a rollup: the next one counts again.
            if let Err(e) = store_rollup(db, dim, &rollup).await {
                tracing::warn!(day = rollup.print.day, dim, error = %e, "KPI rollup not stored");
            }
            tallies.extend(rollup.tallies);
        }
    }
    Ok(tallies)
}

async fn store_rollup<B: Backend>(
    db: &B,
    dim: &str,
    rollup: &kpi::Rollup,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(&rollup.tallies)
        .map_err(|e| StoreError::Corrupt(format!("a KPI rollup: {e}")))?;
    let args = [
        Arg::Int(rollup.print.day),
        Arg::Text(dim),
        Arg::Int(rollup.print.facts),
        Arg::Int(rollup.print.seq_sum),
        Arg::Text(&json),
    ];
    db.execute(On::Write, &sql::UPSERT_ROLLUP, &args).await?;
    Ok(())
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B> {
    // The backend's future, boxed as it is: an `async` wrapper around it would hold the event
    // and the answer once more on every event's way in and out.
    fn apply_routed<'s, 'f>(
        &'s self,
        event: Event,
        sent: Option<serde_json::Value>,
        fingerprint: String,
        received_at: DateTime<Utc>,
        need: RoutingNeed,
        decide: RoutedDecideFn,
    ) -> Pin<Box<dyn Future<Output = Result<Applied, StoreError>> + Send + 'f>>
    where
        's: 'f,
        Self: 'f,
    {
        Box::pin(
            self.0
                .apply_routed(event, sent, fingerprint, received_at, need, decide),
        )
    }

    async fn set_agent_status(
        &self,
        agent: &str,
        status: AgentStatus,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let args = [Arg::Text(agent), Arg::Text(status.name()), Arg::Time(now)];
        self.0
            .execute(On::Write, &sql::SET_AGENT_STATUS, &args)
            .await?;
        Ok(())
    }

    async fn apply_polled_status(
        &self,
        agent: &str,
        status: AgentStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let args = [Arg::Text(agent), Arg::Text(status.name()), Arg::Time(now)];
        let changed = self
            .0
            .execute(On::Write, &sql::APPLY_POLLED_STATUS, &args)
            .await?;
        Ok(changed > 0)
    }

    async fn agent_presence(&self) -> Result<Vec<PresenceRow>, StoreError> {
        self.0
            .fetch(On::Read, &sql::AGENT_PRESENCE, &[], presence_row)
            .await
    }

    async fn routing_state(&self) -> Result<RoutingState, StoreError> {
        let mut c = self.0.pool(On::Read).acquire().await?;
        read_routing(&mut *c, None).await
    }

    async fn queued(
        &self,
        team: Option<&str>,
        limit: u32,
    ) -> Result<Vec<QueuedTicket>, StoreError> {
        let args = [Arg::OptText(team), Arg::Int(limit.clamp(1, 1000).into())];
        self.0
            .fetch(On::Read, &sql::QUEUED, &args, queued_row)
            .await
    }

    async fn ticket(&self, id: &str) -> Result<Option<TicketRecord>, StoreError> {
        let mut c = self.0.pool(On::Read).acquire().await?;
        let c = &mut *c;
        let row = Conn::first(c, &sql::TICKET, &[Arg::Text(id)], |r| {
            Ok((serde_json::from_str::<Ticket>(r.text(0)?)?, r.int(1)?))
        })
        .await?;
        let Some((ticket, version)) = row else {
            return Ok(None);
        };
        let timers = c
            .fetch(&sql::TICKET_TIMERS, &[Arg::Text(id)], timer_row)
            .await?;
        let history = c
            .fetch(&sql::TICKET_HISTORY, &[Arg::Text(id)], audit_row)
            .await?;
        Ok(Some(TicketRecord {
            ticket,
            version,
            timers,
            history,
        }))
    }

    async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        let args = [
            Arg::OptText(q.ticket.as_deref()),
            Arg::OptText(q.rule.as_deref()),
            Arg::Int(q.limit.unwrap_or(100).clamp(1, 1000).into()),
        ];
        self.0.fetch(On::Read, &sql::AUDIT, &args, audit_row).await
    }

    async fn kpi_report(&self, q: &kpi::Query) -> Result<kpi::Report, StoreError> {
        let dim = q.group_by.map_or("", kpi::Dim::name);
        let split = kpi::split(q.from, q.to);
        let mut tallies = Vec::new();
        for (from, to) in split.edges {
            let args = [
                Arg::Time(from),
                Arg::Time(to),
                Arg::Text(dim),
                Arg::Bool(q.interval.is_some()),
            ];
            let counted = self
                .0
                .fetch(On::Read, &sql::KPI_TALLIES, &args, tally_row)
                .await?;
            tallies.extend(counted.into_iter().map(|(t, _)| t));
        }
        if let Some(days) = split.days {
            tallies.extend(day_tallies(&self.0, dim, days).await?);
        }
        let counts = self
            .0
            .fetch(
                On::Read,
                &sql::KPI_BACKLOG,
                &[Arg::Time(q.from), Arg::Text(dim)],
                |r| Ok((fact_kind(r, 0)?, r.opt_string(1)?, r.int(2)?)),
            )
            .await?;
        let range = [Arg::Time(q.from), Arg::Time(q.to)];
        let sessions = self
            .0
            .fetch(On::Read, &sql::BOT_SESSIONS, &range, |r| {
                Ok(kpi::BotSession {
                    at: r.time(0)?,
                    answered: r.flag(1)?,
                    handed_off: r.flag(2)?,
                })
            })
            .await?;
        let mut before = kpi::Backlog::new();
        for (kind, key, n) in counts {
            let sign = if kind == kpi::Kind::Solved { -1 } else { 1 };
            *before.entry(key).or_default() += sign * n;
        }
        Ok(kpi::tallied(q, tallies, &before, &sessions))
    }

    async fn put_facts(&self, facts: &[kpi::Fact], clear: bool) -> Result<(), StoreError> {
        let mut tx = self.0.pool(On::Write).begin().await?;
        if clear {
            Conn::execute(&mut *tx, &sql::CLEAR_FACTS, &[]).await?;
            Conn::execute(&mut *tx, &sql::CLEAR_ROLLUPS, &[]).await?;
        }
        for f in facts {
            Conn::execute(&mut *tx, &sql::UPSERT_FACT, &sql::fact_args(f)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn events_page(
        &self,
        after: i64,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let args = [Arg::Int(after), Arg::Time(since), Arg::Int(limit.into())];
        self.0
            .fetch(On::Read, &sql::EVENTS_PAGE, &args, recorded_row)
            .await
    }

    async fn event(&self, id: &str) -> Result<Option<RecordedEvent>, StoreError> {
        self.0
            .first(On::Read, &sql::EVENT, &[Arg::Text(id)], recorded_row)
            .await
    }

    async fn ticket_before(&self, ticket: &str, seq: i64) -> Result<Option<Ticket>, StoreError> {
        let args = [Arg::Text(ticket), Arg::Int(seq)];
        let decision = self
            .0
            .first(On::Read, &sql::DECISION_BEFORE, &args, |r| {
                Ok(serde_json::from_str::<crate::engine::Decision>(r.text(0)?)?)
            })
            .await?;
        Ok(decision.map(|d| d.ticket))
    }

    async fn response_samples(
        &self,
        since: DateTime<Utc>,
        per_key: u32,
    ) -> Result<Vec<(String, Priority, i64)>, StoreError> {
        let args = [Arg::Time(since), Arg::Int(per_key.into())];
        let rows = self
            .0
            .fetch(On::Read, &sql::RESPONSE_SAMPLES, &args, sample_row)
            .await?;
        Ok(rows.into_iter().flatten().collect())
    }

    async fn claim_due_timers(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let args = [
            Arg::Text(owner),
            Arg::Time(lease_until),
            Arg::Time(now),
            Arg::Int(limit.into()),
        ];
        let mut out = self
            .0
            .fetch(On::Write, &sql::CLAIM_TIMERS, &args, |r| {
                timer_row(r).map(|row| DueTimer { row })
            })
            .await?;
        out.sort_by_key(|t| t.row.due_at);
        Ok(out)
    }

    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due = self
            .0
            .first(On::Read, &sql::NEXT_TIMER_DUE, &[], |r| r.opt_time(0))
            .await?;
        Ok(due.flatten())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let args = [
            Arg::Text(owner),
            Arg::Time(lease_until),
            Arg::Time(now),
            Arg::Int(limit.into()),
        ];
        let mut out = self
            .0
            .fetch(On::Write, &sql::CLAIM_DELIVERIES, &args, outbox_row)
            .await?;
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
        let args = [
            Arg::Text(state),
            Arg::Time(next_at),
            Arg::OptText(error),
            Arg::Text(id),
            Arg::Int(attempt),
        ];
        Ok(self
            .0
            .execute(On::Write, &sql::FINISH_DELIVERY, &args)
            .await?
            == 1)
    }

    async fn outbox_page(
        &self,
        state: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let limit = Arg::Int(limit.clamp(1, 1000).into());
        match state {
            Some(state) => {
                let args = [Arg::OptText(after), limit, Arg::Text(state)];
                self.0
                    .fetch(On::Read, &sql::OUTBOX_OF_STATE, &args, outbox_row)
                    .await
            }
            None => {
                let args = [Arg::OptText(after), limit];
                self.0
                    .fetch(On::Read, &sql::OUTBOX, &args, outbox_row)
                    .await
            }
        }
    }

    async fn outbox_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.0
            .fetch(On::Read, &sql::OUTBOX_COUNTS, &[], |r| {
                Ok((r.string(0)?, r.int(1)?))
            })
            .await
    }

    async fn search_tickets(&self, q: &TicketQuery) -> Result<Vec<TicketRow>, StoreError> {
        // The keys keep a ticket's tags (and the customer's fields) apart with line breaks: a
        // tag or a customer asked for with one is none of them.
        let apart = |f: &Option<String>| f.as_deref().is_some_and(|f| f.contains('\n'));
        if apart(&q.tag) || apart(&q.customer) {
            return Ok(Vec::new());
        }
        let tag = q.tag.as_deref().map(plan::tag_key);
        let customer = q.customer.as_deref().map(plan::search_text);
        let text = q.text.as_deref().map(plan::search_text);
        // How the trigram indexes are asked (see [`sql::SEARCH_TICKETS`]).
        let (text_index, customer_like, tag_like) =
            match <<B::Db as sqlx::Database>::Connection as Conn>::DIALECT {
                Dialect::Sqlite => (text.as_deref().and_then(trigram_query), None, None),
                Dialect::Postgres => (
                    text.as_deref().map(like_pattern),
                    customer.as_deref().map(like_pattern),
                    tag.as_deref().map(like_pattern),
                ),
            };
        // No cursor: from after the newest (a time later than any the store holds).
        let (after_at, after_id) = match &q.after {
            Some((at, id)) => (*at, id.as_str()),
            None => (far_future(), ""),
        };
        let args = [
            Arg::OptText(q.status.map(Named::name)),
            Arg::OptText(q.priority.map(Named::name)),
            Arg::OptText(q.channel.map(Named::name)),
            Arg::OptText(q.group.as_deref()),
            Arg::OptText(q.assignee.as_deref()),
            Arg::Bool(q.open_only),
            Arg::OptText(tag.as_deref()),
            Arg::OptText(customer.as_deref()),
            Arg::OptText(text.as_deref()),
            Arg::Time(after_at),
            Arg::Text(after_id),
            Arg::Int(q.limit.clamp(1, 1000).into()),
            Arg::OptText(text_index.as_deref()),
            Arg::OptText(customer_like.as_deref()),
            Arg::OptText(tag_like.as_deref()),
        ];
        self.0
            .fetch(On::Read, &sql::SEARCH_TICKETS, &args, |r| {
                let updated_at = r.time(2)?;
                Ok(TicketRow {
                    ticket: serde_json::from_str(r.text(0)?)?,
                    created_at: r.opt_time(1)?.unwrap_or(updated_at),
                    updated_at,
                })
            })
            .await
    }

    async fn ticket_events(&self, id: &str, limit: u32) -> Result<Vec<RecordedEvent>, StoreError> {
        let args = [Arg::Text(id), Arg::Int(limit.into())];
        let mut events = self
            .0
            .fetch(On::Read, &sql::TICKET_EVENTS, &args, recorded_row)
            .await?;
        events.reverse();
        Ok(events)
    }

    async fn ticket_outbox(&self, id: &str, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        let args = [Arg::Text(id), Arg::Int(limit.into())];
        self.0
            .fetch(On::Read, &sql::TICKET_OUTBOX, &args, outbox_row)
            .await
    }

    async fn sla_timers_due(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SlaTimerRow>, StoreError> {
        let args = [Arg::Time(from), Arg::Time(until), Arg::Int(limit.into())];
        self.0
            .fetch(On::Read, &sql::SLA_TIMERS_DUE, &args, |r| {
                Ok(SlaTimerRow {
                    timer: timer_row(r)?,
                    ticket: serde_json::from_str(r.text(6)?)?,
                })
            })
            .await
    }

    async fn sla_breached(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError> {
        let args = [Arg::Time(since), Arg::Int(limit.into())];
        self.0
            .fetch(On::Read, &sql::SLA_BREACHED, &args, |r| {
                Ok(serde_json::from_str(r.text(0)?)?)
            })
            .await
    }

    async fn count(&self, what: Count) -> Result<i64, StoreError> {
        let (statement, arg) = match what {
            Count::EventsSince(t) => (&sql::COUNT_EVENTS_SINCE, Some(Arg::Time(t))),
            Count::TimersPending => (&sql::COUNT_TIMERS_PENDING, None),
            Count::TimersDue(t) => (&sql::COUNT_TIMERS_DUE, Some(Arg::Time(t))),
            Count::Outbox(state) => (&sql::COUNT_OUTBOX, Some(Arg::Text(state))),
            Count::OpenTickets => (&sql::COUNT_OPEN_TICKETS, None),
        };
        let args: &[Arg<'_>] = match &arg {
            Some(a) => std::slice::from_ref(a),
            None => &[],
        };
        let n = self
            .0
            .first(On::Read, statement, args, |r| r.int(0))
            .await?;
        Ok(n.unwrap_or(0))
    }

    async fn redeliver(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let args = [Arg::Time(now), Arg::Text(id)];
        if self.0.execute(On::Write, &sql::REDELIVER, &args).await? == 1 {
            return Ok(true);
        }
        let exists = self
            .0
            .first(On::Read, &sql::OUTBOX_ROW_EXISTS, &[Arg::Text(id)], |_| {
                Ok(())
            })
            .await?;
        Ok(exists.is_some())
    }

    async fn last_schedule_run(
        &self,
        schedule: &str,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        self.0
            .first(
                On::Write,
                &sql::LAST_SCHEDULE_RUN,
                &[Arg::Text(schedule)],
                |r| Ok((r.time(0)?, r.string(1)?)),
            )
            .await
    }

    async fn record_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let args = [
            Arg::Text(schedule),
            Arg::Time(fire_at),
            Arg::Text(state),
            Arg::Time(now),
        ];
        self.0
            .execute(On::Write, &sql::RECORD_SCHEDULE_RUN, &args)
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
        let args = [
            Arg::Text(schedule),
            Arg::Time(fire_at),
            Arg::Text(owner),
            Arg::Time(lease_until),
            Arg::Time(now),
        ];
        Ok(self
            .0
            .execute(On::Write, &sql::CLAIM_SCHEDULE_RUN, &args)
            .await?
            == 1)
    }

    async fn finish_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let args = [Arg::Time(now), Arg::Text(schedule), Arg::Time(fire_at)];
        self.0
            .execute(On::Write, &sql::FINISH_SCHEDULE_RUN, &args)
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
        let statuses = Texts::new(statuses);
        let args = [
            Arg::Text(after),
            Arg::Texts(&statuses),
            Arg::OptTime(idle_before),
            Arg::Int(limit.into()),
        ];
        self.0
            .fetch(On::Write, &sql::SCHEDULE_TICKETS, &args, |r| r.string(0))
            .await
    }

    async fn close(&self) {
        self.0.close().await;
    }

    async fn create_chat_session(
        &self,
        session: &Session,
        messages: &[ChatMessage],
    ) -> Result<(), StoreError> {
        let mut tx = self.0.pool(On::Write).begin().await?;
        let json = serde_json::to_string(session)?;
        let args = [
            Arg::Text(&session.id),
            Arg::Text(&session.bot),
            Arg::Text(session.state.as_str()),
            Arg::Int(i64::from(session.questions)),
            Arg::Int(i64::from(session.answered)),
            Arg::Int(session.version),
            Arg::Text(&json),
            Arg::Time(session.created_at),
            Arg::Time(session.updated_at),
        ];
        if Conn::execute(&mut *tx, &sql::INSERT_CHAT_SESSION, &args).await? == 0 {
            return Err(StoreError::Stale(format!(
                "chat session `{}` exists already",
                session.id
            )));
        }
        insert_chat_messages(&mut *tx, &session.id, messages, None).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn chat_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.0
            .first(On::Read, &sql::CHAT_SESSION, &[Arg::Text(id)], |r| {
                let mut s: Session = serde_json::from_str(r.text(0)?)?;
                s.version = r.int(1)?;
                Ok(s)
            })
            .await
    }

    async fn chat_messages(&self, id: &str, after: u32) -> Result<Vec<ChatMessage>, StoreError> {
        self.0
            .fetch(
                On::Read,
                &sql::CHAT_MESSAGES,
                &[Arg::Text(id), Arg::Int(i64::from(after))],
                chat_message_row,
            )
            .await
    }

    async fn linked_ticket(
        &self,
        helpdesk: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.0
            .first(
                On::Read,
                &sql::LINKED_TICKET,
                &[Arg::Text(helpdesk), Arg::Text(external_id)],
                |r| r.string(0),
            )
            .await
    }

    async fn chat_line_of_event(
        &self,
        session: &str,
        event: &str,
    ) -> Result<Option<u32>, StoreError> {
        self.0
            .first(
                On::Read,
                &sql::CHAT_LINE_OF_EVENT,
                &[Arg::Text(session), Arg::Text(event)],
                |r| Ok(r.int(0)? as u32),
            )
            .await
    }

    async fn save_chat_turn(&self, turn: &Turn) -> Result<i64, StoreError> {
        self.0.save_turn(turn).await
    }

    async fn chat_answer(
        &self,
        session: &str,
        message: AnswerOf<'_>,
    ) -> Result<Option<String>, StoreError> {
        let answer: Decode<Option<String>> = |r| Ok(r.opt_string(0).ok().flatten());
        let row = match message {
            AnswerOf::Id(id) => {
                let args = [Arg::Text(session), Arg::Text(id)];
                self.0
                    .first(On::Read, &sql::CHAT_ANSWER_BY_ID, &args, answer)
                    .await?
            }
            AnswerOf::Seq(seq) => {
                let args = [Arg::Text(session), Arg::Int(i64::from(seq))];
                self.0
                    .first(On::Read, &sql::CHAT_ANSWER_BY_SEQ, &args, answer)
                    .await?
            }
        };
        Ok(row.flatten())
    }

    async fn chat_stats(&self, bot: &str, top: u32) -> Result<ChatStats, StoreError> {
        let mut c = self.0.pool(On::Read).acquire().await?;
        let c = &mut *c;
        let counts = Conn::first(c, &sql::CHAT_COUNTS, &[Arg::Text(bot)], |r| {
            let n = |col| r.int(col);
            Ok(ChatStats {
                bot: String::new(),
                sessions: n(0)?,
                engaged: n(1)?,
                handed_off: n(2)?,
                deflected: n(3)?,
                confirmed: n(6)?,
                deflection_rate: None,
                questions: n(4)?,
                answered: n(5)?,
                answer_rate: None,
                feedback: FeedbackCounts::default(),
                top_unanswered: Vec::new(),
                top_disliked: Vec::new(),
            })
        })
        .await?;
        let mut stats = counts.ok_or_else(|| StoreError::from(sqlx::Error::RowNotFound))?;
        let feedback = c
            .fetch(&sql::CHAT_FEEDBACK_COUNTS, &[Arg::Text(bot)], |r| {
                Ok((r.string(0)?, r.int(1)?))
            })
            .await?;
        for (value, n) in feedback {
            match value.as_str() {
                "yes" => stats.feedback.yes = n,
                "no" => stats.feedback.no = n,
                _ => stats.feedback.person += n,
            }
        }
        let args = [Arg::Text(bot), Arg::Int(i64::from(top.clamp(1, 1000)))];
        stats.top_unanswered = c
            .fetch(&sql::TOP_UNANSWERED, &args, |r| {
                Ok(UnansweredQuestion {
                    question: r.string(0)?,
                    count: r.int(1)?,
                    last_at: r.time(2)?,
                })
            })
            .await?;
        stats.top_disliked = c
            .fetch(&sql::TOP_DISLIKED, &args, |r| {
                Ok(DislikedAnswer {
                    answer_id: r.string(0)?,
                    count: r.int(1)?,
                    last_at: r.time(2)?,
                })
            })
            .await?;
        stats.bot = bot.to_string();
        Ok(stats.with_rates())
    }
}

fn fact_kind(r: &dyn Row, col: usize) -> Result<kpi::Kind, StoreError> {
    let k = r.text(col)?;
    kpi::Kind::parse(k).ok_or_else(|| StoreError::Corrupt(format!("unknown KPI fact kind `{k}`")))
}

/// A row of [`sql::KPI_TALLIES`]: the tally and its facts' sum of write numbers.
fn tally_row(r: &dyn Row) -> Result<(kpi::Tally, i64), StoreError> {
    let list = |col: usize| -> Result<Vec<i64>, StoreError> {
        let Some(text) = r.opt_text(col)? else {
            return Ok(Vec::new());
        };
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Corrupt(format!("KPI seconds `{s}` are no number")))
            })
            .collect()
    };
    let count = |col: usize| -> Result<u64, StoreError> {
        Ok(u64::try_from(r.opt_int(col)?.unwrap_or(0)).unwrap_or(0))
    };
    let day = r
        .opt_text(4)?
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                .map_err(|_| StoreError::Corrupt(format!("KPI day `{d}`")))
        })
        .transpose()?;
    let tally = kpi::Tally {
        kind: fact_kind(r, 0)?,
        metric: r.opt_text(1)?.and_then(|m| {
            crate::model::Metric::ALL
                .iter()
                .copied()
                .find(|x| x.name() == m)
        }),
        breached: r.flag(2)?,
        key: r.opt_string(3)?,
        at: day,
        count: count(5)?,
        secs: list(6)?,
        business_secs: list(7)?,
        touched: count(8)?,
        one_touch: count(9)?,
        rated: count(10)?,
        score_sum: count(11)?,
        satisfied: count(12)?,
    };
    Ok((tally, r.opt_int(13)?.unwrap_or(0)))
}

/// A row of [`sql::KPI_ROLLUPS`]. A rollup that no longer reads (written by a version that
/// tallied differently) counts as stale: its day is counted again and the rollup replaced.
fn rollup_row(r: &dyn Row) -> Result<kpi::Rollup, StoreError> {
    let day = r.int(0)?;
    let (facts, tallies) = match serde_json::from_str(r.text(3)?) {
        Ok(tallies) => (r.int(1)?, tallies),
        Err(e) => {
            tracing::debug!(day, error = %e, "KPI rollup unreadable: counted again");
            (-1, Vec::new())
        }
    };
    Ok(kpi::Rollup {
        print: kpi::DayPrint {
            day,
            facts,
            seq_sum: r.int(2)?,
        },
        tallies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigram_query_asks_for_every_three_letters_quoted() {
        assert_eq!(
            trigram_query("refund").as_deref(),
            Some(r#""efu" AND "fun" AND "ref" AND "und""#)
        );
        // Letters, not bytes; quotes doubled; repeats asked once.
        assert_eq!(
            trigram_query("فاتورة").as_deref(),
            Some(r#""اتو" AND "تور" AND "فات" AND "ورة""#)
        );
        assert_eq!(trigram_query(r#"x"y"#).as_deref(), Some(r#""x""y""#));
        assert_eq!(trigram_query("abab").as_deref(), Some(r#""aba" AND "bab""#));
        assert_eq!(trigram_query("ab"), None);
        assert_eq!(trigram_query(""), None);
        let long = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(3);
        assert_eq!(trigram_query(&long).unwrap().matches(" AND ").count(), 31);
    }

    #[test]
    fn a_like_pattern_matches_the_text_and_nothing_it_would_read_as_a_wildcard() {
        assert_eq!(like_pattern("w0007"), "%w0007%");
        assert_eq!(like_pattern(r"50%_off\"), r"%50\%\_off\\%");
    }
}
