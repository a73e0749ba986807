-- User feedback (Sentry's user reports and feedback items): what a user
-- wrote about an error, kept by the event it names; group_id is the
-- event's group when the event was stored first (else 0, and it is
-- found through events by event_id).
CREATE TABLE feedback (
  id BIGSERIAL PRIMARY KEY,
  project_id BIGINT NOT NULL,
  group_id BIGINT NOT NULL DEFAULT 0,
  event_id TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  comments TEXT NOT NULL,
  url TEXT NOT NULL,
  received BIGINT NOT NULL
);
CREATE INDEX feedback_group ON feedback (group_id, id);
CREATE INDEX feedback_event ON feedback (project_id, event_id);
