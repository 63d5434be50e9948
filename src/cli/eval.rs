//! `frontdesk eval`: run a bot's own tests, or measure the FAQ matcher on labelled questions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use super::ask::load_bot_with;
use super::plural;
use crate::faq::Bot;

/// Arguments of `eval`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["bot", "csv_train"]))]
pub struct Args {
    /// A bot file. Alone: run the `tests:` of the file. With --queries and --gold: measure it.
    #[arg(long)]
    bot: Option<PathBuf>,
    /// Questions, one per line.
    #[arg(long, requires = "gold", requires = "bot")]
    queries: Option<PathBuf>,
    /// The expected entry id of each question, one per line (`abstain` or nothing: the bot
    /// should not answer).
    #[arg(long, requires = "queries")]
    gold: Option<PathBuf>,
    /// Training questions as CSV (a `text` column and a `category` or `label` column): each
    /// label becomes one FAQ entry.
    #[arg(long, requires = "csv_test")]
    csv_train: Option<PathBuf>,
    /// Test questions as CSV, same columns.
    #[arg(long, requires = "csv_train")]
    csv_test: Option<PathBuf>,
    /// Train on only the first N questions of each label (few-shot).
    #[arg(long)]
    per_intent: Option<usize>,
    /// Leave N labels out of training; their test questions must be refused.
    #[arg(long, default_value_t = 0)]
    leave_out: usize,
    /// Seed of the choice of labels left out.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Language of the CSV data (`en`, `ar`, ...); default: guessed from the questions.
    #[arg(long)]
    lang: Option<String>,
    /// Threshold (default: the bot's, 0.5 for CSV data).
    #[arg(long)]
    threshold: Option<f64>,
    /// How many of the worst entries to show.
    #[arg(long, default_value_t = 5)]
    worst: usize,
    /// Train the bot or the CSV data with another matcher setting, NAME=VALUE (repeatable; for measuring).
    #[arg(long = "set", hide = true)]
    set: Vec<String>,
    /// Append, per test question, the matcher's calibration inputs and whether its first
    /// candidate was right, as CSV (how the calibration in matcher.rs was fitted).
    #[arg(long, hide = true)]
    signals: Option<PathBuf>,
}

/// Appends, per question, the matcher's calibration inputs and whether its first candidate was
/// the expected entry (`docs/fit_calibration.py` reads them).
fn write_signals(bot: &Bot, cases: &[(String, Option<String>)], path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    for (q, expect) in cases {
        let (top, sig) = bot.signals(q);
        let ok = expect.is_some() && top == *expect;
        writeln!(f, "{},{}", sig.to_csv(), u8::from(ok))?;
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut options = crate::faq::Options::default();
    for spec in &args.set {
        options.set(spec).map_err(anyhow::Error::msg)?;
    }
    if let Some(path) = &args.bot {
        let Some(bot) = load_bot_with(path, options) else {
            return Ok(ExitCode::FAILURE);
        };
        return match (&args.queries, &args.gold) {
            (Some(q), Some(g)) => {
                let questions = read_lines(q)?;
                let gold = read_lines(g)?;
                if questions.len() != gold.len() {
                    bail!(
                        "{} has {} lines but {} has {}",
                        q.display(),
                        questions.len(),
                        g.display(),
                        gold.len()
                    );
                }
                let cases = questions
                    .into_iter()
                    .zip(gold)
                    .map(|(q, g)| {
                        let g = g.trim();
                        let expect = (!g.is_empty() && g != "abstain").then(|| g.to_string());
                        (q, expect)
                    })
                    .collect::<Vec<_>>();
                if let Some(path) = &args.signals {
                    write_signals(&bot, &cases, path)?;
                }
                let threshold = args.threshold.unwrap_or(bot.threshold());
                let report = measure(&bot, &cases, threshold);
                print!("{}", report.render(threshold, args.worst));
                Ok(ExitCode::SUCCESS)
            }
            _ => Ok(run_tests(&bot)),
        };
    }
    let (Some(train), Some(test)) = (&args.csv_train, &args.csv_test) else {
        bail!("give --bot FILE, or --csv-train and --csv-test");
    };
    let train_rows = read_csv(train)?;
    let test_rows = read_csv(test)?;
    let lang = match &args.lang {
        Some(l) => l.clone(),
        None => guess_language(&train_rows).to_string(),
    };
    let mut by_label: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (text, label) in &train_rows {
        let list = by_label.entry(label.clone()).or_default();
        if args.per_intent.is_none_or(|n| list.len() < n) {
            list.push(text.clone());
        }
    }
    let labels: Vec<String> = by_label.keys().cloned().collect();
    if args.leave_out >= labels.len() {
        bail!(
            "cannot leave out {} of {} labels",
            args.leave_out,
            labels.len()
        );
    }
    let left_out = choose(&labels, args.leave_out, args.seed);
    let entries: Vec<(String, Vec<String>)> = by_label
        .into_iter()
        .filter(|(l, _)| !left_out.contains(l))
        .collect();
    let questions: usize = entries.iter().map(|(_, q)| q.len()).sum();
    println!(
        "training: {} from {} ({} of {} labels{}), language {lang}",
        plural(questions, "question"),
        train.display(),
        entries.len(),
        labels.len(),
        args.per_intent
            .map(|n| format!(", at most {n} questions each"))
            .unwrap_or_default(),
    );
    if !left_out.is_empty() {
        println!("left out: {}", left_out.join(", "));
    }
    let mut options = crate::faq::Options::default();
    for spec in &args.set {
        options.set(spec).map_err(anyhow::Error::msg)?;
    }
    let started = Instant::now();
    let bot = match Bot::from_questions_with("csv", &lang, &entries, options) {
        Ok(b) => b,
        Err(d) => {
            eprint!("{d}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let load = started.elapsed();
    println!(
        "load and train: {:.2} s for {}",
        load.as_secs_f64(),
        plural(questions, "question")
    );
    let cases: Vec<(String, Option<String>)> = test_rows
        .into_iter()
        .filter(|(_, l)| labels.contains(l))
        .map(|(t, l)| {
            let expect = (!left_out.contains(&l)).then_some(l);
            (t, expect)
        })
        .collect();
    println!(
        "testing: {} from {}",
        plural(cases.len(), "question"),
        test.display()
    );
    if let Some(path) = &args.signals {
        write_signals(&bot, &cases, path)?;
    }
    let threshold = args.threshold.unwrap_or(bot.threshold());
    let report = measure(&bot, &cases, threshold);
    print!("{}", report.render(threshold, args.worst));
    Ok(ExitCode::SUCCESS)
}

/// Runs a bot file's `tests:`, printing each; fails when one does.
fn run_tests(bot: &Bot) -> ExitCode {
    let outcomes = bot.run_tests();
    let mut failed = 0;
    println!("{}", bot.file().display());
    for o in &outcomes {
        let want = o.test.expect.as_deref().unwrap_or("abstain");
        let got = o.answer.answer_id.as_deref().unwrap_or("abstain");
        let lang = o
            .test
            .lang
            .as_deref()
            .map(|l| format!(" [{l}]"))
            .unwrap_or_default();
        if o.passed {
            println!(
                "  ok    {:?}{lang} → {want} ({:.2})",
                o.test.ask, o.answer.score
            );
        } else {
            failed += 1;
            let cands: Vec<String> = o
                .answer
                .candidates
                .iter()
                .map(|(id, s)| format!("{id} {s:.2}"))
                .collect();
            println!(
                "  FAIL  {:?}{lang}  ({}:{})\n          - expected {want}\n          + got      {got} ({:.2}; candidates: {})",
                o.test.ask,
                bot.file().display(),
                o.test.pos.line,
                o.answer.score,
                cands.join(", ")
            );
        }
    }
    println!(
        "{}: {} passed, {} failed",
        bot.file().display(),
        plural(outcomes.len() - failed, "test"),
        failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_string)
        .collect())
}

/// `(text, label)` rows of a CSV file with a `text` column and a `category` or `label` column.
fn read_csv(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let Some(text) = col(&["text", "question"]) else {
        bail!("{}: no `text` column", path.display());
    };
    let Some(label) = col(&["category", "label", "intent"]) else {
        bail!("{}: no `category` or `label` column", path.display());
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", path.display()))?;
        if let (Some(t), Some(l)) = (record.get(text), record.get(label)) {
            rows.push((t.to_string(), l.trim().to_string()));
        }
    }
    Ok(rows)
}

fn guess_language(rows: &[(String, String)]) -> &'static str {
    let sample: String = rows
        .iter()
        .take(50)
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let all = crate::faq::lang::Lang::ALL;
    crate::faq::lang::detect(&sample, all, crate::faq::lang::Lang::En).code()
}

/// `n` labels chosen with a fixed-seed shuffle (the same every run for the same seed).
fn choose(labels: &[String], n: usize, seed: u64) -> Vec<String> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x0123_4567_89ab_cdef;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut pool: Vec<&String> = labels.iter().collect();
    for i in (1..pool.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        pool.swap(i, j);
    }
    let mut out: Vec<String> = pool.into_iter().take(n).cloned().collect();
    out.sort();
    out
}

/// One question's outcome.
struct Case {
    expect: Option<String>,
    top: Option<String>,
    score: f64,
    time: Duration,
}

/// What a measurement found.
struct Report {
    cases: Vec<Case>,
}

fn measure(bot: &Bot, cases: &[(String, Option<String>)], threshold: f64) -> Report {
    let bar = ProgressBar::new(cases.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} questions, {eta} left")
            .expect("a valid template"),
    );
    let mut out = Vec::with_capacity(cases.len());
    for (i, (q, expect)) in cases.iter().enumerate() {
        let started = Instant::now();
        let a = bot.ask_with_threshold(q, None, threshold);
        let time = started.elapsed();
        out.push(Case {
            expect: expect.clone(),
            top: a.candidates.first().map(|(id, _)| id.clone()),
            score: a.score,
            time,
        });
        if i % 64 == 0 {
            bar.set_position(i as u64);
        }
    }
    bar.finish_and_clear();
    Report { cases: out }
}

fn pct(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

/// At one threshold: (in-scope answered right, in-scope answered wrong, in-scope refused,
/// out-of-scope refused), as counts.
fn at(cases: &[Case], threshold: f64) -> (usize, usize, usize, usize) {
    let (mut right, mut wrong, mut refused, mut oos_refused) = (0, 0, 0, 0);
    for c in cases {
        let answers = c.score >= threshold && c.top.is_some();
        match (&c.expect, answers) {
            (Some(e), true) if c.top.as_ref() == Some(e) => right += 1,
            (Some(_), true) => wrong += 1,
            (Some(_), false) => refused += 1,
            (None, false) => oos_refused += 1,
            (None, true) => {}
        }
    }
    (right, wrong, refused, oos_refused)
}

impl Report {
    fn render(&self, threshold: f64, worst: usize) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let inscope: Vec<&Case> = self.cases.iter().filter(|c| c.expect.is_some()).collect();
        let oos = self.cases.len() - inscope.len();
        let top1 = inscope.iter().filter(|c| c.top == c.expect).count();
        let _ = writeln!(
            s,
            "top-1 accuracy: {:.2} % ({top1}/{})",
            pct(top1, inscope.len()),
            inscope.len()
        );
        let (right, wrong, refused, oos_refused) = at(&self.cases, threshold);
        let _ = writeln!(
            s,
            "at threshold {threshold:.2}: answered {:.1} % of answerable questions, {:.1} % of them right; \
             {:.1} % answered right overall, {:.1} % wrong, {:.1} % refused",
            pct(right + wrong, inscope.len()),
            pct(right, right + wrong),
            pct(right, inscope.len()),
            pct(wrong, inscope.len()),
            pct(refused, inscope.len()),
        );
        if oos > 0 {
            let _ = writeln!(
                s,
                "out of scope: {} refused of {oos} ({:.1} %)",
                oos_refused,
                pct(oos_refused, oos)
            );
        }
        let mut times: Vec<Duration> = self.cases.iter().map(|c| c.time).collect();
        times.sort();
        let q = |p: f64| {
            times
                .get(((times.len() as f64 * p) as usize).min(times.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        let _ = writeln!(
            s,
            "latency per question: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
            q(0.5),
            q(0.9),
            q(0.99),
            times.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
        );
        // The sweep: how the threshold trades answers for refusals.
        let _ = writeln!(
            s,
            "threshold sweep (answerable: right/wrong/refused; out of scope: refused; balanced):"
        );
        let mut best = (f64::MIN, 0.0);
        for step in 0..=19 {
            let t = step as f64 * 0.05;
            let (r, w, n, o) = at(&self.cases, t);
            let right_rate = pct(r, inscope.len());
            let balanced = if oos > 0 {
                (right_rate + pct(o, oos)) / 2.0
            } else {
                right_rate
            };
            if balanced > best.0 + 1e-9 {
                best = (balanced, t);
            }
            let _ = writeln!(
                s,
                "  {t:.2}  {:5.1} {:5.1} {:5.1}   {:>5}   {balanced:5.1}",
                right_rate,
                pct(w, inscope.len()),
                pct(n, inscope.len()),
                if oos > 0 {
                    format!("{:.1}", pct(o, oos))
                } else {
                    "-".into()
                },
            );
        }
        if oos > 0 {
            let _ = writeln!(s, "best balanced threshold: {:.2} ({:.1})", best.1, best.0);
        }
        // Worst entries and what they are taken for.
        let mut per: BTreeMap<&str, (usize, usize, BTreeMap<&str, usize>)> = BTreeMap::new();
        for c in &inscope {
            let e = c.expect.as_deref().unwrap_or_default();
            let slot = per.entry(e).or_default();
            slot.0 += 1;
            if c.top == c.expect {
                slot.1 += 1;
            } else if let Some(t) = &c.top {
                *slot.2.entry(t.as_str()).or_default() += 1;
            }
        }
        let mut rows: Vec<_> = per.into_iter().collect();
        rows.sort_by(|a, b| {
            let ra = a.1 .1 as f64 / a.1 .0 as f64;
            let rb = b.1 .1 as f64 / b.1 .0 as f64;
            ra.total_cmp(&rb).then(a.0.cmp(b.0))
        });
        if worst > 0 && !rows.is_empty() {
            let _ = writeln!(s, "worst entries (accuracy; most often taken for):");
            for (id, (n, ok, confused)) in rows.iter().take(worst) {
                let mut c: Vec<_> = confused.iter().collect();
                c.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let c: Vec<String> = c.iter().take(3).map(|(k, v)| format!("{k} ×{v}")).collect();
                let _ = writeln!(
                    s,
                    "  {id}: {:.0} % ({ok}/{n}); {}",
                    pct(*ok, *n),
                    if c.is_empty() {
                        "-".to_string()
                    } else {
                        c.join(", ")
                    }
                );
            }
        }
        s
    }
}
