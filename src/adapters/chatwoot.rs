//! Chatwoot: account webhooks, API-inbox callbacks and agent bots (all send the same bodies).
//!
//! | `event` | becomes |
//! |---|---|
//! | `message_created`, incoming and not private | `message.created` |
//! | `message_created`, outgoing / activity / template / private | ignored (no reply loops) |
//! | `conversation_created` | `ticket.created` (with the first incoming message, if any) |
//! | `conversation_status_changed`, `conversation_opened`, `conversation_resolved` | `ticket.status_changed` |
//! | `conversation_updated` | `ticket.updated` |
//! | anything else (`message_updated`, `webwidget_triggered`, `contact_*`, ...) | ignored |
//!
//! Both shapes are read: the current one (conversation with `meta.sender`, `contact_inbox`,
//! string `message_type`, ISO `created_at`) and the 2020–21 one (`sender.type: "contact"`, no
//! `meta`, no `private`). `conversation.id` is the per-account display id, which is also what the
//! REST API takes, so it is the ticket id.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::read::At;
use super::{body_digest_id, AdapterError, Inbound, Translated};
use crate::model::{
    Author, Change, Channel, Customer, Event, EventType, Message, Priority, Status, Ticket,
};

/// Header Chatwoot puts a per-delivery UUID in; retries reuse it.
const DELIVERY: &str = "x-chatwoot-delivery";

type Res<T> = Result<T, AdapterError>;

pub(super) fn translate(inbound: &Inbound<'_>, root: &At<'_>) -> Res<Translated> {
    let name = root.req("event")?.str()?;
    match name {
        "message_created" => message_created(inbound, root),
        "conversation_created" => conversation_event(inbound, root, EventType::TicketCreated),
        "conversation_status_changed" | "conversation_opened" | "conversation_resolved" => {
            conversation_event(inbound, root, EventType::TicketStatusChanged)
        }
        "conversation_updated" => conversation_event(inbound, root, EventType::TicketUpdated),
        other => Ok(Translated::Ignored {
            reason: format!("Chatwoot event `{other}` is not translated"),
        }),
    }
}

/// `message_type`: text at the top level, an integer inside `conversation.messages[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageType {
    Incoming,
    Outgoing,
    Activity,
    Template,
}

const MESSAGE_TYPES: [(&str, MessageType); 4] = [
    ("incoming", MessageType::Incoming),
    ("outgoing", MessageType::Outgoing),
    ("activity", MessageType::Activity),
    ("template", MessageType::Template),
];

fn message_type(at: &At<'_>) -> Res<MessageType> {
    let found = match at.value {
        Value::String(s) => MESSAGE_TYPES.iter().find(|(n, _)| n == s),
        Value::Number(n) => n
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| MESSAGE_TYPES.get(i)),
        _ => None,
    };
    found.map(|(_, t)| *t).ok_or_else(|| {
        at.error(format!(
            "unknown message type {}; expected incoming, outgoing, activity or template (or 0-3)",
            at.value
        ))
    })
}

fn message_created(inbound: &Inbound<'_>, root: &At<'_>) -> Res<Translated> {
    let kind = message_type(&root.req("message_type")?)?;
    // A person's reply is outgoing and its sender a user (an agent); what an agent bot or
    // frontdesk's own bot token sends through the API comes back as outgoing from the bot.
    let sender = root.get_object("sender")?;
    let by_person = match &sender {
        Some(s) => s
            .get_str("type")?
            .is_some_and(|t| t.eq_ignore_ascii_case("user")),
        None => false,
    };
    let agent = match kind {
        MessageType::Incoming => false,
        MessageType::Outgoing if by_person => true,
        MessageType::Outgoing => return Ok(Translated::Ignored {
            reason:
                "outgoing message not written by a person (a bot's, or one sent through the API)"
                    .into(),
        }),
        _ => {
            let name = MESSAGE_TYPES[kind as usize].0;
            return Ok(Translated::Ignored {
                reason: format!(
                    "{name} message: only the customer's messages and people's replies are translated"
                ),
            });
        }
    };
    if root.get_bool("private")?.unwrap_or(false) {
        return Ok(Translated::Ignored {
            reason: "private note: notes between agents are not translated".into(),
        });
    }
    let conversation = root.req("conversation")?.object()?;
    let mut ticket = ticket(&conversation)?;
    // The conversation's contact; an agent bot's payload may only carry the message's sender.
    let contact = match conversation.get_object("meta")? {
        Some(meta) => meta.get_object("sender")?,
        None => None,
    };
    let contact = match contact {
        Some(c) => Some(c),
        // An agent's reply names the agent as its sender, not the customer.
        None if agent => root.get_object("contact")?,
        None => match sender.clone() {
            Some(sender) => Some(sender),
            None => root.get_object("contact")?,
        },
    };
    if let Some(contact) = contact {
        ticket.customer = customer(&contact, &conversation)?;
    }
    let message_id = root.get_id("id")?;
    let author_name = match (&sender, agent) {
        (Some(s), true) => match s.get_text("available_name")? {
            Some(n) => Some(n),
            None => s.get_text("name")?,
        },
        _ => None,
    };
    let message = Message {
        id: message_id.clone(),
        text: root.get_str("content")?.unwrap_or_default().to_string(),
        author: if agent {
            Author::Agent
        } else {
            Author::Customer
        },
        at: root.get_time("created_at")?,
        language: None,
        author_name,
    };
    let id = match (inbound.header(DELIVERY), &message_id) {
        (Some(delivery), _) => delivery.to_string(),
        (None, Some(mid)) => format!("chatwoot:message:{mid}"),
        (None, None) => body_digest_id("chatwoot", inbound.body),
    };
    Ok(Translated::Event(Event {
        id,
        kind: if agent {
            EventType::MessageAgent
        } else {
            EventType::MessageCreated
        },
        occurred_at: message.at,
        ticket,
        message: Some(message),
        changes: BTreeMap::new(),
        timer: None,
        data: data(root, &conversation)?,
    }))
}

/// `conversation_*` events: the body is the conversation itself, plus `event` and, for updates,
/// `changed_attributes`.
fn conversation_event(inbound: &Inbound<'_>, root: &At<'_>, kind: EventType) -> Res<Translated> {
    let mut ticket = ticket(root)?;
    let contact = match root.get_object("meta")? {
        Some(meta) => meta.get_object("sender")?,
        None => None,
    };
    if let Some(contact) = contact {
        ticket.customer = customer(&contact, root)?;
    }
    let mut changes = changed_attributes(root)?;
    if kind == EventType::TicketStatusChanged && !changes.contains_key("ticket.status") {
        // Agent bots get `conversation_opened`/`conversation_resolved` without the old value.
        changes.insert(
            "ticket.status".into(),
            Change {
                from: Value::Null,
                to: Value::String(ticket.status.to_string()),
            },
        );
    }
    let message = match kind {
        EventType::TicketCreated => first_customer_message(root)?,
        _ => None,
    };
    let occurred_at = match kind {
        EventType::TicketCreated => root.get_time("created_at")?,
        _ => None,
    };
    let id = match inbound.header(DELIVERY) {
        Some(delivery) => delivery.to_string(),
        None => body_digest_id("chatwoot", inbound.body),
    };
    Ok(Translated::Event(Event {
        id,
        kind,
        occurred_at,
        ticket,
        message,
        changes,
        timer: None,
        data: data(root, root)?,
    }))
}

/// The ticket as the conversation object describes it.
fn ticket(conversation: &At<'_>) -> Res<Ticket> {
    let id = match conversation.get("id") {
        Some(id) => id.id()?,
        // The 2020 docs' sample called it `display_id`.
        None => conversation.req("display_id")?.id()?,
    };
    let mut ticket = Ticket {
        id,
        ..Ticket::default()
    };
    if let Some(channel) = conversation.get_str("channel")? {
        ticket.channel = channel_of(channel);
    }
    if let Some(status) = conversation.get("status") {
        ticket.status = status_of(&status)?;
    }
    if let Some(priority) = conversation.get("priority") {
        ticket.priority = priority_of(&priority)?;
    }
    ticket.tags = conversation.get_words("labels")?;
    if let Some(meta) = conversation.get_object("meta")? {
        if let Some(assignee) = meta.get_object("assignee")? {
            ticket.assignee = assignee.get_id("id")?;
        }
        if let Some(team) = meta.get_object("team")? {
            ticket.group = team.get_text("name")?;
        }
    }
    if let Some(attrs) = conversation.get_object("additional_attributes")? {
        ticket.subject = attrs.get_text("mail_subject")?.unwrap_or_default();
    }
    ticket.fields = conversation.get_fields("custom_attributes")?;
    ticket.created_at = conversation.get_time("created_at")?;
    ticket.updated_at = conversation.get_time("updated_at")?;
    ticket.first_response_at = conversation.get_time("first_reply_created_at")?;
    Ok(ticket)
}

/// The customer from a contact object. The language comes from the contact's
/// `additional_attributes.language`, else the conversation's
/// `additional_attributes.browser_language` (web widget).
fn customer(contact: &At<'_>, conversation: &At<'_>) -> Res<Customer> {
    let fields = contact.get_fields("custom_attributes")?;
    let tier = fields
        .get("tier")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let mut language = None;
    if let Some(attrs) = contact.get_object("additional_attributes")? {
        language = attrs.get_text("language")?;
    }
    if language.is_none() {
        if let Some(attrs) = conversation.get_object("additional_attributes")? {
            language = attrs.get_text("browser_language")?;
        }
    }
    Ok(Customer {
        id: contact.get_id("id")?,
        name: contact.get_text("name")?,
        first_name: None,
        email: contact.get_text("email")?,
        language,
        tier,
        fields,
        timezone: None,
    })
}

/// The conversation's first incoming, public message (`conversation_created` carries it when the
/// customer opened the conversation by writing).
fn first_customer_message(conversation: &At<'_>) -> Res<Option<Message>> {
    let Some(messages) = conversation.get("messages") else {
        return Ok(None);
    };
    for m in messages.items()? {
        let m = m.object()?;
        let incoming = match m.get("message_type") {
            Some(t) => message_type(&t)? == MessageType::Incoming,
            None => false,
        };
        if incoming && !m.get_bool("private")?.unwrap_or(false) {
            return Ok(Some(Message {
                id: m.get_id("id")?,
                text: m.get_str("content")?.unwrap_or_default().to_string(),
                author: Author::Customer,
                at: m.get_time("created_at")?,
                language: None,
                author_name: None,
            }));
        }
    }
    Ok(None)
}

/// `changed_attributes`: `[{"status": {"previous_value": .., "current_value": ..}}, ...]`
/// (an object of the same members is read too). Status and priority are translated to
/// `ticket.status` / `ticket.priority` changes; other attributes are left out.
fn changed_attributes(root: &At<'_>) -> Res<BTreeMap<String, Change>> {
    let mut changes = BTreeMap::new();
    let Some(attrs) = root.get("changed_attributes") else {
        return Ok(changes);
    };
    let entries = match attrs.value {
        Value::Array(_) => attrs.items()?,
        Value::Object(_) => vec![attrs],
        _ => {
            return Err(attrs.error(format!(
                "expected an array of changes, found {}",
                super::read::kind(attrs.value)
            )))
        }
    };
    for entry in entries {
        let entry = entry.object()?;
        for (name, path) in [("status", "ticket.status"), ("priority", "ticket.priority")] {
            let Some(change) = entry.get_object(name)? else {
                continue;
            };
            let side = |key: &str| -> Res<Value> {
                Ok(match (name, change.get(key)) {
                    (_, None) => Value::Null,
                    ("status", Some(v)) => Value::String(status_of(&v)?.to_string()),
                    (_, Some(v)) => Value::String(priority_of(&v)?.to_string()),
                })
            };
            changes.insert(
                path.to_string(),
                Change {
                    from: side("previous_value")?,
                    to: side("current_value")?,
                },
            );
        }
    }
    Ok(changes)
}

/// `Channel::WebWidget` and friends.
fn channel_of(name: &str) -> Channel {
    match name.strip_prefix("Channel::").unwrap_or(name) {
        "WebWidget" => Channel::Chat,
        "Api" => Channel::Api,
        "Email" => Channel::Email,
        "Whatsapp" => Channel::Whatsapp,
        "Sms" | "TwilioSms" => Channel::Sms,
        "FacebookPage" => Channel::Facebook,
        "Telegram" => Channel::Telegram,
        "Instagram" => Channel::Instagram,
        "TwitterProfile" => Channel::Twitter,
        _ => Channel::Other,
    }
}

fn status_of(at: &At<'_>) -> Res<Status> {
    Ok(match at.str()? {
        "open" => Status::Open,
        "pending" => Status::Pending,
        "resolved" => Status::Solved,
        "snoozed" => Status::OnHold,
        other => {
            return Err(at.error(format!(
                "unknown conversation status `{other}`; expected open, pending, resolved or snoozed"
            )))
        }
    })
}

/// Chatwoot priorities are `low`, `medium`, `high`, `urgent` (or none).
fn priority_of(at: &At<'_>) -> Res<Priority> {
    Ok(match at.str()? {
        "low" => Priority::Low,
        "medium" => Priority::Normal,
        "high" => Priority::High,
        "urgent" => Priority::Urgent,
        other => {
            return Err(at.error(format!(
                "unknown conversation priority `{other}`; expected low, medium, high or urgent"
            )))
        }
    })
}

/// `event.data.chatwoot`: what a connector needs to answer (account, inbox, conversation).
fn data(root: &At<'_>, conversation: &At<'_>) -> Res<Map<String, Value>> {
    let mut account_id = None;
    for holder in [root, conversation] {
        if account_id.is_none() {
            if let Some(account) = holder.get_object("account")? {
                account_id = account.get_id("id")?;
            }
        }
    }
    if account_id.is_none() {
        account_id = conversation.get_id("account_id")?;
    }
    let mut inbox_id = conversation.get_id("inbox_id")?;
    if inbox_id.is_none() {
        if let Some(inbox) = root.get_object("inbox")? {
            inbox_id = inbox.get_id("id")?;
        }
    }
    let mut chatwoot = Map::new();
    chatwoot.insert("event".into(), json!(root.req("event")?.str()?));
    if let Some(account_id) = account_id {
        chatwoot.insert("account_id".into(), json!(account_id));
    }
    if let Some(inbox_id) = inbox_id {
        chatwoot.insert("inbox_id".into(), json!(inbox_id));
    }
    let mut data = Map::new();
    data.insert("chatwoot".into(), Value::Object(chatwoot));
    Ok(data)
}
