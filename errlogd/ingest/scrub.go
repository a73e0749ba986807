package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
)

// Filtered replaces what a Scrubber removes, as Sentry's server writes it.
const Filtered = "[Filtered]"

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
// but for those its group, title and culprit are read from (an
// exception's type and value, messages, function and module names),
// which stay as they came. Keys are matched as errlog's client matches
// them (errlog.MaskOptions.Keys: case ignored, "-", "_", "." and " "
// alike, a key of four letters or fewer as a whole word), request
// headers by errlog's header filter too. An event without such a key is
// stored as it came, and so is every event of errlog's client, which
// masks before sending.
//
// Finding the keys costs an event nothing beyond the scan ingest makes
// anyway (decode.KeyFilter); only an event with such a key is decoded
// whole and written again.
type Scrubber struct {
	masker *errlog.Masker
	filter *decode.KeyFilter
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
	// A header the header filter masks but no mask key names ("X-Session:
	// …") is scrubbed in an event the scan found another key in.
	return &Scrubber{masker: m, filter: decode.NewKeyFilter(keys)}
}

// summary decodes b as decode.Summary does, and reports whether b may
// hold a value to scrub.
func (s *Scrubber) summary(b []byte) (*event.Event, bool, error) {
	ev, hit, err := decode.SummaryKeys(b, s.filter)
	if err != nil || !hit {
		return ev, false, err
	}
	if ev.SDK != nil && ev.SDK.Name == "errlog.go" {
		return ev, false, nil
	}
	return ev, true, nil
}

// Event returns the event JSON b with the values under secret keys
// replaced by Filtered, and whether it replaced any; b itself when none.
func (s *Scrubber) Event(b []byte) ([]byte, bool, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var top map[string]any
	if err := d.Decode(&top); err != nil {
		return b, false, fmt.Errorf("scrub: %w", err)
	}
	w := walker{s: s}
	for k, v := range top {
		switch k {
		case "modules", "sdk", "debug_meta":
			// Package names and build ids, not data.
			continue
		case "request", "sentry.interfaces.Http":
			if r, ok := v.(map[string]any); ok {
				w.request(r)
				continue
			}
		}
		top[k] = w.member(k, v)
	}
	if !w.changed {
		return b, false, nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(top); err != nil {
		return b, false, fmt.Errorf("scrub: %w", err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), true, nil
}

type walker struct {
	s       *Scrubber
	changed bool
}

// titled are the keys of strings a group's title, culprit or list shows:
// they are grouped and titled as they came (the summary is read before
// scrubbing), so the event shows them as they came too.
var titled = map[string]bool{"type": true, "value": true, "message": true, "formatted": true,
	"transaction": true, "culprit": true, "function": true, "module": true, "filename": true, "abs_path": true}

// member returns the value v under key k, scrubbed.
func (w *walker) member(k string, v any) any {
	if w.s.masker.Key(k) {
		return w.filter(v)
	}
	if _, ok := v.(string); ok && titled[k] {
		return v
	}
	return w.value(v)
}

// filter returns what replaces v: Filtered, unless v holds nothing.
func (w *walker) filter(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if v == "" || v == Filtered || v == errlog.DefaultMaskWith {
			return v
		}
	}
	w.changed = true
	return Filtered
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
