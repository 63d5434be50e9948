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
    #[schemars(pattern(r"\S"))]
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
    /// The ticket's id in the helpdesk, when frontdesk gave it its own (a chat handed to a
    /// person and opened there as a conversation); webhooks naming this id reach the ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
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
    /// Who wrote it, by name, as the helpdesk shows them (an agent's display name, shown to the
    /// customer in a chat handed over to a person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
}

/// Fields whose changes `changed`/`changed_to` conditions see when the helpdesk does not list
/// them ([`Ticket::changes_since`] compares them field by field; its tests hold it to this list).
#[cfg(test)]
const TRACKED: &[&str] = &[
    "status", "priority", "assignee", "group", "category", "channel", "subject",
];

/// Writes `patch` over `base` as [`Ticket::overlay`] does at `depth` (0: the ticket): keys
/// replace, except `customer` and `fields` of the ticket and `fields` one level down, which
/// merge key by key.
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

/// A field of a patch, read as the ticket's field type.
fn read<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    T::deserialize(v).map_err(|e| e.to_string())
}

/// A part of the ticket (`customer`, `fields`) with `patch` merged in at `depth`.
fn merged<T: Serialize + serde::de::DeserializeOwned>(
    part: &T,
    patch: &Value,
    depth: usize,
) -> Result<T, String> {
    let mut base = serde_json::to_value(part).map_err(|e| e.to_string())?;
    merge(&mut base, patch, depth);
    read(&base)
}

impl Ticket {
    /// The ticket with the fields present in `patch` (a ticket as JSON, as a helpdesk sent it)
    /// written over this one. `customer` and `fields` merge key by key.
    ///
    /// The same as writing the patch over this ticket's JSON ([`merge`]) and reading the
    /// result back, field by field: only the fields the patch names are read, and only
    /// `customer` and `fields` go through JSON (a replay lays a patch over every event).
    pub fn overlay(&self, patch: &Value) -> Result<Ticket, String> {
        let Value::Object(fields) = patch else {
            let mut base = serde_json::to_value(self).map_err(|e| e.to_string())?;
            merge(&mut base, patch, 0);
            return read(&base);
        };
        let mut t = self.clone();
        for (k, v) in fields {
            match k.as_str() {
                "id" => t.id = read(v)?,
                "channel" => t.channel = read(v)?,
                "subject" => t.subject = read(v)?,
                "status" => t.status = read(v)?,
                "priority" => t.priority = read(v)?,
                "tags" => t.tags = read(v)?,
                "category" => t.category = read(v)?,
                "customer" if v.is_object() => t.customer = merged(&t.customer, v, 1)?,
                "customer" => t.customer = read(v)?,
                "assignee" => t.assignee = read(v)?,
                "group" => t.group = read(v)?,
                "fields" if v.is_object() => t.fields = merged(&t.fields, v, 1)?,
                "fields" => t.fields = read(v)?,
                "created_at" => t.created_at = read(v)?,
                "updated_at" => t.updated_at = read(v)?,
                "first_response_at" => t.first_response_at = read(v)?,
                "source" => t.source = read(v)?,
                "sla" => t.sla = read(v)?,
                "stats" => t.stats = read(v)?,
                "csat" => t.csat = read(v)?,
                other => return Err(format!("unknown field `{other}`")),
            }
        }
        Ok(t)
    }

    /// What changed in the tracked fields (status, priority, assignee, group, category,
    /// channel, subject) from `before` to this ticket, keyed `ticket.NAME`, each value as JSON.
    pub fn changes_since(&self, before: &Ticket) -> BTreeMap<String, super::Change> {
        fn name<T: super::Named>(v: T) -> Value {
            Value::from(v.name())
        }
        fn opt(v: &Option<String>) -> Value {
            v.as_deref().map_or(Value::Null, Value::from)
        }
        let mut out = BTreeMap::new();
        let mut note = |key: &str, differ: bool, from: fn(&Ticket) -> Value| {
            if differ {
                out.insert(
                    format!("ticket.{key}"),
                    super::Change {
                        from: from(before),
                        to: from(self),
                    },
                );
            }
        };
        note("status", self.status != before.status, |t| name(t.status));
        note("priority", self.priority != before.priority, |t| {
            name(t.priority)
        });
        note("assignee", self.assignee != before.assignee, |t| {
            opt(&t.assignee)
        });
        note("group", self.group != before.group, |t| opt(&t.group));
        note("category", self.category != before.category, |t| {
            opt(&t.category)
        });
        note("channel", self.channel != before.channel, |t| {
            name(t.channel)
        });
        note("subject", self.subject != before.subject, |t| {
            Value::from(t.subject.as_str())
        });
        out
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

    /// The definitions the field-by-field versions must agree with: the patch written over
    /// the ticket's JSON, and the tracked fields compared as JSON.
    fn overlay_json(t: &Ticket, patch: &Value) -> Result<Ticket, String> {
        let mut base = serde_json::to_value(t).map_err(|e| e.to_string())?;
        merge(&mut base, patch, 0);
        serde_json::from_value(base).map_err(|e| e.to_string())
    }

    fn changes_json(now: &Ticket, was: &Ticket) -> BTreeMap<String, crate::model::Change> {
        let (now, was) = (
            serde_json::to_value(now).unwrap(),
            serde_json::to_value(was).unwrap(),
        );
        TRACKED
            .iter()
            .filter_map(|k| {
                let to = now.get(*k).cloned().unwrap_or(Value::Null);
                let from = was.get(*k).cloned().unwrap_or(Value::Null);
                (to != from).then(|| (format!("ticket.{k}"), crate::model::Change { from, to }))
            })
            .collect()
    }

    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0i64..3).prop_map(Value::from),
            prop::sample::select(vec![
                "",
                "1",
                "x",
                "email",
                "chat",
                "open",
                "pending",
                "urgent",
                "low",
                "nb",
                "gold",
                "2026-11-23T10:00:00Z",
                "kari",
                "billing",
            ])
            .prop_map(Value::from),
        ]
    }

    /// Values of every shape a caller may send, nested two levels.
    fn value() -> impl Strategy<Value = Value> {
        let keys = prop::sample::select(vec![
            "a",
            "b",
            "fields",
            "language",
            "tier",
            "name",
            "first_name",
            "nope",
        ]);
        scalar().prop_recursive(2, 8, 3, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map(keys.clone(), inner, 0..3).prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }

    fn obj(m: std::collections::BTreeMap<&str, Value>) -> Value {
        Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn text() -> impl Strategy<Value = Value> {
        prop::sample::select(vec!["", "x", "kari", "billing", "nb"]).prop_map(Value::from)
    }

    /// A value for a field of the ticket: mostly one of its type, sometimes anything.
    fn field(key: &'static str) -> BoxedStrategy<Value> {
        let names = |v: Vec<&'static str>| prop::sample::select(v).prop_map(Value::from).boxed();
        let optional = prop_oneof![Just(Value::Null), text()].boxed();
        let fields = prop::collection::btree_map(
            prop::sample::select(vec!["a", "b", "fields"]),
            value(),
            0..3,
        )
        .prop_map(obj)
        .boxed();
        let typed = match key {
            "channel" => names(vec!["email", "chat", "other", "bogus"]),
            "status" => names(vec!["new", "open", "solved", "bogus"]),
            "priority" => names(vec!["low", "urgent", "bogus"]),
            "tags" => prop::collection::vec(text(), 0..3)
                .prop_map(Value::from)
                .boxed(),
            "category" | "assignee" | "group" => optional,
            "customer" => prop::collection::btree_map(
                prop::sample::select(vec!["language", "tier", "name", "fields", "nope"]),
                prop_oneof![3 => text(), 1 => Just(Value::Null), 2 => fields.clone()],
                0..3,
            )
            .prop_map(obj)
            .boxed(),
            "fields" => fields,
            "created_at" | "updated_at" | "first_response_at" => prop_oneof![
                Just(Value::Null),
                Just(Value::from("2026-11-24T08:00:00Z")),
                Just(Value::from("tomorrow")),
            ]
            .boxed(),
            _ => text().boxed(),
        };
        prop_oneof![5 => typed, 1 => value()].boxed()
    }

    fn patch() -> impl Strategy<Value = Value> {
        let keys = vec![
            "id",
            "channel",
            "subject",
            "status",
            "priority",
            "tags",
            "category",
            "customer",
            "assignee",
            "group",
            "fields",
            "created_at",
            "updated_at",
            "first_response_at",
            "source",
            "stats",
            "csat",
            "unknown",
        ];
        let one = prop::sample::select(keys).prop_flat_map(|k| (Just(k), field(k)));
        prop_oneof![
            8 => prop::collection::vec(one, 0..4)
                .prop_map(|kv| obj(kv.into_iter().collect())),
            1 => value(),
        ]
    }

    fn base() -> Ticket {
        let mut t = Ticket {
            id: "T".into(),
            channel: Channel::Email,
            status: Status::Open,
            priority: Priority::High,
            tags: vec!["vip".into()],
            assignee: Some("kari".into()),
            created_at: Some("2026-11-23T09:00:00.123456789Z".parse().unwrap()),
            ..Ticket::default()
        };
        t.customer.language = Some("nb".into());
        t.customer
            .fields
            .insert("fields".into(), serde_json::json!({"a": 1}));
        t.fields.insert("a".into(), serde_json::json!({"x": 1.5}));
        t.fields
            .insert("fields".into(), serde_json::json!({"b": [1, 2]}));
        t
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn overlay_is_the_patch_written_over_the_json(p in patch()) {
            for t in [base(), Ticket::default()] {
                let native = t.overlay(&p);
                let json = overlay_json(&t, &p);
                prop_assert_eq!(native.is_ok(), json.is_ok(), "{:?} / {:?}", native, json);
                if let (Ok(n), Ok(j)) = (native, json) {
                    prop_assert_eq!(&n, &j);
                    prop_assert_eq!(n.changes_since(&t), changes_json(&n, &t));
                    prop_assert_eq!(t.changes_since(&n), changes_json(&t, &n));
                }
            }
        }
    }
}
