//! SQLite FTS5 glue: rendering search terms as an FTS5 query, and the ranking function.
//!
//! Ranking is Herald's own `herald_rank()` rather than FTS5's `bm25()`: BM25 weighs a document
//! against corpus-wide statistics (document count, average length, how many documents hold a
//! term), so every insert moves every score and a relevance cursor would skip or repeat items.
//! `herald_rank()` keeps BM25's shape (saturating term frequency, length normalisation, title
//! over summary over body) but reads only the row being ranked, so an item's score never changes
//! until the item itself does, and keyset paging by score stays exact while others are written.

use std::ffi::{CStr, c_int, c_void};
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;

use crate::store::SearchTerm;

/// The FTS5 `MATCH` expression for `terms`: every term a double-quoted string (quotes doubled),
/// so nothing a user types is read as FTS5 syntax; a prefix term gets FTS5's `*` after the quote.
pub fn match_expression(terms: &[SearchTerm]) -> String {
    let mut out = String::new();
    for term in terms {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('"');
        out.push_str(&term.words.join(" ").replace('"', "\"\""));
        out.push('"');
        if term.prefix {
            out.push_str(" *");
        }
    }
    out
}

/// Bits of a search key (the FTS5 rowid) that hold the item id; the date is above them.
const ID_BITS: u32 = 29;
pub const ID_MASK: i64 = (1 << ID_BITS) - 1;
/// Bits of a search key for the date's magnitude (signed seconds): with the id's bits below
/// them, the keys of dates from -2^34 to 2^34 - 1 seconds span exactly `i64`.
const DATE_BITS: u32 = 63 - ID_BITS;

/// The FTS5 rowid of an item: `published_at * 2^29 + id`, so rowid order is (date, id) order
/// and FTS5 can hand matches over newest first and stop at a page. The same formula, clamp
/// included, is in the triggers of `migrations/sqlite/20261126000001_search_by_date.sql`. The clamp
/// only guards against overflow: accepted dates (years 1500-2500) sit well inside it.
pub fn search_key(published_at: i64, id: i64) -> i64 {
    let seconds = published_at.clamp(-(1 << DATE_BITS), (1 << DATE_BITS) - 1);
    (seconds << ID_BITS) + (id & ID_MASK)
}

/// Fills the full-text index from every stored item in one statement, keyed by [`search_key`]
/// (the same SQL as the insert trigger's): for a new store built with the index triggers off.
/// Rows come in (status, date, id) order, so keys arrive ascending within each status and
/// FTS5 rarely has to flush for a key going backwards.
pub const FILL_SQL: &str = "INSERT INTO news_fts (rowid, title, summary, content_markdown) \
     SELECT max(min(published_at, 17179869183), -17179869184) * 536870912 + id, \
            title, summary, content_markdown \
     FROM news_items INDEXED BY news_items_public \
     ORDER BY status DESC, published_at ASC, id ASC";

/// The lowest and highest search keys of items published in second `t`.
pub fn keys_of_second(t: i64) -> (i64, i64) {
    (search_key(t, 0), search_key(t, ID_MASK))
}

/// Column weights (title, summary, body) and the lengths, in tokens, a column is "normal" at.
const WEIGHTS: [f64; 3] = [4.0, 2.0, 1.0];
const NORMAL_LENGTH: [f64; 3] = [8.0, 30.0, 300.0];
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Registers `herald_rank()` on one connection. Called for every pooled connection.
///
/// # Safety
/// `db` must be an open connection that no other thread uses during the call.
pub unsafe fn register(db: NonNull<ffi::sqlite3>) -> Result<(), String> {
    // SAFETY: the caller holds the connection; the statement is finalised on every path.
    unsafe {
        let api = fts5_api(db.as_ptr())?;
        let create = (*api)
            .xCreateFunction
            .ok_or("fts5_api has no xCreateFunction")?;
        let rc = create(
            api,
            c"herald_rank".as_ptr(),
            ptr::null_mut(),
            Some(herald_rank),
            None,
        );
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(format!("registering herald_rank failed with code {rc}"))
        }
    }
}

/// The FTS5 extension API of a connection (the documented `SELECT fts5(?1)` handshake).
unsafe fn fts5_api(db: *mut ffi::sqlite3) -> Result<*mut ffi::fts5_api, String> {
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    // SAFETY: `stmt` and `api` outlive the statement, which is finalised before returning.
    unsafe {
        let rc = ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        );
        if rc != ffi::SQLITE_OK {
            let message = CStr::from_ptr(ffi::sqlite3_errmsg(db)).to_string_lossy();
            return Err(format!("FTS5 is not available: {message}"));
        }
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&mut api as *mut *mut ffi::fts5_api).cast::<c_void>(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(stmt);
        ffi::sqlite3_finalize(stmt);
    }
    if api.is_null() {
        Err("FTS5 returned no API pointer".to_owned())
    } else {
        Ok(api)
    }
}

/// `herald_rank(news_fts)`: higher is better; see the module comment for why not `bm25()`.
unsafe extern "C" fn herald_rank(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    _n: c_int,
    _args: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 hands a valid API and context for the row being ranked.
    unsafe {
        match score(&*api, fts) {
            Some(score) => ffi::sqlite3_result_double(ctx, score),
            None => ffi::sqlite3_result_error(ctx, c"herald_rank failed".as_ptr(), -1),
        }
    }
}

unsafe fn score(api: &ffi::Fts5ExtensionApi, fts: *mut ffi::Fts5Context) -> Option<f64> {
    // SAFETY: only FTS5 API calls on the context FTS5 gave us.
    unsafe {
        let phrases = usize::try_from((api.xPhraseCount?)(fts)).ok()?;
        let columns = usize::try_from((api.xColumnCount?)(fts)).ok()?.min(3);
        // Term frequency per phrase and column.
        let mut tf = vec![[0u32; 3]; phrases];
        let mut instances: c_int = 0;
        if (api.xInstCount?)(fts, &mut instances) != ffi::SQLITE_OK {
            return None;
        }
        for i in 0..instances {
            let (mut phrase, mut column, mut offset) = (0, 0, 0);
            if (api.xInst?)(fts, i, &mut phrase, &mut column, &mut offset) != ffi::SQLITE_OK {
                return None;
            }
            if let (Ok(p), Ok(c)) = (usize::try_from(phrase), usize::try_from(column))
                && p < phrases
                && c < columns
            {
                tf[p][c] += 1;
            }
        }
        let mut lengths = [0f64; 3];
        for (c, length) in lengths.iter_mut().enumerate().take(columns) {
            let mut tokens: c_int = 0;
            if (api.xColumnSize?)(fts, c as c_int, &mut tokens) != ffi::SQLITE_OK {
                return None;
            }
            *length = f64::from(tokens);
        }
        let mut total = 0.0;
        for counts in &tf {
            for c in 0..columns {
                let f = f64::from(counts[c]);
                if f > 0.0 {
                    let norm = 1.0 - B + B * lengths[c] / NORMAL_LENGTH[c];
                    total += WEIGHTS[c] * f * (K1 + 1.0) / (f + K1 * norm);
                }
            }
        }
        Some(total)
    }
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
    fn search_keys_sort_like_date_then_id() {
        let pairs = [
            (i64::MIN, 0),
            (-17_179_869_184, 5),
            (-14_831_769_600, 1),
            (-1, 7),
            (0, 0),
            (0, 5),
            (1, 0),
            (1_700_000_000, 3),
            (1_700_000_000, ID_MASK),
            (1_700_000_001, 1),
            (16_756_761_599, ID_MASK),
            (17_179_869_183, ID_MASK - 1),
            (17_179_869_183, ID_MASK),
        ];
        let keys: Vec<i64> = pairs.iter().map(|&(t, id)| search_key(t, id)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        for (&(_, id), key) in pairs.iter().zip(&keys) {
            assert_eq!(key & ID_MASK, id);
        }
        assert_eq!(keys_of_second(0), (0, ID_MASK));
    }

    #[test]
    fn every_term_is_quoted() {
        assert_eq!(
            match_expression(&[
                term(&["head", "of", "engineering"], false),
                term(&["zeb"], true),
                term(&["a\"b"], false),
            ]),
            "\"head of engineering\" \"zeb\" * \"a\"\"b\""
        );
    }
}

#[cfg(test)]
mod fill_tests {
    #[test]
    fn the_fill_key_is_the_search_key() {
        // FILL_SQL spells the key in SQL: its constants must be search_key's bounds and shift.
        assert!(super::FILL_SQL.contains(&((1i64 << super::DATE_BITS) - 1).to_string()));
        assert!(super::FILL_SQL.contains(&(-(1i64 << super::DATE_BITS)).to_string()));
        assert!(super::FILL_SQL.contains(&(1i64 << super::ID_BITS).to_string()));
    }
}
