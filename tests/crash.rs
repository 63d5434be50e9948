//! Kill the daemon with SIGKILL again and again while a client posts events: every event that
//! got a 200 must be in the store exactly once, and nothing is applied twice when the client
//! retries the ones that got no answer.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::process::client;
use common::spawn;
use serde_json::{json, Value};
use sqlx::Row;

fn event(i: usize) -> Value {
    json!({
        "id": format!("crash-{i}"),
        "type": "message.created",
        "ticket": {"id": format!("T{}", i % 7), "channel": "email"},
        "message": {"text": if i % 3 == 0 { "the site is down" } else { "where is my invoice" }}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_event_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let http = client(Duration::from_secs(10));
    let mut proc = spawn(&db, &[]);
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let mut unanswered: Vec<usize> = Vec::new();
    let total = 240;
    let kills = 6;
    for i in 0..total {
        // Every 40 events, kill the daemon while this request is on its way.
        let kill_now = i > 0 && i % (total / kills) == 0;
        let url = format!("{}/v1/events", proc.url);
        let req = http.post(&url).json(&event(i)).send();
        if kill_now {
            proc.child.kill().unwrap();
        }
        match req.await {
            Ok(r) if r.status().is_success() => {
                acked.insert(format!("crash-{i}"));
            }
            _ => unanswered.push(i),
        }
        if kill_now {
            let _ = proc.child.wait();
            proc = spawn(&db, &[]);
        }
    }
    // The client retries what got no answer: each is decided at most once.
    for i in unanswered.clone() {
        let r = http
            .post(format!("{}/v1/events", proc.url))
            .json(&event(i))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        acked.insert(format!("crash-{i}"));
    }
    proc.child.kill().unwrap();
    let _ = proc.child.wait();

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows = sqlx::query("SELECT id FROM events")
        .fetch_all(&pool)
        .await
        .unwrap();
    let stored: Vec<String> = rows.iter().map(|r| r.get::<String, _>("id")).collect();
    let unique: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), unique.len(), "no event stored twice");
    assert_eq!(
        unique, acked,
        "every acknowledged event is stored, and only those"
    );
    assert_eq!(acked.len(), total);
    // Each ticket's version counts its events exactly once.
    for t in 0..7 {
        let version: i64 = sqlx::query_scalar("SELECT version FROM tickets WHERE id = ?")
            .bind(format!("T{t}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        let events = (0..total).filter(|i| i % 7 == t).count() as i64;
        assert_eq!(version, events, "ticket T{t}");
    }
    let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decisions")
        .fetch_one(&pool)
        .await
        .unwrap();
    // Each of these events fires exactly one rule (outage or billing).
    assert_eq!(
        audit, total as i64,
        "one audit row per fired rule per event"
    );
    eprintln!(
        "{total} events, {} kills, {} retried after no answer",
        (total - 1) / (total / kills),
        unanswered.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_survive_sigkill_and_fire_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("r.yaml"),
        "rules:\n  - name: start\n    on: ticket.created\n    then:\n      - schedule: { name: soon, after: 1s, then: [ { add_tags: [fired] } ] }\n",
    )
    .unwrap();
    let db = dir.path().join("timers.db");
    let args = ["--config", rules.to_str().unwrap()];
    let http = client(Duration::from_secs(10));
    let mut proc = spawn(&db, &args);
    let tickets = 60;
    for i in 0..tickets {
        let e = json!({"id": format!("t-{i}"), "type": "ticket.created", "ticket": {"id": format!("K{i}")}});
        let r = http
            .post(format!("{}/v1/events", proc.url))
            .json(&e)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    // Kill the daemon while the timers come due, three times.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        proc.child.kill().unwrap();
        let _ = proc.child.wait();
        proc = spawn(&db, &args);
    }
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let fired: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE state = 'fired'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if fired == tickets || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proc.child.kill().unwrap();
    let _ = proc.child.wait();
    let fired: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE state = 'fired'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(fired, tickets, "every timer fired (none lost)");
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE id LIKE 'timer:%'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, tickets, "each timer fired once");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM tickets")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        versions.iter().all(|v| *v == 2),
        "created + fired, nothing twice: {versions:?}"
    );
}
