//! The daemon over real HTTP on 127.0.0.1, with a real SQLite file.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::{root, t0, Daemon};
use frontdesk::server;
use reqwest::Method;
use serde_json::{json, Value};

fn example(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/events").join(name)).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn decides_the_example_events() {
    let d = Daemon::start().await;
    let (status, body) = d.post("/v1/events", &example("outage-nb.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["replayed"], false);
    assert_eq!(body["ticket"]["priority"], "urgent");
    assert_eq!(
        body["rules"],
        json!([
            "outage is urgent",
            "acknowledge new tickets",
            "route new tickets"
        ])
    );
    let kinds: Vec<&str> = body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "set_priority",
            "add_tags",
            "internal_note",
            "reply",
            "set_status",
            "assign"
        ]
    );
    // Nobody is online: the ticket waits in the support queue.
    assert_eq!(body["ticket"]["group"], "support");

    let (status, rec) = d.get("/v1/tickets/1001").await;
    assert_eq!(status, 200);
    assert_eq!(rec["version"], 1);
    assert_eq!(rec["history"].as_array().unwrap().len(), 3);

    let (_, log) = d.get("/v1/decisions?rule=outage%20is%20urgent").await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["event_id"], "evt-1001");
    // Each rule's row holds the actions it produced, not the whole decision's.
    let kinds = |row: &Value| -> Vec<String> {
        row["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        kinds(&log[0]),
        ["set_priority", "add_tags", "internal_note"]
    );
    let history = rec["history"].as_array().unwrap();
    let by_rule: Vec<(String, Vec<String>)> = history
        .iter()
        .map(|h| (h["rule"].as_str().unwrap().to_string(), kinds(h)))
        .collect();
    assert_eq!(
        by_rule,
        [
            ("outage is urgent".to_string(), kinds(&log[0])),
            (
                "acknowledge new tickets".to_string(),
                vec!["reply".to_string(), "set_status".to_string()]
            ),
            ("route new tickets".to_string(), vec!["assign".to_string()]),
        ]
    );

    let (status, body) = d
        .post("/v1/events?explain=true", &example("refund-da.json"))
        .await;
    assert_eq!(status, 200);
    assert!(
        body["trace"]["rules"].as_array().unwrap().len() > 5,
        "{body}"
    );
    d.stop().await;
}

#[tokio::test]
async fn a_repeated_event_is_answered_again_and_applied_once() {
    let d = Daemon::start().await;
    let e = example("outage-nb.json");
    let (_, first) = d.post("/v1/events", &e).await;
    let (status, again) = d.post("/v1/events", &e).await;
    assert_eq!(status, 200);
    assert_eq!(again["replayed"], true);
    assert_eq!(first["actions"], again["actions"]);
    let (_, rec) = d.get("/v1/tickets/1001").await;
    assert_eq!(rec["version"], 1, "applied once");
    assert_eq!(rec["history"].as_array().unwrap().len(), 3);

    let mut changed = e.clone();
    changed["message"]["text"] = json!("something else");
    let (status, body) = d.post("/v1/events", &changed).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "event_id_reused");
    d.stop().await;
}

#[tokio::test]
async fn bad_requests_get_one_stable_error_shape() {
    let d = Daemon::start().await;
    // (path, content type, body, status, error code)
    type Case = (
        &'static str,
        Option<&'static str>,
        Vec<u8>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "/v1/events",
            Some("application/json"),
            b"{\"id\": ".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "/v1/events",
            Some("text/plain"),
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "/v1/events",
            None,
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "/v1/events",
            Some("application/json"),
            br#"{"id":"x","ticket":{"id":"1"}}"#.to_vec(),
            422,
            "invalid_event",
        ),
        (
            "/v1/events",
            Some("application/json"),
            br#"{"id":"x","type":"ticket.created","ticket":{"id":"1","priority":"hi"}}"#.to_vec(),
            422,
            "invalid_event",
        ),
        (
            "/v1/events",
            Some("application/json"),
            br#"{"id":"","type":"ticket.created","ticket":{"id":"1"}}"#.to_vec(),
            422,
            "invalid_event",
        ),
        (
            "/v1/events",
            Some("application/json"),
            vec![b' '; 2 * 1024 * 1024],
            413,
            "body_too_large",
        ),
        (
            "/v1/events",
            Some("application/json"),
            vec![0xff, 0xfe, 0x00],
            400,
            "invalid_json",
        ),
        (
            "/v1/inbound/zendsk",
            Some("application/json"),
            b"{}".to_vec(),
            404,
            "not_found",
        ),
        (
            "/v1/nothing",
            Some("application/json"),
            b"{}".to_vec(),
            404,
            "not_found",
        ),
    ];
    for (path, ct, body, status, code) in cases {
        let (got, b) = d.post_raw(path, ct, body).await;
        assert_eq!(
            (got, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{path} {ct:?}: {b}"
        );
        assert!(b["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let (_, b) = d
        .post_raw(
            "/v1/events",
            Some("application/json"),
            br#"{"id":"x","type":"ticket.created","ticket":{"id":"1","priority":"hi"}}"#.to_vec(),
        )
        .await;
    assert_eq!(b["error"]["field"], "ticket.priority");
    let (status, _) = d.get("/v1/events").await;
    assert_eq!(status, 405);
    d.stop().await;
}

#[tokio::test]
async fn tokens_guard_the_api() {
    let d = Daemon::with().tokens(&["s3cret"]).start().await;
    let e = example("spam.json");
    let (status, body) = d.post("/v1/events", &e).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let r = d
        .http
        .post(format!("{}/v1/events", d.url))
        .bearer_auth("wrong")
        .json(&e)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = d
        .http
        .post(format!("{}/v1/events", d.url))
        .bearer_auth("s3cret")
        .json(&e)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(d.get("/healthz").await.0, 200, "health is open");
    assert_eq!(d.get("/v1/admin/config").await.0, 401);
    d.stop().await;
}

const COUNTING_PACK: &str = r#"
rules:
  - name: remember every message
    on: message.created
    then: [ { script: tag.rhai } ]
"#;

#[tokio::test]
async fn concurrent_events_for_one_ticket_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("r.yaml"), COUNTING_PACK).unwrap();
    std::fs::write(rules.join("tag.rhai"), "[#{ add_tags: [message.text] }]").unwrap();
    let d = Arc::new(Daemon::with().rules(&rules).start().await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            let e = json!({"id": format!("m{i}"), "type": "message.created", "ticket": {"id": "T"}, "message": {"text": format!("n{i}")}});
            d.post("/v1/events", &e).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, rec) = d.get("/v1/tickets/T").await;
    assert_eq!(rec["version"], 40);
    let mut tags: Vec<String> = rec["ticket"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    let mut want: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
    want.sort();
    assert_eq!(
        tags, want,
        "every event saw the state the one before it left"
    );
    Arc::try_unwrap(d).ok().unwrap().stop().await;
}

#[tokio::test]
async fn a_broken_reload_keeps_the_old_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("r.yaml"),
        "rules:\n  - { name: a, on: ticket.created, then: [ { add_tags: [one] } ] }\n",
    )
    .unwrap();
    let d = Daemon::with().rules(&rules).start().await;
    let (_, before) = d.get("/v1/admin/config").await;

    std::fs::write(
        rules.join("r.yaml"),
        "rules:\n  - { name: a, on: ticket.created, then: [ { add_tag: [two] } ] }\n",
    )
    .unwrap();
    let (status, body) = d.post("/v1/admin/reload", &json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "invalid_rules");
    assert!(
        body["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("unknown action `add_tag`; did you mean `add_tags`?"),
        "{body}"
    );
    let (_, e) = d
        .post(
            "/v1/events",
            &json!({"id": "1", "type": "ticket.created", "ticket": {"id": "T"}}),
        )
        .await;
    assert_eq!(e["ticket"]["tags"], json!(["one"]), "old rules still serve");

    std::fs::write(
        rules.join("r.yaml"),
        "rules:\n  - { name: a, on: ticket.created, then: [ { add_tags: [two] } ] }\n",
    )
    .unwrap();
    let (status, after) = d.post("/v1/admin/reload", &json!({})).await;
    assert_eq!(status, 200);
    assert_ne!(before["hash"], after["hash"]);
    let (_, e) = d
        .post(
            "/v1/events",
            &json!({"id": "2", "type": "ticket.created", "ticket": {"id": "U"}}),
        )
        .await;
    assert_eq!(e["ticket"]["tags"], json!(["two"]));
    d.stop().await;
}

#[tokio::test]
async fn state_and_idempotency_survive_a_restart() {
    let d = Daemon::start().await;
    let (_, first) = d.post("/v1/events", &example("outage-nb.json")).await;

    let d = d.restart().await;
    let (_, again) = d.post("/v1/events", &example("outage-nb.json")).await;
    assert_eq!(again["replayed"], true);
    assert_eq!(first["actions"], again["actions"]);
    let (_, rec) = d.get("/v1/tickets/1001").await;
    assert_eq!(rec["version"], 1);
    d.stop().await;
}

#[tokio::test]
async fn timers_fire_once_and_customer_replies_cancel_them() {
    let d = Daemon::start().await;
    let pending = json!({"id": "p1", "type": "ticket.status_changed",
        "ticket": {"id": "77", "channel": "email", "status": "pending", "customer": {"first_name": "Ola", "language": "nb"}},
        "changes": {"ticket.status": {"from": "open", "to": "pending"}}});
    let (_, body) = d.post("/v1/events", &pending).await;
    assert_eq!(body["timers"][0]["name"], "nudge pending customer");

    d.clock.set(t0() + Duration::hours(47));
    assert_eq!(
        server::fire_due_timers(&d.running.state).await,
        0,
        "not due yet"
    );
    d.clock.set(t0() + Duration::days(2));
    assert_eq!(server::fire_due_timers(&d.running.state).await, 1);
    assert_eq!(
        server::fire_due_timers(&d.running.state).await,
        0,
        "fires once"
    );
    let (_, rec) = d.get("/v1/tickets/77").await;
    let timers = rec["timers"].as_array().unwrap();
    let state_of = |name: &str| {
        timers
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state_of("nudge pending customer").as_deref(), Some("fired"));
    assert_eq!(
        state_of("close stale pending").as_deref(),
        Some("pending"),
        "the nudge scheduled the auto-close"
    );
    let (_, log) = d.get("/v1/decisions?ticket=77").await;
    assert_eq!(log[0]["rule"], "timer nudge pending customer");
    assert!(log[0]["actions"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Ola"));

    // The customer answers: the auto-close is cancelled and never fires.
    let reply = json!({"id": "m1", "type": "message.created", "ticket": {"id": "77"}, "message": {"text": "Her er svaret"}});
    assert_eq!(d.post("/v1/events", &reply).await.0, 200);
    d.clock.set(t0() + Duration::days(30));
    // The reopened ticket's SLA clocks run again and their timers come due; the auto-close
    // does not fire.
    server::fire_due_timers(&d.running.state).await;
    let (_, rec) = d.get("/v1/tickets/77").await;
    assert_eq!(
        rec["ticket"]["status"], "open",
        "reopened by the reply, not closed by the timer"
    );
    let fired: Vec<&str> = rec["timers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "fired" && !t["name"].as_str().unwrap().starts_with("sla:"))
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(fired, ["nudge pending customer"]);
    assert!(rec["timers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "close stale pending" && t["state"] == "cancelled"));
    d.stop().await;
}

#[tokio::test]
async fn an_sla_breach_fires_once_and_a_met_clock_does_nothing() {
    let d = Daemon::start().await;
    // Monday 11:00 in Oslo; the standard policy promises a first answer in 4 open hours
    // (15:00 Oslo, 14:00 UTC) and warns at 80% (14:12 Oslo).
    let created = |id: &str| {
        json!({"id": format!("c-{id}"), "type": "ticket.created",
            "ticket": {"id": id, "channel": "email", "subject": "Where is my parcel?", "customer": {"language": "en"}},
            "message": {"text": "Where is my parcel?"}})
    };
    let (status, body) = d.post("/v1/events", &created("S1")).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["timers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sla:first_response", "sla:resolution"]);
    assert_eq!(body["timers"][0]["due_at"], "2026-11-23T13:12:00Z");
    assert_eq!(
        body["ticket"]["sla"]["first_response"]["due_at"],
        "2026-11-23T14:00:00Z"
    );
    assert_eq!(d.post("/v1/events", &created("S2")).await.0, 200);
    // S2 gets an agent's answer after an hour: its first-response timer is cancelled.
    let answer = json!({"id": "a-S2", "type": "message.agent", "ticket": {"id": "S2"},
        "message": {"text": "It is on its way", "author": "agent"}});
    d.clock.set(t0() + Duration::hours(1));
    let (_, body) = d.post("/v1/events", &answer).await;
    assert_eq!(body["cancelled_timers"], json!(["sla:first_response"]));

    d.clock.set(t0() + Duration::hours(3));
    assert_eq!(
        server::fire_due_timers(&d.running.state).await,
        0,
        "not due yet"
    );
    d.clock.set("2026-11-23T13:12:00Z".parse().unwrap());
    assert_eq!(
        server::fire_due_timers(&d.running.state).await,
        1,
        "the warning"
    );
    d.clock.set("2026-11-23T14:00:00Z".parse().unwrap());
    assert_eq!(
        server::fire_due_timers(&d.running.state).await,
        1,
        "the breach"
    );
    assert_eq!(
        server::fire_due_timers(&d.running.state).await,
        0,
        "fires once"
    );

    let (_, rec) = d.get("/v1/tickets/S1").await;
    let t = &rec["ticket"];
    assert_eq!(t["priority"], "high", "escalated by the rule");
    assert_eq!(
        t["tags"],
        json!(["escalated", "sla_breached"]),
        "the routing rule and the SLA rule both act on the breach"
    );
    assert_eq!(t["sla"]["policy"], "standard");
    assert_eq!(t["sla"]["first_response"]["breached"], true);
    assert_eq!(
        t["sla"]["first_response"]["breached_at"],
        "2026-11-23T14:00:00Z"
    );
    let (_, log) = d.get("/v1/decisions?ticket=S1").await;
    let rules: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    for want in [
        "sla first_response warning 80%",
        "sla warning to the team",
        "sla first_response breached",
        "a missed answer raises the priority",
    ] {
        assert_eq!(
            rules.iter().filter(|r| **r == want).count(),
            1,
            "{want} once in {rules:?}"
        );
    }
    let (_, outbox) = d.get("/v1/outbox").await;
    let texts: Vec<&str> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ticket_id"] == "S1")
        .map(|r| r["action"]["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("80% of the first_response target")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("missed its first_response target (standard)")),
        "{texts:?}"
    );

    // S2 was answered in time: nothing fired for it, and its clock says so.
    let (_, rec) = d.get("/v1/tickets/S2").await;
    let fr = &rec["ticket"]["sla"]["first_response"];
    assert_eq!(fr["achieved_at"], "2026-11-23T11:00:00Z");
    assert_eq!(fr["breached"], false);
    assert_eq!(rec["ticket"]["priority"], "normal");
    let states: Vec<(&str, &str)> = rec["timers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["state"].as_str().unwrap()))
        .collect();
    assert!(
        states.contains(&("sla:first_response", "cancelled")),
        "{states:?}"
    );
    assert!(
        !states.contains(&("sla:first_response", "fired")),
        "{states:?}"
    );
    // What a caller sends as `ticket.sla` does not overwrite the clocks.
    let forged = json!({"id": "f-S2", "type": "ticket.updated",
        "ticket": {"id": "S2", "sla": {"policy": "gold"}}});
    let (_, body) = d.post("/v1/events", &forged).await;
    assert_eq!(body["ticket"]["sla"]["policy"], "standard");
    d.stop().await;
}

#[tokio::test]
async fn cron_schedules_run_each_occurrence_once() {
    let d = Daemon::start().await;
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let put = |id: &str, status: &str| {
        json!({"id": format!("u-{id}"), "type": "ticket.updated",
            "ticket": {"id": id, "channel": "email", "status": status, "customer": {"language": "en"}}})
    };
    // P1 has waited three weeks, P2 one day; P3 is open.
    d.clock.set(t0() - Duration::days(21));
    assert_eq!(d.post("/v1/events", &put("P1", "pending")).await.0, 200);
    assert_eq!(d.post("/v1/events", &put("P3", "open")).await.0, 200);
    d.clock.set(t0() - Duration::days(1));
    assert_eq!(d.post("/v1/events", &put("P2", "pending")).await.0, 200);

    // Loaded on Monday 23 November at 11:00 Oslo time: earlier occurrences do not run.
    d.clock.set(t0());
    assert_eq!(server::run_schedules(&d.running.state).await, 0);
    // 02:00 Oslo time on the 24th is 01:00 UTC.
    d.clock.set(at("2026-11-24T00:59:59Z"));
    assert_eq!(server::run_schedules(&d.running.state).await, 0, "not yet");
    d.clock.set(at("2026-11-24T01:00:05Z"));
    assert_eq!(server::run_schedules(&d.running.state).await, 1);
    assert_eq!(server::run_schedules(&d.running.state).await, 0, "once");
    let status = |id: &'static str| {
        let d = &d;
        async move { d.get(&format!("/v1/tickets/{id}")).await.1["ticket"]["status"].clone() }
    };
    assert_eq!(status("P1").await, "closed");
    assert_eq!(status("P2").await, "pending", "not idle long enough");
    assert_eq!(status("P3").await, "open");
    let (_, log) = d.get("/v1/decisions?ticket=P1").await;
    assert_eq!(
        log[0]["rule"],
        "schedule nightly close of forgotten pending tickets"
    );
    assert_eq!(
        log[0]["event_id"],
        "schedule:nightly close of forgotten pending tickets@2026-11-24T01:00:00Z/P1"
    );
    assert!(log[0]["actions"][0]["text"]
        .as_str()
        .unwrap()
        .contains("we have closed case P1"));

    // Down from Tuesday until Monday 30 November, 13:00 Oslo time: the nightly run missed six
    // occurrences and runs once; the Monday 08:00 reminder is skipped (`missed: skip`).
    d.clock.set(at("2026-11-30T12:00:00Z"));
    assert_eq!(server::run_schedules(&d.running.state).await, 1);
    assert_eq!(server::run_schedules(&d.running.state).await, 0);
    let (_, outbox) = d.get("/v1/outbox").await;
    let reminders = |outbox: &Value| {
        outbox
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["ticket_id"] == "schedule:monday queue reminder")
            .count()
    };
    assert_eq!(reminders(&outbox), 0);
    let (_, p1) = d.get("/v1/decisions?ticket=P1").await;
    assert_eq!(p1.as_array().unwrap().len(), 1, "P1 was closed once: {p1}");

    // The next Monday, on time: the reminder runs, once, as its own ticket.
    d.clock.set(at("2026-12-07T07:00:02Z"));
    assert_eq!(
        server::run_schedules(&d.running.state).await,
        2,
        "the reminder and the nightly run"
    );
    assert_eq!(server::run_schedules(&d.running.state).await, 0);
    let (_, outbox) = d.get("/v1/outbox").await;
    assert_eq!(reminders(&outbox), 1);
    assert_eq!(status("P2").await, "closed", "idle for two weeks by now");

    // A run whose runner died half-way is finished by the next round, once.
    let store = &d.running.state.store;
    let name = "nightly close of forgotten pending tickets";
    let fire_at = at("2026-12-08T01:00:00Z");
    d.clock.set(t0() - Duration::days(30));
    assert_eq!(d.post("/v1/events", &put("P4", "pending")).await.0, 200);
    d.clock.set(at("2026-12-08T01:00:01Z"));
    assert!(store
        .claim_schedule_run(name, fire_at, "a dead replica", fire_at, fire_at)
        .await
        .unwrap());
    assert_eq!(server::run_schedules(&d.running.state).await, 1);
    assert_eq!(server::run_schedules(&d.running.state).await, 0);
    assert_eq!(status("P4").await, "closed");
    assert_eq!(
        store.last_schedule_run(name).await.unwrap(),
        Some((fire_at, "done".to_string()))
    );
    d.stop().await;
}

#[tokio::test]
async fn openapi_metrics_and_readiness() {
    let d = Daemon::start().await;
    let (_, doc) = d.get("/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    // Every route the daemon documents.
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort();
    insta::assert_snapshot!(paths.join("\n"));
    let refs = doc.to_string();
    for name in ["Event", "EventResponse", "TicketRecord", "Error"] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{name} schema"
        );
    }
    assert!(
        !refs.contains("#/$defs/"),
        "every reference points into components"
    );

    d.post("/v1/events", &example("spam.json")).await;
    let (_, metrics) = d.get("/metrics").await;
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains("frontdesk_events_total{type=\"ticket.created\",outcome=\"decided\"}"),
        "{text}"
    );
    assert!(text.contains("frontdesk_rule_matches_total{rule=\"drop spam\"}"));
    assert!(text.contains("frontdesk_decide_seconds_bucket"));
    assert_eq!(d.get("/readyz").await.0, 200);
    d.stop().await;
}

fn shared_payload(rel: &str) -> Option<Vec<u8>> {
    let path = root().join("../shared/data/payloads").join(rel);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("skipping: {} is not readable ({e})", path.display());
            None
        }
    }
}

fn hmac_hex(secret: &[u8], data: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(data);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn chatwoot_deliveries_are_verified_translated_and_deduplicated() {
    let Some(body) = shared_payload("chatwoot/message_created.api_channel_docs.json") else {
        return;
    };
    let d = Daemon::with()
        .secret(frontdesk::adapters::AdapterKind::Chatwoot, "cw-secret")
        .start()
        .await;
    let ts = t0().timestamp().to_string();
    let sig = format!(
        "sha256={}",
        hmac_hex(
            b"cw-secret",
            format!("{ts}.{}", String::from_utf8_lossy(&body)).as_bytes()
        )
    );
    let send = |sig: String| {
        d.http
            .post(format!("{}/v1/inbound/chatwoot", d.url))
            .header("content-type", "application/json")
            .header("x-chatwoot-timestamp", &ts)
            .header("x-chatwoot-signature", sig)
            .header("x-chatwoot-delivery", "delivery-1")
            .body(body.clone())
            .send()
    };
    let r = send(sig.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["replayed"], false, "{v}");
    assert_eq!(v["ticket"]["channel"], "api");

    let again: Value = send(sig).await.unwrap().json().await.unwrap();
    assert_eq!(
        again["replayed"], true,
        "the helpdesk's retry is not applied twice"
    );

    let r = send("sha256=00".into()).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_signature");

    // Our own replies come back as outgoing messages: acknowledged, not decided.
    let mut outgoing: Value = serde_json::from_slice(&body).unwrap();
    outgoing["message_type"] = json!("outgoing");
    let out = serde_json::to_vec(&outgoing).unwrap();
    let sig = format!(
        "sha256={}",
        hmac_hex(
            b"cw-secret",
            format!("{ts}.{}", String::from_utf8_lossy(&out)).as_bytes()
        )
    );
    let r = d
        .http
        .post(format!("{}/v1/inbound/chatwoot", d.url))
        .header("content-type", "application/json")
        .header("x-chatwoot-timestamp", &ts)
        .header("x-chatwoot-signature", sig)
        .body(out)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ignored"], true, "{v}");
    d.stop().await;
}

#[tokio::test]
async fn unsigned_adapters_need_a_token() {
    let Some(body) = shared_payload("zammad/trigger_webhook.json") else {
        return;
    };
    let d = Daemon::with().tokens(&["tok"]).start().await;
    let (status, v) = d
        .post_raw("/v1/inbound/zammad", Some("application/json"), body.clone())
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, v) = d
        .post_raw(
            "/v1/inbound/zammad?token=tok",
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["event_id"].is_string());
    let (status, v) = d
        .post_raw(
            "/v1/inbound/zammad?token=tok",
            Some("application/json"),
            b"{\"ticket\": 5}".to_vec(),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(v["error"]["field"].is_string(), "{v}");
    d.stop().await;
}

/// A query string that does not fit its route is refused like any other bad input: the one
/// JSON error body, code `invalid_query`, naming the parameter (not axum's plain text).
#[tokio::test]
async fn bad_query_strings_get_the_json_error_naming_the_parameter() {
    let d = Daemon::start().await;
    let event = json!({"id": "q1", "type": "ticket.created", "ticket": {"id": "T1"}});
    for (method, path, field) in [
        (Method::POST, "/v1/events?explain=maybe", "explain"),
        (Method::GET, "/v1/outbox?limit=1e30", "limit"),
        (Method::GET, "/v1/outbox?limit=-1", "limit"),
        (Method::GET, "/v1/bots/support/stats?top=lots", "top"),
        // The documented bounds and enums are the ones enforced.
        (Method::GET, "/v1/outbox?limit=1001", "limit"),
        (Method::GET, "/v1/decisions?limit=0", "limit"),
        (Method::GET, "/v1/bots/support/stats?top=0", "top"),
        (Method::GET, "/v1/outbox?state=lost", "state"),
        (Method::GET, "/v1/decisions?limt=5", "limt"),
    ] {
        let body = (method == Method::POST).then_some(&event);
        let (status, answer) = d.call(method, path, body).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_query", "{path}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{path}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("query string: ")),
            "{path}: {answer}"
        );
    }
    // Nothing was decided for the refused event; a good query string still works.
    let (status, _) = d.post("/v1/events?explain=true", &event).await;
    assert_eq!(status, 200);
    let (status, rows) = d.get("/v1/outbox?limit=5").await;
    assert_eq!(status, 200, "{rows}");
    d.stop().await;
}

/// What `tests/contract/run` checks with generated requests, held here with chosen ones: the
/// document states the bounds the handlers enforce, and bodies are read as their schemas say.
#[tokio::test]
async fn the_document_states_what_the_server_does() {
    let d = Daemon::start().await;
    let (_, doc) = d.get("/openapi.json").await;
    let params = &doc["paths"]["/v1/decisions"]["get"]["parameters"];
    let limit = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (
            limit["schema"]["minimum"].as_u64(),
            limit["schema"]["maximum"].as_u64()
        ),
        (Some(1), Some(1000))
    );
    let outbox = &doc["paths"]["/v1/outbox"]["get"];
    assert_eq!(
        outbox["parameters"][0]["schema"]["enum"],
        json!(["pending", "delivered", "dead"]),
        "{outbox}"
    );
    // Every operation with a query string or a body lists the 400 it can answer.
    for (path, method) in [
        ("/v1/outbox", "get"),
        ("/v1/events", "post"),
        ("/v1/chat/sessions", "post"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]["400"].is_object(),
            "{path}"
        );
    }
    // A sized integer carries its bounds, not only a format the generator may not read.
    let stats = doc["components"]["schemas"]["TicketStats"].to_string();
    assert!(stats.contains("4294967295"), "{stats}");
    // The daemon under test has no API token: its document asks for none.
    assert!(
        doc.to_string().find("\"security\"").is_none(),
        "no route asks for a token"
    );

    // A struct given as an array, and a whole float where an integer is wanted.
    let array = json!({"id": "s1", "type": "ticket.created", "ticket": {"id": "T1", "customer": [null, null]}});
    let (status, e) = d.post("/v1/events", &array).await;
    assert_eq!(
        (status, &e["error"]["field"]),
        (422, &json!("ticket.customer")),
        "{e}"
    );
    let whole = json!({"id": "s2", "type": "ticket.created", "ticket": {"id": "T2", "stats": {"reopens": 2.0}}});
    let (status, e) = d.post("/v1/events", &whole).await;
    assert_eq!(status, 200, "{e}");
    d.stop().await;
}

/// Rate limits over real HTTP: a token's burst, then 429 with `Retry-After` until its slot
/// comes back on the daemon's clock; another token and a caller without one are counted apart;
/// a chat session is held to its own limit.
#[tokio::test]
async fn callers_over_their_limit_get_429_with_retry_after() {
    use frontdesk::server::limit::Limits;
    let limits = Limits {
        api: "3/min".parse().unwrap(),
        chat_session: "2/min".parse().unwrap(),
        chat_address: "100/min".parse().unwrap(),
        trusted_proxies: Vec::new(),
    };
    let d = Daemon::with()
        .tokens(&["alpha", "beta"])
        .limits(limits)
        .start()
        .await;
    let get = |token: Option<&'static str>| {
        let mut req = d.http.get(format!("{}/v1/agents", d.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    for _ in 0..3 {
        assert_eq!(get(Some("alpha")).await.unwrap().status(), 200);
    }
    let refused = get(Some("alpha")).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "20");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    // Another token has its own budget; so has a caller with none (counted by address).
    assert_eq!(get(Some("beta")).await.unwrap().status(), 200);
    assert_eq!(get(None).await.unwrap().status(), 401);
    // Health and metrics are never limited.
    for _ in 0..10 {
        assert_eq!(
            d.http
                .get(format!("{}/readyz", d.url))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    // 20 s later on the daemon's clock, one more is taken.
    d.clock.set(t0() + Duration::seconds(20));
    assert_eq!(get(Some("alpha")).await.unwrap().status(), 200);
    assert_eq!(get(Some("alpha")).await.unwrap().status(), 429);

    // Chat: two messages per session per minute; the third waits for the session's slot
    // while the token (3/min) still has room.
    d.clock.set(t0() + Duration::hours(1));
    let chat = |path: String, body: Value| {
        d.http
            .post(format!("{}{path}", d.url))
            .bearer_auth("beta")
            .json(&body)
            .send()
    };
    let open = chat("/v1/chat/sessions".into(), json!({"bot": "support"}))
        .await
        .unwrap();
    let s1: Value = open.json().await.unwrap();
    let path = format!("/v1/chat/sessions/{}/messages", s1["id"].as_str().unwrap());
    d.clock.set(t0() + Duration::hours(2));
    assert_eq!(
        chat(path.clone(), json!({"text": "hallo"}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        chat(path.clone(), json!({"text": "en til"}))
            .await
            .unwrap()
            .status(),
        200
    );
    let third = chat(path.clone(), json!({"text": "og en"})).await.unwrap();
    assert_eq!(third.status(), 429);
    assert_eq!(third.headers()["retry-after"], "30");
    let body: Value = third.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("chat session"),
        "{body}"
    );
    // A caller without a token is told so, not held to the chat limits it cannot use.
    let anonymous = d
        .http
        .post(format!("{}{path}", d.url))
        .json(&json!({"text": "og en"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // The document says so.
    let doc: Value = d
        .http
        .get(format!("{}/openapi.json", d.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"]["/v1/events"]["post"]["responses"]["429"]["headers"]["Retry-After"]
            .is_object()
    );
    d.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Explaining stored decisions, and the playground
// ---------------------------------------------------------------------------------------------

/// The example events, and follow-ups on their tickets, as a desk with Kari and Ola online
/// gets them: new tickets routed round robin, messages on tickets decided before.
fn explained_events() -> Vec<Value> {
    let mut events: Vec<Value> = [
        "outage-nb.json",
        "refund-da.json",
        "vip-invoice-ar.json",
        "pending-en.json",
        "chat-human-zh.json",
        "spam.json",
    ]
    .into_iter()
    .map(example)
    .collect();
    for (id, ticket, text) in [
        ("evt-2001", "2001", "Where is my parcel?"),
        (
            "evt-2002",
            "2002",
            "Where is my parcel? It has been a week.",
        ),
    ] {
        events.push(json!({ "id": id, "type": "ticket.created",
            "ticket": { "id": ticket, "channel": "email", "customer": { "language": "en" } },
            "message": { "text": text, "author": "customer" } }));
    }
    // On tickets decided before: only what changed is sent.
    events.push(json!({ "id": "evt-2003", "type": "message.created",
        "ticket": { "id": "2001" },
        "message": { "text": "The site is down now too, I cannot log in.", "author": "customer" } }));
    events.push(json!({ "id": "evt-1001-b", "type": "message.created",
        "ticket": { "id": "1001" },
        "message": { "text": "Takk, det virker igjen.", "author": "customer" } }));
    events
}

async fn two_online(d: &Daemon) {
    for agent in ["kari", "ola"] {
        let (status, body) = d
            .put(
                &format!("/v1/agents/{agent}/status"),
                &json!({"status": "online"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// A decision stored without its trace, explained afterwards, is the `?explain=true` answer
/// the same event got from a twin daemon: the same rules with the same outcomes and failed
/// conditions, the same routing candidates, the same actions, decided on the ticket its
/// previous decision left and at its arrival time, though the clock has moved on since.
#[tokio::test]
async fn a_decision_explained_afterwards_is_the_one_explained_when_decided() {
    let quiet = Daemon::start().await;
    let told = Daemon::start().await;
    two_online(&quiet).await;
    two_online(&told).await;
    let mut answers = Vec::new();
    for (i, e) in explained_events().iter().enumerate() {
        for d in [&quiet, &told] {
            d.clock.set(t0() + Duration::minutes(i as i64));
        }
        let (status, body) = quiet.post("/v1/events", e).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("trace").is_none());
        let (status, body) = told.post("/v1/events?explain=true", e).await;
        assert_eq!(status, 200, "{body}");
        answers.push(body);
    }
    let (_, config) = quiet.get("/v1/admin/config").await;
    let hash = config["hash"].as_str().unwrap();
    quiet.clock.set(t0() + Duration::days(3));
    let routed = answers
        .iter()
        .filter(|a| {
            a["trace"]["routing"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        })
        .count();
    assert!(routed >= 3, "routing is part of what is explained");

    for told_answer in &answers {
        let id = told_answer["event_id"].as_str().unwrap();
        let (status, x) = quiet.get(&format!("/v1/decisions/{id}/explain")).await;
        assert_eq!(status, 200, "{x}");
        assert_eq!(x["event_id"], id);
        assert_eq!(
            (&x["recomputed"], &x["same_pack"], &x["differs"]),
            (&json!(true), &json!(true), &json!(false)),
            "{id}: {x}"
        );
        assert_eq!(
            (x["decided_with"].as_str(), x["active_pack"].as_str()),
            (Some(hash), Some(hash))
        );
        assert!(x.get("stored").is_none(), "{x}");
        assert_eq!(x["trace"], told_answer["trace"], "{id}");
        assert_eq!(x["actions"], told_answer["actions"], "{id}");
        assert_eq!(x["trace"]["pack"], hash);
        // The twin stored the trace: it is answered as stored.
        let (status, stored) = told.get(&format!("/v1/decisions/{id}/explain")).await;
        assert_eq!(status, 200);
        assert_eq!(stored["recomputed"], false);
        assert_eq!(stored["trace"], told_answer["trace"]);
        assert_eq!(stored["received_at"], x["received_at"]);
    }
    let (status, body) = quiet.get("/v1/decisions/no-such-event/explain").await;
    assert_eq!(
        (status, &body["error"]["code"], &body["error"]["field"]),
        (404, &json!("not_found"), &json!("event_id"))
    );
    quiet.stop().await;
    told.stop().await;
}

const TAGGING: &str = r#"
rules:
  - name: refunds
    on: [ticket.created, message.created]
    when: { field: text, contains_any: [refund] }
    then: [ { add_tags: [billing] } ]
  - name: everything else
    on: [ticket.created, message.created]
    when: { not: { field: text, contains_any: [refund] } }
    then: [ { add_tags: [other] } ]
"#;

/// A decision is explained by the pack that decided it while that pack is active; after a
/// reload the explanation is the new pack's, and says so (`same_pack: false`, both hashes),
/// with what the stored decision did where the new pack differs.
#[tokio::test]
async fn an_explanation_says_when_the_pack_is_not_the_one_that_decided() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("pack.yaml"), TAGGING).unwrap();
    let d = Daemon::with().rules(&rules).bots(None).start().await;
    let event = |id: &str, text: &str| {
        json!({ "id": id, "type": "ticket.created", "ticket": { "id": id },
            "message": { "text": text } })
    };
    assert_eq!(
        d.post("/v1/events", &event("q1", "a refund please"))
            .await
            .0,
        200
    );
    let (_, told) = d
        .post("/v1/events?explain=true", &event("q2", "hello"))
        .await;
    let (_, before) = d.get("/v1/admin/config").await;
    let old = before["hash"].as_str().unwrap().to_string();
    assert_eq!(told["trace"]["pack"], old.as_str());

    let (_, x) = d.get("/v1/decisions/q1/explain").await;
    assert_eq!(
        (&x["same_pack"], &x["recomputed"], &x["differs"]),
        (&json!(true), &json!(true), &json!(false))
    );
    assert_eq!(x["trace"]["fired"], json!(["refunds"]));

    std::fs::write(
        rules.join("pack.yaml"),
        TAGGING.replace("[billing]", "[money]"),
    )
    .unwrap();
    let (status, after) = d.post("/v1/admin/reload", &json!({})).await;
    assert_eq!(status, 200, "{after}");
    let new = after["hash"].as_str().unwrap().to_string();
    assert_ne!(old, new);

    let (_, x) = d.get("/v1/decisions/q1/explain").await;
    assert_eq!(
        (&x["same_pack"], &x["recomputed"], &x["differs"]),
        (&json!(false), &json!(true), &json!(true)),
        "{x}"
    );
    assert_eq!(
        (x["decided_with"].as_str(), x["active_pack"].as_str()),
        (Some(old.as_str()), Some(new.as_str()))
    );
    assert_eq!(
        x["trace"]["pack"],
        new.as_str(),
        "computed by the active pack"
    );
    assert_eq!(
        x["actions"],
        json!([{ "type": "add_tags", "tags": ["money"] }])
    );
    assert_eq!(x["stored"]["rules"], json!(["refunds"]));
    assert_eq!(
        x["stored"]["actions"],
        json!([{ "type": "add_tags", "tags": ["billing"] }])
    );
    // The same rules fire with other actions; the same actions would not differ.
    let (_, x) = d.get("/v1/decisions/q2/explain").await;
    assert_eq!(
        (&x["same_pack"], &x["recomputed"], &x["decided_with"]),
        (&json!(false), &json!(false), &json!(old)),
        "stored with its trace: {x}"
    );
    assert_eq!(x["trace"], told["trace"]);
    d.stop().await;
}

/// The playground decides an event against the active pack and the ticket as stored, with
/// every rule's outcome, and changes nothing: no ticket, decision, timer or delivery. What it
/// answers is what the event then gets. A viewer token may use it, and still change nothing
/// else.
#[tokio::test]
async fn the_playground_decides_and_stores_nothing() {
    let mut d = Daemon::with()
        .tokens(&["adm1n"])
        .viewer_tokens(&["v1ewer"])
        .start()
        .await;
    d.token = Some("adm1n".into());
    two_online(&d).await;
    let (_, config) = d.get("/v1/admin/config").await;
    d.token = Some("v1ewer".into());

    let created = example("outage-nb.json");
    let (status, tried) = d.post("/v1/playground", &created).await;
    assert_eq!(status, 200, "{tried}");
    assert_eq!(tried["pack"], config["hash"]);
    assert_eq!(tried["known_ticket"], false);
    assert_eq!(tried["now"], json!(t0()));
    assert!(
        tried["trace"]["rules"].as_array().unwrap().len() > 5,
        "every rule: {tried}"
    );
    assert_eq!(tried["ticket"]["priority"], "urgent");
    assert!(!tried["timers"].as_array().unwrap().is_empty(), "{tried}");
    // Nothing was kept: no ticket, decision, delivery or load.
    assert_eq!(d.get("/v1/tickets/1001").await.0, 404);
    assert_eq!(d.get("/v1/decisions?ticket=1001").await.1, json!([]));
    assert_eq!(d.get("/v1/outbox").await.1, json!([]));
    assert_eq!(d.get("/v1/decisions/evt-1001/explain").await.0, 404);
    let (_, agents) = d.get("/v1/agents").await;
    assert!(
        agents
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["open"]["total"] == 0),
        "{agents}"
    );
    // The viewer may not send the event itself.
    let (status, body) = d.post("/v1/events", &created).await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
    // Bad events are refused as `POST /v1/events` refuses them.
    let (status, body) = d
        .post(
            "/v1/playground",
            &json!({"id": "", "type": "ticket.created", "ticket": {"id": "1"}}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (422, &json!("invalid_event"))
    );
    let (status, body) = d
        .post(
            "/v1/playground",
            &json!({"id": "x", "type": "ticket.made", "ticket": {"id": "1"}}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (422, &json!("type")),
        "{body}"
    );

    // What it answered is what the event gets, routing included.
    d.token = Some("adm1n".into());
    let (_, decided) = d.post("/v1/events?explain=true", &created).await;
    for field in ["actions", "ticket", "timers", "trace"] {
        assert_eq!(tried[field], decided[field], "{field}");
    }
    // On a known ticket: decided on the ticket as stored.
    d.token = Some("v1ewer".into());
    let follow_up = json!({ "id": "evt-1001-b", "type": "message.created", "ticket": { "id": "1001" },
        "message": { "text": "Kan dere svare snart?", "author": "customer" } });
    let (status, tried) = d.post("/v1/playground", &follow_up).await;
    assert_eq!(status, 200, "{tried}");
    assert_eq!(tried["known_ticket"], true);
    assert_eq!(
        tried["ticket"]["priority"], "urgent",
        "kept from the stored ticket"
    );
    assert_eq!(tried["ticket"]["assignee"], decided["ticket"]["assignee"]);
    let (_, rec) = d.get("/v1/tickets/1001").await;
    assert_eq!(rec["version"], 1, "the stored ticket is unchanged");
    assert_eq!(d.get("/v1/decisions/evt-1001-b/explain").await.0, 404);
    d.stop().await;
}
