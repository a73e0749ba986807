package decode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Body reads a whole request body of the given Content-Encoding and
// returns it decompressed (see Decompress), for tests and small tools;
// errlogd reads bodies as streams (Decompress, Limit, Reader). limit
// bounds the body both before and after decompression (ErrTooLarge), so
// that a small compressed body cannot expand without bound.
func Body(r io.Reader, contentEncoding string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = 1<<63 - 1
	}
	dec, release, err := Decompress(bufio.NewReader(Limit(r, limit, "body")), contentEncoding, nil)
	if err != nil {
		return nil, err
	}
	defer release()
	b, err := io.ReadAll(Limit(dec, limit, "body decompressed"))
	if err != nil {
		if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
			err = fmt.Errorf("wire: body: %w", err)
		}
		return nil, err
	}
	return b, nil
}

// NullNonFinite returns b with the bare NaN, Infinity and -Infinity that
// Python's json module writes for non-finite floats (raven-python sends
// them) replaced by null outside strings, and whether it replaced any; b
// itself when there are none. Outside a string, such a token is never
// valid JSON. (Relay reads them as 0, padded to the same length; null
// does not pass for a measurement.)
func NullNonFinite(b []byte) ([]byte, bool) {
	var out []byte // nil until the first replacement
	last := 0      // b[:last] is in out
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		n := 0
		switch {
		case c == '"':
			inString = true
		case c == 'N' && bytes.HasPrefix(b[i:], nan):
			n = len(nan)
		case c == 'I' && bytes.HasPrefix(b[i:], inf):
			n = len(inf)
		case c == '-' && bytes.HasPrefix(b[i+1:], inf):
			n = 1 + len(inf)
		}
		if n > 0 {
			out = append(append(out, b[last:i]...), "null"...)
			i += n - 1
			last = i + 1
		}
	}
	if out == nil {
		return b, false
	}
	return append(out, b[last:]...), true
}

var nan, inf = []byte("NaN"), []byte("Infinity")
