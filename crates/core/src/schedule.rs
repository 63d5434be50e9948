//! Cron schedules (`schedules:` in rule files): actions that run at wall-clock times in a time
//! zone, for every ticket a filter selects or once per occurrence.
//!
//! The expressions are the `cron` crate's (6 or 7 fields, seconds first) or the classic 5
//! fields (`0 2 * * *`, Sunday as 0 or 7). Occurrences are wall-clock times in the schedule's
//! time zone, mapped to instants the way calendars map them: a local time that happens twice
//! is its first occurrence, one the clock skips is the moment the clock jumps. Everything here
//! is pure; the daemon's scheduler asks for the occurrences and records each run once.

use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use crate::model::{Named, Status};
use crate::rules::action::{self, parse_duration, ActionDef, ActionEnv};
use crate::syntax::decode::{index, join, Sites};
use crate::syntax::diag::did_you_mean;
use crate::syntax::yaml::{Kind, Node, Pos};
use crate::time::calendar::local_to_utc;

/// Ticket ids of schedules without `for_each` start with this: `schedule:NAME`. Such a ticket
/// stands for the schedule itself: `for_each` never selects it and it has no SLA clocks.
pub const TICKET_PREFIX: &str = "schedule:";

/// Whether a ticket id is a schedule's own (see [`TICKET_PREFIX`]).
pub fn is_schedule_ticket(id: &str) -> bool {
    id.starts_with(TICKET_PREFIX)
}

/// Keys of one schedule.
pub const SCHEDULE_KEYS: &[&str] = &[
    "name",
    "description",
    "cron",
    "timezone",
    "for_each",
    "then",
    "missed",
    "enabled",
];
/// Keys of `for_each:`.
pub const FOR_EACH_KEYS: &[&str] = &["status", "idle_for"];
/// Values of `missed:`.
pub const MISSED: &[&str] = &["run_once", "skip"];

/// What to do with occurrences that passed while the daemon was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// Run the latest missed occurrence once (the default).
    RunOnce,
    /// Run none of them; wait for the next one.
    Skip,
}

/// Which tickets an occurrence acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct ForEach {
    /// Ticket statuses (any when empty).
    pub statuses: Vec<Status>,
    /// Only tickets without an event for this long.
    pub idle_for: Option<Duration>,
}

/// A compiled cron schedule.
#[derive(Debug)]
pub struct CronSchedule {
    /// Unique name.
    pub name: String,
    /// The expression as written.
    pub expression: String,
    cron: cron::Schedule,
    /// The time zone its times are read in.
    pub timezone: Tz,
    /// Tickets to act on; `None` runs once per occurrence.
    pub for_each: Option<ForEach>,
    /// The actions.
    pub then: Vec<ActionDef>,
    /// After downtime.
    pub missed: Missed,
    /// `enabled: false` keeps it without running it.
    pub enabled: bool,
    /// Where it is written.
    pub pos: Pos,
}

/// An occurrence counts as missed when it is seen this much after its time.
pub const LATE: Duration = Duration::minutes(1);

impl CronSchedule {
    /// The occurrences after `t`, in order, as instants.
    pub fn after(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let tz = self.timezone;
        // The wall clock, written as if it were UTC, so the expression reads local times.
        let local = Utc.from_utc_datetime(&t.with_timezone(&tz).naive_local());
        // Start an hour early: after the clocks go back, the same wall time comes again.
        self.cron
            .after(&(local - Duration::hours(1)))
            .map(move |w: DateTime<Utc>| local_to_utc(tz, w.naive_utc()))
            .filter(move |x| *x > t)
    }

    /// The latest occurrence after `from` and at or before `now`, and whether more than one
    /// came in that span. Looks at no more than `limit` occurrences (a schedule every second
    /// over months of downtime).
    pub fn latest(
        &self,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Option<(DateTime<Utc>, usize)> {
        let mut last = None;
        let mut n = 0;
        for t in self.after(from).take_while(|t| *t <= now).take(limit) {
            last = Some(t);
            n += 1;
        }
        match last {
            Some(t) if n == limit => {
                // Too many to walk: the latest is among the last day's.
                let recent = self
                    .after(now - Duration::days(1))
                    .take_while(|t| *t <= now)
                    .last();
                Some((recent.unwrap_or(t), n))
            }
            Some(t) => Some((t, n)),
            None => None,
        }
    }
}

/// Reads a cron expression: 5 fields (minute hour day month weekday, weekday 0–7 with 0 and
/// 7 Sunday), or the `cron` crate's 6 or 7 (seconds first, optional year; weekday 1–7 from
/// Sunday, or names).
pub fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let expr = match fields.len() {
        5 => {
            let dow = classic_weekdays(fields[4])?;
            format!("0 {} {} {} {} {dow}", fields[0], fields[1], fields[2], fields[3])
        }
        6 | 7 => fields.join(" "),
        n => {
            return Err(format!(
                "cron expression `{text}` has {n} fields; write 5 (`minute hour day month weekday`, e.g. `0 2 * * *`) or 6–7 with seconds first"
            ))
        }
    };
    cron::Schedule::from_str(&expr).map_err(|e| format!("invalid cron expression `{text}`: {e}"))
}

/// Classic weekday numbers (0 or 7 Sunday, 1 Monday) as names, which the `cron` crate reads
/// the same whatever its own numbering.
fn classic_weekdays(field: &str) -> Result<String, String> {
    const NAMES: [&str; 8] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let name = |s: &str| -> Result<String, String> {
        if s == "*" || s.chars().any(|c| c.is_ascii_alphabetic()) {
            return Ok(s.to_string());
        }
        let n: usize = s
            .parse()
            .map_err(|_| format!("invalid weekday `{s}` in `{field}`"))?;
        NAMES.get(n).map(|n| n.to_string()).ok_or_else(|| {
            format!("weekday {n} in `{field}` is out of range (0–7, 0 and 7 are Sunday)")
        })
    };
    let mut out = Vec::new();
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => (b, Some(s)),
            None => (item, None),
        };
        let base = match base.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (name(a)?, name(b)?);
                if b == "sun" && a != "sun" && step.is_none() {
                    // `5-7`: Friday to Sunday.
                    out.push("sun".to_string());
                    format!("{a}-sat")
                } else {
                    format!("{a}-{b}")
                }
            }
            None => name(base)?,
        };
        out.push(match step {
            Some(s) => format!("{base}/{s}"),
            None => base,
        });
    }
    Ok(out.join(","))
}

/// Compiles `schedules:` of one file.
pub(crate) fn compile(
    c: &mut dyn ActionEnv<'_>,
    node: &Node,
    names: &mut Sites,
) -> Vec<CronSchedule> {
    let Some(items) = c.cx().seq(node, "schedules") else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| schedule(c, item, &index("schedules", i), names))
        .collect()
}

fn schedule(
    c: &mut dyn ActionEnv<'_>,
    node: &Node,
    path: &str,
    names: &mut Sites,
) -> Option<CronSchedule> {
    let f = c.cx().map(node, path, SCHEDULE_KEYS)?;
    let name = match f.get("name") {
        Some(n) => c.cx().nonempty_text(n, &join(path, "name")),
        None => {
            c.cx().missing(&f, path, "name");
            None
        }
    };
    if let (Some(name), Some(n)) = (&name, f.get("name")) {
        names.claim(c.cx(), "schedule", name, n.pos, &join(path, "name"));
    }
    c.set_rule_name(format!("schedule {}", name.as_deref().unwrap_or(path)));
    if let Some(d) = f.get("description") {
        c.cx().text(d, &join(path, "description"));
    }
    let cron = match f.get("cron") {
        Some(n) => {
            let p = join(path, "cron");
            c.cx()
                .nonempty_text(n, &p)
                .and_then(|text| match parse_cron(&text) {
                    Ok(s) => Some((text, s)),
                    Err(e) => {
                        c.cx().error(n.pos, &p, e);
                        None
                    }
                })
        }
        None => {
            c.cx().missing(&f, path, "cron");
            None
        }
    };
    let timezone = match f.get("timezone") {
        Some(n) => crate::time::decode::timezone(c.cx(), n, &join(path, "timezone")),
        None => Some(Tz::UTC),
    };
    let for_each = match f.get("for_each") {
        Some(n) => for_each(c, n, &join(path, "for_each")).map(Some),
        None => Some(None),
    };
    let then = match f.get("then") {
        Some(t) => action::compile_list(c, t, &join(path, "then")),
        None => {
            c.cx().missing(&f, path, "then");
            None
        }
    };
    let missed = match f.get("missed") {
        Some(n) => {
            let p = join(path, "missed");
            match c.cx().text(n, &p) {
                Some(t) if t == "run_once" => Some(Missed::RunOnce),
                Some(t) if t == "skip" => Some(Missed::Skip),
                Some(t) => {
                    let hint = did_you_mean(&t, MISSED.iter().copied());
                    let hint = if hint.is_empty() {
                        " (expected run_once or skip)".to_string()
                    } else {
                        hint
                    };
                    c.cx()
                        .error(n.pos, &p, format!("unknown value `{t}`{hint}"));
                    None
                }
                None => None,
            }
        }
        None => Some(Missed::RunOnce),
    };
    let enabled = match f.get("enabled") {
        Some(n) => c.cx().boolean(n, &join(path, "enabled")),
        None => Some(true),
    };
    let (expression, cron) = cron?;
    Some(CronSchedule {
        name: name?,
        expression,
        cron,
        timezone: timezone?,
        for_each: for_each?,
        then: then?,
        missed: missed?,
        enabled: enabled?,
        pos: node.pos,
    })
}

fn for_each(c: &mut dyn ActionEnv<'_>, node: &Node, path: &str) -> Option<ForEach> {
    let f = c.cx().map(node, path, FOR_EACH_KEYS)?;
    if f.len() == 0 {
        if matches!(&node.kind, Kind::Map(p) if p.is_empty()) {
            c.cx().error(
                node.pos,
                path,
                "needs `status` or `idle_for`; leave `for_each` out to run once per occurrence",
            );
        }
        return None;
    }
    let mut statuses = Vec::new();
    let mut ok = true;
    if let Some(s) = f.get("status") {
        let p = join(path, "status");
        let single = !matches!(s.kind, Kind::Seq(_));
        for (i, item) in c.cx().list(s).into_iter().enumerate() {
            let ip = if single { p.clone() } else { index(&p, i) };
            match c.cx().named::<Status>(item, &ip, "status") {
                Some(st) => statuses.push(st),
                None => ok = false,
            }
        }
    }
    let idle_for = match f.get("idle_for") {
        Some(n) => {
            let p = join(path, "idle_for");
            match c.cx().text(n, &p).map(|t| parse_duration(&t)) {
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    c.cx().error(n.pos, &p, e);
                    ok = false;
                    None
                }
                None => {
                    ok = false;
                    None
                }
            }
        }
        None => None,
    };
    ok.then_some(ForEach { statuses, idle_for })
}

/// The names of the statuses, for store queries.
pub fn status_names(statuses: &[Status]) -> Vec<String> {
    statuses.iter().map(|s| s.name().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(expr: &str, tz: &str) -> CronSchedule {
        CronSchedule {
            name: "s".into(),
            expression: expr.into(),
            cron: parse_cron(expr).unwrap(),
            timezone: tz.parse().unwrap(),
            for_each: None,
            then: Vec::new(),
            missed: Missed::RunOnce,
            enabled: true,
            pos: Pos::default(),
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn five_fields_read_like_classic_cron() {
        // Monday 23 November 2026; 1 is Monday, 0 and 7 Sunday.
        let cases = [
            ("0 2 * * *", "2026-11-24T02:00:00Z"),
            ("30 9 * * 1", "2026-11-30T09:30:00Z"),
            ("0 9 * * 0", "2026-11-29T09:00:00Z"),
            ("0 9 * * 7", "2026-11-29T09:00:00Z"),
            ("0 9 * * 5-7", "2026-11-27T09:00:00Z"),
            ("0 9 * * mon-fri", "2026-11-24T09:00:00Z"),
            ("0 0 1 * *", "2026-12-01T00:00:00Z"),
            ("0 30 9 * * Mon", "2026-11-30T09:30:00Z"),
        ];
        for (expr, want) in cases {
            let s = sched(expr, "UTC");
            assert_eq!(
                s.after(t("2026-11-23T10:00:00Z")).next(),
                Some(t(want)),
                "{expr}"
            );
        }
        let weekend: Vec<_> = sched("0 9 * * 5-7", "UTC")
            .after(t("2026-11-23T10:00:00Z"))
            .take(4)
            .collect();
        assert_eq!(
            weekend,
            [
                t("2026-11-27T09:00:00Z"),
                t("2026-11-28T09:00:00Z"),
                t("2026-11-29T09:00:00Z"),
                t("2026-12-04T09:00:00Z")
            ]
        );
        for bad in [
            "0 2 * *",
            "0 2 * * 8",
            "61 2 * * *",
            "0 2 * * * * * *",
            "every day",
        ] {
            assert!(parse_cron(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_times_across_daylight_saving_changes() {
        let s = sched("0 2 * * *", "Europe/Oslo");
        let got: Vec<_> = s.after(t("2026-03-27T12:00:00Z")).take(3).collect();
        // 28 March 02:00 is +01:00; on the 29th 02:00 does not exist (03:00 is the jump, 01:00
        // UTC); on the 30th it is +02:00.
        assert_eq!(
            got,
            [
                t("2026-03-28T01:00:00Z"),
                t("2026-03-29T01:00:00Z"),
                t("2026-03-30T00:00:00Z")
            ]
        );
        // 25 October: 02:30 happens twice; it runs once, at the first.
        let s = sched("30 2 * * *", "Europe/Oslo");
        let got: Vec<_> = s.after(t("2026-10-24T12:00:00Z")).take(2).collect();
        assert_eq!(got, [t("2026-10-25T00:30:00Z"), t("2026-10-26T01:30:00Z")]);
        // Just after the first 02:30 the next is the day after, not the repeated hour.
        assert_eq!(
            s.after(t("2026-10-25T00:30:00Z")).next(),
            Some(t("2026-10-26T01:30:00Z"))
        );
    }

    #[test]
    fn the_latest_missed_occurrence() {
        let s = sched("0 2 * * *", "UTC");
        let (latest, n) = s
            .latest(t("2026-11-20T02:00:00Z"), t("2026-11-23T10:00:00Z"), 1000)
            .unwrap();
        assert_eq!((latest, n), (t("2026-11-23T02:00:00Z"), 3));
        assert_eq!(
            s.latest(t("2026-11-23T02:00:00Z"), t("2026-11-23T10:00:00Z"), 1000),
            None
        );
        let every_second = sched("* * * * * *", "UTC");
        let (latest, _) = every_second
            .latest(t("2026-01-01T00:00:00Z"), t("2026-11-23T10:00:00Z"), 100)
            .unwrap();
        assert_eq!(latest, t("2026-11-23T10:00:00Z"));
    }
}
