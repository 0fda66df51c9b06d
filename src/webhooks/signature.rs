//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`, with
//! secrets written `whsec_<base64>` (<https://github.com/standard-webhooks/standard-webhooks>).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::Sha256;

/// Marks a signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// 256 bits from the operating system's generator (the spec asks for 24 to 64 bytes).
const SECRET_BYTES: usize = 32;

/// A new signing secret, `whsec_` and base64.
pub fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the operating system's random generator: {e}"))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The key bytes a secret stands for: the base64 after `whsec_`.
fn key_bytes(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
}

/// One `v1,…` signature of a message; `None` for a secret that is not base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = key_bytes(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key size");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: one signature per secret, space-separated (during a
/// rotation the new and the old secret both sign, so receivers can switch at any time).
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<String> {
    let signatures: Vec<String> = secrets
        .into_iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect::<Option<_>>()?;
    Some(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector the Standard Webhooks reference libraries all check.
    #[test]
    fn signs_the_specification_test_vector() {
        assert_eq!(
            sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#,
            )
            .as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn new_secrets_are_long_random_and_usable() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(key_bytes(&a).unwrap().len(), SECRET_BYTES);
        let header = signature_header([a.as_str(), b.as_str()], "msg_1", 1, b"{}").unwrap();
        assert_eq!(header.split(' ').count(), 2);
    }
}
