package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
)

// A mail with a 5 MB attribute key is cut to MaxMailBytes, with a note,
// and the small mails logged after it arrive too.
func TestHugeMailIsCutAndDoesNotBlockTheRest(t *testing.T) {
	srv := startServer(t, serverOpts{})
	h := NewHandler(Options{
		Console:         io.Discard,
		Mail:            &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}, Timeout: 2 * time.Second},
		MaxValueBytes:   -1, // no per-value bound: the mail's own bound must cut it
		OnDeliveryError: func(err error) { t.Log(err) },
	})
	logger := slog.New(h)
	logger.Error("huge", strings.Repeat("k", 5<<20), "v", "many", strings.Repeat("x", 300<<10))
	for _, msg := range []string{"small one", "small two", "small three"} {
		logger.Error(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mails := srv.Mails()
	if len(mails) != 4 {
		t.Fatalf("%d mails, want 4", len(mails))
	}
	var cut int
	for _, m := range mails {
		if len(m.Data) > MaxMailBytes+4096 {
			t.Errorf("a mail of %d bytes, over MaxMailBytes", len(m.Data))
		}
		if strings.Contains(string(m.Data), "mail cut from") {
			cut++
		}
	}
	if cut != 1 {
		t.Errorf("%d mails say they were cut, want 1", cut)
	}
}

// An event over Sentry's 1 MiB limit is trimmed before sending, with a
// note, instead of being refused with 413.
func TestTrackerTrimsEventOverLimit(t *testing.T) {
	f := trackertest.NewFake(t)
	h := NewHandler(Options{
		Console:         io.Discard,
		Tracker:         &tracker.Options{DSN: f.DSN()},
		MaxValueBytes:   -1,
		OnDeliveryError: func(err error) { t.Error(err) },
	})
	slog.New(h).Error("big", strings.Repeat("k", 2<<20), 1, "blob", strings.Repeat("y", 3<<20))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	evs := f.Acked()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	b, _ := evs[0].MarshalJSON()
	if len(b) > tracker.MaxEventBytes {
		t.Errorf("event of %d bytes arrived", len(b))
	}
	if note, _ := evs[0].Extra["errlog"].(string); !strings.Contains(note, "event cut from") {
		t.Errorf("extra %q lacks the note", evs[0].Extra["errlog"])
	}
}

// A mail the server does not take in time (here: it stalls after the
// data of the first mail, three times) is moved behind the others, which
// arrive; it follows once the server takes it.
func TestMailTimingOutDoesNotBlockTheRest(t *testing.T) {
	srv := startServer(t, serverOpts{})
	var datas atomic.Int32
	srv.SetHook(func(stage string) error {
		if stage == "DATA" && datas.Add(1) <= 3 {
			time.Sleep(time.Second) // past the client's 300 ms
			return errors.New("too late")
		}
		return nil
	})
	rec := &errRecorder{}
	s := newTestSink(t, &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}, Timeout: 300 * time.Millisecond},
		testEnv(rec), capped(-1), nil, nil)
	for i := 0; i < 4; i++ {
		s.Deliver(mailEventN(i))
	}
	mails := srv.WaitMails(t, 4, 15*time.Second)
	var order []string
	for _, m := range mails {
		order = append(order, parseMail(t, m.Data).Subject)
	}
	if !strings.Contains(order[3], "job 0 failed") {
		t.Errorf("mails arrived in the order %q, want job 0's last", order)
	}
	found := false
	for _, err := range rec.all() {
		found = found || strings.Contains(err.Error(), "timed out 3 times; sending the 3 items behind it first")
	}
	if !found {
		t.Errorf("reports %v do not say the mail was moved", rec.all())
	}
}
