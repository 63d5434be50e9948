use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::*;
use crate::config::Config;
use crate::routing::{AgentState, AgentStatus, RoutingState};

fn at(hh_mm: &str) -> DateTime<Utc> {
    format!("2026-11-23T{hh_mm}:00Z").parse().unwrap()
}

fn pack(yaml: &str) -> Config {
    Config::from_yaml("pack.yaml", yaml).unwrap_or_else(|d| panic!("{d}"))
}

/// An event as a caller sends it, arrived at `time`.
fn event(id: &str, kind: &str, ticket: Value, text: Option<&str>) -> (Event, Value) {
    let mut v = json!({"id": id, "type": kind, "ticket": ticket});
    if let Some(t) = text {
        v["message"] = json!({"text": t});
    }
    let sent = v["ticket"].clone();
    (Event::from_value(v).unwrap(), sent)
}

/// [`super::record`] of events given as `(arrival, (event, ticket as sent))`.
fn record(
    config: &Config,
    desk: &mut RoutingState,
    events: Vec<(DateTime<Utc>, (Event, Value))>,
) -> Vec<Recorded> {
    let events = events.into_iter().map(|(at, (e, sent))| (at, e, sent));
    super::record(config, desk, events)
}

fn replay(config: &Config, recorded: Vec<Recorded>) -> ReplayReport {
    let mut r = Replay::new(config, Options::default());
    for rec in recorded {
        r.feed(rec);
    }
    r.finish()
}

fn rule(r: &ReplayReport, name: &str) -> (u64, u64) {
    let c = r
        .rules
        .iter()
        .find(|c| c.rule == name)
        .unwrap_or_else(|| panic!("no rule `{name}` in {:?}", r.rules));
    (c.before, c.after)
}

fn changed<'a>(r: &'a ReplayReport, ticket: &str) -> Option<&'a ChangedTicket> {
    r.changed.iter().find(|c| c.ticket == ticket)
}

fn tags(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .flat_map(|a| match a {
            Action::AddTags { tags } => tags.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        })
        .collect()
}

const TRIAGE: &str = r#"
rules:
  - name: outage is important
    on: [ticket.created, message.created]
    when: { field: message.text, contains_any: [outage] }
    then: [ { set_priority: high } ]
  - name: acknowledge
    on: [ticket.created]
    then: [ { reply: { text: "Thanks, we will answer soon." } } ]
"#;

fn week() -> Vec<(DateTime<Utc>, (Event, Value))> {
    vec![
        (
            at("10:00"),
            event(
                "e1",
                "ticket.created",
                json!({"id": "T1", "channel": "email"}),
                Some("Total outage here"),
            ),
        ),
        (
            at("10:05"),
            event(
                "e2",
                "ticket.created",
                json!({"id": "T2", "channel": "email"}),
                Some("Where is my parcel?"),
            ),
        ),
        (
            at("10:10"),
            event(
                "e3",
                "message.created",
                json!({"id": "T2"}),
                Some("It says outage on the tracking page"),
            ),
        ),
    ]
}

#[test]
fn the_same_pack_changes_nothing() {
    let config = pack(TRIAGE);
    let recorded = record(&config, &mut RoutingState::default(), week());
    let r = replay(&config, recorded);
    assert_eq!((r.events, r.decided, r.tickets), (3, 3, 2));
    assert_eq!(r.changed_tickets, 0, "{:?}", r.changed);
    assert_eq!(rule(&r, "outage is important"), (2, 2));
    assert_eq!(rule(&r, "acknowledge"), (2, 2));
    assert_eq!(r.tickets_from_before, 0);
}

#[test]
fn a_changed_rule_shows_in_the_counts_the_actions_and_the_priority_mix() {
    let old = pack(TRIAGE);
    let recorded = record(&old, &mut RoutingState::default(), week());
    let new = pack(
        &TRIAGE
            .replace("set_priority: high", "set_priority: urgent")
            .replace("contains_any: [outage]", "contains_any: [outage, parcel]"),
    );
    let r = replay(&new, recorded);
    assert_eq!(rule(&r, "outage is important"), (2, 3));
    assert_eq!(r.changed_tickets, 2);
    let t1 = changed(&r, "T1").unwrap();
    assert_eq!(
        diff(&t1.before, &t1.after)
            .iter()
            .map(|l| match l {
                Line::Same(a) => format!("  {}", summary(a)),
                Line::Removed(a) => format!("- {}", summary(a)),
                Line::Added(a) => format!("+ {}", summary(a)),
            })
            .collect::<Vec<_>>(),
        [
            "- set_priority high",
            "+ set_priority urgent",
            "  reply: \"Thanks, we will answer soon.\"",
        ]
    );
    // T2: the parcel question is urgent at once; the message finds it urgent already.
    let t2 = changed(&r, "T2").unwrap();
    assert_eq!(t2.before.len(), 2);
    assert_eq!(t2.after.len(), 2);
    let priority: Vec<(&str, u64, u64)> = r
        .kpis
        .priority
        .iter()
        .map(|c| (c.key.as_str(), c.before, c.after))
        .collect();
    assert_eq!(
        priority,
        [
            ("urgent", 0, 2),
            ("high", 2, 0),
            ("normal", 0, 0),
            ("low", 0, 0)
        ]
    );
    let shown = text(&r);
    assert!(
        shown.contains("- set_priority high\n  + set_priority urgent"),
        "{shown}"
    );
    assert!(shown.contains("Changed tickets: 2 of 2"), "{shown}");
}

const TIMERS: &str = r#"
rules:
  - name: acknowledge
    on: [ticket.created]
    then:
      - reply: { text: "Thanks" }
      - schedule:
          name: nudge
          after: 2h
          cancel_on: [message.created]
          then:
            - add_tags: [nudged]
            - schedule: { name: again, after: 30m, then: [ { add_tags: [again] } ] }
"#;

#[test]
fn timers_fire_in_virtual_time_at_their_due_instants_unless_cancelled() {
    let old = pack(TRIAGE);
    let created = |id: &str, t: &str| {
        let e = event(
            &format!("c-{id}"),
            "ticket.created",
            json!({"id": id, "channel": "email"}),
            Some("hello"),
        );
        (at(t), e)
    };
    let events = vec![
        created("T1", "10:00"), // nudge due 12:00, then `again` due 12:30
        created("T2", "10:30"), // nudge due 12:30, cancelled by the message at 12:00
        (
            at("12:00"),
            event(
                "m2",
                "message.created",
                json!({"id": "T2"}),
                Some("any news?"),
            ),
        ),
        created("T3", "12:00"), // nudge due 14:00: after the last event, never fires
        (
            at("13:00"),
            event("m9", "message.created", json!({"id": "T9"}), Some("hi")),
        ),
    ];
    let recorded = record(&old, &mut RoutingState::default(), events);
    let r = replay(&pack(TIMERS), recorded);
    // `again` was started by the nudge at its due instant (12:00), so it came due at 12:30,
    // before the last event at 13:00.
    assert_eq!(tags(&changed(&r, "T1").unwrap().after), ["nudged", "again"]);
    assert!(tags(&changed(&r, "T2").unwrap().after).is_empty());
    assert!(tags(&changed(&r, "T3").unwrap().after).is_empty());
    assert_eq!(r.timers_fired, 2);
    assert_eq!(rule(&r, "timer nudge"), (0, 1));
    assert_eq!(rule(&r, "timer again"), (0, 1));
    assert_eq!(r.tickets_from_before, 1, "T9 starts with a message");
}

#[test]
fn a_recorded_timer_firing_counts_before_and_is_not_decided_again() {
    let config = pack(TIMERS);
    let mut recorded = record(
        &config,
        &mut RoutingState::default(),
        vec![(
            at("10:00"),
            event(
                "c1",
                "ticket.created",
                json!({"id": "T1", "channel": "email"}),
                Some("hello"),
            ),
        )],
    );
    // The daemon fired the nudge at 12:00; the candidate fires its own.
    let (fired, patch) = plan::timer_fired(
        "T1",
        TimerRef {
            id: "c1/nudge".into(),
            name: "nudge".into(),
            due_at: at("12:00"),
        },
    );
    let prior = recorded[0].decision.ticket.clone();
    let ev = plan::prepare(Some(&prior), &fired, Some(&patch));
    let ctx = Context {
        prior: Some(prior),
        ..Context::default()
    };
    let decision = engine::decide_with(&config, &ctx, &ev.ticket, &ev, at("12:00"));
    assert_eq!(decision.trace.fired, ["timer nudge"]);
    recorded.push(Recorded {
        received_at: at("12:00"),
        event: fired,
        sent: patch,
        decision,
    });
    let r = replay(&config, recorded);
    assert_eq!((r.events, r.decided, r.recorded_timers), (2, 1, 1));
    // Decided once (the candidate's own firing), not twice.
    assert_eq!(rule(&r, "timer nudge"), (1, 1));
    assert_eq!(r.timers_fired, 1);
    assert_eq!(r.changed_tickets, 0, "{:?}", r.changed);
}

const ROUTING: &str = r#"
teams:
  support: { strategy: round_robin }
agents:
  a: { teams: [support], languages: [en], capacity: 10 }
  b: { teams: [support], languages: [en], capacity: 10 }
  c: { teams: [support], languages: [en], capacity: 10 }
rules:
  - name: route
    on: [ticket.created]
    then: [ { assign: { team: support } } ]
"#;

#[test]
fn routing_decides_with_the_desk_the_recording_shows() {
    let config = pack(ROUTING);
    let online = |status| AgentState {
        status,
        open: Default::default(),
    };
    // `a` is offline all along; the round robin stood at `b` before the window.
    let mut desk = RoutingState::default();
    desk.agents.insert("a".into(), online(AgentStatus::Offline));
    desk.agents.insert("b".into(), online(AgentStatus::Online));
    desk.agents.insert("c".into(), online(AgentStatus::Online));
    desk.last_assigned.insert("support".into(), "b".into());
    let events = (1..=4)
        .map(|i| {
            let t = at("10:00") + Duration::minutes(i);
            let id = format!("T{i}");
            (
                t,
                event(
                    &format!("c{i}"),
                    "ticket.created",
                    json!({"id": id}),
                    Some("help"),
                ),
            )
        })
        .collect();
    let recorded = record(&config, &mut desk, events);
    let assignees: Vec<_> = recorded
        .iter()
        .map(|r| r.decision.ticket.assignee.clone().unwrap())
        .collect();
    assert_eq!(assignees, ["c", "b", "c", "b"]);
    let r = replay(&config, recorded);
    assert_eq!(r.changed_tickets, 0, "{}", text(&r));
    assert_eq!(
        r.kpis.assignments,
        [Count {
            key: "support".into(),
            before: 4,
            after: 4
        }]
    );
}

#[test]
fn a_recorded_decision_shows_the_desk_it_was_routed_with() {
    let config = pack(ROUTING);
    let agent = |status, open: u32| {
        let mut state = AgentState {
            status,
            open: Default::default(),
        };
        state.open.add_total(open);
        state
    };
    // Round robin stood at `b`; `a` is offline, `c` has two open tickets.
    let mut desk = RoutingState::default();
    desk.agents
        .insert("a".into(), agent(AgentStatus::Offline, 0));
    desk.agents
        .insert("b".into(), agent(AgentStatus::Online, 0));
    desk.agents
        .insert("c".into(), agent(AgentStatus::Online, 2));
    desk.last_assigned.insert("support".into(), "b".into());
    let recorded = record(
        &config,
        &mut desk,
        vec![(
            at("10:00"),
            event("c1", "ticket.created", json!({"id": "T1"}), Some("help")),
        )],
    );
    let d = &recorded[0].decision;
    assert_eq!(d.ticket.assignee.as_deref(), Some("c"));

    let state = recorded_routing(config.roster(), d);
    let status = |id: &str| state.agents[id].status;
    assert_eq!(status("a"), AgentStatus::Offline);
    assert_eq!(status("c"), AgentStatus::Online);
    assert_eq!(state.agents["c"].open.total, 2);
    // Decided again with it, the event goes to the same agent, with the same trace.
    let rec = &recorded[0];
    let ev = plan::prepare(None, &rec.event, Some(&rec.sent));
    let ctx = Context {
        routing: state,
        ..Context::default()
    };
    let again = engine::decide_with(&config, &ctx, &ev.ticket, &ev, rec.received_at);
    assert_eq!(again.ticket.assignee, d.ticket.assignee);
    assert_eq!(again.trace.routing, d.trace.routing);
    // Without it, nobody is online.
    let alone = engine::decide(&config, &ev.ticket, &ev, rec.received_at);
    assert_ne!(alone.ticket.assignee, d.ticket.assignee);
}

#[test]
fn the_diff_keeps_what_both_have_in_order() {
    let tag = |t: &str| Action::AddTags {
        tags: vec![t.into()],
    };
    let (a, b, c, d) = (tag("a"), tag("b"), tag("c"), tag("d"));
    let before = [a.clone(), b.clone(), c.clone()];
    let after = [a.clone(), d.clone(), c.clone()];
    assert_eq!(
        diff(&before, &after),
        [
            Line::Same(&a),
            Line::Removed(&b),
            Line::Added(&d),
            Line::Same(&c)
        ]
    );
    assert_eq!(diff(&[], &after[..1]), [Line::Added(&a)]);
    assert_eq!(diff(&before[..1], &[]), [Line::Removed(&a)]);
}

#[test]
fn actions_read_on_one_line() {
    let cases = [
        (
            json!({"type": "reply", "text": "Hi Jane,\nthanks for writing. We will answer within 4 hours, promise. Really.", "language": "en", "template": "ack"}),
            "reply [ack] (en): \"Hi Jane, thanks for writing. We will answer within 4 hours, …\"",
        ),
        (
            json!({"type": "set_priority", "priority": "urgent"}),
            "set_priority urgent",
        ),
        (
            json!({"type": "add_tags", "tags": ["outage", "vip"]}),
            "add_tags outage, vip",
        ),
        (
            json!({"type": "assign", "to": {"agent": "kari"}, "team": "support"}),
            "assign kari (team support)",
        ),
        (
            json!({"type": "assign", "to": {"group": "support"}, "team": "support"}),
            "assign group support",
        ),
        (
            json!({"type": "cancel_timers"}),
            "cancel_timers (all but the SLA clocks')",
        ),
    ];
    for (action, line) in cases {
        let a: Action = serde_json::from_value(action).unwrap();
        assert_eq!(summary(&a), line);
    }
}

#[test]
fn long_runs_of_unchanged_actions_are_folded() {
    let tag = |t: &str| Action::AddTags {
        tags: vec![t.into()],
    };
    let same: Vec<Action> = ["a", "b", "c", "d", "e"].map(tag).to_vec();
    let mut before = same.clone();
    before.push(tag("x"));
    before.extend(same.clone());
    let mut after = same.clone();
    after.push(tag("y"));
    after.extend(same);
    let r = ReplayReport {
        events: 1,
        tickets: 1,
        changed_tickets: 3,
        changed: vec![ChangedTicket {
            ticket: "T1".into(),
            before,
            after,
        }],
        ..ReplayReport::default()
    };
    let shown = text(&r);
    assert!(
        shown.contains(
            "T1\n    … 4 unchanged\n    add_tags e\n  - add_tags x\n  + add_tags y\n    add_tags a\n    … 4 unchanged\n… and 2 more changed tickets"
        ),
        "{shown}"
    );
}

#[test]
fn measured_samples_are_the_windows_newest_read_once_a_minute() {
    use crate::measured::{MeasuredSettings, Sample};
    let mut m = MeasuredSamples {
        settings: Some(MeasuredSettings {
            percentile: 50,
            min_samples: 1,
            window: Duration::hours(2),
        }),
        ..MeasuredSamples::default()
    };
    let sample = |at: DateTime<Utc>, secs| Sample {
        queue: "q".into(),
        priority: Priority::Normal,
        at,
        secs,
    };
    let now = |m: &MeasuredSamples| m.current.samples("q", Priority::Normal).to_vec();
    m.push(sample(at("10:00"), 300));
    m.push(sample(at("10:30"), 100));
    m.refresh(at("10:31"));
    assert_eq!(now(&m), [100, 300]);
    m.push(sample(at("10:31"), 200));
    m.refresh(at("10:31") + Duration::seconds(59));
    assert_eq!(now(&m), [100, 300], "not read again within the minute");
    m.refresh(at("12:15"));
    assert_eq!(now(&m), [100, 200], "10:00 left the window at 12:00");
    // Only the newest of a queue and priority are kept.
    let max = crate::measured::MAX_SAMPLES as i64;
    for i in 0..max {
        m.push(sample(at("12:20"), 1000 + i));
    }
    m.refresh(at("12:30"));
    let kept = now(&m);
    assert_eq!(kept.len(), max as usize);
    assert_eq!((kept[0], kept[kept.len() - 1]), (1000, 1000 + max - 1));
}

const SHOP_BOT: &str = r#"
bot: shop
languages: [en]
threshold: 0.5
faq:
  - id: password
    questions: ["I forgot my password", "How do I reset my password?", "I cannot log in"]
    answer: "Use 'Forgot password' on the sign-in page."
  - id: refund
    questions: ["Where is my refund?", "When do I get my money back?", "I want a refund"]
    answer: "Refunds reach your account within 5 days."
"#;

fn shop_pack(bot: &str) -> Config {
    let bot = crate::faq::Bot::from_yaml("shop.yaml", bot).unwrap_or_else(|d| panic!("{d}"));
    Config::compile_with_bots(
        vec![crate::config::Source {
            path: "pack.yaml".into(),
            text: r#"
rules:
  - name: answer from the faq
    on: [message.created]
    then: [ { answer_faq: { bot: shop } } ]
"#
            .into(),
        }],
        std::sync::Arc::new(crate::faq::BotSet::from_bots([bot])),
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn a_recorded_reading_answers_for_the_same_bot_and_no_other() {
    let config = shop_pack(SHOP_BOT);
    let ticket = json!({"id": "T1", "channel": "chat", "customer": {"language": "en"}});
    let mut recorded = record(
        &config,
        &mut RoutingState::default(),
        vec![(
            at("10:00"),
            event(
                "e1",
                "message.created",
                ticket,
                Some("I forgot my password"),
            ),
        )],
    );
    // The decision keeps the bot's reading of the question.
    let reading = &recorded[0].decision.trace.faq;
    assert_eq!(reading.len(), 1, "{reading:?}");
    assert_eq!(reading[0].bot, "shop");
    assert_eq!(reading[0].candidates[0].0, "password");
    assert_eq!(tags(&recorded[0].decision.actions), ["faq:password"]);
    // The same pack replayed: the same answer, nothing changed.
    let same = replay(&config, recorded.clone());
    assert_eq!(same.changed_tickets, 0);

    // A reading altered after the fact shows which path answered: the same bot answers from
    // the recorded reading (it does not read the question again)...
    let faq = &mut recorded[0].decision.trace.faq[0];
    faq.candidates = vec![("refund".into(), 0.9)];
    faq.confidence = 0.9;
    let reused = replay(&config, recorded.clone());
    let t1 = changed(&reused, "T1").expect("T1 changed");
    assert_eq!(tags(&t1.after), ["faq:refund"]);

    // ...a bot whose file changed reads the question again (and answers it right), and so
    // does the same bot asked another question.
    let changed_bot = shop_pack(&SHOP_BOT.replace("threshold: 0.5", "threshold: 0.4"));
    assert_eq!(replay(&changed_bot, recorded.clone()).changed_tickets, 0);
    recorded[0].event.message.as_mut().unwrap().text = "I cannot log in".into();
    assert_eq!(replay(&config, recorded).changed_tickets, 0);
}
