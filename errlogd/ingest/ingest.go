// Package ingest is errlogd's Sentry-protocol endpoint: an http.Handler
// for POST …/api/{project}/envelope/ and the legacy …/api/{project}/store/,
// as the stock Sentry SDKs and errlog's tracker send them.
//
// A request is answered after the batch holding its event has committed
// (store.Store.Submit), so a 200 means stored, grouped and queryable. The
// body is read as a stream with wire/decode (Decompress, Limit, Reader):
// decompression is bounded by a counting reader, non-event items are
// discarded as they are read, and only event payloads (at most 1 MiB
// each) are held in memory, so that a compression bomb costs CPU for
// MaxDecompressed bytes and no memory.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire"
	"github.com/errlog/errlog/wire/decode"
)

// Options tunes a Handler. The zero value is all defaults.
type Options struct {
	// MaxBody is the most bytes a request body may have as sent
	// (compressed). Default 20 MiB, Relay's limit.
	MaxBody int64
	// MaxDecompressed bounds a body after decompression. Default 100 MiB,
	// Relay's envelope limit.
	MaxDecompressed int64
	// MaxEvent is the most bytes an event item may have. Default 1 MiB,
	// Relay's limit.
	MaxEvent int64
	// FreeSpace reports the free bytes where the store writes; nil: not
	// checked. Below MinFree, events are refused with 429 before anything
	// is written.
	FreeSpace func() (uint64, error)
	// MinFree is the free space below which events are refused. Default
	// 256 MiB.
	MinFree uint64
	// RetryAfter is the Retry-After of a refusal for a full queue or
	// disk. Default 10s.
	RetryAfter time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// OnError is told of store failures. Default: ignored.
	OnError func(error)
	// MaxMemory bounds what the requests in flight hold together: their
	// buffers, decompressor state and payloads, a third of it at most
	// for brotli and zstd windows. Past it a request waits MemoryWait,
	// then is refused with 429. Default 96 MiB (see limit.go).
	MaxMemory int64
	// MemoryWait is how long a request waits for memory. Default 1s.
	MemoryWait time.Duration
	// BodyTimeout is how long a request's body may take to arrive, in
	// all: a slow trickle does not extend it. Default 30s.
	BodyTimeout time.Duration
	// MaxItems is the most items an envelope may have, blank lines
	// counted. Default 1000.
	MaxItems int
	// Scrub, when set, removes the values under secret keys from the
	// events of stock SDKs before they are stored (see Scrubber). nil:
	// events are stored as sent.
	Scrub *Scrubber
}

// Stats counts what a Handler did.
type Stats struct {
	Events       int64 // events stored (duplicates included)
	Skipped      int64 // items of other types skipped
	Malformed    int64 // 400
	Unauthorized int64 // 401 and 403
	TooLarge     int64 // 413
	RateLimited  int64 // 429 for a project's rate limit
	Busy         int64 // 429 for a full queue
	DiskFull     int64 // 429 for a nearly full disk
	Failed       int64 // 5xx
	TimedOut     int64 // 408: the body took over BodyTimeout, or the client left
	Memory       int64 // bytes reserved by requests in flight, now
	Decompressed int64 // bytes decompressed, in all (requests answered)
	Scrubbed     int64 // events stored with values removed by Options.Scrub
}

// Handler is the ingest endpoint.
type Handler struct {
	st   store.Store
	opts Options

	keys sync.Map // public key -> keyEntry

	rlMu   sync.Mutex
	rl     map[int64]*window
	diskMu sync.Mutex
	diskAt time.Time
	diskOK bool

	events, skipped, malformedN, unauthorized, tooLargeN, rateLimited, busy, diskFull, failed, scrubbed atomic.Int64
	// downTold is when a store failure was last told (storeDown), in
	// Unix nanoseconds.
	downTold atomic.Int64

	inFlight atomic.Int64 // requests being served (InFlight)

	lim limits
}

type keyEntry struct {
	p   *store.Project // nil: no such key
	err error
	at  time.Time
}

type window struct {
	start time.Time
	n     int
}

// New returns the endpoint writing into st.
func New(st store.Store, opts Options) *Handler {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 20 << 20
	}
	if opts.MaxDecompressed <= 0 {
		opts.MaxDecompressed = 100 << 20
	}
	if opts.MaxEvent <= 0 {
		opts.MaxEvent = 1 << 20
	}
	if opts.MinFree == 0 {
		opts.MinFree = 256 << 20
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.limitDefaults()
	return &Handler{st: st, opts: opts, rl: map[int64]*window{}, lim: newLimits(&opts)}
}

// Stats returns the handler's counters.
func (h *Handler) Stats() Stats {
	return Stats{
		Events: h.events.Load(), Skipped: h.skipped.Load(), Malformed: h.malformedN.Load(),
		Unauthorized: h.unauthorized.Load(), TooLarge: h.tooLargeN.Load(), RateLimited: h.rateLimited.Load(),
		Busy: h.busy.Load(), DiskFull: h.diskFull.Load(), Failed: h.failed.Load(),
		TimedOut: h.lim.timedOut.Load(), Memory: h.lim.bodies.Used() + h.lim.decoders.Used(), Decompressed: h.lim.decompressed.Load(),
		Scrubbed: h.scrubbed.Load(),
	}
}

// httpError is an answer other than 200.
type httpError struct {
	status     int
	msg        string
	retryAfter time.Duration
	limits     string // X-Sentry-Rate-Limits
}

func (e *httpError) Error() string { return e.msg }

func refuse(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// InFlight is how many requests the handler is serving: reading,
// decoding, or waiting for their events' commit (store.WriterOptions.InFlight).
func (h *Handler) InFlight() int { return int(h.inFlight.Load()) }

// ServeHTTP implements http.Handler. The path must end in
// /api/{project}/envelope/ or /api/{project}/store/ (the final slash is
// optional).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Access-Control-Expose-Headers", "x-sentry-error, x-sentry-rate-limits, retry-after")
	if r.Method == http.MethodOptions {
		hdr.Set("Access-Control-Allow-Methods", "POST")
		hdr.Set("Access-Control-Allow-Headers", "x-sentry-auth, authorization, content-type, content-encoding")
		hdr.Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusOK)
		return
	}
	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	h.bodyDeadline(w)
	id, err := h.serve(r)
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = refuse(http.StatusInternalServerError, "errlog: ingest: %v", err)
		}
		h.count(he.status, he.limits)
		if he.retryAfter > 0 {
			hdr.Set("Retry-After", strconv.Itoa(int((he.retryAfter+time.Second-1)/time.Second)))
		}
		if he.limits != "" {
			hdr.Set("X-Sentry-Rate-Limits", he.limits)
		}
		hdr.Set("X-Sentry-Error", he.msg)
		hdr.Set("Content-Type", "application/json")
		w.WriteHeader(he.status)
		b, _ := json.Marshal(map[string]string{"detail": he.msg})
		w.Write(b)
		return
	}
	hdr.Set("Content-Type", "application/json")
	if id == "" {
		io.WriteString(w, "{}")
		return
	}
	b, _ := json.Marshal(map[string]string{"id": id})
	w.Write(b)
}

func (h *Handler) count(status int, limits string) {
	switch status {
	case http.StatusBadRequest:
		h.malformedN.Add(1)
	case http.StatusUnauthorized, http.StatusForbidden:
		h.unauthorized.Add(1)
	case http.StatusRequestEntityTooLarge:
		h.tooLargeN.Add(1)
	case http.StatusTooManyRequests:
		switch {
		case strings.HasSuffix(limits, ":project"):
			h.rateLimited.Add(1)
		case strings.Contains(limits, "disk"):
			h.diskFull.Add(1)
		default:
			h.busy.Add(1)
		}
	default:
		if status >= 500 {
			h.failed.Add(1)
		}
	}
}

// route returns the project id and endpoint of a path.
func route(path string) (string, string, bool) {
	path = strings.TrimSuffix(path, "/")
	i := strings.LastIndex(path, "/api/")
	if i < 0 {
		return "", "", false
	}
	project, endpoint, ok := strings.Cut(path[i+len("/api/"):], "/")
	if e, _, more := strings.Cut(endpoint, "/"); more && unsupported[e] != "" {
		endpoint = e // Unreal clients post to /unreal/{key}/
	}
	if !ok || project == "" || (endpoint != "envelope" && endpoint != "store" && unsupported[endpoint] == "") {
		return "", "", false
	}
	return project, endpoint, true
}

// unsupported are the Sentry endpoints errlogd does not implement, and
// what they take: they are answered 400 saying so, rather than passed
// on to the API (whose 401 would say a password is missing). Ingest
// serves them when its mux routes them here (Endpoints).
var unsupported = map[string]string{
	"minidump":   "native crash reports (minidumps)",
	"security":   "browser security reports (CSP, Expect-CT, HPKP)",
	"unreal":     "Unreal Engine crash reports",
	"csp-report": "browser security reports (CSP)",
}

// Endpoints are the path endings, after /api/{project}/, that a Handler
// answers: envelope and store, and the Sentry endpoints it refuses
// plainly.
func Endpoints() []string {
	return []string{"envelope", "store", "minidump", "security", "unreal", "csp-report"}
}

func (h *Handler) serve(r *http.Request) (string, error) {
	projectID, endpoint, ok := route(r.URL.Path)
	if !ok {
		return "", refuse(http.StatusNotFound, "errlog: ingest: no such endpoint %s", r.URL.Path)
	}
	if what := unsupported[endpoint]; what != "" {
		return "", refuse(http.StatusBadRequest, "errlog: ingest: errlogd does not support %s (/api/{project}/%s/); it stores events sent to /envelope/ and /store/", what, endpoint)
	}
	if r.Method != http.MethodPost {
		return "", refuse(http.StatusMethodNotAllowed, "errlog: ingest: %s needs POST", endpoint)
	}
	if r.ContentLength > h.opts.MaxBody {
		return "", refuse(http.StatusRequestEntityTooLarge, "errlog: ingest: body of %d bytes is over %d", r.ContentLength, h.opts.MaxBody)
	}
	auth, authErr := decode.AuthFromRequest(r)
	if authErr != nil && endpoint == "store" {
		return "", refuse(http.StatusUnauthorized, "errlog: ingest: no sentry_key in X-Sentry-Auth, Authorization or the query")
	}
	if err := h.checkDisk(); err != nil {
		return "", err
	}
	adm, raw, err := h.admit(r)
	if err != nil {
		return "", err
	}
	defer adm.release()
	body := &limitedBody{r: raw, n: h.opts.MaxBody}
	if keepsGzip(r.Header.Get("Content-Encoding")) {
		// The body as sent, kept to store if it turns out to be one event
		// (store.StoredEnvelope, store.StoredJSON), in memory reserved as
		// it grows.
		body.keep, body.reserve = new([]byte), adm.keep
	}
	br, release, err := openBody(body, r.Header.Get("Content-Encoding"), h.opts.MaxDecompressed, adm.meter)
	if err != nil {
		return "", adm.check(h.bodyErr(err, body))
	}
	defer release()

	if endpoint == "store" && !isEnvelope(r.Header.Get("Content-Type")) {
		p, err := h.project(r.Context(), auth.Key, projectID)
		if err != nil {
			return "", err
		}
		b, err := readAll(br, h.opts.MaxEvent)
		if err != nil {
			return "", h.bodyErr(err, body)
		}
		var gz []byte
		if legacy := legacyBody(b); len(legacy) != len(b) || len(b) > 0 && &legacy[0] != &b[0] {
			b = legacy // decoded from base64 and zlib: compressed here
		} else if adm.metered <= min(int64(len(b))+keptSlack, store.MaxStoredEnvelope) {
			gz = body.kept(store.StoredJSON)
		}
		if int64(len(b)) > h.opts.MaxEvent {
			return "", refuse(http.StatusRequestEntityTooLarge, "errlog: ingest: event over %d bytes", h.opts.MaxEvent)
		}
		if pythonClient(auth.Client) {
			// After the size check: a NaN's null is a byte longer.
			if fixed, ok := decode.NullNonFinite(b); ok {
				b, gz = fixed, nil // what is stored is the fixed JSON
			}
		}
		if decode.EventType(b) == "transaction" {
			// Old SDKs posted transactions here (Relay reads them as
			// transaction items): skipped, as a transaction item is.
			h.skipped.Add(1)
			return "", nil
		}
		return h.storeEvent(r.Context(), p, b, gz, "", auth.Timestamp)
	}

	env := decode.NewReader(br)
	env.SetMaxItems(h.opts.MaxItems)
	eh, err := env.Header()
	if err != nil {
		return "", h.bodyErr(err, body)
	}
	if authErr != nil {
		d, err := wire.ParseDSN(eh.DSN)
		if eh.DSN == "" || err != nil {
			return "", refuse(http.StatusUnauthorized, "errlog: ingest: no sentry_key in X-Sentry-Auth, Authorization, the query or the envelope's dsn")
		}
		auth.Key = d.PublicKey
	}
	p, err := h.project(r.Context(), auth.Key, projectID)
	if err != nil {
		return "", err
	}
	// One bad item costs that item: an event or a report refused alone
	// (400) is counted and skipped, the rest of the envelope is stored,
	// and the envelope is refused only if nothing in it was taken. What
	// is not the item's fault (a limit, the store) stops the envelope.
	var firstID string
	var itemErr error // the first item refused alone
	taken, refused := 0, 0
	defer func() { h.malformedN.Add(int64(refused)) }()
	took := func(id string, err error) error {
		var he *httpError
		switch {
		case err == nil:
			taken++
			if firstID == "" {
				firstID = id
			}
		case errors.As(err, &he) && he.status == http.StatusBadRequest:
			refused++
			if itemErr == nil {
				itemErr = err
			}
		default:
			return err
		}
		return nil
	}
	// A body that cannot be read on once something in it was taken is
	// answered as taken (200, the first id) and its rest counted as
	// refused: a 400 would tell the SDK to count stored events as lost.
	unreadable := func(err error) (string, error) {
		err = h.bodyErr(err, body)
		var he *httpError
		if taken > 0 && errors.As(err, &he) && he.status == http.StatusBadRequest {
			refused++
			return firstID, nil
		}
		return firstID, err
	}
	// An event is stored once the next item is known: when it was the
	// envelope's only item, the client's gzip is stored as it came.
	var held []byte
	var heldBuf *[]byte // held's pooled buffer
	items := 0
	for {
		ih, err := env.Next()
		if held != nil {
			var gz []byte
			if errors.Is(err, io.EOF) && items == 1 && adm.metered <= min(int64(len(held))+keptSlack, store.MaxStoredEnvelope) {
				// The event alone, nearly all that the body decompresses
				// to: reading it back costs what reading the event does.
				gz = body.kept(store.StoredEnvelope)
			}
			serr := took(h.storeEvent(r.Context(), p, held, gz, eh.EventID, eh.SentAt))
			releasePayload(heldBuf, held)
			held, heldBuf = nil, nil
			if serr != nil {
				return firstID, serr
			}
		}
		if errors.Is(err, io.EOF) {
			if taken == 0 && itemErr != nil {
				refused-- // ServeHTTP counts the answer
				return "", itemErr
			}
			return firstID, nil
		}
		if errors.Is(err, decode.ErrTooManyItems) {
			return firstID, h.overItems()
		}
		if err != nil {
			return unreadable(err)
		}
		items++
		if ih.Type == wire.TypeUserReport || ih.Type == typeFeedback {
			payload, err := env.Payload(h.opts.MaxEvent)
			if err != nil {
				return unreadable(err)
			}
			if err := took(h.feedback(r.Context(), p, ih.Type, payload, eh.EventID, eh.SentAt)); err != nil {
				return firstID, err
			}
			continue
		}
		if ih.Type != wire.TypeEvent {
			h.skipped.Add(1)
			continue // Next discards its payload
		}
		heldBuf = payloadBuf()
		if held, err = env.PayloadInto(*heldBuf, h.opts.MaxEvent); err != nil {
			return unreadable(err)
		}
	}
}

// pythonClient reports whether a sentry_client is a Python SDK's that
// may write NaN and Infinity (decode.NullNonFinite), as Relay tells them.
func pythonClient(client string) bool {
	return strings.HasPrefix(client, "raven-python/") || strings.HasPrefix(client, "sentry.python/") ||
		strings.HasPrefix(client, "sentry-python/")
}

// isEnvelope reports whether a Content-Type is the envelope's: a body
// posted to the store endpoint is then read as an envelope, as Relay
// does.
func isEnvelope(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), wire.ContentType)
}

// keepsGzip reports whether a body of this Content-Encoding may be stored
// as it came: gzip, or none (Decompress gunzips a body that starts with
// gzip's magic number; kept says whether it did).
func keepsGzip(encoding string) bool {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "gzip", "x-gzip":
		return true
	}
	return false
}

// maxKept is the most bytes of a body kept to be stored as it came: a
// larger one is compressed by errlogd as it is decompressed, as before.
const maxKept = 256 << 10

// keptSlack is how much more than its event an envelope stored as it came
// may decompress to: its two header lines. A body that decompresses to
// more (blank lines, a padded header) is not stored as it came, so that
// reading a stored event back never costs more than reading the event.
const keptSlack = 8 << 10

func readAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, tooLarge(fmt.Sprintf("event over %d bytes", max))
	}
	return b, nil
}

// tooLarge is a 413 of ingest's own.
type tooLarge string

func (e tooLarge) Error() string { return string(e) }
func (e tooLarge) Unwrap() error { return decode.ErrTooLarge }

// limitedBody fails past n bytes as sent. With keep, it keeps a copy of
// what it reads, if it is gzip, up to maxKept bytes.
type limitedBody struct {
	r    io.Reader
	n    int64
	read int64
	over bool
	keep *[]byte
	// reserve reserves memory for keep's capacity (admission.keep).
	reserve func(int64) bool
	eof     bool // r said io.EOF: keep holds the whole body, unless dropped
	drop    bool // not gzip, over maxKept, or no memory: nothing more is kept
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n-l.read+1 {
		p = p[:l.n-l.read+1]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.n {
		l.over = true
		return n, tooLarge(fmt.Sprintf("body over %d bytes", l.n))
	}
	if l.keep != nil && !l.drop {
		k := *l.keep
		if len(k) < len(gzipMagic) {
			// The first two bytes decide: gzip's magic number, or
			// nothing is kept.
			var head [2]byte
			m := copy(head[:], k)
			m += copy(head[m:], p[:n])
			l.drop = head[0] != gzipMagic[0] || m == 2 && head[1] != gzipMagic[1]
		}
		if !l.drop {
			k = append(k, p[:min(n, maxKept+1-len(k))]...)
			*l.keep = k
			l.drop = len(k) > maxKept || l.reserve != nil && !l.reserve(int64(cap(k)))
		}
		if l.drop {
			*l.keep = nil
		}
	}
	if errors.Is(err, io.EOF) {
		l.eof = true
	}
	return n, err
}

// kept returns the whole body as sent in its stored form (a copy, by
// form), if it was kept and is gzip; else nil.
func (l *limitedBody) kept(form func(gz []byte) []byte) []byte {
	if l.keep == nil || l.drop || !l.eof || !bytes.HasPrefix(*l.keep, gzipMagic) {
		return nil
	}
	return form(*l.keep)
}

var gzipMagic = []byte{0x1f, 0x8b}

func (h *Handler) bodyErr(err error, body *limitedBody) error {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he
	case body.over || errors.Is(err, decode.ErrTooLarge):
		return refuse(http.StatusRequestEntityTooLarge, "errlog: ingest: %v", err)
	case errors.Is(err, decode.ErrMalformed):
		return refuse(http.StatusBadRequest, "errlog: ingest: %v", err)
	}
	// A decompressor's own error: the body is corrupt.
	return refuse(http.StatusBadRequest, "errlog: ingest: body: %v", err)
}

// project authenticates a key against the URL's project id.
func (h *Handler) project(ctx context.Context, key, urlProject string) (*store.Project, error) {
	now := h.opts.Now()
	var e keyEntry
	if v, ok := h.keys.Load(key); ok && now.Sub(v.(keyEntry).at) < 5*time.Second {
		e = v.(keyEntry)
	} else {
		p, err := h.st.ProjectByKey(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			p, err = nil, nil
		}
		e = keyEntry{p: p, err: err, at: now}
		if err == nil && p != nil {
			// Only keys that exist are cached: anyone can send random
			// keys, and caching the misses would grow without bound.
			h.keys.Store(key, e)
		}
	}
	if e.err != nil {
		return nil, h.storeDown("project lookup", e.err)
	}
	if e.p == nil {
		return nil, refuse(http.StatusUnauthorized, "errlog: ingest: unknown sentry_key")
	}
	if strconv.FormatInt(e.p.ID, 10) != urlProject {
		return nil, refuse(http.StatusForbidden, "errlog: ingest: the key is not for project %s", urlProject)
	}
	if e.p.Disabled {
		return nil, refuse(http.StatusForbidden, "errlog: ingest: project %d is disabled", e.p.ID)
	}
	return e.p, nil
}

// ForgetKeys drops cached projects, after a project was changed.
func (h *Handler) ForgetKeys() {
	h.keys.Range(func(k, _ any) bool { h.keys.Delete(k); return true })
}

func (h *Handler) checkDisk() error {
	if h.opts.FreeSpace == nil {
		return nil
	}
	h.diskMu.Lock()
	defer h.diskMu.Unlock()
	now := h.opts.Now()
	if h.diskAt.IsZero() || now.Sub(h.diskAt) >= time.Second {
		free, err := h.opts.FreeSpace()
		h.diskOK = err != nil || free >= h.opts.MinFree
		h.diskAt = now
	}
	if !h.diskOK {
		return &httpError{status: http.StatusTooManyRequests, msg: "errlog: ingest: the disk is nearly full; events are refused until space is freed",
			retryAfter: time.Minute, limits: "60::organization:disk_full"}
	}
	return nil
}

// allow applies the project's per-minute rate limit.
func (h *Handler) allow(p *store.Project) error {
	if p.RateLimit <= 0 {
		return nil
	}
	now := h.opts.Now()
	h.rlMu.Lock()
	defer h.rlMu.Unlock()
	w := h.rl[p.ID]
	if w == nil || now.Sub(w.start) >= time.Minute {
		w = &window{start: now}
		h.rl[p.ID] = w
	}
	if w.n >= p.RateLimit {
		wait := time.Minute - now.Sub(w.start)
		secs := int((wait + time.Second - 1) / time.Second)
		return &httpError{status: http.StatusTooManyRequests, retryAfter: wait,
			msg:    fmt.Sprintf("errlog: ingest: project %d is over its rate limit of %d events per minute", p.ID, p.RateLimit),
			limits: fmt.Sprintf("%d:error;default:project", secs)}
	}
	w.n++
	return nil
}

// storeEvent parses, prepares and submits one event payload; stored is
// its stored form when the client's compression is kept
// (store.PrepareStored), nil to compress it here; sentAt is the
// envelope's sent_at ("" if none).
func (h *Handler) storeEvent(ctx context.Context, p *store.Project, payload, stored []byte, envelopeID, sentAt string) (string, error) {
	if h.opts.Scrub == nil {
		ev, err := decode.Summary(payload)
		if err != nil {
			return "", refuse(http.StatusBadRequest, "errlog: ingest: %v", err)
		}
		return h.submit(ctx, p, ev, payload, stored, envelopeID, sentAt, decode.Found{})
	}
	ev, found, err := h.opts.Scrub.summary(payload)
	if err != nil {
		return "", refuse(http.StatusBadRequest, "errlog: ingest: %v", err)
	}
	return h.submit(ctx, p, ev, payload, stored, envelopeID, sentAt, found)
}

// submit prepares and submits one decoded event; where scrub found
// something, its payload is scrubbed first (Options.Scrub), once the
// project's rate limit let it through. The event is grouped and titled by ev, the summary of what
// came, so that it is in the same group with its secrets as without.
func (h *Handler) submit(ctx context.Context, p *store.Project, ev *event.Event, payload, stored []byte, envelopeID, sentAt string, scrub decode.Found) (string, error) {
	if store.NormalEventID(ev.EventID) == "" {
		// Missing or not a UUID: the envelope's id, so that the same
		// envelope sent again is the same event.
		ev.EventID = envelopeID
	}
	if store.NormalEventID(ev.EventID) == "" {
		ev.EventID = event.NewID()
	}
	if err := h.allow(p); err != nil {
		return "", err
	}
	scrubbed := false
	if scrub.Any() {
		release, err := h.reserveScrub(ctx, payload, scrub)
		if err != nil {
			return "", err
		}
		b, changed, err := h.opts.Scrub.scrub(payload, scrub)
		release()
		if err != nil {
			// Valid JSON that encoding/json cannot read back: stored
			// unscrubbed, it could keep a secret; refused, the SDK says so.
			return "", refuse(http.StatusBadRequest, "errlog: ingest: %v", err)
		}
		if changed {
			payload, stored, scrubbed = b, nil, true
		}
	}
	now := h.opts.Now()
	correctTime(ev, sentAt, now)
	var in *store.Incoming
	var err error
	if stored != nil {
		in, err = store.PrepareStored(p, ev, payload, stored, now)
	} else {
		in, err = store.Prepare(p, ev, payload, now)
	}
	if err != nil {
		return "", refuse(http.StatusBadRequest, "errlog: ingest: %v", err)
	}
	switch err := h.st.Submit(ctx, in); {
	case err == nil:
		h.events.Add(1)
		if scrubbed {
			h.scrubbed.Add(1)
		}
		return in.EventID, nil
	case errors.Is(err, store.ErrRejected):
		return "", refuse(http.StatusBadRequest, "errlog: ingest: %v", err)
	case errors.Is(err, store.ErrQueueFull):
		secs := int((h.opts.RetryAfter + time.Second - 1) / time.Second)
		return "", &httpError{status: http.StatusTooManyRequests, retryAfter: h.opts.RetryAfter,
			msg: "errlog: ingest: the store is behind; retry later", limits: strconv.Itoa(secs) + "::organization"}
	case errors.Is(err, store.ErrLost):
		// The store said so once on stderr, with the file's path.
		return "", &httpError{status: http.StatusServiceUnavailable, retryAfter: h.opts.RetryAfter, msg: "errlog: ingest: " + store.ErrLost.Error()}
	default:
		return "", h.storeDown("store", err)
	}
}

// storeDown is the answer to a request the store failed (the database
// restarting, unreachable): 503 with Retry-After, saying no more than
// that. The store's error names the database's host, address, user and
// name, and the answer goes to anyone holding a DSN, which a browser SDK
// publishes in every page; it is told to OnError instead, at most once
// in storeDownEvery (an outage fails every request).
func (h *Handler) storeDown(op string, err error) *httpError {
	if h.opts.OnError != nil {
		now := time.Now().UnixNano()
		last := h.downTold.Load()
		if now-last >= int64(storeDownEvery) && h.downTold.CompareAndSwap(last, now) {
			h.opts.OnError(fmt.Errorf("errlog: ingest: %s: %w", op, err))
		}
	}
	return &httpError{status: http.StatusServiceUnavailable, retryAfter: h.opts.RetryAfter,
		msg: "errlog: ingest: the store is unavailable; retry later"}
}

// storeDownEvery is how often, at most, a store failure is told.
const storeDownEvery = 10 * time.Second
