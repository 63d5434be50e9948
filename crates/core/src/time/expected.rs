//! The expected response: when a customer can count on an answer, and how to say it.
//!
//! The moment is the response target in business time counted from `now` through the calendar
//! (outside hours: from the next opening, skipping holidays). The phrase is relative ("within 2
//! hours") when the desk is open and the answer is due the same day, and a deadline ("by 12:00
//! tomorrow", "by 08:00 on Monday") otherwise. Deadlines shown are rounded up to 5 minutes and
//! relative times up to 5 minutes or whole hours, so the promise is never earlier than the
//! computed moment.

use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;

use super::calendar::{BusinessSpan, Calendar};
use super::phrase::{phrase, Lang, When};

/// A pack's first-response targets: business time per priority, in one calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseTargets {
    /// Index of the calendar in the pack.
    pub calendar: usize,
    /// Target per priority, indexed by `Priority as usize` (low, normal, high, urgent).
    pub first_response: [BusinessSpan; 4],
}

impl ResponseTargets {
    /// The target for a priority.
    pub fn target(&self, priority: crate::model::Priority) -> BusinessSpan {
        self.first_response[priority as usize]
    }
}

/// When an answer is due and how a customer reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The moment, exact.
    pub at: DateTime<Utc>,
    /// The moment in the time zone it is shown in (rounded up to 5 minutes).
    pub shown: DateTime<Tz>,
    /// The phrase ("within 2 hours", "by 12:00 tomorrow").
    pub text: String,
}

impl Expected {
    /// The shown moment as RFC 3339 with its offset.
    pub fn at_rfc3339(&self) -> String {
        self.shown.to_rfc3339()
    }
}

fn round_up(t: DateTime<Utc>, step: Duration) -> DateTime<Utc> {
    match t.duration_trunc(step) {
        Ok(down) if down == t => t,
        Ok(down) => down + step,
        Err(_) => t,
    }
}

/// Computes the expected response for a `target` of business time from `now`, phrased in
/// `lang`, in `tz` (the customer's) or else the calendar's time zone. `None` when the
/// calendar has no opening within years.
pub fn expected_response(
    cal: &Calendar,
    target: BusinessSpan,
    now: DateTime<Utc>,
    lang: Lang,
    tz: Option<Tz>,
) -> Option<Expected> {
    let at = cal.add_span(now, target)?;
    let tz = tz.unwrap_or(cal.timezone());
    let step = Duration::minutes(5);
    let shown = round_up(at, step).with_timezone(&tz);
    let today = now.with_timezone(&tz).date_naive();
    let same_day = shown.date_naive() == today;
    let when = if target.days == 0 && same_day && cal.is_open(now) {
        let minutes = ((at - now).num_seconds().max(1) as u32).div_ceil(60);
        let rounded = minutes.div_ceil(5) * 5;
        if rounded < 60 {
            When::Within {
                minutes: rounded,
                hours: 0,
            }
        } else {
            When::Within {
                minutes: 0,
                hours: minutes.div_ceil(60),
            }
        }
    } else {
        When::By {
            date: shown.date_naive(),
            time: shown.time(),
            today,
        }
    };
    Some(Expected {
        at,
        shown,
        text: phrase(lang, when),
    })
}
