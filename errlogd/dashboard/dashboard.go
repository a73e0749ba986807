package dashboard

import (
	"bytes"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/errlogd/internal/access"

	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store"
)

// Options configures the dashboard. The zero value is all defaults: the
// dashboard at the root, served to loopback requests only.
type Options struct {
	// Prefix is the path the dashboard is mounted at, "/dev/error";
	// "" mounts it at the root. Mount the handler on prefix+"/".
	Prefix string
	// Password is the admin password (errlogd's ERRLOGD_ADMIN_PASSWORD):
	// it opens a session through the login form, and is accepted as HTTP
	// Basic auth with user "admin". Empty: no login.
	Password string
	// Authorize, when set, is the application's own check (its login,
	// its admin role): a request it accepts is served without the
	// dashboard's password.
	Authorize func(*http.Request) bool
	// Title heads every page. Default "errlog".
	Title string
	// SessionTTL is how long a login lasts. Default 12 hours.
	SessionTTL time.Duration
	// LoginAttempts is how many failed logins one client (an IPv4
	// address, an IPv6 /64) may make per minute before it is refused
	// with 429. Default 5. All clients together get ten times as many.
	// Ignored when Guesses is set.
	LoginAttempts int
	// Guesses limits password guesses; give the JSON API the same one,
	// so that the limit holds for both together. Default: the
	// dashboard's own, of LoginAttempts.
	Guesses *Guesses
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives errors that end in a 500 page. Default
	// slog.Default().
	Logger *slog.Logger
	// Alerts, when set, shows each group's notifications and ticket,
	// with a "create ticket" button, and the failures at /alerts.
	// Default nil: no alerts.
	Alerts *alert.Notifier
	// TraceURL links trace IDs to the tracing UI (errlogd's
	// ERRLOGD_TRACE_URL): "{trace_id}" (and "{span_id}", if it has one)
	// is replaced by the event's, as in
	// "https://tempo.example.com/explore?traceId={trace_id}". Default "":
	// trace IDs are shown, and find the issues of their trace, with no
	// link out.
	TraceURL string
}

// Guesses bounds password guesses, per client and in all; it is the same
// type as api.Guesses, so that one can serve both.
type Guesses = access.Limiter

// Handler returns the dashboard on st, to be mounted at opts.Prefix+"/".
func Handler(st store.Store, opts Options) http.Handler {
	return newServer(st, opts)
}

type server struct {
	st     store.Store
	opts   Options
	prefix string
	mux    *http.ServeMux
	key    []byte // HMAC key of CSRF tokens; random per handler
	cop    *http.CrossOriginProtection

	sessions sessions
	guesses  *access.Limiter

	facetsMu sync.Mutex
	facets   map[int64]cachedFacets
}

type cachedFacets struct {
	f  *store.Facets
	at time.Time
}

func newServer(st store.Store, opts Options) *server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Title == "" {
		opts.Title = "errlog"
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.LoginAttempts <= 0 {
		opts.LoginAttempts = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &server{
		st:     st,
		opts:   opts,
		prefix: strings.TrimSuffix(opts.Prefix, "/"),
		mux:    http.NewServeMux(),
		key:    make([]byte, 32),
		cop:    http.NewCrossOriginProtection(),
		facets: map[int64]cachedFacets{},
	}
	_, _ = rand.Read(s.key) // crypto/rand.Read never fails on supported platforms
	s.sessions.m = map[string]time.Time{}
	s.guesses = opts.Guesses
	if s.guesses == nil {
		s.guesses = &access.Limiter{PerMinute: opts.LoginAttempts}
	}
	p := s.prefix
	s.route("GET "+p+"/{$}", s.list)
	s.route("GET "+p+"/groups/{id}", s.group)
	s.route("GET "+p+"/events/{id}/json", s.eventJSON)
	s.route("POST "+p+"/groups/{id}/status", s.setStatus)
	s.route("POST "+p+"/groups/{id}/delete", s.deleteGroup)
	s.route("POST "+p+"/groups/status", s.bulkStatus)
	s.route("POST "+p+"/groups/{id}/ticket", s.createTicket)
	s.route("POST "+p+"/groups/{id}/mute", s.muteGroup)
	s.route("POST "+p+"/groups/{id}/ack", s.ackGroup)
	s.route("GET "+p+"/alerts", s.alertFailures)
	s.route("GET "+p+"/rules", s.rulesList)
	s.route("GET "+p+"/projects/{pid}/rules", s.rulesList)
	s.route("GET "+p+"/projects/{pid}/rules/new", s.ruleEdit)
	s.route("POST "+p+"/projects/{pid}/rules", s.ruleSave)
	s.route("GET "+p+"/projects/{pid}/rules/{rid}", s.ruleEdit)
	s.route("POST "+p+"/projects/{pid}/rules/{rid}", s.ruleSave)
	s.route("POST "+p+"/projects/{pid}/rules/{rid}/delete", s.ruleDelete)
	s.route("GET "+p+"/login", s.loginForm)
	s.route("POST "+p+"/login", s.login)
	s.route("POST "+p+"/logout", s.logout)
	s.route("GET "+p+"/static/{file}", s.static)
	s.route(p+"/", func(w http.ResponseWriter, r *http.Request) error { return errNotFound })
	return s
}

// httpError is an error with the status and the message its page shows.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

var errNotFound = &httpError{http.StatusNotFound, "Not found."}

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// route adapts a handler that returns an error: the error becomes an
// error page with its status, written before anything else was.
func (s *server) route(pattern string, f func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		err := f(w, r)
		if err == nil {
			return
		}
		status, msg := http.StatusInternalServerError, "Something went wrong; the error is in the server's log."
		var he *httpError
		switch {
		case errors.As(err, &he):
			status, msg = he.status, he.msg
		case errors.Is(err, store.ErrNotFound):
			status, msg = http.StatusNotFound, "Not found."
		default:
			s.opts.Logger.ErrorContext(r.Context(), "errlog: dashboard: "+r.Method+" "+r.URL.Path, "err", err)
		}
		s.render(w, r, status, "error", &errorPage{Status: status, Text: http.StatusText(status), Message: msg})
	})
}

// ServeHTTP sets the security headers, checks the credentials and the
// CSRF token, then routes.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.URL.Path == s.prefix && s.prefix != "" {
		http.Redirect(w, r, s.prefix+"/", http.StatusMovedPermanently)
		return
	}
	if strings.HasPrefix(r.URL.Path, s.prefix+"/static/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	h.Set("Cache-Control", "no-store")
	if err := s.cop.Check(r); err != nil {
		s.fail(w, r, http.StatusForbidden, "Cross-origin request refused.")
		return
	}
	login := r.URL.Path == s.prefix+"/login"
	a := s.authenticate(r)
	switch {
	case a.ok:
	case login && s.opts.Password != "":
		// the login form and its POST are open to all
	case a.limited > 0:
		h.Set("Retry-After", strconv.Itoa(int(a.limited.Seconds())+1))
		s.fail(w, r, http.StatusTooManyRequests, "Too many failed logins; try again in a minute.")
		return
	case a.badBasic:
		h.Set("WWW-Authenticate", `Basic realm="errlog", charset="UTF-8"`)
		s.fail(w, r, http.StatusUnauthorized, "Wrong user or password.")
		return
	case s.opts.Password != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		next := r.URL.Path
		if r.URL.RawQuery != "" {
			next += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, s.prefix+"/login?next="+urlQueryEscape(next), http.StatusSeeOther)
		return
	case s.opts.Password != "":
		s.fail(w, r, http.StatusUnauthorized, "Log in first.")
		return
	case s.opts.Authorize != nil:
		s.fail(w, r, http.StatusForbidden, "You are not allowed to see this page.")
		return
	default:
		s.fail(w, r, http.StatusForbidden, "The dashboard has neither a password nor an Authorize function, so it serves only requests from this machine: from a loopback address, to a loopback name such as localhost, not forwarded by a proxy.")
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20) // forms are small
	}
	if r.Method == http.MethodPost && !s.validCSRF(r) {
		s.fail(w, r, http.StatusForbidden, "The form's security token is missing or stale: reload the page and try again.")
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(withAuth(r.Context(), a)))
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", &errorPage{Status: status, Text: http.StatusText(status), Message: msg})
}

type errorPage struct {
	Status  int
	Text    string
	Message string
}

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the templates, each parsed once with the layout.
var pages = func() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/partials/*.html"))
	out := map[string]*template.Template{}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return out
}()

// page is what every template gets: the page's own data and what the
// layout needs.
type page struct {
	Title    string
	AppTitle string
	Prefix   string
	CSRF     string
	Session  bool // logged in through the form: show "log out"
	Alerts   bool // alerts are on: link the rules
	Now      time.Time
	Data     any
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a page into a buffer, then writes it: a template error
// becomes a clean 500, never half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bufPool.Put(buf)
		}
	}()
	title := ""
	if t, ok := data.(interface{ PageTitle() string }); ok {
		title = t.PageTitle()
	}
	a := authFrom(r.Context())
	p := &page{Title: title, AppTitle: s.opts.Title, Prefix: s.prefix, CSRF: s.csrfToken(w, r), Session: a.session != "", Alerts: s.opts.Alerts != nil, Now: s.opts.Now(), Data: data}
	if err := pages[name].ExecuteTemplate(buf, "layout.html", p); err != nil {
		s.opts.Logger.ErrorContext(r.Context(), "errlog: dashboard: render "+name, "err", err)
		http.Error(w, "errlog: dashboard: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (e *errorPage) PageTitle() string { return e.Text }

func (s *server) static(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		return errNotFound
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err = w.Write(b)
	return err
}
