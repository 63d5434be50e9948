//! Routing through the daemon over real HTTP on 127.0.0.1, with a real SQLite file: the agents
//! API, round robin across a restart, queued tickets taken when an agent frees up, comes
//! online or starts a shift; and the last free slot taken once by concurrent events, on SQLite
//! and on two daemons sharing one PostgreSQL database.

mod common;

use common::Daemon;
use frontdesk::server;
use serde_json::{json, Value};

/// What the routing tests ask the daemon.
trait Routing {
    async fn status(&self, agent: &str, status: &str) -> Value;
    async fn created(&self, id: &str, channel: &str, language: &str) -> Value;
    async fn ticket(&self, id: &str) -> Value;
    async fn agents(&self) -> Vec<Value>;
}

impl Routing for Daemon {
    async fn status(&self, agent: &str, status: &str) -> Value {
        let (code, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/v1/agents/{agent}/status"),
                Some(&json!({ "status": status })),
            )
            .await;
        assert_eq!(code, 200, "{body}");
        body
    }

    async fn created(&self, id: &str, channel: &str, language: &str) -> Value {
        let e = json!({
            "id": format!("e-{id}"), "type": "ticket.created",
            "ticket": { "id": id, "channel": channel, "customer": { "language": language } },
            "message": { "text": "Where is my parcel?" }
        });
        let (code, body) = self
            .call(reqwest::Method::POST, "/v1/events", Some(&e))
            .await;
        assert_eq!(code, 200, "{body}");
        body
    }

    async fn ticket(&self, id: &str) -> Value {
        let (code, body) = self
            .call(reqwest::Method::GET, &format!("/v1/tickets/{id}"), None)
            .await;
        assert_eq!(code, 200, "{body}");
        body["ticket"].clone()
    }

    async fn agents(&self) -> Vec<Value> {
        let (code, body) = self.call(reqwest::Method::GET, "/v1/agents", None).await;
        assert_eq!(code, 200, "{body}");
        body.as_array().unwrap().clone()
    }
}

fn agent<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter().find(|a| a["id"] == id).unwrap()
}

#[tokio::test]
async fn the_agents_api_stores_statuses_and_refuses_bad_input() {
    let d = Daemon::start().await;
    let list = d.agents().await;
    let ids: Vec<&str> = list.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["kari", "ola", "layla", "mette"]);
    assert_eq!(agent(&list, "kari")["status"], "offline");
    assert_eq!(agent(&list, "kari")["available"], false);
    assert_eq!(agent(&list, "kari")["on_shift"], true);
    assert_eq!(
        agent(&list, "kari")["capacity"],
        json!({"total": 20, "by_channel": {"email": 20, "chat": 3}})
    );

    let kari = d.status("kari", "online").await;
    assert_eq!(
        (kari["status"].as_str(), kari["available"].as_bool()),
        (Some("online"), Some(true))
    );
    assert_eq!(agent(&d.agents().await, "kari")["status"], "online");

    let (code, body) = d
        .call(
            reqwest::Method::PUT,
            "/v1/agents/karri/status",
            Some(&json!({"status": "online"})),
        )
        .await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["field"], "id");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("no agent `karri`") && msg.contains("did you mean `kari`?"),
        "{msg}"
    );

    for bad in [
        json!({"status": "busy"}),
        json!({}),
        json!({"status": 1}),
        json!("online"),
    ] {
        let (code, body) = d
            .call(reqwest::Method::PUT, "/v1/agents/kari/status", Some(&bad))
            .await;
        assert_eq!(code, 422, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "status", "{bad}: {body}");
    }
    let r = d
        .http
        .put(format!("{}/v1/agents/kari/status", d.url))
        .body(r#"{"status":"away"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    // Nothing of the refused updates was stored.
    assert_eq!(agent(&d.agents().await, "kari")["status"], "online");

    // Outside the shift the agent is online but not available.
    d.clock.set("2026-11-23T21:00:00Z".parse().unwrap());
    let kari = agent(&d.agents().await, "kari").clone();
    assert_eq!(
        (kari["on_shift"].as_bool(), kari["available"].as_bool()),
        (Some(false), Some(false))
    );
    d.stop().await;
}

#[tokio::test]
async fn round_robin_goes_on_where_it_stopped_after_a_restart() {
    let d = Daemon::start().await;
    for a in ["kari", "ola", "layla"] {
        d.status(a, "online").await;
    }
    let mut order = Vec::new();
    for id in ["T1", "T2"] {
        let body = d.created(id, "email", "en").await;
        order.push(body["ticket"]["assignee"].as_str().unwrap().to_string());
    }
    assert_eq!(order, ["kari", "ola"]);

    // A new process on the same file: statuses, loads and the cursor are where they were.
    let d = d.restart().await;
    let list = d.agents().await;
    assert_eq!(agent(&list, "kari")["open"]["total"], 1);
    assert_eq!(agent(&list, "layla")["status"], "online");
    for id in ["T3", "T4"] {
        let body = d.created(id, "email", "en").await;
        order.push(body["ticket"]["assignee"].as_str().unwrap().to_string());
    }
    assert_eq!(order, ["kari", "ola", "layla", "kari"]);
    let metrics = d.text("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("frontdesk_assignments_total")
                && l.contains(r#"team="support""#)
                && l.contains(r#"outcome="assigned""#)),
        "{metrics}"
    );
    let (_, doc) = d.call(reqwest::Method::GET, "/openapi.json", None).await;
    assert!(doc["paths"]["/v1/agents/{id}/status"]["put"]["requestBody"].is_object());
    assert!(doc["paths"]["/v1/agents"]["get"]["responses"]["200"].is_object());
    d.stop().await;
}

#[tokio::test]
async fn a_full_team_queues_and_a_closed_ticket_frees_the_slot() {
    let d = Daemon::start().await;
    d.status("kari", "online").await; // 3 chats at most
    for id in ["C1", "C2", "C3"] {
        let body = d.created(id, "chat", "nb").await;
        assert_eq!(body["ticket"]["assignee"], "kari", "{body}");
        let assign = body["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["type"] == "assign")
            .unwrap();
        assert_eq!(assign["helpdesk_ids"], json!({"chatwoot": 12, "zammad": 7}));
        assert_eq!(assign["team"], "support");
    }
    let body = d.created("C4", "chat", "nb").await;
    assert_eq!(body["ticket"]["assignee"], Value::Null, "{body}");
    assert_eq!(body["ticket"]["group"], "support");
    assert_eq!(
        body["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == "reply")
            .count(),
        1
    );
    assert_eq!(
        agent(&d.agents().await, "kari")["open"],
        json!({"total": 3, "by_channel": {"chat": 3}})
    );

    // The trace says why each agent was passed over.
    let e = json!({"id": "e-C5", "type": "ticket.created", "ticket": {"id": "C5", "channel": "chat"},
                   "message": {"text": "hei"}});
    let (_, body) = d
        .call(reqwest::Method::POST, "/v1/events?explain=true", Some(&e))
        .await;
    let candidates = &body["trace"]["routing"][0]["candidates"];
    assert_eq!(
        candidates[0],
        json!({"agent": "kari", "open": 3, "skipped": "at_capacity", "detail": "chat 3/3"})
    );
    assert_eq!(candidates[1]["skipped"], "offline");

    // Closing one of kari's chats gives the slot to the ticket that waited longest, C4.
    let close = json!({"id": "close-C2", "type": "ticket.status_changed",
                       "ticket": {"id": "C2", "status": "closed"}});
    let (code, body) = d
        .call(reqwest::Method::POST, "/v1/events", Some(&close))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(d.ticket("C4").await["assignee"], "kari");
    assert_eq!(d.ticket("C5").await["assignee"], Value::Null);
    assert_eq!(d.ticket("C5").await["group"], "support");
    // kari has no chat slot left, so C5 was not even offered (no `agent.available` for it),
    // however often the queues are looked at.
    assert_eq!(server::route_queued(&d.running.state).await, 0);
    let (_, rec) = d.call(reqwest::Method::GET, "/v1/tickets/C5", None).await;
    let offers = rec["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["rule"] == "agent.available")
        .count();
    assert_eq!(offers, 0, "{rec}");
    let (_, rec) = d.call(reqwest::Method::GET, "/v1/tickets/C4", None).await;
    let offers = rec["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["rule"] == "agent.available")
        .count();
    assert_eq!(offers, 1, "{rec}");
    d.stop().await;
}

#[tokio::test]
async fn queued_tickets_go_to_an_agent_coming_online_or_starting_a_shift() {
    // Monday 22:00 in Oslo: after the shift.
    let d = Daemon::with()
        .now("2026-11-23T21:00:00Z".parse().unwrap())
        .start()
        .await;
    d.status("kari", "online").await;
    let body = d.created("N1", "email", "en").await;
    assert_eq!(body["ticket"]["assignee"], Value::Null);
    let reply = body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "reply")
        .unwrap();
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("by 12:00 tomorrow"),
        "{reply}"
    );
    // Nobody can take it: the scheduler's round offers nothing and writes nothing.
    assert_eq!(server::route_queued(&d.running.state).await, 0);
    assert_eq!(d.ticket("N1").await["assignee"], Value::Null);

    // Tuesday 08:00 in Oslo: the shift opens and the next round assigns it.
    d.clock.set("2026-11-24T07:00:00Z".parse().unwrap());
    assert_eq!(server::route_queued(&d.running.state).await, 1);
    assert_eq!(d.ticket("N1").await["assignee"], "kari");

    // An Arabic ticket waits for an Arabic speaker; layla coming online takes it at once.
    let body = d.created("A1", "email", "ar").await;
    assert_eq!(body["ticket"]["assignee"], Value::Null);
    assert_eq!(server::route_queued(&d.running.state).await, 0);
    d.status("layla", "online").await;
    assert_eq!(d.ticket("A1").await["assignee"], "layla");
    d.stop().await;
}

/// The scheduler's sweep of the queues runs at most every `QUEUE_SWEEP` on the desk's clock:
/// a shift opening is taken up by the next sweep, not by every turn of the loop.
#[tokio::test]
async fn the_scheduler_sweeps_the_queues_at_most_every_few_seconds() {
    use frontdesk::service::agents::{sweep_queues_if_due, QUEUE_SWEEP};
    let d = Daemon::with()
        .now("2026-11-23T21:00:00Z".parse().unwrap())
        .start()
        .await;
    d.status("kari", "online").await;
    d.created("N1", "email", "en").await;
    // The first sweep runs (nobody can take it yet).
    let opens: chrono::DateTime<chrono::Utc> = "2026-11-24T07:00:00Z".parse().unwrap();
    d.clock.set(opens - chrono::Duration::seconds(1));
    assert_eq!(sweep_queues_if_due(&d.running.state).await, 0);
    // The shift opens a second later: too soon for another sweep.
    d.clock.set(opens);
    assert_eq!(sweep_queues_if_due(&d.running.state).await, 0);
    assert_eq!(d.ticket("N1").await["assignee"], Value::Null);
    // Once the interval has passed, the sweep assigns it.
    d.clock
        .set(opens - chrono::Duration::seconds(1) + QUEUE_SWEEP);
    assert_eq!(sweep_queues_if_due(&d.running.state).await, 1);
    assert_eq!(d.ticket("N1").await["assignee"], "kari");
    d.stop().await;
}

const ONE_SLOT: &str = r#"
teams: { desk: {} }
agents:
  solo: { teams: [desk], languages: [en], capacity: 1 }
rules:
  - name: route
    on: [ticket.created]
    then: [ { assign: { team: desk } } ]
"#;

/// 30 events for different tickets posted at once (spread over the daemons) against one agent
/// with room for one ticket: exactly one gets the agent, the others wait in the queue.
async fn last_slot_taken_once(daemons: &[Daemon]) {
    daemons[0].status("solo", "online").await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let d = &daemons[i % daemons.len()];
        let (http, url) = (d.http.clone(), d.url.clone());
        tasks.push(tokio::spawn(async move {
            let e = json!({"id": format!("c{i}"), "type": "ticket.created",
                           "ticket": {"id": format!("R{i}"), "channel": "email"}});
            let r = http
                .post(format!("{url}/v1/events"))
                .json(&e)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.unwrap()
        }));
    }
    let mut assigned = 0;
    for t in tasks {
        let body = t.await.unwrap();
        if body["ticket"]["assignee"] == "solo" {
            assigned += 1;
        } else {
            assert_eq!(body["ticket"]["group"], "desk", "{body}");
        }
    }
    assert_eq!(assigned, 1);
    for d in daemons {
        assert_eq!(agent(&d.agents().await, "solo")["open"]["total"], 1);
    }
}

fn one_slot_pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pack.yaml"), ONE_SLOT).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_slot_is_taken_once_on_sqlite() {
    let pack = one_slot_pack();
    let d = Daemon::with()
        .rules(pack.path())
        .bots(None)
        .sqlite(&pack.path().join("fd.db"))
        .start()
        .await;
    last_slot_taken_once(std::slice::from_ref(&d)).await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_slot_is_taken_once_by_two_daemons_on_postgres() {
    let Some(schema) = common::PgSchema::create("routing").await else {
        return;
    };
    let pack = one_slot_pack();
    let replica = || {
        Daemon::with()
            .rules(pack.path())
            .bots(None)
            .store(&schema.url)
            .start()
    };
    let a = replica().await;
    let b = replica().await;
    let both = [a, b];
    last_slot_taken_once(&both).await;
    for d in both {
        d.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Presence read from Chatwoot
// ---------------------------------------------------------------------------------------------

/// anna is Chatwoot agent 1 by `helpdesk_ids`; bo has no Chatwoot id and is found by e-mail
/// (written in another case than Chatwoot writes it).
const PRESENCE_PACK: &str = r#"
teams: { desk: {} }
agents:
  anna:
    teams: [desk]
    languages: [en]
    capacity: 5
    email: anna@example.com
    helpdesk_ids: { chatwoot: 1 }
  bo:
    teams: [desk]
    languages: [en]
    capacity: 5
    email: Bo@Example.com
rules:
  - name: route
    on: [ticket.created]
    then: [ { assign: { team: desk } } ]
"#;

/// Where the stand-in Chatwoot answers the agent list of account 7.
const AGENTS_PATH: &str = "api/v1/accounts/7/agents";

/// A Chatwoot agent as its agent list shows one.
fn chatwoot_agent(id: u64, email: &str, status: &str) -> Value {
    json!({
        "id": id, "account_id": 7, "availability_status": status, "auto_offline": true,
        "confirmed": true, "email": email, "available_name": email, "name": email,
        "role": "agent", "thumbnail": ""
    })
}

/// The agent list with anna's and bo's statuses, and carl, who is no agent of the pack.
fn chatwoot_list(anna: &str, bo: &str) -> Value {
    json!([
        chatwoot_agent(1, "anna.berg@example.org", anna),
        chatwoot_agent(2, "bo@example.com", bo),
        chatwoot_agent(3, "carl@example.com", "online"),
    ])
}

/// A daemon on [`PRESENCE_PACK`] whose Chatwoot API is a recorder answering the agent list
/// with `list`, polled every 30 seconds.
async fn presence_daemon(
    list: &Value,
) -> (
    Daemon,
    std::sync::Arc<common::recorder::Recorder>,
    tempfile::TempDir,
) {
    use frontdesk::delivery::{ConnectorConfig, HelpdeskApi};
    let (url, rec) = common::recorder::start_recorder(0).await;
    rec.answer(AGENTS_PATH, 200, list);
    let pack = tempfile::tempdir().unwrap();
    std::fs::write(pack.path().join("pack.yaml"), PRESENCE_PACK).unwrap();
    let api = HelpdeskApi {
        url,
        token: "cw-token".into(),
    };
    let d = Daemon::with()
        .rules(pack.path())
        .bots(None)
        .sqlite(&pack.path().join("fd.db"))
        .connectors(ConnectorConfig {
            outbound_allow: vec!["127.0.0.0/8".into()],
            helpdesks: [("chatwoot".to_string(), api)].into(),
            ..ConnectorConfig::default()
        })
        .presence("7", std::time::Duration::from_secs(30))
        .start()
        .await;
    (d, rec, pack)
}

/// Each agent's (status, status_source).
async fn statuses(d: &Daemon) -> Vec<(String, Value, Value)> {
    d.agents()
        .await
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["status"].clone(),
                a["status_source"].clone(),
            )
        })
        .collect()
}

fn status_of(list: &[(String, Value, Value)], agent: &str) -> (String, String) {
    let (_, status, source) = list.iter().find(|(id, ..)| id == agent).unwrap();
    (
        status.as_str().unwrap_or("").to_string(),
        source.as_str().unwrap_or("").to_string(),
    )
}

fn pair(status: &str, source: &str) -> (String, String) {
    (status.to_string(), source.to_string())
}

/// The `frontdesk_presence_polls_total` counter of `outcome` (0 when not there yet).
async fn presence_polls(d: &Daemon, outcome: &str) -> u64 {
    let metrics = d.text("/metrics").await;
    metrics
        .lines()
        .find(|l| {
            l.starts_with("frontdesk_presence_polls_total")
                && l.contains(&format!(r#"outcome="{outcome}""#))
        })
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// The daemon reads Chatwoot's agent list with its token, maps agents by Chatwoot id or
/// e-mail, assigns a queued ticket when the list brings an agent online, keeps a status set
/// through the API until Chatwoot's changes, and changes nothing when Chatwoot fails.
#[tokio::test]
async fn presence_from_chatwoot_feeds_routing() {
    use frontdesk::model::Named;
    use frontdesk::routing::presence::Ignored;
    let (d, rec, _pack) = presence_daemon(&chatwoot_list("offline", "busy")).await;
    let state = &d.running.state;
    // Nobody online: a new ticket waits in the team's queue.
    let body = d.created("Q1", "email", "en").await;
    assert_eq!(body["ticket"]["assignee"], Value::Null, "{body}");
    assert_eq!(body["ticket"]["group"], "desk");
    let list = statuses(&d).await;
    assert_eq!(status_of(&list, "anna"), pair("offline", ""));

    let report = server::poll_presence(state).await.unwrap();
    let hits = rec.hits_on(AGENTS_PATH);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].method, "GET");
    assert_eq!(hits[0].headers["api_access_token"], "cw-token");
    assert_eq!(report.listed, 3);
    let applied: Vec<(&str, &str)> = report
        .applied
        .iter()
        .map(|c| (c.agent.as_str(), c.status.name()))
        .collect();
    assert_eq!(applied, [("anna", "offline"), ("bo", "away")]);
    // carl is no agent of the pack.
    assert_eq!(
        report.ignored,
        [Ignored::Unmatched {
            id: "3".into(),
            email: Some("carl@example.com".into())
        }]
    );
    assert_eq!(report.assigned, 0);
    let list = statuses(&d).await;
    assert_eq!(status_of(&list, "anna"), pair("offline", "helpdesk"));
    assert_eq!(status_of(&list, "bo"), pair("away", "helpdesk"));
    assert_eq!(d.ticket("Q1").await["assignee"], Value::Null);

    // anna comes online in Chatwoot: the next poll gives her the queued ticket.
    rec.answer(AGENTS_PATH, 200, &chatwoot_list("online", "busy"));
    let report = server::poll_presence(state).await.unwrap();
    assert_eq!(report.applied.len(), 1, "{report:?}");
    assert_eq!(report.unchanged, ["bo"]);
    assert_eq!(report.assigned, 1);
    assert_eq!(d.ticket("Q1").await["assignee"], "anna");
    assert_eq!(
        status_of(&statuses(&d).await, "anna"),
        pair("online", "helpdesk")
    );

    // Set through the API after Chatwoot's last change, a status stays while Chatwoot says
    // what it said before...
    d.status("anna", "away").await;
    d.status("bo", "online").await;
    let report = server::poll_presence(state).await.unwrap();
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(report.unchanged, ["anna", "bo"]);
    let list = statuses(&d).await;
    assert_eq!(status_of(&list, "anna"), pair("away", "api"));
    assert_eq!(status_of(&list, "bo"), pair("online", "api"));

    // ...and gives way when Chatwoot's status changes.
    rec.answer(AGENTS_PATH, 200, &chatwoot_list("offline", "busy"));
    server::poll_presence(state).await.unwrap();
    let list = statuses(&d).await;
    assert_eq!(status_of(&list, "anna"), pair("offline", "helpdesk"));
    assert_eq!(status_of(&list, "bo"), pair("online", "api"));

    // A failing Chatwoot, or one answering something other than an agent list, changes
    // nothing and is counted.
    let failed_before = presence_polls(&d, "failed").await;
    let ok_before = presence_polls(&d, "ok").await;
    assert!(ok_before >= 4, "{ok_before}");
    rec.answer(AGENTS_PATH, 500, &json!({"error": "boom"}));
    let e = server::poll_presence(state).await.unwrap_err();
    assert_eq!(e.code.name(), "helpdesk_unavailable");
    assert!(
        e.message.contains("/api/v1/accounts/7/agents answered 500"),
        "{}",
        e.message
    );
    rec.answer(AGENTS_PATH, 200, &json!({"error": "You need to sign in"}));
    let e = server::poll_presence(state).await.unwrap_err();
    assert!(
        e.message
            .contains("expected a JSON array of agents, found an object"),
        "{}",
        e.message
    );
    assert_eq!(statuses(&d).await, list);
    assert!(presence_polls(&d, "failed").await >= failed_before + 2);
    d.stop().await;
}

/// The scheduler's polls come every interval, and after failures twice as long each time, at
/// most five minutes; the first success brings the interval back. Time is the desk's manual
/// clock.
#[tokio::test]
async fn presence_polls_back_off_after_failures() {
    use frontdesk::server::Clock;
    use frontdesk::service::presence::poll_if_due;
    let (d, rec, _pack) = presence_daemon(&json!({"not": "a list"})).await;
    let state = &d.running.state;
    // (seconds to move the clock on, whether a poll is due then)
    let failing = [
        (0, true),
        (29, false),
        (1, true), // after 1 failure: the interval, 30 s
        (30, false),
        (30, true), // after 2: 60 s
        (119, false),
        (1, true), // after 3: 120 s
        (239, false),
        (1, true), // after 4: 240 s
        (299, false),
        (1, true), // after 5: 300 s, the most
        (299, false),
    ];
    let recovered = [(1, true), (29, false), (1, true)];
    for (phase, steps) in [("failing", &failing[..]), ("recovered", &recovered[..])] {
        if phase == "recovered" {
            rec.answer(AGENTS_PATH, 200, &chatwoot_list("online", "offline"));
        }
        for (i, &(secs, due)) in steps.iter().enumerate() {
            d.clock.set(d.clock.now() + chrono::Duration::seconds(secs));
            let polled = poll_if_due(state).await;
            assert_eq!(polled.is_some(), due, "{phase} step {i}");
            if let Some(r) = polled {
                assert_eq!(r.is_ok(), phase == "recovered", "{phase} step {i}: {r:?}");
            }
        }
    }
    assert_eq!(
        rec.hits_on(AGENTS_PATH).len(),
        8,
        "each due poll asks Chatwoot once"
    );
    d.stop().await;
}
