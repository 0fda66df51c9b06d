//! The one sanitiser every feed text passes through.
//!
//! XML 1.0 cannot carry most control characters at all, not even as character references, so a
//! title with a stray `\u{1}` would make the whole feed unparseable. Everything else (emoji,
//! right-to-left marks, `]]>`, markup) is legal text that the XML writers escape.

use std::borrow::Cow;

/// Whether `c` may appear in an XML 1.0 document. C1 controls are legal there but never text
/// anyone meant to publish, and some parsers reject them, so they go too.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || (c >= ' ' && !('\u{7f}'..='\u{9f}').contains(&c) && c != '\u{fffe}' && c != '\u{ffff}')
}

/// `text` without the characters a feed cannot carry; borrowed when nothing had to go.
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| allowed(c)).collect())
    }
}

/// [`clean`] into an owned string.
pub fn cleaned(text: &str) -> String {
    clean(text).into_owned()
}

/// Plain text as HTML that shows exactly that text: for RSS, whose readers render titles,
/// descriptions and categories as HTML (Atom and JSON Feed say "text" instead).
pub fn html_escaped(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            _ => html.push(c),
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_leaves_no_markup() {
        assert_eq!(
            html_escaped("a & <b>c</b> \"q\" 🦀"),
            "a &amp; &lt;b&gt;c&lt;/b&gt; \"q\" 🦀"
        );
    }

    #[test]
    fn strips_only_what_xml_cannot_carry() {
        assert_eq!(clean("a\u{0}b\u{1b}c\u{8}d\u{85}e\u{fffe}"), "abcde");
        let kept = "tab\there\nnew\r 🦀 \u{200f}שלום ]]> <script>";
        assert!(matches!(clean(kept), Cow::Borrowed(_)));
    }
}
