//go:build go1.26

package errlog_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/errlog/errlog"
)

// errlog composed with another handler: slog.NewMultiHandler (Go 1.26)
// hides which of its handlers is errlog's, so MiddlewareWith names it.
// The 404 is tracked, as errlog's Options say, and both handlers see the
// report.
func ExampleMiddlewareWith() {
	eh := errlog.NewHandler(errlog.Options{
		Console:       io.Discard,
		Sinks:         []errlog.EventSink{printSink{}},
		TrackedStatus: []errlog.StatusRange{{From: 404, To: 404}},
	})
	defer eh.Close(context.Background())
	// The other handler's lines are printed after the events, which a
	// sink prints from errlog's own goroutine.
	var lines bytes.Buffer
	other := slog.NewTextHandler(&lines, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	prev := slog.Default()
	defer slog.SetDefault(prev)
	slog.SetDefault(slog.New(slog.NewMultiHandler(eh, other)))

	app := http.NotFoundHandler()
	srv := httptest.NewServer(errlog.MiddlewareWith(errlog.MiddlewareOptions{Handler: eh})(app))
	resp, err := http.Get(srv.URL + "/missing")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	srv.Close() // waits for the handler, and so for its log line
	_ = eh.Flush(context.Background())
	fmt.Print(lines.String())
	fmt.Println("status:", resp.StatusCode)
	// Output:
	// event: error "HTTP 404 Not Found"
	//   request: GET /missing
	//   extra method=GET
	//   extra path=/missing
	//   extra status=404
	// level=ERROR msg="HTTP 404 Not Found" status=404 method=GET path=/missing
	// status: 404
}
