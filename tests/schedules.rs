//! Cron schedules in rule files: what `check` says about mistakes, and what a `schedule.tick`
//! decides.

mod common;

use chrono::{DateTime, Utc};
use common::snapshot;
use frontdesk::config::Config;
use frontdesk::engine;
use frontdesk::model::{Action, Event, Status};
use serde_json::json;

fn diagnostics(yaml: &str) -> Vec<String> {
    match Config::from_yaml("r.yaml", yaml) {
        Ok(_) => Vec::new(),
        Err(d) => d.items().iter().map(|d| d.to_string()).collect(),
    }
}

const THEN: &str = "    then: [ { set_status: closed } ]\n";

#[test]
fn each_schedule_mistake_is_named_with_its_place() {
    let cases: &[(&str, String)] = &[
        (
            "too few cron fields",
            format!("schedules:\n  - name: a\n    cron: \"0 2 * *\"\n{THEN}"),
        ),
        (
            "a weekday out of range",
            format!("schedules:\n  - name: a\n    cron: \"0 2 * * 8\"\n{THEN}"),
        ),
        (
            "unknown time zone",
            format!("schedules:\n  - name: a\n    cron: \"0 2 * * *\"\n    timezone: Europe/Olso\n{THEN}"),
        ),
        (
            "unknown status in for_each",
            format!("schedules:\n  - name: a\n    cron: \"0 2 * * *\"\n    for_each: {{ status: pendng }}\n{THEN}"),
        ),
        (
            "bad idle_for",
            format!("schedules:\n  - name: a\n    cron: \"0 2 * * *\"\n    for_each: {{ idle_for: a week }}\n{THEN}"),
        ),
        (
            "unknown missed value",
            format!("schedules:\n  - name: a\n    cron: \"0 2 * * *\"\n    missed: run_onse\n{THEN}"),
        ),
        (
            "duplicate schedule names",
            format!("schedules:\n  - name: a\n    cron: \"0 2 * * *\"\n{THEN}  - name: a\n    cron: \"0 3 * * *\"\n{THEN}"),
        ),
        (
            "unknown key",
            format!("schedules:\n  - name: a\n    cron: \"0 2 * * *\"\n    timzone: UTC\n{THEN}"),
        ),
        (
            "missing cron",
            format!("schedules:\n  - name: a\n{THEN}"),
        ),
        (
            "a bad action",
            "schedules:\n  - name: a\n    cron: \"0 2 * * *\"\n    then: [ { set_status: shut } ]\n".into(),
        ),
    ];
    insta::assert_snapshot!(snapshot::cases(
        cases.iter().map(|(what, yaml)| (what, diagnostics(yaml)))
    ));
}

fn now() -> DateTime<Utc> {
    "2026-11-24T01:00:00Z".parse().unwrap()
}

#[test]
fn a_tick_runs_its_schedule_then_the_rules() {
    let c = Config::from_yaml(
        "r.yaml",
        r#"
schedules:
  - name: nightly
    cron: "0 2 * * *"
    timezone: Europe/Oslo
    for_each: { status: pending, idle_for: 7d }
    then: [ { set_status: closed } ]
rules:
  - name: note every tick
    on: [schedule.tick]
    then: [ { internal_note: { text: "closed by {{ event.data.schedule }} at {{ event.data.fire_at }}" } } ]
"#,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(c.schedules().len(), 1);
    let tick = |schedule: &str| {
        Event::from_value(json!({"id": "s", "type": "schedule.tick",
            "ticket": {"id": "T", "status": "pending"},
            "data": {"schedule": schedule, "fire_at": "2026-11-24T01:00:00Z"}}))
        .unwrap()
    };
    let e = tick("nightly");
    let d = engine::decide(&c, &e.ticket, &e, now());
    assert_eq!(d.ticket.status, Status::Closed);
    assert_eq!(d.trace.fired, ["schedule nightly", "note every tick"]);
    assert!(
        matches!(&d.actions[1], Action::InternalNote { text } if text == "closed by nightly at 2026-11-24T01:00:00Z")
    );
    let x = engine::explain(&c, &e.ticket, &e, now());
    assert_eq!(x.actions, d.actions);
    // A schedule removed since the occurrence was started does nothing and says so.
    let e = tick("gone");
    let d = engine::decide(&c, &e.ticket, &e, now());
    assert_eq!(d.ticket.status, Status::Pending);
    assert_eq!(d.trace.fired, ["note every tick"]);
    assert!(d.trace.errors[0]
        .message
        .contains("no schedule named `gone`"));
}

#[test]
fn a_schedules_own_ticket_runs_no_sla_clocks() {
    let c = Config::from_yaml(
        "r.yaml",
        r##"
sla:
  - name: all
    first_response: { normal: 1h }
schedules:
  - name: reminder
    cron: "0 8 * * 1"
    then: [ { notify: { channel: slack, to: "#support", text: "Monday" } } ]
"##,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let tick = |ticket: &str| {
        Event::from_value(
            json!({"id": "s", "type": "schedule.tick", "ticket": {"id": ticket},
            "data": {"schedule": "reminder", "fire_at": "2026-11-23T08:00:00Z"}}),
        )
        .unwrap()
    };
    let e = tick("schedule:reminder");
    let d = engine::decide(&c, &e.ticket, &e, now());
    assert_eq!(d.actions.len(), 1);
    assert!(d.ticket.sla.is_none());
    assert!(d.timers.is_empty());
    // A customer's ticket under the same pack does get its clock.
    let e = tick("T1");
    let d = engine::decide(&c, &e.ticket, &e, now());
    assert_eq!(
        d.ticket.sla.as_ref().map(|s| s.policy.as_str()),
        Some("all")
    );
    assert_eq!(d.timers.len(), 1);
}
