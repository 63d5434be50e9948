//! A local HTTP server on 127.0.0.1 that records every request it gets and answers as told:
//! `flaky` fails the first N times (503 with `Retry-After: 30`), `gone` is a 404, a path given
//! an answer with [`Recorder::answer`] gets that answer, and every other path a 200 `ok`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use axum::Router;

/// A request the server got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    /// The path without its leading `/`.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// What the server got, and how it answers.
#[derive(Default)]
pub struct Recorder {
    pub hits: Mutex<Vec<Hit>>,
    pub flaky_failures_left: Mutex<u32>,
    /// Per path (without its leading `/`): the status and JSON body to answer.
    answers: Mutex<HashMap<String, (u16, String)>>,
}

impl Recorder {
    /// From now on, `path` (without its leading `/`) is answered with `status` and `body` as
    /// JSON.
    pub fn answer(&self, path: &str, status: u16, body: &serde_json::Value) {
        self.answers
            .lock()
            .unwrap()
            .insert(path.to_string(), (status, body.to_string()));
    }

    /// The requests made to `path` so far.
    pub fn hits_on(&self, path: &str) -> Vec<Hit> {
        let hits = self.hits.lock().unwrap();
        hits.iter().filter(|h| h.path == path).cloned().collect()
    }
}

async fn record(
    State(rec): State<Arc<Recorder>>,
    method: axum::http::Method,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, HeaderMap, String) {
    rec.hits.lock().unwrap().push(Hit {
        method: method.to_string(),
        path: path.clone(),
        headers,
        body: body.to_vec(),
    });
    let mut out = HeaderMap::new();
    if let Some((status, body)) = rec.answers.lock().unwrap().get(&path).cloned() {
        out.insert("content-type", "application/json".parse().unwrap());
        return (StatusCode::from_u16(status).unwrap(), out, body);
    }
    match path.as_str() {
        "flaky" => {
            let mut left = rec.flaky_failures_left.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                out.insert("retry-after", "30".parse().unwrap());
                return (StatusCode::SERVICE_UNAVAILABLE, out, "try later".into());
            }
            (StatusCode::OK, out, "ok".into())
        }
        "gone" => (StatusCode::NOT_FOUND, out, "no such hook".into()),
        _ => (StatusCode::OK, out, "ok".into()),
    }
}

/// Starts a recorder whose `flaky` path fails `failures` times; its base URL
/// (`http://127.0.0.1:PORT`) and what it records.
pub async fn start_recorder(failures: u32) -> (String, Arc<Recorder>) {
    let rec = Arc::new(Recorder {
        flaky_failures_left: Mutex::new(failures),
        ..Recorder::default()
    });
    let app = Router::new()
        .route("/{*path}", any(record))
        .with_state(rec.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rec)
}
