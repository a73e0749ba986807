package rotate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/internal/flock"
)

// Options configures a [Writer]. The zero value of every field but Path is
// its default, and Open never writes into the caller's Options.
//
// The tag names differ from lumberjack's on purpose: MaxSize is in bytes and
// MaxAge a duration, not megabytes and days, so a lumberjack configuration
// must fail to load rather than load with the wrong units. In JSON the
// durations are nanoseconds and FileMode a decimal number, as encoding/json
// has no syntax for either; YAML (gopkg.in/yaml.v3) takes "24h" and 0o640.
type Options struct {
	// Path is the file to write; required. Missing directories are created
	// with mode 0755. A symlink is resolved once at Open, so backups go
	// next to the real file and rotation never renames the link.
	Path string `json:"path" yaml:"path"`

	// MaxSize is the size in bytes that a Write may not take the file
	// past: the file is rotated first. A record larger than MaxSize gets a
	// file of its own rather than being refused or split.
	// 0 means 100 MiB; negative means no size limit.
	MaxSize int64 `json:"max_bytes" yaml:"max_bytes"`

	// MaxBackups is how many rotated files are kept, newest first.
	// 0 means 5; negative keeps all.
	MaxBackups int `json:"max_backups" yaml:"max_backups"`

	// MaxAge deletes backups whose name says they were rotated longer
	// ago than this. 0 keeps backups whatever their age; negative is an
	// error.
	MaxAge time.Duration `json:"max_age" yaml:"max_age"`

	// Compress gzips backups. It happens in the cleanup goroutine, so the
	// cost never lands on a Write. Default false.
	Compress bool `json:"compress" yaml:"compress"`

	// Interval rotates by time as well as by size. A whole number of days
	// turns over at local midnight (the location of Now's times);
	// anything else at multiples of Interval since the Unix epoch, e.g.
	// time.Hour on the hour. A file found at Open with content older than
	// the current interval is rotated at the first Write.
	// 0 means no time rotation; negative is an error.
	Interval time.Duration `json:"interval" yaml:"interval"`

	// LocalTime names backups in the location of Now's times (time.Local
	// with the default clock) instead of UTC. Default false, UTC, as in
	// lumberjack: local names repeat an hour when daylight saving ends, so
	// they neither sort nor age correctly.
	LocalTime bool `json:"local_time" yaml:"local_time"`

	// Now is the clock for time rotation, backup names and MaxAge. It is
	// called from the writing goroutines and the cleanup goroutine, so it
	// must be safe for concurrent use. nil means time.Now.
	Now func() time.Time `json:"-" yaml:"-"`

	// FileMode is the permission of a file that Open creates (before the
	// umask); an existing file keeps its own, and the file started by a
	// rotation takes the mode of the one it replaces. 0 means 0600, not
	// 0644: error logs carry request data and secrets more often than
	// anyone plans, and widening access is a deliberate act (0640 for a
	// log shipper's group).
	FileMode os.FileMode `json:"file_mode" yaml:"file_mode"`

	// Lazy makes Open succeed when the file cannot be opened yet (a log
	// directory not yet writable, a volume not yet mounted): Writes fail
	// with an error wrapping ErrUnavailable until an open succeeds, tried
	// at most once every RetryInterval; Err tells why meanwhile. Default
	// false: Open fails.
	Lazy bool `json:"lazy" yaml:"lazy"`

	// RetryInterval is how long a Writer waits after a failed open before
	// it tries again; Writes in between fail at once, with an error
	// wrapping ErrUnavailable and costing no system call. 0 means one
	// minute; negative is an error.
	RetryInterval time.Duration `json:"retry_interval" yaml:"retry_interval"`

	// WatchInterval is how often, at most, a Write compares the device and
	// inode at Path with those of the open file, as Python's
	// WatchedFileHandler does on every record: a file deleted or moved
	// away (by an operator, by logrotate without copytruncate, by another
	// process's rotation) is reopened at Path instead of taking lines no
	// one will read. The same check re-reads the file's size, which other
	// processes writing it make grow. 0 means one second; negative never.
	WatchInterval time.Duration `json:"watch_interval" yaml:"watch_interval"`

	// OnDeleted is called, from a Write and with the Writer's lock held,
	// when the path's check finds the open file deleted (not moved): the
	// lines written since the check before may have gone into it after
	// it was, and are then lost. lines counts the Writes since that
	// check. nil: not told.
	OnDeleted func(lines int) `json:"-" yaml:"-"`
}

// ErrUnavailable is wrapped by the errors of Writes made while the file
// could not be opened and the next try is not due.
var ErrUnavailable = errors.New("not open")

// UnavailableError is the error of a Write made while the file could not
// be opened and the next try is not due. It wraps ErrUnavailable and the
// error of the last try.
type UnavailableError struct {
	Path  string
	Err   error     // why the last try failed
	Retry time.Time // when the next try is due
}

func (e *UnavailableError) Error() string {
	return "errlog: file: " + e.Path + " not open, next try at " + e.Retry.Format("15:04:05") +
		": " + strings.TrimPrefix(e.Err.Error(), "errlog: file: ")
}

func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

const (
	defaultMaxSize    = 100 << 20
	defaultMaxBackups = 5
	defaultFileMode   = 0o600
	defaultRetry      = time.Minute
	defaultWatch      = time.Second
	// lockWait bounds the wait for another process's rotation: past it,
	// this Write goes to the current file and the next one tries again.
	lockWait = 500 * time.Millisecond
)

// Writer is a file that rotates itself. It is safe for concurrent use; one
// mutex is held around each Write, so records never interleave.
type Writer struct {
	// Fixed at Open.
	path       string
	dir        string
	prefix     string // base name without extension, plus "-"
	ext        string
	maxSize    int64 // 0: no limit
	maxBackups int   // negative: keep all
	maxAge     time.Duration
	compress   bool
	interval   time.Duration
	localTime  bool
	now        func() time.Time
	mode       os.FileMode
	retry      time.Duration
	watch      time.Duration // 0: never
	onDeleted  func(lines int)
	sinceCheck int // Writes since the path was last checked

	mu      sync.Mutex
	file    *os.File // nil after a failure; the next Write reopens
	fi      fs.FileInfo
	size    int64
	regular bool      // false: never rotated
	next    time.Time // time rotation is due at the first Write at or after it
	checkAt time.Time // the path is compared with fi at the first Write at or after it
	openErr error     // why the last open failed, while file is nil
	retryAt time.Time // no open before it, while openErr is set
	lock    *os.File  // the directory, flocked around rotations; opened at the first one
	closed  bool

	wake chan struct{} // capacity 1: rotations coalesce into one cleanup
	quit chan struct{}
	done chan struct{}
}

var _ io.WriteCloser = (*Writer)(nil)

// Open opens or creates o.Path for appending and starts the Writer's cleanup
// goroutine, which Close stops.
func Open(o Options) (*Writer, error) {
	if o.Path == "" {
		return nil, errors.New("errlog: file: Options.Path is empty")
	}
	if o.Interval < 0 {
		return nil, fmt.Errorf("errlog: file: negative Options.Interval %v", o.Interval)
	}
	if o.MaxAge < 0 {
		return nil, fmt.Errorf("errlog: file: negative Options.MaxAge %v", o.MaxAge)
	}
	if o.RetryInterval < 0 {
		return nil, fmt.Errorf("errlog: file: negative Options.RetryInterval %v", o.RetryInterval)
	}
	path := o.Path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	// A relative path would follow a later os.Chdir.
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	w := &Writer{
		path:       path,
		dir:        filepath.Dir(path),
		prefix:     strings.TrimSuffix(base, ext) + "-",
		ext:        ext,
		maxSize:    o.MaxSize,
		maxBackups: o.MaxBackups,
		maxAge:     o.MaxAge,
		compress:   o.Compress,
		interval:   o.Interval,
		localTime:  o.LocalTime,
		now:        o.Now,
		mode:       o.FileMode.Perm(),
		retry:      o.RetryInterval,
		watch:      o.WatchInterval,
		onDeleted:  o.OnDeleted,
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	switch {
	case w.maxSize == 0:
		w.maxSize = defaultMaxSize
	case w.maxSize < 0:
		w.maxSize = 0
	}
	if w.maxBackups == 0 {
		w.maxBackups = defaultMaxBackups
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.mode == 0 {
		w.mode = defaultFileMode
	}
	if w.retry == 0 {
		w.retry = defaultRetry
	}
	switch {
	case w.watch == 0:
		w.watch = defaultWatch
	case w.watch < 0:
		w.watch = 0
	}

	fi, err := w.openLocked(w.mode)
	if err != nil {
		if !o.Lazy {
			return nil, err
		}
		w.openFailedLocked(err)
	}
	if w.interval > 0 {
		start, next := bounds(w.now(), w.interval)
		w.next = next
		if w.regular && fi != nil && fi.Size() > 0 && fi.ModTime().Before(start) {
			w.next = start // left over from an earlier interval
		}
	}
	go w.run()
	if w.regular {
		// Apply limits that changed since the last run and finish a
		// compression that a Close cut short.
		w.wake <- struct{}{}
	}
	return w, nil
}

// openLocked opens the path for appending, creating it (with mode) and
// its directories as needed. It is also how a Writer recovers after a
// failure, which is why it recreates directories too.
//
// A regular file is held with a shared flock for as long as it is open:
// the compressor of any process (rotation may have renamed it to a backup
// meanwhile) leaves a file alone while someone may still write to it.
func (w *Writer) openLocked(mode os.FileMode) (fs.FileInfo, error) {
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return nil, fmt.Errorf("errlog: file: %w", err)
	}
	for attempt := 0; ; attempt++ {
		flags := os.O_WRONLY | os.O_APPEND | os.O_CREATE
		if fi, err := os.Stat(w.path); err == nil && fi.Mode()&fs.ModeNamedPipe != 0 {
			// A FIFO whose reader (a log shipper) is not running must
			// not block the program: the open fails, and is tried
			// again as any failed open.
			flags |= openFIFO
		}
		f, err := os.OpenFile(w.path, flags, mode)
		if err != nil {
			return nil, fmt.Errorf("errlog: file: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("errlog: file: %w", err)
		}
		if fi.Mode().IsRegular() && flock.Supported && attempt < 10 {
			// Refused, or no longer at the path: another process rotated
			// it away between our open and our lock. Open the new one.
			if flock.TryLockShared(f) != nil || !isPath(fi, w.path) {
				f.Close()
				continue
			}
		}
		w.file, w.fi, w.size, w.regular = f, fi, fi.Size(), fi.Mode().IsRegular()
		if w.watch > 0 {
			w.checkAt = w.now().Add(w.watch)
		}
		return fi, nil
	}
}

// isPath reports whether path names the file fi describes.
func isPath(fi fs.FileInfo, path string) bool {
	cur, err := os.Stat(path)
	return err == nil && os.SameFile(fi, cur)
}

// openFailedLocked records a failed open: no other try before RetryInterval.
func (w *Writer) openFailedLocked(err error) {
	w.openErr, w.retryAt = err, w.now().Add(w.retry)
}

// reopenLocked opens the file after a failure, unless the last try failed
// less than RetryInterval ago.
func (w *Writer) reopenLocked() error {
	if w.openErr != nil && w.now().Before(w.retryAt) {
		return &UnavailableError{Path: w.path, Err: w.openErr, Retry: w.retryAt}
	}
	if _, err := w.openLocked(w.mode); err != nil {
		w.openFailedLocked(err)
		return err
	}
	w.openErr = nil
	return nil
}

// Err returns why the file is not open, while a Lazy Writer waits to try
// again; nil while it is open.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file != nil {
		return nil
	}
	return w.openErr
}

// followPathLocked reopens the path when it no longer names the open file
// (deleted, moved away, rotated by another process), and otherwise re-reads
// the file's size, which other processes may have made grow. moved
// reports a reopen.
func (w *Writer) followPathLocked() (moved bool, err error) {
	cur, err := os.Stat(w.path)
	if err == nil && os.SameFile(cur, w.fi) {
		if fi, err := w.file.Stat(); err == nil {
			w.size = fi.Size()
		}
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, nil // cannot tell (EACCES on the directory): keep writing
	}
	if lines := w.sinceCheck; lines > 0 && w.onDeleted != nil && unlinked(w.file) {
		w.onDeleted(lines)
	}
	mode := w.fi.Mode().Perm()
	w.file.Close()
	w.file = nil
	if _, err := w.openLocked(mode); err != nil {
		w.openFailedLocked(err)
		return true, err
	}
	return true, nil
}

// Write writes p as one record, rotating first if p would not fit in the
// current file or a time boundary has passed. If the rotation fails, p is
// not written and the error is returned; the next Write tries again.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, w.closedError("write")
	}
	if w.file == nil {
		if err := w.reopenLocked(); err != nil {
			return 0, err
		}
	}
	if w.regular {
		var now time.Time // one clock reading for both checks
		if w.watch > 0 || w.interval > 0 {
			now = w.now()
		}
		if w.watch > 0 && !now.Before(w.checkAt) {
			w.checkAt = now.Add(w.watch)
			_, err := w.followPathLocked()
			w.sinceCheck = 0
			if err != nil {
				return 0, err
			}
		}
		if err := w.maybeRotateLocked(now, len(p)); err != nil {
			return 0, err
		}
	}
	n, err := w.file.Write(p)
	if err != nil {
		return w.writeFailedLocked(n, err)
	}
	w.size += int64(n)
	w.sinceCheck++
	return n, nil
}

// maybeRotateLocked rotates when n more bytes would not fit or the
// interval is over; now is set when Interval is.
func (w *Writer) maybeRotateLocked(now time.Time, n int) error {
	if w.interval > 0 {
		if !now.Before(w.next) {
			if w.size > 0 {
				return skipBusy(w.rotateLocked(now))
			}
			// Nothing to keep: an empty backup would only push a
			// useful one out.
			_, w.next = bounds(now, w.interval)
		}
	}
	if w.maxSize > 0 && w.size > 0 && w.size+int64(n) > w.maxSize {
		return skipBusy(w.rotateLocked(w.now()))
	}
	return nil
}

// errRotationBusy: another process held the rotation lock for longer than
// lockWait. A Write goes to the current file and the next one tries again;
// Rotate returns it.
var errRotationBusy = errors.New("errlog: file: rotate: another process holds the rotation lock")

// skipBusy lets a Write go on when only the lock stood in the way.
func skipBusy(err error) error {
	if errors.Is(err, errRotationBusy) {
		return nil
	}
	return err
}

// writeFailedLocked is the slow path of Write, kept apart so that the fast
// path stays small.
func (w *Writer) writeFailedLocked(n int, err error) (int, error) {
	err = fmt.Errorf("errlog: file: %w", err)
	if !w.regular {
		// Reopening a FIFO can block until a reader comes, and a
		// device's error is rarely the handle's fault: keep it.
		w.size += int64(n)
		return n, err
	}
	if n > 0 {
		// Cut the partial record off again, measured from the real end
		// of the file, which a copytruncate may have moved, so that the
		// next record does not continue half a line.
		if fi, serr := w.file.Stat(); serr == nil && fi.Size() >= int64(n) && w.file.Truncate(fi.Size()-int64(n)) == nil {
			n = 0
		}
	}
	// Whatever broke (full disk, EIO, a stale NFS handle, a directory
	// deleted under us), a fresh open on the next Write is the cure.
	w.file.Close()
	w.file = nil
	return n, err
}

// Rotate rotates now, even an empty file. It refuses a path that is not a
// regular file, leaving the Writer as it was.
func (w *Writer) Rotate() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.closedError("rotate")
	}
	if w.file == nil {
		if err := w.reopenLocked(); err != nil {
			return err
		}
	}
	if !w.regular {
		return fmt.Errorf("errlog: file: rotate %s: not a regular file", w.path)
	}
	return w.rotateLocked(w.now())
}

// rotateLocked renames the file to a backup and starts a new one. The old
// handle stays in use until the rename has succeeded, so a failed rename
// loses nothing.
//
// Processes writing the same path rotate under an flock of its directory
// (no lock file to litter it), and a process that finds the path already
// rotated by another follows it to the new file instead of rotating again.
func (w *Writer) rotateLocked(now time.Time) error {
	unlock, ok := w.lockRotation()
	if !ok {
		return errRotationBusy
	}
	defer unlock()
	if moved, err := w.followPathLocked(); moved || err != nil {
		if w.interval > 0 {
			_, w.next = bounds(now, w.interval)
		}
		return err
	}
	mode := w.mode
	if fi, err := w.file.Stat(); err == nil {
		mode = fi.Mode().Perm()
	}
	backup, err := w.freeBackupName(now)
	if err != nil {
		return err
	}
	renamed := true
	if err := os.Rename(w.path, backup); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("errlog: file: rotate: %w", err)
		}
		// Renamed or deleted by someone else: whatever our handle
		// still points at is not ours to move. Start afresh.
		renamed = false
	}
	w.file.Close()
	w.file, w.size = nil, 0
	if w.interval > 0 {
		_, w.next = bounds(now, w.interval)
	}
	if renamed {
		select {
		case w.wake <- struct{}{}:
		default: // a cleanup is already due and will see this backup
		}
	}
	if _, err := w.openLocked(mode); err != nil {
		// The next Write reopens.
		return fmt.Errorf("errlog: file: rotate: %w", err)
	}
	w.file.Chmod(mode) // exact, whatever the umask; failing it is harmless
	return nil
}

// lockRotation takes the lock that processes writing one path rotate
// under: an flock of the directory. ok is false when another process held
// it for longer than lockWait: logging must not wait on another process.
// Where the directory cannot be locked, rotation goes unlocked.
func (w *Writer) lockRotation() (unlock func(), ok bool) {
	nothing := func() {}
	if !flock.Supported {
		return nothing, true
	}
	if w.lock == nil {
		f, err := os.Open(w.dir)
		if err != nil {
			return nothing, true
		}
		w.lock = f
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := flock.TryLock(w.lock)
		if err == nil {
			return func() { flock.Unlock(w.lock) }, true
		}
		if !errors.Is(err, flock.ErrLocked) {
			return nothing, true
		}
		if time.Now().After(deadline) {
			return nothing, false
		}
		time.Sleep(time.Millisecond)
	}
}

// Close closes the file and stops the cleanup goroutine, waiting for it: a
// compression in progress is abandoned (and redone by the next Open), not
// finished. Closing twice is not an error.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	var err error
	if w.file != nil {
		err = w.file.Close()
		w.file = nil
	}
	if w.lock != nil {
		w.lock.Close()
	}
	w.mu.Unlock()
	close(w.quit)
	<-w.done
	if err != nil {
		return fmt.Errorf("errlog: file: %w", err)
	}
	return nil
}

func (w *Writer) closedError(op string) error {
	return fmt.Errorf("errlog: file: %w", &fs.PathError{Op: op, Path: w.path, Err: os.ErrClosed})
}
