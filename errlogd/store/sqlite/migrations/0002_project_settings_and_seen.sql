ALTER TABLE projects ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN in_app TEXT NOT NULL DEFAULT '';
CREATE TABLE group_seen (
  group_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  n INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (group_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX group_seen_value ON group_seen (kind, value);
