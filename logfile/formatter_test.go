package logfile

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/cpython"
	"github.com/errlog/errlog/internal/levels"
	"github.com/errlog/errlog/internal/record"
)

// fmtTestTime is 2003-07-08 15:29:45.896123456 UTC, a Tuesday.
const fmtTestNanos = 1057678185896123456

var fmtTestTime = time.Unix(0, fmtTestNanos)

// fmtCallerPC returns the pc of its own call site, for records whose source
// the tests know: this file, function fmtCallerPC.
//
//go:noinline
func fmtCallerPC() uintptr {
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	return pcs[0]
}

type fmtPCType struct{}

//go:noinline
func (*fmtPCType) method() uintptr { return fmtCallerPC2() }

//go:noinline
func fmtClosurePC() uintptr {
	f := func() uintptr { return fmtCallerPC2() }
	return f()
}

// fmtCallerPC2 returns the pc of the call to it.
//
//go:noinline
func fmtCallerPC2() uintptr {
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	return pcs[0]
}

func fmtFrameOf(pc uintptr) runtime.Frame {
	fr, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	return fr
}

func mustFmt(t testing.TB, format, dateFormat string) *Formatter {
	t.Helper()
	f, err := newFormatter(format, dateFormat, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFormatterLines(t *testing.T) {
	pc := fmtCallerPC()
	fr := fmtFrameOf(pc)
	line := strconv.Itoa(fr.Line)
	tests := []struct {
		name, format, dateFormat string
		level                    slog.Level
		msg                      string
		attrs                    []slog.Attr
		want                     string
	}{
		{name: "default", level: slog.LevelWarn, msg: "disk full",
			want: "2003-07-08 15:29:45,896 WARNING: disk full [in " + fr.File + ":" + line + "]\n"},
		{name: "default with attrs", level: slog.LevelInfo, msg: "hi",
			attrs: []slog.Attr{slog.Int("n", 3), slog.String("s", "a b"), slog.Group("g", slog.Bool("ok", true), slog.Group("h", slog.Float64("f", 1.5)))},
			want:  "2003-07-08 15:29:45,896 INFO: hi [in " + fr.File + ":" + line + "] n=3 s=\"a b\" g.ok=true g.h.f=1.5\n"},
		{name: "width and precision", format: "%(levelname)-8s|%(levelname)8s|%(message).3s|%(lineno)06d", level: slog.LevelError, msg: "abcdef",
			want: "ERROR   |   ERROR|abc|" + fmt.Sprintf("%06d", fr.Line) + "\n"},
		{name: "percent", format: "100%% %(message)s %%(x)s", msg: "done",
			want: "100% done %(x)s\n"},
		{name: "source", format: "%(pathname)s %(filename)s %(module)s %(funcName)s", msg: "m",
			want: fr.File + " formatter_test.go formatter_test fmtCallerPC\n"},
		{name: "levels", format: "%(levelname)s %(levelno)d", level: slog.LevelError + 4, msg: "m",
			want: "CRITICAL 50\n"},
		{name: "level between", format: "%(levelname)s %(levelno)d", level: 2, msg: "m",
			want: "Level 25 25\n"},
		{name: "time", format: "%(created)f %(msecs)03d %(msecs)s", msg: "m",
			want: "1057678185.896123 896 896.0\n"},
		{name: "datefmt", format: "[%(asctime)s]", dateFormat: "%d/%b/%Y:%H:%M:%S %z", msg: "m",
			want: "[08/Jul/2003:15:29:45 +0000]\n"},
		{name: "datefmt micros", format: "%(asctime)s", dateFormat: "%H:%M:%S.%f", msg: "m",
			want: "15:29:45.896123\n"},
		{name: "named attrs", format: "%(user_id)s %(req.id)05d %(ratio).2f|", msg: "m",
			attrs: []slog.Attr{slog.String("user_id", "u1"), slog.Group("req", slog.Int("id", 42), slog.String("path", "/x")), slog.Float64("ratio", 2.0/3), slog.String("other", "o")},
			want:  "u1 00042 0.67| req.path=/x other=o\n"},
		{name: "missing attr", format: "%(user_id)s|%(user_id)5d|%(asctime)s", msg: "m",
			want: "-|    -|2003-07-08 15:29:45,896\n"},
		{name: "name", format: "%(name)s: %(message)s", msg: "m",
			want: "root: m\n"},
		{name: "name from logger attr", format: "%(name)s: %(message)s", msg: "m", attrs: []slog.Attr{slog.String("logger", "db")},
			want: "db: m\n"},
		{name: "logger attr unnamed", format: "%(message)s", msg: "m", attrs: []slog.Attr{slog.String("logger", "db")},
			want: "m logger=db\n"},
		{name: "request fields outside a request", format: "%(method)s %(url)s %(remote_addr)s", msg: "m", attrs: []slog.Attr{slog.String("url", "/u")},
			want: "- /u -\n"},
		{name: "thread", format: "%(thread)s %(threadName)s", msg: "m",
			want: "- -\n"},
		{name: "repr", format: "%(message)r %(message)a", msg: "it's é\n",
			want: "\"it's é\\n\" \"it's \\xe9\\n\"\n"},
		{name: "group named", format: "%(req)s", msg: "m", attrs: []slog.Attr{slog.Group("req", slog.Int("id", 1), slog.String("p", "a b"))},
			want: "id=1 p=\"a b\"\n"},
		{name: "conversion mismatch", format: "%(message)5d|%(f)x|%(b)d|%(d)s|%(d)d", msg: "m",
			attrs: []slog.Attr{slog.Float64("f", 1.5), slog.Bool("b", true), slog.Duration("d", 1500*time.Millisecond)},
			want:  "    m|1.5|1|1.5s|1500000000\n"},
		{name: "quoting", format: "%(message)s", msg: "m",
			attrs: []slog.Attr{slog.String("", "empty key"), slog.String("k", ""), slog.String("a=b", "c"), slog.Any("err", errors.New("boom now")), slog.Any("nil", nil), slog.Time("t", fmtTestTime.UTC()), slog.Any("bytes", []byte("hi"))},
			want:  "m \"\"=\"empty key\" k=\"\" \"a=b\"=c err=\"boom now\" nil=<nil> t=2003-07-08T15:29:45.896Z bytes=\"hi\"\n"},
		{name: "one newline", format: "%(message)s", msg: "trailing\n\r\n",
			want: "trailing\n"},
		{name: "one newline after attrs", format: "%(message)s", msg: "m", attrs: []slog.Attr{slog.Int("n", 1)},
			want: "m n=1\n"},
		{name: "empty attrs dropped", format: "%(message)s", msg: "m",
			attrs: []slog.Attr{{}, slog.Group("g"), slog.Group("", slog.Int("inline", 1))},
			want:  "m inline=1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFmt(t, tt.format, tt.dateFormat)
			r := slog.NewRecord(fmtTestTime, tt.level, tt.msg, pc)
			r.AddAttrs(tt.attrs...)
			if got := f.Format(r); got != tt.want {
				t.Errorf("Format:\n got %q\nwant %q", got, tt.want)
			}
			if got := string(f.AppendFormat([]byte("x"), r)); got != "x"+tt.want {
				t.Errorf("AppendFormat:\n got %q\nwant %q", got, "x"+tt.want)
			}
		})
	}
}

func TestFormatterFuncName(t *testing.T) {
	tests := []struct {
		pc   uintptr
		want string
	}{
		{fmtCallerPC(), "fmtCallerPC"},
		{(&fmtPCType{}).method(), "method"},
		{fmtClosurePC(), "fmtClosurePC.func1"},
	}
	f := mustFmt(t, "%(funcName)s", "")
	for _, tt := range tests {
		if got := f.Format(slog.NewRecord(fmtTestTime, 0, "", tt.pc)); got != tt.want+"\n" {
			t.Errorf("funcName of %s = %q, want %q", fmtFrameOf(tt.pc).Function, got, tt.want)
		}
	}
	names := map[string]string{
		"loginHandler":        "loginHandler",
		"(*T).M":              "M",
		"T.M":                 "M",
		"(*T[...]).M":         "M",
		"F[...]":              "F",
		"handler.func1":       "handler.func1",
		"handler.func1.2":     "handler.func1.2",
		"(*T).M.func1":        "M.func1",
		"main.gowrap1":        "main.gowrap1",
		"init.0":              "init.0",
		"Server.Serve.func2":  "Serve.func2",
		"(*Server).Serve-fm":  "Serve-fm",
		"func1":               "func1",
		"":                    "",
		"handler.deferwrap1":  "handler.deferwrap1",
		"G[go.shape.int].f.1": "f.1",
	}
	for in, want := range names {
		if got := bareFuncName(in); got != want {
			t.Errorf("bareFuncName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := f.Format(slog.NewRecord(fmtTestTime, 0, "", 0)); got != "(unknown function)\n" {
		t.Errorf("funcName without pc = %q", got)
	}
}

func TestFormatterLevels(t *testing.T) {
	f := mustFmt(t, "%(levelname)s %(levelno)d", "")
	tests := map[slog.Level]string{
		slog.LevelDebug - 4:  "NOTSET 0",
		slog.LevelDebug - 1:  "Level 7 7",
		slog.LevelDebug:      "DEBUG 10",
		-1:                   "Level 17 17",
		slog.LevelInfo:       "INFO 20",
		1:                    "Level 22 22",
		slog.LevelWarn:       "WARNING 30",
		slog.LevelError:      "ERROR 40",
		slog.LevelError + 2:  "Level 45 45",
		slog.LevelError + 4:  "CRITICAL 50",
		slog.LevelError + 12: "CRITICAL 70",
	}
	for l, want := range tests {
		if got := f.Format(slog.NewRecord(fmtTestTime, l, "", 0)); got != want+"\n" {
			t.Errorf("level %v: got %q, want %q", l, got, want)
		}
	}
}

func TestNewFormatterErrors(t *testing.T) {
	tests := []struct{ format, want string }{
		{"%(asctime)s %(x)q", "errlog: format: position 12: unsupported conversion 'q' in %(x)q"},
		{"%(levelname", "errlog: format: position 0: unclosed field name in %(levelname"},
		{"%(levelname %(message)s", "errlog: format: position 0: unclosed field name in %(levelname  (a name ends with ')' and has no spaces, '%' or '(')"},
		{"a %(x)", "errlog: format: position 2: missing conversion after %(x) (as in %(x)s)"},
		{"%(x)-08", "errlog: format: position 0: missing conversion after %(x)-08 (as in %(x)s)"},
		{"%s", "errlog: format: position 0: %s without a field name (write %(name)s, or %% for a literal %)"},
		{"100%", "errlog: format: position 3: '%' at the end of the template (write %% for a literal %)"},
		{"%()s", "errlog: format: position 0: empty field name in %()s"},
		{"%(x)*d", "errlog: format: position 0: '*' width in %(x)* is not supported: a field's width must be a number"},
		{"%(x).*d", "errlog: format: position 0: '*' precision in %(x).* is not supported: a field's precision must be a number"},
		{"%(x)99999999999s", "errlog: format: position 0: width in %(x)99999 is larger than 65536"},
		{"%(message)%", "errlog: format: position 0: unsupported conversion '%' in %(message)%"},
		{"%(x)é", "errlog: format: position 0: unsupported conversion 'é' in %(x)é"},
		{"%(x)ls", "errlog: format: position 0: unsupported conversion 'l' in %(x)l"},
		{"%(x)\x00", `errlog: format: position 0: unsupported conversion '\x00' in "%(x)\x00"`},
	}
	for _, tt := range tests {
		f, err := NewFormatter(tt.format, "")
		if err == nil {
			t.Errorf("NewFormatter(%q) = %v, want an error", tt.format, f)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("NewFormatter(%q):\n got %s\nwant %s", tt.format, err, tt.want)
		}
	}
	for _, ok := range []string{"", "no fields at all", "%%", "%(a.b-c)s", "%(x)#-+ 010.3e"} {
		if _, err := NewFormatter(ok, "%Q %"); err != nil {
			t.Errorf("NewFormatter(%q): %v", ok, err)
		}
	}
}

func TestFormatterZeroTime(t *testing.T) {
	f := mustFmt(t, "%(asctime)s|%(created)f|%(msecs)d|%(relativeCreated)d|%(message)s", "")
	if got, want := f.Format(slog.NewRecord(time.Time{}, 0, "m", 0)), "-|-|-|-|m\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	f = mustFmt(t, "%(relativeCreated)d", "")
	got := f.Format(slog.NewRecord(processStart.Add(1500*time.Millisecond), 0, "m", 0))
	if got != "1500\n" {
		t.Errorf("relativeCreated = %q, want 1500", got)
	}
}

// TestFormatterDateCache formats records of many seconds from many
// goroutines: the per-second cache must never show one record another's
// second.
func TestFormatterDateCache(t *testing.T) {
	f := mustFmt(t, "%(asctime)s", "%Y-%m-%d %H:%M:%S")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				tm := fmtTestTime.Add(time.Duration((i*7+g)%50) * time.Second)
				got := f.Format(slog.NewRecord(tm, 0, "", 0))
				if want := tm.UTC().Format("2006-01-02 15:04:05") + "\n"; got != want {
					t.Errorf("got %q, want %q", got, want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestFormatterPreformatted(t *testing.T) {
	f := mustFmt(t, "%(message)s %(user)s %(g.url)s %(url)s", "")
	p := f.withAttrs(nil, []slog.Attr{slog.String("a", "1"), slog.String("user", "ann")})
	p1 := f.withAttrs(f.withGroup(p, "g"), []slog.Attr{slog.String("url", "/g"), slog.Int("b", 2)})
	p2 := f.withAttrs(p, []slog.Attr{slog.String("url", "/top"), slog.Int("c", 3)})
	r := slog.NewRecord(fmtTestTime, 0, "m", 0)
	r.AddAttrs(slog.Int("d", 4))
	if got, want := string(f.appendRecord(nil, &r, p1, nil)), "m ann /g - a=1 g.b=2 g.d=4\n"; got != want {
		t.Errorf("p1:\n got %q\nwant %q", got, want)
	}
	if got, want := string(f.appendRecord(nil, &r, p2, nil)), "m ann - /top a=1 c=3 d=4\n"; got != want {
		t.Errorf("p2:\n got %q\nwant %q", got, want)
	}
	// Inside a request, the request fills %(url)s and the attribute stays.
	x := &record.Extras{Req: &record.Request{URL: "https://h/req"}}
	if got, want := string(f.appendRecord(nil, &r, p2, x)), "m ann - https://h/req a=1 c=3 url=/top d=4\n"; got != want {
		t.Errorf("p2 in a request:\n got %q\nwant %q", got, want)
	}
	// The record's own attribute wins over the handler's.
	r.AddAttrs(slog.String("user", "bob"))
	if got, want := string(f.appendRecord(nil, &r, p2, nil)), "m bob - /top a=1 c=3 d=4\n"; got != want {
		t.Errorf("override:\n got %q\nwant %q", got, want)
	}
}

func TestFormatterStack(t *testing.T) {
	f := mustFmt(t, "%(message)s", "")
	frames := []event.Frame{
		{Function: "main", Module: "main", AbsPath: "/app/main.go", Lineno: 10},
		{Function: "(*S).handle", Module: "example.com/app", AbsPath: "/app/s.go", Lineno: 42},
	}
	r := slog.NewRecord(fmtTestTime, slog.LevelError, "boom", 0)
	r.AddAttrs(slog.Int("n", 1))
	got := string(f.appendRecord(nil, &r, nil, &record.Extras{Stack: frames}))
	want := "boom n=1\n" +
		"Stack (most recent call first):\n" +
		"  example.com/app.(*S).handle\n  \t/app/s.go:42\n" +
		"  main.main\n  \t/app/main.go:10\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFormatEvent(t *testing.T) {
	f := mustFmt(t, "%(asctime)s %(levelname)s %(name)s %(funcName)s %(filename)s:%(lineno)d %(method)s %(url)s %(remote_addr)s %(user_id)s %(db.host)s %(missing)s: %(message)s", "")
	ev := &event.Event{
		Timestamp: fmtTestTime,
		Level:     event.LevelFatal,
		Logger:    "app",
		Logentry:  &event.Logentry{Formatted: "payment failed"},
		Exception: []event.Exception{{Type: "*errors.errorString", Value: "boom", Stacktrace: &event.Stacktrace{Frames: []event.Frame{
			{Function: "main", Module: "main", AbsPath: "/app/main.go", Filename: "main.go", Lineno: 10, InApp: true},
			{Function: "(*Server).pay", Module: "example.com/app", AbsPath: "/app/pay.go", Filename: "pay.go", Lineno: 42, InApp: true},
			{Function: "Exec", Module: "database/sql", AbsPath: "/go/src/database/sql/sql.go", Filename: "database/sql/sql.go", Lineno: 7},
		}}}},
		Request: &event.Request{Method: "POST", URL: "https://shop/pay", Env: map[string]string{"REMOTE_ADDR": "10.1.2.3"}},
		Extra:   map[string]any{"user_id": 7, "db": map[string]any{"host": "db1"}},
	}
	got := f.FormatEvent(ev)
	want := "2003-07-08 15:29:45,896 CRITICAL app pay pay.go:42 POST https://shop/pay 10.1.2.3 7 db1 -: payment failed\n" +
		"Stack (most recent call first):\n" +
		"  database/sql.Exec\n  \t/go/src/database/sql/sql.go:7\n" +
		"  example.com/app.(*Server).pay\n  \t/app/pay.go:42\n" +
		"  main.main\n  \t/app/main.go:10\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	got = f.FormatEvent(&event.Event{Timestamp: fmtTestTime, Level: event.LevelWarning, Logentry: &event.Logentry{Message: "m"}})
	want = "2003-07-08 15:29:45,896 WARNING root (unknown function) (unknown file):0 - - - - - -: m\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// fmtPyCase is one record for CPython's logging.Formatter, and the same
// record for errlog's.
type fmtPyCase struct {
	Format     string     `json:"fmt"`
	DateFormat string     `json:"datefmt"`
	TZ         string     `json:"tz"`
	Nanos      int64      `json:"ns"`
	Levelno    int        `json:"levelno"`
	Msg        string     `json:"msg"`
	Pathname   string     `json:"pathname"`
	Lineno     int        `json:"lineno"`
	FuncName   string     `json:"funcName"`
	Process    int        `json:"process"`
	Extra      [][]string `json:"extra"` // key, type (int, float, str), value

	level slog.Level
	attrs []slog.Attr
	loc   *time.Location
	pc    uintptr
}

const fmtPyScript = `
import json, logging, os, sys, time
out = []
for c in json.load(sys.stdin):
    os.environ["TZ"] = c["tz"]
    time.tzset()
    ns = c["ns"]
    d = dict(msg=c["msg"], args=(), levelno=c["levelno"], levelname=logging.getLevelName(c["levelno"]),
             pathname=c["pathname"], filename=os.path.basename(c["pathname"]),
             module=os.path.splitext(os.path.basename(c["pathname"]))[0],
             lineno=c["lineno"], funcName=c["funcName"], process=c["process"],
             created=ns / 1e9, msecs=(ns % 10**9) // 10**6 + 0.0, name="root")
    for k, typ, v in c["extra"]:
        d[k] = {"int": int, "float": float, "str": str}[typ](v)
    try:
        out.append(logging.Formatter(c["fmt"], c["datefmt"] or None).format(logging.makeLogRecord(d)))
    except Exception:
        out.append(None)
json.dump(out, sys.stdout)
`

// fmtRunPython formats cases with CPython's logging.Formatter; nil for a case
// Python rejects.
func fmtRunPython(t *testing.T, cases []fmtPyCase) []*string {
	t.Helper()
	var res []*string
	cpython.Run(t, fmtPyScript, cases, &res)
	if len(res) != len(cases) {
		t.Fatalf("python3 returned %d results for %d cases", len(res), len(cases))
	}
	return res
}

func newFmtPyCase(format, dateFormat string, level slog.Level, msg string, pc uintptr, funcName string) fmtPyCase {
	fr := fmtFrameOf(pc)
	return fmtPyCase{
		Format: format, DateFormat: dateFormat, TZ: "UTC", Nanos: fmtTestNanos,
		Levelno: levels.PythonNo(level), Msg: msg, Pathname: fr.File, Lineno: fr.Line, FuncName: funcName,
		Process: processID, Extra: [][]string{}, level: level, loc: time.UTC, pc: pc,
	}
}

func (c fmtPyCase) with(attrs ...slog.Attr) fmtPyCase {
	c.Extra = nil
	for _, a := range attrs {
		switch a.Value.Kind() {
		case slog.KindInt64:
			c.Extra = append(c.Extra, []string{a.Key, "int", strconv.FormatInt(a.Value.Int64(), 10)})
		case slog.KindFloat64:
			c.Extra = append(c.Extra, []string{a.Key, "float", strconv.FormatFloat(a.Value.Float64(), 'g', -1, 64)})
		default:
			c.Extra = append(c.Extra, []string{a.Key, "str", a.Value.String()})
		}
	}
	c.attrs = attrs
	return c
}

func (c fmtPyCase) goFormat(t *testing.T) string {
	f, err := newFormatter(c.Format, c.DateFormat, c.loc)
	if err != nil {
		t.Fatalf("%q: %v", c.Format, err)
	}
	r := slog.NewRecord(time.Unix(0, c.Nanos), c.level, c.Msg, c.pc)
	r.AddAttrs(c.attrs...)
	return f.Format(r)
}

// TestFormatterPython formats the same records with CPython's
// logging.Formatter and with errlog's, and requires the same text.
func TestFormatterPython(t *testing.T) {
	pc := fmtCallerPC()
	methodPC := (&fmtPCType{}).method()
	c := func(format, dateFormat string) fmtPyCase {
		return newFmtPyCase(format, dateFormat, slog.LevelWarn, "disk almost full", pc, "fmtCallerPC")
	}
	withMsg := func(p fmtPyCase, msg string) fmtPyCase { p.Msg = msg; return p }
	withLevel := func(p fmtPyCase, l slog.Level) fmtPyCase { p.level, p.Levelno = l, levels.PythonNo(l); return p }
	cases := []fmtPyCase{
		c(DefaultFormat, ""),
		c(DefaultFormat, "%Y-%m-%dT%H:%M:%S"),
		c("%(name)s:%(levelname)s:%(message)s", ""), // logging.BASIC_FORMAT
		c("%(levelname)-8s|%(levelname)8s|%(levelname).4s|%(message)-20.4s|", ""),
		c("%(lineno)05d %(lineno)-5d| %(lineno)+d %(lineno) d %(lineno).6d %(lineno)x %(lineno)#X %(lineno)#o", ""),
		c("100%% %(message)s %%", ""),
		c("%(levelno)d %(levelno)s %(levelno)5.1f", ""),
		c("%(created)f %(created).3f %(created)s %(created)e %(created)g %(msecs)03d %(msecs)d %(msecs)s %(msecs)5.1f", ""),
		newFmtPyCase("%(funcName)s %(module)s %(filename)s %(pathname)s", "", slog.LevelInfo, "m", methodPC, "method"),
		c("%(asctime)s", "%a %A %b %B %d %H %I %j %m %M %p %S %y %Y %z %Z %%"),
		c("%(asctime)s", "%c|%x|%X|%D|%T|%F|%e|%R|%r|%s|%u|%w|%U|%W|%G|%V|%g|%C|%k|%l|%h|%P"),
		c("%(asctime)s", "%Q %E %"),
		c("%(asctime)-30s| %(asctime).10s", ""),
		withMsg(c("%(message)s|%(message).3s|%(message)12s|", ""), "héllo wörld ✓ 日本 😀"),
		withMsg(c("%(message)s", ""), "100% done %(x)s %s %d"),
		withMsg(c("%(message)r %(message)a %(message).4r", ""), "it's é\n\t\x01 \u200b"),
		withMsg(c("%(message)r", ""), `a"b'c\`),
		withLevel(c("%(levelname)s %(levelno)d", ""), 2),
		withLevel(c("%(levelname)s %(levelno)d", ""), slog.LevelError+4),
		withLevel(c("%(levelname)s %(levelno)d", ""), slog.LevelDebug),
		withLevel(c("%(levelname)s %(levelno)d", ""), slog.LevelError),
		c("[%(process)d] %(process)s", ""),
		c("%(user_id)s %(ratio).2f %(ratio)s %(count)05d %(count)x %(big)d %(neg)+08.2e", "").with(
			slog.String("user_id", "u-1"), slog.Float64("ratio", 2.0/3), slog.Int("count", 42),
			slog.Int64("big", math.MaxInt64), slog.Float64("neg", -1234.5)),
	}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		if _, err := os.Stat("/usr/share/zoneinfo/America/New_York"); err == nil {
			for _, df := range []string{"", "%Y-%m-%d %H:%M:%S %z %Z"} {
				p := c("%(asctime)s", df)
				p.TZ, p.loc = "America/New_York", ny
				cases = append(cases, p)
				p.Nanos = time.Date(2003, 12, 24, 23, 59, 59, 999e6, time.UTC).UnixNano()
				cases = append(cases, p)
			}
		}
	}
	if len(cases) < 15 {
		t.Fatalf("only %d cases", len(cases))
	}
	res := fmtRunPython(t, cases)
	for i, p := range cases {
		if res[i] == nil {
			t.Errorf("python rejected %q (datefmt %q)", p.Format, p.DateFormat)
			continue
		}
		want := *res[i] + "\n"
		if got := p.goFormat(t); got != want {
			t.Errorf("%q (datefmt %q, TZ %s):\n  go %q\n  py %q", p.Format, p.DateFormat, p.TZ, got, want)
		}
	}
}

func TestFormatterSafeValues(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	f := mustFmt(t, "%(message)s %(c)s %(p)r", "")
	r := slog.NewRecord(fmtTestTime, 0, "m", 0)
	r.AddAttrs(slog.Any("c", cyclic), slog.Any("p", fmtPanicker{}), slog.Any("tail", cyclic), slog.Any("tp", fmtPanicker{}))
	got := f.Format(r)
	want := "m map[self:<cycle>] '!PANIC: oops' tail=map[self:<cycle>] tp=\"!PANIC: oops\"\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

type fmtPanicker struct{}

func (fmtPanicker) String() string { panic("oops") }

func TestFormatterNeverFails(t *testing.T) {
	// Every field and conversion over every kind of value: no panic, one
	// newline at the end.
	var fields []string
	for k := range tmplFields {
		fields = append(fields, k)
	}
	fields = append(fields, "v", "missing", "g")
	vals := []slog.Value{
		slog.StringValue("s"), slog.IntValue(-1), slog.Uint64Value(math.MaxUint64), slog.Float64Value(math.NaN()),
		slog.BoolValue(true), slog.DurationValue(-time.Minute), slog.TimeValue(fmtTestTime), slog.AnyValue(nil),
		slog.AnyValue([]int{1}), slog.GroupValue(slog.Int("a", 1)), slog.AnyValue(errors.New("e")),
	}
	for _, k := range fields {
		for _, conv := range "sradiuxXoeEfFgGc" {
			f := mustFmt(t, "%("+k+")#+08.3"+string(conv), "")
			for _, v := range vals {
				r := slog.NewRecord(fmtTestTime, 3, "m", fmtCallerPC())
				r.AddAttrs(slog.Attr{Key: "v", Value: v}, slog.Group("g", slog.Attr{Key: "v", Value: v}))
				out := f.Format(r)
				if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
					t.Fatalf("%%(%s)%c of %v: %q", k, conv, v, out)
				}
			}
		}
	}
}

func FuzzNewFormatter(f *testing.F) {
	for _, s := range []string{DefaultFormat, "%(levelname)-8s %(message).200s", "%(x)q", "%(levelname", "%(x)", "%%", "%(lineno)05d %(created)f %(msecs)03d", "%(v)#+ 0-9.3g", "%(v)c%(v)r%(v)a"} {
		f.Add(s, "")
	}
	f.Add("%(asctime)s", "%Y-%m-%d %H:%M:%S.%f %z %Z %c %")
	pc := fmtCallerPC()
	f.Fuzz(func(t *testing.T, format, dateFormat string) {
		fm, err := newFormatter(format, dateFormat, time.UTC)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "errlog: format: position ") {
				t.Fatalf("error %q", err)
			}
			return
		}
		r := slog.NewRecord(fmtTestTime, slog.LevelWarn, "m", pc)
		r.AddAttrs(slog.Int("v", 3), slog.String("s", "x"), slog.Float64("f", -2.5), slog.Group("g", slog.Int("v", 1)))
		out := fm.Format(r)
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("%q: no newline at the end: %q", format, out)
		}
		fm.FormatEvent(&event.Event{Timestamp: fmtTestTime, Level: event.LevelError, Extra: map[string]any{"v": 1}})
	})
}

func BenchmarkFormatter(b *testing.B) {
	f, err := NewFormatter("", "")
	if err != nil {
		b.Fatal(err)
	}
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "disk almost full", fmtCallerPC())
	buf := f.AppendFormat(nil, r)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = f.AppendFormat(buf[:0], r)
	}
}

// TestFormatterBenchRecord keeps bench/pyformat.py honest: the record it
// times in CPython is the one BenchmarkFormatter formats.
func TestFormatterBenchRecord(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("bench", "pyformat.py"))
	if err != nil {
		t.Skip(err)
	}
	for _, s := range []string{`"disk almost full"`, "WARNING", "logging.Formatter(FORMAT)"} {
		if !strings.Contains(string(src), s) {
			t.Errorf("bench/pyformat.py does not mention %s", s)
		}
	}
	if !strings.Contains(string(src), strconv.Quote(DefaultFormat)) {
		t.Errorf("bench/pyformat.py does not use DefaultFormat %q", DefaultFormat)
	}
}

func TestFormatterFields(t *testing.T) {
	f, err := NewFormatter("%(asctime)s %(levelname)-8s %% %(user.id)d %(message)s %(levelname)-8s %(name)s", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Text: "%(asctime)s", Name: "asctime"},
		{Text: "%(levelname)-8s", Name: "levelname"},
		{Text: "%(user.id)d", Name: "user.id", Attr: true},
		{Text: "%(message)s", Name: "message"},
		{Text: "%(name)s", Name: "name"},
	}
	if got := f.Fields(); !slices.Equal(got, want) {
		t.Errorf("Fields() = %+v, want %+v", got, want)
	}
	f, _ = NewFormatter("{asctime} %% {message}", "")
	if got := f.Fields(); len(got) != 0 {
		t.Errorf("literal text only: Fields() = %+v", got)
	}
}
