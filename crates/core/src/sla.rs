//! SLA policies (`sla:` in rule files) and the clocks they run on a ticket.
//!
//! A policy has targets per priority for three metrics (first response, next response,
//! resolution), counted in a business calendar or in calendar time, paused while a condition
//! holds (`pause_when`), with warnings at percentages of the target (`warn_at`). The first
//! policy whose `when` holds applies.
//!
//! Everything here is pure: the engine passes the ticket, what the event says and `now`, and
//! gets the ticket's [`SlaState`] advanced, the durable timers for the next warning or breach
//! of each clock, and, when such a timer fires, the `sla.warning` / `sla.breached` event that
//! the rules then see. A timer is checked against the clock it was set for
//! ([`SlaClock::timer_at`]), so one that fires after its clock was met, paused or re-computed
//! does nothing.

use std::path::PathBuf;

use chrono::{DateTime, Duration, DurationRound, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::model::{
    Author, Event, EventType, Metric, Named, Priority, SlaClock, SlaState, Status, Ticket,
    TimerRef, TimerSpec,
};
use crate::rules::action::parse_duration;
use crate::rules::condition::{self, Cond, CondEnv};
use crate::syntax::decode::{index, join, Sites};
use crate::syntax::yaml::{Kind, Node, Pos};
use crate::time::hours::{WeekHours, Window};
use crate::time::{parse_business, BusinessSpan, Calendar, Calendars};

/// Keys of one policy under `sla:`.
pub const POLICY_KEYS: &[&str] = &[
    "name",
    "description",
    "when",
    "calendar",
    "first_response",
    "next_response",
    "resolution",
    "pause_when",
    "warn_at",
];

/// A compiled SLA policy.
#[derive(Debug)]
pub struct Policy {
    /// Unique name.
    pub name: String,
    /// Which tickets it applies to; `None` applies to all.
    pub when: Option<Cond>,
    /// Index of its business calendar in the pack; `None` counts calendar time.
    pub calendar: Option<usize>,
    /// Targets by metric (`Metric as usize`), then priority (`Priority as usize`).
    pub targets: [Option<[Option<BusinessSpan>; 4]>; 3],
    /// While this holds, the clocks do not count.
    pub pause_when: Option<Cond>,
    /// Warning percentages of the target, ascending, each below 100.
    pub warn_at: Vec<u32>,
    /// Where it is written.
    pub file: PathBuf,
    /// Its position.
    pub pos: Pos,
}

impl Policy {
    /// Whether the policy has targets for `m` at all.
    pub fn has(&self, m: Metric) -> bool {
        self.targets[m as usize].is_some()
    }

    /// The target for a metric and priority.
    pub fn target(&self, m: Metric, p: Priority) -> Option<BusinessSpan> {
        self.targets[m as usize].and_then(|t| t[p as usize])
    }
}

/// The SLA policies of a pack, in order.
#[derive(Debug)]
pub struct Policies {
    list: Vec<Policy>,
    /// The calendar of policies in calendar time: open around the clock, in UTC.
    always: Calendar,
}

impl Default for Policies {
    fn default() -> Self {
        let mut week = WeekHours::default();
        let whole = Window::parse("00:00-24:00").expect("a valid window");
        for day in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ] {
            week.set(day, vec![whole]).expect("one window");
        }
        Policies {
            list: Vec::new(),
            always: Calendar::new("none", Tz::UTC).with_week(week),
        }
    }
}

impl Policies {
    /// Adds a policy.
    pub fn push(&mut self, p: Policy) {
        self.list.push(p);
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The policies in order.
    pub fn iter(&self) -> impl Iterator<Item = &Policy> {
        self.list.iter()
    }

    /// The policy at an index (in matching order).
    pub fn at(&self, i: usize) -> &Policy {
        &self.list[i]
    }

    /// A policy by name.
    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.list.iter().find(|p| p.name == name)
    }

    /// The calendar a policy counts in (around the clock for calendar time).
    pub fn calendar<'a>(&'a self, p: &Policy, cals: &'a Calendars) -> &'a Calendar {
        match p.calendar {
            Some(i) => cals.at(i),
            None => &self.always,
        }
    }

    /// The first-response target of the policy the ticket is under, for its priority, with
    /// the calendar it counts in and whether that is calendar time.
    pub fn first_response<'a>(
        &'a self,
        ticket: &Ticket,
        cals: &'a Calendars,
    ) -> Option<(&'a Calendar, BusinessSpan, bool)> {
        let policy = self.get(&ticket.sla.as_ref()?.policy)?;
        let span = policy.target(Metric::FirstResponse, ticket.priority)?;
        Some((self.calendar(policy, cals), span, policy.calendar.is_none()))
    }
}

/// What an event tells the clocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// An agent wrote to the customer (bots and rule replies do not count).
    pub agent_reply: bool,
    /// The customer wrote.
    pub customer_message: bool,
    /// The event is the ticket's creation (`ticket.created`).
    pub created: bool,
}

impl Facts {
    /// The facts of an event: a `message.created` or `message.agent` with a message whose
    /// author is an agent is an agent reply; a `message.created` by the customer is a customer
    /// message.
    pub fn of(event: &Event) -> Facts {
        let author = event.message.as_ref().map(|m| m.author);
        let message_event = matches!(
            event.kind,
            EventType::MessageCreated | EventType::MessageAgent
        );
        Facts {
            agent_reply: message_event && author == Some(Author::Agent),
            customer_message: event.kind == EventType::MessageCreated
                && author == Some(Author::Customer),
            created: event.kind == EventType::TicketCreated,
        }
    }
}

fn secs(d: Duration) -> i64 {
    d.num_seconds().max(0)
}

/// Active time of a clock at `now`.
fn active(cal: &Calendar, c: &SlaClock, now: DateTime<Utc>) -> i64 {
    c.elapsed_secs
        + c.running_since
            .map_or(0, |s| secs(cal.business_duration(s, now)))
}

/// The moment `need` more seconds of active time have passed on a running clock.
fn after(cal: &Calendar, since: DateTime<Utc>, need: i64) -> Option<DateTime<Utc>> {
    cal.add(since, Duration::seconds(need.max(0)))
}

/// Rounded up to a whole second, as the stores keep timer times exactly at that precision.
fn ceil_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let step = Duration::seconds(1);
    match t.duration_trunc(step) {
        Ok(down) if down == t => t,
        Ok(down) => down + step,
        Err(_) => t,
    }
}

fn new_clock(start: DateTime<Utc>) -> SlaClock {
    SlaClock {
        started_at: start,
        target_secs: None,
        target_priority: None,
        elapsed_secs: 0,
        running_since: Some(start),
        due_at: None,
        paused_at: None,
        achieved_at: None,
        breached: false,
        breached_at: None,
        warned_pct: 0,
        timer_at: None,
    }
}

/// Stops the clock counting (paused or met) and adds the time it ran.
fn halt(cal: &Calendar, c: &mut SlaClock, now: DateTime<Utc>) {
    c.elapsed_secs = active(cal, c, now);
    c.running_since = None;
}

fn achieve(cal: &Calendar, c: &mut SlaClock, now: DateTime<Utc>) {
    halt(cal, c, now);
    c.paused_at = None;
    c.achieved_at = Some(now);
    // Met or missed by the time the event says it happened: a reply dated after the due time
    // is a breach though its timer has not fired yet, and one dated before it meets the clock
    // though the timer fired first (the webhook came late).
    if let Some(t) = c.target_secs {
        if c.elapsed_secs > t {
            if !c.breached {
                c.breached = true;
                c.breached_at = c.due_at.or(Some(now));
            }
        } else if c.breached {
            c.breached = false;
            c.breached_at = None;
        }
    }
}

/// Advances the ticket's SLA state: `matched` is the index of the policy that applies (none:
/// the ticket has no SLA), `paused` whether its `pause_when` holds, `facts` what the event
/// says (given once per decision, before the rules; `None` when re-synchronising after them).
pub fn sync(
    policies: &Policies,
    cals: &Calendars,
    ticket: &mut Ticket,
    matched: Option<usize>,
    paused: bool,
    facts: Option<Facts>,
    now: DateTime<Utc>,
) {
    let Some(i) = matched else {
        ticket.sla = None;
        return;
    };
    let policy = &policies.list[i];
    let cal = policies.calendar(policy, cals);
    // Clocks started on `ticket.created` count from the ticket's creation; a ticket first seen
    // on a later event (one older than the policies) starts its clocks then, rather than
    // breaching at once for time before frontdesk knew it.
    let start = match facts {
        Some(f) if f.created => ticket.created_at.filter(|t| *t <= now).unwrap_or(now),
        _ => now,
    };
    let solved = matches!(ticket.status, Status::Solved | Status::Closed);
    let priority = ticket.priority;
    let state = ticket.sla.get_or_insert_with(|| SlaState {
        policy: policy.name.clone(),
        ..SlaState::default()
    });
    let moved = state.policy != policy.name;
    if moved {
        state.policy = policy.name.clone();
    }
    for m in Metric::ALL.iter().copied() {
        let slot = state.clock_mut(m);
        if !policy.has(m) {
            *slot = None;
        } else if slot.is_none() && m != Metric::NextResponse {
            *slot = Some(new_clock(start));
        }
    }
    if let Some(f) = facts {
        if f.agent_reply {
            state.agent_replied_at = Some(now);
            for m in [Metric::FirstResponse, Metric::NextResponse] {
                if let Some(c) = state.clock_mut(m).as_mut().filter(|c| !c.is_achieved()) {
                    achieve(cal, c, now);
                }
            }
        }
        if f.customer_message
            && policy.has(Metric::NextResponse)
            && state.agent_replied_at.is_some()
            && state
                .next_response
                .as_ref()
                .is_none_or(SlaClock::is_achieved)
        {
            state.next_response = Some(new_clock(now));
        }
    }
    for m in Metric::ALL.iter().copied() {
        let Some(c) = state.clock_mut(m).as_mut() else {
            continue;
        };
        let counted = (c.running_since, c.elapsed_secs, c.target_secs);
        // Targets follow the priority (and the policy); a target in business days becomes,
        // from the clock's start, the open time until the same local time on that open day.
        if moved || c.target_priority != Some(priority) {
            c.target_secs = policy.target(m, priority).and_then(|span| {
                let end = cal.add_span(c.started_at, span)?;
                Some(secs(cal.business_duration(c.started_at, end)))
            });
            c.target_priority = Some(priority);
        }
        if m == Metric::Resolution {
            if solved && !c.is_achieved() {
                achieve(cal, c, now);
            } else if !solved && c.is_achieved() {
                // Reopened: the resolution clock goes on from where it stopped.
                c.achieved_at = None;
                c.running_since = Some(now);
            }
        }
        if c.is_achieved() {
            continue;
        }
        let hold = paused || (solved && m != Metric::Resolution);
        if hold && c.is_running() {
            halt(cal, c, now);
            c.paused_at = Some(now);
        } else if !hold && c.is_paused() {
            c.paused_at = None;
            c.running_since = Some(now);
        }
        // The due time moves only when what it is counted from does.
        if (c.running_since, c.elapsed_secs, c.target_secs) != counted || c.due_at.is_none() {
            c.due_at = match (c.running_since, c.target_secs) {
                // Never paused: the moment a timer of that business time would fire (for
                // business days, the same local time on that day, not the closing time
                // before it that has the same open time).
                (Some(since), Some(_)) if since == c.started_at && c.elapsed_secs == 0 => policy
                    .target(m, priority)
                    .and_then(|span| cal.add_span(since, span)),
                (Some(since), Some(t)) => after(cal, since, t - c.elapsed_secs),
                _ => None,
            };
        }
    }
}

/// An SLA timer that fired for a live clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// `sla.warning` or `sla.breached`.
    pub kind: EventType,
    /// Which clock.
    pub metric: Metric,
    /// The policy.
    pub policy: String,
    /// Percentage of the target used: the warning's threshold, or the measured share at
    /// a breach.
    pub percent: u32,
    /// The clock's due time.
    pub due_at: Option<DateTime<Utc>>,
}

impl Fired {
    /// The event the rules see: the timer's event with the SLA type and details in `data`
    /// (`metric`, `policy`, `percent`, `due_at`).
    pub fn event(&self, timer_event: &Event) -> Event {
        let mut e = timer_event.clone();
        e.kind = self.kind;
        let mut data = serde_json::Map::new();
        data.insert("metric".into(), Value::from(self.metric.name()));
        data.insert("policy".into(), Value::from(self.policy.clone()));
        data.insert("percent".into(), Value::from(self.percent));
        data.insert(
            "due_at".into(),
            self.due_at.map_or(Value::Null, |t| json!(t)),
        );
        e.data = data;
        e
    }

    /// How the trace names it (`sla first_response breached`).
    pub fn label(&self) -> String {
        match self.kind {
            EventType::SlaWarning => format!("sla {} warning {}%", self.metric, self.percent),
            _ => format!("sla {} breached", self.metric),
        }
    }
}

/// The clock whose breach a trace label names ([`Fired::label`]): `sla first_response
/// breached` → first response; any other label → `None`.
pub fn breached_in(label: &str) -> Option<Metric> {
    let metric = label.strip_prefix("sla ")?.strip_suffix(" breached")?;
    <Metric as crate::model::Named>::parse(metric)
}

/// Fires the SLA timer of `metric` due at `timer.due_at`: marks the warning or breach on the
/// ticket's clock and says what happened. `Err` explains why the timer no longer applies
/// (the clock was met, paused or re-computed since it was set).
pub fn fire(
    policies: &Policies,
    cals: &Calendars,
    ticket: &mut Ticket,
    metric: Metric,
    timer: &TimerRef,
    now: DateTime<Utc>,
) -> Result<Option<Fired>, String> {
    let stale = |why: &str| Err(format!("SLA timer for {metric}: {why}; nothing to do"));
    let Some(state) = ticket.sla.as_mut() else {
        return stale("the ticket has no SLA clocks");
    };
    let Some(policy) = policies.get(&state.policy) else {
        return stale(&format!(
            "policy `{}` is not in the current rules",
            state.policy
        ));
    };
    let cal = policies.calendar(policy, cals);
    let name = state.policy.clone();
    let Some(c) = state.clock_mut(metric).as_mut() else {
        return stale("the policy has no such clock");
    };
    if c.timer_at != Some(timer.due_at) {
        return stale("the clock was met, paused or re-computed since the timer was set");
    }
    c.timer_at = None;
    let (Some(target), true, false) = (c.target_secs, c.is_running(), c.breached) else {
        return stale("the clock is not running");
    };
    let used = active(cal, c, now);
    let percent = |n: i64| u32::try_from(n * 100 / target.max(1)).unwrap_or(u32::MAX);
    if used >= target {
        c.breached = true;
        c.breached_at = c.due_at;
        c.warned_pct = c
            .warned_pct
            .max(policy.warn_at.last().copied().unwrap_or(0));
        return Ok(Some(Fired {
            kind: EventType::SlaBreached,
            metric,
            policy: name,
            percent: percent(used),
            due_at: c.due_at,
        }));
    }
    let passed = policy
        .warn_at
        .iter()
        .copied()
        .filter(|w| *w > c.warned_pct && used * 100 >= target * i64::from(*w))
        .max();
    Ok(passed.map(|w| {
        c.warned_pct = w;
        Fired {
            kind: EventType::SlaWarning,
            metric,
            policy: name,
            percent: w,
            due_at: c.due_at,
        }
    }))
}

/// What the pending timer of `clock` due at `due_at` will announce when it fires: the breach
/// when it is due at or after the clock's due time, a warning before that (as [`fire`] decides
/// at the timer's time). `None` when the clock no longer waits for that timer (it was met,
/// paused or re-computed since, or is breached already): firing it will do nothing.
pub fn announces(clock: &SlaClock, due_at: DateTime<Utc>) -> Option<EventType> {
    if clock.timer_at != Some(due_at) || !clock.is_running() || clock.breached {
        return None;
    }
    Some(match clock.due_at {
        Some(due) if due_at >= due => EventType::SlaBreached,
        _ => EventType::SlaWarning,
    })
}

/// When a running clock next needs a timer: its next warning, else its breach.
fn next_moment(policy: &Policy, cal: &Calendar, c: &SlaClock) -> Option<DateTime<Utc>> {
    let since = c.running_since?;
    let target = c.target_secs?;
    if c.breached {
        return None;
    }
    match policy.warn_at.iter().find(|w| **w > c.warned_pct) {
        Some(w) => {
            let need = (target * i64::from(*w) + 99) / 100 - c.elapsed_secs;
            after(cal, since, need).map(ceil_second)
        }
        None => c.due_at.map(ceil_second),
    }
}

/// The timers the clocks need after a decision: for each clock whose next warning or breach
/// moved, a timer named after its metric (which replaces the pending one of that name), or
/// its name in `cancel` when it needs none any more. `before` is the state the decision
/// started from.
pub fn timers(
    policies: &Policies,
    cals: &Calendars,
    ticket: &mut Ticket,
    before: Option<&SlaState>,
    out: &mut Vec<TimerSpec>,
    cancel: &mut Vec<String>,
) {
    let policy = ticket.sla.as_ref().and_then(|s| policies.get(&s.policy));
    for m in Metric::ALL.iter().copied() {
        let clock = ticket.sla.as_mut().and_then(|s| s.clock_mut(m).as_mut());
        let (next, had) = match (clock, policy) {
            // Unchanged since the decision started: its timer (if any) is still the right one.
            (Some(c), Some(_)) if before.and_then(|s| s.clock(m)) == Some(&*c) => continue,
            (Some(c), Some(p)) => {
                let next = next_moment(p, policies.calendar(p, cals), c);
                let had = c.timer_at;
                c.timer_at = next;
                (next, had)
            }
            _ => (
                None,
                before.and_then(|s| s.clock(m)).and_then(|c| c.timer_at),
            ),
        };
        if next == had {
            continue;
        }
        match (next, policy) {
            (Some(due_at), Some(p)) => out.push(TimerSpec {
                name: m.timer_name().to_string(),
                rule: format!("sla {}", p.name),
                due_at,
                cancel_on: Vec::new(),
            }),
            _ => {
                if had.is_some() {
                    cancel.push(m.timer_name().to_string());
                }
            }
        }
    }
}

/// Compiles `sla:` of one file: a list of policies.
pub(crate) fn compile(c: &mut dyn CondEnv<'_>, node: &Node, names: &mut Sites) -> Vec<Policy> {
    let Some(items) = c.cx().seq(node, "sla") else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| policy(c, item, &index("sla", i), names))
        .collect()
}

fn policy(c: &mut dyn CondEnv<'_>, node: &Node, path: &str, names: &mut Sites) -> Option<Policy> {
    let f = c.cx().map(node, path, POLICY_KEYS)?;
    let name = match f.get("name") {
        Some(n) => c.cx().nonempty_text(n, &join(path, "name")),
        None => {
            c.cx().missing(&f, path, "name");
            None
        }
    };
    if let (Some(name), Some(n)) = (&name, f.get("name")) {
        names.claim(c.cx(), "SLA policy", name, n.pos, &join(path, "name"));
    }
    if let Some(d) = f.get("description") {
        c.cx().text(d, &join(path, "description"));
    }
    let when = match f.get("when") {
        Some(w) => condition::compile(c, w, &join(path, "when")).map(Some),
        None => Some(None),
    };
    let pause_when = match f.get("pause_when") {
        Some(w) => condition::compile(c, w, &join(path, "pause_when")).map(Some),
        None => Some(None),
    };
    // `calendar: none` (or no calendar) counts calendar time.
    let calendar = match f.get("calendar") {
        Some(n) if matches!(&n.kind, Kind::Str(s) if s == "none") => Some(None),
        Some(n) => c.calendar_ref(n, &join(path, "calendar")).map(Some),
        None => Some(None),
    };
    let business = f
        .get("calendar")
        .is_some_and(|n| !matches!(&n.kind, Kind::Str(s) if s == "none"));
    let mut targets = [None; 3];
    let mut ok = true;
    for m in Metric::ALL.iter().copied() {
        if let Some(t) = f.get(m.name()) {
            match target_table(c, t, &join(path, m.name()), business) {
                Some(t) => targets[m as usize] = Some(t),
                None => ok = false,
            }
        }
    }
    if ok && targets.iter().all(Option::is_none) {
        c.cx().error(
            f.pos,
            path,
            "an SLA policy needs at least one of `first_response`, `next_response`, `resolution`",
        );
        ok = false;
    }
    let warn_at = match f.get("warn_at") {
        Some(w) => percentages(c, w, &join(path, "warn_at")),
        None => Some(Vec::new()),
    };
    let (name, when, pause_when, calendar, warn_at) =
        (name?, when?, pause_when?, calendar?, warn_at?);
    ok.then(|| Policy {
        name,
        when,
        calendar,
        targets,
        pause_when,
        warn_at,
        file: c.cx().file.to_path_buf(),
        pos: node.pos,
    })
}

/// `{ urgent: 30m, normal: 4h }`: a target per priority; priorities left out have none.
fn target_table(
    c: &mut dyn CondEnv<'_>,
    node: &Node,
    path: &str,
    business: bool,
) -> Option<[Option<BusinessSpan>; 4]> {
    let names = Priority::names();
    let f = c.cx().map_with(node, path, &names, "priority")?;
    if f.len() == 0 {
        if matches!(&node.kind, Kind::Map(p) if p.is_empty()) {
            c.cx().error(
                node.pos,
                path,
                "needs a target for at least one priority (low, normal, high, urgent)",
            );
        }
        return None;
    }
    let mut out = [None; 4];
    let mut ok = true;
    for (key, _, v) in f.iter() {
        let p = join(path, key);
        let Some(text) = c.cx().text(v, &p) else {
            ok = false;
            continue;
        };
        let span = if business {
            parse_business(&text)
        } else {
            parse_duration(&text).map(BusinessSpan::time)
        };
        match span {
            Ok(span) => out[Priority::parse(key).expect("keys are checked") as usize] = Some(span),
            Err(e) => {
                c.cx().error(v.pos, &p, e);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `80%` or `[50%, 80%]`: ascending, distinct, between 1% and 99%.
fn percentages(c: &mut dyn CondEnv<'_>, node: &Node, path: &str) -> Option<Vec<u32>> {
    let single = !matches!(node.kind, Kind::Seq(_));
    let mut out: Vec<u32> = Vec::new();
    let mut ok = true;
    for (i, item) in c.cx().list(node).into_iter().enumerate() {
        let p = if single {
            path.to_string()
        } else {
            index(path, i)
        };
        let text = item.scalar_text().unwrap_or_default();
        let parsed = text
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<u32>().ok());
        match parsed {
            Some(n) if (1..=99).contains(&n) => {
                if out.contains(&n) {
                    c.cx().error(item.pos, &p, format!("{n}% is listed twice"));
                    ok = false;
                } else {
                    out.push(n);
                }
            }
            Some(n) => {
                c.cx().error(
                    item.pos,
                    &p,
                    format!(
                        "warning at {n}% is out of range: write 1% to 99% (100% is the breach)"
                    ),
                );
                ok = false;
            }
            None => {
                c.cx().error(
                    item.pos,
                    &p,
                    format!(
                        "expected a percentage of the target such as `80%`, found `{}`",
                        item.scalar_text()
                            .unwrap_or_else(|| item.type_name().to_string())
                    ),
                );
                ok = false;
            }
        }
    }
    out.sort_unstable();
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breach_label_names_its_clock() {
        for metric in [
            Metric::FirstResponse,
            Metric::NextResponse,
            Metric::Resolution,
        ] {
            let fired = |kind| Fired {
                kind,
                metric,
                policy: "p".into(),
                percent: 80,
                due_at: None,
            };
            assert_eq!(
                breached_in(&fired(EventType::SlaBreached).label()),
                Some(metric)
            );
            assert_eq!(breached_in(&fired(EventType::SlaWarning).label()), None);
        }
        assert_eq!(breached_in("sla nothing breached"), None);
        assert_eq!(breached_in("outage is urgent"), None);
    }
}
