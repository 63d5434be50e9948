//! Measured first responses: the promise of an acknowledgement blended with what the desk
//! actually does.
//!
//! Every ticket whose SLA first-response clock is met leaves a *sample*: the active time it
//! took, counted by that clock (the policy's calendar, paused spans left out), keyed by the
//! ticket's queue (its `group`, or none) and priority. The daemon keeps the recent samples in
//! memory ([`Measured`], reloaded from the store every minute); with `settings.measured_response`
//! the expected response uses their percentile instead of the target when it is later, and the
//! decision's trace says so.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Priority, Ticket};

/// `settings.measured_response`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredSettings {
    /// The percentile of the samples used (1-99).
    pub percentile: u8,
    /// Fewer samples than this for a queue and priority: the target alone is used.
    pub min_samples: usize,
    /// Samples older than this are not used.
    pub window: Duration,
}

impl Default for MeasuredSettings {
    fn default() -> Self {
        MeasuredSettings {
            percentile: 80,
            min_samples: 20,
            window: Duration::days(14),
        }
    }
}

/// The most recent samples kept per queue and priority.
pub const MAX_SAMPLES: u32 = 500;

/// How often the samples in use are read again (the daemon from the store, a replay from its
/// own decisions), by the clock the decisions run on.
pub const REFRESH: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// One met first response.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The ticket's group when it was met ("" for none).
    pub queue: String,
    /// The priority its target was for.
    pub priority: Priority,
    /// When it was met.
    pub at: DateTime<Utc>,
    /// Active time it took, in seconds.
    pub secs: i64,
}

/// Whether the ticket's first response was met (as stored before a decision).
pub fn first_response_met(t: Option<&Ticket>) -> bool {
    t.and_then(|t| t.sla.as_ref())
        .and_then(|s| s.first_response.as_ref())
        .is_some_and(|c| c.achieved_at.is_some())
}

/// The sample a decision leaves when it met the ticket's first response (`met_before`: it was
/// met before the decision, see [`first_response_met`]).
pub fn sample(met_before: bool, after: &Ticket) -> Option<Sample> {
    let clock = after.sla.as_ref()?.first_response.as_ref()?;
    let at = clock.achieved_at?;
    if met_before {
        return None;
    }
    Some(Sample {
        queue: after.group.clone().unwrap_or_default(),
        priority: clock.target_priority.unwrap_or(after.priority),
        at,
        secs: clock.elapsed_secs,
    })
}

/// Recent samples by queue and priority, each list sorted.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    by_key: HashMap<(String, Priority), Vec<i64>>,
}

/// What the measured responses said about one expected response (in the decision's trace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MeasuredTrace {
    /// The queue (the ticket's group, "" for none).
    pub queue: String,
    /// The ticket's priority.
    pub priority: Priority,
    /// Recent samples of that queue and priority.
    pub samples: usize,
    /// The percentile read.
    pub percentile: u8,
    /// That percentile in seconds of active time; absent with too few samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_secs: Option<i64>,
    /// The moment the target promises.
    pub target_at: DateTime<Utc>,
    /// Whether the measured time was later than the target and was promised instead.
    pub used: bool,
}

impl Measured {
    /// From `(queue, priority, seconds)` rows.
    pub fn from_rows(rows: impl IntoIterator<Item = (String, Priority, i64)>) -> Measured {
        let mut by_key: HashMap<(String, Priority), Vec<i64>> = HashMap::new();
        for (queue, priority, secs) in rows {
            by_key.entry((queue, priority)).or_default().push(secs);
        }
        for v in by_key.values_mut() {
            v.sort_unstable();
        }
        Measured { by_key }
    }

    /// Adds a sample's seconds to its queue and priority (kept sorted).
    pub fn insert(&mut self, queue: &str, priority: Priority, secs: i64) {
        let v = self
            .by_key
            .entry((queue.to_string(), priority))
            .or_default();
        let at = v.partition_point(|&x| x < secs);
        v.insert(at, secs);
    }

    /// Takes out one sample of `secs` seconds of a queue and priority, if there is one.
    pub fn remove(&mut self, queue: &str, priority: Priority, secs: i64) {
        let key = (queue.to_string(), priority);
        if let Some(v) = self.by_key.get_mut(&key) {
            if let Ok(i) = v.binary_search(&secs) {
                v.remove(i);
            }
            if v.is_empty() {
                self.by_key.remove(&key);
            }
        }
    }

    /// How many samples there are in all.
    pub fn len(&self) -> usize {
        self.by_key.values().map(Vec::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The samples of a queue and priority, sorted.
    pub fn samples(&self, queue: &str, priority: Priority) -> &[i64] {
        self.by_key
            .get(&(queue.to_string(), priority))
            .map_or(&[], Vec::as_slice)
    }

    /// The `p`-th percentile (nearest rank) of a queue and priority, with the number of samples;
    /// `None` for the percentile with fewer than `min` samples.
    pub fn percentile(
        &self,
        queue: &str,
        priority: Priority,
        p: u8,
        min: usize,
    ) -> (Option<i64>, usize) {
        let v = self.samples(queue, priority);
        if v.is_empty() || v.len() < min.max(1) {
            return (None, v.len());
        }
        let rank = (usize::from(p) * v.len()).div_ceil(100).clamp(1, v.len());
        (Some(v[rank - 1]), v.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SlaClock, SlaState};

    fn clock(achieved: Option<&str>, elapsed: i64) -> SlaClock {
        SlaClock {
            started_at: "2026-11-23T08:00:00Z".parse().unwrap(),
            target_secs: Some(7200),
            target_priority: Some(Priority::High),
            elapsed_secs: elapsed,
            running_since: None,
            due_at: None,
            paused_at: None,
            achieved_at: achieved.map(|a| a.parse().unwrap()),
            breached: false,
            breached_at: None,
            warned_pct: 0,
            timer_at: None,
        }
    }

    fn ticket(c: Option<SlaClock>, group: Option<&str>) -> Ticket {
        Ticket {
            id: "T".into(),
            group: group.map(str::to_string),
            sla: Some(SlaState {
                policy: "p".into(),
                first_response: c,
                ..SlaState::default()
            }),
            ..Ticket::default()
        }
    }

    #[test]
    fn a_sample_is_left_once_when_the_first_response_is_met() {
        let running = ticket(Some(clock(None, 0)), Some("billing"));
        let met = ticket(
            Some(clock(Some("2026-11-23T09:30:00Z"), 5400)),
            Some("billing"),
        );
        let s = sample(first_response_met(Some(&running)), &met).expect("met now");
        assert_eq!(s.queue, "billing");
        assert_eq!(s.priority, Priority::High, "the priority of the target");
        assert_eq!(s.secs, 5400);
        assert_eq!(
            s.at,
            "2026-11-23T09:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(first_response_met(Some(&met)));
        assert_eq!(sample(true, &met), None, "met before");
        assert_eq!(sample(false, &running), None, "not met");
        assert_eq!(sample(false, &Ticket::default()), None, "no SLA");
        assert!(!first_response_met(None));
        assert_eq!(
            sample(false, &met).map(|s| s.secs),
            Some(5400),
            "met by the first event"
        );
    }

    #[test]
    fn the_percentile_is_the_nearest_rank_and_needs_enough_samples() {
        let rows = (1..=10)
            .rev()
            .map(|i| (String::new(), Priority::Normal, i * 60));
        let m = Measured::from_rows(rows);
        assert_eq!(m.len(), 10);
        assert_eq!(m.percentile("", Priority::Normal, 80, 5), (Some(480), 10));
        assert_eq!(m.percentile("", Priority::Normal, 50, 5), (Some(300), 10));
        assert_eq!(m.percentile("", Priority::Normal, 99, 5), (Some(600), 10));
        assert_eq!(m.percentile("", Priority::Normal, 1, 5), (Some(60), 10));
        assert_eq!(m.percentile("", Priority::Normal, 80, 11), (None, 10));
        assert_eq!(m.percentile("", Priority::High, 80, 0), (None, 0));
        assert_eq!(m.percentile("billing", Priority::Normal, 80, 1), (None, 0));
    }
}
