//! HTTP-level tests. Each test gets its own store: a temporary SQLite file, or a fresh
//! PostgreSQL database when `HERALD_TEST_POSTGRES` names a server (see `helpers`).

mod authors;
mod cache;
mod changes;
mod conformance;
mod copy_store;
mod cors;
mod counts;
mod engines;
mod events;
mod feed_fixes;
mod feeds;
mod hardening;
mod helpers;
mod images;
mod import;
mod limits;
mod media;
mod moving;
mod openapi;
mod ops;
mod ops_process;
mod outage;
mod postgres_plans;
mod previews;
mod read;
mod replicas;
mod scopes;
mod search;
mod seed;
mod site;
mod sqlite_plans;
mod webhooks;
mod websub;
mod write;
