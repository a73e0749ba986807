-- Search moves to a table of its own, group_search, kept by triggers and
-- the writer's catch-up: every UPDATE of an event_groups row (each commit
-- updates count and last_seen) wrote new entries into both trigram GIN
-- indexes, title changed or not: 9 MB of index for 200 groups after 5,000
-- events, 1.7 KB per event. A new group is indexed at once; a changed
-- title marks its group stale, the writer re-indexes stale groups at most
-- once a second, and searches read stale groups' current titles directly,
-- so results are always exact.
DROP INDEX IF EXISTS event_groups_title_trgm;
DROP INDEX IF EXISTS event_groups_culprit_trgm;
CREATE TABLE group_search (
  group_id BIGINT PRIMARY KEY,
  title TEXT NOT NULL,
  culprit TEXT NOT NULL
);
INSERT INTO group_search (group_id, title, culprit) SELECT id, title, culprit FROM event_groups;
CREATE TABLE group_search_stale (group_id BIGINT PRIMARY KEY);
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
  CREATE INDEX group_search_title_trgm ON group_search USING gin (title public.gin_trgm_ops);
  CREATE INDEX group_search_culprit_trgm ON group_search USING gin (culprit public.gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'errlogd: no pg_trgm (%), text search scans', SQLERRM;
END
$$;
CREATE FUNCTION errlog_group_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO group_search (group_id, title, culprit) VALUES (NEW.id, NEW.title, NEW.culprit)
      ON CONFLICT (group_id) DO UPDATE SET title = excluded.title, culprit = excluded.culprit;
  ELSIF TG_OP = 'DELETE' THEN
    DELETE FROM group_search WHERE group_id = OLD.id;
    DELETE FROM group_search_stale WHERE group_id = OLD.id;
  ELSE
    INSERT INTO group_search_stale (group_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER event_groups_search_insert AFTER INSERT ON event_groups
  FOR EACH ROW EXECUTE FUNCTION errlog_group_search();
CREATE TRIGGER event_groups_search_delete AFTER DELETE ON event_groups
  FOR EACH ROW EXECUTE FUNCTION errlog_group_search();
CREATE TRIGGER event_groups_search_update AFTER UPDATE OF title, culprit ON event_groups
  FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.culprit IS DISTINCT FROM NEW.culprit)
  EXECUTE FUNCTION errlog_group_search();
