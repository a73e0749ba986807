package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire"
	"github.com/errlog/errlog/wire/decode"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Incoming is one event ready to be written: grouped, summarised and
// compressed by Prepare.
type Incoming struct {
	ProjectID int64
	EventID   string
	// GroupKey is the event's key by event.Grouping. The writer replaces
	// it with the key of the group it joins, when that group was made by
	// an earlier grouping and found by PrevKeys.
	GroupKey string
	// PrevKeys are the event's keys by the earlier groupings, the latest
	// first (one that repeats a later one left out): the event joins the
	// group the first of them leads to among the groups that grouping or
	// an earlier one made, which takes its GroupKey too; else the group
	// its GroupKey leads to (docs/grouping.md).
	PrevKeys    []EarlierKey
	Title       string
	Culprit     string
	Level       string
	Environment string
	Release     string
	// User identifies the user the event names, as a digest ("" when
	// none): users affected are counted without keeping who they are
	// outside the event.
	User string
	// TraceID is the trace the event happened in (contexts.trace.trace_id,
	// as OpenTelemetry, sentry-go and the JS SDKs send it): 32 lowercase
	// hex digits, "" when none.
	TraceID string
	// Tags are the event's tags, for alert rule filters (not stored
	// apart from the payload).
	Tags      map[string]string
	Timestamp time.Time
	Received  time.Time
	// Size is the JSON's size; Payload the JSON as stored: compressed
	// with zstd, or the client's own gzip of an envelope that held only
	// this event (StoredEnvelope). Decompress reads either.
	Size    int
	Payload []byte
}

// Filtered is what ingest stores in place of a value it scrubbed.
const Filtered = "[Filtered]"

// EarlierKey is an event's key by an earlier grouping.
type EarlierKey struct {
	Key      string
	Grouping int
}

// MaxFuture is how far ahead of its arrival an event's timestamp may be;
// a later one (a client clock running fast) is taken as its arrival time.
const MaxFuture = time.Minute

// MaxPast is how far before its arrival an event's timestamp may be
// (Relay's limit); an earlier one is taken as its arrival time.
const MaxPast = 30 * 24 * time.Hour

// Prepare groups ev for project p, and compresses raw, the event's JSON as
// received (nil: ev is encoded). It does not modify ev: the in-app
// correction applies to a copy of its frames.
func Prepare(p *Project, ev *event.Event, raw []byte, now time.Time) (*Incoming, error) {
	return prepare(p, ev, raw, nil, now)
}

// PrepareStored is Prepare for an event that arrived compressed, alone in
// its envelope: stored is the envelope's gzip as the client sent it
// (StoredEnvelope), kept instead of compressing raw again when it is
// compressed at all (at most half raw's size, plus 512 bytes: sentry-go
// sends 37% of a 5 KB event, 17% of a 50 KB one); else raw is compressed.
func PrepareStored(p *Project, ev *event.Event, raw, stored []byte, now time.Time) (*Incoming, error) {
	if len(stored) > len(raw)/2+512 {
		stored = nil
	}
	return prepare(p, ev, raw, stored, now)
}

func prepare(p *Project, ev *event.Event, raw, stored []byte, now time.Time) (*Incoming, error) {
	if raw == nil {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("errlog: store: encode event: %w", err)
		}
		raw = b
	}
	g := groupingView(p, ev)
	key := g.GroupKey()
	prev := prevKeys(p, ev, g)
	id := NormalEventID(ev.EventID)
	if id == "" { // missing, or not a UUID
		id = event.NewID()
	}
	ts := ev.Timestamp.UTC()
	if ts.IsZero() || ts.After(now.Add(MaxFuture)) || ts.Before(now.Add(-MaxPast)) {
		ts = now
	}
	level := string(NormalLevel(ev.Level))
	in := &Incoming{
		ProjectID:   p.ID,
		EventID:     id,
		GroupKey:    key,
		PrevKeys:    prev,
		Title:       Text(Title(g)),
		Culprit:     Text(Culprit(g)),
		Level:       Text(level),
		Environment: truncate(Text(ev.Environment), 64),
		Release:     truncate(Text(ev.Release), 200),
		User:        userKey(ev.User),
		TraceID:     TraceID(ev),
		Tags:        textMap(ev.Tags),
		Timestamp:   ts,
		Received:    now.UTC(),
		Size:        len(raw),
		Payload:     stored,
	}
	if stored == nil {
		in.Payload = Compress(raw)
	}
	return in, nil
}

// prevKeys returns the keys of ev by the groupings before event.Grouping,
// the latest first, without those equal to one before them (grouping 2's
// is most events' key). An errlog event's key by an
// earlier grouping is the one it carries, which its mail threaded by;
// the others are computed on legacyView, as they were then. g is ev's
// groupingView.
func prevKeys(p *Project, ev, g *event.Event) []EarlierKey {
	var out []EarlierKey
	carried, cv := g.CarriedGroupKey()
	legacy := legacyView(p, ev, g)
	for v := event.Grouping - 1; v >= 1; v-- {
		k := carried
		if cv != v {
			k = legacy.GroupKeyOf(v)
		}
		if !slices.ContainsFunc(out, func(e EarlierKey) bool { return e.Key == k }) {
			out = append(out, EarlierKey{k, v})
		}
	}
	return out
}

// legacyView returns g, or a view of ev with the in-app flags errlogd read
// before grouping 3, for the keys of the groupings before it: a Go
// dependency's frame of a -trimpath build (event.InVersionedModule) kept
// the SDK's flag, and errlog set it as its stack.IsInApp did then
// (wasInApp); InApp now says such a frame is never the application's.
func legacyView(p *Project, ev, g *event.Event) *event.Event {
	if ev.Platform != "go" {
		return g
	}
	errlog := ev.SDK != nil && ev.SDK.Name == "errlog.go"
	return withInApp(ev, func(f event.Frame) bool {
		if !event.InVersionedModule(f.Filename, f.AbsPath) || strings.Contains(f.AbsPath+f.Filename, "/pkg/mod/") {
			return InApp(p, f)
		}
		if projectInApp(p, f) {
			return true
		}
		if errlog {
			return wasInApp(f)
		}
		return f.InApp
	})
}

// wasInApp is errlog's in-app flag before grouping 3 for a frame of a Go
// module at a version outside the module cache: the application's, unless
// it was errlog's own library code, vendored, or of a package whose
// path's first element has no dot (the standard library's rule).
func wasInApp(f event.Frame) bool {
	file := f.AbsPath
	if file == "" {
		file = f.Filename
	}
	if strings.Contains(file, "/vendor/") {
		return false
	}
	if first, _, _ := strings.Cut(f.Module, "/"); !strings.Contains(first, ".") && f.Module != "main" && !strings.HasPrefix(f.Module, "main.") {
		return false
	}
	if rest, ok := strings.CutPrefix(file, "github.com/errlog/errlog@"); ok {
		// errlog's own files: its root package and its library folders,
		// not its tests, examples or commands.
		_, rest, _ = strings.Cut(rest, "/")
		dir, sub, nested := strings.Cut(rest, "/")
		own := !nested || sub != "" && slices.Contains([]string{"internal", "logfile", "tracker", "mail", "event", "wire"}, dir)
		if own && !strings.HasSuffix(file, "_test.go") && !strings.Contains(file, "/testdata/") {
			return false
		}
	}
	return true
}

// groupingView returns ev, or a shallow copy whose frames carry the
// corrected in-app flags.
func groupingView(p *Project, ev *event.Event) *event.Event {
	return withInApp(ev, func(f event.Frame) bool { return InApp(p, f) })
}

// withInApp returns ev, or a shallow copy whose frames' in-app flags are
// what inApp says, where it differs.
func withInApp(ev *event.Event, inApp func(event.Frame) bool) *event.Event {
	fix := func(st *event.Stacktrace) *event.Stacktrace {
		if st == nil {
			return nil
		}
		var out *event.Stacktrace
		for i := range st.Frames {
			if in := inApp(st.Frames[i]); in != st.Frames[i].InApp {
				if out == nil {
					out = &event.Stacktrace{Frames: append([]event.Frame(nil), st.Frames...)}
				}
				out.Frames[i].InApp = in
			}
		}
		if out == nil {
			return st
		}
		return out
	}
	var exs []event.Exception // copied once a stack changes
	for i := range ev.Exception {
		if st := fix(ev.Exception[i].Stacktrace); st != ev.Exception[i].Stacktrace {
			if exs == nil {
				exs = append([]event.Exception(nil), ev.Exception...)
			}
			exs[i].Stacktrace = st
		}
	}
	st := fix(ev.Stacktrace)
	if exs == nil && st == ev.Stacktrace {
		return ev
	}
	cp := *ev
	if exs != nil {
		cp.Exception = exs
	}
	cp.Stacktrace = st
	return &cp
}

// InApp says whether frame f is the application's own code, for project
// p (nil: no project rules): the project's in-app prefixes win; frames in
// the Go module cache (/pkg/mod/) or of a Go module at a version (a
// dependency in a -trimpath build: event.InVersionedModule) are never
// in-app, whatever the SDK said (sentry-go marks both in-app, as errlog
// did the second); else the SDK's flag stands. A dashboard renders frames
// with it too.
func InApp(p *Project, f event.Frame) bool {
	if projectInApp(p, f) {
		return true
	}
	path := f.AbsPath
	if path == "" {
		path = f.Filename
	}
	if strings.Contains(path, "/pkg/mod/") || event.InVersionedModule(f.Filename, f.AbsPath) {
		return false
	}
	return f.InApp
}

// projectInApp says whether one of project p's in-app prefixes names f's
// module or function.
func projectInApp(p *Project, f event.Frame) bool {
	if p == nil {
		return false
	}
	for _, pre := range p.InApp {
		if pre != "" && (strings.HasPrefix(f.Module, pre) || strings.HasPrefix(f.Function, pre)) {
			return true
		}
	}
	return false
}

// userKey is a short digest of the user's id, else email, username or
// IP address: users affected are counted without keeping who they are
// outside the event.
func userKey(u *event.User) string {
	if u == nil {
		return ""
	}
	for _, v := range []string{u.ID, u.Email, u.Username, u.IPAddress} {
		if v != "" {
			sum := sha256.Sum256([]byte(v))
			return hex.EncodeToString(sum[:12])
		}
	}
	return ""
}

// Text is s as the store writes it on both databases: NUL, which
// PostgreSQL's text refuses, as U+2400 (␀), and invalid UTF-8 (from
// an in-process event; decoded JSON has none) as U+FFFD.
func Text(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\u2400")
}

// IsText reports whether s can be searched for on both databases: UTF-8
// without NUL. SQLite's full-text MATCH fails on NUL, and PostgreSQL
// refuses both (SQLSTATE 22021); what is stored never holds them (Text).
func IsText(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

func textMap(m map[string]string) map[string]string {
	for k, v := range m {
		if Text(k) != k || Text(v) != v {
			out := make(map[string]string, len(m))
			for k, v := range m {
				out[Text(k)] = Text(v)
			}
			return out
		}
	}
	return m
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Events are compressed at zstd's fastest level. The default level saved
// 0.8% of the disk per 50 KB event (9.01 KB instead of 9.08 with errlogd
// bench's events, row and indexes included) for 15% more of errlogd's CPU
// per event and 3 – 4 MB more peak RSS (its encoders' tables), so it is
// no longer used. One encoder per CPU: with 4, ingest's 32 handlers
// rotated through them and each call found its encoder's tables out of
// cache (65 µs per 5 KB event in errlogd, 48 with 2 encoders on 2 cores).
var (
	zfast, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithWindowSize(1<<20))
	zdec, _  = zstd.NewReader(nil, zstd.WithDecoderConcurrency(4), zstd.WithDecoderMaxMemory(64<<20))
	zmagic   = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Compress returns b zstd-compressed, as events are stored.
func Compress(b []byte) []byte {
	return zfast.EncodeAll(b, make([]byte, 0, len(b)/4+64))
}

// StoredEnvelope returns the stored form of gz, the gzip (one or more
// members) of an envelope whose one item is an event: the client's
// compression, kept. SDKs gzip at the default level or above (sentry-go
// 6, sentry-python 9), which for sentry-go-shaped events is 4% smaller
// than zstd's fastest level (8.3 KB per 50 KB event instead of 8.6), and
// errlogd then spends nothing on compression (a quarter of its CPU per
// 50 KB event).
func StoredEnvelope(gz []byte) []byte {
	b := make([]byte, 0, len(envMagic)+len(gz))
	return append(append(b, envMagic...), gz...)
}

// StoredJSON returns the stored form of gz, the gzip of an event's JSON
// as an SDK posted it to the store endpoint: a copy of gz.
func StoredJSON(gz []byte) []byte { return bytes.Clone(gz) }

// envMagic starts a StoredEnvelope: neither zstd's magic number nor JSON
// starts with a NUL.
var envMagic = []byte("\x00env")

// MaxStoredEnvelope is the most bytes of decompressed envelope
// Decompress reads from a StoredEnvelope; ingest stores none that
// decompresses to more (nor to more than its event and 8 KiB).
const MaxStoredEnvelope = 64 << 20

// Decompress returns a stored payload's JSON. A payload that is neither
// zstd, a StoredEnvelope nor a StoredJSON (a store filled by hand) is
// returned as it is.
func Decompress(b []byte) ([]byte, error) {
	if bytes.HasPrefix(b, envMagic) {
		return envelopeEvent(b[len(envMagic):])
	}
	if bytes.HasPrefix(b, gzipMagic) {
		return gunzipJSON(b)
	}
	if !bytes.HasPrefix(b, zmagic) {
		return b, nil
	}
	out, err := zdec.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("errlog: store: decompress event: %w", err)
	}
	return out, nil
}

// NormalEventID returns id as Sentry stores event ids, 32 lower-case hex
// digits, from any form of a UUID SDKs send: with or without hyphens, in
// either case, in braces or as a "urn:uuid:" URN (as Relay reads them).
// It returns "" for anything else.
func NormalEventID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > 9 && strings.EqualFold(id[:9], "urn:uuid:") {
		id = id[9:]
	} else if len(id) > 2 && id[0] == '{' && id[len(id)-1] == '}' {
		id = id[1 : len(id)-1]
	}
	if len(id) == 36 {
		if id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			return ""
		}
		id = id[:8] + id[9:13] + id[14:18] + id[19:23] + id[24:]
	}
	id = strings.ToLower(id)
	if !isEventID(id) {
		return ""
	}
	return id
}

// isEventID reports whether id is 32 lower-case hex digits, as Sentry's
// event ids are (a UUID without its hyphens).
func isEventID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

var gzipMagic = []byte{0x1f, 0x8b}

// gunzipJSON returns the event of a StoredJSON.
func gunzipJSON(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err == nil {
		var b []byte
		if b, err = io.ReadAll(decode.Limit(zr, MaxStoredEnvelope, "stored event")); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("errlog: store: decompress event: %w", err)
}

// envelopeEvent returns the event of a StoredEnvelope's gzip.
func envelopeEvent(gz []byte) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("errlog: store: decompress event: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return fail(err)
	}
	env := decode.NewReader(bufio.NewReader(decode.Limit(zr, MaxStoredEnvelope, "stored envelope")))
	if _, err := env.Header(); err != nil {
		return fail(err)
	}
	for {
		ih, err := env.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("no event in the stored envelope")
			}
			return fail(err)
		}
		if ih.Type == wire.TypeEvent {
			p, err := env.Payload(MaxStoredEnvelope)
			if err != nil {
				return fail(err)
			}
			return p, nil
		}
	}
}
