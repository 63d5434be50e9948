//! The daemon: an HTTP API in front of [`crate::engine::decide`] and a [`crate::store::Store`].
//!
//! Every event follows one path ([`AppState::process`]): parse, decide against the stored
//! ticket inside the store's transaction, commit, answer. The timer scheduler and the inbound
//! adapters feed the same path.

mod agents;
pub mod auth;
pub mod chat;
pub mod error;
mod metrics;
mod openapi;
mod reload;
mod routes;
mod scheduler;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::Instrument;

use crate::adapters::signature::Verifier;
use crate::adapters::AdapterKind;
use crate::config::Config;
use crate::delivery::{ConnectorConfig, Connectors};
use crate::engine::{self, Decision};
use crate::model::{Event, Ticket};
use crate::store::{self, Applied, Store};
pub use auth::Tokens;
pub use error::AppError;

/// Where the shell gets the time. Tests use a fixed clock; nothing inside `decide` reads one.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set by hand.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock stopped at `t`.
    pub fn new(t: DateTime<Utc>) -> ManualClock {
        ManualClock(std::sync::Mutex::new(t))
    }

    /// Moves the clock.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

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
    pub secrets: HashMap<AdapterKind, Vec<String>>,
    /// Outbound connectors (webhooks, Slack, SMTP).
    pub connectors: ConnectorConfig,
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
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

/// The loaded rule pack and facts about it.
pub struct Loaded {
    /// The compiled pack.
    pub config: Config,
    /// SHA-256 over the pack's files, to compare replicas.
    pub hash: String,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
}

/// What every request handler shares.
pub struct AppState {
    /// The active rule pack; swapped whole on reload.
    pub config: ArcSwap<Loaded>,
    /// Durable state.
    pub store: Arc<dyn Store>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// API tokens.
    pub tokens: Tokens,
    /// Rules directory.
    pub rules: PathBuf,
    /// FAQ bots directory, part of the pack.
    pub bots: Option<PathBuf>,
    /// Serialises reloads.
    reload_lock: tokio::sync::Mutex<()>,
    /// Identifies this process when it claims timers.
    pub instance: String,
    /// Lease on claimed timers.
    pub timer_lease: Duration,
    /// Signature checks of the adapters that have secrets.
    pub verifiers: HashMap<AdapterKind, Verifier>,
    /// Outbound delivery.
    pub connectors: Connectors,
    /// Per queued ticket, the availability it was last offered to (see `agents::route_queued`).
    offered: std::sync::Mutex<HashMap<String, u64>>,
    /// Recent measured first responses, for `settings.measured_response`, and when (by the
    /// clock) they were last read from the store.
    measured: ArcSwap<crate::measured::Measured>,
    measured_at: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// Turns of one chat session run one after another (see `chat::SessionLocks`).
    chat_locks: chat::SessionLocks,
}

impl AppState {
    /// The FAQ bots the chat API serves: the active pack's (swapped with it on reload).
    pub fn bots(&self) -> Arc<crate::faq::BotSet> {
        self.config.load().config.bots_shared()
    }

    /// Decides and stores one event: the single path of every event into frontdesk.
    ///
    /// `patch` is the ticket exactly as the caller sent it (JSON), so fields it leaves out
    /// keep their stored values; without it the event's whole ticket is used.
    pub async fn process(
        &self,
        event: Event,
        patch: Option<serde_json::Value>,
        explain: bool,
    ) -> Result<Applied, AppError> {
        let (applied, freed) = self.decide_and_store(event, patch, explain).await?;
        if !freed.is_empty() {
            // A slot opened: offer it to the tickets waiting in the agent's teams.
            agents::route_queued_for(self, &freed).await;
        }
        Ok(applied)
    }

    /// [`AppState::process`] without offering freed slots; also returns the agents whose
    /// open tickets went down by this decision.
    async fn decide_and_store(
        &self,
        mut event: Event,
        patch: Option<serde_json::Value>,
        explain: bool,
    ) -> Result<(Applied, Vec<String>), AppError> {
        let loaded = self.config.load_full();
        let need = loaded.config.routing_need(event.kind).clone();
        let freed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let now = self.clock.now();
        let fingerprint = store::fingerprint(&event);
        if event.occurred_at.is_none() {
            event.occurred_at = Some(now);
        }
        let span = tracing::info_span!("event", event_id = %event.id, ticket_id = %event.ticket.id, kind = %event.kind, rules = tracing::field::Empty);
        let started = std::time::Instant::now();
        let kind = event.kind;
        // frontdesk keeps `ticket.sla` itself: what a caller sends there is not taken over.
        let patch = patch.map(|mut p| {
            if let Some(obj) = p.as_object_mut() {
                obj.remove("sla");
            }
            p
        });
        event.ticket.sla = None;
        let measured = self.measured.load_full();
        let decide: store::RoutedDecideFn = {
            let event = event.clone();
            let freed = freed.clone();
            Box::new(move |prior: Option<Ticket>, routing| -> Decision {
                let mut ev = event.clone();
                let ticket = match &prior {
                    Some(p) => {
                        let patch = patch.unwrap_or_else(|| {
                            serde_json::to_value(&event.ticket).unwrap_or_default()
                        });
                        p.overlay(&patch).unwrap_or_else(|_| event.ticket.clone())
                    }
                    None => event.ticket.clone(),
                };
                if ev.changes.is_empty() {
                    if let Some(p) = &prior {
                        ev.changes = ticket.changes_since(p);
                    }
                }
                ev.ticket = ticket.clone();
                let t = std::time::Instant::now();
                let ctx = engine::Context {
                    routing,
                    measured: measured.clone(),
                };
                let d = if explain {
                    engine::explain_with(&loaded.config, &ctx, &ticket, &ev, now)
                } else {
                    engine::decide_with(&loaded.config, &ctx, &ticket, &ev, now)
                };
                metrics::decided(&d, t.elapsed());
                if let Some(p) = prior.as_ref().filter(|p| store::is_open(p)) {
                    if let Some(a) = &p.assignee {
                        if d.ticket.assignee.as_ref() != Some(a) || !store::is_open(&d.ticket) {
                            freed.lock().expect("freed lock").push(a.clone());
                        }
                    }
                }
                d
            })
        };
        let result = self
            .store
            .apply_routed(event, fingerprint, now, need, decide)
            .instrument(span.clone())
            .await;
        let _enter = span.enter();
        metrics::store_latency(started.elapsed());
        match result {
            Ok(applied) => {
                span.record(
                    "rules",
                    tracing::field::display(applied.decision.trace.fired.join(", ")),
                );
                metrics::event(
                    kind,
                    if applied.replayed {
                        "replayed"
                    } else {
                        "decided"
                    },
                );
                for e in &applied.decision.trace.errors {
                    tracing::warn!(rule = %e.rule, path = %e.path, "{}", e.message);
                }
                tracing::info!(
                    replayed = applied.replayed,
                    actions = applied.decision.actions.len(),
                    "decided"
                );
                if !applied.replayed {
                    metrics::routed(&applied.decision);
                }
                let freed = if applied.replayed {
                    Vec::new()
                } else {
                    std::mem::take(&mut *freed.lock().expect("freed lock"))
                };
                Ok((applied, freed))
            }
            Err(e) => {
                metrics::event(kind, "failed");
                Err(e.into())
            }
        }
    }
}

/// A daemon running in this process (for tests and embedding).
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Shared state.
    pub state: Arc<AppState>,
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
    let loaded = reload::load(&opts.rules, opts.bots.as_deref(), opts.clock.now())
        .await
        .map_err(|d| anyhow::anyhow!("{}:\n{d}", opts.rules.display()))?;
    if !opts.tokens.enabled() && !opts.listen.ip().is_loopback() {
        anyhow::bail!("refusing to listen on {} without API tokens; set FRONTDESK_API_TOKENS (or listen on 127.0.0.1)", opts.listen);
    }
    let mut verifiers = HashMap::new();
    for (kind, secrets) in &opts.secrets {
        let v = Verifier::new(kind.scheme(), secrets)
            .map_err(|e| anyhow::anyhow!("the {kind} signing secret: {e}"))?;
        verifiers.insert(*kind, v);
    }
    let connectors = Connectors::new(opts.connectors.clone()).map_err(anyhow::Error::msg)?;
    let store = store::open(&opts.store).await?;
    let state = Arc::new(AppState {
        config: ArcSwap::from_pointee(loaded),
        store,
        clock: opts.clock.clone(),
        tokens: opts.tokens.clone(),
        rules: opts.rules.clone(),
        bots: opts.bots.clone(),
        reload_lock: tokio::sync::Mutex::new(()),
        instance: format!("{}-{}", hostname(), std::process::id()),
        timer_lease: opts.timer_lease,
        verifiers,
        connectors,
        offered: Default::default(),
        measured: Default::default(),
        measured_at: Default::default(),
        chat_locks: Default::default(),
    });
    if let Err(e) = refresh_measured(&state).await {
        tracing::warn!(error = %e, "cannot read the measured first responses; promising the targets");
    }
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let app = routes::router(state.clone(), &opts);
    if opts.scheduler {
        tokio::spawn(scheduler::run(state.clone(), rx.clone()));
    }
    if opts.watch {
        reload::watch(state.clone(), rx.clone());
    }
    let mut stop = rx.clone();
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
    let bots = state.config.load().config.bots().len();
    tracing::info!(%addr, rules = %opts.rules.display(), bots, store = %opts.store, "frontdesk listening");
    Ok(Running {
        addr,
        state,
        shutdown: tx,
        task,
    })
}

/// The OpenAPI 3.1 document of the HTTP API.
pub fn openapi_document() -> serde_json::Value {
    openapi::document()
}

/// How often the measured first responses are read again.
const MEASURED_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Reads the recent measured first responses from the store, when the pack blends them into
/// expected responses (`settings.measured_response`); returns how many samples are in use.
/// The scheduler loop calls this once a minute; tests call it after deciding some events.
pub async fn refresh_measured(state: &AppState) -> Result<usize, store::StoreError> {
    let loaded = state.config.load_full();
    let Some(settings) = loaded.config.measured_response() else {
        state.measured.store(Default::default());
        return Ok(0);
    };
    let now = state.clock.now();
    let rows = state
        .store
        .response_samples(now - settings.window, crate::measured::MAX_SAMPLES)
        .await?;
    let measured = crate::measured::Measured::from_rows(rows);
    let n = measured.len();
    state.measured.store(Arc::new(measured));
    *state.measured_at.lock().expect("measured lock") = Some(now);
    Ok(n)
}

/// [`refresh_measured`] when the last read is a minute old (by the state's clock).
pub(crate) async fn refresh_measured_if_due(state: &AppState) {
    let last = *state.measured_at.lock().expect("measured lock");
    if last.is_some_and(|t| state.clock.now() - t < MEASURED_EVERY) {
        return;
    }
    if let Err(e) = refresh_measured(state).await {
        tracing::warn!(error = %e, "cannot read the measured first responses; keeping the last ones");
    }
}

/// Fires every timer that is due by the state's clock; returns how many fired. The scheduler
/// loop calls this; tests call it after moving a manual clock.
pub async fn fire_due_timers(state: &AppState) -> usize {
    scheduler::fire_due(state).await
}

/// Offers every team's queued tickets to the agents who can take them now (a shift began, an
/// agent came online or finished a ticket); returns how many were assigned. The scheduler loop
/// calls this; tests call it after moving a manual clock.
pub async fn route_queued(state: &AppState) -> usize {
    agents::route_all_queued(state).await
}

/// Runs the cron schedule occurrences due by the state's clock (once each); returns how many
/// ran. The scheduler loop calls this; tests call it after moving a manual clock.
pub async fn run_schedules(state: &AppState) -> usize {
    scheduler::run_schedules(state).await
}

/// Delivers every outbox row that is due by the state's clock; returns how many were attempted.
pub async fn deliver_due(state: &AppState) -> usize {
    scheduler::deliver_due(state).await
}

/// Runs until SIGTERM or SIGINT, reloading on SIGHUP.
pub async fn serve(opts: Options) -> anyhow::Result<()> {
    let running = start(opts).await?;
    let state = running.state.clone();
    #[cfg(unix)]
    {
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading rules");
                let _ = reload::reload(&state).await;
            }
        });
    }
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "frontdesk".into())
}
