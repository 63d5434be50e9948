//! What of a decision leaves frontdesk: which actions become outbox rows, and for tickets of a
//! helpdesk with a configured API, which requests of that API they become ([`helpdesk`]).
//! Pure: the store calls [`outbound`] inside the decision's transaction.

pub mod helpdesk;

use crate::engine::Decision;
use crate::model::Action;

/// The actions of a decision that go to the outbox, by index, each with its helpdesk target
/// (`None` for webhooks, Slack and e-mail). Called by the stores inside the decision's
/// transaction.
pub fn outbound(decision: &Decision) -> Vec<(usize, Option<serde_json::Value>)> {
    decision
        .actions
        .iter()
        .enumerate()
        .filter_map(|(i, action)| match action {
            Action::Webhook { .. } | Action::Notify { .. } => Some((i, None)),
            other => helpdesk::target(&decision.ticket, other).map(|t| (i, Some(t))),
        })
        .collect()
}
