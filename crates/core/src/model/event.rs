//! Events: what happened to a ticket.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{named_enum, Message, Ticket};

named_enum! {
    /// The kinds of event rules react to (`on:`).
    pub enum EventType {
        TicketCreated = "ticket.created",
        MessageCreated = "message.created",
        MessageAgent = "message.agent",
        TicketUpdated = "ticket.updated",
        TicketStatusChanged = "ticket.status_changed",
        TicketAssigned = "ticket.assigned",
        TimerFired = "timer.fired",
        SlaWarning = "sla.warning",
        SlaBreached = "sla.breached",
        ScheduleTick = "schedule.tick",
        AgentAvailable = "agent.available",
        CsatReceived = "csat.received",
    }
}

impl EventType {
    /// Bit for sets of event types.
    pub(crate) fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// One change of a field in an update event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The value before (null when unset).
    #[serde(default)]
    pub from: Value,
    /// The value after (null when unset).
    #[serde(default)]
    pub to: Value,
}

/// The timer that fired, on `timer.fired` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimerRef {
    /// Timer id.
    pub id: String,
    /// Timer name as written in the rule.
    pub name: String,
    /// When it was due (it may fire later, after downtime).
    pub due_at: DateTime<Utc>,
}

/// A normalised event: what `POST /v1/events` accepts and every adapter produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Unique id; repeating an id repeats nothing.
    #[schemars(pattern(r"\S"))]
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When it happened (defaults to the time frontdesk received it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
    /// The ticket as it is now.
    pub ticket: Ticket,
    /// The message, on message events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Changed fields on update events, by path (`ticket.priority`, `ticket.status`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, Change>,
    /// The timer, on `timer.fired` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<TimerRef>,
    /// Free payload (SLA details, adapter extras), readable as `event.data.NAME`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub data: serde_json::Map<String, Value>,
}

impl Event {
    /// Reads an event from JSON; the error names the failing field's path and position.
    pub fn from_json(text: &str) -> Result<Event, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                e.into_inner().to_string()
            } else {
                format!("{path}: {}", e.into_inner())
            }
        })
    }

    /// Reads an event from a JSON value (as written in a rule file test).
    pub fn from_value(value: Value) -> Result<Event, String> {
        super::strict::from_value(&value).map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner())
        })
    }
}
