-- Alert rules edited on the dashboard (errlogd/alert): one row per
-- (project, name), the rule as the same JSON a rules file holds. The
-- version moves on every change, so that each errlogd process reloads
-- the rules with one cheap query. (Formerly the store's migration 6.)
CREATE TABLE IF NOT EXISTS alert_rules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  rule TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS alert_rules_version (
  id INTEGER PRIMARY KEY,
  version INTEGER NOT NULL
);
INSERT INTO alert_rules_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
