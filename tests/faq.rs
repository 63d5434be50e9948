//! FAQ bots: the example bot passes its own tests, bot files get precise diagnostics, bad input
//! never breaks the matcher, answers are deterministic, and `frontdesk ask --json` keeps its
//! contract. Accuracy is checked on a small fixed slice of BANKING77 with a margin; timing
//! never is (that is `benches/faq.rs` and `frontdesk eval`).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::snapshot;
use frontdesk::faq::{Bot, BotSet, ChatText};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example bot, trained once for all tests of this file.
fn support() -> &'static Bot {
    static BOT: OnceLock<Bot> = OnceLock::new();
    BOT.get_or_init(|| match Bot::load(&root().join("bots/support.yaml")) {
        Ok(bot) => bot,
        Err(d) => panic!("bots/support.yaml does not compile:\n{d}"),
    })
}

#[test]
fn the_example_bot_compiles_clean_and_passes_its_tests() {
    let bot = support();
    assert!(bot.warnings().is_empty(), "{:?}", bot.warnings());
    assert_eq!(bot.name(), "support");
    assert_eq!(bot.languages(), ["en", "nb", "da", "ar", "zh"]);
    assert!(bot.entries().len() >= 30, "{}", bot.entries().len());
    assert!(bot.tests().len() >= 30);
    let failed: Vec<String> = bot
        .run_tests()
        .into_iter()
        .filter(|o| !o.passed)
        .map(|o| {
            format!(
                "{:?}: expected {:?}, got {:?} ({:.2}, {:?})",
                o.test.ask, o.test.expect, o.answer.answer_id, o.answer.score, o.answer.candidates
            )
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn every_entry_answers_in_every_language() {
    let bot = support();
    for e in bot.entries() {
        for lang in bot.languages() {
            let text = e.answer(lang, bot.default_language()).unwrap();
            let back = bot.ask(text, Some(lang));
            assert!(!text.is_empty(), "{} [{lang}]", e.id);
            // An answer's own text is not a question, but it must never break anything.
            assert!(back.score >= 0.0 && back.score <= 1.0);
        }
    }
}

#[test]
fn answers_come_in_the_customers_language() {
    let bot = support();
    let cases = [
        ("Hvor er bestillingen min?", None, "nb"),
        ("Hvornår kommer min pakke?", None, "da"),
        ("hvor er pakken min?", None, "nb"),
        ("hvor er min pakke", None, "da"),
        ("أين طلبي؟", None, "ar"),
        ("我的订单在哪里？", None, "zh"),
        ("Where is my order?", None, "en"),
        ("Where is my order?", Some("nb-NO"), "nb"),
        // A language the bot lacks: the default language.
        ("Where is my order?", Some("fr"), "en"),
        ("Où est ma commande ?", Some("fr-FR"), "en"),
    ];
    for (q, lang, want) in cases {
        let a = bot.ask(q, lang);
        assert_eq!(a.language, want, "{q:?} {lang:?}: {a:?}");
        assert!(a.text.is_some(), "{q:?}: {a:?}");
    }
    let a = bot.ask("Where is my order?", Some("nb"));
    assert_eq!(a.answer_id.as_deref(), Some("order_status"));
    assert!(a.text.unwrap().starts_with("Du kan følge bestillingen"));
}

#[test]
fn bad_input_is_refused_not_fatal() {
    let bot = support();
    let huge = "where is my order ".repeat(6_000); // ≈ 108 KB
    let binary =
        String::from_utf8_lossy(&(0..=255u8).cycle().take(4096).collect::<Vec<_>>()).into_owned();
    let cases: Vec<(String, bool)> = vec![
        (String::new(), false),
        ("   \t ".into(), false),
        ("?!?!... ---".into(), false),
        ("🙂🙂🙂 👍".into(), false),
        ("\u{200f}\u{202e}\u{200d}".into(), false),
        (binary, false),
        ("x".repeat(200_000), false),
        (huge, true),
        ("where is my order 🙂".into(), true),
        ("‏أين طلبي؟‏".into(), true),
        ("my 密码 is forgotten, نسيت كلمة المرور".into(), true),
    ];
    for (q, may_answer) in &cases {
        let a = bot.ask(q, None);
        let shown: String = q.chars().take(40).collect();
        assert!((0.0..=1.0).contains(&a.score), "{shown:?}: {a:?}");
        assert!(a.candidates.len() <= 3);
        if !may_answer {
            assert!(a.abstained, "{shown:?}: {a:?}");
            assert!(a.answer_id.is_none());
            // The fallback text, in the default language.
            assert_eq!(a.language, "en");
            assert!(a.text.as_deref().unwrap().starts_with("Sorry"));
        }
        for lang in [Some("xx"), Some(""), Some("zh-Hant-TW"), Some("ar-EG")] {
            let _ = bot.ask(q, lang);
        }
    }
}

#[test]
fn answers_are_deterministic() {
    let text = std::fs::read_to_string(root().join("bots/support.yaml")).unwrap();
    let again = Bot::from_yaml("support.yaml", &text).unwrap();
    for q in [
        "I forgot my pasword",
        "hvor er pakken min",
        "كيف ألغي طلبي",
        "运费多少",
        "what is the meaning of life",
    ] {
        assert_eq!(support().ask(q, None), again.ask(q, None), "{q}");
    }
}

#[test]
fn the_example_bot_on_questions_written_apart_from_it() {
    // examples/faq/support-heldout.*: 320 questions in five languages for the bot's entries and
    // 40 it should refuse, written without its questions. Measured: top-1 297, answered right
    // 269, wrong 8, off-topic answered 0 (docs/faq.md); the bounds leave room for small changes.
    let read = |name: &str| -> Vec<String> {
        std::fs::read_to_string(root().join("examples/faq").join(name))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let (questions, gold) = (
        read("support-heldout.questions"),
        read("support-heldout.gold"),
    );
    assert_eq!(questions.len(), 360);
    assert_eq!(gold.len(), questions.len());
    let bot = support();
    let ids: Vec<&str> = bot.entries().iter().map(|e| e.id.as_str()).collect();
    let (mut top1, mut right, mut wrong, mut off_topic_answered) = (0, 0, 0, 0);
    for (q, want) in questions.iter().zip(&gold) {
        let a = bot.ask(q, None);
        if want == "abstain" {
            off_topic_answered += usize::from(!a.abstained);
            continue;
        }
        assert!(ids.contains(&want.as_str()), "{want}");
        top1 += usize::from(a.candidates.first().map(|c| c.0.as_str()) == Some(want.as_str()));
        match a.answer_id.as_deref() {
            Some(id) if id == want => right += 1,
            Some(_) => wrong += 1,
            None => {}
        }
    }
    assert!(top1 >= 285, "top-1 {top1} of 320");
    assert!(right >= 250, "answered right {right} of 320");
    assert!(wrong <= 12, "answered wrong {wrong} of 320");
    assert!(
        off_topic_answered <= 1,
        "{off_topic_answered} of 40 off-topic answered"
    );
}

#[test]
fn a_bot_is_shared_between_threads() {
    let bot = support();
    let answers: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| bot.ask("how do I return an item", None)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(answers[0].answer_id.as_deref(), Some("return_item"));
}

#[test]
fn a_bot_directory_loads_as_a_set() {
    let dir = tempfile::tempdir().unwrap();
    let bot = |name: &str| format!("bot: {name}\nlanguages: [en]\nfaq:\n{ENTRY}");
    std::fs::write(dir.path().join("a.yaml"), bot("shop")).unwrap();
    std::fs::write(dir.path().join("b.yml"), bot("desk")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a bot").unwrap();
    let set = BotSet::load(dir.path()).unwrap();
    assert_eq!(set.len(), 2);
    let names: Vec<&str> = set.iter().map(|b| b.name()).collect();
    assert_eq!(names, ["desk", "shop"]);
    let a = set.get("shop").unwrap().ask("when are you open", None);
    assert_eq!(a.answer_id.as_deref(), Some("hours"));

    std::fs::write(dir.path().join("c.yaml"), bot("shop")).unwrap();
    let err = BotSet::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("c.yaml: bot `shop` is already defined in"),
        "{err}"
    );
}

fn diagnostics(yaml: &str) -> Vec<String> {
    match Bot::from_yaml("b.yaml", yaml) {
        Ok(_) => Vec::new(),
        Err(d) => d.items().iter().map(|d| d.to_string()).collect(),
    }
}

const HEAD: &str = "bot: demo\nlanguages: [en, nb]\n";
const ENTRY: &str = "  - id: hours\n    questions: [When are you open?]\n    answer: 9-17\n";

#[test]
fn each_mistake_in_a_bot_file_is_named_with_its_place() {
    let cases: &[(&str, String)] = &[
        (
            "malformed yaml",
            format!("{HEAD}faq: [\n"),
        ),
        (
            "empty file",
            String::new(),
        ),
        (
            "unknown top-level key",
            format!("{HEAD}greting: hi\nfaq:\n{ENTRY}"),
        ),
        (
            "missing faq",
            HEAD.into(),
        ),
        (
            "a bot without entries",
            format!("{HEAD}faq: []\n"),
        ),
        (
            "unknown language",
            "bot: demo\nlanguages: [en, nob]\nfaq:\n  - id: a\n    questions: [x]\n    answer: y\n".into(),
        ),
        (
            "default language not among the languages",
            format!("{HEAD}default_language: da\nfaq:\n{ENTRY}"),
        ),
        (
            "threshold out of range",
            format!("{HEAD}threshold: 1.5\nfaq:\n{ENTRY}"),
        ),
        (
            "unknown entry field",
            format!("{HEAD}faq:\n{ENTRY}    qestions: [x]\n"),
        ),
        (
            "duplicate id",
            format!("{HEAD}faq:\n{ENTRY}{ENTRY}"),
        ),
        (
            "empty questions",
            format!("{HEAD}faq:\n  - id: a\n    questions: []\n    answer: y\n"),
        ),
        (
            "a question with nothing to match",
            format!("{HEAD}faq:\n  - id: a\n    questions: [\"?!\"]\n    answer: y\n"),
        ),
        (
            "questions in a language the bot lacks",
            format!("{HEAD}faq:\n  - id: a\n    questions: {{ en: [x], da: [y] }}\n    answer: y\n"),
        ),
        (
            "no answer",
            format!("{HEAD}faq:\n  - id: a\n    questions: [x]\n"),
        ),
        (
            "both answer and answers",
            format!("{HEAD}faq:\n  - id: a\n    questions: [x]\n    answer: y\n    answers: {{ en: y }}\n"),
        ),
        (
            "a link that is not one",
            format!("{HEAD}faq:\n{ENTRY}    links: [www.example.com]\n"),
        ),
        (
            "reserved id",
            format!("{HEAD}faq:\n  - id: abstain\n    questions: [x]\n    answer: y\n"),
        ),
        (
            "test expecting an unknown entry",
            format!("{HEAD}faq:\n{ENTRY}tests:\n  - {{ ask: when do you open, expect: hour }}\n"),
        ),
        (
            "unknown feedback text",
            format!("{HEAD}feedback: {{ yess: Sure }}\nfaq:\n{ENTRY}"),
        ),
        (
            "feedback in a language the bot lacks",
            format!("{HEAD}feedback:\n  question: {{ en: Helped?, da: Hjalp det? }}\nfaq:\n{ENTRY}"),
        ),
        (
            "two quick replies that read the same",
            format!("{HEAD}feedback:\n  no: {{ nb: JA! }}\nfaq:\n{ENTRY}"),
        ),
        (
            "a misspelt placeholder",
            format!("{HEAD}handoff:\n  expected: \"We answer {{expected_respons}}.\"\nfaq:\n{ENTRY}"),
        ),
        (
            "a placeholder the text does not take",
            format!("{HEAD}handoff:\n  closed: {{ nb: \"Tilbake {{back}}\" }}\nfaq:\n{ENTRY}"),
        ),
        (
            "a placeholder in a feedback text",
            format!("{HEAD}feedback: {{ thanks: \"Thanks {{name}}\" }}\nfaq:\n{ENTRY}"),
        ),
        (
            "handoff after zero questions",
            format!("{HEAD}handoff: {{ after: 0 }}\nfaq:\n{ENTRY}"),
        ),
    ];
    insta::assert_snapshot!(snapshot::cases(
        cases.iter().map(|(what, yaml)| (what, diagnostics(yaml)))
    ));
}

#[test]
fn chat_texts_have_defaults_per_language_and_bot_files_override_them() {
    let bot = Bot::from_yaml(
        "b.yaml",
        &format!("{HEAD}feedback:\n  person: {{ nb: \"Et menneske, takk\" }}\nhandoff:\n  expected: \"A person replies {{expected_response}}.\"\nfaq:\n{ENTRY}"),
    )
    .unwrap();
    assert_eq!(bot.chat_text(ChatText::Person, "nb"), "Et menneske, takk");
    assert_eq!(bot.chat_text(ChatText::Person, "en"), "Talk to a person");
    assert_eq!(
        bot.chat_text(ChatText::Expected, "en"),
        "A person replies {expected_response}."
    );
    // Overridden in the default language only: other languages keep their built-in text.
    assert_eq!(
        bot.chat_text(ChatText::Expected, "nb"),
        "Noen svarer deg {expected_response}."
    );
    assert_eq!(
        bot.chat_text(ChatText::FeedbackQuestion, "nb-NO"),
        "Fikk du svar på spørsmålet ditt?"
    );
    // A language the bot lacks gets the default language's text.
    assert_eq!(bot.chat_text(ChatText::Yes, "ar"), "Yes");
    // Every built-in text exists in every language, and the three quick replies differ.
    for lang in ["en", "nb", "da", "ar", "zh"] {
        for t in ChatText::ALL {
            assert!(!t.default_text(lang).is_empty(), "{t:?} {lang}");
        }
        let replies: std::collections::HashSet<_> = [ChatText::Yes, ChatText::No, ChatText::Person]
            .iter()
            .map(|t| t.default_text(lang))
            .collect();
        assert_eq!(replies.len(), 3, "{lang}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = format!(
        "{HEAD}threshold: 2\ngreting: hi\nfaq:\n{ENTRY}{ENTRY}  - id: b\n    questions: []\n    answer: c\n"
    );
    let got = diagnostics(&yaml);
    assert_eq!(got.len(), 4, "{got:#?}");
}

#[test]
fn a_question_in_two_entries_is_a_warning() {
    let yaml = format!(
        "{HEAD}faq:\n{ENTRY}  - id: open\n    questions: [\"when are you OPEN\"]\n    answer: y\n"
    );
    let bot = Bot::from_yaml("b.yaml", &yaml).unwrap();
    let w: Vec<String> = bot.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("the same question is also in entry `hours`"),
        "{w:?}"
    );
}

/// Few-shot accuracy on a fixed slice of BANKING77 (the first 20 intents in the file, 10
/// training questions each, all their test questions), with a margin under what the matcher
/// reaches (see docs/faq.md), and the refusal of intents it was not trained on.
#[test]
fn accuracy_on_a_banking77_slice() {
    let dir = root().join("../shared/data/banking77");
    let (Some(train), Some(test)) = (
        read_csv(&dir.join("train.csv")),
        read_csv(&dir.join("test.csv")),
    ) else {
        eprintln!("skipped: ../shared/data/banking77 is not there");
        return;
    };
    let mut intents: Vec<String> = Vec::new();
    for (_, label) in &train {
        if !intents.contains(label) {
            intents.push(label.clone());
        }
    }
    let known = &intents[..20];
    let unknown = &intents[20..25];
    let entries: Vec<(String, Vec<String>)> = known
        .iter()
        .map(|i| {
            let qs = train
                .iter()
                .filter(|(_, l)| l == i)
                .take(10)
                .map(|(t, _)| t.clone())
                .collect();
            (i.clone(), qs)
        })
        .collect();
    let bot = Bot::from_questions("banking77-slice", "en", &entries).unwrap();
    let (mut right, mut total) = (0, 0);
    let (mut refused, mut outside) = (0, 0);
    for (text, label) in &test {
        if known.contains(label) {
            total += 1;
            let a = bot.ask(text, None);
            if a.candidates[0].0 == *label {
                right += 1;
            }
        } else if unknown.contains(label) {
            outside += 1;
            if bot.ask(text, None).abstained {
                refused += 1;
            }
        }
    }
    let accuracy = right as f64 / total as f64;
    let refusal = refused as f64 / outside as f64;
    assert_eq!(total, 800);
    assert!(
        accuracy >= 0.80,
        "top-1 accuracy {accuracy:.3} ({right}/{total})"
    );
    assert!(
        refusal >= 0.30,
        "refused {refusal:.3} of unknown intents ({refused}/{outside})"
    );
}

fn read_csv(path: &Path) -> Option<Vec<(String, String)>> {
    let mut r = csv::Reader::from_path(path).ok()?;
    Some(
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                (rec[0].to_string(), rec[1].to_string())
            })
            .collect(),
    )
}

/// `frontdesk ask --bot bots/support.yaml --json`, reading questions from a pipe.
fn spawn_ask_json() -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["ask", "--bot", "bots/support.yaml", "--json"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run frontdesk")
}

#[test]
fn ask_json_prints_one_object_per_question() {
    let mut child = spawn_ask_json();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all("I forgot my pasword\n\nwhat is the weather on Mars\r\n\u{1F642}\n".as_bytes())
        .unwrap();
    input.write_all(&[0xff, 0xfe, b'\n']).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    for l in &lines {
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["question", "answer_id", "score", "abstained", "candidates"]
        );
        let cands = l["candidates"].as_array().unwrap();
        assert!(cands.len() <= 3);
        for c in cands {
            let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["id", "score"]);
        }
        assert_eq!(l["abstained"].as_bool().unwrap(), l["answer_id"].is_null());
    }
    assert_eq!(lines[0]["question"], "I forgot my pasword");
    assert_eq!(lines[0]["answer_id"], "password_reset");
    assert_eq!(lines[1]["question"], "");
    assert_eq!(lines[1]["abstained"], true);
    assert_eq!(lines[2]["question"], "what is the weather on Mars");
    assert_eq!(lines[2]["abstained"], true);
}

/// `frontdesk ask --json < questions | head -1`: when the reader of its output goes away, a
/// command-line tool stops quietly, without an error message or a panic.
#[cfg(unix)]
#[test]
fn a_closed_output_pipe_stops_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;

    let mut child = spawn_ask_json();
    // The reader goes away before the first answer: the first write finds the pipe closed.
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    for _ in 0..50 {
        if writeln!(stdin, "Where is my order?").is_err() {
            break; // it has stopped already
        }
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.is_empty(), "nothing is said on a closed pipe: {err}");
    assert_eq!(
        o.status.signal(),
        Some(13),
        "stopped by SIGPIPE: {:?}",
        o.status
    );
}

#[test]
fn ask_reports_a_broken_bot_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, format!("{HEAD}faq:\n{ENTRY}{ENTRY}")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["ask", "--bot", path.to_str().unwrap(), "hello"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:7:9: faq[1].id: duplicate id `hours`"),
        "{err}"
    );
}

#[test]
fn eval_runs_the_bot_tests() {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["eval", "--bot", "bots/support.yaml"])
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn eval_measures_labelled_questions() {
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("q.txt");
    let gold = dir.path().join("g.txt");
    std::fs::write(
        &queries,
        "I forgot my password\nhow much is shipping\ntell me a joke\n",
    )
    .unwrap();
    std::fs::write(&gold, "password_reset\ndelivery_cost\nabstain\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["eval", "--bot", "bots/support.yaml", "--queries"])
        .arg(&queries)
        .arg("--gold")
        .arg(&gold)
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("top-1 accuracy: 100.00 % (2/2)"),
        "{stdout}"
    );
    assert!(stdout.contains("out of scope: 1 refused of 1"), "{stdout}");
    assert!(stdout.contains("threshold sweep"), "{stdout}");
}

#[test]
fn a_bot_prints_as_a_summary() {
    let shown = format!("{:?}", support());
    // The entries and tests as written, not the trained weights.
    assert!(shown.len() < 100_000, "{} bytes", shown.len());
    let n = support().entries().len();
    assert!(shown.contains(&format!("Matcher {{ entries: {n}, questions: ")));
}

// ---- The bots in rules: `answer_faq` and `intent` ----

const SHOP_BOT: &str = r#"
bot: shop
languages: [en, nb]
threshold: 0.5
faq:
  - id: opening_hours
    questions:
      en: ["When are you open?", "What are your opening hours?", "Are you open on Saturday?"]
      nb: ["Når har dere åpent?", "Hva er åpningstidene?", "Har dere åpent på lørdag?"]
    answers: { en: "Weekdays 9-17.", nb: "Hverdager 9-17." }
    links: [{ title: { en: Opening hours, nb: Åpningstider }, url: "https://shop.example.com/hours" }]
  - id: password
    questions: ["I forgot my password", "How do I reset my password?", "I cannot log in"]
    answer: "Use 'Forgot password' on the sign-in page."
  - id: refund
    questions: ["Where is my refund?", "When do I get my money back?", "I want a refund"]
    answer: "Refunds reach your account within 5 days."
"#;

fn shop_pack(rules: &str) -> Result<frontdesk::config::Config, frontdesk::config::Diagnostics> {
    let bot = Bot::from_yaml("shop.yaml", SHOP_BOT).unwrap_or_else(|d| panic!("{d}"));
    frontdesk::config::Config::compile_with_bots(
        vec![frontdesk::config::Source {
            path: PathBuf::from("r.yaml"),
            text: rules.to_string(),
        }],
        std::sync::Arc::new(BotSet::from_bots([bot])),
    )
}

fn chat(text: &str, lang: &str, author: &str) -> frontdesk::model::Event {
    frontdesk::model::Event::from_json(&format!(
        r#"{{"id":"e1","type":"message.created","ticket":{{"id":"T1","channel":"chat","customer":{{"language":"{lang}"}}}},"message":{{"text":{text:?},"author":"{author}"}}}}"#
    ))
    .unwrap()
}

fn decide_both(
    config: &frontdesk::config::Config,
    e: &frontdesk::model::Event,
) -> frontdesk::engine::Decision {
    let now = "2026-11-23T10:00:00Z".parse().unwrap();
    let d = frontdesk::engine::decide(config, &e.ticket, e, now);
    let x = frontdesk::engine::explain(config, &e.ticket, e, now);
    assert_eq!(d.actions, x.actions, "decide and explain agree");
    d
}

const ANSWERING: &str = r#"
rules:
  - name: faq
    on: message.created
    then: [ { answer_faq: { bot: shop } } ]
  - name: to a person when the bot had nothing
    on: message.created
    when: { not: { field: ticket.tags, contains_any: ["faq:opening_hours", "faq:password", "faq:refund"] } }
    then: [ { assign: { group: humans } } ]
"#;

#[test]
fn answer_faq_replies_in_the_customers_language_and_tags_the_entry() {
    use frontdesk::model::Action;
    let config = shop_pack(ANSWERING).unwrap_or_else(|d| panic!("{d}"));
    let d = decide_both(
        &config,
        &chat("hva er åpningstidene deres?", "nb", "customer"),
    );
    assert_eq!(
        d.actions[0],
        Action::Reply {
            text: "Hverdager 9-17.\nÅpningstider: https://shop.example.com/hours".into(),
            language: Some("nb".into()),
            template: None,
            quick_replies: Vec::new(),
            survey: None,
        }
    );
    assert_eq!(
        d.actions[1],
        Action::AddTags {
            tags: vec!["faq:opening_hours".into()]
        }
    );
    assert_eq!(
        d.actions.len(),
        2,
        "answered, so not routed: {:?}",
        d.actions
    );
    assert!(d.ticket.tags.contains(&"faq:opening_hours".to_string()));
    // A typo still finds the entry; the answer comes in English for an English customer.
    let d = decide_both(&config, &chat("I forgot my pasword", "en", "customer"));
    assert!(
        matches!(&d.actions[0], Action::Reply { text, .. } if text.contains("Forgot password")),
        "{:?}",
        d.actions
    );
}

#[test]
fn answer_faq_does_nothing_when_unsure_so_later_rules_route() {
    use frontdesk::model::{Action, AssignTarget};
    let config = shop_pack(ANSWERING).unwrap_or_else(|d| panic!("{d}"));
    for (text, author) in [
        ("The parrot ate my keyboard cable", "customer"),
        ("", "customer"),
        ("I forgot my password", "agent"),
    ] {
        let d = decide_both(&config, &chat(text, "en", author));
        assert_eq!(
            d.actions,
            [Action::Assign {
                to: AssignTarget::Group("humans".into()),
                team: None,
                helpdesk_ids: Default::default(),
            }],
            "{text:?} by {author}"
        );
    }
    // A stricter `min_score` than the bot's threshold also keeps it quiet.
    let strict = shop_pack(&ANSWERING.replace("bot: shop }", "bot: shop, min_score: 1.0 }"))
        .unwrap_or_else(|d| panic!("{d}"));
    let d = decide_both(&strict, &chat("I forgot my password", "en", "customer"));
    assert!(
        !d.actions.iter().any(|a| matches!(a, Action::Reply { .. })),
        "{:?}",
        d.actions
    );
}

#[test]
fn questions_read_ahead_give_the_decision_of_asking() {
    use frontdesk::engine::{decide_with, explain_with, Context};
    use frontdesk::model::EventType;
    let rules = format!(
        "{ANSWERING}
  - name: money
    on: [message.created, ticket.created]
    when: {{ any: [ {{ intent: {{ bot: shop, in: [refund] }} }}, {{ not: {{ intent: {{ bot: shop }} }} }} ] }}
    then: [ {{ set_category: billing }} ]
"
    );
    let config = shop_pack(&rules).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(config.bots_asked(EventType::MessageCreated), ["shop"]);
    assert_eq!(config.bots_asked(EventType::TicketCreated), ["shop"]);
    assert!(config.bots_asked(EventType::TicketUpdated).is_empty());
    let now = "2026-11-23T10:00:00Z".parse().unwrap();
    let stored: frontdesk::model::Ticket = serde_json::from_str(
        r#"{"id":"T1","subject":"refund please","customer":{"language":"nb"}}"#,
    )
    .unwrap();
    let untagged = frontdesk::model::Event::from_json(
        r#"{"id":"e2","type":"message.created","ticket":{"id":"T1"},"message":{"text":"I want a refund"}}"#,
    )
    .unwrap();
    let no_text = frontdesk::model::Event::from_json(
        r#"{"id":"e3","type":"ticket.created","ticket":{"id":"T1","subject":"When are you open?"}}"#,
    )
    .unwrap();
    for (e, prior) in [
        (chat("I want a refund", "en", "customer"), None),
        (chat("hva er åpningstidene deres?", "nb", "customer"), None),
        (
            chat("The parrot ate my keyboard cable", "en", "customer"),
            None,
        ),
        (chat("Refunds go out tomorrow", "en", "agent"), None),
        (no_text.clone(), None),
        // The stored ticket's language is not in the event: read again in it.
        (untagged.clone(), Some(stored.clone())),
        (untagged, None),
        (no_text, Some(stored)),
    ] {
        let read = frontdesk::rules::read_ahead(config.bots(), config.bots_asked(e.kind), &e);
        let ev = frontdesk::plan::prepare(prior.as_ref(), &e, None);
        let ctx = |faq| Context {
            prior: prior.clone(),
            faq,
            ..Context::default()
        };
        let asked = decide_with(&config, &ctx(Vec::new()), &ev.ticket, &ev, now);
        let ahead = decide_with(&config, &ctx(read.clone()), &ev.ticket, &ev, now);
        let what = e.message.as_ref().map_or(&e.ticket.subject, |m| &m.text);
        assert_eq!(
            serde_json::to_value(&ahead).unwrap(),
            serde_json::to_value(&asked).unwrap(),
            "{what}"
        );
        let x = explain_with(&config, &ctx(read.clone()), &ev.ticket, &ev, now);
        assert_eq!(x.trace.faq, asked.trace.faq, "{what}");
        // Where the event says all the bot is asked with, the reading made ahead is the one used.
        if prior.is_none() && e.ticket.customer.language.is_some() {
            assert_eq!(x.trace.faq, read, "{what}");
        }
    }
}

#[test]
fn intent_conditions_read_the_bots_model() {
    let rules = r#"
rules:
  - name: money
    on: message.created
    when: { intent: { bot: shop, in: [refund], min_score: 0.4 } }
    then: [ { set_category: billing } ]
  - name: anything the bot knows
    on: message.created
    when: { intent: { bot: shop } }
    then: [ { add_tags: [known] } ]
"#;
    let config = shop_pack(rules).unwrap_or_else(|d| panic!("{d}"));
    // Triage may take less certainty than an answer: this Norwegian question shares one word
    // with the English-only refund entry, and the bot is about 0.4 sure of it, too little to
    // answer (threshold 0.5) but enough to categorise by (min_score 0.4).
    let d = decide_both(
        &config,
        &chat("når får jeg pengene tilbake? refund", "nb", "customer"),
    );
    assert_eq!(d.ticket.category.as_deref(), Some("billing"));
    assert!(
        d.ticket.tags.is_empty(),
        "not answerable: {:?}",
        d.ticket.tags
    );
    let d = decide_both(
        &config,
        &chat("What are your opening hours?", "en", "customer"),
    );
    assert_eq!(d.ticket.category, None);
    assert_eq!(d.ticket.tags, ["known"]);
    let d = decide_both(
        &config,
        &chat("The parrot ate my keyboard cable", "en", "customer"),
    );
    assert!(d.ticket.tags.is_empty() && d.ticket.category.is_none());
    // The trace shows what the bot read.
    let e = chat("What are your opening hours?", "en", "customer");
    let x = frontdesk::engine::explain(
        &config,
        &e.ticket,
        &e,
        "2026-11-23T10:00:00Z".parse().unwrap(),
    );
    let money = x.trace.rules.iter().find(|r| r.rule == "money").unwrap();
    assert_eq!(
        money.failed[0].actual["intent"], "opening_hours",
        "{money:?}"
    );
}

#[test]
fn rules_naming_bots_get_located_errors() {
    let err = shop_pack(
        r#"
rules:
  - name: a
    on: message.created
    when: { intent: { bot: shpo, in: [refund] } }
    then: [ { answer_faq: { bot: shop, min_score: 2 } } ]
  - name: b
    on: message.created
    when: { intent: { bot: shop, in: [refnd, password], min_score: high } }
    then: [ { answer_faq: { bot: shop, score: 1 } } ]
"#,
    )
    .unwrap_err()
    .to_string();
    for want in [
        "r.yaml:5:28: rules[0].when.intent.bot: unknown bot `shpo`; did you mean `shop`?",
        "r.yaml:6:51: rules[0].then[0].answer_faq.min_score: must be between 0 and 1, not 2",
        "r.yaml:9:39: rules[1].when.intent.in[0]: bot `shop` has no entry `refnd`; did you mean `refund`?",
        "r.yaml:9:68: rules[1].when.intent.min_score: expected a number between 0 and 1",
        "rules[1].then[0].answer_faq.score: unknown",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    // Without bots, the error says where bots come from.
    let none = frontdesk::config::Config::from_yaml(
        "r.yaml",
        "rules:\n  - { name: a, on: message.created, then: [ { answer_faq: { bot: support } } ] }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        none.contains("unknown bot `support` (no bots are loaded"),
        "{none}"
    );
}

#[test]
fn a_pack_loads_its_bots_directory_and_reports_both_together() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, bots) = (dir.path().join("rules"), dir.path().join("bots"));
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::create_dir_all(&bots).unwrap();
    std::fs::write(bots.join("shop.yaml"), SHOP_BOT).unwrap();
    std::fs::write(rules.join("r.yaml"), ANSWERING).unwrap();
    assert_eq!(
        frontdesk::config::default_bots_dir(&rules).as_deref(),
        Some(bots.as_path())
    );
    let config = frontdesk::config::Config::load_with_bots(&rules, Some(&bots))
        .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(config.bots().len(), 1);
    // A broken bot file and a broken rule are reported in one list.
    std::fs::write(
        bots.join("shop.yaml"),
        SHOP_BOT.replace("threshold: 0.5", "threshold: 5"),
    )
    .unwrap();
    std::fs::write(rules.join("r.yaml"), ANSWERING.replace("assign:", "asign:")).unwrap();
    let err = frontdesk::config::Config::load_with_bots(&rules, Some(&bots))
        .unwrap_err()
        .to_string();
    assert!(err.contains("shop.yaml:4:12: threshold"), "{err}");
    assert!(err.contains("r.yaml:9:15: rules[1].then[0].asign"), "{err}");
    assert!(
        !err.contains("unknown bot"),
        "a bot that failed to load is not reported again as unknown: {err}"
    );
}

/// Pieces customers' messages are made of, in every script the bot knows and some it does not,
/// with the characters that normalisation expands or drops.
fn message_piece() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        Just("where is my order".to_string()),
        Just("pasword".to_string()),
        Just("kortet mitt er stjålet".to_string()),
        Just("hvor er min pakke".to_string()),
        Just("أين طلبي".to_string()),
        Just("我的包裹在哪里".to_string()),
        Just("ﷺ ﷽ ﬃ ℌ ①".to_string()),             // NFKC expands these
        Just("\u{640}\u{64b}\u{670}".to_string()), // tatweel and diacritics alone
        Just("١٢٣ ４５ 1,000.50 kr".to_string()),
        Just("\u{200f}\u{202e}\u{feff}".to_string()),
        "\\PC{0,24}",
        ".{0,12}",
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Whatever a customer writes, in whatever language they say they speak, the bot answers
    /// or abstains consistently: a confidence in [0, 1], at most three candidates best first, an
    /// answer exactly when it does not abstain, and the same again when asked twice.
    #[test]
    fn any_message_gets_a_consistent_answer(
        pieces in proptest::collection::vec(message_piece(), 1..5),
        lang in proptest::prop_oneof![
            proptest::strategy::Just(None),
            proptest::strategy::Just(Some("nb")),
            proptest::strategy::Just(Some("ar-EG")),
            proptest::strategy::Just(Some("fr")),
            proptest::strategy::Just(Some("")),
        ],
    ) {
        let question = pieces.join(" ");
        let bot = support();
        let a = bot.ask(&question, lang);
        proptest::prop_assert!((0.0..=1.0).contains(&a.score), "{a:?}");
        proptest::prop_assert!(a.candidates.len() <= 3);
        proptest::prop_assert!(a.candidates.windows(2).all(|w| w[0].1 >= w[1].1), "{a:?}");
        proptest::prop_assert!(a.candidates.iter().all(|c| (0.0..=1.0).contains(&c.1)));
        proptest::prop_assert_eq!(a.answer_id.is_some(), !a.abstained);
        if let Some(id) = &a.answer_id {
            proptest::prop_assert_eq!(Some(id), a.candidates.first().map(|c| &c.0));
            proptest::prop_assert!(a.score >= bot.threshold());
        }
        proptest::prop_assert!(["en", "nb", "da", "ar", "zh"].contains(&a.language.as_str()));
        let again = bot.ask(&question, lang);
        proptest::prop_assert_eq!(again.answer_id, a.answer_id);
        proptest::prop_assert_eq!(again.score, a.score);
    }
}
