package errlog

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// buildChild builds the program in testdata/<name> for a test that runs
// it as a child process, with -trimpath when asked, and returns its path.
// It is built without -race whatever the test binary was built with: the
// crashes under test are the runtime's own, not the race detector's.
func buildChild(t *testing.T, name string, trimpath bool) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // tests run where they were built
	}
	out := filepath.Join(t.TempDir(), name)
	args := []string{"build", "-o", out}
	if trimpath {
		args = append(args, "-trimpath")
	}
	cmd := exec.Command(gobin, append(args, "./testdata/"+name)...)
	cmd.Env = childEnv(os.Environ())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/%s: %v\n%s", name, err, b)
	}
	return out
}

// childEnv is env without the ERRLOG_ variables of whoever runs the tests.
func childEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ERRLOG_") {
			out = append(out, kv)
		}
	}
	return out
}
