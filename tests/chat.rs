//! The chat API and the widget over real HTTP on 127.0.0.1, with the example rules and bot and
//! a real SQLite file; the widget in headless Chromium, driven through chromedriver, when both
//! are installed.

mod common;

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use common::{root, Browser, Daemon};
use frontdesk::faq::{Bot, ChatText};
use serde_json::{json, Value};

/// Friday 27 November 2026, 20:00 in Oslo: closed until Monday 08:00.
fn friday_night() -> DateTime<Utc> {
    "2026-11-27T19:00:00Z".parse().unwrap()
}

/// The example bot, to compare the API's texts with the bot file's.
fn support() -> &'static Bot {
    static BOT: OnceLock<Bot> = OnceLock::new();
    BOT.get_or_init(|| Bot::load(&root().join("bots/support.yaml")).unwrap())
}

/// What the chat tests ask the daemon.
trait Chat {
    async fn open(&self, body: Value) -> Value;
    async fn say(&self, session: &Value, text: &str) -> Value;
    async fn message(&self, session: &Value, body: Value) -> (u16, Value);
}

impl Chat for Daemon {
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
    let d = Daemon::start().await;
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
    let d = Daemon::start().await;
    // "Yes" as the quick reply's text: recorded and thanked; the chat stays with the bot.
    let s = d.open(json!({ "bot": "support", "language": "en" })).await;
    d.say(&s, "How do I reset my password?").await;
    let yes = d.say(&s, "Yes").await;
    assert_eq!(yes["feedback"], "yes");
    assert_eq!(yes["reply"]["text"], ChatText::Thanks.default_text("en"));
    assert_eq!(yes["handoff"], false);
    // Feedback as a value on an answer already rated: nothing to rate.
    let (status, e) = d.message(&s, json!({ "feedback": "yes" })).await;
    assert_eq!(
        (status, &e["error"]["code"]),
        (409, &json!("nothing_to_rate")),
        "{e}"
    );
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
    // After the handoff the bot answers no more: what the customer writes is kept for the
    // person.
    let after = d.say(&s, "Hallo?").await;
    assert_eq!(after["state"], "handed_off");
    assert_eq!(after["handoff"], false);
    assert_eq!(after["reply"]["text"], "");
    assert_eq!(after["event"], Value::Null);
    // The transcript has every line, feedback and the handoff marked.
    let (status, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(tr["session"]["state"], "handed_off");
    let lines = tr["messages"].as_array().unwrap();
    let authors: Vec<&str> = lines
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        authors,
        ["bot", "customer", "bot", "customer", "bot", "customer"]
    );
    assert_eq!(lines[5]["text"], "Hallo?");
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
    let d = Daemon::start().await;
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
    let d = Daemon::start().await;
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
    let d = Daemon::start().await;
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
    let d = Daemon::start().await;
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
    let ok = d.message(&s, json!({ "text": "å".repeat(4096) })).await;
    assert_eq!(
        ok.0, 200,
        "4,096 characters are taken, whatever their bytes"
    );
    check(
        d.message(&s, json!({ "text": "å".repeat(4097) })).await,
        422,
        "invalid_request",
        Some("text"),
    );
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
            d.request(reqwest::Method::POST, "/v1/chat/sessions")
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    check(r, 400, "invalid_json", None);
    // A handed-off session takes messages for the person, but has no answer to rate.
    d.say(&s, "agent").await;
    assert_eq!(d.say(&s, "hello?").await["reply"]["text"], "");
    assert_eq!(d.message(&s, json!({ "feedback": "person" })).await.0, 200);
    check(
        d.message(&s, json!({ "feedback": "no" })).await,
        409,
        "nothing_to_rate",
        Some("feedback"),
    );
    // A message id that is not one.
    check(
        d.message(&s, json!({ "id": "a b", "text": "hi" })).await,
        422,
        "invalid_request",
        Some("id"),
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
    let d = Daemon::start().await;
    let s = d.open(json!({ "bot": "support", "language": "da" })).await;
    d.say(&s, "Hvor er min ordre?").await;

    let d = d.restart().await;
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

// ---------------------------------------------------------------------------------------------
// A person takes over
// ---------------------------------------------------------------------------------------------

/// A chat's live stream (`GET /v1/chat/sessions/{id}/events`), read as server-sent events.
struct Follow {
    resp: reqwest::Response,
    buf: String,
}

/// One server-sent event: its kind, id and data.
#[derive(Debug)]
struct Sse {
    kind: String,
    id: Option<String>,
    data: Value,
}

impl Follow {
    async fn open(d: &Daemon, session: &str, last_event_id: Option<&str>) -> Follow {
        let mut req = d.request(
            reqwest::Method::GET,
            &format!("/v1/chat/sessions/{session}/events"),
        );
        if let Some(last) = last_event_id {
            req = req.header("last-event-id", last);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        Follow {
            resp,
            buf: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped); `None` when the stream ends. Fails after
    /// ten seconds without one.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(at) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..at + 2).collect();
                let mut e = Sse {
                    kind: "message".into(),
                    id: None,
                    data: Value::Null,
                };
                let mut data = String::new();
                for l in block.lines() {
                    if let Some(v) = l.strip_prefix("event:") {
                        e.kind = v.trim().to_string();
                    } else if let Some(v) = l.strip_prefix("id:") {
                        e.id = Some(v.trim().to_string());
                    } else if let Some(v) = l.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if data.is_empty() {
                    continue;
                }
                e.data = serde_json::from_str(&data).unwrap();
                return Some(e);
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), self.resp.chunk())
                .await
                .expect("the stream said something within ten seconds")
                .unwrap();
            match chunk {
                Some(bytes) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => return None,
            }
        }
    }
}

/// The event a helpdesk (or anyone) sends for a person's message on the chat's ticket.
fn agent_event(session: &str, id: &str, text: &str, name: Option<&str>) -> Value {
    let mut message = json!({ "id": id, "text": text, "author": "agent" });
    if let Some(n) = name {
        message["author_name"] = json!(n);
    }
    json!({ "id": id, "type": "message.agent", "ticket": { "id": format!("chat-{session}") },
            "message": message })
}

/// Opens a session and hands it to a person.
async fn handed_over(d: &Daemon, lang: &str, ask: &str) -> (Value, Value) {
    let s = d.open(json!({ "bot": "support", "language": lang })).await;
    let r = d.say(&s, ask).await;
    assert_eq!(r["handoff"], true, "{r}");
    (s, r)
}

/// The ticket's stored state.
async fn ticket(d: &Daemon, id: &str) -> Value {
    let (status, t) = d.get(&format!("/v1/tickets/{id}")).await;
    assert_eq!(status, 200, "{t}");
    t
}

#[tokio::test]
async fn a_persons_message_on_the_chats_ticket_reaches_the_chat_and_the_customers_answer_the_ticket(
) {
    let d = Daemon::start().await;
    let (s, _) = handed_over(&d, "en", "I want to talk to a human").await;
    let id = s["id"].as_str().unwrap();
    let ticket_id = format!("chat-{id}");
    let mut live = Follow::open(&d, id, None).await;
    // The stream starts with the lines so far: greeting, question, handoff.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = live.next().await.unwrap();
        assert_eq!(e.kind, "message");
        seen.push(e.data["author"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, ["bot", "customer", "bot"]);
    let versions = ticket(&d, &ticket_id).await["version"].as_i64().unwrap();

    // A person answers through the ordinary event path, as a helpdesk's webhook would.
    let from_kari = agent_event(
        id,
        "hd:msg:1",
        "Hi, Kari here. What is the order number?",
        Some("Kari"),
    );
    let (status, r) = d.post("/v1/events", &from_kari).await;
    assert_eq!(status, 200, "{r}");
    let e = live.next().await.unwrap();
    assert_eq!(e.kind, "message");
    assert_eq!(e.id.as_deref(), Some("4"));
    assert_eq!(e.data["author"], "agent");
    assert_eq!(e.data["name"], "Kari");
    assert_eq!(e.data["text"], "Hi, Kari here. What is the order number?");
    // The rules saw the first response.
    let t = ticket(&d, &ticket_id).await;
    assert_eq!(t["version"], versions + 1);
    assert_eq!(t["ticket"]["stats"]["agent_replies"], 1);

    // The helpdesk delivers the same message again: shown once.
    let (status, again) = d.post("/v1/events", &from_kari).await;
    assert_eq!((status, &again["replayed"]), (200, &json!(true)), "{again}");

    // The customer's answer is kept for the person and goes on to the ticket as
    // `message.created`, which the rules, SLA clocks and the helpdesk see.
    let r = d.say(&s, "It is 1234").await;
    assert_eq!(r["reply"]["text"], "");
    let e = live.next().await.unwrap();
    assert_eq!(
        (
            e.data["author"].as_str(),
            e.data["text"].as_str(),
            e.id.as_deref()
        ),
        (Some("customer"), Some("It is 1234"), Some("5"))
    );
    let t = ticket(&d, &ticket_id).await;
    assert_eq!(t["version"], versions + 2);
    assert!(t["ticket"]["stats"]["awaiting_since"].is_string(), "{t}");
    // The FAQ bot does not answer in a chat it handed over.
    let (_, log) = d.get(&format!("/v1/decisions?ticket={ticket_id}")).await;
    assert!(
        !log.as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "answer chat questions from the faq"),
        "{log}"
    );
    // Sent again with the same id, the line is not taken twice, nor the event.
    let (_, first) = d
        .message(&s, json!({ "id": "m-7", "text": "Are you there?" }))
        .await;
    let (_, repeat) = d
        .message(&s, json!({ "id": "m-7", "text": "Are you there?" }))
        .await;
    assert_eq!(first, repeat);
    assert_eq!(ticket(&d, &ticket_id).await["version"], versions + 3);

    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    let lines = tr["messages"].as_array().unwrap();
    let authors: Vec<&str> = lines
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        authors,
        ["bot", "customer", "bot", "agent", "customer", "customer"]
    );
    assert_eq!(lines[3]["name"], "Kari");

    // A reconnecting client carries on after the last line it saw.
    drop(live);
    let mut live = Follow::open(&d, id, Some("5")).await;
    let e = live.next().await.unwrap();
    assert_eq!(e.data["text"], "Are you there?");
    // Closing the chat ends the stream with its state.
    let (status, _) = d
        .post(&format!("/v1/chat/sessions/{id}/close"), &json!({}))
        .await;
    assert_eq!(status, 200);
    let e = live.next().await.unwrap();
    assert_eq!(
        (e.kind.as_str(), &e.data),
        ("state", &json!({ "state": "closed" }))
    );
    assert!(live.next().await.is_none(), "the stream ends");

    // A person's message on a closed chat stays on the ticket; an event for a chat nobody
    // knows is an ordinary ticket event.
    let (status, _) = d
        .post(
            "/v1/events",
            &agent_event(id, "hd:msg:2", "Still there?", None),
        )
        .await;
    assert_eq!(status, 200);
    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    assert_eq!(tr["messages"].as_array().unwrap().len(), 6);
    let (status, r) = d
        .post(
            "/v1/events",
            &agent_event("nobody", "hd:msg:3", "Hello?", None),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        ticket(&d, "chat-nobody").await["ticket"]["stats"]["agent_replies"],
        1
    );
    d.stop().await;
}

#[tokio::test]
async fn the_agent_messages_endpoint_without_a_helpdesk() {
    let mut d = Daemon::with()
        .tokens(&["adm1n"])
        .viewer_tokens(&["v1ewer"])
        .chat_tokens(&["ch4t"])
        .start()
        .await;
    d.token = Some("adm1n".into());
    let (s, _) = handed_over(&d, "nb", "Kan jeg snakke med et menneske?").await;
    let id = s["id"].as_str().unwrap();
    let path = format!("/v1/chat/sessions/{id}/agent-messages");

    // An agent of the pack is shown by name; the text is kept as it was written.
    let hostile = "<script>alert(1)</script> Hei! \u{202e}Kari her";
    let (status, r) = d
        .post(
            &path,
            &json!({ "id": "a1", "text": hostile, "agent": "kari" }),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["message"]["author"], "agent");
    assert_eq!(r["message"]["name"], "Kari Nordmann");
    assert_eq!(r["message"]["text"], hostile);
    assert_eq!(r["ticket_id"], format!("chat-{id}"));
    assert_eq!(r["event_id"], format!("chat:{id}:agent:a1"));
    // The same id again: added once.
    let (status, again) = d
        .post(
            &path,
            &json!({ "id": "a1", "text": hostile, "agent": "kari" }),
        )
        .await;
    assert_eq!(
        (status, &again["message"]["seq"]),
        (201, &r["message"]["seq"])
    );
    // The same id for another message: refused.
    let (status, e) = d
        .post(
            &path,
            &json!({ "id": "a1", "text": "other", "agent": "kari" }),
        )
        .await;
    assert_eq!(
        (status, &e["error"]["code"]),
        (409, &json!("event_id_reused")),
        "{e}"
    );
    // A name that is no agent of the pack is shown as given.
    let (status, r) = d
        .post(
            &path,
            &json!({ "text": "Og Ola", "agent": "Ola fra lageret" }),
        )
        .await;
    assert_eq!(
        (status, &r["message"]["name"]),
        (201, &json!("Ola fra lageret"))
    );
    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    assert_eq!(
        tr["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author"] == "agent")
            .count(),
        2
    );

    // Without a token 401; a viewer token may read, not write: 403, nothing changed.
    let body = json!({ "text": "x", "agent": "kari" });
    let anonymous = reqwest::Client::new()
        .post(format!("{}{path}", d.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let viewer = d
        .send(
            d.http
                .post(format!("{}{path}", d.url))
                .bearer_auth("v1ewer")
                .json(&body),
        )
        .await;
    assert_eq!(
        (viewer.0, &viewer.1["error"]["code"]),
        (403, &json!("forbidden")),
        "{viewer:?}"
    );
    let read = d
        .send(
            d.http
                .get(format!("{}/v1/chat/sessions/{id}", d.url))
                .bearer_auth("v1ewer"),
        )
        .await;
    assert_eq!(read.0, 200);
    assert_eq!(read.1["messages"], tr["messages"]);
    // A chat token (the widget's) may chat as the customer, not as a person of the desk.
    let as_chat = |req: reqwest::RequestBuilder| d.send(req.bearer_auth("ch4t"));
    let chat = as_chat(d.http.post(format!("{}{path}", d.url)).json(&body)).await;
    assert_eq!(
        (chat.0, &chat.1["error"]["code"]),
        (403, &json!("forbidden")),
        "{chat:?}"
    );
    let chat = as_chat(d.http.get(format!("{}/v1/tickets/chat-{id}", d.url))).await;
    assert_eq!(chat.0, 403);
    let chat = as_chat(d.http.get(format!("{}/v1/chat/sessions/{id}", d.url))).await;
    assert_eq!(chat.0, 200);
    let chat = as_chat(
        d.http
            .post(format!("{}/v1/chat/sessions/{id}/messages", d.url))
            .json(&json!({ "text": "Takk!" })),
    )
    .await;
    assert_eq!(chat.0, 200, "{chat:?}");

    // Bad bodies name their field; unknown and unsuitable sessions are refused.
    for (body, field) in [
        (json!({ "text": "  ", "agent": "kari" }), "text"),
        (json!({ "text": "hi", "agent": "" }), "agent"),
        (json!({ "text": "x".repeat(4097), "agent": "kari" }), "text"),
        (
            json!({ "text": "hi", "agent": "kari", "id": "with space" }),
            "id",
        ),
    ] {
        let (status, e) = d.post(&path, &body).await;
        assert_eq!((status, &e["error"]["field"]), (422, &json!(field)), "{e}");
    }
    let (status, e) = d.post("/v1/chat/sessions/nope/agent-messages", &body).await;
    assert_eq!((status, &e["error"]["code"]), (404, &json!("not_found")));
    let open = d.open(json!({ "bot": "support", "language": "en" })).await;
    let (status, e) = d
        .post(
            &format!(
                "/v1/chat/sessions/{}/agent-messages",
                open["id"].as_str().unwrap()
            ),
            &body,
        )
        .await;
    assert_eq!(
        (status, &e["error"]["code"]),
        (409, &json!("not_handed_off")),
        "{e}"
    );
    d.post(&format!("/v1/chat/sessions/{id}/close"), &json!({}))
        .await;
    let (status, e) = d.post(&path, &body).await;
    assert_eq!(
        (status, &e["error"]["code"]),
        (409, &json!("session_closed")),
        "{e}"
    );
    d.stop().await;
}

#[tokio::test]
async fn after_hours_the_customer_leaves_an_address_for_the_answer() {
    let d = Daemon::with().now(friday_night()).start().await;
    let (s, r) = handed_over(&d, "en", "I want to talk to a human").await;
    assert_eq!(r["expected"]["open"], false);
    assert_eq!(r["ask_contact"], true, "{r}");
    let id = s["id"].as_str().unwrap();
    let path = format!("/v1/chat/sessions/{id}/contact");
    for bad in [
        "",
        "anna",
        "anna@",
        "@example.com",
        "anna@example",
        "anna@example..com",
        "an na@example.com",
        " anna@example.com",
        "<a@b.c>",
        "a@b@c.d",
        "anna\u{feff}@example.com",
    ] {
        let (status, e) = d.post(&path, &json!({ "email": bad })).await;
        assert_eq!(
            (status, &e["error"]["field"]),
            (422, &json!("email")),
            "{bad}: {e}"
        );
    }
    let (status, left) = d.post(&path, &json!({ "email": "anna@example.com" })).await;
    assert_eq!(status, 200, "{left}");
    assert_eq!(left["email"], "anna@example.com");
    let t = ticket(&d, &format!("chat-{id}")).await;
    assert_eq!(t["ticket"]["customer"]["email"], "anna@example.com");
    // The example pack marks the ticket, and a person's reply goes there by e-mail.
    assert!(t["ticket"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("answer_by_email")));
    let (status, _) = d
        .post(
            &format!("/v1/chat/sessions/{id}/agent-messages"),
            &json!({ "text": "Your parcel left today.", "agent": "kari" }),
        )
        .await;
    assert_eq!(status, 201);
    let (_, rows) = d.get("/v1/outbox").await;
    let mail = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"]["type"] == "notify" && r["ticket_id"] == format!("chat-{id}"))
        .unwrap_or_else(|| panic!("an e-mail to the customer: {rows:#}"));
    assert_eq!(
        mail["action"],
        json!({ "type": "notify", "channel": "email", "to": "anna@example.com",
                "subject": "Re: I want to talk to a human", "text": "Your parcel left today." })
    );
    // Sent twice: one event.
    let version = ticket(&d, &format!("chat-{id}")).await["version"].clone();
    d.post(&path, &json!({ "email": "anna@example.com" })).await;
    assert_eq!(ticket(&d, &format!("chat-{id}")).await["version"], version);
    // A chat the bot still answers has no person to wait for.
    let open = d.open(json!({ "bot": "support", "language": "en" })).await;
    let (status, e) = d
        .post(
            &format!("/v1/chat/sessions/{}/contact", open["id"].as_str().unwrap()),
            &json!({ "email": "anna@example.com" }),
        )
        .await;
    assert_eq!(
        (status, &e["error"]["code"]),
        (409, &json!("not_handed_off"))
    );

    // In opening hours with an agent free, nobody is asked for an address.
    d.clock.set("2026-11-23T10:00:00Z".parse().unwrap());
    d.put("/v1/agents/kari/status", &json!({ "status": "online" }))
        .await;
    let (_, r) = handed_over(&d, "en", "I want to talk to a human").await;
    assert_eq!(r["expected"]["open"], true);
    assert_eq!(r.get("ask_contact"), None, "{r}");
    d.stop().await;
}

/// A daemon whose handed-off chats go on in Chatwoot, stood in for by a recording server that
/// answers contact and conversation creation as Chatwoot does.
async fn with_chatwoot() -> (Daemon, std::sync::Arc<common::recorder::Recorder>) {
    use frontdesk::delivery::{ChatBridge, ConnectorConfig, HelpdeskApi};
    let (url, rec) = common::recorder::start_recorder(0).await;
    // Chatwoot's answers (its API reference: "Create Contact", "Create New Conversation").
    rec.answer(
        "api/v1/accounts/1/contacts",
        200,
        &json!({ "payload": { "contact": { "id": 501, "name": "Chat customer",
            "contact_inboxes": [] },
            "contact_inbox": { "inbox": { "id": 3 }, "source_id": "src-501" } } }),
    );
    rec.answer(
        "api/v1/accounts/1/conversations",
        200,
        &json!({ "id": 42, "inbox_id": 3, "status": "open", "meta": {} }),
    );
    let d = Daemon::with()
        .connectors(ConnectorConfig {
            outbound_allow: vec!["127.0.0.0/8".into()],
            helpdesks: [(
                "chatwoot".to_string(),
                HelpdeskApi {
                    url,
                    token: "cw-bot-token".into(),
                },
            )]
            .into(),
            chat_bridge: Some(ChatBridge {
                helpdesk: "chatwoot".into(),
                account: Some("1".into()),
                inbox: Some("3".into()),
                group: None,
            }),
            ..ConnectorConfig::default()
        })
        .start()
        .await;
    (d, rec)
}

/// Chatwoot's `message_created` webhook for conversation 42: `kind` `incoming` (the contact's)
/// or `outgoing` by a user (an agent's reply), shaped as `Message#webhook_data` makes it.
fn chatwoot_message(id: u64, kind: &str, text: &str) -> Value {
    let sender = match kind {
        "incoming" => json!({ "id": 501, "name": "Chat customer", "type": "contact" }),
        _ => json!({ "id": 12, "name": "Kari Nordmann", "available_name": "Kari",
                     "type": "user", "availability_status": "online" }),
    };
    json!({ "event": "message_created", "id": id, "content": text, "message_type": kind,
        "content_type": "text", "private": false, "created_at": "2026-11-23T10:05:00Z",
        "account": { "id": 1, "name": "Shop" }, "inbox": { "id": 3, "name": "Chat" },
        "sender": sender,
        "conversation": { "id": 42, "inbox_id": 3, "status": "open", "channel": "Channel::Api",
            "labels": [], "meta": { "sender": { "id": 501, "name": "Chat customer", "type": "contact" },
                "assignee": { "id": 12, "name": "Kari Nordmann", "type": "user" } } } })
}

#[tokio::test]
async fn a_handoff_opens_the_chat_in_chatwoot_and_the_agents_reply_reaches_the_widget() {
    let (d, rec) = with_chatwoot().await;
    let s = d
        .open(json!({ "bot": "support", "language": "en",
                      "customer": { "name": "Jane Doe", "email": "jane@example.com" } }))
        .await;
    let id = s["id"].as_str().unwrap();
    d.say(&s, "Where is my order?").await;
    let r = d.say(&s, "I want to talk to a human").await;
    assert_eq!(r["handoff"], true);
    // The opening is an outbox row of the handoff's decision, delivered by the worker.
    let (_, rows) = d.get("/v1/outbox?state=pending").await;
    let open = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"]["type"] == "open_conversation")
        .unwrap_or_else(|| panic!("an open_conversation row: {rows:#}"))
        .clone();
    assert_eq!(open["id"], format!("chat:{id}:handoff/open"));
    assert_eq!(open["target"]["helpdesk"], "chatwoot");
    frontdesk::server::deliver_due(&d.running.state).await;

    // Contact, conversation, and the transcript as a private note, with the bot's token.
    let contact = rec.hits_on("api/v1/accounts/1/contacts");
    assert_eq!(contact.len(), 1);
    assert_eq!(contact[0].headers["api_access_token"], "cw-bot-token");
    let body: Value = serde_json::from_slice(&contact[0].body).unwrap();
    assert_eq!(
        body,
        json!({ "inbox_id": 3, "identifier": format!("frontdesk-chat-{id}"),
                "name": "Jane Doe", "email": "jane@example.com" })
    );
    let conversation = rec.hits_on("api/v1/accounts/1/conversations");
    let body: Value = serde_json::from_slice(&conversation[0].body).unwrap();
    assert_eq!(
        body,
        json!({ "inbox_id": 3, "contact_id": 501, "source_id": "src-501", "status": "open",
                "custom_attributes": { "frontdesk_ticket": format!("chat-{id}") } })
    );
    let note = rec.hits_on("api/v1/accounts/1/conversations/42/messages");
    assert_eq!(note.len(), 1);
    let body: Value = serde_json::from_slice(&note[0].body).unwrap();
    assert_eq!(body["private"], true);
    let transcript = body["content"].as_str().unwrap();
    assert!(
        transcript.starts_with("Bot: ") && transcript.contains("\nCustomer: Where is my order?\n"),
        "{transcript}"
    );
    assert!(
        transcript.contains("Customer: I want to talk to a human"),
        "{transcript}"
    );
    // The ticket knows its conversation, and the row is done.
    let t = ticket(&d, &format!("chat-{id}")).await;
    assert_eq!(
        t["ticket"]["source"],
        json!({ "helpdesk": "chatwoot", "account": "1", "api": true, "id": "42" })
    );
    let (_, done) = d.get("/v1/outbox?state=delivered").await;
    assert!(
        done.as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == open["id"]),
        "{done:#}"
    );

    // Kari answers in Chatwoot: the webhook for conversation 42 reaches the chat.
    let mut live = Follow::open(&d, id, Some("5")).await;
    let (status, r) = d
        .post(
            "/v1/inbound/chatwoot",
            &chatwoot_message(9001, "outgoing", "Hi Jane, Kari here!"),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["ticket"]["id"], format!("chat-{id}"), "{r}");
    let e = live.next().await.unwrap();
    assert_eq!(
        (
            e.data["author"].as_str(),
            e.data["name"].as_str(),
            e.data["text"].as_str()
        ),
        (Some("agent"), Some("Kari"), Some("Hi Jane, Kari here!"))
    );
    // Chatwoot retries the webhook: one line.
    d.post(
        "/v1/inbound/chatwoot",
        &chatwoot_message(9001, "outgoing", "Hi Jane, Kari here!"),
    )
    .await;
    // The customer answers in the widget: the line goes to the conversation as the contact's.
    d.say(&s, "Order 1234, thanks").await;
    frontdesk::server::deliver_due(&d.running.state).await;
    let messages = rec.hits_on("api/v1/accounts/1/conversations/42/messages");
    assert_eq!(messages.len(), 2, "the note and the customer's line");
    let body: Value = serde_json::from_slice(&messages[1].body).unwrap();
    assert_eq!(
        (&body["content"], &body["message_type"], &body["private"]),
        (
            &json!("Order 1234, thanks"),
            &json!("incoming"),
            &json!(false)
        )
    );
    // Chatwoot tells frontdesk about that message in turn: not taken twice.
    let (status, echo) = d
        .post(
            "/v1/inbound/chatwoot",
            &chatwoot_message(9002, "incoming", "Order 1234, thanks"),
        )
        .await;
    assert_eq!((status, &echo["ignored"]), (200, &json!(true)), "{echo}");
    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    let authors: Vec<&str> = tr["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        authors[authors.len() - 2..],
        ["agent", "customer"],
        "{tr:#}"
    );
    assert_eq!(authors.iter().filter(|a| **a == "agent").count(), 1);
    // A conversation no chat knows stays an ordinary Chatwoot ticket.
    let mut other = chatwoot_message(9003, "incoming", "Hello?");
    other["conversation"]["id"] = json!(77);
    let (_, r) = d.post("/v1/inbound/chatwoot", &other).await;
    assert_eq!(r["ticket"]["id"], "77", "{r}");
    d.stop().await;
}

#[tokio::test]
async fn chatwoots_webhooks_find_the_chat_before_frontdesk_has_recorded_the_conversation() {
    let (d, _rec) = with_chatwoot().await;
    let (s, _) = handed_over(&d, "en", "I want to talk to a human").await;
    let id = s["id"].as_str().unwrap();
    let ticket_id = format!("chat-{id}");
    // Chatwoot announces the conversation it is making, and Kari answers at once, before the
    // outbox worker has recorded the conversation's id: the attribute frontdesk set names the
    // chat.
    let mut conversation = chatwoot_message(0, "incoming", "")["conversation"].clone();
    conversation["custom_attributes"] = json!({ "frontdesk_ticket": ticket_id });
    let mut created = conversation.clone();
    created["event"] = json!("conversation_created");
    let (status, r) = d.post("/v1/inbound/chatwoot", &created).await;
    assert_eq!((status, &r["ignored"]), (200, &json!(true)), "{r}");
    let mut reply = chatwoot_message(9101, "outgoing", "Kari here, one moment");
    reply["conversation"] = conversation;
    let (status, r) = d.post("/v1/inbound/chatwoot", &reply).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["ticket"]["id"], ticket_id.as_str());
    assert_eq!(r["ticket"]["source"]["id"], "42");
    // The customer's chat ticket kept its own tags; the line is in the chat.
    assert!(r["ticket"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("bot_handoff")));
    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    let last = tr["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["author"], &last["text"]),
        (&json!("agent"), &json!("Kari here, one moment"))
    );
    d.stop().await;
}

#[tokio::test]
async fn a_handoff_opens_a_zammad_ticket_and_the_agents_article_reaches_the_chat() {
    use frontdesk::delivery::{ChatBridge, ConnectorConfig, HelpdeskApi};
    let (url, rec) = common::recorder::start_recorder(0).await;
    rec.answer(
        "api/v1/tickets",
        201,
        &json!({ "id": 12, "number": "31012", "group_id": 1, "state_id": 2 }),
    );
    let d = Daemon::with()
        .connectors(ConnectorConfig {
            outbound_allow: vec!["127.0.0.0/8".into()],
            helpdesks: [(
                "zammad".to_string(),
                HelpdeskApi {
                    url,
                    token: "zm-token".into(),
                },
            )]
            .into(),
            chat_bridge: Some(ChatBridge {
                helpdesk: "zammad".into(),
                group: Some("Chat".into()),
                ..ChatBridge::default()
            }),
            ..ConnectorConfig::default()
        })
        .start()
        .await;
    let s = d
        .open(json!({ "bot": "support", "language": "nb",
                      "customer": { "name": "Ola", "email": "ola@example.no" } }))
        .await;
    let id = s["id"].as_str().unwrap();
    d.say(&s, "Kan jeg snakke med et menneske?").await;
    frontdesk::server::deliver_due(&d.running.state).await;
    let hits = rec.hits_on("api/v1/tickets");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].headers["authorization"], "Token token=zm-token");
    let body: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(body["group"], "Chat");
    assert_eq!(body["customer_id"], "guess:ola@example.no");
    assert_eq!(body["article"]["sender"], "Customer");
    assert!(body["article"]["body"]
        .as_str()
        .unwrap()
        .contains("Customer: Kan jeg snakke med et menneske?"));
    let t = ticket(&d, &format!("chat-{id}")).await;
    assert_eq!(t["ticket"]["source"]["id"], "12");
    // An agent's article on Zammad's ticket 12 (the default webhook payload) reaches the chat.
    let article = json!({
        "ticket": { "id": 12, "number": "31012", "title": "Kan jeg snakke med et menneske?",
                    "state": "open", "priority": "2 normal", "group": "Chat",
                    "article_count": 2, "created_at": "2026-11-23T10:00:00Z",
                    "updated_at": "2026-11-23T10:06:00Z" },
        "article": { "id": 88, "sender": "Agent", "from": "Kari Nordmann <kari@example.com>",
                     "type": "web", "internal": false, "content_type": "text/plain",
                     "body": "Hei Ola, Kari her!", "created_at": "2026-11-23T10:06:00Z" } });
    let (status, r) = d.post("/v1/inbound/zammad", &article).await;
    assert_eq!(status, 200, "{r}");
    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    let last = tr["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["author"], &last["name"], &last["text"]),
        (
            &json!("agent"),
            &json!("Kari Nordmann"),
            &json!("Hei Ola, Kari her!")
        )
    );
    // The customer's next line becomes a customer article on ticket 12.
    d.say(&s, "Takk!").await;
    frontdesk::server::deliver_due(&d.running.state).await;
    let articles = rec.hits_on("api/v1/ticket_articles");
    let body: Value = serde_json::from_slice(&articles.last().unwrap().body).unwrap();
    assert_eq!(
        (&body["ticket_id"], &body["sender"], &body["body"]),
        (&json!(12), &json!("Customer"), &json!("Takk!"))
    );
    d.stop().await;
}

#[tokio::test]
async fn a_handoff_opens_a_zendesk_ticket_and_the_agents_comment_reaches_the_chat() {
    use frontdesk::delivery::{ChatBridge, ConnectorConfig, HelpdeskApi};
    let (url, rec) = common::recorder::start_recorder(0).await;
    rec.answer(
        "api/v2/tickets.json",
        201,
        &json!({ "ticket": { "id": 35436, "status": "new", "subject": "I want to talk to a human" } }),
    );
    let d = Daemon::with()
        .connectors(ConnectorConfig {
            outbound_allow: vec!["127.0.0.0/8".into()],
            helpdesks: [(
                "zendesk".to_string(),
                HelpdeskApi {
                    url,
                    token: "agent@example.com/token:zd".into(),
                },
            )]
            .into(),
            chat_bridge: Some(ChatBridge {
                helpdesk: "zendesk".into(),
                ..ChatBridge::default()
            }),
            ..ConnectorConfig::default()
        })
        .start()
        .await;
    let s = d
        .open(json!({ "bot": "support", "language": "en",
                      "customer": { "name": "Jane Doe", "email": "jane@example.com" } }))
        .await;
    let id = s["id"].as_str().unwrap();
    d.say(&s, "I want to talk to a human").await;
    frontdesk::server::deliver_due(&d.running.state).await;
    let hits = rec.hits_on("api/v2/tickets.json");
    assert_eq!(hits.len(), 1);
    assert!(hits[0].headers["authorization"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
    let body: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(
        body["ticket"]["requester"],
        json!({ "name": "Jane Doe", "email": "jane@example.com" })
    );
    assert_eq!(body["ticket"]["comment"]["public"], false);
    assert!(body["ticket"]["comment"]["body"]
        .as_str()
        .unwrap()
        .contains("Customer: I want to talk to a human"));
    assert_eq!(
        ticket(&d, &format!("chat-{id}")).await["ticket"]["source"]["id"],
        "35436"
    );
    // The agent's public comment, through the trigger body docs/adapters.md gives.
    let comment = json!({ "type": "message.agent",
        "ticket": { "id": "35436", "subject": "I want to talk to a human", "status": "open",
                    "requester": { "id": "9", "name": "Jane Doe", "email": "jane@example.com" } },
        "message": { "text": "Hello Jane, Mette here.", "author_name": "Mette Jensen" } });
    let (status, r) = d.post("/v1/inbound/zendesk", &comment).await;
    assert_eq!(status, 200, "{r}");
    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    let last = tr["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["author"], &last["name"], &last["text"]),
        (
            &json!("agent"),
            &json!("Mette Jensen"),
            &json!("Hello Jane, Mette here.")
        )
    );
    // The customer's next line goes to the ticket as a note that says whose it is.
    d.say(&s, "Thanks!").await;
    frontdesk::server::deliver_due(&d.running.state).await;
    let updates = rec.hits_on("api/v2/tickets/35436.json");
    let body: Value = serde_json::from_slice(&updates.last().unwrap().body).unwrap();
    assert_eq!(
        body["ticket"]["comment"],
        json!({ "body": "The customer wrote in the chat:\nThanks!", "public": false })
    );
    d.stop().await;
}

#[tokio::test]
async fn opening_in_chatwoot_is_retried_and_finds_its_contact_again() {
    let (d, rec) = with_chatwoot().await;
    // The conversation fails once, after the contact was made.
    rec.answer(
        "api/v1/accounts/1/conversations",
        503,
        &json!({ "error": "busy" }),
    );
    let (s, _) = handed_over(&d, "en", "I want to talk to a human").await;
    let id = s["id"].as_str().unwrap();
    frontdesk::server::deliver_due(&d.running.state).await;
    let (_, rows) = d.get("/v1/outbox?state=pending").await;
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"]["type"] == "open_conversation")
        .unwrap()
        .clone();
    assert!(row["last_error"].as_str().unwrap().contains("503"), "{row}");
    assert_eq!(
        ticket(&d, &format!("chat-{id}")).await["ticket"].get("source"),
        None
    );
    // The next try: the contact exists (Chatwoot refuses its identifier), so it is looked up.
    rec.answer(
        "api/v1/accounts/1/contacts",
        422,
        &json!({ "message": "Identifier has already been taken" }),
    );
    rec.answer(
        "api/v1/accounts/1/contacts/search",
        200,
        &json!({ "payload": [{ "id": 501, "contact_inboxes": [
            { "inbox": { "id": 9 }, "source_id": "elsewhere" },
            { "inbox": { "id": 3 }, "source_id": "src-501" } ] }] }),
    );
    rec.answer(
        "api/v1/accounts/1/conversations",
        200,
        &json!({ "id": 43, "status": "open" }),
    );
    d.clock.set(common::t0() + chrono::TimeDelta::minutes(10));
    frontdesk::server::deliver_due(&d.running.state).await;
    let search = rec.hits_on("api/v1/accounts/1/contacts/search");
    assert_eq!(search.len(), 1);
    let conversation = rec.hits_on("api/v1/accounts/1/conversations");
    let body: Value = serde_json::from_slice(&conversation.last().unwrap().body).unwrap();
    assert_eq!(body["source_id"], "src-501");
    assert_eq!(
        ticket(&d, &format!("chat-{id}")).await["ticket"]["source"]["id"],
        "43"
    );
    d.stop().await;
}

#[tokio::test]
async fn the_chat_routes_are_documented_and_need_the_token() {
    let mut d = Daemon::with().tokens(&["s3cret"]).start().await;
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

/// POSTs `body` to `path` with the API token, as a helpdesk does.
async fn post_as_helpdesk(base: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth("w1dget")
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A person's message to a chat through `POST /v1/chat/sessions/{id}/agent-messages`.
async fn agent_says(base: &str, session: &str, text: &str) -> (u16, Value) {
    post_as_helpdesk(
        base,
        &format!("/v1/chat/sessions/{session}/agent-messages"),
        &json!({ "text": text, "agent": "kari" }),
    )
    .await
}

/// The chat's lines as the page shows them: `class: text`.
async fn lines(b: &Browser) -> Vec<String> {
    let v = b
        .eval("Array.from(document.querySelectorAll('#log .msg')).map(m => m.className + ': ' + m.textContent)")
        .await;
    serde_json::from_value(v).unwrap()
}

/// Types `text` into the message box and presses Send.
async fn type_and_send(b: &Browser, text: &str) {
    b.fill("#text", text).await;
    b.click("#send").await;
}

/// The page in a real browser, driven like a customer would: it opens a session and shows the
/// greeting, a typed question gets its answer with the link and the quick replies, "Ja" is
/// recorded, a reload carries on the same chat, asking for a person shows the handoff, the
/// customer leaves an address when nobody is online, a person's answers appear live (as text,
/// with an unread badge) and again after a reload; Arabic is laid out right to left. Each step
/// is checked against the daemon's own record, and the page logs no error on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_in_headless_chromium() {
    let Some(b) = Browser::start().await else {
        return;
    };
    // The size of a chat window on a page (docs/faq.md embeds it at 380 × 560).
    b.resize(440, 640).await;
    let mut d = Daemon::with().tokens(&["w1dget"]).start().await;
    d.token = Some("w1dget".into());
    let base = d.url.clone();

    let greeting_nb = support().greeting("nb").unwrap().to_string();
    let answer_nb = support()
        .entry("order_status")
        .unwrap()
        .answer("nb", "en")
        .unwrap()
        .to_string();
    let handoff_nb = support().handoff_message("nb").unwrap().to_string();
    let greeting_ar = support().greeting("ar").unwrap().to_string();

    b.goto(&format!("{base}/chat?bot=support&lang=nb&token=w1dget"))
        .await;
    b.wait_for(".msg.greeting").await;
    assert_eq!(
        lines(&b).await,
        [format!("msg bot greeting: {greeting_nb}")]
    );
    assert_eq!(b.eval("document.documentElement.dir").await, "ltr");
    let session = b
        .until("document.body.dataset.session")
        .await
        .as_str()
        .unwrap()
        .to_string();

    type_and_send(&b, "Hvor er pakken min?").await;
    let answer = b
        .until("document.querySelector('[data-answer]')?.dataset.answer")
        .await;
    assert_eq!(answer, "order_status");
    let now = lines(&b).await;
    assert_eq!(now[1], "msg customer: Hvor er pakken min?");
    assert!(
        now[2].contains(&answer_nb) && now[2].contains("Mine bestillinger"),
        "{now:?}"
    );
    assert_eq!(
        b.eval("document.querySelector('.links a').href").await,
        "https://shop.example.com/account/orders"
    );
    assert_eq!(b.text(".prompt").await, "Fikk du svar på spørsmålet ditt?");
    b.click_text(".replies button", "Ja").await;
    b.until("document.querySelectorAll('.msg.bot').length === 3")
        .await;
    let before_reload = lines(&b).await;

    // A reload carries on the same chat.
    b.reload().await;
    b.until("document.querySelectorAll('#log .msg').length === 5")
        .await;
    assert_eq!(
        b.eval("document.body.dataset.session").await,
        session.as_str()
    );

    type_and_send(&b, "Kan jeg snakke med et menneske?").await;
    b.wait_for("#handoff").await;
    let now = lines(&b).await;
    assert!(now[now.len() - 2].contains(&handoff_nb), "{now:?}");
    assert_eq!(
        now[now.len() - 1],
        "msg notice: Du blir satt over til en person."
    );
    // The customer can still write; it is kept for the person, and the bot says no more.
    assert_eq!(
        b.eval("document.getElementById('text').disabled").await,
        false
    );
    assert_eq!(
        b.eval("document.getElementById('text').placeholder").await,
        "Noe mer? Personen leser det…"
    );
    let bot_lines = b.count(".msg.bot").await;
    type_and_send(&b, "Ordrenummeret er 1234").await;
    b.until(
        "document.querySelectorAll('.msg.customer').length === 4 \
         && !document.getElementById('send').disabled",
    )
    .await;
    assert_eq!(b.count(".msg.bot").await, bot_lines);
    assert_eq!(b.count(".msg.error").await, 0, "{:?}", lines(&b).await);

    // Nobody is online: the customer may leave an address for the answer.
    b.fill("#contact-email", "kunde@example.no").await;
    b.click("#contact button").await;
    assert_eq!(
        b.text("#contact-saved").await,
        "Takk! Vi svarer til kunde@example.no."
    );
    b.screenshot("chat-handoff-nb").await;

    // A person answers while the customer looks elsewhere: the line appears without a reload,
    // as text, with a badge counting it.
    b.eval("window.dispatchEvent(new Event('blur'))").await;
    let hostile = "<b>Hei</b> fra Kari <img src=x onerror=alert(1)>";
    let (status, r) = agent_says(&base, &session, hostile).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(
        b.text(".msg.agent").await,
        format!("Kari Nordmann{hostile}")
    );
    assert_eq!(b.text(".msg.agent .who").await, "Kari Nordmann");
    assert_eq!(b.count(".msg.agent b, .msg.agent img").await, 0);
    assert_eq!(b.text("#joined").await, "Kari Nordmann ble med i chatten.");
    assert_eq!(
        b.eval("document.getElementById('unread').hidden").await,
        false
    );
    assert_eq!(b.text("#unread").await, "1");
    assert!(b
        .eval("document.title")
        .await
        .as_str()
        .unwrap()
        .starts_with("(1) "));
    b.screenshot("chat-person-answers-nb").await;
    b.eval("window.dispatchEvent(new Event('focus'))").await;
    assert_eq!(
        b.eval("document.getElementById('unread').hidden").await,
        true
    );
    assert_eq!(
        b.eval("document.getElementById('text').disabled").await,
        false
    );

    // A reload shows the person's line again and keeps listening; a `message.agent` event on
    // the chat's ticket, as any helpdesk sends, shows the same way.
    b.reload().await;
    b.wait_for(".msg.agent").await;
    let (status, r) = post_as_helpdesk(
        &base,
        "/v1/events",
        &json!({ "id": "hd:77", "type": "message.agent",
                 "ticket": { "id": format!("chat-{session}") },
                 "message": { "text": "Pakken er sendt i dag.", "author": "agent",
                              "author_name": "Kari" } }),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    b.until("document.querySelectorAll('.msg.agent').length === 2")
        .await;
    let now = lines(&b).await;
    assert!(
        now.last().unwrap().ends_with("Pakken er sendt i dag."),
        "{now:?}"
    );
    assert_eq!(b.count(".msg.error").await, 0, "{now:?}");
    // The person closes the chat: the page says so and takes no more messages.
    let (status, _) = post_as_helpdesk(
        &base,
        &format!("/v1/chat/sessions/{session}/close"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(b.text("#closed").await, "Chatten er avsluttet.");
    assert_eq!(
        b.eval("document.getElementById('text').disabled").await,
        true
    );
    b.screenshot("chat-closed-nb").await;

    // Arabic: right to left.
    b.goto(&format!("{base}/chat?bot=support&lang=ar&token=w1dget"))
        .await;
    b.wait_for(".msg.greeting").await;
    assert_eq!(b.eval("document.documentElement.dir").await, "rtl");
    assert_eq!(b.eval("document.documentElement.lang").await, "ar");
    assert_eq!(
        lines(&b).await,
        [format!("msg bot greeting: {greeting_ar}")]
    );

    // No script error, failed request or console error on any of these pages.
    assert_eq!(b.console_errors().await, Vec::<String>::new());
    b.close().await;

    // The page really talked to this daemon: the session it showed is stored with every line.
    let (status, tr) = d.get(&format!("/v1/chat/sessions/{session}")).await;
    assert_eq!(status, 200);
    assert_eq!(tr["session"]["state"], "closed");
    let stored = tr["messages"].as_array().unwrap();
    assert_eq!(stored[1]["text"], "Hvor er pakken min?");
    assert_eq!(stored[2]["answer_id"], "order_status");
    assert_eq!(stored[3]["feedback"], "yes");
    assert_eq!(stored[4]["text"], ChatText::Thanks.default_text("nb"));
    assert!(before_reload[4].ends_with(ChatText::Thanks.default_text("nb")));
    assert_eq!(stored[5]["text"], "Kan jeg snakke med et menneske?");
    assert_eq!(stored[6]["handoff"], true);
    assert_eq!(stored[7]["text"], "Ordrenummeret er 1234", "{stored:#?}");
    assert_eq!(stored[7]["author"], "customer");
    assert_eq!(stored[8]["author"], "agent");
    assert_eq!(stored[9]["text"], "Pakken er sendt i dag.");
    let (_, t) = d.get(&format!("/v1/tickets/chat-{session}")).await;
    assert_eq!(t["ticket"]["customer"]["email"], "kunde@example.no");
    d.stop().await;
}

/// Sends every body to the session at once (each on its own task) and returns the answers in
/// the order of `bodies`. `daemons` take turns: with two, the messages race across replicas.
async fn all_at_once(daemons: &[&Daemon], session: &str, bodies: &[Value]) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let d = daemons[i % daemons.len()];
        let req = d
            .http
            .post(format!("{}/v1/chat/sessions/{session}/messages", d.url))
            .json(body);
        tasks.push(tokio::spawn(async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// The transcript after concurrent `bodies` (each with an `id` and a `text` or `feedback`)
/// that got `answers`, one of them the handoff: lines numbered without a gap, every message
/// in it once, each message answered by the bot line right after it until the handoff, only
/// the customer after it, the handoff decided once for the ticket and each line after it sent
/// on to the ticket.
async fn assert_coherent(d: &Daemon, session: &str, bodies: &[Value], answers: &[(u16, Value)]) {
    for ((status, answer), body) in answers.iter().zip(bodies) {
        assert_eq!(*status, 200, "{body} got {answer}");
    }
    let handoffs: Vec<&Value> = answers
        .iter()
        .map(|(_, a)| a)
        .filter(|a| a["handoff"] == true)
        .collect();
    assert_eq!(handoffs.len(), 1, "{answers:#?}");
    assert_eq!(
        handoffs[0]["event"]["event_id"],
        format!("chat:{session}:handoff")
    );
    let (status, tr) = d.get(&format!("/v1/chat/sessions/{session}")).await;
    assert_eq!(status, 200);
    assert_eq!(tr["session"]["state"], "handed_off");
    let lines = tr["messages"].as_array().unwrap();
    assert_eq!(tr["session"]["messages"], lines.len());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], i + 1, "{tr:#}");
    }
    let handoff_at = lines.iter().position(|l| l["handoff"] == true).unwrap();
    assert_eq!(
        lines.iter().filter(|l| l["handoff"] == true).count(),
        1,
        "{tr:#}"
    );
    assert!(
        lines[handoff_at + 1..]
            .iter()
            .all(|l| l["author"] == "customer"),
        "only the customer after the handoff: {tr:#}"
    );
    for ((_, answer), body) in answers.iter().zip(bodies) {
        let said = match body["text"].as_str() {
            Some(t) => t.to_string(),
            None => support().chat_text(ChatText::Person, "en").to_string(),
        };
        let at: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l["author"] == "customer" && l["text"] == said.as_str())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(at.len(), 1, "`{said}` once in {tr:#}");
        let i = at[0];
        if i + 1 == handoff_at {
            assert_eq!(answer["handoff"], true, "{answer}");
            assert_eq!(lines[handoff_at]["text"], answer["reply"]["text"]);
        } else if i < handoff_at {
            assert_eq!(answer["state"], "open", "{answer}");
            assert_eq!(lines[i + 1]["author"], "bot");
            assert_eq!(lines[i + 1]["text"], answer["reply"]["text"], "{tr:#}");
        } else {
            assert_eq!(answer["state"], "handed_off", "{answer}");
            assert_eq!(answer["reply"]["text"], "", "{answer}");
        }
    }
    // The rules ran on the handoff once, and on each line after it, which went on to the
    // ticket as `message.created`.
    let (status, t) = d.get(&format!("/v1/tickets/chat-{session}")).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["version"], 1 + (lines.len() - handoff_at - 1), "{t:#}");
    assert!(t["ticket"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("bot_handoff")));
}

/// Questions and a request for a person, each with a message id.
fn racing_messages() -> Vec<Value> {
    vec![
        json!({ "id": "q1", "text": "How do I reset my password?" }),
        json!({ "id": "q2", "text": "How much does delivery cost?" }),
        json!({ "id": "p", "feedback": "person" }),
        json!({ "id": "q3", "text": "How do I cancel my order?" }),
        json!({ "id": "q4", "text": "Where is my order?" }),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_with_a_handoff_are_taken_one_after_another() {
    let d = Daemon::start().await;
    let bodies = racing_messages();
    for round in 0..5 {
        let s = d.open(json!({ "bot": "support", "language": "en" })).await;
        let id = s["id"].as_str().unwrap();
        let answers = all_at_once(&[&d], id, &bodies).await;
        assert_coherent(&d, id, &bodies, &answers).await;

        // Each message sent again with its id is answered as the first time, and taken once.
        let (_, before) = d.get(&format!("/v1/chat/sessions/{id}")).await;
        let again = all_at_once(&[&d], id, &bodies).await;
        assert_eq!(again, answers, "round {round}");
        let (_, after) = d.get(&format!("/v1/chat/sessions/{id}")).await;
        assert_eq!(after, before, "nothing taken twice");
    }
    // An id used again for another message is refused.
    let s = d.open(json!({ "bot": "support", "language": "en" })).await;
    d.message(&s, json!({ "id": "m1", "text": "Where is my order?" }))
        .await;
    let (status, e) = d
        .message(&s, json!({ "id": "m1", "text": "How do I cancel?" }))
        .await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "message_id_reused");
    assert_eq!(e["error"]["field"], "id");
    d.stop().await;
}

/// A client that lost the answer to "talk to a person" sends it again without an id: it gets
/// the same answer, and the handoff is neither decided nor written down twice.
#[tokio::test]
async fn a_resent_handoff_gets_the_same_answer() {
    let d = Daemon::start().await;
    let s = d.open(json!({ "bot": "support", "language": "en" })).await;
    let id = s["id"].as_str().unwrap();
    d.say(&s, "Where is my order?").await;
    let first = d.say(&s, "No").await;
    assert_eq!(first["handoff"], true, "{first}");
    let again = d.say(&s, "No").await;
    assert_eq!(again, first);
    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    assert_eq!(tr["messages"].as_array().unwrap().len(), 5, "{tr:#}");
    let (_, t) = d.get(&format!("/v1/tickets/chat-{id}")).await;
    assert_eq!(t["version"], 1);
    // Once something else was said, "No" is a line for the person like any other.
    d.say(&s, "Hello?").await;
    let later = d.say(&s, "No").await;
    assert_eq!(
        (later["handoff"].clone(), later["reply"]["text"].clone()),
        (json!(false), json!(""))
    );
    let (_, tr) = d.get(&format!("/v1/chat/sessions/{id}")).await;
    assert_eq!(tr["messages"].as_array().unwrap().len(), 7, "{tr:#}");
    d.stop().await;
}

/// A handoff decided for a session whose turn was never saved (the daemon stopped in between)
/// stands: the message that hands the chat over later is answered with that decision instead
/// of an `event_id_reused`.
#[tokio::test]
async fn a_handoff_decided_before_its_turn_was_saved_stands() {
    let d = Daemon::start().await;
    let s = d.open(json!({ "bot": "support", "language": "en" })).await;
    let id = s["id"].as_str().unwrap();
    let (status, decided) = d
        .post(
            "/v1/events",
            &json!({
                "id": format!("chat:{id}:handoff"),
                "type": "ticket.created",
                "ticket": { "id": format!("chat-{id}"), "channel": "chat", "tags": ["chat", "bot_handoff"] },
                "message": { "text": "an earlier try", "author": "customer" }
            }),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    let r = d.say(&s, "talk to a person").await;
    assert_eq!(r["handoff"], true, "{r}");
    assert_eq!(r["state"], "handed_off");
    assert_eq!(r["event"]["event_id"], format!("chat:{id}:handoff"));
    assert_eq!(
        r["event"]["rules"], decided["rules"],
        "{r:#} vs {decided:#}"
    );
    assert_eq!(r["event"]["actions"], decided["actions"]);
    assert!(
        !r["event"]["rules"].as_array().unwrap().is_empty(),
        "the handoff rule fired: {decided:#}"
    );
    d.stop().await;
}

/// Two daemons on one PostgreSQL database take messages of one session at once: the store's
/// version check catches the turn computed from a state the other replica had moved on from,
/// and it is computed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_across_two_replicas() {
    let Some(pg) = common::PgSchema::create("chat_race").await else {
        return;
    };
    let start_pg = || Daemon::with().store(&pg.url).start();
    let a = start_pg().await;
    let b = start_pg().await;
    let bodies = racing_messages();
    for _ in 0..5 {
        let s = a.open(json!({ "bot": "support", "language": "en" })).await;
        let id = s["id"].as_str().unwrap();
        let answers = all_at_once(&[&a, &b], id, &bodies).await;
        assert_coherent(&a, id, &bodies, &answers).await;
        let again = all_at_once(&[&b, &a], id, &bodies).await;
        assert_eq!(again, answers);
    }
    a.stop().await;
    b.stop().await;
}
