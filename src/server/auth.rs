//! Bearer tokens for `/v1/*`. Tokens are kept only as SHA-256 hashes and compared in constant
//! time. An API token may do everything; a viewer token may read (`GET`, and try events in the
//! playground) and change nothing; a chat token (the one a chat widget shows to the browser) may only chat as a customer.

use sha2::{Digest, Sha256};

/// The one route a viewer token may `POST` to: it decides an event without storing anything.
pub(crate) const PLAYGROUND: &str = "/v1/playground";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything (an API token).
    Admin,
    /// Read only (a viewer token).
    Viewer,
    /// The customer's side of chats only (a chat token).
    Chat,
}

impl Role {
    /// Whether a token of this role may call `method path`.
    pub fn allows(self, method: &http::Method, path: &str) -> bool {
        match self {
            Role::Admin => true,
            // The playground decides an event and changes nothing.
            Role::Viewer => {
                matches!(*method, http::Method::GET | http::Method::HEAD)
                    || (*method == http::Method::POST && path == PLAYGROUND)
            }
            // Opening a chat, its transcript and live stream, the customer's messages, the
            // address for the answer, closing it; not a person's messages.
            Role::Chat => {
                path.starts_with("/v1/chat/sessions") && !path.ends_with("/agent-messages")
            }
        }
    }
}

/// The accepted API and viewer tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    hashes: Vec<([u8; 32], Role)>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn parse_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hex = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

/// Constant-time equality of two hashes.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// API tokens from plain tokens (hashed at once) and hex SHA-256 hashes. Errors name a bad
    /// hash.
    pub fn new(plain: &[String], hashed: &[String]) -> Result<Tokens, String> {
        let mut t = Tokens::default();
        t.add(Role::Admin, plain, hashed)?;
        Ok(t)
    }

    /// Adds tokens of `role`, plain and as hex SHA-256 hashes.
    pub fn add(&mut self, role: Role, plain: &[String], hashed: &[String]) -> Result<(), String> {
        for t in plain.iter().filter(|t| !t.is_empty()) {
            self.hashes.push((sha256(t.as_bytes()), role));
        }
        for h in hashed.iter().filter(|h| !h.trim().is_empty()) {
            let hash = parse_hex(h)
                .ok_or_else(|| format!("`{h}` is not a hex SHA-256 hash (64 hex digits)"))?;
            self.hashes.push((hash, role));
        }
        Ok(())
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.hashes.is_empty()
    }

    /// Checks an `Authorization` header value: what its token may do.
    pub fn check(&self, header: Option<&str>) -> Result<Role, &'static str> {
        let Some(value) = header else {
            return Err("missing `Authorization: Bearer TOKEN` header");
        };
        let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        else {
            return Err("the Authorization header must be `Bearer TOKEN`");
        };
        let presented = sha256(token.trim().as_bytes());
        // Compare with every hash so the time does not depend on which one matches.
        let mut matched = [false; 3];
        for (h, role) in &self.hashes {
            matched[*role as usize] |= same(h, &presented);
        }
        // A token given in several roles has the widest.
        [Role::Admin, Role::Viewer, Role::Chat]
            .into_iter()
            .find(|r| matched[*r as usize])
            .ok_or("invalid API token")
    }

    /// A short name of the token a valid `Authorization` header carries (the first bytes of
    /// its hash, never the token), for per-token limits; `None` for no or a wrong token.
    pub fn caller(&self, header: Option<&str>) -> Option<String> {
        self.check(header).ok()?;
        let token = header?.get("Bearer ".len()..)?.trim();
        let hash = sha256(token.as_bytes());
        Some(hash[..8].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A presented token's role and hash (the widest role when it is configured in several),
    /// compared with every configured hash; `None` when it is not one of them.
    pub fn identify(&self, token: &str) -> Option<(Role, [u8; 32])> {
        let presented = sha256(token.trim().as_bytes());
        let role = self.check(Some(&format!("Bearer {}", token.trim()))).ok()?;
        Some((role, presented))
    }

    /// The configured token whose hash starts with `prefix` (a console session names its
    /// token this way), with its widest role.
    pub fn by_prefix(&self, prefix: &[u8]) -> Option<(Role, [u8; 32])> {
        let mut found: Option<(Role, [u8; 32])> = None;
        for (h, role) in &self.hashes {
            if h.starts_with(prefix) && found.is_none_or(|(r, _)| (*role as usize) < (r as usize)) {
                found = Some((*role, *h));
            }
        }
        found
    }

    /// The hex SHA-256 of a token, for configuration.
    pub fn hash_hex(token: &str) -> String {
        sha256(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_hashed_tokens() {
        let t = Tokens::new(&["s3cret".into()], &[Tokens::hash_hex("other")]).unwrap();
        assert!(t.check(Some("Bearer s3cret")).is_ok());
        assert!(t.check(Some("Bearer other")).is_ok());
        assert_eq!(t.check(Some("Bearer nope")), Err("invalid API token"));
        assert!(t.check(Some("Basic abc")).is_err());
        assert!(t.check(None).is_err());
        assert!(Tokens::new(&[], &["xyz".into()]).is_err());
    }

    #[test]
    fn viewer_tokens_read_only() {
        let mut t = Tokens::new(&["admin".into()], &[]).unwrap();
        t.add(Role::Viewer, &["look".into()], &[Tokens::hash_hex("peek")])
            .unwrap();
        assert_eq!(t.check(Some("Bearer admin")), Ok(Role::Admin));
        assert_eq!(t.check(Some("Bearer look")), Ok(Role::Viewer));
        assert_eq!(t.check(Some("Bearer peek")), Ok(Role::Viewer));
        assert_eq!(t.check(Some("Bearer nope")), Err("invalid API token"));
        // A token given as both is an API token.
        t.add(Role::Admin, &["look".into()], &[]).unwrap();
        assert_eq!(t.check(Some("Bearer look")), Ok(Role::Admin));
    }

    #[test]
    fn what_each_role_may_call() {
        use http::Method;
        let v = Role::Viewer;
        assert!(v.allows(&Method::GET, "/v1/tickets/T1"));
        assert!(!v.allows(&Method::POST, "/v1/events"));
        assert!(!v.allows(&Method::PUT, "/v1/agents/kari/status"));
        // The playground changes nothing: a viewer may try events there, and nowhere else.
        assert!(v.allows(&Method::POST, "/v1/playground"));
        assert!(v.allows(&Method::GET, "/v1/decisions/e1/explain"));
        for (m, p) in [
            (Method::PUT, "/v1/playground"),
            (Method::DELETE, "/v1/playground"),
            (Method::POST, "/v1/playground/x"),
            (Method::POST, "/v1/playgroundx"),
            (Method::POST, "/v1/outbox/o1/redeliver"),
            (Method::POST, "/v1/admin/reload"),
        ] {
            assert!(!v.allows(&m, p), "{m} {p}");
        }
        assert!(!Role::Chat.allows(&Method::POST, "/v1/playground"));
        let c = Role::Chat;
        for (m, p) in [
            (Method::POST, "/v1/chat/sessions"),
            (Method::GET, "/v1/chat/sessions/abc"),
            (Method::POST, "/v1/chat/sessions/abc/messages"),
            (Method::GET, "/v1/chat/sessions/abc/events"),
            (Method::POST, "/v1/chat/sessions/abc/contact"),
            (Method::POST, "/v1/chat/sessions/abc/close"),
        ] {
            assert!(c.allows(&m, p), "{m} {p}");
        }
        for (m, p) in [
            (Method::POST, "/v1/chat/sessions/abc/agent-messages"),
            (Method::POST, "/v1/events"),
            (Method::GET, "/v1/tickets/T1"),
            (Method::GET, "/v1/bots/support/stats"),
        ] {
            assert!(!c.allows(&m, p), "{m} {p}");
        }
        assert!(Role::Admin.allows(&Method::POST, "/v1/events"));
    }
}
