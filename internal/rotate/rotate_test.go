package rotate

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is an injectable Options.Now, safe for the cleanup goroutine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, o Options) *Writer {
	t.Helper()
	w, err := Open(o)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

func write(t *testing.T, w *Writer, s string) {
	t.Helper()
	n, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.Equal(t, len(s), n)
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	if strings.HasSuffix(name, gzExt) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		require.NoError(t, err, name)
		b, err = io.ReadAll(zr)
		require.NoError(t, err, name)
	}
	return string(b)
}

// backups lists w's backups, oldest first, as base names.
func backups(t *testing.T, w *Writer) []string {
	t.Helper()
	entries, err := os.ReadDir(w.dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if _, _, ok := w.parseBackup(e.Name(), time.UTC); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// eventually waits for the cleanup goroutine.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 2*time.Millisecond, msg)
}

// TestOptionsTags keeps every field loadable from a configuration file.
func TestOptionsTags(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeOf(Options{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		assert.NotEmpty(t, f.Tag.Get("json"), "json tag on %s", f.Name)
		assert.Equal(t, f.Tag.Get("json"), f.Tag.Get("yaml"), "yaml tag on %s", f.Name)
	}
	var o Options
	require.NoError(t, json.Unmarshal([]byte(`{"path":"/var/log/app.log","max_bytes":1048576,"max_backups":3,`+
		`"max_age":86400000000000,"compress":true,"interval":3600000000000,"local_time":true,"file_mode":416}`), &o))
	assert.Equal(t, Options{Path: "/var/log/app.log", MaxSize: 1 << 20, MaxBackups: 3, MaxAge: day, Compress: true,
		Interval: time.Hour, LocalTime: true, FileMode: 0o640}, o)
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "blocker")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))

	tests := []struct {
		name string
		o    Options
		is   error
		msg  string
	}{
		{"no path", Options{}, nil, "Path is empty"},
		{"negative interval", Options{Path: filepath.Join(dir, "a.log"), Interval: -time.Hour}, nil, "Interval"},
		{"negative max age", Options{Path: filepath.Join(dir, "a.log"), MaxAge: -time.Hour}, nil, "MaxAge"},
		{"parent is a regular file", Options{Path: filepath.Join(blocker, "sub", "a.log")}, syscall.ENOTDIR, "not a directory"},
		{"path is a directory", Options{Path: dir}, syscall.EISDIR, "is a directory"},
	}
	for _, tt := range tests {
		tt := tt
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := Open(tt.o)
			require.Error(t, err)
			assert.Nil(t, w)
			assert.True(t, strings.HasPrefix(err.Error(), "errlog: file: "), err.Error())
			assert.Contains(t, err.Error(), tt.msg)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestOpenAppendsAndCreatesDirs(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a", "b", "app.log")
	w := open(t, Options{Path: path})
	write(t, w, "one\n")
	require.NoError(t, w.Close())
	w = open(t, Options{Path: path})
	write(t, w, "two\n")
	assert.Equal(t, "one\ntwo\n", readFile(t, path))
	fi, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mode := func(name string) os.FileMode {
		fi, err := os.Stat(name)
		require.NoError(t, err)
		return fi.Mode().Perm()
	}

	def := filepath.Join(dir, "default.log")
	open(t, Options{Path: def})
	assert.Equal(t, os.FileMode(0o600), mode(def), "default for new files")

	set := filepath.Join(dir, "set.log")
	w := open(t, Options{Path: set, FileMode: 0o640})
	assert.Equal(t, os.FileMode(0o640), mode(set))

	require.NoError(t, os.Chmod(set, 0o604))
	write(t, w, "x\n")
	require.NoError(t, w.Rotate())
	assert.Equal(t, os.FileMode(0o604), mode(set), "the new file keeps the mode of the one it replaces")

	existing := filepath.Join(dir, "existing.log")
	require.NoError(t, os.WriteFile(existing, nil, 0o644))
	require.NoError(t, os.Chmod(existing, 0o644))
	open(t, Options{Path: existing, FileMode: 0o600})
	assert.Equal(t, os.FileMode(0o644), mode(existing), "an existing file is not chmodded")
}

func TestSizeRotation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	w := open(t, Options{Path: path, MaxSize: 12, MaxBackups: -1, Now: newClock(t0).Now})
	for _, s := range []string{"aaaaa\n", "bbbbb\n", "ccccc\n", "ddddd\n", "eeeee\n"} {
		write(t, w, s)
	}
	write(t, w, "a record longer than MaxSize\n")
	write(t, w, "fffff\n")

	// A frozen clock gives one backup per millisecond.
	assert.Equal(t, []string{
		"app-2024-05-01T12-00-00.000.log",
		"app-2024-05-01T12-00-00.001.log",
		"app-2024-05-01T12-00-00.002.log",
		"app-2024-05-01T12-00-00.003.log",
	}, backups(t, w))
	var got []string
	for _, b := range backups(t, w) {
		got = append(got, readFile(t, filepath.Join(w.dir, b)))
	}
	assert.Equal(t, []string{
		"aaaaa\nbbbbb\n",
		"ccccc\nddddd\n",
		"eeeee\n",
		"a record longer than MaxSize\n",
	}, got)
	assert.Equal(t, "fffff\n", readFile(t, path))
}

func TestNoSizeLimit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	w := open(t, Options{Path: path, MaxSize: -1})
	big := strings.Repeat("x", 1<<20) + "\n"
	for i := 0; i < 3; i++ {
		write(t, w, big)
	}
	assert.Empty(t, backups(t, w))
}

func TestTimeRotation(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	tests := []struct {
		name     string
		interval time.Duration
		start    time.Time
		boundary time.Time
	}{
		{"daily across the start of DST", day,
			time.Date(2024, 3, 10, 1, 0, 0, 0, ny), time.Date(2024, 3, 11, 0, 0, 0, 0, ny)},
		{"daily in UTC+2", day,
			time.Date(2024, 3, 10, 23, 0, 0, 0, time.FixedZone("+02", 7200)),
			time.Date(2024, 3, 11, 0, 0, 0, 0, time.FixedZone("+02", 7200))},
		{"hourly", time.Hour,
			time.Date(2024, 3, 10, 10, 30, 0, 0, time.UTC), time.Date(2024, 3, 10, 11, 0, 0, 0, time.UTC)},
		{"every 10m", 10 * time.Minute,
			time.Date(2024, 3, 10, 10, 7, 0, 0, time.UTC), time.Date(2024, 3, 10, 10, 10, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		tt := tt
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(tt.start)
			path := filepath.Join(t.TempDir(), "app.log")
			w := open(t, Options{Path: path, Interval: tt.interval, MaxBackups: -1, Now: clk.Now})
			write(t, w, "1\n")
			clk.Set(tt.boundary.Add(-time.Nanosecond))
			write(t, w, "2\n")
			assert.Empty(t, backups(t, w), "no rotation before the boundary")

			clk.Set(tt.boundary)
			write(t, w, "3\n")
			want := "app-" + tt.boundary.UTC().Format(backupLayout) + ".log"
			require.Equal(t, []string{want}, backups(t, w))
			assert.Equal(t, "1\n2\n", readFile(t, filepath.Join(w.dir, want)))
			assert.Equal(t, "3\n", readFile(t, path))

			// Past the next boundary too, but with nothing written in
			// between: the empty file is not backed up.
			require.NoError(t, w.Close())
			require.NoError(t, os.Truncate(path, 0))
			w = open(t, Options{Path: path, Interval: tt.interval, MaxBackups: -1, Now: clk.Now})
			clk.Add(3 * tt.interval)
			write(t, w, "4\n")
			assert.Len(t, backups(t, w), 1)
		})
	}
}

func TestStaleFileRotatedAtFirstWrite(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		mtime   time.Time
		rotated bool
	}{
		{"from yesterday", time.Date(2024, 4, 30, 23, 59, 0, 0, time.UTC), true},
		{"from today", time.Date(2024, 5, 1, 0, 1, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		tt := tt
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "app.log")
			require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o600))
			require.NoError(t, os.Chtimes(path, tt.mtime, tt.mtime))
			w := open(t, Options{Path: path, Interval: day, Now: newClock(now).Now})
			write(t, w, "new\n")
			if !tt.rotated {
				assert.Empty(t, backups(t, w))
				assert.Equal(t, "old\nnew\n", readFile(t, path))
				return
			}
			require.Equal(t, []string{"app-2024-05-01T12-00-00.000.log"}, backups(t, w))
			assert.Equal(t, "old\n", readFile(t, filepath.Join(w.dir, backups(t, w)[0])))
			assert.Equal(t, "new\n", readFile(t, path))
		})
	}
}

func TestBackupNames(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("+02", 7200))
	tests := []struct {
		base      string
		localTime bool
		want      string
	}{
		{"app.log", false, "app-2024-05-01T12-00-00.000.log"},
		{"app.log", true, "app-2024-05-01T14-00-00.000.log"},
		{"app", false, "app-2024-05-01T12-00-00.000"},
		{"app.tar.gz", false, "app.tar-2024-05-01T12-00-00.000.gz"},
	}
	for _, tt := range tests {
		tt := tt
		t.Run(fmt.Sprint(tt.base, tt.localTime), func(t *testing.T) {
			t.Parallel()
			w := open(t, Options{Path: filepath.Join(t.TempDir(), tt.base), LocalTime: tt.localTime, Now: newClock(at).Now})
			write(t, w, "x\n")
			require.NoError(t, w.Rotate())
			assert.Equal(t, []string{tt.want}, backups(t, w))
			loc := time.UTC
			if tt.localTime {
				loc = at.Location()
			}
			for _, name := range []string{tt.want, tt.want + gzExt} {
				got, _, ok := w.parseBackup(name, loc)
				assert.True(t, ok, name)
				assert.True(t, got.Equal(at), "%s parses as %v", name, got)
			}
		})
	}
}

func TestMaxBackups(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unrelated := []string{
		"app.log.bak",
		"app-old.log",
		"app-2024-01-01T00-00-00.000.txt",
		"app-2024-01-01T00-00-00.log",
		"other-2024-01-01T00-00-00.000.log",
		"app-x-2024-01-01T00-00-00.000.log",
		"app-2024-13-01T00-00-00.000.log",
	}
	for _, name := range unrelated {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(name), 0o600))
	}
	// A directory that looks like a backup is not ours either.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "app-2000-01-01T00-00-00.000.log"), 0o755))

	clk := newClock(t0)
	w := open(t, Options{Path: filepath.Join(dir, "app.log"), MaxBackups: 2, Now: clk.Now})
	for i := 0; i < 5; i++ {
		write(t, w, fmt.Sprintf("%d\n", i))
		clk.Add(time.Second)
		require.NoError(t, w.Rotate())
	}
	want := []string{"app-2024-05-01T12-00-04.000.log", "app-2024-05-01T12-00-05.000.log"}
	eventually(t, func() bool { return len(backups(t, w)) == 2 }, "MaxBackups applied")
	assert.Equal(t, want, backups(t, w), "the newest are kept")
	assert.Equal(t, "4\n", readFile(t, filepath.Join(dir, want[1])))
	for _, name := range unrelated {
		assert.Equal(t, name, readFile(t, filepath.Join(dir, name)), "unrelated file kept")
	}
	assert.DirExists(t, filepath.Join(dir, "app-2000-01-01T00-00-00.000.log"))
}

func TestMaxAge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	files := map[string]bool{ // name: kept
		"app-2024-04-01T00-00-00.000.log.gz": false,
		"app-2024-05-01T00-00-00.000.log":    false,
		"app-2024-05-07T11-59-59.999.log":    false,
		"app-2024-05-07T12-00-00.000.log":    true, // exactly MaxAge old
		"app-2024-05-08T00-00-00.000.log":    true,
		"app-2024-05-10T11-00-00.000.log.gz": true,
	}
	for name := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
	// Opening applies the limits at once; no rotation needed.
	w := open(t, Options{Path: filepath.Join(dir, "app.log"), MaxAge: 72 * time.Hour, MaxBackups: -1, Now: newClock(now).Now})
	var want []string
	for name, kept := range files {
		if kept {
			want = append(want, name)
		}
	}
	sort.Strings(want)
	eventually(t, func() bool { return len(backups(t, w)) == len(want) }, "MaxAge applied")
	assert.Equal(t, want, backups(t, w))
}

func TestCompress(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	w := open(t, Options{Path: path, Compress: true, FileMode: 0o640, Now: newClock(t0).Now})
	content := "first line\nsecond line\n" + strings.Repeat("third line, longer\n", 1000)
	write(t, w, content)
	require.NoError(t, w.Rotate())
	write(t, w, "after\n")

	gz := filepath.Join(w.dir, "app-2024-05-01T12-00-00.000.log.gz")
	eventually(t, func() bool { return len(backups(t, w)) == 1 && backups(t, w)[0] == filepath.Base(gz) }, "compressed")
	require.NoError(t, w.Close())

	f, err := os.Open(gz)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	zr.Multistream(false)
	got, err := io.ReadAll(zr)
	require.NoError(t, err, "valid gzip")
	assert.Equal(t, content, string(got), "exact content")
	assert.Equal(t, "app-2024-05-01T12-00-00.000.log", zr.Name, "gunzip -N restores the name")
	rest, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Empty(t, rest, "nothing after the gzip stream")

	fi, err := os.Stat(gz)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "mode of the backup")
	assert.Equal(t, "after\n", readFile(t, path))
}

func TestCompressRedoesInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "app-2024-05-01T12-00-00.000.log")
	require.NoError(t, os.WriteFile(plain, []byte("complete\n"), 0o600))
	require.NoError(t, os.WriteFile(plain+gzExt, []byte("\x1f\x8b truncated"), 0o600))
	open(t, Options{Path: filepath.Join(dir, "app.log"), Compress: true})
	eventually(t, func() bool { _, err := os.Stat(plain); return errors.Is(err, os.ErrNotExist) }, "recompressed")
	assert.Equal(t, "complete\n", readFile(t, plain+gzExt))
}

// TestConcurrentWrites rotates under 16 writers and checks that no line is
// lost, duplicated, split or garbled.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		compress := compress
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			t.Parallel()
			const (
				goroutines = 16
				lines      = 2000
				maxSize    = 64 << 10
			)
			line := func(g, i int) string {
				return fmt.Sprintf("g%02d i%05d %s\n", g, i, strings.Repeat(string(rune('a'+g)), 20+i%17))
			}
			path := filepath.Join(t.TempDir(), "app.log")
			w := open(t, Options{Path: path, MaxSize: maxSize, MaxBackups: -1, Compress: compress})
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < lines; i++ {
						if _, err := w.Write([]byte(line(g, i))); err != nil {
							t.Error(err)
							return
						}
					}
				}(g)
			}
			wg.Wait()
			if compress {
				eventually(t, func() bool {
					for _, b := range backups(t, w) {
						if !strings.HasSuffix(b, gzExt) {
							return false
						}
					}
					return true
				}, "all backups compressed")
			}
			require.NoError(t, w.Close())

			files := append(backups(t, w), filepath.Base(path))
			require.Greater(t, len(files), 5, "several rotations")
			seen := make(map[string]bool, goroutines*lines)
			for _, name := range files {
				content := readFile(t, filepath.Join(w.dir, name))
				assert.LessOrEqual(t, len(content), maxSize, name)
				assert.True(t, strings.HasSuffix(content, "\n"), "%s ends with a whole line", name)
				sc := bufio.NewScanner(strings.NewReader(content))
				for sc.Scan() {
					var g, i int
					_, err := fmt.Sscanf(sc.Text(), "g%02d i%05d", &g, &i)
					require.NoError(t, err, "garbled line %q in %s", sc.Text(), name)
					require.Equal(t, line(g, i), sc.Text()+"\n", "garbled line in %s", name)
					require.False(t, seen[sc.Text()], "duplicate line %q", sc.Text())
					seen[sc.Text()] = true
				}
			}
			assert.Len(t, seen, goroutines*lines)
		})
	}
}

func TestRecoversFromBadHandleAndMissingDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	path := filepath.Join(sub, "app.log")
	clk := newClock(t0)
	w := open(t, Options{Path: path, Now: clk.Now})
	write(t, w, "a\n")

	// The handle goes bad and the directory turns into a regular file.
	w.mu.Lock()
	w.file.Close()
	w.mu.Unlock()
	require.NoError(t, os.RemoveAll(sub))
	require.NoError(t, os.WriteFile(sub, nil, 0o600))

	_, err := w.Write([]byte("b\n"))
	require.Error(t, err, "bad handle")
	_, err = w.Write([]byte("c\n"))
	require.ErrorIs(t, err, syscall.ENOTDIR, "unwritable path")
	assert.True(t, strings.HasPrefix(err.Error(), "errlog: file: "), err.Error())
	require.Error(t, w.Rotate())
	require.ErrorIs(t, w.Err(), syscall.ENOTDIR)

	// The problem goes away; the Writer tries again a minute after its
	// last try, not at every Write.
	require.NoError(t, os.Remove(sub))
	clk.Add(59 * time.Second)
	_, err = w.Write([]byte("c2\n"))
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, syscall.ENOTDIR, "the cause stays in the chain")
	assert.Contains(t, err.Error(), "next try at 12:01:00")
	clk.Add(time.Second)
	write(t, w, "d\n")
	assert.Equal(t, "d\n", readFile(t, path))
	require.NoError(t, w.Err())
	require.NoError(t, w.Rotate())
	write(t, w, "e\n")
	assert.Equal(t, "e\n", readFile(t, path))
}

// TestLazyOpen: a directory that is unwritable at Open. The Writer
// starts, tries again at most once every RetryInterval, and writes once
// the directory is fixed.
func TestLazyOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "logs")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600)) // fails for root too
	path := filepath.Join(blocker, "app.log")
	_, err := Open(Options{Path: path})
	require.ErrorIs(t, err, syscall.ENOTDIR, "not Lazy: Open fails")

	clk := newClock(t0)
	w := open(t, Options{Path: path, Lazy: true, RetryInterval: 10 * time.Second, Now: clk.Now})
	require.ErrorIs(t, w.Err(), syscall.ENOTDIR)
	for i := 0; i < 3; i++ {
		_, err := w.Write([]byte("lost\n"))
		require.ErrorIs(t, err, ErrUnavailable)
	}
	require.NoError(t, os.Remove(blocker))
	_, err = w.Write([]byte("still waiting\n"))
	require.ErrorIs(t, err, ErrUnavailable, "no try before RetryInterval")
	clk.Add(10 * time.Second)
	write(t, w, "first\n")
	require.NoError(t, w.Err())
	assert.Equal(t, "first\n", readFile(t, path))
}

// TestWatchedFile: a file deleted or moved away is reopened at its path
// within WatchInterval, as Python's WatchedFileHandler does.
func TestWatchedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	clk := newClock(t0)
	w := open(t, Options{Path: path, Now: clk.Now})
	write(t, w, "one\n")

	// logrotate without copytruncate: the file moves away.
	moved := filepath.Join(dir, "app.log.1")
	require.NoError(t, os.Rename(path, moved))
	write(t, w, "two\n") // within the second: still the old file
	clk.Add(time.Second)
	write(t, w, "three\n")
	assert.Equal(t, "one\ntwo\n", readFile(t, moved))
	assert.Equal(t, "three\n", readFile(t, path))

	// An operator deletes it.
	require.NoError(t, os.Remove(path))
	clk.Add(time.Second)
	write(t, w, "four\n")
	assert.Equal(t, "four\n", readFile(t, path))

	// Its directory too.
	require.NoError(t, os.RemoveAll(dir))
	clk.Add(time.Second)
	write(t, w, "five\n")
	assert.Equal(t, "five\n", readFile(t, path))

	// Negative WatchInterval: never checked.
	path2 := filepath.Join(t.TempDir(), "b.log")
	w2 := open(t, Options{Path: path2, Now: clk.Now, WatchInterval: -1})
	require.NoError(t, os.Remove(path2))
	clk.Add(time.Hour)
	write(t, w2, "gone\n")
	_, err := os.Stat(path2)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestFileRemovedExternally(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	w := open(t, Options{Path: path, MaxSize: 12})
	write(t, w, "12345\n")
	require.NoError(t, os.Remove(path))
	write(t, w, "lost\n") // into the unlinked file, as documented
	write(t, w, "next\n") // the rotation finds nothing to rename and starts afresh
	assert.Empty(t, backups(t, w))
	assert.Equal(t, "next\n", readFile(t, path))
}

func TestSymlinkedPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "app.log")
	require.NoError(t, os.MkdirAll(filepath.Dir(real), 0o755))
	require.NoError(t, os.WriteFile(real, nil, 0o600))
	link := filepath.Join(dir, "link.log")
	require.NoError(t, os.Symlink(real, link))

	w := open(t, Options{Path: link, Now: newClock(t0).Now})
	write(t, w, "x\n")
	require.NoError(t, w.Rotate())
	write(t, w, "y\n")
	assert.FileExists(t, filepath.Join(dir, "real", "app-2024-05-01T12-00-00.000.log"))
	assert.Equal(t, "y\n", readFile(t, link), "the link still points at the live file")
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	t.Parallel()
	w := open(t, Options{Path: filepath.Join(t.TempDir(), "app.log")})
	write(t, w, "x\n")
	require.NoError(t, w.Close())
	require.NoError(t, w.Close())

	n, err := w.Write([]byte("y\n"))
	assert.Zero(t, n)
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.True(t, strings.HasPrefix(err.Error(), "errlog: file: "), err.Error())
	assert.ErrorIs(t, w.Rotate(), os.ErrClosed)
}

func TestCloseDuringCompression(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "app-2024-05-01T12-00-00.000.log")
	content := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	require.NoError(t, os.WriteFile(plain, content, 0o600))

	w, err := Open(Options{Path: filepath.Join(dir, "app.log"), Compress: true})
	require.NoError(t, err)
	time.Sleep(time.Millisecond) // let the compression start
	start := time.Now()
	require.NoError(t, w.Close())
	t.Logf("Close took %v", time.Since(start))

	// Either the compression was abandoned and undone, or it finished.
	if _, err := os.Stat(plain); err == nil {
		assert.NoFileExists(t, plain+gzExt, "abandoned compression leaves no partial .gz")
		assert.Equal(t, string(content), readFile(t, plain))
	} else {
		assert.Equal(t, string(content), readFile(t, plain+gzExt))
	}
}

// TestCloseStopsGoroutines checks each Writer's own goroutine (its
// background worker, the only one it starts) has returned once Close
// does, rather than the process's goroutine count, which other tests'
// leftovers would upset.
func TestCloseStopsGoroutines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := 0; i < 5; i++ {
		w, err := Open(Options{
			Path:     filepath.Join(dir, fmt.Sprintf("app%d.log", i)),
			Compress: true,
			MaxSize:  10,
			Interval: time.Hour,
		})
		require.NoError(t, err)
		for j := 0; j < 5; j++ {
			write(t, w, "0123456789\n")
		}
		require.NoError(t, w.Rotate())
		require.NoError(t, w.Close())
		select {
		case <-w.done:
		default:
			t.Fatalf("writer %d: its worker outlived Close", i)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	line := []byte(strings.Repeat("x", 99) + "\n")
	w, err := Open(Options{
		Path:       filepath.Join(b.TempDir(), "app.log"),
		MaxSize:    16 << 20,
		MaxBackups: 1,
		Interval:   time.Hour,
	})
	require.NoError(b, err)
	defer w.Close()
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.Write(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteParallel(b *testing.B) {
	line := []byte(strings.Repeat("x", 99) + "\n")
	w, err := Open(Options{
		Path:       filepath.Join(b.TempDir(), "app.log"),
		MaxSize:    16 << 20,
		MaxBackups: 1,
	})
	require.NoError(b, err)
	defer w.Close()
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := w.Write(line); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
