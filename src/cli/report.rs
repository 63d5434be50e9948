//! `frontdesk report`: the KPI report of a range (`docs/kpis.md`) as a terminal table with a
//! sparkline per day, or as the JSON and CSV of `GET /v1/reports/kpis`.

use std::process::ExitCode;

use chrono::{Duration, Utc};

use super::store::{runtime, StoreArg};
use crate::kpi::{self, Interval, Query};
use crate::service::reports::{parse_span, parse_time};

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreArg,
    /// The range back from now: `7d`, `12h`, `4w`.
    #[arg(long, default_value = "7d", conflicts_with = "from")]
    since: String,
    /// Start of the range (RFC 3339, or a span back from now such as `30d`).
    #[arg(long)]
    from: Option<String>,
    /// End of the range (RFC 3339, or a span back from now; default now).
    #[arg(long)]
    to: Option<String>,
    /// Figures per team, group, agent, channel, priority or language too.
    #[arg(long)]
    group_by: Option<String>,
    /// Buckets: day or week (the table's sparklines are per day by default).
    #[arg(long)]
    interval: Option<String>,
    /// Print the report as JSON (as `GET /v1/reports/kpis`).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the report as CSV: one row per group or bucket.
    #[arg(long)]
    csv: bool,
}

/// Reads the options into a query, naming the option that is wrong.
fn query(args: &Args, now: chrono::DateTime<Utc>) -> anyhow::Result<Query> {
    let named =
        |option: &str, e: crate::service::Error| anyhow::anyhow!("--{option}: {}", e.message);
    let to = match &args.to {
        Some(s) => parse_time("to", s, now).map_err(|e| named("to", e))?,
        None => now,
    };
    let from = match &args.from {
        Some(s) => parse_time("from", s, now).map_err(|e| named("from", e))?,
        None => {
            let span = parse_span(&args.since).ok_or_else(|| {
                anyhow::anyhow!(
                    "--since: `{}` is not a span back from now (7d, 12h, 30m, 4w)",
                    args.since
                )
            })?;
            to - span
        }
    };
    let group_by = args
        .group_by
        .as_deref()
        .map(kpi::parse_dim)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--group-by: {}", e.message))?;
    let interval = match args.interval.as_deref() {
        Some(s) => {
            Some(kpi::parse_interval(s).map_err(|e| anyhow::anyhow!("--interval: {}", e.message))?)
        }
        // The table shows a sparkline per day; JSON and CSV give buckets only when asked.
        None if !args.json && !args.csv && to - from <= Duration::days(92) => Some(Interval::Day),
        None => None,
    };
    Query::new(from, to, group_by, interval).map_err(|e| {
        // Name the option the range came from.
        let option = match (e.field, &args.from, &args.to) {
            (_, None, _) => "since",
            ("to", Some(_), None) => "from",
            (f, _, _) => f,
        };
        anyhow::anyhow!("--{option}: {}", e.message)
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let q = query(&args, Utc::now())?;
    let report = runtime()?.block_on(async {
        let store = args.store.open().await?;
        let r = store.kpi_report(&q).await;
        store.close().await;
        anyhow::Ok(r?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.csv {
        print!("{}", kpi::csv(&report));
    } else {
        print!("{}", kpi::text(&report));
    }
    Ok(ExitCode::SUCCESS)
}
