package wire

import (
	"bytes"
	"compress/gzip"
	"sync"
)

// gzipWriters are reused: a gzip.Writer allocates hundreds of kilobytes of
// compressor state.
var gzipWriters sync.Pool // *gzip.Writer

// Gzip returns src gzip-compressed, at the fastest level: events are small
// and repetitive, and the compressing goroutine has other events to send.
func Gzip(src []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(src)/3 + 64)
	zw, _ := gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	} else {
		zw.Reset(&buf)
	}
	zw.Write(src) // writes to a bytes.Buffer cannot fail
	zw.Close()
	gzipWriters.Put(zw)
	return buf.Bytes()
}
