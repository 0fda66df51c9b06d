-- Herald schema, SQLite flavour. Timestamps are whole seconds since the Unix epoch (UTC):
-- integers compare and index cheaply, and whole seconds match what PostgreSQL will store.

CREATE TABLE news_items (
    -- AUTOINCREMENT: an id is never reused, even after the newest item is deleted.
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The feed identity (RSS guid, Atom id, JSON Feed id): fixed at creation, never rewritten.
    guid             TEXT    NOT NULL UNIQUE,
    slug             TEXT    NOT NULL UNIQUE,
    title            TEXT    NOT NULL,
    summary          TEXT,
    content_markdown TEXT    NOT NULL,
    -- Rendered and sanitised once per write, so reads never run the Markdown pipeline.
    content_html     TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'draft')),
    published_at     INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    -- Where an imported item came from (e.g. "jekyll:news.md#slug" or a foreign feed's guid):
    -- re-importing the same source updates this row instead of adding a twin.
    source_key       TEXT    UNIQUE
);

-- Public listing: published items by date, newest first, with id as the tie-break.
CREATE INDEX news_items_public ON news_items (status, published_at DESC, id DESC);
-- "What changed last" for feed validators and caches.
CREATE INDEX news_items_updated ON news_items (updated_at);

CREATE TABLE news_links (
    item_id  INTEGER NOT NULL REFERENCES news_items (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title    TEXT    NOT NULL,
    url      TEXT    NOT NULL,
    PRIMARY KEY (item_id, position)
) WITHOUT ROWID;

CREATE TABLE news_tags (
    item_id INTEGER NOT NULL REFERENCES news_items (id) ON DELETE CASCADE,
    tag     TEXT    NOT NULL,
    PRIMARY KEY (item_id, tag)
) WITHOUT ROWID;

CREATE INDEX news_tags_by_tag ON news_tags (tag, item_id);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    -- SHA-256 of the token, hex: the token itself is shown once and never stored.
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- Small key/value facts about the database itself, e.g. the public URL that stored HTML was
-- rendered against (relative links in bodies are resolved at write time).
CREATE TABLE herald_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
