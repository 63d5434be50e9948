//! Criterion benchmarks of team assignment: one `ticket.created` decided with `decide_with`
//! against a pack of 1,000 agents in 50 teams (each agent in two teams, so about 40
//! candidates per team), every agent online with some load, for each strategy.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use frontdesk::config::Config;
use frontdesk::engine::{self, Context};
use frontdesk::model::{Channel, Event};
use frontdesk::routing::{AgentState, AgentStatus, Load};

const AGENTS: usize = 1_000;
const TEAMS: usize = 50;
const LANGUAGES: &[&str] = &["en", "nb", "da", "ar", "zh"];

fn pack(strategy: &str) -> String {
    let mut y = String::from("teams:\n");
    for t in 0..TEAMS {
        let _ = writeln!(y, "  t{t}: {{ strategy: {strategy} }}");
    }
    y.push_str("agents:\n");
    for a in 0..AGENTS {
        let (t1, t2) = (a % TEAMS, (a * 7 + 3) % TEAMS);
        let teams = if t1 == t2 {
            format!("t{t1}")
        } else {
            format!("t{t1}, t{t2}")
        };
        let _ = writeln!(
            y,
            "  a{a}: {{ teams: [{teams}], skills: [s{}, s{}], languages: [en, {}], capacity: {{ chat: 3, email: 20, total: 20 }} }}",
            a % 20,
            (a / 20) % 20,
            LANGUAGES[a % LANGUAGES.len()],
        );
    }
    y.push_str(
        "rules:\n  - name: route\n    on: [ticket.created]\n    then:\n      - assign: { team: t17, require: { skills: [s17], language: ticket.customer.language }, fallback: { team: t18 } }\n",
    );
    y
}

fn context() -> Context {
    let mut ctx = Context::default();
    for a in 0..AGENTS {
        let mut open = Load::default();
        open.add(Channel::Email, (a % 17) as u32);
        open.add(Channel::Chat, (a % 3) as u32);
        ctx.routing.agents.insert(
            format!("a{a}"),
            AgentState {
                status: if a % 10 == 0 {
                    AgentStatus::Away
                } else {
                    AgentStatus::Online
                },
                open,
            },
        );
    }
    for t in 0..TEAMS {
        ctx.routing
            .last_assigned
            .insert(format!("t{t}"), format!("a{t}"));
    }
    ctx
}

fn benches(c: &mut Criterion) {
    let event = Event::from_json(
        r#"{"id":"e1","type":"ticket.created","ticket":{"id":"T1","channel":"email","tags":["s17"],"customer":{"language":"en"}},"message":{"text":"hello"}}"#,
    )
    .expect("event");
    let now = "2026-11-23T10:00:00Z".parse().expect("time");
    let ctx = context();
    let mut g = c.benchmark_group("assign");
    for strategy in ["round_robin", "least_loaded", "skills"] {
        let config =
            Config::from_yaml("bench.yaml", &pack(strategy)).unwrap_or_else(|d| panic!("{d}"));
        let d = engine::decide_with(&config, &ctx, &event.ticket, &event, now);
        assert!(
            d.ticket.assignee.is_some(),
            "{strategy}: {:?}",
            d.trace.routing
        );
        g.bench_function(format!("{strategy}/1000-agents-50-teams"), |b| {
            b.iter(|| {
                black_box(engine::decide_with(
                    &config,
                    &ctx,
                    &event.ticket,
                    &event,
                    now,
                ))
            })
        });
    }
    g.finish();
}

criterion_group!(routing_benches, benches);
criterion_main!(routing_benches);
