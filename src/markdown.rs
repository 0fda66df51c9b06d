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

/// How deeply elements may nest in a body: Markdown's containers and spans (each blockquote,
/// list, item, emphasis, link) and raw HTML tags counted together. Real articles stay below
/// a dozen; the HTML sanitiser's work grows with depth times length, so 32,000 nested `>`
/// took seconds and a 1 MiB body of them minutes. A body past this is refused on write and
/// import (`content_markdown`), and shown as plain text if one is already stored.
pub const MAX_NESTING: usize = 100;

/// The rule [`nesting_within`] checks, as the error states it.
pub const NESTING_RULE: &str = "nests blockquotes, lists, emphasis or HTML tags more than 100 deep";

/// Whether no element of the rendered body is nested more than `limit` deep. Stops at the first
/// element past it, so a hostile body costs no more than a parse up to there.
pub fn nesting_within(markdown: &str, limit: usize) -> bool {
    // Quick exit: `limit` levels need at least `limit` marker characters.
    if markdown.len() <= limit {
        return true;
    }
    let (mut depth, mut html) = (0usize, 0usize);
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Html(chunk) | Event::InlineHtml(chunk) => html = html_depth(&chunk, html),
            _ => {}
        }
        if depth + html > limit {
            return false;
        }
    }
    true
}

/// Elements the HTML parser closes by itself when the next one opens: counting their opening
/// tags as nesting would refuse ordinary tables and lists written without end tags.
const SELF_CLOSING: [&str; 8] = ["p", "li", "dt", "dd", "tr", "td", "th", "option"];
/// Elements that never have content (HTML's void elements).
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// The open-element depth after the raw HTML `chunk`, starting from `depth`: each start tag of a
/// container opens one, each end tag closes one. Approximate on purpose (the sanitiser's parser
/// decides what really nests), but never lower than the depth it guards against.
fn html_depth(chunk: &str, mut depth: usize) -> usize {
    let mut rest = chunk;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let closing = rest.starts_with('/');
        let name_start = usize::from(closing);
        let name_len = rest[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len() - name_start);
        let name = rest[name_start..name_start + name_len].to_ascii_lowercase();
        if name.is_empty() || SELF_CLOSING.contains(&name.as_str()) || VOID.contains(&name.as_str())
        {
            continue;
        }
        let self_closed = rest.find('>').is_some_and(|end| rest[..end].ends_with('/'));
        if closing {
            depth = depth.saturating_sub(1);
        } else if !self_closed {
            depth += 1;
        }
    }
    depth
}

/// Renders Markdown to HTML that is safe to embed anywhere: scripts, event handlers and
/// dangerous URL schemes are removed, and relative links are made absolute against `base`
/// so the HTML works in feed readers and on other origins. A body nested past
/// [`MAX_NESTING`] (stored before the limit existed; writes refuse it) becomes escaped plain
/// text, so rendering stays linear whatever is stored.
pub fn to_html(markdown: &str, base: &Url) -> String {
    if !nesting_within(markdown, MAX_NESTING) {
        let mut escaped = String::with_capacity(markdown.len() + 32);
        let block = Tag::CodeBlock(pulldown_cmark::CodeBlockKind::Indented);
        let events = [
            Event::Start(block),
            Event::Text(markdown.into()),
            Event::End(TagEnd::CodeBlock),
        ];
        pulldown_cmark::html::push_html(&mut escaped, events.into_iter());
        return escaped;
    }
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

/// Every `<img>` tag of rendered HTML with its `src` (entities as written), in order.
fn img_tags(html: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    static IMG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"<img\s[^>]*?src="([^"]*)"[^>]*>"#).expect("the pattern compiles")
    });
    IMG.captures_iter(html).filter_map(|c| {
        let tag = c.get(0)?;
        Some((tag.range(), c.get(1)?.as_str()))
    })
}

/// The `src` of every image of rendered HTML that has no size yet.
pub fn unsized_image_sources(html: &str) -> Vec<String> {
    img_tags(html)
        .filter(|(range, _)| !html[range.clone()].contains(" width="))
        .map(|(_, src)| src.replace("&amp;", "&"))
        .collect()
}

/// Rendered HTML with `width` and `height` on each image `size_of` knows the size of (by its
/// `src`), so a page does not shift as images load. `size_of` is the caller's look-up (stored
/// media); images that already carry a size keep it.
pub fn with_image_sizes(html: &str, size_of: &dyn Fn(&str) -> Option<(u32, u32)>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    for (range, src) in img_tags(html) {
        let tag = &html[range.clone()];
        let Some((w, h)) = (!tag.contains(" width="))
            .then(|| size_of(&src.replace("&amp;", "&")))
            .flatten()
        else {
            continue;
        };
        let insert_at = if tag.ends_with("/>") {
            range.end - 2
        } else {
            range.end - 1
        };
        out.push_str(&html[last..insert_at]);
        out.push_str(&format!(" width=\"{w}\" height=\"{h}\""));
        out.push_str(&html[insert_at..range.end]);
        last = range.end;
    }
    out.push_str(&html[last..]);
    out
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
    fn hostile_nesting_is_caught_and_ordinary_nesting_passes() {
        const MIB: usize = 1024 * 1024;
        let fill = |unit: &str| unit.repeat(MIB / unit.len());
        for (deep, body) in [
            (true, fill(">")),
            (true, fill(&format!("{}x\n", "> ".repeat(150)))),
            (true, fill("1. ")),
            (true, fill("<div>")),
            (true, fill("<b>")),
            (true, ">".repeat(200)),
            (false, fill("<p>x")),
            (false, fill("<br>")),
            (false, fill("> > > - *deep* <b>enough</b>\n")),
            (
                false,
                fill(&format!("{}x{}\n", "<div>".repeat(90), "</div>".repeat(90))),
            ),
        ] {
            let shape: String = body.chars().take(20).collect();
            assert_eq!(nesting_within(&body, MAX_NESTING), !deep, "{shape:?}…");
        }
        let flat = to_html(&">".repeat(200), &base());
        assert!(flat.starts_with("<pre><code>&gt;&gt;"), "{flat}");
    }

    #[test]
    fn excerpt_cuts_at_words() {
        assert_eq!(excerpt("one two three four", 9), "one two…");
        assert_eq!(excerpt("*short*", 100), "short");
    }
}
