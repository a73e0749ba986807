package stack

import (
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitFuncName(t *testing.T) {
	for _, tc := range []struct{ in, pkg, fn string }{
		{"main.loginHandler", "main", "loginHandler"},
		{"github.com/a/b.(*T).M", "github.com/a/b", "(*T).M"},
		{"github.com/a/b.v2.F.func1", "github.com/a/b", "v2.F.func1"},
		{"net/http.HandlerFunc.ServeHTTP", "net/http", "HandlerFunc.ServeHTTP"},
		{"weird", "", "weird"},
	} {
		pkg, fn := SplitFuncName(tc.in)
		assert.Equal(t, tc.pkg, pkg, tc.in)
		assert.Equal(t, tc.fn, fn, tc.in)
	}
}

func TestInApp(t *testing.T) {
	assert.True(t, IsInApp("main", "/src/app/main.go"))
	assert.True(t, IsInApp("github.com/me/app/db", "/src/app/db/db.go"))
	assert.False(t, IsInApp("net/http", "/usr/local/go/src/net/http/server.go"))
	assert.False(t, IsInApp("github.com/lib/pq", "/root/go/pkg/mod/github.com/lib/pq@v1.10.0/conn.go"))
	assert.False(t, IsInApp("github.com/x/y", "/src/app/vendor/github.com/x/y/y.go"))
	assert.False(t, IsInApp("golang.org/x/sync/errgroup", "golang.org/x/sync@v0.10.0/errgroup/errgroup.go"), "a dependency in a -trimpath build")
	assert.True(t, IsInApp("example.com/app/db", "example.com/app/db/db.go"), "the application in a -trimpath build")
	assert.False(t, IsInApp("main", ownDir+"middleware.go"), "errlog's code inlined into main is still errlog's")
	assert.True(t, IsInApp("github.com/errlog/errlog", ownDir+"stack_test.go"), "errlog's tests are the application here")
}

func TestFramesOfCallerToCallee(t *testing.T) {
	var frames []event.Frame
	func() {
		var buf [Max]uintptr
		frames = Frames(Callers(0, buf[:0]))
	}()
	require.GreaterOrEqual(t, len(frames), 2)
	last := frames[len(frames)-1]
	assert.Equal(t, "TestFramesOfCallerToCallee.func1", last.Function, "the innermost call is last")
	assert.Equal(t, "TestFramesOfCallerToCallee", frames[len(frames)-2].Function)
	assert.True(t, strings.HasSuffix(last.AbsPath, "stack_test.go"))
	assert.Greater(t, last.Lineno, 0)
	assert.Equal(t, "testing", frames[0].Module, "goroutine start-up frames (runtime.goexit) are dropped")
	assert.False(t, frames[0].InApp)
}

func TestAppendStack(t *testing.T) {
	frames := []event.Frame{
		{Module: "main", Function: "main", AbsPath: "/app/main.go", Lineno: 10},
		{Module: "main", Function: "handler", AbsPath: "/app/h.go", Lineno: 42},
	}
	got := string(AppendStack(nil, frames, "  ", true))
	assert.Equal(t, "  main.handler\n  \t/app/h.go:42\n  main.main\n  \t/app/main.go:10\n", got)

	// Source lines, as Python prints them: under in-app frames only, and
	// only when asked.
	frames[0].ContextLine, frames[0].InApp = "\trun(ctx)  ", true
	frames[1].ContextLine = "\treturn db.Query(q)"
	got = string(AppendStack(nil, frames, "  ", true))
	assert.Equal(t, "  main.handler\n  \t/app/h.go:42\n  main.main\n  \t/app/main.go:10\n  \t    run(ctx)\n", got)
	got = string(AppendStack(nil, frames, "  ", false))
	assert.Equal(t, "  main.handler\n  \t/app/h.go:42\n  main.main\n  \t/app/main.go:10\n", got)
}
