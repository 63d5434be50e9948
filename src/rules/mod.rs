//! The rule language at run time: compiled rules, their conditions and actions, keyword
//! matching, the Rhai sandbox and templates.
//!
//! Adding an operator touches [`condition`]; adding an action touches [`action`] and
//! [`crate::engine`]'s `apply`.

pub mod action;
pub mod condition;
pub mod field;
pub mod script;
pub mod template;
pub mod text;

use std::cell::RefCell;

use chrono::{DateTime, Utc};

use crate::config::yaml::Pos;
use crate::model::{Event, Ticket};
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
