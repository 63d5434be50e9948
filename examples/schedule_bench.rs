//! A cron schedule over many tickets on SQLite: how fast one occurrence decides and commits
//! its tickets (each a `schedule.tick` event through the daemon's one path).
//!
//! ```sh
//! cargo run --release --example schedule_bench -- 20000
//! ```
//!
//! The number is how many pending tickets the nightly schedule closes (default 20,000); as
//! many open tickets are left alone. The database is a temporary file.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use frontdesk::model::Event;
use frontdesk::server::{self, ManualClock, Options};

const PACK: &str = r#"
schedules:
  - name: nightly close
    cron: "0 2 * * *"
    timezone: Europe/Oslo
    for_each: { status: pending, idle_for: 7d }
    then: [ { set_status: closed }, { add_tags: [auto_closed] } ]
"#;

/// Tickets created side by side.
const ROUND: usize = 1000;

fn t0() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let pending: usize = std::env::args()
        .nth(1)
        .map_or(20_000, |a| a.parse().expect("a count"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/pack.yaml"), PACK).unwrap();
    let clock = Arc::new(ManualClock::new(t0() - Duration::days(30)));
    let opts = Options {
        rules: dir.path().join("rules"),
        listen: "127.0.0.1:0".parse().unwrap(),
        store: format!("sqlite://{}", dir.path().join("schedule.db").display()),
        watch: false,
        scheduler: false,
        clock: clock.clone(),
        ..Options::new()
    };
    let running = server::start(opts).await.expect("the daemon starts");
    let total = pending * 2;
    for round in 0..total.div_ceil(ROUND) {
        let mut tasks = Vec::with_capacity(ROUND);
        for i in round * ROUND..((round + 1) * ROUND).min(total) {
            let state = running.state.clone();
            let status = if i % 2 == 0 { "pending" } else { "open" };
            tasks.push(tokio::spawn(async move {
                let e = Event::from_json(&format!(
                    r#"{{"id":"u{i}","type":"ticket.updated","ticket":{{"id":"T{i:07}","status":"{status}"}}}}"#
                ))
                .unwrap();
                state.process(e, None, false).await.expect("stored");
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    // The schedule is first seen now (its baseline), then 02:00 Oslo time comes.
    clock.set(t0());
    assert_eq!(server::run_schedules(&running.state).await, 0);
    clock.set("2026-11-24T01:00:01Z".parse().unwrap());
    let started = Instant::now();
    let ran = server::run_schedules(&running.state).await;
    let took = started.elapsed();
    assert_eq!(ran, 1, "one occurrence");
    println!(
        "one occurrence closed {pending} of {total} tickets in {:.2} s: {:.0} tickets/s",
        took.as_secs_f64(),
        pending as f64 / took.as_secs_f64()
    );
    let started = Instant::now();
    assert_eq!(server::run_schedules(&running.state).await, 0, "once");
    println!(
        "the next round (nothing due) took {:.2} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    running.stop().await.unwrap();
}
