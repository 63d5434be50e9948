//! `frontdesk run`: decide events from files and print the decisions.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};

use super::{default_rules, load};
use crate::engine::{self, Decision, Outcome};
use crate::model::{Action, Event};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Event files (JSON, or YAML by extension), or directories of them.
    #[arg(long = "event", short = 'e', required = true, num_args = 1..)]
    events: Vec<PathBuf>,
    /// Rules directory.
    #[arg(long, default_value_os_t = default_rules())]
    rules: PathBuf,
    /// FAQ bots directory for `answer_faq` and `intent` (default: `bots/` beside the rules
    /// directory, when there is one).
    #[arg(long, env = "FRONTDESK_BOTS")]
    bots: Option<PathBuf>,
    /// Decision time (RFC 3339); default: the event's `occurred_at`, else now.
    #[arg(long)]
    now: Option<DateTime<chrono::FixedOffset>>,
    /// Print a readable account of every rule instead of JSON.
    #[arg(long)]
    explain: bool,
}

fn event_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    matches!(
                        f.extension().and_then(|e| e.to_str()),
                        Some("json" | "yaml" | "yml")
                    )
                })
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        bail!("no event files found");
    }
    Ok(out)
}

/// Reads an event file; errors name the file and the field.
pub fn read_event(path: &Path) -> anyhow::Result<Event> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let parsed = if yaml {
        serde_yaml::from_str::<serde_json::Value>(&text)
            .map_err(|e| e.to_string())
            .and_then(Event::from_value)
    } else {
        Event::from_json(&text)
    };
    parsed.map_err(|e| anyhow::anyhow!("{}: invalid event: {e}", path.display()))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = event_files(&args.events)?;
    let Ok(config) = load(&args.rules, args.bots.as_deref()) else {
        return Ok(ExitCode::FAILURE);
    };
    let mut ok = true;
    for file in files {
        let event = match read_event(&file) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e:#}");
                ok = false;
                continue;
            }
        };
        let now: DateTime<Utc> = args
            .now
            .map(|t| t.with_timezone(&Utc))
            .or(event.occurred_at)
            .unwrap_or_else(Utc::now);
        if args.explain {
            let d = engine::explain(&config, &event.ticket, &event, now);
            println!(
                "── {} ({} {}, ticket {}, at {})",
                file.display(),
                event.kind,
                event.id,
                event.ticket.id,
                now.to_rfc3339()
            );
            print!("{}", render_trace(&d, "  "));
            print!("{}", render_outcome(&d, "  "));
            println!();
        } else {
            let d = engine::decide(&config, &event.ticket, &event, now);
            println!("{}", serde_json::to_string_pretty(&d)?);
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Every rule's outcome, one line each, with failed conditions and the values seen.
pub fn render_trace(d: &Decision, indent: &str) -> String {
    let mut s = String::new();
    for r in &d.trace.rules {
        let mark = match r.outcome {
            Outcome::Matched => "✔ matched   ",
            Outcome::NotMatched => "✘ no match  ",
            Outcome::OtherEvent => "· other event",
            Outcome::Disabled => "· disabled  ",
            Outcome::Stopped => "· stopped   ",
        };
        let _ = write!(s, "{indent}{mark} {}", r.rule);
        if !r.actions.is_empty() {
            let _ = write!(s, "  → {}", r.actions.join(", "));
        }
        s.push('\n');
        for f in &r.failed {
            let _ = writeln!(
                s,
                "{indent}      {}: {}  (was {})",
                f.path, f.condition, f.actual
            );
        }
    }
    for r in &d.trace.routing {
        let chosen = r.chosen.as_deref().unwrap_or("nobody: the ticket waits");
        let _ = writeln!(
            s,
            "{indent}⇢ {} → team {} ({}): {chosen}",
            r.rule, r.team, r.strategy
        );
        for c in &r.candidates {
            let why = match (&c.skipped, &c.detail) {
                (Some(skip), Some(d)) => format!("skipped: {skip} ({d})"),
                (Some(skip), None) => format!("skipped: {skip}"),
                (None, _) => "could take it".to_string(),
            };
            let _ = writeln!(s, "{indent}      {} [{} open]: {why}", c.agent, c.open);
        }
    }
    for k in &d.trace.keywords {
        let _ = writeln!(s, "{indent}≈ {}: `{}` ← {}", k.field, k.found, k.keyword);
    }
    for e in &d.trace.errors {
        let _ = writeln!(s, "{indent}! error in {} {}: {}", e.rule, e.path, e.message);
    }
    s
}

/// The actions and the ticket's resulting state, readably.
fn render_outcome(d: &Decision, indent: &str) -> String {
    let mut s = String::new();
    if d.actions.is_empty() {
        let _ = writeln!(s, "{indent}actions: none");
    } else {
        let _ = writeln!(s, "{indent}actions:");
    }
    for a in &d.actions {
        let line = match a {
            Action::Reply { text, language, .. } => {
                format!("reply [{}]: {text}", language.as_deref().unwrap_or("-"))
            }
            Action::InternalNote { text } => format!("internal note: {text}"),
            other => serde_json::to_string(other).unwrap_or_default(),
        };
        let line = line.trim_end().replace('\n', &format!("\n{indent}    "));
        let _ = writeln!(s, "{indent}  - {line}");
    }
    for t in &d.timers {
        let _ = writeln!(s, "{indent}timer: {} due {}", t.name, t.due_at.to_rfc3339());
    }
    let t = &d.ticket;
    let _ = writeln!(
        s,
        "{indent}ticket: priority {}, status {}, category {}, tags [{}]",
        t.priority,
        t.status,
        t.category.as_deref().unwrap_or("-"),
        t.tags.join(", ")
    );
    s
}
