package event

import "testing"

func BenchmarkGroupKey(b *testing.B) {
	exc := &Event{Logger: "slog", Logentry: &Logentry{Message: "load failed"}, Exception: []Exception{
		{Type: "*fs.PathError", Value: "open /etc/app.conf: no such file or directory"},
		{Type: "*fmt.wrapError", Value: "loading config: open /etc/app.conf", Stacktrace: &Stacktrace{Frames: []Frame{
			{Function: "main", Module: "main", InApp: true}, {Function: "Load", Module: "example.com/app/config", InApp: true}, {Function: "Open", Module: "os"}}}}}}
	msg := &Event{Logger: "slog", Logentry: &Logentry{Message: "user 12345 not found at 2026-11-27T15:04:05Z after 1.5s"}}
	b.Run("exception", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = exc.GroupKey()
		}
	})
	b.Run("message", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = msg.GroupKey()
		}
	})
}
