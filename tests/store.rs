//! The store's behaviour, written once and run against every backend: SQLite always (a file in
//! a tempdir), PostgreSQL when a server answers (`FRONTDESK_TEST_PG`, else 127.0.0.1:5432; a
//! fresh schema per test, dropped afterwards). Behaviours that involve two replicas get two
//! handles: two stores on one PostgreSQL schema, or the one SQLite store twice.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use frontdesk::bot as chat;
use frontdesk::engine::Decision;
use frontdesk::kpi;
use frontdesk::model::{
    Action, Event, EventType, HttpMethod, NotifyChannel, Status, Ticket, TimerRef, TimerSpec,
};
use frontdesk::store::{self, AnswerOf, Applied, AuditQuery, DeliveryOutcome, Store, StoreError};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn event(id: &str, kind: EventType, ticket: &str) -> Event {
    let mut v = json!({"id": id, "type": kind.to_string(), "ticket": {"id": ticket}});
    if kind == EventType::MessageCreated {
        v["message"] = json!({"text": format!("text of {id}")});
    }
    Event::from_value(v).unwrap()
}

fn msg(id: &str, ticket: &str) -> Event {
    event(id, EventType::MessageCreated, ticket)
}

fn timer(name: &str, due_at: DateTime<Utc>, cancel_on: &[EventType]) -> TimerSpec {
    TimerSpec {
        name: name.into(),
        rule: format!("start {name}"),
        due_at,
        cancel_on: cancel_on.to_vec(),
    }
}

/// What a test decision does: tags to add, rules that "fired", actions, timers.
#[derive(Default, Clone)]
struct Plan {
    tags: Vec<String>,
    rules: Vec<String>,
    actions: Vec<Action>,
    timers: Vec<TimerSpec>,
    cancelled: Vec<String>,
    /// Per rule, the actions it produced (empty: every rule gets all of them).
    by_rule: Vec<std::ops::Range<usize>>,
}

impl Plan {
    fn tag(tag: &str) -> Plan {
        Plan {
            tags: vec![tag.into()],
            rules: vec![format!("tag {tag}")],
            ..Plan::default()
        }
    }
}

/// A decide closure: the stored ticket (or the event's) plus the plan's tags. Counts its calls.
fn decide(e: &Event, plan: Plan, calls: Arc<AtomicUsize>) -> store::DecideFn {
    let e = e.clone();
    Box::new(move |prior: Option<Ticket>| {
        calls.fetch_add(1, Ordering::SeqCst);
        let mut ticket = prior.unwrap_or_else(|| e.ticket.clone());
        let mut actions = plan.actions;
        for tag in &plan.tags {
            if !ticket.tags.contains(tag) {
                ticket.tags.push(tag.clone());
            }
        }
        if !plan.tags.is_empty() {
            actions.insert(
                0,
                Action::AddTags {
                    tags: plan.tags.clone(),
                },
            );
        }
        let mut d = Decision {
            event_id: e.id.clone(),
            actions,
            ticket,
            timers: plan.timers,
            cancelled_timers: plan.cancelled,
            trace: Default::default(),
            routing: Default::default(),
            kpi: Vec::new(),
            fired_actions: plan.by_rule,
        };
        d.trace.fired = plan.rules;
        d
    })
}

async fn apply(s: &Arc<dyn Store>, e: &Event, plan: Plan) -> Result<Applied, StoreError> {
    apply_counted(s, e, plan, Arc::default()).await
}

async fn apply_counted(
    s: &Arc<dyn Store>,
    e: &Event,
    plan: Plan,
    calls: Arc<AtomicUsize>,
) -> Result<Applied, StoreError> {
    s.apply(
        e.clone(),
        store::fingerprint(e),
        t0(),
        decide(e, plan, calls),
    )
    .await
}

fn fired(timer_id: &str, name: &str, ticket: &str, due_at: DateTime<Utc>) -> Event {
    let mut e = event(&format!("timer:{timer_id}"), EventType::TimerFired, ticket);
    e.timer = Some(TimerRef {
        id: timer_id.into(),
        name: name.into(),
        due_at,
    });
    e
}

async fn timer_states(s: &Arc<dyn Store>, ticket: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = s
        .ticket(ticket)
        .await
        .unwrap()
        .unwrap()
        .timers
        .into_iter()
        .map(|t| (t.id, t.state))
        .collect();
    v.sort();
    v
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Behaviours
// ---------------------------------------------------------------------------------------------

/// An event is applied once; a repeat gets the stored decision without deciding; the same id
/// with another body is a conflict.
async fn apply_once_replay_conflict(s: Arc<dyn Store>) {
    let e = msg("e1", "T1");
    let first = apply(&s, &e, Plan::tag("x")).await.unwrap();
    assert!(!first.replayed);
    assert_eq!(first.decision.ticket.tags, ["x"]);

    let calls = Arc::new(AtomicUsize::new(0));
    let again = apply_counted(&s, &e, Plan::tag("other"), calls.clone())
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(
        again.decision, first.decision,
        "the stored decision, exactly"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "a repeat is not decided");

    let mut reused = e.clone();
    reused.message.as_mut().unwrap().text = "something else".into();
    match apply(&s, &reused, Plan::tag("y")).await {
        Err(StoreError::Conflict(id)) => assert_eq!(id, "e1"),
        other => panic!("expected a conflict, got {other:?}"),
    }

    let rec = s.ticket("T1").await.unwrap().unwrap();
    assert_eq!(rec.version, 1, "applied once");
    assert_eq!(rec.ticket.tags, ["x"]);
    assert_eq!(rec.history.len(), 1);
    assert_eq!(rec.history[0].rule, "tag x");
    assert_eq!(rec.history[0].event_id, "e1");
    assert_eq!(rec.history[0].at, t0());
    assert!(s.ticket("nobody").await.unwrap().is_none());
}

/// Forty events for one ticket at once, half through each handle: each is decided against the
/// state the previous one left, so no tag is lost.
async fn per_ticket_ordering(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = if i % 2 == 0 { one.clone() } else { two.clone() };
        tasks.push(tokio::spawn(async move {
            let e = msg(&format!("m{i}"), "T");
            apply(&s, &e, Plan::tag(&format!("n{i}"))).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        let a = t.await.unwrap();
        assert!(!a.replayed);
        seen.push(a.decision.ticket.tags.len());
    }
    // Every decision saw a different number of earlier tags: 1, 2, ..., 40.
    seen.sort();
    assert_eq!(seen, (1..=40).collect::<Vec<_>>());
    let rec = one.ticket("T").await.unwrap().unwrap();
    assert_eq!(rec.version, 40);
    let tags: BTreeSet<String> = rec.ticket.tags.into_iter().collect();
    let want: BTreeSet<String> = (0..40).map(|i| format!("n{i}")).collect();
    assert_eq!(
        tags, want,
        "every event saw the state the one before it left"
    );
    // Several tickets at once do not wait for each other's state either.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let s = if i % 2 == 0 { one.clone() } else { two.clone() };
        tasks.push(tokio::spawn(async move {
            let e = msg(&format!("u{i}"), &format!("U{}", i % 3));
            apply(&s, &e, Plan::tag(&format!("u{i}"))).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for k in 0..3 {
        let rec = two.ticket(&format!("U{k}")).await.unwrap().unwrap();
        assert_eq!(rec.version, 10);
        assert_eq!(rec.ticket.tags.len(), 10);
    }
}

/// The same event through both handles at once is decided once, and both get that decision;
/// one id used for two tickets at once is applied once and refused once.
async fn same_event_through_two_replicas(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    for round in 0..12 {
        let e = msg(&format!("dup{round}"), &format!("D{}", round % 3));
        let calls = Arc::new(AtomicUsize::new(0));
        let (a, b) = tokio::join!(
            apply_counted(&one, &e, Plan::tag("d"), calls.clone()),
            apply_counted(&two, &e, Plan::tag("d"), calls.clone()),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "round {round}: decided once"
        );
        assert_eq!(a.decision, b.decision, "round {round}: the same answer");
        assert_eq!(
            [a.replayed, b.replayed].iter().filter(|r| !**r).count(),
            1,
            "round {round}: exactly one applied it"
        );
    }
    for round in 0..6 {
        let id = format!("reused{round}");
        let (e1, e2) = (msg(&id, "R1"), msg(&id, "R2"));
        let (a, b) = tokio::join!(
            apply(&one, &e1, Plan::tag("r")),
            apply(&two, &e2, Plan::tag("r")),
        );
        let results = [a, b];
        let applied = results
            .iter()
            .filter(|r| matches!(r, Ok(a) if !a.replayed))
            .count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
            .count();
        assert_eq!((applied, refused), (1, 1), "round {round}: {results:?}");
    }
    let versions = (
        one.ticket("R1").await.unwrap().map_or(0, |r| r.version),
        one.ticket("R2").await.unwrap().map_or(0, |r| r.version),
    );
    assert_eq!(versions.0 + versions.1, 6, "each reused id applied once");
}

/// A timer is stored with its decision, claimed under a lease when due, claimed again only
/// after the lease ran out, and fires once.
async fn timer_claim_lease_and_fire_once(s: Arc<dyn Store>) {
    let due = t0() + TimeDelta::hours(1);
    let created = event("c1", EventType::TicketCreated, "T");
    let plan = Plan {
        timers: vec![timer("nudge", due, &[])],
        ..Plan::tag("new")
    };
    let a = apply(&s, &created, plan).await.unwrap();
    assert_eq!(a.decision.timers.len(), 1);
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[("c1/nudge", "pending")])
    );
    let rec = s.ticket("T").await.unwrap().unwrap();
    assert_eq!(rec.timers[0].due_at, due);
    assert_eq!(rec.timers[0].name, "nudge");
    assert_eq!(rec.timers[0].rule, "start nudge");
    assert_eq!(s.next_timer_due().await.unwrap(), Some(due));

    assert!(
        s.claim_due_timers(due - secs(1), "A", due + secs(59), 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let claimed = s
        .claim_due_timers(due, "A", due + secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].row.id, "c1/nudge");
    assert_eq!(claimed[0].row.state, "pending");
    assert_eq!(claimed[0].row.ticket_id, "T");
    assert_eq!(claimed[0].row.due_at, due);
    assert!(
        s.claim_due_timers(due + secs(30), "B", due + secs(90), 10)
            .await
            .unwrap()
            .is_empty(),
        "A holds the lease"
    );
    let taken = s
        .claim_due_timers(due + secs(61), "B", due + secs(121), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "the lease ran out: B takes it over");

    // B fires it; A, late, completes its own claim: the same event, answered from the store.
    let fire = fired("c1/nudge", "nudge", "T", due);
    let b = apply(&s, &fire, Plan::tag("nudged")).await.unwrap();
    assert!(!b.replayed);
    let calls = Arc::new(AtomicUsize::new(0));
    let late = apply_counted(&s, &fire, Plan::tag("nudged twice"), calls.clone())
        .await
        .unwrap();
    assert!(late.replayed);
    assert_eq!(late.decision, b.decision);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let rec = s.ticket("T").await.unwrap().unwrap();
    assert_eq!(rec.version, 2, "created + fired once");
    assert_eq!(rec.ticket.tags, ["new", "nudged"]);
    assert_eq!(timer_states(&s, "T").await, pairs(&[("c1/nudge", "fired")]));
    assert!(s
        .claim_due_timers(
            due + TimeDelta::hours(5),
            "C",
            due + TimeDelta::hours(6),
            10
        )
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.next_timer_due().await.unwrap(), None);
}

/// Claims go to one claimer at a time, oldest due first, `limit` at a time.
async fn timer_claims_split_between_replicas(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    for i in 0..30 {
        let e = event(&format!("c{i}"), EventType::TicketCreated, &format!("T{i}"));
        let plan = Plan {
            timers: vec![timer("t", t0() + secs(i), &[])],
            ..Plan::default()
        };
        apply(&one, &e, plan).await.unwrap();
    }
    let now = t0() + secs(100);
    let first = one
        .claim_due_timers(now, "A", now + secs(60), 5)
        .await
        .unwrap();
    let due: Vec<String> = first.iter().map(|t| t.row.id.clone()).collect();
    assert_eq!(
        due,
        ["c0/t", "c1/t", "c2/t", "c3/t", "c4/t"],
        "oldest first"
    );
    let mut tasks = Vec::new();
    for (k, s) in [one.clone(), two.clone(), one.clone(), two.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = s
                    .claim_due_timers(now, &format!("R{k}"), now + secs(60), 3)
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|t| t.row.id));
            }
        }));
    }
    let mut all: Vec<String> = due;
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 30, "each due timer claimed once: {all:?}");
    assert_eq!(unique.len(), 30);
}

/// Events cancel the pending timers that list them in `cancel_on`; a cancelled timer that
/// still gets fired (claimed before it was cancelled) does nothing.
async fn timer_cancel_on(s: Arc<dyn Store>) {
    let due = t0() + TimeDelta::hours(1);
    let created = event("c1", EventType::TicketCreated, "T");
    let plan = Plan {
        timers: vec![timer("nudge", due, &[EventType::MessageCreated])],
        ..Plan::default()
    };
    apply(&s, &created, plan).await.unwrap();
    let claimed = s
        .claim_due_timers(due, "A", due + secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    apply(
        &s,
        &event("u1", EventType::TicketUpdated, "T"),
        Plan::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[("c1/nudge", "pending")])
    );
    apply(&s, &msg("m1", "T"), Plan::default()).await.unwrap();
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[("c1/nudge", "cancelled")])
    );

    let calls = Arc::new(AtomicUsize::new(0));
    let late = apply_counted(
        &s,
        &fired("c1/nudge", "nudge", "T", due),
        Plan::tag("nudged"),
        calls.clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a cancelled timer is not decided"
    );
    assert!(late.decision.actions.is_empty());
    assert!(
        late.decision.trace.errors[0].message.contains("cancelled"),
        "{:?}",
        late.decision.trace
    );
    let rec = s.ticket("T").await.unwrap().unwrap();
    assert!(!rec.ticket.tags.contains(&"nudged".to_string()));
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[("c1/nudge", "cancelled")])
    );
    assert!(s
        .claim_due_timers(due + secs(120), "B", due + secs(180), 10)
        .await
        .unwrap()
        .is_empty());
}

/// `cancel_timers` cancels by name, or all.
async fn timer_cancel_timers_action(s: Arc<dyn Store>) {
    let due = t0() + TimeDelta::hours(1);
    let plan = Plan {
        timers: vec![
            timer("a", due, &[]),
            timer("b", due, &[]),
            timer("c", due, &[]),
        ],
        ..Plan::default()
    };
    apply(&s, &event("c1", EventType::TicketCreated, "T"), plan)
        .await
        .unwrap();
    let by_name = Plan {
        actions: vec![Action::CancelTimers {
            names: Some(vec!["a".into(), "c".into()]),
        }],
        ..Plan::default()
    };
    apply(&s, &event("u1", EventType::TicketUpdated, "T"), by_name)
        .await
        .unwrap();
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[
            ("c1/a", "cancelled"),
            ("c1/b", "pending"),
            ("c1/c", "cancelled")
        ])
    );
    let all = Plan {
        actions: vec![Action::CancelTimers { names: None }],
        ..Plan::default()
    };
    apply(&s, &event("u2", EventType::TicketUpdated, "T"), all)
        .await
        .unwrap();
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[
            ("c1/a", "cancelled"),
            ("c1/b", "cancelled"),
            ("c1/c", "cancelled")
        ])
    );
    assert_eq!(s.next_timer_due().await.unwrap(), None);
}

/// A decision's `cancelled_timers` cancel the pending timers of those names; `cancel_timers:
/// all` leaves the SLA clocks' timers alone.
async fn timer_cancelled_by_name_and_sla_timers_kept(s: Arc<dyn Store>) {
    let due = t0() + TimeDelta::hours(1);
    let plan = Plan {
        timers: vec![
            timer("nudge", due, &[]),
            timer("sla:first_response", due, &[]),
            timer("sla:resolution", due, &[]),
        ],
        ..Plan::default()
    };
    apply(&s, &event("c1", EventType::TicketCreated, "T"), plan)
        .await
        .unwrap();
    let all = Plan {
        actions: vec![Action::CancelTimers { names: None }],
        ..Plan::default()
    };
    apply(&s, &event("u1", EventType::TicketUpdated, "T"), all)
        .await
        .unwrap();
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[
            ("c1/nudge", "cancelled"),
            ("c1/sla:first_response", "pending"),
            ("c1/sla:resolution", "pending")
        ])
    );
    let met = Plan {
        cancelled: vec!["sla:first_response".into(), "nothing:pending".into()],
        ..Plan::default()
    };
    let applied = apply(&s, &event("m1", EventType::MessageAgent, "T"), met)
        .await
        .unwrap();
    assert_eq!(
        applied.decision.cancelled_timers,
        ["sla:first_response", "nothing:pending"]
    );
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[
            ("c1/nudge", "cancelled"),
            ("c1/sla:first_response", "cancelled"),
            ("c1/sla:resolution", "pending")
        ])
    );
    let claimed = s
        .claim_due_timers(due, "me", due + TimeDelta::minutes(1), 10)
        .await
        .unwrap();
    let names: Vec<&str> = claimed.iter().map(|t| t.row.name.as_str()).collect();
    assert_eq!(names, ["sla:resolution"]);
}

/// A cron occurrence is claimed once; a claim whose lease ran out may be taken over until the
/// run is done; skipped and baseline occurrences are only recorded; the latest recorded one is
/// what the scheduler counts from.
async fn schedule_runs_once(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let at = t0() + TimeDelta::hours(16);
    let lease = at + secs(60);
    assert_eq!(one.last_schedule_run("nightly").await.unwrap(), None);
    one.record_schedule_run("nightly", t0(), "baseline", t0())
        .await
        .unwrap();
    assert_eq!(
        one.last_schedule_run("nightly").await.unwrap(),
        Some((t0(), "baseline".to_string()))
    );
    assert!(one
        .claim_schedule_run("nightly", at, "a", lease, at)
        .await
        .unwrap());
    assert!(
        !two.claim_schedule_run("nightly", at, "b", lease, at + secs(10))
            .await
            .unwrap(),
        "claimed under a lease"
    );
    assert_eq!(
        two.last_schedule_run("nightly").await.unwrap(),
        Some((at, "running".to_string()))
    );
    assert!(
        two.claim_schedule_run("nightly", at, "b", at + secs(200), at + secs(61))
            .await
            .unwrap(),
        "the lease ran out: taken over"
    );
    two.finish_schedule_run("nightly", at, at + secs(62))
        .await
        .unwrap();
    assert!(
        !one.claim_schedule_run("nightly", at, "a", at + secs(999), at + secs(900))
            .await
            .unwrap(),
        "done is done"
    );
    assert_eq!(
        one.last_schedule_run("nightly").await.unwrap(),
        Some((at, "done".to_string()))
    );
    // Recording never overwrites.
    one.record_schedule_run("nightly", at, "skipped", at + secs(1000))
        .await
        .unwrap();
    assert_eq!(
        one.last_schedule_run("nightly").await.unwrap(),
        Some((at, "done".to_string()))
    );
    let later = at + TimeDelta::days(1);
    two.record_schedule_run("nightly", later, "skipped", later)
        .await
        .unwrap();
    assert_eq!(
        one.last_schedule_run("nightly").await.unwrap(),
        Some((later, "skipped".to_string()))
    );
    assert!(!one
        .claim_schedule_run("nightly", later, "a", later + secs(60), later)
        .await
        .unwrap());
    assert_eq!(one.last_schedule_run("other").await.unwrap(), None);
}

/// `for_each` selection: by status (any when none given), idle since a time, in id order
/// after a key, never the tickets of schedules without `for_each`.
async fn schedule_ticket_selection(s: Arc<dyn Store>) {
    let put = |id: &str, status: &str, at: DateTime<Utc>| {
        let e = Event::from_value(json!({"id": format!("e-{id}"), "type": "ticket.created",
            "ticket": {"id": id, "status": status}}))
        .unwrap();
        let s = s.clone();
        async move {
            s.apply(
                e.clone(),
                store::fingerprint(&e),
                at,
                decide(&e, Plan::default(), Arc::default()),
            )
            .await
            .unwrap();
        }
    };
    let old = t0() - TimeDelta::days(10);
    put("a", "pending", old).await;
    put("b", "pending", t0()).await;
    put("c", "open", old).await;
    put("d", "pending", old).await;
    put("schedule:nightly", "pending", old).await;
    let pending = vec!["pending".to_string()];
    let cutoff = Some(t0() - TimeDelta::days(7));
    assert_eq!(
        s.schedule_tickets(&pending, cutoff, "", 100).await.unwrap(),
        ["a", "d"]
    );
    assert_eq!(
        s.schedule_tickets(&pending, None, "", 100).await.unwrap(),
        ["a", "b", "d"]
    );
    assert_eq!(
        s.schedule_tickets(&pending, None, "a", 1).await.unwrap(),
        ["b"],
        "pages by id"
    );
    assert_eq!(
        s.schedule_tickets(&[], cutoff, "", 100).await.unwrap(),
        ["a", "c", "d"]
    );
    let both = vec!["open".to_string(), "pending".to_string()];
    assert_eq!(
        s.schedule_tickets(&both, cutoff, "a", 100).await.unwrap(),
        ["c", "d"]
    );
}

/// A new timer replaces the pending one of the same name on the ticket.
async fn timer_reschedule_replaces(s: Arc<dyn Store>) {
    let plan = |due| Plan {
        timers: vec![timer("nudge", due, &[])],
        ..Plan::default()
    };
    apply(
        &s,
        &event("c1", EventType::TicketCreated, "T"),
        plan(t0() + TimeDelta::hours(1)),
    )
    .await
    .unwrap();
    apply(&s, &msg("m1", "T"), plan(t0() + TimeDelta::hours(2)))
        .await
        .unwrap();
    assert_eq!(
        timer_states(&s, "T").await,
        pairs(&[("c1/nudge", "cancelled"), ("m1/nudge", "pending")])
    );
    assert_eq!(
        s.next_timer_due().await.unwrap(),
        Some(t0() + TimeDelta::hours(2))
    );
    let due = s
        .claim_due_timers(
            t0() + TimeDelta::hours(9),
            "A",
            t0() + TimeDelta::hours(10),
            10,
        )
        .await
        .unwrap();
    let ids: Vec<&str> = due.iter().map(|t| t.row.id.as_str()).collect();
    assert_eq!(ids, ["m1/nudge"]);
}

fn webhook() -> Action {
    Action::Webhook {
        url: "https://example.org/hook".into(),
        method: HttpMethod::Post,
        body: json!({"z": 1, "a": [2, {"y": 3, "b": 4}]}),
        headers: Default::default(),
    }
}

fn notify() -> Action {
    Action::Notify {
        channel: NotifyChannel::Slack,
        to: "#support".into(),
        text: "hello".into(),
        subject: None,
    }
}

/// A ticket whose helpdesk takes actions through its API gets outbox rows for them, with the
/// target kept as written; the same ticket without `api` gets none.
async fn outbox_helpdesk_targets(s: Arc<dyn Store>) {
    let reply = Action::Reply {
        text: "hi".into(),
        language: None,
        template: None,
        quick_replies: Vec::new(),
        survey: None,
    };
    for (id, api) in [("h1", true), ("h2", false)] {
        let mut e = msg(id, id);
        e.ticket.source = Some(frontdesk::model::Source {
            helpdesk: "chatwoot".into(),
            account: Some("3".into()),
            api,
            id: None,
        });
        let plan = Plan {
            actions: vec![reply.clone()],
            ..Plan::default()
        };
        apply(&s, &e, plan).await.unwrap();
    }
    let rows = s.outbox(None, 10).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].id, "h1/0");
    assert_eq!(rows[0].action, reply);
    assert_eq!(
        rows[0].target,
        Some(serde_json::json!({"helpdesk": "chatwoot", "account": "3"}))
    );
    let claimed = s
        .claim_deliveries(t0(), "A", t0() + secs(60), 5)
        .await
        .unwrap();
    assert_eq!(claimed[0].target, rows[0].target, "claims carry the target");

    // A chat opened in the helpdesk: the ticket's id there is linked to it, and its actions go
    // to that id.
    assert_eq!(s.linked_ticket("chatwoot", "42").await.unwrap(), None);
    let mut e = msg("c1", "chat-s1");
    e.ticket.source = Some(frontdesk::model::Source {
        helpdesk: "chatwoot".into(),
        account: Some("3".into()),
        api: true,
        id: Some("42".into()),
    });
    let plan = Plan {
        actions: vec![reply.clone()],
        ..Plan::default()
    };
    apply(&s, &e, plan).await.unwrap();
    assert_eq!(
        s.linked_ticket("chatwoot", "42").await.unwrap().as_deref(),
        Some("chat-s1")
    );
    assert_eq!(s.linked_ticket("zammad", "42").await.unwrap(), None);
    let rows = s.outbox(None, 10).await.unwrap();
    let row = rows.iter().find(|r| r.id == "c1/0").unwrap();
    assert_eq!(
        row.target,
        Some(serde_json::json!({"helpdesk": "chatwoot", "account": "3", "id": "42"}))
    );
}

/// Outbox rows: written with the decision, claimed under a lease, finished only by the
/// current claim (the attempt is the fencing token), retried, dead, redelivered, listed.
async fn outbox_claim_finish_fencing(s: Arc<dyn Store>) {
    let plan = Plan {
        actions: vec![webhook(), notify()],
        ..Plan::tag("x")
    };
    let a = apply(&s, &msg("o1", "T"), plan).await.unwrap();
    // The tag action comes first, so the deliveries are actions 1 and 2.
    assert_eq!(a.decision.actions.len(), 3);
    let rows = s.outbox(None, 10).await.unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["o1/2", "o1/1"], "newest first");
    assert!(rows.iter().all(|r| r.state == "pending" && r.attempts == 0));
    assert_eq!(rows[1].action, webhook(), "the action exactly as decided");
    assert_eq!(rows[0].event_id, "o1");
    assert_eq!(rows[0].ticket_id, "T");
    assert_eq!(rows[0].next_at, t0());

    let now = t0() + secs(1);
    let first = s
        .claim_deliveries(now, "A", now + secs(60), 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    let second = s
        .claim_deliveries(now, "B", now + secs(60), 5)
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "the other row; the first is leased");
    assert_ne!(first[0].id, second[0].id);
    assert!(s
        .claim_deliveries(now, "C", now + secs(60), 5)
        .await
        .unwrap()
        .is_empty());

    let (hook, note) = if first[0].id == "o1/1" {
        (&first[0], &second[0])
    } else {
        (&second[0], &first[0])
    };
    assert!(s
        .finish_delivery(&hook.id, hook.attempts, &DeliveryOutcome::Delivered, now)
        .await
        .unwrap());
    assert!(
        !s.finish_delivery(&hook.id, hook.attempts, &DeliveryOutcome::Delivered, now)
            .await
            .unwrap(),
        "finished already"
    );

    // The notify claim's lease runs out; D takes it over (attempt 2); the first claimer's late
    // answer is refused.
    let later = now + secs(61);
    let taken = s
        .claim_deliveries(later, "D", later + secs(60), 5)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, note.id);
    assert_eq!(taken[0].attempts, 2);
    assert!(
        !s.finish_delivery(&note.id, 1, &DeliveryOutcome::Delivered, later)
            .await
            .unwrap(),
        "a stale claim cannot finish"
    );
    let retry_at = later + secs(60);
    assert!(s
        .finish_delivery(
            &note.id,
            2,
            &DeliveryOutcome::Retry {
                at: retry_at,
                error: "HTTP 503".into()
            },
            later
        )
        .await
        .unwrap());
    let row = s.outbox(Some("pending"), 10).await.unwrap();
    assert_eq!(row.len(), 1);
    assert_eq!(row[0].next_at, retry_at);
    assert_eq!(row[0].last_error.as_deref(), Some("HTTP 503"));
    assert!(s
        .claim_deliveries(retry_at - secs(1), "D", retry_at + secs(59), 5)
        .await
        .unwrap()
        .is_empty());
    let again = s
        .claim_deliveries(retry_at, "E", retry_at + secs(60), 5)
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 3);
    assert!(s
        .finish_delivery(
            &note.id,
            3,
            &DeliveryOutcome::Dead {
                error: "HTTP 410".into()
            },
            retry_at
        )
        .await
        .unwrap());
    let dead = s.outbox(Some("dead"), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 410"));
    let delivered = s.outbox(Some("delivered"), 10).await.unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].id, hook.id);

    let back = retry_at + secs(10);
    assert!(s.redeliver(&note.id, back).await.unwrap());
    assert!(!s.redeliver("o1/9", back).await.unwrap(), "no such row");
    let row = &s.outbox(Some("pending"), 10).await.unwrap()[0];
    assert_eq!((row.id.as_str(), row.next_at), (note.id.as_str(), back));
    let claimed = s
        .claim_deliveries(back, "F", back + secs(60), 5)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 4);
    assert_eq!(s.outbox(None, 1).await.unwrap().len(), 1, "limit");
}

/// A replayed event writes no second set of outbox rows.
async fn outbox_rows_are_written_once(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let plan = Plan {
        actions: vec![webhook()],
        ..Plan::default()
    };
    let e = msg("w1", "T");
    let (a, b) = tokio::join!(apply(&one, &e, plan.clone()), apply(&two, &e, plan));
    a.unwrap();
    b.unwrap();
    let rows = two.outbox(None, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, "w1/0");
}

/// The audit log: newest first, by ticket, by rule, limited; a ticket's history oldest first.
async fn audit_and_ticket_reads(s: Arc<dyn Store>) {
    // `first` added the tag, `second` set a field.
    let two_rules = Plan {
        rules: vec!["first".into(), "second".into()],
        actions: vec![Action::SetField {
            name: "plan".into(),
            value: json!("gold"),
        }],
        by_rule: vec![0..1, 1..2],
        ..Plan::tag("a")
    };
    apply(&s, &msg("a1", "A"), two_rules).await.unwrap();
    apply(&s, &msg("b1", "B"), Plan::tag("b")).await.unwrap();
    apply(&s, &msg("a2", "A"), Plan::tag("c")).await.unwrap();
    apply(&s, &msg("a3", "A"), Plan::default()).await.unwrap();

    let all = s.audit(&AuditQuery::default()).await.unwrap();
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|r| (r.event_id.as_str(), r.rule.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("a2", "tag c"),
            ("b1", "tag b"),
            ("a1", "second"),
            ("a1", "first")
        ]
    );
    let q = |ticket: Option<&str>, rule: Option<&str>, limit: Option<u32>| AuditQuery {
        ticket: ticket.map(str::to_string),
        rule: rule.map(str::to_string),
        limit,
    };
    assert_eq!(s.audit(&q(Some("B"), None, None)).await.unwrap().len(), 1);
    let by_rule = s.audit(&q(None, Some("first"), None)).await.unwrap();
    assert_eq!(by_rule.len(), 1);
    assert_eq!(by_rule[0].ticket_id, "A");
    assert_eq!(
        by_rule[0].actions,
        json!([{"type": "add_tags", "tags": ["a"]}]),
        "the rule's own actions"
    );
    let second = s.audit(&q(None, Some("second"), None)).await.unwrap();
    assert_eq!(
        second[0].actions,
        json!([{"type": "set_field", "name": "plan", "value": "gold"}])
    );
    assert_eq!(
        s.audit(&q(Some("A"), Some("tag c"), None))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.audit(&q(Some("A"), None, Some(1))).await.unwrap().len(),
        1
    );
    assert!(s
        .audit(&q(Some("nobody"), None, None))
        .await
        .unwrap()
        .is_empty());

    let rec = s.ticket("A").await.unwrap().unwrap();
    assert_eq!(rec.version, 3);
    assert_eq!(rec.ticket.id, "A");
    assert_eq!(rec.ticket.tags, ["a", "c"]);
    let history: Vec<&str> = rec.history.iter().map(|h| h.rule.as_str()).collect();
    assert_eq!(history, ["first", "second", "tag c"], "oldest first");
    assert!(s.ping().await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

const ROUTING_PACK: &str = r#"
teams: { desk: {}, other: {} }
agents:
  solo: { teams: [desk], languages: [en], capacity: 1 }
  pat: { teams: [other], languages: [en], capacity: { chat: 1, total: 5 } }
rules:
  - name: route
    on: [ticket.created]
    then: [ { assign: { team: desk } } ]
  - name: close
    on: [ticket.status_changed]
    when: { field: ticket.status, eq: closed }
    then: [ { add_tags: [done] } ]
"#;

fn routing_pack() -> Arc<frontdesk::config::Config> {
    Arc::new(frontdesk::config::Config::from_yaml("routing.yaml", ROUTING_PACK).unwrap())
}

/// Decides `e` with the real engine against the routing state the store read.
async fn apply_routed(
    s: &Arc<dyn Store>,
    config: &Arc<frontdesk::config::Config>,
    e: &Event,
) -> Applied {
    let (config2, e2) = (config.clone(), e.clone());
    let need = config.routing_need(e.kind).clone();
    s.apply_routed(
        e.clone(),
        None,
        store::fingerprint(e),
        t0(),
        need,
        Box::new(move |prior, routing| {
            let ticket = prior.map_or_else(
                || e2.ticket.clone(),
                |p| {
                    let mut t = p;
                    t.status = e2.ticket.status;
                    t
                },
            );
            let ctx = frontdesk::engine::Context {
                routing,
                ..Default::default()
            };
            frontdesk::engine::decide_with(&config2, &ctx, &ticket, &e2, t0())
        }),
    )
    .await
    .unwrap()
}

/// Many events for different tickets at once, through both handles, against one agent with
/// room for one ticket: exactly one decision gets the agent, every other ticket waits in the
/// team queue, oldest first; the load and the cursor are what the tickets say.
async fn routing_last_slot_taken_once(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let config = routing_pack();
    one.set_agent_status("solo", frontdesk::routing::AgentStatus::Online, t0())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let s = if i % 2 == 0 { one.clone() } else { two.clone() };
        let config = config.clone();
        tasks.push(tokio::spawn(async move {
            let e = event(&format!("c{i}"), EventType::TicketCreated, &format!("R{i}"));
            apply_routed(&s, &config, &e).await
        }));
    }
    let mut assigned = Vec::new();
    for t in tasks {
        let a = t.await.unwrap();
        match a.decision.ticket.assignee.as_deref() {
            Some("solo") => assigned.push(a.decision.ticket.id.clone()),
            Some(other) => panic!("assigned to {other}"),
            None => {
                assert_eq!(a.decision.ticket.group.as_deref(), Some("desk"));
                assert_eq!(
                    a.decision.routing.queued.as_ref().map(|q| q.team.as_str()),
                    Some("desk")
                );
                let c = &a.decision.trace.routing[0].candidates[0];
                assert_eq!(c.skipped, Some(frontdesk::routing::Skip::AtCapacity));
            }
        }
    }
    assert_eq!(
        assigned.len(),
        1,
        "exactly one ticket took the last slot: {assigned:?}"
    );
    let state = two.routing_state().await.unwrap();
    assert_eq!(state.agents["solo"].open.total, 1);
    assert_eq!(
        state.agents["solo"].status,
        frontdesk::routing::AgentStatus::Online
    );
    assert_eq!(state.last_assigned["desk"], "solo");
    let queued = one.queued(Some("desk"), 100).await.unwrap();
    assert_eq!(queued.len(), 23);
    assert!(queued
        .iter()
        .all(|q| q.rule == "route" && q.action == "then[0]"));
    assert!(!queued.iter().any(|q| q.ticket_id == assigned[0]));
    assert!(one.queued(Some("other"), 100).await.unwrap().is_empty());

    // Closing the assigned ticket frees the slot; the load is counted from the tickets.
    let mut close = event("close", EventType::TicketStatusChanged, &assigned[0]);
    close.ticket.status = frontdesk::model::Status::Closed;
    let a = apply_routed(&one, &config, &close).await;
    assert_eq!(a.decision.trace.fired, ["close"]);
    assert_eq!(
        two.routing_state().await.unwrap().agents["solo"].open.total,
        0
    );

    // The oldest queued ticket, offered now, takes the slot and leaves the queue.
    let first = queued[0].ticket_id.clone();
    let mut offer = event("offer", EventType::AgentAvailable, &first);
    offer.data = json!({"team": "desk", "rule": "route", "action": "then[0]"})
        .as_object()
        .cloned()
        .unwrap();
    let a = apply_routed(&two, &config, &offer).await;
    assert_eq!(a.decision.ticket.assignee.as_deref(), Some("solo"));
    let left = one.queued(Some("desk"), 100).await.unwrap();
    assert_eq!(left.len(), 22);
    assert_eq!(left[0].ticket_id, queued[1].ticket_id);
}

/// A status read from a helpdesk is applied only when it is not the one read last time; a
/// status set through the API leaves the one read last time as it was, so the helpdesk's
/// same status again changes nothing and a new one overrides it.
/// The store's other writes (here agents' statuses) are not held up for as long as events keep
/// coming: the SQLite writer keeps the connection they share for a bounded time only.
async fn other_writes_go_through_a_flood_of_events(s: Arc<dyn Store>) {
    use frontdesk::routing::AgentStatus::{Away, Online};
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (applied, mut seen) = tokio::sync::mpsc::unbounded_channel();
    // Events keep arriving whatever the answers: up to 512 wait at any time, more than one
    // batch takes, so the writer always finds more waiting when it ends one.
    let flood = {
        let (s, stop) = (s.clone(), stop.clone());
        tokio::spawn(async move {
            let room = Arc::new(tokio::sync::Semaphore::new(512));
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let permit = room.clone().acquire_owned().await.unwrap();
                let (s, applied) = (s.clone(), applied.clone());
                tokio::spawn(async move {
                    let e = msg(&format!("flood-{n}"), &format!("F{}", n % 7));
                    apply(&s, &e, Plan::tag("flood")).await.unwrap();
                    let _ = applied.send(());
                    drop(permit);
                });
                n += 1;
                tokio::task::yield_now().await;
            }
            // Every event sent is answered.
            let _ = room.acquire_many(512).await.unwrap();
            n
        })
    };
    // The flood is under way before the statuses are set, and goes on until they are.
    for _ in 0..64 {
        seen.recv().await.unwrap();
    }
    for i in 0..20 {
        let status = if i % 2 == 0 { Away } else { Online };
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            s.set_agent_status("ann", status, t0()),
        )
        .await
        .unwrap_or_else(|_| panic!("status {i} still waiting for the connection after 30 s"))
        .unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let events = flood.await.unwrap();
    assert!(events >= 64, "{events}");
    let presence = s.agent_presence().await.unwrap();
    assert_eq!(presence.len(), 1);
    assert_eq!(presence[0].status, Online);
}

async fn agent_presence_polled_and_manual(s: Arc<dyn Store>) {
    use frontdesk::routing::presence::StatusSource::{Api, Helpdesk};
    use frontdesk::routing::AgentStatus::{Away, Offline, Online};
    use frontdesk::store::PresenceRow;
    let row = |agent: &str, status, source, polled| PresenceRow {
        agent: agent.into(),
        status,
        source,
        polled,
    };
    assert_eq!(s.agent_presence().await.unwrap(), vec![]);
    // Never read: applied, for an agent without a row and for one who set a status before.
    s.set_agent_status("bo", Online, t0()).await.unwrap();
    assert!(s.apply_polled_status("anna", Online, t0()).await.unwrap());
    assert!(s.apply_polled_status("bo", Away, t0()).await.unwrap());
    assert_eq!(
        s.agent_presence().await.unwrap(),
        vec![
            row("anna", Online, Helpdesk, Some(Online)),
            row("bo", Away, Helpdesk, Some(Away)),
        ]
    );
    // Set through the API: the status read last time stays, and reading it again changes
    // nothing.
    s.set_agent_status("anna", Away, t0() + secs(1))
        .await
        .unwrap();
    assert!(!s
        .apply_polled_status("anna", Online, t0() + secs(2))
        .await
        .unwrap());
    assert_eq!(
        s.agent_presence().await.unwrap()[0],
        row("anna", Away, Api, Some(Online))
    );
    assert_eq!(s.routing_state().await.unwrap().agents["anna"].status, Away);
    // A new status in the helpdesk overrides it.
    assert!(s
        .apply_polled_status("anna", Offline, t0() + secs(3))
        .await
        .unwrap());
    assert_eq!(
        s.agent_presence().await.unwrap()[0],
        row("anna", Offline, Helpdesk, Some(Offline))
    );
    assert_eq!(
        s.routing_state().await.unwrap().agents["anna"].status,
        Offline
    );
}

/// Two replicas polling the same change: one of them applies it.
async fn polled_status_applied_once(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    use frontdesk::routing::AgentStatus::{Offline, Online};
    let mut applied = 0;
    for round in 0..4 {
        let status = if round % 2 == 0 { Online } else { Offline };
        let at = t0() + secs(round);
        let (a, b) = tokio::join!(
            one.apply_polled_status("anna", status, at),
            two.apply_polled_status("anna", status, at),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a != b, "round {round}: {a} {b}");
        applied += usize::from(a) + usize::from(b);
    }
    assert_eq!(applied, 4);
}

/// Loads per channel leave out the ticket being decided; statuses overwrite; the routing
/// state read inside `apply_routed` is the committed one plus nothing else.
async fn routing_state_reads(s: Arc<dyn Store>) {
    use frontdesk::model::Channel;
    use frontdesk::routing::AgentStatus;
    assert_eq!(s.routing_state().await.unwrap(), Default::default());
    s.set_agent_status("pat", AgentStatus::Away, t0())
        .await
        .unwrap();
    s.set_agent_status("pat", AgentStatus::Online, t0())
        .await
        .unwrap();
    let assign = |id: &str, ticket: &str, channel: Channel| {
        let mut e = event(id, EventType::TicketCreated, ticket);
        e.ticket.channel = channel;
        e.ticket.assignee = Some("pat".into());
        e
    };
    for (id, t, ch) in [
        ("a1", "P1", Channel::Chat),
        ("a2", "P2", Channel::Email),
        ("a3", "P3", Channel::Email),
    ] {
        apply(&s, &assign(id, t, ch), Plan::default())
            .await
            .unwrap();
    }
    let state = s.routing_state().await.unwrap();
    let pat = &state.agents["pat"];
    assert_eq!(pat.status, AgentStatus::Online);
    assert_eq!(pat.open.total, 3);
    assert_eq!(pat.open.by_channel[&Channel::Chat], 1);
    assert_eq!(pat.open.by_channel[&Channel::Email], 2);
    // Inside a routed apply the ticket itself is not counted.
    let seen = Arc::new(std::sync::Mutex::new(None));
    let e = msg("m-p1", "P1");
    let (seen2, e2) = (seen.clone(), e.clone());
    s.apply_routed(
        e.clone(),
        None,
        store::fingerprint(&e),
        t0(),
        store::RoutingNeed {
            locks: vec!["desk".into()],
            agents: vec!["pat".into(), "nobody".into()],
        },
        Box::new(move |prior, routing| {
            *seen2.lock().unwrap() = Some(routing);
            let ticket = prior.unwrap();
            Decision {
                event_id: e2.id.clone(),
                actions: Vec::new(),
                ticket,
                timers: Vec::new(),
                cancelled_timers: Vec::new(),
                trace: Default::default(),
                routing: Default::default(),
                kpi: Vec::new(),
                fired_actions: Vec::new(),
            }
        }),
    )
    .await
    .unwrap();
    let inside = seen.lock().unwrap().clone().unwrap();
    assert_eq!(inside.agents["pat"].open.total, 2);
    assert!(!inside.agents["pat"]
        .open
        .by_channel
        .contains_key(&Channel::Chat));
    // Loads follow the tickets: a reassignment moves one, closing drops one, reopening adds
    // it back, and a repeated event changes nothing.
    use frontdesk::model::Status;
    type Step = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Status,
        (u32, u32),
    );
    let steps: [Step; 4] = [
        ("r1", "P2", Some("solo"), Status::Open, (2, 1)),
        ("r2", "P3", None, Status::Closed, (1, 1)),
        ("r3", "P3", None, Status::Open, (2, 1)),
        ("r3", "P3", None, Status::Open, (2, 1)),
    ];
    for (id, ticket, assignee, status, want) in steps {
        let e = msg(id, ticket);
        let e2 = e.clone();
        s.apply(
            e.clone(),
            store::fingerprint(&e),
            t0(),
            Box::new(move |prior| {
                let mut ticket = prior.unwrap();
                if let Some(a) = assignee {
                    ticket.assignee = Some(a.into());
                }
                ticket.status = status;
                Decision {
                    event_id: e2.id.clone(),
                    actions: Vec::new(),
                    ticket,
                    timers: Vec::new(),
                    cancelled_timers: Vec::new(),
                    trace: Default::default(),
                    routing: Default::default(),
                    kpi: Vec::new(),
                    fired_actions: Vec::new(),
                }
            }),
        )
        .await
        .unwrap();
        let state = s.routing_state().await.unwrap();
        let load = |a: &str| state.agents.get(a).map_or(0, |s| s.open.total);
        assert_eq!((load("pat"), load("solo")), want, "after {id}");
    }
    let state = s.routing_state().await.unwrap();
    assert_eq!(state.agents["solo"].open.by_channel[&Channel::Email], 1);
    assert_eq!(state.agents["pat"].open.by_channel[&Channel::Email], 1);
    // An unrouted apply is given an empty state.
    let seen3 = Arc::new(std::sync::Mutex::new(None));
    let e = msg("m-p2", "P2");
    let (seen4, e4) = (seen3.clone(), e.clone());
    s.apply(
        e.clone(),
        store::fingerprint(&e),
        t0(),
        Box::new(move |prior| {
            *seen4.lock().unwrap() = Some(prior.clone());
            Decision {
                event_id: e4.id.clone(),
                actions: Vec::new(),
                ticket: prior.unwrap(),
                timers: Vec::new(),
                cancelled_timers: Vec::new(),
                trace: Default::default(),
                routing: Default::default(),
                kpi: Vec::new(),
                fired_actions: Vec::new(),
            }
        }),
    )
    .await
    .unwrap();
    assert!(seen3.lock().unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

enum Guard {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Pg(#[allow(dead_code)] common::PgSchema),
}

struct Backend {
    one: Arc<dyn Store>,
    two: Arc<dyn Store>,
    _guard: Guard,
}

impl Backend {
    async fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let s = store::open(&url).await.unwrap();
        Backend {
            one: s.clone(),
            two: s,
            _guard: Guard::Dir(dir),
        }
    }

    async fn postgres() -> Option<Backend> {
        let schema = common::PgSchema::create("store").await?;
        let one = store::open(&schema.url).await.unwrap();
        let two = store::open(&schema.url).await.unwrap();
        Some(Backend {
            one,
            two,
            _guard: Guard::Pg(schema),
        })
    }

    async fn close(self) {
        self.one.close().await;
        self.two.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Chat sessions
// ---------------------------------------------------------------------------------------------

fn support_bot() -> &'static frontdesk::faq::Bot {
    static BOT: std::sync::OnceLock<frontdesk::faq::Bot> = std::sync::OnceLock::new();
    BOT.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bots/support.yaml");
        frontdesk::faq::Bot::load(&path).expect("the example bot loads")
    })
}

/// Opens a session with its greeting line, as the daemon does.
async fn open_chat(s: &Arc<dyn Store>, id: &str, lang: &str) -> chat::Session {
    let bot = support_bot();
    let mut session =
        chat::Session::open(id.into(), bot, Some(lang), Default::default(), None, t0());
    let lines = session.opening_lines(bot, t0());
    assert_eq!(lines.len(), 1, "the example bot greets");
    s.create_chat_session(&session, &lines).await.unwrap();
    s.chat_session(id).await.unwrap().unwrap()
}

/// One message through `bot::reply` and the store.
async fn chat_turn(
    s: &Arc<dyn Store>,
    session: &chat::Session,
    input: chat::Input,
    at: i64,
) -> chat::Session {
    let turn = chat::reply(support_bot(), session, &input, t0() + secs(at)).unwrap();
    let version = s.save_chat_turn(&turn).await.unwrap();
    assert_eq!(version, session.version + 1);
    s.chat_session(&session.id).await.unwrap().unwrap()
}

fn text(t: &str) -> chat::Input {
    chat::Input::Text(t.into())
}

/// Sessions, transcripts, feedback and unanswered questions are stored, and the stats count
/// them.
async fn chat_sessions_and_stats(s: Arc<dyn Store>) {
    assert_eq!(s.chat_session("nope").await.unwrap(), None);
    assert!(s.chat_messages("nope", 0).await.unwrap().is_empty());
    let empty = s.chat_stats("support", 10).await.unwrap();
    assert_eq!(
        (empty.sessions, empty.deflection_rate, empty.answer_rate),
        (0, None, None)
    );

    // 1: answered, "yes" → deflected and confirmed.
    let a = open_chat(&s, "a", "en").await;
    assert_eq!((a.version, a.messages), (0, 1));
    let a = chat_turn(&s, &a, text("I forgot my password"), 1).await;
    assert_eq!(a.awaiting_feedback.as_deref(), Some("password_reset"));
    let a = chat_turn(&s, &a, chat::Input::Feedback(chat::Feedback::Yes), 2).await;
    assert_eq!(a.version, 2);
    let lines = s.chat_messages("a", 0).await.unwrap();
    let seqs: Vec<u32> = lines.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(lines[1].author, chat::Speaker::Customer);
    assert_eq!(lines[1].text, "I forgot my password");
    assert_eq!(lines[2].answer_id.as_deref(), Some("password_reset"));
    assert!(lines[2].score.unwrap() > 0.5);
    assert_eq!(lines[3].feedback, Some(chat::Feedback::Yes));
    assert_eq!(lines[4].at, t0() + secs(2));

    // 2: two unanswered questions in Norwegian → handed off.
    let b = open_chat(&s, "b", "nb").await;
    let b = chat_turn(&s, &b, text("Hva er hovedstaden i Australia?"), 3).await;
    let b = chat_turn(&s, &b, text("hva er HOVEDSTADEN i Australia"), 4).await;
    assert_eq!(b.state, chat::SessionState::HandedOff);
    assert!(s.chat_messages("b", 0).await.unwrap()[4].handoff);

    // A person's line in the handed-off chat is added once per event, signed, and read after
    // a line number.
    let mut from_person =
        chat::from_person(&b, Some("Kari"), "Hei! Jeg ser på det.", t0() + secs(5)).unwrap();
    from_person.event_id = Some("hd:1".into());
    s.save_chat_turn(&from_person).await.unwrap();
    assert_eq!(s.chat_line_of_event("b", "hd:1").await.unwrap(), Some(6));
    assert_eq!(s.chat_line_of_event("b", "hd:2").await.unwrap(), None);
    let b = s.chat_session("b").await.unwrap().unwrap();
    let mut again =
        chat::from_person(&b, Some("Kari"), "Hei! Jeg ser på det.", t0() + secs(5)).unwrap();
    again.event_id = Some("hd:1".into());
    assert!(matches!(
        s.save_chat_turn(&again).await,
        Err(StoreError::Stale(_))
    ));
    let after = s.chat_messages("b", 5).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(
        (
            after[0].seq,
            after[0].author,
            after[0].name.as_deref(),
            after[0].text.as_str()
        ),
        (
            6,
            chat::Speaker::Agent,
            Some("Kari"),
            "Hei! Jeg ser på det."
        )
    );
    assert_eq!(s.chat_session("b").await.unwrap().unwrap().messages, 6);

    // 3: answered, then "no" → handed off. 4: answered, no feedback → deflected.
    let c = open_chat(&s, "c", "en").await;
    let c = chat_turn(&s, &c, text("Where is my order?"), 5).await;
    chat_turn(&s, &c, chat::Input::Feedback(chat::Feedback::No), 6).await;
    let d = open_chat(&s, "d", "da").await;
    chat_turn(&s, &d, text("Hvor er min ordre?"), 7).await;
    // 5: opened, nothing asked.
    open_chat(&s, "e", "en").await;

    let st = s.chat_stats("support", 10).await.unwrap();
    assert_eq!(st.sessions, 5);
    assert_eq!(st.engaged, 4);
    assert_eq!(st.handed_off, 2);
    assert_eq!(st.deflected, 2);
    assert_eq!(st.confirmed, 1);
    assert_eq!(st.deflection_rate, Some(0.5));
    assert_eq!((st.questions, st.answered), (5, 3));
    assert_eq!(st.answer_rate, Some(0.6));
    assert_eq!(
        st.feedback,
        store::FeedbackCounts {
            yes: 1,
            no: 1,
            person: 0
        }
    );
    assert_eq!(st.top_unanswered.len(), 1);
    assert_eq!(
        st.top_unanswered[0].question,
        "hva er hovedstaden i australia"
    );
    assert_eq!(st.top_unanswered[0].count, 2);
    assert_eq!(st.top_unanswered[0].last_at, t0() + secs(4));
    // The "no" is counted against the entry it was said to.
    assert_eq!(st.top_disliked.len(), 1);
    assert_eq!(st.top_disliked[0].answer_id, "order_status");
    assert_eq!(st.top_disliked[0].count, 1);
    assert_eq!(st.top_disliked[0].last_at, t0() + secs(6));
    // Another bot's stats are its own.
    assert_eq!(s.chat_stats("other", 10).await.unwrap().sessions, 0);

    // A taken id is refused, and the session is left alone.
    let again = chat::Session::open(
        "a".into(),
        support_bot(),
        None,
        Default::default(),
        None,
        t0(),
    );
    assert!(matches!(
        s.create_chat_session(&again, &[]).await,
        Err(StoreError::Stale(_))
    ));
    assert_eq!(s.chat_session("a").await.unwrap().unwrap().version, 2);
}

/// Two messages of one session computed from the same state (two replicas, or two tabs): the
/// first saved wins, the second is refused whole, nothing of it is written.
async fn chat_turns_from_a_stale_state(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let s = open_chat(&one, "x", "en").await;
    let first = chat::reply(support_bot(), &s, &text("Where is my order?"), t0()).unwrap();
    let second = chat::reply(
        support_bot(),
        &s,
        &text("What is the weather like on Mars?"),
        t0(),
    )
    .unwrap();
    assert_eq!(one.save_chat_turn(&first).await.unwrap(), 1);
    assert!(matches!(
        two.save_chat_turn(&second).await,
        Err(StoreError::Stale(_))
    ));
    assert_eq!(two.chat_messages("x", 0).await.unwrap().len(), 3);
    let st = two.chat_stats("support", 10).await.unwrap();
    assert_eq!((st.questions, st.answered), (1, 1));
    assert!(
        st.top_unanswered.is_empty(),
        "the refused turn recorded nothing"
    );
}

/// Chat turns sent side by side, with events among them (SQLite's writer commits them together):
/// of two turns from the same state one is kept and the other refused as stale; a turn refused
/// after its first write (its message id taken) leaves nothing, while the turns and events
/// written beside it are kept.
async fn chat_turns_side_by_side_each_whole_or_refused(s: Arc<dyn Store>) {
    const SESSIONS: usize = 24;
    let mut sessions = Vec::new();
    for i in 0..SESSIONS {
        sessions.push(open_chat(&s, &format!("side-{i}"), "en").await);
    }
    let turn = |session: &chat::Session, text_: &str, id: String| {
        let mut t = chat::reply(support_bot(), session, &text(text_), t0() + secs(1)).unwrap();
        t.message_id = Some(id.clone());
        t.answer = Some(format!("{{\"to\":\"{id}\"}}"));
        t
    };
    let events = |round: usize| {
        (0..32).map(move |n| {
            let e = msg(&format!("side-{round}-{n}"), &format!("S{}", n % 5));
            (e, Plan::tag("side"))
        })
    };

    // Two turns from each session's first state, and events, all at once.
    let mut tasks = tokio::task::JoinSet::new();
    for (i, session) in sessions.iter().enumerate() {
        for (who, q) in [("a", "Where is my order?"), ("b", "How do I get a refund?")] {
            let (s, t) = (s.clone(), turn(session, q, format!("{who}-{i}")));
            tasks.spawn(async move { (i, who, s.save_chat_turn(&t).await.map(drop)) });
        }
    }
    for (e, plan) in events(1) {
        let s = s.clone();
        tasks.spawn(async move { (usize::MAX, "event", apply(&s, &e, plan).await.map(drop)) });
    }
    let mut kept = vec![None; SESSIONS];
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (_, "event", result) => result.unwrap(),
            (i, who, Ok(())) => {
                assert!(kept[i].is_none(), "session {i}: both turns kept");
                kept[i] = Some(who);
            }
            (i, who, Err(e)) => assert!(matches!(e, StoreError::Stale(_)), "{i} {who}: {e}"),
        }
    }
    for (i, who) in kept.iter().enumerate() {
        let who = who.unwrap_or_else(|| panic!("session {i}: no turn kept"));
        let id = format!("side-{i}");
        assert_eq!(s.chat_messages(&id, 0).await.unwrap().len(), 3, "{id}");
        assert_eq!(s.chat_session(&id).await.unwrap().unwrap().version, 1);
        let other = if who == "a" { "b" } else { "a" };
        assert!(s
            .chat_answer(&id, AnswerOf::Id(&format!("{who}-{i}")))
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            s.chat_answer(&id, AnswerOf::Id(&format!("{other}-{i}")))
                .await
                .unwrap(),
            None,
            "{id}: nothing of the refused turn"
        );
    }

    // Then, side by side: half the sessions get a turn whose message id is taken (refused
    // after the session's row was written), the other half a good one, with events.
    let mut tasks = tokio::task::JoinSet::new();
    for (i, who) in kept.iter().enumerate() {
        let id = format!("side-{i}");
        let now = s.chat_session(&id).await.unwrap().unwrap();
        let taken = i % 2 == 0;
        let message_id = if taken {
            format!("{}-{i}", who.unwrap())
        } else {
            format!("c-{i}")
        };
        let (s, t) = (s.clone(), turn(&now, "Yes", message_id));
        tasks.spawn(async move { (i, s.save_chat_turn(&t).await) });
    }
    for (e, plan) in events(2) {
        let s = s.clone();
        tasks.spawn(async move { (usize::MAX, apply(&s, &e, plan).await.map(|_| 0)) });
    }
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (usize::MAX, result) => drop(result.unwrap()),
            (i, result) if i % 2 == 0 => {
                assert!(
                    matches!(result, Err(StoreError::Stale(_))),
                    "{i}: {result:?}"
                )
            }
            (i, result) => assert_eq!(result.unwrap(), 2, "{i}"),
        }
    }
    for i in 0..SESSIONS {
        let id = format!("side-{i}");
        let (lines, version) = if i % 2 == 0 { (3, 1) } else { (5, 2) };
        assert_eq!(s.chat_messages(&id, 0).await.unwrap().len(), lines, "{id}");
        assert_eq!(
            s.chat_session(&id).await.unwrap().unwrap().version,
            version,
            "{id}"
        );
    }
    for round in [1, 2] {
        for n in 0..32 {
            let id = format!("side-{round}-{n}");
            assert!(s.event(&id).await.unwrap().is_some(), "{id}");
        }
    }
}

/// A turn's answer is kept with the customer's line, found by the client's message id or the
/// line's number; a message id taken meanwhile refuses the turn as stale, recording nothing.
async fn chat_answers_kept_by_message_id(s: Arc<dyn Store>) {
    let session = open_chat(&s, "k", "en").await;
    let mut turn = chat::reply(support_bot(), &session, &text("Where is my order?"), t0()).unwrap();
    turn.message_id = Some("m-1".into());
    turn.answer = Some(r#"{"first":true}"#.into());
    s.save_chat_turn(&turn).await.unwrap();
    assert_eq!(
        s.chat_answer("k", AnswerOf::Id("m-1"))
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"first":true}"#)
    );
    assert_eq!(
        s.chat_answer("k", AnswerOf::Seq(2))
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"first":true}"#),
        "the customer's line is the second"
    );
    assert_eq!(s.chat_answer("k", AnswerOf::Seq(3)).await.unwrap(), None);
    assert_eq!(s.chat_answer("k", AnswerOf::Id("m-2")).await.unwrap(), None);
    assert_eq!(
        s.chat_answer("other", AnswerOf::Id("m-1")).await.unwrap(),
        None
    );

    // Without an id the answer is still kept by the line's number.
    let now = s.chat_session("k").await.unwrap().unwrap();
    let mut plain = chat::reply(support_bot(), &now, &text("Yes"), t0()).unwrap();
    plain.answer = Some("{}".into());
    s.save_chat_turn(&plain).await.unwrap();
    assert_eq!(
        s.chat_answer("k", AnswerOf::Seq(4))
            .await
            .unwrap()
            .as_deref(),
        Some("{}")
    );

    let now = s.chat_session("k").await.unwrap().unwrap();
    let mut again = chat::reply(support_bot(), &now, &text("How do I cancel?"), t0()).unwrap();
    again.message_id = Some("m-1".into());
    assert!(matches!(
        s.save_chat_turn(&again).await,
        Err(StoreError::Stale(m)) if m.contains("`m-1`")
    ));
    assert_eq!(
        s.chat_messages("k", 0).await.unwrap().len(),
        5,
        "nothing of it"
    );
    assert_eq!(
        s.chat_session("k").await.unwrap().unwrap().version,
        now.version
    );
}

/// Each behaviour becomes `behaviour::sqlite` and `behaviour::postgres`.
/// A ticket whose first-response clock is met by an event leaves one sample (queue, priority,
/// active seconds); events after that leave none. Reads keep the newest per queue and
/// priority, from a given time on.
async fn response_samples_recorded_once(s: Arc<dyn Store>) {
    use frontdesk::model::{Priority, SlaClock, SlaState};
    let clock = |met: Option<DateTime<Utc>>, elapsed: i64| SlaClock {
        started_at: t0(),
        target_secs: Some(7200),
        target_priority: Some(Priority::High),
        elapsed_secs: elapsed,
        running_since: met.is_none().then_some(t0()),
        due_at: None,
        paused_at: None,
        achieved_at: met,
        breached: false,
        breached_at: None,
        warned_pct: 0,
        timer_at: None,
    };
    // Decides the event with the ticket's first response in `clock`, in `group`.
    let step = |e: &Event, c: SlaClock, group: &str| -> store::DecideFn {
        let e = e.clone();
        let group = group.to_string();
        Box::new(move |prior: Option<Ticket>| {
            let mut ticket = prior.unwrap_or_else(|| e.ticket.clone());
            ticket.group = (!group.is_empty()).then_some(group);
            ticket.sla = Some(SlaState {
                policy: "p".into(),
                first_response: Some(c),
                ..SlaState::default()
            });
            Decision {
                event_id: e.id.clone(),
                actions: Vec::new(),
                ticket,
                timers: Vec::new(),
                cancelled_timers: Vec::new(),
                trace: Default::default(),
                routing: Default::default(),
                kpi: Vec::new(),
                fired_actions: Vec::new(),
            }
        })
    };
    let run = |e: Event, c: SlaClock, group: &'static str| {
        let s = s.clone();
        async move {
            s.apply(e.clone(), store::fingerprint(&e), t0(), step(&e, c, group))
                .await
                .unwrap()
        }
    };
    // Three billing tickets met after 10, 20 and 30 minutes, one general one after 5.
    for (i, mins) in [10, 20, 30].into_iter().enumerate() {
        let ticket = format!("B{i}");
        run(
            event(&format!("b{i}-new"), EventType::TicketCreated, &ticket),
            clock(None, 0),
            "billing",
        )
        .await;
        let met = t0() + secs(mins * 60);
        run(
            msg(&format!("b{i}-reply"), &ticket),
            clock(Some(met), mins * 60),
            "billing",
        )
        .await;
        // Later events see it met already: no second sample.
        run(
            msg(&format!("b{i}-later"), &ticket),
            clock(Some(met), mins * 60),
            "billing",
        )
        .await;
    }
    run(
        event("g-new", EventType::TicketCreated, "G"),
        clock(Some(t0() + secs(300)), 300),
        "",
    )
    .await;

    let mut all = s.response_samples(t0(), 100).await.unwrap();
    all.sort();
    assert_eq!(
        all,
        vec![
            (String::new(), Priority::High, 300),
            ("billing".into(), Priority::High, 600),
            ("billing".into(), Priority::High, 1200),
            ("billing".into(), Priority::High, 1800),
        ],
        "one sample per met first response"
    );
    let mut newest = s.response_samples(t0(), 2).await.unwrap();
    newest.sort();
    assert_eq!(
        newest,
        vec![
            (String::new(), Priority::High, 300),
            ("billing".into(), Priority::High, 1200),
            ("billing".into(), Priority::High, 1800),
        ],
        "the newest two of each queue and priority"
    );
    let mut recent = s.response_samples(t0() + secs(1000), 100).await.unwrap();
    recent.sort();
    assert_eq!(
        recent,
        vec![
            ("billing".into(), Priority::High, 1200),
            ("billing".into(), Priority::High, 1800),
        ],
        "only those met since the given time"
    );
}

/// Events are read back in the order they were decided, each with its arrival time, its
/// decision and its ticket as the caller sent it (the whole ticket when no patch came), for
/// `export events` and `replay`.
async fn events_read_back_with_their_ticket_as_sent(s: Arc<dyn Store>) {
    let calls = Arc::<AtomicUsize>::default();
    let created = Event::from_value(json!({"id": "c", "type": "ticket.created",
        "ticket": {"id": "T", "channel": "email", "subject": "Hello"}}))
    .unwrap();
    let sent = json!({"id": "T", "status": "pending"});
    let update =
        Event::from_value(json!({"id": "u", "type": "ticket.updated", "ticket": sent})).unwrap();
    let apply = |e: &Event, sent: Option<serde_json::Value>, at: DateTime<Utc>| {
        let (s, e, calls) = (s.clone(), e.clone(), calls.clone());
        async move {
            let decide = decide(&e, Plan::tag("seen"), calls);
            s.apply_routed(
                e.clone(),
                sent,
                store::fingerprint(&e),
                at,
                Default::default(),
                Box::new(move |t, _| decide(t)),
            )
            .await
            .unwrap()
        }
    };
    apply(&created, None, t0()).await;
    apply(&update, Some(sent.clone()), t0() + secs(60)).await;

    let page = s.events_page(0, t0() - secs(1), 10).await.unwrap();
    let got: Vec<(&str, DateTime<Utc>, &serde_json::Value)> = page
        .iter()
        .map(|r| (r.event.id.as_str(), r.received_at, &r.sent))
        .collect();
    let whole = serde_json::to_value(&created.ticket).unwrap();
    assert_eq!(
        got,
        vec![("c", t0(), &whole), ("u", t0() + secs(60), &sent)]
    );
    assert_eq!((&page[0].event, &page[1].event), (&created, &update));
    assert_eq!(page[1].decision.trace.fired, ["tag seen"]);
    assert!(page[0].seq < page[1].seq);
    // Paging on after the first, and from a later time.
    let rest = s
        .events_page(page[0].seq, t0() - secs(1), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].event.id, "u");
    let later = s.events_page(0, t0() + secs(30), 10).await.unwrap();
    assert_eq!(later.len(), 1);
}

/// One event is read back by its id, as a page reads it; the ticket it was decided on is the
/// one the ticket's previous decision (in decided order, not arrival time) left, and none for
/// its first event or for another ticket's.
async fn one_event_and_the_ticket_it_was_decided_on(s: Arc<dyn Store>) {
    let calls = Arc::<AtomicUsize>::default();
    let apply = |e: Event, tag: &str, at: DateTime<Utc>| {
        let (s, calls, tag) = (s.clone(), calls.clone(), tag.to_string());
        async move {
            let decide = decide(&e, Plan::tag(&tag), calls);
            s.apply(e.clone(), store::fingerprint(&e), at, decide)
                .await
                .unwrap()
        }
    };
    // Decided in this order, though the second arrived (by its time) before the first.
    apply(event("a1", EventType::TicketCreated, "A"), "one", t0()).await;
    apply(msg("b1", "B"), "b", t0() - secs(30)).await;
    apply(msg("a2", "A"), "two", t0() - secs(10)).await;
    apply(msg("a3", "A"), "three", t0() + secs(5)).await;

    assert!(s.event("nope").await.unwrap().is_none());
    let a2 = s.event("a2").await.unwrap().expect("a2 is stored");
    let page = s.events_page(0, t0() - secs(60), 10).await.unwrap();
    let paged = page.iter().find(|r| r.event.id == "a2").unwrap();
    assert_eq!(&a2, paged, "read as a page reads it");
    assert_eq!(a2.received_at, t0() - secs(10));
    assert_eq!(a2.decision.trace.fired, ["tag two"]);

    let tags = |t: Option<Ticket>| t.map(|t| t.tags);
    assert_eq!(
        tags(s.ticket_before("A", a2.seq).await.unwrap()),
        Some(vec!["one".to_string()])
    );
    let a3 = s.event("a3").await.unwrap().unwrap();
    assert_eq!(
        tags(s.ticket_before("A", a3.seq).await.unwrap()),
        Some(vec!["one".to_string(), "two".to_string()])
    );
    let a1 = s.event("a1").await.unwrap().unwrap();
    assert_eq!(s.ticket_before("A", a1.seq).await.unwrap(), None, "first");
    let b1 = s.event("b1").await.unwrap().unwrap();
    assert_eq!(s.ticket_before("B", b1.seq).await.unwrap(), None);
    assert_eq!(
        tags(s.ticket_before("B", a3.seq).await.unwrap()),
        Some(vec!["b".to_string()])
    );
}

// ---------------------------------------------------------------------------------------------
// KPI reports and their day rollups
// ---------------------------------------------------------------------------------------------

/// Facts over ten days in every kind, two teams, with durations and ratings: fact `n` of `day`.
fn kpi_facts(days: i64) -> Vec<kpi::Fact> {
    use kpi::Kind::*;
    let kinds = [
        Created,
        FirstResponse,
        NextResponse,
        Solved,
        Reopened,
        Sla,
        Csat,
    ];
    let mut out = Vec::new();
    for day in 0..days {
        for n in 0..(5 + day % 4) {
            let kind = kinds[((day + n) % 7) as usize];
            let at = t0() + TimeDelta::days(day) + TimeDelta::hours(n * 5 % 24);
            let dims = kpi::Dims {
                channel: ["email", "chat"][(n % 2) as usize].to_string(),
                priority: "normal".to_string(),
                team: Some(["billing", "tech"][((day + n) % 2) as usize].to_string()),
                agent: None,
                language: Some("en".to_string()),
            };
            let mut f = kpi::Fact::blank(kind, at, dims);
            f.key = format!("{day}-{n}");
            f.ticket = format!("T{day}-{n}");
            f.event = format!("e{day}-{n}");
            match kind {
                FirstResponse | NextResponse | Solved => {
                    f.secs = Some(60 * (day + 1) * (n + 1));
                    f.business_secs = Some(30 * (day + 1) * (n + 1));
                    f.replies = (kind == Solved).then_some((n % 3) as u32);
                }
                Sla => {
                    f.metric = Some(frontdesk::model::Metric::FirstResponse);
                    f.policy = Some("standard".into());
                    f.breached = n % 3 == 0;
                }
                Csat => f.score = Some((1 + (day + n) % 5) as u8),
                _ => {}
            }
            out.push(f);
        }
    }
    out
}

/// What the report of `facts` must be, counted in memory by the core's own definition.
fn expected_report(q: &kpi::Query, facts: &[kpi::Fact]) -> kpi::Report {
    let before = kpi::backlog_before(q, facts);
    kpi::report(q, facts.iter().cloned(), &before, &[])
}

/// A report over whole days reads them from rollups; it stays what counting every fact gives,
/// on the first report (which stores the rollups), the next (which reads them), and after facts
/// were added, rewritten in place, moved to another day, and all cleared.
async fn kpi_rollups_follow_their_facts(s: Arc<dyn Store>) {
    let mut facts = kpi_facts(10);
    s.put_facts(&facts, false).await.unwrap();
    let queries = [
        // Whole days only (from midnight to midnight), and with partial days at both edges;
        // grouped and bucketed.
        kpi::Query::new(
            t0() - TimeDelta::hours(10),
            t0() + TimeDelta::days(10) - TimeDelta::hours(10),
            None,
            None,
        )
        .unwrap(),
        kpi::Query::new(
            t0() + TimeDelta::hours(7),
            t0() + TimeDelta::days(8) + TimeDelta::hours(3),
            Some(kpi::Dim::Team),
            Some(kpi::Interval::Day),
        )
        .unwrap(),
        kpi::Query::new(
            t0() + TimeDelta::days(2),
            t0() + TimeDelta::days(9),
            Some(kpi::Dim::Channel),
            Some(kpi::Interval::Week),
        )
        .unwrap(),
    ];
    let check = |facts: Vec<kpi::Fact>, when: &'static str| {
        let s = s.clone();
        let queries = queries.clone();
        async move {
            for q in &queries {
                let want = expected_report(q, &facts);
                // Twice: the first report may count days again, the second reads rollups.
                for round in 0..2 {
                    let got = s.kpi_report(q).await.unwrap();
                    assert_eq!(got, want, "{when}, round {round}, {q:?}");
                }
            }
        }
    };
    check(facts.clone(), "first written").await;

    // A fact added to day 3, one rewritten in place on day 4, one moved from day 5 to day 6.
    let mut added = facts[0].clone();
    added.key = "added".into();
    added.at = t0() + TimeDelta::days(3) + TimeDelta::hours(2);
    let i = facts.iter().position(|f| f.key == "4-0").unwrap();
    facts[i].secs = facts[i].secs.map(|x| x + 7);
    facts[i].score = Some(5);
    facts[i].breached = !facts[i].breached;
    let j = facts.iter().position(|f| f.key == "5-1").unwrap();
    facts[j].at += TimeDelta::days(1);
    let changed = vec![added.clone(), facts[i].clone(), facts[j].clone()];
    facts.push(added);
    s.put_facts(&changed, false).await.unwrap();
    check(facts.clone(), "after changes").await;

    s.put_facts(&[], true).await.unwrap();
    check(Vec::new(), "after clearing").await;
}

// ---------------------------------------------------------------------------------------------
// What the admin console reads
// ---------------------------------------------------------------------------------------------

/// An event of `ticket` (its JSON, `id` added) with a message when `text` is given.
fn ticket_event(
    id: &str,
    kind: EventType,
    ticket: &str,
    v: serde_json::Value,
    text: Option<&str>,
) -> Event {
    let mut t = v;
    t["id"] = json!(ticket);
    let mut e = json!({"id": id, "type": kind.to_string(), "ticket": t});
    if let Some(text) = text {
        e["message"] = json!({ "text": text });
    }
    Event::from_value(e).unwrap()
}

/// Applies `e`, arrived at `at`, with a decision that leaves the ticket exactly as the event
/// carries it and produces `actions` and `timers`.
async fn put(
    s: &Arc<dyn Store>,
    e: &Event,
    at: DateTime<Utc>,
    actions: Vec<Action>,
    timers: Vec<TimerSpec>,
) -> Applied {
    let decided = e.clone();
    s.apply(
        e.clone(),
        store::fingerprint(e),
        at,
        Box::new(move |_prior: Option<Ticket>| Decision {
            event_id: decided.id.clone(),
            actions,
            ticket: decided.ticket.clone(),
            timers,
            cancelled_timers: Vec::new(),
            trace: Default::default(),
            routing: Default::default(),
            kpi: Vec::new(),
            fired_actions: Vec::new(),
        }),
    )
    .await
    .unwrap()
}

/// A ticket as the search test holds it beside the store: the ticket, when it was last
/// decided, and its messages' texts.
struct Held {
    ticket: Ticket,
    at: DateTime<Utc>,
    texts: Vec<String>,
}

/// What a search must find, worked out over the held tickets without the store's keys.
fn wanted(held: &[Held], q: &store::TicketQuery) -> Vec<String> {
    let has = |hay: &str, needle: &str| hay.to_lowercase().contains(&needle.to_lowercase());
    let mut found: Vec<&Held> = held
        .iter()
        .filter(|h| {
            let t = &h.ticket;
            let c = &t.customer;
            q.status.is_none_or(|s| t.status == s)
                && q.priority.is_none_or(|p| t.priority == p)
                && q.channel.is_none_or(|ch| t.channel == ch)
                && q.group.as_ref().is_none_or(|g| t.group.as_ref() == Some(g))
                && q.assignee
                    .as_ref()
                    .is_none_or(|a| t.assignee.as_ref() == Some(a))
                && q.tag.as_ref().is_none_or(|tag| {
                    t.tags
                        .iter()
                        .any(|x| x.to_lowercase() == tag.to_lowercase())
                })
                && q.customer.as_ref().is_none_or(|n| {
                    [&c.id, &c.email, &c.name]
                        .iter()
                        .any(|f| f.as_deref().is_some_and(|f| has(f, n)))
                })
                && q.text
                    .as_ref()
                    .is_none_or(|n| has(&t.subject, n) || h.texts.iter().any(|x| has(x, n)))
                && (!q.open_only || !matches!(t.status, Status::Solved | Status::Closed))
        })
        .collect();
    found.sort_by(|a, b| (b.at, &b.ticket.id).cmp(&(a.at, &a.ticket.id)));
    found.iter().map(|h| h.ticket.id.clone()).collect()
}

/// Every page of a search with pages of `limit`, walked with the keyset cursor.
async fn pages(s: &Arc<dyn Store>, q: &store::TicketQuery, limit: u32) -> Vec<String> {
    let mut q = store::TicketQuery {
        limit,
        after: None,
        ..q.clone()
    };
    let mut ids = Vec::new();
    for _ in 0..100 {
        let rows = s.search_tickets(&q).await.unwrap();
        assert!(rows.len() <= limit as usize);
        let Some(last) = rows.last() else {
            return ids;
        };
        q.after = Some((last.updated_at, last.ticket.id.clone()));
        ids.extend(rows.into_iter().map(|r| r.ticket.id));
    }
    panic!("the pages do not end");
}

/// The seeded tickets of the search test: (id, minutes after t0 it was last decided, ticket,
/// message texts). T06 and T07 were decided at the same time.
fn seeded() -> Vec<(&'static str, i64, serde_json::Value, Vec<&'static str>)> {
    vec![
        (
            "T01",
            1,
            json!({"subject": "Refund for order 1234", "status": "open", "priority": "high",
            "channel": "email", "group": "billing", "assignee": "a1", "tags": ["VIP", "refund"],
            "customer": {"id": "C1", "email": "kari@example.no", "name": "Kari Nordmann", "language": "nb"}}),
            vec!["I want my money back"],
        ),
        (
            "T02",
            2,
            json!({"subject": "Pakken kom Ødelagt", "status": "new", "channel": "web",
            "group": "returns", "tags": ["damaged"],
            "customer": {"name": "Øyvind Ås", "email": "oyvind@example.no"}}),
            vec!["Esken var KNUST"],
        ),
        (
            "T03",
            3,
            json!({"subject": "Login fails", "status": "solved", "priority": "urgent",
            "channel": "chat", "group": "tech", "assignee": "a2", "tags": ["vip-lounge"],
            "customer": {"email": "bob@example.com"}}),
            vec!["Password reset does not arrive", "Still nothing"],
        ),
        (
            "T04",
            4,
            json!({"status": "pending", "priority": "low", "channel": "phone",
            "group": "billing", "assignee": "a1", "customer": {"id": "C4"}}),
            vec!["Where is my REFUND?"],
        ),
        (
            "T05",
            5,
            json!({"subject": "Invoice copy", "status": "closed", "channel": "email",
            "group": "billing", "assignee": "a2", "tags": ["Refund"],
            "customer": {"name": "Kari Hansen"}}),
            vec![],
        ),
        (
            "T06",
            6,
            json!({"subject": "Parcel late", "status": "open", "channel": "email",
            "group": "returns", "assignee": "a3", "tags": ["vip"],
            "customer": {"email": "sam@example.org"}}),
            vec!["tracking says delivered", r#"code 50%_off "quoted" \ here"#],
        ),
        (
            "T07",
            6,
            json!({"subject": "Parcel lost", "status": "on_hold", "priority": "high",
            "channel": "email", "group": "returns", "assignee": "a3",
            "customer": {"email": "sam@example.org"}}),
            vec!["no news", "وين الفاتورة؟ وبالفاتورة خطأ"],
        ),
        (
            "T08",
            8,
            json!({"subject": "Kan ikke logge inn", "status": "open", "priority": "urgent",
            "channel": "chat", "group": "tech", "customer": {"name": "Åse Berg"}}),
            vec!["Passordet virker ikke"],
        ),
    ]
}

/// Searches find what every filter given asks for, newest first with ties by id, page after
/// page; text is compared in lower case beyond ASCII, tags as whole tags; the keys follow the
/// ticket when a later decision changes it.
async fn ticket_search_filters_and_pages(s: Arc<dyn Store>) {
    use frontdesk::model::{Channel, Priority};
    use frontdesk::store::TicketQuery;
    let mut held = Vec::new();
    for (id, minutes, ticket, texts) in seeded() {
        let at = t0() + TimeDelta::minutes(minutes);
        let mut ticket_texts = Vec::new();
        for (n, text) in std::iter::once(None)
            .chain(texts.iter().map(Some))
            .enumerate()
        {
            let kind = if n == 0 {
                EventType::TicketCreated
            } else {
                EventType::MessageCreated
            };
            let e = ticket_event(
                &format!("{id}-{n}"),
                kind,
                id,
                ticket.clone(),
                text.copied(),
            );
            put(&s, &e, at, Vec::new(), Vec::new()).await;
            ticket_texts.extend(text.map(|t| t.to_string()));
        }
        let mut t = ticket.clone();
        t["id"] = json!(id);
        held.push(Held {
            ticket: serde_json::from_value(t).unwrap(),
            at,
            texts: ticket_texts,
        });
    }
    let q = |f: fn(&mut TicketQuery)| {
        let mut q = TicketQuery {
            limit: 100,
            ..TicketQuery::default()
        };
        f(&mut q);
        q
    };
    let queries = [
        q(|_| {}),
        q(|q| q.status = Some(Status::Open)),
        q(|q| q.status = Some(Status::OnHold)),
        q(|q| q.priority = Some(Priority::Urgent)),
        q(|q| q.priority = Some(Priority::Normal)),
        q(|q| q.channel = Some(Channel::Email)),
        q(|q| q.channel = Some(Channel::Sms)),
        q(|q| q.group = Some("billing".into())),
        q(|q| q.group = Some("Billing".into())),
        q(|q| q.assignee = Some("a1".into())),
        q(|q| q.assignee = Some("a3".into())),
        q(|q| q.tag = Some("vip".into())),
        q(|q| q.tag = Some("REFUND".into())),
        q(|q| q.tag = Some("vip-lounge".into())),
        q(|q| q.tag = Some("ref".into())),
        q(|q| q.customer = Some("kari".into())),
        q(|q| q.customer = Some("EXAMPLE.NO".into())),
        q(|q| q.customer = Some("c4".into())),
        q(|q| q.customer = Some("øyvind ås".into())),
        q(|q| q.customer = Some("no\nkari".into())),
        q(|q| q.text = Some("refund".into())),
        q(|q| q.text = Some("ødelagt".into())),
        q(|q| q.text = Some("knust".into())),
        q(|q| q.text = Some("PASS".into())),
        q(|q| q.text = Some("logge inn".into())),
        q(|q| q.text = Some("nothing at all".into())),
        // Words of messages: through the store's trigram index where it has one, each letter
        // as itself (no wildcards, no query syntax), two letters without the index.
        q(|q| q.text = Some("says deliv".into())),
        q(|q| q.text = Some("50%_off".into())),
        q(|q| q.text = Some("%".into())),
        q(|q| q.text = Some("_".into())),
        q(|q| q.text = Some("0%_".into())),
        q(|q| q.text = Some("5_%".into())),
        q(|q| q.text = Some(r#""quoted""#.into())),
        q(|q| q.text = Some(r#"" \ h"#.into())),
        q(|q| q.text = Some("الفاتورة".into())),
        q(|q| q.text = Some("فاتورة".into())),
        q(|q| q.text = Some("ke".into())),
        q(|q| q.text = Some("r".into())),
        q(|q| q.text = Some("no news said".into())),
        q(|q| q.text = Some("etterpå".into())),
        q(|q| q.text = Some("message 51".into())),
        q(|q| q.text = Some("nothing AND news".into())),
        q(|q| q.customer = Some("%".into())),
        q(|q| q.customer = Some("_@".into())),
        q(|q| q.tag = Some("%".into())),
        q(|q| q.open_only = true),
        q(|q| {
            q.open_only = true;
            q.group = Some("billing".into());
        }),
        q(|q| {
            q.text = Some("refund".into());
            q.assignee = Some("a1".into());
        }),
        q(|q| {
            q.tag = Some("vip".into());
            q.channel = Some(Channel::Email);
            q.open_only = true;
        }),
    ];
    let check = |held: &[Held], label: &str| {
        let s = s.clone();
        let queries = queries.clone();
        let wants: Vec<Vec<String>> = queries.iter().map(|q| wanted(held, q)).collect();
        let label = label.to_string();
        async move {
            for (q, want) in queries.iter().zip(wants) {
                let rows = s.search_tickets(q).await.unwrap();
                let got: Vec<String> = rows.iter().map(|r| r.ticket.id.clone()).collect();
                assert_eq!(got, want, "{label}: {q:?}");
                for limit in [1, 2, 3] {
                    assert_eq!(
                        pages(&s, q, limit).await,
                        want,
                        "{label}: pages of {limit}: {q:?}"
                    );
                }
            }
        }
    };
    check(&held, "seeded").await;

    // Enough messages for the SQLite writer to add what it holds to its message index: the
    // seeded messages are then found through the index, and one written after it directly.
    let filler_at = t0() - TimeDelta::hours(1);
    futures_util::future::join_all((0..frontdesk::store::MESSAGE_INDEX_BATCH).map(|i| {
        let s = s.clone();
        async move {
            let e = ticket_event(
                &format!("filler-{i}"),
                EventType::MessageCreated,
                "FILLER",
                json!({"subject": "Many messages", "status": "closed"}),
                Some(&format!("filler message {i}")),
            );
            put(&s, &e, filler_at, Vec::new(), Vec::new()).await;
        }
    }))
    .await;
    held.push(Held {
        ticket: serde_json::from_value(
            json!({"id": "FILLER", "subject": "Many messages", "status": "closed"}),
        )
        .unwrap(),
        at: filler_at,
        texts: (0..frontdesk::store::MESSAGE_INDEX_BATCH)
            .map(|i| format!("filler message {i}"))
            .collect(),
    });
    let at = t0() + TimeDelta::minutes(3);
    let e = ticket_event(
        "T03-after",
        EventType::MessageCreated,
        "T03",
        seeded()[2].2.clone(),
        Some("Fant det etterpå"),
    );
    put(&s, &e, at, Vec::new(), Vec::new()).await;
    held.iter_mut()
        .find(|h| h.ticket.id == "T03")
        .unwrap()
        .texts
        .push("Fant det etterpå".into());
    check(&held, "indexed").await;
    // What the reference leaves to the store, spelled out.
    let ids = |q: TicketQuery| {
        let s = s.clone();
        async move {
            s.search_tickets(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.ticket.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(queries[0].clone()).await[..3],
        ["T08", "T07", "T06"],
        "ties by id, descending"
    );
    assert_eq!(
        ids(queries[21].clone()).await,
        ["T02"],
        "Ø and ø are one letter"
    );
    assert_eq!(
        ids(queries[14].clone()).await,
        Vec::<String>::new(),
        "whole tags only"
    );
    assert_eq!(
        ids(queries[19].clone()).await,
        Vec::<String>::new(),
        "no match across fields"
    );
    let text = |t: &str| {
        let q = queries
            .iter()
            .find(|q| q.text.as_deref() == Some(t))
            .unwrap();
        ids(q.clone())
    };
    assert_eq!(text("50%_off").await, ["T06"], "wildcards are letters");
    assert_eq!(
        text("5_%").await,
        Vec::<String>::new(),
        "wildcards are letters"
    );
    assert_eq!(text(r#"" \ h"#).await, ["T06"]);
    assert_eq!(
        text("فاتورة").await,
        ["T07"],
        "inside a word, right to left"
    );
    assert_eq!(text("ke").await, ["T08", "T02"], "two letters");
    let row = &s.search_tickets(&queries[0]).await.unwrap()[7];
    assert_eq!(row.ticket.id, "T01");
    assert_eq!(
        (row.created_at, row.updated_at),
        (t0() + TimeDelta::minutes(1), t0() + TimeDelta::minutes(1))
    );
    assert_eq!(
        row.ticket.customer.language.as_deref(),
        Some("nb"),
        "the whole ticket"
    );

    // Later decisions: T02 solved and untagged, T05 reopened for another team with a new
    // subject, T01 given its creation time by the helpdesk. The keys follow.
    let changes = [
        (
            "T02",
            20,
            json!({"subject": "Pakken kom Ødelagt", "status": "solved", "channel": "web",
            "group": "returns", "tags": [], "customer": {"name": "Øyvind Ås"}}),
        ),
        (
            "T05",
            21,
            json!({"subject": "Second copy", "status": "open", "channel": "email",
            "group": "tech", "assignee": "a1", "tags": ["Refund"], "customer": {"name": "Kari Hansen"}}),
        ),
        (
            "T01",
            22,
            json!({"subject": "Refund for order 1234", "status": "open", "priority": "high",
            "channel": "email", "group": "billing", "assignee": "a1", "tags": ["VIP", "refund"],
            "created_at": "2026-11-01T08:00:00Z",
            "customer": {"id": "C1", "email": "kari@example.no", "name": "Kari Nordmann", "language": "nb"}}),
        ),
    ];
    for (id, minutes, ticket) in changes {
        let at = t0() + TimeDelta::minutes(minutes);
        let e = ticket_event(
            &format!("{id}-later"),
            EventType::TicketUpdated,
            id,
            ticket.clone(),
            None,
        );
        put(&s, &e, at, Vec::new(), Vec::new()).await;
        let h = held.iter_mut().find(|h| h.ticket.id == id).unwrap();
        let mut t = ticket;
        t["id"] = json!(id);
        h.ticket = serde_json::from_value(t).unwrap();
        h.at = at;
    }
    check(&held, "after changes").await;
    assert!(ids(queries[1].clone()).await.contains(&"T05".to_string()));
    let mut by_team = queries[0].clone();
    by_team.group = Some("tech".into());
    assert_eq!(ids(by_team).await, ["T05", "T08", "T03"]);
    let first = &s.search_tickets(&queries[0]).await.unwrap()[0];
    assert_eq!(first.ticket.id, "T01");
    assert_eq!(
        (first.created_at, first.updated_at),
        (
            "2026-11-01T08:00:00Z".parse().unwrap(),
            t0() + TimeDelta::minutes(22)
        ),
        "the helpdesk's creation time once it gives one"
    );
}

/// A ticket's events come back oldest first with their arrival and decisions, the newest when
/// capped; its outbox rows in every state, newest first; nobody else's.
async fn ticket_events_and_outbox(s: Arc<dyn Store>) {
    for n in 0..5 {
        let e = ticket_event(
            &format!("a{n}"),
            EventType::MessageCreated,
            "A",
            json!({}),
            Some("hi"),
        );
        let actions = if n % 2 == 0 {
            vec![webhook()]
        } else {
            Vec::new()
        };
        put(&s, &e, t0() + secs(n), actions, Vec::new()).await;
        let e = ticket_event(
            &format!("b{n}"),
            EventType::MessageCreated,
            "B",
            json!({}),
            None,
        );
        put(&s, &e, t0() + secs(n), vec![notify()], Vec::new()).await;
    }
    let events = s.ticket_events("A", 10).await.unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.event.id.as_str()).collect();
    assert_eq!(ids, ["a0", "a1", "a2", "a3", "a4"]);
    for (n, e) in events.iter().enumerate() {
        assert_eq!(e.received_at, t0() + secs(n as i64));
        assert_eq!(
            e.decision.event_id, e.event.id,
            "each with its own decision"
        );
        assert_eq!(e.decision.actions.len(), usize::from(n % 2 == 0));
    }
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    let newest: Vec<String> = s
        .ticket_events("A", 2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.id)
        .collect();
    assert_eq!(newest, ["a3", "a4"], "the newest, oldest first");
    assert!(s.ticket_events("nobody", 10).await.unwrap().is_empty());

    let now = t0() + secs(60);
    let claimed = s
        .claim_deliveries(now, "A", now + secs(60), 100)
        .await
        .unwrap();
    let a0 = claimed.iter().find(|r| r.id == "a0/0").unwrap();
    let dead = DeliveryOutcome::Dead {
        error: "gone".into(),
    };
    assert!(s
        .finish_delivery(&a0.id, a0.attempts, &dead, now)
        .await
        .unwrap());
    let rows = s.ticket_outbox("A", 10).await.unwrap();
    let ids: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.state.as_str()))
        .collect();
    assert_eq!(
        ids,
        [("a4/0", "pending"), ("a2/0", "pending"), ("a0/0", "dead")]
    );
    assert_eq!(s.ticket_outbox("A", 1).await.unwrap()[0].id, "a4/0");
    assert!(s.ticket_outbox("nobody", 10).await.unwrap().is_empty());
}

/// The outbox page by page (all rows, one state), counted by state.
async fn outbox_pages_and_counts(s: Arc<dyn Store>) {
    for n in 0..7 {
        let e = ticket_event(
            &format!("o{n}"),
            EventType::MessageCreated,
            &format!("T{n}"),
            json!({}),
            None,
        );
        put(&s, &e, t0() + secs(n), vec![webhook()], Vec::new()).await;
    }
    let now = t0() + secs(60);
    let claimed = s
        .claim_deliveries(now, "A", now + secs(60), 3)
        .await
        .unwrap();
    let outcomes = [
        DeliveryOutcome::Delivered,
        DeliveryOutcome::Dead { error: "no".into() },
        DeliveryOutcome::Dead { error: "no".into() },
    ];
    for (row, outcome) in claimed.iter().zip(&outcomes) {
        assert!(s
            .finish_delivery(&row.id, row.attempts, outcome, now)
            .await
            .unwrap());
    }
    let counts = s.outbox_counts().await.unwrap();
    let counts: Vec<(&str, i64)> = counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(counts, [("dead", 2), ("delivered", 1), ("pending", 4)]);

    for state in [None, Some("pending"), Some("dead"), Some("delivered")] {
        let all: Vec<String> = s
            .outbox(state, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(
            all.len() as i64,
            counts
                .iter()
                .filter(|c| state.is_none_or(|s| s == c.0))
                .map(|c| c.1)
                .sum::<i64>()
        );
        for limit in [1, 2, 3] {
            let mut after: Option<String> = None;
            let mut got = Vec::new();
            loop {
                let page = s.outbox_page(state, after.as_deref(), limit).await.unwrap();
                assert!(page.len() <= limit as usize);
                if let Some(r) = page.iter().find(|r| state.is_some_and(|s| s != r.state)) {
                    panic!("{r:?} is not {state:?}");
                }
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                got.extend(page.into_iter().map(|r| r.id));
            }
            assert_eq!(got, all, "{state:?} in pages of {limit}");
        }
    }
    assert_eq!(
        s.outbox(None, 100).await.unwrap()[0].id,
        "o6/0",
        "newest first"
    );
    assert!(s
        .outbox_page(None, Some("no such row"), 10)
        .await
        .unwrap()
        .is_empty());
}

/// A ticket JSON with SLA clocks (`clocks`: metric → clock).
fn with_sla(status: &str, clocks: serde_json::Value) -> serde_json::Value {
    let mut sla = json!({"policy": "standard"});
    sla.as_object_mut()
        .unwrap()
        .extend(clocks.as_object().unwrap().clone());
    json!({"subject": "help", "status": status, "priority": "high", "group": "tech",
           "assignee": "a1", "sla": sla})
}

/// A running clock due at `due`, its timer at `timer_at`.
fn running(due: DateTime<Utc>, timer_at: DateTime<Utc>) -> serde_json::Value {
    json!({"started_at": t0() - secs(3600), "target_secs": 7200, "elapsed_secs": 0,
           "running_since": t0() - secs(3600), "due_at": due, "timer_at": timer_at})
}

/// The SLA board's reads: pending `sla:` timers due in the window with their tickets, soonest
/// first; open tickets with a breach still running or recent, the latest breach first.
async fn sla_timers_and_breaches(s: Arc<dyn Store>) {
    let h = |n: i64| t0() + secs(n * 3600);
    let sla_timer = |metric: &str, due| TimerSpec {
        name: format!("sla:{metric}"),
        rule: "sla standard".into(),
        due_at: due,
        cancel_on: Vec::new(),
    };
    // (ticket, clocks, its timers)
    let cases = [
        (
            "D1",
            json!({"first_response": running(h(2), h(1))}),
            vec![sla_timer("first_response", h(1)), timer("nudge", h(1), &[])],
        ),
        (
            "D2",
            json!({"resolution": running(h(3), h(3))}),
            vec![sla_timer("resolution", h(3))],
        ),
        (
            "D3",
            json!({"first_response": running(h(9), h(9))}),
            vec![sla_timer("first_response", h(9))],
        ),
        (
            "D4",
            json!({"first_response": running(h(1), h(1))}),
            vec![sla_timer("first_response", h(1))],
        ),
    ];
    for (id, clocks, timers) in cases {
        let e = ticket_event(
            &format!("{id}-1"),
            EventType::TicketCreated,
            id,
            with_sla("open", clocks),
            None,
        );
        put(&s, &e, t0(), Vec::new(), timers).await;
    }
    // D4's clock moved on: its timer is replaced (the old one cancelled), now due in 2 h.
    let e = ticket_event(
        "D4-2",
        EventType::TicketUpdated,
        "D4",
        with_sla("open", json!({"first_response": running(h(2), h(2))})),
        None,
    );
    put(
        &s,
        &e,
        t0(),
        Vec::new(),
        vec![sla_timer("first_response", h(2))],
    )
    .await;

    let due = s.sla_timers_due(t0(), h(4), 10).await.unwrap();
    let got: Vec<(&str, &str, DateTime<Utc>)> = due
        .iter()
        .map(|r| (r.ticket.id.as_str(), r.timer.name.as_str(), r.timer.due_at))
        .collect();
    assert_eq!(
        got,
        [
            ("D1", "sla:first_response", h(1)),
            ("D4", "sla:first_response", h(2)),
            ("D2", "sla:resolution", h(3))
        ],
        "SLA timers only, pending, in the window, soonest first"
    );
    assert_eq!(
        due[0].ticket.group.as_deref(),
        Some("tech"),
        "with the ticket"
    );
    assert!(due[0].ticket.sla.as_ref().unwrap().first_response.is_some());
    assert_eq!(s.sla_timers_due(t0(), h(4), 1).await.unwrap().len(), 1);
    assert_eq!(
        s.sla_timers_due(h(2), h(2), 10).await.unwrap()[0].ticket.id,
        "D4",
        "both ends included"
    );
    assert!(s.sla_timers_due(h(10), h(20), 10).await.unwrap().is_empty());

    let breached = |at: DateTime<Utc>, running: bool| {
        let mut c = json!({"started_at": at - secs(7200), "target_secs": 7200, "elapsed_secs": 7200,
                           "due_at": at, "breached": true, "breached_at": at});
        if running {
            c["running_since"] = json!(at - secs(7200));
        } else {
            c["achieved_at"] = json!(at + secs(60));
        }
        c
    };
    let cases = [
        (
            "B1",
            "open",
            json!({"first_response": breached(h(-30), true)}),
        ),
        (
            "B2",
            "pending",
            json!({"first_response": breached(h(-40), false), "resolution": breached(h(-2), false)}),
        ),
        (
            "B3",
            "open",
            json!({"first_response": breached(h(-30), false)}),
        ),
        (
            "B4",
            "solved",
            json!({"first_response": breached(h(-1), true)}),
        ),
        ("B5", "open", json!({"first_response": running(h(2), h(1))})),
        ("B6", "new", json!({"next_response": breached(h(-3), true)})),
    ];
    for (id, status, clocks) in cases {
        let e = ticket_event(
            &format!("{id}-1"),
            EventType::TicketCreated,
            id,
            with_sla(status, clocks),
            None,
        );
        put(&s, &e, t0(), Vec::new(), Vec::new()).await;
    }
    let ids = |v: Vec<Ticket>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.sla_breached(h(-24), 10).await.unwrap()),
        ["B2", "B6", "B1"],
        "open, breached within the day or still running, the latest breach first"
    );
    assert_eq!(ids(s.sla_breached(h(-24), 1).await.unwrap()), ["B2"]);
    assert_eq!(
        ids(s.sla_breached(h(-2), 10).await.unwrap()),
        ["B2", "B6", "B1"]
    );
    assert_eq!(ids(s.sla_breached(h(0), 10).await.unwrap()), ["B6", "B1"]);
    // B1 is answered late: its clock stops, and it leaves the board.
    let e = ticket_event(
        "B1-2",
        EventType::MessageCreated,
        "B1",
        with_sla("open", json!({"first_response": breached(h(-30), false)})),
        Some("sorry"),
    );
    put(&s, &e, t0(), Vec::new(), Vec::new()).await;
    assert_eq!(ids(s.sla_breached(h(-24), 10).await.unwrap()), ["B2", "B6"]);
}

/// The live counters, each one query, against what was written.
async fn live_counts(s: Arc<dyn Store>) {
    use frontdesk::store::Count;
    let count = |c| {
        let s = s.clone();
        async move { s.count(c).await.unwrap() }
    };
    assert_eq!(count(Count::OpenTickets).await, 0);
    assert_eq!(count(Count::EventsSince(t0())).await, 0);
    for n in 0..6 {
        let status = if n < 2 { "solved" } else { "open" };
        let e = ticket_event(
            &format!("c{n}"),
            EventType::TicketCreated,
            &format!("T{n}"),
            json!({"status": status}),
            None,
        );
        let timers = vec![timer("nudge", t0() + secs(60 * n), &[])];
        put(&s, &e, t0() + secs(10 * n), vec![webhook()], timers).await;
    }
    assert_eq!(count(Count::EventsSince(t0())).await, 6);
    assert_eq!(count(Count::EventsSince(t0() + secs(30))).await, 3);
    assert_eq!(count(Count::EventsSince(t0() + secs(51))).await, 0);
    assert_eq!(count(Count::OpenTickets).await, 4);
    assert_eq!(count(Count::TimersPending).await, 6);
    assert_eq!(count(Count::TimersDue(t0() + secs(120))).await, 3);
    assert_eq!(count(Count::TimersDue(t0() - secs(1))).await, 0);
    assert_eq!(count(Count::Outbox("pending")).await, 6);
    let now = t0() + secs(100);
    let claimed = s
        .claim_deliveries(now, "A", now + secs(60), 2)
        .await
        .unwrap();
    for r in &claimed {
        let dead = DeliveryOutcome::Dead { error: "no".into() };
        s.finish_delivery(&r.id, r.attempts, &dead, now)
            .await
            .unwrap();
    }
    assert_eq!(count(Count::Outbox("pending")).await, 4);
    assert_eq!(count(Count::Outbox("dead")).await, 2);
    assert_eq!(count(Count::Outbox("delivered")).await, 0);
    let fired = s
        .claim_due_timers(t0() + secs(60), "A", t0() + secs(120), 10)
        .await
        .unwrap();
    for t in &fired {
        let e = fired_event(&t.row);
        put(&s, &e, t0() + secs(61), Vec::new(), Vec::new()).await;
    }
    assert_eq!(count(Count::TimersPending).await, 4);
    assert_eq!(count(Count::TimersDue(t0() + secs(120))).await, 1);
}

/// The `timer.fired` event of a claimed timer.
fn fired_event(t: &store::TimerRow) -> Event {
    fired(&t.id, &t.name, &t.ticket_id, t.due_at)
}

/// Tickets and events stored before the search keys existed are found after the upgrade:
/// the migration fills the keys from each ticket's JSON and each event's message.
async fn stored_before_the_keys(url: &str, pg: Option<&common::PgSchema>) {
    use sqlx::migrate::Migrator;
    // Every migration before the one that adds the keys, run as an older frontdesk did.
    let (dir, last_before) = match pg {
        Some(_) => ("migrations/postgres", 14),
        None => ("migrations/sqlite", 15),
    };
    let mut old = Migrator::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .await
        .unwrap();
    old.migrations = old
        .migrations
        .iter()
        .filter(|m| m.version <= last_before)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    let ticket: Ticket = serde_json::from_value(json!({
        "id": "OLD1", "subject": "Gammel SAK", "status": "pending", "priority": "urgent",
        "channel": "email", "group": "billing", "assignee": "a1", "tags": ["VIP", "Refund"],
        "created_at": "2026-10-01T09:30:00Z",
        "customer": {"id": "C9", "email": "Kari@Example.no", "name": "Kari Nordmann"},
        "sla": {"policy": "standard",
                "first_response": {"started_at": "2026-10-01T09:30:00Z", "target_secs": 3600,
                    "elapsed_secs": 3600, "running_since": "2026-10-01T09:30:00Z",
                    "due_at": "2026-10-01T10:30:00Z", "breached": true,
                    "breached_at": "2026-10-01T10:30:00Z"}}
    }))
    .unwrap();
    let updated = t0() - secs(3600);
    let closed: Ticket = serde_json::from_value(json!({"id": "OLD2", "status": "closed"})).unwrap();
    let bare: Ticket = serde_json::from_value(json!({"id": "OLD3", "status": "solved"})).unwrap();
    let state = serde_json::to_string(&ticket).unwrap();
    let closed_state = serde_json::to_string(&closed).unwrap();
    let bare_state = serde_json::to_string(&bare).unwrap();
    let tickets = [
        ("OLD1", &state, true),
        ("OLD2", &closed_state, false),
        ("OLD3", &bare_state, false),
    ];
    let event = json!({"id": "old-e1", "type": "message.created", "ticket": {"id": "OLD1"},
                       "message": {"text": "Where is my PARCEL?"}})
    .to_string();
    // OLD1's message, and a message-less event of OLD2 (its first: when it was created).
    let events = [
        ("old-e1", "OLD1", event.clone(), updated - secs(60)),
        (
            "old-e2",
            "OLD2",
            json!({"id": "old-e2", "type": "ticket.created", "ticket": {"id": "OLD2"}}).to_string(),
            updated - secs(120),
        ),
    ];
    match pg {
        Some(schema) => {
            let pool = schema.pool().await;
            old.run(&pool).await.unwrap();
            for (id, state, open) in tickets {
                sqlx::query("INSERT INTO tickets (id, state, version, updated_at, assignee, channel, is_open) VALUES ($1, $2, 1, $3, NULL, 'email', $4)")
                    .bind(id).bind(state).bind(updated).bind(open)
                    .execute(&pool).await.unwrap();
            }
            for (id, ticket, event, at) in &events {
                sqlx::query("INSERT INTO events (id, ticket_id, type, fingerprint, received_at, event, decision) VALUES ($1, $2, 'message.created', 'fp', $3, $4, '{}')")
                    .bind(id).bind(ticket).bind(at).bind(event)
                    .execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        None => {
            let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
                .await
                .unwrap();
            old.run(&pool).await.unwrap();
            let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            for (id, state, open) in tickets {
                sqlx::query("INSERT INTO tickets (id, state, version, updated_at, assignee, channel, is_open) VALUES (?1, ?2, 1, ?3, NULL, 'email', ?4)")
                    .bind(id).bind(state).bind(ts(updated)).bind(open)
                    .execute(&pool).await.unwrap();
            }
            for (id, ticket, event, at) in &events {
                sqlx::query("INSERT INTO events (id, ticket_id, type, fingerprint, received_at, event, decision) VALUES (?1, ?2, 'message.created', 'fp', ?3, ?4, '{}')")
                    .bind(id).bind(ticket).bind(ts(*at)).bind(event)
                    .execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
    let s = store::open(url).await.unwrap();
    let find = |f: fn(&mut store::TicketQuery)| {
        let s = s.clone();
        let mut q = store::TicketQuery {
            limit: 10,
            ..Default::default()
        };
        f(&mut q);
        async move {
            s.search_tickets(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.ticket.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find(|_| {}).await,
        ["OLD3", "OLD2", "OLD1"],
        "stored at the same time: by id"
    );
    assert_eq!(find(|q| q.status = Some(Status::Pending)).await, ["OLD1"]);
    assert_eq!(
        find(|q| q.priority = Some(frontdesk::model::Priority::Urgent)).await,
        ["OLD1"]
    );
    assert_eq!(find(|q| q.group = Some("billing".into())).await, ["OLD1"]);
    assert_eq!(find(|q| q.tag = Some("refund".into())).await, ["OLD1"]);
    assert_eq!(
        find(|q| q.customer = Some("kari@example".into())).await,
        ["OLD1"]
    );
    assert_eq!(
        find(|q| q.text = Some("gammel sak".into())).await,
        ["OLD1"],
        "the subject"
    );
    assert_eq!(
        find(|q| q.text = Some("parcel".into())).await,
        ["OLD1"],
        "a message"
    );
    assert_eq!(find(|q| q.open_only = true).await, ["OLD1"]);
    let rows = s
        .search_tickets(&store::TicketQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let created: Vec<DateTime<Utc>> = rows.iter().map(|r| r.created_at).collect();
    assert_eq!(
        created,
        [
            updated,
            updated - secs(120),
            "2026-10-01T09:30:00Z".parse().unwrap()
        ],
        "the helpdesk's time, else the first event's arrival, else when it was stored"
    );
    let breached: Vec<String> = s
        .sla_breached(t0(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(breached, ["OLD1"], "a breached clock still running");
    assert_eq!(s.count(store::Count::OpenTickets).await.unwrap(), 1);
    // The next decision writes the keys as frontdesk folds them.
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_before_the_keys_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    stored_before_the_keys(&url, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_before_the_keys_postgres() {
    let Some(schema) = common::PgSchema::create("oldkeys").await else {
        return;
    };
    stored_before_the_keys(&schema.url.clone(), Some(&schema)).await;
}

// ---------------------------------------------------------------------------------------------
// What the admin console reads, through the desk
// ---------------------------------------------------------------------------------------------

const CONSOLE_PACK: &str = r#"
sla:
  - name: standard
    first_response: { normal: 4h, urgent: 1h }
    warn_at: 50%
rules:
  - name: tell the hook
    on: ticket.created
    then:
      - webhook: { url: "http://127.0.0.1:9/hook" }
"#;

/// The desk's views over a store on which the example decisions ran: an SLA pack, tickets
/// created at different times and timers fired as the clock moves.
async fn console_views(url: &str) {
    use frontdesk::model::Metric;
    use frontdesk::service::views::{SlaAnnouncement, TicketFilter, MAX_PAGE, TIMELINE_EVENTS};
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("r.yaml"), CONSOLE_PACK).unwrap();
    let d = common::Daemon::with()
        .rules(&rules)
        .store(url)
        .start()
        .await;
    let desk = d.running.state.clone();
    let h = |n: f64| t0() + TimeDelta::seconds((n * 3600.0) as i64);
    let process = |id: &str, ticket: serde_json::Value, message: Option<serde_json::Value>| {
        let mut e = json!({"id": id, "type": if message.is_some() { "message.created" } else { "ticket.created" }, "ticket": ticket});
        if let Some(m) = message {
            e["message"] = m;
        }
        let desk = desk.clone();
        async move {
            desk.process(Event::from_value(e).unwrap(), None, false)
                .await
                .unwrap()
        }
    };
    // late: due 4 h after it came, never answered. met: answered in 30 min. breach: warned
    // an hour ago, breaches in an hour. warn: came now, warned in 2 h.
    d.clock.set(h(-6.0));
    process(
        "late-1",
        json!({"id": "late", "subject": "No answer"}),
        None,
    )
    .await;
    d.clock.set(h(-5.0));
    process("met-1", json!({"id": "met"}), None).await;
    d.clock.set(h(-4.5));
    process(
        "met-2",
        json!({"id": "met"}),
        Some(json!({"text": "On it", "author": "agent"})),
    )
    .await;
    d.clock.set(h(-3.0));
    process(
        "breach-1",
        json!({"id": "breach", "subject": "Soon late", "group": "tech", "assignee": "a1"}),
        None,
    )
    .await;
    d.clock.set(t0());
    assert_eq!(frontdesk::server::fire_due_timers(&desk).await, 2);
    process("warn-1", json!({"id": "warn", "subject": "Fresh"}), None).await;

    let board = desk.sla_board(t0(), TimeDelta::hours(3)).await.unwrap();
    let due: Vec<(&str, Metric, SlaAnnouncement, DateTime<Utc>)> = board
        .due
        .iter()
        .map(|r| (r.ticket_id.as_str(), r.metric, r.announces, r.due_at))
        .collect();
    assert_eq!(
        due,
        [
            (
                "breach",
                Metric::FirstResponse,
                SlaAnnouncement::Breach,
                h(1.0)
            ),
            (
                "warn",
                Metric::FirstResponse,
                SlaAnnouncement::Warning,
                h(2.0)
            ),
        ]
    );
    let first = &board.due[0];
    assert_eq!(
        (
            first.subject.as_str(),
            first.group.as_deref(),
            first.assignee.as_deref(),
            first.target_at
        ),
        ("Soon late", Some("tech"), Some("a1"), Some(h(1.0)))
    );
    assert_eq!(
        desk.sla_board(t0(), TimeDelta::hours(1))
            .await
            .unwrap()
            .due
            .len(),
        1
    );
    let breached: Vec<&str> = board
        .breached
        .iter()
        .map(|b| b.ticket_id.as_str())
        .collect();
    assert_eq!(breached, ["late"]);
    let late = &board.breached[0];
    assert_eq!(
        (late.subject.as_str(), late.breached_at),
        ("No answer", Some(h(-2.0)))
    );
    assert_eq!(late.clocks.len(), 1);
    assert_eq!(
        (late.clocks[0].metric, late.clocks[0].running),
        (Metric::FirstResponse, true)
    );
    // A day and more later, the late ticket is still on the board while its clock runs; once
    // answered it leaves it.
    let later = desk.sla_board(h(30.0), TimeDelta::hours(1)).await.unwrap();
    assert_eq!(
        later
            .breached
            .iter()
            .map(|b| b.ticket_id.as_str())
            .collect::<Vec<_>>(),
        ["late"]
    );
    process(
        "late-2",
        json!({"id": "late"}),
        Some(json!({"text": "Sorry", "author": "agent"})),
    )
    .await;
    assert_eq!(
        desk.sla_board(t0(), TimeDelta::hours(3))
            .await
            .unwrap()
            .breached[0]
            .ticket_id,
        "late"
    );
    assert!(desk
        .sla_board(h(30.0), TimeDelta::hours(1))
        .await
        .unwrap()
        .breached
        .is_empty());

    let counters = desk.live_counters(t0()).await.unwrap();
    assert_eq!(
        (
            counters.at,
            counters.events_last_minute,
            counters.timers_pending,
            counters.timers_due
        ),
        (t0(), 4, 2, 0),
        "two timers fired, a ticket created and an answer now; the two timers of the board"
    );
    assert_eq!(
        (
            counters.outbox_pending,
            counters.outbox_dead,
            counters.open_tickets
        ),
        (4, 0, 4),
        "one delivery per ticket created"
    );
    assert_eq!(desk.live_counters(h(2.0)).await.unwrap().timers_due, 2);
    assert_eq!(
        desk.live_counters(h(2.0)).await.unwrap().events_last_minute,
        0
    );
    assert_eq!(
        desk.outbox_counts().await.unwrap(),
        [("pending".to_string(), 4)]
    );
    let page = desk.outbox_page(Some("pending"), None, 3).await.unwrap();
    assert_eq!(page.rows.len(), 3);
    let rest = desk
        .outbox_page(Some("pending"), page.next.as_deref(), 3)
        .await
        .unwrap();
    assert_eq!((rest.rows.len(), rest.next), (1, None));
    assert_eq!(rest.rows[0].ticket_id, "late", "the oldest last");
    assert_eq!(
        desk.outbox_page(None, Some(""), 10)
            .await
            .unwrap()
            .rows
            .len(),
        4,
        "an empty cursor: the first page"
    );
    let e = desk.outbox_page(Some("lost"), None, 3).await.unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        (frontdesk::service::Code::InvalidQuery, Some("state"))
    );

    // The timeline of the late ticket: its events with their decisions, its outbox row.
    let t = desk.timeline("late").await.unwrap().unwrap();
    assert_eq!(t.record.ticket.id, "late");
    let events: Vec<(&str, DateTime<Utc>)> = t
        .events
        .iter()
        .map(|e| (e.event.id.as_str(), e.received_at))
        .collect();
    assert_eq!(events[0], ("late-1", h(-6.0)));
    assert_eq!(events[2], ("late-2", t0()));
    assert!(events[1].0.starts_with("timer:"), "{events:?}");
    assert_eq!(
        t.events[1].decision.trace.fired,
        ["sla first_response breached"]
    );
    assert!(!t.events_cut);
    let outbox: Vec<&str> = t.outbox.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(outbox, ["late-1/0"]);
    assert!(!t.outbox_cut && t.chat.is_none());
    assert!(desk.timeline("nobody").await.unwrap().is_none());

    // A chat's ticket carries its session and transcript.
    open_chat(&desk.store, "s1", "en").await;
    process(
        "chat-1",
        json!({"id": "chat-s1", "channel": "chat"}),
        Some(json!({"text": "hello"})),
    )
    .await;
    let chat = desk
        .timeline("chat-s1")
        .await
        .unwrap()
        .unwrap()
        .chat
        .unwrap();
    assert_eq!((chat.session.id.as_str(), chat.messages.len()), ("s1", 1));
    process("chat-2", json!({"id": "chat-nosession"}), None).await;
    assert!(desk
        .timeline("chat-nosession")
        .await
        .unwrap()
        .unwrap()
        .chat
        .is_none());

    // A long ticket: the newest events only, and the timeline says so.
    let n = TIMELINE_EVENTS as i64 + 1;
    futures_util::future::join_all((0..n).map(|i| {
        let s = desk.store.clone();
        async move {
            let e = ticket_event(
                &format!("long-{i}"),
                EventType::MessageCreated,
                "long",
                json!({}),
                None,
            );
            put(&s, &e, t0() + secs(i), Vec::new(), Vec::new()).await;
        }
    }))
    .await;
    let t = desk.timeline("long").await.unwrap().unwrap();
    assert!(t.events_cut);
    assert_eq!(t.events.len(), TIMELINE_EVENTS as usize);
    assert_eq!(
        (
            t.events[0].event.id.as_str(),
            t.events.last().unwrap().event.id.as_str()
        ),
        ("long-1", "long-500")
    );

    // Searches through the desk: pages follow `next`, the page size has its default and its
    // bound, and a cursor that is not one is refused.
    futures_util::future::join_all((0..205).map(|i| {
        let s = desk.store.clone();
        async move {
            let e = ticket_event(&format!("many-{i}"), EventType::TicketCreated, &format!("M{i:03}"),
                json!({"group": "many", "subject": format!("Ticket {i}"), "customer": {"email": format!("c{i}@example.org")}}), None);
            put(&s, &e, t0() + secs(i), Vec::new(), Vec::new()).await;
        }
    }))
    .await;
    let many = TicketFilter {
        team: Some("many".into()),
        ..TicketFilter::default()
    };
    let first = desk.search_tickets(&many).await.unwrap();
    assert_eq!(first.rows.len(), 50);
    assert_eq!(first.rows[0].id, "M204");
    assert!(first.next.is_some());
    let big = desk
        .search_tickets(&TicketFilter {
            limit: 1000,
            ..many.clone()
        })
        .await
        .unwrap();
    assert_eq!(big.rows.len(), MAX_PAGE as usize);
    let mut seen = Vec::new();
    let mut f = TicketFilter {
        limit: 60,
        ..many.clone()
    };
    loop {
        let page = desk.search_tickets(&f).await.unwrap();
        seen.extend(page.rows.into_iter().map(|r| r.id));
        match page.next {
            Some(next) => f.after = Some(next),
            None => break,
        }
    }
    let want: Vec<String> = (0..205).rev().map(|i| format!("M{i:03}")).collect();
    assert_eq!(
        seen, want,
        "every ticket once, in order, and the last page says it is the last"
    );
    let one = desk
        .search_tickets(&TicketFilter {
            customer: Some(" C17@EXAMPLE ".into()),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert_eq!((one.rows.len(), one.next.as_deref()), (1, None));
    let summary = &one.rows[0];
    assert_eq!(
        (
            summary.id.as_str(),
            summary.subject.as_str(),
            summary.customer.as_deref(),
            summary.group.as_deref()
        ),
        ("M017", "Ticket 17", Some("c17@example.org"), Some("many"))
    );
    assert_eq!(
        (summary.created_at, summary.updated_at),
        (t0() + secs(17), t0() + secs(17))
    );
    let blank = TicketFilter {
        team: Some("  ".into()),
        text: Some(String::new()),
        ..TicketFilter::default()
    };
    assert_eq!(
        desk.search_tickets(&blank).await.unwrap().rows.len(),
        50,
        "blank filters are none"
    );
    let warn = desk
        .search_tickets(&TicketFilter {
            text: Some("fresh".into()),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(warn.rows[0].id, "warn");
    assert_eq!(
        warn.rows[0].sla_next_due,
        Some(h(4.0)),
        "the running clock's due time"
    );
    let e = desk
        .search_tickets(&TicketFilter {
            after: Some("not-a-cursor".into()),
            ..TicketFilter::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        (frontdesk::service::Code::InvalidQuery, Some("after"))
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_views_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    console_views(&format!("sqlite://{}", dir.path().join("fd.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_views_postgres() {
    let Some(schema) = common::PgSchema::create("views").await else {
        return;
    };
    console_views(&schema.url).await;
}

macro_rules! suite {
    (one: [$($one:ident),* $(,)?], two: [$($two:ident),* $(,)?]) => {
        $(mod $one {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let b = super::Backend::sqlite().await;
                super::$one(b.one.clone()).await;
                b.close().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(b) = super::Backend::postgres().await else { return };
                super::$one(b.one.clone()).await;
                b.close().await;
            }
        })*
        $(mod $two {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let b = super::Backend::sqlite().await;
                super::$two(b.one.clone(), b.two.clone()).await;
                b.close().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(b) = super::Backend::postgres().await else { return };
                super::$two(b.one.clone(), b.two.clone()).await;
                b.close().await;
            }
        })*
    };
}

suite! {
    one: [
        apply_once_replay_conflict,
        timer_claim_lease_and_fire_once,
        timer_cancel_on,
        timer_cancel_timers_action,
        timer_cancelled_by_name_and_sla_timers_kept,
        timer_reschedule_replaces,
        schedule_ticket_selection,
        outbox_claim_finish_fencing,
        outbox_helpdesk_targets,
        audit_and_ticket_reads,
        other_writes_go_through_a_flood_of_events,
        routing_state_reads,
        agent_presence_polled_and_manual,
        chat_sessions_and_stats,
        response_samples_recorded_once,
        chat_answers_kept_by_message_id,
        chat_turns_side_by_side_each_whole_or_refused,
        events_read_back_with_their_ticket_as_sent,
        one_event_and_the_ticket_it_was_decided_on,
        kpi_rollups_follow_their_facts,
        ticket_search_filters_and_pages,
        ticket_events_and_outbox,
        outbox_pages_and_counts,
        sla_timers_and_breaches,
        live_counts,
    ],
    two: [
        per_ticket_ordering,
        same_event_through_two_replicas,
        timer_claims_split_between_replicas,
        outbox_rows_are_written_once,
        routing_last_slot_taken_once,
        polled_status_applied_once,
        schedule_runs_once,
        chat_turns_from_a_stale_state,
    ]
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL only: losing the database
// ---------------------------------------------------------------------------------------------

/// Cut off from PostgreSQL, the store says so quickly (`ping` is what `/readyz` asks) and
/// refuses events instead of acknowledging them; when the database is back it carries on by
/// itself, and an event refused earlier is applied when sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_then_back() {
    let Some(schema) = common::PgSchema::create("outage").await else {
        return;
    };
    let proxy = common::Proxy::start(schema.server()).await;
    let url = common::with_host_port(&schema.url, &proxy.addr.to_string());
    let s = store::open(&url).await.unwrap();
    apply(&s, &msg("before", "T"), Plan::tag("a"))
        .await
        .unwrap();

    proxy.cut();
    let started = std::time::Instant::now();
    let ping = s.ping().await;
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "ping failed fast: {:?}",
        started.elapsed()
    );
    let refused = apply(&s, &msg("during", "T"), Plan::tag("b")).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(s.claim_due_timers(t0(), "A", t0(), 10).await.is_err());

    proxy.restore();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while s.ping().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the store came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = apply(&s, &msg("during", "T"), Plan::tag("b"))
        .await
        .unwrap();
    assert!(!again.replayed, "the refused event had not been applied");
    let rec = s.ticket("T").await.unwrap().unwrap();
    assert_eq!(rec.version, 2);
    assert_eq!(rec.ticket.tags, ["a", "b"]);
    s.close().await;
}

/// A URL the store does not understand is a configuration error, not an outage.
#[tokio::test]
async fn store_urls() {
    for bad in [
        "mysql://x/y",
        "frontdesk",
        "postgres://h/db?max_connections=none",
    ] {
        match store::open(bad).await {
            Err(StoreError::Config(_)) => {}
            other => panic!("{bad}: {:?}", other.err()),
        }
    }
}
