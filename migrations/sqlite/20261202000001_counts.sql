-- Item counts kept by the writes themselves, so `/api/v1/tags` and `count=true` read a handful
-- of rows instead of counting a million: per status, and per tag and status. Scheduled items
-- (published, due later) are counted as published here; readers subtract them with an index
-- range over the few items not yet due.

CREATE TABLE status_counts (
    status TEXT    PRIMARY KEY,
    count  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tag_counts (
    tag    TEXT    NOT NULL,
    status TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (tag, status)
) WITHOUT ROWID;

INSERT INTO status_counts (status, count)
SELECT status, count(*) FROM news_items GROUP BY status;

INSERT INTO tag_counts (tag, status, count)
SELECT tag, status, count(*) FROM news_tags WHERE status IS NOT NULL GROUP BY tag, status;

CREATE TRIGGER status_counts_insert AFTER INSERT ON news_items BEGIN
    INSERT INTO status_counts (status, count) VALUES (new.status, 1)
    ON CONFLICT (status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER status_counts_delete AFTER DELETE ON news_items BEGIN
    UPDATE status_counts SET count = count - 1 WHERE status = old.status;
END;

CREATE TRIGGER status_counts_update AFTER UPDATE OF status ON news_items
WHEN old.status IS NOT new.status BEGIN
    UPDATE status_counts SET count = count - 1 WHERE status = old.status;
    INSERT INTO status_counts (status, count) VALUES (new.status, 1)
    ON CONFLICT (status) DO UPDATE SET count = count + 1;
END;

-- A tag row may be inserted without its status and get it from the item right after (see
-- news_tags_copy_item): only rows with a status count.
CREATE TRIGGER tag_counts_insert AFTER INSERT ON news_tags WHEN new.status IS NOT NULL BEGIN
    INSERT INTO tag_counts (tag, status, count) VALUES (new.tag, new.status, 1)
    ON CONFLICT (tag, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER tag_counts_delete AFTER DELETE ON news_tags WHEN old.status IS NOT NULL BEGIN
    UPDATE tag_counts SET count = count - 1 WHERE tag = old.tag AND status = old.status;
    DELETE FROM tag_counts WHERE tag = old.tag AND status = old.status AND count <= 0;
END;

CREATE TRIGGER tag_counts_update_old AFTER UPDATE OF status ON news_tags
WHEN old.status IS NOT new.status AND old.status IS NOT NULL BEGIN
    UPDATE tag_counts SET count = count - 1 WHERE tag = old.tag AND status = old.status;
    DELETE FROM tag_counts WHERE tag = old.tag AND status = old.status AND count <= 0;
END;

CREATE TRIGGER tag_counts_update_new AFTER UPDATE OF status ON news_tags
WHEN old.status IS NOT new.status AND new.status IS NOT NULL BEGIN
    INSERT INTO tag_counts (tag, status, count) VALUES (new.tag, new.status, 1)
    ON CONFLICT (tag, status) DO UPDATE SET count = count + 1;
END;
