//! What a decision means for the store, written once: the typed writes that commit an event.
//!
//! Both stores take the same steps inside an event's transaction. They read what they hold for
//! it ([`Stored`]: the id's fingerprint and decision if it was seen, the ticket, the state of
//! the timer it fires) and hand that to [`start`], which answers a repeat from the stored
//! decision, refuses a reused id, or gets the decision ready. A [`Before`] says whether the
//! routing state is needed (a timer no longer pending decides nothing), leaves the ticket's own
//! load slot out of that state and runs the decide closure, turning a panic into
//! [`Refused::Panicked`]. [`Before::plan`] then turns the decision into an ordered list of
//! [`Write`]s. The stores only execute those writes, each in its own SQL.
//!
//! Everything a decision means for the tables lives here: which timers an event cancels
//! (`cancel_on`), that `cancel_timers` without names spares the SLA clocks' timers, that a new
//! timer replaces a pending one of the same name, which actions become outbox rows, the ids of
//! timers (`<event>/<name>`) and outbox rows (`<event>/<action index>`), the agents' load slots
//! and the order they move in, when a ticket is queued or leaves its queue, and the measured
//! first response a decision leaves.
//!
//! So is what the engine is given: [`prepare`] lays the event's ticket over the stored one and
//! lists what changed, and [`timer_fired`] is the event of a timer that comes due. A replay
//! (`crate::replay`) decides with the same two and follows a decision's [`timer_ops`] in
//! memory, as the stores follow them in their tables.
//!
//! Pure: no I/O, no clock; the arrival time comes in as `now`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::engine::Decision;
use crate::model::{Action, Channel, Event, EventType, Named, Status, Ticket, TimerRef};
use crate::routing::RoutingState;

pub use crate::model::SLA_TIMER_PREFIX;

/// Why an event is not applied. Nothing of it was written.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// The event id was used before for a different event (the id).
    Conflict(String),
    /// Deciding the event panicked.
    Panicked(String),
    /// What the store holds for the event could not be read.
    Corrupt(String),
}

impl From<serde_json::Error> for Refused {
    fn from(e: serde_json::Error) -> Self {
        Refused::Corrupt(e.to_string())
    }
}

/// What the store holds for an event, read inside its transaction (after the ticket's lock).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// The id was used: the fingerprint and the decision (JSON) stored with it.
    pub seen: Option<(String, String)>,
    /// The ticket as the last decision left it.
    pub ticket: Option<Ticket>,
    /// For a `timer.fired` event, the state of the timer (`pending`, `fired`, `cancelled`);
    /// `None` when there is no such timer.
    pub timer: Option<String>,
}

/// The event as the engine decides it on the ticket `prior` (as the store held it; `None`:
/// first seen): its ticket is `prior` with the event's view laid over it ([`Ticket::overlay`]
/// of `patch`, the ticket as the caller sent it, so fields it leaves out keep their values;
/// `None`: the event's whole ticket), or the event's own ticket when the ticket is new; and,
/// unless the caller listed them, its `changes` are the tracked fields that differ from
/// `prior`. The daemon and a replay both decide `engine::decide_with(.., &ev.ticket, &ev, ..)`
/// on what this returns.
pub fn prepare(prior: Option<&Ticket>, event: &Event, patch: Option<&Value>) -> Event {
    let mut ev = event.clone();
    if let Some(p) = prior {
        let whole;
        let patch = match patch {
            Some(patch) => patch,
            None => {
                whole = serde_json::to_value(&event.ticket).unwrap_or_default();
                &whole
            }
        };
        if let Ok(t) = p.overlay(patch) {
            ev.ticket = t;
        }
        if ev.changes.is_empty() {
            ev.changes = ev.ticket.changes_since(p);
        }
    }
    ev
}

/// The `timer.fired` event of the timer `timer` on ticket `ticket`, and the ticket patch to
/// decide it with.
///
/// The event names the ticket by id only, and the patch is that id: the timer is decided
/// against the ticket as stored when its turn comes, not as it was when it was claimed (events
/// decided in between must not be overwritten), and the event, hence its fingerprint, is the
/// same whichever replica fires it, so a second firing is answered from the store. Its id is
/// `timer:<timer id>`; it happened when the timer was due.
pub fn timer_fired(ticket: &str, timer: TimerRef) -> (Event, Value) {
    let event = Event {
        id: format!("timer:{}", timer.id),
        kind: EventType::TimerFired,
        occurred_at: Some(timer.due_at),
        ticket: Ticket {
            id: ticket.to_string(),
            ..Ticket::default()
        },
        message: None,
        changes: Default::default(),
        timer: Some(timer),
        data: Default::default(),
    };
    (event, serde_json::json!({ "id": ticket }))
}

/// The event as the events table records it: the event with its ticket as the caller sent it
/// (`sent`; `None`: the whole ticket). Read back as an [`Event`] it is the event accepted (the
/// ticket's fields the caller left out take their defaults, as they did when it came in);
/// [`read_recorded_event`] also gives what the caller sent, which a replay lays over its own
/// version of the ticket as the daemon laid it over the stored one ([`prepare`]).
pub fn recorded_event(event: &Event, sent: Option<&Value>) -> Result<Value, serde_json::Error> {
    let mut v = serde_json::to_value(event)?;
    if let (Some(sent), Some(obj)) = (sent, v.as_object_mut()) {
        obj.insert("ticket".into(), sent.clone());
    }
    Ok(v)
}

/// An event as [`recorded_event`] wrote it: the event, and its ticket as the caller sent it
/// (for events recorded before tickets were recorded as sent, the whole ticket). The error
/// names the failing field.
pub fn read_recorded_event(v: Value) -> Result<(Event, Value), String> {
    let sent = v.get("ticket").cloned().unwrap_or(Value::Null);
    let event = Event::from_value(v)?;
    Ok((event, sent))
}

/// Whether a ticket counts towards its assignee's load.
pub fn is_open(t: &Ticket) -> bool {
    !matches!(t.status, Status::Solved | Status::Closed)
}

/// What a ticket is listed and searched by, stored beside its JSON so that a search reads
/// columns and an index instead of every ticket's JSON. The texts are [`search_text`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketKeys<'a> {
    /// Its status.
    pub status: &'static str,
    /// Its priority.
    pub priority: &'static str,
    /// Its group (team).
    pub group: Option<&'a str>,
    /// When it was created, as the helpdesk says (the store keeps the time it first saw the
    /// ticket when the helpdesk does not say).
    pub created_at: Option<DateTime<Utc>>,
    /// The subject.
    pub subject: String,
    /// The customer's id, e-mail address and name, a line each, so that no match runs from one
    /// into the next.
    pub customer: String,
    /// The tags, each on a line of its own between line breaks (`"\nvip\nrefund\n"`; none:
    /// `""`), so that [`tag_key`] finds whole tags only.
    pub tags: String,
    /// The latest time one of its SLA clocks was breached.
    pub sla_breached_at: Option<DateTime<Utc>>,
    /// A breached SLA clock of it is still running.
    pub sla_breach_running: bool,
}

impl<'a> TicketKeys<'a> {
    /// The keys of `t`.
    pub fn of(t: &'a Ticket) -> TicketKeys<'a> {
        let c = &t.customer;
        let field = |f: &Option<String>| f.as_deref().map(search_text).unwrap_or_default();
        let tags = if t.tags.is_empty() {
            String::new()
        } else {
            let mut tags = String::from("\n");
            for tag in &t.tags {
                tags.push_str(&search_text(tag));
                tags.push('\n');
            }
            tags
        };
        TicketKeys {
            status: t.status.name(),
            priority: t.priority.name(),
            group: t.group.as_deref(),
            created_at: t.created_at,
            subject: search_text(&t.subject),
            customer: format!("{}\n{}\n{}", field(&c.id), field(&c.email), field(&c.name)),
            tags,
            sla_breached_at: t.sla.as_ref().and_then(|s| s.last_breach()),
            sla_breach_running: t.sla.as_ref().is_some_and(|s| s.breach_running()),
        }
    }
}

/// Text as searches compare it: lower case (every script's, not only ASCII). Searches look
/// for the [`search_text`] of what was asked inside the stored one.
pub fn search_text(s: &str) -> String {
    s.to_lowercase()
}

/// What a search for tag `tag` looks for in [`TicketKeys::tags`].
pub fn tag_key(tag: &str) -> String {
    format!("\n{}\n", search_text(tag))
}

/// The load slot a ticket takes: its assignee and channel while it is open.
pub fn load_slot(t: &Ticket) -> Option<(String, &'static str)> {
    match &t.assignee {
        Some(a) if is_open(t) => Some((a.clone(), t.channel.name())),
        _ => None,
    }
}

/// Takes the ticket's own slot out of a state read from the store, so the engine sees the
/// loads of everything but the ticket it decides.
pub fn without_slot(
    mut state: RoutingState,
    slot: Option<&(String, &'static str)>,
) -> RoutingState {
    if let Some((agent, channel)) = slot {
        if let Some(s) = state.agents.get_mut(agent) {
            s.open.total = s.open.total.saturating_sub(1);
            if let Some(ch) = Channel::parse(channel) {
                if let Some(n) = s.open.by_channel.get_mut(&ch) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        s.open.by_channel.remove(&ch);
                    }
                }
            }
        }
    }
    state
}

/// The answer for an event id seen before: its stored decision when the fingerprint matches,
/// else a conflict.
pub fn replay(
    id: &str,
    fingerprint: &str,
    stored_fingerprint: &str,
    stored_decision: &str,
) -> Result<Decision, Refused> {
    if stored_fingerprint != fingerprint {
        return Err(Refused::Conflict(id.to_string()));
    }
    Ok(serde_json::from_str(stored_decision)?)
}

/// A decision for a timer that no longer applies (cancelled or already fired).
pub fn stale_timer_decision(event: &Event, ticket: Ticket, state: &str) -> Decision {
    let mut d = Decision {
        event_id: event.id.clone(),
        actions: Vec::new(),
        ticket,
        timers: Vec::new(),
        cancelled_timers: Vec::new(),
        trace: Default::default(),
        routing: Default::default(),
        kpi: Vec::new(),
        fired_actions: Vec::new(),
    };
    d.trace.errors.push(crate::rules::RuleError {
        rule: event
            .timer
            .as_ref()
            .map_or_else(String::new, |t| format!("timer {}", t.name)),
        path: String::new(),
        message: format!("the timer is {state}{NOTHING_TO_DO}"),
    });
    d
}

/// How the message of a [`stale_timer_decision`] ends.
const NOTHING_TO_DO: &str = "; nothing to do";

/// Whether `decision`, stored for `event`, is a [`stale_timer_decision`]: the timer was no
/// longer pending when it fired, so no rule ran and there is nothing to decide again.
pub fn is_stale_timer_decision(event: &Event, decision: &Decision) -> bool {
    let [only] = decision.trace.errors.as_slice() else {
        return false;
    };
    firing(event).is_some()
        && decision.trace.fired.is_empty()
        && decision.actions.is_empty()
        && only.path.is_empty()
        && only.message.starts_with("the timer is ")
        && only.message.ends_with(NOTHING_TO_DO)
}

/// What an event comes to, once the store has read what it holds for it.
#[derive(Debug)]
pub enum Start {
    /// The id was seen with the same fingerprint: the stored decision; nothing is written.
    Replay(Box<Decision>),
    /// The event is new: decide it against the stored ticket, with what its writes depend on.
    Decide(Before),
}

/// What a new event's decision and writes depend on in what the store read, besides the
/// ticket itself (which goes to the decide closure).
#[derive(Debug, Clone, PartialEq)]
pub struct Before {
    /// The load slot the ticket held.
    slot: Option<(String, &'static str)>,
    /// Whether its first response had been met.
    first_response_met: bool,
    /// The state of the timer the event fires, when that is not `pending`.
    stale: Option<String>,
    /// The ticket's id in a helpdesk, as stored (a chat opened there).
    linked: Option<String>,
}

/// Answers a repeated event from `stored`, or gets a new one ready to decide.
pub fn start(event: &Event, fingerprint: &str, stored: &Stored) -> Result<Start, Refused> {
    if let Some((stored_fingerprint, decision)) = &stored.seen {
        let decision = replay(&event.id, fingerprint, stored_fingerprint, decision)?;
        return Ok(Start::Replay(Box::new(decision)));
    }
    Ok(Start::Decide(Before {
        slot: stored.ticket.as_ref().and_then(load_slot),
        first_response_met: crate::measured::first_response_met(stored.ticket.as_ref()),
        // A timer fires only while it is pending.
        stale: firing(event)
            .and(stored.timer.as_deref())
            .filter(|state| *state != "pending")
            .map(str::to_string),
        linked: stored
            .ticket
            .as_ref()
            .and_then(|t| t.source.as_ref()?.id.clone()),
    }))
}

/// The id of the timer a `timer.fired` event fires.
pub fn firing(event: &Event) -> Option<&str> {
    match (&event.kind, &event.timer) {
        (EventType::TimerFired, Some(t)) => Some(&t.id),
        _ => None,
    }
}

impl Before {
    /// Whether the decision reads the routing state: not for a timer that is no longer
    /// pending, which decides nothing.
    pub fn reads_routing(&self) -> bool {
        self.stale.is_none()
    }

    /// Decides the event against the stored `ticket` and `routing` as read from the store (the
    /// ticket's own load slot is taken out here). A panic in `decide` is [`Refused::Panicked`].
    pub fn decide(
        &self,
        event: &Event,
        ticket: Option<Ticket>,
        routing: RoutingState,
        decide: impl FnOnce(Option<Ticket>, RoutingState) -> Decision,
    ) -> Result<Decision, Refused> {
        if let Some(state) = &self.stale {
            let ticket = ticket.unwrap_or_else(|| event.ticket.clone());
            return Ok(stale_timer_decision(event, ticket, state));
        }
        let routing = without_slot(routing, self.slot.as_ref());
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide(ticket, routing)))
            .map_err(|_| Refused::Panicked(format!("deciding event `{}` panicked", event.id)))
    }
}

/// What an event's decision does to the ticket's timers, in the order it happens. Every
/// executor of a decision follows it: the stores (as [`Write`]s) and a replay in memory.
#[derive(Debug, Clone, PartialEq)]
pub enum TimerOp<'a> {
    /// The timer this event fires is done, if it is still pending (a timer fires only while
    /// it is pending).
    Fire {
        /// The timer.
        id: &'a str,
    },
    /// The ticket's pending timers whose `cancel_on` lists this event type are cancelled.
    CancelListening {
        /// The event's type.
        kind: EventType,
    },
    /// `cancel_timers` without names: the ticket's pending timers are cancelled, except those
    /// whose name starts with `spare` (the SLA clocks' own, [`SLA_TIMER_PREFIX`]).
    CancelRuleTimers {
        /// The prefix of the names left pending.
        spare: &'static str,
    },
    /// The ticket's pending timers of these names are cancelled.
    CancelNamed {
        /// Timer names.
        names: &'a [String],
    },
    /// A new pending timer; a pending one of the same name was cancelled just before.
    Start {
        /// `<event id>/<name>`, stable across retries.
        id: String,
        /// The timer.
        timer: &'a crate::model::TimerSpec,
    },
}

/// The timers `decision`, the decision of `event`, fires, cancels and starts: the firing one
/// is done; the event cancels the pending timers that listen for it; `cancel_timers` actions
/// cancel by name (or all but the SLA clocks'); SLA clocks that need no timer any more cancel
/// theirs; a new timer replaces a pending one of the same name.
pub fn timer_ops<'a>(event: &'a Event, decision: &'a Decision) -> Vec<TimerOp<'a>> {
    let d = decision;
    let mut ops = Vec::with_capacity(2 + 2 * d.timers.len());
    if let Some(id) = firing(event) {
        ops.push(TimerOp::Fire { id });
    }
    ops.push(TimerOp::CancelListening { kind: event.kind });
    for action in &d.actions {
        if let Action::CancelTimers { names } = action {
            ops.push(match names {
                None => TimerOp::CancelRuleTimers {
                    spare: SLA_TIMER_PREFIX,
                },
                Some(names) => TimerOp::CancelNamed { names },
            });
        }
    }
    if !d.cancelled_timers.is_empty() {
        ops.push(TimerOp::CancelNamed {
            names: &d.cancelled_timers,
        });
    }
    for timer in &d.timers {
        ops.push(TimerOp::CancelNamed {
            names: std::slice::from_ref(&timer.name),
        });
        ops.push(TimerOp::Start {
            id: format!("{}/{}", event.id, timer.name),
            timer,
        });
    }
    ops
}

/// The writes that commit one event, in the order they run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<'a> {
    /// The event's id.
    pub event: &'a str,
    /// The ticket every write is about.
    pub ticket: &'a str,
    /// The arrival time: rows written are dated with it (received, updated, finished, queued,
    /// due for delivery).
    pub now: DateTime<Utc>,
    /// What to write.
    pub writes: Vec<Write<'a>>,
}

/// One typed write of a [`Plan`]. The event's id, the ticket and `now` are the plan's.
#[derive(Debug, Clone, PartialEq)]
pub enum Write<'a> {
    /// The event and its decision under the event's id. It comes first: a store that finds the
    /// id taken (another replica committed it meanwhile) writes nothing else.
    InsertEvent {
        /// The event's type.
        kind: &'static str,
        /// `frontdesk::store::fingerprint` of the event.
        fingerprint: &'a str,
        /// The event (JSON).
        event: String,
        /// The decision (JSON), answered again to a repeat.
        decision: String,
        /// The [`search_text`] of the event's message (`None`: no message, or an empty one),
        /// which searches for words in a ticket's messages read.
        text: Option<String>,
    },
    /// The ticket's new state; its version goes up by one.
    UpsertTicket {
        /// The ticket (JSON).
        state: String,
        /// Its assignee.
        assignee: Option<&'a str>,
        /// Its channel.
        channel: &'static str,
        /// Whether it counts towards its assignee's load.
        open: bool,
        /// What tickets are listed and searched by.
        keys: TicketKeys<'a>,
    },
    /// The ticket's first response was met by this decision.
    InsertResponseSample {
        /// The ticket's group ("" for none).
        queue: String,
        /// The priority its target was for.
        priority: &'static str,
        /// When it was met.
        at: DateTime<Utc>,
        /// Active time it took, in seconds.
        secs: i64,
    },
    /// A team's round-robin cursor moves to the agent just assigned.
    UpsertCursor {
        /// The team.
        team: &'a str,
        /// The agent.
        agent: &'a str,
    },
    /// An agent's open tickets on a channel go up or down by one. A plan moves at most two
    /// slots, in (agent, channel) order, so two reassignments in opposite directions cannot
    /// deadlock on row locks.
    MoveLoad {
        /// The agent.
        agent: &'a str,
        /// The channel.
        channel: &'static str,
        /// +1 or -1.
        delta: i64,
    },
    /// The ticket waits in a team's queue. Queued in that team already, it keeps its place.
    Enqueue {
        /// The team.
        team: &'a str,
        /// The rule whose `assign` queued it.
        rule: &'a str,
        /// The action's place in the rule.
        action: &'a str,
        /// The ticket's channel.
        channel: &'static str,
    },
    /// The ticket leaves any queue but `keep`'s: it stays queued only while it is open,
    /// unassigned and in that team's group.
    Dequeue {
        /// The team it may stay queued in.
        keep: Option<&'a str>,
    },
    /// The audit log: one row per rule that fired, in order, each with the actions it
    /// produced.
    InsertAudit {
        /// The rules that fired.
        rules: &'a [String],
        /// Per rule, its actions (a JSON list).
        actions: Vec<String>,
    },
    /// The timer this event fires is done, if it is still pending.
    FireTimer {
        /// The timer.
        id: &'a str,
    },
    /// The ticket's pending timers whose `cancel_on` lists this event type are cancelled.
    CancelTimersListening {
        /// The event's type.
        kind: &'static str,
    },
    /// `cancel_timers` without names: the ticket's pending timers are cancelled, except those
    /// whose name starts with `spare` (the SLA clocks' own, [`SLA_TIMER_PREFIX`]).
    CancelRuleTimers {
        /// The prefix of the names left pending.
        spare: &'static str,
    },
    /// The ticket's pending timers of these names are cancelled.
    CancelTimersNamed {
        /// Timer names.
        names: &'a [String],
    },
    /// A new pending timer (a pending one of the same name was cancelled just before).
    InsertTimer {
        /// `<event id>/<name>`, stable across retries.
        id: String,
        /// Its name in the pack.
        name: &'a str,
        /// The rule that started it.
        rule: &'a str,
        /// When it is due.
        due_at: DateTime<Utc>,
        /// The event types that cancel it (JSON array).
        cancel_on: String,
    },
    /// A KPI fact; one written before under its key is replaced.
    UpsertFact {
        /// The fact.
        fact: &'a crate::kpi::Fact,
    },
    /// The ticket's id in a helpdesk (a chat opened there), so the helpdesk's webhooks naming
    /// that id reach the ticket; written when the decision first gives the ticket one.
    LinkTicket {
        /// Which helpdesk.
        helpdesk: &'a str,
        /// The ticket's id there.
        external_id: &'a str,
    },
    /// An action to deliver outside, due now.
    InsertOutbox {
        /// `<event id>/<action index>`, the delivery's idempotency key.
        id: String,
        /// The action (JSON).
        action: String,
        /// Where a helpdesk's API applies it (JSON); `None` for webhooks, Slack and e-mail.
        target: Option<String>,
    },
}

impl Before {
    /// The writes that commit `decision`, the decision of `event`, arrived at `now`. `sent` is
    /// the event's ticket as the caller sent it (`None`: the whole ticket), recorded with the
    /// event ([`recorded_event`]).
    pub fn plan<'a>(
        &'a self,
        event: &'a Event,
        sent: Option<&Value>,
        fingerprint: &'a str,
        decision: &'a Decision,
        now: DateTime<Utc>,
    ) -> Result<Plan<'a>, Refused> {
        let d = decision;
        let t = &d.ticket;
        let outbound = crate::outbound::outbound(d);
        let chat_rows = crate::outbound::chat_rows(event, d);
        let mut writes = Vec::with_capacity(
            8 + d.kpi.len()
                + d.routing.cursors.len()
                + d.actions.len()
                + 2 * d.timers.len()
                + outbound.len(),
        );
        writes.push(Write::InsertEvent {
            kind: event.kind.name(),
            fingerprint,
            event: match sent {
                None => serde_json::to_string(event)?,
                Some(_) => recorded_event(event, sent)?.to_string(),
            },
            decision: serde_json::to_string(d)?,
            text: event
                .message
                .as_ref()
                .filter(|m| !m.text.is_empty())
                .map(|m| search_text(&m.text)),
        });
        writes.push(Write::UpsertTicket {
            state: serde_json::to_string(t)?,
            assignee: t.assignee.as_deref(),
            channel: t.channel.name(),
            open: is_open(t),
            keys: TicketKeys::of(t),
        });
        if let Some(m) = crate::measured::sample(self.first_response_met, t) {
            writes.push(Write::InsertResponseSample {
                queue: m.queue,
                priority: m.priority.name(),
                at: m.at,
                secs: m.secs,
            });
        }
        for (team, agent) in &d.routing.cursors {
            writes.push(Write::UpsertCursor { team, agent });
        }
        let before = self.slot.as_ref().map(|(a, c)| (a.as_str(), *c));
        let after = t
            .assignee
            .as_deref()
            .filter(|_| is_open(t))
            .map(|a| (a, t.channel.name()));
        if after != before {
            let mut moves = [(before, -1), (after, 1)];
            moves.sort_by(|a, b| a.0.cmp(&b.0));
            for (slot, delta) in moves {
                if let Some((agent, channel)) = slot {
                    writes.push(Write::MoveLoad {
                        agent,
                        channel,
                        delta,
                    });
                }
            }
        }
        let waiting = is_open(t) && t.assignee.is_none();
        let group = t.group.as_deref();
        if let Some(q) = d
            .routing
            .queued
            .as_ref()
            .filter(|q| waiting && group == Some(&q.team))
        {
            writes.push(Write::Enqueue {
                team: &q.team,
                rule: &q.rule,
                action: &q.action,
                channel: t.channel.name(),
            });
        }
        writes.push(Write::Dequeue {
            keep: group.filter(|_| waiting),
        });
        for fact in &d.kpi {
            writes.push(Write::UpsertFact { fact });
        }
        if !d.trace.fired.is_empty() {
            let actions = d
                .actions_by_rule()
                .map(|(_, a)| serde_json::to_string(a))
                .collect::<Result<_, _>>()?;
            writes.push(Write::InsertAudit {
                rules: &d.trace.fired,
                actions,
            });
        }
        for op in timer_ops(event, d) {
            writes.push(match op {
                TimerOp::Fire { id } => Write::FireTimer { id },
                TimerOp::CancelListening { kind } => {
                    Write::CancelTimersListening { kind: kind.name() }
                }
                TimerOp::CancelRuleTimers { spare } => Write::CancelRuleTimers { spare },
                TimerOp::CancelNamed { names } => Write::CancelTimersNamed { names },
                TimerOp::Start { id, timer } => Write::InsertTimer {
                    id,
                    name: &timer.name,
                    rule: &timer.rule,
                    due_at: timer.due_at,
                    cancel_on: serde_json::to_string(&timer.cancel_on)?,
                },
            });
        }
        for (i, target) in outbound {
            writes.push(Write::InsertOutbox {
                id: format!("{}/{i}", event.id),
                action: serde_json::to_string(&d.actions[i])?,
                target: target.map(|t| t.to_string()),
            });
        }
        for (suffix, action, target) in chat_rows {
            writes.push(Write::InsertOutbox {
                id: format!("{}/{suffix}", event.id),
                action: serde_json::to_string(&action)?,
                target: Some(target.to_string()),
            });
        }
        if let Some(source) = &t.source {
            if let Some(external_id) = source.id.as_deref() {
                if self.linked.as_deref() != Some(external_id) {
                    writes.push(Write::LinkTicket {
                        helpdesk: &source.helpdesk,
                        external_id,
                    });
                }
            }
        }
        Ok(Plan {
            event: &event.id,
            ticket: &event.ticket.id,
            now,
            writes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HttpMethod, TimerSpec};
    use crate::routing::{AgentState, AgentStatus, Queued};
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    fn event(id: &str, kind: &str) -> Event {
        let mut v = json!({"id": id, "type": kind, "ticket": {"id": "T1", "channel": "email"}});
        if kind == "timer.fired" {
            v["timer"] =
                json!({"id": "e0/nudge", "name": "nudge", "due_at": "2026-11-23T09:00:00Z"});
        }
        Event::from_value(v).unwrap()
    }

    fn ticket(v: serde_json::Value) -> Ticket {
        let mut t = json!({"id": "T1", "channel": "email"});
        t.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        serde_json::from_value(t).unwrap()
    }

    fn decision(e: &Event, ticket: Ticket) -> Decision {
        Decision {
            event_id: e.id.clone(),
            actions: Vec::new(),
            ticket,
            timers: Vec::new(),
            cancelled_timers: Vec::new(),
            trace: Default::default(),
            routing: Default::default(),
            kpi: Vec::new(),
            fired_actions: Vec::new(),
        }
    }

    /// What a new event starts from.
    fn started(e: &Event, stored: &Stored) -> Before {
        match start(e, "fp", stored).unwrap() {
            Start::Decide(before) => before,
            Start::Replay(_) => panic!("a new event was replayed"),
        }
    }

    /// Starts `e` against `stored` and decides it with `f` (which must be called).
    fn decided(
        e: &Event,
        stored: Stored,
        f: impl FnOnce(Option<Ticket>, RoutingState) -> Decision,
    ) -> (Before, Decision) {
        let before = started(e, &stored);
        let d = before
            .decide(e, stored.ticket, RoutingState::default(), f)
            .unwrap();
        (before, d)
    }

    /// `e` decided as `d`, with the stored ticket `prior`.
    fn decided_as(e: &Event, prior: Option<Ticket>, d: Decision) -> (Before, Decision) {
        let stored = Stored {
            ticket: prior,
            ..Stored::default()
        };
        decided(e, stored, |_, _| d)
    }

    /// The writes of a plan without the ones every plan has (the event, the ticket, leaving
    /// the queue, the timers listening for the event).
    fn extra<'a>(plan: Plan<'a>) -> Vec<Write<'a>> {
        plan.writes
            .into_iter()
            .filter(|w| {
                !matches!(
                    w,
                    Write::InsertEvent { .. }
                        | Write::UpsertTicket { .. }
                        | Write::Dequeue { .. }
                        | Write::CancelTimersListening { .. }
                )
            })
            .collect()
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_event_is_recorded_with_its_ticket_as_sent() {
        let sent = json!({"id": "T1", "status": "pending"});
        let e = Event::from_value(
            json!({"id": "e1", "type": "ticket.updated", "ticket": sent.clone()}),
        )
        .unwrap();
        let d = decision(&e, ticket(json!({"status": "pending"})));
        let (before, d) = decided_as(&e, None, d.clone());
        let plan = before.plan(&e, Some(&sent), "fp", &d, now()).unwrap();
        let Write::InsertEvent { event, .. } = &plan.writes[0] else {
            panic!("the event is written first");
        };
        let v: Value = serde_json::from_str(event).unwrap();
        assert_eq!(v["ticket"], sent, "what the caller left out is not written");
        let (read, read_sent) = read_recorded_event(v).unwrap();
        assert_eq!((read, read_sent), (e.clone(), sent));
        // Without what was sent, the whole ticket is.
        let (_, whole) = read_recorded_event(recorded_event(&e, None).unwrap()).unwrap();
        assert_eq!(whole, serde_json::to_value(&e.ticket).unwrap());
        assert!(read_recorded_event(json!({"id": "e1"}))
            .unwrap_err()
            .contains("type"));
    }

    #[test]
    fn a_new_ticket_is_the_events_own() {
        let e = event("e1", "ticket.created");
        let ev = prepare(None, &e, Some(&json!({"id": "T1"})));
        assert_eq!(ev, e, "nothing to lay it over, nothing changed");
    }

    #[test]
    fn the_patch_is_laid_over_the_stored_ticket_and_its_changes_listed() {
        let stored = ticket(json!({"priority": "urgent", "tags": ["outage"], "status": "open"}));
        let e = event("e2", "ticket.updated");
        let ev = prepare(
            Some(&stored),
            &e,
            Some(&json!({"id": "T1", "status": "pending"})),
        );
        assert_eq!(ev.ticket.priority, crate::model::Priority::Urgent);
        assert_eq!(ev.ticket.tags, ["outage"]);
        assert_eq!(ev.ticket.status, Status::Pending);
        let changed: Vec<&str> = ev.changes.keys().map(String::as_str).collect();
        assert_eq!(changed, ["ticket.status"]);
        assert_eq!(ev.changes["ticket.status"].from, json!("open"));
        // Without a patch the event's whole ticket is laid over: what it leaves at the
        // defaults is the default.
        let whole = prepare(Some(&stored), &e, None);
        assert_eq!(whole.ticket.priority, crate::model::Priority::Normal);
        assert_eq!(whole.ticket.status, Status::New);
    }

    #[test]
    fn changes_the_caller_listed_are_kept() {
        let stored = ticket(json!({"status": "open"}));
        let mut e = event("e3", "ticket.updated");
        e.changes.insert(
            "ticket.group".into(),
            crate::model::Change {
                from: json!(null),
                to: json!("billing"),
            },
        );
        let ev = prepare(
            Some(&stored),
            &e,
            Some(&json!({"id": "T1", "status": "solved"})),
        );
        let changed: Vec<&str> = ev.changes.keys().map(String::as_str).collect();
        assert_eq!(changed, ["ticket.group"]);
    }

    #[test]
    fn a_timer_event_names_its_ticket_by_id_only() {
        let due: DateTime<Utc> = "2026-11-25T09:00:00Z".parse().unwrap();
        let timer = TimerRef {
            id: "e1/nudge".into(),
            name: "nudge".into(),
            due_at: due,
        };
        let (event, patch) = timer_fired("T1", timer.clone());
        assert_eq!(event.id, "timer:e1/nudge");
        assert_eq!(event.kind, EventType::TimerFired);
        assert_eq!(
            event.ticket,
            Ticket {
                id: "T1".into(),
                ..Ticket::default()
            }
        );
        assert_eq!(event.occurred_at, Some(due));
        assert_eq!(event.timer, Some(timer));
        assert_eq!(patch, json!({"id": "T1"}));
        // Decided against a ticket that changed after the claim, the patch keeps the change.
        let stored = ticket(json!({"status": "open", "tags": ["new"]}));
        assert_eq!(prepare(Some(&stored), &event, Some(&patch)).ticket, stored);
    }

    #[test]
    fn every_event_writes_itself_and_its_ticket_and_cancels_its_listeners() {
        let e = event("e1", "message.created");
        let t = ticket(json!({"subject": "hi"}));
        let d = decision(&e, t.clone());
        let (before, d) = decided_as(&e, None, d.clone());
        let plan = before.plan(&e, None, "fp", &d, now()).unwrap();
        assert_eq!((plan.event, plan.ticket, plan.now), ("e1", "T1", now()));
        assert_eq!(
            plan.writes,
            vec![
                Write::InsertEvent {
                    kind: "message.created",
                    fingerprint: "fp",
                    event: serde_json::to_string(&e).unwrap(),
                    decision: serde_json::to_string(&d).unwrap(),
                    text: None,
                },
                Write::UpsertTicket {
                    state: serde_json::to_string(&t).unwrap(),
                    assignee: None,
                    channel: "email",
                    open: true,
                    keys: TicketKeys::of(&t),
                },
                Write::Dequeue { keep: None },
                Write::CancelTimersListening {
                    kind: "message.created"
                },
            ]
        );
    }

    #[test]
    fn a_timer_listening_for_the_event_kind_is_cancelled_by_it() {
        // The plan cancels by the event's kind written as a timer's cancel_on lists it.
        let e = event("e1", "ticket.status_changed");
        let mut d = decision(&e, ticket(json!({})));
        d.timers.push(TimerSpec {
            name: "nudge".into(),
            rule: "wait".into(),
            due_at: now(),
            cancel_on: vec![EventType::MessageCreated, EventType::TicketStatusChanged],
        });
        let (before, d) = decided_as(&e, None, d);
        let w = before.plan(&e, None, "fp", &d, now()).unwrap().writes;
        let Some(Write::InsertTimer { cancel_on, .. }) =
            w.iter().find(|w| matches!(w, Write::InsertTimer { .. }))
        else {
            panic!("no timer in {w:?}");
        };
        let listens: Vec<String> = serde_json::from_str(cancel_on).unwrap();
        assert_eq!(listens, ["message.created", "ticket.status_changed"]);
        assert!(w.contains(&Write::CancelTimersListening {
            kind: "ticket.status_changed"
        }));
    }

    #[test]
    fn cancel_timers_without_names_spares_the_sla_timers() {
        let e = event("e1", "message.agent");
        let mut d = decision(&e, ticket(json!({})));
        d.actions = vec![
            Action::CancelTimers { names: None },
            Action::CancelTimers {
                names: Some(names(&["nudge", "remind"])),
            },
        ];
        let (before, d) = decided_as(&e, None, d);
        assert_eq!(
            extra(before.plan(&e, None, "fp", &d, now()).unwrap()),
            vec![
                Write::CancelRuleTimers {
                    spare: SLA_TIMER_PREFIX
                },
                Write::CancelTimersNamed {
                    names: &names(&["nudge", "remind"])
                },
            ]
        );
        assert!(crate::model::Metric::ALL
            .iter()
            .all(|m| m.timer_name().starts_with(SLA_TIMER_PREFIX)));
    }

    #[test]
    fn a_new_timer_replaces_a_pending_one_of_its_name_and_met_sla_clocks_cancel_theirs() {
        let e = event("e1", "ticket.created");
        let mut d = decision(&e, ticket(json!({})));
        d.cancelled_timers = names(&["sla:first_response"]);
        d.timers.push(TimerSpec {
            name: "nudge".into(),
            rule: "wait".into(),
            due_at: now() + chrono::TimeDelta::hours(2),
            cancel_on: vec![EventType::MessageCreated],
        });
        let (before, d) = decided_as(&e, None, d);
        assert_eq!(
            extra(before.plan(&e, None, "fp", &d, now()).unwrap()),
            vec![
                Write::CancelTimersNamed {
                    names: &names(&["sla:first_response"])
                },
                Write::CancelTimersNamed {
                    names: &names(&["nudge"])
                },
                Write::InsertTimer {
                    id: "e1/nudge".into(),
                    name: "nudge",
                    rule: "wait",
                    due_at: now() + chrono::TimeDelta::hours(2),
                    cancel_on: r#"["message.created"]"#.into(),
                },
            ]
        );
    }

    #[test]
    fn a_firing_timer_is_marked_fired_before_the_listeners_are_cancelled() {
        let e = event("timer:e0/nudge", "timer.fired");
        let stored = Stored {
            timer: Some("pending".into()),
            ..Stored::default()
        };
        let (before, d) = decided(&e, stored, |t, _| {
            decision(&e, t.unwrap_or_else(|| e.ticket.clone()))
        });
        let w = before.plan(&e, None, "fp", &d, now()).unwrap().writes;
        let fire = w
            .iter()
            .position(|w| *w == Write::FireTimer { id: "e0/nudge" });
        let listening = w
            .iter()
            .position(|w| matches!(w, Write::CancelTimersListening { .. }));
        assert!(fire.is_some() && fire < listening, "{w:?}");
    }

    #[test]
    fn a_timer_no_longer_pending_decides_nothing() {
        let e = event("timer:e0/nudge", "timer.fired");
        let stored = Stored {
            ticket: Some(ticket(json!({"tags": ["kept"]}))),
            timer: Some("cancelled".into()),
            ..Stored::default()
        };
        let before = started(&e, &stored);
        assert!(!before.reads_routing());
        let d = &before
            .decide(&e, stored.ticket, RoutingState::default(), |_, _| {
                panic!("a stale timer is not decided")
            })
            .unwrap();
        assert!(d.actions.is_empty());
        assert_eq!(d.ticket.tags, ["kept"]);
        assert_eq!(d.trace.errors[0].rule, "timer nudge");
        assert_eq!(
            d.trace.errors[0].message,
            "the timer is cancelled; nothing to do"
        );
        // Read back, it is told from a decision the timer's rules made.
        let read: Decision = serde_json::from_str(&serde_json::to_string(d).unwrap()).unwrap();
        assert!(is_stale_timer_decision(&e, &read));
        let mut ran = decision(&e, read.ticket.clone());
        assert!(!is_stale_timer_decision(&e, &ran), "no error");
        ran.trace.errors = read.trace.errors.clone();
        ran.trace.fired.push("timer nudge".into());
        assert!(!is_stale_timer_decision(&e, &ran), "a rule fired");
        assert!(
            !is_stale_timer_decision(&event("e1", "ticket.updated"), &read),
            "not a timer"
        );
        // Without a stored ticket, the event's.
        let stored = Stored {
            timer: Some("fired".into()),
            ..Stored::default()
        };
        let d = started(&e, &stored)
            .decide(
                &e,
                stored.ticket,
                RoutingState::default(),
                |_, _| unreachable!(),
            )
            .unwrap();
        assert_eq!(d.ticket, e.ticket);
    }

    #[test]
    fn a_seen_id_replays_its_decision_or_conflicts() {
        let e = event("e1", "message.created");
        let d = decision(&e, ticket(json!({"tags": ["a"]})));
        let seen = |fp: &str| Stored {
            seen: Some((fp.into(), serde_json::to_string(&d).unwrap())),
            ..Stored::default()
        };
        match start(&e, "fp", &seen("fp")).unwrap() {
            Start::Replay(replayed) => assert_eq!(*replayed, d),
            Start::Decide(_) => panic!("a repeat was decided"),
        }
        assert_eq!(
            start(&e, "fp", &seen("other")).unwrap_err(),
            Refused::Conflict("e1".into())
        );
        let broken = Stored {
            seen: Some(("fp".into(), "{".into())),
            ..Stored::default()
        };
        assert!(matches!(start(&e, "fp", &broken), Err(Refused::Corrupt(_))));
    }

    #[test]
    fn a_panicking_decision_is_refused() {
        let e = event("e1", "message.created");
        let refused = started(&e, &Stored::default())
            .decide(&e, None, RoutingState::default(), |_, _| panic!("boom"))
            .unwrap_err();
        assert_eq!(
            refused,
            Refused::Panicked("deciding event `e1` panicked".into())
        );
    }

    #[test]
    fn the_decision_sees_the_loads_without_its_own_ticket() {
        let e = event("e1", "message.created");
        let mut routing = RoutingState::default();
        let mut al = AgentState {
            status: AgentStatus::Online,
            ..AgentState::default()
        };
        al.open.add(Channel::Email, 2);
        al.open.add(Channel::Chat, 1);
        routing.agents.insert("al".into(), al);
        let stored = Stored {
            ticket: Some(ticket(json!({"assignee": "al"}))),
            ..Stored::default()
        };
        let before = started(&e, &stored);
        assert!(before.reads_routing());
        before
            .decide(&e, stored.ticket, routing, |t, seen| {
                let al = &seen.agents["al"].open;
                assert_eq!(al.total, 2);
                assert_eq!(al.by_channel.get(&Channel::Email), Some(&1));
                assert_eq!(al.by_channel.get(&Channel::Chat), Some(&1));
                decision(&e, t.unwrap())
            })
            .unwrap();
        // The last ticket of a channel leaves no empty entry behind.
        let mut state = RoutingState::default();
        state
            .agents
            .entry("bo".into())
            .or_default()
            .open
            .add(Channel::Email, 1);
        let state = without_slot(state, Some(&("bo".into(), "email")));
        assert_eq!(state.agents["bo"].open, Default::default());
    }

    #[test]
    fn a_reassignment_moves_two_load_slots_in_key_order() {
        let e = event("e1", "ticket.assigned");
        let slot = |agent, channel, delta| Write::MoveLoad {
            agent,
            channel,
            delta,
        };
        let moves = |before: serde_json::Value, after: serde_json::Value| {
            let (before, d) = decided_as(&e, Some(ticket(before)), decision(&e, ticket(after)));
            extra(before.plan(&e, None, "fp", &d, now()).unwrap())
                .into_iter()
                .map(|w| match w {
                    Write::MoveLoad {
                        agent,
                        channel,
                        delta,
                    } => (agent.to_string(), channel, delta),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        let owned = |v: &[Write<'_>]| -> Vec<(String, &'static str, i64)> {
            v.iter()
                .map(|w| match w {
                    Write::MoveLoad {
                        agent,
                        channel,
                        delta,
                    } => (agent.to_string(), *channel, *delta),
                    _ => unreachable!(),
                })
                .collect()
        };
        assert_eq!(
            moves(json!({"assignee": "bo"}), json!({"assignee": "al"})),
            owned(&[slot("al", "email", 1), slot("bo", "email", -1)])
        );
        // The other way round, still in key order.
        assert_eq!(
            moves(json!({"assignee": "al"}), json!({"assignee": "bo"})),
            owned(&[slot("al", "email", -1), slot("bo", "email", 1)])
        );
        // Solving frees the slot; a new channel moves it; assigning takes one.
        assert_eq!(
            moves(
                json!({"assignee": "bo"}),
                json!({"assignee": "bo", "status": "solved"})
            ),
            owned(&[slot("bo", "email", -1)])
        );
        assert_eq!(
            moves(
                json!({"assignee": "bo"}),
                json!({"assignee": "bo", "channel": "chat"})
            ),
            owned(&[slot("bo", "chat", 1), slot("bo", "email", -1)])
        );
        assert_eq!(
            moves(json!({}), json!({"assignee": "bo"})),
            owned(&[slot("bo", "email", 1)])
        );
        // Nothing changed, nothing moves.
        assert_eq!(
            moves(json!({"assignee": "bo"}), json!({"assignee": "bo"})),
            vec![]
        );
    }

    #[test]
    fn round_robin_cursors_move_with_the_decision() {
        let e = event("e1", "ticket.created");
        let mut d = decision(&e, ticket(json!({})));
        d.routing.cursors.insert("sales".into(), "al".into());
        d.routing.cursors.insert("billing".into(), "bo".into());
        let (before, d) = decided_as(&e, None, d);
        assert_eq!(
            extra(before.plan(&e, None, "fp", &d, now()).unwrap()),
            vec![
                Write::UpsertCursor {
                    team: "billing",
                    agent: "bo"
                },
                Write::UpsertCursor {
                    team: "sales",
                    agent: "al"
                },
            ]
        );
    }

    #[test]
    fn a_ticket_stays_queued_only_while_open_unassigned_and_in_the_team() {
        let e = event("e1", "ticket.created");
        let queued = |t: serde_json::Value| {
            let mut d = decision(&e, ticket(t));
            d.routing.queued = Some(Queued {
                team: "sales".into(),
                rule: "route".into(),
                action: "then[0]".into(),
            });
            decided_as(&e, None, d)
        };
        let (before, d) = queued(json!({"group": "sales"}));
        let w = before.plan(&e, None, "fp", &d, now()).unwrap().writes;
        assert!(w.contains(&Write::Enqueue {
            team: "sales",
            rule: "route",
            action: "then[0]",
            channel: "email"
        }));
        assert!(w.contains(&Write::Dequeue {
            keep: Some("sales")
        }));
        // In another group, assigned or solved: not queued, and out of any other queue.
        for (t, keep) in [
            (json!({"group": "billing"}), Some("billing")),
            (json!({"group": "sales", "assignee": "al"}), None),
            (json!({"group": "sales", "status": "solved"}), None),
            (json!({}), None),
        ] {
            let (before, d) = queued(t.clone());
            let w = before.plan(&e, None, "fp", &d, now()).unwrap().writes;
            assert!(!w.iter().any(|w| matches!(w, Write::Enqueue { .. })), "{t}");
            assert!(w.contains(&Write::Dequeue { keep }), "{t}");
        }
    }

    #[test]
    fn a_chat_is_opened_in_a_helpdesk_and_linked_once() {
        // The handoff of a chat that goes on in Chatwoot: an `open` row with the transcript.
        let mut e = event("chat:s1:handoff", "ticket.created");
        e.data.insert(
            "chat".into(),
            json!({ "session": "s1", "open": { "helpdesk": "chatwoot", "account": "1", "inbox": "3" },
                    "transcript": [{ "author": "customer", "text": "hi" }] }),
        );
        let d = decision(&e, ticket(json!({ "id": "chat-s1", "subject": "hi" })));
        let (before, d) = decided_as(&e, None, d);
        let writes = extra(before.plan(&e, None, "fp", &d, now()).unwrap());
        let [Write::InsertOutbox { id, action, target }] = writes.as_slice() else {
            panic!("one outbox row: {writes:?}");
        };
        assert_eq!(id, "chat:s1:handoff/open");
        assert_eq!(
            serde_json::from_str::<Action>(action).unwrap(),
            Action::OpenConversation {
                subject: "hi".into(),
                transcript: "Customer: hi".into()
            }
        );
        let target: Value = serde_json::from_str(target.as_deref().unwrap()).unwrap();
        assert_eq!(
            target,
            json!({ "helpdesk": "chatwoot", "session": "s1", "account": "1", "inbox": "3" })
        );
        // The event that records the conversation's id links it, once.
        let e = event("chat:s1:handoff/open:opened", "ticket.updated");
        let linked = ticket(json!({ "id": "chat-s1",
            "source": { "helpdesk": "chatwoot", "api": true, "id": "42" } }));
        let (before, d) = decided_as(&e, None, decision(&e, linked.clone()));
        assert_eq!(
            extra(before.plan(&e, None, "fp", &d, now()).unwrap()),
            vec![Write::LinkTicket {
                helpdesk: "chatwoot",
                external_id: "42"
            }]
        );
        let e = event("later", "ticket.updated");
        let (before, d) = decided_as(&e, Some(linked.clone()), decision(&e, linked));
        assert_eq!(
            extra(before.plan(&e, None, "fp", &d, now()).unwrap()),
            vec![]
        );
    }

    #[test]
    fn audit_rows_and_outbox_rows() {
        let e = event("e1", "ticket.created");
        let t = ticket(json!({"source": {"helpdesk": "chatwoot", "account": "7", "api": true}}));
        let mut d = decision(&e, t);
        d.trace.fired = names(&["ack", "escalate"]);
        d.actions = vec![
            Action::AddTags {
                tags: names(&["vip"]),
            },
            Action::SetField {
                name: "plan".into(),
                value: json!("gold"),
            },
            Action::Webhook {
                url: "https://example.org/hook".into(),
                method: HttpMethod::Post,
                body: json!({}),
                headers: Default::default(),
            },
        ];
        // `ack` produced the tags, `escalate` the field and the webhook.
        d.fired_actions = vec![0..1, 1..3];
        let action = |i: usize| serde_json::to_string(&d.actions[i]).unwrap();
        // Chatwoot applies labels through its API; it has no custom fields.
        let labels = crate::outbound::helpdesk::target(&d.ticket, &d.actions[0]);
        assert!(labels.is_some());
        assert!(crate::outbound::helpdesk::target(&d.ticket, &d.actions[1]).is_none());
        let (before, d) = decided_as(&e, None, d.clone());
        assert_eq!(
            extra(before.plan(&e, None, "fp", &d, now()).unwrap()),
            vec![
                Write::InsertAudit {
                    rules: &names(&["ack", "escalate"]),
                    actions: vec![
                        serde_json::to_string(&d.actions[..1]).unwrap(),
                        serde_json::to_string(&d.actions[1..]).unwrap(),
                    ],
                },
                Write::InsertOutbox {
                    id: "e1/0".into(),
                    action: action(0),
                    target: labels.map(|t| t.to_string()),
                },
                Write::InsertOutbox {
                    id: "e1/2".into(),
                    action: action(2),
                    target: None,
                },
            ]
        );
    }

    #[test]
    fn a_met_first_response_leaves_one_sample() {
        let e = event("e1", "message.agent");
        let clock = |achieved: bool| {
            let mut c = json!({"started_at": "2026-11-23T09:00:00Z", "elapsed_secs": 600,
                               "target_priority": "high"});
            if achieved {
                c["achieved_at"] = json!("2026-11-23T09:10:00Z");
            }
            ticket(json!({"group": "billing", "sla": {"policy": "p", "first_response": c}}))
        };
        let (before, d) = decided_as(&e, Some(clock(false)), decision(&e, clock(true)));
        assert_eq!(
            extra(before.plan(&e, None, "fp", &d, now()).unwrap()),
            vec![Write::InsertResponseSample {
                queue: "billing".into(),
                priority: "high",
                at: "2026-11-23T09:10:00Z".parse().unwrap(),
                secs: 600,
            }]
        );
        // Met before: no second sample.
        let (before, d) = decided_as(&e, Some(clock(true)), decision(&e, clock(true)));
        assert_eq!(
            extra(before.plan(&e, None, "fp", &d, now()).unwrap()),
            vec![]
        );
    }

    #[test]
    fn a_ticket_is_searched_by_its_keys() {
        let t = ticket(json!({
            "subject": "Ødelagt PAKKE",
            "status": "pending",
            "priority": "high",
            "group": "Returns",
            "tags": ["VIP", "Refund"],
            "created_at": "2026-11-20T08:00:00Z",
            "customer": {"id": "C-7", "email": "Kari@Example.NO", "name": "Kari Nordmann"},
            "sla": {
                "policy": "p",
                "first_response": {"started_at": "2026-11-20T08:00:00Z", "elapsed_secs": 0,
                    "running_since": "2026-11-20T08:00:00Z", "due_at": "2026-11-20T12:00:00Z",
                    "breached": true, "breached_at": "2026-11-20T12:00:00Z"},
                "resolution": {"started_at": "2026-11-20T08:00:00Z", "elapsed_secs": 60,
                    "achieved_at": "2026-11-21T08:00:00Z",
                    "breached": true, "breached_at": "2026-11-21T07:00:00Z"}
            }
        }));
        let k = TicketKeys::of(&t);
        assert_eq!(
            (k.status, k.priority, k.group),
            ("pending", "high", Some("Returns"))
        );
        assert_eq!(k.created_at, Some("2026-11-20T08:00:00Z".parse().unwrap()));
        assert_eq!(k.subject, "ødelagt pakke", "lower case beyond ASCII");
        assert_eq!(k.customer, "c-7\nkari@example.no\nkari nordmann");
        assert_eq!(k.tags, "\nvip\nrefund\n");
        assert!(k.tags.contains(&tag_key("Vip")));
        assert!(!k.tags.contains(&tag_key("re")), "whole tags only");
        assert_eq!(
            k.sla_breached_at,
            Some("2026-11-21T07:00:00Z".parse().unwrap()),
            "the latest breach, of a stopped clock too"
        );
        assert!(
            k.sla_breach_running,
            "first response is late and still running"
        );

        let mut e = event("e1", "message.created");
        e.message = Some(crate::model::Message {
            text: "Pakken kom Ødelagt".into(),
            ..Default::default()
        });
        let (before, d) = decided_as(&e, None, decision(&e, t.clone()));
        let Write::InsertEvent { text, .. } =
            &before.plan(&e, None, "fp", &d, now()).unwrap().writes[0]
        else {
            panic!("the event is written first");
        };
        assert_eq!(
            text.as_deref(),
            Some("pakken kom ødelagt"),
            "a message is searched in lower case"
        );

        let empty = ticket(json!({}));
        let plain = TicketKeys::of(&empty);
        assert_eq!(
            (plain.status, plain.priority, plain.group),
            ("new", "normal", None)
        );
        assert_eq!((plain.subject.as_str(), plain.tags.as_str()), ("", ""));
        assert_eq!(plain.customer, "\n\n");
        assert_eq!(
            (plain.sla_breached_at, plain.sla_breach_running),
            (None, false)
        );
    }
}
