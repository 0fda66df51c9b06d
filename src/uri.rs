//! URLs as valid URIs (RFC 3986). The `url` crate parses and serialises by the WHATWG URL
//! Standard, which leaves `|`, `[`, `]`, `^` (and in queries and fragments `{`, `}` and a
//! backtick) bare: browsers accept them, but they are not URI characters, and feed validators
//! and strict clients refuse them. Every URL an item carries (its links, the `href`s and `src`s
//! of its HTML) goes through [`to_uri`] on the way in, so whatever Herald emits is a URI.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use url::{Position, Url};

/// What RFC 3986 allows in no part after the authority, beyond what WHATWG already encodes.
/// `%` is not in it: existing escapes stay as they are.
const NOT_URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'[')
    .add(b']');

/// `url` serialised as a valid URI: its path, query and fragment with every character RFC 3986
/// does not allow there percent-encoded (the host, IPv6 brackets included, is left alone).
pub fn to_uri(url: &Url) -> String {
    let text = url.as_str();
    let (head, tail) = text.split_at(url[..Position::AfterPort].len());
    let mut uri = String::with_capacity(text.len() + 8);
    uri.push_str(head);
    uri.extend(utf8_percent_encode(tail, NOT_URI));
    uri
}

/// `text` resolved against `base` (when relative) as a valid URI; `None` when it is no URL.
pub fn resolve(base: &Url, text: &str) -> Option<String> {
    base.join(text.trim()).ok().map(|url| to_uri(&url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_outside_rfc_3986_are_percent_encoded() {
        let base = Url::parse("https://news.example/").unwrap();
        for (given, uri) in [
            (
                "https://a.example/x|y[1]{2}^`z`?q=a|b{c}#f[g]^",
                "https://a.example/x%7Cy%5B1%5D%7B2%7D%5E%60z%60?q=a%7Cb%7Bc%7D#f%5Bg%5D%5E",
            ),
            ("https://a.example/a b/ü", "https://a.example/a%20b/%C3%BC"),
            ("https://a.example/a\\b", "https://a.example/a/b"),
            ("https://[::1]:8080/p%20q", "https://[::1]:8080/p%20q"),
            ("/rel|ative?x=1", "https://news.example/rel%7Cative?x=1"),
            ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ] {
            assert_eq!(resolve(&base, given).as_deref(), Some(uri), "{given}");
        }
        assert_eq!(resolve(&base, "http://[broken"), None);
    }
}
