-- Full-text search and index-only paging for filtered lists.

-- Title, summary and Markdown body, indexed by FTS5 over the items table itself (external
-- content: the text is stored once). Triggers keep it in step with every writer inside the
-- writer's own transaction, so no code path can forget it.
CREATE VIRTUAL TABLE news_fts USING fts5 (
    title, summary, content_markdown,
    content = 'news_items',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Buffer up to 32 MB of new postings per transaction before writing a segment: bulk imports
-- write fewer, larger segments and merge less (a small write still buffers only what it adds).
INSERT INTO news_fts (news_fts, rank) VALUES ('hashsize', 33554432);
INSERT INTO news_fts (news_fts) VALUES ('rebuild');

CREATE TRIGGER news_fts_after_insert AFTER INSERT ON news_items BEGIN
    INSERT INTO news_fts (rowid, title, summary, content_markdown)
    VALUES (new.id, new.title, new.summary, new.content_markdown);
END;

CREATE TRIGGER news_fts_after_delete AFTER DELETE ON news_items BEGIN
    INSERT INTO news_fts (news_fts, rowid, title, summary, content_markdown)
    VALUES ('delete', old.id, old.title, old.summary, old.content_markdown);
END;

CREATE TRIGGER news_fts_after_update AFTER UPDATE OF title, summary, content_markdown ON news_items
BEGIN
    INSERT INTO news_fts (news_fts, rowid, title, summary, content_markdown)
    VALUES ('delete', old.id, old.title, old.summary, old.content_markdown);
    INSERT INTO news_fts (rowid, title, summary, content_markdown)
    VALUES (new.id, new.title, new.summary, new.content_markdown);
END;

-- A tag filter pages by date without touching items it skips: each tag row carries a copy of
-- its item's status and date, and one index serves "tag T, public, newest first, after cursor".
ALTER TABLE news_tags ADD COLUMN status TEXT;
ALTER TABLE news_tags ADD COLUMN published_at INTEGER;
UPDATE news_tags SET (status, published_at) =
    (SELECT status, published_at FROM news_items WHERE id = news_tags.item_id);
DROP INDEX news_tags_by_tag;
CREATE INDEX news_tags_by_tag ON news_tags (tag, status, published_at, item_id);

-- Writers may insert (item_id, tag) alone: the copy is filled in (or corrected) here.
CREATE TRIGGER news_tags_copy_item AFTER INSERT ON news_tags
WHEN new.status IS NOT (SELECT status FROM news_items WHERE id = new.item_id)
  OR new.published_at IS NOT (SELECT published_at FROM news_items WHERE id = new.item_id)
BEGIN
    UPDATE news_tags SET (status, published_at) =
        (SELECT status, published_at FROM news_items WHERE id = new.item_id)
    WHERE item_id = new.item_id AND tag = new.tag;
END;

CREATE TRIGGER news_tags_follow_item AFTER UPDATE OF status, published_at ON news_items BEGIN
    UPDATE news_tags SET status = new.status, published_at = new.published_at
    WHERE item_id = new.id;
END;
