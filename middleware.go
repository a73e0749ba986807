package errlog

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/record"
)

// Middleware captures each request so that every record logged with its
// context (slog.ErrorContext(r.Context(), …)) carries it; gives each
// request a Scope (see ScopeFrom); reports panics at ERROR with the
// panicking goroutine's stack and answers 500, or, when the response has
// begun, aborts it (panics with http.ErrAbortHandler) so that the client
// sees it cut short; and reports responses whose status is tracked
// (Options.TrackedStatus, default 500-599), unless the request already
// logged its failure at ErrorLevel: one failed request, one report. It
// never reads the request body on the handler's behalf; events show what
// the handler read of it.
//
// It reports through the default logger, and takes its settings from the
// errlog Handler that the default logger's handler is or wraps (see
// HandlerOf), looked up at each request. A handler that hides errlog's,
// such as slog.NewMultiHandler(errlogHandler, otherHandler), leaves
// errlog's defaults in force, and Middleware logs a warning saying so
// once: name the Handler with MiddlewareWith instead. Handler.Middleware
// binds both the settings and the reports to one Handler.
func Middleware(next http.Handler) http.Handler {
	return MiddlewareWith(MiddlewareOptions{})(next)
}

// Middleware is the package-level Middleware bound to h: h's settings,
// and h for reports.
func (h *Handler) Middleware(next http.Handler) http.Handler {
	return MiddlewareWith(MiddlewareOptions{Handler: h, Report: h})(next)
}

// MiddlewareOptions configure MiddlewareWith. The zero value is
// Middleware's behaviour.
type MiddlewareOptions struct {
	// Handler is the errlog Handler whose Options give the settings not
	// set here: TrackedStatus, ContextBuilder, Repanic, MaxBodyBytes, and
	// the masking of the URL that %(url)s prints. Default: the Handler
	// that Report, or else the default logger's handler, leads to
	// (HandlerOf), looked up at each request; when there is none,
	// errlog's defaults.
	Handler *Handler
	// Report receives the reports: recovered panics and tracked statuses.
	// Default: the default logger's handler at each request, so that every
	// handler composed with errlog's sees them too.
	Report slog.Handler
	// TrackedStatus, when set, replaces Handler's Options.TrackedStatus.
	TrackedStatus []StatusRange
	// ContextBuilder, when set, replaces Handler's Options.ContextBuilder.
	ContextBuilder ContextBuilder
	// Repanic, when true, re-panics after reporting a panic, whatever
	// Handler's Options.Repanic says.
	Repanic bool
	// MaxBodyBytes, when positive, replaces Handler's Options.MaxBodyBytes.
	MaxBodyBytes int
}

// MiddlewareWith returns Middleware with its settings and its reports'
// destination named, for an errlog Handler composed with other handlers:
//
//	eh := errlog.NewHandler(errlog.FromEnv())
//	slog.SetDefault(slog.New(slog.NewMultiHandler(eh, otelHandler)))
//	http.ListenAndServe(":8080", errlog.MiddlewareWith(errlog.MiddlewareOptions{Handler: eh})(mux))
func MiddlewareWith(opts MiddlewareOptions) func(http.Handler) http.Handler {
	opts.TrackedStatus = slices.Clip(slices.Clone(opts.TrackedStatus))
	return func(next http.Handler) http.Handler {
		return middleware(opts, next)
	}
}

// A HandlerWrapper is a slog.Handler built around an errlog Handler that
// says so, so that Middleware and Recover find errlog's settings behind
// it. A wrapper implements it by asking what it wraps:
//
//	type withRegion struct{ next slog.Handler }
//
//	func (w withRegion) ErrlogHandler() *errlog.Handler { return errlog.HandlerOf(w.next) }
//
// Handlers that combine several others (slog.NewMultiHandler) cannot say
// which is errlog's: name it with MiddlewareWith.
type HandlerWrapper interface {
	// ErrlogHandler returns the errlog Handler inside.
	ErrlogHandler() *Handler
}

// ErrlogHandler returns h: a Handler is its own HandlerWrapper.
func (h *Handler) ErrlogHandler() *Handler { return h }

// HandlerOf returns the errlog Handler that h is or wraps, or nil when h
// is not a HandlerWrapper.
func HandlerOf(h slog.Handler) *Handler {
	if w, ok := h.(HandlerWrapper); ok {
		return w.ErrlogHandler()
	}
	return nil
}

type middlewareSettings struct {
	mask    *masker
	tracked []StatusRange
	builder ContextBuilder
	repanic bool
	maxBody int
}

var defaultMiddlewareSettings = middlewareSettings{mask: defaultMasker, tracked: defaultTrackedStatus(), maxBody: defaultMaxBodyBytes}

// defaultMasker masks the URLs that Middleware records for a handler
// other than errlog's.
var defaultMasker, _ = newMasker(MaskOptions{})

// settings are eh's settings (the defaults for a nil eh) with opts'
// replacements.
func (opts *MiddlewareOptions) settings(eh *Handler) middlewareSettings {
	s := defaultMiddlewareSettings
	if eh != nil {
		o := &eh.c.opts
		s = middlewareSettings{mask: eh.c.san.m, tracked: o.TrackedStatus, builder: o.ContextBuilder, repanic: o.Repanic, maxBody: o.MaxBodyBytes}
	}
	if opts.TrackedStatus != nil {
		s.tracked = opts.TrackedStatus
	}
	if opts.ContextBuilder != nil {
		s.builder = opts.ContextBuilder
	}
	if opts.Repanic {
		s.repanic = true
	}
	if opts.MaxBodyBytes > 0 {
		s.maxBody = opts.MaxBodyBytes
	}
	return s
}

func middleware(opts MiddlewareOptions, next http.Handler) http.Handler {
	var warned atomic.Bool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := opts.Report
		if h == nil {
			h = slog.Default().Handler()
		}
		eh := opts.Handler
		if eh == nil {
			if eh = HandlerOf(h); eh == nil && opts.Report == nil && !warned.Swap(true) {
				warnNoHandler(r.Context(), h)
			}
		}
		s := opts.settings(eh)
		ri := newRequestInfo(r, s.maxBody, s.builder, s.mask)
		ctx := record.WithRequest(r.Context(), ri)
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
				if sw.wroteHeader {
					// Too late for a 500: abort the connection, as net/http
					// does for an unrecovered panic, so that the client does
					// not take the part it got for the whole body. net/http
					// logs nothing for this value, and an outer Middleware
					// lets it through: the panic is reported once, here.
					panic(http.ErrAbortHandler)
				}
				http.Error(sw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
				return
			}
			// One failed request, one report: a request that logged its
			// failure at ErrorLevel is not reported again for its status.
			if status := sw.Status(); tracked(s.tracked, status) && !ri.reported.Load() {
				reportStatus(ctx, h, r, status, s.mask)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// warnNoHandler says, once per Middleware, that the default logger's
// handler hides errlog's settings, through that handler: the warning goes
// where the application's logs go.
func warnNoHandler(ctx context.Context, h slog.Handler) {
	if !h.Enabled(ctx, slog.LevelWarn) {
		return
	}
	rec := slog.NewRecord(time.Now(), slog.LevelWarn, "errlog: middleware: the default logger's handler does not lead to an errlog Handler, "+
		"so its TrackedStatus, ContextBuilder, Repanic, MaxBodyBytes and masking are not applied (defaults are); "+
		"name the Handler with errlog.MiddlewareWith, or implement errlog.HandlerWrapper", 0)
	rec.AddAttrs(slog.String("handler", fmt.Sprintf("%T", h)))
	_ = h.Handle(ctx, rec)
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
// endpoint is one group, not one per URL. m masks the path as the URL is
// masked: nothing masks a fingerprint after this.
func reportStatus(ctx context.Context, h slog.Handler, r *http.Request, status int, m *masker) {
	if !h.Enabled(ctx, slog.LevelError) {
		return
	}
	// No PC and no stack: the code that chose the status is not on the
	// stack any more, and Middleware's own frames say nothing.
	rec := slog.NewRecord(nowOf(h), slog.LevelError, "HTTP "+strconv.Itoa(status)+" "+http.StatusText(status), 0)
	rec.AddAttrs(slog.Int("status", status), slog.String("method", r.Method), slog.String("path", r.URL.Path))
	// Without a route (Go before 1.23, a router that does not set
	// Request.Pattern), the path stands for it: masked (a token in it,
	// /reset/<jwt>, stays in the process) and parameterized as a log
	// message is, so that /orders/17 and /orders/18 are one group,
	// /orders/<int>, not one each.
	where := event.Parameterize(m.scrub(r.URL.Path))
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

// Hijack keeps websocket upgrades working. It goes through
// http.ResponseController, as Flush does, so that it reaches a Hijacker
// behind writers that offer only Unwrap. A failed hijack switches no
// protocols: the status the handler answers with then is kept.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("errlog: middleware: hijack: %w", err)
	}
	w.status, w.wroteHeader = http.StatusSwitchingProtocols, true
	return conn, rw, nil
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
		if a < 100 || a > 999 || b < 100 || b > 999 {
			return nil, fmt.Errorf("status range %q is not within 100-999", part)
		}
		if a > b {
			return nil, fmt.Errorf("status range %q is reversed: write %d-%d", part, b, a)
		}
		out = append(out, StatusRange{a, b})
	}
	return out, nil
}
