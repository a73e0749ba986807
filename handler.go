package errlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/record"
	"github.com/errlog/errlog/internal/settings"
	"github.com/errlog/errlog/internal/stack"
	"github.com/errlog/errlog/internal/values"
	"github.com/errlog/errlog/logfile"
	"github.com/errlog/errlog/tracker"
)

// Handler is errlog's slog.Handler: it fans each record out to the console,
// the log file and, at or above Options.ErrorLevel, to mail, the tracker
// and every EventSink, as one enriched and masked event.
//
// Handlers derived with WithAttrs and WithGroup share their parent's sinks
// and queue; Close on any of them closes them all.
type Handler struct {
	c *core
	// life is shared by every Handler derived from one NewHandler call
	// (nil for the handlers errlog makes for itself).
	life    *lifetime
	console slog.Handler     // nil: no console
	file    *logfile.Handler // nil: no file
	goas    []groupOrAttrs
	// masked is set below a group whose name is secret
	// (WithGroup("credentials")): every value under it is masked.
	masked bool
}

var _ slog.Handler = (*Handler)(nil)

// groupOrAttrs is one WithGroup or WithAttrs call, recorded for the
// structured sinks (the event builder) as the slog handler guide shows.
type groupOrAttrs struct {
	group string
	attrs []slog.Attr
}

// lifetime is what every Handler derived from one NewHandler call points
// to and nothing else does: the core, its goroutines and the registry of
// open handlers never point to it. So when the application drops every
// such Handler without closing it, the lifetime becomes unreachable and
// its finalizer closes the core, ending its goroutine and its registry
// entry: a handler that is never closed is not kept forever.
type lifetime struct{ c *core }

// finalize closes the core of handlers that were dropped without Close,
// delivering what is queued within DefaultFlushTimeout, on a goroutine of
// its own (a finalizer must not block).
func (l *lifetime) finalize() {
	go l.c.close(context.Background()) //nolint:errcheck // reported through OnDeliveryError
}

// core is what every Handler derived from one NewHandler call shares.
type core struct {
	consoleLevel slog.Leveler
	fileLevel    slog.Leveler
	errorLevel   slog.Leveler
	// minLevel is the lowest level any sink wants, when every level is
	// fixed; dynamicLevels is set when one is a *slog.LevelVar or similar,
	// and Enabled must ask each.
	minLevel      slog.Level
	dynamicLevels bool

	consoleMu  sync.Mutex // holds a record's line and its stack together
	consoleW   io.Writer
	consoleCol bool
	rootFile   *logfile.Handler

	san sanitizer
	// hookFields are Options.Hooks as the log file asks them for fields.
	hookFields []record.FieldSource
	env        *environment
	now        func() time.Time // clock.Now
	clock      clock.Clock
	onError    func(error)
	opts       Options // defaulted copy; never the caller's

	// src is nil when Options.SourceContext is SourceOff; consoleSrc
	// says whether the console prints source lines under frames.
	src        *srcCache
	consoleSrc bool

	sinks    []EventSink
	hasSinks bool
	jobs     chan job
	// markers counts Flush's markers in jobs (or about to be), so that
	// what Stats says is pending, and what a Close that gives up says it
	// drops, are events only (pending). Counted on Flush's path, not on
	// every record's.
	markers atomic.Int64
	done    chan struct{}
	// closing is closed when Close starts, so that a Flush waiting for
	// room in jobs (holding sendMu's read lock) steps aside at once.
	closing chan struct{}
	// crashes counts the goroutine that hands picked-up crash reports
	// to the sinks (crash.go); Close waits for it.
	crashes sync.WaitGroup
	// crashOut is the runtime's crash output this core armed (nil: none);
	// Close releases it.
	crashOut *crashOutput
	dropped  atomic.Uint64
	// abandoned is set when Close gave up waiting for the delivery
	// goroutine: what it still holds is counted as dropped, not built
	// and given to sinks that are closed.
	abandoned atomic.Bool
	// discarded counts events SampleRate or BeforeSend left out: by
	// choice, not lost.
	discarded atomic.Uint64
	// crumbMax is Options.Breadcrumbs resolved, 0 for none; crumbs is
	// the ring of records logged without a Scope.
	crumbMax   int
	crumbLevel slog.Leveler
	crumbs     crumbRing
	sampleRate float64 // in (0, 1]
	random     func() float64
	accepted   atomic.Uint64 // records put in jobs
	built      atomic.Uint64 // events handed to the sinks
	// reportedDrops is what reportDrops has told; the delivery goroutine's.
	reportedDrops uint64
	// lastDropReport is when reportDrops last told (real time).
	lastDropReport time.Time
	// skipped counts, per group (message and call site), the records not
	// built because no sink had room; the next event of the group that
	// gets through says "… and N more like this". The delivery
	// goroutine's.
	skipped map[skipKey]int
	closed  atomic.Bool
	closeMu sync.Mutex
	// closeDone is made by the first Close, under closeMu, and closed
	// when it returns: a later Close waits for it, or for its own
	// deadline.
	closeDone chan struct{}
	sendMu    sync.RWMutex // excludes enqueues while Close closes jobs
}

// job is one record on its way to the event sinks, with what must be
// captured on the caller's goroutine: the stack, the request, the scope.
type job struct {
	r     slog.Record
	goas  []groupOrAttrs
	req   *requestSnapshot
	scope *scopeState
	npcs  int
	pcs   [stack.Max]uintptr
	flush chan struct{} // a flush marker instead of a record
	ev    *event.Event  // a finished event instead of a record (a crash report)
	// eventID is the ID CaptureError made and returned; "" for a new one.
	eventID string
	// contexts are what Options.Hooks add to the event.
	contexts map[string]map[string]any
	// crumbs holds the event's breadcrumbs: the first crumbSeq records
	// it ever kept; crumbPin is the pin that keeps them (0: none).
	crumbs   *crumbRing
	crumbSeq uint64
	crumbPin int
}

// NewHandler builds the handler chain Options describe. It never fails:
// a sink that cannot be built (a bad DSN, an unwritable log path) is
// reported through Options.OnDeliveryError and left out, and the rest
// works, because logging must never take an application down.
func NewHandler(opts Options) *Handler {
	r := resolveOptions(opts)
	c := &core{opts: r.Options, closing: make(chan struct{})}
	o := &c.opts
	c.clock = o.clock
	c.now = o.Now
	c.onError = r.shared.OnError
	for _, err := range r.errs {
		c.onError(err)
	}
	c.errorLevel = o.ErrorLevel
	c.initSampling()
	m, err := newMasker(o.Mask)
	if err != nil {
		c.onError(err)
	}
	c.san = sanitizer{m: m, max: o.MaxValueBytes}
	for _, hk := range o.Hooks {
		c.hookFields = append(c.hookFields, hk)
	}

	h := &Handler{c: c}
	c.consoleLevel = o.Level
	if o.Console != io.Discard {
		c.consoleW = o.Console
		c.consoleCol = !o.NoColor && (o.ForceColor || isTerminal(o.Console)) && os.Getenv("NO_COLOR") == ""
		h.console = newConsole(o.Console, c.consoleCol, o)
	}
	if o.SourceContext != SourceOff {
		m := c.san.m
		c.src = newSrcCache(srcCacheBytes, func(l string) string { return m.scrub(maskSourceLine(l, m.mentionsKey, m.with)) })
		c.consoleSrc = h.console != nil && (o.SourceContext == SourceOn || isTerminal(o.Console))
	}

	if r.file != nil {
		fo := *r.file
		fo.OnError = c.onError
		if fh, err := logfile.New(fo); err != nil {
			c.onError(err)
		} else {
			h.file, c.rootFile = fh, fh
			c.fileLevel = fh.Level()
		}
	}

	c.env = newEnvironment(o, &c.san)
	env := sinkEnv{
		OnError:     r.shared.OnError,
		SpoolDir:    r.shared.SpoolDir,
		QueueSize:   r.shared.QueueSize,
		Clock:       r.shared.Clock,
		Formatter:   r.format,
		Debug:       r.shared.Debug,
		Environment: r.shared.Environment,
		Release:     r.shared.Release,
		ServerName:  r.shared.ServerName,
	}
	mail := o.Mail
	if o.Debug {
		mail = nil
	}
	if mail != nil || len(o.Notifiers) > 0 || len(o.Ticketers) > 0 {
		if s, err := newMailSink(mail, o.Throttle, env, o.Notifiers, o.Ticketers); err != nil {
			c.onError(err)
		} else if s != nil {
			c.sinks = append(c.sinks, s)
		}
	}
	if o.Tracker != nil {
		to := *o.Tracker
		if rate := to.SampleRate; !(rate >= 0 && rate <= 1) {
			// A bad rate costs the rate, as Options.SampleRate's does,
			// not the tracker and every event with it.
			c.onError(&DeliveryError{Sink: "tracker", Op: "configure",
				Err: fmt.Errorf("Options.Tracker.SampleRate %v is not in (0, 1]: every event is sent", rate)})
			to.SampleRate = 0
		}
		if t, err := tracker.NewSink(to, r.shared); err != nil {
			c.onError(err)
		} else if t != nil {
			c.sinks = append(c.sinks, t)
		}
	}
	c.sinks = append(c.sinks, o.Sinks...)
	c.hasSinks = len(c.sinks) > 0
	c.initBreadcrumbs()
	c.computeLevels(h)
	if c.hasSinks {
		c.jobs = make(chan job, o.QueueSize)
		c.done = make(chan struct{})
		go c.deliverLoop(c.jobs)
	}
	c.startCrashReports()
	register(c)
	h.life = &lifetime{c: c}
	runtime.SetFinalizer(h.life, (*lifetime).finalize)
	return h
}

// computeLevels precomputes Enabled's answer when every level is fixed.
func (c *core) computeLevels(h *Handler) {
	c.minLevel = slog.Level(1 << 30)
	levels := []slog.Leveler{}
	if h.console != nil {
		levels = append(levels, c.consoleLevel)
	}
	if h.file != nil {
		levels = append(levels, c.fileLevel)
	}
	if c.hasSinks {
		levels = append(levels, c.errorLevel)
	}
	if c.crumbMax > 0 {
		levels = append(levels, c.crumbLevel)
	}
	for _, l := range levels {
		if _, ok := l.(slog.Level); !ok {
			c.dynamicLevels = true
		}
		c.minLevel = min(c.minLevel, l.Level())
	}
}

// Enabled reports whether any sink wants records of level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	c := h.c
	if !c.dynamicLevels {
		return level >= c.minLevel
	}
	return (h.console != nil && level >= c.consoleLevel.Level()) ||
		(h.file != nil && level >= c.fileLevel.Level()) ||
		(c.hasSinks && level >= c.errorLevel.Level()) ||
		(c.crumbMax > 0 && level >= c.crumbLevel.Level())
}

// Handle sends r to every sink that wants it. It returns the console's
// and the file's write errors (also reported through OnDeliveryError);
// mail, tracker and sinks work asynchronously and report their own.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	c := h.c
	if h.masked {
		r = c.maskRecord(r)
	}
	r = c.sanitizeRecord(r)
	if c.crumbMax > 0 {
		c.addCrumb(ctx, h, &r)
	}
	toConsole := h.console != nil && r.Level >= c.consoleLevel.Level()
	toFile := h.file != nil && r.Level >= c.fileLevel.Level()
	var x record.Extras
	ri := requestFromContext(ctx)
	if ri != nil {
		x.Req = &ri.Request
	}
	hooked := len(c.opts.Hooks) > 0
	if hooked && toFile {
		x.Ctx, x.Fields = ctx, c.hookFields
	}
	if r.Level >= c.errorLevel.Level() && (toConsole || toFile || c.hasSinks || hooked) {
		if ri != nil {
			ri.reported.Store(true) // Middleware reports no status on top
		}
		// A full queue refuses the record before any work (refuse).
		toSinks := c.hasSinks && !c.refuse()
		var buf [stack.Max]uintptr
		var pcs []uintptr
		if (toConsole || toFile || toSinks) && (ctx == nil || ctx.Value(noStackKey{}) == nil) {
			pcs = recordPCs(&r, buf[:0])
		}
		if toConsole || toFile {
			x.Stack = stack.Frames(pcs)
			if c.src != nil && (toFile || c.consoleSrc) {
				c.src.fillLines(x.Stack)
			}
		}
		var id string
		var contexts map[string]map[string]any
		if hooked {
			hctx := ctx
			if id = eventIDFrom(ctx); id != "" {
				// Not for an event a hook logs: one ID, one event.
				hctx = context.WithValue(ctx, eventIDKey{}, "")
			} else if c.hasSinks {
				id = event.NewID()
			}
			contexts = c.runHooks(hctx, h, r, id, pcs)
		}
		if toSinks {
			c.enqueue(ctx, h, &r, pcs, id, contexts)
		}
	}
	if (toConsole || toFile) && r.Level >= slog.LevelError && r.NumAttrs() > 0 {
		// The record the text sinks print; the event keeps the error.
		r = withoutEchoedError(r)
	}
	var errs []error
	if toConsole {
		if err := c.writeConsole(ctx, h.console, r, x.Stack); err != nil {
			err = fmt.Errorf("errlog: console: %w", err)
			c.onError(err)
			errs = append(errs, err)
		}
	}
	if toFile {
		// The file reports its own failures (logfile.Options.OnError is
		// c.onError): once when it stops taking lines, once when it
		// takes them again.
		if err := h.file.HandleExtras(ctx, r, &x); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// withoutEchoedError returns r without an error attr whose text is the
// record's message: CaptureError and a recovered panic log the error as
// both ("panic: boom" and error="panic: boom"), which the text sinks would
// print twice. It allocates only for such a record.
func withoutEchoedError(r slog.Record) slog.Record {
	echo, i, msg := -1, 0, r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindAny {
			if err, ok := a.Value.Any().(error); ok {
				if text, ok := errorText(err); ok && text == msg {
					echo = i
					return false
				}
			}
		}
		i++
		return true
	})
	if echo < 0 {
		return r
	}
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	i = 0
	r.Attrs(func(a slog.Attr) bool {
		if i != echo {
			nr.AddAttrs(a)
		}
		i++
		return true
	})
	return nr
}

// noStackKey marks a context whose records have no stack worth showing:
// the tracked statuses Middleware reports, whose stack would be its own.
type noStackKey struct{}

// recordPCs returns the stack to report for r: the one carried by an error
// among its attrs, else the logging call's.
func recordPCs(r *slog.Record, dst []uintptr) []uintptr {
	var pcs []uintptr
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() != slog.KindAny {
			return true
		}
		if err, ok := a.Value.Any().(error); ok {
			if p := stack.ErrorPCs(err); p != nil {
				pcs = p
				return false
			}
		}
		return true
	})
	if pcs != nil {
		return append(dst, pcs[:min(len(pcs), cap(dst))]...)
	}
	return stack.Callers(r.PC, dst)
}

// maskRecord returns r with every attr value masked.
func (c *core) maskRecord(r slog.Record) slog.Record {
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(slog.Attr{Key: a.Key, Value: c.san.m.withVal})
		return true
	})
	return nr
}

// sanitizeRecord returns r with its attrs sanitized; r itself when nothing
// needed it, which is the common case and costs no allocation.
func (c *core) sanitizeRecord(r slog.Record) slog.Record {
	msg := c.san.maskCapped(escapeInvalidUTF8(r.Message), func(msg string) string {
		if c.san.m.mayHoldSecret(msg) {
			msg = c.san.m.scrub(msg)
		}
		if strings.ContainsAny(msg, "=:") {
			// "password=…" in the text is masked as in an error's and a
			// string attr's (scrubText), at every level: the console and
			// the file print what an event would say, and an INFO line's
			// secret is as secret as an ERROR's.
			msg = c.san.m.scrubText(msg)
		}
		return msg
	})
	changed := msg != r.Message || r.NumAttrs() > MaxAttrs
	r.Attrs(func(a slog.Attr) bool {
		if changed {
			return false
		}
		if c.san.clean(a) {
			return true
		}
		_, changed = c.san.attr(a, catNone)
		return !changed
	})
	if !changed {
		return r
	}
	nr := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	n := 0
	r.Attrs(func(a slog.Attr) bool {
		if n++; n > MaxAttrs {
			return false
		}
		b, _ := c.san.attr(a, catNone)
		nr.AddAttrs(b)
		return true
	})
	if r.NumAttrs() > MaxAttrs {
		nr.AddAttrs(moreAttr(r.NumAttrs() - MaxAttrs))
	}
	return nr
}

// enqueue hands r to the delivery goroutine without blocking; a full
// queue drops the record, counted and reported.
// id, when set, is the event's ID; contexts are the hooks'.
func (c *core) enqueue(ctx context.Context, h *Handler, r *slog.Record, pcs []uintptr, id string, contexts map[string]map[string]any) {
	var full bool
	defer func() {
		if full {
			runtime.Gosched() // as refuse does, once the lock is released
		}
	}()
	// The request is copied before the lock: its ContextBuilder is the
	// application's code, which may log (into this same lock, which a
	// waiting Close would then keep from it).
	var req *requestSnapshot
	if ri := requestFromContext(ctx); ri != nil {
		req = ri.snapshot(ctx)
	}
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	if c.closed.Load() {
		c.dropped.Add(1) // counted; Close has reported what it could not deliver
		return
	}
	if id == "" {
		id = eventIDFrom(ctx)
	}
	j := job{r: r.Clone(), goas: h.goas, npcs: len(pcs), eventID: id, contexts: contexts, req: req}
	copy(j.pcs[:], pcs)
	s := scopeFromContext(ctx)
	if s != nil {
		j.scope = s.state.Load()
	}
	c.markCrumbs(&j, s)
	select {
	case c.jobs <- j:
		c.accepted.Add(1)
	default:
		// Counted here, reported by the delivery goroutine: reporting on
		// the caller's goroutine would call a hook that may itself log,
		// into the same full queue, without end.
		c.dropped.Add(1)
		c.takeCrumbs(&j)
		full = true
	}
}

// reportDrops reports the records dropped since the last report, from the
// delivery goroutine.
//
// A storm drops thousands of records a second, and every job would find
// new drops: the report, an error value and a hook call, is made at most
// once a second, or at once when force is set (a Flush or Close waits).
// Counting a drop stays one atomic add on the caller's side.
func (c *core) reportDrops(force bool) {
	total := c.dropped.Load()
	n := total - c.reportedDrops
	if n == 0 {
		return
	}
	now := time.Now()
	if !force && now.Sub(c.lastDropReport) < dropReportEvery {
		return
	}
	c.lastDropReport = now
	c.reportedDrops = total
	c.onError(&DeliveryError{Sink: "queue", Op: "enqueue", Err: fmt.Errorf("%d events dropped because the queues were full (%d in all)", n, total)})
}

// lostReported counts an event lost in the delivery goroutine (whose
// alone it is to call it) and reported there with its own reason: in
// Dropped, but not again in reportDrops' "queues were full".
func (c *core) lostReported() {
	c.dropped.Add(1)
	c.reportedDrops++
}

// dropReportEvery is how often, at most, drops are reported while nobody
// waits for the report.
const dropReportEvery = time.Second

// deliverLoop builds each job's event and gives it to every sink.
func (c *core) deliverLoop(jobs <-chan job) {
	defer close(c.done)
	for j := range jobs {
		if j.flush != nil {
			c.markers.Add(-1)
		}
		if c.abandoned.Load() && j.flush == nil {
			// Close gave up, and its error says how many were left.
			c.lostReported()
			c.takeCrumbs(&j)
			continue
		}
		c.reportDrops(j.flush != nil)
		if j.flush != nil {
			close(j.flush)
			continue
		}
		c.deliver(&j)
	}
	c.reportDrops(true)
}

// skipKey groups records before their event is built: what it costs to
// know, the message and the call site.
type skipKey struct {
	msg string
	pc  uintptr
}

// maxSkipKeys bounds the groups counted under overload.
const maxSkipKeys = 1000

// roomer is a sink that can tell whether it would take an event now
// (tracker.Tracker).
type roomer interface{ HasRoom() bool }

// sinksFull reports whether every sink says it has no room: then
// building the event (stack, masking, environment) is wasted work.
func (c *core) sinksFull() bool {
	for _, s := range c.sinks {
		r, ok := s.(roomer)
		if !ok || r.HasRoom() {
			return false
		}
	}
	return true
}

func (c *core) deliver(j *job) {
	defer func() {
		if p := recover(); p != nil {
			c.lostReported()
			c.onError(&DeliveryError{Sink: "handler", Op: "build", Err: fmt.Errorf("building or delivering an event panicked: %v", p)})
		}
	}()
	crumbs := c.takeCrumbs(j)
	ev := j.ev // a crash report comes built: never sampled out nor skipped
	if ev == nil {
		if !c.keep() {
			c.discarded.Add(1)
			return
		}
		key := skipKey{j.r.Message, j.r.PC}
		if c.sinksFull() {
			c.dropped.Add(1)
			if c.skipped == nil {
				c.skipped = map[skipKey]int{}
			}
			if _, ok := c.skipped[key]; ok || len(c.skipped) < maxSkipKeys {
				c.skipped[key]++
			}
			return
		}
		ev = c.buildEvent(j)
		c.addBreadcrumbs(ev, crumbs)
		if n := c.skipped[key]; n > 0 {
			delete(c.skipped, key)
			extra := make(map[string]any, len(ev.Extra)+1)
			for k, v := range ev.Extra {
				extra[k] = v
			}
			extra["errlog_more_like_this"] = fmt.Sprintf("… and %d more like this, dropped under overload", n)
			ev.Extra = extra
		}
	} else {
		// A crash report is built from the runtime's text, which may
		// quote a secret as any panic value does: masked as buildEvent
		// masks an event.
		c.scrubEvent(ev)
		if l := ev.Logentry; l != nil {
			l.Message = c.san.m.scrubText(l.Message)
		}
		for k, v := range ev.Extra {
			if s, ok := v.(string); ok {
				ev.Extra[k] = c.san.m.scrubText(s)
			}
		}
	}
	if c.src != nil {
		c.src.addToEvent(ev)
	}
	if ev = c.beforeSend(ev); ev == nil {
		return
	}
	for _, s := range c.sinks {
		c.deliverTo(s, ev)
	}
	c.built.Add(1)
}

func (c *core) deliverTo(s EventSink, ev *event.Event) {
	defer func() {
		if p := recover(); p != nil {
			c.lostReported()
			c.onError(&DeliveryError{Sink: "sink", Op: "deliver", Err: fmt.Errorf("%T panicked: %v", s, p)})
		}
	}()
	s.Deliver(ev)
}

// WithAttrs returns a Handler whose records carry attrs: pre-formatted for
// the console and the file, recorded for events.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if h.masked {
		masked := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			masked[i] = slog.Attr{Key: a.Key, Value: h.c.san.m.withVal}
		}
		attrs = masked
	}
	attrs = h.c.san.attrs(attrs, catNone)
	h2 := *h
	if h.console != nil {
		h2.console = h.console.WithAttrs(attrs)
	}
	if h.file != nil {
		h2.file = h.file.WithAttrs(attrs).(*logfile.Handler)
	}
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{attrs: slices.Clone(attrs)})
	return &h2
}

// WithGroup returns a Handler that puts later attrs in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	if groupDepth(h.goas) >= MaxGroupDepth {
		return h // deeper groups would make events no parser reads
	}
	name = values.Truncate(name, h.c.san.max)
	h2 := *h
	h2.masked = h.masked || h.c.san.m.hides(catNone, name)
	if h.console != nil {
		h2.console = h.console.WithGroup(name)
	}
	if h.file != nil {
		h2.file = h.file.WithGroup(name).(*logfile.Handler)
	}
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{group: name})
	return &h2
}

// DefaultFlushTimeout bounds Flush and Close when their context has no
// deadline: `defer errlog.Flush(context.Background())` must not keep a
// program from exiting because the mail server or the tracker is down.
// What is not delivered by then stays in the spool, if there is one, and
// is reported otherwise.
const DefaultFlushTimeout = settings.FlushTimeout

func boundedContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, time.Duration(flushTimeout.Load()))
}

// flushTimeout is DefaultFlushTimeout, lowered by tests: atomic, since a
// Handler collected meanwhile closes on a finalizer's goroutine, which
// reads it while a test sets it.
var flushTimeout = func() *atomic.Int64 {
	var d atomic.Int64
	d.Store(int64(DefaultFlushTimeout))
	return &d
}()

// Flush returns when every event handled so far has been given to the
// sinks and each sink has flushed, or when ctx is done (after
// DefaultFlushTimeout if ctx has no deadline).
func (h *Handler) Flush(ctx context.Context) error {
	// h must outlive the call: were it the application's last use, the
	// collector could finalize h's lifetime meanwhile, and that Close
	// would make this Flush return early with the events still on their
	// way.
	defer runtime.KeepAlive(h)
	return h.c.flush(ctx)
}

func (c *core) flush(ctx context.Context) error {
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	if c.hasSinks && !c.closed.Load() {
		marker := make(chan struct{})
		if err := c.sendFlush(ctx, marker); err != nil {
			return err
		}
		select {
		case <-marker:
		case <-ctx.Done():
			return fmt.Errorf("errlog: flush: %w", ctx.Err())
		}
	}
	return eachSink(c.sinks, func(s EventSink) error { return s.Flush(ctx) })
}

// eachSink runs f on every sink at once, so that a sink whose peer hangs
// does not eat the time the others need: all of them end by the one
// deadline.
func eachSink(sinks []EventSink, f func(EventSink) error) error {
	if len(sinks) == 1 {
		return f(sinks[0])
	}
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func(i int, s EventSink) {
			defer wg.Done()
			errs[i] = f(s)
		}(i, s)
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *core) sendFlush(ctx context.Context, marker chan struct{}) error {
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	if c.closed.Load() {
		close(marker)
		return nil
	}
	c.markers.Add(1) // before the send: the delivery goroutine takes it off
	select {
	case c.jobs <- job{flush: marker}:
		return nil
	case <-c.closing: // Close delivers what is queued
		c.markers.Add(-1)
		close(marker)
		return nil
	case <-ctx.Done():
		c.markers.Add(-1)
		return fmt.Errorf("errlog: flush: %w", ctx.Err())
	}
}

// pending is how many events wait in jobs: Flush's markers are not
// events (a Close that gave up behind a slow delivery said 33 events for
// 4).
func (c *core) pending() int {
	return max(0, len(c.jobs)-int(c.markers.Load()))
}

// Close flushes and closes every sink and stops every goroutine the
// Handler started, or gives up when ctx is done. Closing twice is not an
// error. Records handled after Close still reach the console.
func (h *Handler) Close(ctx context.Context) error {
	if h.life != nil {
		runtime.SetFinalizer(h.life, nil)
	}
	return h.c.close(ctx)
}

func (c *core) close(ctx context.Context) error {
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	c.closeMu.Lock()
	if done := c.closeDone; done != nil {
		// Another Close started: wait for it, within this one's deadline.
		c.closeMu.Unlock()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("errlog: close: another Close is still closing the handler: %w", ctx.Err())
		}
	}
	c.closeDone = make(chan struct{})
	c.closeMu.Unlock()
	defer close(c.closeDone)
	unregister(c)
	close(c.closing)
	var errs []error
	if c.hasSinks {
		c.sendMu.Lock()
		c.closed.Store(true)
		close(c.jobs)
		c.sendMu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			c.abandoned.Store(true)
			err := fmt.Errorf("errlog: close: %d events not yet given to mail, tracker and sinks, dropped: %w", c.pending(), ctx.Err())
			c.onError(err)
			errs = append(errs, err)
		}
	}
	c.closed.Store(true)
	if err := eachSink(c.sinks, func(s EventSink) error { return s.Close(ctx) }); err != nil {
		errs = append(errs, err)
	}
	if c.rootFile != nil {
		if err := c.rootFile.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	crashesDone := make(chan struct{})
	go func() { c.crashes.Wait(); close(crashesDone) }()
	select {
	case <-crashesDone:
	case <-ctx.Done(): // it ends by its own deadline
	}
	if c.crashOut != nil {
		c.crashOut.release()
		c.crashOut = nil
	}
	return errors.Join(errs...)
}

// Dropped returns how many events were lost anywhere on their way: refused
// by the Handler's queue or a sink's, given up after a permanent failure,
// evicted from a full spool, or lost at Close. It is Stats().Dropped.
func (h *Handler) Dropped() uint64 { return h.Stats().Dropped }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
