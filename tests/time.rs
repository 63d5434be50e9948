//! Business time: calendars from YAML, arithmetic across DST changes and year ends (tables),
//! properties of `add`/`business_duration`/`next_open` (proptest), diagnostics, and what
//! rules see (`within_hours`, business-time schedules, `expected_response`).

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use common::snapshot;
use frontdesk::config::Config;
use frontdesk::engine;
use frontdesk::model::{Action, Event};
use frontdesk::time::holidays::Holidays;
use frontdesk::time::hours::{WeekHours, Window};
use frontdesk::time::{expected_response, BusinessSpan, Calendar, Lang};
use proptest::prelude::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn calendar(yaml: &str) -> Calendar {
    let text = format!("calendars:\n  c:\n{}", indent(yaml, 4));
    let config = Config::from_yaml("c.yaml", &text).unwrap_or_else(|d| panic!("{d}"));
    config.calendar("c").expect("calendar c").clone()
}

fn indent(s: &str, n: usize) -> String {
    s.lines()
        .map(|l| format!("{}{l}\n", " ".repeat(n)))
        .collect()
}

const OSLO: &str = r#"timezone: Europe/Oslo
hours: { mon-fri: ["08:00-11:30", "12:00-16:00"], sat: "10:00-14:00" }
holidays: ["2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01", "2026-04-02..2026-04-06"]
special_days: { "2026-12-23": ["08:00-12:00"], "2026-12-27": ["10:00-12:00"] }
"#;

#[test]
fn arithmetic_table() {
    let oslo = calendar(OSLO);
    let ny = calendar("timezone: America/New_York\nhours: { mon-fri: \"09:00-17:00\" }\n");
    let riyadh = calendar(
        "timezone: Asia/Riyadh\nhours: { sun-thu: \"08:00-16:00\" }\nholidays: [\"2026-03-19..2026-03-22\"]\n",
    );
    let shanghai = calendar(
        "timezone: Asia/Shanghai\nhours: { mon-fri: [\"09:00-12:00\", \"13:00-18:00\"] }\n\
         holidays: [\"2026-02-15..2026-02-23\"]\nspecial_days: { \"2026-02-14\": [\"09:00-12:00\", \"13:00-18:00\"], \"2026-02-28\": [\"09:00-12:00\", \"13:00-18:00\"] }\n",
    );
    let every_hour = |tz: &str| {
        calendar(&format!(
            "timezone: {tz}\nhours: {{ mon-sun: \"00:00-24:00\" }}\n"
        ))
    };
    let h = Duration::hours;
    let m = Duration::minutes;
    // (what, calendar, start, business time, expected end)
    let adds: &[(&str, &Calendar, &str, Duration, &str)] = &[
        (
            "inside a window",
            &oslo,
            "2026-11-23T09:00:00+01:00",
            h(2),
            "2026-11-23T11:00:00+01:00",
        ),
        (
            "lunch is skipped",
            &oslo,
            "2026-11-23T11:00:00+01:00",
            m(45),
            "2026-11-23T12:15:00+01:00",
        ),
        (
            "ends at closing",
            &oslo,
            "2026-11-23T14:00:00+01:00",
            h(2),
            "2026-11-23T16:00:00+01:00",
        ),
        (
            "evening starts at next opening",
            &oslo,
            "2026-11-23T22:10:00+01:00",
            h(4),
            "2026-11-24T12:30:00+01:00",
        ),
        (
            "friday evening to saturday",
            &oslo,
            "2026-11-27T18:00:00+01:00",
            h(2),
            "2026-11-28T12:00:00+01:00",
        ),
        (
            "saturday afternoon to monday",
            &oslo,
            "2026-11-28T13:00:00+01:00",
            h(2),
            "2026-11-30T09:00:00+01:00",
        ),
        (
            "christmas: special, holidays, special sunday",
            &oslo,
            "2026-12-23T11:00:00+01:00",
            h(2),
            "2026-12-27T11:00:00+01:00",
        ),
        (
            "new year: across the year end",
            &oslo,
            "2026-12-30T15:00:00+01:00",
            h(2),
            "2027-01-02T11:00:00+01:00",
        ),
        (
            "easter holidays",
            &oslo,
            "2026-04-01T15:00:00+02:00",
            h(2),
            "2026-04-07T09:00:00+02:00",
        ),
        (
            "oslo spring forward weekend",
            &oslo,
            "2026-03-27T15:00:00+01:00",
            h(2),
            "2026-03-28T11:00:00+01:00",
        ),
        (
            "oslo fall back weekend",
            &oslo,
            "2026-10-24T13:00:00+02:00",
            h(2),
            "2026-10-26T09:00:00+01:00",
        ),
        (
            "new york spring forward",
            &ny,
            "2026-03-06T16:00:00-05:00",
            h(2),
            "2026-03-09T10:00:00-04:00",
        ),
        (
            "new york fall back",
            &ny,
            "2026-10-30T16:30:00-04:00",
            h(1),
            "2026-11-02T09:30:00-05:00",
        ),
        (
            "riyadh weekend is friday-saturday",
            &riyadh,
            "2026-11-26T15:00:00+03:00",
            h(2),
            "2026-11-29T09:00:00+03:00",
        ),
        (
            "riyadh eid al-fitr",
            &riyadh,
            "2026-03-18T15:00:00+03:00",
            h(2),
            "2026-03-23T09:00:00+03:00",
        ),
        (
            "riyadh year end",
            &riyadh,
            "2026-12-31T15:00:00+03:00",
            h(2),
            "2027-01-03T09:00:00+03:00",
        ),
        (
            "shanghai lunch break",
            &shanghai,
            "2026-11-23T11:00:00+08:00",
            h(2),
            "2026-11-23T14:00:00+08:00",
        ),
        (
            "shanghai spring festival and working saturday",
            &shanghai,
            "2026-02-13T17:00:00+08:00",
            h(2),
            "2026-02-14T10:00:00+08:00",
        ),
        (
            "shanghai after the festival",
            &shanghai,
            "2026-02-14T17:00:00+08:00",
            h(2),
            "2026-02-24T10:00:00+08:00",
        ),
        (
            "24/7 oslo over the lost hour",
            &every_hour("Europe/Oslo"),
            "2026-03-29T01:30:00+01:00",
            h(1),
            "2026-03-29T03:30:00+02:00",
        ),
        (
            "24/7 new york over the extra hour",
            &every_hour("America/New_York"),
            "2026-11-01T00:30:00-04:00",
            h(2),
            "2026-11-01T01:30:00-05:00",
        ),
    ];
    for (what, cal, start, d, end) in adds {
        let got = cal.add(t(start), *d);
        assert_eq!(got, Some(t(end)), "{what}");
        assert_eq!(
            cal.business_duration(t(start), t(end)),
            *d,
            "{what}: measured back"
        );
    }
}

#[test]
fn dst_days_have_their_real_length() {
    // (calendar yaml, day start, next day start, open time that day)
    let rows: &[(&str, &str, &str, i64)] = &[
        (
            "timezone: Europe/Oslo\nhours: { mon-sun: \"00:00-24:00\" }",
            "2026-03-29T00:00:00+01:00",
            "2026-03-30T00:00:00+02:00",
            23 * 60,
        ),
        (
            "timezone: Europe/Oslo\nhours: { mon-sun: \"00:00-24:00\" }",
            "2026-10-25T00:00:00+02:00",
            "2026-10-26T00:00:00+01:00",
            25 * 60,
        ),
        (
            "timezone: America/New_York\nhours: { mon-sun: \"00:00-24:00\" }",
            "2026-03-08T00:00:00-05:00",
            "2026-03-09T00:00:00-04:00",
            23 * 60,
        ),
        (
            "timezone: America/New_York\nhours: { mon-sun: \"00:00-24:00\" }",
            "2026-11-01T00:00:00-04:00",
            "2026-11-02T00:00:00-05:00",
            25 * 60,
        ),
        (
            "timezone: Asia/Riyadh\nhours: { mon-sun: \"00:00-24:00\" }",
            "2026-03-29T00:00:00+03:00",
            "2026-03-30T00:00:00+03:00",
            24 * 60,
        ),
        (
            "timezone: Asia/Shanghai\nhours: { mon-sun: \"00:00-24:00\" }",
            "2026-03-08T00:00:00+08:00",
            "2026-03-09T00:00:00+08:00",
            24 * 60,
        ),
        // A window that closes in the skipped hour closes at the jump.
        (
            "timezone: Europe/Oslo\nhours: { sun: \"01:00-02:30\" }",
            "2026-03-29T00:00:00+01:00",
            "2026-03-30T00:00:00+02:00",
            60,
        ),
        // One that opens in it opens at the jump.
        (
            "timezone: Europe/Oslo\nhours: { sun: \"02:30-04:00\" }",
            "2026-03-29T00:00:00+01:00",
            "2026-03-30T00:00:00+02:00",
            60,
        ),
        // A repeated local time means its first occurrence.
        (
            "timezone: Europe/Oslo\nhours: { sun: \"00:00-02:30\" }",
            "2026-10-25T00:00:00+02:00",
            "2026-10-26T00:00:00+01:00",
            150,
        ),
        // An overnight shift gets the extra hour when clocks go back...
        (
            "timezone: Europe/Oslo\nhours: { sat: \"22:00-06:00\" }",
            "2026-10-24T12:00:00+02:00",
            "2026-10-25T12:00:00+01:00",
            9 * 60,
        ),
        // ...and loses one when they go forward.
        (
            "timezone: America/New_York\nhours: { sat: \"22:00-06:00\" }",
            "2026-03-07T12:00:00-05:00",
            "2026-03-08T12:00:00-04:00",
            7 * 60,
        ),
    ];
    for (yaml, a, b, minutes) in rows {
        let cal = calendar(yaml);
        assert_eq!(
            cal.business_duration(t(a), t(b)),
            Duration::minutes(*minutes),
            "{yaml} from {a}"
        );
    }
}

#[test]
fn open_and_next_open() {
    let oslo = calendar(OSLO);
    let night = calendar(
        "timezone: Europe/Oslo\nhours: { mon-fri: \"22:00-06:00\" }\nholidays: [\"2026-12-24\"]",
    );
    let rows: &[(&Calendar, &str, bool, &str)] = &[
        (
            &oslo,
            "2026-11-23T08:00:00+01:00",
            true,
            "2026-11-23T08:00:00+01:00",
        ),
        (
            &oslo,
            "2026-11-23T11:45:00+01:00",
            false,
            "2026-11-23T12:00:00+01:00",
        ),
        (
            &oslo,
            "2026-11-23T16:00:00+01:00",
            false,
            "2026-11-24T08:00:00+01:00",
        ),
        (
            &oslo,
            "2026-12-24T10:00:00+01:00",
            false,
            "2026-12-27T10:00:00+01:00",
        ),
        (
            &oslo,
            "2026-12-31T10:00:00+01:00",
            false,
            "2027-01-02T10:00:00+01:00",
        ),
        (
            &night,
            "2026-11-24T03:00:00+01:00",
            true,
            "2026-11-24T03:00:00+01:00",
        ),
        (
            &night,
            "2026-11-28T03:00:00+01:00",
            true,
            "2026-11-28T03:00:00+01:00",
        ),
        (
            &night,
            "2026-11-28T07:00:00+01:00",
            false,
            "2026-11-30T22:00:00+01:00",
        ),
        // Christmas Eve's night shift is closed; the one from the 23rd runs until 06:00.
        (
            &night,
            "2026-12-24T05:00:00+01:00",
            true,
            "2026-12-24T05:00:00+01:00",
        ),
        (
            &night,
            "2026-12-24T23:00:00+01:00",
            false,
            "2026-12-25T22:00:00+01:00",
        ),
    ];
    for (cal, at, open, next) in rows {
        assert_eq!(cal.is_open(t(at)), *open, "is_open {at}");
        assert_eq!(cal.next_open(t(at)), Some(t(next)), "next_open {at}");
    }
}

#[test]
fn business_days() {
    let oslo = calendar(OSLO);
    let rows = [
        ("2026-11-23T10:00:00+01:00", 2, "2026-11-25T10:00:00+01:00"),
        ("2026-11-27T15:00:00+01:00", 1, "2026-11-28T14:00:00+01:00"), // saturday closes at 14
        ("2026-11-27T09:00:00+01:00", 1, "2026-11-28T10:00:00+01:00"), // saturday opens at 10
        ("2026-11-28T20:00:00+01:00", 1, "2026-12-01T08:00:00+01:00"),
        ("2026-11-23T11:45:00+01:00", 1, "2026-11-24T12:00:00+01:00"), // from the next opening
        ("2026-12-22T10:00:00+01:00", 2, "2026-12-27T10:00:00+01:00"), // special sunday
        ("2026-03-27T10:00:00+01:00", 1, "2026-03-28T10:00:00+01:00"),
        ("2026-03-27T10:00:00+01:00", 2, "2026-03-30T10:00:00+02:00"), // same wall clock after DST
    ];
    for (start, n, end) in rows {
        assert_eq!(
            oslo.add_days(t(start), n),
            Some(t(end)),
            "{start} + {n} days"
        );
    }
    // A night desk: Tuesday 03:00 is Monday's shift; a day later is inside Tuesday's.
    let night = calendar("timezone: Europe/Oslo\nhours: { mon-fri: \"22:00-06:00\" }");
    assert_eq!(
        night.add_days(t("2026-11-24T03:00:00+01:00"), 1),
        Some(t("2026-11-25T03:00:00+01:00"))
    );
    assert_eq!(
        night.add_days(t("2026-11-24T12:00:00+01:00"), 1),
        Some(t("2026-11-25T22:00:00+01:00")),
        "from Tuesday's opening at 22:00"
    );
}

#[test]
fn expected_response_phrases() {
    let oslo = calendar(OSLO);
    let h = |n| BusinessSpan::time(Duration::hours(n));
    let d = BusinessSpan::days;
    // (now, target, language, phrase, exact moment)
    #[rustfmt::skip]
    let rows: &[(&str, BusinessSpan, Lang, &str, &str)] = &[
        ("2026-11-23T09:00:00+01:00", h(2), Lang::En, "within 2 hours", "2026-11-23T11:00:00+01:00"),
        ("2026-11-23T10:30:00+01:00", h(2), Lang::En, "within 3 hours", "2026-11-23T13:00:00+01:00"),
        ("2026-11-23T13:00:00+01:00", h(2), Lang::Nb, "innen 2 timer", "2026-11-23T15:00:00+01:00"),
        ("2026-11-23T13:00:00+01:00", BusinessSpan::time(Duration::minutes(30)), Lang::Ar, "خلال 30 دقيقة", "2026-11-23T13:30:00+01:00"),
        ("2026-11-23T13:00:00+01:00", h(1), Lang::Zh, "1小时内", "2026-11-23T14:00:00+01:00"),
        ("2026-11-23T15:00:00+01:00", h(2), Lang::Da, "senest i morgen kl. 9.00", "2026-11-24T09:00:00+01:00"),
        ("2026-11-23T22:10:00+01:00", h(4), Lang::En, "by 12:30 tomorrow", "2026-11-24T12:30:00+01:00"),
        ("2026-11-24T06:00:00+01:00", h(1), Lang::Zh, "今天09:00前", "2026-11-24T09:00:00+01:00"),
        ("2026-11-27T18:00:00+01:00", h(4), Lang::En, "by 14:00 tomorrow", "2026-11-28T14:00:00+01:00"),
        ("2026-11-28T15:00:00+01:00", h(4), Lang::En, "by 12:30 on Monday", "2026-11-30T12:30:00+01:00"),
        ("2026-11-28T15:00:00+01:00", h(4), Lang::Zh, "下周一12:30前", "2026-11-30T12:30:00+01:00"),
        ("2026-11-28T15:00:00+01:00", h(4), Lang::Nb, "senest mandag kl. 12.30", "2026-11-30T12:30:00+01:00"),
        ("2026-11-28T15:00:00+01:00", h(4), Lang::Da, "senest mandag kl. 12.30", "2026-11-30T12:30:00+01:00"),
        ("2026-11-28T15:00:00+01:00", h(4), Lang::Ar, "يوم الاثنين قبل الساعة 12:30", "2026-11-30T12:30:00+01:00"),
        // Christmas: the 23rd closes at 12, the 24th to 26th are holidays, the 27th is a
        // special Sunday (10-12), then Monday.
        ("2026-12-23T13:00:00+01:00", h(4), Lang::En, "by 10:00 on Monday", "2026-12-28T10:00:00+01:00"),
        ("2026-12-23T13:00:00+01:00", h(4), Lang::Ar, "يوم الاثنين قبل الساعة 10:00", "2026-12-28T10:00:00+01:00"),
        ("2026-12-30T17:00:00+01:00", h(4), Lang::En, "by 14:00 on Saturday", "2027-01-02T14:00:00+01:00"),
        ("2026-11-23T10:00:00+01:00", d(2), Lang::Nb, "senest onsdag kl. 10.00", "2026-11-25T10:00:00+01:00"),
        ("2026-12-18T17:00:00+01:00", d(5), Lang::En, "by 10:00 on Monday 28 December", "2026-12-28T10:00:00+01:00"),
        ("2026-12-18T17:00:00+01:00", d(5), Lang::Da, "senest mandag den 28. december kl. 10.00", "2026-12-28T10:00:00+01:00"),
        ("2026-12-28T10:00:00+01:00", d(5), Lang::En, "by 10:00 on Tuesday 5 January 2027", "2027-01-05T10:00:00+01:00"),
        ("2026-12-28T10:00:00+01:00", d(5), Lang::Zh, "2027年1月5日（周二）10:00前", "2027-01-05T10:00:00+01:00"),
        ("2026-12-28T10:00:00+01:00", d(5), Lang::Nb, "senest tirsdag 5. januar 2027 kl. 10.00", "2027-01-05T10:00:00+01:00"),
        // Across the change to summer time: Saturday afternoon to Monday.
        ("2026-03-28T15:00:00+01:00", h(4), Lang::En, "by 12:30 on Monday", "2026-03-30T12:30:00+02:00"),
    ];
    let mut wrong = Vec::new();
    for (now, target, lang, text, at) in rows {
        let e = expected_response(&oslo, *target, t(now), *lang, None).unwrap();
        if e.text != *text || e.at != t(at) {
            wrong.push(format!(
                "{now} {lang:?}: {:?} at {} (want {text:?} at {at})",
                e.text,
                e.at_rfc3339()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Shown in the customer's zone when given: 12:30 in Oslo is 06:30 in New York.
    let e = expected_response(
        &oslo,
        h(4),
        t("2026-11-28T15:00:00+01:00"),
        Lang::En,
        Some(chrono_tz::America::New_York),
    )
    .unwrap();
    assert_eq!(e.text, "by 06:30 on Monday");
    assert_eq!(e.at_rfc3339(), "2026-11-30T06:30:00-05:00");
}

fn diagnostics(yaml: &str) -> Vec<String> {
    match Config::from_yaml("r.yaml", yaml) {
        Ok(c) => c.warnings.iter().map(|d| d.to_string()).collect(),
        Err(d) => d.items().iter().map(|d| d.to_string()).collect(),
    }
}

#[test]
fn calendar_mistakes_are_reported_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let ics = dir.path().join("no.ics");
    std::fs::write(
        &ics,
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260517\nRRULE:FREQ=WEEKLY\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .unwrap();
    let cal = |body: &str| format!("calendars:\n  oslo:\n{}", indent(body, 4));
    let ok_hours = "hours: { mon-fri: \"08:00-16:00\" }\n";
    let cases: Vec<(&str, String)> = vec![
        (
            "time zone typo",
            cal(&format!("timezone: Europe/Olso\n{ok_hours}")),
        ),
        (
            "a city alone",
            cal(&format!("timezone: Riyadh\n{ok_hours}")),
        ),
        (
            "hours out of range",
            cal("timezone: Europe/Oslo\nhours: { mon: \"25:00-26:00\" }\n"),
        ),
        (
            "overlapping windows",
            cal("timezone: Europe/Oslo\nhours:\n  mon-fri: [\"08:00-12:00\", \"11:30-16:00\"]\n"),
        ),
        (
            "overnight window into the next day",
            cal("timezone: Europe/Oslo\nhours:\n  sun: \"22:00-06:00\"\n  mon: \"05:00-12:00\"\n"),
        ),
        (
            "unknown weekday",
            cal("timezone: Europe/Oslo\nhours: { mon-fry: \"08:00-16:00\" }\n"),
        ),
        (
            "a day twice",
            cal("timezone: Europe/Oslo\nhours: { mon-fri: \"08:00-16:00\", tue: \"09:00-10:00\" }\n"),
        ),
        (
            "bad holiday date",
            cal(&format!("timezone: Europe/Oslo\n{ok_hours}holidays: [\"2026-02-30\"]\n")),
        ),
        (
            "reversed range",
            cal(&format!("timezone: Europe/Oslo\n{ok_hours}holidays: [{{ from: 2026-12-31, to: 2026-12-24 }}]\n")),
        ),
        (
            "missing ics",
            cal(&format!("timezone: Europe/Oslo\n{ok_hours}holidays: [{{ ical: nowhere.ics }}]\n")),
        ),
        (
            "unknown holiday key",
            cal(&format!("timezone: Europe/Oslo\n{ok_hours}holidays: [{{ dat: 2026-12-24 }}]\n")),
        ),
        (
            "no hours",
            cal("timezone: Europe/Oslo\n"),
        ),
        (
            "unknown calendar in within_hours",
            format!("{}rules:\n  - name: a\n    on: ticket.created\n    when: {{ within_hours: olso }}\n    then: [ {{ add_tags: [x] }} ]\n", cal(&format!("timezone: Europe/Oslo\n{ok_hours}"))),
        ),
        (
            "business time without a calendar",
            "rules:\n  - name: a\n    on: ticket.created\n    then:\n      - schedule: { after: 2 business days, then: [ { add_tags: [x] } ] }\n".into(),
        ),
        (
            "unknown calendar in schedule",
            "rules:\n  - name: a\n    on: ticket.created\n    then:\n      - schedule: { after: 2d, calendar: oslo, then: [ { add_tags: [x] } ] }\n".into(),
        ),
        (
            "business weeks",
            format!("{}rules:\n  - name: a\n    on: ticket.created\n    then:\n      - schedule: {{ after: 1w, calendar: oslo, then: [ {{ add_tags: [x] }} ] }}\n", cal(&format!("timezone: Europe/Oslo\n{ok_hours}"))),
        ),
        (
            "expected_response without targets",
            "templates:\n  ack: \"We answer {{ expected_response }}.\"\nrules:\n  - name: a\n    on: ticket.created\n    then: [ { reply: { template: ack } } ]\n".into(),
        ),
        (
            "a priority without a target",
            format!("{}settings:\n  response_calendar: oslo\n  first_response: {{ urgent: 30m, high: 2h, normal: 4h }}\n", cal(&format!("timezone: Europe/Oslo\n{ok_hours}"))),
        ),
        (
            "a target that is not a duration",
            format!("{}settings:\n  response_calendar: oslo\n  first_response: {{ urgent: soon, high: 2h, normal: 4h, low: 2d }}\n", cal(&format!("timezone: Europe/Oslo\n{ok_hours}"))),
        ),
        (
            "response calendar typo",
            format!("{}settings:\n  response_calendar: olso\n  first_response: {{ urgent: 30m, high: 2h, normal: 4h, low: 2d }}\n", cal(&format!("timezone: Europe/Oslo\n{ok_hours}"))),
        ),
    ];
    insta::assert_snapshot!(snapshot::cases(
        cases.iter().map(|(what, yaml)| (what, diagnostics(yaml)))
    ));

    // An .ics error points into the .ics file, with its line.
    let rules = dir.path().join("r.yaml");
    std::fs::write(
        &rules,
        cal(&format!(
            "timezone: Europe/Oslo\n{ok_hours}holidays: [{{ ical: no.ics }}]\n"
        )),
    )
    .unwrap();
    let err = Config::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("no.ics:4:1: RRULE FREQ=WEEKLY is not supported; only FREQ=YEARLY (used by calendars.oslo.holidays[0].ical)"),
        "{err}"
    );
}

const PACK: &str = r#"
calendars:
  oslo:
    timezone: Europe/Oslo
    hours: { mon-fri: "08:00-16:00" }
    holidays: ["2026-12-24", "2026-12-25"]
settings:
  response_calendar: oslo
  first_response: { urgent: 30m, high: 2h, normal: 4h, low: 2d }
templates:
  ack:
    en: "We will answer {{ expected_response }} ({{ expected_response_at }})."
    nb: "Vi svarer {{ expected_response }}."
rules:
  - name: after hours
    on: ticket.created
    when: { not: { within_hours: oslo } }
    then: [ { add_tags: [after_hours] } ]
  - name: ack
    on: ticket.created
    then: [ { reply: { template: ack } } ]
  - name: nudge
    on: ticket.status_changed
    then:
      - schedule: { name: nudge, after: 2 business days, calendar: oslo, then: [ { add_tags: [nudged] } ] }
      - schedule: { name: chase, after: 4 business hours, calendar: oslo, then: [ { add_tags: [chased] } ] }
"#;

fn created(lang: &str, priority: &str) -> Event {
    Event::from_json(&format!(
        r#"{{"id":"e1","type":"ticket.created","ticket":{{"id":"T1","channel":"email","priority":"{priority}","customer":{{"language":"{lang}"}}}},"message":{{"text":"hello"}}}}"#
    ))
    .unwrap()
}

fn reply(d: &engine::Decision) -> String {
    d.actions
        .iter()
        .find_map(|a| match a {
            Action::Reply { text, .. } => Some(text.clone()),
            _ => None,
        })
        .expect("a reply")
}

#[test]
fn rules_see_business_time() {
    let config = Config::from_yaml("p.yaml", PACK).unwrap_or_else(|d| panic!("{d}"));
    let e = created("en", "normal");
    let d = engine::decide(&config, &e.ticket, &e, t("2026-11-23T10:00:00+01:00"));
    assert!(d.ticket.tags.is_empty(), "open at 10:00 on a Monday");
    assert_eq!(
        reply(&d),
        "We will answer within 4 hours (2026-11-23T14:00:00+01:00)."
    );

    let d = engine::decide(&config, &e.ticket, &e, t("2026-12-23T17:00:00+01:00"));
    assert_eq!(d.ticket.tags, ["after_hours"]);
    assert_eq!(
        reply(&d),
        "We will answer by 12:00 on Monday (2026-12-28T12:00:00+01:00)."
    );

    let urgent = created("nb-NO", "urgent");
    let d = engine::decide(
        &config,
        &urgent.ticket,
        &urgent,
        t("2026-11-27T22:00:00+01:00"),
    );
    assert_eq!(reply(&d), "Vi svarer senest mandag kl. 08.30.");

    let mut pending = Event::from_json(
        r#"{"id":"e2","type":"ticket.status_changed","ticket":{"id":"T1","status":"pending"}}"#,
    )
    .unwrap();
    pending.ticket.customer.language = Some("en".into());
    let d = engine::decide(
        &config,
        &pending.ticket,
        &pending,
        t("2026-11-27T15:00:00+01:00"),
    );
    let due: Vec<(String, DateTime<Utc>)> = d
        .timers
        .iter()
        .map(|x| (x.name.clone(), x.due_at))
        .collect();
    assert_eq!(
        due,
        [
            ("nudge".to_string(), t("2026-12-01T15:00:00+01:00")),
            ("chase".to_string(), t("2026-11-30T11:00:00+01:00")),
        ]
    );

    let x = engine::explain(&config, &e.ticket, &e, t("2026-11-23T10:00:00+01:00"));
    let after = x
        .trace
        .rules
        .iter()
        .find(|r| r.rule == "after hours")
        .unwrap();
    assert_eq!(after.failed[0].condition, "not (within_hours oslo)");
}

// ---- properties ----------------------------------------------------------------------------

const ZONES: &[Tz] = &[
    chrono_tz::Europe::Oslo,
    chrono_tz::America::New_York,
    chrono_tz::Asia::Riyadh,
    chrono_tz::Asia::Shanghai,
];

/// A random calendar: per weekday up to three windows on a 15-minute grid, sometimes an
/// overnight one, and some holidays in 2026–2027.
fn arb_calendar(day_only: bool) -> impl Strategy<Value = Calendar> {
    let day = prop::collection::btree_set(0u32..=96, 0..=6);
    (
        0..ZONES.len(),
        prop::collection::vec(day, 7),
        prop::collection::vec(any::<bool>(), 7),
        prop::collection::vec(0u32..730, 0..20),
    )
        .prop_map(move |(zone, days, overnight, holidays)| {
            let mut week = WeekHours::default();
            let all = [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ];
            for (i, points) in days.iter().enumerate() {
                let mut points: Vec<u32> = points.iter().map(|q| q * 900).collect();
                if day_only {
                    // Keep clear of the hours that clocks skip or repeat.
                    points.retain(|p| (6 * 3600..=22 * 3600).contains(p));
                }
                let mut windows: Vec<Window> = points
                    .chunks_exact(2)
                    .map(|c| Window {
                        start: c[0],
                        end: c[1],
                    })
                    .collect();
                if !day_only && overnight[i] && points.len() % 2 == 1 {
                    let start = *points.last().unwrap();
                    if (12 * 3600..86_400).contains(&start) {
                        windows.push(Window {
                            start,
                            end: 86_400 + 4 * 3600,
                        });
                    }
                }
                week.set(all[i], windows).unwrap();
            }
            // Drop overnight windows that run into the next day's hours.
            while !week.overnight_overlaps().is_empty() {
                for d in all {
                    let kept: Vec<Window> = week
                        .get(d)
                        .iter()
                        .copied()
                        .filter(|w| !w.overnight())
                        .collect();
                    week.set(d, kept).unwrap();
                }
            }
            if week.is_empty() {
                week.set(Weekday::Wed, vec![Window::parse("09:00-10:00").unwrap()])
                    .unwrap();
            }
            let mut h = Holidays::default();
            let base = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            for d in holidays {
                h.add_date(base + Duration::days(d.into()));
            }
            Calendar::new("p", ZONES[zone])
                .with_week(week)
                .with_holidays(h)
        })
}

fn arb_time() -> impl Strategy<Value = DateTime<Utc>> {
    // 2025-06-01 to 2028-06-01, to the second.
    (1_748_736_000i64..1_843_430_400).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn add_then_measure_gives_the_same_duration(cal in arb_calendar(false), start in arb_time(), frac in 1u64..=4000) {
        let week = cal.week().weekly_seconds() as i64;
        let d = Duration::seconds((week * frac as i64 / 1000).max(1));
        let end = cal.add(start, d).expect("open hours exist");
        prop_assert_eq!(cal.business_duration(start, end), d);
        prop_assert!(end > start);
        // The result is inside opening hours: open just before it (it may be a closing time).
        prop_assert!(cal.is_open(end - Duration::seconds(1)), "{} not open before", end);
    }

    #[test]
    fn add_is_monotonic_in_the_start(cal in arb_calendar(false), a in arb_time(), b in arb_time(), hours in 1i64..60) {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        let d = Duration::minutes(hours * 37);
        prop_assert!(cal.add(a, d).unwrap() <= cal.add(b, d).unwrap());
    }

    #[test]
    fn next_open_is_open_and_nothing_is_open_before_it(cal in arb_calendar(false), t in arb_time()) {
        let n = cal.next_open(t).unwrap();
        prop_assert!(n >= t);
        prop_assert!(cal.is_open(n));
        prop_assert_eq!(cal.business_duration(t, n), Duration::zero());
    }

    #[test]
    fn business_days_land_in_hours(cal in arb_calendar(false), a in arb_time(), n in 1u32..10) {
        let r = cal.add_days(a, n).unwrap();
        prop_assert!(r > a);
        prop_assert!(cal.is_open(r) || cal.is_open(r - Duration::seconds(1)), "{} -> {}", a, r);
    }

    #[test]
    fn business_days_are_monotonic_and_land_in_hours(cal in arb_calendar(true), a in arb_time(), b in arb_time(), n in 1u32..10) {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        let (ra, rb) = (cal.add_days(a, n).unwrap(), cal.add_days(b, n).unwrap());
        prop_assert!(ra <= rb, "{} -> {}, {} -> {}", a, ra, b, rb);
        prop_assert!(cal.is_open(ra) || cal.is_open(ra - Duration::seconds(1)));
        prop_assert!(ra > a);
    }
}
