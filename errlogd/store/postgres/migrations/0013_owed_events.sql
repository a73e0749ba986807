-- The events whose counts a process owes (sqlstore's "Owed counts of
-- several processes"): recorded with the events, deleted with the counts
-- written; a dead owner's rows are adopted by a live process.
CREATE TABLE owed_events (
    owner bigint NOT NULL,
    event_id bigint NOT NULL,
    PRIMARY KEY (owner, event_id)
);
