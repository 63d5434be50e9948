//! Agents: their views and statuses (set through the API, or read from a helpdesk by
//! [`super::presence`]), and offering queued tickets to agents who can take them: when an
//! agent comes online, when one of their tickets is closed or reassigned, and on every
//! scheduler round (a shift began).
//!
//! An offer is an `agent.available` event for the ticket that waited longest, decided through
//! the one event path; the engine tries the `assign` action that queued the ticket again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Desk, Error};
use crate::config::Config;
use crate::model::{Channel, Event, EventType, Named, Ticket};
use crate::routing::presence::StatusSource;
use crate::routing::{self, Agent, AgentState, AgentStatus, Load, RoutingState};

/// Queued tickets offered per team and round.
const OFFERS_PER_TEAM: u32 = 100;

/// An agent's capacity as shown by the API.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CapacityView {
    /// Overall maximum (absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    /// Per channel.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_channel: BTreeMap<Channel, u32>,
}

/// One agent: configuration, what they said, their shift and their load.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentView {
    /// Agent id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Teams.
    pub teams: Vec<String>,
    /// Skills.
    pub skills: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// What the agent last said (offline until they say otherwise).
    pub status: AgentStatus,
    /// What set the status: `api` (`PUT /v1/agents/{id}/status`) or `helpdesk` (read from
    /// Chatwoot's agent list); absent while no status was ever stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_source: Option<StatusSource>,
    /// The shift calendar, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<String>,
    /// Inside the shift calendar's open hours now (always, without a shift calendar).
    pub on_shift: bool,
    /// Online, on shift and below the overall capacity: new tickets can go to them.
    pub available: bool,
    /// Open tickets assigned to them.
    pub open: Load,
    /// How many they may hold.
    pub capacity: CapacityView,
    /// Their ids in the helpdesks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub helpdesk_ids: BTreeMap<String, Value>,
}

fn on_shift(config: &Config, agent: &Agent, now: DateTime<Utc>) -> bool {
    agent
        .shift
        .is_none_or(|c| config.calendars().at(c).is_open(now))
}

/// Whether an agent could take one more ticket of some channel now: online, on shift and
/// below their overall capacity. Requirements and per-channel limits are the engine's to check.
fn can_take_more(
    config: &Config,
    agent: &Agent,
    state: Option<&AgentState>,
    now: DateTime<Utc>,
) -> bool {
    let status = state.map_or(AgentStatus::Offline, |s| s.status);
    let total = state.map_or(0, |s| s.open.total);
    status == AgentStatus::Online
        && on_shift(config, agent, now)
        && agent.capacity.total.is_none_or(|cap| total < cap)
        && !agent.capacity.is_zero()
}

fn view(
    config: &Config,
    agent: &Agent,
    state: Option<&AgentState>,
    source: Option<StatusSource>,
    now: DateTime<Utc>,
) -> AgentView {
    let roster = config.roster();
    let mut by_channel = BTreeMap::new();
    for ch in Channel::ALL {
        if let Some(n) = agent.capacity.channels[*ch as usize] {
            by_channel.insert(*ch, n);
        }
    }
    AgentView {
        id: agent.id.clone(),
        name: agent.name.clone(),
        email: agent.email.clone(),
        teams: agent
            .teams
            .iter()
            .map(|&t| roster.teams[t].id.clone())
            .collect(),
        skills: agent.skills.clone(),
        languages: agent.languages.clone(),
        status: state.map_or(AgentStatus::Offline, |s| s.status),
        status_source: source,
        shift: agent
            .shift
            .map(|c| config.calendars().at(c).name().to_string()),
        on_shift: on_shift(config, agent, now),
        available: can_take_more(config, agent, state, now),
        open: state.map(|s| s.open.clone()).unwrap_or_default(),
        capacity: CapacityView {
            total: agent.capacity.total,
            by_channel,
        },
        helpdesk_ids: agent.helpdesk_ids.clone(),
    }
}

impl Desk {
    /// Tickets waiting in `team`'s queue (every team's when `None`), longest waiting first.
    pub async fn queued(
        &self,
        team: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::store::QueuedTicket>, Error> {
        Ok(self.store.queued(team, limit.min(1000)).await?)
    }
}

/// Every agent of the pack, with what they said, their shift and their load.
pub async fn list(state: &Desk) -> Result<Vec<AgentView>, Error> {
    let routing = state.store.routing_state().await?;
    let sources: HashMap<String, StatusSource> = state
        .store
        .agent_presence()
        .await?
        .into_iter()
        .map(|r| (r.agent, r.source))
        .collect();
    let loaded = state.config.load();
    let now = state.clock.now();
    let config = &loaded.config;
    Ok(config
        .roster()
        .agents
        .iter()
        .map(|a| {
            let source = sources.get(&a.id).copied();
            view(config, a, routing.agents.get(&a.id), source, now)
        })
        .collect())
}

/// An agent of the active pack, or a 404 naming the nearest one.
pub fn known(state: &Desk, id: &str) -> Result<(), Error> {
    let loaded = state.config.load();
    if loaded.config.roster().agent(id).is_some() {
        return Ok(());
    }
    let ids = loaded.config.roster().agents.iter().map(|a| a.id.as_str());
    let hint = crate::config::diag::did_you_mean(id, ids);
    Err(Error::not_found(format!(
        "no agent `{id}` in the rules (agents are defined under `agents:`){hint}"
    ))
    .field("id"))
}

/// Stores what an agent said about their availability; an agent coming online is offered the
/// tickets waiting in their teams' queues before the answer. The status last read from a
/// helpdesk for them stays as it was ([`super::presence`]).
pub async fn set_status(state: &Desk, id: &str, status: AgentStatus) -> Result<AgentView, Error> {
    known(state, id)?;
    state
        .store
        .set_agent_status(id, status, state.clock.now())
        .await?;
    statuses_changed(state, &[(id.to_string(), status)], StatusSource::Api).await;
    let routing = state.store.routing_state().await?;
    let loaded = state.config.load();
    let Some(agent) = loaded.config.roster().agent(id) else {
        // The rules were reloaded without the agent meanwhile.
        return Err(Error::not_found(format!("no agent `{id}` in the rules")).field("id"));
    };
    Ok(view(
        &loaded.config,
        agent,
        routing.agents.get(id),
        Some(StatusSource::Api),
        state.clock.now(),
    ))
}

/// What follows statuses just stored, from the API or a helpdesk poll: each is logged, and the
/// agents who came online are offered the tickets waiting in their teams' queues. Returns how
/// many queued tickets were assigned.
pub(crate) async fn statuses_changed(
    state: &Desk,
    changed: &[(String, AgentStatus)],
    source: StatusSource,
) -> usize {
    for (agent, status) in changed {
        tracing::info!(%agent, %status, %source, "agent status");
    }
    let online: Vec<String> = changed
        .iter()
        .filter(|(_, s)| *s == AgentStatus::Online)
        .map(|(a, _)| a.clone())
        .collect();
    if online.is_empty() {
        return 0;
    }
    route_queued_for(state, &online).await
}

/// Offers the queues of the teams of `agents`.
pub(crate) async fn route_queued_for(state: &Desk, agents: &[String]) -> usize {
    let teams: BTreeSet<String> = {
        let loaded = state.config.load();
        let roster = loaded.config.roster();
        agents
            .iter()
            .filter_map(|a| roster.agent(a))
            .flat_map(|a| a.teams.iter().map(|&t| roster.teams[t].id.clone()))
            .collect()
    };
    offer(state, teams).await
}

/// How often the scheduler offers every waiting queue. Status changes offer their teams at
/// once; the sweep is for what time changes (a shift starting) and for capacity freed by a
/// ticket leaving an agent. It reads the queues (up to 1,000 tickets) and must not run on every
/// turn of the scheduler: with timers coming due all the time that was dozens of full reads a
/// second, and on PostgreSQL with a long queue it slowed every routed decision.
pub const QUEUE_SWEEP: chrono::Duration = chrono::Duration::seconds(5);

/// [`route_all_queued`] when the last sweep is [`QUEUE_SWEEP`] old (on the desk's clock).
pub async fn sweep_queues_if_due(state: &Desk) -> usize {
    let now = state.clock.now();
    {
        let mut last = state.queues_swept_at.lock().expect("sweep lock");
        if last.is_some_and(|t| now - t < QUEUE_SWEEP && now >= t) {
            return 0;
        }
        *last = Some(now);
    }
    route_all_queued(state).await
}

/// Offers every queue that has tickets waiting.
pub async fn route_all_queued(state: &Desk) -> usize {
    let waiting = match state.store.queued(None, 1000).await {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the team queues");
            return 0;
        }
    };
    {
        let ids: BTreeSet<&str> = waiting.iter().map(|q| q.ticket_id.as_str()).collect();
        let mut offered = state.offered.lock().expect("offered lock");
        offered.retain(|t, _| ids.contains(t.as_str()));
    }
    let teams: BTreeSet<String> = waiting.into_iter().map(|q| q.team).collect();
    offer(state, teams).await
}

/// Who in a team could take a ticket of `channel` now (online, on shift, below the channel's
/// and the overall capacity), with their loads; `None` when nobody. An offer is made again
/// only when this changed.
fn availability(
    config: &Config,
    team: &str,
    channel: Channel,
    routing: &RoutingState,
    now: DateTime<Utc>,
) -> Option<u64> {
    let roster = config.roster();
    let team = roster.team(team)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut any = false;
    for &m in &team.members {
        let agent = &roster.agents[m];
        let st = routing.agents.get(&agent.id);
        if routing::unavailable(agent, st, config.calendars(), channel, now).is_none() {
            any = true;
            agent.id.hash(&mut hasher);
            st.map(|s| &s.open).hash(&mut hasher);
        }
    }
    any.then(|| hasher.finish())
}

async fn offer(state: &Desk, teams: BTreeSet<String>) -> usize {
    let mut assigned = 0;
    for team in teams {
        let queued = match state.store.queued(Some(&team), OFFERS_PER_TEAM).await {
            Ok(q) => q,
            Err(e) => {
                tracing::warn!(%team, error = %e, "cannot read the team queue");
                continue;
            }
        };
        if queued.is_empty() {
            continue;
        }
        // Read again only after an offer: nothing else here changes it.
        let mut routing = match state.store.routing_state().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the routing state");
                return assigned;
            }
        };
        for q in queued {
            let now = state.clock.now();
            let Some(signature) =
                availability(&state.config.load().config, &team, q.channel, &routing, now)
            else {
                continue; // nobody in the team has room for this channel now
            };
            {
                let mut offered = state.offered.lock().expect("offered lock");
                if offered.get(&q.ticket_id) == Some(&signature) {
                    continue; // offered to exactly these agents already
                }
                offered.insert(q.ticket_id.clone(), signature);
            }
            let event = Event {
                id: format!(
                    "agent.available:{}:{signature:016x}:{}",
                    q.ticket_id,
                    now.timestamp_micros()
                ),
                kind: EventType::AgentAvailable,
                occurred_at: Some(now),
                ticket: Ticket {
                    id: q.ticket_id.clone(),
                    ..Ticket::default()
                },
                message: None,
                changes: Default::default(),
                timer: None,
                data: json!({ "team": q.team, "rule": q.rule, "action": q.action })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            };
            match state
                .decide_and_store(event, Some(json!({ "id": q.ticket_id })), false)
                .await
            {
                Ok((applied, _)) if applied.decision.ticket.assignee.is_some() => {
                    assigned += 1;
                    state
                        .offered
                        .lock()
                        .expect("offered lock")
                        .remove(&q.ticket_id);
                    match state.store.routing_state().await {
                        Ok(r) => routing = r,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the routing state");
                            return assigned;
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(ticket = %q.ticket_id, error = %e, "queued ticket not offered")
                }
            }
        }
    }
    assigned
}
