//! Opening hours: time windows (`08:00-16:00`, overnight `22:00-06:00`) and the weekly pattern
//! they make (`mon-fri: [...]`, `sat: [...]`).

use std::fmt;

use chrono::Weekday;

/// Seconds in a day.
pub const DAY: u32 = 86_400;

/// One opening window of a day, in local wall-clock seconds from midnight. `end` is after
/// `start`; an overnight window (`22:00-06:00`) ends after midnight, so `end > DAY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    /// Opening time, seconds after local midnight (`0..DAY`).
    pub start: u32,
    /// Closing time, seconds after the same midnight (`start < end < start + DAY`, at most `2 * DAY`).
    pub end: u32,
}

impl Window {
    /// Parses `HH:MM-HH:MM`. `24:00` may close a day; a closing time before the opening time
    /// means the window runs past midnight.
    pub fn parse(text: &str) -> Result<Window, String> {
        let t = text.trim();
        let Some((a, b)) = t.split_once('-') else {
            return Err(format!(
                "`{t}` is not a time window; write it like `08:00-16:00`"
            ));
        };
        let start = parse_clock(a.trim())?;
        let end = parse_clock(b.trim())?;
        if start == DAY {
            return Err(format!(
                "`{t}`: a window cannot open at 24:00; write `00:00`"
            ));
        }
        if start == end {
            return Err(format!("`{t}` opens and closes at the same time"));
        }
        let end = if end < start { end + DAY } else { end };
        Ok(Window { start, end })
    }

    /// Whether it runs past midnight.
    pub fn overnight(&self) -> bool {
        self.end > DAY
    }

    /// Seconds it is open.
    pub fn len(&self) -> u32 {
        self.end - self.start
    }

    /// Always false: a window has a length.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |s: u32| {
            let s = if s > DAY { s - DAY } else { s };
            format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
        };
        write!(f, "{}-{}", hm(self.start), hm(self.end))
    }
}

/// Parses `HH:MM` (00:00 to 24:00) into seconds after midnight.
pub fn parse_clock(text: &str) -> Result<u32, String> {
    let bad =
        || format!("`{text}` is not a time of day; write 24-hour `HH:MM`, e.g. `08:00` or `16:30`");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if h > 24 || m > 59 || (h == 24 && m != 0) {
        return Err(format!(
            "`{text}` is not a time of day: hours go from 00 to 23 (24:00 closes a day), minutes from 00 to 59"
        ));
    }
    Ok(h * 3600 + m * 60)
}

/// Sorts windows and reports the first pair that overlaps.
pub fn sort_windows(windows: &mut [Window]) -> Result<(), String> {
    windows.sort();
    for pair in windows.windows(2) {
        if pair[1].start < pair[0].end {
            return Err(format!("windows `{}` and `{}` overlap", pair[0], pair[1]));
        }
    }
    Ok(())
}

/// Weekday names as written in calendars, Monday first.
pub const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LONG: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Names accepted for weekdays, for "did you mean".
pub fn weekday_names() -> impl Iterator<Item = &'static str> {
    WEEKDAYS.iter().chain(LONG).copied()
}

fn weekday(name: &str) -> Option<usize> {
    let l = name.trim().to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .position(|d| *d == l)
        .or_else(|| LONG.iter().position(|d| *d == l))
}

/// Parses a day key: `mon`, `monday`, `mon-fri`, `sat,sun`, `fri-mon` (wrapping). Returns the
/// days (0 = Monday), or the part that is not a day.
pub fn parse_days(key: &str) -> Result<Vec<usize>, String> {
    let mut days = Vec::new();
    for part in key.split(',') {
        let part = part.trim();
        if let Some((a, b)) = part.split_once('-') {
            let a = weekday(a).ok_or_else(|| a.trim().to_string())?;
            let b = weekday(b).ok_or_else(|| b.trim().to_string())?;
            let mut d = a;
            loop {
                days.push(d);
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        } else {
            days.push(weekday(part).ok_or_else(|| part.to_string())?);
        }
    }
    Ok(days)
}

/// The weekly pattern: windows for each weekday, Monday first, sorted and not overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeekHours {
    days: [Vec<Window>; 7],
}

impl WeekHours {
    /// Sets a weekday's windows (they are sorted; overlapping ones are an error).
    pub fn set(&mut self, day: Weekday, mut windows: Vec<Window>) -> Result<(), String> {
        sort_windows(&mut windows)?;
        self.days[day.num_days_from_monday() as usize] = windows;
        Ok(())
    }

    /// A weekday's windows.
    pub fn get(&self, day: Weekday) -> &[Window] {
        &self.days[day.num_days_from_monday() as usize]
    }

    /// Whether no day has a window.
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// Overnight windows that run into the next day's windows, as messages.
    pub fn overnight_overlaps(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (d, windows) in self.days.iter().enumerate() {
            let next = (d + 1) % 7;
            for w in windows.iter().filter(|w| w.overnight()) {
                if let Some(n) = self.days[next].iter().find(|n| n.start + DAY < w.end) {
                    out.push(format!(
                        "`{}` on {} runs into `{}` on {}",
                        w, WEEKDAYS[d], n, WEEKDAYS[next]
                    ));
                }
            }
        }
        out
    }

    /// Business seconds in a week without holidays.
    pub fn weekly_seconds(&self) -> u64 {
        self.days.iter().flatten().map(|w| u64::from(w.len())).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(
            Window::parse("08:00-16:30"),
            Ok(Window {
                start: 8 * 3600,
                end: 16 * 3600 + 1800
            })
        );
        let night = Window::parse("22:00-06:00").unwrap();
        assert!(night.overnight());
        assert_eq!(night.len(), 8 * 3600);
        assert_eq!(night.to_string(), "22:00-06:00");
        assert_eq!(Window::parse("00:00-24:00").unwrap().len(), DAY);
        for bad in [
            "25:00-26:00",
            "8-16",
            "08:00",
            "08:60-09:00",
            "24:00-02:00",
            "10:00-10:00",
            "24:30-01:00",
            "ab:cd-01:00",
        ] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
        assert!(Window::parse("25:00-26:00")
            .unwrap_err()
            .contains("hours go from 00 to 23"));
    }

    #[test]
    fn days() {
        assert_eq!(parse_days("mon-fri"), Ok(vec![0, 1, 2, 3, 4]));
        assert_eq!(parse_days("sat, sun"), Ok(vec![5, 6]));
        assert_eq!(parse_days("fri-mon"), Ok(vec![4, 5, 6, 0]));
        assert_eq!(parse_days("Sunday"), Ok(vec![6]));
        assert_eq!(parse_days("mon-fry"), Err("fry".into()));
    }

    #[test]
    fn overlaps() {
        let mut w = vec![
            Window::parse("12:00-16:00").unwrap(),
            Window::parse("08:00-12:30").unwrap(),
        ];
        assert!(sort_windows(&mut w).unwrap_err().contains("overlap"));
        let mut week = WeekHours::default();
        week.set(Weekday::Sun, vec![Window::parse("22:00-06:00").unwrap()])
            .unwrap();
        week.set(Weekday::Mon, vec![Window::parse("05:00-10:00").unwrap()])
            .unwrap();
        assert_eq!(
            week.overnight_overlaps(),
            ["`22:00-06:00` on sun runs into `05:00-10:00` on mon"]
        );
    }
}
