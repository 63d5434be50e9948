//! `frontdesk init`: writes the example pack (the same files as the repository's `rules/` and
//! `bots/`) into `DIR/rules` and `DIR/bots`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

/// The starter pack, relative path → contents.
pub const STARTER: &[(&str, &str)] = &[
    ("rules/agents.yaml", include_str!("../../rules/agents.yaml")),
    (
        "rules/calendars.yaml",
        include_str!("../../rules/calendars.yaml"),
    ),
    ("rules/faq.yaml", include_str!("../../rules/faq.yaml")),
    (
        "rules/routing.yaml",
        include_str!("../../rules/routing.yaml"),
    ),
    (
        "rules/support.yaml",
        include_str!("../../rules/support.yaml"),
    ),
    ("rules/triage.yaml", include_str!("../../rules/triage.yaml")),
    ("rules/sla.yaml", include_str!("../../rules/sla.yaml")),
    (
        "rules/schedules.yaml",
        include_str!("../../rules/schedules.yaml"),
    ),
    (
        "rules/templates.yaml",
        include_str!("../../rules/templates.yaml"),
    ),
    (
        "rules/scripts/vip.rhai",
        include_str!("../../rules/scripts/vip.rhai"),
    ),
    ("bots/support.yaml", include_str!("../../bots/support.yaml")),
];

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to create (must not exist or be empty); the rules go to `DIR/rules`, the FAQ
    /// bot to `DIR/bots`.
    dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.dir.exists()
        && args
            .dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not empty; choose a new directory",
            args.dir.display()
        );
    }
    for (rel, text) in STARTER {
        let path = args.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} files to {}", STARTER.len(), args.dir.display());
    println!(
        "next: cd {} && frontdesk check && frontdesk test && frontdesk serve",
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
