package errlog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/errlog/errlog/internal/sentryschema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errors.Join and several %w go out as a Sentry exception group: a tree
// a tracker can draw, ids counted from 0 for the last entry.
func TestExceptionGroups(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	errA := errors.New("disk full")
	errB := fmt.Errorf("flush cache: %w", io.ErrShortWrite)
	joined := fmt.Errorf("save order 7: %w", errors.Join(errA, errB))
	slog.New(h).Error("save failed", "err", joined)
	flush(t, h)
	ev := sink.all()[0]
	raw, err := ev.MarshalJSON()
	require.NoError(t, err)
	require.NoError(t, sentryschema.Validate(raw))

	exs := ev.Exception
	require.Len(t, exs, 5)
	type node struct {
		typ, value string
		id, parent int
		group      bool
	}
	var got []node
	for _, ex := range exs {
		require.NotNil(t, ex.Mechanism)
		require.NotNil(t, ex.Mechanism.ExceptionID)
		n := node{typ: ex.Type, value: ex.Value, id: *ex.Mechanism.ExceptionID, parent: -1, group: ex.Mechanism.IsExceptionGroup}
		if ex.Mechanism.ParentID != nil {
			n.parent = *ex.Mechanism.ParentID
		}
		got = append(got, n)
	}
	assert.Equal(t, []node{
		{"*errors.errorString", "short write", 4, 3, false},
		{"*fmt.wrapError", "flush cache: short write", 3, 1, false},
		{"*errors.errorString", "disk full", 2, 1, false},
		{"*errors.joinError", "disk full\nflush cache: short write", 1, 0, true},
		{"*fmt.wrapError", "save order 7: disk full\nflush cache: short write", 0, -1, false},
	}, got)
	assert.Equal(t, "slog", exs[4].Mechanism.Type, "the outermost keeps its mechanism")
	assert.Equal(t, "Unwrap()[1]", exs[1].Mechanism.Source)
	assert.NotNil(t, exs[4].Stacktrace)

	// A plain chain stays a plain chain.
	slog.New(h).Error("x", "err", fmt.Errorf("a: %w", io.EOF))
	flush(t, h)
	for _, ex := range sink.all()[1].Exception {
		if ex.Mechanism != nil {
			assert.Nil(t, ex.Mechanism.ExceptionID)
		}
	}
}

type panickyUnwrap struct{}

func (panickyUnwrap) Error() string { return "broken wrapper" }
func (panickyUnwrap) Unwrap() error { panic("unwrap exploded") }

// An error whose Unwrap panics is shown with "!PANIC: …", and the event
// still reaches the sinks (it used to be lost whole).
func TestExceptionUnwrapPanics(t *testing.T) {
	var reported []error
	h, console, _, sink := newTestHandler(t, Options{OnDeliveryError: func(err error) { reported = append(reported, err) }})
	slog.New(h).Error("load failed", "err", fmt.Errorf("load: %w", panickyUnwrap{}))
	flush(t, h)
	require.Len(t, sink.all(), 1)
	assert.Empty(t, reported)
	exs := sink.all()[0].Exception
	require.Len(t, exs, 3)
	assert.Equal(t, "!PANIC: unwrap exploded", exs[0].Value)
	assert.Equal(t, "errlog.panickyUnwrap.Unwrap", exs[0].Type)
	assert.Equal(t, "broken wrapper", exs[1].Value)
	assert.Contains(t, console.String(), "load: broken wrapper")
}

// REMOTE_ADDR is the client's IP, without the port; user.ip_address is set
// only when the application opts into sending personal data.
func TestRemoteAddrAndPII(t *testing.T) {
	for _, pii := range []bool{false, true} {
		h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, SendDefaultPII: pii})
		base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			slog.New(h).ErrorContext(r.Context(), "x")
		}))
		resp, err := http.Get(base)
		require.NoError(t, err)
		resp.Body.Close()
		flush(t, h)
		ev := sink.all()[0]
		assert.Equal(t, "127.0.0.1", ev.Request.Env["REMOTE_ADDR"])
		if pii {
			require.NotNil(t, ev.User)
			assert.Equal(t, "127.0.0.1", ev.User.IPAddress)
		} else {
			assert.Nil(t, ev.User)
		}
	}
}
