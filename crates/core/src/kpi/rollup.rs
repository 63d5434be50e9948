//! Day rollups: how a report over months avoids counting every fact again.
//!
//! A store keeps, per UTC day and grouping, the day's [`Tally`]s together with the [`DayPrint`]
//! they were counted from: how many facts the day had and the sum of their write numbers
//! (every write of a fact takes a number higher than any before it). Adding, removing or
//! rewriting one of a day's facts changes the print, so a rollup whose print still matches the
//! day's facts is exactly what counting them again would give. A report reads the partial
//! days at its edges from the facts, each whole day from its rollup when the rollup is fresh,
//! and counts the other days again (and stores their new rollups).

use std::ops::Range;

use chrono::{DateTime, TimeZone, Utc};

use super::Tally;

const DAY_SECS: i64 = 86_400;

/// The UTC day `at` falls on, as days since 1970-01-01.
pub fn day_number(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(DAY_SECS)
}

/// Midnight UTC starting day `day` (see [`day_number`]).
pub fn day_start(day: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(day.saturating_mul(DAY_SECS), 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What a day's facts are now: how many, and the sum of their write numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPrint {
    /// The day (see [`day_number`]).
    pub day: i64,
    /// How many facts are dated that day.
    pub facts: i64,
    /// The sum of their write numbers.
    pub seq_sum: i64,
}

/// A day's tallies for one grouping, with the print of the facts they were counted from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    /// The day and its facts when counted.
    pub print: DayPrint,
    /// The day's tallies, each dated at the day's start.
    pub tallies: Vec<Tally>,
}

/// A report's range cut at UTC midnights: the whole days inside it, read from rollups, and
/// the partial days at its edges, read from the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The whole days, when there is at least one.
    pub days: Option<Range<i64>>,
    /// Sub-ranges `[from, to)` outside the whole days.
    pub edges: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Cuts `[from, to)` at UTC midnights (see [`Split`]).
pub fn split(from: DateTime<Utc>, to: DateTime<Utc>) -> Split {
    let first = day_number(from) + i64::from(day_start(day_number(from)) < from);
    let end = day_number(to);
    if first >= end {
        return Split {
            days: None,
            edges: vec![(from, to)],
        };
    }
    let mut edges = Vec::new();
    if from < day_start(first) {
        edges.push((from, day_start(first)));
    }
    if day_start(end) < to {
        edges.push((day_start(end), to));
    }
    Split {
        days: Some(first..end),
        edges,
    }
}

/// The tallies of the days whose stored rollup still matches their facts (`prints`, in day
/// order), and the runs of days that must be counted again. Rollups of days without facts are
/// ignored.
pub fn fresh(prints: &[DayPrint], stored: Vec<Rollup>) -> (Vec<Tally>, Vec<Range<i64>>) {
    let mut stored: std::collections::HashMap<i64, Rollup> =
        stored.into_iter().map(|r| (r.print.day, r)).collect();
    let mut tallies = Vec::new();
    let mut stale: Vec<Range<i64>> = Vec::new();
    let mut previous: Option<i64> = None;
    for p in prints {
        match stored.remove(&p.day) {
            Some(r) if r.print == *p => tallies.extend(r.tallies),
            _ => match stale.last_mut() {
                // Days between two stale days that have no facts join the run.
                Some(run) if previous == Some(run.end - 1) => run.end = p.day + 1,
                _ => stale.push(p.day..p.day + 1),
            },
        }
        previous = Some(p.day);
    }
    (tallies, stale)
}

/// Tallies counted for whole days, each dated at its day's start and carrying the sum of its
/// facts' write numbers, made into one rollup per day.
pub fn rollups(counted: Vec<(Tally, i64)>) -> Vec<Rollup> {
    let mut days: std::collections::BTreeMap<i64, Rollup> = std::collections::BTreeMap::new();
    for (tally, seq_sum) in counted {
        let day = tally.at.map_or(0, day_number);
        let r = days.entry(day).or_insert_with(|| Rollup {
            print: DayPrint {
                day,
                facts: 0,
                seq_sum: 0,
            },
            tallies: Vec::new(),
        });
        r.print.facts += i64::try_from(tally.count).unwrap_or(i64::MAX);
        r.print.seq_sum = r.print.seq_sum.wrapping_add(seq_sum);
        r.tallies.push(tally);
    }
    days.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn print(day: i64, facts: i64, seq_sum: i64) -> DayPrint {
        DayPrint {
            day,
            facts,
            seq_sum,
        }
    }

    fn tally(day: i64, count: u64) -> Tally {
        Tally {
            kind: super::super::Kind::Created,
            at: Some(day_start(day)),
            key: None,
            metric: None,
            breached: false,
            count,
            secs: Vec::new(),
            business_secs: Vec::new(),
            touched: 0,
            one_touch: 0,
            rated: 0,
            score_sum: 0,
            satisfied: 0,
        }
    }

    #[test]
    fn days_are_utc_days_since_1970() {
        assert_eq!(day_number(t("1970-01-01T23:59:59Z")), 0);
        assert_eq!(day_number(t("1969-12-31T23:59:59Z")), -1);
        let d = day_number(t("2026-12-06T13:00:00Z"));
        assert_eq!(day_start(d), t("2026-12-06T00:00:00Z"));
    }

    #[test]
    fn a_range_splits_into_whole_days_and_edges() {
        let s = split(t("2026-12-01T06:00:00Z"), t("2026-12-04T12:00:00Z"));
        let first = day_number(t("2026-12-02T00:00:00Z"));
        assert_eq!(s.days, Some(first..first + 2));
        assert_eq!(
            s.edges,
            vec![
                (t("2026-12-01T06:00:00Z"), t("2026-12-02T00:00:00Z")),
                (t("2026-12-04T00:00:00Z"), t("2026-12-04T12:00:00Z")),
            ]
        );
        // At midnights: no edges.
        let s = split(t("2026-12-01T00:00:00Z"), t("2026-12-03T00:00:00Z"));
        assert_eq!(s.days.map(|d| d.end - d.start), Some(2));
        assert!(s.edges.is_empty());
        // Within one day, or across one midnight without a whole day: the range itself.
        for (from, to) in [
            ("2026-12-01T06:00:00Z", "2026-12-01T08:00:00Z"),
            ("2026-12-01T06:00:00Z", "2026-12-02T08:00:00Z"),
        ] {
            let s = split(t(from), t(to));
            assert_eq!(s.days, None);
            assert_eq!(s.edges, vec![(t(from), t(to))]);
        }
    }

    #[test]
    fn only_rollups_matching_their_day_are_used() {
        let prints = [
            print(10, 3, 30),
            print(11, 2, 21),
            print(13, 1, 50),
            print(14, 4, 90),
            print(16, 1, 99),
        ];
        let stored = vec![
            // Fresh.
            Rollup {
                print: print(10, 3, 30),
                tallies: vec![tally(10, 3)],
            },
            // A fact rewritten since (same count, higher sum).
            Rollup {
                print: print(11, 2, 20),
                tallies: vec![tally(11, 2)],
            },
            // Fresh.
            Rollup {
                print: print(14, 4, 90),
                tallies: vec![tally(14, 4)],
            },
            // A day whose facts are all gone: ignored.
            Rollup {
                print: print(15, 1, 5),
                tallies: vec![tally(15, 1)],
            },
        ];
        let (tallies, stale) = fresh(&prints, stored);
        assert_eq!(tallies, vec![tally(10, 3), tally(14, 4)]);
        // 11 and 13 are stale with no facts on 12 between them: one run.
        assert_eq!(stale, vec![11..14, 16..17]);
    }

    #[test]
    fn counted_tallies_become_a_rollup_per_day() {
        let r = rollups(vec![(tally(3, 2), 7), (tally(2, 1), 4), (tally(3, 1), 5)]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].print, print(2, 1, 4));
        assert_eq!(r[1].print, print(3, 3, 12));
        assert_eq!(r[1].tallies.len(), 2);
    }
}
