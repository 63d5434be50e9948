//! Prometheus metrics: events by type and outcome, rule matches, team assignments, decide
//! latency, HTTP and store latency, polls of agents' presence. One recorder per process, rendered at `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::engine::Decision;
use crate::model::EventType;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const BUCKETS: &[f64] = &[
    0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5,
];

/// Response and resolution times: a minute to a week.
const KPI_BUCKETS: &[f64] = &[
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 604800.0,
];

/// Installs the process-wide recorder once and returns its handle.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        // Full names sort before suffixes, so the KPI histograms get their own buckets.
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("valid buckets")
            .set_buckets_for_metric(
                Matcher::Full("frontdesk_first_response_seconds".into()),
                KPI_BUCKETS,
            )
            .expect("valid buckets")
            .set_buckets_for_metric(
                Matcher::Full("frontdesk_resolution_seconds".into()),
                KPI_BUCKETS,
            )
            .expect("valid buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding program); then ours only renders.
        let _ = ::metrics::set_global_recorder(recorder);
        handle
    })
}

pub fn decided(d: &Decision, took: Duration) {
    ::metrics::histogram!("frontdesk_decide_seconds").record(took.as_secs_f64());
    for rule in &d.trace.fired {
        ::metrics::counter!("frontdesk_rule_matches_total", "rule" => rule.clone()).increment(1);
    }
    if !d.trace.errors.is_empty() {
        ::metrics::counter!("frontdesk_rule_errors_total").increment(d.trace.errors.len() as u64);
    }
}

/// Team assignments of a committed decision: `assigned` per team picked from, `queued` per
/// team whose queue the ticket waits in.
pub fn routed(d: &Decision) {
    for r in d.trace.routing.iter().filter(|r| r.chosen.is_some()) {
        ::metrics::counter!("frontdesk_assignments_total", "team" => r.team.clone(), "outcome" => "assigned").increment(1);
    }
    if let Some(q) = &d.routing.queued {
        ::metrics::counter!("frontdesk_assignments_total", "team" => q.team.clone(), "outcome" => "queued").increment(1);
    }
}

pub fn event(kind: EventType, outcome: &'static str) {
    ::metrics::counter!("frontdesk_events_total", "type" => kind.to_string(), "outcome" => outcome)
        .increment(1);
}

pub fn store_latency(took: Duration) {
    ::metrics::histogram!("frontdesk_store_apply_seconds").record(took.as_secs_f64());
}

pub fn http(route: &str, method: &str, status: u16, took: Duration) {
    let status = status.to_string();
    ::metrics::counter!("frontdesk_http_requests_total", "route" => route.to_string(), "method" => method.to_string(), "status" => status).increment(1);
    ::metrics::histogram!("frontdesk_http_request_seconds", "route" => route.to_string())
        .record(took.as_secs_f64());
}

/// One poll of agents' presence (`ok` or `failed`).
pub fn presence_poll(ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    ::metrics::counter!("frontdesk_presence_polls_total", "outcome" => outcome).increment(1);
}

pub fn chat_session(bot: &str) {
    ::metrics::counter!("frontdesk_chat_sessions_total", "bot" => bot.to_string()).increment(1);
}

/// `outcome`: answered, abstained, feedback, handoff, or after_handoff (kept for the person).
pub fn chat_message(bot: &str, outcome: &'static str) {
    ::metrics::counter!("frontdesk_chat_messages_total", "bot" => bot.to_string(), "outcome" => outcome)
        .increment(1);
}

/// The KPI facts of a committed decision (`docs/kpis.md`): response and resolution times by
/// channel, priority and group; SLA clocks met and breached by metric and policy; ratings.
pub fn kpi(facts: &[crate::kpi::Fact]) {
    use crate::kpi::Kind;
    for f in facts {
        let dims = || {
            [
                ("channel", f.dims.channel.clone()),
                ("priority", f.dims.priority.clone()),
                ("group", f.dims.team.clone().unwrap_or_default()),
            ]
        };
        match f.kind {
            Kind::FirstResponse | Kind::Solved => {
                let Some(secs) = f.secs else { continue };
                let name = if f.kind == Kind::Solved {
                    "frontdesk_resolution_seconds"
                } else {
                    "frontdesk_first_response_seconds"
                };
                ::metrics::histogram!(name, &dims()).record(secs as f64);
            }
            Kind::Sla => {
                let labels = [
                    (
                        "metric",
                        f.metric.map(|m| m.to_string()).unwrap_or_default(),
                    ),
                    ("policy", f.policy.clone().unwrap_or_default()),
                ];
                if f.breached {
                    ::metrics::counter!("frontdesk_sla_breached_total", &labels).increment(1);
                } else {
                    ::metrics::counter!("frontdesk_sla_met_total", &labels).increment(1);
                }
            }
            Kind::Csat => {
                let score = f.score.map(|s| s.to_string()).unwrap_or_default();
                ::metrics::counter!("frontdesk_csat_ratings_total", "score" => score).increment(1);
            }
            _ => {}
        }
    }
}
