//! Agents, teams and automatic assignment.
//!
//! The pack declares `teams:` and `agents:` ([`decode`] compiles them into a [`Roster`]); an
//! `assign: {team: ...}` action ([`TeamAssign`]) picks an agent with [`route`]. What changes
//! from moment to moment (who is online, how many open tickets each agent has, where each
//! team's round-robin stands) is [`RoutingState`]: the shell loads it inside the store's
//! transaction and passes it to [`crate::engine::decide_with`], so deciding stays pure. What a
//! decision changes in it comes back in [`RoutingEffects`] and commits with the decision.
//! [`presence`] reads statuses from a helpdesk's agent list.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{named_enum, Channel, Named, Ticket};
use crate::time::Calendars;

pub mod presence;

named_enum! {
    /// How a team's agent is picked.
    #[derive(Default)]
    pub enum Strategy {
        #[default] RoundRobin = "round_robin",
        LeastLoaded = "least_loaded",
        Skills = "skills",
    }
}

named_enum! {
    /// What an agent said about themselves (`PUT /v1/agents/{id}/status`).
    #[derive(Default)]
    pub enum AgentStatus {
        Online = "online",
        Away = "away",
        #[default] Offline = "offline",
    }
}

/// What a decision that may assign agents needs from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingNeed {
    /// Routing lock names (groups of teams sharing agents) to hold, sorted.
    pub locks: Vec<String>,
    /// The agents whose statuses and loads to read (members of the teams it may assign to).
    pub agents: Vec<String>,
}

impl RoutingNeed {
    /// Whether the decision assigns nobody (no locks, no state).
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }
}

/// How many open tickets an agent may hold: overall and per channel. `None` is no limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capacity {
    /// Overall maximum.
    pub total: Option<u32>,
    /// Per channel, indexed by `Channel as usize`.
    pub channels: [Option<u32>; Channel::ALL.len()],
}

impl Capacity {
    /// The limit for a ticket of `channel`: the channel's own and the overall one.
    fn limits(&self, channel: Channel) -> (Option<u32>, Option<u32>) {
        (self.channels[channel as usize], self.total)
    }

    /// Whether no ticket can ever be assigned.
    pub fn is_zero(&self) -> bool {
        self.total == Some(0)
            || (self.total.is_none() && self.channels.iter().all(|c| *c == Some(0)))
    }
}

/// An agent as configured.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Id (the key under `agents:`), what `ticket.assignee` holds.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Indexes of the teams.
    pub teams: Vec<usize>,
    /// Skill tags, lower-case.
    pub skills: Vec<String>,
    /// Language tags, lower-case.
    pub languages: Vec<String>,
    /// Open tickets allowed.
    pub capacity: Capacity,
    /// The shift calendar (index in the pack); `None`: on shift whenever online.
    pub shift: Option<usize>,
    /// The agent's id in each helpdesk (`chatwoot: 12`).
    pub helpdesk_ids: BTreeMap<String, Value>,
}

/// A team as configured.
#[derive(Debug, Clone)]
pub struct Team {
    /// Id (the key under `teams:`), what `ticket.group` holds while the ticket is queued.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// The strategy when an `assign` action names none.
    pub strategy: Strategy,
    /// Members (agent indexes) in the order written under `agents:`.
    pub members: Vec<usize>,
    /// Teams that share agents, directly or through others, share a lock name: decisions
    /// that may take a slot of the same agent are serialised on it (PostgreSQL).
    pub lock: String,
}

/// The pack's agents and teams.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// Agents in the order written.
    pub agents: Vec<Agent>,
    /// Teams in the order written.
    pub teams: Vec<Team>,
    agent_index: HashMap<String, usize>,
    team_index: HashMap<String, usize>,
}

impl Roster {
    /// An agent by id.
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agent_index.get(id).map(|&i| &self.agents[i])
    }

    /// A team by id.
    pub fn team(&self, id: &str) -> Option<&Team> {
        self.team_index.get(id).map(|&i| &self.teams[i])
    }

    /// A team's index by id.
    pub fn team_index(&self, id: &str) -> Option<usize> {
        self.team_index.get(id).copied()
    }

    /// Whether the pack has any agents.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    pub(crate) fn push_team(&mut self, team: Team) -> usize {
        let i = self.teams.len();
        self.team_index.insert(team.id.clone(), i);
        self.teams.push(team);
        i
    }

    pub(crate) fn push_agent(&mut self, agent: Agent) -> usize {
        let i = self.agents.len();
        for &t in &agent.teams {
            self.teams[t].members.push(i);
        }
        self.agent_index.insert(agent.id.clone(), i);
        self.agents.push(agent);
        i
    }

    /// Gives every team its lock name: the smallest team id among the teams it shares
    /// agents with (transitively).
    pub(crate) fn assign_locks(&mut self) {
        let n = self.teams.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        for a in &self.agents {
            for w in a.teams.windows(2) {
                let (x, y) = (find(&mut parent, w[0]), find(&mut parent, w[1]));
                if x != y {
                    parent[x] = y;
                }
            }
        }
        let mut least: HashMap<usize, String> = HashMap::new();
        for i in 0..n {
            let root = find(&mut parent, i);
            let id = &self.teams[i].id;
            least
                .entry(root)
                .and_modify(|l| {
                    if id < &*l {
                        *l = id.clone()
                    }
                })
                .or_insert_with(|| id.clone());
        }
        for i in 0..n {
            let root = find(&mut parent, i);
            self.teams[i].lock = least[&root].clone();
        }
    }
}

/// Open tickets of one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Load {
    /// All open tickets.
    pub total: u32,
    /// Open tickets per channel (channels with none are left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_channel: BTreeMap<Channel, u32>,
}

impl Load {
    /// Counts one more open ticket of `channel`.
    pub fn add(&mut self, channel: Channel, n: u32) {
        self.total += n;
        *self.by_channel.entry(channel).or_default() += n;
    }

    /// Counts more open tickets without saying of which channel.
    pub fn add_total(&mut self, n: u32) {
        self.total += n;
    }

    fn on(&self, channel: Channel) -> u32 {
        self.by_channel.get(&channel).copied().unwrap_or(0)
    }
}

/// One agent's dynamic state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentState {
    /// What the agent last said (never said: offline).
    #[serde(default)]
    pub status: AgentStatus,
    /// Open tickets assigned to them, not counting the ticket being decided.
    #[serde(default)]
    pub open: Load,
}

/// Routing state at the moment of a decision, loaded by the shell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoutingState {
    /// Agents by id; an agent missing here is offline with no tickets.
    #[serde(default)]
    pub agents: HashMap<String, AgentState>,
    /// Per team: the agent it last assigned to (the round-robin cursor).
    #[serde(default)]
    pub last_assigned: HashMap<String, String>,
}

/// What a decision changes in the routing state; the store commits it with the decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoutingEffects {
    /// New round-robin cursors: team → the agent just assigned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cursors: BTreeMap<String, String>,
    /// The ticket now waits in a team's queue for an agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<Queued>,
}

impl RoutingEffects {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.cursors.is_empty() && self.queued.is_none()
    }
}

/// A ticket waiting in a team queue, and the `assign` action to try again when an agent
/// becomes available.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Queued {
    /// The team.
    pub team: String,
    /// The rule whose `assign` action queued it.
    pub rule: String,
    /// Where the action is in the rule (`then[0]`).
    pub action: String,
}

named_enum! {
    /// Why a candidate agent was passed over.
    pub enum Skip {
        Offline = "offline",
        Away = "away",
        OutsideShift = "outside_shift",
        AtCapacity = "at_capacity",
        MissingSkill = "missing_skill",
        Language = "language",
    }
}

/// One agent considered for an assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    /// Agent id.
    pub agent: String,
    /// Open tickets (all channels) before this ticket.
    pub open: u32,
    /// Why the agent was passed over; absent for agents that could take the ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skip>,
    /// Details of the skip (`email 20/20`, `billing`, `ar`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How one `assign: {team: ...}` went, for the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoutingTrace {
    /// The rule.
    pub rule: String,
    /// The team tried (the fallback team has a trace of its own).
    pub team: String,
    /// The strategy used.
    pub strategy: Strategy,
    /// Every member considered, in the team's order.
    pub candidates: Vec<Candidate>,
    /// The agent picked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
}

/// A language requirement.
#[derive(Debug, Clone, PartialEq)]
pub enum LanguageReq {
    /// This tag.
    Tag(String),
    /// The customer's language (`ticket.customer.language`), when known.
    Customer,
    /// The message's language (`message.language`), when known.
    Message,
}

/// The fields a language requirement may read.
pub const LANGUAGE_FIELDS: &[&str] = &["ticket.customer.language", "message.language"];

/// What happens when no agent of the team (or the fallback team) can take the ticket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Otherwise {
    /// The ticket waits in the team's queue (`ticket.group` = team, no assignee).
    Queue,
    /// The ticket is left as it is.
    Keep,
}

/// A compiled `assign: {team: ...}` action.
#[derive(Debug, Clone)]
pub struct TeamAssign {
    /// Team index.
    pub team: usize,
    /// The strategy; `None` uses the team's.
    pub strategy: Option<Strategy>,
    /// Skills every candidate must have (lower-case).
    pub skills: Vec<String>,
    /// A language the candidate must speak.
    pub language: Option<LanguageReq>,
    /// A team to try when nobody in the first can take the ticket.
    pub fallback: Option<usize>,
    /// What happens when nobody can.
    pub otherwise: Otherwise,
}

/// The primary subtag, lower-case (`nb-NO` → `nb`).
fn primary(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
}

/// Whether an agent speaking `languages` speaks `wanted`.
pub fn speaks(languages: &[String], wanted: &str) -> bool {
    let w = primary(wanted);
    languages.iter().any(|l| primary(l).eq_ignore_ascii_case(w))
}

/// The result of [`route`].
#[derive(Debug, Clone)]
pub struct Routed {
    /// Agent and team indexes, when someone can take the ticket.
    pub chosen: Option<(usize, usize)>,
    /// One trace per team tried.
    pub traces: Vec<RoutingTrace>,
}

/// Why `agent` cannot take a ticket of `channel` now, or `None` when it can. Requirements
/// are checked by [`route`]; this is availability and capacity only.
pub fn unavailable(
    agent: &Agent,
    state: Option<&AgentState>,
    calendars: &Calendars,
    channel: Channel,
    now: DateTime<Utc>,
) -> Option<(Skip, Option<String>)> {
    let status = state.map_or(AgentStatus::Offline, |s| s.status);
    match status {
        AgentStatus::Offline => return Some((Skip::Offline, None)),
        AgentStatus::Away => return Some((Skip::Away, None)),
        AgentStatus::Online => {}
    }
    if let Some(cal) = agent.shift {
        let cal = calendars.at(cal);
        if !cal.is_open(now) {
            return Some((Skip::OutsideShift, Some(cal.name().to_string())));
        }
    }
    let empty = Load::default();
    let load = state.map_or(&empty, |s| &s.open);
    let (chan_cap, total_cap) = agent.capacity.limits(channel);
    if let Some(cap) = chan_cap {
        if load.on(channel) >= cap {
            return Some((
                Skip::AtCapacity,
                Some(format!("{channel} {}/{cap}", load.on(channel))),
            ));
        }
    }
    if let Some(cap) = total_cap {
        if load.total >= cap {
            return Some((
                Skip::AtCapacity,
                Some(format!("total {}/{cap}", load.total)),
            ));
        }
    }
    None
}

/// The load of an agent relative to their capacity for `channel`, as a fraction (the larger
/// of the channel's and the overall one); no limit counts as a very large capacity.
fn relative_load(agent: &Agent, load: &Load, channel: Channel) -> f64 {
    let (chan_cap, total_cap) = agent.capacity.limits(channel);
    let frac = |n: u32, cap: Option<u32>| match cap {
        Some(c) if c > 0 => f64::from(n) / f64::from(c),
        Some(_) => f64::INFINITY,
        None => f64::from(n) / 1e6,
    };
    frac(load.on(channel), chan_cap).max(frac(load.total, total_cap))
}

/// What [`route`] reads besides the action and the ticket.
pub struct RouteEnv<'a> {
    /// The agents and teams.
    pub roster: &'a Roster,
    /// The pack's calendars (shifts).
    pub calendars: &'a Calendars,
    /// Statuses, loads and cursors.
    pub state: &'a RoutingState,
    /// Cursors moved earlier in the same decision; they win over `state`'s.
    pub cursors: &'a BTreeMap<String, String>,
    /// The message's language, for `language: message.language`.
    pub message_language: Option<&'a str>,
    /// The decision's time.
    pub now: DateTime<Utc>,
}

/// Picks an agent for `ticket` as `spec` says, from the team and then the fallback team.
pub fn route(env: &RouteEnv<'_>, spec: &TeamAssign, ticket: &Ticket, rule: &str) -> Routed {
    let RouteEnv {
        roster,
        calendars,
        state,
        cursors,
        message_language,
        now,
    } = *env;
    let language = match &spec.language {
        None => None,
        Some(LanguageReq::Tag(t)) => Some(t.as_str()),
        Some(LanguageReq::Customer) => ticket.customer.language.as_deref(),
        Some(LanguageReq::Message) => message_language,
    };
    let mut traces = Vec::new();
    let teams = std::iter::once(spec.team).chain(spec.fallback.filter(|f| *f != spec.team));
    for t in teams {
        let team = &roster.teams[t];
        let strategy = spec.strategy.unwrap_or(team.strategy);
        let mut candidates = Vec::with_capacity(team.members.len());
        // (position in team, agent index, relative load, skill score)
        let mut eligible: Vec<(usize, usize, f64, usize)> = Vec::new();
        for (pos, &a) in team.members.iter().enumerate() {
            let agent = &roster.agents[a];
            let st = state.agents.get(&agent.id);
            let open = st.map_or(0, |s| s.open.total);
            let mut skip = unavailable(agent, st, calendars, ticket.channel, now);
            if skip.is_none() {
                if let Some(missing) = spec.skills.iter().find(|s| !agent.skills.contains(s)) {
                    skip = Some((Skip::MissingSkill, Some(missing.clone())));
                }
            }
            if skip.is_none() {
                if let Some(lang) = language {
                    if !speaks(&agent.languages, lang) {
                        skip = Some((Skip::Language, Some(lang.to_string())));
                    }
                }
            }
            if skip.is_none() {
                let empty = Load::default();
                let load = st.map_or(&empty, |s| &s.open);
                let score = if strategy == Strategy::Skills {
                    skill_score(agent, ticket, language)
                } else {
                    0
                };
                eligible.push((pos, a, relative_load(agent, load, ticket.channel), score));
            }
            let (skipped, detail) = match skip {
                Some((s, d)) => (Some(s), d),
                None => (None, None),
            };
            candidates.push(Candidate {
                agent: agent.id.clone(),
                open,
                skipped,
                detail,
            });
        }
        let pick = match strategy {
            Strategy::RoundRobin => {
                let after = cursors
                    .get(&team.id)
                    .or_else(|| state.last_assigned.get(&team.id))
                    .and_then(|last| {
                        team.members
                            .iter()
                            .position(|&m| roster.agents[m].id == *last)
                    });
                let n = team.members.len();
                let start = after.map_or(0, |p| p + 1);
                eligible
                    .iter()
                    .min_by_key(|(pos, ..)| (pos + n - start % n.max(1)) % n.max(1))
                    .map(|e| e.1)
            }
            Strategy::LeastLoaded => eligible
                .iter()
                .min_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)))
                .map(|e| e.1),
            Strategy::Skills => eligible
                .iter()
                .min_by(|a, b| b.3.cmp(&a.3).then(a.2.total_cmp(&b.2)).then(a.0.cmp(&b.0)))
                .map(|e| e.1),
        };
        traces.push(RoutingTrace {
            rule: rule.to_string(),
            team: team.id.clone(),
            strategy,
            candidates,
            chosen: pick.map(|a| roster.agents[a].id.clone()),
        });
        if let Some(a) = pick {
            return Routed {
                chosen: Some((a, t)),
                traces,
            };
        }
    }
    Routed {
        chosen: None,
        traces,
    }
}

/// How well an agent's skills fit a ticket: the ticket's tags and category the agent has as
/// skills, plus one when they speak the wanted language.
fn skill_score(agent: &Agent, ticket: &Ticket, language: Option<&str>) -> usize {
    let has = |x: &str| agent.skills.iter().any(|s| s.eq_ignore_ascii_case(x));
    let mut score = ticket.tags.iter().filter(|t| has(t)).count();
    if let Some(c) = &ticket.category {
        if has(c) {
            score += 1;
        }
    }
    if language.is_some_and(|l| speaks(&agent.languages, l)) {
        score += 1;
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, teams: Vec<usize>) -> Agent {
        Agent {
            id: id.into(),
            name: None,
            email: None,
            teams,
            skills: Vec::new(),
            languages: vec!["en".into()],
            capacity: Capacity {
                total: Some(2),
                ..Capacity::default()
            },
            shift: None,
            helpdesk_ids: BTreeMap::new(),
        }
    }

    fn team(id: &str) -> Team {
        Team {
            id: id.into(),
            name: None,
            strategy: Strategy::RoundRobin,
            members: Vec::new(),
            lock: String::new(),
        }
    }

    #[test]
    fn teams_sharing_agents_share_a_lock() {
        let mut r = Roster::default();
        for t in ["c", "b", "a", "z"] {
            r.push_team(team(t));
        }
        r.push_agent(agent("x", vec![0, 1]));
        r.push_agent(agent("y", vec![1, 2]));
        r.push_agent(agent("w", vec![3]));
        r.assign_locks();
        let locks: Vec<&str> = r.teams.iter().map(|t| t.lock.as_str()).collect();
        assert_eq!(locks, ["a", "a", "a", "z"]);
    }

    #[test]
    fn round_robin_goes_on_after_the_last_agent_and_wraps() {
        let mut r = Roster::default();
        r.push_team(team("s"));
        for id in ["a", "b", "c"] {
            r.push_agent(agent(id, vec![0]));
        }
        let cals = Calendars::default();
        let mut state = RoutingState::default();
        for id in ["a", "b", "c"] {
            state.agents.insert(
                id.into(),
                AgentState {
                    status: AgentStatus::Online,
                    open: Load::default(),
                },
            );
        }
        let spec = TeamAssign {
            team: 0,
            strategy: None,
            skills: Vec::new(),
            language: None,
            fallback: None,
            otherwise: Otherwise::Queue,
        };
        let now = "2026-01-05T09:00:00Z".parse().unwrap();
        let none = BTreeMap::new();
        fn env<'a>(
            r: &'a Roster,
            cals: &'a Calendars,
            state: &'a RoutingState,
            none: &'a BTreeMap<String, String>,
            now: DateTime<Utc>,
        ) -> RouteEnv<'a> {
            RouteEnv {
                roster: r,
                calendars: cals,
                state,
                cursors: none,
                message_language: None,
                now,
            }
        }
        let mut order = Vec::new();
        for _ in 0..4 {
            let got = route(
                &env(&r, &cals, &state, &none, now),
                &spec,
                &Ticket::default(),
                "r",
            );
            let (a, _) = got.chosen.unwrap();
            let id = r.agents[a].id.clone();
            state.last_assigned.insert("s".into(), id.clone());
            order.push(id);
        }
        assert_eq!(order, ["a", "b", "c", "a"]);
        // b at capacity is skipped, and the trace says why.
        state.last_assigned.insert("s".into(), "a".into());
        state
            .agents
            .get_mut("b")
            .unwrap()
            .open
            .add(Channel::Other, 2);
        let got = route(
            &env(&r, &cals, &state, &none, now),
            &spec,
            &Ticket::default(),
            "r",
        );
        assert_eq!(got.chosen.map(|c| c.0), Some(2));
        assert_eq!(got.traces[0].candidates[1].skipped, Some(Skip::AtCapacity));
        assert_eq!(
            got.traces[0].candidates[1].detail.as_deref(),
            Some("total 2/2")
        );
    }

    #[test]
    fn languages_match_on_the_primary_subtag() {
        let langs = vec!["nb".to_string(), "en-GB".to_string()];
        assert!(speaks(&langs, "nb-NO"));
        assert!(speaks(&langs, "en"));
        assert!(!speaks(&langs, "ar"));
    }
}
