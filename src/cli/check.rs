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
            if let Some(note) =
                survey_links_note(&config, std::env::var_os("FRONTDESK_CSAT_SECRET").is_some())
            {
                println!("note: {note}");
            }
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

/// What `check` says about survey links when the pack sends surveys that will carry none.
fn survey_links_note(config: &crate::config::Config, secret: bool) -> Option<String> {
    if !config.sends_surveys() {
        return None;
    }
    let missing = match (config.public_url().is_some(), secret) {
        (true, true) => return None,
        (false, _) => "the rules set no `settings.public_url`",
        (true, false) => "FRONTDESK_CSAT_SECRET is not set here (the daemon needs it)",
    };
    Some(format!(
        "surveys will carry no rating links: {missing}; customers can still rate by replying or in the chat (docs/csat.md)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_what_survey_links_lack() {
        let pack = |settings: &str| {
            crate::config::Config::from_yaml(
                "p.yaml",
                &format!("{settings}\nrules:\n  - name: s\n    on: [ticket.status_changed]\n    then: [ {{ survey: \"How did we do?\" }} ]\n"),
            )
            .unwrap()
        };
        let with_url = pack("settings: { public_url: \"https://desk.example\" }");
        assert_eq!(survey_links_note(&with_url, true), None);
        assert!(survey_links_note(&with_url, false)
            .unwrap()
            .contains("FRONTDESK_CSAT_SECRET"));
        assert!(survey_links_note(&pack(""), true)
            .unwrap()
            .contains("settings.public_url"));
        let no_survey = crate::config::Config::from_yaml("p.yaml", "rules: []").unwrap();
        assert_eq!(survey_links_note(&no_survey, false), None);
    }
}
