-- The search index no longer follows every title change as it happens:
-- with titles that vary per event (an id in the message), each commit
-- rewrote the FTS rows of every group it touched, a tenth of errlogd's CPU
-- at 5 KB events. A changed title now marks its group stale; the writer
-- re-indexes stale groups at most once a second, and searches read stale
-- groups' current titles directly (LIKE), so results are always exact.
-- The index keeps no copy of the text (contentless, with deletes).
DROP TRIGGER event_groups_search_insert;
DROP TRIGGER event_groups_search_delete;
DROP TRIGGER event_groups_search_update;
DROP TABLE group_search;
CREATE VIRTUAL TABLE group_search USING fts5(title, culprit, content='', contentless_delete=1, tokenize='trigram');
INSERT INTO group_search(rowid, title, culprit) SELECT id, title, culprit FROM event_groups;
CREATE TABLE group_search_stale (group_id INTEGER PRIMARY KEY);
CREATE TRIGGER event_groups_search_insert AFTER INSERT ON event_groups BEGIN
  INSERT INTO group_search(rowid, title, culprit) VALUES (new.id, new.title, new.culprit);
END;
CREATE TRIGGER event_groups_search_delete AFTER DELETE ON event_groups BEGIN
  DELETE FROM group_search WHERE rowid = old.id;
  DELETE FROM group_search_stale WHERE group_id = old.id;
END;
CREATE TRIGGER event_groups_search_update AFTER UPDATE OF title, culprit ON event_groups
WHEN old.title <> new.title OR old.culprit <> new.culprit BEGIN
  INSERT OR IGNORE INTO group_search_stale (group_id) VALUES (new.id);
END;
