package errlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/logfile"
)

// printSink prints the events it receives, the way a tracker would see
// them.
type printSink struct{}

func (printSink) Deliver(ev *event.Event) {
	fmt.Printf("event: %s %q\n", ev.Level, ev.Message())
	if n := len(ev.Exception); n > 0 {
		fmt.Printf("  exception: %s: %s\n", ev.Exception[n-1].Type, ev.Exception[n-1].Value)
	}
	if ev.Request != nil {
		u, _ := url.Parse(ev.Request.URL) // the path only: the port changes
		fmt.Printf("  request: %s %s\n", ev.Request.Method, u.Path)
	}
	keys := make([]string, 0, len(ev.Extra))
	for k := range ev.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  extra %s=%v\n", k, ev.Extra[k])
	}
}
func (printSink) Flush(context.Context) error { return nil }
func (printSink) Close(context.Context) error { return nil }

func ExampleNew() {
	logger := errlog.New(errlog.Options{
		Console: io.Discard, // the console's lines carry the time: left out here
		File: &logfile.Options{
			Writer: os.Stdout,
			Level:  slog.LevelInfo,
			Format: "%(levelname)-8s %(message)s",
		},
	})
	logger.Info("listening", "port", 8080)
	logger.Warn("login failed", "user", "ann", "password", "hunter2")
	// Output:
	// INFO     listening port=8080
	// WARNING  login failed user=ann password=**************
}

func ExampleNewHandler() {
	h := errlog.NewHandler(errlog.Options{
		Console: io.Discard,
		Sinks:   []errlog.EventSink{printSink{}},
	})
	defer h.Close(context.Background())
	logger := slog.New(h)
	logger.Info("not an event")
	logger.Error("payment failed", "order", 1234, "err", errors.New("card declined"))
	_ = h.Flush(context.Background())
	// Output:
	// event: error "payment failed"
	//   exception: *errors.errorString: card declined
	//   extra err=card declined
	//   extra order=1234
}

func ExampleWithScope() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	ctx, scope := errlog.WithScope(context.Background())
	scope.SetExtra("cart_items", 3)
	scope.SetExtra("card_secret", "4242")
	slog.New(h).ErrorContext(ctx, "checkout failed")
	_ = h.Flush(context.Background())
	// Output:
	// event: error "checkout failed"
	//   extra card_secret=**************
	//   extra cart_items=3
}

func ExampleCaptureError() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	slog.SetDefault(slog.New(h))
	err := errlog.WithStack(errors.New("disk quota exceeded"))
	errlog.CaptureError(context.Background(), err, "user", "ann")
	errlog.CaptureMessage(context.Background(), "nightly job skipped")
	_ = errlog.Flush(context.Background())
	// Output:
	// event: error "disk quota exceeded"
	//   exception: *errors.errorString: disk quota exceeded
	//   extra error=disk quota exceeded
	//   extra user=ann
	// event: error "nightly job skipped"
}

func ExampleRecover() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	slog.SetDefault(slog.New(h))
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer errlog.RecoverSilently(context.Background())
		var cache map[string]int
		//lint:ignore SA5000 the example shows a panic being reported
		cache["x"]++
	}()
	<-done
	_ = errlog.Flush(context.Background())
	// Output:
	// event: error "panic: assignment to entry in nil map"
	//   exception: runtime.Error: assignment to entry in nil map
	//   extra error=panic: assignment to entry in nil map
}

func ExampleFromEnv() {
	os.Setenv("ERRLOG_LEVEL", "debug")
	os.Setenv("ERRLOG_FILE", "/var/log/shop.log")
	os.Setenv("ERRLOG_FILE_LEVEL", "error")
	os.Setenv("ERRLOG_TRACKED_STATUS", "500-599,429")
	defer os.Unsetenv("ERRLOG_LEVEL")
	defer os.Unsetenv("ERRLOG_FILE")
	defer os.Unsetenv("ERRLOG_FILE_LEVEL")
	defer os.Unsetenv("ERRLOG_TRACKED_STATUS")

	opts := errlog.FromEnv()
	fmt.Println("console level:", opts.Level)
	fmt.Println("file:", opts.File.Path, "at", opts.File.Level)
	fmt.Println("tracked:", opts.TrackedStatus)
	fmt.Println("mail:", opts.Mail != nil)
	// Output:
	// console level: DEBUG
	// file: /var/log/shop.log at ERROR
	// tracked: [{500 599} {429 429}]
	// mail: false
}

func ExampleParseLevel() {
	for _, s := range []string{"warning", "critical", "40", "INFO+2"} {
		l, err := errlog.ParseLevel(s)
		fmt.Println(s, "=", l, err)
	}
	// Output:
	// warning = WARN <nil>
	// critical = ERROR+4 <nil>
	// 40 = ERROR <nil>
	// INFO+2 = INFO+2 <nil>
}

func ExampleScope_SetUser() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{userSink{}}})
	defer h.Close(context.Background())
	ctx, scope := errlog.WithScope(context.Background())
	scope.SetUser(event.User{ID: "u-42", Email: "ann@example.com"})
	scope.SetTag("plan", "pro")
	slog.New(h).ErrorContext(ctx, "export failed")
	_ = h.Flush(context.Background())
	// Output:
	// user u-42 <ann@example.com>, tags map[plan:pro]
}

type userSink struct{ printSink }

func (userSink) Deliver(ev *event.Event) {
	fmt.Printf("user %s <%s>, tags %v\n", ev.User.ID, ev.User.Email, ev.Tags)
}

func ExampleGo() {
	delivered := make(chan struct{})
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{signalSink{delivered}}})
	defer h.Close(context.Background())
	slog.SetDefault(slog.New(h))
	errlog.Go(context.Background(), func(ctx context.Context) {
		panic("worker lost its connection")
	})
	<-delivered // the goroutine died; the program goes on
	// Output:
	// event: error "panic: worker lost its connection"
	//   exception: string: worker lost its connection
	//   extra error=panic: worker lost its connection
}

// signalSink prints events as printSink does and says when it has.
type signalSink struct{ delivered chan struct{} }

func (s signalSink) Deliver(ev *event.Event) {
	printSink{}.Deliver(ev)
	close(s.delivered)
}
func (signalSink) Flush(context.Context) error { return nil }
func (signalSink) Close(context.Context) error { return nil }

func ExampleFlush() {
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{printSink{}}})
	defer h.Close(context.Background())
	slog.New(h).Error("shutting down with work queued")
	// Before exit: every handler New built delivers what it has queued.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := errlog.Flush(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// event: error "shutting down with work queued"
}

// withRegion adds a field to every record and says which errlog Handler
// it wraps, so that Middleware and Recover find errlog's settings behind
// it.
type withRegion struct{ next slog.Handler }

func (w withRegion) Enabled(ctx context.Context, l slog.Level) bool { return w.next.Enabled(ctx, l) }
func (w withRegion) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("region", "eu-west-1"))
	return w.next.Handle(ctx, r)
}
func (w withRegion) WithAttrs(as []slog.Attr) slog.Handler { return withRegion{w.next.WithAttrs(as)} }
func (w withRegion) WithGroup(name string) slog.Handler    { return withRegion{w.next.WithGroup(name)} }

// ErrlogHandler makes withRegion an errlog.HandlerWrapper.
func (w withRegion) ErrlogHandler() *errlog.Handler { return errlog.HandlerOf(w.next) }

func ExampleHandlerWrapper() {
	eh := errlog.NewHandler(errlog.Options{
		Console:       io.Discard,
		Sinks:         []errlog.EventSink{printSink{}},
		TrackedStatus: []errlog.StatusRange{{From: 404, To: 404}},
	})
	defer eh.Close(context.Background())
	prev := slog.Default()
	defer slog.SetDefault(prev)
	slog.SetDefault(slog.New(withRegion{eh}))
	fmt.Println("found:", errlog.HandlerOf(slog.Default().Handler()) == eh)

	rec := httptest.NewRecorder()
	errlog.Middleware(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/missing", nil))
	_ = eh.Flush(context.Background())
	// Output:
	// found: true
	// event: error "HTTP 404 Not Found"
	//   request: GET /missing
	//   extra method=GET
	//   extra path=/missing
	//   extra region=eu-west-1
	//   extra status=404
}
