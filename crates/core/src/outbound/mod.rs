//! What of a decision leaves frontdesk: which actions become outbox rows, and for tickets of a
//! helpdesk with a configured API, which requests of that API they become ([`helpdesk`]).
//! Pure: the store calls [`outbound`] inside the decision's transaction.

pub mod helpdesk;

use serde_json::{json, Value};

use crate::engine::Decision;
use crate::model::{Action, Event, EventType};

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

/// The outbox rows of a chat that goes on in a helpdesk, beyond the decision's actions, each
/// with the suffix of its id (`<event id>/<suffix>`), its action and its helpdesk target:
///
/// - `open`: the handoff event of a chat, when the daemon opens chats in a helpdesk (the chat
///   service puts `{helpdesk, account, inbox, group}` in `event.data.chat.open`), and the ticket
///   has no conversation there yet: [`Action::OpenConversation`] with the transcript;
/// - `relay`: a line the customer wrote after the handoff (`event.data.chat.line`), when the
///   ticket has its conversation in a helpdesk whose API frontdesk calls:
///   [`Action::RelayMessage`].
pub fn chat_rows(event: &Event, decision: &Decision) -> Vec<(&'static str, Action, Value)> {
    let Some(chat) = event.data.get("chat") else {
        return Vec::new();
    };
    let ticket = &decision.ticket;
    let mut rows = Vec::new();
    let opened = ticket.source.as_ref().is_some_and(|s| s.id.is_some());
    if let Some(open) = chat.get("open").filter(|_| !opened) {
        let text = |k: &str| open.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(helpdesk) = text("helpdesk") {
            let lines = chat
                .get("transcript")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut target = json!({ "helpdesk": helpdesk, "session": chat.get("session") });
            for k in ["account", "inbox", "group"] {
                if let Some(v) = text(k) {
                    target[k] = json!(v);
                }
            }
            if let Some(name) = &ticket.customer.name {
                target["name"] = json!(name);
            }
            if let Some(email) = &ticket.customer.email {
                target["email"] = json!(email);
            }
            let action = Action::OpenConversation {
                subject: ticket.subject.clone(),
                transcript: helpdesk::transcript_text(lines),
            };
            rows.push(("open", action, target));
        }
    }
    if event.kind == EventType::MessageCreated && chat.get("line").is_some() {
        if let Some(m) = &event.message {
            let action = Action::RelayMessage {
                text: m.text.clone(),
            };
            if let Some(target) = helpdesk::target(ticket, &action).filter(|_| opened) {
                rows.push(("relay", action, target));
            }
        }
    }
    rows
}
