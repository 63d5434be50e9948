//! Holidays: single dates, date ranges, and yearly holidays (from iCalendar `RRULE:FREQ=YEARLY`).

use chrono::{Datelike, Duration, NaiveDate};

/// Longest date range a calendar accepts as one holiday entry.
pub const MAX_RANGE_DAYS: i64 = 366;

/// A holiday that comes back every `interval` years on the same month and day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yearly {
    /// The first occurrence.
    pub first: NaiveDate,
    /// How many days each occurrence lasts (at least 1).
    pub days: u32,
    /// Every how many years (at least 1).
    pub interval: u32,
    /// No occurrence starts after this date.
    pub until: Option<NaiveDate>,
    /// At most this many occurrences.
    pub count: Option<u32>,
}

impl Yearly {
    /// Whether an occurrence starting in `year` exists (Feb 29 only in leap years, as RFC 5545
    /// skips invalid dates).
    fn start_in(&self, year: i32) -> Option<NaiveDate> {
        let first_year = self.first.year();
        if year < first_year || (year - first_year) % self.interval as i32 != 0 {
            return None;
        }
        let nth = ((year - first_year) / self.interval as i32) as u32;
        if self.count.is_some_and(|c| nth >= c) {
            return None;
        }
        let start = NaiveDate::from_ymd_opt(year, self.first.month(), self.first.day())?;
        if self.until.is_some_and(|u| start > u) {
            return None;
        }
        Some(start)
    }

    fn covers(&self, date: NaiveDate) -> bool {
        // An occurrence lasts at most a year, so it started this year or the year before.
        [date.year(), date.year() - 1].into_iter().any(|y| {
            self.start_in(y)
                .is_some_and(|s| s <= date && date < s + Duration::days(self.days.into()))
        })
    }
}

/// The days a calendar is closed on top of its weekly pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holidays {
    /// Single dates (ranges expanded), sorted, without duplicates.
    dates: Vec<NaiveDate>,
    yearly: Vec<Yearly>,
}

impl Holidays {
    /// Adds one date.
    pub fn add_date(&mut self, date: NaiveDate) {
        if let Err(i) = self.dates.binary_search(&date) {
            self.dates.insert(i, date);
        }
    }

    /// Adds every date from `from` to `to`, both included.
    pub fn add_range(&mut self, from: NaiveDate, to: NaiveDate) -> Result<(), String> {
        if to < from {
            return Err(format!("the range ends ({to}) before it starts ({from})"));
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS {
            return Err(format!(
                "the range {from}..{to} is longer than {MAX_RANGE_DAYS} days"
            ));
        }
        let mut d = from;
        while d <= to {
            self.add_date(d);
            d = d.succ_opt().ok_or("date out of range")?;
        }
        Ok(())
    }

    /// Adds a yearly holiday.
    pub fn add_yearly(&mut self, y: Yearly) {
        self.yearly.push(y);
    }

    /// Whether `date` is a holiday.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.dates.binary_search(&date).is_ok() || self.yearly.iter().any(|y| y.covers(date))
    }

    /// How many single dates and yearly rules.
    pub fn len(&self) -> usize {
        self.dates.len() + self.yearly.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date; write `YYYY-MM-DD`, e.g. `2026-12-24`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn dates_ranges_and_yearly() {
        let mut h = Holidays::default();
        h.add_date(d("2026-05-17"));
        h.add_range(d("2026-12-24"), d("2027-01-01")).unwrap();
        h.add_yearly(Yearly {
            first: d("2020-02-29"),
            days: 1,
            interval: 1,
            until: None,
            count: None,
        });
        h.add_yearly(Yearly {
            first: d("2025-12-31"),
            days: 2,
            interval: 1,
            until: Some(d("2026-12-31")),
            count: None,
        });
        assert!(h.contains(d("2026-05-17")) && !h.contains(d("2027-05-17")));
        assert!(h.contains(d("2026-12-24")) && h.contains(d("2027-01-01")));
        assert!(!h.contains(d("2027-01-02")) || h.contains(d("2027-01-01")));
        assert!(h.contains(d("2024-02-29")) && !h.contains(d("2019-02-28")));
        assert!(h.contains(d("2026-01-01")), "spans the year end");
        assert!(!h.contains(d("2028-01-01")), "until stops it");
        assert!(h.add_range(d("2026-02-02"), d("2026-02-01")).is_err());
        assert!(parse_date("2026-02-30").is_err());
    }
}
