//! The data frontdesk works on: events in, tickets, messages, and the actions it decides.
//!
//! These types are the normalised JSON at the edges (`POST /v1/events`, `frontdesk run --event`)
//! and what [`crate::engine::decide`] reads and returns. Every enum serialises in `snake_case`
//! (event types in their dotted form, `ticket.created`).

mod action;
mod event;
mod helpdesk;
mod sla;
pub mod strict;
mod ticket;

pub use action::{Action, AssignTarget, HeaderValue, HttpMethod, NotifyChannel, TimerSpec};
pub use event::{Change, Event, EventType, TimerRef};
pub use helpdesk::Helpdesk;
pub use sla::{Metric, SlaClock, SlaState, SLA_TIMER_PREFIX};
pub use ticket::{
    Author, Channel, Csat, Customer, Message, Priority, Source, Status, Ticket, TicketStats,
};

/// Whether `tag` looks like a BCP 47 language tag (`nb`, `en-GB`, `zh-Hans`).
pub fn valid_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first = parts.next().unwrap_or("");
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A closed set of names that rules may mention (priorities, statuses, channels, ...).
///
/// The config compiler uses it to validate values and to suggest the nearest name for a typo.
pub trait Named: Sized + Copy + 'static {
    /// Every value, in their natural order.
    const ALL: &'static [Self];
    /// The name as written in rules and JSON.
    fn name(self) -> &'static str;
    /// Parses a name (case-insensitive).
    fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name().eq_ignore_ascii_case(s))
    }
    /// Every name, for messages and suggestions.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.name()).collect()
    }
}

/// Declares a `Named` enum with serde and schema support from one list of `Variant = "name"`.
macro_rules! named_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        $vis enum $name {
            $($(#[$vmeta])* #[doc = concat!("`", $text, "`")] #[serde(rename = $text)] $variant),+
        }
        impl $crate::model::Named for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn name(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::model::Named::name(*self))
            }
        }
    };
}
pub(crate) use named_enum;
