//! Just enough iCalendar (RFC 5545) for holiday feeds: all-day `VEVENT`s (`DTSTART;VALUE=DATE`,
//! optional `DTEND` or `DURATION:PnD`), and yearly repetition (`RRULE:FREQ=YEARLY` with
//! `INTERVAL`, `COUNT`, `UNTIL`). Anything else that would change which days are holidays is
//! refused with its line number rather than silently misread.

use chrono::{Datelike, Duration, NaiveDate};

use super::holidays::{Holidays, Yearly, MAX_RANGE_DAYS};

/// A problem in an `.ics` file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsError {
    /// Line of the (first physical line of the) property.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// One all-day event as read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    line: u32,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    days: Option<u32>,
    rrule: Option<(u32, String)>,
}

/// Unfolds lines (RFC 5545 §3.1: a line starting with a space or tab continues the previous
/// one), keeping the line number where each logical line starts.
fn unfold(text: &str) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(rest);
                continue;
            }
        }
        out.push((i as u32 + 1, raw.to_string()));
    }
    out
}

fn err(line: u32, message: impl Into<String>) -> IcsError {
    IcsError {
        line,
        message: message.into(),
    }
}

/// Splits `NAME;PARAM=V:VALUE` into the upper-cased name, the parameters and the value.
fn property(line: &str) -> Option<(String, &str, &str)> {
    let colon = line.find(':')?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let (name, params) = match head.find(';') {
        Some(i) => (&head[..i], &head[i + 1..]),
        None => (head, ""),
    };
    Some((name.trim().to_ascii_uppercase(), params, value.trim()))
}

fn date_value(line: u32, name: &str, params: &str, value: &str) -> Result<NaiveDate, IcsError> {
    let is_date_param = params
        .split(';')
        .any(|p| p.eq_ignore_ascii_case("VALUE=DATE"));
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        let hint = if value.contains('T') && !is_date_param {
            "; only all-day events (`VALUE=DATE`, e.g. `20261224`) can be holidays"
        } else {
            ""
        };
        return Err(err(
            line,
            format!("{name} `{value}` is not a date (YYYYMMDD){hint}"),
        ));
    }
    NaiveDate::parse_from_str(value, "%Y%m%d")
        .map_err(|_| err(line, format!("{name} `{value}` is not a valid date")))
}

fn duration_days(line: u32, value: &str) -> Result<u32, IcsError> {
    let bad = || {
        err(
            line,
            format!("DURATION `{value}`: only whole days or weeks (`P1D`, `P2W`) are supported"),
        )
    };
    let v = value.strip_prefix('+').unwrap_or(value);
    let body = v.strip_prefix('P').ok_or_else(bad)?;
    let (num, unit) = body.split_at(body.len().saturating_sub(1));
    let n: u32 = num.parse().map_err(|_| bad())?;
    match unit {
        "D" => Ok(n),
        "W" => Ok(n * 7),
        _ => Err(bad()),
    }
}

fn apply_rrule(line: u32, rule: &str, start: NaiveDate, days: u32) -> Result<Yearly, IcsError> {
    let mut freq = None;
    let mut yearly = Yearly {
        first: start,
        days,
        interval: 1,
        until: None,
        count: None,
    };
    for part in rule.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| err(line, format!("RRULE part `{part}` has no `=`")))?;
        let number = |what: &str| {
            v.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| err(line, format!("RRULE {what} `{v}` is not a positive number")))
        };
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => freq = Some(v.to_ascii_uppercase()),
            "INTERVAL" => yearly.interval = number("INTERVAL")?,
            "COUNT" => yearly.count = Some(number("COUNT")?),
            "UNTIL" => {
                let date = v.get(..8).unwrap_or(v);
                yearly.until = Some(date_value(line, "UNTIL", "", date)?);
            }
            // Redundant parts that some exporters write: accepted when they repeat DTSTART.
            "BYMONTH" if v.parse::<u32>().ok() == Some(start.month()) => {}
            "BYMONTHDAY" if v.parse::<u32>().ok() == Some(start.day()) => {}
            "WKST" => {}
            other => {
                return Err(err(
                    line,
                    format!("RRULE part `{other}={v}` is not supported; holidays repeat with FREQ=YEARLY on the date of DTSTART (list moving holidays such as Easter as dates)"),
                ))
            }
        }
    }
    match freq.as_deref() {
        Some("YEARLY") => Ok(yearly),
        Some(f) => Err(err(
            line,
            format!("RRULE FREQ={f} is not supported; only FREQ=YEARLY"),
        )),
        None => Err(err(line, "RRULE has no FREQ")),
    }
}

fn finish(ev: Event, out: &mut Holidays) -> Result<(), IcsError> {
    let start = ev
        .start
        .ok_or_else(|| err(ev.line, "VEVENT has no DTSTART"))?;
    let days = match (ev.end, ev.days) {
        (Some(end), None) => {
            let n = (end - start).num_days();
            if n <= 0 {
                return Err(err(
                    ev.line,
                    format!("VEVENT ends ({end}) before it starts ({start})"),
                ));
            }
            n as u32
        }
        (None, Some(d)) if d > 0 => d,
        (None, Some(_)) => return Err(err(ev.line, "VEVENT has a zero DURATION")),
        (None, None) => 1,
        (Some(_), Some(_)) => {
            return Err(err(ev.line, "VEVENT has both DTEND and DURATION"));
        }
    };
    if i64::from(days) > MAX_RANGE_DAYS {
        return Err(err(
            ev.line,
            format!("VEVENT lasts {days} days; at most {MAX_RANGE_DAYS}"),
        ));
    }
    match ev.rrule {
        Some((line, rule)) => out.add_yearly(apply_rrule(line, &rule, start, days)?),
        None => {
            let last = start + Duration::days(i64::from(days) - 1);
            out.add_range(start, last).map_err(|m| err(ev.line, m))?;
        }
    }
    Ok(())
}

/// Reads the holidays of an `.ics` text into `out`. Stops at the first problem.
pub fn parse(text: &str, out: &mut Holidays) -> Result<usize, IcsError> {
    let lines = unfold(text);
    let first = lines.iter().find(|(_, l)| !l.trim().is_empty());
    if !first.is_some_and(|(_, l)| l.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR")) {
        return Err(err(
            first.map_or(1, |f| f.0),
            "not an iCalendar file: it must start with BEGIN:VCALENDAR",
        ));
    }
    let mut current: Option<Event> = None;
    let mut depth: Vec<String> = Vec::new();
    let mut events = 0;
    for (line, text) in &lines {
        let line = *line;
        if text.trim().is_empty() {
            continue;
        }
        let Some((name, params, value)) = property(text) else {
            return Err(err(
                line,
                format!("`{text}` is not an iCalendar property (NAME:VALUE)"),
            ));
        };
        match name.as_str() {
            "BEGIN" => {
                let what = value.to_ascii_uppercase();
                if what == "VEVENT" {
                    if current.is_some() {
                        return Err(err(line, "BEGIN:VEVENT inside another VEVENT"));
                    }
                    current = Some(Event {
                        line,
                        start: None,
                        end: None,
                        days: None,
                        rrule: None,
                    });
                }
                depth.push(what);
            }
            "END" => {
                let what = value.to_ascii_uppercase();
                if depth.pop().as_deref() != Some(what.as_str()) {
                    return Err(err(line, format!("END:{value} without a matching BEGIN")));
                }
                if what == "VEVENT" {
                    let ev = current.take().expect("BEGIN:VEVENT was seen");
                    finish(ev, out)?;
                    events += 1;
                }
            }
            _ if depth.last().map(String::as_str) != Some("VEVENT") => {}
            "DTSTART" => {
                current.as_mut().expect("in a VEVENT").start =
                    Some(date_value(line, "DTSTART", params, value)?)
            }
            "DTEND" => {
                current.as_mut().expect("in a VEVENT").end =
                    Some(date_value(line, "DTEND", params, value)?)
            }
            "DURATION" => {
                current.as_mut().expect("in a VEVENT").days = Some(duration_days(line, value)?)
            }
            "RRULE" => {
                let ev = current.as_mut().expect("in a VEVENT");
                if ev.rrule.is_some() {
                    return Err(err(line, "VEVENT has more than one RRULE"));
                }
                ev.rrule = Some((line, value.to_string()));
            }
            "RDATE" | "EXDATE" | "EXRULE" => {
                return Err(err(
                    line,
                    format!("{name} is not supported; write each holiday as its own VEVENT"),
                ))
            }
            _ => {}
        }
    }
    if let Some(open) = depth.last() {
        let last = lines.last().map_or(1, |l| l.0);
        return Err(err(last, format!("BEGIN:{open} is never closed")));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::holidays::parse_date;

    const FEED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//holidays//EN\r\n\
BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20260517\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:Constitution\r\n  Day\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260402\r\nDTEND;VALUE=DATE:20260407\r\nSUMMARY:Easter\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nDURATION:P3D\r\nRRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24;COUNT=2\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn reads_all_day_events_and_yearly_rules() {
        let mut h = Holidays::default();
        assert_eq!(parse(FEED, &mut h), Ok(3));
        for day in [
            "2026-05-17",
            "2031-05-17",
            "2026-04-02",
            "2026-04-06",
            "2027-12-26",
        ] {
            assert!(h.contains(parse_date(day).unwrap()), "{day}");
        }
        for day in ["2026-04-07", "2026-12-27", "2028-12-24", "2025-05-17"] {
            assert!(!h.contains(parse_date(day).unwrap()), "{day}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_with_the_line() {
        let cases = [
            ("hello", 1, "not an iCalendar file"),
            (
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260517T080000Z\nEND:VEVENT\nEND:VCALENDAR",
                3,
                "only all-day events",
            ),
            (
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260517\nRRULE:FREQ=MONTHLY\nEND:VEVENT\nEND:VCALENDAR",
                4,
                "FREQ=MONTHLY",
            ),
            (
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260517\nRRULE:FREQ=YEARLY;BYDAY=MO\nEND:VEVENT\nEND:VCALENDAR",
                4,
                "BYDAY=MO",
            ),
            (
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260230\nEND:VEVENT\nEND:VCALENDAR",
                3,
                "not a valid date",
            ),
            (
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR",
                2,
                "no DTSTART",
            ),
            ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260517\n", 3, "never closed"),
            ("BEGIN:VCALENDAR\nnonsense\nEND:VCALENDAR", 2, "not an iCalendar property"),
        ];
        for (text, line, msg) in cases {
            let e = parse(text, &mut Holidays::default()).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e:?}");
            assert!(e.message.contains(msg), "{text}: {e:?}");
        }
    }
}
