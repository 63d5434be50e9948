//! A [`ReplayReport`] for a terminal: the rules table, the changed tickets as `-`/`+` action
//! lines, the KPI deltas.

use std::fmt::Write as _;

use super::report::{Count, ReplayReport};
use crate::model::{Action, AssignTarget};
use crate::table::{thousands, Table};

/// One line of a ticket's action diff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Line<'a> {
    /// In both, in this place.
    Same(&'a Action),
    /// Only in the recording.
    Removed(&'a Action),
    /// Only with the candidate.
    Added(&'a Action),
}

/// Longest lists compared action by action; longer ones show as all removed, all added.
const MAX_CELLS: usize = 4_000_000;

/// The recorded actions against the candidate's, in order: a longest common subsequence,
/// with what only one side has marked.
pub fn diff<'a>(before: &'a [Action], after: &'a [Action]) -> Vec<Line<'a>> {
    let (n, m) = (before.len(), after.len());
    if n.saturating_mul(m) > MAX_CELLS {
        let mut out: Vec<Line<'a>> = before.iter().map(Line::Removed).collect();
        out.extend(after.iter().map(Line::Added));
        return out;
    }
    // lcs[i][j]: the longest common subsequence of before[i..] and after[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if before[i] == after[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n.max(m));
    while i < n && j < m {
        if before[i] == after[j] {
            out.push(Line::Same(&before[i]));
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * w + j] >= lcs[i * w + j + 1] {
            out.push(Line::Removed(&before[i]));
            i += 1;
        } else {
            out.push(Line::Added(&after[j]));
            j += 1;
        }
    }
    out.extend(before[i..].iter().map(Line::Removed));
    out.extend(after[j..].iter().map(Line::Added));
    out
}

/// Longest text shown of a reply, note or notification.
const TEXT: usize = 60;

fn quoted(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(TEXT) {
        Some((at, _)) => format!("\"{}…\"", &flat[..at]),
        None => format!("\"{flat}\""),
    }
}

/// An action on one line: `set_priority urgent`, `assign kari (team support)`,
/// `reply [ack] (en): "Hi Jane, thanks for writing…"`.
pub fn summary(a: &Action) -> String {
    match a {
        Action::Reply {
            text,
            language,
            template,
            survey,
            ..
        } => {
            let mut s = "reply".to_string();
            if let Some(t) = template {
                let _ = write!(s, " [{t}]");
            }
            if survey.is_some() {
                s.push_str(" [survey]");
            }
            if let Some(l) = language {
                let _ = write!(s, " ({l})");
            }
            format!("{s}: {}", quoted(text))
        }
        Action::InternalNote { text } => format!("internal_note: {}", quoted(text)),
        Action::SetPriority { priority } => format!("set_priority {priority}"),
        Action::SetStatus { status } => format!("set_status {status}"),
        Action::SetCategory { category } => format!("set_category {category}"),
        Action::AddTags { tags } => format!("add_tags {}", tags.join(", ")),
        Action::RemoveTags { tags } => format!("remove_tags {}", tags.join(", ")),
        Action::Assign { to, team, .. } => match (to, team) {
            (AssignTarget::Agent(a), Some(t)) => format!("assign {a} (team {t})"),
            (AssignTarget::Agent(a), None) => format!("assign {a}"),
            (AssignTarget::Group(g), _) => format!("assign group {g}"),
        },
        Action::SetField { name, value } => format!("set_field {name} = {value}"),
        Action::CancelTimers { names: None } => "cancel_timers (all but the SLA clocks')".into(),
        Action::CancelTimers { names: Some(n) } => format!("cancel_timers {}", n.join(", ")),
        Action::Notify {
            channel, to, text, ..
        } => {
            format!("notify {channel} {to}: {}", quoted(text))
        }
        Action::Webhook { url, method, .. } => format!("webhook {method} {url}"),
        Action::Handoff { group, reason } => {
            let mut s = "handoff".to_string();
            if let Some(g) = group {
                let _ = write!(s, " to {g}");
            }
            if let Some(r) = reason {
                let _ = write!(s, ": {}", quoted(r));
            }
            s
        }
        Action::AnswerFaq { bot, .. } => format!("answer_faq {bot}"),
        Action::OpenConversation { subject, .. } => format!("open_conversation {subject:?}"),
        Action::RelayMessage { .. } => "relay_message".to_string(),
    }
}

/// Unchanged actions shown around a change; longer runs are folded.
const CONTEXT: usize = 1;

fn delta(before: u64, after: u64) -> String {
    match after as i64 - before as i64 {
        0 => "·".into(),
        d if d > 0 => format!("+{d}"),
        d => d.to_string(),
    }
}

/// A row of counts before and after, labelled `prefix` and the count's key.
fn counts(t: &mut Table, prefix: &str, rows: &[Count]) {
    for c in rows {
        t.row([
            format!("  {prefix}{}", c.key),
            thousands(c.before),
            thousands(c.after),
            delta(c.before, c.after),
        ]);
    }
}

/// The report for a terminal.
pub fn text(r: &ReplayReport) -> String {
    let mut s = String::new();
    if r.events == 0 {
        s.push_str("No recorded events in the window: nothing to replay.\n");
        return s;
    }
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    let _ = writeln!(
        s,
        "Replayed {} events on {} tickets, {} to {} UTC",
        thousands(r.events),
        thousands(r.tickets),
        when(r.from),
        when(r.to)
    );
    let _ = writeln!(
        s,
        "  {} decided again with the candidate rules; {} of its timers fired in virtual time; \
         {} recorded timer firings belong to the old rules",
        thousands(r.decided),
        thousands(r.timers_fired),
        thousands(r.recorded_timers)
    );
    if r.tickets_from_before > 0 {
        let _ = writeln!(
            s,
            "  {} tickets were created before the window: what happened to them before it is not known",
            thousands(r.tickets_from_before)
        );
    }

    s.push('\n');
    let mut rules = Table::new();
    rules.row(["Rules", "before", "after", "Δ"]);
    let mut never = Vec::new();
    for c in &r.rules {
        if c.before == 0 && c.after == 0 {
            never.push(c.rule.as_str());
            continue;
        }
        rules.row([
            format!("  {}", c.rule),
            thousands(c.before),
            thousands(c.after),
            delta(c.before, c.after),
        ]);
    }
    s.push_str(&rules.render(""));
    if !never.is_empty() {
        let _ = writeln!(s, "  Fired neither before nor after: {}", never.join(", "));
    }

    s.push('\n');
    let _ = writeln!(
        s,
        "Changed tickets: {} of {}",
        thousands(r.changed_tickets),
        thousands(r.tickets)
    );
    for t in &r.changed {
        let _ = writeln!(s, "{}", t.ticket);
        let lines = diff(&t.before, &t.after);
        let mut i = 0;
        while i < lines.len() {
            match lines[i] {
                Line::Removed(a) => {
                    let _ = writeln!(s, "  - {}", summary(a));
                    i += 1;
                }
                Line::Added(a) => {
                    let _ = writeln!(s, "  + {}", summary(a));
                    i += 1;
                }
                Line::Same(_) => {
                    let run = lines[i..]
                        .iter()
                        .take_while(|l| matches!(l, Line::Same(_)))
                        .count();
                    let (first, last) = (i == 0, i + run == lines.len());
                    let (mut head, mut tail) = (
                        if first { 0 } else { CONTEXT.min(run) },
                        if last { 0 } else { CONTEXT },
                    );
                    tail = tail.min(run - head);
                    // Folding one line saves nothing.
                    if run - head - tail < 2 {
                        (head, tail) = (run, 0);
                    }
                    for l in &lines[i..i + head] {
                        if let Line::Same(a) = l {
                            let _ = writeln!(s, "    {}", summary(a));
                        }
                    }
                    let folded = run - head - tail;
                    if folded > 0 {
                        let _ = writeln!(s, "    … {folded} unchanged");
                    }
                    for l in &lines[i + run - tail..i + run] {
                        if let Line::Same(a) = l {
                            let _ = writeln!(s, "    {}", summary(a));
                        }
                    }
                    i += run;
                }
            }
        }
    }
    let unlisted = r.changed_tickets.saturating_sub(r.changed.len() as u64);
    if unlisted > 0 {
        let _ = writeln!(
            s,
            "… and {} more changed tickets (--limit shows more, --json gives every field)",
            thousands(unlisted)
        );
    }

    s.push('\n');
    let k = &r.kpis;
    let mut kpis = Table::new();
    kpis.row([
        format!("KPIs ({} tickets)", thousands(k.tickets)),
        "before".into(),
        "after".into(),
        "Δ".into(),
    ]);
    counts(&mut kpis, "priority ", &k.priority);
    let share = |n: u64, f: f64| format!("{} ({:.1}%)", thousands(n), f * 100.0);
    let a = &k.auto_answered;
    kpis.row([
        "  auto-answered (FAQ)".into(),
        share(a.before, a.before_share),
        share(a.after, a.after_share),
        delta(a.before, a.after),
    ]);
    counts(&mut kpis, "SLA breaches ", &k.sla_breaches);
    counts(&mut kpis, "assigned in ", &k.assignments);
    counts(&mut kpis, "queued in ", &k.queued);
    s.push_str(&kpis.render(""));
    s
}
