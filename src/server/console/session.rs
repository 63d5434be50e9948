//! Console sessions: an API or viewer token logs in once and the browser keeps a signed
//! cookie, so the token itself is never stored in the browser.
//!
//! The cookie is `<token id>.<expiry>.<nonce>.<mac>`: the first 8 bytes of the token's hash,
//! the Unix time the session ends, 16 random bytes, and an HMAC-SHA256 over the three made with
//! a key derived from the console secret and the token's hash. Nothing is kept on the server:
//! replicas sharing `FRONTDESK_CONSOLE_SECRET` and the tokens accept each other's sessions, and
//! removing a token ends every session it opened. The CSRF token of a session is an HMAC of its
//! nonce under the same key; state-changing requests carry it in `X-CSRF-Token`.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::server::auth::{Role, Tokens};

/// The cookie's name.
pub const COOKIE: &str = "frontdesk_console";

/// How long a session lasts.
pub const LIFETIME_HOURS: i64 = 12;

/// Who is looking at the console, and how they proved it.
#[derive(Debug, Clone)]
pub struct Session {
    /// What they may do.
    pub role: Role,
    /// How: a cookie, a bearer token, or no tokens configured at all.
    pub via: Via,
    /// The token state-changing requests of a cookie session must carry.
    pub csrf: String,
}

/// How a console request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A session cookie (state changes need the CSRF token).
    Cookie,
    /// `Authorization: Bearer` (scripts and tests; no ambient authority, no CSRF token).
    Bearer,
    /// The daemon has no tokens: everyone who reaches it may act (state changes still need
    /// the CSRF token, so another site cannot act through a visitor's browser).
    Open,
}

impl Session {
    /// Whether this session may change things (not only read).
    pub fn may_act(&self) -> bool {
        self.role == Role::Admin
    }

    /// The role's name, for the page header.
    pub fn role_name(&self) -> &'static str {
        match (self.via, self.role) {
            (Via::Open, _) => "open (no tokens configured)",
            (_, Role::Admin) => "admin",
            (_, Role::Viewer) => "viewer",
            (_, Role::Chat) => "chat",
        }
    }
}

/// Why a cookie was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not in the expected form, or its signature does not match.
    Forged,
    /// Past its expiry.
    Expired,
    /// The token that opened it is no longer configured (or is a chat token).
    TokenGone,
}

impl Refused {
    /// What the login page says.
    pub fn message(self) -> &'static str {
        match self {
            Refused::Forged => "That session is not valid. Sign in again.",
            Refused::Expired => "Your session expired. Sign in again.",
            Refused::TokenGone => {
                "The token that opened this session is no longer accepted. Sign in again."
            }
        }
    }
}

/// Makes and checks sessions with the console secret.
pub struct Sessions {
    secret: [u8; 32],
}

type HmacSha256 = Hmac<Sha256>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Sessions {
    /// With a configured secret (any length), or `None`: a random one, so sessions end when
    /// the process does.
    pub fn new(secret: Option<&str>) -> Sessions {
        let bytes: [u8; 32] = match secret.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Sha256::digest(s.as_bytes()).into(),
            None => random(),
        };
        Sessions { secret: bytes }
    }

    fn key(&self, token_hash: &[u8; 32]) -> HmacSha256 {
        let mut key = Sha256::new();
        key.update(b"frontdesk console session\0");
        key.update(self.secret);
        key.update(token_hash);
        HmacSha256::new_from_slice(&key.finalize()).expect("HMAC takes any key length")
    }

    fn mac(&self, token_hash: &[u8; 32], parts: &[&str]) -> String {
        let mut mac = self.key(token_hash);
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(b"\0");
        }
        hex(&mac.finalize().into_bytes())
    }

    /// A new session's cookie value for a token of this hash, ending `LIFETIME_HOURS` after
    /// `now`.
    pub fn open(&self, token_hash: &[u8; 32], now: DateTime<Utc>) -> String {
        let id = hex(&token_hash[..8]);
        let expires = (now.timestamp() + LIFETIME_HOURS * 3600).to_string();
        let nonce = hex(&random::<16>());
        let mac = self.mac(token_hash, &["session", &id, &expires, &nonce]);
        format!("{id}.{expires}.{nonce}.{mac}")
    }

    /// Checks a cookie value against the configured tokens.
    pub fn check(
        &self,
        tokens: &Tokens,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Session, Refused> {
        let mut parts = value.split('.');
        let (Some(id), Some(expires), Some(nonce), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(Refused::Forged);
        };
        let prefix = unhex(id).filter(|p| p.len() == 8).ok_or(Refused::Forged)?;
        let until: i64 = expires.parse().map_err(|_| Refused::Forged)?;
        let (role, hash) = tokens.by_prefix(&prefix).ok_or(Refused::TokenGone)?;
        let expected = self.mac(&hash, &["session", id, expires, nonce]);
        if !same(expected.as_bytes(), mac.as_bytes()) {
            return Err(Refused::Forged);
        }
        if now.timestamp() >= until {
            return Err(Refused::Expired);
        }
        if role == Role::Chat {
            return Err(Refused::TokenGone);
        }
        Ok(Session {
            role,
            via: Via::Cookie,
            csrf: self.mac(&hash, &["csrf", nonce]),
        })
    }

    /// The session of a daemon without tokens: everyone is an admin, and the CSRF token is
    /// the same for all (another site cannot read it).
    pub fn open_desk(&self) -> Session {
        Session {
            role: Role::Admin,
            via: Via::Open,
            csrf: self.mac(&[0; 32], &["csrf", "open"]),
        }
    }
}

/// Constant-time equality.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // getrandom through the kernel; a short read cannot happen for these sizes.
    let n = unsafe { libc::getrandom(out.as_mut_ptr().cast(), N, 0) };
    assert_eq!(n, N as isize, "getrandom failed");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn tokens() -> Tokens {
        let mut t = Tokens::new(&["admin-token".into()], &[]).unwrap();
        t.add(Role::Viewer, &["viewer-token".into()], &[]).unwrap();
        t.add(Role::Chat, &["chat-token".into()], &[]).unwrap();
        t
    }

    #[test]
    fn a_session_is_taken_until_it_expires_with_its_tokens_role() {
        let s = Sessions::new(Some("secret"));
        let t = tokens();
        let now = at("2026-03-02T09:00:00Z");
        let (_, hash) = t.identify("viewer-token").unwrap();
        let cookie = s.open(&hash, now);
        let session = s.check(&t, &cookie, now).unwrap();
        assert_eq!(session.role, Role::Viewer);
        assert!(!session.may_act());
        assert_eq!(
            s.check(&t, &cookie, now + chrono::Duration::hours(LIFETIME_HOURS))
                .unwrap_err(),
            Refused::Expired
        );
        // Another replica with the same secret takes it; one with another does not.
        assert!(Sessions::new(Some("secret"))
            .check(&t, &cookie, now)
            .is_ok());
        assert_eq!(
            Sessions::new(Some("other"))
                .check(&t, &cookie, now)
                .unwrap_err(),
            Refused::Forged
        );
        // Without the token, the session is gone.
        let only_admin = Tokens::new(&["admin-token".into()], &[]).unwrap();
        assert_eq!(
            s.check(&only_admin, &cookie, now).unwrap_err(),
            Refused::TokenGone
        );
    }

    #[test]
    fn a_changed_cookie_is_forged() {
        let s = Sessions::new(Some("secret"));
        let t = tokens();
        let now = at("2026-03-02T09:00:00Z");
        let (_, hash) = t.identify("admin-token").unwrap();
        let cookie = s.open(&hash, now);
        let mut parts: Vec<String> = cookie.split('.').map(String::from).collect();
        // A later expiry with the old signature.
        parts[1] = (parts[1].parse::<i64>().unwrap() + 3600).to_string();
        assert_eq!(
            s.check(&t, &parts.join("."), now).unwrap_err(),
            Refused::Forged
        );
        for bad in [
            "",
            "a.b.c",
            "zz.1.2.3",
            "0011223344556677.x.y.z",
            &format!("{cookie}.x"),
        ] {
            assert!(s.check(&t, bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_chat_token_opens_no_session_and_csrf_tokens_differ_per_session() {
        let s = Sessions::new(None);
        let t = tokens();
        let now = at("2026-03-02T09:00:00Z");
        let (_, chat) = t.identify("chat-token").unwrap();
        assert_eq!(
            s.check(&t, &s.open(&chat, now), now).unwrap_err(),
            Refused::TokenGone
        );
        let (_, admin) = t.identify("admin-token").unwrap();
        let a = s.check(&t, &s.open(&admin, now), now).unwrap();
        let b = s.check(&t, &s.open(&admin, now), now).unwrap();
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.csrf.len(), 64);
    }
}
