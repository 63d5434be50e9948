//! The `frontdesk` command: one module per subcommand.

mod ask;
mod check;
mod eval;
mod export;
mod init;
mod kpis;
mod replay;
mod report;
mod run;
mod schema;
mod serve;
mod store;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::config::{Config, Diagnostics};

/// Rule-driven triage and chatbot engine for helpdesks.
#[derive(Debug, Parser)]
#[command(name = "frontdesk", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: the webhook API, the store and the timer scheduler.
    Serve(Box<serve::Args>),
    /// Check a rule pack: report every problem with file:line:col (exit 1 on any error).
    Check(check::Args),
    /// Run the `tests:` of a rule pack (exit 1 on any failure).
    Test(test::Args),
    /// Decide one or more events and print the decision.
    Run(run::Args),
    /// Write a working starter rule pack into a new directory.
    Init(init::Args),
    /// Print a JSON Schema (rule files by default) for editors and validators.
    Schema(schema::Args),
    /// Ask an FAQ bot: one question, or one per line of standard input.
    Ask(ask::Args),
    /// Run an FAQ bot's tests, or measure the FAQ matcher on labelled questions.
    Eval(eval::Args),
    /// Print the desk's KPIs: tickets, first response, resolution, SLA, first-contact
    /// resolution, satisfaction, bot deflection.
    Report(report::Args),
    /// Keep the KPI facts: `kpis rebuild` makes them again from the recorded events.
    #[command(subcommand)]
    Kpis(kpis::Command),
    /// Export what the store recorded: `export events` as JSON lines.
    #[command(subcommand)]
    Export(export::Command),
    /// Decide the recorded events again against a candidate rule pack, in virtual time, and
    /// show what would change: rules fired, actions per ticket, KPIs. Delivers and writes
    /// nothing.
    Replay(Box<replay::Args>),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Runs the command line; the exit code says whether it succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        stop_quietly_on_a_closed_pipe();
    }
    let result = match cli.command {
        Command::Serve(a) => serve::run(*a),
        Command::Check(a) => check::run(a),
        Command::Test(a) => test::run(a),
        Command::Run(a) => run::run(a),
        Command::Init(a) => init::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Ask(a) => ask::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Report(a) => report::run(a),
        Command::Kpis(c) => kpis::run(c),
        Command::Export(c) => export::run(c),
        Command::Replay(a) => replay::run(*a),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "frontdesk",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The command-line tools stop quietly when whoever reads their output goes away
/// (`frontdesk schema | head`), as `cat` and `grep` do. Rust starts programs with SIGPIPE
/// ignored, which turns that into an error or a panic at the next print. The daemon keeps it
/// ignored: a client hanging up concerns that connection only.
fn stop_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The default rules directory.
fn default_rules() -> PathBuf {
    PathBuf::from("rules")
}

/// The bots directory to load with a rules directory: the one named, else `bots/` beside the
/// rules directory when there is one.
fn bots_dir(rules: &std::path::Path, named: Option<&std::path::Path>) -> Option<PathBuf> {
    match named {
        Some(dir) => Some(dir.to_path_buf()),
        None => crate::config::default_bots_dir(rules),
    }
}

/// Loads a pack and its FAQ bots, printing the diagnostics (errors and warnings) to stderr.
fn load(dir: &std::path::Path, bots: Option<&std::path::Path>) -> Result<Config, Diagnostics> {
    match Config::load_with_bots(dir, bots_dir(dir, bots).as_deref()) {
        Ok(config) => {
            for w in &config.warnings {
                eprintln!("{w}");
            }
            Ok(config)
        }
        Err(diags) => {
            eprint!("{diags}");
            Err(diags)
        }
    }
}

/// "1 error" / "3 errors".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
