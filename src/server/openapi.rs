//! The OpenAPI 3.1 document. Bodies are described by the same JSON Schemas as
//! `frontdesk schema` (OpenAPI 3.1 uses JSON Schema 2020-12), so there is one source of truth.

use serde_json::{json, Map, Value};

use crate::model::Event;
use crate::service::agents::AgentView;
use crate::service::chat::{ChatAnswer, ChatClosed, ChatInput, ChatOpened, NewChat, Transcript};
use crate::service::csat::Rated;
use crate::service::{ConfigInfo, EventResponse};
use crate::store::{AuditRow, ChatStats, OutboxRow, TicketRecord};

/// Every route, for the router and the OpenAPI document alike.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/events"),
    ("post", "/v1/inbound/{adapter}"),
    ("get", "/v1/tickets/{id}"),
    ("get", "/v1/decisions"),
    ("get", "/v1/outbox"),
    ("post", "/v1/outbox/{id}/redeliver"),
    ("get", "/v1/agents"),
    ("put", "/v1/agents/{id}/status"),
    ("post", "/v1/chat/sessions"),
    ("get", "/v1/chat/sessions/{id}"),
    ("post", "/v1/chat/sessions/{id}/messages"),
    ("post", "/v1/chat/sessions/{id}/close"),
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

fn schema<T: schemars::JsonSchema>(defs: &mut Map<String, Value>) -> Value {
    let mut s = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    let name = T::schema_name().to_string();
    if let Some(obj) = s.as_object_mut() {
        if let Some(Value::Object(d)) = obj.remove("$defs") {
            defs.extend(d);
        }
        obj.remove("$schema");
    }
    defs.insert(name.clone(), s);
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn error_responses(codes: &[&str]) -> Map<String, Value> {
    codes
        .iter()
        .map(|c| (c.to_string(), json!({ "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })))
        .collect()
}

fn op(summary: &str, ok: Value, errors: &[&str], body: Option<Value>, params: Value) -> Value {
    let mut responses = error_responses(errors);
    responses.insert(
        "200".into(),
        json!({ "description": "ok", "content": { "application/json": { "schema": ok } } }),
    );
    let mut o = json!({ "summary": summary, "responses": responses, "parameters": params });
    if let Some(b) = body {
        o["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": b } } });
    }
    o
}

/// The whole document.
pub fn document() -> Value {
    let mut defs = Map::new();
    let event = schema::<Event>(&mut defs);
    let response = schema::<EventResponse>(&mut defs);
    let ticket = schema::<TicketRecord>(&mut defs);
    let audit = schema::<Vec<AuditRow>>(&mut defs);
    let config = schema::<ConfigInfo>(&mut defs);
    let outbox = schema::<Vec<OutboxRow>>(&mut defs);
    let agents = schema::<Vec<AgentView>>(&mut defs);
    let agent = schema::<AgentView>(&mut defs);
    let new_chat = schema::<NewChat>(&mut defs);
    let chat_opened = schema::<ChatOpened>(&mut defs);
    let chat_input = schema::<ChatInput>(&mut defs);
    let chat_answer = schema::<ChatAnswer>(&mut defs);
    let transcript = schema::<Transcript>(&mut defs);
    let stats = schema::<ChatStats>(&mut defs);
    let chat_closed = schema::<ChatClosed>(&mut defs);
    let kpis = schema::<crate::kpi::Report>(&mut defs);
    let rated = schema::<Rated>(&mut defs);
    defs.insert("Error".into(), json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" } } } }
    }));
    let explain = json!([{ "name": "explain", "in": "query", "schema": { "type": "boolean" }, "description": "include every rule's outcome" }]);
    let text = json!({ "type": "string" });
    let mut paths = Map::new();
    for (method, path) in ROUTES {
        let operation = match *path {
            "/v1/events" => op(
                "Decide a normalised event",
                response.clone(),
                &["400", "401", "409", "413", "415", "422", "503"],
                Some(event.clone()),
                explain.clone(),
            ),
            "/v1/inbound/{adapter}" => op(
                "Decide a helpdesk's webhook payload",
                response.clone(),
                &["400", "401", "404", "409", "413", "415", "422", "503"],
                Some(json!({ "type": "object" })),
                json!([{ "name": "adapter", "in": "path", "required": true, "schema": { "type": "string", "enum": ["generic", "chatwoot", "zammad", "zendesk"] } }]),
            ),
            "/v1/tickets/{id}" => op(
                "A ticket, its timers and decision history",
                ticket.clone(),
                &["401", "404", "503"],
                None,
                json!([{ "name": "id", "in": "path", "required": true, "schema": text }]),
            ),
            "/v1/decisions" => op(
                "The audit log, newest first",
                audit.clone(),
                &["401", "503"],
                None,
                json!([
                { "name": "ticket", "in": "query", "schema": text }, { "name": "rule", "in": "query", "schema": text },
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }]),
            ),
            "/v1/reports/kpis" => {
                let mut o = op(
                    "KPIs of a range: tickets, response and resolution times, SLA, FCR, CSAT, bots",
                    kpis.clone(),
                    &["400", "401", "422", "503"],
                    None,
                    json!([
                    { "name": "from", "in": "query", "schema": text, "description": "RFC 3339 time or a span back (7d); default: `to` less 7 days" },
                    { "name": "to", "in": "query", "schema": text, "description": "RFC 3339 time or a span back; default: now" },
                    { "name": "group_by", "in": "query", "schema": { "type": "string", "enum": ["team", "group", "agent", "channel", "priority", "language"] } },
                    { "name": "interval", "in": "query", "schema": { "type": "string", "enum": ["day", "week"] } },
                    { "name": "format", "in": "query", "schema": { "type": "string", "enum": ["json", "csv"] } }]),
                );
                o["responses"]["200"]["content"]["text/csv"] =
                    json!({ "schema": { "type": "string" } });
                o
            }
            "/v1/outbox" => op(
                "Deliveries: pending, delivered, dead",
                outbox.clone(),
                &["400", "401", "503"],
                None,
                json!([
                { "name": "state", "in": "query", "schema": { "type": "string", "enum": ["pending", "delivered", "dead"] } },
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }]),
            ),
            "/v1/outbox/{id}/redeliver" => op(
                "Deliver a dead letter again",
                json!({ "type": "object" }),
                &["401", "404", "503"],
                None,
                json!([{ "name": "id", "in": "path", "required": true, "schema": text }]),
            ),
            "/v1/agents" => op(
                "Agents with their status, shift and open tickets",
                agents.clone(),
                &["401", "503"],
                None,
                json!([]),
            ),
            "/v1/agents/{id}/status" => op(
                "Set an agent's status; coming online offers them the queued tickets",
                agent.clone(),
                &["400", "401", "404", "422", "503"],
                Some(
                    json!({ "type": "object", "required": ["status"], "additionalProperties": false,
                    "properties": { "status": { "enum": ["online", "away", "offline"] } } }),
                ),
                json!([{ "name": "id", "in": "path", "required": true, "schema": text }]),
            ),
            "/v1/chat/sessions" => {
                let mut o = op(
                    "Open a chat with a bot: its greeting and first quick replies",
                    chat_opened.clone(),
                    &["400", "401", "404", "413", "415", "422", "503"],
                    Some(new_chat.clone()),
                    json!([]),
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
                transcript.clone(),
                &["401", "404", "503"],
                None,
                json!([{ "name": "id", "in": "path", "required": true, "schema": text }]),
            ),
            "/v1/chat/sessions/{id}/messages" => op(
                "Send a message or feedback; the bot's reply, or the handoff to a person",
                chat_answer.clone(),
                &["400", "401", "404", "409", "413", "415", "422", "503"],
                Some(chat_input.clone()),
                json!([{ "name": "id", "in": "path", "required": true, "schema": text }]),
            ),
            "/v1/chat/sessions/{id}/close" => op(
                "End a chat; the bot answers nothing more in it",
                chat_closed.clone(),
                &["401", "404", "409", "503"],
                None,
                json!([{ "name": "id", "in": "path", "required": true, "schema": text }]),
            ),
            "/v1/bots/{bot}/stats" => op(
                "A bot's deflection and answer rates, feedback and top unanswered questions",
                stats.clone(),
                &["400", "401", "404", "503"],
                None,
                json!([{ "name": "bot", "in": "path", "required": true, "schema": text },
                { "name": "top", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }]),
            ),
            "/v1/csat/{token}" => {
                let mut o = op(
                    "Rate a satisfaction survey from its link (no API token: the link is signed). Answers a small page in the customer's language; JSON with `Accept: application/json`",
                    rated.clone(),
                    &["400", "403", "404", "409", "410", "503"],
                    None,
                    json!([{ "name": "token", "in": "path", "required": true, "schema": text },
                    { "name": "score", "in": "query", "required": true, "schema": { "type": "integer", "minimum": 1, "maximum": 5 } }]),
                );
                o["responses"]["200"]["content"]["text/html"] = json!({ "schema": text });
                o
            }
            "/chat" => {
                json!({ "summary": "The chat widget (HTML); query: bot, lang, token", "parameters": [
                    { "name": "bot", "in": "query", "schema": text },
                    { "name": "lang", "in": "query", "schema": text },
                    { "name": "token", "in": "query", "schema": text, "description": "API token the page sends as a bearer token" }],
                    "responses": { "200": { "description": "ok", "content": { "text/html": { "schema": text } } } } })
            }
            "/v1/admin/reload" => op(
                "Reload the rules; on errors the old rules stay",
                config.clone(),
                &["401", "422"],
                None,
                json!([]),
            ),
            "/v1/admin/config" => op(
                "The active rules and their hash (equal on replicas running the same pack)",
                config.clone(),
                &["401"],
                None,
                json!([]),
            ),
            "/healthz" => op(
                "The process is up",
                json!({ "type": "object" }),
                &[],
                None,
                json!([]),
            ),
            "/readyz" => op(
                "The store answers",
                json!({ "type": "object" }),
                &["503"],
                None,
                json!([]),
            ),
            "/metrics" => {
                json!({ "summary": "Prometheus metrics", "responses": { "200": { "description": "ok", "content": { "text/plain": { "schema": text } } } } })
            }
            "/openapi.json" => op(
                "This document",
                json!({ "type": "object" }),
                &[],
                None,
                json!([]),
            ),
            other => unreachable!("route {other} has no description"),
        };
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        let mut operation = operation;
        if path.starts_with("/v1/") && !PUBLIC.contains(path) {
            operation["security"] = json!([{ "bearer": [] }]);
        }
        entry[*method] = operation;
    }
    let doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "frontdesk", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Rule-driven triage and chatbot engine for helpdesks." },
        "paths": paths,
        "components": { "schemas": defs, "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
    });
    relink(doc)
}

/// Points schemars' `#/$defs/X` references at `#/components/schemas/X`.
fn relink(v: Value) -> Value {
    match v {
        Value::String(s) if s.starts_with("#/$defs/") => {
            Value::String(s.replacen("#/$defs/", "#/components/schemas/", 1))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(relink).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, relink(v))).collect()),
        other => other,
    }
}
