//! What the admin console reads: a ticket search ([`Desk::search_tickets`]), a ticket's
//! timeline ([`Desk::timeline`]), the SLA board ([`Desk::sla_board`]), the live counters
//! ([`Desk::live_counters`]) and the outbox by state ([`Desk::outbox_counts`],
//! [`Desk::outbox_page`]).
//!
//! Reads only; each one a few store reads, shaped for pages that render them (every type here
//! is `Serialize`). What a pending SLA timer will announce is the core's answer
//! ([`crate::sla::announces`]), not worked out here.

use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::{Code, Desk, Error};
use crate::bot::{Message as ChatMessage, Session};
use crate::model::{Channel, EventType, Metric, Priority, SlaState, Status, Ticket};
use crate::store::{Count, OutboxRow, RecordedEvent, TicketQuery, TicketRecord, TicketRow};

/// Tickets on a page of a search unless the filter says otherwise.
pub const DEFAULT_PAGE: u32 = 50;
/// The most tickets on a page of a search.
pub const MAX_PAGE: u32 = 200;
/// The most events a timeline holds (the newest are kept).
pub const TIMELINE_EVENTS: u32 = 500;
/// The most outbox rows a timeline holds (the newest are kept).
pub const TIMELINE_OUTBOX: u32 = 500;
/// The most rows of each list of the SLA board.
pub const SLA_BOARD_ROWS: u32 = 200;
/// How long a breach of a clock that no longer runs stays on the SLA board.
pub const SLA_BREACH_SHOWN: Duration = Duration::hours(24);

/// A ticket search, as a query string fills it (`?status=open&tag=vip&after=...`). Every
/// filter given must hold; an empty value is no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TicketFilter {
    /// In this status.
    #[serde(deserialize_with = "named")]
    pub status: Option<Status>,
    /// Of this priority.
    #[serde(deserialize_with = "named")]
    pub priority: Option<Priority>,
    /// From this channel.
    #[serde(deserialize_with = "named")]
    pub channel: Option<Channel>,
    /// Carrying this tag (the whole tag, in any case).
    #[serde(deserialize_with = "text")]
    pub tag: Option<String>,
    /// In this group (`ticket.group`), exactly.
    #[serde(deserialize_with = "text")]
    pub team: Option<String>,
    /// Assigned to this agent, exactly.
    #[serde(deserialize_with = "text")]
    pub assignee: Option<String>,
    /// With this text in the customer's id, e-mail address or name, in any case.
    #[serde(deserialize_with = "text")]
    pub customer: Option<String>,
    /// With this text in the subject or in any message of the ticket, in any case.
    #[serde(deserialize_with = "text")]
    pub text: Option<String>,
    /// Open tickets only (not solved, not closed). A query string may say `true`, `1` or
    /// `on` (a checkbox), or `false`, `0`, `off` or nothing.
    #[serde(deserialize_with = "flag")]
    pub open_only: bool,
    /// Tickets on a page: 0 (or nothing) for [`DEFAULT_PAGE`], at most [`MAX_PAGE`].
    #[serde(deserialize_with = "number")]
    pub limit: u32,
    /// Where the page starts: [`TicketPage::next`] of the previous page.
    #[serde(deserialize_with = "text")]
    pub after: Option<String>,
}

/// A page of tickets a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketPage {
    /// The tickets, newest `updated_at` first (ties by id, descending).
    pub rows: Vec<TicketSummary>,
    /// The `after` of the next page; `None` on the last one.
    pub next: Option<String>,
}

/// A ticket in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketSummary {
    /// The ticket's id.
    pub id: String,
    /// Its subject (empty for chats).
    pub subject: String,
    /// Its status.
    pub status: Status,
    /// Its priority.
    pub priority: Priority,
    /// Where it came from.
    pub channel: Channel,
    /// Its group (team).
    pub group: Option<String>,
    /// The agent it is assigned to.
    pub assignee: Option<String>,
    /// The customer's name, else their e-mail address.
    pub customer: Option<String>,
    /// Its tags, in the order they were added.
    pub tags: Vec<String>,
    /// The customer's language tag.
    pub language: Option<String>,
    /// When it was created: the helpdesk's time, else when frontdesk first saw it.
    pub created_at: DateTime<Utc>,
    /// When frontdesk last decided an event of it.
    pub updated_at: DateTime<Utc>,
    /// The earliest due time of its running SLA clocks (past when a clock is late).
    pub sla_next_due: Option<DateTime<Utc>>,
}

impl From<TicketRow> for TicketSummary {
    fn from(row: TicketRow) -> TicketSummary {
        let t = row.ticket;
        let customer = t.customer.name.clone().or(t.customer.email.clone());
        TicketSummary {
            sla_next_due: t.sla.as_ref().and_then(SlaState::next_due),
            language: t.customer.language,
            customer,
            id: t.id,
            subject: t.subject,
            status: t.status,
            priority: t.priority,
            channel: t.channel,
            group: t.group,
            assignee: t.assignee,
            tags: t.tags,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Everything frontdesk holds about one ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// The ticket, its timers (newest first) and the rules that fired for it (oldest first).
    pub record: TicketRecord,
    /// Its events, oldest first, each with when it arrived and the decision it got.
    pub events: Vec<RecordedEvent>,
    /// Older events were left out: only the newest [`TIMELINE_EVENTS`] are here.
    pub events_cut: bool,
    /// Its outbox rows in every state, newest first.
    pub outbox: Vec<OutboxRow>,
    /// Older outbox rows were left out: only the newest [`TIMELINE_OUTBOX`] are here.
    pub outbox_cut: bool,
    /// For a chat's ticket (`chat-<session>`): the session and its transcript.
    pub chat: Option<ChatTimeline>,
}

/// The chat a ticket was opened for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatTimeline {
    /// The session as stored.
    pub session: Session,
    /// Every line, oldest first.
    pub messages: Vec<ChatMessage>,
}

/// The SLA board: what comes due soon, and what is late.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaBoard {
    /// Pending SLA warnings and breaches due from now to the horizon, soonest first (at most
    /// [`SLA_BOARD_ROWS`]).
    pub due: Vec<SlaDue>,
    /// Open tickets with a breached clock that still runs or was breached in the last
    /// [`SLA_BREACH_SHOWN`], the latest breach first (at most [`SLA_BOARD_ROWS`]).
    pub breached: Vec<SlaBreach>,
}

/// Whether a pending SLA timer warns or announces the breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaAnnouncement {
    /// A share of the target will be used (`sla.warning`).
    Warning,
    /// The target will be missed (`sla.breached`).
    Breach,
}

/// A pending SLA timer on the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaDue {
    /// The ticket.
    pub ticket_id: String,
    /// Its subject.
    pub subject: String,
    /// Its priority.
    pub priority: Priority,
    /// Its group (team).
    pub group: Option<String>,
    /// Its assignee.
    pub assignee: Option<String>,
    /// The clock.
    pub metric: Metric,
    /// What the timer announces when it fires.
    pub announces: SlaAnnouncement,
    /// When it fires.
    pub due_at: DateTime<Utc>,
    /// When the clock's target is reached (the breach).
    pub target_at: Option<DateTime<Utc>>,
}

/// An open ticket with a breached SLA clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaBreach {
    /// The ticket.
    pub ticket_id: String,
    /// Its subject.
    pub subject: String,
    /// Its priority.
    pub priority: Priority,
    /// Its group (team).
    pub group: Option<String>,
    /// Its assignee.
    pub assignee: Option<String>,
    /// The latest breach.
    pub breached_at: Option<DateTime<Utc>>,
    /// Its breached clocks.
    pub clocks: Vec<BreachedClock>,
}

/// A breached SLA clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreachedClock {
    /// What it measures.
    pub metric: Metric,
    /// When it was breached (its due time).
    pub breached_at: Option<DateTime<Utc>>,
    /// It still runs: the answer (or the resolution) has not come yet.
    pub running: bool,
}

/// The desk's figures at a glance, each counted by one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCounters {
    /// When they were counted.
    pub at: DateTime<Utc>,
    /// Events received in the last minute.
    pub events_last_minute: i64,
    /// Pending timers.
    pub timers_pending: i64,
    /// Pending timers already due (the scheduler has not fired them yet).
    pub timers_due: i64,
    /// Outbox rows waiting for delivery.
    pub outbox_pending: i64,
    /// Outbox rows that failed for good.
    pub outbox_dead: i64,
    /// Open tickets (not solved, not closed).
    pub open_tickets: i64,
}

/// A page of outbox rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxPage {
    /// The rows, newest first.
    pub rows: Vec<OutboxRow>,
    /// The `after` of the next page (the last row's id); `None` on the last page.
    pub next: Option<String>,
}

/// The states of outbox rows.
const OUTBOX_STATES: [&str; 3] = ["pending", "delivered", "dead"];

impl Desk {
    /// A page of the tickets `filter` finds, newest `updated_at` first.
    pub async fn search_tickets(&self, filter: &TicketFilter) -> Result<TicketPage, Error> {
        let limit = match filter.limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let after = given(&filter.after).map(cursor::read).transpose()?;
        let q = TicketQuery {
            status: filter.status,
            priority: filter.priority,
            channel: filter.channel,
            group: given(&filter.team).map(str::to_string),
            assignee: given(&filter.assignee).map(str::to_string),
            tag: given(&filter.tag).map(str::to_string),
            customer: given(&filter.customer).map(str::to_string),
            text: given(&filter.text).map(str::to_string),
            open_only: filter.open_only,
            after,
            // One more than shown tells whether there is a next page.
            limit: limit + 1,
        };
        let mut rows = self.store.search_tickets(&q).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|r| cursor::write(r.updated_at, &r.ticket.id))
        } else {
            None
        };
        Ok(TicketPage {
            rows: rows.into_iter().map(TicketSummary::from).collect(),
            next,
        })
    }

    /// Everything frontdesk holds about ticket `id`; `None` when it has seen no such ticket.
    pub async fn timeline(&self, id: &str) -> Result<Option<Timeline>, Error> {
        let store = &*self.store;
        let (record, mut events, mut outbox) = tokio::try_join!(
            store.ticket(id),
            store.ticket_events(id, TIMELINE_EVENTS + 1),
            store.ticket_outbox(id, TIMELINE_OUTBOX + 1),
        )?;
        let Some(record) = record else {
            return Ok(None);
        };
        let events_cut = events.len() > TIMELINE_EVENTS as usize;
        if events_cut {
            // Oldest first: the one too many is the oldest.
            events.remove(0);
        }
        let outbox_cut = outbox.len() > TIMELINE_OUTBOX as usize;
        outbox.truncate(TIMELINE_OUTBOX as usize);
        let chat = match id.strip_prefix("chat-") {
            Some(session) => match store.chat_session(session).await? {
                Some(session) => Some(ChatTimeline {
                    messages: store.chat_messages(&session.id, 0).await?,
                    session,
                }),
                None => None,
            },
            None => None,
        };
        Ok(Some(Timeline {
            record,
            events,
            events_cut,
            outbox,
            outbox_cut,
            chat,
        }))
    }

    /// The SLA board at `now`: the SLA timers due from `now` to `now + horizon`, and the open
    /// tickets whose SLA is breached. A pending timer its clock no longer waits for (it will
    /// do nothing when it fires) is left out.
    pub async fn sla_board(
        &self,
        now: DateTime<Utc>,
        horizon: Duration,
    ) -> Result<SlaBoard, Error> {
        let store = &*self.store;
        let until = now.checked_add_signed(horizon).unwrap_or(now);
        let (timers, breached) = tokio::try_join!(
            store.sla_timers_due(now, until, SLA_BOARD_ROWS),
            store.sla_breached(now - SLA_BREACH_SHOWN, SLA_BOARD_ROWS),
        )?;
        let due = timers
            .into_iter()
            .filter_map(|row| {
                let metric = Metric::from_timer_name(&row.timer.name)?;
                let clock = row.ticket.sla.as_ref()?.clock(metric)?;
                let announces = match crate::sla::announces(clock, row.timer.due_at)? {
                    EventType::SlaBreached => SlaAnnouncement::Breach,
                    _ => SlaAnnouncement::Warning,
                };
                let target_at = clock.due_at;
                let t = row.ticket;
                Some(SlaDue {
                    ticket_id: t.id,
                    subject: t.subject,
                    priority: t.priority,
                    group: t.group,
                    assignee: t.assignee,
                    metric,
                    announces,
                    due_at: row.timer.due_at,
                    target_at,
                })
            })
            .collect();
        let breached = breached.into_iter().map(breach).collect();
        Ok(SlaBoard { due, breached })
    }

    /// The live counters at `now`.
    pub async fn live_counters(&self, now: DateTime<Utc>) -> Result<LiveCounters, Error> {
        let store = &*self.store;
        let (events, pending, due, outbox_pending, outbox_dead, open) = tokio::try_join!(
            store.count(Count::EventsSince(now - Duration::minutes(1))),
            store.count(Count::TimersPending),
            store.count(Count::TimersDue(now)),
            store.count(Count::Outbox("pending")),
            store.count(Count::Outbox("dead")),
            store.count(Count::OpenTickets),
        )?;
        Ok(LiveCounters {
            at: now,
            events_last_minute: events,
            timers_pending: pending,
            timers_due: due,
            outbox_pending,
            outbox_dead,
            open_tickets: open,
        })
    }

    /// How many outbox rows each state holds (`pending`, `delivered`, `dead`), by state name;
    /// a state without rows is left out.
    pub async fn outbox_counts(&self) -> Result<Vec<(String, i64)>, Error> {
        Ok(self.store.outbox_counts().await?)
    }

    /// A page of outbox rows, newest first, optionally of one state: up to `limit` (1 to
    /// 1,000) of those after row `after` ([`OutboxPage::next`] of the previous page; `None`
    /// or empty: from the newest).
    pub async fn outbox_page(
        &self,
        state: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<OutboxPage, Error> {
        let state = state.filter(|s| !s.is_empty());
        if let Some(s) = state {
            outbox_state(s)?;
        }
        let limit = limit.clamp(1, 1000);
        let after = after.filter(|a| !a.is_empty());
        let mut rows = self.store.outbox_page(state, after, limit + 1).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok(OutboxPage { rows, next })
    }
}

/// Checks an outbox state named in a request.
pub(super) fn outbox_state(s: &str) -> Result<(), Error> {
    if OUTBOX_STATES.contains(&s) {
        return Ok(());
    }
    Err(Error::new(
        Code::InvalidQuery,
        format!("state `{s}` is not one of pending, delivered, dead"),
    )
    .field("state"))
}

/// A ticket on the board's list of breaches.
fn breach(t: Ticket) -> SlaBreach {
    let (clocks, breached_at) = match &t.sla {
        Some(sla) => (
            sla.clocks()
                .filter(|(_, c)| c.breached)
                .map(|(metric, c)| BreachedClock {
                    metric,
                    breached_at: c.breached_at,
                    running: c.is_running(),
                })
                .collect(),
            sla.last_breach(),
        ),
        None => (Vec::new(), None),
    };
    SlaBreach {
        ticket_id: t.id,
        subject: t.subject,
        priority: t.priority,
        group: t.group,
        assignee: t.assignee,
        breached_at,
        clocks,
    }
}

/// A filter's text when it says something (not empty, not only spaces), trimmed.
fn given(f: &Option<String>) -> Option<&str> {
    f.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The keyset cursor of a search: the `updated_at` and id of the last ticket of a page,
/// written as URL-safe base64 so that a query string carries it as it is.
mod cursor {
    use super::*;

    pub(super) const ENGINE: base64::engine::GeneralPurpose =
        base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub(super) fn write(updated_at: DateTime<Utc>, id: &str) -> String {
        let at = updated_at.to_rfc3339_opts(SecondsFormat::Micros, true);
        ENGINE.encode(format!("{at}\n{id}"))
    }

    pub(super) fn read(cursor: &str) -> Result<(DateTime<Utc>, String), Error> {
        let bad = || {
            Error::new(
                Code::InvalidQuery,
                format!("`{cursor}` is not the `next` of a page of tickets"),
            )
            .field("after")
        };
        let bytes = ENGINE.decode(cursor).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once('\n').ok_or_else(bad)?;
        let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
        Ok((at.with_timezone(&Utc), id.to_string()))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a query string: an empty value is no filter
// ---------------------------------------------------------------------------------------------

/// A value a query string or JSON may give: text, a number or a boolean.
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Text(String),
    Number(u64),
    Flag(bool),
}

/// The text of a value, trimmed; `None` when absent or empty.
fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Text(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(Raw::Number(n)) => Some(n.to_string()),
        Some(Raw::Flag(b)) => Some(b.to_string()),
        None => None,
    })
}

/// A closed enum by its name (`open`, `high`, `email`).
fn named<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::IntoDeserializer;
    raw(d)?
        .map(|s| T::deserialize(s.as_str().into_deserializer()))
        .transpose()
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    raw(d)
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match raw(d)?.as_deref() {
        None | Some("false" | "0" | "off" | "no") => Ok(false),
        Some("true" | "1" | "on" | "yes") => Ok(true),
        Some(other) => Err(serde::de::Error::custom(format!(
            "`{other}` is not true or false"
        ))),
    }
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match raw(d)? {
        None => Ok(0),
        Some(s) => s
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a number of tickets"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Result<TicketFilter, String> {
        serde_urlencoded::from_str(q).map_err(|e| e.to_string())
    }

    #[test]
    fn a_query_string_fills_a_filter_and_empty_values_are_no_filter() {
        assert_eq!(query("").unwrap(), TicketFilter::default());
        let blank = "status=&priority=&channel=&tag=&team=&assignee=&customer=&text=&open_only=&limit=&after=";
        assert_eq!(query(blank).unwrap(), TicketFilter::default());
        assert_eq!(
            query("status=on_hold&priority=urgent&channel=chat&tag=VIP&team=billing&assignee=a1&customer=kari&text=%20refund%20&open_only=on&limit=20&after=xyz").unwrap(),
            TicketFilter {
                status: Some(Status::OnHold),
                priority: Some(Priority::Urgent),
                channel: Some(Channel::Chat),
                tag: Some("VIP".into()),
                team: Some("billing".into()),
                assignee: Some("a1".into()),
                customer: Some("kari".into()),
                text: Some("refund".into()),
                open_only: true,
                limit: 20,
                after: Some("xyz".into()),
            }
        );
        for (q, open) in [
            ("open_only=true", true),
            ("open_only=1", true),
            ("open_only=false", false),
            ("open_only=0", false),
        ] {
            assert_eq!(query(q).unwrap().open_only, open, "{q}");
        }
        for bad in ["status=opened", "limit=many", "open_only=maybe"] {
            assert!(query(bad).is_err(), "{bad}");
        }
        assert!(query("status=opened").unwrap_err().contains("opened"));
    }

    #[test]
    fn a_filter_reads_from_json_too() {
        let f: TicketFilter = serde_json::from_value(
            serde_json::json!({"status": "open", "limit": 10, "open_only": true}),
        )
        .unwrap();
        assert_eq!(
            (f.status, f.limit, f.open_only),
            (Some(Status::Open), 10, true)
        );
    }

    #[test]
    fn a_cursor_reads_back_as_written_and_anything_else_is_refused() {
        let at: DateTime<Utc> = "2026-11-23T10:00:00.123456Z".parse().unwrap();
        for id in ["T1", "chat-3f/x y", "æøå\n"] {
            let c = cursor::write(at, id);
            assert!(
                c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{c}"
            );
            assert_eq!(cursor::read(&c).unwrap(), (at, id.to_string()));
        }
        for bad in ["", "???", "VDE", &cursor::ENGINE.encode("no time\nT1")] {
            let e = cursor::read(bad).unwrap_err();
            assert_eq!(
                (e.code, e.field.as_deref()),
                (Code::InvalidQuery, Some("after")),
                "{bad}"
            );
        }
    }
}
