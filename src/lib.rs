//! frontdesk: a rule-driven triage and chatbot engine for helpdesks.
//!
//! Admins write rules in YAML (and Rhai scripts); frontdesk evaluates them on every event a
//! helpdesk sends (a ticket was created, a customer wrote, a timer fired) and decides what to
//! do: acknowledge, tag, prioritise, assign, answer, escalate.
//!
//! # Layout
//!
//! - [`model`]: events, tickets, messages, actions — the JSON at the edges.
//! - [`adapters`]: helpdesk webhook bodies (Chatwoot, Zammad, Zendesk, generic) → [`model::Event`],
//!   and webhook signature checks ([`adapters::signature`]).
//! - [`config`]: loading a rule pack. YAML with positions ([`config::yaml`]) is compiled into an
//!   immutable [`config::Config`]; every problem becomes a [`config::Diagnostic`] with
//!   `file:line:col` and a field path.
//! - [`rules`]: the compiled rule language: conditions, actions, keyword automaton, Rhai
//!   sandbox, templates.
//! - [`time`]: business calendars, business-time arithmetic and the expected response.
//! - [`engine`]: [`engine::decide`], the pure decision function, and [`engine::decide_with`],
//!   which also reads the routing state the shell loaded ([`engine::Context`]).
//! - [`routing`]: agents, teams, availability and automatic assignment ([`routing::route`]).
//! - [`sla`]: SLA policies and the clocks they run on a ticket (first response, next response,
//!   resolution), with their warning and breach timers.
//! - [`schedule`]: cron schedules (`schedules:`) and their occurrences in a time zone.
//! - [`faq`]: FAQ bots: bot files, the matcher trained at load, [`faq::Bot::ask`].
//! - [`bot`]: chat sessions with a bot: replies, feedback, handoff ([`bot::reply`], pure).
//! - [`plan`]: what a decision means for the store: the typed writes that commit an event
//!   (pure; the stores in [`store`] only execute them).
//! - [`testing`]: rule-file `tests:`.
//! - [`cli`]: the `frontdesk` command.
//!
//! # Example
//!
//! ```
//! use frontdesk::{config::Config, engine, model::Event};
//!
//! let config = Config::from_yaml("inline.yaml", r#"
//! rules:
//!   - name: outage is urgent
//!     on: [ticket.created]
//!     when: { field: message.text, contains_any: [outage, "is down"] }
//!     then: [ { set_priority: urgent }, { add_tags: [outage] } ]
//! "#).expect("valid rules");
//! let event = Event::from_json(r#"{"id": "e1", "type": "ticket.created",
//!     "ticket": {"id": "T1", "channel": "email"},
//!     "message": {"text": "The portal IS DOWN again"}}"#).unwrap();
//! let now = "2026-11-23T10:00:00Z".parse().unwrap();
//! let decision = engine::decide(&config, &event.ticket, &event, now);
//! assert_eq!(decision.ticket.tags, ["outage"]);
//! assert_eq!(decision.trace.fired, ["outage is urgent"]);
//! ```
#![warn(missing_docs)]

pub mod adapters;
pub mod bot;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod engine;
pub mod faq;
pub mod measured;
pub mod model;
pub mod plan;
pub mod routing;
pub mod rules;
pub mod schedule;
pub mod server;
pub mod sla;
pub mod store;
pub mod testing;
pub mod time;
