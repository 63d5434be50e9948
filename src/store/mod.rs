//! Durable state: tickets, accepted events with their decisions, the audit log, timers and the
//! outbox. One transaction per event: the decision and everything it creates commit together
//! before the helpdesk gets its answer.
//!
//! [`Store`] is the seam between the daemon and a database. [`sqlite::SqliteStore`] is the
//! embedded default; [`postgres::PgStore`] serves several replicas sharing one PostgreSQL
//! database. Both pass the same behavioural suite (`tests/store.rs`).

pub mod postgres;
mod shared;
pub(crate) mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bot::{Message as ChatMessage, Session, Turn};
use crate::engine::Decision;
use crate::model::{Channel, Event, Priority, Status, Ticket};
pub(crate) use crate::plan::is_open;
use crate::routing::presence::StatusSource;
use crate::routing::{AgentStatus, RoutingState};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The event id was used before for a different event.
    #[error("event id `{0}` was already used for a different event")]
    Conflict(String),
    /// The database could not be reached or failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Deciding the event failed (the engine panicked); nothing of it was written.
    #[error("{0}")]
    Decide(String),
    /// The store URL is not understood.
    #[error("{0}")]
    Config(String),
    /// A chat turn was computed from a session state that has changed since (another message
    /// of the same session was saved first), or a session id is taken.
    #[error("{0}")]
    Stale(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<crate::plan::Refused> for StoreError {
    fn from(e: crate::plan::Refused) -> Self {
        match e {
            crate::plan::Refused::Conflict(id) => StoreError::Conflict(id),
            crate::plan::Refused::Panicked(why) => StoreError::Decide(why),
            crate::plan::Refused::Corrupt(why) => StoreError::Corrupt(why),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// The outcome of applying one event.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The decision (stored earlier, when `replayed`).
    pub decision: Decision,
    /// The event id had been seen: nothing was applied again.
    pub replayed: bool,
}

/// Decides an event given the ticket the store holds (if any). Runs inside the store's
/// transaction, so it must be quick and must not block.
pub type DecideFn = Box<dyn FnOnce(Option<Ticket>) -> Decision + Send + 'static>;

/// Like [`DecideFn`], also given the routing state the store read inside the transaction
/// (agents' statuses, their loads without this ticket, the round-robin cursors).
pub type RoutedDecideFn =
    Box<dyn FnOnce(Option<Ticket>, RoutingState) -> Decision + Send + 'static>;

pub use crate::routing::RoutingNeed;

/// A ticket waiting in a team's queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueuedTicket {
    /// Ticket.
    pub ticket_id: String,
    /// Team.
    pub team: String,
    /// The ticket's channel.
    pub channel: Channel,
    /// The rule whose `assign` queued it.
    pub rule: String,
    /// The action's place in the rule (`then[0]`).
    pub action: String,
    /// Since when it waits.
    pub queued_at: DateTime<Utc>,
}

/// An agent's stored status, what set it, and the status last read from a helpdesk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceRow {
    /// The agent.
    pub agent: String,
    /// Their current status.
    pub status: AgentStatus,
    /// What set it: the API or a helpdesk poll.
    pub source: StatusSource,
    /// The status last read from a helpdesk; `None`: never read.
    pub polled: Option<AgentStatus>,
}

/// A pending or finished timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimerRow {
    /// Stable id (`<event id>/<name>`).
    pub id: String,
    /// Ticket.
    pub ticket_id: String,
    /// Name in the rule pack.
    pub name: String,
    /// Rule that started it.
    pub rule: String,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// `pending`, `fired` or `cancelled`.
    pub state: String,
}

/// One fired rule in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditRow {
    /// Event decided.
    pub event_id: String,
    /// Ticket.
    pub ticket_id: String,
    /// Rule that fired.
    pub rule: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The actions this rule produced (a decision of an older version: all of the decision's).
    pub actions: serde_json::Value,
}

/// An event as the store recorded it, with the decision it got: what a KPI rebuild, an export,
/// a replay and a ticket's timeline read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedEvent {
    /// Its place in the order events were decided (resume a read after it).
    pub seq: i64,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The event as accepted.
    pub event: Event,
    /// Its ticket as the caller sent it (JSON); for events recorded before frontdesk kept
    /// that, the whole ticket. A replay lays it over its own version of the ticket.
    pub sent: serde_json::Value,
    /// The decision it got.
    pub decision: crate::engine::Decision,
}

/// A ticket with its timers and decision history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TicketRecord {
    /// Current state.
    pub ticket: Ticket,
    /// Events decided for it.
    pub version: i64,
    /// Timers, newest first.
    pub timers: Vec<TimerRow>,
    /// Rules that fired, oldest first.
    pub history: Vec<AuditRow>,
}

/// An action waiting for (or done with) delivery outside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutboxRow {
    /// Stable delivery id (`<event id>/<action index>`), sent as the idempotency key.
    pub id: String,
    /// The event whose decision produced it.
    pub event_id: String,
    /// Ticket.
    pub ticket_id: String,
    /// What to deliver.
    pub action: crate::model::Action,
    /// For an action applied through a helpdesk's API: where (`{"helpdesk", "account", ...}`);
    /// `None` for webhooks, Slack and e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<serde_json::Value>,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    /// Attempts so far (also the fencing token of the current claim).
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_at: DateTime<Utc>,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// What a delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// Delivered.
    Delivered,
    /// Failed; try again at this time.
    Retry {
        /// Next attempt.
        at: DateTime<Utc>,
        /// Why it failed.
        error: String,
    },
    /// Failed for good (or out of attempts).
    Dead {
        /// Why.
        error: String,
    },
}

/// What a ticket search asks for ([`Store::search_tickets`]): tickets for which every filter
/// given holds, newest `updated_at` first (ties by id, descending).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketQuery {
    /// In this status.
    pub status: Option<Status>,
    /// Of this priority.
    pub priority: Option<Priority>,
    /// From this channel.
    pub channel: Option<Channel>,
    /// In this group (team), exactly.
    pub group: Option<String>,
    /// Assigned to this agent, exactly.
    pub assignee: Option<String>,
    /// Carrying this tag (the whole tag, in any case; none when it has a line break).
    pub tag: Option<String>,
    /// With this text in the customer's id, e-mail address or name (in any case; none when it
    /// has a line break).
    pub customer: Option<String>,
    /// With this text in the subject or in the text of one of the ticket's messages (in any
    /// case: lower case compares as [`crate::plan::search_text`] folds it; messages stored
    /// before the text was kept with them, on SQLite, in ASCII lower case only).
    pub text: Option<String>,
    /// Open tickets only (not solved, not closed).
    pub open_only: bool,
    /// Only tickets after this one in the order (its `updated_at` and id: the last row of the
    /// previous page).
    pub after: Option<(DateTime<Utc>, String)>,
    /// At most this many (1 to 1,000).
    pub limit: u32,
}

/// A ticket a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketRow {
    /// The ticket as the last decision left it.
    pub ticket: Ticket,
    /// When it was created: the helpdesk's time, else when frontdesk first stored it.
    pub created_at: DateTime<Utc>,
    /// When frontdesk last decided an event of it (the order of a search).
    pub updated_at: DateTime<Utc>,
}

/// A pending SLA timer ([`Store::sla_timers_due`]) and its ticket as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaTimerRow {
    /// The timer (named `sla:<metric>`).
    pub timer: TimerRow,
    /// Its ticket, with the SLA clock the timer belongs to.
    pub ticket: Ticket,
}

/// One figure of the live counters ([`Store::count`]), each counted by one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Events received at this time or later.
    EventsSince(DateTime<Utc>),
    /// Pending timers.
    TimersPending,
    /// Pending timers due at this time or before.
    TimersDue(DateTime<Utc>),
    /// Outbox rows in this state (`pending`, `delivered`, `dead`).
    Outbox(&'static str),
    /// Open tickets (not solved, not closed).
    OpenTickets,
}

/// Filter for the audit log.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// Only this ticket.
    pub ticket: Option<String>,
    /// Only this rule.
    pub rule: Option<String>,
    /// At most this many rows (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A due timer handed to the scheduler under a lease. It carries no ticket: the timer is
/// decided against the ticket as stored when its turn comes.
#[derive(Debug, Clone)]
pub struct DueTimer {
    /// The timer.
    pub row: TimerRow,
}

/// Feedback counts of a bot's chats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeedbackCounts {
    /// "Yes, this answered my question."
    pub yes: i64,
    /// "No."
    pub no: i64,
    /// "Talk to a person" (the quick reply, or asking in words after an answer).
    pub person: i64,
}

/// A question bots could not answer, normalised, with how often it was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UnansweredQuestion {
    /// The question, normalised (lower case, no punctuation, numbers as `#N`).
    pub question: String,
    /// Times asked.
    pub count: i64,
    /// Last asked.
    pub last_at: DateTime<Utc>,
}

/// How a bot's chats went (`GET /v1/bots/{bot}/stats`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatStats {
    /// The bot.
    pub bot: String,
    /// Sessions opened.
    pub sessions: i64,
    /// Sessions in which the customer asked something or was handed to a person.
    pub engaged: i64,
    /// Sessions handed to a person.
    pub handed_off: i64,
    /// Sessions the bot resolved: not handed off, and at least one question answered (a "yes"
    /// is always an answered question).
    pub deflected: i64,
    /// Deflected sessions that also got a "yes".
    pub confirmed: i64,
    /// `deflected / engaged`; `null` before any session engaged.
    pub deflection_rate: Option<f64>,
    /// Questions asked (requests for a person and feedback are not questions).
    pub questions: i64,
    /// Questions answered.
    pub answered: i64,
    /// `answered / questions`; `null` before any question.
    pub answer_rate: Option<f64>,
    /// Feedback given.
    pub feedback: FeedbackCounts,
    /// The most often unanswered questions, most frequent first.
    pub top_unanswered: Vec<UnansweredQuestion>,
    /// The answers customers most often said "no" to ("this did not answer my question"),
    /// most frequent first.
    #[serde(default)]
    pub top_disliked: Vec<DislikedAnswer>,
}

/// An entry whose answer customers said did not answer their question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DislikedAnswer {
    /// The entry.
    pub answer_id: String,
    /// Times its answer got a "no".
    pub count: i64,
    /// The last time.
    pub last_at: DateTime<Utc>,
}

impl ChatStats {
    /// Fills in the two rates from the counts.
    pub fn with_rates(mut self) -> ChatStats {
        let rate = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
        self.deflection_rate = rate(self.deflected, self.engaged);
        self.answer_rate = rate(self.answered, self.questions);
        self
    }
}

/// Durable state behind the daemon.
#[async_trait]
pub trait Store: Send + Sync {
    /// Applies an event once: if its id is new, decides it against the stored ticket and commits
    /// the decision, the new ticket state, timers, outbox rows and audit rows in one
    /// transaction; if the id was seen, returns the stored decision. Events of one ticket are
    /// never decided concurrently.
    async fn apply(
        &self,
        event: Event,
        fingerprint: String,
        received_at: DateTime<Utc>,
        decide: DecideFn,
    ) -> Result<Applied, StoreError> {
        self.apply_routed(
            event,
            None,
            fingerprint,
            received_at,
            RoutingNeed::default(),
            Box::new(move |ticket, _| decide(ticket)),
        )
        .await
    }

    /// [`Store::apply`] for a decision that may assign agents. With `need.locks` (the routing
    /// lock names of the teams it may assign to, sorted) the store serialises it with every
    /// other decision holding one of them (PostgreSQL: transaction-scoped advisory locks taken
    /// after the ticket's; SQLite: the single writer already does) and then reads the routing
    /// state of `need.agents` for `decide`. Without locks the state is empty. Cursors moved
    /// and the queue entry in the decision commit with it. `sent` is the event's ticket as the
    /// caller sent it (`None`: the whole ticket), recorded with the event
    /// ([`crate::plan::recorded_event`]) so a replay lays over its own version of the ticket
    /// what the decision laid over the stored one.
    async fn apply_routed(
        &self,
        event: Event,
        sent: Option<serde_json::Value>,
        fingerprint: String,
        received_at: DateTime<Utc>,
        need: RoutingNeed,
        decide: RoutedDecideFn,
    ) -> Result<Applied, StoreError>;

    /// Records what an agent said about their availability (through the API). The status last
    /// read from a helpdesk for them is kept as it was.
    async fn set_agent_status(
        &self,
        agent: &str,
        status: AgentStatus,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Applies a status read from a helpdesk and remembers it as the status last read, unless
    /// it is already the one last read (then nothing changes, whatever the current status);
    /// whether it was applied. Of replicas polling the same change, one applies it.
    async fn apply_polled_status(
        &self,
        agent: &str,
        status: AgentStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Every stored status, with what set it and the status last read from a helpdesk.
    async fn agent_presence(&self) -> Result<Vec<PresenceRow>, StoreError>;

    /// The routing state as committed: statuses, loads (all open tickets), cursors.
    async fn routing_state(&self) -> Result<RoutingState, StoreError>;

    /// Tickets waiting in `team`'s queue (every team's when `None`), longest waiting first.
    async fn queued(&self, team: Option<&str>, limit: u32)
        -> Result<Vec<QueuedTicket>, StoreError>;

    /// A ticket with its timers and history.
    async fn ticket(&self, id: &str) -> Result<Option<TicketRecord>, StoreError>;

    /// The audit log, newest first.
    async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, StoreError>;

    /// The KPI report of a range (`docs/kpis.md`), from the facts decisions left and the chat
    /// sessions.
    async fn kpi_report(&self, q: &crate::kpi::Query) -> Result<crate::kpi::Report, StoreError>;

    /// Writes KPI facts in one transaction (a rebuild from the events table); `clear` forgets
    /// every fact first.
    async fn put_facts(&self, facts: &[crate::kpi::Fact], clear: bool) -> Result<(), StoreError>;

    /// Recorded events in the order they were decided: up to `limit` after `after` (a
    /// [`RecordedEvent::seq`]; 0 for the first page), received at `since` or later.
    async fn events_page(
        &self,
        after: i64,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// One recorded event and the decision it got, by its id.
    async fn event(&self, id: &str) -> Result<Option<RecordedEvent>, StoreError>;

    /// Ticket `ticket` as the decision before its event `seq` (a [`RecordedEvent::seq`]) left
    /// it, in the order its events were decided: the ticket that event was decided on.
    /// `None` when no event of the ticket was decided before it.
    async fn ticket_before(&self, ticket: &str, seq: i64) -> Result<Option<Ticket>, StoreError>;

    /// Recent measured first responses: `(queue, priority, seconds)` of the samples met at
    /// `since` or later, the newest `per_key` of each queue and priority.
    async fn response_samples(
        &self,
        since: DateTime<Utc>,
        per_key: u32,
    ) -> Result<Vec<(String, crate::model::Priority, i64)>, StoreError>;

    /// Claims up to `limit` pending timers due at `now`, leasing them to `owner` until
    /// `lease_until`. A timer whose lease ran out may be claimed again.
    async fn claim_due_timers(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError>;

    /// The earliest due time of a pending timer.
    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Claims up to `limit` outbox rows due at `now` (pending, lease expired), leasing them to
    /// `owner`. Each claim increments the row's `attempts`, which is the fencing token that
    /// [`Store::finish_delivery`] must present.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError>;

    /// Records the outcome of a delivery attempt. Refused (returns `false`) when the row was
    /// claimed again since (its `attempts` moved on) or is no longer pending.
    async fn finish_delivery(
        &self,
        id: &str,
        attempt: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Outbox rows, newest first, optionally of one state.
    async fn outbox(&self, state: Option<&str>, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_page(state, None, limit).await
    }

    /// A page of outbox rows, newest first, optionally of one state: up to `limit` (1 to
    /// 1,000) of those older than row `after` (the last row of the previous page; `None`: from
    /// the newest). No rows when there is no row `after`.
    async fn outbox_page(
        &self,
        state: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError>;

    /// How many outbox rows each state holds, by state name.
    async fn outbox_counts(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Tickets a search finds ([`TicketQuery`]), newest `updated_at` first.
    async fn search_tickets(&self, q: &TicketQuery) -> Result<Vec<TicketRow>, StoreError>;

    /// The newest `limit` events of a ticket with their decisions, oldest first.
    async fn ticket_events(&self, id: &str, limit: u32) -> Result<Vec<RecordedEvent>, StoreError>;

    /// A ticket's outbox rows (every state), newest first, at most `limit`.
    async fn ticket_outbox(&self, id: &str, limit: u32) -> Result<Vec<OutboxRow>, StoreError>;

    /// Pending SLA timers (named `sla:<metric>`) due from `from` to `until` (both included),
    /// soonest first (ties by timer id), at most `limit`, each with its ticket.
    async fn sla_timers_due(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SlaTimerRow>, StoreError>;

    /// Open tickets with a breached SLA clock that is still running or was breached at
    /// `since` or later, the latest breach first (ties by id, descending), at most `limit`.
    async fn sla_breached(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError>;

    /// One figure of the live counters.
    async fn count(&self, what: Count) -> Result<i64, StoreError>;

    /// The ticket linked to conversation `external_id` of `helpdesk` (a chat opened there).
    async fn linked_ticket(
        &self,
        helpdesk: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError>;

    /// Puts a dead (or delivered) row back to pending, due now. `false` when there is no such row.
    async fn redeliver(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// The latest recorded occurrence of a cron schedule and its state (`running`, `done`,
    /// `skipped` or `baseline`).
    async fn last_schedule_run(
        &self,
        schedule: &str,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError>;

    /// Records an occurrence that does not run (`skipped`, or the `baseline` a new schedule
    /// counts from). Does nothing when the occurrence is recorded already.
    async fn record_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Claims an occurrence to run it, leased to `owner` until `lease_until`: `true` when it
    /// was not recorded yet, or is still running under a lease that ran out (its runner died).
    async fn claim_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Marks a claimed occurrence done.
    async fn finish_schedule_run(
        &self,
        schedule: &str,
        fire_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Ticket ids a schedule's `for_each` selects, in id order after `after`: status among
    /// `statuses` (any when empty), no event decided since `idle_before` (when given). Tickets
    /// named `schedule:…` (those of schedules without `for_each`) are never selected.
    async fn schedule_tickets(
        &self,
        statuses: &[String],
        idle_before: Option<DateTime<Utc>>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;

    /// Flushes and closes.
    async fn close(&self);

    /// Stores a new chat session with its first transcript lines (the greeting). A taken id is
    /// [`StoreError::Stale`].
    async fn create_chat_session(
        &self,
        session: &Session,
        messages: &[ChatMessage],
    ) -> Result<(), StoreError>;

    /// A chat session (its `version` as stored).
    async fn chat_session(&self, id: &str) -> Result<Option<Session>, StoreError>;

    /// A session's transcript after line `after` (0: all of it), oldest first.
    async fn chat_messages(&self, id: &str, after: u32) -> Result<Vec<ChatMessage>, StoreError>;

    /// The number of the line event `event` added to session `session`, if it added one.
    async fn chat_line_of_event(
        &self,
        session: &str,
        event: &str,
    ) -> Result<Option<u32>, StoreError>;

    /// Saves one turn in one transaction: the session's new state, the transcript lines, the
    /// feedback, the unanswered question, and with the customer's line its
    /// [`Turn::message_id`] and [`Turn::answer`]. Refused with [`StoreError::Stale`] when the
    /// stored session's version is no longer `turn.session.version` (the state the turn was
    /// computed from) or the message id was taken meanwhile; returns the new version.
    async fn save_chat_turn(&self, turn: &Turn) -> Result<i64, StoreError>;

    /// The answer stored with a customer's message of `session` ([`Turn::answer`]), if that
    /// message was taken.
    async fn chat_answer(
        &self,
        session: &str,
        message: AnswerOf<'_>,
    ) -> Result<Option<String>, StoreError>;

    /// Counts over a bot's sessions, and its `top` most often unanswered questions.
    async fn chat_stats(&self, bot: &str, top: u32) -> Result<ChatStats, StoreError>;
}

/// Which customer's message of a chat session [`Store::chat_answer`] looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerOf<'a> {
    /// The message the client sent with this id.
    Id(&'a str),
    /// The message with this number in the transcript.
    Seq(u32),
}

/// Where a store URL points: `sqlite://PATH` (also `sqlite:PATH`, or a plain path ending in
/// `.db` or `.sqlite`), or `postgres://USER@HOST/DB` (also `postgresql://`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location<'a> {
    /// A SQLite database: the path, with any `?option` sqlx reads.
    Sqlite(&'a str),
    /// A PostgreSQL database: the whole URL.
    Postgres(&'a str),
}

impl<'a> Location<'a> {
    /// Reads a store URL.
    pub fn parse(url: &'a str) -> Result<Location<'a>, StoreError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Ok(Location::Sqlite(path));
        }
        if url.ends_with(".db") || url.ends_with(".sqlite") {
            return Ok(Location::Sqlite(url));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url));
        }
        Err(StoreError::Config(format!(
            "unknown store URL `{url}`; use sqlite://PATH (e.g. sqlite://frontdesk.db) or postgres://USER@HOST/DB"
        )))
    }

    /// The SQLite file it names (without options), if it names one; `:memory:` names none.
    pub fn sqlite_file(self) -> Option<&'a str> {
        match self {
            Location::Sqlite(path) => {
                let file = path.split('?').next().unwrap_or(path);
                (file != ":memory:").then_some(file)
            }
            Location::Postgres(_) => None,
        }
    }
}

/// How many events the SQLite store's writer commits before it adds their messages to the
/// search index, in one transaction of their own (an index written with each event would cost
/// each commit more than the event's own rows; searches read the events not in it yet
/// directly). PostgreSQL's trigram indexes defer their writes by themselves (GIN's pending
/// list).
pub const MESSAGE_INDEX_BATCH: usize = 512;

/// Opens a store from a URL (see [`Location`]; on PostgreSQL `max_connections=N` sets the
/// pool size).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match Location::parse(url)? {
        Location::Sqlite(path) => Arc::new(sqlite::SqliteStore::open(path).await?),
        Location::Postgres(url) => Arc::new(postgres::PgStore::open(url).await?),
    })
}

/// Stable fingerprint of an accepted event, to tell a repeat from a reused id. `occurred_at` is
/// left out: adapters fill it from the arrival time when a payload has none, so a helpdesk's
/// retry of the same delivery must not look like a different event.
pub fn fingerprint(event: &Event) -> String {
    use sha2::{Digest, Sha256};
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("occurred_at");
    }
    let digest = Sha256::digest(value.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_name_their_database() {
        let file = |url| Location::parse(url).unwrap().sqlite_file();
        assert_eq!(file("sqlite://a/b.db"), Some("a/b.db"));
        assert_eq!(file("sqlite:x.db?mode=ro"), Some("x.db"));
        assert_eq!(file("desk.sqlite"), Some("desk.sqlite"));
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("postgres://u@h/db"), None);
        assert_eq!(
            Location::parse("postgresql://u@h/db").unwrap(),
            Location::Postgres("postgresql://u@h/db")
        );
        assert!(Location::parse("mysql://u@h/db").is_err());
    }

    #[test]
    fn a_retry_with_another_arrival_time_is_the_same_event() {
        let a = Event::from_json(r#"{"id":"1","type":"ticket.created","occurred_at":"2026-01-01T00:00:00Z","ticket":{"id":"T"}}"#).unwrap();
        let mut b = a.clone();
        b.occurred_at = Some("2026-01-01T00:00:07Z".parse().unwrap());
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b.ticket.subject = "changed".into();
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
