//! `frontdesk check`

use std::path::PathBuf;
use std::process::ExitCode;

use super::{default_rules, load, plural};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rules directory.
    #[arg(default_value_os_t = default_rules())]
    dir: PathBuf,
    /// FAQ bots directory for `answer_faq` and `intent` (default: `bots/` beside the rules
    /// directory, when there is one).
    #[arg(long, env = "FRONTDESK_BOTS")]
    bots: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match load(&args.dir, args.bots.as_deref()) {
        Ok(config) => {
            println!(
                "{}: ok — {} in {}, {}, {}, {}, {}, {} ({} keywords in one automaton)",
                args.dir.display(),
                plural(config.rule_count(), "rule"),
                plural(config.files.len(), "file"),
                match config.sla_policies().len() {
                    1 => "1 SLA policy".to_string(),
                    n => format!("{n} SLA policies"),
                },
                plural(config.schedules().len(), "schedule"),
                plural(config.template_count(), "template"),
                plural(config.tests.len(), "test"),
                plural(config.warnings.len(), "warning"),
                config.keyword_count(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            let warnings = diags.items().len() - diags.error_count();
            eprintln!(
                "{}: {}{}",
                args.dir.display(),
                plural(diags.error_count(), "error"),
                if warnings > 0 {
                    format!(", {}", plural(warnings, "warning"))
                } else {
                    String::new()
                }
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
