//go:build unix && !solaris && !aix

package rotate

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/flock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const writerChildEnv = "ERRLOG_TEST_ROTATE_WRITER"

// TestWriterChild is one of the processes of TestTwoProcessesCompress: it
// writes "<name> <i>" lines to the path it is given, then closes.
func TestWriterChild(t *testing.T) {
	spec := os.Getenv(writerChildEnv)
	if spec == "" {
		t.Skip("run by TestTwoProcessesCompress")
	}
	parts := strings.Split(spec, "|") // path|name|lines|maxsize
	n, _ := strconv.Atoi(parts[2])
	max, _ := strconv.ParseInt(parts[3], 10, 64)
	w, err := Open(Options{Path: parts[0], MaxSize: max, MaxBackups: -1, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		line := fmt.Sprintf("%s %d %s\n", parts[1], i, strings.Repeat("x", 40))
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTwoProcessesCompress runs two processes that write the same path
// with small size rotation and compression at once: every line of both
// arrives exactly once, in the current file or a backup, plain or
// gzipped. lumberjack and Python lose lines here: the second process
// keeps writing into a file the first has rotated, and the compressor
// deletes it.
func TestTwoProcessesCompress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	const lines = 20000
	var cmds []*exec.Cmd
	for _, name := range []string{"a", "b"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWriterChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), writerChildEnv+"="+path+"|"+name+"|"+strconv.Itoa(lines)+"|32768")
		cmd.Stderr, cmd.Stdout = os.Stderr, os.Stderr
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}
	// A compression a Close abandoned is finished by the next Open; read
	// each backup in whichever form is complete: the plain one if both.
	seen := map[string]int{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	files := 0
	for name := range names {
		if strings.HasSuffix(name, ".gz") && names[strings.TrimSuffix(name, ".gz")] {
			continue
		}
		if !strings.HasPrefix(name, "app") || strings.HasSuffix(name, ".lock") {
			continue
		}
		files++
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		var r io.Reader = f
		if strings.HasSuffix(name, ".gz") {
			zr, err := gzip.NewReader(f)
			require.NoError(t, err, name)
			r = zr
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			seen[sc.Text()]++
		}
		require.NoError(t, sc.Err(), name)
		f.Close()
	}
	assert.Greater(t, files, 30, "rotated often")
	t.Logf("%d files", files)
	lost, dup := 0, 0
	for _, name := range []string{"a", "b"} {
		for i := 0; i < lines; i++ {
			switch seen[fmt.Sprintf("%s %d %s", name, i, strings.Repeat("x", 40))] {
			case 0:
				lost++
			case 1:
			default:
				dup++
			}
		}
	}
	assert.Zero(t, lost, "lines lost of %d", 2*lines)
	assert.Zero(t, dup, "lines written twice")
	assert.Equal(t, 2*lines, len(seen), "distinct lines")
}

// TestRotationLockBusy: another process holds the rotation lock (here, the
// test). A Write that wants a rotation waits at most lockWait and goes to
// the current file; Rotate says why it did not rotate. Once the lock is
// free, rotation resumes.
func TestRotationLockBusy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := open(t, Options{Path: filepath.Join(dir, "app.log"), MaxSize: 10})
	write(t, w, "123456789\n")
	d, err := os.Open(dir)
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, flock.TryLock(d))

	start := time.Now()
	write(t, w, "overflow\n")
	assert.Less(t, time.Since(start), 2*lockWait, "bounded wait")
	assert.GreaterOrEqual(t, time.Since(start), lockWait)
	assert.Equal(t, "123456789\noverflow\n", readFile(t, filepath.Join(dir, "app.log")))
	assert.ErrorIs(t, w.Rotate(), errRotationBusy)

	require.NoError(t, flock.Unlock(d))
	write(t, w, "rotated\n")
	assert.Equal(t, "rotated\n", readFile(t, filepath.Join(dir, "app.log")))
	assert.Len(t, backups(t, w), 1)
}
