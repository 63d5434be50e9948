//! Webhook signature checks, over the raw body, before anything reads it.
//!
//! | scheme | headers | signed bytes | key |
//! |---|---|---|---|
//! | [`Scheme::StandardWebhooks`] | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …` | `id.timestamp.body`, HMAC-SHA256 | base64 secret, optional `whsec_` prefix |
//! | [`Scheme::Chatwoot`] | `X-Chatwoot-Timestamp`, `X-Chatwoot-Signature: sha256=<hex>` | `timestamp.body`, HMAC-SHA256 | the webhook's secret, as text |
//! | [`Scheme::Zendesk`] | `X-Zendesk-Webhook-Signature-Timestamp`, `X-Zendesk-Webhook-Signature: <base64>` | `timestamp` + `body`, HMAC-SHA256 | the signing secret, as text |
//! | [`Scheme::Zammad`] | `X-Hub-Signature: sha1=<hex>` | `body`, HMAC-SHA1 | the webhook's token, as text |
//!
//! Pure: the current time comes in as `now`. Timestamps more than the tolerance (5 minutes by
//! default) away from `now`, in either direction, are rejected; Zammad signs no timestamp, so
//! its deliveries can only be deduplicated by event id. Several secrets may be configured (key
//! rotation): a delivery passes when any signature it carries matches any secret. Comparisons are
//! constant-time.
//!
//! ```
//! use frontdesk::adapters::signature::{Scheme, Verifier};
//!
//! let verifier = Verifier::new(Scheme::Zammad, &["s3cr3t-t0k3n"]).unwrap();
//! let mut headers = http::HeaderMap::new();
//! headers.insert("x-hub-signature", "sha1=0000000000000000000000000000000000000000".parse().unwrap());
//! let err = verifier.verify(&headers, b"{}", chrono::Utc::now()).unwrap_err();
//! assert_eq!(err.to_string(), "no signature in `X-Hub-Signature` matched the 1 configured secret(s)");
//! ```

use std::fmt;
use std::time::Duration;

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::text::unhex;

/// How far a signed timestamp may be from `now` by default: 5 minutes, as Standard Webhooks and
/// Chatwoot's maintainers recommend.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Base64 for signatures: standard alphabet, padding required.
const STRICT: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Base64 for configured secrets: standard alphabet, padding optional and non-zero trailing bits
/// allowed, so a secret pasted without its `=` decodes to the same key as with it.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A way of signing webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    StandardWebhooks,
    /// Chatwoot (`X-Chatwoot-Signature`, `X-Chatwoot-Timestamp`).
    Chatwoot,
    /// Zendesk (`X-Zendesk-Webhook-Signature`, `X-Zendesk-Webhook-Signature-Timestamp`).
    Zendesk,
    /// Zammad (`X-Hub-Signature`).
    Zammad,
}

impl Scheme {
    /// The scheme `helpdesk` signs its deliveries with (Standard Webhooks for `generic`).
    pub fn of(helpdesk: crate::model::Helpdesk) -> Scheme {
        use crate::model::Helpdesk;
        match helpdesk {
            Helpdesk::Generic => Scheme::StandardWebhooks,
            Helpdesk::Chatwoot => Scheme::Chatwoot,
            Helpdesk::Zammad => Scheme::Zammad,
            Helpdesk::Zendesk => Scheme::Zendesk,
        }
    }
}

/// Why a delivery's signature was not accepted (or a secret could not be used).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// [`Verifier::new`] got no secret at all.
    #[error("no secret configured")]
    NoSecret,
    /// A configured secret is empty or not valid for its scheme.
    #[error("secret #{index}: {reason}")]
    InvalidSecret {
        /// Which secret (1-based, in the order given).
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A required header is absent.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// A header is present but unusable (empty, not text, not a number or time).
    #[error("header `{header}`: {reason}")]
    InvalidHeader {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signed timestamp is older than the tolerance allows.
    #[error("`{header}` is too old by {by} s ({age} s old, {tolerance} s allowed)")]
    TooOld {
        /// The timestamp header.
        header: &'static str,
        /// Seconds beyond the tolerance.
        by: u64,
        /// Seconds between the timestamp and now.
        age: u64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error("`{header}` is too new by {by} s ({ahead} s ahead of now, {tolerance} s allowed)")]
    TooNew {
        /// The timestamp header.
        header: &'static str,
        /// Seconds beyond the tolerance.
        by: u64,
        /// Seconds between now and the timestamp.
        ahead: u64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// The signature header is not in the scheme's format.
    #[error("malformed signature in `{header}`: {reason}")]
    Malformed {
        /// The signature header.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Well-formed signatures, none of which matches any configured secret.
    #[error("no signature in `{header}` matched the {secrets} configured secret(s)")]
    NoMatch {
        /// The signature header.
        header: &'static str,
        /// How many secrets were tried.
        secrets: usize,
    },
}

impl SignatureError {
    /// A stable machine-readable code for HTTP error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::NoSecret | SignatureError::InvalidSecret { .. } => "invalid_secret",
            SignatureError::MissingHeader(_) => "missing_header",
            SignatureError::InvalidHeader { .. } => "invalid_header",
            SignatureError::TooOld { .. } => "timestamp_too_old",
            SignatureError::TooNew { .. } => "timestamp_too_new",
            SignatureError::Malformed { .. } => "malformed_signature",
            SignatureError::NoMatch { .. } => "signature_mismatch",
        }
    }
}

/// Checks one scheme's signatures against one or more secrets.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    keys: Vec<Vec<u8>>,
    tolerance: Duration,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys themselves.
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `scheme` that accepts any of `secrets` (several during a key rotation).
    ///
    /// Standard Webhooks secrets are base64 (`whsec_` prefix optional, padding optional); the
    /// other schemes use the secret's text as the key. Empty secrets are refused.
    pub fn new<S: AsRef<str>>(scheme: Scheme, secrets: &[S]) -> Result<Verifier, SignatureError> {
        if secrets.is_empty() {
            return Err(SignatureError::NoSecret);
        }
        let keys = secrets
            .iter()
            .enumerate()
            .map(|(i, secret)| {
                let invalid = |reason: &str| SignatureError::InvalidSecret {
                    index: i + 1,
                    reason: reason.to_string(),
                };
                let secret = secret.as_ref();
                let key = match scheme {
                    Scheme::StandardWebhooks => {
                        let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
                        LENIENT
                            .decode(b64)
                            .map_err(|e| invalid(&format!("not base64 ({e})")))?
                    }
                    _ => secret.as_bytes().to_vec(),
                };
                if key.is_empty() {
                    return Err(invalid("empty"));
                }
                Ok(key)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Verifier {
            scheme,
            keys,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Signs an outgoing delivery the Standard Webhooks way with the first secret: the value of
    /// the `webhook-signature` header (`v1,<base64>`). `None` for other schemes.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
        use base64::Engine as _;
        if self.scheme != Scheme::StandardWebhooks {
            return None;
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.keys[0]).ok()?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        Some(format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        ))
    }

    /// The same verifier with another timestamp tolerance.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Verifier {
        self.tolerance = tolerance;
        self
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Checks a delivery: `Ok` when its timestamp (if the scheme signs one) is within the
    /// tolerance of `now` and one of its signatures matches one of the secrets.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        match self.scheme {
            Scheme::StandardWebhooks => self.standard_webhooks(headers, body, now),
            Scheme::Chatwoot => self.chatwoot(headers, body, now),
            Scheme::Zendesk => self.zendesk(headers, body, now),
            Scheme::Zammad => self.zammad(headers, body),
        }
    }

    fn standard_webhooks(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        const ID: &str = "webhook-id";
        const TIMESTAMP: &str = "webhook-timestamp";
        const SIGNATURE: &str = "webhook-signature";
        let id = header(headers, ID)?;
        let timestamp = header(headers, TIMESTAMP)?;
        let seconds = unix_seconds(TIMESTAMP, timestamp)?;
        self.check_time(TIMESTAMP, seconds, now)?;

        // Every `webhook-signature` line, every space-separated `version,base64` entry in it.
        let mut lines = headers.get_all(SIGNATURE).iter().peekable();
        if lines.peek().is_none() {
            return Err(SignatureError::MissingHeader(SIGNATURE));
        }
        let mut signatures = Vec::new();
        let mut malformed = None;
        for line in lines {
            let line = line.to_str().map_err(|_| SignatureError::Malformed {
                header: SIGNATURE,
                reason: "not visible ASCII".into(),
            })?;
            for entry in line.split_ascii_whitespace() {
                match entry.split_once(',') {
                    Some(("v1", "")) => malformed = Some(format!("`{entry}` has no signature")),
                    Some(("v1", b64)) => match STRICT.decode(b64) {
                        Ok(sig) => signatures.push(sig),
                        Err(_) => malformed = Some(format!("`{entry}` is not base64")),
                    },
                    // Other versions (`v1a` asymmetric, future ones) are not ours to check.
                    Some(_) => {}
                    None => malformed = Some(format!("`{entry}` is not `version,signature`")),
                }
            }
        }
        if signatures.is_empty() {
            return Err(SignatureError::Malformed {
                header: SIGNATURE,
                reason: malformed.unwrap_or_else(|| "no `v1,` signature".into()),
            });
        }
        let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
        self.match_any::<Hmac<Sha256>>(SIGNATURE, &signed, &signatures)
    }

    fn chatwoot(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        const TIMESTAMP: &str = "X-Chatwoot-Timestamp";
        const SIGNATURE: &str = "X-Chatwoot-Signature";
        let timestamp = header(headers, TIMESTAMP)?;
        let seconds = unix_seconds(TIMESTAMP, timestamp)?;
        let signature = hex_signature(headers, SIGNATURE, "sha256=", 32)?;
        self.check_time(TIMESTAMP, seconds, now)?;
        let signed = [timestamp.as_bytes(), b".", body];
        self.match_any::<Hmac<Sha256>>(SIGNATURE, &signed, &[signature])
    }

    fn zendesk(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        const TIMESTAMP: &str = "X-Zendesk-Webhook-Signature-Timestamp";
        const SIGNATURE: &str = "X-Zendesk-Webhook-Signature";
        let timestamp = header(headers, TIMESTAMP)?;
        let time =
            DateTime::parse_from_rfc3339(timestamp).map_err(|_| SignatureError::InvalidHeader {
                header: TIMESTAMP,
                reason: format!("`{timestamp}` is not an ISO-8601 time"),
            })?;
        let b64 = header(headers, SIGNATURE)?;
        let signature = STRICT.decode(b64).map_err(|_| SignatureError::Malformed {
            header: SIGNATURE,
            reason: "not base64".into(),
        })?;
        self.check_time(TIMESTAMP, time.timestamp(), now)?;
        // TIMESTAMP + BODY, no separator (the current Zendesk docs; see docs/adapters.md for the
        // older page whose published example signs BODY + TIMESTAMP).
        let signed = [timestamp.as_bytes(), body];
        self.match_any::<Hmac<Sha256>>(SIGNATURE, &signed, &[signature])
    }

    fn zammad(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
        const SIGNATURE: &str = "X-Hub-Signature";
        let signature = hex_signature(headers, SIGNATURE, "sha1=", 20)?;
        self.match_any::<Hmac<Sha1>>(SIGNATURE, &[body], &[signature])
    }

    fn check_time(
        &self,
        header: &'static str,
        seconds: i64,
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        let tolerance = self.tolerance.as_secs();
        let diff = i128::from(now.timestamp()) - i128::from(seconds);
        let secs = |d: i128| u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX);
        if diff > i128::from(tolerance) {
            return Err(SignatureError::TooOld {
                header,
                by: secs(diff) - tolerance,
                age: secs(diff),
                tolerance,
            });
        }
        if -diff > i128::from(tolerance) {
            return Err(SignatureError::TooNew {
                header,
                by: secs(diff) - tolerance,
                ahead: secs(diff),
                tolerance,
            });
        }
        Ok(())
    }

    /// `Ok` when any of `signatures` is the MAC of `signed` (the parts, concatenated) under any key.
    fn match_any<M: Mac + KeyInit>(
        &self,
        header: &'static str,
        signed: &[&[u8]],
        signatures: &[Vec<u8>],
    ) -> Result<(), SignatureError> {
        let mut matched = false;
        for key in &self.keys {
            let mut mac =
                <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
            for part in signed {
                mac.update(part);
            }
            let expected = mac.finalize().into_bytes();
            for signature in signatures {
                // Unequal lengths compare unequal; the length is no secret.
                matched |= bool::from(expected.as_slice().ct_eq(signature));
            }
        }
        if matched {
            Ok(())
        } else {
            Err(SignatureError::NoMatch {
                header,
                secrets: self.keys.len(),
            })
        }
    }
}

/// A required header as trimmed text.
fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, SignatureError> {
    let value = headers
        .get(name.to_ascii_lowercase().as_str())
        .ok_or(SignatureError::MissingHeader(name))?;
    let text = value.to_str().map_err(|_| SignatureError::InvalidHeader {
        header: name,
        reason: "not visible ASCII".into(),
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(SignatureError::InvalidHeader {
            header: name,
            reason: "empty".into(),
        });
    }
    Ok(text)
}

fn unix_seconds(name: &'static str, text: &str) -> Result<i64, SignatureError> {
    text.parse().map_err(|_| SignatureError::InvalidHeader {
        header: name,
        reason: format!("`{text}` is not a whole number of unix seconds"),
    })
}

/// `prefix<hex of len bytes>`, as Chatwoot (`sha256=`) and Zammad (`sha1=`) send.
fn hex_signature(
    headers: &HeaderMap,
    name: &'static str,
    prefix: &str,
    len: usize,
) -> Result<Vec<u8>, SignatureError> {
    let text = header(headers, name).map_err(|e| match e {
        SignatureError::InvalidHeader { header, reason } => {
            SignatureError::Malformed { header, reason }
        }
        e => e,
    })?;
    let malformed = |reason: String| SignatureError::Malformed {
        header: name,
        reason,
    };
    let hex = text
        .strip_prefix(prefix)
        .ok_or_else(|| malformed(format!("expected `{prefix}<hex>`")))?;
    match unhex(hex) {
        Some(bytes) if bytes.len() == len => Ok(bytes),
        _ => Err(malformed(format!(
            "expected {} hex digits after `{prefix}`",
            len * 2
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    // Chatwoot publishes no test vector. This one was derived here with Python's `hmac` module:
    // hmac.new(b"chatwoot-secret", b"1700000000." + body, "sha256").hexdigest()
    const CHATWOOT_BODY: &[u8] = br#"{"event":"message_created","id":1}"#;
    const CHATWOOT_SIG: &str =
        "sha256=97435682e5870c6695715089c184c4b75d5ad5d45f779cd9f4ebf398a6e6143f";

    #[test]
    fn chatwoot_signature_and_timestamp() {
        let v = Verifier::new(Scheme::Chatwoot, &["chatwoot-secret"]).unwrap();
        let good = headers(&[
            ("x-chatwoot-timestamp", "1700000000"),
            ("x-chatwoot-signature", CHATWOOT_SIG),
        ]);
        assert_eq!(v.verify(&good, CHATWOOT_BODY, at(1_700_000_100)), Ok(()));
        assert_eq!(
            v.verify(&good, b"{}", at(1_700_000_100))
                .unwrap_err()
                .code(),
            "signature_mismatch"
        );
        assert_eq!(
            v.verify(&good, CHATWOOT_BODY, at(1_700_000_301))
                .unwrap_err()
                .to_string(),
            "`X-Chatwoot-Timestamp` is too old by 1 s (301 s old, 300 s allowed)"
        );
        assert_eq!(
            v.verify(&good, CHATWOOT_BODY, at(1_699_999_000))
                .unwrap_err()
                .to_string(),
            "`X-Chatwoot-Timestamp` is too new by 700 s (1000 s ahead of now, 300 s allowed)"
        );
        let relaxed = v.clone().with_tolerance(Duration::from_secs(3600));
        assert_eq!(
            relaxed.verify(&good, CHATWOOT_BODY, at(1_700_003_000)),
            Ok(())
        );
        // Key rotation: the old secret still verifies next to the new one.
        let rotated = Verifier::new(Scheme::Chatwoot, &["new-secret", "chatwoot-secret"]).unwrap();
        assert_eq!(
            rotated.verify(&good, CHATWOOT_BODY, at(1_700_000_000)),
            Ok(())
        );
    }

    #[test]
    fn chatwoot_header_errors_say_what_failed() {
        let v = Verifier::new(Scheme::Chatwoot, &["chatwoot-secret"]).unwrap();
        let now = at(1_700_000_000);
        let cases: &[(&[(&'static str, &str)], &str)] = &[
            (
                &[("x-chatwoot-signature", CHATWOOT_SIG)],
                "missing header `X-Chatwoot-Timestamp`",
            ),
            (
                &[("x-chatwoot-timestamp", "1700000000")],
                "missing header `X-Chatwoot-Signature`",
            ),
            (
                &[("x-chatwoot-timestamp", "soon"), ("x-chatwoot-signature", CHATWOOT_SIG)],
                "header `X-Chatwoot-Timestamp`: `soon` is not a whole number of unix seconds",
            ),
            (
                &[("x-chatwoot-timestamp", "1700000000"), ("x-chatwoot-signature", "abc")],
                "malformed signature in `X-Chatwoot-Signature`: expected `sha256=<hex>`",
            ),
            (
                &[("x-chatwoot-timestamp", "1700000000"), ("x-chatwoot-signature", "sha256=")],
                "malformed signature in `X-Chatwoot-Signature`: expected 64 hex digits after `sha256=`",
            ),
            (
                &[("x-chatwoot-timestamp", "1700000000"), ("x-chatwoot-signature", " ")],
                "malformed signature in `X-Chatwoot-Signature`: empty",
            ),
        ];
        for (pairs, message) in cases {
            let err = v.verify(&headers(pairs), CHATWOOT_BODY, now).unwrap_err();
            assert_eq!(err.to_string(), *message);
        }
    }

    #[test]
    fn secrets_are_checked_up_front() {
        let none: &[&str] = &[];
        assert_eq!(
            Verifier::new(Scheme::Zammad, none).unwrap_err(),
            SignatureError::NoSecret
        );
        for (scheme, secret) in [
            (Scheme::Zammad, ""),
            (Scheme::StandardWebhooks, ""),
            (Scheme::StandardWebhooks, "whsec_"),
        ] {
            let err = Verifier::new(scheme, &["b2tzZWNyZXQ=", secret]).unwrap_err();
            assert_eq!(err.to_string(), "secret #2: empty");
        }
        let err = Verifier::new(Scheme::StandardWebhooks, &["whsec_not base64!"]).unwrap_err();
        assert!(
            err.to_string().starts_with("secret #1: not base64"),
            "{err}"
        );
        let v = Verifier::new(Scheme::Zendesk, &["a", "b"]).unwrap();
        assert_eq!(
            format!("{v:?}"),
            "Verifier { scheme: Zendesk, secrets: 2, tolerance: 300s }"
        );
    }

    #[test]
    fn timestamps_far_out_of_range_do_not_overflow() {
        let v = Verifier::new(Scheme::Chatwoot, &["s"]).unwrap();
        for ts in [i64::MIN.to_string(), i64::MAX.to_string()] {
            let h = headers(&[
                ("x-chatwoot-timestamp", &ts),
                ("x-chatwoot-signature", CHATWOOT_SIG),
            ]);
            let err = v.verify(&h, b"", at(0)).unwrap_err();
            assert!(
                matches!(err.code(), "timestamp_too_old" | "timestamp_too_new"),
                "{err}"
            );
        }
    }
}
