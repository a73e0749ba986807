//go:build go1.23

package errlog_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/errlog/errlog"
)

// The route ("extra route=/orders") is the ServeMux pattern, which
// http.Request has from Go 1.23 on.
func ExampleMiddleware() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	slog.SetDefault(slog.New(h))

	mux := http.NewServeMux()
	mux.HandleFunc("/orders", func(w http.ResponseWriter, r *http.Request) {
		slog.ErrorContext(r.Context(), "order lookup failed", "order", r.URL.Query().Get("id"))
		http.Error(w, "sorry", http.StatusServiceUnavailable)
	})
	srv := httptest.NewServer(errlog.Middleware(mux))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/orders?id=7")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	_ = errlog.Flush(context.Background())
	fmt.Println("status:", resp.StatusCode)
	// Output:
	// event: error "order lookup failed"
	//   request: GET /orders
	//   extra order=7
	// event: error "HTTP 503 Service Unavailable"
	//   request: GET /orders
	//   extra method=GET
	//   extra path=/orders
	//   extra route=/orders
	//   extra status=503
	// status: 503
}
