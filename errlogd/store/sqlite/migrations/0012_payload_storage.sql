-- Schema 12 changes how PostgreSQL stores event payloads (see its
-- 0012_payload_storage.sql); SQLite has nothing to change. The step is
-- kept so that both stores have the same schema number: errlogd move
-- and backups compare them.
SELECT 1;
