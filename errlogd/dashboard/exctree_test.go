package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExceptionParentCycleShown: two exceptions whose mechanisms name
// each other as parent (ids 0 and 1, parents 1 and 0) are each other's
// child, so neither is a root and the group page shows no exception at
// all, stack traces included: only the raw JSON has them. A bad
// parent_id should cost the tree, not the exceptions (lenient, as
// ingest is).
func TestExceptionParentCycleShown(t *testing.T) {
	st := openStore(t)
	ev := httpEvent("cycle", "*app.Error", time.Now().Add(-time.Minute))
	zero, one := 0, 1
	ev.Exception = []event.Exception{
		{Type: "OuterErr", Value: "a", Mechanism: &event.Mechanism{Type: "chained", ExceptionID: &zero, ParentID: &one},
			Stacktrace: &event.Stacktrace{Frames: []event.Frame{{Function: "handleOuter", Filename: "a.go", Lineno: 1, InApp: true}}}},
		{Type: "InnerErr", Value: "b", Mechanism: &event.Mechanism{Type: "chained", ExceptionID: &one, ParentID: &zero},
			Stacktrace: &event.Stacktrace{Frames: []event.Frame{{Function: "handleInner", Filename: "b.go", Lineno: 2, InApp: true}}}},
	}
	submit(t, st, project(t, st), ev)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	resp, page := get(t, client(t), srv.URL+"/dev/error/groups/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assertHas(t, page, `id="exception"`)
	assert.Equal(t, 2, strings.Count(page, `<div class="exc`), "both exceptions drawn")
}
