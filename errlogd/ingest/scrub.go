package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
)

// Filtered replaces what a Scrubber removes, as Sentry's server writes it.
const Filtered = store.Filtered

// Scrubber removes secrets from the events of stock Sentry SDKs before
// they are stored, as Sentry's server does by default: a Python SDK
// before 1.18 sends its frames' local variables unscrubbed, "password"
// among them, and the source lines around them.
//
// An event holding a key that names a secret, at any depth (frame
// variables, extra, contexts, request data, headers and cookies,
// breadcrumbs' data, tags, user data, logentry params), has the values
// under such keys replaced by Filtered, and its other strings masked by
// errlog's rules for text (errlog.Masker.Text: a source line's
// password = "…", a URL's password or token parameter, a bearer token),
// but for those its group, title and culprit are read from, where they
// are read (an exception's type, value and module, messages), and the
// names of code (a frame's function, module, package, file), which stay
// as they came. An event whose request alone names a secret with a value
// ("?access_token=…", a form's "password=…") has its request alone
// scrubbed so. Keys are matched as errlog's client matches them
// (errlog.MaskOptions.Keys: case ignored, "-", "_", "." and " " alike, a
// key of four letters or fewer as a whole word), request headers by
// errlog's header filter too. An event without any of these is stored as
// it came, and so is every event of errlog's client, which masks before
// sending.
//
// Finding them costs an event little beyond the scan ingest makes anyway
// (decode.SummaryKeys); only what they are found in is decoded again and
// written anew.
type Scrubber struct {
	masker  *errlog.Masker
	filter  *decode.KeyFilter
	request *decode.KeyFilter
}

// NewScrubber returns a Scrubber of errlog's default mask keys and the
// extra ones.
func NewScrubber(extra []string) *Scrubber {
	keys := errlog.DefaultMaskKeys()
	for _, k := range extra {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	// Only filter entries can be bad, and these options have none of
	// their own: the header filter is errlog's default.
	m, _ := errlog.NewMasker(errlog.MaskOptions{Keys: keys, With: Filtered})
	return &Scrubber{masker: m, filter: decode.NewKeyFilter(keys),
		request: decode.NewKeyFilter(append(keys, headerWords...))}
}

// headerWords are the words of errlog's default header filter that are no
// mask key: only a request's names are looked at for them ("X-Functions-
// Key", "X-Csrf", "X-Session"), as the key of any object they would flag
// too many events for nothing.
var headerWords = []string{"key", "csrf", "session"}

// summary decodes b as decode.Summary does, and reports where b may hold
// a value to scrub (nothing for errlog's own events).
func (s *Scrubber) summary(b []byte) (*event.Event, decode.Found, error) {
	ev, found, err := decode.SummaryKeys(b, s.filter, s.request)
	if err != nil || !found.Any() || ev.SDK != nil && ev.SDK.Name == "errlog.go" {
		return ev, decode.Found{}, err
	}
	return ev, found, nil
}

// scrub scrubs b where found says: the whole event when a key names a
// secret, else only its request (a form's "token=…" costs the request's
// decoding, not the event's).
func (s *Scrubber) scrub(b []byte, found decode.Found) ([]byte, bool, error) {
	if found.Keys {
		return s.Event(b)
	}
	if found.RequestEnd == 0 {
		return b, false, nil
	}
	var r map[string]any
	if err := decodeJSON(b[found.RequestStart:found.RequestEnd], &r); err != nil {
		return b, false, fmt.Errorf("scrub: request: %w", err)
	}
	w := walker{s: s}
	w.request(r)
	if !w.changed && !duplicateKeys(b[found.RequestStart:found.RequestEnd]) {
		return b, false, nil
	}
	req, err := encode(r)
	if err != nil {
		return b, false, err
	}
	out := make([]byte, 0, len(b)-(found.RequestEnd-found.RequestStart)+len(req))
	out = append(out, b[:found.RequestStart]...)
	out = append(out, req...)
	return append(out, b[found.RequestEnd:]...), true, nil
}

// duplicateKeys reports whether an object in the JSON b has a key twice
// (as decoded: "extra" and "ext\u0072a" are one key). Decoded into a map,
// the last of them is what was scrubbed; the bytes as they came would
// keep the first, a secret under it included, so such an event is stored
// as it was decoded. Only events that name a secret and had nothing to
// replace are read again for it.
func duplicateKeys(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	type object struct {
		keys  map[string]struct{}
		inKey bool // the next token is a key
	}
	var stack []*object
	for {
		t, err := d.Token()
		if err != nil {
			return false // the event was decoded; its end is io.EOF
		}
		var top *object
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.inKey {
			if k, ok := t.(string); ok {
				if _, seen := top.keys[k]; seen {
					return true
				}
				top.keys[k] = struct{}{}
				top.inKey = false
				continue
			}
		}
		switch t {
		case json.Delim('{'):
			stack = append(stack, &object{keys: map[string]struct{}{}, inKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the object holding it expects a key next.
		if len(stack) > 0 && stack[len(stack)-1] != nil {
			stack[len(stack)-1].inKey = true
		}
	}
}

// decodeJSON decodes b into v, its numbers as sent (json.Number).
func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// encode is v's JSON, not escaped for HTML.
func encode(v any) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("scrub: %w", err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// Event returns the event JSON b with the values under secret keys
// replaced by Filtered, and whether it replaced any; b itself when none.
func (s *Scrubber) Event(b []byte) ([]byte, bool, error) {
	var top map[string]any
	if err := decodeJSON(b, &top); err != nil {
		return b, false, fmt.Errorf("scrub: %w", err)
	}
	w := walker{s: s}
	for k, v := range top {
		name := k
		if a, ok := aliases[k]; ok {
			name = a
		}
		switch name {
		case "modules", "sdk", "debug_meta", "_meta":
			// Package names, build ids, and Relay's remarks on what it
			// scrubbed (keyed as the fields are, holding no value).
			continue
		case "message", "transaction", "culprit", "logger", "platform", "release", "dist",
			"environment", "server_name", "event_id", "timestamp", "level", "type":
			if _, ok := v.(string); ok {
				continue // the group's title and list, and schema
			}
		case "logentry":
			if m, ok := v.(map[string]any); ok {
				w.fields(m, logentryTitled, nil)
				continue
			}
		case "exception":
			w.exceptions(v)
			continue
		case "threads":
			w.threads(v)
			continue
		case "stacktrace":
			w.stacktrace(v)
			continue
		case "request":
			if r, ok := v.(map[string]any); ok {
				w.request(r)
				continue
			}
		}
		top[k] = w.member(k, v)
	}
	if !w.changed && !duplicateKeys(b) {
		return b, false, nil
	}
	out, err := encode(top)
	if err != nil {
		return b, false, err
	}
	return out, true, nil
}

type walker struct {
	s       *Scrubber
	changed bool
}

// aliases are the legacy interface names of the fields walked apart.
var aliases = map[string]string{
	"sentry.interfaces.Message": "logentry", "sentry.interfaces.Exception": "exception",
	"sentry.interfaces.Threads": "threads", "sentry.interfaces.Stacktrace": "stacktrace",
	"sentry.interfaces.Http": "request",
}

// The strings a group's title, culprit and key are read from, and those
// that name code, not data, are kept as they came, each where it is read:
// an exception's type, value and module, a frame's names and addresses,
// a logentry's message.
var (
	logentryTitled  = map[string]bool{"message": true, "formatted": true}
	exceptionTitled = map[string]bool{"type": true, "value": true, "module": true}
	frameNames      = map[string]bool{"function": true, "raw_function": true, "module": true, "package": true,
		"filename": true, "abs_path": true, "symbol": true, "instruction_addr": true, "symbol_addr": true,
		"image_addr": true, "platform": true, "lang": true}
)

// member returns the value v under key k, scrubbed.
func (w *walker) member(k string, v any) any {
	if w.s.masker.Key(k) {
		return w.filter(v)
	}
	return w.value(v)
}

// fields scrubs the object m but for the strings under the keys of keep,
// and with the values under the keys of nested walked by those functions.
func (w *walker) fields(m map[string]any, keep map[string]bool, nested map[string]func(any)) {
	for k, v := range m {
		if _, ok := v.(string); ok && keep[k] {
			continue
		}
		if f := nested[k]; f != nil {
			f(v)
			continue
		}
		m[k] = w.member(k, v)
	}
}

// list calls f with each object of v: of {"values": […]} or of […]; a
// value of another shape is scrubbed as any other.
func (w *walker) list(v any, f func(map[string]any)) {
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			if k == "values" {
				w.list(x, f)
			} else {
				m[k] = w.member(k, x)
			}
		}
		return
	}
	w.objects(v, f)
}

// objects calls f with each object of the list v, and scrubs its other
// elements, or v itself when it is no list, as any other value.
func (w *walker) objects(v any, f func(map[string]any)) {
	l, ok := v.([]any)
	if !ok {
		w.value(v)
		return
	}
	for i, x := range l {
		if m, ok := x.(map[string]any); ok {
			f(m)
		} else {
			l[i] = w.value(x)
		}
	}
}

func (w *walker) exceptions(v any) {
	w.list(v, func(e map[string]any) {
		w.fields(e, exceptionTitled, map[string]func(any){"stacktrace": w.stacktrace, "raw_stacktrace": w.stacktrace})
	})
}

func (w *walker) threads(v any) {
	w.list(v, func(t map[string]any) {
		w.fields(t, nil, map[string]func(any){"stacktrace": w.stacktrace, "raw_stacktrace": w.stacktrace})
	})
}

func (w *walker) stacktrace(v any) {
	st, ok := v.(map[string]any)
	if !ok {
		w.value(v)
		return
	}
	w.fields(st, nil, map[string]func(any){"frames": func(frames any) {
		w.objects(frames, func(f map[string]any) { w.fields(f, frameNames, nil) })
	}})
}

// filter returns what replaces v: Filtered, unless v holds nothing.
func (w *walker) filter(v any) any {
	if !holds(v) {
		return v
	}
	w.changed = true
	return Filtered
}

// holds reports whether v holds a value to hide: not null, "", a mask, an
// empty object or list, nor one of only those ({}, ["[Filtered]"]).
func holds(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != "" && v != Filtered && v != errlog.DefaultMaskWith
	case map[string]any:
		for _, x := range v {
			if holds(x) {
				return true
			}
		}
		return false
	case []any:
		for _, x := range v {
			if holds(x) {
				return true
			}
		}
		return false
	}
	return true
}

// value scrubs v: the members of objects, the pairs of a list of [key,
// value] lists (headers, tags and cookies as some SDKs send them), and
// strings by errlog's rules for text (a source line's password = "…", a
// URL's password or token parameter, a bearer token).
func (w *walker) value(v any) any {
	switch v := v.(type) {
	case string:
		if m := w.s.masker.Text(v); m != v {
			w.changed = true
			return m
		}
	case map[string]any:
		for k, x := range v {
			v[k] = w.member(k, x)
		}
	case []any:
		for i, x := range v {
			if p, ok := x.([]any); ok && len(p) == 2 {
				if k, ok := p[0].(string); ok {
					p[1] = w.member(k, p[1])
					continue
				}
			}
			v[i] = w.value(x)
		}
	}
	return v
}

// request scrubs an HTTP request: its headers by the header filter too.
func (w *walker) request(r map[string]any) {
	for k, v := range r {
		if k != "headers" {
			r[k] = w.member(k, v)
			continue
		}
		switch h := v.(type) {
		case string:
			r[k] = w.value(h) // "Authorization: Bearer …" lines
		case map[string]any:
			for name, x := range h {
				if w.s.masker.Header(name) {
					h[name] = w.filter(x)
				} else {
					h[name] = w.value(x)
				}
			}
		case []any:
			for _, x := range h {
				if p, ok := x.([]any); ok && len(p) == 2 {
					if name, ok := p[0].(string); ok {
						if w.s.masker.Header(name) {
							p[1] = w.filter(p[1])
						} else {
							p[1] = w.value(p[1])
						}
					}
				}
			}
		}
	}
}

// scrubCost is how many bytes decoding an event whole may hold per byte
// of its JSON: encoding/json's maps and interfaces, measured at about 5
// for SDKs' events and 60 for the worst (`{"a":[]}` repeated).
const scrubCost = 64

// reserveScrub reserves, from the request bodies' budget, what scrubbing
// payload whole may hold, at most half the budget (so that the largest
// event is scrubbed, one at a time), waiting MemoryWait at most; past
// that the event is refused with 429, as a body is. A request alone is
// small: nothing is reserved for it. release gives the bytes back.
func (h *Handler) reserveScrub(ctx context.Context, payload []byte, found decode.Found) (release func(), err error) {
	if !found.Keys {
		return func() {}, nil
	}
	b := h.lim.bodies
	n := min(int64(len(payload))*scrubCost, b.total/2)
	wait, cancel := context.WithTimeout(ctx, h.opts.MemoryWait)
	defer cancel()
	if err := b.Acquire(wait, n); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		secs := int((h.opts.RetryAfter + time.Second - 1) / time.Second)
		return nil, &httpError{status: http.StatusTooManyRequests, retryAfter: h.opts.RetryAfter,
			msg:    fmt.Sprintf("errlog: ingest: the %d MiB for request bodies are in use, scrubbing events among them; retry later", h.opts.MaxMemory>>20),
			limits: strconv.Itoa(secs) + "::organization"}
	}
	return func() { b.Release(n) }, nil
}
