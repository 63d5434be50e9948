//! Criterion benchmarks on the shared rule-engine pack: `decide/pack-N` decides a slice of
//! tickets per iteration (throughput in tickets), `compile/pack-1000` compiles the largest pack;
//! `word_forms/*` decides pack-100 with its keywords as whole words, with their word forms in
//! English (the messages have no language tag and the pack names none), and with their forms in
//! the four languages a pack naming `nb`, `da` and `sv` tries.

#[path = "support/pack.rs"]
mod pack;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use frontdesk::engine;

/// Tickets decided per iteration.
const SLICE: usize = 1_000;

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    if let Err(e) = pack::generate(dir.path()) {
        eprintln!("skipping the pack benchmarks: {e}");
        return;
    }
    let events = pack::load_events(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let slice = &events[..SLICE.min(events.len())];
    let now = pack::now();

    let mut decide = c.benchmark_group("decide");
    decide.sample_size(20);
    decide.throughput(Throughput::Elements(slice.len() as u64));
    let mut largest = String::new();
    for rules in pack::SIZES {
        let yaml = pack::pack_yaml(dir.path(), rules).unwrap_or_else(|e| panic!("{e}"));
        let config = pack::compile(rules, &yaml).unwrap_or_else(|e| panic!("pack-{rules}:\n{e}"));
        let (matches, checksum) = pack::run(&config, &events);
        pack::verify(rules, matches, &checksum).unwrap_or_else(|e| panic!("{e}"));
        decide.bench_function(format!("pack-{rules}"), |b| {
            b.iter(|| {
                for e in slice {
                    black_box(engine::decide(&config, &e.ticket, e, now));
                }
            })
        });
        largest = yaml;
    }
    decide.finish();

    let mut forms = c.benchmark_group("word_forms");
    forms.sample_size(20);
    forms.throughput(Throughput::Elements(slice.len() as u64));
    let exact = pack::pack_yaml(dir.path(), 100).unwrap_or_else(|e| panic!("{e}"));
    let english = exact.replace(", exact: true }", " }");
    let nordic = format!("settings:\n  languages: {{ nb: [en], da: [nb], sv: [nb] }}\n{english}");
    for (name, yaml) in [
        ("exact", &exact),
        ("en", &english),
        ("en-nb-da-sv", &nordic),
    ] {
        let config = pack::compile(100, yaml).unwrap_or_else(|e| panic!("{name}:\n{e}"));
        forms.bench_function(name, |b| {
            b.iter(|| {
                for e in slice {
                    black_box(engine::decide(&config, &e.ticket, e, now));
                }
            })
        });
    }
    forms.finish();

    let mut compile = c.benchmark_group("compile");
    compile.sample_size(10);
    compile.measurement_time(Duration::from_secs(5));
    compile.bench_function("pack-1000", |b| {
        b.iter_batched(
            || largest.clone(),
            |yaml| pack::compile(1000, black_box(&yaml)).expect("compiles"),
            BatchSize::LargeInput,
        )
    });
    compile.finish();
}

criterion_group!(pack_benches, benches);
criterion_main!(pack_benches);
