-- The OpenTelemetry/Sentry trace an event happened in (contexts.trace.trace_id,
-- 32 lowercase hex digits; '' when none), to find a trace's errors.
ALTER TABLE events ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
CREATE INDEX events_trace_id ON events (trace_id) WHERE trace_id <> '';
