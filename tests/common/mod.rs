//! Running `frontdesk serve` as a real process for tests, a scratch PostgreSQL schema per test,
//! and a TCP proxy that can cut a daemon off from its database.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A daemon process and its base URL. Killed when dropped, so a failing test leaves no
/// daemon behind.
pub struct Proc {
    pub child: Child,
    pub url: String,
    /// The last lines it logged (JSON), for failure messages.
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last `n` log lines.
    pub fn tail(&self, n: usize) -> String {
        let logs = self.logs.lock().unwrap();
        logs[logs.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `frontdesk serve` on a SQLite file; see [`spawn_store`].
pub fn spawn(db: &Path, args: &[&str]) -> Proc {
    spawn_store(&format!("sqlite://{}", db.display()), args)
}

/// Starts `frontdesk serve --store STORE` on a free port with the example rules (unless
/// `args` says otherwise) and waits until it listens.
pub fn spawn_store(store: &str, args: &[&str]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-watch",
        "--log-format",
        "json",
    ])
    .arg("--store")
    .arg(store);
    if !args.contains(&"--config") {
        cmd.arg("--config")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules"));
    }
    let mut child = cmd
        .args(args)
        .env("FRONTDESK_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn frontdesk serve");
    // The daemon logs the address it bound (port 0 = any free port).
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        assert!(Instant::now() < deadline, "daemon did not start");
        let Some(line) = lines.next() else {
            let _ = child.wait();
            panic!(
                "daemon exited before listening:\n{}",
                logs.lock().unwrap().join("\n")
            );
        };
        let line = line.unwrap();
        logs.lock().unwrap().push(line.clone());
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v["message"] == "frontdesk listening" {
                break format!("http://{}", v["addr"].as_str().unwrap());
            }
        }
    };
    // Keep draining its logs so it never blocks on a full pipe; keep the last few.
    let kept = logs.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut logs = kept.lock().unwrap();
            if logs.len() >= 2000 {
                logs.drain(..1000);
            }
            logs.push(line);
        }
    });
    Proc { child, url, logs }
}

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

/// A TCP proxy in front of the database that the test can cut: cutting closes every proxied
/// connection and refuses new ones until restored.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let live: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let accept = {
            let (up, live) = (up.clone(), live.clone());
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let task = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    let mut live = live.lock().unwrap();
                    live.retain(|t| !t.is_finished());
                    live.push(task.abort_handle());
                }
            })
        };
        Proxy {
            addr,
            up,
            live,
            accept,
        }
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for t in self.live.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
