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
