package errlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sessionBuilder looks the session up, and logs at ERROR with the
// request's context when that fails, as application code does.
type sessionBuilder struct{ l *atomic.Pointer[slog.Logger] }

func (b sessionBuilder) BuildContext(r *http.Request) map[string]any {
	b.l.Load().ErrorContext(r.Context(), "session lookup failed")
	return map[string]any{"tenant": "acme"}
}

// A ContextBuilder that logs an error is a second event, without the
// request (which is being copied); the request's own event has the
// context. It used to hang the request (a sync.Once waiting for itself,
// under the lock Close takes), and Close with it.
func TestContextBuilderThatLogs(t *testing.T) {
	var l atomic.Pointer[slog.Logger]
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, ContextBuilder: sessionBuilder{&l}, Sinks: []EventSink{sink}})
	l.Store(slog.New(h))
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l.Load().ErrorContext(r.Context(), "checkout failed")
		})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/checkout", nil))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the request hangs")
	}
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)
	byMsg := map[string]int{evs[0].Message(): 0, evs[1].Message(): 1}
	require.Contains(t, byMsg, "checkout failed")
	require.Contains(t, byMsg, "session lookup failed")
	checkout, lookup := evs[byMsg["checkout failed"]], evs[byMsg["session lookup failed"]]
	require.NotNil(t, checkout.Request)
	assert.Contains(t, checkout.Request.URL, "/checkout")
	assert.Equal(t, map[string]any{"tenant": "acme"}, checkout.Contexts["request context"])
	assert.Nil(t, lookup.Request)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	assert.NoError(t, h.Close(ctx))
}

// CaptureError's ID names its own event only: an error the ContextBuilder
// logs while the captured error's request is copied is a second event with
// an ID of its own. It took the captured error's (the ID was in the
// context it was given): a tracker takes an event_id once, so the
// captured error was lost as a duplicate, and its ID found the wrong event.
func TestCaptureIDNotTakenByContextBuilderEvent(t *testing.T) {
	var l atomic.Pointer[slog.Logger]
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, ContextBuilder: sessionBuilder{&l}, Sinks: []EventSink{sink}})
	defer h.Close(context.Background())
	l.Store(slog.New(h))
	useDefault(t, h)
	var id string
	h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = CaptureError(r.Context(), errors.New("card declined"))
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/checkout", nil))
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)
	byID := map[string]string{}
	for _, ev := range evs {
		byID[ev.EventID] = ev.Message()
	}
	require.Len(t, byID, 2, "two events, two IDs")
	assert.Equal(t, "card declined", byID[id], "CaptureError's ID names the captured error's event")
}
