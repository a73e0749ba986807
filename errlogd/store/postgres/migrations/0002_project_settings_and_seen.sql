ALTER TABLE projects ADD COLUMN rate_limit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN in_app TEXT NOT NULL DEFAULT '';
CREATE TABLE group_seen (
  group_id BIGINT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  n BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (group_id, kind, value)
);
CREATE INDEX group_seen_value ON group_seen (kind, value);
