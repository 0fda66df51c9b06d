//! HTTP-level tests. Each test gets its own temporary SQLite file.

mod feeds;
mod helpers;
mod read;
mod seed;
