//! Why a decision came out as it did, and what the rules would do with an event.
//!
//! [`Desk::explain_event`] gives a stored decision with every rule's outcome: the trace stored
//! with it when it was decided with `?explain=true`, else the event explained again, as it was
//! decided (the ticket its previous decision left, its arrival time, the desk its routing
//! traces show, the bots' recorded readings of its question), by the active pack, saying
//! whether that is the pack that decided it. [`Desk::try_event`] (the playground) decides an
//! event against the active pack and the ticket as stored, and stores, sends and routes
//! nothing.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{accept, read_event, Desk, Error};
use crate::engine::{self, Context, Decision, Trace};
use crate::model::{Action, Ticket, TimerSpec};
use crate::plan;

/// A stored decision explained (`GET /v1/decisions/{event_id}/explain`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Explained {
    /// The event.
    pub event_id: String,
    /// Its ticket.
    pub ticket_id: String,
    /// When it arrived: the time it was decided at, and explained at again.
    pub received_at: DateTime<Utc>,
    /// The hash of the pack that decided it, as its decision recorded it; absent for decisions
    /// stored before decisions named their pack, and for a timer that fired after it was no
    /// longer pending (no rule ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_with: Option<String>,
    /// The hash of the active pack (`GET /v1/admin/config`).
    pub active_pack: String,
    /// The active pack is the one that decided the event. When it is not (or that is not
    /// known), a trace computed again (`recomputed`) is what the active pack makes of the
    /// event, not how it was decided.
    pub same_pack: bool,
    /// The trace was computed now, with the active pack, because the stored decision kept only
    /// the rules that fired; `false`: it is the trace stored with the decision.
    pub recomputed: bool,
    /// Every rule's outcome, with the conditions that failed and the values they saw.
    pub trace: Trace,
    /// The actions of the decision the trace belongs to.
    pub actions: Vec<Action>,
    /// The rules that fired or the actions computed again differ from the stored ones.
    pub differs: bool,
    /// When `differs`: what the stored decision did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<StoredOutcome>,
}

/// What a stored decision did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StoredOutcome {
    /// The rules that fired, in order.
    pub rules: Vec<String>,
    /// The actions.
    pub actions: Vec<Action>,
}

/// An event tried against the active pack (`POST /v1/playground`): what it would do now.
/// Nothing of it was stored, sent or routed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TryOut {
    /// The event.
    pub event_id: String,
    /// Its ticket.
    pub ticket_id: String,
    /// The hash of the active pack, which decided it.
    pub pack: String,
    /// The time it was decided at (the daemon's clock).
    pub now: DateTime<Utc>,
    /// The ticket is known: the event was decided on the ticket as stored, with the event's
    /// view laid over it; `false`: on the event's own ticket, as a new ticket.
    pub known_ticket: bool,
    /// The ticket after the actions.
    pub ticket: Ticket,
    /// What would be done, in order.
    pub actions: Vec<Action>,
    /// Timers that would start.
    pub timers: Vec<TimerSpec>,
    /// Pending timers that would be cancelled by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled_timers: Vec<String>,
    /// Every rule's outcome.
    pub trace: Trace,
}

impl Desk {
    /// The decision stored for event `event_id` with every rule's outcome. `not_found` for an
    /// id no event was stored under.
    pub async fn explain_event(&self, event_id: &str) -> Result<Explained, Error> {
        let loaded = self.config.load_full();
        let Some(rec) = self.store.event(event_id).await? else {
            return Err(
                Error::not_found(format!("no event `{event_id}` has been decided"))
                    .field("event_id"),
            );
        };
        let stored = rec.decision;
        let decided_with = stored.trace.pack.clone();
        let mut out = Explained {
            event_id: rec.event.id.clone(),
            ticket_id: rec.event.ticket.id.clone(),
            received_at: rec.received_at,
            same_pack: decided_with.as_deref() == Some(loaded.hash.as_str()),
            decided_with,
            active_pack: loaded.hash.clone(),
            recomputed: false,
            trace: Trace::default(),
            actions: Vec::new(),
            differs: false,
            stored: None,
        };
        // Decided with `?explain=true`: the trace is there. A timer that was no longer
        // pending ran no rule: there is nothing to explain again.
        if !stored.trace.rules.is_empty() || plan::is_stale_timer_decision(&rec.event, &stored) {
            out.trace = stored.trace;
            out.actions = stored.actions;
            return Ok(out);
        }
        let prior = self
            .store
            .ticket_before(&rec.event.ticket.id, rec.seq)
            .await?;
        let config = &loaded.config;
        let ev = plan::prepare(prior.as_ref(), &rec.event, Some(&rec.sent));
        let routing = if config.routing_need(ev.kind).is_empty() {
            Default::default()
        } else {
            crate::replay::recorded_routing(config.roster(), &stored)
        };
        let ctx = Context {
            routing,
            measured: self.measured.load_full(),
            csat_secret: self.csat_secret.clone(),
            prior,
            faq: stored.trace.faq.clone(),
        };
        let again = engine::explain_with(config, &ctx, &ev.ticket, &ev, rec.received_at);
        out.recomputed = true;
        out.differs = differs(&stored, &again);
        if out.differs {
            out.stored = Some(StoredOutcome {
                rules: stored.trace.fired,
                actions: stored.actions,
            });
        }
        out.trace = again.trace;
        out.actions = again.actions;
        Ok(out)
    }

    /// Decides the event `body` (read as `POST /v1/events` reads it) against the active pack,
    /// with every rule's outcome, on its ticket as stored (or as the event gives it when the
    /// ticket is new) and the routing state as committed, at the clock's time. Nothing is
    /// stored, delivered or routed: no ticket, timer, outbox row, cursor or load changes.
    pub async fn try_event(&self, body: serde_json::Value) -> Result<TryOut, Error> {
        let (mut event, patch) = read_event(body)?;
        let loaded = self.config.load_full();
        let now = self.clock.now();
        let patch = accept(&mut event, patch, now);
        let prior = self.store.ticket(&event.ticket.id).await?.map(|r| r.ticket);
        let config = &loaded.config;
        let ev = plan::prepare(prior.as_ref(), &event, patch.as_ref());
        let routing = if config.routing_need(ev.kind).is_empty() {
            Default::default()
        } else {
            // The loads of every ticket but this one, as the store gives them to a decision.
            let slot = prior.as_ref().and_then(plan::load_slot);
            plan::without_slot(self.store.routing_state().await?, slot.as_ref())
        };
        let ctx = Context {
            routing,
            measured: self.measured.load_full(),
            csat_secret: self.csat_secret.clone(),
            prior,
            faq: Vec::new(),
        };
        let d = engine::explain_with(config, &ctx, &ev.ticket, &ev, now);
        Ok(TryOut {
            event_id: event.id,
            ticket_id: event.ticket.id,
            pack: loaded.hash.clone(),
            now,
            known_ticket: ctx.prior.is_some(),
            ticket: d.ticket,
            actions: d.actions,
            timers: d.timers,
            cancelled_timers: d.cancelled_timers,
            trace: d.trace,
        })
    }
}

/// Whether a decision computed again fired other rules or did other things than the stored
/// one.
fn differs(stored: &Decision, again: &Decision) -> bool {
    stored.trace.fired != again.trace.fired || stored.actions != again.actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(fired: &[&str], tags: &[&str]) -> Decision {
        let mut d: Decision = serde_json::from_value(serde_json::json!({
            "event_id": "e1", "actions": [], "ticket": {"id": "T"}, "trace": {"fired": fired}
        }))
        .unwrap();
        if !tags.is_empty() {
            d.actions.push(Action::AddTags {
                tags: tags.iter().map(|t| t.to_string()).collect(),
            });
        }
        d
    }

    #[test]
    fn a_decision_differs_by_its_rules_or_its_actions() {
        let stored = decision(&["a", "b"], &["x"]);
        let mut explained = decision(&["a", "b"], &["x"]);
        // An explained trace has every rule's outcome; only what fired and did counts.
        explained.trace.rules.push(engine::RuleTrace {
            rule: "c".into(),
            outcome: engine::Outcome::NotMatched,
            failed: Vec::new(),
            actions: Vec::new(),
        });
        explained.trace.pack = Some("other".into());
        assert!(!differs(&stored, &explained));
        for (fired, tags) in [
            (&["a"][..], &["x"][..]),
            (&["b", "a"], &["x"]),
            (&["a", "b"], &["y"]),
            (&["a", "b"], &[]),
        ] {
            assert!(
                differs(&stored, &decision(fired, tags)),
                "{fired:?} {tags:?}"
            );
        }
    }
}
