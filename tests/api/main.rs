//! HTTP-level tests. Each test gets its own temporary SQLite file.

mod helpers;
mod openapi;
mod read;
mod seed;
mod write;
