package errlog

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/levels"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/values"
)

// buildEvent turns a job into the event every sink receives. It runs on
// the delivery goroutine: none of this costs the caller.
func (c *core) buildEvent(j *job) *event.Event {
	r := &j.r
	ev := &event.Event{
		EventID:     j.id(),
		Timestamp:   r.Time,
		Level:       levels.Sentry(r.Level),
		Logger:      "slog",
		Platform:    "go",
		Logentry:    &event.Logentry{Message: r.Message},
		Environment: c.opts.Environment,
		Release:     c.opts.Release,
		SDK:         &event.SDK{Name: "errlog.go", Version: Version},
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = c.now()
	}
	c.env.applyTo(ev)
	addContexts(ev, j.contexts)

	b := eventBuilder{c: c, ev: ev, extra: map[string]any{}}
	if st := j.scope; st != nil {
		for _, x := range st.extras {
			if len(b.extra) >= MaxAttrs {
				b.more++
				continue
			}
			b.extra[values.Truncate(x.key, c.san.max)] = b.maskedAny(x.key, values.JSON(x.value))
		}
		for k, v := range st.tags {
			b.tag(k, v)
		}
		if st.user != nil {
			u := *st.user
			ev.User = &u
		}
		if len(st.fingerprint) > 0 {
			// Masked as the same parts given as a "fingerprint" attr are:
			// a fingerprint leaves the process with the event.
			fp := make([]string, len(st.fingerprint))
			for i, part := range st.fingerprint {
				fp[i] = c.san.text(part)
			}
			ev.Fingerprint = fp
		}
	}
	// Attrs from WithAttrs and WithGroup, then the record's, each under
	// the groups open when it was added.
	var prefix []string
	for _, g := range j.goas {
		if g.group != "" {
			prefix = append(prefix, g.group)
			continue
		}
		for _, a := range g.attrs {
			b.attr(prefix, a)
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		b.attr(prefix, a)
		return true
	})
	if b.more > 0 {
		b.extra["…"] = strconv.Itoa(b.more) + " more"
	}
	if len(b.extra) > 0 {
		ev.Extra = b.extra
	}

	pcs := j.pcs[:j.npcs]
	if b.err != nil {
		ev.Exception = exceptionChain(b.err, pcs, c.san.max)
	} else if len(pcs) > 0 {
		ev.Stacktrace = &event.Stacktrace{Frames: stack.Frames(pcs)}
	}
	if j.req != nil {
		ev.Request = c.requestEvent(j.req)
		ev.Transaction = j.req.route
		if j.req.maskedContext != nil {
			ev.Contexts["request context"] = j.req.maskedContext
		}
		if ev.User == nil && j.req.user != nil {
			ev.User = j.req.user
		}
	}
	if ev.User != nil {
		ev.User = c.maskUser(ev.User) // a copy: the user may be shared
	}
	if c.opts.SendDefaultPII && j.req != nil {
		// The client's address is personal data: sent only when asked.
		if ev.User == nil {
			ev.User = &event.User{}
		}
		if ev.User.IPAddress == "" {
			ev.User.IPAddress = hostOnly(j.req.remoteAddr)
		}
	}
	c.scrubEvent(ev)
	return ev
}

// scrubEvent masks the secrets of a known shape (scrub.go) in the texts
// of ev that no key masks: the errors' texts above all, which wrap
// whatever the failing code had in hand (a connection URL, a token).
// Attrs, extras, the request and source lines were scrubbed as they were
// sanitized.
func (c *core) scrubEvent(ev *event.Event) {
	m := c.san.m
	for i := range ev.Exception {
		x := &ev.Exception[i]
		x.Value = m.scrubText(x.Value)
		if x.Mechanism != nil {
			x.Mechanism.Description = m.scrubText(x.Mechanism.Description)
		}
	}
	if l := ev.Logentry; l != nil {
		l.Formatted = m.scrubText(l.Formatted)
	}
	ev.Transaction = m.scrub(ev.Transaction)
	for k, v := range ev.Tags {
		if t := m.scrub(v); t != v {
			ev.Tags[k] = t
		}
	}
	if u := ev.User; u != nil {
		u.ID, u.Username = m.scrub(u.ID), m.scrub(u.Username)
	}
}

// hostOnly returns the host of a "host:port" address (REMOTE_ADDR as
// WSGI has it carries no port), or addr itself.
func hostOnly(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// maskUser returns a copy of u whose Data is masked like attrs: the
// application's user (Scope.SetUser, a ContextBuilder) carries what it
// likes.
func (c *core) maskUser(u *event.User) *event.User {
	out := *u
	if u.Data != nil {
		out.Data, _ = c.san.cleanTree(catNone, values.JSON(u.Data)).(map[string]any)
	}
	return &out
}

// eventBuilder collects the attrs of one event.
type eventBuilder struct {
	c     *core
	ev    *event.Event
	extra map[string]any
	err   error // the first error among the attrs: the event's exception
	more  int   // attrs left out past MaxAttrs
}

func (b *eventBuilder) attr(prefix []string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if len(prefix) == 0 && a.Value.Kind() == slog.KindGroup {
		switch a.Key {
		case "user":
			b.ev.User = userOf(a.Value.Group())
			return
		case "tags":
			for _, t := range a.Value.Group() {
				b.tag(t.Key, t.Value.Resolve().String())
			}
			return
		}
	}
	if len(prefix) == 0 && a.Key == "fingerprint" {
		if fp := stringList(a.Value.Any()); fp != nil {
			b.ev.Fingerprint = fp
			return
		}
	}
	if a.Value.Kind() == slog.KindAny {
		if err, ok := a.Value.Any().(error); ok && b.err == nil && !values.IsNilPointer(reflect.ValueOf(err)) {
			// A typed nil ((*myErr)(nil)) is no failure to report: the
			// record stays a log record, titled and grouped by its
			// message; the attribute still shows as "<nil>".
			b.err = err
		}
	}
	key := a.Key
	if len(prefix) > 0 {
		key = strings.Join(prefix, ".") + "." + a.Key
	}
	if a.Value.Kind() == slog.KindGroup && a.Key == "" {
		for _, g := range a.Value.Group() { // an inline group
			b.attr(prefix, g)
		}
		return
	}
	if a.Key == "…" && a.Value.Kind() == slog.KindString {
		// The sanitizer's summary of attrs left out of the record.
		if n, err := strconv.Atoi(strings.TrimSuffix(a.Value.String(), " more")); err == nil {
			b.more += n
			return
		}
	}
	if _, dup := b.extra[key]; !dup && len(b.extra) >= MaxAttrs {
		b.more++
		return
	}
	b.extra[key] = b.maskedAny(a.Key, attrJSON(a.Value))
}

func (b *eventBuilder) tag(k, v string) {
	if b.ev.Tags == nil {
		b.ev.Tags = map[string]string{}
	}
	if b.c.san.m.hides(catNone, k) {
		v = b.c.san.m.with
	}
	b.ev.Tags[k] = v
}

// maskedAny masks a value under key: whole if the key is secret, else
// every secret key inside it; and bounds it.
func (b *eventBuilder) maskedAny(key string, v any) any {
	san := &b.c.san
	if key != "" && san.m.hides(catNone, key) {
		return san.m.with
	}
	return san.cleanTree(subCategory(catNone, key), v)
}

// attrJSON converts a resolved slog value to a JSON value.
func attrJSON(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		return values.JSON(v.Float64())
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format("2006-01-02T15:04:05.000000Z07:00")
	case slog.KindGroup:
		m := make(map[string]any, len(v.Group()))
		for _, a := range v.Group() {
			m[a.Key] = attrJSON(a.Value.Resolve())
		}
		return m
	}
	x := v.Any()
	if se, ok := x.(safeError); ok {
		return se.text
	}
	return values.JSON(x)
}

func userOf(attrs []slog.Attr) *event.User {
	u := &event.User{}
	for _, a := range attrs {
		v := a.Value.Resolve()
		switch strings.ToLower(a.Key) {
		case "id":
			u.ID = v.String()
		case "email":
			u.Email = v.String()
		case "username", "name":
			u.Username = v.String()
		case "ip_address", "ip":
			u.IPAddress = v.String()
		default:
			if u.Data == nil {
				u.Data = map[string]any{}
			}
			u.Data[a.Key] = attrJSON(v)
		}
	}
	return u
}

func ownPCsSafe(e error) (pcs []uintptr) {
	defer func() {
		if recover() != nil {
			pcs = nil
		}
	}()
	return stack.OwnPCs(e)
}

func typeName(e error) string {
	return reflect.TypeOf(e).String()
}

func typeModule(e error) string {
	t := reflect.TypeOf(e)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// requestEvent builds and masks the event form of a request once; every
// event of the request shares it.
func (c *core) requestEvent(s *requestSnapshot) *event.Request {
	s.once.Do(func() {
		m := c.san.m
		u := s.url
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		req := &event.Request{URL: m.scrub(u), Method: s.method, QueryString: m.maskQuery(s.query)}
		if len(s.header) > 0 {
			req.Headers = make(map[string]string, len(s.header))
			for k, vs := range s.header {
				req.Headers[k] = m.scrubHeader(strings.Join(vs, ", "))
			}
			m.maskStrings(catHeaders, req.Headers)
			if cookies := (&http.Request{Header: s.header}).Cookies(); len(cookies) > 0 {
				req.Cookies = make(map[string]string, len(cookies))
				for _, ck := range cookies {
					req.Cookies[ck.Name] = m.scrub(ck.Value)
				}
				m.maskStrings(catCookies, req.Cookies)
			}
		}
		req.Data = c.requestData(s)
		req.Env = map[string]string{"REMOTE_ADDR": hostOnly(s.remoteAddr), "SERVER_PROTOCOL": s.proto}
		if s.context != nil {
			if uv, ok := s.context["user"]; ok {
				s.user = contextUser(uv)
			}
			if rc, ok := c.san.cleanTree(catNone, s.context).(map[string]any); ok {
				s.maskedContext = rc
			}
		}
		s.ev = req
	})
	return s.ev
}

// requestData returns the body as fields (form, JSON), masked. A body that
// cannot be split into fields and mentions a secret key is withheld whole:
// there is no way to mask only the secret in it.
func (c *core) requestData(s *requestSnapshot) any {
	if len(s.body) == 0 {
		return nil
	}
	m := c.san.m
	switch {
	case s.contentType == "application/x-www-form-urlencoded" && !s.bodyCut:
		vals, err := url.ParseQuery(string(s.body))
		if err == nil {
			out := make(map[string]any, len(vals))
			for k, vs := range vals {
				if len(vs) == 1 {
					out[k] = vs[0]
				} else {
					out[k] = vs
				}
				if m.hides(catParams, k) {
					out[k] = m.with
				} else if len(vs) == 1 {
					out[k] = m.scrub(vs[0])
				} else {
					for i, v := range vs {
						vs[i] = m.scrub(v)
					}
				}
			}
			return out
		}
	case (s.contentType == "application/json" || strings.HasSuffix(s.contentType, "+json")) && !s.bodyCut:
		var v any
		if err := json.Unmarshal(s.body, &v); err == nil {
			return c.san.cleanTree(catParams, v)
		}
	}
	text := m.scrub(string(s.body))
	if m.mentionsKey(text) {
		return "[body withheld: it mentions a masked key and could not be parsed to mask it]"
	}
	if s.bodyCut || s.bodyPartial {
		text += "…[truncated]"
	}
	return text
}

func contextUser(v any) *event.User {
	switch u := v.(type) {
	case event.User:
		return &u
	case *event.User:
		return u
	case map[string]any:
		out := &event.User{}
		for k, val := range u {
			s, _ := val.(string)
			switch k {
			case "id":
				out.ID = s
			case "email":
				out.Email = s
			case "username":
				out.Username = s
			case "ip_address":
				out.IPAddress = s
			}
		}
		return out
	case map[string]string:
		return &event.User{ID: u["id"], Email: u["email"], Username: u["username"], IPAddress: u["ip_address"]}
	}
	return nil
}

// stringList returns v as a list of strings, if it is one.
func stringList(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}
