//! What `decide` does, case by case.

use chrono::{DateTime, Utc};
use frontdesk::config::Config;
use frontdesk::engine::{self, Decision, Outcome};
use frontdesk::model::{Action, Event, Priority, Status};

fn now() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn config(yaml: &str) -> Config {
    Config::from_yaml("t.yaml", yaml).unwrap_or_else(|d| panic!("{d}"))
}

fn event(json: &str) -> Event {
    Event::from_json(json).unwrap()
}

fn created(text: &str) -> Event {
    event(&format!(
        r#"{{"id":"e1","type":"ticket.created","ticket":{{"id":"T1","channel":"email","customer":{{"tier":"gold","language":"nb"}},"fields":{{"amount":1200}}}},"message":{{"text":{text:?}}}}}"#
    ))
}

fn decide(yaml: &str, e: &Event) -> Decision {
    let c = config(yaml);
    let d = engine::decide(&c, &e.ticket, e, now());
    let x = engine::explain(&c, &e.ticket, e, now());
    assert_eq!(d.actions, x.actions, "decide and explain agree on actions");
    assert_eq!(
        d.trace.fired, x.trace.fired,
        "decide and explain agree on rules"
    );
    assert_eq!(d.ticket, x.ticket);
    d
}

#[test]
fn later_rules_see_earlier_changes() {
    let d = decide(
        r#"
rules:
  - name: urgent
    on: ticket.created
    when: { field: text, contains: down }
    then: [ { set_priority: urgent } ]
  - name: page on urgent
    on: ticket.created
    when: { field: ticket.priority, eq: urgent }
    then: [ { add_tags: [paged] } ]
"#,
        &created("site is down"),
    );
    assert_eq!(d.trace.fired, ["urgent", "page on urgent"]);
    assert_eq!(d.ticket.priority, Priority::Urgent);
    assert_eq!(d.ticket.tags, ["paged"]);
}

#[test]
fn stop_disabled_and_order() {
    let yaml = r#"
rules:
  - { name: late, order: 10, on: ticket.created, then: [ { add_tags: [late] } ] }
  - { name: off, enabled: false, on: ticket.created, then: [ { add_tags: [off] } ] }
  - { name: first, order: -1, on: ticket.created, then: [ { add_tags: [first] } ], stop: true }
  - { name: never, on: ticket.created, then: [ { add_tags: [never] } ] }
"#;
    let e = created("hi");
    let d = decide(yaml, &e);
    assert_eq!(d.trace.fired, ["first"]);
    let x = engine::explain(&config(yaml), &e.ticket, &e, now());
    let outcomes: Vec<(String, Outcome)> = x
        .trace
        .rules
        .iter()
        .map(|r| (r.rule.clone(), r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("first".to_string(), Outcome::Matched),
            ("off".to_string(), Outcome::Stopped),
            ("never".to_string(), Outcome::Stopped),
            ("late".to_string(), Outcome::Stopped),
        ]
    );
}

#[test]
fn the_trace_names_the_failing_condition_and_value() {
    let yaml = r#"
rules:
  - name: big refunds
    on: ticket.created
    when:
      all:
        - { field: text, contains: refund }
        - { field: ticket.fields.amount, gt: 5000 }
    then: [ { add_tags: [big] } ]
"#;
    let e = created("I want a refund");
    let x = engine::explain(&config(yaml), &e.ticket, &e, now());
    let r = &x.trace.rules[0];
    assert_eq!(r.outcome, Outcome::NotMatched);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].path, "rules[0].when.all[1]");
    assert_eq!(r.failed[0].condition, "ticket.fields.amount gt 5000");
    assert_eq!(r.failed[0].actual, serde_json::json!(1200));
}

#[test]
fn operator_table() {
    // (condition, holds?) against the ticket of `created(...)` and its text.
    let cases = [
        ("{ field: ticket.channel, eq: email }", true),
        ("{ field: ticket.channel, ne: email }", false),
        ("{ field: ticket.channel, in: [chat, email] }", true),
        ("{ field: ticket.channel, not_in: [chat, sms] }", true),
        ("{ field: ticket.priority, gte: normal }", true),
        ("{ field: ticket.priority, gt: normal }", false),
        ("{ field: ticket.priority, lt: urgent }", true),
        ("{ field: customer.tier, eq: GOLD }", true),
        ("{ field: customer.tier, in: [silver, gold] }", true),
        ("{ field: customer.email, exists: false }", true),
        ("{ field: customer.tier, exists: true }", true),
        ("{ field: message.text, contains: 'Faktura' }", true),
        (
            "{ field: message.text, contains_all: [faktura, betalt] }",
            true,
        ),
        (
            "{ field: message.text, contains_all: [faktura, refund] }",
            false,
        ),
        (
            "{ field: message.text, contains_any: [refund, betalt] }",
            true,
        ),
        ("{ field: message.text, starts_with: 'min faktura' }", true),
        ("{ field: message.text, matches: '\\d{4}' }", true),
        ("{ field: ticket.fields.amount, gt: 1000 }", true),
        ("{ field: ticket.fields.amount, lte: 1000 }", false),
        ("{ field: ticket.fields.amount, eq: 1200 }", true),
        ("{ field: ticket.fields.amount, in: [\"1200\", 5] }", true),
        ("{ field: ticket.fields.missing, exists: true }", false),
        ("{ field: ticket.tags, contains: vip }", false),
        ("{ field: event.type, eq: ticket.created }", true),
        ("{ field: message.author, eq: customer }", true),
        ("{ not: { field: ticket.channel, eq: chat } }", true),
        (
            "{ any: [ { field: ticket.channel, eq: chat }, { field: customer.tier, eq: gold } ] }",
            true,
        ),
        (
            "[ { field: ticket.channel, eq: chat }, { field: customer.tier, eq: gold } ]",
            false,
        ),
        (
            "{ script: 'ticket.fields.amount > 1000 && customer.tier == \"gold\"' }",
            true,
        ),
        ("{ script: 'message.text.contains(\"betalt\")' }", true),
    ];
    let e = created("Min faktura 2026 er betalt to ganger");
    for (cond, want) in cases {
        let yaml = format!("rules:\n  - name: r\n    on: ticket.created\n    when: {cond}\n    then: [ {{ add_tags: [hit] }} ]\n");
        let d = decide(&yaml, &e);
        assert_eq!(d.trace.fired.len() == 1, want, "{cond}");
    }
}

#[test]
fn changes_on_update_events() {
    let yaml = r#"
rules:
  - name: escalated
    on: ticket.updated
    when: { field: ticket.priority, changed_to: urgent }
    then: [ { add_tags: [escalated] } ]
  - name: was pending
    on: ticket.updated
    when: { field: ticket.status, changed_from: pending }
    then: [ { add_tags: [was_pending] } ]
  - name: any change to group
    on: ticket.updated
    when: { field: ticket.group, changed: true }
    then: [ { add_tags: [regrouped] } ]
"#;
    let e = event(
        r#"{"id":"e","type":"ticket.updated","ticket":{"id":"T","priority":"urgent","status":"open"},
            "changes":{"ticket.priority":{"from":"normal","to":"urgent"},"status":{"from":"pending","to":"open"}}}"#,
    );
    let d = decide(yaml, &e);
    assert_eq!(d.trace.fired, ["escalated", "was pending"]);
}

#[test]
fn failing_scripts_are_reported_and_other_rules_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("loop.rhai"), "let n = 0; loop { n += 1; }").unwrap();
    std::fs::write(
        dir.path().join("bad.rhai"),
        "[#{ set_priority: \"sky-high\" }, #{ add_tags: [\"ok\"] }]",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("r.yaml"),
        r#"
rules:
  - { name: runaway, on: ticket.created, then: [ { script: loop.rhai } ] }
  - { name: runaway condition, on: ticket.created, when: { script: 'customer.tier.len() / 0 > 1' }, then: [ { add_tags: [never] } ] }
  - { name: bad action, on: ticket.created, then: [ { script: bad.rhai } ] }
  - { name: still runs, on: ticket.created, then: [ { add_tags: [after] } ] }
"#,
    )
    .unwrap();
    let c = Config::load(dir.path()).unwrap_or_else(|d| panic!("{d}"));
    let e = created("hello");
    let d = engine::decide(&c, &e.ticket, &e, now());
    assert_eq!(d.ticket.tags, ["ok", "after"]);
    let errors: Vec<(&str, &str)> = d
        .trace
        .errors
        .iter()
        .map(|e| (e.rule.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(errors[0].0, "runaway");
    assert!(errors[0].1.contains("100000 operations"), "{}", errors[0].1);
    assert_eq!(errors[1].0, "runaway condition");
    assert_eq!(errors[2].0, "bad action");
    assert!(
        errors[2].1.contains("unknown priority `sky-high`"),
        "{}",
        errors[2].1
    );
}

#[test]
fn templates_pick_the_language_and_fall_back() {
    let yaml = r#"
settings: { default_language: en, languages: { nn: [nb] } }
rules:
  - { name: ack, on: ticket.created, then: [ { reply: { template: ack } } ] }
templates:
  ack:
    en: "Hello {{ customer.first_name or 'there' }}"
    nb: "Hei {{ customer.first_name or 'du' }}"
    ar: "مرحبا {{ customer.first_name }}"
"#;
    let cases = [
        ("nb", "Hei Kari", "nb"),
        ("nn-NO", "Hei Kari", "nb"),
        ("ar", "مرحبا Kari", "ar"),
        ("de", "Hello Kari", "en"),
    ];
    for (lang, text, used) in cases {
        let e = event(&format!(
            r#"{{"id":"e","type":"ticket.created","ticket":{{"id":"T","customer":{{"name":"Kari Nordmann","language":"{lang}"}}}}}}"#
        ));
        let d = decide(yaml, &e);
        assert_eq!(
            d.actions,
            [Action::Reply {
                text: text.into(),
                language: Some(used.into()),
                template: Some("ack".into()),
                quick_replies: Vec::new(),
                survey: None,
            }],
            "{lang}"
        );
    }
}

#[test]
fn timers_and_cancellation() {
    let yaml = r#"
rules:
  - name: pending
    on: ticket.status_changed
    then:
      - schedule: { name: nudge, after: 2d, cancel_on: [message.created], then: [ { reply: { text: "Still there?" } } ] }
      - schedule: { name: close, at: "2026-12-01T00:00:00Z", then: [ { set_status: closed } ] }
      - cancel_timers: [nudge]
"#;
    let e = event(
        r#"{"id":"e","type":"ticket.status_changed","ticket":{"id":"T","status":"pending"}}"#,
    );
    let d = decide(yaml, &e);
    assert_eq!(d.timers.len(), 1);
    assert_eq!(d.timers[0].name, "close");
    assert_eq!(
        d.timers[0].due_at,
        "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        d.actions,
        [Action::CancelTimers {
            names: Some(vec!["nudge".into()])
        }]
    );

    let fired = event(
        r#"{"id":"t","type":"timer.fired","ticket":{"id":"T","status":"pending"},
            "timer":{"id":"x","name":"close","due_at":"2026-12-01T00:00:00Z"}}"#,
    );
    let d = decide(yaml, &fired);
    assert_eq!(d.ticket.status, Status::Closed);
    assert_eq!(d.trace.fired, ["timer close"]);

    let unknown = event(
        r#"{"id":"t","type":"timer.fired","ticket":{"id":"T"},"timer":{"id":"x","name":"gone","due_at":"2026-12-01T00:00:00Z"}}"#,
    );
    let d = decide(yaml, &unknown);
    assert!(d.trace.errors[0]
        .message
        .contains("no `schedule` named `gone`"));
}

#[test]
fn actions_that_change_nothing_are_left_out() {
    let yaml = r#"
rules:
  - name: r
    on: ticket.created
    then:
      - set_priority: normal
      - add_tags: [a]
      - add_tags: [a, b]
      - remove_tags: [zzz]
      - set_field: { name: amount, value: 1200 }
"#;
    let d = decide(yaml, &created("x"));
    assert_eq!(
        d.actions,
        [
            Action::AddTags {
                tags: vec!["a".into()]
            },
            Action::AddTags {
                tags: vec!["b".into()]
            }
        ]
    );
}

#[test]
fn webhook_bodies_and_notes_render_templates() {
    let yaml = r##"
rules:
  - name: r
    on: ticket.created
    then:
      - webhook: { url: "https://hooks.example.org/x", body: { ticket: "{{ ticket.id }}", n: 3, tags: ["{{ customer.tier }}"] } }
      - notify: { channel: slack, to: "#vip", text: "{{ customer.tier | upper }} ticket {{ ticket.id }}" }
"##;
    let d = decide(yaml, &created("x"));
    assert_eq!(
        d.actions[0],
        Action::Webhook {
            url: "https://hooks.example.org/x".into(),
            method: frontdesk::model::HttpMethod::Post,
            body: serde_json::json!({"ticket": "T1", "n": 3, "tags": ["gold"]}),
            headers: Default::default(),
        }
    );
    assert!(matches!(&d.actions[1], Action::Notify { text, .. } if text == "GOLD ticket T1"));
}

#[test]
fn decisions_are_deterministic() {
    let c = Config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules"
    )))
    .unwrap();
    let e = created("Nettbanken er nede, og fakturaen er feil");
    let a = serde_json::to_string(&engine::explain(&c, &e.ticket, &e, now())).unwrap();
    for _ in 0..3 {
        assert_eq!(
            a,
            serde_json::to_string(&engine::explain(&c, &e.ticket, &e, now())).unwrap()
        );
    }
}

const ROUTING: &str = r#"
calendars:
  day: { timezone: UTC, hours: { mon-fri: ["08:00-16:00"] } }
teams:
  desk: { strategy: least_loaded }
  senior: {}
agents:
  ana: { teams: [desk], skills: [billing], languages: [en, nb], capacity: { chat: 1, total: 4 }, shift: day, helpdesk_ids: { zendesk: "z-1" } }
  bo:  { teams: [desk, senior], languages: [ar, en], capacity: 4, shift: day }
  cy:  { teams: [desk], skills: [billing], languages: [en], capacity: 4 }
rules:
  - name: route
    on: [ticket.created]
    then:
      - assign: { team: desk, require: { skills: [billing], language: ticket.customer.language }, fallback: { team: senior } }
"#;

fn routing_ctx(states: &[(&str, &str, u32)]) -> engine::Context {
    use frontdesk::routing::{AgentState, AgentStatus, Load};
    let mut ctx = engine::Context::default();
    for (id, status, open) in states {
        let mut load = Load::default();
        load.add_total(*open);
        ctx.routing.agents.insert(
            id.to_string(),
            AgentState {
                status: frontdesk::model::Named::parse(status).map_or(AgentStatus::Offline, |s| s),
                open: load,
            },
        );
    }
    ctx
}

#[test]
fn team_assignment_explains_every_candidate() {
    use frontdesk::routing::Skip;
    let c = config(ROUTING);
    let e = event(
        r#"{"id":"e1","type":"ticket.created","ticket":{"id":"T1","channel":"chat","customer":{"language":"nb"}}}"#,
    );
    // ana speaks nb and has the skill, but her one chat slot is taken; bo lacks the skill;
    // cy does not speak nb. The fallback team has bo, who does not speak nb either.
    let mut ctx = routing_ctx(&[
        ("ana", "online", 0),
        ("bo", "online", 0),
        ("cy", "online", 0),
    ]);
    ctx.routing
        .agents
        .get_mut("ana")
        .unwrap()
        .open
        .add(frontdesk::model::Channel::Chat, 1);
    let d = engine::decide_with(&c, &ctx, &e.ticket, &e, now());
    assert_eq!(d.ticket.assignee, None);
    assert_eq!(d.ticket.group.as_deref(), Some("desk"));
    assert_eq!(
        d.routing
            .queued
            .as_ref()
            .map(|q| (q.team.as_str(), q.rule.as_str(), q.action.as_str())),
        Some(("desk", "route", "then[0]"))
    );
    let desk = &d.trace.routing[0];
    let why: Vec<(Option<Skip>, Option<&str>)> = desk
        .candidates
        .iter()
        .map(|c| (c.skipped, c.detail.as_deref()))
        .collect();
    assert_eq!(
        why,
        [
            (Some(Skip::AtCapacity), Some("chat 1/1")),
            (Some(Skip::MissingSkill), Some("billing")),
            (Some(Skip::Language), Some("nb")),
        ]
    );
    assert_eq!(d.trace.routing[1].team, "senior");
    assert_eq!(
        d.trace.routing[1].candidates[0].skipped,
        Some(Skip::MissingSkill)
    );
    assert_eq!(
        d.actions,
        [Action::Assign {
            to: frontdesk::model::AssignTarget::Group("desk".into()),
            team: Some("desk".into()),
            helpdesk_ids: Default::default()
        }]
    );

    // Outside ana's shift, even with the slot free, she is skipped; in it she is picked and
    // her helpdesk ids go with the action.
    let ctx = routing_ctx(&[("ana", "online", 0), ("cy", "away", 0)]);
    let night = "2026-11-23T20:00:00Z".parse().unwrap();
    let d = engine::decide_with(&c, &ctx, &e.ticket, &e, night);
    assert_eq!(
        d.trace.routing[0].candidates[0].skipped,
        Some(Skip::OutsideShift)
    );
    assert_eq!(
        d.trace.routing[0].candidates[1].skipped,
        Some(Skip::Offline)
    );
    assert_eq!(d.trace.routing[0].candidates[2].skipped, Some(Skip::Away));
    let d = engine::decide_with(&c, &ctx, &e.ticket, &e, now());
    assert_eq!(d.ticket.assignee.as_deref(), Some("ana"));
    assert_eq!(
        d.routing.cursors.get("desk").map(String::as_str),
        Some("ana")
    );
    let Action::Assign {
        helpdesk_ids, team, ..
    } = &d.actions[0]
    else {
        panic!("{:?}", d.actions)
    };
    assert_eq!(
        (team.as_deref(), helpdesk_ids.get("zendesk")),
        (Some("desk"), Some(&serde_json::json!("z-1")))
    );

    // Without a context (plain `decide`) everyone is offline: the ticket is queued.
    let d = engine::decide(&c, &e.ticket, &e, now());
    assert_eq!(d.ticket.group.as_deref(), Some("desk"));
    assert_eq!(d.ticket.assignee, None);
}

#[test]
fn least_loaded_counts_load_relative_to_capacity() {
    let c = config(&ROUTING.replace("language: ticket.customer.language", "language: en"));
    let e = event(r#"{"id":"e1","type":"ticket.created","ticket":{"id":"T1","channel":"email"}}"#);
    // ana 2 of 4, cy 1 of 4: cy; then ana 1 of 4, cy 3 of 4: ana.
    for (ana, cy, want) in [(2, 1, "cy"), (1, 3, "ana"), (1, 1, "ana")] {
        let ctx = routing_ctx(&[("ana", "online", ana), ("cy", "online", cy)]);
        let d = engine::decide_with(&c, &ctx, &e.ticket, &e, now());
        assert_eq!(
            d.ticket.assignee.as_deref(),
            Some(want),
            "ana {ana}, cy {cy}"
        );
        let x = engine::explain_with(&c, &ctx, &e.ticket, &e, now());
        assert_eq!(
            (x.actions, x.routing),
            (d.actions.clone(), d.routing.clone()),
            "decide and explain agree"
        );
        assert_eq!(
            d,
            engine::decide_with(&c, &ctx, &e.ticket, &e, now()),
            "deterministic"
        );
    }
}

/// Hostile rule packs: each either fails to compile with an error naming its file, line and
/// column, or compiles and is decided on hostile data with the failure in the trace and the
/// other rules still run. Times are printed (a runaway would hang the test).
#[test]
fn hostile_rule_packs_are_bounded() {
    let long = "a".repeat(100_000);
    // Refused when checked.
    let deep_yaml = format!(
        "rules:\n  - name: deep\n    on: ticket.created\n    when: {}x{}\n    then: []\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let refused: Vec<(&str, String, &str)> = vec![
        ("an oversized regex", "rules:\n  - { name: big, on: ticket.created, when: { field: text, matches: 'a{1000}{1000}' }, then: [] }\n".into(), "h.yaml:2:"),
        ("10,000-deep YAML", deep_yaml, "h.yaml:"),
        ("a template that does not parse", "templates:\n  t:\n    en: \"{% for %}\"\nrules: []\n".into(), "h.yaml:3:"),
    ];
    for (what, yaml, place) in refused {
        let started = std::time::Instant::now();
        let err = Config::from_yaml("h.yaml", &yaml)
            .expect_err(what)
            .to_string();
        eprintln!("{what}: refused in {:?}", started.elapsed());
        assert!(err.contains(place), "{what}: {err:.400}");
    }
    // Compiled, and bounded when they run.
    let pack = r#"
rules:
  - { name: catastrophic regex, on: ticket.created, when: { field: text, matches: '^(a+)+$' }, then: [ { add_tags: [matched] } ] }
  - { name: looping template, on: ticket.created, then: [ { reply: { template: spin } } ] }
  - { name: recursing template, on: ticket.created, then: [ { reply: { template: recurse } } ] }
  - { name: growing script, on: ticket.created, then: [ { script: grow.rhai } ] }
  - { name: recursing script, on: ticket.created, then: [ { script: recurse.rhai } ] }
  - { name: still runs, on: ticket.created, then: [ { add_tags: [after] } ] }
templates:
  spin:
    en: "{% for i in range(100000000) %}{{ i }}{% endfor %}"
  recurse:
    en: "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.yaml"), pack).unwrap();
    std::fs::write(
        dir.path().join("grow.rhai"),
        "let s = \"ab\"; loop { s += s; }",
    )
    .unwrap();
    std::fs::write(dir.path().join("recurse.rhai"), "fn f(n) { f(n + 1) } f(0)").unwrap();
    let c = Config::load(dir.path()).unwrap_or_else(|d| panic!("{d}"));
    let e = event(&format!(
        r#"{{"id":"e","type":"ticket.created","ticket":{{"id":"T","subject":"{long}b"}},"message":{{"text":"{long}b"}}}}"#
    ));
    let started = std::time::Instant::now();
    let d = engine::decide(&c, &e.ticket, &e, now());
    eprintln!("hostile pack decided in {:?}", started.elapsed());
    assert_eq!(
        d.ticket.tags,
        ["after"],
        "the regex does not match and the last rule ran"
    );
    let failed: Vec<&str> = d.trace.errors.iter().map(|e| e.rule.as_str()).collect();
    for rule in [
        "looping template",
        "recursing template",
        "growing script",
        "recursing script",
    ] {
        assert!(
            failed.contains(&rule),
            "{rule} failed and said so: {:#?}",
            d.trace.errors
        );
    }
}

/// `tests/packs/word_forms.yaml`: keywords in five languages find their word forms and not the
/// words that only share letters with them; `decide` and `explain` agree on every case.
#[test]
fn word_forms_in_five_languages() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/packs/word_forms.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let c = Config::from_yaml(path, &text).unwrap_or_else(|d| panic!("{d}"));
    assert!(c.tests.len() >= 35, "the table has its cases");
    let mut failed = Vec::new();
    for t in &c.tests {
        let (explained, mismatches) = t.run(&c);
        for m in mismatches {
            failed.push(format!(
                "{}: {} expected {}, got {} ({:?})",
                t.name, m.what, m.expected, m.actual, explained.trace.keywords
            ));
        }
        let d = engine::decide(&c, &t.event.ticket, &t.event, t.now);
        assert_eq!(
            d.actions, explained.actions,
            "{}: decide and explain agree",
            t.name
        );
        assert_eq!(d.trace.fired, explained.trace.fired, "{}", t.name);
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn the_trace_names_the_form_a_keyword_was_found_as() {
    let c = config(
        "rules:\n  - name: r\n    on: [ticket.created]\n    when: { field: text, contains_any: [refund, invoice] }\n    then: [{ add_tags: [x] }]\n",
    );
    let e = created("Two refunds and one invoice");
    let x = engine::explain(&c, &e.ticket, &e, now());
    let forms: Vec<_> = x
        .trace
        .keywords
        .iter()
        .map(|k| (k.field.as_str(), k.keyword.as_str(), k.found.as_str()))
        .collect();
    // `invoice` was found as written: only `refund` is listed.
    assert_eq!(forms, [("text", "refund", "refunds")]);
    let d = engine::decide(&c, &e.ticket, &e, now());
    assert!(d.trace.keywords.is_empty(), "decide leaves it out");
}
