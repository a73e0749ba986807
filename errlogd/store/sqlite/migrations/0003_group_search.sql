-- Substring search of group titles and culprits without a scan: an FTS5
-- trigram index over event_groups, kept by triggers.
CREATE VIRTUAL TABLE group_search USING fts5(title, culprit, content='event_groups', content_rowid='id', tokenize='trigram');
INSERT INTO group_search(group_search) VALUES ('rebuild');
CREATE TRIGGER event_groups_search_insert AFTER INSERT ON event_groups BEGIN
  INSERT INTO group_search(rowid, title, culprit) VALUES (new.id, new.title, new.culprit);
END;
CREATE TRIGGER event_groups_search_delete AFTER DELETE ON event_groups BEGIN
  INSERT INTO group_search(group_search, rowid, title, culprit) VALUES ('delete', old.id, old.title, old.culprit);
END;
CREATE TRIGGER event_groups_search_update AFTER UPDATE OF title, culprit ON event_groups
WHEN old.title <> new.title OR old.culprit <> new.culprit BEGIN
  INSERT INTO group_search(group_search, rowid, title, culprit) VALUES ('delete', old.id, old.title, old.culprit);
  INSERT INTO group_search(rowid, title, culprit) VALUES (new.id, new.title, new.culprit);
END;
