package ingest

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// errTooLarge and errMalformed are the two ways a body is refused: 413
// and 400.
var (
	errTooLarge  = errors.New("too large")
	errMalformed = errors.New("malformed")
)

type tooLarge struct{ what string }

func (e tooLarge) Error() string { return e.what }
func (e tooLarge) Unwrap() error { return errTooLarge }

type malformed struct{ what string }

func (e malformed) Error() string { return e.what }
func (e malformed) Unwrap() error { return errMalformed }

// limited counts what is read through it and fails past n bytes: the
// decompressed size of a body, so that a compression bomb is stopped
// after n bytes of CPU and no memory.
type limited struct {
	r    io.Reader
	n    int64
	read int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.read > l.n {
		return 0, tooLarge{fmt.Sprintf("body over %d bytes decompressed", l.n)}
	}
	if int64(len(p)) > l.n-l.read+1 {
		p = p[:l.n-l.read+1]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.n {
		return n, tooLarge{fmt.Sprintf("body over %d bytes decompressed", l.n)}
	}
	return n, err
}

var (
	gzipReaders sync.Pool // *gzip.Reader
	zstdReaders sync.Pool // *zstd.Decoder
)

// decoder returns the body decompressed per Content-Encoding, and a
// function that releases pooled state. A body that starts with the gzip
// magic is gunzipped whatever the header says, as decode.Body
// does.
func decoder(body io.Reader, encoding string) (io.Reader, func(), error) {
	br := bodyReaders.Get().(*bufio.Reader)
	br.Reset(body)
	putBR := func() {
		br.Reset(nil)
		bodyReaders.Put(br)
	}
	r, release, err := decoderOn(br, encoding)
	if err != nil {
		release()
		putBR()
		return nil, func() {}, err
	}
	return r, func() {
		release()
		putBR()
	}, nil
}

// bodyReaders and lineReaders pool the buffers each request reads
// through (4 KiB before decompression, 64 KiB after): allocated per
// request they were 68 KB of garbage per event.
var (
	bodyReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	lineReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
)

func decoderOn(br *bufio.Reader, encoding string) (io.Reader, func(), error) {
	enc := strings.ToLower(strings.TrimSpace(encoding))
	if enc == "" || enc == "identity" {
		if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
			enc = "gzip"
		}
	}
	nop := func() {}
	switch enc {
	case "", "identity":
		return br, nop, nil
	case "gzip", "x-gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(br)
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return nil, nop, malformed{"gzip body: " + err.Error()}
		}
		return zr, func() { gzipReaders.Put(zr) }, nil
	case "deflate":
		// zlib-wrapped as the RFC says, or raw deflate as some clients
		// send it.
		if b, _ := br.Peek(2); len(b) == 2 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 && b[0]&0x0f == 8 {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, nop, malformed{"deflate body: " + err.Error()}
			}
			return zr, func() { zr.Close() }, nil
		}
		fr := flate.NewReader(br)
		return fr, func() { fr.Close() }, nil
	case "br":
		return brotli.NewReader(br), nop, nil
	case "zstd":
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
			return nil, nop, malformed{"zstd body: " + err.Error()}
		}
		return zr, func() { _ = zr.Reset(nil); zstdReaders.Put(zr) }, nil
	}
	return nil, nop, malformed{fmt.Sprintf("unsupported Content-Encoding %q", encoding)}
}

// readLine returns the next line without its newline; a line longer than
// max is an error (errTooLarge when tooLarge, else malformed) and is not
// buffered beyond bufio's buffer.
func readLine(r *bufio.Reader, max int, big error) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(out)+len(chunk) > max+1 {
			return nil, big
		}
		out = append(out, chunk...)
		switch {
		case err == nil:
			return bytes.TrimSuffix(bytes.TrimSuffix(out, []byte{'\n'}), []byte{'\r'}), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(out) == 0 {
				return nil, io.EOF
			}
			return out, nil
		default:
			return nil, err
		}
	}
}

// skipLine discards up to the next newline.
func skipLine(r *bufio.Reader) error {
	for {
		_, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
}

// wanted are the top-level fields that grouping and the group list
// need, decoded by event's lenient decoder; exception, stacktrace and
// threads are read by stack.go; everything else stays in the stored
// bytes, never decoded.
var wanted = map[string]bool{
	"event_id": true, "timestamp": true, "level": true, "logger": true, "platform": true,
	"message": true, "logentry": true, "environment": true, "release": true, "fingerprint": true, "user": true,
	"transaction": true, // a fingerprint's {{ transaction }}
}

// parseEvent validates the whole event, then decodes only what grouping,
// the title, the culprit and the group list read. A message event's
// stack, which SDKs put in threads, becomes its Stacktrace.
func parseEvent(b []byte) (*event.Event, error) {
	var buf bytes.Buffer
	buf.Grow(512)
	buf.WriteByte('{')
	var exc, threads, contexts, grouping []byte
	var stacks [][]byte // each, in order: a repeated key is decoded over the first
	err := scanObject(b, func(key, val []byte) {
		switch string(key) {
		case "exception":
			exc = val
			return
		case "stacktrace":
			stacks = append(stacks, val)
			return
		case "threads":
			threads = val
			return
		case "contexts":
			// Of the contexts, the group key errlog sends and the trace.
			contexts = val
			grouping = groupingContext(val)
			return
		}
		if !wanted[string(key)] || string(val) == "null" {
			return
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.Write(key)
		buf.WriteString(`":`)
		buf.Write(val)
	})
	if err != nil {
		return nil, malformed{"event: " + err.Error()}
	}
	if grouping != nil {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.WriteString(`"contexts":{"` + event.GroupingContext + `":`)
		buf.Write(grouping)
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
	ev, err := decode.Event(buf.Bytes())
	if err != nil {
		return nil, malformed{err.Error()}
	}
	if ev.Exception, err = exceptions(exc); err != nil {
		return nil, malformed{"event: " + err.Error()}
	}
	for _, raw := range stacks {
		if ev.Stacktrace, err = stacktrace(raw, ev.Stacktrace); err != nil {
			return nil, malformed{"event: " + err.Error()}
		}
	}
	if ev.Stacktrace == nil && len(ev.Frames()) == 0 && len(threads) > 0 {
		ev.Stacktrace = threadStack(threads)
	}
	if tc := traceContext(contexts); tc != nil {
		if ev.Contexts == nil {
			ev.Contexts = tc
		} else {
			ev.Contexts["trace"] = tc["trace"]
		}
	}
	return ev, nil
}

// traceContext returns contexts.trace's trace_id as the only context the
// store reads (the event's trace, store.TraceID); nil when there is none.
// The rest of contexts stays in the stored bytes. A contexts of another
// shape is no trace, not a malformed event.
func traceContext(raw []byte) map[string]map[string]any {
	if len(raw) == 0 {
		return nil
	}
	var c struct {
		Trace struct {
			TraceID string `json:"trace_id"`
		} `json:"trace"`
	}
	if json.Unmarshal(raw, &c) != nil || c.Trace.TraceID == "" {
		return nil
	}
	return map[string]map[string]any{"trace": {"trace_id": c.Trace.TraceID}}
}

// groupingContext returns the member event.GroupingContext of a contexts
// object, when it is an object: the key an errlog client computed.
func groupingContext(contexts []byte) []byte {
	var out []byte
	if len(contexts) == 0 || contexts[0] != '{' {
		return nil
	}
	_ = scanObject(contexts, func(key, val []byte) {
		if string(key) == event.GroupingContext && len(val) > 0 && val[0] == '{' {
			out = val
		}
	})
	return out
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
