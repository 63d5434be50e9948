//! The KPI report on a store of real size. Fills a store through its own write path (each event
//! decided and committed with its decision, timers, audit rows and KPI facts, as the daemon
//! does) with 100,000 tickets of 11 events each (1.1 million) — created, four agent replies and four customer
//! messages, solved (a survey goes out), a rating — spread over 180 days in four channels,
//! four priorities, four teams, twenty agents and five languages; then times
//! `Store::kpi_report` for the reports people ask for.
//!
//! ```sh
//! cargo run --release --example kpi_bench                                   # a new SQLite file
//! cargo run --release --example kpi_bench -- --store sqlite:///tmp/kpi.db   # kept; reused when run again
//! cargo run --release --example kpi_bench -- --store postgres://postgres@127.0.0.1/kpi
//! cargo run --release --example kpi_bench -- --tickets 10000                # smaller
//! ```
//!
//! A store that already holds events is not filled again: only the reports are timed.

#[path = "common/mod.rs"]
mod common;

use chrono::Duration;
use common::{start, store_url, tickets, time, Fill, History, Rng};
use frontdesk::kpi::{Dim, Interval, Query};
use serde_json::json;

const PACK: &str = r#"
templates:
  ask: "How did we do? Answer 1 to 5."
sla:
  - name: standard
    first_response: { low: 24h, normal: 8h, high: 2h, urgent: 30m }
    next_response: { low: 24h, normal: 8h, high: 4h, urgent: 1h }
rules:
  - name: survey when solved
    on: [ticket.updated]
    when: { field: ticket.status, eq: solved }
    then: [ { survey: { template: ask } } ]
"#;

const DAYS: i64 = 180;

/// The ten events of ticket `i` of `n`, with the time each happened.
fn history(i: usize, n: usize) -> History {
    let mut rng = Rng(i as u64);
    let id = format!("T{i}");
    let created = start() + Duration::seconds(DAYS * 86_400 * i as i64 / n as i64);
    let ticket = json!({
        "id": id,
        "channel": rng.pick(&["email", "chat", "web", "sms"]),
        "priority": rng.pick(&["low", "normal", "normal", "high", "urgent"]),
        "group": rng.pick(&["billing", "tech", "sales", "returns"]),
        "assignee": format!("agent-{}", rng.next() % 20),
        "customer": { "language": rng.pick(&["en", "nb", "da", "ar", "zh"]) },
        "created_at": created,
    });
    let mut at = created;
    let mut out = vec![(
        at,
        json!({ "id": format!("{id}-0"), "type": "ticket.created", "occurred_at": at,
                "ticket": ticket, "message": { "text": "My order has not arrived", "author": "customer" } }),
    )];
    for k in 1..=8 {
        let agent = k % 2 == 1;
        at += if agent {
            rng.minutes(5, 600)
        } else {
            rng.minutes(30, 1440)
        };
        out.push((
            at,
            json!({ "id": format!("{id}-{k}"), "type": "message.created", "occurred_at": at,
                    "ticket": { "id": id },
                    "message": { "text": if agent { "Here is what we found" } else { "Thanks, one more question" },
                                 "author": if agent { "agent" } else { "customer" } } }),
        ));
    }
    at += rng.minutes(10, 240);
    out.push((
        at,
        json!({ "id": format!("{id}-9"), "type": "ticket.updated", "occurred_at": at,
                "ticket": { "id": id, "status": "solved" } }),
    ));
    at += rng.minutes(5, 600);
    let score = 1 + rng.next() % 5;
    out.push((
        at,
        json!({ "id": format!("{id}-10"), "type": "message.created", "occurred_at": at,
                "ticket": { "id": id },
                "message": { "text": score.to_string(), "author": "customer" } }),
    ));
    out
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = store_url(&dir, "kpi.db");
    let store = Fill {
        file: "kpi.yaml",
        pack: PACK,
        tickets: tickets(),
        concurrency: 16,
        history,
    }
    .open(&url, "reports")
    .await;
    // Reports end at a time of day, as `--since 7d` does: the partial days at their edges are
    // counted from the facts, the whole days read from rollups.
    let end = start() + Duration::days(DAYS) + Duration::minutes(14 * 60 + 37);
    let queries = [
        (
            "last 7 days",
            Query::new(end - Duration::days(7), end, None, None),
        ),
        (
            "last 30 days, per team and day",
            Query::new(
                end - Duration::days(30),
                end,
                Some(Dim::Team),
                Some(Interval::Day),
            ),
        ),
        (
            "last 90 days, per agent",
            Query::new(end - Duration::days(90), end, Some(Dim::Agent), None),
        ),
        (
            "all 180 days, per week",
            Query::new(start(), end, None, Some(Interval::Week)),
        ),
    ];
    println!("| report | facts read | first | median of the next 5 | slowest |");
    println!("|---|---|---|---|---|");
    for (name, q) in queries {
        let q = q.expect("a valid query");
        // The first report counts the days that have no fresh rollup (every day, on a store
        // filled or rebuilt just before) and stores their rollups; the next ones read them.
        let t = time(5, || async {
            store.kpi_report(&q).await.expect("a report")
        })
        .await;
        let r = t.out;
        let facts = r.figures.tickets.created
            + r.figures.first_response.count
            + r.figures.next_response.count
            + r.figures.resolution.count
            + r.figures.sla.met
            + r.figures.sla.breached
            + r.figures.csat.count;
        println!(
            "| {name} | {facts} | {:.0} ms | {:.0} ms | {:.0} ms |",
            t.first.as_secs_f64() * 1000.0,
            t.median.as_secs_f64() * 1000.0,
            t.slowest.as_secs_f64() * 1000.0
        );
    }
    store.close().await;
}
