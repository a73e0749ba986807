// Package cpython runs CPython for the tests that compare errlog's
// Python emulation (printf, str/repr, strftime, logging.Formatter) with
// the real thing. Only tests import it.
package cpython

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// Run runs script with python3, giving it in as JSON on stdin and args as
// sys.argv[1:], and decodes the JSON it prints into out. The environment
// gets TZ=UTC, LC_ALL=C and UTF-8 I/O. Without python3 the test is
// skipped, or fails when CI=true: CI must never pass without comparing.
func Run(t testing.TB, script string, in, out any, args ...string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is needed in CI: %v", err)
		}
		t.Skipf("no python3: %v", err)
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C", "PYTHONIOENCODING=utf-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("python3's output: %v", err)
	}
}
