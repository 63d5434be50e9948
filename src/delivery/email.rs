//! E-mail notifications through an SMTP relay.

use lettre::message::Mailbox;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};

use super::Attempt;

/// Where to send mail from and through.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, for a local relay).
    pub url: String,
    /// Sender address.
    pub from: String,
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub fn new(cfg: SmtpConfig) -> Result<Smtp, String> {
        let bad = || {
            format!(
                "SMTP URL `{}`: write smtp://HOST:PORT (a relay without TLS, e.g. a local MTA)",
                cfg.url
            )
        };
        let hostport = cfg
            .url
            .strip_prefix("smtp://")
            .ok_or_else(bad)?
            .trim_end_matches('/');
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
            None => (hostport, 25),
        };
        if host.is_empty() {
            return Err(bad());
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .build();
        let from = cfg
            .from
            .parse()
            .map_err(|e| format!("SMTP sender `{}`: {e}", cfg.from))?;
        Ok(Smtp { transport, from })
    }

    pub async fn send(&self, id: &str, ticket: &str, to: &str, text: &str) -> Attempt {
        let to: Mailbox = match to.parse() {
            Ok(m) => m,
            Err(e) => {
                return Attempt::Fail {
                    error: format!("recipient `{to}`: {e}"),
                }
            }
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("[frontdesk] ticket {ticket}"))
            .message_id(Some(format!("<{}@frontdesk>", id.replace('/', "."))))
            .body(text.to_string());
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                return Attempt::Fail {
                    error: format!("message: {e}"),
                }
            }
        };
        match self.transport.send(message).await {
            Ok(_) => Attempt::Delivered,
            Err(e) if e.is_permanent() => Attempt::Fail {
                error: format!("SMTP: {e}"),
            },
            Err(e) => Attempt::Retry {
                error: format!("SMTP: {e}"),
                after: None,
            },
        }
    }
}
