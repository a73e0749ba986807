package errlog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/logfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve runs mux behind h's middleware on a real server and returns its URL.
func serve(t *testing.T, h *Handler, mux http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMiddlewareCapturesRequest(t *testing.T) {
	h, _, file, sink := newTestHandler(t, Options{
		Console: io.Discard,
		File:    nil,
	})
	_ = file
	var bodySeen string
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodySeen = string(b)
		slog.New(h).ErrorContext(r.Context(), "login failed", "user_id", 7)
		w.WriteHeader(http.StatusUnauthorized)
	})
	base := serve(t, h, mux)

	form := url.Values{"username": {"ann"}, "password": {"hunter2"}, "remember": {"1", "2"}}
	req, _ := http.NewRequest("POST", base+"/login?next=%2Fhome&api_key=abc123", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer s3cr3t")
	req.Header.Set("X-Request-Id", "r-1")
	req.AddCookie(&http.Cookie{Name: "session_secret", Value: "cookie-secret"})
	req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)

	assert.Equal(t, form.Encode(), bodySeen, "the handler still reads the whole body")
	evs := sink.all()
	require.Len(t, evs, 1, "401 is not tracked by default: only the logged error is an event")
	rq := evs[0].Request
	require.NotNil(t, rq)
	assert.Equal(t, "POST", rq.Method)
	assert.Equal(t, base+"/login", rq.URL)
	assert.Equal(t, "next=%2Fhome&api_key=**************", rq.QueryString)
	assert.Equal(t, map[string]any{"username": "ann", "password": DefaultMaskWith, "remember": []string{"1", "2"}}, rq.Data)
	assert.Equal(t, DefaultMaskWith, rq.Headers["Authorization"])
	assert.Equal(t, DefaultMaskWith, rq.Headers["Cookie"])
	assert.Equal(t, "r-1", rq.Headers["X-Request-Id"])
	assert.Equal(t, map[string]string{"session_secret": DefaultMaskWith, "theme": DefaultMaskWith}, rq.Cookies, "every cookie value is masked by default")
	assert.Equal(t, "127.0.0.1", rq.Env["REMOTE_ADDR"], "the IP, without the port")
}

func TestMiddlewareJSONBodyMasked(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v any
		_ = json.NewDecoder(r.Body).Decode(&v) // a decoder stops at the value's end, not at EOF
		slog.New(h).ErrorContext(r.Context(), "bad item")
	}))
	body := `{"name":"x","opts":{"Secret_Token":"t"},"list":[{"password":"p"}]}`
	resp, err := http.Post(base+"/api/items/9", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)
	ev := sink.all()[0]
	assert.Equal(t, map[string]any{
		"name": "x",
		"opts": map[string]any{"Secret_Token": DefaultMaskWith},
		"list": []any{map[string]any{"password": DefaultMaskWith}},
	}, ev.Request.Data)
}

func TestMiddlewareBodyBoundedAndWithheld(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, MaxBodyBytes: 16})
	var n int
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n = len(b)
		slog.New(h).ErrorContext(r.Context(), "big")
	}))
	body := `{"password":"` + strings.Repeat("x", 100) + `"}`
	resp, err := http.Post(base, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)
	assert.Equal(t, len(body), n, "the handler reads the whole body, past the captured part")
	data, _ := sink.all()[0].Request.Data.(string)
	assert.Contains(t, data, "withheld", "a cut body that names a secret is not shown")
	assert.NotContains(t, data, "xxxx")
}

func TestMiddlewarePanic(t *testing.T) {
	h, console, _, sink := newTestHandler(t, Options{})
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panicky()
	}))
	resp, err := http.Get(base + "/boom")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	flush(t, h)

	evs := sink.all()
	require.Len(t, evs, 1, "a recovered panic is one event, not also a tracked 500")
	ev := evs[0]
	require.NotEmpty(t, ev.Exception)
	ex := ev.Exception[len(ev.Exception)-1]
	assert.Equal(t, "string", ex.Type, "the panic value's own type, never errlog's wrapper")
	assert.Equal(t, "nil map write", ex.Value)
	assert.Len(t, ev.Exception, 1)
	require.NotNil(t, ex.Mechanism)
	assert.Equal(t, "panic", ex.Mechanism.Type)
	frames := ev.Frames()
	require.NotEmpty(t, frames)
	assert.Equal(t, "panicky", frames[len(frames)-1].Function, "the stack is the panicking goroutine's, from the panicking function")
	assert.Equal(t, "GET", ev.Request.Method)
	assert.Contains(t, console.String(), "panic: nil map write")
}

func panicky() { panic("nil map write") }

func TestMiddlewareRepanic(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, Repanic: true})
	mw := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("again") }))
	rec := httptest.NewRecorder()
	assert.PanicsWithValue(t, "again", func() {
		mw.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	})
	flush(t, h)
	assert.Len(t, sink.all(), 1)
}

func TestMiddlewareTrackedStatus(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, TrackedStatus: []StatusRange{{404, 404}, {500, 599}}})
	mux := http.NewServeMux()
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusBadGateway)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") })
	base := serve(t, h, mux)
	for _, p := range []string{"/fail", "/ok", "/missing"} {
		resp, err := http.Get(base + p)
		require.NoError(t, err)
		resp.Body.Close()
	}
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 2)
	assert.Equal(t, "HTTP 502 Bad Gateway", evs[0].Message())
	assert.Equal(t, int64(502), evs[0].Extra["status"])
	assert.Equal(t, "HTTP 404 Not Found", evs[1].Message())
	assert.Empty(t, evs[0].Frames(), "no stack: Middleware's own frames would say nothing")
}

type ctxBuilder struct{}

func (ctxBuilder) BuildContext(r *http.Request) map[string]any {
	return map[string]any{"tenant": r.Header.Get("X-Tenant"), "user": map[string]any{"id": "u-9"}, "api_secret": "s"}
}

func TestMiddlewareContextBuilderAndScope(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, ContextBuilder: ctxBuilder{}})
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ScopeFrom(r.Context()).SetExtra("cart", 3)
		slog.New(h).ErrorContext(r.Context(), "checkout failed")
	}))
	req, _ := http.NewRequest("GET", base+"/checkout", nil)
	req.Header.Set("X-Tenant", "acme")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)
	ev := sink.all()[0]
	assert.Equal(t, "acme", ev.Contexts["request context"]["tenant"])
	assert.Equal(t, DefaultMaskWith, ev.Contexts["request context"]["api_secret"])
	require.NotNil(t, ev.User)
	assert.Equal(t, "u-9", ev.User.ID)
	assert.Equal(t, int64(3), ev.Extra["cart"])
}

func TestMiddlewareDefaultLoggerAndFlusher(t *testing.T) {
	sink := &captureSink{}
	h := NewHandler(Options{Console: io.Discard, Sinks: []EventSink{sink}})
	defer h.Close(context.Background())
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	defer slog.SetDefault(prev)

	srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := w.(http.Flusher)
		assert.True(t, ok, "streaming handlers still find a Flusher")
		slog.ErrorContext(r.Context(), "through the default logger")
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/x?q=1")
	require.NoError(t, err)
	resp.Body.Close()
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1)
	assert.Equal(t, "q=1", evs[0].Request.QueryString)
	assert.Equal(t, srv.URL+"/x", evs[0].Request.URL)
}

func TestRequestFieldsInFileTemplate(t *testing.T) {
	h, _, file, _ := newTestHandler(t, Options{
		Console: io.Discard,
		File:    &logfile.Options{Writer: &syncBuffer{}, Format: "%(method)s %(url)s %(remote_addr)s: %(message)s"},
	})
	_ = file
	buf := h.c.opts.File.Writer.(*syncBuffer)
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).WarnContext(r.Context(), "slow")
	}))
	resp, err := http.Get(base + "/a?b=c")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Regexp(t, `^GET `+base+`/a\?b=c 127\.0\.0\.1:\d+: slow`, buf.String())
}

func TestParseStatusRanges(t *testing.T) {
	rs, err := ParseStatusRanges("400-499, 500-599,404")
	require.NoError(t, err)
	assert.Equal(t, []StatusRange{{400, 499}, {500, 599}, {404, 404}}, rs)
	for _, bad := range []string{"abc", "500-4", "99", "500-x"} {
		_, err := ParseStatusRanges(bad)
		assert.Error(t, err, bad)
	}
	// A range written backwards says so, and how to write it.
	_, err = ParseStatusRanges("500-400")
	require.Error(t, err)
	assert.Equal(t, `status range "500-400" is reversed: write 400-500`, err.Error())
	_, err = ParseStatusRanges("500-4")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not within 100-999", "4 is no status, whatever the order")
}

var _ = event.LevelError

type userKey struct{}

type userFromContext struct{}

func (userFromContext) BuildContext(r *http.Request) map[string]any {
	u, _ := r.Context().Value(userKey{}).(string)
	return map[string]any{"user": map[string]any{"id": u}}
}

// The ContextBuilder sees what inner middleware put in the request's
// context (the signed-in user), not only the request as it came in.
func TestContextBuilderSeesInnerContext(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, ContextBuilder: userFromContext{}})
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, "ann")))
		})
	}
	app := h.Middleware(auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).ErrorContext(r.Context(), "x")
	})))
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	flush(t, h)
	require.NotNil(t, sink.all()[0].User)
	assert.Equal(t, "ann", sink.all()[0].User.ID)
}

// Without a route (Go before 1.23, or a router that does not set
// Request.Pattern), the path is parameterized for the group: every order
// that fails is one group, not one each, a flood of first-occurrence
// mails.
func TestTrackedStatusGroupsByParameterizedPath(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{})
	app := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	for _, p := range []string{"/orders/17", "/orders/18", "/orders/3f2b8c1e-9d4a-4c5e-8f7a-1234567890ab", "/users/ann"} {
		app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 4)
	assert.Equal(t, []string{"errlog.http-status", "500", "/orders/<int>"}, evs[0].Fingerprint)
	assert.Equal(t, evs[0].GroupKey(), evs[1].GroupKey())
	assert.Equal(t, []string{"errlog.http-status", "500", "/orders/<uuid>"}, evs[2].Fingerprint)
	assert.NotEqual(t, evs[0].GroupKey(), evs[3].GroupKey())
	assert.Contains(t, evs[1].Request.URL, "/orders/18", "the event keeps its URL")
}

// Each failing path is its own group, so that a second endpoint that
// starts failing is a new issue (a first-occurrence mail), not a repeat.
func TestTrackedStatusGroupsByPath(t *testing.T) {
	h, console, _, sink := newTestHandler(t, Options{})
	app := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	for _, p := range []string{"/a", "/b", "/a"} {
		app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 3)
	assert.Equal(t, []string{"errlog.http-status", "503", "/a"}, evs[0].Fingerprint)
	assert.NotEqual(t, evs[0].GroupKey(), evs[1].GroupKey())
	assert.Equal(t, evs[0].GroupKey(), evs[2].GroupKey())
	assert.NotContains(t, console.String(), "fingerprint", "the log line does not show it")
}

func TestCookieFilterCanShowCookies(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, Mask: MaskOptions{Cookies: []string{"sessionid"}}})
	app := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.New(h).ErrorContext(r.Context(), "x")
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "sessionid", Value: "s1"})
	req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	app.ServeHTTP(httptest.NewRecorder(), req)
	flush(t, h)
	assert.Equal(t, map[string]string{"sessionid": DefaultMaskWith, "theme": "dark"}, sink.all()[0].Request.Cookies)
}

// One failed request, one report: a request that logged its failure at
// ERROR and answered 502 is one event (the quickstart's GET /error gave
// two mails); a WARN does not count as the report, and a 502 logged by
// nobody is still reported.
func TestMiddlewareOneReportPerFailure(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	log := slog.New(h)
	mux := http.NewServeMux()
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) {
		log.ErrorContext(r.Context(), "profile unavailable", "err", errors.New("upstream timeout"))
		http.Error(w, "try later", http.StatusBadGateway)
	})
	mux.HandleFunc("/warn", func(w http.ResponseWriter, r *http.Request) {
		log.WarnContext(r.Context(), "slow upstream")
		w.WriteHeader(http.StatusBadGateway)
	})
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	base := serve(t, h, mux)
	for _, p := range []string{"/error", "/warn", "/silent"} {
		resp, err := http.Get(base + p)
		require.NoError(t, err)
		resp.Body.Close()
	}
	flush(t, h)
	var msgs []string
	for _, ev := range sink.all() {
		msgs = append(msgs, ev.Message())
	}
	assert.Equal(t, []string{"profile unavailable", "HTTP 502 Bad Gateway", "HTTP 503 Service Unavailable"}, msgs)
}

// The middleware never reads the body before the handler: a full-duplex
// client that sends one line and waits for the reply before it sends
// more gets its reply (it used to hang: the middleware waited for 64 KiB
// or the end), and the event shows what the handler read.
func TestMiddlewareFullDuplexClient(t *testing.T) {
	for _, ct := range []string{"application/json", "text/plain", "application/connect+json"} {
		t.Run(ct, func(t *testing.T) {
			h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
			base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = http.NewResponseController(w).EnableFullDuplex()
				line, err := bufio.NewReader(r.Body).ReadString('\n')
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				slog.New(h).ErrorContext(r.Context(), "echo failed halfway")
				_, _ = io.WriteString(w, "echo: "+line)
				_ = http.NewResponseController(w).Flush()
				_, _ = io.Copy(io.Discard, r.Body)
			}))
			pr, pw := io.Pipe()
			req, err := http.NewRequest("POST", base+"/echo", pr)
			require.NoError(t, err)
			req.Header.Set("Content-Type", ct)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req = req.WithContext(ctx)
			go func() { _, _ = io.WriteString(pw, `{"n":1}`+"\n") }()
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err, "the reply comes before the client has sent the rest")
			got, err := bufio.NewReader(resp.Body).ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "echo: {\"n\":1}\n", got)
			pw.Close()
			resp.Body.Close()
			flush(t, h)
			ev := sink.all()[0]
			assert.Regexp(t, `n"?:1`, fmt.Sprint(ev.Request.Data), "the event shows what the handler read")
		})
	}
}

// With "Expect: 100-continue", a handler that refuses the request without
// reading its body answers 401 and the client is never told to send the
// body ("100 Continue" used to go out because the middleware read it).
func TestMiddlewareExpectContinue(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard, TrackedStatus: []StatusRange{{401, 401}}})
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "who are you?", http.StatusUnauthorized)
	}))
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
	require.NoError(t, err)
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 401 Unauthorized\r\n", status)
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, 1)
	assert.Nil(t, evs[0].Request.Data, "nothing was read, nothing is shown")
}

// A goroutine of the handler's logs with the request's context while the
// handler changes r.Header: the event's headers are a copy made before the
// handler ran. Copied when the first event was logged, on that goroutine,
// the map was read while written: a data race, and without -race a crash
// of the program (concurrent map iteration and map write) in 3 runs of 3.
func TestMiddlewareHeaderChangedWhileLogging(t *testing.T) {
	h, _, _, sink := newTestHandler(t, Options{Console: io.Discard})
	logger := slog.New(h)
	base := serve(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			logger.ErrorContext(r.Context(), "background job failed")
		}()
		for i := 0; i < 200; i++ {
			r.Header.Set(fmt.Sprint("X-Step-", i%7), "v")
		}
		<-done
	}))
	const n = 30
	for i := 0; i < n; i++ {
		req, err := http.NewRequest("GET", base, nil)
		require.NoError(t, err)
		req.Header.Set("X-Sent", "by the client")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	flush(t, h)
	evs := sink.all()
	require.Len(t, evs, n)
	for _, ev := range evs {
		require.NotNil(t, ev.Request)
		assert.Equal(t, "by the client", ev.Request.Headers["X-Sent"])
		assert.NotContains(t, ev.Request.Headers, "X-Step-0", "the headers as they came")
	}
}
