package errlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unwrapOnly is an outer middleware's writer written the Go 1.20 way: it
// offers Unwrap for http.ResponseController, not the optional interfaces.
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// echoUpgrade switches to a line echo protocol over the hijacked
// connection; a failed hijack is answered 500.
func echoUpgrade(w http.ResponseWriter, r *http.Request) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	_ = brw.Flush()
	line, err := brw.ReadString('\n')
	if err != nil {
		return
	}
	fmt.Fprint(brw, line)
	_ = brw.Flush()
}

// Middleware's writer hijacks through what it wraps as
// http.ResponseController does, Unwrap included: an upgrade behind an
// outer middleware that offers only Unwrap works with errlog as without.
func TestMiddlewareHijacksThroughUnwrap(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	mw := h.Middleware(http.HandlerFunc(echoUpgrade))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.ServeHTTP(unwrapOnly{w}, r)
	}))
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	fmt.Fprint(conn, "GET /echo HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode, "the hijack failed")
	fmt.Fprint(conn, "ping\n")
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "ping\n", line, "the raw connection carries the new protocol")

	flush(t, h)
	assert.Empty(t, sink.all(), "a switch of protocols is no failure")
}

// refusingHijacker is a writer whose Hijack fails.
type refusingHijacker struct{ http.ResponseWriter }

func (refusingHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errors.New("connection not hijackable")
}

// A hijack that fails switches no protocols: the 500 the handler answers
// then is its status, and is reported.
func TestMiddlewareFailedHijackKeepsStatus(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	mw := h.Middleware(http.HandlerFunc(echoUpgrade))
	rec := httptest.NewRecorder()
	mw.ServeHTTP(refusingHijacker{rec}, httptest.NewRequest("GET", "/echo", nil))
	assert.Equal(t, http.StatusInternalServerError, rec.Code)

	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1)
	assert.Equal(t, "HTTP 500 Internal Server Error", evs[0].Message())
}
