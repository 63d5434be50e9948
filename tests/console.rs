//! The admin console over real HTTP: signing in, sessions, CSRF, viewers, error pages, hostile
//! text, assets; the pages against a daemon with tickets in it.

mod common;

use chrono::Duration;
use common::{t0, Daemon};
use reqwest::header;
use reqwest::redirect::Policy;
use serde_json::{json, Value};

/// A client that shows redirects instead of following them and keeps no cookies.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in with `token`; the session cookie (`name=value`).
async fn sign_in(d: &Daemon, token: &str) -> String {
    let r = client()
        .post(format!("{}/console/login", d.url))
        .form(&[("token", token), ("next", "/console/agents")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    assert_eq!(r.headers()[header::LOCATION], "/console/agents");
    let set = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    set.split(';').next().unwrap().to_string()
}

/// `GET path` with a cookie: status and body.
async fn page(d: &Daemon, cookie: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", d.url))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The CSRF token a page carries.
fn csrf(html: &str) -> String {
    let at = html.find("\"X-CSRF-Token\": \"").expect("a CSRF token") + 17;
    html[at..at + 64].to_string()
}

/// `POST path` as a form with a cookie and (when given) a CSRF token.
async fn act(
    d: &Daemon,
    cookie: &str,
    csrf: Option<&str>,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let mut req = client()
        .post(format!("{}{path}", d.url))
        .header(header::COOKIE, cookie)
        .header("hx-request", "true")
        .form(form);
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Asks the console to set Kari's status, with a session cookie and a CSRF token.
async fn set_kari(d: &Daemon, cookie: &str, csrf: Option<&str>, status: &str) -> (u16, String) {
    act(
        d,
        cookie,
        csrf,
        "/console/agents/kari/status",
        &[("status", status)],
    )
    .await
}

async fn agent_status(d: &Daemon, id: &str) -> String {
    let (status, body) = d.get("/v1/agents").await;
    assert_eq!(status, 200);
    body.as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn without_a_session_a_visit_goes_to_the_login_page_and_the_rest_gets_401() {
    let d = Daemon::with().tokens(&["admin-secret"]).start().await;
    let r = client()
        .get(format!("{}/console/outbox?state=dead", d.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[header::LOCATION],
        "/console/login?next=%2Fconsole%2Foutbox%3Fstate%3Ddead"
    );
    for (method, path) in [
        ("GET", "/console/live"),
        ("POST", "/console/agents/kari/status"),
        ("POST", "/console/outbox/x/0"),
    ] {
        let r = client()
            .request(method.parse().unwrap(), format!("{}{path}", d.url))
            .header("hx-request", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
        assert!(r.text().await.unwrap().contains("Sign in"));
    }
    // The login page itself and the assets need nothing.
    let (status, body) = page(&d, "", "/console/login").await;
    assert_eq!(status, 200);
    assert!(body.contains("name=\"token\""));
    let r = client()
        .get(format!("{}/console/assets/htmx.min.js?v=1", d.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    d.stop().await;
}

#[tokio::test]
async fn a_token_signs_in_and_the_session_opens_every_page() {
    let d = Daemon::with()
        .tokens(&["admin-secret"])
        .viewer_tokens(&["viewer-secret"])
        .chat_tokens(&["chat-secret"])
        .start()
        .await;
    // A wrong token: the login page again, saying so, and no cookie.
    let r = client()
        .post(format!("{}/console/login", d.url))
        .form(&[("token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    assert!(r.text().await.unwrap().contains("not accepted"));
    // A chat token opens chats, not the console.
    let r = client()
        .post(format!("{}/console/login", d.url))
        .form(&[("token", "chat-secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    // A next address off the console is not followed.
    let r = client()
        .post(format!("{}/console/login", d.url))
        .form(&[("token", "viewer-secret"), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[header::LOCATION], "/console");

    let cookie = sign_in(&d, "viewer-secret").await;
    for path in [
        "/console",
        "/console/outbox",
        "/console/agents",
        "/console/bots",
        "/console/rules",
    ] {
        let (status, body) = page(&d, &cookie, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains("viewer"), "{path} names the role");
        assert!(body.contains("<main"), "{path}");
    }
    // A viewer sees no buttons that act.
    let (_, agents) = page(&d, &cookie, "/console/agents").await;
    assert!(!agents.contains("hx-post=\"/console/agents/"));
    // An unknown ticket is a page saying so, not an error dump.
    let (status, body) = page(&d, &cookie, "/console/tickets/no-such-ticket").await;
    assert_eq!(status, 404);
    assert!(
        body.contains("No ticket `no-such-ticket` has been seen."),
        "{body}"
    );
    // Unknown console pages are a page too.
    let (status, body) = page(&d, &cookie, "/console/nothing/here").await;
    assert_eq!(status, 404);
    assert!(body.contains("There is no console page here."));
    d.stop().await;
}

#[tokio::test]
async fn changes_need_an_admin_and_the_pages_csrf_token() {
    let mut d = Daemon::with()
        .tokens(&["admin-secret"])
        .viewer_tokens(&["viewer-secret"])
        .start()
        .await;
    d.token = Some("admin-secret".into());
    let admin = sign_in(&d, "admin-secret").await;
    let (_, html) = page(&d, &admin, "/console/agents").await;
    let token = csrf(&html);
    // Without the token: refused, nothing changed.
    let (status, body) = set_kari(&d, &admin, None, "online").await;
    assert_eq!(status, 403);
    assert!(body.contains("CSRF"), "{body}");
    assert_eq!(agent_status(&d, "kari").await, "offline");
    // Another session's token is not this one's.
    let other = sign_in(&d, "admin-secret").await;
    let (_, other_html) = page(&d, &other, "/console/agents").await;
    assert_ne!(csrf(&other_html), token);
    let (status, _) = set_kari(&d, &admin, Some(&csrf(&other_html)), "online").await;
    assert_eq!(status, 403);
    // With it: done, and the row comes back with the new status pressed.
    let (status, row) = set_kari(&d, &admin, Some(&token), "online").await;
    assert_eq!(status, 200, "{row}");
    assert!(
        row.contains("value=\"online\" class=\"status online\" aria-pressed=\"true\""),
        "{row}"
    );
    assert_eq!(agent_status(&d, "kari").await, "online");
    // A bad status is named.
    let (status, body) = set_kari(&d, &admin, Some(&token), "asleep").await;
    assert_eq!(status, 400);
    assert!(body.contains("asleep"));

    // A viewer, even with its own CSRF token, changes nothing.
    let viewer = sign_in(&d, "viewer-secret").await;
    let (_, html) = page(&d, &viewer, "/console/agents").await;
    let (status, body) = set_kari(&d, &viewer, Some(&csrf(&html)), "away").await;
    assert_eq!(status, 403);
    assert!(body.contains("viewer token"), "{body}");
    assert_eq!(agent_status(&d, "kari").await, "online");

    // A script with a bearer token needs no cookie and no CSRF token.
    let r = client()
        .post(format!("{}/console/agents/kari/status", d.url))
        .bearer_auth("admin-secret")
        .form(&[("status", "away")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(agent_status(&d, "kari").await, "away");
    d.stop().await;
}

#[tokio::test]
async fn an_expired_or_forged_session_is_sent_to_sign_in_again() {
    let d = Daemon::with().tokens(&["admin-secret"]).start().await;
    let cookie = sign_in(&d, "admin-secret").await;
    assert_eq!(page(&d, &cookie, "/console").await.0, 200);

    // A changed signature.
    let mut forged = cookie.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let r = client()
        .get(format!("{}/console", d.url))
        .header(header::COOKIE, &forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.ends_with("why=forged"), "{to}");
    let (_, login) = page(&d, "", &to).await;
    assert!(login.contains("not valid"), "{login}");

    // Twelve hours on the daemon's clock later, the session has ended.
    d.clock.set(t0() + Duration::hours(12));
    let r = client()
        .get(format!("{}/console/rules", d.url))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.ends_with("why=expired"), "{to}");
    let (_, login) = page(&d, "", &to).await;
    assert!(login.contains("expired"), "{login}");
    d.stop().await;
}

#[tokio::test]
async fn assets_are_embedded_compressed_cached_and_small() {
    let d = Daemon::start().await;
    // Without tokens the console is open, as the API is.
    let (status, html) = page(&d, "", "/console").await;
    assert_eq!(status, 200);
    assert!(html.contains("no tokens configured"));
    let mut total = html.len();
    let mut assets = Vec::new();
    for part in html.split("/console/assets/").skip(1) {
        assets.push(part.split('"').next().unwrap().to_string());
    }
    assert!(assets.len() >= 5, "{assets:?}");
    for a in &assets {
        let r = client()
            .get(format!("{}/console/assets/{a}", d.url))
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{a}");
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip", "{a}");
        assert!(r.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
        total += r.bytes().await.unwrap().len();
    }
    // The whole first load, compressed, within 300 KB.
    assert!(total < 300 * 1024, "{total} bytes");
    // Pages allow scripts from the console only.
    let r = client()
        .get(format!("{}/console", d.url))
        .send()
        .await
        .unwrap();
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"));
    let (status, _) = page(&d, "", "/console/assets/nothing.js").await;
    assert_eq!(status, 404);
    d.stop().await;
}

/// The figures the overview shows are the KPI API's.
#[tokio::test]
async fn the_overview_shows_the_kpi_reports_figures() {
    let d = Daemon::start().await;
    for (i, (channel, prio)) in [("email", "high"), ("chat", "normal"), ("email", "low")]
        .iter()
        .enumerate()
    {
        let (status, body) = d
            .post(
                "/v1/events",
                &json!({
                    "id": format!("e{i}"), "type": "ticket.created", "occurred_at": t0(),
                    "ticket": {"id": format!("T{i}"), "subject": "Hello", "channel": channel, "priority": prio,
                               "customer": {"email": "a@example.com"}},
                    "message": {"author": "customer", "text": "Where is my parcel?"}
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, html) = page(&d, "", "/console?range=7d").await;
    let (_, kpis): (u16, Value) = d
        .get(
            &format!(
                "/v1/reports/kpis?from={}&to={}",
                (t0() - Duration::days(6))
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .to_rfc3339(),
                (t0() + Duration::days(1))
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .to_rfc3339(),
            )
            .replace('+', "%2B"),
        )
        .await;
    let created = kpis["tickets"]["created"].as_u64().unwrap();
    assert_eq!(created, 3, "{kpis}");
    assert!(
        html.contains(&format!("<dt>Created</dt><dd>{created}")),
        "{html}"
    );
    // Filtered to one channel: that channel's figures.
    let (_, html) = page(&d, "", "/console?range=7d&dim=channel&value=email").await;
    assert!(html.contains("<dt>Created</dt><dd>2"), "{html}");
    // A filter that is not one is said so.
    let (status, html) = page(&d, "", "/console?dim=mood&value=x").await;
    assert_eq!(status, 400);
    assert!(html.contains("mood"));
    d.stop().await;
}

/// Posts an event; the answer must be 200.
async fn event(d: &Daemon, body: Value) {
    let (status, answer) = d.post("/v1/events", &body).await;
    assert_eq!(status, 200, "{answer}");
}

/// A desk with a morning's work: the example events, a chat about a stolen card (whose Slack
/// notice cannot be delivered: a dead letter), a hostile subject and message, an Arabic
/// question.
async fn seeded(d: &Daemon) {
    for name in [
        "outage-nb",
        "refund-da",
        "vip-invoice-ar",
        "chat-human-zh",
        "pending-en",
        "spam",
    ] {
        let text =
            std::fs::read_to_string(common::root().join(format!("examples/events/{name}.json")))
                .unwrap();
        let mut body: Value = serde_json::from_str(&text).unwrap();
        body["occurred_at"] = json!(t0());
        event(d, body).await;
    }
    event(
        d,
        json!({"id": "fraud-1", "type": "ticket.created", "occurred_at": t0(),
               "ticket": {"id": "F-1", "channel": "chat", "subject": "Stolen card",
                          "customer": {"name": "Ola", "language": "en"}},
               "message": {"author": "customer", "text": "My card was stolen, this is fraud"}}),
    )
    .await;
    event(
        d,
        json!({"id": "xss-1", "type": "ticket.created", "occurred_at": t0(),
               "ticket": {"id": "X-1", "channel": "email",
                          "subject": "<script>window.__xss = 1</script>\u{202e}gnp.exe",
                          "customer": {"name": "<img src=x onerror=\"window.__xss=2\">", "language": "en"}},
               "message": {"author": "customer",
                           "text": "<img src=x onerror=\"window.__xss=3\"> hello <b>bold</b>"}}),
    )
    .await;
    event(
        d,
        json!({"id": "ar-2", "type": "ticket.created", "occurred_at": t0(),
               "ticket": {"id": "A-2", "channel": "web", "subject": "أين طلبي؟",
                          "customer": {"name": "ليلى", "language": "ar"}},
               "message": {"author": "customer", "text": "أين الفاتورة الخاصة بطلبي رقم 42؟"}}),
    )
    .await;
    // A chat: a question the bot cannot answer (twice), one it answers and is told "no".
    for _ in 0..2 {
        let path = open_chat(d).await;
        let (status, _) = d
            .post(&path, &json!({"text": "What is the capital of Australia?"}))
            .await;
        assert_eq!(status, 200);
    }
    let path = open_chat(d).await;
    let (_, answer) = d.post(&path, &json!({"text": "Where is my order?"})).await;
    assert_eq!(answer["reply"]["answer_id"], "order_status", "{answer}");
    let (status, _) = d.post(&path, &json!({"feedback": "no"})).await;
    assert_eq!(status, 200);
    frontdesk::server::deliver_due(&d.running.state).await;
}

/// Opens an English chat with the example bot; the path its messages are posted to.
async fn open_chat(d: &Daemon) -> String {
    let (status, chat) = d
        .post(
            "/v1/chat/sessions",
            &json!({"bot": "support", "language": "en"}),
        )
        .await;
    assert_eq!(status, 201, "{chat}");
    format!(
        "/v1/chat/sessions/{}/messages",
        chat["id"].as_str().unwrap()
    )
}

/// The console in headless Chromium, as an admin uses it: signs in, reads every page, checks
/// the overview against the KPI API, opens a ticket's trace, redelivers a dead letter, puts an
/// agent online, runs the playground and a replay; no page shows hostile text as markup and
/// none logs an error. Screenshots go to `target/screenshots/console-*.png`.
#[tokio::test]
async fn the_console_in_headless_chromium() {
    let Some(b) = common::Browser::start().await else {
        return;
    };
    let mut d = Daemon::with()
        .tokens(&["admin-secret"])
        .viewer_tokens(&["viewer-secret"])
        .start()
        .await;
    d.token = Some("admin-secret".into());
    seeded(&d).await;
    let base = d.url.clone();
    let (_, dead) = d.get("/v1/outbox?state=dead").await;
    let dead_id = dead[0]["id"].as_str().expect("a dead letter").to_string();

    // Signing in: the login page, then back where the visit was going.
    b.goto(&format!("{base}/console")).await;
    b.wait_for("input[name=token]").await;
    b.screenshot("console-login").await;
    b.fill("input[name=token]", "admin-secret").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text("h1", "Overview").await;

    // The overview's figures are the KPI API's for the same days.
    let (_, kpis) = d
        .get(&format!(
            "/v1/reports/kpis?from={}&to={}",
            (t0() - Duration::days(6)).format("%Y-%m-%dT00:00:00Z"),
            (t0() + Duration::days(1)).format("%Y-%m-%dT00:00:00Z"),
        ))
        .await;
    let figure = |label: &str| {
        format!(
            "[...document.querySelectorAll('.figure')].find(f => f.querySelector('dt').textContent === '{label}').querySelector('dd').firstChild.textContent.trim()"
        )
    };
    assert_eq!(
        b.eval(&figure("Created")).await,
        kpis["tickets"]["created"].to_string()
    );
    assert_eq!(
        b.eval(&figure("Backlog at the end")).await,
        kpis["tickets"]["backlog"].to_string()
    );
    // The live strip fills in from the server's stream.
    b.wait_for("#counters [data-counter=open_tickets]").await;
    assert_eq!(
        b.text("#counters [data-counter=dead_letters]").await.trim(),
        "1"
    );
    b.until("document.querySelectorAll('.chart .u-wrap, .chart canvas').length >= 3")
        .await;
    b.screenshot("console-overview").await;

    // Tickets: the search finds the Arabic one by a word of its message.
    b.goto(&format!(
        "{base}/console/tickets?text=%D8%A7%D9%84%D9%81%D8%A7%D8%AA%D9%88%D8%B1%D8%A9"
    ))
    .await;
    b.wait_for("table tbody tr").await;
    assert_eq!(b.count("table tbody tr").await, 1);
    assert!(b.text("table tbody").await.contains("A-2"));
    b.goto(&format!("{base}/console/tickets")).await;
    b.wait_for("table tbody tr").await;
    b.screenshot("console-tickets").await;

    // Hostile text is text: nothing ran, and the page shows the characters.
    b.goto(&format!("{base}/console/tickets/X-1")).await;
    b.wait_for(".timeline").await;
    assert_eq!(b.eval("window.__xss === undefined").await, true);
    assert!(b
        .text("h1")
        .await
        .contains("<script>window.__xss = 1</script>"));
    assert_eq!(b.count(".timeline img, h1 script, .message b").await, 0);

    // A ticket's trace: every rule with its outcome.
    b.goto(&format!("{base}/console/tickets/F-1")).await;
    b.wait_for(".timeline").await;
    b.click(".timeline button[hx-get]").await;
    b.wait_for(".explained table.trace tbody tr").await;
    assert!(b.count(".explained table.trace tbody tr").await > 5);
    assert!(b
        .text(".explained")
        .await
        .contains("do not listen to this event"));
    assert!(b.text(".explained").await.contains("security incidents"));
    b.screenshot("console-ticket-trace").await;

    // The SLA board.
    b.goto(&format!("{base}/console/sla")).await;
    b.wait_for("#board h2").await;
    b.screenshot("console-sla").await;

    // The dead letter, redelivered.
    b.goto(&format!("{base}/console/outbox?state=dead")).await;
    b.wait_for("button[name=redeliver]").await;
    b.screenshot("console-outbox").await;
    b.click("button[name=redeliver]").await;
    b.wait_text("td .ok", "Queued for delivery now").await;
    let (_, pending) = d.get("/v1/outbox?state=pending").await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == dead_id.as_str()),
        "{pending}"
    );

    // Kari goes online.
    b.goto(&format!("{base}/console/agents")).await;
    b.wait_for("form.status-toggle").await;
    b.click("form[hx-post='/console/agents/kari/status'] button[value=online]")
        .await;
    b.wait_for(
        "form[hx-post='/console/agents/kari/status'] button[value=online][aria-pressed=true]",
    )
    .await;
    let (_, agents) = d.get("/v1/agents").await;
    let kari = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "kari")
        .unwrap();
    assert_eq!(kari["status"], "online");
    b.screenshot("console-agents").await;

    // Bots.
    b.goto(&format!("{base}/console/bots")).await;
    b.wait_for("section.bot").await;
    let bots = b.text("section.bot").await;
    assert!(bots.contains("what is the capital of australia"), "{bots}");
    assert!(bots.contains("order_status"), "{bots}");
    b.screenshot("console-bots").await;

    // Rules and the playground: an example decided, nothing stored.
    b.goto(&format!("{base}/console/rules")).await;
    b.wait_for("#playground textarea").await;
    b.click("#playground button[type=submit]").await;
    b.wait_for("#playground-result table.trace").await;
    assert!(b
        .text("#playground-result")
        .await
        .contains("Nothing was stored"));
    b.screenshot("console-rules-playground").await;

    // Replay against the active pack's own directory: nothing changes.
    b.goto(&format!("{base}/console/replay")).await;
    b.fill("input[name=rules]", "rules").await;
    b.click("form button[type=submit]").await;
    b.wait_for("#replay-result table").await;
    assert!(b
        .text("#replay-result")
        .await
        .contains("None: the candidate decides every ticket as recorded."));
    b.screenshot("console-replay").await;

    assert_eq!(b.console_errors().await, Vec::<String>::new());
    b.close().await;
    d.stop().await;
}

#[tokio::test]
async fn a_dead_letter_is_redelivered_from_the_outbox_page() {
    let mut d = Daemon::with().tokens(&["admin-secret"]).start().await;
    d.token = Some("admin-secret".into());
    seeded(&d).await;
    let (_, dead) = d.get("/v1/outbox?state=dead").await;
    let id = dead[0]["id"].as_str().unwrap().to_string();
    let cookie = sign_in(&d, "admin-secret").await;
    let (status, html) = page(&d, &cookie, "/console/outbox?state=dead").await;
    assert_eq!(status, 200);
    let post = format!("/console/outbox/{}", id.replace('/', "%2F"));
    assert!(html.contains(&format!("hx-post=\"{post}\"")), "{html}");
    let started = std::time::Instant::now();
    let (status, body) = act(&d, &cookie, Some(&csrf(&html)), &post, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert!(body.contains("Queued for delivery now"));
    let (_, pending) = d.get("/v1/outbox?state=pending").await;
    assert_eq!(pending[0]["id"], id.as_str());
    // An unknown row is a 404 with the page's message.
    let (status, body) = act(
        &d,
        &cookie,
        Some(&csrf(&html)),
        "/console/outbox/nothing%2F1",
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("no outbox row"), "{body}");
    d.stop().await;
}

#[tokio::test]
async fn an_unanswered_question_comes_with_the_lines_that_teach_the_bot() {
    let d = Daemon::start().await;
    seeded(&d).await;
    let (status, html) = page(&d, "", "/console/bots").await;
    assert_eq!(status, 200);
    assert!(html.contains("what is the capital of australia"), "{html}");
    // The download of a new entry and of the closest entry, as the page links them.
    let href = |needle: &str| {
        let at = html
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {html}"));
        let start = html[..at].rfind("href=\"").unwrap() + 6;
        let end = start + html[start..].find('"').unwrap();
        html[start..end]
            .replace("&amp;", "&")
            .replace("&#x2f;", "/")
    };
    let (status, yaml) = page(&d, "", &href("as a new entry")).await;
    assert_eq!(status, 200);
    assert!(yaml.contains("- id: new-entry"), "{yaml}");
    assert!(
        yaml.contains("\"what is the capital of australia\""),
        "{yaml}"
    );
    assert!(yaml.contains("bots/support.yaml"), "{yaml}");
    let (status, yaml) = page(&d, "", &href("add to")).await;
    assert_eq!(status, 200);
    assert!(yaml.contains("under the entry"), "{yaml}");
    // An entry the bot does not have, and a bot that does not exist.
    let (status, _) = page(
        &d,
        "",
        "/console/bots/support/suggestion?question=x&entry=nope",
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = page(&d, "", "/console/bots/nobody/suggestion?question=x").await;
    assert_eq!(status, 404);
    d.stop().await;
}
