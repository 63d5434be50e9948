//! Outbound delivery against a real local HTTP server that records what it got (and fails on
//! purpose), and a local SMTP sink (plain, STARTTLS or implicit TLS with a certificate made at
//! test time, AUTH PLAIN). Time is a manual clock: retries are driven by moving it.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::routing::any;
use axum::Router;
use chrono::Duration;
use common::recorder::{start_recorder, Hit};
use common::{t0, Daemon};
use frontdesk::adapters::signature::{Scheme, Verifier};
use frontdesk::delivery::{ConnectorConfig, SmtpConfig, SmtpTls};
use frontdesk::server;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A mail the sink accepted.
#[derive(Debug, Clone)]
struct Mail {
    /// The DATA, lines joined with `\n`.
    data: String,
    /// Whether the session was encrypted when the mail was sent.
    encrypted: bool,
    /// The AUTH PLAIN credentials given in the session (`user`, `password`).
    auth: Option<(String, String)>,
}

/// How the sink talks.
#[derive(Clone, Default)]
struct SinkOptions {
    /// Offers STARTTLS with this certificate.
    starttls: Option<tokio_rustls::TlsAcceptor>,
    /// TLS from the first byte (implicit TLS, like port 465).
    implicit: Option<tokio_rustls::TlsAcceptor>,
    /// Offers AUTH PLAIN (only once encrypted) and takes mail only after it.
    auth: bool,
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// A certificate for 127.0.0.1 made now, as an acceptor for the sink and its PEM for the
/// client to trust.
fn self_signed() -> (tokio_rustls::TlsAcceptor, String) {
    use tokio_rustls::rustls;
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ck.cert.pem(),
    )
}

/// One SMTP conversation: EHLO, STARTTLS (when offered), AUTH PLAIN, MAIL, RCPT, DATA, QUIT.
async fn smtp_session(
    sock: tokio::net::TcpStream,
    opts: SinkOptions,
    store: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    use base64::Engine as _;
    let mut encrypted = false;
    let mut conn: BufReader<Box<dyn Io>> = match &opts.implicit {
        Some(acceptor) => {
            encrypted = true;
            BufReader::new(Box::new(acceptor.accept(sock).await?))
        }
        None => BufReader::new(Box::new(sock)),
    };
    conn.write_all(b"220 sink ready\r\n").await?;
    let mut auth: Option<(String, String)> = None;
    let mut data: Option<String> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(d) = data.as_mut() {
            if line == "." {
                store.lock().unwrap().push(Mail {
                    data: data.take().unwrap(),
                    encrypted,
                    auth: auth.clone(),
                });
                conn.write_all(b"250 queued\r\n").await?;
            } else {
                d.push_str(line);
                d.push('\n');
            }
            continue;
        }
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => {
                let mut offers = vec!["sink"];
                if opts.starttls.is_some() && !encrypted {
                    offers.push("STARTTLS");
                }
                if opts.auth && encrypted {
                    offers.push("AUTH PLAIN");
                }
                let n = offers.len();
                offers
                    .iter()
                    .enumerate()
                    .map(|(i, o)| format!("250{}{o}\r\n", if i + 1 == n { ' ' } else { '-' }))
                    .collect()
            }
            "HELO" => "250 sink\r\n".into(),
            "STARTTLS" => match (&opts.starttls, encrypted) {
                (Some(acceptor), false) => {
                    conn.write_all(b"220 go ahead\r\n").await?;
                    let plain = conn.into_inner();
                    conn = BufReader::new(Box::new(acceptor.accept(plain).await?));
                    encrypted = true;
                    // RFC 3207: the client starts over after the handshake.
                    auth = None;
                    continue;
                }
                _ => "502 not offered\r\n".into(),
            },
            "AUTH" if opts.auth && encrypted => {
                let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
                let decoded = words
                    .next()
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                    .map(|b| String::from_utf8_lossy(&b).into_owned());
                match (mechanism.as_str(), decoded) {
                    ("PLAIN", Some(plain)) => {
                        let parts: Vec<&str> = plain.split('\0').collect();
                        if parts.len() == 3 {
                            auth = Some((parts[1].to_string(), parts[2].to_string()));
                            "235 authenticated\r\n".into()
                        } else {
                            "501 malformed\r\n".into()
                        }
                    }
                    _ => "504 only PLAIN with an initial response\r\n".into(),
                }
            }
            "MAIL" if opts.auth && auth.is_none() => "530 authenticate first\r\n".into(),
            "DATA" => {
                data = Some(String::new());
                "354 go ahead\r\n".into()
            }
            "QUIT" => {
                conn.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "250 ok\r\n".into(),
        };
        conn.write_all(reply.as_bytes()).await?;
    }
}

/// Accepts mail and keeps each message with how it came.
async fn start_smtp_sink(opts: SinkOptions) -> (std::net::SocketAddr, Arc<Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            // A client that gives up mid-handshake ends its session, not the sink.
            tokio::spawn(smtp_session(sock, opts.clone(), store.clone()));
        }
    });
    (addr, mails)
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn deliveries_retry_back_off_die_and_redeliver() {
    let (hook, rec) = start_recorder(2).await;
    let (smtp, mails) = start_smtp_sink(SinkOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let rules: PathBuf = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("r.yaml"),
        format!(
            r##"
rules:
  - name: tell everyone
    on: ticket.created
    then:
      - webhook: {{ url: "{hook}/ok", body: {{ ticket: "{{{{ ticket.id }}}}", priority: "{{{{ ticket.priority }}}}" }} }}
      - webhook: {{ url: "{hook}/flaky", body: {{ n: 1 }} }}
      - webhook: {{ url: "{hook}/gone", body: {{ n: 2 }} }}
      - notify: {{ channel: slack, to: "#support", text: "New ticket {{{{ ticket.id }}}}" }}
      - notify: {{ channel: email, to: "boss@example.org", text: "Ticket {{{{ ticket.id }}}} arrived" }}
      - notify: {{ channel: email, to: "{{{{ ticket.customer.email }}}}", subject: "Re: {{{{ ticket.subject }}}}", text: "We are on it" }}
"##
        ),
    )
    .unwrap();
    let d = Daemon::with()
        .rules(&rules)
        .sqlite(&dir.path().join("fd.db"))
        .connectors(ConnectorConfig {
            outbound_allow: vec!["127.0.0.0/8".into()],
            webhook_secret: Some(SECRET.into()),
            slack: [("#support".to_string(), format!("{hook}/slack"))].into(),
            smtp: Some(SmtpConfig {
                url: format!("smtp://{smtp}"),
                from: "frontdesk@example.org".into(),
                ..SmtpConfig::default()
            }),
            timeout: None,
            ..ConnectorConfig::default()
        })
        .start()
        .await;
    let clock = d.clock.clone();
    let event = json!({"id": "e1", "type": "ticket.created", "ticket": {"id": "42", "priority": "high",
        "subject": "Parcel", "customer": {"email": "jane@example.com"}}});
    assert_eq!(d.post("/v1/events", &event).await.0, 200);
    // A repeated event creates no second set of deliveries.
    d.post("/v1/events", &event).await;

    assert_eq!(server::deliver_due(&d.running.state).await, 6);
    {
        let hits = rec.hits.lock().unwrap();
        let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths.len(), 4, "{paths:?}");
        let ok = hits.iter().find(|h| h.path == "ok").unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&ok.body).unwrap(),
            json!({"ticket": "42", "priority": "high"})
        );
        assert_eq!(ok.headers["webhook-id"], "e1/0");
        let verifier = Verifier::new(Scheme::StandardWebhooks, &[SECRET]).unwrap();
        verifier
            .verify(&ok.headers, &ok.body, t0())
            .expect("the webhook is signed");
        let slack = hits.iter().find(|h| h.path == "slack").unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&slack.body).unwrap(),
            json!({"text": "New ticket 42"})
        );
    }
    let mut mail = mails.lock().unwrap().clone();
    assert_eq!(mail.len(), 2);
    mail.sort_by_key(|m| !m.data.contains("boss@example.org"));
    assert!(
        mail[0].data.contains("Ticket 42 arrived")
            && mail[0].data.contains("Subject: [frontdesk] ticket 42"),
        "{}",
        mail[0].data
    );
    assert!(!mail[0].encrypted && mail[0].auth.is_none());
    // The address and the subject from the ticket.
    assert!(
        mail[1].data.contains("To: jane@example.com")
            && mail[1].data.contains("Subject: Re: Parcel")
            && mail[1].data.contains("We are on it"),
        "{}",
        mail[1].data
    );

    let (_, outbox) = d.get("/v1/outbox?state=dead").await;
    assert_eq!(
        outbox.as_array().unwrap().len(),
        1,
        "the 404 is not retried: {outbox}"
    );
    assert_eq!(outbox[0]["id"], "e1/2");
    assert!(outbox[0]["last_error"].as_str().unwrap().contains("404"));

    // The flaky hook asked for 30 s: nothing before that.
    clock.set(t0() + Duration::seconds(29));
    assert_eq!(server::deliver_due(&d.running.state).await, 0);
    clock.set(t0() + Duration::seconds(31));
    assert_eq!(
        server::deliver_due(&d.running.state).await,
        1,
        "second attempt"
    );
    clock.set(t0() + Duration::seconds(62));
    assert_eq!(
        server::deliver_due(&d.running.state).await,
        1,
        "third attempt succeeds"
    );
    clock.set(t0() + Duration::hours(2));
    assert_eq!(
        server::deliver_due(&d.running.state).await,
        0,
        "nothing left"
    );
    let flaky: Vec<String> = rec
        .hits
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.path == "flaky")
        .map(|h| h.headers["webhook-id"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        flaky,
        ["e1/1", "e1/1", "e1/1"],
        "the delivery id is stable across retries"
    );

    // A dead letter goes back to pending on request.
    let (status, _) = d
        .call(reqwest::Method::POST, "/v1/outbox/e1%2F2/redeliver", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(server::deliver_due(&d.running.state).await, 1);
    let (status, _) = d
        .call(reqwest::Method::POST, "/v1/outbox/nope/redeliver", None)
        .await;
    assert_eq!(status, 404);
    let (_, delivered) = d.get("/v1/outbox?state=delivered").await;
    assert_eq!(delivered.as_array().unwrap().len(), 5);
    d.stop().await;
}

#[tokio::test]
async fn a_dead_peer_is_retried_until_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    // Nothing listens on port 9 of 127.0.0.1 (discard; refused).
    std::fs::write(rules.join("r.yaml"), "rules:\n  - { name: r, on: ticket.created, then: [ { webhook: { url: \"http://127.0.0.1:9/x\" } } ] }\n").unwrap();
    let d = Daemon::with()
        .rules(&rules)
        .sqlite(&dir.path().join("fd.db"))
        .start()
        .await;
    let clock = d.clock.clone();
    d.post(
        "/v1/events",
        &json!({"id": "e", "type": "ticket.created", "ticket": {"id": "1"}}),
    )
    .await;
    let mut attempts = 0;
    for hour in 0..48 {
        clock.set(t0() + Duration::hours(hour));
        attempts += server::deliver_due(&d.running.state).await;
    }
    assert_eq!(attempts, d.running.state.connectors.max_attempts as usize);
    let dead = d
        .running
        .state
        .store
        .outbox(Some("dead"), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("gave up after 10 attempts"),
        "{:?}",
        dead[0].last_error
    );
    d.stop().await;
}

/// Tickets that came from Chatwoot or Zammad get their actions through the helpdesk's API when
/// the daemon has its credentials: each action becomes that API's request, with its token.
#[tokio::test]
async fn helpdesk_tickets_get_their_actions_through_the_helpdesks_api() {
    let (api, rec) = start_recorder(0).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("r.yaml"),
        r#"
rules:
  - name: answer and hand over
    on: [message.created, ticket.created, ticket.updated]
    then:
      - reply: { text: "Thanks, a person will take it from here." }
      - internal_note: { text: "Handed over by frontdesk." }
      - add_tags: [seen]
      - set_priority: high
      - handoff:
"#,
    )
    .unwrap();
    let mut helpdesks = std::collections::HashMap::new();
    for (name, token) in [("chatwoot", "cw-token"), ("zammad", "zm-token")] {
        helpdesks.insert(
            name.to_string(),
            frontdesk::delivery::HelpdeskApi {
                url: format!("{api}/{name}"),
                token: token.into(),
            },
        );
    }
    let d = Daemon::with()
        .rules(&rules)
        .sqlite(&dir.path().join("fd.db"))
        .connectors(ConnectorConfig {
            outbound_allow: vec!["127.0.0.0/8".into()],
            helpdesks,
            ..ConnectorConfig::default()
        })
        .start()
        .await;
    let payloads = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/payloads");
    let mut chatwoot: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{payloads}/chatwoot/message_created.reconstructed.json"
        ))
        .unwrap(),
    )
    .unwrap();
    chatwoot["content"] = json!("My order never arrived");
    chatwoot["account"]["id"] = json!(3);
    chatwoot["conversation"]["id"] = json!(17);
    let zammad: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{payloads}/zammad/trigger_webhook.json")).unwrap(),
    )
    .unwrap();
    for (adapter, body) in [("chatwoot", &chatwoot), ("zammad", &zammad)] {
        let (status, answer) = d.post(&format!("/v1/inbound/{adapter}"), body).await;
        assert_eq!(status, 200, "{adapter}: {answer}");
    }
    let (_, outbox) = d.get("/v1/outbox").await;
    let rows = outbox.as_array().unwrap();
    // Chatwoot: reply, note, labels, priority, handoff. Zammad: reply, note, tag, priority
    // (a handoff means nothing there).
    assert_eq!(rows.len(), 9, "{outbox:#}");
    assert!(
        rows.iter().all(|r| r["target"]["helpdesk"].is_string()),
        "{outbox:#}"
    );
    assert_eq!(server::deliver_due(&d.running.state).await, 9);

    let hits = rec.hits.lock().unwrap();
    let find = |method: &str, path: &str| -> (Value, HeaderMap) {
        let h = hits
            .iter()
            .find(|h| h.method == method && h.path == path)
            .unwrap_or_else(|| {
                let seen: Vec<String> = hits
                    .iter()
                    .map(|h| format!("{} {}", h.method, h.path))
                    .collect();
                panic!("no {method} {path} in {seen:#?}")
            });
        (serde_json::from_slice(&h.body).unwrap(), h.headers.clone())
    };
    let conv = "chatwoot/api/v1/accounts/3/conversations/17";
    let (reply, headers) = find("POST", &format!("{conv}/messages"));
    assert_eq!(headers["api_access_token"], "cw-token");
    assert_eq!(reply["content"], "Thanks, a person will take it from here.");
    assert_eq!(
        (&reply["message_type"], &reply["private"]),
        (&json!("outgoing"), &json!(false))
    );
    let notes: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.path == format!("{conv}/messages"))
        .collect();
    assert_eq!(notes.len(), 2, "the reply and the private note");
    let (labels, _) = find("POST", &format!("{conv}/labels"));
    assert!(
        labels["labels"]
            .as_array()
            .unwrap()
            .contains(&json!("seen")),
        "{labels}"
    );
    assert_eq!(
        find("POST", &format!("{conv}/toggle_priority")).0,
        json!({"priority": "high"})
    );
    assert_eq!(
        find("POST", &format!("{conv}/toggle_status")).0,
        json!({"status": "open"})
    );

    let ticket = zammad["ticket"]["id"].as_u64().unwrap();
    let articles: Vec<Value> = hits
        .iter()
        .filter(|h| h.path == "zammad/api/v1/ticket_articles")
        .map(|h| serde_json::from_slice(&h.body).unwrap())
        .collect();
    assert_eq!(articles.len(), 2, "{articles:?}");
    let reply = articles.iter().find(|a| a["internal"] == false).unwrap();
    assert_eq!(reply["ticket_id"], ticket);
    assert_eq!(reply["body"], "Thanks, a person will take it from here.");
    let (_, headers) = find("POST", "zammad/api/v1/ticket_articles");
    assert_eq!(headers["authorization"], "Token token=zm-token");
    assert_eq!(
        find("PUT", &format!("zammad/api/v1/tickets/{ticket}")).0,
        json!({"priority": "3 high"})
    );
    assert_eq!(
        find("POST", "zammad/api/v1/tags/add").0,
        json!({"object": "Ticket", "o_id": ticket, "item": "seen"})
    );
    assert_eq!(hits.len(), 9, "one request per row, nothing else");
}

/// A daemon whose one rule e-mails on every new ticket through `smtp`; one ticket is posted and
/// the outbox worker run once. Returns the e-mail's outbox row after that attempt.
async fn mail_one_ticket(smtp: SmtpConfig) -> frontdesk::store::OutboxRow {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("r.yaml"),
        "rules:\n  - { name: mail, on: ticket.created, then: [ { notify: { channel: email, to: \"desk@example.org\", text: \"Ticket {{ ticket.id }} needs you\" } } ] }\n",
    )
    .unwrap();
    let d = Daemon::with()
        .rules(&rules)
        .sqlite(&dir.path().join("fd.db"))
        .connectors(ConnectorConfig {
            outbound_allow: vec!["127.0.0.0/8".into()],
            smtp: Some(smtp),
            ..ConnectorConfig::default()
        })
        .start()
        .await;
    let (status, _) = d
        .post(
            "/v1/events",
            &json!({"id": "m1", "type": "ticket.created", "ticket": {"id": "7"}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(server::deliver_due(&d.running.state).await, 1);
    let rows = d.running.state.store.outbox(None, 10).await.unwrap();
    d.stop().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.into_iter().next().unwrap()
}

/// The sink's certificate written where `FRONTDESK_SMTP_CA_FILE` would point.
fn ca_file(dir: &tempfile::TempDir, pem: &str) -> PathBuf {
    let path = dir.path().join("relay-ca.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
async fn mail_goes_over_starttls_with_auth_to_a_relay_with_a_private_certificate() {
    let (acceptor, pem) = self_signed();
    let (addr, mails) = start_smtp_sink(SinkOptions {
        starttls: Some(acceptor),
        auth: true,
        ..SinkOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let row = mail_one_ticket(SmtpConfig {
        url: format!("smtp://{addr}"),
        from: "frontdesk@example.org".into(),
        tls: Some(SmtpTls::Required),
        username: Some("desk".into()),
        password: Some("s3cret pass".into()),
        ca_file: Some(ca_file(&dir, &pem)),
    })
    .await;
    assert_eq!(row.state, "delivered", "{row:?}");
    let mail = mails.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].encrypted, "sent after STARTTLS");
    assert_eq!(
        mail[0].auth,
        Some(("desk".to_string(), "s3cret pass".to_string()))
    );
    assert!(
        mail[0].data.contains("Ticket 7 needs you") && mail[0].data.contains("desk@example.org"),
        "{}",
        mail[0].data
    );
}

#[tokio::test]
async fn mail_goes_over_implicit_tls() {
    let (acceptor, pem) = self_signed();
    let (addr, mails) = start_smtp_sink(SinkOptions {
        implicit: Some(acceptor),
        auth: true,
        ..SinkOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let row = mail_one_ticket(SmtpConfig {
        url: format!("smtps://{addr}"),
        from: "frontdesk@example.org".into(),
        username: Some("desk".into()),
        password: Some("pw".into()),
        ca_file: Some(ca_file(&dir, &pem)),
        ..SmtpConfig::default()
    })
    .await;
    assert_eq!(row.state, "delivered", "{row:?}");
    let mail = mails.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].encrypted);
    assert_eq!(mail[0].auth, Some(("desk".to_string(), "pw".to_string())));
}

#[tokio::test]
async fn a_relay_without_starttls_gets_no_mail_when_tls_is_required() {
    let (addr, mails) = start_smtp_sink(SinkOptions::default()).await;
    let row = mail_one_ticket(SmtpConfig {
        url: format!("smtp://{addr}"),
        from: "frontdesk@example.org".into(),
        tls: Some(SmtpTls::Required),
        ..SmtpConfig::default()
    })
    .await;
    assert_eq!(row.state, "pending", "retried later: {row:?}");
    let error = row.last_error.unwrap();
    assert_eq!(
        error,
        format!("SMTP relay {addr} does not offer STARTTLS, and FRONTDESK_SMTP_TLS=required: nothing was sent. Turn STARTTLS on at the relay, or use its implicit-TLS port with smtps://")
    );
    assert!(mails.lock().unwrap().is_empty());

    // Opportunistic TLS takes the same relay in plain text.
    let row = mail_one_ticket(SmtpConfig {
        url: format!("smtp://{addr}"),
        from: "frontdesk@example.org".into(),
        tls: Some(SmtpTls::Opportunistic),
        ..SmtpConfig::default()
    })
    .await;
    assert_eq!(row.state, "delivered", "{row:?}");
    let mail = mails.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(!mail[0].encrypted);
}

#[tokio::test]
async fn an_untrusted_relay_certificate_is_refused_and_names_the_ca_setting() {
    let (acceptor, _pem) = self_signed();
    let (addr, mails) = start_smtp_sink(SinkOptions {
        starttls: Some(acceptor),
        auth: true,
        ..SinkOptions::default()
    })
    .await;
    let row = mail_one_ticket(SmtpConfig {
        url: format!("smtp://{addr}"),
        from: "frontdesk@example.org".into(),
        tls: Some(SmtpTls::Required),
        username: Some("desk".into()),
        password: Some("pw".into()),
        ..SmtpConfig::default()
    })
    .await;
    assert_eq!(row.state, "pending", "{row:?}");
    let error = row.last_error.unwrap();
    assert!(
        error.starts_with(&format!("SMTP {addr}: ")) && error.contains("FRONTDESK_SMTP_CA_FILE"),
        "{error}"
    );
    assert!(mails.lock().unwrap().is_empty(), "no password, no mail");
}

/// A server that answers every request with a redirect to `to`.
async fn start_redirector(to: String) -> String {
    let app = Router::new().route(
        "/{*path}",
        any(move || {
            let to = to.clone();
            async move { axum::response::Redirect::temporary(&to) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Starts a daemon whose rule sends a webhook to each of `urls` for a new ticket, with
/// `allow` as FRONTDESK_OUTBOUND_ALLOW; delivers once; returns the outbox rows by URL order.
async fn webhooks_with_fence(urls: &[String], allow: &[&str]) -> Vec<frontdesk::store::OutboxRow> {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let actions: Vec<String> = urls
        .iter()
        .map(|u| format!("{{ webhook: {{ url: \"{u}\" }} }}"))
        .collect();
    std::fs::write(
        rules.join("r.yaml"),
        format!(
            "rules:\n  - {{ name: r, on: ticket.created, then: [ {} ] }}\n",
            actions.join(", ")
        ),
    )
    .unwrap();
    let d = Daemon::with()
        .rules(&rules)
        .sqlite(&dir.path().join("fd.db"))
        .connectors(ConnectorConfig {
            outbound_allow: allow.iter().map(|s| s.to_string()).collect(),
            ..ConnectorConfig::default()
        })
        .start()
        .await;
    d.post(
        "/v1/events",
        &json!({"id": "e", "type": "ticket.created", "ticket": {"id": "1"}}),
    )
    .await;
    server::deliver_due(&d.running.state).await;
    let mut rows = d.running.state.store.outbox(None, 10).await.unwrap();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    d.stop().await;
    rows
}

/// Outbound calls cannot be turned against the network the daemon runs in: loopback (and
/// private, link-local...) addresses are refused unless allowed, whether written as an address,
/// reached through a name, or redirected to; a refusal fails for good, with the reason.
#[tokio::test]
async fn outbound_calls_to_internal_addresses_are_refused_unless_allowed() {
    let (hook, rec) = start_recorder(0).await;
    let port = hook.rsplit(':').next().unwrap().to_string();

    // Nothing allowed: an address, a name that resolves to loopback.
    let rows = webhooks_with_fence(
        &[
            format!("{hook}/literal"),
            format!("http://localhost:{port}/named"),
        ],
        &[],
    )
    .await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let error = row.last_error.as_deref().unwrap_or_default();
        assert_eq!(row.state, "dead", "{row:?}");
        assert_eq!(row.attempts, 1, "not retried: {row:?}");
        assert!(
            error.contains("loopback address") && error.contains("FRONTDESK_OUTBOUND_ALLOW"),
            "{error}"
        );
    }
    assert!(rows[1]
        .last_error
        .as_deref()
        .unwrap()
        .contains("localhost resolves to"));
    assert!(
        rec.hits.lock().unwrap().is_empty(),
        "nothing reached the server"
    );

    // 127.0.0.1 allowed: delivered there, but a redirect to another loopback address is not
    // followed.
    let hop = start_redirector(format!("http://127.0.0.2:{port}/landed")).await;
    let rows = webhooks_with_fence(
        &[format!("{hook}/allowed"), format!("{hop}/hop")],
        &["127.0.0.1/32"],
    )
    .await;
    assert_eq!(rows[0].state, "delivered", "{:?}", rows[0]);
    let error = rows[1].last_error.as_deref().unwrap_or_default();
    assert_eq!(rows[1].state, "dead", "{:?}", rows[1]);
    assert!(
        error.contains("redirected to http://127.0.0.2") && error.contains("loopback"),
        "{error}"
    );
    let paths: Vec<String> = rec
        .hits
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.path.clone())
        .collect();
    assert_eq!(paths, ["allowed"]);
}

/// A webhook's own headers reach the receiver; a secret one is read from the daemon's
/// environment at delivery (never written in the rule, the decision or the outbox), and one
/// whose secret is not set fails for good, naming the variable.
#[tokio::test]
async fn webhook_headers_carry_secrets_from_the_environment() {
    let (hook, rec) = start_recorder(0).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("r.yaml"),
        format!(
            r#"rules:
  - name: r
    on: ticket.created
    then:
      - webhook:
          url: "{hook}/crm"
          headers: {{ X-Source: frontdesk, Authorization: {{ secret: crm_token }} }}
      - webhook:
          url: "{hook}/other"
          headers: {{ X-Api-Key: {{ secret: OTHER_KEY }} }}
"#
        ),
    )
    .unwrap();
    let secrets = frontdesk::delivery::outbound_secrets([
        (
            "FRONTDESK_OUTBOUND_SECRET_CRM_TOKEN".to_string(),
            "Bearer s3cr3t-value".to_string(),
        ),
        ("PATH".to_string(), "/usr/bin".to_string()),
    ]);
    assert_eq!(secrets.len(), 1);
    let d = Daemon::with()
        .rules(&rules)
        .sqlite(&dir.path().join("fd.db"))
        .connectors(ConnectorConfig {
            outbound_allow: vec!["127.0.0.0/8".into()],
            outbound_secrets: secrets,
            ..ConnectorConfig::default()
        })
        .start()
        .await;
    let (status, decision) = d
        .post(
            "/v1/events",
            &json!({"id": "e", "type": "ticket.created", "ticket": {"id": "1"}}),
        )
        .await;
    assert_eq!(status, 200, "{decision}");
    assert_eq!(
        decision["actions"][0]["headers"],
        json!({"Authorization": {"secret": "CRM_TOKEN"}, "X-Source": "frontdesk"}),
        "the decision names the secret, never its value"
    );
    server::deliver_due(&d.running.state).await;
    let hits = rec.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].path, "crm");
    assert_eq!(hits[0].headers["authorization"], "Bearer s3cr3t-value");
    assert_eq!(hits[0].headers["x-source"], "frontdesk");
    let mut rows = d.running.state.store.outbox(None, 10).await.unwrap();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(rows[0].state, "delivered");
    assert_eq!(rows[1].state, "dead");
    let error = rows[1].last_error.as_deref().unwrap();
    assert!(
        error.contains("X-Api-Key") && error.contains("FRONTDESK_OUTBOUND_SECRET_OTHER_KEY"),
        "{error}"
    );
    let outbox = serde_json::to_string(&rows).unwrap();
    assert!(!outbox.contains("s3cr3t"), "{outbox}");
    d.stop().await;
}
