package decode

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPayloadInto: an item of a stated length is read into the buffer
// given when it fits (the buffer's old bytes overwritten), else into a
// new one; an empty item is an empty, non-nil payload either way; an item
// without a length is read as before.
func TestPayloadInto(t *testing.T) {
	env := "{}\n" +
		`{"type":"event","length":5}` + "\nabcde\n" +
		`{"type":"event","length":12}` + "\nabcdefghijkl\n" +
		`{"type":"event","length":0}` + "\n\n" +
		`{"type":"event"}` + "\nxyz\n"
	r := NewReader(bufio.NewReader(strings.NewReader(env)))
	_, err := r.Header()
	require.NoError(t, err)
	buf := []byte("0123456789")

	_, err = r.Next()
	require.NoError(t, err)
	p, err := r.PayloadInto(buf, 100)
	require.NoError(t, err)
	assert.Equal(t, "abcde", string(p))
	assert.Same(t, &buf[0], &p[0], "read into the buffer given")

	_, err = r.Next()
	require.NoError(t, err)
	p, err = r.PayloadInto(buf, 100)
	require.NoError(t, err)
	assert.Equal(t, "abcdefghijkl", string(p), "too long for the buffer: a new one")
	assert.Equal(t, "abcde56789", string(buf), "the buffer given is left alone")

	_, err = r.Next()
	require.NoError(t, err)
	p, err = r.PayloadInto(nil, 100)
	require.NoError(t, err)
	assert.NotNil(t, p, "an empty item is not a missing one")
	assert.Empty(t, p)

	_, err = r.Next()
	require.NoError(t, err)
	p, err = r.PayloadInto(buf, 100)
	require.NoError(t, err)
	assert.Equal(t, "xyz", string(p))
}
