//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a committed
//! decision survives a power cut. Writes go through one connection, which also serialises the
//! events of a ticket; reads use a small pool of their own.
//!
//! Events are committed by the writer task ([`writer`]); every other operation is the shared
//! [`super::shared::SqlStore`], which runs the statements of [`super::sql`] here with times as
//! RFC 3339 text ([`ts`]) and lists as JSON arrays.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

mod writer;
use writer::{writer_loop, EventJob, Job, TurnJob};

use super::shared::{Backend, On, SqlStore};
use super::sql::{self, sqlx_conn, sqlx_row, Arg, Conn, Dialect, Row};
use super::{Applied, RoutedDecideFn, RoutingNeed, StoreError};
use crate::model::Event;

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

/// SQLite-backed [`super::Store`].
pub type SqliteStore = SqlStore<Sqlite>;

/// The SQLite side of [`SqliteStore`]: the writer connection and its task, and the read pool.
pub struct Sqlite {
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
        Ok(SqlStore(Sqlite {
            writer,
            reader,
            jobs: std::sync::Mutex::new(Some(tx)),
            writer_task: std::sync::Mutex::new(Some(task)),
        }))
    }
}

impl Sqlite {
    /// Hands a job to the writer.
    async fn send(&self, job: Job) -> Result<(), StoreError> {
        let sender = self.jobs.lock().expect("jobs lock").clone();
        let Some(sender) = sender else {
            return Err(StoreError::Unavailable("the store is closed".into()));
        };
        sender
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the store writer stopped".into()))
    }
}

impl Backend for Sqlite {
    type Db = sqlx::Sqlite;

    fn pool(&self, on: On) -> &SqlitePool {
        match on {
            On::Read => &self.reader,
            On::Write => &self.writer,
        }
    }

    async fn apply_routed(
        &self,
        event: Event,
        sent: Option<serde_json::Value>,
        fingerprint: String,
        received_at: DateTime<Utc>,
        need: RoutingNeed,
        decide: RoutedDecideFn,
    ) -> Result<Applied, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Event(EventJob {
            event,
            sent,
            fingerprint,
            received_at,
            // One writer decides every event in turn: no lock is needed, only the state.
            routed: (!need.is_empty()).then_some(need.agents),
            decide,
            reply,
        }))
        .await?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the store writer stopped".into()))?
    }

    /// A chat turn is committed by the writer too, in the transaction of the events and turns
    /// waiting with it: one fsync for all of them instead of one for each turn.
    async fn save_turn(&self, turn: &crate::bot::Turn) -> Result<i64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Turn(TurnJob {
            turn: turn.clone(),
            reply,
        }))
        .await?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the store writer stopped".into()))?
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.reader.acquire().await?;
        c.execute(&sql::PING, &[]).await.map(drop)
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
        Arg::OptInt(n) => q.bind(n),
        Arg::Real(x) => q.bind(x),
        Arg::Bool(b) => q.bind(b),
        Arg::Time(t) => q.bind(ts(t)),
        Arg::OptTime(t) => q.bind(t.map(ts)),
        Arg::Texts(list) => q.bind(list.json()),
    }
}

sqlx_conn!(SqliteConnection, Dialect::Sqlite, bind);

sqlx_row!(SqliteRow, {
    fn flag(&self, col: usize) -> Result<bool, StoreError> {
        Ok(Row::int(self, col)? != 0)
    }
    fn time(&self, col: usize) -> Result<DateTime<Utc>, StoreError> {
        parse_ts(Row::text(self, col)?)
    }
    fn opt_time(&self, col: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
        Row::opt_text(self, col)?.map(parse_ts).transpose()
    }
});
