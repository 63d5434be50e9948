//! A load generator for `POST /v1/events`, in two modes:
//!
//! - **closed** (no `--rate`): `--connections` clients each send the next request as soon as
//!   the last is answered, as `wrk` does; it measures the most a server answers.
//! - **fixed rate** (`--rate N`): requests are due at N per second, spread evenly, whatever the
//!   server does; each one's latency is counted from when it was due, not from when a free
//!   connection sent it, so a server that falls behind shows its queue in the figures (the
//!   "coordinated omission" a closed loop hides). At most `--connections` are in flight.
//!
//! Every request is a new event (`load-TAG-N`) on one of 1,000 tickets, with one of four
//! message texts, the same stream for any server (`bench/load/side_by_side.sh` runs the daemon
//! and `examples/echo_server.rs` on it round by round).
//!
//! ```sh
//! cargo run --release --example loadgen -- --url http://127.0.0.1:18080 --seconds 10 --connections 16
//! cargo run --release --example loadgen -- --url http://127.0.0.1:18080 --seconds 10 --rate 2000
//! ```
//!
//! It prints one line: `requests/s R p50 A ms p90 B ms p99 C ms max D ms errors E` (closed: from
//! send to answer; fixed rate: from due time to answer).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

const TEXTS: [&str; 4] = [
    "the site is down since this morning",
    "I want a refund for my last invoice",
    "Kortet mitt er stjålet",
    "where is my parcel?",
];

struct Args {
    url: String,
    seconds: f64,
    connections: usize,
    rate: Option<f64>,
    tag: String,
    token: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:18080".into(),
        seconds: 10.0,
        connections: 16,
        rate: None,
        tag: std::process::id().to_string(),
        token: std::env::var("FRONTDESK_TOKEN").ok(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--url" => a.url = value(),
            "--seconds" => a.seconds = number(&flag, &value()),
            "--connections" => a.connections = number::<usize>(&flag, &value()).max(1),
            "--rate" => a.rate = Some(number(&flag, &value())),
            "--tag" => a.tag = value(),
            "--token" => a.token = Some(value()),
            other => fail(&format!(
                "unknown flag {other} (--url, --seconds, --connections, --rate, --tag, --token)"
            )),
        }
    }
    a
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> T {
    v.parse()
        .unwrap_or_else(|_| fail(&format!("{flag}: `{v}` is not a number")))
}

fn fail(why: &str) -> ! {
    eprintln!("loadgen: {why}");
    std::process::exit(2)
}

fn body(tag: &str, n: u64) -> String {
    format!(
        r#"{{"id":"load-{tag}-{n}","type":"message.created","ticket":{{"id":"T{}","channel":"email","customer":{{"language":"en"}}}},"message":{{"text":"{}"}}}}"#,
        n % 1000,
        TEXTS[(n % 4) as usize]
    )
}

/// What one client saw: latencies in microseconds, and failed requests.
#[derive(Default)]
struct Seen {
    micros: Vec<u64>,
    errors: u64,
}

#[tokio::main]
async fn main() {
    let a = Arc::new(args());
    let endpoint = format!("{}/v1/events", a.url.trim_end_matches('/'));
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + Duration::from_secs_f64(a.seconds);
    let mut clients = Vec::new();
    for _ in 0..a.connections {
        let (a, next, endpoint) = (a.clone(), next.clone(), endpoint.clone());
        clients.push(tokio::spawn(async move {
            // One connection per client, kept alive.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .build()
                .expect("an HTTP client");
            let mut seen = Seen::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let due = match a.rate {
                    Some(rate) => start + Duration::from_secs_f64(n as f64 / rate),
                    None => Instant::now().max(start),
                };
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due).await;
                let mut req = http
                    .post(&endpoint)
                    .header("content-type", "application/json")
                    .body(body(&a.tag, n));
                if let Some(t) = &a.token {
                    req = req.bearer_auth(t);
                }
                let ok = match req.send().await {
                    Ok(r) => {
                        let status = r.status();
                        r.bytes().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                if ok {
                    seen.micros.push(due.elapsed().as_micros() as u64);
                } else {
                    seen.errors += 1;
                }
            }
            seen
        }));
    }
    let mut all = Seen::default();
    for c in clients {
        let seen = c.await.expect("a client ran");
        all.micros.extend(seen.micros);
        all.errors += seen.errors;
    }
    let took = Instant::now()
        .saturating_duration_since(start)
        .as_secs_f64();
    all.micros.sort_unstable();
    let at = |q: f64| {
        all.micros
            .get(((all.micros.len() as f64 * q) as usize).min(all.micros.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    println!(
        "requests/s {:.0} p50 {:.2} ms p90 {:.2} ms p99 {:.2} ms max {:.2} ms errors {}",
        all.micros.len() as f64 / took.max(a.seconds),
        at(0.5),
        at(0.9),
        at(0.99),
        all.micros.last().map_or(0.0, |&us| us as f64 / 1000.0),
        all.errors
    );
}
