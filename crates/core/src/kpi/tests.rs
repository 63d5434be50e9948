use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::*;
use crate::config::Config;
use crate::engine::{self, Context, Decision};
use crate::model::{Csat, Event, Message, TimerRef};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn event(id: &str, kind: EventType, author: Option<Author>, at: &str) -> Event {
    Event {
        id: id.into(),
        kind,
        occurred_at: Some(t(at)),
        ticket: Ticket {
            id: "T1".into(),
            ..Ticket::default()
        },
        message: author.map(|a| Message {
            text: "hello".into(),
            author: a,
            ..Message::default()
        }),
        changes: Default::default(),
        timer: None,
        data: Default::default(),
    }
}

/// Plays the shell: keeps the ticket between decisions as the store would and decides with
/// the stored ticket as `prior`.
struct Desk {
    config: Config,
    ticket: Option<Ticket>,
    facts: Vec<Fact>,
    /// What the store records: each event as decided, its decision and its arrival.
    history: Vec<(Event, Decision, DateTime<Utc>)>,
}

impl Desk {
    fn new(yaml: &str) -> Desk {
        Desk {
            config: Config::from_yaml("kpi.yaml", yaml).unwrap_or_else(|d| panic!("{d}")),
            ticket: None,
            facts: Vec::new(),
            history: Vec::new(),
        }
    }

    fn post(&mut self, mut e: Event, patch: serde_json::Value, now: &str) -> Decision {
        let ticket = match &self.ticket {
            Some(p) => p.overlay(&patch).unwrap(),
            None => e.ticket.overlay(&patch).unwrap(),
        };
        e.ticket = ticket.clone();
        let ctx = Context {
            prior: self.ticket.clone(),
            ..Context::default()
        };
        let d = engine::decide_with(&self.config, &ctx, &ticket, &e, t(now));
        let x = engine::explain_with(&self.config, &ctx, &ticket, &e, t(now));
        assert_eq!(d.kpi, x.kpi, "decide and explain leave the same facts");
        self.ticket = Some(d.ticket.clone());
        self.history.push((e, d.clone(), t(now)));
        // Written under their keys: a fact again replaces the one before.
        for f in &d.kpi {
            self.facts.retain(|g| g.key != f.key);
            self.facts.push(f.clone());
        }
        d
    }

    fn kinds(&self) -> Vec<Kind> {
        self.facts.iter().map(|f| f.kind).collect()
    }

    fn fact(&self, kind: Kind) -> &Fact {
        self.facts.iter().find(|f| f.kind == kind).unwrap()
    }
}

const SLA: &str = r#"
sla:
  - name: standard
    first_response: { normal: 1h }
    next_response: { normal: 2h }
"#;

#[test]
fn event_time_is_the_event_s_own_unless_it_lies_ahead() {
    let now = t("2026-03-02T12:00:00Z");
    let mut e = event("e", EventType::TicketCreated, None, "2026-03-02T09:00:00Z");
    assert_eq!(event_time(&e, now), t("2026-03-02T09:00:00Z"));
    e.occurred_at = Some(now + Duration::seconds(FUTURE_TOLERANCE_SECS));
    assert_eq!(
        event_time(&e, now),
        now + Duration::seconds(FUTURE_TOLERANCE_SECS)
    );
    e.occurred_at = Some(now + Duration::seconds(FUTURE_TOLERANCE_SECS + 1));
    assert_eq!(event_time(&e, now), now);
    e.occurred_at = None;
    assert_eq!(event_time(&e, now), now);
}

#[test]
fn an_imported_ticket_counts_its_response_time_by_the_events_own_times() {
    // Created at 09:00 and answered at 10:00, both delivered a second apart at noon.
    let mut desk = Desk::new(SLA);
    let created = event("e1", EventType::TicketCreated, None, "2026-03-02T09:00:00Z");
    desk.post(
        created,
        json!({"created_at": "2026-03-02T09:00:00Z"}),
        "2026-03-02T12:00:00Z",
    );
    let reply = event(
        "e2",
        EventType::MessageCreated,
        Some(Author::Agent),
        "2026-03-02T10:00:00Z",
    );
    let d = desk.post(reply, json!({}), "2026-03-02T12:00:01Z");
    let clock = d
        .ticket
        .sla
        .as_ref()
        .unwrap()
        .first_response
        .clone()
        .unwrap();
    assert_eq!(clock.achieved_at, Some(t("2026-03-02T10:00:00Z")));
    assert_eq!(clock.elapsed_secs, 3600);
    assert!(!clock.breached);
    assert_eq!(d.ticket.first_response_at, Some(t("2026-03-02T10:00:00Z")));
    let f = desk.fact(Kind::FirstResponse);
    assert_eq!((f.secs, f.business_secs), (Some(3600), Some(3600)));
    let sla = desk.fact(Kind::Sla);
    assert_eq!(sla.metric, Some(Metric::FirstResponse));
    assert!(!sla.breached);
    assert_eq!((sla.target_secs, sla.secs), (Some(3600), Some(3600)));
}

#[test]
fn a_reply_dated_after_the_due_time_is_a_breach_before_the_timer_fires() {
    let mut desk = Desk::new(SLA);
    let created = event("e1", EventType::TicketCreated, None, "2026-03-02T09:00:00Z");
    desk.post(created, json!({}), "2026-03-02T09:00:00Z");
    let reply = event(
        "e2",
        EventType::MessageCreated,
        Some(Author::Agent),
        "2026-03-02T10:30:00Z",
    );
    let d = desk.post(reply, json!({}), "2026-03-02T10:30:00Z");
    let clock = d.ticket.sla.unwrap().first_response.unwrap();
    assert!(clock.breached);
    assert_eq!(clock.breached_at, Some(t("2026-03-02T10:00:00Z")));
    let sla = desk.fact(Kind::Sla);
    assert!(sla.breached);
    assert_eq!(sla.at, t("2026-03-02T10:00:00Z"));
    assert_eq!(sla.business_secs, Some(5400));
}

#[test]
fn a_reply_dated_before_the_due_time_meets_the_clock_its_breach_timer_marked() {
    let mut desk = Desk::new(SLA);
    let created = event("e1", EventType::TicketCreated, None, "2026-03-02T09:00:00Z");
    let d = desk.post(created, json!({}), "2026-03-02T09:00:00Z");
    let due = d
        .timers
        .iter()
        .find(|t| t.name == "sla:first_response")
        .unwrap()
        .due_at;
    assert_eq!(due, t("2026-03-02T10:00:00Z"));
    let mut fired = event("e2", EventType::TimerFired, None, "2026-03-02T10:00:00Z");
    fired.timer = Some(TimerRef {
        id: "e1/sla:first_response".into(),
        name: "sla:first_response".into(),
        due_at: due,
    });
    let d = desk.post(fired, json!({}), "2026-03-02T10:00:00Z");
    assert!(
        d.ticket
            .sla
            .as_ref()
            .unwrap()
            .first_response
            .as_ref()
            .unwrap()
            .breached
    );
    assert!(desk.fact(Kind::Sla).breached, "the breach is a fact");
    // The helpdesk's webhook for a reply written at 09:40 comes late, after the breach.
    let reply = event(
        "e3",
        EventType::MessageCreated,
        Some(Author::Agent),
        "2026-03-02T09:40:00Z",
    );
    let d = desk.post(reply, json!({}), "2026-03-02T10:05:00Z");
    let clock = d.ticket.sla.unwrap().first_response.unwrap();
    assert!(!clock.breached, "met by the reply's own time");
    assert_eq!(clock.elapsed_secs, 2400);
    let sla: Vec<&Fact> = desk.facts.iter().filter(|f| f.kind == Kind::Sla).collect();
    assert_eq!(sla.len(), 1, "one fact per clock, replaced under its key");
    assert!(!sla[0].breached);
    assert_eq!(sla[0].at, t("2026-03-02T09:40:00Z"));
}

#[test]
fn a_ticket_s_life_leaves_its_facts_and_counts() {
    let mut desk = Desk::new("rules: []");
    let created = event("e1", EventType::TicketCreated, None, "2026-03-02T09:00:00Z");
    desk.post(
        created,
        json!({"channel": "email", "priority": "high", "group": "billing",
               "customer": {"language": "nb-NO"}}),
        "2026-03-02T09:00:00Z",
    );
    let created = desk.fact(Kind::Created);
    assert_eq!(created.dims.language.as_deref(), Some("nb"));
    assert_eq!(created.dims.team.as_deref(), Some("billing"));
    assert_eq!(created.dims.priority, "high");
    let reply =
        |id: &str, who: Author, at: &str| event(id, EventType::MessageCreated, Some(who), at);
    desk.post(
        reply("e2", Author::Agent, "2026-03-02T09:10:00Z"),
        json!({}),
        "2026-03-02T09:10:00Z",
    );
    // A customer message before any agent reply is part of the first response's wait; after
    // one, it starts a next response.
    desk.post(
        reply("e3", Author::Customer, "2026-03-02T10:00:00Z"),
        json!({}),
        "2026-03-02T10:00:00Z",
    );
    desk.post(
        reply("e4", Author::Customer, "2026-03-02T10:05:00Z"),
        json!({}),
        "2026-03-02T10:05:00Z",
    );
    desk.post(
        reply("e5", Author::Agent, "2026-03-02T10:30:00Z"),
        json!({}),
        "2026-03-02T10:30:00Z",
    );
    assert_eq!(desk.fact(Kind::FirstResponse).secs, Some(600));
    assert_eq!(
        desk.fact(Kind::NextResponse).secs,
        Some(1800),
        "from the first waiting message"
    );
    let solve = event("e6", EventType::TicketUpdated, None, "2026-03-02T11:00:00Z");
    desk.post(solve, json!({"status": "solved"}), "2026-03-02T11:00:00Z");
    let solved = desk.fact(Kind::Solved);
    assert_eq!(
        (solved.secs, solved.replies, solved.reopens),
        (Some(7200), Some(2), Some(0))
    );
    let reopen = event("e7", EventType::TicketUpdated, None, "2026-03-03T08:00:00Z");
    let d = desk.post(reopen, json!({"status": "open"}), "2026-03-03T08:00:00Z");
    let stats = d.ticket.stats.unwrap();
    assert_eq!((stats.agent_replies, stats.reopens), (2, 1));
    let again = event("e8", EventType::TicketUpdated, None, "2026-03-03T09:00:00Z");
    desk.post(again, json!({"status": "closed"}), "2026-03-03T09:00:00Z");
    assert_eq!(
        desk.kinds(),
        [
            Kind::Created,
            Kind::FirstResponse,
            Kind::NextResponse,
            Kind::Solved,
            Kind::Reopened,
            Kind::Solved
        ]
    );
    let last = desk.facts.last().unwrap();
    assert_eq!((last.replies, last.reopens), (Some(2), Some(1)));

    // A rebuild from what the store recorded finds the same facts.
    let mut rebuild = Rebuild::new();
    let mut rebuilt: Vec<Fact> = Vec::new();
    for (e, d, received) in &desk.history {
        for f in rebuild.push(e, &d.ticket, &d.actions, *received) {
            rebuilt.retain(|g| g.key != f.key);
            rebuilt.push(f);
        }
    }
    assert_eq!(rebuilt, desk.facts);
}

#[test]
fn a_rating_is_a_fact_once_per_survey() {
    let mut desk = Desk::new("rules: []");
    let created = event("e1", EventType::TicketCreated, None, "2026-03-02T09:00:00Z");
    desk.post(created, json!({}), "2026-03-02T09:00:00Z");
    let mut ticket = desk.ticket.clone().unwrap();
    ticket.csat = Some(Csat {
        survey: "s1".into(),
        sent_at: t("2026-03-03T09:00:00Z"),
        score: None,
        rated_at: None,
        via: None,
    });
    desk.ticket = Some(ticket.clone());
    let mut rated = ticket.clone();
    let c = rated.csat.as_mut().unwrap();
    c.score = Some(4);
    c.rated_at = Some(t("2026-03-03T10:00:00Z"));
    let e = event("e2", EventType::CsatReceived, None, "2026-03-03T10:00:00Z");
    let facts = settle(
        Some(&ticket),
        &e,
        &mut rated.clone(),
        &[],
        t("2026-03-03T10:00:00Z"),
    );
    assert_eq!(facts.len(), 1);
    assert_eq!((facts[0].kind, facts[0].score), (Kind::Csat, Some(4)));
    assert_eq!(facts[0].key, "T1/csat/s1");
    // The same rating seen again (the stored ticket has it) is no new fact.
    let again = settle(
        Some(&rated),
        &e,
        &mut rated.clone(),
        &[],
        t("2026-03-03T10:00:00Z"),
    );
    assert!(again.is_empty());
}

fn fact(kind: Kind, ticket: &str, at: &str, team: Option<&str>) -> Fact {
    let dims = Dims {
        channel: "email".into(),
        priority: "normal".into(),
        team: team.map(str::to_string),
        agent: None,
        language: None,
    };
    Fact {
        key: format!("{ticket}/{}/{at}", kind.name()),
        ticket: ticket.into(),
        event: "e".into(),
        ..Fact::blank(kind, t(at), dims)
    }
}

fn with(mut f: Fact, edit: impl FnOnce(&mut Fact)) -> Fact {
    edit(&mut f);
    f
}

#[test]
fn report_figures_by_their_formulas() {
    let q = Query::new(
        t("2026-03-02T00:00:00Z"),
        t("2026-03-04T00:00:00Z"),
        Some(Dim::Team),
        Some(Interval::Day),
    )
    .unwrap();
    let a = Some("a");
    let b = Some("b");
    let facts = vec![
        fact(Kind::Created, "T1", "2026-03-02T09:00:00Z", a),
        fact(Kind::Created, "T2", "2026-03-02T10:00:00Z", a),
        fact(Kind::Created, "T3", "2026-03-03T10:00:00Z", b),
        with(
            fact(Kind::FirstResponse, "T1", "2026-03-02T09:10:00Z", a),
            |f| f.secs = Some(600),
        ),
        with(
            fact(Kind::FirstResponse, "T2", "2026-03-02T11:00:00Z", a),
            |f| f.secs = Some(3600),
        ),
        with(
            fact(Kind::FirstResponse, "T3", "2026-03-03T10:20:00Z", b),
            |f| f.secs = Some(1200),
        ),
        with(fact(Kind::Solved, "T1", "2026-03-02T12:00:00Z", a), |f| {
            f.secs = Some(10800);
            f.replies = Some(1);
            f.reopens = Some(0);
        }),
        with(fact(Kind::Solved, "T2", "2026-03-03T12:00:00Z", a), |f| {
            f.secs = Some(93600);
            f.replies = Some(3);
            f.reopens = Some(0);
        }),
        with(fact(Kind::Sla, "T1", "2026-03-02T09:10:00Z", a), |f| {
            f.metric = Some(Metric::FirstResponse);
        }),
        with(fact(Kind::Sla, "T2", "2026-03-02T10:00:00Z", a), |f| {
            f.metric = Some(Metric::FirstResponse);
            f.breached = true;
        }),
        with(fact(Kind::Sla, "T3", "2026-03-03T10:20:00Z", b), |f| {
            f.metric = Some(Metric::FirstResponse);
        }),
        with(fact(Kind::Csat, "T1", "2026-03-03T08:00:00Z", a), |f| {
            f.score = Some(5)
        }),
        with(fact(Kind::Csat, "T2", "2026-03-03T13:00:00Z", a), |f| {
            f.score = Some(2)
        }),
        // Outside the range: counted nowhere.
        fact(Kind::Created, "T9", "2026-03-04T00:00:00Z", a),
    ];
    // One ticket of team b open from before the range.
    let before = Backlog::from([(Some("b".to_string()), 1)]);
    let sessions = [
        BotSession {
            at: t("2026-03-02T20:00:00Z"),
            answered: true,
            handed_off: false,
        },
        BotSession {
            at: t("2026-03-02T21:00:00Z"),
            answered: true,
            handed_off: true,
        },
        BotSession {
            at: t("2026-03-03T21:00:00Z"),
            answered: false,
            handed_off: true,
        },
        BotSession {
            at: t("2026-03-03T22:00:00Z"),
            answered: true,
            handed_off: false,
        },
    ];
    let r = report(&q, facts, &before, &sessions);
    let f = &r.figures;
    assert_eq!(
        (
            f.tickets.created,
            f.tickets.solved,
            f.tickets.reopened,
            f.tickets.backlog
        ),
        (3, 2, 0, 2)
    );
    assert_eq!(f.first_response.count, 3);
    assert_eq!(f.first_response.p50_seconds, Some(1200));
    assert_eq!(f.first_response.p90_seconds, Some(3600));
    assert_eq!(f.first_response.mean_seconds, Some(1800.0));
    assert_eq!(f.first_response.business_p50_seconds, None);
    assert_eq!(
        (f.resolution.count, f.resolution.p50_seconds),
        (2, Some(10800))
    );
    assert_eq!((f.sla.met, f.sla.breached), (2, 1));
    assert_eq!(f.sla.attainment, Some(0.6667));
    assert_eq!((f.fcr.count, f.fcr.share), (1, Some(0.5)));
    assert_eq!(
        (f.csat.count, f.csat.average, f.csat.satisfied_share),
        (2, Some(3.5), Some(0.5))
    );
    assert_eq!(
        (
            f.bot.sessions,
            f.bot.answered,
            f.bot.deflected,
            f.bot.handoffs,
            f.bot.deflection_rate
        ),
        (4, 3, 2, 2, Some(0.5))
    );
    // Per team: a created 2, solved 2, backlog 0; b created 1 and 1 from before.
    let keys: Vec<_> = r.groups.iter().map(|g| g.key.clone()).collect();
    assert_eq!(keys, [Some("a".to_string()), Some("b".to_string())]);
    assert_eq!(r.groups[0].figures.tickets.backlog, 0);
    assert_eq!(r.groups[1].figures.tickets.backlog, 2);
    // Per day, with the backlog at each day's end.
    assert_eq!(r.series.len(), 2);
    assert_eq!(r.series[0].start, t("2026-03-02T00:00:00Z"));
    assert_eq!(
        (
            r.series[0].figures.tickets.created,
            r.series[0].figures.tickets.backlog
        ),
        (2, 2)
    );
    assert_eq!(
        (
            r.series[1].figures.tickets.created,
            r.series[1].figures.tickets.backlog
        ),
        (1, 2)
    );
    assert_eq!(r.groups[1].series[1].figures.tickets.backlog, 2);
    let text = csv(&r);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 4, "a header and a row per team and day");
    assert!(
        lines[1].starts_with("a,2026-03-02T00:00:00+00:00,2,1,0,1,"),
        "{}",
        lines[1]
    );
}

#[test]
fn report_parameters_are_checked() {
    let from = t("2026-03-02T00:00:00Z");
    assert_eq!(
        Query::new(from, from, None, None).unwrap_err().field,
        "from"
    );
    let far = from + Duration::days(MAX_RANGE_DAYS + 1);
    assert_eq!(Query::new(from, far, None, None).unwrap_err().field, "to");
    assert_eq!(parse_dim("group").unwrap(), Dim::Team);
    assert_eq!(parse_dim("colour").unwrap_err().field, "group_by");
    assert_eq!(parse_interval("month").unwrap_err().field, "interval");
    assert_eq!(
        Interval::Week.start(t("2026-03-08T23:00:00Z")),
        t("2026-03-02T00:00:00Z"),
        "weeks start on Monday"
    );
}

#[test]
fn csv_fields_cannot_smuggle_formulas_or_break_rows() {
    let q = Query::new(
        t("2026-03-02T00:00:00Z"),
        t("2026-03-03T00:00:00Z"),
        Some(Dim::Team),
        None,
    )
    .unwrap();
    let facts = vec![fact(
        Kind::Created,
        "T1",
        "2026-03-02T09:00:00Z",
        Some("=cmd,\"x\""),
    )];
    let text = csv(&report(&q, facts, &Backlog::new(), &[]));
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("\"'=cmd,\"\"x\"\"\","),
        "{text}"
    );
}
