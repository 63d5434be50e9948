//! Bearer tokens for `/v1/*`. Tokens are kept only as SHA-256 hashes and compared in constant
//! time.

use sha2::{Digest, Sha256};

/// The accepted API tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    hashes: Vec<[u8; 32]>,
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
    /// From plain tokens (hashed at once) and hex SHA-256 hashes. Errors name a bad hash.
    pub fn new(plain: &[String], hashed: &[String]) -> Result<Tokens, String> {
        let mut hashes: Vec<[u8; 32]> = plain
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| sha256(t.as_bytes()))
            .collect();
        for h in hashed.iter().filter(|h| !h.trim().is_empty()) {
            hashes.push(
                parse_hex(h)
                    .ok_or_else(|| format!("`{h}` is not a hex SHA-256 hash (64 hex digits)"))?,
            );
        }
        Ok(Tokens { hashes })
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.hashes.is_empty()
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, header: Option<&str>) -> Result<(), &'static str> {
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
        let ok = self
            .hashes
            .iter()
            .fold(false, |acc, h| acc | same(h, &presented));
        if ok {
            Ok(())
        } else {
            Err("invalid API token")
        }
    }

    /// A short name of the token a valid `Authorization` header carries (the first bytes of
    /// its hash, never the token), for per-token limits; `None` for no or a wrong token.
    pub fn caller(&self, header: Option<&str>) -> Option<String> {
        self.check(header).ok()?;
        let token = header?.get("Bearer ".len()..)?.trim();
        let hash = sha256(token.as_bytes());
        Some(hash[..8].iter().map(|b| format!("{b:02x}")).collect())
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
}
