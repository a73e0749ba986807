CREATE TABLE projects (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  public_key TEXT NOT NULL UNIQUE,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL
);
CREATE TABLE event_groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  title TEXT NOT NULL,
  culprit TEXT NOT NULL,
  level TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'unresolved',
  regression INTEGER NOT NULL DEFAULT 0,
  last_event_id INTEGER NOT NULL DEFAULT 0,
  UNIQUE (project_id, key)
);
CREATE INDEX event_groups_last_seen ON event_groups (last_seen, id);
CREATE INDEX event_groups_first_seen ON event_groups (first_seen, id);
CREATE INDEX event_groups_count ON event_groups (count, id);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL,
  group_id INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  received INTEGER NOT NULL,
  level TEXT NOT NULL,
  title TEXT NOT NULL,
  environment TEXT NOT NULL,
  release TEXT NOT NULL,
  size INTEGER NOT NULL,
  stored INTEGER NOT NULL,
  payload BLOB NOT NULL,
  UNIQUE (project_id, event_id)
);
CREATE INDEX events_group ON events (group_id, id);
CREATE INDEX events_received ON events (received);
CREATE TABLE group_minutes (
  group_id INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (group_id, bucket)
) WITHOUT ROWID;
CREATE TABLE group_hours (
  group_id INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (group_id, bucket)
) WITHOUT ROWID;
