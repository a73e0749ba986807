-- Grouping 2 (docs/grouping.md) keys events differently from grouping 1:
-- each group records the grouping that made its key, and group_hashes
-- the keys of later groupings that found it by an earlier one's key, so
-- that upgrading errlogd splits no group's history. Groups that exist
-- now were made by grouping 1; new ones take the default, the current
-- grouping.
ALTER TABLE event_groups ADD COLUMN grouping INTEGER NOT NULL DEFAULT 2;
UPDATE event_groups SET grouping = 1;
CREATE TABLE group_hashes (
  project_id INTEGER NOT NULL,
  hash TEXT NOT NULL,
  grouping INTEGER NOT NULL,
  group_id INTEGER NOT NULL,
  PRIMARY KEY (project_id, hash)
);
CREATE INDEX group_hashes_group ON group_hashes (group_id);
