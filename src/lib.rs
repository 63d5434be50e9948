//! frontdesk: a rule-driven triage and chatbot engine for helpdesks.
//!
//! Admins write rules in YAML (and Rhai scripts); frontdesk evaluates them on every event a
//! helpdesk sends (a ticket was created, a customer wrote, a timer fired) and decides what to
//! do: acknowledge, tag, prioritise, assign, answer, escalate.
//!
//! # Layout
//!
//! Two crates. `frontdesk-core` (`crates/core`) is the pure part — model, rule packs, the
//! decision function, business time, SLA, routing, FAQ bots — with no I/O dependency at all;
//! its modules are re-exported here under the same names ([`model`], [`config`], [`rules`],
//! [`time`], [`engine`], [`routing`], [`sla`], [`schedule`], [`measured`], [`csat`], [`faq`],
//! [`bot`], [`outbound`], [`plan`], [`replay`], [`syntax`], [`testing`]). This crate is the shell around it, in layers:
//!
//! - [`server`]: the HTTP edge (axum). Handlers parse a request, call the service, render the
//!   answer or its error.
//! - [`service`]: what the daemon does — process an event, a chat turn, fire timers and cron
//!   occurrences, deliver the outbox, offer queued tickets, reload the pack, explain stored
//!   decisions, try events and replay the store against a candidate pack — with one error
//!   type ([`service::Error`], [`service::Code`]) and no HTTP types.
//! - [`store`]: durable state behind one trait, on SQLite (embedded) or PostgreSQL (replicas).
//! - [`adapters`]: helpdesk webhook bodies (Chatwoot, Zammad, Zendesk, generic) →
//!   [`model::Event`], and webhook signature checks ([`adapters::signature`]).
//! - [`delivery`]: the outbox's connectors (webhooks, Slack, SMTP, helpdesk APIs).
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

pub use frontdesk_core::{
    bot, config, csat, engine, faq, kpi, measured, model, outbound, plan, replay, routing, rules,
    schedule, sla, syntax, testing, time,
};

pub mod adapters;
pub mod cli;
pub mod delivery;
pub mod server;
pub mod service;
pub mod store;
