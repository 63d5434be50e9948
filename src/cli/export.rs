//! `frontdesk export events`: the recorded events, in the order they were decided, as JSON
//! lines (each with its arrival time and its decision) for `frontdesk replay --events FILE`,
//! an archive or another tool.

use std::io::Write;
use std::process::ExitCode;

use chrono::Utc;
use serde_json::json;

use super::store::{runtime, StoreArg};
use crate::service::reports::parse_time;

/// What `export` writes.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Recorded events as JSON lines:
    /// {"seq", "received_at", "event", "decision"}, oldest first.
    Events {
        #[command(flatten)]
        store: StoreArg,
        /// Events received since: a span back from now (`7d`, `12h`) or an RFC 3339 time.
        #[arg(long, default_value = "7d")]
        since: String,
    },
}

/// Events read per page.
const PAGE: u32 = 2_000;

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Events { store, since } = command;
    let since = parse_time("since", &since, Utc::now())
        .map_err(|e| anyhow::anyhow!("--since: {}", e.message))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = runtime()?.block_on(async {
        let store = store.open().await?;
        let (mut after, mut written) = (0, 0u64);
        loop {
            let page = store.events_page(after, since, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for r in &page {
                let line = json!({
                    "seq": r.seq,
                    "received_at": r.received_at,
                    "event": crate::plan::recorded_event(&r.event, Some(&r.sent))?,
                    "decision": r.decision,
                });
                writeln!(out, "{line}")?;
            }
            written += page.len() as u64;
        }
        out.flush()?;
        store.close().await;
        anyhow::Ok(written)
    })?;
    eprintln!("exported {written} events");
    Ok(ExitCode::SUCCESS)
}
