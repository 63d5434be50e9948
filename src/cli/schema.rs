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
    /// The daemon's HTTP API (OpenAPI 3.1), as served at /openapi.json.
    Openapi,
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
        Which::Openapi => crate::server::openapi_document(),
    };
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
