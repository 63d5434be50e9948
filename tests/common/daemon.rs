//! The daemon in this process: started on 127.0.0.1:0 with a rules directory, a store (a
//! SQLite file of its own unless told otherwise), tokens and a manual clock; HTTP helpers that
//! return the status and the JSON body; stopped, or stopped and started again on the same store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use frontdesk::adapters::AdapterKind;
use frontdesk::delivery::ConnectorConfig;
use frontdesk::server::{self, ManualClock, Options, Role, Running, Tokens};
use frontdesk::service::presence::PresenceSettings;
use reqwest::Method;
use serde_json::Value;

/// The repository (the example pack is `rules/`, its bots `bots/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Monday 23 November 2026, 11:00 in Oslo: the example pack's desk is open and its agents are
/// on shift. Where a daemon's clock starts unless told otherwise.
pub fn t0() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

/// What a daemon is started with; [`Daemon::with`] makes one with the defaults.
#[derive(Clone)]
pub struct Setup {
    rules: PathBuf,
    bots: Option<Option<PathBuf>>,
    store: Option<String>,
    tokens: Tokens,
    now: DateTime<Utc>,
    clock: Option<Arc<ManualClock>>,
    secrets: Vec<(AdapterKind, String)>,
    connectors: ConnectorConfig,
    csat_secret: Option<String>,
    limits: frontdesk::server::limit::Limits,
    presence: Option<PresenceSettings>,
}

impl Setup {
    /// The rules directory (default: the example pack).
    pub fn rules(mut self, dir: impl Into<PathBuf>) -> Setup {
        self.rules = dir.into();
        self
    }

    /// The bots directory (default: `bots/` beside the rules directory when there is one).
    pub fn bots(mut self, dir: Option<PathBuf>) -> Setup {
        self.bots = Some(dir);
        self
    }

    /// A SQLite file (default: `fd.db` in a directory of the daemon's own).
    pub fn sqlite(self, db: &Path) -> Setup {
        self.store(&format!("sqlite://{}", db.display()))
    }

    /// A store URL (`sqlite://...`, `postgres://...`).
    pub fn store(mut self, url: &str) -> Setup {
        self.store = Some(url.to_string());
        self
    }

    /// The API tokens the daemon accepts (default: none, `/v1/*` is open).
    pub fn tokens(mut self, tokens: &[&str]) -> Setup {
        let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
        self.tokens.add(Role::Admin, &tokens, &[]).unwrap();
        self
    }

    /// Chat tokens the daemon accepts: the customer's side of chats only.
    pub fn chat_tokens(mut self, tokens: &[&str]) -> Setup {
        let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
        self.tokens.add(Role::Chat, &tokens, &[]).unwrap();
        self
    }

    /// Viewer tokens the daemon accepts: they may read and change nothing.
    pub fn viewer_tokens(mut self, tokens: &[&str]) -> Setup {
        let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
        self.tokens.add(Role::Viewer, &tokens, &[]).unwrap();
        self
    }

    /// Where the clock starts (default: [`t0`]).
    pub fn now(mut self, t: DateTime<Utc>) -> Setup {
        self.now = t;
        self
    }

    /// A clock the test already holds (default: a new one at `now`).
    pub fn clock(mut self, clock: Arc<ManualClock>) -> Setup {
        self.clock = Some(clock);
        self
    }

    /// A signing secret for an adapter's deliveries.
    pub fn secret(mut self, kind: AdapterKind, secret: &str) -> Setup {
        self.secrets.push((kind, secret.to_string()));
        self
    }

    /// Outbound connectors (webhook signing, Slack, SMTP, helpdesk APIs).
    pub fn connectors(mut self, connectors: ConnectorConfig) -> Setup {
        self.connectors = connectors;
        self
    }

    /// The secret survey links are signed with (default: none, surveys carry no links).
    pub fn csat_secret(mut self, secret: &str) -> Setup {
        self.csat_secret = Some(secret.to_string());
        self
    }

    /// Rate limits (default: off, since the test clock stands still and nothing would refill).
    pub fn limits(mut self, limits: frontdesk::server::limit::Limits) -> Setup {
        self.limits = limits;
        self
    }

    /// Reads agents' presence from the Chatwoot account `account` every `interval` (the
    /// Chatwoot API goes in [`Setup::connectors`]); the scheduler does not run in tests, so
    /// they poll with `server::poll_presence`.
    pub fn presence(mut self, account: &str, interval: std::time::Duration) -> Setup {
        self.presence = Some(PresenceSettings {
            account: account.to_string(),
            interval,
        });
        self
    }

    /// Starts the daemon; panics if it does not start.
    pub async fn start(mut self) -> Daemon {
        let clock = self
            .clock
            .get_or_insert_with(|| Arc::new(ManualClock::new(self.now)))
            .clone();
        let dir = match self.store {
            Some(_) => None,
            None => {
                let dir = tempfile::tempdir().unwrap();
                self.store = Some(format!("sqlite://{}", dir.path().join("fd.db").display()));
                Some(Arc::new(dir))
            }
        };
        Daemon::start_with(self, clock, dir).await
    }
}

/// A daemon running in this process, and an HTTP client for it.
pub struct Daemon {
    pub running: Running,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    /// Sent as the bearer token with every request of the helpers below, when set.
    pub token: Option<String>,
    setup: Setup,
    /// The directory of the daemon's own SQLite file, kept for a restart.
    dir: Option<Arc<tempfile::TempDir>>,
}

impl Daemon {
    /// The defaults, to change: the example pack and its bots, a SQLite file of its own, no
    /// tokens, a manual clock at [`t0`]; no file watching and no scheduler (tests drive the
    /// timers, schedules and deliveries by hand).
    pub fn with() -> Setup {
        Setup {
            rules: root().join("rules"),
            bots: None,
            store: None,
            tokens: Tokens::default(),
            now: t0(),
            clock: None,
            secrets: Vec::new(),
            // The recording servers the tests deliver to listen on loopback.
            connectors: ConnectorConfig {
                outbound_allow: vec!["127.0.0.0/8".into()],
                ..ConnectorConfig::default()
            },
            csat_secret: None,
            limits: frontdesk::server::limit::Limits::off(),
            presence: None,
        }
    }

    /// A daemon with the defaults of [`Daemon::with`].
    pub async fn start() -> Daemon {
        Daemon::with().start().await
    }

    async fn start_with(
        setup: Setup,
        clock: Arc<ManualClock>,
        dir: Option<Arc<tempfile::TempDir>>,
    ) -> Daemon {
        let mut opts = Options {
            rules: setup.rules.clone(),
            bots: match &setup.bots {
                Some(bots) => bots.clone(),
                None => frontdesk::config::default_bots_dir(&setup.rules),
            },
            listen: "127.0.0.1:0".parse().unwrap(),
            store: setup.store.clone().expect("a store"),
            tokens: setup.tokens.clone(),
            watch: false,
            scheduler: false,
            clock: clock.clone(),
            connectors: setup.connectors.clone(),
            csat_secret: setup.csat_secret.clone(),
            limits: setup.limits.clone(),
            presence: setup.presence.clone(),
            ..Options::new()
        };
        for (kind, secret) in &setup.secrets {
            opts.secrets.entry(*kind).or_default().push(secret.clone());
        }
        let running = server::start(opts).await.expect("server starts");
        Daemon {
            url: format!("http://{}", running.addr),
            running,
            http: reqwest::Client::new(),
            clock,
            token: None,
            setup,
            dir,
        }
    }

    /// Stops it: in-flight requests finish, the store is closed.
    pub async fn stop(self) {
        self.running.stop().await.unwrap();
    }

    /// Stops it and starts a new one on the same store, rules and clock (the clock is not
    /// moved), as a restarted process would be.
    pub async fn restart(self) -> Daemon {
        let (setup, clock, dir, token) = (
            self.setup.clone(),
            self.clock.clone(),
            self.dir.clone(),
            self.token.clone(),
        );
        self.stop().await;
        let mut d = Daemon::start_with(setup, clock, dir).await;
        d.token = token;
        d
    }

    /// The store URL it runs on (for the command-line tools that read a store).
    pub fn store_url(&self) -> &str {
        self.setup.store.as_deref().expect("a store")
    }

    /// A request to `path`, with the token when there is one.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.url));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Sends `req`; the status and the body as JSON (a body that is not JSON as a string,
    /// an empty one as null).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) if text.is_empty() => Value::Null,
            Err(_) => Value::String(text),
        };
        (status, body)
    }

    /// `method path`, with `body` as JSON when there is one.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// POSTs `body` as it is, with `content_type` when there is one.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self.request(Method::POST, path).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.send(req).await
    }

    /// The body of `GET path` as text (`/metrics`, `/chat`).
    pub async fn text(&self, path: &str) -> String {
        let r = self.request(Method::GET, path).send().await.unwrap();
        r.text().await.unwrap()
    }
}
