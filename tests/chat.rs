//! The chat API and the widget over real HTTP on 127.0.0.1, with the example rules and bot and
//! a real SQLite file; the widget in headless Chromium when one is installed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use frontdesk::faq::{Bot, ChatText};
use frontdesk::server::{self, ManualClock, Options, Running, Tokens};
use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Monday 23 November 2026, 11:00 in Oslo: the example pack's desk is open.
fn monday() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

/// Friday 27 November 2026, 20:00 in Oslo: closed until Monday 08:00.
fn friday_night() -> DateTime<Utc> {
    "2026-11-27T19:00:00Z".parse().unwrap()
}

/// The example bot, to compare the API's texts with the bot file's.
fn support() -> &'static Bot {
    static BOT: OnceLock<Bot> = OnceLock::new();
    BOT.get_or_init(|| Bot::load(&root().join("bots/support.yaml")).unwrap())
}

struct Daemon {
    running: Option<Running>,
    url: String,
    http: reqwest::Client,
    clock: Arc<ManualClock>,
    token: Option<String>,
}

async fn start_on(db: &Path, tokens: Tokens, now: DateTime<Utc>) -> Daemon {
    let clock = Arc::new(ManualClock::new(now));
    let opts = Options {
        rules: root().join("rules"),
        bots: Some(root().join("bots")),
        listen: "127.0.0.1:0".parse().unwrap(),
        store: format!("sqlite://{}", db.display()),
        tokens,
        watch: false,
        scheduler: false,
        clock: clock.clone(),
        ..Options::new()
    };
    let running = server::start(opts).await.expect("server starts");
    Daemon {
        url: format!("http://{}", running.addr),
        running: Some(running),
        http: reqwest::Client::new(),
        clock,
        token: None,
    }
}

impl Daemon {
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.url)).json(body))
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    /// Opens a session; panics unless it is a 201.
    async fn open(&self, body: Value) -> Value {
        let (status, s) = self.post("/v1/chat/sessions", &body).await;
        assert_eq!(status, 201, "{s}");
        s
    }

    /// Sends `text` to a session; panics unless it is a 200.
    async fn say(&self, session: &Value, text: &str) -> Value {
        let (status, r) = self.message(session, json!({ "text": text })).await;
        assert_eq!(status, 200, "{text}: {r}");
        r
    }

    async fn message(&self, session: &Value, body: Value) -> (u16, Value) {
        let id = session["id"].as_str().unwrap();
        self.post(&format!("/v1/chat/sessions/{id}/messages"), &body)
            .await
    }

    async fn stop(mut self) {
        self.running.take().unwrap().stop().await.unwrap();
    }
}

async fn start() -> (Daemon, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let d = start_on(&dir.path().join("fd.db"), Tokens::default(), monday()).await;
    (d, dir)
}

fn texts(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_session_in_each_language_answers_an_example_question() {
    let (d, _dir) = start().await;
    for (lang, question, id) in [
        ("en", "Where is my order?", "order_status"),
        ("nb", "Hvor er bestillingen min?", "order_status"),
        ("da", "Hvor lang er leveringstiden?", "delivery_time"),
        ("ar", "كم تكلفة الشحن؟", "delivery_cost"),
        ("zh", "怎么取消订单？", "cancel_order"),
    ] {
        let s = d.open(json!({ "bot": "support", "language": lang })).await;
        assert_eq!(s["bot"], "support");
        assert_eq!(s["language"], lang);
        assert_eq!(s["state"], "open");
        assert_eq!(s["greeting"], support().greeting(lang).unwrap(), "{lang}");
        assert_eq!(
            texts(&s["quick_replies"]),
            [support().chat_text(ChatText::Person, lang)]
        );
        let r = d.say(&s, question).await;
        let reply = &r["reply"];
        assert_eq!(reply["answer_id"], id, "{lang}: {r}");
        assert_eq!(reply["abstained"], false);
        assert!(reply["score"].as_f64().unwrap() >= support().threshold());
        let entry = support().entry(id).unwrap();
        assert_eq!(reply["text"], entry.answer(lang, "en").unwrap());
        assert_eq!(reply["language"], lang);
        assert_eq!(
            reply["prompt"],
            ChatText::FeedbackQuestion.default_text(lang),
            "{lang}"
        );
        let qr = texts(&reply["quick_replies"]);
        let want: Vec<&str> = [ChatText::Yes, ChatText::No, ChatText::Person]
            .iter()
            .map(|t| t.default_text(lang))
            .collect();
        assert_eq!(&qr[qr.len() - 3..], want, "{lang}");
        assert_eq!(r["handoff"], false);
        assert_eq!(r["state"], "open");
    }
    // The order entry's link comes with its title in the session's language.
    let s = d.open(json!({ "bot": "support", "language": "nb" })).await;
    let r = d.say(&s, "hvor er pakken min?").await;
    assert_eq!(
        r["reply"]["links"],
        json!([{ "title": "Mine bestillinger", "url": "https://shop.example.com/account/orders" }])
    );
    d.stop().await;
}

#[tokio::test]
async fn feedback_yes_and_no() {
    let (d, _dir) = start().await;
    // "Yes" as the quick reply's text: recorded and thanked; the chat stays with the bot.
    let s = d.open(json!({ "bot": "support", "language": "en" })).await;
    d.say(&s, "How do I reset my password?").await;
    let yes = d.say(&s, "Yes").await;
    assert_eq!(yes["feedback"], "yes");
    assert_eq!(yes["reply"]["text"], ChatText::Thanks.default_text("en"));
    assert_eq!(yes["handoff"], false);
    // Feedback as a value on an answer already rated: nothing to rate.
    let (status, e) = d.message(&s, json!({ "feedback": "yes" })).await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["field"], "feedback");

    // "No" as a value: recorded, and the chat goes to a person through the event path.
    let s = d.open(json!({ "bot": "support", "language": "nb" })).await;
    d.say(&s, "Hva koster frakt?").await;
    let (status, no) = d.message(&s, json!({ "feedback": "no" })).await;
    assert_eq!(status, 200, "{no}");
    assert_eq!(no["feedback"], "no");
    assert_eq!(no["handoff"], true);
    assert_eq!(no["handoff_reason"], "not_helped");
    assert_eq!(no["state"], "handed_off");
    let id = s["id"].as_str().unwrap();
    let ticket = format!("chat-{id}");
    assert_eq!(no["event"]["ticket_id"], ticket);
    // The pack's rules ran on the handoff: the triage by intent, then the handoff rule.
    assert_eq!(
        no["event"]["rules"],
        json!(["delivery questions", "chats the bot hands over"])
    );
    let (status, t) = d.get(&format!("/v1/tickets/{ticket}")).await;
    assert_eq!(status, 200);
    assert_eq!(t["ticket"]["channel"], "chat");
    assert_eq!(t["ticket"]["subject"], "Hva koster frakt?");
    assert!(t["ticket"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("bot_handoff")));
    // After the handoff the bot answers no more.
    let (status, e) = d.message(&s, json!({ "text": "Hallo?" })).await;
    assert_eq!(status, 409);
    assert_eq!(e["error"]["code"], "session_handed_off");
    // The transcript has every line, feedback and the handoff marked.
    let (status, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(tr["session"]["state"], "handed_off");
    let lines = tr["messages"].as_array().unwrap();
    let authors: Vec<&str> = lines
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["bot", "customer", "bot", "customer", "bot"]);
    assert_eq!(lines[1]["text"], "Hva koster frakt?");
    assert_eq!(lines[2]["answer_id"], "delivery_cost");
    assert_eq!(lines[3]["text"], "Nei");
    assert_eq!(lines[3]["feedback"], "no");
    assert_eq!(lines[4]["handoff"], true);
    assert_eq!(lines[4]["text"], no["reply"]["text"]);
    d.stop().await;
}

#[tokio::test]
async fn asking_for_a_person_in_norwegian_and_arabic() {
    let (d, _dir) = start().await;
    for (lang, text, expected) in [
        (
            "nb",
            "Kan jeg snakke med et menneske?",
            "Noen svarer deg innen 4 timer.",
        ),
        (
            "ar",
            "أريد التحدث مع موظف",
            "سيرد عليك أحد الموظفين خلال 4 ساعات.",
        ),
    ] {
        let s = d.open(json!({ "bot": "support", "language": lang })).await;
        let r = d.say(&s, text).await;
        assert_eq!(r["handoff"], true, "{text}: {r}");
        assert_eq!(r["handoff_reason"], "asked");
        assert_eq!(r["feedback"], Value::Null, "nothing was answered to rate");
        let message = support().handoff_message(lang).unwrap();
        assert_eq!(
            r["reply"]["text"],
            format!("{message} {expected}"),
            "{lang}"
        );
        assert_eq!(r["expected"]["open"], true);
        assert_eq!(r["reply"]["quick_replies"], json!([]));
        // The triage rule for people asking for a human ran on the handoff event too.
        let ticket = r["event"]["ticket_id"].as_str().unwrap();
        let (_, t) = d.get(&format!("/v1/tickets/{ticket}")).await;
        assert_eq!(t["ticket"]["status"], "open");
        let actions: Vec<&str> = r["event"]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["type"].as_str().unwrap_or_default())
            .collect();
        assert!(actions.contains(&"handoff"), "{actions:?}");
    }
    d.stop().await;
}

#[tokio::test]
async fn repeated_abstention_hands_over_with_the_expected_response() {
    let (d, _dir) = start().await;
    let s = d.open(json!({ "bot": "support", "language": "en" })).await;
    let first = d.say(&s, "What is the weather like on Mars?").await;
    assert_eq!(first["reply"]["abstained"], true);
    assert_eq!(first["reply"]["answer_id"], Value::Null);
    assert_eq!(first["reply"]["text"], support().fallback("en").unwrap());
    assert_eq!(first["handoff"], false);
    let second = d.say(&s, "Who won the football match yesterday?").await;
    assert_eq!(second["handoff"], true, "{second}");
    assert_eq!(second["handoff_reason"], "unanswered");
    assert_eq!(second["reply"]["abstained"], true);
    assert_eq!(
        second["reply"]["text"],
        format!(
            "{} Someone will answer within 4 hours.",
            support().handoff_message("en").unwrap()
        )
    );
    assert_eq!(second["expected"]["expected_response"], "within 4 hours");
    assert_eq!(
        second["expected"]["expected_response_at"],
        "2026-11-23T15:00:00+01:00"
    );
    // The handoff event was decided through the ordinary path and is in the audit log.
    let ticket = second["event"]["ticket_id"].as_str().unwrap();
    let event_id = second["event"]["event_id"].as_str().unwrap();
    assert_eq!(
        event_id,
        format!("chat:{}:handoff", s["id"].as_str().unwrap())
    );
    let (_, log) = d.get(&format!("/v1/decisions?ticket={ticket}")).await;
    let rules: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"chats the bot hands over"), "{rules:?}");
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["event_id"] == event_id));

    // After hours the bot says when people are back.
    d.clock.set(friday_night());
    let s = d.open(json!({ "bot": "support", "language": "en" })).await;
    let r = d.say(&s, "I want to talk to a human").await;
    assert_eq!(r["expected"]["open"], false);
    assert_eq!(r["expected"]["opens_at"], "2026-11-30T08:00:00+01:00");
    assert_eq!(
        r["reply"]["text"],
        format!(
            "{} We are closed right now and back on Monday at 08:00. Someone will answer by 12:00 on Monday.",
            support().handoff_message("en").unwrap()
        )
    );
    // In the customer's time zone when the site gives one.
    let s = d
        .open(json!({ "bot": "support", "language": "zh",
                      "customer": { "name": "Li Wei", "timezone": "Asia/Shanghai" } }))
        .await;
    let r = d.say(&s, "转人工").await;
    assert_eq!(r["expected"]["opens_at"], "2026-11-30T15:00:00+08:00");
    assert!(
        r["reply"]["text"].as_str().unwrap().contains("下周一15:00"),
        "{r}"
    );
    d.stop().await;
}

#[tokio::test]
async fn stats_count_deflection_answers_feedback_and_unanswered_questions() {
    let (d, _dir) = start().await;
    // 1: answered and "yes".
    let a = d.open(json!({ "bot": "support", "language": "en" })).await;
    d.say(&a, "Where is my order?").await;
    d.say(&a, "yes").await;
    // 2: answered, no feedback.
    let b = d.open(json!({ "bot": "support", "language": "da" })).await;
    d.say(&b, "Hvad koster fragt?").await;
    // 3: unanswered twice (the same question, written differently) → handed off.
    let c = d.open(json!({ "bot": "support", "language": "en" })).await;
    d.say(&c, "What is the weather like on Mars?").await;
    d.say(&c, "what is the WEATHER like on mars").await;
    // 4: answered, then a person asked for with the quick reply.
    let e = d.open(json!({ "bot": "support", "language": "en" })).await;
    d.say(&e, "How do I reset my password?").await;
    d.say(&e, "Talk to a person").await;
    // 5: opened, nothing asked.
    d.open(json!({ "bot": "support" })).await;

    let (status, st) = d.get("/v1/bots/support/stats").await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(st["sessions"], 5);
    assert_eq!(st["engaged"], 4);
    assert_eq!(st["handed_off"], 2);
    assert_eq!(st["deflected"], 2);
    assert_eq!(st["confirmed"], 1);
    assert_eq!(st["deflection_rate"], 0.5);
    assert_eq!(st["questions"], 5);
    assert_eq!(st["answered"], 3);
    assert_eq!(st["answer_rate"], 0.6);
    assert_eq!(st["feedback"], json!({ "yes": 1, "no": 0, "person": 1 }));
    assert_eq!(
        st["top_unanswered"][0]["question"],
        "what is the weather like on mars"
    );
    assert_eq!(st["top_unanswered"][0]["count"], 2);
    assert_eq!(st["top_unanswered"].as_array().unwrap().len(), 1);
    // The chat counters are exported.
    let metrics = reqwest::get(format!("{}/metrics", d.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for outcome in ["answered", "abstained", "feedback", "handoff"] {
        let series =
            format!(r#"frontdesk_chat_messages_total{{bot="support",outcome="{outcome}"}}"#);
        assert!(metrics.contains(&series), "{series} in:\n{metrics}");
    }
    assert!(metrics.contains(r#"frontdesk_chat_sessions_total{bot="support"}"#));
    d.stop().await;
}

#[tokio::test]
async fn errors() {
    let (d, _dir) = start().await;
    let check = |(status, body): (u16, Value), want: u16, code: &str, field: Option<&str>| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        if let Some(f) = field {
            assert_eq!(body["error"]["field"], f, "{body}");
        }
        body
    };
    // Unknown bot: 404 naming the field, with the nearest name.
    let e = check(
        d.post("/v1/chat/sessions", &json!({ "bot": "suport" }))
            .await,
        404,
        "not_found",
        Some("bot"),
    );
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `support`"));
    check(
        d.get("/v1/bots/nope/stats").await,
        404,
        "not_found",
        Some("bot"),
    );
    // Bad session bodies.
    check(
        d.post(
            "/v1/chat/sessions",
            &json!({ "bot": "support", "colour": "red" }),
        )
        .await,
        422,
        "invalid_request",
        None,
    );
    check(
        d.post(
            "/v1/chat/sessions",
            &json!({ "bot": "support", "language": "english" }),
        )
        .await,
        422,
        "invalid_request",
        Some("language"),
    );
    check(
        d.post(
            "/v1/chat/sessions",
            &json!({ "bot": "support", "customer": { "timezone": "Mars/Olympus" } }),
        )
        .await,
        422,
        "invalid_request",
        Some("customer.timezone"),
    );
    check(
        d.post("/v1/chat/sessions", &json!({ "language": "nb" }))
            .await,
        422,
        "invalid_request",
        Some("bot"),
    );
    check(
        d.post("/v1/chat/sessions", &json!({ "bot": 7 })).await,
        422,
        "invalid_request",
        Some("bot"),
    );
    // Unknown session.
    check(
        d.get("/v1/chat/sessions/nope").await,
        404,
        "not_found",
        Some("id"),
    );
    check(
        d.post("/v1/chat/sessions/nope/messages", &json!({ "text": "hi" }))
            .await,
        404,
        "not_found",
        Some("id"),
    );
    // Bad messages.
    let s = d.open(json!({ "bot": "support" })).await;
    check(
        d.message(&s, json!({ "text": "" })).await,
        422,
        "invalid_request",
        Some("text"),
    );
    check(
        d.message(&s, json!({ "text": " \n\t" })).await,
        422,
        "invalid_request",
        Some("text"),
    );
    check(
        d.message(&s, json!({ "text": "x".repeat(4097) })).await,
        422,
        "invalid_request",
        Some("text"),
    );
    let ok = d.message(&s, json!({ "text": "å".repeat(2048) })).await;
    assert_eq!(ok.0, 200, "4,096 bytes are taken");
    check(
        d.message(&s, json!({})).await,
        422,
        "invalid_request",
        Some("text"),
    );
    check(
        d.message(&s, json!({ "text": "hi", "feedback": "yes" }))
            .await,
        422,
        "invalid_request",
        Some("feedback"),
    );
    check(
        d.message(&s, json!({ "feedback": "maybe" })).await,
        422,
        "invalid_request",
        Some("feedback"),
    );
    check(
        d.message(&s, json!({ "txt": "hi" })).await,
        422,
        "invalid_request",
        None,
    );
    let r = d
        .send(
            d.http
                .post(format!("{}/v1/chat/sessions", d.url))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    check(r, 400, "invalid_json", None);
    // A handed-off session: 409.
    d.say(&s, "agent").await;
    check(
        d.message(&s, json!({ "text": "hello?" })).await,
        409,
        "session_handed_off",
        None,
    );
    check(
        d.message(&s, json!({ "feedback": "person" })).await,
        409,
        "session_handed_off",
        None,
    );
    // A closed session: 409, and closing it again too.
    let c = d.open(json!({ "bot": "support" })).await;
    let close = format!("/v1/chat/sessions/{}/close", c["id"].as_str().unwrap());
    let (status, closed) = d.post(&close, &json!({})).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["state"], "closed");
    check(
        d.message(&c, json!({ "text": "hello?" })).await,
        409,
        "session_closed",
        None,
    );
    check(
        d.post(&close, &json!({})).await,
        409,
        "session_closed",
        None,
    );
    check(
        d.post("/v1/chat/sessions/nope/close", &json!({})).await,
        404,
        "not_found",
        Some("id"),
    );
    d.stop().await;
}

#[tokio::test]
async fn a_restart_keeps_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fd.db");
    let d = start_on(&db, Tokens::default(), monday()).await;
    let s = d.open(json!({ "bot": "support", "language": "da" })).await;
    d.say(&s, "Hvor er min ordre?").await;
    d.stop().await;

    let d = start_on(&db, Tokens::default(), monday()).await;
    let id = s["id"].as_str().unwrap();
    let (status, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(tr["session"]["language"], "da");
    assert_eq!(tr["session"]["awaiting_feedback"], "order_status");
    assert_eq!(tr["messages"].as_array().unwrap().len(), 3);
    // The conversation carries on where it was: the feedback rates the answer before the restart.
    let r = d.say(&s, "Ja").await;
    assert_eq!(r["feedback"], "yes");
    let (_, st) = d.get("/v1/bots/support/stats").await;
    assert_eq!(st["feedback"]["yes"], 1);
    d.stop().await;
}

#[tokio::test]
async fn the_chat_routes_are_documented_and_need_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::new(&["s3cret".into()], &[]).unwrap();
    let mut d = start_on(&dir.path().join("fd.db"), tokens, monday()).await;
    let (status, _) = d
        .post("/v1/chat/sessions", &json!({ "bot": "support" }))
        .await;
    assert_eq!(status, 401);
    d.token = Some("s3cret".into());
    d.open(json!({ "bot": "support" })).await;
    let (_, doc) = d.get("/openapi.json").await;
    for p in [
        "/v1/chat/sessions",
        "/v1/chat/sessions/{id}",
        "/v1/chat/sessions/{id}/messages",
        "/v1/chat/sessions/{id}/close",
        "/v1/bots/{bot}/stats",
        "/chat",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    assert!(doc["paths"]["/v1/chat/sessions"]["post"]["responses"]["201"].is_object());
    for name in [
        "NewChat",
        "ChatOpened",
        "ChatInput",
        "ChatAnswer",
        "Transcript",
        "ChatStats",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{name} schema"
        );
    }
    // The widget itself needs no token (the page takes it from `?token=`).
    let page = reqwest::get(format!("{}/chat", d.url)).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/v1/chat/sessions") && !html.contains("https://"));
    d.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The widget in a real browser
// ---------------------------------------------------------------------------------------------

fn chromium() -> Option<PathBuf> {
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Loads `url` in headless Chromium and returns the DOM once the page's requests are done.
async fn dump_dom(browser: &Path, url: String, profile: &Path) -> String {
    let browser = browser.to_path_buf();
    let profile = profile.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(&url)
            .output()
            .expect("run chromium");
        assert!(
            out.status.success(),
            "chromium: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    })
    .await
    .unwrap()
}

fn query(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The page opens a session, shows the greeting, asks the question given in `?ask=` and shows
/// the answer; Arabic is laid out right to left; a request for a person shows the handoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium binary on PATH (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::new(&["w1dget".into()], &[]).unwrap();
    let mut d = start_on(&dir.path().join("fd.db"), tokens, monday()).await;
    d.token = Some("w1dget".into());
    let profile = dir.path().join("profile");

    let url = format!(
        "{}/chat?bot=support&lang=nb&token=w1dget&ask={}",
        d.url,
        query("Hvor er pakken min?")
    );
    let dom = dump_dom(&browser, url, &profile).await;
    assert!(
        dom.contains(support().greeting("nb").unwrap()),
        "greeting in:\n{dom}"
    );
    let answer = support()
        .entry("order_status")
        .unwrap()
        .answer("nb", "en")
        .unwrap();
    assert!(dom.contains(answer), "answer in:\n{dom}");
    assert!(dom.contains(r#"data-answer="order_status""#));
    assert!(dom.contains("Mine bestillinger"), "the link's title");
    assert!(
        dom.contains("Fikk du svar på spørsmålet ditt?"),
        "the feedback prompt"
    );
    assert!(dom.contains(">Ja</button>") && dom.contains(">Nei</button>"));
    assert!(dom.contains(r#"dir="ltr""#));
    // The page really talked to this daemon: its session is stored with the question.
    let id = dom
        .split("data-session=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the session id on the page");
    let (status, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(tr["messages"][1]["text"], "Hvor er pakken min?");
    assert_eq!(tr["messages"][2]["answer_id"], "order_status");

    // Arabic, right to left, and a request for a person.
    let url = format!(
        "{}/chat?bot=support&lang=ar&token=w1dget&ask={}",
        d.url,
        query("أريد التحدث مع موظف")
    );
    let dom = dump_dom(&browser, url, &profile).await;
    assert!(
        dom.contains(r#"<html lang="ar" dir="rtl">"#),
        "rtl in:\n{dom}"
    );
    assert!(dom.contains(support().greeting("ar").unwrap()));
    assert!(
        dom.contains(support().handoff_message("ar").unwrap()),
        "handoff in:\n{dom}"
    );
    assert!(
        dom.contains("جارٍ تحويلك إلى أحد الموظفين."),
        "the connecting notice"
    );
    assert!(dom.contains(r#"id="handoff""#));
    d.stop().await;
}
