//! `frontdesk init`: writes the example pack (the same files as the repository's `rules/`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

/// The starter pack, relative path → contents.
pub const STARTER: &[(&str, &str)] = &[
    ("calendars.yaml", include_str!("../../rules/calendars.yaml")),
    ("support.yaml", include_str!("../../rules/support.yaml")),
    ("triage.yaml", include_str!("../../rules/triage.yaml")),
    ("templates.yaml", include_str!("../../rules/templates.yaml")),
    (
        "scripts/vip.rhai",
        include_str!("../../rules/scripts/vip.rhai"),
    ),
];

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to create (must not exist or be empty).
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
        "next: frontdesk check {0} && frontdesk test {0}",
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
