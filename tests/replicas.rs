//! Several `frontdesk serve` processes on one PostgreSQL database, treated roughly: SIGKILL
//! while posting and firing timers, SIGSTOP past a timer lease, every database session
//! terminated, the database cut off. Whatever happens, every event that got a 200 is stored
//! once, every timer fires once, and nothing is acknowledged that was not committed.
//!
//! Each test has a schema of its own (dropped afterwards) and skips, saying why, when no
//! PostgreSQL answers (`FRONTDESK_TEST_PG`, else 127.0.0.1:5432).
//!
//! In the SIGKILL test each follow-up also sends a webhook to a local server that records
//! every request: each delivery arrives, and a `webhook-id` arrives twice only when the replica
//! that sent it was killed before it could record the delivery (delivery is at least once; the
//! stable `webhook-id` lets a receiver drop the repeat). The outbox's fencing is also checked at
//! the store level (`tests/store.rs::outbox_claim_finish_fencing`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{client, metric, ready, replica, signal};
use common::PgSchema;
use serde_json::{json, Value};
use sqlx::Row;

/// A timer 2 s after a ticket is created; a nudge 3 s after each message, replacing the
/// previous nudge; every message's text becomes a tag (so a lost update shows as a lost tag).
const PACK: &str = r#"
rules:
  - name: follow up new tickets
    on: ticket.created
    then:
      - add_tags: [new]
      - schedule:
          name: follow up
          after: 2s
          then:
            - add_tags: [followed-up]
  - name: remember every message
    on: message.created
    then:
      - script: tag.rhai
      - schedule:
          name: nudge
          after: 3s
          then:
            - add_tags: [nudged]
"#;

/// Seconds a claimed timer stays with a replica before another may take it.
const LEASE: &str = "3";

fn write_pack(dir: &Path) {
    std::fs::write(dir.join("pack.yaml"), PACK).unwrap();
    std::fs::write(dir.join("tag.rhai"), "[#{ add_tags: [message.text] }]").unwrap();
}

/// The pack, with a webhook to `hook` when a follow-up fires.
fn write_pack_with_hook(dir: &Path, hook: &str) {
    let pack = PACK.replace(
        "            - add_tags: [followed-up]\n",
        &format!(
            "            - add_tags: [followed-up]\n            - webhook: {{ url: \"{hook}\", body: {{ ticket: \"{{{{ ticket.id }}}}\" }} }}\n"
        ),
    );
    assert_ne!(pack, PACK, "the webhook is in the pack");
    std::fs::write(dir.join("pack.yaml"), pack).unwrap();
    std::fs::write(dir.join("tag.rhai"), "[#{ add_tags: [message.text] }]").unwrap();
}

/// One request the recording server got.
struct Hook {
    id: String,
    body: Value,
    at: Instant,
}

/// A local HTTP server that records every webhook it gets (and answers 200).
async fn start_hook_recorder() -> (String, Arc<Mutex<Vec<Hook>>>) {
    let hits: Arc<Mutex<Vec<Hook>>> = Arc::default();
    let record = {
        let hits = hits.clone();
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let hits = hits.clone();
            async move {
                let id = headers
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                hits.lock().unwrap().push(Hook {
                    id,
                    body,
                    at: Instant::now(),
                });
                "ok"
            }
        }
    };
    let app = axum::Router::new().route("/hook", axum::routing::post(record));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

/// A small deterministic random source (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn created(t: usize) -> Value {
    json!({"id": format!("c{t}"), "type": "ticket.created",
           "ticket": {"id": format!("T{t}"), "channel": "email"}})
}

fn message(t: usize, k: usize) -> Value {
    json!({"id": format!("m{t}-{k}"), "type": "message.created",
           "ticket": {"id": format!("T{t}")}, "message": {"text": format!("m{t}-{k}")}})
}

/// What the client saw.
#[derive(Default)]
struct Seen {
    /// Event id → every 200 answer it got (more than one when retried or posted twice).
    answers: BTreeMap<String, Vec<Value>>,
    /// Attempts that got no 200 (connection refused or reset, 503, timeout).
    failed: usize,
}

/// Posts `event` to random replicas until one answers 200; records every answer. A 4xx is a
/// bug and fails the test.
async fn post_until_ok(
    http: &reqwest::Client,
    urls: &Mutex<Vec<String>>,
    event: &Value,
    rng: &mut Rng,
    seen: &Mutex<Seen>,
) {
    let id = event["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "{id} was never accepted");
        let url = {
            let urls = urls.lock().unwrap();
            urls[rng.below(urls.len())].clone()
        };
        match http
            .post(format!("{url}/v1/events"))
            .json(event)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                if let Ok(v) = r.json::<Value>().await {
                    seen.lock().unwrap().answers.entry(id).or_default().push(v);
                    return;
                }
            }
            Ok(r) if r.status().is_client_error() => {
                let status = r.status();
                panic!("{id}: {status}: {}", r.text().await.unwrap_or_default());
            }
            _ => {}
        }
        seen.lock().unwrap().failed += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Posts every event, `workers` at a time, each to a random replica, retrying elsewhere.
async fn post_all(
    http: &reqwest::Client,
    urls: &Arc<Mutex<Vec<String>>>,
    events: Vec<Value>,
    workers: usize,
    seen: &Arc<Mutex<Seen>>,
) {
    let queue = Arc::new(Mutex::new(events.into_iter().rev().collect::<Vec<_>>()));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (http, urls, queue, seen) = (http.clone(), urls.clone(), queue.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
            loop {
                let Some(e) = queue.lock().unwrap().pop() else {
                    return;
                };
                post_until_ok(&http, &urls, &e, &mut rng, &seen).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Waits (bounded) until no timer is pending.
async fn wait_timers_done(pool: &sqlx::PgPool, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let pending = count(pool, "SELECT COUNT(*) FROM timers WHERE state = 'pending'").await;
        if pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} timers still pending after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (bounded) until no delivery is pending.
async fn wait_deliveries_done(pool: &sqlx::PgPool, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let pending = count(pool, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await;
        if pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} deliveries still pending after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every outbox row was delivered and reached the recording server with its own `webhook-id`
/// and body. A `webhook-id` that arrived twice was first sent by a replica killed right after
/// (before it could record the delivery): no delivery is repeated otherwise.
async fn check_deliveries(pool: &sqlx::PgPool, hooks: &[Hook], killed_at: &[Instant]) {
    let rows: Vec<(String, String, String)> =
        sqlx::query("SELECT id, ticket_id, state FROM outbox ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert!(!rows.is_empty(), "the follow-ups made deliveries");
    let mut got: BTreeMap<&str, Vec<&Hook>> = BTreeMap::new();
    for h in hooks {
        got.entry(h.id.as_str()).or_default().push(h);
    }
    for (id, ticket, state) in &rows {
        assert_eq!(state, "delivered", "{id}");
        let arrived = got
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} never arrived"));
        for h in arrived {
            assert_eq!(h.body["ticket"], json!(ticket), "{id}: its own body");
        }
    }
    assert_eq!(
        got.len(),
        rows.len(),
        "nothing arrived that is not in the outbox"
    );
    let mut repeated = 0;
    for (id, arrivals) in &got {
        if arrivals.len() > 1 {
            repeated += 1;
            let first = arrivals[0].at;
            assert!(
                killed_at
                    .iter()
                    .any(|k| *k >= first && k.duration_since(first) < Duration::from_secs(1)),
                "{id} arrived {} times, but no replica was killed right after its first delivery",
                arrivals.len()
            );
        }
    }
    eprintln!(
        "{} deliveries, each arrived; {repeated} sent again after their replica was killed",
        rows.len()
    );
}

/// Every accepted event is stored once, with the decision every replica answered; every
/// ticket's version counts its events; every timer ended fired or cancelled, and each fired
/// timer acted exactly once while a cancelled one never did.
async fn check_store(pool: &sqlx::PgPool, seen: &Seen) {
    let stored: Vec<(String, String)> =
        sqlx::query("SELECT id, decision FROM events WHERE id NOT LIKE 'timer:%' ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    let stored_ids: BTreeSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    let acked: BTreeSet<&str> = seen.answers.keys().map(String::as_str).collect();
    assert_eq!(stored.len(), stored_ids.len(), "no event stored twice");
    assert_eq!(
        stored_ids, acked,
        "every acknowledged event is stored, and only those"
    );
    for (id, decision) in &stored {
        let decision: Value = serde_json::from_str(decision).unwrap();
        for answer in &seen.answers[id] {
            assert_eq!(
                (&answer["actions"], &answer["ticket"]),
                (&decision["actions"], &decision["ticket"]),
                "{id}: every answer is the stored decision"
            );
        }
    }

    let uneven = count(
        pool,
        "SELECT COUNT(*) FROM tickets t
         WHERE version <> (SELECT COUNT(*) FROM events e WHERE e.ticket_id = t.id)",
    )
    .await;
    assert_eq!(
        uneven, 0,
        "a ticket's version counts each of its events once"
    );

    assert_eq!(
        count(pool, "SELECT COUNT(*) FROM timers WHERE state = 'pending'").await,
        0
    );
    // A fired timer has its event and exactly one audit row for its rule.
    let wrong_fired = count(
        pool,
        "SELECT COUNT(*) FROM timers t WHERE t.state = 'fired' AND (
             NOT EXISTS (SELECT 1 FROM events e WHERE e.id = 'timer:' || t.id)
             OR (SELECT COUNT(*) FROM decisions d
                 WHERE d.event_id = 'timer:' || t.id AND d.rule = 'timer ' || t.name) <> 1)",
    )
    .await;
    assert_eq!(wrong_fired, 0, "each fired timer acted exactly once");
    let cancelled_acted = count(
        pool,
        "SELECT COUNT(*) FROM timers t JOIN decisions d ON d.event_id = 'timer:' || t.id
         WHERE t.state = 'cancelled'",
    )
    .await;
    assert_eq!(cancelled_acted, 0, "a cancelled timer never acted");
    let stray = count(
        pool,
        "SELECT COUNT(*) FROM events e WHERE e.id LIKE 'timer:%'
         AND NOT EXISTS (SELECT 1 FROM timers t WHERE 'timer:' || t.id = e.id)",
    )
    .await;
    assert_eq!(stray, 0, "every timer event belongs to a timer");
}

/// Three replicas, a client posting events for 200 tickets to random ones (some events to two
/// at once), timers due within seconds, and a random replica SIGKILLed and restarted every
/// two seconds until the timers are done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_survive_sigkill_while_posting_and_firing_timers() {
    let Some(schema) = PgSchema::create("kill").await else {
        return;
    };
    let rules = tempfile::tempdir().unwrap();
    let (hook, hooks) = start_hook_recorder().await;
    write_pack_with_hook(rules.path(), &hook);
    let mut procs = Vec::new();
    for _ in 0..3 {
        procs.push(replica(&schema.url, rules.path(), LEASE).await);
    }
    let urls = Arc::new(Mutex::new(
        procs.iter().map(|p| p.url.clone()).collect::<Vec<_>>(),
    ));
    let http = client(Duration::from_secs(15));
    let seen = Arc::new(Mutex::new(Seen::default()));

    // The killer: every 2 s one replica, at random, is killed and started again.
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killed_at: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let killer = {
        let (urls, stop, kills) = (urls.clone(), stop.clone(), kills.clone());
        let killed_at = killed_at.clone();
        let store = schema.url.clone();
        let rules = rules.path().to_path_buf();
        tokio::spawn(async move {
            let mut rng = Rng(0xD1B5_4A32_D192_ED03);
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(2000)).await;
                let i = rng.below(procs.len());
                procs[i].kill();
                killed_at.lock().unwrap().push(Instant::now());
                kills.fetch_add(1, Ordering::SeqCst);
                procs[i] = replica(&store, &rules, LEASE).await;
                urls.lock().unwrap()[i] = procs[i].url.clone();
            }
            procs
        })
    };

    let tickets = 200;
    let mut events = Vec::new();
    for t in 0..tickets {
        events.push(created(t));
        events.push(message(t, 0));
        events.push(message(t, 1));
    }
    // Interleave tickets so timers come due while the client is still posting.
    let mut rng = Rng(42);
    for i in (1..events.len()).rev() {
        events.swap(i, rng.below(i + 1));
    }
    let started = Instant::now();
    // Some events go to two replicas at once: decided once, the same answer from both.
    let doubles: Vec<Value> = (0..tickets).step_by(10).map(|t| message(t, 2)).collect();
    let double_posts = {
        let (http, urls, seen) = (http.clone(), urls.clone(), seen.clone());
        tokio::spawn(async move {
            let mut rng = Rng(7);
            for e in doubles {
                let (mut r1, mut r2) = (Rng(rng.below(1 << 30) as u64 + 1), Rng(99));
                tokio::join!(
                    post_until_ok(&http, &urls, &e, &mut r1, &seen),
                    post_until_ok(&http, &urls, &e, &mut r2, &seen),
                );
            }
        })
    };
    post_all(&http, &urls, events, 8, &seen).await;
    double_posts.await.unwrap();
    let posted_in = started.elapsed();

    let pool = schema.pool().await;
    // Keep killing while the last timers come due and fire, then let them finish.
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The killer kills every 2 s: a fourth kill comes within a few of its rounds.
    let deadline = Instant::now() + Duration::from_secs(30);
    while kills.load(Ordering::SeqCst) < 4 {
        assert!(Instant::now() < deadline, "the killer stopped killing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let procs = killer.await.unwrap();
    wait_timers_done(&pool, Duration::from_secs(40)).await;
    wait_deliveries_done(&pool, Duration::from_secs(40)).await;
    let hooks = std::mem::take(&mut *hooks.lock().unwrap());
    let killed_at = killed_at.lock().unwrap().clone();
    check_deliveries(&pool, &hooks, &killed_at).await;

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    check_store(&pool, &seen).await;
    assert_eq!(seen.answers.len(), tickets * 3 + tickets / 10);
    for t in (0..tickets).step_by(10) {
        assert_eq!(
            seen.answers[&format!("m{t}-2")].len(),
            2,
            "both got an answer"
        );
    }
    // Each ticket: its tags hold every message; the follow-up fired once.
    let rows = sqlx::query("SELECT id, state FROM tickets")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), tickets);
    for r in rows {
        let id: String = r.get("id");
        let state: Value = serde_json::from_str(r.get::<&str, _>("state")).unwrap();
        let tags: BTreeSet<&str> = state["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let t = &id[1..];
        for want in [
            format!("m{t}-0"),
            format!("m{t}-1"),
            "new".into(),
            "followed-up".into(),
            "nudged".into(),
        ] {
            assert!(tags.contains(want.as_str()), "{id} lacks {want}: {tags:?}");
        }
    }
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM decisions WHERE rule = 'timer follow up'"
        )
        .await,
        tickets as i64,
        "one follow-up per ticket"
    );
    let fired = count(&pool, "SELECT COUNT(*) FROM timers WHERE state = 'fired'").await;
    let cancelled = count(
        &pool,
        "SELECT COUNT(*) FROM timers WHERE state = 'cancelled'",
    )
    .await;
    eprintln!(
        "{} events accepted in {posted_in:?}, {} failed attempts retried, {} kills; {fired} timers fired, {cancelled} replaced",
        seen.answers.len(),
        seen.failed,
        kills.load(Ordering::SeqCst)
    );
    assert!(
        kills.load(Ordering::SeqCst) >= 3,
        "the replicas were killed"
    );
    drop(procs);
    pool.close().await;
}

/// Replica A claims due timers and is frozen (SIGSTOP) past its lease; B takes the timers over
/// and fires them; A, thawed, completes its stale claims: answered from the store, no effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_frozen_past_its_lease_fires_nothing_twice() {
    let Some(schema) = PgSchema::create("stop").await else {
        return;
    };
    let rules = tempfile::tempdir().unwrap();
    write_pack(rules.path());
    let mut a = replica(&schema.url, rules.path(), LEASE).await;
    let urls = Arc::new(Mutex::new(vec![a.url.clone()]));
    let http = client(Duration::from_secs(15));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tickets = 400;
    post_all(&http, &urls, (0..tickets).map(created).collect(), 8, &seen).await;

    // Freeze A while it holds claims on due timers it has not fired yet.
    let pool = schema.pool().await;
    let mine = format!("%-{}", a.pid());
    let held_query = "SELECT COUNT(*) FROM timers
                      WHERE state = 'pending' AND claimed_by LIKE $1 AND lease_until > now()";
    // A may fire its claims between our look and the signal: then thaw it and try again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let held: Vec<String> = loop {
        assert!(
            Instant::now() < deadline,
            "A never stopped while holding a claim"
        );
        let held: i64 = sqlx::query_scalar(held_query)
            .bind(&mine)
            .fetch_one(&pool)
            .await
            .unwrap();
        if held == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        signal(a.pid(), "-STOP");
        // A commit A sent just before it froze still lands: give it time to, so that what
        // is read below is what A really holds.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let held: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM timers WHERE state = 'pending' AND claimed_by LIKE $1",
        )
        .bind(&mine)
        .fetch_all(&pool)
        .await
        .unwrap();
        if !held.is_empty() {
            break held;
        }
        signal(a.pid(), "-CONT");
    };

    // B takes over once the lease runs out (and once PostgreSQL has ended A's session if A
    // froze inside a transaction).
    // Meanwhile the held tickets change: a timer must be decided against the ticket as it is
    // when it fires, and A's late firing must still be recognised as the same event.
    let b = replica(&schema.url, rules.path(), LEASE).await;
    let held_tickets: Vec<String> =
        sqlx::query_scalar("SELECT ticket_id FROM timers WHERE id = ANY($1)")
            .bind(&held)
            .fetch_all(&pool)
            .await
            .unwrap();
    let to_b = Arc::new(Mutex::new(vec![b.url.clone()]));
    let messages = held_tickets
        .iter()
        .map(|t| message(t[1..].parse().unwrap(), 0))
        .collect();
    post_all(&http, &to_b, messages, 8, &seen).await;
    wait_timers_done(&pool, Duration::from_secs(45)).await;
    // (One of A's commits may still have been on its way when it froze.)
    let by_b: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM timers WHERE id = ANY($1) AND state = 'fired' AND claimed_by LIKE $2",
    )
    .bind(&held)
    .bind(format!("%-{}", b.pid()))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        by_b > 0 && by_b + 1 >= held.len() as i64,
        "B fired what A held: {by_b} of {}",
        held.len()
    );

    // Thaw A: it goes on with its stale claims. Whatever it makes of each (answered from the
    // store, its lease seen to have run out, its connection found ended while it was frozen),
    // none is decided twice: the store checks below count every timer's decisions.
    signal(a.pid(), "-CONT");
    let fired = "frontdesk_events_total{type=\"timer.fired\"";
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = -1.0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = metric(&http, &a.url, fired).await;
        if now > 0.0 && now == last {
            break;
        }
        last = now;
        assert!(Instant::now() < deadline, "A did not go on with its claims");
    }
    let replayed = metric(
        &http,
        &a.url,
        "frontdesk_events_total{type=\"timer.fired\",outcome=\"replayed\"}",
    )
    .await;
    let expired = metric(&http, &a.url, "frontdesk_timer_claims_expired_total").await;
    let failed = metric(
        &http,
        &a.url,
        "frontdesk_events_total{type=\"timer.fired\",outcome=\"failed\"}",
    )
    .await;
    assert!(
        replayed + expired + failed + 1.0 >= held.len() as f64,
        "A went on with each stale claim: {replayed} replayed, {expired} expired, {failed} failed of {}\n{}",
        held.len(),
        a.tail(20)
    );

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    check_store(&pool, &seen).await;
    // Created and followed up once; the held ones also got a message and its nudge.
    let uneven: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tickets
         WHERE version <> CASE WHEN id = ANY($1) THEN 4 ELSE 2 END",
    )
    .bind(&held_tickets)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(uneven, 0, "every timer acted once");
    let lost: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tickets
         WHERE id = ANY($1) AND NOT (state::jsonb -> 'tags' ?& array['followed-up', 'nudged', 'm' || substr(id, 2) || '-0'])",
    )
    .bind(&held_tickets)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        lost, 0,
        "no timer overwrote the message that came after its claim"
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM timers WHERE state = 'fired'").await,
        (tickets + held_tickets.len()) as i64
    );
    eprintln!(
        "A held {} claims when frozen; B fired {by_b} of them; A's late firings: {replayed} replays, {expired} seen expired, {failed} failed",
        held.len()
    );
    a.kill();
    drop(b);
    pool.close().await;
}

/// Every PostgreSQL session of the replicas is terminated mid-run, twice; then one replica is
/// cut off from the database through a proxy. The replicas reconnect by themselves; the cut
/// one says not-ready and refuses events (503) while cut, and serves again when restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_ride_out_lost_connections_and_an_unreachable_database() {
    let Some(schema) = PgSchema::create("conn").await else {
        return;
    };
    let rules = tempfile::tempdir().unwrap();
    write_pack(rules.path());
    let proxy = common::Proxy::start(schema.server()).await;
    let via_proxy = common::with_host_port(&schema.url, &proxy.addr.to_string());
    let direct1 = replica(&schema.url, rules.path(), LEASE).await;
    let direct2 = replica(&schema.url, rules.path(), LEASE).await;
    let cut = replica(&via_proxy, rules.path(), LEASE).await;
    let urls = Arc::new(Mutex::new(vec![
        direct1.url.clone(),
        direct2.url.clone(),
        cut.url.clone(),
    ]));
    let http = client(Duration::from_secs(15));
    let seen = Arc::new(Mutex::new(Seen::default()));

    // Terminate every session twice while 1,200 events are posted.
    let posting = {
        let (http, urls, seen) = (http.clone(), urls.clone(), seen.clone());
        let events: Vec<Value> = (0..400)
            .flat_map(|t| [created(t), message(t, 0), message(t, 1)])
            .collect();
        tokio::spawn(async move { post_all(&http, &urls, events, 6, &seen).await })
    };
    let mut terminated = 0;
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        terminated += schema.terminate_backends().await;
    }
    posting.await.unwrap();
    assert!(terminated > 0, "sessions were terminated");

    // Cut one replica off: not ready, and its events are refused, not acknowledged.
    proxy.cut();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready(&http, &cut.url).await != Some(503) {
        assert!(
            Instant::now() < deadline,
            "the cut replica still says ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ready(&http, &direct1.url).await, Some(200));
    let refused = json!({"id": "while-cut", "type": "ticket.created", "ticket": {"id": "CUT"}});
    let r = http
        .post(format!("{}/v1/events", cut.url))
        .json(&refused)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "store_unavailable", "{body}");
    let pool = schema.pool().await;
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM events WHERE id = 'while-cut'").await,
        0
    );

    // Restored: ready again without a restart, and it takes the refused event.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ready(&http, &cut.url).await != Some(200) {
        assert!(Instant::now() < deadline, "the replica did not come back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cut_only = Arc::new(Mutex::new(vec![cut.url.clone()]));
    post_until_ok(&http, &cut_only, &refused, &mut Rng(3), &seen).await;
    wait_timers_done(&pool, Duration::from_secs(40)).await;

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    check_store(&pool, &seen).await;
    eprintln!(
        "{} events accepted, {} failed attempts retried, {terminated} sessions terminated",
        seen.answers.len(),
        seen.failed
    );
    drop((direct1, direct2, cut));
    pool.close().await;
}
