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

// TestHeadersLenient: a field of the wrong type in an envelope header
// costs that field, never the envelope; an item header's type and length
// frame the item and must be a string and an integer, its other fields
// are read leniently; keys are read by what they say.
func TestHeadersLenient(t *testing.T) {
	env := `{"event_id":5,"sent_at":{},"dsn":null,"sdk":{"name":"sentry.php","version":4},"trace":"t","extra":[1]}` + "\n" +
		`{"typ\u0065":"event","length":2,"filename":3,"item_count":"x","content_type":["a"]}` + "\n{}\n" +
		`{"type":7}` + "\nxy\n"
	r := NewReader(bufio.NewReader(strings.NewReader(env)))
	h, err := r.Header()
	require.NoError(t, err)
	assert.Equal(t, "5", h.EventID, "a number as its text, as in an event")
	assert.Empty(t, h.SentAt)
	assert.Empty(t, h.DSN)
	if assert.NotNil(t, h.SDK) {
		assert.Equal(t, "sentry.php", h.SDK.Name)
		assert.Equal(t, "4", h.SDK.Version)
	}
	assert.Nil(t, h.Trace)

	ih, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "event", ih.Type)
	assert.Equal(t, 2, ih.Length)
	assert.Equal(t, "3", ih.Filename)
	assert.Zero(t, ih.ItemCount)
	assert.Empty(t, ih.ContentType)
	p, err := r.Payload(100)
	require.NoError(t, err)
	assert.Equal(t, "{}", string(p))

	// A type that is not a string: what follows cannot be framed.
	_, err = r.Next()
	assert.ErrorIs(t, err, ErrMalformed)

	for line, want := range map[string]string{
		`{"type":"event","length":"2"}`: "bad item header",
		`{"type":"event","length":2.5}`: "bad item header",
		`{"type":""}`:                   "bad item header",
		`[]`:                            "bad item header",
	} {
		r := NewReader(bufio.NewReader(strings.NewReader("{}\n" + line + "\n{}\n")))
		_, err := r.Header()
		require.NoError(t, err)
		_, err = r.Next()
		assert.ErrorIs(t, err, ErrMalformed, line)
		assert.ErrorContains(t, err, want, line)
	}
	for _, line := range []string{`{"sent_at":1700000000}`, `{"sent_at":"2026-12-03T10:00:00Z","sent_at":0}`} {
		h, err := NewReader(bufio.NewReader(strings.NewReader(line + "\n"))).Header()
		require.NoError(t, err)
		assert.Empty(t, h.SentAt, "%s: a sent_at that is not RFC 3339 text would move the envelope's events", line)
	}
	for _, line := range []string{`[]`, `"x"`, `null`} {
		_, err := NewReader(bufio.NewReader(strings.NewReader(line + "\n"))).Header()
		assert.ErrorIs(t, err, ErrMalformed, line)
		assert.ErrorContains(t, err, "envelope header: not a JSON object", line)
	}
}
