-- Media and item images (issue 16). Uploaded images and every variant made of them live in the
-- store, as blobs: each replica serves the same bytes, and a backup or copy of the store carries
-- its media with it.

CREATE TABLE media (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Hex SHA-256 of the uploaded bytes: uploading the same file twice gives the same medium.
    source_hash TEXT    NOT NULL UNIQUE,
    -- What is served as the original: orientation applied, metadata stripped.
    type        TEXT    NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Every file served under /media/: a medium's original and each resized variant. The path is
-- content-addressed (derived from the file's own bytes), so a URL never changes meaning and can
-- be cached for a year.
CREATE TABLE media_files (
    path     TEXT    PRIMARY KEY,
    media_id INTEGER NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    original BOOLEAN NOT NULL,
    type     TEXT    NOT NULL,
    width    INTEGER NOT NULL,
    height   INTEGER NOT NULL,
    data     BLOB    NOT NULL
) WITHOUT ROWID;

CREATE INDEX media_files_by_media ON media_files (media_id, original, width);

-- An item's image: an uploaded medium, or an image hosted elsewhere (with the size the editor
-- gave, if any). Alt text is required whenever there is an image.
-- RESTRICT: a medium an item shows cannot go (the API answers 409 first).
CREATE TABLE news_images (
    item_id  INTEGER PRIMARY KEY REFERENCES news_items (id) ON DELETE CASCADE,
    media_id INTEGER REFERENCES media (id) ON DELETE RESTRICT,
    url      TEXT,
    width    INTEGER,
    height   INTEGER,
    alt      TEXT    NOT NULL,
    caption  TEXT,
    credit   TEXT,
    CHECK ((media_id IS NULL) <> (url IS NULL))
);

CREATE INDEX news_images_by_media ON news_images (media_id) WHERE media_id IS NOT NULL;
