//! What-if replay over the store's events ([`crate::replay`], `docs/replay.md`): the events
//! received since a time, read a page at a time in the order they were decided
//! ([`EventPages`], which `frontdesk replay` reads a store with too), decided again against a
//! candidate pack ([`Desk::replay`]). Nothing is delivered or written.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{reload, Desk, Error};
use crate::replay::{self, Recorded, Replay, ReplayReport};
use crate::store::{Store, StoreError};

/// The most events [`Desk::replay`] reads: a replay keeps every ticket it sees in memory.
pub const MAX_EVENTS: usize = 200_000;

/// Events read from the store per page.
const PAGE: u32 = 2_000;

/// The events received at `since` or later, in the order they were decided, a page at a time,
/// up to a cap.
pub struct EventPages<'s> {
    store: &'s dyn Store,
    since: DateTime<Utc>,
    /// The last event read (0: none yet).
    after: i64,
    /// How many more may be read; `None`: no cap.
    left: Option<usize>,
    capped: bool,
    done: bool,
}

impl<'s> EventPages<'s> {
    /// The events of `store` received at `since` or later, at most `cap` of them.
    pub fn new(store: &'s dyn Store, since: DateTime<Utc>, cap: Option<usize>) -> EventPages<'s> {
        EventPages {
            store,
            since,
            after: 0,
            left: cap,
            capped: false,
            done: false,
        }
    }

    /// The next page; `None` after the last (or once the cap is reached).
    pub async fn next(&mut self) -> Result<Option<Vec<Recorded>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let size = match self.left {
            Some(0) => {
                // The cap is reached: was anything left out?
                self.done = true;
                let more = self.store.events_page(self.after, self.since, 1).await?;
                self.capped = !more.is_empty();
                return Ok(None);
            }
            Some(left) => PAGE.min(u32::try_from(left).unwrap_or(PAGE)),
            None => PAGE,
        };
        let page = self.store.events_page(self.after, self.since, size).await?;
        let Some(last) = page.last() else {
            self.done = true;
            return Ok(None);
        };
        self.after = last.seq;
        if let Some(left) = &mut self.left {
            *left = left.saturating_sub(page.len());
        }
        Ok(Some(
            page.into_iter()
                .map(|r| Recorded {
                    received_at: r.received_at,
                    event: r.event,
                    sent: r.sent,
                    decision: r.decision,
                })
                .collect(),
        ))
    }

    /// Whether the cap left events out (known once [`EventPages::next`] gave `None`).
    pub fn capped(&self) -> bool {
        self.capped
    }
}

/// What [`Desk::replay`] came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReplayOutcome {
    /// The candidate compiled and the events were decided again.
    Replayed(Box<Replayed>),
    /// The candidate does not compile: nothing was replayed.
    Invalid(Invalid),
}

/// A replay that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replayed {
    /// The candidate pack's hash (as `GET /v1/admin/config` would show it once loaded).
    pub candidate: String,
    /// Events received since this time were read.
    pub since: DateTime<Utc>,
    /// More events were received since then than [`MAX_EVENTS`]: the first of them were
    /// replayed, the rest left out.
    pub capped: bool,
    /// The candidate's warnings (`file:line:col: warning: ...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Rules before and after, changed tickets, KPI deltas.
    pub report: ReplayReport,
}

/// A candidate that does not compile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invalid {
    /// How many errors.
    pub errors: usize,
    /// Every diagnostic, errors and warnings, each `file:line:col: path: message`.
    pub diagnostics: Vec<String>,
}

impl Desk {
    /// Decides the events received since `since` (the first [`MAX_EVENTS`] of them, in the
    /// order they were decided) again against the candidate pack in `candidate_rules` (its bots
    /// in `candidate_bots`, else `bots/` beside it when there is one), listing up to `limit`
    /// changed tickets with their actions. The candidate is compiled, and the events decided,
    /// off the async threads. A candidate with errors is [`ReplayOutcome::Invalid`] with its
    /// diagnostics; a path that is not a directory is `invalid_request`.
    pub async fn replay(
        &self,
        candidate_rules: &Path,
        candidate_bots: Option<&Path>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<ReplayOutcome, Error> {
        for (dir, field) in [(Some(candidate_rules), "rules"), (candidate_bots, "bots")] {
            if let Some(dir) = dir.filter(|d| !d.is_dir()) {
                return Err(Error::invalid_request(
                    format!("`{}` is not a directory", dir.display()),
                    field,
                ));
            }
        }
        let bots = match candidate_bots {
            Some(dir) => Some(dir.to_path_buf()),
            None => crate::config::default_bots_dir(candidate_rules),
        };
        let loaded = match reload::load(
            candidate_rules,
            bots.as_deref(),
            self.clock.now(),
            self.models.clone(),
        )
        .await
        {
            Ok(loaded) => loaded,
            Err(diags) => {
                return Ok(ReplayOutcome::Invalid(Invalid {
                    errors: diags.error_count(),
                    diagnostics: diags.items().iter().map(ToString::to_string).collect(),
                }))
            }
        };
        let candidate = loaded.hash.clone();
        let warnings = loaded
            .config
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect();
        let options = replay::Options {
            csat_secret: self.csat_secret.clone(),
            max_changed: limit,
        };
        // The store is read here while the pages read so far are decided on a blocking thread.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Recorded>>(2);
        let config = loaded.config;
        let worker = tokio::task::spawn_blocking(move || {
            let mut replay = Replay::new(&config, options);
            while let Some(page) = rx.blocking_recv() {
                for rec in page {
                    replay.feed(rec);
                }
            }
            replay.finish()
        });
        let mut pages = EventPages::new(&*self.store, since, Some(MAX_EVENTS));
        let read = async {
            while let Some(page) = pages.next().await? {
                if tx.send(page).await.is_err() {
                    break;
                }
            }
            Ok::<_, StoreError>(())
        }
        .await;
        drop(tx);
        let report = worker
            .await
            .map_err(|e| Error::internal(format!("the replay failed: {e}")))?;
        read?;
        Ok(ReplayOutcome::Replayed(Box::new(Replayed {
            candidate,
            since,
            capped: pages.capped(),
            warnings,
            report,
        })))
    }
}
