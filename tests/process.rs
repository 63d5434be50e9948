//! The daemon as an operator runs it: the curl examples, signals, exit codes.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::process::{get_text, signal};
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
