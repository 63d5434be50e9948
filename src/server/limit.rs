//! Rate limits: how many requests one caller may send (per API token, or per address when it
//! sends none), and how many chat messages one session and one address may send.
//!
//! Each limit is a generic cell rate algorithm (GCRA): a key keeps only the time its next
//! request would be on schedule, so a limit costs one map entry per recent caller. "N per
//! period" lets N requests through at once and then one every period/N. Times come from the
//! daemon's clock, so tests move time instead of waiting.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::delivery::fence::Cidr;

/// "N per period": `100/s`, `30/min`, `1000/h`, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per period (0: no limit).
    pub count: u32,
    /// The period, in seconds.
    pub per_secs: u32,
}

impl Rate {
    /// No limit.
    pub const OFF: Rate = Rate {
        count: 0,
        per_secs: 1,
    };

    /// Whether this limits anything.
    pub fn on(self) -> bool {
        self.count > 0
    }

    /// The time between two requests at the steady rate.
    fn interval(self) -> Duration {
        Duration::microseconds(i64::from(self.per_secs) * 1_000_000 / i64::from(self.count.max(1)))
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Rate, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Rate::OFF);
        }
        let bad = || format!("`{s}` is not a rate: write N/s, N/min or N/h (`100/s`), or `off`");
        let (count, unit) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per_secs = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(format!(
                "`{s}`: a rate of 0 lets nothing through; write `off` for no limit"
            ));
        }
        Ok(Rate { count, per_secs })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.on() {
            return f.write_str("off");
        }
        let unit = match self.per_secs {
            1 => "s",
            60 => "min",
            3600 => "h",
            other => return write!(f, "{}/{other}s", self.count),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// The limits a daemon applies.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests to `/v1/*` per caller: an API token, or the address of a caller without one.
    pub api: Rate,
    /// Chat messages per session.
    pub chat_session: Rate,
    /// Chat requests (opening sessions, messages) per address.
    pub chat_address: Rate,
    /// Proxies whose `X-Forwarded-For` is believed: behind them, the caller is the last
    /// address the header names that is not itself a trusted proxy.
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            api: Rate {
                count: 1000,
                per_secs: 1,
            },
            chat_session: Rate {
                count: 30,
                per_secs: 60,
            },
            chat_address: Rate {
                count: 300,
                per_secs: 60,
            },
            trusted_proxies: Vec::new(),
        }
    }
}

impl Limits {
    /// No limits at all (benchmarks).
    pub fn off() -> Limits {
        Limits {
            api: Rate::OFF,
            chat_session: Rate::OFF,
            chat_address: Rate::OFF,
            trusted_proxies: Vec::new(),
        }
    }

    /// The caller's address: the peer, or behind a trusted proxy the address it forwarded for.
    pub fn caller(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|c| c.contains(*ip));
        if !trusted(&peer) {
            return peer;
        }
        let Some(header) = forwarded_for else {
            return peer;
        };
        let mut last = peer;
        for hop in header.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if trusted(&ip) => last = ip,
                Ok(ip) => return ip,
                // A hop that is not an address: trust stops here.
                Err(_) => return last,
            }
        }
        last
    }
}

/// Keys kept before the ones that are back on schedule are swept out.
const SWEEP_AT: usize = 100_000;

/// One limit over many keys.
#[derive(Debug)]
pub struct Limiter {
    rate: Rate,
    /// Per key, the time at which its next request is on schedule.
    due: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Limiter {
    /// A limiter of `rate`.
    pub fn new(rate: Rate) -> Limiter {
        Limiter {
            rate,
            due: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key` at `now`: `Ok`, or `Err(wait)`, how long until one would
    /// be let through.
    pub fn take(&self, key: &str, now: DateTime<Utc>) -> Result<(), Duration> {
        if !self.rate.on() {
            return Ok(());
        }
        let interval = self.rate.interval();
        // A full burst may arrive at once: `count` requests fit in the tolerance.
        let tolerance = interval * (self.rate.count as i32 - 1).max(0);
        let mut due = self.due.lock().unwrap_or_else(|p| p.into_inner());
        let next = due.get(key).copied().unwrap_or(now).max(now);
        if next - now > tolerance {
            return Err(next - now - tolerance);
        }
        if due.len() >= SWEEP_AT && !due.contains_key(key) {
            due.retain(|_, t| *t > now);
        }
        due.insert(key.to_string(), next + interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> DateTime<Utc> {
        let base: DateTime<Utc> = "2026-12-07T09:00:00Z".parse().unwrap();
        base + Duration::microseconds((secs * 1e6) as i64)
    }

    #[test]
    fn rates_are_read_and_written_back() {
        for s in ["100/s", "30/min", "1000/h", "off"] {
            assert_eq!(s.parse::<Rate>().unwrap().to_string(), s);
        }
        assert_eq!("5 / minute".parse::<Rate>().unwrap().to_string(), "5/min");
        for bad in ["100", "x/s", "10/day", "0/s", ""] {
            let e = bad.parse::<Rate>().unwrap_err();
            assert!(e.contains("rate") || e.contains("off"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_burst_passes_then_one_per_interval() {
        let l = Limiter::new("3/min".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(l.take("a", at(0.0)), Ok(()));
        }
        // The fourth waits for the first slot to come free: 20 s.
        assert_eq!(l.take("a", at(0.0)), Err(Duration::seconds(20)));
        assert_eq!(l.take("a", at(5.0)), Err(Duration::seconds(15)));
        // Other keys are not held up.
        assert_eq!(l.take("b", at(5.0)), Ok(()));
        assert_eq!(l.take("a", at(20.0)), Ok(()));
        assert!(l.take("a", at(20.0)).is_err());
        // After a quiet minute the whole burst is back.
        for _ in 0..3 {
            assert_eq!(l.take("a", at(100.0)), Ok(()));
        }
        assert!(l.take("a", at(100.0)).is_err());
    }

    #[test]
    fn refused_requests_do_not_push_the_schedule_back() {
        let l = Limiter::new("1/s".parse().unwrap());
        assert!(l.take("a", at(0.0)).is_ok());
        for _ in 0..100 {
            assert!(l.take("a", at(0.5)).is_err());
        }
        assert!(l.take("a", at(1.0)).is_ok());
    }

    #[test]
    fn off_lets_everything_through() {
        let l = Limiter::new(Rate::OFF);
        for _ in 0..10_000 {
            assert!(l.take("a", at(0.0)).is_ok());
        }
    }

    #[test]
    fn the_caller_behind_trusted_proxies() {
        let limits = Limits {
            trusted_proxies: vec![Cidr::parse("10.0.0.0/8").unwrap()],
            ..Limits::default()
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Not from a trusted proxy: the header is the caller's own word, not believed.
        assert_eq!(
            limits.caller(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // From the proxy: the last address it was not itself.
        assert_eq!(
            limits.caller(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7, 10.0.0.5")),
            ip("198.51.100.7")
        );
        assert_eq!(limits.caller(ip("10.0.0.2"), None), ip("10.0.0.2"));
        assert_eq!(
            limits.caller(ip("10.0.0.2"), Some("junk, 10.0.0.7")),
            ip("10.0.0.7")
        );
    }
}
