//! Agents over HTTP (`GET /v1/agents`, `PUT /v1/agents/{id}/status`), and offering queued
//! tickets to agents who can take them: when an agent comes online, when one of their tickets
//! is closed or reassigned, and on every scheduler round (a shift began).
//!
//! An offer is an `agent.available` event for the ticket that waited longest, decided through
//! the one event path; the engine tries the `assign` action that queued the ticket again.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{AppError, AppState};
use crate::config::Config;
use crate::model::{Channel, Event, EventType, Named, Ticket};
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

/// `GET /v1/agents`.
pub(super) async fn get_agents(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<AgentView>>, AppError> {
    let routing = state.store.routing_state().await?;
    let loaded = state.config.load();
    let now = state.clock.now();
    let config = &loaded.config;
    Ok(Json(
        config
            .roster()
            .agents
            .iter()
            .map(|a| view(config, a, routing.agents.get(&a.id), now))
            .collect(),
    ))
}

/// The body of `PUT /v1/agents/{id}/status`.
fn parse_status(bytes: &[u8]) -> Result<AgentStatus, AppError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::invalid_json(format!("invalid JSON: {e}")))?;
    let invalid = |message: String, field: &str| {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_status", message).field(field)
    };
    let Some(obj) = value.as_object() else {
        return Err(invalid(
            "send an object: {\"status\": \"online\" | \"away\" | \"offline\"}".into(),
            "status",
        ));
    };
    if let Some(k) = obj.keys().find(|k| *k != "status") {
        return Err(invalid(
            format!("unknown field `{k}`; only `status` is accepted"),
            k,
        ));
    }
    let names = AgentStatus::names().join(", ");
    match obj.get("status") {
        None => Err(invalid(
            format!("missing `status` (one of {names})"),
            "status",
        )),
        Some(Value::String(s)) => AgentStatus::parse(s).ok_or_else(|| {
            invalid(
                format!("`{s}` is not a status; use one of {names}"),
                "status",
            )
        }),
        Some(other) => Err(invalid(
            format!("expected text (one of {names}), found {other}"),
            "status",
        )),
    }
}

/// `PUT /v1/agents/{id}/status`: stores the status; an agent coming online is offered the
/// tickets waiting in their teams' queues before the answer.
pub(super) async fn put_status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<AgentView>, AppError> {
    super::routes::require_json(&headers)?;
    let bytes = super::routes::body(bytes, "the body limit")?;
    let known = state.config.load().config.roster().agent(&id).is_some();
    if !known {
        let loaded = state.config.load();
        let ids = loaded.config.roster().agents.iter().map(|a| a.id.as_str());
        let hint = crate::config::diag::did_you_mean(&id, ids);
        return Err(AppError::not_found(format!(
            "no agent `{id}` in the rules (agents are defined under `agents:`){hint}"
        ))
        .field("id"));
    }
    let status = parse_status(&bytes)?;
    state
        .store
        .set_agent_status(&id, status, state.clock.now())
        .await?;
    tracing::info!(agent = %id, %status, "agent status");
    if status == AgentStatus::Online {
        route_queued_for(&state, std::slice::from_ref(&id)).await;
    }
    let routing = state.store.routing_state().await?;
    let loaded = state.config.load();
    let agent = loaded.config.roster().agent(&id).expect("checked above");
    Ok(Json(view(
        &loaded.config,
        agent,
        routing.agents.get(&id),
        state.clock.now(),
    )))
}

/// Offers the queues of the teams of `agents`.
pub(super) async fn route_queued_for(state: &AppState, agents: &[String]) -> usize {
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

/// Offers every queue that has tickets waiting.
pub(super) async fn route_all_queued(state: &AppState) -> usize {
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

async fn offer(state: &AppState, teams: BTreeSet<String>) -> usize {
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
                    tracing::warn!(ticket = %q.ticket_id, error = %e.message, "queued ticket not offered")
                }
            }
        }
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_are_checked_field_by_field() {
        assert_eq!(
            parse_status(br#"{"status":"online"}"#),
            Ok(AgentStatus::Online)
        );
        let bad = parse_status(br#"{"status":"busy"}"#).unwrap_err();
        assert_eq!(
            (bad.status.as_u16(), bad.field.as_deref()),
            (422, Some("status"))
        );
        assert!(
            bad.message.contains("online, away, offline"),
            "{}",
            bad.message
        );
        let extra = parse_status(br#"{"status":"away","mood":"good"}"#).unwrap_err();
        assert_eq!(extra.field.as_deref(), Some("mood"));
        assert_eq!(
            parse_status(b"{}").unwrap_err().field.as_deref(),
            Some("status")
        );
        assert_eq!(parse_status(b"nope").unwrap_err().status.as_u16(), 400);
    }
}
