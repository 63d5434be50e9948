//! The JSON Schema of rule files, built from the same tables the compiler checks against
//! (field paths, operators, actions, event types), so editor completion and `check` agree.

use serde_json::{json, Map, Value};

use super::compile::{RULE_KEYS, SETTINGS_KEYS};
use super::routing::OTHERWISE;
use super::tests::{EXPECT_KEYS, TEST_KEYS};
use super::FILE_KEYS;
use crate::model::{Channel, EventType, Helpdesk, Named, NotifyChannel, Priority, Status};
use crate::routing::{AgentStatus, Strategy};
use crate::rules::action::ACTIONS;
use crate::rules::condition::OPERATORS;
use crate::rules::field::{known_paths, FIELDS};
use crate::time::decode::CALENDAR_KEYS;

fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> Value {
    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
}

fn object(props: Map<String, Value>, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": props, "required": required, "additionalProperties": false })
}

fn one_of_list(item: Value) -> Value {
    json!({ "anyOf": [item.clone(), { "type": "array", "items": item }] })
}

fn text_def() -> Value {
    json!({ "anyOf": [
        { "type": "string" },
        { "type": "object", "properties": { "template": { "$ref": "#/$defs/templateName" }, "text": { "type": "string" } },
          "additionalProperties": false }
    ]})
}

fn action_value(name: &str) -> Value {
    let event_types = json!({ "enum": strings(EventType::names()) });
    match name {
        "reply" | "internal_note" => text_def(),
        "set_priority" => json!({ "enum": strings(Priority::names()) }),
        "set_status" => json!({ "enum": strings(Status::names()) }),
        "set_category" => json!({ "type": "string" }),
        "add_tags" | "remove_tags" => {
            one_of_list(json!({ "type": "string", "pattern": "^[^\\s,]+$" }))
        }
        "assign" => {
            let strategy = json!({ "enum": strings(Strategy::names()) });
            json!({ "anyOf": [
                { "type": "object", "properties": { "agent": { "type": "string" }, "group": { "type": "string" } },
                  "minProperties": 1, "maxProperties": 1, "additionalProperties": false },
                { "type": "object", "properties": {
                    "team": { "type": "string", "description": "a team under `teams:`" },
                    "strategy": strategy,
                    "require": { "type": "object", "properties": {
                        "skills": one_of_list(json!({ "type": "string" })),
                        "language": { "type": "string", "description": "a language tag, or ticket.customer.language / message.language" } },
                      "additionalProperties": false },
                    "fallback": { "anyOf": [ { "type": "string" }, { "type": "object", "properties": {
                        "team": { "type": "string" }, "or": { "enum": OTHERWISE } }, "additionalProperties": false } ] } },
                  "required": ["team"], "additionalProperties": false }
            ]})
        }
        "set_field" => {
            json!({ "type": "object", "properties": { "name": { "type": "string" }, "value": {} },
                               "required": ["name"], "additionalProperties": false })
        }
        "schedule" => json!({ "type": "object", "properties": {
                "name": { "type": "string" },
                "after": { "type": "string", "description": "30m, 4h, 2d, 1w, 2 days; with `calendar`: business time, 4 business hours, 2 business days" },
                "calendar": { "type": "string", "description": "calendar name; makes `after` business time" },
                "at": { "type": "string", "format": "date-time" },
                "cancel_on": one_of_list(event_types), "then": { "$ref": "#/$defs/actions" } },
            "required": ["then"], "additionalProperties": false }),
        "cancel_timers" => {
            json!({ "anyOf": [ { "const": "all" }, { "type": "array", "items": { "type": "string" } } ] })
        }
        "notify" => json!({ "type": "object", "properties": {
                "channel": { "enum": strings(NotifyChannel::names()) },
                "to": { "type": "string", "description": "a channel name or an address; templates allowed ({{ ticket.customer.email }})" },
                "subject": { "type": "string", "description": "an e-mail's subject; templates allowed" },
                "text": { "type": "string" }, "template": { "$ref": "#/$defs/templateName" } },
            "required": ["channel", "to"], "additionalProperties": false }),
        "webhook" => json!({ "type": "object", "properties": {
                "url": { "type": "string", "pattern": "^https?://" }, "method": { "enum": ["POST", "PUT", "PATCH"] }, "body": {},
                "headers": { "type": "object", "additionalProperties": { "anyOf": [ { "type": "string" },
                    { "type": "object", "properties": { "secret": { "type": "string", "pattern": "^[A-Za-z0-9_]+$" } },
                      "required": ["secret"], "additionalProperties": false } ] } } },
            "required": ["url"], "additionalProperties": false }),
        "handoff" => json!({ "anyOf": [ { "type": "null" }, { "type": "object", "properties": {
                "group": { "type": "string" }, "reason": { "type": "string" } }, "additionalProperties": false } ] }),
        "script" => json!({ "type": "string", "pattern": "\\.rhai$" }),
        "answer_faq" => {
            json!({ "type": "object", "properties": { "bot": { "type": "string" }, "min_score": { "type": "number", "minimum": 0, "maximum": 1 } },
                                "required": ["bot"], "additionalProperties": false })
        }
        "survey" => json!({ "anyOf": [
            { "type": "string", "description": "the reply's text" },
            { "type": "object", "properties": {
                "template": { "$ref": "#/$defs/templateName" }, "text": { "type": "string" },
                "unless_tagged": one_of_list(json!({ "type": "string", "pattern": "^[^\\s,]+$" })) },
              "additionalProperties": false }
          ],
          "description": "a reply asking for a rating from 1 to 5 (quick replies 1-5; {{ survey.links }} in the text); sets ticket.csat" }),
        _ => json!({}),
    }
}

fn calendar_schema() -> Value {
    let window = json!({ "type": "string", "pattern": "^\\d{1,2}:\\d{2}-\\d{1,2}:\\d{2}$",
        "description": "HH:MM-HH:MM; a closing time before the opening time runs past midnight" });
    let windows = one_of_list(window);
    let date = json!({ "type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$" });
    let mut props = Map::new();
    for key in CALENDAR_KEYS {
        let v = match *key {
            "timezone" => {
                json!({ "type": "string", "description": "IANA time zone, e.g. Europe/Oslo" })
            }
            "hours" => json!({ "type": "object", "additionalProperties": windows.clone(),
                "description": "days (mon, mon-fri, sat,sun) to opening windows" }),
            "holidays" => json!({ "type": "array", "items": { "anyOf": [
                { "type": "string", "description": "YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD" },
                { "type": "object", "properties": {
                    "date": date, "from": date, "to": date, "name": { "type": "string" },
                    "ical": { "type": "string", "description": ".ics file, relative to the rule file" } },
                  "additionalProperties": false } ] } }),
            "special_days" => json!({ "type": "object", "additionalProperties": windows.clone(),
                "description": "date to its own opening windows ([] closes it)" }),
            _ => json!({}),
        };
        props.insert((*key).into(), v);
    }
    object(props, &["timezone", "hours"])
}

/// The schema of a rule file.
pub fn rule_file() -> Value {
    let mut field_cond = Map::new();
    field_cond.insert("field".into(), json!({ "type": "string", "examples": strings(known_paths()),
        "description": "Field path, e.g. ticket.priority, message.text, customer.tier, ticket.fields.NAME" }));
    for op in OPERATORS {
        let v = match *op {
            "in" | "not_in" | "contains_any" | "contains_all" => json!({ "type": "array" }),
            "exists" | "changed" => json!({ "type": "boolean" }),
            "matches" | "starts_with" | "contains" => json!({ "type": "string" }),
            _ => json!({}),
        };
        field_cond.insert((*op).into(), v);
    }
    field_cond.insert("exact".into(), json!({ "type": "boolean",
        "description": "with contains/contains_any/contains_all on text: whole words only, not their forms (refund does not find refunds)" }));
    let condition = json!({ "anyOf": [
        { "type": "array", "items": { "$ref": "#/$defs/condition" } },
        object(field_cond, &["field"]),
        object([("all".to_string(), json!({ "type": "array", "items": { "$ref": "#/$defs/condition" } }))].into_iter().collect(), &["all"]),
        object([("any".to_string(), json!({ "type": "array", "items": { "$ref": "#/$defs/condition" } }))].into_iter().collect(), &["any"]),
        object([("not".to_string(), json!({ "$ref": "#/$defs/condition" }))].into_iter().collect(), &["not"]),
        object([("script".to_string(), json!({ "type": "string", "description": "Rhai expression" }))].into_iter().collect(), &["script"]),
        object([("within_hours".to_string(), json!({ "type": "string", "description": "calendar name: holds when now is inside its opening hours" }))].into_iter().collect(), &["within_hours"]),
        object([("intent".to_string(), json!({ "type": "object", "description": "an FAQ bot reads the customer's message as one of these entries",
            "properties": { "bot": { "type": "string" }, "in": { "type": "array", "items": { "type": "string" } }, "min_score": { "type": "number", "minimum": 0, "maximum": 1 } },
            "required": ["bot"], "additionalProperties": false }))].into_iter().collect(), &["intent"]),
    ]});
    let actions: Vec<Value> = ACTIONS
        .iter()
        .map(|a| {
            object(
                [(a.to_string(), action_value(a))].into_iter().collect(),
                &[a],
            )
        })
        .collect();
    let event_types = json!({ "enum": strings(EventType::names()) });
    let mut rule = Map::new();
    for key in RULE_KEYS {
        let v = match *key {
            "name" | "description" => json!({ "type": "string" }),
            "on" => one_of_list(event_types.clone()),
            "when" => json!({ "$ref": "#/$defs/condition" }),
            "then" => json!({ "$ref": "#/$defs/actions" }),
            "stop" | "enabled" => json!({ "type": "boolean" }),
            "order" => json!({ "type": "integer" }),
            _ => json!({}),
        };
        rule.insert((*key).into(), v);
    }
    let business = json!({ "type": "string", "description": "business time: 30m, 4h, 2d (business days), 4 business hours" });
    let mut targets = Map::new();
    for p in Priority::names() {
        targets.insert(p.into(), business.clone());
    }
    let mut settings = Map::new();
    for key in SETTINGS_KEYS {
        let v = match *key {
            "default_language" => json!({ "type": "string" }),
            "response_calendar" => {
                json!({ "type": "string", "description": "calendar that first_response is counted in" })
            }
            "first_response" => object(targets.clone(), &Priority::names()),
            "measured_response" => json!({
                "description": "promise the recent first responses' percentile when it is later than the target",
                "oneOf": [
                    { "type": "boolean" },
                    { "type": "object", "additionalProperties": false, "properties": {
                        "percentile": { "type": "integer", "minimum": 1, "maximum": 99 },
                        "min_samples": { "type": "integer", "minimum": 1 },
                        "window": { "type": "string", "description": "calendar time, e.g. 14d" }
                    } }
                ]
            }),
            "public_url" => {
                json!({ "type": "string", "pattern": "^https?://[^/?#\\s]", "description": "where customers reach the daemon; survey links start with it" })
            }
            "survey_links_valid_for" => {
                json!({ "type": "string", "description": "how long survey links work: 30d (the default), 2w" })
            }
            "exact_keywords" => {
                json!({ "type": "boolean", "description": "keywords match whole words only unless a condition says `exact: false` (default false: their word forms match too)" })
            }
            _ => {
                json!({ "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string" } } })
            }
        };
        settings.insert((*key).into(), v);
    }
    let mut policy = Map::new();
    let sla_targets = json!({ "type": "object", "additionalProperties": false,
        "properties": targets.iter().map(|(k, _)| (k.clone(), json!({ "type": "string",
            "description": "with a calendar: business time (30m, 4h, 2d); without: calendar time" })))
            .collect::<Map<_, _>>() });
    for key in crate::sla::POLICY_KEYS {
        let v = match *key {
            "name" | "description" => json!({ "type": "string" }),
            "calendar" => {
                json!({ "type": "string", "description": "business calendar; `none` (or leaving it out) counts calendar time" })
            }
            "when" | "pause_when" => json!({ "$ref": "#/$defs/condition" }),
            "warn_at" => {
                one_of_list(json!({ "type": "string", "pattern": "^\\s*[0-9]{1,2}\\s*%$" }))
            }
            _ => sla_targets.clone(),
        };
        policy.insert((*key).into(), v);
    }
    let mut schedule = Map::new();
    for key in crate::schedule::SCHEDULE_KEYS {
        let v = match *key {
            "name" | "description" => json!({ "type": "string" }),
            "cron" => {
                json!({ "type": "string", "description": "5 fields (`0 2 * * *`), or 6-7 with seconds first" })
            }
            "timezone" => json!({ "type": "string", "description": "IANA time zone; default UTC" }),
            "for_each" => json!({ "type": "object", "additionalProperties": false, "properties": {
                "status": one_of_list(json!({ "enum": strings(Status::names()) })),
                "idle_for": { "type": "string", "description": "no event for this long: 7d, 12h" } } }),
            "then" => json!({ "$ref": "#/$defs/actions" }),
            "missed" => json!({ "enum": crate::schedule::MISSED }),
            "enabled" => json!({ "type": "boolean" }),
            _ => json!({}),
        };
        schedule.insert((*key).into(), v);
    }
    let mut expect = Map::new();
    for key in EXPECT_KEYS {
        let v = match *key {
            "priority" => json!({ "enum": strings(Priority::names()) }),
            "status" => json!({ "enum": strings(Status::names()) }),
            "no_reply" => json!({ "type": "boolean" }),
            "replies" | "errors" => json!({ "type": "integer", "minimum": 0 }),
            "csat_score" => json!({ "type": "integer", "minimum": 1, "maximum": 5 }),
            "fields" => json!({ "type": "object" }),
            "tags" | "no_tags" | "rules" | "reply_contains" | "actions" | "timers" => {
                one_of_list(json!({ "type": "string" }))
            }
            _ => json!({ "type": "string" }),
        };
        expect.insert((*key).into(), v);
    }
    let mut test = Map::new();
    for key in TEST_KEYS {
        let v = match *key {
            "now" => json!({ "type": "string", "format": "date-time" }),
            "event" => {
                json!({ "type": "object", "description": "A normalised event; id and ticket.id may be left out",
                               "properties": { "type": event_types, "ticket": { "type": "object", "properties": {
                                   "channel": { "enum": strings(Channel::names()) },
                                   "priority": { "enum": strings(Priority::names()) },
                                   "status": { "enum": strings(Status::names()) } } } } })
            }
            "expect" => object(expect.clone(), &[]),
            "agents" => json!({ "type": "object", "description": "agents' state at `now`",
                "additionalProperties": { "type": "object", "properties": {
                    "status": { "enum": strings(AgentStatus::names()) },
                    "open": { "anyOf": [ { "type": "integer", "minimum": 0 }, { "type": "object",
                        "additionalProperties": { "type": "integer", "minimum": 0 } } ] } },
                  "additionalProperties": false } }),
            "cursors" => {
                json!({ "type": "object", "description": "per team, the agent it assigned to last",
                "additionalProperties": { "type": "string" } })
            }
            _ => json!({ "type": "string" }),
        };
        test.insert((*key).into(), v);
    }
    let mut file = Map::new();
    for key in FILE_KEYS {
        let v = match *key {
            "settings" => object(settings.clone(), &[]),
            "rules" => {
                json!({ "type": "array", "items": object(rule.clone(), &["name", "on", "then"]) })
            }
            "templates" => json!({ "type": "object", "additionalProperties": { "anyOf": [
                { "type": "string" }, { "type": "object", "additionalProperties": { "type": "string" } } ] } }),
            "tests" => {
                json!({ "type": "array", "items": object(test.clone(), &["name", "event", "expect"]) })
            }
            "calendars" => json!({ "type": "object", "additionalProperties": calendar_schema() }),
            "teams" => {
                json!({ "type": "object", "additionalProperties": { "anyOf": [ { "type": "null" }, {
                "type": "object", "properties": { "name": { "type": "string" }, "description": { "type": "string" },
                    "strategy": { "enum": strings(Strategy::names()) } }, "additionalProperties": false } ] } })
            }
            "agents" => {
                let mut cap = Map::new();
                for c in Channel::names() {
                    cap.insert(c.into(), json!({ "type": "integer", "minimum": 0 }));
                }
                cap.insert("total".into(), json!({ "type": "integer", "minimum": 0 }));
                let mut ids = Map::new();
                for a in Helpdesk::names() {
                    ids.insert(a.into(), json!({ "type": ["integer", "string"] }));
                }
                json!({ "type": "object", "additionalProperties": { "type": "object", "properties": {
                    "name": { "type": "string" }, "email": { "type": "string" },
                    "teams": one_of_list(json!({ "type": "string" })),
                    "skills": one_of_list(json!({ "type": "string" })),
                    "languages": one_of_list(json!({ "type": "string" })),
                    "capacity": { "anyOf": [ { "type": "integer", "minimum": 0 }, object(cap, &[]) ] },
                    "shift": { "type": "string", "description": "a calendar under `calendars:`" },
                    "helpdesk_ids": object(ids, &[]) },
                  "required": ["teams", "languages", "capacity"], "additionalProperties": false } })
            }
            "sla" => json!({ "type": "array", "items": object(policy.clone(), &["name"]) }),
            "schedules" => {
                json!({ "type": "array", "items": object(schedule.clone(), &["name", "cron", "then"]) })
            }
            _ => json!({}),
        };
        file.insert((*key).into(), v);
    }
    let _ = FIELDS;
    let mut schema = object(file, &[]);
    let obj = schema.as_object_mut().expect("object");
    obj.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    obj.insert("title".into(), json!("frontdesk rule file"));
    obj.insert(
        "$defs".into(),
        json!({
            "condition": condition,
            "actions": { "type": "array", "items": { "anyOf": actions } },
            "templateName": { "type": "string" },
        }),
    );
    schema
}
