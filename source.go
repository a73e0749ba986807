package errlog

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/errlog/errlog/event"
)

// SourceMode says where the source line of each stack frame is shown.
type SourceMode int8

const (
	// SourceDefault shows source lines in events (mail, tracker, sinks)
	// and in the log file, and on the console when it is a terminal.
	SourceDefault SourceMode = iota
	// SourceOn shows them on the console too, terminal or not.
	SourceOn
	// SourceOff shows them nowhere, and reads no source file.
	SourceOff
)

// Source context, as Python tracebacks and Sentry's SDKs have it. Files
// are read once into a bounded cache per Handler: for events on errlog's
// delivery goroutine, for the console and the file on the caller's at the
// first occurrence only. A line that mentions a masked key has its string
// literals masked (`password = "**************"`) when the file is read, so
// every later use is masked already.

const (
	// srcCacheBytes bounds the source a Handler keeps in memory.
	srcCacheBytes = 8 << 20
	// sourceContextLines is Sentry's: lines of pre_ and post_context.
	sourceContextLines = 5
	// maxSourceLine cuts a long line (minified, generated code).
	maxSourceLine = 200
)

// srcCache is the source files one Handler has read.
type srcCache struct {
	max  int64
	mask func(line string) string // nil: no masking
	root *moduleRoot

	mu    sync.RWMutex
	files map[string]*sourceFile
	size  int64
	tick  atomic.Uint64
	reads atomic.Int64 // files read from disk, for tests and benchmarks
}

// sourceFile is one file's lines; nil lines: missing, unreadable or too
// large, remembered so that it is not tried again.
type sourceFile struct {
	lines []string
	size  int64
	used  atomic.Uint64 // the cache's tick at the last use, for eviction
}

func newSrcCache(max int64, mask func(string) string) *srcCache {
	return &srcCache{max: max, mask: mask, root: mainModuleRoot(), files: map[string]*sourceFile{}}
}

// file returns the lines of path (as a frame names it), reading it if it
// is not cached.
func (c *srcCache) file(path string) []string {
	c.mu.RLock()
	f := c.files[path]
	c.mu.RUnlock()
	if f == nil {
		f = c.load(path)
	}
	f.used.Store(c.tick.Add(1))
	return f.lines
}

func (c *srcCache) load(path string) *sourceFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.files[path]; f != nil { // read by another goroutine meanwhile
		return f
	}
	f := &sourceFile{size: int64(len(path)) + 64}
	if real := c.root.resolve(path); real != "" {
		if fi, err := os.Stat(real); err == nil && fi.Mode().IsRegular() && fi.Size() <= c.max/2 {
			if b, err := os.ReadFile(real); err == nil {
				c.reads.Add(1)
				f.lines = splitSource(b, c.mask)
				for _, l := range f.lines {
					f.size += int64(len(l)) + 16
				}
			}
		}
	}
	c.evictLocked(f.size)
	c.files[path] = f
	c.size += f.size
	return f
}

// evictLocked drops the least recently used files until need more bytes fit.
func (c *srcCache) evictLocked(need int64) {
	for c.size+need > c.max && len(c.files) > 0 {
		var oldest string
		var min uint64 = 1<<64 - 1
		for p, f := range c.files {
			if u := f.used.Load(); u < min {
				oldest, min = p, u
			}
		}
		c.size -= c.files[oldest].size
		delete(c.files, oldest)
	}
}

// splitSource splits a file into lines, each cut at maxSourceLine bytes
// (on a rune boundary) and masked when it mentions a masked key.
func splitSource(b []byte, mask func(string) string) []string {
	lines := make([]string, 0, bytes.Count(b, []byte{'\n'})+1)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), len(b)+1)
	for sc.Scan() {
		l := strings.TrimSuffix(sc.Text(), "\r")
		if len(l) > maxSourceLine {
			cut := maxSourceLine
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut--
			}
			l = l[:cut]
		}
		if mask != nil {
			l = mask(l)
		}
		lines = append(lines, l)
	}
	return lines
}

// line returns line n (1-based) of path, "" if there is none.
func (c *srcCache) line(path string, n int) string {
	lines := c.file(path)
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

// fillLines sets the context line of every in-app frame: what the console
// and the file print under it.
func (c *srcCache) fillLines(frames []event.Frame) {
	for i := range frames {
		if f := &frames[i]; f.InApp {
			f.ContextLine = c.line(framePath(f), f.Lineno)
		}
	}
}

// addToEvent gives every frame of ev its source, as Sentry's SDKs do:
// in-app frames get context_line and five lines of pre_ and post_context,
// library frames the context_line only.
func (c *srcCache) addToEvent(ev *event.Event) {
	for i := range ev.Exception {
		if st := ev.Exception[i].Stacktrace; st != nil {
			c.addToFrames(st.Frames)
		}
	}
	if ev.Stacktrace != nil {
		c.addToFrames(ev.Stacktrace.Frames)
	}
}

func (c *srcCache) addToFrames(frames []event.Frame) {
	for i := range frames {
		f := &frames[i]
		lines := c.file(framePath(f))
		n := f.Lineno
		if n < 1 || n > len(lines) {
			continue
		}
		f.ContextLine = lines[n-1]
		if !f.InApp {
			continue
		}
		f.PreContext = lines[max(0, n-1-sourceContextLines) : n-1]
		f.PostContext = lines[n:min(len(lines), n+sourceContextLines)]
	}
}

func framePath(f *event.Frame) string {
	if f.AbsPath != "" {
		return f.AbsPath
	}
	return f.Filename
}

// maskSourceLine masks what a line of code may hold of a secret: when it
// mentions a mask key (mentions reports that), the contents of its string literals
// and its numbers (`password = "hunter2"` becomes
// `password = "**************"`); on any line, a string literal holding a
// URL with credentials ("postgres://u:pw@db", a Sentry DSN's key). The
// code around them stays readable.
func maskSourceLine(line string, mentions func(string) bool, with string) string {
	hit := mentions(line)
	if !hit && !strings.Contains(line, "://") {
		return line
	}
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		q := line[i]
		if hit && isDigit(q) && (i == 0 || !isIdentByte(line[i-1])) {
			j := i
			for j < len(line) && (isIdentByte(line[j]) || line[j] == '.') {
				j++
			}
			b.WriteString(with)
			i = j - 1
			continue
		}
		if q != '"' && q != '`' {
			b.WriteByte(q)
			continue
		}
		// Find the closing quote; an interpreted string may escape it.
		end := len(line)
		for j := i + 1; j < len(line); j++ {
			if q == '"' && line[j] == '\\' {
				j++
				continue
			}
			if line[j] == q {
				end = j
				break
			}
		}
		lit := line[i+1 : end]
		b.WriteByte(q)
		if lit != "" && (hit || hasURLCredentials(lit)) {
			b.WriteString(with)
		} else {
			b.WriteString(lit)
		}
		if end == len(line) { // runs past the line
			return b.String()
		}
		b.WriteByte(q)
		i = end
	}
	return b.String()
}

// hasURLCredentials reports whether s holds a URL with a user or password.
func hasURLCredentials(s string) bool {
	i := strings.Index(s, "://")
	if i < 0 {
		return false
	}
	rest := s[i+3:]
	if end := strings.IndexAny(rest, "/?# "); end >= 0 {
		rest = rest[:end]
	}
	return strings.Contains(rest, "@")
}

func isIdentByte(c byte) bool {
	return c == '_' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// moduleRoot finds the files of a -trimpath build, whose frames name
// them by module path ("example.com/app/main.go"): the main module's
// directory is looked for upwards from the working directory and from the
// executable's, where a go.mod declares that module.
type moduleRoot struct {
	path     string // the main module's path; "" when unknown
	once     sync.Once
	dir      string
	modCache string
}

var (
	mainRootOnce sync.Once
	mainRoot     *moduleRoot
)

func mainModuleRoot() *moduleRoot {
	mainRootOnce.Do(func() {
		mainRoot = &moduleRoot{}
		if bi, ok := debug.ReadBuildInfo(); ok {
			mainRoot.path = bi.Main.Path
		}
	})
	return mainRoot
}

// resolve returns the file to read for a frame's path, "" if none.
func (r *moduleRoot) resolve(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	r.once.Do(r.find)
	if r.path != "" && r.dir != "" && strings.HasPrefix(path, r.path+"/") {
		return filepath.Join(r.dir, filepath.FromSlash(path[len(r.path)+1:]))
	}
	if r.modCache != "" && strings.Contains(path, "@") {
		return filepath.Join(r.modCache, filepath.FromSlash(path))
	}
	return ""
}

func (r *moduleRoot) find() {
	if r.path != "" {
		var starts []string
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		if exe, err := os.Executable(); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
		for _, dir := range starts {
			if d := findModuleDir(dir, r.path); d != "" {
				r.dir = d
				break
			}
		}
	}
	r.modCache = os.Getenv("GOMODCACHE")
	if r.modCache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			if home, err := os.UserHomeDir(); err == nil {
				gopath = filepath.Join(home, "go")
			}
		}
		if gopath != "" {
			r.modCache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
		}
	}
}

// findModuleDir walks up from dir to the directory whose go.mod declares
// module modPath; "" if there is none.
func findModuleDir(dir, modPath string) string {
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && goModPath(b) == modPath {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// goModPath returns the module path a go.mod declares.
func goModPath(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(l, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
