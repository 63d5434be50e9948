//! `frontdesk test`

use std::path::PathBuf;
use std::process::ExitCode;

use super::{default_rules, load, plural};

/// Arguments of `test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rules directory.
    #[arg(default_value_os_t = default_rules())]
    dir: PathBuf,
    /// FAQ bots directory for `answer_faq` and `intent` (default: `bots/` beside the rules
    /// directory, when there is one).
    #[arg(long, env = "FRONTDESK_BOTS")]
    bots: Option<PathBuf>,
    /// Only tests whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Print the trace of failing tests.
    #[arg(long)]
    explain: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Ok(config) = load(&args.dir, args.bots.as_deref()) else {
        return Ok(ExitCode::FAILURE);
    };
    let (mut passed, mut failed) = (0, 0);
    let mut file = None;
    for t in &config.tests {
        if let Some(f) = &args.filter {
            if !t.name.contains(f.as_str()) {
                continue;
            }
        }
        if file.as_ref() != Some(&t.file) {
            println!("{}", t.file.display());
            file = Some(t.file.clone());
        }
        let (decision, mismatches) = t.run(&config);
        if mismatches.is_empty() {
            passed += 1;
            println!("  ok    {}", t.name);
            continue;
        }
        failed += 1;
        println!("  FAIL  {}  ({}:{})", t.name, t.file.display(), t.pos.line);
        for m in &mismatches {
            println!("        {}:", m.what);
            println!("          - expected {}", m.expected);
            println!("          + got      {}", m.actual);
        }
        if args.explain {
            print!("{}", super::run::render_trace(&decision, "        "));
        } else {
            println!(
                "        fired: [{}]  (--explain for the trace)",
                decision.trace.fired.join(", ")
            );
        }
    }
    println!(
        "{}: {} passed, {} failed",
        args.dir.display(),
        plural(passed, "test"),
        failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
