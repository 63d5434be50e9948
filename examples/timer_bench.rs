//! Durable timers at scale on SQLite: how fast timers are created (each one an event decided
//! and committed), how long a restart takes with that many pending, and how fast due timers
//! fire while the rest wait.
//!
//! ```sh
//! cargo run --release --example timer_bench -- 1000000 100000
//! ```
//!
//! The first number is how many timers to create (default 1,000,000), the second how many of
//! them come due and are fired (default 100,000, rounded up to a thousand). The database is a
//! temporary file.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use frontdesk::model::Event;
use frontdesk::server::{self, ManualClock, Options};

const PACK: &str = r#"
rules:
  - name: one timer per ticket
    on: ticket.created
    then:
      - schedule:
          name: follow up
          after: "{{AFTER}}"
          then:
            - add_tags: [followed-up]
"#;

/// Events decided side by side while timers are created; also the unit of `due`.
const ROUND: usize = 1000;

fn t0() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

async fn start(dir: &std::path::Path, clock: Arc<ManualClock>) -> server::Running {
    let opts = Options {
        rules: dir.join("rules"),
        listen: "127.0.0.1:0".parse().unwrap(),
        store: format!("sqlite://{}", dir.join("timers.db").display()),
        watch: false,
        scheduler: false,
        clock,
        ..Options::new()
    };
    server::start(opts).await.expect("the daemon starts")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("a count"));
    let due: usize = args
        .next()
        .map_or(100_000.min(total), |a| a.parse().expect("a count"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/pack.yaml"),
        PACK.replace("{{AFTER}}", "1h"),
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let running = start(dir.path(), clock.clone()).await;

    // Create: `total` events in rounds of 1,000 decided side by side, each deciding one timer
    // and committing it. Round r runs at t0 + r s, so its timers are due at t0 + 1 h + r s.
    let started = Instant::now();
    for round in 0..total.div_ceil(ROUND) {
        clock.set(t0() + Duration::seconds(round as i64));
        let mut tasks = Vec::with_capacity(ROUND);
        for i in round * ROUND..((round + 1) * ROUND).min(total) {
            let state = running.state.clone();
            tasks.push(tokio::spawn(async move {
                let e = Event::from_json(&format!(
                    r#"{{"id":"c{i}","type":"ticket.created","ticket":{{"id":"T{i}","channel":"email"}}}}"#
                ))
                .unwrap();
                state.process(e, None, false).await.expect("stored");
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    let created = started.elapsed();
    println!(
        "created {total} timers in {:.1} s: {:.0} timers/s (one event decided and committed each)",
        created.as_secs_f64(),
        total as f64 / created.as_secs_f64()
    );
    running.stop().await.unwrap();

    // Restart with all of them pending: open the store, migrate, release old claims, listen.
    let started = Instant::now();
    let running = start(dir.path(), clock.clone()).await;
    let http = reqwest::Client::new();
    let ready = http
        .get(format!("http://{}/readyz", running.addr))
        .send()
        .await
        .unwrap();
    assert!(ready.status().is_success());
    println!(
        "restart to ready with {total} pending: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    // Fire: the clock moves so that the first `due` timers are due; the scheduler's own
    // function fires them, each as a `timer.fired` event decided against its ticket.
    let rounds = due.div_ceil(ROUND) as i64;
    clock.set(t0() + Duration::hours(1) + Duration::seconds(rounds - 1));
    let due = (rounds as usize * ROUND).min(total);
    let started = Instant::now();
    let mut fired = 0;
    while fired < due {
        let n = server::fire_due_timers(&running.state).await;
        if n == 0 {
            break;
        }
        fired += n;
    }
    let took = started.elapsed();
    println!(
        "fired {fired} of {total} pending in {:.1} s: {:.0} timers/s",
        took.as_secs_f64(),
        fired as f64 / took.as_secs_f64()
    );
    assert_eq!(fired, due, "exactly the due timers fired");
    running.stop().await.unwrap();
}
