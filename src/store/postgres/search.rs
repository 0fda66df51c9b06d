//! Search terms as a PostgreSQL `tsquery`, and the rank of a match.
//!
//! Every word is a quoted `tsquery` operand (quotes and backslashes escaped), so nothing a user
//! types is read as `tsquery` syntax; the text goes to `to_tsquery('herald', …)` as a bound
//! value, which runs each word through the same configuration as the indexed text (accents
//! and case dropped).

use crate::store::SearchTerm;

/// The rank of a match: `ts_rank` with title (A) over summary (B) over body (C). It reads only
/// the row being ranked (no corpus statistics), so an item's score changes only when the item
/// does, and keyset paging by score stays exact while other items are written. `float8` so the
/// cursor compares against exactly the value the page was ordered by.
pub const RANK: &str = "ts_rank('{0.1, 0.25, 0.5, 1}', i.search, q.query)::float8";

/// The `tsquery` text for `terms`: every term must match; the words of a term in order, next
/// to each other; a prefix term's last word as a prefix.
pub fn tsquery_text(terms: &[SearchTerm]) -> String {
    terms
        .iter()
        .map(|term| {
            let last = term.words.len().saturating_sub(1);
            let words: Vec<String> = term
                .words
                .iter()
                .enumerate()
                .map(|(i, word)| {
                    let quoted = format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''"));
                    if term.prefix && i == last {
                        format!("{quoted}:*")
                    } else {
                        quoted
                    }
                })
                .collect();
            format!("({})", words.join(" <-> "))
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(words: &[&str], prefix: bool) -> SearchTerm {
        SearchTerm {
            words: words.iter().map(|w| (*w).to_owned()).collect(),
            prefix,
        }
    }

    #[test]
    fn every_word_is_quoted() {
        assert_eq!(
            tsquery_text(&[
                term(&["head", "of", "engineering"], false),
                term(&["zeb"], true),
                term(&["a'b\\"], false),
            ]),
            "('head' <-> 'of' <-> 'engineering') & ('zeb':*) & ('a''b\\\\')"
        );
    }
}
