package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// The ID CaptureError and CaptureMessage return is the one the tracker
// receives (a real HTTP tracker, checked against the Sentry schema) and
// the one the mail shows (a real SMTP server), even through a wrapper.
func TestCaptureReturnsTheDeliveredEventID(t *testing.T) {
	trk := trackertest.NewFake(t)
	srv := startServer(t, serverOpts{})
	h := NewHandler(Options{
		Console:         io.Discard,
		Tracker:         &tracker.Options{DSN: trk.DSN(), MinBackoff: time.Millisecond},
		Mail:            &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}},
		OnDeliveryError: func(err error) { t.Logf("delivery error: %v", err) },
	})
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	// Wrapped as users compose handlers: the ID goes through.
	prev := slog.Default()
	slog.SetDefault(slog.New(&wrapID{h}))
	t.Cleanup(func() { slog.SetDefault(prev) })

	errID := CaptureError(context.Background(), errors.New("card declined"), "order", 7)
	msgID := CaptureMessage(context.Background(), "nightly job skipped")
	require.Regexp(t, hex32, errID)
	require.Regexp(t, hex32, msgID)
	require.NotEqual(t, errID, msgID)
	assert.Equal(t, "", CaptureError(context.Background(), nil), "a nil error is no event and has no ID")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Flush(ctx))

	var got []string
	for _, ev := range trk.Acked() {
		got = append(got, ev.EventID)
	}
	assert.ElementsMatch(t, []string{errID, msgID}, got, "the tracker receives the IDs the caller was given")

	mails := srv.WaitMails(t, 2, 5*time.Second)
	var mailed []string
	for _, m := range mails {
		pm := parseMail(t, m.Data)
		id := pm.Header.Get("X-Errlog-Event-Id")
		mailed = append(mailed, id)
		mustContain(t, "text", pm.Text, "Event ID: "+id)
		mustContain(t, "HTML", pm.HTML, id)
	}
	assert.ElementsMatch(t, []string{errID, msgID}, mailed, "each mail names the ID the caller was given")
}

// Through a Handler directly (no default logger), an event without a
// capture call gets an ID of its own, new for each event.
func TestEventIDsWithoutCapture(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	slog.New(h).Error("one")
	slog.New(h).Error("two")
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)
	assert.Regexp(t, hex32, evs[0].EventID)
	assert.NotEqual(t, evs[0].EventID, evs[1].EventID)
}

// wrapID is a one-line wrapper of the kind users write.
type wrapID struct{ slog.Handler }

func (w *wrapID) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("wrapped", "yes"))
	return w.Handler.Handle(ctx, r)
}
