package errlog

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersionMatchesChangelog: errlog.Version, which events (sdk.version),
// mail (X-Mailer) and HTTP requests (User-Agent) carry, is the newest
// release CHANGELOG.md lists, so a release that forgets one or the other
// fails here.
func TestVersionMatchesChangelog(t *testing.T) {
	got, err := newestRelease("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	if got != Version {
		t.Fatalf("CHANGELOG.md's newest release is %q, errlog.Version is %q", got, Version)
	}
}

// TestNewestRelease checks the changelog reader: "Unreleased" and the
// server module's releases are skipped, the first client release wins.
func TestNewestRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "CHANGELOG.md")
	text := "# Changelog\n\n## [Unreleased]\n\n- a change\n\n## [errlogd 0.3.0] - 2026-12-01\n\n" +
		"## [0.2.0] - 2026-11-30\n\n## [0.1.0] - 2026-11-22\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := newestRelease(path); err != nil || got != "0.2.0" {
		t.Fatalf("newestRelease = %q, %v; want 0.2.0", got, err)
	}
	if err := os.WriteFile(path, []byte("# Changelog\n\n## [Unreleased]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := newestRelease(path); err == nil {
		t.Fatalf("newestRelease of a changelog without a release = %q, want an error", got)
	}
}

var releaseHeading = regexp.MustCompile(`^## \[(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\] - \d{4}-\d{2}-\d{2}$`)

// newestRelease returns the version of the first release heading
// ("## [1.2.3] - 2026-11-22") of a Keep a Changelog file.
func newestRelease(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := releaseHeading.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no release heading", path)
}

// TestLicenses: every module of the repository (each directory with a
// go.mod) has the same MIT LICENSE as the root, which pkg.go.dev needs to
// show a module's documentation, and the Sentry schema keeps its own
// notice.
func TestLicenses(t *testing.T) {
	root, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MIT License", "Copyright (c) 2026 The errlog Authors", "THE SOFTWARE IS PROVIDED \"AS IS\""} {
		if !bytes.Contains(root, []byte(want)) {
			t.Errorf("LICENSE lacks %q", want)
		}
	}
	modules := 0
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" {
			return nil
		}
		modules++
		dir := filepath.Dir(path)
		got, err := os.ReadFile(filepath.Join(dir, "LICENSE"))
		if err != nil {
			t.Errorf("module %s has no LICENSE: %v", dir, err)
		} else if !bytes.Equal(got, root) {
			t.Errorf("%s differs from the root LICENSE", filepath.Join(dir, "LICENSE"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if modules < 2 {
		t.Errorf("found %d modules, want the root and bench at least", modules)
	}
	sentry, err := os.ReadFile(filepath.Join("internal", "sentryschema", "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(sentry, []byte("Sentry")) || !bytes.Contains(sentry, []byte("Permission is hereby granted")) {
		t.Error("the Sentry schema's MIT notice is gone")
	}
}

// TestVersionSent: the one Version is what an event's sdk and a mail's
// X-Mailer carry.
func TestVersionSent(t *testing.T) {
	dir := t.TempDir()
	h, _, _, sink := newTestHandler(t, Options{Mail: &MailOptions{Dir: dir, To: []string{"dev@example.com"}}})
	slog.New(h).Error("boom")
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := sink.all()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	if sdk := evs[0].SDK; sdk == nil || sdk.Name != "errlog.go" || sdk.Version != Version {
		t.Fatalf("sdk %+v, want errlog.go %s", sdk, Version)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 1 {
		t.Fatalf("%d mails (%v), want 1", len(files), err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := parseMail(t, b).Header.Get("X-Mailer"); got != "errlog/"+Version {
		t.Fatalf("X-Mailer %q, want errlog/%s", got, Version)
	}
}
