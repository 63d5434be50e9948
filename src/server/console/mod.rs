//! The admin console at `/console`: server-rendered pages (MiniJinja templates embedded in the
//! binary, escaped as HTML) made lively with htmx, charts drawn by uPlot, live figures by
//! server-sent events. Every figure comes from the same service calls as the JSON API; the
//! console adds no second way to read or change anything.
//!
//! Who may look: a token logs in at `/console/login` and gets a signed session cookie
//! ([`session`]); `Authorization: Bearer` works too. Without a session, a page visit is sent
//! to the login page and anything else gets 401. Viewers read; admins act; changes need the
//! session's CSRF token in `X-CSRF-Token`.

mod assets;
mod pages;
pub mod session;
mod tickets;
mod tools;

use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;
use serde::Serialize;

use super::auth::Role;
use super::AppState;
use crate::service::Error;
use session::{Session, Sessions, Via};

/// What the console keeps: its session keys.
pub struct Console {
    /// Makes and checks session cookies.
    pub sessions: Sessions,
}

impl Console {
    /// With the configured secret, or a random one.
    pub fn new(secret: Option<&str>) -> Console {
        Console {
            sessions: Sessions::new(secret),
        }
    }
}

/// The console's routes, under `/console`.
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let guarded = Router::new()
        .route("/console", get(pages::overview))
        .route("/console/", get(|| async { Redirect::to("/console") }))
        .route("/console/live", get(pages::live))
        .route("/console/tickets", get(tickets::tickets))
        .route("/console/tickets/{id}", get(tickets::ticket))
        .route(
            "/console/tickets/{id}/explain/{event}",
            get(tickets::explain_event),
        )
        .route("/console/sla", get(tickets::sla))
        .route("/console/sla/board", get(tickets::sla_board))
        .route("/console/outbox", get(pages::outbox))
        .route("/console/outbox/{*id}", post(pages::redeliver))
        .route("/console/agents", get(pages::agents))
        .route("/console/agents/{id}/status", post(pages::agent_status))
        .route("/console/bots", get(pages::bots))
        .route("/console/bots/{bot}/suggestion", get(pages::suggestion))
        .route("/console/rules", get(pages::rules))
        .route("/console/rules/reload", post(pages::reload))
        .route("/console/playground", post(tools::playground))
        .route(
            "/console/replay",
            get(tools::replay_form).post(tools::replay),
        )
        .route("/console/logout", post(pages::logout))
        .route(
            "/console/{*rest}",
            get(|| async { Fail::not_found("There is no console page here.") }),
        )
        .route_layer(middleware::from_fn_with_state(state, guard));
    Router::new()
        .merge(guarded)
        .route("/console/login", get(pages::login_form).post(pages::login))
        .route("/console/assets/{name}", get(assets::serve))
}

/// Who may see what: finds the session (cookie, bearer token, or an open desk), sends page
/// visits without one to the login page, refuses viewers' changes and changes without the
/// session's CSRF token. The session goes to the handlers as a request extension.
async fn guard(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let now = state.desk.clock.now();
    let session = match identify(&state, req.headers(), now) {
        Ok(s) => s,
        Err(why) => {
            let page_visit = req.method() == Method::GET
                && !req.headers().contains_key("hx-request")
                && req.uri().path() != "/console/live";
            if page_visit {
                let next = req
                    .uri()
                    .path_and_query()
                    .map_or("/console", |p| p.as_str());
                let mut to = format!("/console/login?next={}", encode(next));
                if let Some(why) = why {
                    to.push_str(&format!("&why={why}"));
                }
                return Redirect::to(&to).into_response();
            }
            return Fail::new(StatusCode::UNAUTHORIZED, "Sign in to use the console.")
                .into_response();
        }
    };
    if session.role == Role::Chat {
        return Fail::new(
            StatusCode::FORBIDDEN,
            "A chat token opens chats; it cannot open the console.",
        )
        .into_response();
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes {
        // The playground decides without storing: a viewer may use it.
        let reads_only =
            req.uri().path() == "/console/playground" || req.uri().path() == "/console/logout";
        if !session.may_act() && !reads_only {
            return Fail::new(
                StatusCode::FORBIDDEN,
                "This is a viewer token: it may read everything here and change nothing.",
            )
            .into_response();
        }
        if session.via != Via::Bearer {
            let sent = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !session::same(sent.as_bytes(), session.csrf.as_bytes()) {
                return Fail::new(
                    StatusCode::FORBIDDEN,
                    "This change came without the page's CSRF token, so nothing was done. Reload the page and try again.",
                )
                .into_response();
            }
        }
    }
    req.extensions_mut().insert(session);
    let mut res = next.run(req).await;
    secure_headers(res.headers_mut());
    res
}

/// The session a request carries; `Err(Some(why))` for a cookie that was refused (the login
/// page says why), `Err(None)` for none at all.
fn identify(
    state: &AppState,
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Session, Option<&'static str>> {
    if !state.tokens.enabled() {
        return Ok(state.console.sessions.open_desk());
    }
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return match state.tokens.check(Some(auth)) {
            Ok(role) => Ok(Session {
                role,
                via: Via::Bearer,
                csrf: String::new(),
            }),
            Err(_) => Err(None),
        };
    }
    let Some(cookie) = cookie(headers, session::COOKIE) else {
        return Err(None);
    };
    state
        .console
        .sessions
        .check(&state.tokens, cookie, now)
        .map_err(|r| {
            Some(match r {
                session::Refused::Expired => "expired",
                session::Refused::Forged => "forged",
                session::Refused::TokenGone => "gone",
            })
        })
}

/// A cookie's value.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Percent-encodes a path for a query value.
fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Headers every console answer carries: scripts only from the console itself, no framing,
/// no sniffing, no referrer beyond the origin.
fn secure_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// The templates, compiled once.
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Optional fields are left out of the JSON the pages read (`skip_serializing_if`), so
        // a missing value renders as nothing; the tests read the pages for what must be there.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        for (name, source) in pages::TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("console template {name}: {e}"));
        }
        pages::filters(&mut env);
        env
    })
}

/// A rendered page (or fragment).
pub struct Page(String);

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        Html(self.0).into_response()
    }
}

/// Renders a template with a context.
fn render(name: &str, ctx: impl Serialize) -> Result<Page, Fail> {
    let tmpl = templates()
        .get_template(name)
        .map_err(|e| Fail::internal(format!("template {name}: {e}")))?;
    tmpl.render(ctx).map(Page).map_err(|e| {
        let mut why = format!("template {name}: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            why.push_str(&format!(": {s}"));
            source = s.source();
        }
        Fail::internal(why)
    })
}

/// A page that could not be shown: its status and what the page says.
#[derive(Debug)]
pub struct Fail {
    status: StatusCode,
    message: String,
    details: Vec<String>,
}

impl Fail {
    fn new(status: StatusCode, message: impl Into<String>) -> Fail {
        Fail {
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    fn not_found(message: impl Into<String>) -> Fail {
        Fail::new(StatusCode::NOT_FOUND, message)
    }

    fn internal(message: String) -> Fail {
        tracing::error!(%message, "console page failed");
        Fail::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The page could not be made; the daemon's log says why.",
        )
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let status = super::error::status(e.code);
        if status.is_server_error() {
            tracing::error!(code = e.code.name(), message = %e.message, "console request failed");
        }
        Fail {
            status,
            message: e.message,
            details: e.details,
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Ctx<'a> {
            status: u16,
            reason: &'a str,
            message: &'a str,
            details: &'a [String],
        }
        let ctx = Ctx {
            status: self.status.as_u16(),
            reason: self.status.canonical_reason().unwrap_or(""),
            message: &self.message,
            details: &self.details,
        };
        let body = templates()
            .get_template("error.html")
            .and_then(|t| t.render(&ctx))
            .unwrap_or_else(|_| self.message.clone());
        let mut res = (self.status, Html(body)).into_response();
        secure_headers(res.headers_mut());
        res
    }
}
