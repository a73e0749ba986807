package logfile_test

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/logfile"
)

func ExampleNewFormatter() {
	// A format string from a Python project works unchanged.
	f, err := logfile.NewFormatter("%(levelname)-8s %(name)s: %(message)s (user %(user_id)s)", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := slog.NewRecord(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), slog.LevelWarn, "disk almost full", 0)
	r.AddAttrs(slog.String("logger", "storage"), slog.Int("user_id", 42), slog.Int("free_mb", 512))
	// Attributes the template does not name follow the line.
	fmt.Print(f.Format(r))
	// Output:
	// WARNING  storage: disk almost full (user 42) free_mb=512
}

func ExampleNewFormatter_error() {
	_, err := logfile.NewFormatter("%(asctime)s %(x)q", "")
	fmt.Println(err)
	// Output:
	// errlog: format: position 12: unsupported conversion 'q' in %(x)q
}

func ExampleFormatter_AppendFormat() {
	f, _ := logfile.NewFormatter("%(levelno)02d %(message).5s|%(ratio)6.2f|", "")
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "checkpoint reached", 0)
	r.AddAttrs(slog.Float64("ratio", 2.0/3))
	buf := make([]byte, 0, 256) // reused across records, no allocation
	buf = f.AppendFormat(buf[:0], r)
	os.Stdout.Write(buf)
	// Output:
	// 20 check|  0.67|
}

func ExampleFormatter_FormatEvent() {
	f, _ := logfile.NewFormatter("%(levelname)s %(method)s %(url)s: %(message)s", "")
	fmt.Print(f.FormatEvent(&event.Event{
		Level:    event.LevelError,
		Logentry: &event.Logentry{Formatted: "payment failed"},
		Request:  &event.Request{Method: "POST", URL: "https://shop.example.com/pay"},
	}))
	// Output:
	// ERROR POST https://shop.example.com/pay: payment failed
}

func ExampleNew() {
	h, err := logfile.New(logfile.Options{
		Writer: os.Stdout, // a Path instead rotates a file: MaxSizeMB, MaxBackups, Interval
		Format: "%(levelname)s %(name)s: %(message)s",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	logger := slog.New(h).With("logger", "billing")
	logger.Info("not written: below the default level, WARN")
	logger.Warn("card declined", "order", 1234)
	// Output:
	// WARNING billing: card declined order=1234
}
