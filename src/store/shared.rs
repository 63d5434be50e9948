//! What both SQL stores do, written once. [`apply_one`] commits an event on any [`Conn`] (the
//! SQLite writer's handle, a PostgreSQL transaction): it reads what the store holds for the
//! event in one statement, lets [`crate::plan`] answer a repeat or decide, and executes the
//! plan's writes.

use chrono::{DateTime, Utc};

use super::sql::{self, Arg, Conn, Decode, Row, Texts};
use super::{Applied, RoutedDecideFn, StoreError};
use crate::model::{Channel, Event, Named};
use crate::plan::{self, Start, Stored};
use crate::routing::{AgentStatus, RoutingState};

/// Decides `event` inside the transaction open on `c` and writes what it produced. `None` when
/// the event's id turned out to be taken meanwhile (another replica committed it): nothing was
/// written, and the caller rolls back and answers from the store.
pub(crate) async fn apply_one<C: Conn>(
    c: &mut C,
    event: &Event,
    fingerprint: &str,
    received_at: DateTime<Utc>,
    routed: Option<&[String]>,
    decide: RoutedDecideFn,
) -> Result<Option<Applied>, StoreError> {
    // Everything the decision depends on, in one statement, read after the locks: whether the
    // id was used (perhaps by another replica while this one waited), the ticket, the timer.
    let args = [
        Arg::Text(&event.id),
        Arg::Text(&event.ticket.id),
        Arg::OptText(plan::firing(event)),
    ];
    let stored = c
        .first(&sql::READ_EVENT, &args, stored)
        .await?
        .unwrap_or_default();
    let deciding = match plan::start(event, fingerprint, stored)? {
        Start::Replay(decision) => {
            return Ok(Some(Applied {
                decision,
                replayed: true,
            }))
        }
        Start::Decide(deciding) => deciding,
    };
    let routing = match routed {
        Some(agents) if deciding.reads_routing() => read_routing(c, Some(agents)).await?,
        _ => RoutingState::default(),
    };
    let decided = deciding.decide(event, routing, decide)?;
    let plan = decided.plan(event, fingerprint, received_at)?;
    if !sql::write(c, &plan).await? {
        return Ok(None);
    }
    drop(plan);
    Ok(Some(Applied {
        decision: decided.decision,
        replayed: false,
    }))
}

/// `fingerprint, decision, ticket, timer` ([`sql::READ_EVENT`]).
fn stored(r: &dyn Row) -> Result<Stored, StoreError> {
    if let Some(fingerprint) = r.opt_text(0)? {
        return Ok(Stored {
            seen: Some((fingerprint.to_string(), r.string(1)?)),
            ..Stored::default()
        });
    }
    Ok(Stored {
        seen: None,
        ticket: r.opt_text(2)?.map(serde_json::from_str).transpose()?,
        timer: r.opt_string(3)?,
    })
}

/// Statuses, loads (of `agents`, or everyone's) and cursors, read on `c`.
pub(crate) async fn read_routing<C: Conn>(
    c: &mut C,
    agents: Option<&[String]>,
) -> Result<RoutingState, StoreError> {
    let load: Decode<(String, String, i64)> = |r| Ok((r.string(0)?, r.string(1)?, r.int(2)?));
    let status: Decode<(String, String)> = |r| Ok((r.string(0)?, r.string(1)?));
    let (loads, statuses) = match agents {
        Some(agents) => {
            let agents = Texts::new(agents);
            let of = [Arg::Texts(&agents)];
            let loads = c.fetch(&sql::LOADS_OF, &of, load).await?;
            (loads, c.fetch(&sql::STATUSES_OF, &of, status).await?)
        }
        None => {
            let loads = c.fetch(&sql::LOADS, &[], load).await?;
            (loads, c.fetch(&sql::STATUSES, &[], status).await?)
        }
    };
    let cursors = c
        .fetch(&sql::CURSORS, &[], |r| Ok((r.string(0)?, r.string(1)?)))
        .await?;
    Ok(routing_state(loads, statuses, cursors))
}

/// A state from rows of (assignee, channel, count), (agent, status) and (team, agent).
fn routing_state(
    loads: Vec<(String, String, i64)>,
    statuses: Vec<(String, String)>,
    cursors: Vec<(String, String)>,
) -> RoutingState {
    let mut state = RoutingState::default();
    for (agent, status) in statuses {
        state.agents.entry(agent).or_default().status =
            AgentStatus::parse(&status).unwrap_or_default();
    }
    for (agent, channel, n) in loads.into_iter().filter(|l| l.2 > 0) {
        let channel = Channel::parse(&channel).unwrap_or_default();
        state
            .agents
            .entry(agent)
            .or_default()
            .open
            .add(channel, u32::try_from(n).unwrap_or(u32::MAX));
    }
    state.last_assigned = cursors.into_iter().collect();
    state
}
