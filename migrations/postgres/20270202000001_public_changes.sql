-- When public content last changed is read from the change log (a delete leaves no row behind,
-- and a draft's own times must not show): the newest change readers could see, one index seek.
CREATE INDEX changes_public_at ON changes (at) WHERE was_public OR is_public;
