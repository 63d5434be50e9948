//! The daemon's HTTP edge: an axum router in front of the [`crate::service`] layer.
//!
//! Handlers parse a request, call one [`Desk`] operation and render its answer or its
//! [`crate::service::Error`]; every event, chat turn and timer goes through the service, which
//! is also what the scheduler loop calls.

mod agents;
mod auth;
mod chat;
mod console;
mod csat;
mod error;
mod extract;
pub mod limit;
mod openapi;
mod routes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::adapters::signature::{Scheme, Verifier};
use crate::delivery::ConnectorConfig;
use crate::model::Helpdesk;
use crate::service::{self, reload, scheduler, Desk};
pub use crate::service::{Clock, ManualClock, SystemClock};
pub use auth::{Role, Tokens};
pub use error::AppError;

/// How to run the daemon.
#[derive(Clone)]
pub struct Options {
    /// Rules directory.
    pub rules: PathBuf,
    /// FAQ bots directory, loaded and reloaded with the rules.
    pub bots: Option<PathBuf>,
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Store URL (`sqlite://frontdesk.db`).
    pub store: String,
    /// API tokens; none means `/v1/*` is open (only allowed on loopback addresses).
    pub tokens: Tokens,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Watch the rules directory and reload on change.
    pub watch: bool,
    /// Run the timer scheduler.
    pub scheduler: bool,
    /// How long claimed timers stay with this process before another replica may take them
    /// over (after a crash, that is how late they fire).
    pub timer_lease: Duration,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Webhook signing secrets per adapter (several for key rotation).
    pub secrets: HashMap<Helpdesk, Vec<String>>,
    /// Outbound connectors (webhooks, Slack, SMTP).
    pub connectors: ConnectorConfig,
    /// The secret survey links are signed with (`FRONTDESK_CSAT_SECRET`, at least 32 bytes);
    /// `None`: surveys offer no links.
    pub csat_secret: Option<String>,
    /// The secret console session cookies are signed with (`FRONTDESK_CONSOLE_SECRET`);
    /// `None`: a random one per process.
    pub console_secret: Option<String>,
    /// Rate limits (per token or address, per chat session).
    pub limits: limit::Limits,
    /// Where agents' presence is read from Chatwoot and how often (with the Chatwoot API among
    /// `connectors.helpdesks`); `None`: statuses change only through the API.
    pub presence: Option<service::presence::PresenceSettings>,
    /// Where trained FAQ bots are kept between starts and reloads (`--model-cache`); `None`:
    /// every load trains them.
    pub model_cache: Option<PathBuf>,
}

impl Options {
    /// Defaults that need nothing installed: `./rules`, `sqlite://frontdesk.db`, 127.0.0.1:8080.
    pub fn new() -> Options {
        Options {
            rules: PathBuf::from("rules"),
            bots: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            store: "sqlite://frontdesk.db".into(),
            tokens: Tokens::default(),
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            watch: true,
            scheduler: true,
            timer_lease: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            secrets: HashMap::new(),
            connectors: ConnectorConfig::default(),
            csat_secret: None,
            console_secret: None,
            limits: limit::Limits::default(),
            presence: None,
            model_cache: None,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

/// What every request handler shares: the desk, and what only HTTP needs.
pub(crate) struct AppState {
    /// Everything the daemon does.
    pub desk: Arc<Desk>,
    /// API tokens.
    pub tokens: Tokens,
    /// Signature checks of the adapters that have secrets.
    pub verifiers: HashMap<Helpdesk, Verifier>,
    /// The rate limits, and their state.
    pub limits: Limiters,
    /// Turns true when the daemon stops: live streams end then.
    pub stop: watch::Receiver<bool>,
    /// The admin console's sessions and templates.
    pub console: console::Console,
}

/// The daemon's limiters.
pub(crate) struct Limiters {
    pub settings: limit::Limits,
    pub api: limit::Limiter,
    pub chat_session: limit::Limiter,
    pub chat_address: limit::Limiter,
}

impl Limiters {
    fn new(settings: &limit::Limits) -> Limiters {
        Limiters {
            api: limit::Limiter::new(settings.api),
            chat_session: limit::Limiter::new(settings.chat_session),
            chat_address: limit::Limiter::new(settings.chat_address),
            settings: settings.clone(),
        }
    }
}

/// A daemon running in this process (for tests and embedding).
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The desk it serves (the same one the scheduler runs on).
    pub state: Arc<Desk>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, closes the store.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        let r = self.task.await.unwrap_or(Ok(()));
        self.state.store.close().await;
        r
    }
}

/// Loads the rules, opens the store and starts serving.
pub async fn start(opts: Options) -> anyhow::Result<Running> {
    if !opts.tokens.enabled() && !opts.listen.ip().is_loopback() {
        anyhow::bail!("refusing to listen on {} without API tokens; set FRONTDESK_API_TOKENS (or listen on 127.0.0.1)", opts.listen);
    }
    let mut verifiers = HashMap::new();
    for (kind, secrets) in &opts.secrets {
        let v = Verifier::new(Scheme::of(*kind), secrets)
            .map_err(|e| anyhow::anyhow!("the {kind} signing secret: {e}"))?;
        verifiers.insert(*kind, v);
    }
    let desk = Desk::open(service::Settings {
        rules: opts.rules.clone(),
        bots: opts.bots.clone(),
        store: opts.store.clone(),
        clock: opts.clock.clone(),
        timer_lease: opts.timer_lease,
        connectors: opts.connectors.clone(),
        csat_secret: opts.csat_secret.clone(),
        presence: opts.presence.clone(),
        models: opts.model_cache.clone(),
    })
    .await?;
    log_survey_links(&desk);
    if let Some((url, every)) = desk.presence_polled() {
        tracing::info!(%url, every_secs = every.as_secs(), "agents' presence is polled from Chatwoot");
    }
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let state = Arc::new(AppState {
        desk: desk.clone(),
        tokens: opts.tokens.clone(),
        verifiers,
        limits: Limiters::new(&opts.limits),
        stop: rx.clone(),
        console: console::Console::new(opts.console_secret.as_deref()),
    });
    let app = routes::router(state, &opts);
    if opts.scheduler {
        tokio::spawn(scheduler::run(desk.clone(), rx.clone()));
    }
    tokio::spawn({
        let desk = desk.clone();
        async move { desk.warm_kpi_days().await }
    });
    if opts.watch {
        reload::watch(desk.clone(), rx.clone());
    }
    let mut stop = rx.clone();
    // Each answer goes out as soon as it is written. With Nagle's algorithm on, a stream's
    // next event (server-sent events after their headers, a second answer on a kept-alive
    // connection) waits for the client's delayed acknowledgement: 40 ms on Linux.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
    });
    let bots = desk.config.load().config.bots().len();
    tracing::info!(%addr, rules = %opts.rules.display(), bots, store = %opts.store, "frontdesk listening");
    Ok(Running {
        addr,
        state: desk,
        shutdown: tx,
        task,
    })
}

/// Says at start whether the pack's surveys carry links, and if not, what is missing.
fn log_survey_links(desk: &Desk) {
    let loaded = desk.config.load();
    let config = &loaded.config;
    if !config.sends_surveys() {
        return;
    }
    match (desk.csat_secret.is_some(), config.public_url()) {
        (true, Some(url)) => tracing::info!(%url, "surveys carry signed rating links"),
        (false, _) => tracing::warn!(
            "surveys carry no rating links: FRONTDESK_CSAT_SECRET is not set; customers can still rate by replying or in the chat"
        ),
        (true, None) => tracing::warn!(
            "surveys carry no rating links: the rules set no settings.public_url; customers can still rate by replying or in the chat"
        ),
    }
}

/// The OpenAPI 3.1 document of the HTTP API.
pub fn openapi_document() -> serde_json::Value {
    openapi::document()
}

/// Reads the recent measured first responses (see [`Desk::refresh_measured`]).
pub async fn refresh_measured(desk: &Desk) -> Result<usize, crate::store::StoreError> {
    desk.refresh_measured().await
}

/// Fires every timer that is due by the desk's clock; returns how many fired. The scheduler
/// loop calls this; tests call it after moving a manual clock.
pub async fn fire_due_timers(desk: &Desk) -> usize {
    scheduler::fire_due(desk).await
}

/// Offers every team's queued tickets to the agents who can take them now (a shift began, an
/// agent came online or finished a ticket); returns how many were assigned.
pub async fn route_queued(desk: &Desk) -> usize {
    service::agents::route_all_queued(desk).await
}

/// Reads agents' presence from Chatwoot once and applies the statuses that changed there (see
/// [`service::presence::poll`]). The scheduler loop does this every `--presence-interval`;
/// tests call it after changing what the helpdesk answers.
pub async fn poll_presence(desk: &Desk) -> Result<service::presence::PollReport, service::Error> {
    service::presence::poll(desk).await
}

/// Runs the cron schedule occurrences due by the desk's clock (once each); returns how many ran.
pub async fn run_schedules(desk: &Desk) -> usize {
    scheduler::run_schedules(desk).await
}

/// Delivers every outbox row that is due by the desk's clock; returns how many were attempted.
pub async fn deliver_due(desk: &Desk) -> usize {
    scheduler::deliver_due(desk).await
}

/// Runs until SIGTERM or SIGINT, reloading on SIGHUP.
///
/// The signal handlers are installed before the daemon listens: a SIGHUP or SIGTERM sent as
/// soon as it answers (a service manager's reload right after start) must not meet the
/// default action, which ends the process.
pub async fn serve(opts: Options) -> anyhow::Result<()> {
    #[cfg(unix)]
    let (hup, term, int) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::hangup())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    let running = start(opts).await?;
    let state = running.state.clone();
    #[cfg(unix)]
    {
        let state = state.clone();
        let mut hup = hup;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading rules");
                let _ = reload::reload(&state).await;
            }
        });
    }
    #[cfg(unix)]
    {
        let (mut term, mut int) = (term, int);
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.stop().await?;
    tracing::info!("stopped");
    Ok(())
}
