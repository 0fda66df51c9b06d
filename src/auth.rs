//! API tokens: made here, shown once, stored only as SHA-256 hashes, checked in constant time.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{DynStore, StoreError};

/// Marks Herald tokens, so a leaked one is recognisable in secret scanners and logs.
pub const TOKEN_PREFIX: &str = "hrld_";
/// 256 bits from the operating system's generator.
const TOKEN_BYTES: usize = 32;
pub const MAX_NAME_CHARS: usize = 100;

/// Who made a write: the name of the token that authenticated it (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editor {
    pub name: String,
}

/// A fresh random token: `hrld_` and 32 bytes in unpadded base64url.
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng
        .try_fill_bytes(&mut bytes)
        .context("the operating system's random generator failed")?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The stored form of a token: lower-case hex SHA-256.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates a token called `name` and returns the secret, which exists nowhere else afterwards.
pub async fn issue(store: &DynStore, name: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        anyhow::bail!("a token name must be 1 to {MAX_NAME_CHARS} characters");
    }
    let token = generate()?;
    match store.create_token(name, &hash(&token), now).await {
        Ok(()) => Ok(token),
        Err(StoreError::Conflict { .. }) => {
            anyhow::bail!("a token named `{name}` already exists (names stay taken after revoking)")
        }
        Err(e) => Err(e.into()),
    }
}

/// The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1), if well-formed.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim_start_matches(' ');
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    valid.then_some(token)
}

/// The editor an active token belongs to. The token is looked up by its hash (an index seek:
/// the hash reveals nothing about the secret), and the found hash is still compared in constant
/// time, so no code path compares secrets by early exit.
pub async fn verify(store: &DynStore, token: &str) -> anyhow::Result<Option<Editor>> {
    let presented = hash(token);
    Ok(store
        .token_by_hash(&presented)
        .await?
        .filter(|active| bool::from(active.hash.as_bytes().ct_eq(presented.as_bytes())))
        .map(|active| Editor { name: active.name }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        let secret = URL_SAFE_NO_PAD.decode(&a[TOKEN_PREFIX.len()..]).unwrap();
        assert_eq!(secret.len(), TOKEN_BYTES);
        assert_eq!(bearer(&format!("Bearer {a}")), Some(a.as_str()));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn bearer_values_are_parsed_strictly() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc=="), Some("abc=="));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearer a b",
            "Bearer ===",
            "Bearer abc\u{e9}",
            "Bearerabc",
        ] {
            assert_eq!(bearer(bad), None, "{bad:?}");
        }
    }
}
