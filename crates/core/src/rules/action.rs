//! Actions as written in rules (`then:`), compiled into [`ActionDef`] and applied by the engine.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::template::TextDef;
use std::collections::BTreeMap;

use crate::model::{
    AssignTarget, EventType, HeaderValue, HttpMethod, NotifyChannel, Priority, Status,
};
use crate::routing::TeamAssign;
use crate::syntax::decode::Fields;
use crate::syntax::decode::{index, join, Cx};
use crate::syntax::yaml::{Kind, Node, Pos};
use crate::time::{parse_business, BusinessSpan};

/// Every action name.
pub const ACTIONS: &[&str] = &[
    "reply",
    "internal_note",
    "set_priority",
    "set_status",
    "set_category",
    "add_tags",
    "remove_tags",
    "assign",
    "set_field",
    "schedule",
    "cancel_timers",
    "notify",
    "webhook",
    "handoff",
    "script",
    "answer_faq",
    "survey",
];

/// A compiled action.
#[derive(Debug, Clone)]
pub enum ActionDef {
    /// Public reply.
    Reply(TextDef),
    /// Note for agents.
    InternalNote(TextDef),
    /// New priority.
    SetPriority(Priority),
    /// New status.
    SetStatus(Status),
    /// New category.
    SetCategory(String),
    /// Tags to add.
    AddTags(Vec<String>),
    /// Tags to remove.
    RemoveTags(Vec<String>),
    /// Assignment to a named agent or group.
    Assign(AssignTarget),
    /// Automatic assignment to an agent of a team.
    AssignTeam(Box<TeamAssign>),
    /// Custom field value.
    SetField {
        /// Field name.
        name: String,
        /// Value.
        value: Value,
    },
    /// Start the timer with this name (its definition is in the pack).
    Schedule(String),
    /// Cancel timers (all when `None`).
    CancelTimers(Option<Vec<String>>),
    /// Notification.
    Notify {
        /// Where.
        channel: NotifyChannel,
        /// Whom (a template: `{{ ticket.customer.email }}`).
        to: String,
        /// What.
        text: TextDef,
        /// An e-mail's subject (a template).
        subject: Option<String>,
    },
    /// HTTP call; string values of `body` are templates.
    Webhook {
        /// URL.
        url: String,
        /// Method.
        method: HttpMethod,
        /// Body.
        body: Value,
        /// Extra request headers.
        headers: BTreeMap<String, HeaderValue>,
    },
    /// Hand to a human.
    Handoff {
        /// Group.
        group: Option<String>,
        /// Reason, a template.
        reason: Option<TextDef>,
    },
    /// Run a script that returns actions.
    Script(usize),
    /// Answer from an FAQ bot when it is confident enough.
    AnswerFaq {
        /// The bot's name.
        bot: String,
        /// Least confidence to answer; the bot's threshold when `None`.
        min_score: Option<f64>,
    },
    /// A satisfaction survey: a reply that asks for a rating from 1 to 5.
    Survey {
        /// The reply's text.
        text: TextDef,
        /// No survey when the ticket has one of these tags.
        unless_tagged: Vec<String>,
    },
}

/// When a timer fires: a delay from the decision, or a fixed time.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// Calendar time after the decision.
    After(Duration),
    /// Business time after the decision, counted in a calendar of the pack.
    Business {
        /// Index of the calendar in the pack.
        calendar: usize,
        /// How much business time.
        span: BusinessSpan,
    },
    /// A fixed moment.
    At(DateTime<Utc>),
}

/// A `schedule:` action's timer.
#[derive(Debug, Clone)]
pub struct TimerDef {
    /// Unique name.
    pub name: String,
    /// The rule it is in.
    pub rule: String,
    /// When it fires.
    pub when: When,
    /// Events that cancel it.
    pub cancel_on: Vec<EventType>,
    /// What runs when it fires.
    pub then: Vec<ActionDef>,
}

/// What compiling actions needs from its surroundings: the pack's templates, timers and
/// scripts when a pack loads, or a read-only view when a script returns actions.
pub(crate) trait ActionEnv<'d> {
    /// Where diagnostics go.
    fn cx(&mut self) -> &mut Cx<'d>;
    /// A template reference (`template: ack`) or inline text (`text: ...`).
    fn text(&mut self, node: &Node, path: &str, named: bool) -> Option<TextDef>;
    /// Registers a timer definition; returns its name.
    fn timer(&mut self, def: TimerDef, pos: Pos, path: &str) -> Option<String>;
    /// Compiles a script file named by `node`.
    fn script_file(&mut self, node: &Node, path: &str) -> Option<usize>;
    /// The rule being compiled.
    fn rule_name(&self) -> String;
    /// Names what is compiled next (a schedule's actions belong to `schedule NAME`).
    fn set_rule_name(&mut self, name: String);
    /// A reference to a calendar by name: its index in the pack.
    fn calendar(&mut self, node: &Node, path: &str) -> Option<usize>;
    /// Checks an `answer_faq` bot reference.
    fn faq_bot(&mut self, bot: &str, node: &Node, path: &str) -> bool;
    /// Compiles `assign: {team: ...}` against the pack's teams and skills.
    fn team_assign(&mut self, fields: &Fields<'_>, path: &str) -> Option<TeamAssign>;
}

/// Keys of a `survey:` action.
pub const SURVEY_KEYS: &[&str] = &["template", "text", "unless_tagged"];

/// Keys of an `assign:` action.
pub const ASSIGN_KEYS: &[&str] = &["agent", "group", "team", "strategy", "require", "fallback"];

/// Compiles a list of actions (`then:`).
pub(crate) fn compile_list<'d>(
    env: &mut dyn ActionEnv<'d>,
    node: &Node,
    path: &str,
) -> Option<Vec<ActionDef>> {
    let items = env.cx().seq(node, path)?;
    if items.is_empty() {
        env.cx().error(node.pos, path, "needs at least one action");
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match compile(env, item, &index(path, i)) {
            Some(a) => out.push(a),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Compiles one action: a mapping with exactly one action name.
pub(crate) fn compile<'d>(
    env: &mut dyn ActionEnv<'d>,
    node: &Node,
    path: &str,
) -> Option<ActionDef> {
    if let Kind::Str(name) = &node.kind {
        if ACTIONS.contains(&name.as_str()) {
            env.cx().error(
                node.pos,
                path,
                format!("`{name}` needs a value: write `{name}: ...`"),
            );
            return None;
        }
    }
    let fields = env.cx().map_with(node, path, ACTIONS, "action")?;
    if fields.len() != 1 {
        if fields.len() > 1 {
            let names: Vec<_> = fields.keys().collect();
            env.cx().error(
                node.pos,
                path,
                format!(
                    "one action per list item (found {}); start each with `- `",
                    names.join(", ")
                ),
            );
        } else if matches!(&node.kind, Kind::Map(p) if p.is_empty()) {
            env.cx().error(
                node.pos,
                path,
                format!("empty action (one of: {})", ACTIONS.join(", ")),
            );
        }
        return None;
    }
    let (name, _, value) = fields.iter().next().expect("one action");
    let p = join(path, name);
    compile_one(env, name, value, &p)
}

fn text_field<'d>(env: &mut dyn ActionEnv<'d>, value: &Node, path: &str) -> Option<TextDef> {
    if let Kind::Str(_) = value.kind {
        return env.text(value, path, false);
    }
    let f = env.cx().map(value, path, &["template", "text"])?;
    match (f.get("template"), f.get("text")) {
        (Some(t), None) => env.text(t, &join(path, "template"), true),
        (None, Some(t)) => env.text(t, &join(path, "text"), false),
        (Some(_), Some(_)) => {
            env.cx().error(
                value.pos,
                path,
                "write either `template` or `text`, not both",
            );
            None
        }
        (None, None) => {
            env.cx()
                .error(value.pos, path, "needs `template: NAME` or `text: ...`");
            None
        }
    }
}

fn tags<'d>(env: &mut dyn ActionEnv<'d>, value: &Node, path: &str) -> Option<Vec<String>> {
    let tags = env.cx().text_list(value, path)?;
    let mut ok = true;
    for (i, t) in tags.iter().enumerate() {
        if t.chars().any(char::is_whitespace) || t.contains(',') {
            let p = if matches!(value.kind, Kind::Seq(_)) {
                index(path, i)
            } else {
                path.to_string()
            };
            env.cx().error(
                value.pos,
                &p,
                format!("tag `{t}` has spaces or commas; helpdesks split tags on them"),
            );
            ok = false;
        }
    }
    ok.then_some(tags)
}

fn compile_one<'d>(
    env: &mut dyn ActionEnv<'d>,
    name: &str,
    value: &Node,
    p: &str,
) -> Option<ActionDef> {
    Some(match name {
        "reply" => ActionDef::Reply(text_field(env, value, p)?),
        "internal_note" => ActionDef::InternalNote(text_field(env, value, p)?),
        "set_priority" => ActionDef::SetPriority(env.cx().named(value, p, "priority")?),
        "set_status" => ActionDef::SetStatus(env.cx().named(value, p, "status")?),
        "set_category" => ActionDef::SetCategory(env.cx().nonempty_text(value, p)?),
        "add_tags" => ActionDef::AddTags(tags(env, value, p)?),
        "remove_tags" => ActionDef::RemoveTags(tags(env, value, p)?),
        "assign" => {
            let f = env.cx().map(value, p, ASSIGN_KEYS)?;
            if f.get("team").is_some() {
                if let Some(other) = ["agent", "group"].into_iter().find(|k| f.get(k).is_some()) {
                    env.cx().error(
                        value.pos,
                        p,
                        format!(
                            "write one of `team`, `agent` or `group`, not `team` and `{other}`"
                        ),
                    );
                    return None;
                }
                return env
                    .team_assign(&f, p)
                    .map(|t| ActionDef::AssignTeam(Box::new(t)));
            }
            if let Some(k) = ["strategy", "require", "fallback"]
                .into_iter()
                .find(|k| f.get(k).is_some())
            {
                env.cx().error(
                    value.pos,
                    &join(p, k),
                    format!("`{k}` goes with `team: NAME` (automatic assignment)"),
                );
                return None;
            }
            match (f.get("agent"), f.get("group")) {
                (Some(a), None) => ActionDef::Assign(AssignTarget::Agent(
                    env.cx().nonempty_text(a, &join(p, "agent"))?,
                )),
                (None, Some(g)) => ActionDef::Assign(AssignTarget::Group(
                    env.cx().nonempty_text(g, &join(p, "group"))?,
                )),
                _ => {
                    env.cx().error(
                        value.pos,
                        p,
                        "write one of `team: NAME`, `agent: ID` or `group: NAME`",
                    );
                    return None;
                }
            }
        }
        "set_field" => {
            let f = env.cx().map(value, p, &["name", "value"])?;
            let Some(n) = f.get("name") else {
                env.cx().missing(&f, p, "name");
                return None;
            };
            let name = env.cx().nonempty_text(n, &join(p, "name"))?;
            let value = f.get("value").map_or(Value::Null, Node::to_json);
            ActionDef::SetField { name, value }
        }
        "schedule" => return schedule(env, value, p),
        "cancel_timers" => match &value.kind {
            Kind::Str(s) if s == "all" => ActionDef::CancelTimers(None),
            _ => ActionDef::CancelTimers(Some(env.cx().text_list(value, p)?)),
        },
        "notify" => {
            let f = env
                .cx()
                .map(value, p, &["channel", "to", "text", "template", "subject"])?;
            let mut get = |key: &str| {
                let n = f.get(key);
                if n.is_none() {
                    env.cx().missing(&f, p, key);
                }
                n
            };
            let (channel, to) = (get("channel"), get("to"));
            let channel = env
                .cx()
                .named(channel?, &join(p, "channel"), "notify channel")?;
            let to = env.cx().nonempty_text(to?, &join(p, "to"))?;
            let text = match (f.get("template"), f.get("text")) {
                (Some(t), None) => env.text(t, &join(p, "template"), true)?,
                (None, Some(t)) => env.text(t, &join(p, "text"), false)?,
                _ => {
                    env.cx()
                        .error(value.pos, p, "write one of `template: NAME` or `text: ...`");
                    return None;
                }
            };
            let subject = match f.get("subject") {
                Some(s) => Some(env.cx().nonempty_text(s, &join(p, "subject"))?),
                None => None,
            };
            ActionDef::Notify {
                channel,
                to,
                text,
                subject,
            }
        }
        "webhook" => {
            let f = env
                .cx()
                .map(value, p, &["url", "method", "body", "headers"])?;
            let Some(u) = f.get("url") else {
                env.cx().missing(&f, p, "url");
                return None;
            };
            let url = env.cx().nonempty_text(u, &join(p, "url"))?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                env.cx().error(
                    u.pos,
                    &join(p, "url"),
                    format!("`{url}` is not an http(s) URL"),
                );
                return None;
            }
            let method = match f.get("method") {
                Some(m) => env.cx().named(m, &join(p, "method"), "HTTP method")?,
                None => HttpMethod::Post,
            };
            let body = f.get("body").map_or(Value::Null, Node::to_json);
            let headers = match f.get("headers") {
                Some(h) => headers(env.cx(), h, &join(p, "headers"))?,
                None => BTreeMap::new(),
            };
            ActionDef::Webhook {
                url,
                method,
                body,
                headers,
            }
        }
        "handoff" => {
            if let Kind::Null = value.kind {
                return Some(ActionDef::Handoff {
                    group: None,
                    reason: None,
                });
            }
            let f = env.cx().map(value, p, &["group", "reason"])?;
            let group = match f.get("group") {
                Some(g) => Some(env.cx().nonempty_text(g, &join(p, "group"))?),
                None => None,
            };
            let reason = match f.get("reason") {
                Some(r) => Some(env.text(r, &join(p, "reason"), false)?),
                None => None,
            };
            ActionDef::Handoff { group, reason }
        }
        "script" => ActionDef::Script(env.script_file(value, p)?),
        "answer_faq" => {
            let f = env.cx().map(value, p, &["bot", "min_score"])?;
            let Some(b) = f.get("bot") else {
                env.cx().missing(&f, p, "bot");
                return None;
            };
            let bot = env.cx().nonempty_text(b, &join(p, "bot"))?;
            let min_score = match f.get("min_score") {
                Some(m) => Some(env.cx().fraction(m, &join(p, "min_score"))?),
                None => None,
            };
            if !env.faq_bot(&bot, b, &join(p, "bot")) {
                return None;
            }
            ActionDef::AnswerFaq { bot, min_score }
        }
        "survey" => return survey(env, value, p),
        _ => unreachable!("action names are checked"),
    })
}

/// `survey: { template: NAME, unless_tagged: [TAG, ...] }` (or `text:`, or the text alone).
fn survey<'d>(env: &mut dyn ActionEnv<'d>, value: &Node, p: &str) -> Option<ActionDef> {
    if let Kind::Str(_) = value.kind {
        return Some(ActionDef::Survey {
            text: env.text(value, p, false)?,
            unless_tagged: Vec::new(),
        });
    }
    let f = env.cx().map(value, p, SURVEY_KEYS)?;
    let text = match (f.get("template"), f.get("text")) {
        (Some(t), None) => env.text(t, &join(p, "template"), true),
        (None, Some(t)) => env.text(t, &join(p, "text"), false),
        (Some(_), Some(_)) => {
            env.cx()
                .error(value.pos, p, "write either `template` or `text`, not both");
            None
        }
        (None, None) => {
            env.cx()
                .error(value.pos, p, "needs `template: NAME` or `text: ...`");
            None
        }
    };
    let unless_tagged = match f.get("unless_tagged") {
        Some(t) => Some(tags(env, t, &join(p, "unless_tagged"))?),
        None => Some(Vec::new()),
    };
    Some(ActionDef::Survey {
        text: text?,
        unless_tagged: unless_tagged?,
    })
}

fn schedule<'d>(env: &mut dyn ActionEnv<'d>, value: &Node, p: &str) -> Option<ActionDef> {
    let f = env.cx().map(value, p, SCHEDULE_KEYS)?;
    let name = match f.get("name") {
        Some(n) => env.cx().nonempty_text(n, &join(p, "name"))?,
        None => env.rule_name(),
    };
    let calendar = f
        .get("calendar")
        .map(|c| env.calendar(c, &join(p, "calendar")));
    let when = match (f.get("after"), f.get("at")) {
        (Some(a), None) => {
            let text = env.cx().text(a, &join(p, "after"))?;
            let business = text.to_ascii_lowercase().contains("business");
            match calendar {
                Some(calendar) => match parse_business(&text) {
                    Ok(span) => When::Business {
                        calendar: calendar?,
                        span,
                    },
                    Err(e) => {
                        env.cx().error(a.pos, &join(p, "after"), e);
                        return None;
                    }
                },
                None if business => {
                    env.cx().error(
                        a.pos,
                        &join(p, "after"),
                        format!("`{text}` is business time: add `calendar: NAME` to count it in a calendar"),
                    );
                    return None;
                }
                None => match parse_duration(&text) {
                    Ok(d) => When::After(d),
                    Err(e) => {
                        env.cx().error(a.pos, &join(p, "after"), e);
                        return None;
                    }
                },
            }
        }
        (None, Some(at)) if calendar.is_some() => {
            env.cx().error(
                at.pos,
                &join(p, "calendar"),
                "`calendar` counts `after:` in business time; it does not apply to `at:`",
            );
            return None;
        }
        (None, Some(at)) => {
            let text = env.cx().text(at, &join(p, "at"))?;
            match DateTime::parse_from_rfc3339(&text) {
                Ok(t) => When::At(t.with_timezone(&Utc)),
                Err(e) => {
                    env.cx().error(
                        at.pos,
                        &join(p, "at"),
                        format!("invalid time `{text}` ({e}); write RFC 3339"),
                    );
                    return None;
                }
            }
        }
        _ => {
            env.cx()
                .error(value.pos, p, "write one of `after: DURATION` or `at: TIME`");
            return None;
        }
    };
    let mut cancel_on = Vec::new();
    if let Some(c) = f.get("cancel_on") {
        let path = join(p, "cancel_on");
        let single = !matches!(c.kind, Kind::Seq(_));
        for (i, item) in env.cx().list(c).into_iter().enumerate() {
            let ip = if single {
                path.clone()
            } else {
                index(&path, i)
            };
            cancel_on.push(env.cx().named::<EventType>(item, &ip, "event type")?);
        }
    }
    let Some(then) = f.get("then") else {
        env.cx().missing(&f, p, "then");
        return None;
    };
    let then = compile_list(env, then, &join(p, "then"))?;
    let rule = env.rule_name();
    let name = env.timer(
        TimerDef {
            name,
            rule,
            when,
            cancel_on,
            then,
        },
        value.pos,
        p,
    )?;
    Some(ActionDef::Schedule(name))
}

/// Keys of a `schedule:` action.
pub const SCHEDULE_KEYS: &[&str] = &["name", "after", "at", "calendar", "cancel_on", "then"];

/// Parses calendar durations: `90s`, `30m`, `4h`, `2d`, `1w`, `2 days`, `1h 30m`. Business
/// time (`2 business days`) is [`crate::time::parse_business`], with a calendar.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let lower = text.trim().to_ascii_lowercase();
    if lower.contains("business") {
        return Err(format!(
            "`{text}` is business time; it needs a calendar (`calendar: NAME`)"
        ));
    }
    let mut total = Duration::zero();
    let mut rest = lower.as_str();
    let mut parts = 0;
    while !rest.trim().is_empty() {
        rest = rest.trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration `{text}`; write e.g. `30m`, `4h`, `2d` or `2 days`"
            ));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("number too large in `{text}`"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let secs = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 604_800,
            "" => {
                return Err(format!(
                    "`{text}` has a number without a unit (s, m, h, d, w)"
                ))
            }
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}` (use s, m, h, d or w)"
                ))
            }
        };
        total += Duration::seconds(
            n.checked_mul(secs)
                .ok_or_else(|| format!("`{text}` is too long"))?,
        );
        parts += 1;
        rest = rest.trim_start_matches([',', ' ']);
        if rest.starts_with("and ") {
            rest = &rest[4..];
        }
    }
    if parts == 0 || total <= Duration::zero() {
        return Err(format!("duration `{text}` must be more than zero"));
    }
    Ok(total)
}

/// Headers frontdesk sets on a webhook itself: a rule may not replace them.
const OWN_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// A webhook's `headers:`: names as HTTP allows them (and not frontdesk's own), values as text
/// or `{ secret: NAME }`.
fn headers(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<BTreeMap<String, HeaderValue>> {
    let Kind::Map(pairs) = &node.kind else {
        cx.expected(node, path, "a mapping of header names to values");
        return None;
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, v) in pairs {
        let Kind::Str(name) = &k.kind else {
            cx.error(k.pos, path, "header names must be text");
            ok = false;
            continue;
        };
        let at = join(path, name);
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            cx.error(k.pos, &at, format!("`{name}` is not an HTTP header name"));
            ok = false;
            continue;
        }
        if OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            cx.error(
                k.pos,
                &at,
                format!("`{name}` is set by frontdesk itself and cannot be replaced"),
            );
            ok = false;
            continue;
        }
        let value = match &v.kind {
            Kind::Map(_) => {
                let Some(f) = cx.map(v, &at, &["secret"]) else {
                    ok = false;
                    continue;
                };
                let Some(secret) = f
                    .get("secret")
                    .and_then(|s| cx.nonempty_text(s, &join(&at, "secret")))
                else {
                    ok = false;
                    continue;
                };
                if !secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    cx.error(
                        v.pos,
                        &join(&at, "secret"),
                        format!("`{secret}` is not a secret name: letters, digits and `_` (it is read from FRONTDESK_OUTBOUND_SECRET_<NAME>)"),
                    );
                    ok = false;
                    continue;
                }
                HeaderValue::Secret {
                    secret: secret.to_ascii_uppercase(),
                }
            }
            _ => {
                let Some(text) = cx.text(v, &at) else {
                    ok = false;
                    continue;
                };
                if text.chars().any(|c| c.is_control() && c != '\t') {
                    cx.error(
                        v.pos,
                        &at,
                        "a header value cannot hold line breaks or control characters",
                    );
                    ok = false;
                    continue;
                }
                HeaderValue::Text(text)
            }
        };
        out.insert(name.clone(), value);
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("90s", 90),
            ("30m", 1800),
            ("4h", 14_400),
            ("2d", 172_800),
            ("1w", 604_800),
            ("2 days", 172_800),
            ("1h 30m", 5400),
            ("1 hour and 30 minutes", 5400),
        ];
        for (text, secs) in ok {
            assert_eq!(parse_duration(text), Ok(Duration::seconds(secs)), "{text}");
        }
        for bad in ["", "soon", "5", "3 fortnights", "0s", "2 business days"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
