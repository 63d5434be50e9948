//! FAQ matcher benchmarks: training at load and answering one question, on the example bot
//! and on BANKING77 (`../shared/data`, skipped when absent).
//!
//! `cargo bench --bench faq`. Latency percentiles (p50/p99) come from
//! `frontdesk eval --csv-train ... --csv-test ...`, which times every question; these report
//! means. The figures are in docs/faq.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use frontdesk::faq::Bot;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(text, label)` rows of a BANKING77 CSV file.
fn rows(path: &Path) -> Option<Vec<(String, String)>> {
    let mut reader = csv::Reader::from_path(path).ok()?;
    Some(
        reader
            .records()
            .filter_map(Result::ok)
            .map(|r| (r[0].to_string(), r[1].to_string()))
            .collect(),
    )
}

/// Entries of one label each, in the order labels first appear.
fn entries(rows: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (text, label) in rows {
        match out.iter_mut().find(|(l, _)| l == label) {
            Some((_, qs)) => qs.push(text.clone()),
            None => out.push((label.clone(), vec![text.clone()])),
        }
    }
    out
}

fn support(c: &mut Criterion) {
    let path = root().join("bots/support.yaml");
    let text = std::fs::read_to_string(&path).expect("bots/support.yaml");
    let mut g = c.benchmark_group("faq/support");
    g.bench_function("load", |b| {
        b.iter(|| Bot::from_yaml("support.yaml", black_box(&text)).unwrap())
    });
    let bot = Bot::load(&path).unwrap();
    let questions = [
        "I forgot my pasword",
        "hvor er pakken min?",
        "hvornår får jeg mine penge tilbage",
        "متى سأسترد أموالي؟",
        "运费是多少",
        "What is the weather like on Mars?",
    ];
    let mut i = 0;
    g.bench_function("ask", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            bot.ask(black_box(questions[i]), None)
        })
    });
    g.finish();

    // One chat message: `bot::reply` (the question, the person-request check, the answer with
    // its quick replies), as the chat API runs it for every message.
    let mut g = c.benchmark_group("chat/support");
    let now = "2026-11-23T10:00:00Z".parse().unwrap();
    let session =
        frontdesk::bot::Session::open("s".into(), &bot, None, Default::default(), None, now);
    let mut i = 0;
    g.bench_function("reply", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            let input = frontdesk::bot::Input::Text(questions[i].into());
            frontdesk::bot::reply(&bot, black_box(&session), &input, now).unwrap()
        })
    });
    g.bench_function("asks_for_person", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            frontdesk::bot::person::asks_for_person(black_box(questions[i]))
        })
    });
    g.finish();
}

fn banking77(c: &mut Criterion) {
    let dir = root().join("../shared/data/banking77");
    let (Some(train), Some(test)) = (rows(&dir.join("train.csv")), rows(&dir.join("test.csv")))
    else {
        eprintln!("faq/banking77: skipped, ../shared/data/banking77 is not there");
        return;
    };
    let train = entries(&train);
    let mut g = c.benchmark_group("faq/banking77");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("train-10003", |b| {
        b.iter(|| Bot::from_questions("banking77", "en", black_box(&train)).unwrap())
    });
    g.sample_size(100).measurement_time(Duration::from_secs(5));
    let bot = Bot::from_questions("banking77", "en", &train).unwrap();
    let mut i = 0;
    g.bench_function("ask", |b| {
        b.iter(|| {
            i = (i + 1) % test.len();
            bot.ask(black_box(&test[i].0), None)
        })
    });
    g.finish();
}

criterion_group!(benches, support, banking77);
criterion_main!(benches);
