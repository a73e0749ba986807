package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrTooLarge is returned by Body for a body over its limit, before
// or after decompression.
var ErrTooLarge = errors.New("wire: body too large")

// ErrUnsupportedEncoding is returned by Body for a Content-Encoding it
// cannot decode (br, zstd).
var ErrUnsupportedEncoding = errors.New("wire: unsupported Content-Encoding")

// Body reads a request body of the given Content-Encoding and returns
// it decompressed: gzip, deflate (zlib, or raw deflate as some clients
// send it) or identity. A body that starts with the gzip magic number is
// gunzipped even without a Content-Encoding header, since an envelope or
// event never starts with those bytes. limit bounds the body both before
// and after decompression, so that a small compressed body cannot expand
// without bound.
func Body(r io.Reader, contentEncoding string, limit int64) ([]byte, error) {
	raw, err := readAtMost(r, limit)
	if err != nil {
		return nil, err
	}
	enc := strings.ToLower(strings.TrimSpace(contentEncoding))
	if (enc == "" || enc == "identity") && len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		enc = "gzip"
	}
	switch enc {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("wire: gzip body: %w", err)
		}
		return decompressed(zr, limit, "gzip")
	case "deflate":
		if zr, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
			return decompressed(zr, limit, "deflate")
		}
		return decompressed(flate.NewReader(bytes.NewReader(raw)), limit, "deflate")
	}
	return nil, fmt.Errorf("%w %q", ErrUnsupportedEncoding, contentEncoding)
}

func decompressed(r io.ReadCloser, limit int64, name string) ([]byte, error) {
	defer r.Close()
	b, err := readAtMost(r, limit)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		err = fmt.Errorf("wire: %s body: %w", name, err)
	}
	return b, err
}

func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		return io.ReadAll(r)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (over %d bytes)", ErrTooLarge, limit)
	}
	return b, nil
}
