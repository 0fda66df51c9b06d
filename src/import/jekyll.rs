//! Reads a Jekyll news page: front matter, then items of the form
//!
//! ```text
//! ## Title
//! ### 1st of March, 2018
//!
//! Markdown body
//!
//! ---
//! ```

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// One item as written on the page, before it becomes a stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageItem {
    pub title: String,
    pub published_at: DateTime<Utc>,
    pub body: String,
    /// 1-based line of the `## ` heading, for error messages.
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub title: Option<String>,
    pub permalink: Option<String>,
    /// From `author: Name` or `authors: [A, B]` (also `A, B`, or a `- A` list on the lines
    /// after): every item of the page is by them.
    pub authors: Vec<String>,
    /// From `image: URL` or an `image:` block of `path` (or `url`), `alt`, `caption`: every
    /// item of the page shows it.
    pub image: Option<PageImage>,
    pub items: Vec<PageItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageImage {
    /// As written: absolute, or relative to the site.
    pub url: String,
    pub alt: Option<String>,
    pub caption: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

pub fn parse(text: &str) -> Result<Page, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut page = Page::default();
    let mut i = 0;

    if lines.first().map(|l| l.trim_end()) == Some("---") {
        let end = lines[1..]
            .iter()
            .position(|l| l.trim_end() == "---")
            .ok_or_else(|| error(1, "front matter is not closed by `---`"))?;
        let mut in_authors_list = false;
        let mut in_image = false;
        for line in &lines[1..=end] {
            if in_image && line.starts_with([' ', '\t']) {
                if let Some((key, value)) = line.split_once(':') {
                    let value = unquote(value.trim()).to_owned();
                    let image = page.image.get_or_insert_with(PageImage::default);
                    match key.trim() {
                        "path" | "url" => image.url = value,
                        "alt" => image.alt = Some(value),
                        "caption" => image.caption = Some(value),
                        _ => {}
                    }
                }
                continue;
            }
            in_image = false;
            if in_authors_list && let Some(entry) = line.trim().strip_prefix("- ") {
                page.authors.push(unquote(entry.trim()).to_owned());
                continue;
            }
            in_authors_list = false;
            if let Some((key, value)) = line.split_once(':') {
                let value = unquote(value.trim());
                match key.trim() {
                    "title" => page.title = Some(value.to_owned()),
                    "permalink" => page.permalink = Some(value.to_owned()),
                    "author" if !value.is_empty() => page.authors = vec![value.to_owned()],
                    "authors" if value.is_empty() => in_authors_list = true,
                    "image" if value.is_empty() => in_image = true,
                    "image" => {
                        page.image = Some(PageImage {
                            url: value.to_owned(),
                            ..PageImage::default()
                        })
                    }
                    "authors" => {
                        let list = value.trim_start_matches('[').trim_end_matches(']');
                        page.authors = list
                            .split(',')
                            .map(|name| unquote(name.trim()).to_owned())
                            .filter(|name| !name.is_empty())
                            .collect();
                    }
                    _ => {}
                }
            }
        }
        i = end + 2;
        page.image = page.image.filter(|image| !image.url.is_empty());
    }

    let mut current: Option<PageItem> = None;
    let mut body: Vec<&str> = Vec::new();
    let mut finish = |current: Option<PageItem>, body: &mut Vec<&str>| {
        if let Some(mut item) = current {
            item.body = body.join("\n").trim_matches('\n').to_owned();
            page.items.push(item);
        }
        body.clear();
    };

    while i < lines.len() {
        let line = lines[i];
        let number = i + 1;
        i += 1;
        if let Some(title) = line.strip_prefix("## ") {
            finish(current.take(), &mut body);
            let title = title.trim();
            if title.is_empty() {
                return Err(error(number, "empty item title"));
            }
            // The date is the next non-blank line.
            while i < lines.len() && lines[i].trim().is_empty() {
                i += 1;
            }
            let date_line = lines.get(i).copied().unwrap_or_default();
            let Some(date) = date_line.strip_prefix("### ") else {
                return Err(error(
                    i + 1,
                    format!("expected `### date` after the title `{title}`"),
                ));
            };
            let published_at = parse_date(date.trim())
                .ok_or_else(|| error(i + 1, format!("unreadable date `{}`", date.trim())))?;
            if let Some(why) = crate::schema::unsupported_year(published_at.year()) {
                return Err(error(i + 1, format!("the date `{}` {why}", date.trim())));
            }
            current = Some(PageItem {
                title: title.to_owned(),
                published_at,
                body: String::new(),
                line: number,
            });
            i += 1;
        } else if line.trim_end() == "---" {
            finish(current.take(), &mut body);
        } else if current.is_some() {
            body.push(line);
        }
        // Text outside items (the page's `# News` heading, intro prose) is not news.
    }
    finish(current.take(), &mut body);
    Ok(page)
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// `1st of March, 2018`, `March 1, 2018`, `1 March 2018`, `2018-03-01` or RFC 3339.
/// A date without a time is midnight UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc());
    }
    let words: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("of"))
        .map(str::to_owned)
        .collect();
    let [a, b, c] = words.as_slice() else {
        return None;
    };
    let (day, month) = match (day_of(a), month_of(b)) {
        (Some(d), Some(m)) => (d, m),
        _ => (day_of(b)?, month_of(a)?),
    };
    let year: i32 = c.parse().ok()?;
    Some(
        NaiveDate::from_ymd_opt(year, month, day)?
            .and_hms_opt(0, 0, 0)?
            .and_utc(),
    )
}

fn day_of(word: &str) -> Option<u32> {
    let lower = word.to_ascii_lowercase();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| lower.strip_suffix(suffix))
        .unwrap_or(&lower);
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn month_of(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lower = word.to_ascii_lowercase();
    if lower.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&lower))
        .map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn dates_in_every_accepted_spelling() {
        assert_eq!(parse_date("1st of March, 2018"), Some(ymd(2018, 3, 1)));
        assert_eq!(parse_date("27th of February, 2017"), Some(ymd(2017, 2, 27)));
        assert_eq!(parse_date("22nd of Sept, 2019"), Some(ymd(2019, 9, 22)));
        assert_eq!(parse_date("March 3rd, 2018"), Some(ymd(2018, 3, 3)));
        assert_eq!(parse_date("2018-03-01"), Some(ymd(2018, 3, 1)));
        assert_eq!(
            parse_date("2018-03-01T10:00:00+02:00"),
            Some(ymd(2018, 3, 1) + chrono::Duration::hours(8))
        );
        assert_eq!(parse_date("31st of February, 2018"), None);
        assert_eq!(parse_date("sometime"), None);
    }

    #[test]
    fn items_split_on_rules_and_headings() {
        let page = parse(
            "---\ntitle: News\npermalink: /news\n---\n\n# News\n\n## One\n### 2nd of May, 2020\n\nBody *one*.\n\n---\n\n## Two \n### 2020-05-03\nBody two.\n",
        )
        .unwrap();
        assert_eq!(page.title.as_deref(), Some("News"));
        assert_eq!(page.permalink.as_deref(), Some("/news"));
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].title, "One");
        assert_eq!(page.items[0].body, "Body *one*.");
        assert_eq!(page.items[0].line, 8);
        assert_eq!(page.items[1].title, "Two");
        assert_eq!(page.items[1].published_at, ymd(2020, 5, 3));
    }

    #[test]
    fn missing_or_bad_dates_name_the_line() {
        assert_eq!(parse("## A\nno date\n").unwrap_err().line, 2);
        assert_eq!(parse("## A\n### someday\n").unwrap_err().line, 2);
    }
}
