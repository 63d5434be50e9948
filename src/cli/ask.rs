//! `frontdesk ask`: put questions to an FAQ bot.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use crate::faq::{Answer, Bot};

/// Arguments of `ask`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bot file.
    #[arg(long)]
    bot: PathBuf,
    /// The question; without it, one question per line is read from standard input.
    question: Option<String>,
    /// Print one JSON object per question and line:
    /// {"question", "answer_id", "score", "abstained", "candidates": [{"id", "score"}]}.
    #[arg(long)]
    json: bool,
    /// The customer's language (`en`, `nb-NO`, ...); detected when not given.
    #[arg(long)]
    lang: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(bot) = load_bot(&args.bot) else {
        return Ok(ExitCode::FAILURE);
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let answer = |q: &str, out: &mut dyn Write| -> std::io::Result<()> {
        let a = bot.ask(q, args.lang.as_deref());
        if args.json {
            writeln!(out, "{}", json_line(q, &a))
        } else {
            write!(out, "{}", readable(&a))
        }
    };
    match &args.question {
        Some(q) => answer(q, &mut out)?,
        None => {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            let mut line = Vec::new();
            loop {
                line.clear();
                if input.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                let q = String::from_utf8_lossy(&line);
                answer(&q, &mut out)?;
                out.flush()?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads a bot, printing its diagnostics (errors and warnings) to stderr.
pub(super) fn load_bot(path: &Path) -> Option<Bot> {
    load_bot_with(path, crate::faq::Options::default())
}

/// The same with other matcher settings.
pub(super) fn load_bot_with(path: &Path, options: crate::faq::Options) -> Option<Bot> {
    match Bot::load_with(path, options) {
        Ok(bot) => {
            for w in bot.warnings() {
                eprintln!("{w}");
            }
            Some(bot)
        }
        Err(diags) => {
            eprint!("{diags}");
            eprintln!(
                "{}: {}",
                path.display(),
                super::plural(diags.error_count(), "error")
            );
            None
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The stable one-line JSON form of an answer.
fn json_line(question: &str, a: &Answer) -> String {
    let candidates: Vec<_> = a
        .candidates
        .iter()
        .map(|(id, s)| json!({"id": id, "score": round(*s)}))
        .collect();
    json!({
        "question": question,
        "answer_id": a.answer_id,
        "score": round(a.score),
        "abstained": a.abstained,
        "candidates": candidates,
    })
    .to_string()
}

fn readable(a: &Answer) -> String {
    let head = match &a.answer_id {
        Some(id) => format!("{id} ({:.2}, {})", a.score, a.language),
        None => format!("no answer ({:.2} is below the threshold)", a.score),
    };
    let mut s = head;
    if let Some(t) = &a.text {
        s.push_str(": ");
        s.push_str(t);
    }
    s.push('\n');
    let c: Vec<String> = a
        .candidates
        .iter()
        .map(|(id, p)| format!("{id} {p:.2}"))
        .collect();
    s.push_str(&format!("  candidates: {}\n", c.join(", ")));
    s
}
