//! SLA policies: clocks, pauses, priority changes, warnings and breaches, step by step with
//! fixed times, and the diagnostics of `sla:`.
//!
//! A small simulation plays the shell: it keeps the ticket between decisions, keeps the pending
//! timers by name as the stores do (a new timer replaces the pending one of its name, a
//! cancelled name goes), and fires due timers as `timer.fired` events.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use common::snapshot;
use frontdesk::config::Config;
use frontdesk::engine::{self, Decision};
use frontdesk::model::{Action, Event, EventType, Priority, SlaClock, Ticket, TimerRef};
use serde_json::{json, Value};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const OSLO: &str = r#"
calendars:
  oslo:
    timezone: Europe/Oslo
    hours: { mon-fri: ["08:00-16:00"] }
"#;

struct Sim {
    config: Config,
    ticket: Option<Ticket>,
    /// Pending timers: name -> (id, due).
    timers: BTreeMap<String, (String, DateTime<Utc>)>,
    seq: usize,
}

impl Sim {
    fn new(yaml: &str) -> Sim {
        Sim {
            config: Config::from_yaml("sla.yaml", yaml).unwrap_or_else(|d| panic!("{d}")),
            ticket: None,
            timers: BTreeMap::new(),
            seq: 0,
        }
    }

    fn decide(&mut self, event: Event, now: DateTime<Utc>) -> Decision {
        let ticket = event.ticket.clone();
        let d = engine::decide(&self.config, &ticket, &event, now);
        let x = engine::explain(&self.config, &ticket, &event, now);
        assert_eq!(d.actions, x.actions, "decide and explain agree");
        assert_eq!(d.ticket, x.ticket, "decide and explain agree");
        assert_eq!(d.timers, x.timers, "decide and explain agree");
        if let Some(t) = &event.timer {
            self.timers.remove(&t.name);
        }
        for name in &d.cancelled_timers {
            self.timers.remove(name);
        }
        for t in &d.timers {
            self.timers.insert(
                t.name.clone(),
                (format!("{}/{}", event.id, t.name), t.due_at),
            );
        }
        self.ticket = Some(d.ticket.clone());
        d
    }

    /// An event at `now`; `ticket` is written over the ticket as the simulation holds it.
    fn post(&mut self, kind: &str, ticket: Value, message: Option<Value>, now: &str) -> Decision {
        self.seq += 1;
        let now = at(now);
        let base = self.ticket.clone().unwrap_or_else(|| Ticket {
            id: "T1".into(),
            created_at: Some(now),
            ..Ticket::default()
        });
        let ticket = base.overlay(&ticket).unwrap();
        let mut e = json!({"id": format!("e{}", self.seq), "type": kind, "ticket": {"id": "T1"}});
        if let Some(m) = message {
            e["message"] = m;
        }
        let mut event = Event::from_value(e).unwrap();
        if let Some(prior) = &self.ticket {
            event.changes = ticket.changes_since(prior);
        }
        event.ticket = ticket;
        self.decide(event, now)
    }

    fn fire(&mut self, name: &str, id: &str, due: DateTime<Utc>, now: DateTime<Utc>) -> Decision {
        let event = Event {
            id: format!("timer:{id}"),
            kind: EventType::TimerFired,
            occurred_at: Some(due),
            ticket: self.ticket.clone().expect("a ticket"),
            message: None,
            changes: Default::default(),
            timer: Some(TimerRef {
                id: id.into(),
                name: name.into(),
                due_at: due,
            }),
            data: Default::default(),
        };
        self.decide(event, now)
    }

    /// Fires every timer due by `until` in due order (each at its due time, or at `until`
    /// when `late`), and returns the decisions.
    fn run_until(&mut self, until: &str, late: bool) -> Vec<Decision> {
        let until = at(until);
        let mut out = Vec::new();
        loop {
            let next = self
                .timers
                .iter()
                .filter(|(_, (_, due))| *due <= until)
                .min_by_key(|(_, (_, due))| *due)
                .map(|(n, (id, due))| (n.clone(), id.clone(), *due));
            let Some((name, id, due)) = next else {
                return out;
            };
            let now = if late { until } else { due };
            out.push(self.fire(&name, &id, due, now));
            assert!(out.len() < 50, "timers keep firing");
        }
    }

    fn clock(&self, metric: &str) -> SlaClock {
        let sla = self
            .ticket
            .as_ref()
            .unwrap()
            .sla
            .as_ref()
            .expect("sla state");
        match metric {
            "first_response" => sla.first_response.clone(),
            "next_response" => sla.next_response.clone(),
            _ => sla.resolution.clone(),
        }
        .unwrap_or_else(|| panic!("no {metric} clock"))
    }

    fn due(&self, name: &str) -> Option<DateTime<Utc>> {
        self.timers.get(name).map(|t| t.1)
    }
}

fn kinds(ds: &[Decision]) -> Vec<String> {
    ds.iter().flat_map(|d| d.trace.fired.clone()).collect()
}

const ESCALATE: &str = r##"
rules:
  - name: escalate breaches
    on: [sla.breached]
    then:
      - set_priority: urgent
      - notify: { channel: slack, to: "#support", text: "{{ event.data.metric }} breached under {{ event.data.policy }}" }
  - name: warn the team
    on: [sla.warning]
    then:
      - internal_note: { text: "{{ event.data.percent }}% of {{ event.data.metric }} used" }
"##;

#[test]
fn business_time_warnings_then_breach() {
    let mut s = Sim::new(&format!(
        "{OSLO}{ESCALATE}
sla:
  - name: standard
    calendar: oslo
    first_response: {{ normal: 4h, urgent: 30m }}
    warn_at: [50%, 80%]
"
    ));
    // Monday 23 November 2026, 10:00 in Oslo: due at 14:00 (4 open hours).
    let d = s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
    let c = s.clock("first_response");
    assert_eq!(c.due_at, Some(at("2026-11-23T13:00:00Z")));
    assert_eq!(c.target_secs, Some(4 * 3600));
    assert_eq!(d.timers.len(), 1);
    assert_eq!(d.timers[0].name, "sla:first_response");
    assert_eq!(
        s.due("sla:first_response"),
        Some(at("2026-11-23T11:00:00Z")),
        "50% at 12:00"
    );

    let fired = s.run_until("2026-11-23T15:00:00Z", false);
    assert_eq!(
        kinds(&fired),
        [
            "sla first_response warning 50%",
            "warn the team",
            "sla first_response warning 80%",
            "warn the team",
            "sla first_response breached",
            "escalate breaches"
        ]
    );
    // 80% of 4 h is 3 h 12 min: 13:12 in Oslo.
    assert_eq!(
        fired[1].event_id,
        "timer:timer:e1/sla:first_response/sla:first_response"
    );
    let breach = &fired[2];
    assert_eq!(breach.ticket.priority, Priority::Urgent);
    assert!(
        matches!(&breach.actions[1], Action::Notify { text, .. } if text == "first_response breached under standard")
    );
    let c = s.clock("first_response");
    assert!(c.breached);
    assert_eq!(c.breached_at, Some(at("2026-11-23T13:00:00Z")));
    assert!(s.timers.is_empty(), "nothing after the breach");
    // The escalation to urgent re-targets the clock (30 min), but a breach is announced once.
    assert_eq!(c.target_secs, Some(1800));
}

#[test]
fn warning_times_are_exact() {
    let mut s = Sim::new(&format!(
        "{OSLO}{ESCALATE}
sla:
  - name: standard
    calendar: oslo
    first_response: {{ normal: 4h }}
    warn_at: 80%
"
    ));
    s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
    assert_eq!(
        s.due("sla:first_response"),
        Some(at("2026-11-23T12:12:00Z"))
    );
    let d = s.run_until("2026-11-23T12:12:00Z", false);
    assert_eq!(
        kinds(&d),
        ["sla first_response warning 80%", "warn the team"]
    );
    assert!(
        matches!(&d[0].actions[0], Action::InternalNote { text } if text == "80% of first_response used")
    );
    assert_eq!(
        s.due("sla:first_response"),
        Some(at("2026-11-23T13:00:00Z"))
    );
}

#[test]
fn due_times_table() {
    // (calendar, created at, priority, first-response due, resolution due)
    let rows = [
        // Business time, Oslo 08:00-16:00 on weekdays.
        (
            "oslo",
            "2026-11-23T09:00:00Z",
            "normal",
            "2026-11-23T13:00:00Z",
            "2026-11-26T09:00:00Z",
        ),
        (
            "oslo",
            "2026-11-23T14:30:00Z",
            "normal",
            "2026-11-24T10:30:00Z",
            "2026-11-26T14:30:00Z",
        ),
        (
            "oslo",
            "2026-11-27T14:00:00Z",
            "urgent",
            "2026-11-27T14:30:00Z",
            "2026-11-30T10:00:00Z",
        ),
        (
            "oslo",
            "2026-11-28T12:00:00Z",
            "high",
            "2026-11-30T09:00:00Z",
            "2026-12-02T07:00:00Z",
        ),
        // Saturday 28 March 2026; clocks go forward on Sunday: Monday opens at 06:00 UTC.
        (
            "oslo",
            "2026-03-28T10:00:00Z",
            "urgent",
            "2026-03-30T06:30:00Z",
            "2026-03-30T10:00:00Z",
        ),
        // Calendar time: the same rows around the clock.
        (
            "none",
            "2026-11-23T09:00:00Z",
            "normal",
            "2026-11-23T13:00:00Z",
            "2026-11-26T09:00:00Z",
        ),
        (
            "none",
            "2026-11-27T14:00:00Z",
            "urgent",
            "2026-11-27T14:30:00Z",
            "2026-11-27T18:00:00Z",
        ),
        (
            "none",
            "2026-03-28T10:00:00Z",
            "high",
            "2026-03-28T12:00:00Z",
            "2026-03-30T10:00:00Z",
        ),
    ];
    for (cal, created, priority, first, resolution) in rows {
        let mut s = Sim::new(&format!(
            "{OSLO}
sla:
  - name: p
    calendar: {cal}
    first_response: {{ urgent: 30m, high: 2h, normal: 4h }}
    resolution: {{ urgent: 4h, high: 2d, normal: 3d }}
"
        ));
        s.post(
            "ticket.created",
            json!({"priority": priority}),
            None,
            created,
        );
        let row = format!("{cal} {created} {priority}");
        assert_eq!(
            s.clock("first_response").due_at,
            Some(at(first)),
            "{row}: first response"
        );
        assert_eq!(
            s.clock("resolution").due_at,
            Some(at(resolution)),
            "{row}: resolution"
        );
    }
}

#[test]
fn a_met_clock_cancels_its_timer_and_a_late_firing_does_nothing() {
    let mut s = Sim::new(&format!(
        "{OSLO}{ESCALATE}
sla:
  - name: standard
    calendar: oslo
    first_response: {{ normal: 4h }}
"
    ));
    s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
    let (id, due) = s.timers["sla:first_response"].clone();
    // A bot's answer is not a first response.
    let bot = s.post(
        "message.agent",
        json!({}),
        Some(json!({"text": "Thanks, we got it", "author": "bot"})),
        "2026-11-23T09:01:00Z",
    );
    assert!(bot.cancelled_timers.is_empty());
    assert!(s.clock("first_response").achieved_at.is_none());
    // The agent answers at 12:30 Oslo time: met, not breached; the timer is cancelled.
    let d = s.post(
        "message.agent",
        json!({}),
        Some(json!({"text": "Here you go", "author": "agent"})),
        "2026-11-23T11:30:00Z",
    );
    assert_eq!(d.cancelled_timers, ["sla:first_response"]);
    let c = s.clock("first_response");
    assert_eq!(c.achieved_at, Some(at("2026-11-23T11:30:00Z")));
    assert!(!c.breached);
    assert_eq!(c.elapsed_secs, 2 * 3600 + 1800);
    assert!(s.timers.is_empty());
    // A timer claimed before the reply and fired after it finds the clock met: nothing.
    let late = s.fire("sla:first_response", &id, due, at("2026-11-23T13:00:00Z"));
    assert!(late.actions.is_empty(), "{:?}", late.actions);
    assert_eq!(late.trace.fired, Vec::<String>::new());
    assert!(late.trace.errors[0].message.contains("nothing to do"));
    assert!(
        !late
            .ticket
            .sla
            .as_ref()
            .unwrap()
            .first_response
            .as_ref()
            .unwrap()
            .breached
    );
}

#[test]
fn a_reply_after_the_due_time_is_met_late() {
    let mut s = Sim::new(
        "
sla:
  - name: around the clock
    first_response: { normal: 1h }
",
    );
    s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
    // The agent answers at 10:20, before the scheduler got to the 10:00 timer.
    let d = s.post(
        "message.created",
        json!({}),
        Some(json!({"text": "Hello", "author": "agent"})),
        "2026-11-23T10:20:00Z",
    );
    let c = s.clock("first_response");
    assert!(c.breached);
    assert_eq!(c.breached_at, Some(at("2026-11-23T10:00:00Z")));
    assert_eq!(d.cancelled_timers, ["sla:first_response"]);
}

#[test]
fn clocks_count_from_creation_or_from_first_sight() {
    let yaml = "
sla:
  - name: around the clock
    first_response: { normal: 4h }
";
    // Created at 08:00, delivered at 09:00: the clock counts from 08:00.
    let mut s = Sim::new(yaml);
    s.ticket = Some(Ticket {
        id: "T1".into(),
        created_at: Some(at("2026-11-23T08:00:00Z")),
        ..Ticket::default()
    });
    s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
    assert_eq!(
        s.clock("first_response").due_at,
        Some(at("2026-11-23T12:00:00Z"))
    );
    // A ticket from before the policies, first seen on an update: from then, not from its
    // creation a week ago (which would breach at once).
    let mut s = Sim::new(yaml);
    s.ticket = Some(Ticket {
        id: "T1".into(),
        created_at: Some(at("2026-11-16T08:00:00Z")),
        ..Ticket::default()
    });
    s.post(
        "ticket.updated",
        json!({"subject": "x"}),
        None,
        "2026-11-23T09:00:00Z",
    );
    assert_eq!(
        s.clock("first_response").started_at,
        at("2026-11-23T09:00:00Z")
    );
    assert_eq!(
        s.clock("first_response").due_at,
        Some(at("2026-11-23T13:00:00Z"))
    );
}

#[test]
fn pauses_do_not_count() {
    let mut s = Sim::new(
        "
sla:
  - name: calendar time
    calendar: none
    resolution: { normal: 8h }
    pause_when: { field: ticket.status, in: [pending, on_hold] }
",
    );
    s.post(
        "ticket.created",
        json!({"status": "open"}),
        None,
        "2026-11-23T09:00:00Z",
    );
    assert_eq!(
        s.clock("resolution").due_at,
        Some(at("2026-11-23T17:00:00Z"))
    );
    // Pending from 11:00 to 15:00: four hours that do not count.
    let d = s.post(
        "ticket.status_changed",
        json!({"status": "pending"}),
        None,
        "2026-11-23T11:00:00Z",
    );
    assert_eq!(d.cancelled_timers, ["sla:resolution"]);
    let c = s.clock("resolution");
    assert_eq!(c.paused_at, Some(at("2026-11-23T11:00:00Z")));
    assert_eq!(c.due_at, None);
    assert_eq!(c.elapsed_secs, 2 * 3600);
    let d = s.post(
        "ticket.status_changed",
        json!({"status": "open"}),
        None,
        "2026-11-23T15:00:00Z",
    );
    assert_eq!(d.timers[0].due_at, at("2026-11-23T21:00:00Z"));
    assert_eq!(
        s.clock("resolution").due_at,
        Some(at("2026-11-23T21:00:00Z"))
    );
    // Solved at 16:00: met with 3 h left. Reopened at 18:00: the clock goes on.
    s.post(
        "ticket.status_changed",
        json!({"status": "solved"}),
        None,
        "2026-11-23T16:00:00Z",
    );
    let c = s.clock("resolution");
    assert_eq!(c.achieved_at, Some(at("2026-11-23T16:00:00Z")));
    assert_eq!(c.elapsed_secs, 3 * 3600);
    assert!(s.timers.is_empty());
    s.post(
        "ticket.status_changed",
        json!({"status": "open"}),
        None,
        "2026-11-23T18:00:00Z",
    );
    let c = s.clock("resolution");
    assert_eq!(c.achieved_at, None);
    assert_eq!(c.due_at, Some(at("2026-11-23T23:00:00Z")));
    assert_eq!(s.due("sla:resolution"), Some(at("2026-11-23T23:00:00Z")));
}

#[test]
fn a_priority_change_keeps_the_elapsed_time() {
    let mut s = Sim::new(&format!(
        "{OSLO}
sla:
  - name: standard
    calendar: oslo
    first_response: {{ normal: 4h, high: 2h }}
"
    ));
    s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
    assert_eq!(
        s.due("sla:first_response"),
        Some(at("2026-11-23T13:00:00Z"))
    );
    // An hour later the ticket becomes high: 2 h from creation, so due at 12:00 Oslo.
    let d = s.post(
        "ticket.updated",
        json!({"priority": "high"}),
        None,
        "2026-11-23T10:00:00Z",
    );
    assert_eq!(d.timers[0].due_at, at("2026-11-23T11:00:00Z"));
    // Low has no target: the clock counts, nothing is due, the timer goes.
    let d = s.post(
        "ticket.updated",
        json!({"priority": "low"}),
        None,
        "2026-11-23T10:30:00Z",
    );
    assert_eq!(d.cancelled_timers, ["sla:first_response"]);
    let c = s.clock("first_response");
    assert_eq!((c.target_secs, c.due_at), (None, None));
    assert!(c.is_running());
}

#[test]
fn business_time_across_the_change_from_summer_time() {
    let mut s = Sim::new(&format!(
        "{OSLO}
sla:
  - name: standard
    calendar: oslo
    first_response: {{ normal: 4h }}
    resolution: {{ normal: 2d }}
"
    ));
    // Friday 23 October 2026, 15:00 in Oslo (+02:00); clocks go back on Sunday the 25th.
    s.post("ticket.created", json!({}), None, "2026-10-23T13:00:00Z");
    // One hour on Friday, three on Monday from 08:00 (+01:00): 11:00 local, 10:00 UTC.
    assert_eq!(
        s.clock("first_response").due_at,
        Some(at("2026-10-26T10:00:00Z"))
    );
    // Two business days: Tuesday 15:00 local, which is 14:00 UTC in winter time.
    assert_eq!(
        s.clock("resolution").due_at,
        Some(at("2026-10-27T14:00:00Z"))
    );
    assert_eq!(s.clock("resolution").target_secs, Some(16 * 3600));
}

#[test]
fn next_response_starts_with_the_customer_after_an_agent() {
    let mut s = Sim::new(
        "
sla:
  - name: chat
    first_response: { normal: 1h }
    next_response: { normal: 30m }
",
    );
    s.post(
        "ticket.created",
        json!({}),
        Some(json!({"text": "hi"})),
        "2026-11-23T09:00:00Z",
    );
    // A customer message before any agent reply starts nothing.
    s.post(
        "message.created",
        json!({}),
        Some(json!({"text": "hello?"})),
        "2026-11-23T09:10:00Z",
    );
    assert!(s
        .ticket
        .as_ref()
        .unwrap()
        .sla
        .as_ref()
        .unwrap()
        .next_response
        .is_none());
    s.post(
        "message.agent",
        json!({}),
        Some(json!({"text": "Hi", "author": "agent"})),
        "2026-11-23T09:20:00Z",
    );
    s.post(
        "message.created",
        json!({}),
        Some(json!({"text": "thanks, but"})),
        "2026-11-23T09:40:00Z",
    );
    let c = s.clock("next_response");
    assert_eq!(c.started_at, at("2026-11-23T09:40:00Z"));
    assert_eq!(c.due_at, Some(at("2026-11-23T10:10:00Z")));
    // A second customer message does not restart it.
    s.post(
        "message.created",
        json!({}),
        Some(json!({"text": "and also"})),
        "2026-11-23T09:50:00Z",
    );
    assert_eq!(
        s.clock("next_response").due_at,
        Some(at("2026-11-23T10:10:00Z"))
    );
    let breach = s.run_until("2026-11-23T12:00:00Z", true);
    assert_eq!(kinds(&breach), ["sla next_response breached"]);
    assert_eq!(breach[0].trace.errors, vec![]);
}

#[test]
fn after_downtime_a_late_timer_announces_the_breach_once() {
    let mut s = Sim::new(&format!(
        "{ESCALATE}
sla:
  - name: around the clock
    resolution: {{ normal: 4h }}
    warn_at: [50%, 75%]
"
    ));
    s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
    let d = s.run_until("2026-11-24T09:00:00Z", true);
    assert_eq!(kinds(&d), ["sla resolution breached", "escalate breaches"]);
    assert_eq!(s.clock("resolution").warned_pct, 75);
}

/// What a pending SLA timer will announce, as the SLA board reads it, is what it announces
/// when it fires on time; once it fired, the clock no longer waits for it.
#[test]
fn a_pending_timer_announces_what_it_fires() {
    use frontdesk::model::{Metric, Named};
    let mut s = Sim::new(&format!(
        "{OSLO}
sla:
  - name: standard
    calendar: oslo
    first_response: {{ normal: 4h }}
    resolution: {{ normal: 2d }}
    warn_at: [50%, 80%]
"
    ));
    s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
    let mut announced = Vec::new();
    while let Some((name, (id, due))) = s
        .timers
        .iter()
        .min_by_key(|(_, (_, due))| *due)
        .map(|(n, t)| (n.clone(), t.clone()))
    {
        let metric = Metric::from_timer_name(&name).unwrap();
        let says = frontdesk::sla::announces(&s.clock(metric.name()), due)
            .expect("the clock waits for its pending timer");
        let d = s.fire(&name, &id, due, due);
        let label = &d.trace.fired[0];
        let fired = if label.ends_with(" breached") {
            EventType::SlaBreached
        } else {
            EventType::SlaWarning
        };
        assert_eq!(says, fired, "{label} at {due}");
        assert_eq!(
            frontdesk::sla::announces(&s.clock(metric.name()), due),
            None
        );
        announced.push(label.clone());
        assert!(announced.len() < 10, "timers keep firing");
    }
    assert_eq!(
        announced,
        [
            "sla first_response warning 50%",
            "sla first_response warning 80%",
            "sla first_response breached",
            "sla resolution warning 50%",
            "sla resolution warning 80%",
            "sla resolution breached"
        ]
    );
}

#[test]
fn the_first_matching_policy_applies_and_conditions_read_the_clocks() {
    let mut s = Sim::new(
        "
sla:
  - name: gold
    when: { field: ticket.customer.tier, eq: gold }
    first_response: { normal: 1h }
  - name: standard
    first_response: { normal: 4h }
rules:
  - name: breached gold
    on: [ticket.updated]
    when:
      all:
        - { field: ticket.sla.policy, eq: gold }
        - { field: ticket.sla.first_response.breached, eq: true }
    then: [ { add_tags: [late_gold] } ]
  - name: still open
    on: [ticket.updated]
    when: { field: ticket.sla.first_response.breached, ne: true }
    then: [ { add_tags: [in_time] } ]
",
    );
    s.post(
        "ticket.created",
        json!({"customer": {"tier": "gold"}}),
        None,
        "2026-11-23T09:00:00Z",
    );
    assert_eq!(
        s.ticket.as_ref().unwrap().sla.as_ref().unwrap().policy,
        "gold"
    );
    let d = s.post(
        "ticket.updated",
        json!({"subject": "x"}),
        None,
        "2026-11-23T09:30:00Z",
    );
    assert_eq!(d.trace.fired, ["still open"]);
    s.run_until("2026-11-23T10:00:00Z", false);
    let d = s.post(
        "ticket.updated",
        json!({"subject": "y"}),
        None,
        "2026-11-23T10:30:00Z",
    );
    assert_eq!(d.trace.fired, ["breached gold"]);
    // Not gold any more: the standard policy, with the elapsed time kept.
    s.post(
        "ticket.updated",
        json!({"customer": {"tier": "silver"}}),
        None,
        "2026-11-23T10:40:00Z",
    );
    let sla = s.ticket.as_ref().unwrap().sla.clone().unwrap();
    assert_eq!(sla.policy, "standard");
    assert_eq!(
        sla.first_response.unwrap().due_at,
        Some(at("2026-11-23T13:00:00Z"))
    );
}

#[test]
fn expected_response_uses_the_policy_target() {
    let yaml = format!(
        "{OSLO}
settings:
  response_calendar: oslo
  first_response: {{ urgent: 30m, high: 2h, normal: 4h, low: 2d }}
sla:
  - name: gold
    when: {{ field: ticket.customer.tier, eq: gold }}
    calendar: oslo
    first_response: {{ normal: 1h }}
rules:
  - name: ack
    on: [ticket.created]
    then: [ {{ reply: {{ text: 'We will answer {{{{ expected_response }}}}.' }} }} ]
"
    );
    let reply = |tier: &str| {
        let mut s = Sim::new(&yaml);
        let d = s.post(
            "ticket.created",
            json!({"customer": {"tier": tier}}),
            None,
            "2026-11-23T09:00:00Z",
        );
        match &d.actions[0] {
            Action::Reply { text, .. } => text.clone(),
            a => panic!("{a:?}"),
        }
    };
    assert_eq!(reply("gold"), "We will answer within 1 hour.");
    assert_eq!(
        reply("silver"),
        "We will answer within 4 hours.",
        "settings as the fallback"
    );
}

#[test]
fn expected_response_without_settings_needs_an_sla_target() {
    let ok = Config::from_yaml(
        "r.yaml",
        "sla:\n  - name: a\n    first_response: { normal: 2h }\nrules:\n  - name: ack\n    on: [ticket.created]\n    then: [ { reply: { text: '{{ expected_response }}' } } ]\n",
    );
    assert!(ok.is_ok(), "{:?}", ok.err().map(|d| d.to_string()));
    let c = ok.unwrap();
    let e = Event::from_value(json!({"id": "e", "type": "ticket.created", "ticket": {"id": "T"}}))
        .unwrap();
    let d = engine::decide(&c, &e.ticket, &e, at("2026-11-23T09:00:00Z"));
    assert!(matches!(&d.actions[0], Action::Reply { text, .. } if text == "within 2 hours"));
}

#[test]
fn decisions_with_slas_are_deterministic() {
    let mut a = Sim::new(&format!("{OSLO}{ESCALATE}\nsla:\n  - name: s\n    calendar: oslo\n    first_response: {{ normal: 4h }}\n    warn_at: 80%\n"));
    let mut b = Sim::new(&format!("{OSLO}{ESCALATE}\nsla:\n  - name: s\n    calendar: oslo\n    first_response: {{ normal: 4h }}\n    warn_at: 80%\n"));
    for s in [&mut a, &mut b] {
        s.post("ticket.created", json!({}), None, "2026-11-23T09:00:00Z");
        s.run_until("2026-11-24T09:00:00Z", false);
    }
    assert_eq!(
        serde_json::to_string(&a.ticket).unwrap(),
        serde_json::to_string(&b.ticket).unwrap()
    );
}

fn diagnostics(yaml: &str) -> Vec<String> {
    match Config::from_yaml("r.yaml", yaml) {
        Ok(_) => Vec::new(),
        Err(d) => d.items().iter().map(|d| d.to_string()).collect(),
    }
}

#[test]
fn each_sla_mistake_is_named_with_its_place() {
    let cal =
        "calendars:\n  oslo:\n    timezone: Europe/Oslo\n    hours: { mon-fri: \"08:00-16:00\" }\n";
    let cases: &[(&str, String)] = &[
        (
            "unknown calendar",
            format!("{cal}sla:\n  - name: a\n    calendar: olso\n    first_response: {{ normal: 4h }}\n"),
        ),
        (
            "bad business duration",
            format!("{cal}sla:\n  - name: a\n    calendar: oslo\n    first_response: {{ normal: 4 fortnights }}\n"),
        ),
        (
            "business time without a calendar",
            "sla:\n  - name: a\n    resolution: { normal: 2 business days }\n".into(),
        ),
        (
            "unknown priority",
            "sla:\n  - name: a\n    first_response: { urgnet: 30m }\n".into(),
        ),
        (
            "bad percentage",
            "sla:\n  - name: a\n    first_response: { normal: 4h }\n    warn_at: 120%\n".into(),
        ),
        (
            "percentage without a percent sign",
            "sla:\n  - name: a\n    first_response: { normal: 4h }\n    warn_at: [50%, 0.8]\n".into(),
        ),
        (
            "unknown status in pause_when",
            "sla:\n  - name: a\n    first_response: { normal: 4h }\n    pause_when: { field: ticket.status, in: [pending, on-hold] }\n".into(),
        ),
        (
            "duplicate policy names",
            "sla:\n  - name: a\n    first_response: { normal: 4h }\n  - name: a\n    resolution: { normal: 4h }\n".into(),
        ),
        (
            "unknown key",
            "sla:\n  - name: a\n    first_response: { normal: 4h }\n    warn_on: 80%\n".into(),
        ),
        (
            "no targets",
            "sla:\n  - name: a\n    calendar: none\n".into(),
        ),
        (
            "unknown SLA field in a condition",
            "rules:\n  - name: r\n    on: [sla.breached]\n    when: { field: ticket.sla.first_response.breeched, eq: true }\n    then: [ { add_tags: [x] } ]\n".into(),
        ),
        (
            "a flag compared with text",
            "rules:\n  - name: r\n    on: [sla.breached]\n    when: { field: ticket.sla.resolution.paused, eq: yes }\n    then: [ { add_tags: [x] } ]\n".into(),
        ),
        (
            "a schedule named like an SLA timer",
            "rules:\n  - name: r\n    on: [ticket.created]\n    then:\n      - schedule: { name: \"sla:mine\", after: 1h, then: [ { add_tags: [x] } ] }\n".into(),
        ),
    ];
    insta::assert_snapshot!(snapshot::cases(
        cases.iter().map(|(what, yaml)| (what, diagnostics(yaml)))
    ));
}
