//! A business calendar and business-time arithmetic.
//!
//! A [`Calendar`] is a time zone, a weekly pattern of opening windows, holidays and special
//! days. From it come the open intervals in UTC ([`Calendar::intervals`]) and everything built
//! on them: [`Calendar::is_open`], [`Calendar::next_open`], [`Calendar::add`] and
//! [`Calendar::business_duration`]. Time is always an argument; nothing here reads a clock.
//!
//! Local times become instants like this:
//! - a window belongs to the day it opens on; a holiday closes the windows that open on it,
//!   including an overnight window's hours after midnight;
//! - a local time that occurs twice (clocks going back) means its first occurrence, as RFC 5545
//!   §3.3.5 says for DATE-TIME;
//! - a local time the clock skips (clocks going forward) means the moment the clock jumps, so
//!   a window opening in the skipped hour opens at the jump, and one closing in it closes then.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use super::holidays::Holidays;
use super::hours::{WeekHours, Window, DAY};

/// A span of business time: whole business days, then business hours/minutes/seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BusinessSpan {
    /// Business days: the same local time on the n-th following open day.
    pub days: u32,
    /// Open time to add after the days.
    pub time: Duration,
}

impl BusinessSpan {
    /// A span of open time.
    pub fn time(d: Duration) -> BusinessSpan {
        BusinessSpan { days: 0, time: d }
    }

    /// A number of business days.
    pub fn days(n: u32) -> BusinessSpan {
        BusinessSpan {
            days: n,
            time: Duration::zero(),
        }
    }
}

/// A closed interval of days counts as closed at most this long before a search gives up
/// (only a holiday list covering years can reach it).
const MAX_CLOSED_DAYS: u32 = 4000;

/// A named business calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    name: String,
    tz: Tz,
    week: WeekHours,
    holidays: Holidays,
    special: BTreeMap<NaiveDate, Vec<Window>>,
    /// The open intervals in UTC, a year at a time, computed when first read.
    years: Years,
}

/// The first year a calendar keeps in UTC once computed; see [`Years`].
const FIRST_KEPT_YEAR: i32 = 1970;
/// How many years from [`FIRST_KEPT_YEAR`] are kept (to 2199); days outside are computed
/// each time.
const KEPT_YEARS: usize = 230;

/// One local year of a calendar's open intervals in UTC, day by day.
#[derive(Debug)]
struct Year {
    /// The day of ordinal `d` (from 0) has `intervals[starts[d]..starts[d + 1]]`.
    starts: Vec<u32>,
    intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Year {
    fn of(cal: &Calendar, year: i32) -> Year {
        let mut starts = vec![0];
        let mut intervals = Vec::new();
        let mut date = NaiveDate::from_yo_opt(year, 1);
        while let Some(d) = date.filter(|d| d.year() == year) {
            intervals.extend(cal.day_in_utc(d));
            starts.push(intervals.len() as u32);
            date = d.succ_opt();
        }
        Year { starts, intervals }
    }

    fn day(&self, ordinal0: usize) -> &[(DateTime<Utc>, DateTime<Utc>)] {
        match (self.starts.get(ordinal0), self.starts.get(ordinal0 + 1)) {
            (Some(&a), Some(&b)) => &self.intervals[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// A calendar's years in UTC, each computed the first time a sum reads it (a lock-free read
/// after that). Turning local opening hours into instants is most of what business-time
/// arithmetic costs, and the same days come back in every decision. The years depend only on
/// the calendar, so keeping them changes no answer. They are never part of the calendar's
/// identity: a clone, or a calendar given other hours, starts with none, and all are equal.
struct Years(Box<[OnceLock<Year>]>);

impl Years {
    fn new() -> Years {
        Years((0..KEPT_YEARS).map(|_| OnceLock::new()).collect())
    }

    /// The kept table of `year` (`None` outside the kept years).
    fn get<'a>(&'a self, cal: &Calendar, year: i32) -> Option<&'a Year> {
        let slot = self.0.get(usize::try_from(year - FIRST_KEPT_YEAR).ok()?)?;
        Some(slot.get_or_init(|| Year::of(cal, year)))
    }
}

impl Clone for Years {
    fn clone(&self) -> Years {
        Years::new()
    }
}

impl PartialEq for Years {
    fn eq(&self, _: &Years) -> bool {
        true
    }
}

impl std::fmt::Debug for Years {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.iter().filter(|y| y.get().is_some()).count();
        write!(f, "Years({kept} kept)")
    }
}

impl Calendar {
    /// A calendar with no opening hours yet.
    pub fn new(name: impl Into<String>, tz: Tz) -> Calendar {
        Calendar {
            name: name.into(),
            tz,
            week: WeekHours::default(),
            holidays: Holidays::default(),
            special: BTreeMap::new(),
            years: Years::new(),
        }
    }

    /// Sets the weekly pattern.
    pub fn with_week(mut self, week: WeekHours) -> Calendar {
        self.week = week;
        self.years = Years::new();
        self
    }

    /// Sets the holidays.
    pub fn with_holidays(mut self, holidays: Holidays) -> Calendar {
        self.holidays = holidays;
        self.years = Years::new();
        self
    }

    /// Gives a date its own windows (none: closed), replacing the weekly pattern and any
    /// holiday on that date.
    pub fn with_special(
        mut self,
        date: NaiveDate,
        mut windows: Vec<Window>,
    ) -> Result<Calendar, String> {
        super::hours::sort_windows(&mut windows)?;
        self.special.insert(date, windows);
        self.years = Years::new();
        Ok(self)
    }

    /// The calendar's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The weekly pattern.
    pub fn week(&self) -> &WeekHours {
        &self.week
    }

    /// The windows that open on a local date.
    pub fn windows_on(&self, date: NaiveDate) -> &[Window] {
        if let Some(w) = self.special.get(&date) {
            return w;
        }
        if self.holidays.contains(date) {
            return &[];
        }
        self.week.get(date.weekday())
    }

    /// Whether a local date is a holiday (and not a special opening day).
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        !self.special.contains_key(&date) && self.holidays.contains(date)
    }

    /// The instant of a local date and time (`secs` may run past midnight).
    pub fn instant(&self, date: NaiveDate, secs: u32) -> Option<DateTime<Utc>> {
        let date = date.checked_add_signed(Duration::days(i64::from(secs / DAY)))?;
        let local = date.and_hms_opt(0, 0, 0)? + Duration::seconds(i64::from(secs % DAY));
        Some(local_to_utc(self.tz, local))
    }

    /// The open intervals of a local date in UTC, in order (empty when closed).
    fn day_in_utc(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.windows_on(date)
            .iter()
            .filter_map(|w| Some((self.instant(date, w.start)?, self.instant(date, w.end)?)))
            .filter(|(s, e)| s < e)
            .collect()
    }

    /// The local date of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Open intervals `[start, end)` in UTC, in order, merged where they overlap, starting with
    /// the first that ends after `from` (its start may be before `from`).
    pub fn intervals(&self, from: DateTime<Utc>) -> Intervals<'_> {
        let date = self.local_date(from).pred_opt().unwrap_or(NaiveDate::MIN);
        Intervals {
            cal: self,
            from,
            date: Some(date),
            raw: Vec::new(),
            next_raw: 0,
            cur: None,
        }
    }

    /// Whether the calendar is open at `t` (windows are `[open, close)`).
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        // The first window instance ending after `t` starts in order, so it alone decides;
        // no need to merge.
        self.intervals(t).pull().is_some_and(|(s, _)| s <= t)
    }

    /// `t` when open, else the next opening; `None` only when the calendar stays closed
    /// for years.
    pub fn next_open(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.intervals(t).pull().map(|(s, _)| s.max(t))
    }

    /// The moment when `d` of open time has passed since `start`. Counting begins at the next
    /// opening when `start` is outside hours; the result may be a closing time (work done at
    /// 16:00 is done at 16:00, not at the next opening).
    pub fn add(&self, start: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
        if d <= Duration::zero() {
            return Some(start);
        }
        let mut left = d;
        for (s, e) in self.intervals(start) {
            let from = s.max(start);
            let here = e - from;
            if left <= here {
                return Some(from + left);
            }
            left -= here;
        }
        None
    }

    /// `n` business days after `start`: from the next opening (or `start` when open), the same
    /// local time on the n-th following day that has opening hours (a day counts when a
    /// window opens on it). When the desk is not open at that moment: the next opening that
    /// day, or else that day's last closing before it.
    pub fn add_days(&self, start: DateTime<Utc>, n: u32) -> Option<DateTime<Utc>> {
        let t0 = self.next_open(start)?;
        if n == 0 {
            return Some(t0);
        }
        let local = t0.with_timezone(&self.tz).naive_local();
        let tod = local.time().num_seconds_from_midnight();
        let mut date = local.date();
        let mut found = 0;
        let mut closed = 0;
        while found < n {
            date = date.succ_opt()?;
            if self.windows_on(date).is_empty() {
                closed += 1;
                if closed > MAX_CLOSED_DAYS {
                    return None;
                }
            } else {
                found += 1;
                closed = 0;
            }
        }
        let target = self.instant(date, tod)?;
        if self.is_open(target) {
            return Some(target);
        }
        // Not open at that time of day: the next opening that day, else the day's last
        // closing before it.
        let next = self.next_open(target)?;
        let day_end = self.instant(date, DAY)?;
        if next < day_end {
            return Some(next);
        }
        let day_start = self.instant(date, 0)?;
        let mut last = None;
        for (s, e) in self.intervals(day_start) {
            if s >= target {
                break;
            }
            if e > day_start && e <= target {
                last = Some(e);
            }
        }
        Some(last.unwrap_or(next))
    }

    /// Adds a [`BusinessSpan`]: the days first, then the time.
    pub fn add_span(&self, start: DateTime<Utc>, span: BusinessSpan) -> Option<DateTime<Utc>> {
        let t = if span.days > 0 {
            self.add_days(start, span.days)?
        } else {
            start
        };
        self.add(t, span.time)
    }

    /// Open time between `a` and `b` (negative when `b` is before `a`).
    pub fn business_duration(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        if b < a {
            return -self.business_duration(b, a);
        }
        let mut total = Duration::zero();
        for (s, e) in self.intervals(a) {
            if s >= b {
                break;
            }
            total += e.min(b) - s.max(a);
        }
        total
    }
}

/// Open intervals of a calendar; see [`Calendar::intervals`].
#[derive(Debug)]
pub struct Intervals<'c> {
    cal: &'c Calendar,
    from: DateTime<Utc>,
    /// The next local date to expand.
    date: Option<NaiveDate>,
    /// Intervals of the last expanded day, and how many of them were taken.
    raw: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    next_raw: usize,
    cur: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Intervals<'_> {
    /// The next interval of single days, before merging.
    fn pull(&mut self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let mut closed = 0;
        loop {
            if let Some(&iv) = self.raw.get(self.next_raw) {
                self.next_raw += 1;
                if iv.1 > self.from {
                    return Some(iv);
                }
                continue;
            }
            let date = self.date?;
            self.date = date.succ_opt();
            self.raw.clear();
            self.next_raw = 0;
            match self.cal.years.get(self.cal, date.year()) {
                Some(year) => self
                    .raw
                    .extend_from_slice(year.day(date.ordinal0() as usize)),
                None => self.raw.extend(self.cal.day_in_utc(date)),
            }
            if self.raw.is_empty() {
                closed += 1;
                if closed > MAX_CLOSED_DAYS {
                    self.date = None;
                    return None;
                }
            }
        }
    }
}

impl Iterator for Intervals<'_> {
    type Item = (DateTime<Utc>, DateTime<Utc>);

    fn next(&mut self) -> Option<Self::Item> {
        let mut cur = match self.cur.take() {
            Some(c) => c,
            None => self.pull()?,
        };
        // Local times map to instants in order, so days come sorted; join what overlaps (a
        // special day's hours and the night before). Intervals that only touch stay apart, so
        // a calendar open around the clock still yields one interval per day.
        while let Some(n) = self.pull() {
            if n.0 < cur.1 {
                cur.1 = cur.1.max(n.1);
            } else {
                self.cur = Some(n);
                break;
            }
        }
        Some(cur)
    }
}

/// The instant of a local time: the first of two, or the jump for a skipped one.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => skipped(tz, local),
    }
}

/// The moment the clock jumps over `local`: the first instant whose offset is the one after
/// the gap. The gap lies between `local - after` and `local - before` in UTC.
fn skipped(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    use chrono::Offset;
    let offset_at = |t: NaiveDateTime| tz.offset_from_utc_datetime(&t).fix().local_minus_utc();
    let before = offset_at(local - Duration::days(1));
    let mut hi = local - Duration::seconds(i64::from(before)); // offset "after" here
    let after = offset_at(hi);
    if after <= before {
        return hi.and_utc();
    }
    let mut lo = local - Duration::seconds(i64::from(after)); // offset "before" here
    while hi - lo > Duration::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        if offset_at(mid) == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn week(spec: &[(Weekday, &[&str])]) -> WeekHours {
        let mut w = WeekHours::default();
        for (day, windows) in spec {
            w.set(
                *day,
                windows.iter().map(|s| Window::parse(s).unwrap()).collect(),
            )
            .unwrap();
        }
        w
    }

    fn oslo() -> Calendar {
        use Weekday::*;
        let office: &[&str] = &["08:00-16:00"];
        Calendar::new("oslo", chrono_tz::Europe::Oslo).with_week(week(&[
            (Mon, office),
            (Tue, office),
            (Wed, office),
            (Thu, office),
            (Fri, office),
        ]))
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn kept_years_are_the_days_computed_one_by_one() {
        use Weekday::*;
        // Overnight hours on Saturday, a special day, clocks changing twice a year, and a
        // year either side of the kept range (computed each time).
        let cal = Calendar::new("shop", chrono_tz::Europe::Oslo)
            .with_week(week(&[
                (Mon, &["08:00-16:00"]),
                (Fri, &["02:00-03:00", "08:00-12:00"]),
                (Sat, &["22:00-02:00"]),
                (Sun, &["02:30-04:00"]),
            ]))
            .with_special(
                NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
                vec![Window::parse("09:00-12:00").unwrap()],
            )
            .unwrap();
        let mut open = 0;
        for year in [1969, 2026, 2027, 2200] {
            let kept = cal.years.get(&cal, year);
            assert_eq!(kept.is_some(), (1970..2200).contains(&year), "{year}");
            let mut date = NaiveDate::from_yo_opt(year, 1).unwrap();
            while date.year() == year {
                let computed = cal.day_in_utc(date);
                if let Some(kept) = kept {
                    assert_eq!(kept.day(date.ordinal0() as usize), computed, "{date}");
                }
                open += computed.len();
                date = date.succ_opt().unwrap();
            }
        }
        assert!(open > 4 * 52 * 4, "the calendar was open: {open}");
        // Read through the kept years, as every sum does: a winter Monday in UTC+1.
        let from = t("2026-12-06T12:00:00Z");
        assert_eq!(
            cal.intervals(from).next(),
            Some((t("2026-12-07T07:00:00Z"), t("2026-12-07T15:00:00Z")))
        );
        // A calendar given other hours forgets what it kept; a clone keeps nothing and equals
        // its original.
        assert_eq!(cal.clone(), cal);
        let closed = cal
            .with_special(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), vec![])
            .unwrap();
        assert_eq!(
            closed.intervals(from).next(),
            Some((t("2026-12-11T01:00:00Z"), t("2026-12-11T02:00:00Z")))
        );
    }

    #[test]
    fn skipped_local_times_map_to_the_jump() {
        let tz = chrono_tz::Europe::Oslo;
        let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            local_to_utc(tz, local("2026-03-29 02:30")),
            t("2026-03-29T01:00:00Z")
        );
        assert_eq!(
            local_to_utc(tz, local("2026-10-25 02:30")),
            t("2026-10-25T00:30:00Z"),
            "first of the two"
        );
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            local_to_utc(ny, local("2026-03-08 02:15")),
            t("2026-03-08T07:00:00Z")
        );
    }

    #[test]
    fn basic_arithmetic() {
        let c = oslo();
        // Friday 15:00 + 2h → Monday 09:00.
        assert_eq!(
            c.add(t("2026-11-27T15:00:00+01:00"), Duration::hours(2)),
            Some(t("2026-11-30T09:00:00+01:00"))
        );
        assert_eq!(
            c.add(t("2026-11-27T12:00:00+01:00"), Duration::hours(4)),
            Some(t("2026-11-27T16:00:00+01:00")),
            "ends at closing time"
        );
        assert!(c.is_open(t("2026-11-27T08:00:00+01:00")));
        assert!(!c.is_open(t("2026-11-27T16:00:00+01:00")));
        assert_eq!(
            c.next_open(t("2026-11-28T12:00:00+01:00")),
            Some(t("2026-11-30T08:00:00+01:00"))
        );
        assert_eq!(
            c.business_duration(
                t("2026-11-27T15:00:00+01:00"),
                t("2026-11-30T09:00:00+01:00")
            ),
            Duration::hours(2)
        );
        assert_eq!(
            c.add_days(t("2026-11-27T15:00:00+01:00"), 2),
            Some(t("2026-12-01T15:00:00+01:00"))
        );
        assert_eq!(
            c.add_days(t("2026-11-28T22:00:00+01:00"), 1),
            Some(t("2026-12-01T08:00:00+01:00")),
            "from the next opening"
        );
    }
}
