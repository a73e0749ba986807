//go:build linux

package delivery

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An acknowledgement cut short by a full disk is cut off, as a torn item
// is: an item appended after it, written in full, is read back after a
// restart (it was lost: a restart reads a segment up to its first torn
// record), and the item whose acknowledgement failed is sent again.
//
// The disk fills in a child process: RLIMIT_FSIZE, which cuts a write
// short at the limit as ENOSPC does at the last free block, holds for the
// whole process.
func TestWALTornAckKeepsLaterItems(t *testing.T) {
	if dir := os.Getenv("ERRLOG_TEST_TORN_ACK_DIR"); dir != "" {
		tornAckChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWALTornAckKeepsLaterItems$")
	cmd.Env = append(os.Environ(), "ERRLOG_TEST_TORN_ACK_DIR="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child: %s", out)

	stamp := int64(100)
	w, items, bad, err := openWAL(dir, func() int64 { stamp++; return stamp })
	require.NoError(t, err)
	defer w.close()
	var got []string
	for _, it := range items {
		got = append(got, it.id)
	}
	assert.Equal(t, []string{"a", "b", "c"}, got, "child: %s", out)
	assert.Zero(t, bad, "no damaged segment")
}

// tornAckChild appends a and b, acknowledges a with room for two bytes of
// its record, then appends c with room again. It exits 0 only if the
// acknowledgement failed and c was written.
func tornAckChild(dir string) {
	stamp := int64(0)
	w, _, _, err := openWAL(dir, func() int64 { stamp++; return stamp })
	must(err)
	a, err := w.append("a", []byte("body-a"))
	must(err)
	_, err = w.append("b", []byte("body-b"))
	must(err)
	var old syscall.Rlimit
	must(syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	lim := old
	lim.Cur = uint64(a.seg.size + 2) // "A " of "A 0\n"
	must(syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim))
	ackErr := w.ack(a)
	must(syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old))
	if ackErr == nil {
		os.Stderr.WriteString("the acknowledgement did not fail: the limit did not apply\n")
		os.Exit(3)
	}
	_, err = w.append("c", []byte("body-c"))
	must(err)
	w.close()
	os.Exit(0)
}

func must(err error) {
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
}
