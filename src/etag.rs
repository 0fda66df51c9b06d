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

/// The strong ETag of `identity`'s bytes sent with content coding `coding` (`gzip`, `br`):
/// RFC 9110 §8.8.3 makes a strong validator specific to the representation, and each coding is
/// another one, so caches that store one coding never take another's bytes for it.
pub fn for_coding(identity: &str, coding: &str) -> String {
    let opaque = identity.strip_suffix('"').unwrap_or(identity);
    format!("{opaque}-{coding}\"")
}

/// The suffixes [`for_coding`] adds.
const CODINGS: [&str; 2] = ["-gzip\"", "-br\""];

/// The identity ETag of a tag [`for_coding`] may have made (any other tag as it is), so a
/// condition written with the tag of any coding (`If-None-Match`, `If-Match`) compares with the
/// content itself.
pub fn identity_of(tag: &str) -> std::borrow::Cow<'_, str> {
    for suffix in CODINGS {
        if let Some(opaque) = tag.strip_suffix(suffix) {
            return format!("{opaque}\"").into();
        }
    }
    tag.into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_coding_has_its_own_tag_that_leads_back_to_the_identity_one() {
        let tag = super::strong(b"a");
        let gzip = super::for_coding(&tag, "gzip");
        let br = super::for_coding(&tag, "br");
        assert!(gzip != tag && br != tag && gzip != br);
        assert!(gzip.starts_with('"') && gzip.ends_with("-gzip\""), "{gzip}");
        for t in [&tag, &gzip, &br] {
            assert_eq!(super::identity_of(t), tag);
        }
        assert_eq!(super::identity_of("W/\"x\""), "W/\"x\"");
    }

    #[test]
    fn same_bytes_same_tag_other_bytes_other_tag() {
        assert_eq!(super::strong(b"a"), super::strong(b"a"));
        assert_ne!(super::strong(b"a"), super::strong(b"b"));
        assert_eq!(super::strong(b"a").len(), 34);
    }
}
