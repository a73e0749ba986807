package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

// ranges are the time-range filter's choices.
var ranges = []struct {
	Value, Label string
	D            time.Duration
}{
	{"1h", "last hour", time.Hour},
	{"24h", "last 24 hours", 24 * time.Hour},
	{"7d", "last 7 days", 7 * 24 * time.Hour},
	{"14d", "last 14 days", 14 * 24 * time.Hour},
	{"30d", "last 30 days", 30 * 24 * time.Hour},
	{"90d", "last 90 days", 90 * 24 * time.Hour},
}

var levels = []string{"fatal", "error", "warning", "info", "debug"}

// filters is the list's query string, parsed.
type filters struct {
	Status, Level, Env, Release, Range, Q, Sort, Cursor string
	Project                                             int64
	// Trace keeps the issues with an event of this trace ("trace", or a
	// trace ID pasted into the search box that is no event's ID).
	Trace string
}

func parseFilters(q url.Values) (filters, error) {
	f := filters{
		Status: q.Get("status"), Level: q.Get("level"), Env: q.Get("environment"), Release: q.Get("release"),
		Range: q.Get("range"), Q: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort"), Cursor: q.Get("cursor"),
	}
	for _, v := range []string{f.Q, f.Level, f.Env, f.Release} {
		if !store.IsText(v) {
			return f, badRequest("Filter %q is not text: it holds a NUL byte, or bytes that are not UTF-8.", v)
		}
	}
	f.Trace = strings.TrimSpace(q.Get("trace"))
	if f.Trace == "" && store.NormalizeTraceID(f.Q) != "" {
		// A trace ID pasted from a tracing UI: its errors, whatever
		// became of them (the form sends its status menu's value).
		f.Trace, f.Q, f.Status = f.Q, "", "all"
	}
	if f.Trace != "" {
		if f.Trace = store.NormalizeTraceID(f.Trace); f.Trace == "" {
			return f, badRequest("Trace %q is not a trace ID (32 hex digits).", q.Get("trace"))
		}
		if f.Status == "" {
			f.Status = "all" // a trace's errors, whatever became of them
		}
	}
	if f.Status == "" {
		f.Status = string(store.StatusUnresolved)
	}
	if f.Status != "all" && !store.Status(f.Status).Valid() {
		return f, badRequest("Unknown status %q.", f.Status)
	}
	switch store.Sort(f.Sort) {
	case "", store.SortLastSeen, store.SortFirstSeen, store.SortCount:
	default:
		return f, badRequest("Unknown sort %q.", f.Sort)
	}
	if f.Range != "" && rangeDuration(f.Range) == 0 {
		return f, badRequest("Unknown time range %q.", f.Range)
	}
	if p := q.Get("project"); p != "" {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id < 0 {
			return f, badRequest("Project %q is not a number.", p)
		}
		f.Project = id
	}
	return f, nil
}

func rangeDuration(v string) time.Duration {
	for _, r := range ranges {
		if r.Value == v {
			return r.D
		}
	}
	return 0
}

// query is f as a query string, with some fields changed
// ("sort", "count"); "" values are left out.
func (f filters) query(kv ...string) string {
	v := url.Values{}
	set := func(k, x string) {
		if x != "" {
			v.Set(k, x)
		}
	}
	set("status", f.Status)
	set("level", f.Level)
	set("environment", f.Env)
	set("release", f.Release)
	set("range", f.Range)
	set("q", f.Q)
	set("sort", f.Sort)
	set("cursor", f.Cursor)
	set("trace", f.Trace)
	if f.Project != 0 {
		v.Set("project", strconv.FormatInt(f.Project, 10))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Del(kv[i])
		set(kv[i], kv[i+1])
	}
	if f.Status == string(store.StatusUnresolved) && v.Get("status") == f.Status && f.Trace == "" {
		v.Del("status") // the default
	}
	if s := v.Encode(); s != "" {
		return "?" + s
	}
	return ""
}

type listPage struct {
	F        filters
	Groups   []groupRow
	Next     string // URL of the next page, "" on the last
	First    string // URL of the first page, "" on it
	Facets   *store.Facets
	Projects []store.Project
	Ranges   any
	Levels   []string
	Statuses []string
	Sorts    [][2]string
	SortURL  map[string]string
	// Return is where bulk actions come back to: the first page of these
	// filters, since the rows acted on may leave this page empty.
	Return string
	Trace  *traceView // the trace filtered by; nil when none
}

func (l *listPage) PageTitle() string { return "Issues" }

type groupRow struct {
	store.Group
	Spark    spark
	URL      string
	Envs     []string // most recent first, at most two
	Releases []string // the most recent
	Users    int64    // users affected; 0 when unknown
}

func (s *server) list(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query())
	if err != nil {
		return err
	}
	ctx := r.Context()
	if f.Trace != "" && r.URL.Query().Get("trace") == "" {
		// 32 hex digits in the search box: an event ID first (the "error
		// id" an application shows its user), else a trace ID.
		e, err := s.st.EventByEventID(ctx, f.Project, f.Trace)
		switch {
		case err == nil:
			http.Redirect(w, r, s.prefix+"/groups/"+strconv.FormatInt(e.GroupID, 10)+"?event="+strconv.FormatInt(e.ID, 10), http.StatusFound)
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	now := s.opts.Now()
	q := store.GroupQuery{
		ProjectID: f.Project, Level: f.Level, Environment: f.Env, Release: f.Release,
		Text: f.Q, Sort: store.Sort(f.Sort), Cursor: f.Cursor, Limit: 50, TraceID: f.Trace,
	}
	if f.Status != "all" {
		q.Status = store.Status(f.Status)
	}
	if d := rangeDuration(f.Range); d > 0 {
		q.Since = now.Add(-d)
	}
	res, err := s.st.ListGroups(ctx, q)
	if err != nil {
		if strings.Contains(err.Error(), "bad cursor") {
			return badRequest("That page link is not valid any more.")
		}
		return err
	}
	ids := make([]int64, len(res.Groups))
	for i, g := range res.Groups {
		ids[i] = g.ID
	}
	end := chartEnd(now)
	counts, err := s.st.HourlyCounts(ctx, ids, end.Add(-24*time.Hour), end)
	if err != nil {
		return err
	}
	users, err := s.st.GroupUsers(ctx, ids)
	if err != nil {
		return err
	}
	facets, err := s.facetsFor(r, f.Project)
	if err != nil {
		return err
	}
	facets = &store.Facets{Environments: capFacet(facets.Environments, f.Env, maxFacets), Releases: capFacet(facets.Releases, f.Release, maxFacets)}
	projects, err := s.st.Projects(ctx)
	if err != nil {
		return err
	}
	p := &listPage{
		F: f, Facets: facets, Ranges: ranges, Levels: levels, Projects: projects,
		Statuses: []string{"unresolved", "resolved", "ignored", "all"},
		Sorts:    [][2]string{{"last_seen", "Last seen"}, {"first_seen", "First seen"}, {"count", "Events"}},
		SortURL:  map[string]string{},
		Return:   s.prefix + "/" + f.query("cursor", ""),
		Trace:    s.trace(f.Trace, ""),
	}
	for _, so := range p.Sorts {
		p.SortURL[so[0]] = s.prefix + "/" + f.query("sort", so[0], "cursor", "")
	}
	for _, g := range res.Groups {
		row := groupRow{Group: g, Spark: hourSpark(counts[g.ID], end, 24, 96, 24), URL: s.prefix + "/groups/" + strconv.FormatInt(g.ID, 10), Users: users[g.ID]}
		seen, err := s.st.GroupSeen(ctx, g.ID)
		if err != nil {
			return err
		}
		for _, x := range seen {
			switch {
			case x.Kind == "environment" && len(row.Envs) < 2:
				row.Envs = append(row.Envs, x.Value)
			case x.Kind == "release" && len(row.Releases) < 1:
				row.Releases = append(row.Releases, x.Value)
			}
		}
		p.Groups = append(p.Groups, row)
	}
	if res.Next != "" {
		p.Next = s.prefix + "/" + f.query("cursor", res.Next)
	}
	if f.Cursor != "" {
		p.First = s.prefix + "/" + f.query("cursor", "")
	}
	s.render(w, r, http.StatusOK, "list", p)
	return nil
}

// facetsFor returns the filter menus' environments and releases, cached
// for ten seconds: the query reads every group's list.
func (s *server) facetsFor(r *http.Request, project int64) (*store.Facets, error) {
	now := s.opts.Now()
	s.facetsMu.Lock()
	c, ok := s.facets[project]
	s.facetsMu.Unlock()
	if ok && now.Sub(c.at) < 10*time.Second && !now.Before(c.at) {
		return c.f, nil
	}
	f, err := s.st.Facets(r.Context(), project)
	if err != nil {
		return nil, err
	}
	s.facetsMu.Lock()
	if len(s.facets) > 100 {
		s.facets = map[int64]cachedFacets{}
	}
	s.facets[project] = cachedFacets{f, now}
	s.facetsMu.Unlock()
	return f, nil
}

func (s *server) bulkStatus(w http.ResponseWriter, r *http.Request) error {
	st := store.Status(r.PostFormValue("status"))
	if !st.Valid() {
		return badRequest("Unknown status %q.", st)
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return badRequest("Group id %q is not a number.", v)
		}
		ids = append(ids, id)
	}
	if len(ids) > store.MaxStatusIDs {
		return badRequest("At most %d groups at once.", store.MaxStatusIDs)
	}
	if len(ids) > 0 {
		if err := s.st.SetStatus(r.Context(), ids, st); err != nil {
			return err
		}
	}
	http.Redirect(w, r, s.safeNext(r.PostFormValue("return")), http.StatusSeeOther)
	return nil
}
