package event_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
)

func frame(mod, fn, line string, lineno int) event.Frame {
	return event.Frame{Module: mod, Function: fn, ContextLine: line, Lineno: lineno, InApp: true}
}

func record(msg string, frames ...event.Frame) *event.Event {
	return &event.Event{Logger: "slog", Logentry: &event.Logentry{Message: msg},
		Exception: []event.Exception{{Type: "*errors.errorString", Value: "declined"},
			{Type: "*fmt.wrapError", Value: "charge: declined", Stacktrace: &event.Stacktrace{Frames: frames}}}}
}

// TestGroupKeySameAndDifferent: pairs of events that are one group, and
// pairs that are two.
func TestGroupKeySameAndDifferent(t *testing.T) {
	main := frame("main", "main", "checkout(ctx)", 10)
	charge := frame("main", "checkout", `slog.Error("charge failed", "err", err)`, 20)
	st := func(frames ...event.Frame) *event.Stacktrace { return &event.Stacktrace{Frames: frames} }
	moved := charge
	moved.Lineno = 27
	reindented := charge
	reindented.ContextLine = "\t\t" + charge.ContextLine + "  "
	otherLine := frame("main", "checkout", `slog.Error("charge failed", "err", err2)`, 24)
	anon := func(file string, line, col int) event.Frame {
		return event.Frame{Function: "?", Filename: file, Lineno: line, Colno: col, InApp: true}
	}
	exc := func(typ string, frames ...event.Frame) *event.Event {
		return &event.Event{Exception: []event.Exception{{Type: typ, Value: "v", Stacktrace: st(frames...)}}}
	}
	panicked := func(typ string, frames ...event.Frame) *event.Event {
		return &event.Event{Exception: []event.Exception{{Type: typ, Value: "v", Mechanism: &event.Mechanism{Type: "panic"}, Stacktrace: st(frames...)}}}
	}
	minified := func(fn, src string) *event.Event {
		return exc("TypeError", event.Frame{Function: fn, Filename: "app.js", Lineno: 1, Colno: 9, ContextLine: src, InApp: true})
	}
	long := strings.Repeat("x=1;", 80)
	for _, tt := range []struct {
		name string
		a, b *event.Event
		same bool
	}{
		{"the same call, moved to another line", record("charge failed", main, charge), record("charge failed", main, moved), true},
		{"the same call, re-indented", record("charge failed", main, charge), record("charge failed", main, reindented), true},
		{"two calls in one function", exc("E", main, charge), exc("E", main, otherLine), false},
		{"two messages from one line", record("charge failed", main, charge), record("shipping label failed", main, charge), false},
		{"a message's parameters", record("user 42 not found", main, charge), record("user 7 not found", main, charge), true},
		{"a record and an exception", record("charge failed", main, charge), exc("*fmt.wrapError", main, charge), false},
		{"system frames count when none is in-app",
			exc("SIGSEGV", event.Frame{Function: "render"}, event.Frame{Function: "draw"}),
			exc("SIGSEGV", event.Frame{Function: "decode"}, event.Frame{Function: "draw"}), false},
		{"system frames left out when some are in-app",
			exc("E", event.Frame{Function: "serve"}, main), exc("E", event.Frame{Function: "serveTLS"}, main), true},
		{"anonymous frames without source, by position",
			exc("RangeError", anon("app.js", 10, 5)), exc("RangeError", anon("app.js", 12, 5)), false},
		{"anonymous frames, the same position", exc("RangeError", anon("app.js", 10, 5)), exc("RangeError", anon("https://cdn/app.js?v=2", 10, 5)), true},
		{"a minified line is no source line", minified("a", long), minified("a", long+"y=2;"), true},
		{"runtime errors' types", exc("runtime.plainError", main), exc("runtime.Error", main), true},
		{"a recovered panic and its crash report",
			panicked("runtime.boundsError", main), panicked("runtime.Error", main), true},
		{"a non-runtime panic and its crash report", panicked("*errors.errorString", main), panicked("panic", main), true},
		{"a typed nil from an older client is a log record",
			&event.Event{Logger: "slog", Logentry: &event.Logentry{Message: "odd values"}, Stacktrace: st(main)},
			&event.Event{Logger: "slog", Logentry: &event.Logentry{Message: "odd values"}, Exception: []event.Exception{{Type: "*main.myErr", Value: "<nil>", Stacktrace: st(main)}}}, true},
		{"no frames: the value", &event.Event{Exception: []event.Exception{{Type: "E", Value: "disk 3 full"}}},
			&event.Event{Exception: []event.Exception{{Type: "E", Value: "disk 4 full"}}}, true},
		{"no frames: another value", &event.Event{Exception: []event.Exception{{Type: "E", Value: "disk full"}}},
			&event.Event{Exception: []event.Exception{{Type: "E", Value: "quota exceeded"}}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.GroupKey() == tt.b.GroupKey(); got != tt.same {
				t.Errorf("same group = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestGroupKeyFingerprint(t *testing.T) {
	base := func(fp ...string) *event.Event {
		ev := record("charge failed", frame("main", "checkout", "x()", 3))
		ev.Transaction = "POST /orders/{id}"
		ev.Fingerprint = fp
		return ev
	}
	def := base().GroupKey()
	for _, tt := range []struct {
		name string
		a, b *event.Event
		same bool
	}{
		{"{{ default }} alone", base("{{ default }}"), base(), true},
		{"{{default}}, no spaces", base("{{default}}"), base(), true},
		{"an explicit fingerprint across messages", func() *event.Event { e := base("db"); e.Logentry.Message = "other"; return e }(), base("db"), true},
		{"{{ default }} split by a part", base("{{ default }}", "tenant-a"), base("{{ default }}", "tenant-b"), false},
		{"{{ transaction }}", base("{{ transaction }}"), func() *event.Event { e := base("{{ transaction }}"); e.Transaction = "GET /"; return e }(), false},
		{"{{ transaction }} across messages", base("{{ transaction }}"), func() *event.Event { e := base("{{ transaction }}"); e.Logentry.Message = "x"; return e }(), true},
		{"{{ type }}", base("{{ type }}"), func() *event.Event { e := base("{{ type }}"); e.Exception[1].Type = "*app.Err"; return e }(), false},
		{"{{ type }} across functions", base("{{ type }}"), func() *event.Event {
			e := base("{{ type }}")
			e.Exception[1].Stacktrace.Frames[0].Function = "other"
			return e
		}(), true},
		{"{{ function }}", base("{{ function }}"), func() *event.Event {
			e := base("{{ function }}")
			e.Exception[1].Stacktrace.Frames[0].Function = "other"
			return e
		}(), false},
		{"{{ error.type }} is {{ type }}", base("{{ error.type }}"), base("{{ type }}"), true},
		{"{{ stack.function }} is {{ function }}", base("{{ stack.function }}"), base("{{ function }}"), true},
		{"{{ message }}", base("{{ message }}"), func() *event.Event { e := base("{{ message }}"); e.Logentry.Message = "x"; return e }(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.GroupKey() == tt.b.GroupKey(); got != tt.same {
				t.Errorf("same group = %v, want %v", got, tt.same)
			}
		})
	}
	if base("{{ default }}", "x").GroupKey() == def {
		t.Error("an extra part must change the key")
	}
}

// TestGroupKeyCarried: an event carries its key through JSON; GroupKey
// reads it back, GroupKeyOf recomputes.
func TestGroupKeyCarried(t *testing.T) {
	ev := record("charge failed", frame("main", "checkout", "x()", 3))
	shared := map[string]map[string]any{"os": {"name": "linux"}}
	ev.Contexts = shared
	ev.SetGroupKey()
	if len(shared) != 1 {
		t.Fatal("SetGroupKey wrote into the event's contexts map")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back event.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	key, v := back.CarriedGroupKey()
	if v != event.Grouping || key != ev.GroupKeyOf(event.Grouping) {
		t.Fatalf("carried %q v%d, want %q v%d", key, v, ev.GroupKeyOf(event.Grouping), event.Grouping)
	}
	// A carried key wins over what a server would compute (the client's
	// mail threads by it); one of another grouping does not.
	back.Logentry.Message = "changed on the way"
	if back.GroupKey() != key {
		t.Error("GroupKey ignored the carried key")
	}
	back.Contexts[event.GroupingContext]["grouping"] = 1
	if back.GroupKey() == key {
		t.Error("GroupKey used a key of another grouping")
	}
	back.Contexts[event.GroupingContext] = map[string]any{"group_key": "not a key", "grouping": event.Grouping}
	if k, _ := back.CarriedGroupKey(); k != "" {
		t.Error("a malformed key was taken")
	}
}

// TestGroupKeyV1: grouping 1 is kept exactly as errlogd computed it, so
// that an upgraded store finds its groups (keys from the code of that
// time).
func TestGroupKeyV1(t *testing.T) {
	st := &event.Stacktrace{Frames: []event.Frame{{Module: "main", Function: "main", InApp: true}, {Module: "os", Function: "Open"}}}
	for i, tt := range []struct {
		ev   *event.Event
		want string
	}{
		{&event.Event{Logger: "slog", Logentry: &event.Logentry{Message: "user 42 not found"}}, "61288717a0fa97d899381f2a1b2a0585"},
		{&event.Event{Logger: "slog", Logentry: &event.Logentry{Message: "charge failed"}, Exception: []event.Exception{{Type: "*errors.errorString", Value: "declined"}, {Type: "*fmt.wrapError", Value: "x: declined", Stacktrace: st}}}, "7c6ae3d1c6442afe6d1836c88109fc72"},
		{&event.Event{Exception: []event.Exception{{Type: "SIGSEGV", Value: "Segfault 0x1f", Stacktrace: &event.Stacktrace{Frames: []event.Frame{{Function: "f"}}}}}}, "061c18073be96c6869ecabce275a982b"},
		{&event.Event{Logentry: &event.Logentry{Message: "quota 7"}, Fingerprint: []string{"{{ default }}", "tenant-a"}}, "39953117bb294ec72029f922f6131923"},
		{&event.Event{Logentry: &event.Logentry{Message: "quota 7"}, Fingerprint: []string{"{{ message }}", "x"}}, "05cc5b25bc1b844eee2f2e419b6b0abc"},
		{&event.Event{Logentry: &event.Logentry{Message: "quota 7"}, Fingerprint: []string{"{{ default }}"}}, "9526ceef102923af1d5631831f433f13"},
		{&event.Event{Logentry: &event.Logentry{Message: "quota 7"}, Fingerprint: []string{"mine"}}, "4f9cd601e350dafed9b20d9b00748c93"},
	} {
		if got := tt.ev.GroupKeyOf(1); got != tt.want {
			t.Errorf("case %d: %s, want %s", i, got, tt.want)
		}
	}
	if (&event.Event{}).GroupKeyOf(99) != "" {
		t.Error("an unknown grouping made a key")
	}
}

// TestGrouping3: what grouping 3 groups differently from grouping 2, each
// pair as grouping 2 got it wrong (same says whether grouping 3 makes
// one group of the pair).
func TestGrouping3(t *testing.T) {
	st := func(frames ...event.Frame) *event.Stacktrace { return &event.Stacktrace{Frames: frames} }
	py := func(params ...any) *event.Event {
		return &event.Event{Logger: "shop", Platform: "python", Logentry: &event.Logentry{Message: "%s", Params: params}}
	}
	top := frame("app", "main", "run()", 1)
	rec := frame("app", "walk", "return walk(node.child)", 9)
	fail := frame("app", "walk", `raise ValueError("cycle")`, 7)
	recursion := func(depth int) *event.Event {
		frames := []event.Frame{top}
		for i := 0; i < depth; i++ {
			frames = append(frames, rec)
		}
		return &event.Event{Exception: []event.Exception{{Type: "ValueError", Value: "cycle", Stacktrace: st(append(frames, fail)...)}}}
	}
	joined := func(n int) *event.Event {
		ev := &event.Event{Logger: "slog", Logentry: &event.Logentry{Message: "invalid config"}}
		for i := 0; i < n; i++ {
			ev.Exception = append(ev.Exception, event.Exception{Type: "*main.fieldError", Value: "field x"})
		}
		ev.Exception = append(ev.Exception, event.Exception{Type: "*errors.joinError", Value: "…", Stacktrace: st(top, frame("main", "load", `slog.Error("invalid config", "err", err)`, 30))})
		return ev
	}
	java := func(class string) *event.Event {
		return &event.Event{Platform: "java", Exception: []event.Exception{{Type: "IllegalStateException", Value: "closed", Stacktrace: st(
			event.Frame{Module: "com.shop.Main", Function: "main", InApp: true},
			event.Frame{Module: class, Function: "save", Filename: "<generated>", InApp: true},
			event.Frame{Module: "com.shop.OrderService", Function: "save", Filename: "OrderService.java", InApp: true},
		)}}}
	}
	message := func(msg string) *event.Event {
		return &event.Event{Platform: "node", Exception: []event.Exception{{Type: "Error", Value: msg}}}
	}
	for _, tc := range []struct {
		name string
		a, b *event.Event
		same bool
		kept bool // grouping 2 got it right too
	}{
		{"a bare %s with two messages", py("payment gateway refused card for order 1234"), py("inventory sync lost its lock"), false, false},
		{"a bare %s, one message with other ids", py("payment gateway refused card for order 1234"), py("payment gateway refused card for order 5678"), true, true},
		{"a bare %s, formatted", &event.Event{Logentry: &event.Logentry{Message: "%s", Formatted: "disk full on /var"}}, &event.Event{Logentry: &event.Logentry{Message: "%s", Formatted: "queue stalled"}}, false, false},
		{"recursion depth", recursion(3), recursion(7), true, false},
		{"errors.Join of 2 or 3", joined(2), joined(3), true, false},
		{"CGLIB", java("com.shop.OrderRepo$$EnhancerBySpringCGLIB$$1a2b3c4d"), java("com.shop.OrderRepo$$EnhancerBySpringCGLIB$$9f8e7d6c"), true, false},
		{"Hibernate", java("com.shop.Order$HibernateProxy$Xa9Lq2Wd"), java("com.shop.Order$HibernateProxy$P3kM7rTz"), true, false},
		{"lambda", java("com.shop.OrderService$$Lambda$123/0x0000000800c4b440"), java("com.shop.OrderService$$Lambda$131/0x0000000800d1a210"), true, false},
		{"dynamic proxy", java("jdk.proxy2.$Proxy45"), java("jdk.proxy3.$Proxy12"), true, false},
		{"a temporary name", message("cannot open /tmp/upload_3829473622"), message("cannot open /tmp/upload_1183920456"), true, false},
	} {
		v2a, v2b := tc.a.GroupKeyOf(2), tc.b.GroupKeyOf(2)
		if (v2a == v2b) == tc.same && !tc.kept {
			t.Errorf("%s: grouping 2 already got it right", tc.name)
		}
		if got := tc.a.GroupKey() == tc.b.GroupKey(); got != tc.same {
			t.Errorf("%s: one group = %v, want %v", tc.name, got, tc.same)
		}
	}

	// Where none of that is in an event, its key is grouping 2's: a store
	// keeps its groups, and mail its threads.
	plain := record("charge failed", frame("main", "checkout", `slog.Error("charge failed", "err", err)`, 20))
	if plain.GroupKey() != plain.GroupKeyOf(2) {
		t.Error("an event grouping 3 reads as grouping 2 did has another key")
	}
	// Two generated classes that are not the same class stay apart.
	if java("com.shop.OrderRepo$$EnhancerBySpringCGLIB$$1a2b").GroupKey() == java("com.shop.UserRepo$$EnhancerBySpringCGLIB$$1a2b").GroupKey() {
		t.Error("two proxied classes are one group")
	}
	// Mutual recursion is not a repeat; a frame repeated apart is kept.
	ab := &event.Event{Exception: []event.Exception{{Type: "E", Stacktrace: st(top, rec, fail, rec)}}}
	abb := &event.Event{Exception: []event.Exception{{Type: "E", Stacktrace: st(top, rec, fail)}}}
	if ab.GroupKey() == abb.GroupKey() {
		t.Error("a frame repeated after another was dropped")
	}
}

// TestGroupKeyHostile: keys of events made to be slow to key, each about
// 1 MiB (errlogd keys what anyone with a public DSN sends): every reader
// of grouping 3 is linear in its input, so these take milliseconds; one
// that is not takes minutes here.
func TestGroupKeyHostile(t *testing.T) {
	const n = 1 << 20
	frame := func(mod, fn, file string) *event.Event {
		return &event.Event{Exception: []event.Exception{{Type: "E", Stacktrace: &event.Stacktrace{Frames: []event.Frame{
			{Module: mod, Function: fn, Filename: file, InApp: true}}}}}}
	}
	msg := func(m string) *event.Event {
		return &event.Event{Logentry: &event.Logentry{Message: m, Params: []any{"x"}}}
	}
	for name, ev := range map[string]*event.Event{
		"$$":            frame(strings.Repeat("$$", n/2), "f", "a.java"),
		"$$a":           frame("m", strings.Repeat("$$a", n/3), "a.java"),
		"$Proxy":        frame(strings.Repeat("$Proxy", n/6), "f", "a.java"),
		"jdk.proxy$$":   frame(strings.Repeat("jdk.proxy$$", n/11), "f", "a.java"),
		"@v1":           frame("m", "f", strings.Repeat("a@v1", n/4)),
		"{":             msg(strings.Repeat("{", n)),
		"%(":            msg(strings.Repeat("%(", n/2)),
		"glued digits":  msg("x_" + strings.Repeat("1", n)),
		"glued letters": msg(strings.Repeat("a1", n/2)),
		"exceptions":    manyExceptions(1 << 15),
	} {
		if k := ev.GroupKey(); len(k) != 32 {
			t.Errorf("%s: key %q", name, k)
		}
	}
}

// manyExceptions is an event of n exceptions, each of its own type.
func manyExceptions(n int) *event.Event {
	ev := &event.Event{}
	for i := 0; i < n; i++ {
		ev.Exception = append(ev.Exception, event.Exception{Type: fmt.Sprintf("E%d", i), Value: "v"})
	}
	return ev
}
