//! Criterion benchmark of `frontdesk replay`'s core: a generated week of 10,000 recorded
//! events on 2,000 tickets (new tickets, customer messages, agent answers and status
//! changes, in six languages and four channels) decided again against the example pack
//! (`rules/` and `bots/`), with the candidate's SLA and rule timers firing in virtual time.
//! Throughput is in recorded events; the timers the replay fires are extra work on top.
//! The recorded decisions keep the bots' readings of each question, which the replay reuses
//! while the bots are unchanged; a second run has them removed, as after a bot changed.
//!
//! `cargo bench --bench replay -- --warm-up-time 1 --measurement-time 5`

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use frontdesk::config::Config;
use frontdesk::engine::{self, Context};
use frontdesk::model::{Event, Ticket};
use frontdesk::plan;
use frontdesk::replay::{self, Options, Recorded, Replay};
use frontdesk::routing::{AgentState, AgentStatus, RoutingState};
use serde_json::{json, Value};

/// The allocator the `frontdesk` binary runs with (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TICKETS: usize = 2_000;
const EVENTS: usize = 10_000;

/// First messages: (language, text).
const OPENINGS: &[(&str, &str)] = &[
    ("en", "Where is my parcel? It was due on Friday."),
    ("en", "The portal is down again, nothing loads"),
    (
        "en",
        "I was charged twice, please refund the second payment",
    ),
    ("en", "How do I reset my password?"),
    ("en", "Can I change my delivery address?"),
    ("nb", "Hvor er pakken min? Den skulle komme i går."),
    ("nb", "Alt er nede! Ingenting virker"),
    ("nb", "Jeg ble belastet to ganger for samme ordre"),
    ("da", "Hvor er min pakke?"),
    ("de", "Wo ist mein Paket? Die Sendung ist überfällig."),
    ("ar", "أين طلبي؟ لم يصل بعد"),
    ("ar", "الموقع معطل منذ الصباح"),
    ("zh", "网站宕机了，无法登录"),
];

/// Later customer messages.
const FOLLOW_UPS: &[&str] = &[
    "Any news?",
    "Still nothing, this is urgent",
    "Takk, det hjalp!",
    "I want to talk to a human",
    "It works now, thanks",
];

const CHANNELS: &[&str] = &["email", "chat", "web", "whatsapp"];

/// A small deterministic generator (no dependency for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The week's events as callers send them, in arrival order: every ticket is created, then
/// gets four more events among customer messages, agent answers and status changes.
fn week() -> Vec<(DateTime<Utc>, Event, Value)> {
    let start: DateTime<Utc> = "2026-11-23T06:00:00Z".parse().unwrap();
    let span = Duration::days(7).num_seconds() as usize;
    let mut rng = Lcg(7);
    let mut timed = Vec::with_capacity(EVENTS);
    for t in 0..TICKETS {
        let id = format!("T{t}");
        let opened = rng.next(span - 86_400);
        let (lang, text) = OPENINGS[rng.next(OPENINGS.len())];
        // Every text is the ticket's own: nothing is the same question twice.
        let text = format!("{text} #{}", 10_000 + t);
        let channel = CHANNELS[rng.next(CHANNELS.len())];
        let ticket = json!({"id": id, "channel": channel, "subject": "",
            "customer": {"first_name": "Kim", "language": lang, "email": format!("c{t}@example.com")}});
        timed.push((
            opened,
            t,
            0,
            json!({"id": format!("{id}/0"), "type": "ticket.created", "ticket": ticket,
                   "message": {"text": text, "author": "customer"}}),
        ));
        let mut at = opened;
        for k in 1..EVENTS / TICKETS {
            at += 60 + rng.next(6 * 3600);
            let e = match rng.next(4) {
                0 | 1 => json!({"type": "message.created", "ticket": {"id": id},
                    "message": {"text": format!("{} ({id}/{k})", FOLLOW_UPS[rng.next(FOLLOW_UPS.len())]), "author": "customer"}}),
                2 => json!({"type": "message.agent", "ticket": {"id": id},
                    "message": {"text": "Thanks, we are looking into it.", "author": "agent"}}),
                _ => {
                    let status = ["open", "pending", "solved"][rng.next(3)];
                    json!({"type": "ticket.status_changed", "ticket": {"id": id, "status": status}})
                }
            };
            let mut e = e;
            e["id"] = json!(format!("{id}/{k}"));
            timed.push((at, t, k, e));
        }
    }
    timed.sort_by_key(|(at, t, k, _)| (*at, *t, *k));
    timed
        .into_iter()
        .map(|(at, _, _, v)| {
            let sent = v["ticket"].clone();
            let e = Event::from_value(v).expect("a valid event");
            (start + Duration::seconds(at as i64), e, sent)
        })
        .collect()
}

/// Records the week as the daemon would with `config`, every agent online.
fn record(config: &Config) -> Vec<Recorded> {
    let mut desk = RoutingState::default();
    for a in &config.roster().agents {
        desk.agents.insert(
            a.id.clone(),
            AgentState {
                status: AgentStatus::Online,
                open: Default::default(),
            },
        );
    }
    replay::record(config, &mut desk, week())
}

/// A replay of `recorded` against `config`, to its report.
fn replay_all(config: &Config, recorded: Vec<Recorded>) -> replay::ReplayReport {
    let mut replay = Replay::new(config, Options::default());
    for r in recorded {
        replay.feed(r);
    }
    replay.finish()
}

fn benches(c: &mut Criterion) {
    let config = Config::load_with_bots(&root().join("rules"), Some(&root().join("bots")))
        .unwrap_or_else(|d| panic!("the example pack:\n{d}"));
    let recorded = record(&config);
    assert_eq!(recorded.len(), EVENTS);

    // Once, to say what the replay does besides the recorded events.
    let report = replay_all(&config, recorded.clone());
    // The generated recording fires no timers, so every ticket whose timers act counts as
    // changed here.
    eprintln!(
        "replay: {} events on {} tickets, {} candidate timers fired in virtual time, {} tickets changed",
        report.events, report.tickets, report.timers_fired, report.changed_tickets
    );

    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("example-pack-week", |b| {
        b.iter_batched(
            || recorded.clone(),
            |recorded| black_box(replay_all(&config, recorded)),
            BatchSize::LargeInput,
        )
    });
    // The same week when the bots changed since it was recorded (or it was recorded before
    // decisions kept the bots' readings): every question is read again.
    let unread: Vec<Recorded> = recorded
        .iter()
        .cloned()
        .map(|mut r| {
            r.decision.trace.faq.clear();
            r
        })
        .collect();
    group.bench_function("example-pack-week-questions-read-again", |b| {
        b.iter_batched(
            || unread.clone(),
            |recorded| black_box(replay_all(&config, recorded)),
            BatchSize::LargeInput,
        )
    });
    // The floor: the same events decided in order on the tickets they leave (with the bots'
    // readings, as the replay), with no timers, routing state or report.
    group.bench_function("decide-only", |b| {
        b.iter_batched(
            || recorded.clone(),
            |recorded| {
                let mut tickets: HashMap<String, Ticket> = HashMap::new();
                for r in recorded {
                    let prior = tickets.remove(&r.event.ticket.id);
                    let ev = plan::prepare(prior.as_ref(), &r.event, Some(&r.sent));
                    let ctx = Context {
                        prior,
                        faq: r.decision.trace.faq,
                        ..Context::default()
                    };
                    let d = engine::decide_with(&config, &ctx, &ev.ticket, &ev, r.received_at);
                    tickets.insert(r.event.ticket.id, d.ticket);
                }
                black_box(tickets)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(replay_benches, benches);
criterion_main!(replay_benches);
