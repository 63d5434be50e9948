//! The console's ticket pages: search, a ticket's timeline, a decision's full trace, and the
//! SLA board.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Extension;
use chrono::Duration;
use serde_json::{json, Value};

use super::pages::{action_kind, action_summary, layout, routing_text};
use super::session::Session;
use super::{render, Fail, Page};
use crate::model::{Channel, Metric, Named, Priority, SlaClock, Status};
use crate::server::AppState;
use crate::service::views::TicketFilter;

/// How far ahead the SLA board looks.
const SLA_HORIZON_MINUTES: i64 = 60;

/// Reads the search's query string, naming a value that is not one.
fn filter(raw: Option<&str>) -> Result<TicketFilter, Fail> {
    serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| {
        Fail::new(
            StatusCode::BAD_REQUEST,
            format!("This search cannot be read: {e}"),
        )
    })
}

/// `GET /console/tickets`: the search form and a page of tickets.
pub(super) async fn tickets(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    RawQuery(raw): RawQuery,
) -> Result<Page, Fail> {
    let f = filter(raw.as_deref())?;
    let page = state.desk.search_tickets(&f).await?;
    // The next page keeps the filters and starts after this one.
    let next = page.next.as_ref().map(|cursor| {
        let mut q: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
        q.retain(|(k, _)| k != "after");
        q.push(("after".into(), cursor.clone()));
        format!(
            "/console/tickets?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    });
    let config = state.desk.config.load();
    let roster = config.config.roster();
    render(
        "tickets.html",
        json!({
            "layout": layout(&s, "tickets", "Tickets"),
            "q": {
                "status": f.status.map(Named::name),
                "priority": f.priority.map(Named::name),
                "channel": f.channel.map(Named::name),
                "tag": f.tag, "team": f.team, "assignee": f.assignee,
                "customer": f.customer, "text": f.text, "open_only": f.open_only,
            },
            "statuses": Status::names(),
            "priorities": Priority::names(),
            "channels": Channel::names(),
            "teams": roster.teams.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            "agents": roster.agents.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            "rows": page.rows,
            "next": next,
        }),
    )
}

/// A clock for the ticket page: its state in words and its due time.
fn clock(metric: Metric, c: &SlaClock) -> Value {
    let (state, class) = match (c.achieved_at, c.breached, c.running_since, c.paused_at) {
        (Some(_), true, _, _) => ("met late", "bad"),
        (Some(_), false, _, _) => ("met", "ok"),
        (None, true, Some(_), _) => ("breached, running", "bad"),
        (None, true, None, _) => ("breached", "bad"),
        (None, false, _, Some(_)) => ("paused", ""),
        (None, false, Some(_), _) => ("running", "warn"),
        (None, false, None, None) => ("stopped", ""),
    };
    json!({
        "metric": metric.name(), "state": state, "class": class,
        "due_at": c.due_at, "target_secs": c.target_secs,
    })
}

/// `GET /console/tickets/{id}`: the ticket's timeline.
pub(super) async fn ticket(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Page, Fail> {
    let Some(t) = state.desk.timeline(&id).await? else {
        return Err(Fail::not_found(format!("No ticket `{id}` has been seen.")));
    };
    let ticket = &t.record.ticket;
    // The audit rows give each rule its own actions; grouped by the event that fired them.
    let mut fired: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for row in &t.record.history {
        let actions: Vec<Value> =
            serde_json::from_value::<Vec<crate::model::Action>>(row.actions.clone())
                .unwrap_or_default()
                .iter()
                .map(|a| json!({"kind": action_kind(a), "summary": action_summary(a)}))
                .collect();
        fired
            .entry(row.event_id.as_str())
            .or_default()
            .push(json!({"rule": row.rule, "actions": actions}));
    }
    let events: Vec<Value> = t
        .events
        .iter()
        .map(|r| {
            let e = &r.event;
            json!({
                "id": e.id,
                "type": e.kind.name(),
                "at": e.occurred_at.unwrap_or(r.received_at),
                "received_at": r.received_at,
                "author": e.message.as_ref().map(|m| m.author.name()),
                "author_name": e.message.as_ref().and_then(|m| m.author_name.clone()),
                "text": e.message.as_ref().map(|m| m.text.as_str()).filter(|t| !t.is_empty()),
                "rules": fired.get(e.id.as_str()).cloned().unwrap_or_default(),
                "errors": r.decision.trace.errors.iter().map(|x| format!("{}: {}", x.rule, x.message)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let clocks: Vec<Value> = ticket
        .sla
        .as_ref()
        .map(|sla| {
            Metric::ALL
                .iter()
                .filter_map(|m| sla.clock(*m).map(|c| clock(*m, c)))
                .collect()
        })
        .unwrap_or_default();
    let deliveries: Vec<Value> = t
        .outbox
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "kind": action_kind(&r.action), "summary": action_summary(&r.action),
                "state": r.state, "attempts": r.attempts, "last_error": r.last_error,
            })
        })
        .collect();
    let chat = t.chat.as_ref().map(|c| {
        json!({
            "id": c.session.id, "bot": c.session.bot, "state": c.session.state,
            "messages": c.messages,
        })
    });
    render(
        "ticket.html",
        json!({
            "layout": layout(&s, "tickets", format!("Ticket {id}")),
            "t": ticket,
            "events": events,
            "cut": t.events_cut,
            "clocks": clocks,
            "policy": ticket.sla.as_ref().map(|s| s.policy.as_str()),
            "timers": t.record.timers,
            "deliveries": deliveries,
            "chat": chat,
        }),
    )
}

/// `GET /console/tickets/{id}/explain/{event}`: the full trace of one decision, as a fragment.
pub(super) async fn explain_event(
    State(state): State<Arc<AppState>>,
    Path((id, event)): Path<(String, String)>,
) -> Result<Page, Fail> {
    let x = state.desk.explain_event(&event).await?;
    if x.ticket_id != id {
        return Err(Fail::not_found(format!(
            "Event `{event}` is not one of ticket `{id}`'s."
        )));
    }
    let routing = routing_text(&x.trace);
    let mut v = serde_json::to_value(&x).map_err(|e| Fail::internal(e.to_string()))?;
    v["routing_text"] = json!(routing);
    render("explain.html", json!({"x": v}))
}

/// `GET /console/sla`: the board in its page.
pub(super) async fn sla(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
) -> Result<Page, Fail> {
    let ctx = board(&state).await?;
    render(
        "sla.html",
        json!({"layout": layout(&s, "sla", "SLA board"), "board": ctx["board"], "now": ctx["now"]}),
    )
}

/// `GET /console/sla/board`: the board alone, for the page's live refresh.
pub(super) async fn sla_board(State(state): State<Arc<AppState>>) -> Result<Page, Fail> {
    render("sla_board.html", board(&state).await?)
}

async fn board(state: &AppState) -> Result<Value, Fail> {
    let now = state.desk.clock.now();
    let b = state
        .desk
        .sla_board(now, Duration::minutes(SLA_HORIZON_MINUTES))
        .await?;
    let due: Vec<Value> = b
        .due
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            v["in_secs"] = json!((d.due_at - now).num_seconds().max(0));
            v["kind"] = json!(match d.announces {
                crate::service::views::SlaAnnouncement::Warning => "warning",
                crate::service::views::SlaAnnouncement::Breach => "breach",
            });
            v
        })
        .collect();
    let breached: Vec<Value> = b
        .breached
        .iter()
        .map(|x| {
            let mut v = serde_json::to_value(x).unwrap_or_default();
            v["metric"] = json!(x
                .clocks
                .iter()
                .map(|c| format!(
                    "{}{}",
                    c.metric.name(),
                    if c.running { " (running)" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join(", "));
            v
        })
        .collect();
    Ok(json!({"board": {"due": due, "breached": breached}, "now": now}))
}
