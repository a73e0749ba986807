package errlog_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLibraryUsersDoNotPayForTheServer: a fresh module that imports only
// github.com/errlog/errlog gets none of errlogd's dependencies (SQLite,
// pgx, compressors) in its go.sum after go mod tidy: errlogd is a module
// of its own. Nor OpenTelemetry: the tracing hook is the module
// github.com/errlog/errlog/otel.
func TestLibraryUsersDoNotPayForTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Skip("no go command beside the running toolchain")
	}
	repo, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/app\n\ngo 1.21\n\nrequire github.com/errlog/errlog v0.0.0-00010101000000-000000000000\n\nreplace github.com/errlog/errlog => "+repo+"\n")
	write("main.go", `package main

import (
	"log/slog"

	"github.com/errlog/errlog"
)

func main() { slog.SetDefault(errlog.New(errlog.FromEnv())) }
`)
	cmd := exec.Command(goBin, "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range []string{"modernc.org/", "github.com/jackc/", "github.com/klauspost/", "github.com/andybalholm/", "github.com/getsentry/", "go.opentelemetry.io/"} {
		if strings.Contains(string(sum), dep) {
			t.Errorf("go.sum of a library user holds %s:\n%s", dep, sum)
		}
	}
	if !strings.Contains(string(sum), "github.com/lmittmann/tint") {
		t.Errorf("go.sum lacks the library's own dependency tint: the check checked nothing:\n%s", sum)
	}
}

// TestClientDoesNotCompileTheServersDecoder: wire/decode
// (lenient envelope and event decoding) serves errlogd; no package of the
// client's module imports it, directly or not, outside tests.
func TestClientDoesNotCompileTheServersDecoder(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Skip("no go command beside the running toolchain")
	}
	const decoder = "github.com/errlog/errlog/wire/decode"
	cmd := exec.Command(goBin, "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	// internal/trackertest, the tests' tracker, decodes as errlogd does;
	// it is tests' code, and no other package may import it.
	const tests = "github.com/errlog/errlog/internal/trackertest"
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sawDecoder := false
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, " ")
		if pkg == decoder {
			sawDecoder = true
			continue
		}
		if pkg == tests {
			continue
		}
		for _, d := range strings.Fields(deps) {
			if d == decoder || d == tests {
				t.Errorf("%s imports %s", pkg, d)
			}
		}
	}
	if !sawDecoder || len(lines) < 5 {
		t.Errorf("go list saw %d packages, decoder %v: the check checked nothing:\n%s", len(lines), sawDecoder, out)
	}
}
