//! The `tests:` section of rule files compiled: an event, a time, the agents' state, and what
//! the decision must contain. They compile with the pack, so `check` reports their mistakes
//! with everything else; [`crate::testing`] runs them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{Channel, Event, Named, Priority, Status};
use crate::routing::{AgentState, AgentStatus, Roster, RoutingState};
use crate::syntax::decode::{index, join, Cx};
use crate::syntax::diag::did_you_mean;
use crate::syntax::yaml::{Kind, Node, Pos};

/// Keys of a test.
pub const TEST_KEYS: &[&str] = &["name", "now", "event", "agents", "cursors", "expect"];
/// Keys of an agent's state in a test (`agents: {kari: {status: online, open: 3}}`).
pub const TEST_AGENT_KEYS: &[&str] = &["status", "open"];
/// Keys of `expect:`.
pub const EXPECT_KEYS: &[&str] = &[
    "priority",
    "status",
    "category",
    "assignee",
    "group",
    "tags",
    "no_tags",
    "rules",
    "reply_contains",
    "no_reply",
    "replies",
    "actions",
    "timers",
    "fields",
    "errors",
    "queued",
    "csat_score",
];
/// The time a test runs at when it gives none: Monday 5 January 2026, 09:00 UTC.
pub const DEFAULT_NOW: &str = "2026-01-05T09:00:00Z";

/// One compiled test.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// Name.
    pub name: String,
    /// File it is in.
    pub file: PathBuf,
    /// Where.
    pub pos: Pos,
    /// Decision time.
    pub now: DateTime<Utc>,
    /// The event (its ticket is the ticket decided on).
    pub event: Event,
    /// Agents' statuses and loads, and the round-robin cursors, at `now`.
    pub routing: RoutingState,
    /// What must hold.
    pub expect: Expect,
}

/// Expectations; unset ones are not checked.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub(crate) priority: Option<Priority>,
    pub(crate) status: Option<Status>,
    pub(crate) category: Option<String>,
    pub(crate) assignee: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) no_tags: Vec<String>,
    pub(crate) rules: Option<Vec<String>>,
    pub(crate) reply_contains: Vec<String>,
    pub(crate) no_reply: bool,
    pub(crate) replies: Option<usize>,
    pub(crate) actions: Option<Vec<String>>,
    pub(crate) timers: Option<Vec<String>>,
    pub(crate) fields: BTreeMap<String, Value>,
    pub(crate) errors: Option<usize>,
    pub(crate) queued: Option<String>,
    pub(crate) csat_score: Option<u8>,
}

/// Finds the node at a serde path (`ticket.customer.tier`, `tags[2]`) for a precise position.
fn node_at<'n>(root: &'n Node, path: &str) -> &'n Node {
    let mut node = root;
    for part in path.split('.').filter(|p| !p.is_empty() && *p != "?") {
        // `tags[2]`; a key of its own may hold a `[` (`typ[`), which is no index.
        let (key, idx) = match part.find('[') {
            Some(i) if part.ends_with(']') => (
                &part[..i],
                part[i + 1..part.len() - 1].parse::<usize>().ok(),
            ),
            _ => (part, None),
        };
        if let Kind::Map(pairs) = &node.kind {
            match pairs
                .iter()
                .find(|(k, _)| k.scalar_text().as_deref() == Some(key))
            {
                Some((_, v)) => node = v,
                None => break,
            }
        }
        if let (Some(i), Kind::Seq(items)) = (idx, &node.kind) {
            match items.get(i) {
                Some(v) => node = v,
                None => break,
            }
        }
    }
    node
}

/// Compiles `tests:` of one file.
pub(crate) fn compile(
    cx: &mut Cx<'_>,
    node: &Node,
    rule_names: &[String],
    roster: &Roster,
) -> Vec<TestCase> {
    let Some(items) = cx.seq(node, "tests") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = index("tests", i);
        if let Some(t) = compile_one(cx, item, &path, rule_names, roster) {
            if let Some(first) = seen.get(&t.name) {
                cx.error(
                    t.pos,
                    &join(&path, "name"),
                    format!(
                        "duplicate test name `{}` (first at line {})",
                        t.name, first.line
                    ),
                );
                continue;
            }
            seen.insert(t.name.clone(), t.pos);
            out.push(t);
        }
    }
    out
}

fn compile_one(
    cx: &mut Cx<'_>,
    node: &Node,
    path: &str,
    rule_names: &[String],
    roster: &Roster,
) -> Option<TestCase> {
    let f = cx.map(node, path, TEST_KEYS)?;
    let mut routing = RoutingState::default();
    let mut ok = true;
    if let Some(a) = f.get("agents") {
        ok &= agents(cx, a, &join(path, "agents"), roster, &mut routing);
    }
    if let Some(c) = f.get("cursors") {
        ok &= cursors(cx, c, &join(path, "cursors"), roster, &mut routing);
    }
    let name = match f.get("name") {
        Some(n) => cx.nonempty_text(n, &join(path, "name")),
        None => {
            cx.missing(&f, path, "name");
            None
        }
    };
    let now = match f.get("now") {
        Some(n) => {
            let text = cx.text(n, &join(path, "now"))?;
            match DateTime::parse_from_rfc3339(&text) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(e) => {
                    cx.error(n.pos, &join(path, "now"), format!("invalid time `{text}` ({e}); write RFC 3339, e.g. 2026-11-23T22:10:00+01:00"));
                    return None;
                }
            }
        }
        None => None,
    };
    let Some(event_node) = f.get("event") else {
        cx.missing(&f, path, "event");
        return None;
    };
    let epath = join(path, "event");
    if !matches!(event_node.kind, Kind::Map(_)) {
        cx.expected(
            event_node,
            &epath,
            "an event (a mapping with `type`, `ticket`, `message`)",
        );
        return None;
    }
    let mut json = event_node.to_json();
    let obj = json.as_object_mut().expect("a mapping");
    let default_id = format!("test:{}", name.clone().unwrap_or_default());
    obj.entry("id").or_insert(Value::String(default_id));
    let ticket = obj
        .entry("ticket")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(t) = ticket.as_object_mut() {
        t.entry("id").or_insert(Value::String("T-1".into()));
    }
    let event = match Event::from_value(json) {
        Ok(e) => e,
        Err(message) => {
            let at = message.split(": ").next().unwrap_or("");
            let pos = node_at(event_node, at).pos;
            cx.error(pos, &epath, message);
            return None;
        }
    };
    let now = now
        .or(event.occurred_at)
        .unwrap_or_else(|| DEFAULT_NOW.parse().expect("valid default"));
    let expect = match f.get("expect") {
        Some(e) => compile_expect(cx, e, &join(path, "expect"), rule_names)?,
        None => {
            cx.missing(&f, path, "expect");
            return None;
        }
    };
    if !ok {
        return None;
    }
    Some(TestCase {
        name: name?,
        file: cx.file.to_path_buf(),
        pos: node.pos,
        now,
        event,
        routing,
        expect,
    })
}

/// An agent id of the pack, or an error with the nearest one.
fn agent_ref(cx: &mut Cx<'_>, node: &Node, path: &str, roster: &Roster) -> Option<String> {
    let id = cx.nonempty_text(node, path)?;
    if roster.agent(&id).is_some() {
        return Some(id);
    }
    let hint = did_you_mean(&id, roster.agents.iter().map(|a| a.id.as_str()));
    cx.error(node.pos, path, format!("unknown agent `{id}`{hint}"));
    None
}

/// `agents: {kari: {status: online, open: 3}}` (or `open: {chat: 2, email: 1}`).
fn agents(
    cx: &mut Cx<'_>,
    node: &Node,
    path: &str,
    roster: &Roster,
    out: &mut RoutingState,
) -> bool {
    let Kind::Map(pairs) = &node.kind else {
        cx.expected(node, path, "a mapping of agent ids to `{status, open}`");
        return false;
    };
    let mut ok = true;
    for (k, v) in pairs {
        let Some(id) = agent_ref(cx, k, path, roster) else {
            ok = false;
            continue;
        };
        let p = join(path, &id);
        let Some(f) = cx.map(v, &p, TEST_AGENT_KEYS) else {
            ok = false;
            continue;
        };
        let mut state = AgentState::default();
        if let Some(s) = f.get("status") {
            match cx.named::<AgentStatus>(s, &join(&p, "status"), "agent status") {
                Some(s) => state.status = s,
                None => ok = false,
            }
        }
        if let Some(o) = f.get("open") {
            let op = join(&p, "open");
            let count = |cx: &mut Cx<'_>, n: &Node, p: &str| {
                cx.int(n, p).and_then(|v| {
                    let c = u32::try_from(v).ok();
                    if c.is_none() {
                        cx.error(n.pos, p, format!("`{v}` is not a number of tickets"));
                    }
                    c
                })
            };
            match &o.kind {
                Kind::Int(_) => match count(cx, o, &op) {
                    Some(n) => state.open.add_total(n),
                    None => ok = false,
                },
                _ => match cx.map_with(o, &op, &Channel::names(), "channel") {
                    Some(of) => {
                        for (ch, _, n) in of.iter() {
                            match count(cx, n, &join(&op, ch)) {
                                Some(n) => state.open.add(Channel::parse(ch).expect("checked"), n),
                                None => ok = false,
                            }
                        }
                    }
                    None => ok = false,
                },
            }
        }
        out.agents.insert(id, state);
    }
    ok
}

/// `cursors: {support: kari}`: the agent each team assigned to last.
fn cursors(
    cx: &mut Cx<'_>,
    node: &Node,
    path: &str,
    roster: &Roster,
    out: &mut RoutingState,
) -> bool {
    let Kind::Map(pairs) = &node.kind else {
        cx.expected(
            node,
            path,
            "a mapping of team ids to the agent assigned last",
        );
        return false;
    };
    let mut ok = true;
    for (k, v) in pairs {
        let Some(team) = cx.nonempty_text(k, path) else {
            ok = false;
            continue;
        };
        if roster.team(&team).is_none() {
            let hint = did_you_mean(&team, roster.teams.iter().map(|t| t.id.as_str()));
            cx.error(k.pos, path, format!("unknown team `{team}`{hint}"));
            ok = false;
            continue;
        }
        match agent_ref(cx, v, &join(path, &team), roster) {
            Some(a) => {
                out.last_assigned.insert(team, a);
            }
            None => ok = false,
        }
    }
    ok
}

fn compile_expect(
    cx: &mut Cx<'_>,
    node: &Node,
    path: &str,
    rule_names: &[String],
) -> Option<Expect> {
    let f = cx.map(node, path, EXPECT_KEYS)?;
    let mut e = Expect::default();
    let mut ok = true;
    for (key, _, v) in f.iter() {
        let p = join(path, key);
        let good = match key {
            "priority" => cx
                .named(v, &p, "priority")
                .map(|x| e.priority = Some(x))
                .is_some(),
            "status" => cx
                .named(v, &p, "status")
                .map(|x| e.status = Some(x))
                .is_some(),
            "category" => cx.text(v, &p).map(|x| e.category = Some(x)).is_some(),
            "assignee" => cx.text(v, &p).map(|x| e.assignee = Some(x)).is_some(),
            "queued" => cx.text(v, &p).map(|x| e.queued = Some(x)).is_some(),
            "group" => cx.text(v, &p).map(|x| e.group = Some(x)).is_some(),
            "tags" => cx.text_list(v, &p).map(|x| e.tags = x).is_some(),
            "no_tags" => cx.text_list(v, &p).map(|x| e.no_tags = x).is_some(),
            "reply_contains" => cx.text_list(v, &p).map(|x| e.reply_contains = x).is_some(),
            "no_reply" => cx.boolean(v, &p).map(|x| e.no_reply = x).is_some(),
            "replies" => cx
                .int(v, &p)
                .map(|x| e.replies = Some(x.max(0) as usize))
                .is_some(),
            "errors" => cx
                .int(v, &p)
                .map(|x| e.errors = Some(x.max(0) as usize))
                .is_some(),
            "timers" => cx.text_list(v, &p).map(|x| e.timers = Some(x)).is_some(),
            "csat_score" => match cx.int(v, &p) {
                Some(n @ 1..=5) => {
                    e.csat_score = Some(n as u8);
                    true
                }
                Some(n) => {
                    cx.error(v.pos, &p, format!("a score is 1 to 5, not {n}"));
                    false
                }
                None => false,
            },
            "fields" => match &v.kind {
                Kind::Map(pairs) => {
                    for (k, val) in pairs {
                        if let Some(k) = k.scalar_text() {
                            e.fields.insert(k, val.to_json());
                        }
                    }
                    true
                }
                _ => {
                    cx.expected(v, &p, "a mapping of field names to values");
                    false
                }
            },
            "rules" => {
                let names = cx.text_list(v, &p);
                if let Some(names) = &names {
                    for (i, n) in names.iter().enumerate() {
                        if !rule_names.contains(n) {
                            let hint = did_you_mean(n, rule_names.iter().map(String::as_str));
                            cx.error(v.pos, &index(&p, i), format!("no rule named `{n}`{hint}"));
                        }
                    }
                }
                names.map(|x| e.rules = Some(x)).is_some()
            }
            "actions" => {
                let kinds = cx.text_list(v, &p);
                if let Some(kinds) = &kinds {
                    for (i, k) in kinds.iter().enumerate() {
                        if k == "survey" {
                            cx.error(
                                v.pos,
                                &index(&p, i),
                                "a survey is decided as a `reply` (with `survey` set); write `reply`",
                            );
                        } else if !crate::rules::action::ACTIONS.contains(&k.as_str()) {
                            let hint =
                                did_you_mean(k, crate::rules::action::ACTIONS.iter().copied());
                            cx.error(v.pos, &index(&p, i), format!("unknown action `{k}`{hint}"));
                        }
                    }
                }
                kinds.map(|x| e.actions = Some(x)).is_some()
            }
            _ => unreachable!("keys are checked"),
        };
        ok &= good;
    }
    ok.then_some(e)
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::config::Config;

    #[test]
    fn node_at_reads_keys_with_brackets() {
        let root = crate::syntax::yaml::parse("type: ticket.created\n\"typ[\": x\ntags: [a, b]\n")
            .unwrap();
        assert_eq!(node_at(&root, "typ[").pos.line, 2);
        assert_eq!(node_at(&root, "tags[1]").pos.line, 3);
        assert_eq!(node_at(&root, "[").pos, root.pos);
    }

    #[test]
    fn an_unknown_event_key_with_a_bracket_is_a_diagnostic() {
        let text = "tests:\n  - name: x\n    event:\n      typ[: ticket.created\n";
        let err = Config::from_yaml("t.yaml", text).unwrap_err().to_string();
        let want = "t.yaml:4:13: tests[0].event: typ[: unknown field `typ[`";
        assert!(err.contains(want), "{err}");
    }
}
