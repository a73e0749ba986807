package event_test

import (
	"reflect"
	"testing"

	"github.com/errlog/errlog/event"
)

func TestCulpritFrame(t *testing.T) {
	main := event.Frame{Function: "main", Module: "main", Filename: "main.go", Lineno: 10, InApp: true}
	handler := event.Frame{Function: "handle", Module: "app", Filename: "app/handler.go", Lineno: 42, InApp: true}
	lib := event.Frame{Function: "Query", Module: "database/sql", Filename: "sql.go", Lineno: 7}
	st := func(frames ...event.Frame) *event.Stacktrace { return &event.Stacktrace{Frames: frames} }
	for _, tt := range []struct {
		name    string
		ev      event.Event
		want    event.Frame
		ok      bool
		culprit string
	}{
		{"innermost in-app", event.Event{Exception: []event.Exception{{Stacktrace: st(main, handler, lib)}}}, handler, true, "app.handle (app/handler.go:42)"},
		{"no in-app frame", event.Event{Stacktrace: st(lib, lib, event.Frame{Function: "f", Filename: "x.go", Lineno: 1})}, event.Frame{Function: "f", Filename: "x.go", Lineno: 1}, true, "f (x.go:1)"},
		{"outermost exception with a stack", event.Event{Exception: []event.Exception{{Stacktrace: st(main)}, {Stacktrace: st(handler, lib)}, {}}}, handler, true, "app.handle (app/handler.go:42)"},
		{"no stack trace", event.Event{}, event.Frame{}, false, ""},
	} {
		got, ok := tt.ev.CulpritFrame()
		if !reflect.DeepEqual(got, tt.want) || ok != tt.ok {
			t.Errorf("%s: CulpritFrame() = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
		if c := tt.ev.Culprit(); c != tt.culprit {
			t.Errorf("%s: Culprit() = %q, want %q", tt.name, c, tt.culprit)
		}
	}
}
