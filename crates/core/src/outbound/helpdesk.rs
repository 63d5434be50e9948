//! Helpdesk call-backs, planned: which HTTP requests an action of a ticket becomes in the API of
//! the helpdesk the ticket lives in (Chatwoot: messages, labels, status, priority, assignment;
//! Zammad: articles, ticket updates, tags; Zendesk: comments, ticket updates, tags), without
//! I/O. The daemon's connector sends them (`frontdesk::delivery::helpdesk`).
//!
//! Every request is idempotent in effect or harmless to repeat (a label set is sent whole; a tag
//! added twice is one tag), except a reply, which the helpdesk may show twice if frontdesk dies
//! between its request and the outbox record: the request carries the delivery id (and in
//! Chatwoot the message's `echo_id`) so it can be recognised.

use serde_json::{json, Value};

use crate::model::{Action, AssignTarget, Priority, Status, Ticket};

/// The HTTP method of a call-back request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// One HTTP request of a call-back.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `POST`, `PUT` or `DELETE`.
    pub method: Method,
    /// Path below the API's base URL.
    pub path: String,
    /// JSON body.
    pub body: Value,
}

fn call(method: Method, path: String, body: Value) -> Call {
    Call { method, path, body }
}

/// The outbox target of an action of `ticket`, when its helpdesk applies actions through the
/// API and the action means something there; `None` otherwise (the action stays in the answer
/// only). The target holds what the requests need beyond the action itself.
pub fn target(ticket: &Ticket, action: &Action) -> Option<Value> {
    let source = ticket.source.as_ref().filter(|s| s.api)?;
    let probe = Target {
        helpdesk: source.helpdesk.clone(),
        account: source.account.clone(),
        labels: ticket.tags.clone(),
        email: ticket.customer.email.clone(),
        id: source.id.clone(),
        ..Target::default()
    };
    if plan(&probe, &ticket.id, action, "probe").is_empty() {
        return None;
    }
    let mut t = json!({ "helpdesk": source.helpdesk });
    if let Some(account) = &source.account {
        t["account"] = json!(account);
    }
    if let Some(id) = &source.id {
        t["id"] = json!(id);
    }
    match (source.helpdesk.as_str(), action) {
        // Chatwoot's label API replaces the whole set: send the ticket's tags after the decision.
        ("chatwoot", Action::AddTags { .. } | Action::RemoveTags { .. }) => {
            t["labels"] = json!(ticket.tags)
        }
        // A Zammad e-mail article needs the address.
        ("zammad", Action::Reply { .. }) => {
            if let Some(email) = &ticket.customer.email {
                t["email"] = json!(email);
            }
        }
        _ => {}
    }
    Some(t)
}

/// A target read back from the outbox.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    /// Which helpdesk.
    pub helpdesk: String,
    /// Chatwoot account.
    pub account: Option<String>,
    /// Chatwoot: the labels to set.
    pub labels: Vec<String>,
    /// Zammad: the customer's address for e-mail replies; opening a chat: the customer's.
    pub email: Option<String>,
    /// The ticket's id in the helpdesk, when it is not frontdesk's (a chat opened there).
    pub id: Option<String>,
    /// Opening a chat in Chatwoot: the inbox.
    pub inbox: Option<String>,
    /// Opening a chat in Zammad: the group.
    pub group: Option<String>,
    /// Opening a chat: the customer's name.
    pub name: Option<String>,
}

impl Target {
    /// Reads a stored target.
    pub fn from_json(v: &Value) -> Option<Target> {
        let text = |k: &str| match v.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        Some(Target {
            helpdesk: text("helpdesk")?,
            account: text("account"),
            labels: v
                .get("labels")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            email: text("email"),
            id: text("id"),
            inbox: text("inbox"),
            group: text("group"),
            name: text("name"),
        })
    }
}

/// The text of a chat's transcript (`event.data.chat.transcript` of a handoff: lines with
/// `author` and `text`) for the people who take it over: one line per message, each after
/// who said it.
pub fn transcript_text(lines: &[Value]) -> String {
    lines
        .iter()
        .filter_map(|l| {
            let text = l.get("text")?.as_str()?.trim();
            let who = match l.get("author").and_then(Value::as_str) {
                Some("customer") => "Customer",
                Some("bot") => "Bot",
                Some("agent") => "Agent",
                _ => "?",
            };
            (!text.is_empty()).then(|| format!("{who}: {text}"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Opening a chat in Chatwoot takes three requests, each needing the answer of the one before:
/// the contact in the inbox ([`chatwoot_contact`]), the conversation for that contact
/// ([`chatwoot_conversation`]) and the transcript as a private note ([`chatwoot_note`]).
/// `session` makes the contact's identifier, so opening again finds it.
pub fn chatwoot_contact(t: &Target, session: &str) -> Option<Call> {
    let (account, inbox) = (t.account.as_ref()?, t.inbox.as_ref()?.parse::<u64>().ok()?);
    let mut body = json!({ "inbox_id": inbox, "identifier": format!("frontdesk-chat-{session}"),
        "name": t.name.clone().unwrap_or_else(|| "Chat customer".into()) });
    if let Some(email) = &t.email {
        body["email"] = json!(email);
    }
    Some(call(
        Method::Post,
        format!("/api/v1/accounts/{account}/contacts"),
        body,
    ))
}

/// Finds the contact a chat opened before made (by its identifier), when creating it again
/// was refused as taken.
pub fn chatwoot_contact_search(t: &Target, session: &str) -> Option<Call> {
    let account = t.account.as_ref()?;
    Some(call(
        Method::Get,
        format!("/api/v1/accounts/{account}/contacts/search?q=frontdesk-chat-{session}"),
        Value::Null,
    ))
}

/// The contact id and its source id in the inbox, from Chatwoot's answer to creating a contact
/// (`{"payload": {"contact": {...}, "contact_inbox": {"source_id"}}}`) or to a search
/// (`{"payload": [{"id", "contact_inboxes": [...]}]}`).
pub fn chatwoot_contact_of(t: &Target, answer: &Value) -> Option<(u64, Option<String>)> {
    let payload = answer.get("payload")?;
    let contact = match payload {
        Value::Array(found) => found.first()?,
        other => other.get("contact").unwrap_or(other),
    };
    let id = contact.get("id")?.as_u64()?;
    let inbox = t.inbox.as_deref().and_then(|i| i.parse::<u64>().ok());
    let in_inbox = |ci: &Value| {
        let of = ci
            .get("inbox")
            .and_then(|i| i.get("id"))
            .or_else(|| ci.get("inbox_id"));
        inbox.is_none() || of.and_then(Value::as_u64) == inbox
    };
    let source = payload
        .get("contact_inbox")
        .into_iter()
        .chain(
            contact
                .get("contact_inboxes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .find(|ci| in_inbox(ci))
        .and_then(|ci| ci.get("source_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some((id, source))
}

/// The conversation of ticket `ticket` for contact `contact` (its `source_id` in the inbox, when
/// Chatwoot gave one) in the target's inbox, open for people. The conversation's custom
/// attribute `frontdesk_ticket` names the ticket, so its webhooks reach it even before
/// frontdesk has recorded the conversation's id.
pub fn chatwoot_conversation(
    t: &Target,
    ticket: &str,
    contact: u64,
    source: Option<&str>,
) -> Option<Call> {
    let (account, inbox) = (t.account.as_ref()?, t.inbox.as_ref()?.parse::<u64>().ok()?);
    let mut body = json!({ "inbox_id": inbox, "contact_id": contact, "status": "open",
                           "custom_attributes": { "frontdesk_ticket": ticket } });
    if let Some(s) = source {
        body["source_id"] = json!(s);
    }
    Some(call(
        Method::Post,
        format!("/api/v1/accounts/{account}/conversations"),
        body,
    ))
}

/// The transcript as a private note in conversation `conversation`.
pub fn chatwoot_note(
    t: &Target,
    conversation: &str,
    transcript: &str,
    delivery: &str,
) -> Option<Call> {
    let account = t.account.as_ref()?;
    Some(call(
        Method::Post,
        format!("/api/v1/accounts/{account}/conversations/{conversation}/messages"),
        json!({ "content": transcript, "message_type": "outgoing", "private": true,
                "content_type": "text", "echo_id": delivery }),
    ))
}

/// The id a helpdesk gave the conversation or ticket it opened, from its answer: Chatwoot's
/// and Zammad's `id`, Zendesk's `ticket.id`.
pub fn opened_id(helpdesk: &str, answer: &Value) -> Option<String> {
    let id = match helpdesk {
        "zendesk" => answer.get("ticket")?.get("id")?,
        _ => answer.get("id")?,
    };
    match id {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The requests that apply `action` to ticket `id` in the target's helpdesk; empty when the
/// action has no meaning there (an assignment to a name the helpdesk cannot resolve, a status it
/// does not have). `delivery` is the outbox id, sent along so a repeat can be recognised.
pub fn plan(t: &Target, id: &str, action: &Action, delivery: &str) -> Vec<Call> {
    // A chat opened in the helpdesk has an id there of its own.
    let id = t.id.as_deref().unwrap_or(id);
    let numeric = |s: &str| s.parse::<u64>().ok();
    // An agent's id in this helpdesk: from the pack's `helpdesk_ids`, else the id itself.
    let agent_id = |a: &str, ids: &std::collections::BTreeMap<String, Value>| {
        ids.get(t.helpdesk.as_str())
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(numeric)))
            .or_else(|| numeric(a))
    };
    match t.helpdesk.as_str() {
        "chatwoot" => {
            let Some(account) = &t.account else {
                return Vec::new();
            };
            let base = format!("/api/v1/accounts/{account}/conversations/{id}");
            let message = |text: &str, private: bool| {
                call(
                    Method::Post,
                    format!("{base}/messages"),
                    json!({ "content": text, "message_type": "outgoing", "private": private,
                            "content_type": "text", "echo_id": delivery }),
                )
            };
            let status = |s: &str| {
                call(
                    Method::Post,
                    format!("{base}/toggle_status"),
                    json!({ "status": s }),
                )
            };
            match action {
                // Quick replies (a survey's 1 to 5) become Chatwoot's option buttons.
                Action::Reply {
                    text,
                    quick_replies,
                    ..
                } if !quick_replies.is_empty() => {
                    let mut m = message(text, false);
                    m.body["content_type"] = json!("input_select");
                    m.body["content_attributes"] = json!({ "items": quick_replies
                        .iter()
                        .map(|q| json!({ "title": q, "value": q }))
                        .collect::<Vec<_>>() });
                    vec![m]
                }
                Action::Reply { text, .. } => vec![message(text, false)],
                Action::InternalNote { text } => vec![message(text, true)],
                // The customer's line, as the contact's message.
                Action::RelayMessage { text } => {
                    let mut m = message(text, false);
                    m.body["message_type"] = json!("incoming");
                    vec![m]
                }
                Action::SetStatus { status: s } => vec![status(match s {
                    Status::New | Status::Open => "open",
                    Status::Pending => "pending",
                    Status::OnHold => "snoozed",
                    Status::Solved | Status::Closed => "resolved",
                })],
                // A bot-connected inbox keeps conversations `pending`; `open` hands them to people.
                Action::Handoff { .. } => vec![status("open")],
                Action::SetPriority { priority } => vec![call(
                    Method::Post,
                    format!("{base}/toggle_priority"),
                    json!({ "priority": match priority {
                        Priority::Low => "low", Priority::Normal => "medium",
                        Priority::High => "high", Priority::Urgent => "urgent" } }),
                )],
                Action::AddTags { .. } | Action::RemoveTags { .. } => vec![call(
                    Method::Post,
                    format!("{base}/labels"),
                    json!({ "labels": t.labels }),
                )],
                Action::Assign {
                    to: AssignTarget::Agent(a),
                    helpdesk_ids,
                    ..
                } => agent_id(a, helpdesk_ids).map_or_else(Vec::new, |n| {
                    vec![call(
                        Method::Post,
                        format!("{base}/assignments"),
                        json!({ "assignee_id": n }),
                    )]
                }),
                Action::Assign {
                    to: AssignTarget::Group(g),
                    ..
                } => numeric(g).map_or_else(Vec::new, |n| {
                    vec![call(
                        Method::Post,
                        format!("{base}/assignments"),
                        json!({ "team_id": n }),
                    )]
                }),
                _ => Vec::new(),
            }
        }
        "zammad" => {
            if let Action::OpenConversation {
                subject,
                transcript,
            } = action
            {
                let mut body = json!({ "title": subject,
                    "group": t.group.clone().unwrap_or_else(|| "Users".into()),
                    "article": { "subject": subject, "body": transcript,
                                 "content_type": "text/plain", "type": "web",
                                 "internal": false, "sender": "Customer" } });
                // Zammad finds the customer by address, or makes one; without an address the
                // ticket is the API user's.
                if let Some(email) = &t.email {
                    body["customer_id"] = json!(format!("guess:{email}"));
                }
                return vec![call(Method::Post, "/api/v1/tickets".into(), body)];
            }
            let Some(ticket) = numeric(id) else {
                return Vec::new();
            };
            let update = |body: Value| call(Method::Put, format!("/api/v1/tickets/{ticket}"), body);
            let tags = |method: Method, path: &str, tags: &[String]| -> Vec<Call> {
                tags.iter()
                    .map(|tag| {
                        call(
                            method,
                            path.to_string(),
                            json!({ "object": "Ticket", "o_id": ticket, "item": tag }),
                        )
                    })
                    .collect()
            };
            match action {
                Action::Reply { text, .. } => {
                    let mut body = json!({ "ticket_id": ticket, "body": text,
                        "content_type": "text/plain", "internal": false, "sender": "Agent" });
                    match &t.email {
                        Some(to) => {
                            body["type"] = json!("email");
                            body["to"] = json!(to);
                        }
                        None => body["type"] = json!("web"),
                    }
                    vec![call(Method::Post, "/api/v1/ticket_articles".into(), body)]
                }
                Action::InternalNote { text } => vec![call(
                    Method::Post,
                    "/api/v1/ticket_articles".into(),
                    json!({ "ticket_id": ticket, "body": text, "content_type": "text/plain",
                            "type": "note", "internal": true, "sender": "Agent" }),
                )],
                Action::RelayMessage { text } => vec![call(
                    Method::Post,
                    "/api/v1/ticket_articles".into(),
                    json!({ "ticket_id": ticket, "body": text, "content_type": "text/plain",
                            "type": "web", "internal": false, "sender": "Customer" }),
                )],
                // Zammad's pending states need a reminder time; frontdesk leaves them to people.
                Action::SetStatus { status } => match status {
                    Status::New => vec![update(json!({ "state": "new" }))],
                    Status::Open => vec![update(json!({ "state": "open" }))],
                    Status::Solved | Status::Closed => vec![update(json!({ "state": "closed" }))],
                    Status::Pending | Status::OnHold => Vec::new(),
                },
                Action::SetPriority { priority } => {
                    vec![update(json!({ "priority": match priority {
                    Priority::Low => "1 low", Priority::Normal => "2 normal",
                    Priority::High | Priority::Urgent => "3 high" } }))]
                }
                Action::Assign {
                    to: AssignTarget::Group(g),
                    ..
                } => vec![update(json!({ "group": g }))],
                Action::Assign {
                    to: AssignTarget::Agent(a),
                    helpdesk_ids,
                    ..
                } => agent_id(a, helpdesk_ids)
                    .map_or_else(Vec::new, |n| vec![update(json!({ "owner_id": n }))]),
                Action::AddTags { tags: added } => tags(Method::Post, "/api/v1/tags/add", added),
                Action::RemoveTags { tags: removed } => {
                    tags(Method::Delete, "/api/v1/tags/remove", removed)
                }
                _ => Vec::new(),
            }
        }
        "zendesk" => {
            if let Action::OpenConversation {
                subject,
                transcript,
            } = action
            {
                let mut ticket = json!({ "subject": subject, "tags": ["chat"],
                    "comment": { "body": transcript, "public": false } });
                let name = t.name.clone().unwrap_or_else(|| "Chat customer".into());
                if let Some(email) = &t.email {
                    ticket["requester"] = json!({ "name": name, "email": email });
                }
                return vec![call(
                    Method::Post,
                    "/api/v2/tickets.json".into(),
                    json!({ "ticket": ticket }),
                )];
            }
            if numeric(id).is_none() {
                return Vec::new();
            }
            let update = |ticket: Value| {
                call(
                    Method::Put,
                    format!("/api/v2/tickets/{id}.json"),
                    json!({ "ticket": ticket }),
                )
            };
            let comment = |text: &str, public: bool| {
                update(json!({ "comment": { "body": text, "public": public } }))
            };
            match action {
                Action::Reply { text, .. } => vec![comment(text, true)],
                Action::InternalNote { text } => vec![comment(text, false)],
                // A public comment through the API would be the API user's, sent to the
                // customer: the line goes in as a note that says whose it is.
                Action::RelayMessage { text } => {
                    vec![comment(
                        &format!("The customer wrote in the chat:\n{text}"),
                        false,
                    )]
                }
                Action::SetStatus { status } => vec![update(json!({ "status": match status {
                    Status::New => "new", Status::Open => "open", Status::Pending => "pending",
                    Status::OnHold => "hold", Status::Solved => "solved", Status::Closed => "closed" } }))],
                Action::SetPriority { priority } => {
                    vec![update(json!({ "priority": priority.to_string() }))]
                }
                Action::Assign {
                    to: AssignTarget::Agent(a),
                    helpdesk_ids,
                    ..
                } => agent_id(a, helpdesk_ids)
                    .map_or_else(Vec::new, |n| vec![update(json!({ "assignee_id": n }))]),
                Action::Assign {
                    to: AssignTarget::Group(g),
                    ..
                } => numeric(g).map_or_else(Vec::new, |n| vec![update(json!({ "group_id": n }))]),
                Action::AddTags { tags } => vec![call(
                    Method::Put,
                    format!("/api/v2/tickets/{id}/tags.json"),
                    json!({ "tags": tags }),
                )],
                Action::RemoveTags { tags } => vec![call(
                    Method::Delete,
                    format!("/api/v2/tickets/{id}/tags.json"),
                    json!({ "tags": tags }),
                )],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Source;

    fn ticket(helpdesk: &str, api: bool) -> Ticket {
        Ticket {
            id: "42".into(),
            tags: vec!["vip".into(), "billing".into()],
            source: Some(Source {
                helpdesk: helpdesk.into(),
                account: Some("7".into()),
                api,
                id: None,
            }),
            ..Ticket::default()
        }
    }

    #[test]
    fn only_tickets_of_an_api_helpdesk_get_targets() {
        let reply = Action::Reply {
            text: "hi".into(),
            language: None,
            template: None,
            quick_replies: Vec::new(),
            survey: None,
        };
        assert_eq!(target(&ticket("chatwoot", false), &reply), None);
        assert_eq!(target(&Ticket::default(), &reply), None);
        assert_eq!(
            target(&ticket("chatwoot", true), &reply),
            Some(json!({"helpdesk": "chatwoot", "account": "7"}))
        );
        let tags = Action::AddTags {
            tags: vec!["billing".into()],
        };
        assert_eq!(
            target(&ticket("chatwoot", true), &tags).unwrap()["labels"],
            json!(["vip", "billing"]),
            "Chatwoot gets the whole label set"
        );
        // Nothing to do in the helpdesk: no target, so no outbox row.
        let assign = Action::Assign {
            to: AssignTarget::Agent("kari".into()),
            team: None,
            helpdesk_ids: Default::default(),
        };
        assert_eq!(target(&ticket("chatwoot", true), &assign), None);
        // With the agent's id in that helpdesk (from `agents:`), the assignment goes through.
        let routed = Action::Assign {
            to: AssignTarget::Agent("kari".into()),
            team: Some("support".into()),
            helpdesk_ids: [
                ("chatwoot".to_string(), json!(12)),
                ("zammad".to_string(), json!("7")),
            ]
            .into_iter()
            .collect(),
        };
        let t = |h: &str| Target::from_json(&target(&ticket(h, true), &routed).unwrap()).unwrap();
        assert_eq!(
            plan(&t("chatwoot"), "42", &routed, "e/0")[0].body,
            json!({"assignee_id": 12})
        );
        assert_eq!(
            plan(&t("zammad"), "42", &routed, "e/0")[0].body["owner_id"],
            json!(7)
        );
        assert_eq!(
            target(&ticket("zendesk", true), &routed),
            None,
            "no zendesk id for kari"
        );
        assert_eq!(
            target(
                &ticket("zammad", true),
                &Action::SetStatus {
                    status: Status::Pending
                }
            ),
            None
        );
    }

    #[test]
    fn requests_follow_each_helpdesks_api() {
        let t = |h: &str| Target {
            helpdesk: h.into(),
            account: Some("7".into()),
            labels: vec!["a".into()],
            ..Target::default()
        };
        let note = Action::InternalNote { text: "n".into() };
        let c = &plan(&t("chatwoot"), "42", &note, "e/1")[0];
        assert_eq!(c.path, "/api/v1/accounts/7/conversations/42/messages");
        assert_eq!(c.body["private"], true);
        assert_eq!(c.body["echo_id"], "e/1");
        let c = &plan(&t("zammad"), "42", &note, "e/1")[0];
        assert_eq!(
            (c.path.as_str(), &c.body["internal"]),
            ("/api/v1/ticket_articles", &json!(true))
        );
        let c = &plan(&t("zendesk"), "42", &note, "e/1")[0];
        assert_eq!(c.path, "/api/v2/tickets/42.json");
        assert_eq!(
            c.body,
            json!({"ticket": {"comment": {"body": "n", "public": false}}})
        );
        let handoff = Action::Handoff {
            group: None,
            reason: None,
        };
        assert_eq!(
            plan(&t("chatwoot"), "42", &handoff, "x")[0].body,
            json!({"status": "open"})
        );
        let tags = Action::AddTags {
            tags: vec!["x".into(), "y".into()],
        };
        assert_eq!(
            plan(&t("zammad"), "42", &tags, "x").len(),
            2,
            "one call per tag"
        );
        assert!(plan(&t("zammad"), "not-a-number", &note, "x").is_empty());
        // A survey's quick replies are buttons in Chatwoot, the text alone elsewhere.
        let survey = Action::Reply {
            text: "How did we do?".into(),
            language: None,
            template: None,
            quick_replies: vec!["1".into(), "5".into()],
            survey: Some("e/survey".into()),
        };
        let c = &plan(&t("chatwoot"), "42", &survey, "e/2")[0];
        assert_eq!(c.body["content_type"], "input_select");
        assert_eq!(
            c.body["content_attributes"],
            json!({"items": [{"title": "1", "value": "1"}, {"title": "5", "value": "5"}]})
        );
        let c = &plan(&t("zendesk"), "42", &survey, "e/2")[0];
        assert_eq!(c.body["ticket"]["comment"]["body"], "How did we do?");
    }

    #[test]
    fn a_chat_opened_in_a_helpdesk() {
        let lines = [
            json!({ "author": "bot", "text": "Hi!" }),
            json!({ "author": "customer", "text": " Where is my order? " }),
            json!({ "author": "customer", "text": "" }),
            json!({ "author": "agent", "text": "Kari here" }),
        ];
        assert_eq!(
            transcript_text(&lines),
            "Bot: Hi!\nCustomer: Where is my order?\nAgent: Kari here"
        );
        let t = |h: &str| Target {
            helpdesk: h.into(),
            account: Some("1".into()),
            inbox: Some("3".into()),
            group: Some("Chat".into()),
            name: Some("Jane".into()),
            email: Some("jane@example.com".into()),
            ..Target::default()
        };
        let open = Action::OpenConversation {
            subject: "Where is my order?".into(),
            transcript: "Customer: Where is my order?".into(),
        };
        // Chatwoot: a contact, found again by its identifier; its conversation; the note.
        let c = chatwoot_contact(&t("chatwoot"), "s1").unwrap();
        assert_eq!(c.path, "/api/v1/accounts/1/contacts");
        assert_eq!(c.body["identifier"], "frontdesk-chat-s1");
        assert_eq!(
            chatwoot_contact_search(&t("chatwoot"), "s1").unwrap().path,
            "/api/v1/accounts/1/contacts/search?q=frontdesk-chat-s1"
        );
        let made = json!({ "payload": { "contact": { "id": 5 },
            "contact_inbox": { "inbox": { "id": 3 }, "source_id": "abc" } } });
        assert_eq!(
            chatwoot_contact_of(&t("chatwoot"), &made),
            Some((5, Some("abc".into())))
        );
        let found = json!({ "payload": [{ "id": 6, "contact_inboxes": [
            { "inbox": { "id": 2 }, "source_id": "other" },
            { "inbox": { "id": 3 }, "source_id": "mine" }] }] });
        assert_eq!(
            chatwoot_contact_of(&t("chatwoot"), &found),
            Some((6, Some("mine".into())))
        );
        assert_eq!(
            chatwoot_contact_of(&t("chatwoot"), &json!({ "payload": [] })),
            None
        );
        let conv = chatwoot_conversation(&t("chatwoot"), "chat-s1", 5, Some("abc")).unwrap();
        assert_eq!(
            conv.body,
            json!({ "inbox_id": 3, "contact_id": 5, "source_id": "abc", "status": "open",
                    "custom_attributes": { "frontdesk_ticket": "chat-s1" } })
        );
        let note = chatwoot_note(&t("chatwoot"), "42", "T", "d/open").unwrap();
        assert_eq!(note.path, "/api/v1/accounts/1/conversations/42/messages");
        assert_eq!(note.body["private"], true);
        let mut no_inbox = t("chatwoot");
        no_inbox.inbox = None;
        assert!(chatwoot_contact(&no_inbox, "s1").is_none());
        // Zammad: one ticket with the customer's article; the customer found by address.
        let z = &plan(&t("zammad"), "chat-s1", &open, "d/open")[0];
        assert_eq!(
            (z.method, z.path.as_str()),
            (Method::Post, "/api/v1/tickets")
        );
        assert_eq!(z.body["group"], "Chat");
        assert_eq!(z.body["customer_id"], "guess:jane@example.com");
        assert_eq!(z.body["article"]["sender"], "Customer");
        assert_eq!(z.body["article"]["body"], "Customer: Where is my order?");
        // Zendesk: one ticket with the requester and the transcript as a note.
        let z = &plan(&t("zendesk"), "chat-s1", &open, "d/open")[0];
        assert_eq!(z.path, "/api/v2/tickets.json");
        assert_eq!(
            z.body["ticket"]["requester"],
            json!({ "name": "Jane", "email": "jane@example.com" })
        );
        assert_eq!(z.body["ticket"]["comment"]["public"], false);
        assert_eq!(
            opened_id("zendesk", &json!({ "ticket": { "id": 77 } })),
            Some("77".into())
        );
        assert_eq!(
            opened_id("zammad", &json!({ "id": 12, "number": "31001" })),
            Some("12".into())
        );
        assert_eq!(opened_id("chatwoot", &json!({ "error": "x" })), None);

        // Once opened, the ticket's actions and the customer's lines go to the helpdesk's id.
        let mut linked = t("chatwoot");
        linked.id = Some("42".into());
        let relay = Action::RelayMessage {
            text: "Order 1234".into(),
        };
        let c = &plan(&linked, "chat-s1", &relay, "e/relay")[0];
        assert_eq!(c.path, "/api/v1/accounts/1/conversations/42/messages");
        assert_eq!(
            (&c.body["message_type"], &c.body["private"]),
            (&json!("incoming"), &json!(false))
        );
        let mut zammad = t("zammad");
        zammad.id = Some("12".into());
        let c = &plan(&zammad, "chat-s1", &relay, "e/relay")[0];
        assert_eq!(
            (&c.body["ticket_id"], &c.body["sender"]),
            (&json!(12), &json!("Customer"))
        );
        let mut zendesk = t("zendesk");
        zendesk.id = Some("77".into());
        let c = &plan(&zendesk, "chat-s1", &relay, "e/relay")[0];
        assert_eq!(c.path, "/api/v2/tickets/77.json");
        assert_eq!(c.body["ticket"]["comment"]["public"], false);
    }
}
