package tracker

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/internal/trim"
	"github.com/errlog/errlog/wire/decode"
)

// Envelopes under 32 KiB go as they are (gzip would cost more CPU than
// anything else in their delivery); larger ones go gzipped. Either way
// the tracker reads the same event.
func TestTrackerGzipsLargeEnvelopesOnly(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string]string{} // event id → Content-Encoding
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decode.Body(r.Body, r.Header.Get("Content-Encoding"), 10<<20)
		if err != nil {
			t.Errorf("body: %v", err)
		}
		env, err := decode.Envelope(body)
		if err != nil || len(env.Items) != 1 {
			t.Errorf("envelope: %v", err)
			return
		}
		mu.Lock()
		got[env.Header.EventID] = r.Header.Get("Content-Encoding")
		mu.Unlock()
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	tr, err := New(Options{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1"})
	if err != nil {
		t.Fatal(err)
	}
	small := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Formatted: "small"}}
	large := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Formatted: "large"},
		Extra: map[string]any{}}
	for i := 0; i < 40; i++ {
		large.Extra[strings.Repeat("k", i+1)] = strings.Repeat("v", 1000)
	}
	tr.Send(small)
	tr.Send(large)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ce, ok := got[small.EventID]; !ok || ce != "" {
		t.Errorf("small event: arrived %v, Content-Encoding %q, want none", ok, ce)
	}
	if ce, ok := got[large.EventID]; !ok || ce != "gzip" {
		t.Errorf("large event: arrived %v, Content-Encoding %q, want gzip", ok, ce)
	}
}

// BenchmarkTrackerEncode is the tracker's cost on errlog's delivery
// goroutine per accepted event, before the queue: JSON (trimmed to fit if
// need be), and the envelope, gzipped from 32 KiB.
func BenchmarkTrackerEncode(b *testing.B) {
	ev := trackertest.Event(0)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		payload, ev, err := trim.Fit(ev, MaxEventBytes, encodeEvent)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := envelopeBody(ev, payload); err != nil {
			b.Fatal(err)
		}
	}
}
