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

// plain is event.Event without its methods, so that json decodes its
// fields directly.
type plain event.Event

// lenient is what Event reads: the fields whose shape varies between
// SDKs arrive raw.
type lenient struct {
	*plain
	Timestamp json.RawMessage `json:"timestamp"`
	Request   *lenientRequest `json:"request"`
	Tags      json.RawMessage `json:"tags"`
	Message   json.RawMessage `json:"message"`
	// Breadcrumbs come as {"values": […]} or as a bare list.
	Breadcrumbs json.RawMessage `json:"breadcrumbs"`
}

type lenientRequest struct {
	URL         string          `json:"url"`
	Method      string          `json:"method"`
	QueryString json.RawMessage `json:"query_string"`
	Data        any             `json:"data"`
	Headers     json.RawMessage `json:"headers"`
	Cookies     json.RawMessage `json:"cookies"`
	Env         map[string]any  `json:"env"`
}

// Event decodes an event sent by errlog or by any Sentry SDK, all of it.
// The whole object is validated in one pass (scanObject); the exception,
// stack trace and threads are read from its bytes directly (stack.go),
// the other fields with encoding/json. A message event without a stack
// trace of its own takes its crashed (else current, else first) thread's.
func Event(b []byte) (*event.Event, error) { return decodeEvent(b, nil) }

// summary are the top-level fields that grouping, the title, the culprit,
// the group list and alert rules need: what Summary decodes.
var summary = map[string]bool{
	"event_id": true, "timestamp": true, "level": true, "logger": true, "platform": true,
	"message": true, "logentry": true, "environment": true, "release": true, "fingerprint": true, "user": true,
}

// Summary decodes only what errlogd's ingest needs of an event: its id,
// timestamp, level, logger, platform, message, environment, release,
// fingerprint, user, exceptions and stack trace (frames without their
// source lines). The rest stays in the stored bytes, never decoded, but
// the whole event is validated as Event validates it.
func Summary(b []byte) (*event.Event, error) { return decodeEvent(b, summary) }

// decodeEvent decodes the fields of b in only (nil: all).
func decodeEvent(b []byte, only map[string]bool) (*event.Event, error) {
	var buf bytes.Buffer
	buf.Grow(512)
	buf.WriteByte('{')
	var exc, threads []byte
	var stacks [][]byte // each, in order: a repeated key is decoded over the first
	err := scanObject(b, func(key, val []byte) {
		switch string(key) {
		case "exception":
			exc = val
			return
		case "stacktrace":
			stacks = append(stacks, val)
			return
		case "threads":
			threads = val
			return
		}
		if only != nil && !only[string(key)] || string(val) == "null" {
			return
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.Write(key)
		buf.WriteString(`":`)
		buf.Write(val)
	})
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	buf.WriteByte('}')
	ev, err := fields(buf.Bytes())
	if err != nil {
		return nil, err
	}
	full := only == nil
	if ev.Exception, err = exceptions(exc, full); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	for _, raw := range stacks {
		if ev.Stacktrace, err = stacktrace(raw, ev.Stacktrace, full); err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
	}
	if ev.Stacktrace == nil && len(ev.Frames()) == 0 && len(threads) > 0 {
		ev.Stacktrace = threadStack(threads, full)
	}
	return ev, nil
}

// fields decodes the event's fields other than its stacks with
// encoding/json.
func fields(b []byte) (*event.Event, error) {
	e := new(event.Event)
	l := lenient{plain: (*plain)(e)}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	var err error
	if e.Timestamp, err = Timestamp(l.Timestamp); err != nil {
		return nil, err
	}
	if e.Breadcrumbs, err = decodeBreadcrumbs(l.Breadcrumbs); err != nil {
		return nil, err
	}
	if e.Tags, err = decodePairs(l.Tags); err != nil {
		return nil, fmt.Errorf("event: tags: %w", err)
	}
	if e.Logentry == nil && len(l.Message) > 0 && string(l.Message) != "null" {
		// The legacy top-level "message": a string or a logentry object.
		var s string
		if json.Unmarshal(l.Message, &s) == nil {
			e.Logentry = &event.Logentry{Formatted: s}
		} else {
			var le event.Logentry
			if err := json.Unmarshal(l.Message, &le); err != nil {
				return nil, fmt.Errorf("event: message: %w", err)
			}
			e.Logentry = &le
		}
	}
	if l.Request != nil {
		if e.Request, err = l.Request.decode(); err != nil {
			return nil, err
		}
	}
	return e, nil
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

func (r *lenientRequest) decode() (*event.Request, error) {
	req := &event.Request{URL: r.URL, Method: r.Method, Data: r.Data}
	var err error
	if req.Headers, err = decodePairs(r.Headers); err != nil {
		return nil, fmt.Errorf("event: request headers: %w", err)
	}
	if req.QueryString, err = decodeQuery(r.QueryString); err != nil {
		return nil, fmt.Errorf("event: request query_string: %w", err)
	}
	if len(r.Cookies) > 0 && r.Cookies[0] == '"' {
		var s string
		if err := json.Unmarshal(r.Cookies, &s); err != nil {
			return nil, fmt.Errorf("event: request cookies: %w", err)
		}
		req.Cookies = parseCookieHeader(s)
	} else if req.Cookies, err = decodePairs(r.Cookies); err != nil {
		return nil, fmt.Errorf("event: request cookies: %w", err)
	}
	if len(r.Env) > 0 {
		req.Env = make(map[string]string, len(r.Env))
		for k, v := range r.Env {
			req.Env[k] = stringify(v)
		}
	}
	return req, nil
}

// decodePairs reads a map of strings given as an object or as a list of
// [key, value] pairs; non-string values are kept as their JSON text.
func decodePairs(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	out := map[string]string{}
	if raw[0] == '[' {
		var pairs [][]any
		if err := json.Unmarshal(raw, &pairs); err != nil {
			return nil, err
		}
		for _, p := range pairs {
			if len(p) == 2 && p[0] != nil {
				k := stringify(p[0])
				if prev, ok := out[k]; ok {
					out[k] = prev + ", " + stringify(p[1])
				} else {
					out[k] = stringify(p[1])
				}
			}
		}
		return out, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for k, v := range m {
		out[k] = stringify(v)
	}
	return out, nil
}

func decodeQuery(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	m, err := decodePairs(raw)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for k, v := range m {
		if sb.Len() > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(k + "=" + v)
	}
	return sb.String(), nil
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

// crumb is event.Breadcrumb without its methods, its timestamp raw.
type crumb struct {
	plainCrumb
	Timestamp json.RawMessage `json:"timestamp"`
}

type plainCrumb event.Breadcrumb

func (c *crumb) UnmarshalJSON(data []byte) error {
	type fields crumb // no UnmarshalJSON: no recursion
	if err := json.Unmarshal(data, (*fields)(c)); err != nil {
		return fmt.Errorf("event: breadcrumb: %w", err)
	}
	t, err := Timestamp(c.Timestamp)
	if err != nil {
		return fmt.Errorf("event: breadcrumb: %w", err)
	}
	c.plainCrumb.Timestamp = t
	return nil
}

// decodeBreadcrumbs reads breadcrumbs as {"values": […]}, the schema's
// form, or as a bare list, which some SDKs send, each timestamp as an RFC
// 3339 string or as seconds since the epoch.
func decodeBreadcrumbs(raw json.RawMessage) ([]event.Breadcrumb, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	list, err := Values[crumb](raw)
	if err != nil {
		return nil, fmt.Errorf("event: breadcrumbs: %w", err)
	}
	out := make([]event.Breadcrumb, len(list))
	for i := range list {
		out[i] = event.Breadcrumb(list[i].plainCrumb)
	}
	return out, nil
}
