//! FAQ bots: answer repeat questions from `bots/*.yaml`, or abstain.
//!
//! A bot file lists FAQ entries, each with question variants and an answer per language
//! ([`bot`] has the format). Loading compiles the file with the same diagnostics as rule files
//! (`file:line:col: path: message`, "did you mean") and trains a matcher on the bot's own
//! questions, deterministically. [`Bot::ask`] then ranks the entries for a question and answers
//! with the best one when its confidence reaches the bot's threshold; otherwise it abstains.
//!
//! # Layout
//!
//! - `normalise`: Unicode NFKC, case folding, Arabic letter variants and diacritics, numbers;
//!   Chinese split into characters; `æ ø å` kept.
//! - `lang`: the languages (`en nb da ar zh`), detection (script, then `whatlang`), Snowball
//!   stemming, stop words.
//! - `features`: word and character n-gram features, TF-IDF weighting.
//! - `bm25`: lexical retrieval over the training questions.
//! - `classifier`: multinomial logistic regression trained at load.
//! - `prototypes`: sparse per-entry prototypes for bots too large for the classifier, scored
//!   on the entries BM25 proposes.
//! - `typo`: the vocabulary as an `fst` map, searched with a Levenshtein automaton.
//! - `matcher`: combines the above into ranked candidates and a confidence.
//! - [`bot`]: bot files → [`Bot`]; [`BotSet`] for a directory of them.
//!
//! # Example
//!
//! ```
//! use frontdesk_core::faq::Bot;
//!
//! let bot = Bot::from_yaml("inline.yaml", r#"
//! bot: shop
//! languages: [en, nb]
//! faq:
//!   - id: opening_hours
//!     questions:
//!       en: ["When are you open?", "What are your opening hours?"]
//!       nb: ["Når har dere åpent?", "Hva er åpningstidene?"]
//!     answers: { en: "Weekdays 9-17.", nb: "Hverdager 9-17." }
//!   - id: password
//!     questions: ["I forgot my password", "How do I reset my password?"]
//!     answer: "Use 'Forgot password' on the sign-in page."
//! "#).expect("a valid bot");
//! let answer = bot.ask("hva er åpningstidene deres?", None);
//! assert_eq!(answer.answer_id.as_deref(), Some("opening_hours"));
//! assert_eq!(answer.language, "nb");
//! assert_eq!(answer.text.as_deref(), Some("Hverdager 9-17."));
//! assert_eq!(bot.ask("I forgot my pasword", None).answer_id.as_deref(), Some("password"));
//! ```

mod bm25;
pub mod bot;
mod classifier;
mod features;
pub mod lang;
mod matcher;
mod mlp;
pub(crate) mod normalise;
mod prototypes;
mod saved;
mod typo;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use bot::{BotDef, Texts};
pub use bot::{BotTest, ChatText, Entry, Link};
use lang::Lang;
use matcher::{Example, Matcher};
pub use matcher::{Options, Signals};
pub use saved::Refused;

use crate::syntax::diag::{Diagnostic, Diagnostics, Severity};
use crate::syntax::yaml::Pos;

/// A trained FAQ bot. Immutable once loaded; share it between threads freely.
#[derive(Debug)]
pub struct Bot {
    name: String,
    description: Option<String>,
    file: PathBuf,
    languages: Vec<Lang>,
    default: Lang,
    threshold: f64,
    greeting: Texts,
    fallback: Texts,
    handoff: bot::Handoff,
    chat: bot::ChatTexts,
    entries: Vec<Entry>,
    questions: usize,
    tests: Vec<BotTest>,
    matcher: Matcher,
    warnings: Vec<Diagnostic>,
    /// What the bot was built from, hashed ([`Bot::fingerprint`]).
    fingerprint: String,
}

/// What a bot makes of one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The entry answered with; `None` when the bot abstains.
    pub answer_id: Option<String>,
    /// Confidence in the best entry, in `[0, 1]`.
    pub score: f64,
    /// Whether the confidence was below the bot's threshold.
    pub abstained: bool,
    /// The best entries (at most 3), best first, with their share of the probability.
    pub candidates: Vec<(String, f64)>,
    /// The language of `text` (the customer's language when the bot speaks it, else the bot's
    /// default language).
    pub language: String,
    /// The answer's text; when the bot abstains, its `fallback` text, if it has one.
    pub text: Option<String>,
}

/// How a bot read one question: the entries it ranked first and how sure it was. A decision
/// keeps one per bot it asked (`trace.faq`), which shows why the bot answered or not; and a
/// what-if replay with the same bot ([`Bot::has_read`]) answers from it without reading the
/// question again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reading {
    /// The bot.
    pub bot: String,
    /// The bot's [`Bot::fingerprint`].
    pub fingerprint: String,
    /// A hash of the question and the language it was asked in.
    pub question: String,
    /// The language the question was read in.
    pub read_as: String,
    /// The best entries (at most 3), best first, with their combined probability.
    pub candidates: Vec<(String, f32)>,
    /// How sure the bot is of the first, in `[0, 1]`.
    pub confidence: f32,
}

/// The hash [`Reading::question`] holds.
fn question_key(question: &str, lang: Option<&str>) -> String {
    use features::{fnv, mix, FNV_OFFSET};
    let h = fnv(FNV_OFFSET, lang.unwrap_or("").as_bytes());
    format!("{:016x}", mix(fnv(h ^ 0xff, question.as_bytes())))
}

/// A bot's fingerprint: its sources, its matcher settings and this version of frontdesk
/// (whose matcher may read differently).
fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a [u8]>, options: &Options) -> String {
    use features::{fnv, mix, FNV_OFFSET};
    let mut h = fnv(FNV_OFFSET, env!("CARGO_PKG_VERSION").as_bytes());
    h = fnv(h ^ 0xff, format!("{options:?}").as_bytes());
    for part in parts {
        h = fnv(h ^ 0xff, &(part.len() as u64).to_le_bytes());
        h = fnv(h, part);
    }
    format!("{:016x}", mix(h))
}

/// Where trained bots are kept between loads, so that a bot whose file has not changed is read
/// back instead of trained again (a 10,000-question bot trains in seconds and reads back in a
/// fraction of one). What is kept is named by the bot and its [`Bot::fingerprint`], and carries
/// the build's identity and a checksum: a bot file edited in any way, other matcher settings,
/// another build of frontdesk or damaged bytes all mean training, as if nothing had been kept.
/// A bot read back answers exactly as the one trained (training is deterministic).
///
/// The shell keeps them as files (`frontdesk serve --model-cache DIR`); the core only asks.
pub trait Models: Send + Sync {
    /// This build's identity: kept bytes are read back only by the build that wrote them.
    fn build(&self) -> &str;
    /// The bytes kept for `bot` as trained from `fingerprint`, if any.
    fn get(&self, bot: &str, fingerprint: &str) -> Option<Vec<u8>>;
    /// Keeps the bytes of `bot` as trained from `fingerprint` (those of its earlier
    /// fingerprints may go).
    fn put(&self, bot: &str, fingerprint: &str, bytes: Vec<u8>);
    /// Kept bytes could not be used, for `reason`; the bot is trained and kept again.
    fn refused(&self, bot: &str, fingerprint: &str, reason: &Refused);
}

/// The bot's matcher: read back from `models` when they keep it for this fingerprint and
/// build, else trained (and then kept there).
fn matcher_of(
    def: &BotDef,
    options: Options,
    fingerprint: &str,
    models: Option<&dyn Models>,
) -> Matcher {
    let Some(models) = models else {
        return bot::train(def, options);
    };
    let key = saved::ModelKey {
        fingerprint: fingerprint.to_string(),
        build: models.build().to_string(),
    };
    if let Some(bytes) = models.get(&def.name, fingerprint) {
        let read = saved::unframe(&key, &bytes)
            .and_then(|body| Matcher::restore(body, &def.languages, def.default, options));
        match read {
            Ok(matcher) => return matcher,
            Err(reason) => models.refused(&def.name, fingerprint, &reason),
        }
    }
    let matcher = bot::train(def, options);
    models.put(&def.name, fingerprint, saved::frame(&key, &matcher.save()));
    matcher
}

/// The result of one bot-file test.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The test.
    pub test: BotTest,
    /// What the bot answered.
    pub answer: Answer,
    /// Whether that is what the test expected.
    pub passed: bool,
}

impl Bot {
    /// Loads, compiles and trains a bot file.
    pub fn load(path: &Path) -> Result<Bot, Diagnostics> {
        Bot::load_with(path, Options::default())
    }

    /// The same with other matcher settings (for measuring them with `frontdesk eval`).
    pub fn load_with(path: &Path, options: Options) -> Result<Bot, Diagnostics> {
        Bot::load_from(path, options, None)
    }

    /// Loads a bot file, reading its trained matcher back from `models` when they keep it
    /// (and keeping it there once trained when they do not).
    pub fn load_kept(path: &Path, models: &dyn Models) -> Result<Bot, Diagnostics> {
        Bot::load_from(path, Options::default(), Some(models))
    }

    fn load_from(
        path: &Path,
        options: Options,
        models: Option<&dyn Models>,
    ) -> Result<Bot, Diagnostics> {
        match crate::syntax::read_source(path, "a bot file", crate::syntax::MAX_BOT_FILE_BYTES) {
            Ok(text) => Bot::compile(path, &text, options, models),
            Err(e) => {
                let mut diags = Diagnostics::default();
                diags.push(Diagnostic {
                    severity: Severity::Error,
                    file: path.to_path_buf(),
                    pos: Pos::default(),
                    path: String::new(),
                    message: e.to_string(),
                });
                Err(diags)
            }
        }
    }

    /// Compiles and trains a bot from YAML text; `name` is the file name in diagnostics.
    pub fn from_yaml(name: &str, text: &str) -> Result<Bot, Diagnostics> {
        Bot::compile(Path::new(name), text, Options::default(), None)
    }

    fn compile(
        file: &Path,
        text: &str,
        options: Options,
        models: Option<&dyn Models>,
    ) -> Result<Bot, Diagnostics> {
        let mut diags = Diagnostics::default();
        let def = bot::compile(file, text, &mut diags);
        diags.sort();
        match def {
            Some(def) if !diags.has_errors() => {
                let warnings = diags.warnings().cloned().collect();
                let fingerprint = fingerprint([text.as_bytes()], &options);
                Ok(Bot::assemble(
                    def,
                    file,
                    warnings,
                    options,
                    fingerprint,
                    models,
                ))
            }
            _ => Err(diags),
        }
    }

    fn assemble(
        def: BotDef,
        file: &Path,
        warnings: Vec<Diagnostic>,
        options: Options,
        fingerprint: String,
        models: Option<&dyn Models>,
    ) -> Bot {
        let matcher = matcher_of(&def, options, &fingerprint, models);
        let mut bot = Bot {
            name: def.name,
            description: def.description,
            file: file.to_path_buf(),
            languages: def.languages,
            default: def.default,
            threshold: def.threshold,
            greeting: def.greeting,
            fallback: def.fallback,
            handoff: def.handoff,
            chat: def.chat,
            questions: def.examples.len(),
            entries: def.entries,
            tests: def.tests,
            matcher,
            warnings,
            fingerprint,
        };
        bot.warn_unanswered_quick_replies(file);
        bot
    }

    /// A warning for each quick reply the bot itself does not answer: a customer who taps it
    /// gets the fallback (or "not sure") for the button the bot offered.
    fn warn_unanswered_quick_replies(&mut self, file: &Path) {
        let mut found = Vec::new();
        for entry in &self.entries {
            for (texts, (pos, path)) in entry.quick_replies.iter().zip(&entry.quick_reply_places) {
                for (lang, text) in texts.all() {
                    let answer = self.ask(text, Some(lang.code()));
                    if !answer.abstained {
                        continue;
                    }
                    let best = match answer.candidates.first() {
                        Some((id, _)) => format!(", closest `{id}`"),
                        None => String::new(),
                    };
                    found.push(Diagnostic {
                        severity: Severity::Warning,
                        file: file.to_path_buf(),
                        pos: *pos,
                        path: path.clone(),
                        message: format!(
                            "this bot does not answer its own quick reply `{text}` ({}: \
                             confidence {:.2} below the threshold {:.2}{best}); a customer who \
                             taps it gets the fallback. Add it as a question of the entry that \
                             answers it",
                            lang.code(),
                            answer.score,
                            self.threshold
                        ),
                    });
                }
            }
        }
        self.warnings.extend(found);
    }

    /// A bot trained on `(id, questions)` pairs in one language, whose answers are the ids:
    /// for measuring the matcher on a data set. `language` is a code such as `en` or `ar`.
    pub fn from_questions(
        name: &str,
        language: &str,
        entries: &[(String, Vec<String>)],
    ) -> Result<Bot, Diagnostics> {
        Bot::from_questions_with(name, language, entries, Options::default())
    }

    /// [`Bot::from_questions`] with other matcher settings (for measuring them).
    pub fn from_questions_with(
        name: &str,
        language: &str,
        entries: &[(String, Vec<String>)],
        options: Options,
    ) -> Result<Bot, Diagnostics> {
        let file = PathBuf::from(name);
        let fail = |message: String| {
            let mut diags = Diagnostics::default();
            diags.push(Diagnostic {
                severity: Severity::Error,
                file: file.clone(),
                pos: Pos::default(),
                path: String::new(),
                message,
            });
            Err(diags)
        };
        let Some(lang) = Lang::from_code(language) else {
            return fail(format!("unknown language `{language}`"));
        };
        if entries.is_empty() {
            return fail("a bot needs at least one FAQ entry".into());
        }
        let mut examples = Vec::new();
        let mut list = Vec::new();
        for (i, (id, questions)) in entries.iter().enumerate() {
            if questions.is_empty() {
                return fail(format!("entry `{id}` has no questions"));
            }
            examples.extend(questions.iter().map(|q| Example {
                entry: i as u32,
                text: q.clone(),
                lang: Some(lang),
            }));

            list.push(Entry {
                id: id.clone(),
                answers: Texts::default(),
                links: Vec::new(),
                quick_replies: Vec::new(),
                quick_reply_places: Vec::new(),
            });
        }
        let def = BotDef {
            name: name.to_string(),
            description: None,
            languages: vec![lang],
            default: lang,
            threshold: bot::DEFAULT_THRESHOLD,
            greeting: Texts::default(),
            fallback: Texts::default(),
            handoff: bot::Handoff::default(),
            chat: bot::ChatTexts::default(),
            entries: list,
            examples,
            tests: Vec::new(),
        };
        let parts = [name, language]
            .into_iter()
            .chain(entries.iter().flat_map(|(id, qs)| {
                std::iter::once(id.as_str()).chain(qs.iter().map(String::as_str))
            }))
            .map(str::as_bytes);
        let fingerprint = fingerprint(parts, &options);
        Ok(Bot::assemble(
            def,
            &file,
            Vec::new(),
            options,
            fingerprint,
            None,
        ))
    }

    /// Answers `question`. `lang` is the customer's language tag when known (`nb-NO`, `ar`);
    /// otherwise the language is detected among the bot's. Never fails: an empty, huge or
    /// unreadable question is simply not answered.
    pub fn ask(&self, question: &str, lang: Option<&str>) -> Answer {
        self.ask_with_threshold(question, lang, self.threshold)
    }

    /// Like [`Bot::ask`] with another threshold (for measuring).
    pub fn ask_with_threshold(&self, question: &str, lang: Option<&str>, threshold: f64) -> Answer {
        self.answer(&self.read(question, lang), lang, threshold)
    }

    /// How the bot reads `question` (asked in `lang`): the ranking its answer is made from.
    pub fn read(&self, question: &str, lang: Option<&str>) -> Reading {
        let ranking = self.matcher.rank(question, self.asked_language(lang));
        Reading {
            bot: self.name.clone(),
            fingerprint: self.fingerprint.clone(),
            question: question_key(question, lang),
            read_as: ranking.lang.code().to_string(),
            candidates: ranking
                .candidates
                .iter()
                .map(|&(e, s)| (self.entries[e as usize].id.clone(), s))
                .collect(),
            confidence: ranking.confidence,
        }
    }

    /// Whether `reading` is this bot's reading of `question` asked in `lang`: the same bot
    /// (by [`Bot::fingerprint`]) and the same question, so [`Bot::read`] would give it again.
    pub fn has_read(&self, reading: &Reading, question: &str, lang: Option<&str>) -> bool {
        reading.bot == self.name
            && reading.fingerprint == self.fingerprint
            && reading.question == question_key(question, lang)
    }

    /// The answer to a question the bot read as `reading`, asked in `lang`.
    pub fn answer(&self, reading: &Reading, lang: Option<&str>, threshold: f64) -> Answer {
        let asked = self.asked_language(lang);
        let score = f64::from(reading.confidence);
        let best = reading
            .candidates
            .first()
            .and_then(|(id, _)| self.entry(id));
        let abstained = best.is_none() || score < threshold;
        // Answer in the language asked for; if none was given, in the language the question
        // was read in; if the bot lacks the language asked for, in its default language.
        let want = match (lang, asked) {
            (_, Some(l)) => l,
            (Some(_), None) => self.default,
            (None, None) => Lang::from_code(&reading.read_as).unwrap_or(self.default),
        };
        let candidates = reading
            .candidates
            .iter()
            .map(|(id, s)| (id.clone(), f64::from(*s)))
            .collect();
        let (answer_id, text, language) = match best {
            Some(entry) if !abstained => {
                let (language, text) = match entry.answers.get(want, self.default) {
                    Some((l, t)) => (l, Some(t.to_string())),
                    None => (want, None),
                };
                (Some(entry.id.clone()), text, language)
            }
            _ => {
                let (language, text) = match self.fallback.get(want, self.default) {
                    Some((l, t)) => (l, Some(t.to_string())),
                    None => (want, None),
                };
                (None, text, language)
            }
        };
        Answer {
            answer_id,
            score,
            abstained,
            candidates,
            language: language.code().to_string(),
            text,
        }
    }

    /// The customer's language tag as one of the bot's languages.
    fn asked_language(&self, lang: Option<&str>) -> Option<Lang> {
        lang.and_then(Lang::from_tag)
            .filter(|l| self.languages.contains(l))
    }

    /// A hash of what the bot was built from (its file, or its questions) and of this version
    /// of the matcher: two bots with the same fingerprint read every question alike.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The matcher's signals for a question (for fitting the calibration).
    pub fn signals(&self, question: &str) -> (Option<String>, matcher::Signals) {
        let r = self.matcher.rank(question, None);
        (
            r.candidates
                .first()
                .map(|c| self.entries[c.0 as usize].id.clone()),
            r.signals,
        )
    }

    /// The bot's name (`bot:`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its description, if the file has one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The file it was loaded from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Its language codes, the default one included.
    pub fn languages(&self) -> Vec<&'static str> {
        self.languages.iter().map(|l| l.code()).collect()
    }

    /// Its default language code.
    pub fn default_language(&self) -> &'static str {
        self.default.code()
    }

    /// The confidence an answer needs.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Its FAQ entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// How many questions the matcher was trained on.
    pub fn question_count(&self) -> usize {
        self.questions
    }

    /// The greeting in `lang` (a tag; the default language when the bot lacks it).
    pub fn greeting(&self, lang: &str) -> Option<&str> {
        self.text_in(&self.greeting, lang)
    }

    /// The text said when the bot abstains, in `lang`.
    pub fn fallback(&self, lang: &str) -> Option<&str> {
        self.text_in(&self.fallback, lang)
    }

    /// After how many unanswered questions in a row the chat goes to a person.
    pub fn handoff_after(&self) -> u32 {
        self.handoff.after
    }

    /// The text offering a person, in `lang`.
    pub fn handoff_offer(&self, lang: &str) -> Option<&str> {
        self.text_in(&self.handoff.offer, lang)
    }

    /// The text said when handing over to a person, in `lang`.
    pub fn handoff_message(&self, lang: &str) -> Option<&str> {
        self.text_in(&self.handoff.message, lang)
    }

    /// A chat text ([`ChatText`]) in `lang` (a tag): the bot file's, else the built-in one.
    pub fn chat_text(&self, which: ChatText, lang: &str) -> &str {
        let l = Lang::from_tag(lang).unwrap_or(self.default);
        match self.chat.get(which).and_then(|t| t.get(l, self.default)) {
            Some((_, t)) => t,
            None => which.default_text(l.code()),
        }
    }

    fn text_in<'t>(&self, texts: &'t Texts, lang: &str) -> Option<&'t str> {
        let l = Lang::from_tag(lang).unwrap_or(self.default);
        texts.get(l, self.default).map(|(_, t)| t)
    }

    /// The `tests:` of the bot file.
    pub fn tests(&self) -> &[BotTest] {
        &self.tests
    }

    /// Runs the `tests:` of the bot file.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        self.tests
            .iter()
            .map(|t| {
                let answer = self.ask(&t.ask, t.lang.as_deref());
                let passed = answer.answer_id == t.expect;
                TestOutcome {
                    test: t.clone(),
                    answer,
                    passed,
                }
            })
            .collect()
    }

    /// Warnings found while compiling.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }
}

impl Entry {
    /// The answer text in `lang` (a tag), or in the bot's default language.
    pub fn answer(&self, lang: &str, default: &str) -> Option<&str> {
        let d = Lang::from_tag(default).unwrap_or(Lang::En);
        let l = Lang::from_tag(lang).unwrap_or(d);
        self.answers.get(l, d).map(|(_, t)| t)
    }

    /// The quick replies offered with the answer, in `lang` (a tag).
    pub fn quick_replies(&self, lang: &str, default: &str) -> Vec<&str> {
        let d = Lang::from_tag(default).unwrap_or(Lang::En);
        let l = Lang::from_tag(lang).unwrap_or(d);
        self.quick_replies
            .iter()
            .filter_map(|q| q.get(l, d).map(|(_, t)| t))
            .collect()
    }
}

impl Link {
    /// The link's title in `lang` (a tag).
    pub fn title(&self, lang: &str, default: &str) -> &str {
        let d = Lang::from_tag(default).unwrap_or(Lang::En);
        let l = Lang::from_tag(lang).unwrap_or(d);
        self.title.get(l, d).map_or(self.url.as_str(), |(_, t)| t)
    }
}

/// Every bot of a directory, by name.
#[derive(Debug, Default)]
pub struct BotSet {
    bots: BTreeMap<String, Bot>,
}

impl BotSet {
    /// Loads every `*.yaml` / `*.yml` file directly in `dir`; all problems of all files are
    /// reported together. Two files may not define the same bot name.
    pub fn load(dir: &Path) -> Result<BotSet, Diagnostics> {
        BotSet::load_kept(dir, None)
    }

    /// The same, reading trained matchers back from `models` (and keeping them there) when
    /// there are any ([`Models`]).
    pub fn load_kept(dir: &Path, models: Option<&dyn Models>) -> Result<BotSet, Diagnostics> {
        let mut diags = Diagnostics::default();
        let whole = |file: &Path, message: String| Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            pos: Pos::default(),
            path: String::new(),
            message,
        };
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect(),
            Err(e) => {
                diags.push(whole(dir, format!("cannot read the bots directory: {e}")));
                return Err(diags);
            }
        };
        paths.sort();
        if paths.is_empty() {
            diags.push(whole(dir, "no bot files (*.yaml) in this directory".into()));
            return Err(diags);
        }
        let mut set = BotSet::default();
        let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
        for path in paths {
            match Bot::load_from(&path, Options::default(), models) {
                Ok(bot) => {
                    for w in bot.warnings() {
                        diags.push(w.clone());
                    }
                    if let Some(first) = files.get(bot.name()) {
                        diags.push(whole(
                            &path,
                            format!(
                                "bot `{}` is already defined in {}",
                                bot.name(),
                                first.display()
                            ),
                        ));
                        continue;
                    }
                    files.insert(bot.name().to_string(), path.clone());
                    set.bots.insert(bot.name().to_string(), bot);
                }
                Err(d) => {
                    for item in d.items() {
                        diags.push(item.clone());
                    }
                }
            }
        }
        diags.sort();
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(set)
    }

    /// A set of bots already loaded; of two with one name, the later stays.
    pub fn from_bots(bots: impl IntoIterator<Item = Bot>) -> BotSet {
        BotSet {
            bots: bots.into_iter().map(|b| (b.name.clone(), b)).collect(),
        }
    }

    /// The bot named `name`.
    pub fn get(&self, name: &str) -> Option<&Bot> {
        self.bots.get(name)
    }

    /// Every bot, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Bot> {
        self.bots.values()
    }

    /// How many bots.
    pub fn len(&self) -> usize {
        self.bots.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bots.is_empty()
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Bot>();
    is::<BotSet>();
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = r#"
bot: shop
languages: [en, nb]
threshold: 0.5
faq:
  - id: password
    questions:
      en: ["I forgot my password", "How do I reset my password?", "I cannot log in"]
      nb: ["Jeg har glemt passordet", "Hvordan tilbakestiller jeg passordet?"]
    answers: { en: "Use 'Forgot password'.", nb: "Bruk «Glemt passord»." }
  - id: refund
    questions: ["Where is my refund?", "When do I get my money back?", "I want a refund"]
    answer: "Refunds reach your account within 5 days."
fallback: { en: "I am not sure.", nb: "Jeg er usikker." }
"#;

    #[test]
    fn a_reading_kept_as_json_gives_the_answer_of_asking() {
        let bot = Bot::from_yaml("shop.yaml", BOT).unwrap();
        for (question, lang) in [
            ("I forgot my pasword", Some("en")),
            ("hvordan tilbakestiller jeg passordet", None),
            ("where is my refund", Some("nb-NO")),
            ("What is the weather on Mars?", Some("de")),
            ("", None),
        ] {
            let reading = bot.read(question, lang);
            let kept: Reading =
                serde_json::from_str(&serde_json::to_string(&reading).unwrap()).unwrap();
            assert_eq!(kept, reading, "{question}");
            assert!(bot.has_read(&kept, question, lang));
            assert_eq!(
                bot.answer(&kept, lang, bot.threshold()),
                bot.ask(question, lang),
                "{question}"
            );
            assert!(
                !bot.has_read(&kept, question, Some("da")),
                "another language"
            );
            assert!(
                !bot.has_read(&kept, "I want a refund", lang),
                "another question"
            );
        }
        let other = Bot::from_yaml("shop.yaml", &BOT.replace("5 days", "6 days")).unwrap();
        assert_ne!(other.fingerprint(), bot.fingerprint(), "another file");
        assert_eq!(
            Bot::from_yaml("x.yaml", BOT).unwrap().fingerprint(),
            bot.fingerprint(),
            "the same text"
        );
    }

    /// Models kept in memory, counting what is asked of them.
    #[derive(Default)]
    struct Kept {
        build: String,
        files: std::sync::Mutex<BTreeMap<(String, String), Vec<u8>>>,
        puts: std::sync::atomic::AtomicUsize,
        refused: std::sync::Mutex<Vec<String>>,
    }

    impl Models for Kept {
        fn build(&self) -> &str {
            &self.build
        }
        fn get(&self, bot: &str, fingerprint: &str) -> Option<Vec<u8>> {
            let files = self.files.lock().unwrap();
            files.get(&(bot.into(), fingerprint.into())).cloned()
        }
        fn put(&self, bot: &str, fingerprint: &str, bytes: Vec<u8>) {
            self.puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut files = self.files.lock().unwrap();
            files.retain(|(b, _), _| b != bot);
            files.insert((bot.into(), fingerprint.into()), bytes);
        }
        fn refused(&self, _bot: &str, _fingerprint: &str, reason: &Refused) {
            self.refused.lock().unwrap().push(reason.0.clone());
        }
    }

    impl Kept {
        fn puts(&self) -> usize {
            self.puts.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// Questions each bot below is asked: its own, reworded, misspelt, in other languages,
    /// off-topic and empty.
    const ASKED: [(&str, Option<&str>); 9] = [
        ("I forgot my pasword", Some("en")),
        ("hvordan tilbakestiller jeg passordet", None),
        ("where is my refund", Some("nb-NO")),
        ("What is the weather on Mars?", Some("de")),
        ("", None),
        ("Where is my order?", None),
        ("Hvor er pakka mi?", None),
        ("我的订单在哪里？", None),
        ("أين طلبي؟", Some("ar")),
    ];

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_bot_read_back_answers_as_the_one_trained_and_is_not_trained_again() {
        let dir = tempfile::tempdir().unwrap();
        let support = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bots/support.yaml"),
        )
        .unwrap();
        for (name, text) in [("shop.yaml", BOT), ("support.yaml", support.as_str())] {
            let path = write(dir.path(), name, text);
            let kept = Kept {
                build: "one".into(),
                ..Kept::default()
            };
            let trained = Bot::load_kept(&path, &kept).unwrap();
            assert_eq!(kept.puts(), 1, "{name}: trained once and kept");
            let read_back = Bot::load_kept(&path, &kept).unwrap();
            assert_eq!(kept.puts(), 1, "{name}: read back, not trained again");
            assert!(kept.refused.lock().unwrap().is_empty());
            let plain = Bot::load(&path).unwrap();
            assert_eq!(read_back.fingerprint(), plain.fingerprint());
            let questions = ASKED.iter().copied().chain(
                plain
                    .tests()
                    .iter()
                    .map(|t| (t.ask.as_str(), t.lang.as_deref())),
            );
            for (question, lang) in questions {
                let expected = plain.read(question, lang);
                assert_eq!(trained.read(question, lang), expected, "{name}: {question}");
                assert_eq!(
                    read_back.read(question, lang),
                    expected,
                    "{name}: {question}"
                );
                assert_eq!(read_back.ask(question, lang), plain.ask(question, lang));
            }
        }
    }

    #[test]
    fn an_edited_file_another_build_or_damaged_bytes_mean_training_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "shop.yaml", BOT);
        let kept = Kept {
            build: "one".into(),
            ..Kept::default()
        };
        let first = Bot::load_kept(&path, &kept).unwrap();
        // Edited: another fingerprint, trained and kept in place of the first.
        write(dir.path(), "shop.yaml", &BOT.replace("5 days", "6 days"));
        let edited = Bot::load_kept(&path, &kept).unwrap();
        assert_ne!(edited.fingerprint(), first.fingerprint());
        assert_eq!(kept.puts(), 2);
        assert_eq!(kept.files.lock().unwrap().len(), 1, "the earlier one went");
        assert!(kept.refused.lock().unwrap().is_empty());
        // Another build finds bytes it did not write.
        let other = Kept {
            build: "two".into(),
            files: std::sync::Mutex::new(kept.files.lock().unwrap().clone()),
            ..Kept::default()
        };
        Bot::load_kept(&path, &other).unwrap();
        assert_eq!(other.puts(), 1);
        assert_eq!(
            other.refused.lock().unwrap().as_slice(),
            ["trained by another build of frontdesk"]
        );
        // Damaged bytes: refused, trained, and the answers are still the trained bot's.
        for bytes in other.files.lock().unwrap().values_mut() {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 1;
        }
        let repaired = Bot::load_kept(&path, &other).unwrap();
        assert_eq!(other.puts(), 2);
        assert!(other.refused.lock().unwrap()[1].contains("damaged"));
        for (question, lang) in ASKED {
            assert_eq!(repaired.read(question, lang), edited.read(question, lang));
        }
        let again = Bot::load_kept(&path, &other).unwrap();
        assert_eq!(other.puts(), 2, "the repaired bytes are read back");
        assert_eq!(again.fingerprint(), repaired.fingerprint());
    }

    #[test]
    fn a_quick_reply_the_bot_does_not_answer_is_a_warning_at_its_place() {
        let unanswered = r#"
bot: shop
languages: [en, nb]
faq:
  - id: password
    questions:
      en: ["I forgot my password", "How do I reset my password?"]
      nb: ["Jeg har glemt passordet", "Hvordan tilbakestiller jeg passordet?"]
    answer: "Use 'Forgot password'."
    quick_replies:
      - { en: "The link is broken", nb: "Lenken virker ikke" }
  - id: refund
    questions: ["Where is my refund?", "When do I get my money back?"]
    answer: "Within 5 days."
"#;
        let bot = Bot::from_yaml("shop.yaml", unanswered).unwrap();
        let warnings: Vec<String> = bot.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        for (w, text) in warnings
            .iter()
            .zip(["The link is broken", "Lenken virker ikke"])
        {
            assert!(
                w.starts_with("shop.yaml:11:9: ") && w.contains("faq[0].quick_replies[0]"),
                "{w}"
            );
            assert!(w.contains(&format!("own quick reply `{text}`")), "{w}");
        }
        // Taught to the entry that answers it: no warning.
        let taught = unanswered
            .replace(
                r#"questions: ["Where is my refund?""#,
                r#"questions: ["The link is broken", "Where is my refund?""#,
            )
            .replace(
                r#"nb: ["Jeg har glemt passordet","#,
                r#"nb: ["Lenken virker ikke", "Jeg har glemt passordet","#,
            );
        let bot = Bot::from_yaml("shop.yaml", &taught).unwrap();
        assert!(bot.warnings().is_empty(), "{:?}", bot.warnings());
        // The example bot answers every quick reply it offers.
        let support =
            Bot::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bots/support.yaml"))
                .unwrap();
        assert!(support.warnings().is_empty(), "{:?}", support.warnings());
    }

    #[test]
    fn prototypes_of_a_large_bot_read_back_alike() {
        // The matcher of bots too large for the dense model: forced here on a small one.
        let def = bot::compile(Path::new("shop.yaml"), BOT, &mut Diagnostics::default()).unwrap();
        let options = Options {
            prototypes: 1,
            ..Options::default()
        };
        let trained = bot::train(&def, options);
        let key = saved::ModelKey {
            fingerprint: "f".into(),
            build: "b".into(),
        };
        let bytes = saved::frame(&key, &trained.save());
        let body = saved::unframe(&key, &bytes).unwrap();
        let read_back = Matcher::restore(body, &def.languages, def.default, options).unwrap();
        for (question, lang) in ASKED {
            let hint = lang.and_then(Lang::from_tag);
            let (a, b) = (trained.rank(question, hint), read_back.rank(question, hint));
            assert_eq!(a.candidates, b.candidates, "{question}");
            assert_eq!(a.confidence, b.confidence, "{question}");
        }
        assert!(
            format!("{read_back:?}").contains("Prototypes"),
            "{read_back:?}"
        );
    }
}
