package logfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/internal/record"
	"github.com/errlog/errlog/internal/rotate"
	"github.com/errlog/errlog/internal/settings"
	"github.com/errlog/errlog/internal/stack"
)

// Options configure the rotating log file, Python's
// RotatingFileHandler and TimedRotatingFileHandler in one. The zero value
// of every field but Path is its default; the tags let a configuration
// file load straight into it. New never modifies the options
// it is given.
type Options struct {
	// Path is the log file; required unless Writer is set. Missing
	// directories are created.
	Path string `json:"path" yaml:"path"`
	// Level is the file's threshold. Default DefaultLevel, WARN, as
	// Flask's documentation recommends for files: the file is for what
	// needs looking at.
	Level slog.Leveler `json:"-" yaml:"-"`
	// MaxSizeMB rotates the file before it would grow past this many
	// megabytes (MiB). Default 100; negative: no size rotation.
	MaxSizeMB int `json:"max_size_mb" yaml:"max_size_mb"`
	// MaxBackups is how many rotated files are kept. Default 5;
	// negative: keep all.
	MaxBackups int `json:"max_backups" yaml:"max_backups"`
	// MaxAgeDays deletes rotated files older than this many days.
	// Default 0: keep them whatever their age.
	MaxAgeDays int `json:"max_age_days" yaml:"max_age_days"`
	// Compress gzips rotated files. Default false.
	Compress bool `json:"compress" yaml:"compress"`
	// Interval rotates by time as well: 24h (or any whole number of days)
	// at local midnight, anything else every Interval. Default 0: no time
	// rotation.
	Interval time.Duration `json:"interval" yaml:"interval"`
	// Format is the Python logging template of each line. Default
	// DefaultFormat.
	Format string `json:"format" yaml:"format"`
	// DateFormat is the strftime layout of %(asctime)s. Default Python's
	// "2003-07-08 16:49:45,896".
	DateFormat string `json:"date_format" yaml:"date_format"`
	// ErrorLevel is the level at and above which a record's stack trace
	// follows its line. Default slog.LevelError.
	ErrorLevel slog.Leveler `json:"-" yaml:"-"`
	// Writer, when set, receives the lines instead of a file (a pipe, a
	// test's buffer); Path and the rotation settings are then ignored, and
	// Close leaves Writer open. Default nil: the file at Path.
	Writer io.Writer `json:"-" yaml:"-"`
	// Now is the clock of time rotation and of backup names. Default
	// time.Now. Records carry their own time.
	Now func() time.Time `json:"-" yaml:"-"`
	// ReplaceAttr rewrites or drops (by returning an empty Attr) each
	// attribute of a record before it is written, as
	// slog.HandlerOptions.ReplaceAttr; the line's other fields come from
	// Format. Default: none.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr `json:"-" yaml:"-"`
	// Formatter, when set, formats the lines (a Formatter shared with
	// other sinks); Format and DateFormat are then ignored. Default: one
	// compiled from Format and DateFormat.
	Formatter *Formatter `json:"-" yaml:"-"`
	// OnError, when set, makes the file patient, as a long-running
	// program needs it: a path that cannot be opened yet (a log
	// directory not yet writable or mounted) is reported to OnError and
	// tried again at most once a minute instead of failing New, and when
	// writes fail, OnError is told once when the file stops taking lines
	// and once when it takes them again, with the count lost between;
	// Handle then returns only the first failure. Default nil: New fails
	// on a path it cannot open, and Handle returns every failure.
	OnError func(error) `json:"-" yaml:"-"`
}

// DefaultLevel is Options.Level's default.
const DefaultLevel = slog.LevelWarn

// Handler is the log file sink, a slog.Handler of its own: each record
// becomes one line of Format (plus its stack trace at or above ErrorLevel),
// written with a single Write so that lines never interleave and a
// rotation never splits one. It writes no colour.
//
// Handlers derived with WithAttrs and WithGroup share their parent's file;
// Close on any of them closes it.
//
// On its own, a Handler writes records as they are: it does not mask
// secrets or bound values. Through errlog's Handler (errlog.Options.File),
// the handler chain has done both before the file sees a record.
type Handler struct {
	level      slog.Leveler
	errorLevel slog.Leveler
	f          *Formatter
	pre        *preformatted // nil: no WithAttrs or WithGroup yet
	out        *fileOutput
	replace    func([]string, slog.Attr) slog.Attr // nil: none
	groups     []string                            // the open groups, for replace
}

var _ slog.Handler = (*Handler)(nil)

// fileOutput is the destination every Handler derived from one
// New shares.
type fileOutput struct {
	mu     sync.Mutex // held only around one Write
	w      io.Writer
	closer io.Closer // the file New opened; nil for a caller's Writer
	closed bool

	// report is set in the handler chain (Options.File): it is told once
	// when the file stops taking lines and once when it takes them again,
	// with the count lost between; the failures in between are counted,
	// not returned. nil for a Handler on its own, which returns every
	// failure.
	report func(error)
	down   bool
	lost   uint64
	cause  error // the failure that took it down
	path   string
	// deleted counts lines that went into a file deleted under them
	// (rotate.Options.OnDeleted), not yet reported.
	deleted int
}

// New opens the log file (creating it and its directories) and returns
// its handler. Errors start with "errlog: file:".
func New(opts Options) (*Handler, error) {
	opts = opts.withDefaults()
	h, err := newHandler(opts, opts.OnError != nil)
	if err != nil || opts.OnError == nil {
		return h, err
	}
	o := h.out
	o.report = opts.OnError
	if rw, ok := o.w.(*rotate.Writer); ok {
		if err := rw.Err(); err != nil {
			o.down, o.cause = true, err
			o.report(fmt.Errorf("errlog: file: %s cannot be opened, trying again every minute: %w", o.path, unprefixed(err)))
		}
	}
	return h, nil
}

// unprefixed drops rotate's "errlog: file: " from err's text, for an
// error that already starts with it.
type unprefixedError struct{ err error }

func (e unprefixedError) Error() string {
	return strings.TrimPrefix(e.err.Error(), "errlog: file: ")
}
func (e unprefixedError) Unwrap() error { return e.err }

func unprefixed(err error) error { return unprefixedError{err} }

// withDefaults returns o with its defaults set (a copy: the caller's
// Options are never written). The Format's default is NewFormatter's.
func (o Options) withDefaults() Options {
	if o.Level == nil {
		o.Level = DefaultLevel
	}
	if o.ErrorLevel == nil {
		o.ErrorLevel = settings.ErrorLevel
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func newHandler(opts Options, lazy bool) (*Handler, error) {
	f := opts.Formatter
	if f == nil {
		var err error
		if f, err = NewFormatter(opts.Format, opts.DateFormat); err != nil {
			var fe *formatError
			if errors.As(err, &fe) {
				return nil, &fileError{msg: "errlog: file: Format: position " + strconv.Itoa(fe.pos) + ": " + fe.msg, err: err}
			}
			return nil, fmt.Errorf("errlog: file: %w", err)
		}
	}
	h := &Handler{level: opts.Level, errorLevel: opts.ErrorLevel, f: f, out: &fileOutput{w: opts.Writer}, replace: opts.ReplaceAttr}
	if opts.Writer != nil {
		h.out.path = fmt.Sprintf("Options.Writer (%T)", opts.Writer) // for the reports
		return h, nil
	}
	if opts.Path == "" {
		return nil, errors.New("errlog: file: Options.Path is empty and there is no Writer")
	}
	if opts.MaxAgeDays < 0 {
		return nil, fmt.Errorf("errlog: file: negative Options.MaxAgeDays %d", opts.MaxAgeDays)
	}
	if opts.Interval < 0 {
		return nil, fmt.Errorf("errlog: file: negative Options.Interval %v", opts.Interval)
	}
	ro := rotate.Options{
		Path:       opts.Path,
		MaxBackups: opts.MaxBackups,
		MaxAge:     maxAge(opts.MaxAgeDays),
		Compress:   opts.Compress,
		Interval:   opts.Interval,
		Now:        opts.Now,
		Lazy:       lazy,
		// Called within a Write, with h.out's lock held.
		OnDeleted: func(lines int) { h.out.deleted += lines },
	}
	switch {
	case int64(opts.MaxSizeMB) > math.MaxInt64>>20:
		ro.MaxSize = -1 // more than any disk holds: no size rotation
	case opts.MaxSizeMB > 0:
		ro.MaxSize = int64(opts.MaxSizeMB) << 20
	case opts.MaxSizeMB < 0:
		ro.MaxSize = -1
	}
	w, err := rotate.Open(ro)
	if err != nil {
		return nil, prefixFileError(err)
	}
	h.out.w, h.out.closer, h.out.path = w, w, opts.Path
	return h, nil
}

// maxAge is days as a Duration; beyond what a Duration holds (292
// years), no limit: 999999 days must not overflow to a negative age, nor
// 213504 to 25 minutes.
func maxAge(days int) time.Duration {
	if int64(days) > int64(math.MaxInt64/(24*time.Hour)) {
		return 0
	}
	return time.Duration(days) * 24 * time.Hour
}

// fileError carries a message of its own over the error it wraps, so
// that an error with its own "errlog: …" prefix is not prefixed twice.
type fileError struct {
	msg string
	err error
}

func (e *fileError) Error() string { return e.msg }
func (e *fileError) Unwrap() error { return e.err }

// prefixFileError makes err start with "errlog: file:", as rotate's
// errors already do.
func prefixFileError(err error) error {
	const prefix = "errlog: file: "
	if s := err.Error(); len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return err
	}
	return fmt.Errorf("errlog: file: %w", err)
}

// Level returns the file's threshold, Options.Level resolved.
func (h *Handler) Level() slog.Leveler { return h.level }

// Enabled reports whether level reaches the file's threshold.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// Handle writes r as one line, and at or above ErrorLevel the stack of
// the logging call under it. The request comes from ctx, when
// Middleware put one there. It returns only write errors.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	x := record.Extras{Req: record.LineFrom(ctx)}
	if r.Level >= h.errorLevel.Level() {
		var buf [stack.Max]uintptr
		x.Stack = stack.Frames(stack.Callers(r.PC, buf[:0]))
	}
	return h.HandleExtras(ctx, r, &x)
}

// HandleExtras writes r with what errlog's handler chain already
// computed: the request and, at or above its ErrorLevel, the stack (with
// source lines). It is the chain's way in (x's type is internal); Handle
// computes them itself.
func (h *Handler) HandleExtras(_ context.Context, r slog.Record, x *record.Extras) error {
	if h.replace != nil {
		r = replaceRecord(h.replace, h.groups, r)
	}
	bp := getTmplBuf()
	b := h.f.appendRecord(*bp, &r, h.pre, x)
	o := h.out
	o.mu.Lock()
	var err error
	if o.closed {
		err = os.ErrClosed
	} else {
		_, err = o.w.Write(b)
	}
	var back error
	if o.report != nil {
		err, back = o.track(err)
	}
	deleted := o.deleted
	o.deleted = 0
	o.mu.Unlock()
	*bp = b
	putTmplBuf(bp)
	if back != nil {
		o.report(back)
	}
	if deleted > 0 && o.report != nil {
		o.report(fmt.Errorf("errlog: file: %s was deleted and made again; up to %d lines written since the check a moment before went into the deleted file and are lost", o.path, deleted))
	}
	if err != nil {
		err = prefixFileError(err)
		if o.report != nil {
			// The first failure: OnError is told, as it is of the
			// return and of the lines lost (slog.Logger drops what
			// Handle returns).
			o.report(err)
		}
		return err
	}
	return nil
}

// track keeps the chain's account of a write's outcome: the first failure
// is returned (and so reported), the later ones only counted, and the
// first success after them returns the report that the file is back.
func (o *fileOutput) track(err error) (ret, back error) {
	switch {
	case err != nil && o.down:
		o.lost++
		return nil, nil
	case err != nil:
		o.down, o.cause, o.lost = true, err, 1
		return err, nil
	case o.down:
		back = fmt.Errorf("errlog: file: writing to %s again; %d lines lost while it failed (%w)", o.path, o.lost, unprefixed(o.cause))
		o.down, o.cause, o.lost = false, nil, 0
		return nil, back
	}
	return nil, nil
}

// WithAttrs returns a handler whose lines carry attrs, formatted once now
// rather than at every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if h.replace != nil {
		attrs = replaceAttrs(h.replace, h.groups, attrs)
	}
	h2 := *h
	h2.pre = h.f.withAttrs(h.pre, attrs)
	return &h2
}

// WithGroup returns a handler that writes later attributes as
// "name.key=value".
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.pre = h.f.withGroup(h.pre, name)
	if h.replace != nil {
		h2.groups = append(h.groups[:len(h.groups):len(h.groups)], name)
	}
	return &h2
}

// Close closes the file New opened (a Writer from the options
// stays open). Records handled after Close return an error. Closing twice
// is not an error.
func (h *Handler) Close() error {
	o := h.out
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	var lostErr, err error
	if o.down && o.lost > 0 {
		lostErr = fmt.Errorf("errlog: file: %d lines lost: %s failed until Close (%w)", o.lost, o.path, unprefixed(o.cause))
	}
	if o.closer != nil {
		err = o.closer.Close()
	}
	o.mu.Unlock()
	// Reported after unlocking, as HandleExtras does: a report handler
	// that logs comes back to this file.
	if lostErr != nil {
		o.report(lostErr)
	}
	if err != nil {
		return errors.Join(lostErr, prefixFileError(err))
	}
	return lostErr
}
