//! `frontdesk replay`: the recorded events decided again against a candidate rule pack in
//! virtual time ([`crate::replay`], `docs/replay.md`): which rules fire more or less, which
//! tickets get other actions, and what that does to the KPIs the rules determine. Nothing is
//! delivered and nothing is written.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::load;
use super::store::{runtime, StoreArg};
use crate::engine::Decision;
use crate::replay::{self, Recorded, Replay};
use crate::service::replay::EventPages;
use crate::service::reports::parse_time;

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The candidate rules directory.
    #[arg(long)]
    rules: PathBuf,
    /// FAQ bots directory (default: `bots/` beside the rules directory, when there is one).
    #[arg(long, env = "FRONTDESK_BOTS")]
    bots: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
    /// Read the events from a file written by `frontdesk export events` (`-`: standard
    /// input) instead of the store (`--store` is then not read).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Events received since: a span back from now (`7d`, `12h`) or an RFC 3339 time.
    /// Default: 7d from a store, every line of a file.
    #[arg(long)]
    since: Option<String>,
    /// Changed tickets listed with their actions (the rest are counted).
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The secret the daemon signs survey links with, so replies with links compare equal.
    #[arg(long, env = "FRONTDESK_CSAT_SECRET", hide_env_values = true)]
    csat_secret: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // A pack that does not compile: every diagnostic (printed by `load`), nothing run.
    let Ok(config) = load(&args.rules, args.bots.as_deref()) else {
        return Ok(ExitCode::FAILURE);
    };
    let since = match &args.since {
        Some(s) => Some(
            parse_time("since", s, Utc::now())
                .map_err(|e| anyhow::anyhow!("--since: {}", e.message))?,
        ),
        None => None,
    };
    let csat_secret = match args.csat_secret.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(
            crate::csat::Secret::new(s.as_bytes())
                .map_err(|e| anyhow::anyhow!("FRONTDESK_CSAT_SECRET: {e}"))?,
        ),
    };
    let options = replay::Options {
        csat_secret,
        max_changed: args.limit,
    };
    let mut replay = Replay::new(&config, options);
    match &args.events {
        Some(path) => from_file(path, since, &mut replay)?,
        None => {
            let since = since.unwrap_or_else(|| Utc::now() - chrono::Duration::days(7));
            from_store(&args.store, since, &mut replay)?
        }
    }
    let report = replay.finish();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", replay::text(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// Feeds the events received since `since` from the store, a page at a time, in the order
/// they were decided.
fn from_store(
    store: &StoreArg,
    since: DateTime<Utc>,
    replay: &mut Replay<'_>,
) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = store.open().await?;
        let mut pages = EventPages::new(&*store, since, None);
        while let Some(page) = pages.next().await? {
            for rec in page {
                replay.feed(rec);
            }
        }
        store.close().await;
        anyhow::Ok(())
    })
}

/// One line of `frontdesk export events`.
#[derive(Deserialize)]
struct Line {
    received_at: DateTime<Utc>,
    event: serde_json::Value,
    decision: Decision,
}

/// Feeds the lines of an exported file (`-`: standard input) in order, those received since
/// `since` when given. A line that cannot be read stops the replay, naming file and line.
fn from_file(
    path: &Path,
    since: Option<DateTime<Utc>>,
    replay: &mut Replay<'_>,
) -> anyhow::Result<()> {
    let (name, reader): (String, Box<dyn BufRead>) = if path == Path::new("-") {
        ("<stdin>".into(), Box::new(std::io::stdin().lock()))
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        (
            path.display().to_string(),
            Box::new(std::io::BufReader::new(file)),
        )
    };
    for (n, line) in reader.lines().enumerate() {
        let at = format!("{name}:{}", n + 1);
        let line = line.with_context(|| at.clone())?;
        if line.trim().is_empty() {
            continue;
        }
        let rec = parse_line(&line).map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
        if since.is_some_and(|s| rec.received_at < s) {
            continue;
        }
        replay.feed(rec);
    }
    Ok(())
}

/// A line of an exported file; the error names the field.
fn parse_line(line: &str) -> Result<Recorded, String> {
    let de = &mut serde_json::Deserializer::from_str(line);
    let l: Line = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            format!("not a JSON line: {inner}")
        } else if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })?;
    let (event, sent) =
        crate::plan::read_recorded_event(l.event).map_err(|e| format!("event.{e}"))?;
    Ok(Recorded {
        received_at: l.received_at,
        event,
        sent,
        decision: l.decision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_names_what_is_wrong() {
        let event = r#"{"id": "e1", "type": "ticket.created", "ticket": {"id": "T"}}"#;
        let decision =
            r#"{"event_id": "e1", "actions": [], "ticket": {"id": "T"}, "trace": {"fired": []}}"#;
        let good = format!(
            r#"{{"seq": 1, "received_at": "2026-11-23T10:00:00Z", "event": {event}, "decision": {decision}}}"#
        );
        let rec = parse_line(&good).unwrap();
        assert_eq!(rec.event.id, "e1");
        assert_eq!(rec.sent, serde_json::json!({"id": "T"}));
        for (line, error) in [
            ("{\"seq\": 1,", "not a JSON line"),
            (r#"{"seq": 1}"#, "missing field `received_at`"),
            (
                &good.replace("2026-11-23T10:00:00Z", "Monday"),
                "received_at: input contains invalid characters",
            ),
            (
                &good.replace("ticket.created", "ticket.made"),
                "event.type: unknown variant `ticket.made`",
            ),
        ] {
            let e = parse_line(line).unwrap_err();
            assert!(e.starts_with(error), "{line}: {e}");
        }
    }
}
