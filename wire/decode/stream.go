package decode

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/errlog/errlog/wire"
)

// ErrTooLarge and ErrMalformed are the two ways a body is refused (413
// and 400); the errors of Decompress, Limit and Reader wrap one of them,
// with what was wrong.
var (
	ErrTooLarge  = errors.New("too large")
	ErrMalformed = errors.New("malformed")
)

// ErrUnsupportedEncoding is returned (wrapping ErrMalformed) for a
// Content-Encoding that neither Decompress nor its codecs decode.
var ErrUnsupportedEncoding = fmt.Errorf("%w: unsupported Content-Encoding", ErrMalformed)

type tooLarge struct{ what string }

func (e tooLarge) Error() string { return e.what }
func (e tooLarge) Unwrap() error { return ErrTooLarge }

type malformed struct{ what string }

func (e malformed) Error() string { return e.what }
func (e malformed) Unwrap() error { return ErrMalformed }

// Limit returns r failing with ErrTooLarge once more than n bytes were
// read through it: bound a decompressed body with it, so that a
// compression bomb costs CPU for n bytes and no memory.
func Limit(r io.Reader, n int64, what string) io.Reader {
	return &limited{r: r, n: n, what: what}
}

type limited struct {
	r    io.Reader
	n    int64
	read int64
	what string
}

func (l *limited) Read(p []byte) (int, error) {
	if l.read > l.n {
		return 0, tooLarge{fmt.Sprintf("%s over %d bytes", l.what, l.n)}
	}
	if int64(len(p)) > l.n-l.read+1 {
		p = p[:l.n-l.read+1]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.n {
		return n, tooLarge{fmt.Sprintf("%s over %d bytes", l.what, l.n)}
	}
	return n, err
}

// A Codec opens one compressed stream: the decompressed reader and a
// function that releases it (for pooling).
type Codec func(r *bufio.Reader) (io.Reader, func(), error)

// Decompress returns body decompressed per contentEncoding, and a
// function that releases what it holds: gzip, deflate (zlib-wrapped as
// the RFC says, or raw deflate as some clients send it) and identity with
// the standard library, plus codecs, which add encodings or replace these
// (errlogd adds br and zstd, and pools its gzip readers). A body that
// starts with the gzip magic number is gunzipped even without a
// Content-Encoding, since an envelope or event never starts with those
// bytes. Corrupt data is an error (ErrMalformed) at the first Read that
// meets it.
func Decompress(body *bufio.Reader, contentEncoding string, codecs map[string]Codec) (io.Reader, func(), error) {
	enc := strings.ToLower(strings.TrimSpace(contentEncoding))
	if enc == "utf-8" {
		// sentry.java.android/2.0.0 sends "UTF-8" (a charset, not an
		// encoding); Relay ignores it, as it ignores "".
		enc = ""
	}
	if enc == "" || enc == "identity" {
		if b, _ := body.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
			enc = "gzip"
		}
	}
	if enc == "x-gzip" {
		enc = "gzip"
	}
	nop := func() {}
	if c := codecs[enc]; c != nil {
		r, release, err := c(body)
		if err != nil {
			return nil, nop, malformed{enc + " body: " + err.Error()}
		}
		return corrupt{r, enc}, release, nil
	}
	switch enc {
	case "", "identity":
		return body, nop, nil
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, nop, malformed{"gzip body: " + err.Error()}
		}
		return corrupt{zr, enc}, func() { zr.Close() }, nil
	case "deflate":
		if b, _ := body.Peek(2); len(b) == 2 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 && b[0]&0x0f == 8 {
			zr, err := zlib.NewReader(body)
			if err != nil {
				return nil, nop, malformed{"deflate body: " + err.Error()}
			}
			return corrupt{zr, enc}, func() { zr.Close() }, nil
		}
		fr := flate.NewReader(body)
		return corrupt{fr, enc}, func() { fr.Close() }, nil
	}
	return nil, nop, fmt.Errorf("%w %q", ErrUnsupportedEncoding, contentEncoding)
}

// corrupt marks a decompressor's own errors as ErrMalformed; errors of
// the reader under it (too large, a dropped connection) pass as they are.
type corrupt struct {
	r   io.Reader
	enc string
}

func (c corrupt) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) && !isNetErr(err) {
		err = malformed{c.enc + " body: " + err.Error()}
	}
	return n, err
}

// isNetErr reports errors of the connection (a body cut off by the
// client, a read deadline), which are not the data's fault.
func isNetErr(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne)
}

// Reader reads an envelope as a stream, item by item: only the payloads
// asked for are held in memory (Payload), the others are discarded as
// they are read (Next), so that an envelope of large attachments costs
// no memory. An item with a length has exactly that many payload bytes
// (newlines included), then an optional newline; an item without one
// runs to the next newline or the end. Blank lines between items are
// skipped.
type Reader struct {
	br      *bufio.Reader
	n       int    // items read
	lines   int    // item header lines read, blank ones included
	max     int    // MaxLines: 0 for no bound
	length  *int64 // the current item's length, nil: to the newline
	pending bool   // the current item's payload is unread
	typ     string
}

// MaxHeader is the most bytes of an envelope or item header line.
const MaxHeader = 64 << 10

// NewReader returns a Reader of the (decompressed) envelope br.
func NewReader(br *bufio.Reader) *Reader { return &Reader{br: br} }

// ErrTooManyItems is Next's error past the bound SetMaxItems set.
var ErrTooManyItems = errors.New("decode: envelope has too many items")

// SetMaxItems bounds the item header lines Next reads, blank lines
// included, so that a small compressed body that expands to millions of
// blank lines or tiny items costs little: past max, Next returns
// ErrTooManyItems. 0 (the default) is no bound.
func (r *Reader) SetMaxItems(max int) { r.max = max }

// Header reads the envelope header, the first line; call it first.
func (r *Reader) Header() (*wire.Header, error) {
	line, err := readLine(r.br, MaxHeader, malformed{"envelope header over 64 KiB"})
	if errors.Is(err, io.EOF) {
		return nil, malformed{"empty envelope"}
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, malformed{"envelope has no header"}
	}
	h, err := envelopeHeader(line)
	if err != nil {
		return nil, malformed{"envelope header: " + err.Error()}
	}
	return h, nil
}

// envelopeHeader reads an envelope header as leniently as an event: a
// field of the wrong type is left out, never the envelope (an SDK drops
// what is refused, and the header is only metadata: the event carries
// its own id).
func envelopeHeader(line []byte) (*wire.Header, error) {
	h := &wire.Header{}
	var r reader // its processing errors are not kept: the header is not stored
	err := scanObject(line, func(key, val []byte) {
		switch k := string(key); k {
		case "event_id":
			r.str(k, val, &h.EventID)
		case "dsn":
			r.str(k, val, &h.DSN)
		case "sent_at":
			// RFC 3339 only: a number read as Unix seconds would move
			// every event of the envelope (0: by 56 years).
			h.SentAt = ""
			if val[0] == '"' {
				h.SentAt = unquote(val[1 : len(val)-1])
			}
		case "sdk":
			h.SDK = r.sdk(k, val)
		case "trace":
			if m, ok := r.object(k, val); ok {
				h.Trace = plainMap(m)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// itemHeader is wire.ItemHeader as read: the length may be absent.
type itemHeader struct {
	wire.ItemHeader
	Length *int64
}

// readItemHeader reads an item header. Its type and length frame the
// item, so a type that is not a string or a length that is not an
// integer make the envelope unreadable from there; the other fields are
// read as leniently as an event's.
func readItemHeader(line []byte) (itemHeader, bool) {
	var ih itemHeader
	var r reader
	badLength := false
	err := scanObject(line, func(key, val []byte) {
		switch k := string(key); k {
		case "type":
			ih.Type = ""
			if val[0] == '"' {
				ih.Type = unquote(val[1 : len(val)-1])
			}
		case "length":
			ih.Length, badLength = nil, false
			if val[0] == 'n' {
				return
			}
			n, err := strconv.ParseInt(string(val), 10, 64)
			if err != nil {
				badLength = true
				return
			}
			ih.Length = &n
		case "content_type":
			r.str(k, val, &ih.ContentType)
		case "filename":
			r.str(k, val, &ih.Filename)
		case "attachment_type":
			r.str(k, val, &ih.AttachmentType)
		case "item_count":
			if n, err := strconv.Atoi(string(val)); err == nil {
				ih.ItemCount = n
			}
		}
	})
	return ih, err == nil && !badLength && ih.Type != ""
}

// Next returns the next item's header, discarding the payload of the
// previous item if it was not read; io.EOF after the last item. The
// header's Length is -1 when the item has none.
func (r *Reader) Next() (wire.ItemHeader, error) {
	if r.pending {
		if err := r.skip(); err != nil {
			return wire.ItemHeader{}, err
		}
	}
	for {
		line, err := readLine(r.br, MaxHeader, malformed{"item header over 64 KiB"})
		if err != nil {
			return wire.ItemHeader{}, err
		}
		if r.lines++; r.max > 0 && r.lines > r.max {
			return wire.ItemHeader{}, ErrTooManyItems
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ih, ok := readItemHeader(line)
		if !ok {
			return wire.ItemHeader{}, malformed{fmt.Sprintf("item %d: bad item header %.100q", r.n, line)}
		}
		r.n++
		r.length, r.pending, r.typ = ih.Length, true, ih.Type
		h := ih.ItemHeader
		h.Length = -1
		if ih.Length != nil {
			h.Length = int(*ih.Length)
		}
		return h, nil
	}
}

// Payload reads the current item's payload, at most max bytes
// (ErrTooLarge beyond).
func (r *Reader) Payload(max int64) ([]byte, error) { return r.PayloadInto(nil, max) }

// PayloadInto is Payload, read into buf when its capacity holds an item
// of a stated length (buf's contents are overwritten; the result may be
// buf). It lets a server reuse one buffer for event after event.
func (r *Reader) PayloadInto(buf []byte, max int64) ([]byte, error) {
	if !r.pending {
		return nil, errors.New("wire: Payload without Next")
	}
	r.pending = false
	if r.length == nil {
		p, err := readLine(r.br, int(max), tooLarge{fmt.Sprintf("%s item over %d bytes", r.typ, max)})
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return p, err
	}
	l := *r.length
	if l < 0 {
		return nil, malformed{fmt.Sprintf("item %d: length %d: truncated envelope", r.n-1, l)}
	}
	if l > max {
		return nil, tooLarge{fmt.Sprintf("%s item of %d bytes is over %d", r.typ, l, max)}
	}
	if l > 1<<20 {
		// Grown as bytes arrive: a length is only a claim.
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, r.br, l); err != nil {
			return nil, r.truncated(err)
		}
		return buf.Bytes(), skipNewline(r.br)
	}
	var p []byte
	if buf != nil && int64(cap(buf)) >= l {
		p = buf[:l]
	} else {
		p = make([]byte, l) // never nil, even empty
	}
	if _, err := io.ReadFull(r.br, p); err != nil {
		return nil, r.truncated(err)
	}
	return p, skipNewline(r.br)
}

func (r *Reader) skip() error {
	r.pending = false
	if r.length == nil {
		return skipLine(r.br)
	}
	if *r.length < 0 {
		return malformed{fmt.Sprintf("item %d: truncated envelope", r.n-1)}
	}
	if _, err := io.CopyN(io.Discard, r.br, *r.length); err != nil {
		return r.truncated(err)
	}
	return skipNewline(r.br)
}

func (r *Reader) truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed{fmt.Sprintf("item %d: truncated envelope", r.n-1)}
	}
	return err
}

func skipNewline(br *bufio.Reader) error {
	b, err := br.Peek(1)
	if err == nil && b[0] == '\n' {
		_, err = br.ReadByte()
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// readLine returns the next line without its newline; a line longer than
// max is the error big and is not buffered beyond bufio's buffer.
func readLine(r *bufio.Reader, max int, big error) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(out)+len(chunk)-2 > max { // room for a CRLF
			return nil, big
		}
		out = append(out, chunk...)
		switch {
		case err == nil:
			line := bytes.TrimSuffix(bytes.TrimSuffix(out, []byte{'\n'}), []byte{'\r'})
			if len(line) > max {
				return nil, big
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(out) == 0 {
				return nil, io.EOF
			}
			if len(out) > max {
				return nil, big
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
