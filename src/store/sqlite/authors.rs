//! Author records: the shared implementation ([`crate::store::authors`]) in SQLite's write
//! transactions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{SqliteStore, begin_write, changes, items};
use crate::store::authors::{
    AuthorRow, CREATE_SQL, DELETE_SQL, ITEMS_OF_SQL, LIST_SQL, ONE_SQL, TOUCH_ITEMS_SQL,
    UPDATE_SQL, USES_SQL, author_store, byline_differs, in_use, sorted,
};
use crate::store::rules::{byline_changed, map_unique};
use crate::store::{Author, AuthorCount, AuthorDraft, Change, StoreError, StoreResult};

author_store!(SqliteStore, begin_write);
