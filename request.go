package errlog

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/record"
	"github.com/errlog/errlog/internal/values"
)

// requestInfo is what Middleware records of a request, once per request;
// every record logged with the request's context points to it.
type requestInfo struct {
	// Request is the method, URL and remote address, as the text sinks
	// show them; set before the application's handler runs, never changed.
	// It makes a requestInfo a record.Requester, which the log file finds
	// in a context.
	record.Request

	r *http.Request
	// header is the request's headers as they came, copied before the
	// handler runs: the first event may be logged on a goroutine of the
	// handler's while the handler changes r.Header, and copying that map
	// then crashed the program (concurrent map iteration and write).
	header      http.Header
	body        *teeBody // what the handler read of a form, JSON or text body; nil for others
	contentType string
	builder     ContextBuilder
	// reported is set when a record at ErrorLevel was logged in the
	// request: its failure is reported, and Middleware does not report
	// the tracked status as a second event.
	reported atomic.Bool

	once sync.Once
	snap *requestSnapshot
}

// requestFromContext returns the request Middleware put in ctx, or nil.
func requestFromContext(ctx context.Context) *requestInfo {
	ri, _ := record.RequestFrom(ctx).(*requestInfo)
	return ri
}

// requestSnapshot is a request as it was when its first event was logged,
// copied on the request's own goroutine so that the delivery goroutine
// reads no state the handler may still change.
type requestSnapshot struct {
	method, url, query, remoteAddr, route, proto, host string
	header                                             http.Header
	body                                               []byte
	bodyCut                                            bool // more than body was read
	bodyPartial                                        bool // the handler did not read to the end
	contentType                                        string
	context                                            map[string]any // a copy

	once          sync.Once
	ev            *event.Request // built and masked once, on the delivery goroutine
	user          *event.User
	maskedContext map[string]any
}

// snapshot copies the request once; later events of the same request
// share the copy.
//
// The ContextBuilder sees the request with ctx, the context of the first
// event: values that inner middleware added (the signed-in user) are in it.
func (ri *requestInfo) snapshot(ctx context.Context) *requestSnapshot {
	if ctx.Value(buildingContext{}) != nil {
		// An event the ContextBuilder logs, with its request's context:
		// it goes without the request, which is being copied.
		return nil
	}
	ri.once.Do(func() {
		r := ri.r
		s := &requestSnapshot{
			method:      ri.Method,
			url:         ri.URL,
			remoteAddr:  ri.RemoteAddr,
			contentType: ri.contentType,
		}
		if ri.body != nil {
			s.body, s.bodyCut, s.bodyPartial = ri.body.captured()
		}
		if r != nil {
			s.query = r.URL.RawQuery
			s.route = routeOf(r)
			s.proto = r.Proto
			s.host = r.Host
			s.header = ri.header
			if ri.builder != nil {
				// Copied now, on the request's goroutine: the map is the
				// application's, and may change after this.
				s.context, _ = values.JSON(buildContext(ri.builder, r.WithContext(builderContext(ctx)))).(map[string]any)
			}
		}
		ri.snap = s
	})
	return ri.snap
}

// buildingContext marks the context of the request a ContextBuilder is
// given, whose events must not copy the request again (sync.Once would
// wait for itself).
type buildingContext struct{}

// builderContext is ctx for a ContextBuilder: marked, and without the
// event ID a capture function put in it, which an event the builder logs
// would take too (two events with one ID, the captured one then refused
// as a duplicate by a tracker).
func builderContext(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, buildingContext{}, true)
	if eventIDFrom(ctx) != "" {
		ctx = context.WithValue(ctx, eventIDKey{}, "")
	}
	return ctx
}

// buildContext calls a user's ContextBuilder; a panic in it costs the
// event its context, not the application its request.
func buildContext(b ContextBuilder, r *http.Request) (m map[string]any) {
	defer func() {
		if p := recover(); p != nil {
			m = map[string]any{"error": "ContextBuilder panicked: " + values.Text(p)}
		}
	}()
	return b.BuildContext(r)
}

// newRequestInfo records r. The body is never read on the handler's
// behalf: a full-duplex client waits for the reply before it sends the
// rest, and a client that sent "Expect: 100-continue" must not be told to
// go on when the handler refuses the request unread. Instead, what the
// handler reads of a form, JSON or text body, up to maxBody bytes, is
// kept as it goes by (a bounded tee), and events show that.
func newRequestInfo(r *http.Request, maxBody int, b ContextBuilder, m *masker) *requestInfo {
	ri := &requestInfo{
		Request: record.Request{Method: r.Method, URL: absoluteURL(r, m), RemoteAddr: r.RemoteAddr},
		header:  r.Header.Clone(),
		builder: b,
	}
	if r.Body == nil || r.Body == http.NoBody {
		return ri
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !capturedBody(ct) {
		return ri
	}
	ri.contentType = ct
	// The caller puts the tee on its copy of r: net/http's server looks at
	// its own request's Body after the handler (an unread body behind
	// "Expect: 100-continue" closes the connection instead of being read).
	ri.body = &teeBody{ReadCloser: r.Body, max: maxBody}
	return ri
}

func capturedBody(ct string) bool {
	return ct == "application/x-www-form-urlencoded" || ct == "application/json" ||
		strings.HasSuffix(ct, "+json") || strings.HasPrefix(ct, "text/")
}

// teeBody keeps the first max bytes the handler reads of a request body.
type teeBody struct {
	io.ReadCloser
	max int

	mu   sync.Mutex
	buf  []byte
	cut  bool // more than max bytes were read
	done bool // read to the end
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.mu.Lock()
	if room := t.max - len(t.buf); n > room {
		t.buf = append(t.buf, p[:max(room, 0)]...)
		t.cut = true
	} else {
		t.buf = append(t.buf, p[:n]...)
	}
	if err == io.EOF {
		t.done = true
	}
	t.mu.Unlock()
	return n, err
}

// captured returns a copy of what was read so far; cut reports that more
// was read than kept, partial that the handler stopped before the end.
func (t *teeBody) captured() (body []byte, cut, partial bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf), t.cut, !t.done
}

// absoluteURL rebuilds the URL the client asked for: scheme and host
// included, which a server-side *url.URL lacks, and secret query
// parameters masked, since %(url)s prints it in the file.
func absoluteURL(r *http.Request, m *masker) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p // only shown in reports, so a proxy's word is enough
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	u := scheme + "://" + host + m.scrub(r.URL.EscapedPath())
	if r.URL.RawQuery != "" {
		u += "?" + m.maskQuery(r.URL.RawQuery)
	}
	return u
}
