package rotate

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/errlog/errlog/internal/flock"
)

// backupLayout is lumberjack's, so that tools written for its backups read
// ours: millisecond precision, no colons (Windows file names).
const backupLayout = "2006-01-02T15-04-05.000"

const gzExt = ".gz"

// backupName is the backup name for a rotation at t.
func (w *Writer) backupName(t time.Time) string {
	if !w.localTime {
		t = t.UTC()
	}
	return filepath.Join(w.dir, w.prefix+t.Format(backupLayout)+w.ext)
}

// freeBackupName finds a backup name that is not taken, compressed or not,
// moving on by a millisecond at a time: two rotations in one millisecond
// (a tiny MaxSize, a frozen test clock) must not overwrite a backup.
func (w *Writer) freeBackupName(t time.Time) (string, error) {
	for i := 0; i < 1000; i++ {
		name := w.backupName(t)
		if !taken(name) && !taken(name+gzExt) {
			return name, nil
		}
		t = t.Add(time.Millisecond)
	}
	return "", fmt.Errorf("errlog: file: rotate %s: no free backup name near %s", w.path, w.backupName(t))
}

// taken counts a name as taken unless it is known not to exist: an error
// such as EACCES must not lead to overwriting a file.
func taken(name string) bool {
	_, err := os.Lstat(name)
	return !errors.Is(err, fs.ErrNotExist)
}

// parseBackup reports whether base is one of this log's backups and when it
// was rotated. The stamp must format back to itself, so that a file that
// only looks similar ("app-old.log", another log's "app-x-<stamp>.log")
// is never deleted.
func (w *Writer) parseBackup(base string, loc *time.Location) (t time.Time, gz, ok bool) {
	if t, ok := w.parseStamp(base, loc); ok {
		return t, false, true
	}
	// Tried second, for a log whose own extension is .gz.
	if plain, found := strings.CutSuffix(base, gzExt); found {
		if t, ok := w.parseStamp(plain, loc); ok {
			return t, true, true
		}
	}
	return time.Time{}, false, false
}

func (w *Writer) parseStamp(base string, loc *time.Location) (time.Time, bool) {
	if len(base) != len(w.prefix)+len(backupLayout)+len(w.ext) ||
		!strings.HasPrefix(base, w.prefix) || !strings.HasSuffix(base, w.ext) {
		return time.Time{}, false
	}
	stamp := base[len(w.prefix) : len(base)-len(w.ext)]
	t, err := time.ParseInLocation(backupLayout, stamp, loc)
	if err != nil || t.Format(backupLayout) != stamp {
		return time.Time{}, false
	}
	return t, true
}

// run is the cleanup goroutine: one per Writer, so that cleanups never run
// concurrently with each other and Close has exactly one thing to wait for.
//
// A backup that another process still writes (it has not yet noticed the
// rotation) is left alone and tried again after a pause that doubles up
// to a minute.
func (w *Writer) run() {
	defer close(w.done)
	var again <-chan time.Time
	pause := busyPause
	for {
		select {
		case <-w.quit:
			return
		case <-w.wake:
		case <-again:
		}
		if w.stopping() { // select picks at random when both are ready
			return
		}
		again = nil
		if w.cleanup() {
			again = time.After(pause)
			pause = min(2*pause, time.Minute)
		} else {
			pause = busyPause
		}
	}
}

// busyPause is the first wait before a busy backup is tried again.
const busyPause = 200 * time.Millisecond

// errBusy: another process still writes the backup.
var errBusy = errors.New("errlog: file: backup still written by another process")

// inUse reports whether some process holds name open for writing, as
// openLocked marks it with a shared flock.
func inUse(name string) bool {
	if name == "" || !flock.Supported {
		return false
	}
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(flock.TryLock(f), flock.ErrLocked)
}

func (w *Writer) stopping() bool {
	select {
	case <-w.quit:
		return true
	default:
		return false
	}
}

// backup is one rotated file. After an interrupted compression it exists
// both plain and gzipped; the plain one is then the complete one.
type backup struct {
	t     time.Time
	plain string // "" when absent
	gz    string // "" when absent
}

// cleanup applies MaxBackups and MaxAge, then compresses. It is best effort:
// a file it cannot delete or compress is tried again at the next rotation,
// and the Writer has nobody to report to. busy reports a backup left alone
// because another process still writes it.
func (w *Writer) cleanup() (busy bool) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return false
	}
	now := w.now()
	loc := time.UTC
	if w.localTime {
		loc = now.Location()
	}
	var list []*backup
	byTime := make(map[int64]*backup)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		t, gz, ok := w.parseBackup(e.Name(), loc)
		if !ok {
			continue
		}
		b := byTime[t.UnixNano()]
		if b == nil {
			b = &backup{t: t}
			byTime[t.UnixNano()] = b
			list = append(list, b)
		}
		name := filepath.Join(w.dir, e.Name())
		if gz {
			b.gz = name
		} else {
			b.plain = name
		}
	}
	slices.SortFunc(list, func(a, b *backup) int { return b.t.Compare(a.t) }) // newest first

	var keep []*backup
	for i, b := range list {
		tooMany := w.maxBackups >= 0 && i >= w.maxBackups
		tooOld := w.maxAge > 0 && now.Sub(b.t) > w.maxAge
		if tooMany || tooOld {
			if inUse(b.plain) {
				busy = true
				continue
			}
			removeIfSet(b.plain)
			removeIfSet(b.gz)
			continue
		}
		keep = append(keep, b)
	}
	if !w.compress {
		return busy
	}
	for _, b := range keep {
		if b.plain == "" {
			continue
		}
		if w.stopping() {
			return false
		}
		if errors.Is(w.compressFile(b.plain, b.plain+gzExt), errBusy) {
			busy = true
		}
	}
	return busy
}

func removeIfSet(name string) {
	if name != "" {
		os.Remove(name)
	}
}

// compressFile gzips src into dst and removes src. dst is written in place,
// not through a temporary name: src stays until dst is complete and synced,
// and a src next to its dst means the dst is to be redone.
//
// src is held with an exclusive flock meanwhile: errBusy while a writer
// (of any process) still has it open, and a second compressor (another
// process's) skips it.
func (w *Writer) compressFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if flock.Supported {
		if err := flock.TryLock(in); err != nil {
			return errBusy
		}
	}
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !isPath(fi, src) {
		return nil // compressed and removed by another process meanwhile
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(dst)
		}
	}()
	zw := gzip.NewWriter(out)
	// gunzip -N restores the backup's own name and time.
	zw.Name = filepath.Base(src)
	zw.ModTime = fi.ModTime()
	if _, err = io.Copy(zw, abortReader{in, w.quit}); err != nil {
		return err
	}
	if err = zw.Close(); err != nil {
		return err
	}
	if err = out.Sync(); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	return os.Remove(src)
}

var errAborted = errors.New("errlog: file: compression abandoned by Close")

// abortReader lets Close interrupt the compression of a large backup
// between two reads instead of waiting for the end.
type abortReader struct {
	r    io.Reader
	quit <-chan struct{}
}

func (a abortReader) Read(p []byte) (int, error) {
	select {
	case <-a.quit:
		return 0, errAborted
	default:
		return a.r.Read(p)
	}
}
