-- Item counts kept by the writes themselves (as in migrations/sqlite/…_counts.sql), so
-- `/api/v1/tags` and `count=true` read a handful of rows instead of counting every item: per
-- status, and per tag and status. Scheduled items (published, due later) count as published
-- here; readers subtract them with an index range over the few items not yet due.

CREATE TABLE status_counts (
    status TEXT   PRIMARY KEY,
    count  BIGINT NOT NULL
);

CREATE TABLE tag_counts (
    tag    TEXT   COLLATE "C" NOT NULL,
    status TEXT   NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (tag, status)
);

INSERT INTO status_counts (status, count)
SELECT status, count(*) FROM news_items GROUP BY status;

INSERT INTO tag_counts (tag, status, count)
SELECT tag, status, count(*) FROM news_tags GROUP BY tag, status;

CREATE FUNCTION status_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE status_counts SET count = count - 1 WHERE status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO status_counts (status, count) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET count = status_counts.count + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER status_counts_insert_delete AFTER INSERT OR DELETE ON news_items
FOR EACH ROW EXECUTE FUNCTION status_counts_follow();
CREATE TRIGGER status_counts_update AFTER UPDATE OF status ON news_items
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION status_counts_follow();

CREATE FUNCTION tag_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE tag_counts SET count = count - 1 WHERE tag = OLD.tag AND status = OLD.status;
        DELETE FROM tag_counts WHERE tag = OLD.tag AND status = OLD.status AND count <= 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO tag_counts (tag, status, count) VALUES (NEW.tag, NEW.status, 1)
        ON CONFLICT (tag, status) DO UPDATE SET count = tag_counts.count + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tag_counts_insert_delete AFTER INSERT OR DELETE ON news_tags
FOR EACH ROW EXECUTE FUNCTION tag_counts_follow();
CREATE TRIGGER tag_counts_update AFTER UPDATE OF status ON news_tags
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION tag_counts_follow();
