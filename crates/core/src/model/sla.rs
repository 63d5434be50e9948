//! SLA state kept on a ticket: one clock per metric of the policy that applies.
//!
//! frontdesk writes this state; it is stored with the ticket and returned in every decision,
//! and conditions read it (`ticket.sla.first_response.breached`). The clocks are advanced by
//! [`crate::sla`] from the events of the ticket and the decision's time only.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::named_enum;

named_enum! {
    /// What an SLA measures.
    pub enum Metric {
        FirstResponse = "first_response",
        NextResponse = "next_response",
        Resolution = "resolution",
    }
}

/// The names of the SLA clocks' timers start with this (`sla:first_response`): rules may not
/// name a timer so, and `cancel_timers` without names leaves them alone.
pub const SLA_TIMER_PREFIX: &str = "sla:";

impl Metric {
    /// The name of the durable timer that carries this metric's next warning or breach.
    pub fn timer_name(self) -> &'static str {
        match self {
            Metric::FirstResponse => "sla:first_response",
            Metric::NextResponse => "sla:next_response",
            Metric::Resolution => "sla:resolution",
        }
    }

    /// The metric whose timer is called `name`.
    pub fn from_timer_name(name: &str) -> Option<Metric> {
        use super::Named;
        Metric::ALL.iter().copied().find(|m| m.timer_name() == name)
    }
}

/// The SLA clocks of a ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaState {
    /// The policy that applies (its `name`).
    pub policy: String,
    /// From creation until the first agent reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<SlaClock>,
    /// The last agent reply: a customer message after it starts the next-response clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_replied_at: Option<DateTime<Utc>>,
    /// From a customer message after an agent reply until the next agent reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<SlaClock>,
    /// From creation until the ticket is solved or closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<SlaClock>,
}

impl SlaState {
    /// The clock of a metric.
    pub fn clock(&self, m: Metric) -> Option<&SlaClock> {
        match m {
            Metric::FirstResponse => self.first_response.as_ref(),
            Metric::NextResponse => self.next_response.as_ref(),
            Metric::Resolution => self.resolution.as_ref(),
        }
    }

    /// The clock of a metric, to change it.
    pub fn clock_mut(&mut self, m: Metric) -> &mut Option<SlaClock> {
        match m {
            Metric::FirstResponse => &mut self.first_response,
            Metric::NextResponse => &mut self.next_response,
            Metric::Resolution => &mut self.resolution,
        }
    }

    /// The clocks there are, with their metrics.
    pub fn clocks(&self) -> impl Iterator<Item = (Metric, &SlaClock)> {
        use super::Named;
        Metric::ALL
            .iter()
            .filter_map(|m| self.clock(*m).map(|c| (*m, c)))
    }

    /// The earliest due time of a running clock (it may have passed: the clock is late).
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.clocks()
            .filter(|(_, c)| c.is_running())
            .filter_map(|(_, c)| c.due_at)
            .min()
    }

    /// The latest time a clock was breached, if one was.
    pub fn last_breach(&self) -> Option<DateTime<Utc>> {
        self.clocks()
            .filter(|(_, c)| c.breached)
            .filter_map(|(_, c)| c.breached_at)
            .max()
    }

    /// Whether a breached clock is still running (the late answer has not come yet).
    pub fn breach_running(&self) -> bool {
        self.clocks().any(|(_, c)| c.breached && c.is_running())
    }
}

/// One SLA clock.
///
/// A clock is *running* (counting since `running_since`), *paused* (`paused_at` set) or
/// *stopped* (`achieved_at` set). Active time is counted in the policy's calendar (open time)
/// or in calendar time; paused spans do not count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaClock {
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// The target in seconds of active time (open time in a business calendar); absent when
    /// the policy has no target for the ticket's priority (the clock counts, nothing is due).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_secs: Option<i64>,
    /// The priority `target_secs` is for: the target is set when the clock starts and again
    /// when the priority (or the policy) changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_priority: Option<super::Priority>,
    /// Active time counted before `running_since` (or until the pause or stop).
    pub elapsed_secs: i64,
    /// Counting since this moment; absent while paused or stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_since: Option<DateTime<Utc>>,
    /// When the target is reached if the clock keeps running; absent while paused or
    /// stopped (a met clock keeps the due time it was met against).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Paused since (the ticket is in a `pause_when` state, or solved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<DateTime<Utc>>,
    /// When it was met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_at: Option<DateTime<Utc>>,
    /// Whether the target was missed (breached by its timer, or met late).
    #[serde(default)]
    pub breached: bool,
    /// When the target was missed: the due time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_at: Option<DateTime<Utc>>,
    /// The highest warning percentage already announced.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warned_pct: u32,
    /// When this clock's pending timer is due (the next warning or the breach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_at: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SlaClock {
    /// Counting now.
    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    /// Paused.
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Met.
    pub fn is_achieved(&self) -> bool {
        self.achieved_at.is_some()
    }
}
