//! KPI facts and reports over real HTTP: a scripted desk — tickets created, agent replies at
//! known offsets, an SLA clock met and one breached, solves and a reopen, all delivered late
//! and a second apart — gives exactly the expected figures through `GET /v1/reports/kpis`
//! (JSON and CSV) and `/metrics`, on SQLite and on PostgreSQL.

mod common;

use common::Daemon;
use frontdesk::service::Clock;
use serde_json::{json, Value};

const PACK: &str = "
sla:
  - name: standard
    first_response: { normal: 1h, high: 1h }
rules: []
";

fn event(id: &str, kind: &str, at: &str, ticket: Value, author: Option<&str>) -> Value {
    let mut e = json!({ "id": id, "type": kind, "occurred_at": at, "ticket": ticket });
    if let Some(a) = author {
        e["message"] = json!({ "text": "hello", "author": a });
    }
    e
}

/// The scenario, every event dated between 08:00 and 10:00 and posted at 10:00 (the
/// daemon's clock) a second apart.
async fn play(d: &Daemon) {
    let t1 = json!({ "id": "T1", "channel": "email", "group": "a", "created_at": "2026-11-23T08:00:00Z" });
    let t2 = json!({ "id": "T2", "channel": "chat", "group": "b", "created_at": "2026-11-23T08:00:00Z",
                     "customer": { "language": "nb" } });
    let t3 = json!({ "id": "T3", "channel": "email", "group": "a", "created_at": "2026-11-23T09:00:00Z" });
    let events = [
        event(
            "1",
            "ticket.created",
            "2026-11-23T08:00:00Z",
            t1.clone(),
            None,
        ),
        event(
            "2",
            "ticket.created",
            "2026-11-23T08:00:00Z",
            t2.clone(),
            None,
        ),
        // T1: answered after 30 minutes (met), solved at 09:00 after one reply.
        event(
            "3",
            "message.created",
            "2026-11-23T08:30:00Z",
            t1.clone(),
            Some("agent"),
        ),
        event(
            "4",
            "ticket.updated",
            "2026-11-23T09:00:00Z",
            json!({ "id": "T1", "status": "solved" }),
            None,
        ),
        event("5", "ticket.created", "2026-11-23T09:00:00Z", t3, None),
        // T2: answered after 90 minutes (breached), a next response of 10 minutes, solved,
        // then reopened.
        event(
            "6",
            "message.created",
            "2026-11-23T09:30:00Z",
            t2.clone(),
            Some("agent"),
        ),
        event(
            "7",
            "message.created",
            "2026-11-23T09:40:00Z",
            t2.clone(),
            Some("customer"),
        ),
        event(
            "8",
            "message.created",
            "2026-11-23T09:50:00Z",
            t2.clone(),
            Some("agent"),
        ),
        event(
            "9",
            "ticket.updated",
            "2026-11-23T09:55:00Z",
            json!({ "id": "T2", "status": "solved" }),
            None,
        ),
        event(
            "10",
            "ticket.updated",
            "2026-11-23T09:58:00Z",
            json!({ "id": "T2", "status": "open" }),
            None,
        ),
    ];
    for e in &events {
        let (status, body) = d.post("/v1/events", e).await;
        assert_eq!(status, 200, "{body}");
        d.clock.set(d.clock.now() + chrono::Duration::seconds(1));
    }
}

const RANGE: &str = "from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";

async fn check_report(d: &Daemon) {
    let (status, r) = d.get(&format!("/v1/reports/kpis?{RANGE}")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["tickets"],
        json!({ "created": 3, "solved": 2, "reopened": 1, "backlog": 2 })
    );
    let fr = &r["first_response"];
    assert_eq!(fr["count"], 2);
    assert_eq!(
        (fr["p50_seconds"].as_i64(), fr["p90_seconds"].as_i64()),
        (Some(1800), Some(5400))
    );
    assert_eq!(fr["mean_seconds"], 3600.0);
    assert_eq!(
        fr["business_p50_seconds"], 1800,
        "the SLA clock counted the same time"
    );
    assert_eq!(
        (
            r["next_response"]["count"].as_i64(),
            r["next_response"]["p50_seconds"].as_i64()
        ),
        (Some(1), Some(600))
    );
    let res = &r["resolution"];
    assert_eq!(
        (
            res["count"].as_i64(),
            res["p50_seconds"].as_i64(),
            res["p90_seconds"].as_i64()
        ),
        (Some(2), Some(3600), Some(6900))
    );
    assert_eq!(
        r["sla"],
        json!({ "met": 1, "breached": 1, "attainment": 0.5 })
    );
    assert_eq!(r["fcr"], json!({ "count": 1, "share": 0.5 }));
    assert_eq!(r["csat"]["count"], 0);

    let (_, by_team) = d
        .get(&format!("/v1/reports/kpis?{RANGE}&group_by=team"))
        .await;
    let groups = by_team["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["key"], "a");
    assert_eq!(
        groups[0]["tickets"],
        json!({ "created": 2, "solved": 1, "reopened": 0, "backlog": 1 })
    );
    assert_eq!(groups[0]["sla"]["attainment"], 1.0);
    assert_eq!(groups[1]["key"], "b");
    assert_eq!(groups[1]["sla"]["attainment"], 0.0);

    let (_, by_language) = d
        .get(&format!("/v1/reports/kpis?{RANGE}&group_by=language"))
        .await;
    let keys: Vec<&Value> = by_language["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["key"])
        .collect();
    assert_eq!(keys, [&Value::Null, &json!("nb")]);

    let (_, daily) = d
        .get("/v1/reports/kpis?from=2026-11-22T00:00:00Z&to=2026-11-24T00:00:00Z&interval=day")
        .await;
    let series = daily["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["tickets"]["created"], 0);
    assert_eq!(series[1]["tickets"]["created"], 3);
    assert_eq!(series[1]["tickets"]["backlog"], 2);

    let csv = d
        .text(&format!(
            "/v1/reports/kpis?{RANGE}&group_by=team&format=csv"
        ))
        .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("key,start,tickets_created,"));
    assert!(
        lines[1].starts_with("a,,2,1,0,1,1,1800,1800,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("b,,1,1,1,1,1,5400,5400,"),
        "{}",
        lines[2]
    );

    // Bad parameters: 422 naming each.
    for (query, field) in [
        ("group_by=colour", "group_by"),
        ("interval=month", "interval"),
        ("from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z", "from"),
        ("from=last+tuesday", "from"),
        ("from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("limit=1e30", "limit"),
    ] {
        let (status, body) = d.get(&format!("/v1/reports/kpis?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid_report");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
}

/// A counter's or histogram count's value in the Prometheus text, 0 when absent.
fn sample(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

const METRICS: [&str; 4] = [
    "frontdesk_sla_met_total{metric=\"first_response\",policy=\"standard\"}",
    "frontdesk_sla_breached_total{metric=\"first_response\",policy=\"standard\"}",
    "frontdesk_first_response_seconds_count{channel=\"email\",priority=\"normal\",group=\"a\"}",
    "frontdesk_resolution_seconds_count{channel=\"chat\",priority=\"normal\",group=\"b\"}",
];

async fn scenario(store: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sla.yaml"), PACK).unwrap();
    let mut setup = Daemon::with().rules(dir.path()).bots(None);
    if let Some(url) = store {
        setup = setup.store(url);
    }
    let d = setup.start().await;
    let before = d.text("/metrics").await;
    play(&d).await;
    check_report(&d).await;
    let after = d.text("/metrics").await;
    let deltas: Vec<f64> = METRICS
        .iter()
        .map(|m| sample(&after, m) - sample(&before, m))
        .collect();
    assert_eq!(deltas, [1.0, 1.0, 1.0, 1.0], "{after}");
    // The ticket shows its first response at the reply's own time.
    let (_, t2) = d.get("/v1/tickets/T2").await;
    assert_eq!(t2["ticket"]["first_response_at"], "2026-11-23T09:30:00Z");
    assert_eq!(t2["ticket"]["stats"]["reopens"], 1);
    d.stop().await;
}

/// One test for both stores: the metrics recorder is the process's, so the two runs must not
/// overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_desk_gives_the_expected_figures() {
    scenario(None).await;
    match common::PgSchema::create("kpis").await {
        Some(schema) => scenario(Some(&schema.url)).await,
        None => eprintln!("skipped the PostgreSQL half: no PostgreSQL reachable"),
    }
}
