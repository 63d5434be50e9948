//! Tickets, customers and messages.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::named_enum;

named_enum! {
    /// Where a ticket came from. Adapters map anything else to `other`.
    #[derive(Default)]
    pub enum Channel {
        Email = "email", Chat = "chat", Web = "web", Sms = "sms", Phone = "phone",
        Facebook = "facebook", Instagram = "instagram", Whatsapp = "whatsapp", Twitter = "twitter",
        Telegram = "telegram", Api = "api", #[default] Other = "other",
    }
}

named_enum! {
    /// Ticket status, in lifecycle order.
    #[derive(Default)]
    pub enum Status {
        #[default] New = "new", Open = "open", Pending = "pending", OnHold = "on_hold",
        Solved = "solved", Closed = "closed",
    }
}

named_enum! {
    /// Ticket priority; ordered, so rules can say `gte: high`.
    #[derive(Default)]
    pub enum Priority {
        Low = "low", #[default] Normal = "normal", High = "high", Urgent = "urgent",
    }
}

named_enum! {
    /// Who wrote a message.
    #[derive(Default)]
    pub enum Author {
        #[default] Customer = "customer", Agent = "agent", Bot = "bot",
    }
}

/// The person who opened the ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// The helpdesk's id of the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// First name, for greetings; derived from `name` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// BCP 47 language tag (`nb`, `en-GB`, `ar`, `zh-Hans`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Customer tier (`gold`, `standard`, ...), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// IANA time zone (`Europe/Oslo`); times promised to the customer are shown in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Custom customer fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
}

impl Customer {
    /// The first name, or the first word of the full name.
    pub fn first_name(&self) -> Option<&str> {
        self.first_name.as_deref().or_else(|| {
            self.name
                .as_deref()
                .and_then(|n| n.split_whitespace().next())
        })
    }
}

/// A ticket as the helpdesk and the rules see it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// The helpdesk's ticket id.
    pub id: String,
    /// Where it came from.
    #[serde(default)]
    pub channel: Channel,
    /// Subject line (empty for chats).
    #[serde(default)]
    pub subject: String,
    /// Status.
    #[serde(default)]
    pub status: Status,
    /// Priority.
    #[serde(default)]
    pub priority: Priority,
    /// Tags, in the order they were added.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Category, free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The customer.
    #[serde(default)]
    pub customer: Customer,
    /// Assigned agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Assigned group or team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Custom ticket fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
    /// When the ticket was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// When an agent first answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_at: Option<DateTime<Utc>>,
    /// The helpdesk the ticket lives in, when it came through one of its adapters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// SLA clocks, kept by frontdesk when the pack has `sla:` policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<super::SlaState>,
    /// Counts kept by frontdesk for the desk's KPIs (agent replies, reopens, handoffs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<TicketStats>,
    /// The satisfaction survey sent last and its rating, kept by frontdesk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csat: Option<Csat>,
}

/// Counts frontdesk keeps on a ticket, for the KPIs (`docs/kpis.md`). Like `sla`, what a
/// caller sends here is not taken over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketStats {
    /// Agent replies to the customer so far.
    #[serde(default)]
    pub agent_replies: u32,
    /// Times the ticket went from solved or closed back to open.
    #[serde(default)]
    pub reopens: u32,
    /// Times it was handed from a bot or a rule to a person (`handoff`).
    #[serde(default)]
    pub handoffs: u32,
    /// A customer message after an agent reply that no agent has answered yet: when it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_since: Option<DateTime<Utc>>,
    /// When it was last solved or closed (the event's own time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solved_at: Option<DateTime<Utc>>,
}

/// A satisfaction survey on a ticket and its rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Csat {
    /// The survey's id: one rating is taken per survey.
    pub survey: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// The rating, 1 (poor) to 5 (excellent), once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// When it was given (the event's own time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rated_at: Option<DateTime<Utc>>,
    /// How it came: `link`, `chat` or `reply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// Where a ticket lives: what a connector needs to apply actions through the helpdesk's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `chatwoot`, `zammad` or `zendesk`.
    pub helpdesk: String,
    /// The helpdesk account (Chatwoot's account id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// frontdesk applies the ticket's actions through the helpdesk's API (the daemon has its
    /// API credentials); otherwise the helpdesk applies the actions it gets in the answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub api: bool,
}

impl Ticket {
    /// Whether the ticket carries `tag` (case-insensitive).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }
}

/// One message on a ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The helpdesk's message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Plain text of the message.
    #[serde(default)]
    pub text: String,
    /// Who wrote it.
    #[serde(default)]
    pub author: Author,
    /// When it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// Language tag, when the helpdesk knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Fields whose changes `changed`/`changed_to` conditions see when the helpdesk does not list them.
const TRACKED: &[&str] = &[
    "status", "priority", "assignee", "group", "category", "channel", "subject",
];

impl Ticket {
    /// The ticket with the fields present in `patch` (a ticket as JSON, as a helpdesk sent it)
    /// written over this one. `customer` and `fields` merge key by key.
    pub fn overlay(&self, patch: &Value) -> Result<Ticket, String> {
        let mut base = serde_json::to_value(self).map_err(|e| e.to_string())?;
        fn merge(base: &mut Value, patch: &Value, depth: usize) {
            match (base, patch) {
                (Value::Object(b), Value::Object(p)) => {
                    for (k, v) in p {
                        let nested = depth == 0 && matches!(k.as_str(), "customer" | "fields")
                            || depth == 1 && k == "fields";
                        match b.get_mut(k) {
                            Some(slot) if nested && v.is_object() => merge(slot, v, depth + 1),
                            _ => {
                                b.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                (b, p) => *b = p.clone(),
            }
        }
        merge(&mut base, patch, 0);
        serde_json::from_value(base).map_err(|e| e.to_string())
    }

    /// What changed in the tracked fields (status, priority, assignee, group, category, channel,
    /// subject) from `before` to this ticket, keyed `ticket.NAME`.
    pub fn changes_since(&self, before: &Ticket) -> BTreeMap<String, super::Change> {
        let (now, was) = match (serde_json::to_value(self), serde_json::to_value(before)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return BTreeMap::new(),
        };
        TRACKED
            .iter()
            .filter_map(|k| {
                let to = now.get(*k).cloned().unwrap_or(Value::Null);
                let from = was.get(*k).cloned().unwrap_or(Value::Null);
                (to != from).then(|| (format!("ticket.{k}"), super::Change { from, to }))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_keeps_what_the_patch_leaves_out() {
        let mut t = Ticket {
            id: "1".into(),
            priority: Priority::Urgent,
            tags: vec!["outage".into()],
            ..Ticket::default()
        };
        t.customer.tier = Some("gold".into());
        t.fields.insert("a".into(), Value::from(1));
        let patch = serde_json::json!({"id": "1", "status": "open", "customer": {"language": "nb"}, "fields": {"b": 2}});
        let m = t.overlay(&patch).unwrap();
        assert_eq!(m.priority, Priority::Urgent);
        assert_eq!(m.status, Status::Open);
        assert_eq!(m.tags, ["outage"]);
        assert_eq!(m.customer.tier.as_deref(), Some("gold"));
        assert_eq!(m.customer.language.as_deref(), Some("nb"));
        assert_eq!(m.fields.len(), 2);
        let changes = m.changes_since(&t);
        assert_eq!(changes.keys().collect::<Vec<_>>(), ["ticket.status"]);
        assert_eq!(changes["ticket.status"].from, Value::from("new"));
    }
}
