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
//! They also get `jit=off` unless the URL sets it: no statement here gains from JIT compiling.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Connection, PgConnection, Postgres};

use super::shared::{apply_one, Backend, On, SqlStore};
use super::sql::{self, sqlx_conn, sqlx_row, Arg, Conn, Dialect};
use super::{Applied, RoutedDecideFn, RoutingNeed, StoreError};
use crate::model::Event;

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
    // The store's statements are short; JIT compiling one the planner thinks costly (a KPI
    // report's read over a quarter's chats) took 110 of its 160 ms.
    ("jit", "off"),
];

/// PostgreSQL-backed [`super::Store`].
pub type PgStore = SqlStore<Pg>;

/// The PostgreSQL side of [`PgStore`]: the pool.
pub struct Pg {
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
        Ok(SqlStore(Pg { pool }))
    }
}

/// The advisory lock key of a routing lock (a group of teams that share agents).
fn routing_lock_key(name: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("frontdesk routing {name}").as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(key)
}

/// Takes a transaction-scoped advisory lock.
async fn lock(tx: &mut PgConnection, key: i64) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(tx)
        .await?;
    Ok(())
}

impl Backend for Pg {
    type Db = Postgres;

    fn pool(&self, _: On) -> &PgPool {
        &self.pool
    }

    /// One transaction per event: the ticket's advisory lock, then the routing locks in name
    /// order (every replica takes them in the same order): two decisions that could take the
    /// last slot of one agent queue here, and the second reads the loads after the first
    /// committed. Nobody holding a routing lock waits for a ticket's, so the two kinds cannot
    /// deadlock.
    async fn apply_routed(
        &self,
        event: Event,
        sent: Option<serde_json::Value>,
        fingerprint: String,
        received_at: DateTime<Utc>,
        need: RoutingNeed,
        decide: RoutedDecideFn,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock(&mut tx, ticket_lock_key(&event.ticket.id)).await?;
        for name in &need.locks {
            lock(&mut tx, routing_lock_key(name)).await?;
        }
        let routed = (!need.is_empty()).then_some(need.agents.as_slice());
        match apply_one(
            &mut *tx,
            &event,
            sent.as_ref(),
            &fingerprint,
            received_at,
            routed,
            decide,
        )
        .await?
        {
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

    async fn ping(&self) -> Result<(), StoreError> {
        let ping = async {
            let mut c = self.pool.acquire().await?;
            c.execute(&sql::PING, &[]).await
        };
        match tokio::time::timeout(PING_TIMEOUT, ping).await {
            Ok(done) => done.map(drop),
            Err(_) => Err(StoreError::Unavailable(format!(
                "PostgreSQL did not answer within {}s",
                PING_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Binds an [`Arg`] the PostgreSQL way: times as `timestamptz`, lists as `text[]`.
fn bind<'q>(q: Query<'q, Postgres, PgArguments>, arg: Arg<'q>) -> Query<'q, Postgres, PgArguments> {
    match arg {
        Arg::Text(s) => q.bind(s),
        Arg::OptText(s) => q.bind(s),
        Arg::Int(n) => q.bind(n),
        Arg::OptInt(n) => q.bind(n),
        Arg::Real(x) => q.bind(x),
        Arg::Bool(b) => q.bind(b),
        Arg::Time(t) => q.bind(t),
        Arg::OptTime(t) => q.bind(t),
        Arg::Texts(list) => q.bind(list.items()),
    }
}

sqlx_conn!(PgConnection, Dialect::Postgres, bind);

sqlx_row!(PgRow, {
    fn flag(&self, col: usize) -> Result<bool, StoreError> {
        Ok(sqlx::Row::try_get(self, col)?)
    }
    fn time(&self, col: usize) -> Result<DateTime<Utc>, StoreError> {
        Ok(sqlx::Row::try_get(self, col)?)
    }
    fn opt_time(&self, col: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::Row::try_get(self, col)?)
    }
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

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
            let pool = store.0.pool.clone();
            async move {
                sqlx::query_scalar::<_, String>(&format!("SHOW {name}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(show("lock_timeout").await, "5s");
        assert_eq!(show("idle_in_transaction_session_timeout").await, "5s");
        assert_eq!(show("jit").await, "off");
        assert_eq!(show("application_name").await, "frontdesk");
        store.close().await;
        let own = PgStore::open(&format!("{url}&options[lock_timeout]=7s"))
            .await
            .unwrap();
        assert_eq!(
            sqlx::query_scalar::<_, String>("SHOW lock_timeout")
                .fetch_one(&own.0.pool)
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
