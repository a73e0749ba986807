//go:build !race

package rotate

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestWriteAllocs holds Write to its budget: a logger writes on every
// record, so the steady state must not allocate. Not parallel: AllocsPerRun
// counts the whole process.
func TestWriteAllocs(t *testing.T) {
	w := open(t, Options{
		Path:     filepath.Join(t.TempDir(), "app.log"),
		Interval: time.Hour, // the clock is read on every Write
	})
	line := []byte(strings.Repeat("x", 99) + "\n")
	write(t, w, string(line))
	time.Sleep(10 * time.Millisecond) // let the cleanup that Open started finish
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
