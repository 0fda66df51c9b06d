-- Herald schema, PostgreSQL flavour: the same tables, columns and constraint names as the
-- SQLite schema (migrations/sqlite), so both engines store, order and report the same things.
--
-- Timestamps are BIGINT whole seconds since the Unix epoch (UTC), exactly as in SQLite: the
-- Rust code reads and writes them the same way on both engines, and there is no time zone or
-- sub-second precision for either engine to round differently.

-- Ids and change numbers come from these counters, bumped with UPDATE ... RETURNING inside the
-- writing transaction. Unlike a sequence, a counter rolls back with a failed write, so ids and
-- change numbers are handed out exactly as SQLite's AUTOINCREMENT hands them out (never reused,
-- no gaps after a rollback): equal histories give equal ids on both engines.
CREATE TABLE herald_counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO herald_counters (name, value) VALUES ('news_items', 0), ('changes', 0);

-- Search ignores case and accents: `simple` (no stemming, no stop words, like SQLite's
-- unicode61) after `unaccent`. `unaccent` is a trusted extension from PostgreSQL 13 on, so the
-- database's owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION herald (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION herald
    ALTER MAPPING FOR word, hword, hword_part, numword, numhword, hword_numpart
    WITH unaccent, simple;

-- Text as SQLite's unicode61 tokenizer splits it: ASCII punctuation separates words. Without
-- this, PostgreSQL's parser keeps `example.org`, `v2.5` or `head-of-engineering` as single
-- tokens (and shifts the positions phrases depend on), so a search for `example` would differ.
CREATE FUNCTION herald_search_text(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
AS $$ SELECT translate($1, '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', repeat(' ', 32)) $$;

CREATE TABLE news_items (
    id               BIGINT PRIMARY KEY,
    -- The feed identity (RSS guid, Atom id, JSON Feed id): fixed at creation, never rewritten.
    guid             TEXT   NOT NULL UNIQUE,
    slug             TEXT   NOT NULL UNIQUE,
    title            TEXT   NOT NULL,
    summary          TEXT,
    content_markdown TEXT   NOT NULL,
    content_html     TEXT   NOT NULL,
    status           TEXT   NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'draft')),
    published_at     BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    source_key       TEXT   UNIQUE,
    -- Title weighs more than summary, summary more than body (weights A, B, C).
    search           tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('herald', coalesce(herald_search_text(title), '')), 'A') ||
        setweight(to_tsvector('herald', coalesce(herald_search_text(summary), '')), 'B') ||
        setweight(to_tsvector('herald', coalesce(herald_search_text(content_markdown), '')), 'C')
    ) STORED
);

-- Lists by date (either way), per status, with id as the tie-break and cursor key.
CREATE INDEX news_items_public ON news_items (status, published_at, id);
-- "What changed last" for feed validators and caches.
CREATE INDEX news_items_updated ON news_items (updated_at);
CREATE INDEX news_items_search ON news_items USING gin (search);

CREATE TABLE news_links (
    item_id  BIGINT  NOT NULL REFERENCES news_items (id) ON DELETE CASCADE,
    position BIGINT  NOT NULL,
    title    TEXT    NOT NULL,
    url      TEXT    NOT NULL,
    PRIMARY KEY (item_id, position)
);

-- Each tag row carries a copy of its item's status and date, so one index range serves
-- "tag T, public, newest first, after cursor" as an index-only scan. Tags compare byte-wise
-- (COLLATE "C"), as in SQLite, so tag lists and counts come out in the same order.
CREATE TABLE news_tags (
    item_id      BIGINT NOT NULL REFERENCES news_items (id) ON DELETE CASCADE,
    tag          TEXT   COLLATE "C" NOT NULL,
    status       TEXT   NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (item_id, tag)
);
CREATE INDEX news_tags_by_tag ON news_tags (tag, status, published_at, item_id);

-- Writers may insert (item_id, tag) alone: the copies are filled in here, and follow the item.
CREATE FUNCTION news_tags_copy_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT status, published_at INTO NEW.status, NEW.published_at
    FROM news_items WHERE id = NEW.item_id;
    RETURN NEW;
END $$;
CREATE TRIGGER news_tags_copy_item BEFORE INSERT ON news_tags
FOR EACH ROW EXECUTE FUNCTION news_tags_copy_item();

CREATE FUNCTION news_tags_follow_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE news_tags SET status = NEW.status, published_at = NEW.published_at
    WHERE item_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER news_tags_follow_item AFTER UPDATE OF status, published_at ON news_items
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                   OR OLD.published_at IS DISTINCT FROM NEW.published_at)
EXECUTE FUNCTION news_tags_follow_item();

CREATE TABLE api_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    -- SHA-256 of the token, hex: the token itself is shown once and never stored.
    token_hash TEXT   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE herald_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The change log: one row per committed change, written in the writer's own transaction.
-- `seq` comes from herald_counters under the writers' lock, so numbers become visible in the
-- order they are assigned (see src/store/postgres/changes.rs).
CREATE TABLE changes (
    seq        BIGINT  PRIMARY KEY,
    kind       TEXT    NOT NULL
               CHECK (kind IN ('created', 'updated', 'deleted', 'published', 'unpublished')),
    -- No foreign key: a deleted item keeps its changes.
    item_id    BIGINT  NOT NULL,
    -- The item's tags before and after the change, sorted and without repeats (JSON array).
    tags       TEXT    NOT NULL,
    was_public BOOLEAN NOT NULL,
    is_public  BOOLEAN NOT NULL,
    at         BIGINT  NOT NULL
);
