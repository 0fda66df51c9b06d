-- Authors as records (issue 16): items name them in order. An item keeps its authors by id, so
-- renaming an author (name or slug) changes every item that names it without rewriting them.

CREATE TABLE authors (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    bio        TEXT,
    url        TEXT,
    avatar     TEXT,
    -- For editors only: never in a public answer or a feed.
    email      TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- RESTRICT: an author named by an item cannot go (the API answers 409 first).
CREATE TABLE news_authors (
    item_id   INTEGER NOT NULL REFERENCES news_items (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE RESTRICT,
    PRIMARY KEY (item_id, position)
) WITHOUT ROWID;

CREATE INDEX news_authors_by_author ON news_authors (author_id, item_id);
