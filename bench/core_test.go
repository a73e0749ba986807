// Package bench compares errlog with the libraries people would use
// instead. It is a module of its own so that the peers stay out of
// errlog's go.mod. Run from this folder:
//
//	go test -run '^$' -bench . -benchmem -count 6 | tee new.txt
//	benchstat new.txt
package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/logfile"
	"github.com/lmittmann/tint"
	slogmulti "github.com/samber/slog-multi"
)

// discard is io.Discard that errlog cannot recognise as such: errlog turns
// the console off for io.Discard, which would not be a fair comparison.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var fiveAttrs = []any{
	"user", "ann", "status", 200, "latency", 42 * time.Millisecond, "ok", true, "path", "/api/orders",
}

func BenchmarkDisabled(b *testing.B) {
	b.Run("errlog", func(b *testing.B) {
		logger := errlog.New(errlog.Options{Console: discard{}})
		b.ReportAllocs()
		for b.Loop() {
			logger.Debug("not shown", fiveAttrs...)
		}
	})
	b.Run("slog-text", func(b *testing.B) {
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			logger.Debug("not shown", fiveAttrs...)
		}
	})
}

// BenchmarkInfoConsoleFile: an INFO record with 5 attrs to a coloured
// console and a text file, over the same two writers. The writers are not
// terminals, so errlog writes no colour unless forced: "errlog" is to be
// compared with the peers' "-nocolor" rows (the same bytes out), and
// "errlog-color" with the peers' default, coloured, rows.
func BenchmarkInfoConsoleFile(b *testing.B) {
	b.Run("errlog", func(b *testing.B) {
		logger := errlog.New(errlog.Options{
			Console: discard{},
			File:    &logfile.Options{Writer: discard{}, Level: slog.LevelInfo},
		})
		b.ReportAllocs()
		for b.Loop() {
			logger.Info("request served", fiveAttrs...)
		}
	})
	b.Run("errlog-color", func(b *testing.B) {
		logger := errlog.New(errlog.Options{
			Console:    discard{},
			ForceColor: true,
			File:       &logfile.Options{Writer: discard{}, Level: slog.LevelInfo},
		})
		b.ReportAllocs()
		for b.Loop() {
			logger.Info("request served", fiveAttrs...)
		}
	})
	b.Run("slog-multi-handler-nocolor", func(b *testing.B) {
		logger := slog.New(slog.NewMultiHandler(
			tint.NewTextHandler(discard{}, &tint.Options{NoColor: true}),
			slog.NewTextHandler(discard{}, nil),
		))
		b.ReportAllocs()
		for b.Loop() {
			logger.Info("request served", fiveAttrs...)
		}
	})
	b.Run("slog-multi-handler", func(b *testing.B) {
		logger := slog.New(slog.NewMultiHandler(
			tint.NewTextHandler(discard{}, nil),
			slog.NewTextHandler(discard{}, nil),
		))
		b.ReportAllocs()
		for b.Loop() {
			logger.Info("request served", fiveAttrs...)
		}
	})
	b.Run("samber-slog-multi", func(b *testing.B) {
		logger := slog.New(slogmulti.Fanout(
			tint.NewTextHandler(discard{}, nil),
			slog.NewTextHandler(discard{}, nil),
		))
		b.ReportAllocs()
		for b.Loop() {
			logger.Info("request served", fiveAttrs...)
		}
	})
}

// nopSink takes events and does nothing: the caller's cost is measured.
type nopSink struct{}

func (nopSink) Deliver(*event.Event)        {}
func (nopSink) Flush(context.Context) error { return nil }
func (nopSink) Close(context.Context) error { return nil }

var errPayment = errors.New("card declined")

func tenAttrs() []any {
	return []any{
		"order", 1234, "user", "ann", "amount", 99.5, "currency", "EUR", "retry", false,
		"gateway", "stripe", "attempt", 2, "latency", 350 * time.Millisecond, "region", "eu-west-1", "err", errPayment,
	}
}

// requestContext returns the context Middleware gives a handler.
func requestContext(b *testing.B) context.Context {
	var ctx context.Context
	h := errlog.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ctx = r.Context() }))
	req := httptest.NewRequest("POST", "http://shop.example/checkout?step=pay", nil)
	req.Header.Set("User-Agent", "bench")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if ctx == nil {
		b.Fatal("no context")
	}
	return ctx
}

// BenchmarkErrorEvent: an ERROR record with a request in context, 10 attrs
// and a stack trace, through the console and the file (synchronous, with
// the stack printed) and handed to an event sink (asynchronous). Run it
// with a fixed count below QueueSize so that no record is dropped (a
// dropped record is cheaper; drops/op says):
//
//	go test -run '^$' -bench ErrorEvent -benchmem -benchtime 20000x -count 6
//
// B/op and allocs/op include the delivery goroutine's work of building
// the event; errlog's BenchmarkErrorCallerCost measures the caller alone.
func BenchmarkErrorEvent(b *testing.B) {
	h := errlog.NewHandler(errlog.Options{
		Console:         discard{},
		File:            &logfile.Options{Writer: discard{}},
		Sinks:           []errlog.EventSink{nopSink{}},
		QueueSize:       1 << 16,
		OnDeliveryError: func(error) {},
	})
	defer h.Close(context.Background())
	logger := slog.New(h)
	ctx := requestContext(b)
	attrs := tenAttrs()
	b.ReportAllocs()
	for b.Loop() {
		logger.ErrorContext(ctx, "payment failed", attrs...)
	}
	b.ReportMetric(float64(h.Dropped())/float64(b.N), "drops/op")
}
