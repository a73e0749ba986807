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

// A request that logs its failure is one event; one that only answers a
// tracked status (5xx by default) is reported by the middleware. The route
// ("extra route=/stock/{sku}") is the ServeMux pattern, which http.Request
// has from Go 1.23 on.
func ExampleMiddleware() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	slog.SetDefault(slog.New(h))

	mux := http.NewServeMux()
	mux.HandleFunc("/orders", func(w http.ResponseWriter, r *http.Request) {
		slog.ErrorContext(r.Context(), "order lookup failed", "order", r.URL.Query().Get("id"))
		http.Error(w, "sorry", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/stock/{sku}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "sorry", http.StatusServiceUnavailable)
	})
	srv := httptest.NewServer(errlog.Middleware(mux))
	defer srv.Close()
	for _, path := range []string{"/orders?id=7", "/stock/42"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		_ = errlog.Flush(context.Background())
		fmt.Println("status:", resp.StatusCode)
	}
	// Output:
	// event: error "order lookup failed"
	//   request: GET /orders
	//   extra order=7
	// status: 503
	// event: error "HTTP 503 Service Unavailable"
	//   request: GET /stock/42
	//   extra method=GET
	//   extra path=/stock/42
	//   extra route=/stock/{sku}
	//   extra status=503
	// status: 503
}
