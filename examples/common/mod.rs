//! What the benchmarks that fill a store of real size share: a deterministic generator, the
//! daemon's write path for one event, the fill itself (or the store as it is, when it holds
//! events already), the command-line arguments and the timing of repeated reads.
//!
//! Each example compiles this module on its own and uses a part of it: what one leaves unused
//! is no warning. It is a directory without `main.rs`, so cargo does not take it for an example.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, Utc};
use frontdesk::config::Config;
use frontdesk::engine::{self, Context};
use frontdesk::model::{Event, Ticket};
use frontdesk::store::{self, Store};
use futures_util::StreamExt;

/// Where the recorded days begin.
pub fn start() -> DateTime<Utc> {
    "2026-05-01T00:00:00Z".parse().unwrap()
}

/// A small deterministic generator (SplitMix64), so every run builds the same store.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }

    /// Minutes between `lo` and `hi`.
    pub fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::minutes(lo + self.below((hi - lo) as u64) as i64)
    }
}

/// The events of one ticket, with the time each happened.
pub type History = Vec<(DateTime<Utc>, serde_json::Value)>;

/// Decides and commits one event as the daemon does: the event's ticket laid over the stored
/// one, what changed, the stored ticket as the KPI facts' prior, and for an event type the
/// pack's `assign: {team}` rules listen for, the routing state (statuses, loads, cursors) the
/// store reads under the routing locks.
pub async fn apply(
    store: &dyn Store,
    config: &Arc<Config>,
    at: DateTime<Utc>,
    body: serde_json::Value,
) {
    let event = Event::from_value(body.clone()).expect("a valid event");
    let patch = body["ticket"].clone();
    let fingerprint = store::fingerprint(&event);
    let need = config.routing_need(event.kind).clone();
    let config = config.clone();
    let decided = event.clone();
    store
        .apply_routed(
            event,
            None,
            fingerprint,
            at,
            need,
            Box::new(move |prior: Option<Ticket>, routing| {
                let ev = frontdesk::plan::prepare(prior.as_ref(), &decided, Some(&patch));
                let ctx = Context {
                    prior,
                    routing,
                    ..Context::default()
                };
                engine::decide_with(&config, &ctx, &ev.ticket, &ev, at)
            }),
        )
        .await
        .expect("the event is stored");
}

/// How to fill a store: the pack that decides the events (its file name and text), how many
/// tickets, how many of them are written at once, and the events of ticket `i` of `n`.
pub struct Fill<H> {
    pub file: &'static str,
    pub pack: &'static str,
    pub tickets: usize,
    pub concurrency: usize,
    pub history: H,
}

impl<H: Fn(usize, usize) -> History> Fill<H> {
    /// Opens the store at `url` and fills it, unless it holds events already (then it says
    /// so: only the `reads` are timed).
    pub async fn open(self, url: &str, reads: &str) -> Arc<dyn Store> {
        self.open_filling(url, reads).await.0
    }

    /// [`Fill::open`], and whether this run filled the store (it was empty).
    pub async fn open_filling(self, url: &str, reads: &str) -> (Arc<dyn Store>, bool) {
        let store = store::open(url).await.expect("the store opens");
        let empty = store
            .events_page(0, DateTime::<Utc>::UNIX_EPOCH, 1)
            .await
            .unwrap()
            .is_empty();
        if empty {
            self.run(store.clone()).await;
        } else {
            println!("{url} holds events already: timing the {reads} only");
        }
        (store, empty)
    }

    /// Writes every ticket's events through the write path, a few tickets at once; the
    /// progress goes to stderr, the totals to stdout.
    async fn run(self, store: Arc<dyn Store>) {
        let config =
            Arc::new(Config::from_yaml(self.file, self.pack).unwrap_or_else(|d| panic!("{d}")));
        let (tickets, history) = (self.tickets, &self.history);
        let started = Instant::now();
        let events = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        futures_util::stream::iter(0..tickets)
            .for_each_concurrent(self.concurrency, |i| {
                let (store, config, done, events) = (store.clone(), config.clone(), &done, &events);
                async move {
                    for (at, body) in history(i, tickets) {
                        apply(&*store, &config, at, body).await;
                        events.fetch_add(1, Ordering::Relaxed);
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % 10_000 == 0 {
                        eprintln!(
                            "  {n} tickets, {} events, {:.0} s",
                            events.load(Ordering::Relaxed),
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            })
            .await;
        let secs = started.elapsed().as_secs_f64();
        let events = events.into_inner();
        println!(
            "filled: {tickets} tickets, {events} events in {secs:.0} s ({:.0} events/s)",
            events as f64 / secs
        );
    }
}

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Whether `name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// `--tickets N` (100,000 unless told).
pub fn tickets() -> usize {
    arg("--tickets").map_or(100_000, |n| n.parse().expect("--tickets N"))
}

/// `--store URL`, or a SQLite file `name` in `dir`.
pub fn store_url(dir: &tempfile::TempDir, name: &str) -> String {
    arg("--store").unwrap_or_else(|| format!("sqlite://{}", dir.path().join(name).display()))
}

/// What [`time`] measured: the last answer, the first run's time (cold) and the median and
/// slowest of the runs after it.
pub struct Timed<T> {
    pub out: T,
    pub first: Elapsed,
    pub median: Elapsed,
    pub slowest: Elapsed,
}

impl<T> Timed<T> {
    /// The answer, the first run's time and the times of the runs after it.
    pub fn new(out: T, first: Elapsed, mut times: Vec<Elapsed>) -> Timed<T> {
        times.sort();
        Timed {
            out,
            first,
            median: times[times.len() / 2],
            slowest: times[times.len() - 1],
        }
    }
}

/// Runs `f` once (the first, cold run), then `runs` times.
pub async fn time<T, F, Fut>(runs: usize, mut f: F) -> Timed<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let t = Instant::now();
    let mut out = f().await;
    let first = t.elapsed();
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        out = f().await;
        times.push(t.elapsed());
    }
    Timed::new(out, first, times)
}
