//! The admin console on a store of real size. Fills a store through its own write path (each
//! event decided by an SLA pack and committed with its decision, timers and outbox rows, as the
//! daemon does) with 100,000 tickets over 90 days — 30,000 customers, six teams, forty agents,
//! thirty tags, mostly solved — about 3 events each; then
//!
//! - before each chat ticket, a chat session with the example bot (`bots/support.yaml`) through
//!   the store's chat API as the daemon writes it: questions answered and not, "yes" and "no",
//!   handoffs; the pack assigns tickets created without an agent to their team (`assign`),
//!   where they wait in the queue, and the agents' statuses are set at the end;
//! - times the desk's reads, called directly: a ticket search for each filter (the first page
//!   of 50), the SLA board, the live counters, a timeline and the outbox counts;
//! - starts the daemon's HTTP server in this process over the same store (its clock at the end
//!   of the recording, no scheduler, an API token) and times whole pages over TCP, as a
//!   browser loads them: the overview, the ticket list with the searches people make, a
//!   ticket's page and its "Why?" fragments, the SLA board, the outbox, agents, bots, rules,
//!   the replay form, the assets, and the first event of the live counters' stream. Every
//!   answer must be 200 and the page asked for. The table gives each page's size, the median
//!   and the slowest of `--runs` reads (7) and the first, cold read.
//!
//! ```sh
//! cargo run --release --example console_bench                                       # a new SQLite file
//! cargo run --release --example console_bench -- --store sqlite:///tmp/console.db   # kept; reused when run again
//! cargo run --release --example console_bench -- --store postgres://postgres@127.0.0.1/console
//! cargo run --release --example console_bench -- --tickets 10000                    # smaller
//! cargo run --release --example console_bench -- --runs 21                          # more reads of each
//! cargo run --release --example console_bench -- --no-http                          # the desk's reads only
//! cargo run --release --example console_bench -- --http-only                        # the pages only
//! ```
//!
//! A store that already holds events is not filled again: only the reads are timed.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration as Elapsed, Instant};

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use common::{arg, flag, start, store_url, tickets, time, Fill, History, Rng, Timed};
use frontdesk::bot::{self, Input, Session, SessionState};
use frontdesk::faq::{Bot, ChatText};
use frontdesk::model::{Channel, Customer, Priority, Status};
use frontdesk::routing::AgentStatus;
use frontdesk::server::limit::Limits;
use frontdesk::server::{self, Options, Tokens};
use frontdesk::service::chat::ChatAnswer;
use frontdesk::service::views::TicketFilter;
use frontdesk::service::{Desk, ManualClock, Settings};
use frontdesk::store::Store;
use futures_util::StreamExt;
use serde_json::json;

const PACK: &str = r#"
sla:
  - name: standard
    first_response: { low: 24h, normal: 8h, high: 2h, urgent: 30m }
    resolution: { low: 10d, normal: 5d, high: 2d, urgent: 1d }
    warn_at: [50%, 80%]
rules:
  - name: tell the team about urgent tickets
    on: [ticket.created]
    when: { field: ticket.priority, eq: urgent }
    then: [ { webhook: { url: "http://127.0.0.1:9/urgent" } } ]
"#;

const DAYS: i64 = 90;
const TEAMS: &[&str] = &[
    "billing", "tech", "returns", "sales", "shipping", "accounts",
];
const TAGS: &[&str] = &[
    "vip",
    "refund",
    "damaged",
    "late",
    "invoice",
    "password",
    "login",
    "cancel",
    "upgrade",
    "downgrade",
    "gdpr",
    "bug",
    "feature",
    "complaint",
    "praise",
    "wrong-item",
    "missing-item",
    "address",
    "payment",
    "card",
    "paypal",
    "voucher",
    "return",
    "exchange",
    "warranty",
    "repair",
    "b2b",
    "wholesale",
    "press",
    "partner",
];
const FIRST: &[&str] = &[
    "Kari", "Ola", "Ingrid", "Lars", "Sofie", "Mads", "Emma", "Noah", "Fatima", "Omar", "Wei",
    "Li", "Anna", "Jonas", "Sara", "Ahmed", "Maja", "Elias", "Nora", "Lucas",
];
const LAST: &[&str] = &[
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Berg",
    "Haugen",
    "Hagen",
    "Eriksen",
    "Bakken",
    "Zhang",
    "Wang",
    "Haddad",
    "Nasser",
    "Lund",
];
const SUBJECTS: &[&str] = &[
    "Order not arrived",
    "Refund request",
    "Cannot log in",
    "Invoice is wrong",
    "Item arrived damaged",
    "Change my address",
    "Cancel my subscription",
    "Question about warranty",
    "Payment failed",
    "Wrong size delivered",
    "Where is my parcel",
    "Voucher does not work",
];

fn end() -> DateTime<Utc> {
    start() + Duration::days(DAYS)
}

/// What only this store's tickets need of the generator.
impl Rng {
    /// One of `from` by weight (percent, summing to 100).
    fn weighted<'a>(&mut self, from: &[(&'a str, u64)]) -> &'a str {
        let mut n = self.below(100);
        for (v, w) in from {
            if n < *w {
                return v;
            }
            n -= w;
        }
        from[0].0
    }

    /// A message: a dozen words of a 3,000-word vocabulary, common ones more often.
    fn text(&mut self) -> String {
        let mut words = Vec::new();
        for _ in 0..12 {
            // Roughly Zipf: the square of a uniform number favours small ranks.
            let u = self.below(3000) as f64 / 3000.0;
            words.push(format!("w{:04}", (u * u * 3000.0) as u64));
        }
        words.join(" ")
    }
}

/// The events of ticket `i` of `n`, with the time each happened.
fn history(i: usize, n: usize) -> History {
    let mut rng = Rng(i as u64 ^ 0x5eed);
    let id = format!("T{i:06}");
    let created = start() + Duration::seconds(DAYS * 86_400 * i as i64 / n as i64);
    let customer = rng.below(30_000);
    let (first, last) = (
        FIRST[customer as usize % 20],
        LAST[customer as usize / 20 % 20],
    );
    let mut tags: Vec<&str> = (0..rng.below(4)).map(|_| rng.pick(TAGS)).collect();
    if rng.below(1000) == 0 {
        tags.push("legal-hold");
    }
    tags.dedup();
    let assignee = (rng.below(10) != 0).then(|| format!("agent-{:02}", rng.below(40)));
    let mut ticket = json!({
        "id": id,
        "subject": format!("{} #{}", rng.pick(SUBJECTS), 10_000 + i),
        "channel": rng.weighted(&[("email", 50), ("chat", 25), ("web", 15), ("phone", 8), ("sms", 2)]),
        "priority": rng.weighted(&[("low", 20), ("normal", 55), ("high", 20), ("urgent", 5)]),
        "group": rng.pick(TEAMS),
        "tags": tags,
        "created_at": created,
        "customer": {
            "id": format!("cust-{customer}"),
            "name": format!("{first} {last}"),
            "email": format!("{}.{}{}@example.org", first.to_lowercase(), last.to_lowercase(), customer),
            "language": rng.pick(&["en", "nb", "da", "ar", "zh"]),
        },
    });
    if let Some(a) = &assignee {
        ticket["assignee"] = json!(a);
    }
    let mut text = rng.text();
    if rng.below(2000) == 0 {
        text.push_str(" kvitteringsnummer");
    }
    let mut at = created;
    let mut out = vec![(
        at,
        json!({ "id": format!("{id}-0"), "type": "ticket.created", "occurred_at": at,
                "ticket": ticket, "message": { "text": text, "author": "customer" } }),
    )];
    let mut k = 1;
    let mut say = |at: DateTime<Utc>, agent: bool, text: String, out: &mut Vec<_>| {
        out.push((
            at,
            json!({ "id": format!("{id}-{k}"), "type": "message.created", "occurred_at": at,
                    "ticket": { "id": id },
                    "message": { "text": text, "author": if agent { "agent" } else { "customer" } } }),
        ));
        k += 1;
    };
    if rng.below(100) < 85 {
        at += rng.minutes(5, 600);
        let t = rng.text();
        say(at, true, t, &mut out);
        if rng.below(100) < 50 {
            at += rng.minutes(30, 1440);
            let t = rng.text();
            say(at, false, t, &mut out);
        }
    }
    let status = rng.weighted(&[
        ("solved", 60),
        ("closed", 10),
        ("open", 15),
        ("pending", 8),
        ("new", 5),
        ("on_hold", 2),
    ]);
    if status != "new" {
        at += rng.minutes(10, 2880);
        out.push((
            at,
            json!({ "id": format!("{id}-s"), "type": "ticket.updated", "occurred_at": at,
                    "ticket": { "id": id, "status": status } }),
        ));
    }
    // What happens after the end of the recording has not happened yet.
    out.retain(|(t, _)| *t <= end());
    out
}

fn ms(d: Elapsed) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let tickets = tickets();
    let runs: usize = arg("--runs").map_or(7, |n| n.parse().expect("--runs N"));
    let dir = tempfile::tempdir().unwrap();
    let url = store_url(&dir, "console.db");
    let (store, filled) = Fill {
        file: "console.yaml",
        pack: pack(),
        tickets,
        concurrency: 32,
        history,
    }
    .open_filling(&url, "reads")
    .await;
    if filled {
        chats(&store, tickets).await;
        statuses(&*store).await;
    }
    store.close().await;

    if !flag("--http-only") {
        reads(&url, dir.path(), tickets, runs).await;
    }
    if !flag("--no-http") {
        if !flag("--http-only") {
            println!();
        }
        pages(&url, dir.path(), tickets, runs).await;
    }
}

/// The desk's reads, called directly: a search for each filter, the SLA board, the live
/// counters, the outbox counts and a timeline.
async fn reads(url: &str, dir: &Path, tickets: usize, runs: usize) {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("console.yaml"), pack()).unwrap();
    let desk = Desk::open(Settings {
        rules,
        bots: None,
        store: url.to_string(),
        clock: Arc::new(ManualClock::new(end())),
        timer_lease: std::time::Duration::from_secs(60),
        connectors: Default::default(),
        csat_secret: None,
        presence: None,
        models: None,
    })
    .await
    .expect("the desk opens");

    let f = TicketFilter::default;
    let filters: Vec<(&str, TicketFilter)> = vec![
        ("no filter (newest 50)", f()),
        (
            "open only",
            TicketFilter {
                open_only: true,
                ..f()
            },
        ),
        (
            "status new",
            TicketFilter {
                status: Some(Status::New),
                ..f()
            },
        ),
        (
            "status on_hold",
            TicketFilter {
                status: Some(Status::OnHold),
                ..f()
            },
        ),
        (
            "priority urgent",
            TicketFilter {
                priority: Some(Priority::Urgent),
                ..f()
            },
        ),
        (
            "channel sms",
            TicketFilter {
                channel: Some(Channel::Sms),
                ..f()
            },
        ),
        (
            "team",
            TicketFilter {
                team: Some("returns".into()),
                ..f()
            },
        ),
        (
            "assignee",
            TicketFilter {
                assignee: Some("agent-07".into()),
                ..f()
            },
        ),
        (
            "assignee, open only",
            TicketFilter {
                assignee: Some("agent-07".into()),
                open_only: true,
                ..f()
            },
        ),
        (
            "team, on_hold, urgent",
            TicketFilter {
                team: Some("tech".into()),
                status: Some(Status::OnHold),
                priority: Some(Priority::Urgent),
                ..f()
            },
        ),
        (
            "tag (common)",
            TicketFilter {
                tag: Some("refund".into()),
                ..f()
            },
        ),
        (
            "tag (1 in 1,000)",
            TicketFilter {
                tag: Some("legal-hold".into()),
                ..f()
            },
        ),
        (
            "tag (none has it)",
            TicketFilter {
                tag: Some("no-such-tag".into()),
                ..f()
            },
        ),
        (
            "customer (one's e-mail)",
            TicketFilter {
                customer: Some("ola.wang4321@example.org".into()),
                ..f()
            },
        ),
        (
            "customer (a name)",
            TicketFilter {
                customer: Some("haddad".into()),
                ..f()
            },
        ),
        (
            "customer (nobody)",
            TicketFilter {
                customer: Some("nobody@nowhere".into()),
                ..f()
            },
        ),
        (
            "text in subject",
            TicketFilter {
                text: Some("invoice is wrong".into()),
                ..f()
            },
        ),
        (
            "text, common word",
            TicketFilter {
                text: Some("w0007".into()),
                ..f()
            },
        ),
        (
            "text, rare word",
            TicketFilter {
                text: Some("kvitteringsnummer".into()),
                ..f()
            },
        ),
        (
            "text, no ticket has it",
            TicketFilter {
                text: Some("zzzzzz".into()),
                ..f()
            },
        ),
    ];
    println!("| search | tickets on the page | median of {runs} | slowest |");
    println!("|---|---|---|---|");
    for (name, filter) in &filters {
        let Timed {
            out: page,
            median,
            slowest,
            ..
        } = time(runs, || async {
            desk.search_tickets(filter).await.expect("a page")
        })
        .await;
        println!(
            "| {name} | {} | {} | {} |",
            page.rows.len(),
            ms(median),
            ms(slowest)
        );
    }
    // The 20th page: the cursor of the 19th.
    let mut deep = f();
    for _ in 0..19 {
        deep.after = desk.search_tickets(&deep).await.unwrap().next;
    }
    let Timed {
        out: page,
        median,
        slowest,
        ..
    } = time(runs, || async { desk.search_tickets(&deep).await.unwrap() }).await;
    println!(
        "| page 20 of no filter | {} | {} | {} |",
        page.rows.len(),
        ms(median),
        ms(slowest)
    );

    println!();
    println!("| read | rows | median of {runs} | slowest |");
    println!("|---|---|---|---|");
    let now = end();
    let Timed {
        out: board,
        median,
        slowest,
        ..
    } = time(runs, || async {
        desk.sla_board(now, Duration::hours(4)).await.unwrap()
    })
    .await;
    println!(
        "| SLA board, 4 h ahead | {} due, {} breached | {} | {} |",
        board.due.len(),
        board.breached.len(),
        ms(median),
        ms(slowest)
    );
    let Timed {
        out: counters,
        median,
        slowest,
        ..
    } = time(runs, || async { desk.live_counters(now).await.unwrap() }).await;
    println!(
        "| live counters | {} open, {} timers pending | {} | {} |",
        counters.open_tickets,
        counters.timers_pending,
        ms(median),
        ms(slowest)
    );
    let Timed {
        out: counts,
        median,
        slowest,
        ..
    } = time(runs, || async { desk.outbox_counts().await.unwrap() }).await;
    println!(
        "| outbox by state | {counts:?} | {} | {} |",
        ms(median),
        ms(slowest)
    );
    let id = format!("T{:06}", tickets / 2);
    let Timed {
        out: timeline,
        median,
        slowest,
        ..
    } = time(runs, || async {
        desk.timeline(&id).await.unwrap().unwrap()
    })
    .await;
    println!(
        "| timeline of one ticket | {} events | {} | {} |",
        timeline.events.len(),
        ms(median),
        ms(slowest)
    );
    desk.store.close().await;
}

/// The bearer token the pages are read with.
const TOKEN: &str = "console-bench";

/// The console's pages as a browser loads them: the daemon's own HTTP server started in this
/// process over the store (its clock at the end of the recording, no scheduler, an API token),
/// each page and fragment read `runs` times over TCP after a first, cold read; each answer must
/// be 200 and the page asked for.
async fn pages(url: &str, dir: &Path, tickets: usize, runs: usize) {
    // The pack that decided the events, with its roster of the teams and agents the tickets
    // name, so that the agents page has its rows.
    let rules = dir.join("served");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("console.yaml"), pack()).unwrap();
    let running = server::start(Options {
        rules,
        bots: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("bots")),
        listen: "127.0.0.1:0".parse().unwrap(),
        store: url.to_string(),
        tokens: Tokens::new(&[TOKEN.to_string()], &[]).unwrap(),
        watch: false,
        scheduler: false,
        clock: Arc::new(ManualClock::new(end())),
        limits: Limits::off(),
        ..Options::new()
    })
    .await
    .expect("the daemon starts");
    let base = format!("http://{}", running.addr);
    // A sign-in page instead of the page would be a redirect: none is followed.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |path: &str| format!("{base}{path}");

    // The "Older tickets" link of the list, followed as a reader would.
    let mut deep = page("/console/tickets");
    let mut older = Vec::new();
    for _ in 0..19 {
        let (_, body) = get(&http, &deep, "<h1>Tickets</h1>").await;
        deep = page(&next_link(&body).expect("an older page"));
        older.push(deep.clone());
    }
    let id = format!("T{:06}", tickets / 2);
    let timeline = running
        .state
        .timeline(&id)
        .await
        .unwrap()
        .expect("the ticket");
    let first = &timeline.events.first().expect("an event").event.id;
    let last = &timeline.events.last().expect("an event").event.id;

    let list = "<h1>Tickets</h1>";
    let explained = "class=\"explained\"";
    let pages: Vec<(String, String, &str)> = vec![
        (
            "overview, 7 days".into(),
            page("/console"),
            "<h1>Overview</h1>",
        ),
        (
            "overview, 30 days".into(),
            page("/console?range=30d"),
            "<h1>Overview</h1>",
        ),
        (
            "overview, 90 days".into(),
            page("/console?range=90d"),
            "<h1>Overview</h1>",
        ),
        (
            "overview, 30 days, one team".into(),
            page("/console?range=30d&dim=team&value=returns"),
            "<h1>Overview</h1>",
        ),
        ("tickets, no filter".into(), page("/console/tickets"), list),
        ("tickets, older (page 2)".into(), older[0].clone(), list),
        ("tickets, older (page 20)".into(), older[18].clone(), list),
        (
            "tickets, open only".into(),
            search(&base, &[("open_only", "on")]),
            list,
        ),
        (
            "tickets, an agent's open".into(),
            search(&base, &[("assignee", "agent-07"), ("open_only", "on")]),
            list,
        ),
        (
            "tickets, text: common word".into(),
            search(&base, &[("text", "w0007")]),
            list,
        ),
        (
            "tickets, text: rare word".into(),
            search(&base, &[("text", "kvitteringsnummer")]),
            list,
        ),
        (
            "tickets, text: nobody's".into(),
            search(&base, &[("text", "zzzzzz")]),
            list,
        ),
        (
            "tickets, text in subject".into(),
            search(&base, &[("text", "invoice is wrong")]),
            list,
        ),
        (
            "tickets, customer e-mail".into(),
            search(&base, &[("customer", "ola.wang4321@example.org")]),
            list,
        ),
        (
            "tickets, customer name".into(),
            search(&base, &[("customer", "haddad")]),
            list,
        ),
        (
            "tickets, tag 1 in 1,000".into(),
            search(&base, &[("tag", "legal-hold")]),
            list,
        ),
        (
            "tickets, status new".into(),
            search(&base, &[("status", "new")]),
            list,
        ),
        (
            format!("ticket {id} (timeline)"),
            page(&format!("/console/tickets/{id}")),
            "<h1>Ticket",
        ),
        (
            format!("Why? of {first} (fragment)"),
            page(&format!("/console/tickets/{id}/explain/{first}")),
            explained,
        ),
        (
            format!("Why? of {last} (fragment)"),
            page(&format!("/console/tickets/{id}/explain/{last}")),
            explained,
        ),
        (
            "SLA board".into(),
            page("/console/sla"),
            "<h1>SLA board</h1>",
        ),
        (
            "SLA board, refresh (fragment)".into(),
            page("/console/sla/board"),
            "id=\"h-breached\"",
        ),
        (
            "outbox (dead)".into(),
            page("/console/outbox"),
            "<h1>Outbox</h1>",
        ),
        (
            "outbox, pending".into(),
            page("/console/outbox?state=pending"),
            "<h1>Outbox</h1>",
        ),
        (
            "outbox, all".into(),
            page("/console/outbox?state=all"),
            "<h1>Outbox</h1>",
        ),
        (
            "agents".into(),
            page("/console/agents"),
            "<h1>Agents and queues</h1>",
        ),
        ("bots".into(), page("/console/bots"), "<h1>Bots</h1>"),
        ("rules".into(), page("/console/rules"), "<h1>Rules</h1>"),
        (
            "replay (form)".into(),
            page("/console/replay"),
            "<h1>Replay</h1>",
        ),
        (
            "asset console.css".into(),
            page("/console/assets/console.css"),
            "",
        ),
        (
            "asset console.js".into(),
            page("/console/assets/console.js"),
            "",
        ),
        (
            "asset htmx.min.js".into(),
            page("/console/assets/htmx.min.js"),
            "",
        ),
        (
            "asset uPlot.iife.min.js".into(),
            page("/console/assets/uPlot.iife.min.js"),
            "",
        ),
    ];
    println!("| page | bytes | median of {runs} | slowest | first |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, t: Timed<usize>| {
        println!(
            "| {name} | {} | {} | {} | {} |",
            t.out,
            ms(t.median),
            ms(t.slowest),
            ms(t.first)
        );
    };
    for (name, url, expect) in &pages {
        let t = time(runs, || async { get(&http, url, expect).await.0 }).await;
        row(name, t);
    }
    // The live strip's stream: its first event, on a connection of its own, and on one that
    // has just served a page (as a browser may open it).
    let live = page("/console/live");
    let t = time(runs, || async {
        first_counters(&reqwest::Client::new(), &live).await
    })
    .await;
    row("live counters, first event (new connection)", t);
    let rules = page("/console/rules");
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..=runs {
        get(&http, &rules, "<h1>Rules</h1>").await;
        let t = Instant::now();
        bytes = first_counters(&http, &live).await;
        times.push(t.elapsed());
    }
    let first = times.remove(0);
    row(
        "live counters, first event (after a page, on its connection)",
        Timed::new(bytes, first, times),
    );
    running.stop().await.expect("the daemon stops");
}

/// `GET url` with the token: the size and text of the body, which must be a 200 and contain
/// `expect`.
async fn get(http: &reqwest::Client, url: &str, expect: &str) -> (usize, String) {
    let r = http
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status();
    let body = r.text().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    if status != reqwest::StatusCode::OK || !body.contains(expect) {
        let start: String = body.chars().take(2000).collect();
        panic!("GET {url}: {status}, not the page with `{expect}`:\n{start}");
    }
    (body.len(), body)
}

/// `GET /console/live` until its first `counters` event has come whole: that event's size.
async fn first_counters(http: &reqwest::Client, url: &str) -> usize {
    let mut r = http
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(r.status(), reqwest::StatusCode::OK, "GET {url}");
    let mut got = String::new();
    while let Some(chunk) = r.chunk().await.unwrap_or_else(|e| panic!("GET {url}: {e}")) {
        got.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(at) = got.find("event: counters") {
            if let Some(len) = got[at..].find("\n\n") {
                let event = &got[at..at + len];
                assert!(event.contains("Open tickets"), "GET {url}: {event}");
                return event.len();
            }
        }
    }
    panic!("GET {url}: the stream ended before its first counters: {got}");
}

/// The ticket list's URL as its search form sends it: every field, empty where not filled in.
fn search(base: &str, filled: &[(&str, &str)]) -> String {
    let fields = [
        "text", "customer", "status", "priority", "channel", "tag", "team", "assignee",
    ];
    let mut q: Vec<(&str, &str)> = fields
        .iter()
        .map(|f| {
            (
                *f,
                filled.iter().find(|(k, _)| k == f).map_or("", |(_, v)| *v),
            )
        })
        .collect();
    if filled.iter().any(|(k, _)| *k == "open_only") {
        q.push(("open_only", "on"));
    }
    format!(
        "{base}/console/tickets?{}",
        serde_urlencoded::to_string(&q).unwrap()
    )
}

/// The target of a page's `rel="next"` link, its HTML escapes undone.
fn next_link(body: &str) -> Option<String> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(
        body[start..end]
            .replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Teams and agents for the ones the tickets name (`group`, `assignee`).
fn roster() -> String {
    let mut out = String::from("teams:\n");
    for t in TEAMS {
        out.push_str(&format!("  {t}:\n"));
    }
    out.push_str("agents:\n");
    for a in 0..40 {
        out.push_str(&format!(
            "  agent-{a:02}: {{ teams: [{}], languages: [en, nb, da, ar, zh], capacity: {{ chat: 4, email: 15, total: 20 }} }}\n",
            TEAMS[a % TEAMS.len()]
        ));
    }
    out
}

/// The pack that decides the fill's events and is served: [`PACK`], a rule per team that
/// assigns a ticket created without an agent to its team's least loaded member (or queues it
/// there when nobody can take it), and the [`roster`].
fn pack() -> &'static str {
    static PACK_TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PACK_TEXT.get_or_init(|| {
        let mut out = PACK.to_string();
        for t in TEAMS {
            out.push_str(&format!(
                "  - name: route {t} tickets nobody has
    on: [ticket.created]
    when:
      - {{ field: ticket.group, eq: {t} }}
      - {{ field: ticket.assignee, exists: false }}
      - {{ field: ticket.status, not_in: [solved, closed] }}
    then: [ {{ assign: {{ team: {t}, strategy: least_loaded }} }} ]
"
            ));
        }
        out.push_str(&roster());
        out
    })
}

/// The agents' statuses at the end of the recording, as they set them (`Store::set_agent_status`,
/// what `PUT /v1/agents/{id}/status` stores): about half online, some away, the rest offline.
/// Nobody is offered the queues here: every agent holds more open tickets than their capacity.
async fn statuses(store: &dyn Store) {
    let mut rng = Rng(0xa9e7);
    let (mut online, mut away, mut offline) = (0, 0, 0);
    for a in 0..40 {
        let status = match rng.below(100) {
            0..55 => {
                online += 1;
                AgentStatus::Online
            }
            55..70 => {
                away += 1;
                AgentStatus::Away
            }
            _ => {
                offline += 1;
                AgentStatus::Offline
            }
        };
        let at = end() - rng.minutes(1, 480);
        store
            .set_agent_status(&format!("agent-{a:02}"), status, at)
            .await
            .expect("the status is stored");
    }
    println!("agents: {online} online, {away} away, {offline} offline");
}

/// Questions the support bot has no entry for that customers ask again and again, by how
/// often (the first most).
const ASKED_OFTEN: &[&str] = &[
    "Can I pay with Vipps?",
    "Do you have a student discount?",
    "Can I change the delivery date?",
    "Is the black friday sale still on?",
    "Can I pay in instalments?",
    "Do you sell spare parts?",
    "Kan jeg betale med Vipps?",
    "Do you offer gift wrapping?",
    "Can I reserve an item?",
    "Har dere studentrabatt?",
    "Is the jacket waterproof?",
    "Do you have a loyalty programme?",
    "Kan jeg betale med MobilePay?",
    "Can I order by phone?",
    "Do you recycle old electronics?",
    "Is there a size guide?",
    "Can I combine two orders?",
    "Do you sell to companies with an invoice?",
    "Why was my account blocked?",
    "Can I get a printed catalogue?",
];

/// The rest: questions about a product, a colour, a size, each asked by few.
const PRODUCTS: &[&str] = &[
    "jacket",
    "rain coat",
    "sneakers",
    "backpack",
    "tent",
    "sleeping bag",
    "headlamp",
    "jeans",
    "hoodie",
    "wool sweater",
    "ski boots",
    "bike helmet",
    "thermos",
    "yoga mat",
    "kettle",
    "blender",
    "desk lamp",
    "office chair",
    "duvet",
    "pillow",
];
const ASPECTS: &[&str] = &[
    "machine washable",
    "suitable for children",
    "made of recycled material",
    "available in navy",
    "available in olive green",
    "sold in pairs",
    "vegan",
    "heavier than the old model",
    "made in Europe",
    "dishwasher safe",
    "true to size",
    "warm enough for minus twenty",
];

/// The FAQ's own phrasings per entry and language, as customers ask them: the entries the bot
/// answers, the first ones more often.
struct Asked(Vec<Vec<(String, Vec<String>)>>);

impl Asked {
    fn load(file: &Path) -> Asked {
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let entries = yaml["faq"].as_sequence().expect("faq entries");
        Asked(
            entries
                .iter()
                .map(|e| {
                    e["questions"]
                        .as_mapping()
                        .expect("questions per language")
                        .iter()
                        .map(|(lang, qs)| {
                            let qs = qs.as_sequence().expect("a list of questions");
                            (
                                lang.as_str().unwrap().to_string(),
                                qs.iter().map(|q| q.as_str().unwrap().to_string()).collect(),
                            )
                        })
                        .collect()
                })
                .collect(),
        )
    }

    /// A question of an entry in `lang` (else English), lower case or without its question
    /// mark now and then, as people type.
    fn question(&self, rng: &mut Rng, lang: &str) -> String {
        let u = rng.below(1000) as f64 / 1000.0;
        let entry = &self.0[(u * u * self.0.len() as f64) as usize];
        let (_, qs) = entry
            .iter()
            .find(|(l, _)| l == lang)
            .or_else(|| entry.iter().find(|(l, _)| l == "en"))
            .unwrap_or(&entry[0]);
        let mut q = qs[rng.below(qs.len() as u64) as usize].clone();
        if rng.below(3) == 0 {
            q = q.to_lowercase();
        }
        if rng.below(3) == 0 {
            q = q.trim_end_matches(['?', '？', '؟']).to_string();
        }
        q
    }
}

/// A question the bot has no answer to: one of [`ASKED_OFTEN`] (the first ones most), or one
/// of a long tail about a product.
fn unanswerable(rng: &mut Rng) -> String {
    if rng.below(100) < 45 {
        let u = rng.below(1000) as f64 / 1000.0;
        ASKED_OFTEN[(u * u * u * ASKED_OFTEN.len() as f64) as usize].to_string()
    } else {
        format!(
            "Is the {} {} {}?",
            rng.pick(&["grey", "red", "blue", "black", "white", "green", "small", "large"]),
            rng.pick(PRODUCTS),
            rng.pick(ASPECTS)
        )
    }
}

/// What the fill's chats made.
#[derive(Default)]
struct ChatCounts {
    sessions: AtomicUsize,
    lines: AtomicUsize,
    turns: AtomicUsize,
    questions: AtomicUsize,
    unanswered: AtomicUsize,
    yes: AtomicUsize,
    no: AtomicUsize,
    handed_off: AtomicUsize,
    closed: AtomicUsize,
}

/// A chat session with the example bot before each chat ticket of the fill, through the store
/// as the daemon writes it (`service::chat`): the session opened with its greeting
/// (`create_chat_session`), then each customer message answered by `bot::reply` and saved with
/// its answer and the widget's message id (`save_chat_turn`): questions the bot answers, and
/// ones it cannot (a few asked often, a long tail asked rarely), "yes" and "no" on answers, and
/// handoffs to a person (after a "no", two unanswered questions, or asked for). Some chats the
/// bot settled are closed. The handoff's `ticket.created` event is not decided: the fill's
/// chat ticket stands for the person's side, so the tickets and events stay as they are.
async fn chats(store: &Arc<dyn Store>, tickets: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bots");
    let bot = Bot::load(&dir.join("support.yaml")).expect("the example bot loads");
    let asked = Asked::load(&dir.join("support.yaml"));
    let started = Instant::now();
    let counts = ChatCounts::default();
    let done = AtomicUsize::new(0);
    futures_util::stream::iter(0..tickets)
        .for_each_concurrent(32, |i| {
            let (store, bot, asked, counts, done) = (store.clone(), &bot, &asked, &counts, &done);
            async move {
                let (created, ticket) = {
                    let h = history(i, tickets);
                    let (at, body) = &h[0];
                    (*at, body["ticket"].clone())
                };
                if ticket["channel"] != "chat" {
                    return;
                }
                chat(&*store, bot, asked, i, created, &ticket, counts).await;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 5_000 == 0 {
                    eprintln!(
                        "  {n} chat sessions, {} lines, {:.0} s",
                        counts.lines.load(Ordering::Relaxed),
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        })
        .await;
    let secs = started.elapsed().as_secs_f64();
    let n = |c: &AtomicUsize| c.load(Ordering::Relaxed);
    println!(
        "chats: {} sessions, {} chat messages, {} turns in {secs:.0} s ({:.0} turns/s); {} questions, {} unanswered, {} \"yes\", {} \"no\", {} handed off, {} closed",
        n(&counts.sessions),
        n(&counts.lines),
        n(&counts.turns),
        (n(&counts.turns) + n(&counts.sessions)) as f64 / secs,
        n(&counts.questions),
        n(&counts.unanswered),
        n(&counts.yes),
        n(&counts.no),
        n(&counts.handed_off),
        n(&counts.closed),
    );
}

/// One chat session before chat ticket `i` (created at `created`), by the ticket's customer.
async fn chat(
    store: &dyn Store,
    bot: &Bot,
    asked: &Asked,
    i: usize,
    created: DateTime<Utc>,
    ticket: &serde_json::Value,
    counts: &ChatCounts,
) {
    let mut rng = Rng(i as u64 ^ 0xc4a7);
    let id = format!("{:016x}{:016x}", rng.next(), rng.next());
    let customer: Customer = serde_json::from_value(ticket["customer"].clone()).unwrap();
    let mut at = created - rng.minutes(2, 20);
    let mut session = Session::open(id, bot, None, customer, Some(Channel::Chat), at);
    let greeting = session.opening_lines(bot, at);
    assert_eq!(greeting.len(), 1, "the served bot greets");
    store
        .create_chat_session(&session, &greeting)
        .await
        .expect("the session is stored");
    counts.sessions.fetch_add(1, Ordering::Relaxed);
    counts.lines.fetch_add(1, Ordering::Relaxed);
    let lang = session.language.clone();
    // What the customer does: a script of messages. `Yes` and `No` are the quick replies that
    // rate the last answer, sent as the widget sends them (their text).
    enum Say {
        Question,
        Unanswerable,
        Person,
        Yes,
        No,
    }
    use Say::*;
    let script: &[Say] = match rng.below(100) {
        0..6 => &[],
        6..36 => &[Question, Yes],
        36..54 => &[Question],
        54..62 => &[Question, Question, Yes],
        62..70 => &[Question, No],
        70..78 => &[Unanswerable, Question, Yes],
        78..88 => &[Unanswerable, Unanswerable],
        88..94 => &[Person],
        _ => &[Unanswerable],
    };
    let mut quick: Vec<String> = session.opening_quick_replies(bot);
    let mut sent = 0;
    for say in script {
        if session.state != SessionState::Open {
            break;
        }
        let text = match say {
            Question => asked.question(&mut rng, &lang),
            Unanswerable => unanswerable(&mut rng),
            Person => bot.chat_text(ChatText::Person, &lang).to_string(),
            // A rating needs an answer to rate: the bot may not have answered.
            Yes | No if session.awaiting_feedback.is_none() => break,
            Yes => quick[0].clone(),
            No => quick[1].clone(),
        };
        at += Duration::seconds(15 + rng.below(100) as i64);
        sent += 1;
        let mid = format!("w{}-{sent}", radix36(at.timestamp_millis() as u64));
        let mut turn = bot::reply(bot, &session, &Input::Text(text.clone()), at).expect("a turn");
        let answer = ChatAnswer {
            session: turn.session.id.clone(),
            state: turn.session.state,
            reply: turn.reply.clone(),
            feedback: turn.feedback.as_ref().map(|(_, f)| *f),
            handoff: turn.handoff.is_some(),
            handoff_reason: turn.handoff,
            expected: None,
            event: None,
            ask_contact: false,
            rating: None,
        };
        turn.message_id = Some(mid.clone());
        turn.answer =
            Some(json!({ "request": { "id": mid, "text": text }, "answer": answer }).to_string());
        store
            .save_chat_turn(&turn)
            .await
            .expect("the turn is saved");
        counts.turns.fetch_add(1, Ordering::Relaxed);
        counts
            .lines
            .fetch_add(turn.messages.len(), Ordering::Relaxed);
        if turn.session.questions > session.questions {
            counts.questions.fetch_add(1, Ordering::Relaxed);
        }
        if turn.unanswered.is_some() {
            counts.unanswered.fetch_add(1, Ordering::Relaxed);
        }
        match turn.feedback {
            Some((_, bot::Feedback::Yes)) => counts.yes.fetch_add(1, Ordering::Relaxed),
            Some((_, bot::Feedback::No)) => counts.no.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        if turn.handoff.is_some() {
            counts.handed_off.fetch_add(1, Ordering::Relaxed);
        }
        quick = turn.reply.quick_replies.clone();
        session = turn.session;
        session.version += 1;
    }
    // Half the chats the bot settled are closed when the customer leaves.
    if session.state == SessionState::Open && rng.below(2) == 0 {
        at += Duration::seconds(30 + rng.below(300) as i64);
        let turn = bot::close(&session, at).expect("an open chat closes");
        store.save_chat_turn(&turn).await.expect("the chat closes");
        counts.turns.fetch_add(1, Ordering::Relaxed);
        counts.closed.fetch_add(1, Ordering::Relaxed);
    }
}

/// `n` in base 36, as the widget writes the time in its message ids.
fn radix36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}
