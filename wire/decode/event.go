package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/event"
)

// Event decodes an event sent by errlog or by any Sentry SDK, all of it,
// leniently as Relay normalizes: the only error is bytes that are not a
// JSON object. A value of the wrong type costs that value, never the
// event: a number or boolean where a string belongs becomes its text
// (user.id 42 is "42"), anything else is dropped and recorded in
// Event.Errors. The whole object is validated in one pass (scanObject);
// the exception, stack trace and threads are read from its bytes
// directly (stack.go). A message event without a stack trace of its own
// takes its crashed (else current, else first) thread's. The legacy
// interface names (sentry.interfaces.Exception, .Message, .Stacktrace,
// .Http, .User) are read as their modern ones.
func Event(b []byte) (*event.Event, error) { return decodeEvent(b, nil, nil) }

// summary are the top-level fields that grouping, the title, the culprit,
// the group list and alert rules need: what Summary decodes.
var summary = map[string]bool{
	"event_id": true, "timestamp": true, "level": true, "logger": true, "platform": true,
	"message": true, "logentry": true, "environment": true, "release": true, "fingerprint": true, "user": true,
	"tags": true, "culprit": true, "transaction": true, "sdk": true, "exception": true, "stacktrace": true, "threads": true,
	"contexts": true, // the trace (store.TraceID) and the group key errlog's client sends
}

// Summary decodes only what errlogd's ingest needs of an event: its id,
// timestamp, level, logger, platform, message, environment, release,
// fingerprint, user, tags, culprit, transaction, sdk, contexts, exceptions
// and stack trace (frames with their own source line, which grouping
// reads, without the lines around it). The rest stays in the
// stored bytes, never decoded, but the whole event is validated as Event
// validates it.
func Summary(b []byte) (*event.Event, error) { return decodeEvent(b, summary, nil) }

// Found says where an event may hold a value to scrub (SummaryKeys).
type Found struct {
	// Keys: an object key of the event, at any depth, passes the keys
	// filter (but the names of "modules", which are packages), or a tag's
	// name sent as a [name, value] pair does.
	Keys bool
	// RequestStart and RequestEnd are the offsets of the request's value
	// when it names one of the request filter's words with a value (a
	// query's "?token=…", a form's "password=…", a header's name);
	// RequestEnd is 0 when it does not.
	RequestStart, RequestEnd int
}

// Any reports whether f found anything.
func (f Found) Any() bool { return f.Keys || f.RequestEnd > 0 }

// SummaryKeys is Summary that also reports where the event may hold a
// value to scrub, found during the same scan. request nil is keys; it
// may hold more words than keys, for names only headers use
// ("X-Functions-Key").
func SummaryKeys(b []byte, keys, request *KeyFilter) (*event.Event, Found, error) {
	if request == nil {
		request = keys
	}
	k := &keyWatch{filter: keys, request: request}
	ev, err := decodeEvent(b, summary, k)
	if err != nil {
		return ev, Found{}, err
	}
	if !k.hit {
		for name := range ev.Tags {
			if keys.Match(name) {
				k.hit = true
				break
			}
		}
	}
	return ev, Found{Keys: k.hit, RequestStart: k.reqStart, RequestEnd: k.reqEnd}, nil
}

// contain turns a panic of the decoder into *err: a bug of this decoder
// on some input must cost that event, not the process. errlogd decodes
// stored events on goroutines of its own (the alert notifier), where a
// panic would end it, and again after each restart.
func contain(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("event: decoder failed: %v", p)
	}
}

// aliases are the legacy interface names Relay still reads.
var aliases = map[string]string{
	"sentry.interfaces.Exception":   "exception",
	"sentry.interfaces.Message":     "logentry",
	"sentry.interfaces.Stacktrace":  "stacktrace",
	"sentry.interfaces.Http":        "request",
	"sentry.interfaces.User":        "user",
	"sentry.interfaces.Breadcrumbs": "breadcrumbs",
	"sentry.interfaces.Threads":     "threads",
}

// reader holds one event's decoding.
type reader struct {
	ev      *event.Event
	errs    []event.ProcessingError
	exc     []byte
	threads []byte
	stacks  [][]byte // each, in order: a repeated key is decoded over the first
	message []byte   // the legacy top-level "message"
}

func decodeEvent(b []byte, only map[string]bool, keys *keyWatch) (_ *event.Event, err error) {
	defer contain(&err)
	r := reader{ev: new(event.Event)}
	err = scanObjectKeys(b, keys, func(key, val []byte) {
		k := string(key)
		if a, ok := aliases[k]; ok {
			k = a
		}
		if only != nil && !only[k] {
			return
		}
		r.field(k, val)
	})
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	ev, full := r.ev, only == nil
	if ev.Logentry == nil && !isNull(r.message) {
		ev.Logentry = r.logentry("message", r.message)
	}
	// Decoded after the other fields: the scanner's errors follow theirs.
	if ev.Exception, err = exceptions(r.exc, full, &r.errs); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	for _, raw := range r.stacks {
		if ev.Stacktrace, err = stacktrace(raw, ev.Stacktrace, full, &r.errs); err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
	}
	if ev.Stacktrace == nil && len(ev.Frames()) == 0 && len(r.threads) > 0 {
		ev.Stacktrace = threadStack(r.threads, full, &r.errs)
	}
	ev.Errors = r.errs
	return ev, nil
}

func (r *reader) field(k string, val []byte) {
	ev := r.ev
	switch k {
	case "exception":
		r.exc = val
	case "stacktrace":
		r.stacks = append(r.stacks, val)
	case "threads":
		r.threads = val
	case "message":
		r.message = val
	case "event_id":
		r.str(k, val, &ev.EventID)
	case "level":
		r.level(k, val, &ev.Level)
	case "logger":
		r.str(k, val, &ev.Logger)
	case "platform":
		r.str(k, val, &ev.Platform)
	case "transaction":
		r.str(k, val, &ev.Transaction)
	case "culprit":
		r.str(k, val, &ev.ClientCulprit)
	case "server_name":
		r.str(k, val, &ev.ServerName)
	case "environment":
		r.str(k, val, &ev.Environment)
	case "release":
		r.str(k, val, &ev.Release)
	case "timestamp":
		t, err := Timestamp(val)
		if err != nil {
			r.drop(k, val, err.Error())
		}
		ev.Timestamp = t
	case "logentry":
		if le := r.logentry(k, val); le != nil {
			ev.Logentry = le
		}
	case "fingerprint":
		ev.Fingerprint = r.fingerprint(k, val)
	case "tags":
		if val[0] == '{' {
			ev.Tags = map[string]string{}
			members(val, func(mk, mv []byte) { ev.Tags[string(mk)] = r.text(mv) })
		} else {
			ev.Tags = r.pairs(k, decodeAny(val))
		}
	case "user":
		ev.User = r.user(k, val)
	case "request":
		ev.Request = r.request(k, val)
	case "contexts":
		ev.Contexts = r.contexts(k, val)
	case "extra":
		if m, ok := r.object(k, val); ok {
			ev.Extra = plainMap(m)
		}
	case "modules":
		if m, ok := r.object(k, val); ok {
			ev.Modules = make(map[string]string, len(m))
			for mk, mv := range m {
				ev.Modules[mk] = stringify(mv)
			}
		}
	case "sdk":
		if sdk := r.sdk(k, val); sdk != nil {
			ev.SDK = sdk
		}
	case "breadcrumbs":
		ev.Breadcrumbs = r.breadcrumbs(k, val)
	}
}

// sdk reads the client's name and version; nil if val is not an object.
func (r *reader) sdk(name string, val []byte) *event.SDK {
	if !r.isObject(name, val) {
		return nil
	}
	sdk := &event.SDK{}
	members(val, func(mk, mv []byte) {
		switch string(mk) {
		case "name":
			r.str(name+".name", mv, &sdk.Name)
		case "version":
			r.str(name+".version", mv, &sdk.Version)
		}
	})
	return sdk
}

// drop records a value of field name dropped for reason.
func (r *reader) drop(name string, val []byte, reason string) {
	r.errs = append(r.errs, invalid(name, val, reason))
}

// dropAny records a decoded value dropped.
func (r *reader) dropAny(name string, v any, reason string) {
	b, _ := json.Marshal(v)
	r.drop(name, b, reason)
}

// str reads a string field: a number or boolean is taken as its text,
// null leaves *dst, anything else is dropped.
func (r *reader) str(name string, val []byte, dst *string) {
	switch c := val[0]; {
	case c == '"':
		*dst = unquote(val[1 : len(val)-1])
	case c == 'n':
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f':
		*dst = string(val)
	default:
		r.drop(name, val, kind(c)+", want a string")
	}
}

// anyStr is str for a decoded value.
func (r *reader) anyStr(name string, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	r.dropAny(name, v, "want a string")
	return ""
}

// object decodes an object; anything else but null is dropped. Its
// numbers are json.Number: free-form values (extra, contexts, data) go
// through plain before they are kept.
func (r *reader) object(name string, val []byte) (map[string]any, bool) {
	switch val[0] {
	case 'n':
		return nil, false
	case '{':
		return decodeAny(val).(map[string]any), true
	}
	r.drop(name, val, kind(val[0])+", want an object")
	return nil, false
}

// plain turns the json.Numbers of a decoded value into float64, as
// encoding/json decodes numbers into any: free-form values keep the
// types every reader of event.Event expects.
func plain(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return v.String()
		}
		return f
	case map[string]any:
		for k, x := range v {
			v[k] = plain(x)
		}
	case []any:
		for i, x := range v {
			v[i] = plain(x)
		}
	}
	return v
}

func plainMap(m map[string]any) map[string]any {
	plain(m)
	return m
}

// members calls f with the raw key and value of each member of the
// object val (validated by scanObject already): the fields a reader
// needs are read from the bytes, without decoding the rest.
func members(val []byte, f func(key, v []byte)) {
	_ = scanObject(val, f)
}

// isObject reports whether val is an object; any other value but null
// is dropped.
func (r *reader) isObject(name string, val []byte) bool {
	switch val[0] {
	case '{':
		return true
	case 'n':
		return false
	}
	r.drop(name, val, kind(val[0])+", want an object")
	return false
}

// text is a value as a string map holds it: a string as it is, a
// number or boolean as its text, null as "", anything else as its JSON.
func (r *reader) text(v []byte) string {
	switch v[0] {
	case '{', '[':
		return stringify(plain(decodeAny(v)))
	case 'n':
		return ""
	}
	var s string
	r.str("", v, &s)
	return s
}

// levels are the level names Relay reads, and what they mean.
var levels = map[string]event.Level{
	"debug": event.LevelDebug, "info": event.LevelInfo, "log": event.LevelInfo,
	"warning": event.LevelWarning, "warn": event.LevelWarning, "error": event.LevelError,
	"fatal": event.LevelFatal, "critical": event.LevelFatal,
}

// pythonLevels are Python's logging levels.
var pythonLevels = map[string]event.Level{
	"10": event.LevelDebug, "20": event.LevelInfo, "30": event.LevelWarning, "40": event.LevelError, "50": event.LevelFatal,
}

func (r *reader) level(name string, val []byte, dst *event.Level) {
	var s string
	r.str(name, val, &s)
	if s == "" {
		return
	}
	if c := val[0]; c >= '0' && c <= '9' {
		// Python's logging levels, as raven-python sends them and Relay
		// reads them (Level::from_python_level).
		if l, ok := pythonLevels[s]; ok {
			*dst = l
			return
		}
	}
	if l, ok := levels[strings.ToLower(strings.TrimSpace(s))]; ok {
		*dst = l
		return
	}
	r.drop(name, val, "not a level")
}

// logentry reads a logentry (or the legacy message): an object, or a
// string, the formatted message. Params may be a list, or an object
// (named parameters, kept as the list's one element).
func (r *reader) logentry(name string, val []byte) *event.Logentry {
	switch c := val[0]; {
	case c == 'n':
		return nil
	case c == '"' || c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f':
		le := &event.Logentry{}
		r.str(name, val, &le.Formatted)
		return le
	case c != '{':
		r.drop(name, val, kind(c)+", want an object or a string")
		return nil
	}
	le := &event.Logentry{}
	members(val, func(k, v []byte) {
		switch string(k) {
		case "message":
			r.str(name+".message", v, &le.Message)
		case "formatted":
			r.str(name+".formatted", v, &le.Formatted)
		case "params":
			switch p := plain(decodeAny(v)).(type) {
			case nil:
				le.Params = nil
			case []any:
				le.Params = p
			default:
				le.Params = []any{p}
			}
		}
	})
	return le
}

// fingerprint reads a list of strings: numbers and booleans become their
// text, other elements are dropped.
func (r *reader) fingerprint(name string, val []byte) []string {
	list, ok := decodeAny(val).([]any)
	if !ok {
		if val[0] != 'n' {
			r.drop(name, val, kind(val[0])+", want a list")
		}
		return nil
	}
	out := make([]string, 0, len(list))
	for i, v := range list {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case json.Number:
			out = append(out, v.String())
		case bool:
			out = append(out, strconv.FormatBool(v))
		default:
			r.dropAny(name+"."+strconv.Itoa(i), v, "want a string")
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// pairs reads a map of strings given as an object or as a list of [key,
// value] pairs; non-string values are kept as their JSON text, repeated
// keys joined with ", ".
func (r *reader) pairs(name string, v any) map[string]string {
	switch v := v.(type) {
	case nil:
		return nil
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, x := range v {
			out[k] = stringify(x)
		}
		return out
	case []any:
		out := make(map[string]string, len(v))
		for i, x := range v {
			p, ok := x.([]any)
			if !ok || len(p) != 2 || p[0] == nil {
				r.dropAny(name+"."+strconv.Itoa(i), x, "want a [key, value] pair")
				continue
			}
			k := stringify(p[0])
			if prev, ok := out[k]; ok {
				out[k] = prev + ", " + stringify(p[1])
			} else {
				out[k] = stringify(p[1])
			}
		}
		return out
	}
	r.dropAny(name, v, "want an object or a list of pairs")
	return nil
}

func (r *reader) user(name string, val []byte) *event.User {
	if !r.isObject(name, val) {
		return nil
	}
	u := &event.User{}
	members(val, func(k, v []byte) {
		switch string(k) {
		case "id":
			r.str(name+".id", v, &u.ID)
		case "email":
			r.str(name+".email", v, &u.Email)
		case "username":
			r.str(name+".username", v, &u.Username)
		case "ip_address":
			r.str(name+".ip_address", v, &u.IPAddress)
		case "data":
			if !r.isObject(name+".data", v) {
				return
			}
			d, _ := plain(decodeAny(v)).(map[string]any)
			if u.Data == nil {
				u.Data = d
			} else {
				for dk, dv := range d {
					u.Data[dk] = dv
				}
			}
		default: // name, geo, segment, …: shown with the data
			if isNull(v) {
				return
			}
			if u.Data == nil {
				u.Data = map[string]any{}
			}
			if _, ok := u.Data[string(k)]; !ok {
				u.Data[string(k)] = plain(decodeAny(v))
			}
		}
	})
	return u
}

func (r *reader) request(name string, val []byte) *event.Request {
	m, ok := r.object(name, val)
	if !ok {
		return nil
	}
	req := &event.Request{
		URL:    r.anyStr(name+".url", m["url"]),
		Method: r.anyStr(name+".method", m["method"]),
		Data:   plain(m["data"]),
	}
	req.Headers = r.pairs(name+".headers", m["headers"])
	switch q := m["query_string"].(type) {
	case nil:
	case string:
		req.QueryString = q
	default:
		var sb strings.Builder
		for k, v := range r.pairs(name+".query_string", q) {
			if sb.Len() > 0 {
				sb.WriteByte('&')
			}
			sb.WriteString(k + "=" + v)
		}
		req.QueryString = sb.String()
	}
	if c, ok := m["cookies"].(string); ok {
		req.Cookies = parseCookieHeader(c)
	} else {
		req.Cookies = r.pairs(name+".cookies", m["cookies"])
	}
	switch env := m["env"].(type) {
	case nil:
	case map[string]any:
		req.Env = make(map[string]string, len(env))
		for k, v := range env {
			req.Env[k] = stringify(v)
		}
	default:
		r.dropAny(name+".env", env, "want an object")
	}
	return req
}

func (r *reader) contexts(name string, val []byte) map[string]map[string]any {
	m, ok := r.object(name, val)
	if !ok {
		return nil
	}
	out := make(map[string]map[string]any, len(m))
	for k, v := range m {
		switch c := v.(type) {
		case nil:
		case map[string]any:
			out[k] = plainMap(c)
		default:
			r.dropAny(name+"."+k, v, "want an object")
		}
	}
	return out
}

// breadcrumbs reads {"values": […]}, the schema's form, or a bare list,
// each timestamp as an RFC 3339 string or as seconds since the epoch.
func (r *reader) breadcrumbs(name string, val []byte) []event.Breadcrumb {
	v := decodeAny(val)
	if m, ok := v.(map[string]any); ok {
		v = m["values"]
	}
	list, ok := v.([]any)
	if !ok {
		if v != nil {
			r.dropAny(name, v, "want a list")
		}
		return nil
	}
	out := make([]event.Breadcrumb, 0, len(list))
	for i, x := range list {
		n := name + "." + strconv.Itoa(i)
		m, ok := x.(map[string]any)
		if !ok {
			if x != nil {
				r.dropAny(n, x, "want an object")
			}
			continue
		}
		b := event.Breadcrumb{
			Type:     r.anyStr(n+".type", m["type"]),
			Category: r.anyStr(n+".category", m["category"]),
			Message:  r.anyStr(n+".message", m["message"]),
		}
		if l, ok := levels[strings.ToLower(r.anyStr(n+".level", m["level"]))]; ok {
			b.Level = l
		}
		if d, ok := m["data"].(map[string]any); ok {
			b.Data = plainMap(d)
		}
		if ts := m["timestamp"]; ts != nil {
			raw, _ := json.Marshal(ts)
			t, err := Timestamp(raw)
			if err != nil {
				r.drop(n+".timestamp", raw, err.Error())
			}
			b.Timestamp = t
		}
		out = append(out, b)
	}
	return out
}

// Timestamp reads a Sentry timestamp: an RFC 3339 string (with or
// without a zone, then UTC) or a number of seconds since the epoch. null
// or nothing is the zero time.
func Timestamp(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("event: timestamp %q is not RFC 3339", s)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, fmt.Errorf("event: timestamp %s is neither a string nor a number", raw)
	}
	// Years 1 to 9999, as RFC 3339 has them (and JSON can encode).
	if !(f >= -62135596800 && f < 253402300800) {
		return time.Time{}, fmt.Errorf("event: timestamp %s is out of range", raw)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Microsecond), nil
}

// Values decodes one of Sentry's interface lists (exception, threads,
// breadcrumbs): a JSON list, or an object holding it under "values", as
// SDKs send either. Empty or null is no list. With an error, what could be
// decoded is returned too (encoding/json skips a field of the wrong type
// and goes on), for readers that show what they can.
func Values[T any](raw json.RawMessage) ([]T, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '[' {
		var list []T
		err := json.Unmarshal(raw, &list)
		return list, err
	}
	var wrapped struct {
		Values []T `json:"values"`
	}
	err := json.Unmarshal(raw, &wrapped)
	return wrapped.Values, err
}

func parseCookieHeader(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k != "" {
			out[k] = v
		}
	}
	return out
}

func stringify(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}
