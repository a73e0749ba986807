package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	testSpan   = "00f067aa0ba902b7"
	testParent = "53995c3f42cd8ad8"
)

func tracedEvent(msg string, at time.Time, trace string) *event.Event {
	ev := httpEvent(msg, "*orders.PaymentError", at)
	ev.Contexts["trace"] = map[string]any{"trace_id": trace, "span_id": testSpan, "parent_span_id": testParent, "sampled": true}
	return ev
}

// The event page shows the trace, linked to the tracing UI and to the
// issues of the trace; the group page lists its latest events' traces.
func TestEventTrace(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	now := time.Now()
	submit(t, st, p, tracedEvent("checkout failed", now.Add(-2*time.Minute), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	submit(t, st, p, httpEvent("checkout failed", "*orders.PaymentError", now.Add(-90*time.Second)))
	submit(t, st, p, tracedEvent("checkout failed", now.Add(-time.Minute), testTrace))
	srv := httptest.NewServer(Handler(st, Options{TraceURL: "https://tempo.example.com/explore?traceId={trace_id}&span={span_id}"}))
	defer srv.Close()
	c := client(t)

	_, body := get(t, c, srv.URL+"/groups/1")
	assertHas(t, body, `<section class="card" id="trace">`)
	assertHas(t, body, `<td id="trace-id"><code class="traceid">`+testTrace+`</code> <a href="https://tempo.example.com/explore?traceId=`+testTrace+`&amp;span=`+testSpan+`" class="trace-out"`)
	assertHas(t, body, `<a href="/?trace=`+testTrace+`" class="trace-issues">`)
	assertHas(t, body, `<code id="span-id">`+testSpan+`</code>`)
	assertHas(t, body, `<tr><th>parent span id</th><td><code>`+testParent+`</code>`)
	assertHas(t, body, `<tr><th>sampled</th><td>yes</td>`)
	// The latest events' traces: two of three events have one.
	assertHas(t, body, `<section class="card" id="traces">`)
	assertHas(t, body, `<code class="traceid">aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</code>`)

	// The untraced event has no trace card; without TraceURL, no link out.
	srv2 := httptest.NewServer(Handler(st, Options{}))
	defer srv2.Close()
	_, body = get(t, c, srv2.URL+"/groups/1?event=2")
	assertHasNot(t, body, `id="trace"`)
	assertHas(t, body, `id="traces"`)
	assertHasNot(t, body, `class="trace-out"`)
}

// The list filtered by a trace: by the trace parameter, or a trace ID
// pasted into the search box, any status, any case.
func TestListByTrace(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	now := time.Now()
	submit(t, st, p, tracedEvent("checkout failed", now.Add(-time.Minute), testTrace))
	submit(t, st, p, messageEvent("cache slow", event.LevelWarning, "production", now))
	srv := httptest.NewServer(Handler(st, Options{TraceURL: "https://tempo.example.com/trace/{trace_id}"}))
	defer srv.Close()
	c := client(t)
	_, body := get(t, c, srv.URL+"/?status=all")
	assertHas(t, body, "cache slow")

	for _, u := range []string{"/?trace=" + testTrace, "/?q=" + testTrace + "&status=unresolved", "/?q=4BF92F35-77B3-4DA6-A3CE-929D0E0E4736"} {
		_, body = get(t, c, srv.URL+u)
		assertHas(t, body, "checkout failed", u)
		assertHasNot(t, body, "cache slow", u)
		assertHas(t, body, `id="trace-filter"`, u)
		assertHas(t, body, `href="https://tempo.example.com/trace/`+testTrace+`"`, u)
		assertHas(t, body, `<input type="hidden" name="trace" value="`+testTrace+`">`, u)
	}
	// Resolved, the trace's issue is still found.
	resp, _ := get(t, c, srv.URL+"/?trace=ffffffffffffffffffffffffffffffff")
	assert.Equal(t, 200, resp.StatusCode)
	resp, body = get(t, c, srv.URL+"/?trace=nope")
	assert.Equal(t, 400, resp.StatusCode)
	assertHas(t, body, "not a trace ID")
}

// An event ID pasted into the search box (the "error id" an application
// shows its user) opens its issue at that event, in any case and with
// dashes; 32 hex digits that are no event's ID are a trace's.
func TestSearchByEventID(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	now := time.Now()
	first := httpEvent("checkout failed", "*orders.PaymentError", now.Add(-2*time.Minute))
	submit(t, st, p, first, messageEvent("cache slow", event.LevelWarning, "production", now.Add(-time.Minute)))
	submit(t, st, p, httpEvent("checkout failed", "*orders.PaymentError", now))
	other, err := st.CreateProject(context.Background(), "other")
	require.NoError(t, err)
	srv := httptest.NewServer(Handler(st, Options{Prefix: "/dev/error"}))
	defer srv.Close()
	c := client(t)

	id := string(first.EventID)
	dashed := strings.ToUpper(id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:])
	for _, q := range []string{id, " " + dashed + " "} {
		resp, _ := get(t, c, srv.URL+"/dev/error/?q="+url.QueryEscape(q)+"&status=unresolved")
		assert.Equal(t, http.StatusFound, resp.StatusCode, q)
		assert.Equal(t, "/dev/error/groups/1?event=1", resp.Header.Get("Location"), q, "the issue, at the event searched for, not its latest")
	}
	_, body := get(t, c, srv.URL+"/dev/error/groups/1?event=1")
	assertHas(t, body, `<code id="event-id">`+id+`</code>`)

	// In another project's list, or as ?trace=, it is a trace ID.
	for _, u := range []string{"/dev/error/?q=" + id + "&project=" + strconv.FormatInt(other.ID, 10), "/dev/error/?trace=" + id} {
		resp, body := get(t, c, srv.URL+u)
		assert.Equal(t, http.StatusOK, resp.StatusCode, u)
		assertHas(t, body, `id="trace-filter"`, u)
	}
}

// Breadcrumbs are listed on the event page as mail lists them: time,
// level, category, message, data.
func TestBreadcrumbs(t *testing.T) {
	st := openStore(t)
	p := project(t, st)
	at := time.Date(2026, 12, 2, 10, 4, 5, 123e6, time.UTC)
	ev := httpEvent("checkout failed", "*orders.PaymentError", time.Now())
	ev.Breadcrumbs = []event.Breadcrumb{
		{Timestamp: at, Type: "default", Category: "orders", Level: event.LevelInfo, Message: "cart loaded", Data: map[string]any{"items": 3, "user": "u-1842"}},
		{Timestamp: at.Add(time.Second), Type: "http", Category: "http.client", Level: event.LevelWarning, Message: "GET https://pay.example.com <b>slow</b>"},
	}
	submit(t, st, p, ev)
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()
	_, body := get(t, client(t), srv.URL+"/groups/1")
	assertHas(t, body, `<section class="card" id="breadcrumbs">`)
	assertHas(t, body, `<span class="ctime" title="2026-12-02 10:04:05.123 UTC">10:04:05.123</span> <span class="level lvl-info">info</span> <span class="ccat">orders</span>`)
	assertHas(t, body, `<span class="cmsg">cart loaded</span><span class="cdata"><span class="cd"><span class="ck">items</span>=3</span> <span class="cd"><span class="ck">user</span>=u-1842</span>`)
	assertHas(t, body, `<span class="ccat">http.client</span> <span class="badge">http</span>`)
	assertHas(t, body, `GET https://pay.example.com &lt;b&gt;slow&lt;/b&gt;`)
	assert.Less(t, strings.Index(body, "cart loaded"), strings.Index(body, "pay.example.com"), "oldest first")
}

func TestCulprit(t *testing.T) {
	for _, tc := range []struct{ in, fn, where string }{
		{"github.com/acme/shop/internal/pay.(*Service).Charge (/home/ann/shop/internal/pay/charge.go:42)", "github.com/acme/shop/internal/pay.(*Service).Charge", "internal/pay/charge.go:42"},
		{"github.com/acme/shop/internal/pay.Charge (/srv/build/checkout-7/internal/pay/charge.go:42)", "github.com/acme/shop/internal/pay.Charge", "internal/pay/charge.go:42"},
		{"github.com/acme/shop.New (/home/ann/shop/shop.go:7)", "github.com/acme/shop.New", "shop.go:7"},
		{"main.main (/home/ann/shop/cmd/server/main.go:12)", "main.main", "server/main.go:12"},
		{"example.com/shop/orders.(*Service).Checkout (orders/checkout.go:87)", "example.com/shop/orders.(*Service).Checkout", "orders/checkout.go:87"},
		{`corp/app/db.Open (C:\src\app\db\open.go:3)`, "corp/app/db.Open", "app/db/open.go:3"},
		{"handleClick (app:///static/main.js:0)", "handleClick", "app:///static/main.js"},
		{"no location here", "no location here", ""},
	} {
		v := culpritOf(tc.in)
		assert.Equal(t, tc.fn, v.Func, tc.in)
		assert.Equal(t, tc.where, v.Where, tc.in)
		assert.Equal(t, tc.in, v.Full)
	}
}
