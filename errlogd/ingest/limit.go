package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Anyone with a DSN, and every browser application ships one, can open
// many requests at once and send their bodies slowly; a few hundred bytes
// of brotli or zstd make a decoder hold megabytes. So the memory that
// requests hold is reserved from a Budget before it is used, and a body
// must arrive within BodyTimeout in all: past the budget a request waits
// MemoryWait, then is refused with 429 and Retry-After.

// Budget is memory shared by requests in flight: each reserves what it
// will hold before it holds it, and gives it back when done. It is safe
// for concurrent use; any reader of request bodies can use one.
type Budget struct {
	mu    sync.Mutex
	total int64
	used  int64
	freed chan struct{} // closed and replaced when memory is given back
}

// NewBudget returns a budget of total bytes.
func NewBudget(total int64) *Budget {
	return &Budget{total: total, freed: make(chan struct{})}
}

// errBudget is a reservation that cannot be met in time.
var errBudget = errors.New("errlog: ingest: memory budget exhausted")

// Acquire reserves n bytes, waiting until they are free or ctx ends (then
// it returns an error wrapping ctx's). A reservation larger than the whole
// budget fails at once.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	if n > b.total {
		return fmt.Errorf("%w: %d bytes asked, %d in all", errBudget, n, b.total)
	}
	for {
		b.mu.Lock()
		if b.used+n <= b.total {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", errBudget, ctx.Err())
		}
	}
}

// Release gives back n bytes that Acquire reserved.
func (b *Budget) Release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// tryAcquire reserves n bytes if they are free now.
func (b *Budget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.total {
		return false
	}
	b.used += n
	return true
}

// Used is how many bytes are reserved now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// What a request holds, as measured (see TestStalledBodiesBoundMemory and
// docs/security.md).
const (
	// baseCost is a request's buffers: 4 KiB before decompression, 64
	// KiB after, the connection's own 8 KiB and a goroutine's stack.
	baseCost = 96 << 10
	// flateCost is gzip's or deflate's state: a 32 KiB window and the
	// Huffman tables.
	flateCost = 64 << 10
	// zstdCost is the zstd decoder's most: its 8 MiB window bound and
	// two 128 KiB blocks.
	zstdCost = 8<<20 + 256<<10
	// brotliTables is brotli's state besides its window.
	brotliTables = 128 << 10
	// growStep is how much more a request reserves at a time as its
	// decompressed bytes arrive.
	growStep = 64 << 10
)

// limits is the Handler's share of this file: the two budgets and the
// counters.
type limits struct {
	bodies                            *Budget // buffers, payloads and gzip state
	decoders                          *Budget // brotli and zstd windows
	decompressed, timedOut, overItems atomic.Int64
}

// limitDefaults fills the defaults of the options this file reads.
func (o *Options) limitDefaults() {
	if o.MaxMemory <= 0 {
		o.MaxMemory = 96 << 20
	}
	if o.MemoryWait <= 0 {
		o.MemoryWait = time.Second
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = 30 * time.Second
	}
	if o.MaxItems <= 0 {
		o.MaxItems = 1000
	}
}

func newLimits(o *Options) limits {
	// A third for the windows of brotli and zstd, so that slow
	// compressed bodies, the costly kind, cannot starve plain and gzip
	// ones, which is what SDKs send.
	return limits{bodies: NewBudget(o.MaxMemory - o.MaxMemory/3), decoders: NewBudget(o.MaxMemory / 3)}
}

// bodyDeadline gives the request's body BodyTimeout to arrive in all, a
// deadline that a trickle of bytes cannot extend as an idle timeout
// would. Where the connection does not support it (HTTP/2 through some
// proxies), the server's ReadTimeout is what remains.
func (h *Handler) bodyDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(h.opts.Now().Add(h.opts.BodyTimeout))
}

// admission is one request's reservations and the reader that meters
// its decompressed bytes.
type admission struct {
	h        *Handler
	ctx      context.Context
	body     *watchedBody
	r        io.Reader // set by meter: the decompressed body
	decoder  int64     // reserved from h.lim.decoders
	base     int64     // buffers and gzip state, reserved from h.lim.bodies
	held     int64     // all reserved from h.lim.bodies: base, then payload
	metered  int64     // decompressed bytes read
	maxGrown int64     // the most a request reserves for its payload
	kept     int64     // reserved from h.lim.bodies for the body's kept copy
}

// admit reserves what r's body will hold before it is decompressed: its
// buffers and its decoder's state, whose size the first bytes of the
// body tell. It returns the body to read in place of r.Body.
func (h *Handler) admit(r *http.Request) (*admission, io.Reader, error) {
	a := &admission{h: h, ctx: r.Context(), body: &watchedBody{r: r.Body}, maxGrown: 2*h.opts.MaxEvent + 64<<10}
	var head [2]byte
	n, err := io.ReadFull(a.body, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, nil, a.readErr(err)
	}
	body := io.MultiReader(strings.NewReader(string(head[:n])), a.body)
	dec, flate := decoderCost(head[:n], r.Header.Get("Content-Encoding"))
	// The decoder's window first: a request waiting for one holds
	// nothing else.
	if err := a.acquire(h.lim.decoders, dec); err != nil {
		return nil, nil, err
	}
	a.decoder = dec
	if err := a.acquire(h.lim.bodies, baseCost+flate); err != nil {
		a.release()
		return nil, nil, err
	}
	a.base = baseCost + flate
	a.held = a.base
	return a, body, nil
}

func (a *admission) acquire(b *Budget, n int64) error {
	ctx, cancel := context.WithTimeout(a.ctx, a.h.opts.MemoryWait)
	defer cancel()
	if err := b.Acquire(ctx, n); err != nil {
		if a.ctx.Err() != nil {
			return a.gone()
		}
		return &httpError{status: http.StatusTooManyRequests, retryAfter: a.h.opts.RetryAfter,
			msg:    fmt.Sprintf("errlog: ingest: the %d MiB for request bodies are in use; retry later", a.h.opts.MaxMemory>>20),
			limits: fmt.Sprintf("%d::organization", int((a.h.opts.RetryAfter+time.Second-1)/time.Second))}
	}
	return nil
}

// release gives back every reservation; it is called once, when the
// request is answered.
func (a *admission) release() {
	a.h.lim.decoders.Release(a.decoder)
	a.h.lim.bodies.Release(a.held + a.kept)
	a.h.lim.decompressed.Add(a.metered)
	a.decoder, a.held, a.metered, a.kept = 0, 0, 0, 0
}

// keep reserves room for a kept copy of the body (limitedBody) of n
// bytes, growStep at a time, without waiting: false when the budget has
// none free now, and the body is then not kept (it is an economy, never a
// reason to refuse or delay a request).
func (a *admission) keep(n int64) bool {
	if n <= a.kept {
		return true
	}
	step := max(n-a.kept, growStep)
	if !a.h.lim.bodies.tryAcquire(step) {
		return false
	}
	a.kept += step
	return true
}

// meter returns dec read through the admission: each read first checks
// that the client is still there, and the bytes decompressed are
// reserved as they arrive (up to twice MaxEvent: an event being
// assembled is the most a request holds of them).
func (a *admission) meter(dec io.Reader) io.Reader {
	a.r = dec
	return a
}

func (a *admission) Read(p []byte) (int, error) {
	if a.ctx.Err() != nil {
		return 0, a.gone()
	}
	n, err := a.r.Read(p)
	a.metered += int64(n)
	if gerr := a.grow(); gerr != nil {
		return n, gerr
	}
	if err != nil && a.body.timedOut() {
		return n, a.timeout()
	}
	return n, err
}

// grow reserves the decompressed bytes read so far, growStep at a time.
func (a *admission) grow() error {
	payload := a.held - a.base
	want := min(a.metered, a.maxGrown)
	if want <= payload {
		return nil
	}
	step := min(max(want-payload, growStep), a.maxGrown-payload)
	if err := a.acquire(a.h.lim.bodies, step); err != nil {
		return err
	}
	a.held += step
	return nil
}

// check is err, unless the body's deadline passed: a decoder reading its
// header reports that in its own words.
func (a *admission) check(err error) error {
	if a.body.timedOut() {
		return a.timeout()
	}
	return err
}

func (a *admission) readErr(err error) error {
	if a.body.timedOut() {
		return a.timeout()
	}
	return refuse(http.StatusBadRequest, "errlog: ingest: body: %v", err)
}

func (a *admission) timeout() error {
	a.h.lim.timedOut.Add(1)
	return refuse(http.StatusRequestTimeout, "errlog: ingest: the body did not arrive within %s", a.h.opts.BodyTimeout)
}

// gone is the answer to a client that left: nobody reads it.
func (a *admission) gone() error {
	a.h.lim.timedOut.Add(1)
	return refuse(499, "errlog: ingest: the client closed the request")
}

// overItems is the answer to an envelope of more than MaxItems items
// (blank lines count): each costs a header to parse, however small.
func (h *Handler) overItems() error {
	h.lim.overItems.Add(1)
	return refuse(http.StatusRequestEntityTooLarge, "errlog: ingest: envelope of more than %d items", h.opts.MaxItems)
}

// watchedBody notes whether reading the request body hit its deadline:
// decoders report the error in their own words.
type watchedBody struct {
	r        io.Reader
	deadline atomic.Bool
}

func (w *watchedBody) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		w.deadline.Store(true)
	}
	return n, err
}

func (w *watchedBody) timedOut() bool { return w.deadline.Load() }

// decoderCost returns the state a body's decoder holds, from its
// Content-Encoding and first bytes, as decoderOn chooses the decoder:
// brotli and zstd windows (reserved from the decoders' budget), and
// gzip's or deflate's state (from the bodies').
func decoderCost(head []byte, encoding string) (window, flate int64) {
	enc := strings.ToLower(strings.TrimSpace(encoding))
	switch enc {
	case "", "identity", "utf-8": // "utf-8": decode.Decompress ignores it
		if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
			return 0, flateCost
		}
		return 0, 0
	case "gzip", "x-gzip", "deflate":
		return 0, flateCost
	case "br":
		return brotliWindow(head) + brotliTables, 0
	case "zstd":
		return zstdCost, 0
	}
	return 0, 0 // refused by decoderOn
}

// brotliWindow reads the window size from a brotli stream's first byte
// (RFC 7932, section 9.1): 64 KiB to 16 MiB.
func brotliWindow(head []byte) int64 {
	if len(head) == 0 {
		return 1 << 16
	}
	b := head[0]
	bits := 16
	switch {
	case b&1 == 0:
	case (b>>1)&7 != 0:
		bits = 17 + int((b>>1)&7)
	case (b>>4)&7 == 1: // large window: the decoder refuses it
	case (b>>4)&7 != 0:
		bits = 8 + int((b>>4)&7)
	default:
		bits = 17
	}
	return 1 << bits
}
