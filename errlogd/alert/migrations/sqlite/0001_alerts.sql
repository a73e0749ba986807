-- Alerts (errlogd/alert): the outbox of notifications, written in the
-- commit that triggers them; the last alert of each (rule, group); mute
-- and acknowledge; one ticket per group, ever. (Formerly the store's
-- migration 5: IF NOT EXISTS leaves a database that ran it as it is.)
CREATE TABLE IF NOT EXISTS alert_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  dedup TEXT NOT NULL UNIQUE,
  project_id INTEGER NOT NULL,
  group_id INTEGER NOT NULL,
  rule TEXT NOT NULL,
  action_index INTEGER NOT NULL,
  dest TEXT NOT NULL,
  reason TEXT NOT NULL,
  event_id INTEGER NOT NULL,
  total INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  due_ms INTEGER NOT NULL,
  claimed_until_ms INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending',
  last_error TEXT NOT NULL DEFAULT '',
  sent_ms INTEGER NOT NULL DEFAULT 0,
  batch TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alert_outbox_pending ON alert_outbox (state, dest, due_ms);
CREATE INDEX IF NOT EXISTS alert_outbox_group ON alert_outbox (group_id, id);
CREATE INDEX IF NOT EXISTS alert_outbox_sent ON alert_outbox (sent_ms);
CREATE TABLE IF NOT EXISTS alert_rule_state (
  rule TEXT NOT NULL,
  group_id INTEGER NOT NULL,
  last_fired_ms INTEGER NOT NULL,
  PRIMARY KEY (rule, group_id)
);
CREATE TABLE IF NOT EXISTS group_alerting (
  group_id INTEGER PRIMARY KEY,
  muted_until_ms INTEGER NOT NULL DEFAULT 0,
  mute_until_count INTEGER NOT NULL DEFAULT 0,
  acknowledged INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS group_tickets (
  group_id INTEGER PRIMARY KEY,
  ticketer TEXT NOT NULL,
  state TEXT NOT NULL,
  url TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  claimed_until_ms INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
