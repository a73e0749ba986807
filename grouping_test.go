package errlog

import (
	"context"
	"errors"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
	"io"
	"log/slog"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrackerSendsTheMailKey: the tracker sends each event with the key
// the mail sink throttles it by (GroupKey of the event every sink gets),
// so that errlogd's groups are the mail's threads; a TrackerOptions.
// BeforeSend that changes the grouping changes the key sent. Two
// messages of one function are two groups.
func TestTrackerSendsTheMailKey(t *testing.T) {
	trk := trackertest.NewFake(t)
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink},
		Tracker: &tracker.Options{DSN: trk.DSN(), BeforeSend: func(ev *event.Event) *event.Event {
			if ev.Message() == "regrouped" {
				c := *ev
				c.Fingerprint = []string{"by-tracker"}
				return &c
			}
			return ev
		}}})
	defer h.Close(context.Background())
	log := slog.New(h)
	err := errors.New("declined")
	log.Error("charge failed", "err", err)
	log.Error("shipping label failed", "err", err)
	log.Error("regrouped")
	flush(t, h)

	built := map[string]*event.Event{}
	for _, ev := range sink.all() {
		built[ev.EventID] = ev
	}
	sent := trk.Acked()
	require.Len(t, sent, 3)
	keys := map[string]bool{}
	for _, ev := range sent {
		key, v := ev.CarriedGroupKey()
		require.Equal(t, event.Grouping, v, ev.Message())
		keys[key] = true
		mail := built[ev.EventID].GroupKey()
		if ev.Message() == "regrouped" {
			assert.NotEqual(t, mail, key, "BeforeSend's fingerprint")
			assert.Equal(t, ev.GroupKeyOf(event.Grouping), key)
			continue
		}
		assert.Equal(t, mail, key, ev.Message())
	}
	assert.Len(t, keys, 3)
}

type nilErr struct{}

func (*nilErr) Error() string { return "nil error" }

// TestTypedNilIsNoException: a typed nil error among a record's
// attributes leaves the record a log record: titled and grouped by its
// message, the attribute shown as it is.
func TestTypedNilIsNoException(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{})
	log := slog.New(h)
	log.Error("odd values", "x", (*nilErr)(nil))
	log.Error("another odd record", "x", (*nilErr)(nil))
	log.Error("a real one", "err", &nilErr{})
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 3)
	for _, ev := range evs[:2] {
		assert.Empty(t, ev.Exception, ev.Message())
		assert.NotNil(t, ev.Stacktrace, "the record's stack")
		assert.Equal(t, ev.Message(), ev.Title())
		assert.Contains(t, ev.Extra, "x", "the attribute stays")
	}
	assert.NotEqual(t, evs[0].GroupKey(), evs[1].GroupKey(), "two records, two groups")
	require.Len(t, evs[2].Exception, 1, "a non-nil pointer is an error")
}

// fieldErr is how most error types are written: its Error method reads a
// field, and so panics on a nil pointer.
type fieldErr struct{ msg string }

func (e *fieldErr) Error() string { return e.msg }

// A typed nil whose Error method panics on the nil pointer, as most do, is
// no exception either: it became one, "*errlog.fieldErr: <nil>", titling
// and grouping unrelated records by its type.
func TestTypedNilWithPanickingErrorIsNoException(t *testing.T) {
	h, console, _, sink := newTestHandler(t, Options{})
	slog.New(h).Error("odd values", "x", (*fieldErr)(nil))
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1)
	assert.Empty(t, evs[0].Exception)
	assert.Equal(t, "odd values", evs[0].Title())
	assert.Equal(t, "<nil>", evs[0].Extra["x"])
	assert.Contains(t, console.String(), "x=<nil>")
}
