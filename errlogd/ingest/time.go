package ingest

import (
	"strconv"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
)

// minClockDrift is the least difference between the envelope's sent_at
// and its arrival that is taken for a wrong client clock, as in Relay:
// below it, the difference is the time in transit (or a retry queue).
const minClockDrift = 55 * time.Minute

// correctTime puts an event's timestamp on the server's clock, as Relay
// does: shifted by the client's clock drift (received − sent_at, when the
// envelope says when it was sent, or the store endpoint's
// sentry_timestamp, and the drift is 55 minutes or more),
// then kept within store.MaxPast before and store.MaxFuture after its
// arrival (else it is the arrival time); no timestamp is the arrival
// time. The timestamp as sent stays in the stored event; each correction
// is recorded in ev.Errors.
func correctTime(ev *event.Event, sentAt string, received time.Time) {
	if ev.Timestamp.IsZero() {
		ev.Timestamp = received
		return
	}
	if sentAt != "" {
		raw := []byte(sentAt) // Unix seconds (sentry_timestamp), else RFC 3339
		if _, err := strconv.ParseFloat(sentAt, 64); err != nil {
			raw = []byte(strconv.Quote(sentAt))
		}
		sent, err := decode.Timestamp(raw)
		if err == nil && !sent.IsZero() {
			if drift := received.Sub(sent); drift >= minClockDrift || drift <= -minClockDrift {
				ev.Errors = append(ev.Errors, event.ProcessingError{Type: "clock_drift", Name: "timestamp",
					Value: ev.Timestamp.Format(time.RFC3339Nano), Reason: "sent_at " + sentAt + ", received " + received.UTC().Format(time.RFC3339Nano)})
				ev.Timestamp = ev.Timestamp.Add(drift)
			}
		}
	}
	switch {
	case ev.Timestamp.Before(received.Add(-store.MaxPast)):
		ev.Errors = append(ev.Errors, event.ProcessingError{Type: "past_timestamp", Name: "timestamp", Value: ev.Timestamp.Format(time.RFC3339Nano)})
		ev.Timestamp = received
	case ev.Timestamp.After(received.Add(store.MaxFuture)):
		ev.Errors = append(ev.Errors, event.ProcessingError{Type: "future_timestamp", Name: "timestamp", Value: ev.Timestamp.Format(time.RFC3339Nano)})
		ev.Timestamp = received
	}
}
