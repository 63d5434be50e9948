//! Bot files (`bots/*.yaml`): compiled with the same diagnostics as rule files, then the
//! matcher is trained on the bot's questions.
//!
//! ```yaml
//! bot: support
//! languages: [en, nb]
//! default_language: en
//! threshold: 0.5
//! greeting: { en: "Hi! Ask me anything.", nb: "Hei! Spør meg om hva som helst." }
//! fallback: { en: "Sorry, I don't know that one.", nb: "Beklager, det vet jeg ikke." }
//! handoff: { after: 2, offer: { en: "Shall I find a person?" }, message: { en: "Connecting you." } }
//! feedback: { question: { en: "Did that help?" }, person: { en: "A person, please" } }
//! faq:
//!   - id: password_reset
//!     questions:
//!       en: ["I forgot my password", "How do I reset my password?"]
//!       nb: ["Jeg har glemt passordet"]
//!     answers: { en: "Use 'Forgot password' on the sign-in page.", nb: "Bruk «Glemt passord»." }
//!     links: [{ title: Sign in, url: "https://example.com/login" }]
//!     quick_replies: [{ en: "It did not work", nb: "Det virket ikke" }]
//! tests:
//!   - { ask: "I forgot my pasword", expect: password_reset }
//!   - { ask: "What is the weather on Mars?", expect: abstain }
//! ```

use std::collections::HashMap;
use std::path::Path;

use super::lang::Lang;
use super::matcher::{Example, Matcher, Options};
use crate::syntax::decode::{index, join, Cx, Fields};
use crate::syntax::diag::{did_you_mean, Diagnostic, Diagnostics, Severity};
use crate::syntax::yaml::{self, Kind, Node, Pos};

/// Top-level keys of a bot file.
pub const BOT_KEYS: &[&str] = &[
    "bot",
    "description",
    "languages",
    "default_language",
    "threshold",
    "handoff",
    "greeting",
    "fallback",
    "feedback",
    "faq",
    "tests",
];
/// Keys of an FAQ entry.
pub const ENTRY_KEYS: &[&str] = &[
    "id",
    "questions",
    "answer",
    "answers",
    "links",
    "quick_replies",
];
/// Keys of `handoff:`.
pub const HANDOFF_KEYS: &[&str] = &["after", "offer", "message", "expected", "closed"];
/// Keys of `feedback:`.
pub const FEEDBACK_KEYS: &[&str] = &["question", "yes", "no", "person", "thanks"];
/// Placeholders of `handoff.expected`.
const EXPECTED_PLACEHOLDERS: &[&str] = &["expected_response"];
/// Placeholders of `handoff.closed`.
const CLOSED_PLACEHOLDERS: &[&str] = &["opens", "expected_response"];
/// Keys of a link.
pub const LINK_KEYS: &[&str] = &["title", "url"];
/// Keys of a test.
pub const TEST_KEYS: &[&str] = &["ask", "expect", "lang"];
/// The `expect:` of a test that the bot must not answer.
pub const ABSTAIN: &str = "abstain";
/// The threshold of a bot that sets none.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// A text in one or more languages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Texts {
    by_lang: Vec<(Lang, String)>,
}

impl Texts {
    /// The text in `lang`, else in `default`, else the first written; with its language.
    pub(crate) fn get(&self, lang: Lang, default: Lang) -> Option<(Lang, &str)> {
        let find = |l: Lang| {
            self.by_lang
                .iter()
                .find(|(x, _)| *x == l)
                .map(|(x, t)| (*x, t.as_str()))
        };
        find(lang)
            .or_else(|| find(default))
            .or_else(|| self.by_lang.first().map(|(x, t)| (*x, t.as_str())))
    }

    /// Every language's text.
    pub(crate) fn all(&self) -> impl Iterator<Item = (Lang, &str)> {
        self.by_lang.iter().map(|(l, t)| (*l, t.as_str()))
    }

    fn has(&self, lang: Lang) -> bool {
        self.by_lang.iter().any(|(l, _)| *l == lang)
    }
}

/// A link shown with an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// What the link says; the URL when the bot file gives no title.
    pub title: Texts,
    /// Where it goes.
    pub url: String,
}

/// One FAQ entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its id, unique in the bot.
    pub id: String,
    pub(crate) answers: Texts,
    /// Links shown with the answer.
    pub links: Vec<Link>,
    pub(crate) quick_replies: Vec<Texts>,
    /// Where each quick reply is written, and its field path.
    pub(crate) quick_reply_places: Vec<(Pos, String)>,
}

/// How the bot hands a conversation to a person.
#[derive(Debug, Clone, Default)]
pub struct Handoff {
    /// After how many questions in a row the bot could not answer a chat goes to a person.
    pub after: u32,
    pub(crate) offer: Texts,
    pub(crate) message: Texts,
}

/// The texts of a chat around the answers: the feedback question and its quick replies, and
/// what the bot says about the wait for a person. Each has a built-in text in every language
/// ([`ChatText::default_text`]); a bot file overrides them per language under `feedback:` and
/// `handoff:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatText {
    /// `feedback.question`: asked after an answer ("Did this answer your question?").
    FeedbackQuestion,
    /// `feedback.yes`: the quick reply saying the answer helped.
    Yes,
    /// `feedback.no`: the quick reply saying it did not (the chat goes to a person).
    No,
    /// `feedback.person`: the quick reply asking for a person.
    Person,
    /// `feedback.thanks`: said after a "yes".
    Thanks,
    /// `handoff.expected`: said with the handoff while the desk is open; `{expected_response}`
    /// is the expected response ("within 2 hours").
    Expected,
    /// `handoff.closed`: said with the handoff when the desk is closed; `{opens}` is when it
    /// opens ("at 08:00 tomorrow") and `{expected_response}` the expected response.
    Closed,
}

impl ChatText {
    /// Every chat text, in the order of their keys.
    pub const ALL: &'static [ChatText] = &[
        ChatText::FeedbackQuestion,
        ChatText::Yes,
        ChatText::No,
        ChatText::Person,
        ChatText::Thanks,
        ChatText::Expected,
        ChatText::Closed,
    ];

    /// The field path of the text in a bot file.
    pub fn key(self) -> &'static str {
        match self {
            ChatText::FeedbackQuestion => "feedback.question",
            ChatText::Yes => "feedback.yes",
            ChatText::No => "feedback.no",
            ChatText::Person => "feedback.person",
            ChatText::Thanks => "feedback.thanks",
            ChatText::Expected => "handoff.expected",
            ChatText::Closed => "handoff.closed",
        }
    }

    /// The built-in text in `lang` (a language tag: en, nb-NO, da, ar, zh-Hans; else English).
    pub fn default_text(self, lang: &str) -> &'static str {
        let l = Lang::from_tag(lang).unwrap_or(Lang::En);
        default_chat_text(self, l)
    }
}

fn default_chat_text(which: ChatText, lang: Lang) -> &'static str {
    use ChatText::*;
    match (which, lang) {
        (FeedbackQuestion, Lang::En) => "Did this answer your question?",
        (FeedbackQuestion, Lang::Nb) => "Fikk du svar på spørsmålet ditt?",
        (FeedbackQuestion, Lang::Da) => "Fik du svar på dit spørgsmål?",
        (FeedbackQuestion, Lang::Ar) => "هل أجاب هذا عن سؤالك؟",
        (FeedbackQuestion, Lang::Zh) => "这个回答解决您的问题了吗？",
        (Yes, Lang::En) => "Yes",
        (Yes, Lang::Nb | Lang::Da) => "Ja",
        (Yes, Lang::Ar) => "نعم",
        (Yes, Lang::Zh) => "解决了",
        (No, Lang::En) => "No",
        (No, Lang::Nb) => "Nei",
        (No, Lang::Da) => "Nej",
        (No, Lang::Ar) => "لا",
        (No, Lang::Zh) => "没有解决",
        (Person, Lang::En) => "Talk to a person",
        (Person, Lang::Nb) => "Snakk med en person",
        (Person, Lang::Da) => "Tal med en medarbejder",
        (Person, Lang::Ar) => "التحدث مع موظف",
        (Person, Lang::Zh) => "转人工客服",
        (Thanks, Lang::En) => "Glad I could help! Ask me anything else.",
        (Thanks, Lang::Nb) => "Så bra at jeg kunne hjelpe! Spør gjerne om noe mer.",
        (Thanks, Lang::Da) => "Godt, at jeg kunne hjælpe! Spørg endelig om mere.",
        (Thanks, Lang::Ar) => "يسعدني أنني استطعت المساعدة! اسألني عن أي شيء آخر.",
        (Thanks, Lang::Zh) => "很高兴能帮到您！还有其他问题，随时问我。",
        (Expected, Lang::En) => "Someone will answer {expected_response}.",
        (Expected, Lang::Nb) => "Noen svarer deg {expected_response}.",
        (Expected, Lang::Da) => "En medarbejder svarer dig {expected_response}.",
        (Expected, Lang::Ar) => "سيرد عليك أحد الموظفين {expected_response}.",
        (Expected, Lang::Zh) => "客服会在{expected_response}回复您。",
        (Closed, Lang::En) => {
            "We are closed right now and back {opens}. Someone will answer {expected_response}."
        }
        (Closed, Lang::Nb) => {
            "Vi har stengt nå og er tilbake {opens}. Noen svarer deg {expected_response}."
        }
        (Closed, Lang::Da) => {
            "Vi har lukket lige nu og er tilbage {opens}. En medarbejder svarer dig {expected_response}."
        }
        (Closed, Lang::Ar) => {
            "نحن خارج ساعات العمل الآن، وسنعود {opens}. سيرد عليك أحد الموظفين {expected_response}."
        }
        (Closed, Lang::Zh) => {
            "我们现在不在工作时间，将于{opens}恢复服务。客服会在{expected_response}回复您。"
        }
    }
}

/// The chat texts of a bot, one per [`ChatText`], each in every language of the bot.
#[derive(Debug, Clone, Default)]
pub struct ChatTexts {
    texts: Vec<Texts>,
}

impl ChatTexts {
    /// The built-in texts for `languages`, with the bot file's overrides.
    fn new(languages: &[Lang], given: &[(ChatText, Texts)]) -> ChatTexts {
        let texts = ChatText::ALL
            .iter()
            .map(|&which| {
                let over = given.iter().find(|(w, _)| *w == which).map(|(_, t)| t);
                let by_lang = languages
                    .iter()
                    .map(|&l| {
                        let text = over
                            .and_then(|t| t.by_lang.iter().find(|(x, _)| *x == l))
                            .map_or_else(
                                || default_chat_text(which, l).to_string(),
                                |(_, t)| t.clone(),
                            );
                        (l, text)
                    })
                    .collect();
                Texts { by_lang }
            })
            .collect();
        ChatTexts { texts }
    }

    pub(crate) fn get(&self, which: ChatText) -> Option<&Texts> {
        let i = ChatText::ALL.iter().position(|w| *w == which)?;
        self.texts.get(i)
    }
}

/// A test from the bot file's `tests:`.
#[derive(Debug, Clone)]
pub struct BotTest {
    /// The question.
    pub ask: String,
    /// The language given with it, if any.
    pub lang: Option<String>,
    /// The entry expected, or `None` when the bot must abstain.
    pub expect: Option<String>,
    /// Where the test is written.
    pub pos: Pos,
}

/// What a bot file says, before training.
pub(crate) struct BotDef {
    pub name: String,
    pub description: Option<String>,
    pub languages: Vec<Lang>,
    pub default: Lang,
    pub threshold: f64,
    pub greeting: Texts,
    pub fallback: Texts,
    pub handoff: Handoff,
    pub chat: ChatTexts,
    pub entries: Vec<Entry>,
    pub examples: Vec<Example>,
    pub tests: Vec<BotTest>,
}

/// Compiles one bot file's text; every problem goes to `diags`.
pub(crate) fn compile(file: &Path, text: &str, diags: &mut Diagnostics) -> Option<BotDef> {
    let node = match yaml::parse(text) {
        Ok(n) => n,
        Err(e) => {
            diags.push(Diagnostic {
                severity: Severity::Error,
                file: file.to_path_buf(),
                pos: e.pos,
                path: String::new(),
                message: format!("invalid YAML: {}", e.message),
            });
            return None;
        }
    };
    let errors_before = diags.error_count();
    let mut cx = Cx { file, diags };
    if matches!(node.kind, Kind::Null) {
        cx.error(
            node.pos,
            "",
            "empty bot file; a bot needs `bot`, `languages` and `faq`",
        );
        return None;
    }
    let top = cx.map(&node, "", BOT_KEYS)?;
    let mut c = BotCompiler {
        cx,
        languages: Vec::new(),
        default: Lang::En,
    };
    let def = c.bot(&top);
    (c.cx.diags.error_count() == errors_before)
        .then_some(def)
        .flatten()
}

struct BotCompiler<'d> {
    cx: Cx<'d>,
    languages: Vec<Lang>,
    default: Lang,
}

impl BotCompiler<'_> {
    fn bot(&mut self, top: &Fields<'_>) -> Option<BotDef> {
        let name = match top.get("bot") {
            Some(n) => self.cx.nonempty_text(n, "bot"),
            None => {
                self.cx.missing(top, "", "bot");
                None
            }
        };
        let description = top
            .get("description")
            .and_then(|n| self.cx.text(n, "description"));
        match top.get("languages") {
            Some(n) => self.languages(n),
            None => self.cx.missing(top, "", "languages"),
        }
        if let Some(n) = top.get("default_language") {
            if let Some(l) = self.language(n, "default_language") {
                self.default = l;
            }
        } else if let Some(&first) = self.languages.first() {
            self.default = first;
        }
        let threshold = top
            .get("threshold")
            .and_then(|n| self.threshold(n))
            .unwrap_or(DEFAULT_THRESHOLD);
        let greeting = top
            .get("greeting")
            .and_then(|n| self.texts(n, "greeting"))
            .unwrap_or_default();
        let fallback = top
            .get("fallback")
            .and_then(|n| self.texts(n, "fallback"))
            .unwrap_or_default();
        let mut chat = Vec::new();
        let handoff = top
            .get("handoff")
            .map(|n| self.handoff(n, &mut chat))
            .unwrap_or_else(|| Handoff {
                after: 2,
                ..Handoff::default()
            });
        if let Some(n) = top.get("feedback") {
            self.feedback(n, &mut chat);
        }
        let chat = ChatTexts::new(&self.languages, &chat);
        let mut entries = Vec::new();
        let mut examples = Vec::new();
        match top.get("faq") {
            Some(n) => self.faq(n, &mut entries, &mut examples),
            None => self.cx.missing(top, "", "faq"),
        }
        let tests = top
            .get("tests")
            .map(|n| self.tests(n, &entries))
            .unwrap_or_default();
        Some(BotDef {
            name: name?,
            description,
            languages: self.languages.clone(),
            default: self.default,
            threshold,
            greeting,
            fallback,
            handoff,
            chat,
            entries,
            examples,
            tests,
        })
    }

    fn languages(&mut self, node: &Node) {
        let Some(items) = self.cx.seq(node, "languages") else {
            return;
        };
        if items.is_empty() {
            self.cx
                .error(node.pos, "languages", "a bot needs at least one language");
        }
        for (i, item) in items.iter().enumerate() {
            let path = index("languages", i);
            let Some(code) = self.cx.text(item, &path) else {
                continue;
            };
            match Lang::from_code(&code) {
                Some(l) if self.languages.contains(&l) => {
                    self.cx.warn(
                        item.pos,
                        &path,
                        format!("language `{code}` is listed twice"),
                    );
                }
                Some(l) => self.languages.push(l),
                None => self.unknown_language(item.pos, &path, &code),
            }
        }
    }

    fn unknown_language(&mut self, pos: Pos, path: &str, code: &str) {
        let codes = Lang::codes();
        let mut hint = did_you_mean(code, codes.iter().copied());
        if hint.is_empty() {
            if let Some(l) = Lang::from_tag(code) {
                hint = format!("; did you mean `{}`?", l.code());
            } else {
                hint = format!(" (supported: {})", codes.join(", "));
            }
        }
        self.cx
            .error(pos, path, format!("unknown language `{code}`{hint}"));
    }

    /// A language code that must be one of the bot's `languages`.
    fn language(&mut self, node: &Node, path: &str) -> Option<Lang> {
        let code = self.cx.text(node, path)?;
        self.bot_language(node.pos, path, &code)
    }

    fn bot_language(&mut self, pos: Pos, path: &str, code: &str) -> Option<Lang> {
        match Lang::from_code(code) {
            Some(l) if self.languages.contains(&l) || self.languages.is_empty() => Some(l),
            Some(_) => {
                let listed: Vec<&str> = self.languages.iter().map(|l| l.code()).collect();
                self.cx.error(
                    pos,
                    path,
                    format!(
                        "language `{code}` is not in this bot's `languages` ({})",
                        listed.join(", ")
                    ),
                );
                None
            }
            None => {
                self.unknown_language(pos, path, code);
                None
            }
        }
    }

    fn threshold(&mut self, node: &Node) -> Option<f64> {
        let value = match node.kind {
            Kind::Float(f) => f,
            Kind::Int(i) => i as f64,
            _ => {
                self.cx
                    .expected(node, "threshold", "a number between 0 and 1");
                return None;
            }
        };
        if !(0.0..=1.0).contains(&value) {
            self.cx.error(
                node.pos,
                "threshold",
                format!("threshold must be between 0 and 1, not {value}"),
            );
            return None;
        }
        Some(value)
    }

    /// A text, or a mapping of language → text. A plain text is in the default language.
    fn texts(&mut self, node: &Node, path: &str) -> Option<Texts> {
        match &node.kind {
            Kind::Map(pairs) => {
                let mut out = Texts::default();
                let mut ok = true;
                for (k, v) in pairs {
                    let Some(code) = k.scalar_text() else {
                        self.cx.expected(k, path, "a language code");
                        ok = false;
                        continue;
                    };
                    let p = join(path, &code);
                    let lang = self.bot_language(k.pos, &p, &code);
                    let text = self.cx.nonempty_text(v, &p);
                    match (lang, text) {
                        (Some(l), Some(t)) => out.by_lang.push((l, t)),
                        _ => ok = false,
                    }
                }
                if pairs.is_empty() {
                    self.cx
                        .error(node.pos, path, "expected a text in at least one language");
                    ok = false;
                }
                ok.then_some(out)
            }
            _ => {
                let t = self.cx.nonempty_text(node, path)?;
                Some(Texts {
                    by_lang: vec![(self.default, t)],
                })
            }
        }
    }

    fn feedback(&mut self, node: &Node, chat: &mut Vec<(ChatText, Texts)>) {
        let Some(f) = self.cx.map(node, "feedback", FEEDBACK_KEYS) else {
            return;
        };
        for (key, which) in [
            ("question", ChatText::FeedbackQuestion),
            ("yes", ChatText::Yes),
            ("no", ChatText::No),
            ("person", ChatText::Person),
            ("thanks", ChatText::Thanks),
        ] {
            if let Some(n) = f.get(key) {
                if let Some(t) = self.chat_texts(n, which.key(), &[]) {
                    chat.push((which, t));
                }
            }
        }
        // The three quick replies are told apart by their text, so they must differ.
        let replies = [
            ("yes", ChatText::Yes),
            ("no", ChatText::No),
            ("person", ChatText::Person),
        ];
        let text = |w: ChatText, l: Lang| {
            chat.iter()
                .find(|(x, _)| *x == w)
                .and_then(|(_, t)| t.by_lang.iter().find(|(x, _)| *x == l))
                .map_or_else(|| default_chat_text(w, l).to_string(), |(_, t)| t.clone())
        };
        let norm = crate::faq::normalise::normalise;
        for &l in &self.languages.clone() {
            for (i, &(ka, a)) in replies.iter().enumerate() {
                for &(kb, b) in &replies[i + 1..] {
                    let (ta, tb) = (text(a, l), text(b, l));
                    if norm(&ta) != norm(&tb) {
                        continue;
                    }
                    // Point at the one the file wrote (the later, when it wrote both).
                    let (key, node) = match (f.get(ka), f.get(kb)) {
                        (_, Some(n)) => (kb, n),
                        (Some(n), None) => (ka, n),
                        (None, None) => continue,
                    };
                    self.cx.error(
                        node.pos,
                        &format!("feedback.{key}"),
                        format!(
                            "`feedback.{ka}` and `feedback.{kb}` both read \"{tb}\" in `{}`; the quick replies must differ",
                            l.code()
                        ),
                    );
                }
            }
        }
    }

    /// Texts per language whose `{placeholders}` must be among `allowed`.
    fn chat_texts(&mut self, node: &Node, path: &str, allowed: &[&str]) -> Option<Texts> {
        let texts = self.texts(node, path)?;
        let values: Vec<(&Node, String)> = match &node.kind {
            Kind::Map(pairs) => pairs
                .iter()
                .map(|(k, v)| (v, join(path, &k.scalar_text().unwrap_or_default())))
                .collect(),
            _ => vec![(node, path.to_string())],
        };
        let mut ok = true;
        for (v, p) in values {
            let Some(text) = v.scalar_text() else {
                continue;
            };
            for name in placeholders(&text) {
                if !allowed.contains(&name.as_str()) {
                    ok = false;
                    let known = if allowed.is_empty() {
                        " (this text takes none)".to_string()
                    } else {
                        let hint = did_you_mean(&name, allowed.iter().copied());
                        if hint.is_empty() {
                            let list: Vec<String> =
                                allowed.iter().map(|a| format!("{{{a}}}")).collect();
                            format!(" (known: {})", list.join(", "))
                        } else {
                            hint
                        }
                    };
                    self.cx.error(
                        v.pos,
                        &p,
                        format!("unknown placeholder `{{{name}}}`{known}"),
                    );
                }
            }
        }
        ok.then_some(texts)
    }

    fn handoff(&mut self, node: &Node, chat: &mut Vec<(ChatText, Texts)>) -> Handoff {
        let mut h = Handoff {
            after: 2,
            ..Handoff::default()
        };
        let Some(f) = self.cx.map(node, "handoff", HANDOFF_KEYS) else {
            return h;
        };
        if let Some(n) = f.get("after") {
            match self.cx.int(n, "handoff.after") {
                Some(i) if (1..=100).contains(&i) => h.after = i as u32,
                Some(i) => self.cx.error(
                    n.pos,
                    "handoff.after",
                    format!("must be between 1 and 100, not {i}"),
                ),
                None => {}
            }
        }
        if let Some(n) = f.get("offer") {
            h.offer = self.texts(n, "handoff.offer").unwrap_or_default();
        }
        if let Some(n) = f.get("message") {
            h.message = self.texts(n, "handoff.message").unwrap_or_default();
        }
        for (key, which, allowed) in [
            ("expected", ChatText::Expected, EXPECTED_PLACEHOLDERS),
            ("closed", ChatText::Closed, CLOSED_PLACEHOLDERS),
        ] {
            if let Some(n) = f.get(key) {
                if let Some(t) = self.chat_texts(n, which.key(), allowed) {
                    chat.push((which, t));
                }
            }
        }
        h
    }

    fn faq(&mut self, node: &Node, entries: &mut Vec<Entry>, examples: &mut Vec<Example>) {
        let Some(items) = self.cx.seq(node, "faq") else {
            return;
        };
        if items.is_empty() {
            self.cx.error(
                node.pos,
                "faq",
                "a bot needs at least one FAQ entry; this list is empty",
            );
            return;
        }
        let mut ids: HashMap<String, Pos> = HashMap::new();
        let mut seen_questions: HashMap<String, (String, Pos)> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let path = index("faq", i);
            let Some(f) = self.cx.map(item, &path, ENTRY_KEYS) else {
                continue;
            };
            let id = match f.get("id") {
                Some(n) => self.entry_id(n, &join(&path, "id"), &mut ids),
                None => {
                    self.cx.missing(&f, &path, "id");
                    None
                }
            };
            let entry_no = entries.len() as u32;
            let questions = match f.get("questions") {
                Some(n) => self.questions(n, &join(&path, "questions")),
                None => {
                    self.cx.missing(&f, &path, "questions");
                    Vec::new()
                }
            };
            let answers = match (f.get("answer"), f.get("answers")) {
                (Some(_), Some(b)) => {
                    self.cx.error(
                        b.pos,
                        &join(&path, "answers"),
                        "write either `answer` or `answers`, not both",
                    );
                    None
                }
                (Some(a), None) => {
                    let t = self.cx.nonempty_text(a, &join(&path, "answer"));
                    t.map(|t| Texts {
                        by_lang: vec![(self.default, t)],
                    })
                }
                (None, Some(b)) => {
                    let p = join(&path, "answers");
                    let t = self.texts(b, &p);
                    if let Some(t) = &t {
                        if !t.has(self.default) {
                            self.cx.warn(
                                b.pos,
                                &p,
                                format!(
                                    "no answer in the default language `{}`",
                                    self.default.code()
                                ),
                            );
                        }
                    }
                    t
                }
                (None, None) => {
                    self.cx.error(
                        f.pos,
                        &path,
                        "missing required field `answer` (or `answers` per language)",
                    );
                    None
                }
            };
            let links = f
                .get("links")
                .map(|n| self.links(n, &join(&path, "links")))
                .unwrap_or_default();
            let (quick_replies, quick_reply_places) = match f.get("quick_replies") {
                Some(n) => {
                    let p = join(&path, "quick_replies");
                    let list = self.cx.list(n);
                    let single = !matches!(n.kind, Kind::Seq(_));
                    list.iter()
                        .enumerate()
                        .filter_map(|(j, q)| {
                            let p = if single { p.clone() } else { index(&p, j) };
                            let texts = self.texts(q, &p)?;
                            Some((texts, (q.pos, p)))
                        })
                        .unzip()
                }
                None => (Vec::new(), Vec::new()),
            };
            let (Some(id), Some(answers)) = (id, answers) else {
                continue;
            };
            for (text, lang, pos) in questions {
                let key = super::normalise::normalise(&text);
                match seen_questions.get(&key) {
                    Some((other, at)) if *other != id => self.cx.warn(
                        pos,
                        &join(&path, "questions"),
                        format!(
                            "the same question is also in entry `{other}` (line {}); the \
                             matcher cannot tell them apart on it",
                            at.line
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        seen_questions.insert(key, (id.clone(), pos));
                    }
                }
                examples.push(Example {
                    entry: entry_no,
                    text,
                    lang,
                });
            }
            entries.push(Entry {
                id,
                answers,
                links,
                quick_replies,
                quick_reply_places,
            });
        }
    }

    fn entry_id(
        &mut self,
        node: &Node,
        path: &str,
        ids: &mut HashMap<String, Pos>,
    ) -> Option<String> {
        let id = self.cx.nonempty_text(node, path)?;
        if id == ABSTAIN {
            self.cx.error(
                node.pos,
                path,
                format!(
                    "`{ABSTAIN}` is reserved for tests that expect no answer; choose another id"
                ),
            );
            return None;
        }
        if let Some(first) = ids.get(&id) {
            self.cx.error(
                node.pos,
                path,
                format!(
                    "duplicate id `{id}`; it is already used at line {}:{}",
                    first.line, first.col
                ),
            );
            return None;
        }
        ids.insert(id.clone(), node.pos);
        Some(id)
    }

    /// `questions:` as a list, or per language; each with its language when known.
    fn questions(&mut self, node: &Node, path: &str) -> Vec<(String, Option<Lang>, Pos)> {
        let mut out = Vec::new();
        let only = (self.languages.len() == 1).then(|| self.languages[0]);
        match &node.kind {
            Kind::Map(pairs) => {
                for (k, v) in pairs {
                    let Some(code) = k.scalar_text() else {
                        self.cx.expected(k, path, "a language code");
                        continue;
                    };
                    let p = join(path, &code);
                    let lang = self.bot_language(k.pos, &p, &code);
                    let list = self.question_list(v, &p);
                    if let Some(l) = lang {
                        out.extend(list.into_iter().map(|(q, pos)| (q, Some(l), pos)));
                    }
                }
                if pairs.is_empty() {
                    self.cx
                        .error(node.pos, path, "an entry needs at least one question");
                }
            }
            _ => {
                let list = self.question_list(node, path);
                out.extend(list.into_iter().map(|(q, pos)| (q, only, pos)));
            }
        }
        out
    }

    fn question_list(&mut self, node: &Node, path: &str) -> Vec<(String, Pos)> {
        let single = !matches!(node.kind, Kind::Seq(_));
        let items = self.cx.list(node);
        if items.is_empty() {
            self.cx.error(
                node.pos,
                path,
                "an entry needs at least one question; this list is empty",
            );
        }
        let mut out = Vec::new();
        for (i, q) in items.into_iter().enumerate() {
            let p = if single {
                path.to_string()
            } else {
                index(path, i)
            };
            let Some(text) = self.cx.nonempty_text(q, &p) else {
                continue;
            };
            if super::normalise::normalise(&text).is_empty() {
                self.cx.error(
                    q.pos,
                    &p,
                    "this question has no letters or digits, so nothing can match it",
                );
                continue;
            }
            out.push((text, q.pos));
        }
        out
    }

    fn links(&mut self, node: &Node, path: &str) -> Vec<Link> {
        let Some(items) = self.cx.seq(node, path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = index(path, i);
            match &item.kind {
                Kind::Map(_) => {
                    let Some(f) = self.cx.map(item, &p, LINK_KEYS) else {
                        continue;
                    };
                    let url = match f.get("url") {
                        Some(n) => self.url(n, &join(&p, "url")),
                        None => {
                            self.cx.missing(&f, &p, "url");
                            None
                        }
                    };
                    let title = f
                        .get("title")
                        .and_then(|n| self.texts(n, &join(&p, "title")));
                    if let Some(url) = url {
                        let title = title.unwrap_or_else(|| Texts {
                            by_lang: vec![(self.default, url.clone())],
                        });
                        out.push(Link { title, url });
                    }
                }
                _ => {
                    if let Some(url) = self.url(item, &p) {
                        out.push(Link {
                            title: Texts {
                                by_lang: vec![(self.default, url.clone())],
                            },
                            url,
                        });
                    }
                }
            }
        }
        out
    }

    fn url(&mut self, node: &Node, path: &str) -> Option<String> {
        let url = self.cx.nonempty_text(node, path)?;
        let ok = url.starts_with("https://")
            || url.starts_with("http://")
            || url.starts_with("mailto:")
            || url.starts_with("tel:")
            || url.starts_with('/');
        if !ok {
            self.cx.error(
                node.pos,
                path,
                format!(
                    "`{url}` is not a link: write https://..., http://..., mailto:, tel: or /path"
                ),
            );
            return None;
        }
        Some(url)
    }

    fn tests(&mut self, node: &Node, entries: &[Entry]) -> Vec<BotTest> {
        let Some(items) = self.cx.seq(node, "tests") else {
            return Vec::new();
        };
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = index("tests", i);
            let Some(f) = self.cx.map(item, &path, TEST_KEYS) else {
                continue;
            };
            let ask = match f.get("ask") {
                // An empty question is a fair test: the bot must not answer it.
                Some(n) => self.cx.text(n, &join(&path, "ask")),
                None => {
                    self.cx.missing(&f, &path, "ask");
                    None
                }
            };
            let lang = f.get("lang").and_then(|n| {
                let p = join(&path, "lang");
                let tag = self.cx.nonempty_text(n, &p)?;
                if crate::model::valid_language(&tag.to_ascii_lowercase()) {
                    Some(tag)
                } else {
                    self.cx
                        .error(n.pos, &p, format!("`{tag}` is not a language tag"));
                    None
                }
            });
            let expect = match f.get("expect") {
                Some(n) => {
                    let p = join(&path, "expect");
                    match self.cx.nonempty_text(n, &p) {
                        Some(e) if e == ABSTAIN => Some(None),
                        Some(e) if ids.contains(&e.as_str()) => Some(Some(e)),
                        Some(e) => {
                            let hint = did_you_mean(
                                &e,
                                ids.iter().copied().chain(std::iter::once(ABSTAIN)),
                            );
                            self.cx.error(
                                n.pos,
                                &p,
                                format!("no FAQ entry has the id `{e}`{hint}"),
                            );
                            None
                        }
                        None => None,
                    }
                }
                None => {
                    self.cx.missing(&f, &path, "expect");
                    None
                }
            };
            if let (Some(ask), Some(expect)) = (ask, expect) {
                out.push(BotTest {
                    ask,
                    lang,
                    expect,
                    pos: f.pos,
                });
            }
        }
        out
    }
}

/// The `{name}` placeholders of a text (`{{` is a literal brace).
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('{') {
            rest = stripped;
            continue;
        }
        match after.find('}') {
            Some(j) => {
                out.push(after[..j].trim().to_string());
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}

/// Trains the matcher of a compiled bot. With [`Options::ids`], each entry's id is one more
/// question (`password_reset` → "password reset"): admins name entries by what they are about.
pub(crate) fn train(def: &BotDef, options: Options) -> Matcher {
    let mut examples = def.examples.clone();
    if options.ids {
        for (i, e) in def.entries.iter().enumerate() {
            let text = e.id.replace(['_', '-', '.', '/'], " ");
            if !super::normalise::normalise(&text).is_empty() {
                examples.push(Example {
                    entry: i as u32,
                    text,
                    lang: (def.languages.len() == 1).then(|| def.languages[0]),
                });
            }
        }
    }
    Matcher::train(
        &examples,
        def.entries.len(),
        &def.languages,
        def.default,
        options,
    )
}
