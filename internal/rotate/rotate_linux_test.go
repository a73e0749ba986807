package rotate

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDevFull uses the device that fails every write with ENOSPC.
func TestDevFull(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	w := open(t, Options{Path: "/dev/full", MaxSize: 10, Interval: day, Compress: true})
	for i := 0; i < 3; i++ {
		n, err := w.Write([]byte("a record longer than MaxSize\n"))
		assert.Zero(t, n)
		require.ErrorIs(t, err, syscall.ENOSPC, "write %d", i)
		assert.True(t, strings.HasPrefix(err.Error(), "errlog: file: "), err.Error())
	}
	err := w.Rotate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")
	_, err = w.Write([]byte("x\n"))
	require.ErrorIs(t, err, syscall.ENOSPC, "the Writer survives a refused rotation")
	require.NoError(t, w.Close())
}

// TestFullDisk fills a small tmpfs: the record that does not fit is
// returned as an error and leaves no half line behind, and writing resumes
// once there is room again.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })

	filler := filepath.Join(mnt, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 32<<10), 0o600))
	path := filepath.Join(mnt, "app.log")
	w := open(t, Options{Path: path, MaxSize: -1})
	line := strings.Repeat("x", 999) + "\n"
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = w.Write([]byte(line))
	}
	require.ErrorIs(t, err, syscall.ENOSPC)
	_, err = w.Write([]byte(line))
	require.ErrorIs(t, err, syscall.ENOSPC, "still full")

	content := readFile(t, path)
	require.NotEmpty(t, content)
	assert.Zero(t, len(content)%len(line), "no partial record in the file")
	assert.Equal(t, strings.Repeat(line, len(content)/len(line)), content)

	require.NoError(t, os.Remove(filler))
	write(t, w, line)
	assert.Equal(t, content+line, readFile(t, path))
}
