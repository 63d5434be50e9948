//! The rule language at run time: compiled rules, their conditions and actions, keyword
//! matching, the Rhai sandbox and templates.
//!
//! Adding an operator touches [`condition`]; adding an action touches [`action`] and
//! [`crate::engine`]'s `apply`.

pub mod action;
pub mod condition;
pub mod field;
pub mod forms;
pub mod script;
pub mod some_fields;
pub mod template;
pub mod text;

use std::cell::RefCell;

use chrono::{DateTime, Utc};

use crate::faq::{Answer, BotSet, Reading};
use crate::model::{Author, Event, Ticket};
use crate::syntax::yaml::Pos;
use action::ActionDef;
use condition::Cond;
use field::TextSlot;
use script::Scripts;
use text::BitSet;

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// File it was written in.
    pub file: std::path::PathBuf,
    /// Where.
    pub pos: Pos,
    /// Event types it listens to, as bits of `EventType as u16`.
    pub on: u16,
    /// Condition; `None` always holds.
    pub when: Option<Cond>,
    /// Actions.
    pub then: Vec<ActionDef>,
    /// Ends evaluation when it fires.
    pub stop: bool,
    /// Whether it runs at all.
    pub enabled: bool,
    /// Sort key; lower first.
    pub order: i64,
    /// Keywords one of which must appear for the rule to match.
    pub required: Option<Vec<(TextSlot, u32)>>,
}

/// A problem met while deciding (a failing script, a template that cannot render).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RuleError {
    /// The rule (or `timer NAME`).
    pub rule: String,
    /// Where in the rule.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Folded texts of the event and the keywords found in them.
#[derive(Debug, Default)]
pub struct Texts {
    /// Subject and message text, joined, as the `text` field reads it.
    pub both: String,
    /// Keyword hits per [`TextSlot`].
    pub hits: [BitSet; 3],
    /// Keywords found through a word form (only when explaining).
    pub forms: Vec<(TextSlot, text::FormHit)>,
}

/// What conditions read while one rule is evaluated.
pub struct Scope<'a> {
    /// The ticket as earlier rules left it.
    pub ticket: &'a Ticket,
    /// The event.
    pub event: &'a Event,
    /// The decision's time.
    pub now: DateTime<Utc>,
    /// Folded texts and keyword hits.
    pub texts: &'a Texts,
    /// The pack's scripts.
    pub scripts: &'a Scripts,
    /// The pack's calendars.
    pub calendars: &'a crate::time::Calendars,
    /// The Rhai maps of the current ticket, built on first use.
    pub script_scope: &'a RefCell<Option<rhai::Scope<'static>>>,
    /// Errors met (script failures).
    pub errors: &'a RefCell<Vec<RuleError>>,
    /// The rule being evaluated.
    pub rule: &'a str,
    /// The pack's FAQ bots.
    pub bots: &'a BotSet,
    /// What the bots answered so far in this decision.
    pub asked: &'a Asked,
}

/// The FAQ bots' answers to an event, each bot asked at most once per decision (an `intent`
/// condition and an `answer_faq` action of the same bot share one answer); with the bots'
/// readings of the question, for the decision's trace.
#[derive(Debug, Default)]
pub struct Asked {
    answers: RefCell<Vec<(String, Option<Answer>)>>,
    readings: RefCell<Vec<Reading>>,
    /// Readings of this event's question made before (by its recorded decision): one of the
    /// same bot and question is used instead of reading again.
    known: Vec<Reading>,
}

impl Asked {
    /// Answers that reuse the `known` readings where they fit.
    pub fn reusing(known: Vec<Reading>) -> Asked {
        Asked {
            known,
            ..Asked::default()
        }
    }

    /// What `bot` makes of the customer's message in `event`; `None` when the event carries no
    /// customer text (an agent's or a bot's message, a timer) or the bot is not loaded.
    pub fn ask(&self, bots: &BotSet, bot: &str, ticket: &Ticket, event: &Event) -> Option<Answer> {
        if let Some((_, a)) = self.answers.borrow().iter().find(|(b, _)| b == bot) {
            return a.clone();
        }
        let answer = faq_question(ticket, event).and_then(|q| {
            let lang = ticket
                .customer
                .language
                .as_deref()
                .or_else(|| event.message.as_ref()?.language.as_deref());
            let bot = bots.get(bot)?;
            let reading = match self.known.iter().find(|r| bot.has_read(r, q, lang)) {
                Some(known) => known.clone(),
                None => bot.read(q, lang),
            };
            let answer = bot.answer(&reading, lang, bot.threshold());
            self.readings.borrow_mut().push(reading);
            Some(answer)
        });
        self.answers
            .borrow_mut()
            .push((bot.to_string(), answer.clone()));
        answer
    }

    /// The bots' readings of the question, in the order they were asked.
    pub fn into_readings(self) -> Vec<Reading> {
        self.readings.into_inner()
    }
}

/// The readings of the question in `event` by the bots `names`, made from the event as it
/// arrives, before its decision: the daemon makes them while the event waits for the store's
/// writer, so that the one thread that decides and writes events in turn does not spend its
/// time on them. Given to the decision as known readings ([`Asked::reusing`]), each is used
/// only where its bot, question and language are the ones the decision asks with
/// ([`crate::faq::Bot::has_read`]); where they are not (the stored ticket's subject or
/// customer language decide them), the bot reads again, so the answer is the same either way.
pub fn read_ahead(bots: &BotSet, names: &[String], event: &Event) -> Vec<Reading> {
    let Some(q) = faq_question(&event.ticket, event) else {
        return Vec::new();
    };
    let lang = event
        .ticket
        .customer
        .language
        .as_deref()
        .or_else(|| event.message.as_ref()?.language.as_deref());
    names
        .iter()
        .filter_map(|name| bots.get(name))
        .map(|bot| bot.read(q, lang))
        .collect()
}

/// The text an FAQ bot is asked: the customer's message, or the subject of a new ticket
/// without one. Messages by agents and bots are not questions.
fn faq_question<'a>(ticket: &'a Ticket, event: &'a Event) -> Option<&'a str> {
    match &event.message {
        Some(m) if m.author != Author::Customer => None,
        Some(m) if !m.text.trim().is_empty() => Some(&m.text),
        _ if !ticket.subject.trim().is_empty() => Some(&ticket.subject),
        _ => None,
    }
}

impl Scope<'_> {
    /// The joined subject and message text.
    pub fn text_both(&self) -> &str {
        &self.texts.both
    }

    /// Keyword hits in a text.
    pub fn hits(&self, slot: TextSlot) -> &BitSet {
        &self.texts.hits[slot as usize]
    }

    /// Whether `bot` reads the event as one of `ids` (any entry when empty) with at least
    /// `min_score` confidence (the bot's threshold when `None`).
    pub fn intent(&self, bot: &str, ids: &[String], min_score: Option<f64>) -> bool {
        let Some(answer) = self.asked.ask(self.bots, bot, self.ticket, self.event) else {
            return false;
        };
        let Some((top, _)) = answer.candidates.first() else {
            return false;
        };
        let min = min_score.unwrap_or_else(|| self.bots.get(bot).map_or(1.0, |b| b.threshold()));
        answer.score >= min && (ids.is_empty() || ids.contains(top))
    }

    /// Runs a script condition; a failure counts as "does not hold" and is recorded.
    pub fn script_condition(&self, id: usize, path: &str) -> bool {
        let mut cache = self.script_scope.borrow_mut();
        let scope = cache.get_or_insert_with(|| script::scope_for(self.ticket, self.event));
        match self.scripts.condition(id, scope) {
            Ok(b) => b,
            Err(message) => {
                self.errors.borrow_mut().push(RuleError {
                    rule: self.rule.to_string(),
                    path: path.to_string(),
                    message,
                });
                false
            }
        }
    }
}
