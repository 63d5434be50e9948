//! The desk's KPIs: the facts a decision leaves (`docs/kpis.md` defines each) and the reports
//! made of them.
//!
//! [`settle`] runs at the end of every decision. It compares the ticket as the store held it
//! with the ticket the decision leaves, keeps the counts on [`TicketStats`] (agent replies,
//! reopens, handoffs, the customer message waiting for an answer) and returns the [`Fact`]s
//! the store writes in the decision's transaction: a ticket created, its first and each next
//! agent response, solved, reopened, handed off, an SLA clock met or breached, a satisfaction
//! rating. Every fact is dated with the event's own time ([`event_time`]), not the arrival,
//! so a delayed webhook, a backlog after downtime or an import counts where it happened.
//!
//! A fact has a key; writing one again replaces it. That makes a rebuild from the events
//! table idempotent, and lets an SLA clock's fact change from breached to met when a reply
//! dated before the due time arrives after the breach timer fired.
//!
//! [`report`] turns facts into the figures of `GET /v1/reports/kpis`. Pure: no I/O, no clock.

mod report;
mod rollup;
mod text;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    Action, Author, Event, EventType, Metric, Named, Priority, SlaClock, Status, Ticket,
    TicketStats,
};

pub use report::{
    backlog_before, csv, parse_dim, parse_interval, report, tallied, Backlog, BotFigures,
    BotSession, Bucket, Dim, Durations, Figures, Group, Interval, Query, Report, ReportError, Sla,
    Tally, MAX_RANGE_DAYS,
};
pub use rollup::{day_number, day_start, fresh, rollups, split, DayPrint, Rollup, Split};
pub use text::{duration, sparkline, text};

/// How far in the future an event's `occurred_at` may lie before the arrival time is taken
/// instead (clocks of helpdesks and of this host drift a little).
pub const FUTURE_TOLERANCE_SECS: i64 = 120;

/// When the event happened: its `occurred_at`, or the arrival time `now` when it has none or
/// when it lies more than [`FUTURE_TOLERANCE_SECS`] ahead of `now`.
pub fn event_time(event: &Event, now: DateTime<Utc>) -> DateTime<Utc> {
    match event.occurred_at {
        Some(t) if t <= now + Duration::seconds(FUTURE_TOLERANCE_SECS) => t,
        _ => now,
    }
}

/// What kind of fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A ticket was created (`secs`: none).
    Created,
    /// An agent answered for the first time (`secs`: since creation).
    FirstResponse,
    /// An agent answered a customer message that came after an agent reply (`secs`: since
    /// that customer message).
    NextResponse,
    /// The ticket was solved or closed (`secs`: since creation; `replies`, `reopens`).
    Solved,
    /// A solved or closed ticket was opened again.
    Reopened,
    /// The ticket was handed to a person (`handoff`).
    Handoff,
    /// An SLA clock was met or breached (`metric`, `policy`, `breached`, `target_secs`; `secs`
    /// calendar time from its start, `business_secs` the active time it counted).
    Sla,
    /// A satisfaction rating (`score`).
    Csat,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] = [
        Kind::Created,
        Kind::FirstResponse,
        Kind::NextResponse,
        Kind::Solved,
        Kind::Reopened,
        Kind::Handoff,
        Kind::Sla,
        Kind::Csat,
    ];

    /// How the store names it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::FirstResponse => "first_response",
            Kind::NextResponse => "next_response",
            Kind::Solved => "solved",
            Kind::Reopened => "reopened",
            Kind::Handoff => "handoff",
            Kind::Sla => "sla",
            Kind::Csat => "csat",
        }
    }

    /// The kind the store calls `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Who and what a fact is about, as the ticket stood when it happened: what reports group by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// The ticket's channel.
    pub channel: String,
    /// Its priority.
    pub priority: String,
    /// Its group (team).
    pub team: Option<String>,
    /// Its assignee.
    pub agent: Option<String>,
    /// The customer's language (primary subtag, lower case).
    pub language: Option<String>,
}

impl Dims {
    /// The dimensions of a ticket as it is now.
    pub fn of(t: &Ticket, event: &Event) -> Dims {
        let language = t
            .customer
            .language
            .as_deref()
            .or_else(|| event.message.as_ref().and_then(|m| m.language.as_deref()))
            .and_then(|l| l.split(['-', '_']).next())
            .filter(|l| !l.is_empty())
            .map(str::to_ascii_lowercase);
        Dims {
            channel: t.channel.name().to_string(),
            priority: t.priority.name().to_string(),
            team: t.group.clone(),
            agent: t.assignee.clone(),
            language,
        }
    }
}

/// One KPI fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// Unique per fact; a fact written again under its key replaces the one before.
    pub key: String,
    /// The ticket.
    pub ticket: String,
    /// The event that left it.
    pub event: String,
    /// What it is.
    pub kind: Kind,
    /// When it happened (the event's own time; for a breach, the due time).
    pub at: DateTime<Utc>,
    /// Calendar seconds it measures (see [`Kind`]).
    pub secs: Option<i64>,
    /// Business (active) seconds, where an SLA calendar counted them.
    pub business_secs: Option<i64>,
    /// An SLA clock's target, in active seconds.
    pub target_secs: Option<i64>,
    /// An SLA clock's metric.
    pub metric: Option<Metric>,
    /// An SLA clock's policy.
    pub policy: Option<String>,
    /// An SLA clock's outcome: missed.
    pub breached: bool,
    /// A satisfaction rating, 1 to 5.
    pub score: Option<u8>,
    /// On `solved`: agent replies on the ticket so far.
    pub replies: Option<u32>,
    /// On `solved`: times it was reopened before.
    pub reopens: Option<u32>,
    /// The ticket's dimensions then.
    pub dims: Dims,
}

impl Fact {
    fn new(kind: Kind, key: String, event: &Event, t: &Ticket, at: DateTime<Utc>) -> Fact {
        Fact {
            key,
            ticket: t.id.clone(),
            event: event.id.clone(),
            ..Fact::blank(kind, at, Dims::of(t, event))
        }
    }

    /// A fact of `kind` at `at` with nothing measured yet: no key, ticket or event.
    pub fn blank(kind: Kind, at: DateTime<Utc>, dims: Dims) -> Fact {
        Fact {
            key: String::new(),
            ticket: String::new(),
            event: String::new(),
            kind,
            at,
            secs: None,
            business_secs: None,
            target_secs: None,
            metric: None,
            policy: None,
            breached: false,
            score: None,
            replies: None,
            reopens: None,
            dims,
        }
    }
}

fn solved(s: Status) -> bool {
    matches!(s, Status::Solved | Status::Closed)
}

fn since(from: Option<DateTime<Utc>>, to: DateTime<Utc>) -> Option<i64> {
    from.map(|f| (to - f).num_seconds().max(0))
}

/// Keeps the counts on `after` (the ticket the decision leaves) and returns the facts of the
/// decision. `prior` is the ticket as the store held it before the event (`None`: first seen),
/// `actions` the decision's actions, `at` the event's own time ([`event_time`]).
pub fn settle(
    prior: Option<&Ticket>,
    event: &Event,
    after: &mut Ticket,
    actions: &[Action],
    at: DateTime<Utc>,
) -> Vec<Fact> {
    // Schedules' own tickets are no customer's.
    if crate::schedule::is_schedule_ticket(&after.id) {
        return Vec::new();
    }
    let mut facts = Vec::new();
    let mut stats = prior
        .and_then(|p| p.stats.clone())
        .or_else(|| after.stats.clone())
        .unwrap_or_default();
    let id = &event.id;
    let author = event.message.as_ref().map(|m| m.author);
    let message = matches!(
        event.kind,
        EventType::MessageCreated | EventType::MessageAgent
    );
    let agent_reply = message && author == Some(Author::Agent);
    let customer_message =
        event.kind == EventType::MessageCreated && author == Some(Author::Customer);

    if prior.is_none() {
        let created = after.created_at.filter(|c| *c <= at).unwrap_or(at);
        after.created_at.get_or_insert(created);
        facts.push(Fact::new(
            Kind::Created,
            format!("{}/created", after.id),
            event,
            after,
            created,
        ));
    }
    if customer_message && stats.awaiting_since.is_none() && stats.agent_replies > 0 {
        stats.awaiting_since = Some(at);
    }
    if agent_reply {
        let first = prior.is_none_or(|p| p.first_response_at.is_none()) && stats.agent_replies == 0;
        stats.agent_replies += 1;
        if first {
            after.first_response_at.get_or_insert(at);
            let mut f = Fact::new(
                Kind::FirstResponse,
                format!("{}/first_response", after.id),
                event,
                after,
                at,
            );
            f.secs = since(after.created_at, at);
            f.business_secs = after
                .sla
                .as_ref()
                .and_then(|s| s.first_response.as_ref())
                .filter(|c| c.achieved_at == Some(at))
                .map(|c| c.elapsed_secs);
            facts.push(f);
        } else if let Some(waiting) = stats.awaiting_since {
            let mut f = Fact::new(
                Kind::NextResponse,
                format!("{id}/next_response"),
                event,
                after,
                at,
            );
            f.secs = since(Some(waiting), at);
            f.business_secs = after
                .sla
                .as_ref()
                .and_then(|s| s.next_response.as_ref())
                .filter(|c| c.achieved_at == Some(at))
                .map(|c| c.elapsed_secs);
            facts.push(f);
        }
        stats.awaiting_since = None;
    }
    let was_solved = prior.is_some_and(|p| solved(p.status));
    if solved(after.status) && !was_solved {
        let mut f = Fact::new(Kind::Solved, format!("{id}/solved"), event, after, at);
        f.secs = since(after.created_at, at);
        f.replies = Some(stats.agent_replies);
        f.reopens = Some(stats.reopens);
        facts.push(f);
        stats.solved_at = Some(at);
    } else if was_solved && !solved(after.status) {
        stats.reopens += 1;
        facts.push(Fact::new(
            Kind::Reopened,
            format!("{id}/reopened"),
            event,
            after,
            at,
        ));
    }
    if actions.iter().any(|a| matches!(a, Action::Handoff { .. })) {
        stats.handoffs += 1;
        facts.push(Fact::new(
            Kind::Handoff,
            format!("{id}/handoff"),
            event,
            after,
            at,
        ));
    }
    sla_facts(prior, event, after, &mut facts);
    if let Some(c) = &after.csat {
        let before = prior.and_then(|p| p.csat.as_ref());
        if let (Some(score), Some(rated)) = (c.score, c.rated_at) {
            if before.is_none_or(|b| b.survey != c.survey || b.score.is_none()) {
                let mut f = Fact::new(
                    Kind::Csat,
                    format!("{}/csat/{}", after.id, c.survey),
                    event,
                    after,
                    rated,
                );
                f.score = Some(score);
                facts.push(f);
            }
        }
    }
    if stats != TicketStats::default() || after.stats.is_some() {
        after.stats = Some(stats);
    }
    facts
}

/// An SLA clock's fact when the decision met it or marked it breached (or a late reply dated
/// before the due time turned a breach into met).
fn sla_facts(prior: Option<&Ticket>, event: &Event, after: &Ticket, out: &mut Vec<Fact>) {
    let Some(state) = &after.sla else {
        return;
    };
    let before = prior.and_then(|p| p.sla.as_ref());
    for m in Metric::ALL.iter().copied() {
        let Some(c) = state.clock(m) else {
            continue;
        };
        let Some(target) = c.target_secs else {
            continue;
        };
        let outcome = |c: &SlaClock| (c.is_achieved(), c.breached);
        let was = before
            .and_then(|s| s.clock(m))
            .filter(|p| p.started_at == c.started_at)
            .map(outcome);
        let now = outcome(c);
        if Some(now) == was || now == (false, false) {
            continue;
        }
        let at = if c.breached {
            c.breached_at.or(c.achieved_at)
        } else {
            c.achieved_at
        };
        let Some(at) = at else {
            continue;
        };
        let mut f = Fact::new(
            Kind::Sla,
            format!(
                "{}/sla/{}/{}",
                after.id,
                m.name(),
                c.started_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            event,
            after,
            at,
        );
        f.metric = Some(m);
        f.policy = Some(state.policy.clone());
        f.breached = c.breached;
        f.target_secs = Some(target);
        f.business_secs = c.is_achieved().then_some(c.elapsed_secs);
        f.secs = since(Some(c.started_at), c.achieved_at.unwrap_or(at));
        out.push(f);
    }
}

/// The facts of a store's recorded history, for a rebuild: fed the events in the order they
/// were decided, each with the ticket its decision left, its actions and its arrival time.
/// Counts are taken again from the recorded tickets; each ticket's last state is kept to
/// compare its next event with.
#[derive(Debug, Default)]
pub struct Rebuild {
    prior: std::collections::HashMap<String, Ticket>,
}

impl Rebuild {
    /// A rebuild that has seen nothing yet.
    pub fn new() -> Rebuild {
        Rebuild::default()
    }

    /// The facts of one recorded decision.
    pub fn push(
        &mut self,
        event: &Event,
        decided: &Ticket,
        actions: &[Action],
        received: DateTime<Utc>,
    ) -> Vec<Fact> {
        let mut after = decided.clone();
        after.stats = None;
        let at = event_time(event, received);
        let prior = self.prior.get(&event.ticket.id);
        let facts = settle(prior, event, &mut after, actions, at);
        self.prior.insert(event.ticket.id.clone(), after);
        facts
    }
}

/// The priority names, in order, for reports that list every priority.
pub fn priorities() -> impl Iterator<Item = &'static str> {
    Priority::ALL.iter().map(|p| p.name())
}

#[cfg(test)]
mod tests;
