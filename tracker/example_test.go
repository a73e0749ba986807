package tracker_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/tracker"
)

// fakeSentry stands in for errlogd or Sentry: it prints the first event of
// each envelope it receives, as a tracker would read it.
func fakeSentry() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Small envelopes come as they are, large ones gzipped.
		var zr io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			var err error
			if zr, err = gzip.NewReader(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		// An envelope: a header line, then each item's header line and
		// payload.
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 1<<20)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		var ev struct {
			Level     string `json:"level"`
			Logentry  struct{ Message, Formatted string }
			Exception struct {
				Values []struct{ Type, Value string }
			}
			Extra map[string]any
		}
		if len(lines) < 3 || json.Unmarshal([]byte(lines[2]), &ev) != nil {
			http.Error(w, "bad envelope", http.StatusBadRequest)
			return
		}
		fmt.Printf("%s %s: %s %s\n", r.Method, r.URL.Path, ev.Level, ev.Logentry.Message+ev.Logentry.Formatted)
		for _, ex := range ev.Exception.Values {
			fmt.Printf("  %s: %s\n", ex.Type, ex.Value)
		}
		if len(ev.Extra) > 0 {
			fmt.Printf("  extra: %v\n", ev.Extra)
		}
		io.WriteString(w, `{}`)
	}))
}

// dsnOf returns a DSN for a local test server: key "public", project 1.
func dsnOf(srv *httptest.Server) string {
	return strings.Replace(srv.URL, "http://", "http://public@", 1) + "/1"
}

// Every slog.Error goes to the tracker, with the error chain and the
// record's attributes.
func ExampleOptions() {
	srv := fakeSentry()
	defer srv.Close()

	h := errlog.NewHandler(errlog.Options{
		Console: io.Discard,
		Tracker: &tracker.Options{DSN: dsnOf(srv)}, // usually from ERRLOG_DSN
	})
	logger := slog.New(h)

	_, err := os.Open("/no/such/config.toml")
	err = fmt.Errorf("loading config: %w", err)
	logger.Error("startup failed", "err", err, "attempt", 3)

	h.Close(context.Background()) // or errlog.Flush before exiting
	// Output:
	// POST /api/1/envelope/: error startup failed
	//   syscall.Errno: no such file or directory
	//   *fs.PathError: open /no/such/config.toml: no such file or directory
	//   *fmt.wrapError: loading config: open /no/such/config.toml: no such file or directory
	//   extra: map[attempt:3 err:loading config: open /no/such/config.toml: no such file or directory]
}

// A program can send an event it built itself, as Flask-Exceptional's
// publish() does; what the event lacks (id, timestamp, sdk) is filled in.
func ExampleTracker_Send() {
	srv := fakeSentry()
	defer srv.Close()

	tr, err := tracker.New(tracker.Options{DSN: dsnOf(srv)})
	if err != nil {
		fmt.Println(err)
		return
	}
	id := tr.Send(&event.Event{
		Level:    event.LevelWarning,
		Logentry: &event.Logentry{Formatted: "nightly import skipped 3 rows"},
	})
	tr.Close(context.Background())
	fmt.Println(len(id), "hex digits of event id")
	// Output:
	// POST /api/1/envelope/: warning nightly import skipped 3 rows
	// 32 hex digits of event id
}

// Test sends one event synchronously and says what failed, if anything:
// for a deployment check, or once after configuring a DSN.
func ExampleTest() {
	srv := fakeSentry()
	defer srv.Close()
	err := tracker.Test(context.Background(), tracker.Options{DSN: dsnOf(srv)})
	fmt.Println("working tracker:", err)

	wrongKey := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Sentry-Error", "invalid api key")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer wrongKey.Close()
	err = tracker.Test(context.Background(), tracker.Options{DSN: dsnOf(wrongKey)})
	fmt.Println("wrong key:", strings.ReplaceAll(err.Error(), wrongKey.URL, "http://tracker"))
	// Output:
	// POST /api/1/envelope/: error errlog test event: this application's errors reach this tracker
	//   errlog.TestEvent: a test event sent by tracker.Test
	// working tracker: <nil>
	// wrong key: errlog: tracker: test: authentication failed (check the DSN's key): http://tracker/api/1/envelope/ answered 401 Unauthorized: invalid api key
}
