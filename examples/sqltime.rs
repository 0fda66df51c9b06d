//! Times SQL statements against a database with the same SQLite Herald is built with (the
//! bundled one), for `bench/search-compare.sh`.
//!
//! `sqltime DB ROUNDS SQL_A [SQL_B …]` runs the statements alternately, ROUNDS times each after
//! one warm-up round, and prints each statement's median and p90 in milliseconds. Rows are
//! stepped through and discarded.

use std::ffi::{CStr, CString};
use std::ptr;
use std::time::Instant;

use libsqlite3_sys as ffi;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, rounds, statements @ ..] = args.as_slice() else {
        eprintln!("usage: sqltime DB ROUNDS SQL [SQL …]");
        std::process::exit(2);
    };
    let rounds: usize = rounds.parse().expect("ROUNDS is a number");
    let path = CString::new(db.as_str()).expect("no NUL in the path");
    let mut conn = ptr::null_mut();
    // SAFETY: plain SQLite C API use on one thread; every statement is finalised and the
    // connection closed (which also checkpoints the WAL) before returning.
    unsafe {
        let flags = ffi::SQLITE_OPEN_READWRITE;
        assert_eq!(
            ffi::sqlite3_open_v2(path.as_ptr(), &mut conn, flags, ptr::null()),
            ffi::SQLITE_OK
        );
        let mut times = vec![Vec::with_capacity(rounds); statements.len()];
        for round in 0..=rounds {
            for (i, sql) in statements.iter().enumerate() {
                let text = CString::new(sql.as_str()).expect("no NUL in SQL");
                let start = Instant::now();
                let mut stmt = ptr::null_mut();
                let rc =
                    ffi::sqlite3_prepare_v2(conn, text.as_ptr(), -1, &mut stmt, ptr::null_mut());
                if rc != ffi::SQLITE_OK {
                    panic!(
                        "{sql}: {}",
                        CStr::from_ptr(ffi::sqlite3_errmsg(conn)).to_string_lossy()
                    );
                }
                while ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {}
                ffi::sqlite3_finalize(stmt);
                if round > 0 {
                    times[i].push(start.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        ffi::sqlite3_close(conn);
        for (sql, mut t) in statements.iter().zip(times) {
            t.sort_by(f64::total_cmp);
            let p = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
            let short: String = sql
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(70)
                .collect();
            println!("p50 {:9.2} ms  p90 {:9.2} ms  {short}", p(0.5), p(0.9));
        }
    }
}
