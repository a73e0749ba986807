package errlog

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseCrash reads crash texts as Go 1.26 writes them.
func TestParseCrash(t *testing.T) {
	tests := []struct {
		name, text          string
		typ, value, desc    string
		goroutine, headline string
		createdBy           string
		funcs               []string // caller to callee
		innerFile           string
		innerLine           int
	}{{
		name: "GOTRACEBACK=system",
		text: "panic: boom\n\ngoroutine 6 gp=0x1775a8565a40 m=0 mp=0x5574e0 [running]:\n" +
			"panic({0x492ec0?, 0x4b3f90?})\n\t/usr/local/go/src/runtime/panic.go:879 +0x16f fp=0x1775a859c7c0 sp=0x1775a859c710 pc=0x4773af\n" +
			"main.(*T).Boom(...)\n\t/tmp/cr/main.go:10\n" +
			"main.main.func1()\n\t/tmp/cr/main.go:15 +0x25 fp=0x1775a859c7e0 sp=0x1775a859c7c0 pc=0x489905\n" +
			"runtime.goexit({})\n\t/usr/local/go/src/runtime/asm_amd64.s:1771 +0x1 fp=0x1775a859c7e8 sp=0x1775a859c7e0 pc=0x47d2c1\n" +
			"created by main.main in goroutine 1\n\t/tmp/cr/main.go:15 +0x109\n",
		typ: "panic", value: "boom", goroutine: "6", headline: "panic: boom", createdBy: "main.main (/tmp/cr/main.go:15)",
		funcs:     []string{"main.main.func1", "main.(*T).Boom"},
		innerFile: "/tmp/cr/main.go", innerLine: 10,
	}, {
		name: "panic during panic",
		text: "panic: first [recovered]\n\tpanic: second\n\ngoroutine 1 [running]:\n" +
			"main.main.func4()\n\t/tmp/cr/main.go:34 +0x25\n" +
			"panic({0x492ec0?, 0x4b3fa0?})\n\t/usr/local/go/src/runtime/panic.go:860 +0x13a\n" +
			"main.main()\n\t/tmp/cr/main.go:35 +0x13d\n",
		typ: "panic", value: "second", desc: "while panicking with: first", goroutine: "1",
		headline:  "panic: first [recovered]",
		funcs:     []string{"main.main", "panic", "main.main.func4"},
		innerFile: "/tmp/cr/main.go", innerLine: 34,
	}, {
		name: "nil dereference with a signal line and a multi-line value",
		text: "panic: runtime error: invalid memory address or nil pointer dereference\n" +
			"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f2a5]\n\n" +
			"goroutine 1 [running]:\nmain.load(...)\n\t/src/app/main.go:7\nmain.main()\n\t/src/app/main.go:12 +0x5\n",
		typ: "runtime.Error", value: "runtime error: invalid memory address or nil pointer dereference",
		desc: "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f2a5]", goroutine: "1",
		headline:  "panic: runtime error: invalid memory address or nil pointer dereference",
		funcs:     []string{"main.main", "main.load"},
		innerFile: "/src/app/main.go", innerLine: 7,
	}, {
		name: "multi-line panic value",
		text: "panic: line one\nline two\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:3 +0x5\n",
		typ:  "panic", value: "line one\nline two", goroutine: "1", headline: "panic: line one",
		funcs: []string{"main.main"}, innerFile: "/src/app/main.go", innerLine: 3,
	}, {
		name: "fatal error without its message (golang/go#76859), with a runtime stack first",
		text: "\nruntime stack:\nruntime.throw({0x1?, 0x2?})\n\t/usr/local/go/src/runtime/panic.go:1100 +0x48\n\n" +
			"goroutine 23 [running]:\ninternal/runtime/maps.fatal({0x4acdfe?, 0x0?})\n\t/usr/local/go/src/runtime/panic.go:1181 +0x18\n" +
			"main.main.func2()\n\t/tmp/cr/main.go:22 +0x2d\ncreated by main.main in goroutine 1\n\t/tmp/cr/main.go:20 +0x146\n\n" +
			"goroutine 1 [sleep]:\ntime.Sleep(0x2540be400)\n\t/usr/local/go/src/runtime/time.go:363 +0x165\n",
		typ: "fatal error", value: "concurrent map access", goroutine: "23",
		headline: "fatal error: concurrent map access", createdBy: "main.main (/tmp/cr/main.go:20)",
		funcs:     []string{"main.main.func2"},
		innerFile: "/tmp/cr/main.go", innerLine: 22,
	}, {
		name: "fatal error with its message",
		text: "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nmain.main()\n\t/src/app/main.go:5 +0x1d\n",
		typ:  "fatal error", value: "all goroutines are asleep - deadlock!", goroutine: "1",
		headline: "fatal error: all goroutines are asleep - deadlock!",
		funcs:    []string{"main.main"}, innerFile: "/src/app/main.go", innerLine: 5,
	}, {
		name: "not the runtime's text",
		text: "something odd\nmore\n",
		typ:  "crash", value: "something odd\nmore", headline: "something odd",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := parseCrash(tt.text)
			assert.Equal(t, tt.typ, cr.typ)
			assert.Equal(t, tt.value, cr.value)
			if tt.typ == "fatal error" && tt.desc == "" && tt.value == "concurrent map access" {
				assert.Contains(t, cr.description, "golang/go#76859")
			} else {
				assert.Equal(t, tt.desc, cr.description)
			}
			assert.Equal(t, tt.goroutine, cr.goroutine)
			assert.Equal(t, tt.headline, cr.headline)
			assert.Equal(t, tt.createdBy, cr.createdBy)
			var funcs []string
			for _, f := range cr.frames {
				name := f.Function
				if f.Module != "" {
					name = f.Module + "." + f.Function
				}
				funcs = append(funcs, name)
			}
			assert.Equal(t, tt.funcs, funcs)
			if len(cr.frames) > 0 {
				last := cr.frames[len(cr.frames)-1]
				require.Equal(t, tt.innerFile, last.AbsPath)
				assert.Equal(t, tt.innerLine, last.Lineno)
				assert.True(t, last.InApp)
			}
		})
	}
}

func TestCrashFilePID(t *testing.T) {
	pid, ok := crashFilePID("crash-4242-1795793148788006959.txt")
	assert.True(t, ok)
	assert.Equal(t, 4242, pid)
	for _, bad := range []string{"crash-x-1.txt", "crash-12.txt", "errlog-spool.lock", "crash-1-2.tmp"} {
		_, ok := crashFilePID(bad)
		assert.False(t, ok, bad)
	}
}

// Recover's lines in a crash file: the crash of the value it reported is
// known as told; another crash after it (the repanic recovered further up,
// then something else) is not.
func TestSplitReported(t *testing.T) {
	crash := "panic: boom [recovered, repanicked]\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:9 +0x25\n"
	reported, rest := splitReported([]byte(reportedPrefix + strconv.Quote("boom") + "\n" + crash))
	if len(reported) != 1 || reported[0] != "boom" || string(rest) != crash {
		t.Fatalf("split: %q, %q", reported, rest)
	}
	if v := parseCrash(string(rest)).value; v != "boom" {
		t.Errorf("the crash's value %q, want the reported one", v)
	}
	reported, rest = splitReported([]byte(reportedPrefix + strconv.Quote("earlier \"one\"\n") + "\n"))
	if len(reported) != 1 || reported[0] != "earlier \"one\"\n" || len(rest) != 0 {
		t.Errorf("a marker alone: %q, %q (a recovered repanic, no crash)", reported, rest)
	}
	if reported, rest := splitReported([]byte(crash)); reported != nil || string(rest) != crash {
		t.Errorf("no marker: %q, %q", reported, rest)
	}
}
