//! Running rule-file tests (`tests:`, compiled with the pack by [`crate::config::tests`]):
//! each decides its event at its time and compares the decision with what it expects.
//! `frontdesk test` runs them.

use crate::config::tests::{Expect, TestCase};
use crate::config::Config;
use crate::engine::{self, Context, Decision};
use crate::model::{Action, Named};
use serde_json::Value;

/// A difference between what a test expected and what was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Which expectation.
    pub what: String,
    /// Expected.
    pub expected: String,
    /// Decided.
    pub actual: String,
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

impl TestCase {
    /// Runs the test: the decision and what differs from the expectations.
    pub fn run(&self, config: &Config) -> (Decision, Vec<Mismatch>) {
        // Tests sign survey links with a fixed secret, so their replies show the links.
        let context = Context {
            routing: self.routing.clone(),
            csat_secret: Some(crate::csat::Secret::for_tests()),
            ..Context::default()
        };
        let d = engine::explain_with(config, &context, &self.event.ticket, &self.event, self.now);
        let mismatches = self.expect.check(&d);
        (d, mismatches)
    }
}

impl Expect {
    fn check(&self, d: &Decision) -> Vec<Mismatch> {
        let mut out = Vec::new();
        let mut diff = |what: &str, expected: String, actual: String| {
            out.push(Mismatch {
                what: what.to_string(),
                expected,
                actual,
            });
        };
        let t = &d.ticket;
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "(none)".into());
        if let Some(p) = self.priority {
            if t.priority != p {
                diff("priority", p.name().into(), t.priority.name().into());
            }
        }
        if let Some(s) = self.status {
            if t.status != s {
                diff("status", s.name().into(), t.status.name().into());
            }
        }
        if let Some(c) = &self.category {
            if t.category.as_deref() != Some(c) {
                diff("category", c.clone(), opt(&t.category));
            }
        }
        if let Some(a) = &self.assignee {
            if t.assignee.as_deref() != Some(a) {
                diff("assignee", a.clone(), opt(&t.assignee));
            }
        }
        if let Some(g) = &self.group {
            if t.group.as_deref() != Some(g) {
                diff("group", g.clone(), opt(&t.group));
            }
        }
        if let Some(q) = &self.queued {
            let got = d.routing.queued.as_ref().map(|x| x.team.clone());
            if got.as_deref() != Some(q) || t.assignee.is_some() {
                let actual = match (&t.assignee, got) {
                    (Some(a), _) => format!("assigned to {a}"),
                    (None, Some(team)) => format!("queued in {team}"),
                    (None, None) => "not queued".to_string(),
                };
                diff("queued", format!("waiting in the queue of {q}"), actual);
            }
        }
        let missing: Vec<String> = self
            .tags
            .iter()
            .filter(|x| !t.has_tag(x))
            .cloned()
            .collect();
        if !missing.is_empty() {
            diff(
                "tags",
                format!("to include {}", list(&missing)),
                list(&t.tags),
            );
        }
        let present: Vec<String> = self
            .no_tags
            .iter()
            .filter(|x| t.has_tag(x))
            .cloned()
            .collect();
        if !present.is_empty() {
            diff(
                "no_tags",
                format!("not to include {}", list(&present)),
                list(&t.tags),
            );
        }
        if let Some(rules) = &self.rules {
            if rules != &d.trace.fired {
                diff("rules", list(rules), list(&d.trace.fired));
            }
        }
        let replies: Vec<&str> = d
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Reply { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        for want in &self.reply_contains {
            if !replies.iter().any(|r| r.contains(want.as_str())) {
                let got = if replies.is_empty() {
                    "no reply".to_string()
                } else {
                    replies
                        .iter()
                        .map(|r| format!("{r:?}"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                };
                diff(
                    "reply_contains",
                    format!("a reply containing {want:?}"),
                    got,
                );
            }
        }
        if self.no_reply && !replies.is_empty() {
            diff(
                "no_reply",
                "no reply".into(),
                format!("{} replies", replies.len()),
            );
        }
        if let Some(n) = self.replies {
            if replies.len() != n {
                diff("replies", n.to_string(), replies.len().to_string());
            }
        }
        if let Some(kinds) = &self.actions {
            let got: Vec<String> = d.actions.iter().map(|a| a.kind().to_string()).collect();
            if &got != kinds {
                diff("actions", list(kinds), list(&got));
            }
        }
        if let Some(timers) = &self.timers {
            let got: Vec<String> = d.timers.iter().map(|x| x.name.clone()).collect();
            if &got != timers {
                diff("timers", list(timers), list(&got));
            }
        }
        for (name, want) in &self.fields {
            let got = t.fields.get(name).cloned().unwrap_or(Value::Null);
            if &got != want {
                diff(&format!("fields.{name}"), want.to_string(), got.to_string());
            }
        }
        if let Some(want) = self.csat_score {
            let got = t.csat.as_ref().and_then(|c| c.score);
            if got != Some(want) {
                let why = d
                    .trace
                    .csat
                    .as_ref()
                    .map_or(String::new(), |c| format!(" ({})", c.message));
                diff(
                    "csat_score",
                    want.to_string(),
                    format!(
                        "{}{why}",
                        got.map_or("no rating".to_string(), |n| n.to_string())
                    ),
                );
            }
        }
        let errors = d.trace.errors.len();
        let want_errors = self.errors.unwrap_or(0);
        if errors != want_errors {
            let msgs: Vec<String> = d
                .trace
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.rule, e.message))
                .collect();
            diff(
                "errors",
                want_errors.to_string(),
                format!("{errors}: {}", msgs.join("; ")),
            );
        }
        out
    }
}
