//! The figures of a KPI report, from facts: totals, per group, per day or week.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Fact, Kind};

/// The longest range a report may cover.
pub const MAX_RANGE_DAYS: i64 = 400;

/// A bad report parameter: which, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    /// The parameter (`from`, `to`, `group_by`, `interval`).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// What reports group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// The ticket's group (`team` and `group` are the same thing).
    Team,
    /// Its assignee.
    Agent,
    /// Its channel.
    Channel,
    /// Its priority.
    Priority,
    /// The customer's language.
    Language,
}

impl Dim {
    /// The name it is asked for by.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Team => "team",
            Dim::Agent => "agent",
            Dim::Channel => "channel",
            Dim::Priority => "priority",
            Dim::Language => "language",
        }
    }

    /// The fact's value of this dimension.
    pub fn of(self, f: &Fact) -> Option<&str> {
        match self {
            Dim::Team => f.dims.team.as_deref(),
            Dim::Agent => f.dims.agent.as_deref(),
            Dim::Channel => Some(&f.dims.channel),
            Dim::Priority => Some(&f.dims.priority),
            Dim::Language => f.dims.language.as_deref(),
        }
    }
}

/// Reads `group_by`.
pub fn parse_dim(s: &str) -> Result<Dim, ReportError> {
    Ok(match s {
        "team" | "group" => Dim::Team,
        "agent" => Dim::Agent,
        "channel" => Dim::Channel,
        "priority" => Dim::Priority,
        "language" => Dim::Language,
        other => {
            return Err(ReportError {
                field: "group_by",
                message: format!(
                    "`{other}` is not one of team, group, agent, channel, priority, language"
                ),
            })
        }
    })
}

/// Buckets of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// UTC days.
    Day,
    /// Weeks from Monday 00:00 UTC.
    Week,
}

/// Reads `interval`.
pub fn parse_interval(s: &str) -> Result<Interval, ReportError> {
    match s {
        "day" => Ok(Interval::Day),
        "week" => Ok(Interval::Week),
        other => Err(ReportError {
            field: "interval",
            message: format!("`{other}` is not one of day, week"),
        }),
    }
}

impl Interval {
    /// The start of the bucket `t` falls in.
    pub fn start(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let day = t.date_naive();
        let day = match self {
            Interval::Day => day,
            Interval::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        };
        Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
    }

    fn step(self) -> Duration {
        match self {
            Interval::Day => Duration::days(1),
            Interval::Week => Duration::days(7),
        }
    }

    /// The name it is asked for by.
    pub fn name(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
        }
    }
}

/// What a report covers: facts with `from <= at < to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Start, included.
    pub from: DateTime<Utc>,
    /// End, excluded.
    pub to: DateTime<Utc>,
    /// Figures per value of a dimension too.
    pub group_by: Option<Dim>,
    /// Figures per day or week too.
    pub interval: Option<Interval>,
}

impl Query {
    /// A query, checked: `from` before `to`, at most [`MAX_RANGE_DAYS`] apart.
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: Option<Dim>,
        interval: Option<Interval>,
    ) -> Result<Query, ReportError> {
        if from >= to {
            return Err(ReportError {
                field: "from",
                message: format!("`from` ({from}) must be before `to` ({to})"),
            });
        }
        if to - from > Duration::days(MAX_RANGE_DAYS) {
            return Err(ReportError {
                field: "to",
                message: format!(
                    "the range is {} days; a report covers at most {MAX_RANGE_DAYS}",
                    (to - from).num_days()
                ),
            });
        }
        Ok(Query {
            from,
            to,
            group_by,
            interval,
        })
    }
}

/// A chat session with a bot, for the bot's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSession {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The bot answered at least one question.
    pub answered: bool,
    /// It was handed to a person.
    pub handed_off: bool,
}

/// Counts of tickets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Tickets {
    /// Created in the range.
    pub created: u64,
    /// Solved or closed in the range.
    pub solved: u64,
    /// Reopened in the range.
    pub reopened: u64,
    /// Open at the end of the range (or of the bucket).
    pub backlog: i64,
}

/// A distribution of durations, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Durations {
    /// How many were measured.
    pub count: u64,
    /// Median, calendar seconds.
    pub p50_seconds: Option<i64>,
    /// 90th percentile, calendar seconds.
    pub p90_seconds: Option<i64>,
    /// Mean, calendar seconds.
    pub mean_seconds: Option<f64>,
    /// Median of the business (active) seconds, where an SLA calendar counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_p50_seconds: Option<i64>,
    /// 90th percentile of the business seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_p90_seconds: Option<i64>,
    /// Mean of the business seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_mean_seconds: Option<f64>,
}

/// SLA clocks met and breached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Sla {
    /// Met.
    pub met: u64,
    /// Breached.
    pub breached: u64,
    /// met / (met + breached); `null` without either.
    pub attainment: Option<f64>,
}

/// First-contact resolution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Fcr {
    /// Solved with exactly one agent reply and never reopened.
    pub count: u64,
    /// Of the tickets solved with at least one agent reply.
    pub share: Option<f64>,
}

/// Satisfaction ratings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Csat {
    /// Ratings given.
    pub count: u64,
    /// Their mean, 1 to 5.
    pub average: Option<f64>,
    /// The share rated 4 or 5.
    pub satisfied_share: Option<f64>,
}

/// Chat sessions with bots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct BotFigures {
    /// Sessions started.
    pub sessions: u64,
    /// Sessions where the bot answered at least one question.
    pub answered: u64,
    /// Answered and never handed to a person.
    pub deflected: u64,
    /// Handed to a person.
    pub handoffs: u64,
    /// deflected / sessions.
    pub deflection_rate: Option<f64>,
}

/// The figures of a range, a group or a bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Figures {
    /// Tickets.
    pub tickets: Tickets,
    /// First reply time: from creation to the first agent reply.
    pub first_response: Durations,
    /// Next reply time: from a customer message to the agent reply that answered it.
    pub next_response: Durations,
    /// Full resolution time: from creation to solved.
    pub resolution: Durations,
    /// SLA achievement, all metrics.
    pub sla: Sla,
    /// SLA achievement per metric.
    pub sla_by_metric: BTreeMap<String, Sla>,
    /// First-contact resolution.
    pub fcr: Fcr,
    /// Satisfaction.
    pub csat: Csat,
    /// Ticket handoffs to a person.
    pub handoffs: u64,
    /// Bot sessions (chat).
    pub bot: BotFigures,
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Group {
    /// The dimension's value (`null`: tickets without one, e.g. unassigned).
    pub key: Option<String>,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// Per bucket, when an interval was asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Bucket>,
}

/// One bucket's figures.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Bucket {
    /// Where it starts (UTC).
    pub start: DateTime<Utc>,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// A KPI report.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Report {
    /// Start, included.
    pub from: DateTime<Utc>,
    /// End, excluded.
    pub to: DateTime<Utc>,
    /// The dimension grouped by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<&'static str>,
    /// The buckets' size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<&'static str>,
    /// The whole range.
    #[serde(flatten)]
    pub figures: Figures,
    /// Per group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    /// Per bucket.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Bucket>,
}

/// Facts of one kind counted together: what a store's aggregated read returns (one row per
/// kind, SLA metric and outcome, group key and day), or one fact ([`Tally::of`]). A report is
/// made of tallies, so a store reads a few thousand rows for a million facts. Stored as JSON
/// in a day's rollup (see [`super::Rollup`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// The facts' kind.
    pub kind: Kind,
    /// A time in the facts' bucket (their UTC day from a store), when the report has an
    /// interval.
    pub at: Option<DateTime<Utc>>,
    /// Their value of the dimension grouped by, when the report is grouped.
    pub key: Option<String>,
    /// SLA facts: the metric.
    pub metric: Option<crate::model::Metric>,
    /// SLA facts: breached (else met).
    pub breached: bool,
    /// How many facts.
    pub count: u64,
    /// First, next response and solved facts: each one's calendar seconds.
    pub secs: Vec<i64>,
    /// The same facts' business seconds, where an SLA calendar counted them.
    pub business_secs: Vec<i64>,
    /// Solved facts with at least one agent reply.
    pub touched: u64,
    /// Solved facts with exactly one agent reply and never reopened.
    pub one_touch: u64,
    /// Ratings: how many, their sum, how many were 4 or 5.
    pub rated: u64,
    /// See `rated`.
    pub score_sum: u64,
    /// See `rated`.
    pub satisfied: u64,
}

impl Tally {
    /// One fact, as `q` groups and buckets it.
    pub fn of(f: &Fact, q: &Query) -> Tally {
        let timed = matches!(
            f.kind,
            Kind::FirstResponse | Kind::NextResponse | Kind::Solved
        );
        let replies = f.replies.unwrap_or(0);
        Tally {
            kind: f.kind,
            at: q.interval.map(|_| f.at),
            key: q.group_by.and_then(|d| d.of(f).map(str::to_string)),
            metric: f.metric,
            breached: f.breached,
            count: 1,
            secs: if timed {
                f.secs.into_iter().collect()
            } else {
                Vec::new()
            },
            business_secs: if timed {
                f.business_secs.into_iter().collect()
            } else {
                Vec::new()
            },
            touched: u64::from(f.kind == Kind::Solved && replies > 0),
            one_touch: u64::from(
                f.kind == Kind::Solved && replies == 1 && f.reopens.unwrap_or(0) == 0,
            ),
            rated: u64::from(f.score.is_some()),
            score_sum: f.score.map_or(0, u64::from),
            satisfied: u64::from(f.score.is_some_and(|s| s >= 4)),
        }
    }
}

/// What one cell (the range, a group, a bucket) gathers before its figures are made.
#[derive(Debug, Default)]
struct Cell {
    created: u64,
    solved: u64,
    reopened: u64,
    first: (Vec<i64>, Vec<i64>),
    next: (Vec<i64>, Vec<i64>),
    resolution: (Vec<i64>, Vec<i64>),
    sla: BTreeMap<&'static str, (u64, u64)>,
    fcr: u64,
    touched: u64,
    rated: u64,
    score_sum: u64,
    satisfied: u64,
    handoffs: u64,
    bot: BotFigures,
}

impl Cell {
    fn add(&mut self, t: &Tally) {
        let durations = |v: &mut (Vec<i64>, Vec<i64>)| {
            v.0.extend_from_slice(&t.secs);
            v.1.extend_from_slice(&t.business_secs);
        };
        match t.kind {
            Kind::Created => self.created += t.count,
            Kind::Reopened => self.reopened += t.count,
            Kind::FirstResponse => durations(&mut self.first),
            Kind::NextResponse => durations(&mut self.next),
            Kind::Solved => {
                self.solved += t.count;
                durations(&mut self.resolution);
                self.touched += t.touched;
                self.fcr += t.one_touch;
            }
            Kind::Handoff => self.handoffs += t.count,
            Kind::Sla => {
                let metric = t.metric.map_or("unknown", crate::model::Named::name);
                let e = self.sla.entry(metric).or_default();
                if t.breached {
                    e.1 += t.count;
                } else {
                    e.0 += t.count;
                }
            }
            Kind::Csat => {
                self.rated += t.rated;
                self.score_sum += t.score_sum;
                self.satisfied += t.satisfied;
            }
        }
    }

    fn add_session(&mut self, s: &BotSession) {
        self.bot.sessions += 1;
        self.bot.answered += u64::from(s.answered);
        self.bot.handoffs += u64::from(s.handed_off);
        self.bot.deflected += u64::from(s.answered && !s.handed_off);
    }

    fn opened(&self) -> i64 {
        self.created as i64 + self.reopened as i64 - self.solved as i64
    }

    fn figures(mut self, backlog: i64) -> Figures {
        let sla = |met: u64, breached: u64| Sla {
            met,
            breached,
            attainment: ratio(met, met + breached),
        };
        let (met, breached) = self
            .sla
            .values()
            .fold((0, 0), |(m, b), (m2, b2)| (m + m2, b + b2));
        let (n, sum, satisfied) = (self.rated, self.score_sum, self.satisfied);
        self.bot.deflection_rate = ratio(self.bot.deflected, self.bot.sessions);
        Figures {
            tickets: Tickets {
                created: self.created,
                solved: self.solved,
                reopened: self.reopened,
                backlog: backlog.max(0),
            },
            first_response: durations(&mut self.first),
            next_response: durations(&mut self.next),
            resolution: durations(&mut self.resolution),
            sla: sla(met, breached),
            sla_by_metric: self
                .sla
                .iter()
                .map(|(m, (a, b))| (m.to_string(), sla(*a, *b)))
                .collect(),
            fcr: Fcr {
                count: self.fcr,
                share: ratio(self.fcr, self.touched),
            },
            csat: Csat {
                count: n,
                average: (n > 0).then(|| round(sum as f64 / n as f64)),
                satisfied_share: ratio(satisfied, n),
            },
            handoffs: self.handoffs,
            bot: self.bot,
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| round(a as f64 / b as f64))
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn mean(v: &[i64]) -> Option<f64> {
    (!v.is_empty()).then(|| round(v.iter().sum::<i64>() as f64 / v.len() as f64))
}

fn durations((calendar, business): &mut (Vec<i64>, Vec<i64>)) -> Durations {
    calendar.sort_unstable();
    business.sort_unstable();
    let has_business = !business.is_empty();
    Durations {
        count: calendar.len() as u64,
        p50_seconds: percentile(calendar, 0.5),
        p90_seconds: percentile(calendar, 0.9),
        mean_seconds: mean(calendar),
        business_p50_seconds: has_business.then(|| percentile(business, 0.5)).flatten(),
        business_p90_seconds: has_business.then(|| percentile(business, 0.9)).flatten(),
        business_mean_seconds: has_business.then(|| mean(business)).flatten(),
    }
}

/// Open tickets before the range: created and reopened minus solved, per group key (the
/// whole desk under `None` when not grouped).
pub type Backlog = HashMap<Option<String>, i64>;

/// Makes the report of `q` from the facts dated in its range, the backlog before it (from
/// [`backlog_before`] or the store's counts) and the bot sessions started in it.
pub fn report(
    q: &Query,
    facts: impl IntoIterator<Item = Fact>,
    before: &Backlog,
    sessions: &[BotSession],
) -> Report {
    let tallies = facts
        .into_iter()
        .filter(|f| f.at >= q.from && f.at < q.to)
        .map(|f| Tally::of(&f, q));
    tallied(q, tallies, before, sessions)
}

/// [`report`] from tallies of the facts dated in the range (a store's aggregated read).
pub fn tallied(
    q: &Query,
    tallies: impl IntoIterator<Item = Tally>,
    before: &Backlog,
    sessions: &[BotSession],
) -> Report {
    let mut total = Cell::default();
    let mut groups: BTreeMap<Option<String>, Cell> = BTreeMap::new();
    let mut buckets: BTreeMap<DateTime<Utc>, Cell> = BTreeMap::new();
    let mut grid: BTreeMap<(Option<String>, DateTime<Utc>), Cell> = BTreeMap::new();
    for t in tallies {
        total.add(&t);
        let key = q.group_by.map(|_| t.key.clone());
        let start = q.interval.map(|i| i.start(t.at.unwrap_or(q.from)));
        if let Some(k) = &key {
            groups.entry(k.clone()).or_default().add(&t);
        }
        if let Some(s) = start {
            buckets.entry(s).or_default().add(&t);
            if let Some(k) = key {
                grid.entry((k, s)).or_default().add(&t);
            }
        }
    }
    for s in sessions.iter().filter(|s| s.at >= q.from && s.at < q.to) {
        total.add_session(s);
        if let Some(i) = q.interval {
            buckets.entry(i.start(s.at)).or_default().add_session(s);
        }
    }
    let base = |k: &Option<String>| before.get(k).copied().unwrap_or(0);
    let whole = before.values().sum::<i64>();
    let starts: Vec<DateTime<Utc>> = match q.interval {
        Some(i) => {
            let mut v = Vec::new();
            let mut s = i.start(q.from);
            while s < q.to {
                v.push(s);
                s += i.step();
            }
            v
        }
        None => Vec::new(),
    };
    let series = |cells: &mut dyn FnMut(DateTime<Utc>) -> Cell, base: i64| {
        let mut running = base;
        starts
            .iter()
            .map(|s| {
                let cell = cells(*s);
                running += cell.opened();
                Bucket {
                    start: *s,
                    figures: cell.figures(running),
                }
            })
            .collect::<Vec<_>>()
    };
    let series_total = series(&mut |s| buckets.remove(&s).unwrap_or_default(), whole);
    let mut keys: Vec<Option<String>> = groups.keys().cloned().collect();
    for k in before.keys() {
        if q.group_by.is_some() && before[k] != 0 && !groups.contains_key(k) {
            keys.push(k.clone());
        }
    }
    keys.sort();
    keys.dedup();
    let groups: Vec<Group> = if q.group_by.is_some() {
        keys.into_iter()
            .map(|k| {
                let cell = groups.remove(&k).unwrap_or_default();
                let backlog = base(&k) + cell.opened();
                let series = series(
                    &mut |s| grid.remove(&(k.clone(), s)).unwrap_or_default(),
                    base(&k),
                );
                Group {
                    key: k,
                    figures: cell.figures(backlog),
                    series,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let backlog = whole + total.opened();
    Report {
        from: q.from,
        to: q.to,
        group_by: q.group_by.map(Dim::name),
        interval: q.interval.map(Interval::name),
        figures: total.figures(backlog),
        groups,
        series: series_total,
    }
}

/// The open tickets before `q.from`, per group key, from facts dated before it (a store may
/// count them in SQL instead).
pub fn backlog_before<'a>(q: &Query, facts: impl IntoIterator<Item = &'a Fact>) -> Backlog {
    let mut out = Backlog::new();
    for f in facts {
        if f.at >= q.from {
            continue;
        }
        let delta = match f.kind {
            Kind::Created | Kind::Reopened => 1,
            Kind::Solved => -1,
            _ => continue,
        };
        let key = q.group_by.and_then(|d| d.of(f).map(str::to_string));
        *out.entry(key).or_default() += delta;
    }
    out
}

/// The CSV of a report: one row per group and bucket (per group, per bucket, or one row for
/// the whole range when neither was asked for).
pub fn csv(r: &Report) -> String {
    let mut out = String::from(
        "key,start,tickets_created,tickets_solved,tickets_reopened,backlog,\
         first_response_count,first_response_p50_seconds,first_response_p90_seconds,\
         first_response_mean_seconds,first_response_business_p50_seconds,\
         next_response_count,next_response_p50_seconds,\
         resolution_count,resolution_p50_seconds,resolution_p90_seconds,\
         sla_met,sla_breached,sla_attainment,fcr_count,fcr_share,\
         csat_count,csat_average,csat_satisfied_share,handoffs,\
         bot_sessions,bot_answered,bot_deflected,bot_handoffs,bot_deflection_rate\n",
    );
    let mut row = |key: Option<&str>, start: Option<DateTime<Utc>>, f: &Figures| {
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let optf = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let cells = [
            csv_field(key.unwrap_or("")),
            start.map(|s| s.to_rfc3339()).unwrap_or_default(),
            f.tickets.created.to_string(),
            f.tickets.solved.to_string(),
            f.tickets.reopened.to_string(),
            f.tickets.backlog.to_string(),
            f.first_response.count.to_string(),
            opt(f.first_response.p50_seconds),
            opt(f.first_response.p90_seconds),
            optf(f.first_response.mean_seconds),
            opt(f.first_response.business_p50_seconds),
            f.next_response.count.to_string(),
            opt(f.next_response.p50_seconds),
            f.resolution.count.to_string(),
            opt(f.resolution.p50_seconds),
            opt(f.resolution.p90_seconds),
            f.sla.met.to_string(),
            f.sla.breached.to_string(),
            optf(f.sla.attainment),
            f.fcr.count.to_string(),
            optf(f.fcr.share),
            f.csat.count.to_string(),
            optf(f.csat.average),
            optf(f.csat.satisfied_share),
            f.handoffs.to_string(),
            f.bot.sessions.to_string(),
            f.bot.answered.to_string(),
            f.bot.deflected.to_string(),
            f.bot.handoffs.to_string(),
            optf(f.bot.deflection_rate),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    };
    if !r.groups.is_empty() {
        for g in &r.groups {
            if g.series.is_empty() {
                row(g.key.as_deref(), None, &g.figures);
            }
            for b in &g.series {
                row(g.key.as_deref(), Some(b.start), &b.figures);
            }
        }
    } else if !r.series.is_empty() {
        for b in &r.series {
            row(None, Some(b.start), &b.figures);
        }
    } else {
        row(Some("all"), None, &r.figures);
    }
    out
}

/// A CSV field, quoted when it must be; a leading `=`, `+`, `-` or `@` is prefixed with `'` so
/// a spreadsheet does not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
