//go:build go1.26

package errlog_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

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
	other := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
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
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/missing")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	_ = eh.Flush(context.Background())
	fmt.Println("status:", resp.StatusCode)
	// Output:
	// level=ERROR msg="HTTP 404 Not Found" status=404 method=GET path=/missing
	// event: error "HTTP 404 Not Found"
	//   request: GET /missing
	//   extra method=GET
	//   extra path=/missing
	//   extra status=404
	// status: 404
}
