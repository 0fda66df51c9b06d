-- Status and date of an item by id, without reading the row: a search finds ids in the
-- full-text index, then filters and sorts them on these. (The row stores the date after the
-- bodies, so reading it from the row reads the bodies too.)
CREATE INDEX news_items_keys ON news_items (id, status, published_at);
