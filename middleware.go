package errlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Middleware captures each request so that every record logged with its
// context (slog.ErrorContext(r.Context(), …)) carries it; gives each
// request a Scope (see ScopeFrom); reports panics at ERROR with the
// panicking goroutine's stack and answers 500; and reports responses whose
// status is tracked (Options.TrackedStatus, default 500-599), unless the
// request already logged its failure at ErrorLevel: one failed request,
// one report. It never reads the request body on the handler's behalf;
// events show what the handler read of it.
//
// It takes its settings from the default logger's handler at each request,
// when that is an errlog Handler, and reports through the default logger;
// Handler.Middleware binds them to one Handler instead.
func Middleware(next http.Handler) http.Handler {
	return middleware(nil, next)
}

// Middleware is the package-level Middleware bound to h: h's settings,
// and h for reports.
func (h *Handler) Middleware(next http.Handler) http.Handler {
	return middleware(h, next)
}

type middlewareSettings struct {
	mask    *masker
	tracked []StatusRange
	builder ContextBuilder
	repanic bool
	maxBody int
}

var defaultMiddlewareSettings = middlewareSettings{mask: defaultMasker, tracked: []StatusRange{{500, 599}}, maxBody: 64 << 10}

// defaultMasker masks the URLs that Middleware records for a handler
// other than errlog's.
var defaultMasker, _ = newMasker(MaskOptions{})

func settingsOf(h slog.Handler) middlewareSettings {
	eh, ok := h.(*Handler)
	if !ok {
		return defaultMiddlewareSettings
	}
	o := &eh.c.opts
	return middlewareSettings{mask: eh.c.san.m, tracked: o.TrackedStatus, builder: o.ContextBuilder, repanic: o.Repanic, maxBody: o.MaxBodyBytes}
}

func middleware(bound *Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h slog.Handler = bound
		if bound == nil {
			h = slog.Default().Handler()
		}
		s := settingsOf(h)
		ri := newRequestInfo(r, s.maxBody, s.builder, s.mask)
		ctx := context.WithValue(r.Context(), requestKey{}, ri)
		ctx, _ = WithScope(ctx)
		r = r.WithContext(ctx)
		if ri.body != nil {
			r.Body = ri.body // on the copy: the server's request keeps its own
		}
		ri.r = r
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared, as net/http does
					panic(v)
				}
				reportPanic(ctx, h, newPanicError(v), s.repanic)
				if s.repanic {
					panic(v)
				}
				if !sw.wroteHeader {
					http.Error(sw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
				}
				return
			}
			// One failed request, one report: a request that logged its
			// failure at ErrorLevel is not reported again for its status.
			if status := sw.Status(); tracked(s.tracked, status) && !ri.reported.Load() {
				reportStatus(ctx, h, r, status)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func tracked(ranges []StatusRange, status int) bool {
	for _, rg := range ranges {
		if status >= rg.From && status <= rg.To {
			return true
		}
	}
	return false
}

// reportStatus logs a tracked response. The message is the same for every
// URL of a status, and the fingerprint names the route, so that a failing
// endpoint is one group, not one per URL.
func reportStatus(ctx context.Context, h slog.Handler, r *http.Request, status int) {
	if !h.Enabled(ctx, slog.LevelError) {
		return
	}
	// No PC and no stack: the code that chose the status is not on the
	// stack any more, and Middleware's own frames say nothing.
	rec := slog.NewRecord(time.Now(), slog.LevelError, "HTTP "+strconv.Itoa(status)+" "+http.StatusText(status), 0)
	rec.AddAttrs(slog.Int("status", status), slog.String("method", r.Method), slog.String("path", r.URL.Path))
	where := r.URL.Path
	if route := routeOf(r); route != "" {
		rec.AddAttrs(slog.String("route", route))
		where = route
	}
	// One group per status and route (else path): a second endpoint that
	// starts failing is a new issue, not a repeat of the first. Set on a
	// scope of its own, so that the log line does not show it.
	ctx, scope := WithScope(context.WithValue(ctx, noStackKey{}, true))
	scope.SetFingerprint("errlog.http-status", strconv.Itoa(status), where)
	_ = h.Handle(ctx, rec)
}

// statusWriter remembers the status the handler wrote. Unwrap lets
// http.ResponseController reach the original writer's features.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Status returns the response's status; 200 when the handler wrote none.
func (w *statusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streaming handlers working: they assert http.Flusher.
func (w *statusWriter) Flush() {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack keeps websocket upgrades working.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("errlog: middleware: the ResponseWriter does not support hijacking")
	}
	w.status, w.wroteHeader = http.StatusSwitchingProtocols, true
	return hj.Hijack()
}

// ParseStatusRanges reads "500-599,404" (ERRLOG_TRACKED_STATUS).
func ParseStatusRanges(s string) ([]StatusRange, error) {
	var out []StatusRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(from))
		if err != nil {
			return nil, fmt.Errorf("status %q is not a number", from)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(to)); err != nil {
				return nil, fmt.Errorf("status %q is not a number", to)
			}
		}
		if a < 100 || b > 999 || a > b {
			return nil, fmt.Errorf("status range %q is not within 100-999", part)
		}
		out = append(out, StatusRange{a, b})
	}
	return out, nil
}
