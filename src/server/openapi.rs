//! The OpenAPI 3.1 document. Bodies are described by the same JSON Schemas as
//! `frontdesk schema` (OpenAPI 3.1 uses JSON Schema 2020-12), so there is one source of truth.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use super::auth::Role;
use super::chat::{EventsQuery, StatsQuery};
use super::routes::{DecisionsQuery, EventQuery, InboundQuery, OutboxQuery};
use crate::model::Event;
use crate::model::Named;
use crate::routing::AgentStatus;
use crate::service::agents::AgentView;
use crate::service::chat::{
    AgentMessage, AgentPosted, ChatAnswer, ChatClosed, ChatInput, ChatOpened, ContactLeft,
    LeaveContact, NewChat, Transcript,
};
use crate::service::csat::Rated;
use crate::service::explain::{Explained, TryOut};
use crate::service::{Code, ConfigInfo, EventResponse};
use crate::store::{AuditRow, ChatStats, OutboxRow, TicketRecord};

/// Every route, for the router and the OpenAPI document alike.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/events"),
    ("post", "/v1/inbound/generic"),
    ("post", "/v1/inbound/chatwoot"),
    ("post", "/v1/inbound/zammad"),
    ("post", "/v1/inbound/zendesk"),
    ("get", "/v1/tickets/{id}"),
    ("get", "/v1/decisions"),
    ("get", "/v1/decisions/{event_id}/explain"),
    ("post", "/v1/playground"),
    ("get", "/v1/outbox"),
    ("post", "/v1/outbox/{id}/redeliver"),
    ("get", "/v1/agents"),
    ("put", "/v1/agents/{id}/status"),
    ("post", "/v1/chat/sessions"),
    ("get", "/v1/chat/sessions/{id}"),
    ("post", "/v1/chat/sessions/{id}/messages"),
    ("post", "/v1/chat/sessions/{id}/close"),
    ("post", "/v1/chat/sessions/{id}/agent-messages"),
    ("post", "/v1/chat/sessions/{id}/contact"),
    ("get", "/v1/chat/sessions/{id}/events"),
    ("get", "/v1/bots/{bot}/stats"),
    ("get", "/v1/reports/kpis"),
    ("get", "/v1/csat/{token}"),
    ("post", "/v1/admin/reload"),
    ("get", "/v1/admin/config"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/chat"),
];

/// Routes under `/v1/` that take no API token.
const PUBLIC: &[&str] = &["/v1/csat/{token}"];

/// Where references point while the document is built: request schemas describe what the
/// server reads (fields with defaults optional), response schemas what it writes (fields it
/// may leave out optional). A type can differ between the two, so each side keeps its own
/// definitions until [`Schemas::finish`] merges them.
const REQUEST_REFS: &str = "#/$defs/";
const RESPONSE_REFS: &str = "#/$out/";
const COMPONENTS: &str = "#/components/schemas/";

/// The schemas of one document, generated from the types the handlers read and write.
struct Schemas {
    request: SchemaGenerator,
    response: SchemaGenerator,
    inline: SchemaGenerator,
}

impl Schemas {
    fn new() -> Schemas {
        let base = SchemaSettings::draft2020_12();
        Schemas {
            request: base.clone().for_deserialize().into_generator(),
            response: base.clone().for_serialize().into_generator(),
            inline: base
                .for_deserialize()
                .with(|s| s.inline_subschemas = true)
                .into_generator(),
        }
    }

    /// A request body's schema (a reference for named types).
    fn body<T: JsonSchema>(&mut self) -> Value {
        self.request.subschema_for::<T>().to_value()
    }

    /// A response's schema.
    fn out<T: JsonSchema>(&mut self) -> Value {
        retarget(
            self.response.subschema_for::<T>().to_value(),
            REQUEST_REFS,
            RESPONSE_REFS,
        )
    }

    /// The query parameters of a handler's query type, one per field: the same type the
    /// handler deserialises, so names, types, enums and bounds cannot drift apart.
    fn query<T: JsonSchema>(&mut self) -> Vec<Value> {
        let schema = self.inline.root_schema_for::<T>().to_value();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(props) = schema["properties"].as_object() else {
            return Vec::new();
        };
        props
            .iter()
            .map(|(name, prop)| {
                let mut prop = not_null(prop.clone());
                let description = prop
                    .as_object_mut()
                    .and_then(|o| o.remove("description"))
                    .unwrap_or(Value::Null);
                let mut param = json!({ "name": name, "in": "query", "schema": prop });
                if required.contains(&name.as_str()) {
                    param["required"] = json!(true);
                }
                if !description.is_null() {
                    param["description"] = description;
                }
                param
            })
            .collect()
    }

    /// Every definition under `components/schemas`. A type whose request and response
    /// schemas differ keeps its name for the request and is `<Name>Out` for the response.
    fn finish(mut self) -> (Map<String, Value>, impl Fn(Value) -> Value) {
        let request = self.request.take_definitions(true);
        let response = self.response.take_definitions(true);
        let mut defs = Map::new();
        let mut renamed = Vec::new();
        for (name, schema) in &response {
            let schema = retarget(schema.clone(), REQUEST_REFS, RESPONSE_REFS);
            match request.get(name) {
                Some(req) if retarget(req.clone(), REQUEST_REFS, RESPONSE_REFS) != schema => {
                    renamed.push(name.clone());
                    defs.insert(format!("{name}Out"), schema);
                }
                _ => {
                    defs.insert(name.clone(), schema);
                }
            }
        }
        for (name, schema) in request {
            defs.insert(name, schema);
        }
        let relink = move |v: Value| relink(v, &renamed);
        let defs = defs.into_iter().map(|(k, v)| (k, relink(v))).collect();
        (defs, relink)
    }
}

/// Drops `null` from an optional field's schema: a query parameter is absent, never null.
fn not_null(mut prop: Value) -> Value {
    if let Some(types) = prop.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            prop["type"] = types[0].clone();
        }
    }
    if let Some(any) = prop.get("anyOf").and_then(Value::as_array) {
        let rest: Vec<&Value> = any.iter().filter(|s| s["type"] != "null").collect();
        if let [only] = rest.as_slice() {
            let mut merged = (*only).clone();
            if let (Some(m), Some(d)) = (merged.as_object_mut(), prop.get("description")) {
                m.insert("description".into(), d.clone());
            }
            return not_null(merged);
        }
    }
    if let Some(one) = prop.get("oneOf").and_then(Value::as_array) {
        // A unit enum with doc comments: one `const` per variant.
        let values: Option<Vec<Value>> = one.iter().map(|v| v.get("const").cloned()).collect();
        if let Some(values) = values.filter(|v| !v.is_empty()) {
            let mut out = json!({ "type": "string", "enum": values });
            if let Some(d) = prop.get("description") {
                out["description"] = d.clone();
            }
            return out;
        }
    }
    prop
}

/// Rewrites every string of `v` for which `rewrite` gives a new one (the references).
fn rewrite_strings(v: Value, rewrite: &dyn Fn(&str) -> Option<String>) -> Value {
    match v {
        Value::String(s) => Value::String(rewrite(&s).unwrap_or(s)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| rewrite_strings(i, rewrite))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, rewrite_strings(v, rewrite)))
                .collect(),
        ),
        other => other,
    }
}

/// Rewrites references with prefix `from` to prefix `to`.
fn retarget(v: Value, from: &str, to: &str) -> Value {
    rewrite_strings(v, &|s| {
        s.strip_prefix(from).map(|rest| format!("{to}{rest}"))
    })
}

/// Points both sides' references into `#/components/schemas/`.
fn relink(v: Value, renamed: &[String]) -> Value {
    rewrite_strings(v, &|s| {
        if let Some(name) = s.strip_prefix(REQUEST_REFS) {
            return Some(format!("{COMPONENTS}{name}"));
        }
        let name = s.strip_prefix(RESPONSE_REFS)?;
        let suffix = if renamed.iter().any(|r| r == name) {
            "Out"
        } else {
            ""
        };
        Some(format!("{COMPONENTS}{name}{suffix}"))
    })
}

/// What an operation takes, from which the statuses it can answer with follow.
#[derive(Default)]
struct Takes {
    /// A JSON body of this schema.
    body: Option<Value>,
    /// Query and path parameters.
    params: Vec<Value>,
    /// Statuses only the operation itself sends (404 for an unknown id, 409, 503 ...).
    errors: &'static [u16],
}

fn error_response() -> Value {
    json!({ "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// An operation answering `ok` with 200. The error statuses are those `takes` implies — 400,
/// 413, 415 and 422 for a body, 400 for a query string — and its own.
fn op(summary: &str, ok: Value, takes: Takes) -> Value {
    let mut codes: Vec<u16> = takes.errors.to_vec();
    if takes.body.is_some() {
        codes.extend([400, 413, 415, 422]);
    }
    if takes.params.iter().any(|p| p["in"] == "query") {
        codes.push(400);
    }
    codes.sort_unstable();
    codes.dedup();
    let mut responses: Map<String, Value> = codes
        .iter()
        .map(|c| (c.to_string(), error_response()))
        .collect();
    responses.insert(
        "200".into(),
        json!({ "description": "ok", "content": { "application/json": { "schema": ok } } }),
    );
    let mut o = json!({ "summary": summary, "responses": responses, "parameters": takes.params });
    if let Some(b) = takes.body {
        o["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": b } } });
    }
    o
}

fn path_param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

/// The body each adapter reads: the helpdesk's own webhook format (docs/adapters.md), with
/// the fields the adapter cannot do without. Other fields are read when present.
fn inbound_body(adapter: &str, event: &Value) -> Value {
    let id = json!({ "anyOf": [{ "type": "string", "pattern": "\\S" }, { "type": "integer", "minimum": -9.0e15, "maximum": 9.0e15 }] });
    let trigger_types: Vec<&str> = crate::adapters::ZENDESK_TRIGGER_TYPES
        .iter()
        .map(|t| t.name())
        .collect();
    let sender = json!({ "type": "string", "enum": ["Customer", "Agent", "System"] });
    match adapter {
        "generic" => event.clone(),
        "chatwoot" => json!({ "type": "object", "required": ["event"], "properties": {
            "event": { "type": "string", "description": "message_created, conversation_created, conversation_status_changed, ... (others are acknowledged and ignored)" },
            "conversation": { "type": "object", "properties": { "id": id, "display_id": id } } } }),
        "zammad" => json!({ "type": "object", "required": ["ticket"], "properties": {
            "ticket": { "type": "object", "required": ["id"], "properties": { "id": id } },
            "article": { "type": "object", "properties": {
                "sender": { "anyOf": [sender, { "type": "object", "required": ["name"], "properties": { "name": sender } }] },
                "internal": { "type": "boolean" } } } } }),
        "zendesk" => json!({ "oneOf": [
            { "type": "object", "title": "trigger body", "required": ["type", "ticket"], "properties": {
                "type": { "type": "string", "enum": trigger_types }, "ticket": { "type": "object", "required": ["id"], "properties": { "id": id } } } },
            { "type": "object", "title": "event subscription", "required": ["type", "detail"], "properties": {
                "type": { "type": "string", "pattern": "^zen:event-type:" }, "detail": { "type": "object", "required": ["id"], "properties": { "id": id } } } }] }),
        other => unreachable!("adapter {other} has no description"),
    }
}

/// How a daemon checks who calls it, which decides the 401s its document lists.
pub struct Security {
    /// API tokens are configured: `/v1/*` takes a bearer token.
    pub tokens: bool,
    /// The adapters whose deliveries must carry a webhook signature.
    pub signed: Vec<&'static str>,
    /// Rate limits are on: `/v1/*` may answer 429.
    pub rate_limited: bool,
}

/// The document of a daemon with API tokens (`frontdesk schema openapi`).
pub fn document() -> Value {
    document_for(&Security {
        tokens: true,
        signed: Vec::new(),
        rate_limited: true,
    })
}

/// The document of a daemon with these checks (what `GET /openapi.json` answers): without
/// API tokens no route asks for one, and a 401 is listed only where one can be sent.
pub fn document_for(security: &Security) -> Value {
    let mut s = Schemas::new();
    let event = s.body::<Event>();
    let response = s.out::<EventResponse>();
    let text = json!({ "type": "string" });
    let mut paths = Map::new();
    for (method, path) in ROUTES {
        let operation = match *path {
            "/v1/events" => op(
                "Decide a normalised event",
                response.clone(),
                Takes {
                    body: Some(event.clone()),
                    params: s.query::<EventQuery>(),
                    errors: &[409, 503],
                },
            ),
            p if p.starts_with("/v1/inbound/") => {
                let adapter = &p["/v1/inbound/".len()..];
                let mut params = s.query::<InboundQuery>();
                params.retain(|q| q["name"] != "token");
                params.push(json!({ "name": "token", "in": "query", "schema": text,
                    "description": "The API token, for a helpdesk that cannot send an `Authorization` header (only where no webhook secret is set for this adapter)" }));
                let ignored = json!({ "type": "object", "title": "ignored", "required": ["ignored", "reason"], "properties": {
                    "ignored": { "const": true }, "reason": { "type": "string", "description": "Why nothing was decided (an agents' note, an event type frontdesk does not act on)" } } });
                op(
                    &format!("Decide a {adapter} webhook delivery (signed with its secret, or with the API token when none is set)"),
                    json!({ "oneOf": [response.clone(), ignored] }),
                    Takes { body: Some(inbound_body(adapter, &event)), params, errors: &[409, 503] },
                )
            }
            "/v1/tickets/{id}" => op(
                "A ticket, its timers and decision history",
                s.out::<TicketRecord>(),
                Takes {
                    params: vec![path_param("id")],
                    errors: &[404, 503],
                    ..Takes::default()
                },
            ),
            "/v1/decisions" => op(
                "The audit log, newest first",
                s.out::<Vec<AuditRow>>(),
                Takes {
                    params: s.query::<DecisionsQuery>(),
                    errors: &[503],
                    ..Takes::default()
                },
            ),
            "/v1/decisions/{event_id}/explain" => op(
                "A stored decision with every rule's outcome: as stored when decided with `?explain=true`, else explained again by the active pack (`same_pack` says whether that pack decided it)",
                s.out::<Explained>(),
                Takes {
                    params: vec![path_param("event_id")],
                    errors: &[404, 503],
                    ..Takes::default()
                },
            ),
            "/v1/playground" => op(
                "Try an event against the active rules and the ticket as stored: the actions, the ticket after, the timers and every rule's outcome; nothing is stored, sent or routed (viewer tokens may call it)",
                s.out::<TryOut>(),
                Takes {
                    body: Some(event.clone()),
                    errors: &[503],
                    ..Takes::default()
                },
            ),
            "/v1/reports/kpis" => {
                // Read by `reports::parse_query`, which also refuses unknown and repeated
                // parameters; its time forms are not a type, so they are written here.
                let span = "RFC 3339 time (2026-03-02T09:00:00Z) or a span back from now (7d, 12h)";
                let mut o = op(
                    "KPIs of a range: tickets, response and resolution times, SLA, FCR, CSAT, bots",
                    s.out::<crate::kpi::Report>(),
                    Takes {
                        params: vec![
                            json!({ "name": "from", "in": "query", "schema": text, "description": format!("{span}; default: `to` less 7 days") }),
                            json!({ "name": "to", "in": "query", "schema": text, "description": format!("{span}; default: now") }),
                            json!({ "name": "group_by", "in": "query", "schema": { "type": "string", "enum": ["team", "group", "agent", "channel", "priority", "language"] } }),
                            json!({ "name": "interval", "in": "query", "schema": { "type": "string", "enum": ["day", "week"] } }),
                            json!({ "name": "format", "in": "query", "schema": { "type": "string", "enum": ["json", "csv"] } }),
                        ],
                        errors: &[422, 503],
                        ..Takes::default()
                    },
                );
                o["responses"]["200"]["content"]["text/csv"] = json!({ "schema": text });
                o
            }
            "/v1/outbox" => op(
                "Deliveries: pending, delivered, dead",
                s.out::<Vec<OutboxRow>>(),
                Takes {
                    params: s.query::<OutboxQuery>(),
                    errors: &[503],
                    ..Takes::default()
                },
            ),
            "/v1/outbox/{id}/redeliver" => op(
                "Deliver a dead letter again",
                json!({ "type": "object", "required": ["id", "state"], "properties": { "id": text, "state": { "const": "pending" } } }),
                Takes {
                    params: vec![path_param("id")],
                    errors: &[404, 503],
                    ..Takes::default()
                },
            ),
            "/v1/agents" => op(
                "Agents with their status, shift and open tickets",
                s.out::<Vec<AgentView>>(),
                Takes {
                    errors: &[503],
                    ..Takes::default()
                },
            ),
            "/v1/agents/{id}/status" => op(
                "Set an agent's status; coming online offers them the queued tickets",
                s.out::<AgentView>(),
                Takes {
                    body: Some(
                        json!({ "type": "object", "required": ["status"], "additionalProperties": false,
                        "properties": { "status": { "type": "string", "enum": AgentStatus::names() } } }),
                    ),
                    params: vec![path_param("id")],
                    errors: &[404, 503],
                },
            ),
            "/v1/chat/sessions" => {
                let mut o = op(
                    "Open a chat with a bot: its greeting and first quick replies",
                    s.out::<ChatOpened>(),
                    Takes {
                        body: Some(s.body::<NewChat>()),
                        errors: &[404, 503],
                        ..Takes::default()
                    },
                );
                if let Some(r) = o["responses"].as_object_mut() {
                    if let Some(ok) = r.remove("200") {
                        r.insert("201".into(), ok);
                    }
                }
                o
            }
            "/v1/chat/sessions/{id}" => op(
                "A chat session and its transcript",
                s.out::<Transcript>(),
                Takes {
                    params: vec![path_param("id")],
                    errors: &[404, 503],
                    ..Takes::default()
                },
            ),
            "/v1/chat/sessions/{id}/messages" => op(
                "Send a message or feedback; the bot's reply, or the handoff to a person",
                s.out::<ChatAnswer>(),
                Takes {
                    body: Some(s.body::<ChatInput>()),
                    params: vec![path_param("id")],
                    errors: &[404, 409, 503],
                },
            ),
            "/v1/chat/sessions/{id}/close" => op(
                "End a chat; the bot answers nothing more in it",
                s.out::<ChatClosed>(),
                Takes {
                    params: vec![path_param("id")],
                    errors: &[404, 409, 503],
                    ..Takes::default()
                },
            ),
            "/v1/chat/sessions/{id}/agent-messages" => {
                let mut o = op(
                    "A person's message to a chat handed over to people: decided as `message.agent` on the chat's ticket and shown in the customer's widget",
                    s.out::<AgentPosted>(),
                    Takes {
                        body: Some(s.body::<AgentMessage>()),
                        params: vec![path_param("id")],
                        errors: &[404, 409, 422, 503],
                    },
                );
                if let Some(r) = o["responses"].as_object_mut() {
                    if let Some(ok) = r.remove("200") {
                        r.insert("201".into(), ok);
                    }
                }
                o
            }
            "/v1/chat/sessions/{id}/contact" => op(
                "The customer's e-mail address for the answer, stored on the chat's ticket",
                s.out::<ContactLeft>(),
                Takes {
                    body: Some(s.body::<LeaveContact>()),
                    params: vec![path_param("id")],
                    errors: &[404, 409, 422, 503],
                },
            ),
            "/v1/chat/sessions/{id}/events" => {
                let mut params = vec![path_param("id")];
                params.extend(s.query::<EventsQuery>());
                let mut o = op(
                    "A chat's live stream (server-sent events): `message` for each new transcript line (its id the line's number; `Last-Event-ID` resumes after it), `state` when the session's state changes; it ends when the chat is closed",
                    text.clone(),
                    Takes {
                        params,
                        errors: &[400, 404, 503],
                        ..Takes::default()
                    },
                );
                // Each event as the SSE format reads it: its kind, id and data (a JSON text).
                let event = json!({ "type": "object", "required": ["data"], "properties": {
                    "event": { "type": "string", "enum": ["message", "state", "error"] },
                    "id": { "type": "string", "pattern": "^[0-9]+$" },
                    "data": { "type": "string", "contentMediaType": "application/json" } } });
                o["responses"]["200"]["content"] =
                    json!({ "text/event-stream": { "schema": event } });
                o
            }
            "/v1/bots/{bot}/stats" => {
                let mut params = vec![path_param("bot")];
                params.extend(s.query::<StatsQuery>());
                op(
                    "A bot's deflection and answer rates, feedback and top unanswered questions",
                    s.out::<ChatStats>(),
                    Takes {
                        params,
                        errors: &[404, 503],
                        ..Takes::default()
                    },
                )
            }
            "/v1/csat/{token}" => {
                let mut o = op(
                    "Rate a satisfaction survey from its link (no API token: the link is signed). Answers a small page in the customer's language; JSON with `Accept: application/json`",
                    s.out::<Rated>(),
                    Takes {
                        params: vec![path_param("token"),
                            json!({ "name": "score", "in": "query", "required": true, "schema": { "type": "integer", "minimum": 1, "maximum": 5 } })],
                        errors: &[403, 404, 409, 410, 503],
                        ..Takes::default()
                    },
                );
                // Every answer is a page unless the client asks for JSON.
                if let Some(r) = o["responses"].as_object_mut() {
                    for answer in r.values_mut() {
                        answer["content"]["text/html"] = json!({ "schema": text });
                    }
                }
                o
            }
            "/chat" => {
                json!({ "summary": "The chat widget (HTML); its script reads the query: bot, lang, token", "parameters": [
                    { "name": "bot", "in": "query", "schema": text },
                    { "name": "lang", "in": "query", "schema": text },
                    { "name": "token", "in": "query", "schema": text, "description": "API token the page sends as a bearer token" }],
                    "responses": { "200": { "description": "ok", "content": { "text/html": { "schema": text } } } } })
            }
            "/v1/admin/reload" => op(
                "Reload the rules; on errors the old rules stay",
                s.out::<ConfigInfo>(),
                Takes {
                    errors: &[422],
                    ..Takes::default()
                },
            ),
            "/v1/admin/config" => op(
                "The active rules and their hash (equal on replicas running the same pack)",
                s.out::<ConfigInfo>(),
                Takes::default(),
            ),
            "/healthz" => op(
                "The process is up",
                json!({ "type": "object" }),
                Takes::default(),
            ),
            "/readyz" => op(
                "The store answers",
                json!({ "type": "object" }),
                Takes {
                    errors: &[503],
                    ..Takes::default()
                },
            ),
            "/metrics" => {
                json!({ "summary": "Prometheus metrics", "responses": { "200": { "description": "ok", "content": { "text/plain": { "schema": text } } } } })
            }
            "/openapi.json" => op(
                "This document",
                json!({ "type": "object" }),
                Takes::default(),
            ),
            other => unreachable!("route {other} has no description"),
        };
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        let mut operation = operation;
        let inbound = path.strip_prefix("/v1/inbound/");
        let tokens = security.tokens && path.starts_with("/v1/") && !PUBLIC.contains(path);
        if tokens && inbound.is_none() {
            operation["security"] = json!([{ "bearer": [] }]);
        }
        if tokens || inbound.is_some_and(|a| security.signed.contains(&a)) {
            operation["responses"]["401"] = error_response();
        }
        // A viewer token may only read (and try events in the playground).
        let viewer = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .is_ok_and(|m| Role::Viewer.allows(&m, path));
        if tokens && !viewer {
            operation["responses"]["403"] = error_response();
        }
        if security.rate_limited && path.starts_with("/v1/") {
            let mut limited = error_response();
            limited["headers"] = json!({ "Retry-After": { "description": "Seconds until a request will be taken again", "schema": { "type": "integer", "minimum": 1 } } });
            operation["responses"]["429"] = limited;
        }
        entry[*method] = operation;
    }
    let (mut defs, relink) = s.finish();
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
    defs.insert("Error".into(), json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string", "enum": codes },
            "message": { "type": "string" },
            "field": { "type": "string", "description": "The failing field or parameter, as a path (`ticket.priority`)" },
            "details": { "type": "array", "items": { "type": "string" } } } } }
    }));
    let doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "frontdesk", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Rule-driven triage and chatbot engine for helpdesks." },
        "paths": paths,
        "components": { "schemas": defs, "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
    });
    bound_integers(relink(doc))
}

/// Gives every sized integer its bounds: schemars writes `"format": "uint32"`, which
/// generators and validators may ignore, so a value the server cannot hold would look valid.
fn bound_integers(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(bound_integers).collect()),
        Value::Object(map) => {
            let mut map: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (k, bound_integers(v)))
                .collect();
            let bounds: Option<(i128, i128)> = match map.get("format").and_then(Value::as_str) {
                Some("uint8") => Some((0, u8::MAX.into())),
                Some("uint16") => Some((0, u16::MAX.into())),
                Some("uint32") => Some((0, u32::MAX.into())),
                Some("uint64" | "uint") => Some((0, u64::MAX.into())),
                Some("int8") => Some((i8::MIN.into(), i8::MAX.into())),
                Some("int16") => Some((i16::MIN.into(), i16::MAX.into())),
                Some("int32") => Some((i32::MIN.into(), i32::MAX.into())),
                Some("int64" | "int") => Some((i64::MIN.into(), i64::MAX.into())),
                _ => None,
            };
            if let Some((min, max)) = bounds {
                map.entry("minimum").or_insert_with(|| number(min));
                map.entry("maximum").or_insert_with(|| number(max));
            }
            Value::Object(map)
        }
        other => other,
    }
}

fn number(n: i128) -> Value {
    i64::try_from(n)
        .map(Value::from)
        .or_else(|_| u64::try_from(n).map(Value::from))
        .unwrap_or(Value::Null)
}
