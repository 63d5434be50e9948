//! Running `frontdesk serve` as a real process for tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A daemon process and its base URL.
pub struct Proc {
    pub child: Child,
    pub url: String,
}

/// Starts `frontdesk serve` on a free port with the example rules (unless `args` says
/// otherwise) and waits until it listens.
pub fn spawn(db: &Path, args: &[&str]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-watch",
        "--log-format",
        "json",
    ])
    .arg("--store")
    .arg(format!("sqlite://{}", db.display()));
    if !args.contains(&"--config") {
        cmd.arg("--config")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules"));
    }
    let mut child = cmd
        .args(args)
        .env("FRONTDESK_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn frontdesk serve");
    // The daemon logs the address it bound (port 0 = any free port).
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        assert!(Instant::now() < deadline, "daemon did not start");
        let line = lines
            .next()
            .expect("daemon exited before listening")
            .unwrap();
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v["message"] == "frontdesk listening" {
                break format!("http://{}", v["addr"].as_str().unwrap());
            }
        }
    };
    // Keep draining its logs so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Proc { child, url }
}
