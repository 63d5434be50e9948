//! KPI facts and reports over real HTTP: a scripted desk — tickets created, agent replies at
//! known offsets, an SLA clock met and one breached, solves and a reopen, all delivered late
//! and a second apart; the next day satisfaction ratings by a survey link, an e-mail reply and
//! a chat, and bot sessions with and without a handoff — gives exactly the expected figures
//! through `GET /v1/reports/kpis` (JSON and CSV), `frontdesk report` and `/metrics`, on SQLite
//! and on PostgreSQL; `frontdesk kpis rebuild` makes the same facts again from the events.

mod common;

use std::process::Command;

use common::Daemon;
use frontdesk::service::Clock;
use serde_json::{json, Value};

const PACK: &str = r#"
settings: { public_url: "https://desk.example/" }
templates:
  ask: "How did we do? {{ survey.links }}"
sla:
  - name: standard
    first_response: { normal: 1h, high: 1h }
rules:
  - name: survey when solved
    on: [ticket.updated]
    when: { field: ticket.status, eq: solved }
    then: [ { survey: { template: ask } } ]
"#;

const SECRET: &str = "kpi-scenario-secret-0123456789abcdef";

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

/// The token of the survey link in the reply the rule `survey when solved` sent on `ticket`.
async fn survey_token(d: &Daemon, ticket: &str) -> String {
    let (_, log) = d.get(&format!("/v1/decisions?ticket={ticket}")).await;
    let row = log
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "survey when solved")
        .unwrap_or_else(|| panic!("no survey in {log}"));
    let text = row["actions"][0]["text"].as_str().unwrap();
    let start = text.find("/v1/csat/").unwrap_or_else(|| panic!("{text}")) + 9;
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect()
}

/// The next day: T1 rated 5 by its survey link, T4 (e-mail) answered, solved and rated "4/5"
/// in a reply, a chat answered by the bot (a deflection) and a chat handed to a person, solved
/// and rated 2 with a quick reply.
async fn play_day_two(d: &Daemon) {
    d.clock.set("2026-11-24T12:00:00Z".parse().unwrap());
    let token = survey_token(d, "T1").await;
    let (status, body) = d
        .send(
            d.request(reqwest::Method::GET, &format!("/v1/csat/{token}?score=5"))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let t4 = json!({ "id": "T4", "channel": "email", "group": "a", "created_at": "2026-11-24T09:00:00Z" });
    for e in [
        event(
            "11",
            "ticket.created",
            "2026-11-24T09:00:00Z",
            t4.clone(),
            None,
        ),
        event(
            "12",
            "message.created",
            "2026-11-24T09:20:00Z",
            t4.clone(),
            Some("agent"),
        ),
        event(
            "13",
            "ticket.updated",
            "2026-11-24T09:30:00Z",
            json!({ "id": "T4", "status": "solved" }),
            None,
        ),
    ] {
        let (status, body) = d.post("/v1/events", &e).await;
        assert_eq!(status, 200, "{body}");
    }
    let rating = json!({ "id": "14", "type": "message.created", "occurred_at": "2026-11-24T10:00:00Z",
        "ticket": { "id": "T4" }, "message": { "text": "4/5 thanks", "author": "customer" } });
    let (status, body) = d.post("/v1/events", &rating).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ticket"]["csat"]["score"], 4, "{body}");
    assert_eq!(body["ticket"]["status"], "solved");

    let open = |body: Value| async move {
        let (status, s) = d.post("/v1/chat/sessions", &body).await;
        assert_eq!(status, 201, "{s}");
        s["id"].as_str().unwrap().to_string()
    };
    let say = |sid: String, body: Value| async move {
        let (status, r) = d
            .post(&format!("/v1/chat/sessions/{sid}/messages"), &body)
            .await;
        assert_eq!(status, 200, "{r}");
        r
    };
    let answered = open(json!({ "bot": "support", "language": "en" })).await;
    let r = say(answered.clone(), json!({ "text": "Where is my order?" })).await;
    assert_eq!(r["reply"]["answer_id"], "order_status", "{r}");
    say(answered, json!({ "feedback": "yes" })).await;

    let person = open(json!({ "bot": "support", "language": "en" })).await;
    let r = say(person.clone(), json!({ "feedback": "person" })).await;
    assert_eq!(r["handoff"], true, "{r}");
    let chat_ticket = r["event"]["ticket_id"].as_str().unwrap().to_string();
    d.clock.set("2026-11-24T13:00:00Z".parse().unwrap());
    let solve = event(
        "15",
        "ticket.updated",
        "2026-11-24T12:50:00Z",
        json!({ "id": chat_ticket, "status": "solved" }),
        None,
    );
    let (status, body) = d.post("/v1/events", &solve).await;
    assert_eq!(status, 200, "{body}");
    let r = say(person, json!({ "text": "2" })).await;
    assert_eq!(r["rating"]["score"], 2, "{r}");
}

const TWO_DAYS: &str = "from=2026-11-23T00:00:00Z&to=2026-11-25T00:00:00Z";

async fn check_day_two(d: &Daemon) {
    let (status, r) = d
        .get("/v1/reports/kpis?from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z")
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["tickets"],
        json!({ "created": 2, "solved": 2, "reopened": 0, "backlog": 2 }),
        "T2 and T3 are still open from the day before"
    );
    assert_eq!(r["first_response"]["count"], 1);
    assert_eq!(r["first_response"]["p50_seconds"], 1200);
    assert_eq!(r["csat"]["count"], 3);
    assert_eq!(
        r["csat"]["average"].as_f64().map(|a| (a * 1000.0).round()),
        Some(3667.0)
    );
    assert_eq!(
        r["csat"]["satisfied_share"]
            .as_f64()
            .map(|a| (a * 1000.0).round()),
        Some(667.0)
    );
    assert_eq!(
        r["bot"],
        json!({ "sessions": 2, "answered": 1, "deflected": 1, "handoffs": 1, "deflection_rate": 0.5 })
    );
    // A rating counts where the ticket stood: T1 and T4 are team a's.
    let (_, by_team) = d
        .get("/v1/reports/kpis?from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z&group_by=team")
        .await;
    let a = by_team["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "a")
        .unwrap();
    assert_eq!(
        (&a["csat"]["count"], &a["csat"]["average"]),
        (&json!(2), &json!(4.5))
    );
}

/// Runs `frontdesk ARGS…` on the daemon's store; its standard output.
fn cli(d: &Daemon, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .args(["--store", d.store_url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "frontdesk {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `frontdesk report` gives the figures of the API; `frontdesk kpis rebuild` makes the same
/// facts again from the events.
async fn check_cli(d: &Daemon) {
    let (_, api) = d
        .get(&format!("/v1/reports/kpis?{TWO_DAYS}&interval=day"))
        .await;
    let range = [
        "--from",
        "2026-11-23T00:00:00Z",
        "--to",
        "2026-11-25T00:00:00Z",
    ];
    let json: Value = serde_json::from_str(&cli(
        d,
        &[&["report", "--json", "--interval", "day"][..], &range].concat(),
    ))
    .unwrap();
    assert_eq!(json, api);
    let csv = cli(
        d,
        &[&["report", "--csv", "--group-by", "team"][..], &range].concat(),
    );
    let api_csv = d
        .text(&format!(
            "/v1/reports/kpis?{TWO_DAYS}&group_by=team&format=csv"
        ))
        .await;
    assert_eq!(csv, api_csv);
    let table = cli(d, &[&["report", "--group-by", "team"][..], &range].concat());
    for line in [
        "frontdesk KPIs 2026-11-23 00:00 to 2026-11-25 00:00 (UTC), trends per day over 2 days",
        "  tickets           created 5  solved 4  reopened 1  backlog 2  █▆",
        "  SLA               met 2  breached 1  attainment 66.7 %  ▅█",
        "    first_response  met 2  breached 1  attainment 66.7 %",
        "  satisfaction      3 ratings  average 3.67  satisfied 66.7 %   █",
        "  bot               2 sessions  answered 1  deflected 1 (50.0 %)  handed off 1  ▁█",
        "  a             3       2        1      20m      30m      30m  100.0 %  100.0 %  4.50  █▅",
    ] {
        assert!(
            table.lines().any(|l| l.starts_with(line)),
            "no line {line:?} in\n{table}"
        );
    }
    assert!(table.contains("  team "), "{table}");

    cli(d, &["kpis", "rebuild"]);
    let (_, again) = d
        .get(&format!("/v1/reports/kpis?{TWO_DAYS}&interval=day"))
        .await;
    assert_eq!(again, api, "a rebuild makes the same facts");
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

const METRICS: [&str; 7] = [
    "frontdesk_sla_met_total{metric=\"first_response\",policy=\"standard\"}",
    "frontdesk_sla_breached_total{metric=\"first_response\",policy=\"standard\"}",
    "frontdesk_first_response_seconds_count{channel=\"email\",priority=\"normal\",group=\"a\"}",
    "frontdesk_resolution_seconds_count{channel=\"chat\",priority=\"normal\",group=\"b\"}",
    "frontdesk_csat_ratings_total{score=\"5\"}",
    "frontdesk_csat_ratings_total{score=\"4\"}",
    "frontdesk_csat_ratings_total{score=\"2\"}",
];

async fn scenario(store: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sla.yaml"), PACK).unwrap();
    let mut setup = Daemon::with()
        .rules(dir.path())
        .bots(Some(common::root().join("bots")))
        .csat_secret(SECRET);
    if let Some(url) = store {
        setup = setup.store(url);
    }
    let d = setup.start().await;
    let before = d.text("/metrics").await;
    play(&d).await;
    check_report(&d).await;
    play_day_two(&d).await;
    check_day_two(&d).await;
    check_cli(&d).await;
    let after = d.text("/metrics").await;
    let deltas: Vec<f64> = METRICS
        .iter()
        .map(|m| sample(&after, m) - sample(&before, m))
        .collect();
    assert_eq!(deltas, [2.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0], "{after}");
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
