//! What a replay found: [`ReplayReport`], the JSON of `frontdesk replay --json`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Action;

/// What a replay found: the recorded decisions ("before") against the candidate pack's
/// ("after").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Arrival of the first recorded event.
    pub from: Option<DateTime<Utc>>,
    /// Arrival of the last recorded event: virtual time ends here.
    pub to: Option<DateTime<Utc>>,
    /// Recorded events read.
    pub events: u64,
    /// Of them, decided again with the candidate pack (every event but the recorded timer
    /// firings).
    pub decided: u64,
    /// Recorded `timer.fired` events: the old pack's timers. They count before, and are not
    /// decided again; the candidate's own timers fire instead.
    pub recorded_timers: u64,
    /// The candidate's timers that came due and fired in virtual time.
    pub timers_fired: u64,
    /// Tickets the events were about.
    pub tickets: u64,
    /// Of them, first seen with an event other than `ticket.created`: created before the
    /// window, so what happened to them before it (their timers, SLA clocks, counts) is not
    /// known to the replay.
    pub tickets_from_before: u64,
    /// Per rule (and per timer, schedule and SLA label of the trace): how often it fired. The
    /// candidate's rules in their order, then the labels only the recording has.
    pub rules: Vec<RuleCount>,
    /// Tickets whose actions differ (all of them, listed or not).
    pub changed_tickets: u64,
    /// The first of them, in the order they were first seen, with their actions.
    pub changed: Vec<ChangedTicket>,
    /// The figures the rules determine.
    pub kpis: KpiDeltas,
}

/// How often a rule fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    /// The rule (or `timer NAME`, `schedule NAME`, `sla METRIC breached`, ...).
    pub rule: String,
    /// In the recorded decisions.
    pub before: u64,
    /// In the candidate's.
    pub after: u64,
}

/// A ticket whose actions differ: every action of the window, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedTicket {
    /// The ticket.
    pub ticket: String,
    /// The recorded actions.
    pub before: Vec<Action>,
    /// The candidate's.
    pub after: Vec<Action>,
}

/// A count before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// What is counted (a priority, an SLA metric, a team).
    pub key: String,
    /// In the recording.
    pub before: u64,
    /// With the candidate.
    pub after: u64,
}

/// Tickets with something, out of all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// The tickets counted.
    pub tickets: u64,
    /// Of them, in the recording.
    pub before: u64,
    /// Of them, with the candidate.
    pub after: u64,
    /// `before / tickets` (0 without tickets).
    pub before_share: f64,
    /// `after / tickets`.
    pub after_share: f64,
}

impl Share {
    /// The share of `before` and `after` in `tickets`.
    pub fn new(tickets: u64, before: u64, after: u64) -> Share {
        let share = |n: u64| {
            if tickets == 0 {
                0.0
            } else {
                n as f64 / tickets as f64
            }
        };
        Share {
            tickets,
            before,
            after,
            before_share: share(before),
            after_share: share(after),
        }
    }
}

/// The figures the rules determine, before and after.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiDeltas {
    /// The tickets these figures count: those the candidate decided at least once (not the
    /// schedules' own).
    pub tickets: u64,
    /// Tickets by the priority they ended the window with (urgent first).
    pub priority: Vec<Count>,
    /// Tickets that got an answer from an FAQ bot (an `answer_faq` that answered tags the
    /// ticket `faq:<entry>`).
    pub auto_answered: Share,
    /// SLA breaches announced by the SLA clocks' timers (`sla METRIC breached` in the trace),
    /// per clock.
    pub sla_breaches: Vec<Count>,
    /// `assign` actions that gave a ticket an agent, per team (`-` for an agent named
    /// directly).
    pub assignments: Vec<Count>,
    /// `assign` actions that left a ticket waiting in a team's (or a group's) queue.
    pub queued: Vec<Count>,
}
