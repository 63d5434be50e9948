//! `frontdesk serve`: the daemon.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::delivery::fence::Cidr;
use crate::delivery::helpdesk::HelpdeskApi;
use crate::delivery::SmtpTls;
use crate::model::{Helpdesk, Named};
use crate::server::limit::{Limits, Rate};
use crate::server::{Options, Tokens};

/// Log output format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rules directory.
    #[arg(long = "config", default_value = "rules", env = "FRONTDESK_RULES")]
    rules: PathBuf,
    /// FAQ bots directory (default: `bots/` beside the rules directory, when there is one).
    #[arg(long, env = "FRONTDESK_BOTS")]
    bots: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "FRONTDESK_LISTEN")]
    listen: SocketAddr,
    /// Store URL: sqlite://PATH, or postgres://USER@HOST/DB for several replicas.
    #[arg(long, default_value = "sqlite://frontdesk.db", env = "FRONTDESK_STORE")]
    store: String,
    /// Log format.
    #[arg(
        long,
        value_enum,
        default_value = "pretty",
        env = "FRONTDESK_LOG_FORMAT"
    )]
    log_format: LogFormat,
    /// API tokens accepted on /v1/* (comma-separated). Prefer the hashed form.
    #[arg(
        long,
        env = "FRONTDESK_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_tokens: Vec<String>,
    /// SHA-256 hashes (hex) of accepted API tokens (comma-separated); see `frontdesk serve --hash-token`.
    #[arg(long, env = "FRONTDESK_API_TOKEN_HASHES", value_delimiter = ',')]
    api_token_hashes: Vec<String>,
    /// Viewer tokens (comma-separated): they may read everything on /v1/* (GET) and change
    /// nothing. Prefer the hashed form.
    #[arg(
        long,
        env = "FRONTDESK_VIEWER_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    viewer_tokens: Vec<String>,
    /// SHA-256 hashes (hex) of viewer tokens (comma-separated).
    #[arg(long, env = "FRONTDESK_VIEWER_TOKEN_HASHES", value_delimiter = ',')]
    viewer_token_hashes: Vec<String>,
    /// Chat tokens (comma-separated): the token a chat widget shows to the browser. They may
    /// only open chats and carry them on as the customer (/v1/chat/sessions...), nothing else.
    #[arg(
        long,
        env = "FRONTDESK_CHAT_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    chat_tokens: Vec<String>,
    /// SHA-256 hashes (hex) of chat tokens (comma-separated).
    #[arg(long, env = "FRONTDESK_CHAT_TOKEN_HASHES", value_delimiter = ',')]
    chat_token_hashes: Vec<String>,
    /// Print the SHA-256 hash of a token for FRONTDESK_API_TOKEN_HASHES, and exit.
    #[arg(long, value_name = "TOKEN")]
    hash_token: Option<String>,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    body_limit: usize,
    /// Request timeout, in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Standard Webhooks secrets for /v1/inbound/generic (whsec_...; comma-separated for rotation).
    #[arg(
        long,
        env = "FRONTDESK_SECRET_GENERIC",
        value_delimiter = ',',
        hide_env_values = true
    )]
    secret_generic: Vec<String>,
    /// Chatwoot webhook secrets for /v1/inbound/chatwoot.
    #[arg(
        long,
        env = "FRONTDESK_SECRET_CHATWOOT",
        value_delimiter = ',',
        hide_env_values = true
    )]
    secret_chatwoot: Vec<String>,
    /// Zammad webhook tokens (X-Hub-Signature) for /v1/inbound/zammad.
    #[arg(
        long,
        env = "FRONTDESK_SECRET_ZAMMAD",
        value_delimiter = ',',
        hide_env_values = true
    )]
    secret_zammad: Vec<String>,
    /// Zendesk webhook signing secrets for /v1/inbound/zendesk.
    #[arg(
        long,
        env = "FRONTDESK_SECRET_ZENDESK",
        value_delimiter = ',',
        hide_env_values = true
    )]
    secret_zendesk: Vec<String>,
    /// Standard Webhooks secret (whsec_...) to sign outgoing `webhook` actions with.
    #[arg(long, env = "FRONTDESK_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Slack incoming webhooks per channel: `#support=https://hooks.slack.com/...,*=https://...`.
    #[arg(
        long,
        env = "FRONTDESK_SLACK_WEBHOOKS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    slack_webhooks: Vec<String>,
    /// Internal networks outbound calls (webhooks, Slack, helpdesk APIs) may reach, as CIDR:
    /// `10.20.0.0/16,127.0.0.1/32`. Loopback, private, link-local (cloud metadata),
    /// unique-local and shared addresses are refused otherwise, after DNS and on redirects.
    #[arg(long, env = "FRONTDESK_OUTBOUND_ALLOW", value_delimiter = ',')]
    outbound_allow: Vec<String>,
    /// Requests to /v1/* per caller (an API token, or the address of a caller without one):
    /// N/s, N/min or N/h, or `off`. N pass at once, then one every period/N; over it, 429 with
    /// Retry-After.
    #[arg(long, env = "FRONTDESK_RATE_LIMIT", default_value = "1000/s")]
    rate_limit: Rate,
    /// Chat messages per session (the public widget's abuse limit).
    #[arg(long, env = "FRONTDESK_CHAT_RATE_LIMIT", default_value = "30/min")]
    chat_rate_limit: Rate,
    /// Chat requests (new sessions and messages) per caller address.
    #[arg(
        long,
        env = "FRONTDESK_CHAT_ADDRESS_RATE_LIMIT",
        default_value = "300/min"
    )]
    chat_address_rate_limit: Rate,
    /// Reverse proxies (CIDR) whose X-Forwarded-For names the caller, for the per-address
    /// limits; from any other peer the header is ignored.
    #[arg(long, env = "FRONTDESK_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_cidr)]
    trusted_proxies: Vec<Cidr>,
    /// SMTP relay for e-mail notifications: smtp://HOST[:PORT] (port 25; plain, or STARTTLS
    /// with --smtp-tls) or smtps://HOST[:PORT] (implicit TLS, port 465).
    #[arg(long, env = "FRONTDESK_SMTP_URL")]
    smtp_url: Option<String>,
    /// STARTTLS for an smtp:// relay: none (default), opportunistic, or required (no mail to a
    /// relay that does not offer it).
    #[arg(long, env = "FRONTDESK_SMTP_TLS", value_name = "MODE", value_parser = parse_smtp_tls)]
    smtp_tls: Option<SmtpTls>,
    /// SMTP AUTH user name (needs TLS unless the relay is on this machine).
    #[arg(long, env = "FRONTDESK_SMTP_USERNAME")]
    smtp_username: Option<String>,
    /// SMTP AUTH password.
    #[arg(long, env = "FRONTDESK_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    /// PEM certificates to trust for the SMTP relay besides the public roots (a private CA or
    /// a self-signed relay certificate).
    #[arg(long, env = "FRONTDESK_SMTP_CA_FILE", value_name = "PEM")]
    smtp_ca_file: Option<PathBuf>,
    /// Sender address of e-mail notifications.
    #[arg(
        long,
        env = "FRONTDESK_SMTP_FROM",
        default_value = "frontdesk@localhost"
    )]
    smtp_from: String,
    /// Seconds the due timers a replica claimed stay with it before another may take them over.
    #[arg(
        long,
        default_value_t = 60,
        value_name = "SECONDS",
        env = "FRONTDESK_TIMER_LEASE"
    )]
    timer_lease: u64,
    /// Secret that signs the rating links of satisfaction surveys (at least 32 bytes, the same
    /// on every replica; e.g. `openssl rand -hex 32`). Unset: surveys carry no links, and
    /// customers rate by replying or in the chat.
    #[arg(long, env = "FRONTDESK_CSAT_SECRET", hide_env_values = true)]
    csat_secret: Option<String>,
    /// Secret that signs the admin console's session cookies (the same on every replica, so
    /// a session works on each). Unset: a random one, and sessions end when the daemon stops.
    #[arg(long, env = "FRONTDESK_CONSOLE_SECRET", hide_env_values = true)]
    console_secret: Option<String>,
    /// The Chatwoot account (its number) whose agents' presence feeds routing: with the
    /// Chatwoot API (FRONTDESK_CHATWOOT_API_URL, FRONTDESK_CHATWOOT_API_TOKEN), the daemon reads
    /// the account's agent list every --presence-interval.
    #[arg(long, env = "FRONTDESK_CHATWOOT_ACCOUNT", value_name = "ID", value_parser = parse_account)]
    chatwoot_account: Option<String>,
    /// The helpdesk chats handed to a person go on in (`chatwoot`, `zammad`, `zendesk`; its API
    /// must be configured): the handoff opens the conversation there with the transcript, what
    /// the customer writes after goes there, and people's replies come back to the chat.
    #[arg(long, env = "FRONTDESK_CHAT_HELPDESK", value_name = "HELPDESK", value_parser = ["chatwoot", "zammad", "zendesk"])]
    chat_helpdesk: Option<String>,
    /// The Chatwoot inbox handed-off chats are opened in (an API inbox whose webhook is this
    /// daemon's /v1/inbound/chatwoot), with --chat-helpdesk chatwoot.
    #[arg(long, env = "FRONTDESK_CHATWOOT_INBOX", value_name = "ID", value_parser = parse_account)]
    chatwoot_inbox: Option<String>,
    /// The Zammad group handed-off chats are opened in (default `Users`), with
    /// --chat-helpdesk zammad.
    #[arg(long, env = "FRONTDESK_ZAMMAD_GROUP", value_name = "GROUP")]
    zammad_group: Option<String>,
    /// How often agents' presence is read from Chatwoot: `30s`, `2m`, a number of seconds, or
    /// `off` (also `0`).
    #[arg(
        long,
        env = "FRONTDESK_PRESENCE_INTERVAL",
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_interval
    )]
    presence_interval: Interval,
    /// Do not watch the rules directory (reload with SIGHUP or POST /v1/admin/reload).
    #[arg(long)]
    no_watch: bool,
    /// Where trained FAQ bots are kept, so that a start or reload reads back a bot whose file
    /// has not changed instead of training it; `off` trains at every load.
    /// [default: $XDG_CACHE_HOME/frontdesk/models, else ~/.cache/frontdesk/models]
    #[arg(long, env = "FRONTDESK_MODEL_CACHE", value_name = "DIR|off")]
    model_cache: Option<PathBuf>,
}

/// The model cache `--model-cache` names: a directory, none for `off`, else the default.
fn model_cache(named: Option<PathBuf>) -> Option<PathBuf> {
    match named {
        Some(dir) if dir.as_os_str() == "off" => None,
        Some(dir) if !dir.as_os_str().is_empty() => Some(dir),
        _ => crate::service::models::default_dir(),
    }
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    Cidr::parse(s)
}

fn parse_smtp_tls(s: &str) -> Result<SmtpTls, String> {
    s.parse()
}

/// A Chatwoot account id: its number.
fn parse_account(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{s}` is not a Chatwoot account id (the number in the account's URL, \
             /app/accounts/NUMBER/...)"
        ));
    }
    Ok(s.to_string())
}

/// An interval, or none (`off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interval(Option<Duration>);

/// `30s`, `2m`, `1h 30m` (the rules' calendar durations), a number of seconds, or `off` / `0`.
fn parse_interval(s: &str) -> Result<Interval, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(Interval(None));
    }
    let secs = match s.parse::<u64>() {
        Ok(n) => n,
        Err(_) => {
            let d = crate::rules::action::parse_duration(s)?;
            u64::try_from(d.num_seconds())
                .map_err(|_| format!("`{s}`: an interval cannot be negative"))?
        }
    };
    Ok(Interval((secs > 0).then(|| Duration::from_secs(secs))))
}

fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FRONTDESK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// Helpdesk APIs from `FRONTDESK_{CHATWOOT,ZAMMAD,ZENDESK}_API_URL` and `..._API_TOKEN`.
fn helpdesk_apis() -> anyhow::Result<std::collections::HashMap<String, HelpdeskApi>> {
    let mut apis = std::collections::HashMap::new();
    for name in Helpdesk::WITH_API.iter().map(|h| h.name()) {
        let upper = name.to_uppercase();
        let var = |k: &str| {
            std::env::var(format!("FRONTDESK_{upper}_API_{k}"))
                .ok()
                .filter(|v| !v.trim().is_empty())
        };
        match (var("URL"), var("TOKEN")) {
            (Some(url), Some(token)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    anyhow::bail!("FRONTDESK_{upper}_API_URL `{url}` is not an http(s) URL");
                }
                tracing::info!(helpdesk = name, %url, "actions of this helpdesk's tickets go through its API");
                apis.insert(name.to_string(), HelpdeskApi { url, token });
            }
            (None, None) => {}
            (Some(_), None) => anyhow::bail!(
                "FRONTDESK_{upper}_API_URL is set without FRONTDESK_{upper}_API_TOKEN"
            ),
            (None, Some(_)) => anyhow::bail!(
                "FRONTDESK_{upper}_API_TOKEN is set without FRONTDESK_{upper}_API_URL"
            ),
        }
    }
    Ok(apis)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(token) = &args.hash_token {
        println!("{}", Tokens::hash_hex(token));
        return Ok(ExitCode::SUCCESS);
    }
    init_logs(args.log_format);
    let mut tokens =
        Tokens::new(&args.api_tokens, &args.api_token_hashes).map_err(anyhow::Error::msg)?;
    tokens
        .add(
            crate::server::Role::Viewer,
            &args.viewer_tokens,
            &args.viewer_token_hashes,
        )
        .map_err(|e| anyhow::anyhow!("FRONTDESK_VIEWER_TOKEN_HASHES: {e}"))?;
    tokens
        .add(
            crate::server::Role::Chat,
            &args.chat_tokens,
            &args.chat_token_hashes,
        )
        .map_err(|e| anyhow::anyhow!("FRONTDESK_CHAT_TOKEN_HASHES: {e}"))?;
    if !tokens.enabled() {
        tracing::warn!(
            "no API tokens configured: /v1/* is open to anyone who can reach {}",
            args.listen
        );
    }
    let mut secrets = std::collections::HashMap::new();
    for (kind, list) in [
        (Helpdesk::Generic, args.secret_generic),
        (Helpdesk::Chatwoot, args.secret_chatwoot),
        (Helpdesk::Zammad, args.secret_zammad),
        (Helpdesk::Zendesk, args.secret_zendesk),
    ] {
        let list: Vec<String> = list.into_iter().filter(|s| !s.trim().is_empty()).collect();
        if !list.is_empty() {
            secrets.insert(kind, list);
        }
    }
    let mut slack = std::collections::HashMap::new();
    for entry in args.slack_webhooks.iter().filter(|e| !e.trim().is_empty()) {
        let (channel, url) = entry.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("FRONTDESK_SLACK_WEBHOOKS entry `{entry}` is not CHANNEL=URL")
        })?;
        slack.insert(channel.trim().to_string(), url.trim().to_string());
    }
    let connectors = crate::delivery::ConnectorConfig {
        webhook_secret: args.webhook_secret,
        slack,
        smtp: args.smtp_url.map(|url| crate::delivery::SmtpConfig {
            url,
            from: args.smtp_from,
            tls: args.smtp_tls,
            username: args.smtp_username,
            password: args.smtp_password,
            ca_file: args.smtp_ca_file,
        }),
        timeout: None,
        helpdesks: helpdesk_apis()?,
        outbound_allow: args.outbound_allow,
        outbound_secrets: crate::delivery::outbound_secrets(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        ),
        chat_bridge: args
            .chat_helpdesk
            .map(|helpdesk| crate::delivery::ChatBridge {
                helpdesk,
                account: args.chatwoot_account.clone(),
                inbox: args.chatwoot_inbox,
                group: args.zammad_group,
            }),
    };
    let presence = match (args.chatwoot_account, args.presence_interval.0) {
        (Some(account), Some(interval)) => {
            Some(crate::service::presence::PresenceSettings { account, interval })
        }
        (Some(account), None) => {
            tracing::info!(%account, "agents' presence is not polled: --presence-interval is off");
            None
        }
        (None, _) => None,
    };
    let opts = Options {
        secrets,
        presence,
        connectors,
        bots: super::bots_dir(&args.rules, args.bots.as_deref()),
        rules: args.rules,
        listen: args.listen,
        store: args.store,
        tokens,
        body_limit: args.body_limit,
        request_timeout: Duration::from_secs(args.timeout),
        watch: !args.no_watch,
        timer_lease: Duration::from_secs(args.timer_lease.max(1)),
        csat_secret: args.csat_secret,
        console_secret: args.console_secret,
        model_cache: model_cache(args.model_cache),
        limits: Limits {
            api: args.rate_limit,
            chat_session: args.chat_rate_limit,
            chat_address: args.chat_address_rate_limit,
            trusted_proxies: args.trusted_proxies,
        },
        ..Options::new()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(crate::server::serve(opts))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_intervals_and_accounts_are_read_or_refused_by_name() {
        let s = |n| Interval(Some(Duration::from_secs(n)));
        for (text, want) in [
            ("30s", s(30)),
            ("2m", s(120)),
            ("1h 30m", s(5400)),
            ("45", s(45)),
            ("0", Interval(None)),
            ("off", Interval(None)),
            ("OFF", Interval(None)),
        ] {
            assert_eq!(parse_interval(text), Ok(want), "{text}");
        }
        let e = parse_interval("soon").unwrap_err();
        assert!(e.contains("`soon`"), "{e}");
        assert!(parse_interval("2 business days").is_err());

        assert_eq!(parse_account(" 17 "), Ok("17".into()));
        for bad in ["", "acme", "1/../2", "-3"] {
            let e = parse_account(bad).unwrap_err();
            assert!(e.contains("not a Chatwoot account id"), "{bad}: {e}");
        }
    }
}
