-- The events whose counts a process owes (sqlstore's "Owed counts of
-- several processes"): recorded with the events, deleted with the counts
-- written; a dead owner's rows are adopted by a live process.
CREATE TABLE owed_events (
    owner bigint NOT NULL,
    event_id bigint NOT NULL,
    PRIMARY KEY (owner, event_id)
);
-- The newest event when a group's status last changed: only a newer one
-- reopens a resolved group. A count written after the change, of an event
-- that came before it (counts another process owed), does not.
ALTER TABLE event_groups ADD COLUMN status_event bigint NOT NULL DEFAULT 0;
