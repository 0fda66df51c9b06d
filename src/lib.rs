//! Herald: one store of news items served as REST JSON to frontends and as feeds to readers.

pub mod access_log;
pub mod api;
pub mod archive;
pub mod auth;
pub mod clock;
pub mod config;
pub mod cors;
pub mod error;
pub mod etag;
pub mod events;
pub mod feeds;
pub mod http_cache;
pub mod import;
pub mod markdown;
pub mod model;
pub mod openapi;
pub mod response_cache;
pub mod revision;
pub mod schema;
pub mod startup;
pub mod state;
pub mod store;
pub mod uri;
pub mod urls;
pub mod websub;
