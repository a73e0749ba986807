package decode

import (
	"bufio"
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
