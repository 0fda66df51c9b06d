//! Hostile input (issue 18, item 10): property tests, 10,000 generated cases each, feeding every
//! importer and every parser of user input what an attacker or a broken export might: they
//! must never panic, and what they refuse they refuse with a message (the API's with a 4xx
//! naming the field).

use actix_web::ResponseError;
use chrono::{DateTime, Utc};
use herald::api::news::ListParams;
use herald::import::{atom_feed, entry, ghost, jekyll, jsonl, rss_feed, wxr, xml};
use herald::store::{Cursor, Visibility};
use proptest::prelude::*;
use url::Url;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn base() -> Url {
    Url::parse("https://news.example/").unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-01-01T12:00:00Z".parse().unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/import")
            .join(name),
    )
    .unwrap()
}

/// A fixture damaged the ways files get damaged: cut short, bytes overwritten, text spliced in.
fn damaged(original: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = original.len();
    (
        0..=len,
        proptest::collection::vec((0..len, any::<u8>()), 0..4),
        0..=len,
        prop_oneof![
            Just(String::new()),
            Just("<".to_owned()),
            Just("]]>".to_owned()),
            Just("&bogus;".to_owned()),
            Just("<!DOCTYPE x [<!ENTITY a \"b\">]>".to_owned()),
            Just("<item><title>x</title></item>".to_owned()),
            Just("\"".to_owned()),
            Just("null".to_owned()),
            "\\PC{0,12}",
        ],
    )
        .prop_map(move |(cut, flips, at, splice)| {
            let mut bytes = original.clone();
            for (i, b) in flips {
                bytes[i] = b;
            }
            bytes.splice(at..at, splice.into_bytes());
            bytes.truncate(cut.max(1));
            bytes
        })
}

/// Runs an XML importer the way `herald import` does: checked first, then parsed, then every
/// entry through the item schema.
fn import_xml(bytes: &[u8], parse: fn(&str) -> anyhow::Result<entry::Parsed>) {
    let Ok((text, _)) = xml::check(bytes) else {
        return;
    };
    match parse(text) {
        Ok(parsed) => {
            if let Err(e) = entry::to_items(&parsed, &base(), now()) {
                assert!(!e.to_string().is_empty());
            }
        }
        Err(e) => assert!(!format!("{e:#}").is_empty()),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn wordpress_exports_never_panic(bytes in damaged(fixture("wordpress.xml"))) {
        import_xml(&bytes, wxr::parse);
    }

    #[test]
    fn rss_files_never_panic(bytes in damaged(fixture("feed.rss"))) {
        import_xml(&bytes, rss_feed::parse);
    }

    #[test]
    fn atom_files_never_panic(bytes in damaged(fixture("feed.atom"))) {
        import_xml(&bytes, atom_feed::parse);
    }

    #[test]
    fn xml_refusals_name_a_line(bytes in damaged(fixture("feed.rss"))) {
        if let Err(e) = xml::check(&bytes) {
            let message = e.to_string();
            prop_assert!(message.starts_with("line ") || message.contains("bytes"), "{}", message);
        }
    }

    #[test]
    fn ghost_exports_never_panic(bytes in damaged(fixture("ghost.json"))) {
        if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && ghost::looks_like(&doc)
        {
            match ghost::parse(doc) {
                Ok(parsed) => {
                    if let Err(e) = entry::to_items(&parsed, &base(), now()) {
                        prop_assert!(!e.to_string().is_empty());
                    }
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    prop_assert!(!message.is_empty());
                }
            }
        }
    }

    #[test]
    fn json_lines_never_panic(line in prop_oneof![
        "\\PC{0,80}",
        r#"\{"key":"[a-z]{0,3}","title":"\PC{0,10}","published_at":"[0-9T:Z-]{0,22}","content_markdown":"\PC{0,20}"(,"tags":\["\PC{0,5}"\])?\}"#,
    ]) {
        if let Err(e) = jsonl::parse_line(&line, &base(), now()) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn jekyll_pages_never_panic(page in "(---\n(title: \\PC{0,8}\n)?(---\n)?)?(## \\PC{0,10}\n(### [0-9a-zA-Z ,:+-]{0,24}\n)?[\\PC\n]{0,30}(---\n)?){0,4}") {
        if let Err(e) = jekyll::parse(&page) {
            prop_assert!(e.line >= 1 && !e.message.is_empty());
        }
    }

    #[test]
    fn dates_never_panic(text in prop_oneof![
        "\\PC{0,40}",
        "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}([T ][0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}(\\.[0-9]{0,12})?)?(Z|[+-][0-9]{1,2}:[0-9]{1,2})?",
        "[0-9]{1,3}(st|nd|rd|th)? (of )?[A-Za-z]{0,10},? -?[0-9]{1,7}",
        "(Mon|Tue), [0-9]{1,2} [A-Za-z]{3} -?[0-9]{1,5} [0-9:]{0,9} [A-Z+0-9-]{0,5}",
    ]) {
        let _ = herald::schema::read_rfc3339(&text);
        let _ = entry::parse_date(&text);
        let _ = jekyll::parse_date(&text);
    }

    #[test]
    fn cursors_never_panic(text in prop_oneof![
        "\\PC{0,40}",
        "[A-Za-z0-9_=-]{0,40}",
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        }),
        "v2:[a-z]:[0-9-]{0,22}:[0-9-]{0,22}".prop_map(|s| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        }),
    ]) {
        if let Some(cursor) = Cursor::decode(&text) {
            prop_assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
    }

    #[test]
    fn list_query_strings_get_a_4xx_or_a_query(query in prop_oneof![
        "\\PC{0,60}",
        "((limit|cursor|tag|q|since|until|sort|fields|count|status|after)=[\\PC&&[^&]]{0,14}&?){0,6}",
        "((limit|since|until)=[0-9%+:TZ.-]{0,26}&?){0,3}",
    ]) {
        match ListParams::parse(&query) {
            Ok(params) => {
                for visibility in [Visibility::Public { now: now() }, Visibility::Drafts, Visibility::All] {
                    if let Err(e) = params.query(visibility) {
                        prop_assert!(e.status_code().is_client_error(), "{:?}", e);
                    }
                }
            }
            Err(e) => prop_assert!(e.status_code().is_client_error(), "{:?}", e),
        }
    }

    #[test]
    fn markdown_and_html_bodies_never_panic(text in prop_oneof![
        "\\PC{0,120}",
        "([\\[\\]()*_`#>|~!<&;\\\\ \n-]|[a-z]|https?://x\\.example/)*",
        "(<(/?)(p|pre|a|em|div|h[1-7]|b|script)( href=\"[^\"]{0,8}\")?>|[a-z *\n]{0,5}|&#[0-9]{1,9};){0,20}",
    ]) {
        let html = herald::markdown::to_html(&text, &base());
        let _ = herald::markdown::links(&text);
        let _ = herald::markdown::excerpt(&text, 40);
        let body = herald::import::html::to_body(&text, &base());
        prop_assert!(!herald::markdown::to_html(&body, &base()).contains("<script"));
        prop_assert!(!html.contains("<script"));
    }
}
