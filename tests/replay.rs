//! `frontdesk replay` end to end: a small week recorded through the daemon (real HTTP, a real
//! SQLite file, the old pack's timer fired by the scheduler's own path), then the real binary
//! replays it against a changed pack — from the store, and from `export events` — and prints
//! exactly the rule counts, action diffs and KPI deltas the change makes; a pack that does not
//! compile runs nothing.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::Daemon;
use serde_json::{json, Value};

/// The pack the week was recorded with.
const OLD: &str = r#"
rules:
  - name: acknowledge
    on: [ticket.created]
    then: [ { reply: { text: "Thanks for writing, we are on it." } } ]
  - name: outage
    on: [ticket.created, message.created]
    when: { field: message.text, contains_any: [outage, "is down"] }
    then: [ { set_priority: high }, { add_tags: [outage] } ]
  - name: chase
    on: [ticket.created]
    then:
      - schedule:
          name: chase
          after: 1d
          cancel_on: [message.agent]
          then: [ { add_tags: [chased] } ]
"#;

/// The candidate: outages are urgent, tickets are chased after 2 hours, invoices are billing.
const NEW: &str = r#"
rules:
  - name: acknowledge
    on: [ticket.created]
    then: [ { reply: { text: "Thanks for writing, we are on it." } } ]
  - name: outage
    on: [ticket.created, message.created]
    when: { field: message.text, contains_any: [outage, "is down"] }
    then: [ { set_priority: urgent }, { add_tags: [outage] } ]
  - name: billing
    on: [ticket.created]
    when: { field: message.text, contains_any: [invoice] }
    then: [ { set_category: billing } ]
  - name: chase
    on: [ticket.created]
    then:
      - schedule:
          name: chase
          after: 2h
          cancel_on: [message.agent]
          then: [ { add_tags: [chased] } ]
"#;

fn pack(dir: &Path, name: &str, yaml: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("rules.yaml"), yaml).unwrap();
    p
}

fn frontdesk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .env_remove("FRONTDESK_STORE")
        .env_remove("FRONTDESK_BOTS")
        .env_remove("FRONTDESK_CSAT_SECRET")
        .output()
        .expect("run frontdesk")
}

fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn msg(id: &str, kind: &str, ticket: Value, text: &str) -> Value {
    let author = if kind == "message.agent" {
        "agent"
    } else {
        "customer"
    };
    json!({"id": id, "type": kind, "ticket": ticket, "message": {"text": text, "author": author}})
}

/// Records the week on a daemon running `rules`, in the SQLite file `db`.
async fn record(rules: &Path, db: &Path) {
    let d = Daemon::with()
        .rules(rules)
        .bots(None)
        .sqlite(db)
        .start()
        .await;
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let post = |e: Value| {
        let d = &d;
        async move {
            let (status, body) = d.post("/v1/events", &e).await;
            assert_eq!(status, 200, "{body}");
        }
    };
    // Monday 23 November.
    post(msg(
        "e1",
        "ticket.created",
        json!({"id": "T1", "channel": "email"}),
        "The portal is down",
    ))
    .await;
    d.clock.set(at("2026-11-23T10:10:00Z"));
    post(msg(
        "e2",
        "ticket.created",
        json!({"id": "T2", "channel": "email"}),
        "Where is my invoice?",
    ))
    .await;
    d.clock.set(at("2026-11-23T11:00:00Z"));
    post(msg(
        "e3",
        "message.agent",
        json!({"id": "T2"}),
        "Here it is.",
    ))
    .await;
    d.clock.set(at("2026-11-23T11:30:00Z"));
    post(msg(
        "e4",
        "ticket.created",
        json!({"id": "T3", "channel": "web"}),
        "Hello",
    ))
    .await;
    // Tuesday: the old pack's chase comes due for T1 and T3 (T2's was cancelled by the
    // agent's answer) and fires through the scheduler's path.
    d.clock.set(at("2026-11-24T12:00:00Z"));
    assert_eq!(
        frontdesk::server::fire_due_timers(&d.running.state).await,
        2
    );
    d.clock.set(at("2026-11-24T12:05:00Z"));
    post(msg(
        "e5",
        "message.created",
        json!({"id": "T1"}),
        "Still down?",
    ))
    .await;
    d.stop().await;
}

/// What the replay of the week against [`NEW`] prints: the outage is urgent now and the
/// invoice is billing; both chases fire in virtual time (T2's is cancelled by the agent's
/// answer before it is due), with the same actions as the old pack's a day later.
const EXPECTED: &str = "\
Replayed 7 events on 3 tickets, 2026-11-23 10:00 to 2026-11-24 12:05 UTC
  5 decided again with the candidate rules; 2 of its timers fired in virtual time; 2 recorded timer firings belong to the old rules

Rules          before  after   Δ
  acknowledge       3      3   ·
  outage            1      1   ·
  billing           0      1  +1
  chase             3      3   ·
  timer chase       2      2   ·

Changed tickets: 2 of 3
T1
    reply: \"Thanks for writing, we are on it.\"
  - set_priority high
  + set_priority urgent
    add_tags outage
    add_tags chased
T2
    reply: \"Thanks for writing, we are on it.\"
  + set_category billing

KPIs (3 tickets)                 before     after   Δ
  priority urgent                     0         1  +1
  priority high                       1         0  -1
  priority normal                     2         2   ·
  priority low                        0         0   ·
  auto-answered (FAQ)          0 (0.0%)  0 (0.0%)   ·
  SLA breaches first_response         0         0   ·
  SLA breaches next_response          0         0   ·
  SLA breaches resolution             0         0   ·
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_shows_what_a_changed_pack_would_do() {
    let dir = tempfile::tempdir().unwrap();
    let old = pack(dir.path(), "old", OLD);
    let new = pack(dir.path(), "new", NEW);
    let db = dir.path().join("desk.db");
    record(&old, &db).await;
    let store = format!("sqlite://{}", db.display());
    // The daemon's clock is in 2026; name the window's start rather than a span back from now.
    let since = "2026-11-01T00:00:00Z";
    let new = new.to_str().unwrap();

    // From the store.
    let o = frontdesk(&[
        "replay", "--store", &store, "--since", since, "--rules", new,
    ]);
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, EXPECTED);

    // As JSON.
    let o = frontdesk(&[
        "replay", "--store", &store, "--since", since, "--rules", new, "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            &r["events"],
            &r["decided"],
            &r["recorded_timers"],
            &r["timers_fired"]
        ),
        (&json!(7), &json!(5), &json!(2), &json!(2))
    );
    assert_eq!(
        r["rules"][2],
        json!({"rule": "billing", "before": 0, "after": 1})
    );
    assert_eq!(r["changed_tickets"], 2);
    assert_eq!(r["changed"][0]["ticket"], "T1");
    assert_eq!(
        r["changed"][0]["after"][1],
        json!({"type": "set_priority", "priority": "urgent"})
    );
    assert_eq!(
        r["kpis"]["priority"][0],
        json!({"key": "urgent", "before": 0, "after": 1})
    );

    // The same week exported to a file, and read back from it (and from standard input).
    let o = frontdesk(&["export", "events", "--store", &store, "--since", since]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    let week = dir.path().join("week.jsonl");
    std::fs::write(&week, &o.stdout).unwrap();
    let week = week.to_str().unwrap();
    let o = frontdesk(&["replay", "--events", week, "--rules", new]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    assert_eq!(out(&o).0, EXPECTED);
    let mut stdin = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["replay", "--events", "-", "--rules", new])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        stdin
            .stdin
            .take()
            .unwrap()
            .write_all(&std::fs::read(week).unwrap())
            .unwrap();
    }
    let o = stdin.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), EXPECTED);

    // The old pack against its own week changes nothing.
    let o = frontdesk(&["replay", "--events", week, "--rules", old.to_str().unwrap()]);
    let (stdout, _) = out(&o);
    assert!(stdout.contains("Changed tickets: 0 of 3\n"), "{stdout}");
    assert!(
        stdout.contains("  timer chase       2      2  ·\n"),
        "{stdout}"
    );
}

#[test]
fn bad_input_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = pack(dir.path(), "good", NEW);
    let good = good.to_str().unwrap();

    // A pack that does not compile: every diagnostic, exit 1, nothing run (the store named
    // does not even exist).
    let broken = pack(
        dir.path(),
        "broken",
        &NEW.replace("set_priority: urgent", "set_priority: huge")
            .replace(
                "ticket.created, message.created",
                "ticket.made, message.created",
            ),
    );
    let missing = format!("sqlite://{}", dir.path().join("none.db").display());
    let o = frontdesk(&[
        "replay",
        "--store",
        &missing,
        "--rules",
        broken.to_str().unwrap(),
    ]);
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout, "");
    assert!(stderr.contains("rules.yaml:9:"), "{stderr}");
    assert!(stderr.contains("huge"), "{stderr}");
    assert!(stderr.contains("ticket.made"), "{stderr}");
    assert!(!stderr.contains("no store"), "{stderr}");

    // A good pack and a store that is not there.
    let o = frontdesk(&["replay", "--store", &missing, "--rules", good]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("no store at"), "{}", out(&o).1);

    // A file with a bad line: its name and line number, and what is wrong.
    let line = |id: &str| {
        json!({"seq": 1, "received_at": "2026-11-23T10:00:00Z",
               "event": {"id": id, "type": "ticket.created", "ticket": {"id": "T"}},
               "decision": {"event_id": id, "actions": [], "ticket": {"id": "T"}, "trace": {"fired": []}}})
        .to_string()
    };
    let week = dir.path().join("week.jsonl");
    let bad = line("e2").replace("ticket.created", "ticket.made");
    std::fs::write(&week, format!("{}\n\n{bad}\n", line("e1"))).unwrap();
    let o = frontdesk(&[
        "replay",
        "--events",
        week.to_str().unwrap(),
        "--rules",
        good,
    ]);
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("week.jsonl:3: event.type: unknown variant `ticket.made`"),
        "{stderr}"
    );
    let o = frontdesk(&["replay", "--events", "nowhere.jsonl", "--rules", good]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("reading nowhere.jsonl"), "{}", out(&o).1);
}

/// The desk replays its own store against a candidate directory as `frontdesk replay` does
/// (the same report), names the candidate by its pack hash, answers a candidate with errors
/// with its diagnostics and refuses a path that is not a directory. Its reads stop at a cap
/// and say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_replays_its_store_against_a_candidate() {
    use frontdesk::service::replay::{EventPages, ReplayOutcome};
    use frontdesk::service::Code;

    let dir = tempfile::tempdir().unwrap();
    let old = pack(dir.path(), "old", OLD);
    let new = pack(dir.path(), "new", NEW);
    let db = dir.path().join("desk.db");
    record(&old, &db).await;
    let since: chrono::DateTime<chrono::Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let o = frontdesk(&[
        "replay",
        "--store",
        &format!("sqlite://{}", db.display()),
        "--since",
        &since.to_rfc3339(),
        "--rules",
        new.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    let cli: Value = serde_json::from_slice(&o.stdout).unwrap();

    // A daemon running the candidate, on the recorded store.
    let d = Daemon::with()
        .rules(&new)
        .bots(None)
        .sqlite(&db)
        .start()
        .await;
    let desk = &d.running.state;
    let outcome = desk.replay(&new, None, since, 50).await.unwrap();
    let ReplayOutcome::Replayed(r) = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(serde_json::to_value(&r.report).unwrap(), cli);
    assert_eq!(r.candidate, desk.config_info().hash);
    assert!(!r.capped);
    assert_eq!(
        serde_json::to_value(&outcome).unwrap()["outcome"],
        "replayed"
    );
    // Listing fewer changed tickets still counts them all.
    let ReplayOutcome::Replayed(one) = desk.replay(&new, None, since, 1).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        (one.report.changed.len(), one.report.changed_tickets),
        (1, 2)
    );

    let broken = pack(
        dir.path(),
        "broken",
        &NEW.replace("set_priority: urgent", "set_priority: huge"),
    );
    match desk.replay(&broken, None, since, 50).await.unwrap() {
        ReplayOutcome::Invalid(invalid) => {
            assert_eq!(invalid.errors, 1);
            let d = &invalid.diagnostics[0];
            assert!(d.contains("rules.yaml:9:") && d.contains("huge"), "{d}");
        }
        other => panic!("{other:?}"),
    }
    for (rules, bots, field) in [
        (dir.path().join("nowhere"), None, "rules"),
        (new.join("rules.yaml"), None, "rules"),
        (new.clone(), Some(dir.path().join("nowhere")), "bots"),
    ] {
        let e = desk
            .replay(&rules, bots.as_deref(), since, 50)
            .await
            .unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            (Code::InvalidRequest, Some(field))
        );
    }

    // The store's 7 events, read up to a cap.
    let store = &*desk.store;
    for (cap, read, capped) in [(Some(3), 3, true), (Some(7), 7, false), (None, 7, false)] {
        let mut pages = EventPages::new(store, since, cap);
        let mut ids = Vec::new();
        while let Some(page) = pages.next().await.unwrap() {
            ids.extend(page.into_iter().map(|r| r.event.id));
        }
        assert_eq!((ids.len(), pages.capped()), (read, capped), "{cap:?}");
        assert_eq!(ids[0], "e1", "in the order they were decided");
    }
    d.stop().await;
}
