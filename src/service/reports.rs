//! KPI reports (`GET /v1/reports/kpis`, `frontdesk report`): the query read and checked once,
//! the figures from the store.

use chrono::{DateTime, Duration, Utc};

use super::{Code, Desk, Error};
use crate::kpi::{self, Query, Report};

/// How a report is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The report as JSON.
    Json,
    /// One row per group or bucket.
    Csv,
}

/// The parameters `GET /v1/reports/kpis` takes.
pub const PARAMS: &[&str] = &["from", "to", "group_by", "interval", "format"];

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::new(Code::InvalidReport, message).field(field)
}

impl From<kpi::ReportError> for Error {
    fn from(e: kpi::ReportError) -> Self {
        invalid(e.field, e.message)
    }
}

/// Reads a time: RFC 3339, or a span back from `now` (`7d`, `12h`, `30m`).
pub fn parse_time(field: &str, s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    parse_span(s).map(|d| now - d).ok_or_else(|| {
        invalid(
            field,
            format!(
                "`{s}` is not an RFC 3339 time (2026-03-02T09:00:00Z) or a span back (7d, 12h)"
            ),
        )
    })
}

/// A span such as `7d`, `12h`, `30m`.
pub fn parse_span(s: &str) -> Option<Duration> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    match unit {
        "d" => Duration::try_days(n),
        "h" => Duration::try_hours(n),
        "m" => Duration::try_minutes(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
}

/// Reads the query string of `GET /v1/reports/kpis`: `from` (default: `to` less 7 days), `to`
/// (default: now), `group_by`, `interval`, `format` (`json`, `csv`). An unknown or repeated
/// parameter is refused by name.
pub fn parse_query(raw: Option<&str>, now: DateTime<Utc>) -> Result<(Query, Format), Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| Error::new(Code::InvalidQuery, format!("unreadable query string: {e}")))?;
    let mut seen = std::collections::HashMap::new();
    for (k, v) in &pairs {
        if !PARAMS.contains(&k.as_str()) {
            return Err(invalid(
                k,
                format!(
                    "`{k}` is not a parameter of this report (one of {})",
                    PARAMS.join(", ")
                ),
            ));
        }
        if seen.insert(k.as_str(), v.as_str()).is_some() {
            return Err(invalid(k, format!("`{k}` is given more than once")));
        }
    }
    let to = match seen.get("to") {
        Some(s) => parse_time("to", s, now)?,
        None => now,
    };
    let from = match seen.get("from") {
        Some(s) => parse_time("from", s, now)?,
        None => to - Duration::days(7),
    };
    let group_by = seen
        .get("group_by")
        .map(|s| kpi::parse_dim(s))
        .transpose()?;
    let interval = seen
        .get("interval")
        .map(|s| kpi::parse_interval(s))
        .transpose()?;
    let format = match seen.get("format").copied() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(invalid(
                "format",
                format!("`{other}` is not one of json, csv"),
            ))
        }
    };
    Ok((Query::new(from, to, group_by, interval)?, format))
}

impl Desk {
    /// The KPI report of a range.
    pub async fn kpi_report(&self, q: &Query) -> Result<Report, Error> {
        Ok(self.store.kpi_report(q).await?)
    }

    /// Makes sure the store holds the day summaries of the reports the console's overview
    /// asks for (the last 90 whole days, in all and by team, channel, priority and language),
    /// so that the first visit after a start reads them instead of counting every fact of
    /// each day (0.2–0.7 s on 100,000 tickets). The daemon runs it in the background when it
    /// starts; what fails is logged and left to the first visit.
    pub async fn warm_kpi_days(&self) {
        use kpi::{Dim, Interval};
        let to = (self.clock.now() + Duration::days(1))
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        let from = to - Duration::days(90);
        let started = std::time::Instant::now();
        let dims = [
            None,
            Some(Dim::Team),
            Some(Dim::Channel),
            Some(Dim::Priority),
            Some(Dim::Language),
        ];
        for dim in dims {
            let report = match Query::new(from, to, dim, Some(Interval::Day)) {
                Ok(q) => self.kpi_report(&q).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = report {
                tracing::warn!(group_by = dim.map(Dim::name), error = %e.message, "KPI day summaries not prepared");
                return;
            }
        }
        tracing::debug!(
            ms = started.elapsed().as_secs_f64() * 1e3,
            "KPI day summaries of the last 90 days ready"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-09T00:00:00Z".parse().unwrap()
    }

    fn field(raw: &str) -> String {
        let e = parse_query(Some(raw), now()).unwrap_err();
        assert_eq!(e.code, Code::InvalidReport, "{raw}: {}", e.message);
        e.field.unwrap_or_default()
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert_eq!(field("group_by=colour"), "group_by");
        assert_eq!(field("interval=month"), "interval");
        assert_eq!(
            field("from=2026-03-05T00:00:00Z&to=2026-03-01T00:00:00Z"),
            "from"
        );
        assert_eq!(field("from=yesterday"), "from");
        assert_eq!(field("from=2024-01-01T00:00:00Z"), "to");
        assert_eq!(field("format=xml"), "format");
        assert_eq!(field("limit=5"), "limit");
        assert_eq!(field("interval=day&interval=week"), "interval");
    }

    #[test]
    fn defaults_are_the_last_seven_days() {
        let (q, f) = parse_query(None, now()).unwrap();
        assert_eq!(
            (q.from, q.to, f),
            (now() - Duration::days(7), now(), Format::Json)
        );
        let (q, f) = parse_query(Some("from=30d&group_by=group&format=csv"), now()).unwrap();
        assert_eq!(q.from, now() - Duration::days(30));
        assert_eq!((q.group_by, f), (Some(kpi::Dim::Team), Format::Csv));
    }
}
