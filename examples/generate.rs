//! Writes N realistic news items as JSON Lines (the `herald import` bulk format) to stdout, for
//! the scale benchmark (`bench/scale.sh`).
//!
//! `cargo run --release --example generate -- 1000000 > items.jsonl`
//!
//! Deterministic for a given seed (second argument, default 1). Words follow a Zipf law over a
//! 30,000-word made-up vocabulary, so search terms of every frequency exist: `bench/scale.sh`
//! picks its terms by rank (`word(RANK)` below, printed by `--word RANK`). Bodies are 1–3 KB of
//! Markdown paragraphs, 0–3 links, 0–5 tags from 60 (also Zipf), dates spread over 2000–2025,
//! one item in a hundred a draft.

use std::io::{BufWriter, Write};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const VOCABULARY: usize = 30_000;
const TAGS: usize = 60;
const SYLLABLES: [&str; 32] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ba", "de", "fi", "go", "hu", "ja", "ke", "li",
    "ma", "no", "pe", "qui", "ra", "se", "to", "un", "ve", "wa", "xi", "yo", "ze", "al", "or",
    "en",
];

/// The word of a Zipf rank (0 is the most frequent): distinct for every rank.
fn word(rank: usize) -> String {
    let mut n = rank;
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
        if n == 0 {
            break;
        }
        n -= 1;
    }
    w
}

/// Cumulative Zipf weights (exponent 1) for ranks `0..n`.
fn zipf(n: usize) -> Vec<f64> {
    let mut acc = 0.0;
    (1..=n)
        .map(|r| {
            acc += 1.0 / r as f64;
            acc
        })
        .collect()
}

fn pick(rng: &mut StdRng, cumulative: &[f64]) -> usize {
    let x = rng.random::<f64>() * cumulative[cumulative.len() - 1];
    cumulative.partition_point(|&c| c < x)
}

fn sentence(rng: &mut StdRng, words: &[String], cdf: &[f64], n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&words[pick(rng, cdf)]);
    }
    s
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--word") {
        let rank = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(0);
        println!("{}", word(rank));
        return Ok(());
    }
    let count: usize = args
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let seed: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1);
    let mut rng = StdRng::seed_from_u64(seed);
    let words: Vec<String> = (0..VOCABULARY).map(word).collect();
    let cdf = zipf(VOCABULARY);
    let tags: Vec<String> = (0..TAGS).map(|i| format!("topic-{}", word(i))).collect();
    let tag_cdf = zipf(TAGS);
    let start = 946_684_800i64; // 2000-01-01
    let span = 26 * 365 * 86_400i64;
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for i in 0..count {
        let title_words = rng.random_range(4..=10);
        let mut title = sentence(&mut rng, &words, &cdf, title_words);
        title[..1].make_ascii_uppercase();
        let link_count = rng.random_range(0..=3);
        let mut links = Vec::new();
        let target = rng.random_range(1000..=3000);
        let mut body = String::with_capacity(target + 200);
        while body.len() < target {
            if !body.is_empty() {
                body.push_str("\n\n");
            }
            let n = rng.random_range(40..=90);
            let mut paragraph = sentence(&mut rng, &words, &cdf, n);
            paragraph[..1].make_ascii_uppercase();
            if links.len() < link_count {
                let text = sentence(&mut rng, &words, &cdf, 2);
                let url = format!("https://example.org/{}/{i}/{}", word(i % 500), links.len());
                paragraph.push_str(&format!(" See [{text}]({url})"));
                links.push(json!({ "title": text, "url": url }));
            }
            paragraph.push('.');
            body.push_str(&paragraph);
        }
        let mut item_tags: Vec<&str> = Vec::new();
        for _ in 0..rng.random_range(0..=5) {
            let t = &tags[pick(&mut rng, &tag_cdf)];
            if !item_tags.contains(&t.as_str()) {
                item_tags.push(t);
            }
        }
        let published = start + rng.random_range(0..span);
        let published_at = chrono::DateTime::from_timestamp(published, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut item = json!({
            "key": format!("gen-{seed}-{i}"),
            "title": title,
            "published_at": published_at,
            "content_markdown": body,
            "tags": item_tags,
            "links": links,
        });
        if rng.random_bool(0.5) {
            let n = rng.random_range(15..=30);
            item["summary"] = json!(sentence(&mut rng, &words, &cdf, n));
        }
        if rng.random_bool(0.01) {
            item["status"] = json!("draft");
        }
        serde_json::to_writer(&mut out, &item)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
