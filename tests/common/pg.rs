//! A scratch PostgreSQL schema per test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The PostgreSQL server tests use: `FRONTDESK_TEST_PG`, else the local default.
pub fn pg_base_url() -> String {
    std::env::var("FRONTDESK_TEST_PG")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `url` with `options[search_path]=schema` added, and the schema's name as the
/// application name (so a test can end its own sessions and nobody else's).
fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options[search_path]={schema}&application_name={schema}&max_connections=8")
}

/// `url` pointing at `host:port` instead (user, password, database and options kept).
pub fn with_host_port(url: &str, host_port: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let (auth, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let user = auth.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!("{scheme}://{}{host_port}{tail}", user.unwrap_or_default())
}

/// A schema of its own in the test database, so tests run in parallel and leave nothing
/// behind: the URL sets `search_path` to it, and dropping the guard drops the schema.
pub struct PgSchema {
    /// Store URL for the daemon (`...?options[search_path]=fd_test_...`).
    pub url: String,
    /// The schema's name.
    pub name: String,
    admin: String,
}

static SCHEMAS: AtomicU64 = AtomicU64::new(0);

impl PgSchema {
    /// Creates a fresh schema, or says why PostgreSQL is not used and returns `None`.
    /// With `FRONTDESK_REQUIRE_PG=1` an unreachable server fails the test instead.
    pub async fn create(tag: &str) -> Option<PgSchema> {
        let admin = pg_base_url();
        let pool = match tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(3))
                .connect(&admin),
        )
        .await
        {
            Ok(Ok(pool)) => pool,
            Ok(Err(e)) => return skip(&admin, &e.to_string()),
            Err(_) => return skip(&admin, "no answer within 5s"),
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "fd_test_{tag}_{}_{}_{nanos}",
            std::process::id(),
            SCHEMAS.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&pool)
            .await
            .expect("create a test schema");
        pool.close().await;
        Some(PgSchema {
            url: with_search_path(&admin, &name),
            name,
            admin,
        })
    }

    /// A small pool on the schema, for the test's own queries.
    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .expect("connect to the test schema")
    }

    /// The database server's address.
    pub fn server(&self) -> SocketAddr {
        use std::str::FromStr;
        let o = sqlx::postgres::PgConnectOptions::from_str(&self.admin).unwrap();
        let host = if o.get_host() == "localhost" {
            "127.0.0.1"
        } else {
            o.get_host()
        };
        format!("{host}:{}", o.get_port())
            .parse()
            .expect("the test server's host is an IP address")
    }

    /// Ends every session of this schema's daemons (they connect with the schema's name as
    /// application name), as a crash or failover of the server would.
    pub async fn terminate_backends(&self) -> i64 {
        let pool = self.pool().await;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        n
    }
}

fn skip<T>(url: &str, why: &str) -> Option<T> {
    if std::env::var("FRONTDESK_REQUIRE_PG").is_ok_and(|v| v == "1") {
        panic!("PostgreSQL at {url} is required (FRONTDESK_REQUIRE_PG=1) but: {why}");
    }
    eprintln!("skipping the PostgreSQL case: {url}: {why} (set FRONTDESK_TEST_PG to a server)");
    None
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // Drop may run while a runtime is shutting down or a test is unwinding: use a thread
        // with a runtime of its own.
        let admin = self.admin.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                    let _ = sqlx::query("SET lock_timeout = '20s'").execute(&pool).await;
                    if let Err(e) = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&pool)
                        .await
                    {
                        eprintln!("could not drop the test schema {name}: {e}");
                    }
                    pool.close().await;
                }
            })
        })
        .join();
    }
}
