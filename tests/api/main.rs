//! HTTP-level tests. Each test gets its own temporary SQLite file.

mod changes;
mod conformance;
mod copy_store;
mod cors;
mod events;
mod feeds;
mod helpers;
mod import;
mod openapi;
mod read;
mod replicas;
mod search;
mod seed;
mod sqlite_plans;
mod websub;
mod write;
