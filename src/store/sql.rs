//! The dialect seam: every statement of both stores, written once, and the few things each
//! database does its own way.
//!
//! A statement is written with PostgreSQL's `$N` placeholders; its SQLite text is made from it
//! at compile time (`?N`, which SQLite binds by number); both are sent with their white space
//! folded. Where the two really differ (JSON
//! arrays against `text[]` and `jsonb`, `SKIP LOCKED` claims, how a queue keeps its order) the
//! two texts stand side by side in [`sql!`]. Values are bound as [`Arg`]s: each connection
//! binds them in its own types (SQLite keeps times as the RFC 3339 text of
//! [`crate::store::sqlite::ts`], PostgreSQL as `timestamptz`; a list is a JSON array on SQLite,
//! a `text[]` on PostgreSQL) and reads rows back through [`Row`].
//!
//! [`write`] executes a [`Plan`] on any [`Conn`]: the SQLite writer's locked handle, or a
//! PostgreSQL transaction.

use std::future::Future;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use super::StoreError;
use crate::plan::{Plan, Write};

/// Which SQL a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// One statement in both dialects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sql {
    pub postgres: &'static str,
    pub sqlite: &'static str,
}

impl Sql {
    /// The text for `dialect`.
    pub fn text(&self, dialect: Dialect) -> &'static str {
        let text = match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        };
        debug_assert!(!text.is_empty(), "a statement {dialect:?} does not take");
        text
    }
}

/// Whether `c` is white space in SQL text.
const fn blank(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\t' | b'\r')
}

/// The length of [`compact`]`(text, _)`.
pub(crate) const fn compact_len(text: &str) -> usize {
    let b = text.as_bytes();
    let (mut i, mut n, mut quoted, mut space) = (0, 0, false, false);
    while i < b.len() {
        if !quoted && blank(b[i]) {
            space = n > 0;
        } else {
            if space {
                n += 1;
                space = false;
            }
            if b[i] == b'\'' {
                quoted = !quoted;
            }
            n += 1;
        }
        i += 1;
    }
    n
}

/// `text` as it is sent: each run of white space outside quotes one space (none at the ends),
/// so that the statement caches, which hash the text on every use, hash less; for SQLite each
/// `$N` placeholder as `?N`, which SQLite binds by number. Evaluated at compile time by
/// [`sql!`].
pub(crate) const fn compact<const N: usize>(text: &str, sqlite: bool) -> [u8; N] {
    let b = text.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut n, mut quoted, mut space) = (0, 0, false, false);
    while i < b.len() {
        let c = b[i];
        if !quoted && blank(c) {
            space = n > 0;
        } else {
            if space {
                out[n] = b' ';
                n += 1;
                space = false;
            }
            if c == b'\'' {
                quoted = !quoted;
            }
            let placeholder = !quoted && c == b'$' && i + 1 < b.len() && b[i + 1].is_ascii_digit();
            out[n] = if sqlite && placeholder { b'?' } else { c };
            n += 1;
        }
        i += 1;
    }
    out
}

/// Compact SQL text as a `str` (it stays UTF-8: only ASCII bytes change).
pub(crate) const fn utf8(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("SQL text is UTF-8"),
    }
}

/// A statement: `sql!("…")` when both databases take the same text, `sql!(postgres: "…",
/// sqlite: "…")` when they differ, `sql!(postgres: "…")` or `sql!(sqlite: "…")` for a step
/// only one of them takes. All are written with `$N` placeholders.
macro_rules! sql {
    ($text:literal) => {
        sql!(postgres: $text, sqlite: $text)
    };
    (postgres: $pg:literal) => {
        sql!(postgres: $pg, sqlite: "")
    };
    (sqlite: $lite:literal) => {
        sql!(postgres: "", sqlite: $lite)
    };
    (postgres: $pg:literal, sqlite: $lite:literal) => {{
        use $crate::store::sql::{compact, compact_len, utf8};
        const PG: &[u8] = &compact::<{ compact_len($pg) }>($pg, false);
        const LITE: &[u8] = &compact::<{ compact_len($lite) }>($lite, true);
        $crate::store::sql::Sql {
            postgres: utf8(PG),
            sqlite: utf8(LITE),
        }
    }};
}

/// A value bound to a statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Real(Option<f64>),
    Bool(bool),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
    Texts(&'a Texts<'a>),
}

/// A list of texts bound as one value: a `text[]` on PostgreSQL, a JSON array (read with
/// `json_each`) on SQLite, encoded once however often it is bound.
#[derive(Debug)]
pub(crate) struct Texts<'a> {
    items: &'a [String],
    json: OnceLock<String>,
}

impl<'a> Texts<'a> {
    pub fn new(items: &'a [String]) -> Texts<'a> {
        Texts {
            items,
            json: OnceLock::new(),
        }
    }

    /// The texts.
    pub fn items(&self) -> &'a [String] {
        self.items
    }

    /// The texts as a JSON array.
    pub fn json(&self) -> &str {
        self.json
            .get_or_init(|| serde_json::to_string(self.items).unwrap_or_default())
    }
}

/// A row read back, its columns by number, typed the same way in both dialects.
pub(crate) trait Row {
    fn text(&self, col: usize) -> Result<&str, StoreError>;
    fn opt_text(&self, col: usize) -> Result<Option<&str>, StoreError>;
    fn int(&self, col: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, col: usize) -> Result<Option<i64>, StoreError>;
    fn real(&self, col: usize) -> Result<Option<f64>, StoreError>;
    /// A boolean column (an integer on SQLite).
    fn flag(&self, col: usize) -> Result<bool, StoreError>;
    /// A time column (RFC 3339 text on SQLite).
    fn time(&self, col: usize) -> Result<DateTime<Utc>, StoreError>;
    fn opt_time(&self, col: usize) -> Result<Option<DateTime<Utc>>, StoreError>;

    fn string(&self, col: usize) -> Result<String, StoreError> {
        self.text(col).map(str::to_string)
    }

    fn opt_string(&self, col: usize) -> Result<Option<String>, StoreError> {
        Ok(self.opt_text(col)?.map(str::to_string))
    }
}

/// How a row becomes a value.
pub(crate) type Decode<T> = fn(&dyn Row) -> Result<T, StoreError>;

/// A connection that runs statements in its dialect (inside a transaction or not: the caller
/// says).
pub(crate) trait Conn: Send {
    const DIALECT: Dialect;

    /// Runs a statement; how many rows it changed.
    fn execute(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Like [`Conn::execute`]; `None` when a unique key refused the row.
    fn execute_unique(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Every row of a query.
    fn fetch<T: Send>(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
        row: Decode<T>,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;

    /// The first row of a query.
    fn first<T: Send>(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
        row: Decode<T>,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send;
}

/// Implements [`Conn`] for an sqlx connection type, given how that dialect binds an [`Arg`].
macro_rules! sqlx_conn {
    ($conn:ty, $dialect:expr, $bind:path) => {
        impl $crate::store::sql::Conn for $conn {
            const DIALECT: $crate::store::sql::Dialect = $dialect;

            async fn execute(
                &mut self,
                sql: &$crate::store::sql::Sql,
                args: &[$crate::store::sql::Arg<'_>],
            ) -> Result<u64, $crate::store::StoreError> {
                let mut q = sqlx::query(sql.text(Self::DIALECT));
                for a in args {
                    q = $bind(q, *a);
                }
                Ok(q.execute(&mut *self).await?.rows_affected())
            }

            async fn execute_unique(
                &mut self,
                sql: &$crate::store::sql::Sql,
                args: &[$crate::store::sql::Arg<'_>],
            ) -> Result<Option<u64>, $crate::store::StoreError> {
                let mut q = sqlx::query(sql.text(Self::DIALECT));
                for a in args {
                    q = $bind(q, *a);
                }
                match q.execute(&mut *self).await {
                    Ok(done) => Ok(Some(done.rows_affected())),
                    Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }

            async fn fetch<T: Send>(
                &mut self,
                sql: &$crate::store::sql::Sql,
                args: &[$crate::store::sql::Arg<'_>],
                row: $crate::store::sql::Decode<T>,
            ) -> Result<Vec<T>, $crate::store::StoreError> {
                let mut q = sqlx::query(sql.text(Self::DIALECT));
                for a in args {
                    q = $bind(q, *a);
                }
                q.fetch_all(&mut *self)
                    .await?
                    .iter()
                    .map(|r| row(r))
                    .collect()
            }

            async fn first<T: Send>(
                &mut self,
                sql: &$crate::store::sql::Sql,
                args: &[$crate::store::sql::Arg<'_>],
                row: $crate::store::sql::Decode<T>,
            ) -> Result<Option<T>, $crate::store::StoreError> {
                let mut q = sqlx::query(sql.text(Self::DIALECT));
                for a in args {
                    q = $bind(q, *a);
                }
                q.fetch_optional(&mut *self)
                    .await?
                    .as_ref()
                    .map(|r| row(r))
                    .transpose()
            }
        }
    };
}

/// Implements [`Row`] for an sqlx row type; `$own` are the dialect's own `flag`, `time` and
/// `opt_time`.
macro_rules! sqlx_row {
    ($row:ty, { $($own:tt)* }) => {
        impl $crate::store::sql::Row for $row {
            fn text(&self, col: usize) -> Result<&str, $crate::store::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_text(&self, col: usize) -> Result<Option<&str>, $crate::store::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn int(&self, col: usize) -> Result<i64, $crate::store::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_int(&self, col: usize) -> Result<Option<i64>, $crate::store::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn real(&self, col: usize) -> Result<Option<f64>, $crate::store::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            $($own)*
        }
    };
}

pub(crate) use {sqlx_conn, sqlx_row};

// ---------------------------------------------------------------------------------------------
// Committing an event
// ---------------------------------------------------------------------------------------------

/// What the store holds for an event, on PostgreSQL in one round trip: `$1` the event id, `$2`
/// the ticket, `$3` the timer it fires.
pub(crate) const READ_EVENT: Sql = sql!(
    postgres: "SELECT e.fingerprint, e.decision,
            (SELECT state FROM tickets WHERE id = $2) AS ticket,
            (SELECT state FROM timers WHERE id = $3) AS timer
     FROM (VALUES (1)) AS one LEFT JOIN events e ON e.id = $1"
);

/// The stored fingerprint and decision of an event id.
pub(crate) const SEEN: Sql = sql!("SELECT fingerprint, decision FROM events WHERE id = $1");

/// SQLite, where a statement is no round trip, reads the ticket only for a new id, and the
/// timer only for a `timer.fired` event.
pub(crate) const TICKET_STATE: Sql = sql!(sqlite: "SELECT state FROM tickets WHERE id = $1");

pub(crate) const TIMER_STATE: Sql = sql!(sqlite: "SELECT state FROM timers WHERE id = $1");

const INSERT_EVENT: Sql = sql!(
    "INSERT INTO events (id, ticket_id, type, fingerprint, received_at, event, decision, text_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING"
);

/// The ticket's JSON and its [`crate::plan::TicketKeys`] (`$7`..`$15`). A ticket keeps the time
/// it was first stored as its `created_at` until the helpdesk gives one (`$10`).
const UPSERT_TICKET: Sql = sql!(
    "INSERT INTO tickets (id, state, version, updated_at, assignee, channel, is_open, status,
         priority, team, created_at, subject_key, customer_key, tag_keys, sla_breached_at,
         sla_breach_running)
     VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, COALESCE($10, $3), $11, $12, $13, $14, $15)
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, version = tickets.version + 1,
         updated_at = excluded.updated_at, assignee = excluded.assignee,
         channel = excluded.channel, is_open = excluded.is_open, status = excluded.status,
         priority = excluded.priority, team = excluded.team,
         created_at = COALESCE($10, tickets.created_at), subject_key = excluded.subject_key,
         customer_key = excluded.customer_key, tag_keys = excluded.tag_keys,
         sla_breached_at = excluded.sla_breached_at,
         sla_breach_running = excluded.sla_breach_running"
);

const INSERT_RESPONSE_SAMPLE: Sql = sql!(
    "INSERT INTO response_samples (event_id, ticket_id, queue, priority, achieved_at, secs)
     VALUES ($1, $2, $3, $4, $5, $6)"
);

const UPSERT_CURSOR: Sql = sql!(
    "INSERT INTO routing_cursors (team, last_agent, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (team) DO UPDATE SET last_agent = excluded.last_agent, updated_at = excluded.updated_at"
);

const MOVE_LOAD: Sql = sql!(
    "INSERT INTO agent_load (agent_id, channel, open) VALUES ($1, $2, $3)
     ON CONFLICT (agent_id, channel) DO UPDATE SET open = agent_load.open + excluded.open"
);

/// A queued ticket keeps its place while it stays in the same team. PostgreSQL numbers the
/// rows itself; SQLite takes the next number.
const ENQUEUE: Sql = sql!(
    postgres: "INSERT INTO queue (ticket_id, team, rule, action, queued_at, channel)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (ticket_id) DO UPDATE SET rule = excluded.rule, action = excluded.action,
         channel = excluded.channel,
         queued_at = CASE WHEN queue.team = excluded.team THEN queue.queued_at ELSE excluded.queued_at END,
         team = excluded.team",
    sqlite: "INSERT INTO queue (ticket_id, team, rule, action, queued_at, channel, seq)
     VALUES ($1, $2, $3, $4, $5, $6, (SELECT COALESCE(MAX(seq), 0) + 1 FROM queue))
     ON CONFLICT (ticket_id) DO UPDATE SET rule = excluded.rule, action = excluded.action,
         channel = excluded.channel,
         queued_at = CASE WHEN queue.team = excluded.team THEN queue.queued_at ELSE excluded.queued_at END,
         seq = CASE WHEN queue.team = excluded.team THEN queue.seq ELSE excluded.seq END,
         team = excluded.team"
);

const DEQUEUE: Sql = sql!("DELETE FROM queue WHERE ticket_id = $1 AND NOT ($2 AND team = $3)");

/// PostgreSQL writes the audit rows of all the rules in one statement (`$5`, in order); SQLite
/// one row per rule (`$5` is the rule).
const INSERT_AUDIT: Sql = sql!(
    postgres: "INSERT INTO decisions (event_id, ticket_id, rule, at, actions)
     SELECT $1, $2, rule, $3, actions
     FROM UNNEST($5::text[], $4::text[]) WITH ORDINALITY AS f(rule, actions, n)
     ORDER BY n",
    sqlite: "INSERT INTO decisions (event_id, ticket_id, at, actions, rule) VALUES ($1, $2, $3, $4, $5)"
);

const FIRE_TIMER: Sql =
    sql!("UPDATE timers SET state = 'fired', finished_at = $1 WHERE id = $2 AND state = 'pending'");

/// PostgreSQL cancels the timers listening for the event (`$3`) in one statement.
const CANCEL_TIMERS_LISTENING: Sql = sql!(
    postgres: "UPDATE timers SET state = 'cancelled', finished_at = $1
     WHERE ticket_id = $2 AND state = 'pending' AND cancel_on @> jsonb_build_array($3::text)"
);

/// SQLite reads the ticket's pending timers and cancels those whose `cancel_on` lists the
/// event: most events cancel nothing, and a read that finds nothing costs SQLite half an
/// `UPDATE` that changes nothing. (A `json_each` in the statement costs more than the
/// filter here: its table cursor takes lookaside memory the batch's other cursors then miss.)
const PENDING_TIMERS: Sql =
    sql!(sqlite: "SELECT id, cancel_on FROM timers WHERE ticket_id = $1 AND state = 'pending'");

const CANCEL_TIMER: Sql =
    sql!("UPDATE timers SET state = 'cancelled', finished_at = $1 WHERE id = $2");

const CANCEL_RULE_TIMERS: Sql = sql!(
    "UPDATE timers SET state = 'cancelled', finished_at = $1
     WHERE ticket_id = $2 AND state = 'pending' AND name NOT LIKE $3 || '%'"
);

/// PostgreSQL cancels all the names (`$3`) in one statement; SQLite one name at a time.
const CANCEL_TIMERS_NAMED: Sql = sql!(
    postgres: "UPDATE timers SET state = 'cancelled', finished_at = $1
     WHERE ticket_id = $2 AND state = 'pending' AND name = ANY($3)",
    sqlite: "UPDATE timers SET state = 'cancelled', finished_at = $1
     WHERE ticket_id = $2 AND state = 'pending' AND name = $3"
);

const INSERT_TIMER: Sql = sql!(
    postgres: "INSERT INTO timers (id, ticket_id, name, rule, due_at, cancel_on, state, created_by)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'pending', $7)",
    sqlite: "INSERT INTO timers (id, ticket_id, name, rule, due_at, cancel_on, state, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)"
);

/// `$1` key, `$2` ticket, `$3` event, `$4` kind, `$5` at, `$6` secs, `$7` business secs,
/// `$8` target secs, `$9` metric, `$10` policy, `$11` breached, `$12` score, `$13` replies,
/// `$14` reopens, `$15`..`$19` channel, priority, team, agent, language.
pub(crate) const UPSERT_FACT: Sql = sql!(
    postgres: "INSERT INTO kpi_facts (key, ticket_id, event_id, kind, at, secs, business_secs,
         target_secs, metric, policy, breached, score, replies, reopens, channel, priority, team,
         agent, language, day)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
         $19, $20)
     ON CONFLICT (key) DO UPDATE SET event_id = excluded.event_id, at = excluded.at,
         day = excluded.day, seq = nextval('kpi_facts_seq'),
         secs = excluded.secs, business_secs = excluded.business_secs,
         target_secs = excluded.target_secs, breached = excluded.breached,
         score = excluded.score, replies = excluded.replies, reopens = excluded.reopens,
         channel = excluded.channel, priority = excluded.priority, team = excluded.team,
         agent = excluded.agent, language = excluded.language",
    // A new row under a new `seq`, so that the fact's day sees it rewritten.
    sqlite: "INSERT OR REPLACE INTO kpi_facts (key, ticket_id, event_id, kind, at, secs,
         business_secs, target_secs, metric, policy, breached, score, replies, reopens, channel,
         priority, team, agent, language, day)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
         $19, $20)"
);

/// A page of recorded events in the order they were decided: `(seq, received_at, event,
/// decision)` after `$1`, received at `$2` or later, at most `$3`.
pub(crate) const EVENTS_PAGE: Sql = sql!(
    postgres: "SELECT seq, received_at, event, decision FROM events
               WHERE seq > $1 AND received_at >= $2 ORDER BY seq LIMIT $3",
    sqlite: "SELECT rowid, received_at, event, decision FROM events
             WHERE rowid > $1 AND received_at >= $2 ORDER BY rowid LIMIT $3"
);

/// One recorded event by id, read as [`EVENTS_PAGE`] reads it.
pub(crate) const EVENT: Sql = sql!(
    postgres: "SELECT seq, received_at, event, decision FROM events WHERE id = $1",
    sqlite: "SELECT rowid, received_at, event, decision FROM events WHERE id = $1"
);

/// The decision of ticket `$1`'s event decided last before the event numbered `$2`. The number
/// is found first, from the ticket's index entries alone, so a ticket with many events (a
/// schedule's own) sorts no decisions: on SQLite 3 ms instead of 60 ms for one of 30,000 events.
pub(crate) const DECISION_BEFORE: Sql = sql!(
    postgres: "SELECT decision FROM events
               WHERE seq = (SELECT MAX(seq) FROM events WHERE ticket_id = $1 AND seq < $2)",
    sqlite: "SELECT decision FROM events
             WHERE rowid = (SELECT MAX(rowid) FROM events WHERE ticket_id = $1 AND rowid < $2)"
);

/// The arguments of [`UPSERT_FACT`].
pub(crate) fn fact_args(f: &crate::kpi::Fact) -> [Arg<'_>; 20] {
    [
        Arg::Text(&f.key),
        Arg::Text(&f.ticket),
        Arg::Text(&f.event),
        Arg::Text(f.kind.name()),
        Arg::Time(f.at),
        Arg::OptInt(f.secs),
        Arg::OptInt(f.business_secs),
        Arg::OptInt(f.target_secs),
        Arg::OptText(f.metric.map(crate::model::Named::name)),
        Arg::OptText(f.policy.as_deref()),
        Arg::Bool(f.breached),
        Arg::OptInt(f.score.map(i64::from)),
        Arg::OptInt(f.replies.map(i64::from)),
        Arg::OptInt(f.reopens.map(i64::from)),
        Arg::Text(&f.dims.channel),
        Arg::Text(&f.dims.priority),
        Arg::OptText(f.dims.team.as_deref()),
        Arg::OptText(f.dims.agent.as_deref()),
        Arg::OptText(f.dims.language.as_deref()),
        Arg::Int(crate::kpi::day_number(f.at)),
    ]
}

const LINK_TICKET: Sql = sql!(
    "INSERT INTO ticket_links (helpdesk, external_id, ticket_id) VALUES ($1, $2, $3)
     ON CONFLICT (helpdesk, external_id) DO UPDATE SET ticket_id = excluded.ticket_id"
);

/// The ticket a helpdesk's id of a conversation was linked to.
pub(crate) const LINKED_TICKET: Sql =
    sql!("SELECT ticket_id FROM ticket_links WHERE helpdesk = $1 AND external_id = $2");

const INSERT_OUTBOX: Sql = sql!(
    "INSERT INTO outbox (id, event_id, ticket_id, action, target, state, next_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', $6)"
);

/// Executes `plan` on `c`, inside the caller's transaction. `false` when the event's id turned
/// out to be taken: then nothing was written.
pub(crate) async fn write<C: Conn>(c: &mut C, plan: &Plan<'_>) -> Result<bool, StoreError> {
    use Arg::{Bool, Int, OptText, OptTime, Text, Time};
    let (event, ticket, now) = (Text(plan.event), Text(plan.ticket), Time(plan.now));
    for w in &plan.writes {
        match w {
            Write::InsertEvent {
                kind,
                fingerprint,
                event: json,
                decision,
                text,
            } => {
                let args = [
                    event,
                    ticket,
                    Text(kind),
                    Text(fingerprint),
                    now,
                    Text(json),
                    Text(decision),
                    OptText(text.as_deref()),
                ];
                if c.execute(&INSERT_EVENT, &args).await? == 0 {
                    return Ok(false);
                }
            }
            Write::UpsertTicket {
                state,
                assignee,
                channel,
                open,
                keys,
            } => {
                let args = [
                    ticket,
                    Text(state),
                    now,
                    OptText(*assignee),
                    Text(channel),
                    Bool(*open),
                    Text(keys.status),
                    Text(keys.priority),
                    OptText(keys.group),
                    OptTime(keys.created_at),
                    Text(&keys.subject),
                    Text(&keys.customer),
                    Text(&keys.tags),
                    OptTime(keys.sla_breached_at),
                    Bool(keys.sla_breach_running),
                ];
                c.execute(&UPSERT_TICKET, &args).await?;
            }
            Write::InsertResponseSample {
                queue,
                priority,
                at,
                secs,
            } => {
                let args = [
                    event,
                    ticket,
                    Text(queue),
                    Text(priority),
                    Time(*at),
                    Int(*secs),
                ];
                c.execute(&INSERT_RESPONSE_SAMPLE, &args).await?;
            }
            Write::UpsertCursor { team, agent } => {
                c.execute(&UPSERT_CURSOR, &[Text(team), Text(agent), now])
                    .await?;
            }
            Write::MoveLoad {
                agent,
                channel,
                delta,
            } => {
                c.execute(&MOVE_LOAD, &[Text(agent), Text(channel), Int(*delta)])
                    .await?;
            }
            Write::Enqueue {
                team,
                rule,
                action,
                channel,
            } => {
                let args = [
                    ticket,
                    Text(team),
                    Text(rule),
                    Text(action),
                    now,
                    Text(channel),
                ];
                c.execute(&ENQUEUE, &args).await?;
            }
            Write::Dequeue { keep } => {
                let args = [ticket, Bool(keep.is_some()), Text(keep.unwrap_or(""))];
                c.execute(&DEQUEUE, &args).await?;
            }
            Write::UpsertFact { fact } => {
                c.execute(&UPSERT_FACT, &fact_args(fact)).await?;
            }
            Write::InsertAudit { rules, actions } => match C::DIALECT {
                Dialect::Postgres => {
                    let rules = Texts::new(rules);
                    let actions = Texts::new(actions);
                    let args = [event, ticket, now, Arg::Texts(&actions), Arg::Texts(&rules)];
                    c.execute(&INSERT_AUDIT, &args).await?;
                }
                Dialect::Sqlite => {
                    for (rule, actions) in rules.iter().zip(actions) {
                        let args = [event, ticket, now, Text(actions), Text(rule)];
                        c.execute(&INSERT_AUDIT, &args).await?;
                    }
                }
            },
            Write::FireTimer { id } => {
                c.execute(&FIRE_TIMER, &[now, Text(id)]).await?;
            }
            Write::CancelTimersListening { kind } => match C::DIALECT {
                Dialect::Postgres => {
                    c.execute(&CANCEL_TIMERS_LISTENING, &[now, ticket, Text(kind)])
                        .await?;
                }
                Dialect::Sqlite => {
                    let pending = c
                        .fetch(&PENDING_TIMERS, &[ticket], |r| {
                            Ok((r.string(0)?, r.string(1)?))
                        })
                        .await?;
                    for (id, cancel_on) in &pending {
                        // The event types a timer listens for, as the plan wrote them.
                        let cancel_on: Vec<&str> = serde_json::from_str(cancel_on)?;
                        if cancel_on.contains(kind) {
                            c.execute(&CANCEL_TIMER, &[now, Text(id)]).await?;
                        }
                    }
                }
            },
            Write::CancelRuleTimers { spare } => {
                c.execute(&CANCEL_RULE_TIMERS, &[now, ticket, Text(spare)])
                    .await?;
            }
            Write::CancelTimersNamed { names } => match C::DIALECT {
                Dialect::Postgres => {
                    let names = Texts::new(names);
                    let args = [now, ticket, Arg::Texts(&names)];
                    c.execute(&CANCEL_TIMERS_NAMED, &args).await?;
                }
                Dialect::Sqlite => {
                    for name in *names {
                        c.execute(&CANCEL_TIMERS_NAMED, &[now, ticket, Text(name)])
                            .await?;
                    }
                }
            },
            Write::InsertTimer {
                id,
                name,
                rule,
                due_at,
                cancel_on,
            } => {
                let args = [
                    Text(id),
                    ticket,
                    Text(name),
                    Text(rule),
                    Time(*due_at),
                    Text(cancel_on),
                    event,
                ];
                c.execute(&INSERT_TIMER, &args).await?;
            }
            Write::LinkTicket {
                helpdesk,
                external_id,
            } => {
                let args = [Text(helpdesk), Text(external_id), ticket];
                c.execute(&LINK_TICKET, &args).await?;
            }
            Write::InsertOutbox { id, action, target } => {
                let args = [
                    Text(id),
                    event,
                    ticket,
                    Text(action),
                    OptText(target.as_deref()),
                    now,
                ];
                c.execute(&INSERT_OUTBOX, &args).await?;
            }
        }
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Routing state
// ---------------------------------------------------------------------------------------------

pub(crate) const LOADS: Sql = sql!("SELECT agent_id, channel, open FROM agent_load WHERE open > 0");

/// `$1`: the agents.
pub(crate) const LOADS_OF: Sql = sql!(
    postgres: "SELECT agent_id, channel, open FROM agent_load WHERE open > 0 AND agent_id = ANY($1)",
    sqlite: "SELECT agent_id, channel, open FROM agent_load WHERE open > 0
     AND agent_id IN (SELECT value FROM json_each($1))"
);

pub(crate) const STATUSES: Sql = sql!("SELECT agent_id, status FROM agent_status");

/// `$1`: the agents.
pub(crate) const STATUSES_OF: Sql = sql!(
    postgres: "SELECT agent_id, status FROM agent_status WHERE agent_id = ANY($1)",
    sqlite: "SELECT agent_id, status FROM agent_status WHERE agent_id IN (SELECT value FROM json_each($1))"
);

pub(crate) const CURSORS: Sql = sql!("SELECT team, last_agent FROM routing_cursors");

/// A status an agent set through the API; the status last read from a helpdesk (`polled`)
/// stays as it is.
pub(crate) const SET_AGENT_STATUS: Sql = sql!(
    "INSERT INTO agent_status (agent_id, status, updated_at, source) VALUES ($1, $2, $3, 'api')
     ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
     source = excluded.source"
);

/// A status read from a helpdesk, applied and remembered only when it is not the one read last
/// time: a row changes (and the caller offers queues) once per change in the helpdesk, however
/// many replicas poll it. `$1`: the agent, `$2`: the status, `$3`: now.
pub(crate) const APPLY_POLLED_STATUS: Sql = sql!(
    "INSERT INTO agent_status (agent_id, status, updated_at, polled, source)
     VALUES ($1, $2, $3, $2, 'helpdesk')
     ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
     polled = excluded.polled, source = excluded.source
     WHERE agent_status.polled IS NULL OR agent_status.polled <> excluded.polled"
);

/// Every stored status with where it came from and the status last read from a helpdesk.
pub(crate) const AGENT_PRESENCE: Sql =
    sql!("SELECT agent_id, status, source, polled FROM agent_status ORDER BY agent_id");

pub(crate) const QUEUED: Sql = sql!(
    "SELECT ticket_id, team, channel, rule, action, queued_at FROM queue
     WHERE (CAST($1 AS TEXT) IS NULL OR team = $1) ORDER BY queued_at, seq LIMIT $2"
);

// ---------------------------------------------------------------------------------------------
// Tickets, audit, measured responses
// ---------------------------------------------------------------------------------------------

pub(crate) const TICKET: Sql = sql!("SELECT state, version FROM tickets WHERE id = $1");

pub(crate) const TICKET_TIMERS: Sql = sql!(
    "SELECT id, ticket_id, name, rule, due_at, state FROM timers
     WHERE ticket_id = $1 ORDER BY due_at DESC LIMIT 100"
);

pub(crate) const TICKET_HISTORY: Sql = sql!(
    "SELECT event_id, ticket_id, rule, at, actions FROM decisions
     WHERE ticket_id = $1 ORDER BY seq LIMIT 1000"
);

pub(crate) const AUDIT: Sql = sql!(
    "SELECT event_id, ticket_id, rule, at, actions FROM decisions
     WHERE (CAST($1 AS TEXT) IS NULL OR ticket_id = $1) AND (CAST($2 AS TEXT) IS NULL OR rule = $2)
     ORDER BY seq DESC LIMIT $3"
);

/// A page of tickets, newest `updated_at` first (ties by id, descending), after the keyset
/// cursor (`$10`, `$11`), at most `$12`. Each filter is NULL for none: `$1` status, `$2`
/// priority, `$3` channel, `$4` group, `$5` assignee, `$6` open ones only, `$7` a tag's key
/// ([`crate::plan::tag_key`]), `$8` text in the customer's key, `$9` text in the subject's key
/// or in the key of a message of the ticket.
///
/// `$13` is how the store's trigram index looks for `$9` in messages: on SQLite an FTS5 query
/// of the text's trigrams (NULL when it has fewer than three letters: each ticket's messages
/// are then read; the events committed since the writer last added to the index are read
/// directly), on PostgreSQL a `LIKE` pattern, as are `$14` and `$15` of `$8` and `$7`
/// (`pg_trgm`'s indexes serve them; without the extension they are scans).
///
/// Tickets are walked newest first in `tickets_recent`, which holds every column a filter
/// compares for equality (on SQLite also the text keys), so a ticket is read only when it is
/// returned. The tickets whose texts hold what is searched for are found once, through the
/// trigram indexes, before the walk: a rare word costs one walk of that index, a common one
/// stops after a page. (On PostgreSQL the page's ids are found first and the tickets read
/// after, so that the walk stays in the index instead of reading every ticket it passes.)
pub(crate) const SEARCH_TICKETS: Sql = sql!(
    postgres: "SELECT t.state, t.created_at, t.updated_at FROM (
       SELECT id, updated_at FROM tickets
       WHERE (updated_at, id) < ($10, $11)
         AND (CAST($1 AS TEXT) IS NULL OR status = $1)
         AND (CAST($2 AS TEXT) IS NULL OR priority = $2)
         AND (CAST($3 AS TEXT) IS NULL OR channel = $3)
         AND (CAST($4 AS TEXT) IS NULL OR team = $4)
         AND (CAST($5 AS TEXT) IS NULL OR assignee = $5)
         AND (NOT $6 OR is_open)
         AND (CAST($7 AS TEXT) IS NULL
              OR id IN (SELECT k.id FROM tickets k WHERE k.tag_keys LIKE $15))
         AND (CAST($8 AS TEXT) IS NULL
              OR id IN (SELECT k.id FROM tickets k WHERE k.customer_key LIKE $14))
         AND (CAST($9 AS TEXT) IS NULL
              OR id IN (SELECT k.id FROM tickets k WHERE k.subject_key LIKE $13
                        UNION ALL SELECT e.ticket_id FROM events e WHERE e.text_key LIKE $13))
       ORDER BY updated_at DESC, id DESC LIMIT $12) p
     JOIN tickets t ON t.id = p.id
     ORDER BY p.updated_at DESC, p.id DESC",
    sqlite: "SELECT state, created_at, updated_at FROM tickets INDEXED BY tickets_recent
     WHERE (updated_at, id) < ($10, $11)
       AND ($1 IS NULL OR status = $1)
       AND ($2 IS NULL OR priority = $2)
       AND ($3 IS NULL OR channel = $3)
       AND ($4 IS NULL OR team = $4)
       AND ($5 IS NULL OR assignee = $5)
       AND (NOT $6 OR is_open = 1)
       AND ($7 IS NULL OR instr(tag_keys, $7) > 0)
       AND ($8 IS NULL OR instr(customer_key, $8) > 0)
       AND ($9 IS NULL OR instr(subject_key, $9) > 0
            OR ($13 IS NULL AND EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = tickets.id
                                        AND instr(e.text_key, $9) > 0))
            OR ($13 IS NOT NULL
                AND id IN (SELECT e.ticket_id FROM events_text($13) f
                           JOIN events e ON e.rowid = f.rowid WHERE instr(e.text_key, $9) > 0
                           UNION ALL
                           SELECT e.ticket_id FROM events e
                           WHERE e.rowid > (SELECT events_upto FROM text_indexed)
                             AND instr(e.text_key, $9) > 0)))
     ORDER BY updated_at DESC, id DESC LIMIT $12"
);

/// SQLite: adds the events committed after `text_indexed.events_upto` to the message index
/// (`events_text`); [`MESSAGES_INDEXED`] then moves the mark, in the same transaction.
pub(crate) const INDEX_MESSAGES: Sql = sql!(
    sqlite: "INSERT INTO events_text (rowid, text_key)
             SELECT rowid, text_key FROM events
             WHERE rowid > (SELECT events_upto FROM text_indexed) AND text_key IS NOT NULL"
);

/// SQLite: every event committed is in the message index (see [`INDEX_MESSAGES`]).
pub(crate) const MESSAGES_INDEXED: Sql = sql!(
    sqlite: "UPDATE text_indexed SET events_upto = (SELECT COALESCE(MAX(rowid), 0) FROM events)"
);

/// The newest `$2` events of ticket `$1`, newest first, with their decisions: `(seq,
/// received_at, event, decision)` as [`EVENTS_PAGE`].
pub(crate) const TICKET_EVENTS: Sql = sql!(
    postgres: "SELECT seq, received_at, event, decision FROM events
               WHERE ticket_id = $1 ORDER BY received_at DESC, seq DESC LIMIT $2",
    sqlite: "SELECT rowid, received_at, event, decision FROM events
             WHERE ticket_id = $1 ORDER BY received_at DESC, rowid DESC LIMIT $2"
);

// ---------------------------------------------------------------------------------------------
// The SLA board and live counts
// ---------------------------------------------------------------------------------------------

/// Pending SLA timers due in `[$1, $2]`, soonest first, at most `$3`, each with its ticket:
/// the timer's columns as [`TICKET_TIMERS`], then the ticket's JSON.
pub(crate) const SLA_TIMERS_DUE: Sql = sql!(
    "SELECT t.id, t.ticket_id, t.name, t.rule, t.due_at, t.state, k.state
     FROM timers t JOIN tickets k ON k.id = t.ticket_id
     WHERE t.state = 'pending' AND t.due_at >= $1 AND t.due_at <= $2 AND t.name LIKE 'sla:%'
     ORDER BY t.due_at, t.id LIMIT $3"
);

/// Open tickets with a breached SLA clock that still runs or was breached at `$1` or later,
/// the latest breach first, at most `$2`: their JSON. SQLite is told to walk the index of open
/// tickets back from the latest breach (left to itself it reads every open ticket and sorts).
pub(crate) const SLA_BREACHED: Sql = sql!(
    postgres: "SELECT state FROM tickets
     WHERE is_open AND sla_breached_at IS NOT NULL
       AND (sla_breach_running OR sla_breached_at >= $1)
     ORDER BY sla_breached_at DESC, id DESC LIMIT $2",
    sqlite: "SELECT state FROM tickets INDEXED BY tickets_open
     WHERE is_open = 1 AND sla_breached_at IS NOT NULL
       AND (sla_breach_running = 1 OR sla_breached_at >= $1)
     ORDER BY sla_breached_at DESC, id DESC LIMIT $2"
);

/// Events received at `$1` or later.
pub(crate) const COUNT_EVENTS_SINCE: Sql =
    sql!("SELECT COUNT(*) FROM events WHERE received_at >= $1");

/// Pending timers.
pub(crate) const COUNT_TIMERS_PENDING: Sql =
    sql!("SELECT COUNT(*) FROM timers WHERE state = 'pending'");

/// Pending timers due at `$1` or before.
pub(crate) const COUNT_TIMERS_DUE: Sql =
    sql!("SELECT COUNT(*) FROM timers WHERE state = 'pending' AND due_at <= $1");

/// Outbox rows in state `$1`.
pub(crate) const COUNT_OUTBOX: Sql = sql!("SELECT COUNT(*) FROM outbox WHERE state = $1");

/// Open tickets, from the index of open tickets.
pub(crate) const COUNT_OPEN_TICKETS: Sql = sql!(
    postgres: "SELECT COUNT(*) FROM tickets WHERE is_open",
    sqlite: "SELECT COUNT(*) FROM tickets INDEXED BY tickets_open WHERE is_open = 1"
);

// ---------------------------------------------------------------------------------------------
// KPIs
// ---------------------------------------------------------------------------------------------

/// The facts dated in `[$1, $2)` counted together (a [`crate::kpi::Tally`] per row): per
/// kind, SLA metric and outcome, the value of the dimension `$3` names (`team`, `agent`,
/// `channel`, `priority`, `language`; none for any other) and, when `$4`, the UTC day. The
/// durations a percentile needs come as comma-separated lists, so a report over a million
/// facts reads a few thousand rows. The last column sums the facts' write numbers (a day's
/// [`crate::kpi::DayPrint`] when counted per day).
pub(crate) const KPI_TALLIES: Sql = sql!(
    postgres: "SELECT kind, metric, breached,
            CASE $3::text WHEN 'team' THEN team WHEN 'agent' THEN agent WHEN 'channel' THEN channel
                 WHEN 'priority' THEN priority WHEN 'language' THEN language END AS k,
            CASE WHEN $4 THEN to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') END AS d,
            COUNT(*),
            string_agg(CASE WHEN kind IN ('first_response', 'next_response', 'solved')
                            THEN secs::text END, ','),
            string_agg(CASE WHEN kind IN ('first_response', 'next_response', 'solved')
                            THEN business_secs::text END, ','),
            SUM(CASE WHEN replies > 0 THEN 1 ELSE 0 END)::bigint,
            SUM(CASE WHEN replies = 1 AND COALESCE(reopens, 0) = 0 THEN 1 ELSE 0 END)::bigint,
            COUNT(score), COALESCE(SUM(score), 0)::bigint,
            SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END)::bigint, SUM(seq)::bigint
     FROM kpi_facts WHERE at >= $1 AND at < $2
     GROUP BY kind, metric, breached, k, d",
    sqlite: "SELECT kind, metric, breached,
            CASE $3 WHEN 'team' THEN team WHEN 'agent' THEN agent WHEN 'channel' THEN channel
                 WHEN 'priority' THEN priority WHEN 'language' THEN language END AS k,
            CASE WHEN $4 THEN substr(at, 1, 10) END AS d,
            COUNT(*),
            group_concat(CASE WHEN kind IN ('first_response', 'next_response', 'solved')
                              THEN secs END),
            group_concat(CASE WHEN kind IN ('first_response', 'next_response', 'solved')
                              THEN business_secs END),
            SUM(CASE WHEN replies > 0 THEN 1 ELSE 0 END),
            SUM(CASE WHEN replies = 1 AND COALESCE(reopens, 0) = 0 THEN 1 ELSE 0 END),
            COUNT(score), COALESCE(SUM(score), 0), SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END),
            SUM(seq)
     FROM kpi_facts WHERE at >= $1 AND at < $2
     GROUP BY kind, metric, breached, k, d"
);

/// Each day's [`crate::kpi::DayPrint`] in `[$1, $2)` (days since 1970-01-01), from the index on
/// `day` alone.
pub(crate) const KPI_DAY_PRINTS: Sql = sql!(
    postgres: "SELECT day, COUNT(*), SUM(seq)::bigint FROM kpi_facts
               WHERE day >= $1 AND day < $2 GROUP BY day ORDER BY day",
    sqlite: "SELECT day, COUNT(*), SUM(seq) FROM kpi_facts
             WHERE day >= $1 AND day < $2 GROUP BY day ORDER BY day"
);

/// The stored rollups of grouping `$1` for the days in `[$2, $3)`.
pub(crate) const KPI_ROLLUPS: Sql = sql!(
    "SELECT day, facts, seq_sum, tallies FROM kpi_rollups
     WHERE dim = $1 AND day >= $2 AND day < $3"
);

/// Stores a day's rollup: `$1` day, `$2` grouping, `$3` facts, `$4` seq sum, `$5` tallies.
pub(crate) const UPSERT_ROLLUP: Sql = sql!(
    "INSERT INTO kpi_rollups (day, dim, facts, seq_sum, tallies) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (day, dim) DO UPDATE SET facts = excluded.facts, seq_sum = excluded.seq_sum,
         tallies = excluded.tallies"
);

/// Forgets every rollup (before a rebuild).
pub(crate) const CLEAR_ROLLUPS: Sql = sql!("DELETE FROM kpi_rollups");

/// Tickets opened (created, reopened) and solved before `$1`, per value of the dimension `$2`
/// names (as in [`KPI_TALLIES`]).
pub(crate) const KPI_BACKLOG: Sql = sql!(
    postgres: "SELECT kind,
            CASE $2::text WHEN 'team' THEN team WHEN 'agent' THEN agent WHEN 'channel' THEN channel
                 WHEN 'priority' THEN priority WHEN 'language' THEN language END AS k,
            COUNT(*)
     FROM kpi_facts WHERE at < $1 AND kind IN ('created', 'reopened', 'solved')
     GROUP BY kind, k",
    sqlite: "SELECT kind,
            CASE $2 WHEN 'team' THEN team WHEN 'agent' THEN agent WHEN 'channel' THEN channel
                 WHEN 'priority' THEN priority WHEN 'language' THEN language END AS k,
            COUNT(*)
     FROM kpi_facts WHERE at < $1 AND kind IN ('created', 'reopened', 'solved')
     GROUP BY kind, k"
);

/// Chat sessions started in `[$1, $2)`: answered at least once, handed to a person.
pub(crate) const BOT_SESSIONS: Sql = sql!(
    "SELECT s.created_at, s.answered > 0,
            EXISTS (SELECT 1 FROM chat_messages m WHERE m.session_id = s.id AND m.handoff)
     FROM chat_sessions s WHERE s.created_at >= $1 AND s.created_at < $2"
);

/// Forgets every fact (before a rebuild).
pub(crate) const CLEAR_FACTS: Sql = sql!("DELETE FROM kpi_facts");

pub(crate) const RESPONSE_SAMPLES: Sql = sql!(
    "SELECT queue, priority, secs FROM (
         SELECT queue, priority, secs,
                ROW_NUMBER() OVER (PARTITION BY queue, priority ORDER BY achieved_at DESC, seq DESC) AS n
         FROM response_samples WHERE achieved_at >= $1
     ) recent WHERE n <= $2"
);

// ---------------------------------------------------------------------------------------------
// Timers and schedules
// ---------------------------------------------------------------------------------------------

/// `$1` owner, `$2` lease until, `$3` now, `$4` limit. PostgreSQL skips rows another replica
/// is claiming; SQLite has one writer.
pub(crate) const CLAIM_TIMERS: Sql = sql!(
    postgres: "WITH due AS (
         SELECT id FROM timers
         WHERE state = 'pending' AND due_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
         ORDER BY due_at LIMIT $4
         FOR UPDATE SKIP LOCKED
     )
     UPDATE timers t SET claimed_by = $1, lease_until = $2, attempt = t.attempt + 1
     FROM due WHERE t.id = due.id
     RETURNING t.id, t.ticket_id, t.name, t.rule, t.due_at, t.state",
    sqlite: "UPDATE timers SET claimed_by = $1, lease_until = $2, attempt = attempt + 1
     WHERE id IN (SELECT id FROM timers WHERE state = 'pending' AND due_at <= $3
                  AND (lease_until IS NULL OR lease_until < $3) ORDER BY due_at LIMIT $4)
     RETURNING id, ticket_id, name, rule, due_at, state"
);

pub(crate) const NEXT_TIMER_DUE: Sql =
    sql!("SELECT MIN(due_at) AS due FROM timers WHERE state = 'pending'");

pub(crate) const LAST_SCHEDULE_RUN: Sql = sql!(
    "SELECT fire_at, state FROM schedule_runs WHERE schedule = $1 ORDER BY fire_at DESC LIMIT 1"
);

pub(crate) const RECORD_SCHEDULE_RUN: Sql = sql!(
    "INSERT INTO schedule_runs (schedule, fire_at, state, recorded_at, finished_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (schedule, fire_at) DO NOTHING"
);

pub(crate) const CLAIM_SCHEDULE_RUN: Sql = sql!(
    "INSERT INTO schedule_runs (schedule, fire_at, state, claimed_by, lease_until, recorded_at)
     VALUES ($1, $2, 'running', $3, $4, $5)
     ON CONFLICT (schedule, fire_at) DO UPDATE SET claimed_by = excluded.claimed_by, lease_until = excluded.lease_until
     WHERE schedule_runs.state = 'running' AND (schedule_runs.lease_until IS NULL OR schedule_runs.lease_until < $5)"
);

pub(crate) const FINISH_SCHEDULE_RUN: Sql = sql!(
    "UPDATE schedule_runs SET state = 'done', lease_until = NULL, finished_at = $1
     WHERE schedule = $2 AND fire_at = $3"
);

/// `$1` after this id, `$2` statuses (any when empty), `$3` idle before (optional), `$4` limit.
pub(crate) const SCHEDULE_TICKETS: Sql = sql!(
    postgres: "SELECT id FROM tickets
     WHERE id > $1 AND id NOT LIKE 'schedule:%'
       AND (cardinality($2::text[]) = 0 OR (state::jsonb ->> 'status') = ANY($2))
       AND ($3::timestamptz IS NULL OR updated_at <= $3)
     ORDER BY id LIMIT $4",
    sqlite: "SELECT id FROM tickets
     WHERE id > $1 AND id NOT LIKE 'schedule:%'
       AND (json_array_length($2) = 0 OR json_extract(state, '$.status') IN (SELECT value FROM json_each($2)))
       AND ($3 IS NULL OR updated_at <= $3)
     ORDER BY id LIMIT $4"
);

pub(crate) const PING: Sql = sql!("SELECT 1");

// ---------------------------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------------------------

/// `$1` owner, `$2` lease until, `$3` now, `$4` limit.
pub(crate) const CLAIM_DELIVERIES: Sql = sql!(
    postgres: "WITH due AS (
         SELECT id FROM outbox
         WHERE state = 'pending' AND next_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
         ORDER BY next_at LIMIT $4
         FOR UPDATE SKIP LOCKED
     )
     UPDATE outbox o SET claimed_by = $1, lease_until = $2, attempts = o.attempts + 1
     FROM due WHERE o.id = due.id
     RETURNING o.id, o.event_id, o.ticket_id, o.action, o.target, o.state, o.attempts, o.next_at, o.last_error",
    sqlite: "UPDATE outbox SET claimed_by = $1, lease_until = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $3
                  AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_at LIMIT $4)
     RETURNING id, event_id, ticket_id, action, target, state, attempts, next_at, last_error"
);

pub(crate) const FINISH_DELIVERY: Sql = sql!(
    "UPDATE outbox SET state = $1, next_at = $2, last_error = COALESCE($3, last_error), lease_until = NULL
     WHERE id = $4 AND attempts = $5 AND state = 'pending'"
);

/// A page of outbox rows, newest first (PostgreSQL numbers the rows, SQLite's rowid does):
/// those older than row `$1` (every row when `$1` is NULL, none when there is no row `$1`),
/// at most `$2`.
pub(crate) const OUTBOX: Sql = sql!(
    postgres: "SELECT id, event_id, ticket_id, action, target, state, attempts, next_at, last_error FROM outbox
     WHERE seq < COALESCE((SELECT seq FROM outbox WHERE id = $1),
                          CASE WHEN CAST($1 AS TEXT) IS NULL THEN 9223372036854775807 ELSE 0 END)
     ORDER BY seq DESC LIMIT $2",
    sqlite: "SELECT id, event_id, ticket_id, action, target, state, attempts, next_at, last_error FROM outbox
     WHERE rowid < COALESCE((SELECT rowid FROM outbox WHERE id = $1),
                            CASE WHEN $1 IS NULL THEN 9223372036854775807 ELSE 0 END)
     ORDER BY rowid DESC LIMIT $2"
);

/// [`OUTBOX`] of the rows in state `$3`, through the index of each state's rows.
pub(crate) const OUTBOX_OF_STATE: Sql = sql!(
    postgres: "SELECT id, event_id, ticket_id, action, target, state, attempts, next_at, last_error FROM outbox
     WHERE state = $3 AND seq < COALESCE((SELECT seq FROM outbox WHERE id = $1),
                          CASE WHEN CAST($1 AS TEXT) IS NULL THEN 9223372036854775807 ELSE 0 END)
     ORDER BY seq DESC LIMIT $2",
    sqlite: "SELECT id, event_id, ticket_id, action, target, state, attempts, next_at, last_error FROM outbox
     WHERE state = $3 AND rowid < COALESCE((SELECT rowid FROM outbox WHERE id = $1),
                            CASE WHEN $1 IS NULL THEN 9223372036854775807 ELSE 0 END)
     ORDER BY rowid DESC LIMIT $2"
);

/// How many outbox rows each state holds.
pub(crate) const OUTBOX_COUNTS: Sql =
    sql!("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state");

/// A ticket's outbox rows, newest first, at most `$2`.
pub(crate) const TICKET_OUTBOX: Sql = sql!(
    postgres: "SELECT id, event_id, ticket_id, action, target, state, attempts, next_at, last_error FROM outbox
     WHERE ticket_id = $1 ORDER BY seq DESC LIMIT $2",
    sqlite: "SELECT id, event_id, ticket_id, action, target, state, attempts, next_at, last_error FROM outbox
     WHERE ticket_id = $1 ORDER BY rowid DESC LIMIT $2"
);

pub(crate) const REDELIVER: Sql = sql!(
    "UPDATE outbox SET state = 'pending', next_at = $1, lease_until = NULL
     WHERE id = $2 AND state <> 'pending'"
);

pub(crate) const OUTBOX_ROW_EXISTS: Sql = sql!("SELECT id FROM outbox WHERE id = $1");

// ---------------------------------------------------------------------------------------------
// Chat
// ---------------------------------------------------------------------------------------------

pub(crate) const INSERT_CHAT_SESSION: Sql = sql!(
    "INSERT INTO chat_sessions (id, bot, state, questions, answered, version, session, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING"
);

pub(crate) const INSERT_CHAT_MESSAGE: Sql = sql!(
    "INSERT INTO chat_messages (session_id, seq, author, text, at, answer_id, score, feedback, handoff, name, event_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);

pub(crate) const CHAT_SESSION: Sql =
    sql!("SELECT session, version FROM chat_sessions WHERE id = $1");

pub(crate) const CHAT_MESSAGES: Sql = sql!(
    "SELECT seq, author, text, at, answer_id, score, feedback, handoff, name FROM chat_messages
     WHERE session_id = $1 AND seq > $2 ORDER BY seq"
);

/// The line a person's event added to a chat, if it did.
pub(crate) const CHAT_LINE_OF_EVENT: Sql =
    sql!("SELECT seq FROM chat_messages WHERE session_id = $1 AND event_id = $2");

/// A turn's new session state, saved only over the version it was computed from (`$8`).
pub(crate) const UPDATE_CHAT_SESSION: Sql = sql!(
    "UPDATE chat_sessions SET state = $1, questions = $2, answered = $3, version = $4, session = $5, updated_at = $6
     WHERE id = $7 AND version = $8"
);

pub(crate) const SET_CHAT_ANSWER: Sql =
    sql!("UPDATE chat_messages SET client_id = $1, answer = $2 WHERE session_id = $3 AND seq = $4");

pub(crate) const INSERT_CHAT_FEEDBACK: Sql = sql!(
    "INSERT INTO chat_feedback (session_id, seq, bot, answer_id, value, at) VALUES ($1, $2, $3, $4, $5, $6)"
);

pub(crate) const COUNT_UNANSWERED: Sql = sql!(
    postgres: "INSERT INTO chat_unanswered (bot, question, count, last_at) VALUES ($1, $2, 1, $3)
     ON CONFLICT (bot, question) DO UPDATE SET count = chat_unanswered.count + 1,
         last_at = GREATEST(chat_unanswered.last_at, excluded.last_at)",
    sqlite: "INSERT INTO chat_unanswered (bot, question, count, last_at) VALUES ($1, $2, 1, $3)
     ON CONFLICT (bot, question) DO UPDATE SET count = count + 1, last_at = MAX(last_at, excluded.last_at)"
);

pub(crate) const CHAT_ANSWER_BY_ID: Sql =
    sql!("SELECT answer FROM chat_messages WHERE session_id = $1 AND client_id = $2");

pub(crate) const CHAT_ANSWER_BY_SEQ: Sql =
    sql!("SELECT answer FROM chat_messages WHERE session_id = $1 AND seq = $2");

pub(crate) const CHAT_COUNTS: Sql = sql!(
    postgres: "SELECT COUNT(*) AS sessions,
            COUNT(*) FILTER (WHERE questions > 0 OR state = 'handed_off') AS engaged,
            COUNT(*) FILTER (WHERE state = 'handed_off') AS handed_off,
            COUNT(*) FILTER (WHERE state <> 'handed_off' AND answered > 0) AS deflected,
            COALESCE(SUM(questions), 0)::BIGINT AS questions,
            COALESCE(SUM(answered), 0)::BIGINT AS answered,
            COUNT(*) FILTER (WHERE state <> 'handed_off' AND EXISTS (SELECT 1 FROM chat_feedback f
                WHERE f.session_id = chat_sessions.id AND f.value = 'yes')) AS confirmed
     FROM chat_sessions WHERE bot = $1",
    sqlite: "SELECT COUNT(*) AS sessions,
            COALESCE(SUM(questions > 0 OR state = 'handed_off'), 0) AS engaged,
            COALESCE(SUM(state = 'handed_off'), 0) AS handed_off,
            COALESCE(SUM(state != 'handed_off' AND answered > 0), 0) AS deflected,
            COALESCE(SUM(questions), 0) AS questions,
            COALESCE(SUM(answered), 0) AS answered,
            COALESCE(SUM(state != 'handed_off' AND EXISTS (SELECT 1 FROM chat_feedback f
                WHERE f.session_id = chat_sessions.id AND f.value = 'yes')), 0) AS confirmed
     FROM chat_sessions WHERE bot = $1"
);

pub(crate) const CHAT_FEEDBACK_COUNTS: Sql =
    sql!("SELECT value, COUNT(*) AS n FROM chat_feedback WHERE bot = $1 GROUP BY value");

pub(crate) const TOP_DISLIKED: Sql = sql!(
    "SELECT answer_id, COUNT(*) AS n, MAX(at) AS last_at FROM chat_feedback
     WHERE bot = $1 AND value = 'no' AND answer_id IS NOT NULL
     GROUP BY answer_id ORDER BY n DESC, last_at DESC, answer_id LIMIT $2"
);

pub(crate) const TOP_UNANSWERED: Sql = sql!(
    "SELECT question, count, last_at FROM chat_unanswered WHERE bot = $1
     ORDER BY count DESC, last_at DESC, question LIMIT $2"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_sent_compact_with_each_dialects_placeholders() {
        const S: Sql = sql!(
            "SELECT id FROM tickets
             WHERE id > $1 AND json_extract(state, '$.status') = '  $2  '
               AND x = $12 "
        );
        assert_eq!(
            S.postgres,
            "SELECT id FROM tickets WHERE id > $1 AND json_extract(state, '$.status') = '  $2  ' AND x = $12"
        );
        assert_eq!(
            S.sqlite,
            "SELECT id FROM tickets WHERE id > ?1 AND json_extract(state, '$.status') = '  $2  ' AND x = ?12"
        );
        const ONLY: Sql = sql!(postgres: "SELECT  1");
        assert_eq!((ONLY.postgres, ONLY.sqlite), ("SELECT 1", ""));
    }
}
