// Quickstart is a small web application whose routes fail in the ways
// errlog reports: a logged error, a panic, a failing form with a password
// in it, a tracked 5xx status, a captured error with scope extras, a
// panicking goroutine. It shows its own errors at
// http://localhost:8080/dev/error, kept in a SQLite file, with no server
// to run.
//
//	go run ./examples/quickstart
//
// errlog is configured from the environment (errlog.FromEnv), with the
// defaults of defaults.env for every variable left unset: a coloured
// console, warnings and errors in ./quickstart.log, every error mailed
// as an .eml file in ./quickstart-mail/ (set ERRLOG_SMTP_ADDR to send real mail, and
// ERRLOG_DSN to reach errlogd or any Sentry-compatible tracker), and every
// error stored in ./quickstart.db for the dashboard. The dashboard answers
// only this machine unless ERRLOG_DASHBOARD_PASSWORD is set.
package main

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/dashboard"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
)

//go:embed defaults.env
var defaults string

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	db := flag.String("db", "quickstart.db", "SQLite file that keeps the errors the dashboard shows")
	flag.Parse()
	applyDefaults(defaults)

	// The store records every error (an errlog.EventSink) and the
	// dashboard at /dev/error shows them.
	st, err := sqlite.Open(context.Background(), *db, sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts := errlog.FromEnv()
	opts.Sinks = append(opts.Sinks, st)
	h := errlog.NewHandler(opts)
	slog.SetDefault(slog.New(h))
	defer h.Close(context.Background()) // delivers what is queued, then closes the store

	srv := &http.Server{Addr: *addr, Handler: errlog.Middleware(newMux(st)), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	slog.Info("quickstart listening", "url", "http://"+*addr, "errors", "http://"+*addr+"/dev/error/")
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		// Not slog.Error and os.Exit: os.Exit skips the deferred Close, and
		// the error would never leave the queue.
		errlog.Fatal(context.Background(), "quickstart stopped", "err", err)
	}
}

// applyDefaults sets each VAR=value line of env that the environment
// leaves unset; but not the mail folder when ERRLOG_SMTP_ADDR is set, to
// send real mail (a folder would take the mail instead).
func applyDefaults(env string) {
	sc := bufio.NewScanner(strings.NewReader(env))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if _, smtp := os.LookupEnv("ERRLOG_SMTP_ADDR"); smtp && k == "ERRLOG_MAIL_DIR" {
			continue
		}
		if _, set := os.LookupEnv(k); ok && !set {
			os.Setenv(k, v)
		}
	}
}

var index = template.Must(template.New("index").Parse(`<!doctype html>
<title>errlog quickstart</title>
<h1>errlog quickstart</h1>
<p>Each link fails in its own way. Watch the console, ./quickstart.log, ./quickstart-mail/ and <a href="/dev/error/">the dashboard at /dev/error</a>.</p>
<ul>
<li><a href="/error">/error</a>: an error logged with slog.ErrorContext</li>
<li><a href="/panic">/panic</a>: a panic in a handler (answered 500, reported with its stack)</li>
<li><form method="post" action="/login"><input name="username" value="ann"><input name="password" type="password" value="hunter2"><button>/login</button></form>: a failed login whose password is masked</li>
<li><a href="/status/503">/status/503</a>: a tracked 5xx response</li>
<li><a href="/capture?order=42">/capture</a>: errlog.CaptureError with scope extras</li>
<li><a href="/goroutine">/goroutine</a>: a panicking background goroutine</li>
</ul>`))

func newMux(st store.Store) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/dev/error/", dashboard.Handler(st, dashboard.Options{
		Prefix:   "/dev/error",
		Password: os.Getenv("ERRLOG_DASHBOARD_PASSWORD"), // empty: this machine only
		Title:    "quickstart errors",
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_ = index.Execute(w, nil)
	})
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) {
		err := fmt.Errorf("load profile: %w", errors.New("connection refused"))
		slog.ErrorContext(r.Context(), "profile unavailable", "err", err, "user_id", 7)
		http.Error(w, "profile unavailable", http.StatusBadGateway)
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		var sessions map[string]int
		//lint:ignore SA5000 the quickstart's /panic panics on purpose
		sessions[r.URL.Query().Get("id")]++ // assignment to entry in nil map
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST a form", http.StatusMethodNotAllowed)
			return
		}
		slog.ErrorContext(r.Context(), "login failed", "username", r.PostFormValue("username"), "password", r.PostFormValue("password"))
		http.Error(w, "login failed", http.StatusUnauthorized)
	})
	mux.HandleFunc("/status/503", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/capture", func(w http.ResponseWriter, r *http.Request) {
		errlog.ScopeFrom(r.Context()).SetExtra("order", r.URL.Query().Get("order"))
		errlog.CaptureError(r.Context(), errlog.WithStack(errors.New("payment gateway timeout")), "gateway", "acme-pay")
		fmt.Fprintln(w, "captured")
	})
	mux.HandleFunc("/goroutine", func(w http.ResponseWriter, r *http.Request) {
		errlog.Go(context.WithoutCancel(r.Context()), func(ctx context.Context) {
			var job *struct{ Name string }
			slog.InfoContext(ctx, "background job", "name", job.Name) // nil dereference
		})
		fmt.Fprintln(w, "started a goroutine that panics")
	})
	return mux
}
