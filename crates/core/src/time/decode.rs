//! `calendars:` in rule files, read with full diagnostics into [`Calendar`]s.
//!
//! ```yaml
//! calendars:
//!   oslo:
//!     timezone: Europe/Oslo
//!     hours: { mon-fri: ["08:00-11:30", "12:00-16:00"], sat: "10:00-14:00" }
//!     holidays: ["2026-12-24", "2026-12-27..2026-12-31", { ical: holidays/no.ics }]
//!     special_days: { "2026-12-23": ["08:00-12:00"] }
//! ```

use std::path::Path;
use std::str::FromStr;

use chrono::{NaiveDate, Weekday};
use chrono_tz::{Tz, TZ_VARIANTS};

use super::calendar::Calendar;
use super::holidays::{parse_date, Holidays};
use super::hours::{parse_days, sort_windows, weekday_names, WeekHours, Window, WEEKDAYS};
use super::ical;
use crate::syntax::decode::{index, join, Cx};
use crate::syntax::diag::{did_you_mean, suggest};
use crate::syntax::yaml::{Kind, Node, Pos};

/// Keys of one calendar.
pub const CALENDAR_KEYS: &[&str] = &["timezone", "hours", "holidays", "special_days"];
/// Keys of a holiday written as a mapping.
pub const HOLIDAY_KEYS: &[&str] = &["date", "from", "to", "ical", "name"];

/// Reads a time zone name, suggesting the nearest IANA name on a typo.
pub(crate) fn timezone(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<Tz> {
    let name = cx.nonempty_text(node, path)?;
    if let Ok(tz) = Tz::from_str(name.trim()) {
        return Some(tz);
    }
    let names = TZ_VARIANTS.iter().map(|t| t.name());
    // A city alone (`Oslo`) names its zone's last part.
    let city = TZ_VARIANTS.iter().map(|t| t.name()).find(|n| {
        n.rsplit('/')
            .next()
            .is_some_and(|c| c.eq_ignore_ascii_case(&name))
    });
    let hint = match city.or_else(|| suggest(&name, names)) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => " (write an IANA name such as `Europe/Oslo` or `America/New_York`)".into(),
    };
    cx.error(node.pos, path, format!("unknown time zone `{name}`{hint}"));
    None
}

fn windows(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<Vec<Window>> {
    let single = !matches!(node.kind, Kind::Seq(_));
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in cx.list(node).into_iter().enumerate() {
        let p = if single {
            path.to_string()
        } else {
            index(path, i)
        };
        let Some(text) = cx.text(item, &p) else {
            ok = false;
            continue;
        };
        match Window::parse(&text) {
            Ok(w) => out.push(w),
            Err(e) => {
                cx.error(item.pos, &p, e);
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    if let Err(e) = sort_windows(&mut out) {
        cx.error(node.pos, path, e);
        return None;
    }
    Some(out)
}

fn week(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<WeekHours> {
    let Kind::Map(pairs) = &node.kind else {
        cx.expected(
            node,
            path,
            "a mapping of days to windows, e.g. `{ mon-fri: [\"08:00-16:00\"] }`",
        );
        return None;
    };
    let mut days: [Option<(Vec<Window>, String)>; 7] = Default::default();
    let mut ok = true;
    for (k, v) in pairs {
        let Some(key) = cx.nonempty_text(k, path) else {
            ok = false;
            continue;
        };
        let p = join(path, &key);
        let list = match parse_days(&key) {
            Ok(list) => list,
            Err(bad) => {
                let hint = did_you_mean(&bad, weekday_names());
                let hint = if hint.is_empty() {
                    " (write `mon`..`sun`, a range such as `mon-fri`, or a list such as `sat,sun`)"
                        .to_string()
                } else {
                    hint
                };
                cx.error(k.pos, &p, format!("unknown weekday `{bad}`{hint}"));
                ok = false;
                continue;
            }
        };
        let Some(ws) = windows(cx, v, &p) else {
            ok = false;
            continue;
        };
        for d in list {
            if let Some((_, first)) = &days[d] {
                cx.error(
                    k.pos,
                    &p,
                    format!("{} already has hours (from `{first}`)", WEEKDAYS[d]),
                );
                ok = false;
            } else {
                days[d] = Some((ws.clone(), key.clone()));
            }
        }
    }
    if !ok {
        return None;
    }
    let mut week = WeekHours::default();
    let all = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    for (d, entry) in days.into_iter().enumerate() {
        if let Some((ws, _)) = entry {
            week.set(all[d], ws)
                .expect("windows are sorted and checked");
        }
    }
    let overlaps = week.overnight_overlaps();
    for o in &overlaps {
        cx.error(node.pos, path, format!("overlapping windows: {o}"));
    }
    if week.is_empty() {
        cx.error(
            node.pos,
            path,
            "a calendar needs opening hours on at least one weekday",
        );
        return None;
    }
    overlaps.is_empty().then_some(week)
}

fn date(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<NaiveDate> {
    let text = cx.nonempty_text(node, path)?;
    match parse_date(&text) {
        Ok(d) => Some(d),
        Err(e) => {
            cx.error(node.pos, path, e);
            None
        }
    }
}

fn holiday(cx: &mut Cx<'_>, node: &Node, path: &str, out: &mut Holidays) -> bool {
    if let Kind::Str(text) = &node.kind {
        if let Some((a, b)) = text.split_once("..") {
            let (a, b) = match (parse_date(a), parse_date(b)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    cx.error(node.pos, path, e);
                    return false;
                }
            };
            return match out.add_range(a, b) {
                Ok(()) => true,
                Err(e) => {
                    cx.error(node.pos, path, e);
                    false
                }
            };
        }
        return match date(cx, node, path) {
            Some(d) => {
                out.add_date(d);
                true
            }
            None => false,
        };
    }
    let Some(f) = cx.map(node, path, HOLIDAY_KEYS) else {
        return false;
    };
    if let Some(n) = f.get("name") {
        cx.text(n, &join(path, "name"));
    }
    match (f.get("date"), f.get("from"), f.get("to"), f.get("ical")) {
        (Some(d), None, None, None) => match date(cx, d, &join(path, "date")) {
            Some(d) => {
                out.add_date(d);
                true
            }
            None => false,
        },
        (None, Some(a), Some(b), None) => {
            let a = date(cx, a, &join(path, "from"));
            let b = date(cx, b, &join(path, "to"));
            let (Some(a), Some(b)) = (a, b) else {
                return false;
            };
            match out.add_range(a, b) {
                Ok(()) => true,
                Err(e) => {
                    cx.error(node.pos, path, e);
                    false
                }
            }
        }
        (None, None, None, Some(file)) => ical_file(cx, file, &join(path, "ical"), out),
        _ => {
            cx.error(
                node.pos,
                path,
                "a holiday is a date, a range (`from` and `to`), or `ical: FILE`",
            );
            false
        }
    }
}

fn ical_file(cx: &mut Cx<'_>, node: &Node, path: &str, out: &mut Holidays) -> bool {
    let Some(rel) = cx.nonempty_text(node, path) else {
        return false;
    };
    let base = cx.file.parent().unwrap_or(Path::new("."));
    let full = base.join(&rel);
    let text = match std::fs::read(&full) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                cx.error(
                    node.pos,
                    path,
                    format!("`{}` is not UTF-8 text", full.display()),
                );
                return false;
            }
        },
        Err(e) => {
            cx.error(
                node.pos,
                path,
                format!("cannot read iCalendar file `{}`: {e}", full.display()),
            );
            return false;
        }
    };
    match ical::parse(&text, out) {
        Ok(_) => true,
        Err(e) => {
            let mut ics = Cx {
                file: &full,
                diags: &mut *cx.diags,
            };
            ics.error(
                Pos {
                    line: e.line,
                    col: 1,
                },
                "",
                format!("{} (used by {path})", e.message),
            );
            false
        }
    }
}

fn special_days(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<Vec<(NaiveDate, Vec<Window>)>> {
    let Kind::Map(pairs) = &node.kind else {
        cx.expected(
            node,
            path,
            "a mapping of dates to windows, e.g. `{ \"2026-12-23\": [\"08:00-12:00\"] }`",
        );
        return None;
    };
    let mut out: Vec<(NaiveDate, Vec<Window>)> = Vec::new();
    let mut ok = true;
    for (k, v) in pairs {
        let Some(key) = cx.nonempty_text(k, path) else {
            ok = false;
            continue;
        };
        let p = join(path, &key);
        let d = match parse_date(&key) {
            Ok(d) => d,
            Err(e) => {
                cx.error(k.pos, &p, e);
                ok = false;
                continue;
            }
        };
        if out.iter().any(|(x, _)| *x == d) {
            cx.error(k.pos, &p, format!("{d} is given twice"));
            ok = false;
            continue;
        }
        let ws = if matches!(&v.kind, Kind::Seq(items) if items.is_empty()) {
            Some(Vec::new())
        } else {
            windows(cx, v, &p)
        };
        match ws {
            Some(ws) => out.push((d, ws)),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Reads one calendar.
pub(crate) fn calendar(cx: &mut Cx<'_>, name: &str, node: &Node, path: &str) -> Option<Calendar> {
    let f = cx.map(node, path, CALENDAR_KEYS)?;
    let tz = match f.get("timezone") {
        Some(t) => timezone(cx, t, &join(path, "timezone")),
        None => {
            cx.missing(&f, path, "timezone");
            None
        }
    };
    let week = match f.get("hours") {
        Some(h) => week(cx, h, &join(path, "hours")),
        None => {
            cx.missing(&f, path, "hours");
            None
        }
    };
    let mut holidays = Holidays::default();
    let mut ok = true;
    if let Some(h) = f.get("holidays") {
        let hp = join(path, "holidays");
        match cx.seq(h, &hp) {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    ok &= holiday(cx, item, &index(&hp, i), &mut holidays);
                }
            }
            None => ok = false,
        }
    }
    let special = match f.get("special_days") {
        Some(s) => special_days(cx, s, &join(path, "special_days")),
        None => Some(Vec::new()),
    };
    let (tz, week, special) = (tz?, week?, special?);
    if !ok {
        return None;
    }
    let mut cal = Calendar::new(name, tz)
        .with_week(week)
        .with_holidays(holidays);
    for (d, ws) in special {
        cal = cal.with_special(d, ws).expect("windows are checked");
    }
    Some(cal)
}
