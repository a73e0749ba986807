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
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smplNotifier records the events a Notifier is told of.
type smplNotifier struct {
	mu  sync.Mutex
	evs []*event.Event
}

func (n *smplNotifier) Notify(_ context.Context, ev *event.Event) error {
	n.mu.Lock()
	n.evs = append(n.evs, ev)
	n.mu.Unlock()
	return nil
}

func (n *smplNotifier) all() []*event.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*event.Event(nil), n.evs...)
}

func smplIDs(evs []*event.Event) []string {
	ids := make([]string, 0, len(evs))
	for _, ev := range evs {
		ids = append(ids, ev.EventID)
	}
	sort.Strings(ids)
	return ids
}

// SampleRate keeps about its fraction of the events, and the tracker (a
// real HTTP one) and a sink receive the very same ones: the choice is
// made once, before any sink. What it leaves out is counted apart from
// losses.
func TestSampleRateOnceForEverySink(t *testing.T) {
	trk := trackertest.NewFake(t)
	trk.SetValidate(3)
	var reports []error
	var mu sync.Mutex
	h, console, _, sink := newTestHandler(t, Options{
		SampleRate: 0.5,
		Tracker:    &tracker.Options{DSN: trk.DSN(), MinBackoff: time.Millisecond},
		OnDeliveryError: func(err error) {
			mu.Lock()
			reports = append(reports, err)
			mu.Unlock()
		},
	})
	log := slog.New(h)
	const n = 400
	for i := 0; i < n; i++ {
		log.Error("failed", "i", i) // one group: the message is constant
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, h.Flush(ctx))

	kept := sink.all()
	// Binomial(400, 0.5): the standard deviation is 10; 140-260 is six.
	assert.InDelta(t, n/2, len(kept), 60, "kept %d of %d", len(kept), n)
	assert.Equal(t, uint64(n-len(kept)), h.Discarded(), "every event left out is counted")
	assert.Equal(t, uint64(0), h.Dropped(), "nothing was lost")
	assert.Equal(t, smplIDs(kept), smplIDs(trk.Acked()), "the tracker and the sink received the same events")
	assert.Equal(t, n, strings.Count(console.String(), "ERR failed"), "the console still shows every record")
	mu.Lock()
	assert.Empty(t, reports, "sampling is not a delivery error")
	mu.Unlock()
}

// The rate is exactly what the random draw is compared with; zero means
// every event; a rate out of range is reported and keeps every event.
func TestSampleRateValues(t *testing.T) {
	for _, tc := range []struct {
		rate     float64
		kept     int
		reported bool
	}{
		{0, 10, false},
		{1, 10, false},
		{0.3, 3, false}, // draws 0.0, 0.1, … 0.9: three are below 0.3
		{-0.5, 10, true},
		{1.5, 10, true},
	} {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			var reported []error
			var mu sync.Mutex
			h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, SampleRate: tc.rate,
				OnDeliveryError: func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }})
			draw := 0
			h.c.random = func() float64 { draw++; return float64(draw-1) / 10 }
			for i := 0; i < 10; i++ {
				slog.New(h).Error("x")
			}
			flush(t, h)
			assert.Len(t, sink.all(), tc.kept)
			assert.Equal(t, uint64(10-tc.kept), h.Discarded())
			mu.Lock()
			defer mu.Unlock()
			if tc.reported {
				require.Len(t, reported, 1)
				var de *DeliveryError
				require.True(t, errors.As(reported[0], &de))
				assert.Contains(t, de.Error(), "SampleRate")
			} else {
				assert.Empty(t, reported)
			}
		})
	}
}

// BeforeSend runs once per event, before every sink: what it changes,
// mail (a real .eml), a Notifier, the tracker (real HTTP) and a sink all
// see; what it drops, none of them does, and it is counted apart from
// losses. A panicking BeforeSend drops the event, counted and reported
// once.
func TestBeforeSendForEverySink(t *testing.T) {
	trk := trackertest.NewFake(t)
	dir := t.TempDir()
	notifier := &smplNotifier{}
	var calls int
	var reports []error
	var mu sync.Mutex
	h, _, _, sink := newTestHandler(t, Options{
		Console:   io.Discard,
		Tracker:   &tracker.Options{DSN: trk.DSN(), MinBackoff: time.Millisecond},
		Mail:      &MailOptions{Dir: dir},
		Notifiers: []Notifier{notifier},
		BeforeSend: func(ev *event.Event) *event.Event {
			calls++ // the delivery goroutine's alone: no lock needed
			switch ev.Message() {
			case "health check failed":
				return nil
			case "boom":
				panic("before send bug")
			}
			delete(ev.Extra, "card")
			if ev.Tags == nil {
				ev.Tags = map[string]string{}
			}
			ev.Tags["scrubbed"] = "yes"
			return ev
		},
		OnDeliveryError: func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() },
	})
	log := slog.New(h)
	log.Error("payment failed", "card", "4242424242424242", "order", 7)
	log.Error("health check failed")
	log.Error("boom")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Flush(ctx))

	assert.Equal(t, 3, calls, "BeforeSend runs once per event, not once per sink")
	assert.Equal(t, uint64(1), h.Discarded(), "the event BeforeSend dropped")
	assert.Equal(t, uint64(1), h.Dropped(), "the event lost to BeforeSend's panic is counted (it was not)")

	check := func(who string, evs []*event.Event) {
		t.Helper()
		require.Len(t, evs, 1, who)
		assert.Equal(t, "payment failed", evs[0].Message(), who)
		assert.Equal(t, "yes", evs[0].Tags["scrubbed"], who)
		assert.NotContains(t, evs[0].Extra, "card", who)
	}
	check("sink", sink.all())
	check("tracker", trk.Acked())
	check("notifier", notifier.all())
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.Len(t, files, 1, "one mail")
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	m := parseMail(t, b)
	mustContain(t, "mail", m.Text, "scrubbed: yes", "order: 7")
	mustNotContain(t, "mail", m.Text, "4242424242424242")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reports, 1, "the panic is reported")
	var de *DeliveryError
	require.True(t, errors.As(reports[0], &de))
	assert.Equal(t, "before send", de.Op)
	assert.Contains(t, de.Error(), "before send bug")
}

// BeforeSend may change the event it is given: a change stays in that
// event. The process's contexts and modules, and a request's part, were
// shared by every event: what BeforeSend added to one showed in all.
func TestBeforeSendChangesOneEvent(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, BeforeSend: func(ev *event.Event) *event.Event {
		if ev.Message() == "first" {
			ev.Contexts["runtime"]["only_first"] = "yes"
			delete(ev.Modules, "github.com/errlog/errlog")
			if ev.Request != nil {
				delete(ev.Request.Headers, "X-Debug")
			}
		}
		return ev
	}})
	log := slog.New(h)
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.ErrorContext(r.Context(), "first")
		log.ErrorContext(r.Context(), "second")
	}))
	req, err := http.NewRequest("GET", base+"/x", nil)
	require.NoError(t, err)
	req.Header.Set("X-Debug", "1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)
	first, second := evs[0], evs[1]
	if first.Message() != "first" {
		first, second = second, first
	}
	assert.Equal(t, "yes", first.Contexts["runtime"]["only_first"])
	assert.NotContains(t, second.Contexts["runtime"], "only_first")
	assert.Contains(t, second.Modules, "github.com/errlog/errlog")
	assert.NotContains(t, first.Request.Headers, "X-Debug")
	assert.Equal(t, "1", second.Request.Headers["X-Debug"])
}

// marshalTicketer reads each event it is given on the mail sink's worker,
// as a ticketer that posts it does, while BeforeSend works on the next.
type marshalTicketer struct{}

func (marshalTicketer) RaiseTicket(ctx context.Context, ev *event.Event) error {
	for i := 0; i < 20; i++ {
		_, _ = json.Marshal(ev)
	}
	return nil
}

// A BeforeSend that filters a request's header no longer writes the map a
// ticketer is still encoding for the request's previous event (a data
// race, which can end the process: concurrent map read and map write).
func TestBeforeSendNoRaceWithSinks(t *testing.T) {
	h, _, _, _ := newTestHandler(t, Options{Console: io.Discard, Ticketers: []Ticketer{marshalTicketer{}}, BeforeSend: func(ev *event.Event) *event.Event {
		if ev.Request != nil {
			delete(ev.Request.Headers, "X-Debug")
		}
		return ev
	}})
	log := slog.New(h)
	app := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta"} {
			log.ErrorContext(r.Context(), m+" failed")
		}
	}))
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("X-Debug", "1")
	app.ServeHTTP(httptest.NewRecorder(), req)
	flush(t, h)
}
