//! What-if replay: recorded events decided again, in order, against a candidate rule pack, in
//! virtual time (`docs/replay.md`).
//!
//! [`Replay`] is fed the recorded events in the order they were decided, each with its
//! arrival time, its ticket as the caller sent it and the decision it got. It keeps in memory
//! what the candidate pack makes of the tickets, and the candidate's pending timers in a
//! queue by due time. Before each recorded event it fires every candidate timer due by the
//! event's arrival, each as the `timer.fired` event the daemon would make
//! ([`crate::plan::timer_fired`]) decided at its due instant; then it decides the event at
//! its arrival time, on the candidate's version of the ticket ([`crate::plan::prepare`]),
//! and follows the decision's [`crate::plan::timer_ops`] as the stores do. Recorded
//! `timer.fired` events belong to the old pack's timers: they count before and are not
//! decided again. At the end, the timers due by the last arrival fire; later ones do not.
//! Nothing is delivered or written: this is pure, as [`crate::engine::decide`] is.
//!
//! A ticket first seen in the window starts from the event's own ticket, as the daemon starts
//! a new one; for a ticket created before the window that is all the replay knows of it.
//! Routing decides with the desk as the recording shows it (see `desk.rs`), measured first
//! responses with the candidate's own, in the window.
//!
//! [`Replay::finish`] gives the [`ReplayReport`]: per rule how often it fired before and
//! after, the tickets whose actions changed, and the KPI deltas the rules determine;
//! [`text`] renders it for a terminal.

mod desk;
mod report;
mod text;

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::Config;
use crate::engine::{self, Context, Decision};
use crate::measured::{self, Measured, MeasuredSettings, Sample};
use crate::model::{Action, AssignTarget, Event, EventType, Metric, Named, Priority, Ticket};
use crate::model::{TimerRef, TimerSpec};
use crate::plan::{self, load_slot, TimerOp};
use crate::routing::RoutingState;

pub use report::{ChangedTicket, Count, KpiDeltas, ReplayReport, RuleCount, Share};
pub use text::{diff, summary, text, Line};

/// One recorded event: what a replay is fed.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// When it arrived: its decision's `now`.
    pub received_at: DateTime<Utc>,
    /// The event as accepted.
    pub event: Event,
    /// Its ticket as the caller sent it (JSON), laid over the candidate's version of the
    /// ticket ([`crate::plan::read_recorded_event`]).
    pub sent: Value,
    /// The decision it got.
    pub decision: Decision,
}

/// Records `events` — `(arrival, event as accepted, its ticket as sent)` in arrival order —
/// as a daemon running `config` would: each decided on the ticket the previous decision left,
/// with `desk` as the routing state (agents as given, cursors moved by the decisions). Timers
/// are not fired: a recording is a replay's input, and the replay fires the candidate's. For
/// tests and benchmarks of a replay without a store.
pub fn record(
    config: &Config,
    desk: &mut crate::routing::RoutingState,
    events: impl IntoIterator<Item = (DateTime<Utc>, Event, Value)>,
) -> Vec<Recorded> {
    let mut tickets: HashMap<String, Ticket> = HashMap::new();
    events
        .into_iter()
        .map(|(now, event, sent)| {
            let prior = tickets.get(&event.ticket.id).cloned();
            let ev = plan::prepare(prior.as_ref(), &event, Some(&sent));
            let ctx = Context {
                routing: desk.clone(),
                prior,
                ..Context::default()
            };
            let decision = engine::decide_with(config, &ctx, &ev.ticket, &ev, now);
            for (team, agent) in &decision.routing.cursors {
                desk.last_assigned.insert(team.clone(), agent.clone());
            }
            tickets.insert(event.ticket.id.clone(), decision.ticket.clone());
            Recorded {
                received_at: now,
                event,
                sent,
                decision,
            }
        })
        .collect()
}

/// The routing state to decide a recorded event again with, on its own: what its decision's
/// routing traces show of the desk ([`Replay`] reads a window of them the same way). Agents
/// passed over as offline or away have that status, the others count as online; each agent
/// the decision considered has the open tickets it saw (without this ticket's own, as the
/// store leaves it out); where it picked an agent round-robin, the cursor stands just before
/// that agent, so the same pack picks the same one.
pub fn recorded_routing(roster: &crate::routing::Roster, decision: &Decision) -> RoutingState {
    let mut desk = desk::Desk::new(roster);
    desk.observe(roster, decision, &None);
    desk.state_for(&None)
}

/// How a replay runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The key survey links are signed with, as the daemon had it (links in replies then
    /// compare equal).
    pub csat_secret: Option<crate::csat::Secret>,
    /// Changed tickets listed with their actions in the report (the rest are counted).
    pub max_changed: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            csat_secret: None,
            max_changed: 50,
        }
    }
}

/// A candidate timer waiting to fire.
#[derive(Debug)]
struct Pending {
    id: String,
    name: String,
    due_at: DateTime<Utc>,
    cancel_on: Vec<EventType>,
}

/// One ticket as the replay knows it.
#[derive(Debug)]
struct Tracked {
    id: String,
    /// As the candidate leaves it (`None` until the candidate decided an event of it).
    ticket: Option<Ticket>,
    /// As the recording left it.
    recorded: Option<Ticket>,
    /// The candidate's pending timers.
    pending: Vec<Pending>,
    /// Actions of the window: recorded, and the candidate's.
    before: Vec<Action>,
    after: Vec<Action>,
    /// Got an FAQ answer: in the recording, with the candidate.
    answered: [bool; 2],
}

/// A timer in the queue by due time; `seq` keeps timers due together in the order they were
/// started. Cancelled ones stay in the queue and are passed over when their turn comes.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: DateTime<Utc>,
    seq: u64,
    ticket: usize,
    id: String,
}

/// Which side of the comparison.
const BEFORE: usize = 0;
const AFTER: usize = 1;

/// One queue's samples in use: seconds, by when they were met (and in which order).
type QueueSamples = BTreeMap<(DateTime<Utc>, u64), i64>;

/// Measured first responses from the candidate's own decisions, as the daemon reads them
/// from its store every [`measured::REFRESH`] (here of virtual time): those met in the last
/// `window`, the newest [`measured::MAX_SAMPLES`] of each queue and priority. Kept up to date
/// sample by sample rather than read again whole.
#[derive(Debug, Default)]
struct MeasuredSamples {
    settings: Option<MeasuredSettings>,
    /// Samples in use per queue and priority, by when they were met (and in which order).
    in_use: HashMap<(String, Priority), QueueSamples>,
    /// Samples left since the last read.
    pending: Vec<Sample>,
    seq: u64,
    current: Arc<Measured>,
    read_at: Option<DateTime<Utc>>,
}

impl MeasuredSamples {
    fn refresh(&mut self, now: DateTime<Utc>) {
        let Some(settings) = self.settings else {
            return;
        };
        if self.read_at.is_some_and(|t| now - t < measured::REFRESH) {
            return;
        }
        self.read_at = Some(now);
        let since = now - settings.window;
        let max = measured::MAX_SAMPLES as usize;
        // No decision holds the samples now: this changes them in place.
        let current = Arc::make_mut(&mut self.current);
        for s in self.pending.drain(..) {
            self.seq += 1;
            current.insert(&s.queue, s.priority, s.secs);
            self.in_use
                .entry((s.queue, s.priority))
                .or_default()
                .insert((s.at, self.seq), s.secs);
        }
        for ((queue, priority), samples) in &mut self.in_use {
            while samples
                .first_key_value()
                .is_some_and(|(k, _)| k.0 < since || samples.len() > max)
            {
                if let Some((_, secs)) = samples.pop_first() {
                    current.remove(queue, *priority, secs);
                }
            }
        }
    }

    fn push(&mut self, sample: Sample) {
        if self.settings.is_some() {
            self.pending.push(sample);
        }
    }
}

/// Recorded events decided again against a candidate pack. Feed it with [`Replay::feed`] in
/// the recorded order; [`Replay::finish`] gives the report.
pub struct Replay<'c> {
    config: &'c Config,
    options: Options,
    tickets: Vec<Tracked>,
    index: HashMap<String, usize>,
    due: BinaryHeap<Reverse<Due>>,
    seq: u64,
    /// Virtual time: the latest instant decided.
    clock: Option<DateTime<Utc>>,
    from: Option<DateTime<Utc>>,
    desk: Option<desk::Desk>,
    measured: MeasuredSamples,
    rules: HashMap<String, [u64; 2]>,
    breaches: BTreeMap<Metric, [u64; 2]>,
    assigned: BTreeMap<String, [u64; 2]>,
    queued: BTreeMap<String, [u64; 2]>,
    events: u64,
    decided: u64,
    recorded_timers: u64,
    timers_fired: u64,
    from_before: u64,
}

impl<'c> Replay<'c> {
    /// A replay against the candidate pack `config`.
    pub fn new(config: &'c Config, options: Options) -> Replay<'c> {
        let roster = config.roster();
        Replay {
            config,
            options,
            tickets: Vec::new(),
            index: HashMap::new(),
            due: BinaryHeap::new(),
            seq: 0,
            clock: None,
            from: None,
            desk: (!roster.agents.is_empty()).then(|| desk::Desk::new(roster)),
            measured: MeasuredSamples {
                settings: config.measured_response().copied(),
                ..MeasuredSamples::default()
            },
            rules: HashMap::new(),
            breaches: BTreeMap::new(),
            assigned: BTreeMap::new(),
            queued: BTreeMap::new(),
            events: 0,
            decided: 0,
            recorded_timers: 0,
            timers_fired: 0,
            from_before: 0,
        }
    }

    /// Takes the next recorded event: fires the candidate's timers due by its arrival, counts
    /// its recorded decision, and decides it with the candidate (unless it fires a timer of
    /// the old pack).
    pub fn feed(&mut self, rec: Recorded) {
        let Recorded {
            received_at: now,
            event,
            sent,
            mut decision,
        } = rec;
        self.fire_due(now);
        self.clock = Some(self.clock.map_or(now, |c| c.max(now)));
        self.from.get_or_insert(now);
        self.events += 1;
        let i = self.track(&event);
        let recorded_prior = self.tickets[i].recorded.as_ref().and_then(load_slot);
        if let Some(desk) = &mut self.desk {
            desk.observe(self.config.roster(), &decision, &recorded_prior);
        }
        if event.kind == EventType::TimerFired {
            self.recorded_timers += 1;
        } else {
            // The bots read the question when it was recorded: with the same bot, the
            // candidate answers from that reading.
            let readings = std::mem::take(&mut decision.trace.faq);
            self.decide(i, &event, Some(&sent), now, readings);
        }
        let Decision {
            actions,
            ticket,
            trace,
            routing,
            ..
        } = decision;
        if let Some(desk) = &mut self.desk {
            desk.recorded(&recorded_prior, &load_slot(&ticket), &routing.cursors);
        }
        self.count(&trace.fired, &actions, BEFORE);
        let t = &mut self.tickets[i];
        t.answered[BEFORE] |= faq_answered(&actions);
        t.before.extend(actions);
        t.recorded = Some(ticket);
    }

    /// Fires the candidate's timers due by the last arrival and gives the report.
    pub fn finish(mut self) -> ReplayReport {
        if let Some(end) = self.clock {
            self.fire_due(end);
        }
        let mut report = ReplayReport {
            from: self.from,
            to: self.clock,
            events: self.events,
            decided: self.decided,
            recorded_timers: self.recorded_timers,
            timers_fired: self.timers_fired,
            tickets: self.tickets.len() as u64,
            tickets_from_before: self.from_before,
            ..ReplayReport::default()
        };
        // The candidate's rules in order, then the other labels by name.
        let mut rules = std::mem::take(&mut self.rules);
        for name in self.config.rule_names() {
            let [before, after] = rules.remove(name).unwrap_or_default();
            report.rules.push(RuleCount {
                rule: name.to_string(),
                before,
                after,
            });
        }
        let mut rest: Vec<RuleCount> = rules
            .into_iter()
            .map(|(rule, [before, after])| RuleCount {
                rule,
                before,
                after,
            })
            .collect();
        rest.sort_by(|a, b| a.rule.cmp(&b.rule));
        report.rules.extend(rest);

        let mut priority: BTreeMap<Priority, [u64; 2]> = BTreeMap::new();
        let (mut kpi_tickets, mut answered) = (0, [0u64; 2]);
        for t in self.tickets {
            if let (Some(after), Some(before)) = (&t.ticket, &t.recorded) {
                if !crate::schedule::is_schedule_ticket(&t.id) {
                    kpi_tickets += 1;
                    priority.entry(before.priority).or_default()[BEFORE] += 1;
                    priority.entry(after.priority).or_default()[AFTER] += 1;
                    for side in [BEFORE, AFTER] {
                        answered[side] += u64::from(t.answered[side]);
                    }
                }
            }
            if t.before != t.after {
                report.changed_tickets += 1;
                if report.changed.len() < self.options.max_changed {
                    report.changed.push(ChangedTicket {
                        ticket: t.id,
                        before: t.before,
                        after: t.after,
                    });
                }
            }
        }
        let counts = |m: BTreeMap<String, [u64; 2]>| -> Vec<Count> {
            m.into_iter()
                .map(|(key, [before, after])| Count { key, before, after })
                .collect()
        };
        report.kpis = KpiDeltas {
            tickets: kpi_tickets,
            priority: Priority::ALL
                .iter()
                .rev()
                .map(|p| {
                    let [before, after] = priority.get(p).copied().unwrap_or_default();
                    Count {
                        key: p.name().to_string(),
                        before,
                        after,
                    }
                })
                .collect(),
            auto_answered: Share::new(kpi_tickets, answered[BEFORE], answered[AFTER]),
            sla_breaches: Metric::ALL
                .iter()
                .map(|m| {
                    let [before, after] = self.breaches.get(m).copied().unwrap_or_default();
                    Count {
                        key: m.name().to_string(),
                        before,
                        after,
                    }
                })
                .collect(),
            assignments: counts(self.assigned),
            queued: counts(self.queued),
        };
        report
    }

    /// The ticket of `event`, tracked from now on.
    fn track(&mut self, event: &Event) -> usize {
        if let Some(&i) = self.index.get(&event.ticket.id) {
            return i;
        }
        if event.kind != EventType::TicketCreated {
            self.from_before += 1;
        }
        let i = self.tickets.len();
        self.tickets.push(Tracked {
            id: event.ticket.id.clone(),
            ticket: None,
            recorded: None,
            pending: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
            answered: [false; 2],
        });
        self.index.insert(event.ticket.id.clone(), i);
        i
    }

    /// Fires, in due order, every candidate timer due by `until` that is still pending.
    fn fire_due(&mut self, until: DateTime<Utc>) {
        while self.due.peek().is_some_and(|Reverse(d)| d.at <= until) {
            let Some(Reverse(due)) = self.due.pop() else {
                break;
            };
            let t = &self.tickets[due.ticket];
            // A timer fires only while it is pending.
            let Some(p) = t.pending.iter().find(|p| p.id == due.id) else {
                continue;
            };
            let timer = TimerRef {
                id: p.id.clone(),
                name: p.name.clone(),
                due_at: p.due_at,
            };
            let (event, patch) = plan::timer_fired(&t.id, timer);
            let now = self.clock.map_or(due.at, |c| c.max(due.at));
            self.clock = Some(now);
            self.timers_fired += 1;
            self.decide(due.ticket, &event, Some(&patch), now, Vec::new());
        }
    }

    /// Decides `event` with the candidate on ticket `i` at `now` (with the bots' `readings`
    /// of its question when it was recorded) and takes in the decision.
    fn decide(
        &mut self,
        i: usize,
        event: &Event,
        sent: Option<&Value>,
        now: DateTime<Utc>,
        readings: Vec<crate::faq::Reading>,
    ) {
        self.measured.refresh(now);
        let config = self.config;
        let prior = self.tickets[i].ticket.take();
        let ev = plan::prepare(prior.as_ref(), event, sent);
        let slot = prior.as_ref().and_then(load_slot);
        let routing = match &self.desk {
            Some(desk) if !config.routing_need(ev.kind).is_empty() => desk.state_for(&slot),
            _ => Default::default(),
        };
        let ctx = Context {
            routing,
            measured: self.measured.current.clone(),
            csat_secret: self.options.csat_secret.clone(),
            prior,
            faq: readings,
        };
        let d = engine::decide_with(config, &ctx, &ev.ticket, &ev, now);
        let prior = ctx.prior;
        self.decided += u64::from(event.kind != EventType::TimerFired);

        for op in plan::timer_ops(&ev, &d) {
            self.timer_op(i, op);
        }
        if let Some(desk) = &mut self.desk {
            desk.candidate(&slot, &load_slot(&d.ticket), &d.routing.cursors);
        }
        let met_before = measured::first_response_met(prior.as_ref());
        if let Some(sample) = measured::sample(met_before, &d.ticket) {
            self.measured.push(sample);
        }
        self.count(&d.trace.fired, &d.actions, AFTER);
        let t = &mut self.tickets[i];
        t.answered[AFTER] |= faq_answered(&d.actions);
        t.after.extend(d.actions);
        t.ticket = Some(d.ticket);
    }

    /// Does what the decision says to ticket `i`'s timers, as the stores do in their tables.
    fn timer_op(&mut self, i: usize, op: TimerOp<'_>) {
        let pending = &mut self.tickets[i].pending;
        match op {
            TimerOp::Fire { id } => pending.retain(|p| p.id != id),
            TimerOp::CancelListening { kind } => pending.retain(|p| !p.cancel_on.contains(&kind)),
            TimerOp::CancelRuleTimers { spare } => pending.retain(|p| p.name.starts_with(spare)),
            TimerOp::CancelNamed { names } => pending.retain(|p| !names.contains(&p.name)),
            TimerOp::Start { id, timer } => {
                let TimerSpec {
                    name,
                    due_at,
                    cancel_on,
                    ..
                } = timer;
                self.seq += 1;
                self.due.push(Reverse(Due {
                    at: *due_at,
                    seq: self.seq,
                    ticket: i,
                    id: id.clone(),
                }));
                pending.push(Pending {
                    id,
                    name: name.clone(),
                    due_at: *due_at,
                    cancel_on: cancel_on.clone(),
                });
            }
        }
    }

    /// Counts the rules that fired, the SLA breaches and the assignments of one decision.
    fn count(&mut self, fired: &[String], actions: &[Action], side: usize) {
        for label in fired {
            match self.rules.get_mut(label) {
                Some(n) => n[side] += 1,
                None => {
                    let mut n = [0; 2];
                    n[side] = 1;
                    self.rules.insert(label.clone(), n);
                }
            }
            if let Some(metric) = crate::sla::breached_in(label) {
                self.breaches.entry(metric).or_default()[side] += 1;
            }
        }
        for a in actions {
            if let Action::Assign { to, team, .. } = a {
                let (counts, key) = match to {
                    AssignTarget::Agent(_) => (&mut self.assigned, team.as_deref().unwrap_or("-")),
                    AssignTarget::Group(g) => (&mut self.queued, team.as_deref().unwrap_or(g)),
                };
                match counts.get_mut(key) {
                    Some(n) => n[side] += 1,
                    None => {
                        let mut n = [0; 2];
                        n[side] = 1;
                        counts.insert(key.to_string(), n);
                    }
                }
            }
        }
    }
}

/// Whether the actions hold an FAQ answer: an answer tags the ticket `faq:<entry>`.
fn faq_answered(actions: &[Action]) -> bool {
    actions.iter().any(|a| match a {
        Action::AddTags { tags } => tags.iter().any(|t| t.starts_with("faq:")),
        _ => false,
    })
}
