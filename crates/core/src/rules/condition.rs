//! Conditions: `all`/`any`/`not` trees of field tests and scripts, compiled from YAML and
//! evaluated against a ticket and an event.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::field::{EnumKind, Field, FieldType, TextSlot, Val};
use super::text::{contains_word, fold, fold_keyword};
use super::Scope;
use crate::syntax::decode::{index, join, Cx};
use crate::syntax::diag::did_you_mean;
use crate::syntax::yaml::{Kind, Node};

/// Every operator a field condition may use.
pub const OPERATORS: &[&str] = &[
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "exists",
    "contains",
    "contains_any",
    "contains_all",
    "starts_with",
    "matches",
    "changed",
    "changed_to",
    "changed_from",
];

/// The keys that start a condition.
pub const CONDITION_KEYS: &[&str] = &[
    "all",
    "any",
    "not",
    "field",
    "script",
    "within_hours",
    "intent",
];

/// Compiled regexes may use at most this much memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled condition.
#[derive(Debug)]
pub enum Cond {
    /// Every child holds.
    All(Vec<Cond>),
    /// Some child holds.
    Any(Vec<Cond>),
    /// The child does not hold.
    Not(Box<Cond>, String),
    /// A leaf test.
    Test(Box<Test>),
}

/// A leaf condition with what the trace shows of it.
#[derive(Debug)]
pub struct Test {
    /// Where it was written (`when.any[1]`).
    pub path: String,
    /// How it reads (`message.text contains_any [outage, is down]`).
    pub desc: String,
    /// The field it reads, for the trace's "actual value".
    pub field: Option<Field>,
    /// What it checks.
    pub kind: TestKind,
}

/// Ordered comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
}

impl CmpOp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Gte => o != Ordering::Less,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Lte => o != Ordering::Greater,
        }
    }
}

/// What a leaf checks, in the form fastest to evaluate.
#[derive(Debug)]
pub enum TestKind {
    /// Keywords in a folded text, through the pack's automaton.
    Keywords {
        /// Which text.
        slot: TextSlot,
        /// Keyword ids.
        ids: Vec<u32>,
        /// All of them (else any).
        all: bool,
    },
    /// Words in a short text field (folded at evaluation).
    Words {
        /// Folded words.
        words: Vec<String>,
        /// All of them.
        all: bool,
    },
    /// Elements of a list field (case-insensitive).
    ListHas {
        /// Wanted elements.
        items: Vec<String>,
        /// All of them.
        all: bool,
    },
    /// An enum field is (not) among a set, as a bit mask of indices.
    EnumIn {
        /// Bit `i` set for index `i`.
        mask: u32,
        /// `ne` / `not_in`.
        negate: bool,
    },
    /// An ordered enum compared to a value.
    EnumCmp {
        /// Operator.
        op: CmpOp,
        /// Index of the operand.
        value: u8,
    },
    /// Text is (not) among values, ignoring case.
    StrIn {
        /// Lower-cased values.
        values: Vec<String>,
        /// `ne` / `not_in`.
        negate: bool,
    },
    /// JSON value is (not) among values.
    JsonIn {
        /// Values.
        values: Vec<Value>,
        /// `ne` / `not_in`.
        negate: bool,
    },
    /// Ordered comparison with a number.
    NumCmp {
        /// Operator.
        op: CmpOp,
        /// Operand.
        value: f64,
    },
    /// Ordered comparison with a time.
    TimeCmp {
        /// Operator.
        op: CmpOp,
        /// Operand.
        value: DateTime<Utc>,
    },
    /// A flag is (not) this value.
    BoolIs {
        /// The value.
        value: bool,
        /// `ne`.
        negate: bool,
    },
    /// Set and non-empty (or the opposite).
    Exists(bool),
    /// Begins with (lower-cased prefix).
    StartsWith(String),
    /// Regular expression.
    Matches(Regex),
    /// The event changed the field (to / from a value).
    Changed {
        /// Keys to look up in `event.changes`.
        keys: Vec<String>,
        /// Wanted new value.
        to: Option<Value>,
        /// Wanted old value.
        from: Option<Value>,
    },
    /// A Rhai expression.
    Script(usize),
    /// `now` is inside the opening hours of a calendar (by index in the pack).
    WithinHours(usize),
    /// An FAQ bot reads the customer's message as one of these entries.
    Intent {
        /// The bot's name.
        bot: String,
        /// Entry ids; any entry when empty.
        ids: Vec<String>,
        /// Least confidence; the bot's threshold when `None`.
        min_score: Option<f64>,
    },
}

/// Why a condition did not hold.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Failure {
    /// Where the condition was written.
    pub path: String,
    /// The condition.
    pub condition: String,
    /// The value it saw.
    pub actual: Value,
}

impl Cond {
    /// Adds the FAQ bots its `intent` tests ask to `out`.
    pub fn bots(&self, out: &mut Vec<String>) {
        match self {
            Cond::All(items) | Cond::Any(items) => items.iter().for_each(|c| c.bots(out)),
            Cond::Not(c, _) => c.bots(out),
            Cond::Test(t) => {
                if let TestKind::Intent { bot, .. } = &t.kind {
                    out.push(bot.clone());
                }
            }
        }
    }

    /// Evaluates; with `why`, records the leaves that made it fail.
    pub fn eval(&self, scope: &Scope<'_>, why: Option<&mut Vec<Failure>>) -> bool {
        match self {
            Cond::All(items) => match why {
                None => items.iter().all(|c| c.eval(scope, None)),
                Some(why) => items.iter().all(|c| c.eval(scope, Some(why))),
            },
            Cond::Any(items) => match why {
                None => items.iter().any(|c| c.eval(scope, None)),
                Some(why) => {
                    let mut failures = Vec::new();
                    let held = items.iter().any(|c| c.eval(scope, Some(&mut failures)));
                    if !held {
                        why.extend(failures);
                    }
                    held
                }
            },
            Cond::Not(inner, path) => {
                let held = !inner.eval(scope, None);
                if !held {
                    if let Some(why) = why {
                        why.push(Failure {
                            path: path.clone(),
                            condition: format!("not ({})", inner.describe()),
                            actual: Value::Bool(true),
                        });
                    }
                }
                held
            }
            Cond::Test(t) => {
                let held = t.eval(scope);
                if !held {
                    if let Some(why) = why {
                        let actual = match (&t.field, &t.kind) {
                            (_, TestKind::WithinHours(cal)) => {
                                // The time as the calendar sees it, with its weekday.
                                let tz = scope.calendars.at(*cal).timezone();
                                let local = scope.now.with_timezone(&tz);
                                Value::String(local.format("%a %Y-%m-%dT%H:%M:%S%:z").to_string())
                            }
                            (_, TestKind::Intent { bot, .. }) => {
                                // What the bot made of the message: its best entry and score.
                                match scope.asked.ask(scope.bots, bot, scope.ticket, scope.event) {
                                    Some(a) => serde_json::json!({
                                        "intent": a.candidates.first().map(|c| c.0.clone()),
                                        "score": (a.score * 1000.0).round() / 1000.0,
                                    }),
                                    None => Value::Null,
                                }
                            }
                            (None, _) => Value::Null,
                            (Some(f), _) => f
                                .get(scope.ticket, scope.event, scope.text_both())
                                .to_json(f.ty()),
                        };
                        why.push(Failure {
                            path: t.path.clone(),
                            condition: t.desc.clone(),
                            actual,
                        });
                    }
                }
                held
            }
        }
    }

    /// How the condition reads.
    pub fn describe(&self) -> String {
        match self {
            Cond::All(items) => format!(
                "all of ({})",
                items
                    .iter()
                    .map(Cond::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Cond::Any(items) => format!(
                "any of ({})",
                items
                    .iter()
                    .map(Cond::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Cond::Not(inner, _) => format!("not ({})", inner.describe()),
            Cond::Test(t) => t.desc.clone(),
        }
    }

    /// Keywords one of which must be present for the condition to hold (`None`: no such
    /// set), as (text slot, keyword id). Used to skip rules whose keywords are absent.
    pub fn required_keywords(&self) -> Option<Vec<(TextSlot, u32)>> {
        match self {
            Cond::All(items) => items
                .iter()
                .filter_map(Cond::required_keywords)
                .min_by_key(Vec::len),
            Cond::Any(items) => {
                let mut out = Vec::new();
                for c in items {
                    out.extend(c.required_keywords()?);
                }
                Some(out)
            }
            Cond::Not(..) => None,
            Cond::Test(t) => match &t.kind {
                TestKind::Keywords { slot, ids, all } => Some(if *all {
                    vec![(*slot, ids[0])]
                } else {
                    ids.iter().map(|i| (*slot, *i)).collect()
                }),
                _ => None,
            },
        }
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase() == y.to_lowercase(),
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            s.trim().parse::<f64>().ok() == n.as_f64()
        }
        _ => a == b,
    }
}

fn eq_ignore_case(a: &str, b_lower: &str) -> bool {
    if a.is_ascii() {
        a.eq_ignore_ascii_case(b_lower)
    } else {
        a.to_lowercase() == b_lower
    }
}

impl Test {
    fn eval(&self, scope: &Scope<'_>) -> bool {
        let get = || {
            self.field.as_ref().map_or(Val::Null, |f| {
                f.get(scope.ticket, scope.event, scope.text_both())
            })
        };
        match &self.kind {
            TestKind::Keywords { slot, ids, all } => {
                let hits = scope.hits(*slot);
                if *all {
                    ids.iter().all(|i| hits.contains(*i as usize))
                } else {
                    ids.iter().any(|i| hits.contains(*i as usize))
                }
            }
            TestKind::Words { words, all } => {
                let hay = match get() {
                    Val::Str(s) => fold(s),
                    Val::Json(Value::String(s)) => fold(s),
                    Val::Json(Value::Array(items)) => {
                        let wanted = |w: &String| {
                            items.iter().any(|i| {
                                i.as_str()
                                    .is_some_and(|s| fold_keyword(s).as_ref() == Some(w))
                            })
                        };
                        return if *all {
                            words.iter().all(wanted)
                        } else {
                            words.iter().any(wanted)
                        };
                    }
                    _ => return false,
                };
                if *all {
                    words.iter().all(|w| contains_word(&hay, w))
                } else {
                    words.iter().any(|w| contains_word(&hay, w))
                }
            }
            TestKind::ListHas { items, all } => {
                let Val::List(list) = get() else { return false };
                let has = |want: &String| list.iter().any(|t| eq_ignore_case(t, want));
                if *all {
                    items.iter().all(has)
                } else {
                    items.iter().any(has)
                }
            }
            TestKind::EnumIn { mask, negate } => match get() {
                Val::Enum(i) => (mask & (1 << i) != 0) != *negate,
                _ => *negate,
            },
            TestKind::EnumCmp { op, value } => match get() {
                Val::Enum(i) => op.holds(i.cmp(value)),
                _ => false,
            },
            TestKind::StrIn { values, negate } => {
                let found = match get() {
                    Val::Str(s) => values.iter().any(|v| eq_ignore_case(s, v)),
                    _ => false,
                };
                found != *negate
            }
            TestKind::JsonIn { values, negate } => {
                let found = match get() {
                    Val::Json(v) => values.iter().any(|w| json_eq(v, w)),
                    Val::Num(n) => values.iter().any(|w| w.as_f64() == Some(n)),
                    _ => false,
                };
                found != *negate
            }
            TestKind::NumCmp { op, value } => {
                let n = match get() {
                    Val::Num(n) => Some(n),
                    Val::Json(Value::Number(n)) => n.as_f64(),
                    Val::Json(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                };
                n.and_then(|n| n.partial_cmp(value))
                    .is_some_and(|o| op.holds(o))
            }
            TestKind::TimeCmp { op, value } => {
                let t = match get() {
                    Val::Time(t) => Some(t),
                    Val::Json(Value::String(s)) => DateTime::parse_from_rfc3339(s)
                        .ok()
                        .map(|t| t.with_timezone(&Utc)),
                    _ => None,
                };
                t.is_some_and(|t| op.holds(t.cmp(value)))
            }
            TestKind::BoolIs { value, negate } => {
                matches!(get(), Val::Bool(b) if b == *value) != *negate
            }
            TestKind::Exists(want) => get().exists() == *want,
            TestKind::StartsWith(prefix) => match get() {
                Val::Str(s) => s.trim_start().to_lowercase().starts_with(prefix.as_str()),
                Val::Json(Value::String(s)) => {
                    s.trim_start().to_lowercase().starts_with(prefix.as_str())
                }
                _ => false,
            },
            TestKind::Matches(re) => match get() {
                Val::Str(s) => re.is_match(s),
                Val::Json(Value::String(s)) => re.is_match(s),
                Val::List(items) => items.iter().any(|t| re.is_match(t)),
                _ => false,
            },
            TestKind::Changed { keys, to, from } => {
                let Some(change) = keys.iter().find_map(|k| scope.event.changes.get(k)) else {
                    return false;
                };
                to.as_ref().is_none_or(|v| json_eq(&change.to, v))
                    && from.as_ref().is_none_or(|v| json_eq(&change.from, v))
            }
            TestKind::Script(id) => scope.script_condition(*id, &self.path),
            TestKind::WithinHours(cal) => scope.calendars.at(*cal).is_open(scope.now),
            TestKind::Intent {
                bot,
                ids,
                min_score,
            } => scope.intent(bot, ids, *min_score),
        }
    }
}

/// What compiling a condition needs from the pack under construction: where diagnostics go,
/// the keyword automaton, the scripts, the calendars and the bots. The config compiler
/// implements it; the condition compiler never sees the pack itself.
pub(crate) trait CondEnv<'d> {
    /// Where diagnostics go.
    fn cx(&mut self) -> &mut Cx<'d>;
    /// The id of a keyword (already folded) in the pack's automaton, for a text slot; `exact`
    /// when only the whole words count, not their forms.
    fn keyword(&mut self, folded: &str, slot: TextSlot, exact: bool) -> u32;
    /// Whether keywords match whole words only unless a condition says otherwise
    /// (`settings.exact_keywords`).
    fn exact_keywords(&self) -> bool;
    /// Compiles a `script:` condition's expression; its id in the pack's scripts.
    fn script_expression(&mut self, source: &str, node: &Node, path: &str) -> Option<usize>;
    /// A reference to a calendar by name: its index in the pack.
    fn calendar_ref(&mut self, node: &Node, path: &str) -> Option<usize>;
    /// Checks a reference to a FAQ bot; false (and a diagnostic) when there is no such bot.
    fn bot_ref(&mut self, bot: &str, node: &Node, path: &str) -> bool;
    /// The FAQ bots the pack may name.
    fn bots(&self) -> std::sync::Arc<crate::faq::BotSet>;
}

/// Compiles a condition (`when:` or one of its parts).
pub(crate) fn compile(c: &mut dyn CondEnv<'_>, node: &Node, path: &str) -> Option<Cond> {
    if let Kind::Seq(items) = &node.kind {
        return compile_list(c, items, path).map(Cond::All);
    }
    let Kind::Map(pairs) = &node.kind else {
        c.cx().expected(
            node,
            path,
            "a condition (a mapping with `field`, `all`, `any`, `not`, `script`, `within_hours` or `intent`)",
        );
        return None;
    };
    let has = |k: &str| {
        pairs
            .iter()
            .any(|(key, _)| key.scalar_text().as_deref() == Some(k))
    };
    if has("field") {
        return compile_field(c, node, path);
    }
    let fields = c.cx().map(node, path, CONDITION_KEYS)?;
    if fields.len() != 1 {
        if fields.len() == 0 {
            c.cx().error(
                node.pos,
                path,
                "empty condition: write `field`, `all`, `any`, `not`, `script`, `within_hours` or `intent`",
            );
        } else {
            let keys: Vec<_> = fields.keys().collect();
            c.cx().error(
                node.pos,
                path,
                format!(
                    "a condition has one of `all`, `any`, `not`, `script`, `within_hours`, `intent` (found {}); nest them to combine",
                    keys.join(", ")
                ),
            );
        }
        return None;
    }
    let (key, _, value) = fields.iter().next().expect("one key");
    let p = join(path, key);
    match key {
        "all" | "any" => {
            let items = c.cx().seq(value, &p)?;
            if items.is_empty() {
                c.cx().error(
                    value.pos,
                    &p,
                    format!("`{key}` needs at least one condition"),
                );
                return None;
            }
            let list = compile_list(c, items, &p)?;
            Some(if key == "all" {
                Cond::All(list)
            } else {
                Cond::Any(list)
            })
        }
        "not" => Some(Cond::Not(Box::new(compile(c, value, &p)?), p)),
        "within_hours" => {
            let name = c.cx().nonempty_text(value, &p)?;
            let cal = c.calendar_ref(value, &p)?;
            Some(Cond::Test(Box::new(Test {
                path: p,
                desc: format!("within_hours {name}"),
                field: None,
                kind: TestKind::WithinHours(cal),
            })))
        }
        "intent" => compile_intent(c, value, &p),
        "script" => {
            let source = c.cx().nonempty_text(value, &p)?;
            let id = c.script_expression(&source, value, &p)?;
            Some(Cond::Test(Box::new(Test {
                path: p,
                desc: format!("script `{}`", source.trim()),
                field: None,
                kind: TestKind::Script(id),
            })))
        }
        _ => unreachable!("keys are checked"),
    }
}

/// `intent: { bot: support, in: [password_reset], min_score: 0.6 }`.
fn compile_intent(c: &mut dyn CondEnv<'_>, node: &Node, p: &str) -> Option<Cond> {
    let f = c.cx().map(node, p, &["bot", "in", "min_score"])?;
    let Some(b) = f.get("bot") else {
        c.cx().missing(&f, p, "bot");
        return None;
    };
    let bpath = join(p, "bot");
    let bot = c.cx().nonempty_text(b, &bpath)?;
    if !c.bot_ref(&bot, b, &bpath) {
        return None;
    }
    let mut ok = true;
    let min_score = match f.get("min_score") {
        Some(m) => {
            let v = c.cx().fraction(m, &join(p, "min_score"));
            ok &= v.is_some();
            v
        }
        None => None,
    };
    let mut ids = Vec::new();
    if let Some(list) = f.get("in") {
        let ipath = join(p, "in");
        let loaded = c.bots();
        let known = loaded.get(&bot).expect("checked above");
        for (i, item) in c.cx().list(list).into_iter().enumerate() {
            let ip = index(&ipath, i);
            let Some(id) = c.cx().nonempty_text(item, &ip) else {
                ok = false;
                continue;
            };
            if known.entry(&id).is_none() {
                let hint = did_you_mean(&id, known.entries().iter().map(|e| e.id.as_str()));
                c.cx().error(
                    item.pos,
                    &ip,
                    format!("bot `{bot}` has no entry `{id}`{hint}"),
                );
                ok = false;
            }
            ids.push(id);
        }
    }
    let desc = match (ids.is_empty(), min_score) {
        (true, None) => format!("intent of bot {bot}"),
        (true, Some(m)) => format!("intent of bot {bot} with score ≥ {m}"),
        (false, None) => format!("intent of bot {bot} in [{}]", ids.join(", ")),
        (false, Some(m)) => format!(
            "intent of bot {bot} in [{}] with score ≥ {m}",
            ids.join(", ")
        ),
    };
    ok.then(|| {
        Cond::Test(Box::new(Test {
            path: p.to_string(),
            desc,
            field: None,
            kind: TestKind::Intent {
                bot,
                ids,
                min_score,
            },
        }))
    })
}

fn compile_list(c: &mut dyn CondEnv<'_>, items: &[Node], path: &str) -> Option<Vec<Cond>> {
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match compile(c, item, &index(path, i)) {
            Some(cond) => out.push(cond),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn compile_field(c: &mut dyn CondEnv<'_>, node: &Node, path: &str) -> Option<Cond> {
    let mut allowed = vec!["field", "exact"];
    allowed.extend_from_slice(OPERATORS);
    let mut keys_for_error: Vec<&str> = allowed.clone();
    keys_for_error.extend(CONDITION_KEYS.iter().filter(|k| **k != "field"));
    let fields = c.cx().map_with(node, path, &allowed, "operator")?;
    let field_node = fields.get("field").expect("checked by caller");
    let fpath = join(path, "field");
    let name = c.cx().nonempty_text(field_node, &fpath)?;
    let Some(field) = Field::parse(&name) else {
        let known = super::field::known_paths();
        let hint = did_you_mean(&name, known.iter().map(String::as_str));
        c.cx().error(
            field_node.pos,
            &fpath,
            format!("unknown field `{name}`{hint}"),
        );
        return None;
    };
    let ops: Vec<_> = fields
        .iter()
        .filter(|(k, _, _)| *k != "field" && *k != "exact")
        .collect();
    let (op, op_key, operand) = match ops.as_slice() {
        [one] => *one,
        [] if fields.len() < node_keys(node) => return None, // an unknown key, already reported
        [] => {
            c.cx().error(
                node.pos,
                path,
                format!(
                    "condition on `{name}` has no operator (one of: {})",
                    OPERATORS.join(", ")
                ),
            );
            return None;
        }
        [_, second, ..] => {
            c.cx().error(
                second.1.pos,
                path,
                "one operator per condition; combine several with `all:`",
            );
            return None;
        }
    };
    let opath = join(path, op);
    let exact = match fields.get("exact") {
        None => None,
        Some(node) => {
            let epath = join(path, "exact");
            let value = c.cx().boolean(node, &epath)?;
            let keywords = op.starts_with("contains")
                && matches!(
                    field.ty(),
                    FieldType::Text | FieldType::Str | FieldType::Any
                );
            if !keywords {
                let why = if op.starts_with("contains") {
                    format!(
                        "`{}` is a list, whose items are compared whole",
                        field.path()
                    )
                } else {
                    format!("`{op}` compares whole values")
                };
                c.cx().error(
                    node.pos,
                    &epath,
                    format!("`exact` applies to keywords in text (`contains`, `contains_any`, `contains_all`); {why}"),
                );
                return None;
            }
            Some(value)
        }
    };
    let exact = exact.unwrap_or_else(|| c.exact_keywords());
    let mut desc = format!("{} {op} {}", field.path(), short_json(&operand.to_json()));
    if exact && op.starts_with("contains") && field.text_slot().is_some() {
        desc.push_str(" (exact)");
    }
    let kind = compile_test(c, &field, op, operand, &opath, exact)?;
    let _ = op_key;
    Some(Cond::Test(Box::new(Test {
        path: path.to_string(),
        desc,
        field: Some(field),
        kind,
    })))
}

/// A keyword all of whose words are stop words (`the`, `and`, `og`, `في`): it is in nearly
/// every message, as written or as a word form.
fn warn_common_keyword(
    c: &mut dyn CondEnv<'_>,
    folded: &str,
    written: &str,
    operand: &Node,
    path: &str,
) {
    use crate::faq::lang::Lang;
    let common = Lang::ALL
        .iter()
        .find(|l| folded.split(' ').all(|w| l.is_stop_word(w)));
    if let Some(lang) = common {
        let pos = match &operand.kind {
            Kind::Seq(items) => items
                .iter()
                .find(|n| n.scalar_text().as_deref() == Some(written))
                .map_or(operand.pos, |n| n.pos),
            _ => operand.pos,
        };
        c.cx().warn(
            pos,
            path,
            format!(
                "keyword `{written}` is a common word (a stop word in `{}`): it matches nearly every message; use a more telling word or phrase",
                lang.code()
            ),
        );
    }
}

fn node_keys(node: &Node) -> usize {
    match &node.kind {
        Kind::Map(pairs) => pairs.len(),
        _ => 0,
    }
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(79).collect::<String>())
    } else {
        s
    }
}

fn cmp_op(op: &str) -> Option<CmpOp> {
    Some(match op {
        "gt" => CmpOp::Gt,
        "gte" => CmpOp::Gte,
        "lt" => CmpOp::Lt,
        "lte" => CmpOp::Lte,
        _ => return None,
    })
}

fn compile_test(
    c: &mut dyn CondEnv<'_>,
    field: &Field,
    op: &str,
    operand: &Node,
    path: &str,
    exact: bool,
) -> Option<TestKind> {
    let ty = field.ty();
    let fname = field.path();
    let unsupported = |c: &mut dyn CondEnv<'_>, hint: &str| {
        c.cx().error(
            operand.pos,
            path,
            format!(
                "`{op}` does not apply to `{fname}` ({}){hint}",
                type_noun(ty)
            ),
        );
        None
    };
    // Operand forms shared by all types.
    match op {
        "exists" => return c.cx().boolean(operand, path).map(TestKind::Exists),
        "changed" | "changed_to" | "changed_from" => {
            let keys = change_keys(&fname);
            if op == "changed" {
                if c.cx().boolean(operand, path)? {
                    return Some(TestKind::Changed {
                        keys,
                        to: None,
                        from: None,
                    });
                }
                c.cx().error(
                    operand.pos,
                    path,
                    "write `changed: true`, or `not:` around it",
                );
                return None;
            }
            let value = operand_value(c, ty, operand, path)?;
            return Some(if op == "changed_to" {
                TestKind::Changed {
                    keys,
                    to: Some(value),
                    from: None,
                }
            } else {
                TestKind::Changed {
                    keys,
                    to: None,
                    from: Some(value),
                }
            });
        }
        "matches" => {
            if matches!(ty, FieldType::Enum(_) | FieldType::Time | FieldType::Number) {
                return unsupported(c, "; use `eq` or `in`");
            }
            let pattern = c.cx().nonempty_text(operand, path)?;
            return match RegexBuilder::new(&pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(re) => Some(TestKind::Matches(re)),
                Err(regex::Error::CompiledTooBig(limit)) => {
                    c.cx().error(
                        operand.pos,
                        path,
                        format!("regex is too big: it compiles to more than {limit} bytes; simplify it or use `contains_any`"),
                    );
                    None
                }
                Err(e) => {
                    let msg = e.to_string();
                    let last = msg.lines().last().unwrap_or("").trim().to_string();
                    c.cx()
                        .error(operand.pos, path, format!("invalid regex: {last}"));
                    None
                }
            };
        }
        _ => {}
    }
    match ty {
        FieldType::Enum(kind) => {
            if let Some(cmp) = cmp_op(op) {
                if kind != EnumKind::Priority {
                    return unsupported(c, "; only priorities are ordered");
                }
                let value = enum_index(c, kind, operand, path)?;
                return Some(TestKind::EnumCmp { op: cmp, value });
            }
            match op {
                "eq" | "ne" => {
                    let i = enum_index(c, kind, operand, path)?;
                    Some(TestKind::EnumIn {
                        mask: 1 << i,
                        negate: op == "ne",
                    })
                }
                "in" | "not_in" => {
                    let items = c.cx().seq(operand, path)?;
                    let mut mask = 0u32;
                    let mut ok = true;
                    for (i, item) in items.iter().enumerate() {
                        match enum_index(c, kind, item, &index(path, i)) {
                            Some(v) => mask |= 1 << v,
                            None => ok = false,
                        }
                    }
                    ok.then_some(TestKind::EnumIn {
                        mask,
                        negate: op == "not_in",
                    })
                }
                _ => unsupported(c, "; use `eq` or `in`"),
            }
        }
        FieldType::Text | FieldType::Str | FieldType::List | FieldType::Any
            if op.starts_with("contains") =>
        {
            let single = op == "contains";
            let words = if single {
                vec![c.cx().nonempty_text(operand, path)?]
            } else {
                let items = c.cx().seq(operand, path)?;
                if items.is_empty() {
                    c.cx().error(
                        operand.pos,
                        path,
                        format!("`{op}` needs at least one value"),
                    );
                    return None;
                }
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.push(c.cx().nonempty_text(item, &index(path, i))?);
                }
                out
            };
            let all = op == "contains_all";
            if ty == FieldType::List {
                let items = words.iter().map(|w| w.to_lowercase()).collect();
                return Some(TestKind::ListHas { items, all });
            }
            let mut folded = Vec::new();
            for (i, w) in words.iter().enumerate() {
                match fold_keyword(w) {
                    Some(f) => folded.push(f),
                    None => {
                        let p = if single {
                            path.to_string()
                        } else {
                            index(path, i)
                        };
                        c.cx().error(
                            operand.pos,
                            &p,
                            format!("keyword `{w}` has no letters or digits to match"),
                        );
                        return None;
                    }
                }
            }
            match field.text_slot() {
                Some(slot) => {
                    if !exact {
                        for (i, f) in folded.iter().enumerate() {
                            let p = if single {
                                path.to_string()
                            } else {
                                index(path, i)
                            };
                            warn_common_keyword(c, f, &words[i], operand, &p);
                        }
                    }
                    let ids = folded.iter().map(|f| c.keyword(f, slot, exact)).collect();
                    Some(TestKind::Keywords { slot, ids, all })
                }
                None => Some(TestKind::Words { words: folded, all }),
            }
        }
        FieldType::Text | FieldType::Str => match op {
            "eq" | "ne" => Some(TestKind::StrIn {
                values: vec![c.cx().text(operand, path)?.to_lowercase()],
                negate: op == "ne",
            }),
            "in" | "not_in" => {
                let values = c.cx().text_list(operand, path)?;
                Some(TestKind::StrIn {
                    values: values.iter().map(|v| v.to_lowercase()).collect(),
                    negate: op == "not_in",
                })
            }
            "starts_with" => Some(TestKind::StartsWith(
                c.cx().nonempty_text(operand, path)?.to_lowercase(),
            )),
            _ => unsupported(
                c,
                "; text compares with eq, in, contains, starts_with or matches",
            ),
        },
        FieldType::Bool => match op {
            "eq" | "ne" => {
                let value = c.cx().boolean(operand, path)?;
                Some(TestKind::BoolIs {
                    value,
                    negate: op == "ne",
                })
            }
            _ => unsupported(c, "; flags compare with `eq: true` or `eq: false`"),
        },
        FieldType::List => unsupported(
            c,
            "; lists use `contains`, `contains_any`, `contains_all` or `exists`",
        ),
        FieldType::Number => {
            let number = |c: &mut dyn CondEnv<'_>, node: &Node, path: &str| match &node.kind {
                Kind::Int(i) => Some(*i as f64),
                Kind::Float(f) => Some(*f),
                _ => {
                    c.cx().expected(node, path, "a number");
                    None
                }
            };
            if let Some(cmp) = cmp_op(op) {
                return Some(TestKind::NumCmp {
                    op: cmp,
                    value: number(c, operand, path)?,
                });
            }
            match op {
                "eq" | "ne" => Some(TestKind::JsonIn {
                    values: vec![Value::from(number(c, operand, path)?)],
                    negate: op == "ne",
                }),
                "in" | "not_in" => {
                    let items = c.cx().seq(operand, path)?;
                    let mut values = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        values.push(Value::from(number(c, item, &index(path, i))?));
                    }
                    Some(TestKind::JsonIn {
                        values,
                        negate: op == "not_in",
                    })
                }
                _ => unsupported(
                    c,
                    "; numbers compare with eq, in, gt, gte, lt, lte or exists",
                ),
            }
        }
        FieldType::Time => match cmp_op(op) {
            Some(cmp) => Some(TestKind::TimeCmp {
                op: cmp,
                value: time_operand(c, operand, path)?,
            }),
            None => unsupported(c, "; times compare with gt, gte, lt, lte or exists"),
        },
        FieldType::Any => {
            if let Some(cmp) = cmp_op(op) {
                return match &operand.kind {
                    Kind::Int(i) => Some(TestKind::NumCmp {
                        op: cmp,
                        value: *i as f64,
                    }),
                    Kind::Float(f) => Some(TestKind::NumCmp { op: cmp, value: *f }),
                    Kind::Str(_) => Some(TestKind::TimeCmp {
                        op: cmp,
                        value: time_operand(c, operand, path)?,
                    }),
                    _ => {
                        c.cx()
                            .expected(operand, path, "a number or an RFC 3339 time");
                        None
                    }
                };
            }
            match op {
                "eq" | "ne" => Some(TestKind::JsonIn {
                    values: vec![operand.to_json()],
                    negate: op == "ne",
                }),
                "in" | "not_in" => {
                    let items = c.cx().seq(operand, path)?;
                    Some(TestKind::JsonIn {
                        values: items.iter().map(Node::to_json).collect(),
                        negate: op == "not_in",
                    })
                }
                "starts_with" => Some(TestKind::StartsWith(
                    c.cx().nonempty_text(operand, path)?.to_lowercase(),
                )),
                _ => unsupported(c, ""),
            }
        }
    }
}

fn type_noun(ty: FieldType) -> String {
    match ty {
        FieldType::Text => "text".into(),
        FieldType::Str => "text".into(),
        FieldType::Enum(k) => format!("a {}", k.noun()),
        FieldType::List => "a list".into(),
        FieldType::Time => "a time".into(),
        FieldType::Bool => "a flag".into(),
        FieldType::Number => "a number".into(),
        FieldType::Any => "a custom field".into(),
    }
}

fn change_keys(path: &str) -> Vec<String> {
    let mut keys = vec![path.to_string()];
    if let Some(short) = path.strip_prefix("ticket.") {
        keys.push(short.to_string());
    }
    keys
}

fn enum_index(c: &mut dyn CondEnv<'_>, kind: EnumKind, node: &Node, path: &str) -> Option<u8> {
    let s = c.cx().text(node, path)?;
    match kind.index_of(&s) {
        Some(i) => Some(i),
        None => {
            let names = kind.names();
            let hint = did_you_mean(&s, names.iter().copied());
            let hint = if hint.is_empty() {
                format!(" (expected one of: {})", names.join(", "))
            } else {
                hint
            };
            c.cx().error(
                node.pos,
                path,
                format!("unknown {} `{s}`{hint}", kind.noun()),
            );
            None
        }
    }
}

/// A `changed_to`/`changed_from` operand, validated by the field's type.
fn operand_value(c: &mut dyn CondEnv<'_>, ty: FieldType, node: &Node, path: &str) -> Option<Value> {
    match ty {
        FieldType::Enum(kind) => {
            let i = enum_index(c, kind, node, path)?;
            Some(Value::String(kind.names()[i as usize].to_string()))
        }
        FieldType::Time => Some(Value::String(time_operand(c, node, path)?.to_rfc3339())),
        FieldType::Bool => Some(Value::Bool(c.cx().boolean(node, path)?)),
        _ => Some(node.to_json()),
    }
}

fn time_operand(c: &mut dyn CondEnv<'_>, node: &Node, path: &str) -> Option<DateTime<Utc>> {
    let s = c.cx().text(node, path)?;
    match DateTime::parse_from_rfc3339(&s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            c.cx().error(
                node.pos,
                path,
                format!("invalid time `{s}` ({e}); write RFC 3339, e.g. 2026-11-23T08:00:00+01:00"),
            );
            None
        }
    }
}
