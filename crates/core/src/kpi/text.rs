//! A report as a terminal reads it (`frontdesk report`): the figures of the range, one line
//! per measure with a sparkline per bucket, and a table when grouped.

use std::fmt::Write as _;

use super::report::{Bucket, Durations, Figures, Report, Sla};

/// Eight levels, low to high.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of `values`: one bar per value scaled between 0 and the largest; a bucket with
/// no value is a space.
pub fn sparkline(values: &[Option<f64>]) -> String {
    let max = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if max <= 0.0 => BARS[0],
            Some(v) => {
                let i = ((v / max) * (BARS.len() - 1) as f64).round() as usize;
                BARS[i.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// A duration in seconds as people say it: `45s`, `12m`, `1h 05m`, `2d 03h`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn opt_duration(secs: Option<i64>) -> String {
    secs.map(duration).unwrap_or_else(|| "–".into())
}

fn percent(share: Option<f64>) -> String {
    share
        .map(|s| format!("{:.1} %", s * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn average(a: Option<f64>) -> String {
    a.map_or_else(|| "–".into(), |a| format!("{a:.2}"))
}

fn sla(s: &Sla) -> String {
    format!(
        "met {}  breached {}  attainment {}",
        s.met,
        s.breached,
        percent(s.attainment)
    )
}

fn durations(d: &Durations) -> String {
    let mut s = format!(
        "{:>5}  p50 {:>8}  p90 {:>8}",
        d.count,
        opt_duration(d.p50_seconds),
        opt_duration(d.p90_seconds)
    );
    if d.business_p50_seconds.is_some() {
        let _ = write!(
            s,
            "  (business p50 {}, p90 {})",
            opt_duration(d.business_p50_seconds),
            opt_duration(d.business_p90_seconds)
        );
    }
    s
}

/// The sparkline of one measure over the report's buckets, or nothing without buckets.
fn trend(series: &[Bucket], value: fn(&Figures) -> Option<f64>) -> String {
    if series.is_empty() {
        return String::new();
    }
    let values: Vec<Option<f64>> = series.iter().map(|b| value(&b.figures)).collect();
    format!("  {}", sparkline(&values))
}

/// The report as text for a terminal.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let f = &r.figures;
    let s = &r.series;
    let _ = writeln!(
        out,
        "frontdesk KPIs {} to {} (UTC){}",
        r.from.format("%Y-%m-%d %H:%M"),
        r.to.format("%Y-%m-%d %H:%M"),
        match (r.interval, s.len()) {
            (Some(i), n) if n > 0 => format!(", trends per {i} over {n} {i}s"),
            _ => String::new(),
        }
    );
    out.push('\n');
    let mut line = |label: &str, figures: String, spark: String| {
        let _ = writeln!(out, "  {label:<18}{figures}{spark}");
    };
    line(
        "tickets",
        format!(
            "created {}  solved {}  reopened {}  backlog {}",
            f.tickets.created, f.tickets.solved, f.tickets.reopened, f.tickets.backlog
        ),
        trend(s, |f| Some(f.tickets.created as f64)),
    );
    line(
        "first response",
        durations(&f.first_response),
        trend(s, |f| f.first_response.p50_seconds.map(|v| v as f64)),
    );
    line(
        "next response",
        durations(&f.next_response),
        trend(s, |f| f.next_response.p50_seconds.map(|v| v as f64)),
    );
    line(
        "resolution",
        durations(&f.resolution),
        trend(s, |f| f.resolution.p50_seconds.map(|v| v as f64)),
    );
    line("SLA", sla(&f.sla), trend(s, |f| f.sla.attainment));
    for (metric, figures) in &f.sla_by_metric {
        line(&format!("  {metric}"), sla(figures), String::new());
    }
    line(
        "first contact",
        format!(
            "{} solved in one reply ({})",
            f.fcr.count,
            percent(f.fcr.share)
        ),
        trend(s, |f| f.fcr.share),
    );
    line(
        "satisfaction",
        format!(
            "{} ratings  average {}  satisfied {}",
            f.csat.count,
            average(f.csat.average),
            percent(f.csat.satisfied_share)
        ),
        trend(s, |f| f.csat.average),
    );
    line(
        "handoffs",
        f.handoffs.to_string(),
        trend(s, |f| Some(f.handoffs as f64)),
    );
    line(
        "bot",
        format!(
            "{} sessions  answered {}  deflected {} ({})  handed off {}",
            f.bot.sessions,
            f.bot.answered,
            f.bot.deflected,
            percent(f.bot.deflection_rate),
            f.bot.handoffs
        ),
        trend(s, |f| Some(f.bot.sessions as f64)),
    );
    if let (Some(dim), false) = (r.group_by, r.groups.is_empty()) {
        out.push('\n');
        let head = [
            dim, "created", "solved", "backlog", "FRT p50", "FRT p90", "res p50", "SLA", "FCR",
            "CSAT",
        ];
        // The sparklines start under their heading.
        let mut table = crate::table::Table::new().left(10);
        let spark_head = if s.is_empty() { "" } else { "created" };
        table.row(head.iter().copied().chain([spark_head]));
        for g in &r.groups {
            let f = &g.figures;
            table.row([
                g.key.clone().unwrap_or_else(|| "(none)".into()),
                f.tickets.created.to_string(),
                f.tickets.solved.to_string(),
                f.tickets.backlog.to_string(),
                opt_duration(f.first_response.p50_seconds),
                opt_duration(f.first_response.p90_seconds),
                opt_duration(f.resolution.p50_seconds),
                percent(f.sla.attainment),
                percent(f.fcr.share),
                average(f.csat.average),
                trend(&g.series, |f| Some(f.tickets.created as f64))
                    .trim_start()
                    .to_string(),
            ]);
        }
        out.push_str(&table.render("  "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_largest_value_and_leave_gaps_blank() {
        assert_eq!(
            sparkline(&[Some(0.0), Some(4.0), None, Some(8.0), Some(2.0)]),
            "▁▅ █▃"
        );
        assert_eq!(sparkline(&[Some(0.0), Some(0.0)]), "▁▁");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(12 * 60 + 5), "12m");
        assert_eq!(duration(3600 + 5 * 60), "1h 05m");
        assert_eq!(duration(2 * 86_400 + 3 * 3600), "2d 03h");
        assert_eq!(duration(-3), "0s");
    }
}
