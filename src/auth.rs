//! API tokens: made here, shown once, stored only as SHA-256 hashes, checked in constant time.
//! Each carries scopes (what it may do) and may expire.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{DynStore, FULL_RIGHTS, NewToken, StoreError};

/// Marks Herald tokens, so a leaked one is recognisable in secret scanners and logs.
pub const TOKEN_PREFIX: &str = "hrld_";
/// 256 bits from the operating system's generator.
const TOKEN_BYTES: usize = 32;
pub const MAX_NAME_CHARS: usize = 100;

/// How many characters of a token its listing shows: the `hrld_` marker and 7 of the secret,
/// enough to tell tokens apart, far too few to guess the rest.
pub const SHOWN_PREFIX_CHARS: usize = TOKEN_PREFIX.len() + 7;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// See drafts and scheduled items.
    ReadDrafts,
    /// Create and edit items, as drafts only (a contributor).
    Write,
    /// Make items public, schedule them, unpublish and delete them.
    Publish,
    /// Media uploads.
    Media,
    /// Manage webhook subscriptions.
    Webhooks,
    /// Manage tokens, and everything the other scopes allow.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::ReadDrafts,
        Scope::Write,
        Scope::Publish,
        Scope::Media,
        Scope::Webhooks,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReadDrafts => "read:drafts",
            Scope::Write => "write",
            Scope::Publish => "publish",
            Scope::Media => "media",
            Scope::Webhooks => "webhooks",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// A set of scopes, written comma-separated (`write,publish`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(std::collections::BTreeSet<Scope>);

impl Scopes {
    /// Every right: what tokens made without scopes (and before scopes existed) have.
    pub fn full() -> Self {
        Self([Scope::Admin].into())
    }

    /// A comma-separated list; an unknown name is an error naming it.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        let mut scopes = Self::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let scope = Scope::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope `{name}` (known: {})", known.join(", "))
            })?;
            scopes.0.insert(scope);
        }
        if scopes.0.is_empty() {
            return Err("name at least one scope".to_owned());
        }
        Ok(scopes)
    }

    /// Whether these scopes allow what `scope` guards. `admin` allows everything, and whoever
    /// may write or publish items may also read the drafts they work on.
    pub fn allows(&self, scope: Scope) -> bool {
        self.0.contains(&Scope::Admin)
            || self.0.contains(&scope)
            || (scope == Scope::ReadDrafts
                && (self.0.contains(&Scope::Write) || self.0.contains(&Scope::Publish)))
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        Self(scopes.into_iter().collect())
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// Who made a request: the name of the token that authenticated it (never the token), and what
/// it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editor {
    pub name: String,
    pub scopes: Scopes,
}

impl Editor {
    /// `Err(scope)` when this editor's token lacks `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Scope> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(scope)
        }
    }
}

/// What to issue a token for.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub name: String,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("a token name must be 1 to {MAX_NAME_CHARS} characters")]
    BadName,
    #[error("a token named `{0}` already exists (names stay taken after revoking)")]
    Taken(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
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

/// Creates a full-rights token called `name` and returns the secret, which exists nowhere else
/// afterwards.
pub async fn issue(store: &DynStore, name: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let spec = TokenSpec {
        name: name.to_owned(),
        scopes: Scopes::full(),
        expires_at: None,
    };
    Ok(issue_with(store, &spec, now).await?)
}

/// Creates a token as `spec` says and returns the secret (shown once, stored only hashed).
pub async fn issue_with(
    store: &DynStore,
    spec: &TokenSpec,
    now: DateTime<Utc>,
) -> Result<String, IssueError> {
    let name = spec.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(IssueError::BadName);
    }
    let token = generate()?;
    let scopes = spec.scopes.to_string();
    let stored = NewToken {
        name: name.to_owned(),
        hash: hash(&token),
        prefix: Some(token[..SHOWN_PREFIX_CHARS].to_owned()),
        scopes: if scopes.is_empty() {
            FULL_RIGHTS.to_owned()
        } else {
            scopes
        },
        expires_at: spec.expires_at,
    };
    match store.create_scoped_token(&stored, now).await {
        Ok(()) => Ok(token),
        Err(StoreError::Conflict { .. }) => Err(IssueError::Taken(name.to_owned())),
        Err(e) => Err(IssueError::Other(e.into())),
    }
}

/// A lifetime such as `90s`, `30m`, `12h`, `30d` or `2w` (a bare number is seconds).
pub fn parse_lifetime(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a lifetime such as 3600s, 30m, 12h or 30d"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("`{text}`: use the units s, m, h, d or w")),
    };
    n.checked_mul(seconds)
        .filter(|s| *s > 0 && *s <= MAX_LIFETIME_SECS)
        .map(chrono::Duration::seconds)
        .ok_or_else(|| format!("`{text}` must be from 1 second to 10 years"))
}

/// Ten years: a longer lifetime is a mistake, and sooner or later an overflow.
pub const MAX_LIFETIME_SECS: i64 = 10 * 366 * 86_400;

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

/// The editor an active, unexpired token belongs to. The token is looked up by its hash (an
/// index seek: the hash reveals nothing about the secret), and the found hash is still compared
/// in constant time, so no code path compares secrets by early exit. Use is recorded at most
/// once a minute.
pub async fn verify(
    store: &DynStore,
    token: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Editor>> {
    let presented = hash(token);
    let Some(active) = store
        .token_by_hash(&presented)
        .await?
        .filter(|active| bool::from(active.hash.as_bytes().ct_eq(presented.as_bytes())))
        .filter(|active| active.expires_at.is_none_or(|at| now < at))
    else {
        return Ok(None);
    };
    if active
        .last_used_at
        .is_none_or(|at| now - at >= chrono::Duration::minutes(1))
    {
        store.touch_token(&active.name, now).await?;
    }
    // A stored list this code did not write (edited by hand) fails closed to no rights.
    let scopes = Scopes::parse_list(&active.scopes).unwrap_or_default();
    Ok(Some(Editor {
        name: active.name,
        scopes,
    }))
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
    fn scopes_parse_and_admin_allows_everything() {
        let s = Scopes::parse_list("write, publish").unwrap();
        assert_eq!(s.to_string(), "write,publish");
        assert!(s.allows(Scope::Publish) && s.allows(Scope::ReadDrafts));
        assert!(!s.allows(Scope::Webhooks) && !s.allows(Scope::Admin));
        assert!(
            Scopes::parse_list("write,nope")
                .unwrap_err()
                .contains("`nope`")
        );
        assert!(Scopes::parse_list(" , ").is_err());
        for scope in Scope::ALL {
            assert!(Scopes::full().allows(scope));
        }
        let reader = Scopes::parse_list("read:drafts").unwrap();
        assert!(reader.allows(Scope::ReadDrafts) && !reader.allows(Scope::Write));
    }

    #[test]
    fn lifetimes_take_units() {
        assert_eq!(parse_lifetime("90").unwrap().num_seconds(), 90);
        assert_eq!(parse_lifetime("30m").unwrap().num_seconds(), 1800);
        assert_eq!(parse_lifetime("2d").unwrap().num_seconds(), 172_800);
        for bad in ["", "0", "-5s", "3y", "1.5h", "99999999999w"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
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
