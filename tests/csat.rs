//! Satisfaction surveys end to end: the `survey` action and what a rating does in `decide`,
//! their diagnostics, and over real HTTP with a SQLite file and a manual clock: a survey link
//! followed (its page, once per survey, refused when forged, replaced or expired), a rating in
//! an e-mail reply, a rating picked in a chat handed to a person.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{t0, Daemon};
use frontdesk::config::Config;
use frontdesk::csat::{CsatOutcome, Secret};
use frontdesk::engine::{self, Context};
use frontdesk::model::{Action, Csat, Event};
use frontdesk::server;
use serde_json::{json, Value};

const SECRET: &str = "0123456789abcdef0123456789abcdef-csat-tests";

const PACK: &str = r#"
settings: { public_url: "https://desk.example/" }
templates:
  ask: "Rate us: {{ survey.links }}"
rules:
  - name: survey
    on: [ticket.status_changed]
    then: [ { survey: { template: ask, unless_tagged: [no_survey] } } ]
  - name: low
    on: [csat.received]
    when: { field: ticket.csat.score, lte: 2 }
    then: [ { add_tags: [low] } ]
  - name: scripted
    on: [csat.received]
    when: { script: 'ticket.csat.via == "link" && ticket.csat.score >= 4' }
    then: [ { add_tags: [happy_by_link] } ]
  - name: reopen
    on: [message.created]
    then: [ { set_status: open } ]
"#;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn event(v: Value) -> Event {
    Event::from_value(v).unwrap()
}

fn secret() -> Secret {
    Secret::new(SECRET.as_bytes()).unwrap()
}

/// The token in the first `/v1/csat/` link of `text`.
fn token_in(text: &str) -> String {
    let start = text
        .find("/v1/csat/")
        .unwrap_or_else(|| panic!("no link in {text:?}"))
        + 9;
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect()
}

#[test]
fn the_survey_action_sends_signed_links_and_replaces_an_older_survey() {
    let config = Config::from_yaml("p.yaml", PACK).unwrap();
    let now = at("2026-11-24T10:00:00Z");
    let older = Csat {
        survey: "old/survey".into(),
        sent_at: at("2026-10-01T10:00:00Z"),
        score: Some(5),
        rated_at: Some(at("2026-10-02T10:00:00Z")),
        via: Some("reply".into()),
    };
    let solved = event(json!({"id": "e1", "type": "ticket.status_changed",
        "ticket": {"id": "T1", "status": "solved"}}));
    let mut ticket = solved.ticket.clone();
    ticket.csat = Some(older);
    let ctx = Context {
        csat_secret: Some(secret()),
        ..Context::default()
    };
    let d = engine::decide_with(&config, &ctx, &ticket, &solved, now);
    let [Action::Reply {
        text,
        quick_replies,
        survey,
        ..
    }] = d.actions.as_slice()
    else {
        panic!("one reply: {:?}", d.actions);
    };
    assert_eq!(quick_replies, &["1", "2", "3", "4", "5"]);
    assert_eq!(survey.as_deref(), Some("e1/survey"));
    assert!(
        text.starts_with("Rate us: 5: https://desk.example/v1/csat/"),
        "{text}"
    );
    assert!(text.ends_with("?score=1"), "{text}");
    let claims = secret().verify(&token_in(text), now).unwrap();
    assert_eq!(
        (
            claims.ticket.as_str(),
            claims.survey.as_str(),
            claims.expires
        ),
        ("T1", "e1/survey", now + Duration::days(30))
    );
    assert_eq!(
        d.ticket.csat,
        Some(Csat {
            survey: "e1/survey".into(),
            sent_at: now,
            score: None,
            rated_at: None,
            via: None,
        }),
        "the new survey replaces the older one"
    );
    // Without a secret the survey goes out without links.
    let d = engine::decide(&config, &ticket, &solved, now);
    assert!(matches!(&d.actions[0], Action::Reply { text, .. } if text == "Rate us:"));
    // `unless_tagged`: no survey, and the ticket keeps the one it had.
    let mut tagged = ticket.clone();
    tagged.tags.push("no_survey".into());
    let d = engine::decide_with(&config, &ctx, &tagged, &solved, now);
    assert_eq!(d.actions, []);
    assert_eq!(d.ticket.csat, tagged.csat);
}

#[test]
fn a_rating_reaches_the_rules_and_a_refused_one_runs_none() {
    let config = Config::from_yaml("p.yaml", PACK).unwrap();
    let now = at("2026-11-24T12:00:00Z");
    let pending = json!({"survey": "e1/survey", "sent_at": "2026-11-24T10:00:00Z"});
    let rate = |id: &str, data: Value, csat: Value| {
        event(json!({"id": id, "type": "csat.received",
            "ticket": {"id": "T1", "status": "solved", "csat": csat}, "data": data}))
    };
    let cases = [
        (json!({"score": 1, "via": "link"}), vec!["low"], vec!["low"]),
        (
            json!({"score": 5, "via": "link", "survey": "e1/survey"}),
            vec!["scripted"],
            vec!["happy_by_link"],
        ),
        (json!({"score": 5, "via": "chat"}), vec![], vec![]),
    ];
    for (data, rules, tags) in cases {
        let e = rate("r1", data.clone(), pending.clone());
        let d = engine::explain(&config, &e.ticket, &e, now);
        assert_eq!(d.trace.fired, rules, "{data}");
        assert_eq!(d.ticket.tags, tags, "{data}");
        assert_eq!(d.trace.csat.unwrap().outcome, CsatOutcome::Recorded);
        let c = d.ticket.csat.unwrap();
        assert_eq!(c.score, data["score"].as_u64().map(|n| n as u8));
        assert_eq!(c.rated_at, Some(now));
    }
    // Rated before: nothing changes, no rule runs, the trace says why.
    let rated = json!({"survey": "e1/survey", "sent_at": "2026-11-24T10:00:00Z",
        "score": 5, "rated_at": "2026-11-24T11:00:00Z", "via": "reply"});
    let e = rate("r2", json!({"score": 1, "via": "link"}), rated);
    let d = engine::explain(&config, &e.ticket, &e, now);
    assert_eq!(d.trace.fired, Vec::<String>::new());
    assert_eq!(d.trace.rules, []);
    assert!(d.actions.is_empty());
    assert_eq!(d.ticket.csat, e.ticket.csat, "the first rating stands");
    assert_eq!(d.ticket.tags, e.ticket.tags);
    let why = d.trace.csat.unwrap();
    assert_eq!(why.outcome, CsatOutcome::AlreadyRated);
    assert!(why.message.contains("rated 5 by reply"), "{}", why.message);
    // A customer's "2" to the pending survey: rated, the rules see csat.received, not the
    // message, so `reopen` does not run.
    let answer = event(json!({"id": "m1", "type": "message.created",
        "ticket": {"id": "T1", "status": "solved", "csat": pending},
        "message": {"text": "2", "author": "customer"}}));
    let d = engine::decide(&config, &answer.ticket, &answer, now);
    assert_eq!(d.trace.fired, ["low"]);
    assert_eq!(d.ticket.status.to_string(), "solved");
    assert_eq!(d.ticket.csat.unwrap().via.as_deref(), Some("reply"));
    // Anything else from the customer is a message.
    let other = event(json!({"id": "m2", "type": "message.created",
        "ticket": {"id": "T1", "status": "solved", "csat": pending},
        "message": {"text": "2 more questions about the invoice", "author": "customer"}}));
    let d = engine::decide(&config, &other.ticket, &other, now);
    assert_eq!(d.trace.fired, ["reopen"]);
    assert_eq!(d.trace.csat, None);
}

#[test]
fn survey_mistakes_are_named_with_their_place() {
    let yaml = r#"settings: { public_url: "ftp://x", survey_links_valid_for: soon }
templates:
  ask: "Rate us: {{ survey.links }}"
rules:
  - name: a
    on: [ticket.status_changed]
    when: { field: ticket.csat.score, contains: 5 }
    then:
      - survey: { template: nope }
      - survey: { template: ask, text: "x" }
      - survey: { template: ask, unless_tagged: ["a b"] }
  - name: b
    on: [csat.received]
    when: { field: ticket.csat.score, lte: low }
    then: [ { add_tags: [x] } ]
  - name: c
    on: [csat.received]
    when: { field: ticket.csat.scor, eq: 1 }
    then: [ { add_tags: [x] } ]
tests:
  - name: t
    event: { type: csat.received, data: { score: 1 } }
    expect: { csat_score: 7, actions: [survey] }
"#;
    let got: Vec<String> = Config::from_yaml("r.yaml", yaml)
        .unwrap_err()
        .items()
        .iter()
        .map(|d| d.to_string())
        .collect();
    let want = [
        "r.yaml:1:25: settings.public_url: `ftp://x` is not an http(s) URL",
        "r.yaml:1:60: settings.survey_links_valid_for: invalid duration `soon`; write e.g. `30m`, `4h`, `2d` or `2 days`",
        "r.yaml:7:49: rules[0].when.contains: `contains` does not apply to `ticket.csat.score` (a number); numbers compare with eq, in, gt, gte, lt, lte or exists",
        "r.yaml:9:29: rules[0].then[0].survey.template: unknown template `nope`",
        "r.yaml:10:17: rules[0].then[1].survey: write either `template` or `text`, not both",
        "r.yaml:11:49: rules[0].then[2].survey.unless_tagged[0]: tag `a b` has spaces or commas; helpdesks split tags on them",
        "r.yaml:14:44: rules[1].when.lte: expected a number, found text",
        "r.yaml:18:20: rules[2].when.field: unknown field `ticket.csat.scor`; did you mean `ticket.csat.score`?",
        "r.yaml:23:27: tests[0].expect.csat_score: a score is 1 to 5, not 7",
        "r.yaml:23:39: tests[0].expect.actions[0]: a survey is decided as a `reply` (with `survey` set); write `reply`",
    ];
    assert_eq!(got, want);
}

// ------------------------------------------------------------------------------------------
// Over HTTP
// ------------------------------------------------------------------------------------------

/// An e-mail ticket of a customer who speaks `language`.
fn email(language: &str) -> Value {
    json!({"channel": "email", "customer": {"language": language}})
}

/// Solves `ticket` (with the fields of `fields`), moves the clock to `day` days after
/// [`t0`] and fires the example pack's survey timer; returns the survey's reply as the audit
/// log has it.
async fn solve_and_survey(d: &Daemon, ticket: &str, fields: Value, day: i64) -> Value {
    let mut t = json!({"id": ticket, "status": "solved"});
    t.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let solve = json!({"id": format!("solve-{ticket}-{day}"), "type": "ticket.status_changed",
        "ticket": t, "changes": {"ticket.status": {"from": "open", "to": "solved"}}});
    let (status, body) = d.post("/v1/events", &solve).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["timers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "satisfaction survey"),
        "{body}"
    );
    d.clock.set(t0() + Duration::days(day));
    assert!(server::fire_due_timers(&d.running.state).await >= 1);
    let (_, log) = d.get(&format!("/v1/decisions?ticket={ticket}")).await;
    let row = log
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "timer satisfaction survey")
        .unwrap_or_else(|| panic!("no survey in {log}"));
    let reply = row["actions"][0].clone();
    assert_eq!(reply["type"], "reply", "{reply}");
    assert_eq!(reply["quick_replies"], json!(["1", "2", "3", "4", "5"]));
    reply
}

/// `GET path` with headers; the status and the body as text.
async fn page(d: &Daemon, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = d.http.get(format!("{}{path}", d.url));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn csat_of(d: &Daemon, ticket: &str) -> Value {
    let (_, rec) = d.get(&format!("/v1/tickets/{ticket}")).await;
    rec["ticket"]["csat"].clone()
}

#[tokio::test]
async fn a_survey_link_rates_once_in_the_customers_language() {
    let d = Daemon::with().csat_secret(SECRET).start().await;
    let fields = json!({"channel": "email",
        "customer": {"first_name": "<script>alert(1)</script>", "language": "nb"}});
    let reply = solve_and_survey(&d, "L1", fields, 1).await;
    let text = reply["text"].as_str().unwrap();
    assert!(text.contains("Eller gi karakter med ett klikk"), "{text}");
    assert!(
        text.contains("5: http://127.0.0.1:8080/v1/csat/"),
        "links start with settings.public_url: {text}"
    );
    let survey = reply["survey"].as_str().unwrap();
    assert_eq!(csat_of(&d, "L1").await["survey"], survey);
    let token = token_in(text);
    let link = |score: &str| format!("/v1/csat/{token}?score={score}");
    let (_, before) = d.get("/v1/decisions?ticket=L1").await;

    // A forged link (the signature changed) and a link without a valid score store nothing.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    // An unchecked token names no ticket to trust: the browser's language it is.
    let (status, html) = page(
        &d,
        &format!("/v1/csat/{forged}?score=5"),
        &[("accept-language", "nb-NO,nb;q=0.9,en;q=0.8")],
    )
    .await;
    assert_eq!(status, 403, "{html}");
    assert!(
        html.contains(r#"data-code="survey_link_invalid""#),
        "{html}"
    );
    assert!(html.contains("Lenken virker ikke"), "{html}");
    let (status, body) = d
        .send(
            d.request(reqwest::Method::GET, &link("9"))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_query");
    assert_eq!(body["error"]["field"], "score");
    let (status, html) = page(&d, &format!("/v1/csat/{token}"), &[]).await;
    assert_eq!(status, 400);
    assert!(html.contains("score: missing"), "{html}");
    assert_eq!(csat_of(&d, "L1").await["score"], Value::Null);
    assert_eq!(d.get("/v1/decisions?ticket=L1").await.1, before);

    // The rating: a thank-you page in Norwegian, the name escaped, the score on the ticket.
    // (Other parameters, a mail system's tracking say, are left alone.)
    let (status, html) = page(
        &d,
        &format!("{}&utm_campaign=csat", link("4")),
        &[("accept-language", "en")],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"<html lang="nb" dir="ltr">"#), "{html}");
    assert!(html.contains("Du ga hjelpen vår 4 av 5."), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    let c = csat_of(&d, "L1").await;
    assert_eq!((&c["score"], &c["via"]), (&json!(4), &json!("link")));
    assert_eq!(c["rated_at"], "2026-11-24T10:00:00Z");
    let (_, rec) = d.get("/v1/tickets/L1").await;
    assert_eq!(rec["ticket"]["status"], "solved");

    // The same rating again: the same answer. Another: the first stands.
    let (status, html) = page(&d, &link("4"), &[]).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Vi har allerede vurderingen din: 4 av 5."),
        "{html}"
    );
    let (status, body) = d
        .send(
            d.request(reqwest::Method::GET, &link("4"))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"ticket_id": "L1", "survey": survey, "score": 4, "repeated": true})
    );
    let (status, html) = page(&d, &link("1"), &[]).await;
    assert_eq!(status, 409, "{html}");
    assert!(
        html.contains(r#"data-code="survey_already_rated""#),
        "{html}"
    );
    assert!(html.contains("Den første vurderingen gjelder."), "{html}");
    assert_eq!(csat_of(&d, "L1").await["score"], 4);

    // Solved again: a new survey replaces the first, whose link is closed now.
    let reopen = json!({"id": "reopen-L1", "type": "ticket.status_changed",
        "ticket": {"id": "L1", "status": "open"}, "changes": {"ticket.status": {"from": "solved", "to": "open"}}});
    assert_eq!(d.post("/v1/events", &reopen).await.0, 200);
    let second = solve_and_survey(&d, "L1", json!({}), 3).await;
    assert_ne!(second["survey"], reply["survey"]);
    let (status, html) = page(&d, &link("5"), &[]).await;
    assert_eq!(status, 410, "{html}");
    assert!(html.contains(r#"data-code="survey_closed""#), "{html}");
    assert_eq!(csat_of(&d, "L1").await["score"], Value::Null);

    // A link past its time.
    d.clock.set(t0() + Duration::days(40));
    let late = token_in(second["text"].as_str().unwrap());
    let (status, html) = page(&d, &format!("/v1/csat/{late}?score=5"), &[]).await;
    assert_eq!(status, 410, "{html}");
    assert!(
        html.contains(r#"data-code="survey_link_expired""#),
        "{html}"
    );
    assert_eq!(csat_of(&d, "L1").await["score"], Value::Null);
    d.stop().await;
}

#[tokio::test]
async fn a_rating_in_an_e_mail_reply_keeps_the_ticket_solved() {
    let d = Daemon::with().csat_secret(SECRET).start().await;
    let reply = solve_and_survey(&d, "M1", email("en"), 1).await;
    let answer = json!({"id": "m-rate", "type": "message.created", "ticket": {"id": "M1"},
        "message": {"text": "5, thanks!", "author": "customer"}});
    let (status, body) = d.post("/v1/events?explain=true", &answer).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ticket"]["status"], "solved", "{body}");
    assert_eq!(body["ticket"]["csat"]["score"], 5);
    assert_eq!(body["ticket"]["csat"]["via"], "reply");
    assert_eq!(body["trace"]["csat"]["outcome"], "recorded");
    assert!(
        !body["rules"]
            .as_array()
            .unwrap()
            .contains(&json!("reopen on customer reply")),
        "{body}"
    );
    // The link afterwards cannot change it.
    let token = token_in(reply["text"].as_str().unwrap());
    let (status, body) = d
        .send(
            d.request(reqwest::Method::GET, &format!("/v1/csat/{token}?score=2"))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "survey_already_rated");
    // An ordinary message still reopens.
    let later = json!({"id": "m-2", "type": "message.created", "ticket": {"id": "M1"},
        "message": {"text": "5 days later the app crashes again", "author": "customer"}});
    let (_, body) = d.post("/v1/events", &later).await;
    assert_eq!(body["ticket"]["status"], "open", "{body}");
    assert_eq!(body["ticket"]["csat"]["score"], 5);
    d.stop().await;
}

#[tokio::test]
async fn a_chat_handed_to_a_person_rates_its_survey_with_a_quick_reply() {
    let d = Daemon::with().csat_secret(SECRET).start().await;
    let (status, s) = d
        .post(
            "/v1/chat/sessions",
            &json!({"bot": "support", "language": "en"}),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let sid = s["id"].as_str().unwrap().to_string();
    let say = |body: Value| {
        let d = &d;
        let path = format!("/v1/chat/sessions/{sid}/messages");
        async move { d.post(&path, &body).await }
    };
    let (_, r) = say(json!({"feedback": "person"})).await;
    assert_eq!(r["handoff"], true, "{r}");
    let ticket = r["event"]["ticket_id"].as_str().unwrap().to_string();
    // Nothing to rate yet: a "5" is a line for the person.
    let (_, r) = say(json!({"text": "5"})).await;
    assert_eq!(r.get("rating"), None, "{r}");
    let (_, t) = d.get(&format!("/v1/chat/sessions/{sid}")).await;
    assert_eq!(t.get("survey"), None, "{t}");

    // The person solves the chat in the helpdesk, which tells frontdesk.
    solve_and_survey(&d, &ticket, json!({}), 1).await;
    let (_, t) = d.get(&format!("/v1/chat/sessions/{sid}")).await;
    assert_eq!(t["survey"]["pending"], true, "{t}");
    assert_eq!(
        t["survey"]["quick_replies"],
        json!(["1", "2", "3", "4", "5"])
    );

    let (status, r) = say(json!({"text": "5"})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["rating"]["score"], 5, "{r}");
    assert_eq!(r["rating"]["repeated"], false);
    let c = csat_of(&d, &ticket).await;
    assert_eq!((&c["score"], &c["via"]), (&json!(5), &json!("chat")));
    let (_, rec) = d.get(&format!("/v1/tickets/{ticket}")).await;
    assert_eq!(rec["ticket"]["channel"], "chat");
    let (_, t) = d.get(&format!("/v1/chat/sessions/{sid}")).await;
    assert_eq!(
        (&t["survey"]["pending"], &t["survey"]["score"]),
        (&json!(false), &json!(5))
    );
    // Rated: the next line is only a line, which goes on to the ticket as the customer's
    // message and reopens it, as a reply to a solved ticket does.
    let (_, rec) = d.get(&format!("/v1/tickets/{ticket}")).await;
    assert_eq!(rec["ticket"]["status"], "solved");
    let (_, r) = say(json!({"text": "2"})).await;
    assert_eq!(r.get("rating"), None, "{r}");
    assert_eq!(csat_of(&d, &ticket).await["score"], 5);
    let (_, rec) = d.get(&format!("/v1/tickets/{ticket}")).await;
    assert_eq!(rec["ticket"]["status"], "open");
    d.stop().await;
}

#[tokio::test]
async fn without_a_secret_surveys_carry_no_links() {
    let d = Daemon::start().await;
    let reply = solve_and_survey(&d, "N1", email("zh"), 1).await;
    let text = reply["text"].as_str().unwrap();
    assert!(text.contains("之间的数字"), "{text}");
    assert!(!text.contains("/v1/csat/"), "{text}");
    let (status, html) = page(
        &d,
        "/v1/csat/abc.def.1.xyz?score=5",
        &[("accept-language", "ar")],
    )
    .await;
    assert_eq!(status, 404);
    assert!(html.contains(r#"data-code="survey_links_off""#), "{html}");
    assert!(html.contains(r#"<html lang="ar" dir="rtl">"#), "{html}");
    d.stop().await;
}
