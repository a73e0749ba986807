package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The yardstick is errlogd bench's measure of the physical limit: a
// server that does only what no Sentry server can skip (read each
// envelope, gunzip it, answer), in a process of its own, loaded by the
// same generator with the same envelopes as the server under test. errlogd
// bench reports the server's rate and CPU per event as ratios to it, so
// that the figures carry the machine's state of the moment with them.

// runYardstick serves the yardstick on -addr and prints its address.
func runYardstick(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	addr := "127.0.0.1:0"
	if len(args) == 2 && args[0] == "-addr" {
		addr = args[1]
	} else if len(args) != 0 {
		fmt.Fprintln(stderr, "usage: errlogd yardstick [-addr host:port]")
		return 2
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, ln.Addr().String())
	srv := &http.Server{Handler: yardstick(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// yardstick is the handler: every POST body is read and gunzipped (when
// sent gzip-encoded) to its end, with the gzip reader errlogd uses, then
// answered as errlogd answers.
func yardstick() http.Handler {
	var zr sync.Pool
	buf := sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		b := buf.Get().(*[]byte)
		defer buf.Put(b)
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			z, _ := zr.Get().(*gzip.Reader)
			var err error
			if z == nil {
				z, err = gzip.NewReader(r.Body)
			} else {
				err = z.Reset(r.Body)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			defer zr.Put(z)
			body = z
		}
		if _, err := io.CopyBuffer(io.Discard, body, *b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"00000000000000000000000000000000"}`)
	})
}

// startYardstick runs errlogd yardstick as a child process and returns
// its DSN and process; stop kills it.
func startYardstick(ctx context.Context) (dsn string, pid int, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "yardstick")
	cmd.Stderr = os.Stderr
	dieWithParent(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("errlogd bench: the yardstick did not start: %w", err)
	}
	return "http://yardstick@" + strings.TrimSpace(line) + "/1", cmd.Process.Pid, stop, nil
}

// loadAvg is the 1-minute load average (Linux), "" elsewhere.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
