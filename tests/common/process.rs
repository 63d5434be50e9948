//! `frontdesk serve` as a real process: started on a free port, its logs kept, killed when
//! dropped; signals, and an HTTP client with a timeout for talking to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
    spawn_env(store, args, &[])
}

/// [`spawn_store`] with environment variables set for the daemon (`FRONTDESK_LOG` may be
/// among them; it is `info` otherwise).
pub fn spawn_env(store: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
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
        // The recording servers the tests deliver to listen on loopback.
        .env("FRONTDESK_OUTBOUND_ALLOW", "127.0.0.0/8")
        // Trained bots are kept only where a test says (`--model-cache`), never in the home
        // directory of whoever runs the tests.
        .env("FRONTDESK_MODEL_CACHE", "off")
        .envs(env.iter().copied())
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

/// Starts `frontdesk serve --store STORE` with `args` from async code, without blocking the
/// runtime while it comes up (a proxy or a recording server may live on that runtime).
pub async fn spawn_async(store: &str, args: &[&str]) -> Proc {
    let store = store.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        spawn_store(&store, &args)
    })
    .await
    .unwrap()
}

/// Sends `sig` (`-HUP`, `-TERM`, `-STOP`, `-CONT`) to `pid` with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// An HTTP client whose every request gives up after `timeout`, so a killed or frozen daemon
/// fails a request instead of hanging the test.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// The status of `GET url/readyz` (at most 5 s), or `None` when nothing answered.
pub async fn ready(http: &reqwest::Client, url: &str) -> Option<u16> {
    http.get(format!("{url}/readyz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// The sum of the `/metrics` samples whose line starts with `name` (0 when nothing answered).
pub async fn metric(http: &reqwest::Client, url: &str, name: &str) -> f64 {
    let Ok(r) = http.get(format!("{url}/metrics")).send().await else {
        return 0.0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>()
        + 0.0
}

/// A replica: `frontdesk serve` on `store` with the pack in `rules` and a timer lease of
/// `timer_lease` seconds, started without blocking the runtime.
pub async fn replica(store: &str, rules: &Path, timer_lease: &str) -> Proc {
    let rules = rules.to_str().unwrap();
    spawn_async(store, &["--config", rules, "--timer-lease", timer_lease]).await
}

/// The body of `GET url` as text, for a test that is not async; empty when nothing answered.
pub fn get_text(url: &str) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            match reqwest::get(url).await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            }
        })
}
