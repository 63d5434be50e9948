//! Field paths that conditions read (`ticket.priority`, `message.text`, ...), resolved once at
//! compile time into [`Field`], and read at run time as a borrowed [`Val`].

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{Event, Message, Metric, SlaClock, Ticket};

/// What kind of value a field holds; decides which operators and operands are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text searched by keywords (subject, message text).
    Text,
    /// Short text compared as a whole (tier, category, language).
    Str,
    /// One of a closed set of names, by the index in its `Named::ALL`.
    Enum(EnumKind),
    /// A list of texts (tags).
    List,
    /// A point in time.
    Time,
    /// `true` or `false`.
    Bool,
    /// A number (a satisfaction score).
    Number,
    /// Whatever the JSON holds (custom fields, event data).
    Any,
}

/// The closed sets a field may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumKind {
    /// `crate::model::Channel`
    Channel,
    /// `crate::model::Status`
    Status,
    /// `crate::model::Priority` (ordered)
    Priority,
    /// `crate::model::Author`
    Author,
    /// `crate::model::EventType`
    EventType,
}

impl EnumKind {
    /// The names of the set, in order.
    pub fn names(self) -> Vec<&'static str> {
        use crate::model::*;
        match self {
            EnumKind::Channel => Channel::names(),
            EnumKind::Status => Status::names(),
            EnumKind::Priority => Priority::names(),
            EnumKind::Author => Author::names(),
            EnumKind::EventType => EventType::names(),
        }
    }

    /// What the values are called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            EnumKind::Channel => "channel",
            EnumKind::Status => "status",
            EnumKind::Priority => "priority",
            EnumKind::Author => "author",
            EnumKind::EventType => "event type",
        }
    }

    /// The index of `name` in the set (case-insensitive).
    pub fn index_of(self, name: &str) -> Option<u8> {
        self.names()
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| i as u8)
    }
}

/// Which folded text a keyword condition searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSlot {
    /// `ticket.subject`
    Subject = 0,
    /// `message.text`
    Message = 1,
    /// `text`: subject and message together.
    Both = 2,
}

impl TextSlot {
    /// The field path that reads it.
    pub fn field_path(self) -> &'static str {
        match self {
            TextSlot::Subject => "ticket.subject",
            TextSlot::Message => "message.text",
            TextSlot::Both => "text",
        }
    }
}

/// A field a condition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Field {
    EventType,
    EventData(Vec<String>),
    TicketId,
    Subject,
    Channel,
    Status,
    Priority,
    Tags,
    Category,
    Assignee,
    Group,
    TicketField(Vec<String>),
    CreatedAt,
    UpdatedAt,
    FirstResponseAt,
    CustomerId,
    CustomerName,
    CustomerFirstName,
    CustomerEmail,
    CustomerLanguage,
    CustomerTier,
    CustomerField(Vec<String>),
    MessageId,
    MessageText,
    MessageAuthor,
    MessageLanguage,
    MessageAt,
    Text,
    SlaPolicy,
    Sla(Metric, SlaPart),
    Csat(CsatPart),
}

/// What a condition reads of the ticket's satisfaction survey (`ticket.csat.score`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsatPart {
    /// `survey`: the survey's id.
    Survey,
    /// `sent_at`: when it was sent.
    SentAt,
    /// `score`: the rating, 1 to 5.
    Score,
    /// `rated_at`: when it was rated.
    RatedAt,
    /// `via`: how the rating came (`link`, `chat`, `reply`).
    Via,
}

/// What a condition reads of an SLA clock (`ticket.sla.first_response.breached`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaPart {
    /// `started_at`: when the clock started.
    StartedAt,
    /// `due_at`: when the target is reached if the clock keeps running.
    DueAt,
    /// `achieved_at`: when it was met.
    AchievedAt,
    /// `breached_at`: when the target was missed.
    BreachedAt,
    /// `breached`: whether the target was missed.
    Breached,
    /// `paused`: whether the clock is paused.
    Paused,
    /// `running`: whether the clock is counting.
    Running,
}

impl SlaPart {
    fn read(self, c: &SlaClock) -> Val<'static> {
        let time = |t: Option<DateTime<Utc>>| t.map_or(Val::Null, Val::Time);
        match self {
            SlaPart::StartedAt => Val::Time(c.started_at),
            SlaPart::DueAt => time(c.due_at),
            SlaPart::AchievedAt => time(c.achieved_at),
            SlaPart::BreachedAt => time(c.breached_at),
            SlaPart::Breached => Val::Bool(c.breached),
            SlaPart::Paused => Val::Bool(c.is_paused()),
            SlaPart::Running => Val::Bool(c.is_running()),
        }
    }
}

/// Fixed field paths, for lookup and "did you mean".
pub const FIELDS: &[(&str, Field)] = &[
    ("event.type", Field::EventType),
    ("ticket.id", Field::TicketId),
    ("ticket.subject", Field::Subject),
    ("ticket.channel", Field::Channel),
    ("ticket.status", Field::Status),
    ("ticket.priority", Field::Priority),
    ("ticket.tags", Field::Tags),
    ("ticket.category", Field::Category),
    ("ticket.assignee", Field::Assignee),
    ("ticket.group", Field::Group),
    ("ticket.created_at", Field::CreatedAt),
    ("ticket.updated_at", Field::UpdatedAt),
    ("ticket.first_response_at", Field::FirstResponseAt),
    ("ticket.customer.id", Field::CustomerId),
    ("ticket.customer.name", Field::CustomerName),
    ("ticket.customer.first_name", Field::CustomerFirstName),
    ("ticket.customer.email", Field::CustomerEmail),
    ("ticket.customer.language", Field::CustomerLanguage),
    ("ticket.customer.tier", Field::CustomerTier),
    ("message.id", Field::MessageId),
    ("message.text", Field::MessageText),
    ("message.author", Field::MessageAuthor),
    ("message.language", Field::MessageLanguage),
    ("message.at", Field::MessageAt),
    ("text", Field::Text),
    ("ticket.sla.policy", Field::SlaPolicy),
    (
        "ticket.sla.first_response.started_at",
        Field::Sla(Metric::FirstResponse, SlaPart::StartedAt),
    ),
    (
        "ticket.sla.first_response.due_at",
        Field::Sla(Metric::FirstResponse, SlaPart::DueAt),
    ),
    (
        "ticket.sla.first_response.achieved_at",
        Field::Sla(Metric::FirstResponse, SlaPart::AchievedAt),
    ),
    (
        "ticket.sla.first_response.breached_at",
        Field::Sla(Metric::FirstResponse, SlaPart::BreachedAt),
    ),
    (
        "ticket.sla.first_response.breached",
        Field::Sla(Metric::FirstResponse, SlaPart::Breached),
    ),
    (
        "ticket.sla.first_response.paused",
        Field::Sla(Metric::FirstResponse, SlaPart::Paused),
    ),
    (
        "ticket.sla.first_response.running",
        Field::Sla(Metric::FirstResponse, SlaPart::Running),
    ),
    (
        "ticket.sla.next_response.started_at",
        Field::Sla(Metric::NextResponse, SlaPart::StartedAt),
    ),
    (
        "ticket.sla.next_response.due_at",
        Field::Sla(Metric::NextResponse, SlaPart::DueAt),
    ),
    (
        "ticket.sla.next_response.achieved_at",
        Field::Sla(Metric::NextResponse, SlaPart::AchievedAt),
    ),
    (
        "ticket.sla.next_response.breached_at",
        Field::Sla(Metric::NextResponse, SlaPart::BreachedAt),
    ),
    (
        "ticket.sla.next_response.breached",
        Field::Sla(Metric::NextResponse, SlaPart::Breached),
    ),
    (
        "ticket.sla.next_response.paused",
        Field::Sla(Metric::NextResponse, SlaPart::Paused),
    ),
    (
        "ticket.sla.next_response.running",
        Field::Sla(Metric::NextResponse, SlaPart::Running),
    ),
    (
        "ticket.sla.resolution.started_at",
        Field::Sla(Metric::Resolution, SlaPart::StartedAt),
    ),
    (
        "ticket.sla.resolution.due_at",
        Field::Sla(Metric::Resolution, SlaPart::DueAt),
    ),
    (
        "ticket.sla.resolution.achieved_at",
        Field::Sla(Metric::Resolution, SlaPart::AchievedAt),
    ),
    (
        "ticket.sla.resolution.breached_at",
        Field::Sla(Metric::Resolution, SlaPart::BreachedAt),
    ),
    (
        "ticket.sla.resolution.breached",
        Field::Sla(Metric::Resolution, SlaPart::Breached),
    ),
    (
        "ticket.sla.resolution.paused",
        Field::Sla(Metric::Resolution, SlaPart::Paused),
    ),
    (
        "ticket.sla.resolution.running",
        Field::Sla(Metric::Resolution, SlaPart::Running),
    ),
    ("ticket.csat.survey", Field::Csat(CsatPart::Survey)),
    ("ticket.csat.sent_at", Field::Csat(CsatPart::SentAt)),
    ("ticket.csat.score", Field::Csat(CsatPart::Score)),
    ("ticket.csat.rated_at", Field::Csat(CsatPart::RatedAt)),
    ("ticket.csat.via", Field::Csat(CsatPart::Via)),
];

/// Prefixes of open-ended paths (`ticket.fields.region`).
const OPEN: &[&str] = &["ticket.fields.", "ticket.customer.fields.", "event.data."];

/// Every path a rule may name, for suggestions and the schema.
pub fn known_paths() -> Vec<String> {
    FIELDS
        .iter()
        .map(|(p, _)| p.to_string())
        .chain(FIELDS.iter().filter_map(|(p, _)| {
            p.strip_prefix("ticket.customer.")
                .map(|rest| format!("customer.{rest}"))
        }))
        .chain(OPEN.iter().map(|p| format!("{p}NAME")))
        .collect()
}

impl Field {
    /// Resolves a path as written; `customer.x` is short for `ticket.customer.x`.
    pub fn parse(path: &str) -> Option<Field> {
        let owned;
        let path = match path.strip_prefix("customer.") {
            Some(rest) => {
                owned = format!("ticket.customer.{rest}");
                owned.as_str()
            }
            None => path,
        };
        if let Some((_, f)) = FIELDS.iter().find(|(p, _)| *p == path) {
            return Some(f.clone());
        }
        let split = |rest: &str| -> Option<Vec<String>> {
            let parts: Vec<String> = rest.split('.').map(str::to_string).collect();
            parts.iter().all(|p| !p.is_empty()).then_some(parts)
        };
        if let Some(rest) = path.strip_prefix("ticket.customer.fields.") {
            return split(rest).map(Field::CustomerField);
        }
        if let Some(rest) = path.strip_prefix("ticket.fields.") {
            return split(rest).map(Field::TicketField);
        }
        if let Some(rest) = path.strip_prefix("event.data.") {
            return split(rest).map(Field::EventData);
        }
        None
    }

    /// The canonical path (`ticket.customer.tier`).
    pub fn path(&self) -> String {
        match self {
            Field::EventData(p) => format!("event.data.{}", p.join(".")),
            Field::TicketField(p) => format!("ticket.fields.{}", p.join(".")),
            Field::CustomerField(p) => format!("ticket.customer.fields.{}", p.join(".")),
            f => FIELDS
                .iter()
                .find(|(_, g)| g == f)
                .map(|(p, _)| p.to_string())
                .unwrap_or_default(),
        }
    }

    /// The field's type.
    pub fn ty(&self) -> FieldType {
        use Field::*;
        match self {
            EventType => FieldType::Enum(EnumKind::EventType),
            Channel => FieldType::Enum(EnumKind::Channel),
            Status => FieldType::Enum(EnumKind::Status),
            Priority => FieldType::Enum(EnumKind::Priority),
            MessageAuthor => FieldType::Enum(EnumKind::Author),
            Subject | MessageText | Text => FieldType::Text,
            Tags => FieldType::List,
            CreatedAt | UpdatedAt | FirstResponseAt | MessageAt => FieldType::Time,
            Sla(_, SlaPart::Breached | SlaPart::Paused | SlaPart::Running) => FieldType::Bool,
            Sla(..) => FieldType::Time,
            Csat(CsatPart::Score) => FieldType::Number,
            Csat(CsatPart::SentAt | CsatPart::RatedAt) => FieldType::Time,
            Csat(CsatPart::Survey | CsatPart::Via) => FieldType::Str,
            EventData(_) | TicketField(_) | CustomerField(_) => FieldType::Any,
            TicketId | Category | Assignee | Group | CustomerId | CustomerName
            | CustomerFirstName | CustomerEmail | CustomerLanguage | CustomerTier | MessageId
            | MessageLanguage | SlaPolicy => FieldType::Str,
        }
    }

    /// The folded text a keyword condition on this field searches.
    pub fn text_slot(&self) -> Option<TextSlot> {
        match self {
            Field::Subject => Some(TextSlot::Subject),
            Field::MessageText => Some(TextSlot::Message),
            Field::Text => Some(TextSlot::Both),
            _ => None,
        }
    }

    /// Reads the field.
    pub fn get<'a>(&self, ticket: &'a Ticket, event: &'a Event, text: &'a str) -> Val<'a> {
        use Field::*;
        let msg: Option<&'a Message> = event.message.as_ref();
        let opt = |s: &'a Option<String>| s.as_deref().map_or(Val::Null, Val::Str);
        match self {
            EventType => Val::Enum(event.kind as u8),
            EventData(path) => json_path(event.data.get(&path[0]), &path[1..]),
            TicketId => Val::Str(&ticket.id),
            Subject => Val::Str(&ticket.subject),
            Channel => Val::Enum(ticket.channel as u8),
            Status => Val::Enum(ticket.status as u8),
            Priority => Val::Enum(ticket.priority as u8),
            Tags => Val::List(&ticket.tags),
            Category => opt(&ticket.category),
            Assignee => opt(&ticket.assignee),
            Group => opt(&ticket.group),
            TicketField(path) => json_path(ticket.fields.get(&path[0]), &path[1..]),
            CreatedAt => ticket.created_at.map_or(Val::Null, Val::Time),
            UpdatedAt => ticket.updated_at.map_or(Val::Null, Val::Time),
            FirstResponseAt => ticket.first_response_at.map_or(Val::Null, Val::Time),
            CustomerId => opt(&ticket.customer.id),
            CustomerName => opt(&ticket.customer.name),
            CustomerFirstName => ticket.customer.first_name().map_or(Val::Null, Val::Str),
            CustomerEmail => opt(&ticket.customer.email),
            CustomerLanguage => opt(&ticket.customer.language),
            CustomerTier => opt(&ticket.customer.tier),
            CustomerField(path) => json_path(ticket.customer.fields.get(&path[0]), &path[1..]),
            MessageId => msg.map_or(Val::Null, |m| opt(&m.id)),
            MessageText => msg.map_or(Val::Null, |m| Val::Str(&m.text)),
            MessageAuthor => msg.map_or(Val::Null, |m| Val::Enum(m.author as u8)),
            MessageLanguage => msg.map_or(Val::Null, |m| opt(&m.language)),
            MessageAt => msg.and_then(|m| m.at).map_or(Val::Null, Val::Time),
            Text => Val::Str(text),
            SlaPolicy => ticket
                .sla
                .as_ref()
                .map_or(Val::Null, |s| Val::Str(&s.policy)),
            Sla(m, part) => ticket
                .sla
                .as_ref()
                .and_then(|s| s.clock(*m))
                .map_or(Val::Null, |c| part.read(c)),
            Csat(part) => match (&ticket.csat, part) {
                (None, _) => Val::Null,
                (Some(c), CsatPart::Survey) => Val::Str(&c.survey),
                (Some(c), CsatPart::SentAt) => Val::Time(c.sent_at),
                (Some(c), CsatPart::Score) => c.score.map_or(Val::Null, |n| Val::Num(n.into())),
                (Some(c), CsatPart::RatedAt) => c.rated_at.map_or(Val::Null, Val::Time),
                (Some(c), CsatPart::Via) => opt(&c.via),
            },
        }
    }
}

fn json_path<'a>(root: Option<&'a Value>, rest: &[String]) -> Val<'a> {
    let mut v = match root {
        Some(v) => v,
        None => return Val::Null,
    };
    for key in rest {
        v = match v.get(key.as_str()) {
            Some(v) => v,
            None => return Val::Null,
        };
    }
    Val::Json(v)
}

/// A field's value, borrowed from the ticket or event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    /// Not set.
    Null,
    /// Text.
    Str(&'a str),
    /// An index into an [`EnumKind`]'s names.
    Enum(u8),
    /// A list of texts.
    List(&'a [String]),
    /// A time.
    Time(DateTime<Utc>),
    /// A flag.
    Bool(bool),
    /// A number.
    Num(f64),
    /// JSON from a custom field or event data.
    Json(&'a Value),
}

impl Val<'_> {
    /// The value as JSON, for traces.
    pub fn to_json(self, ty: FieldType) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Str(s) => Value::String(s.to_string()),
            Val::Enum(i) => match ty {
                FieldType::Enum(k) => Value::String(k.names()[i as usize].to_string()),
                _ => Value::from(i),
            },
            Val::List(items) => Value::from(items.to_vec()),
            Val::Time(t) => Value::String(t.to_rfc3339()),
            Val::Bool(b) => Value::Bool(b),
            Val::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => Value::from(n as i64),
            Val::Num(n) => Value::from(n),
            Val::Json(v) => v.clone(),
        }
    }

    /// Whether the value is set and not empty.
    pub fn exists(self) -> bool {
        match self {
            Val::Null => false,
            Val::Str(s) => !s.trim().is_empty(),
            Val::List(l) => !l.is_empty(),
            Val::Json(v) => match v {
                Value::Null => false,
                Value::String(s) => !s.trim().is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            },
            Val::Enum(_) | Val::Time(_) | Val::Bool(_) | Val::Num(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_path_round_trips() {
        for (p, f) in FIELDS {
            assert_eq!(Field::parse(p).as_ref(), Some(f));
            assert_eq!(&f.path(), p);
        }
        assert_eq!(Field::parse("customer.tier"), Some(Field::CustomerTier));
        assert_eq!(
            Field::parse("ticket.fields.order.id"),
            Some(Field::TicketField(vec!["order".into(), "id".into()]))
        );
        assert_eq!(Field::parse("ticket.fields."), None);
        assert_eq!(Field::parse("ticket.prio"), None);
    }
}
