//! The single writer of the SQLite store: it takes every event waiting, decides and writes them
//! one after another in one transaction, and commits once (one fsync for the batch). Events of
//! a ticket are decided in arrival order, each against the state the previous one left.
//!
//! The batch runs as plain synchronous SQLite calls on the writer connection's handle, locked
//! out of sqlx's worker thread for the batch (`SqliteConnection::lock_handle`, the driver's own
//! way to call SQLite directly). Through the worker every statement costs two thread hand-offs
//! (tens of microseconds on a busy machine, most of a decision's write); here it costs the
//! statement, and the prepared statements are reused across the batch.
//!
//! Under load the writer keeps the connection for the next batch when events are already
//! waiting, up to [`HOLD`]: the prepared statements then serve several batches instead of one
//! (preparing them was about a tenth of the writer's time per event with batches of eight). The
//! store's other writes, which share the connection, wait at most that long for it.
//!
//! Each event goes through the commit path both stores share ([`apply_one`]), here on
//! [`Direct`]: the [`Conn`] of the locked handle, whose calls never wait.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Utc};
use rusqlite::{CachedStatement, Connection};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{parse_ts, ts};
use crate::bot::Turn;
use crate::model::Event;
use crate::store::shared::{apply_one, save_turn};
use crate::store::sql::{self, Arg, Conn, Decode, Dialect, Row, Sql};
use crate::store::{Applied, RoutedDecideFn, StoreError, MESSAGE_INDEX_BATCH};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// What waits for the writer: an event to decide and write, or a chat turn to write.
#[allow(
    clippy::large_enum_variant,
    reason = "moved once into the channel and once out; boxing would add an allocation per event"
)]
pub(super) enum Job {
    Event(EventJob),
    Turn(TurnJob),
}

/// A chat turn waiting for the writer ([`save_turn`]).
pub(super) struct TurnJob {
    pub turn: Turn,
    pub reply: oneshot::Sender<Result<i64, StoreError>>,
}

/// One event waiting for the writer.
pub(super) struct EventJob {
    pub event: Event,
    /// The event's ticket as the caller sent it.
    pub sent: Option<serde_json::Value>,
    pub fingerprint: String,
    pub received_at: DateTime<Utc>,
    /// The agents to read the routing state of, when the decision may assign.
    pub routed: Option<Vec<String>>,
    pub decide: RoutedDecideFn,
    pub reply: oneshot::Sender<Result<Applied, StoreError>>,
}

/// Most events committed in one transaction.
const MAX_BATCH: usize = 256;

/// Prepared statements the writer keeps (rusqlite's default is 16; an event runs up to about 25
/// kinds, and the message index two more).
const STATEMENT_CACHE: usize = 64;

/// How long the writer keeps the connection for batch after batch while events keep waiting.
const HOLD: std::time::Duration = std::time::Duration::from_millis(10);

/// Takes every job waiting now after `first`, up to [`MAX_BATCH`].
fn gather(first: Job, jobs: &mut mpsc::Receiver<Job>) -> Vec<Job> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// Runs until every sender of `jobs` is gone.
pub(super) async fn writer_loop(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>) {
    // Events committed since the message index last caught up with them; the first batch
    // catches up with whatever an earlier process left.
    let mut unindexed = MESSAGE_INDEX_BATCH;
    while let Some(first) = jobs.recv().await {
        let batch = gather(first, &mut jobs);
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
        blocking(|| {
            // SAFETY: the handle stays locked, so no other thread uses it, until `conn` is
            // dropped at the end of this closure; `from_handle` does not close it, and dropping
            // `conn` finalizes the statements prepared on it before the lock is given back
            // (sqlx closes its connections with `sqlite3_close`, which must find none open).
            let conn = match unsafe { Connection::from_handle(db.as_ptr()) } {
                Ok(c) => c,
                Err(e) => return fail_all(batch, &e.to_string()),
            };
            let mut conn = Direct::new(conn);
            let held = std::time::Instant::now();
            let mut batch = batch;
            loop {
                let size = write_batch(&mut conn, batch);
                ::metrics::histogram!("frontdesk_store_batch_size").record(size as f64);
                unindexed += size;
                if unindexed >= MESSAGE_INDEX_BATCH {
                    index_messages(&conn.conn);
                    unindexed = 0;
                }
                if held.elapsed() >= HOLD {
                    break;
                }
                match jobs.try_recv() {
                    Ok(first) => batch = gather(first, &mut jobs),
                    Err(_) => break,
                }
            }
        });
        drop(handle);
    }
}

/// Adds the events committed since the message index last caught up to it, in a transaction
/// of its own (see `migrations/sqlite/0017_message_trigrams.sql`). A failure leaves them to
/// the next time: searches read events the index does not hold yet directly, so they only get
/// slower.
fn index_messages(conn: &Connection) {
    let started = std::time::Instant::now();
    let added = conn
        .execute_batch("BEGIN IMMEDIATE")
        .and_then(|()| conn.execute(sql::INDEX_MESSAGES.text(Dialect::Sqlite), []))
        .and_then(|n| {
            conn.execute(sql::MESSAGES_INDEXED.text(Dialect::Sqlite), [])
                .map(|_| n)
        })
        .and_then(|n| conn.execute_batch("COMMIT").map(|()| n));
    match added {
        Ok(n) => tracing::debug!(
            messages = n,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "messages added to the search index"
        ),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            tracing::warn!(error = %e, "messages not added to the search index");
        }
    }
}

fn fail_all(batch: Vec<Job>, why: &str) {
    for job in batch {
        job.fail(why);
    }
}

impl Job {
    /// Answers the job with a failure of the store.
    fn fail(self, why: &str) {
        let e = StoreError::Unavailable(why.to_string());
        let _ = match self {
            Job::Event(job) => job.reply.send(Err(e)).map_err(drop),
            Job::Turn(job) => job.reply.send(Err(e)).map_err(drop),
        };
    }
}

/// A job written in the batch's transaction, answered once the batch is committed.
#[allow(
    clippy::large_enum_variant,
    reason = "one per job of a batch, kept until its commit"
)]
enum Done {
    Event(
        oneshot::Sender<Result<Applied, StoreError>>,
        Result<Applied, StoreError>,
    ),
    Turn(oneshot::Sender<Result<i64, StoreError>>, i64),
}

impl Done {
    fn answer(self, outcome: &Result<(), String>) {
        let failed = |why: &String| StoreError::Unavailable(why.clone());
        let _ = match self {
            Done::Event(reply, result) => reply
                .send(outcome.as_ref().map_err(failed).and(result))
                .map_err(drop),
            Done::Turn(reply, version) => reply
                .send(outcome.as_ref().map_err(failed).map(|()| version))
                .map_err(drop),
        };
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

/// Decides and writes `batch` in one transaction on `conn`, then answers each job; returns how
/// many were written.
fn write_batch(conn: &mut Direct, batch: Vec<Job>) -> usize {
    if let Err(e) = conn.batch("BEGIN IMMEDIATE") {
        fail_all(batch, &e.to_string());
        return 0;
    }
    let mut done = Vec::with_capacity(batch.len());
    let mut failed: Option<String> = None;
    for job in batch {
        if let Some(why) = &failed {
            job.fail(why);
            continue;
        }
        let job = match job {
            Job::Event(job) => job,
            Job::Turn(TurnJob { turn, reply }) => {
                match write_turn(conn, &turn) {
                    Ok(version) => done.push(Done::Turn(reply, version)),
                    // A stale turn wrote nothing that stays: the rest of the batch goes on.
                    Err(e @ StoreError::Stale(_)) => {
                        let _ = reply.send(Err(e));
                    }
                    Err(e) => {
                        failed = Some(e.to_string());
                        let _ = reply.send(Err(e));
                    }
                }
                continue;
            }
        };
        let applied = ready(pin!(apply_one(
            &mut *conn,
            &job.event,
            job.sent.as_ref(),
            &job.fingerprint,
            job.received_at,
            job.routed.as_deref(),
            job.decide,
        )));
        match applied {
            Ok(Some(applied)) => done.push(Done::Event(job.reply, Ok(applied))),
            // Both fail before this event wrote anything: the rest of the batch goes on.
            Err(e @ (StoreError::Conflict(_) | StoreError::Decide(_))) => {
                done.push(Done::Event(job.reply, Err(e)))
            }
            // Only this writer writes, and it found the id unused in this transaction.
            Ok(None) => {
                let e = StoreError::Unavailable(format!("event id `{}` taken", job.event.id));
                failed = Some(e.to_string());
                let _ = job.reply.send(Err(e));
            }
            Err(e) => {
                failed = Some(e.to_string());
                let _ = job.reply.send(Err(e));
            }
        }
    }
    let outcome = match failed {
        Some(why) => {
            let _ = conn.batch("ROLLBACK");
            Err(why)
        }
        None => conn.batch("COMMIT").map_err(|e| {
            // A failed COMMIT may leave the transaction open; end it so the next batch can begin.
            let _ = conn.batch("ROLLBACK");
            e.to_string()
        }),
    };
    let size = done.len();
    for job in done {
        job.answer(&outcome);
    }
    size
}

/// Writes one chat turn inside the batch, under a savepoint: a turn refused as stale after its
/// first statement leaves nothing behind, and the batch goes on.
fn write_turn(conn: &mut Direct, turn: &Turn) -> Result<i64, StoreError> {
    conn.batch("SAVEPOINT turn")?;
    let written = ready(pin!(save_turn(&mut *conn, turn)));
    match written {
        Ok(version) => {
            conn.batch("RELEASE turn")?;
            Ok(version)
        }
        Err(e) => {
            conn.batch("ROLLBACK TO turn; RELEASE turn")?;
            Err(e)
        }
    }
}

/// The output of a future of [`Direct`], which is ready when first polled: every SQLite call on
/// the locked handle is done before it returns.
fn ready<F: Future>(f: Pin<&mut F>) -> F::Output {
    match f.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the writer's SQLite calls do not wait"),
    }
}

/// The writer's connection for the length of a batch: `rusqlite` on the locked handle, with
/// statements prepared once per batch and reused.
pub(super) struct Direct {
    conn: Connection,
    /// The two times bound last, as text: every write of an event is dated with its arrival
    /// time, so it is formatted once.
    times: [Option<(DateTime<Utc>, String)>; 2],
}

impl Direct {
    fn new(conn: Connection) -> Direct {
        // Room for every statement an event may run, so none is prepared twice in a hold.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Direct {
            conn,
            times: [None, None],
        }
    }

    fn batch(&self, sql: &str) -> rusqlite::Result<()> {
        self.conn.execute_batch(sql)
    }

    /// The statement, prepared (or taken from the cache) with `args` bound.
    fn bound(&mut self, sql: &Sql, args: &[Arg<'_>]) -> Result<CachedStatement<'_>, StoreError> {
        let Direct { conn, times } = self;
        let mut st = conn.prepare_cached(sql.text(Dialect::Sqlite))?;
        for (i, arg) in args.iter().enumerate() {
            let i = i + 1;
            match *arg {
                Arg::Text(s) => st.raw_bind_parameter(i, s)?,
                Arg::OptText(s) => st.raw_bind_parameter(i, s)?,
                Arg::Int(n) => st.raw_bind_parameter(i, n)?,
                Arg::OptInt(n) => st.raw_bind_parameter(i, n)?,
                Arg::Real(x) => st.raw_bind_parameter(i, x)?,
                Arg::Bool(b) => st.raw_bind_parameter(i, b)?,
                Arg::Time(t) => {
                    if times[0].as_ref().is_none_or(|(at, _)| *at != t) {
                        times.swap(0, 1);
                        if times[0].as_ref().is_none_or(|(at, _)| *at != t) {
                            times[0] = Some((t, ts(t)));
                        }
                    }
                    st.raw_bind_parameter(i, times[0].as_ref().map(|(_, s)| s.as_str()))?
                }
                Arg::OptTime(t) => st.raw_bind_parameter(i, t.map(ts))?,
                Arg::Texts(list) => st.raw_bind_parameter(i, list.json())?,
            }
        }
        Ok(st)
    }
}

impl Conn for Direct {
    const DIALECT: Dialect = Dialect::Sqlite;

    async fn execute(&mut self, sql: &Sql, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        Ok(self.bound(sql, args)?.raw_execute()? as u64)
    }

    async fn execute_unique(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> Result<Option<u64>, StoreError> {
        match self.bound(sql, args)?.raw_execute() {
            Ok(n) => Ok(Some(n as u64)),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn fetch<T: Send>(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
        row: Decode<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut st = self.bound(sql, args)?;
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(row(r)?);
        }
        Ok(out)
    }

    async fn first<T: Send>(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
        row: Decode<T>,
    ) -> Result<Option<T>, StoreError> {
        let mut st = self.bound(sql, args)?;
        let mut rows = st.raw_query();
        rows.next()?.map(|r| row(r)).transpose()
    }
}

impl Row for rusqlite::Row<'_> {
    fn text(&self, col: usize) -> Result<&str, StoreError> {
        self.get_ref(col)?
            .as_str()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
    fn opt_text(&self, col: usize) -> Result<Option<&str>, StoreError> {
        self.get_ref(col)?
            .as_str_or_null()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
    fn int(&self, col: usize) -> Result<i64, StoreError> {
        Ok(self.get(col)?)
    }
    fn opt_int(&self, col: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get(col)?)
    }
    fn real(&self, col: usize) -> Result<Option<f64>, StoreError> {
        Ok(self.get(col)?)
    }
    fn flag(&self, col: usize) -> Result<bool, StoreError> {
        Ok(self.get(col)?)
    }
    fn time(&self, col: usize) -> Result<DateTime<Utc>, StoreError> {
        parse_ts(self.text(col)?)
    }
    fn opt_time(&self, col: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_text(col)?.map(parse_ts).transpose()
    }
}
