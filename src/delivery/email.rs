//! E-mail notifications through an SMTP relay: plain (a local MTA), STARTTLS (submission,
//! port 587) or implicit TLS (port 465), with rustls and optional AUTH.

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};

use super::Attempt;

/// How an `smtp://` relay is encrypted (`FRONTDESK_SMTP_TLS`). An `smtps://` relay is TLS from
/// the first byte and needs none of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain text, for a relay on this machine or a trusted network.
    #[default]
    None,
    /// STARTTLS when the relay offers it, plain text when it does not (open to a
    /// man-in-the-middle who hides the offer; for migrations only).
    Opportunistic,
    /// STARTTLS or nothing: a relay that does not offer it gets no mail.
    Required,
}

impl SmtpTls {
    /// The setting's value, as written.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::Opportunistic => "opportunistic",
            SmtpTls::Required => "required",
        }
    }
}

impl std::str::FromStr for SmtpTls {
    type Err = String;

    fn from_str(s: &str) -> Result<SmtpTls, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(SmtpTls::None),
            "opportunistic" => Ok(SmtpTls::Opportunistic),
            "required" | "starttls" => Ok(SmtpTls::Required),
            other => Err(format!(
                "SMTP TLS `{other}`: write none, opportunistic or required (STARTTLS); for implicit TLS use an smtps:// URL"
            )),
        }
    }
}

/// Where to send mail from and through.
#[derive(Clone, Default)]
pub struct SmtpConfig {
    /// `smtp://HOST[:PORT]` (port 25 by default; encrypted with STARTTLS per `tls`) or
    /// `smtps://HOST[:PORT]` (implicit TLS, port 465 by default).
    pub url: String,
    /// Sender address.
    pub from: String,
    /// STARTTLS for an `smtp://` relay; unset is [`SmtpTls::None`]. With `smtps://` only
    /// `required` (or unset) is accepted.
    pub tls: Option<SmtpTls>,
    /// AUTH user name (PLAIN or LOGIN, whichever the relay offers).
    pub username: Option<String>,
    /// AUTH password.
    pub password: Option<String>,
    /// PEM file of certificates to trust besides the public roots (a relay with a private CA
    /// or a self-signed certificate).
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &self.url)
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// How the connection is encrypted, as decided from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Opportunistic,
    StartTls,
    Implicit,
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The host, as the certificate must name it.
    host: String,
    /// `host:port`, for errors.
    relay: String,
    mode: Mode,
}

/// `HOST[:PORT]` of a URL without its scheme; `[v6]` brackets are taken off the host.
fn host_port(rest: &str, default_port: u16) -> Option<(String, u16)> {
    let rest = rest.trim_end_matches('/');
    if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (rest, default_port),
    };
    if host.is_empty() || host.contains(['/', '?', '#', ':']) {
        return None;
    }
    Some((host.to_string(), port))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Smtp {
    /// Checks the settings and builds the transport; errors name the setting that is wrong.
    /// Nothing is connected to until the first mail.
    pub fn new(cfg: SmtpConfig) -> Result<Smtp, String> {
        let bad = || {
            format!(
                "SMTP URL `{}`: write smtp://HOST[:PORT] (plain or STARTTLS, see FRONTDESK_SMTP_TLS) or smtps://HOST[:PORT] (implicit TLS)",
                cfg.url
            )
        };
        let (rest, implicit) = if let Some(rest) = cfg.url.strip_prefix("smtps://") {
            (rest, true)
        } else if let Some(rest) = cfg.url.strip_prefix("smtp://") {
            (rest, false)
        } else {
            return Err(bad());
        };
        if rest.contains('@') {
            return Err(format!(
                "SMTP URL `{}`: give the user name and password in FRONTDESK_SMTP_USERNAME and FRONTDESK_SMTP_PASSWORD, not in the URL",
                cfg.url
            ));
        }
        let (host, port) = host_port(rest, if implicit { 465 } else { 25 }).ok_or_else(bad)?;
        let mode = match (implicit, cfg.tls) {
            (true, None | Some(SmtpTls::Required)) => Mode::Implicit,
            (true, Some(other)) => {
                return Err(format!(
                    "SMTP TLS `{}` does not go with the smtps:// URL `{}`, which is TLS from the first byte: leave FRONTDESK_SMTP_TLS unset, or use smtp:// for STARTTLS",
                    other.as_str(),
                    cfg.url
                ))
            }
            (false, None | Some(SmtpTls::None)) => Mode::Plain,
            (false, Some(SmtpTls::Opportunistic)) => Mode::Opportunistic,
            (false, Some(SmtpTls::Required)) => Mode::StartTls,
        };
        let relay = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let credentials = match (
            cfg.username.filter(|u| !u.is_empty()),
            cfg.password.filter(|p| !p.is_empty()),
        ) {
            (Some(user), Some(pass)) => Some(Credentials::new(user, pass)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(
                    "SMTP: FRONTDESK_SMTP_USERNAME is set without FRONTDESK_SMTP_PASSWORD".into(),
                )
            }
            (None, Some(_)) => {
                return Err(
                    "SMTP: FRONTDESK_SMTP_PASSWORD is set without FRONTDESK_SMTP_USERNAME".into(),
                )
            }
        };
        if credentials.is_some()
            && matches!(mode, Mode::Plain | Mode::Opportunistic)
            && !is_loopback(&host)
        {
            return Err(format!(
                "SMTP: a user name and password are set, but with FRONTDESK_SMTP_TLS={} they could cross the network unencrypted to {relay}; set FRONTDESK_SMTP_TLS=required or use an smtps:// URL (AUTH without TLS is taken only for a relay on this machine)",
                if mode == Mode::Plain { "none" } else { "opportunistic" }
            ));
        }
        let tls = if mode == Mode::Plain {
            if let Some(path) = &cfg.ca_file {
                return Err(format!(
                    "SMTP: FRONTDESK_SMTP_CA_FILE `{}` is set, but the relay {relay} is reached without TLS; set FRONTDESK_SMTP_TLS=required or use an smtps:// URL",
                    path.display()
                ));
            }
            Tls::None
        } else {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(path) = &cfg.ca_file {
                params = params.add_root_certificate(read_ca_file(path)?);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("SMTP TLS settings: {e}"))?;
            match mode {
                Mode::Opportunistic => Tls::Opportunistic(params),
                Mode::StartTls => Tls::Required(params),
                _ => Tls::Wrapper(params),
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .tls(tls);
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        let from = cfg
            .from
            .parse()
            .map_err(|e| format!("SMTP sender `{}`: {e}", cfg.from))?;
        Ok(Smtp {
            transport: builder.build(),
            from,
            host,
            relay,
            mode,
        })
    }

    pub async fn send(&self, id: &str, subject: &str, to: &str, text: &str) -> Attempt {
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
            .subject(subject)
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
            Err(e) => self.failed(&e),
        }
    }

    /// What a failed send comes to, with an error that says what to change.
    fn failed(&self, e: &lettre::transport::smtp::Error) -> Attempt {
        let relay = &self.relay;
        let text = e.to_string();
        if self.mode == Mode::StartTls && e.is_client() && text.contains("STARTTLS") {
            // Retried: the relay may be mid-reconfiguration, or someone on the path may be
            // hiding its offer; either way nothing is sent in plain text.
            return Attempt::Retry {
                error: format!(
                    "SMTP relay {relay} does not offer STARTTLS, and FRONTDESK_SMTP_TLS=required: nothing was sent. Turn STARTTLS on at the relay, or use its implicit-TLS port with smtps://"
                ),
                after: None,
            };
        }
        if e.is_permanent() {
            return Attempt::Fail {
                error: format!("SMTP {relay}: {e}"),
            };
        }
        let hint = if text.contains("UnknownIssuer") {
            " (a relay with a private CA or a self-signed certificate needs FRONTDESK_SMTP_CA_FILE)"
                .to_string()
        } else if text.contains("NotValidForName") {
            format!(
                " (the relay's certificate is not issued for `{}`: name the relay in FRONTDESK_SMTP_URL as its certificate does)",
                self.host
            )
        } else {
            String::new()
        };
        Attempt::Retry {
            error: format!("SMTP {relay}: {e}{hint}"),
            after: None,
        }
    }
}

/// The certificates of a PEM file, to trust besides the public roots.
fn read_ca_file(path: &std::path::Path) -> Result<Certificate, String> {
    let pem = std::fs::read(path).map_err(|e| {
        format!(
            "SMTP: FRONTDESK_SMTP_CA_FILE `{}` cannot be read: {e}",
            path.display()
        )
    })?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "SMTP: FRONTDESK_SMTP_CA_FILE `{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Certificate::from_pem(&pem)
        .map_err(|e| format!("SMTP: FRONTDESK_SMTP_CA_FILE `{}`: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> SmtpConfig {
        SmtpConfig {
            url: url.into(),
            from: "frontdesk@example.org".into(),
            ..SmtpConfig::default()
        }
    }

    fn err(c: SmtpConfig) -> String {
        match Smtp::new(c) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn urls_schemes_and_ports() {
        let s = Smtp::new(cfg("smtp://mail.example.org")).unwrap();
        assert_eq!(
            (s.relay.as_str(), s.mode),
            ("mail.example.org:25", Mode::Plain)
        );
        let s = Smtp::new(cfg("smtps://mail.example.org")).unwrap();
        assert_eq!(
            (s.relay.as_str(), s.mode),
            ("mail.example.org:465", Mode::Implicit)
        );
        let s = Smtp::new(SmtpConfig {
            tls: Some(SmtpTls::Required),
            ..cfg("smtp://mail.example.org:587/")
        })
        .unwrap();
        assert_eq!(
            (s.relay.as_str(), s.mode),
            ("mail.example.org:587", Mode::StartTls)
        );
        let s = Smtp::new(cfg("smtp://[::1]:2525")).unwrap();
        assert_eq!(s.relay, "[::1]:2525");
        for bad in [
            "mail.example.org:25",
            "http://mail.example.org",
            "smtp://",
            "smtp://host:port",
            "smtp://host:25?tls=required",
        ] {
            assert!(err(cfg(bad)).contains("write smtp://HOST[:PORT]"), "{bad}");
        }
        assert!(err(cfg("smtp://me:secret@mail.example.org")).contains("FRONTDESK_SMTP_PASSWORD"));
    }

    #[test]
    fn tls_settings_that_contradict_each_other_are_refused() {
        assert_eq!("required".parse(), Ok(SmtpTls::Required));
        assert_eq!(" Opportunistic".parse(), Ok(SmtpTls::Opportunistic));
        assert!("yes"
            .parse::<SmtpTls>()
            .unwrap_err()
            .contains("none, opportunistic or required"));
        let e = err(SmtpConfig {
            tls: Some(SmtpTls::None),
            ..cfg("smtps://mail.example.org")
        });
        assert!(e.contains("does not go with the smtps:// URL"), "{e}");
        let e = err(SmtpConfig {
            ca_file: Some("/etc/ssl/relay.pem".into()),
            ..cfg("smtp://mail.example.org")
        });
        assert!(e.contains("reached without TLS"), "{e}");
    }

    #[test]
    fn credentials_need_both_halves_and_tls_off_this_machine() {
        let with = |url: &str, tls: Option<SmtpTls>| SmtpConfig {
            tls,
            username: Some("desk".into()),
            password: Some("pw".into()),
            ..cfg(url)
        };
        let e = err(with("smtp://mail.example.org", None));
        assert!(e.contains("unencrypted to mail.example.org:25"), "{e}");
        let e = err(with(
            "smtp://mail.example.org",
            Some(SmtpTls::Opportunistic),
        ));
        assert!(e.contains("FRONTDESK_SMTP_TLS=opportunistic"), "{e}");
        assert!(Smtp::new(with("smtp://mail.example.org", Some(SmtpTls::Required))).is_ok());
        assert!(Smtp::new(with("smtps://mail.example.org", None)).is_ok());
        assert!(Smtp::new(with("smtp://127.0.0.1:2525", None)).is_ok());
        assert!(Smtp::new(with("smtp://localhost", None)).is_ok());
        let e = err(SmtpConfig {
            password: None,
            ..with("smtps://mail.example.org", None)
        });
        assert!(
            e.contains("USERNAME is set without FRONTDESK_SMTP_PASSWORD"),
            "{e}"
        );
        let config = format!("{:?}", with("smtps://mail.example.org", None));
        assert!(!config.contains("pw"), "{config}");
    }

    #[test]
    fn a_ca_file_must_exist_and_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = err(SmtpConfig {
            tls: Some(SmtpTls::Required),
            ca_file: Some(missing.clone()),
            ..cfg("smtp://mail.example.org")
        });
        assert!(
            e.contains(&format!("`{}` cannot be read", missing.display())),
            "{e}"
        );
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let e = err(SmtpConfig {
            ca_file: Some(junk),
            ..cfg("smtps://mail.example.org")
        });
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(Smtp::new(SmtpConfig {
            ca_file: Some(broken),
            ..cfg("smtps://mail.example.org")
        })
        .is_err());
    }
}
