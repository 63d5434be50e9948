//! Business time: calendars, holidays, business-time arithmetic and the expected response.
//!
//! Everything here is pure: time is always an argument, and no function reads a clock.
//!
//! - [`hours`]: opening windows (`08:00-16:00`, overnight `22:00-06:00`) and the weekly pattern.
//! - [`holidays`]: dates, date ranges and yearly holidays.
//! - [`ical`]: the small part of iCalendar that holiday feeds use.
//! - [`calendar`]: [`Calendar`], its open intervals, and `is_open`, `next_open`, `add`,
//!   `add_days`, `business_duration`.
//! - [`expected`] and [`phrase`]: the moment an answer is due and how it reads in the
//!   customer's language.
//! - `decode`: `calendars:` in rule files, with diagnostics.

pub mod calendar;
pub(crate) mod decode;
pub mod expected;
pub mod holidays;
pub mod hours;
pub mod ical;
pub mod phrase;

pub use calendar::{BusinessSpan, Calendar};
pub use expected::{expected_response, Expected};
pub use phrase::Lang;

use chrono::Duration;

/// The calendars of a pack, by name.
#[derive(Debug, Default)]
pub struct Calendars {
    list: Vec<Calendar>,
}

impl Calendars {
    /// Adds a calendar; returns its index.
    pub fn push(&mut self, cal: Calendar) -> usize {
        self.list.push(cal);
        self.list.len() - 1
    }

    /// The index of a calendar by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|c| c.name() == name)
    }

    /// A calendar by name.
    pub fn get(&self, name: &str) -> Option<&Calendar> {
        self.list.iter().find(|c| c.name() == name)
    }

    /// The calendar at an index from [`Calendars::index_of`].
    pub fn at(&self, i: usize) -> &Calendar {
        &self.list[i]
    }

    /// Every name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(Calendar::name)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Parses a business duration: `4h`, `30m`, `2d`, `2 business days`, `4 business hours`,
/// `1 business day 4 hours`. Days are business days; hours, minutes and seconds are open time.
/// Weeks are refused (say how many business days).
pub fn parse_business(text: &str) -> Result<BusinessSpan, String> {
    let lower = text.trim().to_ascii_lowercase();
    let cleaned: String = lower
        .split_whitespace()
        .filter(|w| *w != "business")
        .collect::<Vec<_>>()
        .join(" ");
    let mut span = BusinessSpan::default();
    let mut rest = cleaned.as_str();
    let mut parts = 0;
    let bad = || {
        format!("invalid business duration `{text}`; write e.g. `4h`, `30m`, `2d`, `4 business hours` or `2 business days`")
    };
    while !rest.trim().is_empty() {
        rest = rest.trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u32 = rest[..digits]
            .parse()
            .map_err(|_| format!("number too large in `{text}`"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start_matches([',', ' ']);
        if let Some(r) = rest.strip_prefix("and ") {
            rest = r;
        }
        let secs = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => {
                span.days = span
                    .days
                    .checked_add(n)
                    .ok_or_else(|| format!("`{text}` is too long"))?;
                parts += 1;
                continue;
            }
            "w" | "week" | "weeks" => {
                return Err(format!(
                    "`{text}`: business weeks are ambiguous; write business days, e.g. `5 business days`"
                ))
            }
            "" => return Err(format!("`{text}` has a number without a unit (m, h, d)")),
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}` (use m, h or d)"
                ))
            }
        };
        span.time += Duration::seconds(i64::from(n) * secs);
        parts += 1;
    }
    if parts == 0 || (span.days == 0 && span.time <= Duration::zero()) {
        return Err(format!("business duration `{text}` must be more than zero"));
    }
    if span.days > 3650 || span.time > Duration::days(3650) {
        return Err(format!("`{text}` is too long"));
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_durations() {
        let ok = [
            ("4h", 0, 4 * 3600),
            ("30m", 0, 1800),
            ("2d", 2, 0),
            ("2 business days", 2, 0),
            ("4 business hours", 0, 4 * 3600),
            ("1 business day 4 hours", 1, 4 * 3600),
            ("90 business minutes", 0, 5400),
        ];
        for (text, days, secs) in ok {
            assert_eq!(
                parse_business(text),
                Ok(BusinessSpan {
                    days,
                    time: Duration::seconds(secs)
                }),
                "{text}"
            );
        }
        for bad in ["", "soon", "2", "1w", "0h", "business", "3 fortnights"] {
            assert!(parse_business(bad).is_err(), "{bad}");
        }
    }
}
