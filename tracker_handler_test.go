package errlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
)

// TestSendEvent is not parallel: SendEvent reaches the tracker of every
// open Handler, those of parallel tests too.
func TestSendEvent(t *testing.T) {
	f := trackertest.NewFake(t)
	h := NewHandler(Options{Console: io.Discard, Tracker: &tracker.Options{DSN: f.DSN()}})
	f2 := trackertest.NewFake(t)
	h2 := NewHandler(Options{Console: io.Discard, Tracker: &tracker.Options{DSN: f2.DSN()}})
	f3 := trackertest.NewFake(t)
	alone, err := tracker.New(tracker.Options{DSN: f3.DSN()})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close(context.Background())
	id := SendEvent(&event.Event{Logentry: &event.Logentry{Formatted: "to all"}})
	for _, h := range []*Handler{h, h2} {
		if err := h.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	trackertest.Flush(t, alone)
	if len(id) != 32 || len(f.Acked()) != 1 || len(f2.Acked()) != 1 || f2.Acked()[0].EventID != id || f.Acked()[0].EventID != id {
		t.Errorf("SendEvent = %q; trackers received %d and %d events", id, len(f.Acked()), len(f2.Acked()))
	}
	if n := len(f3.Acked()); n != 0 {
		t.Errorf("a Tracker of its own received %d events from SendEvent; only Send reaches it", n)
	}
	h.Close(context.Background())
	h2.Close(context.Background())
	h2.Close(context.Background())
	if id := SendEvent(&event.Event{Logentry: &event.Logentry{Formatted: "to none"}}); id != "" {
		t.Errorf("SendEvent with every tracker closed = %q", id)
	}
}

// TestTrackerThroughHandler goes end to end: slog.ErrorContext in an HTTP
// handler behind the middleware, through New's chain, to the tracker, as
// an application uses it.
func TestTrackerThroughHandler(t *testing.T) {
	t.Parallel()
	f := trackertest.NewFake(t)
	log := &trackertest.ErrLog{}
	h := NewHandler(Options{
		Console:         io.Discard,
		Environment:     "production",
		Release:         "v2.0.0",
		OnDeliveryError: log.Add,
		Tracker:         &tracker.Options{DSN: f.DSN()},
	})
	defer h.Close(context.Background())
	logger := slog.New(h)

	bin := httptest.NewServer(h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, scope := WithScope(r.Context())
		scope.SetExtra("cart", 3)
		err := errors.Join(os.ErrNotExist, fmt.Errorf("charging: %w", os.ErrDeadlineExceeded))
		logger.ErrorContext(ctx, "checkout failed", "err", err, "password", "hunter2",
			slog.Group("user", "id", "7", "email", "ann@example.com"),
			slog.Group("tags", "region", "eu"))
		w.WriteHeader(http.StatusNoContent)
	})))
	defer bin.Close()
	resp, err := http.Get(bin.URL + "/checkout?step=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.Acked()
	if len(got) != 1 {
		t.Fatalf("tracker received %d events, want 1; reports %q", len(got), log.Strings())
	}
	ev := got[0]
	var types []string
	for _, ex := range ev.Exception {
		types = append(types, ex.Type)
	}
	if len(types) < 3 || types[len(types)-1] != "*errors.joinError" {
		t.Errorf("exception types %q, want the joined chain ending in *errors.joinError", types)
	}
	b, _ := json.Marshal(ev)
	switch {
	case ev.Message() != "checkout failed", ev.Level != event.LevelError:
		t.Errorf("message %q level %q", ev.Message(), ev.Level)
	case ev.Request == nil || !strings.HasSuffix(ev.Request.URL, "/checkout?step=2") && !strings.HasSuffix(ev.Request.URL, "/checkout"):
		t.Errorf("request %+v", ev.Request)
	case ev.User == nil || ev.User.ID != "7" || ev.User.Email != "ann@example.com":
		t.Errorf("user %+v", ev.User)
	case ev.Tags["region"] != "eu":
		t.Errorf("tags %v", ev.Tags)
	case ev.Extra["cart"] != 3.0:
		t.Errorf("extra %v", ev.Extra)
	case ev.Environment != "production" || ev.Release != "v2.0.0" || ev.ServerName == "" || ev.SDK == nil || ev.Platform != "go":
		t.Errorf("environment %q release %q server %q sdk %v", ev.Environment, ev.Release, ev.ServerName, ev.SDK)
	case len(ev.Frames()) == 0:
		t.Error("no stack trace")
	case strings.Contains(string(b), "hunter2"):
		t.Errorf("the password reached the tracker: %s", b)
	}
	if r := log.Strings(); len(r) != 0 {
		t.Errorf("reports %q", r)
	}
}
