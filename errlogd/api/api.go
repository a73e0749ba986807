// Package api is errlogd's JSON API, behind HTTP Basic auth (user
// "admin"):
//
//	GET    {prefix}/api/groups                 ?status= &level= &environment= &release= &q= &trace= &since= &until= &project= &sort=last_seen|first_seen|count &cursor= &limit=
//	GET    {prefix}/api/groups/{id}            the group, its environments and releases
//	GET    {prefix}/api/groups/{id}/events     ?before= &after= &limit=
//	GET    {prefix}/api/groups/{id}/counts     ?hours=N (default 24) or ?minutes=N
//	POST   {prefix}/api/groups/{id}            {"status":"resolved"|"ignored"|"unresolved"} (or a form)
//	DELETE {prefix}/api/groups/{id}
//	POST   {prefix}/api/groups/status          {"ids":[1,2],"status":"resolved"}
//	GET    {prefix}/api/events/{id}            the stored event JSON; id is the store id or the 32-hex event_id
//	GET    {prefix}/api/projects               projects with their DSN keys
//	GET    {prefix}/api/stats
//
// Times are RFC 3339 in UTC; since and until take RFC 3339 or a duration
// back from now ("24h").
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/internal/access"

	"github.com/errlog/errlog/errlogd/store"
)

// Options configures the API. The zero value is all defaults.
type Options struct {
	// Prefix is where errlogd is mounted, "/dev/error"; "" mounts it at
	// the root.
	Prefix string
	// Password is the admin's (ERRLOGD_ADMIN_PASSWORD), given as HTTP
	// Basic with user admin; 5 wrong guesses a minute per address, 50 in
	// all, then 429 (see Guesses). Empty: only requests from a loopback address, forwarded by no
	// proxy and addressed to a loopback name, are served.
	Password string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the errors answered 500, whose text (a database's,
	// naming tables and statements) is not sent to the client. Default
	// slog.Default().
	Logger *slog.Logger
	// Guesses limits password guesses; give the dashboard the same one,
	// so that the limit holds for both together. Default: the API's own.
	Guesses *Guesses
}

// Guesses bounds password guesses, per client (an IPv4 address or an
// IPv6 /64), per network (an IPv4 /24 or an IPv6 /48) and in all,
// whatever the number of addresses; one Guesses is meant to be shared by
// the API and the dashboard (dashboard.Guesses is the same type). The
// zero value allows 5 failed guesses a minute per client, 10 per network
// and 50 in all; a client that logged in lately is held to its own limit
// only.
type Guesses = access.Limiter

// Handler serves the API.
type Handler struct {
	st      store.Store
	opts    Options
	mux     *http.ServeMux
	limiter access.Limiter // when Options.Guesses is nil
	// cop refuses cross-site requests that change state: a page elsewhere
	// must not resolve groups with the credentials a browser remembers.
	cop *http.CrossOriginProtection
}

// New returns the API on st.
func New(st store.Store, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Prefix = strings.TrimSuffix(opts.Prefix, "/")
	h := &Handler{st: st, opts: opts, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection()}
	p := opts.Prefix + "/api"
	h.handle("GET "+p+"/groups", h.listGroups)
	h.handle("GET "+p+"/groups/{id}", h.group)
	h.handle("POST "+p+"/groups/{id}", h.setStatus)
	h.handle("DELETE "+p+"/groups/{id}", h.deleteGroup)
	h.handle("POST "+p+"/groups/status", h.bulkStatus)
	h.handle("GET "+p+"/groups/{id}/events", h.groupEvents)
	h.handle("GET "+p+"/groups/{id}/counts", h.counts)
	h.handle("GET "+p+"/events/{id}", h.event)
	h.handle("GET "+p+"/projects", h.projects)
	h.handle("GET "+p+"/stats", h.stats)
	// A path the API serves, asked with another method: 405 with Allow
	// (the catch-all below would say "not found" of an existing group).
	// Patterns with a method are more specific, so they win.
	for path, allow := range map[string]string{
		"/groups":             "GET, HEAD",
		"/groups/{id}":        "GET, HEAD, POST, DELETE",
		"/groups/{id}/events": "GET, HEAD",
		"/groups/{id}/counts": "GET, HEAD",
		"/events/{id}":        "GET, HEAD",
		"/projects":           "GET, HEAD",
		"/stats":              "GET, HEAD",
	} {
		h.handle(p+path, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return &apiError{http.StatusMethodNotAllowed, "method " + r.Method + " not allowed; allowed: " + allow}
		})
	}
	h.handle(p+"/", func(w http.ResponseWriter, r *http.Request) error {
		return errNotFound
	})
	return h
}

var errNotFound = &apiError{http.StatusNotFound, "not found"}

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// handle adapts a handler returning an error: the error becomes a JSON
// answer with its status, before anything else was written.
func (h *Handler) handle(pattern string, f func(w http.ResponseWriter, r *http.Request) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			status, msg := http.StatusInternalServerError, "internal error; it is in errlogd's log"
			var ae *apiError
			switch {
			case errors.As(err, &ae):
				status, msg = ae.status, err.Error()
			case errors.Is(err, store.ErrNotFound):
				status, msg = http.StatusNotFound, err.Error()
			default:
				h.opts.Logger.ErrorContext(r.Context(), "errlog: api: "+r.Method+" "+r.URL.Path, "err", err)
			}
			writeJSON(w, status, map[string]string{"error": msg})
		}
	})
}

// ServeHTTP checks the credentials, then routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if wait := h.authorize(r); wait != 0 {
		if wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "errlogd: too many wrong passwords; try again later"})
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="errlogd", charset="UTF-8"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "errlogd: the API needs the admin password (HTTP Basic, user admin)"})
		return
	}
	if err := h.cop.Check(r); err != nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "errlogd: cross-origin request refused"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authorize returns 0 when r may in, a negative duration when its
// credentials are missing or wrong, and how long to wait when its address
// has guessed too often.
func (h *Handler) authorize(r *http.Request) time.Duration {
	if h.opts.Password == "" {
		if access.Local(r) {
			return 0
		}
		return -1
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return -1
	}
	now, addr := h.opts.Now(), access.ClientAddr(r)
	if ok, wait := h.guesses().Allow(addr, now); !ok {
		return max(wait, time.Second)
	}
	if access.CheckPassword(user, pass, h.opts.Password) {
		h.guesses().Succeeded(addr, now)
		return 0
	}
	return -1
}

func (h *Handler) guesses() *access.Limiter {
	if h.opts.Guesses != nil {
		return h.opts.Guesses
	}
	return &h.limiter
}

// IsLoopback reports whether a host:port (or host) is a loopback
// address.
func IsLoopback(addr string) bool { return access.LoopbackAddr(addr) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("id %q is not a number", r.PathValue("id"))
	}
	return id, nil
}

func (h *Handler) parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return h.opts.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badRequest("%q is neither RFC 3339 nor a duration", s)
	}
	return t, nil
}

func intParam(q map[string][]string, name string) (int64, error) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("%s=%q is not a number", name, v)
	}
	return n, nil
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	gq := store.GroupQuery{
		Status:      store.Status(q.Get("status")),
		Level:       q.Get("level"),
		Environment: q.Get("environment"),
		Release:     q.Get("release"),
		Text:        q.Get("q"),
		TraceID:     q.Get("trace"),
		Sort:        store.Sort(q.Get("sort")),
		Cursor:      q.Get("cursor"),
	}
	for _, f := range []struct{ name, v string }{{"q", gq.Text}, {"level", gq.Level}, {"environment", gq.Environment}, {"release", gq.Release}} {
		if !store.IsText(f.v) {
			return badRequest("%s %q: not text (a NUL byte, or bytes that are not UTF-8)", f.name, f.v)
		}
	}
	if gq.Status != "" && !gq.Status.Valid() {
		return badRequest("status %q: want unresolved, resolved or ignored", gq.Status)
	}
	switch gq.Sort {
	case "", store.SortLastSeen, store.SortFirstSeen, store.SortCount:
	default:
		return badRequest("sort %q: want last_seen, first_seen or count", gq.Sort)
	}
	var err error
	if gq.Since, err = h.parseTime(q.Get("since")); err != nil {
		return err
	}
	if gq.Until, err = h.parseTime(q.Get("until")); err != nil {
		return err
	}
	if gq.ProjectID, err = intParam(q, "project"); err != nil {
		return err
	}
	limit, err := intParam(q, "limit")
	if err != nil {
		return err
	}
	gq.Limit = int(limit)
	page, err := h.st.ListGroups(r.Context(), gq)
	if err != nil {
		if strings.Contains(err.Error(), "cursor") {
			return badRequest("%v", err)
		}
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

type groupDetail struct {
	*store.Group
	Seen []store.Seen `json:"seen"`
}

func (h *Handler) group(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	g, err := h.st.Group(r.Context(), id)
	if err != nil {
		return err
	}
	seen, err := h.st.GroupSeen(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupDetail{Group: g, Seen: seen})
	return nil
}

type statusBody struct {
	IDs    []int64      `json:"ids"`
	Status store.Status `json:"status"`
}

func readStatus(r *http.Request) (statusBody, error) {
	var b statusBody
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&b); err != nil {
			return b, badRequest("body: %v", err)
		}
	} else {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			return b, badRequest("form: %v", err)
		}
		b.Status = store.Status(r.PostForm.Get("status"))
		for _, s := range r.PostForm["id"] {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return b, badRequest("id %q is not a number", s)
			}
			b.IDs = append(b.IDs, id)
		}
	}
	if !b.Status.Valid() {
		return b, badRequest("status %q: want unresolved, resolved or ignored", b.Status)
	}
	return b, nil
}

func (h *Handler) setStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := readStatus(r)
	if err != nil {
		return err
	}
	if err := h.st.SetStatus(r.Context(), []int64{id}, b.Status); err != nil {
		return err
	}
	g, err := h.st.Group(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (h *Handler) bulkStatus(w http.ResponseWriter, r *http.Request) error {
	b, err := readStatus(r)
	if err != nil {
		return err
	}
	if len(b.IDs) == 0 {
		return badRequest("no ids")
	}
	slices.Sort(b.IDs)
	b.IDs = slices.Compact(b.IDs)
	if len(b.IDs) > store.MaxStatusIDs {
		return badRequest("%d ids: at most %d at once", len(b.IDs), store.MaxStatusIDs)
	}
	if err := h.st.SetStatus(r.Context(), b.IDs, b.Status); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updated": len(b.IDs), "status": b.Status})
	return nil
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := h.st.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
	return nil
}

func (h *Handler) groupEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := h.st.Group(r.Context(), id); err != nil {
		return err
	}
	q := r.URL.Query()
	var eq store.EventQuery
	if eq.Before, err = intParam(q, "before"); err != nil {
		return err
	}
	if eq.After, err = intParam(q, "after"); err != nil {
		return err
	}
	limit, err := intParam(q, "limit")
	if err != nil {
		return err
	}
	eq.Limit = int(limit)
	rows, err := h.st.GroupEvents(r.Context(), id, eq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": rows})
	return nil
}

func (h *Handler) counts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := h.st.Group(r.Context(), id); err != nil {
		return err
	}
	q := r.URL.Query()
	hours, err := intParam(q, "hours")
	if err != nil {
		return err
	}
	minutes, err := intParam(q, "minutes")
	if err != nil {
		return err
	}
	now := h.opts.Now()
	var m map[int64][]store.Count
	unit := "hour"
	switch {
	case minutes > 0:
		unit = "minute"
		m, err = h.st.MinuteCounts(r.Context(), []int64{id}, now.Add(-time.Duration(min(minutes, 1440))*time.Minute), now.Add(time.Minute))
	default:
		if hours == 0 {
			hours = 24
		}
		m, err = h.st.HourlyCounts(r.Context(), []int64{id}, now.Add(-time.Duration(min(hours, 90*24))*time.Hour), now.Add(time.Hour))
	}
	if err != nil {
		return err
	}
	counts := m[id]
	if counts == nil {
		counts = []store.Count{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"unit": unit, "counts": counts})
	return nil
}

func (h *Handler) event(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("id")
	var ev *store.StoredEvent
	var err error
	if id, perr := strconv.ParseInt(raw, 10, 64); perr == nil && len(raw) < 20 {
		ev, err = h.st.Event(r.Context(), id)
	} else if len(strings.ReplaceAll(raw, "-", "")) == 32 {
		ev, err = h.st.EventByEventID(r.Context(), 0, raw)
	} else {
		return badRequest("event id %q: want a store id or a 32-hex event_id", raw)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Errlog-Event-Id", ev.EventID)
	w.Header().Set("X-Errlog-Group-Id", strconv.FormatInt(ev.GroupID, 10))
	w.Write(ev.JSON)
	return nil
}

type projectJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	PublicKey string    `json:"public_key"`
	Disabled  bool      `json:"disabled"`
	RateLimit int       `json:"rate_limit"`
	InApp     []string  `json:"in_app"`
	Created   time.Time `json:"created"`
}

func (h *Handler) projects(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.st.Projects(r.Context())
	if err != nil {
		return err
	}
	out := make([]projectJSON, len(ps))
	for i, p := range ps {
		out[i] = projectJSON{p.ID, p.Name, p.PublicKey, p.Disabled, p.RateLimit, p.InApp, p.Created}
		if out[i].InApp == nil {
			out[i].InApp = []string{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out})
	return nil
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) error {
	s, err := h.st.Stats(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}
