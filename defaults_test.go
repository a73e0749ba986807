package errlog

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestEachDefaultSetOnce: every default is a named constant declared
// once, and the settings it fills take it at the sites listed here and
// nowhere else; where its value is distinctive, that value is written
// nowhere else either. A second layer of defaults (a sink that defaults a
// setting its caller already resolved, a constructor that compiles the
// default format again) shows up here as a use nobody listed.
func TestEachDefaultSetOnce(t *testing.T) {
	src := librarySource(t)
	for _, d := range []struct {
		name, decl string // the constant, as other code names it, and its declaration as written
		uses       []string
		unique     string // a value no other code line writes, if any
	}{
		{"DefaultFormat", `const DefaultFormat = "%(asctime)s %(levelname)s: %(message)s [in %(pathname)s:%(lineno)d]"`,
			[]string{"format = DefaultFormat"}, `%(levelname)s: %(message)s [in`},
		{"DefaultQueueSize", "DefaultQueueSize   = 1024",
			[]string{"return DefaultQueueSize"}, ""},
		{"DefaultSendTimeout", "DefaultSendTimeout = 30 * time.Second",
			[]string{"return DefaultSendTimeout", "const DefaultTimeout = delivery.DefaultSendTimeout"}, ""},
		{"settings.ErrorLevel", "ErrorLevel = slog.LevelError",
			[]string{"o.ErrorLevel = settings.ErrorLevel", "o.ErrorLevel = settings.ErrorLevel"}, ""},
		{"DefaultLevel", "const DefaultLevel = slog.LevelWarn",
			[]string{"o.Level = DefaultLevel"}, ""},
		{"mail.DefaultIdleTimeout", "const DefaultIdleTimeout = 30 * time.Second",
			[]string{"IdleTimeout = mail.DefaultIdleTimeout"}, ""},
		{"settings.IdleTimeout", "IdleTimeout = mail.DefaultIdleTimeout",
			[]string{"tr.IdleConnTimeout = settings.IdleTimeout"}, ""},
		{"settings.FlushTimeout", "FlushTimeout = 10 * time.Second",
			[]string{"const DefaultFlushTimeout = settings.FlushTimeout", "ctx, cancel := context.WithTimeout(context.Background(), settings.FlushTimeout)"}, ""},
		{"DefaultMaxValueBytes", "DefaultMaxValueBytes = 64 << 10",
			[]string{"o.MaxValueBytes = DefaultMaxValueBytes"}, ""},
		{"defaultMaxBodyBytes", "defaultMaxBodyBytes = 64 << 10",
			[]string{"o.MaxBodyBytes = defaultMaxBodyBytes", "var defaultMiddlewareSettings = middlewareSettings{mask: defaultMasker, tracked: defaultTrackedStatus(), maxBody: defaultMaxBodyBytes}"}, ""},
		{"DefaultBreadcrumbs", "const DefaultBreadcrumbs = 50",
			[]string{"o.Breadcrumbs = DefaultBreadcrumbs"}, ""},
	} {
		decls, uses, values := 0, []string(nil), 0
		word := regexp.MustCompile(`\b` + d.name + `\b`) // any package's use of it too
		if strings.Contains(d.name, ".") {
			word = regexp.MustCompile(`(^|[^\w.])` + regexp.QuoteMeta(d.name) + `\b`)
		}
		for _, line := range src {
			switch {
			case line == d.decl:
				decls++
			case word.MatchString(line):
				uses = append(uses, line)
			}
			if d.unique != "" && strings.Contains(line, d.unique) && line != d.decl {
				values++
			}
		}
		if decls != 1 {
			t.Errorf("%s: declared %d times as %q, want once", d.name, decls, d.decl)
		}
		slices.Sort(uses)
		want := slices.Clone(d.uses)
		slices.Sort(want)
		if !slices.Equal(uses, want) {
			t.Errorf("%s is used at\n\t%s\nwant only\n\t%s", d.name, strings.Join(uses, "\n\t"), strings.Join(want, "\n\t"))
		}
		if values != 0 {
			t.Errorf("%s's value %s is written %d times besides its declaration", d.name, d.unique, values)
		}
	}
}

// librarySource returns the code lines (comments and blank lines left
// out, each trimmed) of every non-test Go file of the module's library:
// the root package and its subpackages, not commands, examples or errlogd.
func librarySource(t *testing.T) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(".", func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			switch de.Name() {
			case "errlogd", "examples", "bench", "cmd", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "//") {
				continue
			}
			if i := strings.Index(l, " // "); i >= 0 {
				l = strings.TrimSpace(l[:i])
			}
			lines = append(lines, l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 1000 {
		t.Fatalf("read %d lines: the check checked nothing", len(lines))
	}
	return lines
}
