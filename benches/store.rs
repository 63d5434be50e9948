//! The store's commit path: one event at a time (a commit and an fsync each) and 64 at once
//! (group commit), on a real SQLite file with the example rules deciding; and the same for
//! events that assign a team's agent (`routed/*`: 1,000 agents online in 50 teams, so each
//! decision reads 1,000 statuses, the loads and the cursors in its transaction).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use frontdesk::config::Config;
use frontdesk::engine;
use frontdesk::model::{Event, Ticket};
use frontdesk::store::{self, DecideFn, Store};

fn event(i: u64) -> Event {
    Event::from_json(&format!(
        r#"{{"id":"b{i}","type":"message.created","ticket":{{"id":"T{}","channel":"email"}},"message":{{"text":"the site is down, I want a refund"}}}}"#,
        i % 500
    ))
    .unwrap()
}

fn decider(config: Arc<Config>, e: &Event) -> DecideFn {
    let e = e.clone();
    Box::new(move |prior: Option<Ticket>| {
        let t = prior.unwrap_or_else(|| e.ticket.clone());
        engine::decide(&config, &t, &e, "2026-11-23T10:00:00Z".parse().unwrap())
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(
        Config::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/rules"
        )))
        .unwrap(),
    );
    let store: Arc<dyn Store> = rt
        .block_on(store::open(&format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        )))
        .unwrap();
    let mut n = 0u64;
    let mut g = c.benchmark_group("store");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    g.bench_function("apply/sequential", |b| {
        b.iter(|| {
            n += 1;
            let e = event(n);
            let fp = store::fingerprint(&e);
            rt.block_on(store.apply(
                e.clone(),
                fp,
                chrono::Utc::now(),
                decider(config.clone(), &e),
            ))
            .unwrap()
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("apply/64-concurrent", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tasks = Vec::new();
                for _ in 0..64 {
                    n += 1;
                    let e = event(n);
                    let (store, config) = (store.clone(), config.clone());
                    tasks.push(tokio::spawn(async move {
                        let fp = store::fingerprint(&e);
                        store
                            .apply(e.clone(), fp, chrono::Utc::now(), decider(config, &e))
                            .await
                            .unwrap()
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    g.finish();

    // Routing: statuses, loads and cursors read inside each transaction.
    let mut pack = String::from("teams:\n");
    for t in 0..50 {
        pack.push_str(&format!("  t{t}: {{ strategy: least_loaded }}\n"));
    }
    pack.push_str("agents:\n");
    for a in 0..1000 {
        pack.push_str(&format!(
            "  a{a}: {{ teams: [t{}], languages: [en], capacity: 1000000 }}\n",
            a % 50
        ));
    }
    pack.push_str("rules:\n  - name: route\n    on: [ticket.created]\n    then: [ { assign: { team: t7 } } ]\n");
    let routed = Arc::new(Config::from_yaml("routed.yaml", &pack).unwrap());
    for a in 0..1000 {
        rt.block_on(store.set_agent_status(
            &format!("a{a}"),
            frontdesk::routing::AgentStatus::Online,
            chrono::Utc::now(),
        ))
        .unwrap();
    }
    let created = |i: u64| {
        Event::from_json(&format!(
            r#"{{"id":"r{i}","type":"ticket.created","ticket":{{"id":"R{i}","channel":"email"}}}}"#
        ))
        .unwrap()
    };
    let routed_decider = |config: Arc<Config>, e: &Event| -> store::RoutedDecideFn {
        let e = e.clone();
        Box::new(move |prior: Option<Ticket>, routing| {
            let t = prior.unwrap_or_else(|| e.ticket.clone());
            let ctx = engine::Context {
                routing,
                ..Default::default()
            };
            engine::decide_with(
                &config,
                &ctx,
                &t,
                &e,
                "2026-11-23T10:00:00Z".parse().unwrap(),
            )
        })
    };
    let locks = routed
        .routing_need(frontdesk::model::EventType::TicketCreated)
        .clone();
    let mut g = c.benchmark_group("store");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    g.bench_function("routed/sequential", |b| {
        b.iter(|| {
            n += 1;
            let e = created(n);
            let fp = store::fingerprint(&e);
            let d = rt
                .block_on(store.apply_routed(
                    e.clone(),
                    None,
                    fp,
                    chrono::Utc::now(),
                    locks.clone(),
                    routed_decider(routed.clone(), &e),
                ))
                .unwrap();
            assert!(d.decision.ticket.assignee.is_some());
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("routed/64-concurrent", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tasks = Vec::new();
                for _ in 0..64 {
                    n += 1;
                    let e = created(n);
                    let (store, d) = (store.clone(), routed_decider(routed.clone(), &e));
                    let locks = locks.clone();
                    tasks.push(tokio::spawn(async move {
                        let fp = store::fingerprint(&e);
                        store
                            .apply_routed(e.clone(), None, fp, chrono::Utc::now(), locks, d)
                            .await
                            .unwrap()
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
