//! Post bodies written in HTML (WordPress, Ghost, feeds) as the Markdown Herald stores.
//!
//! A body becomes plain Markdown only when that is lossless: the Markdown, rendered the way
//! Herald renders every body, must give exactly the HTML the original gives. Anything else is
//! kept as the HTML itself, laid out so that CommonMark passes it through as one raw HTML block
//! (the same sanitiser then cleans it as any body).

use std::sync::LazyLock;

use regex::Regex;
use url::Url;

use crate::markdown;

/// The Markdown to store for an HTML body.
pub fn to_body(html: &str, base: &Url) -> String {
    let html = html.trim();
    if html.is_empty() {
        return String::new();
    }
    let kept = as_raw_block(html);
    if let Some(plain) = to_markdown(html) {
        let rendered = |md: &str| blocks_apart(&markdown::to_html(md, base));
        if rendered(&plain) == rendered(&kept) {
            return plain;
        }
    }
    kept
}

/// WordPress's classic editor stores paragraphs as blank-line-separated text and adds the
/// `<p>` and `<br />` only when it shows a post (`wpautop`); this does the same to the text
/// so its HTML is what the blog showed. Block-editor posts (`<!-- wp:` comments) already hold
/// their HTML.
pub fn autop(text: &str) -> String {
    if text.contains("<!-- wp:") {
        return text.to_owned();
    }
    let text = text.replace("\r\n", "\n");
    let mut out = Vec::new();
    for chunk in text.split("\n\n") {
        let chunk = chunk.trim_matches('\n');
        if chunk.trim().is_empty() {
            continue;
        }
        if starts_with_block_tag(chunk) || chunk.trim_start().starts_with("<pre") {
            out.push(chunk.to_owned());
        } else {
            out.push(format!("<p>{}</p>", chunk.replace('\n', "<br />\n")));
        }
    }
    out.join("\n")
}

/// Tags that open a CommonMark HTML block running to the next blank line (its "type 6"),
/// among those posts start with.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "iframe",
    "ol",
    "p",
    "section",
    "table",
    "ul",
];

fn starts_with_block_tag(html: &str) -> bool {
    let Some(rest) = html.trim_start().strip_prefix('<') else {
        return false;
    };
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let after = rest[name.len()..].chars().next();
    BLOCK_TAGS.contains(&name.as_str())
        && matches!(after, Some(c) if c == '>' || c == '/' || c.is_whitespace())
}

/// The HTML as one CommonMark raw HTML block: it must open with a block tag (else it is
/// wrapped in a `<div>`) and hold no blank line (blank lines outside `<pre>` are whitespace
/// to HTML and go; newlines inside `<pre>` become `&#10;`, the same character).
pub fn as_raw_block(html: &str) -> String {
    static PRE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?is)<pre[\s>].*?</pre>").expect("the pattern compiles"));
    let html = html.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(html.len() + 16);
    let mut last = 0;
    for pre in PRE.find_iter(&html) {
        out.push_str(&drop_blank_lines(&html[last..pre.start()]));
        out.push_str(&pre.as_str().replace('\n', "&#10;"));
        last = pre.end();
    }
    out.push_str(&drop_blank_lines(&html[last..]));
    let out = out.trim().to_owned();
    if starts_with_block_tag(&out) {
        out
    } else {
        format!("<div>\n{out}\n</div>")
    }
}

fn drop_blank_lines(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        // The first piece continues a line begun before it, so it stays even when empty.
        if i == 0 || !line.trim().is_empty() {
            kept.push(line);
        }
    }
    kept.join("\n")
}

/// Whitespace between block tags does not change a page; anything else does.
fn blocks_apart(html: &str) -> String {
    static AROUND: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\s*(</?(?:p|h[1-6]|div|ul|ol|li|blockquote)>)\s*")
            .expect("the pattern compiles")
    });
    AROUND.replace_all(html.trim(), "$1").into_owned()
}

/// A Markdown spelling of simple HTML (paragraphs, headings, emphasis, links); `None` for
/// anything else. [`to_body`] keeps it only when it renders the same.
fn to_markdown(html: &str) -> Option<String> {
    static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+href="[^"<>]*")?)\s*/?>|([^<]+)|(<)"#)
            .expect("the pattern compiles")
    });
    let mut out = String::new();
    let mut in_block = false;
    let mut link: Option<String> = None;
    for token in TOKEN.captures_iter(html) {
        if token.get(5).is_some() {
            return None;
        }
        if let Some(text) = token.get(4) {
            let text = text.as_str();
            if !in_block {
                if text.trim().is_empty() {
                    continue;
                }
                return None;
            }
            let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.starts_with(char::is_whitespace) {
                out.push(' ');
            }
            out.push_str(&escape(&words));
            if text.ends_with(char::is_whitespace) && !words.is_empty() {
                out.push(' ');
            }
            continue;
        }
        let closing = !token[1].is_empty();
        let name = token[2].to_ascii_lowercase();
        let href = token.get(3).map(|m| m.as_str().trim()).unwrap_or("");
        match (name.as_str(), closing) {
            ("p", false) if !in_block => in_block = true,
            ("p", true) if in_block => {
                in_block = false;
                out.push_str("\n\n");
            }
            (h, false) if !in_block && h.len() == 2 && h.starts_with('h') => {
                let level: usize = h[1..].parse().ok().filter(|l| (1..=6).contains(l))?;
                out.push_str(&"#".repeat(level));
                out.push(' ');
                in_block = true;
            }
            (h, true) if in_block && h.len() == 2 && h.starts_with('h') => {
                in_block = false;
                out.push_str("\n\n");
            }
            ("em" | "i", _) if in_block && href.is_empty() => out.push('*'),
            ("strong" | "b", _) if in_block && href.is_empty() => out.push_str("**"),
            ("a", false) if in_block && link.is_none() => {
                let url = href.strip_prefix("href=\"")?.strip_suffix('"')?;
                if url.contains(['(', ')', ' ']) {
                    return None;
                }
                link = Some(url.to_owned());
                out.push('[');
            }
            ("a", true) if in_block => {
                let url = link.take()?;
                out.push_str(&format!("]({url})"));
            }
            _ => return None,
        }
    }
    (!in_block && link.is_none()).then(|| out.trim().to_owned())
}

/// Text with every ASCII punctuation character Markdown might read backslash-escaped; `&`
/// stays, as CommonMark reads entities the way HTML does.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_punctuation()
            && !matches!(
                c,
                '&' | ';' | ',' | '.' | '\'' | '"' | '?' | ':' | '/' | '%' | '='
            )
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example/").unwrap()
    }

    #[test]
    fn simple_html_becomes_markdown() {
        let md = to_body(
            "<p>Hello <em>world</em>, see <a href=\"https://x.example/a\">this</a>.</p>\n\n<p>Second *star*</p>",
            &base(),
        );
        assert_eq!(
            md,
            "Hello *world*, see [this](https://x.example/a).\n\nSecond \\*star\\*"
        );
    }

    #[test]
    fn anything_else_stays_html_in_one_block() {
        let html = "<figure><img src=\"https://x.example/i.png\" alt=\"i\"></figure>\n\n<p>After</p>\n\n<pre>a\n\n    b</pre>\n<p>*not emphasis*</p>";
        let body = to_body(html, &base());
        assert!(!body.contains("\n\n"), "{body}");
        let rendered = markdown::to_html(&body, &base());
        assert!(
            rendered.contains("<figure><img src=\"https://x.example/i.png\" alt=\"i\"></figure>"),
            "{rendered}"
        );
        assert!(rendered.contains("<p>*not emphasis*</p>"), "{rendered}");
        assert!(
            rendered.contains("<pre>a&#10;&#10;    b</pre>")
                || rendered.contains("<pre>a\n\n    b</pre>"),
            "{rendered}"
        );
        let inline = to_body("Text with <span>a span</span>\n\n    not code", &base());
        assert!(inline.starts_with("<div>\n"), "{inline}");
        assert!(!markdown::to_html(&inline, &base()).contains("<code>"));
    }

    #[test]
    fn autop_makes_paragraphs_and_breaks() {
        assert_eq!(
            autop("One\nline two\n\n<ul><li>x</li></ul>\n\nThree"),
            "<p>One<br />\nline two</p>\n<ul><li>x</li></ul>\n<p>Three</p>"
        );
        let blocks = "<!-- wp:paragraph -->\n<p>x</p>\n<!-- /wp:paragraph -->";
        assert_eq!(autop(blocks), blocks);
    }
}
