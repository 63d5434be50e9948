//! Zendesk: two kinds of body.
//!
//! - **Trigger or automation webhooks.** The admin writes the JSON with `{{ticket.*}}`
//!   placeholders, so there is no fixed schema; frontdesk reads the template documented in
//!   `docs/adapters.md` (`{"type", "ticket": {...}, "message": {...}}`), whose `type` the admin
//!   sets per trigger (`ticket.created`, `message.created`, ...). Placeholders render as text, so
//!   every value may be a string; an empty string counts as absent.
//! - **Event subscriptions** (`"type": "zen:event-type:ticket.*"`, the fixed envelope with
//!   `detail` and `event`):
//!
//! | `type` | becomes |
//! |---|---|
//! | `ticket.created` | `ticket.created` (message: the description) |
//! | `ticket.comment_added`, public | `message.created` (requester or `is_staff: false`) or `message.agent` |
//! | `ticket.comment_added`, private | ignored |
//! | `ticket.status_changed` | `ticket.status_changed` with the `ticket.status` change |
//! | `ticket.priority_changed`, `ticket.subject_changed` | `ticket.updated` with the change |
//! | `ticket.agent_assignment_changed`, `ticket.group_assignment_changed` | `ticket.assigned` with the `ticket.assignee` / `ticket.group` change |
//! | other `ticket.*`, and `user.*`, `organization.*`, ... | ignored |

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::read::At;
use super::text::channel_from_words;
use super::{body_digest_id, AdapterError, Inbound, Translated};
use crate::config::diag::did_you_mean;
use crate::model::{
    Author, Change, Customer, Event, EventType, Message, Named, Priority, Status, Ticket,
};

const EVENT_TYPE_PREFIX: &str = "zen:event-type:";
const INVOCATION: &str = "x-zendesk-webhook-invocation-id";
const ACCOUNT: &str = "x-zendesk-account-id";
const WEBHOOK: &str = "x-zendesk-webhook-id";

/// The event types a trigger body may name.
pub(crate) const TRIGGER_TYPES: &[EventType] = &[
    EventType::TicketCreated,
    EventType::MessageCreated,
    EventType::MessageAgent,
    EventType::TicketUpdated,
    EventType::TicketStatusChanged,
    EventType::TicketAssigned,
];

type Res<T> = Result<T, AdapterError>;

pub(super) fn translate(inbound: &Inbound<'_>, root: &At<'_>) -> Res<Translated> {
    if let Some(kind) = root.get("type") {
        if let Some(name) = kind.str()?.strip_prefix(EVENT_TYPE_PREFIX) {
            return subscription(inbound, root, name);
        }
    }
    if root.get("ticket").is_none() {
        return Err(AdapterError::payload(
            "ticket",
            "required field is missing; expected a trigger body `{\"type\", \"ticket\", \"message\"}` \
             (docs/adapters.md) or an event subscription (`\"type\": \"zen:event-type:…\"`)",
        ));
    }
    trigger(inbound, root)
}

// ---- trigger and automation bodies -------------------------------------------------------

fn trigger(inbound: &Inbound<'_>, root: &At<'_>) -> Res<Translated> {
    let kind_at = root.req("type")?;
    let kind = trigger_type(&kind_at)?;
    let t = root.req("ticket")?.object()?;
    let mut ticket = Ticket {
        id: t.req("id")?.id()?,
        subject: t.get_text("subject")?.unwrap_or_default(),
        ..Ticket::default()
    };
    if let Some(status) = t.get("status").filter(|s| !is_blank(s)) {
        ticket.status = status_of(&status)?;
    }
    if let Some(priority) = t.get("priority") {
        ticket.priority = priority_of(&priority)?;
    }
    if let Some(via) = t.get_text("via")? {
        ticket.channel = channel_from_words(&via);
    }
    ticket.tags = t.get_words("tags")?;
    ticket.group = t.get_text("group")?;
    ticket.assignee = t.get_id("assignee")?;
    ticket.fields = t.get_fields("fields")?;
    ticket.created_at = t.get_time("created_at")?;
    ticket.updated_at = t.get_time("updated_at")?;
    if let Some(requester) = t.get_object("requester")? {
        ticket.customer = requester_of(&requester)?;
    }

    let message = match root.get_object("message")? {
        Some(m) => {
            let author = match m.get("author").filter(|a| !is_blank(a)) {
                Some(a) => author_of(&a)?,
                None if kind == EventType::MessageAgent => Author::Agent,
                None => Author::Customer,
            };
            Some(Message {
                id: m.get_id("id")?,
                text: m.get_str("text")?.unwrap_or_default().trim().to_string(),
                author,
                at: m.get_time("at")?,
                language: None,
                // `{{current_user.name}}` in the trigger's body.
                author_name: m.get_text("author_name")?,
            })
        }
        None if matches!(kind, EventType::MessageCreated | EventType::MessageAgent) => {
            return Err(AdapterError::payload(
                "message",
                format!("required field is missing; a `{kind}` body carries the message"),
            ));
        }
        None => None,
    };

    let id = match (root.get_id("id")?, inbound.header(INVOCATION)) {
        (Some(id), _) => id,
        (None, Some(invocation)) => invocation.to_string(),
        (None, None) => body_digest_id("zendesk", inbound.body),
    };
    let mut zendesk = Map::new();
    for (key, header) in [("account_id", ACCOUNT), ("webhook_id", WEBHOOK)] {
        if let Some(value) = inbound.header(header) {
            zendesk.insert(key.into(), json!(value));
        }
    }
    let mut data = Map::new();
    data.insert("zendesk".into(), Value::Object(zendesk));
    Ok(Translated::Event(Event {
        id,
        kind,
        occurred_at: message.as_ref().and_then(|m| m.at),
        ticket,
        message,
        changes: BTreeMap::new(),
        timer: None,
        data,
    }))
}

fn trigger_type(at: &At<'_>) -> Res<EventType> {
    let name = at.str()?.trim();
    let names: Vec<&str> = TRIGGER_TYPES.iter().map(|t| t.name()).collect();
    match EventType::parse(name) {
        Some(kind) if TRIGGER_TYPES.contains(&kind) => Ok(kind),
        _ => {
            let hint = did_you_mean(name, names.iter().copied());
            let hint = if hint.is_empty() {
                format!(" (expected one of: {})", names.join(", "))
            } else {
                hint
            };
            Err(at.error(format!("unknown event type `{name}`{hint}")))
        }
    }
}

fn requester_of(r: &At<'_>) -> Res<Customer> {
    let mut customer = Customer {
        id: r.get_id("id")?,
        name: r.get_text("name")?,
        first_name: r.get_text("first_name")?,
        email: r.get_text("email")?,
        tier: r.get_text("tier")?,
        fields: r.get_fields("fields")?,
        ..Customer::default()
    };
    if let Some(language) = r.get_text("language")? {
        if looks_like_language_tag(&language) {
            customer.language = Some(language);
        } else {
            // `{{ticket.requester.language}}` may render a language's name ("English").
            customer.fields.insert("language".into(), json!(language));
        }
    }
    Ok(customer)
}

/// `en`, `nb-NO`, `zh-Hans`, `pt_BR`: letters, then subtags of letters and digits.
fn looks_like_language_tag(s: &str) -> bool {
    let mut parts = s.split(['-', '_']);
    let first = parts.next().unwrap_or_default();
    (2..=3).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn author_of(at: &At<'_>) -> Res<Author> {
    let name = at.str()?.trim();
    Author::parse(name).ok_or_else(|| {
        let names = Author::names();
        at.error(format!(
            "unknown author `{name}`{}",
            match did_you_mean(name, names.iter().copied()) {
                hint if hint.is_empty() => format!(" (expected one of: {})", names.join(", ")),
                hint => hint,
            }
        ))
    })
}

// ---- event subscriptions -----------------------------------------------------------------

fn subscription(inbound: &Inbound<'_>, root: &At<'_>, name: &str) -> Res<Translated> {
    let full = format!("{EVENT_TYPE_PREFIX}{name}");
    if !name.starts_with("ticket.") {
        return Ok(Translated::Ignored {
            reason: format!("Zendesk event `{full}` is not about a ticket"),
        });
    }
    let detail = root.req("detail")?.object()?;
    let mut ticket = ticket_of_detail(&detail)?;
    let mut changes = BTreeMap::new();
    let mut message = None;
    let event = || root.req("event").and_then(At::object);
    let kind = match name {
        "ticket.created" => {
            let text = detail.get_text("description")?.unwrap_or_default();
            if !text.is_empty() {
                message = Some(Message {
                    text,
                    at: ticket.created_at,
                    ..Message::default()
                });
            }
            EventType::TicketCreated
        }
        "ticket.comment_added" => {
            let comment = event()?.req("comment")?.object()?;
            if !comment.get_bool("is_public")?.unwrap_or(true) {
                return Ok(Translated::Ignored {
                    reason: "private comment: notes between agents are not translated".into(),
                });
            }
            // `is_staff` decides; without it, the requester is the customer and anyone else staff.
            let (author_id, is_staff, author_name) = match comment.get_object("author")? {
                Some(a) => (
                    a.get_id("id")?,
                    a.get_bool("is_staff")?,
                    a.get_text("name")?,
                ),
                None => (None, None, None),
            };
            let author = match (author_id, is_staff) {
                (_, Some(true)) => Author::Agent,
                (_, Some(false)) => Author::Customer,
                (Some(id), None) if Some(&id) == ticket.customer.id.as_ref() => Author::Customer,
                _ => Author::Agent,
            };
            message = Some(Message {
                id: comment.get_id("id")?,
                text: comment
                    .get_str("body")?
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                author,
                at: root.get_time("time")?,
                language: None,
                author_name: author_name.filter(|_| author == Author::Agent),
            });
            match author {
                Author::Customer => EventType::MessageCreated,
                _ => EventType::MessageAgent,
            }
        }
        "ticket.status_changed" => {
            let e = event()?;
            let side = |key: &str| -> Res<Value> {
                match e.get(key).filter(|v| !is_blank(v)) {
                    Some(v) => Ok(json!(status_of(&v)?.name())),
                    None => Ok(Value::Null),
                }
            };
            changes.insert(
                "ticket.status".into(),
                Change {
                    from: side("previous")?,
                    to: side("current")?,
                },
            );
            EventType::TicketStatusChanged
        }
        "ticket.priority_changed" => {
            let e = event()?;
            let side = |key: &str| -> Res<Value> {
                match e.get(key) {
                    Some(v) => Ok(json!(priority_of(&v)?.name())),
                    None => Ok(Value::Null),
                }
            };
            changes.insert(
                "ticket.priority".into(),
                Change {
                    from: side("previous")?,
                    to: side("current")?,
                },
            );
            EventType::TicketUpdated
        }
        "ticket.subject_changed" => {
            changes.insert("ticket.subject".into(), text_change(&event()?)?);
            EventType::TicketUpdated
        }
        "ticket.agent_assignment_changed" => {
            changes.insert("ticket.assignee".into(), id_change(&event()?)?);
            EventType::TicketAssigned
        }
        "ticket.group_assignment_changed" => {
            changes.insert("ticket.group".into(), id_change(&event()?)?);
            EventType::TicketAssigned
        }
        _ => {
            return Ok(Translated::Ignored {
                reason: format!("Zendesk event `{full}` is not translated"),
            })
        }
    };
    if ticket.subject.is_empty() {
        if let Some(Value::String(subject)) = changes.get("ticket.subject").map(|c| &c.to) {
            ticket.subject = subject.clone();
        }
    }
    let id = match (root.get_id("id")?, inbound.header(INVOCATION)) {
        (Some(id), _) => id,
        (None, Some(invocation)) => invocation.to_string(),
        (None, None) => body_digest_id("zendesk", inbound.body),
    };
    let mut zendesk = Map::new();
    zendesk.insert("event_type".into(), json!(full));
    if let Some(account) = root.get_id("account_id")? {
        zendesk.insert("account_id".into(), json!(account));
    }
    let mut data = Map::new();
    data.insert("zendesk".into(), Value::Object(zendesk));
    Ok(Translated::Event(Event {
        id,
        kind,
        occurred_at: root.get_time("time")?,
        ticket,
        message,
        changes,
        timer: None,
        data,
    }))
}

/// The ticket from an event's `detail` (ids only: no names of the requester, group or agent).
fn ticket_of_detail(d: &At<'_>) -> Res<Ticket> {
    let mut ticket = Ticket {
        id: d.req("id")?.id()?,
        subject: d.get_text("subject")?.unwrap_or_default(),
        ..Ticket::default()
    };
    if let Some(status) = d.get("status").filter(|s| !is_blank(s)) {
        ticket.status = status_of(&status)?;
    }
    if let Some(priority) = d.get("priority") {
        ticket.priority = priority_of(&priority)?;
    }
    if let Some(via) = d.get_object("via")? {
        if let Some(channel) = via.get_text("channel")? {
            ticket.channel = channel_from_words(&channel);
        }
    }
    ticket.tags = d.get_words("tags")?;
    ticket.assignee = d.get_id("assignee_id")?;
    ticket.group = d.get_id("group_id")?;
    ticket.customer.id = d.get_id("requester_id")?;
    ticket.created_at = d.get_time("created_at")?;
    ticket.updated_at = d.get_time("updated_at")?;
    Ok(ticket)
}

fn id_change(event: &At<'_>) -> Res<Change> {
    let side =
        |key: &str| -> Res<Value> { Ok(event.get_id(key)?.map_or(Value::Null, Value::String)) };
    Ok(Change {
        from: side("previous")?,
        to: side("current")?,
    })
}

fn text_change(event: &At<'_>) -> Res<Change> {
    let side =
        |key: &str| -> Res<Value> { Ok(event.get_str(key)?.map_or(Value::Null, |s| json!(s))) };
    Ok(Change {
        from: side("previous")?,
        to: side("current")?,
    })
}

fn is_blank(at: &At<'_>) -> bool {
    at.value.as_str().is_some_and(|s| s.trim().is_empty())
}

/// `new`, `open`, `pending`, `hold` / `on-hold`, `solved`, `closed`, in any case.
fn status_of(at: &At<'_>) -> Res<Status> {
    let raw = at.str()?.trim();
    let name = raw.to_lowercase().replace(['-', ' '], "_");
    let status = match name.as_str() {
        "hold" => Some(Status::OnHold),
        other => Status::parse(other),
    };
    status.ok_or_else(|| {
        at.error(format!(
            "unknown ticket status `{raw}`; expected new, open, pending, on-hold, solved or closed"
        ))
    })
}

/// `low`, `normal`, `high`, `urgent` in any case; empty or `-` (no priority) is `normal`.
fn priority_of(at: &At<'_>) -> Res<Priority> {
    let raw = at.str()?.trim();
    if raw.is_empty() || raw == "-" {
        return Ok(Priority::Normal);
    }
    Priority::parse(raw).ok_or_else(|| {
        at.error(format!(
            "unknown ticket priority `{raw}`; expected low, normal, high or urgent"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_told_from_names() {
        for tag in ["en", "nb-NO", "zh-Hans", "pt_BR", "ast"] {
            assert!(looks_like_language_tag(tag), "{tag}");
        }
        for name in ["English", "Norsk (bokmål)", "e", "en-", ""] {
            assert!(!looks_like_language_tag(name), "{name}");
        }
    }
}
