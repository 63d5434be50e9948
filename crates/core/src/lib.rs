//! The pure core of frontdesk: everything that decides, and nothing that waits.
//!
//! This crate does no I/O and reads no clock: it has no tokio, sqlx, axum, reqwest or lettre
//! among its dependencies, so the compiler keeps [`engine::decide`] pure. The `frontdesk`
//! crate (store, service, HTTP server, connectors, CLI) is built on top of it and re-exports
//! its modules under the same names.
//!
//! # Layout
//!
//! - [`model`]: events, tickets, messages, actions — the JSON at the edges.
//! - [`config`]: loading a rule pack. YAML with positions ([`config::yaml`]) is compiled into an
//!   immutable [`config::Config`]; every problem becomes a [`config::Diagnostic`] with
//!   `file:line:col` and a field path. Rule-file `tests:` compile with it ([`config::tests`]).
//! - [`rules`]: the compiled rule language: conditions, actions, keyword automaton, Rhai
//!   sandbox, templates.
//! - [`time`]: business calendars, business-time arithmetic and the expected response.
//! - [`engine`]: [`engine::decide`], the pure decision function, and [`engine::decide_with`],
//!   which also reads the routing state the shell loaded ([`engine::Context`]).
//! - [`routing`]: agents, teams, availability and automatic assignment ([`routing::route`]).
//! - [`sla`]: SLA policies and the clocks they run on a ticket (first response, next response,
//!   resolution), with their warning and breach timers.
//! - [`csat`]: satisfaction surveys: reading a rating from a customer's answer, signed survey
//!   links, what a rating does to the ticket before the rules run.
//! - [`schedule`]: cron schedules (`schedules:`) and their occurrences in a time zone.
//! - [`measured`]: measured first responses blended into the expected response.
//! - [`memo`]: a bounded memory of pure answers the pack gives again and again (typo
//!   corrections).
//! - [`outbound`]: which actions of a decision leave frontdesk (outbox rows), and the requests
//!   a helpdesk's API gets for them, planned without I/O.
//! - [`plan`]: what a decision means for the store: the typed writes that commit an event
//!   (ticket, event, audit, timers, load slots, queue, outbox, samples), planned without a
//!   database; each store backend only executes them.
//! - [`replay`]: what-if replay: recorded events decided again against a candidate pack in
//!   virtual time, and what changed (rules fired, actions per ticket, KPIs).
//! - [`faq`]: FAQ bots: bot files, the matcher trained at load, [`faq::Bot::ask`].
//! - [`bot`]: chat sessions with a bot: replies, feedback, handoff ([`bot::reply`], pure).
//! - [`testing`]: running rule-file `tests:`.
//! - [`syntax`]: YAML with positions, typed reads that collect diagnostics, the diagnostics
//!   themselves — the layer every compiler reads from.
//!
//! # Example
//!
//! ```
//! use frontdesk_core::{config::Config, engine, model::Event};
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

pub mod bot;
pub mod config;
pub mod csat;
pub mod engine;
pub mod faq;
pub mod kpi;
pub mod measured;
pub mod memo;
pub mod model;
pub mod outbound;
pub mod plan;
pub mod replay;
pub mod routing;
pub mod rules;
pub mod schedule;
pub mod sla;
pub mod syntax;
pub mod table;
pub mod testing;
pub mod time;
