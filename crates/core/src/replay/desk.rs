//! The routing state a replay decides with: what the recording shows of the desk, changed by
//! the candidate's own assignments.
//!
//! Agents' statuses and the loads of tickets outside the window are not in the recorded
//! events, but every recorded assignment's trace lists each member of the team it tried with
//! their open tickets and whether they were passed over as offline or away. So:
//!
//! - an agent's status is the one the recording last showed (passed over as offline or away,
//!   or considered, which means online); an agent it has not shown yet counts as online, and
//!   shift calendars apply as always;
//! - an agent's load is the candidate's open tickets among the replayed tickets, per channel,
//!   plus the open tickets the replay does not see (the recording's last count for the agent
//!   less the recorded tickets of the window it held then), overall only;
//! - a team's round-robin cursor follows the recording until the candidate assigns in the
//!   team itself; where the recording picked an agent round-robin, the candidate starts just
//!   before that agent, so with the same desk it picks the same one.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::engine::Decision;
use crate::model::{Channel, Named};
use crate::plan::without_slot;
use crate::routing::{AgentState, AgentStatus, Roster, RoutingState, Skip, Strategy};

/// A load slot: an agent and a channel name ([`crate::plan::load_slot`]).
pub(super) type Slot = Option<(String, &'static str)>;

/// The routing state of a replay.
#[derive(Debug, Default)]
pub(super) struct Desk {
    /// Statuses as observed; loads: the candidate's open tickets among the replayed ones.
    state: RoutingState,
    /// Per agent: open tickets outside the replayed ones, as the recording last showed them.
    outside: HashMap<String, u32>,
    /// Per agent: the recorded tickets of the window they hold as the recording left them.
    recorded: HashMap<String, u32>,
    /// Teams whose cursor the candidate moved.
    own: HashSet<String>,
}

impl Desk {
    /// Every agent of `roster` online with no tickets.
    pub(super) fn new(roster: &Roster) -> Desk {
        let mut state = RoutingState::default();
        for a in &roster.agents {
            state.agents.insert(
                a.id.clone(),
                AgentState {
                    status: AgentStatus::Online,
                    open: Default::default(),
                },
            );
        }
        Desk {
            state,
            ..Desk::default()
        }
    }

    /// Takes in what a recorded decision's routing traces show, before the candidate decides
    /// the same event. `prior` is the ticket's slot as the recording held it before.
    pub(super) fn observe(&mut self, roster: &Roster, d: &Decision, prior: &Slot) {
        for tr in &d.trace.routing {
            for c in &tr.candidates {
                let status = match c.skipped {
                    Some(Skip::Offline) => AgentStatus::Offline,
                    Some(Skip::Away) => AgentStatus::Away,
                    _ => AgentStatus::Online,
                };
                self.state.agents.entry(c.agent.clone()).or_default().status = status;
                let own = u32::from(prior.as_ref().is_some_and(|(a, _)| *a == c.agent));
                let held = self.recorded.get(&c.agent).copied().unwrap_or(0);
                self.outside.insert(
                    c.agent.clone(),
                    c.open.saturating_sub(held.saturating_sub(own)),
                );
            }
            if tr.strategy != Strategy::RoundRobin || self.own.contains(&tr.team) {
                continue;
            }
            let (Some(chosen), Some(team)) = (&tr.chosen, roster.team(&tr.team)) else {
                continue;
            };
            let ids: Vec<&str> = team
                .members
                .iter()
                .map(|&m| roster.agents[m].id.as_str())
                .collect();
            if let Some(pos) = ids.iter().position(|id| id == chosen) {
                let before = ids[(pos + ids.len() - 1) % ids.len()];
                self.state
                    .last_assigned
                    .insert(tr.team.clone(), before.to_string());
            }
        }
    }

    /// The state to decide a ticket holding `slot` with: its own slot left out, as the store
    /// leaves it out.
    pub(super) fn state_for(&self, slot: &Slot) -> RoutingState {
        let mut state = self.state.clone();
        for (agent, n) in &self.outside {
            state
                .agents
                .entry(agent.clone())
                .or_default()
                .open
                .add_total(*n);
        }
        without_slot(state, slot.as_ref())
    }

    /// The candidate's decision moved a ticket from slot `before` to `after`, and these
    /// cursors.
    pub(super) fn candidate(
        &mut self,
        before: &Slot,
        after: &Slot,
        cursors: &BTreeMap<String, String>,
    ) {
        if before != after {
            let state = std::mem::take(&mut self.state);
            self.state = without_slot(state, before.as_ref());
            if let Some((agent, channel)) = after {
                let load = &mut self.state.agents.entry(agent.clone()).or_default().open;
                match Channel::parse(channel) {
                    Some(ch) => load.add(ch, 1),
                    None => load.add_total(1),
                }
            }
        }
        for (team, agent) in cursors {
            self.own.insert(team.clone());
            self.state.last_assigned.insert(team.clone(), agent.clone());
        }
    }

    /// The recorded decision moved a ticket from slot `before` to `after`, and these cursors
    /// (followed in the teams the candidate has not assigned in).
    pub(super) fn recorded(
        &mut self,
        before: &Slot,
        after: &Slot,
        cursors: &BTreeMap<String, String>,
    ) {
        if before != after {
            if let Some((agent, _)) = before {
                if let Some(n) = self.recorded.get_mut(agent) {
                    *n = n.saturating_sub(1);
                }
            }
            if let Some((agent, _)) = after {
                *self.recorded.entry(agent.clone()).or_default() += 1;
            }
        }
        for (team, agent) in cursors {
            if !self.own.contains(team) {
                self.state.last_assigned.insert(team.clone(), agent.clone());
            }
        }
    }
}
