//! The shared rule-engine benchmark pack (`shared/bench`): generating it, translating its
//! neutral rules into frontdesk YAML, loading its tickets as events, and checking the match
//! checksum every engine must reproduce.
//!
//! Included with `#[path]` by the `decide` bench, the `pack_bench` example and the
//! `bench_pack` test; each uses a different subset.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use frontdesk::config::Config;
use frontdesk::engine;
use frontdesk::model::Event;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Pack sizes the generator writes.
pub const SIZES: [usize; 3] = [10, 100, 1000];

/// What a pack must give over the whole ticket stream.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// Rules in the pack.
    pub rules: usize,
    /// Matched (ticket, rule) pairs.
    pub matches: usize,
    /// sha256 over `<ticket id>:<rule names>\n`, hex.
    pub checksum: &'static str,
}

/// The published figures of `shared/bench/README.md`.
pub const EXPECTED: [Expected; 3] = [
    Expected {
        rules: 10,
        matches: 4_205,
        checksum: "74cffd9fecc278eb765eefcf6facc7fc1ec36cfabb487bec02b1ad77f5bb966a",
    },
    Expected {
        rules: 100,
        matches: 12_516,
        checksum: "faeb7fcfbbab1fb09c1c1abc6dd64991ea043b9facfec4d677431c98e9ec7050",
    },
    Expected {
        rules: 1000,
        matches: 18_268,
        checksum: "ff1bdc67c87345dcbe3beb083744688e7277941c47a8250a8ccaa99685cc307c",
    },
];

/// The directory holding `gen.py`, `reference.py` and `jre.js`.
pub fn shared_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench"));
    dir.canonicalize().unwrap_or(dir)
}

/// Runs `python3 gen.py out`. The error says why the pack is unavailable.
pub fn generate(out: &Path) -> Result<(), String> {
    let gen = shared_dir().join("gen.py");
    if !gen.is_file() {
        return Err(format!("{} not found", gen.display()));
    }
    let status = Command::new("python3")
        .arg(&gen)
        .arg(out)
        .status()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !status.success() {
        return Err(format!(
            "python3 {} {} failed: {status}",
            gen.display(),
            out.display()
        ));
    }
    Ok(())
}

/// The fixed clock decisions are made at (the pack has no time conditions).
pub fn now() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().expect("valid time")
}

/// Ticket keys that are frontdesk ticket properties; any other key is a custom field.
const NATIVE_TICKET_KEYS: &[&str] = &["id", "channel", "subject", "customer"];

/// The frontdesk path of a pack field path.
fn field_path(path: &str) -> String {
    let Some(rest) = path.strip_prefix("ticket.") else {
        return path.to_string();
    };
    let head = rest.split('.').next().unwrap_or(rest);
    if head == "body" {
        "message.text".to_string()
    } else if NATIVE_TICKET_KEYS.contains(&head) {
        path.to_string()
    } else {
        format!("ticket.fields.{rest}")
    }
}

/// The frontdesk operator of a pack operator.
fn operator(op: &str) -> Option<&'static str> {
    Some(match op {
        "contains_word" => "contains",
        "in" => "in",
        "not_in" => "not_in",
        "eq" => "eq",
        "ne" => "ne",
        "lt" => "lt",
        "lte" => "lte",
        "gt" => "gt",
        "gte" => "gte",
        _ => return None,
    })
}

/// A JSON value written as YAML flow (JSON is valid YAML flow syntax).
fn flow(v: &Value) -> String {
    serde_json::to_string(v).expect("JSON values serialise")
}

/// Writes one condition. Its first line starts with `lead` (indentation, plus `- ` for a list
/// item); `col` is the column its keys start at, which nested lists indent from.
fn condition(out: &mut String, c: &Value, lead: &str, col: usize, at: &str) -> Result<(), String> {
    let obj = c
        .as_object()
        .ok_or_else(|| format!("{at}: a condition must be an object"))?;
    for group in ["all", "any"] {
        if let Some(items) = obj.get(group) {
            if obj.len() != 1 {
                return Err(format!("{at}: `{group}` must be the only key"));
            }
            let items = items
                .as_array()
                .ok_or_else(|| format!("{at}.{group}: expected a list"))?;
            writeln!(out, "{lead}{group}:").unwrap();
            let child = format!("{}- ", " ".repeat(col + 2));
            for (i, item) in items.iter().enumerate() {
                condition(out, item, &child, col + 4, &format!("{at}.{group}[{i}]"))?;
            }
            return Ok(());
        }
    }
    let field = obj
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}: expected `all`, `any` or `field`"))?;
    let ops: Vec<_> = obj.iter().filter(|(k, _)| *k != "field").collect();
    let [(op, operand)] = ops.as_slice() else {
        return Err(format!("{at}: expected exactly one operator"));
    };
    // The pack's `contains_word` is a whole word: its reference evaluator and every engine
    // measured on it match words as written, so frontdesk matches them `exact`, not their forms.
    let exact = if *op == "contains_word" {
        ", exact: true"
    } else {
        ""
    };
    let op = operator(op).ok_or_else(|| format!("{at}: unsupported operator `{op}`"))?;
    writeln!(
        out,
        "{lead}{{ field: {}, {op}: {}{exact} }}",
        flow(&Value::String(field_path(field))),
        flow(operand)
    )
    .unwrap();
    Ok(())
}

/// Writes one action as an item of a rule's `then:` list.
fn action(out: &mut String, name: &str, value: &Value, at: &str) -> Result<(), String> {
    match name {
        "add_tag" => writeln!(out, "      - add_tags: [{}]", flow(value)).unwrap(),
        "add_tags" => writeln!(out, "      - add_tags: {}", flow(value)).unwrap(),
        _ => return Err(format!("{at}: unsupported action `{name}`")),
    }
    Ok(())
}

/// Translates a pack (`{"rules": [{"name", "all": [...], "then": {...}}]}`) into a frontdesk
/// rule file. Every rule listens to `ticket.created`.
pub fn to_yaml(pack: &Value) -> Result<String, String> {
    let rules = pack
        .get("rules")
        .and_then(Value::as_array)
        .ok_or("the pack has no `rules` list")?;
    let mut out = String::from("rules:\n");
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        let obj = rule
            .as_object()
            .ok_or_else(|| format!("{at}: a rule must be an object"))?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at}: no `name`"))?;
        writeln!(out, "  - name: {}", flow(&Value::String(name.to_string()))).unwrap();
        out.push_str("    on: [ticket.created]\n");
        // The rule's own `all`/`any` is its top condition.
        let mut when = Map::new();
        for group in ["all", "any"] {
            if let Some(v) = obj.get(group) {
                when.insert(group.to_string(), v.clone());
            }
        }
        match when.len() {
            0 => {}
            1 => {
                out.push_str("    when:\n");
                condition(&mut out, &Value::Object(when), "      ", 6, &at)?;
            }
            _ => return Err(format!("{at}: both `all` and `any` at the top")),
        }
        let then = obj.get("then").ok_or_else(|| format!("{at}: no `then`"))?;
        let actions: Vec<(String, Value)> = match then {
            Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Value::Array(items) => {
                let mut all = Vec::new();
                for item in items {
                    let m = item
                        .as_object()
                        .ok_or_else(|| format!("{at}.then: expected objects"))?;
                    all.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                all
            }
            _ => return Err(format!("{at}.then: expected an object or a list")),
        };
        out.push_str("    then:\n");
        for (name, value) in &actions {
            action(&mut out, name, value, &format!("{at}.then"))?;
        }
    }
    Ok(out)
}

/// Reads `pack-N.json` from `dir` and translates it.
pub fn pack_yaml(dir: &Path, rules: usize) -> Result<String, String> {
    let path = dir.join(format!("pack-{rules}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let pack: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    to_yaml(&pack).map_err(|e| format!("{}: {e}", path.display()))
}

/// Compiles translated YAML; the error lists every diagnostic.
pub fn compile(rules: usize, yaml: &str) -> Result<Config, String> {
    Config::from_yaml(&format!("pack-{rules}.yaml"), yaml).map_err(|d| d.to_string())
}

/// One pack ticket as a `ticket.created` event: the body is the message, keys frontdesk does
/// not model (`priority_level`) become custom ticket fields.
pub fn ticket_event(t: &Value) -> Result<Event, String> {
    let obj = t.as_object().ok_or("a ticket must be an object")?;
    let mut ticket = Map::new();
    let mut fields = Map::new();
    let mut body = None;
    for (k, v) in obj {
        if k == "body" {
            body = Some(v.clone());
        } else if NATIVE_TICKET_KEYS.contains(&k.as_str()) {
            ticket.insert(k.clone(), v.clone());
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
    ticket.insert("fields".into(), Value::Object(fields));
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    let mut event = json!({ "id": id, "type": "ticket.created", "ticket": ticket });
    if let Some(text) = body {
        event["message"] = json!({ "text": text });
    }
    Event::from_value(event)
}

/// Reads `tickets.jsonl` from `dir`.
pub fn load_events(dir: &Path) -> Result<Vec<Event>, String> {
    let path = dir.join("tickets.jsonl");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let v: Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
            ticket_event(&v).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Accumulates the pack checksum.
#[derive(Default)]
pub struct Checksum {
    hasher: Sha256,
    /// Matches so far.
    pub matches: usize,
}

impl Checksum {
    /// Adds one ticket's line.
    pub fn add(&mut self, ticket_id: &str, fired: &[String]) {
        self.matches += fired.len();
        self.hasher.update(ticket_id.as_bytes());
        self.hasher.update(b":");
        self.hasher.update(fired.join(",").as_bytes());
        self.hasher.update(b"\n");
    }

    /// The hex digest.
    pub fn hex(self) -> String {
        self.hasher
            .finalize()
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                write!(s, "{b:02x}").unwrap();
                s
            })
    }
}

/// Decides every event and returns (matches, checksum).
pub fn run(config: &Config, events: &[Event]) -> (usize, String) {
    let now = now();
    let mut sum = Checksum::default();
    for e in events {
        let d = engine::decide(config, &e.ticket, e, now);
        sum.add(&e.ticket.id, &d.trace.fired);
    }
    (sum.matches, sum.hex())
}

/// Checks a pack's result against [`EXPECTED`].
pub fn verify(rules: usize, matches: usize, checksum: &str) -> Result<(), String> {
    let want = EXPECTED
        .iter()
        .find(|e| e.rules == rules)
        .ok_or_else(|| format!("no published checksum for pack-{rules}"))?;
    if matches == want.matches && checksum == want.checksum {
        Ok(())
    } else {
        Err(format!(
            "pack-{rules}: got {matches} matches, checksum {checksum}; expected {} matches, checksum {}",
            want.matches, want.checksum
        ))
    }
}
