//! `frontdesk schema`

use std::process::ExitCode;

/// Which schema.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Which {
    /// Rule files (`rules/*.yaml`).
    Rules,
    /// Normalised events (`POST /v1/events`, `frontdesk run --event`).
    Event,
    /// Decisions (the output of `frontdesk run`).
    Decision,
}

/// Arguments of `schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which format.
    #[arg(value_enum, default_value = "rules")]
    which: Which,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let schema = match args.which {
        Which::Rules => crate::config::schema::rule_file(),
        Which::Event => serde_json::to_value(schemars::schema_for!(crate::model::Event))?,
        Which::Decision => serde_json::to_value(schemars::schema_for!(crate::engine::Decision))?,
    };
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
