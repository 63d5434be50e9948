//! Zammad: the trigger webhook's default payload, `{ticket, article}` with expanded objects
//! (`ticket.customer`, `ticket.group`, `ticket.owner`, `ticket.priority`, ...).
//!
//! | article | becomes |
//! |---|---|
//! | the ticket's first article, sender `Customer` | `ticket.created` |
//! | sender `Customer` | `message.created` |
//! | sender `Agent` (the ticket's first article too) | `message.agent` |
//! | `internal: true`, or sender `System` | ignored |
//! | none (a trigger on a ticket change) | `ticket.updated` |
//!
//! A custom webhook payload (`#{ticket.title}` templates) cannot be read; the error says so.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::read::At;
use super::text::{channel_from_words, html_to_text};
use super::{body_digest_id, AdapterError, Inbound, Translated};
use crate::model::{Author, Customer, Event, EventType, Message, Named, Priority, Status, Ticket};

/// Header with the delivery's job id (kept across retries).
const DELIVERY: &str = "x-zammad-delivery";
/// Header with the name of the trigger that sent the delivery.
const TRIGGER: &str = "x-zammad-trigger";

type Res<T> = Result<T, AdapterError>;

pub(super) fn translate(inbound: &Inbound<'_>, root: &At<'_>) -> Res<Translated> {
    let ticket_at = root.req("ticket")?;
    if !ticket_at.value.is_object() {
        return Err(ticket_at.error(format!(
            "expected the ticket object of Zammad's default webhook payload, found {}; \
             a custom payload cannot be read, leave the webhook's custom payload off",
            super::read::kind(ticket_at.value)
        )));
    }
    let (mut ticket, mut zammad) = ticket(&ticket_at)?;
    let article = root
        .get_object("article")?
        .filter(|a| a.value.as_object().is_some_and(|m| !m.is_empty()));

    let (kind, message) = match &article {
        None => (EventType::TicketUpdated, None),
        Some(article) => {
            if article.get_bool("internal")?.unwrap_or(false) {
                return Ok(Translated::Ignored {
                    reason: "internal article: notes between agents are not translated".into(),
                });
            }
            let author = match name_of(&article.req("sender")?)?.as_str() {
                "Customer" => Author::Customer,
                "Agent" => Author::Agent,
                "System" => {
                    return Ok(Translated::Ignored {
                        reason: "system article (written by a Zammad trigger or scheduler)".into(),
                    })
                }
                other => {
                    return Err(article.req("sender")?.error(format!(
                        "unknown article sender `{other}`; expected Customer, Agent or System"
                    )))
                }
            };
            let message = message(article, author)?;
            let kind = match author {
                Author::Customer if is_first(&ticket_at, &message)? => EventType::TicketCreated,
                Author::Customer => EventType::MessageCreated,
                _ => EventType::MessageAgent,
            };
            if ticket.channel == crate::model::Channel::Other {
                if let Some(kind) = article.get("type") {
                    ticket.channel = channel_from_words(&name_of(&kind)?);
                }
            }
            (kind, Some(message))
        }
    };
    if let Some(trigger) = inbound.header(TRIGGER) {
        zammad.insert("trigger".into(), json!(trigger));
    }
    let id = match (
        inbound.header(DELIVERY),
        message.as_ref().and_then(|m| m.id.as_ref()),
    ) {
        (Some(delivery), _) => delivery.to_string(),
        (None, Some(article_id)) => format!("zammad:article:{article_id}"),
        (None, None) => body_digest_id("zammad", inbound.body),
    };
    let occurred_at = match &message {
        Some(m) => m.at,
        None => ticket.updated_at,
    };
    let mut data = Map::new();
    data.insert("zammad".into(), Value::Object(zammad));
    Ok(Translated::Event(Event {
        id,
        kind,
        occurred_at,
        ticket,
        message,
        changes: BTreeMap::new(),
        timer: None,
        data,
    }))
}

/// A reference that Zammad expands to an object with a `name` (`group`, `priority`, `state`,
/// an article's `sender`/`type`), or leaves as the name itself.
fn name_of(at: &At<'_>) -> Res<String> {
    match at.value {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Object(_) => Ok(at.req("name")?.str()?.trim().to_string()),
        other => Err(at.error(format!(
            "expected a name or an object with `name`, found {}",
            super::read::kind(other)
        ))),
    }
}

/// The ticket, and `event.data.zammad` (the raw state and priority names).
fn ticket(t: &At<'_>) -> Res<(Ticket, Map<String, Value>)> {
    let mut zammad = Map::new();
    let mut ticket = Ticket {
        id: t.req("id")?.id()?,
        subject: t.get_text("title")?.unwrap_or_default(),
        ..Ticket::default()
    };
    if let Some(number) = t.get_id("number")? {
        ticket.fields.insert("number".into(), json!(number));
    }
    if let Some(state) = t.get("state") {
        let name = name_of(&state)?;
        ticket.status = status_of(&name);
        zammad.insert("state".into(), json!(name));
    }
    if let Some(priority) = t.get("priority") {
        let name = name_of(&priority)?;
        ticket.priority = priority_of(&name);
        zammad.insert("priority".into(), json!(name));
    }
    if let Some(group) = t.get("group") {
        ticket.group = Some(name_of(&group)?).filter(|g| !g.is_empty());
    }
    // User 1 is Zammad's system user: an owner of 1 means nobody.
    let owner = match t.get_object("owner")? {
        Some(owner) => owner.get_id("id")?,
        None => t.get_id("owner_id")?,
    };
    ticket.assignee = owner.filter(|o| o != "1");
    ticket.tags = t.get_words("tags")?;
    if let Some(kind) = t.get("create_article_type") {
        ticket.channel = channel_from_words(&name_of(&kind)?);
    }
    ticket.customer = match t.get_object("customer")? {
        Some(c) => customer(&c)?,
        None => Customer {
            id: t.get_id("customer_id")?,
            ..Customer::default()
        },
    };
    ticket.created_at = t.get_time("created_at")?;
    ticket.updated_at = t.get_time("updated_at")?;
    ticket.first_response_at = t.get_time("first_response_at")?;
    Ok((ticket, zammad))
}

/// The customer user (`password`, `preferences` and the like are stripped by Zammad).
fn customer(c: &At<'_>) -> Res<Customer> {
    let first = c.get_text("firstname")?;
    let last = c.get_text("lastname")?;
    let name = match (&first, &last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (None, None) => None,
    };
    let mut fields = BTreeMap::new();
    if let Some(org) = c.get("organization") {
        fields.insert("organization".into(), json!(name_of(&org)?));
    }
    if let Some(vip) = c.get_bool("vip")? {
        fields.insert("vip".into(), json!(vip));
    }
    Ok(Customer {
        id: c.get_id("id")?,
        name,
        first_name: first,
        email: c.get_text("email")?,
        language: None,
        tier: None,
        fields,
        timezone: None,
    })
}

fn message(article: &At<'_>, author: Author) -> Res<Message> {
    let body = article.get_str("body")?.unwrap_or_default();
    let html = article
        .get_str("content_type")?
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"));
    Ok(Message {
        id: article.get_id("id")?,
        text: if html {
            html_to_text(body)
        } else {
            body.trim().to_string()
        },
        author,
        at: article.get_time("created_at")?,
        language: None,
        // An agent's article names them in `from` ("Kari Nordmann", or with an address).
        author_name: match author {
            Author::Agent => article.get_text("from")?.and_then(|f| {
                let name = f
                    .split('<')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .trim_matches('"');
                (!name.is_empty()).then(|| name.to_string())
            }),
            _ => None,
        },
    })
}

/// Whether the article is the ticket's first: `article_count` is 1, or (without a count) the
/// first of `article_ids` is this article.
fn is_first(ticket: &At<'_>, message: &Message) -> Res<bool> {
    if let Some(count) = ticket.get("article_count") {
        return Ok(count.int()? <= 1);
    }
    let Some(ids) = ticket.get("article_ids") else {
        return Ok(false);
    };
    let first = ids.items()?.first().map(At::id).transpose()?;
    Ok(first.is_some() && first == message.id)
}

/// Zammad's states: `new`, `open`, `pending reminder`, `pending close`, `closed`, `merged`,
/// `removed`; a custom state name counts as `open`.
fn status_of(name: &str) -> Status {
    let n = name.to_lowercase();
    match n.as_str() {
        "new" => Status::New,
        "closed" | "merged" | "removed" => Status::Closed,
        _ if n.starts_with("pending") => Status::Pending,
        _ => Status::Open,
    }
}

/// `1 low`, `2 normal`, `3 high` (Zammad's defaults): the name after the number, or else the
/// number (4 and above is urgent); `normal` when neither says anything.
fn priority_of(name: &str) -> Priority {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    let word = name[digits.len()..].trim();
    if let Some(p) = Priority::parse(word) {
        return p;
    }
    match digits.parse::<u32>() {
        Ok(1) => Priority::Low,
        Ok(2) => Priority::Normal,
        Ok(3) => Priority::High,
        Ok(n) if n >= 4 => Priority::Urgent,
        _ => Priority::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_by_name_then_number() {
        assert_eq!(priority_of("1 low"), Priority::Low);
        assert_eq!(priority_of("2 normal"), Priority::Normal);
        assert_eq!(priority_of("3 high"), Priority::High);
        assert_eq!(priority_of("4 urgent"), Priority::Urgent);
        assert_eq!(priority_of("3 sehr hoch"), Priority::High);
        assert_eq!(priority_of("9"), Priority::Urgent);
        assert_eq!(priority_of("whenever"), Priority::Normal);
        assert_eq!(priority_of(""), Priority::Normal);
        assert_eq!(priority_of("99999999999999999999 x"), Priority::Normal);
    }

    #[test]
    fn states_map_to_statuses() {
        assert_eq!(status_of("new"), Status::New);
        assert_eq!(status_of("open"), Status::Open);
        assert_eq!(status_of("pending reminder"), Status::Pending);
        assert_eq!(status_of("pending close"), Status::Pending);
        assert_eq!(status_of("closed"), Status::Closed);
        assert_eq!(status_of("merged"), Status::Closed);
        assert_eq!(status_of("waiting for parts"), Status::Open);
    }
}
