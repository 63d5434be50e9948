//! How a response time reads in the customer's language: "within 2 hours", "by 12:00
//! tomorrow", and their Norwegian, Danish, Arabic and Chinese forms.
//!
//! Each language is written out by hand, with its own grammar: Arabic counts with the dual
//! and the plural of 3–10, Danish says "mandag den 28. december", Chinese says "下周一" when the
//! day falls in next week. Clock times are 24-hour; Norwegian and Danish write `kl. 08.00`.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};

/// A language the phrases exist in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Norwegian Bokmål (also for `no` and Nynorsk readers).
    Nb,
    /// Danish.
    Da,
    /// Arabic (Modern Standard).
    Ar,
    /// Chinese (Simplified).
    Zh,
}

impl Lang {
    /// Every language, for tests and docs.
    pub const ALL: &'static [Lang] = &[Lang::En, Lang::Nb, Lang::Da, Lang::Ar, Lang::Zh];

    /// The language for a BCP 47 tag (`nb-NO`, `zh-Hans`, `ar-SA`), if there are phrases for it.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let base = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        Some(match base.as_str() {
            "en" => Lang::En,
            "nb" | "no" | "nn" => Lang::Nb,
            "da" => Lang::Da,
            "ar" => Lang::Ar,
            "zh" => Lang::Zh,
            _ => return None,
        })
    }

    /// The first language of a fallback chain that has phrases; English when none has.
    pub fn pick<'a>(chain: impl IntoIterator<Item = &'a str>) -> Lang {
        chain
            .into_iter()
            .find_map(Lang::from_tag)
            .unwrap_or(Lang::En)
    }
}

/// How far away a response is, as a phrase says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A relative time: minutes (a multiple of 5, under 60) or whole hours.
    Within {
        /// Minutes, when under an hour.
        minutes: u32,
        /// Hours, when an hour or more.
        hours: u32,
    },
    /// A deadline at a local time, with the customer's local date of "now" for today/tomorrow.
    By {
        /// The deadline's local date.
        date: NaiveDate,
        /// The deadline's local time.
        time: NaiveTime,
        /// The local date of now.
        today: NaiveDate,
    },
}

const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const NB_DAYS: [&str; 7] = [
    "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag",
];
const NB_MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];
const DA_DAYS: [&str; 7] = NB_DAYS;
const DA_MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
];
const AR_DAYS: [&str; 7] = [
    "الاثنين",
    "الثلاثاء",
    "الأربعاء",
    "الخميس",
    "الجمعة",
    "السبت",
    "الأحد",
];
const AR_MONTHS: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];
const ZH_DAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

/// Which day a deadline falls on, seen from today.
enum Day {
    Today,
    Tomorrow,
    /// Within the coming six days; `next_week` when it is past Sunday.
    Weekday(Weekday, bool),
    /// Further away; `true` when it is not this year.
    Date(bool),
}

fn day(date: NaiveDate, today: NaiveDate) -> Day {
    let ahead = (date - today).num_days();
    match ahead {
        i64::MIN..=0 => Day::Today,
        1 => Day::Tomorrow,
        2..=6 => {
            let next_week = i64::from(today.weekday().num_days_from_monday()) + ahead >= 7;
            Day::Weekday(date.weekday(), next_week)
        }
        _ => Day::Date(date.year() != today.year()),
    }
}

fn wd(w: Weekday) -> usize {
    w.num_days_from_monday() as usize
}

/// Arabic noun for a count of hours or minutes: dual for 2, plural for 3–10, singular after
/// 11 and more (and for 1, where the number is not written).
fn ar_count(n: u32, one: &str, two: &str, plural: &str) -> String {
    match n {
        1 => one.to_string(),
        2 => two.to_string(),
        _ if (3..=10).contains(&(n % 100)) => format!("{n} {plural}"),
        _ => format!("{n} {one}"),
    }
}

/// The phrase for `when` in `lang`.
pub fn phrase(lang: Lang, when: When) -> String {
    match when {
        When::Within { minutes, hours } => within(lang, minutes, hours),
        When::By { date, time, today } => by(lang, date, time, day(date, today)),
    }
}

/// When a closed desk opens again, as a phrase that follows "we are back": "at 08:00
/// tomorrow", "i morgen kl. 08.00", "on Monday at 08:00". `today` is the local date of now.
pub fn opening(lang: Lang, date: NaiveDate, time: NaiveTime, today: NaiveDate) -> String {
    let (h, m) = (time.hour(), time.minute());
    let (d, mo, y) = (date.day(), date.month0() as usize, date.year());
    let dayname = |names: &[&'static str; 7]| names[wd(date.weekday())];
    match (lang, day(date, today)) {
        (Lang::En, Day::Today) => format!("at {h:02}:{m:02} today"),
        (Lang::En, Day::Tomorrow) => format!("at {h:02}:{m:02} tomorrow"),
        (Lang::En, Day::Weekday(..)) => format!("on {} at {h:02}:{m:02}", dayname(&EN_DAYS)),
        (Lang::En, Day::Date(year)) => {
            let year = if year { format!(" {y}") } else { String::new() };
            format!(
                "on {} {d} {}{year} at {h:02}:{m:02}",
                dayname(&EN_DAYS),
                EN_MONTHS[mo]
            )
        }
        (Lang::Nb, Day::Today) => format!("i dag kl. {h:02}.{m:02}"),
        (Lang::Nb, Day::Tomorrow) => format!("i morgen kl. {h:02}.{m:02}"),
        (Lang::Nb, Day::Weekday(..)) => format!("{} kl. {h:02}.{m:02}", dayname(&NB_DAYS)),
        (Lang::Nb, Day::Date(year)) => {
            let year = if year { format!(" {y}") } else { String::new() };
            format!(
                "{} {d}. {}{year} kl. {h:02}.{m:02}",
                dayname(&NB_DAYS),
                NB_MONTHS[mo]
            )
        }
        (Lang::Da, Day::Today) => format!("i dag kl. {h}.{m:02}"),
        (Lang::Da, Day::Tomorrow) => format!("i morgen kl. {h}.{m:02}"),
        (Lang::Da, Day::Weekday(..)) => format!("{} kl. {h}.{m:02}", dayname(&DA_DAYS)),
        (Lang::Da, Day::Date(year)) => {
            let year = if year { format!(" {y}") } else { String::new() };
            format!(
                "{} den {d}. {}{year} kl. {h}.{m:02}",
                dayname(&DA_DAYS),
                DA_MONTHS[mo]
            )
        }
        (Lang::Ar, Day::Today) => format!("اليوم الساعة {h:02}:{m:02}"),
        (Lang::Ar, Day::Tomorrow) => format!("غدًا الساعة {h:02}:{m:02}"),
        (Lang::Ar, Day::Weekday(..)) => {
            format!("يوم {} الساعة {h:02}:{m:02}", dayname(&AR_DAYS))
        }
        (Lang::Ar, Day::Date(year)) => {
            let year = if year { format!(" {y}") } else { String::new() };
            format!(
                "يوم {} {d} {}{year} الساعة {h:02}:{m:02}",
                dayname(&AR_DAYS),
                AR_MONTHS[mo]
            )
        }
        (Lang::Zh, Day::Today) => format!("今天{h:02}:{m:02}"),
        (Lang::Zh, Day::Tomorrow) => format!("明天{h:02}:{m:02}"),
        (Lang::Zh, Day::Weekday(_, next)) => {
            let next = if next { "下" } else { "" };
            format!("{next}{}{h:02}:{m:02}", dayname(&ZH_DAYS))
        }
        (Lang::Zh, Day::Date(year)) => {
            let year = if year {
                format!("{y}年")
            } else {
                String::new()
            };
            format!(
                "{year}{}月{d}日（{}）{h:02}:{m:02}",
                mo + 1,
                dayname(&ZH_DAYS)
            )
        }
    }
}

fn within(lang: Lang, minutes: u32, hours: u32) -> String {
    let plural = |n: u32, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    match lang {
        Lang::En if hours > 0 => format!("within {}", plural(hours, "hour", "hours")),
        Lang::En => format!("within {}", plural(minutes, "minute", "minutes")),
        Lang::Nb if hours > 0 => format!("innen {}", plural(hours, "time", "timer")),
        Lang::Nb => format!("innen {}", plural(minutes, "minutt", "minutter")),
        Lang::Da if hours > 0 => format!("inden for {}", plural(hours, "time", "timer")),
        Lang::Da => format!("inden for {}", plural(minutes, "minut", "minutter")),
        Lang::Ar if hours > 0 => format!("خلال {}", ar_count(hours, "ساعة", "ساعتين", "ساعات")),
        Lang::Ar => format!("خلال {}", ar_count(minutes, "دقيقة", "دقيقتين", "دقائق")),
        Lang::Zh if hours > 0 => format!("{hours}小时内"),
        Lang::Zh => format!("{minutes}分钟内"),
    }
}

fn by(lang: Lang, date: NaiveDate, time: NaiveTime, day: Day) -> String {
    let (h, m) = (time.hour(), time.minute());
    let (d, mo, y) = (date.day(), date.month0() as usize, date.year());
    match lang {
        Lang::En => {
            let clock = format!("{h:02}:{m:02}");
            match day {
                Day::Today => format!("by {clock} today"),
                Day::Tomorrow => format!("by {clock} tomorrow"),
                Day::Weekday(w, _) => format!("by {clock} on {}", EN_DAYS[wd(w)]),
                Day::Date(year) => {
                    let year = if year { format!(" {y}") } else { String::new() };
                    format!(
                        "by {clock} on {} {d} {}{year}",
                        EN_DAYS[wd(date.weekday())],
                        EN_MONTHS[mo]
                    )
                }
            }
        }
        Lang::Nb => {
            let clock = format!("kl. {h:02}.{m:02}");
            match day {
                Day::Today => format!("senest {clock} i dag"),
                Day::Tomorrow => format!("senest i morgen {clock}"),
                Day::Weekday(w, _) => format!("senest {} {clock}", NB_DAYS[wd(w)]),
                Day::Date(year) => {
                    let year = if year { format!(" {y}") } else { String::new() };
                    format!(
                        "senest {} {d}. {}{year} {clock}",
                        NB_DAYS[wd(date.weekday())],
                        NB_MONTHS[mo]
                    )
                }
            }
        }
        Lang::Da => {
            let clock = format!("kl. {h}.{m:02}");
            match day {
                Day::Today => format!("senest {clock} i dag"),
                Day::Tomorrow => format!("senest i morgen {clock}"),
                Day::Weekday(w, _) => format!("senest {} {clock}", DA_DAYS[wd(w)]),
                Day::Date(year) => {
                    let year = if year { format!(" {y}") } else { String::new() };
                    format!(
                        "senest {} den {d}. {}{year} {clock}",
                        DA_DAYS[wd(date.weekday())],
                        DA_MONTHS[mo]
                    )
                }
            }
        }
        Lang::Ar => {
            let clock = format!("قبل الساعة {h:02}:{m:02}");
            match day {
                Day::Today => format!("اليوم {clock}"),
                Day::Tomorrow => format!("غدًا {clock}"),
                Day::Weekday(w, _) => format!("يوم {} {clock}", AR_DAYS[wd(w)]),
                Day::Date(year) => {
                    let year = if year { format!(" {y}") } else { String::new() };
                    format!(
                        "يوم {} {d} {}{year} {clock}",
                        AR_DAYS[wd(date.weekday())],
                        AR_MONTHS[mo]
                    )
                }
            }
        }
        Lang::Zh => {
            let clock = format!("{h:02}:{m:02}前");
            match day {
                Day::Today => format!("今天{clock}"),
                Day::Tomorrow => format!("明天{clock}"),
                Day::Weekday(w, next) => {
                    let next = if next { "下" } else { "" };
                    format!("{next}{}{clock}", ZH_DAYS[wd(w)])
                }
                Day::Date(year) => {
                    let year = if year {
                        format!("{y}年")
                    } else {
                        String::new()
                    };
                    format!(
                        "{year}{}月{d}日（{}）{clock}",
                        mo + 1,
                        ZH_DAYS[wd(date.weekday())]
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_(date: &str, time: &str, today: &str) -> When {
        When::By {
            date: date.parse().unwrap(),
            time: NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            today: today.parse().unwrap(),
        }
    }

    #[test]
    fn openings_in_every_language() {
        let t = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        let today: NaiveDate = "2026-11-27".parse().unwrap(); // a Friday
        let cases: &[(&str, [&str; 5])] = &[
            (
                "2026-11-28",
                [
                    "at 08:00 tomorrow",
                    "i morgen kl. 08.00",
                    "i morgen kl. 8.00",
                    "غدًا الساعة 08:00",
                    "明天08:00",
                ],
            ),
            (
                "2026-11-30",
                [
                    "on Monday at 08:00",
                    "mandag kl. 08.00",
                    "mandag kl. 8.00",
                    "يوم الاثنين الساعة 08:00",
                    "下周一08:00",
                ],
            ),
            (
                "2026-12-28",
                [
                    "on Monday 28 December at 08:00",
                    "mandag 28. desember kl. 08.00",
                    "mandag den 28. december kl. 8.00",
                    "يوم الاثنين 28 ديسمبر الساعة 08:00",
                    "12月28日（周一）08:00",
                ],
            ),
        ];
        for (date, want) in cases {
            for (lang, want) in Lang::ALL.iter().zip(want) {
                assert_eq!(
                    opening(*lang, date.parse().unwrap(), t, today),
                    *want,
                    "{lang:?} {date}"
                );
            }
        }
        assert_eq!(opening(Lang::En, today, t, today), "at 08:00 today");
    }

    fn all(when: When) -> Vec<String> {
        Lang::ALL.iter().map(|l| phrase(*l, when)).collect()
    }

    #[test]
    fn within() {
        let two_hours = When::Within {
            minutes: 0,
            hours: 2,
        };
        assert_eq!(
            all(two_hours),
            [
                "within 2 hours",
                "innen 2 timer",
                "inden for 2 timer",
                "خلال ساعتين",
                "2小时内"
            ]
        );
        let one_hour = When::Within {
            minutes: 0,
            hours: 1,
        };
        assert_eq!(
            all(one_hour),
            [
                "within 1 hour",
                "innen 1 time",
                "inden for 1 time",
                "خلال ساعة",
                "1小时内"
            ]
        );
        let thirty = When::Within {
            minutes: 30,
            hours: 0,
        };
        assert_eq!(
            all(thirty),
            [
                "within 30 minutes",
                "innen 30 minutter",
                "inden for 30 minutter",
                "خلال 30 دقيقة",
                "30分钟内"
            ]
        );
        let five = When::Within {
            minutes: 5,
            hours: 0,
        };
        assert_eq!(phrase(Lang::Ar, five), "خلال 5 دقائق");
        let eleven = When::Within {
            minutes: 0,
            hours: 11,
        };
        assert_eq!(phrase(Lang::Ar, eleven), "خلال 11 ساعة");
        let three = When::Within {
            minutes: 0,
            hours: 3,
        };
        assert_eq!(phrase(Lang::Ar, three), "خلال 3 ساعات");
    }

    #[test]
    fn deadlines() {
        // 2026-11-27 is a Friday.
        assert_eq!(
            all(by_("2026-11-27", "14:00", "2026-11-27")),
            [
                "by 14:00 today",
                "senest kl. 14.00 i dag",
                "senest kl. 14.00 i dag",
                "اليوم قبل الساعة 14:00",
                "今天14:00前"
            ]
        );
        assert_eq!(
            all(by_("2026-11-28", "08:30", "2026-11-27")),
            [
                "by 08:30 tomorrow",
                "senest i morgen kl. 08.30",
                "senest i morgen kl. 8.30",
                "غدًا قبل الساعة 08:30",
                "明天08:30前"
            ]
        );
        assert_eq!(
            all(by_("2026-11-30", "12:00", "2026-11-27")),
            [
                "by 12:00 on Monday",
                "senest mandag kl. 12.00",
                "senest mandag kl. 12.00",
                "يوم الاثنين قبل الساعة 12:00",
                "下周一12:00前"
            ]
        );
        assert_eq!(
            phrase(Lang::Zh, by_("2026-11-25", "12:00", "2026-11-23")),
            "周三12:00前"
        );
        assert_eq!(
            all(by_("2026-12-28", "08:00", "2026-12-18")),
            [
                "by 08:00 on Monday 28 December",
                "senest mandag 28. desember kl. 08.00",
                "senest mandag den 28. december kl. 8.00",
                "يوم الاثنين 28 ديسمبر قبل الساعة 08:00",
                "12月28日（周一）08:00前"
            ]
        );
        assert_eq!(
            all(by_("2027-01-04", "08:00", "2026-12-23")),
            [
                "by 08:00 on Monday 4 January 2027",
                "senest mandag 4. januar 2027 kl. 08.00",
                "senest mandag den 4. januar 2027 kl. 8.00",
                "يوم الاثنين 4 يناير 2027 قبل الساعة 08:00",
                "2027年1月4日（周一）08:00前"
            ]
        );
    }

    #[test]
    fn languages() {
        assert_eq!(Lang::from_tag("nb-NO"), Some(Lang::Nb));
        assert_eq!(Lang::from_tag("nn"), Some(Lang::Nb));
        assert_eq!(Lang::from_tag("zh-Hans"), Some(Lang::Zh));
        assert_eq!(Lang::from_tag("fi"), None);
        assert_eq!(Lang::pick(["sv", "da", "en"]), Lang::Da);
        assert_eq!(Lang::pick(["fi"]), Lang::En);
    }
}
