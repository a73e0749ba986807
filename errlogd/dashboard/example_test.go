package dashboard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/dashboard"
	"github.com/errlog/errlog/errlogd/store/sqlite"
)

// An application records its own errors in a SQLite file and shows them
// at /dev/error on its own mux.
func ExampleHandler() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "errors.db"), sqlite.Options{})
	if err != nil {
		panic(err)
	}
	h := errlog.NewHandler(errlog.Options{Console: os.Stderr, Level: slog.LevelError + 1, Sinks: []errlog.EventSink{st}})
	defer h.Close(ctx) // closes the store too
	logger := slog.New(h)

	mux := http.NewServeMux()
	mux.Handle("/dev/error/", dashboard.Handler(st, dashboard.Options{
		Prefix: "/dev/error",
		// Password: os.Getenv("ADMIN_PASSWORD"), or Authorize: the app's own check.
	}))

	logger.Error("payment gateway timeout", "order", 42)
	_ = h.Flush(ctx)

	req := httptest.NewRequest("GET", "/dev/error/", nil)
	req.RemoteAddr, req.Host = "127.0.0.1:50000", "localhost:8080" // this machine: served without a password
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, strings.Contains(w.Body.String(), "payment gateway timeout"))
	// Output: 200 true
}
