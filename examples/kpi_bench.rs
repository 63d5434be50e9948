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

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use frontdesk::config::Config;
use frontdesk::engine::{self, Context};
use frontdesk::kpi::{Dim, Interval, Query};
use frontdesk::model::{Event, Ticket};
use frontdesk::store::{self, Store};
use futures_util::StreamExt;
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

fn start() -> DateTime<Utc> {
    "2026-05-01T00:00:00Z".parse().unwrap()
}

/// A small deterministic generator (SplitMix64), so every run builds the same store.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }

    /// Minutes between `lo` and `hi`.
    fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::minutes(lo + (self.next() % (hi - lo) as u64) as i64)
    }
}

/// The ten events of ticket `i` of `n`, with the time each happened.
fn history(i: usize, n: usize) -> Vec<(DateTime<Utc>, serde_json::Value)> {
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

/// Decides and commits one event as the daemon does: the event's ticket laid over the stored
/// one, what changed, the stored ticket as the KPI facts' prior.
async fn apply(
    store: &dyn Store,
    config: &Arc<Config>,
    at: DateTime<Utc>,
    body: serde_json::Value,
) {
    let event = Event::from_value(body.clone()).expect("a valid event");
    let patch = body["ticket"].clone();
    let fingerprint = store::fingerprint(&event);
    let config = config.clone();
    let decided = event.clone();
    store
        .apply(
            event,
            fingerprint,
            at,
            Box::new(move |prior: Option<Ticket>| {
                let ev = frontdesk::plan::prepare(prior.as_ref(), &decided, Some(&patch));
                let ctx = Context {
                    prior,
                    ..Context::default()
                };
                engine::decide_with(&config, &ctx, &ev.ticket, &ev, at)
            }),
        )
        .await
        .expect("the event is stored");
}

async fn fill(store: Arc<dyn Store>, tickets: usize) {
    let config = Arc::new(Config::from_yaml("kpi.yaml", PACK).unwrap_or_else(|d| panic!("{d}")));
    let started = Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    futures_util::stream::iter(0..tickets)
        .for_each_concurrent(16, |i| {
            let (store, config, done) = (store.clone(), config.clone(), &done);
            async move {
                for (at, body) in history(i, tickets) {
                    apply(&*store, &config, at, body).await;
                }
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n % 10_000 == 0 {
                    eprintln!(
                        "  {n} tickets, {} events, {:.0} s",
                        n * 11,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        })
        .await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "filled: {tickets} tickets, {} events in {secs:.0} s ({:.0} events/s)",
        tickets * 11,
        (tickets * 11) as f64 / secs
    );
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let tickets: usize = arg("--tickets").map_or(100_000, |n| n.parse().expect("--tickets N"));
    let dir = tempfile::tempdir().unwrap();
    let url = arg("--store")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("kpi.db").display()));
    let store = store::open(&url).await.expect("the store opens");
    let empty = store
        .events_page(0, DateTime::<Utc>::UNIX_EPOCH, 1)
        .await
        .unwrap()
        .is_empty();
    if empty {
        fill(store.clone(), tickets).await;
    } else {
        println!("{url} holds events already: timing the reports only");
    }
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
        let mut times = Vec::new();
        let mut report = None;
        for _ in 0..6 {
            let t = Instant::now();
            report = Some(store.kpi_report(&q).await.expect("a report"));
            times.push(t.elapsed());
        }
        // The first report counts the days that have no fresh rollup (every day, on a store
        // filled or rebuilt just before) and stores their rollups; the next ones read them.
        let first = times.remove(0);
        times.sort();
        let r = report.unwrap();
        let facts = r.figures.tickets.created
            + r.figures.first_response.count
            + r.figures.next_response.count
            + r.figures.resolution.count
            + r.figures.sla.met
            + r.figures.sla.breached
            + r.figures.csat.count;
        println!(
            "| {name} | {facts} | {:.0} ms | {:.0} ms | {:.0} ms |",
            first.as_secs_f64() * 1000.0,
            times[2].as_secs_f64() * 1000.0,
            times[4].as_secs_f64() * 1000.0
        );
    }
    store.close().await;
}
