//! Measures frontdesk on the shared rule-engine benchmark pack, and optionally
//! json-rules-engine on the same pack in the same run.
//!
//! ```sh
//! cargo run --release --example pack_bench -- [--jre] [OUT_DIR]
//! ```
//!
//! For each pack (10, 100, 1000 rules): the median cold compile time, a checksum check (the run
//! aborts on a mismatch), then decide over every ticket: one warm-up pass and several timed
//! passes, each decision timed on its own. With `--jre`, `shared/bench/jre.js` runs the 10- and
//! 100-rule packs, each right after frontdesk's run of the same pack (json-rules-engine 7.3.1 is
//! installed under `target/jre` when missing).
//!
//! With `--load-dir DIR` it writes the 100-rule pack for the daemon instead and stops:
//! `DIR/rules/pack-100.yaml` and `DIR/events.jsonl`, each ticket as a `ticket.created` event
//! whose id is `@ID@`, which `examples/loadgen.rs --events` replaces with a new id per request
//! (`bench/load/side_by_side.sh` with `PACK=100`).

#[path = "../benches/support/pack.rs"]
mod pack;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};
use std::time::{Duration, Instant};

use frontdesk::engine;
use frontdesk::model::Event;

/// Compiles per pack; the median is reported.
const COMPILE_RUNS: usize = 5;
/// Timed passes over all tickets, after one warm-up pass.
const PASSES: usize = 5;
/// The json-rules-engine version the pack's reference figures use.
const JRE_VERSION: &str = "7.3.1";
/// Packs run on json-rules-engine (1000 rules take it minutes per pass).
const JRE_SIZES: [usize; 2] = [10, 100];

/// One engine's figures on one pack.
#[derive(Debug, Clone)]
struct Figures {
    matches: usize,
    checksum: String,
    per_sec: f64,
    /// Per-ticket latency, microseconds.
    p50: f64,
    p99: f64,
}

impl Figures {
    fn line(&self, rules: usize) -> String {
        format!(
            "pack-{rules}: {} matches, checksum {}, {:.0} tickets/s, p50 {:.1} us, p99 {:.1} us",
            self.matches, self.checksum, self.per_sec, self.p50, self.p99
        )
    }

    fn cell(&self) -> String {
        format!(
            "{}/s, {}",
            thousands(self.per_sec),
            latency_pair(self.p50, self.p99)
        )
    }
}

/// frontdesk's result on one pack.
struct Measured {
    rules: usize,
    compile: Duration,
    figures: Figures,
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("pack_bench: {msg}");
    exit(1);
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo run --release --example pack_bench -- [--jre] [--load-dir DIR] [OUT_DIR]"
    );
    exit(2);
}

/// The pack the daemon is loaded with by `--load-dir`.
const LOAD_RULES: usize = 100;

/// Writes the 100-rule pack as a rules directory and the tickets as events for `loadgen`.
fn write_load(pack_dir: &Path, dir: &Path, events: &[Event]) -> Result<(), String> {
    let yaml = pack::pack_yaml(pack_dir, LOAD_RULES)?;
    pack::compile(LOAD_RULES, &yaml)?;
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).map_err(|e| format!("{}: {e}", rules.display()))?;
    let file = rules.join(format!("pack-{LOAD_RULES}.yaml"));
    std::fs::write(&file, yaml).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut lines = String::new();
    for e in events {
        let mut v = serde_json::to_value(e).map_err(|e| e.to_string())?;
        v["id"] = "@ID@".into();
        lines.push_str(&v.to_string());
        lines.push('\n');
    }
    let file = dir.join("events.jsonl");
    std::fs::write(&file, lines).map_err(|e| format!("{}: {e}", file.display()))?;
    println!(
        "{}: pack-{LOAD_RULES}, {} events",
        dir.display(),
        events.len()
    );
    Ok(())
}

fn main() {
    let mut with_jre = false;
    let mut out: Option<PathBuf> = None;
    let mut load_dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--jre" => with_jre = true,
            "--load-dir" => load_dir = Some(args.next().unwrap_or_else(|| usage()).into()),
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => {
                eprintln!("pack_bench: unknown option `{s}`");
                usage();
            }
            s if out.is_none() => out = Some(PathBuf::from(s)),
            _ => usage(),
        }
    }
    let out =
        out.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-pack"));
    if cfg!(debug_assertions) {
        eprintln!("pack_bench: warning: debug build; run with --release for meaningful figures");
    }

    pack::generate(&out).unwrap_or_else(|e| fail(format!("cannot generate the pack: {e}")));
    let events = pack::load_events(&out).unwrap_or_else(|e| fail(e));
    if let Some(dir) = load_dir {
        write_load(&out, &dir, &events).unwrap_or_else(|e| fail(e));
        return;
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "pack in {}: {} tickets; {cpus} CPUs; {COMPILE_RUNS} compiles, 1 warm-up + {PASSES} timed passes per pack\n",
        out.display(),
        events.len()
    );

    // json-rules-engine runs right after frontdesk on each pack, so both see the same load.
    let mut modules = if with_jre {
        match prepare_jre() {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("pack_bench: json-rules-engine not measured: {e}");
                None
            }
        }
    } else {
        None
    };
    let mut ours = Vec::new();
    let mut jre = Vec::new();
    for rules in pack::SIZES {
        let m = measure(&out, rules, &events);
        println!(
            "frontdesk         {}, compile {}",
            m.figures.line(rules),
            duration(m.compile)
        );
        ours.push(m);
        let Some(node_modules) = modules.as_deref().filter(|_| JRE_SIZES.contains(&rules)) else {
            continue;
        };
        match run_jre(node_modules, &out, rules) {
            Ok(f) => {
                println!("json-rules-engine {}", f.line(rules));
                if let Err(e) = pack::verify(rules, f.matches, &f.checksum) {
                    eprintln!("pack_bench: json-rules-engine CHECKSUM MISMATCH: {e}");
                }
                jre.push((rules, f));
            }
            Err(e) => {
                eprintln!("pack_bench: json-rules-engine stopped: {e}");
                modules = None;
            }
        }
    }
    let jre = (!jre.is_empty()).then_some(jre);

    println!();
    if let Some(jre) = &jre {
        for (rules, j) in jre {
            let Some(m) = ours.iter().find(|m| m.rules == *rules) else {
                continue;
            };
            println!("pack-{rules}:");
            println!("  frontdesk          {}", m.figures.line(*rules));
            println!("  json-rules-engine  {}", j.line(*rules));
            println!(
                "  ratio: {:.1}x the throughput, p50 {:.1}x lower, p99 {:.1}x lower",
                m.figures.per_sec / j.per_sec,
                j.p50 / m.figures.p50,
                j.p99 / m.figures.p99
            );
        }
        println!();
    }

    print_table(&ours, jre.as_deref());

    let by = |n: usize| ours.iter().find(|m| m.rules == n).map(|m| &m.figures);
    if let (Some(hundred), Some(thousand)) = (by(100), by(1000)) {
        println!(
            "\n1000-rule / 100-rule slowdown: {:.2}x (throughput), {:.2}x (p50), {:.2}x (p99)",
            hundred.per_sec / thousand.per_sec,
            thousand.p50 / hundred.p50,
            thousand.p99 / hundred.p99
        );
    }
}

/// Compiles, verifies and times one pack.
fn measure(dir: &Path, rules: usize, events: &[Event]) -> Measured {
    let yaml = pack::pack_yaml(dir, rules).unwrap_or_else(|e| fail(e));
    let mut compiles = Vec::with_capacity(COMPILE_RUNS);
    let mut config = None;
    for _ in 0..COMPILE_RUNS {
        let start = Instant::now();
        let c = pack::compile(rules, &yaml)
            .unwrap_or_else(|e| fail(format!("pack-{rules} does not compile:\n{e}")));
        compiles.push(start.elapsed());
        config = Some(c);
    }
    compiles.sort();
    let config = config.expect("compiled at least once");

    let (matches, checksum) = pack::run(&config, events);
    if let Err(e) = pack::verify(rules, matches, &checksum) {
        fail(format!("CHECKSUM MISMATCH: {e}"));
    }

    let now = pack::now();
    for e in events {
        black_box(engine::decide(&config, &e.ticket, e, now));
    }
    let mut lat = Vec::with_capacity(events.len() * PASSES);
    let mut total = Duration::ZERO;
    for _ in 0..PASSES {
        let pass = Instant::now();
        for e in events {
            let start = Instant::now();
            let d = engine::decide(&config, &e.ticket, e, now);
            lat.push(start.elapsed());
            black_box(d);
        }
        total += pass.elapsed();
    }
    lat.sort_unstable();
    Measured {
        rules,
        compile: compiles[compiles.len() / 2],
        figures: Figures {
            matches,
            checksum,
            per_sec: (events.len() * PASSES) as f64 / total.as_secs_f64(),
            p50: micros(percentile(&lat, 0.50)),
            p99: micros(percentile(&lat, 0.99)),
        },
    }
}

/// The `q` quantile of sorted samples (nearest rank below, as `jre.js` computes it).
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((q * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Installs json-rules-engine under `target/jre` if it is not there; returns the
/// `node_modules` directory node must search.
fn prepare_jre() -> Result<PathBuf, String> {
    let prefix = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/jre");
    let modules = prefix.join("node_modules");
    let installed = std::fs::read_to_string(modules.join("json-rules-engine/package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v.get("version")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
    if installed.as_deref() != Some(JRE_VERSION) {
        let spec = format!("json-rules-engine@{JRE_VERSION}");
        println!("installing {spec} into {}", prefix.display());
        std::fs::create_dir_all(&prefix)
            .map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
        let status = Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&prefix)
            .arg(&spec)
            .status()
            .map_err(|e| format!("cannot run npm (is Node.js installed?): {e}"))?;
        if !status.success() {
            return Err(format!(
                "`npm install --prefix {} {spec}` failed ({status}); install it by hand and rerun",
                prefix.display()
            ));
        }
    }
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    println!(
        "json-rules-engine {JRE_VERSION} on node {} (NODE_PATH={})\n",
        String::from_utf8_lossy(&node.stdout).trim(),
        modules.display()
    );
    Ok(modules)
}

/// Runs `node jre.js DIR N` and reads its figures.
fn run_jre(modules: &Path, dir: &Path, rules: usize) -> Result<Figures, String> {
    let script = pack::shared_dir().join("jre.js");
    let output = Command::new("node")
        .env("NODE_PATH", modules)
        .arg(&script)
        .arg(dir)
        .arg(rules.to_string())
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "node {} failed ({}):\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    match parse_jre_line(line) {
        Some((n, f)) if n == rules => Ok(f),
        _ => Err(format!(
            "unexpected output from {}: {stdout}",
            script.display()
        )),
    }
}

/// Reads `pack-N: M matches, checksum C, T tickets/s, p50 X us, p99 Y us`.
fn parse_jre_line(line: &str) -> Option<(usize, Figures)> {
    let (head, rest) = line.split_once(": ")?;
    let rules = head.strip_prefix("pack-")?.parse().ok()?;
    let parts: Vec<&str> = rest.split(", ").collect();
    let [matches, checksum, per_sec, p50, p99] = parts.as_slice() else {
        return None;
    };
    Some((
        rules,
        Figures {
            matches: matches.strip_suffix(" matches")?.parse().ok()?,
            checksum: checksum.strip_prefix("checksum ")?.to_string(),
            per_sec: per_sec.strip_suffix(" tickets/s")?.parse().ok()?,
            p50: p50
                .strip_prefix("p50 ")?
                .strip_suffix(" us")?
                .parse()
                .ok()?,
            p99: p99
                .strip_prefix("p99 ")?
                .strip_suffix(" us")?
                .parse()
                .ok()?,
        },
    ))
}

fn print_table(ours: &[Measured], jre: Option<&[(usize, Figures)]>) {
    let header: Vec<String> = ours.iter().map(|m| format!("pack-{}", m.rules)).collect();
    println!("| engine | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(ours.len()));
    let row = |label: &str, cells: Vec<String>| println!("| {label} | {} |", cells.join(" | "));
    row(
        "frontdesk (tickets/s, p50 / p99 per ticket)",
        ours.iter().map(|m| m.figures.cell()).collect(),
    );
    row(
        &format!("frontdesk compile (median of {COMPILE_RUNS})"),
        ours.iter().map(|m| duration(m.compile)).collect(),
    );
    let Some(jre) = jre else { return };
    let find = |n: usize| jre.iter().find(|(r, _)| *r == n).map(|(_, f)| f);
    row(
        &format!("json-rules-engine {JRE_VERSION} (tickets/s, p50 / p99 per ticket)"),
        ours.iter()
            .map(|m| find(m.rules).map_or_else(|| "not run".to_string(), Figures::cell))
            .collect(),
    );
    row(
        "frontdesk / json-rules-engine (throughput; p50)",
        ours.iter()
            .map(|m| match find(m.rules) {
                Some(j) => format!(
                    "{:.1}x; {:.1}x",
                    m.figures.per_sec / j.per_sec,
                    j.p50 / m.figures.p50
                ),
                None => "–".to_string(),
            })
            .collect(),
    );
}

/// `12,345`
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `9.0 / 14.8 µs`, or in ms when the p99 reaches a millisecond.
fn latency_pair(p50: f64, p99: f64) -> String {
    if p99 >= 1000.0 {
        format!("{:.2} / {:.2} ms", p50 / 1000.0, p99 / 1000.0)
    } else {
        format!("{p50:.1} / {p99:.1} µs")
    }
}

fn duration(d: Duration) -> String {
    let us = micros(d);
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}
