//! Markdown in, safe HTML and plain text out.

use std::collections::HashSet;

use ammonia::UrlRelative;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use url::Url;

use crate::model::Link;
use crate::uri;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES
}

/// Renders Markdown to HTML that is safe to embed anywhere: scripts, event handlers and
/// dangerous URL schemes are removed, and relative links are made absolute against `base`
/// so the HTML works in feed readers and on other origins.
pub fn to_html(markdown: &str, base: &Url) -> String {
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut raw, Parser::new_ext(markdown, options()));
    let resolve_base = base.clone();
    ammonia::Builder::default()
        // Every URL of the HTML absolute and a valid URI (see `uri`); one that is no URL at
        // all goes. Relative ones are resolved here, before ammonia's own rewriting sees them.
        .attribute_filter(move |_element, attribute, value| match attribute {
            "href" | "src" | "cite" => uri::resolve(&resolve_base, value).map(Into::into),
            _ => Some(value.into()),
        })
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(Some("noopener noreferrer"))
        .clean(&raw)
        .to_string()
}

/// The readable text of a Markdown document, whitespace folded.
pub fn to_plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A short plain-text excerpt: at most `max_chars` characters, cut at a word boundary.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    let text = to_plain_text(markdown);
    if text.chars().count() <= max_chars {
        return text;
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max_chars / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.', ' ']))
}

/// Every inline link of the body (`[text](url)`, lists included), in order, each URL once.
pub fn links(markdown: &str) -> Vec<Link> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut open: Option<(String, String)> = None;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                open = Some((dest_url.to_string(), String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, title)) = open.as_mut() {
                    title.push_str(&t);
                }
            }
            Event::End(TagEnd::Link) => {
                if let Some((url, title)) = open.take()
                    && seen.insert(url.clone())
                {
                    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
                    found.push(Link { title, url });
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example/").unwrap()
    }

    #[test]
    fn html_is_sanitised_and_links_absolute() {
        let html = to_html(
            "Hi <script>alert(1)</script> [rel](/about) [bad](javascript:alert(1))",
            &base(),
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains("href=\"https://news.example/about\""),
            "{html}"
        );
    }

    #[test]
    fn links_come_in_order_from_paragraphs_and_lists() {
        let md = "See [A](https://a.example/x).\n\n* [B *bold*](https://b.example/)\n* [A again](https://a.example/x)\n";
        let found = links(md);
        assert_eq!(
            found,
            vec![
                Link {
                    title: "A".into(),
                    url: "https://a.example/x".into()
                },
                Link {
                    title: "B bold".into(),
                    url: "https://b.example/".into()
                },
            ]
        );
    }

    #[test]
    fn excerpt_cuts_at_words() {
        assert_eq!(excerpt("one two three four", 9), "one two…");
        assert_eq!(excerpt("*short*", 100), "short");
    }
}
