//! [`decide`]: the pure decision function. Given a compiled [`Config`], the ticket, the event
//! and the time, it returns what to do. No I/O, no clock, no randomness: the same inputs give
//! the same decision, which is what makes rules testable and events replayable.

use std::borrow::Cow;
use std::cell::RefCell;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{Config, Diagnostics};
use crate::model::{Action, AssignTarget, Event, EventType, Metric, Ticket, TimerSpec};
use crate::routing::{
    self, Otherwise, Queued, RouteEnv, RoutingEffects, RoutingState, RoutingTrace,
};
use crate::rules::action::{self, ActionDef, ActionEnv, TimerDef, When};
use crate::rules::condition::Failure;
use crate::rules::field::TextSlot;
use crate::rules::forms::FormLang;
use crate::rules::some_fields::SomeFields;
use crate::rules::template::{Reads, TextDef, RESPONSE_NAMES};
use crate::rules::text::{fold_into, BitSet, Scratch};
use crate::rules::{script, Asked, RuleError, Scope, Texts};
use crate::sla::{self, Facts};
use crate::syntax::decode::Cx;
use crate::syntax::yaml::{Node, Pos};
use crate::time::{expected_response, BusinessSpan, Calendar, Expected, Lang};

/// What frontdesk decided for one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    /// The event decided.
    pub event_id: String,
    /// Actions, in the order rules produced them.
    pub actions: Vec<Action>,
    /// The ticket after the actions.
    pub ticket: Ticket,
    /// Timers started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timers: Vec<TimerSpec>,
    /// Names of the ticket's pending timers to cancel: SLA clocks that were met, paused or
    /// stopped and need no warning or breach any more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled_timers: Vec<String>,
    /// Which rules fired (and, when explained, why the others did not).
    pub trace: Trace,
    /// Round-robin cursors moved and the team queue the ticket waits in; the store commits
    /// them with the decision.
    #[serde(default, skip_serializing_if = "RoutingEffects::is_empty")]
    pub routing: RoutingEffects,
    /// The KPI facts the decision leaves (written with it; not part of the answer).
    #[serde(skip)]
    #[schemars(skip)]
    pub kpi: Vec<crate::kpi::Fact>,
    /// For each name in `trace.fired`, the range of `actions` it produced (for the audit log,
    /// which shows each rule with its own actions; not part of the answer).
    #[serde(skip)]
    #[schemars(skip)]
    pub fired_actions: Vec<std::ops::Range<usize>>,
}

impl Decision {
    /// Each rule that fired with the actions it produced, in order. A decision read back from
    /// JSON no longer knows which rule produced what: each rule is then given every action.
    pub fn actions_by_rule(&self) -> impl Iterator<Item = (&str, &[Action])> {
        let known = self.fired_actions.len() == self.trace.fired.len();
        self.trace.fired.iter().enumerate().map(move |(i, rule)| {
            let actions = match self.fired_actions.get(i) {
                Some(r) if known => self.actions.get(r.clone()).unwrap_or(&[]),
                _ => &self.actions[..],
            };
            (rule.as_str(), actions)
        })
    }
}

/// What a decision may read besides the config, the ticket and the event: state the shell
/// loads inside the store's transaction. [`decide`] uses an empty one.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Agents' statuses and loads, and the round-robin cursors.
    pub routing: RoutingState,
    /// Recent measured first responses (read with `settings.measured_response`).
    pub measured: std::sync::Arc<crate::measured::Measured>,
    /// The key survey links are signed with; without it surveys offer no links.
    pub csat_secret: Option<crate::csat::Secret>,
    /// The ticket as the store held it before the event (`None`: first seen), for the KPI
    /// facts ([`crate::kpi::settle`]).
    pub prior: Option<Ticket>,
    /// FAQ bots' readings of this event's question made before (its recorded decision's
    /// `trace.faq`): a bot with the same fingerprint answers the same question from them
    /// instead of reading it again. Empty in the daemon; a what-if replay passes them.
    pub faq: Vec<crate::faq::Reading>,
}

/// How the rules went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trace {
    /// The hash of the pack that decided (`GET /v1/admin/config`'s `hash`), when the pack was
    /// loaded by the daemon; absent in decisions stored before packs were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    /// Names of the rules that fired, in order.
    pub fired: Vec<String>,
    /// Every rule with its outcome (only when explained).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleTrace>,
    /// Problems met (failing scripts or templates); the other rules still ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RuleError>,
    /// Every team assignment: the agents considered and why each was passed over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<RoutingTrace>,
    /// With `settings.measured_response`: what the recent first responses said about the
    /// expected response promised, and whether it was promised instead of the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_response: Option<crate::measured::MeasuredTrace>,
    /// A rating met by this event (`csat.received`, or a customer's answer to a pending
    /// survey): whether it was recorded, and why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csat: Option<crate::csat::CsatTrace>,
    /// How each FAQ bot the rules asked (`intent`, `answer_faq`) read the customer's
    /// question: its first entries and confidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faq: Vec<crate::faq::Reading>,
    /// Keywords found in the texts through a word form, not as written (only when explained).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<KeywordForm>,
}

/// A keyword found through one of its word forms: `refund` as `refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeywordForm {
    /// The text it was found in (`text`, `message.text`, `ticket.subject`).
    pub field: String,
    /// The keyword, folded.
    pub keyword: String,
    /// The words of the text that matched it, folded.
    pub found: String,
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuleTrace {
    /// Rule name.
    pub rule: String,
    /// What happened.
    pub outcome: Outcome,
    /// Conditions that did not hold, with the values seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<TraceFailure>,
    /// Kinds of the actions it produced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}

/// A condition that did not hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceFailure {
    /// Where the condition is written (`when.any[0]`).
    pub path: String,
    /// The condition.
    pub condition: String,
    /// The value it saw.
    pub actual: Value,
}

/// The outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Conditions held; actions ran.
    Matched,
    /// A condition did not hold.
    NotMatched,
    /// It does not listen to this event type.
    OtherEvent,
    /// `enabled: false`.
    Disabled,
    /// An earlier rule with `stop: true` fired.
    Stopped,
}

/// Decides an event: the actions, the ticket after them, the timers, and which rules fired.
///
/// `ticket` is the ticket as it is now (the shell merges the event's view into its stored
/// state); rules see it changed by earlier rules as they go.
pub fn decide(config: &Config, ticket: &Ticket, event: &Event, now: DateTime<Utc>) -> Decision {
    run(config, &EMPTY, ticket, event, now, false)
}

/// Like [`decide`], with every rule in the trace and, for those that did not match, the
/// conditions that failed and the values they saw.
pub fn explain(config: &Config, ticket: &Ticket, event: &Event, now: DateTime<Utc>) -> Decision {
    run(config, &EMPTY, ticket, event, now, true)
}

/// [`decide`] with the routing state: who is online, their loads, the round-robin cursors.
pub fn decide_with(
    config: &Config,
    ctx: &Context,
    ticket: &Ticket,
    event: &Event,
    now: DateTime<Utc>,
) -> Decision {
    run(config, ctx, ticket, event, now, false)
}

/// [`explain`] with the routing state.
pub fn explain_with(
    config: &Config,
    ctx: &Context,
    ticket: &Ticket,
    event: &Event,
    now: DateTime<Utc>,
) -> Decision {
    run(config, ctx, ticket, event, now, true)
}

static EMPTY: std::sync::LazyLock<Context> = std::sync::LazyLock::new(Context::default);

/// Working state of one decision.
struct Work<'c> {
    config: &'c Config,
    ctx: &'c Context,
    routing: RoutingEffects,
    routing_trace: Vec<RoutingTrace>,
    event: &'c Event,
    now: DateTime<Utc>,
    /// When the event happened ([`crate::kpi::event_time`]): SLA clocks count to it.
    at: DateTime<Utc>,
    ticket: Ticket,
    actions: Vec<Action>,
    timers: Vec<TimerSpec>,
    cancelled: Vec<String>,
    errors: RefCell<Vec<RuleError>>,
    script_scope: RefCell<Option<rhai::Scope<'static>>>,
    asked: Asked,
    measured_trace: RefCell<Option<crate::measured::MeasuredTrace>>,
    /// Per name in `trace.fired`, the actions it produced.
    fired_actions: Vec<std::ops::Range<usize>>,
}

/// The languages whose word forms a message's keywords match in: its tag's, or the pack's
/// languages when it has none; none for a tag with no stemmer (whole words only).
fn keyword_languages<'c>(
    config: &'c Config,
    ticket: &Ticket,
    event: &Event,
) -> Cow<'c, [FormLang]> {
    let tag = ticket
        .customer
        .language
        .as_deref()
        .or_else(|| event.message.as_ref()?.language.as_deref());
    match tag {
        Some(tag) => Cow::Owned(FormLang::from_tag(tag).into_iter().collect()),
        None => Cow::Borrowed(&config.untagged_languages),
    }
}

fn fold_texts(config: &Config, ticket: &Ticket, event: &Event, explain: bool) -> Texts {
    let message = event.message.as_ref().map_or("", |m| m.text.as_str());
    let mut both = String::with_capacity(ticket.subject.len() + message.len() + 1);
    both.push_str(&ticket.subject);
    if !ticket.subject.is_empty() && !message.is_empty() {
        both.push(' ');
    }
    both.push_str(message);
    let mut texts = Texts {
        both,
        hits: std::array::from_fn(|_| BitSet::new(config.keywords.len())),
        forms: Vec::new(),
    };
    let langs = if config.keywords.has_forms() {
        keyword_languages(config, ticket, event)
    } else {
        Cow::Borrowed(&[][..])
    };
    let mut folded = String::new();
    let mut scratch = Scratch::default();
    let mut forms = Vec::new();
    for (slot, raw) in [
        (TextSlot::Subject, ticket.subject.as_str()),
        (TextSlot::Message, message),
        (TextSlot::Both, texts.both.as_str()),
    ] {
        if config.slot_used(slot) {
            fold_into(raw, &mut folded);
            config.keywords.scan(
                &folded,
                &langs,
                &mut texts.hits[slot as usize],
                &mut scratch,
                explain.then_some(&mut forms),
            );
            texts.forms.extend(forms.drain(..).map(|f| (slot, f)));
        }
    }
    texts
}

fn run(
    config: &Config,
    ctx: &Context,
    ticket: &Ticket,
    event: &Event,
    now: DateTime<Utc>,
    explain: bool,
) -> Decision {
    let texts = fold_texts(config, ticket, event, explain);
    let at = crate::kpi::event_time(event, now);
    // A schedule's own ticket (`schedule:NAME`) is no customer's: it runs no SLA clocks.
    let sla_on = (!config.sla.is_empty() || ticket.sla.is_some())
        && !crate::schedule::is_schedule_ticket(&ticket.id);
    let mut working = ticket.clone();
    let mut early_errors = Vec::new();
    // An SLA timer: check it against the clock it was set for; if it still applies, the
    // rules see the `sla.warning` / `sla.breached` event it stands for.
    let sla_timer = match (&event.kind, &event.timer) {
        (EventType::TimerFired, Some(t)) => Metric::from_timer_name(&t.name).map(|m| (m, t)),
        _ => None,
    };
    let mut sla_fired = None;
    if let Some((metric, timer)) = sla_timer {
        match sla::fire(
            &config.sla,
            &config.calendars,
            &mut working,
            metric,
            timer,
            // What a late timer announces is what the clock shows when it fires: after
            // downtime, the breach once rather than every warning missed on the way.
            now,
        ) {
            Ok(fired) => sla_fired = fired,
            Err(message) => early_errors.push(RuleError {
                rule: format!("timer {}", timer.name),
                path: String::new(),
                message,
            }),
        }
    }
    let sla_event = sla_fired.as_ref().map(|f| f.event(event));
    // A rating goes on the ticket before the rules, which see `csat.received` (also for a
    // customer's message that answers a pending survey); a refused one runs no rule.
    let csat = crate::csat::receive(&mut working, event, now);
    let csat_event = csat.as_ref().and_then(|c| c.event.clone());
    let csat_refused = csat.as_ref().is_some_and(crate::csat::Received::refused);
    let mut work = Work {
        config,
        ctx,
        routing: RoutingEffects::default(),
        routing_trace: Vec::new(),
        event: sla_event.as_ref().or(csat_event.as_ref()).unwrap_or(event),
        now,
        at,
        ticket: working,
        actions: Vec::new(),
        timers: Vec::new(),
        cancelled: Vec::new(),
        errors: RefCell::new(early_errors),
        script_scope: RefCell::new(None),
        asked: Asked::reusing(ctx.faq.clone()),
        measured_trace: RefCell::new(None),
        fired_actions: Vec::new(),
    };
    let mut trace = Trace {
        pack: config.pack.clone(),
        keywords: texts
            .forms
            .iter()
            .map(|(slot, f)| KeywordForm {
                field: slot.field_path().to_string(),
                keyword: config.keywords.pattern(f.keyword).to_string(),
                found: f.found.clone(),
            })
            .collect(),
        ..Trace::default()
    };
    if let Some(f) = &sla_fired {
        trace.fired.push(f.label());
        work.fired_actions.push(0..0);
        if explain {
            trace.rules.push(RuleTrace {
                rule: f.label(),
                outcome: Outcome::Matched,
                failed: Vec::new(),
                actions: Vec::new(),
            });
        }
    }
    if sla_on {
        work.sla_sync(
            &texts,
            Some(Facts::of(csat_event.as_ref().unwrap_or(event))),
        );
    }
    let event = work.event;

    if event.kind == EventType::TimerFired && sla_timer.is_none() {
        if let Some(timer) = &event.timer {
            let label = format!("timer {}", timer.name);
            match config.timers.get(&timer.name) {
                Some(def) => work.run_then(&def.then, label, &mut trace, explain),
                None => work.errors.borrow_mut().push(RuleError {
                    rule: label,
                    path: String::new(),
                    message: format!(
                        "no `schedule` named `{}` in the current rules; the timer did nothing",
                        timer.name
                    ),
                }),
            }
        }
    }

    if event.kind == EventType::AgentAvailable {
        work.assign_queued(&mut trace, explain);
    }

    // A cron schedule's occurrence: its actions, then the rules listening to `schedule.tick`.
    if event.kind == EventType::ScheduleTick {
        if let Some(name) = event.data.get("schedule").and_then(Value::as_str) {
            let label = format!("schedule {name}");
            match config.schedule(name) {
                Some(def) => work.run_then(&def.then, label, &mut trace, explain),
                None => work.errors.borrow_mut().push(RuleError {
                    rule: label,
                    path: String::new(),
                    message: format!(
                        "no schedule named `{name}` in the current rules; the occurrence did nothing"
                    ),
                }),
            }
        }
    }

    // Candidate rules: those listening to this event whose keywords (if they need any) occur.
    let listening = &config.listening[event.kind as usize];
    let mut candidates = listening.clone();
    if !explain {
        candidates.difference_with(&config.gated);
        for slot in [TextSlot::Subject, TextSlot::Message, TextSlot::Both] {
            for kw in texts.hits[slot as usize].iter() {
                for &r in &config.gates[slot as usize][kw] {
                    if listening.contains(r as usize) {
                        candidates.insert(r as usize);
                    }
                }
            }
        }
    }

    let mut stopped = false;
    let rules = if csat_refused {
        &[][..]
    } else {
        &config.rules[..]
    };
    for (i, rule) in rules.iter().enumerate() {
        if !explain && !candidates.contains(i) {
            continue;
        }
        let skip = if stopped {
            Some(Outcome::Stopped)
        } else if !rule.enabled {
            Some(Outcome::Disabled)
        } else if rule.on & event.kind.bit() == 0 {
            Some(Outcome::OtherEvent)
        } else {
            None
        };
        if let Some(outcome) = skip {
            if explain {
                trace.rules.push(RuleTrace {
                    rule: rule.name.clone(),
                    outcome,
                    failed: Vec::new(),
                    actions: Vec::new(),
                });
            }
            continue;
        }
        let mut failures: Vec<Failure> = Vec::new();
        let held = match &rule.when {
            None => true,
            Some(cond) => {
                let scope = Scope {
                    ticket: &work.ticket,
                    event,
                    now,
                    texts: &texts,
                    scripts: &config.scripts,
                    calendars: &config.calendars,
                    script_scope: &work.script_scope,
                    errors: &work.errors,
                    rule: &rule.name,
                    bots: &config.bots,
                    asked: &work.asked,
                };
                cond.eval(&scope, explain.then_some(&mut failures))
            }
        };
        if !held {
            if explain {
                trace.rules.push(RuleTrace {
                    rule: rule.name.clone(),
                    outcome: Outcome::NotMatched,
                    failed: failures
                        .into_iter()
                        .map(|f| TraceFailure {
                            path: f.path,
                            condition: f.condition,
                            actual: f.actual,
                        })
                        .collect(),
                    actions: Vec::new(),
                });
            }
            continue;
        }
        let before = work.actions.len();
        for (j, a) in rule.then.iter().enumerate() {
            work.apply(a, &rule.name, &format!("then[{j}]"));
        }
        trace.fired.push(rule.name.clone());
        work.fired_actions.push(before..work.actions.len());
        if explain {
            trace.rules.push(RuleTrace {
                rule: rule.name.clone(),
                outcome: Outcome::Matched,
                failed: Vec::new(),
                actions: work.actions[before..]
                    .iter()
                    .map(|a| a.kind().to_string())
                    .collect(),
            });
        }
        if rule.stop {
            stopped = true;
            if !explain {
                break;
            }
        }
    }
    if sla_on {
        work.sla_sync(&texts, None);
        sla::timers(
            &config.sla,
            &config.calendars,
            &mut work.ticket,
            ticket.sla.as_ref(),
            &mut work.timers,
            &mut work.cancelled,
        );
    }
    trace.errors = work.errors.into_inner();
    trace.routing = work.routing_trace;
    trace.measured_response = work.measured_trace.into_inner();
    trace.csat = csat.map(|c| c.trace);
    trace.faq = work.asked.into_readings();
    let mut ticket = work.ticket;
    let kpi = crate::kpi::settle(ctx.prior.as_ref(), event, &mut ticket, &work.actions, at);
    Decision {
        event_id: event.id.clone(),
        actions: work.actions,
        ticket,
        timers: work.timers,
        cancelled_timers: work.cancelled,
        trace,
        routing: work.routing,
        kpi,
        fired_actions: work.fired_actions,
    }
}

impl Work<'_> {
    /// Records that `label` fired with the actions from index `before` on (all of them in the
    /// trace when explained).
    fn record_fired(&mut self, trace: &mut Trace, label: String, before: usize, explain: bool) {
        trace.fired.push(label.clone());
        self.fired_actions.push(before..self.actions.len());
        if explain {
            trace.rules.push(RuleTrace {
                rule: label,
                outcome: Outcome::Matched,
                failed: Vec::new(),
                actions: self.actions[before..]
                    .iter()
                    .map(|a| a.kind().to_string())
                    .collect(),
            });
        }
    }

    /// Runs the actions of a fired timer or a schedule occurrence, as if a rule named `label`
    /// had matched.
    fn run_then(&mut self, then: &[ActionDef], label: String, trace: &mut Trace, explain: bool) {
        let before = self.actions.len();
        for (i, a) in then.iter().enumerate() {
            self.apply(a, &label, &format!("then[{i}]"));
        }
        self.record_fired(trace, label, before, explain);
    }

    /// `agent.available`: tries again the `assign` action that queued the ticket (named by
    /// `event.data` `team`, `rule` and `action`), or the team's default when that rule is gone.
    fn assign_queued(&mut self, trace: &mut Trace, explain: bool) {
        let data = &self.event.data;
        let text = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
        let label = "agent.available".to_string();
        let Some(team_id) = text("team") else {
            self.error(
                &label,
                "event.data.team",
                "`agent.available` names no team; nothing to assign".into(),
            );
            return;
        };
        let Some(team) = self.config.roster.team_index(&team_id) else {
            self.error(
                &label,
                "event.data.team",
                format!("no team `{team_id}` in the current rules"),
            );
            return;
        };
        if self.ticket.assignee.is_some()
            || matches!(
                self.ticket.status,
                crate::model::Status::Solved | crate::model::Status::Closed
            )
        {
            return;
        }
        let rule = text("rule").unwrap_or_default();
        let wanted = text("action");
        let found = self
            .config
            .rules
            .iter()
            .find(|r| r.name == rule)
            .and_then(|r| {
                r.then.iter().enumerate().find_map(|(i, a)| match a {
                    ActionDef::AssignTeam(spec)
                        if wanted.as_deref().is_none_or(|w| w == format!("then[{i}]")) =>
                    {
                        Some(((**spec).clone(), format!("then[{i}]")))
                    }
                    _ => None,
                })
            });
        let (spec, path) = found.unwrap_or_else(|| {
            (
                crate::routing::TeamAssign {
                    team,
                    strategy: None,
                    skills: Vec::new(),
                    language: None,
                    fallback: None,
                    otherwise: crate::routing::Otherwise::Queue,
                },
                wanted.unwrap_or_else(|| "then[0]".into()),
            )
        });
        let rule = if rule.is_empty() { label.clone() } else { rule };
        let before = self.actions.len();
        if let Some(action) = self.assign_team(&spec, (rule, path)) {
            self.changed();
            self.actions.push(action);
        }
        self.record_fired(trace, label, before, explain);
    }

    /// Picks an agent of the team (or queues the ticket) and records the cursor and queue.
    fn assign_team(
        &mut self,
        spec: &crate::routing::TeamAssign,
        (rule, path): (String, String),
    ) -> Option<Action> {
        let message_language = self
            .event
            .message
            .as_ref()
            .and_then(|m| m.language.as_deref());
        let roster = &self.config.roster;
        let env = RouteEnv {
            roster,
            calendars: &self.config.calendars,
            state: &self.ctx.routing,
            cursors: &self.routing.cursors,
            message_language,
            now: self.now,
        };
        let routed = routing::route(&env, spec, &self.ticket, &rule);
        self.routing_trace.extend(routed.traces);
        let t = &mut self.ticket;
        match routed.chosen {
            Some((a, team)) => {
                let (agent, team) = (&roster.agents[a], &roster.teams[team]);
                self.routing.queued = None;
                if t.assignee.as_deref() == Some(&agent.id) && t.group.as_deref() == Some(&team.id)
                {
                    return None;
                }
                self.routing
                    .cursors
                    .insert(team.id.clone(), agent.id.clone());
                t.assignee = Some(agent.id.clone());
                t.group = Some(team.id.clone());
                Some(Action::Assign {
                    to: AssignTarget::Agent(agent.id.clone()),
                    team: Some(team.id.clone()),
                    helpdesk_ids: agent.helpdesk_ids.clone(),
                })
            }
            None if spec.otherwise == Otherwise::Keep => None,
            None => {
                let team = &roster.teams[spec.team].id;
                self.routing.queued = Some(Queued {
                    team: team.clone(),
                    rule,
                    action: path,
                });
                if t.group.as_deref() == Some(team) && t.assignee.is_none() {
                    return None;
                }
                t.group = Some(team.clone());
                t.assignee = None;
                Some(Action::Assign {
                    to: AssignTarget::Group(team.clone()),
                    team: Some(team.clone()),
                    helpdesk_ids: Default::default(),
                })
            }
        }
    }

    fn error(&self, rule: &str, path: &str, message: String) {
        self.errors.borrow_mut().push(RuleError {
            rule: rule.to_string(),
            path: path.to_string(),
            message,
        });
    }

    fn changed(&mut self) {
        *self.script_scope.get_mut() = None;
    }

    /// Matches the SLA policy and its pause condition against the working ticket, then
    /// advances the clocks (with the event's facts once, before the rules).
    fn sla_sync(&mut self, texts: &Texts, facts: Option<Facts>) {
        let (matched, paused) = {
            let mut scope = Scope {
                ticket: &self.ticket,
                event: self.event,
                now: self.now,
                texts,
                scripts: &self.config.scripts,
                calendars: &self.config.calendars,
                script_scope: &self.script_scope,
                errors: &self.errors,
                rule: "",
                bots: &self.config.bots,
                asked: &self.asked,
            };
            let labels: Vec<String> = self
                .config
                .sla
                .iter()
                .map(|p| format!("sla {}", p.name))
                .collect();
            let mut matched = None;
            for (i, p) in self.config.sla.iter().enumerate() {
                scope.rule = &labels[i];
                if p.when.as_ref().is_none_or(|c| c.eval(&scope, None)) {
                    matched = Some(i);
                    break;
                }
            }
            let paused = matched.is_some_and(|i| {
                scope.rule = &labels[i];
                let p = self.config.sla.at(i);
                p.pause_when.as_ref().is_some_and(|c| c.eval(&scope, None))
            });
            (matched, paused)
        };
        let before = self.ticket.sla.clone();
        sla::sync(
            &self.config.sla,
            &self.config.calendars,
            &mut self.ticket,
            matched,
            paused,
            facts,
            self.at,
        );
        if self.ticket.sla != before {
            self.changed();
        }
    }

    fn language(&self) -> Option<String> {
        self.ticket
            .customer
            .language
            .clone()
            .or_else(|| self.event.message.as_ref().and_then(|m| m.language.clone()))
    }

    /// The expected first response for the ticket's priority, phrased in the first language
    /// of `language`'s fallback chain that has phrases.
    fn expected_response(&self, language: Option<&str>) -> Option<Expected> {
        // The SLA policy's first-response target when it has one for this priority, else
        // the targets in `settings`.
        let settings = self.config.response_targets();
        let (cal, target, zone) = match self
            .config
            .sla
            .first_response(&self.ticket, &self.config.calendars)
        {
            // Calendar time is promised in the response calendar's zone when there is one.
            Some((cal, span, true)) => (cal, span, settings.map(|(c, _)| c.timezone())),
            Some((cal, span, false)) => (cal, span, None),
            None => {
                let (cal, targets) = settings?;
                (cal, targets.target(self.ticket.priority), None)
            }
        };
        let chain = self.config.templates.language_chain(language);
        let lang = Lang::pick(chain.iter().map(String::as_str));
        let tz = self
            .ticket
            .customer
            .timezone
            .as_deref()
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .or(zone);
        let target = self.measured_target(cal, target).unwrap_or(target);
        expected_response(cal, target, self.now, lang, tz)
    }

    /// With `settings.measured_response`: the recent first responses' percentile for the
    /// ticket's queue and priority, as a span of `cal`'s open time, when enough samples exist
    /// and it ends later than `target`. What was read goes to the trace.
    fn measured_target(&self, cal: &Calendar, target: BusinessSpan) -> Option<BusinessSpan> {
        let settings = self.config.measured_response()?;
        let queue = self.ticket.group.clone().unwrap_or_default();
        let priority = self.ticket.priority;
        let (secs, samples) = self.ctx.measured.percentile(
            &queue,
            priority,
            settings.percentile,
            settings.min_samples,
        );
        let target_at = cal.add_span(self.now, target)?;
        let measured = secs.map(|s| BusinessSpan::time(chrono::Duration::seconds(s)));
        let used = measured
            .and_then(|m| cal.add_span(self.now, m))
            .is_some_and(|at| at > target_at);
        *self.measured_trace.borrow_mut() = Some(crate::measured::MeasuredTrace {
            queue,
            priority,
            samples,
            percentile: settings.percentile,
            measured_secs: secs,
            target_at,
            used,
        });
        measured.filter(|_| used)
    }

    /// The template context, for a text written in `language`, with the names in `reads`
    /// (the others undefined: the text does not read them).
    fn context(&self, language: Option<&str>, reads: &Reads) -> minijinja::Value {
        let customer = reads.has("customer").then(|| {
            let customer = &self.ticket.customer;
            json!({
                "id": customer.id, "name": customer.name, "first_name": customer.first_name(),
                "email": customer.email, "language": customer.language, "tier": customer.tier,
                "timezone": customer.timezone, "fields": customer.fields,
            })
        });
        // Only when read: it is business-time arithmetic, and reading the measured first
        // responses shows in the trace.
        let expected = RESPONSE_NAMES
            .iter()
            .any(|n| reads.has(n))
            .then(|| self.expected_response(language))
            .flatten();
        let value = |name: &str, make: &dyn Fn() -> minijinja::Value| {
            if reads.has(name) {
                make()
            } else {
                minijinja::Value::UNDEFINED
            }
        };
        minijinja::context! {
            ticket => value("ticket", &|| match reads.ticket_fields() {
                Some(fields) => minijinja::Value::from_serialize(SomeFields {
                    value: &self.ticket,
                    fields,
                }),
                None => minijinja::Value::from_serialize(&self.ticket),
            }),
            customer => value("customer", &|| minijinja::Value::from_serialize(&customer)),
            message => value("message", &|| minijinja::Value::from_serialize(&self.event.message)),
            event => value("event", &|| match reads.event_fields() {
                Some(fields) => minijinja::Value::from_serialize(SomeFields {
                    value: self.event,
                    fields,
                }),
                None => minijinja::Value::from_serialize(self.event),
            }),
            now => value("now", &|| self.now.to_rfc3339().into()),
            expected_response => expected.as_ref().map(|e| e.text.clone()),
            expected_response_at => expected.as_ref().map(Expected::at_rfc3339),
            survey => value("survey", &|| minijinja::Value::from_serialize(self.survey_context())),
        }
    }

    /// What templates see as `survey`: the ticket's last survey, and the links that rate it
    /// when the pack has `settings.public_url` and the shell a link secret.
    fn survey_context(&self) -> Value {
        let Some(c) = &self.ticket.csat else {
            return Value::Null;
        };
        let url = match (self.config.public_url(), &self.ctx.csat_secret) {
            (Some(base), Some(secret)) => {
                let token = secret.sign(&crate::csat::Claims {
                    ticket: self.ticket.id.clone(),
                    survey: c.survey.clone(),
                    expires: c.sent_at + self.config.survey_links_valid_for(),
                });
                Some(crate::csat::link(base, &token))
            }
            _ => None,
        };
        let links = url.as_ref().map_or(String::new(), |u| {
            crate::csat::SCORES
                .iter()
                .rev()
                .map(|n| format!("{n}: {u}?score={n}"))
                .collect::<Vec<_>>()
                .join("\n")
        });
        json!({
            "id": c.survey, "sent_at": c.sent_at, "score": c.score, "via": c.via,
            "scores": crate::csat::SCORES, "url": url, "links": links,
        })
    }

    fn render(&self, text: &TextDef, rule: &str, path: &str) -> Option<(String, Option<String>)> {
        let ctx = |language: Option<&str>, reads: &Reads| self.context(language, reads);
        match self
            .config
            .templates
            .render(text, self.language().as_deref(), &ctx)
        {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(rule, path, format!("template failed: {e}"));
                None
            }
        }
    }

    fn render_json(&self, value: &Value, rule: &str, path: &str) -> Value {
        match value {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                match self.render(&TextDef::Runtime(s.clone()), rule, path) {
                    Some((text, _)) => Value::String(text),
                    None => Value::String(s.clone()),
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_json(v, rule, path))
                    .collect(),
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.render_json(v, rule, path)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Applies one action to the working ticket and records what the helpdesk must do.
    /// Actions that would change nothing are left out.
    fn apply(&mut self, def: &ActionDef, rule: &str, path: &str) {
        let t = &mut self.ticket;
        let action = match def {
            ActionDef::Reply(text) => {
                let Some((text, language)) = self.render(text, rule, path) else {
                    return;
                };
                let template = match def {
                    ActionDef::Reply(TextDef::Named(n)) => Some(n.clone()),
                    _ => None,
                };
                Action::Reply {
                    text,
                    language,
                    template,
                    quick_replies: Vec::new(),
                    survey: None,
                }
            }
            ActionDef::Survey {
                text,
                unless_tagged,
            } => {
                if unless_tagged.iter().any(|tag| t.has_tag(tag)) {
                    return;
                }
                let survey = crate::csat::survey_id(&self.event.id);
                let before = t.csat.replace(crate::model::Csat {
                    survey: survey.clone(),
                    // Sent when the event it follows happened (a late webhook, an import).
                    sent_at: self.at,
                    score: None,
                    rated_at: None,
                    via: None,
                });
                let Some((rendered, language)) = self.render(text, rule, path) else {
                    self.ticket.csat = before;
                    return;
                };
                Action::Reply {
                    text: rendered,
                    language,
                    template: match text {
                        TextDef::Named(n) => Some(n.clone()),
                        _ => None,
                    },
                    quick_replies: crate::csat::SCORES.iter().map(u8::to_string).collect(),
                    survey: Some(survey),
                }
            }
            ActionDef::InternalNote(text) => {
                let Some((text, _)) = self.render(text, rule, path) else {
                    return;
                };
                Action::InternalNote { text }
            }
            ActionDef::SetPriority(p) => {
                if t.priority == *p {
                    return;
                }
                t.priority = *p;
                Action::SetPriority { priority: *p }
            }
            ActionDef::SetStatus(s) => {
                if t.status == *s {
                    return;
                }
                t.status = *s;
                Action::SetStatus { status: *s }
            }
            ActionDef::SetCategory(c) => {
                if t.category.as_deref() == Some(c) {
                    return;
                }
                t.category = Some(c.clone());
                Action::SetCategory {
                    category: c.clone(),
                }
            }
            ActionDef::AddTags(tags) => {
                let mut added = Vec::new();
                for tag in tags {
                    if !t.has_tag(tag) {
                        t.tags.push(tag.clone());
                        added.push(tag.clone());
                    }
                }
                if added.is_empty() {
                    return;
                }
                Action::AddTags { tags: added }
            }
            ActionDef::RemoveTags(tags) => {
                let removed: Vec<String> = t
                    .tags
                    .iter()
                    .filter(|x| tags.iter().any(|r| r.eq_ignore_ascii_case(x)))
                    .cloned()
                    .collect();
                if removed.is_empty() {
                    return;
                }
                t.tags.retain(|x| !removed.contains(x));
                Action::RemoveTags { tags: removed }
            }
            ActionDef::Assign(target) => {
                match target {
                    AssignTarget::Agent(a) => {
                        if t.assignee.as_deref() == Some(a) {
                            return;
                        }
                        t.assignee = Some(a.clone());
                    }
                    AssignTarget::Group(g) => {
                        if t.group.as_deref() == Some(g) && t.assignee.is_none() {
                            return;
                        }
                        t.group = Some(g.clone());
                        t.assignee = None;
                    }
                }
                Action::Assign {
                    to: target.clone(),
                    team: None,
                    helpdesk_ids: Default::default(),
                }
            }
            ActionDef::AssignTeam(spec) => {
                let key = (rule.to_string(), path.to_string());
                match self.assign_team(spec, key) {
                    Some(a) => a,
                    None => return,
                }
            }
            ActionDef::SetField { name, value } => {
                let value = self.render_json(value, rule, path);
                let t = &mut self.ticket;
                if t.fields.get(name) == Some(&value) {
                    return;
                }
                t.fields.insert(name.clone(), value.clone());
                Action::SetField {
                    name: name.clone(),
                    value,
                }
            }
            ActionDef::Schedule(name) => {
                let Some(def) = self.config.timers.get(name) else {
                    return;
                };
                let due_at = match def.when {
                    When::After(d) => self.now + d,
                    When::At(t) => t,
                    When::Business { calendar, span } => {
                        let cal = self.config.calendars.at(calendar);
                        match cal.add_span(self.now, span) {
                            Some(t) => t,
                            None => {
                                self.error(
                                    rule,
                                    path,
                                    format!(
                                        "calendar `{}` has no opening hours for years; timer `{name}` not started",
                                        cal.name()
                                    ),
                                );
                                return;
                            }
                        }
                    }
                };
                self.timers.retain(|x| x.name != def.name);
                self.timers.push(TimerSpec {
                    name: def.name.clone(),
                    rule: def.rule.clone(),
                    due_at,
                    cancel_on: def.cancel_on.clone(),
                });
                return;
            }
            ActionDef::CancelTimers(names) => {
                match names {
                    None => self.timers.clear(),
                    Some(names) => self.timers.retain(|x| !names.contains(&x.name)),
                }
                Action::CancelTimers {
                    names: names.clone(),
                }
            }
            ActionDef::Notify {
                channel,
                to,
                text,
                subject,
            } => {
                let Some((text, _)) = self.render(text, rule, path) else {
                    return;
                };
                // The address and subject may come from the ticket (`{{ ticket.customer.email }}`).
                let rendered =
                    |s: &str| match self.render_json(&Value::String(s.to_string()), rule, path) {
                        Value::String(s) => s.trim().to_string(),
                        _ => s.to_string(),
                    };
                let to = rendered(to);
                if to.is_empty() {
                    self.error(
                        rule,
                        path,
                        "notify: `to` is empty for this ticket".to_string(),
                    );
                    return;
                }
                Action::Notify {
                    channel: *channel,
                    to,
                    text,
                    subject: subject.as_deref().map(rendered).filter(|s| !s.is_empty()),
                }
            }
            ActionDef::Webhook {
                url,
                method,
                body,
                headers,
            } => {
                let body = self.render_json(body, rule, path);
                Action::Webhook {
                    url: url.clone(),
                    method: *method,
                    body,
                    headers: headers.clone(),
                }
            }
            ActionDef::Handoff { group, reason } => {
                let reason = match reason {
                    Some(r) => self.render(r, rule, path).map(|(text, _)| text),
                    None => None,
                };
                Action::Handoff {
                    group: group.clone(),
                    reason,
                }
            }
            ActionDef::Script(id) => {
                self.run_script(*id, rule, path);
                return;
            }
            ActionDef::AnswerFaq { bot, min_score } => {
                self.answer_faq(bot, *min_score);
                return;
            }
        };
        if matches!(
            def,
            ActionDef::SetPriority(_)
                | ActionDef::SetStatus(_)
                | ActionDef::SetCategory(_)
                | ActionDef::AddTags(_)
                | ActionDef::RemoveTags(_)
                | ActionDef::Assign(_)
                | ActionDef::AssignTeam(_)
                | ActionDef::SetField { .. }
                | ActionDef::Survey { .. }
        ) {
            self.changed();
        }
        self.actions.push(action);
    }

    /// Replies with the bot's answer and tags `faq:<entry>` when the bot is confident enough;
    /// otherwise does nothing, so that later rules can route the ticket to a person.
    fn answer_faq(&mut self, bot_name: &str, min_score: Option<f64>) {
        let config = self.config;
        let Some(bot) = config.bots.get(bot_name) else {
            return;
        };
        let Some(answer) = self
            .asked
            .ask(&config.bots, bot_name, &self.ticket, self.event)
        else {
            return;
        };
        let Some((id, _)) = answer.candidates.first() else {
            return;
        };
        if answer.score < min_score.unwrap_or(bot.threshold()) {
            return;
        }
        let Some(entry) = bot.entry(id) else {
            return;
        };
        let default = bot.default_language();
        let Some(text) = entry.answer(&answer.language, default) else {
            return;
        };
        let mut text = text.to_string();
        for link in &entry.links {
            text.push_str(&format!(
                "\n{}: {}",
                link.title(&answer.language, default),
                link.url
            ));
        }
        let tag = format!("faq:{id}");
        self.actions.push(Action::Reply {
            text,
            language: Some(answer.language.clone()),
            template: None,
            quick_replies: Vec::new(),
            survey: None,
        });
        if !self.ticket.has_tag(&tag) {
            self.ticket.tags.push(tag.clone());
            self.actions.push(Action::AddTags { tags: vec![tag] });
            self.changed();
        }
    }

    fn run_script(&mut self, id: usize, rule: &str, path: &str) {
        let result = {
            let mut cache = self.script_scope.borrow_mut();
            let scope = cache.get_or_insert_with(|| script::scope_for(&self.ticket, self.event));
            self.config.scripts.actions(id, scope)
        };
        let values = match result {
            Ok(v) => v,
            Err(e) => {
                self.error(rule, path, format!("script failed: {e}"));
                return;
            }
        };
        for (i, value) in values.iter().enumerate() {
            let spath = format!("{path}.result[{i}]");
            let node = Node::from_json(value, Pos::default());
            let mut diags = Diagnostics::default();
            let file = std::path::PathBuf::from(rule);
            let def = {
                let mut env = ScriptActions {
                    cx: Cx {
                        file: &file,
                        diags: &mut diags,
                    },
                    config: self.config,
                    rule,
                };
                action::compile(&mut env, &node, &spath)
            };
            match def {
                Some(def) if !diags.has_errors() => self.apply(&def, rule, &spath),
                _ => {
                    let msg = diags
                        .items()
                        .iter()
                        .map(|d| format!("{}: {}", d.path, d.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    self.error(
                        rule,
                        &spath,
                        format!("script returned an invalid action: {msg}"),
                    );
                }
            }
        }
    }
}

/// Compiles the actions a script returns, against the loaded pack.
struct ScriptActions<'d> {
    cx: Cx<'d>,
    config: &'d Config,
    rule: &'d str,
}

impl<'d> ActionEnv<'d> for ScriptActions<'d> {
    fn cx(&mut self) -> &mut Cx<'d> {
        &mut self.cx
    }

    fn text(&mut self, node: &Node, path: &str, named: bool) -> Option<TextDef> {
        let text = self.cx.nonempty_text(node, path)?;
        if named {
            if self.config.templates.has(&text) {
                return Some(TextDef::Named(text));
            }
            self.cx
                .error(node.pos, path, format!("unknown template `{text}`"));
            return None;
        }
        match self.config.templates.check_runtime(&text) {
            Ok(()) => Some(TextDef::Runtime(text)),
            Err(e) => {
                self.cx
                    .error(node.pos, path, format!("template: {}", e.message));
                None
            }
        }
    }

    fn timer(&mut self, _def: TimerDef, pos: Pos, path: &str) -> Option<String> {
        self.cx.error(
            pos,
            path,
            "scripts cannot start timers; use a `schedule` action in the rule",
        );
        None
    }

    fn script_file(&mut self, node: &Node, path: &str) -> Option<usize> {
        self.cx
            .error(node.pos, path, "scripts cannot run other scripts");
        None
    }

    fn rule_name(&self) -> String {
        self.rule.to_string()
    }

    fn set_rule_name(&mut self, _name: String) {
        // A script's actions always belong to the rule that ran it.
    }

    fn calendar(&mut self, node: &Node, path: &str) -> Option<usize> {
        let name = self.cx.nonempty_text(node, path)?;
        let found = self.config.calendars.index_of(&name);
        if found.is_none() {
            self.cx
                .error(node.pos, path, format!("unknown calendar `{name}`"));
        }
        found
    }

    fn faq_bot(&mut self, bot: &str, node: &Node, path: &str) -> bool {
        let known = self.config.bots.get(bot).is_some();
        if !known {
            self.cx
                .error(node.pos, path, format!("unknown bot `{bot}`"));
        }
        known
    }

    fn team_assign(
        &mut self,
        fields: &crate::syntax::decode::Fields<'_>,
        path: &str,
    ) -> Option<crate::routing::TeamAssign> {
        self.cx.error(
            fields.pos,
            path,
            "scripts cannot assign to a team; put `assign: {team: ...}` in the rule",
        );
        None
    }
}
