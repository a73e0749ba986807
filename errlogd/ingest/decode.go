package ingest

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/errlog/errlog/wire/decode"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipReaders sync.Pool // *gzip.Reader
	zstdReaders sync.Pool // *zstd.Decoder
)

// codecs are the Content-Encodings ingest decodes beyond decode's (gzip,
// deflate, identity): brotli and zstd, and a pooled, faster gzip.
var codecs = map[string]decode.Codec{
	"gzip": func(br *bufio.Reader) (io.Reader, func(), error) {
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(br)
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { gzipReaders.Put(zr) }, nil
	},
	"br": func(br *bufio.Reader) (io.Reader, func(), error) {
		return brotli.NewReader(br), func() {}, nil
	},
	"zstd": func(br *bufio.Reader) (io.Reader, func(), error) {
		zr, _ := zstdReaders.Get().(*zstd.Decoder)
		var err error
		if zr == nil {
			// A small window bound: a frame asking for more is refused
			// instead of allocating it.
			zr, err = zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderMaxMemory(64<<20))
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { _ = zr.Reset(nil); zstdReaders.Put(zr) }, nil
	},
}

// bodyReaders and lineReaders pool the buffers each request reads
// through (4 KiB before decompression, 64 KiB after): allocated per
// request they were 68 KB of garbage per event.
var (
	bodyReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	lineReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
)

// payloads pools the buffers an envelope's event is read into
// (decode.Reader.PayloadInto): nothing stored keeps the event's JSON (a
// store.Incoming holds its compressed copy), so the buffer is free again
// once the event is submitted. Allocated per event, a 50 KB event's was
// the largest garbage of its request. Buffers over maxPooledPayload are
// left to the garbage collector.
var payloads = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledPayload = 1 << 20

// payloadBuf returns a pooled buffer for an event's JSON.
func payloadBuf() *[]byte { return payloads.Get().(*[]byte) }

// releasePayload returns b, which now holds p, to the pool.
func releasePayload(b *[]byte, p []byte) {
	if cap(p) > maxPooledPayload {
		return
	}
	*b = p[:0]
	payloads.Put(b)
}

// openBody returns the request body decompressed per Content-Encoding
// and bounded to max bytes decompressed, buffered for the envelope
// reader, and a function that releases the pooled state.
//
// meter sees the decompressed bytes first (ingest's memory budget and the
// client's disconnect, limit.go).
func openBody(body io.Reader, encoding string, max int64, meter func(io.Reader) io.Reader) (*bufio.Reader, func(), error) {
	br := bodyReaders.Get().(*bufio.Reader)
	br.Reset(body)
	dec, release, err := decode.Decompress(br, encoding, codecs)
	if err != nil {
		br.Reset(nil)
		bodyReaders.Put(br)
		return nil, func() {}, err
	}
	lr := lineReaders.Get().(*bufio.Reader)
	lr.Reset(decode.Limit(meter(dec), max, "body decompressed"))
	return lr, func() {
		lr.Reset(nil)
		lineReaders.Put(lr)
		release()
		br.Reset(nil)
		bodyReaders.Put(br)
	}, nil
}

// legacyBody decodes what very old SDKs post to store/: base64 of a
// zlib-compressed event.
func legacyBody(b []byte) []byte {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] == '{' {
		return b
	}
	dec, err := base64.StdEncoding.DecodeString(string(t))
	if err != nil {
		return b
	}
	zr, err := zlib.NewReader(bytes.NewReader(dec))
	if err != nil {
		return dec
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, 1<<20+1))
	if err != nil {
		return b
	}
	return out
}
