package ingest

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/stretchr/testify/assert"
)

// TestKeptBody: a body is kept whole when it is gzip and at most maxKept
// bytes, read in pieces of any size; a body that is not gzip stops being
// copied at its second byte, and a larger one at maxKept.
func TestKeptBody(t *testing.T) {
	read := func(body []byte, oneByte bool) *limitedBody {
		var r io.Reader = bytes.NewReader(body)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		keep := make([]byte, 0, 16)
		l := &limitedBody{r: r, n: 1 << 30, keep: &keep}
		_, err := io.Copy(io.Discard, l)
		assert.NoError(t, err)
		return l
	}
	gz := append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte("x"), 1000)...)
	for _, one := range []bool{false, true} {
		l := read(gz, one)
		assert.Equal(t, append([]byte("\x00env"), gz...), l.kept(store.StoredEnvelope), "one byte at a time: %v", one)

		l = read([]byte(`{"event_id":"x"}`+"\n"), one)
		assert.Nil(t, l.kept(store.StoredEnvelope))
		assert.Empty(t, *l.keep, "not gzip: not copied")

		big := append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte("y"), maxKept)...)
		l = read(big, one)
		assert.Nil(t, l.kept(store.StoredEnvelope), "over maxKept")
		assert.LessOrEqual(t, len(*l.keep), maxKept+1)
	}
	// A body cut short (no io.EOF seen) is not kept.
	l := &limitedBody{r: iotest.TimeoutReader(bytes.NewReader(gz)), n: 1 << 30, keep: new([]byte)}
	io.Copy(io.Discard, l)
	assert.Nil(t, l.kept(store.StoredEnvelope))
}

// TestKeptBodyReserved: the kept copy's memory is reserved as it grows
// (its capacity); when the budget has no room, the body is not kept.
func TestKeptBodyReserved(t *testing.T) {
	gz := append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte("z"), 100_000)...)
	var reserved int64
	l := &limitedBody{r: bytes.NewReader(gz), n: 1 << 30, keep: new([]byte), reserve: func(n int64) bool {
		reserved = max(reserved, n)
		return true
	}}
	io.Copy(io.Discard, l)
	assert.NotNil(t, l.kept(store.StoredEnvelope))
	assert.GreaterOrEqual(t, reserved, int64(cap(*l.keep)), "the capacity is reserved")

	l = &limitedBody{r: bytes.NewReader(gz), n: 1 << 30, keep: new([]byte), reserve: func(n int64) bool { return n < 50_000 }}
	io.Copy(io.Discard, l)
	assert.Nil(t, l.kept(store.StoredEnvelope), "no room: not kept")
	assert.Nil(t, *l.keep, "and what was copied is let go")
}
