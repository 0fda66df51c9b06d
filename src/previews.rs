//! Draft previews: a signed, item-scoped, expiring token that shows one unpublished item to
//! whoever holds it (`?preview=TOKEN` on the item's JSON and HTML). The token is
//! `<item id>.<expiry, Unix seconds>.<base64url HMAC-SHA256 of "preview.<id>.<expiry>">`,
//! keyed by a secret kept in the store's meta table, so every replica (and a restart) accepts
//! the tokens any of them made.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::Sha256;

use crate::store::DynStore;

/// The meta key holding the signing key (base64url), made on first start.
const KEY_META: &str = "preview_key";
/// The default lifetime of a preview link.
pub const DEFAULT_LIFETIME_SECS: u64 = 3600;

/// Why a preview token was refused; every case is a 403, never the published version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("the preview token is malformed or its signature does not match")]
    Invalid,
    #[error("the preview token is for another item")]
    OtherItem,
    #[error("the preview token has expired")]
    Expired,
}

/// Signs and checks preview tokens.
#[derive(Clone)]
pub struct Previews {
    key: [u8; 32],
    /// How long a preview link works.
    pub lifetime: chrono::Duration,
}

impl Previews {
    /// A key that lives as long as this process (for states built without a store's key).
    pub fn ephemeral() -> anyhow::Result<Self> {
        Ok(Self {
            key: random_key()?,
            lifetime: chrono::Duration::seconds(DEFAULT_LIFETIME_SECS as i64),
        })
    }

    /// The store's preview key, made and kept there if it has none yet.
    pub async fn load(store: &DynStore, lifetime: chrono::Duration) -> anyhow::Result<Self> {
        let stored = match store.meta(KEY_META).await? {
            Some(stored) => stored,
            None => {
                store
                    .set_meta(KEY_META, &URL_SAFE_NO_PAD.encode(random_key()?))
                    .await?;
                // Read back: if another replica wrote its key at the same moment, both use
                // whichever landed.
                store
                    .meta(KEY_META)
                    .await?
                    .context("the preview key just stored is missing")?
            }
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(stored.as_bytes())
            .context("the stored preview key is not base64url")?;
        let key = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the stored preview key is not 32 bytes"))?;
        Ok(Self { key, lifetime })
    }

    /// A token showing item `id` until `expires`.
    pub fn sign(&self, id: i64, expires: DateTime<Utc>) -> String {
        let exp = expires.timestamp();
        let sig = URL_SAFE_NO_PAD.encode(self.mac(id, exp).finalize().into_bytes());
        format!("{id}.{exp}.{sig}")
    }

    /// Whether `token` shows item `id` at `now`. The signature is checked (in constant time)
    /// before anything it vouches for is believed.
    pub fn verify(&self, token: &str, id: i64, now: DateTime<Utc>) -> Result<(), PreviewError> {
        let mut parts = token.splitn(3, '.');
        let (Some(item), Some(exp), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(PreviewError::Invalid);
        };
        let item: i64 = item.parse().map_err(|_| PreviewError::Invalid)?;
        let exp: i64 = exp.parse().map_err(|_| PreviewError::Invalid)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig.as_bytes())
            .map_err(|_| PreviewError::Invalid)?;
        self.mac(item, exp)
            .verify_slice(&sig)
            .map_err(|_| PreviewError::Invalid)?;
        if item != id {
            return Err(PreviewError::OtherItem);
        }
        if now.timestamp() >= exp {
            return Err(PreviewError::Expired);
        }
        Ok(())
    }

    fn mac(&self, id: i64, exp: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(format!("preview.{id}.{exp}").as_bytes());
        mac
    }
}

fn random_key() -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut key)
        .context("the operating system's random generator failed")?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_show_one_item_until_they_expire() {
        let previews = Previews::ephemeral().unwrap();
        let now: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
        let token = previews.sign(7, now + chrono::Duration::hours(1));
        assert_eq!(previews.verify(&token, 7, now), Ok(()));
        assert_eq!(
            previews.verify(&token, 8, now),
            Err(PreviewError::OtherItem)
        );
        let later = now + chrono::Duration::hours(1);
        assert_eq!(
            previews.verify(&token, 7, later),
            Err(PreviewError::Expired)
        );
        let longer = token.replacen(&format!(".{}.", later.timestamp()), ".99999999999.", 1);
        assert_eq!(previews.verify(&longer, 7, now), Err(PreviewError::Invalid));
        let other = Previews::ephemeral().unwrap();
        assert_eq!(other.verify(&token, 7, now), Err(PreviewError::Invalid));
        for bad in ["", "7", "7.1", "x.y.z", "7.1.!!"] {
            assert_eq!(previews.verify(bad, 7, now), Err(PreviewError::Invalid));
        }
    }
}
