-- errlogd move (errlogd/store/move): one row per move into this database,
-- so that an interrupted move is resumed rather than refused.
CREATE TABLE store_moves (
  source TEXT PRIMARY KEY,
  started_ms BIGINT NOT NULL,
  finished_ms BIGINT NOT NULL DEFAULT 0
);
