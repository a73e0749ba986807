package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/logfile"
)

// nowClock is the system's timers with now as the time of day, for tests
// whose local variables are named clock.
func nowClock(now func() time.Time) clock.Clock { return clock.WithNow(now) }

// One clock drives a whole Handler: the capture API's timestamps, the
// event's, the mail file's name and the digest window's timer. Nothing
// here waits for real time to pass.
func TestHandlerOneClock(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC)
	fake := clock.NewFake(t0)
	dir := t.TempDir()
	sink := &captureSink{}
	rec := &errRecorder{}
	h := NewHandler(Options{
		Console:         io.Discard,
		Mail:            &MailOptions{Dir: dir, To: []string{"ops@example.com"}},
		Sinks:           []EventSink{sink},
		OnDeliveryError: rec.add,
		clock:           fake,
	})
	defer h.Close(context.Background())
	id := capture(context.Background(), h, errors.New("boom"), nil)
	for i := 0; i < 2; i++ {
		slog.New(h).Error("boom") // one group: a first mail, then a digest
	}
	mails := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		return m
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s in 5s", what)
			}
		}
	}
	waitFor("first mails", func() bool { return len(mails()) == 2 })
	waitFor("events", func() bool { return len(sink.all()) == 3 })
	if ev := sink.all()[0]; ev.EventID != id || !ev.Timestamp.Equal(t0) {
		t.Errorf("CaptureError's event %s at %v, want %s at the fake clock's %v", ev.EventID, ev.Timestamp, id, t0)
	}
	if name := filepath.Base(mails()[0]); name[:15] != "20240501T140000" {
		t.Errorf("mail file %q is not named by the fake clock", name)
	}
	// The digest of the repeat is due when the window ends on the fake
	// clock, not before, and without a Flush.
	fake.Advance(DefaultMailWindow - time.Second)
	if n := len(mails()); n != 2 {
		t.Fatalf("%d mails before the window ended, want 2", n)
	}
	fake.Advance(DefaultMailWindow / 10)
	waitFor("digest", func() bool { return len(mails()) == 3 })
	if errs := rec.all(); len(errs) > 0 {
		t.Errorf("reports: %v", errs)
	}
}

// resolveOptions resolves every default into a copy: the caller's Options
// are untouched, and the copy's values are the documented ones.
func TestOptionsWithDefaults(t *testing.T) {
	var o Options
	r := resolveOptions(o)
	d := r.Options
	if o.Now != nil || o.clock != nil || o.QueueSize != 0 || o.TrackedStatus != nil || o.OnDeliveryError != nil || o.ErrorLevel != nil {
		t.Fatalf("resolveOptions wrote into the caller's Options: %+v", o)
	}
	rec := slog.NewRecord(time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC), slog.LevelError, "m", 0)
	def, _ := logfile.NewFormatter(logfile.DefaultFormat, "")
	if d.QueueSize != 1024 || r.shared.QueueSize != 1024 || d.MaxBodyBytes != 64<<10 || d.MaxValueBytes != DefaultMaxValueBytes ||
		d.ErrorLevel != slog.LevelError || d.Level != slog.LevelInfo || r.format.Format(rec) != def.Format(rec) ||
		len(d.TrackedStatus) != 1 || d.TrackedStatus[0] != (StatusRange{500, 599}) ||
		d.Now == nil || d.clock == nil || d.OnDeliveryError == nil {
		t.Errorf("resolved Options: %+v", d)
	}
	// Each copy gets its own TrackedStatus: changing one changes no other.
	d.TrackedStatus[0].From = 400
	if o.withDefaults().TrackedStatus[0].From != 500 {
		t.Error("the default TrackedStatus is shared")
	}
	// Now alone is the time of day of the resolved clock.
	t0 := time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC)
	if got := (Options{Now: func() time.Time { return t0 }}).withDefaults(); !got.clock.Now().Equal(t0) || !got.Now().Equal(t0) {
		t.Errorf("Options.Now not the clock's: %v", got.clock.Now())
	}
	h := NewHandler(Options{Console: io.Discard})
	defer h.Close(context.Background())
	if h.c.opts.QueueSize != 1024 || h.c.opts.clock == nil {
		t.Errorf("NewHandler's Options not resolved: %+v", h.c.opts)
	}
}
