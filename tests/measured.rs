//! Expected responses blended with measured first responses (`settings.measured_response`):
//! the decision with given samples, its trace, the diagnostics, and the daemon end to end
//! (tickets met late over HTTP leave samples that later acknowledgements promise).

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::Daemon;
use frontdesk::config::Config;
use frontdesk::engine::{self, Context, Decision};
use frontdesk::measured::Measured;
use frontdesk::model::{Action, Event, Priority};
use frontdesk::server;
use serde_json::{json, Value};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Monday 23 November 2026, 09:00 in Oslo.
fn monday_9() -> DateTime<Utc> {
    at("2026-11-23T08:00:00Z")
}

const PACK: &str = r#"
calendars:
  oslo:
    timezone: Europe/Oslo
    hours: { mon-fri: ["08:00-16:00"] }
settings:
  response_calendar: oslo
  first_response: { urgent: 30m, high: 1h, normal: 2h, low: 1d }
  MEASURED
sla:
  - name: standard
    calendar: oslo
    first_response: { urgent: 30m, high: 1h, normal: 2h, low: 1d }
rules:
  - name: ack
    on: [ticket.created]
    when: { field: message.author, eq: customer }
    then: [ { reply: { text: "We will answer {{ expected_response }}." } } ]
"#;

fn pack(measured: &str) -> String {
    PACK.replace("MEASURED", measured)
}

fn config(measured: &str) -> Config {
    Config::from_yaml("pack.yaml", &pack(measured)).unwrap_or_else(|d| panic!("{d}"))
}

fn created(id: &str, group: Option<&str>) -> Event {
    let mut e = json!({
        "id": format!("e-{id}"), "type": "ticket.created",
        "ticket": { "id": id, "priority": "normal" },
        "message": { "text": "Hello", "author": "customer" }
    });
    if let Some(g) = group {
        e["ticket"]["group"] = json!(g);
    }
    Event::from_value(e).unwrap()
}

fn decide(c: &Config, samples: &[(&str, Priority, i64)], e: &Event) -> Decision {
    let ctx = Context {
        measured: Arc::new(Measured::from_rows(
            samples.iter().map(|(q, p, s)| (q.to_string(), *p, *s)),
        )),
        ..Context::default()
    };
    let d = engine::decide_with(c, &ctx, &e.ticket, e, monday_9());
    let x = engine::explain_with(c, &ctx, &e.ticket, e, monday_9());
    assert_eq!(d.actions, x.actions, "decide and explain agree");
    assert_eq!(d.trace.measured_response, x.trace.measured_response);
    d
}

fn reply(d: &Decision) -> &str {
    match &d.actions[0] {
        Action::Reply { text, .. } => text,
        a => panic!("not a reply: {a:?}"),
    }
}

const H: i64 = 3600;

#[test]
fn a_slower_desk_promises_its_measured_percentile() {
    let c = config("measured_response: { percentile: 80, min_samples: 5 }");
    // Normal tickets of no queue took 1 to 4 hours; the 80th percentile (nearest rank: the
    // 4th of 5 sorted) is 3h.
    let samples = [
        ("", Priority::Normal, H),
        ("", Priority::Normal, 2 * H),
        ("", Priority::Normal, 3 * H),
        ("", Priority::Normal, 4 * H),
        ("", Priority::Normal, 3 * H),
    ];
    let d = decide(&c, &samples, &created("T1", None));
    assert_eq!(reply(&d), "We will answer within 3 hours.");
    let t = d.trace.measured_response.as_ref().expect("in the trace");
    assert!(t.used);
    assert_eq!(
        (t.samples, t.percentile, t.measured_secs),
        (5, 80, Some(3 * H))
    );
    assert_eq!(t.queue, "");
    assert_eq!(t.priority, Priority::Normal);
    assert_eq!(t.target_at, at("2026-11-23T10:00:00Z"), "the target: 2h");
}

#[test]
fn a_faster_desk_or_too_few_samples_keep_the_target() {
    let c = config("measured_response: { min_samples: 3 }");
    let fast = [("", Priority::Normal, 1800); 10];
    let d = decide(&c, &fast, &created("T1", None));
    assert_eq!(reply(&d), "We will answer within 2 hours.");
    let t = d.trace.measured_response.as_ref().unwrap();
    assert!(!t.used, "measured earlier than the target");
    assert_eq!(t.measured_secs, Some(1800));

    let few = [("", Priority::Normal, 6 * H); 2];
    let d = decide(&c, &few, &created("T1", None));
    assert_eq!(reply(&d), "We will answer within 2 hours.");
    let t = d.trace.measured_response.as_ref().unwrap();
    assert!(!t.used);
    assert_eq!((t.samples, t.measured_secs), (2, None), "2 < min_samples 3");
}

#[test]
fn samples_count_per_queue_and_priority() {
    let c = config("measured_response: { min_samples: 2 }");
    let samples = [
        ("billing", Priority::Normal, 5 * H),
        ("billing", Priority::Normal, 5 * H),
        ("", Priority::Normal, H),
        ("", Priority::Normal, H),
        ("billing", Priority::High, 7 * H),
        ("billing", Priority::High, 7 * H),
    ];
    let d = decide(&c, &samples, &created("T1", Some("billing")));
    assert_eq!(reply(&d), "We will answer within 5 hours.");
    let d = decide(&c, &samples, &created("T2", None));
    assert_eq!(reply(&d), "We will answer within 2 hours.");
}

#[test]
fn measured_business_time_crosses_the_night_like_the_target() {
    let c = config("measured_response: { min_samples: 1 }");
    // 10 business hours from Monday 09:00 in an 8-hour day: Tuesday 11:00.
    let d = decide(&c, &[("", Priority::Normal, 10 * H)], &created("T1", None));
    assert_eq!(reply(&d), "We will answer by 11:00 tomorrow.");
}

#[test]
fn without_the_setting_samples_are_not_read() {
    let c = config("");
    let d = decide(
        &c,
        &[("", Priority::Normal, 9 * H); 50],
        &created("T1", None),
    );
    assert_eq!(reply(&d), "We will answer within 2 hours.");
    assert_eq!(d.trace.measured_response, None);
    // `true` takes the defaults: 80th percentile of at least 20 samples.
    let c = config("measured_response: true");
    let d = decide(
        &c,
        &[("", Priority::Normal, 3 * H); 20],
        &created("T1", None),
    );
    assert_eq!(reply(&d), "We will answer within 3 hours.");
    let d = decide(
        &c,
        &[("", Priority::Normal, 3 * H); 19],
        &created("T1", None),
    );
    assert_eq!(reply(&d), "We will answer within 2 hours.");
}

#[test]
fn each_mistake_is_named_with_its_place() {
    let cases = [
        (
            "measured_response: { percentile: 100 }",
            "pack.yaml:9:36: settings.measured_response.percentile: percentile 100 is not between 1 and 99",
        ),
        (
            "measured_response: { min_samples: 0 }",
            "pack.yaml:9:37: settings.measured_response.min_samples: min_samples 0 is not between 1 and 100000",
        ),
        (
            "measured_response: { window: 2 fortnights }",
            "pack.yaml:9:32: settings.measured_response.window: unknown unit `fortnights` in `2 fortnights` (use s, m, h, d or w)",
        ),
        (
            "measured_response: { percentil: 80 }",
            "pack.yaml:9:24: settings.measured_response.percentil: unknown field `percentil`; did you mean `percentile`?",
        ),
        (
            "measured_response: often",
            "pack.yaml:9:22: settings.measured_response: expected `true` (the defaults) or a mapping with `percentile`, `min_samples`, `window`, found text",
        ),
    ];
    for (setting, want) in cases {
        let got = match Config::from_yaml("pack.yaml", &pack(setting)) {
            Ok(_) => panic!("`{setting}` was accepted"),
            Err(d) => d.items().iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        };
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "`{setting}`: wanted {want}\ngot {got:#?}"
        );
    }
}

// --- the daemon ------------------------------------------------------------------------------

/// `e` decided with `?explain=true`; panics unless it is a 200.
async fn explained(d: &Daemon, e: Value) -> Value {
    let (status, body) = d.post("/v1/events?explain=true", &e).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A customer's new normal ticket `id`, decided with `?explain=true`.
async fn new_ticket(d: &Daemon, id: &str) -> Value {
    let e = json!({
        "id": format!("new-{id}"), "type": "ticket.created",
        "ticket": { "id": id, "priority": "normal" },
        "message": { "text": format!("Where is my parcel? ({id})"), "author": "customer" }
    });
    explained(d, e).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_met_late_over_http_change_what_is_promised_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/pack.yaml"),
        pack("measured_response: { percentile: 80, min_samples: 3, window: 7d }"),
    )
    .unwrap();
    let d = Daemon::with()
        .rules(dir.path().join("rules"))
        .sqlite(&dir.path().join("fd.db"))
        .now(monday_9())
        .start()
        .await;
    let clock = d.clock.clone();

    // Three tickets answered by an agent 3, 3 and 5 business hours after they came in.
    for (i, hours) in [3, 3, 5].into_iter().enumerate() {
        clock.set(monday_9());
        let body = new_ticket(&d, &format!("T{i}")).await;
        assert_eq!(body["actions"][0]["text"], "We will answer within 2 hours.");
        clock.set(monday_9() + Duration::hours(hours));
        explained(
            &d,
            json!({
                "id": format!("reply-{i}"), "type": "message.created",
                "ticket": { "id": format!("T{i}") },
                "message": { "text": "On its way.", "author": "agent" }
            }),
        )
        .await;
    }
    clock.set(at("2026-11-24T08:00:00Z"));
    assert_eq!(server::refresh_measured(&d.running.state).await.unwrap(), 3);

    // Tuesday 09:00: the 80th percentile of 3h, 3h, 5h is 5h, later than the 2h target.
    let body = new_ticket(&d, "T9").await;
    assert_eq!(body["actions"][0]["text"], "We will answer within 5 hours.");
    let t = &body["trace"]["measured_response"];
    assert_eq!(t["used"], true, "{t}");
    assert_eq!(t["samples"], 3);
    assert_eq!(t["measured_secs"], 5 * H);

    // A restart reads the samples at once; a week later they are out of the window.
    let d = d.restart().await;
    let body = new_ticket(&d, "T10").await;
    assert_eq!(body["actions"][0]["text"], "We will answer within 5 hours.");
    clock.set(at("2026-12-01T08:00:00Z"));
    assert_eq!(server::refresh_measured(&d.running.state).await.unwrap(), 0);
    let body = new_ticket(&d, "T11").await;
    assert_eq!(body["actions"][0]["text"], "We will answer within 2 hours.");
    d.stop().await;
}
