//! Entity tags (RFC 9110 §8.8.3). One function makes them, so an item's ETag on GET is the same
//! value `If-Match` is checked against on writes, and a cached response's ETag matches its bytes.

use sha2::{Digest, Sha256};

/// A strong ETag for a representation: the quoted, truncated SHA-256 of its bytes.
pub fn strong(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for b in &digest[..16] {
        tag.push_str(&format!("{b:02x}"));
    }
    tag.push('"');
    tag
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_bytes_same_tag_other_bytes_other_tag() {
        assert_eq!(super::strong(b"a"), super::strong(b"a"));
        assert_ne!(super::strong(b"a"), super::strong(b"b"));
        assert_eq!(super::strong(b"a").len(), 34);
    }
}
