-- Substring search of group titles and culprits without a scan: pg_trgm
-- GIN indexes, which ILIKE '%…%' uses. A database where the extension
-- cannot be created keeps working, with a scan.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
  CREATE INDEX event_groups_title_trgm ON event_groups USING gin (title public.gin_trgm_ops);
  CREATE INDEX event_groups_culprit_trgm ON event_groups USING gin (culprit public.gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'errlogd: no pg_trgm (%), text search scans', SQLERRM;
END
$$;
