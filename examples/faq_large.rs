//! A 100,000-question FAQ bot: how long it takes to load, how much memory it holds, how fast
//! and how well it answers.
//!
//! ```sh
//! cargo run --release --example faq_large                 # 10,000 entries, ~100,000 questions
//! cargo run --release --example faq_large -- --entries 2000 --write /tmp/large
//! frontdesk eval --csv-train /tmp/large/train.csv --csv-test /tmp/large/test.csv
//! ```
//!
//! The bot is generated deterministically. Synthetic entries are an action on a product ("cancel"
//! × "family travel insurance"): 40 actions × 250 products = 10,000 entries, each with questions
//! made from 6 of 8 sentence patterns, the action's verbs and the product's names, a greeting or a
//! "thanks" now and then, and a typo in one question in ten. The test questions are two more per
//! entry, drawn the same way from all 8 patterns, so some are worded in ways the entry never
//! was. When `../shared/data/banking77` is there, its 77 intents join the bot with all their
//! 10,003 training questions (and the synthetic entries get 9 questions each instead of 10), and
//! its 3,080 test questions are asked too: real questions among 10,000 distractors.
//!
//! `--write DIR` writes the training and test questions as CSV (`text,category`) for
//! `frontdesk eval`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use frontdesk::faq::Bot;

/// Actions: an entry key and the verbs (phrases) that ask for it.
const ACTIONS: [(&str, &[&str]); 40] = [
    ("cancel", &["cancel", "terminate", "stop"]),
    ("renew", &["renew", "extend"]),
    ("upgrade", &["upgrade", "improve"]),
    ("downgrade", &["downgrade", "reduce"]),
    ("pay_for", &["pay for", "settle the bill for"]),
    ("refund", &["get a refund for", "get my money back for"]),
    ("activate", &["activate", "switch on"]),
    ("deactivate", &["deactivate", "switch off"]),
    ("transfer", &["transfer", "move"]),
    ("share", &["share", "split"]),
    ("pause", &["pause", "freeze"]),
    ("resume", &["resume", "unfreeze"]),
    ("order", &["order", "buy"]),
    ("return", &["return", "send back"]),
    ("replace", &["replace", "swap"]),
    ("repair", &["repair", "fix"]),
    ("insure", &["insure", "protect"]),
    ("register", &["register", "sign up for"]),
    ("unregister", &["unregister", "leave"]),
    ("rename", &["rename", "change the name on"]),
    ("track", &["track", "follow the delivery of"]),
    ("compare", &["compare", "weigh up"]),
    ("gift", &["gift", "give away"]),
    ("sell", &["sell", "trade in"]),
    ("recover", &["recover", "get back"]),
    ("lock", &["lock", "block"]),
    ("unlock", &["unlock", "unblock"]),
    ("reset", &["reset", "restart"]),
    ("verify", &["verify", "confirm"]),
    ("update", &["update", "edit"]),
    ("download", &["download", "save a copy of"]),
    ("print", &["print", "get a paper copy of"]),
    ("complain", &["complain about", "report a problem with"]),
    ("review", &["review", "rate"]),
    ("install", &["install", "set up"]),
    ("uninstall", &["uninstall", "remove"]),
    ("schedule", &["schedule", "book"]),
    ("reschedule", &["reschedule", "move the date of"]),
    ("discount", &["get a discount on", "find cheaper"]),
    ("change_owner", &["change the owner of", "hand over"]),
];

/// Products are a kind × a thing; a thing has two names.
const KINDS: [&str; 25] = [
    "basic",
    "premium",
    "family",
    "student",
    "business",
    "travel",
    "home",
    "car",
    "pet",
    "mobile",
    "fibre",
    "prepaid",
    "annual",
    "monthly",
    "gold",
    "silver",
    "junior",
    "senior",
    "digital",
    "express",
    "green",
    "partner",
    "trial",
    "unlimited",
    "weekend",
];
const THINGS: [(&str, &str); 10] = [
    ("plan", "tariff"),
    ("card", "debit card"),
    ("account", "profile"),
    ("subscription", "membership"),
    ("insurance", "policy"),
    ("loan", "credit"),
    ("voucher", "coupon"),
    ("router", "modem"),
    ("package", "bundle"),
    ("ticket", "pass"),
];

/// Sentence patterns: `{v}` the verb, `{p}` the product. Training uses the first six.
const PATTERNS: [&str; 8] = [
    "how do I {v} my {p}",
    "I want to {v} my {p}",
    "can you help me {v} the {p}",
    "{v} {p}",
    "is it possible to {v} my {p} online",
    "what do I need to {v} a {p}",
    "where can I {v} my {p}",
    "I would like to {v} the {p} today",
];
const TRAINED_PATTERNS: usize = 6;
const OPENERS: [&str; 4] = ["hi, ", "hello ", "quick question: ", "good morning, "];
const CLOSERS: [&str; 4] = [" please", " thanks", "?", " asap"];

/// splitmix64: the same questions every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Swaps two neighbouring letters of one word of four letters or more.
fn typo(text: &str, rng: &mut Rng) -> String {
    let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
    let long: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].chars().all(|c| c.is_ascii_alphabetic()) && words[i].len() >= 4)
        .collect();
    if long.is_empty() {
        return text.to_string();
    }
    let w = &mut words[long[rng.below(long.len())]];
    let i = 1 + rng.below(w.len() - 2);
    let mut b = w.clone().into_bytes();
    b.swap(i, i + 1);
    *w = String::from_utf8(b).expect("ASCII letters");
    words.join(" ")
}

/// One question for entry (action, kind, thing).
fn question(action: usize, kind: usize, thing: usize, patterns: usize, rng: &mut Rng) -> String {
    let verbs = ACTIONS[action].1;
    let verb = verbs[rng.below(verbs.len())];
    let (a, b) = THINGS[thing];
    let product = format!("{} {}", KINDS[kind], if rng.below(2) == 0 { a } else { b });
    let mut q = PATTERNS[rng.below(patterns)]
        .replace("{v}", verb)
        .replace("{p}", &product);
    if rng.below(4) == 0 {
        q = format!("{}{q}", OPENERS[rng.below(OPENERS.len())]);
    }
    if rng.below(4) == 0 {
        q.push_str(CLOSERS[rng.below(CLOSERS.len())]);
    }
    if rng.below(10) == 0 {
        q = typo(&q, rng);
    }
    q
}

type Entries = Vec<(String, Vec<String>)>;
type Tests = Vec<(String, String)>;

/// The synthetic entries (the first `n` of the 10,000) with `per_entry` questions each, and two
/// test questions per entry.
fn synthetic(n: usize, per_entry: usize) -> (Entries, Tests) {
    let mut rng = Rng(0x00fa_9b07);
    let mut entries = Vec::with_capacity(n);
    let mut tests = Vec::with_capacity(2 * n);
    let products = KINDS.len() * THINGS.len();
    for i in 0..n.min(ACTIONS.len() * products) {
        let (action, product) = (i % ACTIONS.len(), i / ACTIONS.len());
        let (kind, thing) = (product % KINDS.len(), product / KINDS.len());
        let id = format!(
            "{}_{}_{}",
            ACTIONS[action].0,
            KINDS[kind],
            THINGS[thing].0.replace(' ', "_")
        );
        let mut questions: Vec<String> = Vec::with_capacity(per_entry);
        let mut attempts = 0;
        while questions.len() < per_entry && attempts < 20 * per_entry {
            attempts += 1;
            let q = question(action, kind, thing, TRAINED_PATTERNS, &mut rng);
            if !questions.contains(&q) {
                questions.push(q);
            }
        }
        for _ in 0..2 {
            tests.push((
                question(action, kind, thing, PATTERNS.len(), &mut rng),
                id.clone(),
            ));
        }
        entries.push((id, questions));
    }
    (entries, tests)
}

fn csv_rows(path: &Path) -> Option<Vec<(String, String)>> {
    let mut reader = csv::Reader::from_path(path).ok()?;
    Some(
        reader
            .records()
            .filter_map(Result::ok)
            .map(|r| (r[0].to_string(), r[1].to_string()))
            .collect(),
    )
}

/// Resident and peak memory of this process, in MiB (Linux).
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn write_csv(path: &Path, rows: impl Iterator<Item = (String, String)>) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["text", "category"])?;
    for (t, c) in rows {
        w.write_record([t, c])?;
    }
    w.flush()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let mut n = 10_000;
    let mut write: Option<PathBuf> = None;
    let mut real = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--entries" => {
                n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--entries takes a number")
            }
            "--write" => write = Some(args.next().expect("--write takes a directory").into()),
            "--synthetic-only" => real = false,
            other => {
                panic!("unknown argument `{other}` (--entries N, --write DIR, --synthetic-only)")
            }
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/banking77");
    let banking = if real {
        csv_rows(&dir.join("train.csv")).zip(csv_rows(&dir.join("test.csv")))
    } else {
        None
    };
    let (mut entries, synthetic_tests) = synthetic(n, if banking.is_some() { 9 } else { 10 });
    let mut real_tests = Vec::new();
    if let Some((train, test)) = &banking {
        let mut by_label: Vec<(String, Vec<String>)> = Vec::new();
        for (text, label) in train {
            match by_label.iter_mut().find(|(l, _)| l == label) {
                Some((_, qs)) => qs.push(text.clone()),
                None => by_label.push((label.clone(), vec![text.clone()])),
            }
        }
        entries.extend(by_label);
        real_tests = test.clone();
    }
    let questions: usize = entries.iter().map(|(_, q)| q.len()).sum();
    if let Some(dir) = &write {
        std::fs::create_dir_all(dir).expect("creating the --write directory");
        let train = entries
            .iter()
            .flat_map(|(id, qs)| qs.iter().map(move |q| (q.clone(), id.clone())));
        write_csv(&dir.join("train.csv"), train).expect("writing train.csv");
        let tests = synthetic_tests.iter().chain(&real_tests).cloned();
        write_csv(&dir.join("test.csv"), tests).expect("writing test.csv");
        println!("wrote {}/train.csv and test.csv", dir.display());
    }
    let (before, _) = memory();
    let started = Instant::now();
    let bot = Bot::from_questions("large", "en", &entries).expect("a valid bot");
    let load = started.elapsed().as_secs_f64();
    let (after, peak) = memory();
    println!(
        "{} entries, {questions} questions: loaded and trained in {load:.2} s; \
         memory {:.0} MiB held by the bot, peak {peak:.0} MiB",
        entries.len(),
        after - before
    );
    for (name, tests) in [("synthetic", &synthetic_tests), ("banking77", &real_tests)] {
        if tests.is_empty() {
            continue;
        }
        let mut times = Vec::with_capacity(tests.len());
        let mut right = 0;
        for (q, id) in tests.iter() {
            let t = Instant::now();
            let a = bot.ask(q, None);
            times.push(t.elapsed().as_secs_f64() * 1e6);
            if a.candidates.first().map(|c| &c.0) == Some(id) {
                right += 1;
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name}: {} questions, top-1 {:.1} %; ask p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
            tests.len(),
            100.0 * right as f64 / tests.len() as f64,
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or(0.0)
        );
    }
}
