//! The service layer: everything the daemon does, without HTTP.
//!
//! [`Desk`] owns the loaded rule pack, the store, the clock and the connectors, and is the only
//! place that sequences store calls: processing an event ([`Desk::process`], the one path of
//! every event into frontdesk), a chat turn ([`chat`]), firing timers, running cron
//! occurrences and delivering the outbox ([`scheduler`]), offering queued tickets to agents
//! ([`agents`]), reading agents' presence from Chatwoot ([`presence`]), reloading the pack
//! ([`reload`]), explaining stored decisions and trying events ([`explain`]), replaying the
//! store against a candidate pack ([`replay`]), and what the admin console reads ([`views`]:
//! ticket search, a ticket's timeline, the SLA board, live counters). Every call returns
//! [`Error`], whose [`Code`] the HTTP layer turns into a status; nothing here knows a request
//! or a response.
//!
//! ```text
//! server (axum handlers: parse → call → respond)
//!    │            scheduler loop ──┐
//!    ▼                             ▼
//! service::Desk ──► engine::decide (pure, inside the store's transaction) ──► store
//! ```

pub mod agents;
pub mod chat;
mod clock;
pub mod csat;
mod error;
pub mod explain;
pub(crate) mod metrics;
pub mod models;
pub mod presence;
pub(crate) mod reload;
pub mod replay;
pub mod reports;
pub(crate) mod scheduler;
pub mod views;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::delivery::{ConnectorConfig, Connectors};
use crate::engine::{self, Decision, Trace};
use crate::model::{Action, Event, Helpdesk, Named, Ticket, TimerSpec};
use crate::rules::RuleError;
use crate::store::{self, Applied, AuditQuery, AuditRow, OutboxRow, Store, TicketRecord};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Code, Error};

/// Ticket fields frontdesk keeps itself; a caller's values for them are dropped.
const KEPT: &[&str] = &["sla", "stats", "csat"];

/// The loaded rule pack and facts about it.
pub struct Loaded {
    /// The compiled pack.
    pub config: Config,
    /// SHA-256 over the pack's files, to compare replicas.
    pub hash: String,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
}

/// What a [`Desk`] is made of.
pub struct Settings {
    /// Rules directory.
    pub rules: PathBuf,
    /// FAQ bots directory, loaded and reloaded with the rules.
    pub bots: Option<PathBuf>,
    /// Store URL (`sqlite://frontdesk.db`).
    pub store: String,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// How long claimed timers and deliveries stay with this process.
    pub timer_lease: Duration,
    /// Outbound connectors.
    pub connectors: ConnectorConfig,
    /// The secret survey links are signed with (`FRONTDESK_CSAT_SECRET`); without one,
    /// surveys offer no links.
    pub csat_secret: Option<String>,
    /// Where agents' presence is read and how often; `None`: not read. It needs the Chatwoot
    /// API among the connectors' helpdesks.
    pub presence: Option<presence::PresenceSettings>,
    /// Where trained FAQ bots are kept between starts and reloads; `None`: every load trains.
    pub models: Option<PathBuf>,
}

/// The desk: the rule pack, the store and the connectors, and every operation on them.
pub struct Desk {
    /// The active rule pack; swapped whole on reload.
    pub config: ArcSwap<Loaded>,
    /// Durable state.
    pub store: Arc<dyn Store>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Rules directory.
    pub rules: PathBuf,
    /// FAQ bots directory, part of the pack.
    pub bots: Option<PathBuf>,
    /// Identifies this process when it claims timers.
    pub instance: String,
    /// Lease on claimed timers.
    pub timer_lease: Duration,
    /// Outbound delivery.
    pub connectors: Connectors,
    /// Serialises reloads.
    reload_lock: tokio::sync::Mutex<()>,
    /// What the last reload attempt came to (none yet: the pack loaded at start).
    last_reload: std::sync::Mutex<Option<reload::Attempt>>,
    /// Per queued ticket, the availability it was last offered to (see `agents::offer`).
    offered: std::sync::Mutex<HashMap<String, u64>>,
    /// When the scheduler last offered every waiting queue (see `agents::sweep_queues_if_due`).
    queues_swept_at: std::sync::Mutex<Option<DateTime<Utc>>>,
    /// Recent measured first responses, for `settings.measured_response`, and when (by the
    /// clock) they were last read from the store.
    measured: ArcSwap<crate::measured::Measured>,
    measured_at: std::sync::Mutex<Option<DateTime<Utc>>>,
    /// Turns of one chat session run one after another (see `chat::SessionLocks`).
    chat_locks: chat::SessionLocks,
    /// The id of every chat session whose transcript or state this process changed, for the
    /// sessions' live streams (`chat::follow`).
    chat_news: tokio::sync::broadcast::Sender<String>,
    /// The key survey links are signed and checked with.
    pub(crate) csat_secret: Option<crate::csat::Secret>,
    /// Agents' presence read from Chatwoot, when configured.
    pub(crate) presence: Option<presence::Polling>,
    /// Where trained FAQ bots are kept (`--model-cache`), for every load of a pack.
    pub(crate) models: Option<Arc<models::ModelDir>>,
}

impl Desk {
    /// Loads the pack, opens the store and the connectors.
    pub async fn open(settings: Settings) -> anyhow::Result<Arc<Desk>> {
        let now = settings.clock.now();
        let models = settings
            .models
            .map(|dir| Arc::new(models::ModelDir::new(dir)));
        // The pack compiles (and its bots train or are read back) on a blocking thread while
        // the store opens and migrates.
        let (loaded, store) = tokio::join!(
            reload::load(
                &settings.rules,
                settings.bots.as_deref(),
                now,
                models.clone()
            ),
            store::open(&settings.store)
        );
        let loaded = loaded.map_err(|d| anyhow::anyhow!("{}:\n{d}", settings.rules.display()))?;
        let store = store?;
        let connectors = Connectors::new(settings.connectors).map_err(anyhow::Error::msg)?;
        let csat_secret = match settings.csat_secret.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                crate::csat::Secret::new(s.as_bytes())
                    .map_err(|e| anyhow::anyhow!("FRONTDESK_CSAT_SECRET: {e}"))?,
            ),
        };
        let presence = match settings.presence {
            None => None,
            Some(p) => match connectors.helpdesk_api(Helpdesk::Chatwoot.name()) {
                Some(api) => Some(presence::Polling::new(p, &api.url)),
                None => {
                    tracing::warn!(
                        account = %p.account,
                        "agents' presence is not polled: a Chatwoot account is set but not its API \
                         (FRONTDESK_CHATWOOT_API_URL, FRONTDESK_CHATWOOT_API_TOKEN)"
                    );
                    None
                }
            },
        };
        let desk = Arc::new(Desk {
            config: ArcSwap::from_pointee(loaded),
            store,
            clock: settings.clock,
            rules: settings.rules,
            bots: settings.bots,
            instance: format!("{}-{}", hostname(), std::process::id()),
            timer_lease: settings.timer_lease,
            connectors,
            reload_lock: tokio::sync::Mutex::new(()),
            last_reload: std::sync::Mutex::new(None),
            offered: Default::default(),
            queues_swept_at: Default::default(),
            measured: Default::default(),
            measured_at: Default::default(),
            chat_locks: Default::default(),
            chat_news: tokio::sync::broadcast::channel(1024).0,
            csat_secret,
            presence,
            models,
        });
        if let Err(e) = desk.refresh_measured().await {
            tracing::warn!(error = %e, "cannot read the measured first responses; promising the targets");
        }
        Ok(desk)
    }

    /// Tells the live streams of chat session `id` that it changed.
    pub(crate) fn chat_changed(&self, id: &str) {
        // Nobody listening is no error.
        let _ = self.chat_news.send(id.to_string());
    }

    /// The FAQ bots the chat API serves: the active pack's (swapped with it on reload).
    pub fn bots(&self) -> Arc<crate::faq::BotSet> {
        self.config.load().config.bots_shared()
    }

    /// Decides and stores one event: the single path of every event into frontdesk. A slot
    /// freed by the decision is offered to the tickets waiting in the agent's teams.
    ///
    /// `patch` is the ticket exactly as the caller sent it (JSON), so fields it leaves out
    /// keep their stored values; without it the event's whole ticket is used.
    pub async fn process(
        &self,
        event: Event,
        patch: Option<serde_json::Value>,
        explain: bool,
    ) -> Result<Applied, Error> {
        // A person's message on a chat's handoff ticket goes on to the chat.
        let line = chat::person_line(&event);
        let (applied, freed) = self.decide_and_store(event, patch, explain).await?;
        if !freed.is_empty() {
            agents::route_queued_for(self, &freed).await;
        }
        if let Some(line) = line {
            chat::add_person_line(self, line, &applied.decision.ticket).await?;
        }
        Ok(applied)
    }

    /// A delivery translated by the adapter of `helpdesk`: records which helpdesk the ticket
    /// lives in (and its account), and whether its actions go through that helpdesk's API, so
    /// timers' actions go there too; then [`Desk::process`].
    ///
    /// A conversation frontdesk opened for a handed-off chat is the chat's ticket
    /// (`chat-<session>`): its events are decided for that ticket, taking from the helpdesk
    /// only what people change there (status, assignee, group), and the customer's
    /// messages, which frontdesk itself carried there, are not taken twice: `Ok(Err(reason))`.
    pub async fn process_inbound(
        &self,
        helpdesk: Helpdesk,
        mut event: Event,
        explain: bool,
    ) -> Result<Result<Applied, String>, Error> {
        let mut patch = None;
        if helpdesk.calls_back() {
            let name = helpdesk.name();
            let account = event
                .data
                .get(name)
                .and_then(|d| d.get("account_id"))
                .and_then(|a| match a {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            let mut source = crate::model::Source {
                api: self.connectors.calls_back(name),
                helpdesk: name.to_string(),
                account,
                id: None,
            };
            // The link frontdesk recorded, or (before it is recorded) the conversation's own
            // attribute naming the chat's ticket, which frontdesk set when it opened it.
            let linked = match self.store.linked_ticket(name, &event.ticket.id).await? {
                Some(t) => Some(t),
                None => event
                    .ticket
                    .fields
                    .get("frontdesk_ticket")
                    .and_then(|v| v.as_str())
                    .filter(|t| t.starts_with("chat-"))
                    .map(str::to_string),
            };
            if let Some(ticket) = linked {
                // The conversation's creation and the customer's lines (the transcript among
                // them) are frontdesk's own, coming back.
                let customers = event
                    .message
                    .as_ref()
                    .is_some_and(|m| m.author == crate::model::Author::Customer);
                if event.kind == crate::model::EventType::TicketCreated || customers {
                    return Ok(Err(format!(
                        "conversation {} is chat ticket `{ticket}`, which frontdesk opened there: its creation and the customer's messages come from the chat",
                        event.ticket.id
                    )));
                }
                source.id = Some(std::mem::replace(&mut event.ticket.id, ticket.clone()));
                let t = &event.ticket;
                let mut p =
                    serde_json::json!({ "id": ticket, "source": source, "status": t.status });
                if let Some(a) = &t.assignee {
                    p["assignee"] = serde_json::json!(a);
                }
                if let Some(g) = &t.group {
                    p["group"] = serde_json::json!(g);
                }
                patch = Some(p);
            }
            event.ticket.source = Some(source);
        }
        Ok(Ok(self.process(event, patch, explain).await?))
    }

    /// [`Desk::process`] without offering freed slots; also returns the agents whose open
    /// tickets went down by this decision.
    async fn decide_and_store(
        &self,
        mut event: Event,
        patch: Option<serde_json::Value>,
        explain: bool,
    ) -> Result<(Applied, Vec<String>), Error> {
        let loaded = self.config.load_full();
        let need = loaded.config.routing_need(event.kind).clone();
        let freed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let now = self.clock.now();
        let fingerprint = store::fingerprint(&event);
        let patch = accept(&mut event, patch, now);
        let started = std::time::Instant::now();
        let kind = event.kind;
        let measured = self.measured.load_full();
        let csat_secret = self.csat_secret.clone();
        let read = crate::rules::read_ahead(
            loaded.config.bots(),
            loaded.config.bots_asked(event.kind),
            &event,
        );
        let decide: store::RoutedDecideFn = {
            let event = event.clone();
            let patch = patch.clone();
            let freed = freed.clone();
            Box::new(move |prior: Option<Ticket>, routing| -> Decision {
                let ev = crate::plan::prepare(prior.as_ref(), &event, patch.as_ref());
                let ticket = &ev.ticket;
                let t = std::time::Instant::now();
                let ctx = engine::Context {
                    routing,
                    measured: measured.clone(),
                    csat_secret: csat_secret.clone(),
                    prior,
                    faq: read,
                };
                let d = if explain {
                    engine::explain_with(&loaded.config, &ctx, ticket, &ev, now)
                } else {
                    engine::decide_with(&loaded.config, &ctx, ticket, &ev, now)
                };
                metrics::decided(&d, t.elapsed());
                if let Some(p) = ctx.prior.as_ref().filter(|p| store::is_open(p)) {
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
            .apply_routed(event, patch, fingerprint, now, need, decide)
            .await;
        metrics::store_latency(started.elapsed());
        match result {
            Ok(applied) => {
                // One line per event, with what names it: no span, whose fields the JSON
                // format would write (and the subscriber format and parse again) per line.
                let d = &applied.decision;
                metrics::event(
                    kind,
                    if applied.replayed {
                        "replayed"
                    } else {
                        "decided"
                    },
                );
                for e in &d.trace.errors {
                    tracing::warn!(event_id = %d.event_id, ticket_id = %d.ticket.id, rule = %e.rule, path = %e.path, "{}", e.message);
                }
                tracing::info!(
                    event_id = %d.event_id,
                    ticket_id = %d.ticket.id,
                    %kind,
                    rules = %Fired(&d.trace.fired),
                    replayed = applied.replayed,
                    actions = d.actions.len(),
                    "decided"
                );
                if !applied.replayed {
                    metrics::routed(&applied.decision);
                    metrics::kpi(&applied.decision.kpi);
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

    /// A ticket with its timers and history.
    pub async fn ticket(&self, id: &str) -> Result<TicketRecord, Error> {
        self.store
            .ticket(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no ticket `{id}` has been seen")).field("id"))
    }

    /// The audit log, newest first.
    pub async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, Error> {
        Ok(self.store.audit(q).await?)
    }

    /// Outbox rows, newest first, optionally of one state (`pending`, `delivered`, `dead`).
    /// [`Desk::outbox_page`] reads them a page at a time.
    pub async fn outbox(&self, state: Option<&str>, limit: u32) -> Result<Vec<OutboxRow>, Error> {
        if let Some(s) = state {
            views::outbox_state(s)?;
        }
        Ok(self.store.outbox(state, limit).await?)
    }

    /// Puts an outbox row back to pending, due now.
    pub async fn redeliver(&self, id: &str) -> Result<(), Error> {
        if self.store.redeliver(id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(Error::not_found(format!("no outbox row `{id}`")).field("id"))
        }
    }

    /// Whether survey links can be offered and checked: a link secret, and a pack with
    /// `settings.public_url`.
    pub fn survey_links(&self) -> bool {
        self.csat_secret.is_some() && self.config.load().config.public_url().is_some()
    }

    /// Where agents' presence is polled (the URL of the Chatwoot account's agent list) and
    /// how often; `None` when it is not.
    pub fn presence_polled(&self) -> Option<(&str, Duration)> {
        self.presence
            .as_ref()
            .map(|p| (p.url.as_str(), p.settings.interval))
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> Result<(), Error> {
        self.store
            .ping()
            .await
            .map_err(|e| Error::new(Code::NotReady, e.to_string()))
    }

    /// Facts about the active rule pack.
    pub fn config_info(&self) -> ConfigInfo {
        let loaded = self.config.load();
        ConfigInfo {
            hash: loaded.hash.clone(),
            loaded_at: loaded.loaded_at,
            rules: loaded.config.rule_names().map(str::to_string).collect(),
            files: loaded
                .config
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
            bots: loaded
                .config
                .bots()
                .iter()
                .map(|b| b.name().to_string())
                .collect(),
        }
    }

    /// Reads the recent measured first responses from the store, when the pack blends them
    /// into expected responses (`settings.measured_response`); returns how many samples are in
    /// use. The scheduler loop calls this once a minute; tests call it after deciding events.
    pub async fn refresh_measured(&self) -> Result<usize, store::StoreError> {
        let loaded = self.config.load_full();
        let Some(settings) = loaded.config.measured_response() else {
            self.measured.store(Default::default());
            return Ok(0);
        };
        let now = self.clock.now();
        let rows = self
            .store
            .response_samples(now - settings.window, crate::measured::MAX_SAMPLES)
            .await?;
        let measured = crate::measured::Measured::from_rows(rows);
        let n = measured.len();
        self.measured.store(Arc::new(measured));
        *self.measured_at.lock().expect("measured lock") = Some(now);
        Ok(n)
    }

    /// [`Desk::refresh_measured`] when the last read is a minute old (by the clock).
    pub(crate) async fn refresh_measured_if_due(&self) {
        let last = *self.measured_at.lock().expect("measured lock");
        if last.is_some_and(|t| self.clock.now() - t < crate::measured::REFRESH) {
            return;
        }
        if let Err(e) = self.refresh_measured().await {
            tracing::warn!(error = %e, "cannot read the measured first responses; keeping the last ones");
        }
    }
}

/// Reads an event as `POST /v1/events` takes it (the playground too): the event, and its
/// ticket exactly as the caller sent it, so that fields it leaves out keep their stored values.
/// A body that is no valid event is `invalid_event`, naming the failing field.
pub fn read_event(value: serde_json::Value) -> Result<(Event, Option<serde_json::Value>), Error> {
    let patch = value.get("ticket").cloned();
    let event = Event::from_value(value).map_err(|e| Error::invalid_event(&e))?;
    if event.id.trim().is_empty() {
        return Err(Error::invalid_event("id: must not be empty"));
    }
    if event.ticket.id.trim().is_empty() {
        return Err(Error::invalid_event("ticket.id: must not be empty"));
    }
    Ok((event, patch))
}

/// An event as it is decided: it happened at `now` unless it says when, and frontdesk keeps
/// `ticket.sla`, `ticket.stats` and `ticket.csat` itself, so what a caller sends there (in the
/// event's ticket or the patch) is not taken over. Returns the patch.
fn accept(
    event: &mut Event,
    patch: Option<serde_json::Value>,
    now: DateTime<Utc>,
) -> Option<serde_json::Value> {
    if event.occurred_at.is_none() {
        event.occurred_at = Some(now);
    }
    event.ticket.sla = None;
    event.ticket.stats = None;
    event.ticket.csat = None;
    patch.map(|mut p| {
        if let Some(obj) = p.as_object_mut() {
            for kept in KEPT {
                obj.remove(*kept);
            }
        }
        p
    })
}

/// The rules that fired, written `a, b` in a log line without a string made for it.
struct Fired<'a>(&'a [String]);

impl std::fmt::Display for Fired<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, rule) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(rule)?;
        }
        Ok(())
    }
}

/// The answer to an event.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventResponse {
    /// The event decided.
    pub event_id: String,
    /// The event had been decided before; this is the stored decision and nothing was applied again.
    pub replayed: bool,
    /// The ticket after the actions.
    pub ticket: Ticket,
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// Timers started.
    pub timers: Vec<TimerSpec>,
    /// Pending timers cancelled by name (SLA clocks met, paused or stopped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled_timers: Vec<String>,
    /// Rules that fired.
    pub rules: Vec<String>,
    /// Problems met while deciding (a failing script or template).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RuleError>,
    /// Every rule's outcome (with `?explain=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
}

impl EventResponse {
    /// The answer to an applied event; the trace only when asked for.
    pub fn new(applied: Applied, explain: bool) -> EventResponse {
        let d = applied.decision;
        EventResponse {
            event_id: d.event_id,
            replayed: applied.replayed,
            ticket: d.ticket,
            actions: d.actions,
            timers: d.timers,
            cancelled_timers: d.cancelled_timers,
            rules: d.trace.fired.clone(),
            errors: d.trace.errors.clone(),
            trace: explain.then_some(d.trace),
        }
    }
}

/// Facts about the active rule pack.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConfigInfo {
    /// SHA-256 over every file of the pack directory (relative paths and contents, scripts
    /// included): equal on replicas running the same rules, wherever the pack is installed.
    pub hash: String,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
    /// Rules, in evaluation order.
    pub rules: Vec<String>,
    /// Files.
    pub files: Vec<String>,
    /// FAQ bots loaded with the rules (their hash is part of `hash`).
    #[serde(default)]
    pub bots: Vec<String>,
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "frontdesk".into())
}
