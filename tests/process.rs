//! The daemon as an operator runs it: the curl examples, signals, exit codes.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::process::{client, get_text, ready, signal};
use common::{root, spawn};

#[test]
fn the_curl_examples_work_as_written() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipping: curl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&dir.path().join("fd.db"), &[]);
    let out = Command::new("bash")
        .arg(root().join("examples/curl/demo.sh"))
        .env("FRONTDESK_URL", &p.url)
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "\"replayed\":true",
        "outage is urgent",
        "\"hash\"",
        "\"code\":\"invalid_event\"",
        "\"field\":\"ticket.priority\"",
    ] {
        assert!(stdout.contains(want), "missing {want} in:\n{stdout}");
    }
    p.child.kill().unwrap();
}

#[test]
fn sigterm_stops_cleanly_and_sighup_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("r.yaml"),
        "rules:\n  - { name: one, on: ticket.created, then: [ { add_tags: [one] } ] }\n",
    )
    .unwrap();
    let mut p = spawn(
        &dir.path().join("fd.db"),
        &["--config", rules.to_str().unwrap()],
    );
    let before = get_text(&format!("{}/v1/admin/config", p.url));
    assert!(before.contains("\"one\""), "{before}");

    std::fs::write(
        rules.join("r.yaml"),
        "rules:\n  - { name: two, on: ticket.created, then: [ { add_tags: [two] } ] }\n",
    )
    .unwrap();
    signal(p.child.id(), "-HUP");
    // The reload runs in the daemon; ask until it shows, for at most 5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let after = get_text(&format!("{}/v1/admin/config", p.url));
        if after.contains("\"two\"") || Instant::now() > deadline {
            break after;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(after.contains("\"two\""), "{after}");

    signal(p.child.id(), "-TERM");
    let status = p.child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn refuses_to_start_on_a_broken_pack_or_an_open_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("r.yaml"),
        "rules:\n  - { name: a, on: ticket.create, then: [] }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&rules)
        .arg("--store")
        .arg(format!("sqlite://{}", dir.path().join("x.db").display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("r.yaml:2:20: rules[0].on: unknown event type `ticket.create`; did you mean `ticket.created`?"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--listen", "0.0.0.0:0", "--config"])
        .arg(root().join("rules"))
        .arg("--store")
        .arg(format!("sqlite://{}", dir.path().join("y.db").display()))
        .env_remove("FRONTDESK_API_TOKENS")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("without API tokens"), "{err}");
}

/// The container image's layout (examples/replicas/Dockerfile), read from the Dockerfile
/// itself: what its runtime stage copies, placed under a temporary root, and the daemon
/// started with the rules and bots its environment names. The pack must load (it answers from
/// the bot `support`) and the daemon become ready.
#[test]
fn the_image_layout_starts_the_daemon() {
    let repo = root();
    let dockerfile = std::fs::read_to_string(repo.join("examples/replicas/Dockerfile")).unwrap();
    let joined = dockerfile.replace("\\\n", " ");
    let image = tempfile::tempdir().unwrap();
    let inside = |path: &str| image.path().join(path.trim_start_matches('/'));
    let runtime = joined.rsplit("\nFROM ").next().unwrap();
    let mut copied = 0;
    for line in runtime.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["COPY", from, to] = words[..] {
            copy_tree(&repo.join(from), &inside(to));
            copied += 1;
        }
    }
    assert!(
        copied >= 2,
        "the runtime stage copies the rules and the bots:\n{runtime}"
    );
    let env = |name: &str| -> Option<String> {
        joined
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    let rules = inside(&env("FRONTDESK_RULES").expect("ENV FRONTDESK_RULES"));
    let mut args = vec!["--config".to_string(), rules.display().to_string()];
    if let Some(bots) = env("FRONTDESK_BOTS") {
        args.extend(["--bots".to_string(), inside(&bots).display().to_string()]);
    }
    let models = inside(&env("FRONTDESK_MODEL_CACHE").expect("ENV FRONTDESK_MODEL_CACHE"));
    args.extend(["--model-cache".to_string(), models.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let p = spawn(&image.path().join("frontdesk.db"), &args);
    serves_the_example_pack(&p);
    assert_eq!(
        kept_models(&models).len(),
        1,
        "the bot is kept where the image says"
    );
}

/// examples/systemd/frontdesk.service: its environment names only variables the daemon reads,
/// the daemon starts from the paths it names and its store, and (where `systemd-analyze` is
/// installed) systemd knows every directive in it.
#[test]
fn the_systemd_unit_starts_the_daemon() {
    let repo = root();
    let unit_path = repo.join("examples/systemd/frontdesk.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    let env: Vec<(&str, &str)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|kv| kv.split_once('='))
        .collect();
    assert!(env.len() >= 4, "{unit}");
    let help = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for (name, _) in &env {
        assert!(
            help.contains(&format!("[env: {name}")),
            "the daemon reads no {name}"
        );
    }
    let value = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let machine = tempfile::tempdir().unwrap();
    let inside = |path: &str| machine.path().join(path.trim_start_matches('/'));
    let rules = inside(value("FRONTDESK_RULES").unwrap());
    let bots = inside(value("FRONTDESK_BOTS").unwrap());
    copy_tree(&repo.join("rules"), &rules);
    copy_tree(&repo.join("bots"), &bots);
    let db = value("FRONTDESK_STORE")
        .and_then(|s| s.strip_prefix("sqlite://"))
        .map(inside)
        .expect("a SQLite store");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let models = inside(value("FRONTDESK_MODEL_CACHE").expect("a model cache"));
    let (rules, bots) = (rules.display().to_string(), bots.display().to_string());
    let cache = models.display().to_string();
    let p = spawn(
        &db,
        &["--config", &rules, "--bots", &bots, "--model-cache", &cache],
    );
    serves_the_example_pack(&p);
    assert_eq!(
        kept_models(&models).len(),
        1,
        "the bot is kept where the unit says"
    );

    // systemd reads it without a complaint (it names unknown keys on stderr).
    let copy = machine.path().join("frontdesk.service");
    let bin = env!("CARGO_BIN_EXE_frontdesk");
    std::fs::write(&copy, unit.replace("/usr/local/bin/frontdesk", bin)).unwrap();
    match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
    {
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success() && err.trim().is_empty(), "{err}");
        }
        Err(e) => println!("systemd-analyze not run ({e}): the unit's directives are not checked"),
    }
}

/// Secrets given to the daemon — API tokens, inbound webhook secrets, the survey link secret,
/// the outgoing webhook signing secret, the SMTP password, a webhook header's secret — appear
/// nowhere in what it says: not in its logs (at debug level), not in `/v1/admin/config`,
/// `/metrics`, `/openapi.json`, `/readyz`, nor in the answers to requests that got them wrong.
#[test]
fn secrets_never_appear_in_what_the_daemon_says() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = [
        ("FRONTDESK_API_TOKENS", "tok-Qx7v-api-secret-0001"),
        (
            "FRONTDESK_SECRET_GENERIC",
            "whsec_UXg3di1nZW5lcmljLXNlY3JldC0wMDAy",
        ),
        ("FRONTDESK_SECRET_ZENDESK", "zd-Qx7v-zendesk-0003"),
        ("FRONTDESK_SECRET_CHATWOOT", "cw-Qx7v-chatwoot-0004"),
        ("FRONTDESK_SECRET_ZAMMAD", "zm-Qx7v-zammad-0005"),
        (
            "FRONTDESK_CSAT_SECRET",
            "csat-Qx7v-links-0006-long-enough-secret",
        ),
        (
            "FRONTDESK_WEBHOOK_SECRET",
            "whsec_UXg3di1vdXRnb2luZy1zaWduaW5nLTAwMDc=",
        ),
        ("FRONTDESK_SMTP_PASSWORD", "smtp-Qx7v-password-0008"),
        (
            "FRONTDESK_OUTBOUND_SECRET_CRM_TOKEN",
            "Bearer out-Qx7v-header-0009",
        ),
    ];
    let mut env: Vec<(&str, &str)> = secrets.to_vec();
    env.extend([
        ("FRONTDESK_LOG", "debug"),
        // A relay on this machine that is not there: every mail fails, and says why.
        ("FRONTDESK_SMTP_URL", "smtp://127.0.0.1:9"),
        ("FRONTDESK_SMTP_USERNAME", "desk"),
        ("FRONTDESK_SMTP_TLS", "none"),
        ("FRONTDESK_SMTP_FROM", "desk@example.com"),
    ]);
    let mut p = common::process::spawn_env(
        &format!("sqlite://{}", dir.path().join("fd.db").display()),
        &[],
        &env,
    );
    let token = secrets[0].1;
    let url = p.url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let said = rt.block_on(async move {
        let http = client(Duration::from_secs(10));
        let mut said = Vec::new();
        let mut keep = async |r: reqwest::RequestBuilder| {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let headers = format!("{:?}", r.headers());
            said.push(format!(
                "{status} {headers} {}",
                r.text().await.unwrap_or_default()
            ));
            status
        };
        let get = |path: &str| http.get(format!("{url}{path}"));
        assert_eq!(keep(get("/v1/admin/config").bearer_auth(token)).await, 200);
        let wrong = get("/v1/admin/config").bearer_auth("tok-Qx7v-api-secret-0009");
        assert_eq!(keep(wrong).await, 401);
        for path in ["/metrics", "/openapi.json", "/readyz"] {
            keep(get(path)).await;
        }
        let event = serde_json::json!({"id": "e1", "type": "ticket.created",
            "ticket": {"id": "T1", "channel": "email", "subject": "Invoice",
                       "customer": {"email": "kari@example.com", "language": "en"}},
            "message": {"text": "Where is my invoice?"}});
        let post = http
            .post(format!("{url}/v1/events"))
            .bearer_auth(token)
            .json(&event);
        assert_eq!(keep(post).await, 200);
        for adapter in ["generic", "zendesk", "chatwoot", "zammad"] {
            let post = http
                .post(format!("{url}/v1/inbound/{adapter}"))
                .header("content-type", "application/json")
                .header("x-frontdesk-signature", "sha256=00")
                .header("x-zendesk-webhook-signature", "AAAA")
                .header(
                    "x-zendesk-webhook-signature-timestamp",
                    "2026-12-06T10:00:00Z",
                )
                .header("x-chatwoot-signature", "sha256=00")
                .header("x-hub-signature", "sha1=00")
                .body(r#"{"id":"x"}"#);
            let status = keep(post).await;
            assert!((400..500).contains(&status), "{adapter}: {status}");
        }
        said
    });
    // Stopped as an operator would: what it logs while draining counts too.
    signal(p.pid(), "-TERM");
    let _ = p.child.wait();
    let logs = p.tail(5000);
    assert!(logs.lines().count() > 5, "the daemon logged: {logs}");
    for (name, secret) in secrets {
        for text in said.iter().chain([&logs]) {
            assert!(!text.contains(secret), "{name} shows in:\n{text}");
        }
    }
}

/// The `*.model` files in `dir`, with their modification times.
fn kept_models(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".model"))
                .map(|e| {
                    let modified = e.metadata().unwrap().modified().unwrap();
                    (e.file_name().to_string_lossy().into_owned(), modified)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// What the bot of a new chat session says to `text`.
fn chat_reply(url: &str, text: &str) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client(Duration::from_secs(10));
        let post = |path: String, body: serde_json::Value| {
            let request = http.post(format!("{url}{path}")).json(&body).send();
            async move {
                let answer = request.await.unwrap();
                answer.json::<serde_json::Value>().await.unwrap()
            }
        };
        let session = post(
            "/v1/chat/sessions".into(),
            serde_json::json!({ "bot": "support" }),
        )
        .await;
        let id = session["id"].as_str().unwrap();
        let path = format!("/v1/chat/sessions/{id}/messages");
        post(path, serde_json::json!({ "text": text })).await["reply"].clone()
    })
}

/// The first start trains the example bot and keeps it in `--model-cache`; the next start reads
/// it back (the file is not written again) and answers alike; an edited bot file, reloaded,
/// replaces it.
#[test]
fn trained_bots_are_kept_and_read_back_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root().join("rules"), &dir.path().join("rules"));
    copy_tree(&root().join("bots"), &dir.path().join("bots"));
    let cache = dir.path().join("models");
    let args = [
        "--config",
        dir.path().join("rules").to_str().unwrap(),
        "--model-cache",
        cache.to_str().unwrap(),
    ]
    .map(str::to_string);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let db = dir.path().join("fd.db");
    let question = "I forgot my pasword, how do I get a new one?";

    let mut p = spawn(&db, &args);
    serves_the_example_pack(&p);
    let first = kept_models(&cache);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].0.starts_with("support-"), "{first:?}");
    assert!(
        p.tail(100).contains("kept the trained model"),
        "{}",
        p.tail(20)
    );
    let trained = chat_reply(&p.url, question);
    assert_eq!(trained["answer_id"], "password_reset", "{trained}");
    signal(p.pid(), "-TERM");
    assert!(p.child.wait().unwrap().success());

    let mut p = spawn(&db, &args);
    serves_the_example_pack(&p);
    assert_eq!(kept_models(&cache), first, "read back, not written again");
    let logs = p.tail(100);
    assert!(
        !logs.contains("kept the trained model") && !logs.contains("not used"),
        "{logs}"
    );
    let read_back = chat_reply(&p.url, question);
    assert_eq!(read_back["answer_id"], trained["answer_id"]);
    assert_eq!(read_back["score"], trained["score"], "the same confidence");

    // An edited bot file, reloaded: trained again, and its model replaces the first.
    let bot = dir.path().join("bots/support.yaml");
    let text = std::fs::read_to_string(&bot).unwrap();
    std::fs::write(&bot, format!("{text}\n# edited\n")).unwrap();
    signal(p.pid(), "-HUP");
    let deadline = Instant::now() + Duration::from_secs(30);
    let replaced = loop {
        let now = kept_models(&cache);
        if (now.len() == 1 && now[0].0 != first[0].0) || Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        replaced.len() == 1 && replaced[0].0 != first[0].0,
        "{replaced:?}"
    );
    signal(p.pid(), "-TERM");
    assert!(p.child.wait().unwrap().success());
}

/// The daemon is ready with the example pack and its bot loaded.
fn serves_the_example_pack(p: &common::Proc) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async { ready(&client(Duration::from_secs(5)), &p.url).await });
    assert_eq!(status, Some(200), "{}", p.tail(20));
    let config = get_text(&format!("{}/v1/admin/config", p.url));
    assert!(
        config.contains("\"support\""),
        "the bot is loaded: {config}"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// The peak resident memory of a process, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Hostile requests against the real daemon, one after another: each gets a clean answer
/// (never a 5xx, never a dropped connection), the daemon answers `/readyz` after each, what
/// it stored reads back unchanged, and none raises its peak memory by 100 MB. Times are
/// printed; a hang fails at the client's 10 s timeout.
#[tokio::test]
async fn hostile_requests_get_clean_answers_and_the_daemon_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let p = tokio::task::spawn_blocking({
        let db = dir.path().join("fd.db");
        move || spawn(&db, &[])
    })
    .await
    .unwrap();
    // A new connection for every request: a refused body (413) closes its connection, and a
    // pooled client may try to reuse it before it notices; whether the daemon keeps serving is
    // asked on a connection of its own.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let event = |id: &str, message: serde_json::Value| serde_json::json!({"id": id, "type": "ticket.created", "ticket": {"id": id}, "message": message});
    let many_tags: Vec<String> = (0..100_000).map(|i| format!("t{i}")).collect();
    let many_fields: serde_json::Map<String, serde_json::Value> =
        (0..50_000).map(|i| (format!("f{i}"), i.into())).collect();
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let strange = "NUL \u{0} bidi \u{202e}txet\u{202c} zero\u{200b}width 🧪 \u{feff}";
    let cases: Vec<(&str, &str, Vec<u8>, &[u16])> = vec![
        (
            "100,000 tags",
            "/v1/events",
            serde_json::to_vec(&serde_json::json!({"id": "h1", "type": "ticket.created",
                "ticket": {"id": "H1", "tags": many_tags}}))
            .unwrap(),
            &[200, 413, 422],
        ),
        (
            "50,000 custom fields",
            "/v1/events",
            serde_json::to_vec(&serde_json::json!({"id": "h2", "type": "ticket.created",
                "ticket": {"id": "H2", "fields": many_fields}}))
            .unwrap(),
            &[200, 413, 422],
        ),
        (
            "a 900 KB message",
            "/v1/events",
            serde_json::to_vec(&event(
                "h3",
                serde_json::json!({"text": "ab ".repeat(300_000)}),
            ))
            .unwrap(),
            &[200],
        ),
        (
            "100,000-deep JSON",
            "/v1/events",
            deep.clone().into_bytes(),
            &[400],
        ),
        (
            "100,000-deep JSON in data",
            "/v1/events",
            format!(
                r#"{{"id":"h4","type":"ticket.created","ticket":{{"id":"H4"}},"data":{deep}}}"#
            )
            .into_bytes(),
            &[400],
        ),
        (
            "invalid UTF-8",
            "/v1/events",
            b"{\"id\":\"h5\",\"type\":\"ticket.created\",\"ticket\":{\"id\":\"\xff\xfe\"}}"
                .to_vec(),
            &[400],
        ),
        (
            "NUL, bidi and zero-width characters",
            "/v1/events",
            serde_json::to_vec(&serde_json::json!({"id": "h6", "type": "ticket.created",
                "ticket": {"id": "h6", "subject": strange}, "message": {"text": strange}}))
            .unwrap(),
            &[200],
        ),
        (
            "a 2 MB body",
            "/v1/events",
            vec![b' '; 2 * 1024 * 1024],
            &[413],
        ),
        (
            "a deep chat body",
            "/v1/chat/sessions",
            deep.clone().into_bytes(),
            &[400],
        ),
        (
            "a deep Zendesk body",
            "/v1/inbound/zendesk",
            deep.into_bytes(),
            &[400],
        ),
        (
            "a Chatwoot body of 60,000 keys",
            "/v1/inbound/chatwoot",
            serde_json::to_vec(
                &(0..60_000)
                    .map(|i| (format!("k{i}"), serde_json::Value::Null))
                    .collect::<serde_json::Map<_, _>>(),
            )
            .unwrap(),
            &[200, 422],
        ),
    ];
    let before = peak_rss(p.pid());
    for (what, path, body, expected) in cases {
        let peak = peak_rss(p.pid());
        let started = Instant::now();
        let answer = http
            .post(format!("{}{path}", p.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: no answer ({e})\n{}", p.tail(20)));
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        let took = started.elapsed();
        let grew = peak_rss(p.pid()).saturating_sub(peak);
        eprintln!(
            "{what}: {status} in {took:?}, peak memory +{} MB",
            grew / 1_000_000
        );
        assert!(
            grew < 100_000_000,
            "{what}: peak memory grew by {grew} bytes"
        );
        assert!(expected.contains(&status), "{what}: {status} {text:.300}");
        if status >= 400 {
            let e: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {text:.300}"));
            assert!(
                e["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{what}: {e}"
            );
        }
        assert_eq!(
            ready(&http, &p.url).await,
            Some(200),
            "{what}: the daemon stopped serving"
        );
    }
    // What was stored reads back as it was sent.
    let ticket: serde_json::Value = http
        .get(format!("{}/v1/tickets/h6", p.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ticket["ticket"]["subject"], strange, "{ticket:.300}");
    eprintln!(
        "peak memory grew by {} MB in all",
        peak_rss(p.pid()).saturating_sub(before) / 1_000_000
    );
}
