//! Actions: what a decision asks the helpdesk (or frontdesk's connectors) to do.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{named_enum, EventType, Priority, Status};

named_enum! {
    /// Where a notification goes.
    pub enum NotifyChannel { Slack = "slack", Email = "email", Teams = "teams" }
}

named_enum! {
    /// HTTP method of a webhook action.
    #[derive(Default)]
    pub enum HttpMethod { #[default] Post = "POST", Put = "PUT", Patch = "PATCH" }
}

/// The value of a header an outgoing webhook sends: text written in the rule, or a secret
/// named there and read from the daemon's environment when the webhook is delivered
/// (`FRONTDESK_OUTBOUND_SECRET_<NAME>`), so that no credential is in a rule file, a decision
/// or the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum HeaderValue {
    /// A secret, by name.
    Secret {
        /// Its name (`CRM_TOKEN`).
        secret: String,
    },
    /// The value as written.
    Text(String),
}

/// Who a ticket is assigned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignTarget {
    /// One agent, by id.
    Agent(String),
    /// A group or team queue.
    Group(String),
}

/// A timer that a decision starts; the store keeps it and the scheduler fires it as a
/// `timer.fired` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimerSpec {
    /// Timer name, unique in the rule pack; its `then:` actions run when it fires.
    pub name: String,
    /// The rule that started it.
    pub rule: String,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Event types that cancel it before it fires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancel_on: Vec<EventType>,
}

/// One decided action. Templates are already rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Send a public reply to the customer.
    Reply {
        /// The rendered text.
        text: String,
        /// The language variant used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// The template it came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
        /// Answers the customer can pick instead of typing (a chat widget's or helpdesk's
        /// buttons); sending one is the same as writing its text. A survey offers `1` to `5`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        quick_replies: Vec<String>,
        /// The satisfaction survey this reply sends (`ticket.csat.survey`), when it is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        survey: Option<String>,
    },
    /// Add a note only agents see.
    InternalNote {
        /// The rendered text.
        text: String,
    },
    /// Change the priority.
    SetPriority {
        /// New priority.
        priority: Priority,
    },
    /// Change the status.
    SetStatus {
        /// New status.
        status: Status,
    },
    /// Set the category.
    SetCategory {
        /// New category.
        category: String,
    },
    /// Add tags (only those not present are listed).
    AddTags {
        /// Tags added.
        tags: Vec<String>,
    },
    /// Remove tags (only those present are listed).
    RemoveTags {
        /// Tags removed.
        tags: Vec<String>,
    },
    /// Assign to an agent or a group.
    Assign {
        /// Agent or group.
        to: AssignTarget,
        /// The team the agent was picked from, or whose queue the ticket waits in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
        /// The agent's id in each helpdesk (`{"chatwoot": 12, "zammad": 7}`), so a connector
        /// or the helpdesk itself can apply the assignment.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        helpdesk_ids: std::collections::BTreeMap<String, Value>,
    },
    /// Set a custom ticket field.
    SetField {
        /// Field name.
        name: String,
        /// New value.
        value: Value,
    },
    /// Cancel the ticket's pending timers.
    CancelTimers {
        /// Timer names; absent means all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        names: Option<Vec<String>>,
    },
    /// Tell people elsewhere (a Slack channel, a manager by e-mail).
    Notify {
        /// Where.
        channel: NotifyChannel,
        /// Channel name or address.
        to: String,
        /// The rendered text.
        text: String,
        /// An e-mail's subject (default `[frontdesk] ticket <id>`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
    },
    /// Call an HTTP endpoint.
    Webhook {
        /// Target URL.
        url: String,
        /// HTTP method.
        method: HttpMethod,
        /// JSON body, templates rendered.
        body: Value,
        /// Extra request headers.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        headers: std::collections::BTreeMap<String, HeaderValue>,
    },
    /// Hand the conversation to a human.
    Handoff {
        /// Group to hand to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// Why, for the agent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Answer from an FAQ bot.
    AnswerFaq {
        /// Bot name.
        bot: String,
        /// Minimum confidence to answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_score: Option<f64>,
    },
    /// frontdesk's own, not written in rules: open a chat handed to a person as a conversation
    /// (Chatwoot) or ticket (Zammad, Zendesk) in the helpdesk chats go to, with the customer and
    /// the transcript.
    OpenConversation {
        /// Its subject (the customer's first question).
        subject: String,
        /// The chat so far, as text for the people who take it over.
        transcript: String,
    },
    /// frontdesk's own, not written in rules: carry a line the customer wrote in a handed-off
    /// chat into the conversation it was opened as.
    RelayMessage {
        /// What the customer wrote.
        text: String,
    },
}

impl Action {
    /// The action's kind as written in rules (`set_priority`).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Reply { .. } => "reply",
            Action::InternalNote { .. } => "internal_note",
            Action::SetPriority { .. } => "set_priority",
            Action::SetStatus { .. } => "set_status",
            Action::SetCategory { .. } => "set_category",
            Action::AddTags { .. } => "add_tags",
            Action::RemoveTags { .. } => "remove_tags",
            Action::Assign { .. } => "assign",
            Action::SetField { .. } => "set_field",
            Action::CancelTimers { .. } => "cancel_timers",
            Action::Notify { .. } => "notify",
            Action::Webhook { .. } => "webhook",
            Action::Handoff { .. } => "handoff",
            Action::AnswerFaq { .. } => "answer_faq",
            Action::OpenConversation { .. } => "open_conversation",
            Action::RelayMessage { .. } => "relay_message",
        }
    }
}
