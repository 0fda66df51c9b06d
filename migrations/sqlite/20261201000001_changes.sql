-- The change log: one row per committed change to an item, written in the writer's own
-- transaction, so every process on the database (the server, `herald import`, replicas) learns
-- of every change in order.
CREATE TABLE changes (
    -- AUTOINCREMENT: a sequence number is never reused, whatever is deleted, so "the changes
    -- after N" never skips or repeats one.
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL
               CHECK (kind IN ('created', 'updated', 'deleted', 'published', 'unpublished')),
    -- No foreign key: a deleted item keeps its changes.
    item_id    INTEGER NOT NULL,
    -- The item's tags before and after the change, sorted and without repeats (JSON array).
    tags       TEXT    NOT NULL,
    was_public INTEGER NOT NULL,
    is_public  INTEGER NOT NULL,
    -- When the change was committed (whole seconds since the epoch).
    at         INTEGER NOT NULL
);
