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
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
)

// Handler is errlog's slog.Handler: it fans each record out to the console,
// the log file and, at or above Options.ErrorLevel, to mail, the tracker
// and every EventSink, as one enriched and masked event.
//
// Handlers derived with WithAttrs and WithGroup share their parent's sinks
// and queue; Close on any of them closes them all.
type Handler struct {
	c       *core
	console slog.Handler // nil: no console
	file    *FileHandler // nil: no file
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
	rootFile   *FileHandler

	san     sanitizer
	env     *environment
	now     func() time.Time // clock.Now
	clock   clock.Clock
	onError func(error)
	opts    Options // defaulted copy; never the caller's

	// src is nil when Options.SourceContext is SourceOff; consoleSrc
	// says whether the console prints source lines under frames.
	src        *srcCache
	consoleSrc bool

	sinks    []EventSink
	hasSinks bool
	jobs     chan job
	done     chan struct{}
	// closing is closed when Close starts, so that a Flush waiting for
	// room in jobs (holding sendMu's read lock) steps aside at once.
	closing chan struct{}
	// crashes counts the goroutine that hands picked-up crash reports
	// to the sinks (crash.go); Close waits for it.
	crashes sync.WaitGroup
	dropped atomic.Uint64
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
	sendMu  sync.RWMutex // excludes enqueues while Close closes jobs
}

// job is one record on its way to the event sinks, with what must be
// captured on the caller's goroutine: the stack, the request, the scope.
type job struct {
	r     slog.Record
	goas  []groupOrAttrs
	req   *requestSnapshot
	scope *scopeState
	npcs  int
	pcs   [maxFrames]uintptr
	flush chan struct{} // a flush marker instead of a record
	ev    *event.Event  // a finished event instead of a record (a crash report)
	// eventID is the ID CaptureError made and returned; "" for a new one.
	eventID string
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
	c := &core{opts: opts.withDefaults(), closing: make(chan struct{})}
	o := &c.opts
	c.clock = o.clock
	c.now = o.Now
	c.onError = guardedOnError(typedReports(o.OnDeliveryError))
	c.errorLevel = o.ErrorLevel
	c.initSampling()
	m, err := newMasker(o.Mask)
	if err != nil {
		c.onError(err)
	}
	c.san = sanitizer{m: m, max: o.MaxValueBytes}

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

	formatter, err := NewFormatter(o.Format, o.DateFormat)
	if err != nil {
		c.onError(err)
		formatter, _ = NewFormatter(DefaultFormat, "")
	}
	if o.File != nil {
		fo := *o.File
		if fo.Format == "" {
			fo.Format = o.Format
		}
		if fo.DateFormat == "" {
			fo.DateFormat = o.DateFormat
		}
		if fo.ErrorLevel == nil {
			fo.ErrorLevel = o.ErrorLevel
		}
		if fo.Now == nil {
			fo.Now = o.Now
		}
		if fo.ReplaceAttr == nil {
			fo.ReplaceAttr = o.ReplaceAttr
		}
		if fh, err := newChainFileHandler(fo, c.onError); err != nil {
			c.onError(err)
		} else {
			h.file, c.rootFile = fh, fh
			c.fileLevel = fh.level
		}
	}

	c.env = newEnvironment(o, &c.san)
	env := sinkEnv{
		OnError:     c.onError,
		SpoolDir:    o.SpoolDir,
		QueueSize:   o.QueueSize,
		Clock:       o.clock,
		Formatter:   formatter,
		Debug:       o.Debug,
		Environment: o.Environment,
		Release:     o.Release,
		ServerName:  c.env.serverName,
	}
	mail := o.Mail
	if o.Debug {
		mail = nil
	}
	if mail != nil || len(o.Notifiers) > 0 || len(o.Ticketers) > 0 {
		if s, err := newMailSink(mail, env, o.Notifiers, o.Ticketers); err != nil {
			c.onError(err)
		} else if s != nil {
			c.sinks = append(c.sinks, s)
		}
	}
	if o.Tracker != nil {
		if s, err := newTrackerSink(*o.Tracker, env); err != nil {
			c.onError(err)
		} else if s != nil {
			c.sinks = append(c.sinks, s)
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
	register(h)
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
	var x recordExtras
	x.req = requestFromContext(ctx)
	if r.Level >= c.errorLevel.Level() && (toConsole || toFile || c.hasSinks) {
		if x.req != nil {
			x.req.reported.Store(true) // Middleware reports no status on top
		}
		// A full queue refuses the record before any work (refuse).
		toSinks := c.hasSinks && !c.refuse()
		var buf [maxFrames]uintptr
		var pcs []uintptr
		if (toConsole || toFile || toSinks) && (ctx == nil || ctx.Value(noStackKey{}) == nil) {
			pcs = recordPCs(&r, buf[:0])
		}
		if toConsole || toFile {
			x.stack = framesOf(pcs)
			if c.src != nil && (toFile || c.consoleSrc) {
				c.src.fillLines(x.stack)
			}
		}
		if toSinks {
			c.enqueue(ctx, h, &r, pcs)
		}
	}
	if (toConsole || toFile) && r.Level >= slog.LevelError && r.NumAttrs() > 0 {
		// The record the text sinks print; the event keeps the error.
		r = withoutEchoedError(r)
	}
	var errs []error
	if toConsole {
		if err := c.writeConsole(ctx, h.console, r, x.stack); err != nil {
			err = fmt.Errorf("errlog: console: %w", err)
			c.onError(err)
			errs = append(errs, err)
		}
	}
	if toFile {
		if err := h.file.handle(ctx, r, &x); err != nil {
			c.onError(err)
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
			if p := errorPCs(err); p != nil {
				pcs = p
				return false
			}
		}
		return true
	})
	if pcs != nil {
		return append(dst, pcs[:min(len(pcs), cap(dst))]...)
	}
	return callerPCs(r.PC, dst)
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
	changed := c.san.max > 0 && len(r.Message) > c.san.max || !utf8.ValidString(r.Message) || r.NumAttrs() > MaxAttrs || mayHoldSecret(r.Message)
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
	nr := slog.NewRecord(r.Time, r.Level, truncateString(c.san.m.scrub(escapeInvalidUTF8(r.Message)), c.san.max), r.PC)
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
func (c *core) enqueue(ctx context.Context, h *Handler, r *slog.Record, pcs []uintptr) {
	var full bool
	defer func() {
		if full {
			runtime.Gosched() // as refuse does, once the lock is released
		}
	}()
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	if c.closed.Load() {
		c.dropped.Add(1) // counted; Close has reported what it could not deliver
		return
	}
	j := job{r: r.Clone(), goas: h.goas, npcs: len(pcs), eventID: eventIDFrom(ctx)}
	copy(j.pcs[:], pcs)
	if ri := requestFromContext(ctx); ri != nil {
		j.req = ri.snapshot(ctx)
	}
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

// dropReportEvery is how often, at most, drops are reported while nobody
// waits for the report.
const dropReportEvery = time.Second

// deliverLoop builds each job's event and gives it to every sink.
func (c *core) deliverLoop(jobs <-chan job) {
	defer close(c.done)
	for j := range jobs {
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

// roomer is a sink that can tell whether it would take an event now.
type roomer interface{ hasRoom() bool }

// sinksFull reports whether every sink says it has no room: then
// building the event (stack, masking, environment) is wasted work.
func (c *core) sinksFull() bool {
	for _, s := range c.sinks {
		r, ok := s.(roomer)
		if !ok || r.hasRoom() {
			return false
		}
	}
	return true
}

func (c *core) deliver(j *job) {
	defer func() {
		if p := recover(); p != nil {
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
		h2.file = h.file.WithAttrs(attrs).(*FileHandler)
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
	name = truncateString(name, h.c.san.max)
	h2 := *h
	h2.masked = h.masked || h.c.san.m.hides(catNone, name)
	if h.console != nil {
		h2.console = h.console.WithGroup(name)
	}
	if h.file != nil {
		h2.file = h.file.WithGroup(name).(*FileHandler)
	}
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{group: name})
	return &h2
}

// DefaultFlushTimeout bounds Flush and Close when their context has no
// deadline: `defer errlog.Flush(context.Background())` must not keep a
// program from exiting because the mail server or the tracker is down.
// What is not delivered by then stays in the spool, if there is one, and
// is reported otherwise.
const DefaultFlushTimeout = 10 * time.Second

func boundedContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, flushTimeout)
}

var flushTimeout = DefaultFlushTimeout // lowered by tests

// Flush returns when every event handled so far has been given to the
// sinks and each sink has flushed, or when ctx is done (after
// DefaultFlushTimeout if ctx has no deadline).
func (h *Handler) Flush(ctx context.Context) error {
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	c := h.c
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
	select {
	case c.jobs <- job{flush: marker}:
		return nil
	case <-c.closing: // Close delivers what is queued
		close(marker)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("errlog: flush: %w", ctx.Err())
	}
}

// Close flushes and closes every sink and stops every goroutine the
// Handler started, or gives up when ctx is done. Closing twice is not an
// error. Records handled after Close still reach the console.
func (h *Handler) Close(ctx context.Context) error {
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	c := h.c
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed.Load() {
		return nil
	}
	unregister(h)
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
			err := fmt.Errorf("errlog: close: %d events not yet given to mail, tracker and sinks: %w", len(c.jobs), ctx.Err())
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
