package event_test

import (
	"os"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
)

// BenchmarkGroupKey measures each grouping on the same events: grouping 1
// as errlog computed it before grouping 2 (no memory of keys) against the
// current one, side by side, as benchstat compares them:
// go test -bench GroupKey -count 10 ./event/ | benchstat -col /grouping -.
// "grouping=3" repeats an event, as errors repeat (GroupKey remembers
// recent keys); "grouping=3-new" computes it as for an event never seen
// before, and "grouping=2-new" as grouping 2 did.
func BenchmarkGroupKey(b *testing.B) {
	exc := &event.Event{Logger: "slog", Logentry: &event.Logentry{Message: "load failed"}, Exception: []event.Exception{
		{Type: "*fs.PathError", Value: "open /etc/app.conf: no such file or directory"},
		{Type: "*fmt.wrapError", Value: "loading config: open /etc/app.conf", Stacktrace: &event.Stacktrace{Frames: []event.Frame{
			{Function: "main", Module: "main", InApp: true}, {Function: "Load", Module: "example.com/app/config", InApp: true}, {Function: "Open", Module: "os"}}}}}}
	msg := &event.Event{Logger: "slog", Logentry: &event.Logentry{Message: "user 12345 not found at 2026-11-27T15:04:05Z after 1.5s"}}
	cases := []struct {
		name string
		ev   *event.Event
	}{{"exception", exc}, {"message", msg}}
	// Events as SDKs send them, with source lines: errlog's record with
	// an error (its own key left out: it would be read, not computed),
	// @sentry/node's exception, python's log record.
	for _, c := range []struct{ name, file string }{
		{"errlog", "testdata/grouping/errlog/go-charge-failed--1-1.json"},
		{"node", "testdata/grouping/node/node-range-offset--3.json"},
		{"python", "testdata/grouping/python/py-parse--x.json"},
	} {
		raw, err := os.ReadFile(c.file)
		if err != nil {
			b.Fatal(err)
		}
		ev, err := decode.Event(raw)
		if err != nil {
			b.Fatal(err)
		}
		delete(ev.Contexts, event.GroupingContext)
		cases = append(cases, struct {
			name string
			ev   *event.Event
		}{c.name, ev})
	}
	for _, c := range cases {
		for _, v := range []struct {
			name string
			key  func(*event.Event) string
		}{
			{"grouping=1", event.GroupKeyV1Uncached}, // errlog's key before grouping 2
			{"grouping=2-new", func(e *event.Event) string { return event.GroupKeyOfUncached(e, 2) }},
			{"grouping=3", func(e *event.Event) string { return e.GroupKeyOf(3) }},
			{"grouping=3-new", event.GroupKeyUncached},
		} {
			b.Run(c.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					_ = v.key(c.ev)
				}
			})
		}
	}
}
