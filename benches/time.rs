//! Business-time arithmetic: `add` and `next_open` on the example pack's Oslo calendar
//! (weekdays 08:00-16:00, Norwegian holidays) and on a calendar with a lunch break, a Saturday
//! and an overnight shift in New York.

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use frontdesk::config::{Config, Source};
use std::hint::black_box;
use std::path::PathBuf;

fn pack_calendar() -> frontdesk::time::Calendar {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let config = Config::load(&root).expect("the example pack compiles");
    config.calendar("oslo").expect("oslo").clone()
}

fn busy_calendar() -> frontdesk::time::Calendar {
    let yaml = r#"
calendars:
  ny:
    timezone: America/New_York
    hours:
      mon-fri: ["08:00-12:00", "13:00-17:00"]
      sat: "10:00-14:00"
      sun: "22:00-06:00"
    holidays: ["2026-11-26", "2026-12-25", "2027-01-01"]
"#;
    let config = Config::compile(vec![Source {
        path: PathBuf::from("bench.yaml"),
        text: yaml.into(),
    }])
    .expect("valid calendar");
    config.calendar("ny").expect("ny").clone()
}

fn bench(c: &mut Criterion) {
    let starts: Vec<DateTime<Utc>> = (0..97)
        .map(|i| {
            "2026-11-20T06:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(i * 173)
        })
        .collect();
    for (name, cal) in [("oslo", pack_calendar()), ("ny", busy_calendar())] {
        let mut i = 0;
        let mut next = || {
            i = (i + 1) % starts.len();
            starts[i]
        };
        c.bench_function(&format!("time/{name}/add-4h"), |b| {
            b.iter(|| cal.add(black_box(next()), Duration::hours(4)))
        });
        c.bench_function(&format!("time/{name}/add-2-business-days"), |b| {
            b.iter(|| cal.add_days(black_box(next()), 2))
        });
        c.bench_function(&format!("time/{name}/add-40h"), |b| {
            b.iter(|| cal.add(black_box(next()), Duration::hours(40)))
        });
        c.bench_function(&format!("time/{name}/next_open"), |b| {
            b.iter(|| cal.next_open(black_box(next())))
        });
        c.bench_function(&format!("time/{name}/is_open"), |b| {
            b.iter(|| cal.is_open(black_box(next())))
        });
    }
}

/// The example pack's files, without `sla.yaml` when `sla` is false.
fn example_pack(sla: bool) -> Config {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut sources = Vec::new();
    for name in [
        "calendars.yaml",
        "support.yaml",
        "triage.yaml",
        "templates.yaml",
        "schedules.yaml",
        "sla.yaml",
    ] {
        if name == "sla.yaml" && !sla {
            continue;
        }
        let path = root.join(name);
        let text = std::fs::read_to_string(&path).expect("example pack file");
        sources.push(Source { path, text });
    }
    Config::compile(sources).expect("the example pack compiles")
}

/// What SLA policies cost a decision: the example pack with and without `sla.yaml`, on a new
/// ticket (clocks start, timers set) and on an update of a ticket whose clocks run.
fn sla(c: &mut Criterion) {
    use frontdesk::engine;
    use frontdesk::model::Event;
    let now: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
    let created = Event::from_json(r#"{"id":"e1","type":"ticket.created","ticket":{"id":"T1","channel":"email","customer":{"language":"en"}},"message":{"text":"Where is my parcel?"}}"#).unwrap();
    for (label, sla) in [("with-sla", true), ("without-sla", false)] {
        let config = example_pack(sla);
        let first = engine::decide(&config, &created.ticket, &created, now);
        let mut update =
            Event::from_json(r#"{"id":"e2","type":"ticket.updated","ticket":{"id":"T1"}}"#)
                .unwrap();
        update.ticket = first.ticket.clone();
        update.ticket.subject = "Parcel".into();
        let later = now + Duration::hours(2);
        c.bench_function(&format!("sla/{label}/ticket.created"), |b| {
            b.iter(|| black_box(engine::decide(&config, &created.ticket, &created, now)))
        });
        c.bench_function(&format!("sla/{label}/ticket.updated"), |b| {
            b.iter(|| black_box(engine::decide(&config, &update.ticket, &update, later)))
        });
    }
}

criterion_group!(benches, bench, sla);
criterion_main!(benches);
