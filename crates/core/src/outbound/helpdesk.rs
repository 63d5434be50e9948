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
    };
    if plan(&probe, &ticket.id, action, "probe").is_empty() {
        return None;
    }
    let mut t = json!({ "helpdesk": source.helpdesk });
    if let Some(account) = &source.account {
        t["account"] = json!(account);
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
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Which helpdesk.
    pub helpdesk: String,
    /// Chatwoot account.
    pub account: Option<String>,
    /// Chatwoot: the labels to set.
    pub labels: Vec<String>,
    /// Zammad: the customer's address for e-mail replies.
    pub email: Option<String>,
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
        })
    }
}

/// The requests that apply `action` to ticket `id` in the target's helpdesk; empty when the
/// action has no meaning there (an assignment to a name the helpdesk cannot resolve, a status it
/// does not have). `delivery` is the outbox id, sent along so a repeat can be recognised.
pub fn plan(t: &Target, id: &str, action: &Action, delivery: &str) -> Vec<Call> {
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
            email: None,
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
}
