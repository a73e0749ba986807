-- The newest event when a group's status last changed: only a newer one
-- reopens a resolved group. A count written after the change, of an event
-- that came before it (counts owed), does not.
ALTER TABLE event_groups ADD COLUMN status_event INTEGER NOT NULL DEFAULT 0;
