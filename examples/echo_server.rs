//! The ceiling of the webhook path on this machine: a bare axum server, built from the same
//! axum, tokio and serde_json as the daemon, that answers `POST /v1/events` by parsing the body
//! as JSON and answering a small JSON document naming the event, as the daemon's answer does,
//! and does nothing else: no store, no rules, no logging. `bench/load/side_by_side.sh` runs it
//! and `frontdesk serve` round by round under the same request stream and prints the ratio.
//!
//! ```sh
//! cargo run --release --example echo_server -- 127.0.0.1:18090
//! ```

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

async fn event(body: axum::body::Bytes) -> (StatusCode, Json<Value>) {
    match serde_json::from_slice::<Value>(&body) {
        Ok(event) => (
            StatusCode::OK,
            Json(json!({ "event_id": event["id"], "duplicate": false, "actions": [] })),
        ),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": { "code": "invalid_event", "message": e.to_string() } })),
        ),
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".into());
    let app = Router::new()
        .route("/v1/events", post(event))
        .route("/readyz", get(|| async { "ready" }));
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    // As the daemon: each answer leaves at once.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    eprintln!("echo listening on {addr}");
    axum::serve(listener, app).await.expect("the server runs");
}
