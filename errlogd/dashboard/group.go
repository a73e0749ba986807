package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
)

type groupPage struct {
	G      store.Group
	E      *store.StoredEvent
	Ev     *event.Event
	V      *eventView
	Older  string // URL of the previous (older) event, "" if none
	Newer  string
	Latest string
	Hist   spark
	Seen   []store.Seen
	// SeenMore is how many environments and releases past Seen's were
	// left out: anyone with the DSN can send thousands.
	SeenMore int
	Users    int64 // users affected; 0 when no event named one
	// Feedback is what users wrote about the group's events, newest
	// first, at most feedbackShown of FeedbackTotal.
	Feedback      []store.Feedback
	FeedbackTotal int64
	Return        string
	Project       string
	DecodeOK      bool
	Alerts        *alertView // nil without Options.Alerts
	Trace         *traceView // the event's trace; nil when it has none
	Traces        []traceRow // the traces of the group's latest events
	Crumbs        []crumbView
}

// feedbackShown is how much feedback the group page shows, the newest.
const feedbackShown = 20

// maxSeenShown is how many environments and how many releases the group
// page lists (the latest seen), and maxFacets how many of each the
// issue list's menus offer: each distinct value an event names is one
// more, and anyone with the DSN can send thousands (5,000 made the
// issue list 7.5 MB).
const (
	maxSeenShown = 50
	maxFacets    = 200
)

// capSeen keeps the first n of each kind of seen (the store lists them
// by kind, the latest first), and says how many it left out.
func capSeen(seen []store.Seen, n int) ([]store.Seen, int) {
	var out []store.Seen
	kinds, more := map[string]int{}, 0
	for _, x := range seen {
		if kinds[x.Kind] >= n {
			more++
			continue
		}
		kinds[x.Kind]++
		out = append(out, x)
	}
	return out, more
}

// capFacet keeps the last n values (the store sorts them: releases named
// by version or date sort newest last), and keep (the one selected)
// when it is among those left out.
func capFacet(vals []string, keep string, n int) []string {
	if len(vals) <= n {
		return vals
	}
	cut := len(vals) - n
	out := append([]string(nil), vals[cut:]...)
	if keep != "" && slices.Contains(vals[:cut], keep) {
		out = append([]string{keep}, out...)
	}
	return out
}

func (g *groupPage) PageTitle() string { return g.G.Title }

// CapDepth is the depth past which the page cuts an event's values.
func (g *groupPage) CapDepth() int { return capMaxDepth }

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

func (s *server) group(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	g, err := s.st.Group(ctx, id)
	if err != nil {
		return err
	}
	base := s.prefix + "/groups/" + strconv.FormatInt(g.ID, 10)
	p := &groupPage{G: *g, Return: base}
	if v := r.URL.Query().Get("event"); v != "" {
		eid, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return badRequest("Event %q is not a number.", v)
		}
		e, err := s.st.Event(ctx, eid)
		if err != nil {
			return err
		}
		if e.GroupID != g.ID {
			return errNotFound
		}
		p.E = e
		p.Return = base + "?event=" + strconv.FormatInt(eid, 10)
	} else {
		rows, err := s.st.GroupEvents(ctx, g.ID, store.EventQuery{Limit: 1})
		if err != nil {
			return err
		}
		if len(rows) > 0 {
			if p.E, err = s.st.Event(ctx, rows[0].ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	var proj *store.Project
	if pr, err := s.st.Project(ctx, g.ProjectID); err == nil {
		proj = pr
		p.Project = pr.Name
	}
	if p.E != nil {
		older, err := s.st.GroupEvents(ctx, g.ID, store.EventQuery{Before: p.E.ID, Limit: 1})
		if err != nil {
			return err
		}
		newer, err := s.st.GroupEvents(ctx, g.ID, store.EventQuery{After: p.E.ID, Limit: 1})
		if err != nil {
			return err
		}
		if len(older) > 0 {
			p.Older = base + "?event=" + strconv.FormatInt(older[0].ID, 10)
		}
		if len(newer) > 0 {
			p.Newer = base + "?event=" + strconv.FormatInt(newer[0].ID, 10)
			p.Latest = base
		}
		js, big, deep := capEvent(p.E.JSON)
		if ev, err := decode.Event(js); err == nil {
			p.Ev, p.DecodeOK = ev, true
			ev.Errors = append(ev.Errors, timeCorrection(ev.Timestamp, p.E.Timestamp)...)
		} else {
			p.Ev = &event.Event{}
		}
		p.V = decodeView(js, proj)
		p.V.Capped, p.V.Deep = big, deep
		if p.DecodeOK {
			p.V.fill(p.Ev)
		}
		p.Trace, p.Crumbs = s.eventTrace(p.Ev), crumbsOf(p.Ev)
	}
	if p.Traces, err = s.groupTraces(r, g); err != nil {
		return err
	}
	end := chartEnd(s.opts.Now())
	counts, err := s.st.HourlyCounts(ctx, []int64{g.ID}, end.Add(-14*24*time.Hour), end)
	if err != nil {
		return err
	}
	p.Hist = hourSpark(counts[g.ID], end, 14*24, 14*24*3, 60)
	seen, err := s.st.GroupSeen(ctx, g.ID)
	if err != nil {
		return err
	}
	p.Seen, p.SeenMore = capSeen(seen, maxSeenShown)
	users, err := s.st.GroupUsers(ctx, []int64{g.ID})
	if err != nil {
		return err
	}
	p.Users = users[g.ID]
	if p.Feedback, err = s.st.GroupFeedback(ctx, g.ID, feedbackShown); err != nil {
		return err
	}
	p.FeedbackTotal = int64(len(p.Feedback))
	if len(p.Feedback) == feedbackShown {
		if p.FeedbackTotal, err = s.st.GroupFeedbackCount(ctx, g.ID); err != nil {
			return err
		}
	}
	if p.Alerts, err = s.groupAlerts(r, g.ID); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "group", p)
	return nil
}

func (s *server) eventJSON(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	e, err := s.st.Event(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	name := strings.Map(func(r rune) rune {
		if r < '0' || r > 'z' || (r > '9' && r < 'A') || (r > 'Z' && r < 'a') {
			return -1
		}
		return r
	}, e.EventID)
	w.Header().Set("Content-Disposition", `attachment; filename="event-`+name+`.json"`)
	_, err = w.Write(e.JSON)
	return err
}

func (s *server) setStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st := store.Status(r.PostFormValue("status"))
	if !st.Valid() {
		return badRequest("Unknown status %q.", st)
	}
	if err := s.st.SetStatus(r.Context(), []int64{id}, st); err != nil {
		return err
	}
	next := r.PostFormValue("return")
	if next == "" {
		next = s.prefix + "/groups/" + strconv.FormatInt(id, 10)
	}
	http.Redirect(w, r, s.safeNext(next), http.StatusSeeOther)
	return nil
}

func (s *server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.st.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, s.prefix+"/", http.StatusSeeOther)
	return nil
}

// eventView is what the group page draws of an event beyond event.Event:
// exception groups (mechanism ids), frame source context, threads,
// pretty JSON.
type eventView struct {
	Exceptions []*excNode // roots, outermost first
	Threads    []threadView
	Stack      *stackView // a message's own stack trace
	Pretty     string
	Capped     bool   // a big event, cut down for the page (capEvent)
	Deep       bool   // values nested deeper than capMaxDepth, cut (capEvent)
	Data       []kv   // request body as fields, when it is an object
	DataText   string // else as text
	Query      []kv
	Headers    []kv
	Cookies    []kv
	Env        []kv
	Tags       []kv
	Extra      []kv
	Contexts   []ctxView
	Modules    []kv
	UserData   []kv
}

type kv struct{ K, V string }

type ctxView struct {
	Name   string
	Fields []kv
}

type excNode struct {
	Type, Value, Module string
	Mechanism           string
	Handled             string // "yes", "no" or ""
	Group               bool   // an exception group
	Stack               *stackView
	Children            []*excNode
	id                  int // the mechanism's exception_id; -1 if none
}

type threadView struct {
	Name    string
	Crashed bool
	Stack   *stackView
}

type stackView struct {
	Blocks []frameBlock // innermost first
	InApp  int
}

// frameBlock is a run of frames: one in-app frame, or library frames
// folded together.
type frameBlock struct {
	InApp  bool
	Open   bool // no in-app frame at all: nothing to fold
	Frames []frameView
}

type frameView struct {
	Function, Module, File string
	Line, Col              int
	InApp                  bool
	Pre                    []string
	Context                string
	Post                   []string
	Vars                   []kv
}

type rawEvent struct {
	Exception json.RawMessage `json:"exception"`
	Threads   json.RawMessage `json:"threads"`
	Stack     *rawStack       `json:"stacktrace"`
	Request   *struct {
		Data json.RawMessage `json:"data"`
	} `json:"request"`
	Extra    map[string]json.RawMessage            `json:"extra"`
	Contexts map[string]map[string]json.RawMessage `json:"contexts"`
	User     *struct {
		Data map[string]json.RawMessage `json:"data"`
	} `json:"user"`
}

type rawExc struct {
	Type      string    `json:"type"`
	Value     string    `json:"value"`
	Module    string    `json:"module"`
	Stack     *rawStack `json:"stacktrace"`
	Mechanism *struct {
		Type        string `json:"type"`
		Handled     *bool  `json:"handled"`
		ExceptionID *int   `json:"exception_id"`
		ParentID    *int   `json:"parent_id"`
		IsGroup     bool   `json:"is_exception_group"`
	} `json:"mechanism"`
}

type rawStack struct {
	Frames []rawFrame `json:"frames"`
}

type rawFrame struct {
	Function    string                     `json:"function"`
	Module      string                     `json:"module"`
	Package     string                     `json:"package"`
	Filename    string                     `json:"filename"`
	AbsPath     string                     `json:"abs_path"`
	Lineno      int                        `json:"lineno"`
	Colno       int                        `json:"colno"`
	InApp       bool                       `json:"in_app"`
	ContextLine string                     `json:"context_line"`
	PreContext  []string                   `json:"pre_context"`
	PostContext []string                   `json:"post_context"`
	Vars        map[string]json.RawMessage `json:"vars"`
}

type rawThread struct {
	ID      any       `json:"id"`
	Name    string    `json:"name"`
	Crashed bool      `json:"crashed"`
	Stack   *rawStack `json:"stacktrace"`
}

// decodeView reads what the page shows from the event JSON as stored.
// It is lenient: a field of an unexpected type is left out, the rest is
// shown.
func decodeView(js []byte, p *store.Project) *eventView {
	v := &eventView{}
	var pretty bytes.Buffer
	if json.Indent(&pretty, js, "", "  ") == nil {
		v.Pretty = pretty.String()
	} else {
		v.Pretty = string(js)
	}
	var raw rawEvent
	_ = json.Unmarshal(js, &raw)                   // type errors leave the other fields set
	exs, _ := decode.Values[rawExc](raw.Exception) // lenient: what decodes is shown
	v.Exceptions = excTree(exs, p)
	if len(raw.Threads) > 0 {
		ts, _ := decode.Values[rawThread](raw.Threads)
		for _, t := range ts {
			if t.Stack == nil || len(t.Stack.Frames) == 0 {
				continue
			}
			name := t.Name
			if name == "" && t.ID != nil {
				name = "thread " + jsonText(t.ID)
			}
			v.Threads = append(v.Threads, threadView{Name: name, Crashed: t.Crashed, Stack: stackOf(t.Stack, p)})
		}
	}
	if raw.Stack != nil && len(raw.Stack.Frames) > 0 {
		v.Stack = stackOf(raw.Stack, p)
	}
	if raw.Request != nil && len(raw.Request.Data) > 0 && string(raw.Request.Data) != "null" {
		var m map[string]json.RawMessage
		var str string
		switch {
		case json.Unmarshal(raw.Request.Data, &m) == nil:
			v.Data = rawPairs(m)
		case json.Unmarshal(raw.Request.Data, &str) == nil:
			v.DataText = str
		default:
			v.DataText = indent(raw.Request.Data)
		}
	}
	v.Extra = rawPairs(raw.Extra)
	for name, fields := range raw.Contexts {
		v.Contexts = append(v.Contexts, ctxView{Name: name, Fields: rawPairs(fields)})
	}
	sort.Slice(v.Contexts, func(i, j int) bool { return v.Contexts[i].Name < v.Contexts[j].Name })
	if raw.User != nil {
		v.UserData = rawPairs(raw.User.Data)
	}
	return v
}

// fill sets the views of what event.Event decoded (with its lenient
// rules for headers, cookies and tags).
func (v *eventView) fill(ev *event.Event) {
	if ev == nil {
		return
	}
	if rq := ev.Request; rq != nil {
		v.Headers, v.Cookies, v.Env = pairs(rq.Headers), pairs(rq.Cookies), pairs(rq.Env)
		if q, err := url.ParseQuery(rq.QueryString); err == nil {
			for k, vs := range q {
				for _, x := range vs {
					v.Query = append(v.Query, kv{k, x})
				}
			}
			sort.SliceStable(v.Query, func(i, j int) bool { return v.Query[i].K < v.Query[j].K })
		} else if rq.QueryString != "" {
			v.Query = []kv{{"", rq.QueryString}}
		}
	}
	v.Tags, v.Modules = pairs(ev.Tags), pairs(ev.Modules)
}

func pairs(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, x := range m {
		out = append(out, kv{k, x})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// rawPairs renders JSON values as text: strings as they are, anything
// else as indented JSON.
func rawPairs(m map[string]json.RawMessage) []kv {
	out := make([]kv, 0, len(m))
	for k, x := range m {
		var s string
		if json.Unmarshal(x, &s) != nil {
			s = indent(x)
		}
		out = append(out, kv{k, s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

func indent(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// excTree orders the chain outermost first and, when the SDK sent
// exception ids (exception groups: errors.Join, Python's
// ExceptionGroup), nests each exception under its parent.
func excTree(exs []rawExc, p *store.Project) []*excNode {
	nodes := make([]*excNode, len(exs))
	byID := map[int]*excNode{}
	for i, e := range exs {
		n := &excNode{Type: e.Type, Value: e.Value, Module: e.Module, id: -1}
		if e.Stack != nil && len(e.Stack.Frames) > 0 {
			n.Stack = stackOf(e.Stack, p)
		}
		if m := e.Mechanism; m != nil {
			n.Mechanism, n.Group = m.Type, m.IsGroup
			if m.Handled != nil {
				n.Handled = map[bool]string{true: "yes", false: "no"}[*m.Handled]
			}
			if m.ExceptionID != nil {
				byID[*m.ExceptionID], n.id = n, *m.ExceptionID
			}
		}
		nodes[i] = n
	}
	// parent[i] is the index of exception i's parent, -1 for a root.
	index := make(map[*excNode]int, len(nodes))
	for i, n := range nodes {
		index[n] = i
	}
	parent := make([]int, len(exs))
	for i := range exs {
		parent[i] = -1
		m := exs[i].Mechanism
		if m != nil && m.ParentID != nil && m.ExceptionID != nil && *m.ParentID != *m.ExceptionID {
			if p := byID[*m.ParentID]; p != nil {
				parent[i] = index[p]
			}
		}
	}
	// Parent ids that form a cycle leave its exceptions under no root:
	// the one found to close a cycle becomes a root, so that every one is
	// drawn (a bad id costs the tree, not the exception).
	for i := len(exs) - 1; i >= 0; i-- {
		seen := map[int]bool{}
		for j := i; j >= 0 && !seen[j]; j = parent[j] {
			seen[j] = true
			if parent[j] >= 0 && seen[parent[j]] {
				parent[j] = -1 // j's parent is on the path already: a cycle
			}
		}
	}
	var roots []*excNode
	// Sentry lists the chain oldest first; show the newest first, as a
	// traceback is read from the error the program saw.
	for i := len(exs) - 1; i >= 0; i-- {
		if p := parent[i]; p >= 0 {
			nodes[p].Children = append(nodes[p].Children, nodes[i])
			continue
		}
		roots = append(roots, nodes[i])
	}
	// A group lists its members in the order of their ids.
	for _, n := range nodes {
		sort.SliceStable(n.Children, func(i, j int) bool { return n.Children[i].id < n.Children[j].id })
	}
	return roots
}

// stackOf lists frames innermost first, in-app frames by themselves and
// runs of library frames folded into one block.
func stackOf(st *rawStack, p *store.Project) *stackView {
	sv := &stackView{}
	for i := len(st.Frames) - 1; i >= 0; i-- {
		f := st.Frames[i]
		mod := f.Module
		if mod == "" {
			mod = f.Package
		}
		in := store.InApp(p, event.Frame{Function: f.Function, Module: mod, Filename: f.Filename, AbsPath: f.AbsPath, InApp: f.InApp})
		file := f.Filename
		if file == "" {
			file = f.AbsPath
		}
		fv := frameView{Function: f.Function, Module: mod, File: file, Line: f.Lineno, Col: f.Colno, InApp: in,
			Pre: f.PreContext, Context: f.ContextLine, Post: f.PostContext, Vars: rawPairs(f.Vars)}
		if in {
			sv.InApp++
		}
		n := len(sv.Blocks)
		if !in && n > 0 && !sv.Blocks[n-1].InApp {
			sv.Blocks[n-1].Frames = append(sv.Blocks[n-1].Frames, fv)
			continue
		}
		sv.Blocks = append(sv.Blocks, frameBlock{InApp: in, Frames: []frameView{fv}})
	}
	if sv.InApp == 0 {
		for i := range sv.Blocks {
			sv.Blocks[i].Open = true
		}
	}
	return sv
}

// timeCorrection is the processing error that says the event's timestamp
// was corrected at ingest (clock drift, too far back or ahead): sent is
// the timestamp in the event, stored the one it was filed under.
func timeCorrection(sent, stored time.Time) []event.ProcessingError {
	if d := sent.Sub(stored); d > -time.Second && d < time.Second {
		return nil
	}
	v := "none"
	if !sent.IsZero() {
		v = sent.UTC().Format(time.RFC3339Nano)
	}
	return []event.ProcessingError{{Type: "timestamp_corrected", Name: "timestamp", Value: v,
		Reason: "filed under " + stored.UTC().Format(time.RFC3339) + ", the server's clock (clock drift, or more than 30 days back or a minute ahead)"}}
}
