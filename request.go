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
)

// requestInfo is what Middleware records of a request, once per request;
// every record logged with the request's context points to it.
type requestInfo struct {
	// Method, URL (absolute: scheme and host included, secret query
	// parameters masked) and RemoteAddr are set before the application's
	// handler runs and never change.
	Method, URL, RemoteAddr string

	r           *http.Request
	body        []byte // the first MaxBodyBytes of a form or JSON body
	bodyCut     bool   // the body was longer than body
	contentType string
	builder     ContextBuilder
	// reported is set when a record at ErrorLevel was logged in the
	// request: its failure is reported, and Middleware does not report
	// the tracked status as a second event.
	reported atomic.Bool

	once sync.Once
	snap *requestSnapshot
}

type requestKey struct{}

// requestFromContext returns the request Middleware put in ctx, or nil.
func requestFromContext(ctx context.Context) *requestInfo {
	if ctx == nil {
		return nil
	}
	ri, _ := ctx.Value(requestKey{}).(*requestInfo)
	return ri
}

// recordExtras is what the handler chain knows of a record beyond
// slog.Record, computed once and shared by every text sink.
type recordExtras struct {
	// req is the request the record was logged in, nil outside one.
	req *requestInfo
	// stack is the stack trace, caller to callee; nil below ErrorLevel.
	stack []event.Frame
}

// requestSnapshot is a request as it was when its first event was logged,
// copied on the request's own goroutine so that the delivery goroutine
// reads no state the handler may still change.
type requestSnapshot struct {
	method, url, query, remoteAddr, route, proto, host string
	header                                             http.Header
	body                                               []byte
	bodyCut                                            bool
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
	ri.once.Do(func() {
		r := ri.r
		s := &requestSnapshot{
			method:      ri.Method,
			url:         ri.URL,
			remoteAddr:  ri.RemoteAddr,
			body:        ri.body,
			bodyCut:     ri.bodyCut,
			contentType: ri.contentType,
		}
		if r != nil {
			s.query = r.URL.RawQuery
			s.route = routeOf(r)
			s.proto = r.Proto
			s.host = r.Host
			s.header = r.Header.Clone()
			if ri.builder != nil {
				// Copied now, on the request's goroutine: the map is the
				// application's, and may change after this.
				s.context, _ = jsonValue(buildContext(ri.builder, r.WithContext(ctx))).(map[string]any)
			}
		}
		ri.snap = s
	})
	return ri.snap
}

// buildContext calls a user's ContextBuilder; a panic in it costs the
// event its context, not the application its request.
func buildContext(b ContextBuilder, r *http.Request) (m map[string]any) {
	defer func() {
		if p := recover(); p != nil {
			m = map[string]any{"error": "ContextBuilder panicked: " + safeText(p)}
		}
	}()
	return b.BuildContext(r)
}

// newRequestInfo records r. A form or JSON body up to maxBody bytes is
// read now, so that an event can show it whatever the handler does with
// it, and put back so that the handler still reads all of it.
func newRequestInfo(r *http.Request, maxBody int, b ContextBuilder, m *masker) *requestInfo {
	ri := &requestInfo{
		Method:     r.Method,
		URL:        absoluteURL(r, m),
		RemoteAddr: r.RemoteAddr,
		builder:    b,
	}
	if r.Body == nil || r.Body == http.NoBody {
		return ri
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !capturedBody(ct) {
		return ri
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, int64(maxBody)+1))
	ri.contentType = ct
	ri.body = buf
	if len(buf) > maxBody {
		ri.body, ri.bodyCut = buf[:maxBody], true
	}
	rest := io.Reader(r.Body)
	if err != nil {
		rest = errReader{err}
	}
	r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), rest), r.Body}
	return ri
}

func capturedBody(ct string) bool {
	return ct == "application/x-www-form-urlencoded" || ct == "application/json" ||
		strings.HasSuffix(ct, "+json") || strings.HasPrefix(ct, "text/")
}

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

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
	u := scheme + "://" + host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + m.maskQuery(r.URL.RawQuery)
	}
	return u
}
