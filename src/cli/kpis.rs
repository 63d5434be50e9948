//! `frontdesk kpis rebuild`: the KPI facts made again from the recorded events, for a store
//! that holds events decided before facts were kept, or after a change to how they are
//! counted.

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::store::{runtime, StoreArg};
use crate::kpi::Rebuild;

/// What `kpis` does.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Forget the KPI facts and make them again from the events table, in the order the
    /// events were decided. Safe while the daemon runs: facts it writes meanwhile are made
    /// again the same way.
    Rebuild {
        #[command(flatten)]
        store: StoreArg,
    },
}

/// Events read per page.
const PAGE: u32 = 2_000;

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Rebuild { store } = command;
    runtime()?.block_on(async {
        let store = store.open().await?;
        let since = DateTime::<Utc>::UNIX_EPOCH;
        let mut rebuild = Rebuild::new();
        let (mut after, mut events, mut facts, mut first) = (0, 0u64, 0u64, true);
        loop {
            let page = store.events_page(after, since, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let mut batch = Vec::new();
            for r in &page {
                batch.extend(rebuild.push(
                    &r.event,
                    &r.decision.ticket,
                    &r.decision.actions,
                    r.received_at,
                ));
            }
            events += page.len() as u64;
            facts += batch.len() as u64;
            store.put_facts(&batch, first).await?;
            first = false;
        }
        if first {
            store.put_facts(&[], true).await?;
        }
        store.close().await;
        eprintln!("rebuilt {facts} KPI facts from {events} events");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
