//! A load generator for `POST /v1/events` (or a chat's messages), in two modes:
//!
//! - **closed** (no `--rate`): `--connections` clients each send the next request as soon as
//!   the last is answered, as `wrk` does; it measures the most a server answers.
//! - **fixed rate** (`--rate N`): requests are due at N per second, spread evenly, whatever the
//!   server does; each one's latency is counted from when it was due, not from when a free
//!   connection sent it, so a server that falls behind shows its queue in the figures (the
//!   "coordinated omission" a closed loop hides). At most `--connections` are in flight.
//!
//! Every request is a new event (`load-TAG-N`) on one of 1,000 tickets, with one of four
//! message texts, the same stream for any server (`bench/load/side_by_side.sh` runs the daemon
//! and `examples/echo_server.rs` on it round by round). What is sent can be changed:
//!
//! - `--events FILE`: the events of a JSON-lines file in turn, `@ID@` in each replaced by the
//!   request's new id (`pack_bench --load-dir` writes the shared benchmark pack's tickets so).
//! - `--chat N`: first opens N chat sessions with the bot `--bot` (default `support`), then
//!   sends customers' questions to their `POST /v1/chat/sessions/{id}/messages` in turn.
//!
//! ```sh
//! cargo run --release --example loadgen -- --url http://127.0.0.1:18080 --seconds 10 --connections 16
//! cargo run --release --example loadgen -- --url http://127.0.0.1:18080 --seconds 10 --rate 2000
//! ```
//!
//! It runs on one thread, as `wrk -t1` does, to leave the other cores to the server.
//!
//! It prints one line: `requests/s R p50 A ms p90 B ms p99 C ms max D ms errors E` (closed: from
//! send to answer; fixed rate: from due time to answer).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const TEXTS: [&str; 4] = [
    "the site is down since this morning",
    "I want a refund for my last invoice",
    "Kortet mitt er stjålet",
    "where is my parcel?",
];

/// Questions the example bot answers, for `--chat`.
const QUESTIONS: [&str; 4] = [
    "where is my parcel?",
    "how do I reset my password",
    "Hvor er pakken min?",
    "can I get a refund",
];

struct Args {
    url: String,
    seconds: f64,
    connections: usize,
    rate: Option<f64>,
    tag: String,
    token: Option<String>,
    events: Option<String>,
    chat: Option<usize>,
    bot: String,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:18080".into(),
        seconds: 10.0,
        connections: 16,
        rate: None,
        tag: std::process::id().to_string(),
        token: std::env::var("FRONTDESK_TOKEN").ok(),
        events: None,
        chat: None,
        bot: "support".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--url" => a.url = value(),
            "--seconds" => a.seconds = number(&flag, &value()),
            "--connections" => a.connections = number::<usize>(&flag, &value()).max(1),
            "--rate" => a.rate = Some(number(&flag, &value())),
            "--tag" => a.tag = value(),
            "--token" => a.token = Some(value()),
            "--events" => a.events = Some(value()),
            "--chat" => a.chat = Some(number::<usize>(&flag, &value()).max(1)),
            "--bot" => a.bot = value(),
            other => fail(&format!(
                "unknown flag {other} (--url, --seconds, --connections, --rate, --tag, --token, --events, --chat, --bot)"
            )),
        }
    }
    a
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> T {
    v.parse()
        .unwrap_or_else(|_| fail(&format!("{flag}: `{v}` is not a number")))
}

fn fail(why: &str) -> ! {
    eprintln!("loadgen: {why}");
    std::process::exit(2)
}

/// What request `n` is: its path and body.
enum Stream {
    /// The built-in events.
    Events,
    /// Events from a file, `@ID@` in each to be replaced.
    File(Vec<String>),
    /// Chat sessions' ids.
    Chat(Vec<String>),
}

impl Stream {
    fn request(&self, tag: &str, n: u64) -> (String, String) {
        let id = format!("load-{tag}-{n}");
        match self {
            Stream::Events => (
                "/v1/events".into(),
                format!(
                    r#"{{"id":"{id}","type":"message.created","ticket":{{"id":"T{}","channel":"email","customer":{{"language":"en"}}}},"message":{{"text":"{}"}}}}"#,
                    n % 1000,
                    TEXTS[(n % 4) as usize]
                ),
            ),
            Stream::File(lines) => (
                "/v1/events".into(),
                lines[(n % lines.len() as u64) as usize].replacen("@ID@", &id, 1),
            ),
            Stream::Chat(sessions) => (
                format!(
                    "/v1/chat/sessions/{}/messages",
                    sessions[(n % sessions.len() as u64) as usize]
                ),
                format!(
                    r#"{{"id":"{id}","text":"{}"}}"#,
                    QUESTIONS[((n / sessions.len() as u64) % 4) as usize]
                ),
            ),
        }
    }
}

/// The stream `a` asks for; chat sessions are opened on `conn` first.
async fn stream(a: &Args, conn: &mut Conn, head: &Head) -> Stream {
    if let Some(file) = &a.events {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| fail(&format!("{file}: {e}")));
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        if lines.is_empty() || !lines.iter().all(|l| l.contains("@ID@")) {
            fail(&format!(
                "{file}: every line must be an event with the id @ID@"
            ));
        }
        return Stream::File(lines);
    }
    let Some(n) = a.chat else {
        return Stream::Events;
    };
    let mut sessions = Vec::with_capacity(n);
    let open = format!(r#"{{"bot":"{}"}}"#, a.bot);
    for _ in 0..n {
        match conn.post(head, "/v1/chat/sessions", &open).await {
            Ok(201) => {}
            Ok(status) => fail(&format!(
                "opening a chat answered {status}: {}",
                String::from_utf8_lossy(&conn.body)
            )),
            Err(e) => fail(&format!("opening a chat: {e}")),
        }
        let body = String::from_utf8_lossy(&conn.body);
        let id = body
            .split_once(r#""id":""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(id, _)| id.to_string())
            .unwrap_or_else(|| fail(&format!("no session id in {body}")));
        sessions.push(id);
    }
    Stream::Chat(sessions)
}

/// The request head's lines around the path.
struct Head {
    host: String,
    rest: String,
}

/// One kept-alive HTTP/1.1 connection, written and read by hand: a general client (reqwest)
/// costs several times the CPU per request, which on a small machine is taken from the server
/// measured, and would make a fast server look as slow as the client.
struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// The last answer's body.
    body: Vec<u8>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            stream: None,
            buf: Vec::with_capacity(4096),
            body: Vec::with_capacity(4096),
        }
    }

    /// Posts `body` to `path`; the answer's status. Reconnects once a connection failed.
    async fn post(&mut self, head: &Head, path: &str, body: &str) -> std::io::Result<u16> {
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(&self.addr).await?;
                s.set_nodelay(true)?;
                self.buf.clear();
                self.stream.insert(s)
            }
        };
        let request = format!(
            "POST {path} HTTP/1.1\r\n{}{}Content-Length: {}\r\n\r\n{body}",
            head.host,
            head.rest,
            body.len()
        );
        let answer = async {
            stream.write_all(request.as_bytes()).await?;
            read_answer(stream, &mut self.buf, &mut self.body).await
        }
        .await;
        if answer.is_err() {
            self.stream = None;
        }
        answer
    }
}

/// Reads one answer (a head, then `Content-Length` bytes, kept in `body`) off `stream`; its
/// status.
async fn read_answer(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    body: &mut Vec<u8>,
) -> std::io::Result<u16> {
    use std::io::{Error, ErrorKind};
    let bad = |why: &str| Error::new(ErrorKind::InvalidData, why.to_string());
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("head not UTF-8"))?;
            let status = head
                .get(9..12)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("no status"))?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .ok_or_else(|| bad("an answer without Content-Length"))?;
            let total = end + 4 + length;
            while buf.len() < total {
                if stream.read_buf(buf).await? == 0 {
                    return Err(ErrorKind::UnexpectedEof.into());
                }
            }
            body.clear();
            body.extend_from_slice(&buf[end + 4..total]);
            buf.drain(..total);
            return Ok(status);
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
    }
}

/// What one client saw: latencies in microseconds, and failed requests.
#[derive(Default)]
struct Seen {
    micros: Vec<u64>,
    errors: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = Arc::new(args());
    let Some(addr) = a
        .url
        .strip_prefix("http://")
        .map(|a| a.trim_end_matches('/'))
    else {
        fail("--url is http://HOST:PORT")
    };
    let addr = addr.to_string();
    let mut rest = "Content-Type: application/json\r\n".to_string();
    if let Some(t) = &a.token {
        rest.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let head = Arc::new(Head {
        host: format!("Host: {addr}\r\n"),
        rest,
    });
    let stream = Arc::new(stream(&a, &mut Conn::new(&addr), &head).await);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + Duration::from_secs_f64(a.seconds);
    let mut clients = Vec::new();
    for _ in 0..a.connections {
        let (a, next, head, stream) = (a.clone(), next.clone(), head.clone(), stream.clone());
        let mut conn = Conn::new(&addr);
        clients.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let due = match a.rate {
                    Some(rate) => start + Duration::from_secs_f64(n as f64 / rate),
                    None => Instant::now().max(start),
                };
                if due >= end {
                    break;
                }
                // A request not due yet waits for its time (tokio's timer wakes up to a
                // millisecond late: that is the client's, and counted from the wake-up); one
                // already due, because this client's last answer came late, goes at once and
                // counts from when it was due.
                let from = if due > Instant::now() {
                    tokio::time::sleep_until(due).await;
                    Instant::now()
                } else {
                    due
                };
                let (path, body) = stream.request(&a.tag, n);
                let status = conn.post(&head, &path, &body).await;
                match status {
                    Ok(200..=299) => seen.micros.push(from.elapsed().as_micros() as u64),
                    other => {
                        if seen.errors == 0 {
                            let body = String::from_utf8_lossy(&conn.body);
                            eprintln!("loadgen: {path}: {other:?} {body}");
                        }
                        seen.errors += 1;
                    }
                }
            }
            seen
        }));
    }
    let mut all = Seen::default();
    for c in clients {
        let seen = c.await.expect("a client ran");
        all.micros.extend(seen.micros);
        all.errors += seen.errors;
    }
    let took = Instant::now()
        .saturating_duration_since(start)
        .as_secs_f64();
    all.micros.sort_unstable();
    let at = |q: f64| {
        all.micros
            .get(((all.micros.len() as f64 * q) as usize).min(all.micros.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    println!(
        "requests/s {:.0} p50 {:.2} ms p90 {:.2} ms p99 {:.2} ms max {:.2} ms errors {}",
        all.micros.len() as f64 / took.max(a.seconds),
        at(0.5),
        at(0.9),
        at(0.99),
        all.micros.last().map_or(0.0, |&us| us as f64 / 1000.0),
        all.errors
    );
}
