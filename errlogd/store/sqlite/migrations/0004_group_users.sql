-- Users affected: the distinct users (id, else email, username or IP) of
-- each group's events.
ALTER TABLE event_groups ADD COLUMN users INTEGER NOT NULL DEFAULT 0;
CREATE TABLE group_users (
  group_id INTEGER NOT NULL,
  user_key TEXT NOT NULL,
  PRIMARY KEY (group_id, user_key)
) WITHOUT ROWID;
