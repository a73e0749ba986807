package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// stall opens a connection, sends the request's head and the first n
// bytes of body, and keeps the connection open; the answer's status, if
// one comes, is sent on the channel.
func stall(t *testing.T, s *server, hdr map[string]string, body []byte, n int) (net.Conn, <-chan int) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.srv.URL, "http://"))
	require.NoError(t, err)
	var head strings.Builder
	fmt.Fprintf(&head, "POST /dev/error/api/%d/envelope/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n", s.p.ID, len(body))
	for k, v := range hdr {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	head.WriteString("\r\n")
	_, err = c.Write(append([]byte(head.String()), body[:n]...))
	require.NoError(t, err)
	status := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			close(status)
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	return c, status
}

// stalledBrotli is the start of a brotli stream, written bit by bit as
// RFC 7932 says: a 4 MiB window (WBITS 22), then an uncompressed
// meta-block of 4 MiB, for which a decoder allocates the whole window
// from its first bytes; the meta-block begins an envelope whose event
// never ends.
func stalledBrotli() []byte {
	const mlen = 4 << 20
	var bits uint64
	n := 0
	put := func(v uint64, width int) { bits |= v << n; n += width }
	put(1, 1)       // WBITS: not 16
	put(22-17, 3)   // WBITS 22
	put(0, 1)       // ISLAST 0
	put(2, 2)       // MNIBBLES 6
	put(mlen-1, 24) // MLEN-1
	put(1, 1)       // ISUNCOMPRESSED
	b := []byte{byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24)}
	b = append(b, "{}\n{\"type\":\"event\"}\n{\"message\":\""...)
	return append(b, bytes.Repeat([]byte("x"), mlen-len(b)+4)...)
}

// TestStalledBodiesBoundMemory: many requests whose brotli bodies stall
// after their first bytes hold no more than the memory budget (each
// brotli decoder would hold its 4 MiB window), those that find no room
// are refused with 429 and Retry-After, and a normal event meanwhile is
// stored at once.
func TestStalledBodiesBoundMemory(t *testing.T) {
	const stalled = 30
	const budget = 48 << 20
	s := newServer(t, ingest.Options{MaxMemory: budget, MemoryWait: 200 * time.Millisecond, BodyTimeout: time.Minute})

	body := stalledBrotli()
	hdr := s.auth()
	hdr["Content-Encoding"] = "br"

	before := heapAlloc()
	var statuses []<-chan int
	for range stalled {
		c, st := stall(t, s, hdr, body, 2000)
		defer c.Close()
		statuses = append(statuses, st)
	}
	// Those past the budget are answered; the others stay stalled.
	for deadline := time.Now().Add(10 * time.Second); s.h.Stats().Busy < stalled-3 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	grown := int64(heapAlloc()) - int64(before)
	refused := s.h.Stats().Busy
	t.Logf("%d stalled brotli bodies: %d refused, heap grew %d KiB, %d KiB reserved", stalled, refused, grown>>10, s.h.Stats().Memory>>10)
	assert.Less(t, grown, int64(budget), "the heap holds no more than the budget")
	assert.LessOrEqual(t, s.h.Stats().Memory, int64(budget))
	assert.GreaterOrEqual(t, refused, int64(stalled-3), "a third of 48 MiB holds 3 windows of 4 MiB")
	for _, st := range statuses[:5] {
		select {
		case code := <-st:
			assert.Equal(t, http.StatusTooManyRequests, code)
		case <-time.After(100 * time.Millisecond): // one of the 3 stalled
		}
	}

	// A normal event is stored meanwhile.
	resp := post(t, s.url("envelope"), compress(t, "gzip", envelope(`{}`, eventItem(eventJSON(event.NewID(), "still served")))),
		map[string]string{"X-Sentry-Auth": hdr["X-Sentry-Auth"], "Content-Encoding": "gzip"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(1), s.events(t))
}

// TestGzipBodiesBoundMemory: small gzip bodies that expand to 1 MB
// events are admitted as the budget allows, all the same: none is lost
// for good, the heap stays under the budget and those refused are told to
// retry.
func TestGzipBodiesBoundMemory(t *testing.T) {
	const budget = 16 << 20
	s := newServer(t, ingest.Options{MaxMemory: budget, MemoryWait: 50 * time.Millisecond})
	big := eventJSON(event.NewID(), strings.Repeat("x", 900<<10))
	body := compress(t, "gzip", envelope(`{}`, eventItem(big)))
	require.Less(t, len(body), 10<<10)
	hdr := s.auth()
	hdr["Content-Encoding"] = "gzip"
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 40 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, s.url("envelope"), bytes.NewReader(body))
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			}
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("answers: %v", codes)
	assert.Equal(t, 40, codes[http.StatusOK]+codes[http.StatusTooManyRequests])
	assert.Positive(t, codes[http.StatusOK])
	assert.Zero(t, s.h.Stats().Memory, "every reservation was given back")
}

// TestBodyDeadline: a body trickled a byte at a time is cut off when its
// time is up, however steadily the bytes come.
func TestBodyDeadline(t *testing.T) {
	s := newServer(t, ingest.Options{BodyTimeout: 300 * time.Millisecond})
	body := envelope(`{}`, eventItem(eventJSON(event.NewID(), strings.Repeat("slow", 1000))))
	c, status := stall(t, s, s.auth(), body, 10)
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 10; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := c.Write(body[i : i+1]); err != nil {
				return
			}
		}
	}()
	select {
	case code := <-status:
		assert.Equal(t, http.StatusRequestTimeout, code)
	case <-time.After(20 * time.Second):
		t.Fatal("no answer while the body trickled")
	}
	assert.Equal(t, int64(1), s.h.Stats().TimedOut)
	assert.Zero(t, s.events(t))
}

var updateBombs = flag.Bool("update-bombs", false, "rewrite testdata/*.br, the compression bombs")

// bomb is a brotli body of a few hundred bytes: an envelope header, then
// n bytes of repeat. Compressing 100 MiB takes a minute under -race, so
// the bombs are kept in testdata (a few hundred bytes each); -update-bombs
// makes them again.
func bomb(t *testing.T, name, header, repeat string, n int) []byte {
	t.Helper()
	path := filepath.Join("testdata", name+".br")
	if !*updateBombs {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return b
	}
	var buf bytes.Buffer
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: 9, LGWin: 24})
	io.WriteString(w, header+"\n")
	chunk := []byte(strings.Repeat(repeat, (1<<20)/len(repeat)))
	for written := 0; written < n; written += len(chunk) {
		w.Write(chunk)
	}
	require.NoError(t, w.Close())
	require.NoError(t, os.MkdirAll("testdata", 0o755))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return buf.Bytes()
}

// TestCheapBodiesBounded: a brotli body of a few KB that expands to 100
// MiB of blank lines, or of tiny items errlogd skips, is refused after a
// thousand of them, having decompressed kilobytes, not 100 MiB.
func TestCheapBodiesBounded(t *testing.T) {
	s := newServer(t, ingest.Options{})
	hdr := s.auth()
	hdr["Content-Encoding"] = "br"
	var total int64
	for _, c := range []struct{ name, file, repeat string }{
		{"blank lines", "blank-lines", "\n"},
		{"skipped items", "skipped-items", "{\"type\":\"client_report\"}\n{}\n"},
		{"skipped items with a length", "skipped-items-length", "{\"type\":\"x\",\"length\":0}\n\n"},
	} {
		b := bomb(t, c.file, "{}", c.repeat, 100<<20)
		resp := post(t, s.url("envelope"), b, hdr)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, c.name)
		got := s.h.Stats().Decompressed - total
		total += got
		t.Logf("%s: %d bytes of brotli, %d bytes decompressed before the refusal", c.name, len(b), got)
		assert.Less(t, got, int64(1<<20), "%s: bytes decompressed", c.name)
	}
}

// TestClientGoneStopsWork: once the client has gone (its request's
// context is done), the body is no longer decompressed.
func TestClientGoneStopsWork(t *testing.T) {
	s := newServer(t, ingest.Options{})
	b := bomb(t, "attachment", "{}\n{\"type\":\"attachment\",\"length\":104000000}", "\x00", 99<<20)
	cctx, cancel := context.WithCancel(ctx)
	req := httptest.NewRequestWithContext(cctx, http.MethodPost, s.url("envelope"), bytes.NewReader(b))
	for k, v := range s.auth() {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Encoding", "br")
	cancel()
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	assert.Less(t, s.h.Stats().Decompressed, int64(1<<20), "bytes decompressed after the client left")
	assert.NotEqual(t, http.StatusOK, rec.Code)
}

// TestBudget: a reservation waits for memory given back, gives up when its
// context ends, and one larger than the budget fails at once.
func TestBudget(t *testing.T) {
	b := ingest.NewBudget(100)
	require.NoError(t, b.Acquire(ctx, 60))
	require.Error(t, b.Acquire(ctx, 101), "more than the whole budget")
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	assert.Error(t, b.Acquire(short, 50), "no room within the wait")
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 50) }()
	b.Release(30)
	require.NoError(t, <-got, "room once memory is given back")
	assert.Equal(t, int64(80), b.Used())
	b.Release(80)
	assert.Zero(t, b.Used())
}
