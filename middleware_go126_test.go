//go:build go1.26

package errlog

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errlog composed with another handler by slog.NewMultiHandler (Go
// 1.26): MiddlewareWith names errlog's Handler, every setting applies,
// and the other handler sees every report too.
func TestMiddlewareSettingsThroughMultiHandler(t *testing.T) {
	t.Run("Handler in MiddlewareOptions", func(t *testing.T) {
		file, other := &syncBuffer{}, &syncBuffer{}
		eh, _, _, sink := newTestHandler(t, middlewareOptions(file))
		setDefaultHandler(t, slog.NewMultiHandler(eh, slog.NewTextHandler(other, nil)))
		mw := MiddlewareWith(MiddlewareOptions{Handler: eh})(middlewareApp())
		checkMiddlewareSettings(t, eh, sink, file, mw, func(t *testing.T, ev *event.Event) {
			assert.Contains(t, other.String(), "msg=\""+ev.Message()+"\"", "the other handler has the report")
		})
	})
	t.Run("a HandlerWrapper in a MultiHandler, MiddlewareWith", func(t *testing.T) {
		file, other := &syncBuffer{}, &syncBuffer{}
		eh, _, _, sink := newTestHandler(t, middlewareOptions(file))
		setDefaultHandler(t, slog.NewMultiHandler(addFieldWrapper{addField{eh}}, slog.NewTextHandler(other, nil)))
		mw := MiddlewareWith(MiddlewareOptions{Handler: eh})(middlewareApp())
		checkMiddlewareSettings(t, eh, sink, file, mw, wrappedField)
	})
}

// Middleware cannot see errlog's Handler inside a MultiHandler; it says
// so once, in the log errlog writes too.
func TestMiddlewareWarnsBehindMultiHandler(t *testing.T) {
	file, console := &syncBuffer{}, &syncBuffer{}
	o := middlewareOptions(file)
	o.Console, o.NoColor = console, true
	eh, _, _, _ := newTestHandler(t, o)
	setDefaultHandler(t, slog.NewMultiHandler(eh, slog.NewTextHandler(&syncBuffer{}, nil)))
	mw := Middleware(middlewareApp())
	serveOne(mw, "GET", "/missing", "")
	serveOne(mw, "GET", "/missing", "")
	flush(t, eh)
	assert.Equal(t, 1, strings.Count(console.String(), "does not lead to an errlog Handler"), console.String())
	assert.Contains(t, file.String(), "WARN", "the warning reaches the file too")
}

// Recover behind a MultiHandler flushes every open Handler before the
// program dies.
func TestRecoverFlushesBehindMultiHandler(t *testing.T) {
	sink := &delayedSink{}
	eh := NewHandler(Options{Console: &syncBuffer{}, Sinks: []EventSink{sink}})
	defer eh.Close(context.Background())
	setDefaultHandler(t, slog.NewMultiHandler(eh, slog.NewTextHandler(&syncBuffer{}, nil)))
	func() {
		defer func() { _ = recover() }()
		defer Recover(context.Background())
		panic("worker died")
	}()
	require.Equal(t, 1, sink.delivered(), "delivered before Recover panicked again")
}
